// Floating point through printf and libm: %f %e %g %a with assorted widths and
// precisions, special values, and sqrt/sin/cos/exp/log/pow/atan2.  Checks that
// the guest's FPU/SSE state (MXCSR, x87 control word) starts out as Linux sets it.
// LDLIBS: -lm
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    volatile double vals[] = {0.0, -0.0, 1.0, -1.5, 3.14159265358979, 1e-300, 6.02214076e23,
                              1.0 / 3.0, 123456789.125, DBL_MAX, DBL_MIN, 5e-324};
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i];
        printf("%f | %.3f | %12.4e | %g | %.17g | %a\n", v, v, v, v, v, v);
    }
    volatile double zero = 0.0;
    printf("%f %f %f %g\n", 1.0 / zero, -1.0 / zero, zero / zero, -sqrt(-1.0 + zero) * 0);
    for (int i = 0; i <= 8; i++) {
        double x = i * 0.5;
        printf("x=%.1f sqrt=%.15f sin=%.15f cos=%.15f exp=%.10e log=%.15f\n", x, sqrt(x),
               sin(x), cos(x), exp(x), x > 0 ? log(x) : -INFINITY);
    }
    printf("pow(2,0.5)=%.17g atan2(1,-1)=%.17g hypot(3,4)=%g cbrt(27)=%g\n", pow(2, 0.5),
           atan2(1, -1), hypot(3, 4), cbrt(27));
    printf("fmod(10,3)=%g floor(-2.5)=%g ceil(-2.5)=%g round(2.5)=%g trunc(-2.7)=%g\n",
           fmod(10, 3), floor(-2.5), ceil(-2.5), round(2.5), trunc(-2.7));
    volatile long double ld = 1.0L / 3.0L;
    printf("long double: %.20Lf %Lg\n", ld, (long double)ld * 3);
    volatile float f = 1.0f / 3.0f;
    printf("float: %.10f %g\n", f, f * 3.0f);
    printf("strtod: %.17g %.17g\n", strtod("2.718281828459045", NULL), strtod("1e-5", NULL));

    /* a sum that depends on round-to-nearest and on SSE (not x87) precision */
    double s = 0;
    for (int i = 1; i <= 100000; i++)
        s += 1.0 / ((double)i * i);
    printf("basel(1e5)=%.17g\n", s);

    /* Linux starts a process with round-to-nearest and all exceptions masked */
    int ok = fegetround() == FE_TONEAREST;
    unsigned mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    unsigned short fcw;
    __asm__ volatile("fnstcw %0" : "=m"(fcw));
    printf("rounding=%s mxcsr=%#x fcw=%#x\n", ok ? "nearest" : "OTHER", mxcsr & 0xffc0, fcw);
    return (mxcsr & 0xffc0) == 0x1f80 && fcw == 0x37f && ok ? 0 : 1;
}
