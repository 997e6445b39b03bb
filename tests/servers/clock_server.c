/* clock_server.c PORT: what a request VM's clocks look like.  At start-up (in the template)
 * it reads CLOCK_MONOTONIC and arms a timerfd and an interval timer (SIGALRM) for 300 ms;
 * every request answers one line
 *
 *   since=MS vdso-vs-syscall=MS futex=MS sleep=MS timerfd=MS armed=MS alarm=MS
 *
 * since: monotonic ms from start-up to the request (a fork's monotonic clock restarts at
 * the freeze with every reset, so in --ephemeral mode this stays small however long the
 * server has been up); vdso-vs-syscall: |clock_gettime through libc (the vDSO) minus the
 * raw syscall|, ms; futex / sleep / timerfd: wall-clock ms that a wait for an ABSOLUTE
 * monotonic deadline 60 ms ahead took (FUTEX_WAIT_BITSET, clock_nanosleep TIMER_ABSTIME,
 * timerfd TFD_TIMER_ABSTIME) - about 60 when the host translates the guest's deadline;
 * armed: ms from the request's start until the start-up timer fired (-1: not within 2 s) -
 * about 300 minus the request's own time when the fork's clock restarted at the freeze;
 * alarm: the same for the start-up SIGALRM (-1: none within 2 s).
 * Blocking accept, Connection: close. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t ns_of(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return ns_of(t);
}

static int64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return ns_of(t) / 1000000;
}

static volatile int64_t alarm_at; /* wall ms when SIGALRM came, 0 before */

static void on_alarm(int sig)
{
	(void)sig;
	alarm_at = wall_ms();
}

int main(int argc, char **argv)
{
	int64_t start = mono_ns();
	int armed = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec at_start = {.it_value = ts_of(300000000)};
	if (armed < 0 || timerfd_settime(armed, 0, &at_start, NULL)) {
		perror("clock_server: timerfd");
		return 1;
	}
	signal(SIGALRM, on_alarm);
	struct itimerval alarm_start = {.it_value = {.tv_usec = 300000}};
	setitimer(ITIMER_REAL, &alarm_start, NULL);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "0")),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
		perror("clock_server");
		return 1;
	}
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		char buf[4096];
		if (read(c, buf, sizeof(buf)) < 0) {
			close(c);
			continue;
		}
		int64_t now = mono_ns(), req_wall = wall_ms();
		struct timespec raw;
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &raw);
		int64_t skew = (ns_of(raw) - mono_ns()) / 1000000;

		static uint32_t word;
		struct timespec dl = ts_of(mono_ns() + 60000000);
		int64_t t0 = wall_ms();
		syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &dl, NULL, FUTEX_BITSET_MATCH_ANY);
		int64_t futex_ms = wall_ms() - t0;

		dl = ts_of(mono_ns() + 60000000);
		t0 = wall_ms();
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL) == EINTR) {
		}
		int64_t sleep_ms = wall_ms() - t0;

		int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		struct itimerspec its = {.it_value = ts_of(mono_ns() + 60000000)};
		t0 = wall_ms();
		uint64_t ticks;
		if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) || read(tfd, &ticks, 8) != 8)
			t0 = wall_ms() + 1000000;
		int64_t timerfd_ms = wall_ms() - t0;
		close(tfd);

		struct pollfd pf = {.fd = armed, .events = POLLIN};
		int64_t armed_ms = poll(&pf, 1, 2000) == 1 ? wall_ms() - req_wall : -1;
		while (!alarm_at && wall_ms() - req_wall < 2000)
			usleep(5000);
		int64_t alarm_ms = alarm_at ? alarm_at - req_wall : -1;

		char body[160], resp[320];
		int bl = snprintf(
		        body, sizeof(body),
		        "since=%lld vdso-vs-syscall=%lld futex=%lld sleep=%lld timerfd=%lld armed=%lld alarm=%lld\n",
		        (long long)((now - start) / 1000000), (long long)llabs(skew), (long long)futex_ms,
		        (long long)sleep_ms, (long long)timerfd_ms, (long long)armed_ms, (long long)alarm_ms);
		int l = snprintf(resp, sizeof(resp),
		                 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", bl, body);
		if (write(c, resp, (size_t)l) < 0)
			perror("write");
		close(c);
	}
}
