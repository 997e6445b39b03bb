/* spawn.c - new guest processes: vfork (and clone with CLONE_VM|CLONE_VFORK), execve and
 * execveat, and the host thread each exec'd process runs on.
 *
 * vfork copies nothing.  The child runs in the parent's VM, on the parent's host thread,
 * in the parent's memory, while the parent is suspended (the thread that called vfork is
 * the one on the vCPU; the parent's other threads are not scheduled meanwhile).  What
 * Linux gives the child of its own is swapped in and saved in a vfork frame: its pid, an
 * fd table of dups of the parent's host fds, its signal dispositions and mask, its cwd.
 * When the child execs, the new program gets a new process (its own VM, proc_create +
 * proc_exec) on a new host thread, taking the child's fd table; when it exits instead,
 * its status goes to the process table.  Either way the frame is popped and the parent
 * resumes where it called vfork, with the child's pid in rax.
 *
 * execve outside a vfork child replaces the calling process in place: the new program is
 * loaded into a new VM and the process's body (VM, mappings, threads) is swapped for it,
 * keeping its pid, fds (less the close-on-exec ones), cwd and ignored signals. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/processes/process.h"
#include "sys/files/procfs.h"
#include "sys/processes/spawn.h"
#include "sys/ring.h"
#include "sys/syscalls.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "util/log.h"

#define MAX_ARG_STRINGS 0x7fffffff
#define MAX_ARG_BYTES (2u << 20) /* argv + envp together, as a usual ARG_MAX */

struct vfork_frame {
	struct vfork_frame *up; /* a vfork child that vforks again */
	struct kvm_regs regs; /* the parent's, to resume with (rax = the child's pid) */
	uint64_t fs_base;
	void *xsave;
	struct thread thr; /* the calling thread's bookkeeping (mask, pending, altstack...) */
	struct fdtab fdt;
	struct sigaction_rec sigactions[65];
	char cwd[PATH_MAX];
	char comm[16];
	struct cred cred;
	mode_t umask;
	pid_t pid;
	struct pt_entry *pt;
	struct pt_entry *child;
};

bool spawn_in_vfork_child(const struct proc *p)
{
	return p->fam.vfork != NULL;
}

/* dst: a table of dups of src's host fds (a new process's fds are the same open files). */
int spawn_dup_fdtab(struct fdtab *dst, const struct fdtab *src)
{
	fdtab_init(dst, src->limit);
	dst->hard = src->hard;
	/* fds at or above a lowered soft limit are inherited too (as Linux): install them
	 * past it, then put it back. */
	dst->limit = src->cap > src->limit ? src->cap : src->limit;
	for (int fd = 0; fd < src->cap; fd++) {
		const struct fd_entry *e = &src->e[fd];
		if (e->host_fd < 0)
			continue;
		int h = fcntl(e->host_fd, F_DUPFD_CLOEXEC, 3);
		int err = h < 0 ? -errno : fdtab_install(dst, fd, h, e->kind, e->cloexec);
		if (err < 0) {
			fdtab_fini(dst);
			return err;
		}
		struct fd_entry *d = fdtab_get(dst, fd);
		d->ofd = e->ofd;
		d->pidfd = e->pidfd;
		if (e->path && !(d->path = strdup(e->path))) {
			fdtab_fini(dst);
			return -ENOMEM;
		}
	}
	dst->limit = src->limit;
	dst->next_ofd = src->next_ofd;
	return 0;
}

