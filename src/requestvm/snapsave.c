/* snapsave.c - write a frozen server's template to a snapshot file (`kvmserver snapshot`).
 *
 * What is saved: guest memory (the memfd's data extents; file pages are not copied but
 * named by path, inode, size and mtime), the vCPU state, the page-table bookkeeping, the
 * memory slots, the address-space list, threads, signal dispositions, the cwd and the fd
 * table as descriptions of host objects (snapfile.h, enum snap_fd_how): what snapload.c
 * needs to make them again.  What cannot be brought back (a connected socket, a socket
 * bound to an AF_UNIX path, a pipe holding data, a signalfd, a deleted file) makes the
 * snapshot fail with its reason.  Deadlines are saved in the guest's monotonic time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include "sys/proc_impl.h"
#include "requestvm/template.h"
#include "requestvm/snapshot.h"
#include "vmm/abi.h"

/* A one-line reason into why[whylen]; -1 to return. */
__attribute__((format(printf, 3, 4))) static int why_fmt(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}
#define WHY(...) why_fmt(why, whylen, __VA_ARGS__)

uint64_t snap_build_id(void)
{
	static uint64_t id;
	if (id)
		return id;
	int f = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 1;
	struct snap_hash h;
	snap_hash_init(&h);
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(f, buf, sizeof(buf))) > 0)
		snap_hash_add(&h, buf, (size_t)n);
	close(f);
	id = snap_hash_end(&h) | 1;
	return id;
}

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

static int put_fds(struct proc *p, struct snap_wbuf *w, char *why, size_t whylen)
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

/* ---- the other sections --------------------------------------------------------------------- */
static void put_strlist(struct snap_wbuf *w, const struct snap_strlist *l)
{
	snap_put_u32(w, (uint32_t)l->n);
	for (size_t i = 0; i < l->n; i++)
		snap_put_str(w, l->v[i]);
}

struct extents {
	struct snap_wbuf *w;
	uint64_t total;
};

static int put_extent(void *ctx, uint64_t gpa, uint64_t size)
{
	struct extents *x = ctx;
	snap_put_u64(x->w, gpa);
	snap_put_u64(x->w, size);
	snap_put_u64(x->w, x->total);
	x->total += size;
	return 0;
}

static int count_extent(void *ctx, uint64_t gpa, uint64_t size)
{
	(void)gpa;
	(void)size;
	(*(uint64_t *)ctx)++;
	return 0;
}

static int put_fmaps(struct proc *p, struct snap_wbuf *w, char *why, size_t whylen)
{
	size_t n = vm_image_nfmaps(p->vm);
	snap_put_tag(w, SNAP_TAG_FMAPS);
	snap_put_u64(w, n);
	for (size_t i = 0; i < n; i++) {
		struct vm_file_map_info m;
		vm_image_fmap(p->vm, i, &m);
		char link[PATH_MAX];
		struct stat st;
		fd_link(m.fd, link, sizeof(link));
		if (link[0] != '/' || strstr(link, " (deleted)") || fstat(m.fd, &st) < 0)
			return WHY("the mapped file %s cannot be saved in a snapshot", link);
		snap_put_u64(w, m.gpa);
		snap_put_u64(w, m.size);
		snap_put_u64(w, m.off);
		snap_put_u64(w, st.st_dev);
		snap_put_u64(w, st.st_ino);
		snap_put_u64(w, (uint64_t)st.st_size);
		snap_put_u64(w, (uint64_t)st.st_mtim.tv_sec);
		snap_put_u64(w, (uint64_t)st.st_mtim.tv_nsec);
		snap_put_str(w, link);
		snap_put_u32(w, m.shared);
	}
	return 0;
}

static void put_mm(const struct mm *mm, struct snap_wbuf *w)
{
	snap_put_tag(w, SNAP_TAG_MM);
	snap_put_u64(w, mm->mmap_top);
	snap_put_u64(w, mm->brk_start);
	snap_put_u64(w, mm->brk);
	snap_put_u64(w, mm->stack_start);
	snap_put_u64(w, mm->stack_end);
	snap_put_u64(w, mm->nnames);
	for (size_t i = 0; i < mm->nnames; i++)
		snap_put_str(w, mm->names[i]);
	snap_put_u64(w, mm->len);
	for (size_t k = 0; k < mm->len; k++) {
		const struct vma *v = &mm->v[k];
		int32_t name = -1;
		for (size_t i = 0; v->name && i < mm->nnames; i++)
			if (v->name == mm->names[i])
				name = (int32_t)i;
		snap_put_u64(w, v->start);
		snap_put_u64(w, v->end);
		snap_put_u64(w, v->offset);
		snap_put_u64(w, v->dev);
		snap_put_u64(w, v->ino);
		snap_put_u32(w, (uint32_t)v->prot);
		snap_put_u32(w, (uint32_t)v->flags);
		snap_put_u32(w, (uint32_t)v->kind);
		snap_put_u32(w, (uint32_t)name);
		snap_put_u32(w, v->may_write);
	}
}

