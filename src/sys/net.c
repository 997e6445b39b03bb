/* net.c - sockets.  A guest socket is a real host socket (so a program listening in the
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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sys/activation.h"
#include "sys/syscalls.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "sys/wait_args.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define GUEST_IOV_MAX 1024 /* UIO_MAXIOV */
#define MAX_RW 0x7ffff000UL /* MAX_RW_COUNT */
#define OPT_MAX 1024 /* the largest option value passed either way */
#define CTL_MAX 65536 /* the largest control buffer passed either way */
#define PROC_FD_PREFIX "/proc/self/fd/"

/* ---- fds and addresses ------------------------------------------------------------------ */

static long host_result(long r)
{
	return r < 0 ? -errno : r;
}

static int sock_fd(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
	return e ? e->host_fd : -EBADF;
}

/* The socket's family (SO_DOMAIN), or -ENOTSOCK / -errno. */
static int sock_domain(int h)
{
	int v;
	socklen_t len = sizeof(v);
	return getsockopt(h, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ? -errno : v;
}

static int sock_type(int h)
{
	int v;
	socklen_t len = sizeof(v);
	return getsockopt(h, SOL_SOCKET, SO_TYPE, &v, &len) < 0 ? -errno : v;
}

/* A guest sockaddr in (move_addr_to_kernel): 0 <= len <= sizeof(sockaddr_storage). */
static int addr_from_guest(struct proc *p, uint64_t uaddr, int ulen, struct sockaddr_storage *ss, socklen_t *len)
{
	if (ulen < 0 || (size_t)ulen > sizeof(*ss))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	*len = (socklen_t)ulen;
	return ulen ? copy_from_guest(p, ss, uaddr, (size_t)ulen) : 0;
}

/* ---- path-based AF_UNIX names ------------------------------------------------------------
 * The host binds a path socket as /proc/self/fd/<dirfd>/<name>, and that string is what
 * the host kernel then reports as its address.  This small table remembers the guest's own
 * name for each (by the socket's inode, and by the host string for peers), so getsockname,
 * getpeername, accept and recvfrom show the guest its own names.  A host name it does not
 * know is shown as an unnamed address rather than leak a host path.  The table is the
 * process's (p->unix_names, allocated at the first bind): a request VM starts from a copy
 * of its template's, again at every reset, so the names one request binds are not seen by
 * another, nor can they push the template's out of the table. */
#define UNIX_NAMES 64
struct unix_names {
	struct unix_name {
		ino_t ino; /* 0: free */
		char host[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
		char guest[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
		socklen_t guest_len; /* the length getsockname reports for it */
		unsigned long seq;
	} v[UNIX_NAMES];
	unsigned long seq;
};

int net_unix_names_copy(struct proc *dst, const struct proc *src)
{
	if (!src->unix_names) {
		net_unix_names_free(dst);
		return 0;
	}
	if (!dst->unix_names && !(dst->unix_names = malloc(sizeof(*dst->unix_names))))
		return -ENOMEM;
	memcpy(dst->unix_names, src->unix_names, sizeof(*dst->unix_names));
	return 0;
}

void net_unix_names_free(struct proc *p)
{
	free(p->unix_names);
	p->unix_names = NULL;
}

/* `guest` is the guest's NUL-terminated path. */
static void unix_name_remember(struct proc *p, int h, const char *host, const char *guest)
{
	struct stat st;
	if (fstat(h, &st) < 0)
		return;
	if (!p->unix_names && !(p->unix_names = calloc(1, sizeof(*p->unix_names))))
		return; /* (the name is then shown as unnamed) */
	struct unix_name *names = p->unix_names->v, *slot = &names[0];
	for (int i = 0; i < UNIX_NAMES; i++) {
		if (names[i].ino == st.st_ino || names[i].seq < slot->seq) {
			slot = &names[i];
			if (names[i].ino == st.st_ino)
				break;
		}
	}
	slot->ino = st.st_ino;
	size_t hn = strnlen(host, sizeof(slot->host) - 1), gn = strnlen(guest, sizeof(slot->guest) - 1);
	memcpy(slot->host, host, hn);
	slot->host[hn] = 0;
	memcpy(slot->guest, guest, gn);
	slot->guest[gn] = 0;
	/* What Linux reports for a path name: the path and its NUL. */
	slot->guest_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(slot->guest) + 1);
	slot->seq = ++p->unix_names->seq;
}

/* Rewrites a host AF_UNIX address for the guest.  `h` is the socket when the address is its
 * own (getsockname), else -1. */
static void unix_name_for_guest(struct proc *p, int h, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (un->sun_family != AF_UNIX || *len <= off || un->sun_path[0] == 0)
		return;
	char host[sizeof(un->sun_path) + 1];
	size_t n = *len - off > sizeof(un->sun_path) ? sizeof(un->sun_path) : *len - off;
	memcpy(host, un->sun_path, n);
	host[n] = 0;
	if (strncmp(host, PROC_FD_PREFIX, strlen(PROC_FD_PREFIX)) != 0)
		return;
	/* Our own socket by its inode; else (a peer, an accepted socket) the newest name
	 * bound with this host string. */
	const struct unix_name *best = NULL, *names = p->unix_names ? p->unix_names->v : NULL;
	struct stat st;
	bool have_ino = h >= 0 && fstat(h, &st) == 0;
	if (names && have_ino)
		for (int i = 0; i < UNIX_NAMES && !best; i++)
			if (names[i].ino && names[i].ino == st.st_ino)
				best = &names[i];
	if (names && !best) {
		for (int i = 0; i < UNIX_NAMES; i++) {
			const struct unix_name *u = &names[i];
			if (u->ino && strcmp(u->host, host) == 0 && (!best || u->seq > best->seq))
				best = u;
		}
	}
	if (!best) {
		*len = sizeof(sa_family_t); /* unnamed */
	} else {
		memset(un->sun_path, 0, sizeof(un->sun_path));
		memcpy(un->sun_path, best->guest, strlen(best->guest));
		*len = best->guest_len;
	}
}

/* A sockaddr out (move_addr_to_user): copies min(*ulen, klen) bytes, then writes klen. */
static int addr_to_guest(struct proc *p, int h, struct sockaddr_storage *ss, socklen_t klen, uint64_t uaddr,
                         uint64_t ulenp)
{
	if (klen > sizeof(*ss))
		klen = sizeof(*ss);
	if (ss->ss_family == AF_UNIX)
		unix_name_for_guest(p, h, ss, &klen);
	int len;
	int err = copy_from_guest(p, &len, ulenp, sizeof(len));
	if (err)
		return err;
	if (len > (int)klen)
		len = (int)klen;
	if (len < 0)
		return -EINVAL;
	if (len && (err = copy_to_guest(p, uaddr, ss, (size_t)len)))
		return err;
	int kl = (int)klen;
	return copy_to_guest(p, ulenp, &kl, sizeof(kl));
}

static bool is_inet(int domain)
{
	return domain == AF_INET || domain == AF_INET6;
}

/* Linux's minimum lengths: sockaddr_in, and 24 bytes (no scope id) for sockaddr_in6. */
static bool inet_len_ok(int family, socklen_t len)
{
	if (family == AF_INET6)
		return len >= offsetof(struct sockaddr_in6, sin6_scope_id);
	return len >= sizeof(struct sockaddr_in);
}

enum unix_use { UNIX_BIND, UNIX_CONNECT };

/*
 * A path-based AF_UNIX address: checks the path rules and rewrites *ss to a host path
 * under /proc/self/fd.  *hold gets an fd the caller closes after the host call.
 */
static int unix_path_to_host(struct proc *p, enum unix_use use, struct sockaddr_storage *ss, socklen_t *len, int *hold,
                             char *gpath)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (*len > sizeof(struct sockaddr_un))
		return -EINVAL; /* unix_validate_addr */
	size_t n = strnlen(un->sun_path, *len - off);
	memcpy(gpath, un->sun_path, n);
	gpath[n] = 0;

	char norm[PATH_MAX];
	int err = policy_normalize(p->cwd, gpath, norm, sizeof(norm));
	if (err)
		return err;
	const char *base;
	int dirfd = policy_open_parent(p->policy, norm, (enum policy_access)(POLICY_READ | POLICY_WRITE), &base);
	if (dirfd < 0)
		return dirfd;
	char host[sizeof(un->sun_path) + 64];
	if (use == UNIX_BIND) {
		/* bind never follows a final symlink (EADDRINUSE), and the directory is the
		 * one opened beneath the root. */
		snprintf(host, sizeof(host), PROC_FD_PREFIX "%d/%s", dirfd, base);
		*hold = dirfd;
	} else {
		/* connect follows symlinks: open the socket file itself beneath its directory,
		 * so a symlink cannot lead to a host socket outside the rules. */
		struct open_how how = {
		        .flags = O_PATH | O_CLOEXEC,
		        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		int fd = (int)syscall(SYS_openat2, dirfd, base, &how, sizeof(how));
		err = fd < 0 ? (errno == EXDEV || errno == ELOOP ? -EACCES : -errno) : 0;
		close(dirfd);
		if (err)
			return err;
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
			close(fd);
			return -ECONNREFUSED; /* what Linux answers for a path that is no socket */
		}
		snprintf(host, sizeof(host), PROC_FD_PREFIX "%d", fd);
		*hold = fd;
	}
	if (strlen(host) >= sizeof(un->sun_path)) {
		close(*hold);
		*hold = -1;
		return -ENAMETOOLONG;
	}
	memset(un->sun_path, 0, sizeof(un->sun_path));
	memcpy(un->sun_path, host, strlen(host));
	*len = (socklen_t)(off + strlen(host) + 1);
	return 0;
}

/*
 * May the guest send to / connect to `ss` on a socket of family `domain`?  0, or -EPERM /
 * -EACCES / -EINVAL.  Path-based AF_UNIX addresses are rewritten (see unix_path_to_host).
 */
static int check_dest(struct proc *p, int domain, struct sockaddr_storage *ss, socklen_t *len, int *hold)
{
	*hold = -1;
	if (*len < sizeof(sa_family_t))
		return 0; /* the host rejects it */
	int family = ss->ss_family;
	if (is_inet(domain)) {
		/* A UDP socket sends to an AF_UNSPEC address as if it were AF_INET. */
		if (family == AF_UNSPEC && domain == AF_INET)
			family = AF_INET;
		if (!is_inet(family))
			return 0; /* the host refuses other families on an IP socket */
		if (!inet_len_ok(family, *len))
			return -EINVAL;
		struct sockaddr_storage check = *ss;
		check.ss_family = (sa_family_t)family;
		return policy_check_connect(p->policy, (struct sockaddr *)&check, *len);
	}
	if (domain == AF_UNIX && family == AF_UNIX && *len > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
		if (*len > sizeof(struct sockaddr_un))
			return -EINVAL; /* unix_validate_addr */
		if (un->sun_path[0] == 0)
			return policy_check_connect(p->policy, (const struct sockaddr *)ss, *len);
		char gpath[sizeof(un->sun_path) + 1];
		return unix_path_to_host(p, UNIX_CONNECT, ss, len, hold, gpath);
	}
	return 0;
}

/* ---- socket, socketpair ------------------------------------------------------------------ */

#define SOCK_TYPE_MASK 0xf
#ifndef UDPLITE_SEND_CSCOV /* linux/udp.h's, which clashes with netinet/udp.h */
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif

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
	int h = sock_fd(p, a->a[0]);
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
			if (port && (err = policy_check_listen(p->policy, (struct sockaddr *)&check, len)))
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
			if ((err = policy_check_listen(p->policy, (struct sockaddr *)&ss, len)))
				return err;
		} else {
			if ((err = unix_path_to_host(p, UNIX_BIND, &ss, &len, &hold, gpath)))
				return err;
			err = activation_take(h, domain, &ss, len);
			if (err == 0) {
				/* The socket file's mode is the socket inode's less the umask
				 * (unix_bind), and the host's umask is 0 (proc.c): apply the guest's. */
				fchmod(h, 0777 & ~p->umask);
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

/* The entry of guest fd `fd` if it is a listener shared with the other request VMs
 * (fdtab.h): nothing this VM does may change the host socket. */
static struct fd_entry *shared_listener(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
	return e && e->shared ? e : NULL;
}

static long shutdown_shared(struct proc *p, struct fd_entry *e, int how);

long sys_listen(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
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
			err = policy_check_listen(p->policy, (struct sockaddr *)&ss, len);
		else if (domain == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
		         ((struct sockaddr_un *)&ss)->sun_path[0] == 0)
			err = policy_check_listen(p->policy, (struct sockaddr *)&ss, len); /* abstract */
		/* a path-bound AF_UNIX socket passed the path rules at bind */
		if (err)
			return err;
	}
	return host_result(listen(h, (int)a->a[1]));
}

long sys_connect(struct proc *p, const struct sys_args *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int domain;
	int h = sock_and_addr(p, a, &ss, &len, &domain);
	if (h < 0)
		return h;
	struct thread *t = p->cur;
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
	int h = sock_fd(p, fd);
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
	int h = sock_fd(p, a->a[0]);
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
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	struct fd_entry *e = shared_listener(p, a->a[0]);
	return e ? shutdown_shared(p, e, (int)a->a[1]) : host_result(shutdown(h, (int)a->a[1]));
}

/* ---- socket options ---------------------------------------------------------------------- */

struct sockopt {
	int level, name;
	bool set, get;
};

/* The options passed to the host.  Each takes and returns plain bytes (no pointers, no
 * fds) and needs no privilege; anything else answers ENOPROTOOPT. */
static const struct sockopt sockopts[] = {
        {SOL_SOCKET, SO_DEBUG, 1, 1},
        {SOL_SOCKET, SO_REUSEADDR, 1, 1},
        {SOL_SOCKET, SO_REUSEPORT, 1, 1},
        {SOL_SOCKET, SO_KEEPALIVE, 1, 1},
        {SOL_SOCKET, SO_BROADCAST, 1, 1},
        {SOL_SOCKET, SO_DONTROUTE, 1, 1},
        {SOL_SOCKET, SO_SNDBUF, 1, 1},
        {SOL_SOCKET, SO_RCVBUF, 1, 1},
        {SOL_SOCKET, SO_LINGER, 1, 1},
        {SOL_SOCKET, SO_OOBINLINE, 1, 1},
        {SOL_SOCKET, SO_NO_CHECK, 1, 1},
        {SOL_SOCKET, SO_PRIORITY, 1, 1},
        {SOL_SOCKET, SO_RCVLOWAT, 1, 1},
        {SOL_SOCKET, SO_SNDLOWAT, 1, 1},
        {SOL_SOCKET, SO_RCVTIMEO_OLD, 1, 1},
        {SOL_SOCKET, SO_SNDTIMEO_OLD, 1, 1},
        {SOL_SOCKET, SO_TIMESTAMP_OLD, 1, 1},
        {SOL_SOCKET, SO_TIMESTAMPNS_OLD, 1, 1},
        {SOL_SOCKET, SO_TIMESTAMPING_OLD, 1, 1},
#ifdef SO_RCVTIMEO_NEW
        {SOL_SOCKET, SO_RCVTIMEO_NEW, 1, 1},
        {SOL_SOCKET, SO_SNDTIMEO_NEW, 1, 1},
        {SOL_SOCKET, SO_TIMESTAMP_NEW, 1, 1},
        {SOL_SOCKET, SO_TIMESTAMPNS_NEW, 1, 1},
        {SOL_SOCKET, SO_TIMESTAMPING_NEW, 1, 1},
#endif
        {SOL_SOCKET, SO_PASSCRED, 1, 1},
        {SOL_SOCKET, SO_PEEK_OFF, 1, 1},
        {SOL_SOCKET, SO_RXQ_OVFL, 1, 1},
        {SOL_SOCKET, SO_WIFI_STATUS, 1, 1},
        {SOL_SOCKET, SO_INCOMING_CPU, 1, 1},
        {SOL_SOCKET, SO_BUSY_POLL, 1, 1},
        {SOL_SOCKET, SO_ZEROCOPY, 1, 1},
        {SOL_SOCKET, SO_TYPE, 0, 1},
        {SOL_SOCKET, SO_ERROR, 0, 1},
        {SOL_SOCKET, SO_ACCEPTCONN, 0, 1},
        {SOL_SOCKET, SO_DOMAIN, 0, 1},
        {SOL_SOCKET, SO_PROTOCOL, 0, 1},
        {SOL_SOCKET, SO_PEERCRED, 0, 1},
        {SOL_SOCKET, SO_COOKIE, 0, 1},
        {SOL_SOCKET, SO_MEMINFO, 0, 1},
        {SOL_SOCKET, SO_INCOMING_NAPI_ID, 0, 1},
        {IPPROTO_TCP, TCP_NODELAY, 1, 1},
        {IPPROTO_TCP, TCP_MAXSEG, 1, 1},
        {IPPROTO_TCP, TCP_CORK, 1, 1},
        {IPPROTO_TCP, TCP_KEEPIDLE, 1, 1},
        {IPPROTO_TCP, TCP_KEEPINTVL, 1, 1},
        {IPPROTO_TCP, TCP_KEEPCNT, 1, 1},
        {IPPROTO_TCP, TCP_SYNCNT, 1, 1},
        {IPPROTO_TCP, TCP_LINGER2, 1, 1},
        {IPPROTO_TCP, TCP_DEFER_ACCEPT, 1, 1},
        {IPPROTO_TCP, TCP_WINDOW_CLAMP, 1, 1},
        {IPPROTO_TCP, TCP_QUICKACK, 1, 1},
        {IPPROTO_TCP, TCP_CONGESTION, 1, 1},
        {IPPROTO_TCP, TCP_USER_TIMEOUT, 1, 1},
        {IPPROTO_TCP, TCP_FASTOPEN, 1, 1},
        {IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1, 1},
        {IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1, 1},
        {IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1, 1},
        {IPPROTO_TCP, TCP_THIN_DUPACK, 1, 1},
        {IPPROTO_TCP, TCP_SAVE_SYN, 1, 1},
        {IPPROTO_TCP, TCP_SAVED_SYN, 0, 1},
        {IPPROTO_TCP, TCP_INFO, 0, 1},
        {IPPROTO_TCP, TCP_CC_INFO, 0, 1},
        {IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 1, 1},
        {IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, 1, 1},
        {IPPROTO_IP, IP_TOS, 1, 1},
        {IPPROTO_IP, IP_TTL, 1, 1},
        {IPPROTO_IP, IP_OPTIONS, 1, 1},
        {IPPROTO_IP, IP_PKTINFO, 1, 1},
        {IPPROTO_IP, IP_RECVTTL, 1, 1},
        {IPPROTO_IP, IP_RECVTOS, 1, 1},
        {IPPROTO_IP, IP_RECVOPTS, 1, 1},
        {IPPROTO_IP, IP_RECVERR, 1, 1},
        {IPPROTO_IP, IP_RECVORIGDSTADDR, 1, 1},
        {IPPROTO_IP, IP_MTU_DISCOVER, 1, 1},
        {IPPROTO_IP, IP_MTU, 0, 1},
        {IPPROTO_IP, IP_FREEBIND, 1, 1},
        {IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1, 1},
        {IPPROTO_IP, IP_MULTICAST_IF, 1, 1},
        {IPPROTO_IP, IP_MULTICAST_TTL, 1, 1},
        {IPPROTO_IP, IP_MULTICAST_LOOP, 1, 1},
        {IPPROTO_IP, IP_MULTICAST_ALL, 1, 1},
        {IPPROTO_IP, IP_ADD_MEMBERSHIP, 1, 0},
        {IPPROTO_IP, IP_DROP_MEMBERSHIP, 1, 0},
        {IPPROTO_IPV6, IPV6_V6ONLY, 1, 1},
        {IPPROTO_IPV6, IPV6_UNICAST_HOPS, 1, 1},
        {IPPROTO_IPV6, IPV6_MULTICAST_IF, 1, 1},
        {IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1, 1},
        {IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1, 1},
        {IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, 1, 0},
        {IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, 1, 0},
        {IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 1},
        {IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 1},
        {IPPROTO_IPV6, IPV6_RECVTCLASS, 1, 1},
        {IPPROTO_IPV6, IPV6_TCLASS, 1, 1},
        {IPPROTO_IPV6, IPV6_RECVERR, 1, 1},
        {IPPROTO_IPV6, IPV6_MTU_DISCOVER, 1, 1},
        {IPPROTO_IPV6, IPV6_MTU, 1, 1},
        {IPPROTO_IPV6, IPV6_DONTFRAG, 1, 1},
        {IPPROTO_IPV6, IPV6_FREEBIND, 1, 1},
        {IPPROTO_UDP, UDP_CORK, 1, 1},
        {IPPROTO_UDP, UDP_SEGMENT, 1, 1},
        {IPPROTO_UDP, UDP_GRO, 1, 1},
};

static bool sockopt_allowed(int level, int name, bool set)
{
	for (size_t i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		if (sockopts[i].level == level && sockopts[i].name == name)
			return set ? sockopts[i].set : sockopts[i].get;
	return false;
}

/* What setsockopt and getsockopt refuse before the host sees the option, in this order: a
 * negative optlen, an fd that is no socket (SO_DOMAIN answers ENOTSOCK), an option not in
 * the list.  0 or -errno. */
static int sockopt_check(int h, int level, int name, int optlen, bool set)
{
	if (optlen < 0)
		return -EINVAL;
	int domain = sock_domain(h);
	if (domain < 0)
		return domain;
	return sockopt_allowed(level, name, set) ? 0 : -ENOPROTOOPT;
}

long sys_setsockopt(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	int level = (int)a->a[1], name = (int)a->a[2], optlen = (int)a->a[4];
	int err = sockopt_check(h, level, name, optlen, true);
	if (err)
		return err;
	unsigned char buf[OPT_MAX];
	size_t n = optlen > OPT_MAX ? OPT_MAX : (size_t)optlen;
	err = n ? copy_from_guest(p, buf, a->a[3], n) : 0;
	if (err)
		return err;
	if (shared_listener(p, a->a[0])) {
		/* The listener is every request VM's: setting an option to the value it has
		 * is allowed (programs repeat SO_REUSEADDR), changing it is not. */
		unsigned char cur[OPT_MAX];
		socklen_t cn = sizeof(cur);
		if (getsockopt(h, level, name, cur, &cn) == 0 && cn == n && memcmp(cur, buf, n) == 0)
			return 0;
		return -EPERM;
	}
	return host_result(setsockopt(h, level, name, n ? buf : NULL, (socklen_t)n));
}

long sys_getsockopt(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	int level = (int)a->a[1], name = (int)a->a[2];
	int optlen;
	int err = copy_from_guest(p, &optlen, a->a[4], sizeof(optlen));
	if (!err)
		err = sockopt_check(h, level, name, optlen, false);
	if (err)
		return err;
	unsigned char buf[OPT_MAX];
	memset(buf, 0, sizeof(buf));
	socklen_t n = optlen > OPT_MAX ? OPT_MAX : (socklen_t)optlen;
	if (getsockopt(h, level, name, buf, &n) < 0)
		return -errno;
	if (level == SOL_SOCKET && name == SO_PEERCRED && n >= sizeof(struct ucred)) {
		/* The guest has its own pid: a peer that is this very process shows it. */
		struct ucred *cr = (struct ucred *)buf;
		if (cr->pid == getpid())
			cr->pid = p->pid;
	}
	if (n > (socklen_t)optlen)
		n = (socklen_t)optlen;
	if (n && (err = copy_to_guest(p, a->a[3], buf, n)))
		return err;
	int out = (int)n;
	return copy_to_guest(p, a->a[4], &out, sizeof(out));
}

/* ---- data: sendto/recvfrom, sendmsg/recvmsg, sendmmsg/recvmmsg --------------------------- */

long sys_sendto(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	size_t n = a->a[2] > MAX_RW ? MAX_RW : (size_t)a->a[2];
	int flags = (int)a->a[3];
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int hold = -1, err;
	if (a->a[4]) {
		if ((err = addr_from_guest(p, a->a[4], (int)a->a[5], &ss, &len)))
			return err;
		int domain = sock_domain(h);
		if (domain < 0)
			return domain;
		if ((err = check_dest(p, domain, &ss, &len, &hold)))
			return err;
	}
	const void *buf = guest_buf(p, a->a[1], n, false);
	/* Other threads need the vCPU: no host block on a full socket (sched.c). */
	bool nowait = buf && !(flags & MSG_DONTWAIT) && sched_write_nowait(p, fdtab_get(&p->fdt, (int)a->a[0]));
	long r = buf ? host_result(sendto(h, buf, n, flags | (nowait ? MSG_DONTWAIT : 0),
	                                  a->a[4] ? (struct sockaddr *)&ss : NULL, len))
	             : -EFAULT;
	if (nowait || p->cur->io_done)
		r = sched_write_progress(p, h, r, n);
	if (hold >= 0)
		close(hold);
	return r;
}

long sys_recvfrom(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	size_t n = a->a[2] > MAX_RW ? MAX_RW : (size_t)a->a[2];
	void *buf = guest_buf_out(p, a->a[1], n);
	if (!buf)
		return -EFAULT;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len = sizeof(ss);
	ssize_t r = recvfrom(h, buf, n, (int)a->a[3], a->a[4] ? (struct sockaddr *)&ss : NULL, a->a[4] ? &len : NULL);
	if (r < 0)
		return -errno;
	guest_wrote(p, buf, (size_t)r < n ? (size_t)r : n); /* MSG_TRUNC may report more */
	if (a->a[4]) {
		int err = addr_to_guest(p, -1, &ss, len, a->a[4], a->a[5]);
		if (err)
			return err;
	}
	return r;
}

/* Host state for one guest msghdr. */
struct msg_ctx {
	struct msghdr m; /* the host's view */
	struct msghdr guest; /* as the guest wrote it */
	struct iovec iov[GUEST_IOV_MAX];
	struct sockaddr_storage name;
	unsigned char *ctl; /* malloc'd, CTL_MAX at most */
	int hold; /* an fd to close after the call (AF_UNIX paths), or -1 */
};

static void msg_ctx_free(struct msg_ctx *c)
{
	free(c->ctl);
	c->ctl = NULL;
	if (c->hold >= 0)
		close(c->hold);
	c->hold = -1;
}

/* SCM_RIGHTS on the way out: each guest fd in the message replaced by its host fd (the
 * kernel takes its own reference when the message is sent).  0 or -EBADF. */
static int scm_to_host(struct proc *p, struct cmsghdr *cm)
{
	size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	for (size_t i = 0; i < nfd; i++) {
		int fd;
		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
		struct fd_entry *e = fdtab_get(&p->fdt, fd);
		if (!e)
			return -EBADF;
		memcpy(CMSG_DATA(cm) + i * sizeof(int), &e->host_fd, sizeof(int));
	}
	return 0;
}

/* May a received host fd become the guest's, and as what kind?  -1: no (see the top). */
static int scm_kind(int h)
{
	struct stat st;
	if (policy_check_object(h) || fstat(h, &st) < 0)
		return -1;
	switch (st.st_mode & S_IFMT) {
	case S_IFSOCK: return FD_SOCKET;
	case S_IFIFO: return FD_PIPE;
	case S_IFREG: return FD_FILE;
	case 0: return FD_EVENT; /* an anonymous inode: eventfd, timerfd, epoll, signalfd */
	default: return -1; /* directories, devices, symlinks (O_PATH) */
	}
}

/* SCM_RIGHTS on the way in: the fds that arrived (host fds, CLOEXEC on the host) become
 * guest fds in place, or are closed and dropped (MSG_CTRUNC) when refused or when the
 * table is full.  Returns the message's new length. */
static size_t scm_install(struct proc *p, struct msghdr *m, struct cmsghdr *cm, size_t clen, bool cloexec)
{
	size_t nfd = (clen - CMSG_LEN(0)) / sizeof(int), kept = 0;
	for (size_t i = 0; i < nfd; i++) {
		int h;
		memcpy(&h, CMSG_DATA(cm) + i * sizeof(int), sizeof(h));
		int kind = scm_kind(h), g = -1;
		if (kind < 0)
			close(h);
		else
			g = fdtab_alloc(&p->fdt, 0, h, (enum fd_kind)kind, cloexec); /* closes h on failure */
		if (g < 0) {
			m->msg_flags |= MSG_CTRUNC;
			continue;
		}
		memcpy(CMSG_DATA(cm) + kept++ * sizeof(int), &g, sizeof(g));
	}
	cm->cmsg_len = CMSG_LEN(kept * sizeof(int));
	return kept ? cm->cmsg_len : 0;
}

/* Imports the guest's msghdr at `umsg` (copy_msghdr_from_user and the iovecs). */
static int msg_import(struct proc *p, uint64_t umsg, bool recv, struct msg_ctx *c)
{
	c->ctl = NULL;
	c->hold = -1;
	int err = copy_from_guest(p, &c->guest, umsg, sizeof(c->guest));
	if (err)
		return err;
	memset(&c->m, 0, sizeof(c->m));
	int namelen = (int)c->guest.msg_namelen;
	if (namelen < 0)
		return -EINVAL;
	if (c->guest.msg_name) {
		if ((size_t)namelen > sizeof(c->name))
			namelen = sizeof(c->name);
		memset(&c->name, 0, sizeof(c->name));
		c->m.msg_name = &c->name;
		if (recv) {
			c->m.msg_namelen = sizeof(c->name);
		} else {
			c->m.msg_namelen = (socklen_t)namelen;
			if (namelen &&
			    (err = copy_from_guest(p, &c->name, (uint64_t)c->guest.msg_name, (size_t)namelen)))
				return err;
		}
	}
	if (c->guest.msg_iovlen > GUEST_IOV_MAX)
		return -EMSGSIZE;
	size_t cnt = c->guest.msg_iovlen;
	struct iovec giov[GUEST_IOV_MAX];
	if (cnt && (err = copy_from_guest(p, giov, (uint64_t)c->guest.msg_iov, cnt * sizeof(struct iovec))))
		return err;
	size_t total = 0;
	for (size_t i = 0; i < cnt; i++) {
		size_t len = giov[i].iov_len;
		if ((ssize_t)len < 0)
			return -EINVAL;
		if (len > MAX_RW - total) /* Linux shortens the total to MAX_RW_COUNT */
			len = MAX_RW - total;
		total += len;
		c->iov[i].iov_len = len;
		c->iov[i].iov_base = recv ? guest_buf_out(p, (uint64_t)giov[i].iov_base, len)
		                          : guest_buf(p, (uint64_t)giov[i].iov_base, len, false);
		if (!c->iov[i].iov_base)
			return -EFAULT;
	}
	c->m.msg_iov = c->iov;
	c->m.msg_iovlen = cnt;

	size_t ctllen = c->guest.msg_controllen;
	if (!recv && ctllen > INT_MAX)
		return -ENOBUFS;
	if (ctllen > CTL_MAX) {
		if (!recv)
			return -ENOBUFS; /* past optmem_max: what Linux answers */
		ctllen = CTL_MAX;
	}
	if (ctllen) {
		c->ctl = calloc(1, ctllen);
		if (!c->ctl)
			return -ENOMEM;
		c->m.msg_control = c->ctl;
		c->m.msg_controllen = ctllen;
		if (!recv) {
			if ((err = copy_from_guest(p, c->ctl, (uint64_t)c->guest.msg_control, ctllen)))
				return err;
			/* Walk the control messages: well formed; guest fds become host fds. */
			size_t off = 0;
			while (off + sizeof(struct cmsghdr) <= ctllen) {
				struct cmsghdr *cm = (struct cmsghdr *)(c->ctl + off);
				if (cm->cmsg_len < sizeof(struct cmsghdr) || cm->cmsg_len > ctllen - off)
					return -EINVAL;
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
				    (err = scm_to_host(p, cm)))
					return err;
				off += CMSG_ALIGN(cm->cmsg_len);
			}
		}
	}
	return 0;
}

static long msg_send(struct proc *p, int h, uint64_t umsg, int flags)
{
	struct msg_ctx *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	long r = msg_import(p, umsg, false, c);
	if (!r && c->m.msg_name) {
		int domain = sock_domain(h);
		r = domain < 0 ? domain : check_dest(p, domain, &c->name, &c->m.msg_namelen, &c->hold);
	}
	if (!r)
		r = host_result(sendmsg(h, &c->m, flags));
	msg_ctx_free(c);
	free(c);
	return r;
}

/* The control messages that arrived, as the guest gets them: SCM_RIGHTS fds installed
 * (scm_install), SCM_PIDFD dropped (closed on the host).  Returns the bytes kept. */
static size_t filter_control(struct proc *p, struct msghdr *m, bool cloexec)
{
	unsigned char *ctl = m->msg_control;
	size_t used = m->msg_controllen, out = 0, off = 0;
	while (off + sizeof(struct cmsghdr) <= used) {
		struct cmsghdr *cm = (struct cmsghdr *)(ctl + off);
		if (cm->cmsg_len < sizeof(struct cmsghdr))
			break;
		size_t clen = cm->cmsg_len > used - off ? used - off : cm->cmsg_len;
		size_t step = CMSG_ALIGN(clen) > used - off ? used - off : CMSG_ALIGN(clen);
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t len = scm_install(p, m, cm, clen, cloexec);
			if (len) {
				if (out != off)
					memmove(ctl + out, ctl + off, len);
				out += CMSG_ALIGN(len) > used - out ? len : CMSG_ALIGN(len);
			}
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_PIDFD) {
			size_t nfd = (clen - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
				close(fd);
			}
			m->msg_flags |= MSG_CTRUNC;
		} else {
			if (out != off)
				memmove(ctl + out, ctl + off, step);
			out += step;
		}
		off += step;
	}
	return out;
}

