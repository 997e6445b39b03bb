/* activation.c - systemd socket activation (sd_listen_fds(3)).  systemd (or
 * systemd-socket-activate) binds the listening sockets and passes them as fds 3.. with
 * LISTEN_FDS/LISTEN_PID.  The guest program knows nothing of that: it creates its own
 * socket and binds it, which would fail with EADDRINUSE.  So when a guest binds a socket
 * to the address of an inherited one (same family and type), its host fd is replaced by
 * the inherited socket, and its listen(2) then only sets the backlog.  Each inherited
 * socket is taken once (the first bind); one nobody takes stays open and unused. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "sys/net/activation.h"
#include "sys/sys.h"
#include "util/log.h"

#define MAX_INHERITED 64

static struct inherited {
	int fd;
	int family, type;
	struct sockaddr_storage addr;
	socklen_t len;
	bool taken;
} inherited[MAX_INHERITED];
static int ninherited;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* An AF_UNIX path as the host resolves it: the real path of its directory plus its last
 * component (the guest binds through /proc/self/fd/N/name, systemd through a path). */
static int unix_canonical(const struct sockaddr_un *un, socklen_t len, char out[PATH_MAX])
{
	size_t n = len - offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(un->sun_path) + 1];
	if (len <= offsetof(struct sockaddr_un, sun_path) || un->sun_path[0] == 0)
		return -EINVAL; /* unnamed or abstract: compared as bytes instead */
	memcpy(path, un->sun_path, n < sizeof(un->sun_path) ? n : sizeof(un->sun_path));
	path[n < sizeof(un->sun_path) ? n : sizeof(un->sun_path)] = 0;
	char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	const char *base = path;
	if (slash) {
		*slash = 0;
		base = slash + 1;
		if (!realpath(path[0] ? path : "/", dir))
			return -errno;
	} else if (!getcwd(dir, sizeof(dir))) {
		return -errno;
	}
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") ? dir : "", base) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool same_addr(const struct inherited *in, const struct sockaddr_storage *ss, socklen_t len)
{
	if (in->addr.ss_family != ss->ss_family)
		return false;
	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *a = (const void *)&in->addr, *b = (const void *)ss;
		return len >= sizeof(*b) && a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *a = (const void *)&in->addr, *b = (const void *)ss;
		return len >= sizeof(*b) && a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	case AF_UNIX: {
		char pa[PATH_MAX], pb[PATH_MAX];
		if (unix_canonical((const void *)&in->addr, in->len, pa) == 0 &&
		    unix_canonical((const void *)ss, len, pb) == 0)
			return strcmp(pa, pb) == 0;
		return in->len == len && memcmp(&in->addr, ss, len) == 0; /* abstract names */
	}
	default: return false;
	}
}

int sys_activation_init(void)
{
	int n = sd_listen_fds(1); /* unsets LISTEN_* so the guest never sees them */
	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (ninherited == MAX_INHERITED) {
			log_msg("socket activation: more than %d sockets passed; fd %d is ignored", MAX_INHERITED, fd);
			continue;
		}
		struct inherited *in = &inherited[ninherited];
		socklen_t olen = sizeof(int);
		in->fd = fd;
		in->len = sizeof(in->addr);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &in->family, &olen) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &in->type, &(socklen_t){sizeof(int)}) < 0 ||
		    getsockname(fd, (struct sockaddr *)&in->addr, &in->len) < 0) {
			log_msg("socket activation: fd %d is not a socket; ignored", fd);
			continue;
		}
		ninherited++;
	}
	return ninherited;
}

int activation_take(int h, int domain, const struct sockaddr_storage *ss, socklen_t len)
{
	if (!ninherited)
		return 0;
	int type;
	socklen_t olen = sizeof(type);
	if (getsockopt(h, SOL_SOCKET, SO_TYPE, &type, &olen) < 0)
		return -errno;
	int ret = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < ninherited; i++) {
		struct inherited *in = &inherited[i];
		if (in->taken || in->family != domain || in->type != type || !same_addr(in, ss, len))
			continue;
		int fl = fcntl(h, F_GETFL);
		if (fl < 0 || dup3(in->fd, h, O_CLOEXEC) < 0) {
			ret = -errno;
			break;
		}
		/* The guest's O_NONBLOCK (a flag of the open socket, shared with systemd, which
		 * only watches it for readability while no service runs). */
		fcntl(h, F_SETFL, (fcntl(h, F_GETFL) & ~O_NONBLOCK) | (fl & O_NONBLOCK));
		in->taken = true;
		ret = 1;
		break;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}
