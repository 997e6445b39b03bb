/* snapshot.c - the `snapshot` and `snaprun` commands: save a server's template after its
 * start-up, and serve from such a file (src/sys/snapshot.c does the saving and loading). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/confine.h"
#include "server/server.h"
#include "requestvm/snapshot.h"
#include "util/log.h"

static void to_list(struct snap_strlist *out, const struct strlist *in)
{
	out->v = in->v;
	out->n = in->n;
}

static void from_list(struct strlist *out, const struct snap_strlist *in)
{
	out->v = in->v;
	out->n = in->n;
}

int snapshot_write(const struct config *cfg, struct proc *p, const char *path, uint64_t started_ns)
{
	if (cfg->warmup > 0) {
		uint64_t deadline = cfg->max_boot_time > 0 ? started_ns + (uint64_t)(cfg->max_boot_time * 1e9) : 0;
		if (warmup_run(cfg, p, deadline))
			return 1;
	}
	uint64_t t0 = vm_now_ns();
	struct snap_policy_src pol = {.read_all = cfg->read_all,
	                              .write_all = cfg->write_all,
	                              .connect_all = cfg->connect_all,
	                              .listen_all = cfg->listen_all};
	to_list(&pol.read, &cfg->allow_read);
	to_list(&pol.write, &cfg->allow_write);
	to_list(&pol.volumes, &cfg->volumes);
	to_list(&pol.connect, &cfg->allow_connect);
	to_list(&pol.listen, &cfg->allow_listen);
	char why[512];
	uint64_t bytes = 0;
	if (proc_snapshot_save(p, cfg->snapshot, path, &pol, &bytes, why, sizeof(why))) {
		log_msg("cannot snapshot '%s': %s", path, why);
		return 1;
	}
	printf("Program '%s' saved to %s: %.1f MiB, start-up %llums, written in %llums\n", path, cfg->snapshot,
	       (double)bytes / (1 << 20), (unsigned long long)((t0 - started_ns) / 1000000),
	       (unsigned long long)((vm_now_ns() - t0) / 1000000));
	fflush(stdout);
	return 0;
}

static bool any_permission_flag(const struct config *c)
{
	return c->read_all || c->write_all || c->env_all || c->connect_all || c->listen_all || c->allow_read.n ||
	       c->allow_write.n || c->allow_env.n || c->allow_connect.n || c->allow_listen.n || c->volumes.n ||
	       c->env.n || c->cwd;
}

int snaprun_main(const struct config *cfg)
{
	uint64_t started = vm_now_ns();
	if (any_permission_flag(cfg)) {
		log_msg("snaprun: permissions, --env and --cwd are the snapshot's; give them to 'snapshot'");
		return 2;
	}
	struct snap_image img;
	int fd;
	char why[512];
	if (snap_open(cfg->snapshot, &img, &fd, why, sizeof(why))) {
		log_msg("%s", why);
		return 1;
	}
	/* The policy the program was started under. */
	struct config pc = *cfg;
	pc.read_all = img.read_all;
	pc.write_all = img.write_all;
	pc.connect_all = img.connect_all;
	pc.listen_all = img.listen_all;
	from_list(&pc.allow_read, &img.read);
	from_list(&pc.allow_write, &img.write);
	from_list(&pc.volumes, &img.volumes);
	from_list(&pc.allow_connect, &img.connect);
	from_list(&pc.allow_listen, &img.listen);
	struct policy *pol = make_policy(&pc, img.exe_path);
	/* As `run` allows it: by its real path and by the name it was given (if absolute). */
	if (pol && img.program[0] == '/')
		policy_allow_file(pol, img.program);
	int status = 1;
	struct proc *p = NULL;
	if (pol) {
		struct proc_config pcfg = {.verbose = cfg->verbose, .trace = cfg->verbose_syscalls, .policy = pol};
		if (proc_snapshot_restore(&img, fd, &pcfg, &p, why, sizeof(why)))
			log_msg("%s: %s", cfg->snapshot, why);
	}
	close(fd);
	/* From here on everything is driven by the guest, as after `run`'s exec (main.c). */
	if (p && confine_process(!cfg->no_seccomp)) {
		proc_destroy(p);
		p = NULL;
	}
	if (p) {
		char program[4096];
		snprintf(program, sizeof(program), "%s", img.program);
		snap_image_free(&img);
		status = server_run(cfg, p, program, started);
		proc_destroy(p);
	} else {
		snap_image_free(&img);
	}
	policy_destroy(pol);
	return status;
}
