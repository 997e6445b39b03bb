/* sched.c - guest threads on one vCPU: clone, exit, blocking, and the wait for events
 * when nothing can run (see sched.h for the model and why). */
#include <asm/unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sys/processes/process.h"
#include "sys/threads/sched.h"
#include "sys/signals/signal.h"
#include "sys/processes/spawn.h"
#include "sys/syscalls.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "util/log.h"

#define MAX_THREADS 4096

static struct thread *thread_new(struct proc *p, int tid)
{
	if (p->thr.nthreads >= MAX_THREADS)
		return NULL;
	struct thread *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->xsave = calloc(1, vm_xsave_size(p->vm));
	struct thread **v = realloc(p->thr.threads, (p->thr.nthreads + 1) * sizeof(*v));
	if (!t->xsave || !v) {
		free(t->xsave);
		free(t);
		if (v)
			p->thr.threads = v;
		return NULL;
	}
	p->thr.threads = v;
	p->thr.threads[p->thr.nthreads++] = t;
	t->tid = tid;
	return t;
}

int sched_init(struct proc *p)
{
	struct thread *t = thread_new(p, p->id.pid);
	if (!t)
		return -ENOMEM;
	t->state = T_RUNNING;
	p->thr.cur = t;
	p->thr.next_tid = p->id.pid + 1;
	return 0;
}

void sched_fini(struct proc *p)
{
	for (int i = 0; i < p->thr.nthreads; i++) {
		free(p->thr.threads[i]->xsave);
		free(p->thr.threads[i]);
	}
	free(p->thr.threads);
	p->thr.threads = NULL;
	p->thr.nthreads = 0;
	p->thr.cur = NULL;
}

/* With more than one thread, a thread that spins in user code without a syscall must not
 * starve the others: preempt every SCHED_TICK_NS. */
#define SCHED_TICK_NS (10 * 1000 * 1000ULL)
void sched_start_ticks(struct proc *p)
{
	/* Several threads share the vCPU; an armed interval timer must reach a busy guest. */
	if (p->thr.nthreads > 1 || p->sig.itimer_ns || p->sig.cpu_itimer_check_ns)
		vm_set_tick(p->vm, SCHED_TICK_NS);
}

bool sched_others_alive(const struct proc *p)
{
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i] != p->thr.cur && p->thr.threads[i]->state != T_DEAD)
			return true;
	return false;
}

bool sched_can_park(const struct proc *p)
{
	return p->sig.itimer_ns || sched_others_alive(p);
}

/* Could another thread make progress without this one: runnable, or waiting for I/O or
 * a deadline?  If every other thread waits on a futex with no deadline, only the current
 * thread can wake them, and it may as well block on the host. */
static bool others_need_cpu(const struct proc *p)
{
	for (int i = 0; i < p->thr.nthreads; i++) {
		const struct thread *t = p->thr.threads[i];
		if (t == p->thr.cur || t->state == T_DEAD)
			continue;
		if (t->state == T_RUNNABLE || t->state == T_IO || t->state == T_SLEEP || t->deadline_ns)
			return true;
	}
	return false;
}

enum save_mode { SAVE_RESULT, SAVE_RESTART, SAVE_AS_IS };

static void save_current(struct proc *p, enum save_mode mode, uint64_t nr, long result)
{
	struct thread *t = p->thr.cur;
	vm_save_user_state(p->vm, &t->regs);
	if (mode == SAVE_RESTART) {
		t->regs.rip -= 2; /* back onto the syscall instruction */
		t->regs.rax = nr;
	} else if (mode == SAVE_RESULT) {
		t->regs.rax = (uint64_t)result;
	}
	t->fs_base = vm_fs_base(p->vm);
	vm_get_xsave(p->vm, t->xsave);
}

static void load_thread(struct proc *p, struct thread *t)
{
	vm_set_xsave(p->vm, t->xsave);
	vm_set_fs_base(p->vm, t->fs_base);
	vm_load_user_state(p->vm, &t->regs);
	t->state = T_RUNNING;
	t->deadline_ns = 0;
	cpuclock_switch(p, t);
	p->thr.cur = t;
}

static struct thread *pick_runnable(struct proc *p)
{
	int start = 0;
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i] == p->thr.cur)
			start = i + 1;
	for (int k = 0; k < p->thr.nthreads; k++) {
		struct thread *t = p->thr.threads[(start + k) % p->thr.nthreads];
		if (t->state == T_RUNNABLE)
			return t;
	}
	return NULL;
}

