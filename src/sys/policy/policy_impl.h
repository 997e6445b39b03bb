/* policy_impl.h - struct policy, shared by policy.c (paths) and policy_net.c (network). */
#ifndef SYS_POLICY_IMPL_H
#define SYS_POLICY_IMPL_H

#include "sys/policy/policy.h"

struct net_rules; /* policy_net.c */

struct policy_root {
	char *guest; /* absolute guest path prefix ("/" for everything) */
	char *host; /* host path it shows */
	int dirfd; /* open O_PATH|O_DIRECTORY fd of host (or of its parent for a file) */
	char *file; /* non-NULL: this root allows exactly one file, dirfd is its parent */
	int access; /* POLICY_READ | POLICY_WRITE */
};

struct policy {
	struct policy_root *roots;
	size_t nroots;
	struct net_rules *net;
	bool run_all; /* --allow-run (policy_run.c) */
	char **run; /* its list; entries with a slash made real paths */
	size_t nrun;
	bool verbose;
	bool write_all; /* every file: pseudo-terminals too (policy_pty_allowed) */
};

/* policy_net.c: parse the connect/listen lists (resolving names) into pol->net. */
int policy_net_init(struct policy *pol, const struct policy_config *cfg, const char **why);
void policy_net_fini(struct policy *pol);

/* policy_run.c: the --allow-run list. */
int policy_run_init(struct policy *pol, const struct policy_config *cfg, const char **why);
void policy_run_fini(struct policy *pol);

#endif
