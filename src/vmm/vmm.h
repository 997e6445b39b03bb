/* vmm.h - the KVM guest core: one VM, one vCPU, identity-mapped user memory, no guest kernel.
 *
 * This is the only header users of libvmm include.  Conventions: functions return 0 or a
 * negative errno; nothing here exits the process or prints.
 * A `struct vm` is used by one host thread at a time.
 *
 * Memory model (see docs/design.md): guest-virtual user address X is guest-physical X and
 * byte X of the VM's backing memfd.  Memory appears on first touch in the host kernel
 * (the memfd is sparse), so mapping a range costs page-table entries, not memory.
 */
#ifndef VMM_H
#define VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <linux/kvm.h>

typedef uint64_t gva_t; /* guest-virtual address: never dereference on the host */
typedef uint64_t gpa_t; /* guest-physical address */

struct vm;

struct vm_config {
	uint64_t user_size; /* size of the user address range [0, user_size), page aligned */
};

/* Checks that KVM is usable.  Returns 0, -ENOENT (no /dev/kvm), -EACCES, or -ENOSYS (API). */
int vm_kvm_available(void);

int vm_create(struct vm **out, const struct vm_config *cfg);
/* The largest user_size vm_create accepts on this host (a multiple of 2 MiB): the guest's
 * half of the address space, KVM's memory slots (one per GiB, see gmem.c) and the CPU's
 * physical address bits bound it.  0 when KVM is not usable. */
uint64_t vm_max_user_size(void);
void vm_destroy(struct vm *vm);
uint64_t vm_user_size(const struct vm *vm);

/* --- user memory ------------------------------------------------------------------------------
 * vm_map_range sets the guest's access to [addr, addr+size) (page aligned, inside the user
 * range) to `prot` (PROT_READ/WRITE/EXEC; PROT_NONE removes the pages from the guest's view
 * but keeps their content).  vm_discard_range drops the content: the range reads as zero
 * afterwards (munmap, MADV_DONTNEED, a fresh mmap over old memory). */
int vm_map_range(struct vm *vm, gva_t addr, uint64_t size, int prot);
/* Present PTEs lost rights since the last entry: the next entry reloads CR3. */
bool vm_tlb_flush_pending(const struct vm *vm);
int vm_discard_range(struct vm *vm, gva_t addr, uint64_t size);
/* munmap: both of the above (no access, content dropped), without a TLB flush by the guest
 * (the host pages' replacement makes KVM drop their translations: gmem.c). */
int vm_unmap_range(struct vm *vm, gva_t addr, uint64_t size);
/* MADV_DONTNEED: like vm_discard_range, except that file pages shown by vm_map_file keep
 * showing the file (which is what dropping a private file page means). */
int vm_dontneed_range(struct vm *vm, gva_t addr, uint64_t size);

/* Show the file's bytes [off, off+size) of host_fd at addr, copy-on-write (the host page
 * cache's pages; memory only when written).  Everything page aligned.  The guest must only
 * get read/exec rights there; call vm_materialize before granting write. */
int vm_map_file(struct vm *vm, gva_t addr, uint64_t size, int host_fd, uint64_t off);
/* The same with the file's own pages, MAP_SHARED: the guest may write them and its writes
 * are the file's, in every fork too; reset leaves them as they are (filemap.c). */
int vm_map_file_shared(struct vm *vm, gva_t addr, uint64_t size, int host_fd, uint64_t off);
/* The page at addr is such a shared file page (MAP_SHARED memory: other processes may see
 * and change it). */
bool vm_shared_at(const struct vm *vm, gva_t addr);
/* An anonymous MAP_SHARED mapping: memfd's pages [0, size) at addr, shared like a file's
 * with fork(2) children; in server mode the template's is copy-on-write in each request VM
 * and restored by reset, as private memory is. */
int vm_map_anon_shared(struct vm *vm, gva_t addr, uint64_t size, int memfd);
/* Turn any private file pages in [addr, addr+size) into ordinary guest memory, same
 * content (shared ones stay the file's). */
