/* futex.c - futex for a single-threaded guest: nobody else can change the word or wake
 * a waiter, so a wait either fails at once (value changed), times out, or sleeps forever
 * (until the execution deadline), exactly as Linux would behave for one thread. */
#include <errno.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

long sys_futex(struct proc *p, const struct sys_args *a)
{
	int op = (int)a->a[1] & FUTEX_CMD_MASK;
	uint32_t val = (uint32_t)a->a[2];
	switch (op) {
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		return 0; /* no waiters */
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET: {
		if (a->a[0] & 3)
			return -EINVAL;
		uint32_t cur;
		int err = copy_from_guest(p, &cur, a->a[0], sizeof(cur));
		if (err)
			return err;
		if (cur != val)
			return -EAGAIN;
		if (!a->a[3]) {
			pause(); /* returns when the deadline signal arrives */
			return -EINTR;
		}
		struct timespec ts;
		err = copy_from_guest(p, &ts, a->a[3], sizeof(ts));
		if (err)
			return err;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
			return -EINVAL;
		/* FUTEX_WAIT's timeout is relative; the BITSET variant's is absolute. */
		clockid_t clock = ((int)a->a[1] & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
		int flags = op == FUTEX_WAIT_BITSET ? TIMER_ABSTIME : 0;
		if (op == FUTEX_WAIT)
			clock = CLOCK_MONOTONIC;
		int r = clock_nanosleep(clock, flags, &ts, NULL);
		return r ? -r : -ETIMEDOUT;
	}
	default:
		return -ENOSYS;
	}
}
