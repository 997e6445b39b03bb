/* sockaddr.c - socket addresses between the guest and the host: the guest's names of
 * path-based AF_UNIX sockets (a per-process table: the host binds under a directory fd, so
 * getsockname would show /proc/self/fd/N/name), path mapping through the policy, and the
 * destination check of connect/sendto (see net.c's header for the rules). */
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/net/net_impl.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define PROC_FD_PREFIX "/proc/self/fd/"

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
void unix_name_remember(struct proc *p, int h, const char *host, const char *guest)
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
int addr_to_guest(struct proc *p, int h, struct sockaddr_storage *ss, socklen_t klen, uint64_t uaddr, uint64_t ulenp)
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

bool is_inet(int domain)
{
	return domain == AF_INET || domain == AF_INET6;
}

/* Linux's minimum lengths: sockaddr_in, and 24 bytes (no scope id) for sockaddr_in6. */
bool inet_len_ok(int family, socklen_t len)
{
	if (family == AF_INET6)
		return len >= offsetof(struct sockaddr_in6, sin6_scope_id);
	return len >= sizeof(struct sockaddr_in);
}

/*
 * A path-based AF_UNIX address: checks the path rules and rewrites *ss to a host path
 * under /proc/self/fd.  *hold gets an fd the caller closes after the host call.
 */
int unix_path_to_host(struct proc *p, enum unix_use use, struct sockaddr_storage *ss, socklen_t *len, int *hold,
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
	int err = policy_normalize(p->id.cwd, gpath, norm, sizeof(norm));
	if (err)
		return err;
	const char *base;
	int dirfd = policy_open_parent(p->cfg.policy, norm, (enum policy_access)(POLICY_READ | POLICY_WRITE), &base);
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
int check_dest(struct proc *p, int domain, struct sockaddr_storage *ss, socklen_t *len, int *hold)
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
		return policy_check_connect(p->cfg.policy, (struct sockaddr *)&check, *len);
	}
	if (domain == AF_UNIX && family == AF_UNIX && *len > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
		if (*len > sizeof(struct sockaddr_un))
			return -EINVAL; /* unix_validate_addr */
		if (un->sun_path[0] == 0)
			return policy_check_connect(p->cfg.policy, (const struct sockaddr *)ss, *len);
		char gpath[sizeof(un->sun_path) + 1];
		return unix_path_to_host(p, UNIX_CONNECT, ss, len, hold, gpath);
	}
	return 0;
}
