/* cow.c - fork a frozen VM into copy-on-write VMs, and reset a fork to its template.
 *
 * The template's guest memory is a memfd it mapped MAP_SHARED.  A fork maps the same memfd
 * MAP_PRIVATE: its first write to a page is an ordinary copy-on-write fault that KVM and
 * the host kernel resolve without leaving the kernel, so a fork costs the pages it
 * writes.  Reset puts back exactly those pages: the ones the guest wrote come from KVM's
 * dirty bitmaps, the ones the host wrote on its behalf (syscall results, page tables) from
 * cow_mark; both feed one list, so reset time follows the pages written, not the size of
 * the program.  Ranges the fork unmapped were replaced by fresh anonymous memory (so they
 * read as zero, not as the template); reset maps the memfd back over them.
 *
 * Hot pages.  Tracking a page costs a write-protection fault at its first write after
 * each reset (KVM's dirty logging), and re-protecting it costs again at reset.  A request
 * handler writes mostly the same pages every time (its stacks, the allocator's heads, the
 * runtime's bookkeeping), so a page written in two resets in a row is left writable: KVM
 * keeps reporting it dirty (manual protection, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, means
 * reading the log does not protect again; KVM_CLEAR_DIRTY_LOG protects the pages reset
 * chooses), and every reset copies it back from the template whether or not it was
 * written, a 4 KiB copy instead of a fault.  Every HOT_ROUNDS resets the set is checked:
 * a hot page that the round left as the template has it goes cold (protected again).  When
 * the set grows past HOT_MAX pages, the whole set is protected again and relearned.  See
 * docs/design.md for the alternatives and why not them.
 */
#define VMM_INTERNAL
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
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
#include "util/sort.h"

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
	vm->pt_written = true;
}

int vm_freeze(struct vm *vm)
{
	struct vm_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->xsave = calloc(1, vm->xsave_size);
	int err = s->xsave ? 0 : -ENOMEM;
	if (!err)
		err = vm_get_sregs(vm, &s->sregs);
	if (!err && ioctl(vm->vcpu_fd, KVM_GET_XCRS, &s->xcrs) < 0)
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

/* Put the template's vCPU state into vm's vCPU.  A fresh vCPU (first) needs everything.
 * On reset, the segment registers, control registers and XCR0 are already the template's
 * whenever the vCPU stopped in the trampoline (a syscall or fault exit): no guest code can
 * change them, and the page-table root never moves.  Skipping KVM_SET_SREGS there matters:
 * it resets KVM's MMU context, the most expensive ioctl of a reset under shadow paging. */
static int load_snapshot(struct vm *vm, const struct vm_snapshot *s, bool first)
{
	if (!first && vm->sregs_unknown && (kvm_sync_fields() & KVM_SYNC_X86_SREGS)) {
		/* Loaded by the next KVM_RUN: one vCPU ioctl fewer (~7 us under nested KVM,
		 * where each loads and puts the vCPU), on the way to the next request. */
		vm->run->s.regs.sregs = s->sregs;
		vm->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	} else if ((first || vm->sregs_unknown) && ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s->sregs) < 0) {
		return -errno;
	}
	if (first && ioctl(vm->vcpu_fd, KVM_SET_XCRS, &s->xcrs) < 0)
		return -errno;
	vm->sregs_unknown = false;
	int err = 0;
	if (!first && vm->fpu_by_guest)
		vm->xsave_pending = s->xsave; /* loaded by the guest at the next entry (vcpu.c, fpu_enter) */
	else
		err = vm_set_xsave(vm, s->xsave);
	if (!err && (first || vm->fs_base != s->fs_base))
		err = vm_set_fs_base(vm, s->fs_base);
	if (err)
		return err;
	vm->run->s.regs.regs = s->regs;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	vm->where = s->where;
	vm->replay = false;
	vm->user_rip = s->user_rip;
	vm->user_rflags = s->user_rflags;
	vm->user_rsp = s->user_rsp;
	vm->pt = s->pt;
	vm->pt.mem = vm->mem;
	vm->pt.on_write = cow_pt_written;
	return 0;
}

