/* vmcopy.c - a full copy of a running VM, for fork(2) of a guest process.
 *
 * Unlike vm_fork (cow.c), the source keeps running after the copy, so the two cannot share
 * one memfd copy-on-write: the source maps its memfd MAP_SHARED, and its later writes
 * would show through a MAP_PRIVATE view in every page the copy had not yet written.  So
 * the copy gets its own memfd holding the source's data: only the extents that hold data
 * (SEEK_DATA/SEEK_HOLE; guest memory is sparse) are copied, in the kernel
 * (copy_file_range).  Page tables, descriptor tables and the trampoline live in guest-
 * physical memory and come along; file overlays (filemap.c) are mapped again from their
 * files; the vCPU's system state is the source's.  See docs/design.md. */
#define VMM_INTERNAL
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

static int copy_fmaps(struct vm *vm, const struct vm *src)
{
	for (size_t i = 0; i < src->nfmaps; i++) {
		struct file_map m = src->fmaps[i];
		void *at = mmap(vm->mem + m.gpa, m.size, PROT_READ | PROT_WRITE,
		                MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, m.fd, (off_t)m.off);
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
	if (ioctl(src->vcpu_fd, KVM_GET_SREGS, &sregs) < 0 || ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(src->vcpu_fd, KVM_GET_XCRS, &xcrs) == 0 && ioctl(vm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
		return -errno;
	void *xs = calloc(1, src->xsave_size > vm->xsave_size ? src->xsave_size : vm->xsave_size);
	if (!xs)
		return -ENOMEM;
	int err = vm_get_xsave(src, xs);
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
	if (src->tmpl || src->snap)
		return -ENOSYS; /* request VMs and templates are not copied this way */
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
	err = copy_extents(src->mem_fd, vm->mem_fd, vm->phys_size);
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
