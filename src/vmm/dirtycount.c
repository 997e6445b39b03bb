/* dirtycount.c - how many pages a fork has dirtied since its last reset, while it runs
 * (--max-request-memory).  The same count vm_reset reports, hot pages included.
 *
 * With manual protection (cow.c) reading a slot's dirty log changes nothing, so the pages
 * are only counted.  Without it the read protects them again and clears the log: they go
 * into the dirty list then, as a reset's harvest would put them, so the reset still
 * restores them. */
#define VMM_INTERNAL
#include <errno.h>
#include <sys/ioctl.h>

#include "vmm/abi.h"
#include "vmm/layout.h"
#include "vmm/vmm_impl.h"

int vm_dirty_count(struct vm *vm, uint64_t *pages)
{
	*pages = 0;
	if (!vm->tmpl)
		return -EINVAL;
	uint64_t extra = 0;
	for (unsigned s = 0; s <= vm->nuser_slots; s++) {
		if (!vm->slot_on[s])
			continue;
		struct kvm_dirty_log log = {.slot = s, .dirty_bitmap = vm->log_bits};
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -errno;
		uint64_t first = gmem_slot_gpa(vm, s) / PAGE_SIZE;
		uint64_t npages = gmem_slot_end(vm, s) / PAGE_SIZE - first;
		size_t words = (npages + 63) / 64;
		for (size_t w = 0; w < words; w++) {
			for (uint64_t b = vm->log_bits[w]; b; b &= b - 1) {
				uint64_t pg = first + w * 64 + (unsigned)__builtin_ctzll(b);
				if (bit_test(vm->dirty_bits, pg))
					continue;
				if (vm->manual_protect) {
					extra++;
				} else {
					if (cow_dirty_page(vm, pg))
						return -ENOMEM;
					vm->ndirty_guest++;
				}
			}
		}
	}
	*pages = vm->ndirty + extra;
	return 0;
}
