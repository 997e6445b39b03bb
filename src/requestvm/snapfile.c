/* snapfile.c - the snapshot file's metadata: writing helpers, the hash, and the checked
 * parser (see snapfile.h for the layout).
 *
 * Encodings (u32/u64/i32/i64 little-endian; str = u32 length including the NUL, 0 for
 * none, then the bytes; a list = u32 or u64 count then the items):
 *   PROC    u64 user_size, str program, exe_path, cwd, 16 bytes comm, i32 pid, nice,
 *           next_tid, wait_kind, u64 vdso_addr, frozen_ns, itimer_ns, itimer_interval_ns,
 *           65 x 4 u64 sigactions, u32 umask, u32 size + struct cred, u32 size + uts
 *   POLICY  u32 read_all, write_all, connect_all, listen_all; str lists read, write,
 *           volumes, connect, listen
 *   VM      u32 size + struct vm_cpu_image, u64 size + XSAVE image, u32 n + n slot bytes
 *   MEM     u64 n, n x (u64 gpa, size, offset from mem_off)
 *   FMAPS   u64 n, n x (u64 gpa, size, off, dev, ino, file size, i64 mtime s, ns, str path,
 *           u32 shared)
 *   MM      u64 mmap_top, brk_start, brk, stack_start, stack_end; str list names (u64);
 *           u64 n, n x (u64 start, end, offset, dev, ino, i32 prot, flags, kind, name,
 *           u32 may_write)
 *   THREADS u32 sizeof(struct thread), u64 n, u64 cur, n x (struct thread, XSAVE image)
 *   FDS     i32 cap, limit, u32 next_ofd, u64 n, n x fd record (see parse_fd)
 *   END
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/files/fdtab.h"
#include "requestvm/snapfile.h"
#include "vmm/abi.h"
#include "vmm/layout.h"

/* ---- hash ---------------------------------------------------------------------------------- */
#define HASH_K1 0x9e3779b97f4a7c15ULL
#define HASH_K2 0xc2b2ae3d27d4eb4fULL

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane(uint64_t h, uint64_t w)
{
	return rotl(h ^ (w * HASH_K2), 31) * HASH_K1;
}

void snap_hash_init(struct snap_hash *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 4; i++)
		s->h[i] = HASH_K1 * (uint64_t)(i + 1);
}

static void hash_block(struct snap_hash *s, const uint8_t *b)
{
	uint64_t w[4];
	memcpy(w, b, 32);
	for (int i = 0; i < 4; i++)
		s->h[i] = lane(s->h[i], w[i]);
}

void snap_hash_add(struct snap_hash *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->total += len;
	if (s->ntail) {
		size_t take = 32 - s->ntail < len ? 32 - s->ntail : len;
		memcpy(s->tail + s->ntail, p, take);
		s->ntail += take;
		p += take;
		len -= take;
		if (s->ntail < 32)
			return;
		hash_block(s, s->tail);
		s->ntail = 0;
	}
	for (; len >= 32; p += 32, len -= 32)
		hash_block(s, p);
	memcpy(s->tail, p, len);
	s->ntail = len;
}

uint64_t snap_hash_end(struct snap_hash *s)
{
	uint64_t h = s->total * HASH_K2;
	for (size_t i = 0; i < s->ntail; i++)
		h = lane(h, s->tail[i]);
	for (int i = 0; i < 4; i++)
		h = lane(h, s->h[i]);
	return h ^ (h >> 29);
}

uint64_t snap_hash(const void *data, size_t len)
{
	struct snap_hash s;
	snap_hash_init(&s);
	snap_hash_add(&s, data, len);
	return snap_hash_end(&s);
}

/* ---- writing -------------------------------------------------------------------------------- */
void snap_put(struct snap_wbuf *w, const void *data, size_t len)
{
	if (w->failed)
		return;
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + len)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (!p) {
			w->failed = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, data, len);
	w->len += len;
}

void snap_put_u32(struct snap_wbuf *w, uint32_t v)
{
	snap_put(w, &v, sizeof(v));
}

void snap_put_u64(struct snap_wbuf *w, uint64_t v)
{
	snap_put(w, &v, sizeof(v));
}

