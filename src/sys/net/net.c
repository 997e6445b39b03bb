/* net.c - sockets: socket, socketpair, bind, listen, connect, accept, names, shutdown.  The
 * rules below hold for the other socket files too: addresses (sockaddr.c), options
 * (sockopt.c), data and control messages (msg.c).  A guest socket is a real host socket (so a program listening in the
 * guest is reachable from the host, and a guest client reaches real servers), held in the
 * fd table as FD_SOCKET.  Everything that names a peer or a local address passes the
 * policy first (policy.h, policy_net.c):
 *
 *  - connect(2), and sendto(2)/sendmsg(2) with a destination: policy_check_connect for
 *    AF_INET/AF_INET6 and abstract AF_UNIX addresses;
 *  - bind(2) with a non-zero port (or an abstract AF_UNIX name), and listen(2) on the
 *    address the socket is then bound to (so bind to port 0 + listen is checked too):
 *    policy_check_listen;
 *  - path-based AF_UNIX sockets are files, so they follow the path rules: bind needs write
 *    access to the socket's directory (policy_open_parent), and the host binds through
 *    /proc/self/fd/<dirfd>/<name>, the directory opened beneath an allowed root; connect
 *    and sendto need write access too, and the socket file is opened (O_PATH) beneath its
 *    directory, so neither `..` nor a symlink can lead to a host socket outside the
 *    rules, and the host connects to /proc/self/fd/<that fd>.  The host name must fit
 *    sun_path: a last component longer than about 90 bytes is ENAMETOOLONG.
 *  - after those checks, a bind to the address of a socket kvmserver inherited from
 *    systemd (socket activation) takes that socket instead (activation.c).
 *
 * Socket types are limited to what the policy understands: SOCK_STREAM, SOCK_DGRAM and (for
 * AF_UNIX) SOCK_SEQPACKET, with protocol 0/TCP/UDP/UDP-Lite for IP.  Raw and packet sockets, SCTP
 * (whose setsockopt(SCTP_SOCKOPT_CONNECTX) would connect past connect(2)) and other families
 * are refused.  Socket options are passed to the host from an allow-list: options that
 * carry pointers or fds (BPF filters, TCP_ZEROCOPY_RECEIVE, SO_PEERPIDFD) or need
 * privileges the guest must not borrow from kvmserver (netfilter tables, IP_TRANSPARENT,
 * SO_BINDTODEVICE...) answer ENOPROTOOPT.  File descriptors pass as the guest's own:
 * sendmsg's SCM_RIGHTS carries the host fds behind the guest's, and recvmsg installs the
 * fds that arrive in the guest's table (scm_install) — only kinds of object a guest could
 * have opened itself through the policy's other doors: sockets, pipes, regular files and
 * anonymous fds (eventfd, epoll...).  Directories (a dirfd would resolve paths past the
 * policy), devices, and files of the kernel's pseudo filesystems (procfs, sysfs...) are
 * closed on the host and dropped, as is SCM_PIDFD, with MSG_CTRUNC set.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/net/activation.h"
#include "sys/net/net_impl.h"
#include "sys/syscalls.h"
#include "sys/table.h"

/* ---- socket, socketpair ------------------------------------------------------------------ */

#define SOCK_TYPE_MASK 0xf

static int check_socket_args(int domain, int type, int protocol)
{
	if ((type & ~SOCK_TYPE_MASK) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	int base = type & SOCK_TYPE_MASK;
	if (domain < 0 || domain >= AF_MAX)
		return -EAFNOSUPPORT;
	if (base > SOCK_PACKET) /* SOCK_MAX */
		return -EINVAL;
	if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX)
		return -EAFNOSUPPORT;
	if (domain == AF_UNIX) {
		/* Linux makes an AF_UNIX SOCK_RAW a SOCK_DGRAM */
		if (base != SOCK_STREAM && base != SOCK_DGRAM && base != SOCK_SEQPACKET && base != SOCK_RAW)
			return -ESOCKTNOSUPPORT;
		return protocol == 0 || protocol == PF_UNIX ? 0 : -EPROTONOSUPPORT;
	}
	if (base == SOCK_RAW || base == SOCK_PACKET)
		return -EPERM; /* as for an unprivileged user: no CAP_NET_RAW */
	if (base == SOCK_STREAM)
		return protocol == 0 || protocol == IPPROTO_TCP ? 0 : -EPROTONOSUPPORT;
	if (base == SOCK_DGRAM) /* UDP-Lite: UDP with a partial checksum, the same policy */
		return protocol == 0 || protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE ? 0 : -EPROTONOSUPPORT;
	return -ESOCKTNOSUPPORT;
}

