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
#define KAREA_STACK 0x5000 /* exception stack (IST1), grows down from KAREA_STACK_TOP */
#define KAREA_STACK_TOP 0x9000
#define KAREA_MAPPED_SIZE 0x9000 /* the part of the kernel area mapped at KERNEL_VA */
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

/* The lowest address a guest may map, as Linux's default vm.mmap_min_addr. */
#define USER_MIN_ADDR 0x10000ULL
/* Default size of the user address range (--max-main-memory). */
#define DEFAULT_USER_SIZE (64ULL << 30)

#endif
