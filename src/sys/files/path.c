/* path.c - the path layer of the file calls (path.h): a guest (dirfd, path) pair made an
 * absolute, normalised guest path; the emulated files looked up first; the parent
 * directory of a name opened through the policy, symlinks in the last name followed and
 * checked again. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sys/files/procfs.h"
#include "sys/uaccess.h"

long fs_resolve_str(struct proc *p, int dirfd, const char *in, int flags, struct gpath *out)
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
			base = p->id.cwd;
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
	return fs_resolve_str(p, dirfd, in, flags, out);
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

int fs_parent(struct proc *p, struct gpath *gp, enum policy_access access, bool follow, const char **base)
{
	for (int hops = 0; hops < 40; hops++) {
		struct pfs_node n;
		long r = fs_lookup(p, gp, follow, &n);
		if (r)
			return r < 0 ? (int)r : -EACCES; /* emulated files cannot be changed */
		int d = policy_open_parent(p->cfg.policy, gp->path, access, base);
		if (d < 0 || !follow)
			return d;
		char target[PATH_MAX], dir[PATH_MAX];
		ssize_t len = readlinkat(d, *base, target, sizeof(target) - 1);
		if (len < 0)
			return d; /* not a symlink (or not there): this is the name */
		target[len] = 0;
		close(d);
		/* The target, relative to the link's directory, is checked like any path. */
		snprintf(dir, sizeof(dir), "%s", gp->path);
		char *slash = strrchr(dir, '/');
		slash[slash == dir ? 1 : 0] = 0; /* "/a" -> "/", "/a/b" -> "/a" */
		if (!len || policy_normalize(dir, target, gp->path, sizeof(gp->path)))
			return len ? -ENAMETOOLONG : -ENOENT;
	}
	return -ELOOP;
}

long fs_may_write(struct proc *p, const char *path)
{
	struct gpath gp = {.fd = NULL};
	struct pfs_node n;
	struct stat st;
	const char *base;
	snprintf(gp.path, sizeof(gp.path), "%s", path);
	if (fs_lookup(p, &gp, true, &n) > 0) /* emulated: only the /dev nodes */
		return procfs_stat(p, &n, &st) == 0 && S_ISCHR(st.st_mode) ? 0 : -EACCES;
	int d = fs_parent(p, &gp, POLICY_WRITE, true, &base); /* a symlink's target decides */
	if (d < 0)
		return d;
	close(d);
	return 0;
}
