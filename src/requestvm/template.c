/* template.c - server mode in the syscall layer: the first wait on a listening socket stops
 * the main VM (it becomes the template), and an ephemeral request VM takes exactly one
 * connection and stops when it is closed. */
#include <asm/unistd.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/blocking.h"
#include "sys/proc_impl.h"
#include "requestvm/template.h"
#include "sys/hooks.h"
#include "sys/processes/process.h"
#include "sys/signals/signal.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "util/log.h"

bool serve_listener_fd(struct proc *p, int fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, fd);
	/* A request VM's table is its worker's alone; a template's is read by every worker. */
	return e && fd_listener(e, p->srv.tmpl != NULL);
}

/* The same from /proc/self/fdinfo ("tfd: N events: ..."): any registered host fd that is a
 * listening socket. */
static bool epoll_info_has_listener(int ep)
{
	char path[64], info[16384];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	ssize_t n = read(f, info, sizeof(info) - 1);
	close(f);
	info[n > 0 ? n : 0] = 0;
	for (const char *line = strstr(info, "tfd:"); line; line = strstr(line + 4, "tfd:")) {
		int tfd;
		if (sscanf(line, "tfd: %d", &tfd) == 1 && host_is_listener(tfd))
			return true;
	}
	return false;
}

/* Does host epoll instance ep watch one of p's listening sockets?  This runs at every
 * epoll_wait of a request VM until it takes its connection, and for every one the ring
 * thread is asked to run (serve_ring_ok), so it is asked cheaply: kcmp(2) compares ep's
 * registration of a host fd with that fd's file, ~1 us per listener, where reading
 * /proc/self/fdinfo takes 15-20 us under nested KVM.  Without kcmp (a kernel built
 * without it), fdinfo. */
static bool epoll_has_listener(struct proc *p, int ep)
{
	pid_t self = getpid();
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		if (!serve_listener_fd(p, fd))
			continue;
		int h = p->fdt.e[fd].host_fd;
		struct kcmp_epoll_slot slot = {.efd = (uint32_t)ep, .tfd = (uint32_t)h, .toff = 0};
		long r = syscall(SYS_kcmp, self, self, KCMP_EPOLL_TFD, h, (unsigned long)&slot);
		if (r == 0)
			return true;
		if (r < 0 && errno != ENOENT)
			return epoll_info_has_listener(ep);
	}
	return false;
}

/* --- several processes (a pre-fork server) ------------------------------------------------ */

/* The process that first waited on a listener while booting: the template.  Any other that
 * waits on one afterwards is held there (template.c) until release_fd is written. */
static pthread_mutex_t tmpl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct proc *tmpl_claim;
static bool released;
static int release_fd = -1;

bool serve_claim_template(struct proc *p)
{
	pthread_mutex_lock(&tmpl_lock);
	if (!tmpl_claim) {
		tmpl_claim = p;
		if (release_fd < 0)
			release_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	bool mine = tmpl_claim == p;
	pthread_mutex_unlock(&tmpl_lock);
	return mine;
}

bool serve_template_elsewhere(const struct proc *p)
{
	pthread_mutex_lock(&tmpl_lock);
	bool r = tmpl_claim && tmpl_claim != p;
	pthread_mutex_unlock(&tmpl_lock);
	return r;
}

void serve_release_held(void)
{
	pthread_mutex_lock(&tmpl_lock);
	released = true;
	uint64_t one = 1;
	if (release_fd >= 0)
		(void)!write(release_fd, &one, sizeof(one)); /* never read: stays readable */
	pthread_mutex_unlock(&tmpl_lock);
}

bool serve_held_released(int *fd)
{
	pthread_mutex_lock(&tmpl_lock);
	bool r = released;
	*fd = release_fd;
	pthread_mutex_unlock(&tmpl_lock);
	return r;
}

/* Would this call wait for a connection?  Which kind of wait it is, or 0.  What the call
 * waits on comes from its table row (blocking.h), as for the scheduler. */
static enum proc_wait_kind listener_wait(struct proc *p, const struct sys_args *a)
{
	uint8_t how = wait_row(a->nr)->how;
	if (how != WH_ACCEPT && how != WH_POLL && how != WH_SELECT && how != WH_EPOLL)
		return 0; /* cheap: this runs for every call before the freeze */
	struct wait_req req;
	if (!wait_decode(p, a, &req) || req.timeout_ns == 0)
		return 0;
	for (int i = 0; i < req.n; i++) {
		if (!(req.events[i] & POLLIN))
			continue;
		switch (req.w->how) {
		case WH_ACCEPT:
			if (serve_listener_fd(p, req.guest_fd[i]))
				return PROC_WAIT_ACCEPT;
			break;
		case WH_EPOLL:
			if (epoll_has_listener(p, req.host_fd[i]))
				return PROC_WAIT_EPOLL;
			break;
		case WH_POLL:
		case WH_SELECT:
			if (serve_listener_fd(p, req.guest_fd[i]))
				return PROC_WAIT_POLL;
			break;
		default: break;
		}
	}
	return 0;
}

static uint64_t inode_of(int h)
{
	struct stat st;
	return fstat(h, &st) == 0 ? st.st_ino : 0;
}

/* Is the accepted connection still open in some guest fd? */
static bool conn_open(struct proc *p)
{
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		const struct fd_entry *e = &p->fdt.e[fd];
		if (e->host_fd >= 0 && e->kind == FD_SOCKET && inode_of(e->host_fd) == p->srv.conn_ino)
			return true;
	}
	return false;
}

