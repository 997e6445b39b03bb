/* fs.c - the calls that open or look at a file by name (open, openat2, stat, statx,
 * access, readlink), over the path layer (path.c resolves (dirfd, path) to a guest path).
 *
 * No host path the guest wrote is ever opened as such: a path is made absolute against
 * the guest cwd or the dirfd's guest path, normalised, looked up in the emulated /proc and
 * /dev (procfs.c), and otherwise opened through the policy (policy.h), which decides. */
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sys/files/procfs.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

/* What openat2 accepts (fs/open.c VALID_OPEN_FLAGS; glibc's O_LARGEFILE is 0 on x86-64). */
#define KERNEL_O_LARGEFILE 0100000
#define VALID_OPEN_FLAGS                                                                                               \
	(KERNEL_O_LARGEFILE | O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |    \
	 O_ASYNC | O_DIRECT | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE | O_SYNC)

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
		int h = policy_open(p->cfg.policy, prefix, O_PATH | O_NOFOLLOW, 0);
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
			int t = policy_open(p->cfg.policy, gp->path, O_PATH | O_NOFOLLOW, 0);
			struct stat st;
			bool link = t >= 0 && fstat(t, &st) == 0 && S_ISLNK(st.st_mode);
			if (t >= 0)
				close(t);
			if (link)
				return -ELOOP;
		}
		h = policy_open(p->cfg.policy, gp->path, hflags, mode & 07777 & ~p->id.umask);
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
	err = (int)fs_resolve_str(p, (int)a->a[0], s == in ? in : *s ? s : ".", 0, &gp);
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
	*h = policy_open(p->cfg.policy, gp->path, O_PATH | (follow || gp->slash ? 0 : O_NOFOLLOW), 0);
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
		bool own_ids = p->id.cred.fsuid != geteuid() || p->id.cred.fsgid != getegid() || p->id.cred.ngroups;
		r = own_ids                                                                          ? -ENOSYS
		    : syscall(SYS_faccessat2, h, "", mode, AT_EMPTY_PATH | (flags & AT_EACCESS)) < 0 ? -errno
		                                                                                     : 0;
		if ((r == -ENOSYS || r == -EINVAL) && fstat(h, &st) == 0) /* own ids, or before Linux 5.8 */
			r = mode_allows(&p->id.cred, &st, mode);
		if (owned)
			close(h);
		if (!r && (mode & W_OK) && (gp.fd ? gp.fd->path != NULL : true))
			r = fs_may_write(p, gp.path);
		return r;
	}
	/* Emulated: /dev nodes as the host has them, the rest read-only. */
	if ((mode & W_OK) && !S_ISCHR(st.st_mode))
		return -EACCES;
	return mode_allows(&p->id.cred, &st, mode);
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
		int h = policy_open(p->cfg.policy, gp.path, O_PATH | (gp.slash ? O_DIRECTORY : O_NOFOLLOW), 0);
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
