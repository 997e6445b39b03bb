/* server.h - server mode: the program stopped at its first wait for connections. */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <stdint.h>

#include "server/config.h"
#include "sys/sys.h"

/* Serve with `main_proc` stopped at PROC_LISTENING: warm it up, freeze it, fork the
 * request VMs and run them (or, with one thread and no --ephemeral, keep running it).
 * started_ns: when the program was started (for the init time).  Returns the exit status
 * of kvmserver (only when serving ends: the program exited, or a fatal error). */
int server_run(const struct config *cfg, struct proc *main_proc, const char *path, uint64_t started_ns);
/* The same for a template that is a child process (a pre-fork server's worker), called on
 * its own host thread: SERVER_RUN_ON when it is to run on as a program (one thread, no
 * --ephemeral), else kvmserver's exit status once serving ends. */
#define SERVER_RUN_ON (-1)
int server_run_child(const struct config *cfg, struct proc *tmpl, const char *path, uint64_t started_ns);

/* warmup.c: parse the --warmup-request specs (files are read now).  0, or -1 after a
 * one-line error. */
int warmup_load(const struct config *cfg);
/* warmup.c: send cfg->warmup requests to the program's listener, letting it serve them,
 * until it is back at a wait with all of them answered.  0, or -1 after a log line. */
int warmup_run(const struct config *cfg, struct proc *p, uint64_t deadline_ns);

/* main.c: the permission policy the command line (cfg) gives PROGRAM; NULL after a log line. */
struct policy *make_policy(const struct config *cfg, const char *program);

/* snapshot.c: `snapshot -o FILE`: save main_proc, stopped at PROC_LISTENING (after the
 * warm-up, if any), to cfg->snapshot.  `snaprun FILE`: serve from it.  Exit statuses. */
int snapshot_write(const struct config *cfg, struct proc *main_proc, const char *path, uint64_t started_ns);
int snaprun_main(const struct config *cfg);

#endif
