/* snapsave.c - write a frozen server's template to a snapshot file (`kvmserver snapshot`).
 *
 * What is saved: guest memory (the memfd's data extents; file pages are not copied but
 * named by path, inode, size and mtime), the vCPU state, the page-table bookkeeping, the
 * memory slots, the address-space list, threads, signal dispositions, the cwd and the fd
 * table as descriptions of host objects (snapfile.h, enum snap_fd_how): what snapload.c
 * needs to make them again.  What cannot be brought back (a connected socket, a socket
 * bound to an AF_UNIX path, a pipe holding data, a signalfd, a deleted file) makes the
 * snapshot fail with its reason.  Deadlines are saved in the guest's monotonic time. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "requestvm/snapsave.h"
#include "requestvm/snapshot.h"
#include "vmm/abi.h"

uint64_t snap_build_id(void)
{
	static uint64_t id;
	if (id)
		return id;
	int f = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 1;
	struct snap_hash h;
	snap_hash_init(&h);
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(f, buf, sizeof(buf))) > 0)
		snap_hash_add(&h, buf, (size_t)n);
	close(f);
	id = snap_hash_end(&h) | 1;
	return id;
}

/* ---- the other sections --------------------------------------------------------------------- */
static void put_strlist(struct snap_wbuf *w, const struct snap_strlist *l)
{
	snap_put_u32(w, (uint32_t)l->n);
	for (size_t i = 0; i < l->n; i++)
		snap_put_str(w, l->v[i]);
}

struct extents {
	struct snap_wbuf *w;
	uint64_t total;
};

static int put_extent(void *ctx, uint64_t gpa, uint64_t size)
{
	struct extents *x = ctx;
	snap_put_u64(x->w, gpa);
	snap_put_u64(x->w, size);
	snap_put_u64(x->w, x->total);
	x->total += size;
	return 0;
}

static int count_extent(void *ctx, uint64_t gpa, uint64_t size)
{
	(void)gpa;
	(void)size;
	(*(uint64_t *)ctx)++;
	return 0;
}

static int put_fmaps(struct proc *p, struct snap_wbuf *w, char *why, size_t whylen)
{
	size_t n = vm_image_nfmaps(p->vm);
	snap_put_tag(w, SNAP_TAG_FMAPS);
	snap_put_u64(w, n);
	for (size_t i = 0; i < n; i++) {
		struct vm_file_map_info m;
		vm_image_fmap(p->vm, i, &m);
		char link[PATH_MAX];
		struct stat st;
		fd_link(m.fd, link, sizeof(link));
		if (link[0] != '/' || strstr(link, " (deleted)") || fstat(m.fd, &st) < 0)
			return WHY("the mapped file %s cannot be saved in a snapshot", link);
		snap_put_u64(w, m.gpa);
		snap_put_u64(w, m.size);
		snap_put_u64(w, m.off);
		snap_put_u64(w, st.st_dev);
		snap_put_u64(w, st.st_ino);
		snap_put_u64(w, (uint64_t)st.st_size);
		snap_put_u64(w, (uint64_t)st.st_mtim.tv_sec);
		snap_put_u64(w, (uint64_t)st.st_mtim.tv_nsec);
		snap_put_str(w, link);
		snap_put_u32(w, m.shared);
	}
	return 0;
}

static void put_mm(const struct mm *mm, struct snap_wbuf *w)
{
	snap_put_tag(w, SNAP_TAG_MM);
	snap_put_u64(w, mm->mmap_top);
	snap_put_u64(w, mm->brk_start);
	snap_put_u64(w, mm->brk);
	snap_put_u64(w, mm->stack_start);
	snap_put_u64(w, mm->stack_end);
	snap_put_u64(w, mm->nnames);
	for (size_t i = 0; i < mm->nnames; i++)
		snap_put_str(w, mm->names[i]);
	snap_put_u64(w, mm->len);
	for (size_t k = 0; k < mm->len; k++) {
		const struct vma *v = &mm->v[k];
		int32_t name = -1;
		for (size_t i = 0; v->name && i < mm->nnames; i++)
			if (v->name == mm->names[i])
				name = (int32_t)i;
		snap_put_u64(w, v->start);
		snap_put_u64(w, v->end);
		snap_put_u64(w, v->offset);
		snap_put_u64(w, v->dev);
		snap_put_u64(w, v->ino);
		snap_put_u32(w, (uint32_t)v->prot);
		snap_put_u32(w, (uint32_t)v->flags);
		snap_put_u32(w, (uint32_t)v->kind);
		snap_put_u32(w, (uint32_t)name);
		snap_put_u32(w, v->may_write);
	}
}

