/* snapload.c - make a process from a snapshot file (`kvmserver snaprun`).
 *
 * The parsed image (snapfile.c has checked it) is applied to a fresh process: memory into
 * its memfd (checked against the checksum), the vCPU, the file mappings (refused if a file
 * changed), the address-space list, threads and signals; then the fd table's objects are
 * made again: files reopened (read-only regular files refused if changed), listeners bound
 * and listening at their address under the policy in force, pipes and socket pairs made
 * anew, epoll sets registered again.  The guest's monotonic clock goes on from the freeze
 * (mono_offset_ns, as in a fork).  The result is stopped at its wait for connections, as
 * after PROC_LISTENING. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "sys/proc_impl.h"
#include "requestvm/snapshot.h"

/* ---- reading ------------------------------------------------------------------------------- */
int snap_open(const char *path, struct snap_image *img, int *out_fd, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WHY("%s: %s", path, strerror(errno));
	struct stat st;
	struct snap_header h;
	ssize_t n = fstat(fd, &st) == 0 ? pread(fd, &h, sizeof(h), 0) : -1;
	uint8_t *buf = NULL;
	int r = -1;
	if (n != (ssize_t)sizeof(h) || memcmp(h.magic, SNAP_MAGIC, sizeof(h.magic)) != 0) {
		WHY("%s: not a kvmserver snapshot%s", path, n >= 0 && n < (ssize_t)sizeof(h) ? " (too short)" : "");
	} else if (h.meta_len > SNAP_META_MAX || h.meta_len > (uint64_t)st.st_size - sizeof(h)) {
		WHY("%s: truncated snapshot (metadata)", path);
	} else if (!(buf = malloc(sizeof(h) + h.meta_len))) {
		WHY("out of memory");
	} else if (pread(fd, buf, sizeof(h) + h.meta_len, 0) != (ssize_t)(sizeof(h) + h.meta_len)) {
		WHY("%s: cannot read the snapshot", path);
	} else {
		char reason[200];
		r = snap_parse(buf, sizeof(h) + h.meta_len, (uint64_t)st.st_size, snap_build_id(), img, reason,
		               sizeof(reason));
		if (r)
			WHY("%s: %s", path, reason);
		else if (img->hdr.cpu_id != vm_cpu_fingerprint()) {
			snap_image_free(img);
			r = WHY("%s: the snapshot was made on a CPU with other features", path);
		}
	}
	free(buf);
	if (r)
		close(fd);
	else
		*out_fd = fd;
	return r;
}

static int load_memory(struct proc *p, const struct snap_image *img, int fd, char *why, size_t whylen)
{
	int err = vm_image_clear(p->vm);
	if (err)
		return WHY("cannot clear guest memory: %s", strerror(-err));
	struct snap_hash hash;
	snap_hash_init(&hash);
	for (size_t i = 0; i < img->nextents; i++) {
		const struct snap_extent *e = &img->extents[i];
		uint8_t *dst = vm_image_mem(p->vm, e->gpa, e->size);
		if (!dst)
			return WHY("corrupt snapshot: memory extent outside the guest");
		for (uint64_t done = 0; done < e->size;) {
			ssize_t n = pread(fd, dst + done, e->size - done, (off_t)(e->file_off + done));
			if (n <= 0)
				return WHY("truncated snapshot (memory)");
			done += (uint64_t)n;
		}
		snap_hash_add(&hash, dst, e->size);
	}
	if (snap_hash_end(&hash) != img->hdr.mem_hash)
		return WHY("corrupt snapshot (memory checksum)");
	for (unsigned s = 0; s < img->nslots; s++)
		if (img->slots[s] && (err = vm_image_add_slot(p->vm, s)))
			return WHY("cannot add guest memory: %s", strerror(-err));
	return 0;
}

