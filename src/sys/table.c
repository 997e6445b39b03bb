/* table.c - the syscall table, built from syscalls.def (one row per call, as Gramine's
 * libos_table.c and Blink's SYSCALL rows). */
#include <asm/unistd.h>
#include <stdio.h>

#include "sys/syscalls.h"
#include "sys/table.h"

#include "syscall_names.h"

const struct sys_entry sys_table[SYS_TABLE_SIZE] = {
#define SYSCALL(name, ...)                                                                                             \
	[__NR_##name] = {sys_##name, #name, {__VA_ARGS__}, {.flags = -1, .rem_arg = -1, .mask_arg = -1}},
#define BLOCKING(name, wait, ...) [__NR_##name] = {sys_##name, #name, {__VA_ARGS__}, wait},
#include "sys/syscalls.def"
#undef BLOCKING
#undef SYSCALL
};

const char *sys_name(uint64_t nr, char *buf, unsigned size)
{
	if (nr < sizeof(syscall_names) / sizeof(syscall_names[0]) && syscall_names[nr])
		return syscall_names[nr];
	snprintf(buf, size, "syscall_%llu", (unsigned long long)nr);
	return buf;
}
