/* fileops.c - calls on an open file or its file system: truncate, sync, locks, space,
 * advice, copies between fds (copy_file_range, sendfile), statfs, and the guest's umask.
 * The fd is the guest's; the host fd behind it does the work. */
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sys/files/procfs.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

/* ---- calls on an open file ---------------------------------------------------------------- */

#define WITH_FD(p, fd, expr)                                                                                           \
	({                                                                                                             \
		int h = host_fd_of(p, fd);                                                                             \
		h < 0 ? (long)h : host_result((long)(expr));                                                           \
	})

long sys_ftruncate(struct proc *p, const struct sys_args *a)
{
	return WITH_FD(p, a->a[0], ftruncate(h, (off_t)a->a[1]));
}

long sys_fsync(struct proc *p, const struct sys_args *a)
{
	return WITH_FD(p, a->a[0], fsync(h));
}
long sys_fdatasync(struct proc *p, const struct sys_args *a)
{
	return WITH_FD(p, a->a[0], fdatasync(h));
}
long sys_flock(struct proc *p, const struct sys_args *a)
{
	int op = (int)a->a[1];
	/* A lock held elsewhere must not block the host while another thread could run (or
	 * a signal come): try without waiting, and park to try again a little later. */
	if (!(op & LOCK_NB) && (op & (LOCK_SH | LOCK_EX)) && sched_should_park(p)) {
		long r = WITH_FD(p, a->a[0], flock(h, op | LOCK_NB));
		return r == -EWOULDBLOCK ? sched_park_retry(p) : r;
	}
	return WITH_FD(p, a->a[0], flock(h, op));
}

long sys_fallocate(struct proc *p, const struct sys_args *a)
{
	return WITH_FD(p, a->a[0], fallocate(h, (int)a->a[1], (off_t)a->a[2], (off_t)a->a[3]));
}

long sys_fadvise64(struct proc *p, const struct sys_args *a)
{
	int h = host_fd_of(p, a->a[0]);
	return h < 0 ? h : -posix_fadvise(h, (off_t)a->a[1], (off_t)a->a[2], (int)a->a[3]);
}

long sys_umask(struct proc *p, const struct sys_args *a)
{
	/* The process's own (proc.c): never the host's, which every worker thread shares. */
	mode_t old = p->id.umask;
	p->id.umask = (mode_t)a->a[0] & 0777;
	return old;
}

/* An optional guest loff_t: *has says whether the guest passed one. */
static long get_off(struct proc *p, uint64_t uptr, loff_t *off, bool *has)
{
	*has = uptr != 0;
	return *has ? copy_from_guest(p, off, uptr, sizeof(*off)) : 0;
}

long sys_copy_file_range(struct proc *p, const struct sys_args *a)
{
	int in = host_fd_of(p, a->a[0]), out = host_fd_of(p, a->a[2]);
	loff_t oin, oout;
	bool hin, hout;
	long err = in < 0 ? in : out < 0 ? out : get_off(p, a->a[1], &oin, &hin) ?: get_off(p, a->a[3], &oout, &hout);
	if (err)
		return err;
	long n = host_result(
	        copy_file_range(in, hin ? &oin : NULL, out, hout ? &oout : NULL, (size_t)a->a[4], (unsigned)a->a[5]));
	if (n > 0 && hin)
		err = copy_to_guest(p, a->a[1], &oin, sizeof(oin));
	if (n > 0 && hout && !err)
		err = copy_to_guest(p, a->a[3], &oout, sizeof(oout));
	return err ? err : n;
}

/* sendfile to a pipe or socket while other threads need the vCPU (sched_write_nowait): a
 * chunk read at the offset (the given one, or the file position) and written without
 * blocking; the offset or position moves by what went, and the thread parks for the rest
 * (sched_sendfile_progress) rather than block the host under a reader of the same process. */
