/* requestvm.c - request VMs: a process forked copy-on-write from a frozen template, and reset
 * back to it.  Memory and vCPU state are libvmm's (vm_fork, vm_reset); this file copies the
 * process state around them: mappings, fds, threads, signal dispositions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sys/ring.h"
#include "sys/proc_impl.h"
#include "sys/processes/process.h"
#include "requestvm/template.h"
#include "sys/hooks.h"
#include "sys/threads/sched.h"
#include "sys/table.h"

void proc_set_mode(struct proc *p, enum proc_mode mode)
{
	if (mode != PROC_MODE_RUN)
		sys_set_serve_hooks(&template_hooks);
	p->mode = mode;
}

enum proc_wait_kind proc_wait_kind(const struct proc *p)
{
	return p->wait_kind;
}

void proc_continue_wait(struct proc *p)
{
	p->let_through = true;
	vm_restart_syscall(p->vm);
}

void proc_set_request_limit(struct proc *p, uint64_t ns)
{
	p->max_request_ns = ns;
}

/* The program text a template copies into its memory on the ring path, so request VMs
 * can rewrite there (a C server's: a few MiB; a 100 MB runtime keeps its file pages and
 * gets the ring where the boot and warm-up rewrote). */
#define RING_TEMPLATE_TEXT_MAX (16ULL << 20)

int proc_freeze(struct proc *p)
{
	/* The guest's clock, which runs mono_offset_ns behind the host's in a process made
	 * from a snapshot (snapload.c). */
	p->frozen_ns = vm_now_ns() - (uint64_t)p->mono_offset_ns;
	ring_stop(p); /* request VMs have their own ring threads */
	vm_ring_quiesce(p->vm);
	int err = vm_ring_prepare_template(p->vm, RING_TEMPLATE_TEXT_MAX);
	if (err)
		return err;
	err = fdtab_plan_clone(&p->fdt, true);
	if (!err && p->pt)
		process_release_owner(p->pt); /* no thread runs it any more: signals wake nobody */
	return err ? err : vm_freeze(p->vm);
}

bool proc_template_elsewhere(const struct proc *p)
{
	return serve_template_elsewhere(p);
}

void proc_release_held(void)
{
	serve_release_held();
}

static int clone_threads(struct proc *dst, const struct proc *src)
{
	dst->threads = calloc((size_t)src->nthreads, sizeof(*dst->threads));
	if (!dst->threads)
		return -ENOMEM;
	size_t xs = vm_xsave_size(src->vm);
	for (int i = 0; i < src->nthreads; i++) {
		struct thread *t = malloc(sizeof(*t));
		if (!t)
			return -ENOMEM;
		*t = *src->threads[i];
		t->xsave = malloc(xs);
		if (!t->xsave) {
			free(t);
			return -ENOMEM;
		}
		memcpy(t->xsave, src->threads[i]->xsave, xs);
		dst->threads[dst->nthreads++] = t;
		if (src->threads[i] == src->cur)
			dst->cur = t;
	}
	dst->next_tid = src->next_tid;
	return 0;
}

/* A fork's monotonic clock.  A fork starts, and every reset restarts, from the template's
 * memory, whose timers (a runtime's next housekeeping tick, a thread's timed wait) were
 * armed against the monotonic time of the freeze.  On the host's clock every request after
 * those deadlines would find them passed and run that housekeeping again, forever (Deno:
 * a hello request took 17 VM exits until its runtime's first timer came due, 44 after,
 * spawning a thread each time).  So CLOCK_MONOTONIC and CLOCK_BOOTTIME restart at the
 * freeze time: the guest reads host time minus the offset, and absolute monotonic
 * deadlines it passes in get the offset added back (futex, timerfd, clock_nanosleep);
 * parked threads' deadlines move with it.  CLOCK_REALTIME stays real.  A fork's clock
 * restarts when it is made or reset, and an ephemeral one's again when its connection
 * arrives (proc_await_connection): until then no guest code runs, so the guest sees time
 * stand still from the freeze to its connection. */
static int restart_monotonic(struct proc *p)
{
	if (!p->tmpl->frozen_ns)
		return 0;
	int64_t offset = (int64_t)(vm_now_ns() - p->tmpl->frozen_ns), delta = offset - p->mono_offset_ns;
	p->mono_offset_ns = offset;
	if (p->itimer_ns)
		p->itimer_ns += (uint64_t)delta;
	for (int i = 0; i < p->nthreads; i++)
		if (p->threads[i]->deadline_ns)
			p->threads[i]->deadline_ns += (uint64_t)delta;
	return p->vdso_addr ? vm_vdso_shift_monotonic(p->vm, p->vdso_addr, delta) : 0;
}

