/* warmup.c - --warmup N and --warmup-request: before the template is frozen, kvmserver
 * itself sends N HTTP/1.1 requests (each on its own connection, Connection: close) and
 * lets the main VM serve them, so a JIT is warm in every request VM.  The requests are
 * the --warmup-request ones in turn (default `GET /`).  It all happens on this thread:
 * each time the program stops at a wait for connections, the client side is drained
 * without blocking; a request is done when the program has closed the connection.
 *
 * A request is written as text: a request line `METHOD PATH [HTTP/1.x]`, header lines,
 * a blank line and a body.  A body runs for its Content-Length, or without one to the end
 * of the text (less one final newline), so a file of several requests gives each body but
 * the last a Content-Length.  On the command line `\n` stands for a line break and `\\`
 * for a backslash.  kvmserver adds Host, User-Agent and Content-Length when they are
 * missing and always sends Connection: close (replacing any Connection header).  A request
 * is at most 64 KiB: it is written whole before the program reads it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server.h"
#include "util/log.h"

#define MAX_REQUEST (64 * 1024)

struct wreq {
	char *wire; /* what goes on the connection */
	size_t len;
	char *line; /* its request line, for the log */
};
static struct wreq *reqs;
static size_t nreqs;

/* A growing byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* The next line of text[*pos..end) (without its LF or CRLF); false at the end. */
static bool next_line(const char *text, size_t end, size_t *pos, const char **line, size_t *len)
{
	if (*pos >= end)
		return false;
	const char *s = text + *pos, *nl = memchr(s, '\n', end - *pos);
	size_t n = nl ? (size_t)(nl - s) : end - *pos;
	*pos += n + (nl != NULL);
	*line = s;
	*len = n > 0 && s[n - 1] == '\r' ? n - 1 : n;
	return true;
}

static bool header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* Parse one request from text[*pos..end) into *out.  0, or -1 with *why set. */
static int parse_one(const char *text, size_t end, size_t *pos, struct wreq *out, const char **why)
{
	const char *line;
	size_t len;
	struct buf w = {0};
	/* the request line: METHOD PATH [VERSION] */
	if (!next_line(text, end, pos, &line, &len)) {
		*why = "no request line";
		return -1;
	}
	char rl[1024];
	if (len >= sizeof(rl)) {
		*why = "request line too long";
		return -1;
	}
	memcpy(rl, line, len);
	rl[len] = 0;
	char *method = rl, *path = strchr(rl, ' ');
	if (!path || path == rl) {
		*why = "expected 'METHOD PATH'";
		return -1;
	}
	*path++ = 0;
	char *version = strchr(path, ' ');
	if (version)
		*version++ = 0;
	for (const char *c = method; *c; c++)
		if (!isupper((unsigned char)*c) && *c != '-' && *c != '_') {
			*why = "the method must be an upper-case word (GET, POST...)";
			return -1;
		}
	if (path[0] != '/' && strcmp(path, "*") != 0) {
		*why = "the path must start with '/'";
		return -1;
	}
	if (version && strncmp(version, "HTTP/1.", 7) != 0) {
		*why = "the version must be HTTP/1.x";
		return -1;
	}
	int err = 0;
	char *shown = NULL;
	if (asprintf(&shown, "%s %s", method, path) < 0)
		return *why = "out of memory", -1;
	err |= buf_str(&w, method) | buf_str(&w, " ") | buf_str(&w, path) | buf_str(&w, " ") |
	       buf_str(&w, version ? version : "HTTP/1.1") | buf_str(&w, "\r\n");
	bool host = false, agent = false, has_length = false;
	long long clen = 0;
	/* headers, to a blank line or the end */
	while (next_line(text, end, pos, &line, &len) && len > 0) {
		const char *colon = memchr(line, ':', len);
		if (!colon || colon == line) {
			*why = "a header line must be 'Name: value'";
			goto fail;
		}
		if (header_is(line, len, "Connection"))
			continue;
		host |= header_is(line, len, "Host");
		agent |= header_is(line, len, "User-Agent");
		if (header_is(line, len, "Content-Length")) {
			char v[32];
			size_t vl = len - (size_t)(colon + 1 - line);
			snprintf(v, sizeof(v), "%.*s", (int)(vl < sizeof(v) - 1 ? vl : sizeof(v) - 1), colon + 1);
			char *e;
			clen = strtoll(v, &e, 10);
			while (*e == ' ' || *e == '\t')
				e++;
			if (*e || clen < 0 || clen > (long long)(end - *pos)) {
				*why = "Content-Length is not a number, or longer than the body that follows";
				goto fail;
			}
			has_length = true;
		}
		err |= buf_add(&w, line, len) | buf_str(&w, "\r\n");
	}
	if (!host)
		err |= buf_str(&w, "Host: localhost\r\n");
	if (!agent)
		err |= buf_str(&w, "User-Agent: kvmserver-warmup\r\n");
	err |= buf_str(&w, "Connection: close\r\n");
	size_t body = *pos, blen;
	if (has_length) {
		blen = (size_t)clen;
	} else {
		blen = end - body;
		if (blen && text[end - 1] == '\n')
			blen -= blen > 1 && text[end - 2] == '\r' ? 2 : 1;
		if (blen) {
			char cl[48];
			snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", blen);
			err |= buf_str(&w, cl);
		}
	}
	*pos = has_length ? body + blen : end;
	err |= buf_str(&w, "\r\n") | buf_add(&w, text + body, blen);
	if (err) {
		*why = "out of memory";
		goto fail;
	}
	/* Written whole before the program runs: it must fit the sockets' buffers. */
	if (w.len > MAX_REQUEST) {
		*why = "longer than 64 KiB";
		goto fail;
	}
	*out = (struct wreq){.wire = w.p, .len = w.len, .line = shown};
	return 0;
fail:
	free(w.p);
	free(shown);
	return -1;
}

