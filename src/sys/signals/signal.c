/* signal.c - signals: dispositions, masks, the alternate stack, and delivery to guest
 * handlers of signals the guest raises (kill/tgkill to itself) and of synchronous faults.
 * The frame is Linux's x86-64 rt_sigframe (arch/x86/include/asm/sigframe.h,
 * uapi/asm/sigcontext.h), so glibc's restorer and siglongjmp work unchanged. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sys/processes/process.h"
#include "sys/signals/signal.h"
#include "sys/syscalls.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "sys/events/wait_args.h"
#include "vmm/abi.h"
#include "vmm/layout.h"

#define SIGBIT(sig) (1ULL << ((sig)-1))
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
#define K_SA_RESTORER 0x04000000ULL
#define K_SS_ONSTACK 1
#define K_SS_DISABLE 2
#define K_SS_AUTODISARM (1U << 31)
#define K_MINSIGSTKSZ 2048
#define UC_FP_XSTATE 1
#define UC_SIGCONTEXT_SS 2
#define FP_XSTATE_MAGIC1 0x46505853U

/* The kernel's 64-bit struct sigcontext and struct ucontext. */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved[8];
};

struct k_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

struct k_ucontext {
	uint64_t flags, link;
	struct k_stack stack;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

struct k_siginfo {
	int32_t signo, errno_, code, pad;
	union {
		uint64_t addr; /* SIGSEGV, SIGBUS, SIGILL, SIGFPE */
		struct {
			int32_t pid;
			uint32_t uid;
		} kill;
	} u;
	uint8_t rest[128 - 24];
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	struct k_siginfo info;
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "sigcontext layout");
_Static_assert(offsetof(struct k_ucontext, mc) == 40, "ucontext layout");
_Static_assert(sizeof(struct k_siginfo) == 128, "siginfo layout");

/* Linux's default action for signals with no handler: ignore these, end on the rest
 * (core-dumping ones included; no core is written). */
static bool default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool has_handler(const struct proc *p, int sig)
{
	uint64_t h = p->sig.sigactions[sig].handler;
	return h != (uint64_t)SIG_DFL && h != (uint64_t)SIG_IGN;
}

/* Linux discards a signal at generation when it is ignored and not blocked (a blocked
 * one waits, since the disposition may change before it is unblocked). */
static bool ignored(const struct proc *p, int sig)
{
	return p->sig.sigactions[sig].handler == (uint64_t)SIG_IGN || (!has_handler(p, sig) && default_ignores(sig));
}

int signal_takes(const struct proc *p, const struct thread *t)
{
	for (uint64_t ready = t->pending & ~t->sigmask; ready; ready &= ready - 1) {
		int sig = __builtin_ctzll(ready) + 1;
		if (!ignored(p, sig))
			return sig;
	}
	return 0;
}

bool signal_restarts(const struct proc *p, int sig)
{
	return has_handler(p, sig) && (p->sig.sigactions[sig].flags & SA_RESTART);
}

void signal_send(struct proc *p, struct thread *t, int sig)
{
	if (!(t->sigmask & SIGBIT(sig)) && ignored(p, sig))
		return;
	t->pending |= SIGBIT(sig);
	sched_signal_wake(p, t);
}

static bool on_altstack(const struct thread *t, uint64_t sp)
{
	return t->altstack_size && sp > t->altstack_sp && sp <= t->altstack_sp + t->altstack_size;
}

/* Build the frame and enter the handler.  0, or -EFAULT when the frame cannot be written
 * (Linux then kills the thread with SIGSEGV). */
static int enter_handler(struct proc *p, int sig, const struct k_siginfo *info, const struct vm_fault *f)
{
	struct thread *t = p->thr.cur;
	/* A copy: SA_RESETHAND below changes the table entry. */
	const struct sigaction_rec action = p->sig.sigactions[sig], *act = &action;
	if (!(act->flags & K_SA_RESTORER))
		return -EFAULT; /* x86-64 Linux needs a restorer too; glibc always sets one */
	struct kvm_regs regs;
	vm_save_user_state(p->vm, &regs);

	uint64_t sp = regs.rsp;
	bool alt = (act->flags & SA_ONSTACK) && t->altstack_size && !on_altstack(t, sp);
	if (alt)
		sp = t->altstack_sp + t->altstack_size;
	else
		sp -= 128; /* the red zone (SysV ABI 3.2.2) */
	size_t fpsize = vm_xsave_size(p->vm);
	sp = (sp - fpsize) & ~63ULL;
	uint64_t fp_at = sp;
	sp = ((sp - sizeof(struct k_rt_sigframe)) & ~15ULL) - 8;

	uint8_t *fp = guest_buf(p, fp_at, fpsize, true);
	struct k_rt_sigframe *frame = guest_buf(p, sp, sizeof(*frame), true);
	if (!fp || !frame)
		return -EFAULT;
	vm_get_xsave(p->vm, fp);
	/* fpx_sw_bytes in the legacy area's software-reserved bytes (464..511). */
	uint32_t sw[4] = {FP_XSTATE_MAGIC1, (uint32_t)fpsize + 4, 0, (uint32_t)fpsize};
	memcpy(fp + 464, sw, sizeof(sw));

	memset(frame, 0, sizeof(*frame));
	frame->pretcode = act->restorer;
	frame->uc.flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS;
	frame->uc.stack = (struct k_stack){.sp = t->altstack_sp,
	                                   .size = t->altstack_size,
	                                   .flags = t->altstack_size ? (on_altstack(t, regs.rsp) ? K_SS_ONSTACK : 0)
	                                                             : K_SS_DISABLE};
	struct k_sigcontext *mc = &frame->uc.mc;
	*mc = (struct k_sigcontext){
	        .r8 = regs.r8,
	        .r9 = regs.r9,
	        .r10 = regs.r10,
	        .r11 = regs.r11,
	        .r12 = regs.r12,
	        .r13 = regs.r13,
	        .r14 = regs.r14,
	        .r15 = regs.r15,
	        .rdi = regs.rdi,
	        .rsi = regs.rsi,
	        .rbp = regs.rbp,
	        .rbx = regs.rbx,
	        .rdx = regs.rdx,
	        .rax = regs.rax,
	        .rcx = regs.rcx,
	        .rsp = regs.rsp,
	        .rip = regs.rip,
	        .eflags = regs.rflags,
	        .cs = SEL_UCODE,
	        .ss = SEL_UDATA,
	        .err = f ? f->error : 0,
	        .trapno = f ? (uint64_t)f->vector : 0,
	        .oldmask = t->sigmask,
	        .cr2 = f ? f->addr : 0,
	        .fpstate = fp_at,
	};
	/* After sigsuspend the handler returns to the mask from before it. */
	uint64_t restore_mask = t->suspend_saved ? t->suspend_mask : t->sigmask;
	t->suspend_saved = false;
	frame->uc.sigmask = restore_mask;
	mc->oldmask = restore_mask;
	frame->info = *info;

	t->sigmask |= act->mask | ((act->flags & SA_NODEFER) ? 0 : SIGBIT(sig));
	t->sigmask &= ~UNBLOCKABLE;
	if (act->flags & SA_RESETHAND)
		p->sig.sigactions[sig].handler = (uint64_t)SIG_DFL;
	if (alt && (t->altstack_flags & K_SS_AUTODISARM))
		t->altstack_size = 0;

	regs.rip = act->handler;
	regs.rsp = sp;
	regs.rdi = (uint64_t)sig;
	regs.rsi = sp + offsetof(struct k_rt_sigframe, info);
	regs.rdx = sp + offsetof(struct k_rt_sigframe, uc);
	regs.rax = 0;
	regs.rflags &= ~(X86_RFLAGS_DF | X86_RFLAGS_TF);
	vm_load_user_state(p->vm, &regs);
	return 0;
}

bool signal_fault(struct proc *p, int sig, const struct vm_fault *f)
{
	/* A fault's signal cannot be blocked or ignored away (Linux's force_sig). */
	if (!has_handler(p, sig) || (p->thr.cur->sigmask & SIGBIT(sig)))
		return false;
	struct fault_info fi = fault_siginfo(f);
	struct k_siginfo info = {.signo = sig, .code = fi.code};
	info.u.addr = fi.addr;
	return enter_handler(p, sig, &info, f) == 0;
}

/* Take pending signal sig off t's set, with the siginfo it carries. */
static void dequeue(struct proc *p, struct thread *t, int sig, struct k_siginfo *info)
{
	t->pending &= ~SIGBIT(sig);
	*info = (struct k_siginfo){.signo = sig, .code = -6 /* SI_TKILL */};
	info->u.kill.pid = p->id.pid;
	if (t->queued & SIGBIT(sig)) {
		/* rt_sigqueueinfo's own siginfo (si_code, si_value). */
		t->queued &= ~SIGBIT(sig);
		memcpy(info, t->queued_info[sig], sizeof(*info));
	} else if (sig == SIGALRM && t->alarm_pending) {
		info->code = 0x80; /* SI_KERNEL: a timer expired */
	}
	if (sig == SIGALRM)
		t->alarm_pending = false;
}

int signal_deliver_pending(struct proc *p)
{
	struct thread *t = p->thr.cur;
	uint64_t ready = t->pending & ~t->sigmask;
	if (!ready)
		return 0;
	int sig = __builtin_ctzll(ready) + 1;
	struct k_siginfo info;
	dequeue(p, t, sig, &info);
	if (ignored(p, sig))
		return 0;
	if (!has_handler(p, sig))
		return sig; /* default action: the process ends by this signal */
	return enter_handler(p, sig, &info, NULL) ? SIGSEGV : 0;
}

long sys_rt_sigreturn(struct proc *p, const struct sys_args *a)
{
	struct thread *t = p->thr.cur;
	struct kvm_regs regs;
	vm_save_user_state(p->vm, &regs);
	/* The handler's `ret` popped pretcode: the ucontext is at the stack pointer. */
	struct k_ucontext uc;
	if (copy_from_guest(p, &uc, regs.rsp, sizeof(uc)))
		return -EFAULT;
	const struct k_sigcontext *mc = &uc.mc;
	if (mc->rip >= (1ULL << 47))
		return -EFAULT;
	regs = (struct kvm_regs){
	        .r8 = mc->r8,
	        .r9 = mc->r9,
	        .r10 = mc->r10,
	        .r11 = mc->r11,
	        .r12 = mc->r12,
	        .r13 = mc->r13,
	        .r14 = mc->r14,
	        .r15 = mc->r15,
	        .rdi = mc->rdi,
	        .rsi = mc->rsi,
	        .rbp = mc->rbp,
	        .rbx = mc->rbx,
	        .rdx = mc->rdx,
	        .rax = mc->rax,
	        .rcx = mc->rcx,
	        .rsp = mc->rsp,
	        .rip = mc->rip,
	        .rflags = mc->eflags,
	};
	if (mc->fpstate) {
		size_t fpsize = vm_xsave_size(p->vm);
		const void *fp = guest_buf(p, mc->fpstate, fpsize, false);
		if (!fp)
			return -EFAULT;
		vm_set_xsave(p->vm, fp);
	}
	t->sigmask = uc.sigmask & ~UNBLOCKABLE;
	vm_load_user_state(p->vm, &regs);
	return SYS_RESUMED;
}

long sys_rt_sigaction(struct proc *p, const struct sys_args *a)
{
	int sig = (int)a->a[0];
	if (a->a[3] != sizeof(uint64_t) || sig < 1 || sig > GUEST_NSIG)
		return -EINVAL;
	struct sigaction_rec old = p->sig.sigactions[sig];
	if (a->a[1]) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		struct sigaction_rec act;
		int err = copy_from_guest(p, &act, a->a[1], sizeof(act));
		if (err)
			return err;
		act.mask &= ~UNBLOCKABLE;
		p->sig.sigactions[sig] = act;
	}
	return a->a[2] ? copy_to_guest(p, a->a[2], &old, sizeof(old)) : 0;
}

