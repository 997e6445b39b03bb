/* vmm_impl.h - the private layout of struct vm, shared by the files of src/vmm only. */
#ifndef VMM_IMPL_H
#define VMM_IMPL_H
#ifndef VMM_INTERNAL
#error "vmm_impl.h is private to src/vmm"
#endif

#include <signal.h>
#include <time.h>

#include "vmm/paging.h"
#include "vmm/vmm.h"

struct vm {
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run; /* the vCPU's shared run page (sync regs live in run->s.regs) */
	size_t run_size;

	int mem_fd; /* memfd backing all guest-physical memory */
	uint8_t *mem; /* host address of guest-physical 0 */
	uint64_t user_size; /* user range [0, user_size) */
	uint64_t karea; /* guest-physical start of the kernel area (= user_size) */
	uint64_t phys_size; /* user range + kernel area */
	struct pt pt;
	unsigned nuser_slots; /* KVM memory slots 0..n-1 cover the user range by GiB, n the kernel area */
	uint8_t *slot_on; /* which slots exist */

	/* What the last exit left: at a syscall or a fault (in the trampoline), a state load
	 * pending, or interrupted in user mode by a tick. */
	enum { VM_AT_SYSCALL, VM_AT_FAULT, VM_AT_LOAD, VM_AT_USER } where;
	uint64_t user_rip, user_rflags, user_rsp; /* user state at the last exception/syscall */
	bool tlb_flush; /* PTEs lost rights since the last entry: reload CR3 on resume */
	bool pt_written; /* a page-table entry changed since the last reset (cow_pt_written) */
	bool reset_flush; /* the last reset under the guest put page tables back: flush the TLB */
	bool replay; /* vm_replay_syscall: the next vm_run returns the call without an entry */
	bool sregs_unknown; /* stopped outside the trampoline (timeout, tick, error) */
	uint64_t fs_base;
	size_t xsave_size; /* bytes of a KVM_GET_XSAVE(2) image */
	/* A reset's FPU state, loaded by the guest on its way out (vcpu.c, fpu_enter): a
	 * request VM whose KAREA_FPU holds the template's XSAVE image (fpu_by_guest) leaves
	 * it pending after a reset; readers of the XSAVE state see this host copy meanwhile. */
	bool fpu_by_guest;
	bool fpu_xrstor; /* CR4.OSXSAVE: XRSTOR (else FXRSTOR: x87 and SSE only) */
	const void *xsave_pending;
	bool tsc_shared; /* the vCPU's TSC offset is 0: guest TSC = host TSC (vdso.c) */
	uint32_t tsc_khz;

	struct vm_timer {
		timer_t id;
		bool created;
		pid_t tid;
	} deadline_timer, tick_timer;
	uint64_t deadline_ns;
	uint64_t tick_ns, next_tick_ns;

	struct vm_stats stats;
	/* KVM's binary statistics of the vCPU (kstats.c): the fd (-1 when absent), where the
	 * counters used lie in it, and the last reading for vm_set_exit_trace. */
	int kstats_fd;
	uint64_t kstats_pos;
	uint32_t kstats_lo, kstats_len;
	uint32_t kstats_off[VM_ENTRY_KINDS];
	uint8_t kstats_buf[512];
	struct vm_entries trace_prev;