/* A file the snapshot names, opened again if it is the same file. */
static int open_same(const char *path, int flags, uint64_t ino, uint64_t size, int64_t msec, int64_t mnsec, bool check,
                     char *why, size_t whylen)
{
	int h = open(path, flags | O_CLOEXEC);
	if (h < 0)
		return WHY("%s: %s (named by the snapshot)", path, strerror(errno));
	struct stat st;
	if (check && (fstat(h, &st) < 0 || st.st_ino != ino || (uint64_t)st.st_size != size ||
	              st.st_mtim.tv_sec != msec || st.st_mtim.tv_nsec != mnsec)) {
		close(h);
		return WHY("%s changed since the snapshot was made; make the snapshot again", path);
	}
	return h;
}

/* Private file pages must be what they were (the memory around them relies on it); a
 * shared mapping shows the file's live pages, as on Linux, whatever they hold now. */
static int load_fmaps(struct proc *p, const struct snap_image *img, char *why, size_t whylen)
{
	for (size_t i = 0; i < img->nfmaps; i++) {
		const struct snap_fmap *m = &img->fmaps[i];
		int h = open_same(m->path, m->shared ? O_RDWR : O_RDONLY, m->ino, m->fsize, m->mtime_sec, m->mtime_nsec,
		                  !m->shared, why, whylen);
		if (h < 0)
			return -1;
		int err = m->shared ? vm_map_file_shared(p->vm, m->gpa, m->size, h, m->off)
		                    : vm_map_file(p->vm, m->gpa, m->size, h, m->off);
		close(h);
		if (err)
			return WHY("%s: cannot map it again: %s", m->path, strerror(-err));
	}
	return 0;
}

static int load_mm(struct proc *p, const struct snap_image *img, char *why, size_t whylen)
{
	struct mm *mm = &p->mm;
	vma_fini(mm);
	vma_init(mm, img->user_size);
	mm->mmap_top = img->mmap_top;
	mm->brk_start = img->brk_start;
	mm->brk = img->brk;
	mm->stack_start = img->stack_start;
	mm->stack_end = img->stack_end;
	for (size_t k = 0; k < img->nvmas; k++) {
		const struct snap_vma *s = &img->vmas[k];
		struct vma v = {.start = s->start,
		                .end = s->end,
		                .prot = s->prot,
		                .flags = s->flags,
		                .kind = (enum vma_kind)s->kind,
		                .offset = s->offset,
		                .dev = s->dev,
		                .ino = s->ino,
		                .may_write = s->may_write};
		if (s->name >= 0 && !(v.name = vma_intern(mm, img->names[s->name])))
			return WHY("out of memory");
		if (vma_insert(mm, &v))
			return WHY("out of memory");
	}
	return 0;
}

static int load_threads(struct proc *p, const struct snap_image *img, int64_t offset, char *why, size_t whylen)
{
	sched_fini(p);
	size_t xs = vm_xsave_size(p->vm);
	p->thr.threads = calloc(img->nthreads, sizeof(*p->thr.threads));
	if (!p->thr.threads)
		return WHY("out of memory");
	for (size_t i = 0; i < img->nthreads; i++) {
		struct thread *t = malloc(sizeof(*t));
		if (!t || !(t->xsave = malloc(xs))) {
			free(t);
			return WHY("out of memory");
		}
		void *x = t->xsave;
		*t = img->threads[i];
		t->xsave = x;
		memcpy(t->xsave, img->thread_xsave[i], xs);
		/* A thread waiting for I/O polled host fds of the old process: it issues its call
		 * again (its registers are on the syscall instruction). */
		if (t->state == T_IO) {
			t->state = T_RUNNABLE;
			t->deadline_ns = 0;
		}
		if (t->deadline_ns)
			t->deadline_ns += (uint64_t)offset;
		if (i == img->cur)
			t->state = T_RUNNING;
		else if (t->state == T_RUNNING)
			t->state = T_RUNNABLE;
		p->thr.threads[p->thr.nthreads++] = t;
	}
	p->thr.cur = p->thr.threads[img->cur];
	p->thr.next_tid = img->next_tid;
	return 0;
}

