/* fdtab_test.c - unit tests for the guest fd table (fdtab_*) with real host fds. */
#include "sys/files/fdtab.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"

/* A fresh host fd (on /dev/null) for the table to own. */
static int host_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open /dev/null: errno %d", errno);
	return fd;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_alloc_lowest(void)
{
	struct fdtab t;
	int h[4];

	ASSERT_EQ(fdtab_init(&t, 1024), 0);
	for (int i = 0; i < 3; i++) {
		h[i] = host_fd();
		ASSERT_EQ(fdtab_alloc(&t, 0, h[i], FD_FILE, false), i);
	}
	struct fd_entry *e = fdtab_get(&t, 1);
	TEST_ASSERT(e != NULL, "fd 1 open");
	if (e) {
		ASSERT_EQ(e->host_fd, h[1]);
		ASSERT_EQ(e->kind, FD_FILE);
		ASSERT_EQ(e->cloexec, false);
	}
	ASSERT_EQ(fdtab_close(&t, 1), 0);
	TEST_ASSERT(!is_open(h[1]), "host fd %d closed with guest fd 1", h[1]);
	ASSERT_EQ(fdtab_get(&t, 1), NULL);
	/* The lowest free one again, then the next after the used ones. */
	h[1] = host_fd();
	ASSERT_EQ(fdtab_alloc(&t, 0, h[1], FD_PIPE, true), 1);
	ASSERT_EQ(fdtab_get(&t, 1)->kind, FD_PIPE);
	ASSERT_EQ(fdtab_get(&t, 1)->cloexec, true);
	h[3] = host_fd();
	ASSERT_EQ(fdtab_alloc(&t, -5, h[3], FD_SOCKET, false), 3); /* negative min: from 0 */
	/* min_fd (F_DUPFD): the lowest free at or above it. */
	ASSERT_EQ(fdtab_alloc(&t, 10, host_fd(), FD_FILE, false), 10);
	ASSERT_EQ(fdtab_alloc(&t, 10, host_fd(), FD_FILE, false), 11);
	ASSERT_EQ(fdtab_alloc(&t, 0, host_fd(), FD_FILE, false), 4);
	ASSERT_EQ(fdtab_get(&t, 5), NULL);
	fdtab_fini(&t);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(!is_open(h[i]), "fini closed host fd %d", h[i]);
}

static void test_install(void)
{
	struct fdtab t;
	int a = host_fd(), b = host_fd(), c = host_fd();

	ASSERT_EQ(fdtab_init(&t, 1024), 0);
	ASSERT_EQ(fdtab_alloc(&t, 0, a, FD_FILE, false), 0);
	/* dup2 onto an open fd: the old host fd is closed, the new one owned. */
	ASSERT_EQ(fdtab_install(&t, 0, b, FD_PIPE, true), 0);
	TEST_ASSERT(!is_open(a), "replaced host fd %d closed", a);
	TEST_ASSERT(is_open(b), "installed host fd %d open", b);
	ASSERT_EQ(fdtab_get(&t, 0)->host_fd, b);
	ASSERT_EQ(fdtab_get(&t, 0)->kind, FD_PIPE);
	/* Onto a free fd far past the current size: the table grows; the gap stays free. */
	ASSERT_EQ(fdtab_install(&t, 500, c, FD_EVENT, false), 500);
	ASSERT_EQ(fdtab_get(&t, 500)->host_fd, c);
	for (int fd = 1; fd < 500; fd++)
		if (fdtab_get(&t, fd)) {
			TEST_ASSERT(0, "fd %d should be free", fd);
			break;
		}
	ASSERT_EQ(fdtab_alloc(&t, 0, host_fd(), FD_FILE, false), 1);
	/* Out of range: -EBADF, and the passed host fd is closed. */
	int d = host_fd(), e = host_fd();
	ASSERT_EQ(fdtab_install(&t, 1024, d, FD_FILE, false), -EBADF);
	TEST_ASSERT(!is_open(d), "rejected host fd %d closed", d);
	ASSERT_EQ(fdtab_install(&t, -1, e, FD_FILE, false), -EBADF);
	TEST_ASSERT(!is_open(e), "rejected host fd %d closed", e);
	fdtab_fini(&t);
	TEST_ASSERT(!is_open(b) && !is_open(c), "fini closed %d and %d", b, c);
}

static void test_close_bad(void)
{
	struct fdtab t;
	int a = host_fd();

	ASSERT_EQ(fdtab_init(&t, 64), 0);
	ASSERT_EQ(fdtab_close(&t, 0), -EBADF); /* empty table */
	ASSERT_EQ(fdtab_alloc(&t, 0, a, FD_FILE, false), 0);
	ASSERT_EQ(fdtab_close(&t, -1), -EBADF);
	ASSERT_EQ(fdtab_close(&t, 1), -EBADF);
	ASSERT_EQ(fdtab_close(&t, 63), -EBADF);
	ASSERT_EQ(fdtab_close(&t, 1000000), -EBADF);
	ASSERT_EQ(fdtab_get(&t, -1), NULL);
	ASSERT_EQ(fdtab_get(&t, 1000000), NULL);
	ASSERT_EQ(fdtab_close(&t, 0), 0);
	ASSERT_EQ(fdtab_close(&t, 0), -EBADF); /* twice */
	TEST_ASSERT(!is_open(a), "host fd %d closed", a);
	fdtab_fini(&t);
}

