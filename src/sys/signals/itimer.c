/* itimer.c - the interval timers: ITIMER_REAL (and alarm) in guest monotonic time,
 * SIGALRM on expiry; ITIMER_VIRTUAL and ITIMER_PROF in the guest's CPU time, SIGVTALRM and
 * SIGPROF on expiry.
 *
 * The guest's CPU time is that of the host thread that runs its VM (one per guest process,
 * forkproc.c): the time it spends in KVM_RUN is the guest's user time (Linux accounts a
 * vCPU's guest time as its thread's user time), and the time it spends emulating the
 * guest's calls is what a kernel would spend on them.  So ITIMER_VIRTUAL counts the
 * thread's user time (guest code, plus the host's own user-mode emulation work) and
 * ITIMER_PROF its user and system time, as getrusage(RUSAGE_THREAD) reports them.
 *
 * Checking costs a getrusage, so it is not done on every exit: CPU time cannot advance
 * faster than the monotonic clock on one thread, so no CPU timer can expire before
 * `cpu_itimer_check_ns`, the monotonic time now plus the least CPU time left.  The
 * preemption tick (10 ms) brings a busy guest that makes no calls back to the check.
 * As Linux, a fork or vfork child starts with no CPU timers and an exec in place keeps
 * them (spawn.c leaves them in the struct proc). */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "sys/signals/signal.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

#define TICK_NS (10 * 1000 * 1000ULL)

bool itimer_fire(struct proc *p, uint64_t now)
{
	if (!p->sig.itimer_ns || now < p->sig.itimer_ns)
		return false;
	p->sig.itimer_ns = p->sig.itimer_interval_ns ? now + p->sig.itimer_interval_ns : 0;
	struct thread *t = signal_process_target(p, SIGALRM);
	t->alarm_pending = true;
	signal_send(p, t, SIGALRM);
	return true;
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL + (uint64_t)tv->tv_usec * 1000ULL;
}

static struct timeval ns_tv(uint64_t ns)
{
	return (struct timeval){.tv_sec = (time_t)(ns / 1000000000ULL),
	                        .tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000)};
}

/* The guest's CPU time for ITIMER_VIRTUAL (which 0) or ITIMER_PROF (which 1), in ns. */
static uint64_t cpu_now(int which)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return 0;
	return tv_ns(&ru.ru_utime) + (which ? tv_ns(&ru.ru_stime) : 0);
}

/* The next monotonic time at which an armed CPU timer could have expired (0: none). */
static void cpu_schedule(struct proc *p, uint64_t now)
{
	uint64_t least = 0;
	for (int w = 0; w < 2; w++) {
		uint64_t exp = p->sig.cpu_itimer[w].expiry_ns;
		if (!exp)
			continue;
		uint64_t c = cpu_now(w), left = exp > c ? exp - c : 0;
		if (!least || left < least)
			least = left ? left : 1;
	}
	p->sig.cpu_itimer_check_ns = least ? now + least : 0;
}

void itimer_cpu_fire(struct proc *p, uint64_t now)
{
	if (!p->sig.cpu_itimer_check_ns || now < p->sig.cpu_itimer_check_ns)
		return;
	static const int sigs[2] = {SIGVTALRM, SIGPROF};
	for (int w = 0; w < 2; w++) {
		uint64_t exp = p->sig.cpu_itimer[w].expiry_ns, iv = p->sig.cpu_itimer[w].interval_ns, c;
		if (!exp || (c = cpu_now(w)) < exp)
			continue;
		/* Re-armed from the expiry, as Linux does; a timer far behind starts afresh. */
		p->sig.cpu_itimer[w].expiry_ns = !iv ? 0 : exp + iv > c ? exp + iv : c + iv;
		signal_send(p, signal_process_target(p, sigs[w]), sigs[w]);
	}
	cpu_schedule(p, now);
}

static void itimer_get(struct proc *p, int which, struct itimerval *out)
{
	if (which == ITIMER_REAL) {
		uint64_t now = vm_now_ns(),
		         left = p->sig.itimer_ns > now ? p->sig.itimer_ns - now : (p->sig.itimer_ns ? 1000 : 0);
		out->it_value = ns_tv(left);
		out->it_interval = ns_tv(p->sig.itimer_interval_ns);
		return;
	}
	int w = which == ITIMER_PROF;
	uint64_t exp = p->sig.cpu_itimer[w].expiry_ns, c = exp ? cpu_now(w) : 0;
	/* Expired but not yet seen by the check: a moment left, as Linux shows one. */
	out->it_value = ns_tv(!exp ? 0 : exp > c ? exp - c : 1000);
	out->it_interval = ns_tv(p->sig.cpu_itimer[w].interval_ns);
}

long sys_setitimer(struct proc *p, const struct sys_args *a)
{
	int which = (int)a->a[0];
	if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	struct itimerval nv, old;
	itimer_get(p, which, &old);
	if (a->a[1]) {
		int err = copy_from_guest(p, &nv, a->a[1], sizeof(nv));
		if (err)
			return err;
		if (nv.it_value.tv_usec < 0 || nv.it_value.tv_usec >= 1000000 || nv.it_interval.tv_usec < 0 ||
		    nv.it_interval.tv_usec >= 1000000 || nv.it_value.tv_sec < 0 || nv.it_interval.tv_sec < 0)
			return -EINVAL;
		uint64_t value = tv_ns(&nv.it_value), now = vm_now_ns();
		if (which == ITIMER_REAL) {
			p->sig.itimer_ns = value ? now + value : 0;
			p->sig.itimer_interval_ns = tv_ns(&nv.it_interval);
		} else {
			int w = which == ITIMER_PROF;
			p->sig.cpu_itimer[w].expiry_ns = value ? cpu_now(w) + value : 0;
			p->sig.cpu_itimer[w].interval_ns = tv_ns(&nv.it_interval);
			cpu_schedule(p, now);
		}
		/* A busy guest makes no syscalls: the preemption tick gets the signal to it. */
		if (value)
			vm_set_tick(p->vm, TICK_NS);
	}
	return a->a[2] ? copy_to_guest(p, a->a[2], &old, sizeof(old)) : 0;
}

long sys_getitimer(struct proc *p, const struct sys_args *a)
{
	int which = (int)a->a[0];
	if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	struct itimerval cur;
	itimer_get(p, which, &cur);
	return copy_to_guest(p, a->a[1], &cur, sizeof(cur));
}

long sys_alarm(struct proc *p, const struct sys_args *a)
{
	struct itimerval old;
	itimer_get(p, ITIMER_REAL, &old);
	uint64_t secs = (uint32_t)a->a[0];
	p->sig.itimer_ns = secs ? vm_now_ns() + secs * 1000000000ULL : 0;
	p->sig.itimer_interval_ns = 0;
	if (p->sig.itimer_ns)
		vm_set_tick(p->vm, TICK_NS);
	/* Seconds left of the previous alarm, rounded up (alarm(2)). */
	return (long)old.it_value.tv_sec + (old.it_value.tv_usec ? 1 : 0);
}
