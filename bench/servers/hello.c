/* hello.c - minimal HTTP/1.1 "Hello, World!" server for bench/run.
 *
 *   hello [--fork] PORT
 *
 * Default: one thread, non-blocking sockets, epoll; keep-alive unless the
 * request says "Connection: close" (then the reply says so and the server
 * closes the connection after writing it).  Pipelined requests are served
 * in order.
 *
 * --fork: the classic per-connection isolation; the parent blocks in
 * accept() and forks a child per connection, which serves that connection
 * (blocking I/O, same request handling) and exits.
 *
 * Listens on 127.0.0.1 only. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#define BODY "Hello, World!"
#define BUFSZ 16384

static const char resp_ka[] =
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" BODY;
static const char resp_close[] =
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n" BODY;

struct conn {
	int fd;
	size_t len;
	char buf[BUFSZ];
};

/* Handle every complete request in c->buf; returns 1 to keep the connection,
 * 0 to close it (after the reply was written), -1 on error. */
static int serve_buffered(struct conn *c)
{
	for (;;) {
		c->buf[c->len] = 0;
		char *end = strstr(c->buf, "\r\n\r\n");
		if (!end)
			return c->len < BUFSZ - 1 ? 1 : -1;
		size_t reqlen = (size_t)(end + 4 - c->buf);
		*end = 0;
		int close_it = 0;
		for (char *h = strstr(c->buf, "\r\n"); h; h = strstr(h + 2, "\r\n"))
			if (!strncasecmp(h + 2, "connection:", 11) && strcasestr(h + 13, "close"))
				close_it = 1;
		const char *r = close_it ? resp_close : resp_ka;
		size_t rl = close_it ? sizeof(resp_close) - 1 : sizeof(resp_ka) - 1;
		size_t off = 0;
		while (off < rl) {
			ssize_t n = write(c->fd, r + off, rl - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				/* tiny reply on an empty socket buffer: practically never */
				usleep(100);
				continue;
			}
			if (n <= 0)
				return -1;
			off += (size_t)n;
		}
		memmove(c->buf, c->buf + reqlen, c->len - reqlen);
		c->len -= reqlen;
		if (close_it)
			return 0;
	}
}

static int listen_on(int port, int nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1024)) {
		perror("bind/listen");
		exit(1);
	}
	return fd;
}

static void run_fork(int lfd)
{
	signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("accept");
			exit(1);
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			static struct conn c;
			c.fd = fd;
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			for (;;) {
				ssize_t n = read(fd, c.buf + c.len, BUFSZ - 1 - c.len);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				c.len += (size_t)n;
				if (serve_buffered(&c) <= 0)
					break;
			}
			_exit(0);
		}
		if (pid < 0)
			perror("fork");
		close(fd);
	}
}

static void run_epoll(int lfd)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("epoll");
		exit(1);
	}
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				for (;;) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
					if (fd < 0)
						break;
					int one = 1;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					struct conn *nc = malloc(sizeof(*nc));
					if (!nc) {
						close(fd);
						continue;
					}
					nc->fd = fd;
					nc->len = 0;
					struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e)) {
						close(fd);
						free(nc);
					}
				}
				continue;
			}
			int keep = 1;
			for (;;) {
				ssize_t r = read(c->fd, c->buf + c->len, BUFSZ - 1 - c->len);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && errno == EAGAIN)
					break;
				if (r <= 0) {
					keep = 0;
					break;
				}
				c->len += (size_t)r;
				if (serve_buffered(c) <= 0) {
					keep = 0;
					break;
				}
			}
			if (!keep) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				free(c);
			}
		}
	}
}

int main(int argc, char **argv)
{
	int fork_mode = 0, ai = 1;
	if (argc > 1 && !strcmp(argv[1], "--fork")) {
		fork_mode = 1;
		ai++;
	}
	if (ai >= argc) {
		fprintf(stderr, "usage: %s [--fork] PORT\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int lfd = listen_on(atoi(argv[ai]), !fork_mode);
	if (fork_mode)
		run_fork(lfd);
	else
		run_epoll(lfd);
	return 0;
}
