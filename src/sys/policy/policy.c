/* policy.c - path permissions: allowed roots as open host directories, guest paths opened
 * beneath them with openat2 so that no `..`, symlink or magic link leads outside, a symlink
 * that leaves its root followed as the guest sees it, and every object opened looked at
 * before it is used (never the host's /proc, /sys..., never a device node). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/policy/policy_impl.h"
#include "util/log.h"

/* Readable by default, each for a reason:
 * - the dynamic loader's search path and cache: a dynamic program cannot start without
 *   its shared libraries (ld.so(8) "standard directories"); */
static const char *const default_read[] = {
        "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
};

/* Never opened on the host, whatever the rules: /proc of the host process would expose
 * kvmserver itself (its memory, its fds) and /dev its devices; the guest's own /proc/self
 * and /dev/null, /dev/zero, /dev/urandom are emulated in src/sys/files/fs.c.  Except /dev/shm,
 * which is no device but a tmpfs of files (POSIX shared memory and semaphores): the rules
 * decide there as anywhere (--allow-all, --allow-write=/dev/shm), and the object check
 * still looks at what was opened. */
static const char *const never_host[] = {"/proc", "/dev"};
static const char *const host_dirs_in_dev[] = {"/dev/shm"};

/* Filesystems that are the host kernel's view of itself and its processes (kvmserver's own
 * memory, environment and fds in /proc; devices, cgroups, BPF objects, kernel knobs): never
 * given to a guest, however a path reached them (a second name for a writable directory and
 * a relative symlink lead anywhere from a root such as "/").  The guest's /proc and /dev are
 * emulated (procfs.c). */
static const unsigned long never_fs[] = {
        PROC_SUPER_MAGIC,
        SYSFS_MAGIC,
        DEBUGFS_MAGIC,
        TRACEFS_MAGIC,
        SECURITYFS_MAGIC,
        BPF_FS_MAGIC,
        CGROUP_SUPER_MAGIC,
        CGROUP2_SUPER_MAGIC,
        DEVPTS_SUPER_MAGIC,
        EFIVARFS_MAGIC,
        PSTOREFS_MAGIC,
        SELINUX_MAGIC,
        SMACK_MAGIC,
        BINFMTFS_MAGIC,
        NSFS_MAGIC,
        USBDEVICE_SUPER_MAGIC,
        0x19800202 /* mqueue */,
        0x65735543 /* fusectl */,
        0x62656570 /* configfs */,
};

/* May the guest have host object `fd` (any kind of fd, O_PATH too)?  0 or -EACCES: not on
 * a never_fs filesystem, and no device node (the guest's devices are emulated). */
static int object_allowed(int fd, struct stat *st)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0 || fstat(fd, st) < 0)
		return -EACCES;
	for (size_t i = 0; i < sizeof(never_fs) / sizeof(never_fs[0]); i++)
		if ((unsigned long)sf.f_type == never_fs[i])
			return -EACCES;
	return S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? -EACCES : 0;
}

/* Is `path` equal to `prefix` or below it (component-wise)? */
static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}

int policy_normalize(const char *cwd, const char *in, char *out, size_t size)
{
	char tmp[PATH_MAX * 2];
	int n = in[0] == '/' ? snprintf(tmp, sizeof(tmp), "%s", in) : snprintf(tmp, sizeof(tmp), "%s/%s", cwd, in);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	size_t len = 0;
	for (char *save = NULL, *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* drop the slash too */
			continue;
		}
		size_t cl = strlen(c);
		if (len + 1 + cl + 1 > size)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, c, cl);
		len += cl;
	}
	if (len == 0) {
		if (size < 2)
			return -ENAMETOOLONG;
		out[len++] = '/';
	}
	out[len] = 0;
	return 0;
}

