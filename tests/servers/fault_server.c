/* tests/servers/fault_server.c PORT: epoll HTTP server for the soak (tests/vm/soak-tests):
 * GET /crash writes through a null pointer (SIGSEGV), GET /loop spins forever with no
 * system calls, anything else gets `hello <counter>`. */
#include "http.h"

static int app(const char *path, char *body, size_t cap)
{
    if (strcmp(path, "/crash") == 0) {
        volatile int *volatile p = NULL;
        *p = 42;
    }
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
