/* exit.c - turn each KVM exit into what the caller must handle (the cases of the run loop). */
#define VMM_INTERNAL
#include <string.h>
#include <sys/ioctl.h>

#include "guest_syms.h"
#include "vmm/abi.h"
#include "vmm/exit.h"
#include "vmm/layout.h"
#include "vmm/ring.h"
#include "vmm/vmm_impl.h"

static const char *const vector_names[32] = {
        [0] = "divide error",
        [1] = "debug",
        [2] = "NMI",
        [3] = "breakpoint",
        [4] = "overflow",
        [5] = "bound range",
        [6] = "invalid opcode",
        [7] = "device not available",
        [8] = "double fault",
        [10] = "invalid TSS",
        [11] = "segment not present",
        [12] = "stack fault",
        [13] = "general protection fault",
        [14] = "page fault",
        [16] = "x87 floating-point error",
        [17] = "alignment check",
        [18] = "machine check",
        [19] = "SIMD floating-point exception",
        [20] = "virtualization exception",
        [21] = "control protection",
};

const char *vm_vector_name(int vector)
{
	if (vector < 0)
		return "triple fault";
	if (vector < 32 && vector_names[vector])
		return vector_names[vector];
	return "exception";
}

/* A system call (see entry.S): SYSCALL left the user's return rip in rcx, rflags in r11. */
static int syscall_exit(struct vm *vm)
{
	vm->user_rip = vm->run->s.regs.regs.rcx;
	vm->user_rflags = vm->run->s.regs.regs.r11;
	vm->where = VM_AT_SYSCALL;
	vm->stats.syscalls++;
	return VM_EXIT_SYSCALL;
}

static int decode_fault(struct vm *vm, struct vm_fault *fault)
{
	const uint64_t *frame = karea_ptr(vm, KAREA_STACK_TOP - FAULT_FRAME_SIZE);
	memset(fault, 0, sizeof(*fault));
	fault->vector = (int)(frame[FAULT_FRAME_VECTOR] & 0xff);
	fault->error = frame[FAULT_FRAME_ERROR];
	fault->rip = frame[FAULT_FRAME_RIP];
	fault->rflags = frame[FAULT_FRAME_RFLAGS];
	fault->rsp = frame[FAULT_FRAME_RSP];
	fault->user = (frame[FAULT_FRAME_CS] & 3) == 3;
	vm->user_rsp = fault->rsp;
	const uint64_t entry = KERNEL_VA + KAREA_CODE + GUEST_SYM_SYSCALL_ENTRY;
	if (fault->rip == entry) {
		if (vm->ring && vm->run->s.regs.regs.rcx < PAGE_SIZE)
			return ring_syscall_exit(vm, fault); /* from the ring trampoline */
		return syscall_exit(vm);
	}
	vm->user_rip = fault->rip;
	vm->user_rflags = fault->rflags;
	/* CR2 costs an ioctl, so only page faults fetch it. */
	struct kvm_sregs sregs;
	if (fault->vector == X86_EXC_PF && vm_get_sregs(vm, &sregs) == 0)
		fault->addr = sregs.cr2;

	vm->where = VM_AT_FAULT;
	vm->stats.faults++;
	if (vm->ring)
		return ring_fault_exit(vm, fault);
	return VM_EXIT_FAULT;
}

static int fatal(struct vm_fault *fault, int vector, const char *what)
{
	memset(fault, 0, sizeof(*fault));
	fault->vector = vector;
	fault->what = what;
	return vector == VM_FAULT_SHUTDOWN ? VM_EXIT_FAULT : VM_EXIT_ERROR;
}

int exit_decode(struct vm *vm, struct vm_fault *fault)
{
	struct kvm_run *run = vm->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == PORT_FAULT)
			return decode_fault(vm, fault);
		return fatal(fault, 0, "I/O to an unknown port");
	case KVM_EXIT_INTR: return -1;
	case KVM_EXIT_SHUTDOWN:
		/* A fault while delivering a fault: the CPU shut down (SDM 6.15, #DF). */
		fault->rip = run->s.regs.regs.rip;
		return fatal(fault, -1, "triple fault");
	case KVM_EXIT_HLT: return fatal(fault, 0, "guest halted");
	case KVM_EXIT_MMIO: return fatal(fault, 0, "access outside guest memory");
	case KVM_EXIT_FAIL_ENTRY: return fatal(fault, 0, "VM entry failed");
	case KVM_EXIT_INTERNAL_ERROR: return fatal(fault, 0, "KVM internal error");
	default: return fatal(fault, 0, "unexpected KVM exit");
	}
}
