/* vcpu.c - the run loop, register access, user-state loads and the execution deadline. */
#define VMM_INTERNAL
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_syms.h"
#include "vmm/abi.h"
#include "vmm/exit.h"
#include "vmm/layout.h"
#include "vmm/ring.h"
#include "vmm/vmm_impl.h"

#define GUEST_CODE(sym) (KERNEL_VA + KAREA_CODE + GUEST_SYM_##sym)

/* The deadline signal.  Its handler sets immediate_exit in the run page of the VM this
 * thread is running, so a signal that lands outside KVM_RUN still stops the next entry
 * (Documentation/virt/kvm/api.rst, "immediate_exit"). */
#define DEADLINE_SIGNAL (SIGRTMIN + 1) /* real-time: SIGUSR1/2 are the guest's (vm_forward_signals) */
static __thread struct kvm_run *t_run;
/* Set by the deadline signal: someone (the deadline, another guest process's signal via
 * vm_interrupt_thread) wants the run loop to look, so vm_run hands control back. */
static __thread volatile sig_atomic_t t_kicked;

static void deadline_handler(int sig)
{
	(void)sig;
	t_kicked = 1;
	if (t_run)
		t_run->immediate_exit = 1;
}

/* The preemption tick has its own signal, blocked in the host thread and unblocked only
 * inside KVM_RUN (KVM_SET_SIGNAL_MASK): it must stop guest code, never interrupt the
 * host's own blocking calls on the guest's behalf (those would return a spurious EINTR).
 * The deadline, in contrast, must also end a guest blocked in the host. */
#define TICK_SIGNAL (SIGRTMIN + 2)

static _Atomic uint64_t forwarded; /* host signals recorded for the guest */
static _Atomic uint64_t forward_set; /* what vm_forward_signals installed */
static pthread_t forward_thread; /* the thread that installed it (runs the VM) */

/* kvmserver's own signal thread takes SIGTERM/SIGINT/SIGHUP (blocked everywhere else,
 * src/server/lifecycle.c) and hands them over here: recorded, and the VM's thread kicked
 * out of KVM_RUN or its host call with this signal (unblocked there and in KVM_RUN). */
#define KICK_SIGNAL (SIGRTMIN + 3)

static void forward_handler(int sig)
{
	atomic_fetch_or(&forwarded, 1ULL << (sig - 1));
	if (t_run)
		t_run->immediate_exit = 1;
}

static void install_handler_once(void);

bool vm_forward_host_signal(int sig)
{
	if (sig < 1 || sig > 64 || !(atomic_load(&forward_set) & (1ULL << (sig - 1))))
		return false;
	atomic_fetch_or(&forwarded, 1ULL << (sig - 1));
	pthread_kill(forward_thread, KICK_SIGNAL);
	return true;
}

void vm_forward_signals(uint64_t set)
{
	static uint64_t installed;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_handler_once);
	if (set)
		forward_thread = pthread_self();
	atomic_store(&forward_set, set);
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t bit = 1ULL << (sig - 1);
		if (!((set | installed) & bit))
			continue;
		/* No SA_RESTART: a host call the guest is blocked in must end (EINTR). */
		struct sigaction sa = {.sa_handler = (set & bit) ? forward_handler : SIG_DFL};
		sigemptyset(&sa.sa_mask);
		sigaction(sig, &sa, NULL);
	}
	installed = set;
}

uint64_t vm_signals_pending(void)
{
	return atomic_load_explicit(&forwarded, memory_order_relaxed);
}

uint64_t vm_take_signals(void)
{
	return atomic_exchange(&forwarded, 0);
}

static void install_handler_once(void)
{
	struct sigaction sa = {.sa_handler = deadline_handler}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(DEADLINE_SIGNAL, &sa, NULL);
	sigaction(TICK_SIGNAL, &sa, NULL);
	sigaction(KICK_SIGNAL, &sa, NULL);
}

/* Block the tick in this thread; let KVM_RUN run with it unblocked. */
static int tick_signal_only_in_guest(struct vm *vm)
{
	sigset_t tick, cur;
	sigemptyset(&tick);
	sigaddset(&tick, TICK_SIGNAL);
	if (pthread_sigmask(SIG_BLOCK, &tick, &cur))
		return -EINVAL;
	sigdelset(&cur, TICK_SIGNAL);
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];
	} mask = {.hdr.len = 8};
	memcpy(mask.set, &cur, 8); /* the kernel's sigset: the first 64 bits */
	return ioctl(vm->vcpu_fd, KVM_SET_SIGNAL_MASK, &mask) < 0 ? -errno : 0;
}

