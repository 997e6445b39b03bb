// What the guest is told about itself names nothing of the host: /proc/self/exe and
// /proc/self/fd/N give the guest's own names (through a volume, not the host path behind
// it), and the parent is a stable fake one: getppid() is 1, as /proc/self/status and stat
// say (issue 11 item 7).  The program lies below HOST, shown at /b; HOST/tmp also at /t.
// NATIVE: skip
// DEFAULT_OPTS: no
// EXPECT_EXIT: 0
// ARGS: @TMP@/..
// KVMSERVER_OPTS: --volume=@TMP@/..:/b --volume=@TMP@:/t:rw
// MKFILE: names_stdin.txt input\n
// STDIN_FILE: @TMP@/names_stdin.txt
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static char link_buf[PATH_MAX];

static const char *target(const char *path)
{
    ssize_t n = readlink(path, link_buf, sizeof link_buf - 1);
    link_buf[n > 0 ? n : 0] = 0;
    printf("%s -> %s\n", path, link_buf);
    return link_buf;
}

static int begins(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char host[PATH_MAX]; /* HOST itself, without the "/tmp/.." (the guest cannot resolve it) */
    snprintf(host, sizeof host, "%s", argv[1]);
    for (int i = 0; i < 2 && strrchr(host, '/'); i++)
        *strrchr(host, '/') = 0;
    printf("host dir: %s\n", host[0] ? "(given)" : "(none)");
    const char *exe = target("/proc/self/exe");
    CHECK(begins(exe, "/b/") && strstr(exe, "guest_names_test") != NULL);
    CHECK(!begins(exe, host));

    int fd = open("/t", O_TMPFILE | O_RDWR, 0600);
    CHECK(fd >= 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const char *tmp = target(path);
    CHECK(begins(tmp, "/t/") && !begins(tmp, host));

    /* inherited stdio: a pipe, or a file (by the guest's name for it), never a host path */
    const char *out = target("/proc/self/fd/1");
    CHECK(out[0] && !begins(out, host));
    CHECK(strcmp(target("/proc/self/fd/0"), "/t/names_stdin.txt") == 0);

    CHECK(getppid() == 1);
    char buf[4096];
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    int ppid = -1;
    while (f && fgets(buf, sizeof buf, f))
        sscanf(buf, "PPid: %d", &ppid);
    if (f)
        fclose(f);
    CHECK(ppid == 1);
    f = fopen("/proc/self/stat", "r");
    CHECK(f != NULL && fgets(buf, sizeof buf, f) != NULL);
    if (f)
        fclose(f);
    const char *close_paren = strrchr(buf, ')');
    int stat_ppid = -1;
    CHECK(close_paren && sscanf(close_paren + 1, " %*c %d", &stat_ppid) == 1 && stat_ppid == 1);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
