/* cow.c - fork a frozen VM into copy-on-write VMs, and reset a fork to its template.
 *
 * The template's guest memory is a memfd it mapped MAP_SHARED.  A fork maps the same memfd
 * MAP_PRIVATE: its first write to a page is an ordinary copy-on-write fault that KVM and
 * the host kernel resolve without leaving the kernel, so a fork costs the pages it
 * writes.  Reset drops exactly those pages with MADV_DONTNEED (the mapping reads the
 * template again): the pages the guest wrote come from KVM's dirty log
 * (KVM_MEM_LOG_DIRTY_PAGES), the ones the host wrote on its behalf (syscall results,
 * page tables) from a bitmap kept by cow_mark.  Ranges the fork unmapped were replaced by
 * fresh anonymous memory (so they read as zero, not as the template); reset maps the
 * memfd back over them.  See docs/design.md for the alternatives and why not them.
 */
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
#include "vmm/vmm_impl.h"

struct vm_snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	void *xsave;
	uint64_t fs_base;
	int where;
	uint64_t user_rip, user_rflags, user_rsp;
	struct pt pt;
};

void cow_pt_written(struct pt *pt, uint64_t gpa)
{
	struct vm *vm = (struct vm *)((char *)pt - offsetof(struct vm, pt));
	cow_mark(vm, gpa, 8);
}

int vm_freeze(struct vm *vm)
{
	struct vm_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->xsave = calloc(1, vm->xsave_size);
	int err = s->xsave ? 0 : -ENOMEM;
	if (!err && (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s->sregs) < 0 ||
		     ioctl(vm->vcpu_fd, KVM_GET_XCRS, &s->xcrs) < 0))
		err = -errno;
	if (!err)
		err = vm_get_xsave(vm, s->xsave);
	if (err) {
		free(s->xsave);
		free(s);
		return err;
	}
	s->regs = vm->run->s.regs.regs;
	s->fs_base = vm->fs_base;
	s->where = vm->where;
	s->user_rip = vm->user_rip;
	s->user_rflags = vm->user_rflags;
	s->user_rsp = vm->user_rsp;
	s->pt = vm->pt;
	free(vm->snap);
	vm->snap = s;
	return 0;
}

/* Put the template's vCPU state into vm's vCPU. */
static int load_snapshot(struct vm *vm, const struct vm_snapshot *s)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s->sregs) < 0 || ioctl(vm->vcpu_fd, KVM_SET_XCRS, &s->xcrs) < 0)
		return -errno;
	int err = vm_set_xsave(vm, s->xsave);
	if (!err)
		err = vm_set_fs_base(vm, s->fs_base);
	if (err)
		return err;
	vm->run->s.regs.regs = s->regs;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	vm->where = s->where;
	vm->user_rip = s->user_rip;
	vm->user_rflags = s->user_rflags;
	vm->user_rsp = s->user_rsp;
	vm->pt = s->pt;
	vm->pt.mem = vm->mem;
	vm->pt.on_write = cow_pt_written;
	return 0;
}

static int map_private(struct vm *vm)
{
	vm->mem = mmap(NULL, vm->phys_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED)
		return -errno;
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0,
		.memory_size = vm->phys_size,
		.userspace_addr = (uint64_t)vm->mem,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		int err = -errno;
		munmap(vm->mem, vm->phys_size);
		return err;
	}
	return 0;
}

