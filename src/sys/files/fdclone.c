/* fdclone.c - copy a process's fd table for a forked process (and again on each reset).
 *
 * A plain dup would share too much between request VMs: a file's offset, an epoll set, an
 * eventfd's counter, a pipe's buffer.  So each kind of host object gets what isolation
 * needs: listening sockets are shared on purpose (the kernel hands each connection to one
 * VM), marked `shared` so that no request VM can change them for the others (net.c, io.c);
 * regular files open read-only or read-write, and directories, are reopened at the same
 * offset (files open only for writing, logs and stdio, stay shared); pipes and socketpairs
 * are recreated as pairs (what the template left in them is not carried over); eventfds
 * and timerfds are recreated with the state the kernel reports in /proc/self/fdinfo; epoll
 * sets are rebuilt from their fdinfo registrations, pointing at the new table's host fds.
 * Other objects (connected sockets, terminals, memfds) are dup'd.
 *
 * Working that out (fstat, readlink, fdinfo parsing) is done once per template: a frozen
 * template's table never changes, so fdtab_plan_clone records what each fd takes, and
 * every reset only makes the new objects (a C epoll server's table: 66 -> ~20 us here).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "sys/files/fdtab.h"
#include "sys/proc_impl.h"
#include "util/array.h"

void fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
}

void fd_info(int fd, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	buf[0] = 0;
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return;
	ssize_t n = read(f, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
	close(f);
}

static const char *info_field(const char *info, const char *name)
{
	const char *at = strstr(info, name);
	return at ? at + strlen(name) : NULL;
}

/* What cloning one template fd takes. */
enum step_how {
	STEP_NONE, /* a free slot */
	STEP_DUP, /* share the object */
	STEP_REOPEN, /* a file: open it again, same flags and offset */
	STEP_EVENTFD,
	STEP_TIMERFD,
	STEP_PIPE, /* the first fd of a template pipe: a new pipe for it and its peer */
	STEP_PIPE_PEER, /* the other end, made with its pipe */
	STEP_SOCKPAIR, /* the first fd of a template socketpair: a new pair, as for a pipe */
	STEP_SOCKPAIR_PEER, /* its other end, made with it */
	STEP_LISTENER, /* a listening socket: shared (a dup), marked so in the new table */
	STEP_EPOLL,
	STEP_TWIN, /* a dup of an earlier fd: shares that fd's new object */
};

struct epoll_reg {
	int fd; /* the registered fd, as a guest fd of the table */
	unsigned events;
	uint64_t data;
};

struct clone_step {
	enum step_how how;
	int other; /* STEP_TWIN: the fd to dup; STEP_PIPE, STEP_SOCKPAIR: its peer fd, or -1 */
	int flags; /* open / eventfd / timerfd / pipe2 / socket flags; STEP_LISTENER: O_NONBLOCK
	            * as the template's guest had it */
	int clock; /* STEP_TIMERFD */
	struct itimerspec left; /* STEP_TIMERFD: what the timer had left at the freeze */
	int end; /* STEP_PIPE: 0 read end, 1 write end */
	int peer_flags; /* STEP_SOCKPAIR: O_NONBLOCK of the other end */
	off_t off; /* STEP_REOPEN */
	uint64_t count; /* STEP_EVENTFD */
	struct epoll_reg *regs; /* STEP_EPOLL */
	size_t nregs, cap_regs;
};

struct clone_plan {
	int n;
	bool exclusive;
	struct clone_step *steps;
};

int timerfd_clock(int fd)
{
	char info[512];
	fd_info(fd, info, sizeof(info));
	const char *c = info_field(info, "clockid:");
	return c ? atoi(c) : CLOCK_MONOTONIC;
}

/* The template's guest fd whose host fd is h (what an epoll's fdinfo names), or -1. */
static int guest_fd_of(const struct fdtab *t, int h)
{
	for (int fd = 0; fd < t->cap; fd++)
		if (t->e[fd].host_fd == h)
			return fd;
	return -1;
}