long sys_socket(struct proc *p, const struct sys_args *a)
{
	int domain = (int)a->a[0], type = (int)a->a[1], protocol = (int)a->a[2];
	int err = check_socket_args(domain, type, protocol);
	if (err)
		return err;
	int h = socket(domain, (type & ~SOCK_CLOEXEC) | SOCK_CLOEXEC, protocol);
	if (h < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, h, FD_SOCKET, type & SOCK_CLOEXEC);
}

long sys_socketpair(struct proc *p, const struct sys_args *a)
{
	int domain = (int)a->a[0], type = (int)a->a[1], protocol = (int)a->a[2];
	int err = check_socket_args(domain, type, protocol);
	if (err)
		return err;
	if (domain != AF_UNIX)
		return -EOPNOTSUPP;
	int hv[2];
	if (socketpair(domain, (type & ~SOCK_CLOEXEC) | SOCK_CLOEXEC, protocol, hv) < 0)
		return -errno;
	bool cloexec = type & SOCK_CLOEXEC;
	int g0 = fdtab_alloc(&p->fdt, 0, hv[0], FD_SOCKET, cloexec);
	if (g0 < 0) {
		close(hv[1]);
		return g0;
	}
	int g1 = fdtab_alloc(&p->fdt, 0, hv[1], FD_SOCKET, cloexec);
	if (g1 < 0) {
		fdtab_close(&p->fdt, g0);
		return g1;
	}
	/* Each end knows the other: a request VM gets a new pair (fdclone.c). */
	struct fd_entry *e0 = fdtab_get(&p->fdt, g0), *e1 = fdtab_get(&p->fdt, g1);
	e0->pair = e1->ofd;
	e1->pair = e0->ofd;
	int gv[2] = {g0, g1};
	err = copy_to_guest(p, a->a[3], gv, sizeof(gv));
	if (err) {
		fdtab_close(&p->fdt, g0);
		fdtab_close(&p->fdt, g1);
	}
	return err;
}

/* ---- bind, listen, connect, accept ------------------------------------------------------- */

/* What bind(2) and connect(2) do first with their (fd, addr, addrlen): find the socket, copy
 * the address in, learn the socket's family.  The host socket, or the first of those that
 * failed: -EBADF, the copy's error, the family's (-ENOTSOCK). */
static int sock_and_addr(struct proc *p, const struct sys_args *a, struct sockaddr_storage *ss, socklen_t *len,
                         int *domain)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	int err = addr_from_guest(p, a->a[1], (int)a->a[2], ss, len);
	if (err)
		return err;
	*domain = sock_domain(h);
	return *domain < 0 ? *domain : h;
}

