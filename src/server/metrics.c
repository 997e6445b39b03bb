/* metrics.c - --metrics: a tiny HTTP/1.0 responder for GET /metrics in the Prometheus text
 * exposition format (version 0.0.4), on a thread of its own.
 *
 * Counters are plain uint64_t updated with relaxed atomic adds by the worker threads; the
 * responder reads them the same way.  A histogram keeps one count per bucket and the
 * cumulative counts (and _count) are summed when printed, so a scrape is always
 * self-consistent (each bucket's count at least the one before it) even while workers
 * update it.  Nothing here ever runs guest code or blocks a worker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/metrics.h"
#include "sys/sys.h"
#include "util/log.h"

#define ADD(x, n) __atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

#define MAX_BUCKETS 16
struct hist {
	const char *name, *help;
	double scale; /* a bound as printed = bound * scale */
	uint64_t bound[MAX_BUCKETS]; /* ascending, 0-terminated; +Inf follows */
	uint64_t count[MAX_BUCKETS + 1];
	uint64_t sum;
};

static void hist_add(struct hist *h, uint64_t v)
{
	size_t i = 0;
	while (i < MAX_BUCKETS && h->bound[i] && v > h->bound[i])
		i++;
	if (i < MAX_BUCKETS && !h->bound[i])
		i = MAX_BUCKETS; /* above every bound: +Inf */
	ADD(h->count[i], 1);
	ADD(h->sum, v);
}

enum { END_KINDS = PROC_MEMORY_LIMIT + 1, MAX_SIG = 65 };

static struct {
	uint64_t runs[END_KINDS]; /* request VM runs by how they ended */
	uint64_t crashes[MAX_SIG]; /* by signal */
	uint64_t connections;
	uint64_t resets, resets_under_guest;
	uint64_t faults;
	int64_t busy;
	int vms;
	uint64_t template_rss;
	uint64_t scrapes;
	struct hist reset_ns, dirty, exits, entries;
} m = {
        .reset_ns = {"kvmserver_reset_duration_seconds",
                     "Time to reset a request VM to the template",
                     1e-9,
                     {10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
                      100000000}},
        .dirty = {"kvmserver_reset_dirty_pages",
                  "Pages a reset restored (written by the request VM since its last reset)",
                  1,
                  {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144}},
        .exits = {"kvmserver_request_exits",
                  "VM exits to kvmserver (system calls, faults, ticks) per request VM run",
                  1,
                  {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536}},
        .entries = {"kvmserver_request_hypervisor_entries",
                    "Hypervisor entries of any kind per request VM run, those KVM handles itself included "
                    "(KVM's vCPU exits counter; no observations where the kernel does not count them)",
                    1,
                    {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536}},
};

const char *metrics_outcome(enum proc_end end)
{
	switch (end) {
	case PROC_CONN_DONE: return "ok";
	case PROC_CRASHED: return "crashed";
	case PROC_TIMEOUT: return "timeout";
	case PROC_MEMORY_LIMIT: return "memory_limit";
	case PROC_EXITED: return "exited";
	default: return "error";
	}
}

void metrics_record_run(const struct metrics_run *r)
{
	if ((unsigned)r->end < END_KINDS)
		ADD(m.runs[r->end], 1);
	if (r->end == PROC_CRASHED && r->signal > 0 && r->signal < MAX_SIG)
		ADD(m.crashes[r->signal], 1);
	ADD(m.faults, r->faults);
	hist_add(&m.exits, r->exits);
	if (r->entries_known)
		hist_add(&m.entries, r->entries);
	if (r->reset) {
		ADD(m.resets, 1);
		if (r->under_guest)
			ADD(m.resets_under_guest, 1);
		hist_add(&m.reset_ns, r->reset->ns);
		hist_add(&m.dirty, r->reset->dirty_pages);
	}
}

uint64_t *metrics_connection_counter(void)
{
	return &m.connections;
}

