/* vma.c - a sorted array of guest mappings: find, insert, split, protect, place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sys/memory/mm.h"
#include "util/array.h"

void vma_init(struct mm *mm, uint64_t user_size)
{
	memset(mm, 0, sizeof(*mm));
	mm->user_size = user_size;
	mm->mmap_top = user_size;
}

void vma_fini(struct mm *mm)
{
	for (size_t i = 0; i < mm->nnames; i++)
		free(mm->names[i]);
	free(mm->names);
	free(mm->v);
	memset(mm, 0, sizeof(*mm));
}

/* Index of the first mapping with end > addr (mm->len if none). */
static size_t first_ending_after(const struct mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mm->v[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const struct vma *vma_next(const struct mm *mm, uint64_t addr)
{
	size_t i = first_ending_after(mm, addr);
	return i < mm->len ? &mm->v[i] : NULL;
}

const struct vma *vma_find(const struct mm *mm, uint64_t addr)
{
	const struct vma *v = vma_next(mm, addr);
	return v && v->start <= addr ? v : NULL;
}

static int reserve(struct mm *mm, size_t extra)
{
	return ARRAY_RESERVE(mm->v, mm->cap, mm->len + extra, 64);
}

/* The part of v at or above `at`, with the file offset moved along. */
static struct vma tail_from(const struct vma *v, uint64_t at)
{
	struct vma t = *v;
	if (t.kind == VMA_FILE)
		t.offset += at - v->start;
	t.start = at;
	return t;
}

int vma_remove(struct mm *mm, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	/* At most one mapping gets split in two. */
	if (reserve(mm, 1))
		return -ENOMEM;
	size_t i = first_ending_after(mm, start);
	while (i < mm->len && mm->v[i].start < end) {
		struct vma *v = &mm->v[i];
		if (v->start < start && v->end > end) {
			/* Hole in the middle: keep the head, insert the tail. */
			memmove(&mm->v[i + 2], &mm->v[i + 1], (mm->len - i - 1) * sizeof(*v));
			mm->v[i + 1] = tail_from(v, end);
			v->end = start;
			mm->len++;
			return 0;
		}
		if (v->start < start) {
			v->end = start;
			i++;
		} else if (v->end > end) {
			*v = tail_from(v, end);
			return 0;
		} else {
			memmove(v, v + 1, (mm->len - i - 1) * sizeof(*v));
			mm->len--;
		}
	}
	return 0;
}

int vma_insert(struct mm *mm, const struct vma *nv)
{
	if (vma_remove(mm, nv->start, nv->end) || reserve(mm, 1))
		return -ENOMEM;
	size_t i = first_ending_after(mm, nv->start);
	memmove(&mm->v[i + 1], &mm->v[i], (mm->len - i) * sizeof(*nv));
	mm->v[i] = *nv;
	mm->len++;
	return 0;
}

bool vma_covered(const struct mm *mm, uint64_t start, uint64_t end)
{
	uint64_t at = start;
	for (size_t i = first_ending_after(mm, start); at < end; i++) {
		if (i >= mm->len || mm->v[i].start > at)
			return false;
		at = mm->v[i].end;
	}
	return true;
}

int vma_protect(struct mm *mm, uint64_t start, uint64_t end, int prot)
{
	if (!vma_covered(mm, start, end))
		return -ENOMEM;
	/* Split at both edges, then rewrite the protection of every piece inside. */
	uint64_t at = start;
	while (at < end) {
		const struct vma *cur = vma_find(mm, at);
		struct vma piece = *cur;
		if (piece.start < at)
			piece = tail_from(cur, at);
		if (piece.end > end)
			piece.end = end;
		piece.prot = prot;
		if (vma_insert(mm, &piece))
			return -ENOMEM;
		at = piece.end;
	}
	return 0;
}

static bool range_free(const struct mm *mm, uint64_t start, uint64_t end)
{
	const struct vma *v = vma_next(mm, start);
	return !v || v->start >= end;
}

int vma_find_free(const struct mm *mm, uint64_t hint, uint64_t size, uint64_t align, uint64_t lo, uint64_t *out)
{
	if (size == 0 || size > mm->user_size)
		return -ENOMEM;
	if (hint && hint >= lo && hint % align == 0 && hint <= mm->user_size - size &&
	    range_free(mm, hint, hint + size)) {
		*out = hint;
		return 0;
	}
	/* Top-down: try just below the top, then just below each mapping under it. */
	uint64_t top = mm->mmap_top;
	size_t i = first_ending_after(mm, top);
	/* A mapping straddling the top: start below it. */
	if (i < mm->len && mm->v[i].start < top)
		top = mm->v[i].start;
	for (;;) {
		if (top < size + lo)
			return -ENOMEM;
		uint64_t cand = (top - size) & ~(align - 1);
		/* The mapping just below `top` (index i-1), if it reaches into the candidate. */
		if (i == 0 || mm->v[i - 1].end <= cand) {
			if (cand >= lo && range_free(mm, cand, cand + size)) {
				*out = cand;
				return 0;
			}
		}
		if (i == 0)
			return -ENOMEM;
		i--;
		top = mm->v[i].start;
	}
}

const char *vma_intern(struct mm *mm, const char *name)
{
	for (size_t i = 0; i < mm->nnames; i++)
		if (strcmp(mm->names[i], name) == 0)
			return mm->names[i];
	char **names = realloc(mm->names, (mm->nnames + 1) * sizeof(*names));
	if (!names)
		return NULL;
	mm->names = names;
	char *copy = strdup(name);
	if (!copy)
		return NULL;
	mm->names[mm->nnames++] = copy;
	return copy;
}

int vma_copy(struct mm *dst, const struct mm *src)
{
	*dst = *src;
	dst->v = malloc((src->cap ? src->cap : 1) * sizeof(*dst->v));
	dst->names = calloc(src->nnames ? src->nnames : 1, sizeof(*dst->names));
	dst->nnames = 0; /* counts the names copied, so that vma_fini frees just those */
	if (!dst->v || !dst->names)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->len * sizeof(*dst->v));
	for (size_t i = 0; i < src->nnames; i++, dst->nnames++)
		if (!(dst->names[i] = strdup(src->names[i])))
			return -ENOMEM;
	/* Point each mapping's name at the copy. */
	for (size_t k = 0; k < dst->len; k++)
		for (size_t i = 0; dst->v[k].name && i < src->nnames; i++)
			if (dst->v[k].name == src->names[i]) {
				dst->v[k].name = dst->names[i];
				break;
			}
	return 0;
}
