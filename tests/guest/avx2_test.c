// Vector code: an AVX2 integer/float loop when the CPU (as the guest sees it
// through CPUID/XCR0) supports AVX2, the same computation in scalar code
// otherwise; the printed results must not depend on which path ran.  Also
// checks that the guest's view of AVX matches the OS-enabled state (XGETBV)
// and that vector registers survive syscalls.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define N 4096
static int32_t a[N], b[N];
static float fa[N], fb[N];

__attribute__((target("avx2"))) static int64_t dot_avx2(void)
{
    __m256i acc = _mm256_setzero_si256();
    for (int i = 0; i < N; i += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)&a[i]);
        __m256i y = _mm256_loadu_si256((const __m256i *)&b[i]);
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(x, y));
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    int64_t s = 0;
    for (int i = 0; i < 8; i++)
        s += lanes[i];
    return s;
}

static int64_t dot_scalar(void)
{
    int32_t lanes[8] = {0};
    for (int i = 0; i < N; i++) /* same wrap-around as the vector code */
        lanes[i % 8] = (int32_t)((uint32_t)lanes[i % 8] + (uint32_t)a[i] * (uint32_t)b[i]);
    int64_t s = 0;
    for (int i = 0; i < 8; i++)
        s += lanes[i];
    return s;
}

__attribute__((target("avx2"))) static void saxpy_avx2(float k)
{
    __m256 kk = _mm256_set1_ps(k);
    for (int i = 0; i < N; i += 8) {
        __m256 x = _mm256_loadu_ps(&fa[i]);
        __m256 y = _mm256_loadu_ps(&fb[i]);
        _mm256_storeu_ps(&fb[i], _mm256_add_ps(_mm256_mul_ps(kk, x), y)); /* no FMA */
    }
}

static void saxpy_scalar(float k)
{
    for (int i = 0; i < N; i++) {
        volatile float t = k * fa[i];
        fb[i] = t + fb[i];
    }
}

/* Fill ymm registers, make a syscall, and check they still hold the values. */
__attribute__((target("avx2"), noinline)) static int ymm_survives_syscall(void)
{
    __m256i v = _mm256_set_epi32(1, 2, 3, 4, 5, 6, 7, 8);
    __m256i w;
    __asm__ volatile("vmovdqu %1, %%ymm7\n\t"
                     "mov $39, %%eax\n\t" /* getpid */
                     "syscall\n\t"
                     "vmovdqu %%ymm7, %0"
                     : "=m"(w)
                     : "m"(v)
                     : "rax", "rcx", "r11", "xmm7", "memory");
    return memcmp(&v, &w, sizeof v) == 0;
}

static uint32_t fsum_bits(void)
{
    uint32_t h = 0;
    for (int i = 0; i < N; i++) {
        uint32_t u;
        memcpy(&u, &fb[i], 4);
        h = h * 1000003u ^ u;
    }
    return h;
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        a[i] = i * 7 - 1000;
        b[i] = (i * 13) % 257 - 128;
        fa[i] = (float)i / 7.0f;
        fb[i] = (float)(N - i) * 0.25f;
    }
    __builtin_cpu_init();
    int have = __builtin_cpu_supports("avx2");
    int os_ymm = 0;
    unsigned c1, c2, c3, c4;
    __asm__ volatile("cpuid" : "=a"(c1), "=b"(c2), "=c"(c3), "=d"(c4) : "a"(1), "c"(0));
    if (c3 & (1u << 27)) { /* OSXSAVE */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        os_ymm = (lo & 6) == 6;
    }
    fprintf(stderr, "avx2 %s, OS-enabled ymm state %s\n", have ? "yes" : "no", os_ymm ? "yes" : "no");
    int ok = 1;
    if (have && !os_ymm) {
        printf("CPU claims AVX2 but XCR0 does not enable YMM state\n");
        ok = 0;
    }

    int64_t d1 = dot_scalar(), d2 = have ? dot_avx2() : dot_scalar();
    printf("dot=%lld %s\n", (long long)d2, d1 == d2 ? "(matches scalar)" : "(MISMATCH)");
    ok &= d1 == d2;

    float save[N];
    memcpy(save, fb, sizeof fb);
    saxpy_scalar(1.5f);
    uint32_t h1 = fsum_bits();
    memcpy(fb, save, sizeof fb);
    if (have)
        saxpy_avx2(1.5f);
    else
        saxpy_scalar(1.5f);
    uint32_t h2 = fsum_bits();
    printf("saxpy=%08x %s\n", h2, h1 == h2 ? "(matches scalar)" : "(MISMATCH)");
    ok &= h1 == h2;

    if (have) {
        int s = ymm_survives_syscall();
        ok &= s;
        if (!s)
            printf("ymm7 was clobbered by a syscall\n");
    }
    printf("ymm across syscall: ok\n"); /* printed either way: output must not depend on AVX2 */
    return ok ? 0 : 1;
}
