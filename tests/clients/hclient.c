/* tests/clients/hclient.c - a small HTTP/1.1 load client for the server tests
 * (in C: inside the emulated machine a Python client takes ~15 s to start).
 *
 *   hclient PORT [--conns N] [--conc N] [--per-conn N] [--path P]
 *                [--expect ERE] [--keep-last] [--unique]
 *                [--timeout SECS] [--stall SECS] [--fault PATH:EVERY]...
 *
 * Opens --conns connections to 127.0.0.1:PORT (--conc of them at a time, one
 * thread each), sends --per-conn GET requests for --path on each (keep-alive;
 * the last one says `Connection: close` unless --keep-last), and checks every
 * response: status 200 and a body (less its final newline) that matches the
 * POSIX extended regular expression --expect as a whole (default
 * `hello [0-9]+`).  In ERE, `{i}` stands for the request's 1-based position on
 * its connection (`hello {i}`: an ephemeral VM starts every connection from
 * the same state) and `{n}` for a number taken from the first response that
 * must be the same in all the others (`hello 1 fd={n}`); `{n}` must then be
 * the pattern's only parenthesised group.
 *
 * --unique: all bodies must differ (one VM with a shared counter).
 * --fault PATH:EVERY (up to 4): one connection in EVERY (the k-th --fault at a
 * different offset) asks for PATH instead, once, and must end without any
 * answer (closed or reset: the guest crashed, or hung and was cut by
 * --max-request-time), and before --timeout.
 * --timeout: per socket operation (default 10 s); --stall: give up when no
 * request has been answered for this many seconds (default 120), counting what
 * is left as failures.  There is no limit on the whole run: a slow machine
 * makes it longer, only a server that stops answering makes it fail.
 *
 * Prints `ok=N failed=M conns=C secs=T`, then up to 5 failures; exits 0 only
 * when every request succeeded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, conns = 1, conc = 1, per_conn = 1, keep_last, unique;
static struct {
    const char *path;
    int every;
} faults[4];
static int nfaults_opt, nfault_conns, faults_ok;
static const char *path = "/", *expect = "hello [0-9]+";
static double op_timeout = 10, stall = 120;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_conn, ok, failed;
static char *failures[5];
static int nfailures;
static char *n_value; /* the {n} of the first response */
static char **bodies; /* --unique */
static size_t nbodies, capbodies;
static double t0, last_progress; /* under mu */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* no request answered (by any connection) for --stall seconds */
static int stalled(void)
{
    pthread_mutex_lock(&mu);
    int s = now() - last_progress > stall;
    pthread_mutex_unlock(&mu);
    return s;
}

static void fail(const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    failed++;
    if (nfailures < 5)
        failures[nfailures++] = strdup(buf);
    pthread_mutex_unlock(&mu);
}

/* the pattern for request i: {i} replaced, {n} a group or the value seen */
static char *pattern(int i, int *has_n)
{
    char *out = malloc(strlen(expect) * 2 + 64 + (n_value ? strlen(n_value) : 0) * 4);
    char *o = out;
    *has_n = 0;
    *o++ = '^';
    for (const char *p = expect; *p;) {
        if (strncmp(p, "{i}", 3) == 0) {
            o += sprintf(o, "%d", i);
            p += 3;
        } else if (strncmp(p, "{n}", 3) == 0) {
            pthread_mutex_lock(&mu);
            if (n_value)
                o += sprintf(o, "%s", n_value); /* digits: nothing to escape */
            else {
                o += sprintf(o, "([0-9]+)");
                *has_n = 1;
            }
            pthread_mutex_unlock(&mu);
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o++ = '$';
    *o = 0;
    return out;
}

struct reader {
    int fd;
    char buf[16384];
    size_t len, pos;
};

static int fill(struct reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == sizeof r->buf)
        return -1;
    ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
    if (n <= 0)
        return n == 0 ? 0 : -1;
    r->len += (size_t)n;
    return 1;
}

/* one line (without CRLF) into line; 1 ok, 0 EOF, -1 error */
static int read_line(struct reader *r, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->pos));
            size_t m = n;
            if (m > 0 && r->buf[r->pos + m - 1] == '\r')
                m--;
            if (m >= cap)
                m = cap - 1;
            memcpy(line, r->buf + r->pos, m);
            line[m] = 0;
            r->pos += n + 1;
            return 1;
        }
        int f = fill(r);
        if (f <= 0)
            return f;
    }
}