int proc_await_connection(struct proc *p)
{
	return proc_await_connection_or(p, -1);
}

int proc_await_connection_or(struct proc *p, int cancel_fd)
{
	if (!p->tmpl)
		return -EINVAL;
	int ep = epoll_create1(EPOLL_CLOEXEC), n = 0;
	if (ep < 0)
		return -errno;
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		if (!serve_listener_fd(p, fd))
			continue;
		/* Exclusive: one connection wakes one of the VMs waiting here. */
		struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = 0};
		n += epoll_ctl(ep, EPOLL_CTL_ADD, p->fdt.e[fd].host_fd, &ev) == 0;
	}
	/* Not exclusive: cancelling wakes every VM waiting. */
	struct epoll_event cev = {.events = EPOLLIN, .data.u32 = 1};
	if (cancel_fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, cancel_fd, &cev) == 0)
		n++;
	struct epoll_event ev = {0};
	while (n && epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR) {
	}
	close(ep);
	if (ev.data.u32 == 1)
		return -ECANCELED;
	/* The timerfds the clone armed have been running while we waited. */
	fdtab_rearm_timers(&p->fdt, &p->tmpl->fdt);
	return restart_monotonic(p);
}

/* Everything but the VM, from the template. */
static int copy_state(struct proc *p, const struct proc *tmpl)
{
	memcpy(p->sigactions, tmpl->sigactions, sizeof(p->sigactions));
	memcpy(p->cwd, tmpl->cwd, sizeof(p->cwd));
	p->cred = tmpl->cred;
	p->uts = tmpl->uts;
	p->nptys = tmpl->nptys; /* the ptys a request opens are forgotten with it */
	memcpy(p->ptys, tmpl->ptys, sizeof(p->ptys));
	/* The process attributes a request may change, as the template had them. */
	memcpy(p->comm, tmpl->comm, sizeof(p->comm));
	p->nice = tmpl->nice;
	p->umask = tmpl->umask;
	p->exit_code = 0;
	memset(&p->crash, 0, sizeof(p->crash));
	p->stop = 0;
	p->conn_ino = 0;
	p->conn_shut = false;
	p->conn_closed = false;
	p->let_through = false;
	p->itimer_ns = tmpl->itimer_ns; /* host time of the freeze: restart_monotonic moves it */
	p->itimer_interval_ns = tmpl->itimer_interval_ns;
	int err = vma_copy(&p->mm, &tmpl->mm);
	if (!err)
		err = net_unix_names_copy(p, tmpl);
	if (!err)
		err = fdtab_clone(&p->fdt, &tmpl->fdt, true);
	if (!err)
		err = clone_threads(p, tmpl);
	p->mono_offset_ns = tmpl->mono_offset_ns; /* the template's threads and vDSO page, as just copied */
	if (!err)
		err = restart_monotonic(p);
	if (!err)
		vm_replay_syscall(p->vm); /* the template stopped in a wait: issue it again */
	if (!err)
		sched_start_ticks(p);
	return err;
}

static void drop_state(struct proc *p)
{
	fdtab_fini(&p->fdt);
	sched_fini(p);
	vma_fini(&p->mm);
}

int requestvm_create(struct proc *tmpl, struct proc **out)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = tmpl->cfg;
	p->policy = tmpl->policy;
	p->pid = tmpl->pid;
	p->tmpl = tmpl;
	p->vdso_addr = tmpl->vdso_addr;
	memcpy(p->exe_path, tmpl->exe_path, sizeof(p->exe_path));
	int err = vm_fork(tmpl->vm, &p->vm);
	if (err) {
		free(p);
		return err;
	}
	err = copy_state(p, tmpl);
	if (err) {
		proc_destroy(p);
		return err;
	}
	*out = p;
	return 0;
}

int requestvm_reset(struct proc *p, struct vm_reset_stats *st)
{
	if (!p->tmpl)
		return -EINVAL;
	uint64_t t0 = vm_now_ns();
	/* The processes the request started end with it (process.c). */
	process_end_children(p);
	/* Host fds first: closing the connection's socket sends what the guest wrote. */
	drop_state(p);
	int err = vm_reset(p->vm, st);
	if (!err)
		err = vm_set_deadline(p->vm, 0);
	if (!err)
		err = copy_state(p, p->tmpl);
	if (st)
		st->ns = vm_now_ns() - t0; /* the whole reset, not only the VM's part */
	return err;
}

int proc_listener_addr(struct proc *p, struct sockaddr_storage *out, socklen_t *len)
{
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		if (!serve_listener_fd(p, fd))
			continue;
		*len = sizeof(*out);
		if (getsockname(p->fdt.e[fd].host_fd, (struct sockaddr *)out, len) == 0)
			return 0;
	}
	return -ENOENT;
}
