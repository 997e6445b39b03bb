// LDLIBS: -lpthread
/* cpuclock_test.c - the CPU-time clocks are the guest's own: a thread's clock counts only
 * that thread's CPU (not its sleep, not another thread's spinning), the process's clock
 * counts every thread, clock_getcpuclockid/pthread_getcpuclockid ids read the same
 * clocks, and an id of no process is EINVAL.  (CPython's test_time.test_thread_time
 * failed under kvmserver: the clock read was the host thread's that answered the call.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

#define SPIN_NS 50000000LL /* the worker's CPU time before it stops spinning */

static long long now_ns(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t))
		return -1;
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int spun_pipe[2]; /* the spinner writes a byte when it has spun */
static atomic_int release;

static void *spinner(void *arg)
{
	(void)arg;
	long long s = now_ns(CLOCK_THREAD_CPUTIME_ID);
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) - s < SPIN_NS)
		;
	char one = 1;
	if (write(spun_pipe[1], &one, 1) != 1)
		return NULL;
	while (!atomic_load(&release))
		sched_yield();
	return NULL;
}

int main(void)
{
	/* A sleep uses no CPU. */
	long long t0 = now_ns(CLOCK_THREAD_CPUTIME_ID), p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	struct timespec ts = {0, 100000000};
	CHECK(nanosleep(&ts, NULL) == 0);
	long long t1 = now_ns(CLOCK_THREAD_CPUTIME_ID), p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(t0 >= 0 && p0 >= 0);
	CHECK(t1 - t0 < SPIN_NS / 2);
	CHECK(p1 - p0 < SPIN_NS / 2);

	/* Another thread spins for SPIN_NS of its own CPU time while this one waits. */
	pthread_t th;
	CHECK(pipe(spun_pipe) == 0);
	CHECK(pthread_create(&th, NULL, spinner, NULL) == 0);
	clockid_t tc;
	CHECK(pthread_getcpuclockid(th, &tc) == 0);
	char b;
	/* Blocked, using no CPU of its own however long the spinning takes on a busy machine. */
	CHECK(read(spun_pipe[0], &b, 1) == 1);
	long long other = now_ns(tc);
	long long t2 = now_ns(CLOCK_THREAD_CPUTIME_ID), p2 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(other >= SPIN_NS);
	CHECK(t2 - t1 < SPIN_NS / 2); /* this thread's clock did not count the spinning */
	CHECK(p2 - p1 >= SPIN_NS);    /* the process's did */
	atomic_store(&release, 1);
	CHECK(pthread_join(th, NULL) == 0);

	/* The process's clock by pid (0 and getpid()) is CLOCK_PROCESS_CPUTIME_ID. */
	clockid_t pc;
	CHECK(clock_getcpuclockid(0, &pc) == 0);
	long long by0 = now_ns(pc), byself = -1;
	CHECK(by0 >= p2);
	CHECK(clock_getcpuclockid(getpid(), &pc) == 0);
	CHECK((byself = now_ns(pc)) >= by0);
	CHECK(now_ns(CLOCK_PROCESS_CPUTIME_ID) >= byself);

	/* A clock of a process that is gone: EINVAL. */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	CHECK(child > 0 && waitpid(child, NULL, 0) == child);
	clockid_t gone = (clockid_t)(((unsigned)~child << 3) | 2); /* Linux's CPUCLOCK_SCHED id */
	struct timespec r;
	CHECK(clock_gettime(gone, &r) == -1 && errno == EINVAL);

	/* Sleeping on a thread's CPU clock is refused, as Linux does. */
	CHECK(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ts, NULL) == EINVAL);
	CHECK(clock_getres(CLOCK_THREAD_CPUTIME_ID, &r) == 0 && r.tv_sec == 0);

	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
