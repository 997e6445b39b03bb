/* path.h - the path layer of the file calls (path.c; private to src/sys): a guest
 * (dirfd, path) pair becomes an absolute, normalised guest path (struct gpath); emulated
 * files (procfs.c) are looked up first, everything else is opened through the policy
 * (policy.h), never by a host path the guest chose. */
#ifndef SYS_PATH_H
#define SYS_PATH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "sys/proc_impl.h"

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
/* The same for a path string already in host memory. */
long fs_resolve_str(struct proc *p, int dirfd, const char *in, int flags, struct gpath *out);

/* Follows the emulated magic links (/proc/self, /proc/self/fd/N, cwd, root) in gp->path,
 * rewriting it.  0: not emulated (ask the policy); 1: *node is an emulated file; -errno. */
struct pfs_node;
long fs_lookup(struct proc *p, struct gpath *gp, bool follow, struct pfs_node *node);

/* For calls that change a name (mkdir, unlink, rename, chmod...): the parent directory of
 * gp (opened by the policy for `access`) with *base the last component inside gp->path.
 * With follow, a symlink in the last component is followed (its target checked again).
 * Returns the host dirfd (the caller closes it) or -errno (EACCES for emulated files). */
int fs_parent(struct proc *p, struct gpath *gp, enum policy_access access, bool follow, const char **base);

/* 0 if the policy lets the guest change the file at guest path `path` (following a
 * symlink), else -EACCES (the file's mode bits know nothing of the policy). */
long fs_may_write(struct proc *p, const char *path);

#endif
