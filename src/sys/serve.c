/* serve.c - server mode in the syscall layer: the first wait on a listening socket stops
 * the main VM (it becomes the template), and an ephemeral request VM takes exactly one
 * connection and stops when it is closed. */
#include <asm/unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/proc_impl.h"
#include "sys/serve.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "util/log.h"

bool serve_is_listener(int h)
{
	int on = 0;
	socklen_t len = sizeof(on);
	return getsockopt(h, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

static int host_of(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
	return e ? e->host_fd : -1;
}

bool serve_listener_fd(struct proc *p, int fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, fd);
	return e && e->kind == FD_SOCKET && serve_is_listener(e->host_fd);
}

/* Does host epoll instance ep watch a listening socket?  Its registrations are in
 * /proc/self/fdinfo ("tfd: N events: ..."). */
static bool epoll_has_listener(int ep)
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
		if (sscanf(line, "tfd: %d", &tfd) == 1 && serve_is_listener(tfd))
			return true;
	}
	return false;
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
			if (epoll_has_listener(req.host_fd[i]))
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
		if (e->host_fd >= 0 && e->kind == FD_SOCKET && inode_of(e->host_fd) == p->conn_ino)
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

bool serve_before(struct proc *p, const struct sys_args *a, long *ret)
{
	if (p->mode == PROC_MODE_BOOT) {
		enum proc_wait_kind kind = listener_wait(p, a);
		if (!kind)
			return false;
		if (p->let_through) {
			p->let_through = false;
			return false;
		}
		p->wait_kind = kind;
		p->stop = PROC_LISTENING;
		if (p->cfg.verbose) {
			char nbuf[32];
			log_msg("thread %d waits for connections: %s(%lld)", p->cur->tid,
			        sys_name(a->nr, nbuf, sizeof(nbuf)), (long long)a->a[0]);
		}
		*ret = SYS_RESUMED;
		return true;
	}
	if (p->mode != PROC_MODE_EPHEMERAL)
		return false;
	if ((a->nr == __NR_accept || a->nr == __NR_accept4) && p->conn_ino && serve_listener_fd(p, (int)a->a[0])) {
		*ret = -EAGAIN; /* one connection per request VM */
		return true;
	}
	/* Woken with the others for a connection another VM took (EPOLLEXCLUSIVE may wake
	 * several): back to proc_await_connection rather than block in the guest, where a
	 * drain could not reach it. */
	if (!p->conn_ino && listener_wait(p, a) && !listener_ready(p)) {
		p->stop = PROC_CONN_DONE;
		*ret = SYS_RESUMED;
		return true;
	}
	/* Shut down and back to waiting for connections: the request is over. */
	if (p->conn_shut && listener_wait(p, a)) {
		p->stop = PROC_CONN_DONE;
		*ret = SYS_RESUMED;
		return true;
	}
	return false;
}

uint64_t proc_connections_taken(const struct proc *p)
{
	return p->conns_taken;
}

bool serve_ring_ok(struct proc *p, const struct sys_args *a)
{
	if (p->mode == PROC_MODE_RUN || p->vfork)
		return true;
	bool accept = a->nr == __NR_accept || a->nr == __NR_accept4;
	switch (p->mode) {
	case PROC_MODE_BOOT: return !accept && listener_wait(p, a) == PROC_WAIT_NONE; /* where it stops */
	case PROC_MODE_SERVE:
		/* accept arms the request deadline: a timer of the vCPU's thread */
		return !accept || !p->max_request_ns;
	case PROC_MODE_EPHEMERAL:
		/* Once its connection is taken, a request VM's accepts get EAGAIN (serve_before)
		 * and its waits on the listeners run as they are, until the shutdown. */
		if (accept)
			return p->conn_ino && serve_listener_fd(p, (int)a->a[0]);
		return listener_wait(p, a) == PROC_WAIT_NONE || (p->conn_ino && !p->conn_shut);
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
		p->conns_taken++;
		if (p->conn_counter)
			__atomic_fetch_add(p->conn_counter, 1, __ATOMIC_RELAXED);
		if (p->max_request_ns)
			vm_set_deadline(p->vm, vm_now_ns() + p->max_request_ns);
		if (p->mode == PROC_MODE_EPHEMERAL && !p->conn_ino) {
			p->conn_ino = inode_of(host_of(p, (uint64_t)ret));
			hide_listeners(p);
		}
		return;
	case __NR_close:
		if (p->mode == PROC_MODE_EPHEMERAL && p->conn_ino && ret == 0 && !conn_open(p))
			p->stop = PROC_CONN_DONE;
		return;
	case __NR_shutdown:
		if (p->mode == PROC_MODE_EPHEMERAL && p->conn_ino && ret == 0 &&
		    (a->a[1] == SHUT_WR || a->a[1] == SHUT_RDWR) && inode_of(host_of(p, a->a[0])) == p->conn_ino)
			p->conn_shut = true;
		return;
	default: return;
	}
}
