/* time.c - clocks and sleeps, answered by the host's clocks. */
#include <errno.h>
#include <sys/time.h>
#include <time.h>

#include "sys/syscalls.h"
#include "sys/threads/sched.h"
#include "sys/uaccess.h"

struct timespec ts_add_ns(struct timespec t, int64_t ns)
{
	int64_t v = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec + ns;
	if (v < 0)
		v = 0;
	return (struct timespec){.tv_sec = v / 1000000000LL, .tv_nsec = v % 1000000000LL};
}

long sys_clock_gettime(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	clockid_t clock = (clockid_t)a->a[0];
	if (cpuclock_is_cpu(clock)) {
		/* The guest's own CPU time, not the host thread's that answers (cpuclock.c). */
		uint64_t ns;
		int err = cpuclock_read(p, clock, &ns);
		if (err)
			return err;
		ts = ts_add_ns((struct timespec){0, 0}, (int64_t)ns);
		return copy_to_guest(p, a->a[1], &ts, sizeof(ts));
	}
	if (clock_gettime(clock, &ts) < 0)
		return -errno;
	if (clock_restarts_in_fork((int)a->a[0]))
		ts = ts_add_ns(ts, -p->srv.mono_offset_ns);
	return copy_to_guest(p, a->a[1], &ts, sizeof(ts));
}

long sys_clock_getres(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	clockid_t clock = (clockid_t)a->a[0];
	uint64_t ns;
	/* A CPU clock of a guest process or thread: the host's CPU clocks' resolution. */
	if (cpuclock_is_cpu(clock) && cpuclock_read(p, clock, &ns))
		return -EINVAL;
	if (clock_getres(cpuclock_is_cpu(clock) ? CLOCK_THREAD_CPUTIME_ID : clock, &ts) < 0)
		return -errno;
	return a->a[1] ? copy_to_guest(p, a->a[1], &ts, sizeof(ts)) : 0;
}

long sys_gettimeofday(struct proc *p, const struct sys_args *a)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (a->a[0]) {
		int err = copy_to_guest(p, a->a[0], &tv, sizeof(tv));
		if (err)
			return err;
	}
	if (a->a[1]) {
		struct timezone tz = {0, 0};
		return copy_to_guest(p, a->a[1], &tz, sizeof(tz));
	}
	return 0;
}

long sys_time(struct proc *p, const struct sys_args *a)
{
	time_t t = time(NULL);
	if (a->a[0]) {
		int err = copy_to_guest(p, a->a[0], &t, sizeof(t));
		if (err)
			return err;
	}
	return (long)t;
}

static long sleep_common(struct proc *p, clockid_t clock, int flags, uint64_t ureq, uint64_t urem)
{
	struct timespec req, rem = {0, 0};
	int err = copy_from_guest(p, &req, ureq, sizeof(req));
	if (err)
		return err;
	if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1000000000L)
		return -EINVAL;
	/* The host's CPU clocks are not the guest's (cpuclock.c); Linux refuses a thread's
	 * clock here, and a sleep on a process's is refused too (POSIX allows it). */
	if (cpuclock_is_cpu(clock))
		return -EINVAL;
	if ((flags & TIMER_ABSTIME) && clock_restarts_in_fork(clock))
		req = ts_add_ns(req, p->srv.mono_offset_ns);
	int r = clock_nanosleep(clock, flags, &req, &rem);
	/* Interrupted (the deadline signal): report the remainder as Linux does. */
	if (r == EINTR && urem && !(flags & TIMER_ABSTIME))
		copy_to_guest(p, urem, &rem, sizeof(rem));
	return -r;
}

long sys_nanosleep(struct proc *p, const struct sys_args *a)
{
	return sleep_common(p, CLOCK_MONOTONIC, 0, a->a[0], a->a[1]);
}

long sys_clock_nanosleep(struct proc *p, const struct sys_args *a)
{
	return sleep_common(p, (clockid_t)a->a[0], (int)a->a[1], a->a[2], a->a[3]);
}

/* The host's clocks are not the guest's to set: CLOCK_REALTIME (the one settable clock)
 * answers EPERM as for a process without CAP_SYS_TIME; the others EINVAL, as Linux. */
long sys_clock_settime(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	int err = copy_from_guest(p, &ts, a->a[1], sizeof(ts));
	if (err)
		return err;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
		return -EINVAL;
	return a->a[0] == CLOCK_REALTIME ? -EPERM : -EINVAL;
}

long sys_settimeofday(struct proc *p, const struct sys_args *a)
{
	return a->a[0] ? -EPERM : 0; /* only a time zone: ignored by Linux too */
}
