/* epoll.c - epoll.  The guest's epoll fd is a host epoll instance (FD_EPOLL); epoll_ctl
 * registers the HOST fd behind the guest's fd with the guest's struct epoll_event as it is,
 * so epoll_wait hands back the guest's own data untouched.  Because the guest's fds are host
 * fds one to one (dup makes a host dup), the interest list behaves as Linux's: an entry goes
 * away when the last fd of its file is closed, and a dup is a separate entry.
 *
 * struct epoll_event is packed on x86-64 (12 bytes) for guest and host alike.  epoll_wait
 * fills at most EPOLL_BATCH events per call (fewer than asked is always allowed; the rest
 * stay ready) straight into the guest's buffer; a buffer that is not all writable gets the
 * events through a bounce buffer, and EFAULT if they cannot be copied out (as Linux, which
 * faults only when it writes an event).
 *
 * The sigmask of epoll_pwait/epoll_pwait2 is validated but not applied (TODO, as ppoll in
 * poll.c: a pending signal the mask would unblock is not delivered).  A host signal (the
 * execution deadline) gives EINTR.
 */
#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

#define EPOLL_BATCH 1024
#define EP_MAX_EVENTS (INT_MAX / (int)sizeof(struct epoll_event))
#define GUEST_SIGSET_SIZE 8

static int host_fd(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
	return e ? e->host_fd : -EBADF;
}

static long new_epoll(struct proc *p, bool cloexec)
{
	int h = epoll_create1(EPOLL_CLOEXEC);
	if (h < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, h, FD_EPOLL, cloexec);
}

long sys_epoll_create(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] <= 0)
		return -EINVAL;
	return new_epoll(p, false);
}

long sys_epoll_create1(struct proc *p, const struct sys_args *a)
{
	int flags = (int)a->a[0];
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	return new_epoll(p, flags & EPOLL_CLOEXEC);
}

long sys_epoll_ctl(struct proc *p, const struct sys_args *a)
{
	int epfd = (int)a->a[0], op = (int)a->a[1], fd = (int)a->a[2];
	struct epoll_event ev = { 0 };
	if (op != EPOLL_CTL_DEL) {
		/* Linux copies the event first for every op that has one. */
		int err = copy_from_guest(p, &ev, a->a[3], sizeof(ev));
		if (err)
			return err;
	}
	int hep = host_fd(p, (uint64_t)epfd);
	if (hep < 0)
		return hep;
	int hfd = host_fd(p, (uint64_t)fd);
	if (hfd < 0)
		return hfd;
	if (fd == epfd)
		return -EINVAL;
	return epoll_ctl(hep, op, hfd, &ev) < 0 ? -errno : 0;
}

static long host_wait(int h, struct epoll_event *buf, int n, const struct timespec *ts)
{
	long r = syscall(SYS_epoll_pwait2, h, buf, n, ts, NULL, 0);
	if (r < 0 && errno == ENOSYS) {
		/* An old host kernel: milliseconds, rounded up so the wait is never short. */
		int ms = -1;
		if (ts) {
			long long t = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
			ms = t > INT_MAX ? INT_MAX : (int)t;
		}
		r = epoll_wait(h, buf, n, ms);
	}
	return r < 0 ? -errno : r;
}

/* The common wait: `ts` NULL waits forever. */
static long do_wait(struct proc *p, uint64_t epfd, uint64_t uevents, int maxevents, const struct timespec *ts)
{
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	int h = host_fd(p, epfd);
	if (h < 0)
		return h;
	int n = maxevents > EPOLL_BATCH ? EPOLL_BATCH : maxevents;
	struct epoll_event *buf = guest_buf(p, uevents, (size_t)n * sizeof(struct epoll_event), true);
	if (!buf) {
		/* Linux only faults when it writes an event: wait into a bounce buffer, and
		 * the copy out decides. */
		struct epoll_event bounce[64];
		if (n > 64)
			n = 64;
		long r = host_wait(h, bounce, n, ts);
		if (r > 0 && copy_to_guest(p, uevents, bounce, (size_t)r * sizeof(bounce[0])))
			return -EFAULT;
		return r;
	}
	return host_wait(h, buf, n, ts);
}

static int check_sigmask(struct proc *p, uint64_t umask, uint64_t size)
{
	if (!umask)
		return 0;
	if (size != GUEST_SIGSET_SIZE)
		return -EINVAL;
	uint64_t mask;
	return copy_from_guest(p, &mask, umask, sizeof(mask));
}

static long wait_ms(struct proc *p, const struct sys_args *a)
{
	int ms = (int)a->a[3];
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	return do_wait(p, a->a[0], a->a[1], (int)a->a[2], ms < 0 ? NULL : &ts);
}

long sys_epoll_wait(struct proc *p, const struct sys_args *a)
{
	return wait_ms(p, a);
}

long sys_epoll_pwait(struct proc *p, const struct sys_args *a)
{
	int err = check_sigmask(p, a->a[4], a->a[5]);
	return err ? err : wait_ms(p, a);
}

long sys_epoll_pwait2(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	if (a->a[3]) {
		int err = copy_from_guest(p, &ts, a->a[3], sizeof(ts));
		if (err)
			return err;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
			return -EINVAL;
	}
	int err = check_sigmask(p, a->a[4], a->a[5]);
	if (err)
		return err;
	return do_wait(p, a->a[0], a->a[1], (int)a->a[2], a->a[3] ? &ts : NULL);
}
