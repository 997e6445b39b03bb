/* snapshot_fuzz.c - libFuzzer target for snap_parse(), the snapshot file reader: no crash
 * on any input, and every accepted image satisfies what snapload.c relies on.
 * Build with `make fuzz`; run e.g.
 *   build/fuzz/snapshot_fuzz -max_total_time=60 tests/fuzz/snapshot_corpus
 * The corpus holds the header and metadata of real snapshots (their memory left out).
 * The metadata checksum would stop almost every mutation at the door, so the target
 * fixes it up in a copy before parsing, and parses the input as it is too.
 */
#include "requestvm/snapfile.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct snap_fd *rec(const struct snap_image *img, int32_t fd)
{
	for (size_t i = 0; i < img->nfds; i++)
		if (img->fds[i].fd == fd)
			return &img->fds[i];
	return NULL;
}

static void check_accepted(const struct snap_image *img, uint64_t file_size)
{
	CHECK(img->user_size == img->cpu.user_size && img->cpu.phys_size > img->user_size);
	CHECK(img->xsave && img->xsave_size >= 4096);
	CHECK(img->nslots == (img->user_size + (1ULL << 30) - 1) >> 30);
	uint64_t end = 0, total = 0;
	for (size_t i = 0; i < img->nextents; i++) {
		const struct snap_extent *e = &img->extents[i];
		CHECK(e->gpa >= end && e->size && e->gpa + e->size <= img->cpu.phys_size);
		CHECK(e->file_off >= img->hdr.mem_off && e->file_off + e->size <= file_size);
		end = e->gpa + e->size;
		total += e->size;
	}
	CHECK(total == img->hdr.mem_len);
	for (size_t i = 0; i < img->nfmaps; i++)
		CHECK(img->fmaps[i].path && img->fmaps[i].gpa + img->fmaps[i].size <= img->user_size);
	for (size_t i = 0; i < img->nvmas; i++) {
		const struct snap_vma *v = &img->vmas[i];
		CHECK(v->start < v->end && v->end <= img->user_size && v->name < (int64_t)img->nnames);
		if (v->name >= 0)
			CHECK(img->names[v->name] != NULL);
	}
	CHECK(img->nthreads > 0 && img->cur < img->nthreads);
	for (size_t i = 0; i < img->nthreads; i++)
		CHECK(img->thread_xsave[i] && img->threads[i].nwait == 0 && img->threads[i].xsave == NULL);
	for (size_t i = 0; i < img->nfds; i++) {
		const struct snap_fd *f = &img->fds[i];
		CHECK(f->fd >= 0 && f->fd < img->fd_cap && (i == 0 || f->fd > img->fds[i - 1].fd));
		CHECK(f->how > 0 && f->how < SFD_HOW_MAX);
		if (f->how == SFD_TWIN) {
			const struct snap_fd *o = rec(img, f->other);
			CHECK(o && o->fd < f->fd && o->how != SFD_TWIN);
		}
		if (f->how == SFD_FILE)
			CHECK(f->hpath && f->hpath[0] == '/');
		if (f->how == SFD_MEMFD)
			CHECK(f->data_len <= SNAP_MEMFD_MAX && (f->data || !f->data_len));
		if (f->how == SFD_LISTEN || f->how == SFD_SOCKET)
			CHECK(f->addrlen <= sizeof(f->addr) && f->nopts <= SNAP_SOCKOPTS);
		for (uint32_t k = 0; f->how == SFD_EPOLL && k < f->nregs; k++)
			CHECK(rec(img, f->regs[k].fd) != NULL);
	}
	const struct snap_strlist *lists[] = {&img->read, &img->write, &img->volumes, &img->connect, &img->listen};
	for (size_t l = 0; l < 5; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			CHECK(lists[l]->v[i] != NULL);
	CHECK(img->program && img->exe_path && img->cwd && img->cwd[0] == '/');
}

static void parse_one(const uint8_t *buf, size_t size)
{
	struct snap_image img;
	char why[256] = "";
	struct snap_header h;
	uint64_t file_size = size;
	/* The memory is not in the corpus: let the file be as long as the header says, so the
	 * metadata's checks against it run too. */
	if (size >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		if (h.mem_off < (1ULL << 40) && h.mem_len < (1ULL << 40) && h.mem_off + h.mem_len > file_size)
			file_size = h.mem_off + h.mem_len;
	}
	if (snap_parse(buf, size, file_size, 0, &img, why, sizeof(why)) == 0) {
		check_accepted(&img, file_size);
		snap_image_free(&img);
	} else {
		CHECK(why[0] != 0 && strchr(why, '\n') == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_one(data, size);
	struct snap_header h;
	if (size < sizeof(h))
		return 0;
	uint8_t *copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memcpy(&h, copy, sizeof(h));
	if (h.meta_len > size - sizeof(h))
		h.meta_len = size - sizeof(h);
	h.meta_hash = snap_hash(copy + sizeof(h), h.meta_len);
	memcpy(copy, &h, sizeof(h));
	parse_one(copy, size);
	free(copy);
	return 0;
}
