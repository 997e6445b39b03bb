/* io.c - reading and writing fds, and the per-fd controls (close, dup, fcntl, ioctl).
 * Data moves straight between host fds and guest memory after a permission check. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/files/procfs.h"
#include "sys/uaccess.h"
#include "util/log.h"

/* Linux caps one transfer at 0x7ffff000 bytes (MAX_RW_COUNT). */
static size_t rw_count(uint64_t n)
{
	return n > 0x7ffff000ULL ? 0x7ffff000ULL : (size_t)n;
}

/* read, write, pread64 and pwrite64: one transfer between a host fd and guest memory. */
static long transfer(struct proc *p, const struct sys_args *a, bool into_guest, bool positional)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	size_t n = rw_count(a->a[2]);
	void *buf = into_guest ? guest_buf_out(p, a->a[1], n) : guest_buf(p, a->a[1], n, false);
	if (!buf)
		return -EFAULT;
	off_t off = (off_t)a->a[3];
	if (!into_guest && !positional && sched_write_nowait(p, fdtab_get(&p->fdt, (int)a->a[0]))) {
		/* Other threads need the vCPU: no host block on a full pipe or socket. */
		struct iovec iov = {buf, n};
		ssize_t r = pwritev2(h, &iov, 1, -1, RWF_NOWAIT);
		if (r < 0 && errno == EOPNOTSUPP)
			r = write(h, buf, n); /* a kernel without RWF_NOWAIT here: as before */
		return sched_write_progress(p, h, host_result(r), n);
	}
	if (!into_guest) {
		long w = host_result(positional ? pwrite(h, buf, n, off) : write(h, buf, n));
		/* Earlier rounds of a parked write count (the other threads ended meanwhile). */
		return p->thr.cur->io_done ? sched_write_progress(p, h, w, n) : w;
	}
	ssize_t r = positional ? pread(h, buf, n, off) : read(h, buf, n);
	if (r > 0)
		guest_wrote(p, buf, (size_t)r);
	return host_result(r);
}

long sys_read(struct proc *p, const struct sys_args *a)
{
	return transfer(p, a, true, false);
}

long sys_write(struct proc *p, const struct sys_args *a)
{
	return transfer(p, a, false, false);
}

long sys_pread64(struct proc *p, const struct sys_args *a)
{
	return transfer(p, a, true, true);
}

long sys_pwrite64(struct proc *p, const struct sys_args *a)
{
	return transfer(p, a, false, true);
}

/* Translate a guest iovec array into host iovecs pointing into guest memory. */
static long import_iov(struct proc *p, uint64_t uiov, uint64_t cnt, bool write, struct iovec *out)
{
	if (cnt > GUEST_IOV_MAX)
		return -EINVAL;
	struct iovec giov[GUEST_IOV_MAX];
	int err = copy_from_guest(p, giov, uiov, cnt * sizeof(struct iovec));
	if (err)
		return err;
	for (uint64_t i = 0; i < cnt; i++) {
		if ((ssize_t)giov[i].iov_len < 0)
			return -EINVAL;
		out[i].iov_len = giov[i].iov_len;
		out[i].iov_base = write ? guest_buf_out(p, (uint64_t)giov[i].iov_base, giov[i].iov_len)
		                        : guest_buf(p, (uint64_t)giov[i].iov_base, giov[i].iov_len, false);
		if (!out[i].iov_base)
			return -EFAULT;
	}
	return 0;
}

long sys_readv(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	struct iovec iov[GUEST_IOV_MAX];
	long err = import_iov(p, a->a[1], a->a[2], true, iov);
	if (err)
		return err;
	ssize_t r = readv(h, iov, (int)a->a[2]);
	if (r > 0)
		guest_wrote_iov(p, iov, a->a[2], (size_t)r);
	return host_result(r);
}

long sys_writev(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	struct iovec iov[GUEST_IOV_MAX];
	long err = import_iov(p, a->a[1], a->a[2], false, iov);
	return err ? err : host_result(writev(h, iov, (int)a->a[2]));
}

long sys_lseek(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	return host_result(lseek(h, (off_t)a->a[1], (int)a->a[2]));
}

long sys_close(struct proc *p, const struct sys_args *a)
{
	return fdtab_close(&p->fdt, (int)a->a[0]);
}

/* Put host fd h, a dup of entry e, into the table: at exactly `at` (dup2) or the lowest
 * free fd >= min_fd.  The copy shares e's description and guest path.  Read e before the
 * install: growing the table can move it. */
