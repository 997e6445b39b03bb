/* fdtab.c - guest fd numbers to host fds (an array indexed by guest fd, like redis ae.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys/files/fdtab.h"

int fdtab_init(struct fdtab *t, int limit)
{
	t->cap = 0;
	t->e = NULL;
	t->plan = NULL;
	t->limit = t->hard = limit;
	return 0;
}

void fdtab_fini(struct fdtab *t)
{
	if (t->plan)
		t->plan_free(t->plan); /* fdclone.c's: the table does not know the plan's shape */
	t->plan = NULL;
	for (int fd = 0; fd < t->cap; fd++)
		fdtab_close(t, fd);
	free(t->e);
	t->e = NULL;
	t->cap = 0;
}

static int grow(struct fdtab *t, int fd)
{
	if (fd < t->cap)
		return 0;
	int cap = t->cap ? t->cap : 64;
	while (cap <= fd)
		cap *= 2;
	struct fd_entry *e = realloc(t->e, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (int i = t->cap; i < cap; i++)
		e[i] = (struct fd_entry){.host_fd = -1};
	t->e = e;
	t->cap = cap;
	return 0;
}

int fdtab_install(struct fdtab *t, int fd, int host_fd, enum fd_kind kind, bool cloexec)
{
	int err = fd < 0 || fd >= t->limit ? -EBADF : grow(t, fd);
	if (err) {
		close(host_fd);
		return err;
	}
	fdtab_close(t, fd);
	t->e[fd] = (struct fd_entry){.host_fd = host_fd, .kind = kind, .cloexec = cloexec, .ofd = ++t->next_ofd};
	return fd;
}

int fdtab_alloc(struct fdtab *t, int min_fd, int host_fd, enum fd_kind kind, bool cloexec)
{
	int fd = min_fd < 0 ? 0 : min_fd;
	while (fd < t->cap && t->e[fd].host_fd >= 0)
		fd++;
	if (fd >= t->limit) {
		close(host_fd);
		return -EMFILE;
	}
	return fdtab_install(t, fd, host_fd, kind, cloexec);
}

struct fd_entry *fdtab_get(struct fdtab *t, int fd)
{
	if (fd < 0 || fd >= t->cap || t->e[fd].host_fd < 0)
		return NULL;
	return &t->e[fd];
}

bool fdtab_nonblock(const struct fd_entry *e)
{
	if (e->shared)
		return e->nonblock;
	int fl = fcntl(e->host_fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

void fdtab_set_nonblock(struct fdtab *t, unsigned ofd, bool on)
{
	for (int fd = 0; fd < t->cap; fd++)
		if (t->e[fd].host_fd >= 0 && t->e[fd].shared && t->e[fd].ofd == ofd)
			t->e[fd].nonblock = on;
}

int fdtab_close(struct fdtab *t, int fd)
{
	struct fd_entry *e = fdtab_get(t, fd);
	if (!e)
		return -EBADF;
	close(e->host_fd);
	free(e->path);
	e->path = NULL;
	e->host_fd = -1;
	return 0;
}

bool host_is_listener(int h)
{
	int on = 0;
	socklen_t len = sizeof(on);
	return getsockopt(h, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* A server's request VM asks this of every socket at each wait until it has its
 * connection (template.c: a C hello, 12 times a request; Deno's, 31).  A socket starts or
 * stops listening only by listen(2) or shutdown(2), which bump the epoch; an answer is
 * kept for the host fd it was about (a dup, a clone or an unshared listener has another).
 * The epoch is read before asking the host, so a listen in another process meanwhile
 * makes the kept answer stale at once. */
static _Atomic unsigned listen_epoch = 1;

void fd_listen_changed(void)
{
	atomic_fetch_add(&listen_epoch, 1);
}

bool fd_listener(struct fd_entry *e, bool remember)
{
	if (e->host_fd < 0 || e->kind != FD_SOCKET)
		return false;
	if (e->shared)
		return true; /* the template's listener (a shutdown unshares it first: net.c) */
	unsigned epoch = atomic_load(&listen_epoch);
	if (e->known_epoch == epoch && e->known_fd == e->host_fd)
		return e->known_listener;
	bool on = host_is_listener(e->host_fd);
	if (remember) {
		e->known_epoch = epoch;
		e->known_fd = e->host_fd;
		e->known_listener = on;
	}
	return on;
}
