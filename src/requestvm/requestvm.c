/* requestvm.c - request VMs: a process forked copy-on-write from a frozen template, and reset
 * back to it.  Memory and vCPU state are libvmm's (vm_fork, vm_reset); this file copies the
 * process state around them: mappings, fds, threads, signal dispositions. */
#include <asm/unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sys/ring.h"
#include "sys/proc_impl.h"
#include "sys/processes/process.h"
#include "sys/processes/spawn.h"
#include "requestvm/template.h"
#include "sys/hooks.h"
#include "sys/threads/sched.h"
#include "sys/table.h"

void proc_set_mode(struct proc *p, enum proc_mode mode)
{
	if (mode != PROC_MODE_RUN)
		sys_set_serve_hooks(&template_hooks);
	p->srv.mode = mode;
}

enum proc_wait_kind proc_wait_kind(const struct proc *p)
{
	return p->srv.wait_kind;
}

void proc_continue_wait(struct proc *p)
{
	p->srv.let_through = true;
	vm_restart_syscall(p->vm);
}

void proc_set_request_limit(struct proc *p, uint64_t ns)
{
	p->srv.max_request_ns = ns;
}

/* The program text a template copies into its memory on the ring path, so request VMs
 * can rewrite there (a C server's: a few MiB; a 100 MB runtime keeps its file pages and
 * gets the ring where the boot and warm-up rewrote). */
#define RING_TEMPLATE_TEXT_MAX (16ULL << 20)

int proc_freeze(struct proc *p)
{
	/* The guest's clock, which runs mono_offset_ns behind the host's in a process made
	 * from a snapshot (snapload.c). */
	p->srv.frozen_ns = vm_now_ns() - (uint64_t)p->srv.mono_offset_ns;
	ring_stop(p); /* request VMs have their own ring threads */
	vm_ring_quiesce(p->vm);
	int err = vm_ring_prepare_template(p->vm, RING_TEMPLATE_TEXT_MAX);
	if (err)
		return err;
	err = fdtab_plan_clone(&p->fdt, true);
	if (!err && p->fam.pt)
		process_release_owner(p->fam.pt); /* no thread runs it any more: signals wake nobody */
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
	dst->thr.threads = calloc((size_t)src->thr.nthreads, sizeof(*dst->thr.threads));
	if (!dst->thr.threads)
		return -ENOMEM;
	size_t xs = vm_xsave_size(src->vm);
	for (int i = 0; i < src->thr.nthreads; i++) {
		struct thread *t = malloc(sizeof(*t));
		if (!t)
			return -ENOMEM;
		*t = *src->thr.threads[i];
		t->xsave = malloc(xs);
		if (!t->xsave) {
			free(t);
			return -ENOMEM;
		}
		memcpy(t->xsave, src->thr.threads[i]->xsave, xs);
		dst->thr.threads[dst->thr.nthreads++] = t;
		if (src->thr.threads[i] == src->thr.cur)
			dst->thr.cur = t;
	}
	dst->thr.next_tid = src->thr.next_tid;
	/* A request starts from the template's CPU time, not the previous request's. */
	dst->thr.cpu_ns = src->thr.cpu_ns;
	dst->thr.cur_since_ns = src->thr.cur_since_ns;
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
	if (!p->srv.tmpl->srv.frozen_ns)
		return 0;
	int64_t offset = (int64_t)(vm_now_ns() - p->srv.tmpl->srv.frozen_ns), delta = offset - p->srv.mono_offset_ns;
	p->srv.mono_offset_ns = offset;
	if (p->sig.itimer_ns)
		p->sig.itimer_ns += (uint64_t)delta;
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i]->deadline_ns)
			p->thr.threads[i]->deadline_ns += (uint64_t)delta;
	return p->vdso_addr ? vm_vdso_shift_monotonic(p->vm, p->vdso_addr, delta) : 0;
}

int proc_await_connection(struct proc *p)
{
	return proc_await_connection_or(p, -1);
}

/* The epoll set a fork waits in, made at its first wait and kept until proc_destroy (one
 * set per worker, so that kvmserver's fd count does not move with the workers' waits).  It
 * watches the template's listener fds: the fork's are dups made again at each reset, and
 * an epoll set keys its entries by fd and file, so those entries would outlive their fds.
 * Listeners are shared and never change (a request cannot touch them).  Each wait
 * registers them afresh (EPOLLEXCLUSIVE entries cannot be modified, and an entry kept from
 * an earlier wait lost wakeups: every other connection went unseen). */
static int await_set(struct proc *p, int cancel_fd, int *watched)
{
	int ep = p->srv.await_ep1 - 1;
	if (!p->srv.await_ep1) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			return -errno;
		p->srv.await_ep1 = ep + 1;
		/* Not exclusive: cancelling wakes every VM waiting. */
		struct epoll_event cev = {.events = EPOLLIN, .data.u32 = 1};
		p->srv.await_cancel = cancel_fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, cancel_fd, &cev) == 0;
	}
	int n = p->srv.await_cancel;
	struct proc *tmpl = p->srv.tmpl;
	for (int fd = 0; fd < tmpl->fdt.cap; fd++) {
		if (!serve_listener_fd(tmpl, fd))
			continue;
		int host = tmpl->fdt.e[fd].host_fd;
		/* Exclusive: one connection wakes one of the VMs waiting here. */
		struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = 0};
		epoll_ctl(ep, EPOLL_CTL_DEL, host, NULL);
		n += epoll_ctl(ep, EPOLL_CTL_ADD, host, &ev) == 0;
	}
	*watched = n;
	return ep;
}

int proc_await_connection_or(struct proc *p, int cancel_fd)
{
	if (!p->srv.tmpl)
		return -EINVAL;
	int n = 0, ep = await_set(p, cancel_fd, &n);
	if (ep < 0)
		return ep;
	struct epoll_event ev = {0};
	ring_park(p);
	while (n && epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR) {
	}
	if (ev.data.u32 == 1)
		return -ECANCELED;
	/* The timerfds the clone armed have been running while we waited. */
	fdtab_rearm_timers(&p->fdt, &p->srv.tmpl->fdt);
	return restart_monotonic(p);
}

/* Everything but the VM, from the template: the host side (fds, threads, mappings).  No
 * guest memory: on reset this runs while the ring thread may be restoring it. */
static int copy_host_state(struct proc *p, const struct proc *tmpl)
{
	/* Whole parts, as the template had them: who the process is (cwd, credentials, host
	 * names, name, nice, umask), its dispositions and interval timer (itimer_ns is the host
	 * time of the freeze: restart_monotonic moves it), and not ended. */
	p->id = tmpl->id;
	p->sig = tmpl->sig;
	/* The CPU-time timers count the template's host thread's time: none in a request VM. */
	memset(p->sig.cpu_itimer, 0, sizeof(p->sig.cpu_itimer));
	p->sig.cpu_itimer_check_ns = 0;
	p->end = (struct proc_end_state){0};
	p->nptys = tmpl->nptys; /* the ptys a request opens are forgotten with it */
	memcpy(p->ptys, tmpl->ptys, sizeof(p->ptys));
	p->srv.conn_ino = 0;
	p->srv.conn_shut = false;
	p->srv.conn_closed = false;
	p->srv.let_through = false;
	int err = vma_copy(&p->mm, &tmpl->mm);
	if (!err)
		err = net_unix_names_copy(p, tmpl);
	if (!err)
		err = fdtab_clone(&p->fdt, &tmpl->fdt, true);
	if (!err)
		err = clone_threads(p, tmpl);
	return err;
}

/* What needs the VM's memory and vCPU as the template left them (after vm_reset). */
/* The clock restarted from the template's (its threads and vDSO page, as just copied). */
static int restart_clock(struct proc *p, const struct proc *tmpl)
{
	p->srv.mono_offset_ns = tmpl->srv.mono_offset_ns;
	return restart_monotonic(p);
}

static int copy_guest_state(struct proc *p, const struct proc *tmpl)
{
	int err = restart_clock(p, tmpl);
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
	p->cfg.policy = tmpl->cfg.policy;
	p->id.pid = tmpl->id.pid;
	p->srv.tmpl = tmpl;
	p->vdso_addr = tmpl->vdso_addr;
	memcpy(p->id.exe_path, tmpl->id.exe_path, sizeof(p->id.exe_path));
	int err = vm_fork(tmpl->vm, &p->vm);
	if (err) {
		free(p);
		return err;
	}
	err = copy_host_state(p, tmpl);
	if (!err)
		err = copy_guest_state(p, tmpl);
	if (err) {
		proc_destroy(p);
		return err;
	}
	*out = p;
	return 0;
}

/* Two resets' work as one (hot_pages: a count of the moment, the later one's). */
static void add_reset_stats(struct vm_reset_stats *to, const struct vm_reset_stats *st)
{
	to->dirty_pages += st->dirty_pages;
	to->guest_pages += st->guest_pages;
	to->ns += st->ns;
}

void proc_set_turnover(struct proc *p, const struct proc_turnover *t)
{
	p->srv.turnover = t;
}

/* The template's wait as the ring thread re-issues it: never blocking (a connection
 * another VM took first leaves it nothing), so only the waits with a timeout argument. */
static bool turnover_wait(struct proc *p, struct sys_args *a)
{
	uint64_t nr, args[6];
	if (!vm_frozen_syscall(p->vm, &nr, args))
		return false;
	*a = (struct sys_args){nr, {args[0], args[1], args[2], args[3], args[4], args[5]}};
	switch (nr) {
	case __NR_epoll_wait:
	case __NR_epoll_pwait: a->a[3] = 0; return true;
	case __NR_poll: a->a[2] = 0; return true;
	default: return false;
	}
}

/* How long the ring thread waits for the next connection after a reset under the guest,
 * the guest spinning meanwhile: a client's next connection comes within ~100 us of the
 * close here (a benchmark's, a proxy's); a longer gap is idle time anyway, after which
 * the VM waits as before (proc_await_connection_or), at the cost of the guest's spin. */