/* The directory holding absolute path `path` (O_PATH), and *file = its last component. */
static int open_parent_dir(const char *path, char **file)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	*file = strdup(slash + 1);
	if (!*file) {
		errno = ENOMEM;
		return -1;
	}
	return open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int add_root(struct policy *pol, const char *guest, const char *host, int access, bool must_exist,
                    const char **why)
{
	/* A directory becomes a root; a file (or a file still to be created) becomes a root
	 * for exactly that name in its directory. */
	char host_abs[PATH_MAX], guest_abs[PATH_MAX], cwd[PATH_MAX];
	/* A relative flag path means what it means to the user: relative to kvmserver's
	 * working directory (not to "/", which would widen "--allow-write=." to everything). */
	if (!getcwd(cwd, sizeof(cwd))) {
		*why = "cannot resolve a relative path: no working directory";
		return -ENOENT;
	}
	if (policy_normalize(cwd, host, host_abs, sizeof(host_abs)) ||
	    policy_normalize(cwd, guest, guest_abs, sizeof(guest_abs))) {
		*why = "path too long";
		return -ENAMETOOLONG;
	}
	char *file = NULL;
	int fd = open(host_abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !must_exist)
		return 0;
	/* A file, or (--allow-write) a file the program will create: the root is that name
	 * in its directory, which must exist. */
	if (fd < 0 && (errno == ENOTDIR || (errno == ENOENT && (access & POLICY_WRITE))))
		fd = open_parent_dir(host_abs, &file);
	if (fd < 0) {
		int err = -errno;
		free(file);
		*why = strerror(-err);
		return err;
	}
	struct stat st;
	if (object_allowed(fd, &st)) {
		static char msg[PATH_MAX + 80];
		snprintf(msg, sizeof(msg),
		         "%s is on a host filesystem never given to a guest (/proc, /sys, devices...)", host_abs);
		*why = msg;
		close(fd);
		free(file);
		return -EACCES;
	}
	struct policy_root *roots = realloc(pol->roots, (pol->nroots + 1) * sizeof(*roots));
	if (!roots) {
		close(fd);
		free(file);
		return -ENOMEM;
	}
	pol->roots = roots;
	pol->roots[pol->nroots++] = (struct policy_root){
	        .guest = strdup(guest_abs),
	        .host = strdup(host_abs),
	        .dirfd = fd,
	        .file = file,
	        .access = access,
	};
	return 0;
}

int policy_create(struct policy **out, const struct policy_config *cfg, const char **why)
{
	struct policy *pol = calloc(1, sizeof(*pol));
	if (!pol)
		return -ENOMEM;
	pol->verbose = cfg->verbose;
	int err = 0;
	for (size_t i = 0; !err && i < sizeof(default_read) / sizeof(default_read[0]); i++)
		err = add_root(pol, default_read[i], default_read[i], POLICY_READ, false, why);
	pol->write_all = cfg->write_all;
	if (!err && (cfg->read_all || cfg->write_all))
		err = add_root(pol, "/", "/", POLICY_READ | (cfg->write_all ? POLICY_WRITE : 0), true, why);
	for (size_t i = 0; !err && i < cfg->nread; i++)
		err = add_root(pol, cfg->read[i], cfg->read[i], POLICY_READ, true, why);
	for (size_t i = 0; !err && i < cfg->nwrite; i++)
		err = add_root(pol, cfg->write[i], cfg->write[i], POLICY_READ | POLICY_WRITE, true, why);
	for (size_t i = 0; !err && i < cfg->nvolumes; i++) {
		const struct policy_volume *v = &cfg->volumes[i];
		if (v->guest[0] != '/') {
			*why = "a volume's guest path must be absolute";
			err = -EINVAL;
			break;
		}
		err = add_root(pol, v->guest, v->host, POLICY_READ | (v->writable ? POLICY_WRITE : 0), true, why);
	}
	if (!err)
		err = policy_net_init(pol, cfg, why);
	if (!err)
		err = policy_run_init(pol, cfg, why);
	if (err) {
		policy_destroy(pol);
		return err;
	}
	*out = pol;
	return 0;
}

