/* procfs.c - the emulated /proc and /dev: the guest sees its own process only (never
 * kvmserver's), and of /dev only the four harmless nodes, opened on the host as they are,
 * and, where the policy gives everything (pty_allowed: --allow-all or --allow-write with
 * no list), /dev/ptmx and the /dev/pts/N of the pseudo-terminals the guest opened itself
 * (never another pty of the host's).
 * Formats follow Linux's fs/proc (task_mmu.c for maps, array.c for status and stat). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "sys/processes/process.h"
#include "sys/files/procfs.h"

static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"};
#define NDEVS (sizeof(devs) / sizeof(devs[0]))
/* Links into the guest's own fds, as udev makes them. */
static const char *const dev_links[][2] = {
        {"/dev/fd", "/proc/self/fd"},
        {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"},
        {"/dev/stderr", "/proc/self/fd/2"},
};

enum {
	W_PROC = 1,
	W_PID,
	W_FDDIR, /* directories */
	W_MEMINFO,
	W_CPUINFO,
	W_MAPS,
	W_STATUS,
	W_STAT, /* generated files */
	W_SELF,
	W_EXE,
	W_CWD,
	W_ROOT,
	W_FD, /* links */
	W_DEV, /* host device node devs[fd] */
	W_PTMX, /* /dev/ptmx: a new pseudo-terminal */
	W_PTS, /* /dev/pts/N of a pty the guest opened (fd = N) */
	W_DEVLINK, /* dev_links[fd] */
};

struct pfs_name {
	const char *name;
	int what;
	unsigned char type; /* DT_* */
};
static const struct pfs_name proc_names[] = {
        {"cpuinfo", W_CPUINFO, DT_REG},
        {"meminfo", W_MEMINFO, DT_REG},
        {"self", W_SELF, DT_LNK},
};
static const struct pfs_name pid_names[] = {
        {"cwd", W_CWD, DT_LNK},   {"exe", W_EXE, DT_LNK},   {"fd", W_FDDIR, DT_DIR},      {"maps", W_MAPS, DT_REG},
        {"root", W_ROOT, DT_LNK}, {"stat", W_STAT, DT_REG}, {"status", W_STATUS, DT_REG},
};
#define NNAMES(a) (sizeof(a) / sizeof((a)[0]))

/* The first component of s into c; returns what follows it ("" at the end). */
static const char *component(const char *s, char c[NAME_MAX + 1])
{
	size_t n = strcspn(s, "/");
	snprintf(c, NAME_MAX + 1, "%.*s", (int)(n > NAME_MAX ? NAME_MAX : n), s);
	return s[n] ? s + n + 1 : "";
}

/* path = target/rest, normalised. */
static int redirect(char path[PATH_MAX], const char *target, const char *rest)
{
	char tmp[PATH_MAX * 2];
	snprintf(tmp, sizeof(tmp), "%s/%s", target, rest);
	int err = policy_normalize("/", tmp, path, PATH_MAX);
	return err ? err : PFS_REDIRECT;
}

static const struct pfs_name *find_name(const struct pfs_name *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

bool pty_owned(const struct proc *p, int num)
{
	for (int i = 0; i < p->nptys; i++)
		if (p->ptys[i] == num)
			return true;
	return false;
}

/* A new host pty for the guest: the master's fd, its number remembered so the guest may
 * open its /dev/pts/N. */
static int open_ptmx(struct proc *p, int flags)
{
	if (!policy_pty_allowed(p->cfg.policy))
		return -EACCES;
	if (p->nptys >= PROC_MAX_PTYS)
		return -ENOSPC;
	int h = posix_openpt((flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC);
	if (h < 0)
		return -errno;
	int num;
	if (ioctl(h, TIOCGPTN, &num) < 0) {
		close(h);
		return -EIO;
	}
	if (!pty_owned(p, num))
		p->ptys[p->nptys++] = num;
	return h;
}

int procfs_lookup(struct proc *p, char path[PATH_MAX], bool follow, struct pfs_node *n)
{
	*n = (struct pfs_node){.fd = -1};
	for (size_t i = 0; i < NDEVS; i++) {
		size_t l = strlen(devs[i]);
		if (strncmp(path, devs[i], l) != 0 || (path[l] && path[l] != '/'))
			continue;
		*n = (struct pfs_node){.what = W_DEV, .fd = (int)i};
		return path[l] ? -ENOTDIR : PFS_NODE;
	}
	if (strcmp(path, "/dev/ptmx") == 0) {
		*n = (struct pfs_node){.what = W_PTMX, .fd = -1};
		return PFS_NODE;
	}
	if (strncmp(path, "/dev/pts/", 9) == 0) {
		char *end;
		long num = strtol(path + 9, &end, 10);
		if (end == path + 9 || *end || num < 0 || !pty_owned(p, (int)num))
			return -ENOENT; /* no other pty of the host's is the guest's to see */
		*n = (struct pfs_node){.what = W_PTS, .fd = (int)num};
		return PFS_NODE;
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		size_t l = strlen(dev_links[i][0]);
		if (strncmp(path, dev_links[i][0], l) != 0 || (path[l] && path[l] != '/'))
			continue;
		const char *rest = path[l] ? path + l + 1 : "";
		if (*rest || follow)
			return redirect(path, dev_links[i][1], rest);
		*n = (struct pfs_node){.what = W_DEVLINK, .fd = (int)i, .link = true};
		return PFS_NODE;
	}
	if (strncmp(path, "/proc", 5) != 0 || (path[5] && path[5] != '/'))
		return PFS_HOST;
	const char *rest = path[5] ? path + 6 : "";
	char c[NAME_MAX + 1], pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)p->id.pid);
	if (!*rest) {
		n->what = W_PROC;
		n->dir = true;
		return PFS_NODE;
	}
	rest = component(rest, c);
	const struct pfs_name *nm;
	if (strcmp(c, pid) != 0) {
		nm = find_name(proc_names, NNAMES(proc_names), c);
		if (!nm)
			return -ENOENT;
		if (nm->what == W_SELF) {
			if (*rest || follow) {
				char target[40];
				snprintf(target, sizeof(target), "/proc/%s", pid);
				return redirect(path, target, rest);
			}
			n->link = true;
		}
		n->what = nm->what;
		return *rest ? -ENOTDIR : PFS_NODE;
	}
	if (!*rest) {
		n->what = W_PID;
		n->dir = true;
		return PFS_NODE;
	}
	rest = component(rest, c);
	nm = find_name(pid_names, NNAMES(pid_names), c);
	if (!nm)
		return -ENOENT;
	n->what = nm->what;
	if (nm->what == W_FDDIR) {
		if (!*rest) {
			n->dir = true;
			return PFS_NODE;
		}
		rest = component(rest, c);
		char *end;
		long fd = strtol(c, &end, 10);
		if (*end || !c[0] || c[0] == '+' || c[0] == '-' || (c[0] == '0' && c[1]) || fd > INT_MAX ||
		    !fdtab_get(&p->fdt, (int)fd))
			return -ENOENT;
		n->what = W_FD;
		n->fd = (int)fd;
	}
	if (nm->type != DT_LNK && nm->what != W_FDDIR)
		return *rest ? -ENOTDIR : PFS_NODE;
	/* A link: itself when not followed, else its target (a guest path: look again). */
	if (!*rest && !follow) {
		n->link = true;
		return PFS_NODE;
	}
	if (n->what == W_CWD)
		return redirect(path, p->id.cwd, rest);
	if (n->what == W_ROOT)
		return redirect(path, "/", rest);
	if (n->what == W_FD && fdtab_get(&p->fdt, n->fd)->path)
		return redirect(path, fdtab_get(&p->fdt, n->fd)->path, rest);
	return *rest ? -ENOTDIR : PFS_NODE; /* exe, or an fd without a path (pipe...) */
}

/* ---- generated content --------------------------------------------------------------- */

static uint64_t mapped_bytes(const struct mm *mm)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < mm->len; i++)
		sum += mm->v[i].end - mm->v[i].start;
	return sum;
}

