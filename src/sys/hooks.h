/* hooks.h - the one interface between the syscall path and server mode (src/requestvm).
 *
 * src/sys knows nothing of templates or request VMs.  Server mode registers these hooks
 * (requestvm.c, when a process first leaves PROC_MODE_RUN); dispatch.c calls them around
 * every syscall of a process whose mode is not PROC_MODE_RUN, and never otherwise. */
#ifndef SYS_HOOKS_H
#define SYS_HOOKS_H

#include <stdbool.h>

struct proc;
struct sys_args;
struct vm_ring_req;

struct sys_serve_hooks {
	/* Before a syscall runs.  True when the call is consumed: *ret is its result (or
	 * SYS_RESUMED when the process stops at it, to be re-issued later). */
	bool (*before)(struct proc *p, const struct sys_args *a, long *ret);
	/* After it ran with result ret (not for a call that parked: SYS_RESUMED). */
	void (*after)(struct proc *p, const struct sys_args *a, long ret);
	/* Whether the ring thread (src/sys/ring.c) may run the call: never one `before` could
	 * stop or hold the process at, nor one `after` arms a timer of the vCPU's thread for. */
	bool (*ring_ok)(struct proc *p, const struct sys_args *a);
	/* The ring thread ran a call that ended the process's request (PROC_CONN_DONE), the
	 * guest spinning in the trampoline for its answer (req): true when the hook answered
	 * it (the next request begun without the vCPU leaving the guest, requestvm.c); false
	 * when the vCPU thread must look, as for any stop. */
	bool (*ring_turnover)(struct proc *p, const struct vm_ring_req *req);
};
/* The hooks' ring_turnover, if any (the ring thread). */
bool sys_serve_ring_turnover(struct proc *p, const struct vm_ring_req *req);

/* Set once, before any process leaves PROC_MODE_RUN; the table must stay valid. */
void sys_set_serve_hooks(const struct sys_serve_hooks *h);
/* For the ring thread: true for a process in PROC_MODE_RUN or a vfork child (server rules
 * are not theirs), else the hooks' ring_ok. */
bool sys_serve_ring_ok(struct proc *p, const struct sys_args *a);
/* Is this the ring thread (src/sys/ring.c) running a call, not the vCPU thread? */
bool sys_on_ring_thread(void);

#endif
