// MAP_SHARED memory stays shared across fork(2): an anonymous shared mapping, a regular
// file and a /dev/shm file mapped shared, seen both ways between parent, children and a
// grandchild, for the mapping's lifetime; process-shared semaphores (sem_open, and
// sem_init(pshared) in anonymous shared memory) that one process waits on and another
// posts, as Python's multiprocessing uses them.  Waits are sem_timedwait with a generous
// bound, so that a missing wake fails the check instead of hanging the run.
// VARIANTS: static static-pie
// LDLIBS: -lpthread
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

static int wait_child(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Block until a byte arrives on fd (the other side's "go").
static void await(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(90);
}

static void tell(int fd)
{
    if (write(fd, "x", 1) != 1)
        _exit(91);
}

// The checks on one shared region, whatever backs it: writes both ways with the child
// alive (so neither side can only have inherited a copy), then a grandchild's write,
// then several children adding to one counter.
static void shared_both_ways(volatile int *m, const char *what)
{
    int to_child[2], to_parent[2];
    if (pipe(to_child) || pipe(to_parent))
        exit(2);
    m[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        int ok = m[0] == 1;  // inherited
        m[1] = 2;            // parent must see this while we are alive
        tell(to_parent[1]);
        await(to_child[0]);  // parent wrote m[2]
        ok = ok && m[2] == 3;
        pid_t g = fork();
        if (g == 0) {
            m[3] = 4;  // grandchild: seen by child and parent
            _exit(0);
        }
        ok = ok && wait_child(g) == 0 && m[3] == 4;
        _exit(ok ? 0 : 1);
    }
    await(to_parent[0]);
    int seen_child = m[1] == 2;
    m[2] = 3;
    tell(to_child[1]);
    int status = wait_child(pid);
    printf("%s: parent sees child's write: %s\n", what, seen_child ? "yes" : "no");
    printf("%s: child saw parent's write and grandchild's: %s\n", what, status == 0 ? "yes" : "no");
    printf("%s: parent sees grandchild's write: %s\n", what, m[3] == 4 ? "yes" : "no");
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);

    m[4] = 0;
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            for (int j = 0; j < 1000; j++)
                __atomic_add_fetch(&m[4], 1, __ATOMIC_SEQ_CST);
            _exit(0);
        }
    }
    for (int i = 0; i < 4; i++)
        wait_child(kids[i]);
    printf("%s: counter after 4 children x 1000: %d\n", what, m[4]);
}

static void anon_shared(void)
{
    int *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    shared_both_ways(m, "anonymous");
    // The middle page of a shared mapping split by munmap stays shared in both pieces.
    CHECK(munmap((char *)m + 4096, 4096) == 0);
    int *tail = (int *)((char *)m + 8192);
    pid_t pid = fork();
    if (pid == 0) {
        m[10] = 11;
        tail[0] = 12;
        _exit(0);
    }
    CHECK(wait_child(pid) == 0);
    printf("anonymous split: head %d tail %d\n", m[10], tail[0]);
    // A private anonymous mapping stays the process's own.
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(priv != MAP_FAILED);
    priv[0] = 1;
    pid = fork();
    if (pid == 0) {
        priv[0] = 2;
        _exit(0);
    }
    CHECK(wait_child(pid) == 0);
    printf("private after child's write: %d\n", priv[0]);
    CHECK(munmap(m, 4096) == 0 && munmap(tail, 4096) == 0 && munmap(priv, 4096) == 0);
}

static void file_shared(void)
{
    int fd = open("shm_fork.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    int *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    shared_both_ways(m, "file");
    int v = 0;
    CHECK(pread(fd, &v, sizeof v, 3 * sizeof(int)) == sizeof v);
    printf("file: the file holds the grandchild's write: %s\n", v == 4 ? "yes" : "no");
    munmap(m, 4096);
    close(fd);
    unlink("shm_fork.tmp");

    shm_unlink("/kvmserver-shm-fork");
    fd = shm_open("/kvmserver-shm-fork", O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    shared_both_ways(m, "shm_open");
    munmap(m, 4096);
    close(fd);
    CHECK(shm_unlink("/kvmserver-shm-fork") == 0);
}

static int timed_wait(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30; // generous: only a wake that never comes reaches it
    int r;
    while ((r = sem_timedwait(s, &ts)) == -1 && errno == EINTR)
        ;
    return r;
}

// Ping-pong between two processes on two semaphores: each side waits for the other's post.
static void ping_pong(sem_t *ping, sem_t *pong, const char *what)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 50; i++) {
            if (timed_wait(ping) != 0)
                _exit(1);
            sem_post(pong);
        }
        _exit(0);
    }
    int rounds = 0;
    for (int i = 0; i < 50; i++) {
        sem_post(ping);
        if (timed_wait(pong) != 0)
            break;
        rounds++;
    }
    int status = wait_child(pid);
    printf("%s: ping-pong rounds %d, child %s\n", what, rounds, status == 0 ? "ok" : "failed");
}

static void semaphores(void)
{
    sem_unlink("/kvmserver-shm-fork-a");
    sem_unlink("/kvmserver-shm-fork-b");
    sem_t *a = sem_open("/kvmserver-shm-fork-a", O_CREAT | O_EXCL, 0600, 0);
    sem_t *b = sem_open("/kvmserver-shm-fork-b", O_CREAT | O_EXCL, 0600, 0);
    CHECK(a != SEM_FAILED && b != SEM_FAILED);
    // The child blocks first (the parent waits for its word that it is about to).
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        tell(go[1]);
        _exit(timed_wait(a) == 0 ? 0 : 1);
    }
    await(go[0]);
    CHECK(sem_post(a) == 0);
    printf("sem_open: child woken by parent's post: %s\n", wait_child(pid) == 0 ? "yes" : "no");
    close(go[0]);
    close(go[1]);
    ping_pong(a, b, "sem_open");
    int val = -1;
    CHECK(sem_getvalue(a, &val) == 0 && val == 0);
    CHECK(sem_close(a) == 0 && sem_close(b) == 0);
    CHECK(sem_unlink("/kvmserver-shm-fork-a") == 0 && sem_unlink("/kvmserver-shm-fork-b") == 0);

    sem_t *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED);
    CHECK(sem_init(&s[0], 1, 0) == 0 && sem_init(&s[1], 1, 0) == 0);
    ping_pong(&s[0], &s[1], "sem_init pshared");
    sem_destroy(&s[0]);
    sem_destroy(&s[1]);
    munmap(s, 4096);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); // children must not inherit buffered output
    anon_shared();
    file_shared();
    semaphores();
    printf("%s\n", failures ? "some checks failed" : "all checks passed");
    return failures ? 1 : 0;
}
