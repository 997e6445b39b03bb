/* ring.c - the ring path's VM side: page 0's trampoline, the ring page, rewritten sites,
 * the lock that keeps the vCPU thread and the ring thread apart, and the exits that come
 * from the trampoline (docs/design.md, "The ring path").
 *
 * The guest controls the ring page: the host reads a request once (vm_ring_claim) and
 * trusts nothing in it; the return address is checked against the set of sites the host
 * rewrote itself, so a NULL function-pointer call that slides through the sled is a
 * SIGSEGV at address 0, as it is on Linux.
 */
#define VMM_INTERNAL
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_syms.h"
#include "vmm/abi.h"
#include "vmm/layout.h"
#include "vmm/ring.h"
#include "vmm/vmm_impl.h"

extern const uint8_t guest_blob[];

#define PAGE0_ADDR(sym) (RING_CODE_OFF + (GUEST_SYM_##sym - GUEST_SYM_RING_CODE))
#define CODE_LEN (GUEST_SYM_RING_CODE_END - GUEST_SYM_RING_CODE)
_Static_assert(RING_CODE_OFF + (GUEST_SYM_RING_CODE_END - GUEST_SYM_RING_CODE) <= PAGE_SIZE, "ring code fits page 0");

/* The rewritten sites: an insert-only open-addressing set of addresses, shared by a
 * template and its request VMs (which read it from several workers at once, and add to it
 * when they rewrite in the template's memory), so lock-free.  Full: no more rewrites. */
#define SITES_CAP (1u << 15)
struct ring_sites {
	_Atomic uint64_t slot[SITES_CAP];
	_Atomic uint32_t n;
};

struct vm_ring {
	_Atomic int lock; /* 0 free, 1 the vCPU thread, 2 the ring thread */
	_Atomic int asleep; /* the ring thread sleeps on this word (futex) */
	struct ring_sites *sites;
	bool own_sites;
	/* The last call the ring thread completed, as the host copied it: a thread stopped
	 * in the trampoline after it is fast-forwarded with this, not with the page. */
	uint64_t done_ret, done_result;
	bool done_valid;
	pthread_t vcpu_thread; /* the thread in KVM_RUN, for vm_ring_answer_held */
	pthread_t ring_thread; /* the host ring thread while it runs (vm_ring_attach/detach) */
	_Atomic bool ring_attached;
	int avoid_cpu; /* the CPU the ring thread's affinity leaves out (-1: none yet) */
	/* Until then (vm_now_ns) the guest traps at once: a post went untaken for the whole
	 * of the trampoline's spin, so the ring thread gets no CPU (a busy machine), for
	 * backoff_ns.  That doubles while timeouts come with fewer than RING_STREAK_OK calls
	 * answered in between (streak, the ring thread's count), else starts again. */
	_Atomic uint64_t starved_until;
	uint64_t backoff_ns;
	_Atomic uint32_t streak;
	/* One of the spinner slots is this VM's (vm_ring_limit_spinners); parked: its guest
	 * does not run for a while (a request VM's reset and wait for a connection).  Both
	 * change under slot_lock; read without it only as a hint. */
	_Atomic bool slot;
	_Atomic bool parked;
	/* The last reset under the guest (vm_ring_answer_reset), until its next post: a
	 * thread stopped before it loaded the frame is given it by the host. */
	struct vm_reset_frame reset;
	bool reset_pending;
	/* A reset under the guest that found no next connection: the memory the stopped
	 * thread would resume with (its stack, the call's return address) is the template's
	 * now, so no exit may read it as the thread's; the vCPU thread's reset follows. */
	bool voided;
};

/* How many VMs may have their guest spinning on the ring at once (-1: no limit).  Each
 * such VM spins two host threads while its guest runs: past half the CPUs they would take
 * each other's, and a VM without a slot simply traps, as without a ring thread.
 *
 * A parked VM keeps its slot and its ring thread spins out its budget as before (a ring
 * thread that sleeps at once costs the next request of a lone VM ~50 us here: the CPU it
 * leaves idle is slow to wake in a nested VM).  But the slot is lent: a VM that finds
 * none free while a parked VM holds one takes one anyway (`wanted`), and the parked
 * VM's ring thread gives its own back at its next look (may_spin) and sleeps.
 * So the VMs whose guests may spin never exceed the limit for longer than that look. */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int spinner_limit = -1;
static int holders, parked_holders, wanted, active_max;

void vm_ring_limit_spinners(int n)
{
	pthread_mutex_lock(&slot_lock);
	spinner_limit = n < 1 ? 1 : n;
	pthread_mutex_unlock(&slot_lock);
}

