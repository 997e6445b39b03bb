/* policy.h - the one permission policy: every path open, file mapping, connect, bind and
 * listen the guest asks for is decided here, deny by default.
 *
 * Rules are data (struct policy_config, filled from the command line).  Path decisions
 * are made on what is actually opened on the host: each allowed root is an open host
 * directory, and guest paths are opened beneath it with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), so `..`, symlinks and /proc/self/fd tricks cannot leave it.
 * A policy is immutable after policy_create and may be shared by many processes/threads.
 */
#ifndef SYS_POLICY_H
#define SYS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct policy;

struct policy_volume {
	const char *host; /* host directory */
	const char *guest; /* absolute guest path where it appears */
	bool writable;
};

struct policy_config {
	/* --allow-read[=PATH,...]: read_all for no list.  Paths are host paths (= guest paths
	 * outside volumes). */
	bool read_all;
	const char *const *read;
	size_t nread;
	bool write_all; /* --allow-write[=PATH,...] (write implies read) */
	const char *const *write;
	size_t nwrite;
	const struct policy_volume *volumes; /* --volume HOST:GUEST[:rw] */
	size_t nvolumes;
	/* Network: --allow-net sets both *_all; --allow-connect=HOST:PORT,... and
	 * --allow-listen=HOST:PORT,... give lists (port 0 = any port; IPv4 or [IPv6]; host
	 * names resolved once in policy_create). */
	bool connect_all;
	const char *const *connect;
	size_t nconnect;
	bool listen_all;
	const char *const *listen;
	size_t nlisten;
	/* --allow-run[=PROGRAM,...]: execve; run_all for no list.  An entry with a slash is a
	 * program's path, one without matches a program of that name in any directory. */
	bool run_all;
	const char *const *run;
	size_t nrun;
	bool verbose; /* log each denial on stderr */
};

/* Builds the policy: opens every allowed root directory, resolves host names.  Returns 0 or
 * -errno with *why a one-line reason naming the bad entry. */
int policy_create(struct policy **out, const struct policy_config *cfg, const char **why);
void policy_destroy(struct policy *pol);

/* Whether the guest may have pseudo-terminals of its own (/dev/ptmx): where the rules give
 * it every file (--allow-all, --allow-write with no list). */
bool policy_pty_allowed(const struct policy *pol);

/* Adds a read-only allowance for one file (the program, its interpreter).  Before sharing. */
int policy_allow_file(struct policy *pol, const char *host_path);

enum policy_access { POLICY_READ = 1, POLICY_WRITE = 2 };

/*
 * Opens the absolute, normalised guest path `path` on the host with open(2) `flags` and
 * `mode`, if the policy grants the access the flags need (O_WRONLY/O_RDWR/O_CREAT/O_TRUNC/
 * O_APPEND/O_TMPFILE need write; O_PATH and directories need read).  Returns a host fd
 * (O_CLOEXEC) or -EACCES (denied, logged when verbose) or the host's -errno (ENOENT...).
 */
int policy_open(const struct policy *pol, const char *path, int flags, mode_t mode);

/*
 * For calls that name a path without opening it (stat, access, readlink, mkdir, unlink,
 * rename, symlink): opens the parent directory of `path` beneath an allowed root that
 * grants `access` (O_PATH | O_DIRECTORY) and points *base at the last component inside
 * `path`.  The caller uses the *at() call on (fd, *base) and closes fd.  Returns the fd or
 * -EACCES / -errno.  For "/" itself *base is ".".
 * The caller must not follow a symlink in *base (AT_SYMLINK_NOFOLLOW, or unlinkat/
 * renameat, which never follow): a call that must follow one (stat, access) opens the path
 * itself with policy_open(O_PATH) and works on that fd instead.
 */
int policy_open_parent(const struct policy *pol, const char *path, enum policy_access access, const char **base);

/* May the guest have the host object behind fd (any fd, O_PATH too)?  0, or -EACCES for an
 * object on the host's /proc, /sys or another kernel filesystem, or a device node.  Every
 * open above checks it; so does whatever else gives the guest a host fd (SCM_RIGHTS). */
int policy_check_object(int fd);

/* The guest's name for host path `host` (absolute, resolved, as the host's readlink shows
 * it): translated through the most specific readable root whose host path holds it (a
 * volume shows its own guest path).  Writes at most `size` bytes to out; 0, or -ENOENT when
 * the guest cannot see that path at all. */
int policy_guest_path(const struct policy *pol, const char *host, char *out, size_t size);
/* May the guest execve the program at (normalised) guest path `path`, opened on the
 * host as fd?  0 or -EACCES (logged when verbose).  Reading it is policy_open's matter. */
int policy_check_run(const struct policy *pol, const char *path, int fd);

/* Network decisions on a host-order view of the guest's sockaddr.  0 or -EPERM. */
int policy_check_connect(const struct policy *pol, const struct sockaddr *sa, socklen_t len);
int policy_check_listen(const struct policy *pol, const struct sockaddr *sa, socklen_t len);

/* Normalises guest path `in` against the guest cwd `cwd` (absolute): joins relative paths,
 * removes "." and empty components, resolves ".." lexically (never above "/").  Writes
 * at most `size` bytes to out.  Returns 0 or -ENAMETOOLONG. */
int policy_normalize(const char *cwd, const char *in, char *out, size_t size);

#endif