/* Make t runnable: re-executing its call (restart) or completing it with result. */
static void wake(struct thread *t, long result, bool restart)
{
	if (!restart) {
		t->resume_fd = 0; /* an interrupted connect goes on in the background */
		/* A thread parked to re-execute its call (T_IO) that completes instead (its
		 * timeout passed) returns past the syscall instruction, like the others. */
		if (t->state == T_IO)
			t->regs.rip += 2;
		/* A write that sent part of its data before it parked returns that part. */
		if (t->io_done && result < 0)
			result = t->io_done;
		t->io_done = 0;
		t->regs.rax = (uint64_t)result;
	}
	t->state = T_RUNNABLE;
	t->deadline_ns = 0;
	t->nwait = 0;
	t->sigwait_set = 0;
	t->retry = false;
	if (t->wait_mask) {
		t->wait_mask = false;
		t->sigmask = t->suspend_mask;
		t->suspend_saved = false;
	}
}

void sched_signal_wake(struct proc *p, struct thread *t)
{
	if (t->state != T_IO && t->state != T_SLEEP && t->state != T_FUTEX)
		return;
	if (t->pending & t->sigwait_set) {
		/* rt_sigtimedwait: executed again, it takes the signal. */
		t->regs.rip -= 2;
		t->regs.rax = t->wait_nr;
		wake(t, 0, true);
		return;
	}
	int sig = signal_takes(p, t);
	if (!sig)
		return;
	/* Linux restarts a call whose row says so after a handler with SA_RESTART (its
	 * -ERESTARTSYS); a timed wait (futex with a timeout) gives EINTR instead. */
	if (wait_row(t->wait_nr)->intr == R_RESTART && !t->deadline_ns && signal_restarts(p, sig)) {
		if (t->state != T_IO) {
			t->regs.rip -= 2; /* completed calls were saved past the instruction */
			t->regs.rax = t->wait_nr;
		}
		wake(t, 0, true);
		return;
	}
	wait_interrupted(p, t, vm_now_ns());
	t->wait_mask = false; /* the handler returns to the mask from before (suspend_mask) */
	wake(t, -EINTR, false);
}

#define WAIT_ALL_FDS 1024

/* Nothing can run: wait in one poll() for any blocked thread's fds or nearest deadline,
 * or the interval timer's next expiry.  Returns 0 when some thread became runnable,
 * -EINTR when a signal (the execution deadline) interrupted the wait, -EDEADLK when
 * nothing could ever wake anyone.  With block false it only looks (a preemption tick):
 * 0 if someone woke, else -EAGAIN. */
/* Signals other guest processes sent (process.c) become pending, and a parked thread
 * that now takes one is woken (EINTR, or its call restarted).  True if one became
 * runnable. */
static bool take_process_signals(struct proc *p)
{
	process_take_signals(p);
	for (int i = 0; i < p->thr.nthreads; i++)
		sched_signal_wake(p, p->thr.threads[i]);
	return pick_runnable(p) != NULL;
}

