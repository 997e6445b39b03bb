/* main.c - kvmserver's entry point: parse the command line, run the program in a guest,
 * turn how it ended into our exit status. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/config.h"
#include "server/lifecycle.h"
#include "server/confine.h"
#include "server/server.h"
#include "sys/sys.h"
#include "util/log.h"

extern char **environ;

/* The guest's environment: nothing from ours unless --allow-env lets it through (all, or
 * the names matching its patterns), then every --env NAME=VALUE, which wins. */
static char **build_env(const struct config *cfg)
{
	size_t n = 0, cap = cfg->env.n + 1;
	for (char **e = environ; *e; e++)
		cap++;
	char **env = calloc(cap, sizeof(*env));
	if (!env)
		return NULL;
	for (char **e = environ; *e; e++) {
		size_t len = strcspn(*e, "=");
		char name[256];
		if (len >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)len, *e);
		bool ok = cfg->env_all;
		for (size_t i = 0; !ok && i < cfg->allow_env.n; i++)
			ok = fnmatch(cfg->allow_env.v[i], name, 0) == 0;
		for (size_t i = 0; ok && i < cfg->env.n; i++)
			ok = !(strncmp(cfg->env.v[i], *e, len + 1) == 0);
		if (ok)
			env[n++] = *e;
	}
	for (size_t i = 0; i < cfg->env.n; i++)
		env[n++] = (char *)cfg->env.v[i];
	env[n] = NULL;
	return env;
}

static void free_volumes(struct policy_volume *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].host); /* each entry's strings live in one buffer */
	free(v);
}

/* --volume HOST:GUEST[:rw] entries, split in a copy. */
static int parse_volumes(const struct config *cfg, struct policy_volume **out)
{
	struct policy_volume *v = calloc(cfg->volumes.n + 1, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < cfg->volumes.n; i++) {
		char *spec = strdup(cfg->volumes.v[i]);
		if (!spec) {
			free_volumes(v, i);
			return -1;
		}
		char *guest = strchr(spec, ':');
		*guest++ = 0;
		char *mode = strchr(guest, ':');
		if (mode)
			*mode++ = 0;
		if (!*spec || guest[0] != '/' || (mode && strcmp(mode, "rw") != 0 && strcmp(mode, "ro") != 0)) {
			log_msg("--volume wants HOST:GUEST[:rw] with an absolute GUEST, got '%s'", cfg->volumes.v[i]);
			free(spec);
			free_volumes(v, i);
			return -1;
		}
		v[i] = (struct policy_volume){
		        .host = spec, .guest = guest, .writable = mode && strcmp(mode, "rw") == 0};
	}
	*out = v;
	return 0;
}

struct policy *make_policy(const struct config *cfg, const char *program)
{
	struct policy_volume *volumes;
	if (parse_volumes(cfg, &volumes))
		return NULL;
	struct policy_config pc = {
	        .read_all = cfg->read_all,
	        .read = cfg->allow_read.v,
	        .nread = cfg->allow_read.n,
	        .write_all = cfg->write_all,
	        .write = cfg->allow_write.v,
	        .nwrite = cfg->allow_write.n,
	        .volumes = volumes,
	        .nvolumes = cfg->volumes.n,
	        .connect_all = cfg->connect_all,
	        .connect = cfg->allow_connect.v,
	        .nconnect = cfg->allow_connect.n,
	        .listen_all = cfg->listen_all,
	        .listen = cfg->allow_listen.v,
	        .nlisten = cfg->allow_listen.n,
	        .run_all = cfg->run_all,
	        .run = cfg->allow_run.v,
	        .nrun = cfg->allow_run.n,
	        .verbose = cfg->verbose,
	};
	struct policy *pol;
	const char *why = "";
	int err = policy_create(&pol, &pc, &why);
	free_volumes(volumes, cfg->volumes.n);
	if (err) {
		log_msg("bad permission flags: %s", why);
		return NULL;
	}
	/* The program may read itself (e.g. through /proc/self/exe), by the name it was
	 * given and by its real name. */
	policy_allow_file(pol, program);
	char real[PATH_MAX];
	if (realpath(program, real))
		policy_allow_file(pol, real);
	return pol;
}

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