static void test_limit(void)
{
	struct fdtab t;
	int p[2];

	ASSERT_EQ(fdtab_init(&t, 3), 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(fdtab_alloc(&t, 0, host_fd(), FD_FILE, false), i);
	/* Full: -EMFILE, and the host fd passed in (here a pipe's end) is closed. */
	TEST_ASSERT(pipe2(p, O_CLOEXEC) == 0, "pipe: errno %d", errno);
	ASSERT_EQ(fdtab_alloc(&t, 0, p[0], FD_PIPE, false), -EMFILE);
	TEST_ASSERT(!is_open(p[0]), "rejected read end %d closed", p[0]);
	/* min_fd at or past the limit, with room below: still -EMFILE (as F_DUPFD). */
	ASSERT_EQ(fdtab_close(&t, 1), 0);
	ASSERT_EQ(fdtab_alloc(&t, 3, p[1], FD_PIPE, false), -EMFILE);
	TEST_ASSERT(!is_open(p[1]), "rejected write end %d closed", p[1]);
	ASSERT_EQ(fdtab_alloc(&t, 0, host_fd(), FD_FILE, false), 1);
	/* A zero limit takes nothing. */
	struct fdtab z;
	int a = host_fd();
	ASSERT_EQ(fdtab_init(&z, 0), 0);
	ASSERT_EQ(fdtab_alloc(&z, 0, a, FD_FILE, false), -EMFILE);
	TEST_ASSERT(!is_open(a), "host fd %d closed", a);
	fdtab_fini(&z);
	fdtab_fini(&t);
}

static void test_fini_closes_everything(void)
{
	struct fdtab t;
	enum { N = 150 }; /* past the first growth (64) and the second (128) */
	int h[N];

	ASSERT_EQ(fdtab_init(&t, 1024), 0);
	for (int i = 0; i < N; i++) {
		h[i] = host_fd();
		ASSERT_EQ(fdtab_alloc(&t, 0, h[i], i % 2 ? FD_FILE : FD_SPECIAL, i % 3 == 0), i);
	}
	for (int i = 0; i < N; i++)
		if (!fdtab_get(&t, i) || fdtab_get(&t, i)->host_fd != h[i]) {
			TEST_ASSERT(0, "fd %d lost its host fd after growth", i);
			break;
		}
	ASSERT_EQ(fdtab_close(&t, 70), 0);
	fdtab_fini(&t);
	for (int i = 0; i < N; i++)
		TEST_ASSERT(!is_open(h[i]), "host fd %d (guest %d) still open", h[i], i);
	ASSERT_EQ(t.e, NULL);
	ASSERT_EQ(t.cap, 0);
	fdtab_fini(&t); /* a second fini is harmless */
}

/* fd_listener keeps its answer until fd_listen_changed, for the host fd it asked about. */
static void test_listener_answer_kept(void)
{
	struct fdtab t;
	ASSERT_EQ(fdtab_init(&t, 1024), 0);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TEST_ASSERT(s >= 0, "socket: errno %d", errno);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	TEST_ASSERT(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: errno %d", errno);
	int fd = fdtab_alloc(&t, 0, s, FD_SOCKET, true);
	struct fd_entry *e = fdtab_get(&t, fd);
	TEST_ASSERT(e != NULL, "socket installed");
	if (!e)
		return;
	ASSERT_EQ(fd_listener(e, true), false);
	TEST_ASSERT(listen(s, 8) == 0, "listen: errno %d", errno);
	ASSERT_EQ(host_is_listener(s), true);
	ASSERT_EQ(fd_listener(e, true), false); /* kept: no listen(2) was announced */
	fd_listen_changed();
	ASSERT_EQ(fd_listener(e, true), true);
	/* Another host fd in the entry (a dup, a clone) is asked about afresh. */
	int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int kept = e->host_fd;
	e->host_fd = other;
	ASSERT_EQ(fd_listener(e, true), false);
	e->host_fd = kept;
	close(other);
	shutdown(s, SHUT_RDWR);
	fd_listen_changed();
	ASSERT_EQ(fd_listener(e, true), false);
	/* A request VM's shared entry is the template's listener: not asked. */
	e->shared = true;
	ASSERT_EQ(fd_listener(e, true), true);
	e->shared = false;
	e->kind = FD_FILE;
	ASSERT_EQ(fd_listener(e, true), false);
	fdtab_fini(&t);
}

int main(void)
{
	RUN_TEST(test_listener_answer_kept);
	RUN_TEST(test_alloc_lowest);
	RUN_TEST(test_install);
	RUN_TEST(test_close_bad);
	RUN_TEST(test_limit);
	RUN_TEST(test_fini_closes_everything);
	return test_summary();
}
