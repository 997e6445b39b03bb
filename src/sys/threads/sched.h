/* sched.h - guest threads, scheduled cooperatively on the one vCPU (private to src/sys).
 *
 * Why cooperative: a VM here has one vCPU, and the host thread that runs it is the only
 * one that touches the process, so there are no locks anywhere in src/sys.  A thread runs
 * until it blocks (futex, I/O that is not ready, sleep) or yields; then its user state
 * (registers, FS base, XSAVE image) is saved and another runnable thread is loaded.  When
 * no thread can run, the host waits in one poll() over every blocked thread's fds with the
 * nearest deadline (and the interval timer's next expiry).  A thread blocked on I/O
 * re-executes its syscall when the fd is ready (rip rewound onto the syscall instruction);
 * a futex or sleep waiter is completed with a result instead, so a wake-up is never lost.
 * What a call waits on is its table row (blocking.h).  A signal the parked thread does
 * not block ends the wait as on Linux: EINTR, or the call restarted (SA_RESTART and a
 * restartable call).  A single thread parks too while a signal could come (an armed
 * interval timer), so that the host wakes for it instead of blocking in the call.
 */
#ifndef SYS_SCHED_H
#define SYS_SCHED_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "sys/blocking.h"
#include "vmm/vmm.h"

struct proc;
struct fd_entry;
struct sys_args;

enum thread_state {
	T_RUNNING, /* on the vCPU (p->thr.cur) */
	T_RUNNABLE,
	T_FUTEX, /* futex wait: woken by FUTEX_WAKE/REQUEUE or its deadline */
	T_IO, /* waits for its fds; re-executes the syscall */
	T_SLEEP, /* nanosleep, sigsuspend: completes at its deadline or by a signal */
	T_DEAD,
};

struct thread {
	int tid;
	enum thread_state state;
	struct kvm_regs regs; /* user state while not running */
	uint64_t fs_base;
	void *xsave; /* vm_xsave_size() bytes while not running */
	uint64_t clear_child_tid; /* CLONE_CHILD_CLEARTID / set_tid_address */
	uint64_t robust_list, robust_len;
	uint64_t sigmask;
	uint64_t pending; /* signals sent to this thread, not yet delivered */
	uint64_t queued; /* of those, sent with rt_sigqueueinfo: info in queued_info */
	uint8_t queued_info[65][128];
	bool alarm_pending; /* SIGALRM pending from the interval timer */
	bool wait_mask; /* parked with its call's own signal mask (ppoll, pselect6...) */
	bool retry; /* T_IO: at the deadline, re-execute the call (sched_park_retry) */
	int resume_fd; /* host fd + 1 whose operation the re-executed call finishes (connect) */
	long io_done; /* bytes a parked write sent before it parked (sched_write_progress) */
	uint64_t sigwait_set; /* rt_sigtimedwait: signals that end its wait (T_SLEEP) */
	uint64_t suspend_mask; /* rt_sigsuspend: the mask to restore after the handler */
	bool suspend_saved;
	uint64_t altstack_sp, altstack_size;
	uint32_t altstack_flags;
	uint64_t rseq_addr; /* registered rseq area (per thread, as Linux) */
	uint64_t cpu_ns; /* CPU time it used before it was last loaded (cpuclock.c) */
	uint64_t futex_addr; /* T_FUTEX */
	uint32_t futex_bitset;
	uint64_t wait_nr; /* the syscall it is in (set by the dispatcher): its table row */
	uint64_t deadline_ns; /* 0: none */
	long timeout_result; /* rax when the deadline passes (T_FUTEX, T_SLEEP) */
	struct pollfd wait[WAIT_MAX_FDS]; /* T_IO: host fds */
	int nwait;
};

int sched_init(struct proc *p); /* creates the main thread (tid = pid) */
void sched_fini(struct proc *p);

/* Called by the dispatcher before a syscall runs: if it would block the host while other
 * threads could make progress, parks the current thread and switches.  True when it did
 * (the dispatcher then returns SYS_RESUMED). */
bool sched_park_if_blocking(struct proc *p, const struct sys_args *a);

