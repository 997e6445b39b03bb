/* config.c - command-line parsing for `kvmserver [OPTIONS] run PROGRAM [ARGS...]`.  Each
 * option goes through config_option, whichever source it comes from: the command line, or
 * (config_file.c) a key of the -c FILE, applied first so that the command line wins. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "server/config_impl.h"
#include "util/log.h"
#include "vmm/layout.h"

static const char usage[] =
        "Usage: kvmserver [OPTIONS] run PROGRAM [ARGS...]\n"
        "       kvmserver [OPTIONS] snapshot -o FILE PROGRAM [ARGS...]\n"
        "       kvmserver [OPTIONS] snaprun FILE\n"
        "       kvmserver -c FILE [OPTIONS] [run PROGRAM [ARGS...]]\n"
        "\n"
        "Run an unmodified Linux x86-64 program inside a KVM guest with no guest kernel;\n"
        "its system calls are emulated by kvmserver.  PROGRAM is looked up on PATH.\n"
        "`snapshot` runs a server to where it first waits for connections and saves that\n"
        "state to FILE; `snaprun` serves from FILE without running the start-up again\n"
        "(the permissions are the snapshot's; the server-mode options are snaprun's).\n"
        "\n"
        "Options:\n"
        "  -h, --help                 show this help and exit (--help-all: also the file's keys)\n"
        "  -c, --config FILE          read options from a TOML file (kvmserver.toml); the command\n"
        "                             line overrides it, `run PROGRAM ARGS` its program and args\n"
        "      --print-config         print the effective configuration as TOML and exit\n"
        "  -v, --verbose              log events and unimplemented system calls\n"
        "      --verbose-syscalls     print one line per system call: name(args) = result\n"
        "      --max-main-memory MiB  size of the guest address space (default 65536)\n"
        "      --max-boot-time SECS   stop the program after SECS seconds (default: no limit)\n"
        "      --max-address-space MiB  total size of the guest's mappings (mmap fails beyond;\n"
        "                             default 0: up to --max-main-memory)\n"
        "      --no-seccomp           do not restrict kvmserver's own system calls (debugging)\n"
        "      --syscall-path trap|ring|auto  system calls as VM exits, or handed to a host thread\n"
        "                             through shared memory (docs/design.md; default auto)\n"
        "\n"
        "Server mode (a program that waits for connections on a listening socket):\n"
        "  -t, --threads N            request VMs forked from the paused program (0 = CPUs; default 1)\n"
        "  -e, --ephemeral            each request VM serves one connection, then is reset\n"
        "      --warmup N             send N warm-up requests before forking, to warm a JIT\n"
        "                             (default: 0, or 1000 with --warmup-request)\n"
        "      --warmup-request REQ   what warm-up sends, in turn (repeatable; default GET /):\n"
        "                             'METHOD PATH' plus optional '\\n'-separated header lines,\n"
        "                             a blank line and a body; or @FILE of such requests\n"
        "      --drain-timeout S      on SIGTERM/SIGINT wait at most S s for open connections\n"
        "                             (default 30; 0 = no limit)\n"
        "      --max-request-time S   reset a request VM that spends more than S seconds on a connection\n"
        "      --max-request-memory MiB  reset a request VM that dirties more than MiB (0 = no limit)\n"
        "      --metrics HOST:PORT|PATH  serve Prometheus metrics at /metrics (TCP, or a unix socket)\n"
        "      --log-requests         one access-log line per connection on stderr\n"
        "\n"
        "Permissions (deny by default; lists are comma-separated, flags may repeat):\n"
        "      --allow-all                  all of the below\n"
        "      --allow-read[=PATH,...]      read files under PATH (no list: everything)\n"
        "      --allow-write[=PATH,...]     write (and read) files under PATH (no list: everything)\n"
        "      --allow-env[=NAME,...]       pass host environment variables (wildcards: API_*)\n"
        "      --allow-net                  connect and listen anywhere\n"
        "      --allow-connect[=HOST:PORT,...]  outgoing connections (port 0 or none: any port)\n"
        "      --allow-listen[=HOST:PORT,...]   listening sockets\n"
        "      --allow-run[=PROGRAM,...]    run programs (execve): a path, or a name matching any\n"
        "                                   directory (no list: every program the guest can read)\n"
        "      --volume HOST:GUEST[:rw]     show host directory HOST at guest path GUEST\n"
        "      --cwd DIR                    the program's working directory (a guest path)\n"
        "      --env NAME=VALUE             set a variable in the program's environment\n"
        "\n"
        "Exit status: the program's; 128+N when it dies of signal N (e.g. 139 for a\n"
        "segmentation fault); 124 when --max-boot-time stopped it; 1 when kvmserver itself\n"
        "failed (no KVM, bad program); 2 for a bad command line.\n";

enum {
	OPT_VERBOSE_SYSCALLS = 256,
	OPT_MAX_MAIN_MEMORY,
	OPT_MAX_BOOT_TIME,
	OPT_ALLOW_ALL,
	OPT_ALLOW_READ,
	OPT_ALLOW_WRITE,
	OPT_ALLOW_ENV,
	OPT_ALLOW_NET,
	OPT_ALLOW_CONNECT,
	OPT_ALLOW_LISTEN,
	OPT_ALLOW_RUN,
	OPT_VOLUME,
	OPT_CWD,
	OPT_ENV,
	OPT_WARMUP,
	OPT_MAX_REQUEST_TIME,
	OPT_MAX_REQUEST_MEMORY,
	OPT_MAX_ADDRESS_SPACE,
	OPT_METRICS,
	OPT_LOG_REQUESTS,
	OPT_PRINT_CONFIG,
	OPT_HELP_ALL,
	OPT_WARMUP_REQUEST,
	OPT_DRAIN_TIMEOUT,
	OPT_NO_SECCOMP,
	OPT_SYSCALL_PATH,
};

const struct option config_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"help-all", no_argument, NULL, OPT_HELP_ALL},
        {"config", required_argument, NULL, 'c'},
        {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
        {"verbose", no_argument, NULL, 'v'},
        {"verbose-syscalls", no_argument, NULL, OPT_VERBOSE_SYSCALLS},
        {"max-main-memory", required_argument, NULL, OPT_MAX_MAIN_MEMORY},
        {"max-boot-time", required_argument, NULL, OPT_MAX_BOOT_TIME},
        {"threads", required_argument, NULL, 't'},
        {"ephemeral", no_argument, NULL, 'e'},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"max-request-time", required_argument, NULL, OPT_MAX_REQUEST_TIME},
        {"max-request-memory", required_argument, NULL, OPT_MAX_REQUEST_MEMORY},
        {"max-address-space", required_argument, NULL, OPT_MAX_ADDRESS_SPACE},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"log-requests", no_argument, NULL, OPT_LOG_REQUESTS},
        {"warmup-request", required_argument, NULL, OPT_WARMUP_REQUEST},
        {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
        {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
        {"syscall-path", required_argument, NULL, OPT_SYSCALL_PATH},
        {"allow-all", no_argument, NULL, OPT_ALLOW_ALL},
        {"allow-read", optional_argument, NULL, OPT_ALLOW_READ},
        {"allow-write", optional_argument, NULL, OPT_ALLOW_WRITE},
        {"allow-env", optional_argument, NULL, OPT_ALLOW_ENV},
        {"allow-net", no_argument, NULL, OPT_ALLOW_NET},
        {"allow-connect", optional_argument, NULL, OPT_ALLOW_CONNECT},
        {"allow-listen", optional_argument, NULL, OPT_ALLOW_LISTEN},
        {"allow-run", optional_argument, NULL, OPT_ALLOW_RUN},
        {"volume", required_argument, NULL, OPT_VOLUME},
        {"cwd", required_argument, NULL, OPT_CWD},
        {"env", required_argument, NULL, OPT_ENV},
        {0, 0, 0, 0},
};

static struct {
	const char *file;
	int line;
} source;

void config_set_source(const char *file, int line)
{
	source.file = file;
	source.line = line;
}

const char *config_dashes(void)
{
	return source.file ? "" : "--";
}

void config_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (source.file)
		log_msg("%s:%d: %s", source.file, source.line, msg);
	else
		log_msg("%s", msg);
}

static int parse_number(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
		config_error("invalid value '%s' for %s%s", s, config_dashes(), opt);
		return -1;
	}
	*out = v;
	return 0;
}

/* A whole number in [0, hi]. */
static int parse_count(const char *opt, const char *s, double hi, double *out)
{
	if (parse_number(opt, s, 0, hi, out))
		return -1;
	if (*out != (double)(long)*out) {
		config_error("invalid value '%s' for %s%s: a whole number is needed", s, config_dashes(), opt);
		return -1;
	}
	return 0;
}

