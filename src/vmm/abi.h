/* abi.h - x86-64 architectural constants the VMM programs into the guest (Intel SDM vol. 3). */
#ifndef VMM_ABI_H
#define VMM_ABI_H

/* Control registers (SDM 2.5). */
#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_MP (1ULL << 1)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_AM (1ULL << 18)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR0_INIT (X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG)

#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_PGE (1ULL << 7)
#define X86_CR4_OSFXSR (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_CR4_FSGSBASE (1ULL << 16)
#define X86_CR4_OSXSAVE (1ULL << 18)
#define X86_CR4_INIT (X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

/* EFER (SDM 2.2.1). */
#define X86_EFER_SCE (1ULL << 0)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_EFER_NXE (1ULL << 11)
#define X86_EFER_INIT (X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE)

#define X86_RFLAGS_RESERVED (1ULL << 1) /* always reads as 1 */
#define X86_RFLAGS_TF (1ULL << 8)
#define X86_RFLAGS_IF (1ULL << 9)
#define X86_RFLAGS_DF (1ULL << 10)
#define X86_RFLAGS_NT (1ULL << 14)
#define X86_RFLAGS_AC (1ULL << 18)
/* Flags user code may change through sigreturn or ptrace-like state loads (as Linux's FIX_EFLAGS). */
#define X86_RFLAGS_USER (0x00000dd5ULL | X86_RFLAGS_AC | (1ULL << 21))

/* MSRs used by the syscall instruction (SDM 5.8.8). */
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_SYSCALL_MASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_TSC_AUX 0xc0000103u
#define MSR_PAT 0x00000277u

/* Page-table entry bits (SDM 4.5, 4-level paging). */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7) /* large page in a PDE/PDPTE */
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PT_ENTRIES 512

/* Segment descriptor access bytes (SDM 3.4.5). */
#define SEG_TYPE_CODE_XR 0xb /* execute/read, accessed */
#define SEG_TYPE_DATA_RW 0x3 /* read/write, accessed */
#define SEG_TYPE_TSS64_BUSY 0xb

/* Exception vectors that push an error code (SDM 6.3.1 table 6-1). */
#define X86_EXC_HAS_ERRCODE(v)                                                                                         \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)
#define X86_EXC_DE 0
#define X86_EXC_DB 1
#define X86_EXC_BP 3
#define X86_EXC_UD 6
#define X86_EXC_NM 7
#define X86_EXC_DF 8
#define X86_EXC_GP 13
#define X86_EXC_PF 14
#define X86_EXC_MF 16
#define X86_EXC_AC 17
#define X86_EXC_XM 19

/* #PF error code bits (SDM 4.7). */
#define PF_ERR_P (1u << 0)
#define PF_ERR_W (1u << 1)
#define PF_ERR_U (1u << 2)
#define PF_ERR_I (1u << 4)

#endif