/* After taking its connection, an ephemeral VM no longer sees the listener in its epoll
 * sets (its own, rebuilt on each reset). */
static void hide_listeners(struct proc *p)
{
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		if (p->fdt.e[fd].host_fd < 0 || p->fdt.e[fd].kind != FD_EPOLL)
			continue;
		for (int l = 0; l < p->fdt.cap; l++)
			if (serve_listener_fd(p, l))
				epoll_ctl(p->fdt.e[fd].host_fd, EPOLL_CTL_DEL, p->fdt.e[l].host_fd, NULL);
	}
}

/* Has one of the process's listening sockets a connection waiting? */
static bool listener_ready(struct proc *p)
{
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		struct pollfd pf = {.fd = p->fdt.e[fd].host_fd, .events = POLLIN};
		if (serve_listener_fd(p, fd) && poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN))
			return true;
	}
	return false;
}

/* Does some host fd (any guest process's: a child forked while serving the request holds
 * dups) still refer to the connection socket with inode ino? */
static bool conn_held_anywhere(uint64_t ino)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return false;
	char want[48], path[300], link[64];
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)ino);
	bool held = false;
	for (struct dirent *de; !held && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		held = n > 0 && (size_t)n == strlen(want) && memcmp(link, want, (size_t)n) == 0;
	}
	closedir(d);
	return held;
}

/* A wait held as if no connection ever came: it ends at its own timeout (with what Linux
 * writes then), with EINTR for a signal the process takes, or when `over` says so
 * (true returned: the caller decides).  Used for a process that waits on a listener while
 * another is the template, and for an ephemeral request VM whose connection a child
 * still holds.  The host thread blocks on the process's wake fd (signals, a child's end)
 * and the release fd; `recheck_ms` bounds each wait for conditions nothing signals. */
static bool hold_wait(struct proc *p, const struct sys_args *a, const struct wait_req *req, bool (*over)(struct proc *),
                      int recheck_ms, long *ret)
{
	uint64_t deadline = req->timeout_ns < 0 ? 0 : vm_now_ns() + (uint64_t)req->timeout_ns;
	if (!process_self(p)) {
		*ret = -ENOMEM;
		return false;
	}
	for (;;) {
		/* Emptied before anything is looked at: what comes after writes it again. */
		int wake = process_wake_fd(p, true);
		if (over(p))
			return true;
		if (vm_signals_pending())
			signal_take_host(p);
		process_take_signals(p);
		/* A signal the thread takes once the call returns (its own mask; and the call's,
		 * which it waits with). */
		uint64_t mask = p->thr.cur->sigmask | (req->has_mask ? req->mask : 0);
		if (process_signal_interrupts(p, mask)) {
			*ret = -EINTR;
			return false;
		}
		uint64_t now = vm_now_ns();
		if (deadline && now >= deadline) {
			*ret = wait_timed_out_args(p, a);
			return false;
		}
		int rfd = -1;
		serve_held_released(&rfd);
		struct pollfd fds[2] = {{.fd = wake, .events = POLLIN}, {.fd = rfd, .events = POLLIN}};
		int ms = recheck_ms;
		if (deadline) {
			uint64_t left_ms = (deadline - now + 999999) / 1000000;
			if (ms < 0 || left_ms < (uint64_t)ms)
				ms = (int)left_ms;
		}
		if (poll(fds, 2, ms) < 0 && errno == EINTR && !vm_signals_pending()) {
			*ret = -EINTR; /* the execution deadline */
			return false;
		}
	}
}