long sys_rt_sigprocmask(struct proc *p, const struct sys_args *a)
{
	int how = (int)a->a[0];
	if (a->a[3] != sizeof(uint64_t))
		return -EINVAL;
	uint64_t *mask = &p->thr.cur->sigmask, old = *mask;
	if (a->a[1]) {
		uint64_t set;
		int err = copy_from_guest(p, &set, a->a[1], sizeof(set));
		if (err)
			return err;
		set &= ~UNBLOCKABLE;
		switch (how) {
		case SIG_BLOCK: *mask |= set; break;
		case SIG_UNBLOCK: *mask &= ~set; break;
		case SIG_SETMASK: *mask = set; break;
		default: return -EINVAL;
		}
	}
	return a->a[2] ? copy_to_guest(p, a->a[2], &old, sizeof(old)) : 0;
}

long sys_rt_sigpending(struct proc *p, const struct sys_args *a)
{
	if (a->a[1] != sizeof(uint64_t))
		return -EINVAL;
	uint64_t set = p->thr.cur->pending & p->thr.cur->sigmask;
	return copy_to_guest(p, a->a[0], &set, sizeof(set));
}

long sys_sigaltstack(struct proc *p, const struct sys_args *a)
{
	struct thread *t = p->thr.cur;
	struct kvm_regs regs;
	vm_save_user_state(p->vm, &regs);
	bool on = on_altstack(t, regs.rsp);
	struct k_stack old = {.sp = t->altstack_sp,
	                      .size = t->altstack_size,
	                      .flags = on                 ? K_SS_ONSTACK
	                               : t->altstack_size ? (int32_t)(t->altstack_flags & K_SS_AUTODISARM)
	                                                  : K_SS_DISABLE};
	if (a->a[0]) {
		struct k_stack ss;
		int err = copy_from_guest(p, &ss, a->a[0], sizeof(ss));
		if (err)
			return err;
		if (on)
			return -EPERM;
		uint32_t mode = (uint32_t)ss.flags & ~K_SS_AUTODISARM;
		if (mode != 0 && mode != K_SS_DISABLE && mode != K_SS_ONSTACK)
			return -EINVAL;
		if (mode == K_SS_DISABLE) {
			t->altstack_sp = t->altstack_size = 0;
		} else {
			if (ss.size < K_MINSIGSTKSZ)
				return -ENOMEM;
			t->altstack_sp = ss.sp;
			t->altstack_size = ss.size;
			t->altstack_flags = (uint32_t)ss.flags & K_SS_AUTODISARM;
		}
	}
	return a->a[1] ? copy_to_guest(p, a->a[1], &old, sizeof(old)) : 0;
}

