/* tests/servers/drain_server.c PORT DIR: epoll HTTP server for tests/vm/lifecycle-tests.
 * GET /slow creates DIR/started, then waits (polling, at most 120 s) until DIR/go exists
 * and answers `slow done`, so a test knows a connection is in flight for as long as it
 * likes; anything else gets `hello <counter>`. */
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
    serve_epoll(port_arg(argc, argv));
}
