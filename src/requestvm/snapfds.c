/* snapfds.c - the fd table of a template as descriptions of host objects, for a snapshot
 * file (snapfile.h, enum snap_fd_how): sockets with their options, epoll sets, memfds,
 * files, pipes and the rest, or the reason one cannot be brought back. */
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include "requestvm/snapsave.h"

/* ---- describing host fds -------------------------------------------------------------------- */
/* The peer inode of a connected AF_UNIX socket (sock_diag, UNIX_DIAG_PEER), or 0. */
static uint64_t unix_peer_ino(uint64_t ino)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return 0;
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
	        .nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
	        .req = {.sdiag_family = AF_UNIX,
	                .udiag_states = ~0u,
	                .udiag_ino = (uint32_t)ino,
	                .udiag_show = UDIAG_SHOW_PEER,
	                .udiag_cookie = {~0u, ~0u}},
	};
	uint64_t peer = 0;
	uint8_t buf[8192];
	struct timeval tv = {1, 0};
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(nl, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg)) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n >= (ssize_t)sizeof(*h) && NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
			struct unix_diag_msg *m = NLMSG_DATA(h);
			struct rtattr *a = (struct rtattr *)(m + 1);
			int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
			for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4)
					peer = *(uint32_t *)RTA_DATA(a);
		}
	}
	close(nl);
	return peer;
}

static int sock_int(int h, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof(v);
	return getsockopt(h, level, name, &v, &len) == 0 ? v : -1;
}

/* The socket options a listener passes on to accepted sockets or needs to bind again. */
static void save_sockopts(int h, int family, struct snap_fd *f)
{
	static const int opts[][2] = {{SOL_SOCKET, SO_REUSEADDR},
	                              {SOL_SOCKET, SO_REUSEPORT},
	                              {SOL_SOCKET, SO_KEEPALIVE},
	                              {IPPROTO_TCP, TCP_NODELAY},
	                              {IPPROTO_IPV6, IPV6_V6ONLY}};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]) && f->nopts < SNAP_SOCKOPTS; i++) {
		if ((opts[i][0] == IPPROTO_TCP && f->type != SOCK_STREAM) ||
		    (opts[i][0] == IPPROTO_TCP && family != AF_INET && family != AF_INET6) ||
		    (opts[i][0] == IPPROTO_IPV6 && family != AF_INET6))
			continue;
		int v = sock_int(h, opts[i][0], opts[i][1]);
		if (v > 0) {
			f->opts[f->nopts][0] = opts[i][0];
			f->opts[f->nopts][1] = opts[i][1];
			f->opts[f->nopts][2] = v;
			f->nopts++;
		}
	}
}

