/* template.h - server mode's part of the syscall path (src/requestvm, through sys/hooks.h): noticing where
 * the program starts waiting for connections, and the one-connection rule of an
 * ephemeral request VM.  It only returns verdicts (proc_run's PROC_LISTENING and
 * PROC_CONN_DONE); src/server decides what they mean. */
#ifndef SYS_SERVE_H
#define SYS_SERVE_H

#include <stdbool.h>

struct proc;
struct vm_ring_req;
struct sys_args;

/* Before a syscall runs.  True when the call is consumed: *ret is its result (or
 * SYS_RESUMED when the process stops at it, to be re-issued later). */
bool serve_before(struct proc *p, const struct sys_args *a, long *ret);
/* After it ran with result ret. */
void serve_after(struct proc *p, const struct sys_args *a, long ret);

/* The ring thread's reset at a request's end, under the spinning guest (requestvm.c). */
bool requestvm_ring_turnover(struct proc *p, const struct vm_ring_req *req);
/* The hooks dispatch.c calls (sys/hooks.h): serve_before and serve_after. */
extern const struct sys_serve_hooks template_hooks;
/* Whether the process's guest fd `fd` is a listening socket. */
bool serve_listener_fd(struct proc *p, int fd);

/* Server mode with several processes (a pre-fork server, template.c).  The first process to
 * wait on a listening socket while booting claims the template: true for it (and again for
 * it later), false for every other, which is then held at its wait. */
bool serve_claim_template(struct proc *p);
/* Whether a process other than p claimed the template. */
bool serve_template_elsewhere(const struct proc *p);
/* Held processes go on (the template keeps running as a program: -t 1). */
void serve_release_held(void);
/* Whether they were released; *fd: an eventfd readable once they are (-1: none yet). */
bool serve_held_released(int *fd);

#endif