/* Every request in text (several only from a file). */
static int parse_text(const char *what, const char *text, size_t n, bool many)
{
	size_t pos = 0;
	for (;;) {
		/* blank lines between requests */
		while (pos < n && (text[pos] == '\n' || text[pos] == '\r'))
			pos++;
		if (pos >= n)
			break;
		struct wreq *v = realloc(reqs, (nreqs + 1) * sizeof(*v));
		if (!v)
			return -1;
		reqs = v;
		const char *why = "";
		if (parse_one(text, n, &pos, &reqs[nreqs], &why)) {
			log_msg("--warmup-request %s: %s", what, why);
			return -1;
		}
		nreqs++;
		if (!many)
			break;
	}
	return 0;
}

static int load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		log_msg("--warmup-request @%s: %s", path, strerror(errno));
		return -1;
	}
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	int err = 0;
	while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = buf_add(&b, chunk, n);
	fclose(f);
	size_t before = nreqs;
	char what[512];
	snprintf(what, sizeof(what), "@%s", path);
	if (err || parse_text(what, b.p ? b.p : "", b.len, true)) {
		free(b.p);
		return -1;
	}
	free(b.p);
	if (nreqs == before) {
		log_msg("--warmup-request @%s: the file holds no request", path);
		return -1;
	}
	return 0;
}

/* A command-line request, with `\n` and `\\` unescaped. */
static int load_inline(const char *spec)
{
	size_t n = strlen(spec), j = 0;
	char *text = malloc(n + 1);
	if (!text)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (spec[i] == '\\' && spec[i + 1] == 'n') {
			text[j++] = '\n';
			i++;
		} else if (spec[i] == '\\' && spec[i + 1] == '\\') {
			text[j++] = '\\';
			i++;
		} else {
			text[j++] = spec[i];
		}
	}
	char what[80];
	snprintf(what, sizeof(what), "'%.60s%s'", spec, n > 60 ? "..." : "");
	int r = parse_text(what, text, j, false);
	free(text);
	return r;
}

int warmup_load(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->warmup_requests.n; i++) {
		const char *s = cfg->warmup_requests.v[i];
		if (s[0] == '@' ? load_file(s + 1) : load_inline(s))
			return -1;
	}
	if (!nreqs)
		return load_inline("GET /");
	return 0;
}

/* Connect to the listener (a wildcard address means this machine's loopback). */
static int connect_listener(struct proc *p, const struct wreq *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (proc_listener_addr(p, &ss, &len))
		return -1;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
	int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -1;
	/* Loopback connects complete in the kernel's backlog, before the guest accepts; a
	 * request up to the socket buffer's size is written before the guest reads. */
	if (connect(c, (struct sockaddr *)&ss, len) < 0 || write(c, r->wire, r->len) != (ssize_t)r->len) {
		close(c);
		return -1;
	}
	fcntl(c, F_SETFL, O_NONBLOCK);
	return c;
}

/* Read what the program sent (its first bytes into head); true once it closed. */
static bool drained(int c, char *head, size_t cap, size_t *have)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n == 0)
			return true;
		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		size_t take = *have + (size_t)n < cap ? (size_t)n : cap - *have;
		memcpy(head + *have, buf, take);
		*have += take;
	}
}

/* Is this the start of a 2xx response? */
static bool ok_status(const char *head, size_t n)
{
	return n >= 10 && strncmp(head, "HTTP/1.", 7) == 0 && head[8] == ' ' && head[9] == '2';
}

int warmup_run(const struct config *cfg, struct proc *p, uint64_t deadline_ns)
{
	uint64_t first_ns = 0, last_ns = 0, t_all = vm_now_ns();
	int bad = 0;
	char bad_line[160] = "";
	for (int i = 0; i < cfg->warmup; i++) {
		const struct wreq *r = &reqs[(size_t)i % nreqs];
		uint64_t t0 = vm_now_ns();
		int c = connect_listener(p, r);
		if (c < 0) {
			log_msg("warm-up: cannot connect to the program's listener: %s", strerror(errno));
			return -1;
		}
		char head[128];
		size_t have = 0;
		bool done = false;
		while (!done) {
			proc_continue_wait(p);
			enum proc_end end = proc_run(p, deadline_ns);
			if (end != PROC_LISTENING) {
				log_msg("warm-up: the program stopped serving during warm-up request %d, %s (%s)",
				        i + 1, r->line,
				        end == PROC_TIMEOUT  ? "--max-boot-time passed"
				        : end == PROC_EXITED ? "it exited"
				                             : "it crashed");
				close(c);
				return -1;
			}
			done = drained(c, head, sizeof(head), &have);
		}
		close(c);
		last_ns = vm_now_ns() - t0;
		if (i == 0)
			first_ns = last_ns;
		if (!ok_status(head, have) && bad++ == 0) {
			size_t n = strcspn(head, "\r\n");
			snprintf(bad_line, sizeof(bad_line), "%s: '%.*s'", r->line, (int)(n < have ? n : have), head);
		}
	}
	if (bad)
		log_msg("warm-up: %d of %d answers were not 2xx (first: %s)", bad, cfg->warmup, bad_line);
	if (cfg->verbose)
		log_msg("warm-up: %d requests (%zu different) in %llu ms: the first took %llu us, the last %llu us",
		        cfg->warmup, nreqs, (unsigned long long)((vm_now_ns() - t_all) / 1000000),
		        (unsigned long long)(first_ns / 1000), (unsigned long long)(last_ns / 1000));
	return 0;
}
