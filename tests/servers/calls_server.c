/* tests/servers/calls_server.c PORT: epoll HTTP server whose request for /N makes N
 * getppid calls (each one the ring thread runs, or a trap) before it answers "calls=N":
 * two requests for /20000 at once keep two request VMs calling for a while, for the
 * spinner-slot check of tests/vm/server-tests (ring[slots]). */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include <sys/syscall.h>

static int app(const char *path, char *body, size_t cap)
{
	long calls = atol(path + (*path == '/')), n = 0;
	for (long i = 0; i < calls; i++)
		n += syscall(SYS_getppid) > 0;
	snprintf(body, cap, "calls=%ld\n", n);
	return 200;
}

int main(int argc, char **argv)
{
	serve_epoll(port_arg(argc, argv));
}