static int plan_epoll(const struct fdtab *t, int ep, bool exclusive, struct clone_step *st)
{
	char info[16384];
	fd_info(ep, info, sizeof(info));
	for (const char *line = strstr(info, "tfd:"); line; line = strstr(line + 4, "tfd:")) {
		int tfd, fd;
		unsigned events;
		unsigned long long data;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 ||
		    (fd = guest_fd_of(t, tfd)) < 0)
			continue;
		/* One connection wakes one request VM, not all of them (EPOLLEXCLUSIVE).
		 * EPOLLEXCLUSIVE takes only these companions (epoll_ctl(2)); EPOLLRDHUP and the
		 * like mean nothing for a listening socket anyway. */
		if (exclusive && host_is_listener(tfd) && !(events & EPOLLONESHOT))
			events = (events & (EPOLLIN | EPOLLOUT | EPOLLET | EPOLLHUP | EPOLLERR | EPOLLWAKEUP)) |
			         EPOLLEXCLUSIVE;
		if (ARRAY_RESERVE(st->regs, st->cap_regs, st->nregs + 1, 8))
			return -ENOMEM;
		st->regs[st->nregs++] = (struct epoll_reg){fd, events, data};
	}
	return 0;
}

/* Which end of a pipe host fd h is. */
static int pipe_end(int h)
{
	return (fcntl(h, F_GETFL) & O_ACCMODE) == O_WRONLY;
}

static int plan_pipe(const struct fdtab *t, int fd, struct clone_step *steps)
{
	struct stat st, ost;
	int h = t->e[fd].host_fd;
	if (fstat(h, &st) < 0)
		return -errno;
	struct clone_step *s = &steps[fd];
	s->how = STEP_PIPE;
	s->end = pipe_end(h);
	s->flags = O_CLOEXEC | (fcntl(h, F_GETFL) & O_NONBLOCK);
	s->other = -1;
	for (int o = fd + 1; o < t->cap; o++) {
		const struct fd_entry *e = &t->e[o];
		if (e->host_fd < 0 || e->kind != FD_PIPE || steps[o].how != STEP_NONE || fstat(e->host_fd, &ost) < 0 ||
		    ost.st_ino != st.st_ino)
			continue;
		if (pipe_end(e->host_fd) == s->end) {
			steps[o] = (struct clone_step){.how = STEP_TWIN, .other = fd};
		} else if (s->other < 0) {
			s->other = o;
			steps[o] = (struct clone_step){.how = STEP_PIPE_PEER};
		} else {
			steps[o] = (struct clone_step){.how = STEP_TWIN, .other = s->other};
		}
	}
	return 0;
}

/* A socketpair end: a new pair per clone, so nothing one request VM writes into it reaches
 * another (a runtime's wake-up socketpair, say). */
static void plan_sockpair(const struct fdtab *t, int fd, struct clone_step *steps)
{
	const struct fd_entry *e = &t->e[fd];
	struct clone_step *s = &steps[fd];
	int type = 0, fl = fcntl(e->host_fd, F_GETFL);
	socklen_t len = sizeof(type);
	getsockopt(e->host_fd, SOL_SOCKET, SO_TYPE, &type, &len);
	s->how = STEP_SOCKPAIR;
	s->flags = type | ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
	s->other = -1;
	for (int o = fd + 1; o < t->cap; o++) {
		const struct fd_entry *oe = &t->e[o];
		if (oe->host_fd >= 0 && oe->ofd == e->pair && steps[o].how == STEP_NONE) {
			s->other = o;
			s->peer_flags = fcntl(oe->host_fd, F_GETFL) & O_NONBLOCK;
			steps[o] = (struct clone_step){.how = STEP_SOCKPAIR_PEER};
			return;
		}
	}
}

