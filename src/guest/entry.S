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
	outb %al, $PORT_FAULT   /* the host reads [vector, error, rip, cs, rflags, rsp, ss] at rsp */
	.globl fault_halt
fault_halt:
	hlt                     /* the host never resumes here; halt if it does */
	jmp fault_halt
	.globl guest_end
guest_end:
