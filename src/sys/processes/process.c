/* process.c - the guest process table and the calls that read it: wait4, waitid, getppid,
 * signals between processes (see process.h for the model). */
#include <asm/unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "sys/files/fdtab.h"
#include "sys/processes/process.h"
#include "sys/processes/pt_impl.h"
#include "sys/signals/signal.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

#define PT_MAX 4096 /* entries, zombies included: fork bombs end with EAGAIN */
#define PSIGBIT(sig) (1ULL << ((sig)-1))

pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;
struct pt_entry *pt_head;
static int pt_count;
static int pt_next_id; /* the next unused pid/tid number, once the table is in use */

/* The request VM whose request e is part of, NULL for none; only if it is ephemeral. */
static const struct pt_entry *request_of(const struct pt_entry *e)
{
	return e->request_vm ? e : e->request;
}

static const struct pt_entry *isolated_request_of(const struct pt_entry *e)
{
	const struct pt_entry *r = request_of(e);
	return r && r->isolated ? r : NULL;
}

bool visible_locked(const struct pt_entry *self, const struct pt_entry *e)
{
	return !self || isolated_request_of(self) == isolated_request_of(e);
}

struct pt_entry *find_locked(const struct pt_entry *self, int pid)
{
	if (self && self->pid == pid)
		return (struct pt_entry *)self;
	struct pt_entry *any = NULL;
	for (struct pt_entry *e = pt_head; e; e = e->next) {
		if (e->pid != pid || !visible_locked(self, e))
			continue;
		if (!self || request_of(e) == request_of(self))
			return e;
		if (!any)
			any = e;
	}
	return any;
}

static void unlink_free_locked(struct pt_entry *e)
{
	for (struct pt_entry **pp = &pt_head; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	close(e->wake_fd);
	if (e->exit_fd >= 0)
		close(e->exit_fd);
	free(e);
	pt_count--;
}

static struct pt_entry *new_entry_locked(int pid, int ppid, int pgid, int sid)
{
	if (pt_count >= PT_MAX)
		return NULL;
	struct pt_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->wake_fd < 0) {
		free(e);
		return NULL;
	}
	e->exit_fd = -1;
	e->ran = true;
	e->pid = pid;
	e->ppid = ppid;
	e->pgid = pgid;
	e->sid = sid;
	e->next = pt_head;
	pt_head = e;
	pt_count++;
	return e;
}

/* Make sig pending for e's process and wake it: its wait fd, and its host thread when the
 * signal would interrupt what it is blocked in. */
static void send_locked(struct pt_entry *e, int sig)
{
	atomic_fetch_or(&e->sigs, PSIGBIT(sig));
	uint64_t one = 1;
	(void)!write(e->wake_fd, &one, sizeof(one));
	if (e->has_owner && (atomic_load(&e->catching) & PSIGBIT(sig)))
		vm_interrupt_thread(e->owner);
}

/* The calling host thread runs e's process. */
static void own_locked(struct pt_entry *e)
{
	e->owner = pthread_self();
	if (pthread_getcpuclockid(e->owner, &e->owner_clock))
		e->owner_clock = CLOCK_THREAD_CPUTIME_ID;
	e->has_owner = true;
	e->ran = true;
}

void process_set_owner(struct pt_entry *e)
{
	pthread_mutex_lock(&pt_lock);
	own_locked(e);
	pthread_mutex_unlock(&pt_lock);
}

bool process_cpu_clock(const struct proc *p, int pid, clockid_t *out)
{
	pthread_mutex_lock(&pt_lock);
	struct pt_entry *e = find_locked(p->fam.pt, pid);
	bool ok = p->fam.pt && e && e->has_owner && !e->ended;
	if (ok)
		*out = e->owner_clock;
	pthread_mutex_unlock(&pt_lock);
	return ok;
}

void process_release_owner(struct pt_entry *e)
{
	pthread_mutex_lock(&pt_lock);
	e->has_owner = false;
	pthread_mutex_unlock(&pt_lock);
}

/* The signals whose arrival should interrupt p's blocking calls. */
static uint64_t catching_mask(const struct proc *p)
{
	uint64_t m = 0;
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t h = p->sig.sigactions[sig].handler;
		bool dfl_ignores = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
		if (h == (uint64_t)SIG_IGN || (h == (uint64_t)SIG_DFL && dfl_ignores))
			continue;
		m |= PSIGBIT(sig);
	}
	return m;
}

struct pt_entry *process_self(struct proc *p)
{
	if (p->fam.pt)
		return p->fam.pt;
	pthread_mutex_lock(&pt_lock);
	/* A request VM answers getppid, getpgrp and getsid as its template (a pre-fork
	 * server's worker checks that its master is still its parent), but is nobody's child:
	 * its master must not wait for it. */
	const struct pt_entry *t = p->srv.tmpl ? p->srv.tmpl->fam.pt : NULL;
	struct pt_entry *e = t ? new_entry_locked(p->id.pid, t->ppid, t->pgid, t->sid)
	                       : new_entry_locked(p->id.pid, 0, p->id.pid, p->id.pid);
	if (e) {
		e->request_vm = p->srv.tmpl != NULL;
		e->isolated = e->request_vm && p->srv.mode == PROC_MODE_EPHEMERAL;
		own_locked(e);
		if (pt_next_id < p->thr.next_tid)
			pt_next_id = p->thr.next_tid;
		if (pt_next_id <= p->id.pid)
			pt_next_id = p->id.pid + 1;
	}
	pthread_mutex_unlock(&pt_lock);
	p->fam.pt = e;
	return e;
}

/* The next free number: above every tid p has handed out and every pid in use. */
static int alloc_id_locked(struct proc *p)
{
	if (pt_next_id < p->thr.next_tid)
		pt_next_id = p->thr.next_tid;
	for (;;) {
		int id = pt_next_id++;
		if (pt_next_id <= 0)
			pt_next_id = 300; /* wrapped: start again low, as Linux does */
		if (id > 0 && !find_locked(NULL, id)) {
			p->thr.next_tid = pt_next_id;
			return id;
		}
	}
}

int process_alloc_tid(struct proc *p)
{
	if (!p->fam.pt)
		return p->thr.next_tid++;
	pthread_mutex_lock(&pt_lock);
	int id = alloc_id_locked(p);
	pthread_mutex_unlock(&pt_lock);
	return id;
}

int process_new_child(struct proc *p, struct pt_entry **out)
{
	struct pt_entry *self = process_self(p);
	if (!self)
		return -ENOMEM;
	pthread_mutex_lock(&pt_lock);
	int pid = alloc_id_locked(p);
	struct pt_entry *e = new_entry_locked(pid, self->pid, self->pgid, self->sid);
	if (e) {
		e->parent = self;
		e->request = self->request ? self->request : p->srv.tmpl ? self : NULL;
	}
	pthread_mutex_unlock(&pt_lock);
	if (!e)
		return -EAGAIN;
	*out = e;
	return pid;
}

int process_pid(const struct pt_entry *e)
{
	return e->pid;
}

void process_discard(struct pt_entry *e)
{
	pthread_mutex_lock(&pt_lock);
	unlink_free_locked(e);
	pthread_mutex_unlock(&pt_lock);
}

void process_exited(struct pt_entry *e, int wstatus)
{
	pthread_mutex_lock(&pt_lock);
	/* Its children lose their parent; their zombies go with it (no init to reap them). */
	for (struct pt_entry *c = pt_head, *next; c; c = next) {
		next = c->next;
		if (c->request == e)
			c->request = NULL; /* a request VM's entry goes: no link may outlive it */
		if (c->parent != e || c == e)
			continue;
		if (c->ended) {
			unlink_free_locked(c);
		} else {
			c->ppid = -1;
			c->parent = NULL;
			if (c->pdeathsig)
				send_locked(c, c->pdeathsig);
		}
	}
	if (e->exit_fd >= 0) {
		uint64_t one = 1;
		(void)!write(e->exit_fd, &one, sizeof(one));
	}
	struct pt_entry *parent = e->parent;
	if (!parent || parent->ended) {
		unlink_free_locked(e);
	} else {
		e->ended = true;
		e->wstatus = wstatus;
		e->has_owner = false;
		send_locked(parent, SIGCHLD);
	}
	pthread_mutex_unlock(&pt_lock);
}

void process_take_signals(struct proc *p)
{
	if (!p->fam.pt)
		return;
	uint64_t m = catching_mask(p);
	if (atomic_load_explicit(&p->fam.pt->catching, memory_order_relaxed) != m)
		atomic_store(&p->fam.pt->catching, m);
	if (!atomic_load_explicit(&p->fam.pt->sigs, memory_order_relaxed))
		return;
	uint64_t s = atomic_exchange(&p->fam.pt->sigs, 0);
	/* Process-directed: the first thread that does not block it, else the current one. */
	for (int sig = 1; sig <= 64; sig++) {
		if (!(s & PSIGBIT(sig)))
			continue;
		signal_process_target(p, sig)->pending |= PSIGBIT(sig);
	}
}

long process_kill(struct proc *p, int pid, int sig)
{
	if (sig < 0 || sig > 64)
		return -EINVAL;
	if (!process_self(p))
		return -ENOMEM;
	long r = -ESRCH;
	bool self = false;
	pthread_mutex_lock(&pt_lock);
	/* A pid is every process that has it and that p sees (a held template and its
	 * request VMs that keep their state are one process to the others), but p's own
	 * pid is p alone: its siblings share it. */
	bool self_pid = pid == p->id.pid;
	for (struct pt_entry *e = pt_head; e; e = e->next) {
		/* pid > 0: that process; 0: p's group; -1: every process but p; < -1: group -pid. */
		bool hit = pid > 0     ? (self_pid ? e == p->fam.pt : e->pid == pid)
		           : pid == 0  ? e->pgid == p->fam.pt->pgid
		           : pid == -1 ? e != p->fam.pt
		                       : e->pgid == -pid;
		if (!hit || !e->ran || e->ended || !visible_locked(p->fam.pt, e))
			continue;
		if (sig && e != p->fam.pt)
			send_locked(e, sig);
		else if (sig)
			self = true;
		r = 0;
	}
	pthread_mutex_unlock(&pt_lock);
	/* To p itself (its group): process-directed, as kill(getpid()) (signal.c). */
	if (self)
		signal_send(p, signal_process_target(p, sig), sig);
	return r;
}

/* --- wait4, waitid ------------------------------------------------------------------- */

struct child_wait {
	int idtype; /* P_ALL, P_PID, P_PGID */
	int id;
	bool nowait; /* waitid WNOWAIT: leave the zombie */
};

static bool matches(const struct pt_entry *c, const struct pt_entry *self, const struct child_wait *w)
{
	if (c->parent != self || c == self)
		return false;
	switch (w->idtype) {
	case P_PID: return c->pid == w->id;
	case P_PGID: return c->pgid == (w->id ? w->id : self->pgid);
	default: return true;
	}
}

/* A matching zombie: its pid and status (reaped unless nowait); 0 if there are matching
 * children but none has ended; -ECHILD if there are none. */
static int reap(struct proc *p, const struct child_wait *w, int *wstatus)
{
	struct pt_entry *self = p->fam.pt;
	if (!self)
		return -ECHILD;
	int r = -ECHILD;
	pthread_mutex_lock(&pt_lock);
	for (struct pt_entry *c = pt_head; c; c = c->next) {
		if (!matches(c, self, w))
			continue;
		if (!c->ended) {
			r = 0;
			continue;
		}
		r = c->pid;
		*wstatus = c->wstatus;
		if (!w->nowait)
			unlink_free_locked(c);
		break;
	}
	pthread_mutex_unlock(&pt_lock);
	return r;
}

static void drain(struct proc *p)
{
	uint64_t n;
	if (p->fam.pt)
		(void)!read(p->fam.pt->wake_fd, &n, sizeof(n));
}

int process_wake_fd(struct proc *p, bool consume)
{
	if (!p->fam.pt)
		return -1;
	if (consume)
		drain(p);
	return p->fam.pt->wake_fd;
}

/* A pending signal that would interrupt a wait: one with a handler, or whose default
 * action ends the process (the ignored-by-default ones do not interrupt). */
static bool interrupting_signal(struct proc *p)
{
	return p->thr.cur->pending & ~p->thr.cur->sigmask & catching_mask(p);
}

static bool descends_from(const struct pt_entry *c, const struct pt_entry *a)
{
	for (const struct pt_entry *e = c->parent; e; e = e->parent)
		if (e == a)
			return true;
	return false;
}

void process_end_children(struct proc *p)
{
	if (!p->fam.pt)
		return;
	pthread_mutex_lock(&pt_lock);
	/* Every descendant, not only the children: a grandchild would otherwise be orphaned by
	 * its parent's end and outlive the request.  Killed before any link is cut. */
	for (struct pt_entry *c = pt_head; c; c = c->next)
		if (c != p->fam.pt && !c->ended && (c->request == p->fam.pt || descends_from(c, p->fam.pt)))
			send_locked(c, SIGKILL);
	for (struct pt_entry *c = pt_head, *next; c; c = next) {
		next = c->next;
		if (c == p->fam.pt)
			continue;
		if (c->request == p->fam.pt)
			c->request = NULL; /* killed: the link must not outlive p's entry */
		if (c->parent != p->fam.pt)
			continue;
		if (c->ended) {
			unlink_free_locked(c);
			continue;
		}
		c->parent = NULL;
		c->ppid = -1;
	}
	pthread_mutex_unlock(&pt_lock);
}

int process_block(struct proc *p, int64_t timeout_ns)
{
	struct pollfd pfd = {.fd = p->fam.pt->wake_fd, .events = POLLIN};
	int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
	int r = poll(&pfd, 1, ms);
	if (r < 0 && errno == EINTR)
		return -EINTR;
	drain(p);
	return 0;
}

/* Wait until a matching child has ended: its pid, 0 (WNOHANG, none yet), -errno. */
static long wait_child(struct proc *p, const struct child_wait *w, int options, int *wstatus)
{
	for (;;) {
		drain(p);
		int r = reap(p, w, wstatus);
		if (r != 0 || (options & WNOHANG))
			return r;
		process_take_signals(p);
		if (interrupting_signal(p))
			return -EINTR;
		struct pollfd pfd = {.fd = p->fam.pt->wake_fd, .events = POLLIN};
		if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			return -EINTR; /* the execution deadline */
	}
}

bool process_wait_would_block(struct proc *p, const struct sys_args *a, struct pollfd *pfd)
{
	struct child_wait w = {.idtype = P_ALL};
	int options;
	if (a->nr == __NR_wait4) {
		int pid = (int)a->a[0];
		w.idtype = pid > 0 ? P_PID : pid == -1 ? P_ALL : P_PGID;
		w.id = pid > 0 ? pid : pid < -1 ? -pid : 0;
		options = (int)a->a[2];
	} else {
		w.idtype = (int)a->a[0];
		w.id = (int)a->a[1];
		options = (int)a->a[3];
		if (w.idtype == P_PIDFD) {
			struct fd_entry *f = fdtab_get(&p->fdt, w.id);
			if (!f || !f->pidfd)
				return false;
			w.idtype = P_PID;
			w.id = f->pidfd;
		}
	}
	if ((options & WNOHANG) || !p->fam.pt)
		return false;
	drain(p);
	w.nowait = true;
	int st;
	if (reap(p, &w, &st) != 0)
		return false; /* a zombie to reap, or no child: the call returns at once */
	*pfd = (struct pollfd){.fd = p->fam.pt->wake_fd, .events = POLLIN};
	return true;
}

long sys_wait4(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0], options = (int)a->a[2];
	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL))
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH;
	struct child_wait w = {.idtype = pid > 0     ? P_PID
	                                 : pid == -1 ? P_ALL
	                                             : P_PGID,
	                       .id = pid > 0    ? pid
	                             : pid < -1 ? -pid
	                                        : 0};
	int wstatus = 0;
	long r = wait_child(p, &w, options, &wstatus);
	if (r > 0 && a->a[1]) {
		int err = copy_to_guest(p, a->a[1], &wstatus, sizeof(wstatus));
		if (err)
			return err;
	}
	if (r >= 0 && a->a[3]) {
		struct rusage ru;
		memset(&ru, 0, sizeof(ru));
		int err = copy_to_guest(p, a->a[3], &ru, sizeof(ru));
		if (err)
			return err;
	}
	return r;
}

/* The SIGCHLD siginfo waitid fills in (include/uapi/asm-generic/siginfo.h). */
struct chld_info {
	int signo, errno_, code, pad;
	int pid;
	uint32_t uid;
	int status;
	int pad2;
	int64_t utime, stime;
	uint8_t rest[128 - 48];
};
_Static_assert(sizeof(struct chld_info) == 128, "siginfo size");

