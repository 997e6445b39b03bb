// A blocking connect parks only its thread: with the listener's accept queue full (backlog
// 0, one connection not yet accepted) a second connect waits for the SYN to be retried;
// meanwhile the main thread keeps running, accepts, and the connect then completes.
// (The connect used to block the host, and with it the one thread that could accept.)
// The listener is non-blocking: a blocking wait on a listener is kvmserver's cue that
// the server is ready (server mode).
// LDLIBS: -lpthread
// TIMEOUT: 40
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static atomic_int in_connect, connected;
static int result = 99, result_errno;

static void *connector(void *arg)
{
    (void)arg;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    in_connect = 1;
    result = connect(c, (struct sockaddr *)&addr, sizeof(addr));
    result_errno = errno;
    connected = 1;
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) || listen(l, 0) || fcntl(l, F_SETFL, O_NONBLOCK) || getsockname(l, (struct sockaddr *)&addr, &len))
        return 1;
    int first = socket(AF_INET, SOCK_STREAM, 0);
    printf("first connect: %d\n", connect(first, (struct sockaddr *)&addr, sizeof(addr)));

    pthread_t t;
    pthread_create(&t, NULL, connector, NULL);
    while (!in_connect)
        sched_yield();
    long spins = 0;
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 10; i++) { // ~200 ms of this thread's own work and sleeps
        nanosleep(&ts, NULL);
        spins++;
    }
    printf("main thread ran while the second connect waited: %s\n", spins == 10 ? "yes" : "no");
    printf("second connect still waiting: %s\n", connected ? "no" : "yes");
    int a1 = accept(l, NULL, NULL); // room in the queue: the retried SYN gets in
    int a2 = -1;
    for (int i = 0; i < 1000 && a2 < 0; i++) {
        a2 = accept(l, NULL, NULL);
        if (a2 < 0)
            nanosleep(&ts, NULL);
    }
    pthread_join(t, NULL);
    printf("accepted: %s; second connect: %d (%s)\n", a1 >= 0 && a2 >= 0 ? "both" : "not both", result,
           result ? strerrorname_np(result_errno) : "ok");
    return 0;
}