#define TURNOVER_WAIT_MS 1

/* A connection on a listener within TURNOVER_WAIT_MS (not a drain's cancel). */
static bool turnover_await(struct proc *p)
{
	int n = 0, ep = await_set(p, -1, &n);
	if (ep < 0 || !n)
		return false;
	/* Asleep, not spinning: the guest spins meanwhile, and a client on the same CPUs
	 * needs the other one to make its next connection (docs/design.md). */
	struct epoll_event ev;
	int got;
	while ((got = epoll_wait(ep, &ev, 1, TURNOVER_WAIT_MS)) < 0 && errno == EINTR) {
	}
	return got > 0 && ev.data.u32 == 0;
}

/* Whether the reset may run on the ring thread: besides the VM's conditions
 * (vm_can_reset_under_guest), one thread before and after (the template's threads would
 * need the preemption tick, a timer of the vCPU thread), no interval timer, no vfork. */
static bool turnover_allowed(struct proc *p, struct sys_args *wait)
{
	const struct proc *tmpl = p->srv.tmpl;
	return p->srv.turnover && tmpl && p->thr.nthreads == 1 && tmpl->thr.nthreads == 1 && !tmpl->sig.itimer_ns &&
	       !p->sig.itimer_ns && !p->fam.vfork && turnover_wait(p, wait) && vm_can_reset_under_guest(p->vm) &&
	       p->srv.turnover->ready(p->srv.turnover->ctx);
}

/*
 * A reset under the guest (docs/design.md): the ring thread ran the call that ended the
 * request and the guest spins for its answer.  The reset runs here as requestvm_reset
 * would, but for the vCPU (its registers come with the answer, vm_ring_answer_reset);
 * then the template's wait is re-issued here with a zero timeout.  A connection ready:
 * the next request has begun, and the guest resumes as the template from that wait,
 * without leaving KVM_RUN.  None (another VM took it): the request ends as before (the
 * vCPU thread resets again, at the cost of the few pages written since, and waits).
 */
bool requestvm_ring_turnover(struct proc *p, const struct vm_ring_req *req)
{
	struct sys_args wait;
	if (!turnover_allowed(p, &wait))
		return false;
	struct proc *tmpl = p->srv.tmpl;
	struct vm_reset_stats st = {0};
	uint64_t t0 = vm_now_ns();
	process_end_children(p);
	drop_state(p);
	int err = copy_host_state(p, tmpl);
	if (!err)
		err = vm_reset_under_guest(p->vm, &st);
	if (!err) {
		vm_set_deadline_remote(p->vm, 0); /* (-EAGAIN: none was ever armed) */
		err = restart_clock(p, tmpl);
	}
	st.ns = vm_now_ns() - t0;
	long ret = -EAGAIN;
	if (!err && turnover_await(p)) {
		fdtab_rearm_timers(&p->fdt, &tmpl->fdt);
		cpuclock_run_restart(p);
		ret = sys_dispatch_ring(p, &wait);
	}
	if (err || p->end.stop || ret <= 0) {
		/* No connection (or the reset failed: the vCPU thread's reset reports it). */
		add_reset_stats(&p->srv.turnover_undone, &st);
		p->end.stop = PROC_CONN_DONE;
		vm_ring_void_guest(p->vm);
		return false;
	}
	p->srv.turnover->turned(p->srv.turnover->ctx, &st);
	vm_ring_answer_reset(p->vm, req, ret);
	return true;
}

int requestvm_reset(struct proc *p, struct vm_reset_stats *st)
{
	if (!p->srv.tmpl)
		return -EINVAL;
	uint64_t t0 = vm_now_ns();
	/* The guest runs no more this request: its spinner slot is lent to a VM that gets the
	 * next connection while none is free (the ring thread helps with the reset meanwhile). */
	ring_park(p);
	/* A vfork child cut by the reset ends: the process is the template's again, not the
	 * child (whose fd table would hide the parent's, the connection's socket included). */
	spawn_vfork_abandon(p);
	/* The processes the request started end with it (process.c). */
	process_end_children(p);
	/* The VM's memory may be put back by its ring thread meanwhile (vm_reset_post). */
	vm_reset_post(p->vm);
	/* Host fds first: closing the connection's socket sends what the guest wrote. */
	drop_state(p);
	int err = copy_host_state(p, p->srv.tmpl);
	int verr = vm_reset(p->vm, st); /* (always: it ends what vm_reset_post began) */
	if (!err)
		err = verr;
	if (!err)
		err = vm_set_deadline(p->vm, 0);
	if (!err)
		err = copy_guest_state(p, p->srv.tmpl);
	if (st) {
		st->ns = vm_now_ns() - t0; /* the whole reset, not only the VM's part */
		/* and a reset under the guest just before, after which no connection came */
		add_reset_stats(st, &p->srv.turnover_undone);
	}
	p->srv.turnover_undone = (struct vm_reset_stats){0};
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