/* PROGRAM, or the interpreter of the #! script it is, into prog; *argv the arguments
 * to give it (NULL: cfg->argv as is).  0, or -1 after a one-line error. */
static int script_program(const struct config *cfg, const char *path, struct policy *pol, char prog[PATH_MAX],
                          char ***argv)
{
	snprintf(prog, PATH_MAX, "%s", path);
	*argv = NULL;
	char **v = NULL;
	for (int depth = 0; depth < 5; depth++) {
		if (!v) {
			size_t n = 0;
			while (cfg->argv[n])
				n++;
			v = calloc(n + 1, sizeof(*v));
			for (size_t i = 0; v && i < n; i++)
				if (!(v[i] = strdup(cfg->argv[i])))
					return -1;
			if (!v)
				return -1;
		}
		char interp[PATH_MAX];
		const char *why = "";
		int r = proc_script_interp(prog, &v, getenv("PATH"), interp, &why);
		if (r < 0) {
			log_msg("%s: %s", prog, why);
			return -1;
		}
		if (r == 0) {
			*argv = v;
			return 0;
		}
		snprintf(prog, PATH_MAX, "%s", interp);
		/* The interpreter, like the program, may read itself (and a script its own text). */
		char real[PATH_MAX];
		policy_allow_file(pol, prog);
		if (realpath(prog, real))
			policy_allow_file(pol, real);
	}
	log_msg("%s: too many levels of #! interpreters", path);
	return -1;
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

/* How the program's run ended, as our exit status (with its one log line). */
static int end_status(const struct config *cfg, struct proc *p, enum proc_end end)
{
	char desc[256];
	switch (end) {
	case PROC_EXITED: return proc_exit_code(p);
	case PROC_CRASHED:
		proc_describe_crash(p, desc, sizeof(desc));
		log_msg("program crashed: %s (%s)", desc, strsignal(proc_crash(p)->signal));
		return 128 + proc_crash(p)->signal;
	case PROC_TIMEOUT:
		log_msg("program stopped: it ran longer than --max-boot-time %g s", cfg->max_boot_time);
		return 124;
	default:
		log_msg("the guest could not run: %s",
		        proc_crash(p)->fault.what ? proc_crash(p)->fault.what : "unknown error");
		return 1;
	}
}

/* For the tests only (tests/vm/cli-tests): KVMSERVER_TEST_FORBIDDEN_SYSCALL=1 makes a host
 * call the seccomp filter forbids, right after it is installed: mount(2) with no arguments,
 * which fails harmlessly (EFAULT) when the process is not confined. */
static void test_forbidden_syscall(void)
{
	const char *v = getenv("KVMSERVER_TEST_FORBIDDEN_SYSCALL");
	if (v && strcmp(v, "1") == 0 && syscall(SYS_mount, NULL, NULL, NULL, 0, NULL) < 0)
		log_msg("KVMSERVER_TEST_FORBIDDEN_SYSCALL: mount failed: %s", strerror(errno));
}

/* A pre-fork server: a child process was the first to wait for connections (sys.h,
 * proc_set_template_handler).  Called on that child's host thread. */
struct child_template {
	const struct config *cfg;
	const char *path;
	uint64_t started;
};

static int on_child_template(struct proc *tmpl, void *arg)
{
	const struct child_template *ct = arg;
	int status;
	if (ct->cfg->command == CMD_SNAPSHOT) {
		log_msg("no snapshot written: the process that waits for connections is a child process "
		        "(a pre-fork server); snapshots take the first process only");
		status = 1;
	} else {
		status = server_run_child(ct->cfg, tmpl, ct->path, ct->started);
		if (status == SERVER_RUN_ON)
			return 0;
	}
	fflush(stdout);
	fflush(stderr);
	exit(status);
}

/* How the first process's run ended while a child is the template: 0 when kvmserver
 * carries on (the other processes live on, as on Linux, and the serving thread ends
 * kvmserver), else its exit status. */
static int first_ended_while_child_serves(const struct config *cfg, struct proc *p, enum proc_end end)
{
	int wstatus = end == PROC_EXITED    ? (proc_exit_code(p) & 0xff) << 8
	              : end == PROC_CRASHED ? proc_crash(p)->signal & 0x7f
	                                    : SIGKILL;
	if (cfg->verbose)
		log_msg("the first process ended (wait status 0x%x) while a child process serves; kvmserver "
		        "goes on until every guest process has ended",
		        wstatus);
	proc_end_first_and_wait(p, wstatus);
	return end == PROC_EXITED ? proc_exit_code(p) : end == PROC_CRASHED ? 128 + proc_crash(p)->signal : 1;
}

/* Run PROGRAM (already found at `path`) under the policy: to its end, or into serving. */
static int run_program(const struct config *cfg, const char *path, struct policy *pol, char **env,
                       unsigned closed_stdio)
{
	struct proc_config pcfg = {
	        .user_size = cfg->max_main_memory,
	        .verbose = cfg->verbose,
	        .trace = cfg->verbose_syscalls,
	        .policy = pol,
	        .cwd = cfg->cwd,
	        .closed_stdio = closed_stdio,
	        .max_address_space = cfg->max_address_space,
	        /* A snapshot carries no ring state (its sites, page 0): always the trap. */
	        .syscall_path = cfg->command == CMD_SNAPSHOT            ? SYSPATH_TRAP
	                        : cfg->syscall_path == CONFIG_PATH_RING ? SYSPATH_RING
	                        : cfg->syscall_path == CONFIG_PATH_AUTO ? SYSPATH_AUTO
	                                                                : SYSPATH_TRAP,
	};
	if (pcfg.syscall_path == SYSPATH_AUTO) {
		sys_syscall_path_measure(cfg->verbose);
	}
	struct proc *p;
	int err = proc_create(&p, &pcfg);
	if (err) {
		log_msg("cannot create the guest: %s", strerror(-err));
		return 1;
	}
	const char *why = "";
	err = proc_exec(p, path, cfg->argv, env, &why);
	if (err) {
		log_msg("%s: %s", path, why);
		proc_destroy(p);
		return 1;
	}
	/* From here on everything is driven by the guest: confine ourselves first. */
	if (confine_process(!cfg->no_seccomp)) {
		proc_destroy(p);
		return 1;
	}
	test_forbidden_syscall();
	/* Run the program until it ends or first waits for a connection (server mode). */
	proc_set_mode(p, PROC_MODE_BOOT);
	uint64_t started = vm_now_ns();
	uint64_t deadline = cfg->max_boot_time > 0 ? started + (uint64_t)(cfg->max_boot_time * 1e9) : 0;
	struct child_template ct = {cfg, path, started};
	proc_set_template_handler(on_child_template, &ct);
	enum proc_end end = proc_run(p, deadline);
	/* A child became the template (a pre-fork server): this thread goes on running the
	 * first process (the master), without the boot deadline, which ended then. */
	while (end == PROC_TIMEOUT && proc_template_elsewhere(p))
		end = proc_run(p, 0);
	if (end != PROC_LISTENING && proc_template_elsewhere(p)) {
		int st = first_ended_while_child_serves(cfg, p, end);
		proc_destroy(p);
		return st;
	}
	int status = end != PROC_LISTENING          ? end_status(cfg, p, end)
	             : cfg->command == CMD_SNAPSHOT ? snapshot_write(cfg, p, path, started)
	                                            : server_run(cfg, p, path, started);
	if (end != PROC_LISTENING && cfg->command == CMD_SNAPSHOT) {
		log_msg("no snapshot written: the program ended before it waited for a connection");
		status = status ? status : 1;
	}
	if (cfg->verbose) {
		const struct vm_stats *s = proc_vm_stats(p);
		log_msg("vm exits %llu, syscalls %llu, faults %llu, ring calls %llu, rewrites %llu, ring timeouts %llu",
		        (unsigned long long)s->exits, (unsigned long long)s->syscalls, (unsigned long long)s->faults,
		        (unsigned long long)s->ring_calls, (unsigned long long)s->rewrites,
		        (unsigned long long)s->ring_timeouts);
	}
	proc_destroy(p);
	return status;
}

/* Started with 0, 1 or 2 closed, the first files kvmserver opens (/dev/kvm, the policy's
 * roots) would land there, and the guest's stdio would be dups of them.  So /dev/null goes
 * onto each closed one before anything else is opened; the guest's stays closed.  Returns
 * the closed ones as bits (proc_config.closed_stdio). */
static unsigned cover_closed_stdio(void)
{
	unsigned closed = 0;
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* (the lower ones are open, so it lands on fd; without a /dev/null the guest's
		 * stays closed all the same) */
		int h = open("/dev/null", O_RDWR);
		if (h >= 0 && h != fd)
			close(h);
		closed |= 1u << fd;
	}
	return closed;
}