static long sendfile_nowait(struct proc *p, int out, int in, uint64_t uoff, loff_t off, size_t count)
{
	static char buf[65536]; /* one host thread per process: not re-entered meanwhile */
	if (!uoff && (off = lseek(in, 0, SEEK_CUR)) < 0)
		return -errno;
	ssize_t r = pread(in, buf, count < sizeof(buf) ? count : sizeof(buf), off);
	if (r <= 0)
		return sched_sendfile_progress(p, out, r < 0 ? -errno : 0, count);
	struct iovec iov = {buf, (size_t)r};
	ssize_t w = pwritev2(out, &iov, 1, -1, RWF_NOWAIT);
	long res = w < 0 ? -errno : w;
	if (w > 0) {
		off += w;
		long err =
		        uoff ? copy_to_guest(p, uoff, &off, sizeof(off)) : (lseek(in, off, SEEK_SET) < 0 ? -errno : 0);
		if (err)
			return err;
	}
	/* A short chunk with more to come counts as partial: park for the rest. */
	return sched_sendfile_progress(
	        p, out, res, w == r && (size_t)r < count && r == (ssize_t)sizeof(buf) ? (size_t)r + 1 : (size_t)r);
}

long sys_sendfile(struct proc *p, const struct sys_args *a)
{
	int out = host_fd_of(p, a->a[0]), in = host_fd_of(p, a->a[1]);
	loff_t off;
	bool has;
	long err = out < 0 ? out : in < 0 ? in : get_off(p, a->a[2], &off, &has);
	if (err)
		return err;
	size_t count = (size_t)a->a[3];
	if (count && sched_write_nowait(p, fdtab_get(&p->fdt, (int)a->a[0])))
		return sendfile_nowait(p, out, in, has ? a->a[2] : 0, off, count);
	long n = host_result(sendfile(out, in, has ? &off : NULL, count));
	if (n >= 0 && has)
		err = copy_to_guest(p, a->a[2], &off, sizeof(off));
	if (!err && p->thr.cur->io_done) /* earlier rounds of a parked sendfile */
		n = sched_sendfile_progress(p, out, n, count);
	return err ? err : n;
}

long sys_fstatfs(struct proc *p, const struct sys_args *a)
{
	struct statfs sf;
	long err = WITH_FD(p, a->a[0], fstatfs(h, &sf));
	return err ? err : copy_to_guest(p, a->a[1], &sf, sizeof(sf));
}

/* statfs(2): emulated files are on proc (or, for /dev, tmpfs) as Linux shows them. */
long sys_statfs(struct proc *p, const struct sys_args *a)
{
	struct gpath gp;
	struct pfs_node n;
	struct statfs sf = {0};
	long r = fs_resolve(p, AT_FDCWD, a->a[0], 0, &gp);
	if (!r)
		r = fs_lookup(p, &gp, true, &n);
	if (r > 0) {
		sf.f_type = strncmp(gp.path, "/dev/", 5) == 0 ? 0x01021994 : 0x9fa0;
		sf.f_bsize = sf.f_frsize = 4096;
		sf.f_namelen = 255;
		r = 0;
	} else if (r == 0) {
		int h = policy_open(p->cfg.policy, gp.path, O_PATH, 0);
		if (h < 0)
			return h;
		r = host_result(fstatfs(h, &sf));
		close(h);
	}
	return r ? r : copy_to_guest(p, a->a[1], &sf, sizeof(sf));
}

/* File handles would let the guest open by inode, around every path check. */
long sys_name_to_handle_at(struct proc *p, const struct sys_args *a)
{
	return -EOPNOTSUPP;
}
long sys_open_by_handle_at(struct proc *p, const struct sys_args *a)
{
	return -EPERM;
}

/* sync writes back every host filesystem (what a guest may have written is on them);
 * syncfs the one behind the fd. */
long sys_sync(struct proc *p, const struct sys_args *a)
{
	sync();
	return 0;
}

long sys_syncfs(struct proc *p, const struct sys_args *a)
{
	return WITH_FD(p, a->a[0], syncfs(h));
}
