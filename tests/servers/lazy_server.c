/* tests/servers/lazy_server.c PORT DIR: epoll HTTP server that waits 1 s between seeing
 * its listener readable and accepting, so under kvmserver --ephemeral a second request VM
 * can wake for the same connection and lose it (tests/vm/lifecycle-tests, drain-race).
 * GET /slow creates DIR/started and answers once DIR/go exists (as drain_server.c);
 * anything else gets `hello <counter>`. */
#include <fcntl.h>
#include <time.h>

#include "http.h"

static const char *dir;

static int app(const char *path, char *body, size_t cap)
{
    if (strcmp(path, "/slow") != 0)
        return hello_app(body, cap);
    char f[512];
    snprintf(f, sizeof f, "%s/started", dir);
    int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    snprintf(f, sizeof f, "%s/go", dir);
    for (int i = 0; i < 12000 && access(f, F_OK) != 0; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    snprintf(body, cap, "slow done\n");
    return 200;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT DIR\n", argv[0]);
        return 2;
    }
    dir = argv[2];
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port_arg(argc, argv), 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll");
    for (;;) {
        struct epoll_event evs[16];
        int n = epoll_wait(ep, evs, 16, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
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
