/* tests/servers/http.h - a minimal HTTP/1.1 server core shared by the C test
 * servers (tests/vm/server-tests, tests/vm/runtime-tests).
 *
 * Each server defines
 *     static int app(const char *path, char *body, size_t cap);
 * (cur_head and cur_body show it the whole request) which writes the response body for a request to `path` into body (at most
 * cap bytes, NUL-terminated) and returns the HTTP status code, then includes
 * this header and calls one of
 *     serve_epoll(port), serve_poll(port), serve_blocking(port)
 * from main.  All listen on 127.0.0.1:port.
 *
 * HTTP: requests end at an empty line (no request bodies are expected; a
 * Content-Length body is skipped), keep-alive is the default for HTTP/1.1,
 * `Connection: close` (or HTTP/1.0 without keep-alive) closes the connection
 * after the response; pipelined requests are answered in order.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

static int app(const char *path, char *body, size_t cap);

/* The request app() answers: its head (request line and headers, NUL-terminated at the
 * blank line) and its body, for the servers that look at more than the path. */
static const char *cur_head, *cur_body;
static size_t cur_body_len;

/* The global request counter that the plain servers report. */
static unsigned long counter;

#define CONN_BUF 8192

struct conn {
    int fd;
    size_t len;
    char buf[CONN_BUF];
};

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int listen_on(int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    if (listen(fd, 128) < 0)
        die("listen");
    return fd;
}

/* write everything, waiting for writability if the socket is non-blocking */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (poll(&pf, 1, 10000) <= 0)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* case-insensitive search for needle in [h, h+n) */
static const char *find_ci(const char *h, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

/* Answer every complete request in c->buf.  Returns 1 to keep the connection,
 * 0 to close it. */
static int conn_process(struct conn *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len < CONN_BUF; /* request too large: close */
        size_t hlen = (size_t)(end - c->buf) + 4;
        char path[512] = "/";
        char method[16] = "", version[16] = "";
        char first[600];
        char *eol = memchr(c->buf, '\r', hlen);
        size_t fl = (size_t)(eol - c->buf);
        if (fl >= sizeof first)
            fl = sizeof first - 1;
        memcpy(first, c->buf, fl);
        first[fl] = 0;
        if (sscanf(first, "%15s %511s %15s", method, path, version) < 2)
            return 0;
        int keep = strcmp(version, "HTTP/1.0") != 0;
        const char *h = eol;
        size_t hn = hlen - fl;
        const char *conn_hdr = find_ci(h, hn, "\r\nConnection:");
        if (conn_hdr) {
            const char *ve = memchr(conn_hdr + 2, '\r', hn - (size_t)(conn_hdr + 2 - h));
            size_t vn = ve ? (size_t)(ve - conn_hdr) : 0;
            if (find_ci(conn_hdr, vn, "close"))
                keep = 0;
            else if (find_ci(conn_hdr, vn, "keep-alive"))
                keep = 1;
        }
        size_t body_len = 0;
        const char *cl = find_ci(h, hn, "\r\nContent-Length:");
        if (cl)
            body_len = strtoul(cl + 17, NULL, 10);
        if (hlen + body_len > c->len) {
            if (hlen + body_len > CONN_BUF)
                return 0;
            return 1; /* wait for the body */
        }

        char body[4096];
        body[0] = 0;
        *end = 0;
        cur_head = c->buf;
        cur_body = end + 4;
        cur_body_len = body_len;
        int status = app(path, body, sizeof body);
        char resp[4096 + 256];
        size_t bl = strlen(body);
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n%s\r\n%s",
                         status, status == 200 ? "OK" : "Error", bl,
                         keep ? "" : "Connection: close\r\n", body);
        if (write_all(c->fd, resp, (size_t)n) < 0)
            return 0;
        memmove(c->buf, c->buf + hlen + body_len, c->len - hlen - body_len);
        c->len -= hlen + body_len;
        if (!keep)
            return 0;
    }
}

/* read what is there; returns 1 to keep the connection, 0 to close it */
static int conn_readable(struct conn *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, CONN_BUF - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 1;
        if (r <= 0)
            return 0;
        c->len += (size_t)r;
        if (!conn_process(c))
            return 0;
        if (c->len == CONN_BUF)
            return 0;
    }
}

static struct conn *conn_new(int fd)
{
    struct conn *c = malloc(sizeof *c);
    if (!c)
        die("malloc");
    c->fd = fd;
    c->len = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

static void conn_free(struct conn *c)
{
    close(c->fd);
    free(c);
}

/* the plain app: `hello <counter>` for every request */
__attribute__((unused)) static int hello_app(char *body, size_t cap)
{
    counter++;
    snprintf(body, cap, "hello %lu\n", counter);
    return 200;
}

/* serve_epoll on an already listening, non-blocking lfd.  before_accept, if set, runs each
 * time the listener is readable, before the connections are accepted (a test server's
 * hook: wait there, or abort). */
__attribute__((unused)) static void serve_epoll_fd(int lfd, void (*before_accept)(void))
{
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll_ctl");
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                if (before_accept)
                    before_accept();
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    c = conn_new(fd);
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0)
                        conn_free(c);
                }
                continue;
            }
            if (!conn_readable(c)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                conn_free(c);
            }
        }
    }
}

__attribute__((unused)) static void serve_epoll(int port)
{
    serve_epoll_fd(listen_on(port, 1), NULL);
}

#define MAX_POLL 256

__attribute__((unused)) static void serve_poll(int port)
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port, 1);
    struct pollfd pfd[MAX_POLL];
    struct conn *conns[MAX_POLL];
    int n = 1;
    pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    conns[0] = NULL;
    for (;;) {
        int r = poll(pfd, (nfds_t)n, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        for (int i = n - 1; i >= 1; i--) {
            if (!pfd[i].revents)
                continue;
            if (!conn_readable(conns[i])) {
                conn_free(conns[i]);
                pfd[i] = pfd[n - 1];
                conns[i] = conns[n - 1];
                n--;
            }
        }
        if (pfd[0].revents & POLLIN) {
            while (n < MAX_POLL) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                conns[n] = conn_new(fd);
                pfd[n] = (struct pollfd){.fd = fd, .events = POLLIN};
                n++;
            }
        }
    }
}

/* one connection at a time, blocking accept and blocking reads */
__attribute__((unused)) static void serve_blocking(int port)
{
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port, 0);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept");
        }
        struct conn *c = conn_new(fd);
        while (conn_readable(c))
            ;
        conn_free(c);
    }
}

static int port_arg(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        exit(2);
    }
    return atoi(argv[1]);
}
