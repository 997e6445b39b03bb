/* fs.c - paths: open, stat, access, readlink, getcwd.  Guest dirfds map to host dirfds;
 * /proc/self/exe names the guest's executable, not kvmserver. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

/* A (dirfd, path) argument pair resolved for the host: the host dirfd (or AT_FDCWD) and
 * the path to give it.  Every path-taking call goes through here. */
struct at_path {
	int dirfd;
	const char *path;
	char buf[PATH_MAX];
};

static long get_at_path(struct proc *p, uint64_t dirfd, uint64_t upath, struct at_path *out)
{
	long n = strncpy_from_guest(p, out->buf, upath, sizeof(out->buf));
	if (n < 0)
		return n;
	/* /proc/self/exe is the guest's program, not kvmserver. */
	out->path = strcmp(out->buf, "/proc/self/exe") == 0 ? p->exe_path : out->buf;
	if ((int)dirfd == AT_FDCWD || out->buf[0] == '/') {
		out->dirfd = AT_FDCWD;
		return 0;
	}
	struct fd_entry *e = fdtab_get(&p->fdt, (int)dirfd);
	if (!e)
		return -EBADF;
	out->dirfd = e->host_fd;
	return 0;
}

static long do_openat(struct proc *p, uint64_t dirfd, uint64_t upath, int flags, int mode)
{
	struct at_path ap;
	long err = get_at_path(p, dirfd, upath, &ap);
	if (err)
		return err;
	int h = openat(ap.dirfd, ap.path, flags | O_CLOEXEC, mode);
	if (h < 0)
		return -errno;
	return fdtab_alloc(&p->fdt, 0, h, FD_FILE, flags & O_CLOEXEC);
}

long sys_open(struct proc *p, const struct sys_args *a)
{
	return do_openat(p, (uint64_t)AT_FDCWD, a->a[0], (int)a->a[1], (int)a->a[2]);
}

long sys_openat(struct proc *p, const struct sys_args *a)
{
	return do_openat(p, a->a[0], a->a[1], (int)a->a[2], (int)a->a[3]);
}

/* The x86-64 kernel's struct stat is glibc's struct stat, so it copies as is. */
static long do_fstatat(struct proc *p, uint64_t dirfd, uint64_t upath, uint64_t ubuf, int flags)
{
	struct at_path ap;
	long err = get_at_path(p, dirfd, upath, &ap);
	if (err)
		return err;
	struct stat st;
	if (fstatat(ap.dirfd, ap.path, &st, flags) < 0)
		return -errno;
	return copy_to_guest(p, ubuf, &st, sizeof(st));
}

long sys_stat(struct proc *p, const struct sys_args *a)
{
	return do_fstatat(p, (uint64_t)AT_FDCWD, a->a[0], a->a[1], 0);
}

long sys_lstat(struct proc *p, const struct sys_args *a)
{
	return do_fstatat(p, (uint64_t)AT_FDCWD, a->a[0], a->a[1], AT_SYMLINK_NOFOLLOW);
}

long sys_newfstatat(struct proc *p, const struct sys_args *a)
{
	return do_fstatat(p, a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

long sys_fstat(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!e)
		return -EBADF;
	struct stat st;
	if (fstat(e->host_fd, &st) < 0)
		return -errno;
	return copy_to_guest(p, a->a[1], &st, sizeof(st));
}

long sys_statx(struct proc *p, const struct sys_args *a)
{
	struct at_path ap;
	long err = get_at_path(p, a->a[0], a->a[1], &ap);
	if (err)
		return err;
	struct statx stx;
	if (statx(ap.dirfd, ap.path, (int)a->a[2], (unsigned)a->a[3], &stx) < 0)
		return -errno;
	return copy_to_guest(p, a->a[4], &stx, sizeof(stx));
}

static long do_faccessat(struct proc *p, uint64_t dirfd, uint64_t upath, int mode, int flags)
{
	struct at_path ap;
	long err = get_at_path(p, dirfd, upath, &ap);
	if (err)
		return err;
	if (faccessat(ap.dirfd, ap.path, mode, flags) < 0)
		return -errno;
	return 0;
}

long sys_access(struct proc *p, const struct sys_args *a)
{
	return do_faccessat(p, (uint64_t)AT_FDCWD, a->a[0], (int)a->a[1], 0);
}

long sys_faccessat(struct proc *p, const struct sys_args *a)
{
	return do_faccessat(p, a->a[0], a->a[1], (int)a->a[2], 0);
}

long sys_faccessat2(struct proc *p, const struct sys_args *a)
{
	return do_faccessat(p, a->a[0], a->a[1], (int)a->a[2], (int)a->a[3]);
}

static long do_readlinkat(struct proc *p, uint64_t dirfd, uint64_t upath, uint64_t ubuf, uint64_t size)
{
	struct at_path ap;
	char target[PATH_MAX];
	long err = get_at_path(p, dirfd, upath, &ap);
	if (err)
		return err;
	if ((long)size <= 0)
		return -EINVAL;
	ssize_t n;
	if (ap.path == p->exe_path) {
		n = (ssize_t)strlen(p->exe_path);
		memcpy(target, p->exe_path, (size_t)n);
	} else {
		n = readlinkat(ap.dirfd, ap.path, target, sizeof(target));
		if (n < 0)
			return -errno;
	}
	if ((uint64_t)n > size)
		n = (ssize_t)size; /* truncated, without a NUL, as readlink(2) */
	err = copy_to_guest(p, ubuf, target, (size_t)n);
	return err ? err : n;
}

long sys_readlink(struct proc *p, const struct sys_args *a)
{
	return do_readlinkat(p, (uint64_t)AT_FDCWD, a->a[0], a->a[1], a->a[2]);
}

long sys_readlinkat(struct proc *p, const struct sys_args *a)
{
	return do_readlinkat(p, a->a[0], a->a[1], a->a[2], a->a[3]);
}

long sys_getcwd(struct proc *p, const struct sys_args *a)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	size_t len = strlen(cwd) + 1;
	if (len > a->a[1])
		return -ERANGE;
	long err = copy_to_guest(p, a->a[0], cwd, len);
	return err ? err : (long)len;
}