static long vfork_start(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	struct pt_entry *child;
	int pid = process_new_child(p, &child);
	if (pid < 0)
		return pid;
	struct vfork_frame *f = calloc(1, sizeof(*f));
	if (f)
		f->xsave = malloc(vm_xsave_size(p->vm));
	int err = f && f->xsave ? spawn_dup_fdtab(&f->fdt, &p->fdt) : -ENOMEM;
	if (err) {
		if (f)
			free(f->xsave);
		free(f);
		process_discard(child);
		return err;
	}
	/* The parent's side: its table stays as is (the child gets the dups). */
	struct fdtab child_fdt = f->fdt;
	f->fdt = p->fdt;
	p->fdt = child_fdt;
	vm_save_user_state(p->vm, &f->regs);
	f->regs.rax = (uint64_t)pid;
	f->fs_base = vm_fs_base(p->vm);
	vm_get_xsave(p->vm, f->xsave);
	f->thr = *p->thr.cur;
	memcpy(f->sigactions, p->sig.sigactions, sizeof(f->sigactions));
	memcpy(f->cwd, p->id.cwd, sizeof(f->cwd));
	memcpy(f->comm, p->id.comm, sizeof(f->comm));
	f->cred = p->id.cred;
	f->umask = p->id.umask;
	f->pid = p->id.pid;
	f->pt = p->fam.pt;
	f->child = child;
	f->up = p->fam.vfork;
	p->fam.vfork = f;

	/* The child: a new pid, nothing pending, no thread bookkeeping of the parent's. */
	process_set_owner(child);
	uint32_t tid = (uint32_t)pid;
	if (flags & CLONE_PARENT_SETTID)
		copy_to_guest(p, ptid, &tid, sizeof(tid));
	p->id.pid = pid;
	p->fam.pt = child;
	struct thread *t = p->thr.cur;
	t->tid = pid;
	t->pending = t->queued = 0;
	t->alarm_pending = false;
	t->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
	t->robust_list = t->robust_len = 0;
	t->rseq_addr = 0;
	if (flags & CLONE_CHILD_SETTID)
		copy_to_guest(p, ctid, &tid, sizeof(tid));
	if (flags & CLONE_SETTLS)
		vm_set_fs_base(p->vm, tls);
	if (!stack)
		return 0;
	struct kvm_regs regs = f->regs;
	regs.rax = 0;
	regs.rsp = stack;
	vm_load_user_state(p->vm, &regs);
	return SYS_RESUMED;
}

/* Pops the innermost vfork frame: the process is the parent again (its fds, identity,
 * dispositions, process-table entry and thread bookkeeping).  With `resume`, the parent's
 * registers are loaded too; without, the caller puts the whole VM back itself. */
static void vfork_pop(struct proc *p, bool resume)
{
	struct vfork_frame *f = p->fam.vfork;
	p->fam.vfork = f->up;
	fdtab_fini(&p->fdt);
	p->fdt = f->fdt;
	memcpy(p->sig.sigactions, f->sigactions, sizeof(p->sig.sigactions));
	memcpy(p->id.cwd, f->cwd, sizeof(p->id.cwd));
	memcpy(p->id.comm, f->comm, sizeof(p->id.comm));
	p->id.cred = f->cred;
	p->id.umask = f->umask;
	p->id.pid = f->pid;
	p->fam.pt = f->pt;
	void *xsave = p->thr.cur->xsave;
	*p->thr.cur = f->thr;
	p->thr.cur->xsave = xsave;
	p->thr.cur->state = T_RUNNING;
	if (resume) {
		vm_set_xsave(p->vm, f->xsave);
		vm_set_fs_base(p->vm, f->fs_base);
		vm_load_user_state(p->vm, &f->regs);
	}
	free(f->xsave);
	free(f);
}

/* The vfork child is done with the parent's memory (exec'd or ended): back to the parent. */
static long vfork_end(struct proc *p)
{
	vfork_pop(p, true);
	return SYS_RESUMED;
}

void spawn_vfork_abandon(struct proc *p)
{
	while (p->fam.vfork) {
		process_exited(p->fam.vfork->child, SIGKILL);
		vfork_pop(p, false);
	}
}

/* CLONE_CHILD_CLEARTID of a vfork child: the word is in the parent's memory. */
static void clear_child_tid(struct proc *p)
{
	if (!p->thr.cur->clear_child_tid)
		return;
	uint32_t zero = 0;
	if (copy_to_guest(p, p->thr.cur->clear_child_tid, &zero, sizeof(zero)) == 0)
		sched_futex_wake(p, p->thr.cur->clear_child_tid, ~0u, 1);
}