/* Linux's show_map_vma(): the name starts in column 73. */
static void gen_maps(struct proc *p, FILE *f)
{
	for (size_t i = 0; i < p->mm.len; i++) {
		const struct vma *v = &p->mm.v[i];
		bool file = v->kind == VMA_FILE;
		const char *name = v->kind == VMA_HEAP ? "[heap]" : v->kind == VMA_STACK ? "[stack]" : v->name;
		int type = v->flags & MAP_TYPE;
		uint64_t dev = v->dev, ino = v->ino;
		struct stat st;
		if (file && !ino && name && stat(name, &st) == 0) { /* the loader's own mappings */
			dev = st.st_dev;
			ino = st.st_ino;
		}
		int len = fprintf(f, "%08lx-%08lx %c%c%c%c %08lx %02x:%02x %lu ", (unsigned long)v->start,
		                  (unsigned long)v->end, v->prot & PROT_READ ? 'r' : '-',
		                  v->prot & PROT_WRITE ? 'w' : '-', v->prot & PROT_EXEC ? 'x' : '-',
		                  type == MAP_PRIVATE ? 'p' : 's', (unsigned long)(file ? v->offset : 0),
		                  file ? major(dev) : 0, file ? minor(dev) : 0, (unsigned long)(file ? ino : 0));
		if (name)
			fprintf(f, "%*s%s", len < 73 ? 73 - len : 0, "", name);
		fputc('\n', f);
	}
}

