/* schedpolicy.c - the scheduling-policy calls: affinity, policy and priority ranges, as
 * one vCPU running SCHED_OTHER threads has them.  Real-time policies are refused as for an
 * unprivileged process (EPERM): guest threads are scheduled cooperatively (sched.h), so a
 * priority could not be honoured. */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "sys/processes/process.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

/* Whether pid names this process or one of its threads (0: the caller). */
static bool own_pid(struct proc *p, int pid)
{
	if (pid == 0 || pid == p->id.pid)
		return true;
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i]->tid == pid && p->thr.threads[i]->state != T_DEAD)
			return true;
	return false;
}

/* Who pid is to the scheduling calls: the caller's own process (OWN), another guest
 * process (GUEST: every guest thread is a SCHED_OTHER thread on CPU 0 as well), the parent
 * the guest is shown (getppid's 1, when it has no guest parent: PARENT, which may be read
 * but not changed), or nobody (-ESRCH, also for a negative pid). */
enum { OWN, GUEST, PARENT };
static int pid_kind(struct proc *p, int pid)
{
	if (pid < 0)
		return -ESRCH;
	if (own_pid(p, pid))
		return OWN;
	if (process_kill(p, pid, 0) == 0)
		return GUEST;
	return pid == process_ppid(p) || pid == PROC_GUEST_PPID ? PARENT : -ESRCH;
}

/* Every process and thread the guest can see runs on CPU 0: the mask has that bit.  A
 * thread's tid counts (pthread_getattr_np asks for the calling thread's affinity). */
long sys_sched_getaffinity(struct proc *p, const struct sys_args *a)
{
	uint64_t len = a->a[1];
	if (len < sizeof(uint64_t) || (len & (sizeof(uint64_t) - 1)))
		return -EINVAL;
	int kind = pid_kind(p, (int)a->a[0]);
	if (kind < 0)
		return kind;
	uint64_t mask = 1;
	int err = copy_to_guest(p, a->a[2], &mask, sizeof(mask));
	return err ? err : (long)sizeof(mask);
}

/* One vCPU: CPU 0 is the only one to be had.  As Linux, a mask is cut down to the CPUs
 * there are, and one with none of them left is EINVAL. */
long sys_sched_setaffinity(struct proc *p, const struct sys_args *a)
{
	int kind = pid_kind(p, (int)a->a[0]);
	if (kind < 0)
		return kind;
	uint8_t first = 0;
	if (a->a[1]) {
		int err = copy_from_guest(p, &first, a->a[2], 1);
		if (err)
			return err;
	}
	if (kind == PARENT)
		return -EPERM;
	return (first & 1) ? 0 : -EINVAL;
}

long sys_getcpu(struct proc *p, const struct sys_args *a)
{
	unsigned zero = 0;
	for (int i = 0; i < 2; i++)
		if (a->a[i]) {
			int err = copy_to_guest(p, a->a[i], &zero, sizeof(zero));
			if (err)
				return err;
		}
	return 0;
}

long sys_sched_getscheduler(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] < 0)
		return -EINVAL;
	int kind = pid_kind(p, (int)a->a[0]);
	return kind < 0 ? kind : SCHED_OTHER;
}

long sys_sched_getparam(struct proc *p, const struct sys_args *a)
{
	int zero = 0;
	if ((int)a->a[0] < 0 || !a->a[1])
		return -EINVAL;
	int kind = pid_kind(p, (int)a->a[0]);
	return kind < 0 ? kind : copy_to_guest(p, a->a[1], &zero, sizeof(zero));
}

/* The priority range of each policy, as Linux answers sched_get_priority_min/max. */
static int priority_range(int policy, int *lo, int *hi)
{
	switch (policy) {
	case SCHED_OTHER:
	case SCHED_BATCH:
	case SCHED_IDLE: *lo = *hi = 0; return 0;
	case SCHED_FIFO:
	case SCHED_RR: *lo = 1, *hi = 99; return 0;
	default: return -EINVAL;
	}
}

long sys_sched_get_priority_max(struct proc *p, const struct sys_args *a)
{
	int lo, hi;
	return priority_range((int)a->a[0], &lo, &hi) ?: hi;
}

long sys_sched_get_priority_min(struct proc *p, const struct sys_args *a)
{
	int lo, hi;
	return priority_range((int)a->a[0], &lo, &hi) ?: lo;
}

/* A policy and priority: the non-real-time ones with priority 0 are what every thread has
 * already; real-time ones are not to be had (EPERM, as unprivileged). */
static long set_policy(struct proc *p, int pid, int policy, uint64_t uparam)
{
	int prio, lo, hi;
	if (pid < 0 || !uparam)
		return -EINVAL;
	int err = copy_from_guest(p, &prio, uparam, sizeof(prio));
	if (err)
		return err;
	int kind = pid_kind(p, pid);
	if (kind < 0)
		return kind;
	policy &= ~SCHED_RESET_ON_FORK;
	if (priority_range(policy, &lo, &hi) || prio < lo || prio > hi)
		return -EINVAL;
	if (kind == PARENT)
		return -EPERM;
	return policy == SCHED_FIFO || policy == SCHED_RR ? -EPERM : 0;
}

long sys_sched_setscheduler(struct proc *p, const struct sys_args *a)
{
	return set_policy(p, (int)a->a[0], (int)a->a[1], a->a[2]);
}

long sys_sched_setparam(struct proc *p, const struct sys_args *a)
{
	return set_policy(p, (int)a->a[0], SCHED_OTHER, a->a[1]);
}

/* SCHED_OTHER threads have no fixed round-robin slice; the preemption tick (sched.c) is
 * what a thread that never blocks gets. */
long sys_sched_rr_get_interval(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] < 0)
		return -EINVAL;
	int kind = pid_kind(p, (int)a->a[0]);
	if (kind < 0)
		return kind;
	struct timespec ts = {0, 10 * 1000 * 1000};
	return copy_to_guest(p, a->a[1], &ts, sizeof(ts));
}
