/* policy.c - path permissions: allowed roots as open host directories, guest paths opened
 * beneath them with openat2 so that no `..`, symlink or magic link leads outside. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/policy_impl.h"
#include "util/log.h"

/* Readable by default, each for a reason:
 * - the dynamic loader's search path and cache: a dynamic program cannot start without
 *   its shared libraries (ld.so(8) "standard directories"); */
static const char *const default_read[] = {
        "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
};

/* Never opened on the host, whatever the rules: /proc of the host process would expose
 * kvmserver itself (its memory, its fds) and /dev its devices; the guest's own /proc/self
 * and /dev/null, /dev/zero, /dev/urandom are emulated in src/sys/fs.c. */
static const char *const never_host[] = {"/proc", "/dev"};

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
	free(pol);
}

int policy_allow_file(struct policy *pol, const char *host_path)
{
	const char *why;
	return add_root(pol, host_path, host_path, POLICY_READ, true, &why);
}

/* The root granting `need` that matches `path` most specifically, or NULL.  With by_host,
 * match against the roots' host paths (for a path the host resolved). */
static const struct policy_root *best_root(const struct policy *pol, const char *path, int need, bool by_host)
{
	const struct policy_root *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < pol->nroots; i++) {
		const struct policy_root *r = &pol->roots[i];
		const char *prefix = by_host ? r->host : r->guest;
		if ((r->access & need) != need || !path_under(path, prefix))
			continue;
		if (r->file && strcmp(path, prefix) != 0)
			continue;
		size_t len = strlen(prefix);
		if (!best || len > best_len) {
			best = r;
			best_len = len;
		}
	}
	return best;
}

/* The part of `path` below root r (for a file root: its file name). */
static const char *rel_to_root(const struct policy_root *r, const char *path, bool by_host)
{
	if (r->file)
		return r->file;
	const char *prefix = by_host ? r->host : r->guest;
	size_t n = strcmp(prefix, "/") == 0 ? 0 : strlen(prefix);
	const char *rel = path + n;
	while (*rel == '/')
		rel++;
	return *rel ? rel : ".";
}

static int open_beneath(const struct policy_root *r, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
	        .flags = (uint64_t)(flags | O_CLOEXEC),
	        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
	        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, r->dirfd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int deny(const struct policy *pol, const char *what, const char *path)
{
	if (pol->verbose)
		log_msg("policy: denied %s of %s", what, path);
	return -EACCES;
}

static bool never_on_host(const char *path)
{
	for (size_t i = 0; i < sizeof(never_host) / sizeof(never_host[0]); i++)
		if (path_under(path, never_host[i]))
			return true;
	return false;
}

/* Open `path` needing `need`.  A symlink that leaves its root makes openat2 fail with
 * EXDEV; then the host resolves the path and the resolved path must itself lie under a
 * root that grants `need` (and is opened beneath that root, so a race cannot escape). */
static int open_checked(const struct policy *pol, const char *path, int flags, mode_t mode, int need)
{
	if (!pol || path[0] != '/')
		return -EACCES;
	if (never_on_host(path))
		return deny(pol, need & POLICY_WRITE ? "write" : "read", path);
	const struct policy_root *r = best_root(pol, path, need, false);
	if (!r)
		return deny(pol, need & POLICY_WRITE ? "write" : "read", path);
	const char *rel = rel_to_root(r, path, false);
	int fd = open_beneath(r, rel, flags, mode);
	/* ELOOP under O_NOFOLLOW is the answer itself (the last component is a symlink). */
	if ((fd != -EXDEV && fd != -ELOOP) || (fd == -ELOOP && (flags & O_NOFOLLOW)))
		return fd;

	char host[PATH_MAX * 2], real[PATH_MAX];
	snprintf(host, sizeof(host), "%s/%s", r->file ? "" : r->host, rel);
	if (r->file)
		snprintf(host, sizeof(host), "%s", r->host);
	if (!realpath(host, real))
		return deny(pol, "symlink escape", path);
	if (never_on_host(real))
		return deny(pol, "symlink escape", path);
	const struct policy_root *r2 = best_root(pol, real, need, true);
	if (!r2)
		return deny(pol, "symlink escape", path);
	fd = open_beneath(r2, rel_to_root(r2, real, true), flags, mode);
	return fd == -EXDEV || fd == -ELOOP ? deny(pol, "symlink escape", path) : fd;
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

int policy_open_parent(const struct policy *pol, const char *path, enum policy_access access, const char **base)
{
	if (!pol || path[0] != '/')
		return -EACCES;
	/* The path itself may be a root (a directory or a single allowed file). */
	const struct policy_root *r = best_root(pol, path, (int)access, false);
	if (r && (r->file || strcmp(r->guest, path) == 0) && !never_on_host(path)) {
		*base = r->file ? r->file : ".";
		int fd = fcntl(r->dirfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	*base = slash + 1;
	return open_checked(pol, parent, O_PATH | O_DIRECTORY, 0, (int)access);
}