int vm_materialize(struct vm *vm, gva_t addr, uint64_t size);

/* The host address of guest-virtual addr if the guest (user mode) may access that page for
 * reading (write=false) or writing; NULL otherwise.  Pages are contiguous on the host, so a
 * caller checks each page it touches, then copies in one go (see sys/uaccess.c). */
void *vm_user_page(struct vm *vm, gva_t addr, bool write);
/* vm_user_page(vm, addr, true) without noting the page as written: for a buffer of which
 * the host will write only part (a read() into a large buffer), the caller notes what it
 * did write with vm_wrote, so reset restores those pages and no others. */
void *vm_user_page_writable(struct vm *vm, gva_t addr);
/* The host wrote [host, host+size) of guest memory (an address from vm_user_page*). */
void vm_wrote(struct vm *vm, const void *host, uint64_t size);
/* The host address of [addr, addr+size) without a permission check, for the loader writing
 * into ranges it mapped itself.  NULL when outside the user range. */
void *vm_user_ptr_unchecked(struct vm *vm, gva_t addr, uint64_t size);

/* The guest vDSO (clock_gettime & co. without a VM exit): vm_vdso_size() bytes, page
 * aligned, to be mapped read+exec at addr by the caller (user memory it owns), then
 * written by vm_install_vdso.  Its ELF header is at addr (AT_SYSINFO_EHDR). */
size_t vm_vdso_size(void);
int vm_install_vdso(struct vm *vm, gva_t addr);
/* Move the vDSO's monotonic clocks back by offset_ns from the template's (a fork's
 * clock, see restart_monotonic in src/requestvm/requestvm.c).  The data page must hold the template's. */
int vm_vdso_shift_monotonic(struct vm *vm, gva_t addr, int64_t offset_ns);

/* --- the vCPU ----------------------------------------------------------------------------- */
enum vm_exit {
	VM_EXIT_SYSCALL, /* the guest executed `syscall`: registers hold the request */
	VM_EXIT_FAULT, /* an exception in the guest: see struct vm_fault */
	VM_EXIT_TIMEOUT, /* the deadline set by vm_set_deadline passed */
	VM_EXIT_TICK, /* a vm_set_tick tick interrupted user code (vm_save_user_state works) */
	VM_EXIT_ERROR, /* KVM refused to run the vCPU (bad state, internal error) */
	VM_EXIT_RING_DONE, /* the ring thread ran a call and wants the host to look (ring.c) */
};

struct vm_fault {
	int vector; /* exception vector 0-31, or one of VM_FAULT_* below */
	uint64_t error; /* error code pushed by the CPU (0 when none) */
	uint64_t rip; /* where it happened */
	uint64_t addr; /* CR2 for page faults */
	uint64_t rsp;
	uint64_t rflags;
	bool user; /* in user mode (CPL 3) */
	const char *what; /* for VM_EXIT_ERROR: a short reason */
};

/* vm_fault.vector values that are not exceptions: */
#define VM_FAULT_SHUTDOWN (-1) /* a triple fault: the vCPU shut down (vmm) */
#define VM_FAULT_SIGNAL (-2) /* no fault: a process ended by a signal it did not handle (src/sys) */

/* Runs until the next exit the host must handle. */
enum vm_exit vm_run(struct vm *vm, struct vm_fault *fault);

/* The vCPU's general registers as of the last exit; modify freely, they are written back
 * on the next vm_run.  At VM_EXIT_SYSCALL: rax = number, rdi rsi rdx r10 r8 r9 = args;
 * set rax to the result. */
struct kvm_regs *vm_regs(struct vm *vm);

/* Full user-mode state for starting the program, signal delivery, sigreturn and thread
 * switches.  vm_load_user_state makes the next vm_run continue in user mode at regs->rip with
 * exactly these registers (rcx and r11 included). */
