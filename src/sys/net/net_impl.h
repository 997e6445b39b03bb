/* net_impl.h - what the socket files share (private to src/sys/net). */
#ifndef SYS_NET_IMPL_H
#define SYS_NET_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "sys/proc_impl.h"
#include "sys/uaccess.h"

/* The socket's family (SO_DOMAIN), or -ENOTSOCK / -errno. */
static inline int sock_domain(int h)
{
	int v;
	socklen_t len = sizeof(v);
	return getsockopt(h, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ? -errno : v;
}

static inline int sock_type(int h)
{
	int v;
	socklen_t len = sizeof(v);
	return getsockopt(h, SOL_SOCKET, SO_TYPE, &v, &len) < 0 ? -errno : v;
}

/* A guest sockaddr in (move_addr_to_kernel): 0 <= len <= sizeof(sockaddr_storage). */
static inline int addr_from_guest(struct proc *p, uint64_t uaddr, int ulen, struct sockaddr_storage *ss, socklen_t *len)
{
	if (ulen < 0 || (size_t)ulen > sizeof(*ss))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	*len = (socklen_t)ulen;
	return ulen ? copy_from_guest(p, ss, uaddr, (size_t)ulen) : 0;
}

#ifndef UDPLITE_SEND_CSCOV /* linux/udp.h's, which clashes with netinet/udp.h */
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif

/* The entry of guest fd `fd` if it is a listener shared with the other request VMs
 * (fdtab.h): nothing this VM does may change the host socket. */
static inline struct fd_entry *shared_listener(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
	return e && e->shared ? e : NULL;
}

/* The AF_UNIX path rules apply to a bind (write access to the directory) or a connect. */
enum unix_use { UNIX_BIND, UNIX_CONNECT };

/* sockaddr.c: the guest's names of path-based AF_UNIX sockets and the address checks. */
/* `guest` is the guest's NUL-terminated path of the socket host fd h is bound to. */
void unix_name_remember(struct proc *p, int h, const char *host, const char *guest);
/* A sockaddr out (move_addr_to_user): copies min(*ulen, klen) bytes, then writes klen. */
int addr_to_guest(struct proc *p, int h, struct sockaddr_storage *ss, socklen_t klen, uint64_t uaddr, uint64_t ulenp);
bool is_inet(int domain);
/* Linux's minimum lengths: sockaddr_in, and 24 bytes (no scope id) for sockaddr_in6. */
bool inet_len_ok(int family, socklen_t len);
/* A path-based AF_UNIX address checked and rewritten to a host path under /proc/self/fd;
 * *hold gets an fd the caller closes after the host call; gpath the guest's path. */
int unix_path_to_host(struct proc *p, enum unix_use use, struct sockaddr_storage *ss, socklen_t *len, int *hold,
                      char *gpath);
/* The destination of connect/sendto/sendmsg through the policy (rewritten for AF_UNIX
 * paths; *hold as above). */
int check_dest(struct proc *p, int domain, struct sockaddr_storage *ss, socklen_t *len, int *hold);

#endif