static long msg_recv(struct proc *p, int h, uint64_t umsg, int flags)
{
	struct msg_ctx *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	long r = msg_import(p, umsg, true, c);
	if (r)
		goto out;
	/* Fds that arrive are CLOEXEC on the host always; the guest's flag is its own. */
	r = host_result(recvmsg(h, &c->m, flags | MSG_CMSG_CLOEXEC));
	if (r < 0)
		goto out;
	guest_wrote_iov(p, c->iov, c->m.msg_iovlen, (size_t)r); /* (MSG_TRUNC: stops at the end) */
	size_t ctl_used = c->ctl ? filter_control(p, &c->m, flags & MSG_CMSG_CLOEXEC) : 0;
	int err = 0;
	if (c->guest.msg_name)
		err = addr_to_guest(p, -1, &c->name, c->m.msg_namelen, (uint64_t)c->guest.msg_name,
		                    umsg + offsetof(struct msghdr, msg_namelen));
	int mflags = c->m.msg_flags & ~MSG_CMSG_CLOEXEC;
	if (!err)
		err = copy_to_guest(p, umsg + offsetof(struct msghdr, msg_flags), &mflags, sizeof(mflags));
	if (!err && ctl_used)
		err = copy_to_guest(p, (uint64_t)c->guest.msg_control, c->ctl, ctl_used);
	if (!err)
		err = copy_to_guest(p, umsg + offsetof(struct msghdr, msg_controllen), &ctl_used, sizeof(ctl_used));
	if (err)
		r = err;
out:
	msg_ctx_free(c);
	free(c);
	return r;
}