static int wait_for_events(struct proc *p, bool block)
{
	struct pollfd fds[WAIT_ALL_FDS];
	int owner[WAIT_ALL_FDS];
	for (;;) {
		uint64_t now = vm_now_ns(), nearest = p->sig.itimer_ns;
		int n = 0;
		bool woke = false;
		/* SIGALRM may end a parked thread's wait (sched_signal_wake). */
		if (p->sig.itimer_ns && itimer_fire(p, now)) {
			nearest = p->sig.itimer_ns;
			woke = pick_runnable(p) != NULL;
		}
		for (int i = 0; i < p->thr.nthreads; i++) {
			struct thread *t = p->thr.threads[i];
			if (t->state != T_IO && t->state != T_FUTEX && t->state != T_SLEEP)
				continue;
			if (t->deadline_ns && t->deadline_ns <= now && t->retry) {
				wake(t, 0, true);
				woke = true;
				continue;
			}
			if (t->deadline_ns && t->deadline_ns <= now) {
				wake(t, t->state == T_IO ? wait_timed_out(p, t) : t->timeout_result, false);
				woke = true;
				continue;
			}
			if (t->deadline_ns && (!nearest || t->deadline_ns < nearest))
				nearest = t->deadline_ns;
			for (int k = 0; t->state == T_IO && k < t->nwait && n < WAIT_ALL_FDS; k++) {
				fds[n] = t->wait[k];
				fds[n].revents = 0;
				owner[n++] = i;
			}
		}
		if (woke)
			return 0;
		if (n == 0 && !nearest)
			return block ? -EDEADLK : -EAGAIN;
		int wake_at = -1; /* the process table's wake fd, polled with the threads' (sleeps too) */
		if (n < WAIT_ALL_FDS && (fds[n].fd = process_wake_fd(p, false)) >= 0) {
			fds[n].events = POLLIN;
			fds[n].revents = 0;
			wake_at = n++;
		}
		struct timespec ts, *tsp = NULL;
		if (!block) {
			ts = (struct timespec){0, 0};
			tsp = &ts;
		} else if (nearest) {
			uint64_t d = nearest - now;
			ts.tv_sec = (time_t)(d / 1000000000ULL);
			ts.tv_nsec = (long)(d % 1000000000ULL);
			tsp = &ts;
		}
		int r = ppoll(fds, (nfds_t)n, tsp, NULL);
		if (r < 0 && errno == EINTR) {
			/* A signal from another guest process, or a host signal for the guest,
			 * may end a parked thread's wait; any other (the execution deadline) ends
			 * the wait for the run loop. */
			if (take_process_signals(p))
				return 0;
			if (!signal_take_host(p))
				return -EINTR;
			if (pick_runnable(p))
				return 0;
			continue;
		}
		/* Ready fds first: a call whose fd is ready completes, and a signal that came at
		 * the same time (a child's SIGCHLD with its last output) is taken after it. */
		for (int k = 0; r > 0 && k < n; k++) {
			if (k == wake_at)
				continue;
			struct thread *t = p->thr.threads[owner[k]];
			if (fds[k].revents && t->state == T_IO) {
				wake(t, 0, true);
				woke = true;
			}
		}
		if (r > 0 && wake_at >= 0 && fds[wake_at].revents) {
			process_wake_fd(p, true);
			woke |= take_process_signals(p);
		}
		if (woke)
			return 0;
		if (!block)
			return -EAGAIN;
	}
}

/* Load the next runnable thread, waiting for one if need be. */
static void switch_away(struct proc *p)
{
	struct thread *next;
	while (!(next = pick_runnable(p))) {
		int r = wait_for_events(p, true);
		if (r == -EDEADLK) {
			/* Every thread waits for a wake-up only another could give: Linux would
			 * hang, and so do we, until the execution deadline's signal. */
			if (p->cfg.verbose)
				log_msg("all guest threads are blocked for good");
			pause();
			if (signal_take_host(p))
				continue; /* a host signal for the guest may have ended a wait */
			r = -EINTR;
		}
		if (r < 0) {
			/* The run loop stops at the next entry (the deadline passed); load
			 * something so the vCPU state stays consistent. */
			if (p->thr.cur->state != T_DEAD)
				load_thread(p, p->thr.cur);
			return;
		}
	}
	load_thread(p, next);
}

void sched_tick(struct proc *p)
{
	/* Let threads whose fds or deadlines are ready become runnable, then rotate. */
	if (spawn_in_vfork_child(p))
		return; /* the parent's other threads wait until the child execs or exits */
	wait_for_events(p, false);
	struct thread *next = pick_runnable(p);
	if (!next)
		return;
	save_current(p, SAVE_AS_IS, 0, 0);
	p->thr.cur->state = T_RUNNABLE;
	load_thread(p, next);
}

long sched_block_current(struct proc *p, enum thread_state state, long wake_result)
{
	if (!sched_can_park(p) || spawn_in_vfork_child(p))
		return -EDEADLK;
	save_current(p, SAVE_RESULT, 0, wake_result);
	p->thr.cur->state = state;
	switch_away(p);
	return SYS_RESUMED;
}

/* --- parking syscalls that would block ------------------------------------------------ */

bool sched_should_park(const struct proc *p)
{
	return p->sig.itimer_ns || (p->thr.nthreads > 1 && others_need_cpu(p));
}

/* Park the current thread until h has `events`, its call to be re-executed then; a write
 * that sent `sent` bytes first re-executes for the rest: its buffer and count (a
 * sendfile: its count only) are advanced in the saved registers before switch_away,
 * which may load this same thread again at once (its wait over already). */
static long park_fd_after(struct proc *p, int h, short events, long sent, bool sendfile)
{
	if (!sched_should_park(p))
		return -EDEADLK;
	struct thread *t = p->thr.cur;
	t->wait[0] = (struct pollfd){.fd = h, .events = events};
	t->nwait = 1;
	save_current(p, SAVE_RESTART, t->wait_nr, 0);
	if (sent > 0 && sendfile) {
		t->regs.r10 -= (uint64_t)sent;
	} else if (sent > 0) {
		t->regs.rsi += (uint64_t)sent;
		t->regs.rdx -= (uint64_t)sent;
	}
	t->state = T_IO;
	t->deadline_ns = 0;
	switch_away(p);
	return SYS_RESUMED;
}