/* Queue sig for thread t (sig 0: only check that it exists). */
static long queue_signal(struct proc *p, struct thread *t, int sig)
{
	if (sig < 0 || sig > GUEST_NSIG)
		return -EINVAL;
	if (!t || t->state == T_DEAD)
		return -ESRCH;
	if (sig)
		signal_send(p, t, sig);
	return 0;
}

static struct thread *find_thread(struct proc *p, int tid)
{
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i]->tid == tid && p->thr.threads[i]->state != T_DEAD)
			return p->thr.threads[i];
	return NULL;
}

long sys_kill(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0];
	/* Another guest process (process.c). */
	if (pid != p->id.pid && (p->fam.pt || pid > 0 || (pid < -1 && -pid != p->id.pid)))
		return process_kill(p, pid, (int)a->a[1]);
	/* Only the guest itself exists in its world: itself, its group, or "everyone". */
	if (pid != p->id.pid && pid != 0 && pid != -1 && pid != -p->id.pid)
		return -ESRCH;
	/* Process-directed: a thread that does not block it (or waits for it in sigwait)
	 * takes it, not necessarily the caller. */
	int sig = (int)a->a[1];
	return queue_signal(p, sig > 0 && sig <= GUEST_NSIG ? signal_process_target(p, sig) : p->thr.cur, sig);
}