static bool same_file(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int guest_fd_of(const struct fdtab *t, int h)
{
	for (int fd = 0; fd < t->cap; fd++)
		if (t->e[fd].host_fd == h)
			return fd;
	return -1;
}

static int describe_socket(struct proc *p, int fd, struct snap_fd *f, char *why, size_t whylen)
{
	int h = p->fdt.e[fd].host_fd;
	f->family = sock_int(h, SOL_SOCKET, SO_DOMAIN);
	f->type = sock_int(h, SOL_SOCKET, SO_TYPE);
	f->protocol = sock_int(h, SOL_SOCKET, SO_PROTOCOL);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	bool named = getsockname(h, (struct sockaddr *)&ss, &len) == 0;
	bool un_path = f->family == AF_UNIX && named && len > offsetof(struct sockaddr_un, sun_path) &&
	               ((struct sockaddr_un *)&ss)->sun_path[0] != 0;
	bool inet_bound =
	        (f->family == AF_INET || f->family == AF_INET6) && named && ((struct sockaddr_in *)&ss)->sin_port != 0;
	bool un_abstract = f->family == AF_UNIX && named && len > offsetof(struct sockaddr_un, sun_path) + 1 &&
	                   ((struct sockaddr_un *)&ss)->sun_path[0] == 0;
	if (host_is_listener(h)) {
		if (un_path)
			return WHY("fd %d: listeners on AF_UNIX paths cannot be saved in a snapshot yet", fd);
		f->how = SFD_LISTEN;
		f->backlog = SOMAXCONN;
	} else {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		if (getpeername(h, (struct sockaddr *)&peer, &plen) == 0 || errno != ENOTCONN) {
			struct stat st;
			uint64_t other_ino = f->family == AF_UNIX && fstat(h, &st) == 0 ? unix_peer_ino(st.st_ino) : 0;
			int other = -1;
			/* The peer's first fd (later dups of it are twins of that one). */
			for (int o = 0; other_ino && other < 0 && o < p->fdt.cap; o++)
				if (p->fdt.e[o].host_fd >= 0 && fstat(p->fdt.e[o].host_fd, &st) == 0 &&
				    st.st_ino == other_ino)
					other = o;
			int pending = 0;
			if (other < 0)
				return WHY("fd %d: a connected socket cannot be saved in a snapshot", fd);
			if (ioctl(h, FIONREAD, &pending) == 0 && pending > 0)
				return WHY("fd %d: a socket pair with unread data cannot be saved in a snapshot", fd);
			f->how = SFD_SOCKPAIR;
			f->other = other;
			f->end = fd < other ? 0 : 1;
			return 0;
		}
		if (un_path)
			return WHY("fd %d: sockets bound to AF_UNIX paths cannot be saved in a snapshot yet", fd);
		f->how = SFD_SOCKET;
	}
	if (inet_bound || un_abstract) {
		f->addrlen = len < sizeof(f->addr) ? len : sizeof(f->addr);
		memcpy(f->addr, &ss, f->addrlen);
	}
	save_sockopts(h, f->family, f);
	return 0;
}

static int describe_epoll(struct proc *p, int fd, struct snap_fd *f, char *why, size_t whylen)
{
	char *info = malloc(65536);
	if (!info)
		return WHY("out of memory");
	fd_info(p->fdt.e[fd].host_fd, info, 65536);
	for (const char *line = strstr(info, "tfd:"); line; line = strstr(line + 4, "tfd:")) {
		int tfd, gfd;
		unsigned events;
		unsigned long long data;
		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 ||
		    (gfd = guest_fd_of(&p->fdt, tfd)) < 0)
			continue;
		if (p->fdt.e[gfd].kind == FD_EPOLL) {
			free(info);
			return WHY("fd %d: an epoll set inside an epoll set cannot be saved in a snapshot", fd);
		}
		struct snap_epoll_reg *r = realloc(f->regs, (f->nregs + 1) * sizeof(*r));
		if (!r) {
			free(info);
			return WHY("out of memory");
		}
		f->regs = r;
		f->regs[f->nregs++] = (struct snap_epoll_reg){gfd, events, data};
	}
	free(info);
	return 0;
}

static int describe_memfd(int h, struct snap_fd *f, uint8_t **data, char *why, size_t whylen, int fd)
{
	struct stat st;
	if (fstat(h, &st) < 0 || st.st_size > SNAP_MEMFD_MAX)
		return WHY("fd %d: emulated file too large for a snapshot", fd);
	*data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*data)
		return WHY("out of memory");
	ssize_t n = st.st_size ? pread(h, *data, (size_t)st.st_size, 0) : 0;
	if (n != st.st_size)
		return WHY("fd %d: cannot read emulated file", fd);
	f->how = SFD_MEMFD;
	f->data = *data;
	f->data_len = (uint64_t)n;
	f->off = (uint64_t)lseek(h, 0, SEEK_CUR);
	int seals = fcntl(h, F_GET_SEALS);
	f->seals = seals > 0 ? (uint32_t)seals : 0;
	return 0;
}