/* Deadlines are kept in the guest's monotonic time (the host's minus mono_offset_ns). */
static void put_threads(struct proc *p, struct snap_wbuf *w)
{
	size_t xs = vm_xsave_size(p->vm);
	snap_put_tag(w, SNAP_TAG_THREADS);
	snap_put_u32(w, sizeof(struct thread));
	snap_put_u64(w, (uint64_t)p->thr.nthreads);
	uint64_t cur = 0;
	for (int i = 0; i < p->thr.nthreads; i++)
		if (p->thr.threads[i] == p->thr.cur)
			cur = (uint64_t)i;
	snap_put_u64(w, cur);
	for (int i = 0; i < p->thr.nthreads; i++) {
		struct thread t = *p->thr.threads[i];
		if (t.deadline_ns)
			t.deadline_ns -= (uint64_t)p->srv.mono_offset_ns;
		t.xsave = NULL;
		snap_put(w, &t, sizeof(t));
		snap_put(w, p->thr.threads[i]->xsave, xs);
	}
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

struct mem_writer {
	struct vm *vm;
	int fd;
	uint8_t *buf;
	struct snap_hash hash;
	int err;
};

static int write_extent(void *ctx, uint64_t gpa, uint64_t size)
{
	struct mem_writer *m = ctx;
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < (4u << 20) ? (size_t)(size - done) : (4u << 20);
		int err = vm_image_read(m->vm, gpa + done, m->buf, n);
		if (!err)
			err = write_all(m->fd, m->buf, n);
		if (err)
			return m->err = err;
		snap_hash_add(&m->hash, m->buf, n);
		done += n;
	}
	return 0;
}

static int build_meta(struct proc *p, const char *program, const struct snap_policy_src *pol, struct snap_wbuf *w,
                      uint64_t *mem_len, char *why, size_t whylen)
{
	uint64_t now = vm_now_ns();
	snap_put_tag(w, SNAP_TAG_PROC);
	snap_put_u64(w, vm_user_size(p->vm));
	snap_put_str(w, program);
	snap_put_str(w, p->id.exe_path);
	snap_put_str(w, p->id.cwd);
	snap_put(w, p->id.comm, sizeof(p->id.comm));
	snap_put_u32(w, (uint32_t)p->id.pid);
	snap_put_u32(w, (uint32_t)p->id.nice);
	snap_put_u32(w, (uint32_t)p->thr.next_tid);
	snap_put_u32(w, (uint32_t)p->srv.wait_kind);
	snap_put_u64(w, p->vdso_addr);
	snap_put_u64(w, now - (uint64_t)p->srv.mono_offset_ns);
	snap_put_u64(w, p->sig.itimer_ns ? p->sig.itimer_ns - (uint64_t)p->srv.mono_offset_ns : 0);
	snap_put_u64(w, p->sig.itimer_interval_ns);
	for (int i = 0; i < 65; i++) {
		snap_put_u64(w, p->sig.sigactions[i].handler);
		snap_put_u64(w, p->sig.sigactions[i].flags);
		snap_put_u64(w, p->sig.sigactions[i].restorer);
		snap_put_u64(w, p->sig.sigactions[i].mask);
	}
	snap_put_u32(w, (uint32_t)p->id.umask);
	snap_put_u32(w, sizeof(p->id.cred));
	snap_put(w, &p->id.cred, sizeof(p->id.cred));
	snap_put_u32(w, sizeof(p->id.uts));
	snap_put(w, &p->id.uts, sizeof(p->id.uts));

	snap_put_tag(w, SNAP_TAG_POLICY);
	snap_put_u32(w, pol->read_all);
	snap_put_u32(w, pol->write_all);
	snap_put_u32(w, pol->connect_all);
	snap_put_u32(w, pol->listen_all);
	put_strlist(w, &pol->read);
	put_strlist(w, &pol->write);
	put_strlist(w, &pol->volumes);
	put_strlist(w, &pol->connect);
	put_strlist(w, &pol->listen);

	struct vm_cpu_image cpu;
	size_t xs = vm_xsave_size(p->vm);
	void *xsave = calloc(1, xs);
	if (!xsave)
		return WHY("out of memory");
	int err = vm_image_cpu(p->vm, &cpu, xsave);
	if (err) {
		free(xsave);
		return WHY("cannot read the vCPU state: %s", strerror(-err));
	}
	snap_put_tag(w, SNAP_TAG_VM);
	snap_put_u32(w, sizeof(cpu));
	snap_put(w, &cpu, sizeof(cpu));
	snap_put_u64(w, xs);
	snap_put(w, xsave, xs);
	free(xsave);
	unsigned nslots = vm_image_nslots(p->vm);
	snap_put_u32(w, nslots);
	for (unsigned s = 0; s < nslots; s++) {
		uint8_t on = vm_image_slot_on(p->vm, s);
		snap_put(w, &on, 1);
	}

	uint64_t n = 0;
	if ((err = vm_image_extents(p->vm, count_extent, &n)))
		return WHY("cannot read guest memory: %s", strerror(-err));
	snap_put_tag(w, SNAP_TAG_MEM);
	snap_put_u64(w, n);
	struct extents x = {.w = w};
	if ((err = vm_image_extents(p->vm, put_extent, &x)))
		return WHY("cannot read guest memory: %s", strerror(-err));
	*mem_len = x.total;

	if (put_fmaps(p, w, why, whylen))
		return -1;
	put_mm(&p->mm, w);
	put_threads(p, w);
	if (snap_put_fds(p, w, why, whylen))
		return -1;
	snap_put_tag(w, SNAP_TAG_END);
	return w->failed ? WHY("out of memory") : 0;
}