void snap_put_str(struct snap_wbuf *w, const char *s)
{
	if (!s) {
		snap_put_u32(w, 0);
		return;
	}
	size_t n = strlen(s) + 1;
	snap_put_u32(w, (uint32_t)n);
	snap_put(w, s, n);
}

void snap_put_tag(struct snap_wbuf *w, uint32_t tag)
{
	snap_put_u32(w, tag);
}

/* ---- parsing -------------------------------------------------------------------------------- */
struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *bad; /* the first problem, or NULL */
	char *why;
	size_t whylen;
};

static bool fail(struct rd *r, const char *what)
{
	if (!r->bad)
		r->bad = what;
	return false;
}

static const void *take(struct rd *r, size_t n)
{
	if (r->bad)
		return NULL;
	if (n > r->len - r->off) {
		fail(r, "truncated metadata");
		return NULL;
	}
	const void *at = r->p + r->off;
	r->off += n;
	return at;
}

static uint32_t u32(struct rd *r)
{
	uint32_t v = 0;
	const void *at = take(r, sizeof(v));
	if (at)
		memcpy(&v, at, sizeof(v));
	return v;
}

static uint64_t u64(struct rd *r)
{
	uint64_t v = 0;
	const void *at = take(r, sizeof(v));
	if (at)
		memcpy(&v, at, sizeof(v));
	return v;
}

static int32_t i32(struct rd *r)
{
	return (int32_t)u32(r);
}

static int64_t i64(struct rd *r)
{
	return (int64_t)u64(r);
}

/* A NUL-terminated string (or NULL when absent); *ok false on a malformed one. */
static const char *str(struct rd *r)
{
	uint32_t n = u32(r);
	if (n == 0)
		return NULL;
	const char *s = take(r, n);
	if (s && (s[n - 1] != 0 || strlen(s) != n - 1)) {
		fail(r, "malformed string");
		return NULL;
	}
	return s;
}

/* A string that must be there. */
static const char *str_req(struct rd *r, const char *what)
{
	const char *s = str(r);
	if (!s)
		fail(r, what);
	return s;
}

static void tag(struct rd *r, uint32_t want)
{
	if (u32(r) != want)
		fail(r, "bad section tag");
}

/* An array of n items of which each takes at least min_bytes in the file: checked against
 * what is left before anything is allocated. */
static void *alloc_items(struct rd *r, uint64_t n, size_t min_bytes, size_t item_size)
{
	if (r->bad)
		return NULL;
	if (min_bytes && n > (r->len - r->off) / min_bytes) {
		fail(r, "a count exceeds the metadata");
		return NULL;
	}
	void *v = calloc(n ? n : 1, item_size);
	if (!v)
		fail(r, "out of memory");
	return v;
}

static void strlist(struct rd *r, struct snap_strlist *l)
{
	uint32_t n = u32(r);
	l->v = alloc_items(r, (uint64_t)n + 1, 4, sizeof(*l->v));
	if (!l->v)
		return;
	for (uint32_t i = 0; i < n && !r->bad; i++)
		l->v[l->n++] = str_req(r, "empty policy entry");
	l->v[l->n] = NULL;
}

static bool page_aligned(uint64_t v)
{
	return (v & (PAGE_SIZE - 1)) == 0;
}

