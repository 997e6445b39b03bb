/* tests/servers/poll_server.c PORT: HTTP/1.1 server (poll), answers every
 * request with `hello <counter>`, counter being a global incremented per request. */
#include "http.h"

static int app(const char *path, char *body, size_t cap)
{
    (void)path;
    return hello_app(body, cap);
}

int main(int argc, char **argv)
{
    serve_poll(port_arg(argc, argv));
}