static int plan_one(const struct fdtab *t, int fd, bool exclusive, struct clone_step *steps)
{
	const struct fd_entry *e = &t->e[fd];
	struct clone_step *s = &steps[fd];
	if (e->host_fd < 0 || s->how != STEP_NONE)
		return 0;
	for (int o = 0; o < fd; o++)
		if (t->e[o].host_fd >= 0 && t->e[o].ofd == e->ofd) {
			/* A dup of an earlier entry shares its new object, as it did. */
			*s = (struct clone_step){.how = STEP_TWIN, .other = o};
			return 0;
		}
	if (e->kind == FD_PIPE)
		return plan_pipe(t, fd, steps);
	if (e->kind == FD_SOCKET && e->pair) {
		plan_sockpair(t, fd, steps);
		return 0;
	}
	if (e->kind == FD_SOCKET && host_is_listener(e->host_fd)) {
		*s = (struct clone_step){.how = STEP_LISTENER, .flags = fdtab_nonblock(e) ? O_NONBLOCK : 0};
		return 0;
	}
	if (e->kind == FD_EPOLL) {
		s->how = STEP_EPOLL;
		return plan_epoll(t, e->host_fd, exclusive, s);
	}
	char link[128];
	struct stat st;
	if (fstat(e->host_fd, &st) < 0)
		return -errno;
	int fl = fcntl(e->host_fd, F_GETFL);
	s->how = STEP_DUP;
	/* Read-only files and directories get their own description, at the template's
	 * offset, so every request reads from where the template was.  Files open for
	 * writing only stay shared: logs and the stdout/stderr kvmserver itself writes to would
	 * otherwise be overwritten by every request at the same offset.  A regular file the
	 * guest opened read-write (a data file; not the stdio it got from kvmserver, which
	 * has no guest path) gets its own description too: its content is the host file's,
	 * shared, but one request's reads and writes do not move the next one's offset. */
	int acc = fl & O_ACCMODE;
	if ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
	    (acc == O_RDONLY || (acc == O_RDWR && S_ISREG(st.st_mode) && e->path))) {
		fd_link(e->host_fd, link, sizeof(link));
		if (strncmp(link, "/memfd:", 7) != 0 && strncmp(link, "anon_inode:", 11) != 0) {
			s->how = STEP_REOPEN;
			s->flags = (fl & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) | O_CLOEXEC;
			s->off = lseek(e->host_fd, 0, SEEK_CUR);
		}
	} else if (e->kind == FD_EVENT) {
		fd_link(e->host_fd, link, sizeof(link));
		if (strstr(link, "[eventfd]")) {
			char info[512];
			fd_info(e->host_fd, info, sizeof(info));
			const char *c = info_field(info, "eventfd-count:");
			const char *sem = info_field(info, "eventfd-semaphore:");
			s->how = STEP_EVENTFD;
			s->count = c ? strtoull(c, NULL, 16) : 0;
			s->flags = EFD_CLOEXEC | ((fl & O_NONBLOCK) ? EFD_NONBLOCK : 0) |
			           (sem && atoi(sem) ? EFD_SEMAPHORE : 0);
		} else if (strstr(link, "[timerfd]")) {
			s->how = STEP_TIMERFD;
			s->clock = timerfd_clock(e->host_fd);
			timerfd_gettime(e->host_fd, &s->left);
			s->flags = TFD_CLOEXEC | ((fl & O_NONBLOCK) ? TFD_NONBLOCK : 0);
		}
	}
	return 0;
}

static void plan_free(struct clone_plan *plan)
{
	if (!plan)
		return;
	for (int i = 0; i < plan->n; i++)
		free(plan->steps[i].regs);
	free(plan->steps);
	free(plan);
}

static struct clone_plan *plan_make(const struct fdtab *t, bool exclusive, int *err)
{
	struct clone_plan *plan = calloc(1, sizeof(*plan));
	if (plan)
		plan->steps = calloc(t->cap ? (size_t)t->cap : 1, sizeof(*plan->steps));
	if (!plan || !plan->steps) {
		free(plan);
		*err = -ENOMEM;
		return NULL;
	}
	plan->n = t->cap;
	plan->exclusive = exclusive;
	*err = 0;
	for (int fd = 0; !*err && fd < t->cap; fd++)
		*err = plan_one(t, fd, exclusive, plan->steps);
	if (*err) {
		plan_free(plan);
		return NULL;
	}
	return plan;
}

/* The listener step fd takes (its own, or the one it is a dup of), or NULL. */
static const struct clone_step *listener_step(const struct clone_plan *plan, int fd)
{
	const struct clone_step *s = &plan->steps[fd];
	if (s->how == STEP_TWIN)
		s = &plan->steps[s->other];
	return s->how == STEP_LISTENER ? s : NULL;
}