void vm_ring_spinners(int *now, int *max)
{
	pthread_mutex_lock(&slot_lock);
	*now = holders - parked_holders;
	*max = active_max;
	pthread_mutex_unlock(&slot_lock);
}

static void note_active_locked(void)
{
	if (holders - parked_holders > active_max)
		active_max = holders - parked_holders;
}

static bool slot_take(struct vm_ring *r)
{
	if (atomic_load_explicit(&r->slot, memory_order_relaxed))
		return true;
	pthread_mutex_lock(&slot_lock);
	bool ok = r->slot;
	if (!ok && (spinner_limit < 0 || holders < spinner_limit)) {
		ok = true;
	} else if (!ok && parked_holders > wanted) {
		wanted++; /* one of the parked VMs gives its slot back at its next look */
		ok = true;
	}
	if (ok && !r->slot) {
		atomic_store(&r->slot, true);
		holders++;
		if (r->parked)
			parked_holders++;
		note_active_locked();
	}
	pthread_mutex_unlock(&slot_lock);
	return ok;
}

static void slot_give_locked(struct vm_ring *r)
{
	if (!r->slot)
		return;
	atomic_store(&r->slot, false);
	holders--;
	if (r->parked) {
		parked_holders--;
		if (wanted > 0)
			wanted--; /* a parked slot freed: what a borrower was waiting for */
	}
	/* Never more owed than the VMs past the limit (a borrower may have slept since). */
	int over = spinner_limit >= 0 && holders > spinner_limit ? holders - spinner_limit : 0;
	if (wanted > over)
		wanted = over;
}

static void slot_give(struct vm_ring *r)
{
	pthread_mutex_lock(&slot_lock);
	slot_give_locked(r);
	pthread_mutex_unlock(&slot_lock);
}

/* Parked, or not.  A VM unparked while another VM waits for its slot gives the slot up
 * (it was lent): it takes one again only where one is free. */
static void set_parked(struct vm_ring *r, bool parked)
{
	if (atomic_load_explicit(&r->parked, memory_order_relaxed) == parked)
		return;
	pthread_mutex_lock(&slot_lock);
	if (r->parked != parked) {
		if (!parked && r->slot && wanted > 0)
			slot_give_locked(r);
		if (r->slot)
			parked_holders += parked ? 1 : -1;
		atomic_store(&r->parked, parked);
		note_active_locked();
	}
	pthread_mutex_unlock(&slot_lock);
}

/* How long the guest traps at once after a post nobody took.  A client process starting
 * on the ring thread's CPU takes it for a millisecond or so: the request's next calls
 * trap, then the ring serves again.  A ring thread that gets no CPU at all (kvmserver
 * confined to one CPU with other work) costs one wasted spin (~0.5 ms) per 64 ms. */
#define RING_BACKOFF_MIN_NS (1000 * 1000ULL)
#define RING_BACKOFF_MAX_NS (64 * 1000 * 1000ULL)
#define RING_STREAK_OK 16

static uint64_t site_hash(uint64_t a)
{
	a *= 0x9e3779b97f4a7c15ULL;
	return a >> 49; /* 15 bits */
}

static bool sites_has(const struct ring_sites *s, uint64_t a)
{
	if (!s || !a)
		return false;
	for (uint32_t i = 0, h = (uint32_t)site_hash(a); i < SITES_CAP; i++, h = (h + 1) & (SITES_CAP - 1)) {
		uint64_t v = atomic_load_explicit(&s->slot[h], memory_order_acquire);
		if (v == a)
			return true;
		if (!v)
			return false;
	}
	return false;
}

static int sites_add(struct ring_sites *s, uint64_t a)
{
	if (atomic_load_explicit(&s->n, memory_order_relaxed) >= SITES_CAP / 2)
		return -ENOSPC;
	for (uint32_t i = 0, h = (uint32_t)site_hash(a); i < SITES_CAP; i++, h = (h + 1) & (SITES_CAP - 1)) {
		uint64_t expect = 0;
		if (atomic_compare_exchange_strong(&s->slot[h], &expect, a)) {
			atomic_fetch_add(&s->n, 1);
			return 0;
		}
		if (expect == a)
			return 0;
	}
	return -ENOSPC;
}

static uint32_t *ring_word(struct vm *vm, unsigned off)
{
	return (uint32_t *)(vm->mem + RING_VA + off);
}

static uint64_t ring_q(struct vm *vm, unsigned off)
{
	uint64_t v;
	memcpy(&v, vm->mem + RING_VA + off, 8);
	return v;
}

