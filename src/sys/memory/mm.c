/* mm.c - memory syscalls: brk, mmap, munmap, mprotect, mremap, madvise.
 *
 * The bookkeeping is vma.c's; this file applies it to the VM: page-table rights through
 * vm_map_range, content through vm_discard_range (fresh memory reads as zero).  File
 * mappings show the host page cache copy-on-write, or are copied in (map_file_pages); a
 * shared mapping of a file open for writing is the file's own pages, and an anonymous
 * shared mapping is the pages of a memfd of its own (map_anon_shared), so that fork(2)
 * keeps both shared. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/memory/limits.h"
#include "sys/memory/mm_apply.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"
#include "vmm/layout.h"

#define MM_PAGE 4096ULL
#define PAGE_UP(x) (((x) + MM_PAGE - 1) & ~(MM_PAGE - 1))
#define PROT_ALL (PROT_READ | PROT_WRITE | PROT_EXEC)

static bool aligned(uint64_t x)
{
	return (x & (MM_PAGE - 1)) == 0;
}

/* [addr, addr+size) is inside the range a guest may map. */
static bool user_range(struct proc *p, uint64_t addr, uint64_t size)
{
	return addr >= USER_MIN_ADDR && addr < p->mm.user_size && size <= p->mm.user_size - addr;
}

int mm_unmap(struct proc *p, uint64_t addr, uint64_t size)
{
	int err = vm_unmap_range(p->vm, addr, size);
	if (!err)
		err = vma_remove(&p->mm, addr, addr + size);
	return err;
}

int mm_map_fresh(struct proc *p, const struct vma *v)
{
	uint64_t size = v->end - v->start;
	int err = vm_discard_range(p->vm, v->start, size);
	if (!err)
		err = vma_insert(&p->mm, v);
	if (!err)
		err = vm_map_range(p->vm, v->start, size, v->prot);
	return err;
}

