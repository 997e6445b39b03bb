/* state_server.c PORT DIR: process state a request may change, which the next request must
 * not see under --ephemeral (tests/vm/isolation-tests, state[...]).  At start-up it sets
 * umask 022, makes a socketpair, opens DIR/rw.txt read-write (writing "0123456789", offset
 * back at 0) and binds (no listen) an AF_UNIX socket at DIR/t.sock.  Each path answers one
 * line:
 *   /umask      "umask=OOO"                   /setumask  umask 077, creates a file: "mode=OOO"
 *   /umask0     umask 0, creates a file and a directory: "mode=OOO dir=OOO"
 *   /nice       "nice=N"                      /setnice   setpriority 10: "set=R"
 *   /comm       "comm=NAME" (PR_GET_NAME)     /setcomm   PR_SET_NAME "changed": "set=R"
 *   /spwrite    writes "leak" into the socketpair: "wrote=N"
 *   /spread     reads the other end without waiting: "read=N" (-1: nothing there)
 *   /rw         reads one byte of DIR/rw.txt: "rw=C"
 *   /bindmany   binds (and unlinks) 70 AF_UNIX sockets in DIR: "bound=N"
 *   /tname      getsockname of DIR/t.sock: "tname=PATH" ("tname=" when unnamed)
 *   /fpu        the FPU and vector state a request may leave behind: "mxcsr=X fcw=X xmm15=X"
 *   /setfpu     MXCSR rounding toward zero, x87 precision 53 bits, a marker in xmm15: "set ..."
 *   /vforkhang  vforks a child that waits for a signal forever: no answer (the parent is
 *               suspended until --max-request-time cuts the request)
 *   /vfork      vforks a child that exits 7: "vfork=S pid=P" (S: its exit status, P: getpid)
 * tests/servers/http.h, blocking accept. */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include "fpu.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

static const char *dir;
static int sp[2], rw_fd = -1, tsock = -1;

static int bind_unix(int s, const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name);
	unlink(a.sun_path);
	return bind(s, (struct sockaddr *)&a, sizeof(a));
}

static unsigned mode_of(const char *name, int make_dir)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (make_dir) {
		rmdir(path);
		mkdir(path, 0777);
	} else {
		unlink(path);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd >= 0)
			close(fd);
	}
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 01000;
}

static int app(const char *path, char *body, size_t cap)
{
	if (strcmp(path, "/umask") == 0) {
		mode_t m = umask(022);
		umask(m);
		snprintf(body, cap, "umask=%03o\n", (unsigned)m);
	} else if (strcmp(path, "/setumask") == 0) {
		umask(077);
		snprintf(body, cap, "mode=%03o\n", mode_of("f077", 0));
	} else if (strcmp(path, "/umask0") == 0) {
		umask(0);
		unsigned f = mode_of("f000", 0);
		snprintf(body, cap, "mode=%03o dir=%03o\n", f, mode_of("d000", 1));
	} else if (strcmp(path, "/nice") == 0) {
		errno = 0;
		snprintf(body, cap, "nice=%d\n", getpriority(PRIO_PROCESS, 0));
	} else if (strcmp(path, "/setnice") == 0) {
		snprintf(body, cap, "set=%d\n", setpriority(PRIO_PROCESS, 0, 10));
	} else if (strcmp(path, "/comm") == 0) {
		char name[17] = "";
		prctl(PR_GET_NAME, name);
		snprintf(body, cap, "comm=%s\n", name);
	} else if (strcmp(path, "/setcomm") == 0) {
		snprintf(body, cap, "set=%d\n", prctl(PR_SET_NAME, "changed"));
	} else if (strcmp(path, "/spwrite") == 0) {
		snprintf(body, cap, "wrote=%zd\n", write(sp[0], "leak", 4));
	} else if (strcmp(path, "/spread") == 0) {
		char buf[64];
		snprintf(body, cap, "read=%zd\n", recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT));
	} else if (strcmp(path, "/rw") == 0) {
		char c = '?';
		if (read(rw_fd, &c, 1) != 1)
			c = '!';
		snprintf(body, cap, "rw=%c\n", c);
	} else if (strcmp(path, "/bindmany") == 0) {
		int bound = 0;
		for (int i = 0; i < 70; i++) {
			char name[32];
			snprintf(name, sizeof(name), "b%d.sock", i);
			int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			bound += s >= 0 && bind_unix(s, name) == 0;
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", dir, name);
			unlink(p);
			if (s >= 0)
				close(s);
		}
		snprintf(body, cap, "bound=%d\n", bound);
	} else if (strcmp(path, "/tname") == 0) {
		struct sockaddr_un a;
		socklen_t len = sizeof(a);
		memset(&a, 0, sizeof(a));
		if (getsockname(tsock, (struct sockaddr *)&a, &len) < 0 || len <= sizeof(sa_family_t))
			a.sun_path[0] = 0;
		snprintf(body, cap, "tname=%s\n", a.sun_path);
	} else if (fpu_app(path, body, cap)) {
		/* /fpu, /setfpu: answered */
	} else if (strcmp(path, "/vforkhang") == 0) {
		if (vfork() == 0) {
			syscall(SYS_pause);
			_exit(1);
		}
		snprintf(body, cap, "vforkhang: the child ended\n");
	} else if (strcmp(path, "/vfork") == 0) {
		int st = -1;
		pid_t c = vfork();
		if (c == 0)
			_exit(7);
		if (c < 0 || waitpid(c, &st, 0) != c)
			st = -1;
		snprintf(body, cap, "vfork=%d pid=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1, (int)getpid());
	} else {
		snprintf(body, cap, "hello\n");
	}
	return 200;
}

int main(int argc, char **argv)
{
	int port = port_arg(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: state_server PORT DIR\n");
		return 2;
	}
	dir = argv[2];
	umask(022);
	char path[512];
	snprintf(path, sizeof(path), "%s/rw.txt", dir);
	rw_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rw_fd < 0 || write(rw_fd, "0123456789", 10) != 10 || lseek(rw_fd, 0, SEEK_SET) != 0)
		die("state_server: rw.txt");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("state_server: socketpair");
	tsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tsock < 0 || bind_unix(tsock, "t.sock") < 0)
		die("state_server: bind t.sock");
	serve_blocking(port);
}
