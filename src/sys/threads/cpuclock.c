/* cpuclock.c - the guest's CPU-time clocks: CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID and the clocks clock_getcpuclockid/pthread_getcpuclockid name.
 *
 * A guest process's CPU time is that of the host thread that runs its VM (itimer.c says
 * why): guest code, and the emulation of its calls.  It is read from that thread's clock,
 * not the caller's: on the ring path the call is answered by the ring thread, whose time
 * is mostly spinning, and a site answered once by a trap and then by the ring would read
 * two different clocks.  The run may move between host threads (a request VM reused by a
 * worker, a held process), so the time of runs that ended is kept in cpu_ns and only the
 * current run reads a host clock.  Guest threads share the vCPU; each is charged the
 * process time that passed while it was loaded (cpuclock_switch, at every switch).
 * Linux's three kinds of CPU clock (PROF, VIRT, SCHED) all read this one total: the host
 * thread's clock does not split user from system time. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "sys/processes/process.h"
#include "sys/syscalls.h"
#include "sys/threads/sched.h"

/* Linux's encoding of a CPU clock id (include/linux/posix-timers.h): ~pid << 3, bit 2
 * for a thread's clock, the low two bits the kind; kind 3 is a clock of an fd. */
#define CPUCLOCK_PERTHREAD 4
#define CPUCLOCK_KIND_MASK 3
#define CPUCLOCK_FD 3

static uint64_t host_clock_ns(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* now - since, 0 if a clock read failed (host_clock_ns's 0) or did not advance. */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

void cpuclock_run_begin(struct proc *p)
{
	if (pthread_getcpuclockid(pthread_self(), &p->thr.host_clock))
		p->thr.host_clock = CLOCK_THREAD_CPUTIME_ID;
	p->thr.host_since_ns = host_clock_ns(p->thr.host_clock);
	p->thr.cpu_running = true;
}

void cpuclock_run_restart(struct proc *p)
{
	if (p->thr.cpu_running)
		p->thr.host_since_ns = host_clock_ns(p->thr.host_clock);
}

void cpuclock_run_end(struct proc *p)
{
	p->thr.cpu_ns = cpuclock_process_ns(p);
	p->thr.cpu_running = false;
}

uint64_t cpuclock_process_ns(const struct proc *p)
{
	if (!p->thr.cpu_running)
		return p->thr.cpu_ns;
	return p->thr.cpu_ns + elapsed(host_clock_ns(p->thr.host_clock), p->thr.host_since_ns);
}

void cpuclock_switch(struct proc *p, struct thread *next)
{
	if (p->thr.cur == next)
		return; /* the same thread again: its share goes on */
	uint64_t now = cpuclock_process_ns(p);
	if (p->thr.cur)
		p->thr.cur->cpu_ns += elapsed(now, p->thr.cur_since_ns);
	p->thr.cur_since_ns = now;
}

static uint64_t thread_ns(const struct proc *p, const struct thread *t)
{
	if (t != p->thr.cur)
		return t->cpu_ns;
	return t->cpu_ns + elapsed(cpuclock_process_ns(p), p->thr.cur_since_ns);
}

static const struct thread *find_thread(const struct proc *p, int tid)
{
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i]->tid == tid && p->thr.threads[i]->state != T_DEAD)
			return p->thr.threads[i];
	return NULL;
}

int cpuclock_read(const struct proc *p, clockid_t clock, uint64_t *ns)
{
	if (clock == CLOCK_PROCESS_CPUTIME_ID) {
		*ns = cpuclock_process_ns(p);
		return 0;
	}
	if (clock == CLOCK_THREAD_CPUTIME_ID) {
		*ns = thread_ns(p, p->thr.cur);
		return 0;
	}
	if (clock >= 0 || (clock & CPUCLOCK_KIND_MASK) == CPUCLOCK_FD)
		return -EINVAL;
	int id = ~(clock >> 3); /* clock < 0: an arithmetic shift, as Linux decodes it */
	if (clock & CPUCLOCK_PERTHREAD) {
		/* A thread of this process (0: the caller); Linux answers another process's
		 * threads too, but only to those that share the thread group reading it does
		 * pthread_getcpuclockid hand such an id. */
		const struct thread *t = id ? find_thread(p, id) : p->thr.cur;
		if (!t)
			return -EINVAL;
		*ns = thread_ns(p, t);
		return 0;
	}
	if (id == 0 || id == p->id.pid) {
		*ns = cpuclock_process_ns(p);
		return 0;
	}
	/* Another guest process: the clock of the host thread that runs it. */
	clockid_t other;
	if (!process_cpu_clock(p, id, &other))
		return -EINVAL;
	*ns = host_clock_ns(other);
	return 0;
}

bool cpuclock_is_cpu(clockid_t clock)
{
	return clock < 0 || clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID;
}
