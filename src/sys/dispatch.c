/* dispatch.c - one syscall: bounds check, call the handler, trace, return rax. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

#include "sys/serve.h"
#include "sys/signal.h"
#include "sys/table.h"
#include "util/log.h"

#include "syscall_names.h"

const char *sys_name(uint64_t nr, char *buf, unsigned size)
{
	if (nr < sizeof(syscall_names) / sizeof(syscall_names[0]) && syscall_names[nr])
		return syscall_names[nr];
	snprintf(buf, size, "syscall_%llu", (unsigned long long)nr);
	return buf;
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
		signal_send(p, p->cur, SIGPIPE);
	if (p->cfg.trace)
		trace_syscall(p, e && e->fn ? e : NULL, a, ret);
	return ret;
}

long sys_dispatch(struct proc *p, const struct sys_args *a)
{
	const struct sys_entry *e = a->nr < SYS_TABLE_SIZE ? &sys_table[a->nr] : NULL;
	long ret;
	p->cur->wait_nr = a->nr; /* the row a parked thread's wait is read from */
	/* A vfork child in a request VM is another process: server rules are not for it. */
	bool serving = p->mode != PROC_MODE_RUN && !p->vfork;
	if (serving && serve_before(p, a, &ret))
		; /* consumed: a server-mode verdict */
	else if (sched_park_if_blocking(p, a))
		ret = SYS_RESUMED; /* runs again when what it waits for is ready */
	else
		ret = e && e->fn ? e->fn(p, a) : sys_unimplemented(p, a);
	if (serving && !p->vfork && ret != SYS_RESUMED)
		serve_after(p, a, ret);
	/* A host call ended by a host signal for the guest (vm_forward_signals): as Linux, the
	 * call is restarted if the guest does not take the signal, or if its handler has
	 * SA_RESTART and the call is one Linux restarts; else the guest sees EINTR. */
	if (ret == -EINTR && vm_signals_pending() && signal_take_host(p)) {
		int sig = signal_takes(p, p->cur);
		if (!sig || (wait_row(a->nr)->intr == R_RESTART && signal_restarts(p, sig))) {
			struct thread *t = p->cur;
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
	p->cur->wait_nr = a->nr;
	bool serving = p->mode != PROC_MODE_RUN && !p->vfork;
	long ret;
	/* serve_ring_ok let through only calls serve_before passes or answers itself. */
	if (!(serving && serve_before(p, a, &ret)))
		ret = e->fn ? e->fn(p, a) : sys_unimplemented(p, a);
	if (serving)
		serve_after(p, a, ret);
	return dispatch_tail(p, e, a, ret);
}