long spawn_vfork_child_ended(struct proc *p, int wstatus)
{
	clear_child_tid(p);
	process_exited(p->fam.vfork->child, wstatus);
	return vfork_end(p);
}

long process_clone(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	if (flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES | CLONE_FS | CLONE_PIDFD | CLONE_PARENT | CLONE_NEWNS |
	             CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS))
		return flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES | CLONE_FS | CLONE_PIDFD | CLONE_PARENT)
		               ? -ENOSYS
		               : -EPERM;
	if ((flags & CLONE_VM) && (flags & CLONE_VFORK))
		return vfork_start(p, flags, stack, ptid, ctid, tls);
	if (!(flags & CLONE_VM))
		return forkproc_clone(p, flags, stack, ptid, ctid, tls);
	return -ENOSYS; /* a process sharing memory without vfork's suspension */
}

long sys_vfork(struct proc *p, const struct sys_args *a)
{
	return vfork_start(p, CLONE_VM | CLONE_VFORK, 0, 0, 0, 0);
}

long sys_fork(struct proc *p, const struct sys_args *a)
{
	return forkproc_clone(p, SIGCHLD, 0, 0, 0, 0);
}

/* --- execve ---------------------------------------------------------------------------- */

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A NULL-terminated guest array of strings, copied. */
static long copy_strv(struct proc *p, uint64_t uv, char ***out, size_t *budget)
{
	size_t n = 0, cap = 16;
	char **v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	char *buf = malloc(PATH_MAX * 32);
	long err = buf ? 0 : -ENOMEM;
	for (; !err && uv; n++) {
		uint64_t sp;
		if ((err = copy_from_guest(p, &sp, uv + n * 8, sizeof(sp))))
			break;
		if (!sp)
			break;
		long len = strncpy_from_guest(p, buf, sp, PATH_MAX * 32);
		if (len < 0) {
			err = len == -ENAMETOOLONG ? -E2BIG : len;
			break;
		}
		if ((size_t)len + 1 > *budget) {
			err = -E2BIG;
			break;
		}
		*budget -= (size_t)len + 1;
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n + 1] = NULL;
		if (!(v[n] = strdup(buf)))
			err = -ENOMEM;
	}
	free(buf);
	if (err) {
		free_strv(v);
		return err;
	}
	v[n] = NULL;
	*out = v;
	return 0;
}

/* Where a new process's body (VM, mappings, threads) is swapped between two procs. */
static void swap_body(struct proc *a, struct proc *b)
{
#define SWAP(f)                                                                                                        \
	do {                                                                                                           \
		__typeof__(a->f) tmp_;                                                                                 \
		memcpy(&tmp_, &a->f, sizeof(tmp_));                                                                    \
		memcpy(&a->f, &b->f, sizeof(tmp_));                                                                    \
		memcpy(&b->f, &tmp_, sizeof(tmp_));                                                                    \
	} while (0)
	SWAP(vm);
	SWAP(mm);
	SWAP(thr.threads);
	SWAP(thr.nthreads);
	SWAP(thr.cur);
	SWAP(id.exe_path);
	SWAP(vdso_addr);
#undef SWAP
}

/* The process state an exec keeps, from the caller (in its vfork-child identity). */
static void inherit(struct proc *n, const struct proc *p)
{
	n->srv.mode = p->srv.mode == PROC_MODE_BOOT ? PROC_MODE_BOOT : PROC_MODE_RUN; /* as forkproc.c */
	memcpy(n->id.cwd, p->id.cwd, sizeof(n->id.cwd));
	n->id.nice = p->id.nice;
	n->id.cred = p->id.cred;
	n->id.umask = p->id.umask;
	n->sig.itimer_ns = p->sig.itimer_ns;
	n->sig.itimer_interval_ns = p->sig.itimer_interval_ns;
	/* Handled signals go back to their default; ignored ones stay ignored. */
	for (int sig = 1; sig <= 64; sig++) {
		struct sigaction_rec r = {0};
		if (p->sig.sigactions[sig].handler == (uint64_t)SIG_IGN)
			r.handler = (uint64_t)SIG_IGN;
		n->sig.sigactions[sig] = r;
	}
	n->thr.cur->sigmask = p->thr.cur->sigmask;
	n->thr.cur->pending = p->thr.cur->pending;
	n->thr.cur->tid = p->id.pid;
	n->id.pid = p->id.pid;
	n->thr.next_tid = p->id.pid + 1;
}

