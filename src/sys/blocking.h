/* blocking.h - what a blocking syscall waits on, as data in its table row (private to
 * src/sys).
 *
 * A row in src/sys/defs/<area>.def written BLOCKING(name, WAIT_...(...), types...) says
 * which of its arguments name the fds it waits on, how its timeout is given and whether
 * SA_RESTART restarts it after a signal handler (signal(7), "Interruption of system calls
 * and library functions by signal handlers").  One decoder, wait_decode(), reads that
 * row and the guest's arguments; the scheduler (sched.c: park the thread, wake it, end
 * it with EINTR) and server mode (template.c: is this the first wait for a connection?) both
 * use it, so a new blocking call is one table row, not a case in several switches.
 */
#ifndef SYS_BLOCKING_H
#define SYS_BLOCKING_H

#include <stdbool.h>
#include <stdint.h>

struct proc;
struct sys_args;
struct thread;

enum wait_how {
	WH_NONE, /* never blocks (every row without a WAIT_) */
	WH_FD, /* one fd (argument `fd`) for `events`; re-executed when it is ready */
	WH_ACCEPT, /* the same, waiting for a connection (what server mode freezes at) */
	WH_POLL, /* a struct pollfd array (argument `fd`) of `n` (argument n) */
	WH_SELECT, /* nfds (argument `fd`) and the three fd_sets in the next arguments */
	WH_EPOLL, /* an epoll fd: its host fd is readable when an event is ready */
	WH_SLEEP, /* no fd: completes at its deadline */
	WH_SELF, /* the handler parks the thread itself (futex, sigsuspend, pause) */
	WH_CHILD, /* wait4/waitid: the process table's wake fd while no child is ready (process.c) */
};

enum wait_timeout {
	TMO_NONE, /* waits until ready */
	TMO_MS, /* int milliseconds, negative: forever */
	TMO_TS, /* relative struct timespec pointer, NULL: forever */
	TMO_TS_LEFT, /* the same, and Linux writes the time left back (ppoll, pselect6) */
	TMO_TV_LEFT, /* struct timeval pointer, time left written back (select) */
	TMO_CLOCK, /* clock_nanosleep: clock in argument 0, flags (TIMER_ABSTIME) in 1 */
};

enum wait_mask {
	MASK_NONE,
	MASK_ARG, /* a sigset pointer in argument mask_arg, its size in the next (ppoll, epoll_pwait) */
	MASK_PSELECT, /* argument mask_arg points at {sigset pointer, size} (pselect6) */
};

enum wait_intr {
	R_RESTART, /* restarted after a handler with SA_RESTART, else EINTR */
	R_EINTR, /* always EINTR (poll, select, epoll_wait, sleeps, sigsuspend) */
};

struct sys_wait {
	uint8_t how; /* enum wait_how */
	uint8_t tmo; /* enum wait_timeout */
	uint8_t intr; /* enum wait_intr */
	int8_t fd, n; /* argument indexes, see enum wait_how */
	int8_t flags; /* WH_FD: argument whose MSG_DONTWAIT makes it non-blocking, -1 none */
	int8_t tmo_arg; /* the timeout's argument */
	int8_t rem_arg; /* WH_SLEEP: where the time left goes on EINTR, -1 none */
	uint8_t mask; /* enum wait_mask: the signal mask the thread waits with */
	int8_t mask_arg;
	short events; /* WH_FD, WH_ACCEPT: POLLIN or POLLOUT */
	bool sigpipe; /* EPIPE from this call raises SIGPIPE unless MSG_NOSIGNAL in `flags` */
};

/* The rows' constructors (see the .def files). */
#define WAIT_IN 0x001 /* POLLIN */
#define WAIT_OUT 0x004 /* POLLOUT */
#define WAIT_FD(fdarg, ev, flagsarg)                                                                                   \
	{                                                                                                              \
		.how = WH_FD, .fd = (fdarg), .events = (ev), .flags = (flagsarg), .intr = R_RESTART, .rem_arg = -1,    \
		.sigpipe = (ev) == WAIT_OUT                                                                            \
	}
