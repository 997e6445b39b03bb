/* listener_server.c PORT FLAGFILE: requests that try to change the listening socket every
 * request VM shares (tests/vm/isolation-tests, listener[...]).  An epoll server
 * (tests/servers/http.h) whose listener is non-blocking; each path answers one line:
 *   /shutdown     shutdown(listener, SHUT_RDWR), then accept on it: "shutdown=R accept=ERRNO"
 *   /blocking     clears O_NONBLOCK on the listener: "nonblock=N" (as F_GETFL then says)
 *   /nonblock     "nonblock=N": whether the listener is non-blocking now
 *   /setrcvbuf    setsockopt(listener, SO_RCVBUF, 4096): "set=R errno=E"
 *   /rcvbuf       "rcvbuf=N": the listener's SO_RCVBUF
 *   /backlog      listen(listener, 1) again: "listen=R"
 *   /disconnect   connect(listener, AF_UNSPEC), which stops it listening: "connect=R listening=N"
 *   anything else "hello"
 * And before it accepts a connection it looks for FLAGFILE: while that exists, it aborts
 * there, so a request VM cannot take any connection (a VM that makes no progress). */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include <sys/stat.h>

static int lfd = -1;
static const char *flagfile;

static int nonblocking(void)
{
	return (fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0;
}

static int app(const char *path, char *body, size_t cap)
{
	if (strcmp(path, "/shutdown") == 0) {
		int r = shutdown(lfd, SHUT_RDWR);
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		snprintf(body, cap, "shutdown=%d accept=%s\n", r, fd >= 0 ? "ok" : strerrorname_np(errno));
	} else if (strcmp(path, "/blocking") == 0) {
		fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK);
		snprintf(body, cap, "nonblock=%d\n", nonblocking());
	} else if (strcmp(path, "/nonblock") == 0) {
		snprintf(body, cap, "nonblock=%d\n", nonblocking());
	} else if (strcmp(path, "/setrcvbuf") == 0) {
		int v = 4096;
		errno = 0;
		int r = setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
		snprintf(body, cap, "set=%d errno=%s\n", r, r ? strerrorname_np(errno) : "0");
	} else if (strcmp(path, "/rcvbuf") == 0) {
		int v = 0;
		socklen_t len = sizeof v;
		getsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &v, &len);
		snprintf(body, cap, "rcvbuf=%d\n", v);
	} else if (strcmp(path, "/disconnect") == 0) {
		struct sockaddr sa = {.sa_family = AF_UNSPEC};
		int r = connect(lfd, &sa, sizeof(sa)), on = 0;
		socklen_t len = sizeof(on);
		getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len);
		snprintf(body, cap, "connect=%d listening=%d\n", r, on);
	} else if (strcmp(path, "/backlog") == 0) {
		snprintf(body, cap, "listen=%d\n", listen(lfd, 1));
	} else {
		snprintf(body, cap, "hello\n");
	}
	return 200;
}

/* While FLAGFILE exists, abort before accepting: a request VM that cannot progress. */
static void abort_if_flagged(void)
{
	struct stat st;
	if (stat(flagfile, &st) == 0)
		abort();
}

int main(int argc, char **argv)
{
	int port = port_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: listener_server PORT FLAGFILE\n");
		return 2;
	}
	flagfile = argv[2];
	lfd = listen_on(port, 1);
	serve_epoll_fd(lfd, abort_if_flagged);
}
