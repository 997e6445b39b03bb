/* entry.S - the guest's only ring-0 code: bounce syscalls and exceptions to the host.
 *
 * There is no guest kernel.  Every exception arrives at a vector_N stub on the IST1 stack,
 * which pushes a uniform frame and writes to PORT_FAULT: a VM exit.  The host handles it
 * and resumes the guest through load_state with a complete user state.
 *
 * `syscall` jumps to syscall_entry (MSR LSTAR), which faults on purpose, so system calls
 * take the same road as exceptions.  On hardware virtualisation SYSCALL enters ring 0
 * there and ud2 raises #UD; under software KVMs such as PVM, which do not virtualise
 * SYSCALL for a guest without a PVM kernel, the CPU stays in ring 3 and the fetch of this
 * supervisor page raises #PF.  Either way the host sees a fault at rip == syscall_entry
 * with rcx = the user's return rip and r11 = its rflags, as SYSCALL defines (SDM vol. 2).
 * The extra exception costs far less than the VM exit itself, and the state it captures
 * is what re-issuing the call later (after a fork or reset) needs: rip = rcx - 2.
 */
#include "vmm/layout.h"

	.code64
	.text
	.globl guest_start
guest_start:

	.globl syscall_entry
syscall_entry:
	ud2

/* Load a complete user state: the host has set every GPR but rsp, and put an iretq frame
 * (rip, cs, rflags, rsp, ss) at the start of the mailbox page.  Used for signal delivery,
 * sigreturn, thread switches and after reset, where rcx/r11 must survive. */
	.globl load_state_flush
load_state_flush:
	mov %cr3, %rsp          /* rsp is free: the user's is in the frame */
	mov %rsp, %cr3          /* flush non-global TLB entries after the host edited PTEs */
	.globl load_state
load_state:
	movabs $(KERNEL_VA + KAREA_MAILBOX), %rsp
	iretq

/* The same after a reset, first loading the FPU and vector registers from the template's
 * XSAVE image at KAREA_FPU: an instruction instead of a KVM_SET_XSAVE ioctl (~7 us under
 * nested KVM).  The host left the user's rax and rdx in the mailbox and set eax = edx = ~0
 * (XRSTOR restores every component XCR0 enables), or eax = 0 where CR4.OSXSAVE is off (no
 * XSAVE in CPUID, as under kvm_pvm): FXRSTOR, x87 and SSE, all such a guest can change.
 * Only reads: nothing here dirties a page. */
	.macro fpu_then target
	movabs $(KERNEL_VA + KAREA_FPU), %rsp
	test %eax, %eax
	jz 1f
	xrstor64 (%rsp)
	jmp 2f
1:	fxrstor64 (%rsp)
2:	movabs $(KERNEL_VA + KAREA_MAILBOX), %rsp
	mov MAILBOX_RAX(%rsp), %rax
	mov MAILBOX_RDX(%rsp), %rdx
	jmp \target
	.endm
	.globl load_state_fpu_flush
load_state_fpu_flush:
	fpu_then load_state_flush
	.globl load_state_fpu
load_state_fpu:
	fpu_then load_state
	.globl load_state_fpu_end
load_state_fpu_end:

/* Exceptions: every vector has a 16-byte stub that makes the frame uniform
 * (error code or 0, then the vector) before the common exit. */
	.balign 16
	.globl vector_stubs
vector_stubs:
	.altmacro
	.macro stub v
	.balign 16
	.if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	pushq $\v
	.else
	pushq $0
	pushq $\v
	.endif
	jmp fault_common
	.endm
	.set i, 0
	.rept 32
	stub %i
	.set i, i + 1
	.endr

fault_common:
	/* The #UD of ring_reset_flush_ud (page 0): the TLB flush a reset under the guest asks
	 * for, without an exit (rax is free there: the user state is loaded after it). */
	cmpq $6, (%rsp)
	jne 1f
	cmpq $(RING_CODE_OFF + (ring_reset_flush_ud - ring_code)), 16(%rsp)
	jne 1f
	mov %cr3, %rax
	mov %rax, %cr3
	addq $2, 16(%rsp)       /* past the ud2 */
	add $16, %rsp           /* the vector and error code */
	iretq
1:	outb %al, $PORT_FAULT   /* the host reads [vector, error, rip, cs, rflags, rsp, ss] at rsp */
	.globl fault_halt
fault_halt:
	hlt                     /* the host never resumes here; halt if it does */
	jmp fault_halt

/* The ring trampoline (docs/design.md, "The ring path").  Not run here: the host copies
 * ring_code..ring_code_end to page 0 + RING_CODE_OFF, so it is position independent (only
 * relative jumps; the ring page by absolute address).  A rewritten site `call *%rax`
 * arrives through the sled with rax = nr and the return address at (%rsp).  Only rax,
 * rcx, r11 and the flags change (SYSCALL clobbers rcx and r11 anyway); rax keeps nr until
 * the result is loaded, so the host can rewind any thread stopped in here to its site. */
