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
 * The sigmask of epoll_pwait/epoll_pwait2 is validated here and applied by the scheduler
 * (as ppoll's, see poll.c).  A host signal gives EINTR.
 */
#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"
#include "sys/events/wait_args.h"

#define EPOLL_BATCH 1024
#define EP_MAX_EVENTS (INT_MAX / (int)sizeof(struct epoll_event))

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
	struct epoll_event ev = {0};
	if (op != EPOLL_CTL_DEL) {
		/* Linux copies the event first for every op that has one. */
		int err = copy_from_guest(p, &ev, a->a[3], sizeof(ev));
		if (err)
			return err;
	}
	int hep = host_fd_of(p, (uint64_t)epfd);
	if (hep < 0)
		return hep;
	int hfd = host_fd_of(p, (uint64_t)fd);
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
	int h = host_fd_of(p, epfd);
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

static long wait_ms(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	return do_wait(p, a->a[0], a->a[1], (int)a->a[2], timeout_from_ms((int)a->a[3], &ts));
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
	int err = timeout_from_guest(p, a->a[3], &ts) ?: check_sigmask(p, a->a[4], a->a[5]);
	if (err)
		return err;
	return do_wait(p, a->a[0], a->a[1], (int)a->a[2], a->a[3] ? &ts : NULL);
}
