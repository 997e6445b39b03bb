/* snapshot.h - a server's template saved to a file after start-up, and served from it
 * without running start-up again (`kvmserver snapshot` / `snaprun`).  The format is
 * snapfile.h's; this is what the server layer calls. */
#ifndef SYS_SNAPSHOT_H
#define SYS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "requestvm/snapfile.h"
#include "sys/sys.h"

/* The permission flags the program ran under, saved so that snaprun applies the same. */
struct snap_policy_src {
	bool read_all, write_all, connect_all, listen_all;
	struct snap_strlist read, write, volumes, connect, listen;
};

/* This kvmserver binary's identity (a hash of /proc/self/exe): a snapshot holds its raw
 * state structures, so only the build that wrote it reads it. */
uint64_t snap_build_id(void);

/* Writes process p, stopped at its first wait for a connection (PROC_LISTENING), to
 * `path`.  program: the path it was started as.  0, or -1 with a one-line reason (an fd
 * kind that cannot be saved, a deleted mapped file, I/O). *bytes gets the file's size. */
int proc_snapshot_save(struct proc *p, const char *path, const char *program, const struct snap_policy_src *pol,
                       uint64_t *bytes, char *why, size_t whylen);

/* Opens and checks a snapshot file: *img gets the parsed metadata, *fd the open file
 * (for proc_snapshot_restore).  0, or -1 with a one-line reason. */
int snap_open(const char *path, struct snap_image *img, int *fd, char *why, size_t whylen);

/* A process in the state the snapshot froze it in, stopped at its wait for connections
 * (as after PROC_LISTENING): memory, vCPU, threads, fds (files reopened and checked,
 * listeners bound again under cfg->policy), mappings, signals.  cfg->user_size is the
 * snapshot's.  0, or -1 with a one-line reason. */
int proc_snapshot_restore(const struct snap_image *img, int fd, const struct proc_config *cfg, struct proc **out,
                          char *why, size_t whylen);

#endif
