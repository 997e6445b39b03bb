/* tests/programs/manyproc_prog.c N: forks N children that are all alive at once (each
 * waits for its parent's pipe to close), then reaps them; prints `forked N reaped N`,
 * or the first fork error.  cli-tests runs it under a low soft RLIMIT_NOFILE: kvmserver
 * holds every guest process's host fds and each VM's in one host process. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100, forked = 0, reaped = 0;
	int gate[2];
	if (pipe(gate) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		if (c == 0) {
			char b;
			close(gate[1]);
			_exit(read(gate[0], &b, 1) == 0 ? 0 : 1); /* EOF: the parent let go */
		}
		if (c < 0) {
			printf("fork %d of %d: %s\n", i + 1, n, strerror(errno));
			break;
		}
		forked++;
	}
	close(gate[1]);
	int st;
	while (wait(&st) > 0)
		reaped += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("forked %d reaped %d\n", forked, reaped);
	return forked == n && reaped == n ? 0 : 1;
}