void metrics_set_vms(int total)
{
	__atomic_store_n(&m.vms, total, __ATOMIC_RELAXED);
}

void metrics_busy(int delta)
{
	ADD(m.busy, delta);
}

void metrics_set_template_rss(uint64_t bytes)
{
	__atomic_store_n(&m.template_rss, bytes, __ATOMIC_RELAXED);
}

/* --- the exposition ---------------------------------------------------------------------- */
static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	header(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	header(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, v);
}

static void hist_print(FILE *f, struct hist *h)
{
	header(f, h->name, "histogram", h->help);
	uint64_t cum = 0;
	for (size_t i = 0; i < MAX_BUCKETS && h->bound[i]; i++) {
		cum += GET(h->count[i]);
		fprintf(f, "%s_bucket{le=\"%.6g\"} %llu\n", h->name, (double)h->bound[i] * h->scale,
		        (unsigned long long)cum);
	}
	cum += GET(h->count[MAX_BUCKETS]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long)cum);
	fprintf(f, "%s_sum %.17g\n%s_count %llu\n", h->name, (double)GET(h->sum) * h->scale, h->name,
	        (unsigned long long)cum);
}

uint64_t process_rss(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void render(FILE *f)
{
	uint64_t ok = GET(m.runs[PROC_CONN_DONE]);
	counter(f, "kvmserver_requests_total",
	        "Connections a request VM served to their end (--ephemeral: one per request VM run)", ok);
	counter(f, "kvmserver_connections_total", "Connections the guest accepted from its listeners",
	        GET(m.connections));
	header(f, "kvmserver_request_vm_runs_total", "counter", "Request VM runs, by how they ended");
	for (int e = 0; e < END_KINDS; e++) {
		if (e == PROC_LISTENING)
			continue;
		fprintf(f, "kvmserver_request_vm_runs_total{outcome=\"%s\"} %llu\n", metrics_outcome((enum proc_end)e),
		        (unsigned long long)GET(m.runs[e]));
	}
	counter(f, "kvmserver_resets_total", "Request VM resets", GET(m.resets));
	counter(f, "kvmserver_resets_under_guest_total",
	        "Of those, resets the ring thread ran while the guest spun (no VM exit)", GET(m.resets_under_guest));
	hist_print(f, &m.reset_ns);
	hist_print(f, &m.dirty);
	hist_print(f, &m.exits);
	hist_print(f, &m.entries);
	counter(f, "kvmserver_guest_faults_total", "CPU exceptions the guests took (handled or fatal)", GET(m.faults));
	header(f, "kvmserver_guest_crashes_total", "counter", "Request VMs stopped by a fatal signal, by signal");
	bool any = false;
	for (int s = 1; s < MAX_SIG; s++) {
		uint64_t n = GET(m.crashes[s]);
		if (!n)
			continue;
		const char *name = sigabbrev_np(s);
		fprintf(f, "kvmserver_guest_crashes_total{signal=\"SIG%s\"} %llu\n", name ? name : "UNKNOWN",
		        (unsigned long long)n);
		any = true;
	}
	if (!any)
		fputs("kvmserver_guest_crashes_total{signal=\"SIGSEGV\"} 0\n", f);
	header(f, "kvmserver_guest_timeouts_total", "counter", "Request VMs reset for exceeding a limit, by kind");
	fprintf(f, "kvmserver_guest_timeouts_total{kind=\"request_time\"} %llu\n",
	        (unsigned long long)GET(m.runs[PROC_TIMEOUT]));
	fprintf(f, "kvmserver_guest_timeouts_total{kind=\"request_memory\"} %llu\n",
	        (unsigned long long)GET(m.runs[PROC_MEMORY_LIMIT]));
	int vms = __atomic_load_n(&m.vms, __ATOMIC_RELAXED);
	int64_t busy = GET(m.busy);
	busy = busy < 0 ? 0 : busy > vms ? vms : busy;
	header(f, "kvmserver_request_vms", "gauge", "Request VMs, by state (busy: serving a connection)");
	fprintf(f, "kvmserver_request_vms{state=\"busy\"} %lld\nkvmserver_request_vms{state=\"idle\"} %lld\n",
	        (long long)busy, (long long)(vms - busy));
	int spin_now, spin_max;
	sys_ring_spinners(&spin_now, &spin_max);
	gauge(f, "kvmserver_ring_spinners",
	      "VMs whose guests may call through the ring now (their ring thread is awake for them)", spin_now);
	gauge(f, "kvmserver_ring_spinners_max",
	      "The most VMs whose guests could call through the ring at once, since start", spin_max);
	gauge(f, "kvmserver_template_resident_bytes", "Resident memory of the process when the template was frozen",
	      (double)__atomic_load_n(&m.template_rss, __ATOMIC_RELAXED));
	gauge(f, "kvmserver_process_resident_bytes", "Resident memory of the kvmserver process now",
	      (double)process_rss());
	counter(f, "kvmserver_metrics_scrapes_total", "Requests for /metrics", GET(m.scrapes));
}

/* --- the responder ----------------------------------------------------------------------- */
static int listen_fd = -1;

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* One request: read its head (1 s at most per read), answer, close. */
static void serve_one(int c)
{
	char req[2048];
	size_t n = 0;
	while (n < sizeof(req) - 1 && !memmem(req, n, "\r\n\r\n", 4) && !memmem(req, n, "\n\n", 2)) {
		struct pollfd pfd = {c, POLLIN, 0};
		if (poll(&pfd, 1, 1000) <= 0)
			break;
		ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	req[n] = 0;
	char *body = NULL;
	size_t blen = 0;
	const char *status = "200 OK";
	bool get = strncmp(req, "GET ", 4) == 0, head = strncmp(req, "HEAD ", 5) == 0;
	const char *path = get ? req + 4 : head ? req + 5 : NULL;
	FILE *f = open_memstream(&body, &blen);
	if (!f)
		return;
	if (!path) {
		status = "405 Method Not Allowed";
		fputs("only GET /metrics\n", f);
	} else if (strncmp(path, "/metrics", 8) != 0 || (path[8] != ' ' && path[8] != '?' && path[8] != '\r')) {
		status = "404 Not Found";
		fputs("metrics are at /metrics\n", f);
	} else {
		ADD(m.scrapes, 1);
		render(f);
	}
	fclose(f);
	char hdr[256];
	int h = snprintf(hdr, sizeof(hdr),
	                 "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                 status, blen);
	write_all(c, hdr, (size_t)h);
	if (!head)
		write_all(c, body, blen);
	free(body);
}

static void *metrics_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
				continue;
			log_msg("metrics: accept failed: %s; no more metrics", strerror(errno));
			return NULL;
		}
		serve_one(c);
		close(c);
	}
}

static int bind_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg("--metrics: socket path '%s' is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a socket left by an earlier run */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_msg("--metrics: cannot bind %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int bind_inet(const char *addr)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= sizeof(host)) {
		log_msg("--metrics wants HOST:PORT or a unix socket path, got '%s'", addr);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE}, *ai;
	int err = getaddrinfo(host, colon + 1, &hints, &ai);
	if (err) {
		log_msg("--metrics: cannot resolve '%s': %s", addr, gai_strerror(err));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		log_msg("--metrics: cannot bind %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int metrics_start(const char *addr)
{
	int fd = strchr(addr, '/') ? bind_unix(addr) : bind_inet(addr);
	if (fd < 0)
		return -1;
	if (listen(fd, 16) < 0) {
		log_msg("--metrics: cannot listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	listen_fd = fd;
	/* The thread must not take the signals the VMs' timers use: block them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int err = pthread_create(&t, NULL, metrics_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_msg("--metrics: cannot start its thread: %s", strerror(err));
		close(fd);
		listen_fd = -1;
		return -1;
	}
	pthread_detach(t);
	return 0;
}
