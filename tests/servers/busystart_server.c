/* tests/servers/busystart_server.c PORT [US]: epoll HTTP server (`hello <counter>`) that
 * computes for US microseconds (default 400; clock_gettime, which is the vDSO's and makes
 * no system call) each time its listener is readable, before it accepts: an interpreter's
 * run from its wait to its first call after a reset, for the ring suite of
 * tests/vm/server-tests. */
#include <time.h>

#include "http.h"

static long busy_us = 400;

static int app(const char *path, char *body, size_t cap)
{
    (void)path;
    return hello_app(body, cap);
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void compute(void)
{
    long long end = now_us() + busy_us;
    while (now_us() < end) {
    }
}

int main(int argc, char **argv)
{
    if (argc > 2)
        busy_us = atol(argv[2]);
    serve_epoll_fd(listen_on(port_arg(argc, argv), 1), compute);
}