/* Deadlines are kept in the guest's monotonic time (the host's minus mono_offset_ns). */
static void put_threads(struct proc *p, struct snap_wbuf *w)
{
	size_t xs = vm_xsave_size(p->vm);
	snap_put_tag(w, SNAP_TAG_THREADS);
	snap_put_u32(w, sizeof(struct thread));
	snap_put_u64(w, (uint64_t)p->nthreads);
	uint64_t cur = 0;
	for (int i = 0; i < p->nthreads; i++)
		if (p->threads[i] == p->cur)
			cur = (uint64_t)i;
	snap_put_u64(w, cur);
	for (int i = 0; i < p->nthreads; i++) {
		struct thread t = *p->threads[i];
		if (t.deadline_ns)
			t.deadline_ns -= (uint64_t)p->mono_offset_ns;
		t.xsave = NULL;
		snap_put(w, &t, sizeof(t));
		snap_put(w, p->threads[i]->xsave, xs);
	}
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

struct mem_writer {
	struct vm *vm;
	int fd;
	uint8_t *buf;
	struct snap_hash hash;
	int err;
};

static int write_extent(void *ctx, uint64_t gpa, uint64_t size)
{
	struct mem_writer *m = ctx;
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < (4u << 20) ? (size_t)(size - done) : (4u << 20);
		int err = vm_image_read(m->vm, gpa + done, m->buf, n);
		if (!err)
			err = write_all(m->fd, m->buf, n);
		if (err)
			return m->err = err;
		snap_hash_add(&m->hash, m->buf, n);
		done += n;
	}
	return 0;
}

static int build_meta(struct proc *p, const char *program, const struct snap_policy_src *pol, struct snap_wbuf *w,
                      uint64_t *mem_len, char *why, size_t whylen)
{
	uint64_t now = vm_now_ns();
	snap_put_tag(w, SNAP_TAG_PROC);
	snap_put_u64(w, vm_user_size(p->vm));
	snap_put_str(w, program);
	snap_put_str(w, p->exe_path);
	snap_put_str(w, p->cwd);
	snap_put(w, p->comm, sizeof(p->comm));
	snap_put_u32(w, (uint32_t)p->pid);
	snap_put_u32(w, (uint32_t)p->nice);
	snap_put_u32(w, (uint32_t)p->next_tid);
	snap_put_u32(w, (uint32_t)p->wait_kind);
	snap_put_u64(w, p->vdso_addr);
	snap_put_u64(w, now - (uint64_t)p->mono_offset_ns);
	snap_put_u64(w, p->itimer_ns ? p->itimer_ns - (uint64_t)p->mono_offset_ns : 0);
	snap_put_u64(w, p->itimer_interval_ns);
	for (int i = 0; i < 65; i++) {
		snap_put_u64(w, p->sigactions[i].handler);
		snap_put_u64(w, p->sigactions[i].flags);
		snap_put_u64(w, p->sigactions[i].restorer);
		snap_put_u64(w, p->sigactions[i].mask);
	}
	snap_put_u32(w, (uint32_t)p->umask);
	snap_put_u32(w, sizeof(p->cred));
	snap_put(w, &p->cred, sizeof(p->cred));
	snap_put_u32(w, sizeof(p->uts));
	snap_put(w, &p->uts, sizeof(p->uts));

	snap_put_tag(w, SNAP_TAG_POLICY);
	snap_put_u32(w, pol->read_all);
	snap_put_u32(w, pol->write_all);
	snap_put_u32(w, pol->connect_all);
	snap_put_u32(w, pol->listen_all);
	put_strlist(w, &pol->read);
	put_strlist(w, &pol->write);
	put_strlist(w, &pol->volumes);
	put_strlist(w, &pol->connect);
	put_strlist(w, &pol->listen);

	struct vm_cpu_image cpu;
	size_t xs = vm_xsave_size(p->vm);
	void *xsave = calloc(1, xs);
	if (!xsave)
		return WHY("out of memory");
	int err = vm_image_cpu(p->vm, &cpu, xsave);
	if (err) {
		free(xsave);
		return WHY("cannot read the vCPU state: %s", strerror(-err));
	}
	snap_put_tag(w, SNAP_TAG_VM);
	snap_put_u32(w, sizeof(cpu));
	snap_put(w, &cpu, sizeof(cpu));
	snap_put_u64(w, xs);
	snap_put(w, xsave, xs);
	free(xsave);
	unsigned nslots = vm_image_nslots(p->vm);
	snap_put_u32(w, nslots);
	for (unsigned s = 0; s < nslots; s++) {
		uint8_t on = vm_image_slot_on(p->vm, s);
		snap_put(w, &on, 1);
	}

	uint64_t n = 0;
	if ((err = vm_image_extents(p->vm, count_extent, &n)))
		return WHY("cannot read guest memory: %s", strerror(-err));
	snap_put_tag(w, SNAP_TAG_MEM);
	snap_put_u64(w, n);
	struct extents x = {.w = w};
	if ((err = vm_image_extents(p->vm, put_extent, &x)))
		return WHY("cannot read guest memory: %s", strerror(-err));
	*mem_len = x.total;

	if (put_fmaps(p, w, why, whylen))
		return -1;
	put_mm(&p->mm, w);
	put_threads(p, w);
	if (put_fds(p, w, why, whylen))
		return -1;
	snap_put_tag(w, SNAP_TAG_END);
	return w->failed ? WHY("out of memory") : 0;
}