/* The fork's own copy of the template's XSAVE image at KAREA_FPU, for its resets to load
 * in the guest (vcpu.c, fpu_enter).  Never marked for reset: a host write the guest cannot
 * change (supervisor, read-only), so it stays the fork's private page. */
static void install_fpu_image(struct vm *vm, const struct vm_snapshot *s)
{
	if (vm->xsave_size > KAREA_FPU_SIZE)
		return;
	uint8_t *image = karea_ptr(vm, KAREA_FPU);
	memcpy(image, s->xsave, vm->xsave_size);
	vm->fpu_by_guest = true;
	vm->fpu_xrstor = s->sregs.cr4 & X86_CR4_OSXSAVE;
	if (!vm->fpu_xrstor)
		return; /* FXRSTOR of the legacy region (the image's first 512 bytes) */
	/* XRSTOR's standard form faults on a component in XSTATE_BV that XCR0 lacks; KVM's
	 * image may name any it supports. */
	uint64_t xcr0 = 0;
	for (uint32_t i = 0; i < s->xcrs.nr_xcrs; i++)
		if (s->xcrs.xcrs[i].xcr == 0)
			xcr0 = s->xcrs.xcrs[i].value;
	uint64_t bv;
	memcpy(&bv, image + 512, sizeof(bv));
	bv &= xcr0;
	memcpy(image + 512, &bv, sizeof(bv));
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

/* Dirty logging with manual protection where KVM has it (Linux 5.8); without, reading
 * a slot's log protects every page it reports again and nothing becomes hot.
 * KVMSERVER_DIRTY_LOG=plain takes the second way where the first exists too (the tests
 * use it, so that both stay tested). */
static int enable_dirty_log(struct vm *vm)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
	                             .args = {KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE}};
	const char *mode = getenv("KVMSERVER_DIRTY_LOG");
	vm->manual_protect = !(mode && strcmp(mode, "plain") == 0) &&
	                     ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap.cap) > 0 &&
	                     ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	size_t words = (GMEM_SLOT_SIZE / PAGE_SIZE + 63) / 64, pages = vm->phys_size / PAGE_SIZE;
	vm->log_bits = malloc(words * sizeof(uint64_t));
	vm->hot_bits = calloc((pages + 63) / 64, sizeof(uint64_t));
	vm->prev_bits = calloc((pages + 63) / 64, sizeof(uint64_t));
	vm->sticky_bits = calloc((pages + 63) / 64, sizeof(uint64_t));
	vm->cooled_bits = calloc((pages + 63) / 64, sizeof(uint64_t));
	return vm->log_bits && vm->hot_bits && vm->prev_bits && vm->sticky_bits && vm->cooled_bits ? 0 : -ENOMEM;
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
	err = enable_dirty_log(vm);
	if (!err)
		err = map_private(vm);
	if (err)
		goto err_vm;
	err = kvm_open_vcpu(vm);
	if (err)
		goto err_mem;
	err = load_snapshot(vm, tmpl->snap, true);
	if (!err)
		install_fpu_image(vm, tmpl->snap);
	if (!err)
		err = vm_ring_inherit(vm, tmpl, true);
	if (err) {
		munmap(vm->run, vm->run_size);
		kstats_fini(vm);
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

int cow_dirty_page(struct vm *vm, uint64_t pg)
{
	if (ARRAY_RESERVE(vm->dirty_list, vm->cap_dirty, vm->ndirty + 1, 1024)) {
		vm->dirty_lost = true;
		return -ENOMEM;
	}
	bit_set(vm->dirty_bits, pg);
	vm->dirty_list[vm->ndirty++] = pg;
	return 0;
}

/* Whether guest page pg of a fork holds what the template's does: a reset would not change
 * it.  A hot page is reported dirty whether or not the guest wrote it; this tells. */
static bool as_template(const struct vm *vm, uint64_t pg)
{
	return vm->tmpl && memcmp(vm->mem + pg * PAGE_SIZE, vm->tmpl->mem + pg * PAGE_SIZE, PAGE_SIZE) == 0;
}

/* The pages the guest wrote in one slot since the last reset, into the dirty list; then
 * write-protect them again, except the hot ones (unless the hot set is being dropped).
 * check: hot pages as the template has them go cold, protected again. */
#define HOT_ROUNDS 64
#define HOT_MAX 16384
static int harvest_slot(struct vm *vm, unsigned slot, bool keep_hot, bool check, bool same_round)
{
	struct kvm_dirty_log log = {.slot = slot, .dirty_bitmap = vm->log_bits};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	uint64_t first = gmem_slot_gpa(vm, slot) / PAGE_SIZE;
	uint64_t npages = gmem_slot_end(vm, slot) / PAGE_SIZE - first;
	size_t words = (npages + 63) / 64, lo = words, hi = 0;
	for (size_t w = 0; w < words; w++) {
		/* Mostly zero: skip four words at a time. */
		while (w + 4 <= words &&
		       !(vm->log_bits[w] | vm->log_bits[w + 1] | vm->log_bits[w + 2] | vm->log_bits[w + 3]))
			w += 4;
		if (w >= words)
			break;
		uint64_t bits = vm->log_bits[w], keep = 0;
		if (!bits)
			continue;
		for (uint64_t b = bits; b; b &= b - 1) {
			unsigned i = (unsigned)__builtin_ctzll(b);
			uint64_t pg = first + w * 64 + i;
			/* The second reset of a round: the first put the hot pages back, and the
			 * guest ran nothing since (KVM reports them because they are never
			 * protected); a page the host wrote is listed already, and the ring page
			 * was not put back (vm_ring_void_guest). */
			bool restored = same_round && bit_test(vm->hot_bits, pg) && pg != RING_VA / PAGE_SIZE;
			if (!bit_test(vm->dirty_bits, pg) && !restored) {
				if (cow_dirty_page(vm, pg))
					return -ENOMEM;
				vm->ndirty_guest++;
			}
			bool hot = bit_test(vm->hot_bits, pg);
			if (keep_hot && check && hot && !bit_test(vm->sticky_bits, pg) && as_template(vm, pg)) {
				/* Not written this round, or written back: cold.  It is in the dirty
				 * list, so put back after the protection; a candidate again below. */
				bit_clear(vm->hot_bits, pg);
				if (!ARRAY_RESERVE(vm->cooled_list, vm->cap_cooled, vm->ncooled + 1, 256)) {
					bit_set(vm->cooled_bits, pg);
					vm->cooled_list[vm->ncooled++] = pg;
				}
			} else if (keep_hot && (hot || bit_test(vm->prev_bits, pg))) {
				/* Cooled by the last check and written at once: written back each
				 * time (a reference count that goes up and down), not cold. */
				if (!hot && bit_test(vm->cooled_bits, pg))
					bit_set(vm->sticky_bits, pg);
				bit_set(vm->hot_bits, pg);
				keep |= 1ULL << i;
				vm->nhot++;
			}
		}
		if (keep)
			vm->log_bits[w] = bits & ~keep;
		if (bits & ~keep) {
			lo = lo < w ? lo : w;
			hi = w + 1;
		}
	}
	if (!vm->manual_protect || lo >= hi)
		return 0;
	/* KVM wants the range in whole words of the bitmap, or up to the slot's end. */
	struct kvm_clear_dirty_log clear = {
	        .slot = slot,
	        .first_page = lo * 64,
	        .num_pages = (uint32_t)((hi * 64 < npages ? hi * 64 : npages) - lo * 64),
	        .dirty_bitmap = vm->log_bits + lo,
	};
	return ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0 ? -errno : 0;
}

/* Every slot's log into the dirty list.  Then this round's protected pages become the
 * ones that turn hot if written again next round.  A round is one request: where a reset
 * under the guest found no connection (round_open), the vCPU thread's reset that follows
 * ends the same round, and the pages of both turn hot if the next request writes them
 * (were the second's few pages the round's, a request's pages would never turn hot
 * at a low request rate, and each would cost a write fault every request).
 *
 * Every HOT_ROUNDS rounds the hot pages are compared with the template's: those the round
 * left as they were go cold, so the set follows what requests write.  (Protecting the
 * whole set instead, as before, made the next request fault in every page still hot:
 * Python hello ~420 write faults, ~12 ms under kvm_pvm, every 64th request; 6.6 of its 16
 * entries a request on average.)  A page the compare cannot tell from an unwritten one is
 * written back to its old content every time (Python's reference counts: ~130 of its 420
 * pages); one that went cold and is written again at once is sticky, and later checks
 * leave it hot.  The compare costs ~0.2 us a page, once per HOT_ROUNDS. */
static int harvest(struct vm *vm, bool same_round)
{
	bool warm = same_round || ++vm->resets_warm < HOT_ROUNDS;
	bool keep_hot = vm->manual_protect && vm->nhot < HOT_MAX;
	if (!warm || !keep_hot)
		vm->resets_warm = 0;
	vm->nhot = 0;
	for (unsigned s = 0; s <= vm->nuser_slots; s++) {
		if (!vm->slot_on[s])
			continue;
		int err = harvest_slot(vm, s, keep_hot, !warm, same_round);
		if (err)
			return err;
	}
	if (warm && !same_round) {
		/* The round after a check has seen which of its cooled pages are sticky. */
		for (size_t i = 0; i < vm->ncooled; i++)
			bit_clear(vm->cooled_bits, vm->cooled_list[i]);
		vm->ncooled = 0;
	}
	if (!keep_hot && vm->manual_protect) {
		/* The hot set is dropped: every hot page was reported (KVM never forgot it), so
		 * it is protected again now and in this round's list, and relearned. */
		for (size_t i = 0; i < vm->ndirty; i++) {
			bit_clear(vm->hot_bits, vm->dirty_list[i]);
			bit_clear(vm->sticky_bits, vm->dirty_list[i]);
		}
	}
	if (!same_round) {
		for (size_t i = 0; i < vm->nprev; i++)
			bit_clear(vm->prev_bits, vm->prev_list[i]);
		vm->nprev = 0;
	}
	if (!vm->manual_protect)
		return 0;
	/* Also when the set was just dropped: the pages this round wrote (the hot ones
	 * among them, written or not) turn hot again at their next write, one round of
	 * faults, not two; those that went cold are not written and stay protected. */
	for (size_t i = 0; i < vm->ndirty; i++) {
		uint64_t pg = vm->dirty_list[i];
		if (bit_test(vm->hot_bits, pg) || bit_test(vm->prev_bits, pg))
			continue;
		if (ARRAY_RESERVE(vm->prev_list, vm->cap_prev, vm->nprev + 1, 1024))
			break; /* only fewer pages turn hot */
		bit_set(vm->prev_bits, pg);
		vm->prev_list[vm->nprev++] = pg;
	}
	return 0;
}

/* Put the template's content back into the pages of run i.  Short runs and hot pages are
 * copied from the template: the fork keeps its private pages (the next request writes
 * them without a copy-on-write fault) and nothing is unmapped under KVM.  Long runs (a
 * large allocation) are dropped with MADV_DONTNEED so an idle fork does not keep their
 * memory.  Copied runs are at most RESTORE_COPY_MAX_PAGES long, so that two threads
 * restoring together (below) take turns in small steps. */
#define RESTORE_COPY_MAX_PAGES 16
static void restore_run(struct vm *vm, size_t i)
{
	const struct restore_run *r = &vm->runs[i];
	if (r->copy)
		memcpy(vm->mem + r->gpa, vm->tmpl->mem + r->gpa, r->size);
	else
		madvise(vm->mem + r->gpa, r->size, MADV_DONTNEED);
}

/* The memory part of a reset up to the copying: the pages written since the last reset
 * (the dirty logs), the ranges whose host layout changed put back, and the list of runs
 * to restore.  Afterwards vm->runs holds nruns runs, reset_dirty and reset_guest_pages
 * the counts for the statistics. */
static int collect(struct vm *vm)
{
	vm->nruns = 0;
	if (vm->dirty_lost)
		return -ENOMEM; /* a page written since the last reset is not in the list */
	bool same_round = vm->round_open;
	vm->round_open = false;
	int err = harvest(vm, same_round);
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
	/* The list of file maps, only if the fork changed it (one dup per file map). */
	if (vm->fmaps_changed && (err = fmap_copy_list(vm, vm->tmpl)))
		return err;
	vm->nremaps = 0;
	vm->nmapped_runs = 0;
	/* Every page written since the fork or the last reset (and every hot page), in runs
	 * of consecutive pages alike in hotness. */
	const uint64_t *l = vm->dirty_list;
	if (vm->keep_ring_page) {
		/* The guest spins on the ring page meanwhile: its caller restores it. */
		size_t n = 0;
		for (size_t i = 0; i < vm->ndirty; i++)
			if (l[i] != RING_VA / PAGE_SIZE)
				vm->dirty_list[n++] = l[i];
		bit_clear(vm->dirty_bits, RING_VA / PAGE_SIZE);
		vm->ndirty = n;
	}
	/* In address order (the list is a few ascending runs: sort_u64 merges them). */
	if (ARRAY_RESERVE(vm->sort_tmp, vm->cap_sort_tmp, vm->ndirty, 1024))
		return -ENOMEM;
	sort_u64(vm->dirty_list, vm->ndirty, vm->sort_tmp);
	/* Pages of the template's shared file maps are the file's: never restored. */
	bool shared = fmap_has_shared(vm->tmpl);
	if (ARRAY_RESERVE(vm->runs, vm->cap_runs, vm->ndirty, 256)) /* at most a run a page */
		return -ENOMEM;
	for (size_t i = 0; i < vm->ndirty;) {
		bool hot = bit_test(vm->hot_bits, l[i]);
		bool skip = shared && fmap_shared_at(vm->tmpl, l[i] * PAGE_SIZE);
		size_t j = i + 1;
		while (j < vm->ndirty && l[j] == l[j - 1] + 1 && bit_test(vm->hot_bits, l[j]) == hot &&
		       (!shared || fmap_shared_at(vm->tmpl, l[j] * PAGE_SIZE) == skip))
			j++;
		if (!skip && (hot || j - i <= RESTORE_COPY_MAX_PAGES)) {
			for (size_t k = i; k < j; k += RESTORE_COPY_MAX_PAGES) {
				size_t n = j - k < RESTORE_COPY_MAX_PAGES ? j - k : RESTORE_COPY_MAX_PAGES;
				vm->runs[vm->nruns++] = (struct restore_run){l[k] * PAGE_SIZE, n * PAGE_SIZE, true};
			}
		} else if (!skip) {
			vm->runs[vm->nruns++] = (struct restore_run){l[i] * PAGE_SIZE, (j - i) * PAGE_SIZE, false};
		}
		for (size_t k = i; k < j; k++)
			bit_clear(vm->dirty_bits, l[k]);
		i = j;
	}
	vm->reset_dirty = vm->ndirty;
	vm->round_pages = (same_round ? vm->round_pages : 0) + vm->ndirty;
	vm->reset_guest_pages = vm->ndirty_guest;
	vm->ndirty = 0;
	vm->ndirty_guest = 0;
	return 0;
}

/* Restore runs claimed one at a time until none is left; whether any was. */
static bool restore_claimed(struct vm *vm)
{
	bool any = false;
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&vm->run_next, 1, memory_order_relaxed);
		if (i >= vm->nruns)
			return any;
		restore_run(vm, i);
		atomic_fetch_add_explicit(&vm->runs_done, 1, memory_order_release);
		any = true;
	}
}

