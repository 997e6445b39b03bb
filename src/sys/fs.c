/* fs.c - guest paths: resolving (dirfd, path) to a guest path, and the calls that open
 * or look at a file by name (open, openat2, stat, statx, access, readlink).
 *
 * No host path the guest wrote is ever opened as such: a path is made absolute against
 * the guest cwd or the dirfd's guest path, normalised, looked up in the emulated /proc and
 * /dev (procfs.c), and otherwise opened through the policy (policy.h), which decides. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sys/procfs.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

/* What openat2 accepts (fs/open.c VALID_OPEN_FLAGS; glibc's O_LARGEFILE is 0 on x86-64). */
#define KERNEL_O_LARGEFILE 0100000
#define VALID_OPEN_FLAGS                                                                                               \
	(KERNEL_O_LARGEFILE | O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |    \
	 O_ASYNC | O_DIRECT | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE | O_SYNC)

static long resolve_str(struct proc *p, int dirfd, const char *in, int flags, struct gpath *out)
{
	size_t n = strlen(in);
	const char *last = strrchr(in, '/');
	last = last ? last + 1 : in;
	out->fd = NULL;
	out->dots = strcmp(last, ".") == 0 ? 1 : strcmp(last, "..") == 0 ? 2 : 0;
	out->slash = (n > 0 && in[n - 1] == '/') || out->dots;
	const char *base = "/";
	if (n == 0) {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		if (dirfd != AT_FDCWD) {
			out->fd = fdtab_get(&p->fdt, dirfd);
			if (!out->fd)
				return -EBADF;
			snprintf(out->path, sizeof(out->path), "%s", out->fd->path ? out->fd->path : "");
			return 0;
		}
		in = ".";
	}
	if (in[0] != '/') {
		if (dirfd == AT_FDCWD) {
			base = p->cwd;
		} else {
			struct fd_entry *e = fdtab_get(&p->fdt, dirfd);
			struct stat st;
			if (!e)
				return -EBADF;
			if (!e->path || fs_fd_stat(p, e, &st) || !S_ISDIR(st.st_mode))
				return -ENOTDIR;
			base = e->path;
		}
	}
	return policy_normalize(base, in, out->path, sizeof(out->path));
}

long fs_resolve(struct proc *p, int dirfd, uint64_t upath, int flags, struct gpath *out)
{
	char in[PATH_MAX] = "";
	if (upath || !(flags & AT_EMPTY_PATH)) { /* statx allows NULL with AT_EMPTY_PATH */
		long n = strncpy_from_guest(p, in, upath, sizeof(in));
		if (n < 0)
			return n;
	}
	return resolve_str(p, dirfd, in, flags, out);
}

long fs_lookup(struct proc *p, struct gpath *gp, bool follow, struct pfs_node *node)
{
	for (int i = 0; i < 16; i++) {
		int r = procfs_lookup(p, gp->path, follow, node);
		if (r != PFS_REDIRECT)
			return r;
	}
	return -ELOOP;
}

int fs_fd_stat(struct proc *p, const struct fd_entry *e, struct stat *st)
{
	if (e->kind == FD_SPECIAL)
		return procfs_fstat(p, e, st);
	return fstat(e->host_fd, st) < 0 ? -errno : 0;
}

/* ---- open -------------------------------------------------------------------------------- */

/* RESOLVE_NO_SYMLINKS: no component of the path may be a symlink (checked where the policy
 * lets us look; elsewhere there is nothing the guest could have placed). */
static long check_no_symlinks(struct proc *p, const char *path)
{
	char prefix[PATH_MAX];
	for (const char *s = path + 1;; s++) {
		if (*s && *s != '/')
			continue;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(s - path), path);
		int h = policy_open(p->policy, prefix, O_PATH | O_NOFOLLOW, 0);
		struct stat st;
		bool link = h >= 0 && fstat(h, &st) == 0 && S_ISLNK(st.st_mode);
		if (h >= 0)
			close(h);
		if (link)
			return -ELOOP;
		if (!*s)
			return 0;
	}
}