long sys_bind(struct proc *p, const struct sys_args *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int domain;
	int h = sock_and_addr(p, a, &ss, &len, &domain);
	if (h < 0)
		return h;
	int hold = -1, err;
	if (is_inet(domain) && len >= sizeof(sa_family_t)) {
		/* An IPv4 socket binds an AF_UNSPEC address as AF_INET (Linux's compatibility
		 * rule for INADDR_ANY): check it as one. */
		int family = ss.ss_family == AF_UNSPEC && domain == AF_INET ? AF_INET : ss.ss_family;
		if (is_inet(family)) {
			if (!inet_len_ok(family, len))
				return -EINVAL;
			struct sockaddr_storage check = ss;
			check.ss_family = (sa_family_t)family;
			uint16_t port = ((struct sockaddr_in *)&check)->sin_port; /* same offset in sin6 */
			if (port && (err = policy_check_listen(p->cfg.policy, (struct sockaddr *)&check, len)))
				return err;
			if (port && (err = activation_take(h, domain, &check, len)))
				return err < 0 ? err : 0;
		}
	} else if (domain == AF_UNIX && ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
		char gpath[sizeof(un->sun_path) + 1];
		if (len > sizeof(struct sockaddr_un))
			return -EINVAL; /* unix_validate_addr */
		if (len <= offsetof(struct sockaddr_un, sun_path) || un->sun_path[0] == 0) {
			/* an abstract name, or autobind (which picks an abstract one) */
			if ((err = policy_check_listen(p->cfg.policy, (struct sockaddr *)&ss, len)))
				return err;
		} else {
			if ((err = unix_path_to_host(p, UNIX_BIND, &ss, &len, &hold, gpath)))
				return err;
			err = activation_take(h, domain, &ss, len);
			if (err == 0) {
				/* The socket file's mode is the socket inode's less the umask
				 * (unix_bind), and the host's umask is 0 (proc.c): apply the guest's. */
				fchmod(h, 0777 & ~p->id.umask);
				err = bind(h, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
			} else if (err > 0) {
				err = 0;
			}
			close(hold);
			if (!err)
				unix_name_remember(p, h, ((struct sockaddr_un *)&ss)->sun_path, gpath);
			return err;
		}
	}
	return host_result(bind(h, (struct sockaddr *)&ss, len));
}

static long shutdown_shared(struct proc *p, struct fd_entry *e, int how);

long sys_listen(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	if (shared_listener(p, a->a[0]))
		return 0; /* listening already; its backlog is every request VM's, kept */
	int domain = sock_domain(h);
	if (domain < 0)
		return domain;
	int type = sock_type(h);
	if (type < 0)
		return type;
	if (type != SOCK_DGRAM) {
		/* Decide on the address the socket is bound to now; an unbound IP socket is
		 * bound by listen(2) itself to the wildcard address and an ephemeral port, so
		 * bind it first (as Linux would) and check that. */
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(h, (struct sockaddr *)&ss, &len) < 0)
			return -errno;
		if (is_inet(domain) && ((struct sockaddr_in *)&ss)->sin_port == 0) {
			struct sockaddr_storage any = {.ss_family = (sa_family_t)domain};
			socklen_t alen = domain == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
			/* EINVAL: bound already, without a port (IP_BIND_ADDRESS_NO_PORT); then
			 * the check sees port 0, which only an any-port rule allows. */
			if (bind(h, (struct sockaddr *)&any, alen) < 0 && errno != EINVAL)
				return -errno;
			len = sizeof(ss);
			if (getsockname(h, (struct sockaddr *)&ss, &len) < 0)
				return -errno;
		}
		int err = 0;
		if (is_inet(domain))
			err = policy_check_listen(p->cfg.policy, (struct sockaddr *)&ss, len);
		else if (domain == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
		         ((struct sockaddr_un *)&ss)->sun_path[0] == 0)
			err = policy_check_listen(p->cfg.policy, (struct sockaddr *)&ss, len); /* abstract */
		/* a path-bound AF_UNIX socket passed the path rules at bind */
		if (err)
			return err;
	}
	long r = host_result(listen(h, (int)a->a[1]));
	fd_listen_changed();
	return r;
}

