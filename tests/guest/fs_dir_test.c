// Directories and names: mkdir, getdents64 (sorted listing, small buffers), fstatat and
// openat with a dirfd, AT_EMPTY_PATH, rename/renameat2, unlink/rmdir and their errors,
// chdir/fchdir + relative paths, getcwd, symlink/readlink/O_NOFOLLOW, link, truncate/
// ftruncate, chmod, utimensat, umask, O_TMPFILE, copy_file_range, sendfile, statfs.
// Works in DIR/fs_dir.d (removed first and at the end); the guest may write DIR only.
// ARGS: @TMP@
// DEFAULT_OPTS: no
// KVMSERVER_OPTS: --allow-write=@TMP@
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "fsutil.h"
#define CHECK CHECK_FRESH_ERRNO

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's names (no . and ..), sorted, space-separated. */
static const char *listing(const char *path)
{
    static char out[1024];
    char *names[64];
    int n = 0;
    DIR *d = opendir(path);
    if (!d)
        return "(opendir failed)";
    for (struct dirent *de; (de = readdir(d)) && n < 64;)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(out, i ? " " : "");
        strcat(out, names[i]);
        free(names[i]);
    }
    return out;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -1 : st.st_size;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fs_dir_test DIR\n");
        return 2;
    }
    char top[4096], path[4096], buf[4096], cwd[4096];
    snprintf(top, sizeof top, "%s/fs_dir.d", argv[1]);
    rm_rf(top);
    struct stat st, st2;

    CHECK(mkdir(top, 0755) == 0);
    CHECK(mkdir(top, 0755) < 0 && errno == EEXIST);
    CHECK(stat(top, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0755);
    const char *files[] = { "c.txt", "a.txt", "b.txt" };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", top, files[i]);
        CHECK(put(path, files[i]) == 0);
    }
    snprintf(path, sizeof path, "%s/sub", top);
    CHECK(mkdir(path, 0700) == 0);
    printf("listing: %s\n", listing(top));

    /* getdents64 with a buffer for about two records at a time */
    int dfd = open(top, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    int records = 0, calls = 0, dirs = 0;
    for (;;) {
        char small[80];
        long n = syscall(SYS_getdents64, dfd, small, sizeof small);
        if (n <= 0)
            break;
        calls++;
        for (long off = 0; off < n;) {
            unsigned short reclen;
            memcpy(&reclen, small + off + 16, 2);
            dirs += small[off + 18] == DT_DIR;
            records++;
            off += reclen;
        }
    }
    CHECK(records == 6 && dirs == 3 && calls >= 3);
    char tiny[8];
    CHECK(lseek(dfd, 0, SEEK_SET) == 0 && syscall(SYS_getdents64, dfd, tiny, sizeof tiny) < 0 && errno == EINVAL);
    CHECK(syscall(SYS_getdents64, 9999, buf, sizeof buf) < 0 && errno == EBADF);

    /* dirfd-relative */
    CHECK(fstatat(dfd, "a.txt", &st, 0) == 0 && S_ISREG(st.st_mode) && st.st_size == 5);
    CHECK(fstatat(dfd, "sub", &st, 0) == 0 && S_ISDIR(st.st_mode));
    CHECK(fstatat(dfd, "nope", &st, 0) < 0 && errno == ENOENT);
    CHECK(fstatat(dfd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode));
    CHECK(fstatat(dfd, "", &st, 0) < 0 && errno == ENOENT);
    int fd = openat(dfd, "b.txt", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 5 && memcmp(buf, "b.txt", 5) == 0);
    CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode) && st.st_size == 5);
    CHECK(openat(fd, "x", O_RDONLY) < 0 && errno == ENOTDIR);
    CHECK(openat(fd, "..", O_RDONLY) < 0 && errno == ENOTDIR);
    CHECK(openat(12345, "x", O_RDONLY) < 0 && errno == EBADF);
    close(fd);
    CHECK(faccessat(dfd, "a.txt", R_OK | W_OK, 0) == 0);
    CHECK(faccessat(dfd, "nope", F_OK, 0) < 0 && errno == ENOENT);

    /* open errors */
    CHECK(openat(dfd, "a.txt", O_RDONLY | O_DIRECTORY) < 0 && errno == ENOTDIR);
    CHECK(openat(dfd, "a.txt/", O_RDONLY) < 0 && errno == ENOTDIR);
    CHECK(stat(path, &st) == 0 && openat(dfd, "sub", O_WRONLY) < 0 && errno == EISDIR);
    CHECK(openat(dfd, "a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);
    CHECK(openat(dfd, "nope/x", O_CREAT | O_WRONLY, 0644) < 0 && errno == ENOENT);

    /* rename */
    CHECK(renameat(dfd, "a.txt", dfd, "sub/a2.txt") == 0);
    CHECK(fstatat(dfd, "a.txt", &st, 0) < 0 && errno == ENOENT);
    CHECK(fstatat(dfd, "sub/a2.txt", &st, 0) == 0 && st.st_size == 5);
    CHECK(renameat2(dfd, "b.txt", dfd, "c.txt", RENAME_NOREPLACE) < 0 && errno == EEXIST);
    CHECK(renameat2(dfd, "b.txt", dfd, "c.txt", RENAME_EXCHANGE) == 0 || errno == EINVAL);
    CHECK(renameat(dfd, "nope", dfd, "x") < 0 && errno == ENOENT);
    printf("listing: %s\n", listing(top));
    printf("sub: %s\n", listing(path));

    /* unlink, rmdir */
    CHECK(unlinkat(dfd, "c.txt", 0) == 0);
    CHECK(unlinkat(dfd, "c.txt", 0) < 0 && errno == ENOENT);
    CHECK(unlinkat(dfd, "sub", 0) < 0 && (errno == EISDIR || errno == EPERM));
    CHECK(unlinkat(dfd, "sub", AT_REMOVEDIR) < 0 && errno == ENOTEMPTY);
    CHECK(unlinkat(dfd, "b.txt", AT_REMOVEDIR) < 0 && errno == ENOTDIR);
    CHECK(unlinkat(dfd, "b.txt", 0x1234) < 0 && errno == EINVAL);

    /* chdir, getcwd, relative paths */
    CHECK(chdir(top) == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL && stat(cwd, &st) == 0 && stat(top, &st2) == 0 && st.st_ino == st2.st_ino);
    CHECK(getcwd(cwd, 3) == NULL && errno == ERANGE);
    CHECK(chdir("b.txt") < 0 && errno == ENOTDIR);
    CHECK(chdir("nope") < 0 && errno == ENOENT);
    fd = open("sub/a2.txt", O_RDONLY);
    CHECK(fd >= 0);
    close(fd);
    CHECK(access("../fs_dir.d/b.txt", R_OK) == 0);
    CHECK(mkdir("rel", 0755) == 0 && stat("rel", &st) == 0 && rmdir("rel") == 0);
    CHECK(rmdir("rel") < 0 && errno == ENOENT);
    int sfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(sfd >= 0 && fchdir(sfd) == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd + strlen(cwd) - 4, "/sub") == 0);
    CHECK(stat("a2.txt", &st) == 0 && stat("../b.txt", &st) == 0);
    CHECK(fchdir(0) < 0 && errno == ENOTDIR);
    close(sfd);
    CHECK(chdir("..") == 0 && stat("sub/a2.txt", &st) == 0);

    /* symlinks, hard links */
    CHECK(symlink("b.txt", "lnk") == 0);
    CHECK(symlink("b.txt", "lnk") < 0 && errno == EEXIST);
    ssize_t n = readlink("lnk", buf, sizeof buf);
    CHECK(n == 5 && memcmp(buf, "b.txt", 5) == 0);
    CHECK(readlink("lnk", buf, 2) == 2 && memcmp(buf, "b.", 2) == 0);
    CHECK(readlink("b.txt", buf, sizeof buf) < 0 && errno == EINVAL);
    CHECK(lstat("lnk", &st) == 0 && S_ISLNK(st.st_mode) && stat("lnk", &st2) == 0 && S_ISREG(st2.st_mode));
    CHECK(open("lnk", O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP);
    fd = open("lnk", O_PATH | O_NOFOLLOW);
    CHECK(fd >= 0 && readlinkat(fd, "", buf, sizeof buf) == 5);
    CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
    close(fd);
    fd = open("lnk", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 5);
    close(fd);
    CHECK(symlink("dangling-target", "dangle") == 0 && stat("dangle", &st) < 0 && errno == ENOENT);
    CHECK(lstat("dangle", &st) == 0 && unlink("dangle") == 0);
    CHECK(link("b.txt", "hard") == 0 && stat("b.txt", &st) == 0 && st.st_nlink == 2);
    CHECK(unlink("hard") == 0 && unlink("lnk") == 0);

    /* sizes, modes, times */
    fd = open("b.txt", O_RDWR);
    CHECK(fd >= 0 && ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3);
    CHECK(ftruncate(fd, 10000) == 0 && size_of("b.txt") == 10000);
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && flock(fd, LOCK_UN) == 0);
    CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
    CHECK(fchmod(fd, 0640) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(fchown(fd, getuid(), getgid()) == 0);
    close(fd);
    CHECK(truncate("b.txt", 1) == 0 && size_of("b.txt") == 1);
    CHECK(truncate("nope", 1) < 0 && errno == ENOENT);
    CHECK(chmod("b.txt", 0600) == 0 && stat("b.txt", &st) == 0 && (st.st_mode & 07777) == 0600);
    struct timespec ts[2] = { { 1000000, 0 }, { 2000000, 500 } };
    CHECK(utimensat(AT_FDCWD, "b.txt", ts, 0) == 0 && stat("b.txt", &st) == 0 && st.st_mtim.tv_sec == 2000000 &&
          st.st_atim.tv_sec == 1000000);
    CHECK(utimensat(AT_FDCWD, "nope", ts, 0) < 0 && errno == ENOENT);
    mode_t old = umask(077);
    CHECK(put("masked", "m") == 0 && stat("masked", &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(umask(old) == 077);

    /* copy_file_range, sendfile */
    CHECK(put("src", "0123456789") == 0);
    int in = open("src", O_RDONLY), out = open("dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    loff_t off_in = 2;
    CHECK(in >= 0 && out >= 0 && copy_file_range(in, &off_in, out, NULL, 4, 0) == 4 && off_in == 6);
    off_t off = 6;
    CHECK(sendfile(out, in, &off, 100) == 4 && off == 10);
    CHECK(pread(out, buf, sizeof buf, 0) == 8 && memcmp(buf, "23456789", 8) == 0);
    CHECK(sendfile(out, 9999, NULL, 1) < 0 && errno == EBADF);
    close(in);
    close(out);

    /* O_TMPFILE: an unnamed file in the directory (where the file system has them) */
    fd = open(".", O_TMPFILE | O_RDWR, 0600);
    CHECK(fd >= 0 ? write(fd, "t", 1) == 1 && fstat(fd, &st) == 0 && st.st_nlink == 0 : errno == EOPNOTSUPP);
    if (fd >= 0)
        close(fd);

    struct statfs sf;
    CHECK(statfs(".", &sf) == 0 && sf.f_bsize > 0 && fstatfs(dfd, &sf) == 0);
    printf("listing: %s\n", listing("."));

    /* clean up */
    CHECK(chdir(argv[1]) == 0);
    close(dfd);
    rm_rf(top);
    CHECK(stat(top, &st) < 0 && errno == ENOENT);
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