static long open_gpath(struct proc *p, struct gpath *gp, int flags, mode_t mode, uint64_t resolve)
{
	int hflags = flags & VALID_OPEN_FLAGS & ~O_CLOEXEC;
	if (flags & O_PATH) /* open(2) ignores the other flags; openat2 (the policy's) refuses them */
		hflags &= O_PATH | O_DIRECTORY | O_NOFOLLOW;
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	if (gp->slash) {
		if ((flags & O_CREAT) && !tmpfile)
			return -EISDIR;
		hflags |= O_DIRECTORY;
	}
	struct pfs_node n;
	long r;
	if (resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)) {
		r = procfs_lookup(p, gp->path, !(flags & O_NOFOLLOW), &n);
		if (r == PFS_REDIRECT)
			return -ELOOP;
	}
	if ((resolve & RESOLVE_NO_SYMLINKS) && (r = check_no_symlinks(p, gp->path)))
		return r;
	r = fs_lookup(p, gp, !(flags & O_NOFOLLOW), &n);
	if (r < 0)
		return r;
	enum fd_kind kind = FD_FILE;
	int h;
	if (r == PFS_NODE) {
		h = procfs_open(p, &n, hflags, &kind, gp->path);
	} else {
		if ((flags & O_NOFOLLOW) && !(flags & O_PATH)) {
			/* A symlink named with O_NOFOLLOW is ELOOP (the policy's escape check would
			 * otherwise resolve it). */
			int t = policy_open(p->policy, gp->path, O_PATH | O_NOFOLLOW, 0);
			struct stat st;
			bool link = t >= 0 && fstat(t, &st) == 0 && S_ISLNK(st.st_mode);
			if (t >= 0)
				close(t);
			if (link)
				return -ELOOP;
		}
		h = policy_open(p->policy, gp->path, hflags, mode & 07777 & ~p->umask);
	}
	if (h < 0)
		return h;
	char *path = NULL;
	if (gp->path[0] && !tmpfile && !(path = strdup(gp->path))) {
		close(h);
		return -ENOMEM;
	}
	int fd = fdtab_alloc(&p->fdt, 0, h, kind, flags & O_CLOEXEC);
	if (fd < 0)
		free(path);
	else
		fdtab_get(&p->fdt, fd)->path = path;
	return fd;
}

static long do_openat(struct proc *p, int dirfd, uint64_t upath, int flags, mode_t mode)
{
	struct gpath gp;
	long err = fs_resolve(p, dirfd, upath, 0, &gp);
	return err ? err : open_gpath(p, &gp, flags | KERNEL_O_LARGEFILE, mode, 0);
}

long sys_open(struct proc *p, const struct sys_args *a)
{
	return do_openat(p, AT_FDCWD, a->a[0], (int)a->a[1], (mode_t)a->a[2]);
}

long sys_creat(struct proc *p, const struct sys_args *a)
{
	return do_openat(p, AT_FDCWD, a->a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a->a[1]);
}

long sys_openat(struct proc *p, const struct sys_args *a)
{
	return do_openat(p, (int)a->a[0], a->a[1], (int)a->a[2], (mode_t)a->a[3]);
}

/* openat2(2): struct open_how checked as Linux does; RESOLVE_BENEATH and RESOLVE_IN_ROOT
 * are honoured by being stricter (no absolute path, no ".."), RESOLVE_NO_XDEV is not. */
long sys_openat2(struct proc *p, const struct sys_args *a)
{
	struct open_how how;
	uint64_t size = a->a[3];
	if (size < sizeof(how))
		return -EINVAL;
	if (size > 4096)
		return -E2BIG;
	int err = copy_from_guest(p, &how, a->a[2], sizeof(how));
	for (uint64_t off = sizeof(how); !err && off < size; off++) {
		unsigned char c;
		err = copy_from_guest(p, &c, a->a[2] + off, 1);
		if (!err && c)
			return -E2BIG;
	}
	if (err)
		return err;
	bool create = (how.flags & O_CREAT) || (how.flags & O_TMPFILE) == O_TMPFILE;
	if ((how.flags & ~(uint64_t)VALID_OPEN_FLAGS) || (how.mode & ~07777ULL) || (how.mode && !create) ||
	    (how.resolve & ~0x3fULL) || ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT)) ||
	    ((how.flags & O_PATH) && (how.flags & ~(uint64_t)(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))))
		return -EINVAL;
	if ((how.resolve & RESOLVE_CACHED) && (create || (how.flags & O_TRUNC)))
		return -EAGAIN;
	char in[PATH_MAX];
	long n = strncpy_from_guest(p, in, a->a[1], sizeof(in));
	if (n < 0)
		return n;
	const char *s = in;
	if (how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) {
		if (in[0] == '/' && (how.resolve & RESOLVE_BENEATH))
			return -EXDEV;
		while (*s == '/')
			s++;
		for (const char *c = s; *c; c += strcspn(c, "/"), c += *c == '/')
			if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || !c[2]))
				return -EXDEV;
	}
	struct gpath gp;
	err = (int)resolve_str(p, (int)a->a[0], s == in ? in : *s ? s : ".", 0, &gp);
	if (err)
		return err;
	int flags = (int)how.flags | ((how.resolve & RESOLVE_NO_SYMLINKS) ? O_NOFOLLOW : 0);
	return open_gpath(p, &gp, flags, (mode_t)how.mode, how.resolve);
}