static _Atomic uint32_t *ring_state(struct vm *vm)
{
	return (_Atomic uint32_t *)ring_word(vm, RING_STATE);
}

bool vm_ring_on(const struct vm *vm)
{
	return vm->ring != NULL;
}

int vm_ring_enable(struct vm *vm)
{
	if (vm->ring)
		return 0;
	if (vm->tmpl || vm->snap)
		return -EINVAL; /* request VMs inherit their template's (vm_ring_fork) */
	struct vm_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->sites = calloc(1, sizeof(*r->sites));
	if (!r->sites) {
		free(r);
		return -ENOMEM;
	}
	r->own_sites = true;
	int err = vm_map_range(vm, 0, PAGE_SIZE, PROT_READ | PROT_EXEC);
	if (!err)
		err = vm_map_range(vm, RING_VA, PAGE_SIZE, PROT_READ | PROT_WRITE);
	if (err) {
		free(r->sites);
		free(r);
		return err;
	}
	uint8_t *p0 = vm->mem;
	memset(p0, 0xcc, PAGE_SIZE); /* int3: a call landing past the sled faults */
	memset(p0, 0x90, RING_SLED); /* nop */
	/* jmp rel32 from the sled's end to the code */
	int32_t rel = (int32_t)(RING_CODE_OFF - (RING_SLED + 5));
	p0[RING_SLED] = 0xe9;
	memcpy(p0 + RING_SLED + 1, &rel, 4);
	memcpy(p0 + RING_CODE_OFF, guest_blob + GUEST_SYM_RING_CODE, CODE_LEN);
	memset(vm->mem + RING_VA, 0, PAGE_SIZE);
	atomic_store(&r->lock, 1); /* the thread enabling it is the vCPU's */
	vm->ring = r;
	return 0;
}

int vm_ring_inherit(struct vm *vm, struct vm *from, bool share_sites)
{
	if (!from->ring)
		return 0;
	struct vm_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (share_sites) {
		r->sites = from->ring->sites;
	} else {
		r->sites = malloc(sizeof(*r->sites));
		if (!r->sites) {
			free(r);
			return -ENOMEM;
		}
		memcpy((void *)r->sites, from->ring->sites, sizeof(*r->sites));
		r->own_sites = true;
	}
	atomic_store(&r->lock, 1);
	vm->ring = r;
	return 0;
}

void vm_ring_fini(struct vm *vm)
{
	if (!vm->ring)
		return;
	if (vm->ring->own_sites)
		free(vm->ring->sites);
	free(vm->ring);
	vm->ring = NULL;
}

bool vm_ring_is_site(const struct vm *vm, gva_t site)
{
	return vm->ring && sites_has(vm->ring->sites, site);
}

/* The 2 bytes at site as the guest sees them, if the page is user-executable and not
 * writable (a writable page is a JIT's: its bytes are its own, left alone). */
static uint8_t *code_at(struct vm *vm, gva_t site)
{
	if (site >= vm->user_size || (site & PAGE_MASK) != ((site + 1) & PAGE_MASK))
		return NULL;
	uint64_t pte = pt_lookup(&vm->pt, site & PAGE_MASK);
	if ((pte & (PTE_P | PTE_U | PTE_W | PTE_NX)) != (PTE_P | PTE_U))
		return NULL;
	return vm->mem + site;
}

int vm_ring_rewrite(struct vm *vm, gva_t site)
{
	struct vm_ring *r = vm->ring;
	if (!r || site < USER_MIN_ADDR || (site & 63) == 63) /* one store within a cache line */
		return 0;
	uint8_t *b = code_at(vm, site);
	if (!b || b[0] != 0x0f || b[1] != 0x05)
		return 0;
	struct vm *into = vm->tmpl ? vm->tmpl : vm;
	uint64_t pg = site & PAGE_MASK;
	if (vm->tmpl) {
		/* A request VM's rewrite goes to the template's memory, which every request VM
		 * reads where it has not written: reset would undo it in the fork.  Only where
		 * the template's page is its memfd's: a file overlay there cannot change now. */
		if (fmap_any(into, pg, PAGE_SIZE) || fmap_any(vm, pg, PAGE_SIZE))
			return 0;
	} else if (fmap_shared_at(vm, pg)) {
		return 0; /* the file's own pages: never write a host file */
	} else if (fmap_any(vm, pg, PAGE_SIZE)) {
		/* A private file page: make it guest memory first, so the store lands in the
		 * memfd (and request VMs made later see it), never in the page cache. */
		int err = vm_materialize(vm, pg, PAGE_SIZE);
		if (err)
			return err;
	}
	uint8_t *t = into->mem + site;
	if (t[0] != 0x0f || t[1] != 0x05)
		return 0; /* done in the template; this fork has its own copy of the page */
	int err = sites_add(r->sites, site);
	if (err)
		return 0;
	/* One 16-bit store: an instruction fetch sees either `syscall` or `call *%rax`. */
	__atomic_store_n((uint16_t *)(void *)t, (uint16_t)0xd0ff, __ATOMIC_RELEASE);
	vm->stats.rewrites++;
	return 1;
}