int proc_snapshot_save(struct proc *p, const char *path, const char *program, const struct snap_policy_src *pol,
                       uint64_t *bytes, char *why, size_t whylen)
{
	if (p->thr.cur->state != T_RUNNING || !p->srv.wait_kind)
		return WHY("the program is not waiting for connections");
	struct snap_wbuf w = {0};
	uint64_t mem_len = 0;
	if (build_meta(p, program, pol, &w, &mem_len, why, whylen)) {
		free(w.p);
		return -1;
	}
	struct snap_header h = {.version = SNAP_VERSION, .header_size = sizeof(h)};
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	h.build_id = snap_build_id();
	h.cpu_id = vm_cpu_fingerprint();
	h.meta_len = w.len;
	h.meta_hash = snap_hash(w.p, w.len);
	h.mem_off = (sizeof(h) + w.len + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	h.mem_len = mem_len;
	/* What snaprun will check, checked now: a file this build cannot read back is not
	 * written at all. */
	uint8_t *whole = malloc(sizeof(h) + w.len);
	struct snap_image img;
	char reason[200] = "out of memory";
	int bad = !whole;
	if (whole) {
		memcpy(whole, &h, sizeof(h));
		memcpy(whole + sizeof(h), w.p, w.len);
		bad = snap_parse(whole, sizeof(h) + w.len, h.mem_off + h.mem_len, h.build_id, &img, reason,
		                 sizeof(reason));
		if (!bad)
			snap_image_free(&img);
		free(whole);
	}
	if (bad) {
		free(w.p);
		return WHY("internal error: the snapshot would not read back (%s)", reason);
	}

	/* Written beside the target and renamed over it: a reader never sees half a file. */
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		free(w.p);
		return WHY("%s: name too long", path);
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(w.p);
		return WHY("%s: %s", tmp, strerror(errno));
	}
	struct mem_writer m = {.vm = p->vm, .fd = fd, .buf = malloc(4u << 20)};
	snap_hash_init(&m.hash);
	int err = m.buf ? 0 : -ENOMEM;
	static const uint8_t zero[PAGE_SIZE];
	if (!err)
		err = write_all(fd, &h, sizeof(h));
	if (!err)
		err = write_all(fd, w.p, w.len);
	if (!err)
		err = write_all(fd, zero, h.mem_off - sizeof(h) - w.len);
	if (!err)
		err = vm_image_extents(p->vm, write_extent, &m);
	h.mem_hash = snap_hash_end(&m.hash);
	if (!err && pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		err = -errno;
	if (!err && fsync(fd) < 0)
		err = -errno;
	free(m.buf);
	free(w.p);
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return WHY("%s: %s", path, strerror(-err));
	}
	*bytes = h.mem_off + h.mem_len;
	return 0;
}