/*
 * The memory part of a reset is shared with the VM's ring thread, which spins for a while
 * after a request anyway.  requestvm_reset posts it (vm_reset_post) before its own work on
 * the host fds (the fd table dropped and cloned: Deno ~90 us); the ring thread, if it
 * spins, claims it, collects (above: the dirty logs are ~10 us of ioctls for four slots),
 * and restores runs.  vm_reset then collects itself if nobody claimed it, or waits for the
 * list, and restores runs with the ring thread until none is left (the copy is
 * memcpy-bound: Python hello writes ~420 pages, ~130 us).  No wake-up: a sleeping ring
 * thread is not woken for this (a wake-up costs more than it saves here).
 *
 * reset_job: IDLE, POSTED (vm_reset_post), COLLECTING (the ring thread has it), TAKEN (the
 * vCPU thread collects), RESTORING (runs listed: claim them from run_next).  reset_helping
 * is set while the ring thread looks at the job, so that vm_reset's IDLE comes only after
 * it left (a later reset's runs are never claimed by a helper from an earlier one).
 */
enum { JOB_IDLE, JOB_POSTED, JOB_COLLECTING, JOB_TAKEN, JOB_RESTORING };

void vm_reset_post(struct vm *vm)
{
	if (vm->tmpl && vm->ring && vm_ring_helper_spinning(vm))
		atomic_store_explicit(&vm->reset_job, JOB_POSTED, memory_order_release);
}

