/* pgroup.c - process groups and sessions (getpgid, setpgid, setsid...) and pidfds
 * (pidfd_open, pidfd_send_signal), over the process table (pt_impl.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "sys/processes/process.h"
#include "sys/processes/pt_impl.h"
#include "sys/signals/signal.h"
#include "sys/syscalls.h"

/* --- process groups and sessions ------------------------------------------------------- */

/* What getpgid/getsid answer for pid (0: the caller): its group (sid false) or session. */
static long group_of(struct proc *p, int pid, bool sid)
{
	if (pid < 0)
		return -ESRCH;
	if (!p->fam.pt && !(p->srv.tmpl && p->srv.tmpl->fam.pt) && (pid == 0 || pid == p->id.pid))
		return p->id.pid; /* a lone first process leads its own group and session */
	if (!process_self(p))
		return -ENOMEM;
	pthread_mutex_lock(&pt_lock);
	struct pt_entry *e = pid == 0 ? p->fam.pt : find_locked(p->fam.pt, pid);
	long r = !e || (e->ended && e != p->fam.pt) ? -ESRCH : sid ? e->sid : e->pgid;
	pthread_mutex_unlock(&pt_lock);
	return r;
}

long sys_getpgrp(struct proc *p, const struct sys_args *a)
{
	return group_of(p, 0, false);
}

long sys_getpgid(struct proc *p, const struct sys_args *a)
{
	return group_of(p, (int)a->a[0], false);
}

long sys_getsid(struct proc *p, const struct sys_args *a)
{
	return group_of(p, (int)a->a[0], true);
}

/* setpgid(2): the caller or one of its children, into a group of its session. */
long sys_setpgid(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0], pgid = (int)a->a[1];
	if (pgid < 0)
		return -EINVAL;
	if (!process_self(p))
		return -ENOMEM;
	pthread_mutex_lock(&pt_lock);
	struct pt_entry *self = p->fam.pt, *e = pid == 0 ? self : find_locked(p->fam.pt, pid);
	long r = 0;
	if (!e || (e != self && e->parent != self))
		r = -ESRCH;
	else if (e->sid == e->pid || e->sid != self->sid)
		r = -EPERM; /* a session leader, or a child in another session */
	if (!r) {
		if (!pgid)
			pgid = e->pid;
		bool exists = pgid == e->pid;
		for (struct pt_entry *g = pt_head; g && !exists; g = g->next)
			exists = g->pgid == pgid && g->sid == e->sid && !g->ended && visible_locked(self, g);
		if (!exists)
			r = -EPERM;
		else
			e->pgid = pgid;
	}
	pthread_mutex_unlock(&pt_lock);
	return r;
}

long sys_setsid(struct proc *p, const struct sys_args *a)
{
	if (!process_self(p))
		return -ENOMEM;
	pthread_mutex_lock(&pt_lock);
	struct pt_entry *self = p->fam.pt;
	bool leader = self->pgid == self->pid;
	for (struct pt_entry *g = pt_head; g && !leader; g = g->next)
		leader = g != self && g->pgid == self->pid && visible_locked(self, g);
	long r = -EPERM;
	if (!leader) {
		self->pgid = self->sid = self->pid;
		r = self->pid;
	}
	pthread_mutex_unlock(&pt_lock);
	return r;
}

/* --- pidfds ------------------------------------------------------------------------------ */

/* A pidfd is a dup of the process's exit eventfd: it polls readable once the process has
 * ended, as Linux's does. */
long sys_pidfd_open(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0];
	unsigned flags = (unsigned)a->a[1];
	if (flags & ~(unsigned)O_NONBLOCK)
		return -EINVAL;
	if (pid <= 0)
		return -EINVAL;
	if (!process_self(p))
		return -ENOMEM;
	pthread_mutex_lock(&pt_lock);
	struct pt_entry *e = find_locked(p->fam.pt, pid);
	long r = 0;
	if (!e || !e->ran)
		r = -ESRCH;
	else if (e->exit_fd < 0 && (e->exit_fd = eventfd(e->ended ? 1 : 0, EFD_CLOEXEC)) < 0)
		r = -errno;
	int h = r ? -1 : fcntl(e->exit_fd, F_DUPFD_CLOEXEC, 3);
	pthread_mutex_unlock(&pt_lock);
	if (r)
		return r;
	if (h < 0)
		return -errno;
	int fd = fdtab_alloc(&p->fdt, 0, h, FD_EVENT, true);
	if (fd >= 0)
		fdtab_get(&p->fdt, fd)->pidfd = pid;
	return fd;
}

long sys_pidfd_send_signal(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *f = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!f)
		return -EBADF;
	/* As Linux, a /proc/PID directory fd names that process too. */
	int pid = f->pidfd;
	char end;
	if (!pid && f->path && strcmp(f->path, "/proc/self") == 0)
		pid = p->id.pid;
	else if (!pid && f->path && sscanf(f->path, "/proc/%d%c", &pid, &end) != 1)
		pid = 0;
	if (pid <= 0)
		return -EBADF;
	if (a->a[2] || a->a[3])
		return -EINVAL; /* a siginfo or flags: not supported */
	int sig = (int)a->a[1];
	if (pid == p->id.pid) {
		if (sig < 0 || sig > 64)
			return -EINVAL;
		if (sig) /* process-directed (signal.c) */
			signal_send(p, signal_process_target(p, sig), sig);
		return 0;
	}
	return process_kill(p, pid, sig);
}
