/* main.c - kvmserver's entry point: parse the command line, run the program in a guest,
 * turn how it ended into our exit status. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config.h"
#include "sys/sys.h"
#include "util/log.h"

extern char **environ;

/* PROGRAM as the shell would find it: a path if it has a slash, else the first
 * executable regular file of that name on PATH. */
static int find_program(const char *name, char out[PATH_MAX])
{
	struct stat st;
	if (strchr(name, '/')) {
		snprintf(out, PATH_MAX, "%s", name);
		return stat(out, &st) < 0 ? -errno : 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(out, PATH_MAX, "%.*s%s%s", (int)len, path, len ? "/" : "", name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += len + (path[len] == ':');
	}
	return -ENOENT;
}

static void explain_no_kvm(int err)
{
	if (err == -ENOENT)
		log_msg("/dev/kvm does not exist: KVM is not available on this machine "
			"(enable virtualization, load kvm_intel or kvm_amd, or in a container pass --device /dev/kvm)");
	else if (err == -EACCES || err == -EPERM)
		log_msg("no permission to open /dev/kvm (add your user to the 'kvm' group, "
			"or in a container pass --device /dev/kvm)");
	else
		log_msg("KVM is not usable: %s", strerror(-err));
}

int main(int argc, char **argv)
{
	struct config cfg;
	int r = config_parse(&cfg, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;

	char path[PATH_MAX];
	int err = find_program(cfg.program, path);
	if (err) {
		log_msg("%s: %s", cfg.program, strerror(-err));
		return 1;
	}
	err = vm_kvm_available();
	if (err) {
		explain_no_kvm(err);
		return 1;
	}
	/* A guest writing to a closed pipe gets EPIPE, not our death. */
	signal(SIGPIPE, SIG_IGN);

	struct proc_config pcfg = {
		.user_size = cfg.max_main_memory,
		.verbose = cfg.verbose,
		.trace = cfg.verbose_syscalls,
	};
	struct proc *p;
	err = proc_create(&p, &pcfg);
	if (err) {
		log_msg("cannot create the guest: %s", strerror(-err));
		return 1;
	}
	const char *why = "";
	err = proc_exec(p, path, cfg.argv, environ, &why);
	if (err) {
		log_msg("%s: %s", path, why);
		proc_destroy(p);
		return 1;
	}
	uint64_t deadline = cfg.max_boot_time > 0 ? vm_now_ns() + (uint64_t)(cfg.max_boot_time * 1e9) : 0;
	enum proc_end end = proc_run(p, deadline);
	int status;
	char desc[256];
	switch (end) {
	case PROC_EXITED:
		status = proc_exit_code(p);
		break;
	case PROC_CRASHED:
		proc_describe_crash(p, desc, sizeof(desc));
		log_msg("program crashed: %s (%s)", desc, strsignal(proc_crash(p)->signal));
		status = 128 + proc_crash(p)->signal;
		break;
	case PROC_TIMEOUT:
		log_msg("program stopped: it ran longer than --max-boot-time %g s", cfg.max_boot_time);
		status = 124;
		break;
	case PROC_ERROR:
	default:
		log_msg("the guest could not run: %s", proc_crash(p)->fault.what ? proc_crash(p)->fault.what : "unknown error");
		status = 1;
		break;
	}
	if (cfg.verbose) {
		const struct vm_stats *s = proc_vm_stats(p);
		log_msg("vm exits %llu, syscalls %llu, faults %llu", (unsigned long long)s->exits,
			(unsigned long long)s->syscalls, (unsigned long long)s->faults);
	}
	proc_destroy(p);
	return status;
}
