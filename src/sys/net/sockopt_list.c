/* sockopt_list.c - the socket options passed to the host (see sockopt_list.h). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#include "sys/net/net_impl.h"
#include "sys/net/sockopt_list.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

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

bool sockopt_allowed(int level, int name, bool set)
{
	for (size_t i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		if (sockopts[i].level == level && sockopts[i].name == name)
			return set ? sockopts[i].set : sockopts[i].get;
	return false;
}
