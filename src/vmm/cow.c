/* cow.c - fork a frozen VM into copy-on-write VMs, and reset a fork to its template.
 *
 * The template's guest memory is a memfd it mapped MAP_SHARED.  A fork maps the same memfd
 * MAP_PRIVATE: its first write to a page is an ordinary copy-on-write fault that KVM and
 * the host kernel resolve without leaving the kernel, so a fork costs the pages it
 * writes.  Reset drops exactly those pages with MADV_DONTNEED (the mapping reads the
 * template again): the pages the guest wrote come from KVM's dirty ring, the ones the
 * host wrote on its behalf (syscall results, page tables) from cow_mark; both feed one
 * list, so reset time follows the pages written, not the size of the program.  Ranges the fork unmapped were replaced by
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
#include "util/array.h"

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
	if (!err &&
	    (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s->sregs) < 0 || ioctl(vm->vcpu_fd, KVM_GET_XCRS, &s->xcrs) < 0))
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
/* Put the template's vCPU state into vm's vCPU.  A fresh vCPU (first) needs everything.
 * On reset, the segment registers, control registers and XCR0 are already the template's
 * whenever the vCPU stopped in the trampoline (a syscall or fault exit): no guest code can
 * change them, and the page-table root never moves.  Skipping KVM_SET_SREGS there matters:
 * it resets KVM's MMU context, the most expensive ioctl of a reset under shadow paging. */
static int load_snapshot(struct vm *vm, const struct vm_snapshot *s, bool first)
{
	if ((first || vm->sregs_unknown) && ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s->sregs) < 0)
		return -errno;
	if (first && ioctl(vm->vcpu_fd, KVM_SET_XCRS, &s->xcrs) < 0)
		return -errno;
	vm->sregs_unknown = false;
	int err = vm_set_xsave(vm, s->xsave);
	if (!err && (first || vm->fs_base != s->fs_base))
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

/* The fork's view of the template's memory, and its KVM slots (the template's set). */
static int map_private(struct vm *vm)
{
	vm->mem = mmap(NULL, vm->phys_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED)
		return -errno;
	int err = gmem_slots_init(vm);
	for (unsigned s = 0; !err && s <= vm->nuser_slots; s++)
		if (vm->tmpl->slot_on[s])
			err = gmem_add_slot(vm, s);
	/* The template's file pages, mapped the same way. */
	if (!err)
		err = fmap_restore(vm, 0, vm->user_size);
	if (!err)
		err = fmap_copy_list(vm, vm->tmpl);
	if (err)
		munmap(vm->mem, vm->phys_size);
	return err;
}

/* KVM's dirty ring: each page the guest writes is pushed as (slot, offset), so reset costs
 * what was written rather than a scan of the whole address space (KVM_GET_DIRTY_LOG). */
#define RING_ENTRIES 4096
static int enable_ring(struct vm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL};
	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap.cap) <= 0)
		cap.cap = KVM_CAP_DIRTY_LOG_RING;
	cap.args[0] = RING_ENTRIES * sizeof(struct kvm_dirty_gfn);
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	vm->ring_entries = RING_ENTRIES;
	return 0;
}