	/* Copy-on-write (cow.c).  A template holds the vCPU state forks start from; a fork
	 * maps the template's memfd MAP_PRIVATE and remembers what to undo on reset. */
	struct vm_snapshot *snap; /* set by vm_freeze */
	struct vm *tmpl; /* a fork's template */
	uint64_t *dirty_bits; /* a fork's pages written since the last reset, one bit each */
	uint64_t *dirty_list; /* the same pages as a list, so reset costs what was written */
	size_t ndirty, cap_dirty;
	uint64_t *sort_tmp; /* collect's room to sort dirty_list in */
	size_t cap_sort_tmp;
	size_t ndirty_guest; /* of those, first written by the guest (the rest: the host) */
	/* Guest writes come from KVM's dirty bitmaps (see cow.c): a slot's bitmap is read into
	 * log_bits.  With manual protection, pages written in two resets in a row become hot:
	 * they stay writable and are restored at every reset; prev_bits marks the pages written
	 * in the last round (listed in prev_list).  The check every HOT_ROUNDS makes hot pages
	 * cold that hold the template's content (cooled_bits, cooled_list: those of the last
	 * check, until the round after it); one written again at once is sticky (sticky_bits:
	 * its writes leave it as it was, so the check passes it by). */
	bool manual_protect;
	uint64_t *log_bits;
	uint64_t *hot_bits, *prev_bits, *prev_list;
	size_t nprev, cap_prev;
	uint64_t *sticky_bits, *cooled_bits, *cooled_list;
	size_t ncooled, cap_cooled;
	size_t nhot; /* hot pages kept writable at the last reset */
	bool dirty_lost; /* a written page could not be listed: reset must fail */
	bool keep_ring_page; /* this reset leaves the ring page to its caller (under the guest) */
	/* The reset's restore runs, and its memory part shared with the ring thread (cow.c,
	 * vm_reset_help): reset_job is a JOB_* there; runs are claimed from run_next. */
	struct restore_run {
		uint64_t gpa, size;
		bool copy; /* memcpy from the template; else MADV_DONTNEED */
	} * runs;
	size_t nruns, cap_runs;
	_Atomic int reset_job;
	_Atomic bool reset_helping;
	_Atomic size_t run_next, runs_done;
	int reset_err;
	uint64_t reset_dirty, reset_guest_pages; /* the last collect's counts */
	/* A fork's ranges made accessible since the last reset (vm_map_range), merged when
	 * adjacent: fresh memory outside them and outside the template's mappings needs no
	 * discard (see fresh_in_fork in gmem.c). */
	struct map_run {
		uint64_t start, end;
	} * mapped_runs;
	size_t nmapped_runs, cap_mapped_runs;
	unsigned resets_warm; /* resets since the hot set was last dropped */
	bool round_open; /* a reset under the guest found no connection (harvest) */
	uint64_t round_pages; /* pages the last request's resets put back */
	struct cow_remap {
		uint64_t gpa, size;
	} * remaps; /* host layout changed: restore on reset */
	size_t nremaps, cap_remaps;

	/* Files mapped copy-on-write over guest memory (filemap.c). */
	struct file_map {
		uint64_t gpa, size;
		int fd; /* owned (a dup) */
		uint64_t off;
		bool shared; /* MAP_SHARED: the guest writes the file itself (never restored) */
		/* shared, over the memfd of a MAP_SHARED|MAP_ANONYMOUS mapping: shared with
		 * fork(2) children, but a request VM sees its template's copy-on-write */
		bool anon;
	} * fmaps;
	size_t nfmaps, cap_fmaps;
	bool fmaps_changed; /* a fork's list differs from its template's: reset copies it */

	struct vm_ring *ring; /* the ring path (ring.c), NULL when off */
};

/* cow.c: the template's state a reset under the guest hands it (ring.c loads it). */
struct vm_reset_frame {
	struct kvm_regs regs; /* as the template resumes from its call (rax to be set) */
	const void *fpu; /* the image the guest loads, fpu_size bytes, XRSTOR's or FXRSTOR's */
	size_t fpu_size;
	bool xrstor;
	bool flush; /* the TLB first (the page tables were put back) */
	const void *xsave; /* the same as KVM_SET_XSAVE takes it (the host loading it instead) */
};
void vm_reset_frame(const struct vm *vm, struct vm_reset_frame *f);

/* gmem.c: KVM's translations of a range dropped (a shadow MMU caches them past a CR3
 * reload). */
void gmem_zap(struct vm *vm, uint64_t gpa, uint64_t size);

/* vcpu.c */
void vcpu_forget_run(struct vm *vm);