static const char *comm(struct proc *p, char buf[16])
{
	snprintf(buf, 16, "%.15s", p->id.comm); /* set at exec, and by PR_SET_NAME */
	return buf;
}

#define PROCFS_SIGQ_MAX 63432 /* RLIMIT_SIGPENDING as a typical host has it */

static void gen_status(struct proc *p, FILE *f)
{
	char name[16];
	unsigned long kb = (unsigned long)(mapped_bytes(&p->mm) >> 10);
	unsigned long stk = (unsigned long)((p->mm.stack_end - p->mm.stack_start) >> 10);
	fprintf(f,
	        "Name:\t%s\nUmask:\t%04o\nState:\tR (running)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"
	        "TracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t%d\nGroups:\t\n",
	        comm(p, name), (unsigned)p->id.umask, (int)p->id.pid, (int)p->id.pid, process_ppid(p), p->id.cred.ruid,
	        p->id.cred.euid, p->id.cred.suid, p->id.cred.fsuid, p->id.cred.rgid, p->id.cred.egid, p->id.cred.sgid,
	        p->id.cred.fsgid, p->fdt.cap > 64 ? p->fdt.cap : 64);
	fprintf(f,
	        "VmPeak:\t%8lu kB\nVmSize:\t%8lu kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t%8lu kB\n"
	        "VmRSS:\t%8lu kB\nVmData:\t%8lu kB\nVmStk:\t%8lu kB\nVmSwap:\t       0 kB\nThreads:\t%d\n",
	        kb, kb, kb, kb, kb - stk, stk, p->thr.nthreads > 0 ? p->thr.nthreads : 1);
	/* The signal masks as Linux shows them (bit sig-1): the reading thread's pending and
	 * blocked sets, the process's ignored and caught dispositions. */
	uint64_t ign = 0, cgt = 0;
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t h = p->sig.sigactions[sig].handler;
		if (h == (uint64_t)SIG_IGN)
			ign |= 1ULL << (sig - 1);
		else if (h != (uint64_t)SIG_DFL)
			cgt |= 1ULL << (sig - 1);
	}
	fprintf(f,
	        "SigQ:\t0/"
	        "%d\nSigPnd:\t%016llx\nShdPnd:\t%016llx\nSigBlk:\t%016llx\nSigIgn:\t%016llx\nSigCgt:\t%016llx\n",
	        (int)PROCFS_SIGQ_MAX, (unsigned long long)(p->thr.cur ? p->thr.cur->pending : 0), 0ULL,
	        (unsigned long long)(p->thr.cur ? p->thr.cur->sigmask : 0), (unsigned long long)ign,
	        (unsigned long long)cgt);
	fprintf(f, "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
}

