/* server.c - server mode: freeze the program where it waits for connections, fork the
 * request VMs, run each on its own thread, and reset ephemeral ones after each connection
 * (each worker loops: wait for a connection, serve it, reset).  While draining (lifecycle.c) an
 * ephemeral worker takes no new connection and ends. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/metrics.h"
#include "server/lifecycle.h"
#include "server/server.h"
#include "util/log.h"

/* A run's start, for its end's counts and log line. */
struct run_start {
	uint64_t t0;
	struct vm_stats stats;
	uint64_t conns;
};

struct worker {
	int id;
	const struct config *cfg;
	struct proc *tmpl;
	pthread_t thread;
	struct proc *p;
	struct backoff {
		unsigned streak; /* runs in a row that took no connection */
	} backoff;
	/* The current run's start: the worker thread's, or the ring thread's while the
	 * worker is in proc_run (a reset under the guest, turnover_turned). */
	struct run_start run;
	struct proc_turnover turnover;
};

static const char *wait_name(enum proc_wait_kind k)
{
	return k == PROC_WAIT_EPOLL ? "epoll" : k == PROC_WAIT_POLL ? "poll" : "blocking";
}

static unsigned long rss_mb(void)
{
	return (unsigned long)(process_rss() >> 20);
}

/* Why a request VM's run ended, for the log; NULL for the normal end of a connection. */
static const char *end_reason(struct proc *p, enum proc_end end, char *buf, size_t size)
{
	char desc[200];
	switch (end) {
	case PROC_CONN_DONE: return NULL;
	case PROC_CRASHED:
		proc_describe_crash(p, desc, sizeof(desc));
		snprintf(buf, size, "crashed: %s", desc);
		return buf;
	case PROC_TIMEOUT: return "ran longer than --max-request-time on one connection";
	case PROC_MEMORY_LIMIT:
		snprintf(buf, size, "dirtied %llu KiB, more than --max-request-memory allows",
		         (unsigned long long)proc_memory_limit_pages(p) * 4);
		return buf;
	case PROC_EXITED: snprintf(buf, size, "the program exited with status %d", proc_exit_code(p)); return buf;
	default:
		snprintf(buf, size, "the VM could not run (%s)",
		         proc_crash(p)->fault.what ? proc_crash(p)->fault.what : "no reason given");
		return buf;
	}
}

/* A request VM that cannot make progress: its runs end (a crash, an exit, an error)
 * before it takes a connection, so nothing stops it from being reset and run again at
 * once, forever, with a log line each time.  From the second such run in a row it waits
 * before the next, twice as long each time up to a second, and says so once; it logs again
 * when it serves a connection. */
#define BACKOFF_MAX_MS 1000

/* After a run (and its reset): the pause before the next one, if any. */
static void backoff_after_run(struct backoff *b, int id, bool progress, const char *why)
{
	if (progress) {
		if (b->streak >= 2)
			log_msg("vm %d: took a connection again after %u runs that took none", id, b->streak);
		b->streak = 0;
		return;
	}
	if (++b->streak < 2)
		return;
	if (b->streak == 2)
		log_msg("vm %d: its runs end before it takes a connection (%s); retrying at most once a "
		        "second, and not logging each run, until it serves one",
		        id, why ? why : "the connection was closed");
	unsigned shift = b->streak - 2 > 10 ? 10 : b->streak - 2;
	unsigned ms = 1u << shift;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* --log-requests: one line per connection (per request VM run), access-log style. */
static void log_request(int vm, const struct metrics_run *r, uint64_t run_ns)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	char entries[32] = "n/a";
	if (r->entries_known)
		snprintf(entries, sizeof(entries), "%llu", (unsigned long long)r->entries);
	log_msg("%s.%03ldZ vm=%d duration_us=%llu dirty_pages=%llu exits=%llu entries=%s reset_us=%llu outcome=%s",
	        when, now.tv_nsec / 1000000, vm, (unsigned long long)(run_ns / 1000),
	        (unsigned long long)r->reset->dirty_pages, (unsigned long long)r->exits, entries,
	        (unsigned long long)(r->reset->ns / 1000), metrics_outcome(r->end));
}

/* KVMSERVER_TRACE_EXITS=1: one line per return of KVM_RUN in the request VMs, with KVM's
 * counters' change since the previous one (the entries KVM handled on the way). */
static void trace_exit(void *ctx, const struct vm_exit_trace *t)
{
	(void)ctx;
	char what[64], nbuf[32], kinds[256] = "";
	if (t->syscall)
		snprintf(what, sizeof(what), "syscall %s%s", proc_syscall_name(t->nr, nbuf, sizeof(nbuf)),
		         t->replayed ? " (re-issued by the reset, no KVM_RUN)" : "");
	else if (t->vector >= 0 && t->kvm_reason == KVM_EXIT_IO)
		snprintf(what, sizeof(what), "fault %d (%s)", t->vector, vm_vector_name(t->vector));
	else if (t->kvm_reason < 0)
		snprintf(what, sizeof(what), "interrupted (signal)");
	else
		snprintf(what, sizeof(what), "kvm exit reason %d", t->kvm_reason);
	size_t len = 0;
	for (int k = 1; t->delta.known && k < VM_ENTRY_KINDS && len < sizeof(kinds); k++)
		if (t->delta.n[k])
			len += (size_t)snprintf(kinds + len, sizeof(kinds) - len, " %s=%llu", vm_entry_kind_name(k),
			                        (unsigned long long)t->delta.n[k]);
	if (t->delta.known)
		log_msg("exit: %s rip=%#llx entries=%llu%s", what, (unsigned long long)t->rip,
		        (unsigned long long)t->delta.n[VM_ENTRY_ALL], kinds);
	else
		log_msg("exit: %s rip=%#llx entries n/a", what, (unsigned long long)t->rip);
}

static void run_begin(struct worker *w)
{
	w->run.t0 = vm_now_ns();
	w->run.stats = *proc_vm_stats(w->p);
	w->run.conns = proc_connections_taken(w->p);
}

/* A run ended (end) and its VM was reset (st, by the ring thread under the guest or not):
 * the metrics and the log lines. */
static void run_ended(struct worker *w, enum proc_end end, const struct vm_reset_stats *st, bool under_guest)
{
	struct proc *p = w->p;
	uint64_t run_ns = vm_now_ns() - w->run.t0;
	const struct vm_stats *before = &w->run.stats, *after = proc_vm_stats(p);
	struct metrics_run mr = {
	        .end = end,
	        .signal = end == PROC_CRASHED ? proc_crash(p)->signal : 0,
	        .exits = after->exits - before->exits,
	        .faults = after->faults - before->faults,
	        .entries = after->entries - before->entries,
	        .entries_known = after->entries_known && before->entries_known,
	        .reset = st,
	        .under_guest = under_guest,
	};
	metrics_record_run(&mr);
	if (w->cfg->log_requests)
		log_request(w->id, &mr, run_ns);
	if (w->cfg->verbose) {
		char entries[80] = "entries n/a";
		if (mr.entries_known)
			snprintf(entries, sizeof(entries), "%llu hypervisor entries (%llu by host interrupts)",
			         (unsigned long long)mr.entries,
			         (unsigned long long)(after->entries_interrupted - before->entries_interrupted));
		log_msg("vm %d: reset: %llu dirty pages (%llu KiB; guest %llu, host %llu; %llu hot) in %llu "
		        "us%s; %s, %llu VM exits this request (%llu syscalls, %llu faults; %llu ring calls, "
		        "%llu rewrites), %llu us in the guest",
		        w->id, (unsigned long long)st->dirty_pages, (unsigned long long)st->dirty_pages * 4,
		        (unsigned long long)st->guest_pages, (unsigned long long)(st->dirty_pages - st->guest_pages),
		        (unsigned long long)st->hot_pages, (unsigned long long)(st->ns / 1000),
		        under_guest ? " under the guest" : "", entries, (unsigned long long)mr.exits,
		        (unsigned long long)(after->syscalls - before->syscalls), (unsigned long long)mr.faults,
		        (unsigned long long)(after->ring_calls - before->ring_calls),
		        (unsigned long long)(after->rewrites - before->rewrites),
		        (unsigned long long)((after->guest_ns - before->guest_ns) / 1000));
	}
}

/* A reset under the guest (proc_set_turnover), on the VM's ring thread: the worker thread
 * is in proc_run meanwhile, which goes on with the next request.  The VM stays busy. */
static bool turnover_ready(void *ctx)
{
	(void)ctx;
	return !lifecycle_draining();
}

static void turnover_turned(void *ctx, const struct vm_reset_stats *st)
{
	struct worker *w = ctx;
	run_ended(w, PROC_CONN_DONE, st, true);
	backoff_after_run(&w->backoff, w->id, true, NULL);
	run_begin(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct proc *p;
	int err = requestvm_create(w->tmpl, &p);
	if (err) {
		log_msg("vm %d: cannot fork the request VM: %s", w->id, strerror(-err));
		exit(1);
	}
	w->p = p;
	proc_set_mode(p, w->cfg->ephemeral ? PROC_MODE_EPHEMERAL : PROC_MODE_SERVE);
	proc_set_request_limit(p, (uint64_t)(w->cfg->max_request_time * 1e9));
	proc_set_memory_limit(p, w->cfg->max_request_memory);
	proc_set_connection_counter(p, metrics_connection_counter());
	if (w->cfg->ephemeral && !getenv("KVMSERVER_NO_RESET_UNDER_GUEST")) {
		w->turnover = (struct proc_turnover){turnover_ready, turnover_turned, w};
		proc_set_turnover(p, &w->turnover);
	}
	for (;;) {
		if (w->cfg->ephemeral) {
			err = proc_await_connection_or(p, lifecycle_drain_fd());
			if (err == -ECANCELED || lifecycle_draining())
				break; /* draining: take no new connection */
			if (err) {
				log_msg("vm %d: cannot wait for a connection: %s", w->id, strerror(-err));
				exit(1);
			}
			lifecycle_busy(true);
		}
		metrics_busy(1);
		run_begin(w);
		enum proc_end end = proc_run(p, 0);
		char buf[256];
		const char *why = end_reason(p, end, buf, sizeof(buf));
		bool progress = end == PROC_CONN_DONE || proc_connections_taken(p) != w->run.conns;
		if (why && (progress || w->backoff.streak == 0))
			log_msg("vm %d: %s; closing its connection and resetting it", w->id, why);
		struct vm_reset_stats st;
		err = requestvm_reset(p, &st);
		if (err) {
			log_msg("vm %d: reset failed: %s", w->id, strerror(-err));
			exit(1);
		}
		/* A run woken for a connection another VM took first: not a request. */
		if (end != PROC_CONN_DONE || proc_connections_taken(p) != w->run.conns)
			run_ended(w, end, &st, false);
		metrics_busy(-1);
		backoff_after_run(&w->backoff, w->id, progress, why);
		if (w->cfg->ephemeral)
			lifecycle_busy(false);
	}
	proc_destroy(p);
	return NULL;
}

static int serve(const struct config *cfg, struct proc *main_proc, const char *path, uint64_t started_ns, bool child);

int server_run(const struct config *cfg, struct proc *main_proc, const char *path, uint64_t started_ns)
{
	return serve(cfg, main_proc, path, started_ns, false);
}

int server_run_child(const struct config *cfg, struct proc *tmpl, const char *path, uint64_t started_ns)
{
	return serve(cfg, tmpl, path, started_ns, true);
}

static int serve(const struct config *cfg, struct proc *main_proc, const char *path, uint64_t started_ns, bool child)
{
	uint64_t init_ns = vm_now_ns() - started_ns, warm_ns = 0;
	if (cfg->warmup > 0) {
		uint64_t t0 = vm_now_ns();
		uint64_t deadline = cfg->max_boot_time > 0 ? started_ns + (uint64_t)(cfg->max_boot_time * 1e9) : 0;
		if (warmup_run(cfg, main_proc, deadline))
			return 1;
		warm_ns = vm_now_ns() - t0;
	}
	int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	char warm[64] = "";
	if (cfg->warmup > 0)
		snprintf(warm, sizeof(warm), " warmup=%llums", (unsigned long long)(warm_ns / 1000000));
	const char *kind = wait_name(proc_wait_kind(main_proc));

	const char *trace = getenv("KVMSERVER_TRACE_EXITS");
	if (trace && *trace && strcmp(trace, "0") != 0)
		vm_set_exit_trace(trace_exit, NULL);
	metrics_set_template_rss(process_rss());
	metrics_set_vms(threads);
	if (cfg->metrics && metrics_start(cfg->metrics))
		return 1;
	lifecycle_serving(cfg->ephemeral, cfg->drain_timeout);
	if (threads == 1 && !cfg->ephemeral) {
		/* As upstream: the main VM itself keeps serving, nothing is forked. */
		proc_set_connection_counter(main_proc, metrics_connection_counter());
		metrics_busy(1);
		printf("Program '%s' loaded. %s vm=1 init=%llums%s rss=%luMB\n", path, kind,
		       (unsigned long long)(init_ns / 1000000), warm, rss_mb());
		fflush(stdout);
		lifecycle_ready();
		proc_release_held(); /* a pre-fork server's other processes run on as well */
		proc_set_mode(main_proc, PROC_MODE_RUN);
		proc_continue_wait(main_proc);
		if (child)
			return SERVER_RUN_ON; /* it is a child process: its thread runs it on */
		enum proc_end end = proc_run(main_proc, 0);
		if (end == PROC_EXITED)
			return proc_exit_code(main_proc);
		char buf[256];
		log_msg("the program stopped serving: %s", end_reason(main_proc, end, buf, sizeof(buf)));
		return end == PROC_CRASHED ? 128 + proc_crash(main_proc)->signal : 1;
	}

	int err = proc_freeze(main_proc);
	if (err) {
		log_msg("cannot freeze the program: %s", strerror(-err));
		return 1;
	}
	struct worker *workers = calloc((size_t)threads, sizeof(*workers));
	if (!workers)
		return 1;
	for (int i = 0; i < threads; i++) {
		workers[i] = (struct worker){.id = i, .cfg = cfg, .tmpl = main_proc};
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i])) {
			log_msg("cannot start worker thread %d", i);
			return 1;
		}
	}
	printf("Program '%s' loaded. %s vm=%d%s init=%llums%s rss=%luMB\n", path, kind, threads,
	       cfg->ephemeral ? " ephemeral" : "", (unsigned long long)(init_ns / 1000000), warm, rss_mb());
	fflush(stdout);
	lifecycle_ready();
	for (int i = 0; i < threads; i++)
		pthread_join(workers[i].thread, NULL);
	free(workers);
	log_msg("drained: every connection is done; exiting");
	return 0;
}