/* ---- stat -------------------------------------------------------------------------------- */

/* The object gp names, for looking at: an O_PATH host fd (*owned: close it), or 1 with *st
 * filled for an emulated file, or -errno. */
static long look_at(struct proc *p, struct gpath *gp, bool follow, struct stat *st, int *h, bool *owned)
{
	*owned = false;
	if (gp->fd && gp->fd->kind == FD_SPECIAL)
		return fs_fd_stat(p, gp->fd, st) ?: 1;
	if (gp->fd) {
		*h = gp->fd->host_fd;
		return 0;
	}
	struct pfs_node n;
	long r = fs_lookup(p, gp, follow || gp->slash, &n);
	if (r < 0)
		return r;
	if (r)
		return procfs_stat(p, &n, st) ?: 1;
	*h = policy_open(p->policy, gp->path, O_PATH | (follow || gp->slash ? 0 : O_NOFOLLOW), 0);
	if (*h < 0)
		return *h;
	*owned = true;
	return 0;
}

static long stat_gpath(struct proc *p, struct gpath *gp, bool follow, struct stat *st)
{
	int h;
	bool owned;
	long r = look_at(p, gp, follow, st, &h, &owned);
	if (r == 0)
		r = fstat(h, st) < 0 ? -errno : 0;
	if (owned)
		close(h);
	if (r >= 0 && gp->slash && !S_ISDIR(st->st_mode))
		return -ENOTDIR;
	return r < 0 ? r : 0;
}

/* The x86-64 kernel's struct stat is glibc's struct stat, so it copies as is. */
static long do_fstatat(struct proc *p, int dirfd, uint64_t upath, uint64_t ubuf, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH))
		return -EINVAL;
	struct gpath gp;
	struct stat st;
	long err = fs_resolve(p, dirfd, upath, flags, &gp);
	if (!err)
		err = stat_gpath(p, &gp, !(flags & AT_SYMLINK_NOFOLLOW), &st);
	return err ? err : copy_to_guest(p, ubuf, &st, sizeof(st));
}

long sys_stat(struct proc *p, const struct sys_args *a)
{
	return do_fstatat(p, AT_FDCWD, a->a[0], a->a[1], 0);
}

long sys_lstat(struct proc *p, const struct sys_args *a)
{
	return do_fstatat(p, AT_FDCWD, a->a[0], a->a[1], AT_SYMLINK_NOFOLLOW);
}

long sys_newfstatat(struct proc *p, const struct sys_args *a)
{
	return do_fstatat(p, (int)a->a[0], a->a[1], a->a[2], (int)a->a[3]);
}

long sys_fstat(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	struct stat st;
	if (!e)
		return -EBADF;
	int err = fs_fd_stat(p, e, &st);
	return err ? err : copy_to_guest(p, a->a[1], &st, sizeof(st));
}

static void stat_to_statx(const struct stat *st, struct statx *x)
{
	*x = (struct statx){
	        .stx_mask = STATX_BASIC_STATS,
	        .stx_blksize = (uint32_t)st->st_blksize,
	        .stx_nlink = (uint32_t)st->st_nlink,
	        .stx_uid = st->st_uid,
	        .stx_gid = st->st_gid,
	        .stx_mode = (uint16_t)st->st_mode,
	        .stx_ino = st->st_ino,
	        .stx_size = (uint64_t)st->st_size,
	        .stx_blocks = (uint64_t)st->st_blocks,
	        .stx_atime = {st->st_atim.tv_sec, (uint32_t)st->st_atim.tv_nsec},
	        .stx_ctime = {st->st_ctim.tv_sec, (uint32_t)st->st_ctim.tv_nsec},
	        .stx_mtime = {st->st_mtim.tv_sec, (uint32_t)st->st_mtim.tv_nsec},
	        .stx_rdev_major = major(st->st_rdev),
	        .stx_rdev_minor = minor(st->st_rdev),
	        .stx_dev_major = major(st->st_dev),
	        .stx_dev_minor = minor(st->st_dev),
	};
}