/* Parks the current thread in `state` (fields already set by the caller) with `result`
 * to be returned when it wakes (futex/sleep), and switches to another thread.  Returns
 * SYS_RESUMED, or -EDEADLK if nothing but this thread could ever run or signal it (the
 * caller then blocks on the host itself). */
long sched_block_current(struct proc *p, enum thread_state state, long wake_result);

/* Whether parking makes sense: another thread exists, or a signal could come. */
bool sched_can_park(const struct proc *p);

/* Whether a call about to block the host should park instead: another thread needs the
 * vCPU, or a signal (the interval timer) could come to interrupt it. */
bool sched_should_park(const struct proc *p);

/* Park the current thread until host fd h has `events`, then re-execute its syscall (a
 * handler that started an operation itself, as connect).  SYS_RESUMED, or -EDEADLK when
 * it cannot park. */
long sched_park_fd(struct proc *p, int h, short events);

/* Park the current thread and re-execute its syscall a little later (a wait with nothing
 * to poll, as a lock held elsewhere).  Returns SYS_RESUMED. */
long sched_park_retry(struct proc *p);

/* Whether a blocking write to e should be done without blocking the host
 * (sched_write_progress): a pipe or socket the guest has blocking, while other threads
 * need the vCPU. */
bool sched_write_nowait(const struct proc *p, const struct fd_entry *e);

/* A blocking write done without blocking (RWF_NOWAIT, MSG_DONTWAIT: sched_write_nowait)
 * had result r (bytes or -errno) for n bytes.  All of them, or an error: the call's result
 * (with what earlier rounds sent).  Else the thread parks until host fd h is writable and
 * re-executes the call for the rest, its buffer and length (arguments 1 and 2) advanced:
 * SYS_RESUMED.  As Linux, a signal that ends the wait returns the bytes sent so far. */
long sched_write_progress(struct proc *p, int h, long r, size_t n);
/* The same for sendfile: only its count (argument 3) is advanced (the offset moved in
 * guest memory or the file position already). */
long sched_sendfile_progress(struct proc *p, int h, long r, size_t n);

/* A signal was made pending for t: if t is parked and takes it, end its wait (EINTR or
 * restart, per its call's row and the handler's SA_RESTART). */
void sched_signal_wake(struct proc *p, struct thread *t);

/* Wakes up to n threads waiting on futex word `addr` whose bitset meets `bitset`. */
int sched_futex_wake(struct proc *p, uint64_t addr, uint32_t bitset, int n);
/* Moves up to n waiters from addr to addr2 (FUTEX_REQUEUE). */
int sched_futex_requeue(struct proc *p, uint64_t addr, uint64_t addr2, int n);

/* A preemption tick (VM_EXIT_TICK): switch to another runnable thread, if any. */
void sched_tick(struct proc *p);
/* Arm the preemption tick when the process has more than one thread (per host thread). */
void sched_start_ticks(struct proc *p);

/* Whether another thread exists that is not dead. */
bool sched_others_alive(const struct proc *p);

/* The calling thread exits (exit(2)); the process ends with the last one. */
long sched_exit_thread(struct proc *p, int code);

/* CPU-time clocks (cpuclock.c).  A run on the calling host thread begins and ends
 * (proc_run); the vCPU switches to thread next (before p->thr.cur changes). */
void cpuclock_run_begin(struct proc *p);
void cpuclock_run_end(struct proc *p);
/* The run goes on as a new one (a request begun under the guest: cpu_ns is the
 * template's again); any thread may call it. */
void cpuclock_run_restart(struct proc *p);
void cpuclock_switch(struct proc *p, struct thread *next);
/* The process's CPU time in ns; any host thread may ask while the vCPU thread runs. */
uint64_t cpuclock_process_ns(const struct proc *p);
/* A CPU clock's reading (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, an id from
 * clock_getcpuclockid/pthread_getcpuclockid): 0, or -EINVAL for a clock of no guest
 * process or thread.  cpuclock_is_cpu: whether clock is one of those kinds. */
int cpuclock_read(const struct proc *p, clockid_t clock, uint64_t *ns);
bool cpuclock_is_cpu(clockid_t clock);

#endif
