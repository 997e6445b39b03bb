/* vdso.c - the guest's vDSO: clock_gettime, gettimeofday and time without a VM exit.
 *
 * glibc calls these through AT_SYSINFO_EHDR as it would Linux's vDSO.  They read the TSC
 * (every VM of a server shares the host's TSC: the vCPU's TSC offset is 0) and the
 * conversion the host wrote into the data page; anything else, or a data page marked
 * invalid, takes the real syscall.  Built position independent with no relocations:
 * glibc does not relocate a vDSO. */
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/time.h>

#include "guest/vdso_data.h"

extern const volatile struct vdso_data vdso_data __attribute__((visibility("hidden")));

static long raw_syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Nanoseconds on `clock` from the data page; -1 when the syscall must answer. */
static int64_t now_ns(clockid_t clock)
{
	int realtime;
	switch (clock) {
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME: realtime = 0; break;
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE: realtime = 1; break;
	default: return -1;
	}
	for (;;) {
		uint32_t seq = vdso_data.seq;
		__asm__ volatile("" ::: "memory");
		if (!vdso_data.valid)
			return -1;
		uint64_t delta = rdtsc_ordered() - vdso_data.tsc0;
		int64_t ns = (realtime ? vdso_data.real0_ns : vdso_data.mono0_ns) +
		             (int64_t)(((unsigned __int128)delta * vdso_data.mult) >> 32);
		__asm__ volatile("" ::: "memory");
		if (!(seq & 1) && seq == vdso_data.seq)
			return ns;
	}
}

int __vdso_clock_gettime(clockid_t clock, struct timespec *ts)
{
	int64_t ns = now_ns(clock);
	if (ns < 0)
		return (int)raw_syscall2(228 /* clock_gettime */, clock, (long)ts);
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

int __vdso_gettimeofday(struct timeval *tv, void *tz)
{
	int64_t ns = now_ns(CLOCK_REALTIME);
	if (ns < 0 || tz)
		return (int)raw_syscall2(96 /* gettimeofday */, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = (ns % 1000000000) / 1000;
	}
	return 0;
}

time_t __vdso_time(time_t *t)
{
	int64_t ns = now_ns(CLOCK_REALTIME);
	if (ns < 0)
		return raw_syscall2(201 /* time */, (long)t, 0);
	time_t s = ns / 1000000000;
	if (t)
		*t = s;
	return s;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	if (cpu)
		*cpu = 0; /* one vCPU */
	if (node)
		*node = 0;
	return 0;
}

int clock_gettime(clockid_t, struct timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
time_t time(time_t *) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
