/* tests/servers/alloc_server.c PORT [MB]: epoll HTTP server that mallocs MB
 * (default 10) megabytes per request, writes to every page and never frees
 * them.  Reply: `hello <counter> sum=<checksum>`; 500 if malloc fails. */
#include "http.h"

static size_t mb = 10;

static int app(const char *path, char *body, size_t cap)
{
    (void)path;
    size_t n = mb << 20;
    unsigned char *p = malloc(n);
    if (!p) {
        snprintf(body, cap, "malloc failed\n");
        return 500;
    }
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i += 4096) {
        p[i] = (unsigned char)(i >> 12);
        sum += p[i];
    }
    counter++;
    snprintf(body, cap, "hello %lu sum=%lu\n", counter, sum);
    return 200;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        mb = strtoul(argv[2], NULL, 10);
    serve_epoll(port_arg(argc, argv));
}
