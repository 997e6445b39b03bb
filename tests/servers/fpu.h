/* tests/servers/fpu.h - the FPU and vector state a request may leave behind, for the
 * servers that check a reset restores it (state_server.c, turnover_server.c). */
#ifndef TEST_FPU_H
#define TEST_FPU_H

#include <stdio.h>
#include <string.h>

/* "mxcsr=X fcw=X xmm15=X" */
static void fpu_state(char *out, size_t cap)
{
	unsigned mxcsr;
	unsigned short fcw;
	unsigned long long xmm15;
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fcw));
	__asm__ volatile("movq %%xmm15, %0" : "=r"(xmm15));
	snprintf(out, cap, "mxcsr=%x fcw=%04x xmm15=%llx\n", mxcsr, fcw, xmm15);
}

static void set_fpu(void)
{
	unsigned mxcsr = 0x7f80; /* the default 0x1f80 with RC = round toward zero */
	unsigned short fcw = 0x27f; /* the default 0x37f with PC = 53 bits */
	unsigned long long marker = 0x6b766d6b766dULL;
	__asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
	__asm__ volatile("fldcw %0" ::"m"(fcw));
	__asm__ volatile("movq %0, %%xmm15" ::"r"(marker) : "xmm15");
}

/* A request for /fpu ("mxcsr=X fcw=X xmm15=X") or /setfpu (changes all three, then
 * "set ..."): true when path is one of them, the answer in body. */
static int fpu_app(const char *path, char *body, size_t cap)
{
	if (strcmp(path, "/setfpu") == 0) {
		set_fpu();
		memcpy(body, "set ", 4);
		fpu_state(body + 4, cap - 4);
	} else if (strcmp(path, "/fpu") == 0) {
		fpu_state(body, cap);
	} else {
		return 0;
	}
	return 1;
}

#endif