int vm_ring_prepare_template(struct vm *vm, uint64_t max_bytes)
{
	if (!vm->ring)
		return 0;
	uint64_t done = 0;
	for (size_t i = 0; i < vm->nfmaps; i++) {
		const struct file_map *m = &vm->fmaps[i];
		uint64_t pte = pt_lookup(&vm->pt, m->gpa);
		if (m->shared || (pte & (PTE_P | PTE_U | PTE_W | PTE_NX)) != (PTE_P | PTE_U) ||
		    done + m->size > max_bytes)
			continue;
		uint64_t gpa = m->gpa, size = m->size;
		int err = vm_materialize(vm, gpa, size);
		if (err)
			return err;
		done += size;
		i = (size_t)-1; /* the list changed */
	}
	return 0;
}

/* --- the lock --------------------------------------------------------------------------------- */

static void futex_op(_Atomic int *w, int op, int val)
{
	syscall(SYS_futex, (int *)w, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

void vm_ring_attach(struct vm *vm)
{
	struct vm_ring *r = vm->ring;
	r->ring_thread = pthread_self();
	r->avoid_cpu = -1;
	atomic_store(&r->ring_attached, true);
}

void vm_ring_detach(struct vm *vm)
{
	if (!vm->ring)
		return;
	atomic_store(&vm->ring->ring_attached, false);
	slot_give(vm->ring);
}

/* Keep the ring thread off the vCPU thread's CPU.  Woken by the vCPU thread, the host
 * scheduler tends to queue it on the waker's CPU, behind the vCPU spinning in the guest
 * for its answer (milliseconds until a tick moves one of them). */
static void avoid_vcpu_cpu(struct vm_ring *r)
{
	int cpu = sched_getcpu();
	if (!atomic_load(&r->ring_attached) || cpu < 0 || cpu == r->avoid_cpu)
		return;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) || !CPU_ISSET(cpu, &set) || CPU_COUNT(&set) < 2)
		return;
	CPU_CLR(cpu, &set);
	if (pthread_setaffinity_np(r->ring_thread, sizeof(set), &set) == 0)
		r->avoid_cpu = cpu;
}

static bool ring_starved(struct vm_ring *r)
{
	uint64_t until = atomic_load_explicit(&r->starved_until, memory_order_relaxed);
	if (!until)
		return false;
	if (vm_now_ns() < until)
		return true;
	atomic_store_explicit(&r->starved_until, 0, memory_order_relaxed);
	return false;
}

void vm_ring_wake(struct vm *vm)
{
	struct vm_ring *r = vm->ring;
	avoid_vcpu_cpu(r);
	/* The guest may post at once: the ring thread wakes in ~80 us here, a trap costs more.
	 * Ordered against vm_ring_sleep (both seq_cst): either this sees it asleep and wakes
	 * it, or its own RING_AWAKE = 0 comes after this store and the guest traps as before.
	 * No ring thread (not started yet, or stopped): the guest traps at once, as before. */
	set_parked(r, false);
	_Atomic uint32_t *awake = (_Atomic uint32_t *)ring_word(vm, RING_AWAKE);
	if (!atomic_load(&r->ring_attached) || ring_starved(r) || !slot_take(r)) {
		/* The guest traps: no ring thread, or none that may spin.  Say so: a flag left
		 * at 1 by the last request (a slot lent since, or lost) would make the guest post
		 * and spin out its whole budget for a ring thread that never comes. */
		if (atomic_load_explicit(awake, memory_order_relaxed))
			atomic_store(awake, 0);
		return;
	}
	atomic_store(awake, 1);
	if (atomic_load(&r->asleep)) {
		atomic_store(&r->asleep, 0);
		futex_op(&r->asleep, FUTEX_WAKE, 1);
	}
}

void ring_before_run(struct vm *vm)
{
	struct vm_ring *r = vm->ring;
	r->vcpu_thread = pthread_self();
	atomic_store_explicit(&r->lock, 0, memory_order_release);
	vm_ring_wake(vm);
}