static bool held_released(struct proc *p)
{
	(void)p;
	int fd;
	return serve_held_released(&fd);
}

static bool conn_released(struct proc *p)
{
	return !conn_held_anywhere(p->srv.conn_ino);
}

/* Booting: the first process of the tree to wait on a listener is the template; another
 * (a pre-fork server's master or sibling worker, or one started later) is held at its
 * wait, taking no connection, until released (-t 1) or kvmserver ends. */
static bool boot_listener_wait(struct proc *p, const struct sys_args *a, enum proc_wait_kind kind, long *ret)
{
	if (p->srv.let_through) {
		p->srv.let_through = false;
		return false;
	}
	if (!serve_claim_template(p)) {
		struct wait_req req;
		if (!wait_decode(p, a, &req))
			return false;
		if (p->cfg.verbose)
			log_msg("process %d waits on a listener another process serves from: held there", p->id.pid);
		if (hold_wait(p, a, &req, held_released, -1, ret))
			return false; /* released: the call runs */
		return true;
	}
	p->srv.wait_kind = kind;
	p->end.stop = PROC_LISTENING;
	if (p->cfg.verbose) {
		char nbuf[32];
		log_msg("process %d thread %d waits for connections: %s(%lld)", p->id.pid, p->thr.cur->tid,
		        sys_name(a->nr, nbuf, sizeof(nbuf)), (long long)a->a[0]);
	}
	*ret = SYS_RESUMED;
	return true;
}

bool serve_before(struct proc *p, const struct sys_args *a, long *ret)
{
	if (p->srv.mode == PROC_MODE_BOOT) {
		enum proc_wait_kind kind = listener_wait(p, a);
		int rfd;
		if (!kind) {
			/* A held process (gunicorn's sync worker tries a non-blocking accept after
			 * each wait) takes no connection either. */
			if ((a->nr == __NR_accept || a->nr == __NR_accept4) && serve_template_elsewhere(p) &&
			    !serve_held_released(&rfd) && serve_listener_fd(p, (int)a->a[0])) {
				*ret = -EAGAIN;
				return true;
			}
			return false;
		}
		if (serve_held_released(&rfd) && serve_template_elsewhere(p))
			return false; /* -t 1: the template and every other process run as programs */
		return boot_listener_wait(p, a, kind, ret);
	}
	if (p->srv.mode != PROC_MODE_EPHEMERAL)
		return false;
	/* Its connection is closed here but a child it forked still holds it (a forking
	 * server's parent closes its copy at once): the request goes on until the children
	 * let it go; until then the VM's waits for connections see none. */
	if (p->srv.conn_closed && listener_wait(p, a)) {
		struct wait_req req;
		if (!wait_decode(p, a, &req))
			return false;
		if (hold_wait(p, a, &req, conn_released, 20, ret)) {
			p->end.stop = PROC_CONN_DONE;
			*ret = SYS_RESUMED;
		}
		return true;
	}
	if ((a->nr == __NR_accept || a->nr == __NR_accept4) && p->srv.conn_ino && serve_listener_fd(p, (int)a->a[0])) {
		*ret = -EAGAIN; /* one connection per request VM */
		return true;
	}
	/* Woken with the others for a connection another VM took (EPOLLEXCLUSIVE may wake
	 * several): back to proc_await_connection rather than block in the guest, where a
	 * drain could not reach it. */
	if (!p->srv.conn_ino && listener_wait(p, a) && !listener_ready(p)) {
		p->end.stop = PROC_CONN_DONE;
		*ret = SYS_RESUMED;
		return true;
	}
	/* Shut down and back to waiting for connections: the request is over. */
	if (p->srv.conn_shut && listener_wait(p, a)) {
		p->end.stop = PROC_CONN_DONE;
		*ret = SYS_RESUMED;
		return true;
	}
	return false;
}

