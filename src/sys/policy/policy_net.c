/* policy_net.c - the network half of the policy: which addresses the guest may connect to
 * (connect(2), sendto(2)/sendmsg(2) with a destination) and bind/listen on.
 *
 * Rules come from --allow-connect=LIST and --allow-listen=LIST (struct policy_config);
 * --allow-net sets connect_all and listen_all, which allow everything.  A list entry is
 *
 *   HOST:PORT     HOST is an IPv4 address, a host name, or `[IPv6]`
 *   HOST          the same on any port
 *   IPV6          a bare IPv6 address (two or more colons, no brackets): any port
 *   :PORT  *:PORT  0.0.0.0:PORT  [::]:PORT  *     any address (the wildcard host)
 *
 * and PORT 0 means any port.  Host names are resolved once, here, with getaddrinfo: the
 * rule matches every address the name had then.  "localhost" is not looked up: it means
 * exactly 127.0.0.1 and ::1.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are compared as
 * the IPv4 address they carry, in rules and in requests alike.
 *
 * Decisions:
 *  - connect: the destination must match a connect rule.  Linux treats a connect to the
 *    unspecified address (0.0.0.0 or ::) as a connect to the local host, so such a
 *    destination is checked as 127.0.0.1 / ::1.  A wildcard-host rule matches any address.
 *  - listen (checked at bind with a non-zero port, and at listen(2) on the bound address):
 *    a rule with a specific host allows binding exactly that address.  Binding the
 *    wildcard address (0.0.0.0 or ::) exposes the port on every interface, so only a
 *    wildcard-host rule (or listen_all) allows it; "127.0.0.1:8080" does not.
 *  - AF_UNIX: sockets in the abstract namespace (sun_path[0] == 0) are shared with every
 *    process of the host's network namespace (D-Bus, X11 ...) and have no host:port form,
 *    so they are allowed only by connect_all / listen_all.  Path-based AF_UNIX sockets are
 *    files: they follow the path rules (net.c), never these; here they are denied.
 *  - every other family, and a NULL policy, is denied.
 * Denials are logged (log_msg) when the policy is verbose.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "sys/policy/policy_impl.h"
#include "util/array.h"
#include "util/log.h"

struct net_rule {
	bool any_addr; /* wildcard host */
	int family; /* AF_INET or AF_INET6 (unused when any_addr) */
	unsigned char addr[16]; /* network order: 4 bytes for AF_INET */
	uint16_t port; /* host order; 0 = any port */
};

struct rule_list {
	bool all;
	struct net_rule *r;
	size_t n, cap;
};

struct net_rules {
	struct rule_list connect;
	struct rule_list listen;
};

/* The parsed view of a sockaddr (inet families only). */
struct net_addr {
	int family;
	unsigned char addr[16];
	uint16_t port;
};

static int push_rule(struct rule_list *l, const struct net_rule *r)
{
	if (ARRAY_RESERVE(l->r, l->cap, l->n + 1, 8))
		return -ENOMEM;
	l->r[l->n++] = *r;
	return 0;
}

/* ::ffff:a.b.c.d -> a.b.c.d, so both spellings of an IPv4 address compare equal. */
static void unmap_v4(int *family, unsigned char *addr)
{
	static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (*family == AF_INET6 && !memcmp(addr, prefix, 12)) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	}
}

static bool is_unspecified(int family, const unsigned char *addr)
{
	static const unsigned char zero[16];
	return !memcmp(addr, zero, family == AF_INET ? 4 : 16);
}

static char why_buf[512];

static int bad_entry(const char **why, const char *opt, const char *entry, const char *reason)
{
	snprintf(why_buf, sizeof(why_buf), "%s entry '%s': %s", opt, entry, reason);
	if (why)
		*why = why_buf;
	return -EINVAL;
}