long sched_park_fd(struct proc *p, int h, short events)
{
	return park_fd_after(p, h, events, 0, false);
}

bool sched_write_nowait(const struct proc *p, const struct fd_entry *e)
{
	return (e->kind == FD_PIPE || e->kind == FD_SOCKET) && sched_should_park(p) && !fdtab_nonblock(e);
}

static long write_progress(struct proc *p, int h, long r, size_t n, bool sendfile)
{
	struct thread *t = p->thr.cur;
	if (((r > 0 && (size_t)r < n) || r == -EAGAIN) && sched_should_park(p)) {
		if (r > 0)
			t->io_done += r;
		return park_fd_after(p, h, POLLOUT, r, sendfile);
	}
	long done = t->io_done;
	t->io_done = 0;
	return r < 0 ? (done ? done : r) : done + r;
}

long sched_write_progress(struct proc *p, int h, long r, size_t n)
{
	return write_progress(p, h, r, n, false);
}

long sched_sendfile_progress(struct proc *p, int h, long r, size_t n)
{
	return write_progress(p, h, r, n, true);
}

#define RETRY_NS (10 * 1000 * 1000ULL)

long sched_park_retry(struct proc *p)
{
	struct thread *t = p->thr.cur;
	t->nwait = 0;
	save_current(p, SAVE_RESTART, t->wait_nr, 0);
	t->state = T_IO;
	t->deadline_ns = vm_now_ns() + RETRY_NS;
	t->retry = true;
	switch_away(p);
	return SYS_RESUMED;
}

bool sched_park_if_blocking(struct proc *p, const struct sys_args *a)
{
	/* Only when something could happen meanwhile: another thread needs the vCPU, or a
	 * signal (the interval timer) may come that must interrupt the call; or when the
	 * call's own signal mask may unblock a signal already pending. */
	if (spawn_in_vfork_child(p))
		return false; /* the parent waits until the child execs or exits */
	struct thread *t = p->thr.cur;
	/* In a tree of processes (p->fam.pt) another process may signal p at any time: a signal
	 * sent while p is on its way into a blocking host call would be lost (the host
	 * signal that interrupts it comes too early), but the wake fd polled with a parked
	 * thread's fds stays readable.  (wait4/waitid poll that fd themselves, and must
	 * return the child whose end also raised SIGCHLD, as Linux, not EINTR.) */
	bool tree = p->fam.pt && wait_row(a->nr)->how != WH_CHILD;
	if (!sched_should_park(p) && !tree && !(wait_row(a->nr)->mask != MASK_NONE && t->pending))
		return false;
	struct wait_req req;
	if (!wait_decode(p, a, &req))
		return false;
	bool sleep = req.w->how == WH_SLEEP;
	if (req.timeout_ns == 0) {
		/* A sleep already over (a 10 us one is, by the time it is decoded) still lets
		 * the other runnable threads have the vCPU, as a kernel's scheduler would: a
		 * loop of short sleeps otherwise kept it until the preemption tick (CPython's
		 * GIL then changed hands once every two ticks). */
		if (!sleep || !sched_should_park(p))
			return false;
		wait_for_events(p, false);
		if (!pick_runnable(p))
			return false;
		sched_block_current(p, T_RUNNABLE, 0);
		return true;
	}
	t->nwait = 0;
	for (int i = 0; i < req.n; i++)
		t->wait[t->nwait++] = (struct pollfd){.fd = req.host_fd[i], .events = req.events[i]};
	if (!sleep && t->nwait && poll(t->wait, (nfds_t)t->nwait, 0) != 0)
		return false; /* ready (or an error to report): the call will not block */
	uint64_t deadline = req.timeout_ns > 0 ? vm_now_ns() + (uint64_t)req.timeout_ns : 0;
	save_current(p, sleep ? SAVE_RESULT : SAVE_RESTART, a->nr, 0);
	t->state = sleep ? T_SLEEP : T_IO;
	t->deadline_ns = deadline;
	t->timeout_result = 0; /* sleeps complete with 0; T_IO's timeout: wait_timed_out */
	if (req.has_mask) {
		/* As sigsuspend: the handler of a signal that ends the wait returns to the
		 * mask from before; any other ending restores it at once (wake). */
		t->suspend_mask = t->sigmask;
		t->suspend_saved = true;
		t->sigmask = req.mask & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
		t->wait_mask = true;
		sched_signal_wake(p, t); /* a pending signal it now takes ends the wait at once */
	}
	switch_away(p);
	return true;
}