long sys_tgkill(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] != p->id.pid || (int)a->a[1] <= 0)
		return (int)a->a[1] <= 0 || (int)a->a[0] <= 0 ? -EINVAL : -ESRCH;
	return queue_signal(p, find_thread(p, (int)a->a[1]), (int)a->a[2]);
}

long sys_tkill(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] <= 0)
		return -EINVAL;
	return queue_signal(p, find_thread(p, (int)a->a[0]), (int)a->a[1]);
}

/* rt_sigqueueinfo / rt_tgsigqueueinfo to the guest itself: the caller's siginfo travels
 * with the signal.  As Linux, a caller may not pretend to be the kernel (si_code >= 0). */
static long queue_info(struct proc *p, struct thread *t, int sig, uint64_t uinfo)
{
	struct k_siginfo info;
	if (sig < 1 || sig > GUEST_NSIG)
		return -EINVAL;
	int err = copy_from_guest(p, &info, uinfo, sizeof(info));
	if (err)
		return err;
	if (info.code >= 0 || info.code == -6 /* SI_TKILL */)
		return -EPERM;
	if (!t || t->state == T_DEAD)
		return -ESRCH;
	info.signo = sig;
	memcpy(t->queued_info[sig], &info, sizeof(info));
	t->queued |= SIGBIT(sig);
	signal_send(p, t, sig);
	return 0;
}

long sys_rt_sigqueueinfo(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0];
	if (pid != p->id.pid)
		return -ESRCH;
	return queue_info(p, p->thr.cur, (int)a->a[1], a->a[2]);
}

long sys_rt_tgsigqueueinfo(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] != p->id.pid)
		return -ESRCH;
	return queue_info(p, find_thread(p, (int)a->a[1]), (int)a->a[2], a->a[3]);
}

/* rt_sigsuspend and pause: wait with `mask` as the thread's mask until a signal it does not
 * block is pending; the handler then returns to the mask from before (suspend_mask).  The
 * thread parks (T_SLEEP, no deadline) and a signal ends the wait with EINTR
 * (sched_signal_wake).  With no other thread and no interval timer armed nothing can
 * signal it: it sleeps until the execution deadline, as Linux would forever. */