static void parse_proc(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_PROC);
	img->user_size = u64(r);
	img->program = str_req(r, "no program name");
	img->exe_path = str_req(r, "no executable path");
	img->cwd = str_req(r, "no working directory");
	const void *comm = take(r, sizeof(img->comm));
	if (comm)
		memcpy(img->comm, comm, sizeof(img->comm));
	img->comm[sizeof(img->comm) - 1] = 0;
	img->pid = i32(r);
	img->nice = i32(r);
	img->next_tid = i32(r);
	img->wait_kind = i32(r);
	img->vdso_addr = u64(r);
	img->frozen_ns = u64(r);
	img->itimer_ns = u64(r);
	img->itimer_interval_ns = u64(r);
	for (int i = 0; i < 65; i++)
		for (int k = 0; k < 4; k++)
			img->sigactions[i][k] = u64(r);
	img->umask = u32(r) & 0777;
	if (u32(r) != sizeof(img->cred) && !r->bad)
		fail(r, "credentials of another build");
	const void *cred = take(r, sizeof(img->cred));
	if (cred)
		memcpy(&img->cred, cred, sizeof(img->cred));
	img->uts_size = u32(r);
	if (!r->bad && img->uts_size != sizeof(((struct proc *)0)->id.uts))
		fail(r, "host names of another build");
	img->uts = r->bad ? NULL : take(r, img->uts_size);
	if (r->bad)
		return;
	if (img->cred.ngroups < 0 || img->cred.ngroups > CRED_MAX_GROUPS)
		fail(r, "bad credentials");
	else if (img->user_size < USER_MIN_ADDR || img->user_size % (2ULL << 20) || img->user_size > (1ULL << 46))
		fail(r, "bad address-space size");
	else if (img->cwd[0] != '/' || strlen(img->cwd) >= 4096 || strlen(img->exe_path) >= 4096)
		fail(r, "bad working directory or executable path");
	else if (img->pid <= 0 || img->next_tid <= 0 || img->wait_kind < 1 || img->wait_kind > 3)
		fail(r, "bad process ids or wait kind");
	else if (img->vdso_addr >= img->user_size || !page_aligned(img->vdso_addr))
		fail(r, "bad vDSO address");
}

static void parse_policy(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_POLICY);
	img->read_all = u32(r);
	img->write_all = u32(r);
	img->connect_all = u32(r);
	img->listen_all = u32(r);
	strlist(r, &img->read);
	strlist(r, &img->write);
	strlist(r, &img->volumes);
	strlist(r, &img->connect);
	strlist(r, &img->listen);
	for (size_t i = 0; !r->bad && i < img->volumes.n; i++)
		if (!strchr(img->volumes.v[i], ':'))
			fail(r, "bad volume entry");
}

static void parse_vm(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_VM);
	if (u32(r) != sizeof(img->cpu) && !r->bad)
		fail(r, "bad vCPU state size");
	const void *cpu = take(r, sizeof(img->cpu));
	if (cpu)
		memcpy(&img->cpu, cpu, sizeof(img->cpu));
	img->xsave_size = u64(r);
	if (!r->bad && (img->xsave_size < 4096 || img->xsave_size > (1u << 20)))
		fail(r, "bad XSAVE size");
	img->xsave = r->bad ? NULL : take(r, img->xsave_size);
	img->nslots = u32(r);
	const uint8_t *slots = r->bad ? NULL : take(r, img->nslots);
	if (r->bad)
		return;
	if (img->cpu.user_size != img->user_size || img->cpu.phys_size <= img->user_size ||
	    img->cpu.phys_size > img->user_size + (1ULL << 40) || !page_aligned(img->cpu.phys_size))
		return (void)fail(r, "vCPU state for another address space");
	if (img->nslots != (img->user_size + (1ULL << 30) - 1) >> 30)
		return (void)fail(r, "bad memory slot count");
	img->slots = alloc_items(r, img->nslots, 0, 1);
	if (img->slots)
		memcpy(img->slots, slots, img->nslots);
}

static void parse_mem(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_MEM);
	uint64_t n = u64(r);
	img->extents = alloc_items(r, n, 24, sizeof(*img->extents));
	uint64_t next_gpa = 0, next_off = 0;
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		struct snap_extent *e = &img->extents[img->nextents++];
		e->gpa = u64(r);
		e->size = u64(r);
		uint64_t rel = u64(r);
		if (r->bad)
			break;
		if (!page_aligned(e->gpa) || !page_aligned(e->size) || e->size == 0 || e->gpa < next_gpa ||
		    e->gpa > img->cpu.phys_size || e->size > img->cpu.phys_size - e->gpa)
			fail(r, "bad memory extent");
		else if (rel != next_off || rel > img->hdr.mem_len || e->size > img->hdr.mem_len - rel)
			fail(r, "memory extent outside the file's memory");
		next_gpa = e->gpa + e->size;
		next_off = rel + e->size;
		e->file_off = img->hdr.mem_off + rel;
	}
	if (!r->bad && next_off != img->hdr.mem_len)
		fail(r, "memory extents do not add up");
}

