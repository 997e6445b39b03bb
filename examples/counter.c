/* counter.c - the bundled example server for `make demo`: an HTTP/1.1 server that keeps a
 * counter in memory and answers every request with its new value.  Run natively it counts
 * 1, 2, 3...; under `kvmserver --ephemeral` every connection sees the state frozen at
 * start-up, so each answers 1.
 *
 *   counter ADDR                  serve on ADDR: PORT (127.0.0.1), HOST:PORT or a unix
 *                                 socket path (anything with a '/')
 *   counter get ADDR N            N requests, one connection each; prints the answers
 *   counter bench ADDR N          N requests, one connection each; prints p50 and p99 in us
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static unsigned long counter;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* ADDR as a socket address. */
static socklen_t parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, '/')) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", addr);
		return sizeof(*un);
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	const char *colon = strrchr(addr, ':');
	char host[64] = "127.0.0.1";
	if (colon)
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	in->sin_port = htons((uint16_t)atoi(colon ? colon + 1 : addr));
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
		fprintf(stderr, "counter: bad address '%s' (PORT, HOST:PORT or /unix/path)\n", addr);
		exit(2);
	}
	return sizeof(*in);
}

struct conn {
	int fd;
	size_t len;
	char buf[4096];
};

/* Answer every complete request in the buffer; false when the connection should close. */
static bool serve_requests(struct conn *c)
{
	char *end;
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
		size_t used = (size_t)(end + 4 - c->buf);
		*end = 0;
		bool close_it = strcasestr(c->buf, "\r\nConnection: close") != NULL;
		char body[32], resp[256];
		int blen = snprintf(body, sizeof(body), "%lu\n", ++counter);
		int n = snprintf(resp, sizeof(resp),
		                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s", blen,
		                 close_it ? "Connection: close\r\n" : "", body);
		if (write(c->fd, resp, (size_t)n) != n || close_it)
			return false;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	return c->len < sizeof(c->buf) - 1;
}

static _Noreturn void serve(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, &ss);
	signal(SIGPIPE, SIG_IGN);
	int l = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (l < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 128) < 0)
		die(addr);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		die("epoll");
	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(ep, evs, 32, -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (!(c = calloc(1, sizeof(*c)))) {
						close(fd);
						continue;
					}
					c->fd = fd;
					struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r > 0)
				c->len += (size_t)r;
			if (r <= 0 || !serve_requests(c)) {
				close(c->fd); /* also leaves the epoll set */
				free(c);
			}
		}
	}
}

/* One request on a new connection: the answer's body into body; 0 or -1. */
static int get_once(const struct sockaddr_storage *ss, socklen_t len, char *body, size_t cap)
{
	int s = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (const struct sockaddr *)ss, len) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	char buf[4096];
	size_t have = 0;
	ssize_t r = write(s, req, sizeof(req) - 1);
	while (r > 0 && have < sizeof(buf) - 1 && (r = read(s, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)r;
	close(s);
	buf[have] = 0;
	char *b = strstr(buf, "\r\n\r\n");
	if (!b || strncmp(buf, "HTTP/1.1 200", 12) != 0)
		return -1;
	snprintf(body, cap, "%.*s", (int)strcspn(b + 4, "\n"), b + 4);
	return 0;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int client(bool bench, const char *addr, int n)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, &ss);
	double *t = calloc((size_t)n, sizeof(*t));
	char body[64];
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		if (get_once(&ss, len, body, sizeof(body))) {
			fprintf(stderr, "counter: request %d to %s failed\n", i + 1, addr);
			return 1;
		}
		t[i] = now_us() - t0;
		if (!bench)
			printf("%s%s", i ? ", " : "", body);
	}
	if (bench) {
		qsort(t, (size_t)n, sizeof(*t), cmp_double);
		printf("%.0f %.0f\n", t[n / 2], t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	} else {
		printf("\n");
	}
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2)
		serve(argv[1]);
	if (argc == 4 && (strcmp(argv[1], "get") == 0 || strcmp(argv[1], "bench") == 0) && atoi(argv[3]) > 0)
		return client(argv[1][0] == 'b', argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: counter ADDR | counter get ADDR N | counter bench ADDR N\n");
	return 2;
}