long sys_connect(struct proc *p, const struct sys_args *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int domain;
	int h = sock_and_addr(p, a, &ss, &len, &domain);
	if (h < 0)
		return h;
	struct thread *t = p->thr.cur;
	if (t->resume_fd == h + 1) {
		/* Re-executed after the wait below: the connection's outcome (or, restarted
		 * after a signal handler, still connecting: wait again). */
		struct pollfd pf = {.fd = h, .events = POLLOUT};
		if (poll(&pf, 1, 0) == 0 && sched_park_fd(p, h, POLLOUT) == SYS_RESUMED)
			return SYS_RESUMED;
		t->resume_fd = 0;
		poll(&pf, 1, -1);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(h, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		return -soerr;
	}
	int hold = -1, err;
	bool unspec = len >= sizeof(sa_family_t) && ss.ss_family == AF_UNSPEC;
	/* AF_UNSPEC dissolves the association on every socket type (nothing to check); on a
	 * listening socket it stops listening, as shutdown(SHUT_RD) does. */
	struct fd_entry *shared = unspec ? shared_listener(p, a->a[0]) : NULL;
	if (shared)
		return shutdown_shared(p, shared, SHUT_RDWR);
	if (!unspec && (err = check_dest(p, domain, &ss, &len, &hold)))
		return err;
	int fl = fcntl(h, F_GETFL);
	bool park = fl >= 0 && !(fl & O_NONBLOCK) && sched_should_park(p);
	/* A blocking connect that would block the host while another thread could run (or a
	 * signal come) is started non-blocking and the thread parks until it is writable. */
	if (park)
		fcntl(h, F_SETFL, fl | O_NONBLOCK);
	long r = host_result(connect(h, (struct sockaddr *)&ss, len));
	if (park)
		fcntl(h, F_SETFL, fl);
	if (hold >= 0)
		close(hold);
	if (park && r == -EINPROGRESS) {
		t->resume_fd = h + 1;
		r = sched_park_fd(p, h, POLLOUT);
		if (r != SYS_RESUMED) {
			/* cannot park after all: wait here */
			struct pollfd pf = {.fd = h, .events = POLLOUT};
			poll(&pf, 1, -1);
			t->resume_fd = 0;
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			getsockopt(h, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			r = -soerr;
		}
	}
	return r;
}

static long do_accept(struct proc *p, uint64_t fd, uint64_t uaddr, uint64_t ulenp, int flags)
{
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	int h = host_fd_of(p, fd);
	if (h < 0)
		return h;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	const struct fd_entry *shared = shared_listener(p, fd);
	int nh;
	for (;;) {
		/* A shared listener's host description is non-blocking (fdclone.c): a guest
		 * that sees it blocking waits here until a connection is there, and waits
		 * again when another request VM took it first. */
		if (shared) {
			struct pollfd pf = {.fd = h, .events = POLLIN};
			int r = poll(&pf, 1, shared->nonblock ? 0 : -1);
			if (r < 0)
				return -errno; /* EINTR: the request's deadline */
			if (r == 0)
				return -EAGAIN;
		}
		nh = accept4(h, uaddr ? (struct sockaddr *)&ss : NULL, uaddr ? &len : NULL,
		             SOCK_CLOEXEC | (flags & SOCK_NONBLOCK));
		if (nh >= 0 || !shared || shared->nonblock || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
	}
	if (nh < 0)
		return -errno;
	if (uaddr) {
		int err = addr_to_guest(p, -1, &ss, len, uaddr, ulenp);
		if (err) {
			close(nh); /* as Linux: the connection is dropped */
			return err;
		}
	}
	return fdtab_alloc(&p->fdt, 0, nh, FD_SOCKET, flags & SOCK_CLOEXEC);
}

long sys_accept(struct proc *p, const struct sys_args *a)
{
	return do_accept(p, a->a[0], a->a[1], a->a[2], 0);
}

long sys_accept4(struct proc *p, const struct sys_args *a)
{
	return do_accept(p, a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

static long sock_name(struct proc *p, const struct sys_args *a, bool peer)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	int r = peer ? getpeername(h, (struct sockaddr *)&ss, &len) : getsockname(h, (struct sockaddr *)&ss, &len);
	if (r < 0)
		return -errno;
	return addr_to_guest(p, peer ? -1 : h, &ss, len, a->a[1], a->a[2]);
}

long sys_getsockname(struct proc *p, const struct sys_args *a)
{
	return sock_name(p, a, false);
}

long sys_getpeername(struct proc *p, const struct sys_args *a)
{
	return sock_name(p, a, true);
}

/* shutdown(2) of a shared listener, for this request VM alone.  Linux ignores SHUT_WR on a
 * listening socket; SHUT_RD and SHUT_RDWR disconnect it, leaving a socket that is no longer
 * listening (accept: EINVAL; poll: POLLHUP).  Done to the host socket that would refuse
 * every later connection of every request VM, so here this VM's fds of it (the description
 * and its dups) move to a new, unconnected socket of the same kind, and its epoll sets
 * follow; the next reset brings the listener back.  (Natively the port stays bound to the
 * shut-down socket; the new one is unbound.) */
static long shutdown_shared(struct proc *p, struct fd_entry *e, int how)
{
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if (how == SHUT_WR)
		return 0;
	int domain = sock_domain(e->host_fd), type = sock_type(e->host_fd);
	if (domain < 0 || type < 0)
		return domain < 0 ? domain : type;
	int nh = socket(domain, type | SOCK_CLOEXEC | (e->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (nh < 0)
		return -errno;
	unsigned ofd = e->ofd;
	for (int fd = 0; fd < p->fdt.cap; fd++) {
		struct fd_entry *d = &p->fdt.e[fd];
		if (d->host_fd < 0 || !d->shared || d->ofd != ofd)
			continue;
		int h = fcntl(nh, F_DUPFD_CLOEXEC, 0);
		if (h < 0) {
			int err = -errno;
			close(nh);
			return err;
		}
		fdtab_epoll_repoint(&p->fdt, d->host_fd, h);
		close(d->host_fd);
		d->host_fd = h;
		d->shared = false;
	}
	close(nh);
	return 0;
}

long sys_shutdown(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	struct fd_entry *e = shared_listener(p, a->a[0]);
	long r = e ? shutdown_shared(p, e, (int)a->a[1]) : host_result(shutdown(h, (int)a->a[1]));
	fd_listen_changed();
	return r;
}