/* The ring thread is in a long call, or preempted in one by other work on its CPU: let
 * it onto this thread's CPU too, and sleep in short steps until it is done.  The next
 * vm_ring_wake keeps it off this CPU again. */
static void give_cpu_to_ring(struct vm_ring *r)
{
	cpu_set_t set;
	if (atomic_load(&r->ring_attached) && sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    pthread_setaffinity_np(r->ring_thread, sizeof(set), &set) == 0)
		r->avoid_cpu = -1;
}

void ring_after_run(struct vm *vm)
{
	struct vm_ring *r = vm->ring;
	for (unsigned spins = 0;; spins++) {
		int expect = 0;
		if (atomic_compare_exchange_weak_explicit(&r->lock, &expect, 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return;
		if (spins < 1000) {
			__builtin_ia32_pause();
			continue;
		}
		if (spins == 1000)
			give_cpu_to_ring(r);
		struct timespec step = {0, 50 * 1000};
		syscall(SYS_futex, (int *)&r->lock, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 2, &step, NULL, 0);
	}
}

bool vm_ring_guest_running(struct vm *vm)
{
	return atomic_load_explicit(&vm->ring->lock, memory_order_relaxed) == 0;
}

bool vm_ring_posted(struct vm *vm)
{
	return atomic_load_explicit(ring_state(vm), memory_order_acquire) == RING_S_POSTED;
}

static bool may_spin(struct vm *vm);

bool vm_ring_set_awake(struct vm *vm, bool awake)
{
	_Atomic uint32_t *w = (_Atomic uint32_t *)ring_word(vm, RING_AWAKE);
	if (awake && !may_spin(vm))
		awake = false;
	if (atomic_load_explicit(w, memory_order_relaxed) != (uint32_t)awake)
		atomic_store(w, (uint32_t)awake);
	return awake;
}

void vm_ring_sleep(struct vm *vm, uint64_t timeout_ns)
{
	struct vm_ring *r = vm->ring;
	atomic_store(&r->asleep, 1);
	vm_ring_set_awake(vm, false); /* after `asleep`: see vm_ring_wake */
	/* A post that raced the flag: the guest saw RING_AWAKE = 1 before it changed. */
	if (vm_ring_posted(vm)) {
		atomic_store(&r->asleep, 0);
		vm_ring_set_awake(vm, true);
		return;
	}
	slot_give(r);
	struct timespec ts = {(time_t)(timeout_ns / 1000000000ULL), (long)(timeout_ns % 1000000000ULL)};
	syscall(SYS_futex, (int *)&r->asleep, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, &ts, NULL, 0);
	atomic_store(&r->asleep, 0);
	vm_ring_set_awake(vm, true);
}

/* The ring thread: whether it may go on spinning (it holds a slot, or took one; not
 * parked, not starved; parked: keeps its slot while no other VM waits for one). */
static bool may_spin(struct vm *vm)
{
	struct vm_ring *r = vm->ring;
	if (!atomic_load(&r->parked))
		return !ring_starved(r) && slot_take(r);
	/* Parked: spin on with the slot it has, unless another VM is waiting for one. */
	pthread_mutex_lock(&slot_lock);
	bool keep = r->slot && wanted == 0;
	if (!keep)
		slot_give_locked(r);
	pthread_mutex_unlock(&slot_lock);
	return keep;
}

void vm_ring_park(struct vm *vm)
{
	if (vm->ring)
		set_parked(vm->ring, true);
}

bool vm_ring_helper_spinning(struct vm *vm)
{
	return atomic_load(&vm->ring->ring_attached) && !atomic_load(&vm->ring->asleep);
}

void vm_ring_kick(struct vm *vm)
{
	atomic_store(&vm->ring->asleep, 0);
	futex_op(&vm->ring->asleep, FUTEX_WAKE, 1);
}

bool vm_ring_claim(struct vm *vm, struct vm_ring_req *req)
{
	struct vm_ring *r = vm->ring;
	int expect = 0;
	if (!atomic_compare_exchange_strong_explicit(&r->lock, &expect, 2, memory_order_acquire, memory_order_relaxed))
		return false; /* the vCPU thread is outside KVM_RUN: it owns the process */
	uint32_t posted = RING_S_POSTED;
	if (!atomic_compare_exchange_strong(ring_state(vm), &posted, RING_S_CLAIMED)) {
		atomic_store_explicit(&r->lock, 0, memory_order_release);
		return false;
	}
	/* Copied once: the guest may change the page under us. */
	req->nr = ring_q(vm, RING_NR);
	for (int i = 0; i < 6; i++)
		req->a[i] = ring_q(vm, RING_ARGS + 8 * i);
	req->ret = ring_q(vm, RING_RET);
	r->reset_pending = false; /* a new post: past any frame it had to load */
	req->site_ok = req->ret >= 2 && sites_has(r->sites, req->ret - 2);
	return true;
}

void vm_ring_answer(struct vm *vm, const struct vm_ring_req *req, int state, long result)
{
	struct vm_ring *r = vm->ring;
	if (state != RING_S_TRAP) {
		memcpy(vm->mem + RING_VA + RING_RESULT, &result, 8);
		r->done_ret = req->ret;
		r->done_result = (uint64_t)result;
		r->done_valid = true;
		vm->stats.ring_calls++;
		atomic_fetch_add_explicit(&r->streak, 1, memory_order_relaxed);
	}
	atomic_store_explicit(ring_state(vm), (uint32_t)state, memory_order_release);
	atomic_store_explicit(&r->lock, 0, memory_order_release);
}

void vm_ring_answer_held(struct vm *vm, const struct vm_ring_req *req, long result)
{
	struct vm_ring *r = vm->ring;
	pthread_t th = r->vcpu_thread;
	vm_ring_answer(vm, req, RING_S_HELD, result);
	vm_interrupt_thread(th); /* out of KVM_RUN with the guest still in the trampoline */
}

void vm_ring_answer_reset(struct vm *vm, const struct vm_ring_req *req, long result)
{
	struct vm_ring *r = vm->ring;
	struct vm_reset_frame *f = &r->reset;
	vm_reset_frame(vm, f);
	f->regs.rax = (uint64_t)result;
	/* The ring page as the template has it (the reset left it to us: the guest spins on
	 * its first words), then the frame. */
	uint8_t *page = vm->mem + RING_VA;
	memcpy(page + 8, vm->tmpl->mem + RING_VA + 8, PAGE_SIZE - 8);
	uint32_t how = f->xrstor, flush = f->flush;
	memcpy(page + RING_FPU_HOW, &how, sizeof(how));
	memcpy(page + RING_RESET_FLUSH, &flush, sizeof(flush));
	memcpy(page + RING_FRAME, &f->regs, sizeof(f->regs));
	memcpy(page + RING_FPU, f->fpu, f->fpu_size);
	cow_mark(vm, RING_VA, PAGE_SIZE); /* back to the template's at the next reset */
	r->reset_pending = true;
	r->done_valid = false;
	vm->stats.ring_calls++;
	atomic_store_explicit(ring_state(vm), RING_S_RESET, memory_order_release);
	atomic_store_explicit(&r->lock, 0, memory_order_release);
}

void vm_ring_void_guest(struct vm *vm)
{
	vm->ring->voided = true;
	vm->round_open = true; /* the vCPU thread's reset ends the request's round (harvest) */
}

void ring_forget_void(struct vm *vm)
{
	if (vm->ring)
		vm->ring->voided = false;
}

/* A thread stopped at rip (ring state st) that has yet to load the frame of the last
 * reset under the guest: loaded here instead, its FPU image pending (the guest may have
 * loaded it already: loading it again changes nothing).  In user mode (in_user) the
 * registers are the state, unless the TLB must be flushed: then, as from the kernel
 * trampoline, a state load through load_state_flush. */
static bool take_reset(struct vm *vm, uint64_t rip, uint32_t st, bool in_user)
{
	struct vm_ring *r = vm->ring;
	bool in_load = rip >= PAGE0_ADDR(RING_RESET_LOAD) && rip < PAGE0_ADDR(RING_RESET_END);
	bool in_code = rip >= RING_CODE_OFF && rip < RING_CODE_OFF + CODE_LEN;
	if (!r->reset_pending || !(in_load || (st == RING_S_RESET && in_code)))
		return false;
	vm->xsave_pending = r->reset.xsave;
	r->reset_pending = false;
	atomic_store(ring_state(vm), RING_S_IDLE);
	if (in_user && !r->reset.flush) {
		*vm_regs(vm) = r->reset.regs;
		return true;
	}
	vm->tlb_flush |= r->reset.flush;
	vm->where = VM_AT_FAULT; /* (any stop in ring 0: vm_load_user_state builds the frame) */
	vm_load_user_state(vm, &r->reset.regs);
	return true;
}

void vm_ring_quiesce(struct vm *vm)
{
	/* A template: nothing posted may be taken by a request VM's ring thread later. */
	if (vm->ring)
		atomic_store(ring_state(vm), RING_S_IDLE);
}

/* --- exits from the trampoline ------------------------------------------------------------------ */

static bool read_q(struct vm *vm, uint64_t addr, uint64_t *out)
{
	uint8_t *a = vm_user_page(vm, addr, false), *b = vm_user_page(vm, addr + 7, false);
	if (!a || !b)
		return false;
	for (int i = 0; i < 8; i++)
		((uint8_t *)out)[i] = *(uint8_t *)vm_user_page(vm, addr + i, false);
	return true;
}

static void null_call_fault(struct vm *vm, struct vm_fault *fault, uint64_t rsp, uint64_t rflags)
{
	memset(fault, 0, sizeof(*fault));
	fault->vector = X86_EXC_PF;
	fault->error = PF_ERR_U | PF_ERR_I; /* a user fetch from an unmapped page */
	fault->rip = 0;
	fault->addr = 0;
	fault->rsp = rsp;
	fault->rflags = rflags;
	fault->user = true;
	vm->user_rip = 0;
	vm->user_rsp = rsp;
	vm->user_rflags = rflags;
	vm->where = VM_AT_FAULT;
	vm->stats.faults++;
}

/* As if the trampoline returned: rax = result, at the site's next instruction. */
static void to_syscall_state(struct vm *vm, uint64_t ret, uint64_t rsp, uint64_t rflags)
{
	vm->user_rip = ret;
	vm->user_rsp = rsp + 8;
	vm->user_rflags = rflags;
	vm->where = VM_AT_SYSCALL;
}

int ring_syscall_exit(struct vm *vm, struct vm_fault *fault)
{
	struct vm_ring *r = vm->ring;
	struct kvm_regs *regs = &vm->run->s.regs.regs;
	uint64_t at = regs->rcx - 2, rsp = vm->user_rsp, rflags = regs->r11;
	uint64_t ret;
	uint32_t st = atomic_exchange(ring_state(vm), RING_S_TAKEN);
	if (take_reset(vm, at, st, false))
		return -2; /* the spin ran out just as the ring thread reset the VM under it */
	if (r->voided)
		return VM_EXIT_RING_DONE; /* the run ends (PROC_CONN_DONE) and the VM is reset */
	if (at == PAGE0_ADDR(RING_TRAP) && st == RING_S_POSTED && !atomic_load(&r->asleep) &&
	    atomic_load(&r->ring_attached)) {
		/* The spin ran out with the ring thread awake but not taking it: no CPU for it. */
		vm->stats.ring_timeouts++;
		if (atomic_exchange_explicit(&r->streak, 0, memory_order_relaxed) >= RING_STREAK_OK || !r->backoff_ns)
			r->backoff_ns = RING_BACKOFF_MIN_NS;
		else if (r->backoff_ns < RING_BACKOFF_MAX_NS)
			r->backoff_ns *= 2;
		atomic_store_explicit(&r->starved_until, vm_now_ns() + r->backoff_ns, memory_order_relaxed);
		vm_ring_set_awake(vm, false);
	}
	if (!read_q(vm, rsp, &ret) || ret < 2 || !sites_has(r->sites, ret - 2)) {
		null_call_fault(vm, fault, rsp, rflags);
		return VM_EXIT_FAULT;
	}
	/* After the post only the ring thread's answer to it makes the state DONE; a trap
	 * from ring_trap_unposted posted nothing (the state is an older call's). */
	bool done = at == PAGE0_ADDR(RING_TRAP) && r->done_valid && r->done_ret == ret &&
	            (st == RING_S_DONE || st == RING_S_DONE_TRAP || st == RING_S_HELD);
	if (done || at == PAGE0_ADDR(RING_DONE_TRAP)) {
		/* Completed by the ring thread (the spin ran out just as it finished, or the
		 * host asked to see the vCPU after it). */
		if (!r->done_valid || r->done_ret != ret)
			goto trap; /* not ours: run it as a call from the site */
		r->done_valid = false;
		to_syscall_state(vm, ret, rsp, rflags);
		vm_regs(vm)->rax = r->done_result;
		return at == PAGE0_ADDR(RING_DONE_TRAP) || st == RING_S_DONE_TRAP || st == RING_S_HELD
		               ? VM_EXIT_RING_DONE
		               : -2;
	}
trap:
	/* The trap path: exactly a syscall at the site (rax = nr, the arguments in place). */
	r->done_valid = false;
	to_syscall_state(vm, ret, rsp, rflags);
	vm->stats.syscalls++;
	return VM_EXIT_SYSCALL;
}

int ring_fault_exit(struct vm *vm, struct vm_fault *fault)
{
	/* A rewritten site called with a number past the sled (syscall(2) of an unknown
	 * number): the call went to address rax.  A non-canonical one faults (#GP) on the
	 * call itself; one in page 0's padding hits int3; an unmapped one faults fetching
	 * it.  Each is the syscall it was meant to be (ENOSYS, mostly). */
	struct kvm_regs *regs = &vm->run->s.regs.regs;
	if (!fault->user)
		return VM_EXIT_FAULT;
	if (fault->vector == X86_EXC_GP && sites_has(vm->ring->sites, fault->rip)) {
		vm->user_rip = fault->rip + 2;
		vm->user_rsp = fault->rsp;
		vm->user_rflags = fault->rflags;
		vm->where = VM_AT_SYSCALL;
		vm->stats.syscalls++;
		vm->stats.faults--;
		return VM_EXIT_SYSCALL;
	}
	bool in_pad = fault->rip < PAGE_SIZE && ((fault->rip > RING_SLED + 5 && fault->rip <= RING_CODE_OFF) ||
	                                         fault->rip > RING_CODE_OFF + CODE_LEN);
	bool fetch = fault->vector == X86_EXC_PF && (fault->error & PF_ERR_I) && fault->addr == fault->rip &&
	             regs->rax == fault->rip;
	uint64_t ret;
	if ((in_pad || fetch) && read_q(vm, fault->rsp, &ret) && ret >= 2 && sites_has(vm->ring->sites, ret - 2)) {
		to_syscall_state(vm, ret, fault->rsp, fault->rflags);
		vm->stats.syscalls++;
		vm->stats.faults--;
		return VM_EXIT_SYSCALL;
	}
	return VM_EXIT_FAULT;
}

bool ring_waiting_at(uint64_t rip)
{
	return rip >= PAGE0_ADDR(RING_POSTED) && rip < PAGE0_ADDR(RING_TRAP);
}

int ring_settle(struct vm *vm)
{
	struct vm_ring *r = vm->ring;
	struct kvm_regs *regs = vm_regs(vm);
	if (regs->rip >= PAGE_SIZE)
		return 0;
	uint64_t off = regs->rip, ret = 0;
	bool site = read_q(vm, regs->rsp, &ret) && ret >= 2 && sites_has(r->sites, ret - 2);
	uint32_t st = atomic_load(ring_state(vm));
	if (take_reset(vm, off, st, true))
		return 0; /* as if it had loaded the frame itself */
	if (r->voided)
		return VM_EXIT_RING_DONE; /* (see ring_syscall_exit) */
	if (off >= PAGE0_ADDR(RING_POSTED) && off < PAGE0_ADDR(RING_TRAP) + 2 &&
	    (st == RING_S_DONE || st == RING_S_DONE_TRAP || st == RING_S_HELD) && r->done_valid && r->done_ret == ret) {
		/* Finished while it spun: as if the trampoline returned. */
		atomic_store(ring_state(vm), RING_S_TAKEN);
		r->done_valid = false;
		regs->rax = r->done_result;
		regs->rip = ret;
		regs->rsp += 8;
		return st == RING_S_DONE_TRAP || st == RING_S_HELD ? VM_EXIT_RING_DONE : 0;
	}
	if (off == PAGE0_ADDR(RING_DONE) || off == PAGE0_ADDR(RING_RET) || off == PAGE0_ADDR(RING_DONE_TRAP)) {
		if (off == PAGE0_ADDR(RING_DONE) || off == PAGE0_ADDR(RING_DONE_TRAP))
			regs->rax = r->done_valid && r->done_ret == ret ? r->done_result : ring_q(vm, RING_RESULT);
		r->done_valid = false;
		regs->rip = ret;
		regs->rsp += 8;
		return off == PAGE0_ADDR(RING_DONE_TRAP) ? VM_EXIT_RING_DONE : 0;
	}
	if (off >= PAGE0_ADDR(RING_POSTED) && off < PAGE0_ADDR(RING_TRAP) + 2)
		atomic_store(ring_state(vm), RING_S_TAKEN); /* withdrawn: nobody runs it now */
	else if (off >= RING_SLED + 5 && off < RING_CODE_OFF)
		return 0; /* in the int3 padding: it faults when resumed */
	/* Not yet run: back onto the site (rax still holds nr), or for a call that came from
	 * no site, to the trampoline's start (it posts again and is refused). */
	if (site) {
		regs->rip = ret - 2;
		regs->rsp += 8;
	} else {
		regs->rip = RING_CODE_OFF;
	}
	return 0;
}