static int read_bytes(struct reader *r, char *out, size_t n, size_t cap, size_t *got)
{
    while (r->len - r->pos < n) {
        int f = fill(r);
        if (f <= 0)
            return -1;
    }
    size_t m = n < cap - *got - 1 ? n : cap - *got - 1;
    memcpy(out + *got, r->buf + r->pos, m);
    *got += m;
    out[*got] = 0;
    r->pos += n;
    return 0;
}

/* returns 0 and fills code/body/closed, or -1 with why */
static int read_response(struct reader *r, int *code, char *body, size_t cap, int *closed, const char **why)
{
    char line[1024];
    int rl = read_line(r, line, sizeof line);
    if (rl <= 0) {
        *why = rl == 0 ? "connection closed before a response" : strerror(errno);
        return -1;
    }
    if (strncmp(line, "HTTP/1.", 7) != 0 || sscanf(line + 8, " %d", code) != 1) {
        *why = "bad status line";
        return -1;
    }
    long length = -1;
    int chunked = 0;
    *closed = 0;
    for (;;) {
        rl = read_line(r, line, sizeof line);
        if (rl <= 0) {
            *why = "connection closed in the headers";
            return -1;
        }
        if (!line[0])
            break;
        if (strncasecmp(line, "content-length:", 15) == 0)
            length = strtol(line + 15, NULL, 10);
        else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strcasestr(line, "chunked"))
            chunked = 1;
        else if (strncasecmp(line, "connection:", 11) == 0 && strcasestr(line, "close"))
            *closed = 1;
    }
    size_t got = 0;
    body[0] = 0;
    if (chunked) {
        for (;;) {
            if (read_line(r, line, sizeof line) <= 0) {
                *why = "connection closed in a chunk";
                return -1;
            }
            long n = strtol(line, NULL, 16);
            if (n == 0) {
                while (read_line(r, line, sizeof line) > 0 && line[0])
                    ;
                break;
            }
            if (read_bytes(r, body, (size_t)n, cap, &got) < 0 || read_line(r, line, sizeof line) <= 0) {
                *why = "connection closed in a chunk";
                return -1;
            }
        }
    } else if (length >= 0) {
        if (read_bytes(r, body, (size_t)length, cap, &got) < 0) {
            *why = "short body";
            return -1;
        }
    } else {
        for (;;) { /* until EOF */
            int f = fill(r);
            if (f < 0) {
                *why = strerror(errno);
                return -1;
            }
            size_t m = r->len - r->pos;
            if (m > cap - got - 1)
                m = cap - got - 1;
            memcpy(body + got, r->buf + r->pos, m);
            got += m;
            body[got] = 0;
            r->pos = r->len;
            if (f == 0)
                break;
        }
        *closed = 1;
    }
    return 0;
}

/* the --fault that connection cid plays, or -1 */
static int fault_of(int cid)
{
    for (int k = 0; k < nfaults_opt; k++)
        if (cid % faults[k].every == (k * 37 + faults[k].every / 2) % faults[k].every)
            return k;
    return -1;
}

/* a fault connection: one request for the fault's path; no answer must come */
static void fault_conn(int cid, int fd, int k)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", faults[k].path, port);
    if (write(fd, req, (size_t)n) != n) {
        fail("conn %d (%s): write: %s", cid, faults[k].path, strerror(errno));
        return;
    }
    char buf[512];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        fail("conn %d (%s): got an answer: '%.60s'", cid, faults[k].path, buf);
        return;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        fail("conn %d (%s): still open after --timeout %gs (not cut)", cid, faults[k].path, op_timeout);
        return;
    }
    pthread_mutex_lock(&mu);
    faults_ok++;
    last_progress = now();
    pthread_mutex_unlock(&mu);
}