static int strlist_add(struct strlist *l, const char *s)
{
	const char **v = realloc(l->v, (l->n + 2) * sizeof(*v));
	if (!v)
		return -1;
	l->v = v;
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return 0;
}

/* The command line's first entry for a list the file set replaces the file's (and its
 * "all"): the command line overrides the file, key by key. */
static void override_file(struct strlist *l, bool *all)
{
	if (source.file) {
		l->from_file = true;
	} else if (l->from_file) {
		l->from_file = false;
		l->n = 0;
		if (all)
			*all = false;
	}
}

/* "--flag" (no list) sets *all; "--flag=a,b" adds a and b (split in place: argv strings
 * are the program's to modify, and the entries point into them). */
static int allow_list(const char *opt, char *arg, bool *all, struct strlist *l)
{
	override_file(l, all);
	if (!arg) {
		*all = true;
		return 0;
	}
	size_t before = l->n;
	for (char *save = NULL, *item = strtok_r(arg, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (strlist_add(l, item))
			return -1;
	if (l->n == before) {
		config_error("%s%s= needs at least one entry", config_dashes(), opt);
		return -1;
	}
	return 0;
}

/* Megabytes as bytes, for the MiB options: a whole number up to 64 TiB. */
static int parse_mib(const char *opt, const char *s, uint64_t *out)
{
	double v;
	if (parse_count(opt, s, 64.0 * 1024 * 1024, &v))
		return -1;
	*out = (uint64_t)v << 20;
	return 0;
}

int config_option(struct config *cfg, int c, char *arg)
{
	double v;
	switch (c) {
	case 'v': cfg->verbose = true; break;
	case OPT_VERBOSE_SYSCALLS: cfg->verbose_syscalls = true; break;
	case OPT_MAX_MAIN_MEMORY:
		/* Whole MiB, rounded up to 2 MiB; at least 64 MiB, at most 64 TiB. */
		if (parse_number("max-main-memory", arg, 64, 64.0 * 1024 * 1024, &v))
			return -1;
		cfg->max_main_memory = (((uint64_t)v + 1) & ~1ULL) << 20;
		break;
	case OPT_MAX_BOOT_TIME:
		if (parse_number("max-boot-time", arg, 0, 1e9, &v))
			return -1;
		cfg->max_boot_time = v;
		break;
	case 't':
		if (parse_count("threads", arg, 1024, &v))
			return -1;
		cfg->threads = (int)v;
		break;
	case 'e': cfg->ephemeral = true; break;
	case OPT_WARMUP:
		if (parse_count("warmup", arg, 1000000, &v))
			return -1;
		cfg->warmup = (int)v;
		break;
	case OPT_MAX_REQUEST_TIME:
		if (parse_number("max-request-time", arg, 0, 1e6, &v))
			return -1;
		cfg->max_request_time = v;
		break;
	case OPT_ALLOW_ALL:
		cfg->read_all = cfg->write_all = cfg->env_all = cfg->connect_all = cfg->listen_all = true;
		cfg->run_all = true;
		break;
	case OPT_ALLOW_READ:
		if (allow_list("allow-read", arg, &cfg->read_all, &cfg->allow_read))
			return -1;
		break;
	case OPT_ALLOW_WRITE:
		if (allow_list("allow-write", arg, &cfg->write_all, &cfg->allow_write))
			return -1;
		break;
	case OPT_ALLOW_ENV:
		if (allow_list("allow-env", arg, &cfg->env_all, &cfg->allow_env))
			return -1;
		break;
	case OPT_ALLOW_NET: cfg->connect_all = cfg->listen_all = true; break;
	case OPT_ALLOW_CONNECT:
		if (allow_list("allow-connect", arg, &cfg->connect_all, &cfg->allow_connect))
			return -1;
		break;
	case OPT_ALLOW_LISTEN:
		if (allow_list("allow-listen", arg, &cfg->listen_all, &cfg->allow_listen))
			return -1;
		break;
	case OPT_ALLOW_RUN:
		if (allow_list("allow-run", arg, &cfg->run_all, &cfg->allow_run))
			return -1;
		break;
	case OPT_VOLUME:
		override_file(&cfg->volumes, NULL);
		if (!strchr(arg, ':')) {
			config_error("%svolume wants HOST:GUEST[:rw], got '%s'", config_dashes(), arg);
			return -1;
		}
		if (strlist_add(&cfg->volumes, arg))
			return -1;
		break;
	case OPT_CWD:
		if (arg[0] != '/') {
			config_error("%scwd wants an absolute guest path, got '%s'", config_dashes(), arg);
			return -1;
		}
		cfg->cwd = arg;
		break;
	case OPT_ENV:
		override_file(&cfg->env, NULL);
		if (!strchr(arg, '=') || arg[0] == '=') {
			config_error("%senv wants NAME=VALUE, got '%s'", config_dashes(), arg);
			return -1;
		}
		if (strlist_add(&cfg->env, arg))
			return -1;
		break;
	case OPT_MAX_REQUEST_MEMORY: return parse_mib("max-request-memory", arg, &cfg->max_request_memory);
	case OPT_MAX_ADDRESS_SPACE: return parse_mib("max-address-space", arg, &cfg->max_address_space);
	case OPT_METRICS:
		if (!*arg) {
			config_error("%smetrics wants HOST:PORT or a unix socket path", config_dashes());
			return -1;
		}
		cfg->metrics = arg;
		break;
	case OPT_LOG_REQUESTS: cfg->log_requests = true; break;
	case OPT_WARMUP_REQUEST:
		if (strlist_add(&cfg->warmup_requests, arg))
			return -1;
		break;
	case OPT_DRAIN_TIMEOUT:
		if (parse_number("drain-timeout", arg, 0, 1e6, &v))
			return -1;
		cfg->drain_timeout = v;
		break;
	case OPT_NO_SECCOMP: cfg->no_seccomp = true; break;
	case OPT_SYSCALL_PATH:
		if (strcmp(arg, "trap") == 0)
			cfg->syscall_path = CONFIG_PATH_TRAP;
		else if (strcmp(arg, "ring") == 0)
			cfg->syscall_path = CONFIG_PATH_RING;
		else if (strcmp(arg, "auto") == 0)
			cfg->syscall_path = CONFIG_PATH_AUTO;
		else {
			config_error("%ssyscall-path wants trap, ring or auto, got '%s'", config_dashes(), arg);
			return -1;
		}
		break;
	case OPT_PRINT_CONFIG: cfg->print_config = true; break;
	default: config_error("option code %d has no handler", c); return -1;
	}
	return 0;
}

static void print_help(bool all)
{
	fputs(usage, stdout);
	if (all)
		config_print_keys(stdout);
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_main_memory = DEFAULT_USER_SIZE;
	cfg->threads = 1;
	cfg->warmup = -1;
	cfg->drain_timeout = 30;
	cfg->syscall_path = CONFIG_PATH_AUTO;
	opterr = 0;
	int c;
	/* First pass: help, and the file, which is applied before every other option so
	 * that the command line overrides it wherever the -c is.  ("+": stop at the first
	 * non-option, the `run` command; optind = 0 restarts getopt from scratch.) */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+hvt:ec:", config_options, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP_ALL) {
			print_help(c == OPT_HELP_ALL);
			return 1;
		}
		if (c == 'c')
			cfg->config_file = optarg;
	}
	if (cfg->config_file && config_file_load(cfg, cfg->config_file))
		return -1;
	config_set_source(NULL, 0);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+hvt:ec:", config_options, NULL)) != -1) {
		if (c == 'c')
			continue;
		if (c == '?') {
			if (optopt)
				log_msg("unknown or incomplete option '-%c' (see --help)", optopt);
			else
				log_msg("unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
			return -1;
		}
		if (config_option(cfg, c, optarg))
			return -1;
	}
	if (cfg->warmup < 0) /* unset: --warmup-request alone warms a JIT up for real */
		cfg->warmup = cfg->warmup_requests.n ? 1000 : 0;
	const char *cmd = optind < argc ? argv[optind] : NULL;
	if (cmd && strcmp(cmd, "snaprun") == 0) {
		if (optind + 2 != argc) {
			log_msg("'snaprun' wants exactly one FILE (see --help)");
			return -1;
		}
		cfg->command = CMD_SNAPRUN;
		cfg->snapshot = argv[optind + 1];
		return 0;
	}
	if (cmd && strcmp(cmd, "snapshot") == 0) {
		/* snapshot -o FILE PROGRAM [ARGS...] */
		if (optind + 2 >= argc || strcmp(argv[optind + 1], "-o") != 0) {
			log_msg("'snapshot' wants -o FILE then PROGRAM [ARGS...] (see --help)");
			return -1;
		}
		cfg->command = CMD_SNAPSHOT;
		cfg->snapshot = argv[optind + 2];
		optind += 2;
		cmd = "run";
	}
	if (cmd && strcmp(cmd, "run") == 0) {
		if (optind + 1 >= argc) {
			log_msg("missing PROGRAM after '%s' (see --help)",
			        cfg->command == CMD_SNAPSHOT ? "snapshot" : "run");
			return -1;
		}
		cfg->program = argv[optind + 1];
		cfg->argv = &argv[optind + 1];
	} else if (cmd) {
		log_msg("unknown command '%s': expected 'run PROGRAM [ARGS...]' (see --help)", cmd);
		return -1;
	} else if (!cfg->program && !cfg->print_config) {
		log_msg(cfg->config_file ? "missing command: expected 'run PROGRAM [ARGS...]', or 'program' in %s"
		                         : "missing command: expected 'run PROGRAM [ARGS...]' (see --help)%s",
		        cfg->config_file ? cfg->config_file : "");
		return -1;
	}
	if (cfg->print_config) {
		config_print(cfg, stdout);
		return 1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->owned.n; i++)
		free((char *)cfg->owned.v[i]);
	struct strlist *lists[] = {&cfg->allow_read,      &cfg->allow_write, &cfg->allow_env, &cfg->allow_connect,
	                           &cfg->allow_listen,    &cfg->volumes,     &cfg->env,       &cfg->owned,
	                           &cfg->warmup_requests, &cfg->allow_run};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		free(lists[i]->v);
		lists[i]->v = NULL;
		lists[i]->n = 0;
	}
	config_file_free(cfg);
}