static void parse_fmaps(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_FMAPS);
	uint64_t n = u64(r);
	img->fmaps = alloc_items(r, n, 72, sizeof(*img->fmaps));
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		struct snap_fmap *m = &img->fmaps[img->nfmaps++];
		m->gpa = u64(r);
		m->size = u64(r);
		m->off = u64(r);
		m->dev = u64(r);
		m->ino = u64(r);
		m->fsize = u64(r);
		m->mtime_sec = i64(r);
		m->mtime_nsec = i64(r);
		m->path = str_req(r, "file mapping without a path");
		m->shared = u32(r) != 0;
		if (!r->bad && (!page_aligned(m->gpa | m->size | m->off) || m->size == 0 || m->gpa >= img->user_size ||
		                m->size > img->user_size - m->gpa || m->path[0] != '/'))
			fail(r, "bad file mapping");
	}
}

static void parse_mm(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_MM);
	img->mmap_top = u64(r);
	img->brk_start = u64(r);
	img->brk = u64(r);
	img->stack_start = u64(r);
	img->stack_end = u64(r);
	uint64_t nn = u64(r);
	img->names = alloc_items(r, nn, 4, sizeof(*img->names));
	for (uint64_t i = 0; i < nn && !r->bad; i++)
		img->names[img->nnames++] = str_req(r, "empty mapping name");
	uint64_t n = u64(r);
	img->vmas = alloc_items(r, n, 60, sizeof(*img->vmas));
	uint64_t prev_end = 0;
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		struct snap_vma *v = &img->vmas[img->nvmas++];
		v->start = u64(r);
		v->end = u64(r);
		v->offset = u64(r);
		v->dev = u64(r);
		v->ino = u64(r);
		v->prot = i32(r);
		v->flags = i32(r);
		v->kind = i32(r);
		v->name = i32(r);
		v->may_write = u32(r) != 0;
		if (r->bad)
			break;
		if (!page_aligned(v->start | v->end) || v->start >= v->end || v->start < prev_end ||
		    v->end > img->user_size || v->kind < 0 || v->kind > 3 || v->name < -1 ||
		    v->name >= (int64_t)img->nnames)
			fail(r, "bad mapping");
		prev_end = v->end;
	}
	if (!r->bad && (img->mmap_top > img->user_size || img->brk_start > img->brk || img->brk > img->user_size ||
	                img->stack_start > img->stack_end || img->stack_end > img->user_size))
		fail(r, "bad address-space layout");
}

static void parse_threads(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_THREADS);
	if (u32(r) != sizeof(struct thread) && !r->bad)
		fail(r, "thread state of another build");
	uint64_t n = u64(r);
	img->cur = u64(r);
	if (!r->bad && (n == 0 || n > 4096 || img->cur >= n))
		fail(r, "bad thread count");
	img->threads = alloc_items(r, n, sizeof(struct thread), sizeof(*img->threads));
	img->thread_xsave = alloc_items(r, n, 0, sizeof(*img->thread_xsave));
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		const void *t = take(r, sizeof(struct thread));
		const uint8_t *x = take(r, img->xsave_size);
		if (!t || !x)
			break;
		struct thread *th = &img->threads[img->nthreads];
		memcpy(th, t, sizeof(*th));
		img->thread_xsave[img->nthreads++] = x;
		/* Host pointers and host fds in it mean nothing here. */
		th->xsave = NULL;
		th->nwait = 0;
		if (th->tid <= 0 || (unsigned)th->state > T_DEAD)
			fail(r, "bad thread");
	}
}

/* One fd record: i32 fd, u32 how, kind, cloexec, ofd, async, pair, i32 owner, str guest
 * path, i32 other, flags, stdio, then what its kind needs. */
