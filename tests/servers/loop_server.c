/* tests/servers/loop_server.c PORT: epoll HTTP server; GET /loop spins forever
 * (no system calls), anything else gets `hello <counter>`. */
#include "http.h"

static int app(const char *path, char *body, size_t cap)
{
    if (strcmp(path, "/loop") == 0) {
        volatile unsigned long spin = 0;
        for (;;)
            spin++;
    }
    return hello_app(body, cap);
}

int main(int argc, char **argv)
{
    serve_epoll(port_arg(argc, argv));
}
