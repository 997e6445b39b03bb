// A timer signal arriving while the thread waits in the ring trampoline for the host's
// ring thread (docs/design.md, "The ring path"): the host must finish or take back the
// outstanding call before it delivers the signal, so the handler (which makes calls of
// its own through the same ring page) and the interrupted call each get their own
// result.  The main loop reads 64 KiB from /dev/zero through a rewritten site (the
// ring thread takes a while to copy it: the guest spins meanwhile) and checks every
// count and the bytes; the handler writes into a pipe and checks getppid.  Two threads
// (preemption ticks) run the same loop.
// VARIANTS: static static-pie
// KVMSERVER_OPTS: --syscall-path=ring
// LDLIBS: -lpthread
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include "check.h"
#define CHECK CHECK_ERRNO

#define BIG (64 * 1024)
static volatile sig_atomic_t alarms, handler_bad;
static long ppid;
static int pipefd[2];

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	if (syscall(SYS_getppid) != ppid)
		handler_bad++;
	char c = 'x';
	if (write(pipefd[1], &c, 1) != 1 || read(pipefd[0], &c, 1) != 1 || c != 'x')
		handler_bad++;
}

// The count must be what the call wrote: zeros up to it, the old bytes after (a signal
// may end a read of /dev/zero early; another call's result would not match).
static long loop(void)
{
	char *buf = malloc(BIG);
	int fd = open("/dev/zero", O_RDONLY);
	long bad = fd < 0 || !buf;
	for (int i = 0; i < 2000 && !bad; i++) {
		for (int k = 0; k < BIG; k += 509)
			buf[k] = 0x55;
		ssize_t n = syscall(SYS_read, fd, buf, BIG);
		if (n <= 0 || n > BIG)
			bad++;
		for (ssize_t k = 0; k < BIG && !bad; k += 509)
			if (buf[k] != (k < n ? 0 : 0x55))
				bad++;
		if (syscall(SYS_getppid) != ppid)
			bad++;
	}
	close(fd);
	free(buf);
	return bad;
}

static void *thread_main(void *arg)
{
	*(long *)arg = loop();
	return NULL;
}

int main(void)
{
	ppid = getppid();
	CHECK(pipe(pipefd) == 0);
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	struct itimerval it = {{0, 2000}, {0, 2000}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	CHECK(loop() == 0);
	pthread_t th;
	long other = -1;
	CHECK(pthread_create(&th, NULL, thread_main, &other) == 0);
	long mine = loop();
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(mine == 0 && other == 0);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(alarms > 0 && handler_bad == 0);
	printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