static void one_conn(int cid)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = (long)op_timeout, .tv_usec = (long)((op_timeout - (long)op_timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fail("conn %d: connect: %s", cid, strerror(errno));
        close(fd);
        return;
    }
    int k = fault_of(cid);
    if (k >= 0) {
        fault_conn(cid, fd, k);
        close(fd);
        return;
    }
    struct reader *r = calloc(1, sizeof *r);
    r->fd = fd;
    for (int i = 1; i <= per_conn; i++) {
        if (stalled()) {
            fail("conn %d: no answer to any request for %gs (--stall)", cid, stall);
            break;
        }
        int last = i == per_conn && !keep_last;
        char req[1024];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", path, port,
                         last ? "Connection: close\r\n" : "");
        if (write(fd, req, (size_t)n) != n) {
            fail("conn %d request %d: write: %s", cid, i, strerror(errno));
            break;
        }
        int code = 0, closed = 0;
        char body[4096];
        const char *why = NULL;
        if (read_response(r, &code, body, sizeof body, &closed, &why) < 0) {
            fail("conn %d request %d: %s", cid, i, why);
            break;
        }
        size_t bl = strlen(body);
        while (bl > 0 && (body[bl - 1] == '\n' || body[bl - 1] == '\r'))
            body[--bl] = 0;
        int has_n;
        char *pat = pattern(i, &has_n);
        regex_t re;
        regmatch_t m[2];
        if (regcomp(&re, pat, REG_EXTENDED) != 0) {
            fail("bad pattern /%s/", pat);
            free(pat);
            break;
        }
        int match = regexec(&re, body, 2, m, 0) == 0;
        regfree(&re);
        if (code != 200 || !match) {
            fail("conn %d request %d: status %d, body '%.100s', expected /%s/", cid, i, code, body, pat);
            free(pat);
            break;
        }
        free(pat);
        int dup = 0;
        pthread_mutex_lock(&mu);
        if (has_n && !n_value && m[1].rm_so >= 0)
            n_value = strndup(body + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
        if (unique) {
            for (size_t k = 0; k < nbodies && !dup; k++)
                dup = strcmp(bodies[k], body) == 0;
            if (nbodies == capbodies) {
                capbodies = capbodies ? capbodies * 2 : 256;
                bodies = realloc(bodies, capbodies * sizeof *bodies);
            }
            bodies[nbodies++] = strdup(body);
        }
        if (!dup)
            ok++;
        last_progress = now();
        pthread_mutex_unlock(&mu);
        if (dup) {
            fail("conn %d request %d: body '%.100s' seen before (--unique)", cid, i, body);
            break;
        }
        if (closed && i < per_conn) {
            fail("conn %d: the server closed the connection after request %d", cid, i);
            break;
        }
    }
    free(r);
    close(fd);
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        int cid = next_conn < conns ? next_conn++ : -1;
        pthread_mutex_unlock(&mu);
        if (cid < 0)
            return NULL;
        if (stalled()) {
            fail("conn %d: no answer to any request for %gs (--stall)", cid, stall);
            continue;
        }
        one_conn(cid);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: hclient PORT [--conns N] [--conc N] [--per-conn N] [--path P] [--expect ERE]\n"
                    "               [--keep-last] [--unique] [--timeout SECS] [--stall SECS]\n"
                    "               [--fault PATH:EVERY]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    port = atoi(argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep-last") == 0)
            keep_last = 1;
        else if (strcmp(a, "--unique") == 0)
            unique = 1;
        else if (!v)
            usage();
        else if (strcmp(a, "--conns") == 0)
            conns = atoi(v), i++;
        else if (strcmp(a, "--conc") == 0)
            conc = atoi(v), i++;
        else if (strcmp(a, "--per-conn") == 0)
            per_conn = atoi(v), i++;
        else if (strcmp(a, "--path") == 0)
            path = v, i++;
        else if (strcmp(a, "--expect") == 0)
            expect = v, i++;
        else if (strcmp(a, "--timeout") == 0)
            op_timeout = atof(v), i++;
        else if (strcmp(a, "--stall") == 0)
            stall = atof(v), i++;
        else if (strcmp(a, "--fault") == 0 && nfaults_opt < 4 && strrchr(v, ':') && atoi(strrchr(v, ':') + 1) > 0) {
            faults[nfaults_opt].every = atoi(strrchr(v, ':') + 1);
            faults[nfaults_opt++].path = strndup(v, (size_t)(strrchr(v, ':') - v));
            i++;
        }
        else
            usage();
    }
    if (port <= 0 || conns < 0 || conc < 1 || per_conn < 1)
        usage();
    signal(SIGPIPE, SIG_IGN);
    for (int c = 0; c < conns; c++)
        nfault_conns += fault_of(c) >= 0;
    t0 = last_progress = now();
    pthread_t *t = calloc((size_t)conc, sizeof *t);
    for (int i = 0; i < conc; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < conc; i++)
        pthread_join(t[i], NULL);
    printf("ok=%d failed=%d conns=%d", ok, failed, conns);
    if (nfaults_opt)
        printf(" faults=%d/%d", faults_ok, nfault_conns);
    printf(" secs=%.2f\n", now() - t0);
    for (int i = 0; i < nfailures; i++)
        printf("  %s\n", failures[i]);
    return failed == 0 && ok == (conns - nfault_conns) * per_conn && faults_ok == nfault_conns ? 0 : 1;
}