/* How guest fd `fd` comes back; 0, or -1 with the reason it cannot. */
static int describe_fd(struct proc *p, int fd, struct snap_fd *f, uint8_t **data, char *why, size_t whylen)
{
	const struct fd_entry *e = &p->fdt.e[fd];
	int h = e->host_fd;
	*f = (struct snap_fd){.fd = fd,
	                      .kind = e->kind,
	                      .cloexec = e->cloexec,
	                      .ofd = e->ofd,
	                      .async = e->async,
	                      .pair = e->pair,
	                      .owner = e->owner,
	                      .gpath = e->path,
	                      .other = -1};
	if (e->shared)
		return WHY("fd %d: a request VM's shared listener cannot be saved in a snapshot", fd);
	int fl = fcntl(h, F_GETFL);
	f->flags = fl < 0 ? 0 : fl;
	for (int o = 0; o < fd; o++)
		if (p->fdt.e[o].host_fd >= 0 && p->fdt.e[o].ofd == e->ofd) {
			f->how = SFD_TWIN;
			f->other = o;
			return 0;
		}
	for (int s = 0; s < 3; s++)
		if (e->kind == FD_FILE && same_file(h, s) && (fcntl(s, F_GETFL) & O_ACCMODE) == (fl & O_ACCMODE)) {
			f->how = SFD_STDIO;
			f->stdio = s;
			return 0;
		}
	char link[PATH_MAX];
	fd_link(h, link, sizeof(link));
	struct stat st;
	if (fstat(h, &st) < 0)
		return WHY("fd %d: %s", fd, strerror(errno));
	if (e->kind == FD_SPECIAL || strncmp(link, "/memfd:", 7) == 0)
		return describe_memfd(h, f, data, why, whylen, fd);
	switch (e->kind) {
	case FD_SOCKET: return describe_socket(p, fd, f, why, whylen);
	case FD_EPOLL: f->how = SFD_EPOLL; return describe_epoll(p, fd, f, why, whylen);
	case FD_PIPE: {
		int pending = 0;
		f->how = SFD_PIPE;
		f->end = (fl & O_ACCMODE) == O_WRONLY;
		if (!f->end && ioctl(h, FIONREAD, &pending) == 0 && pending > 0)
			return WHY("fd %d: a pipe with unread data cannot be saved in a snapshot", fd);
		struct stat ost;
		for (int o = 0; o < p->fdt.cap; o++) {
			const struct fd_entry *x = &p->fdt.e[o];
			if (o == fd || x->host_fd < 0 || x->kind != FD_PIPE || fstat(x->host_fd, &ost) < 0 ||
			    ost.st_ino != st.st_ino || ((fcntl(x->host_fd, F_GETFL) & O_ACCMODE) == O_WRONLY) == f->end)
				continue;
			/* The first fd of the peer's description (dups of it are twins). */
			bool first = true;
			for (int k = 0; k < o; k++)
				if (p->fdt.e[k].host_fd >= 0 && p->fdt.e[k].ofd == x->ofd)
					first = false;
			if (first) {
				f->other = o;
				break;
			}
		}
		return 0;
	}
	case FD_EVENT: {
		char info[512];
		fd_info(h, info, sizeof(info));
		if (strstr(link, "[eventfd]")) {
			const char *c = strstr(info, "eventfd-count:"), *sem = strstr(info, "eventfd-semaphore:");
			f->how = SFD_EVENTFD;
			f->count = c ? strtoull(c + 14, NULL, 16) : 0;
			f->flags = ((fl & O_NONBLOCK) ? EFD_NONBLOCK : 0) | (sem && atoi(sem + 18) ? EFD_SEMAPHORE : 0);
			return 0;
		}
		if (strstr(link, "[timerfd]")) {
			struct itimerspec its = {0};
			f->how = SFD_TIMERFD;
			f->clock = timerfd_clock(h);
			timerfd_gettime(h, &its);
			f->left[0] = its.it_interval.tv_sec;
			f->left[1] = its.it_interval.tv_nsec;
			f->left[2] = its.it_value.tv_sec;
			f->left[3] = its.it_value.tv_nsec;
			f->flags = (fl & O_NONBLOCK) ? TFD_NONBLOCK : 0;
			return 0;
		}
		return WHY("fd %d (%s) cannot be saved in a snapshot", fd, link);
	}
	case FD_FILE:
		if (strcmp(link, "/dev/ptmx") == 0 || strncmp(link, "/dev/pts/", 9) == 0)
			return WHY("fd %d: a pseudo-terminal cannot be saved in a snapshot", fd);
		if (link[0] != '/' || strstr(link, " (deleted)"))
			return WHY("fd %d (%s) cannot be saved in a snapshot", fd, link);
		f->how = SFD_FILE;
		f->hpath = strdup(link);
		*data = (uint8_t *)f->hpath;
		if (!f->hpath)
			return WHY("out of memory");
		f->off = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? (uint64_t)lseek(h, 0, SEEK_CUR) : 0;
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->fsize = (uint64_t)st.st_size;
		f->mode = st.st_mode;
		f->mtime_sec = st.st_mtim.tv_sec;
		f->mtime_nsec = st.st_mtim.tv_nsec;
		/* A file read from must be what it was; one written to (a log) may have grown. */
		f->check = S_ISREG(st.st_mode) && (fl & O_ACCMODE) == O_RDONLY;
		return 0;
	default: return WHY("fd %d (%s) cannot be saved in a snapshot", fd, link);
	}
}

