/* layout.h - where everything lives in guest-physical and guest-virtual memory.
 *
 * User memory is identity mapped: guest-virtual address X (0 <= X < user_size) is
 * guest-physical X, which is byte X of the VM's backing memfd.  Above it, at
 * guest-physical user_size, sits the kernel area: the trampoline, GDT/TSS/IDT, the
 * exception stack and the page-table pool.  The kernel area is mapped (supervisor only)
 * at KERNEL_VA.  Page tables themselves are not mapped in the guest at all; only the
 * host writes them and the CPU walks them by physical address.
 */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

/* The top 512 GiB of the canonical address space (PML4 slot 511). */
#define KERNEL_VA 0xffffff8000000000ULL

/* Offsets inside the kernel area (guest-physical user_size + offset, virtual KERNEL_VA + offset). */
#define KAREA_GDT 0x0000 /* GDT followed by the 64-bit TSS */
#define KAREA_TSS 0x0100
#define KAREA_IDT 0x1000 /* 256 gates x 16 bytes */
#define KAREA_CODE 0x2000 /* guest trampoline (src/guest), up to 8 KiB */
#define KAREA_CODE_MAX 0x2000
#define KAREA_MAILBOX 0x4000 /* host<->guest page: iret frame for state loads */
#define MAILBOX_RAX 0x40 /* the user's rax and rdx while load_state_fpu has XRSTOR's mask there */
#define MAILBOX_RDX 0x48
#define KAREA_STACK 0x5000 /* exception stack (IST1), grows down from KAREA_STACK_TOP */
#define KAREA_STACK_TOP 0x9000
/* A request VM's copy of the template's XSAVE image (read-only): load_state_fpu restores the
 * FPU and vector registers from it after a reset, instead of a KVM_SET_XSAVE (vcpu.c). */
#define KAREA_FPU 0x9000
#define KAREA_FPU_SIZE 0x3000
#define KAREA_MAPPED_SIZE 0xc000 /* the part of the kernel area mapped at KERNEL_VA */
#define KAREA_PT_POOL 0x10000 /* page-table pages, allocated by paging.c */

/* Segment selectors (GDT slots).  STAR wants user data right below user code. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* slot 3, RPL 3 */
#define SEL_UCODE 0x23 /* slot 4, RPL 3 */
#define SEL_TSS 0x28 /* slots 5-6 */
#define GDT_ENTRIES 7
/* syscall loads CS=STAR[47:32], SS=+8 (sysret is never used). */
#define STAR_VALUE ((unsigned long long)SEL_KCODE << 32)
/* Linux masks these on syscall entry: TF, DF, IF, IOPL, NT, AC. */
#define SYSCALL_MASK_VALUE 0x47700ULL

/* The I/O port the trampoline writes to on every exception (an exit to the host). */
#define PORT_FAULT 0x11

/* The ring path (docs/design.md, "The ring path"; src/vmm/ring.c).  Below USER_MIN_ADDR,
 * so the guest's mmap never reaches them: page 0 holds the syscall trampoline (user
 * read+exec: a NOP sled over bytes 0..RING_SLED-1, a jump to the code at RING_CODE_OFF,
 * int3 in between) and RING_VA the vCPU's ring page (user read+write), as high as it can be,
 * so that a NULL pointer plus an offset below 60 KiB still faults when written. */
#define RING_SLED 512 /* `call *%rax` with rax = nr < RING_SLED lands in the sled */
#define RING_CODE_OFF 0xe00 /* the trampoline's code in page 0 (to the end of the page) */
#define RING_VA 0xf000 /* the last page below USER_MIN_ADDR: NULL + small offsets still fault */
/* The ring page (offsets): what the trampoline posts and the host answers. */
#define RING_STATE 0 /* u32: RING_S_* */
#define RING_AWAKE 4 /* u32: the host's ring thread is spinning (not asleep) */
#define RING_NR 8
#define RING_ARGS 16 /* 6 x u64: rdi rsi rdx r10 r8 r9 */
#define RING_RET 64 /* the return address the site's call pushed */
#define RING_RESULT 72
#define RING_S_IDLE 0
#define RING_S_POSTED 1 /* the guest: a request is in the page */
#define RING_S_CLAIMED 2 /* the ring thread took it */
#define RING_S_DONE 3 /* RING_RESULT holds the result */
#define RING_S_TRAP 4 /* the host will not run it here: take the trap path */
#define RING_S_DONE_TRAP 5 /* done, but the host must see the vCPU (a stop, a signal) */
#define RING_S_TAKEN 6 /* the vCPU thread took it (trap path) */
#define RING_S_HELD 7 /* done; the ring thread kicks the vCPU out to look (no trap) */
#define RING_S_RESET 8 /* the VM was reset under the spinning guest: load RING_FRAME */
/* A reset the ring thread ran while the guest spun in the trampoline (docs/design.md,
 * "Resets under the guest"): the template's user registers in struct kvm_regs order (rax
 * rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags), and its FPU image for FXRSTOR
 * (RING_FPU_HOW 0) or XRSTOR (1), 64-byte aligned. */
#define RING_FPU_HOW 120 /* u32 */
#define RING_RESET_FLUSH 124 /* u32: reload CR3 first (page tables put back), ring_reset_flush_ud */
#define RING_FRAME 128
#define RING_FRAME_RSP (RING_FRAME + 6 * 8)
#define RING_FRAME_RIP (RING_FRAME + 16 * 8)
#define RING_FRAME_RFLAGS (RING_FRAME + 17 * 8)
#define RING_FPU 1024
#define RING_FPU_MAX (4096 - RING_FPU)
/* The trampoline's pause loops before it traps: RING_SPIN while its call is not taken
 * (~0.5 ms at ~25 ns a pause), RING_SPIN_CLAIMED while the ring thread runs it (a call may
 * wait up to 1 ms for its fd; a ring thread starved of CPU gets the vCPU thread's then,
 * ring_after_run). */
#define RING_SPIN 20000
#define RING_SPIN_CLAIMED 200000

/* The lowest address a guest may map, as Linux's default vm.mmap_min_addr. */
#define USER_MIN_ADDR 0x10000ULL
/* Default size of the user address range (--max-main-memory). */
#define DEFAULT_USER_SIZE (64ULL << 30)

#endif
