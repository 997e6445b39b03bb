/* vmcopy.c - a full copy of a running VM, for fork(2) of a guest process.
 *
 * Unlike vm_fork (cow.c), the source keeps running after the copy, so the two cannot share
 * one memfd copy-on-write: the source maps its memfd MAP_SHARED, and its later writes
 * would show through a MAP_PRIVATE view in every page the copy had not yet written.  So
 * the copy gets its own memfd holding the source's data: only the extents that hold data
 * (SEEK_DATA/SEEK_HOLE; guest memory is sparse) are copied, in the kernel
 * (copy_file_range).  Page tables, descriptor tables and the trampoline live in guest-
 * physical memory and come along; file overlays (filemap.c) are mapped again from their
 * files, shared ones (MAP_SHARED memory, anonymous ones included) MAP_SHARED, so that
 * parent and child write the same pages; the vCPU's system state is the source's.  A
 * request VM (a MAP_PRIVATE view of its template's memfd) is copied as the template's data
 * plus the pages it changed, the set its reset would restore; the template's anonymous
 * shared memory, which it sees copy-on-write, becomes the child's own.  See
 * docs/design.md. */
#define VMM_INTERNAL
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/abi.h"
#include "vmm/layout.h"
#include "vmm/ring.h"
#include "vmm/vmm_impl.h"
#include "util/array.h"