static void parse_fd(struct rd *r, struct snap_image *img, struct snap_fd *f)
{
	f->fd = i32(r);
	f->how = u32(r);
	f->kind = u32(r);
	f->cloexec = u32(r);
	f->ofd = u32(r);
	f->async = u32(r) != 0;
	f->pair = u32(r);
	f->owner = i32(r);
	f->gpath = str(r);
	f->other = i32(r);
	f->flags = i32(r);
	f->stdio = i32(r);
	if (r->bad)
		return;
	if (f->fd < 0 || f->fd >= img->fd_cap || f->how == 0 || f->how >= SFD_HOW_MAX || f->kind > FD_SPECIAL ||
	    f->other < -1 || f->other >= img->fd_cap || f->stdio < 0 || f->stdio > 2)
		return (void)fail(r, "bad fd record");
	switch (f->how) {
	case SFD_FILE:
		f->hpath = str_req(r, "file without a path");
		f->off = u64(r);
		f->dev = u64(r);
		f->ino = u64(r);
		f->fsize = u64(r);
		f->mode = u64(r);
		f->mtime_sec = i64(r);
		f->mtime_nsec = i64(r);
		f->check = u32(r);
		if (!r->bad && (f->hpath[0] != '/' || f->off > INT64_MAX))
			fail(r, "bad file record");
		break;
	case SFD_MEMFD:
		f->off = u64(r);
		f->seals = u32(r);
		f->data_len = u64(r);
		if (!r->bad && f->data_len > SNAP_MEMFD_MAX)
			fail(r, "emulated file too large");
		f->data = r->bad ? NULL : take(r, f->data_len);
		if (!r->bad && f->off > INT64_MAX)
			fail(r, "bad file offset");
		break;
	case SFD_LISTEN:
	case SFD_SOCKET: {
		f->family = i32(r);
		f->type = i32(r);
		f->protocol = i32(r);
		f->addrlen = u32(r);
		if (!r->bad && f->addrlen > sizeof(f->addr))
			return (void)fail(r, "bad socket address");
		const void *a = take(r, f->addrlen);
		if (a)
			memcpy(f->addr, a, f->addrlen);
		f->backlog = u32(r);
		f->nopts = u32(r);
		if (!r->bad && f->nopts > SNAP_SOCKOPTS)
			return (void)fail(r, "too many socket options");
		for (uint32_t i = 0; i < f->nopts; i++)
			for (int k = 0; k < 3; k++)
				f->opts[i][k] = i32(r);
		break;
	}
	case SFD_SOCKPAIR:
		f->family = i32(r);
		f->type = i32(r);
		f->protocol = i32(r);
		f->end = i32(r);
		break;
	case SFD_PIPE:
		f->end = i32(r);
		if (!r->bad && f->end != 0 && f->end != 1)
			fail(r, "bad pipe end");
		break;
	case SFD_EPOLL: {
		uint32_t n = u32(r);
		f->regs = alloc_items(r, n, 16, sizeof(*f->regs));
		for (uint32_t i = 0; i < n && !r->bad; i++) {
			struct snap_epoll_reg *g = &f->regs[f->nregs++];
			g->fd = i32(r);
			g->events = u32(r);
			g->data = u64(r);
			if (!r->bad && (g->fd < 0 || g->fd >= img->fd_cap))
				fail(r, "bad epoll registration");
		}
		break;
	}
	case SFD_EVENTFD: f->count = u64(r); break;
	case SFD_TIMERFD:
		f->clock = i32(r);
		for (int k = 0; k < 4; k++)
			f->left[k] = i64(r);
		if (!r->bad && (f->left[0] < 0 || f->left[2] < 0 || f->left[1] < 0 || f->left[1] >= 1000000000 ||
		                f->left[3] < 0 || f->left[3] >= 1000000000))
			fail(r, "bad timer");
		break;
	default: break;
	}
}

/* The record of guest fd `fd`, or NULL. */
static const struct snap_fd *fd_rec(const struct snap_image *img, int32_t fd)
{
	for (size_t i = 0; i < img->nfds; i++)
		if (img->fds[i].fd == fd)
			return &img->fds[i];
	return NULL;
}

static void check_fd_links(struct rd *r, const struct snap_image *img)
{
	for (size_t i = 0; i < img->nfds && !r->bad; i++) {
		const struct snap_fd *f = &img->fds[i];
		const struct snap_fd *o = f->other >= 0 ? fd_rec(img, f->other) : NULL;
		if (f->how == SFD_TWIN && (!o || o->fd >= f->fd || o->how == SFD_TWIN))
			fail(r, "bad dup record");
		else if ((f->how == SFD_PIPE || f->how == SFD_SOCKPAIR) && f->other >= 0 &&
		         (!o || o->how != f->how || o->other != f->fd || o->end == f->end))
			fail(r, "bad pipe or socket pair");
	}
	/* Epoll sets hold the other objects, not epoll sets (the order they are made in). */
	for (size_t i = 0; i < img->nfds && !r->bad; i++) {
		const struct snap_fd *f = &img->fds[i];
		for (uint32_t k = 0; f->how == SFD_EPOLL && k < f->nregs && !r->bad; k++) {
			const struct snap_fd *t = fd_rec(img, f->regs[k].fd);
			if (t && t->how == SFD_TWIN)
				t = fd_rec(img, t->other);
			if (!t || t->how == SFD_EPOLL)
				fail(r, "bad epoll registration");
		}
	}
}

