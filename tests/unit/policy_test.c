/* policy_test.c - unit tests for the policy's pure parts: policy_normalize (lexical path
 * normalisation against the guest's cwd) and the socket-option allow-list. */
#include "sys/policy/policy.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "sys/net/sockopt_list.h"
#include "test_util.h"

static const char *norm(const char *cwd, const char *in)
{
	static char out[4096];
	int r = policy_normalize(cwd, in, out, sizeof(out));
	return r == 0 ? out : r == -ENAMETOOLONG ? "<ENAMETOOLONG>" : "<error>";
}

#define ASSERT_NORM(cwd, in, want)                                                                                     \
	TEST_ASSERT(strcmp(norm(cwd, in), want) == 0, "%s + %s -> %s, want %s", cwd, in, norm(cwd, in), want)

static void test_normalize(void)
{
	ASSERT_NORM("/", "a/b", "/a/b");
	ASSERT_NORM("/srv/app", "data.txt", "/srv/app/data.txt");
	ASSERT_NORM("/srv/app", "/etc/passwd", "/etc/passwd");
	ASSERT_NORM("/srv/app", "./x/./y/", "/srv/app/x/y");
	ASSERT_NORM("/srv/app", "../other", "/srv/other");
	ASSERT_NORM("/srv", "a//b///c", "/srv/a/b/c");
	/* ".." never climbs above the root, however many there are. */
	ASSERT_NORM("/srv/app", "../../../../etc/passwd", "/etc/passwd");
	ASSERT_NORM("/", "..", "/");
	ASSERT_NORM("/", "", "/");
	ASSERT_NORM("/a", "b/../../..", "/");
	/* "..." and ".x" are names, not dots. */
	ASSERT_NORM("/", ".../.x/..y", "/.../.x/..y");
}

static void test_normalize_too_long(void)
{
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	char out[64];
	ASSERT_EQ(policy_normalize("/", big, out, sizeof(out)), -ENAMETOOLONG);
	ASSERT_EQ(policy_normalize("/", "abc", out, 4), -ENAMETOOLONG); /* "/abc" needs 5 bytes */
	ASSERT_EQ(policy_normalize("/", "abc", out, 5), 0);
}

static void test_sockopts(void)
{
	/* Plain-bytes options pass both ways. */
	ASSERT_EQ(sockopt_allowed(SOL_SOCKET, SO_REUSEADDR, true), true);
	ASSERT_EQ(sockopt_allowed(IPPROTO_TCP, TCP_NODELAY, true), true);
	ASSERT_EQ(sockopt_allowed(SOL_SOCKET, SO_ERROR, false), true);
	/* Read-only options cannot be set. */
	ASSERT_EQ(sockopt_allowed(SOL_SOCKET, SO_ERROR, true), false);
	/* Options carrying pointers or fds, or needing privilege, are refused both ways. */
	ASSERT_EQ(sockopt_allowed(SOL_SOCKET, SO_ATTACH_FILTER, true), false);
	ASSERT_EQ(sockopt_allowed(SOL_SOCKET, SO_BINDTODEVICE, true), false);
	ASSERT_EQ(sockopt_allowed(SOL_IP, IP_TRANSPARENT, true), false);
	ASSERT_EQ(sockopt_allowed(IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, false), false);
	ASSERT_EQ(sockopt_allowed(12345, 1, false), false);
}

int main(void)
{
	RUN_TEST(test_normalize);
	RUN_TEST(test_normalize_too_long);
	RUN_TEST(test_sockopts);
	return test_summary();
}
