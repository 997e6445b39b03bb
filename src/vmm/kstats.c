/* kstats.c - the vCPU's hypervisor entries as KVM counts them (its binary statistics).
 *
 * A VM exit that KVM_RUN returns to us is only part of what a request costs: KVM also
 * takes exits it handles itself (a page fault it fixes or delivers to the guest, a
 * write-protection fault of the dirty log, an instruction it emulates, an interrupted
 * entry).  Each costs a world switch, and under a software KVM (kvm_pvm) tens of
 * microseconds.  KVM counts them per vCPU; KVM_GET_STATS_FD (Linux 5.14,
 * Documentation/virt/kvm/api.rst) gives a file of named 64-bit counters.  The
 * descriptors are read once per vCPU; a reading is then one pread of the counters used.
 * Without the fd (an older kernel), the counts are unknown, never guessed. */
#define VMM_INTERNAL
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vmm_impl.h"

/* The order of enum vm_entry_kind (vmm.h). */
static const char *const kind_names[VM_ENTRY_KINDS] = {
        [VM_ENTRY_ALL] = "exits",           [VM_ENTRY_IO] = "io_exits",
        [VM_ENTRY_PF_TAKEN] = "pf_taken",   [VM_ENTRY_PF_GUEST] = "pf_guest",
        [VM_ENTRY_SIGNAL] = "signal_exits", [VM_ENTRY_IRQ] = "irq_exits",
        [VM_ENTRY_HALT] = "halt_exits",     [VM_ENTRY_EMULATION] = "insn_emulation",
        [VM_ENTRY_TLB_FLUSH] = "tlb_flush", [VM_ENTRY_HOST_RELOAD] = "host_state_reload",
};

const char *vm_entry_kind_name(int kind)
{
	return kind >= 0 && kind < VM_ENTRY_KINDS ? kind_names[kind] : "?";
}

void kstats_init(struct vm *vm)
{
	vm->kstats_fd = -1;
	int fd = ioctl(vm->vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return;
	struct kvm_stats_header h;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.num_desc == 0 || h.num_desc > 4096 ||
	    h.name_size == 0 || h.name_size > 4096)
		goto fail;
	size_t dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	char *descs = malloc(dsize * h.num_desc);
	if (!descs)
		goto fail;
	if (pread(fd, descs, dsize * h.num_desc, h.desc_offset) != (ssize_t)(dsize * h.num_desc)) {
		free(descs);
		goto fail;
	}
	uint32_t lo = UINT32_MAX, hi = 0;
	for (int k = 0; k < VM_ENTRY_KINDS; k++)
		vm->kstats_off[k] = UINT32_MAX;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * dsize);
		/* Cumulative counters only, 8 bytes each. */
		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE || d->size != 1)
			continue;
		for (int k = 0; k < VM_ENTRY_KINDS; k++) {
			if (strncmp(d->name, kind_names[k], h.name_size) != 0)
				continue;
			vm->kstats_off[k] = d->offset;
			lo = d->offset < lo ? d->offset : lo;
			hi = d->offset + 8 > hi ? d->offset + 8 : hi;
		}
	}
	free(descs);
	if (vm->kstats_off[VM_ENTRY_ALL] == UINT32_MAX || hi - lo > sizeof(vm->kstats_buf))
		goto fail;
	vm->kstats_fd = fd;
	vm->kstats_pos = h.data_offset + lo;
	vm->kstats_lo = lo;
	vm->kstats_len = hi - lo;
	return;
fail:
	close(fd);
}

void kstats_fini(struct vm *vm)
{
	if (vm->kstats_fd >= 0)
		close(vm->kstats_fd);
	vm->kstats_fd = -1;
}

int vm_entry_counts(struct vm *vm, struct vm_entries *out)
{
	memset(out, 0, sizeof(*out));
	if (vm->kstats_fd < 0)
		return -ENOTSUP;
	if (pread(vm->kstats_fd, vm->kstats_buf, vm->kstats_len, (off_t)vm->kstats_pos) != (ssize_t)vm->kstats_len)
		return -EIO;
	for (int k = 0; k < VM_ENTRY_KINDS; k++) {
		uint32_t off = vm->kstats_off[k];
		if (off != UINT32_MAX)
			memcpy(&out->n[k], vm->kstats_buf + (off - vm->kstats_lo), 8);
	}
	out->known = true;
	return 0;
}