int fdtab_plan_clone(struct fdtab *t, bool exclusive)
{
	int err;
	plan_free(t->plan);
	t->plan = plan_make(t, exclusive, &err);
	t->plan_free = plan_free;
	/* From now on the listeners are shared: the template's guest view of O_NONBLOCK is
	 * kept per fd, and the host description is made non-blocking once, so that no
	 * request VM's accept can block in the host on a connection another VM took. */
	for (int fd = 0; t->plan && fd < t->plan->n; fd++) {
		const struct clone_step *l = listener_step(t->plan, fd);
		if (!l)
			continue;
		t->e[fd].shared = true;
		t->e[fd].nonblock = l->flags & O_NONBLOCK;
		int fl = fcntl(t->e[fd].host_fd, F_GETFL);
		if (fl >= 0)
			fcntl(t->e[fd].host_fd, F_SETFL, fl | O_NONBLOCK);
	}
	return err;
}

/* A template's timer in a fork: on a clock that restarts at the freeze in a fork (requestvm.c),
 * armed with what it had left at the freeze, from now; otherwise (CLOCK_REALTIME, or a
 * table that is not frozen) with what the template's timer has left now. */
static void arm_timerfd(int nfd, const struct clone_step *s, int tmpl_fd, bool planned)
{
	struct itimerspec its = s->left;
	if (!(planned && clock_restarts_in_fork(s->clock)) && timerfd_gettime(tmpl_fd, &its) < 0)
		return;
	if (its.it_value.tv_sec || its.it_value.tv_nsec)
		timerfd_settime(nfd, 0, &its, NULL);
}

static int make_timerfd(const struct clone_step *s, int tmpl_fd, bool planned)
{
	int nfd = timerfd_create(s->clock, s->flags);
	if (nfd < 0)
		return -errno;
	arm_timerfd(nfd, s, tmpl_fd, planned);
	return nfd;
}

void fdtab_rearm_timers(struct fdtab *dst, const struct fdtab *tmpl)
{
	const struct clone_plan *plan = tmpl->plan;
	for (int fd = 0; plan && fd < plan->n && fd < dst->cap; fd++)
		if (plan->steps[fd].how == STEP_TIMERFD && dst->e[fd].host_fd >= 0)
			arm_timerfd(dst->e[fd].host_fd, &plan->steps[fd], tmpl->e[fd].host_fd, true);
}

void fdtab_epoll_repoint(struct fdtab *t, int old_h, int new_h)
{
	char info[16384];
	for (int fd = 0; fd < t->cap; fd++) {
		if (t->e[fd].host_fd < 0 || t->e[fd].kind != FD_EPOLL)
			continue;
		int ep = t->e[fd].host_fd;
		fd_info(ep, info, sizeof(info));
		for (const char *line = strstr(info, "tfd:"); line; line = strstr(line + 4, "tfd:")) {
			int tfd;
			unsigned events;
			unsigned long long data;
			if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 || tfd != old_h)
				continue;
			struct epoll_event ev = {.events = events & ~(unsigned)EPOLLEXCLUSIVE, .data.u64 = data};
			epoll_ctl(ep, EPOLL_CTL_DEL, old_h, NULL);
			epoll_ctl(ep, EPOLL_CTL_ADD, new_h, &ev);
			break;
		}
	}
}

static int make_epoll(const struct fdtab *dst, const struct clone_step *s)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	for (size_t i = 0; i < s->nregs; i++) {
		const struct epoll_reg *r = &s->regs[i];
		int h = dst->e[r->fd].host_fd;
		if (h < 0)
			continue;
		struct epoll_event ev = {.events = r->events, .data.u64 = r->data};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, h, &ev) < 0) {
			int err = -errno;
			close(ep);
			return err;
		}
	}
	return ep;
}