static void publish_runs(struct vm *vm, int err)
{
	vm->reset_err = err;
	if (err)
		vm->nruns = 0;
	atomic_store_explicit(&vm->run_next, 0, memory_order_relaxed);
	atomic_store_explicit(&vm->runs_done, 0, memory_order_relaxed);
	atomic_store_explicit(&vm->reset_job, JOB_RESTORING, memory_order_release);
}

bool vm_reset_help(struct vm *vm)
{
	int job = atomic_load_explicit(&vm->reset_job, memory_order_relaxed);
	if (job != JOB_POSTED && job != JOB_RESTORING)
		return false;
	atomic_store(&vm->reset_helping, true);
	bool did = false;
	int posted = JOB_POSTED;
	if (atomic_compare_exchange_strong(&vm->reset_job, &posted, JOB_COLLECTING)) {
		publish_runs(vm, collect(vm));
		did = true;
	}
	if (atomic_load(&vm->reset_job) == JOB_RESTORING)
		did |= restore_claimed(vm);
	atomic_store(&vm->reset_helping, false);
	return did;
}

static int reset_memory(struct vm *vm)
{
	int job = JOB_POSTED;
	if (atomic_load(&vm->reset_job) == JOB_IDLE || atomic_compare_exchange_strong(&vm->reset_job, &job, JOB_TAKEN))
		publish_runs(vm, collect(vm)); /* not posted, or not claimed: collected here */
	else
		while (atomic_load_explicit(&vm->reset_job, memory_order_acquire) == JOB_COLLECTING)
			__builtin_ia32_pause();
	restore_claimed(vm);
	while (atomic_load_explicit(&vm->runs_done, memory_order_acquire) < vm->nruns)
		__builtin_ia32_pause();
	atomic_store(&vm->reset_job, JOB_IDLE);
	while (atomic_load(&vm->reset_helping))
		__builtin_ia32_pause();
	return vm->reset_err;
}

