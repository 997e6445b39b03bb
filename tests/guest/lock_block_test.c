// A lock held elsewhere parks only the waiting thread: thread B waits in flock(LOCK_EX)
// and in fcntl(F_OFD_SETLKW) for locks the main thread holds on other open file
// descriptions of the same file; the main thread keeps running, releases them, and B
// then gets each lock.  (B's wait used to block the host, and with it the thread that
// would release the lock.)
// LDLIBS: -lpthread
// TIMEOUT: 30
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static atomic_int stage, got;
static int bfd;

static void *waiter(void *arg)
{
    (void)arg;
    stage = 1;
    got = flock(bfd, LOCK_EX) == 0 ? 1 : -1;
    flock(bfd, LOCK_UN);
    int had = got;
    got = 0;
    stage = had == 1 ? 2 : 3;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    got = fcntl(bfd, F_OFD_SETLKW, &fl) == 0 ? 2 : -2;
    return NULL;
}

static void run_a_while(const char *what)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    int n = 0;
    for (int i = 0; i < 10; i++)
        n += nanosleep(&ts, NULL) == 0;
    printf("%s: main thread ran meanwhile: %s, waiter has it: %s\n", what, n == 10 ? "yes" : "no",
           got > 0 ? "yes" : "no");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "lock_block.XXXXXX";
    int afd = mkstemp(path);
    bfd = open(path, O_RDWR);
    unlink(path);
    if (afd < 0 || bfd < 0 || flock(afd, LOCK_EX))
        return 1;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    if (fcntl(afd, F_OFD_SETLK, &fl))
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    while (stage < 1)
        sched_yield();
    run_a_while("flock held");
    flock(afd, LOCK_UN);
    while (stage < 2)
        sched_yield();
    printf("flock: waiter got it after the release: %s\n", stage == 2 ? "yes" : "no");
    run_a_while("OFD lock held");
    fl.l_type = F_UNLCK;
    fcntl(afd, F_OFD_SETLK, &fl);
    pthread_join(t, NULL);
    printf("OFD lock: waiter got it after the release: %s\n", got == 2 ? "yes" : "no");
    return 0;
}
