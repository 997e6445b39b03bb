/* tests/servers/fdleak_server.c PORT [FILE]: epoll HTTP server that opens FILE
 * (default /dev/null) on every request and never closes it.  The reply is
 * `hello <counter> fd=<fd>`; a failed open answers 500 `open failed: ...`.
 * Under `kvmserver --ephemeral` every request starts from the same state, so
 * the fd number must be the same every time and the fds must not pile up. */
#include "http.h"

static const char *file = "/dev/null";

static int app(const char *path, char *body, size_t cap)
{
    (void)path;
    int fd = open(file, O_RDONLY);
    if (fd < 0) {
        snprintf(body, cap, "open failed: %s\n", strerror(errno));
        return 500;
    }
    counter++;
    snprintf(body, cap, "hello %lu fd=%d\n", counter, fd);
    return 200;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        file = argv[2];
    serve_epoll(port_arg(argc, argv));
}
