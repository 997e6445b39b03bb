/* dir.c - the guest's namespace: directories (getdents64, chdir, getcwd), names (mkdir,
 * rmdir, unlink, rename, link, symlink) and what is changed by name (chmod, chown,
 * utimensat, truncate).
 *
 * Every change needs the policy's write leave for the name: the parent directory is
 * opened through the policy (fs_parent, here) and the *at() call made on (parent, last
 * name), never following a symlink the policy has not seen. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/files/procfs.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

/* ---- directories ------------------------------------------------------------------------- */

/* The host's struct linux_dirent64 is the guest's: the records go straight into guest
 * memory (checked first, as read(2) does). */
long sys_getdents64(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!e)
		return -EBADF;
	size_t n = (unsigned)a->a[2];
	if (n > (1u << 20))
		n = 1u << 20; /* fewer records per call is allowed */
	void *buf = guest_buf(p, a->a[1], n, true);
	if (!buf)
		return -EFAULT;
	if (e->kind == FD_SPECIAL)
		return procfs_getdents(p, e, buf, n);
	return host_result(syscall(SYS_getdents64, e->host_fd, buf, n));
}

/* A directory the guest may enter: one the policy lets it read (or an emulated one), with
 * search permission. */
static long enter_dir(struct proc *p, struct gpath *gp)
{
	struct pfs_node n;
	long r = fs_lookup(p, gp, true, &n);
	if (r < 0)
		return r;
	if (r > 0 && !n.dir)
		return -ENOTDIR;
	if (r == 0) {
		int h = policy_open(p->cfg.policy, gp->path, O_PATH | O_DIRECTORY, 0);
		if (h < 0)
			return h;
		r = host_result(syscall(SYS_faccessat2, h, "", X_OK, AT_EMPTY_PATH));
		close(h);
		if (r && r != -ENOSYS && r != -EINVAL) /* no faccessat2 before Linux 5.8 */
			return r;
	}
	snprintf(p->id.cwd, sizeof(p->id.cwd), "%s", gp->path);
	return 0;
}

long sys_chdir(struct proc *p, const struct sys_args *a)
{
	struct gpath gp;
	long err = fs_resolve(p, AT_FDCWD, a->a[0], 0, &gp);
	return err ? err : enter_dir(p, &gp);
}

