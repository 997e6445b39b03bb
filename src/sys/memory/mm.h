/* mm.h - the guest's address-space bookkeeping: a sorted list of mappings (like Linux's
 * VMAs), brk and the placement of new mappings.  vma.c is pure (unit tested on its own);
 * mm.c holds the memory syscalls that apply it to the VM. */
#ifndef SYS_MM_H
#define SYS_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vma_kind { VMA_ANON, VMA_FILE, VMA_HEAP, VMA_STACK };

struct vma {
	uint64_t start, end; /* [start, end), page aligned */
	int prot; /* PROT_* */
	int flags; /* MAP_PRIVATE / MAP_SHARED / MAP_GROWSDOWN ... as given */
	enum vma_kind kind;
	uint64_t offset; /* file offset of start (VMA_FILE) */
	uint64_t dev, ino; /* for /proc/self/maps */
	const char *name; /* file path, interned (never freed while the mm lives), or NULL */
	bool may_write; /* a shared file mapping whose file is open for writing (mmap) */
};

struct mm {
	struct vma *v; /* sorted by start, non-overlapping */
	size_t len, cap;
	uint64_t user_size;
	uint64_t mmap_top; /* new mappings are placed top-down below this */
	uint64_t brk_start, brk;
	uint64_t stack_start, stack_end;
	char **names; /* interned names */
	size_t nnames;
};

void vma_init(struct mm *mm, uint64_t user_size);
void vma_fini(struct mm *mm);
/* dst becomes a copy of src with names of its own (a fork, a request VM).  0 or -ENOMEM;
 * on failure dst is still safe to vma_fini. */
int vma_copy(struct mm *dst, const struct mm *src);
/* The mapping containing addr, or NULL. */
const struct vma *vma_find(const struct mm *mm, uint64_t addr);
/* The first mapping ending above addr (containing it or after it), or NULL. */
const struct vma *vma_next(const struct mm *mm, uint64_t addr);
/* Records `v`, replacing whatever overlapped it.  0 or -ENOMEM. */
int vma_insert(struct mm *mm, const struct vma *v);
/* Forgets [start, end), splitting mappings at the edges.  0 or -ENOMEM. */
int vma_remove(struct mm *mm, uint64_t start, uint64_t end);
/* Changes the protection of [start, end); -ENOMEM if part of it is unmapped (as mprotect). */
int vma_protect(struct mm *mm, uint64_t start, uint64_t end, int prot);
/* True if every page of [start, end) is mapped. */
bool vma_covered(const struct mm *mm, uint64_t start, uint64_t end);
/* A free range of `size` bytes aligned to `align`: [hint, hint+size) if free and inside
 * [lo, mm->user_size), else the highest free range below mm->mmap_top.  0 or -ENOMEM. */
int vma_find_free(const struct mm *mm, uint64_t hint, uint64_t size, uint64_t align, uint64_t lo, uint64_t *out);
/* Interns a name (file path) for the life of the mm; NULL on allocation failure. */
const char *vma_intern(struct mm *mm, const char *name);

#endif
