/* fdclone.c - copy a process's fd table for a forked process (and again on each reset).
 *
 * A plain dup would share too much between request VMs: a file's offset, an epoll set, an
 * eventfd's counter, a pipe's buffer.  So each kind of host object gets what isolation
 * needs: listening sockets are shared on purpose (the kernel hands each connection to one
 * VM); files and directories are reopened at the same offset; pipes are recreated as
 * pairs; eventfds and timerfds are recreated with the state the kernel reports in
 * /proc/self/fdinfo; epoll sets are rebuilt from their fdinfo registrations, pointing at
 * the new table's host fds.  Other objects (connected sockets, terminals, memfds) are
 * dup'd. */
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

#include "sys/fdtab.h"
#include "sys/serve.h"

/* "anon_inode:[eventpoll]" and friends, from the /proc/self/fd link. */
static void fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
}

/* The fdinfo text of a host fd (NUL-terminated), or empty. */
static void fd_info(int fd, char *buf, size_t size)
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

static int reopen_file(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int nfd = open(path, (fl & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) | O_CLOEXEC);
	if (nfd < 0)
		return fcntl(fd, F_DUPFD_CLOEXEC, 0); /* e.g. unlinked: share it */
	off_t off = lseek(fd, 0, SEEK_CUR);
	if (off > 0)
		lseek(nfd, off, SEEK_SET);
	return nfd;
}

static int recreate_eventfd(int fd, const char *info)
{
	const char *c = info_field(info, "eventfd-count:");
	unsigned long long count = c ? strtoull(c, NULL, 16) : 0;
	int fl = fcntl(fd, F_GETFL);
	const char *sem = info_field(info, "eventfd-semaphore:");
	int flags = EFD_CLOEXEC | ((fl & O_NONBLOCK) ? EFD_NONBLOCK : 0) | (sem && atoi(sem) ? EFD_SEMAPHORE : 0);
	int nfd = eventfd(0, flags);
	if (nfd >= 0 && count) {
		uint64_t v = count;
		ssize_t w = write(nfd, &v, sizeof(v));
		(void)w;
	}
	return nfd < 0 ? -errno : nfd;
}

int timerfd_clock(int fd)
{
	char info[512];
	fd_info(fd, info, sizeof(info));
	const char *c = info_field(info, "clockid:");
	return c ? atoi(c) : CLOCK_MONOTONIC;
}

static int recreate_timerfd(int fd)
{
	int clock = timerfd_clock(fd);
	int fl = fcntl(fd, F_GETFL);
	int nfd = timerfd_create(clock, TFD_CLOEXEC | ((fl & O_NONBLOCK) ? TFD_NONBLOCK : 0));
	if (nfd < 0)
		return -errno;
	struct itimerspec its;
	if (timerfd_gettime(fd, &its) == 0 && (its.it_value.tv_sec || its.it_value.tv_nsec))
		timerfd_settime(nfd, 0, &its, NULL);
	return nfd;
}

/* Pipes: both ends of one template pipe become both ends of one new pipe. */
static int recreate_pipes(struct fdtab *dst, const struct fdtab *src)
{
	for (int fd = 0; fd < src->cap; fd++) {
		if (src->e[fd].host_fd < 0 || src->e[fd].kind != FD_PIPE || dst->e[fd].host_fd >= 0)
			continue;
		struct stat st;
		if (fstat(src->e[fd].host_fd, &st) < 0)
			return -errno;
		int fl = fcntl(src->e[fd].host_fd, F_GETFL);
		int pv[2];
		if (pipe2(pv, O_CLOEXEC | (fl & O_NONBLOCK)) < 0)
			return -errno;
		bool used[2] = {false, false};
		for (int other = fd; other < src->cap; other++) {
			struct stat ost;
			const struct fd_entry *e = &src->e[other];
			if (e->host_fd < 0 || e->kind != FD_PIPE || fstat(e->host_fd, &ost) < 0 ||
			    ost.st_ino != st.st_ino)
				continue;
			int end = (fcntl(e->host_fd, F_GETFL) & O_ACCMODE) == O_WRONLY;
			dst->e[other] = *e;
			dst->e[other].path = NULL;
			dst->e[other].host_fd = used[end] ? fcntl(pv[end], F_DUPFD_CLOEXEC, 0) : pv[end];
			used[end] = true;
		}
		for (int end = 0; end < 2; end++)
			if (!used[end])
				close(pv[end]);
	}
	return 0;
}