static long install_dup(struct proc *p, const struct fd_entry *e, int h, int min_fd, int at, bool cloexec)
{
	struct fd_entry copy = *e;
	char *path = e->path ? strdup(e->path) : NULL;
	int nfd = at >= 0 ? fdtab_install(&p->fdt, at, h, copy.kind, cloexec)
	                  : fdtab_alloc(&p->fdt, min_fd, h, copy.kind, cloexec);
	if (nfd < 0) {
		free(path);
		return nfd;
	}
	struct fd_entry *ne = fdtab_get(&p->fdt, nfd);
	copy.host_fd = h;
	copy.cloexec = cloexec;
	copy.path = path;
	*ne = copy; /* the description's: ofd, shared, nonblock, socketpair peer */
	return nfd;
}

/* A new guest fd for a host dup of `fd`, the lowest free >= min_fd. */
static long dup_from(struct proc *p, int fd, int min_fd, bool cloexec)
{
	struct fd_entry *e = fdtab_get(&p->fdt, fd);
	if (!e)
		return -EBADF;
	if (min_fd < 0 || min_fd >= p->fdt.limit)
		return -EINVAL;
	int h = fcntl(e->host_fd, F_DUPFD_CLOEXEC, 0);
	if (h < 0)
		return -errno;
	return install_dup(p, e, h, min_fd, -1, cloexec);
}

long sys_dup(struct proc *p, const struct sys_args *a)
{
	return dup_from(p, (int)a->a[0], 0, false);
}

static long dup_to(struct proc *p, int oldfd, int newfd, bool cloexec)
{
	struct fd_entry *e = fdtab_get(&p->fdt, oldfd);
	if (!e)
		return -EBADF;
	if (newfd < 0 || newfd >= p->fdt.limit)
		return -EBADF;
	int h = fcntl(e->host_fd, F_DUPFD_CLOEXEC, 0);
	if (h < 0)
		return -errno;
	return install_dup(p, e, h, 0, newfd, cloexec);
}

long sys_dup2(struct proc *p, const struct sys_args *a)
{
	int oldfd = (int)a->a[0], newfd = (int)a->a[1];
	if (oldfd == newfd)
		return fdtab_get(&p->fdt, oldfd) ? newfd : -EBADF;
	return dup_to(p, oldfd, newfd, false);
}

long sys_dup3(struct proc *p, const struct sys_args *a)
{
	int oldfd = (int)a->a[0], newfd = (int)a->a[1], flags = (int)a->a[2];
	if (oldfd == newfd || (flags & ~O_CLOEXEC))
		return -EINVAL;
	return dup_to(p, oldfd, newfd, flags & O_CLOEXEC);
}

/* O_ASYNC is kept on the guest's side: signal-driven I/O (SIGIO to the F_SETOWN owner)
 * is not emulated, so a program relying on it waits in vain; -v says so once. */
static void set_async(struct proc *p, struct fd_entry *e, bool on)
{
	e->async = on;
	if (on && p->cfg.verbose && !p->sigio_logged) {
		p->sigio_logged = true;
		log_msg("O_ASYNC/FIOASYNC accepted, but SIGIO is not delivered");
	}
}

