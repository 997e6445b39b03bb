/* tests/servers/warmup_server.c PORT: epoll HTTP server that records the requests it
 * gets (tests/vm/warmup-tests).  GET /report answers `total N` and then one line per
 * request (the first 40): `METHOD PATH ct=<Content-Type> conn=<Connection> body=<body>`;
 * GET /missing is a 404; everything else `ok`. */
#include "http.h"

static unsigned long total;
static char log_buf[3800];
static size_t log_len;
static int logged;

/* The value of header `name` (with its ':'), or "-". */
static void header(const char *name, char *out, size_t cap)
{
    const char *h = strcasestr(cur_head, name);
    snprintf(out, cap, "-");
    if (h) {
        h += strlen(name);
        while (*h == ' ')
            h++;
        snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
    }
}

static int app(const char *path, char *body, size_t cap)
{
    if (strcmp(path, "/report") == 0) {
        snprintf(body, cap, "total %lu\n%.*s", total, (int)log_len, log_buf);
        return 200;
    }
    total++;
    if (logged < 40) {
        char method[16] = "", ct[128], conn[64];
        sscanf(cur_head, "%15s", method);
        header("\r\nContent-Type:", ct, sizeof ct);
        header("\r\nConnection:", conn, sizeof conn);
        int n = snprintf(log_buf + log_len, sizeof log_buf - log_len, "%s %s ct=%s conn=%s body=%.*s\n", method,
                         path, ct, conn, (int)(cur_body_len > 200 ? 200 : cur_body_len), cur_body);
        if (n > 0 && (size_t)n < sizeof log_buf - log_len) {
            log_len += (size_t)n;
            logged++;
        }
    }
    if (strcmp(path, "/missing") == 0) {
        snprintf(body, cap, "no\n");
        return 404;
    }
    snprintf(body, cap, "ok\n");
    return 200;
}

int main(int argc, char **argv)
{
    serve_epoll(port_arg(argc, argv));
}
