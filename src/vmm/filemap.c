/* filemap.c - file pages shown copy-on-write in guest memory.
 *
 * A read-only file mapping (a program's text, a runtime's 100 MB binary, its libraries) is
 * mapped MAP_PRIVATE from the file straight over the guest's memory at the host level:
 * the pages come from the host page cache and cost memory only if written, and forks map
 * the same file pages.  The guest can never write such a range (its page-table entries
 * are read-only); before one becomes writable, vm_materialize turns it into ordinary
 * guest memory with the same content.  vm->fmaps is the VM's current list; a fork starts
 * with (and resets to) its template's.
 *
 * A writable shared file mapping (vm_map_file_shared) is the file's pages themselves, mapped
 * MAP_SHARED in the template and in every fork alike: what the guest writes there is in the
 * file, for every VM and every other process at once, as host files always are here.  Reset
 * never copies such pages back (that would write the template's bytes over the file, racing
 * other VMs' writes); a shared map the request made itself is unmapped by the reset like any
 * other change of layout.  fork(2) (vm_copy) maps a shared record MAP_SHARED again, so parent
 * and child keep one set of pages; an anonymous MAP_SHARED mapping is one of these too, over
 * a memfd of its own (mm.c, vm_map_anon_shared).  That one is process memory to server mode:
 * a request VM maps its template's MAP_PRIVATE and reset restores it (fmap_restore; it is
 * not "shared" to fmap_has_shared/fmap_shared_at), so requests stay pristine.
 */
#define VMM_INTERNAL
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/abi.h"
#include "vmm/vmm_impl.h"
#include "util/array.h"

/* What guest memory shows where nothing is overlaid: the memfd (the template's own, or a
 * fork's private view of it). */
int fmap_map_memfd(struct vm *vm, uint64_t gpa, uint64_t size)
{
	int share = vm->tmpl ? MAP_PRIVATE : MAP_SHARED;
	void *at = mmap(vm->mem + gpa, size, PROT_READ | PROT_WRITE, share | MAP_FIXED | MAP_NORESERVE, vm->mem_fd,
	                (off_t)gpa);
	return at == MAP_FAILED ? -errno : 0;
}

static int map_file(struct vm *vm, uint64_t gpa, uint64_t size, int fd, uint64_t off, bool shared)
{
	void *at = mmap(vm->mem + gpa, size, PROT_READ | PROT_WRITE,
	                (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED | MAP_NORESERVE, fd, (off_t)off);
	return at == MAP_FAILED ? -errno : 0;
}

static int fmap_push(struct vm *vm, struct file_map m)
{
	if (ARRAY_RESERVE(vm->fmaps, vm->cap_fmaps, vm->nfmaps + 1, 16))
		return -ENOMEM;
	vm->fmaps[vm->nfmaps++] = m;
	vm->fmaps_changed = true;
	return 0;
}

/* Forget [gpa, gpa+size) in the list, splitting records at its edges.  A record's fd is
 * shared by its pieces (refcounted by dup). */
static int fmap_forget(struct vm *vm, uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;
	for (size_t i = 0; i < vm->nfmaps;) {
		struct file_map m = vm->fmaps[i];
		uint64_t mend = m.gpa + m.size;
		if (mend <= gpa || m.gpa >= end) {
			i++;
			continue;
		}
		vm->fmaps[i] = vm->fmaps[--vm->nfmaps];
		vm->fmaps_changed = true;
		if (m.gpa < gpa) {
			struct file_map head = {m.gpa, gpa - m.gpa, fcntl(m.fd, F_DUPFD_CLOEXEC, 0),
			                        m.off, m.shared,    m.anon};
			if (head.fd < 0 || fmap_push(vm, head))
				return -ENOMEM;
		}
		if (mend > end) {
			struct file_map tail = {
			        end,      mend - end, fcntl(m.fd, F_DUPFD_CLOEXEC, 0), m.off + (end - m.gpa),
			        m.shared, m.anon};
			if (tail.fd < 0 || fmap_push(vm, tail))
				return -ENOMEM;
		}
		close(m.fd);
	}
	return 0;
}

bool fmap_any(const struct vm *vm, uint64_t gpa, uint64_t size)
{
	for (size_t i = 0; i < vm->nfmaps; i++)
		if (vm->fmaps[i].gpa < gpa + size && gpa < vm->fmaps[i].gpa + vm->fmaps[i].size)
			return true;
	return false;
}

int fmap_clear(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (!fmap_any(vm, gpa, size))
		return 0;
	int err = fmap_forget(vm, gpa, size);
	if (!err && !vm->tmpl)
		err = fmap_map_memfd(vm, gpa, size); /* forks: cow_discard maps over it anyway */
	return err;
}

static int map_file_at(struct vm *vm, gva_t addr, uint64_t size, int host_fd, uint64_t off, bool shared, bool anon)
{
	if ((addr | size | off) & ~PAGE_MASK || addr >= vm->user_size || size > vm->user_size - addr)
		return -EINVAL;
	if (size == 0)
		return 0;
	int err = fmap_forget(vm, addr, size);
	if (err)
		return err;
	if (vm->tmpl)
		err = cow_note_remap(vm, addr, size); /* reset puts the template's layout back */
	int fd = err ? -1 : fcntl(host_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return err ? err : -errno;
	err = map_file(vm, addr, size, fd, off, shared);
	if (!err)
		err = fmap_push(vm, (struct file_map){addr, size, fd, off, shared, anon});
	if (err) {
		close(fd);
		return err;
	}
	/* The template's memfd beneath holds nothing now: free it. */
	if (!vm->tmpl)
		fallocate(vm->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)addr, (off_t)size);
	return 0;
}

int vm_map_file(struct vm *vm, gva_t addr, uint64_t size, int host_fd, uint64_t off)
{
	return map_file_at(vm, addr, size, host_fd, off, false, false);
}

int vm_map_file_shared(struct vm *vm, gva_t addr, uint64_t size, int host_fd, uint64_t off)
{
	return map_file_at(vm, addr, size, host_fd, off, true, false);
}

int vm_map_anon_shared(struct vm *vm, gva_t addr, uint64_t size, int memfd)
{
	return map_file_at(vm, addr, size, memfd, 0, true, true);
}

int vm_materialize(struct vm *vm, gva_t addr, uint64_t size)
{
	uint64_t end = addr + size;
	for (size_t i = 0; i < vm->nfmaps; i++) {
		const struct file_map *m = &vm->fmaps[i];
		uint64_t lo = m->gpa > addr ? m->gpa : addr, hi = m->gpa + m->size < end ? m->gpa + m->size : end;
		if (lo >= hi || m->shared) /* a shared map is writable as it is */
			continue;
		uint8_t *copy = malloc(hi - lo);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, vm->mem + lo, hi - lo);
		int err = fmap_forget(vm, lo, hi - lo);
		if (!err && vm->tmpl)
			err = cow_note_remap(vm, lo, hi - lo);
		if (!err)
			err = fmap_map_memfd(vm, lo, hi - lo);
		if (!err) {
			memcpy(vm->mem + lo, copy, hi - lo);
			cow_mark(vm, lo, hi - lo);
		}
		free(copy);
		if (err)
			return err;
		i = (size_t)-1; /* the list changed: start over */
	}
	return 0;
}

