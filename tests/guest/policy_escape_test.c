// The permission policy against ways out: "..", symlinks, dirfds, /proc magic links,
// openat2, and writes without write leave.  In steps, one case each, in this order:
//   setup: with --allow-write on DIR, build DIR/pe: inside.txt, evil -> /etc/passwd,
//          up -> ../.., w/ (and w/back -> ../inside.txt);
//   read:  --allow-read=DIR/pe only: try to get out of it, and to write;
//   write: --allow-read=DIR/pe --allow-write=DIR/pe/w: write in w only, even by links;
//   none:  no leave at all: only the defaults (/lib...) and the program itself.
// NATIVE: skip
// DEFAULT_OPTS: no
// EXPECT_EXIT: 0
// CASE[setup]: setup @TMP@/pe
// KVMSERVER_OPTS[setup]: --allow-write=@TMP@
// CASE[read]: read @TMP@/pe
// KVMSERVER_OPTS[read]: --allow-read=@TMP@/pe
// CASE[write]: write @TMP@/pe
// KVMSERVER_OPTS[write]: --allow-read=@TMP@/pe --allow-write=@TMP@/pe/w
// CASE[none]: none @TMP@/pe
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "fsutil.h"
#define CHECK CHECK_FRESH_ERRNO
#define DENIED(call) CHECK((call) < 0 && errno == EACCES)

static const char *base;

/* base/rel, from a ring of buffers so that a call may take two. */
static const char *at(const char *rel)
{
    static char ring[8][4096];
    static int next;
    char *b = ring[next++ % 8];
    snprintf(b, 4096, "%s/%s", base, rel);
    return b;
}

static int reads(const char *path, const char *want)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0 ? 0 : -1;
}

static void setup(void)
{
    rm_rf(base);
    CHECK(mkdir(base, 0755) == 0 && mkdir(at("w"), 0755) == 0 && mkdir(at("d"), 0755) == 0);
    CHECK(put(at("inside.txt"), "hello") == 0 && put(at("w/mine.txt"), "mine") == 0);
    CHECK(symlink("/etc/passwd", at("evil")) == 0);
    CHECK(symlink("../..", at("up")) == 0);
    CHECK(symlink("inside.txt", at("good")) == 0);
    CHECK(symlink("../inside.txt", at("w/back")) == 0);
    /* even with write leave on the parent, a link does not lead out */
    DENIED(open(at("evil"), O_RDONLY));
    CHECK(reads(at("good"), "hello") == 0);
}

