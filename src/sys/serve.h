/* serve.h - the syscall layer's part of server mode (private to src/sys): noticing where
 * the program starts waiting for connections, and the one-connection rule of an
 * ephemeral request VM.  It only returns verdicts (proc_run's PROC_LISTENING and
 * PROC_CONN_DONE); src/server decides what they mean. */
#ifndef SYS_SERVE_H
#define SYS_SERVE_H

#include <stdbool.h>

struct proc;
struct sys_args;

/* Before a syscall runs.  True when the call is consumed: *ret is its result (or
 * SYS_RESUMED when the process stops at it, to be re-issued later). */
bool serve_before(struct proc *p, const struct sys_args *a, long *ret);
/* Whether the ring thread may run call `a` (src/sys/ring.c): never one serve_before
 * could stop the process at (it only answers EAGAIN or lets the call run then), nor one
 * serve_after arms the request deadline for. */
bool serve_ring_ok(struct proc *p, const struct sys_args *a);
/* After it ran with result ret. */
void serve_after(struct proc *p, const struct sys_args *a, long ret);

/* Whether host fd h is a listening socket. */
bool serve_is_listener(int h);
/* Whether the process's guest fd `fd` is a listening socket. */
bool serve_listener_fd(struct proc *p, int fd);

#endif