static void count_reset(struct vm *vm, struct vm_reset_stats *st, uint64_t t0)
{
	vm->stats.resets++;
	vm->stats.dirty_pages += vm->reset_dirty;
	if (st) {
		st->guest_pages = vm->reset_guest_pages;
		st->dirty_pages = vm->reset_dirty;
		st->hot_pages = vm->nhot;
		st->ns = vm_now_ns() - t0;
	}
}

int vm_reset(struct vm *vm, struct vm_reset_stats *st)
{
	uint64_t t0 = vm_now_ns();
	if (!vm->tmpl)
		return -EINVAL; /* (never posted: vm_reset_post) */
	int err = reset_memory(vm);
	if (err)
		return err;
	err = load_snapshot(vm, vm->tmpl->snap, false);
	if (err)
		return err;
	ring_forget_void(vm);
	vm->tlb_flush = true;
	vm->pt_written = false;
	count_reset(vm, st, t0);
	return 0;
}

/*
 * Resets under the guest (docs/design.md).  A request VM whose guest ended its request
 * with a call on the ring spins in the trampoline while the ring thread runs that call:
 * the ring thread may reset the VM right then and let the guest load the template's
 * registers itself (ring_reset_load), without the exit to the host and the entry back
 * that a reset by the vCPU thread costs (two of the ~3 hypervisor entries of a C request).
 * Only where nothing the reset changes needs the vCPU stopped: the same FS base (an MSR),
 * an FPU image the guest can load from the ring page, no preemption tick, the host layout
 * the template's.  Page tables put back: the guest reloads CR3 itself (reset_flush, the
 * #UD of ring_reset_flush_ud in entry.S).  The memory is restored as by
 * vm_reset, but for the ring page, where the guest spins (ring.c restores it with the
 * frame).  Written by the guest meanwhile: nothing (it only reads while it spins), so
 * the dirty logs are complete.
 */