static long suspend_with(struct proc *p, uint64_t mask)
{
	struct thread *t = p->thr.cur;
	t->suspend_mask = t->sigmask;
	t->suspend_saved = true;
	t->sigmask = mask & ~UNBLOCKABLE;
	if (t->pending & ~t->sigmask)
		return -EINTR; /* the signal is delivered on the way out, with the temporary mask */
	/* Signals from other guest processes (process.c) may be waiting already. */
	process_take_signals(p);
	if (t->pending & ~t->sigmask)
		return -EINTR;
	t->deadline_ns = 0;
	long r = sched_block_current(p, T_SLEEP, -EINTR);
	if (r != -EDEADLK)
		return r;
	/* Alone, no timer: another guest process (the process table's wake fd) or a host
	 * signal (EINTR) is all that can end the wait. */
	while (p->fam.pt) {
		int w = process_block(p, -1);
		process_take_signals(p);
		if (w == -EINTR || (t->pending & ~t->sigmask))
			return -EINTR;
	}
	pause();
	return -EINTR;
}
/* rt_sigtimedwait: take a pending signal of `set` (usually blocked) without running its
 * handler, waiting up to the timeout for one.  The thread parks with sigwait_set, and a
 * signal of that set re-executes the call (sched_signal_wake), which then finds it;
 * another signal with a handler interrupts it (EINTR), as Linux. */
long sys_rt_sigtimedwait(struct proc *p, const struct sys_args *a)
{
	struct thread *t = p->thr.cur;
	uint64_t set;
	struct timespec ts = {0, 0};
	if (a->a[3] != sizeof(uint64_t))
		return -EINVAL;
	int err = copy_from_guest(p, &set, a->a[0], sizeof(set)) ?: timeout_from_guest(p, a->a[2], &ts);
	if (err)
		return err;
	set &= ~UNBLOCKABLE;
	uint64_t ready = t->pending & set;
	if (ready) {
		int sig = __builtin_ctzll(ready) + 1;
		struct k_siginfo info;
		dequeue(p, t, sig, &info);
		if (a->a[1] && (err = copy_to_guest(p, a->a[1], &info, sizeof(info))))
			return err;
		return sig;
	}
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (a->a[2] && !ns)
		return -EAGAIN;
	t->sigwait_set = set;
	t->deadline_ns = a->a[2] ? vm_now_ns() + ns : 0;
	t->timeout_result = -EAGAIN;
	long r = sched_block_current(p, T_SLEEP, -EAGAIN);
	if (r != -EDEADLK)
		return r;
	/* Nothing in the guest can send it: only a host signal can come (and end the host
	 * wait; the dispatcher then re-executes the call if the guest does not take it). */
	t->sigwait_set = 0;
	if (!a->a[2]) {
		pause();
		return -EINTR;
	}
	return nanosleep(&ts, NULL) < 0 ? -EINTR : -EAGAIN;
}

long sys_rt_sigsuspend(struct proc *p, const struct sys_args *a)
{
	uint64_t mask;
	if (a->a[1] != sizeof(uint64_t))
		return -EINVAL;
	int err = copy_from_guest(p, &mask, a->a[0], sizeof(mask));
	return err ? err : suspend_with(p, mask);
}

/* pause is sigsuspend with the current mask. */
long sys_pause(struct proc *p, const struct sys_args *a)
{
	return suspend_with(p, p->thr.cur->sigmask);
}

/* --- process-directed signals (kill of the own process, the host's, the interval timers') --- */

/* A process-directed signal (the timer's, the host's): Linux gives it to the main thread
 * unless that thread blocks it, else to another thread that does not. */
struct thread *signal_process_target(struct proc *p, int sig)
{
	for (int i = 0; i < p->thr.nthreads; i++) {
		struct thread *t = p->thr.threads[i];
		/* A thread in rt_sigtimedwait for sig takes it, blocked or not (Linux unblocks
		 * the waited-for set for the wait). */
		if (t->state != T_DEAD && (!(t->sigmask & SIGBIT(sig)) || (t->sigwait_set & SIGBIT(sig))))
			return t;
	}
	return p->thr.threads[0]->state != T_DEAD ? p->thr.threads[0] : p->thr.cur;
}

bool signal_take_host(struct proc *p)
{
	uint64_t set = vm_take_signals();
	for (uint64_t s = set; s; s &= s - 1) {
		int sig = __builtin_ctzll(s) + 1;
		signal_send(p, signal_process_target(p, sig), sig);
	}
	return set != 0;
}