/* Copy the file's bytes [off, off+size) into guest memory at addr; past EOF stays zero. */
int mm_fill_from_file(struct proc *p, int host_fd, uint64_t addr, uint64_t size, uint64_t off)
{
	uint8_t *dst = vm_user_ptr_unchecked(p->vm, addr, size);
	if (!dst)
		return -EINVAL;
	uint64_t done = 0;
	while (done < size) {
		ssize_t n = pread(host_fd, dst + done, size - done, (off_t)(off + done));
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	return 0;
}

/* The file's bytes at addr: shown copy-on-write from the host page cache when the guest
 * cannot write them (text, read-only data: most of a runtime's binary), copied otherwise;
 * a shared mapping of a file open for writing is the file's own pages (vm_map_file_shared),
 * so writes reach the file and other processes' writes show.  Pages past the end of the
 * file stay zero (Linux would SIGBUS there). */
static int map_file_pages(struct proc *p, int host_fd, uint64_t addr, uint64_t len, uint64_t off, int prot, bool shared)
{
	struct stat st;
	if ((shared || !(prot & PROT_WRITE)) && fstat(host_fd, &st) == 0 && (uint64_t)st.st_size > off) {
		uint64_t in_file = (uint64_t)st.st_size - off < len ? (uint64_t)st.st_size - off : len;
		if (shared)
			return vm_map_file_shared(p->vm, addr, PAGE_UP(in_file), host_fd, off);
		if (vm_map_file(p->vm, addr, PAGE_UP(in_file), host_fd, off) == 0)
			return 0;
	}
	return shared ? 0 : mm_fill_from_file(p, host_fd, addr, len, off);
}

/* MAP_SHARED | MAP_ANONYMOUS: zero pages that fork(2) children share with the parent (and
 * theirs with them).  Backed by a hidden host memfd the size of the mapping and shown as a
 * shared file overlay, so vm_copy maps the same pages into the child; the overlay holds the
 * memfd open, and the pages go when the last VM unmaps them.  mremap moves or grows such a
 * mapping as private memory (see docs/design.md). */
static int map_anon_shared(struct proc *p, uint64_t addr, uint64_t size)
{
	int fd = memfd_create("kvmserver-shared-anon", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = ftruncate(fd, (off_t)size) < 0 ? -errno : vm_map_anon_shared(p->vm, addr, size, fd);
	close(fd);
	return err;
}

long sys_brk(struct proc *p, const struct sys_args *a)
{
	struct mm *mm = &p->mm;
	uint64_t want = a->a[0];
	/* Beyond the user range (where PAGE_UP would also wrap to 0 and unmap everything below
	 * the old break) or below the heap: refused, the old break stays. */
	if (want < mm->brk_start || want > mm->user_size)
		return (long)mm->brk;
	uint64_t old_end = PAGE_UP(mm->brk), new_end = PAGE_UP(want);
	if (new_end > old_end) {
		const struct vma *next = vma_next(mm, old_end);
		if (new_end > mm->user_size || (next && next->start < new_end) ||
		    !limits_space_ok(p, old_end, new_end - old_end, 0))
			return (long)mm->brk; /* as Linux: the old break means failure */
		struct vma heap = {.start = mm->brk_start,
		                   .end = new_end,
		                   .prot = PROT_READ | PROT_WRITE,
		                   .flags = MAP_PRIVATE | MAP_ANONYMOUS,
		                   .kind = VMA_HEAP};
		int err = vm_discard_range(p->vm, old_end, new_end - old_end);
		if (!err && heap.end > heap.start)
			err = vma_insert(mm, &heap);
		if (!err)
			err = vm_map_range(p->vm, old_end, new_end - old_end, heap.prot);
		if (err)
			return (long)mm->brk;
	} else if (new_end < old_end) {
		if (mm_unmap(p, new_end, old_end - new_end))
			return (long)mm->brk;
	}
	mm->brk = want;
	return (long)mm->brk;
}

long sys_mmap(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0], len = a->a[1], off = a->a[5];
	int prot = (int)a->a[2], flags = (int)a->a[3], fd = (int)a->a[4];
	int type = flags & MAP_TYPE;
	if (len == 0 || !aligned(off) || (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE))
		return -EINVAL;
	if (prot & ~PROT_ALL)
		return -EINVAL;
	uint64_t size = PAGE_UP(len);
	if (size < len || size > p->mm.user_size)
		return -ENOMEM;

	struct vma v = {.prot = prot, .flags = flags, .kind = VMA_ANON, .offset = off};
	struct fd_entry *fe = NULL;
	if (!(flags & MAP_ANONYMOUS)) {
		fe = fdtab_get(&p->fdt, fd);
		if (!fe)
			return -EBADF;
		struct stat st;
		if (fstat(fe->host_fd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -ENODEV;
		/* A shared mapping may be written (now or after mprotect) only when the file is
		 * open for writing: otherwise EACCES, as Linux answers. */
		int acc = fcntl(fe->host_fd, F_GETFL) & O_ACCMODE;
		if (type != MAP_PRIVATE) {
			if ((prot & PROT_WRITE) && acc != O_RDWR)
				return -EACCES;
			v.may_write = acc == O_RDWR;
		}
		v.kind = VMA_FILE;
		v.dev = st.st_dev;
		v.ino = st.st_ino;
	}

	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (!aligned(addr))
			return -EINVAL;
		if (!user_range(p, addr, size))
			return -ENOMEM;
		if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED)) {
			const struct vma *n = vma_next(&p->mm, addr);
			if (n && n->start < addr + size)
				return -EEXIST;
		}
	} else {
		uint64_t hint = addr & ~(MM_PAGE - 1);
		if (vma_find_free(&p->mm, hint, size, MM_PAGE, USER_MIN_ADDR, &addr))
			return -ENOMEM;
	}
	if (!limits_space_ok(p, addr, size, 0))
		return -ENOMEM;
	v.start = addr;
	v.end = addr + size;
	int err = mm_map_fresh(p, &v);
	if (!err && fe)
		err = map_file_pages(p, fe->host_fd, addr, len, off, prot, type != MAP_PRIVATE && v.may_write);
	if (!err && !fe && type != MAP_PRIVATE)
		err = map_anon_shared(p, addr, size);
	if (!err && fe) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fe->host_fd);
		char target[4096];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			struct vma *iv = (struct vma *)vma_find(&p->mm, addr);
			if (iv)
				iv->name = vma_intern(&p->mm, target);
		}
	}
	if (err) {
		mm_unmap(p, addr, size);
		return err;
	}
	return (long)addr;
}