/* Linux's do_task_stat(): 52 fields. */
static void gen_stat(struct proc *p, FILE *f)
{
	char name[16];
	struct tms t;
	times(&t);
	const struct mm *mm = &p->mm;
	fprintf(f, "%d (%s) R %d %d %d 0 -1 4194304 0 0 0 0 %lu %lu 0 0 20 0 %d 0 0 %lu %lu 18446744073709551615 ",
	        (int)p->id.pid, comm(p, name), process_ppid(p), (int)p->id.pid, (int)p->id.pid,
	        (unsigned long)t.tms_utime, (unsigned long)t.tms_stime, p->thr.nthreads > 0 ? p->thr.nthreads : 1,
	        (unsigned long)mapped_bytes(mm), (unsigned long)(mapped_bytes(mm) >> 12));
	fprintf(f, "0 0 %lu 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 %lu 0 0 0 0 0\n", (unsigned long)mm->stack_end,
	        (unsigned long)mm->brk_start);
}

/* The guest's memory limit is its RAM. */
static void gen_meminfo(struct proc *p, FILE *f)
{
	unsigned long total = (unsigned long)(p->mm.user_size >> 10);
	unsigned long used = (unsigned long)(mapped_bytes(&p->mm) >> 10);
	unsigned long free_kb = used < total ? total - used : 0;
	const char *names[] = {"MemTotal:", "MemFree:",    "MemAvailable:", "Buffers:",
	                       "Cached:",   "SwapCached:", "SwapTotal:",    "SwapFree:"};
	unsigned long vals[] = {total, free_kb, free_kb, 0, 0, 0, 0, 0};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		fprintf(f, "%-16s%8lu kB\n", names[i], vals[i]);
}

/* One vCPU: the host's first processor block, its topology made a single core. */
static void gen_cpuinfo(FILE *f)
{
	FILE *in = fopen("/proc/cpuinfo", "re");
	char line[8192];
	bool any = false;
	while (in && fgets(line, sizeof(line), in) && line[0] != '\n') {
		char key[64];
		size_t k = strcspn(line, "\t:");
		snprintf(key, sizeof(key), "%.*s", (int)(k < 63 ? k : 63), line);
		const char *colon = strchr(line, ':');
		if (colon && (!strcmp(key, "siblings") || !strcmp(key, "cpu cores")))
			fprintf(f, "%.*s: 1\n", (int)(colon - line), line);
		else if (colon && (!strcmp(key, "processor") || !strcmp(key, "core id") || !strcmp(key, "apicid") ||
		                   !strcmp(key, "initial apicid") || !strcmp(key, "physical id")))
			fprintf(f, "%.*s: 0\n", (int)(colon - line), line);
		else
			fputs(line, f);
		any = true;
	}
	if (in)
		fclose(in);
	if (!any)
		fputs("processor\t: 0\n", f);
	fputc('\n', f);
}

