/* cpu.c - descriptor tables and the initial 64-bit vCPU state (Intel SDM vol. 3 ch. 3, 6, 7). */
#define VMM_INTERNAL
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest_syms.h"
#include "vmm/abi.h"
#include "vmm/layout.h"
#include "vmm/vmm_impl.h"

extern const uint8_t guest_blob[], guest_blob_end[];

/* Flat 64-bit descriptors (SDM 3.4.5): G=1, limit 0xfffff, P=1, S=1; L=1 for code. */
#define GDT_KCODE 0x00af9b000000ffffULL
#define GDT_KDATA 0x00cf93000000ffffULL
#define GDT_UDATA 0x00cff3000000ffffULL
#define GDT_UCODE 0x00affb000000ffffULL
#define TSS_SIZE 104 /* the 64-bit TSS (SDM 7.7) */
#define TSS_RSP0 4
#define TSS_IST1 36
#define TSS_IOPB 102

#define IDT_GATE_INTR 0x8e /* P=1, DPL=0, 64-bit interrupt gate */
#define IDT_GATE_INTR_USER 0xee /* DPL=3: int3 and into may be executed by user code */
#define VECTOR_STUB_SIZE 16 /* .balign 16 in entry.S */

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void write_gdt_tss(struct vm *vm)
{
	uint8_t *gdt = karea_ptr(vm, KAREA_GDT);
	uint64_t tss_va = KERNEL_VA + KAREA_TSS;
	const uint64_t flat[] = {0, GDT_KCODE, GDT_KDATA, GDT_UDATA, GDT_UCODE};
	for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++)
		put64(gdt + 8 * i, flat[i]);
	/* 16-byte system descriptor for the TSS, type 0xb (busy: we load TR directly). */
	uint64_t lo = (TSS_SIZE - 1) | ((tss_va & 0xffffff) << 16) | (0x8bULL << 40) | (((tss_va >> 24) & 0xff) << 56);
	put64(gdt + SEL_TSS, lo);
	put64(gdt + SEL_TSS + 8, tss_va >> 32);

	uint8_t *tss = karea_ptr(vm, KAREA_TSS);
	memset(tss, 0, TSS_SIZE);
	put64(tss + TSS_RSP0, KERNEL_VA + KAREA_STACK_TOP);
	put64(tss + TSS_IST1, KERNEL_VA + KAREA_STACK_TOP);
	put16(tss + TSS_IOPB, TSS_SIZE); /* no I/O bitmap: every port faults in user mode */
}

/* Vectors 0-31 go to the stubs on IST1; everything else is absent (#GP if raised). */
static void write_idt(struct vm *vm)
{
	uint8_t *idt = karea_ptr(vm, KAREA_IDT);
	memset(idt, 0, PAGE_SIZE);
	for (int v = 0; v < 32; v++) {
		uint64_t handler = KERNEL_VA + KAREA_CODE + GUEST_SYM_VECTOR_STUBS + v * VECTOR_STUB_SIZE;
		uint8_t *gate = idt + 16 * v;
		uint8_t type = (v == X86_EXC_BP || v == 4) ? IDT_GATE_INTR_USER : IDT_GATE_INTR;
		put16(gate, handler & 0xffff);
		put16(gate + 2, SEL_KCODE);
		gate[4] = 1; /* IST1 */
		gate[5] = type;
		put16(gate + 6, (handler >> 16) & 0xffff);
		put32(gate + 8, handler >> 32);
	}
}

void cpu_write_tables(struct vm *vm)
{
	write_gdt_tss(vm);
	write_idt(vm);
	memcpy(karea_ptr(vm, KAREA_CODE), guest_blob, guest_blob_end - guest_blob);
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, bool code)
{
	return (struct kvm_segment){
	        .base = 0,
	        .limit = 0xffffffff,
	        .selector = sel,
	        .type = type,
	        .present = 1,
	        .dpl = dpl,
	        .db = !code,
	        .s = 1,
	        .l = code,
	        .g = 1,
	};
}

