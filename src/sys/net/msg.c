/* msg.c - data on sockets: sendto/recvfrom, sendmsg/recvmsg with their control messages
 * (SCM_RIGHTS carries fds both ways; see net.c's header for which fds may arrive), and
 * sendmmsg/recvmmsg. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/net/net_impl.h"
#include "sys/syscalls.h"
#include "sys/events/wait_args.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define MAX_RW 0x7ffff000UL /* MAX_RW_COUNT */
#define CTL_MAX 65536 /* the largest control buffer passed either way */

/* ---- data: sendto/recvfrom, sendmsg/recvmsg, sendmmsg/recvmmsg --------------------------- */

long sys_sendto(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
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
	if (nowait || p->thr.cur->io_done)
		r = sched_write_progress(p, h, r, n);
	if (hold >= 0)
		close(hold);
	return r;
}

long sys_recvfrom(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
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
	int h = host_fd_of(p, a->a[0]);
	return h < 0 ? h : msg_send(p, h, a->a[1], (int)a->a[2]);
}

long sys_recvmsg(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
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
	int h = host_fd_of(p, a->a[0]);
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
	int h = host_fd_of(p, a->a[0]);
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