long sys_munmap(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0], len = a->a[1];
	if (!aligned(addr) || len == 0)
		return -EINVAL;
	uint64_t size = PAGE_UP(len);
	if (!user_range(p, addr, size))
		return -EINVAL;
	return mm_unmap(p, addr, size);
}

long sys_mprotect(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0], len = a->a[1];
	int prot = (int)a->a[2] & ~(PROT_GROWSDOWN | PROT_GROWSUP);
	if (!aligned(addr) || (prot & ~PROT_ALL))
		return -EINVAL;
	uint64_t size = PAGE_UP(len);
	if (size == 0)
		return 0;
	if (!user_range(p, addr, size))
		return -ENOMEM;
	/* A shared file mapping becomes writable only if its file was open for writing
	 * (VM_MAYWRITE); of an O_RDONLY file Linux refuses with EACCES. */
	for (const struct vma *v = vma_next(&p->mm, addr); (prot & PROT_WRITE) && v && v->start < addr + size;
	     v = vma_next(&p->mm, v->end))
		if (v->kind == VMA_FILE && (v->flags & MAP_TYPE) != MAP_PRIVATE && !v->may_write)
			return -EACCES;
	int err = vma_protect(&p->mm, addr, addr + size, prot);
	if (!err && (prot & PROT_WRITE))
		err = vm_materialize(p->vm, addr, size); /* file pages become the guest's own */
	if (!err)
		err = vm_map_range(p->vm, addr, size, prot);
	return err;
}

long sys_mremap(struct proc *p, const struct sys_args *a)
{
	uint64_t old = a->a[0], old_len = a->a[1], new_len = a->a[2], new_addr = a->a[4];
	int flags = (int)a->a[3];
	if (!aligned(old) || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (flags & MREMAP_DONTUNMAP)
		return -EINVAL; /* not supported here: honest rather than half-done */
	uint64_t old_size = PAGE_UP(old_len), new_size = PAGE_UP(new_len);
	if (new_size == 0 || old_size == 0)
		return -EINVAL;
	const struct vma *v = vma_find(&p->mm, old);
	if (!v || !vma_covered(&p->mm, old, old + old_size))
		return -EFAULT;
	struct vma moved = *v;

	if (!(flags & MREMAP_FIXED)) {
		if (new_size <= old_size) {
			if (new_size < old_size)
				mm_unmap(p, old + new_size, old_size - new_size);
			return (long)old;
		}
		/* Grow in place when the pages after it are free. */
		const struct vma *next = vma_next(&p->mm, old + old_size);
		if (user_range(p, old, new_size) && (!next || next->start >= old + new_size) &&
		    v->end == old + old_size) {
			struct vma grown = *v;
			grown.start = old + old_size;
			grown.end = old + new_size;
			if (grown.kind == VMA_FILE)
				grown.offset += old_size;
			if (!limits_space_ok(p, grown.start, new_size - old_size, 0))
				return -ENOMEM;
			int err = mm_map_fresh(p, &grown);
			return err ? err : (long)old;
		}
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		if (vma_find_free(&p->mm, 0, new_size, MM_PAGE, USER_MIN_ADDR, &new_addr))
			return -ENOMEM;
	} else {
		if (!aligned(new_addr) || !user_range(p, new_addr, new_size))
			return -EINVAL;
		if (new_addr < old + old_size && old < new_addr + new_size)
			return -EINVAL;
	}
	/* Move: fresh pages at the destination, copy the content, drop the source. */
	if (!limits_space_ok(p, new_addr, new_size, old_size))
		return -ENOMEM;
	moved.start = new_addr;
	moved.end = new_addr + new_size;
	if (moved.kind == VMA_FILE)
		moved.offset += old - v->start;
	int err = mm_map_fresh(p, &moved);
	if (err)
		return err;
	uint64_t copy = old_size < new_size ? old_size : new_size;
	void *to = vm_user_ptr_unchecked(p->vm, new_addr, copy), *from = vm_user_ptr_unchecked(p->vm, old, copy);
	if (!to || !from) { /* cannot happen: both ranges are mapped user memory */
		mm_unmap(p, new_addr, new_size);
		return -EFAULT;
	}
	memcpy(to, from, copy);
	mm_unmap(p, old, old_size);
	return (long)new_addr;
}

long sys_madvise(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0], len = a->a[1];
	int advice = (int)a->a[2];
	if (!aligned(addr))
		return -EINVAL;
	uint64_t size = PAGE_UP(len);
	switch (advice) {
	case MADV_DONTNEED:
		if (!user_range(p, addr, size) || !vma_covered(&p->mm, addr, addr + size))
			return -ENOMEM;
		/* Anonymous private memory reads as zero afterwards (madvise(2)); pages shown
		 * from a file keep showing it.  Files copied in (writable private mappings)
		 * become zero - Linux would re-read the file (noted in docs/design.md). */
		return vm_dontneed_range(p->vm, addr, size);
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_FREE:
	case MADV_DONTFORK:
	case MADV_DOFORK:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_WIPEONFORK:
	case MADV_KEEPONFORK:
	case MADV_COLD:
	case MADV_PAGEOUT:
		/* Hints only: memory stays as it is, which these advices allow. */
		return 0;
	default: return -EINVAL;
	}
}

