/* procfs.h - the guest's file namespace below the syscalls (private to src/sys):
 *
 *  - (the path layer is path.h's: a guest (dirfd, path) pair becomes an absolute,
 *    normalised guest path; emulated files are looked up first, everything else is
 *    opened through the policy, never by a host path the guest chose;)
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

#include "sys/files/path.h"
#include "sys/proc_impl.h"

/* ---- procfs.c: emulated files -------------------------------------------------------- */

/* fstat of a guest fd's host fd, emulated files shown as Linux shows them. */
int fs_fd_stat(struct proc *p, const struct fd_entry *e, struct stat *st);

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