/* Parses a port: decimal 0..65535.  Returns 0 or -1. */
static int parse_port(const char *s, uint16_t *out)
{
	if (!*s || strlen(s) > 5)
		return -1;
	unsigned v = 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (unsigned)(*c - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int add_addr(struct rule_list *l, int family, const void *addr, uint16_t port)
{
	struct net_rule r = {.family = family, .port = port};
	memcpy(r.addr, addr, family == AF_INET ? 4 : 16);
	unmap_v4(&r.family, r.addr);
	/* 0.0.0.0 and :: written as a host mean "any address" (the wildcard). */
	if (is_unspecified(r.family, r.addr))
		r.any_addr = true;
	return push_rule(l, &r);
}

static int parse_entry(struct rule_list *l, const char *opt, const char *entry, const char **why)
{
	size_t len = strlen(entry);
	if (len == 0)
		return bad_entry(why, opt, entry, "empty entry");
	if (len >= 256)
		return bad_entry(why, opt, entry, "too long");
	char buf[256];
	memcpy(buf, entry, len + 1);

	char *host = buf, *port_s = NULL;
	bool bracketed = false;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close)
			return bad_entry(why, opt, entry, "missing ']'");
		*close = 0;
		host = buf + 1;
		bracketed = true;
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1])
			return bad_entry(why, opt, entry, "expected ':PORT' after ']'");
	} else {
		char *colon = strchr(buf, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Two or more colons and no brackets: a bare IPv6 address, any port. */
			port_s = NULL;
		} else if (colon) {
			*colon = 0;
			port_s = colon + 1;
		}
	}

	uint16_t port = 0;
	if (port_s && parse_port(port_s, &port) < 0)
		return bad_entry(why, opt, entry, "bad port (want 0..65535)");

	if (!*host || !strcmp(host, "*")) {
		if (bracketed)
			return bad_entry(why, opt, entry, "empty address in brackets");
		struct net_rule r = {.any_addr = true, .port = port};
		return push_rule(l, &r);
	}

	unsigned char a[16];
	if (bracketed || strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, a) != 1)
			return bad_entry(why, opt, entry, "bad IPv6 address");
		return add_addr(l, AF_INET6, a, port);
	}
	if (inet_pton(AF_INET, host, a) == 1)
		return add_addr(l, AF_INET, a, port);
	if (!strcmp(host, "localhost")) {
		int err = add_addr(l, AF_INET, &(struct in_addr){htonl(INADDR_LOOPBACK)}, port);
		return err ? err : add_addr(l, AF_INET6, &in6addr_loopback, port);
	}

	/* A host name: every address it resolves to now. */
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, NULL, &hints, &res);
	if (g != 0) {
		char reason[300];
		snprintf(reason, sizeof(reason), "cannot resolve '%s': %s", host, gai_strerror(g));
		return bad_entry(why, opt, entry, reason);
	}
	int err = 0;
	size_t added = 0;
	for (struct addrinfo *ai = res; ai && !err; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
			err = add_addr(l, AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, port);
			added++;
		} else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			err = add_addr(l, AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, port);
			added++;
		}
	}
	freeaddrinfo(res);
	if (!err && !added)
		return bad_entry(why, opt, entry, "the name has no IPv4 or IPv6 address");
	return err;
}

static int parse_list(struct rule_list *l, const char *opt, bool all, const char *const *list, size_t n,
                      const char **why)
{
	l->all = all;
	for (size_t i = 0; i < n; i++) {
		if (!list[i])
			continue;
		int err = parse_entry(l, opt, list[i], why);
		if (err)
			return err;
	}
	return 0;
}

void policy_net_fini(struct policy *pol)
{
	if (!pol || !pol->net)
		return;
	free(pol->net->connect.r);
	free(pol->net->listen.r);
	free(pol->net);
	pol->net = NULL;
}

