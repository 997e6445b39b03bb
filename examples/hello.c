/* hello.c - the bundled example for `make demo`: a small static program that exercises
 * files, memory, floating point and its arguments inside a kvmserver guest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct utsname u;
	uname(&u);
	printf("hello from %s %s, pid %d\n", u.sysname, u.machine, getpid());
	for (int i = 0; i < argc; i++)
		printf("  argv[%d] = %s\n", i, argv[i]);
	size_t n = 1 << 20;
	double *v = malloc(n * sizeof(*v));
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i] = sqrt((double)i);
	printf("  sum of sqrt(0..%zu) = %.3f\n", n - 1, sum);
	free(v);
	return 0;
}