#define WAIT_ACCEPT(fdarg)                                                                                             \
	{                                                                                                              \
		.how = WH_ACCEPT, .fd = (fdarg), .events = WAIT_IN, .flags = -1, .intr = R_RESTART, .rem_arg = -1      \
	}
/* The waits on several fds take the signal mask to wait with as (enum wait_mask, arg). */
#define WAIT_POLL(arr, narg, tmokind, targ, maskkind, maskarg)                                                         \
	{                                                                                                              \
		.how = WH_POLL, .fd = (arr), .n = (narg), .tmo = (tmokind), .tmo_arg = (targ), .mask = (maskkind),     \
		.mask_arg = (maskarg), .flags = -1, .intr = R_EINTR, .rem_arg = -1                                     \
	}
#define WAIT_SELECT(nfdsarg, tmokind, targ, maskkind, maskarg)                                                         \
	{                                                                                                              \
		.how = WH_SELECT, .fd = (nfdsarg), .tmo = (tmokind), .tmo_arg = (targ), .mask = (maskkind),            \
		.mask_arg = (maskarg), .flags = -1, .intr = R_EINTR, .rem_arg = -1                                     \
	}
#define WAIT_EPOLL(fdarg, tmokind, targ, maskkind, maskarg)                                                            \
	{                                                                                                              \
		.how = WH_EPOLL, .fd = (fdarg), .tmo = (tmokind), .tmo_arg = (targ), .mask = (maskkind),               \
		.mask_arg = (maskarg), .flags = -1, .intr = R_EINTR, .rem_arg = -1                                     \
	}
#define WAIT_SLEEP(tmokind, targ, remarg)                                                                              \
	{                                                                                                              \
		.how = WH_SLEEP, .tmo = (tmokind), .tmo_arg = (targ), .rem_arg = (remarg), .flags = -1,                \
		.intr = R_EINTR                                                                                        \
	}
#define WAIT_SELF(intrkind)                                                                                            \
	{                                                                                                              \
		.how = WH_SELF, .intr = (intrkind), .flags = -1, .rem_arg = -1                                         \
	}

#define WAIT_CHILD()                                                                                                   \
	{                                                                                                              \
		.how = WH_CHILD, .intr = R_RESTART, .flags = -1, .rem_arg = -1                                         \
	}
#define WAIT_MAX_FDS 256

/* One decoded wait: host fds to poll and the timeout. */
struct wait_req {
	const struct sys_wait *w;
	int64_t timeout_ns; /* relative; -1: none */
	bool has_mask;
	uint64_t mask; /* the mask to wait with, if has_mask */
	int n;
	int guest_fd[WAIT_MAX_FDS]; /* for server mode's "is it a listener?" */
	int host_fd[WAIT_MAX_FDS];
	short events[WAIT_MAX_FDS];
};

/* The row of syscall nr (a WH_NONE row for any call that does not block). */
const struct sys_wait *wait_row(uint64_t nr);

/* Would call `a` wait?  true with *out filled: its fds (not yet polled) and timeout.
 * false when it cannot block (a non-blocking fd, MSG_DONTWAIT, WH_NONE, WH_SELF) or when
 * the arguments are bad: the call then runs as is and reports its own error. */
bool wait_decode(struct proc *p, const struct sys_args *a, struct wait_req *out);

/* The arguments of the call thread t is parked in (from its saved registers). */
void wait_args_of(const struct thread *t, struct sys_args *a);

/* t's parked call timed out: write what Linux leaves (poll's revents and select's sets
 * cleared, a zero time left) and return its result (0; EAGAIN for an fd call past its
 * socket's SO_RCVTIMEO/SO_SNDTIMEO). */
long wait_timed_out(struct proc *p, const struct thread *t);
/* The same for call `a` (its nr too) of the running thread. */
long wait_timed_out_args(struct proc *p, const struct sys_args *a);

/* t's parked call ends with EINTR: write the time left where Linux does (select, ppoll,
 * pselect6, nanosleep's rem, clock_nanosleep's rem when relative). */
void wait_interrupted(struct proc *p, const struct thread *t, uint64_t now);

#endif