int policy_net_init(struct policy *pol, const struct policy_config *cfg, const char **why)
{
	struct net_rules *nr = calloc(1, sizeof(*nr));
	if (!nr) {
		if (why)
			*why = "out of memory";
		return -ENOMEM;
	}
	pol->net = nr;
	int err = parse_list(&nr->connect, "--allow-connect", cfg->connect_all, cfg->connect, cfg->nconnect, why);
	if (!err)
		err = parse_list(&nr->listen, "--allow-listen", cfg->listen_all, cfg->listen, cfg->nlisten, why);
	if (err) {
		if (err == -ENOMEM && why)
			*why = "out of memory";
		policy_net_fini(pol);
	}
	return err;
}

/* Parses an inet sockaddr.  Returns 0, or -1 when it is not one (or too short). */
static int parse_sockaddr(const struct sockaddr *sa, socklen_t len, struct net_addr *out)
{
	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return -1;
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = AF_INET;
		memcpy(out->addr, &in->sin_addr, 4);
		out->port = ntohs(in->sin_port);
		return 0;
	}
	/* 24 bytes (SIN6_LEN_RFC2133, no scope id) is a valid IPv6 sockaddr for Linux. */
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)offsetof(struct sockaddr_in6, sin6_scope_id)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		out->family = AF_INET6;
		memcpy(out->addr, &in6->sin6_addr, 16);
		out->port = ntohs(in6->sin6_port);
		unmap_v4(&out->family, out->addr);
		return 0;
	}
	return -1;
}

static bool rule_matches(const struct net_rule *r, const struct net_addr *a, bool listen)
{
	if (r->port && r->port != a->port)
		return false;
	if (r->any_addr)
		return true;
	if (listen && is_unspecified(a->family, a->addr))
		return false; /* the wildcard needs a wildcard rule */
	return r->family == a->family && !memcmp(r->addr, a->addr, a->family == AF_INET ? 4 : 16);
}

static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	struct net_addr a;
	if (sa && len > (socklen_t)sizeof(sa_family_t) && sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof(un->sun_path))
			n = sizeof(un->sun_path);
		if (n && un->sun_path[0] == 0)
			snprintf(out, size, "unix:@%.*s", (int)(n - 1), un->sun_path + 1);
		else
			snprintf(out, size, "unix:%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
		return;
	}
	if (parse_sockaddr(sa, len, &a) < 0) {
		snprintf(out, size, "family %d", sa && len >= (socklen_t)sizeof(sa_family_t) ? sa->sa_family : -1);
		return;
	}
	char host[INET6_ADDRSTRLEN];
	inet_ntop(a.family, a.addr, host, sizeof(host));
	snprintf(out, size, a.family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, a.port);
}

static int check(const struct policy *pol, const struct sockaddr *sa, socklen_t len, bool listen)
{
	const struct rule_list *l = NULL;
	if (pol && pol->net)
		l = listen ? &pol->net->listen : &pol->net->connect;
	if (l && l->all)
		return 0;

	struct net_addr a;
	if (l && parse_sockaddr(sa, len, &a) == 0) {
		if (!listen && is_unspecified(a.family, a.addr)) {
			/* connect(0.0.0.0) reaches this host: check it as the loopback address. */
			if (a.family == AF_INET) {
				uint32_t lo = htonl(INADDR_LOOPBACK);
				memcpy(a.addr, &lo, 4);
			} else {
				memcpy(a.addr, &in6addr_loopback, 16);
			}
		}
		for (size_t i = 0; i < l->n; i++)
			if (rule_matches(&l->r[i], &a, listen))
				return 0;
	}

	if (pol && pol->verbose) {
		char what[160];
		format_addr(sa, len, what, sizeof(what));
		log_msg("policy: denied %s %s (not allowed by %s)", listen ? "listen on" : "connect to", what,
		        listen ? "--allow-listen" : "--allow-connect");
	}
	return -EPERM;
}

int policy_check_connect(const struct policy *pol, const struct sockaddr *sa, socklen_t len)
{
	return check(pol, sa, len, false);
}

int policy_check_listen(const struct policy *pol, const struct sockaddr *sa, socklen_t len)
{
	return check(pol, sa, len, true);
}