/* The new host fd for template host fd `h`, or -1. */
static int translate(const struct fdtab *dst, const struct fdtab *src, int h)
{
	for (int fd = 0; fd < src->cap; fd++)
		if (src->e[fd].host_fd == h)
			return dst->e[fd].host_fd;
	return -1;
}

static int rebuild_epoll(const struct fdtab *dst, const struct fdtab *src, int tmpl_ep, bool exclusive)
{
	char info[16384];
	fd_info(tmpl_ep, info, sizeof(info));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	for (const char *line = strstr(info, "tfd:"); line; line = strstr(line + 4, "tfd:")) {
		int tfd;
		unsigned events;
		unsigned long long data;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
			continue;
		int nh = translate(dst, src, tfd);
		if (nh < 0)
			continue;
		struct epoll_event ev = {.events = events, .data.u64 = data};
		/* One connection wakes one request VM, not all of them (EPOLLEXCLUSIVE).
		 * EPOLLEXCLUSIVE takes only these companions (epoll_ctl(2)); EPOLLRDHUP and the
		 * like mean nothing for a listening socket anyway. */
		if (exclusive && serve_is_listener(nh) && !(events & EPOLLONESHOT)) {
			struct epoll_event xev = ev;
			xev.events = (events & (EPOLLIN | EPOLLOUT | EPOLLET | EPOLLHUP | EPOLLERR | EPOLLWAKEUP)) |
			             EPOLLEXCLUSIVE;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, nh, &xev) == 0)
				continue;
		}
		if (epoll_ctl(ep, EPOLL_CTL_ADD, nh, &ev) < 0) {
			close(ep);
			return -errno;
		}
	}
	return ep;
}

static int clone_one(const struct fd_entry *e)
{
	char link[128];
	struct stat st;
	if (fstat(e->host_fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd_link(e->host_fd, link, sizeof(link));
		if (strncmp(link, "/memfd:", 7) != 0 && strncmp(link, "anon_inode:", 11) != 0)
			return reopen_file(e->host_fd);
	}
	if (e->kind == FD_EVENT) {
		fd_link(e->host_fd, link, sizeof(link));
		if (strstr(link, "[eventfd]")) {
			char info[512];
			fd_info(e->host_fd, info, sizeof(info));
			return recreate_eventfd(e->host_fd, info);
		}
		if (strstr(link, "[timerfd]"))
			return recreate_timerfd(e->host_fd);
	}
	int nfd = fcntl(e->host_fd, F_DUPFD_CLOEXEC, 0);
	return nfd < 0 ? -errno : nfd;
}

int fdtab_clone(struct fdtab *dst, const struct fdtab *src, bool exclusive)
{
	dst->limit = src->limit;
	dst->next_ofd = src->next_ofd;
	dst->cap = src->cap;
	dst->e = calloc(src->cap ? (size_t)src->cap : 1, sizeof(*dst->e));
	if (!dst->e)
		return -ENOMEM;
	for (int fd = 0; fd < src->cap; fd++)
		dst->e[fd].host_fd = -1;
	int err = recreate_pipes(dst, src);
	for (int pass = 0; !err && pass < 2; pass++) {
		/* Epoll sets last: their registrations point at the other new fds. */
		for (int fd = 0; !err && fd < src->cap; fd++) {
			const struct fd_entry *e = &src->e[fd];
			if (e->host_fd < 0 || dst->e[fd].host_fd >= 0 || (e->kind == FD_EPOLL) != (pass == 1))
				continue;
			/* A dup of an entry already cloned shares its new object, as it did. */
			int twin = -1;
			for (int o = 0; o < fd && twin < 0; o++)
				if (src->e[o].host_fd >= 0 && src->e[o].ofd == e->ofd && dst->e[o].host_fd >= 0)
					twin = o;
			int h = twin >= 0 ? fcntl(dst->e[twin].host_fd, F_DUPFD_CLOEXEC, 0)
			        : pass    ? rebuild_epoll(dst, src, e->host_fd, exclusive)
			                  : clone_one(e);
			if (h < 0) {
				err = h;
				break;
			}
			dst->e[fd] = *e;
			dst->e[fd].host_fd = h;
			dst->e[fd].path = e->path ? strdup(e->path) : NULL;
		}
	}
	if (err)
		fdtab_fini(dst);
	return err;
}
