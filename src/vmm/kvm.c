/* kvm.c - open /dev/kvm, create and destroy VMs (like Solo5's hvt_init). */
#define VMM_INTERNAL
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/ring.h"
#include "vmm/vmm_impl.h"

static int g_kvm_fd = -1;
static int g_kvm_err;
static int g_sync_fields;
static pthread_once_t g_kvm_once = PTHREAD_ONCE_INIT;

static void kvm_open_once(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		g_kvm_err = -errno;
		return;
	}
	/* KVM_API_VERSION has been 12 since Linux 2.6.22; sync regs since 4.16. */
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
	    ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) <= 0 ||
	    ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		close(fd);
		g_kvm_err = -ENOSYS;
		return;
	}
	g_sync_fields = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	g_kvm_fd = fd;
}

int kvm_sync_fields(void)
{
	return kvm_fd() >= 0 ? g_sync_fields : 0;
}

int kvm_fd(void)
{
	pthread_once(&g_kvm_once, kvm_open_once);
	return g_kvm_fd >= 0 ? g_kvm_fd : g_kvm_err;
}

int vm_kvm_available(void)
{
	int fd = kvm_fd();
	return fd < 0 ? fd : 0;
}

/* The vCPU of a VM whose memory is in place: run page, CPUID, registers. */
int kvm_open_vcpu(struct vm *vm)
{
	int kfd = kvm_fd();
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return -errno;
	int err = -ENOSYS;
	int run_size = ioctl(kfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		goto err_vcpu;
	vm->run_size = run_size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		err = -errno;
		goto err_vcpu;
	}
	err = cpu_init_vcpu(vm);
	if (err)
		goto err_run;
	vdso_share_tsc(vm);
	kstats_init(vm);
	int xsave2 = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	vm->xsave_size = xsave2 > (int)sizeof(struct kvm_xsave) ? (size_t)xsave2 : sizeof(struct kvm_xsave);
	return 0;
err_run:
	munmap(vm->run, vm->run_size);
err_vcpu:
	close(vm->vcpu_fd);
	vm->vcpu_fd = -1;
	return err;
}

struct vm *kvm_alloc_vm(uint64_t user_size, int *err)
{
	int kfd = kvm_fd();
	if (kfd < 0) {
		*err = kfd;
		return NULL;
	}
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		*err = -ENOMEM;
		return NULL;
	}
	vm->vcpu_fd = vm->mem_fd = vm->kstats_fd = -1;
	vm->user_size = user_size;
	vm->karea = user_size;
	vm->vm_fd = ioctl(kfd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		*err = -errno;
		free(vm);
		return NULL;
	}
	return vm;
}

uint64_t vm_max_user_size(void)
{
	int kfd = kvm_fd();
	if (kfd < 0)
		return 0;
	uint64_t max = 1ULL << 46; /* the guest's user half, 4-level paging, kernel area above */
	/* User slots 0..n-2 (one per GiB) and the kernel area's slot n-1 (gmem.c); KVM
	 * answers 0 before it reported the count (then 509, its old fixed number). */
	int slots = ioctl(kfd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	uint64_t by_slots = (uint64_t)(slots > 1 ? slots - 1 : 508) * GMEM_SLOT_SIZE;
	if (by_slots < max)
		max = by_slots;
	/* All of guest-physical memory (user range, kernel area, page-table pool of about
	 * 1/512 of the range) lies below 2^MAXPHYADDR. */
	unsigned eax, ebx, ecx, edx;
	if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) && (eax & 0xff) >= 32) {
		uint64_t phys = 1ULL << (eax & 0xff), by_phys = phys / 512 * 510 - (64ULL << 20);
		if (by_phys < max)
			max = by_phys;
	}
	return max & ~((2ULL << 20) - 1);
}

int vm_create(struct vm **out, const struct vm_config *cfg)
{
	if (cfg->user_size < USER_MIN_ADDR || cfg->user_size % (2ULL << 20) || cfg->user_size > vm_max_user_size())
		return -EINVAL;
	int err;
	struct vm *vm = kvm_alloc_vm(cfg->user_size, &err);
	if (!vm)
		return err;
	err = gmem_init(vm);
	if (err)
		goto err_vm;
	cpu_write_tables(vm);
	err = gmem_map_kernel(vm);
	if (!err)
		err = kvm_open_vcpu(vm);
	if (err)
		goto err_mem;
	*out = vm;
	return 0;

err_mem:
	gmem_fini(vm);
err_vm:
	close(vm->vm_fd);
	free(vm);
	return err;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->deadline_timer.created)
		timer_delete(vm->deadline_timer.id);
	if (vm->tick_timer.created)
		timer_delete(vm->tick_timer.id);
	vcpu_forget_run(vm);
	munmap(vm->run, vm->run_size);
	kstats_fini(vm);
	close(vm->vcpu_fd);
	gmem_fini(vm);
	close(vm->vm_fd);
	cow_fini(vm);
	vm_ring_fini(vm);
	free(vm);
}

uint64_t vm_user_size(const struct vm *vm)
{
	return vm->user_size;
}

const struct vm_stats *vm_stats(struct vm *vm)
{
	struct vm_entries e;
	vm->stats.entries_known = vm_entry_counts(vm, &e) == 0;
	vm->stats.entries = e.n[VM_ENTRY_ALL];
	vm->stats.entries_interrupted = e.n[VM_ENTRY_IRQ] + e.n[VM_ENTRY_SIGNAL];
	return &vm->stats;
}