/* One host process holds the host fds of every guest process and of every VM (KVM's
 * fds, a pipe's copies in each process that has it): a program with a hundred processes
 * would pass the soft limit that shells often set (1024), and fork or open would fail in
 * the guest.  The guest's own RLIMIT_NOFILE is emulated (the fd table), so only the host's
 * soft limit rises, to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	unsigned closed_stdio = cover_closed_stdio();
	struct config cfg;
	int r = config_parse(&cfg, argc, argv);
	if (r != 0) {
		config_free(&cfg);
		return r > 0 ? 0 : 2;
	}
	if (warmup_load(&cfg)) {
		config_free(&cfg);
		return 2;
	}
	raise_fd_limit();
	int status = 1;
	int err = lifecycle_start();
	if (err) {
		log_msg("cannot set up signal handling: %s", strerror(-err));
		goto out;
	}
	/* Sockets from systemd socket activation, before anything else opens fds. */
	int nsock = sys_activation_init();
	if (nsock < 0)
		log_msg("socket activation: %s (LISTEN_FDS ignored)", strerror(-nsock));
	if (cfg.command == CMD_SNAPRUN) {
		err = vm_kvm_available();
		if (err)
			explain_no_kvm(err);
		signal(SIGPIPE, SIG_IGN);
		status = err ? 1 : snaprun_main(&cfg);
		goto out;
	}
	char path[PATH_MAX];
	err = find_program(cfg.program, path);
	if (err) {
		log_msg("%s: %s", cfg.program, strerror(-err));
		goto out;
	}
	err = vm_kvm_available();
	if (err) {
		explain_no_kvm(err);
		goto out;
	}
	/* The flag's own bound (64 TiB) is the most any host could give; this host's KVM and
	 * CPU may give less. */
	uint64_t max_user = vm_max_user_size();
	if (cfg.max_main_memory > max_user) {
		log_msg("--max-main-memory %llu MiB: this host gives a guest at most %llu MiB",
		        (unsigned long long)(cfg.max_main_memory >> 20), (unsigned long long)(max_user >> 20));
		goto out;
	}
	/* A #! script: load its interpreter (a script may name another, as Linux allows). */
	/* A guest writing to a closed pipe gets EPIPE, not our death. */
	signal(SIGPIPE, SIG_IGN);
	struct policy *pol = make_policy(&cfg, path);
	char prog[PATH_MAX];
	char **prog_argv = NULL;
	if (pol && script_program(&cfg, path, pol, prog, &prog_argv)) {
		policy_destroy(pol);
		goto out;
	}
	char **env = build_env(&cfg);
	if (prog_argv)
		cfg.argv = prog_argv;
	if (pol && env)
		status = run_program(&cfg, prog, pol, env, closed_stdio);
	policy_destroy(pol);
	free(env);
	for (size_t i = 0; prog_argv && prog_argv[i]; i++)
		free(prog_argv[i]);
	free(prog_argv);
out:
	config_free(&cfg);
	return status;
}