/* kstats.c */
void kstats_init(struct vm *vm);
void kstats_fini(struct vm *vm);

/* kvm.c */
int kvm_fd(void);
/* The KVM_SYNC_X86_* fields KVM_RUN can carry in the run page (KVM_CAP_SYNC_REGS). */
int kvm_sync_fields(void);
/* The vCPU's system registers: KVM's, or the ones the next KVM_RUN will load
 * (load_snapshot hands them over in the run page). */
int vm_get_sregs(struct vm *vm, struct kvm_sregs *out);
struct vm *kvm_alloc_vm(uint64_t user_size, int *err);
int kvm_open_vcpu(struct vm *vm);

/* vdso.c */
int vdso_share_tsc(struct vm *vm);

/* Page bitmaps (one bit per guest-physical page). */
static inline bool bit_test(const uint64_t *bits, uint64_t pg)
{
	return bits[pg / 64] & (1ULL << (pg % 64));
}

static inline void bit_set(uint64_t *bits, uint64_t pg)
{
	bits[pg / 64] |= 1ULL << (pg % 64);
}

static inline void bit_clear(uint64_t *bits, uint64_t pg)
{
	bits[pg / 64] &= ~(1ULL << (pg % 64));
}

/* cow.c */
void cow_fini(struct vm *vm);
/* Note that page pg of a fork was written (by the guest or the host), for reset.
 * -ENOMEM if it could not be listed (the reset then fails rather than miss it). */
int cow_dirty_page(struct vm *vm, uint64_t pg);
/* Note host writes to guest-physical [gpa, gpa+size) of a fork, for reset. */
static inline void cow_mark(struct vm *vm, uint64_t gpa, uint64_t size)
{
	if (!vm->dirty_bits || size == 0)
		return;
	for (uint64_t pg = gpa >> 12; pg <= (gpa + size - 1) >> 12; pg++)
		if (!bit_test(vm->dirty_bits, pg))
			cow_dirty_page(vm, pg);
}
void cow_pt_written(struct pt *pt, uint64_t gpa);
/* A fork's vm_discard_range: fresh zero pages over the range (recorded for reset). */
int cow_discard(struct vm *vm, uint64_t gpa, uint64_t size);
/* A fork changed the host layout of [gpa, gpa+size): reset restores the template's. */
int cow_note_remap(struct vm *vm, uint64_t gpa, uint64_t size);

/* filemap.c */
int fmap_map_memfd(struct vm *vm, uint64_t gpa, uint64_t size);
bool fmap_any(const struct vm *vm, uint64_t gpa, uint64_t size);
int fmap_clear(struct vm *vm, uint64_t gpa, uint64_t size);
int fmap_restore(struct vm *vm, uint64_t gpa, uint64_t size);
int fmap_copy_list(struct vm *vm, const struct vm *from);
/* Whether any of vm's file maps is shared, and whether page gpa lies in one. */
bool fmap_has_shared(const struct vm *vm);
bool fmap_shared_at(const struct vm *vm, uint64_t gpa);
void fmap_fini(struct vm *vm);

/* cpu.c: descriptor tables and initial vCPU state (no memory allocation). */
void cpu_write_tables(struct vm *vm);
int cpu_init_vcpu(struct vm *vm);

/* gmem.c */
int gmem_init(struct vm *vm);
void gmem_fini(struct vm *vm);
int gmem_map_kernel(struct vm *vm);
#define GMEM_SLOT_SIZE (1ULL << 30)
int gmem_slots_init(struct vm *vm);
int gmem_add_slot(struct vm *vm, unsigned slot);
unsigned gmem_kernel_slot(const struct vm *vm);
uint64_t gmem_slot_gpa(const struct vm *vm, unsigned slot);
uint64_t gmem_slot_end(const struct vm *vm, unsigned slot);

/* The kernel area seen through the host (offset from layout.h). */
static inline void *karea_ptr(struct vm *vm, uint64_t off)
{
	return vm->mem + vm->karea + off;
}

#endif
