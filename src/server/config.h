/* config.h - the command line, parsed into a plain struct (nothing else reads argv). */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct config {
	bool verbose;
	bool verbose_syscalls;
	uint64_t max_main_memory;  /* bytes of guest address space */
	double max_boot_time;      /* seconds; 0 = no limit */
	const char *program;       /* as given */
	char **argv;               /* PROGRAM ARGS..., NULL terminated (points into main's argv) */
};

/* Fills *cfg from argv.  Returns 0 to go on, 1 when --help was printed (exit 0), or -1
 * after printing a one-line error (exit 2). */
int config_parse(struct config *cfg, int argc, char **argv);

#endif