static void put_fd(struct snap_wbuf *w, const struct snap_fd *f)
{
	snap_put_u32(w, (uint32_t)f->fd);
	snap_put_u32(w, f->how);
	snap_put_u32(w, f->kind);
	snap_put_u32(w, f->cloexec);
	snap_put_u32(w, f->ofd);
	snap_put_u32(w, f->async);
	snap_put_u32(w, f->pair);
	snap_put_u32(w, (uint32_t)f->owner);
	snap_put_str(w, f->gpath);
	snap_put_u32(w, (uint32_t)f->other);
	snap_put_u32(w, (uint32_t)f->flags);
	snap_put_u32(w, (uint32_t)f->stdio);
	switch (f->how) {
	case SFD_FILE:
		snap_put_str(w, f->hpath);
		snap_put_u64(w, f->off);
		snap_put_u64(w, f->dev);
		snap_put_u64(w, f->ino);
		snap_put_u64(w, f->fsize);
		snap_put_u64(w, f->mode);
		snap_put_u64(w, (uint64_t)f->mtime_sec);
		snap_put_u64(w, (uint64_t)f->mtime_nsec);
		snap_put_u32(w, f->check);
		break;
	case SFD_MEMFD:
		snap_put_u64(w, f->off);
		snap_put_u32(w, f->seals);
		snap_put_u64(w, f->data_len);
		snap_put(w, f->data, f->data_len);
		break;
	case SFD_LISTEN:
	case SFD_SOCKET:
		snap_put_u32(w, (uint32_t)f->family);
		snap_put_u32(w, (uint32_t)f->type);
		snap_put_u32(w, (uint32_t)f->protocol);
		snap_put_u32(w, f->addrlen);
		snap_put(w, f->addr, f->addrlen);
		snap_put_u32(w, f->backlog);
		snap_put_u32(w, f->nopts);
		for (uint32_t i = 0; i < f->nopts; i++)
			for (int k = 0; k < 3; k++)
				snap_put_u32(w, (uint32_t)f->opts[i][k]);
		break;
	case SFD_SOCKPAIR:
		snap_put_u32(w, (uint32_t)f->family);
		snap_put_u32(w, (uint32_t)f->type);
		snap_put_u32(w, (uint32_t)f->protocol);
		snap_put_u32(w, (uint32_t)f->end);
		break;
	case SFD_PIPE: snap_put_u32(w, (uint32_t)f->end); break;
	case SFD_EPOLL:
		snap_put_u32(w, f->nregs);
		for (uint32_t i = 0; i < f->nregs; i++) {
			snap_put_u32(w, (uint32_t)f->regs[i].fd);
			snap_put_u32(w, f->regs[i].events);
			snap_put_u64(w, f->regs[i].data);
		}
		break;
	case SFD_EVENTFD: snap_put_u64(w, f->count); break;
	case SFD_TIMERFD:
		snap_put_u32(w, (uint32_t)f->clock);
		for (int k = 0; k < 4; k++)
			snap_put_u64(w, (uint64_t)f->left[k]);
		break;
	default: break;
	}
}

int snap_put_fds(struct proc *p, struct snap_wbuf *w, char *why, size_t whylen)
{
	snap_put_tag(w, SNAP_TAG_FDS);
	snap_put_u32(w, (uint32_t)p->fdt.cap);
	snap_put_u32(w, (uint32_t)p->fdt.limit);
	snap_put_u32(w, p->fdt.next_ofd);
	uint64_t n = 0;
	for (int fd = 0; fd < p->fdt.cap; fd++)
		n += p->fdt.e[fd].host_fd >= 0;
	snap_put_u64(w, n);
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		if (p->fdt.e[fd].host_fd < 0)
			continue;
		struct snap_fd f;
		uint8_t *data = NULL;
		int err = describe_fd(p, fd, &f, &data, why, whylen);
		if (!err)
			put_fd(w, &f);
		free(data);
		free(f.regs);
		if (err)
			return err;
	}
	return 0;
}