static void parse_fds(struct rd *r, struct snap_image *img)
{
	tag(r, SNAP_TAG_FDS);
	img->fd_cap = i32(r);
	img->fd_limit = i32(r);
	img->next_ofd = u32(r);
	if (!r->bad &&
	    (img->fd_cap < 0 || img->fd_limit < 3 || img->fd_limit > (1 << 20) || img->fd_cap > img->fd_limit))
		return (void)fail(r, "bad fd table size");
	uint64_t n = u64(r);
	img->fds = alloc_items(r, n, 48, sizeof(*img->fds));
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		struct snap_fd *f = &img->fds[img->nfds++];
		parse_fd(r, img, f);
		if (!r->bad && i > 0 && f->fd <= img->fds[i - 1].fd)
			fail(r, "fd records out of order");
	}
	check_fd_links(r, img);
}

int snap_parse(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t expect_build, struct snap_image *img,
               char *why, size_t whylen)
{
	memset(img, 0, sizeof(*img));
	const char *bad = NULL;
	struct snap_header *h = &img->hdr;
	if (len < sizeof(*h) || file_size < len)
		bad = "not a kvmserver snapshot (too short)";
	else {
		memcpy(h, buf, sizeof(*h));
		if (memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)) != 0)
			bad = "not a kvmserver snapshot (bad magic)";
		else if (h->version != SNAP_VERSION)
			bad = "snapshot format version not supported by this kvmserver";
		else if (h->header_size != sizeof(*h))
			bad = "bad header size";
		else if (expect_build && h->build_id != expect_build)
			bad = "the snapshot was made by a different kvmserver build";
		else if (h->meta_len > SNAP_META_MAX || h->meta_len > len - sizeof(*h))
			bad = "truncated snapshot (metadata)";
		else if (h->mem_off < sizeof(*h) + h->meta_len || h->mem_off > file_size ||
		         h->mem_len > file_size - h->mem_off)
			bad = "truncated snapshot (memory)";
		else if (!page_aligned(h->mem_off))
			bad = "bad memory offset";
		else if (snap_hash(buf + sizeof(*h), h->meta_len) != h->meta_hash)
			bad = "corrupt snapshot (metadata checksum)";
	}
	if (bad) {
		snprintf(why, whylen, "%s", bad);
		return -1;
	}
	img->meta = malloc(h->meta_len ? h->meta_len : 1);
	if (!img->meta) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	memcpy(img->meta, buf + sizeof(*h), h->meta_len);
	img->meta_len = h->meta_len;
	struct rd r = {.p = img->meta, .len = img->meta_len};
	parse_proc(&r, img);
	parse_policy(&r, img);
	parse_vm(&r, img);
	parse_mem(&r, img);
	parse_fmaps(&r, img);
	parse_mm(&r, img);
	parse_threads(&r, img);
	parse_fds(&r, img);
	tag(&r, SNAP_TAG_END);
	if (!r.bad && r.off != r.len)
		fail(&r, "trailing bytes in the metadata");
	if (r.bad) {
		snprintf(why, whylen, "corrupt snapshot: %s (metadata byte %zu)", r.bad, r.off);
		snap_image_free(img);
		return -1;
	}
	return 0;
}

void snap_image_free(struct snap_image *img)
{
	struct snap_strlist *lists[] = {&img->read, &img->write, &img->volumes, &img->connect, &img->listen};
	for (size_t i = 0; i < 5; i++)
		free(lists[i]->v);
	for (size_t i = 0; i < img->nfds; i++)
		free(img->fds[i].regs);
	free(img->fds);
	free(img->threads);
	free(img->thread_xsave);
	free(img->vmas);
	free(img->names);
	free(img->fmaps);
	free(img->extents);
	free(img->slots);
	free(img->meta);
	memset(img, 0, sizeof(*img));
}