/* Re-create the template's overlays inside [gpa, gpa+size) of a fork (reset), and make the
 * fork's list the template's again. */
int fmap_restore(struct vm *vm, uint64_t gpa, uint64_t size)
{
	const struct vm *t = vm->tmpl;
	for (size_t i = 0; i < t->nfmaps; i++) {
		const struct file_map *m = &t->fmaps[i];
		uint64_t lo = m->gpa > gpa ? m->gpa : gpa;
		uint64_t hi = m->gpa + m->size < gpa + size ? m->gpa + m->size : gpa + size;
		if (lo < hi) {
			/* The template's anonymous shared memory is process memory: a request VM
			 * sees it copy-on-write and its reset restores it, like the rest. */
			int err = map_file(vm, lo, hi - lo, m->fd, m->off + (lo - m->gpa), m->shared && !m->anon);
			if (err)
				return err;
		}
	}
	return 0;
}

int fmap_copy_list(struct vm *vm, const struct vm *from)
{
	fmap_fini(vm);
	for (size_t i = 0; i < from->nfmaps; i++) {
		struct file_map m = from->fmaps[i];
		m.fd = fcntl(m.fd, F_DUPFD_CLOEXEC, 0);
		if (m.fd < 0 || fmap_push(vm, m))
			return -ENOMEM;
	}
	vm->fmaps_changed = false;
	return 0;
}

bool fmap_has_shared(const struct vm *vm)
{
	for (size_t i = 0; i < vm->nfmaps; i++)
		if (vm->fmaps[i].shared && !vm->fmaps[i].anon)
			return true;
	return false;
}

bool fmap_shared_at(const struct vm *vm, uint64_t gpa)
{
	for (size_t i = 0; i < vm->nfmaps; i++)
		if (vm->fmaps[i].shared && !vm->fmaps[i].anon && vm->fmaps[i].gpa <= gpa &&
		    gpa < vm->fmaps[i].gpa + vm->fmaps[i].size)
			return true;
	return false;
}

bool vm_shared_at(const struct vm *vm, gva_t addr)
{
	for (size_t i = 0; i < vm->nfmaps; i++)
		if (vm->fmaps[i].shared && vm->fmaps[i].gpa <= addr && addr < vm->fmaps[i].gpa + vm->fmaps[i].size)
			return true;
	return false;
}

void fmap_fini(struct vm *vm)
{
	for (size_t i = 0; i < vm->nfmaps; i++)
		close(vm->fmaps[i].fd);
	vm->nfmaps = 0;
}