int vm_fork(struct vm *tmpl, struct vm **out)
{
	if (!tmpl->snap)
		return -EINVAL;
	int err;
	struct vm *vm = kvm_alloc_vm(tmpl->user_size, &err);
	if (!vm)
		return err;
	vm->tmpl = tmpl;
	vm->phys_size = tmpl->phys_size;
	vm->bitmap_words = (vm->phys_size / PAGE_SIZE + 63) / 64;
	vm->host_dirty = calloc(vm->bitmap_words, sizeof(uint64_t));
	vm->dirty_log = calloc(vm->bitmap_words, sizeof(uint64_t));
	vm->mem_fd = fcntl(tmpl->mem_fd, F_DUPFD_CLOEXEC, 0);
	if (!vm->host_dirty || !vm->dirty_log || vm->mem_fd < 0) {
		err = vm->mem_fd < 0 ? -errno : -ENOMEM;
		goto err_vm;
	}
	err = map_private(vm);
	if (err)
		goto err_vm;
	err = kvm_open_vcpu(vm);
	if (err)
		goto err_mem;
	err = load_snapshot(vm, tmpl->snap);
	if (err) {
		munmap(vm->run, vm->run_size);
		close(vm->vcpu_fd);
		goto err_mem;
	}
	*out = vm;
	return 0;
err_mem:
	munmap(vm->mem, vm->phys_size);
err_vm:
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	close(vm->vm_fd);
	cow_fini(vm);
	free(vm);
	return err;
}

int cow_discard(struct vm *vm, uint64_t gpa, uint64_t size)
{
	void *at = mmap(vm->mem + gpa, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (at == MAP_FAILED)
		return -errno;
	if (vm->nremaps == vm->cap_remaps) {
		size_t cap = vm->cap_remaps ? vm->cap_remaps * 2 : 16;
		struct cow_remap *r = realloc(vm->remaps, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		vm->remaps = r;
		vm->cap_remaps = cap;
	}
	vm->remaps[vm->nremaps++] = (struct cow_remap){ gpa, size };
	return 0;
}

static void clear_bits(uint64_t *map, uint64_t first, uint64_t count)
{
	for (uint64_t pg = first; pg < first + count; pg++)
		map[pg / 64] &= ~(1ULL << (pg % 64));
}

int vm_reset(struct vm *vm, struct vm_reset_stats *st)
{
	uint64_t t0 = vm_now_ns();
	if (!vm->tmpl)
		return -EINVAL;
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = vm->dirty_log };
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	/* Unmapped-and-replaced ranges get the template back wholesale. */
	for (size_t i = 0; i < vm->nremaps; i++) {
		const struct cow_remap *r = &vm->remaps[i];
		void *at = mmap(vm->mem + r->gpa, r->size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, vm->mem_fd, (off_t)r->gpa);
		if (at == MAP_FAILED)
			return -errno;
		clear_bits(vm->dirty_log, r->gpa / PAGE_SIZE, r->size / PAGE_SIZE);
		clear_bits(vm->host_dirty, r->gpa / PAGE_SIZE, r->size / PAGE_SIZE);
	}
	vm->nremaps = 0;
	/* Every other page written since the fork or the last reset: drop the private copy. */
	uint64_t dirty = 0;
	for (size_t w = 0; w < vm->bitmap_words; w++) {
		uint64_t bits = vm->dirty_log[w] | vm->host_dirty[w];
		vm->host_dirty[w] = 0;
		while (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);
			/* Extend the run over consecutive set bits (within this word). */
			unsigned e = b;
			while (e < 64 && (bits >> e) & 1)
				e++;
			uint64_t gpa = ((uint64_t)w * 64 + b) * PAGE_SIZE;
			madvise(vm->mem + gpa, (uint64_t)(e - b) * PAGE_SIZE, MADV_DONTNEED);
			dirty += e - b;
			bits &= e == 64 ? 0 : ~((1ULL << e) - 1);
		}
	}
	int err = load_snapshot(vm, vm->tmpl->snap);
	if (err)
		return err;
	vm->tlb_flush = true;
	vm->stats.resets++;
	vm->stats.dirty_pages += dirty;
	if (st) {
		st->dirty_pages = dirty;
		st->ns = vm_now_ns() - t0;
	}
	return 0;
}

void cow_fini(struct vm *vm)
{
	if (vm->snap)
		free(vm->snap->xsave);
	free(vm->snap);
	free(vm->host_dirty);
	free(vm->dirty_log);
	free(vm->remaps);
}