/* A sealed memfd holding data, at offset 0. */
static int make_memfd(const char *data, size_t len)
{
	int h = memfd_create("kvmserver-procfs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (h < 0)
		return -errno;
	for (size_t done = 0; done < len;) {
		ssize_t w = write(h, data + done, len - done);
		if (w < 0) {
			int err = -errno;
			close(h);
			return err;
		}
		done += (size_t)w;
	}
	fcntl(h, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	lseek(h, 0, SEEK_SET);
	return h;
}

static int generate(struct proc *p, int what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	switch (what) {
	case W_MAPS: gen_maps(p, f); break;
	case W_STATUS: gen_status(p, f); break;
	case W_STAT: gen_stat(p, f); break;
	case W_MEMINFO: gen_meminfo(p, f); break;
	case W_CPUINFO: gen_cpuinfo(f); break;
	default: break; /* a directory: empty, its offset is the getdents cursor */
	}
	int h = fclose(f) ? -ENOMEM : make_memfd(buf, len);
	free(buf);
	return h;
}

/* Reopening /proc/self/fd/N of a pipe, socket or inherited file (no guest path): a dup,
 * for at most the access the fd already has. */
static int reopen_fd(struct proc *p, int fd, int flags, enum fd_kind *kind)
{
	struct fd_entry *e = fdtab_get(&p->fdt, fd);
	int have = fcntl(e->host_fd, F_GETFL);
	if (have < 0)
		return -errno;
	int acc = flags & O_ACCMODE, hacc = have & O_ACCMODE;
	if (!(flags & O_PATH) && hacc != O_RDWR && (acc == O_RDWR || (acc != hacc)))
		return -EACCES;
	*kind = e->kind;
	int h = fcntl(e->host_fd, F_DUPFD_CLOEXEC, 0);
	return h < 0 ? -errno : h;
}

int procfs_open(struct proc *p, const struct pfs_node *n, int flags, enum fd_kind *kind, char path[PATH_MAX])
{
	int acc = flags & O_ACCMODE;
	bool write = !(flags & O_PATH) && (acc != O_RDONLY || (flags & O_TRUNC));
	*kind = FD_FILE;
	if (n->link)
		return -ELOOP; /* O_NOFOLLOW on a magic link */
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return n->dir ? -EOPNOTSUPP : -ENOTDIR;
	if ((flags & O_DIRECTORY) && !n->dir && n->what != W_FD && n->what != W_EXE)
		return -ENOTDIR;
	int h;
	switch (n->what) {
	case W_DEV:
		snprintf(path, PATH_MAX, "%s", devs[n->fd]);
		h = open(devs[n->fd], (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC | O_NOCTTY);
		return h < 0 ? -errno : h;
	case W_PTMX: snprintf(path, PATH_MAX, "/dev/ptmx"); return open_ptmx(p, flags);
	case W_PTS: {
		char pts[32];
		snprintf(pts, sizeof(pts), "/dev/pts/%d", n->fd);
		snprintf(path, PATH_MAX, "%s", pts);
		h = open(pts, (flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC | O_NOCTTY);
		return h < 0 ? -errno : h;
	}
	case W_EXE:
		if (write)
			return -ETXTBSY;
		snprintf(path, PATH_MAX, "%s", p->id.exe_path);
		h = open(p->id.exe_path, (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC | O_NOCTTY);
		return h < 0 ? -errno : h;
	case W_FD: path[0] = 0; return reopen_fd(p, n->fd, flags, kind);
	default:
		if (write)
			return n->dir ? -EISDIR : -EACCES;
		*kind = FD_SPECIAL;
		return generate(p, n->dir ? 0 : n->what);
	}
}

/* What the guest is shown for host path `host` (a host readlink's answer): never a host
 * path the guest cannot see.  Names that are no path (anon_inode:, memfd:) stay; the four
 * emulated devices are themselves; a path under a readable root is the guest's name for it
 * (through a volume); a terminal the guest cannot name is "/dev/pts/0", as a container's
 * first pty; anything else "anon_inode:[host]". */
static long guest_name(struct proc *p, const char *host, char *buf, size_t size)
{
	bool dev = false;
	for (size_t i = 0; i < NDEVS; i++)
		dev |= strcmp(host, devs[i]) == 0;
	if (host[0] != '/' || strncmp(host, "/memfd:", 7) == 0 || dev)
		return snprintf(buf, size, "%s", host);
	if (policy_guest_path(p->cfg.policy, host, buf, size) == 0)
		return (long)strlen(buf);
	if (strncmp(host, "/dev/pts/", 9) == 0 && pty_owned(p, atoi(host + 9)))
		return snprintf(buf, size, "%s", host); /* one of the guest's own */
	if (strcmp(host, "/dev/ptmx") == 0 || strcmp(host, "/dev/pts/ptmx") == 0)
		return snprintf(buf, size, "/dev/ptmx");
	if (strncmp(host, "/dev/pts/", 9) == 0 || strncmp(host, "/dev/tty", 8) == 0)
		return snprintf(buf, size, "/dev/pts/0");
	return snprintf(buf, size, "anon_inode:[host]");
}

/* The target of /proc/self/fd/N: the guest path it was opened by, or what Linux shows
 * for pipes and sockets, or (inherited stdio, O_TMPFILE files) the guest's name for what
 * the host shows. */
static long fd_target(struct proc *p, int fd, char *buf, size_t size)
{
	struct fd_entry *e = fdtab_get(&p->fdt, fd);
	if (!e)
		return -ENOENT;
	if (e->path)
		return snprintf(buf, size, "%s", e->path);
	struct stat st;
	if (fstat(e->host_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return snprintf(buf, size, "%s:[%lu]", S_ISFIFO(st.st_mode) ? "pipe" : "socket",
		                (unsigned long)st.st_ino);
	char link[64], host[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", e->host_fd);
	ssize_t n = readlink(link, host, sizeof(host) - 1);
	if (n < 0)
		return snprintf(buf, size, "anon_inode:[unknown]");
	host[n] = 0;
	return guest_name(p, host, buf, size);
}

long procfs_readlink(struct proc *p, const struct pfs_node *n, char *buf, size_t size)
{
	if (!n->link)
		return -EINVAL;
	long len;
	switch (n->what) {
	case W_SELF: len = snprintf(buf, size, "%d", (int)p->id.pid); break;
	case W_EXE: len = guest_name(p, p->id.exe_path, buf, size); break;
	case W_CWD: len = snprintf(buf, size, "%s", p->id.cwd); break;
	case W_ROOT: len = snprintf(buf, size, "/"); break;
	case W_DEVLINK: len = snprintf(buf, size, "%s", dev_links[n->fd][1]); break;
	case W_FD: len = fd_target(p, n->fd, buf, size); break;
	default: return -EINVAL;
	}
	return len < 0 ? len : (size_t)len >= size ? (long)size - 1 : len;
}

static void synth_stat(struct proc *p, int what, int fd, struct stat *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	*st = (struct stat){.st_dev = makedev(0, 22),
	                    .st_ino = (ino_t)(what + 64 * (fd + 1)),
	                    .st_nlink = 1,
	                    .st_uid = getuid(),
	                    .st_gid = getgid(),
	                    .st_blksize = 1024};
	st->st_atim = st->st_mtim = st->st_ctim = now;
}

int procfs_stat(struct proc *p, const struct pfs_node *n, struct stat *st)
{
	if (n->link) {
		char buf[PATH_MAX];
		long len = procfs_readlink(p, n, buf, sizeof(buf));
		synth_stat(p, n->what, n->fd, st);
		st->st_mode = S_IFLNK | 0777;
		st->st_size = len > 0 ? len : 0;
		return 0;
	}
	switch (n->what) {
	case W_DEV: return stat(devs[n->fd], st) < 0 ? -errno : 0;
	case W_PTMX: return stat("/dev/ptmx", st) < 0 ? -errno : 0;
	case W_PTS: {
		char pts[32];
		snprintf(pts, sizeof(pts), "/dev/pts/%d", n->fd);
		return stat(pts, st) < 0 ? -errno : 0;
	}
	case W_EXE: return stat(p->id.exe_path, st) < 0 ? -errno : 0;
	case W_FD: return fs_fd_stat(p, fdtab_get(&p->fdt, n->fd), st);
	default:
		synth_stat(p, n->what, -1, st);
		st->st_mode = n->dir ? S_IFDIR | 0555 : S_IFREG | 0444;
		st->st_nlink = n->dir ? 2 : 1;
		return 0;
	}
}

int procfs_fstat(struct proc *p, const struct fd_entry *e, struct stat *st)
{
	if (fstat(e->host_fd, st) < 0)
		return -errno;
	char path[PATH_MAX];
	struct pfs_node n;
	snprintf(path, sizeof(path), "%s", e->path ? e->path : "");
	if (procfs_lookup(p, path, false, &n) == PFS_NODE) {
		st->st_mode = n.dir ? S_IFDIR | 0555 : S_IFREG | 0444;
		st->st_nlink = n.dir ? 2 : 1;
		st->st_dev = makedev(0, 22);
		if (n.dir)
			st->st_size = 0;
	}
	return 0;
}

/* Entry `*idx` of directory n (0 ".", 1 "..", then the names; for fd/ the index is 2 + the
 * fd number, skipping closed ones).  false at the end. */
static bool dir_entry(struct proc *p, const struct pfs_node *n, long *idx, char name[32], unsigned char *type)
{
	if (*idx < 2) {
		snprintf(name, 32, "%s", *idx ? ".." : ".");
		*type = DT_DIR;
		return true;
	}
	long i = *idx - 2;
	if (n->what == W_FDDIR) {
		while (i < p->fdt.cap && !fdtab_get(&p->fdt, (int)i))
			i++;
		if (i >= p->fdt.cap)
			return false;
		*idx = i + 2;
		snprintf(name, 32, "%ld", i);
		*type = DT_LNK;
		return true;
	}
	const struct pfs_name *v = n->what == W_PROC ? proc_names : pid_names;
	size_t nv = n->what == W_PROC ? NNAMES(proc_names) : NNAMES(pid_names);
	if (n->what == W_PROC && (size_t)i == nv) { /* the process's own directory */
		snprintf(name, 32, "%d", (int)p->id.pid);
		*type = DT_DIR;
		return true;
	}
	if ((size_t)i >= nv)
		return false;
	snprintf(name, 32, "%s", v[i].name);
	*type = v[i].type;
	return true;
}

long procfs_getdents(struct proc *p, struct fd_entry *e, void *buf, size_t size)
{
	char path[PATH_MAX];
	struct pfs_node n;
	snprintf(path, sizeof(path), "%s", e->path ? e->path : "");
	if (procfs_lookup(p, path, false, &n) != PFS_NODE || !n.dir)
		return -ENOTDIR;
	off_t pos = lseek(e->host_fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	long idx = (long)pos;
	size_t used = 0;
	char name[32];
	unsigned char type;
	for (; dir_entry(p, &n, &idx, name, &type); idx++) {
		size_t namelen = strlen(name), reclen = (19 + namelen + 1 + 7) & ~(size_t)7;
		if (used + reclen > size) {
			if (!used)
				return -EINVAL;
			break;
		}
		/* struct linux_dirent64: d_ino, d_off, d_reclen, d_type, d_name */
		char *d = (char *)buf + used;
		uint64_t ino = (uint64_t)(n.what * 1000 + idx), off = (uint64_t)idx + 1;
		uint16_t rl = (uint16_t)reclen;
		memset(d, 0, reclen);
		memcpy(d, &ino, 8);
		memcpy(d + 8, &off, 8);
		memcpy(d + 16, &rl, 2);
		d[18] = (char)type;
		memcpy(d + 19, name, namelen);
		used += reclen;
	}
	lseek(e->host_fd, idx, SEEK_SET);
	return (long)used;
}

int fs_fd_stat(struct proc *p, const struct fd_entry *e, struct stat *st)
{
	if (e->kind == FD_SPECIAL)
		return procfs_fstat(p, e, st);
	return fstat(e->host_fd, st) < 0 ? -errno : 0;
}