uint64_t vm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Arm (or with value_ns 0 disarm) timer t, whichever thread it signals. */
static int set_timer(struct vm_timer *t, uint64_t value_ns, uint64_t interval_ns, bool absolute)
{
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(value_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(value_ns % 1000000000ULL);
	its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000ULL);
	its.it_interval.tv_nsec = (long)(interval_ns % 1000000000ULL);
	return timer_settime(t->id, absolute ? TIMER_ABSTIME : 0, &its, NULL) < 0 ? -errno : 0;
}

/* A per-thread POSIX timer that delivers DEADLINE_SIGNAL to the thread running the VM
 * (re-created when the VM moves to another thread, e.g. a fork running on a worker). */
static int arm_timer(struct vm_timer *t, int signo, uint64_t value_ns, uint64_t interval_ns, bool absolute)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	if (!value_ns && !t->created)
		return 0;
	pthread_once(&once, install_handler_once);
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (t->created && t->tid != tid) {
		timer_delete(t->id);
		t->created = false;
	}
	if (!t->created) {
		struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = signo};
		sev._sigev_un._tid = tid;
		if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) < 0)
			return -errno;
		t->created = true;
		t->tid = tid;
	}
	return set_timer(t, value_ns, interval_ns, absolute);
}

/* vm is going away: a deadline or interrupt signal landing on this thread later must not
 * write to its run page. */
void vcpu_forget_run(struct vm *vm)
{
	if (t_run == vm->run)
		t_run = NULL;
}

int vm_interrupt_thread(pthread_t th)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_handler_once);
	return pthread_kill(th, DEADLINE_SIGNAL) ? -ESRCH : 0;
}

int vm_set_deadline(struct vm *vm, uint64_t deadline_ns)
{
	vm->deadline_ns = deadline_ns;
	return arm_timer(&vm->deadline_timer, DEADLINE_SIGNAL, deadline_ns, 0, true);
}

int vm_set_deadline_remote(struct vm *vm, uint64_t deadline_ns)
{
	if (!vm->deadline_timer.created)
		return -EAGAIN;
	vm->deadline_ns = deadline_ns;
	return set_timer(&vm->deadline_timer, deadline_ns, 0, true);
}

bool vm_deadline_remote_ok(const struct vm *vm)
{
	return vm->deadline_timer.created;
}

int vm_set_tick(struct vm *vm, uint64_t interval_ns)
{
	vm->tick_ns = interval_ns;
	vm->next_tick_ns = interval_ns ? vm_now_ns() + interval_ns : 0;
	if (interval_ns) {
		int err = tick_signal_only_in_guest(vm);
		if (err)
			return err;
	}
	return arm_timer(&vm->tick_timer, TICK_SIGNAL, interval_ns, interval_ns, false);
}

/* Was the vCPU interrupted in user mode (CPL 3) between instructions, with no event on
 * its way in?  Only then can another thread's user state simply be loaded into the
 * registers.  An exception KVM is about to inject (say the #PF of a SYSCALL under PVM)
 * belongs to the interrupted thread: switching under it would deliver it to another.
 * Under PVM the CPU stays in ring 3 after SYSCALL, so a tick can also land with rip on
 * syscall_entry before the fetch there faults: that is a syscall on its way in, not
 * user state (a signal frame or thread switch would save a kernel-area rip).  Re-entering
 * lets the fault happen and the syscall exit take over. */