static size_t fpu_frame_size(const struct vm *vm)
{
	if (!vm->fpu_xrstor)
		return 512; /* FXRSTOR's legacy region */
	/* The XSAVE area for what XCR0 enables (the guest's is a subset).  The host kernel
	 * sets XCR0 once for every process, so it is read once: CPUID is an exit of its own
	 * where kvmserver itself runs in a VM (3.7 us on this project's machines), and this
	 * is asked two or three times a request. */
	static _Atomic unsigned size;
	unsigned b = atomic_load_explicit(&size, memory_order_relaxed);
	if (!b) {
		unsigned a, c, d;
		__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
		atomic_store_explicit(&size, b, memory_order_relaxed);
	}
	return b;
}

/* The ring thread restores the pages alone under the guest, where the vCPU thread's
 * reset has it help (two CPUs copying): past about this many pages (the last request's),
 * the copy it takes alone costs more than the exit it saves (measured on 2 CPUs: a win
 * at 2000 pages, a loss at 4000; docs/design.md). */
#define UNDER_GUEST_MAX_PAGES 2048
bool vm_can_reset_under_guest(const struct vm *vm)
{
	const struct vm_snapshot *s = vm->tmpl ? vm->tmpl->snap : NULL;
	return s && vm->ring && s->where == VM_AT_SYSCALL && vm->fs_base == s->fs_base && vm->fpu_by_guest &&
	       fpu_frame_size(vm) <= RING_FPU_MAX && !vm->tlb_flush && !vm->tick_ns && !vm->dirty_lost &&
	       vm->round_pages <= UNDER_GUEST_MAX_PAGES;
}