void vm_load_user_state(struct vm *vm, const struct kvm_regs *regs);
/* The user-mode registers right now, whatever the exit (syscall: rip = rcx). */
void vm_save_user_state(struct vm *vm, struct kvm_regs *out);

/* Re-execute the syscall the guest is stopped in, from scratch, on the next vm_run. */
void vm_restart_syscall(struct vm *vm);
/* The same without entering the guest: the next vm_run returns VM_EXIT_SYSCALL at once
 * with the registers of the call the vCPU is stopped in, as if the guest had issued it
 * again (a fork or reset re-issuing the wait its template stopped in costs no hypervisor
 * entry).  Until then the user state is that of the call about to be issued, as after
 * vm_restart_syscall: a signal delivered or a thread switched meanwhile (vm_save_user_state,
 * vm_load_user_state) makes the call run again from the syscall instruction instead.
 * Not stopped at a syscall: vm_restart_syscall. */
void vm_replay_syscall(struct vm *vm);

int vm_set_fs_base(struct vm *vm, uint64_t base);
uint64_t vm_fs_base(const struct vm *vm);

/* FPU/SSE/AVX state, for thread switches and signal frames: an XSAVE image of
 * vm_xsave_size() bytes (at least 4096; larger when the CPU's state is, KVM_CAP_XSAVE2). */
size_t vm_xsave_size(const struct vm *vm);
int vm_get_xsave(struct vm *vm, void *buf);
int vm_set_xsave(struct vm *vm, const void *buf);

/* Stop the next (or current) vm_run with VM_EXIT_TIMEOUT at CLOCK_MONOTONIC time
 * deadline_ns; 0 clears it.  Uses a per-thread timer and signal; call from the thread that
 * runs the VM. */
int vm_set_deadline(struct vm *vm, uint64_t deadline_ns);
/* From another thread (the ring thread) while the vCPU thread runs the VM: re-arms the
 * timer that thread made, -EAGAIN when it has none yet (vm_deadline_remote_ok). */
int vm_set_deadline_remote(struct vm *vm, uint64_t deadline_ns);
bool vm_deadline_remote_ok(const struct vm *vm);
/* Interrupt host thread th's blocking call (EINTR) or its next KVM_RUN entry, as the
 * deadline does, without ending anything: a guest process signalled by another. */
int vm_interrupt_thread(pthread_t th);

/* --- fork and reset (cow.c) -------------------------------------------------------------
 * vm_freeze records the vCPU state of a stopped VM; from then on the VM must not run or
 * change its memory: it is the template.  vm_fork makes a copy-on-write VM that starts in
 * that state; its memory costs what it writes.  vm_reset puts a fork back into the
 * template's state (memory, registers, FPU, page tables), in time proportional to the
 * pages it dirtied.  The template must outlive its forks. */
struct vm_reset_stats {
	uint64_t dirty_pages; /* pages restored */
	uint64_t guest_pages; /* of which the guest wrote first (the rest the host wrote for it) */
	uint64_t hot_pages; /* of the guest's, kept writable and copied back at every reset */
	uint64_t ns; /* time taken */
};
int vm_freeze(struct vm *vm);
int vm_fork(struct vm *tmpl, struct vm **out);
/* A full copy of a running VM (not a template, not a fork) for fork(2): its own memory
 * holding src's data, the same page tables and file overlays, src's vCPU state.  The two
 * are independent afterwards (vmcopy.c). */
int vm_copy(struct vm *src, struct vm **out);
int vm_reset(struct vm *vm, struct vm_reset_stats *st);
/* Before the rest of a reset's work (the host fds): lets a spinning ring thread start on
 * the memory part that vm_reset finishes. */
void vm_reset_post(struct vm *vm);
/* Resets under the guest (cow.c, docs/design.md): the ring thread, running the call that
 * ended a fork's request, resets the fork while its guest spins in the trampoline;
 * vm_ring_answer_reset then hands the guest the template's state to load itself.
 * vm_can_reset_under_guest: whether nothing the reset changes needs the vCPU stopped, and
 * the last request put back few enough pages for the ring thread to copy alone;
 * vm_reset_under_guest: its memory part (all but the ring page), counted as vm_reset;
 * vm_frozen_syscall: the call the template stopped in (false: it stopped elsewhere). */
