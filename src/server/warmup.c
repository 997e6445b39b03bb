/* warmup.c - --warmup N: before the template is frozen, kvmserver itself sends N small
 * HTTP/1.1 requests (Connection: close) and lets the main VM serve them, so a JIT is warm
 * in every request VM.  It all happens on this thread: each time the program stops at a
 * wait for connections, the client side is drained without blocking; the request is done
 * when the program has closed the connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server.h"
#include "util/log.h"

static const char request[] = "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kvmserver-warmup\r\n"
                              "Connection: close\r\n\r\n";

/* Connect to the listener (a wildcard address means this machine's loopback). */
static int connect_listener(struct proc *p)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (proc_listener_addr(p, &ss, &len))
		return -1;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
	int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -1;
	/* Loopback connects complete in the kernel's backlog, before the guest accepts. */
	if (connect(c, (struct sockaddr *)&ss, len) < 0 || write(c, request, sizeof(request) - 1) < 0) {
		close(c);
		return -1;
	}
	fcntl(c, F_SETFL, O_NONBLOCK);
	return c;
}

/* Read what the program sent; true once it closed the connection. */
static bool drained(int c)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
	}
}

int warmup_run(const struct config *cfg, struct proc *p, uint64_t deadline_ns)
{
	for (int i = 0; i < cfg->warmup; i++) {
		int c = connect_listener(p);
		if (c < 0) {
			log_msg("warm-up: cannot connect to the program's listener: %s", strerror(errno));
			return -1;
		}
		bool done = false;
		while (!done) {
			proc_continue_wait(p);
			enum proc_end end = proc_run(p, deadline_ns);
			if (end != PROC_LISTENING) {
				log_msg("warm-up: the program stopped serving during warm-up request %d (%s)", i + 1,
				        end == PROC_TIMEOUT  ? "--max-boot-time passed"
				        : end == PROC_EXITED ? "it exited"
				                             : "it crashed");
				close(c);
				return -1;
			}
			done = drained(c);
		}
		close(c);
	}
	return 0;
}
