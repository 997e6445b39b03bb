// clone through a rewritten site: glibc's syscall(2) is one shared `syscall`
// instruction, rewritten to `call *%rax` by the first call that goes through it
// (getppid here).  A later syscall(SYS_clone, ...) through it comes to the host from the
// ring trampoline, which must hand it over as a trap from the site itself (rip after
// the site, rsp without the call's return address): the child starts there, on the same
// stack, and returns 0.  Then pthreads (clone3 from glibc's own site, futexes) and a
// raw fork through the same site again.
// VARIANTS: static static-pie
// KVMSERVER_OPTS: --syscall-path=ring
// LDLIBS: -lpthread
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#define CHECK CHECK_ERRNO

static void *worker(void *arg)
{
	long *out = arg;
	long s = 0;
	for (int i = 0; i < 100; i++)
		s += syscall(SYS_getppid);
	*out = s;
	return NULL;
}

int main(void)
{
	long pp = getppid(), s = 0;
	for (int i = 0; i < 100; i++)
		s += syscall(SYS_getppid);
	CHECK(s == 100 * pp);
	for (int round = 0; round < 3; round++) {
		volatile int marker = 1234 + round; // on the stack the child must see as it was
		long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(marker == 1234 + round && syscall(SYS_getppid) > 0 ? 40 + round : 1);
		CHECK(pid > 0);
		int st = 0;
		CHECK(waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 40 + round);
	}
	pthread_t th[4];
	long out[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, worker, &out[i]) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(th[i], NULL) == 0 && out[i] == 100 * pp);
	printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
