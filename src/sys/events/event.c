/* event.c - pipes, eventfd and timerfd: real host objects, held in the fd table (FD_PIPE,
 * FD_EVENT), so read/write/poll/epoll on them are the host's, exactly.  Host fds are always
 * close-on-exec; the guest's own O_CLOEXEC lives in the fd table.
 *
 * signalfd/signalfd4 are not implemented (ENOSYS from the dispatcher): guest signals live
 * in signal.c's per-thread pending sets, not in the host, so a host signalfd would never
 * become readable; it would need an emulated fd fed by signal.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

#ifndef O_NOTIFICATION_PIPE
#define O_NOTIFICATION_PIPE O_EXCL
#endif

/* Installs a pair of host fds as guest fds and writes them to the guest's int[2]; on any
 * failure nothing stays open (as Linux, which installs the fds only after the copy). */
static long install_pair(struct proc *p, int h0, int h1, enum fd_kind kind, bool cloexec, uint64_t uout)
{
	int g0 = fdtab_alloc(&p->fdt, 0, h0, kind, cloexec);
	if (g0 < 0) {
		close(h1);
		return g0;
	}
	int g1 = fdtab_alloc(&p->fdt, 0, h1, kind, cloexec);
	if (g1 < 0) {
		fdtab_close(&p->fdt, g0);
		return g1;
	}
	int gv[2] = {g0, g1};
	int err = copy_to_guest(p, uout, gv, sizeof(gv));
	if (err) {
		fdtab_close(&p->fdt, g0);
		fdtab_close(&p->fdt, g1);
	}
	return err;
}

static long do_pipe2(struct proc *p, uint64_t uout, int flags)
{
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE))
		return -EINVAL;
	if (flags & O_NOTIFICATION_PIPE)
		return -ENOPKG; /* as a kernel without CONFIG_WATCH_QUEUE */
	int hv[2];
	if (pipe2(hv, O_CLOEXEC | (flags & (O_NONBLOCK | O_DIRECT))) < 0)
		return -errno;
	return install_pair(p, hv[0], hv[1], FD_PIPE, flags & O_CLOEXEC, uout);
}

long sys_pipe(struct proc *p, const struct sys_args *a)
{
	return do_pipe2(p, a->a[0], 0);
}

long sys_pipe2(struct proc *p, const struct sys_args *a)
{
	return do_pipe2(p, a->a[0], (int)a->a[1]);
}

/* ---- eventfd ----------------------------------------------------------------------------- */

static long do_eventfd(struct proc *p, unsigned count, int flags)
{
	if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
		return -EINVAL;
	int h = eventfd(count, EFD_CLOEXEC | (flags & (EFD_NONBLOCK | EFD_SEMAPHORE)));
	if (h < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, h, FD_EVENT, flags & EFD_CLOEXEC);
}

long sys_eventfd(struct proc *p, const struct sys_args *a)
{
	return do_eventfd(p, (unsigned)a->a[0], 0);
}

long sys_eventfd2(struct proc *p, const struct sys_args *a)
{
	return do_eventfd(p, (unsigned)a->a[0], (int)a->a[1]);
}

/* ---- timerfd ----------------------------------------------------------------------------- */

long sys_timerfd_create(struct proc *p, const struct sys_args *a)
{
	int clockid = (int)a->a[0], flags = (int)a->a[1];
	if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
		return -EINVAL;
	if (clockid != CLOCK_MONOTONIC && clockid != CLOCK_REALTIME && clockid != CLOCK_BOOTTIME &&
	    clockid != CLOCK_REALTIME_ALARM && clockid != CLOCK_BOOTTIME_ALARM)
		return -EINVAL;
	/* Alarm clocks wake a suspended host: CAP_WAKE_ALARM, which the guest has not, even
	 * when kvmserver runs privileged. */
	if (clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM)
		return -EPERM;
	int h = timerfd_create(clockid, TFD_CLOEXEC | (flags & TFD_NONBLOCK));
	if (h < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, h, FD_EVENT, flags & TFD_CLOEXEC);
}

static bool ts_valid(const struct timespec *t)
{
	return t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < 1000000000L;
}

long sys_timerfd_settime(struct proc *p, const struct sys_args *a)
{
	int flags = (int)a->a[1];
	struct itimerspec nv, ov;
	int err = copy_from_guest(p, &nv, a->a[2], sizeof(nv));
	if (err)
		return err;
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	if (!ts_valid(&nv.it_value) || !ts_valid(&nv.it_interval))
		return -EINVAL;
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!e)
		return -EBADF;
	/* An absolute time on the guest's monotonic clock, which restarted at the freeze. */
	if ((flags & TFD_TIMER_ABSTIME) && p->srv.mono_offset_ns && (nv.it_value.tv_sec || nv.it_value.tv_nsec) &&
	    clock_restarts_in_fork(timerfd_clock(e->host_fd)))
		nv.it_value = ts_add_ns(nv.it_value, p->srv.mono_offset_ns);
	if (timerfd_settime(e->host_fd, flags, &nv, &ov) < 0)
		return -errno;
	return a->a[3] ? copy_to_guest(p, a->a[3], &ov, sizeof(ov)) : 0;
}

long sys_timerfd_gettime(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!e)
		return -EBADF;
	struct itimerspec cur;
	if (timerfd_gettime(e->host_fd, &cur) < 0)
		return -errno;
	return copy_to_guest(p, a->a[1], &cur, sizeof(cur));
}

/* ---- memfd ------------------------------------------------------------------------------- */

/* An anonymous host memfd: a file with no path, nothing the policy has to allow.  Mapping
 * it follows the file-mapping rules (mm.c). */
long sys_memfd_create(struct proc *p, const struct sys_args *a)
{
	char name[250];
	long n = strncpy_from_guest(p, name, a->a[0], sizeof(name));
	if (n < 0)
		return n == -ENAMETOOLONG ? -EINVAL : n;
	unsigned flags = (unsigned)a->a[1];
	if (flags & ~(unsigned)(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB |
	                        (0x3fU << 26) /* MFD_HUGE_MASK << MFD_HUGE_SHIFT */))
		return -EINVAL;
	if (flags & MFD_HUGETLB)
		return -EINVAL; /* guest memory has no huge pages to give */
	int h = memfd_create(name, (flags & MFD_ALLOW_SEALING) | MFD_CLOEXEC);
	if (h < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, h, FD_FILE, flags & MFD_CLOEXEC);
}
