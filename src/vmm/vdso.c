/* vdso.c - the guest's vDSO image and its time data (the guest side is src/guest/vdso.c).
 *
 * Every VM's vCPU gets TSC offset 0 (KVM_VCPU_TSC_OFFSET), so the guest's TSC is the
 * host's: one conversion written at exec time holds in the template and in all its forks,
 * and the guest reads clocks without a VM exit.  Where the offset cannot be set, the data
 * page says invalid and the vDSO makes the real syscall. */
#define VMM_INTERNAL
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <x86intrin.h>

#include "guest/vdso_data.h"
#include "vmm/abi.h"
#include "vmm/vmm_impl.h"

extern const uint8_t vdso_blob[], vdso_blob_end[];

size_t vm_vdso_size(void)
{
	return ((size_t)(vdso_blob_end - vdso_blob) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

int vdso_share_tsc(struct vm *vm)
{
	struct kvm_device_attr attr = {.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET};
	uint64_t zero = 0;
	attr.addr = (uint64_t)&zero;
	vm->tsc_shared = ioctl(vm->vcpu_fd, KVM_HAS_DEVICE_ATTR, &attr) == 0 &&
	                 ioctl(vm->vcpu_fd, KVM_SET_DEVICE_ATTR, &attr) == 0;
	int khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	return 0;
}

static int64_t ns_of(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The TSC-to-clock conversion the guest's vDSO reads, from this host's clocks, with the
 * guest's monotonic clock mono_offset_ns behind the host's; none (the vDSO falls back to
 * a syscall) when the TSC is not shared with the guest. */
static void set_conversion(struct vm *vm, struct vdso_data *d, int64_t mono_offset_ns)
{
	memset(d, 0, sizeof(*d));
	if (vm->tsc_shared && vm->tsc_khz) {
		/* The three readings back to back; the TSC in the middle. */
		int64_t mono = ns_of(CLOCK_MONOTONIC);
		uint64_t tsc = __rdtsc();
		int64_t real = ns_of(CLOCK_REALTIME);
		d->tsc0 = tsc;
		d->mono0_ns = mono - mono_offset_ns;
		d->real0_ns = real;
		d->mult = (uint64_t)((1000000ULL << 32) / vm->tsc_khz);
		d->valid = 1;
	}
}

int vm_vdso_shift_monotonic(struct vm *vm, gva_t addr, int64_t offset_ns)
{
	struct vdso_data *d = vm_user_ptr_unchecked(vm, addr + VDSO_DATA_OFFSET, sizeof(*d));
	if (!d)
		return -EINVAL;
	d->mono0_ns -= offset_ns;
	return 0;
}

int vm_install_vdso(struct vm *vm, gva_t addr)
{
	size_t size = vm_vdso_size();
	uint8_t *dst = vm_user_ptr_unchecked(vm, addr, size);
	if (!dst)
		return -EINVAL;
	memset(dst, 0, size);
	memcpy(dst, vdso_blob, (size_t)(vdso_blob_end - vdso_blob));
	set_conversion(vm, (struct vdso_data *)(dst + VDSO_DATA_OFFSET), 0);
	return 0;
}

/* The conversion written at exec holds for the host it was made on, until it reboots: a
 * loaded snapshot gets this host's, with the guest's monotonic clock offset_ns behind. */
int vm_vdso_rebase(struct vm *vm, gva_t addr, int64_t offset_ns)
{
	struct vdso_data *d = vm_user_ptr_unchecked(vm, addr + VDSO_DATA_OFFSET, sizeof(*d));
	if (!d)
		return -EINVAL;
	set_conversion(vm, d, offset_ns);
	return 0;
}
