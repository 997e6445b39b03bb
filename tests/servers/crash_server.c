/* tests/servers/crash_server.c PORT: epoll HTTP server; GET /crash makes it
 * write through a null pointer (SIGSEGV), anything else gets `hello <counter>`. */
#include "http.h"

static int app(const char *path, char *body, size_t cap)
{
    if (strcmp(path, "/crash") == 0) {
        volatile int *volatile p = NULL;
        *p = 42;
    }
    return hello_app(body, cap);
}

int main(int argc, char **argv)
{
    serve_epoll(port_arg(argc, argv));
}