long sys_fchdir(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	struct stat st;
	if (!e)
		return -EBADF;
	if (!e->path || fs_fd_stat(p, e, &st) || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	struct gpath gp = {.fd = NULL};
	snprintf(gp.path, sizeof(gp.path), "%s", e->path);
	return enter_dir(p, &gp);
}

/* The guest's cwd, not the host's: the length with the NUL, as the syscall returns it. */
long sys_getcwd(struct proc *p, const struct sys_args *a)
{
	size_t len = strlen(p->id.cwd) + 1;
	if (a->a[1] < len)
		return -ERANGE;
	long err = copy_to_guest(p, a->a[0], p->id.cwd, len);
	return err ? err : (long)len;
}

/* ---- names ------------------------------------------------------------------------------- */

/* Resolves (dirfd, upath) and opens its parent for writing: the host dirfd, *base in gp. */
static int at_parent(struct proc *p, int dirfd, uint64_t upath, bool follow, struct gpath *gp, const char **base)
{
	long err = fs_resolve(p, dirfd, upath, 0, gp);
	return err ? (int)err : fs_parent(p, gp, POLICY_WRITE, follow, base);
}

/* A name written with a trailing slash must be a directory. */
static long slash_ok(int d, const char *base, const struct gpath *gp)
{
	struct stat st;
	if (gp->slash && fstatat(d, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

static long do_mkdirat(struct proc *p, int dirfd, uint64_t upath, mode_t mode)
{
	struct gpath gp;
	const char *base;
	int d = at_parent(p, dirfd, upath, false, &gp, &base);
	if (d < 0)
		return d;
	long r = gp.dots ? -EEXIST : host_result(mkdirat(d, base, mode & 07777 & ~p->id.umask));
	close(d);
	return r;
}

long sys_mkdir(struct proc *p, const struct sys_args *a)
{
	return do_mkdirat(p, AT_FDCWD, a->a[0], (mode_t)a->a[1]);
}

long sys_mkdirat(struct proc *p, const struct sys_args *a)
{
	return do_mkdirat(p, (int)a->a[0], a->a[1], (mode_t)a->a[2]);
}

/* mknod: regular files, FIFOs and socket files, in an allowed parent, with the guest's
 * umask; device nodes are refused (EPERM) — the guest's devices are emulated, and the
 * host's are never its to make. */
static long do_mknodat(struct proc *p, int dirfd, uint64_t upath, mode_t mode, dev_t dev)
{
	mode_t type = mode & S_IFMT;
	if (type == S_IFCHR || type == S_IFBLK)
		return -EPERM;
	if (type != 0 && type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	struct gpath gp;
	const char *base;
	int d = at_parent(p, dirfd, upath, false, &gp, &base);
	if (d < 0)
		return d;
	long r = gp.dots ? -EEXIST
	                 : host_result(mknodat(d, base, (type ? type : S_IFREG) | (mode & 07777 & ~p->id.umask), 0));
	close(d);
	return r;
}

long sys_mknod(struct proc *p, const struct sys_args *a)
{
	return do_mknodat(p, AT_FDCWD, a->a[0], (mode_t)a->a[1], (dev_t)a->a[2]);
}

long sys_mknodat(struct proc *p, const struct sys_args *a)
{
	return do_mknodat(p, (int)a->a[0], a->a[1], (mode_t)a->a[2], (dev_t)a->a[3]);
}

static long do_unlinkat(struct proc *p, int dirfd, uint64_t upath, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	struct gpath gp;
	const char *base;
	int d = at_parent(p, dirfd, upath, false, &gp, &base);
	if (d < 0)
		return d;
	long r;
	struct stat st;
	if (flags & AT_REMOVEDIR)
		r = gp.dots == 1 ? -EINVAL : gp.dots == 2 ? -ENOTEMPTY : host_result(unlinkat(d, base, AT_REMOVEDIR));
	else if (gp.slash) /* unlink("x/"): a directory, or not one */
		r = fstatat(d, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
	else
		r = host_result(unlinkat(d, base, 0));
	close(d);
	return r;
}

long sys_unlink(struct proc *p, const struct sys_args *a)
{
	return do_unlinkat(p, AT_FDCWD, a->a[0], 0);
}
long sys_rmdir(struct proc *p, const struct sys_args *a)
{
	return do_unlinkat(p, AT_FDCWD, a->a[0], AT_REMOVEDIR);
}
long sys_unlinkat(struct proc *p, const struct sys_args *a)
{
	return do_unlinkat(p, (int)a->a[0], a->a[1], (int)a->a[2]);
}

static long do_renameat2(struct proc *p, int olddir, uint64_t oldpath, int newdir, uint64_t newpath, unsigned flags)
{
	if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) ||
	    ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)))
		return -EINVAL;
	struct gpath og, ng;
	const char *ob, *nb;
	int od = at_parent(p, olddir, oldpath, false, &og, &ob);
	if (od < 0)
		return od;
	int nd = at_parent(p, newdir, newpath, false, &ng, &nb);
	long r = nd;
	if (nd >= 0) {
		r = og.dots || ng.dots ? -EBUSY : slash_ok(od, ob, &og);
		if (!r)
			r = host_result(renameat2(od, ob, nd, nb, flags));
		close(nd);
	}
	close(od);
	return r;
}

long sys_rename(struct proc *p, const struct sys_args *a)
{
	return do_renameat2(p, AT_FDCWD, a->a[0], AT_FDCWD, a->a[1], 0);
}

long sys_renameat(struct proc *p, const struct sys_args *a)
{
	return do_renameat2(p, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], 0);
}

long sys_renameat2(struct proc *p, const struct sys_args *a)
{
	return do_renameat2(p, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], (unsigned)a->a[4]);
}

/* The link's text is free; following it later is checked like any path. */
static long do_symlinkat(struct proc *p, uint64_t utarget, int dirfd, uint64_t upath)
{
	char target[PATH_MAX];
	long n = strncpy_from_guest(p, target, utarget, sizeof(target));
	if (n <= 0)
		return n ? n : -ENOENT;
	struct gpath gp;
	const char *base;
	int d = at_parent(p, dirfd, upath, false, &gp, &base);
	if (d < 0)
		return d;
	long r = gp.dots || gp.slash ? -EEXIST : host_result(symlinkat(target, d, base));
	close(d);
	return r;
}

long sys_symlink(struct proc *p, const struct sys_args *a)
{
	return do_symlinkat(p, a->a[0], AT_FDCWD, a->a[1]);
}
long sys_symlinkat(struct proc *p, const struct sys_args *a)
{
	return do_symlinkat(p, a->a[0], (int)a->a[1], a->a[2]);
}

/* Both names need write leave, so a link cannot make a read-only file writable. */
static long do_linkat(struct proc *p, int olddir, uint64_t oldpath, int newdir, uint64_t newpath, int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (flags & AT_EMPTY_PATH)
		return -ENOENT; /* needs CAP_DAC_READ_SEARCH, which the guest has not */
	struct gpath og, ng;
	const char *ob, *nb;
	int od = at_parent(p, olddir, oldpath, flags & AT_SYMLINK_FOLLOW, &og, &ob);
	if (od < 0)
		return od;
	int nd = at_parent(p, newdir, newpath, false, &ng, &nb);
	long r = nd;
	if (nd >= 0) {
		r = og.dots ? -EPERM : ng.dots ? -EEXIST : host_result(linkat(od, ob, nd, nb, 0));
		close(nd);
	}
	close(od);
	return r;
}

