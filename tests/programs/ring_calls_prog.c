/* tests/programs/ring_calls_prog.c N: makes N getppid calls (a call the ring thread runs,
 * from one site) and prints "N calls"; with --syscall-path=ring, for the ring thread's
 * starvation check in tests/vm/server-tests (ring_starved). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000, i;
	pid_t first = (pid_t)syscall(SYS_getppid);
	for (i = 0; i < n; i++)
		if ((pid_t)syscall(SYS_getppid) != first)
			break;
	printf("%ld calls\n", i);
	return i == n ? 0 : 1;
}
