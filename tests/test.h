/* test.h - the smallest harness that fails loudly.

   A test is a void function of CHECKs; it passes when none of them fails.
   Each suite's main runs its tests with RUN and returns test_finish(), which
   prints "<suite>: N passed, M failed" (tests/run.sh adds these up) and a
   non-zero exit status on any failure.  inject_failures runs a job with
   each of its allocations failing in turn.  test_fixture and test_scratch
   name the files a test reads and writes, so it runs from any directory. */
#ifndef ANOMALY_TEST_H
#define ANOMALY_TEST_H

#include "../anomaly.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* --------------------------------------------------------------------------
   Where the files are: the Makefile passes absolute TEST_FIXTURES_DIR and
   TEST_SCRATCH_DIR, so a test binary runs from any directory; the
   environment variables ANOMALY_TEST_FIXTURES and ANOMALY_TEST_SCRATCH
   override them; a test compiled by hand without either looks in
   tests/fixtures and build relative to the working directory.
   -------------------------------------------------------------------------- */

#ifndef TEST_FIXTURES_DIR
#  define TEST_FIXTURES_DIR "tests/fixtures"
#endif
#ifndef TEST_SCRATCH_DIR
#  define TEST_SCRATCH_DIR "build"
#endif

/* buf = dir "/" name, dir from the environment variable env or else dflt.
   Inline only so that a suite not calling it draws no unused-function
   warning (as are the two below). */
static inline const char *test__path(char *buf, size_t size, const char *env, const char *dflt, const char *name)
{
    const char *dir = getenv(env);
    snprintf(buf, size, "%s/%s", dir && *dir ? dir : dflt, name);
    return buf;
}

/* A fixture file, "stl/index.csv" for tests/fixtures/stl/index.csv. */
static inline const char *test_fixture(char *buf, size_t size, const char *name)
{
    return test__path(buf, size, "ANOMALY_TEST_FIXTURES", TEST_FIXTURES_DIR, name);
}

/* A scratch file the test writes and removes. */
static inline const char *test_scratch(char *buf, size_t size, const char *name)
{
    return test__path(buf, size, "ANOMALY_TEST_SCRATCH", TEST_SCRATCH_DIR, name);
}

/* --------------------------------------------------------------------------
   An allocator that counts, and fails its k-th call on request
   -------------------------------------------------------------------------- */

typedef struct counting {
    long calls, fail_at;     /* fail_at 0: never fail */
    long live;               /* blocks not yet freed   */
    size_t bytes;            /* bytes not yet freed    */
} counting;

static void *counting_alloc(void *user, size_t size, size_t align)
{
    counting *c = (counting *)user;
    void *p;
    if (++c->calls == c->fail_at) return NULL;
    p = an_malloc(NULL, size, align);
    if (p) { c->live++; c->bytes += size; }
    return p;
}

static void counting_free(void *user, void *ptr, size_t size)
{
    counting *c = (counting *)user;
    c->live--;
    c->bytes -= size;
    an_free(NULL, ptr, size);
}

static an_allocator counting_allocator(counting *c)
{
    an_allocator a;
    a.user = c;
    a.alloc = counting_alloc;
    a.free = counting_free;
    return a;
}

/* Runs `job` with its k-th allocation failing, for k = 1, 2, ... until a run
   makes fewer than k allocations (and so succeeds).  Each failing run must
   return AN_ERR_NOMEM, the last AN_OK, and none may leave memory behind
   (jobs release what they built on success). */
typedef an_result (*alloc_job)(const an_allocator *a, void *ctx);

static void inject_failures(const char *what, alloc_job job, void *ctx)
{
    long k;
    for (k = 1; k < 10000; k++) {
        counting c = { 0, 0, 0, 0 };
        an_allocator a;
        an_result r;
        c.fail_at = k;
        a = counting_allocator(&c);
        r = job(&a, ctx);
        if (c.live != 0 || c.bytes != 0)
            TEST__FAIL("%s: failing allocation %ld leaked %ld blocks", what, k, c.live);
        if (c.calls < k) {
            if (r != AN_OK) TEST__FAIL("%s: run without failure returned %s", what, an_result_str(r));
            if (k == 1) TEST__FAIL("%s: never allocated, so nothing was injected", what);
            return;
        }
        if (r != AN_ERR_NOMEM)
            TEST__FAIL("%s: failing allocation %ld returned %s, not AN_ERR_NOMEM", what, k, an_result_str(r));
    }
    TEST__FAIL("%s: too many allocations", what);
}

static int test_finish(const char *suite)
{
    (void)inject_failures;   /* not every suite injects failures */
    printf("%s: %d passed, %d failed (%d checks)\n", suite, test__passed, test__failed, test__checks);
    return test__failed ? 1 : 0;
}

#endif