#define RP(off) (RING_VA + off)
	.globl ring_code
ring_code:
	cmpl $0, RP(RING_AWAKE)         /* the host's ring thread asleep: trap at once */
	jne 1f
	.globl ring_trap_unposted
ring_trap_unposted:
	syscall                          /* nothing posted: the host runs it as a trap */
	ud2
1:	mov %rax, RP(RING_NR)
	mov %rdi, RP(RING_ARGS)
	mov %rsi, RP(RING_ARGS + 8)
	mov %rdx, RP(RING_ARGS + 16)
	mov %r10, RP(RING_ARGS + 24)
	mov %r8, RP(RING_ARGS + 32)
	mov %r9, RP(RING_ARGS + 40)
	mov (%rsp), %rcx
	mov %rcx, RP(RING_RET)
	mov $RING_S_POSTED, %ecx
	xchg %ecx, RP(RING_STATE)       /* publish; a full fence before the RING_AWAKE loads */
	.globl ring_posted
ring_posted:
	mov $RING_SPIN_CLAIMED, %r11d    /* the budget, in loops while the call is being run */
1:	pause
	mov RP(RING_STATE), %ecx
	cmp $RING_S_DONE, %ecx
	je ring_done
	cmp $RING_S_DONE_TRAP, %ecx
	je ring_done_trap
	cmp $RING_S_CLAIMED, %ecx        /* being run: a long wait (a trap would wait for */
	je 2f                            /* it too; a starved ring thread gets the CPU then) */
	cmp $RING_S_HELD, %ecx           /* done; the host is stopping the vCPU here */
	je 3f
	cmp $RING_S_RESET, %ecx          /* the request is over and the VM reset meanwhile */
	je ring_reset_load
	cmp $RING_S_POSTED, %ecx
	jne ring_trap                    /* RING_S_TRAP (or anything else) */
	cmpl $0, RP(RING_AWAKE)          /* went to sleep before it saw the post */
	je ring_trap
3:	sub $(RING_SPIN_CLAIMED / RING_SPIN - 1), %r11d /* not taken (yet): RING_SPIN loops */
	jbe ring_trap
2:	dec %r11d
	jnz 1b
	.globl ring_trap
ring_trap:
	syscall                          /* posted: the host takes it back, or its result */
	ud2
	.globl ring_done
ring_done:
	mov RP(RING_RESULT), %rax
	.globl ring_ret
ring_ret:
	ret
	.globl ring_done_trap
ring_done_trap:
	syscall                          /* done; the host sets rax and returns to the site */
	ud2

/* The ring thread reset the VM while this thread spun (its call ended the request) and
 * took the next connection: become the template, as it resumes from its wait, from the
 * state the host left in the ring page.  User-mode instructions only (no ring-0 entry,
 * so no hypervisor entry): the FPU image, the flags by popfq, every GPR, then rip.  It
 * only reads the page, but for the state word: stopped anywhere in here, the host loads
 * the same frame itself (ring_settle), so it may start again from the top. */
	.globl ring_reset_load
ring_reset_load:
	cmpl $0, RP(RING_RESET_FLUSH)
	je 3f
	.globl ring_reset_flush_ud
ring_reset_flush_ud:
	ud2                              /* to ring 0 and back (fault_common): CR3 reloaded */
3:	cmpl $0, RP(RING_FPU_HOW)
	je 1f
	mov $-1, %eax
	mov $-1, %edx
	xrstor64 RP(RING_FPU)
	jmp 2f
1:	fxrstor64 RP(RING_FPU)
2:	mov $RP(RING_FRAME_RFLAGS), %rsp
	popfq
	mov RP(RING_FRAME + 0 * 8), %rax
	mov RP(RING_FRAME + 1 * 8), %rbx
	mov RP(RING_FRAME + 2 * 8), %rcx
	mov RP(RING_FRAME + 3 * 8), %rdx
	mov RP(RING_FRAME + 4 * 8), %rsi
	mov RP(RING_FRAME + 5 * 8), %rdi
	mov RP(RING_FRAME + 7 * 8), %rbp
	mov RP(RING_FRAME + 8 * 8), %r8
	mov RP(RING_FRAME + 9 * 8), %r9
	mov RP(RING_FRAME + 10 * 8), %r10
	mov RP(RING_FRAME + 11 * 8), %r11
	mov RP(RING_FRAME + 12 * 8), %r12
	mov RP(RING_FRAME + 13 * 8), %r13
	mov RP(RING_FRAME + 14 * 8), %r14
	mov RP(RING_FRAME + 15 * 8), %r15
	movl $RING_S_IDLE, RP(RING_STATE) /* (no flags change from here on) */
	mov RP(RING_FRAME_RSP), %rsp
	jmp *RP(RING_FRAME_RIP)
	.globl ring_reset_end
ring_reset_end:
	.globl ring_code_end
ring_code_end:

	.globl guest_end
guest_end:
