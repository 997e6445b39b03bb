/* metrics.h - counters for --metrics (Prometheus text format at /metrics) and the
 * --log-requests line.  The workers update them with atomic adds; one host thread of ours
 * serves them and never runs guest code. */
#ifndef SERVER_METRICS_H
#define SERVER_METRICS_H

#include <stdint.h>

#include "sys/sys.h"

/* Binds addr (HOST:PORT, [V6]:PORT, or a unix socket path: anything with a '/') and
 * starts the thread serving it.  0, or -1 after a log line. */
int metrics_start(const char *addr);

/* How one request VM run ended (a connection in --ephemeral mode). */
struct metrics_run {
	enum proc_end end;
	int signal; /* PROC_CRASHED: the signal */
	uint64_t exits, faults; /* during the run */
	uint64_t entries; /* hypervisor entries of any kind during the run, if entries_known */
	bool entries_known;
	const struct vm_reset_stats *reset; /* the reset after it, or NULL */
	bool under_guest; /* that reset ran on the ring thread, the guest spinning (server.c) */
};
void metrics_record_run(const struct metrics_run *r);
/* The counter the guest's accepted connections go into (proc_set_connection_counter). */
uint64_t *metrics_connection_counter(void);
void metrics_set_vms(int total);
/* A request VM starts (+1) or stops (-1) serving a connection. */
void metrics_busy(int delta);
void metrics_set_template_rss(uint64_t bytes);
/* kvmserver's resident memory now, bytes (/proc/self/statm). */
uint64_t process_rss(void);
/* A short name for how a run ended: ok, crashed, timeout, memory_limit, exited, error. */
const char *metrics_outcome(enum proc_end end);

#endif