static bool preemptible(struct vm *vm)
{
	struct kvm_sregs sregs;
	struct kvm_vcpu_events ev;
	uint64_t rip = vm->run->s.regs.regs.rip;
	if (rip >= KERNEL_VA)
		return false;
	/* The usual case of a ring path's kick (vm_ring_answer_held): the two ioctls below
	 * cost ~7 us each under nested KVM, on the way to the next request. */
	if (vm->ring && ring_waiting_at(rip))
		return true;
	if (vm_get_sregs(vm, &sregs) < 0 || (sregs.cs.selector & 3) != 3)
		return false;
	if (ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	return !ev.exception.injected && !ev.exception.pending && !ev.interrupt.injected && !ev.nmi.injected &&
	       !ev.nmi.pending;
}

int vm_get_sregs(struct vm *vm, struct kvm_sregs *out)
{
	if (vm->run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		*out = vm->run->s.regs.sregs;
		return 0;
	}
	return ioctl(vm->vcpu_fd, KVM_GET_SREGS, out) < 0 ? -errno : 0;
}

struct kvm_regs *vm_regs(struct vm *vm)
{
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return &vm->run->s.regs.regs;
}

void vm_load_user_state(struct vm *vm, const struct kvm_regs *regs)
{
	vm->replay = false;
	if (vm->where == VM_AT_USER) {
		/* Already in user mode (a preemption tick): the registers are the state. */
		struct kvm_regs *r = vm_regs(vm);
		*r = *regs;
		r->rflags = (regs->rflags & X86_RFLAGS_USER) | X86_RFLAGS_RESERVED | X86_RFLAGS_IF;
		return;
	}
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
		if (vm->replay)
			out->rip -= 2; /* the call is yet to be issued (vm_replay_syscall) */
		break;
	case VM_AT_FAULT:
		out->rip = vm->user_rip;
		out->rflags = vm->user_rflags;
		out->rsp = vm->user_rsp;
		break;
	case VM_AT_USER: break;
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

void vm_replay_syscall(struct vm *vm)
{
	if (vm->where != VM_AT_SYSCALL) {
		vm_restart_syscall(vm);
		return;
	}
	vm->replay = true;
}

int vm_set_fs_base(struct vm *vm, uint64_t base)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msr = {.hdr.nmsrs = 1, .e = {.index = MSR_FS_BASE, .data = base}};
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
	if (vm->xsave_pending) {
		memcpy(buf, vm->xsave_pending, vm->xsave_size);
		return 0;
	}
	unsigned long req = vm->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	return ioctl(vm->vcpu_fd, req, buf) < 0 ? -errno : 0;
}

int vm_set_xsave(struct vm *vm, const void *buf)
{
	vm->xsave_pending = NULL;
	return ioctl(vm->vcpu_fd, KVM_SET_XSAVE, buf) < 0 ? -errno : 0;
}

static bool in_fpu_stub(uint64_t rip)
{
	return rip >= GUEST_CODE(LOAD_STATE_FPU_FLUSH) && rip < GUEST_CODE(LOAD_STATE_FPU_END);
}

/* A pending XSAVE image (a reset's, load_snapshot) on the way into the guest: enter through
 * load_state_fpu, which loads the copy at KAREA_FPU, when the entry is a state load (every
 * syscall return, and so the first entry after a reset); else the ioctl.  1: redirected. */
static int fpu_enter(struct vm *vm)
{
	struct kvm_regs *r = &vm->run->s.regs.regs;
	uint64_t to;
	if (r->rip == GUEST_CODE(LOAD_STATE))
		to = GUEST_CODE(LOAD_STATE_FPU);
	else if (r->rip == GUEST_CODE(LOAD_STATE_FLUSH))
		to = GUEST_CODE(LOAD_STATE_FPU_FLUSH);
	else
		return vm_set_xsave(vm, vm->xsave_pending);
	uint64_t *mailbox = karea_ptr(vm, KAREA_MAILBOX);
	cow_mark(vm, vm->karea + KAREA_MAILBOX + MAILBOX_RAX, 16);
	mailbox[MAILBOX_RAX / 8] = r->rax;
	mailbox[MAILBOX_RDX / 8] = r->rdx;
	r = vm_regs(vm);
	r->rax = r->rdx = vm->fpu_xrstor ? ~0ULL : 0;
	r->rip = to;
	return 1;
}

/* Back on the state load the stub was to continue with, the user's rax and rdx back. */
static void fpu_undo(struct vm *vm)
{
	const uint64_t *mailbox = karea_ptr(vm, KAREA_MAILBOX);
	struct kvm_regs *r = vm_regs(vm);
	r->rip = r->rip < GUEST_CODE(LOAD_STATE_FPU) ? GUEST_CODE(LOAD_STATE_FLUSH) : GUEST_CODE(LOAD_STATE);
	r->rax = mailbox[MAILBOX_RAX / 8];
	r->rdx = mailbox[MAILBOX_RDX / 8];
	r->rflags = X86_RFLAGS_RESERVED;
}

/* After a KVM_RUN that entered through load_state_fpu (r: its result).  Stopped inside the
 * stub (a signal): undone, still pending, so no one sees the stub's registers.  A fault in
 * it (an image XRSTOR refuses): this VM loads its FPU state by ioctl from now on.  Else the
 * guest has loaded it.  true: the fault was taken care of, enter again. */
static bool fpu_after_run(struct vm *vm, int r, int *err)
{
	const struct kvm_run *run = vm->run;
	if (in_fpu_stub(run->s.regs.regs.rip)) {
		fpu_undo(vm);
		return false;
	}
	if (r >= 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_FAULT) {
		const uint64_t *frame = karea_ptr(vm, KAREA_STACK_TOP - FAULT_FRAME_SIZE);
		if (in_fpu_stub(frame[FAULT_FRAME_RIP]) && (frame[FAULT_FRAME_CS] & 3) == 0) {
			vm->run->s.regs.regs.rip = frame[FAULT_FRAME_RIP];
			fpu_undo(vm);
			vm->fpu_by_guest = false;
			*err = vm_set_xsave(vm, vm->xsave_pending);
			return true;
		}
	}
	vm->xsave_pending = NULL;
	return false;
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

static void (*_Atomic trace_fn)(void *ctx, const struct vm_exit_trace *t);
static void *trace_ctx;

void vm_set_exit_trace(void (*fn)(void *ctx, const struct vm_exit_trace *t), void *ctx)
{
	trace_ctx = ctx;
	atomic_store(&trace_fn, fn);
}

/* After a KVM_RUN return r (exit e, -1 to re-enter; r == 1: a replayed call, no KVM_RUN):
 * what it was and KVM's counters since the last one. */
static void trace_exit(struct vm *vm, int r, int e, const struct vm_fault *fault)
{
	void (*fn)(void *, const struct vm_exit_trace *) = atomic_load(&trace_fn);
	if (!fn)
		return;
	int saved_errno = errno;
	struct vm_exit_trace t = {
	        .kvm_reason = r < 0 ? -1 : (int)vm->run->exit_reason, .vector = -1, .replayed = r == 1};
	t.rip = vm->run->s.regs.regs.rip;
	if (e == VM_EXIT_SYSCALL) {
		t.syscall = true;
		t.nr = vm->run->s.regs.regs.rax;
		t.rip = vm->user_rip;
	} else if (e == VM_EXIT_FAULT) {
		t.vector = fault->vector;
		t.rip = fault->rip;
	}
	struct vm_entries now;
	if (vm_entry_counts(vm, &now) == 0) {
		t.delta.known = true;
		for (int k = 0; k < VM_ENTRY_KINDS; k++)
			t.delta.n[k] = now.n[k] - vm->trace_prev.n[k];
		vm->trace_prev = now;
	}
	fn(trace_ctx, &t);
	errno = saved_errno;
}

/* Stopped in user mode (where == VM_AT_USER): nothing may see a thread inside the ring
 * trampoline.  A call the ring thread finished leaves the registers as if the trampoline
 * had returned, still in user mode: the state stays VM_AT_USER, with rcx and r11 as
 * SYSCALL leaves them.  (It was marked VM_AT_SYSCALL, which says the vCPU waits in ring 0
 * at the syscall fault: the next entry then went through load_state, a supervisor page,
 * from ring 3, and the guest died of a page fault at load_state.) */
static enum vm_exit settled(struct vm *vm)
{
	if (vm->ring && ring_settle(vm) == VM_EXIT_RING_DONE) {
		struct kvm_regs *r = vm_regs(vm);
		r->rcx = r->rip;
		r->r11 = r->rflags;
		return VM_EXIT_RING_DONE;
	}
	return VM_EXIT_TICK;
}

/* An ioctl of the run loop failed (err: its errno): the run ends in error. */
static enum vm_exit run_failed(struct vm *vm, struct vm_fault *fault, const char *ioctl_name, int err)
{
	static __thread char why[64];
	snprintf(why, sizeof(why), "%s failed: %s", ioctl_name, strerror(err));
	memset(fault, 0, sizeof(*fault));
	fault->what = why;
	vm->sregs_unknown = true;
	return VM_EXIT_ERROR;
}

enum vm_exit vm_run(struct vm *vm, struct vm_fault *fault)
{
	t_run = vm->run;
	if (vm->replay) {
		/* The call a fork or reset re-issues, handed over without entering the guest. */
		vm->replay = false;
		if (vm->ring)
			vm_ring_wake(vm); /* awake by the time the guest posts */
		vm->stats.syscalls++;
		trace_exit(vm, 1, VM_EXIT_SYSCALL, fault);
		return VM_EXIT_SYSCALL;
	}
	prepare_entry(vm);
	for (;;) {
		int fpu = vm->xsave_pending ? fpu_enter(vm) : 0;
		if (fpu < 0)
			return run_failed(vm, fault, "KVM_SET_XSAVE", -fpu);
		uint64_t entered = vm_now_ns();
		if (vm->ring)
			ring_before_run(vm);
		int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		int saved_errno = errno;
		if (vm->ring)
			ring_after_run(vm);
		int fpu_err = 0;
		if (fpu > 0 && fpu_after_run(vm, r, &fpu_err)) {
			if (fpu_err)
				return run_failed(vm, fault, "KVM_SET_XSAVE", -fpu_err);
			continue;
		}
		errno = saved_errno;
		vm->stats.guest_ns += vm_now_ns() - entered;
		vm->stats.exits++;
		if (r < 0) {
			trace_exit(vm, r, -1, fault);
			if (errno != EINTR && errno != EAGAIN)
				return run_failed(vm, fault, "KVM_RUN", saved_errno);
			vm->run->immediate_exit = 0;
			if (vm->tick_ns) {
				/* A tick made KVM_RUN return while the signal is blocked again out
				 * here, so no handler ran: take it off the pending set, or every
				 * entry would end at once. */
				sigset_t tick;
				sigemptyset(&tick);
				sigaddset(&tick, TICK_SIGNAL);
				struct timespec zero = {0, 0};
				sigtimedwait(&tick, NULL, &zero);
			}
			uint64_t now = vm_now_ns();
			if (vm->deadline_ns && now >= vm->deadline_ns) {
				vm->sregs_unknown = true;
				return VM_EXIT_TIMEOUT;
			}
			if (vm_signals_pending()) {
				/* A host signal for the guest: hand over now if user code was
				 * interrupted, else at the next exit; the tick makes sure there
				 * is one soon even for a guest that makes no syscalls. */
				if (!vm->tlb_flush && preemptible(vm)) {
					vm->where = VM_AT_USER;
					vm->sregs_unknown = true;
					return settled(vm);
				}
				if (!vm->tick_ns)
					vm_set_tick(vm, 10 * 1000 * 1000ULL);
			}
			if (t_kicked) {
				/* vm_interrupt_thread: a signal from another guest process waits (a
				 * SIGKILL for a child busy in user code, say): out to the run loop,
				 * now if user code was interrupted, else at the next tick. */
				t_kicked = 0;
				if (!vm->tlb_flush && preemptible(vm)) {
					vm->where = VM_AT_USER;
					vm->sregs_unknown = true;
					return settled(vm); /* vm_ring_answer_held: a call held in page 0 */
				}
				if (!vm->tick_ns)
					vm_set_tick(vm, 10 * 1000 * 1000ULL);
			}
			if (vm->tick_ns && now >= vm->next_tick_ns) {
				vm->next_tick_ns = now + vm->tick_ns;
				if (!vm->tlb_flush && preemptible(vm)) {
					vm->where = VM_AT_USER;
					vm->sregs_unknown = true;
					return settled(vm);
				}
			}
			continue;
		}
		int e = exit_decode(vm, fault);
		if (e == -2) {
			prepare_entry(vm); /* a ring call finished: straight back in */
			continue;
		}
		trace_exit(vm, r, e, fault);
		if (e == VM_EXIT_ERROR || (e == VM_EXIT_FAULT && fault->vector < 0))
			vm->sregs_unknown = true; /* not stopped in the trampoline */
		if (e >= 0)
			return (enum vm_exit)e;
	}
}