static void close_on_exec(struct fdtab *t)
{
	for (int fd = 0; fd < t->cap; fd++)
		if (t->e[fd].host_fd >= 0 && t->e[fd].cloexec)
			fdtab_close(t, fd);
}

static int (*template_handler)(struct proc *tmpl, void *arg);
static void *template_arg;

void proc_set_template_handler(int (*fn)(struct proc *tmpl, void *arg), void *arg)
{
	template_handler = fn;
	template_arg = arg;
}

static void *process_thread(void *arg)
{
	struct proc *c = arg;
	process_set_owner(c->fam.pt);
	enum proc_end end;
	/* The first process of the tree to wait for connections (a pre-fork server's worker):
	 * server mode takes it over on this thread, and gives it back only to run on as a
	 * program (template.c, src/server). */
	while ((end = proc_run(c, 0)) == PROC_LISTENING && template_handler && template_handler(c, template_arg) == 0) {
	}
	spawn_vfork_abandon(c); /* killed inside a vfork child: the child ends first */
	int wstatus = end == PROC_EXITED    ? (proc_exit_code(c) & 0xff) << 8
	              : end == PROC_CRASHED ? proc_crash(c)->signal & 0x7f
	                                    : SIGKILL;
	if (c->cfg.verbose && end != PROC_EXITED) {
		char desc[256];
		proc_describe_crash(c, desc, sizeof(desc));
		log_msg("process %d: %s", c->id.pid, desc);
	}
	struct pt_entry *e = c->fam.pt;
	c->fam.pt = NULL;
	process_release_owner(e);
	proc_destroy(c); /* its fds close first: a reader of its pipes sees the end */
	process_exited(e, wstatus);
	return NULL;
}

/* Start the exec'd child on its own host thread. */
int spawn_start_process(struct proc *c)
{
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1 << 20);
	int r = pthread_create(&th, &attr, process_thread, c);
	pthread_attr_destroy(&attr);
	return -r;
}

/* Opens the guest file to run (read permission, as any open) and checks it may be run. */
static long open_exec(struct proc *p, struct gpath *gp, char hostpath[PATH_MAX])
{
	int h;
	if (gp->fd) {
		h = fcntl(gp->fd->host_fd, F_DUPFD_CLOEXEC, 3);
		if (h < 0)
			return -errno;
	} else {
		struct pfs_node node;
		long r = fs_lookup(p, gp, true, &node);
		if (r < 0)
			return r;
		if (r == PFS_NODE)
			return -EACCES; /* emulated files are not programs */
		h = policy_open(p->cfg.policy, gp->path, O_RDONLY, 0);
		if (h < 0)
			return h;
	}
	struct stat st;
	if (fstat(h, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		close(h);
		return -EACCES;
	}
	snprintf(hostpath, PATH_MAX, "/proc/self/fd/%d", h);
	return h;
}

/* --- #! scripts ------------------------------------------------------------------------ */

#define SCRIPT_DEPTH 4 /* interpreters that are scripts themselves, as Linux allows */

/* If the file open as fd starts with "#!": its interpreter and optional argument ("" for
 * none; Linux passes everything after the interpreter as one argument), and 1.  0: not a
 * script; -ENOEXEC: no interpreter named. */
static int parse_shebang(int fd, char interp[PATH_MAX], char arg[PATH_MAX])
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return 0;
	buf[n] = 0;
	char *line = buf + 2, *end = strchr(line, '\n');
	if (end)
		*end = 0;
	while (*line == ' ' || *line == '\t')
		line++;
	size_t len = strcspn(line, " \t");
	if (!len || len >= PATH_MAX)
		return -ENOEXEC;
	snprintf(interp, PATH_MAX, "%.*s", (int)len, line);
	line += len;
	while (*line == ' ' || *line == '\t')
		line++;
	len = strlen(line);
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	snprintf(arg, PATH_MAX, "%.*s", (int)len, line);
	return 1;
}