int proc_snapshot_save(struct proc *p, const char *path, const char *program, const struct snap_policy_src *pol,
                       uint64_t *bytes, char *why, size_t whylen)
{
	if (p->cur->state != T_RUNNING || !p->wait_kind)
		return WHY("the program is not waiting for connections");
	struct snap_wbuf w = {0};
	uint64_t mem_len = 0;
	if (build_meta(p, program, pol, &w, &mem_len, why, whylen)) {
		free(w.p);
		return -1;
	}
	struct snap_header h = {.version = SNAP_VERSION, .header_size = sizeof(h)};
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	h.build_id = snap_build_id();
	h.cpu_id = vm_cpu_fingerprint();
	h.meta_len = w.len;
	h.meta_hash = snap_hash(w.p, w.len);
	h.mem_off = (sizeof(h) + w.len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	h.mem_len = mem_len;
	/* What snaprun will check, checked now: a file this build cannot read back is not
	 * written at all. */
	uint8_t *whole = malloc(sizeof(h) + w.len);
	struct snap_image img;
	char reason[200] = "out of memory";
	int bad = !whole;
	if (whole) {
		memcpy(whole, &h, sizeof(h));
		memcpy(whole + sizeof(h), w.p, w.len);
		bad = snap_parse(whole, sizeof(h) + w.len, h.mem_off + h.mem_len, h.build_id, &img, reason,
		                 sizeof(reason));
		if (!bad)
			snap_image_free(&img);
		free(whole);
	}
	if (bad) {
		free(w.p);
		return WHY("internal error: the snapshot would not read back (%s)", reason);
	}

	/* Written beside the target and renamed over it: a reader never sees half a file. */
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		free(w.p);
		return WHY("%s: name too long", path);
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(w.p);
		return WHY("%s: %s", tmp, strerror(errno));
	}
	struct mem_writer m = {.vm = p->vm, .fd = fd, .buf = malloc(4u << 20)};
	snap_hash_init(&m.hash);
	int err = m.buf ? 0 : -ENOMEM;
	static const uint8_t zero[PAGE_SIZE];
	if (!err)
		err = write_all(fd, &h, sizeof(h));
	if (!err)
		err = write_all(fd, w.p, w.len);
	if (!err)
		err = write_all(fd, zero, h.mem_off - sizeof(h) - w.len);
	if (!err)
		err = vm_image_extents(p->vm, write_extent, &m);
	h.mem_hash = snap_hash_end(&m.hash);
	if (!err && pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		err = -errno;
	if (!err && fsync(fd) < 0)
		err = -errno;
	free(m.buf);
	free(w.p);
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return WHY("%s: %s", path, strerror(-err));
	}
	*bytes = h.mem_off + h.mem_len;
	return 0;
}