void policy_destroy(struct policy *pol)
{
	if (!pol)
		return;
	for (size_t i = 0; i < pol->nroots; i++) {
		close(pol->roots[i].dirfd);
		free(pol->roots[i].guest);
		free(pol->roots[i].host);
		free(pol->roots[i].file);
	}
	free(pol->roots);
	policy_net_fini(pol);
	policy_run_fini(pol);
	free(pol);
}

int policy_allow_file(struct policy *pol, const char *host_path)
{
	const char *why;
	return add_root(pol, host_path, host_path, POLICY_READ, true, &why);
}

/* The root granting `need` that matches guest path `path` most specifically, or NULL. */
static const struct policy_root *best_root(const struct policy *pol, const char *path, int need)
{
	const struct policy_root *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < pol->nroots; i++) {
		const struct policy_root *r = &pol->roots[i];
		if ((r->access & need) != need || !path_under(path, r->guest))
			continue;
		if (r->file && strcmp(path, r->guest) != 0)
			continue;
		size_t len = strlen(r->guest);
		if (!best || len > best_len) {
			best = r;
			best_len = len;
		}
	}
	return best;
}

/* The part of guest path `path` below root r (for a file root: its file name). */
static const char *rel_to_root(const struct policy_root *r, const char *path)
{
	if (r->file)
		return r->file;
	size_t n = strcmp(r->guest, "/") == 0 ? 0 : strlen(r->guest);
	const char *rel = path + n;
	while (*rel == '/')
		rel++;
	return *rel ? rel : ".";
}

/* openat2 beneath dirfd; the object is not yet checked. */
static int open_raw(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
	        .flags = (uint64_t)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)), /* openat2: O_PATH alone */
	        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
	        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	/* EAGAIN: a rename anywhere on the host raced a ".." of the walk, so the kernel could
	 * not vouch for RESOLVE_BENEATH; openat2(2) says to retry (a guest never sees it). */
	long fd;
	int tries = 0;
	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < 1000);
	return fd < 0 ? -errno : (int)fd;
}

/* fd if the guest may have its object, else closes it: -EACCES. */
static int checked(int fd)
{
	struct stat st;
	int err = fd >= 0 ? object_allowed(fd, &st) : 0;
	if (err)
		close(fd);
	return err ? err : fd;
}

/* Opens rel beneath root r.  The object is first opened O_PATH (which does nothing to it) and
 * looked at; only then is it opened for I/O, through kvmserver's own /proc/self/fd: the same
 * inode, with no second walk a symlink swapped meanwhile could redirect.  So a device or a
 * /proc file a guest's link points at is never opened for I/O.  New files (O_CREAT|O_EXCL,
 * O_TMPFILE) are checked after they are made. */
