/* fdtab.h - the guest's file descriptor table.
 *
 * Guest fd numbers are the guest's own (0, 1, 2, then the lowest free, as Linux); each
 * open one owns a host fd (files, sockets, pipes, epoll, and emulated files such as
 * /proc/self/maps materialised into a memfd).  The host never hands the guest one of its
 * own fds: the guest's 0/1/2 are dups.  Ownership: the table owns every host_fd in it and
 * closes it on fdtab_close / fdtab_fini.  One thread uses a table at a time.
 */
#ifndef SYS_FDTAB_H
#define SYS_FDTAB_H

#include <stdbool.h>
#include <stddef.h>

enum fd_kind {
	FD_FILE, /* regular file, directory or device */
	FD_PIPE,
	FD_SOCKET,
	FD_EPOLL,
	FD_EVENT, /* eventfd, timerfd, signalfd */
	FD_SPECIAL, /* emulated content (/proc files) */
};

struct fd_entry {
	int host_fd; /* -1: this slot is free */
	enum fd_kind kind;
	bool cloexec;
	unsigned ofd; /* which open file description: dups share it (fdclone.c keeps them
	                   * sharing one object in a forked table) */
	bool async; /* O_ASYNC / FIOASYNC as the guest set it: never set on the host fd, whose
	             * SIGIO would go to kvmserver (io.c) */
	int owner; /* F_SETOWN's pid, recorded for F_GETOWN */
	int pidfd; /* a pidfd (process.c): the pid it refers to; 0 for other fds */
	char *path; /* the guest path it was opened by (owned; NULL if none): dirfd-relative
	                   * opens and /proc/self/fd readlink use it */
	bool shared; /* a request VM's listening socket: the host object is the template's,
	              * shared by every request VM, so what would change it is emulated for
	              * this VM alone (net.c, io.c) and its host fd is always non-blocking */
	bool nonblock; /* shared: O_NONBLOCK as the guest sees it */
	unsigned pair; /* a socketpair end: the other end's ofd (fdclone.c recreates the pair) */
	/* fd_listener's last answer: for host fd known_fd, while the listen epoch was
	 * known_epoch (0: none yet; a new entry starts without one). */
	int known_fd;
	unsigned known_epoch;
	bool known_listener;
};

struct clone_plan;

struct fdtab {
	struct fd_entry *e;
	int cap;
	int limit, hard; /* RLIMIT_NOFILE as the guest sees it: soft, hard (the soft one at first) */
	unsigned next_ofd;
	struct clone_plan *plan; /* a frozen template's: how to clone each fd (fdclone.c) */
	void (*plan_free)(struct clone_plan *); /* set with plan by fdclone.c: fdtab_fini frees it */
};

int fdtab_init(struct fdtab *t, int limit);
void fdtab_fini(struct fdtab *t);
/* Takes ownership of host_fd at the lowest free guest fd >= min_fd.  Returns the guest fd,
 * or -EMFILE / -ENOMEM (host_fd is then closed). */
int fdtab_alloc(struct fdtab *t, int min_fd, int host_fd, enum fd_kind kind, bool cloexec);
/* Takes ownership of host_fd at exactly guest fd `fd`, closing what was there (dup2). */
int fdtab_install(struct fdtab *t, int fd, int host_fd, enum fd_kind kind, bool cloexec);
/* The entry for guest fd `fd`, or NULL (the caller returns -EBADF). */
struct fd_entry *fdtab_get(struct fdtab *t, int fd);
/* Whether the guest sees e as non-blocking (O_NONBLOCK). */
bool fdtab_nonblock(const struct fd_entry *e);
/* Sets the guest's O_NONBLOCK on every shared entry of description ofd. */
void fdtab_set_nonblock(struct fdtab *t, unsigned ofd, bool on);
/* Closes guest fd `fd`: 0 or -EBADF. */
int fdtab_close(struct fdtab *t, int fd);
/* What kvmserver's /proc/self/fd link of host fd `fd` says ("anon_inode:[eventpoll]",
 * "socket:[123]", a path), and its fdinfo text; both NUL-terminated, empty if unreadable
 * (fdclone.c; the fork plan and snapshots read them). */
void fd_link(int fd, char *buf, size_t size);
void fd_info(int fd, char *buf, size_t size);
/* The clock a host timerfd runs on, from its fdinfo (fdclone.c). */
int timerfd_clock(int fd);
/* Whether host fd h is a listening socket (SO_ACCEPTCONN). */
bool host_is_listener(int h);
/* Whether entry e is a listening socket; remember: keep the answer in e (only where one
 * thread uses the table), until fd_listen_changed.  Call that after every listen(2) and
 * shutdown(2) of a host socket, in any process: only those change the answer. */
bool fd_listener(struct fd_entry *e, bool remember);
void fd_listen_changed(void);
/* dst becomes a copy of src for a forked process, isolated where it matters (fdclone.c);
 * exclusive: register listening sockets in rebuilt epoll sets with EPOLLEXCLUSIVE. */
int fdtab_clone(struct fdtab *dst, const struct fdtab *src, bool exclusive);
/* Work out once how to clone each of t's fds, for a table that no longer changes (a frozen
 * template's): fdtab_clone then only makes the new objects.  fdtab_fini frees it. */
int fdtab_plan_clone(struct fdtab *t, bool exclusive);
/* Every epoll set in t that watches host fd old_h watches new_h instead, with the same
 * events and data (fdclone.c; a shared listener replaced for one request VM, net.c). */
void fdtab_epoll_repoint(struct fdtab *t, int old_h, int new_h);
/* Re-arm, from now, the timerfds dst cloned from frozen template tmpl with what they had
 * left at the freeze (a fork's monotonic clock restarting, requestvm.c).  dst must be as
 * cloned: the guest has not run since. */
void fdtab_rearm_timers(struct fdtab *dst, const struct fdtab *tmpl);

#endif
