// Writable MAP_SHARED file mappings: writes through the mapping reach the file (and a
// second mapping of it), writes to the file show in the mapping, mprotect can make a
// shared mapping of an O_RDWR file writable but not one of an O_RDONLY file (EACCES),
// msync.  A file shrunk under its mapping: a syscall given a pointer into the lost pages
// fails with EFAULT (kvmserver must not die of the SIGBUS its own copy would raise).
// And POSIX shared memory and semaphores in /dev/shm (shm_open, sem_open), as
// multiprocessing uses them.
// VARIANTS: static static-pie
// LDLIBS: -lpthread
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static void shared_file(void)
{
    int fd = open("shared.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *m2 = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED && m2 != MAP_FAILED);
    strcpy(m + 4096 + 10, "written through the map");
    CHECK(msync(m, 8192, MS_SYNC) == 0);
    char buf[64] = {0};
    CHECK(pread(fd, buf, 23, 4096 + 10) == 23);
    printf("file has: '%s'\n", buf);
    printf("second map has: '%s'\n", m2 + 4096 + 10);
    CHECK(pwrite(fd, "from the fd", 11, 100) == 11);
    printf("map sees: '%.11s'\n", m + 100);
    // a shared read-only mapping of an O_RDWR file may become writable
    CHECK(mprotect(m2, 8192, PROT_READ | PROT_WRITE) == 0);
    memcpy(m2 + 200, "via mprotect", 12);
    CHECK(pread(fd, buf, 12, 200) == 12 && memcmp(buf, "via mprotect", 12) == 0);
    printf("first map sees: '%.12s'\n", m + 200);
    // a private mapping of the same file is a copy once written
    char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(priv != MAP_FAILED);
    memcpy(priv + 100, "private!!!!", 11);
    CHECK(pread(fd, buf, 11, 100) == 11 && memcmp(buf, "from the fd", 11) == 0);
    printf("shared map still: '%.11s'\n", m + 100);
    munmap(priv, 4096);

    // the file shrinks under the mapping: pages past its end are gone
    CHECK(ftruncate(fd, 4096) == 0);
    CHECK(syscall(SYS_nanosleep, (struct timespec *)(m + 4096), NULL) == -1 && errno == EFAULT);
    CHECK(write(fd, m + 4096, 16) == -1 && errno == EFAULT);
    CHECK(syscall(SYS_clock_gettime, CLOCK_REALTIME, (struct timespec *)(m + 4096)) == -1 && errno == EFAULT);
    printf("first page still: '%.11s'\n", m + 100);
    munmap(m, 8192);
    munmap(m2, 8192);
    close(fd);

    int ro = open("shared.tmp", O_RDONLY);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES);
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r != MAP_FAILED && mprotect(r, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    munmap(r, 4096);
    close(ro);
    unlink("shared.tmp");
}

static void posix_shm(void)
{
    shm_unlink("/kvmserver-test-shm");
    int fd = shm_open("/kvmserver-test-shm", O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    int *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(counter != MAP_FAILED);
    for (int i = 0; i < 5; i++)
        __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
    int v = 0;
    CHECK(pread(fd, &v, sizeof v, 0) == sizeof v && v == 5);
    munmap(counter, 4096);
    close(fd);
    CHECK(shm_unlink("/kvmserver-test-shm") == 0);

    sem_unlink("/kvmserver-test-sem");
    sem_t *s = sem_open("/kvmserver-test-sem", O_CREAT | O_EXCL, 0600, 2);
    CHECK(s != SEM_FAILED);
    CHECK(sem_trywait(s) == 0 && sem_trywait(s) == 0);
    CHECK(sem_trywait(s) == -1 && errno == EAGAIN);
    CHECK(sem_post(s) == 0);
    int val = -1;
    CHECK(sem_getvalue(s, &val) == 0 && val == 1);
    CHECK(sem_close(s) == 0);
    CHECK(sem_unlink("/kvmserver-test-sem") == 0);
}

int main(void)
{
    shared_file();
    posix_shm();
    printf("%s\n", failures ? "some checks failed" : "all checks passed");
    return failures ? 1 : 0;
}