long sys_fcntl(struct proc *p, const struct sys_args *a)
{
	int fd = (int)a->a[0], cmd = (int)a->a[1];
	struct fd_entry *e = fdtab_get(&p->fdt, fd);
	if (!e)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: return dup_from(p, fd, (int)a->a[2], cmd == F_DUPFD_CLOEXEC);
	case F_GETFD: return e->cloexec ? FD_CLOEXEC : 0;
	case F_SETFD: e->cloexec = a->a[2] & FD_CLOEXEC; return 0;
	case F_GETFL: {
		int fl = fcntl(e->host_fd, F_GETFL);
		if (fl >= 0 && e->shared)
			fl = (fl & ~O_NONBLOCK) | (e->nonblock ? O_NONBLOCK : 0);
		return fl < 0 ? -errno : fl | (e->async ? O_ASYNC : 0);
	}
	case F_SETFL: {
		int fl = (int)a->a[2];
		/* A shared listener's description is every request VM's: this VM's O_NONBLOCK
		 * is kept on its side (fdtab.h), as O_ASYNC is for every fd. */
		if (e->shared)
			fdtab_set_nonblock(&p->fdt, e->ofd, fl & O_NONBLOCK);
		else if (fcntl(e->host_fd, F_SETFL, fl & ~O_ASYNC) < 0)
			return -errno;
		set_async(p, e, fl & O_ASYNC);
		return 0;
	}
	case F_GETOWN: return e->owner;
	case F_SETOWN: e->owner = (int)a->a[2]; return 0;
	case F_GETOWN_EX: { /* what glibc's F_GETOWN uses */
		struct f_owner_ex o = {e->owner < 0 ? F_OWNER_PGRP : F_OWNER_PID, e->owner < 0 ? -e->owner : e->owner};
		return copy_to_guest(p, a->a[2], &o, sizeof(o));
	}
	case F_SETOWN_EX: {
		struct f_owner_ex o;
		int err = copy_from_guest(p, &o, a->a[2], sizeof(o));
		if (err)
			return err;
		if (o.type != F_OWNER_TID && o.type != F_OWNER_PID && o.type != F_OWNER_PGRP)
			return -EINVAL;
		e->owner = o.type == F_OWNER_PGRP ? -o.pid : o.pid;
		return 0;
	}
	case F_NOTIFY: {
		/* dnotify: as Linux, an argument with no event bits (DN_MULTISHOT alone: bit 31,
		 * which a 64-bit caller passes in a long) clears a registration, on any fd; one
		 * with events needs a directory.  Registering is not emulated (the signals would
		 * go to the host): EINVAL, as before F_NOTIFY was known. */
		if (!((unsigned)a->a[2] & ~(unsigned)DN_MULTISHOT))
			return 0;
		struct stat st;
		if (fstat(e->host_fd, &st) < 0)
			return -errno;
		return S_ISDIR(st.st_mode) ? -EINVAL : -ENOTDIR;
	}
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
	case F_ADD_SEALS:
	case F_GET_SEALS: return host_result(fcntl(e->host_fd, cmd, (int)a->a[2]));
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW: {
		struct flock fl;
		int err = copy_from_guest(p, &fl, a->a[2], sizeof(fl));
		if (err)
			return err;
		if ((cmd == F_SETLKW || cmd == F_OFD_SETLKW) && fl.l_type != F_UNLCK && sched_should_park(p)) {
			/* As flock: try, and park to try again rather than block the host. */
			if (fcntl(e->host_fd, cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK, &fl) == 0)
				return 0;
			return errno == EAGAIN || errno == EACCES ? sched_park_retry(p) : -errno;
		}
		if (fcntl(e->host_fd, cmd, &fl) < 0)
			return -errno;
		return cmd == F_GETLK || cmd == F_OFD_GETLK ? copy_to_guest(p, a->a[2], &fl, sizeof(fl)) : 0;
	}
	default: return -EINVAL;
	}
}

/* An ioctl whose argument points to `size` bytes the host reads. */
static long ioctl_in(struct proc *p, int h, unsigned long req, uint64_t uarg, size_t size)
{
	unsigned char buf[64];
	int err = copy_from_guest(p, buf, uarg, size);
	return err ? err : host_result(ioctl(h, req, buf));
}