long sys_sendmsg(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	return h < 0 ? h : msg_send(p, h, a->a[1], (int)a->a[2]);
}

long sys_recvmsg(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	return h < 0 ? h : msg_recv(p, h, a->a[1], (int)a->a[2]);
}

#define MMSG_MAX 1024 /* UIO_MAXIOV, Linux's cap on vlen */

/* Message i of a sendmmsg/recvmmsg vector: sent or received, and its byte count written to
 * its msg_len.  The count, or -errno. */
static long mmsg_one(struct proc *p, int h, uint64_t uvec, unsigned i, int flags, bool recv)
{
	uint64_t um = uvec + (uint64_t)i * sizeof(struct mmsghdr);
	long r = recv ? msg_recv(p, h, um, flags) : msg_send(p, h, um, flags);
	if (r < 0)
		return r;
	unsigned n = (unsigned)r;
	int err = copy_to_guest(p, um + offsetof(struct mmsghdr, msg_len), &n, sizeof(n));
	return err ? err : r;
}

long sys_sendmmsg(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	unsigned vlen = (unsigned)a->a[2] > MMSG_MAX ? MMSG_MAX : (unsigned)a->a[2];
	int flags = (int)a->a[3];
	unsigned i;
	long r = 0;
	for (i = 0; i < vlen; i++) {
		r = mmsg_one(p, h, a->a[1], i, flags, false);
		if (r < 0)
			break;
	}
	return i ? (long)i : r; /* an error after some were sent is not reported */
}