long sys_link(struct proc *p, const struct sys_args *a)
{
	return do_linkat(p, AT_FDCWD, a->a[0], AT_FDCWD, a->a[1], 0);
}

long sys_linkat(struct proc *p, const struct sys_args *a)
{
	return do_linkat(p, (int)a->a[0], a->a[1], (int)a->a[2], a->a[3], (int)a->a[4]);
}

/* ---- changes by name or by fd ------------------------------------------------------------- */

/* May the guest change the file behind e?  A file opened for writing (which the policy
 * granted), or one whose name the policy lets it write; never a device (the host's
 * /dev/null is not the guest's to chmod) nor an emulated file. */
static long fd_may_change(struct proc *p, const struct fd_entry *e)
{
	char path[PATH_MAX];
	struct pfs_node n;
	struct stat st;
	if (e->kind == FD_SPECIAL || fstat(e->host_fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return -EPERM;
	snprintf(path, sizeof(path), "%s", e->path ? e->path : "");
	if (e->path && procfs_lookup(p, path, false, &n) != PFS_HOST)
		return -EPERM;
	int fl = fcntl(e->host_fd, F_GETFL);
	if (fl >= 0 && !(fl & O_PATH) && (fl & O_ACCMODE) != O_RDONLY)
		return 0;
	return e->path ? fs_may_write(p, e->path) : -EPERM;
}

/* fchmodat without following a symlink (fchmodat2, Linux 6.6): fs_parent followed it. */
static long chmod_at(int d, const char *base, mode_t mode)
{
	long r = host_result(syscall(__NR_fchmodat2, d, base, mode, AT_SYMLINK_NOFOLLOW));
	if (r == -ENOSYS) {
		struct stat st;
		r = fstatat(d, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : S_ISLNK(st.st_mode) ? -ELOOP : 0;
		if (!r)
			r = host_result(fchmodat(d, base, mode, 0));
	}
	return r;
}

static long do_fchmodat(struct proc *p, int dirfd, uint64_t upath, mode_t mode)
{
	struct gpath gp;
	const char *base;
	int d = at_parent(p, dirfd, upath, true, &gp, &base);
	if (d < 0)
		return d;
	long r = slash_ok(d, base, &gp) ?: chmod_at(d, base, mode & 07777);
	close(d);
	return r;
}

long sys_chmod(struct proc *p, const struct sys_args *a)
{
	return do_fchmodat(p, AT_FDCWD, a->a[0], (mode_t)a->a[1]);
}

long sys_fchmodat(struct proc *p, const struct sys_args *a)
{
	return do_fchmodat(p, (int)a->a[0], a->a[1], (mode_t)a->a[2]);
}

long sys_fchmod(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!e)
		return -EBADF;
	return fd_may_change(p, e) ?: host_result(fchmod(e->host_fd, (mode_t)a->a[1] & 07777));
}

/* chown: a guest with effective uid 0 may give a file to anyone (the host then tries, and
 * fails with EPERM where the host itself may not); otherwise only to itself and its own
 * groups, as an unprivileged process may (credentials(7)). */
static long chown_ok(const struct cred *c, uint32_t uid, uint32_t gid)
{
	if (cred_privileged(c))
		return 0;
	bool u = uid == (uint32_t)-1 || uid == c->fsuid, g = gid == (uint32_t)-1 || cred_in_group(c, gid);
	return u && g ? 0 : -EPERM;
}

static long do_fchownat(struct proc *p, int dirfd, uint64_t upath, uint32_t uid, uint32_t gid, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct gpath gp;
	const char *base;
	long r = fs_resolve(p, dirfd, upath, flags, &gp);
	if (r)
		return r;
	if (gp.fd)
		return fd_may_change(p, gp.fd) ?: chown_ok(&p->id.cred, uid, gid) ?: host_result(fchown(gp.fd->host_fd, uid, gid));
	int d = fs_parent(p, &gp, POLICY_WRITE, !(flags & AT_SYMLINK_NOFOLLOW), &base);
	if (d < 0)
		return d;
	r = chown_ok(&p->id.cred, uid, gid) ?: host_result(fchownat(d, base, uid, gid, AT_SYMLINK_NOFOLLOW));
	close(d);
	return r;
}

long sys_chown(struct proc *p, const struct sys_args *a)
{
	return do_fchownat(p, AT_FDCWD, a->a[0], (uint32_t)a->a[1], (uint32_t)a->a[2], 0);
}

long sys_lchown(struct proc *p, const struct sys_args *a)
{
	return do_fchownat(p, AT_FDCWD, a->a[0], (uint32_t)a->a[1], (uint32_t)a->a[2], AT_SYMLINK_NOFOLLOW);
}

long sys_fchownat(struct proc *p, const struct sys_args *a)
{
	return do_fchownat(p, (int)a->a[0], a->a[1], (uint32_t)a->a[2], (uint32_t)a->a[3], (int)a->a[4]);
}

long sys_fchown(struct proc *p, const struct sys_args *a)
{
	struct fd_entry *e = fdtab_get(&p->fdt, (int)a->a[0]);
	if (!e)
		return -EBADF;
	return fd_may_change(p, e) ?: chown_ok(&p->id.cred, (uint32_t)a->a[1], (uint32_t)a->a[2]) ?:
		host_result(fchown(e->host_fd, (uint32_t)a->a[1], (uint32_t)a->a[2]));
}

/* utimensat(2); a NULL path means dirfd itself (futimens). */
long sys_utimensat(struct proc *p, const struct sys_args *a)
{
	int dirfd = (int)a->a[0], flags = (int)a->a[3];
	struct timespec ts[2];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	long r = a->a[2] ? copy_from_guest(p, ts, a->a[2], sizeof(ts)) : 0;
	if (r)
		return r;
	struct timespec *times = a->a[2] ? ts : NULL;
	if (!a->a[1]) {
		if (flags & AT_SYMLINK_NOFOLLOW)
			return -EINVAL;
		flags |= AT_EMPTY_PATH;
	}
	struct gpath gp;
	const char *base;
	r = fs_resolve(p, dirfd, a->a[1], flags, &gp);
	if (r)
		return r;
	if (gp.fd)
		return fd_may_change(p, gp.fd) ?: host_result(futimens(gp.fd->host_fd, times));
	int d = fs_parent(p, &gp, POLICY_WRITE, !(flags & AT_SYMLINK_NOFOLLOW), &base);
	if (d < 0)
		return d;
	r = slash_ok(d, base, &gp) ?: host_result(utimensat(d, base, times, AT_SYMLINK_NOFOLLOW));
	close(d);
	return r;
}

/* truncate(2): the file opened for writing through the policy, then ftruncate. */
long sys_truncate(struct proc *p, const struct sys_args *a)
{
	if ((int64_t)a->a[1] < 0)
		return -EINVAL;
	struct gpath gp;
	struct pfs_node n;
	long r = fs_resolve(p, AT_FDCWD, a->a[0], 0, &gp);
	if (!r)
		r = fs_lookup(p, &gp, true, &n);
	if (r)
		return r < 0 ? r : -EACCES;
	int h = policy_open(p->cfg.policy, gp.path, O_WRONLY | O_NONBLOCK | O_NOCTTY | (gp.slash ? O_DIRECTORY : 0), 0);
	if (h < 0)
		return h;
	r = host_result(ftruncate(h, (off_t)a->a[1]));
	close(h);
	return r;
}

/* Extended attributes: the guest's file system has none ("not supported", which ls and
 * cp take quietly).  Reading them by name would need the path opened for reading, and
 * setting them could smuggle metadata past the policy. */
#define NO_XATTR(name)                                                                                                 \
	long sys_##name(struct proc *p, const struct sys_args *a)                                                      \
	{                                                                                                              \
		return -EOPNOTSUPP;                                                                                    \
	}
NO_XATTR(getxattr)
NO_XATTR(lgetxattr)
NO_XATTR(fgetxattr)
NO_XATTR(listxattr)
NO_XATTR(llistxattr)
NO_XATTR(flistxattr)
NO_XATTR(setxattr)
NO_XATTR(lsetxattr)
NO_XATTR(fsetxattr)
NO_XATTR(removexattr)
NO_XATTR(lremovexattr)
NO_XATTR(fremovexattr)

/* chroot: the guest's root is the policy's view of the host and cannot move; the path is
 * checked as chdir would, then the call is refused as for a process without
 * CAP_SYS_CHROOT. */
long sys_chroot(struct proc *p, const struct sys_args *a)
{
	struct gpath gp;
	struct pfs_node n;
	long r = fs_resolve(p, AT_FDCWD, a->a[0], 0, &gp);
	if (!r)
		r = fs_lookup(p, &gp, true, &n);
	if (r < 0)
		return r;
	if (r > 0)
		return n.dir ? -EPERM : -ENOTDIR;
	int h = policy_open(p->cfg.policy, gp.path, O_PATH | O_DIRECTORY, 0);
	if (h < 0)
		return h;
	close(h);
	return -EPERM;
}
