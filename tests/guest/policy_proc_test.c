// The host's /proc (kvmserver's own environment and memory), /sys and devices are never
// reachable, by whatever second name a writable directory has: a relative symlink made in it
// leads anywhere from a root such as "/" (issue 11 item 1).  And an absolute symlink inside a
// volume means a guest path (item 7).  In steps, one case each:
//   setup:  build DIR/pp: vol/ (inner.txt, abs -> /data/inner.txt), real/, wlink -> real;
//   volume: --allow-read --volume DIR/pp/vol:/data:rw --volume /:/host: links made in /data
//           are tried by their host name; /host/proc is refused too;
//   wlink:  --allow-read --allow-write=DIR/pp/wlink (a symlink): links made there, tried by
//           the real name;
//   all:    --allow-all: a link anywhere; the guest's own /proc and /dev still work.
// NATIVE: skip
// DEFAULT_OPTS: no
// EXPECT_EXIT: 0
// CASE[setup]: setup @TMP@/pp
// KVMSERVER_OPTS[setup]: --allow-write=@TMP@
// CASE[volume]: volume @TMP@/pp
// KVMSERVER_OPTS[volume]: --allow-read --volume=@TMP@/pp/vol:/data:rw --volume=/:/host
// CASE[wlink]: wlink @TMP@/pp
// KVMSERVER_OPTS[wlink]: --allow-read --allow-write=@TMP@/pp/wlink
// CASE[all]: all @TMP@/pp
// KVMSERVER_OPTS[all]: --allow-all
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "check.h"
#include "fsutil.h"
#define CHECK CHECK_FRESH_ERRNO
#define REFUSED(call) CHECK((call) < 0 && (errno == EACCES || errno == ENOENT))

static const char *base;
static char up[4096]; /* exactly as many ".." as lead from the link's host directory to "/" */

static void set_up(const char *host_dir)
{
    up[0] = 0;
    for (const char *c = host_dir; *c; c++)
        if (*c == '/' && c[1] && c[1] != '/')
            strcat(up, up[0] ? "/.." : "..");
}

static const char *at(const char *fmt, const char *a)
{
    static char ring[8][4096];
    static int next;
    char *b = ring[next++ % 8], rel[4096];
    snprintf(rel, sizeof rel, fmt, a);
    snprintf(b, 4096, "%s/%s", base, rel);
    return b;
}

static const char *cat(const char *a, const char *b)
{
    static char ring[8][4096];
    static int next;
    char *r = ring[next++ % 8];
    snprintf(r, 4096, "%s/%s", a, b);
    return r;
}

// Every way to the host's /proc through directory `proc` (a path that names it).
static void no_proc(const char *proc)
{
    struct stat st;
    struct statfs sf;
    char buf[4096];
    printf("-- %s\n", proc);
    REFUSED(open(cat(proc, "self/environ"), O_RDONLY));
    REFUSED(open(cat(proc, "self/mem"), O_RDONLY));
    REFUSED(open(cat(proc, "self/mem"), O_RDWR));
    REFUSED(open(cat(proc, "self/status"), O_RDONLY));
    REFUSED(open(cat(proc, "self/fd"), O_RDONLY | O_DIRECTORY));
    REFUSED(open(proc, O_RDONLY | O_DIRECTORY));
    REFUSED(open(cat(proc, "self"), O_PATH));
    REFUSED(stat(cat(proc, "self/environ"), &st));
    REFUSED(lstat(cat(proc, "self/exe"), &st));
    REFUSED(readlink(cat(proc, "self/exe"), buf, sizeof buf));
    REFUSED(access(cat(proc, "self/environ"), R_OK));
    REFUSED(statfs(cat(proc, "self"), &sf));
    REFUSED(chdir(cat(proc, "self")));
    REFUSED(mkdir(cat(proc, "self/x"), 0755));
    CHECK(opendir(proc) == NULL && (errno == EACCES || errno == ENOENT));
}

// Links to the host's /proc, /sys and /dev made in writable directory `dir`; `alias` is
// another name of the same directory, its host path.
static void links(const char *dir, const char *alias)
{
    char t[4096];
    set_up(alias);
    snprintf(t, sizeof t, "%s/proc", up);
    CHECK(symlink(t, cat(dir, "p")) == 0);
    snprintf(t, sizeof t, "%s/sys", up);
    CHECK(symlink(t, cat(dir, "s")) == 0);
    snprintf(t, sizeof t, "%s/dev", up);
    CHECK(symlink(t, cat(dir, "d")) == 0);
    no_proc(cat(alias, "p"));
    no_proc(cat(dir, "p"));
    REFUSED(open(cat(alias, "s/kernel"), O_RDONLY | O_DIRECTORY));
    REFUSED(open(cat(alias, "d/kvm"), O_RDWR));
    REFUSED(open(cat(alias, "d/null"), O_RDWR));
    /* a link straight at a device, and at a /proc file */
    CHECK(symlink("/dev/kvm", cat(dir, "k")) == 0);
    REFUSED(open(cat(alias, "k"), O_RDWR));
    snprintf(t, sizeof t, "%s/proc/self/environ", up);
    CHECK(symlink(t, cat(dir, "e")) == 0);
    REFUSED(open(cat(alias, "e"), O_RDONLY));
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

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    base = argv[2];
    const char *step = argv[1];
    if (!strcmp(step, "setup")) {
        rm_rf(base);
        CHECK(mkdir(base, 0755) == 0 && mkdir(at("%s", "vol"), 0755) == 0 && mkdir(at("%s", "real"), 0755) == 0);
        CHECK(mkdir(at("%s", "all"), 0755) == 0);
        CHECK(put(at("%s", "vol/inner.txt"), "inner") == 0);
        CHECK(symlink("/data/inner.txt", at("%s", "vol/abs")) == 0);
        CHECK(symlink("real", at("%s", "wlink")) == 0);
    } else if (!strcmp(step, "volume")) {
        links("/data", at("%s", "vol"));
        /* the volume's own absolute link is a guest path */
        CHECK(reads("/data/abs", "inner") == 0);
        CHECK(reads("/data/inner.txt", "inner") == 0);
        /* a volume of "/" shows no /proc either */
        no_proc("/host/proc");
        struct stat st;
        REFUSED(lstat("/host/proc", &st));
        CHECK(lstat("/host/etc", &st) == 0 && S_ISDIR(st.st_mode));
    } else if (!strcmp(step, "wlink")) {
        links(at("%s", "wlink"), at("%s", "real"));
    } else if (!strcmp(step, "all")) {
        links(at("%s", "all"), at("%s", "all"));
        /* the guest's own /proc and /dev are still there */
        char buf[4096];
        CHECK(open("/proc/self/maps", O_RDONLY) >= 0);
        CHECK(readlink("/proc/self/exe", buf, sizeof buf) > 0);
        CHECK(open("/dev/null", O_RDWR) >= 0);
        CHECK(open("/proc/self/environ", O_RDONLY) < 0 && errno == ENOENT);
    } else {
        return 2;
    }
    printf("%s: %d failures\n", step, failures);
    return failures ? 1 : 0;
}
