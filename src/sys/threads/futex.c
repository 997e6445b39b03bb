/* futex.c - futex(2) over the cooperative scheduler: waiters park in sched.c's queues.
 * With a single thread nobody else can change the word or wake a waiter, so a wait either
 * fails at once (value changed), times out, or sleeps until the execution deadline -
 * exactly what Linux would do for one thread.
 *
 * A shared futex (no FUTEX_PRIVATE_FLAG) in MAP_SHARED memory may be woken by another
 * process (a fork(2) child, its parent: sem_post on a process-shared semaphore), whose
 * FUTEX_WAKE reaches only its own queues.  Such a wait is cut into slices of
 * SHARED_FUTEX_SLICE_NS that end in a spurious wakeup (0), which futex(2) allows and every
 * caller answers by reading the word again and waiting again: a cross-process wake is seen
 * within one slice.  See docs/design.md. */
#include <errno.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>

#include "sys/threads/sched.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

/* The absolute CLOCK_MONOTONIC deadline for a futex timeout, 0 for none; -EINVAL if bad.
 * FUTEX_WAIT's timeout is relative (monotonic); FUTEX_WAIT_BITSET's is absolute, on
 * CLOCK_REALTIME when FUTEX_CLOCK_REALTIME is set. */
static int64_t futex_deadline(struct proc *p, const struct sys_args *a, int op, struct timespec *ts)
{
	if (!a->a[3])
		return 0;
	if (copy_from_guest(p, ts, a->a[3], sizeof(*ts)))
		return -EFAULT;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return -EINVAL;
	/* Saturated far beyond any wait, so that a huge tv_sec cannot overflow. */
	int64_t ns = ts->tv_sec >= (INT64_MAX / 4) / 1000000000LL ? INT64_MAX / 4
	                                                          : (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
	uint64_t now = vm_now_ns();
	if (op == FUTEX_WAIT)
		return (int64_t)now + ns;
	if ((int)a->a[1] & FUTEX_CLOCK_REALTIME) {
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		ns -= (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec;
		return (int64_t)now + (ns > 0 ? ns : 1);
	}
	ns += p->srv.mono_offset_ns; /* the guest's monotonic clock restarted at the freeze */
	return ns > 0 ? ns : 1;
}

#define SHARED_FUTEX_SLICE_NS 2000000ULL

static long futex_wait(struct proc *p, const struct sys_args *a, int op)
{
	uint64_t addr = a->a[0];
	uint32_t val = (uint32_t)a->a[2];
	uint32_t bitset = op == FUTEX_WAIT_BITSET ? (uint32_t)a->a[5] : ~0u;
	if ((addr & 3) || bitset == 0)
		return -EINVAL;
	struct timespec ts;
	int64_t deadline = futex_deadline(p, a, op, &ts);
	if (deadline < 0)
		return deadline;
	uint32_t cur;
	int err = copy_from_guest(p, &cur, addr, sizeof(cur));
	if (err)
		return err;
	if (cur != val)
		return -EAGAIN;
	long timeout_result = -ETIMEDOUT;
	if (!((int)a->a[1] & FUTEX_PRIVATE_FLAG) && vm_shared_at(p->vm, addr)) {
		uint64_t slice = vm_now_ns() + SHARED_FUTEX_SLICE_NS;
		if (!deadline || (uint64_t)deadline > slice) {
			deadline = (int64_t)slice;
			timeout_result = 0; /* a spurious wakeup: the caller looks again */
		}
	}
	if (sched_can_park(p)) {
		struct thread *t = p->thr.cur;
		t->futex_addr = addr;
		t->futex_bitset = bitset;
		t->deadline_ns = (uint64_t)deadline;
		t->timeout_result = timeout_result;
		return sched_block_current(p, T_FUTEX, 0);
	}
	if (!deadline) {
		pause(); /* forever, or until the execution deadline's signal */
		return -EINTR;
	}
	uint64_t now = vm_now_ns();
	if ((uint64_t)deadline > now) {
		struct timespec d = {(time_t)(((uint64_t)deadline - now) / 1000000000ULL),
		                     (long)(((uint64_t)deadline - now) % 1000000000ULL)};
		if (nanosleep(&d, NULL) < 0)
			return -EINTR;
	}
	return timeout_result;
}

long sys_futex(struct proc *p, const struct sys_args *a)
{
	int op = (int)a->a[1] & FUTEX_CMD_MASK;
	int n = (int)a->a[2];
	switch (op) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET: return futex_wait(p, a, op);
	case FUTEX_WAKE: return n < 0 ? -EINVAL : sched_futex_wake(p, a->a[0], ~0u, n);
	case FUTEX_WAKE_BITSET:
		if ((uint32_t)a->a[5] == 0)
			return -EINVAL;
		return n < 0 ? -EINVAL : sched_futex_wake(p, a->a[0], (uint32_t)a->a[5], n);
	case FUTEX_CMP_REQUEUE: {
		uint32_t cur;
		int err = copy_from_guest(p, &cur, a->a[0], sizeof(cur));
		if (err)
			return err;
		if (cur != (uint32_t)a->a[5])
			return -EAGAIN;
	}
		/* fall through */
	case FUTEX_REQUEUE: {
		int n2 = (int)a->a[3]; /* val2 travels in the timeout slot */
		if (n < 0 || n2 < 0)
			return -EINVAL;
		int woken = sched_futex_wake(p, a->a[0], ~0u, n);
		return woken + sched_futex_requeue(p, a->a[0], a->a[4], n2);
	}
	default: return -ENOSYS;
	}
}
