/* sockopt.c - setsockopt and getsockopt: the options passed to the host, from an
 * allow-list (see net.c's header for what is refused and why). */
#include <unistd.h>

#include "sys/net/net_impl.h"
#include "sys/net/sockopt_list.h"
#include "sys/syscalls.h"

#define OPT_MAX 1024 /* the largest option value passed either way */

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
	int h = host_fd_of(p, a->a[0]);
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
	int h = host_fd_of(p, a->a[0]);
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
			cr->pid = p->id.pid;
	}
	if (n > (socklen_t)optlen)
		n = (socklen_t)optlen;
	if (n && (err = copy_to_guest(p, a->a[3], buf, n)))
		return err;
	int out = (int)n;
	return copy_to_guest(p, a->a[4], &out, sizeof(out));
}
