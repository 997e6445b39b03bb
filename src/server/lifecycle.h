/* lifecycle.h - how a serving kvmserver stops: SIGTERM/SIGINT drain, SIGHUP, and telling
 * systemd (sd_notify) that it serves or stops. */
#ifndef SERVER_LIFECYCLE_H
#define SERVER_LIFECYCLE_H

#include <stdbool.h>

/* Block SIGTERM, SIGINT and SIGHUP in the calling thread and so in every thread it
 * creates afterwards, and start the thread that takes them (first thing in main: until
 * lifecycle_serving, each ends kvmserver with 128+N).  0 or -errno. */
int lifecycle_start(void);
/* From now on the signals drain or stop.  ephemeral: whether request VMs can be drained
 * (each ends after its connection); otherwise the first signal stops kvmserver at once.
 * drain_timeout: seconds (0 = no limit). */
void lifecycle_serving(bool ephemeral, double drain_timeout);
/* Serving: sd_notify READY=1 (nothing when not started by systemd). */
void lifecycle_ready(void);
/* Readable once draining has begun (for proc_await_connection_or). */
int lifecycle_drain_fd(void);
bool lifecycle_draining(void);
/* A worker starts serving a connection (busy) or is done with it (idle). */
void lifecycle_busy(bool busy);

#endif
