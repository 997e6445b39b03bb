/* config.h - the command line, parsed into a plain struct (nothing else reads argv). */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct toml_table;

struct config {
	bool verbose;
	bool verbose_syscalls;
	uint64_t max_main_memory; /* bytes of guest address space */
	double max_boot_time; /* seconds; 0 = no limit */
	bool no_seccomp; /* leave kvmserver's own system calls unrestricted (confine.c) */
	/* --syscall-path (default auto). */
	enum { CONFIG_PATH_TRAP, CONFIG_PATH_RING, CONFIG_PATH_AUTO } syscall_path;
	/* Server mode. */
	int threads; /* request VMs; 0 = number of CPUs */
	bool ephemeral; /* reset each request VM after its connection */
	int warmup; /* requests kvmserver sends before freezing the template (-1: not given) */
	double drain_timeout; /* seconds SIGTERM waits for open connections; 0 = no limit */
	double max_request_time; /* seconds per connection; 0 = no limit */
	/* The permission policy (upstream kvmserver's flags): lists are comma-separated and
	 * the flags may repeat. */
	struct strlist {
		const char **v;
		size_t n;
		bool from_file; /* set by -c FILE: the first command-line entry replaces the list */
	} allow_read, allow_write, allow_env, allow_connect, allow_listen, volumes, env, allow_run;
	struct strlist warmup_requests; /* --warmup-request SPEC or @FILE, as given (warmup.c) */
	bool read_all, write_all, env_all, connect_all, listen_all, run_all;
	const char *cwd;
	enum { CMD_RUN, CMD_SNAPSHOT, CMD_SNAPRUN } command;
	const char *snapshot; /* snapshot -o FILE / snaprun FILE */
	/* Limits on request VMs and on the guest's mappings (bytes; 0 = none). */
	uint64_t max_request_memory; /* pages a request VM may dirty before it is reset */
	uint64_t max_address_space; /* total size of the guest's mappings */
	/* Operations. */
	const char *metrics; /* --metrics HOST:PORT or a unix socket path; NULL = none */
	bool log_requests; /* one access-log line per connection on stderr */
	bool print_config; /* print the effective configuration as TOML and exit */
	const char *config_file; /* -c FILE, NULL = none */
	const char *program; /* as given */
	char **argv; /* PROGRAM ARGS..., NULL terminated (main's argv, or the file's) */
	/* Owned: the parsed file, the file's argv, strings made for it (config_file.c). */
	struct toml_table *file;
	char **file_argv;
	struct strlist owned;
};

/* Fills *cfg from -c FILE (if given), then argv, which overrides the file.  Returns 0 to
 * go on, 1 when --help, --help-all or --print-config printed what they print (exit 0), or
 * -1 after printing a one-line error (exit 2). */
int config_parse(struct config *cfg, int argc, char **argv);
void config_free(struct config *cfg);

#endif