/* argv for the interpreter: interp [arg] script argv[1]... (argv[0] is dropped). */
static int script_argv(char ***argv, const char *interp, const char *arg, const char *script)
{
	size_t n = 0;
	while (*argv && (*argv)[n])
		n++;
	char **v = calloc(n + 4, sizeof(*v));
	char *a = strdup(interp), *b = *arg ? strdup(arg) : NULL, *c = strdup(script);
	if (!v || !a || (*arg && !b) || !c) {
		free(v);
		free(a);
		free(b);
		free(c);
		return -ENOMEM;
	}
	size_t k = 0;
	v[k++] = a;
	if (b)
		v[k++] = b;
	v[k++] = c;
	for (size_t i = 1; i < n; i++)
		v[k++] = (*argv)[i];
	if (n)
		free((*argv)[0]);
	free(*argv);
	*argv = v;
	return 0;
}

/* The first executable regular file called name on search (a PATH). */
static int find_on_path(const char *name, const char *search, char out[PATH_MAX])
{
	for (const char *d = search && *search ? search : "/usr/local/bin:/usr/bin:/bin"; *d;) {
		size_t len = strcspn(d, ":");
		struct stat st;
		char cand[2 * PATH_MAX];
		snprintf(cand, sizeof(cand), "%.*s%s%s", (int)len, d, len ? "/" : "", name);
		if (strlen(cand) < PATH_MAX && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			memcpy(out, cand, strlen(cand) + 1);
			return 0;
		}
		d += len + (d[len] == ':');
	}
	return -ENOENT;
}

int proc_script_interp(const char *path, char ***argv, const char *search, char interp_out[PATH_MAX], const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* proc_exec reports it */
	char interp[PATH_MAX], arg[PATH_MAX];
	int r = parse_shebang(fd, interp, arg);
	close(fd);
	if (r <= 0) {
		*why = "a #! line that names no interpreter";
		return r;
	}
	/* #!/usr/bin/env NAME: find NAME here, so that the guest need not run env. */
	const char *base = strrchr(interp, '/');
	if (base && strcmp(base, "/env") == 0 && *arg && arg[0] != '-' && !strpbrk(arg, " \t/")) {
		if (find_on_path(arg, search, interp_out)) {
			*why = "the #!/usr/bin/env program is not on PATH";
			return -ENOENT;
		}
		char **v = *argv;
		r = script_argv(&v, arg, "", path);
		*argv = v;
		return r ? r : 1;
	}
	snprintf(interp_out, PATH_MAX, "%s", interp);
	char **v = *argv;
	r = script_argv(&v, interp, arg, path);
	*argv = v;
	return r ? r : 1;
}

