/* vdso_data.h - the page the host fills for the guest's vDSO (src/guest/vdso.c): how to turn
 * the TSC into CLOCK_MONOTONIC and CLOCK_REALTIME nanoseconds.  Shared by both sides. */
#ifndef GUEST_VDSO_DATA_H
#define GUEST_VDSO_DATA_H

#include <stdint.h>

struct vdso_data {
	uint32_t seq; /* odd while the host rewrites the page */
	uint32_t valid; /* 0: use the real syscall (no stable, shared TSC) */
	uint64_t tsc0; /* TSC at the moment below */
	int64_t mono0_ns; /* CLOCK_MONOTONIC then */
	int64_t real0_ns; /* CLOCK_REALTIME then */
	uint64_t mult; /* ns = (tsc - tsc0) * mult >> 32 */
};

/* Offset of the data page inside the vDSO image (vdso.lds puts .vvar there). */
#define VDSO_DATA_OFFSET 0x1000

#endif