uint64_t proc_connections_taken(const struct proc *p)
{
	return p->srv.conns_taken;
}

/* Whether the ring thread may run call `a` (src/sys/ring.c): never one serve_before could
 * stop the process at or hold (it only answers EAGAIN or lets the call run then), nor one
 * serve_after arms the request deadline for. */
static bool serve_ring_ok(struct proc *p, const struct sys_args *a)
{
	bool accept = a->nr == __NR_accept || a->nr == __NR_accept4;
	switch (p->srv.mode) {
	case PROC_MODE_BOOT: return !accept && listener_wait(p, a) == PROC_WAIT_NONE; /* where it stops */
	case PROC_MODE_SERVE:
		/* accept arms the request deadline: a timer of the vCPU's thread */
		return !accept || !p->srv.max_request_ns;
	case PROC_MODE_EPHEMERAL:
		/* Once its connection is taken, a request VM's accepts get EAGAIN (serve_before)
		 * and its waits on the listeners run as they are, until the shutdown, or until its
		 * connection is closed while a child holds it (then serve_before holds the wait). */
		/* A non-blocking accept that takes the connection runs here too, when the
		 * request deadline can be armed from this thread (serve_after). */
		if (accept)
			return serve_listener_fd(p, (int)a->a[0]) &&
			       (p->srv.conn_ino || (listener_wait(p, a) == PROC_WAIT_NONE &&
			                            (!p->srv.max_request_ns || vm_deadline_remote_ok(p->vm))));
		return listener_wait(p, a) == PROC_WAIT_NONE ||
		       (p->srv.conn_ino && !p->srv.conn_shut && !p->srv.conn_closed);
	default: return false;
	}
}

void serve_after(struct proc *p, const struct sys_args *a, long ret)
{
	switch (a->nr) {
	case __NR_accept:
	case __NR_accept4:
		if (ret < 0 || !serve_listener_fd(p, (int)a->a[0]))
			return;
		p->srv.conns_taken++;
		if (p->srv.conn_counter)
			__atomic_fetch_add(p->srv.conn_counter, 1, __ATOMIC_RELAXED);
		if (p->srv.max_request_ns) {
			uint64_t at = vm_now_ns() + p->srv.max_request_ns;
			/* On the ring thread the timer is the vCPU thread's (serve_ring_ok checked it). */
			if (sys_on_ring_thread())
				vm_set_deadline_remote(p->vm, at);
			else
				vm_set_deadline(p->vm, at);
		}
		if (p->srv.mode == PROC_MODE_EPHEMERAL && !p->srv.conn_ino) {
			p->srv.conn_ino = inode_of(host_fd_of(p, (uint64_t)ret));
			hide_listeners(p);
		}
		return;
	case __NR_close:
		if (p->srv.mode != PROC_MODE_EPHEMERAL || !p->srv.conn_ino || ret != 0 || p->srv.conn_closed ||
		    conn_open(p))
			return;
		if (process_has_live_children(p) && conn_held_anywhere(p->srv.conn_ino))
			p->srv.conn_closed = true; /* a child serves it: see serve_before */
		else
			p->end.stop = PROC_CONN_DONE;
		return;
	case __NR_shutdown:
		if (p->srv.mode == PROC_MODE_EPHEMERAL && p->srv.conn_ino && ret == 0 &&
		    (a->a[1] == SHUT_WR || a->a[1] == SHUT_RDWR) && inode_of(host_fd_of(p, a->a[0])) == p->srv.conn_ino)
			p->srv.conn_shut = true;
		return;
	default: return;
	}
}

const struct sys_serve_hooks template_hooks = {.before = serve_before,
                                               .after = serve_after,
                                               .ring_ok = serve_ring_ok,
                                               .ring_turnover = requestvm_ring_turnover};
