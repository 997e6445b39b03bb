/* wait_args.h - the arguments the waiting calls share (private to src/sys): poll, ppoll,
 * select, pselect6 (poll.c), epoll_wait and its p-variants (epoll.c) and recvmmsg (net.c)
 * take a guest timeout, some a guest sigmask too.  One reading of each, so that every call
 * refuses the same bad timeout or mask with the same error, as Linux does. */
#ifndef SYS_WAIT_ARGS_H
#define SYS_WAIT_ARGS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sys/uaccess.h"

#define GUEST_SIGSET_SIZE 8 /* the kernel's sigset_t */

static inline bool timespec_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* An optional struct timespec from the guest (uts 0: none, and *ts is left alone): copied
 * in, then validated.  0, -EFAULT or -EINVAL. */
static inline int timeout_from_guest(struct proc *p, uint64_t uts, struct timespec *ts)
{
	if (!uts)
		return 0;
	int err = copy_from_guest(p, ts, uts, sizeof(*ts));
	if (err)
		return err;
	return timespec_valid(ts) ? 0 : -EINVAL;
}

/* A timeout in milliseconds (poll, epoll_wait) as the timespec to wait with: *ts, or NULL
 * (forever) for a negative one. */
static inline struct timespec *timeout_from_ms(int ms, struct timespec *ts)
{
	*ts = (struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L};
	return ms < 0 ? NULL : ts;
}

/* The sigmask argument of ppoll, pselect6, epoll_pwait and epoll_pwait2: validated as Linux
 * does; the scheduler applies it while the thread is parked (blocking.c reads it). */
static inline int check_sigmask(struct proc *p, uint64_t umask, uint64_t size)
{
	if (!umask)
		return 0;
	if (size != GUEST_SIGSET_SIZE)
		return -EINVAL;
	uint64_t mask;
	return copy_from_guest(p, &mask, umask, sizeof(mask));
}

#endif
