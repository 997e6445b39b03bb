/* vcpu.c - the run loop, register access, user-state loads and the execution deadline. */
#define VMM_INTERNAL
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_syms.h"
#include "vmm/abi.h"
#include "vmm/exit.h"
#include "vmm/layout.h"
#include "vmm/vmm_impl.h"

#define GUEST_CODE(sym) (KERNEL_VA + KAREA_CODE + GUEST_SYM_##sym)

/* The deadline signal.  Its handler sets immediate_exit in the run page of the VM this
 * thread is running, so a signal that lands outside KVM_RUN still stops the next entry
 * (Documentation/virt/kvm/api.rst, "immediate_exit"). */
#define DEADLINE_SIGNAL SIGUSR1
static __thread struct kvm_run *t_run;

static void deadline_handler(int sig)
{
	(void)sig;
	if (t_run)
		t_run->immediate_exit = 1;
}

static void install_handler_once(void)
{
	struct sigaction sa = { .sa_handler = deadline_handler }; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(DEADLINE_SIGNAL, &sa, NULL);
}

uint64_t vm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int vm_set_deadline(struct vm *vm, uint64_t deadline_ns)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	if (!deadline_ns && !vm->timer_created) {
		vm->deadline_ns = 0;
		return 0;
	}
	pthread_once(&once, install_handler_once);
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (vm->timer_created && vm->timer_tid != tid) {
		timer_delete(vm->timer);
		vm->timer_created = false;
	}
	if (!vm->timer_created) {
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = DEADLINE_SIGNAL };
		sev._sigev_un._tid = tid;
		if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer) < 0)
			return -errno;
		vm->timer_created = true;
		vm->timer_tid = tid;
	}
	vm->deadline_ns = deadline_ns;
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = deadline_ns / 1000000000ULL;
	its.it_value.tv_nsec = deadline_ns % 1000000000ULL;
	if (timer_settime(vm->timer, TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

struct kvm_regs *vm_regs(struct vm *vm)
{
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return &vm->run->s.regs.regs;
}

void vm_load_user_state(struct vm *vm, const struct kvm_regs *regs)
{
	uint64_t *frame = karea_ptr(vm, KAREA_MAILBOX);
	cow_mark(vm, vm->karea + KAREA_MAILBOX, 5 * 8);
	frame[0] = regs->rip;
	frame[1] = SEL_UCODE;
	frame[2] = (regs->rflags & X86_RFLAGS_USER) | X86_RFLAGS_RESERVED | X86_RFLAGS_IF;
	frame[3] = regs->rsp;
	frame[4] = SEL_UDATA;
	struct kvm_regs *r = vm_regs(vm);
	*r = *regs;
	r->rip = vm->tlb_flush ? GUEST_CODE(LOAD_STATE_FLUSH) : GUEST_CODE(LOAD_STATE);
	r->rflags = X86_RFLAGS_RESERVED;
	vm->tlb_flush = false;
	vm->where = VM_AT_LOAD;
}

void vm_save_user_state(struct vm *vm, struct kvm_regs *out)
{
	*out = vm->run->s.regs.regs;
	const uint64_t *frame;
	switch (vm->where) {
	case VM_AT_SYSCALL:
		/* Past the syscall instruction, with rcx and r11 as the CPU leaves them. */
		out->rip = out->rcx = vm->user_rip;
		out->rflags = out->r11 = vm->user_rflags;
		out->rsp = vm->user_rsp;
		break;
	case VM_AT_FAULT:
		out->rip = vm->user_rip;
		out->rflags = vm->user_rflags;
		out->rsp = vm->user_rsp;
		break;
	case VM_AT_LOAD:
		frame = karea_ptr(vm, KAREA_MAILBOX);
		out->rip = frame[0];
		out->rflags = frame[2];
		out->rsp = frame[3];
		break;
	}
}

void vm_restart_syscall(struct vm *vm)
{
	struct kvm_regs user;
	vm_save_user_state(vm, &user);
	user.rip = vm->user_rip - 2; /* back on the 2-byte syscall instruction */
	vm_load_user_state(vm, &user);
}

int vm_set_fs_base(struct vm *vm, uint64_t base)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msr = { .hdr.nmsrs = 1, .e = { .index = MSR_FS_BASE, .data = base } };
	if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &msr) != 1)
		return -EINVAL;
	vm->fs_base = base;
	return 0;
}

uint64_t vm_fs_base(const struct vm *vm)
{
	return vm->fs_base;
}

size_t vm_xsave_size(const struct vm *vm)
{
	return vm->xsave_size;
}

int vm_get_xsave(struct vm *vm, void *buf)
{
	unsigned long req = vm->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	return ioctl(vm->vcpu_fd, req, buf) < 0 ? -errno : 0;
}

int vm_set_xsave(struct vm *vm, const void *buf)
{
	return ioctl(vm->vcpu_fd, KVM_SET_XSAVE, buf) < 0 ? -errno : 0;
}

/* A syscall returns through load_state (load_state_flush when PTEs lost rights). */
static void prepare_entry(struct vm *vm)
{
	if (vm->where == VM_AT_SYSCALL) {
		struct kvm_regs user;
		vm_save_user_state(vm, &user);
		vm_load_user_state(vm, &user);
	}
}

enum vm_exit vm_run(struct vm *vm, struct vm_fault *fault)
{
	t_run = vm->run;
	prepare_entry(vm);
	for (;;) {
		int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		vm->stats.exits++;
		if (r < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				memset(fault, 0, sizeof(*fault));
				fault->what = "KVM_RUN failed";
				return VM_EXIT_ERROR;
			}
			vm->run->immediate_exit = 0;
			if (vm->deadline_ns && vm_now_ns() >= vm->deadline_ns)
				return VM_EXIT_TIMEOUT;
			continue;
		}
		int e = exit_decode(vm, fault);
		if (e >= 0)
			return (enum vm_exit)e;
	}
}
