// A blocking write() and send() of 1 MiB into a socket that another process drains only
// later, while a second thread of the writer sleeps in short naps: the write parks part
// way, and when the socket drains the scheduler may load the writer again at once.  Each
// call returns exactly what it was asked to write, and the reader gets every byte once,
// in order (a manager's 1 MiB reply in CPython's multiprocessing reported 47744 bytes too
// many and reached the reader corrupt: the resumed write had not advanced its buffer).
// LDLIBS: -lpthread
// TIMEOUT: 60
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

#define SIZE (1 << 20)

static atomic_int stop;

static void *napper(void *arg)
{
	(void)arg;
	struct timespec nap = {0, 1000000};
	while (!atomic_load(&stop))
		nanosleep(&nap, NULL);
	return NULL;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* The child: after a pause, reads 2 * SIZE bytes and exits 0 if every byte is right. */
static int drain(int fd)
{
	static unsigned char buf[65536];
	struct timespec pause = {0, 100000000};
	nanosleep(&pause, NULL);
	size_t got = 0, bad = 0;
	ssize_t r;
	while (got < 2 * (size_t)SIZE && (r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < r; k++)
			bad += buf[k] != pattern((got + (size_t)k) % SIZE);
		got += (size_t)r;
	}
	return got == 2 * (size_t)SIZE && bad == 0 && read(fd, buf, 1) == 0 ? 0 : 1;
}

int main(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t child = fork();
	if (child == 0) {
		close(sv[0]);
		_exit(drain(sv[1]));
	}
	close(sv[1]);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, napper, NULL) == 0);
	static unsigned char body[SIZE];
	for (size_t i = 0; i < SIZE; i++)
		body[i] = pattern(i);
	ssize_t w = write(sv[0], body, SIZE);
	CHECK(w == SIZE);
	ssize_t s = send(sv[0], body, SIZE, 0);
	CHECK(s == SIZE);
	close(sv[0]);
	int status = -1;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* every byte, once, in order */
	atomic_store(&stop, 1);
	CHECK(pthread_join(t, NULL) == 0);
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