/* TIOCGPTPEER: the slave of a pty master the guest opened, as a new guest fd. */
static long pty_peer(struct proc *p, int h, int flags)
{
	int num;
	if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	if (ioctl(h, TIOCGPTN, &num) < 0 || !pty_owned(p, num))
		return -ENOTTY;
	int s = ioctl(h, TIOCGPTPEER, (flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, s, FD_FILE, flags & O_CLOEXEC);
}

long sys_ioctl(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	/* Terminal calls go to the host fd, so a guest on a terminal sees a terminal and
	 * one on a pipe or file gets ENOTTY, as Linux answers; the pty calls work on the
	 * pseudo-terminals the guest opened (procfs.c).  Nothing that changes a controlling
	 * terminal or a process group of the host's (TIOCSCTTY, TIOCSPGRP) is passed.  The kernel's struct termios
	 * is 36 bytes (asm-generic/termbits.h), not glibc's. */
	unsigned long req = a->a[1];
	unsigned char buf[64];
	size_t size;
	switch (req) {
	case TCGETS: size = 36; break;
	case TIOCGWINSZ: size = sizeof(struct winsize); break;
	case FIONREAD:
	case TIOCOUTQ:
	case TIOCGPTN:
	case TIOCGPTLCK:
	case TIOCGPKT: size = sizeof(int); break;
	case TCSETS:
	case TCSETSW:
	case TCSETSF: return ioctl_in(p, h, req, a->a[2], 36);
	case TIOCSWINSZ: return ioctl_in(p, h, req, a->a[2], sizeof(struct winsize));
	case TIOCSPTLCK:
	case TIOCPKT: return ioctl_in(p, h, req, a->a[2], sizeof(int));
	case TCFLSH:
	case TCXONC:
	case TCSBRK:
	case TCSBRKP: return host_result(ioctl(h, req, (int)a->a[2])); /* by value */
	case TIOCGPTPEER: return pty_peer(p, h, (int)a->a[2]);
	case FIONBIO: {
		int on;
		int err = copy_from_guest(p, &on, a->a[2], sizeof(on));
		struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
		if (!err && e->shared) {
			fdtab_set_nonblock(&p->fdt, e->ofd, on != 0); /* as F_SETFL */
			return 0;
		}
		return err ? err : host_result(ioctl(h, FIONBIO, &on));
	}
	case FIOASYNC: {
		int on;
		int err = copy_from_guest(p, &on, a->a[2], sizeof(on));
		if (!err)
			set_async(p, fdtab_get(&p->fdt, (int)a->a[0]), on != 0);
		return err;
	}
	case FIOCLEX:
	case FIONCLEX: fdtab_get(&p->fdt, (int)a->a[0])->cloexec = req == FIOCLEX; return 0;
	default: return -ENOTTY;
	}
	if (ioctl(h, req, buf) < 0)
		return -errno;
	return copy_to_guest(p, a->a[2], buf, size);
}

/* preadv/pwritev and their -2 forms: readv/writev at an offset (-1 with the -2 forms: the
 * file position), with RWF_* flags passed to the host.  On x86-64 the offset is one
 * register (pos_l); pos_h is unused. */
static long transfer_v(struct proc *p, const struct sys_args *a, bool into_guest, int flags)
{
	int h = host_fd_of(p, a->a[0]);
	if (h < 0)
		return h;
	struct iovec iov[GUEST_IOV_MAX];
	long err = import_iov(p, a->a[1], a->a[2], into_guest, iov);
	if (err)
		return err;
	off_t off = (off_t)a->a[3];
	if (!into_guest)
		return host_result(pwritev2(h, iov, (int)a->a[2], off, flags));
	ssize_t r = preadv2(h, iov, (int)a->a[2], off, flags);
	if (r > 0)
		guest_wrote_iov(p, iov, a->a[2], (size_t)r);
	return host_result(r);
}

long sys_preadv(struct proc *p, const struct sys_args *a)
{
	return (int64_t)a->a[3] < 0 ? -EINVAL : transfer_v(p, a, true, 0);
}

long sys_pwritev(struct proc *p, const struct sys_args *a)
{
	return (int64_t)a->a[3] < 0 ? -EINVAL : transfer_v(p, a, false, 0);
}

long sys_preadv2(struct proc *p, const struct sys_args *a)
{
	return transfer_v(p, a, true, (int)a->a[5]);
}

long sys_pwritev2(struct proc *p, const struct sys_args *a)
{
	return transfer_v(p, a, false, (int)a->a[5]);
}

/* close_range(first, last, flags): closes (or, with CLOSE_RANGE_CLOEXEC, marks close-on-
 * exec) every open guest fd in [first, last].  CLOSE_RANGE_UNSHARE asks for a private
 * table, which every process here already has. */
long sys_close_range(struct proc *p, const struct sys_args *a)
{
	uint64_t first = (uint32_t)a->a[0], last = (uint32_t)a->a[1], flags = a->a[2];
	if (flags & ~(uint64_t)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) || first > last)
		return -EINVAL;
	for (uint64_t fd = first; fd <= last && fd < (uint64_t)p->fdt.cap; fd++) {
		struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
		if (!e)
			continue;
		if (flags & CLOSE_RANGE_CLOEXEC)
			e->cloexec = true;
		else
			fdtab_close(&p->fdt, (int)fd);
	}
	return 0;
}

/* An optional loff_t the guest passes by pointer (splice's offsets): copied in, and out
 * again after the call. */
static long offset_in(struct proc *p, uint64_t uoff, loff_t *off, loff_t **offp)
{
	*offp = NULL;
	if (!uoff)
		return 0;
	*offp = off;
	return copy_from_guest(p, off, uoff, sizeof(*off));
}

/* splice and tee move data between two host fds inside the host kernel: no guest memory
 * is touched except the offsets. */
long sys_splice(struct proc *p, const struct sys_args *a)
{
	int in = host_fd_of(p, a->a[0]), out = host_fd_of(p, a->a[2]);
	if (in < 0 || out < 0)
		return -EBADF;
	loff_t off_in, off_out, *pin, *pout;
	long err = offset_in(p, a->a[1], &off_in, &pin) ?: offset_in(p, a->a[3], &off_out, &pout);
	if (err)
		return err;
	ssize_t r = splice(in, pin, out, pout, rw_count(a->a[4]), (unsigned)a->a[5]);
	if (r < 0)
		return -errno;
	if (pin && (err = copy_to_guest(p, a->a[1], &off_in, sizeof(off_in))))
		return err;
	if (pout && (err = copy_to_guest(p, a->a[3], &off_out, sizeof(off_out))))
		return err;
	return r;
}

long sys_tee(struct proc *p, const struct sys_args *a)
{
	int in = host_fd_of(p, a->a[0]), out = host_fd_of(p, a->a[1]);
	if (in < 0 || out < 0)
		return -EBADF;
	return host_result(tee(in, out, rw_count(a->a[2]), (unsigned)a->a[3]));
}