static void read_only(void)
{
    struct stat st;
    char buf[4096], path[4096];
    CHECK(reads(at("inside.txt"), "hello") == 0);
    CHECK(reads(at("good"), "hello") == 0);
    DENIED(open("/etc/passwd", O_RDONLY));
    DENIED(stat("/etc/passwd", &st));
    DENIED(access("/etc/passwd", F_OK));
    DENIED(open(at("../../etc/passwd"), O_RDONLY));
    DENIED(open(at("../../../../../../../../../../../../etc/passwd"), O_RDONLY));
    DENIED(open(at("evil"), O_RDONLY));
    DENIED(stat(at("evil"), &st));
    CHECK(lstat(at("evil"), &st) == 0 && S_ISLNK(st.st_mode)); /* the link itself is inside */
    DENIED(open(at("up/etc/passwd"), O_RDONLY));
    DENIED(open(at("up"), O_RDONLY | O_DIRECTORY));

    int dfd = open(base, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    DENIED(openat(dfd, "../../etc/passwd", O_RDONLY));
    DENIED(openat(dfd, "../../../../../../../../../../etc/passwd", O_RDONLY));
    DENIED(openat(dfd, "/etc/passwd", O_RDONLY));
    DENIED(openat(dfd, "evil", O_RDONLY));
    DENIED(openat(dfd, "..", O_RDONLY | O_DIRECTORY));
    CHECK(openat(dfd, "inside.txt", O_RDONLY) >= 0);
    struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
    CHECK(syscall(SYS_openat2, dfd, "../pe/inside.txt", &how, sizeof how) < 0 && errno == EXDEV);
    CHECK(syscall(SYS_openat2, dfd, "inside.txt", &how, sizeof how) >= 0);
    how.resolve = RESOLVE_NO_SYMLINKS;
    CHECK(syscall(SYS_openat2, dfd, "good", &how, sizeof how) < 0 && errno == ELOOP);

    /* /proc/self/fd/N and the other magic links go where their targets are checked */
    snprintf(path, sizeof path, "/proc/self/fd/%d/inside.txt", dfd);
    CHECK(reads(path, "hello") == 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d/../../etc/passwd", dfd);
    CHECK(open(path, O_RDONLY) < 0 && (errno == EACCES || errno == ENOENT));
    snprintf(path, sizeof path, "/proc/self/fd/%d/evil", dfd);
    DENIED(open(path, O_RDONLY));
    CHECK(open("/proc/self/root/etc/passwd", O_RDONLY) < 0 && (errno == EACCES || errno == ENOENT));
    CHECK(open("/proc/1/root/etc/passwd", O_RDONLY) < 0 && (errno == EACCES || errno == ENOENT));
    DENIED(open("/proc/self/cwd/../../../etc/passwd", O_RDONLY));
    CHECK(reads("/proc/self/cwd/pe/inside.txt", "hello") == 0); /* the cwd is DIR */
    CHECK(open("/proc/self/mem", O_RDONLY) < 0 && errno == ENOENT);
    CHECK(open("/proc/self/environ", O_RDONLY) < 0 && errno == ENOENT);
    DENIED(open("/dev/mem", O_RDONLY));
    DENIED(open("/dev/sda", O_RDONLY));

    /* no writing without --allow-write */
    DENIED(open(at("inside.txt"), O_WRONLY));
    DENIED(open(at("inside.txt"), O_RDONLY | O_TRUNC));
    DENIED(open(at("new.txt"), O_CREAT | O_WRONLY, 0644));
    DENIED(open(base, O_TMPFILE | O_RDWR, 0600));
    DENIED(mkdir(at("x"), 0755));
    DENIED(unlink(at("inside.txt")));
    DENIED(rmdir(at("d")));
    DENIED(rename(at("inside.txt"), at("moved")));
    DENIED(symlink("inside.txt", at("l2")));
    DENIED(link(at("inside.txt"), at("hl")));
    DENIED(chmod(at("inside.txt"), 0777));
    DENIED(truncate(at("inside.txt"), 0));
    DENIED(utimensat(AT_FDCWD, at("inside.txt"), NULL, 0));
    DENIED(access(at("inside.txt"), W_OK));
    CHECK(access(at("inside.txt"), R_OK) == 0);
    int fd = open(at("inside.txt"), O_RDONLY);
    CHECK(fd >= 0);
    DENIED(fchmod(fd, 0777));
    DENIED(futimens(fd, NULL));
    CHECK(write(fd, "x", 1) < 0 && errno == EBADF);

    /* the directory can be listed and entered, nothing above it */
    DIR *d = opendir(base);
    int names = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        names++;
    CHECK(d != NULL && names == 8); /* . .. inside.txt evil up good w d */
    DENIED(chdir("/etc"));
    CHECK(chdir(base) == 0 && getcwd(buf, sizeof buf) && strcmp(buf, base) == 0);
    CHECK(reads("inside.txt", "hello") == 0 && reads("../pe/good", "hello") == 0);
    DENIED(open("../../etc/passwd", O_RDONLY));
    DENIED(open("..", O_RDONLY | O_DIRECTORY));
}

static void write_some(void)
{
    struct stat st;
    CHECK(put(at("w/new.txt"), "new") == 0 && reads(at("w/new.txt"), "new") == 0);
    DENIED(put(at("new.txt"), "x"));
    CHECK(reads(at("w/back"), "hello") == 0);  /* the link's target may be read... */
    DENIED(open(at("w/back"), O_WRONLY));      /* ...not written */
    DENIED(open(at("w/back"), O_RDWR | O_TRUNC));
    DENIED(chmod(at("w/back"), 0777));
    DENIED(truncate(at("w/back"), 0));
    DENIED(utimensat(AT_FDCWD, at("w/back"), NULL, 0));
    CHECK(utimensat(AT_FDCWD, at("w/back"), NULL, AT_SYMLINK_NOFOLLOW) == 0); /* the link itself */
    DENIED(rename(at("w/new.txt"), at("new.txt")));
    DENIED(rename(at("inside.txt"), at("w/inside.txt")));
    DENIED(link(at("inside.txt"), at("w/hl")));
    CHECK(link(at("w/back"), at("w/hl2")) == 0 && unlink(at("w/hl2")) == 0); /* a link to the link */
    DENIED(linkat(AT_FDCWD, at("w/back"), AT_FDCWD, at("w/hl3"), AT_SYMLINK_FOLLOW));
    CHECK(symlink("/etc/passwd", at("w/evil2")) == 0);
    DENIED(open(at("w/evil2"), O_RDONLY));
    DENIED(open(at("w/evil2"), O_WRONLY | O_CREAT, 0644));
    CHECK(access(at("w/mine.txt"), W_OK) == 0);
    DENIED(access(at("inside.txt"), W_OK));
    int fd = open(at("inside.txt"), O_RDONLY);
    DENIED(fchmod(fd, 0600));
    close(fd);
    DENIED(access(at("w/back"), W_OK));
    fd = open(at("w/back"), O_RDONLY); /* named in w, but the file is outside it */
    CHECK(fd >= 0);
    DENIED(fchmod(fd, 0600));
    DENIED(futimens(fd, NULL));
    DENIED(fchown(fd, getuid(), getgid()));
    close(fd);
    fd = open(at("w/mine.txt"), O_RDONLY);
    CHECK(fchmod(fd, 0600) == 0);
    close(fd);
    CHECK(mkdir(at("w/sub"), 0755) == 0 && rmdir(at("w/sub")) == 0);
    DENIED(mkdir(at("sub"), 0755));
    DENIED(unlink(at("inside.txt")));
    DENIED(rmdir(at("d")));
    fd = open(at("w"), O_TMPFILE | O_RDWR, 0600);
    CHECK(fd >= 0 || errno == EOPNOTSUPP);
    DENIED(open(base, O_TMPFILE | O_RDWR, 0600));
    CHECK(chdir(at("w")) == 0);
    DENIED(open("../inside.txt", O_WRONLY));
    CHECK(put("rel.txt", "r") == 0 && stat("rel.txt", &st) == 0 && unlink("rel.txt") == 0);
    CHECK(unlink("new.txt") == 0 && unlink("evil2") == 0);
    CHECK(stat(at("w/new.txt"), &st) < 0 && errno == ENOENT);
}

static void no_leave(const char *self)
{
    struct stat st;
    char buf[4096];
    DENIED(open(at("inside.txt"), O_RDONLY));
    DENIED(open("/etc/passwd", O_RDONLY));
    DENIED(stat("/etc/passwd", &st));
    DENIED(opendir("/") ? 0 : -1);
    DENIED(stat(".", &st));
    DENIED(mkdir("/tmp/kvmserver-policy-test", 0755));
    DENIED(open("/tmp/kvmserver-policy-test", O_CREAT | O_WRONLY, 0644));
    int fd = open("/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY); /* the loader's directories */
    CHECK(fd >= 0 && read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    DENIED(open("/lib/x86_64-linux-gnu/libc.so.6", O_WRONLY));
    CHECK(reads("/dev/null", "") == 0);
    fd = open(self, O_RDONLY); /* the program may read itself */
    CHECK(fd >= 0 && read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    CHECK(getcwd(buf, sizeof buf) != NULL);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: policy_escape_test setup|read|write|none DIR\n");
        return 2;
    }
    base = argv[2];
    if (!strcmp(argv[1], "setup"))
        setup();
    else if (!strcmp(argv[1], "read"))
        read_only();
    else if (!strcmp(argv[1], "write"))
        write_some();
    else if (!strcmp(argv[1], "none"))
        no_leave(argv[0]);
    else
        return 2;
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