/* The new host fd for template fd `fd` (a pipe also fills its peer), or -errno. */
static int make_one(struct fdtab *dst, const struct fdtab *src, const struct clone_step *s, int fd, bool planned)
{
	int h = src->e[fd].host_fd, nfd;
	switch (s->how) {
	case STEP_REOPEN: {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", h);
		nfd = open(path, s->flags);
		if (nfd < 0)
			break; /* e.g. unlinked: share it */
		if (s->off > 0)
			lseek(nfd, s->off, SEEK_SET);
		return nfd;
	}
	case STEP_EVENTFD:
		nfd = eventfd(0, s->flags);
		if (nfd >= 0 && s->count) {
			uint64_t v = s->count;
			ssize_t w = write(nfd, &v, sizeof(v));
			(void)w;
		}
		return nfd < 0 ? -errno : nfd;
	case STEP_TIMERFD: return make_timerfd(s, h, planned);
	case STEP_PIPE: {
		int pv[2];
		if (pipe2(pv, s->flags) < 0)
			return -errno;
		if (s->other >= 0)
			dst->e[s->other].host_fd = pv[!s->end];
		else
			close(pv[!s->end]);
		return pv[s->end];
	}
	case STEP_SOCKPAIR: {
		int sv[2];
		if (socketpair(AF_UNIX, (s->flags & ~SOCK_NONBLOCK) | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		if (s->flags & SOCK_NONBLOCK)
			fcntl(sv[0], F_SETFL, O_NONBLOCK);
		if (s->other >= 0) {
			if (s->peer_flags & O_NONBLOCK)
				fcntl(sv[1], F_SETFL, O_NONBLOCK);
			dst->e[s->other].host_fd = sv[1];
		} else {
			close(sv[1]);
		}
		return sv[0];
	}
	case STEP_EPOLL: return make_epoll(dst, s);
	case STEP_TWIN: nfd = fcntl(dst->e[s->other].host_fd, F_DUPFD_CLOEXEC, 0); return nfd < 0 ? -errno : nfd;
	default: break;
	}
	nfd = fcntl(h, F_DUPFD_CLOEXEC, 0);
	return nfd < 0 ? -errno : nfd;
}

/* Passes: pipes, the other objects, their dups, then epoll sets (their registrations
 * point at the new fds, dups included), then dups of epoll sets. */
static int pass_of(const struct clone_plan *plan, const struct clone_step *s)
{
	switch (s->how) {
	case STEP_PIPE:
	case STEP_SOCKPAIR: return 0;
	case STEP_TWIN: return plan->steps[s->other].how == STEP_EPOLL ? 4 : 2;
	case STEP_EPOLL: return 3;
	default: return 1;
	}
}

int fdtab_clone(struct fdtab *dst, const struct fdtab *src, bool exclusive)
{
	int err = 0;
	struct clone_plan *tmp = NULL;
	const struct clone_plan *plan = src->plan;
	if (!plan || plan->n != src->cap || plan->exclusive != exclusive) {
		if (!(tmp = plan_make(src, exclusive, &err)))
			return err;
		plan = tmp;
	}
	dst->limit = src->limit;
	dst->hard = src->hard;
	dst->next_ofd = src->next_ofd;
	dst->cap = src->cap;
	dst->plan = NULL;
	dst->e = calloc(src->cap ? (size_t)src->cap : 1, sizeof(*dst->e));
	if (!dst->e) {
		plan_free(tmp);
		return -ENOMEM;
	}
	for (int fd = 0; fd < src->cap; fd++)
		dst->e[fd].host_fd = -1;
	for (int pass = 0; !err && pass < 5; pass++) {
		for (int fd = 0; !err && fd < src->cap; fd++) {
			const struct clone_step *s = &plan->steps[fd];
			if (s->how == STEP_NONE || s->how == STEP_PIPE_PEER || s->how == STEP_SOCKPAIR_PEER ||
			    pass_of(plan, s) != pass)
				continue;
			int h = make_one(dst, src, s, fd, tmp == NULL);
			if (h < 0) {
				err = h;
				break;
			}
			dst->e[fd].host_fd = h;
		}
	}
	/* Everything but the host fds as the template has it. */
	for (int fd = 0; !err && fd < src->cap; fd++) {
		if (dst->e[fd].host_fd < 0)
			continue;
		int h = dst->e[fd].host_fd;
		dst->e[fd] = src->e[fd];
		dst->e[fd].host_fd = h;
		dst->e[fd].path = src->e[fd].path ? strdup(src->e[fd].path) : NULL;
		const struct clone_step *l = listener_step(plan, fd);
		if (l) {
			dst->e[fd].shared = true;
			dst->e[fd].nonblock = l->flags & O_NONBLOCK;
		}
	}
	plan_free(tmp);
	if (err)
		fdtab_fini(dst);
	return err;
}
