/* policy_run.c - the permission to run programs (--allow-run, Deno's name for it): which
 * files the guest may execve.  Reading the file is still the path policy's decision. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/policy/policy_impl.h"
#include "util/log.h"

int policy_run_init(struct policy *pol, const struct policy_config *cfg, const char **why)
{
	pol->run_all = cfg->run_all;
	if (!cfg->nrun)
		return 0;
	pol->run = calloc(cfg->nrun, sizeof(*pol->run));
	if (!pol->run)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nrun; i++) {
		const char *e = cfg->run[i];
		char real[PATH_MAX];
		if (!*e) {
			*why = "an empty --allow-run entry";
			return -EINVAL;
		}
		/* A path names one file: compare real paths, so links to it count. */
		if (strchr(e, '/') && realpath(e, real))
			e = real;
		if (!(pol->run[pol->nrun++] = strdup(e)))
			return -ENOMEM;
	}
	return 0;
}

void policy_run_fini(struct policy *pol)
{
	for (size_t i = 0; i < pol->nrun; i++)
		free(pol->run[i]);
	free(pol->run);
	pol->run = NULL;
	pol->nrun = 0;
}

int policy_check_run(const struct policy *pol, const char *path, int fd)
{
	if (pol->run_all)
		return 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char link[64], real[PATH_MAX] = "";
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, sizeof(real) - 1);
	real[n > 0 ? n : 0] = 0;
	for (size_t i = 0; i < pol->nrun; i++) {
		const char *e = pol->run[i];
		if (strchr(e, '/') ? strcmp(e, path) == 0 || strcmp(e, real) == 0 : strcmp(e, base) == 0)
			return 0;
	}
	if (pol->verbose)
		log_msg("denied: run %s (see --allow-run)", path);
	return -EACCES;
}
