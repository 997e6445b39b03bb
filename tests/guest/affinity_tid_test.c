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

static void *worker(void *arg)
{
	(void)arg;
	pthread_attr_t attr;
	CHECK(pthread_getattr_np(pthread_self(), &attr) == 0);
	pthread_attr_destroy(&attr);
	cpu_set_t set;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	CHECK(sched_getaffinity(tid, sizeof(set), &set) == 0);
	CHECK(sched_setaffinity(tid, sizeof(set), &set) == 0);
	return NULL;
}

int main(void)
{
	pthread_t t;
	CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	cpu_set_t set;
	CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
	printf("%d failures\n", failures);
	return failures != 0;
}