bool vm_can_reset_under_guest(const struct vm *vm);
int vm_reset_under_guest(struct vm *vm, struct vm_reset_stats *st);
bool vm_frozen_syscall(const struct vm *vm, uint64_t *nr, uint64_t args[6]);
/* A fork's pages dirtied since its fork or last reset, counted as vm_reset will count
 * them (dirtycount.c).  Costs one dirty-log read per memory slot in use. */
int vm_dirty_count(struct vm *vm, uint64_t *pages);

/* Cumulative counters, for --verbose and the benchmark. */
struct vm_stats {
	uint64_t exits; /* VM exits handled (KVM_RUN returns) */
	/* Hypervisor entries of any kind, those KVM handles itself included (KVM's own
	 * "exits" counter, see kstats.c); valid only when entries_known (a kernel without
	 * KVM_GET_STATS_FD does not tell).  Read afresh by each vm_stats call. */
	uint64_t entries;
	/* Of those, the ones a host interrupt or signal caused (KVM's irq_exits and
	 * signal_exits): the machine's doing, not the guest's; they vary with the load. */
	uint64_t entries_interrupted;
	bool entries_known;
	uint64_t guest_ns; /* time inside KVM_RUN: guest code and the exits the kernel handles */
	uint64_t syscalls;
	uint64_t faults;
	uint64_t resets;
	uint64_t dirty_pages; /* restored by resets, in total */
	uint64_t ring_calls; /* syscalls the ring thread ran (no VM exit) */
	uint64_t ring_timeouts; /* posts the ring thread did not take within the guest's spin */
	uint64_t rewrites; /* syscall sites rewritten to `call *%rax` */
};
const struct vm_stats *vm_stats(struct vm *vm);

/* KVM's per-vCPU counters of hypervisor entries (kstats.c), by kind.  VM_ENTRY_ALL counts
 * every exit from the guest; the others are the reasons KVM counts separately (a page
 * fault KVM took, one it delivered to the guest's IDT, an exit to userspace for port I/O,
 * a signal, ...), so they overlap and need not sum to the total. */
enum vm_entry_kind {
	VM_ENTRY_ALL,
	VM_ENTRY_IO,
	VM_ENTRY_PF_TAKEN,
	VM_ENTRY_PF_GUEST,
	VM_ENTRY_SIGNAL,
	VM_ENTRY_IRQ,
	VM_ENTRY_HALT,
	VM_ENTRY_EMULATION,
	VM_ENTRY_TLB_FLUSH,
	VM_ENTRY_HOST_RELOAD,
	VM_ENTRY_KINDS
};
struct vm_entries {
	bool known; /* false: this kernel has no KVM_GET_STATS_FD; all zero */
	uint64_t n[VM_ENTRY_KINDS];
};
/* One pread.  -ENOTSUP when the counters are not available. */
int vm_entry_counts(struct vm *vm, struct vm_entries *out);
/* KVM's name of a kind ("exits", "pf_guest", ...). */
const char *vm_entry_kind_name(int kind);

/* Debugging (KVMSERVER_TRACE_EXITS, src/server): fn is called after every return of
 * KVM_RUN in every VM of the process, with what the exit was and KVM's counters' change
 * since the previous return on that vCPU.  NULL turns it off. */
struct vm_exit_trace {
	int kvm_reason; /* kvm_run's exit_reason; -1 for an interrupted KVM_RUN (EINTR) */
	int vector; /* for an exception exit: the vector (-1 a triple fault); else -1 */
	bool syscall; /* a system call exit: nr is its number */
	bool replayed; /* a call vm_replay_syscall handed over (no KVM_RUN) */
	uint64_t nr, rip; /* rip: the user's (a syscall's return address) or the vCPU's */
	struct vm_entries delta;
};
void vm_set_exit_trace(void (*fn)(void *ctx, const struct vm_exit_trace *t), void *ctx);

