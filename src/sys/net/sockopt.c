/* sockopt.c - setsockopt and getsockopt: the options passed to the host, from an
 * allow-list (see net.c's header for what is refused and why). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "sys/net/net_impl.h"
#include "sys/syscalls.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define OPT_MAX 1024 /* the largest option value passed either way */

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
			cr->pid = p->pid;
	}
	if (n > (socklen_t)optlen)
		n = (socklen_t)optlen;
	if (n && (err = copy_to_guest(p, a->a[3], buf, n)))
		return err;
	int out = (int)n;
	return copy_to_guest(p, a->a[4], &out, sizeof(out));
}
