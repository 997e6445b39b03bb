/* dispatch.c - one syscall: bounds check, server mode's hooks, park or call the handler,
 * trace.  Returns the value for rax, or SYS_RESUMED (the thread's state was loaded: rax
 * is not written). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

#include "sys/hooks.h"
#include "sys/signals/signal.h"
#include "sys/table.h"
#include "util/log.h"

static const struct sys_serve_hooks *serve_hooks;

void sys_set_serve_hooks(const struct sys_serve_hooks *h)
{
	serve_hooks = h;
}

bool sys_serve_ring_ok(struct proc *p, const struct sys_args *a)
{
	if (p->srv.mode == PROC_MODE_RUN || p->fam.vfork || !serve_hooks)
		return true;
	return serve_hooks->ring_ok(p, a);
}

bool sys_serve_ring_turnover(struct proc *p, const struct vm_ring_req *req)
{
	return p->srv.mode == PROC_MODE_EPHEMERAL && !p->fam.vfork && serve_hooks && serve_hooks->ring_turnover &&
	       serve_hooks->ring_turnover(p, req);
}

static long sys_unimplemented(struct proc *p, const struct sys_args *a)
{
	if (p->cfg.verbose) {
		unsigned bit = a->nr < sizeof(p->enosys_logged) * 8 ? (unsigned)a->nr : 0;
		if (!(p->enosys_logged[bit / 8] & (1u << (bit % 8)))) {
			p->enosys_logged[bit / 8] |= 1u << (bit % 8);
			char buf[32];
			log_msg("unimplemented syscall %llu (%s) returns ENOSYS", (unsigned long long)a->nr,
			        sys_name(a->nr, buf, sizeof(buf)));
		}
	}
	return -ENOSYS;
}

static long dispatch_tail(struct proc *p, const struct sys_entry *e, const struct sys_args *a, long ret)
{
	/* A write to a pipe or socket with no reader raises SIGPIPE (unless MSG_NOSIGNAL). */
	if (ret == -EPIPE && e && e->wait.sigpipe && !(e->wait.flags >= 0 && (a->a[e->wait.flags] & MSG_NOSIGNAL)))
		signal_send(p, p->thr.cur, SIGPIPE);
	if (p->cfg.trace)
		trace_syscall(p, e && e->fn ? e : NULL, a, ret);
	return ret;
}

long sys_dispatch(struct proc *p, const struct sys_args *a)
{
	const struct sys_entry *e = a->nr < SYS_TABLE_SIZE ? &sys_table[a->nr] : NULL;
	long ret;
	p->thr.cur->wait_nr = a->nr; /* the row a parked thread's wait is read from */
	/* A vfork child in a request VM is another process: server rules are not for it. */
	bool serving = p->srv.mode != PROC_MODE_RUN && !p->fam.vfork && serve_hooks;
	if (serving && serve_hooks->before(p, a, &ret))
		; /* consumed: a server-mode verdict */
	else if (sched_park_if_blocking(p, a))
		ret = SYS_RESUMED; /* runs again when what it waits for is ready */
	else
		ret = e && e->fn ? e->fn(p, a) : sys_unimplemented(p, a);
	if (serving && !p->fam.vfork && ret != SYS_RESUMED)
		serve_hooks->after(p, a, ret);
	/* A host call ended by a host signal for the guest (vm_forward_signals): as Linux, the
	 * call is restarted if the guest does not take the signal, or if its handler has
	 * SA_RESTART and the call is one Linux restarts; else the guest sees EINTR. */
	if (ret == -EINTR && vm_signals_pending() && signal_take_host(p)) {
		int sig = signal_takes(p, p->thr.cur);
		if (!sig || (wait_row(a->nr)->intr == R_RESTART && signal_restarts(p, sig))) {
			struct thread *t = p->thr.cur;
			if (t->suspend_saved) { /* sigsuspend sets its mask again */
				t->sigmask = t->suspend_mask;
				t->suspend_saved = false;
			}
			vm_restart_syscall(p->vm);
			ret = SYS_RESUMED;
		}
	}
	return dispatch_tail(p, e, a, ret);
}

long sys_dispatch_ring(struct proc *p, const struct sys_args *a)
{
	const struct sys_entry *e = &sys_table[a->nr];
	p->thr.cur->wait_nr = a->nr;
	bool serving = p->srv.mode != PROC_MODE_RUN && !p->fam.vfork && serve_hooks;
	long ret;
	/* The hooks' ring_ok let through only calls their `before` passes or answers itself. */
	if (!(serving && serve_hooks->before(p, a, &ret)))
		ret = e->fn ? e->fn(p, a) : sys_unimplemented(p, a);
	if (serving)
		serve_hooks->after(p, a, ret);
	return dispatch_tail(p, e, a, ret);
}