long sys_statx(struct proc *p, const struct sys_args *a)
{
	int flags = (int)a->a[2];
	unsigned mask = (unsigned)a->a[3];
	if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) ||
	    (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (mask & STATX__RESERVED))
		return -EINVAL;
	struct gpath gp;
	struct stat st;
	struct statx stx;
	int h;
	bool owned;
	long r = fs_resolve(p, (int)a->a[0], a->a[1], flags, &gp);
	if (!r)
		r = look_at(p, &gp, !(flags & AT_SYMLINK_NOFOLLOW), &st, &h, &owned);
	if (r < 0)
		return r;
	if (r == 0) {
		r = statx(h, "", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE), mask, &stx) < 0 ? -errno : 0;
		if (owned)
			close(h);
	} else {
		stat_to_statx(&st, &stx);
		r = 0;
	}
	if (!r && gp.slash && !S_ISDIR(stx.stx_mode))
		r = -ENOTDIR;
	return r ? r : copy_to_guest(p, a->a[4], &stx, sizeof(stx));
}

/* ---- access ------------------------------------------------------------------------------ */

/* The permission check on a stat (when the host cannot do it on an fd). */
static long mode_allows(const struct cred *c, const struct stat *st, int mode)
{
	unsigned bits;
	if (c->fsuid == 0)
		bits = R_OK | W_OK | ((st->st_mode & 0111) || S_ISDIR(st->st_mode) ? X_OK : 0);
	else if (st->st_uid == c->fsuid)
		bits = (st->st_mode >> 6) & 7;
	else if (cred_in_group(c, st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return (unsigned)mode & ~bits ? -EACCES : 0;
}

static long do_faccessat(struct proc *p, int dirfd, uint64_t upath, int mode, int flags)
{
	if ((mode & ~(R_OK | W_OK | X_OK)) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	struct gpath gp;
	struct stat st;
	int h;
	bool owned;
	long r = fs_resolve(p, dirfd, upath, flags, &gp);
	if (!r)
		r = look_at(p, &gp, !(flags & AT_SYMLINK_NOFOLLOW), &st, &h, &owned);
	if (r < 0)
		return r;
	if (r == 0) {
		/* The host decides for itself while the guest has its ids; a guest that changed
		 * them (cred.c) gets the check done on its own ids. */
		bool own_ids = p->cred.fsuid != geteuid() || p->cred.fsgid != getegid() || p->cred.ngroups;
		r = own_ids                                                                          ? -ENOSYS
		    : syscall(SYS_faccessat2, h, "", mode, AT_EMPTY_PATH | (flags & AT_EACCESS)) < 0 ? -errno
		                                                                                     : 0;
		if ((r == -ENOSYS || r == -EINVAL) && fstat(h, &st) == 0) /* own ids, or before Linux 5.8 */
			r = mode_allows(&p->cred, &st, mode);
		if (owned)
			close(h);
		if (!r && (mode & W_OK) && (gp.fd ? gp.fd->path != NULL : true))
			r = fs_may_write(p, gp.path);
		return r;
	}
	/* Emulated: /dev nodes as the host has them, the rest read-only. */
	if ((mode & W_OK) && !S_ISCHR(st.st_mode))
		return -EACCES;
	return mode_allows(&p->cred, &st, mode);
}

long sys_access(struct proc *p, const struct sys_args *a)
{
	return do_faccessat(p, AT_FDCWD, a->a[0], (int)a->a[1], 0);
}

long sys_faccessat(struct proc *p, const struct sys_args *a)
{
	return do_faccessat(p, (int)a->a[0], a->a[1], (int)a->a[2], 0);
}

long sys_faccessat2(struct proc *p, const struct sys_args *a)
{
	return do_faccessat(p, (int)a->a[0], a->a[1], (int)a->a[2], (int)a->a[3]);
}

/* ---- readlink ---------------------------------------------------------------------------- */

static long do_readlinkat(struct proc *p, int dirfd, uint64_t upath, uint64_t ubuf, uint64_t size)
{
	if ((int)size <= 0)
		return -EINVAL;
	struct gpath gp;
	char target[PATH_MAX];
	long n = fs_resolve(p, dirfd, upath, dirfd == AT_FDCWD ? 0 : AT_EMPTY_PATH, &gp);
	if (n)
		return n;
	struct pfs_node node;
	if (gp.fd) { /* readlinkat(fd, "") on an O_PATH | O_NOFOLLOW fd of a symlink */
		n = gp.fd->kind == FD_SPECIAL ? -ENOENT : readlinkat(gp.fd->host_fd, "", target, sizeof(target));
		n = n < 0 && gp.fd->kind != FD_SPECIAL ? -errno : n;
	} else if ((n = fs_lookup(p, &gp, gp.slash, &node)) != 0) {
		if (n > 0)
			n = procfs_readlink(p, &node, target, sizeof(target));
	} else {
		int h = policy_open(p->policy, gp.path, O_PATH | (gp.slash ? O_DIRECTORY : O_NOFOLLOW), 0);
		struct stat st;
		if (h < 0)
			return h;
		n = fstat(h, &st) == 0 && !S_ISLNK(st.st_mode) ? -EINVAL : readlinkat(h, "", target, sizeof(target));
		n = n == -1 ? -errno : n;
		close(h);
	}
	if (n < 0)
		return n;
	if ((uint64_t)n > size)
		n = (long)size; /* truncated, without a NUL, as readlink(2) */
	long err = copy_to_guest(p, ubuf, target, (size_t)n);
	return err ? err : n;
}

long sys_readlink(struct proc *p, const struct sys_args *a)
{
	return do_readlinkat(p, AT_FDCWD, a->a[0], a->a[1], a->a[2]);
}

long sys_readlinkat(struct proc *p, const struct sys_args *a)
{
	return do_readlinkat(p, (int)a->a[0], a->a[1], a->a[2], a->a[3]);
}

/* ---- calls on an open file ---------------------------------------------------------------- */

static long host(long r)
{
	return r < 0 ? -errno : r;
}

/* The host fd behind guest fd `fd`, or -EBADF. */
static int hfd(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)fd);
	return e ? e->host_fd : -EBADF;
}

#define WITH_FD(p, fd, expr)                                                                                           \
	({                                                                                                             \
		int h = hfd(p, fd);                                                                                    \
		h < 0 ? (long)h : host((long)(expr));                                                                  \
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
	int h = hfd(p, a->a[0]);
	return h < 0 ? h : -posix_fadvise(h, (off_t)a->a[1], (off_t)a->a[2], (int)a->a[3]);
}

long sys_umask(struct proc *p, const struct sys_args *a)
{
	/* The process's own (proc.c): never the host's, which every worker thread shares. */
	mode_t old = p->umask;
	p->umask = (mode_t)a->a[0] & 0777;
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
	int in = hfd(p, a->a[0]), out = hfd(p, a->a[2]);
	loff_t oin, oout;
	bool hin, hout;
	long err = in < 0 ? in : out < 0 ? out : get_off(p, a->a[1], &oin, &hin) ?: get_off(p, a->a[3], &oout, &hout);
	if (err)
		return err;
	long n = host(
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
		long err = uoff ? copy_to_guest(p, uoff, &off, sizeof(off)) : (lseek(in, off, SEEK_SET) < 0 ? -errno : 0);
		if (err)
			return err;
	}
	/* A short chunk with more to come counts as partial: park for the rest. */
	return sched_sendfile_progress(p, out, res, w == r && (size_t)r < count && r == (ssize_t)sizeof(buf) ? (size_t)r + 1 : (size_t)r);
}

long sys_sendfile(struct proc *p, const struct sys_args *a)
{
	int out = hfd(p, a->a[0]), in = hfd(p, a->a[1]);
	loff_t off;
	bool has;
	long err = out < 0 ? out : in < 0 ? in : get_off(p, a->a[2], &off, &has);
	if (err)
		return err;
	size_t count = (size_t)a->a[3];
	if (count && sched_write_nowait(p, fdtab_get(&p->fdt, (int)a->a[0])))
		return sendfile_nowait(p, out, in, has ? a->a[2] : 0, off, count);
	long n = host(sendfile(out, in, has ? &off : NULL, count));
	if (n >= 0 && has)
		err = copy_to_guest(p, a->a[2], &off, sizeof(off));
	if (!err && p->cur->io_done) /* earlier rounds of a parked sendfile */
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
		int h = policy_open(p->policy, gp.path, O_PATH, 0);
		if (h < 0)
			return h;
		r = host(fstatfs(h, &sf));
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
