/* procfs.h - the guest's file namespace below the syscalls (private to src/sys):
 *
 *  - the path layer of fs.c and dir.c: a guest (dirfd, path) pair becomes an absolute,
 *    normalised guest path (struct gpath); emulated files are looked up first, everything
 *    else is opened through the policy (policy.h), never by a host path the guest chose;
 *  - procfs.c: the emulated /proc (the guest's own process only), the harmless /dev nodes
 *    (null, zero, random, urandom) and the /dev/fd, /dev/std{in,out,err} links.  Generated
 *    files are materialised into a sealed memfd (FD_SPECIAL); emulated directories are
 *    empty memfds whose file offset is the getdents cursor.
 */
#ifndef SYS_PROCFS_H
#define SYS_PROCFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "sys/proc_impl.h"

/* ---- fs.c: the path layer ------------------------------------------------------------ */

struct gpath {
	char path[PATH_MAX]; /* absolute, normalised guest path */
	bool slash; /* the guest's path ended in '/': it must name a directory */
	int dots; /* its last component was "." (1) or ".." (2) */
	struct fd_entry *fd; /* non-NULL: empty path with AT_EMPTY_PATH: the call is on this fd */
};

/* The guest string at upath, made absolute against dirfd's guest path (AT_FDCWD: the guest
 * cwd) and normalised.  `flags` may hold AT_EMPTY_PATH.  0 or -errno (EFAULT, ENOENT for an
 * empty path, ENAMETOOLONG, EBADF, ENOTDIR for a dirfd that is no directory). */
long fs_resolve(struct proc *p, int dirfd, uint64_t upath, int flags, struct gpath *out);

/* Follows the emulated magic links (/proc/self, /proc/self/fd/N, cwd, root) in gp->path,
 * rewriting it.  0: not emulated (ask the policy); 1: *node is an emulated file; -errno. */
struct pfs_node;
long fs_lookup(struct proc *p, struct gpath *gp, bool follow, struct pfs_node *node);

/* fstat of a guest fd's host fd, emulated files shown as Linux shows them. */
int fs_fd_stat(struct proc *p, const struct fd_entry *e, struct stat *st);

/* ---- dir.c: the parent of a name ------------------------------------------------------- */

/* For calls that change a name (mkdir, unlink, rename, chmod...): the parent directory of
 * gp (opened by the policy for `access`) with *base the last component inside gp->path.
 * With follow, a symlink in the last component is followed (its target checked again).
 * Returns the host dirfd (the caller closes it) or -errno (EACCES for emulated files). */
int fs_parent(struct proc *p, struct gpath *gp, enum policy_access access, bool follow, const char **base);

/* 0 if the policy lets the guest change the file at guest path `path` (following a
 * symlink), else -EACCES (the file's mode bits know nothing of the policy). */
long fs_may_write(struct proc *p, const char *path);

/* ---- procfs.c: emulated files -------------------------------------------------------- */

enum pfs_res { PFS_HOST = 0, PFS_NODE = 1, PFS_REDIRECT = 2 };

struct pfs_node {
	int what; /* which file (procfs.c's enum) */
	int fd; /* /proc/self/fd/N: N */
	bool link; /* a symbolic link not followed (lstat, readlink, O_NOFOLLOW) */
	bool dir;
};

/* Looks up the normalised guest path `path`: PFS_HOST (not emulated), PFS_NODE (*n filled),
 * PFS_REDIRECT (a magic link: `path` rewritten to its target, look it up again), -errno. */
int procfs_lookup(struct proc *p, char path[PATH_MAX], bool follow, struct pfs_node *n);
/* Whether /dev/pts/num is a pty this guest opened through /dev/ptmx (io.c's TIOCGPTPEER). */
bool pty_owned(const struct proc *p, int num);
/* Opens node n with open(2) flags: a host fd, *kind for the fdtab, and `path` rewritten to
 * the guest path the fd entry keeps ("" for none).  -errno (EACCES for writes). */
int procfs_open(struct proc *p, const struct pfs_node *n, int flags, enum fd_kind *kind, char path[PATH_MAX]);
int procfs_stat(struct proc *p, const struct pfs_node *n, struct stat *st);
/* readlink(2) of node n (-EINVAL if it is no link): the length copied to buf (no NUL). */
long procfs_readlink(struct proc *p, const struct pfs_node *n, char *buf, size_t size);
/* fstat of an FD_SPECIAL entry. */
int procfs_fstat(struct proc *p, const struct fd_entry *e, struct stat *st);
/* getdents64 of an FD_SPECIAL directory entry into buf: bytes, 0 at the end, -ENOTDIR,
 * -EINVAL (buffer too small). */
long procfs_getdents(struct proc *p, struct fd_entry *e, void *buf, size_t size);

#endif