/* One vCPU: every thread already sees every store in program order, so the barriers
 * membarrier promises hold trivially (membarrier(2)). */
long sys_membarrier(struct proc *p, const struct sys_args *a)
{
	enum {
		QUERY = 0,
		GLOBAL = 1,
		PRIVATE_EXPEDITED = 8,
		REGISTER_PRIVATE_EXPEDITED = 16,
		PRIVATE_EXPEDITED_SYNC_CORE = 32,
		REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 64
	};
	const int supported = GLOBAL | PRIVATE_EXPEDITED | REGISTER_PRIVATE_EXPEDITED | PRIVATE_EXPEDITED_SYNC_CORE |
	                      REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
	int cmd = (int)a->a[0];
	if (a->a[1] & ~1ULL)
		return -EINVAL;
	if (cmd == QUERY)
		return supported;
	return (cmd & supported) && !(cmd & (cmd - 1)) ? 0 : -EINVAL;
}

/* Residency: a page the guest has mapped counts as resident (its memory appears on first
 * touch without a fault the guest could see). */
long sys_mincore(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0], len = a->a[1];
	if (!aligned(addr))
		return -EINVAL;
	uint64_t pages = PAGE_UP(len) / MM_PAGE;
	if (!user_range(p, addr, pages * MM_PAGE) || !vma_covered(&p->mm, addr, addr + pages * MM_PAGE))
		return -ENOMEM;
	for (uint64_t i = 0; i < pages; i++) {
		unsigned char one = 1;
		int err = copy_to_guest(p, a->a[2] + i, &one, 1);
		if (err)
			return err;
	}
	return 0;
}

/* msync: the arguments checked as Linux does; MS_SYNC writes shared file pages back on the
 * host (private and anonymous memory has nothing to write). */
long sys_msync(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0], len = a->a[1];
	int flags = (int)a->a[2];
	if (!aligned(addr) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	uint64_t end = addr + PAGE_UP(len);
	if (end < addr)
		return -ENOMEM;
	if (end == addr)
		return 0;
	if (!user_range(p, addr, end - addr) || !vma_covered(&p->mm, addr, end))
		return -ENOMEM;
	/* Shared file pages are the host's mapping of the file: let the host write them back. */
	void *h = (flags & MS_SYNC) ? guest_buf(p, addr, end - addr, false) : NULL;
	return h && msync(h, end - addr, MS_SYNC) < 0 ? -errno : 0;
}