static int apply_sockopts(int h, const struct snap_fd *f)
{
	for (uint32_t i = 0; i < f->nopts; i++) {
		int v = f->opts[i][2];
		if (setsockopt(h, f->opts[i][0], f->opts[i][1], &v, sizeof(v)) < 0)
			return -errno;
	}
	return 0;
}

static const char *addr_str(const struct snap_fd *f, char *buf, size_t size)
{
	const struct sockaddr_storage *ss = (const void *)f->addr;
	char host[64] = "?";
	if (ss->ss_family == AF_INET && f->addrlen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)f->addr;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6 && f->addrlen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)f->addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, size, "an AF_UNIX abstract name");
	}
	return buf;
}

/* A socket made again: the listener at its address, under the policy in force. */
static int make_socket(struct proc *p, const struct snap_fd *f, char *why, size_t whylen)
{
	char abuf[96];
	int h = socket(f->family, f->type | SOCK_CLOEXEC | ((f->flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0), f->protocol);
	if (h < 0)
		return WHY("fd %d: cannot make its socket again: %s", f->fd, strerror(errno));
	int err = apply_sockopts(h, f);
	if (!err && f->addrlen) {
		if (f->addrlen < sizeof(sa_family_t) || ((const struct sockaddr *)f->addr)->sa_family != f->family)
			err = -EINVAL;
		else
			err = policy_check_listen(p->cfg.policy, (const struct sockaddr *)f->addr, f->addrlen);
		if (err == -EPERM || err == -EACCES) {
			close(h);
			return WHY("fd %d: the policy does not allow listening on %s (--allow-listen)", f->fd,
			           addr_str(f, abuf, sizeof(abuf)));
		}
		if (!err && bind(h, (const struct sockaddr *)f->addr, f->addrlen) < 0)
			err = -errno;
	}
	if (!err && f->how == SFD_LISTEN && listen(h, (int)(f->backlog ? f->backlog : SOMAXCONN)) < 0)
		err = -errno;
	if (err) {
		close(h);
		return WHY("fd %d: cannot %s %s again: %s", f->fd, f->how == SFD_LISTEN ? "listen on" : "bind",
		           addr_str(f, abuf, sizeof(abuf)), strerror(-err));
	}
	return h;
}

static int make_memfd(const struct snap_fd *f, char *why, size_t whylen)
{
	int h = memfd_create("kvmserver-procfs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (h < 0)
		return WHY("cannot make an emulated file: %s", strerror(errno));
	if ((f->data_len && pwrite(h, f->data, f->data_len, 0) != (ssize_t)f->data_len) ||
	    (f->seals && fcntl(h, F_ADD_SEALS, (int)f->seals) < 0)) {
		close(h);
		return WHY("cannot make an emulated file: %s", strerror(errno));
	}
	lseek(h, (off_t)f->off, SEEK_SET);
	return h;
}

static const struct snap_fd *rec_of(const struct snap_image *img, int fd)
{
	for (size_t i = 0; i < img->nfds; i++)
		if (img->fds[i].fd == fd)
			return &img->fds[i];
	return NULL;
}

/* The host fd for record f (a pipe or socket pair also fills its peer's), or -1. */
static int make_fd(struct proc *p, const struct snap_image *img, const struct snap_fd *f, int *peer_h, char *why,
                   size_t whylen)
{
	int h;
	switch (f->how) {
	case SFD_STDIO:
		h = fcntl(f->stdio, F_DUPFD_CLOEXEC, 3);
		if (h < 0)
			h = open("/dev/null", O_RDWR | O_CLOEXEC);
		return h < 0 ? WHY("fd %d: %s", f->fd, strerror(errno)) : h;
	case SFD_FILE: {
		int flags = f->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC);
		h = open_same(f->hpath, flags, f->ino, f->fsize, f->mtime_sec, f->mtime_nsec, f->check, why, whylen);
		if (h >= 0 && f->off && (S_ISREG(f->mode) || S_ISDIR(f->mode)))
			lseek(h, (off_t)f->off, SEEK_SET);
		return h;
	}
	case SFD_MEMFD: return make_memfd(f, why, whylen);
	case SFD_LISTEN:
	case SFD_SOCKET: return make_socket(p, f, why, whylen);
	case SFD_SOCKPAIR:
	case SFD_PIPE: {
		int pv[2];
		int r = f->how == SFD_PIPE ? pipe2(pv, O_CLOEXEC | (f->flags & O_NONBLOCK))
		                           : socketpair(f->family, f->type | SOCK_CLOEXEC, f->protocol, pv);
		if (r < 0)
			return WHY("fd %d: %s", f->fd, strerror(errno));
		int mine = f->how == SFD_PIPE ? f->end : 0;
		fcntl(pv[mine], F_SETFL, f->flags & O_NONBLOCK);
		if (f->other >= 0) {
			/* The peer's own flags: the ends may differ in O_NONBLOCK. */
			const struct snap_fd *o = rec_of(img, f->other);
			*peer_h = pv[!mine];
			fcntl(*peer_h, F_SETFL, o ? o->flags & O_NONBLOCK : 0);
		} else {
			close(pv[!mine]);
		}
		return pv[mine];
	}
	case SFD_EVENTFD: {
		h = eventfd(0, EFD_CLOEXEC | (f->flags & (EFD_NONBLOCK | EFD_SEMAPHORE)));
		if (h < 0)
			return WHY("fd %d: %s", f->fd, strerror(errno));
		if (f->count && f->count < UINT64_MAX) {
			uint64_t v = f->count;
			ssize_t w = write(h, &v, sizeof(v));
			(void)w;
		}
		return h;
	}
	case SFD_TIMERFD: {
		h = timerfd_create(f->clock, TFD_CLOEXEC | (f->flags & TFD_NONBLOCK));
		if (h < 0)
			return WHY("fd %d: cannot make its timer again: %s", f->fd, strerror(errno));
		struct itimerspec its = {{f->left[0], f->left[1]}, {f->left[2], f->left[3]}};
		if (its.it_value.tv_sec || its.it_value.tv_nsec)
			timerfd_settime(h, 0, &its, NULL);
		return h;
	}
	default: return WHY("fd %d: bad record", f->fd);
	}
}

/* Passes: the objects, their dups, epoll sets (pointing at them), dups of epoll sets. */
static int pass_of(const struct snap_image *img, const struct snap_fd *f)
{
	if (f->how == SFD_TWIN)
		return rec_of(img, f->other)->how == SFD_EPOLL ? 3 : 1;
	return f->how == SFD_EPOLL ? 2 : 0;
}

static int load_fds(struct proc *p, const struct snap_image *img, char *why, size_t whylen)
{
	fdtab_fini(&p->fdt);
	fdtab_init(&p->fdt, img->fd_limit);
	for (int pass = 0; pass < 4; pass++) {
		for (size_t i = 0; i < img->nfds; i++) {
			const struct snap_fd *f = &img->fds[i];
			if (pass_of(img, f) != pass)
				continue;
			struct fd_entry *have = fdtab_get(&p->fdt, f->fd);
			if (have)
				continue; /* the peer of a pipe made before */
			int h, peer = -1;
			if (f->how == SFD_TWIN) {
				struct fd_entry *o = fdtab_get(&p->fdt, f->other);
				h = o ? fcntl(o->host_fd, F_DUPFD_CLOEXEC, 0) : -1;
				if (h < 0)
					return WHY("fd %d: cannot dup fd %d", f->fd, f->other);
			} else if (f->how == SFD_EPOLL) {
				h = epoll_create1(EPOLL_CLOEXEC);
				for (uint32_t k = 0; h >= 0 && k < f->nregs; k++) {
					struct fd_entry *t = fdtab_get(&p->fdt, f->regs[k].fd);
					struct epoll_event ev = {.events = f->regs[k].events,
					                         .data.u64 = f->regs[k].data};
					if (!t || epoll_ctl(h, EPOLL_CTL_ADD, t->host_fd, &ev) < 0) {
						close(h);
						return WHY("fd %d: cannot register fd %d in its epoll set again", f->fd,
						           f->regs[k].fd);
					}
				}
				if (h < 0)
					return WHY("fd %d: %s", f->fd, strerror(errno));
			} else if ((h = make_fd(p, img, f, &peer, why, whylen)) < 0) {
				return -1;
			}
			int fds[2] = {f->fd, f->other}, hs[2] = {h, peer};
			for (int k = 0; k < 2; k++) {
				if (hs[k] < 0)
					continue;
				const struct snap_fd *r = k ? rec_of(img, fds[k]) : f;
				if (!r || fdtab_install(&p->fdt, r->fd, hs[k], (enum fd_kind)r->kind, r->cloexec) < 0)
					return WHY("fd %d: cannot install it", fds[k]);
				struct fd_entry *e = fdtab_get(&p->fdt, r->fd);
				e->ofd = r->ofd;
				e->async = r->async;
				e->pair = r->pair;
				e->owner = r->owner;
				if (r->gpath && !(e->path = strdup(r->gpath)))
					return WHY("out of memory");
			}
		}
	}
	p->fdt.next_ofd = img->next_ofd;
	return 0;
}

int proc_snapshot_restore(const struct snap_image *img, int fd, const struct proc_config *cfg, struct proc **out,
                          char *why, size_t whylen)
{
	struct proc_config pc = *cfg;
	pc.user_size = img->user_size;
	struct proc *p;
	int err = proc_create(&p, &pc);
	if (err)
		return WHY("cannot create the guest: %s", strerror(-err));
	int64_t offset = 0;
	if (vm_xsave_size(p->vm) != img->xsave_size) {
		WHY("the snapshot was made on a CPU with other features (XSAVE size)");
		goto fail;
	}
	if (load_memory(p, img, fd, why, whylen))
		goto fail;
	if ((err = vm_image_load_cpu(p->vm, &img->cpu, img->xsave))) {
		WHY("corrupt snapshot: the vCPU state does not load (%s)", strerror(-err));
		goto fail;
	}
	if (load_fmaps(p, img, why, whylen) || load_mm(p, img, why, whylen))
		goto fail;
	/* The guest's monotonic clock goes on from the freeze (as a fork's, requestvm.c). */
	uint64_t now = vm_now_ns();
	offset = (int64_t)(now - img->frozen_ns);
	if (load_threads(p, img, offset, why, whylen) || load_fds(p, img, why, whylen))
		goto fail;
	p->srv.mono_offset_ns = offset;
	if (img->vdso_addr && (err = vm_vdso_rebase(p->vm, img->vdso_addr, offset))) {
		WHY("cannot set the guest's clock: %s", strerror(-err));
		goto fail;
	}
	p->sig.itimer_ns = img->itimer_ns ? img->itimer_ns + (uint64_t)offset : 0;
	p->sig.itimer_interval_ns = img->itimer_interval_ns;
	for (int i = 0; i < 65; i++)
		p->sig.sigactions[i] = (struct sigaction_rec){img->sigactions[i][0], img->sigactions[i][1],
		                                              img->sigactions[i][2], img->sigactions[i][3]};
	snprintf(p->id.cwd, sizeof(p->id.cwd), "%s", img->cwd);
	snprintf(p->id.exe_path, sizeof(p->id.exe_path), "%s", img->exe_path);
	memcpy(p->id.comm, img->comm, sizeof(p->id.comm));
	p->id.pid = img->pid; /* what the program saw at start-up (tids derive from it) */
	p->id.nice = img->nice;
	p->id.umask = (mode_t)img->umask;
	p->id.cred = img->cred;
	memcpy(&p->id.uts, img->uts, sizeof(p->id.uts));
	p->vdso_addr = img->vdso_addr;
	p->srv.wait_kind = (enum proc_wait_kind)img->wait_kind;
	proc_set_mode(p, PROC_MODE_BOOT);
	*out = p;
	return 0;
fail:
	proc_destroy(p);
	return -1;
}