long sys_recvmmsg(struct proc *p, const struct sys_args *a)
{
	int h = sock_fd(p, a->a[0]);
	if (h < 0)
		return h;
	unsigned vlen = (unsigned)a->a[2] > MMSG_MAX ? MMSG_MAX : (unsigned)a->a[2];
	int flags = (int)a->a[3];
	struct timespec ts, end = {0, 0}, now;
	bool timed = a->a[4] != 0;
	int err = timeout_from_guest(p, a->a[4], &ts);
	if (err)
		return err;
	if (timed) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		end.tv_sec = now.tv_sec + ts.tv_sec;
		end.tv_nsec = now.tv_nsec + ts.tv_nsec;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
	}
	unsigned i = 0;
	long r = 0;
	/* As Linux, the timeout is looked at only after each datagram (recvmmsg(2) BUGS). */
	while (i < vlen) {
		r = mmsg_one(p, h, a->a[1], i, flags & ~MSG_WAITFORONE, true);
		if (r < 0)
			break;
		i++;
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
		if (timed) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			struct timespec left = {end.tv_sec - now.tv_sec, end.tv_nsec - now.tv_nsec};
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0)
				left = (struct timespec){0, 0};
			copy_to_guest(p, a->a[4], &left, sizeof(left));
			if (!left.tv_sec && !left.tv_nsec)
				break;
		}
		if (flags & MSG_OOB)
			break; /* only one out-of-band datagram */
	}
	return i ? (long)i : r;
}