/* Copy every data extent of src's memfd into dst's (same offsets). */
static int copy_extents(int from, int to, uint64_t size)
{
	off_t pos = 0;
	while ((uint64_t)pos < size) {
		off_t data = lseek(from, pos, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno; /* ENXIO: no data past pos */
		off_t hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		off_t in = data, out = data;
		while (in < hole) {
			ssize_t n = copy_file_range(from, &in, to, &out, (size_t)(hole - in), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* No copy_file_range between these files: read and write. */
				char buf[1 << 16];
				ssize_t r = pread(from, buf,
				                  sizeof(buf) < (size_t)(hole - in) ? sizeof(buf) : (size_t)(hole - in),
				                  in);
				if (r <= 0 || pwrite(to, buf, (size_t)r, out) != r)
					return r < 0 ? -errno : -EIO;
				n = r;
				in += n;
				out += n;
			}
		}
		pos = hole;
	}
	return 0;
}

static int put_page(const struct vm *src, int to, uint64_t pg)
{
	off_t off = (off_t)(pg * PAGE_SIZE);
	return pwrite(to, src->mem + off, PAGE_SIZE, off) == PAGE_SIZE ? 0 : -EIO;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* A request VM (a fork of a template) being copied: `to` already holds the template's
 * data; write into it every page in which the fork's view differs.  Those are what its
 * next reset would restore (cow.c): ranges whose layout it changed (copied wholesale, zero
 * pages left as holes) and the pages written, from the dirty list and from KVM's logs as
 * they stand (read without protecting anything: with manual protection reading changes
 * nothing; without, the pages read join the dirty list, as vm_dirty_count does). */
static int copy_fork_view(struct vm *src, int to)
{
	for (size_t i = 0; i < src->nremaps; i++) {
		const struct cow_remap *r = &src->remaps[i];
		if (fallocate(to, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->gpa, (off_t)r->size) < 0)
			return -errno;
		for (uint64_t off = 0; off < r->size; off += PAGE_SIZE)
			if (!page_is_zero(src->mem + r->gpa + off) && put_page(src, to, (r->gpa + off) / PAGE_SIZE))
				return -EIO;
	}
	for (unsigned s = 0; s <= src->nuser_slots; s++) {
		if (!src->slot_on[s])
			continue;
		struct kvm_dirty_log log = {.slot = s, .dirty_bitmap = src->log_bits};
		if (ioctl(src->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -errno;
		uint64_t first = gmem_slot_gpa(src, s) / PAGE_SIZE;
		uint64_t npages = gmem_slot_end(src, s) / PAGE_SIZE - first;
		for (size_t w = 0; w < (npages + 63) / 64; w++) {
			for (uint64_t b = src->log_bits[w]; b; b &= b - 1) {
				uint64_t pg = first + w * 64 + (unsigned)__builtin_ctzll(b);
				if (bit_test(src->dirty_bits, pg))
					continue; /* in the list: copied below */
				if (!src->manual_protect) {
					if (cow_dirty_page(src, pg))
						return -ENOMEM;
					src->ndirty_guest++;
					continue;
				}
				if (put_page(src, to, pg))
					return -EIO;
			}
		}
	}
	for (size_t i = 0; i < src->ndirty; i++)
		if (put_page(src, to, src->dirty_list[i]))
			return -EIO;
	return 0;
}

/* In a request VM, m is (a piece of) its template's anonymous shared memory, which the
 * request VM sees copy-on-write (fmap_restore): the same memfd as a template record. */
static bool private_in_fork(const struct vm *src, const struct file_map *m)
{
	struct stat a, b;
	if (!src->tmpl || !m->anon || fstat(m->fd, &a) < 0)
		return false;
	for (size_t i = 0; i < src->tmpl->nfmaps; i++)
		if (src->tmpl->fmaps[i].anon && fstat(src->tmpl->fmaps[i].fd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return true;
	return false;
}

static int copy_fmaps(struct vm *vm, const struct vm *src)
{
	for (size_t i = 0; i < src->nfmaps; i++) {
		struct file_map m = src->fmaps[i];
		if (private_in_fork(src, &m)) {
			/* The request's view, as the child's own memory: sharing it would write
			 * the template's pages, which every request VM reads. */
			memcpy(vm->mem + m.gpa, src->mem + m.gpa, m.size);
			continue;
		}
		/* A shared overlay stays the file's own pages (MAP_SHARED memory is shared with
		 * the child); a private one shows the file copy-on-write, as in the source. */
		void *at = mmap(vm->mem + m.gpa, m.size, PROT_READ | PROT_WRITE,
		                (m.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED | MAP_NORESERVE, m.fd, (off_t)m.off);
		if (at == MAP_FAILED)
			return -errno;
		m.fd = fcntl(m.fd, F_DUPFD_CLOEXEC, 0);
		if (m.fd < 0)
			return -errno;
		if (ARRAY_RESERVE(vm->fmaps, vm->cap_fmaps, vm->nfmaps + 1, 16)) {
			close(m.fd);
			return -ENOMEM;
		}
		vm->fmaps[vm->nfmaps++] = m;
	}
	return 0;
}

/* The vCPU: src's system registers, FPU/vector state and user state. */
static int copy_vcpu(struct vm *vm, struct vm *src)
{
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	int err = vm_get_sregs(src, &sregs);
	if (err)
		return err;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(src->vcpu_fd, KVM_GET_XCRS, &xcrs) == 0 && ioctl(vm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
		return -errno;
	void *xs = calloc(1, src->xsave_size > vm->xsave_size ? src->xsave_size : vm->xsave_size);
	if (!xs)
		return -ENOMEM;
	err = vm_get_xsave(src, xs);
	if (!err)
		err = vm_set_xsave(vm, xs);
	free(xs);
	if (!err)
		err = vm_set_fs_base(vm, src->fs_base);
	if (err)
		return err;
	vm->where = src->where;
	vm->user_rip = src->user_rip;
	vm->user_rflags = src->user_rflags;
	vm->user_rsp = src->user_rsp;
	vm->run->s.regs.regs = src->run->s.regs.regs;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	vm->tlb_flush = src->tlb_flush;
	return 0;
}

int vm_copy(struct vm *src, struct vm **out)
{
	if (src->snap)
		return -ENOSYS; /* a template never runs again, so it never forks */
	int err;
	struct vm *vm = kvm_alloc_vm(src->user_size, &err);
	if (!vm)
		return err;
	vm->phys_size = src->phys_size;
	vm->mem = MAP_FAILED;
	vm->mem_fd = memfd_create("kvmserver-guest", MFD_CLOEXEC);
	if (vm->mem_fd < 0 || ftruncate(vm->mem_fd, (off_t)vm->phys_size) < 0) {
		err = -errno;
		goto fail;
	}
	/* A request VM's memory is its template's memfd seen MAP_PRIVATE: that memfd's data,
	 * then what the request changed. */
	err = copy_extents(src->tmpl ? src->tmpl->mem_fd : src->mem_fd, vm->mem_fd, vm->phys_size);
	if (!err && src->tmpl)
		err = copy_fork_view(src, vm->mem_fd);
	if (err)
		goto fail;
	vm->mem = mmap(NULL, vm->phys_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	err = gmem_slots_init(vm);
	for (unsigned s = 0; !err && s <= vm->nuser_slots; s++)
		if (src->slot_on[s])
			err = gmem_add_slot(vm, s);
	if (!err)
		err = copy_fmaps(vm, src);
	if (err)
		goto fail;
	vm->pt = src->pt;
	vm->pt.mem = vm->mem;
	vm->pt.on_write = NULL;
	err = kvm_open_vcpu(vm);
	if (!err)
		err = copy_vcpu(vm, src);
	if (!err)
		err = vm_ring_inherit(vm, src, false);
	if (err)
		goto fail;
	*out = vm;
	return 0;
fail:
	if (vm->vcpu_fd >= 0) {
		munmap(vm->run, vm->run_size);
		kstats_fini(vm);
		close(vm->vcpu_fd);
	}
	fmap_fini(vm);
	free(vm->fmaps);
	if (vm->mem != MAP_FAILED)
		munmap(vm->mem, vm->phys_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	free(vm->slot_on);
	close(vm->vm_fd);
	free(vm);
	return err;
}