/* Human-readable name of a vector, e.g. "page fault". */
const char *vm_vector_name(int vector);

uint64_t vm_now_ns(void); /* CLOCK_MONOTONIC in ns */

/* Interrupt user code every interval_ns with VM_EXIT_TICK (0 stops it): the guest's thread
 * scheduler preempts with it.  Per-thread like vm_set_deadline. */
int vm_set_tick(struct vm *vm, uint64_t interval_ns);

/* --- the ring path (ring.c; docs/design.md, "The ring path") ---------------------------------
 * vm_ring_enable maps page 0 (the trampoline, user read+exec) and the ring page (RING_VA,
 * user read+write) and installs the trampoline; the calling thread is the vCPU's.  Request
 * VMs and fork(2) copies of a VM with the ring have it too.  vm_ring_rewrite turns the
 * `syscall` at site into `call *%rax` (1), or leaves it (0: not 0f 05 in user read+exec
 * non-writable memory, a shared file page, a request VM whose template has a file page
 * there).  The ring thread: vm_ring_posted to spin, vm_ring_claim to take a request (only
 * while the vCPU runs the guest; the VM is then its until vm_ring_answer with RING_S_DONE,
 * RING_S_DONE_TRAP or RING_S_TRAP), vm_ring_sleep when idle (vm_run wakes it). */
struct vm_ring_req {
	uint64_t nr, a[6], ret;
	bool site_ok; /* ret - 2 is a rewritten site */
};
int vm_ring_enable(struct vm *vm);
bool vm_ring_on(const struct vm *vm);
int vm_ring_rewrite(struct vm *vm, gva_t site);
bool vm_ring_is_site(const struct vm *vm, gva_t site);
bool vm_ring_posted(struct vm *vm);
bool vm_ring_guest_running(struct vm *vm); /* the vCPU thread is in (or entering) KVM_RUN */
bool vm_ring_claim(struct vm *vm, struct vm_ring_req *req);
void vm_ring_answer(struct vm *vm, const struct vm_ring_req *req, int state, long result);
bool vm_ring_set_awake(struct vm *vm, bool awake); /* awake only where it may spin: what it set */
void vm_ring_sleep(struct vm *vm, uint64_t timeout_ns);
void vm_ring_kick(struct vm *vm);
/* The ring thread, spinning: take part in a reset's memory part the vCPU thread posted
 * (cow.c); false when there was nothing to do. */
bool vm_reset_help(struct vm *vm);
/* vm_ring_wake: the vCPU thread, before the guest may post (sets RING_AWAKE, wakes the
 * ring thread if it sleeps).  vm_ring_answer_held: the ring thread's answer to a call after
 * which the run loop must look: the guest spins on RING_S_HELD and the vCPU thread is
 * interrupted out of KVM_RUN (1 exit instead of a trap's 4 entries). */
void vm_ring_wake(struct vm *vm);
/* At most n VMs (n >= 1) have their guests on the ring at once, from now on (default: no
 * limit); one without a slot traps as if it had no ring thread, and its ring thread
 * sleeps (vm_ring_set_awake says false).  vm_ring_park: the vCPU thread, when its guest
 * will not run for a while (a request VM's reset and its wait for a connection): its slot
 * is lent to any VM that finds none free, until the next vm_ring_wake. */
void vm_ring_limit_spinners(int n);
/* How many VMs have their guests on the ring now (parked ones not counted), and the most
 * there were at once. */
void vm_ring_spinners(int *now, int *max);
void vm_ring_park(struct vm *vm);
/* The ring thread, when it starts; ring_stop, before it joins it. */
void vm_ring_attach(struct vm *vm);
void vm_ring_detach(struct vm *vm);
void vm_ring_answer_held(struct vm *vm, const struct vm_ring_req *req, long result);
/* The ring thread, after vm_reset_under_guest and the template's call re-issued there
 * (result: its result): the guest resumes as the template from that call, and the ring
 * thread's hold on the VM ends, as vm_ring_answer's. */