long sys_waitid(struct proc *p, const struct sys_args *a)
{
	int idtype = (int)a->a[0], options = (int)a->a[3];
	if (options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WCLONE | __WALL))
		return -EINVAL;
	if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
		return -EINVAL;
	if (idtype != P_ALL && idtype != P_PID && idtype != P_PGID && idtype != P_PIDFD)
		return -EINVAL;
	struct child_wait w = {.idtype = idtype, .id = (int)a->a[1], .nowait = options & WNOWAIT};
	if (idtype == P_PIDFD) {
		struct fd_entry *f = fdtab_get(&p->fdt, w.id);
		if (!f || !f->pidfd)
			return -EBADF;
		w.idtype = P_PID;
		w.id = f->pidfd;
	}
	if (idtype == P_PID && w.id <= 0)
		return -EINVAL;
	int wstatus = 0;
	long r = (options & WEXITED) ? wait_child(p, &w, options, &wstatus) : -ECHILD;
	if (r < 0)
		return r;
	struct chld_info info;
	memset(&info, 0, sizeof(info));
	if (r > 0) {
		info.signo = SIGCHLD;
		info.pid = (int)r;
		info.uid = getuid();
		if (WIFEXITED(wstatus)) {
			info.code = 1; /* CLD_EXITED */
			info.status = WEXITSTATUS(wstatus);
		} else {
			info.code = 2; /* CLD_KILLED */
			info.status = WTERMSIG(wstatus);
		}
	}
	if (a->a[2]) {
		int err = copy_to_guest(p, a->a[2], &info, sizeof(info));
		if (err)
			return err;
	}
	if (a->a[4]) {
		struct rusage ru;
		memset(&ru, 0, sizeof(ru));
		int err = copy_to_guest(p, a->a[4], &ru, sizeof(ru));
		if (err)
			return err;
	}
	return 0;
}

int process_ppid(struct proc *p)
{
	if (!p->fam.pt && p->srv.tmpl && p->srv.tmpl->fam.pt)
		return process_ppid(p->srv.tmpl);
	if (!p->fam.pt)
		return PROC_GUEST_PPID;
	pthread_mutex_lock(&pt_lock);
	int ppid = p->fam.pt->ppid;
	pthread_mutex_unlock(&pt_lock);
	return ppid == 0 ? PROC_GUEST_PPID : ppid < 0 ? 1 : ppid;
}

long sys_getppid(struct proc *p, const struct sys_args *a)
{
	return process_ppid(p);
}

int process_set_pdeathsig(struct proc *p, int sig)
{
	if (!process_self(p))
		return -ENOMEM;
	pthread_mutex_lock(&pt_lock);
	p->fam.pt->pdeathsig = sig;
	pthread_mutex_unlock(&pt_lock);
	return 0;
}

int process_pdeathsig(struct proc *p)
{
	if (!p->fam.pt)
		return 0;
	pthread_mutex_lock(&pt_lock);
	int sig = p->fam.pt->pdeathsig;
	pthread_mutex_unlock(&pt_lock);
	return sig;
}

bool process_signal_interrupts(struct proc *p, uint64_t mask)
{
	return p->thr.cur->pending & ~mask & catching_mask(p);
}

bool process_has_live_children(struct proc *p)
{
	if (!p->fam.pt)
		return false;
	bool r = false;
	pthread_mutex_lock(&pt_lock);
	for (struct pt_entry *c = pt_head; c && !r; c = c->next)
		r = c->parent == p->fam.pt && c != p->fam.pt && !c->ended;
	pthread_mutex_unlock(&pt_lock);
	return r;
}

void proc_end_first_and_wait(struct proc *p, int wstatus)
{
	/* Its files close as a process's do at its end: a child reading a pipe from it (a
	 * multiprocessing forkserver watches one to learn that its parent is gone) sees EOF.
	 * The table stays usable for proc_destroy. */
	int limit = p->fdt.limit;
	fdtab_fini(&p->fdt);
	fdtab_init(&p->fdt, limit);
	struct pt_entry *e = p->fam.pt;
	if (e) {
		p->fam.pt = NULL;
		process_release_owner(e);
		process_exited(e, wstatus); /* its children are orphaned (getppid: 1), as on Linux */
	}
	for (;;) {
		int live = 0;
		pthread_mutex_lock(&pt_lock);
		for (struct pt_entry *c = pt_head; c; c = c->next)
			live += c->ran && !c->ended;
		pthread_mutex_unlock(&pt_lock);
		if (!live)
			return;
		poll(NULL, 0, 50);
	}
}