int vm_reset_under_guest(struct vm *vm, struct vm_reset_stats *st)
{
	uint64_t t0 = vm_now_ns();
	if (!vm_can_reset_under_guest(vm))
		return -EINVAL;
	vm->keep_ring_page = true;
	int err = reset_memory(vm);
	vm->keep_ring_page = false;
	if (err)
		return err;
	vm->reset_flush = vm->pt_written;
	vm->pt_written = false;
	vm->pt = vm->tmpl->snap->pt;
	vm->pt.mem = vm->mem;
	vm->pt.on_write = cow_pt_written;
	count_reset(vm, st, t0);
	return 0;
}

void vm_reset_frame(const struct vm *vm, struct vm_reset_frame *f)
{
	const struct vm_snapshot *s = vm->tmpl->snap;
	f->regs = s->regs;
	/* Past its syscall instruction, rcx and r11 as SYSCALL leaves them (vm_save_user_state). */
	f->regs.rip = f->regs.rcx = s->user_rip;
	f->regs.rflags = (s->user_rflags & X86_RFLAGS_USER) | X86_RFLAGS_RESERVED | X86_RFLAGS_IF;
	f->regs.r11 = s->user_rflags;
	f->regs.rsp = s->user_rsp;
	f->fpu = karea_ptr((struct vm *)vm, KAREA_FPU); /* install_fpu_image's copy */
	f->fpu_size = fpu_frame_size(vm);
	f->xrstor = vm->fpu_xrstor;
	f->flush = vm->reset_flush;
	f->xsave = s->xsave;
}

bool vm_frozen_syscall(const struct vm *vm, uint64_t *nr, uint64_t args[6])
{
	const struct vm_snapshot *s = vm->tmpl ? vm->tmpl->snap : NULL;
	if (!s || s->where != VM_AT_SYSCALL)
		return false;
	*nr = s->regs.rax;
	uint64_t a[6] = {s->regs.rdi, s->regs.rsi, s->regs.rdx, s->regs.r10, s->regs.r8, s->regs.r9};
	memcpy(args, a, sizeof(a));
	return true;
}

void cow_fini(struct vm *vm)
{
	if (vm->snap)
		free(vm->snap->xsave);
	free(vm->snap);
	free(vm->dirty_bits);
	free(vm->dirty_list);
	free(vm->sort_tmp);
	free(vm->remaps);
	free(vm->mapped_runs);
	free(vm->log_bits);
	free(vm->hot_bits);
	free(vm->prev_bits);
	free(vm->prev_list);
	free(vm->sticky_bits);
	free(vm->cooled_bits);
	free(vm->cooled_list);
	free(vm->runs);
	fmap_fini(vm);
	free(vm->fmaps);
}
