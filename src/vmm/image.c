/* image.c - a stopped VM as data, for snapshot files: its vCPU state, the extents of its
 * guest-physical memory that hold data, its memory slots and file overlays; and the way
 * back, into a fresh VM of the same size.  The file format is src/requestvm/snapfile.h's. */
#define VMM_INTERNAL
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/abi.h"
#include "vmm/vmm_impl.h"

uint64_t vm_phys_size(const struct vm *vm)
{
	return vm->phys_size;
}

int vm_image_cpu(struct vm *vm, struct vm_cpu_image *out, void *xsave)
{
	memset(out, 0, sizeof(*out));
	int err = vm_get_sregs(vm, &out->sregs);
	if (err)
		return err;
	if (ioctl(vm->vcpu_fd, KVM_GET_XCRS, &out->xcrs) < 0)
		return -errno;
	err = vm_get_xsave(vm, xsave);
	if (err)
		return err;
	out->regs = vm->run->s.regs.regs;
	out->fs_base = vm->fs_base;
	out->where = (uint64_t)vm->where;
	out->user_rip = vm->user_rip;
	out->user_rflags = vm->user_rflags;
	out->user_rsp = vm->user_rsp;
	out->pt_pool_start = vm->pt.pool_start;
	out->pt_pool_end = vm->pt.pool_end;
	out->pt_pool_next = vm->pt.pool_next;
	out->pt_root = vm->pt.root;
	out->user_size = vm->user_size;
	out->phys_size = vm->phys_size;
	return 0;
}

/* Only a VM stopped in the trampoline at a syscall can be saved and loaded: that is where
 * server mode freezes, and the state that needs no KVM internals (pending events). */
int vm_image_load_cpu(struct vm *vm, const struct vm_cpu_image *c, const void *xsave)
{
	if (c->user_size != vm->user_size || c->phys_size != vm->phys_size || c->where != VM_AT_SYSCALL ||
	    c->pt_pool_start != vm->pt.pool_start || c->pt_pool_end != vm->pt.pool_end || c->pt_root != vm->pt.root ||
	    c->pt_pool_next < c->pt_pool_start + PAGE_SIZE || c->pt_pool_next > c->pt_pool_end ||
	    c->pt_pool_next % PAGE_SIZE)
		return -EINVAL;
	struct kvm_sregs sregs = c->sregs;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	struct kvm_xcrs xcrs = c->xcrs;
	if (xcrs.nr_xcrs > KVM_MAX_XCRS)
		return -EINVAL;
	if (ioctl(vm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
		return -errno;
	int err = vm_set_xsave(vm, xsave);
	if (!err)
		err = vm_set_fs_base(vm, c->fs_base);
	if (err)
		return err;
	vm->run->s.regs.regs = c->regs;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	vm->where = VM_AT_SYSCALL;
	vm->user_rip = c->user_rip;
	vm->user_rflags = c->user_rflags;
	vm->user_rsp = c->user_rsp;
	vm->pt.pool_next = c->pt_pool_next;
	vm->sregs_unknown = false;
	vm->tlb_flush = true;
	return 0;
}

int vm_image_extents(struct vm *vm, int (*fn)(void *ctx, uint64_t gpa, uint64_t size), void *ctx)
{
	for (uint64_t at = 0; at < vm->phys_size;) {
		off_t d = lseek(vm->mem_fd, (off_t)at, SEEK_DATA);
		if (d < 0)
			return errno == ENXIO ? 0 : -errno;
		off_t h = lseek(vm->mem_fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		uint64_t end = (uint64_t)h < vm->phys_size ? (uint64_t)h : vm->phys_size;
		if ((uint64_t)d >= end)
			break;
		int err = fn(ctx, (uint64_t)d, end - (uint64_t)d);
		if (err)
			return err;
		at = end;
	}
	return 0;
}

int vm_image_read(struct vm *vm, uint64_t gpa, void *buf, size_t size)
{
	if (gpa > vm->phys_size || size > vm->phys_size - gpa)
		return -EINVAL;
	for (size_t done = 0; done < size;) {
		ssize_t n = pread(vm->mem_fd, (uint8_t *)buf + done, size - done, (off_t)(gpa + done));
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int vm_image_clear(struct vm *vm)
{
	return fallocate(vm->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)vm->phys_size) < 0 ? -errno
	                                                                                                      : 0;
}

void *vm_image_mem(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (gpa > vm->phys_size || size > vm->phys_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

unsigned vm_image_nslots(const struct vm *vm)
{
	return vm->nuser_slots;
}

bool vm_image_slot_on(const struct vm *vm, unsigned slot)
{
	return slot < vm->nuser_slots && vm->slot_on[slot];
}

int vm_image_add_slot(struct vm *vm, unsigned slot)
{
	return slot < vm->nuser_slots ? gmem_add_slot(vm, slot) : -EINVAL;
}

size_t vm_image_nfmaps(const struct vm *vm)
{
	return vm->nfmaps;
}

void vm_image_fmap(const struct vm *vm, size_t i, struct vm_file_map_info *out)
{
	const struct file_map *m = &vm->fmaps[i];
	*out = (struct vm_file_map_info){
	        .gpa = m->gpa, .size = m->size, .off = m->off, .fd = m->fd, .shared = m->shared};
}

/* The CPU the guest sees is what KVM supports here (cpu.c); a program that started on one
 * may rely on what it found (AVX-512, the XSAVE layout), so a snapshot names it. */
uint64_t vm_cpu_fingerprint(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	static const unsigned leaves[][2] = {{0, 0}, {1, 0}, {7, 0}, {7, 1}, {0xd, 0}, {0xd, 1}, {0x80000001, 0}};
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		unsigned r[4] = {0, 0, 0, 0};
		__cpuid_count(leaves[i][0], leaves[i][1], r[0], r[1], r[2], r[3]);
		if (leaves[i][0] == 1)
			r[1] &= 0x0000ffffu; /* EBX: APIC id and logical count differ per CPU */
		if (leaves[i][0] == 1)
			r[2] &= ~(1u << 27); /* OSXSAVE follows CR4 */
		if (leaves[i][0] == 0xd && leaves[i][1] == 0)
			r[1] = 0; /* EBX: the size for the features enabled now */
		for (int k = 0; k < 4; k++) {
			h ^= r[k];
			h *= 0x100000001b3ULL;
		}
	}
	return h;
}
