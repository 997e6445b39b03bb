/* tests/servers/drain_server.c PORT DIR [--lazy]: epoll HTTP server for
 * tests/vm/lifecycle-tests.  GET /slow creates DIR/started, then waits (polling, at most
 * 120 s) until DIR/go exists and answers `slow done`, so a test knows a connection is in
 * flight for as long as it likes; anything else gets `hello <counter>`.  With --lazy it
 * waits 1 s between seeing its listener readable and accepting, so under kvmserver
 * --ephemeral a second request VM can wake for the same connection and lose it
 * (drain-race). */
#include <fcntl.h>
#include <stdbool.h>
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

static void wait_a_second(void)
{
    nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT DIR [--lazy]\n", argv[0]);
        return 2;
    }
    dir = argv[2];
    bool lazy = argc > 3 && strcmp(argv[3], "--lazy") == 0;
    serve_epoll_fd(listen_on(port_arg(argc, argv), 1), lazy ? wait_a_second : NULL);
}
