/* test.h - the smallest harness that fails loudly.

   A test is a void function of CHECKs; it passes when none of them fails.
   Each suite's main runs its tests with RUN and returns test_finish(), which
   prints "<suite>: N passed, M failed" (tests/run.sh adds these up) and a
   non-zero exit status on any failure. */
#ifndef ANOMALY_TEST_H
#define ANOMALY_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test__checks, test__current_failed, test__passed, test__failed;

#define TEST__FAIL(...) do { \
        test__current_failed = 1; \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); \
        fputc('\n', stderr); \
    } while (0)

#define CHECK(cond) do { \
        test__checks++; \
        if (!(cond)) TEST__FAIL("CHECK(%s) failed", #cond); \
    } while (0)

/* a and b within tol (absolute); NaN never passes. */
#define CHECK_NEAR(a, b, tol) do { \
        double test__a = (double)(a), test__b = (double)(b); \
        test__checks++; \
        if (!(fabs(test__a - test__b) <= (double)(tol))) \
            TEST__FAIL("%s = %.17g, %s = %.17g, differ by %.3g > %.3g", #a, test__a, #b, test__b, \
                       fabs(test__a - test__b), (double)(tol)); \
    } while (0)

#define CHECK_EQ_SIZE(a, b) do { \
        size_t test__a = (size_t)(a), test__b = (size_t)(b); \
        test__checks++; \
        if (test__a != test__b) TEST__FAIL("%s = %zu, expected %s = %zu", #a, test__a, #b, test__b); \
    } while (0)

#define CHECK_RESULT(expr, expected) do { \
        an_result test__r = (expr), test__e = (expected); \
        test__checks++; \
        if (test__r != test__e) \
            TEST__FAIL("%s returned %d (%s), expected %d (%s)", #expr, (int)test__r, an_result_str(test__r), \
                       (int)test__e, an_result_str(test__e)); \
    } while (0)

#define CHECK_OK(expr) CHECK_RESULT(expr, AN_OK)

#define RUN(test) test__run(#test, test)

static void test__run(const char *name, void (*test)(void))
{
    test__current_failed = 0;
    test();
    if (test__current_failed) {
        test__failed++;
        printf("FAIL %s\n", name);
    } else {
        test__passed++;
    }
    fflush(stdout);
}

static int test_finish(const char *suite)
{
    printf("%s: %d passed, %d failed (%d checks)\n", suite, test__passed, test__failed, test__checks);
    return test__failed ? 1 : 0;
}

#endif