static long spawn_execve(struct proc *p, int dirfd, uint64_t upath, uint64_t uargv, uint64_t uenvp, int flags)
{
	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	if (p->srv.tmpl && !p->fam.vfork)
		return -ENOSYS; /* a request VM cannot become another program; its vfork child can */
	struct gpath gp;
	long err = fs_resolve(p, dirfd, upath, flags & AT_EMPTY_PATH, &gp);
	if (err)
		return err;
	char **argv = NULL, **envp = NULL;
	size_t budget = MAX_ARG_BYTES;
	err = copy_strv(p, uargv, &argv, &budget);
	if (!err)
		err = copy_strv(p, uenvp, &envp, &budget);
	/* The name the script's interpreter is given: the path as the caller wrote it. */
	char fname[PATH_MAX] = "", interp[PATH_MAX], arg[PATH_MAX], hostpath[PATH_MAX];
	if (gp.fd)
		snprintf(fname, sizeof(fname), "/dev/fd/%d", dirfd);
	else if (strncpy_from_guest(p, fname, upath, sizeof(fname)) < 0)
		snprintf(fname, sizeof(fname), "%s", gp.path);
	int h = -1;
	for (int depth = 0; !err; depth++) {
		err = h = (int)open_exec(p, &gp, hostpath);
		if (err < 0)
			break;
		/* What the guest named must be allowed to run; a script's interpreter comes with it. */
		if (depth == 0 && (err = policy_check_run(p->cfg.policy, gp.fd ? fname : gp.path, h)))
			break;
		int r = parse_shebang(h, interp, arg);
		if (r <= 0) {
			err = r;
			break;
		}
		close(h);
		h = -1;
		if (depth == SCRIPT_DEPTH) {
			err = -ELOOP;
			break;
		}
		err = script_argv(&argv, interp, arg, fname);
		snprintf(fname, sizeof(fname), "%s", interp);
		gp.fd = NULL;
		gp.slash = false;
		gp.dots = 0;
		if (!err)
			err = policy_normalize(p->id.cwd, interp, gp.path, sizeof(gp.path));
	}
	struct proc *n = NULL;
	if (err >= 0) {
		struct proc_config cfg = p->cfg;
		cfg.cwd = p->id.cwd;
		err = proc_create(&n, &cfg);
		if (!err)
			n->cfg.cwd = NULL;
	}
	const char *why = "";
	if (err >= 0)
		err = proc_exec(n, hostpath, argv, envp, &why);
	if (err < 0 && p->cfg.verbose)
		log_msg("execve %s: %s", gp.path, *why ? why : strerror((int)-err));
	if (h >= 0)
		close(h);
	free_strv(argv);
	free_strv(envp);
	if (err < 0) {
		proc_destroy(n);
		return err == -ENOEXEC || err == -E2BIG || err == -EACCES || err == -ENOENT || err == -ENOMEM ||
		                       err == -ELOOP || err == -ENOTDIR || err == -ENAMETOOLONG
		               ? err
		               : -EACCES;
	}
	/* The point of no return. */
	inherit(n, p);
	clear_child_tid(p);
	close_on_exec(&p->fdt);
	if (p->fam.vfork) {
		fdtab_fini(&n->fdt);
		n->fdt = p->fdt;
		fdtab_init(&p->fdt, n->fdt.limit);
		p->fdt.hard = n->fdt.hard;
		n->fam.pt = p->fam.vfork->child;
		int r = net_unix_names_copy(n, p); /* the names of the sockets it now holds */
		if (!r)
			r = spawn_start_process(n);
		if (r) {
			/* No thread for it: the child dies as if killed. */
			n->fam.pt = NULL;
			proc_destroy(n);
			process_exited(p->fam.vfork->child, SIGKILL);
		}
		return vfork_end(p);
	}
	/* In place: p keeps its identity and fds and takes the new body; the old one goes,
	 * and with it the old VM's ring thread (the run loop starts the new one's). */
	ring_stop(p);
	swap_body(p, n);
	memcpy(p->sig.sigactions, n->sig.sigactions, sizeof(p->sig.sigactions));
	memset(p->id.comm, 0, sizeof(p->id.comm));
	p->thr.next_tid = n->thr.next_tid;
	if (p->fam.pt && p->thr.next_tid < p->id.pid + 1)
		p->thr.next_tid = p->id.pid + 1;
	proc_destroy(n);
	sched_start_ticks(p);
	return SYS_RESUMED;
}

long sys_execve(struct proc *p, const struct sys_args *a)
{
	return spawn_execve(p, AT_FDCWD, a->a[0], a->a[1], a->a[2], 0);
}

long sys_execveat(struct proc *p, const struct sys_args *a)
{
	return spawn_execve(p, (int)a->a[0], a->a[1], a->a[2], a->a[3], (int)a->a[4]);
}