/* CPUID is what KVM supports on this host, passed through (the "as the host allows"). */
static int set_cpuid(struct vm *vm, bool *has_xsave, uint64_t *xcr0)
{
	int nent = 128;
	for (;;) {
		struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = nent;
		if (ioctl(kvm_fd(), KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
			int err = errno;
			free(cpuid);
			if (err == E2BIG && nent < 4096) {
				nent *= 2;
				continue;
			}
			return -err;
		}
		*has_xsave = false;
		*xcr0 = 3; /* x87 | SSE */
		for (uint32_t i = 0; i < cpuid->nent; i++) {
			struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
			if (e->function == 1)
				*has_xsave = e->ecx & (1u << 26);
			if (e->function == 0xd && e->index == 0)
				*xcr0 = ((uint64_t)e->edx << 32) | e->eax;
		}
		int r = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid);
		int err = errno;
		free(cpuid);
		return r < 0 ? -err : 0;
	}
}

static int set_msrs(struct vm *vm)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} init[] = {
	        {MSR_STAR, STAR_VALUE},  {MSR_LSTAR, KERNEL_VA + KAREA_CODE + GUEST_SYM_SYSCALL_ENTRY},
	        {MSR_CSTAR, 0},          {MSR_SYSCALL_MASK, SYSCALL_MASK_VALUE},
	        {MSR_KERNEL_GS_BASE, 0}, {MSR_FS_BASE, 0},
	        {MSR_GS_BASE, 0},        {MSR_PAT, 0x0007040600070406ULL}, /* the power-on default (SDM 11.12.4) */
	};
	enum { N = sizeof(init) / sizeof(init[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[N];
	} msrs = {.hdr.nmsrs = N};
	for (int i = 0; i < N; i++) {
		msrs.e[i].index = init[i].index;
		msrs.e[i].data = init[i].data;
	}
	int r = ioctl(vm->vcpu_fd, KVM_SET_MSRS, &msrs);
	if (r < 0)
		return -errno;
	return r == N ? 0 : -EIO;
}

int cpu_init_vcpu(struct vm *vm)
{
	bool has_xsave = false;
	uint64_t xcr0 = 3;
	int err = set_cpuid(vm, &has_xsave, &xcr0);
	if (err)
		return err;

	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = seg(SEL_KCODE, SEG_TYPE_CODE_XR, 0, true);
	sregs.ds = sregs.es = sregs.ss = seg(SEL_KDATA, SEG_TYPE_DATA_RW, 0, false);
	sregs.fs = sregs.gs = seg(0, SEG_TYPE_DATA_RW, 0, false);
	sregs.tr = (struct kvm_segment){
	        .base = KERNEL_VA + KAREA_TSS,
	        .limit = TSS_SIZE - 1,
	        .selector = SEL_TSS,
	        .type = SEG_TYPE_TSS64_BUSY,
	        .present = 1,
	};
	sregs.ldt = (struct kvm_segment){.type = 2, .unusable = 1};
	sregs.gdt.base = KERNEL_VA + KAREA_GDT;
	sregs.gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs.idt.base = KERNEL_VA + KAREA_IDT;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr0 = X86_CR0_INIT;
	sregs.cr3 = vm->pt.root;
	sregs.cr4 = X86_CR4_INIT | (has_xsave ? X86_CR4_OSXSAVE : 0);
	sregs.efer = X86_EFER_INIT;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	if (has_xsave) {
		/* x87, SSE, AVX and AVX-512 state; not MPX (gone) nor AMX (needs a permission
		 * request first, see arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM)). */
		struct kvm_xcrs xcrs = {.nr_xcrs = 1};
		xcrs.xcrs[0].xcr = 0;
		xcrs.xcrs[0].value = xcr0 & 0xe7;
		if (ioctl(vm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
			return -errno;
	}
	err = set_msrs(vm);
	if (err)
		return err;

	/* Registers come back in the run page after every exit (no KVM_GET_REGS per syscall). */
	vm->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	return 0;
}