/* --- futex queues --------------------------------------------------------------------- */

int sched_futex_wake(struct proc *p, uint64_t addr, uint32_t bitset, int n)
{
	int woken = 0;
	for (int i = 0; i < p->thr.nthreads && woken < n; i++) {
		struct thread *t = p->thr.threads[i];
		if (t->state == T_FUTEX && t->futex_addr == addr && (t->futex_bitset & bitset)) {
			wake(t, 0, false);
			woken++;
		}
	}
	return woken;
}

int sched_futex_requeue(struct proc *p, uint64_t addr, uint64_t addr2, int n)
{
	int moved = 0;
	for (int i = 0; i < p->thr.nthreads && moved < n; i++) {
		struct thread *t = p->thr.threads[i];
		if (t->state == T_FUTEX && t->futex_addr == addr) {
			t->futex_addr = addr2;
			moved++;
		}
	}
	return moved;
}

/* --- clone and exit ------------------------------------------------------------------- */

#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

static long new_thread(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	/* Anything but a thread is a new process (spawn.c). */
	if (!(flags & CLONE_THREAD))
		return process_clone(p, flags, stack, ptid, ctid, tls);
	if ((flags & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS)
		return -EINVAL;
	if (flags & (CLONE_VFORK | CLONE_PIDFD | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET))
		return -EINVAL;
	struct thread *t = thread_new(p, process_alloc_tid(p));
	if (!t)
		return -EAGAIN;
	/* The child starts where the parent returns, with rax = 0, on its own stack. */
	vm_save_user_state(p->vm, &t->regs);
	t->regs.rax = 0;
	if (stack)
		t->regs.rsp = stack;
	t->fs_base = (flags & CLONE_SETTLS) ? tls : vm_fs_base(p->vm);
	vm_get_xsave(p->vm, t->xsave);
	t->sigmask = p->thr.cur->sigmask;
	uint32_t tid = (uint32_t)t->tid;
	if (flags & CLONE_PARENT_SETTID)
		copy_to_guest(p, ptid, &tid, sizeof(tid));
	if (flags & CLONE_CHILD_SETTID)
		copy_to_guest(p, ctid, &tid, sizeof(tid));
	if (flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = ctid;
	t->state = T_RUNNABLE;
	sched_start_ticks(p);
	return t->tid;
}

long sys_clone(struct proc *p, const struct sys_args *a)
{
	return new_thread(p, a->a[0], a->a[1], a->a[2], a->a[3], a->a[4]);
}

long sys_clone3(struct proc *p, const struct sys_args *a)
{
	struct clone_args ca;
	if (a->a[1] < CLONE_ARGS_SIZE_VER0 || a->a[1] > sizeof(ca) * 4)
		return -EINVAL;
	memset(&ca, 0, sizeof(ca));
	size_t size = a->a[1] < sizeof(ca) ? a->a[1] : sizeof(ca);
	int err = copy_from_guest(p, &ca, a->a[0], size);
	if (err)
		return err;
	if (ca.set_tid || ca.set_tid_size || ca.cgroup)
		return -EINVAL;
	uint64_t stack = ca.stack ? ca.stack + ca.stack_size : 0;
	return new_thread(p, ca.flags, stack, ca.parent_tid, ca.child_tid, ca.tls);
}

long sched_exit_thread(struct proc *p, int code)
{
	struct thread *t = p->thr.cur;
	if (t->clear_child_tid) {
		/* CLONE_CHILD_CLEARTID: zero the word and wake one waiter (pthread_join). */
		uint32_t zero = 0;
		if (copy_to_guest(p, t->clear_child_tid, &zero, sizeof(zero)) == 0)
			sched_futex_wake(p, t->clear_child_tid, ~0u, 1);
	}
	t->state = T_DEAD;
	if (!sched_others_alive(p)) {
		p->end.stop = PROC_EXITED;
		p->end.exit_code = code & 0xff;
		return SYS_RESUMED;
	}
	switch_away(p);
	return SYS_RESUMED;
}

long sys_sched_yield(struct proc *p, const struct sys_args *a)
{
	if (!pick_runnable(p))
		return 0;
	return sched_block_current(p, T_RUNNABLE, 0);
}
