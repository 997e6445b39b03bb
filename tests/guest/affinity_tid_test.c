// LDLIBS: -lpthread
/* affinity_tid_test.c - the affinity calls accept a thread's tid, not just the pid:
 * glibc's pthread_getattr_np asks for the calling thread's affinity (Rust's stacker, in
 * every Deno worker thread, asserts that it succeeds; it panicked with ESRCH). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (c)                                                                                                 \
			printf("ok   %s\n", #c);                                                                       \
		else {                                                                                                 \
			printf("FAIL %s (line %d)\n", #c, __LINE__);                                                   \
			failures++;                                                                                    \
		}                                                                                                      \
	} while (0)

/* The worker's results, checked by main after the join: printing from both threads would
 * make the order of the lines depend on which runs first. */
static int getattr_r = -1, get_r = -1, set_r = -1;

static void *worker(void *arg)
{
	(void)arg;
	pthread_attr_t attr;
	getattr_r = pthread_getattr_np(pthread_self(), &attr);
	if (getattr_r == 0)
		pthread_attr_destroy(&attr);
	cpu_set_t set;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	get_r = sched_getaffinity(tid, sizeof(set), &set);
	set_r = sched_setaffinity(tid, sizeof(set), &set);
	return NULL;
}

int main(void)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(getattr_r == 0); /* pthread_getattr_np in the thread */
	CHECK(get_r == 0);     /* sched_getaffinity(its tid) */
	CHECK(set_r == 0);     /* sched_setaffinity(its tid) */
	cpu_set_t set;
	CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
	printf("%d failures\n", failures);
	return failures != 0;
}
