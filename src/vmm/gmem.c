/* gmem.c - guest memory: the memfd behind guest-physical memory, and the only checked
 * guest-virtual -> host path (like Solo5's hvt_checked_gpa_p, but never fatal). */
#define VMM_INTERNAL
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/abi.h"
#include "vmm/layout.h"
#include "vmm/vmm_impl.h"
#include "util/array.h"

/* Page-table pool size for a user range: one 8-byte PTE per 4 KiB page (size / 512), the
 * upper levels (size / 2^18 and less), and the kernel mapping; rounded to 2 MiB.  The pool
 * is sparse like all guest memory, so only tables in use cost memory. */
static uint64_t pt_pool_size(uint64_t user_size)
{
	uint64_t size = user_size / 512 + user_size / (1ULL << 18) + 64 * PAGE_SIZE;
	return (size + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
}

int gmem_init(struct vm *vm)
{
	vm->phys_size = vm->user_size + KAREA_PT_POOL + pt_pool_size(vm->user_size);
	int err;
	vm->mem_fd = memfd_create("kvmserver-guest", MFD_CLOEXEC);
	if (vm->mem_fd < 0)
		return -errno;
	if (ftruncate(vm->mem_fd, (off_t)vm->phys_size) < 0)
		goto fail;
	/* MAP_NORESERVE: the range is mostly never touched; pages appear when first used. */
	vm->mem = mmap(NULL, vm->phys_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED)
		goto fail;
	err = gmem_slots_init(vm);
	if (!err)
		err = gmem_add_slot(vm, gmem_kernel_slot(vm));
	if (err) {
		munmap(vm->mem, vm->phys_size);
		close(vm->mem_fd);
		return err;
	}
	return pt_init(&vm->pt, vm->mem, vm->karea + KAREA_PT_POOL, vm->phys_size);
fail:
	err = -errno;
	close(vm->mem_fd);
	return err;
}

void gmem_fini(struct vm *vm)
{
	munmap(vm->mem, vm->phys_size);
	close(vm->mem_fd);
	free(vm->slot_on);
}

/*
 * KVM memory slots.  Guest-physical memory is covered by one slot per GiB of the user range,
 * created when something is first mapped there, plus one for the kernel area.  One slot for
 * the whole range would be simpler, but KVM keeps per-page metadata for every slot (reverse
 * maps, dirty bitmaps: ~2.5 MB per GiB seen here), and programs reserve far more address
 * space than they use (V8's 4 GiB cages), so only the GiBs in use get a slot.
 */
int gmem_slots_init(struct vm *vm)
{
	vm->nuser_slots = (unsigned)((vm->user_size + GMEM_SLOT_SIZE - 1) / GMEM_SLOT_SIZE);
	vm->slot_on = calloc(vm->nuser_slots + 1, 1);
	return vm->slot_on ? 0 : -ENOMEM;
}

unsigned gmem_kernel_slot(const struct vm *vm)
{
	return vm->nuser_slots;
}

uint64_t gmem_slot_gpa(const struct vm *vm, unsigned slot)
{
	return slot == vm->nuser_slots ? vm->karea : (uint64_t)slot * GMEM_SLOT_SIZE;
}

uint64_t gmem_slot_end(const struct vm *vm, unsigned slot)
{
	if (slot == vm->nuser_slots)
		return vm->phys_size;
	uint64_t end = gmem_slot_gpa(vm, slot) + GMEM_SLOT_SIZE;
	return end > vm->karea ? vm->karea : end;
}

int gmem_add_slot(struct vm *vm, unsigned slot)
{
	if (slot > vm->nuser_slots)
		return -EINVAL;
	if (vm->slot_on[slot])
		return 0;
	uint64_t gpa = gmem_slot_gpa(vm, slot), end = gmem_slot_end(vm, slot);
	struct kvm_userspace_memory_region region = {
	        .slot = slot,
	        .flags = vm->tmpl ? KVM_MEM_LOG_DIRTY_PAGES : 0, /* forks log writes for reset */
	        .guest_phys_addr = gpa,
	        .memory_size = end - gpa,
	        .userspace_addr = (uint64_t)(vm->mem + gpa),
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	vm->slot_on[slot] = 1;
	return 0;
}

static int ensure_slots(struct vm *vm, uint64_t addr, uint64_t size)
{
	for (uint64_t s = addr / GMEM_SLOT_SIZE; s <= (addr + size - 1) / GMEM_SLOT_SIZE; s++) {
		int err = gmem_add_slot(vm, (unsigned)s);
		if (err)
			return err;
	}
	return 0;
}

/* Map the kernel area at KERNEL_VA, supervisor only; code is the only executable part. */
int gmem_map_kernel(struct vm *vm)
{
	static const struct {
		uint64_t off, size, flags;
	} parts[] = {
	        {KAREA_GDT, PAGE_SIZE, PTE_P | PTE_W | PTE_NX}, /* GDT + TSS */
	        {KAREA_IDT, PAGE_SIZE, PTE_P | PTE_NX},
	        {KAREA_CODE, KAREA_CODE_MAX, PTE_P},
	        {KAREA_MAILBOX, PAGE_SIZE, PTE_P | PTE_W | PTE_NX},
	        {KAREA_STACK, KAREA_STACK_TOP - KAREA_STACK, PTE_P | PTE_W | PTE_NX},
	        {KAREA_FPU, KAREA_FPU_SIZE, PTE_P | PTE_NX},
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int err = pt_set(&vm->pt, KERNEL_VA + parts[i].off, vm->karea + parts[i].off, parts[i].size,
		                 parts[i].flags);
		if (err < 0)
			return err;
	}
	return 0;
}

static bool user_range_ok(const struct vm *vm, gva_t addr, uint64_t size)
{
	return addr < vm->user_size && size <= vm->user_size - addr;
}

static uint64_t prot_to_pte(int prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	uint64_t flags = PTE_P | PTE_U;
	if (prot & PROT_WRITE)
		flags |= PTE_W;
	if (!(prot & PROT_EXEC))
		flags |= PTE_NX;
	return flags;
}

/*
 * Make KVM drop its translations of guest-physical [gpa, gpa + size) (identity-mapped
 * user memory), so that the next access walks the guest's page tables afresh.  The host
 * edits those tables itself, and a shadow MMU (kvm_pvm, KVM without EPT) never sees the
 * edits: it resyncs a shadow page from its guest table only when the guest itself wrote
 * the table (a trapped write) or, for unsynced tables, at the guest's TLB flush, so a CR3
 * reload alone leaves the old rights in force (a page made read-only stayed writable, a
 * PROT_NONE one readable: tests/guest/protect_test.c; what a reset puts back is not
 * zapped, a known limit: docs/design.md, "Page tables the host edits").  Changing the host mapping's protection sends KVM an
 * MMU-notifier invalidation of the range, which zaps its translations there; the
 * protection is put back at once (every host mapping of guest memory is read-write).
 * Callers hold the VM: its guest runs nowhere but page 0 and the ring page meanwhile.
 */
void gmem_zap(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (gpa >= vm->phys_size)
		return;
	if (size > vm->phys_size - gpa)
		size = vm->phys_size - gpa;
	if (!size)
		return;
	mprotect(vm->mem + gpa, size, PROT_READ);
	mprotect(vm->mem + gpa, size, PROT_READ | PROT_WRITE);
}

/* A fork notes what it makes accessible, for fresh_in_fork. */
#define MAPPED_RUNS_MAX 1024
static int note_mapped(struct vm *vm, uint64_t start, uint64_t end)
{
	if (vm->nmapped_runs) {
		struct map_run *last = &vm->mapped_runs[vm->nmapped_runs - 1];
		if (start <= last->end && end >= last->start) {
			last->start = start < last->start ? start : last->start;
			last->end = end > last->end ? end : last->end;
			return 0;
		}
	}
	/* Past MAPPED_RUNS_MAX separate runs in one request, one run covers everything: no
	 * fresh memory is taken as zero until the reset (each check stays cheap). */
	if (vm->nmapped_runs >= MAPPED_RUNS_MAX) {
		vm->mapped_runs[0] = (struct map_run){0, UINT64_MAX};
		vm->nmapped_runs = 1;
		return 0;
	}
	if (ARRAY_RESERVE(vm->mapped_runs, vm->cap_mapped_runs, vm->nmapped_runs + 1, 16))
		return -ENOMEM;
	vm->mapped_runs[vm->nmapped_runs++] = (struct map_run){start, end};
	return 0;
}

/* zap: drop KVM's translations where present entries changed (gmem_zap); the callers
 * that replace the host pages next (vm_unmap_range) have them dropped by that. */
static int map_range(struct vm *vm, gva_t addr, uint64_t size, int prot, bool zap)
{
	if ((addr | size) & ~PAGE_MASK || !user_range_ok(vm, addr, size))
		return -EINVAL;
	if (size && prot_to_pte(prot)) {
		int err = ensure_slots(vm, addr, size);
		if (!err && vm->tmpl)
			err = note_mapped(vm, addr, addr + size);
		if (err)
			return err;
	}
	int changed = pt_set(&vm->pt, addr, addr, size, prot_to_pte(prot));
	if (changed < 0)
		return changed;
	/* Present entries changed: the guest TLB may hold the old rights (SDM 4.10.4), and
	 * a shadow MMU its translations (gmem_zap). */
	if (changed) {
		vm->tlb_flush = true;
		if (zap)
			gmem_zap(vm, addr, size);
	}
	return 0;
}

int vm_map_range(struct vm *vm, gva_t addr, uint64_t size, int prot)
{
	return map_range(vm, addr, size, prot, true);
}

bool vm_tlb_flush_pending(const struct vm *vm)
{
	return vm->tlb_flush;
}

static bool all_zero(const uint8_t *p, uint64_t size)
{
	const uint64_t *w = (const uint64_t *)p;
	for (uint64_t i = 0; i < size / 8; i++)
		if (w[i])
			return false;
	return true;
}

/*
 * Whether a fork's [addr, addr+size) already reads as zero, so that fresh memory there
 * needs no discard.  A fork's view of a page is the template's, except pages written since
 * the last reset (reset copies the rest back).  So it reads zero when the template's memfd
 * holds only zeros there, no page of it was accessible at the reset (the template mapped none)
 * and none has been made accessible since: nothing could write it, the host included
 * (uaccess checks the page tables).  Keeping the fork's pages there (no anonymous remap)
 * matters: a server whose heap grows with each request otherwise faults every heap page in
 * again, request after request, and reset maps the template back over it.
 */
static bool zero_in_template(struct vm *vm, uint64_t addr, uint64_t size);

static bool fresh_in_fork(struct vm *vm, uint64_t addr, uint64_t size)
{
	for (size_t i = 0; i < vm->nmapped_runs; i++)
		if (vm->mapped_runs[i].start < addr + size && addr < vm->mapped_runs[i].end)
			return false;
	return zero_in_template(vm, addr, size);
}

/* The template's side of fresh_in_fork: the fork maps no file there, the template mapped
 * none of the range, and its memfd holds only zeros there. */
static bool zero_in_template(struct vm *vm, uint64_t addr, uint64_t size)
{
	const struct vm *t = vm->tmpl;
	if (fmap_any(vm, addr, size) || pt_any_present(&t->pt, addr, size))
		return false;
	/* The template's memory there: holes, or pages of zeros (up to 1 MiB of them). */
	uint64_t end = addr + size, checked = 0;
	for (uint64_t at = addr; at < end;) {
		off_t d = lseek(t->mem_fd, (off_t)at, SEEK_DATA);
		if (d < 0)
			return errno == ENXIO;
		if ((uint64_t)d >= end)
			return true;
		off_t h = lseek(t->mem_fd, d, SEEK_HOLE);
		uint64_t stop = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
		checked += stop - (uint64_t)d;
		if (checked > (1u << 20) || !all_zero(t->mem + d, stop - (uint64_t)d))
			return false;
		at = stop;
	}
	return true;
}

/* *replaced: every host page behind the range was replaced or freed (so KVM's MMU notifier
 * dropped every translation of them: see vm_unmap_range); false when it already read as
 * zero and nothing was done. */
static int discard(struct vm *vm, gva_t addr, uint64_t size, bool *replaced)
{
	*replaced = false;
	if ((addr | size) & ~PAGE_MASK || !user_range_ok(vm, addr, size))
		return -EINVAL;
	if (size == 0)
		return 0;
	if (vm->tmpl && fresh_in_fork(vm, addr, size))
		return 0;
	*replaced = true;
	/* A fork's memory over the template's zeros (an allocator's arena, mapped and
	 * unmapped by the request) reads zero again when its pages are dropped: the host
	 * layout stays the template's, and the reset has no mapping to put back (under the
	 * guest, each host mmap there costs the running vCPU a TLB shootdown). */
	bool over_zero = vm->tmpl && zero_in_template(vm, addr, size);
	int err = fmap_clear(vm, addr, size);
	if (err)
		return err;
	if (over_zero)
		return madvise(vm->mem + addr, size, MADV_DONTNEED) < 0 ? -errno : 0;
	if (vm->tmpl)
		return cow_discard(vm, addr, size);
	/* Punching the memfd frees the pages and unmaps them from KVM (via the MMU notifier);
	 * they read back as zero, which is what munmap + mmap and MADV_DONTNEED promise. */
	if (fallocate(vm->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)addr, (off_t)size) < 0)
		return -errno;
	return 0;
}

int vm_discard_range(struct vm *vm, gva_t addr, uint64_t size)
{
	bool replaced;
	return discard(vm, addr, size, &replaced);
}

/*
 * Unmapping needs no TLB flush by the guest.  The page-table entries are cleared first,
 * then the host pages behind them are replaced (a fork: fresh anonymous memory over the
 * range) or freed (punched from the memfd).  Either is an MMU-notifier invalidation of that
 * host range, on which KVM drops every translation of those guest-physical pages - its
 * shadow or EPT entries, and the vCPUs' TLBs with a flush request that kicks a running vCPU
 * out of guest mode and waits for it (an entry that stays in the kernel, only where a page
 * was touched).  Guest-physical is guest-virtual here, so those are exactly the range's
 * translations, and the next access walks the cleared entries: a fault.  (The range's
 * content already relies on the same invalidation: MADV_DONTNEED reads zero after it.)  So
 * the ring thread can answer munmap and a shrinking mremap while the vCPU spins, and the
 * trap path skips its CR3 reload.  Where nothing was replaced (the range read as zero in a
 * fork: then nothing there was accessible either) a changed entry still asks for a flush.
 */
int vm_unmap_range(struct vm *vm, gva_t addr, uint64_t size)
{
	bool flush_before = vm->tlb_flush, replaced = false;
	int err = map_range(vm, addr, size, PROT_NONE, false); /* (discard drops KVM's translations) */
	if (!err)
		err = discard(vm, addr, size, &replaced);
	if (!err && replaced)
		vm->tlb_flush = flush_before;
	return err;
}

int vm_dontneed_range(struct vm *vm, gva_t addr, uint64_t size)
{
	if ((addr | size) & ~PAGE_MASK || !user_range_ok(vm, addr, size))
		return -EINVAL;
	/* Split around file pages: those already show exactly the file. */
	uint64_t at = addr, end = addr + size;
	while (at < end) {
		uint64_t next = at + PAGE_SIZE;
		bool file = fmap_any(vm, at, PAGE_SIZE);
		while (next < end && fmap_any(vm, next, PAGE_SIZE) == file)
			next += PAGE_SIZE;
		if (!file) {
			int err = vm_discard_range(vm, at, next - at);
			if (err)
				return err;
		}
		at = next;
	}
	return 0;
}

static void *user_page(struct vm *vm, gva_t addr, bool write)
{
	/* Below USER_MIN_ADDR is only ever the ring path's page 0 and ring page: a call's
	 * buffer there is EFAULT, as the unmapped pages are on Linux. */
	if (addr >= vm->user_size || addr < USER_MIN_ADDR)
		return NULL;
	uint64_t pte = pt_lookup(&vm->pt, addr & PAGE_MASK);
	uint64_t need = PTE_P | PTE_U | (write ? PTE_W : 0);
	return (pte & need) == need ? vm->mem + addr : NULL;
}

void *vm_user_page(struct vm *vm, gva_t addr, bool write)
{
	void *h = user_page(vm, addr, write);
	if (h && write)
		cow_mark(vm, addr, 1);
	return h;
}

void *vm_user_page_writable(struct vm *vm, gva_t addr)
{
	return user_page(vm, addr, true);
}

void vm_wrote(struct vm *vm, const void *host, uint64_t size)
{
	cow_mark(vm, (uint64_t)((const uint8_t *)host - vm->mem), size);
}

void *vm_user_ptr_unchecked(struct vm *vm, gva_t addr, uint64_t size)
{
	if (!user_range_ok(vm, addr, size))
		return NULL;
	cow_mark(vm, addr, size);
	return vm->mem + addr;
}