void vm_ring_answer_reset(struct vm *vm, const struct vm_ring_req *req, long result);
/* The ring thread, when a reset it began under the guest does not go on to the next
 * request: until the vCPU thread's reset, the stopped thread's memory is not its own, and
 * whatever exit comes from the trampoline ends the run (VM_EXIT_RING_DONE). */
void vm_ring_void_guest(struct vm *vm);
/* A template: nothing left posted for request VMs' ring threads. */
void vm_ring_quiesce(struct vm *vm);
/* A template about to be frozen: its executable private file pages become its own memory
 * (up to max_bytes in all), so that a request VM's rewrite can land in the template's
 * memory, which every request VM reads (a file page there could not change). */
int vm_ring_prepare_template(struct vm *vm, uint64_t max_bytes);

/* --- snapshot images (image.c) ----------------------------------------------------------------
 * A VM stopped at a syscall exit, as data for a snapshot file, and back into a fresh VM of
 * the same user size: vCPU state and page-table bookkeeping, the guest-physical extents that
 * hold data (the memfd's, not file overlays), the memory slots in use and the file
 * overlays (vm_map_file).  Loading: vm_image_clear, the extents written at vm_image_mem,
 * the slots, then vm_image_load_cpu, then the files again with vm_map_file. */
struct vm_cpu_image {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	uint64_t fs_base;
	uint64_t where, user_rip, user_rflags, user_rsp;
	uint64_t pt_pool_start, pt_pool_end, pt_pool_next, pt_root;
	uint64_t user_size, phys_size;
};
struct vm_file_map_info {
	uint64_t gpa, size, off;
	int fd; /* the VM's (do not close) */
	bool shared; /* MAP_SHARED (the file's own pages) */
};
uint64_t vm_phys_size(const struct vm *vm);
int vm_image_cpu(struct vm *vm, struct vm_cpu_image *out, void *xsave);
/* -EINVAL when the image does not fit this VM (size, page-table pool, not at a syscall). */
int vm_image_load_cpu(struct vm *vm, const struct vm_cpu_image *c, const void *xsave);
int vm_image_extents(struct vm *vm, int (*fn)(void *ctx, uint64_t gpa, uint64_t size), void *ctx);
int vm_image_read(struct vm *vm, uint64_t gpa, void *buf, size_t size);
int vm_image_clear(struct vm *vm);
/* Where to write guest-physical [gpa, gpa+size) when loading; NULL when out of range. */
void *vm_image_mem(struct vm *vm, uint64_t gpa, uint64_t size);
unsigned vm_image_nslots(const struct vm *vm);
bool vm_image_slot_on(const struct vm *vm, unsigned slot);
int vm_image_add_slot(struct vm *vm, unsigned slot);
size_t vm_image_nfmaps(const struct vm *vm);
void vm_image_fmap(const struct vm *vm, size_t i, struct vm_file_map_info *out);
/* Rewrite the vDSO's clock conversion for this host, monotonic offset_ns behind it. */
int vm_vdso_rebase(struct vm *vm, gva_t addr, int64_t offset_ns);
/* A hash of the CPU features a guest sees here. */
uint64_t vm_cpu_fingerprint(void);

/* Host signals for the guest: while `set` (bit sig-1 per signal; 0 restores the default
 * actions) is installed, each such signal sent to this process is recorded and stops the
 * vCPU soon (at once if it runs user code: VM_EXIT_TICK), and host calls it lands in end
 * with EINTR.  vm_take_signals hands the recorded set over (and clears it). */
void vm_forward_signals(uint64_t set);
uint64_t vm_signals_pending(void);
/* A host signal taken by another thread (sigwait): recorded for the guest as if it had
 * arrived, if `sig` is in the set installed now; false otherwise. */
bool vm_forward_host_signal(int sig);
uint64_t vm_take_signals(void);

#endif