static int map_ring(struct vm *vm)
{
	vm->ring = mmap(NULL, vm->ring_entries * sizeof(struct kvm_dirty_gfn), PROT_READ | PROT_WRITE, MAP_SHARED,
	                vm->vcpu_fd, (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
	if (vm->ring == MAP_FAILED) {
		vm->ring = NULL;
		return -errno;
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
	vm->dirty_bits = calloc((vm->phys_size / PAGE_SIZE + 63) / 64, sizeof(uint64_t));
	vm->mem_fd = fcntl(tmpl->mem_fd, F_DUPFD_CLOEXEC, 0);
	if (!vm->dirty_bits || vm->mem_fd < 0) {
		err = vm->mem_fd < 0 ? -errno : -ENOMEM;
		goto err_vm;
	}
	err = enable_ring(vm);
	if (!err)
		err = map_private(vm);
	if (err)
		goto err_vm;
	err = kvm_open_vcpu(vm);
	if (err)
		goto err_mem;
	err = map_ring(vm);
	if (!err)
		err = load_snapshot(vm, tmpl->snap, true);
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
	free(vm->slot_on);
	free(vm);
	return err;
}

int cow_discard(struct vm *vm, uint64_t gpa, uint64_t size)
{
	void *at = mmap(vm->mem + gpa, size, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (at == MAP_FAILED)
		return -errno;
	return cow_note_remap(vm, gpa, size);
}

int cow_note_remap(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (ARRAY_RESERVE(vm->remaps, vm->cap_remaps, vm->nremaps + 1, 16))
		return -ENOMEM;
	vm->remaps[vm->nremaps++] = (struct cow_remap){gpa, size};
	return 0;
}

void cow_dirty_page(struct vm *vm, uint64_t pg)
{
	vm->dirty_bits[pg / 64] |= 1ULL << (pg % 64);
	/* Out of memory: the bit above still gets it reset (see vm_reset's fallback). */
	if (ARRAY_RESERVE(vm->dirty_list, vm->cap_dirty, vm->ndirty + 1, 1024) == 0)
		vm->dirty_list[vm->ndirty++] = pg;
}

int cow_harvest(struct vm *vm)
{
	if (!vm->ring)
		return 0;
	for (;;) {
		struct kvm_dirty_gfn *e = &vm->ring[vm->ring_next % vm->ring_entries];
		uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		unsigned slot = e->slot & 0xffff;
		uint64_t pg = gmem_slot_gpa(vm, slot) / PAGE_SIZE + e->offset;
		if (pg < vm->phys_size / PAGE_SIZE && !(vm->dirty_bits[pg / 64] & (1ULL << (pg % 64)))) {
			cow_dirty_page(vm, pg);
			vm->ndirty_guest++;
		}
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		vm->ring_next++;
	}
	return ioctl(vm->vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0 ? -errno : 0;
}

/* Put the template's content back into [gpa, gpa+size).  Short runs are copied from the
 * template: the fork keeps its private pages (the next request writes them without a
 * copy-on-write fault) and nothing is unmapped under KVM.  Long runs (a large allocation)
 * are dropped with MADV_DONTNEED so an idle fork does not keep their memory. */
#define RESTORE_COPY_MAX_PAGES 16
static void restore_run(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (size <= RESTORE_COPY_MAX_PAGES * PAGE_SIZE)
		memcpy(vm->mem + gpa, vm->tmpl->mem + gpa, size);
	else
		madvise(vm->mem + gpa, size, MADV_DONTNEED);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int vm_reset(struct vm *vm, struct vm_reset_stats *st)
{
	uint64_t t0 = vm_now_ns();
	if (!vm->tmpl)
		return -EINVAL;
	int err = cow_harvest(vm);
	if (err)
		return err;
	/* Ranges whose host layout changed (unmapped, files mapped or made private) get the
	 * template's back wholesale: its memory, and its file pages. */
	for (size_t i = 0; i < vm->nremaps; i++) {
		const struct cow_remap *r = &vm->remaps[i];
		err = fmap_map_memfd(vm, r->gpa, r->size);
		if (!err)
			err = fmap_restore(vm, r->gpa, r->size);
		if (err)
			return err;
	}
	if (vm->nremaps && (err = fmap_copy_list(vm, vm->tmpl)))
		return err;
	vm->nremaps = 0;
	/* Every page written since the fork or the last reset: drop the private copy, in runs
	 * of consecutive pages. */
	uint64_t dirty = vm->ndirty;
	qsort(vm->dirty_list, vm->ndirty, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < vm->ndirty;) {
		size_t j = i + 1;
		while (j < vm->ndirty && vm->dirty_list[j] == vm->dirty_list[j - 1] + 1)
			j++;
		restore_run(vm, vm->dirty_list[i] * PAGE_SIZE, (j - i) * PAGE_SIZE);
		for (size_t k = i; k < j; k++)
			vm->dirty_bits[vm->dirty_list[k] / 64] &= ~(1ULL << (vm->dirty_list[k] % 64));
		i = j;
	}
	vm->ndirty = 0;
	uint64_t guest_pages = vm->ndirty_guest;
	vm->ndirty_guest = 0;
	err = load_snapshot(vm, vm->tmpl->snap, false);
	if (err)
		return err;
	vm->tlb_flush = true;
	vm->stats.resets++;
	vm->stats.dirty_pages += dirty;
	if (st) {
		st->guest_pages = guest_pages;
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
	free(vm->dirty_bits);
	free(vm->dirty_list);
	free(vm->remaps);
	fmap_fini(vm);
	free(vm->fmaps);
	if (vm->ring)
		munmap(vm->ring, vm->ring_entries * sizeof(struct kvm_dirty_gfn));
}