static int open_beneath(const struct policy_root *r, const char *rel, int flags, mode_t mode)
{
	if ((flags & O_TMPFILE) == O_TMPFILE || (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return checked(open_raw(r->dirfd, rel, flags, mode));
	int pf = open_raw(r->dirfd, rel, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
	if (pf == -ENOENT && (flags & O_CREAT)) {
		/* Not there: create it, never opening what a racing guest put there instead (but
		 * a dangling symlink is followed, as open(2) does). */
		int fd = open_raw(r->dirfd, rel, flags | O_EXCL, mode);
		return checked(fd != -EEXIST ? fd : open_raw(r->dirfd, rel, flags, mode));
	}
	if (pf < 0)
		return pf;
	struct stat st;
	int fd = object_allowed(pf, &st);
	if (fd < 0 || (flags & O_PATH)) {
		if (fd < 0)
			close(pf);
		return fd < 0 ? fd : pf;
	}
	if (S_ISLNK(st.st_mode)) {
		fd = -ELOOP; /* O_NOFOLLOW on a symlink */
	} else {
		char self[40];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pf);
		fd = open(self, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY);
		fd = fd < 0 ? -errno : fd;
	}
	close(pf);
	return fd;
}

static int deny(const struct policy *pol, const char *what, const char *path)
{
	if (pol->verbose)
		log_msg("policy: denied %s of %s", what, path);
	return -EACCES;
}

static bool never_on_host(const char *path)
{
	for (size_t i = 0; i < sizeof(host_dirs_in_dev) / sizeof(host_dirs_in_dev[0]); i++)
		if (path_under(path, host_dirs_in_dev[i]))
			return false;
	for (size_t i = 0; i < sizeof(never_host) / sizeof(never_host[0]); i++)
		if (path_under(path, never_host[i]))
			return true;
	return false;
}

/* The first symlink in guest path `path` below root r, replaced as the guest sees it: an
 * absolute target is a guest path (inside a volume too, not the host's), a relative one is
 * taken from the link's guest directory.  The last component is followed only with
 * follow_last.  Writes the new guest path to out (PATH_MAX); 0 or -errno. */
static int follow_guest_link(const struct policy_root *r, const char *path, bool follow_last, char *out)
{
	const char *rel = rel_to_root(r, path);
	char comp[PATH_MAX], target[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX * 2];
	if (!r->file && strcmp(rel, ".") == 0)
		return -EACCES; /* the root itself is no symlink (it was opened following) */
	size_t off = r->file ? strlen(path) : (size_t)(rel - path); /* where rel starts in path */
	for (size_t end = 0;; end++) {
		if (!r->file && rel[end] && rel[end] != '/')
			continue;
		bool last = r->file || !rel[end];
		if (last && !follow_last)
			return -EACCES; /* the escape was in the last name, which is not followed */
		snprintf(comp, sizeof(comp), "%.*s", (int)(r->file ? strlen(rel) : end), rel);
		int fd = checked(open_raw(r->dirfd, comp, O_PATH | O_NOFOLLOW, 0));
		if (fd < 0)
			return fd == -EXDEV || fd == -ELOOP ? -EACCES : fd; /* changed meanwhile */
		struct stat st;
		ssize_t n = fstat(fd, &st) == 0 && S_ISLNK(st.st_mode) ? readlinkat(fd, "", target, sizeof(target) - 1)
		                                                       : -2;
		int err = n == -1 ? -errno : 0;
		close(fd);
		if (err)
			return err;
		if (n >= 0) {
			target[n] = 0;
			/* The link's guest path is path up to this component; its directory: */
			size_t link_end = r->file ? off : off + end;
			snprintf(dir, sizeof(dir), "%.*s", (int)link_end, path);
			char *slash = strrchr(dir, '/');
			slash[slash == dir ? 1 : 0] = 0;
			if (!n)
				return -ENOENT;
			if (snprintf(tmp, sizeof(tmp), "%s%s", target, r->file ? "" : rel + end) >= PATH_MAX)
				return -ENAMETOOLONG;
			return policy_normalize(dir, tmp, out, PATH_MAX);
		}
		if (last)
			return -EACCES; /* no symlink left: the escape was a race */
	}
}

/* Open guest path `path` needing `need`: beneath its root, and where a symlink leaves the root
 * (openat2: EXDEV), at the link's target as the guest sees it, checked like any path. */
static int open_checked(const struct policy *pol, const char *path, int flags, mode_t mode, int need)
{
	if (!pol || path[0] != '/')
		return -EACCES;
	const char *what = need & POLICY_WRITE ? "write" : "read";
	char cur[PATH_MAX], next[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s", path);
	for (int hops = 0; hops < 40; hops++) {
		if (never_on_host(cur))
			return deny(pol, what, cur);
		const struct policy_root *r = best_root(pol, cur, need);
		if (!r)
			return deny(pol, what, cur);
		int fd = open_beneath(r, rel_to_root(r, cur), flags, mode);
		/* ELOOP under O_NOFOLLOW is the answer itself (the last component is a symlink). */
		if ((fd != -EXDEV && fd != -ELOOP) || (fd == -ELOOP && (flags & O_NOFOLLOW)))
			return fd == -EACCES ? deny(pol, "host object", cur) : fd;
		int err = follow_guest_link(r, cur, !(flags & O_NOFOLLOW), next);
		if (err)
			return err == -EACCES ? deny(pol, "symlink escape", cur) : err;
		memcpy(cur, next, sizeof(cur));
	}
	return -ELOOP;
}

int policy_open(const struct policy *pol, const char *path, int flags, mode_t mode)
{
	int acc = flags & O_ACCMODE;
	int need = 0;
	if (acc == O_RDONLY || acc == O_RDWR || (flags & O_PATH))
		need |= POLICY_READ;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & (O_CREAT | O_TRUNC | O_APPEND)) ||
	    (flags & O_TMPFILE) == O_TMPFILE)
		need |= POLICY_WRITE;
	return open_checked(pol, path, flags, mode, need);
}

int policy_check_object(int fd)
{
	struct stat st;
	return object_allowed(fd, &st);
}

int policy_guest_path(const struct policy *pol, const char *host, char *out, size_t size)
{
	/* A volume (a root shown under another name) wins over the same path shown as itself
	 * (the program's own file root, --allow-read): the guest's view is through volumes. */
	const struct policy_root *best = NULL;
	size_t best_score = 0;
	for (size_t i = 0; pol && host[0] == '/' && i < pol->nroots; i++) {
		const struct policy_root *r = &pol->roots[i];
		size_t score = strlen(r->host) + (strcmp(r->host, r->guest) != 0 ? PATH_MAX : 0);
		if (!(r->access & POLICY_READ) || !path_under(host, r->host) ||
		    (r->file && strcmp(host, r->host) != 0) || never_on_host(r->guest) || (best && score <= best_score))
			continue;
		best = r;
		best_score = score;
	}
	if (!best)
		return -ENOENT;
	const char *rest = strcmp(best->host, "/") == 0 ? host : host + strlen(best->host);
	int n = snprintf(out, size, "%s%s", strcmp(best->guest, "/") == 0 ? "" : best->guest, rest);
	if (n > 0 && (size_t)n < size && !out[0])
		snprintf(out, size, "/");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The name `base` in directory d, if it is a mount point, must be allowed like an opened
 * object (an *at() call on it reaches the mounted filesystem's root). */
static int mount_allowed(int d, const char *base)
{
	struct stat ds, st;
	if (fstat(d, &ds) < 0 || fstatat(d, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev == ds.st_dev)
		return 0;
	int fd = openat(d, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? 0 : checked(fd) < 0 ? -EACCES : (close(fd), 0);
}

int policy_open_parent(const struct policy *pol, const char *path, enum policy_access access, const char **base)
{
	if (!pol || path[0] != '/')
		return -EACCES;
	/* The path itself may be a root (a directory or a single allowed file). */
	const struct policy_root *r = best_root(pol, path, (int)access);
	int d;
	if (r && (r->file || strcmp(r->guest, path) == 0) && !never_on_host(path)) {
		*base = r->file ? r->file : ".";
		d = fcntl(r->dirfd, F_DUPFD_CLOEXEC, 0);
		d = d < 0 ? -errno : d;
	} else {
		const char *slash = strrchr(path, '/');
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		*base = slash + 1;
		d = open_checked(pol, parent, O_PATH | O_DIRECTORY, 0, (int)access);
	}
	if (d >= 0 && mount_allowed(d, *base)) {
		close(d);
		return deny(pol, "host object", path);
	}
	return d;
}

bool policy_pty_allowed(const struct policy *pol)
{
	return pol->write_all;
}
