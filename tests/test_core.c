/* test_core.c - tests of anomaly.h against independent oracles: hand-worked
   cases, double-precision references, scikit-learn's metrics and NAB's
   scoring definition frozen in tests/fixtures/, and properties. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"
#include "test.h"
#include "fixtures/metrics_sklearn.h"
#include "fixtures/nab_reference.h"

#include <float.h>
#include <stdlib.h>

/* --------------------------------------------------------------------------
   A toy detector implementing the contract: |x - mean| / std, maximum over
   features.  Loading allocates twice, to give failure injection work.
   -------------------------------------------------------------------------- */

#define ZDET_TAG AN_TAG('Z', 'D', 'E', 'T')

typedef struct zdet {
    an_detector base;
    an_allocator alloc;
    double *mean, *sd;   /* (n_features) each, one block */
} zdet;

static const an_detector_vtable zdet_vtable;
static void zdet_destroy(an_detector *self);

static an_result zdet_create(size_t n_features, const an_allocator *a, an_detector **out)
{
    zdet *z;
    *out = NULL;
    if (!(z = (zdet *)an_malloc(a, sizeof *z, 16))) return AN_ERR_NOMEM;
    memset(z, 0, sizeof *z);
    z->alloc = *a;
    if (!(z->mean = (double *)an_malloc(a, 2 * n_features * sizeof(double), 16))) {
        an_free(a, z, sizeof *z);
        return AN_ERR_NOMEM;
    }
    z->sd = z->mean + n_features;
    z->base.vt = &zdet_vtable;
    z->base.n_features = n_features;
    *out = &z->base;
    return AN_OK;
}

static an_result zdet_fit(an_detector *self, const float *x, size_t n)
{
    zdet *z = (zdet *)self;
    size_t f, F = self->n_features;
    for (f = 0; f < F; f++) {
        size_t i;
        double m = 0, s = 0;
        for (i = 0; i < n; i++) m += x[i * F + f];
        m /= (double)n;
        for (i = 0; i < n; i++) s += (x[i * F + f] - m) * (x[i * F + f] - m);
        z->mean[f] = m;
        z->sd[f] = s > 0 ? sqrt(s / (double)n) : 1.0;
    }
    return AN_OK;
}

static an_result zdet_push(an_detector *self, const float *row, float *score)
{
    zdet *z = (zdet *)self;
    size_t f;
    double best = 0;
    for (f = 0; f < self->n_features; f++) {
        double v = fabs(row[f] - z->mean[f]) / z->sd[f];
        if (v > best) best = v;
    }
    *score = (float)best;
    return AN_OK;
}

static an_result zdet_score(an_detector *self, const float *x, size_t n, float *scores)
{
    size_t i;
    for (i = 0; i < n; i++) zdet_push(self, x + i * self->n_features, &scores[i]);
    return AN_OK;
}

static an_result zdet_save(const an_detector *self, an_writer *w)
{
    const zdet *z = (const zdet *)self;
    an_write_begin(w, AN_TAG('Z', 'P', 'A', 'R'));
    an_write_u64(w, self->n_features);
    an_write_f64s(w, z->mean, 2 * self->n_features);
    return an_write_end(w);
}

static an_result zdet_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p;
    size_t F;
    an_result r;
    zdet *z;
    if ((r = an_reader_find(payload, AN_TAG('Z', 'P', 'A', 'R'), &p)) != AN_OK) return r;
    if ((r = an_read_count(&p, 1, 1u << 20, &F)) != AN_OK) return r;
    if ((r = an_reader_need(&p, 2 * F, sizeof(double))) != AN_OK) return r;
    if ((r = zdet_create(F, a, out)) != AN_OK) return r;
    z = (zdet *)*out;
    if ((r = an_read_f64s(&p, z->mean, 2 * F)) != AN_OK) {
        zdet_destroy(*out);
        *out = NULL;
    }
    return r;
}

static void zdet_destroy(an_detector *self)
{
    zdet *z = (zdet *)self;
    an_allocator a = z->alloc;
    an_free(&a, z->mean, 2 * self->n_features * sizeof(double));
    an_free(&a, z, sizeof *z);
}

static const an_detector_vtable zdet_vtable = {
    ZDET_TAG, "zscore-toy", zdet_fit, zdet_score, zdet_push, NULL, zdet_save, zdet_load, NULL, zdet_destroy, NULL, NULL, NULL
};

/* --------------------------------------------------------------------------
   1  Results, 2  Memory, 3  Tensors
   -------------------------------------------------------------------------- */

static void test_result_strings(void)
{
    int i, j;
    for (i = 0; i >= AN_RESULT_MIN; i--) {
        const char *s = an_result_str((an_result)i);
        CHECK(s != NULL && strcmp(s, "unknown result code") != 0);
        for (j = 0; j > i; j--) CHECK(strcmp(s, an_result_str((an_result)j)) != 0);
    }
    CHECK(strcmp(an_result_str((an_result)(AN_RESULT_MIN - 1)), "unknown result code") == 0);
}

static void test_default_allocator(void)
{
    size_t align;
    for (align = 1; align <= 4096; align *= 2) {
        unsigned char *p = (unsigned char *)an_malloc(NULL, 100, align);
        CHECK(p != NULL && ((uintptr_t)p & (align - 1)) == 0);
        memset(p, 0xAB, 100);
        an_free(NULL, p, 100);
    }
    CHECK(an_malloc(NULL, 0, 16) == NULL);
    CHECK(an_malloc(NULL, 16, 3) == NULL);           /* not a power of two */
    CHECK(an_malloc(NULL, SIZE_MAX, 16) == NULL);
    {
        an_allocator half = { NULL, NULL, NULL };
        an_tensor t;
        size_t shape[1] = { 4 };
        half.alloc = counting_alloc;                  /* alloc without free */
        CHECK_RESULT(an_tensor_init(&t, 1, shape, &half), AN_ERR_INVALID_ARG);
    }
}

static void test_arena(void)
{
    static unsigned char buffer[1024];
    an_arena arena;
    an_allocator a;
    void *p, *q, *r;
    CHECK_OK(an_arena_init(&arena, buffer, sizeof buffer));
    a = an_arena_allocator(&arena);
    p = an_malloc(&a, 100, 64);
    q = an_malloc(&a, 200, 64);
    CHECK(p && q && ((uintptr_t)p & 63) == 0 && ((uintptr_t)q & 63) == 0);
    CHECK((unsigned char *)q >= (unsigned char *)p + 100);
    CHECK(arena.used <= sizeof buffer && arena.peak == arena.used);
    an_free(&a, q, 200);                    /* newest block: bytes come back */
    r = an_malloc(&a, 200, 64);
    CHECK(r == q);
    an_free(&a, p, 100);                    /* not the newest: no-op */
    CHECK(an_malloc(&a, 2000, 16) == NULL); /* exhausted */
    an_arena_reset(&arena);
    CHECK(arena.used == 0 && arena.peak > 0);
    CHECK(an_malloc(&a, 1024 - ((uintptr_t)buffer & 15 ? 16 : 0), 16) != NULL);
    CHECK_RESULT(an_arena_init(&arena, NULL, 10), AN_ERR_INVALID_ARG);
}

static void test_tensors(void)
{
    an_tensor t, v, w;
    size_t btf[3] = { 2, 5, 3 }, flat[2] = { 10, 3 }, wrong[2] = { 7, 3 }, zero[2] = { 0, 3 };
    size_t i, bytes;
    CHECK_OK(an_tensor_init(&t, 3, btf, NULL));
    CHECK(t.size == 30 && t.ndim == 3 && ((uintptr_t)t.data & (AN_ALIGN - 1)) == 0);
    for (i = 0; i < t.size; i++) CHECK(t.data[i] == 0.0f);
    for (i = 0; i < t.size; i++) t.data[i] = (float)i;
    CHECK(an_tensor_btf(&t, 1, 2) == t.data + (1 * 5 + 2) * 3);
    CHECK(an_tensor_btf(&t, 2, 0) == NULL && an_tensor_btf(&t, 0, 5) == NULL);
    CHECK_OK(an_tensor_slice(&t, 1, &v));
    CHECK(v.ndim == 2 && v.shape[0] == 5 && v.shape[1] == 3 && v.data[0] == 15.0f);
    CHECK_RESULT(an_tensor_slice(&t, 2, &v), AN_ERR_INVALID_ARG);
    CHECK_OK(an_tensor_reshape(&t, 2, flat, &w));
    CHECK(w.data == t.data && w.shape[0] == 10);
    CHECK_RESULT(an_tensor_reshape(&t, 2, wrong, &w), AN_ERR_SHAPE);
    {
        size_t any[3] = { 0, 5, 3 }, bad[3] = { 0, 4, 3 };
        CHECK_OK(an_tensor_expect(&t, 3, any));
        CHECK_RESULT(an_tensor_expect(&t, 3, bad), AN_ERR_SHAPE);
        CHECK_RESULT(an_tensor_expect(&t, 2, any), AN_ERR_SHAPE);
    }
    an_tensor_uninit(&t);
    CHECK(t.data == NULL);
    CHECK_RESULT(an_tensor_init(&t, 2, zero, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_tensor_init(&t, 5, btf, NULL), AN_ERR_INVALID_ARG);
    {
        size_t huge[2] = { SIZE_MAX / 2, 4 };
        CHECK_RESULT(an_tensor_init(&t, 2, huge, NULL), AN_ERR_TOO_LARGE);
    }
    CHECK_OK(an_tensor_heap_size(3, btf, &bytes));
    CHECK(bytes >= 30 * sizeof(float) && bytes % AN_ALIGN == 0);
    {
        static float heap[64 + 16];
        float *aligned = (float *)(((uintptr_t)heap + 63) & ~(uintptr_t)63);
        CHECK_OK(an_tensor_init_preallocated(&t, 3, btf, aligned));
        CHECK(t.data == aligned && t.owned_bytes == 0);
        an_tensor_uninit(&t);
        CHECK_RESULT(an_tensor_init_preallocated(&t, 3, btf, aligned + 1), AN_ERR_INVALID_ARG);
    }
}

/* --------------------------------------------------------------------------
   4  Random numbers
   -------------------------------------------------------------------------- */

static void test_rng_reference(void)
{
    /* pcg32-demo from pcg-random.org: pcg32_srandom(42, 54), first outputs */
    static const uint32_t expected[6] = { 0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                          0x83d2f293u, 0xbfa4784bu, 0xcbed606eu };
    an_rng rng;
    int i;
    an_rng_seed(&rng, 42u, 54u);
    for (i = 0; i < 6; i++) CHECK(an_rng_u32(&rng) == expected[i]);
}

static void test_rng_distributions(void)
{
    an_rng rng;
    size_t i, counts[10] = { 0 }, items[50], seen[50] = { 0 };
    double sum = 0, sum2 = 0, chi2 = 0, n = 200000;
    an_rng_seed(&rng, 7, 1);
    for (i = 0; i < (size_t)n; i++) {
        double u = an_rng_uniform(&rng), z = an_rng_normal(&rng);
        float uf = an_rng_uniformf(&rng);
        CHECK(u >= 0.0 && u < 1.0 && uf >= 0.0f && uf < 1.0f);
        sum += z;
        sum2 += z * z;
        counts[an_rng_below(&rng, 10)]++;
    }
    CHECK_NEAR(sum / n, 0.0, 4.0 / sqrt(n));            /* 4 standard errors */
    CHECK_NEAR(sum2 / n, 1.0, 4.0 * sqrt(2.0 / n));
    for (i = 0; i < 10; i++) chi2 += (counts[i] - n / 10) * (counts[i] - n / 10) / (n / 10);
    CHECK(chi2 < 27.9);                                  /* chi2(9) 0.999 quantile */
    CHECK(an_rng_below(&rng, 1) == 0 && an_rng_below(&rng, 0) == 0);
    {
        /* exactly, not statistically: for a 32-bit bound the draws below
           2^32 mod bound (here 1,294,967,295; 2^64 mod bound would be
           560,636,927) are rejected, and the next one is reduced */
        uint32_t bound = 3000000001u, draw;
        int k;
        for (k = 0; k < 200; k++) {
            an_rng replay = rng;
            do draw = an_rng_u32(&replay); while (draw < 1294967295u);
            CHECK(an_rng_below(&rng, bound) == draw % bound);
            rng = replay;
        }
    }
    for (i = 0; i < 1000; i++) CHECK(an_rng_below(&rng, 5000000000ULL) < 5000000000ULL);
    for (i = 0; i < 50; i++) items[i] = i;
    an_rng_shuffle(&rng, items, 50);
    for (i = 0; i < 50; i++) seen[items[i]]++;
    for (i = 0; i < 50; i++) CHECK(seen[i] == 1);
    {
        an_rng a, b;
        an_rng_seed(&a, 123, 4);
        an_rng_seed(&b, 123, 4);
        for (i = 0; i < 100; i++) CHECK(an_rng_normal(&a) == an_rng_normal(&b));
        an_rng_seed(&b, 123, 5);                          /* another stream */
        CHECK(an_rng_u32(&a) != an_rng_u32(&b));
    }
}

/* --------------------------------------------------------------------------
   5  Kernels: every vector kernel against the scalar reference and a
   double-precision oracle, on random shapes with odd tails
   -------------------------------------------------------------------------- */

static float *random_floats(an_rng *rng, size_t n)
{
    float *v = (float *)malloc((n ? n : 1) * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) v[i] = (float)(2.0 * an_rng_uniform(rng) - 1.0);
    return v;
}

static size_t random_dim(an_rng *rng)
{
    static const size_t dims[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 129 };
    return dims[an_rng_below(rng, sizeof dims / sizeof dims[0])];
}

/* |got - want| within the standard bound for a sum of k products */
static int close_sum(double got, double want, double abs_sum, size_t k)
{
    return fabs(got - want) <= (double)(k + 2) * FLT_EPSILON * (abs_sum + 1e-30);
}

static void test_kernel_vectors(void)
{
    an_rng rng;
    int trial;
    an_rng_seed(&rng, 11, 0);
    for (trial = 0; trial < 300; trial++) {
        size_t n = (size_t)an_rng_below(&rng, 300), i;
        float *x = random_floats(&rng, n), *y = random_floats(&rng, n);
        float *y1 = (float *)malloc((n + 1) * sizeof(float)), *y2 = (float *)malloc((n + 1) * sizeof(float));
        float a = (float)(an_rng_uniform(&rng) * 4 - 2);
        double exact = 0, abs_sum = 0;
        for (i = 0; i < n; i++) { exact += (double)x[i] * y[i]; abs_sum += fabs((double)x[i] * y[i]); }
        CHECK(close_sum(an_dot(n, x, y), exact, abs_sum, n));
        CHECK(close_sum(an_dot(n, x, y), an_dot_scalar(n, x, y), 2 * abs_sum, n));
        memcpy(y1, y, n * sizeof(float));
        memcpy(y2, y, n * sizeof(float));
        an_axpy(n, a, x, y1);
        an_axpy_scalar(n, a, x, y2);
        for (i = 0; i < n; i++) CHECK(fabsf(y1[i] - y2[i]) <= 2 * FLT_EPSILON * (fabsf(a * x[i]) + fabsf(y[i])));
        an_scale(n, a, y1);
        an_scale_scalar(n, a, y2);
        for (i = 0; i < n; i++) CHECK(fabsf(y1[i] - y2[i]) <= 4 * FLT_EPSILON * fabsf(a) * (fabsf(a * x[i]) + fabsf(y[i])));
        free(x); free(y); free(y1); free(y2);
    }
}

static void test_kernel_gemv(void)
{
    an_rng rng;
    int trial;
    an_rng_seed(&rng, 12, 0);
    for (trial = 0; trial < 200; trial++) {
        size_t M = random_dim(&rng), N = random_dim(&rng), lda = N + (size_t)an_rng_below(&rng, 4), i, j;
        float *A = random_floats(&rng, M * lda), *xn = random_floats(&rng, N), *xm = random_floats(&rng, M);
        float *y1 = random_floats(&rng, M), *y2 = (float *)malloc(M * sizeof(float));
        float *z1 = random_floats(&rng, N), *z2 = (float *)malloc(N * sizeof(float));
        int ok = 1;
        memcpy(y2, y1, M * sizeof(float));
        memcpy(z2, z1, N * sizeof(float));
        an_gemv(M, N, A, lda, xn, y1);
        an_gemv_scalar(M, N, A, lda, xn, y2);
        for (i = 0; i < M; i++) {
            double s = 0;
            for (j = 0; j < N; j++) s += fabs((double)A[i * lda + j] * xn[j]);
            ok &= close_sum(y1[i], y2[i], 2 * s + fabs(y2[i]), N);
        }
        an_gemv_t(M, N, A, lda, xm, z1);
        an_gemv_t_scalar(M, N, A, lda, xm, z2);
        for (j = 0; j < N; j++) {
            double s = 0;
            for (i = 0; i < M; i++) s += fabs((double)A[i * lda + j] * xm[i]);
            ok &= close_sum(z1[j], z2[j], 2 * s + fabs(z2[j]), M);
        }
        if (!ok) TEST__FAIL("gemv M=%zu N=%zu lda=%zu", M, N, lda);
        free(A); free(xn); free(xm); free(y1); free(y2); free(z1); free(z2);
    }
}

/* C += op(A) op(B) for the three forms against a double-precision oracle,
   with row padding (ld > columns) and C holding earlier values. */
static void test_kernel_gemm(void)
{
    an_rng rng;
    int trial, form;
    an_rng_seed(&rng, 13, 0);
    for (trial = 0; trial < 150; trial++)
        for (form = 0; form < 3; form++) {
            size_t M = random_dim(&rng), N = random_dim(&rng), K = random_dim(&rng), pad = (size_t)an_rng_below(&rng, 3);
            /* storage shapes: nn A(M,K) B(K,N); nt A(M,K) B(N,K); tn A(K,M) B(K,N) */
            size_t arows = form == 2 ? K : M, acols = form == 2 ? M : K;
            size_t brows = form == 1 ? N : K, bcols = form == 1 ? K : N;
            size_t lda = acols + pad, ldb = bcols + pad, ldc = N + pad, i, j, k;
            float *A = random_floats(&rng, arows * lda), *B = random_floats(&rng, brows * ldb);
            float *C1 = random_floats(&rng, M * ldc), *C2 = (float *)malloc(M * ldc * sizeof(float));
            int ok = 1;
            memcpy(C2, C1, M * ldc * sizeof(float));
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++) {
                    double e = C1[i * ldc + j];
                    for (k = 0; k < K; k++) {
                        double a = form == 2 ? A[k * lda + i] : A[i * lda + k];
                        double b = form == 1 ? B[j * ldb + k] : B[k * ldb + j];
                        e += a * b;
                    }
                    C2[i * ldc + j] = (float)e;   /* the double-precision oracle */
                }
            if (form == 0) an_gemm_nn(M, N, K, A, lda, B, ldb, C1, ldc);
            if (form == 1) an_gemm_nt(M, N, K, A, lda, B, ldb, C1, ldc);
            if (form == 2) an_gemm_tn(M, N, K, A, lda, B, ldb, C1, ldc);
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++) {
                    double s = 2.0;   /* |C0| <= 1 plus |a b| <= 1 each: a loose, safe scale */
                    for (k = 0; k < K; k++) {
                        double a = form == 2 ? A[k * lda + i] : A[i * lda + k];
                        double b = form == 1 ? B[j * ldb + k] : B[k * ldb + j];
                        s += fabs(a * b);
                    }
                    ok &= close_sum(C1[i * ldc + j], C2[i * ldc + j], s, K);
                }
            if (!ok) TEST__FAIL("gemm form %d M=%zu N=%zu K=%zu pad=%zu", form, M, N, K, pad);
            free(A); free(B); free(C1); free(C2);
        }
}

/* The kernels' blocking never changes an entry's bits: a product computed
   whole equals the same product row by row (M = 1, no packing, no 4-row
   block), and K split into two calls at a point that is not a slice
   boundary (C stored and reloaded mid-chain), for gemm_nn and gemm_tn at
   LSTM-like shapes that reach every block, panel and tail. */
static void test_kernel_gemm_blocking_bits(void)
{
    static const size_t shapes[][3] = { { 32, 256, 64 }, { 37, 130, 200 }, { 8, 64, 129 }, { 13, 17, 65 } };
    an_rng rng;
    size_t s;
    an_rng_seed(&rng, 15, 0);
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], K1 = K / 3 + 1;
        int form;
        for (form = 0; form < 2; form++) {   /* 0: nn, A (M,K); 1: tn, A (K,M) */
            size_t lda = form ? M : K, i;
            float *A = random_floats(&rng, M * K), *B = random_floats(&rng, K * N);
            float *C0 = random_floats(&rng, M * N), *C1 = (float *)malloc(M * N * sizeof(float));
            float *C2 = (float *)malloc(M * N * sizeof(float));
            memcpy(C1, C0, M * N * sizeof(float));
            memcpy(C2, C0, M * N * sizeof(float));
            if (form == 0) {
                an_gemm_nn(M, N, K, A, lda, B, N, C0, N);
                for (i = 0; i < M; i++) an_gemm_nn(1, N, K, A + i * lda, lda, B, N, C1 + i * N, N);
                an_gemm_nn(M, N, K1, A, lda, B, N, C2, N);
                an_gemm_nn(M, N, K - K1, A + K1, lda, B + K1 * N, N, C2, N);
            } else {
                an_gemm_tn(M, N, K, A, lda, B, N, C0, N);
                for (i = 0; i < M; i++) an_gemm_tn(1, N, K, A + i, lda, B, N, C1 + i * N, N);
                an_gemm_tn(M, N, K1, A, lda, B, N, C2, N);
                an_gemm_tn(M, N, K - K1, A + K1 * lda, lda, B + K1 * N, N, C2, N);
            }
            if (memcmp(C0, C1, M * N * sizeof(float)) || memcmp(C0, C2, M * N * sizeof(float)))
                TEST__FAIL("gemm_%s M=%zu N=%zu K=%zu: blocking changed the bits", form ? "tn" : "nn", M, N, K);
            free(A); free(B); free(C0); free(C1); free(C2);
        }
    }
}

/* The scalar gemm references against the double oracle, and vector ==
   scalar on the padding between rows (kernels must not write there). */
static void test_kernel_gemm_scalar_and_padding(void)
{
    an_rng rng;
    int trial;
    an_rng_seed(&rng, 14, 0);
    for (trial = 0; trial < 60; trial++) {
        size_t M = random_dim(&rng), N = random_dim(&rng), K = random_dim(&rng), ldc = N + 3, i, j, k;
        float *A = random_floats(&rng, M * K), *B = random_floats(&rng, K * N), *Bt = (float *)malloc(N * K * sizeof(float));
        float *At = (float *)malloc(K * M * sizeof(float));
        float *C[6];
        int c, ok = 1;
        for (i = 0; i < M; i++) for (k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
        for (k = 0; k < K; k++) for (j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
        for (c = 0; c < 6; c++) {
            C[c] = (float *)malloc(M * ldc * sizeof(float));
            for (i = 0; i < M * ldc; i++) C[c][i] = -7.0f;   /* padding sentinel */
            for (i = 0; i < M; i++) for (j = 0; j < N; j++) C[c][i * ldc + j] = 0.0f;
        }
        an_gemm_nn_scalar(M, N, K, A, K, B, N, C[0], ldc);
        an_gemm_nt_scalar(M, N, K, A, K, Bt, K, C[1], ldc);
        an_gemm_tn_scalar(M, N, K, At, M, B, N, C[2], ldc);
        an_gemm_nn(M, N, K, A, K, B, N, C[3], ldc);
        an_gemm_nt(M, N, K, A, K, Bt, K, C[4], ldc);
        an_gemm_tn(M, N, K, At, M, B, N, C[5], ldc);
        for (i = 0; i < M; i++) {
            for (j = 0; j < N; j++) {
                double e = 0, s = 0;
                for (k = 0; k < K; k++) { e += (double)A[i * K + k] * B[k * N + j]; s += fabs((double)A[i * K + k] * B[k * N + j]); }
                for (c = 0; c < 6; c++) ok &= close_sum(C[c][i * ldc + j], e, s, K);
            }
            for (j = N; j < ldc; j++)
                for (c = 0; c < 6; c++) ok &= C[c][i * ldc + j] == -7.0f;
        }
        if (!ok) TEST__FAIL("gemm M=%zu N=%zu K=%zu", M, N, K);
        for (c = 0; c < 6; c++) free(C[c]);
        free(A); free(B); free(At); free(Bt);
    }
}

/* The measured errors the header states, on a dense grid and near the
   switch points, against double-precision libm. */
static void test_kernel_activations(void)
{
    size_t n = 400001, i;
    float *x = (float *)malloc(n * sizeof(float)), *s = (float *)malloc(n * sizeof(float));
    float *t = (float *)malloc(n * sizeof(float)), *ss = (float *)malloc(n * sizeof(float));
    float *ts = (float *)malloc(n * sizeof(float));
    double sig_abs = 0, tanh_abs = 0, tanh_ulp = 0, vs_scalar = 0;
    for (i = 0; i < n; i++) x[i] = (float)(-20.0 + 40.0 * (double)i / (double)(n - 1));
    x[0] = 0.625f; x[1] = -0.625f; x[2] = nextafterf(0.625f, 0.0f); x[3] = 1e-30f; x[4] = -1e-6f; x[5] = 0.0f;
    an_sigmoid(n, x, s);
    an_tanh(n, x, t);
    an_sigmoid_scalar(n, x, ss);
    an_tanh_scalar(n, x, ts);
    for (i = 0; i < n; i++) {
        double es = 1.0 / (1.0 + exp(-(double)x[i])), et = tanh((double)x[i]);
        double ulp = et == 0 ? 0 : fabs(t[i] - et) / (ldexp(1.0, ilogb(et)) * FLT_EPSILON);
        if (fabs(s[i] - es) > sig_abs) sig_abs = fabs(s[i] - es);
        if (fabs(ss[i] - es) > sig_abs) sig_abs = fabs(ss[i] - es);
        if (fabs(t[i] - et) > tanh_abs) tanh_abs = fabs(t[i] - et);
        if (fabs(ts[i] - et) > tanh_abs) tanh_abs = fabs(ts[i] - et);
        if (ulp > tanh_ulp) tanh_ulp = ulp;
        if (fabs(s[i] - ss[i]) > vs_scalar) vs_scalar = fabs(s[i] - ss[i]);
        if (fabs(t[i] - ts[i]) > vs_scalar) vs_scalar = fabs(t[i] - ts[i]);
    }
    printf("  activations (%s): sigmoid max abs err %.2e, tanh max abs err %.2e (%.1f ulp), vector vs scalar %.2e\n",
           an_simd_name(an_simd_path()), sig_abs, tanh_abs, tanh_ulp, vs_scalar);
    CHECK(sig_abs <= 1.2e-7);       /* the bounds the header states */
    CHECK(tanh_abs <= 1.2e-7);
    CHECK(tanh_ulp <= 2.0);
    CHECK(vs_scalar <= 2.4e-7);     /* two ulps of 1: FMA vs separate rounding */
    /* saturation, signs and NaN */
    {
        float in[6], out[6];
        in[0] = 200.0f; in[1] = -200.0f; in[2] = HUGE_VALF; in[3] = -HUGE_VALF; in[4] = NAN; in[5] = 88.5f;
        an_sigmoid(6, in, out);
        CHECK(out[0] == 1.0f && out[1] >= 0.0f && out[1] < 1e-37f && out[2] == 1.0f && out[3] < 1e-37f);
        CHECK(out[4] != out[4]);
        an_tanh(6, in, out);
        CHECK(out[0] == 1.0f && out[1] == -1.0f && out[2] == 1.0f && out[3] == -1.0f && out[4] != out[4]);
        an_sigmoid_scalar(6, in, out);
        CHECK(out[4] != out[4] && out[0] == 1.0f);
    }
    free(x); free(s); free(t); free(ss); free(ts);
}

static void test_kernel_lstm_gates(void)
{
    an_rng rng;
    size_t H, r, j;
    an_rng_seed(&rng, 15, 0);
    for (H = 1; H <= 40; H += 3) {
        size_t rows = 3, ldz = 4 * H + 2;
        float *z = random_floats(&rng, rows * ldz), *zs = (float *)malloc(rows * ldz * sizeof(float));
        float *orig = (float *)malloc(rows * ldz * sizeof(float));
        for (j = 0; j < rows * ldz; j++) z[j] *= 6.0f;
        memcpy(zs, z, rows * ldz * sizeof(float));
        memcpy(orig, z, rows * ldz * sizeof(float));
        an_lstm_gates(rows, H, z, ldz);
        an_lstm_gates_scalar(rows, H, zs, ldz);
        for (r = 0; r < rows; r++)
            for (j = 0; j < ldz; j++) {
                double x = orig[r * ldz + j], want;
                if (j >= 4 * H) want = x;                              /* padding untouched */
                else if (j >= 2 * H && j < 3 * H) want = tanh(x);      /* g */
                else want = 1.0 / (1.0 + exp(-x));                     /* i, f, o */
                CHECK_NEAR(z[r * ldz + j], want, 1.2e-7);
                CHECK_NEAR(zs[r * ldz + j], want, 1.2e-7);
            }
        free(z); free(zs); free(orig);
    }
}

/* --------------------------------------------------------------------------
   6  Preprocessing
   -------------------------------------------------------------------------- */

static void test_fill_missing(void)
{
    /* two features: feature 0 has a leading gap and an interior gap,
       feature 1 a trailing gap */
    float x[6 * 2] = { NAN, 1, 2, NAN, NAN, 5, NAN, NAN, 8, NAN, 10, NAN };
    unsigned char mask[12];
    size_t filled;
    CHECK_OK(an_fill_missing(x, 6, 2, NULL, mask, &filled));
    /* feature 0: NAN 2 NAN NAN 8 10 -> 2 2 4 6 8 10 */
    CHECK(x[0] == 2.0f && x[2] == 2.0f && x[4] == 4.0f && x[6] == 6.0f && x[8] == 8.0f && x[10] == 10.0f);
    /* feature 1: 1 NAN 5 NAN NAN NAN -> 1 3 5 5 5 5 */
    CHECK(x[1] == 1.0f && x[3] == 3.0f && x[5] == 5.0f && x[7] == 5.0f && x[9] == 5.0f && x[11] == 5.0f);
    CHECK(filled == 7);
    CHECK(mask[0] == 1 && mask[1] == 0 && mask[2] == 0 && mask[3] == 1 && mask[4] == 1 && mask[11] == 1 && mask[8] == 0);
    {
        /* irregular time: a gap filled in proportion to time, not rows */
        float y[4] = { 0, NAN, NAN, 10 };
        double t[4] = { 0, 1, 9, 10 };
        CHECK_OK(an_fill_missing(y, 4, 1, t, NULL, NULL));
        CHECK_NEAR(y[1], 1.0, 1e-6);
        CHECK_NEAR(y[2], 9.0, 1e-6);
        t[2] = 0.5;                               /* not increasing */
        y[1] = NAN;
        CHECK_RESULT(an_fill_missing(y, 4, 1, t, NULL, NULL), AN_ERR_INPUT);
    }
    {
        float all_missing[3] = { NAN, NAN, NAN }, inf[3] = { 1, NAN, HUGE_VALF };
        CHECK_RESULT(an_fill_missing(all_missing, 3, 1, NULL, NULL, NULL), AN_ERR_INPUT);
        CHECK_RESULT(an_fill_missing(inf, 3, 1, NULL, NULL, NULL), AN_ERR_INPUT);
        CHECK(inf[1] != inf[1]);                  /* untouched on error */
        CHECK_RESULT(an_fill_missing(inf, 0, 1, NULL, NULL, NULL), AN_ERR_INVALID_ARG);
    }
}

/* A line and a season that sums to 0: classical decomposition finds the
   season exactly (a 2 x p or p moving average of a line is the line, of
   the season 0), so the gap comes back exactly; a straight line across it
   does not. */
typedef struct seasonal_case { float x[40]; unsigned char mask[40]; size_t period; } seasonal_case;

static an_result fill_seasonal_job(const an_allocator *a, void *ctx)
{
    seasonal_case *c = (seasonal_case *)ctx;
    return an_fill_seasonal(c->x, 40, 1, &c->period, c->mask, a);
}

static void test_fill_seasonal(void)
{
    static const double season4[4] = { 3, -1, 0, -2 }, season5[5] = { 4, -2, 1, -1, -2 };
    size_t p, i;
    for (p = 4; p <= 5; p++) {
        const double *season = p == 4 ? season4 : season5;
        float truth[40], x[40], line[40];
        unsigned char mask[40];
        double err_line = 0.0;
        seasonal_case c;
        for (i = 0; i < 40; i++) {
            truth[i] = (float)(10.0 + 0.5 * (double)i + season[i % p]);
            x[i] = (i >= 17 && i < 24) ? NAN : truth[i];             /* a gap of 7 rows, over a whole period */
        }
        x[0] = x[1] = x[39] = NAN;                                   /* and at both ends */
        CHECK_OK(an_fill_missing(x, 40, 1, NULL, mask, NULL));
        memcpy(line, x, sizeof x);
        CHECK_OK(an_fill_seasonal(x, 40, 1, &p, mask, NULL));
        for (i = 17; i < 24; i++) {
            CHECK_NEAR(x[i], truth[i], 1e-4);
            if (fabs((double)line[i] - truth[i]) > err_line) err_line = fabs((double)line[i] - truth[i]);
        }
        CHECK(err_line > 1.0);                                       /* the straight line misses by the season */
        /* the ends: the season about the nearest observation's level */
        CHECK_NEAR(x[0], truth[2] - season[2] + season[0], 1e-4);
        CHECK_NEAR(x[1], truth[2] - season[2] + season[1], 1e-4);
        CHECK_NEAR(x[39], truth[38] - season[38 % p] + season[39 % p], 1e-4);
        for (i = 2; i < 17; i++) CHECK(x[i] == truth[i]);           /* observed cells untouched */
        memcpy(c.x, line, sizeof line);
        memcpy(c.mask, mask, sizeof mask);
        c.period = p;
        inject_failures("an_fill_seasonal", fill_seasonal_job, &c);
    }
    {
        float x[6] = { 1, 2, 3, 4, 5, 6 }, y[6];
        unsigned char mask[6] = { 0, 0, 1, 1, 0, 0 };
        size_t none = 0, long_period = 4;
        memcpy(y, x, sizeof x);
        CHECK_OK(an_fill_seasonal(y, 6, 1, &none, mask, NULL));       /* no period: the straight line stays */
        CHECK_OK(an_fill_seasonal(y, 6, 1, &long_period, mask, NULL));    /* under two periods: likewise */
        CHECK(memcmp(x, y, sizeof x) == 0);
        y[2] = NAN;
        CHECK_RESULT(an_fill_seasonal(y, 6, 1, &long_period, mask, NULL), AN_ERR_INPUT);
        CHECK_RESULT(an_fill_seasonal(y, 0, 1, &long_period, mask, NULL), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_fill_seasonal(x, 6, 1, NULL, mask, NULL), AN_ERR_INVALID_ARG);
    }
}

static void test_scalers(void)
{
    /* two features, hand-computed: f0 = 1 2 3 4 10, f1 = 5 5 5 5 5 (constant) */
    float x[10] = { 1, 5, 2, 5, 3, 5, 4, 5, 10, 5 }, y[10], back[10];
    an_scaler s;
    size_t i;
    CHECK_OK(an_scaler_init(&s, AN_SCALER_STANDARD, 2, NULL));
    CHECK_RESULT(an_scaler_transform(&s, x, 5, y), AN_ERR_NOT_FITTED);
    CHECK_OK(an_scaler_fit(&s, x, 5, NULL));
    CHECK_NEAR(s.center[0], 4.0, 1e-15);
    CHECK_NEAR(s.scale[0], sqrt(10.0), 1e-14);      /* population std: sum sq = 50, /5 */
    CHECK(s.center[1] == 5.0 && s.scale[1] == 1.0); /* constant: scale 1 */
    CHECK_OK(an_scaler_transform(&s, x, 5, y));
    CHECK_NEAR(y[0], -3.0 / sqrt(10.0), 1e-6);
    CHECK(y[1] == 0.0f);
    CHECK_OK(an_scaler_inverse(&s, y, 5, back));
    for (i = 0; i < 10; i++) CHECK_NEAR(back[i], x[i], 1e-5);
    an_scaler_uninit(&s);

    CHECK_OK(an_scaler_init(&s, AN_SCALER_MINMAX, 2, NULL));
    CHECK_OK(an_scaler_set_range(&s, -1.0, 1.0));
    CHECK_OK(an_scaler_fit(&s, x, 5, NULL));
    CHECK_OK(an_scaler_transform(&s, x, 5, y));
    CHECK(y[0] == -1.0f && y[8] == 1.0f);
    CHECK_NEAR(y[2], -1.0 + 2.0 / 9.0, 1e-6);
    CHECK(y[1] == -1.0f);                         /* constant maps to lo (scikit-learn) */
    CHECK_RESULT(an_scaler_set_range(&s, 1.0, 1.0), AN_ERR_INVALID_ARG);
    an_scaler_uninit(&s);

    CHECK_OK(an_scaler_init(&s, AN_SCALER_ROBUST, 2, NULL));
    CHECK_OK(an_scaler_fit(&s, x, 5, NULL));
    CHECK(s.center[0] == 3.0 && s.scale[0] == 2.0); /* median 3, q75 4 - q25 2 */
    CHECK_OK(an_scaler_transform(&s, x, 5, y));
    CHECK(y[8] == 3.5f);
    an_scaler_uninit(&s);

    {
        /* NaN is skipped by fit and passed through by transform; Inf is an error */
        float z[4] = { 1, NAN, 3, 5 }, out[4];
        CHECK_OK(an_scaler_init(&s, AN_SCALER_STANDARD, 1, NULL));
        CHECK_OK(an_scaler_fit(&s, z, 4, NULL));
        CHECK(s.center[0] == 3.0);
        CHECK_OK(an_scaler_transform(&s, z, 4, out));
        CHECK(out[1] != out[1]);
        z[1] = HUGE_VALF;
        CHECK_RESULT(an_scaler_fit(&s, z, 4, NULL), AN_ERR_INPUT);
        z[0] = z[1] = z[2] = z[3] = NAN;
        CHECK_RESULT(an_scaler_fit(&s, z, 4, NULL), AN_ERR_INPUT);
        CHECK(!s.fitted);
        an_scaler_uninit(&s);
    }
    CHECK_RESULT(an_scaler_init(&s, (an_scaler_kind)9, 2, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_scaler_init(&s, AN_SCALER_STANDARD, 0, NULL), AN_ERR_INVALID_ARG);
}

static void test_scaler_preallocated_and_saved(void)
{
    static double heap[64];
    size_t bytes;
    an_scaler s, t;
    float x[6] = { 1, 10, 2, 20, 4, 40 }, y1[6], y2[6];
    an_writer w;
    const void *data;
    size_t size;
    an_reader r;
    int i;
    void *aligned = (void *)(((uintptr_t)heap + 63) & ~(uintptr_t)63);
    CHECK_OK(an_scaler_heap_size(2, &bytes));
    CHECK(bytes <= sizeof heap - 64);
    CHECK_OK(an_scaler_init_preallocated(&s, AN_SCALER_ROBUST, 2, aligned));
    CHECK_OK(an_scaler_fit(&s, x, 3, NULL));
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_scaler_save(&s, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_scaler_load(&t, &r, NULL));
    CHECK(t.kind == AN_SCALER_ROBUST && t.n_features == 2 && t.fitted);
    CHECK_OK(an_scaler_transform(&s, x, 3, y1));
    CHECK_OK(an_scaler_transform(&t, x, 3, y2));
    for (i = 0; i < 6; i++) CHECK(y1[i] == y2[i]);      /* bit-identical */
    an_scaler_uninit(&t);
    an_scaler_uninit(&s);
    an_writer_uninit(&w);
}

static void test_windows(void)
{
    float x[7 * 2], out[8 * 3 * 2];
    unsigned char mask[8 * 3];
    size_t count, i;
    for (i = 0; i < 14; i++) x[i] = (float)i;
    CHECK_OK(an_window_count(7, 3, 2, 0, &count));
    CHECK(count == 3);                                    /* starts 0 2 4 */
    CHECK_OK(an_window_count(7, 3, 3, 0, &count));
    CHECK(count == 2);                                    /* starts 0 3; row 6 skipped */
    CHECK_OK(an_window_count(7, 3, 3, AN_WINDOW_COVER_END, &count));
    CHECK(count == 3 && an_window_start(7, 3, 3, AN_WINDOW_COVER_END, 2) == 4);
    CHECK_OK(an_windows(x, 7, 2, 3, 3, AN_WINDOW_COVER_END, out, mask, 8, &count));
    CHECK(count == 3);
    CHECK(out[0] == 0 && out[1] == 1 && out[5] == 5);      /* window 0 rows 0..2 */
    CHECK(out[6] == 6 && out[7] == 7);                     /* window 1 starts at row 3 */
    CHECK(out[12] == 8 && out[17] == 13);                  /* window 2 rows 4..6 */
    for (i = 0; i < 9; i++) CHECK(mask[i] == 1);
    CHECK_RESULT(an_windows(x, 7, 2, 3, 3, AN_WINDOW_COVER_END, out, mask, 2, &count), AN_ERR_SHAPE);
    /* short series */
    CHECK_RESULT(an_window_count(2, 3, 1, 0, &count), AN_ERR_TOO_SHORT);
    CHECK_OK(an_windows(x, 2, 2, 3, 1, AN_WINDOW_PAD, out, mask, 8, &count));
    CHECK(count == 1 && an_window_start(2, 3, 1, AN_WINDOW_PAD, 0) == -1);
    CHECK(out[0] == 0 && out[1] == 0 && mask[0] == 0);     /* padding */
    CHECK(out[2] == 0 && out[3] == 1 && out[4] == 2 && out[5] == 3 && mask[1] == 1 && mask[2] == 1);
    CHECK_RESULT(an_window_count(7, 0, 1, 0, &count), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_window_count(7, 3, 1, 64, &count), AN_ERR_INVALID_ARG);
    /* exact fit: every row covered once with stride = length */
    CHECK_OK(an_window_count(9, 3, 3, AN_WINDOW_COVER_END, &count));
    CHECK(count == 3);
}

static void test_time_features(void)
{
    /* 1970-01-01 00:00 UTC was a Thursday (weekday 3, Monday = 0);
       2024-01-01 06:00 UTC (1704088800) a Monday at a quarter of the day */
    double t[3] = { 0.0, 1704088800.0, 1704088800.0 };
    float out[12];
    const double pi = 3.14159265358979323846;
    CHECK_OK(an_time_features(t, 2, 0.0, out));
    CHECK_NEAR(out[0], 0.0, 1e-7); CHECK_NEAR(out[1], 1.0, 1e-7);
    CHECK_NEAR(out[2], sin(2 * pi * 3 / 7), 1e-6); CHECK_NEAR(out[3], cos(2 * pi * 3 / 7), 1e-6);
    CHECK_NEAR(out[4], 1.0, 1e-6); CHECK_NEAR(out[5], 0.0, 1e-6);
    CHECK_NEAR(out[6], 0.0, 1e-6); CHECK_NEAR(out[7], 1.0, 1e-6);
    /* UTC-7 turns Monday 06:00 into Sunday 23:00 */
    CHECK_OK(an_time_features(t + 2, 1, -7 * 3600.0, out));
    CHECK_NEAR(out[0], sin(2 * pi * 23 / 24), 1e-6);
    CHECK_NEAR(out[2], sin(2 * pi * 6 / 7), 1e-6);
    /* before 1970 */
    t[0] = -86400.0;   /* Wednesday */
    CHECK_OK(an_time_features(t, 1, 0.0, out));
    CHECK_NEAR(out[2], sin(2 * pi * 2 / 7), 1e-6);
    t[0] = NAN;
    CHECK_RESULT(an_time_features(t, 1, 0.0, out), AN_ERR_INPUT);
}

/* Day numbers worked out by hand: 2000-01-01 is 30 * 365 + 7 leap days
   after 1970-01-01, year 0 starts 1970 * 365 + 478 leap days before it
   (0, 4, ..., 1968 less 100, ..., 1900 plus 0, 400, ..., 1600), and so on;
   then every day of years -401..2401 is one more than the day before. */
static void test_days_from_civil(void)
{
    static const int month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    long y, expected, bad = 0;
    int m, d;
    CHECK(an_days_from_civil(1970, 1, 1) == 0);
    CHECK(an_days_from_civil(1969, 12, 31) == -1);
    CHECK(an_days_from_civil(1970, 3, 1) == 59);
    CHECK(an_days_from_civil(2000, 1, 1) == 10957);
    CHECK(an_days_from_civil(2000, 2, 29) == 11016);          /* 2000 is a leap year (divisible by 400) */
    CHECK(an_days_from_civil(2000, 3, 1) == 11017);
    CHECK(an_days_from_civil(1900, 3, 1) == -25508);          /* 1900 is not: 1900-02-28 + 1 */
    CHECK(an_days_from_civil(1900, 2, 28) == -25509);
    CHECK(an_days_from_civil(2024, 1, 1) == 19723);           /* 1704067200 / 86400 */
    CHECK(an_days_from_civil(2024, 2, 29) == 19782);
    CHECK(an_days_from_civil(2100, 3, 1) == 47541);           /* 2100 is not a leap year */
    CHECK(an_days_from_civil(0, 1, 1) == -719528);
    CHECK(an_days_from_civil(0, 3, 1) == -719468);            /* year 0 is a leap year */
    CHECK(an_days_from_civil(-1, 12, 31) == -719529);
    CHECK(an_days_from_civil(-1, 3, 1) == -719834);           /* year -1 is not */
    CHECK(an_days_from_civil(-4, 2, 29) == -720930);          /* year -4 is */
    expected = an_days_from_civil(-401, 1, 1);
    for (y = -401; y <= 2401; y++)
        for (m = 1; m <= 12; m++) {
            int leap = m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            for (d = 1; d <= month_days[m - 1] + leap; d++) bad += an_days_from_civil(y, m, d) != expected++;
        }
    CHECK(bad == 0);
}

/* --------------------------------------------------------------------------
   7  Thresholds
   -------------------------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_percentiles(void)
{
    float v[4] = { 4, 1, 3, 2 };
    double p;
    an_rng rng;
    int trial;
    /* numpy.percentile([1,2,3,4], q) with the default 'linear' method */
    CHECK_OK(an_percentile(v, 4, 50, NULL, &p)); CHECK(p == 2.5);
    CHECK_OK(an_percentile(v, 4, 25, NULL, &p)); CHECK(p == 1.75);
    CHECK_OK(an_percentile(v, 4, 0, NULL, &p));  CHECK(p == 1.0);
    CHECK_OK(an_percentile(v, 4, 100, NULL, &p)); CHECK(p == 4.0);
    CHECK_OK(an_percentile(v, 4, 90, NULL, &p)); CHECK_NEAR(p, 3.7, 1e-12);
    CHECK(v[0] == 4 && v[3] == 2);                     /* input kept */
    CHECK_RESULT(an_percentile(v, 4, 101, NULL, &p), AN_ERR_INVALID_ARG);
    v[2] = NAN;
    CHECK_RESULT(an_percentile(v, 4, 50, NULL, &p), AN_ERR_INPUT);
    /* random sizes with heavy ties against a sort-based reference */
    an_rng_seed(&rng, 21, 0);
    for (trial = 0; trial < 200; trial++) {
        size_t n = 1 + (size_t)an_rng_below(&rng, 500), i, lo;
        float *x = (float *)malloc(n * sizeof(float)), *sorted = (float *)malloc(n * sizeof(float));
        double q = an_rng_uniform(&rng) * 100, h, want;
        for (i = 0; i < n; i++) x[i] = (float)an_rng_below(&rng, 20);
        memcpy(sorted, x, n * sizeof(float));
        qsort(sorted, n, sizeof(float), cmp_float);
        h = (n - 1) * q / 100;
        lo = (size_t)floor(h);
        want = lo + 1 < n ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
        CHECK_OK(an_percentile_inplace(x, n, q, &p));
        CHECK_NEAR(p, want, 1e-9);
        free(x); free(sorted);
    }
}

static void test_sigma_and_ewma(void)
{
    float x[5] = { 2, 4, 4, 4, 6 };   /* mean 4, population std sqrt(8/5) */
    double mean = 0, sd = 0, thr = 0;
    an_ewma_threshold e;
    int i, flags = 0;
    CHECK_OK(an_mean_std(x, 5, &mean, &sd));
    CHECK(mean == 4.0);
    CHECK_NEAR(sd, sqrt(1.6), 1e-15);
    CHECK_OK(an_threshold_sigma(x, 5, 3.0, &thr));
    CHECK_NEAR(thr, 4.0 + 3.0 * sqrt(1.6), 1e-14);
    /* alternating 0/1 scores: EW mean -> 1/2, EW std -> 1/2; a spike of 5
       is over mean + 3 std and nothing in the regular pattern is */
    CHECK_OK(an_ewma_threshold_init(&e, 0.05, 3.0, 20));
    for (i = 0; i < 400; i++) flags += an_ewma_threshold_push(&e, i % 2, &thr);
    CHECK(flags == 0);
    CHECK_NEAR(e.mean, 0.5, 0.05);
    CHECK_NEAR(sqrt(e.var), 0.5, 0.05);
    CHECK(an_ewma_threshold_push(&e, 5.0, &thr) == 1);
    CHECK_NEAR(thr, 0.5 + 3.0 * 0.5, 0.3);
    CHECK(an_ewma_threshold_push(&e, NAN, &thr) == 0);
    /* warmup: nothing is flagged while learning */
    CHECK_OK(an_ewma_threshold_init(&e, 0.1, 1.0, 10));
    for (i = 0; i < 10; i++) CHECK(an_ewma_threshold_push(&e, i * 100.0, &thr) == 0 && thr == HUGE_VAL);
    /* the first weights are 1, 1/2, ...: after two scores the mean is exact */
    CHECK_OK(an_ewma_threshold_init(&e, 0.01, 1.0, 0));
    an_ewma_threshold_push(&e, 2.0, NULL);
    an_ewma_threshold_push(&e, 4.0, NULL);
    CHECK(e.mean == 3.0 && e.var == 1.0);
    CHECK_RESULT(an_ewma_threshold_init(&e, 0.0, 1.0, 0), AN_ERR_INVALID_ARG);
}

/* --------------------------------------------------------------------------
   8  Metrics
   -------------------------------------------------------------------------- */

static void test_metrics_against_sklearn(void)
{
    int c;
    for (c = 0; c < SK_N_CASES; c++) {
        const sk_case *k = &sk_cases[c];
        size_t n = (size_t)k->n, count, i;
        an_confusion cm;
        double v, *a = (double *)malloc((n + 2) * sizeof(double)), *b = (double *)malloc((n + 2) * sizeof(double));
        double *t = (double *)malloc((n + 2) * sizeof(double));
        int before = test__current_failed;
        test__current_failed = 0;
        CHECK_OK(an_confusion_matrix(k->label, k->pred, n, &cm));
        CHECK(cm.tp == (size_t)k->tp && cm.fp == (size_t)k->fp && cm.tn == (size_t)k->tn && cm.fn == (size_t)k->fn);
        CHECK_NEAR(an_accuracy(&cm), k->accuracy, 1e-15);
        CHECK_NEAR(an_precision(&cm), k->precision, 1e-15);
        CHECK_NEAR(an_recall(&cm), k->recall, 1e-15);
        CHECK_NEAR(an_f1(&cm), k->f1, 1e-15);
        CHECK_NEAR(an_fbeta(&cm, 0.5), k->f_half, 1e-15);
        CHECK_NEAR(an_fbeta(&cm, 2.0), k->f_two, 1e-15);
        CHECK_NEAR(an_specificity(&cm), k->specificity, 1e-15);
        if (k->roc_auc == k->roc_auc) {
            CHECK_OK(an_roc_auc(k->score, k->label, n, NULL, &v));
            CHECK_NEAR(v, k->roc_auc, 1e-14);
            CHECK_OK(an_roc_curve(k->score, k->label, n, NULL, a, b, t, n + 1, &count));
            CHECK(count == (size_t)k->n_roc);
            for (i = 0; i < count && i < (size_t)k->n_roc; i++) {
                CHECK_NEAR(a[i], k->fpr[i], 1e-15);
                CHECK_NEAR(b[i], k->tpr[i], 1e-15);
                if (i > 0) CHECK(t[i] == k->roc_threshold[i]);
            }
            CHECK(t[0] == HUGE_VAL);
        } else {
            CHECK_RESULT(an_roc_auc(k->score, k->label, n, NULL, &v), AN_ERR_INPUT);
            CHECK_RESULT(an_roc_curve(k->score, k->label, n, NULL, a, b, t, n + 1, &count), AN_ERR_INPUT);
        }
        if (k->average_precision == k->average_precision) {
            CHECK_OK(an_average_precision(k->score, k->label, n, NULL, &v));
            CHECK_NEAR(v, k->average_precision, 1e-14);
            CHECK_OK(an_pr_curve(k->score, k->label, n, NULL, a, b, t, n + 1, &count));
            CHECK(count == (size_t)k->n_pr);
            for (i = 0; i < count && i < (size_t)k->n_pr; i++) {
                CHECK_NEAR(a[i], k->pr_precision[i], 1e-15);
                CHECK_NEAR(b[i], k->pr_recall[i], 1e-15);
                if (i + 1 < count) CHECK(t[i] == k->pr_threshold[i]);
            }
        } else {
            CHECK_RESULT(an_average_precision(k->score, k->label, n, NULL, &v), AN_ERR_INPUT);
        }
        if (test__current_failed) fprintf(stderr, "  ... in scikit-learn case '%s'\n", k->name);
        test__current_failed |= before;
        free(a); free(b); free(t);
    }
}

static void test_metric_errors(void)
{
    float s[3] = { 0.1f, NAN, 0.3f };
    unsigned char l[3] = { 0, 1, 1 }, bad[3] = { 0, 2, 1 };
    double v, curve[2];
    size_t count;
    an_confusion cm;
    CHECK_RESULT(an_roc_auc(s, l, 3, NULL, &v), AN_ERR_INPUT);      /* NaN score */
    s[1] = 0.2f;
    CHECK_RESULT(an_roc_auc(s, bad, 3, NULL, &v), AN_ERR_INPUT);    /* label 2 */
    CHECK_RESULT(an_confusion_matrix(l, bad, 3, &cm), AN_ERR_INPUT);
    CHECK_RESULT(an_roc_curve(s, l, 3, NULL, curve, curve, curve, 2, &count), AN_ERR_SHAPE);
    CHECK_RESULT(an_roc_auc(s, l, 0, NULL, &v), AN_ERR_INVALID_ARG);
    memset(&cm, 0, sizeof cm);
    CHECK(an_precision(&cm) == 0.0 && an_f1(&cm) == 0.0 && an_accuracy(&cm) == 0.0);
}

static void test_events_and_point_adjust(void)
{
    /* truth:   0 1 1 1 0 0 1 1 0 0 0 1
       pred:    0 0 1 0 0 1 0 0 0 1 0 1
       true events [1,3] [6,7] [11]; predicted events [2] [5] [9] [11] */
    unsigned char truth[12] = { 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1 };
    unsigned char pred[12] = { 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1 };
    an_range ranges[4];
    size_t count;
    an_event_metrics m;
    an_confusion c;
    CHECK_OK(an_ranges_from_labels(truth, 12, ranges, 4, &count));
    CHECK(count == 3 && ranges[0].start == 1 && ranges[0].end == 3 && ranges[1].start == 6 &&
          ranges[1].end == 7 && ranges[2].start == 11 && ranges[2].end == 11);
    CHECK_RESULT(an_ranges_from_labels(truth, 12, ranges, 2, &count), AN_ERR_SHAPE);
    CHECK(count == 3);
    CHECK_OK(an_event_scores(truth, pred, 12, &m));
    CHECK(m.true_events == 3 && m.detected == 2 && m.predicted_events == 4 && m.correct == 2);
    CHECK_NEAR(m.recall, 2.0 / 3.0, 1e-15);
    CHECK_NEAR(m.precision, 0.5, 1e-15);
    CHECK_NEAR(m.f1, 2 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0), 1e-15);
    /* point-adjusted: [1,3] fully detected (3 tp), [6,7] missed (2 fn),
       [11] detected (1 tp); fp at 5 and 9; tn the other 4 */
    CHECK_OK(an_point_adjusted(truth, pred, 12, &c));
    CHECK(c.tp == 4 && c.fn == 2 && c.fp == 2 && c.tn == 4);
    CHECK_NEAR(an_f1(&c), 8.0 / 12.0, 1e-15);
    pred[10] = 1;                        /* [9,10,11] is now one event touching [11] */
    CHECK_OK(an_event_scores(truth, pred, 12, &m));
    CHECK(m.predicted_events == 3 && m.correct == 2);
}

/* NAB: hand-worked cases.  NAB's scaled sigmoid is S(x) = 2 / (1 +
   exp(5x)) - 1 = -tanh(2.5 x); here written as tanh, independently. */
static double nab_S(double x) { return x > 3 ? -1.0 : -tanh(2.5 * x); }

static double nab_one(const float *score, size_t n, size_t start, size_t end, an_nab_profile p, an_nab_counts *c)
{
    an_range w;
    an_nab_series s;
    w.start = start;
    w.end = end;
    s.score = score;
    s.n = n;
    s.windows = &w;
    s.n_windows = 1;
    CHECK_OK(an_nab_score_series(&s, 0.5, p, c));
    return c->score;
}

static void test_nab_hand_cases(void)
{
    float score[100];
    an_nab_profile std_p = an_nab_profile_get(AN_NAB_STANDARD);
    an_nab_counts c;
    /* 100 rows: probation floor(15) = 15 rows; window [50, 59], width 10 */
    CHECK(an_nab_probation(100) == 15 && an_nab_probation(10000) == 750 && an_nab_probation(4032) == 604);
    memset(score, 0, sizeof score);
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), -1.0, 1e-15);          /* missed: -fn */
    CHECK(c.tp == 0 && c.fn == 10 && c.fp == 0 && c.tn == 75);
    score[50] = 1.0f;                                                          /* first row: full tp */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), 1.0, 1e-15);
    CHECK(c.tp == 1 && c.fn == 9);
    score[50] = 0.0f; score[59] = 1.0f;                                        /* last row: late */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), nab_S(-0.1) / nab_S(-1.0), 1e-12);
    score[52] = 0.7f;                                                          /* earliest counts */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), nab_S(-0.8) / nab_S(-1.0), 1e-12);
    CHECK(c.tp == 2);
    memset(score, 0, sizeof score);
    score[62] = 1.0f;                                                          /* fp 3 rows after */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), -1.0 + 0.11 * nab_S(3.0 / 9.0), 1e-12);
    CHECK(c.fp == 1 && c.tn == 74);
    score[62] = 0.0f; score[95] = 1.0f;                                        /* fp far after: -fp */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), -1.0 - 0.11, 1e-12);
    score[95] = 0.0f; score[20] = 1.0f;                                        /* fp before any window */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), -1.11, 1e-12);
    score[20] = 0.0f; score[10] = 1.0f;                                        /* probationary: ignored */
    CHECK_NEAR(nab_one(score, 100, 50, 59, std_p, &c), -1.0, 1e-15);
    CHECK(c.fp == 0 && c.tp + c.tn + c.fp + c.fn == 85);
    /* profiles: low FN doubles the miss, low FP doubles the false alarm */
    score[10] = 0.0f; score[20] = 1.0f;
    CHECK_NEAR(nab_one(score, 100, 50, 59, an_nab_profile_get(AN_NAB_REWARD_LOW_FN), &c), -2.11, 1e-12);
    CHECK_NEAR(nab_one(score, 100, 50, 59, an_nab_profile_get(AN_NAB_REWARD_LOW_FP), &c), -1.22, 1e-12);
    /* bad windows and scores */
    {
        an_range w[2];
        an_nab_series s;
        s.score = score; s.n = 100; s.windows = w; s.n_windows = 2;
        w[0].start = 30; w[0].end = 40; w[1].start = 40; w[1].end = 50;            /* overlap */
        CHECK_RESULT(an_nab_score_series(&s, 0.5, std_p, &c), AN_ERR_INPUT);
        w[1].start = 45; w[1].end = 45;                                             /* width 1 */
        CHECK_RESULT(an_nab_score_series(&s, 0.5, std_p, &c), AN_ERR_INPUT);
        w[1].start = 45; w[1].end = 100;                                            /* past the end */
        CHECK_RESULT(an_nab_score_series(&s, 0.5, std_p, &c), AN_ERR_INPUT);
        w[1].end = 60;
        score[3] = 1.5f;                                                            /* outside [0,1] */
        CHECK_RESULT(an_nab_score_series(&s, 0.5, std_p, &c), AN_ERR_INPUT);
    }
}

static void nab_series_from_fixture(an_nab_series *s, an_range *w, int f)
{
    const nab_ref_file *file = &nab_ref_files[f];
    size_t k;
    for (k = 0; k < file->n_windows; k++) {
        w[k].start = file->window[2 * k];
        w[k].end = file->window[2 * k + 1];
    }
    s->score = file->score;
    s->n = file->n;
    s->windows = w;
    s->n_windows = file->n_windows;
}

static void test_nab_against_reference(void)
{
    an_range windows[NAB_REF_N_FILES][8];
    an_nab_series series[NAB_REF_N_FILES];
    int f, i;
    for (f = 0; f < NAB_REF_N_FILES; f++) {
        nab_series_from_fixture(&series[f], windows[f], f);
        CHECK(an_nab_probation(series[f].n) == nab_ref_files[f].probation);
    }
    for (i = 0; i < NAB_REF_N_POINTS; i++) {
        const nab_ref_point *pt = &nab_ref_points[i];
        an_nab_profile p;
        an_nab_counts c;
        p.tp = nab_ref_profile_weights[pt->profile][0];
        p.fp = nab_ref_profile_weights[pt->profile][1];
        p.fn = nab_ref_profile_weights[pt->profile][2];
        CHECK_OK(an_nab_score_series(&series[pt->file], pt->threshold, p, &c));
        CHECK_NEAR(c.score, pt->score, 1e-9);
        CHECK(c.tp == (size_t)pt->tp && c.tn == (size_t)pt->tn && c.fp == (size_t)pt->fp && c.fn == (size_t)pt->fn);
    }
    for (i = 0; i < NAB_REF_N_CORPUS; i++) {
        const nab_ref_corpus *ref = &nab_ref_corpus_results[i];
        an_nab_profile p;
        an_nab_result res;
        p.tp = nab_ref_profile_weights[ref->profile][0];
        p.fp = nab_ref_profile_weights[ref->profile][1];
        p.fn = nab_ref_profile_weights[ref->profile][2];
        CHECK_OK(an_nab_evaluate(series, NAB_REF_N_FILES, p, NULL, &res));
        CHECK(res.threshold == ref->best_threshold);
        CHECK_NEAR(res.raw, ref->best_raw, 1e-9);
        CHECK_NEAR(res.null_raw, ref->null_raw, 1e-9);
        CHECK_NEAR(res.perfect, ref->perfect, 1e-12);
        CHECK_NEAR(res.normalized, ref->normalized, 1e-7);
        /* the corpus score is the sum of the series' scores at that threshold */
        {
            double sum = 0;
            an_nab_counts c;
            for (f = 0; f < NAB_REF_N_FILES; f++) {
                CHECK_OK(an_nab_score_series(&series[f], res.threshold, p, &c));
                sum += c.score;
            }
            CHECK_NEAR(sum, res.raw, 1e-9);
        }
    }
}

/* --------------------------------------------------------------------------
   9  Model files
   -------------------------------------------------------------------------- */

#define TAG_TEST AN_TAG('T', 'E', 'S', 'T')
#define TAG_OUTER AN_TAG('O', 'U', 'T', 'R')
#define TAG_INNER AN_TAG('I', 'N', 'N', 'R')
#define TAG_UNKNOWN AN_TAG('Z', 'Z', 'Z', 'Z')

/* A file with fields of every kind, a nested chunk, an unknown chunk and a
   scaler. */
static an_result build_file(const an_allocator *a, an_writer *w, const void **data, size_t *size)
{
    static const float f32s[3] = { 1.5f, -0.0f, 1e-40f };
    static const double f64s[2] = { 3.141592653589793, -1e300 };
    float x[4] = { 1, 2, 3, 5 };
    an_scaler s;
    an_result r;
    if ((r = an_writer_init(w, a)) != AN_OK) return r;
    an_write_begin(w, TAG_UNKNOWN);
    an_write_bytes(w, "future", 6);
    an_write_end(w);
    an_write_begin(w, TAG_TEST);
    an_write_u32(w, 0xDEADBEEFu);
    an_write_u64(w, 0x0123456789ABCDEFULL);
    an_write_f32(w, NAN);
    an_write_f64(w, -2.5);
    an_write_f32s(w, f32s, 3);
    an_write_f64s(w, f64s, 2);
    an_write_end(w);
    an_write_begin(w, TAG_OUTER);
    an_write_u32(w, 7);
    an_write_begin(w, TAG_INNER);
    an_write_u32(w, 8);
    an_write_end(w);
    an_write_end(w);
    if ((r = an_scaler_init(&s, AN_SCALER_STANDARD, 1, a)) != AN_OK) { an_writer_uninit(w); return r; }
    an_scaler_fit(&s, x, 4, NULL);
    an_scaler_save(&s, w);
    an_scaler_uninit(&s);
    r = an_writer_finish(w, data, size);
    if (r != AN_OK) an_writer_uninit(w);
    return r;
}

static void test_model_round_trip(void)
{
    an_writer w;
    const void *data;
    size_t size;
    an_reader r, p, q;
    uint32_t u32, tag;
    uint64_t u64;
    float f, f32s[3];
    double d, f64s[2];
    an_scaler s;
    CHECK_OK(build_file(NULL, &w, &data, &size));
    CHECK(memcmp(data, "\x89" "ANOM\r\n\x1a", 8) == 0);
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_reader_find(&r, TAG_TEST, &p));
    CHECK_OK(an_read_u32(&p, &u32)); CHECK(u32 == 0xDEADBEEFu);
    CHECK_OK(an_read_u64(&p, &u64)); CHECK(u64 == 0x0123456789ABCDEFULL);
    CHECK_OK(an_read_f32(&p, &f));   CHECK(f != f);
    CHECK_OK(an_read_f64(&p, &d));   CHECK(d == -2.5);
    CHECK_OK(an_read_f32s(&p, f32s, 3));
    /* (float): where FLT_EVAL_METHOD is 1 (s390x in C99 mode) the constant
       1e-40f is evaluated in double, which the float read back is not */
    CHECK(f32s[0] == 1.5f && f32s[1] == 0.0f && signbit(f32s[1]) && f32s[2] == (float)1e-40f);
    CHECK_OK(an_read_f64s(&p, f64s, 2));
    CHECK(f64s[0] == 3.141592653589793 && f64s[1] == -1e300);
    CHECK(an_reader_at_end(&p));
    CHECK_RESULT(an_read_u32(&p, &u32), AN_ERR_CORRUPT);               /* past the end */
    CHECK_OK(an_reader_find(&r, TAG_OUTER, &p));
    CHECK_OK(an_read_u32(&p, &u32)); CHECK(u32 == 7);
    CHECK_OK(an_read_chunk(&p, &tag, &q)); CHECK(tag == TAG_INNER);
    CHECK_OK(an_read_u32(&q, &u32)); CHECK(u32 == 8);
    CHECK_RESULT(an_reader_find(&r, AN_TAG('N', 'O', 'N', 'E'), &p), AN_ERR_CORRUPT);
    /* sequential reading: the unknown chunk is skipped, the scaler found */
    CHECK_OK(an_read_chunk(&r, &tag, &p)); CHECK(tag == TAG_UNKNOWN);
    CHECK_RESULT(an_scaler_load(&s, &r, NULL), AN_ERR_CORRUPT);        /* TEST is not SCAL */
    CHECK_OK(an_reader_find(&r, AN_TAG_SCALER, &p));
    CHECK_OK(an_reader_find(&r, AN_TAG_SCALER, &p));
    {
        an_reader at = r;
        while (an_read_expect(&at, AN_TAG_SCALER, &p) != AN_OK) CHECK_OK(an_read_chunk(&at, &tag, &p));
        at.pos -= 12 + p.size;                    /* back to the scaler chunk */
        CHECK_OK(an_scaler_load(&s, &at, NULL));
        CHECK(s.center[0] == 2.75);
        an_scaler_uninit(&s);
    }
    an_writer_uninit(&w);
}

static void test_model_corruption(void)
{
    an_writer w;
    const void *data;
    size_t size, i;
    unsigned char *copy;
    an_reader r;
    int bit, rejected = 0, total = 0;
    CHECK_OK(build_file(NULL, &w, &data, &size));
    copy = (unsigned char *)malloc(size + 1);
    /* truncation at every byte */
    for (i = 0; i < size; i++) {
        an_result res;
        memcpy(copy, data, i);
        if ((res = an_model_open(&r, i ? copy : NULL, i)) == AN_OK) TEST__FAIL("truncated to %zu bytes accepted", i);
        else if (res != AN_ERR_TRUNCATED) TEST__FAIL("truncated to %zu bytes: %s", i, an_result_str(res));
    }
    /* every single-bit flip */
    for (i = 0; i < size; i++)
        for (bit = 0; bit < 8; bit++) {
            an_result res;
            memcpy(copy, data, size);
            copy[i] ^= (unsigned char)(1u << bit);
            res = an_model_open(&r, copy, size);
            total++;
            /* the magic: not a model file; the rest of the header: its CRC;
               a chunk: its CRC, or a length now past the end */
            if (i < 8 ? res == AN_ERR_NOT_MODEL
                      : res == AN_ERR_CHECKSUM || (i >= AN_MODEL_HEADER_BYTES && res == AN_ERR_CORRUPT)) rejected++;
            else TEST__FAIL("bit %d of byte %zu flipped: %s", bit, i, an_result_str(res));
        }
    CHECK(rejected == total && total == (int)size * 8);
    /* trailing garbage */
    memcpy(copy, data, size);
    copy[size] = 0;
    CHECK_RESULT(an_model_open(&r, copy, size + 1), AN_ERR_CORRUPT);
    /* a damaged chunk: a reader of your own checks its CRC, an opened
       file's reader (checked once, at open) trusts it */
    {
        an_reader bare, p;
        uint32_t tag;
        memcpy(copy, data, size);
        copy[AN_MODEL_HEADER_BYTES + 8] ^= 1;              /* the first chunk's first payload byte */
        bare.data = copy + AN_MODEL_HEADER_BYTES;
        bare.size = size - AN_MODEL_HEADER_BYTES;
        bare.pos = 0;
        bare.verified = 0;
        CHECK_RESULT(an_read_chunk(&bare, &tag, &p), AN_ERR_CHECKSUM);
        bare.verified = 1;
        CHECK_OK(an_read_chunk(&bare, &tag, &p));
        CHECK(p.verified == 1);
        CHECK_RESULT(an_model_open(&r, copy, size), AN_ERR_CHECKSUM);
        CHECK_RESULT(an_model_open(&r, "GIF89a", 6), AN_ERR_NOT_MODEL);
        CHECK_RESULT(an_model_open(&r, data, 5), AN_ERR_TRUNCATED);
        CHECK_OK(an_model_open(&r, data, size));
        CHECK(r.verified == 1);
    }
    /* a newer format version, correctly checksummed, is a version error */
    memcpy(copy, data, size);
    copy[8] = AN_MODEL_VERSION + 1;
    {
        uint32_t crc = an_crc32(0, copy, 24);
        copy[24] = (unsigned char)crc; copy[25] = (unsigned char)(crc >> 8);
        copy[26] = (unsigned char)(crc >> 16); copy[27] = (unsigned char)(crc >> 24);
    }
    CHECK_RESULT(an_model_open(&r, copy, size), AN_ERR_VERSION);
    free(copy);
    an_writer_uninit(&w);
    CHECK(an_crc32(0, "123456789", 9) == 0xCBF43926u);     /* the standard check value */
}

/* Hostile sizes with valid checksums: a chunk whose length exceeds the file,
   and a scaler claiming 2^60 features.  Neither may read out of bounds or
   allocate. */
static void test_model_hostile_lengths(void)
{
    unsigned char buf[256];
    an_writer w;
    const void *data;
    size_t size;
    an_reader r, p;
    uint32_t tag;
    an_scaler s;
    counting c = { 0, 0, 0, 0 };
    an_allocator a = counting_allocator(&c);
    /* a scaler chunk with an absurd feature count */
    CHECK_OK(an_writer_init_fixed(&w, buf, sizeof buf));
    an_write_begin(&w, AN_TAG_SCALER);
    an_write_u32(&w, AN_SCALER_STANDARD);
    an_write_u64(&w, (uint64_t)1 << 60);
    an_write_f64(&w, 0.0);
    an_write_f64(&w, 1.0);
    an_write_end(&w);
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_RESULT(an_scaler_load(&s, &r, &a), AN_ERR_CORRUPT);
    CHECK(c.calls == 0);
    /* a nested chunk whose length runs past its parent, parent CRC valid */
    CHECK_OK(an_writer_init_fixed(&w, buf, sizeof buf));
    an_write_begin(&w, TAG_OUTER);
    an_write_u32(&w, TAG_INNER);
    an_write_u32(&w, 0xFFFFFFF0u);       /* inner "length" */
    an_write_u32(&w, 0);
    an_write_end(&w);
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_read_chunk(&r, &tag, &p));
    {
        an_reader inner;
        CHECK_RESULT(an_read_chunk(&p, &tag, &inner), AN_ERR_CORRUPT);
    }
    /* a count read with limits */
    {
        size_t v;
        CHECK_OK(an_writer_init_fixed(&w, buf, sizeof buf));
        an_write_begin(&w, TAG_TEST);
        an_write_u64(&w, 1000);
        an_write_end(&w);
        CHECK_OK(an_writer_finish(&w, &data, &size));
        CHECK_OK(an_model_open(&r, data, size));
        CHECK_OK(an_read_chunk(&r, &tag, &p));
        CHECK_RESULT(an_read_count(&p, 1, 999, &v), AN_ERR_CORRUPT);
        CHECK_RESULT(an_reader_need(&p, SIZE_MAX / 2, 8), AN_ERR_CORRUPT);
    }
}

static void test_writer_errors(void)
{
    unsigned char small[40];
    an_writer w;
    const void *data;
    size_t size;
    int i;
    CHECK_OK(an_writer_init_fixed(&w, small, sizeof small));
    an_write_begin(&w, TAG_TEST);
    CHECK_RESULT(an_write_f64s(&w, (const double *)small, 4), AN_ERR_SHAPE);   /* buffer full */
    CHECK_RESULT(an_write_u32(&w, 1), AN_ERR_SHAPE);                          /* sticky */
    CHECK_RESULT(an_writer_finish(&w, &data, &size), AN_ERR_SHAPE);
    CHECK_RESULT(an_writer_init_fixed(&w, small, 10), AN_ERR_SHAPE);
    CHECK_OK(an_writer_init(&w, NULL));
    an_write_begin(&w, TAG_TEST);
    CHECK_RESULT(an_writer_finish(&w, &data, &size), AN_ERR_INVALID_ARG);     /* chunk left open */
    an_writer_uninit(&w);
    CHECK_OK(an_writer_init(&w, NULL));
    for (i = 0; i < AN_WRITER_MAX_DEPTH; i++) CHECK_OK(an_write_begin(&w, TAG_TEST));
    CHECK_RESULT(an_write_begin(&w, TAG_TEST), AN_ERR_TOO_LARGE);
    an_writer_uninit(&w);
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_RESULT(an_write_end(&w), AN_ERR_INVALID_ARG);                       /* nothing open */
    an_writer_uninit(&w);
}

static void test_file_helpers(void)
{
    an_writer w;
    const void *data;
    size_t size, got_size;
    void *got;
    an_reader r;
    char path[1024], missing[1024];
    test_scratch(path, sizeof path, "test_core_model.anm");
    test_scratch(missing, sizeof missing, "does/not/exist.anm");
    CHECK_OK(build_file(NULL, &w, &data, &size));
    CHECK_OK(an_file_write(path, data, size));
    CHECK_OK(an_file_read(path, NULL, &got, &got_size));
    CHECK(got_size == size && memcmp(got, data, size) == 0);
    CHECK_OK(an_model_open(&r, got, got_size));
    an_free(NULL, got, got_size);
    an_writer_uninit(&w);
    remove(path);
    CHECK_RESULT(an_file_read(missing, NULL, &got, &got_size), AN_ERR_IO);
    CHECK_RESULT(an_file_write(missing, data, 4), AN_ERR_IO);
}

/* --------------------------------------------------------------------------
   10  Detectors
   -------------------------------------------------------------------------- */

static const an_detector_vtable *const toy_types[1] = { &zdet_vtable };

/* d saved and loaded again through the toy types (NULL on failure). */
static an_detector *toy_reload(const an_detector *d)
{
    an_writer w;
    an_reader r;
    const void *data;
    size_t size;
    an_detector *out = NULL;
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_load(&r, toy_types, 1, NULL, &out));
    an_writer_uninit(&w);
    return out;
}

static void test_detector_contract(void)
{
    float x[6 * 2] = { 1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60 }, scores[6], s2[6], one;
    an_detector *d, *e;
    an_allocator a = an__default_allocator;
    an_writer w;
    const void *data;
    size_t size, i;
    an_reader r;
    CHECK_OK(zdet_create(2, &a, &d));
    CHECK_RESULT(an_detector_score(d, x, 6, scores), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_detector_push(d, x, &one), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_detector_save(d, &w), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(d, x, 6));
    CHECK(d->fitted);
    CHECK_OK(an_detector_score(d, x, 6, scores));
    CHECK_NEAR(scores[0], 2.5 / sqrt(35.0 / 12.0), 1e-6);   /* |1 - 3.5| / population std */
    CHECK_OK(an_detector_push(d, x + 10, &one));
    CHECK(one == scores[5]);
    CHECK_RESULT(an_detector_reset(d), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_detector_gradient(d, x, 6, 0, s2), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_detector_fit(d, x, 0), AN_ERR_INVALID_ARG);
    /* save, load through the type table, score bit-identically */
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_load(&r, toy_types, 1, NULL, &e));
    CHECK(e->vt == &zdet_vtable && e->fitted && e->n_features == 2);
    CHECK_OK(an_detector_score(e, x, 6, s2));
    for (i = 0; i < 6; i++) CHECK(s2[i] == scores[i]);
    an_detector_destroy(e);
    /* a program that did not link the type gets a clear error */
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_RESULT(an_detector_load(&r, toy_types, 0, NULL, &e), AN_ERR_UNSUPPORTED);
    CHECK(e == NULL);
    an_writer_uninit(&w);
    an_detector_destroy(d);
}

/* --------------------------------------------------------------------------
   Allocation-failure injection: every init and load of the core
   -------------------------------------------------------------------------- */

static an_result job_tensor(const an_allocator *a, void *ctx)
{
    size_t shape[3] = { 4, 5, 6 };
    an_tensor t;
    an_result r = an_tensor_init(&t, 3, shape, a);
    (void)ctx;
    if (r == AN_OK) an_tensor_uninit(&t);
    return r;
}

static an_result job_scaler(const an_allocator *a, void *ctx)
{
    float x[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };
    an_scaler s;
    an_result r = an_scaler_init(&s, AN_SCALER_ROBUST, 2, a);
    (void)ctx;
    if (r != AN_OK) return r;
    r = an_scaler_fit(&s, x, 4, a);      /* the robust fit's scratch too */
    an_scaler_uninit(&s);
    return r;
}

static an_result job_writer(const an_allocator *a, void *ctx)
{
    an_writer w;
    const void *data;
    size_t size, i;
    an_result r;
    (void)ctx;
    if ((r = an_writer_init(&w, a)) != AN_OK) return r;
    an_write_begin(&w, TAG_TEST);
    for (i = 0; i < 300; i++) an_write_f64(&w, (double)i);   /* forces growth */
    an_write_end(&w);
    r = an_writer_finish(&w, &data, &size);
    an_writer_uninit(&w);
    return r;
}

static an_result job_scaler_load(const an_allocator *a, void *ctx)
{
    const an_reader *file = (const an_reader *)ctx;
    an_reader r, p;
    an_scaler s;
    an_result res;
    r = *file;
    if ((res = an_reader_find(&r, AN_TAG_SCALER, &p)) != AN_OK) return res;
    while (!an_reader_at_end(&r)) {
        uint32_t tag;
        an_reader at = r;
        an_read_chunk(&r, &tag, &p);
        if (tag == AN_TAG_SCALER) {
            if ((res = an_scaler_load(&s, &at, a)) == AN_OK) an_scaler_uninit(&s);
            return res;
        }
    }
    return AN_ERR_CORRUPT;
}

static an_result job_detector_load(const an_allocator *a, void *ctx)
{
    an_reader r = *(const an_reader *)ctx;
    an_detector *d;
    an_result res = an_detector_load(&r, toy_types, 1, a, &d);
    if (res == AN_OK) an_detector_destroy(d);
    else if (d != NULL) res = AN_ERR_CORRUPT;    /* must be NULL on failure */
    return res;
}

static an_result job_metrics(const an_allocator *a, void *ctx)
{
    const sk_case *k = &sk_cases[2];
    double v, *x = (double *)ctx;
    size_t count;
    an_result r;
    if ((r = an_roc_auc(k->score, k->label, (size_t)k->n, a, &v)) != AN_OK) return r;
    if ((r = an_average_precision(k->score, k->label, (size_t)k->n, a, &v)) != AN_OK) return r;
    if ((r = an_roc_curve(k->score, k->label, (size_t)k->n, a, x, x + 600, x + 1200, 600, &count)) != AN_OK) return r;
    if ((r = an_pr_curve(k->score, k->label, (size_t)k->n, a, x, x + 600, x + 1200, 600, &count)) != AN_OK) return r;
    return an_percentile(k->score, (size_t)k->n, 95, a, &v);
}

static an_result job_nab(const an_allocator *a, void *ctx)
{
    const an_nab_series *s = (const an_nab_series *)ctx;
    an_nab_result res;
    return an_nab_evaluate(s, NAB_REF_N_FILES, an_nab_profile_get(AN_NAB_STANDARD), a, &res);
}

static an_result job_file(const an_allocator *a, void *ctx)
{
    void *data;
    size_t size;
    an_result r = an_file_read((const char *)ctx, a, &data, &size);
    if (r == AN_OK) an_free(a, data, size);
    return r;
}

static void test_allocation_failures(void)
{
    an_writer w;
    const void *data;
    size_t size;
    an_reader file;
    static double curves[1800];
    an_range windows[NAB_REF_N_FILES][8];
    an_nab_series series[NAB_REF_N_FILES];
    int f;
    inject_failures("an_tensor_init", job_tensor, NULL);
    inject_failures("an_scaler_init + robust fit", job_scaler, NULL);
    inject_failures("an_writer growth", job_writer, NULL);
    CHECK_OK(build_file(NULL, &w, &data, &size));
    CHECK_OK(an_model_open(&file, data, size));
    inject_failures("an_scaler_load", job_scaler_load, &file);
    an_writer_uninit(&w);
    {
        float x[4] = { 1, 2, 3, 4 };
        char path[1024];
        an_detector *d;
        an_allocator a = an__default_allocator;
        CHECK_OK(zdet_create(1, &a, &d));
        an_detector_fit(d, x, 4);
        CHECK_OK(an_writer_init(&w, NULL));
        CHECK_OK(an_detector_save(d, &w));
        CHECK_OK(an_writer_finish(&w, &data, &size));
        CHECK_OK(an_model_open(&file, data, size));
        inject_failures("an_detector_load", job_detector_load, &file);
        CHECK_OK(an_file_write(test_scratch(path, sizeof path, "test_core_alloc.anm"), data, size));
        inject_failures("an_file_read", job_file, (void *)path);
        remove(path);
        an_writer_uninit(&w);
        an_detector_destroy(d);
    }
    inject_failures("metrics", job_metrics, curves);
    for (f = 0; f < NAB_REF_N_FILES; f++) nab_series_from_fixture(&series[f], windows[f], f);
    inject_failures("an_nab_evaluate", job_nab, series);
}

/* --------------------------------------------------------------------------
   11  Pipeline: alarms and events, onsets, calibration
   -------------------------------------------------------------------------- */

/* Streams score/threshold through an_alarm; returns the number of events. */
static size_t stream_alarms(const an_alarm_config *c, const double *score, const double *thr, size_t n,
                            unsigned char *alarm, an_event *events, size_t capacity)
{
    an_alarm s;
    size_t i, m = 0;
    an_event e;
    CHECK_OK(an_alarm_init(&s, c, NULL));
    for (i = 0; i < n; i++) {
        int raised, closed;
        CHECK_OK(an_alarm_push(&s, score[i], thr[i], &raised, &e, &closed));
        alarm[i] = (unsigned char)raised;
        if (closed && m < capacity) events[m++] = e;
    }
    if (an_alarm_flush(&s, &e) && m < capacity) events[m++] = e;
    CHECK(!an_alarm_flush(&s, &e));
    an_alarm_uninit(&s);
    return m;
}

/* Twelve points, threshold 0.5, flags 0 1 1 0 1 0 0 0 1 1 1 0.
   k = 2 of window 3: flagged counts per point 0 1 2 2 2 1 1 0 1 2 3 2.
   suppress 2: alarm at 2; 4 qualifies but is within 2 of it; alarm at 9;
   10 qualifies but is suppressed.  max_gap 1: flagged 1 2 4 | 8 9 10
   (4 -> 8 leaves 3 unflagged), events [1, 4] (peak 2, 0.9 - 0.5) and
   [8, 10] (peak 10, 1.5 - 0.5), one alarm each.  Streaming reports the
   first at point 6 (two unflagged after 4), the second at the flush. */
static void test_alarm_hand_case(void)
{
    static const double score[12] = { 0.1, 0.7, 0.9, 0.2, 0.6, 0.0, 0.3, 0.4, 0.8, 0.8, 1.5, 0.2 };
    static const unsigned char want_alarm[12] = { 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    double thr[12];
    unsigned char alarm[12], alarm2[12];
    an_event ev[4], ev2[4];
    an_alarm_config c = an_alarm_config_init(2, 3);
    an_alarm s;
    an_event e;
    size_t i, count;
    int raised, closed;
    for (i = 0; i < 12; i++) thr[i] = 0.5;
    c.suppress = 2;
    c.max_gap = 1;
    CHECK_OK(an_alarm_batch(&c, score, thr, 12, alarm, ev, 4, &count));
    CHECK(memcmp(alarm, want_alarm, 12) == 0);
    CHECK_EQ_SIZE(count, 2);
    CHECK(ev[0].start == 1 && ev[0].end == 4 && ev[0].peak == 2 && ev[0].points == 3 && ev[0].alarms == 1);
    CHECK_NEAR(ev[0].severity, 0.4, 1e-15);
    CHECK(ev[1].start == 8 && ev[1].end == 10 && ev[1].peak == 10 && ev[1].points == 3 && ev[1].alarms == 1);
    CHECK_NEAR(ev[1].severity, 1.0, 1e-15);
    CHECK_EQ_SIZE(stream_alarms(&c, score, thr, 12, alarm2, ev2, 4), 2);
    CHECK(memcmp(alarm2, want_alarm, 12) == 0);
    /* when the streaming rule reports the first event */
    CHECK_OK(an_alarm_init(&s, &c, NULL));
    for (i = 0; i < 12; i++) {
        CHECK_OK(an_alarm_push(&s, score[i], thr[i], &raised, &e, &closed));
        CHECK(closed == (i == 6));
    }
    an_alarm_uninit(&s);
    /* no gap: runs; k = 1 of 1, no suppression: every flagged point alarms */
    c = an_alarm_config_init(1, 1);
    CHECK_OK(an_alarm_batch(&c, score, thr, 12, alarm, ev, 4, &count));
    CHECK_EQ_SIZE(count, 3);
    CHECK(ev[0].start == 1 && ev[0].end == 2 && ev[1].start == 4 && ev[1].end == 4 && ev[2].start == 8 && ev[2].end == 10);
    CHECK(ev[2].peak == 10 && ev[2].alarms == 3);
    for (i = 0; i < 12; i++) CHECK(alarm[i] == (score[i] > 0.5));
    /* ties: the first point of the largest excess is the peak */
    CHECK_OK(an_alarm_batch(&c, score + 8, thr, 2, NULL, ev, 4, &count));
    CHECK(count == 1 && ev[0].start == 0 && ev[0].end == 1 && ev[0].peak == 0);
    /* too small a capacity: counted, first written */
    CHECK_RESULT(an_alarm_batch(&c, score, thr, 12, NULL, ev, 1, &count), AN_ERR_SHAPE);
    CHECK(count == 3 && ev[0].start == 1);
}

/* Random flags and configurations: batch and streaming agree on every
   alarm and every event. */
static void test_alarm_batch_equals_streaming(void)
{
    an_rng rng;
    size_t trial, n = 400, i, mismatches = 0;
    double score[400], thr[400];
    unsigned char a1[400], a2[400];
    an_event e1[400], e2[400];
    an_rng_seed(&rng, 99, 1);
    for (trial = 0; trial < 200; trial++) {
        an_alarm_config c;
        size_t count, m;
        double density = 0.05 + 0.5 * an_rng_uniform(&rng);
        c.window = 1 + (size_t)an_rng_below(&rng, 12);
        c.k = 1 + (size_t)an_rng_below(&rng, c.window);
        c.suppress = (size_t)an_rng_below(&rng, 20);
        c.max_gap = (size_t)an_rng_below(&rng, 6);
        for (i = 0; i < n; i++) {
            thr[i] = an_rng_uniform(&rng);
            score[i] = an_rng_uniform(&rng) < density ? thr[i] + an_rng_uniform(&rng) : thr[i] - an_rng_uniform(&rng);
            if (i % 37 == 0) score[i] = thr[i];   /* equal is not above */
        }
        if (trial % 2) {                /* the float form on float values: as the double form widened */
            float sf[400], tf[400];
            size_t count_f;
            for (i = 0; i < n; i++) {
                score[i] = sf[i] = (float)score[i];
                thr[i] = tf[i] = (float)thr[i];
            }
            CHECK_OK(an_alarm_batch_f(&c, sf, tf, n, a2, e2, n, &count_f));
            CHECK_OK(an_alarm_batch(&c, score, thr, n, a1, e1, n, &count));
            if (count_f != count || memcmp(a1, a2, n) != 0 || (count && memcmp(e1, e2, count * sizeof *e1) != 0))
                mismatches++;
        }
        CHECK_OK(an_alarm_batch(&c, score, thr, n, a1, e1, n, &count));
        m = stream_alarms(&c, score, thr, n, a2, e2, n);
        if (memcmp(a1, a2, n) != 0 || m != count) { mismatches++; continue; }
        for (i = 0; i < m; i++)
            if (e1[i].start != e2[i].start || e1[i].end != e2[i].end || e1[i].peak != e2[i].peak ||
                e1[i].severity != e2[i].severity || e1[i].points != e2[i].points || e1[i].alarms != e2[i].alarms)
                mismatches++;
    }
    CHECK_EQ_SIZE(mismatches, 0);
}

static an_result job_alarm(const an_allocator *a, void *ctx)
{
    an_alarm s;
    an_alarm_config c = an_alarm_config_init(2, 5);
    an_result r;
    (void)ctx;
    if ((r = an_alarm_init(&s, &c, a)) != AN_OK) return r;
    an_alarm_uninit(&s);
    return AN_OK;
}

static void test_alarm_errors(void)
{
    an_alarm_config c = an_alarm_config_init(3, 2);
    an_alarm s;
    an_event e[2];
    double x[3] = { 1, NAN, 0 }, t[3] = { 0, 0, 0 };
    static double heap_store[16];   /* 8 bytes at its first AN_ALIGN boundary */
    unsigned char *heap = (unsigned char *)heap_store + ((AN_ALIGN - ((uintptr_t)heap_store & (AN_ALIGN - 1))) & (AN_ALIGN - 1));
    size_t count;
    int raised, closed;
    CHECK_RESULT(an_alarm_batch(&c, x, t, 3, NULL, e, 2, &count), AN_ERR_INVALID_ARG);   /* k > window */
    CHECK_RESULT(an_alarm_init(&s, &c, NULL), AN_ERR_INVALID_ARG);
    c = an_alarm_config_init(0, 2);
    CHECK_RESULT(an_alarm_heap_size(&c, &count), AN_ERR_INVALID_ARG);
    c = an_alarm_config_init(1, 8);
    CHECK_RESULT(an_alarm_batch(&c, x, t, 3, NULL, e, 2, &count), AN_ERR_INPUT);
    CHECK_RESULT(an_alarm_batch(&c, x, t, 1, NULL, NULL, 2, &count), AN_ERR_INVALID_ARG);
    CHECK_OK(an_alarm_batch(&c, x, t, 0, NULL, NULL, 0, &count));
    CHECK_EQ_SIZE(count, 0);
    CHECK_OK(an_alarm_heap_size(&c, &count));
    CHECK(count <= 8);
    CHECK_RESULT(an_alarm_init_preallocated(&s, &c, heap + 1), AN_ERR_INVALID_ARG);
    CHECK_OK(an_alarm_init_preallocated(&s, &c, heap));
    CHECK_RESULT(an_alarm_push(&s, NAN, 0.0, &raised, e, &closed), AN_ERR_INPUT);
    CHECK_RESULT(an_alarm_push(&s, 1.0, HUGE_VAL, &raised, e, &closed), AN_ERR_INPUT);
    CHECK_OK(an_alarm_push(&s, 1.0, 0.0, &raised, e, &closed));
    CHECK(raised && !closed && s.t == 1);
    an_alarm_uninit(&s);
    inject_failures("an_alarm_init", job_alarm, NULL);
}

/* Onsets: a hand case (a run reported at its start and where it grows
   past the window's peak; a repeat after the window has forgotten), the
   batch equal to the stream on random data, and the errors. */
static void test_onset(void)
{
    static const double score[12] = { 0.1, 0.5, 0.9, 0.8, 0.95, 0.2, 0.2, 0.2, 0.9, 0.3, 0.0, 0.3 };
    static const double want[12] = { 0.1, 0.5, 0.9, 0.0, 0.95, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0 };
    double onset[12], got, x[500], batch[500];
    static double heap_store[16];   /* 7 doubles at its first AN_ALIGN boundary */
    double *heap = (double *)(void *)((unsigned char *)heap_store +
                                      ((AN_ALIGN - ((uintptr_t)heap_store & (AN_ALIGN - 1))) & (AN_ALIGN - 1)));
    an_onset s;
    an_rng rng;
    size_t i, same = 1;
    CHECK_OK(an_onset_batch(3, score, 12, onset));
    for (i = 0; i < 12; i++) CHECK(onset[i] == want[i]);
    CHECK_OK(an_onset_init(&s, 3, NULL));
    for (i = 0; i < 12; i++) {
        CHECK_OK(an_onset_push(&s, score[i], &got));
        CHECK(got == want[i]);
    }
    an_onset_uninit(&s);
    an_rng_seed(&rng, 5, 1);
    for (i = 0; i < 500; i++) x[i] = an_rng_uniform(&rng) < 0.1 ? 0.5 : an_rng_uniform(&rng);
    CHECK_OK(an_onset_batch(7, x, 500, batch));
    CHECK_RESULT(an_onset_init_preallocated(&s, 7, heap + 1), AN_ERR_INVALID_ARG);
    CHECK_OK(an_onset_init_preallocated(&s, 7, heap));
    for (i = 0; i < 500; i++) {
        CHECK_OK(an_onset_push(&s, x[i], &got));
        same &= got == batch[i];
    }
    CHECK(same);
    {                                   /* the float form: the same onsets of the same values */
        float xf[500], of[500];
        for (i = 0; i < 500; i++) x[i] = xf[i] = (float)x[i];
        CHECK_OK(an_onset_batch(7, x, 500, batch));
        CHECK_OK(an_onset_batch_f(7, xf, 500, of));
        for (i = 0; i < 500; i++) same &= (double)of[i] == batch[i];
        CHECK(same);
        xf[4] = -1.0f;
        CHECK_RESULT(an_onset_batch_f(7, xf, 500, of), AN_ERR_INPUT);
    }
    CHECK_RESULT(an_onset_push(&s, -1.0, &got), AN_ERR_INPUT);
    CHECK_RESULT(an_onset_push(&s, NAN, &got), AN_ERR_INPUT);
    CHECK_RESULT(an_onset_push(&s, 0.5, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_onset_init(&s, 0, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_onset_batch(0, score, 12, onset), AN_ERR_INVALID_ARG);
    x[3] = HUGE_VAL;
    CHECK_RESULT(an_onset_batch(7, x, 500, batch), AN_ERR_INPUT);
}

/* By hand, scores 1..5: the median 3 sits at level (0.5 * 4 + 0.5) / 5 =
   0.5, the top 5 at 0.9 (the bulk's tail, fitted to the knots from 90%
   to 99.1%, is below it there), the 80% knot 4.2 at 0.74.  The bulk's
   tail on exact quantiles: of an exponential of scale 2 it is that
   exponential (shape 0, scale 2; 1 - p(30) = e^-15 within 0.1%); of a
   GPD of shape 0.5, scale 1, it finds shape 0.52 (the grid's step is
   0.02) and the excess scale 1 + 0.5 x90 = sqrt(10) within 3%, and
   1 - p at the 99.95% quantile within 30% of 0.0005.  Past the top the
   ranks' exponential tail (through the 99.1% knot and the top) counts
   too, so a score beyond everything seen is not made less rare than the
   ranks alone would make it. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_sorted(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The q-quantile of sorted v (n), interpolated as R's type 7. */
static double quantile7_sorted(const double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    return lo + 1 < n ? v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]) : v[lo];
}

/* Stuck runs: each feature's need from its training rows, by hand (the
   6th longest run times 4, or flatline_rows), a run that reaches it
   decides, batch == push, a save mid-run goes on, a constant is not
   judged. */
#define FL_N 1600
#define FL_T 300
static void test_ensemble_flatline(void)
{
    static float x[FL_N * 2], test[FL_T * 2], batch[FL_T], flat[FL_N * 2];
    an_ensemble_config c = an_ensemble_config_init();
    an_detector *e, *m, *loaded = NULL, *off;
    an_ensemble_decision dec, bdec;
    an_rng rng;
    size_t i, f, k, first = 0;
    double run[2] = { 0.0, 0.0 }, need[2] = { 4.0 * 15.0, 6.0 };
    an_rng_seed(&rng, 11, 3);
    for (i = 0; i < FL_N * 2; i++) x[i] = (float)an_rng_normal(&rng);
    for (k = 1; k <= 20; k++)                /* feature 0: runs of 1..20 repeats; the 6th longest is 15 */
        for (i = 0; i < k; i++) x[(70 * k + 1 + i) * 2] = x[70 * k * 2];
    for (i = 0; i < 50; i++) x[(1500 + 1 + i) * 2 + 1] = x[1500 * 2 + 1];   /* feature 1: one stuck run, set aside */
    for (i = 0; i < FL_T * 2; i++) test[i] = (float)an_rng_normal(&rng);
    for (i = 100; i < 120; i++) test[i * 2 + 1] = test[99 * 2 + 1];   /* 20 repeats: caught at the 6th */
    for (i = 150; i < 209; i++) test[i * 2] = test[149 * 2];          /* 59 repeats: one short of 60 */
    for (i = 220; i < 280; i++) test[i * 2] = test[219 * 2];          /* 60: caught at the last */
    c.flatline_rows = 6;
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &e));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, x, FL_N));
    CHECK_OK(an_detector_score(e, test, FL_T, batch));
    for (i = 0; i < FL_T; i++) {
        float score;
        double worst = 0.0;
        for (f = 0; f < 2; f++) {
            run[f] = i && test[i * 2 + f] == test[(i - 1) * 2 + f] ? run[f] + 1.0 : 0.0;
            if ((float)(run[f] / need[f]) > worst) worst = (float)(run[f] / need[f]);
        }
        CHECK_OK(an_detector_push(e, &test[i * 2], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK_OK(an_ensemble_decide(e, i, &bdec));
        CHECK(dec.flatline == worst && bdec.flatline == worst && score == batch[i]);
        CHECK(dec.anomaly == (dec.vote >= 0.5 || worst >= 1.0) && bdec.anomaly == dec.anomaly);
        if (worst >= 1.0 && !first) first = i;
        if (i == 110) loaded = toy_reload(e);   /* saved mid-run, the run goes on where it was */
        if (i > 110 && loaded) {
            an_ensemble_decision ldec;
            float lscore;
            CHECK_OK(an_detector_push(loaded, &test[i * 2], &lscore));
            CHECK_OK(an_ensemble_last(loaded, &ldec));
            CHECK(lscore == score && ldec.anomaly == dec.anomaly && ldec.flatline == dec.flatline);
        }
    }
    CHECK(first == 105);                      /* the 6th repeat of feature 1 */
    CHECK_OK(an_ensemble_last(e, &dec));
    an_detector_destroy(loaded);
    /* a reset starts the runs again */
    CHECK_OK(an_detector_reset(e));
    for (i = 100; i < 110; i++) {
        float score;
        CHECK_OK(an_detector_push(e, &test[i * 2], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK(dec.flatline == (float)((double)(i - 100) / 6.0));
    }
    an_detector_destroy(e);
    /* trained on a constant (every block holds its value): not judged */
    for (i = 0; i < FL_N * 2; i++) flat[i] = i % 2 ? x[i] : 5.0f;
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &e));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, flat, FL_N));
    for (i = 0; i < 100; i++) {
        float row[2], score;
        row[0] = 5.0f;
        row[1] = test[i * 2 + 1];
        CHECK_OK(an_detector_push(e, row, &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK(dec.flatline == 0.0);
    }
    an_detector_destroy(e);
    /* idle for long spells: feature 0 holds its value for three runs of
       150 repeats (151 rows each); the longest five would be set aside,
       but two hold 302 rows and the third would pass a quarter of the
       1,600 (400), so it sets the need, 4 x 150 (setting aside five,
       the need was 4 x 18).  Feature 1 is stuck once, for 500 rows: the
       longest run is set aside whatever it holds (a sensor that died),
       so its need stays 6 */
    memcpy(flat, x, sizeof flat);
    for (k = 0; k < 3; k++)
        for (i = 0; i < 150; i++) flat[(400 * k + 100 + 1 + i) * 2] = flat[(400 * k + 100) * 2];
    for (i = 0; i < FL_N; i++) flat[i * 2 + 1] = i >= 1000 && i < 1500 ? 2.0f : (float)an_rng_normal(&rng);
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &e));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, flat, FL_N));
    for (i = 0; i < FL_T; i++) {
        float row[2], score;
        row[0] = i >= 50 ? 7.0f : test[i * 2];     /* a spell of 250 rows: 249 repeats, under the need */
        row[1] = i >= 10 && i < 30 ? 3.0f : (float)an_rng_normal(&rng);   /* 19 repeats, past 6 */
        CHECK_OK(an_detector_push(e, row, &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        if (i == 29) CHECK(dec.flatline == (float)(19.0 / 6.0));
        if (i == FL_T - 1) CHECK(dec.flatline == (float)(249.0 / 600.0));
        if (i >= 30) CHECK(dec.flatline < 1.0f);
    }
    an_detector_destroy(e);
    /* off (the plain ensemble's default): no stuck run decides */
    c = an_ensemble_config_init();
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &off));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(off, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(off, x, FL_N));
    for (i = 0; i < FL_T; i++) {
        float score;
        CHECK_OK(an_detector_push(off, &test[i * 2], &score));
        CHECK_OK(an_ensemble_last(off, &dec));
        CHECK(dec.flatline == 0.0 && dec.anomaly == (dec.vote >= 0.5));
    }
    an_detector_destroy(off);
    c.flatline_rows = AN_ENSEMBLE_MAX_FLATLINE + 1;
    CHECK_RESULT(an_ensemble_create(&c, 2, NULL, &off), AN_ERR_INVALID_ARG);
}


/* The quiet rule against a hand computation: each feature's need (the
   25th percentile of its training windows' mean |second difference|, over
   8), a window of collapsed noise decides, batch == push, a save mid-way
   goes on, a reset restarts the window, a constant feature is not judged,
   bad windows are refused and the rule is off by default. */
#define QU_W 24
static float quiet_oracle(const float *x, size_t i, size_t f, double need)
{
    double sum = 0.0;
    size_t k;
    if (need == 0.0 || i < QU_W + 1) return 0.0f;
    for (k = i + 1 - QU_W; k <= i; k++)
        sum += fabs((double)x[k * 2 + f] - 2.0 * (double)x[(k - 1) * 2 + f] + (double)x[(k - 2) * 2 + f]);
    return sum / QU_W > need * 1e-9 ? (float)(need / (sum / QU_W)) : 1e9f;
}

static void test_ensemble_quiet(void)
{
    static float x[FL_N * 2], test[FL_T * 2], batch[FL_T], flat[FL_N * 2];
    static double means[FL_N];
    an_ensemble_config c = an_ensemble_config_init();
    an_detector *e, *m, *loaded = NULL;
    an_ensemble_decision dec, bdec;
    an_rng rng;
    size_t i, f, k, first = 0, last = 0;
    double need[2];
    an_rng_seed(&rng, 12, 3);
    for (i = 0; i < FL_N * 2; i++) x[i] = (float)(3.0 * an_rng_normal(&rng));
    for (f = 0; f < 2; f++) {
        size_t n = 0;
        for (i = QU_W + 1; i < FL_N; i++) {
            double sum = 0.0;
            for (k = i + 1 - QU_W; k <= i; k++)
                sum += fabs((double)x[k * 2 + f] - 2.0 * (double)x[(k - 1) * 2 + f] + (double)x[(k - 2) * 2 + f]);
            means[n++] = sum / QU_W;
        }
        qsort(means, n, sizeof means[0], cmp_double);
        need[f] = means[(n - 1) / 4] / 8.0;
    }
    for (i = 0; i < FL_T * 2; i++) test[i] = (float)(3.0 * an_rng_normal(&rng));
    for (i = 100; i < 180; i++) test[i * 2] = (float)(0.05 * an_rng_normal(&rng));   /* feature 0's noise collapses */
    c.quiet_rows = QU_W;
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &e));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, x, FL_N));
    CHECK_OK(an_detector_score(e, test, FL_T, batch));
    for (i = 0; i < FL_T; i++) {
        float score, worst = 0.0f;
        for (f = 0; f < 2; f++)
            if (quiet_oracle(test, i, f, need[f]) > worst) worst = quiet_oracle(test, i, f, need[f]);
        CHECK_OK(an_detector_push(e, &test[i * 2], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK_OK(an_ensemble_decide(e, i, &bdec));
        CHECK(dec.quiet == worst && bdec.quiet == worst && score == batch[i]);
        CHECK(dec.anomaly == (dec.vote >= 0.5 || worst >= 1.0) && bdec.anomaly == dec.anomaly);
        if (worst >= 1.0) { if (!first) first = i; last = i; }
        if (i == 130) loaded = toy_reload(e);   /* saved mid-way, the window goes on where it was */
        if (i > 130 && loaded) {
            an_ensemble_decision ldec;
            float lscore;
            CHECK_OK(an_detector_push(loaded, &test[i * 2], &lscore));
            CHECK_OK(an_ensemble_last(loaded, &ldec));
            CHECK(lscore == score && ldec.anomaly == dec.anomaly && ldec.quiet == dec.quiet);
        }
    }
    if (getenv("TEST_VERBOSE")) printf("  quiet: first %zu last %zu\n", first, last);
    CHECK(first > 100 && first <= 100 + QU_W && last >= 179 && last < 180 + QU_W);   /* the collapse, no other row */
    an_detector_destroy(loaded);
    /* a reset starts the window again */
    CHECK_OK(an_detector_reset(e));
    for (i = 0; i <= QU_W + 1; i++) {
        float score;
        CHECK_OK(an_detector_push(e, &test[(120 + i) * 2], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK(i < QU_W + 1 ? dec.quiet == 0.0 : dec.quiet >= 1.0);
    }
    an_detector_destroy(e);
    /* trained on a constant (every block holds its value): not judged */
    for (i = 0; i < FL_N * 2; i++) flat[i] = i % 2 ? x[i] : 5.0f;
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &e));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, flat, FL_N));
    CHECK_OK(an_detector_score(e, flat, 200, batch));
    for (i = 0; i < 200; i++) {
        CHECK_OK(an_ensemble_decide(e, i, &dec));
        CHECK(dec.quiet < 1.0);
    }
    an_detector_destroy(e);
    /* off by default; windows of 1, 2 or past the limit refused */
    c = an_ensemble_config_init();
    CHECK(c.quiet_rows == 0);
    CHECK_OK(an_ensemble_create(&c, 2, NULL, &e));
    CHECK_OK(zdet_create(2, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, x, FL_N));
    CHECK_OK(an_detector_score(e, test, FL_T, batch));
    for (i = 0; i < FL_T; i++) {
        CHECK_OK(an_ensemble_decide(e, i, &dec));
        CHECK(dec.quiet == 0.0 && dec.anomaly == (dec.vote >= 0.5));
    }
    an_detector_destroy(e);
    c.quiet_rows = 1;
    CHECK_RESULT(an_ensemble_create(&c, 2, NULL, &e), AN_ERR_INVALID_ARG);
    c.quiet_rows = 2;
    CHECK_RESULT(an_ensemble_create(&c, 2, NULL, &e), AN_ERR_INVALID_ARG);
    c.quiet_rows = AN_ENSEMBLE_MAX_QUIET + 1;
    CHECK_RESULT(an_ensemble_create(&c, 2, NULL, &e), AN_ERR_INVALID_ARG);
}

#define SUS_N 600
#define SUS_W 8
#define SUS_T 200

/* The sustained vote's oracle for the toy z-score member fitted on
   x (SUS_N), by hand: the member's mean and sd, the calibration fitted on
   its training scores, its training windows' mean surprise (capped at the
   row vote's) sorted for their median and MAD scale (mad_scale), the
   scale their quartiles give where it is over 4 times that, floored, and
   their top; then the window of the test rows pushed so far. */
typedef struct sus_oracle {
    double mu, sd, med, scale, mad_scale, top, ring[SUS_W];
    double raw_top, raw;         /* the largest training score; the last pushed */
    size_t pushed;
    an_calibration cal;
} sus_oracle;

static void sus_oracle_fit(sus_oracle *o, const float *x)
{
    static float raw[SUS_N];
    static double surprise[SUS_N], mean[SUS_N], dev[SUS_N];
    size_t i, j, windows = SUS_N - SUS_W + 1;
    double quartiles;
    memset(o, 0, sizeof *o);
    for (i = 0; i < SUS_N; i++) o->mu += x[i];
    o->mu /= SUS_N;
    for (i = 0; i < SUS_N; i++) o->sd += (x[i] - o->mu) * (x[i] - o->mu);
    o->sd = sqrt(o->sd / SUS_N);
    for (i = 0; i < SUS_N; i++) {
        raw[i] = (float)(fabs(x[i] - o->mu) / o->sd);
        if (raw[i] > o->raw_top) o->raw_top = raw[i];
    }
    CHECK_OK(an_calibration_fit(&o->cal, raw, SUS_N, NULL));
    for (i = 0; i < SUS_N; i++) {
        double p = an_calibration_likelihood(&o->cal, raw[i]);
        surprise[i] = (float)-log1p(-(p < 0.999 ? p : 0.999));   /* capped at the row vote's */
    }
    for (i = 0; i < windows; i++) {
        double sum = 0.0;
        for (j = 0; j < SUS_W; j++) sum += surprise[i + j];
        mean[i] = sum / SUS_W;
        if (mean[i] > o->top) o->top = mean[i];
    }
    memcpy(dev, mean, windows * sizeof *dev);
    o->med = median_sorted(dev, windows);
    quartiles = (quantile7_sorted(dev, windows, 0.75) - quantile7_sorted(dev, windows, 0.25)) / 1.349;
    for (i = 0; i < windows; i++) dev[i] = fabs(mean[i] - o->med);
    o->mad_scale = 1.482602218505602 * median_sorted(dev, windows);
    o->scale = 4.0 * o->mad_scale < quartiles ? quartiles : o->mad_scale;
    if (o->scale < 1.0 / sqrt((double)SUS_W)) o->scale = 1.0 / sqrt((double)SUS_W);
}

/* The next test row v: returns its likelihood; *wmean and *z, the mean
   surprise of the window ending there and its robust z (0 before the
   window is full), summed oldest first as the ensemble sums them. */
static double sus_oracle_push(sus_oracle *o, float v, double *wmean, double *z)
{
    double p;
    size_t j;
    o->raw = (float)(fabs(v - o->mu) / o->sd);
    p = an_calibration_likelihood(&o->cal, o->raw);
    o->ring[o->pushed % SUS_W] = (float)-log1p(-(p < 0.999 ? p : 0.999));
    o->pushed++;
    *wmean = *z = 0.0;
    if (o->pushed >= SUS_W) {
        for (j = 0; j < SUS_W; j++) *wmean += o->ring[(o->pushed + j) % SUS_W];
        *wmean /= SUS_W;
        *z = (*wmean - o->med) / o->scale;
    }
    return p;
}

/* An ensemble of config c around the toy z-score member alone, fitted on
   x (SUS_N rows). */
static an_detector *sus_ensemble_fit(const an_ensemble_config *c, const float *x)
{
    an_detector *e = NULL, *m = NULL;
    CHECK_OK(an_ensemble_create(c, 1, NULL, &e));
    CHECK_OK(zdet_create(1, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, x, SUS_N));
    return e;
}

/* The sustained vote against a brute-force oracle: a toy z-score member,
   the calibration fitted on its training scores by hand, the training
   windows' mean surprise sorted for its median and MAD, then a run of
   rows at 2.5 sd (likelihood ~0.99 each: no row vote) that the window's z
   must flag from the row the oracle says, and not before. */
static void test_ensemble_sustained_vote(void)
{
    static float x[SUS_N], test[SUS_T], batch[SUS_T];
    an_ensemble_config c = an_ensemble_config_init();
    sus_oracle o;
    an_detector *e, *m, *loaded = NULL, *off;
    an_ensemble_decision dec, bdec;
    an_rng rng;
    size_t i, first = 0;
    an_rng_seed(&rng, 7, 1);
    for (i = 0; i < SUS_N; i++) x[i] = (float)an_rng_normal(&rng);
    for (i = 0; i < SUS_T; i++) test[i] = i >= 100 && i < 130 ? 2.5f : (float)an_rng_normal(&rng);
    sus_oracle_fit(&o, x);
    CHECK(o.med > 0.5 && o.med < 1.5);       /* about an exponential's mean, 1 */

    c.sustain_rows = SUS_W;
    c.sustain_z = 8.0;
    e = sus_ensemble_fit(&c, x);
    for (i = 0; i < SUS_T; i++) {
        float score;
        double z, wmean;
        sus_oracle_push(&o, test[i], &wmean, &z);
        CHECK_OK(an_detector_push(e, &test[i], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK_NEAR(dec.member_sustain[0], z, 1e-9 * (1.0 + fabs(z)));
        if (i >= 100 && i < 130) CHECK(dec.member_likelihood[0] < 0.999);   /* no row votes in the run */
        if (i >= 100 && i < 130 && !first && z > 8.0) first = i;
        CHECK(dec.anomaly == (z > 8.0 || dec.member_likelihood[0] > 0.999));
    }
    CHECK(first > 100 && first < 100 + SUS_W);   /* the run is caught within a window */
    /* a batch is a stream that starts with it: the same decisions */
    CHECK_OK(an_detector_score(e, test, SUS_T, batch));
    CHECK_OK(an_detector_reset(e));
    for (i = 0; i < SUS_T; i++) {
        float score;
        CHECK_OK(an_detector_push(e, &test[i], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK_OK(an_ensemble_decide(e, i, &bdec));
        CHECK(score == batch[i]);
        CHECK(dec.anomaly == bdec.anomaly && dec.member_sustain[0] == bdec.member_sustain[0]);
        if (i == 104) loaded = toy_reload(e);   /* saved mid-run, the window goes on where it was */
        if (i > 104) {
            an_ensemble_decision ldec;
            float lscore;
            CHECK_OK(an_detector_push(loaded, &test[i], &lscore));
            CHECK_OK(an_ensemble_last(loaded, &ldec));
            CHECK(lscore == score && ldec.anomaly == dec.anomaly && ldec.member_sustain[0] == dec.member_sustain[0]);
        }
    }
    an_detector_destroy(loaded);
    an_detector_destroy(e);
    /* off (the plain ensemble's default), the run is not flagged */
    c = an_ensemble_config_init();
    CHECK_OK(an_ensemble_create(&c, 1, NULL, &off));
    CHECK_OK(zdet_create(1, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(off, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(off, x, SUS_N));
    for (i = 0; i < 130; i++) {
        float score;
        CHECK_OK(an_detector_push(off, &test[i], &score));
        CHECK_OK(an_ensemble_last(off, &dec));
        if (i >= 100) CHECK(!dec.anomaly && dec.member_sustain[0] == 0.0);
    }
    an_detector_destroy(off);
    /* too few training windows (fewer than 4 w): the member does not vote so */
    c.sustain_rows = SUS_W;
    CHECK_OK(an_ensemble_create(&c, 1, NULL, &off));
    CHECK_OK(zdet_create(1, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(off, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(off, x, 5 * SUS_W - 2));
    for (i = 0; i < 130; i++) {
        float score;
        CHECK_OK(an_detector_push(off, &test[i], &score));
        CHECK_OK(an_ensemble_last(off, &dec));
        CHECK(dec.member_sustain[0] == 0.0);
    }
    an_detector_destroy(off);
    /* bad configs */
    c.sustain_rows = 1;
    CHECK_RESULT(an_ensemble_create(&c, 1, NULL, &off), AN_ERR_INVALID_ARG);
    c.sustain_rows = AN_ENSEMBLE_MAX_SUSTAIN + 1;
    CHECK_RESULT(an_ensemble_create(&c, 1, NULL, &off), AN_ERR_INVALID_ARG);
    c.sustain_rows = SUS_W;
    c.sustain_z = NAN;
    CHECK_RESULT(an_ensemble_create(&c, 1, NULL, &off), AN_ERR_INVALID_ARG);
    c.sustain_z = 0.0;
    CHECK_RESULT(an_ensemble_create(&c, 1, NULL, &off), AN_ERR_INVALID_ARG);
}

/* Idle most of the time: training rows at 0 for 70% of them (spells of
   60 rows) and normal noise between, so most windows' mean surprise sits
   near 0 and their median and MAD are the idle windows'.  The scale is
   then the quartiles' (IQR / 1.349, over 4 times the MAD's), as the
   oracle computes by hand, and ordinary running rows do not vote; under
   the MAD's floored scale some of them would (checked), and did. */
static void test_ensemble_sustained_idle(void)
{
    static float x[SUS_N], test[2 * SUS_T];
    an_ensemble_config c = an_ensemble_config_init();
    sus_oracle o;
    an_detector *e;
    an_ensemble_decision dec;
    an_rng rng;
    size_t i, old_votes = 0;
    an_rng_seed(&rng, 9, 1);
    for (i = 0; i < SUS_N; i++) x[i] = (i / 60) % 10 < 7 ? 0.0f : (float)an_rng_normal(&rng);
    for (i = 0; i < 2 * SUS_T; i++) test[i] = (float)an_rng_normal(&rng);
    sus_oracle_fit(&o, x);
    CHECK(o.scale > 4.0 * o.mad_scale && o.scale > 1.0 / sqrt((double)SUS_W));
    c.sustain_rows = SUS_W;
    c.sustain_z = 8.0;
    e = sus_ensemble_fit(&c, x);
    for (i = 0; i < 2 * SUS_T; i++) {
        float score;
        double z, wmean, p = sus_oracle_push(&o, test[i], &wmean, &z);
        double floored = o.mad_scale > 1.0 / sqrt((double)SUS_W) ? o.mad_scale : 1.0 / sqrt((double)SUS_W);
        CHECK_OK(an_detector_push(e, &test[i], &score));
        CHECK_OK(an_ensemble_last(e, &dec));
        CHECK_NEAR(dec.member_sustain[0], z, 1e-9 * (1.0 + fabs(z)));
        CHECK(dec.anomaly == (z > 8.0 || p > 0.999));
        CHECK(z < 8.0);
        old_votes += i + 1 >= SUS_W && (wmean - o.med) / floored > 8.0;
    }
    if (getenv("TEST_VERBOSE")) printf("  idle training: scale %g (MAD's %g), %zu windows past the MAD's bar\n", o.scale, o.mad_scale, old_votes);
    CHECK(old_votes > 0);
    an_detector_destroy(e);
}

/* Known-normal training (normal_training): a pattern the training rows
   held a few times (runs of 8 rows at 3.2 sd, four of them in 600 rows:
   minor enough to sit outside the windows' median and MAD) votes through
   the sustained z when it comes back, unless the bar is the most
   surprising training window, which the oracle finds by hand; a larger
   run still votes, from the row the oracle says.  A row votes past 0.999
   only when its score also passes the largest training score: one just
   under it (past 0.999) does not.  The bars survive a save and a load,
   are refused out of range, and are off by default. */
static void test_ensemble_normal_training(void)
{
    static float x[SUS_N], test[SUS_T];
    an_ensemble_config c = an_ensemble_config_init();
    sus_oracle o;
    an_detector *on, *off, *loaded;
    an_ensemble_decision dec, doff, dl;
    an_rng rng;
    size_t i, j, off_votes = 0, first_big = 0, inside = 0;
    an_rng_seed(&rng, 11, 1);
    for (i = 0; i < SUS_N; i++) x[i] = (float)an_rng_normal(&rng);
    for (i = 100; i < 600; i += 150)
        for (j = 0; j < SUS_W; j++) x[i + j] = 3.2f;                     /* the recurring pattern */
    x[50] = 5.0f;                                                         /* a glitch, normal too */
    for (i = 0; i < SUS_T; i++) test[i] = (float)an_rng_normal(&rng);
    for (i = 60; i < 60 + SUS_W; i++) test[i] = 3.2f;                     /* it comes back */
    for (i = 140; i < 160; i++) test[i] = 6.0f;                           /* something new */
    sus_oracle_fit(&o, x);
    CHECK((o.top - o.med) / o.scale > 8.0);  /* the pattern's own windows pass the z */
    test[30] = (float)(o.mu + 0.99 * o.raw_top * o.sd);                 /* under the glitch, past 0.999 */

    c.sustain_rows = SUS_W;
    CHECK(c.normal_training == 0);
    off = sus_ensemble_fit(&c, x);
    c.normal_training = 1;
    on = sus_ensemble_fit(&c, x);
    loaded = toy_reload(on);
    for (i = 0; i < SUS_T; i++) {
        float score, soff, sl;
        double z, wmean;
        int row_vote = sus_oracle_push(&o, test[i], &wmean, &z) > 0.999;
        CHECK_OK(an_detector_push(on, &test[i], &score));
        CHECK_OK(an_ensemble_last(on, &dec));
        CHECK_OK(an_detector_push(off, &test[i], &soff));
        CHECK_OK(an_ensemble_last(off, &doff));
        CHECK_OK(an_detector_push(loaded, &test[i], &sl));
        CHECK_OK(an_ensemble_last(loaded, &dl));
        CHECK_NEAR(dec.member_sustain[0], z, 1e-9 * (1.0 + fabs(z)));
        CHECK(dec.anomaly == ((row_vote && o.raw > o.raw_top) || (z > 8.0 && wmean > o.top)));
        CHECK(doff.anomaly == (row_vote || z > 8.0));
        if (row_vote && o.raw <= o.raw_top) inside++;
        CHECK(sl == score && dl.anomaly == dec.anomaly);
        if (i >= 60 && i < 60 + 2 * SUS_W) {
            CHECK(!row_vote && !dec.anomaly);
            off_votes += doff.anomaly;
        }
        if (i >= 140 && !first_big && dec.anomaly) first_big = i;
    }
    CHECK(off_votes > 0);                    /* without the bar the pattern is "new" each time */
    CHECK(inside > 0);                       /* a row past 0.999, not past training's top */
    CHECK(first_big >= 140 && first_big < 140 + SUS_W);
    an_detector_destroy(loaded);
    an_detector_destroy(on);
    an_detector_destroy(off);
    c.normal_training = 2;
    CHECK_RESULT(an_ensemble_create(&c, 1, NULL, &off), AN_ERR_INVALID_ARG);
}

static void test_calibration(void)
{
    float s[5] = { 4, 2, 5, 1, 3 }, r[300], *q = (float *)malloc(10000 * sizeof(float));
    an_calibration c;
    double prev_p = -1, prev_z = -HUGE_VAL, v;
    an_rng rng;
    size_t i;
    int monotone = 1;
    CHECK_OK(an_calibration_fit(&c, s, 5, NULL));
    CHECK_NEAR(an_calibration_likelihood(&c, 3.0), 0.5, 1e-15);
    CHECK_NEAR(an_calibration_likelihood(&c, 5.0), 0.9, 1e-15);
    CHECK_NEAR(an_calibration_likelihood(&c, 4.2), 0.74, 1e-15);
    CHECK_NEAR(an_calibration_z(&c, 4.0), 1.0 / 1.482602218505602, 1e-15);
    for (i = 0; i < 10000; i++) q[i] = (float)(-2.0 * log(1.0 - ((double)i + 0.5) / 10000.0));
    CHECK_OK(an_calibration_fit(&c, q, 10000, NULL));
    CHECK(c.shape == 0.0);
    CHECK_NEAR(c.tail, 2.0, 1e-3);
    CHECK_NEAR((1.0 - an_calibration_likelihood(&c, 30.0)) / exp(-15.0), 1.0, 1e-3);
    for (i = 0; i < 10000; i++) q[i] = (float)(2.0 * (pow(1.0 - ((double)i + 0.5) / 10000.0, -0.5) - 1.0));
    CHECK_OK(an_calibration_fit(&c, q, 10000, NULL));
    CHECK_NEAR(c.shape, 0.52, 1e-12);
    CHECK_NEAR(c.tail / sqrt(10.0), 1.0, 0.03);
    {                                                  /* at its 99.95% quantile, inside the training range */
        double x9995 = 2.0 * (pow(0.0005, -0.5) - 1.0);
        CHECK_NEAR((1.0 - an_calibration_likelihood(&c, x9995)) / 0.0005, 1.0, 0.3);
    }
    CHECK(an_calibration_likelihood(&c, 1000.0) > an_calibration_likelihood(&c, 500.0));
    free(q);
    an_rng_seed(&rng, 21, 0);
    for (i = 0; i < 300; i++) r[i] = (float)(an_rng_normal(&rng) * an_rng_normal(&rng));  /* heavy tails, ties-free */
    CHECK_OK(an_calibration_fit(&c, r, 300, NULL));
    for (v = -30; v <= 60; v += 0.01) {                 /* monotone in the raw score, inside [0, 1) */
        double p = an_calibration_likelihood(&c, v), z = an_calibration_z(&c, v);
        monotone &= p >= prev_p && p >= 0.0 && p <= 1.0 && z > prev_z;
        prev_p = p;
        prev_z = z;
    }
    CHECK(monotone);
    CHECK(an_calibration_likelihood(&c, 20.0) < an_calibration_likelihood(&c, 25.0));  /* still rising past training */
    s[2] = NAN;
    CHECK_RESULT(an_calibration_fit(&c, s, 5, NULL), AN_ERR_INPUT);
}

/* A short series: a shape read off a dozen rows past the 90% knot is
   noise, and a heavy one (up to 1 here) kept an 8 sd spike among |N(0, 1)|
   scores under 0.9999 in 82 of these 200 fits of n = 120 (59 of 200 at
   n = 250); with the tail exponential under 50 such rows, in 2 and 0.  At
   n = 60 the 99.1% knot lay between the top two scores, on the spike
   itself, and no fit passed; the fitted knots now leave two rows above
   them (179 of 200).  The top of a clean sample passes in at most 10. */
static void test_calibration_short_series(void)
{
    static const size_t sizes[] = { 60, 120, 250 };
    float v[250];
    an_rng rng;
    size_t k, r, i;
    an_rng_seed(&rng, 9, 0);
    for (k = 0; k < 3; k++) {
        size_t n = sizes[k], passed = 0, exponential = 0, clean = 0;
        for (r = 0; r < 200; r++) {
            an_calibration c;
            float top = 0.0f;
            for (i = 0; i < n; i++) v[i] = (float)fabs(an_rng_normal(&rng));
            for (i = 0; i < n; i++) top = v[i] > top ? v[i] : top;
            CHECK_OK(an_calibration_fit(&c, v, n, NULL));
            clean += an_calibration_likelihood(&c, top) > 0.9999;   /* the clean top is not an outlier */
            v[n / 2] = 8.0f;
            CHECK_OK(an_calibration_fit(&c, v, n, NULL));
            passed += an_calibration_likelihood(&c, 8.0) > 0.9999;
            exponential += c.shape == 0.0;
        }
        CHECK(exponential == 200);
        if (getenv("TEST_VERBOSE"))
            printf("  short series, n = %zu: an 8 sd spike past 0.9999 in %zu of 200, the clean top in %zu\n", n, passed,
                   clean);
        CHECK(passed >= (n < 100 ? 160u : 195u));
        CHECK(clean <= 10);
    }
}

/* The score where a calibration's likelihood passes level, by bisection. */
static double likelihood_crossing(const an_calibration *c, double level)
{
    double lo = 0.0, hi = 100.0;
    int k;
    for (k = 0; k < 100; k++) {
        double mid = 0.5 * (lo + hi);
        if (an_calibration_likelihood(c, mid) > level) hi = mid; else lo = mid;
    }
    return hi;
}

/* Past the training maximum the likelihood rises without a step and
   strictly, whatever n, and is not overstated: fitted on n |N(0, 1)|
   draws, the score where it passes 0.9999 has a true tail probability
   (erfc) whose mean over 400 fits is 1.5e-4 for n = 1,440 and 3.9e-4
   for n = 300; with the top at its rank's level (n - 0.5) / n instead
   of its expected n / (n + 1) they were 2.9e-4 and 9.2e-4. */
static void test_calibration_past_the_top(void)
{
    static const size_t sizes[] = { 5, 20, 300, 1440 };
    float *v = (float *)malloc(1440 * sizeof(float));
    an_calibration c;
    an_rng rng;
    size_t k, i, r;
    CHECK(v != NULL);
    if (!v) return;
    an_rng_seed(&rng, 5, 0);
    for (k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        double top, p_top, prev, step;
        int rising = 1;
        for (i = 0; i < n; i++) v[i] = (float)fabs(an_rng_normal(&rng));
        CHECK_OK(an_calibration_fit(&c, v, n, NULL));
        top = c.knot[AN_CALIBRATION_KNOTS - 1];
        p_top = an_calibration_likelihood(&c, top);
        CHECK(p_top >= (n - 0.5) / (double)n - 1e-12);     /* its rank, or the bulk's tail */
        CHECK_NEAR(an_calibration_likelihood(&c, top * (1.0 + 1e-9)), p_top, 1e-8);
        step = top / 1000.0;
        for (prev = p_top, i = 1; i <= 5000 && prev < 1.0 - 1e-9; i++) {
            double p = an_calibration_likelihood(&c, top + (double)i * step);
            rising &= p > prev;
            prev = p;
        }
        CHECK(rising);
    }
    for (k = 0; k < 2; k++) {
        size_t n = k ? 300 : 1440;
        double tail = 0.0;
        for (r = 0; r < 400; r++) {
            for (i = 0; i < n; i++) v[i] = (float)fabs(an_rng_normal(&rng));
            CHECK_OK(an_calibration_fit(&c, v, n, NULL));
            tail += erfc(likelihood_crossing(&c, 0.9999) / sqrt(2.0)) / 400.0;
        }
        CHECK(tail < (k ? 6e-4 : 2e-4));
        CHECK(tail > 1e-4 / 3.0);
        printf("  calibration past the top: true tail at likelihood 0.9999, n = %zu: %.2g\n", n, tail);
    }
    free(v);
}

/* A decision's surprise pool is 1 - prod (1 - p_k)^(w_k / W) of its
   members' likelihoods whatever the pool (computed here from them and
   the weights 0.6 and 0.4), at least their weighted mean, which is the
   score under AN_POOL_MEAN; under AN_POOL_SURPRISE it is the score.  The
   members see a row differently: one fitted on the training rows, the
   other before it is added on the same rows shifted by 2. */
static void test_ensemble_surprise_pool(void)
{
    enum { N = 2000 };
    static float x[N], shifted[N];
    static const float rows[3] = { 4.0f, 2.5f, -1.0f };
    an_rng rng;
    size_t i, k, pool;
    an_rng_seed(&rng, 11, 0);
    for (i = 0; i < N; i++) x[i] = (float)an_rng_normal(&rng), shifted[i] = x[i] + 2.0f;
    for (pool = 0; pool < 2; pool++) {
        an_ensemble_config c = an_ensemble_config_init();
        an_detector *e = NULL, *a = NULL, *b = NULL;
        c.pool = pool ? AN_POOL_SURPRISE : AN_POOL_MEAN;
        CHECK_OK(an_ensemble_create(&c, 1, NULL, &e));
        CHECK_OK(zdet_create(1, &an__default_allocator, &a));
        CHECK_OK(zdet_create(1, &an__default_allocator, &b));
        CHECK_OK(an_detector_fit(b, shifted, N));
        CHECK_OK(an_ensemble_add(e, a, 0.6, AN_MEMBER_BASELINE));
        CHECK_OK(an_ensemble_add(e, b, 0.4, AN_MEMBER_OPTIONAL));
        CHECK_OK(an_detector_fit(e, x, N));
        for (k = 0; k < 3; k++) {
            an_ensemble_decision d;
            float score;
            double pa, pb, oracle;
            CHECK_OK(an_detector_push(e, &rows[k], &score));
            CHECK_OK(an_ensemble_last(e, &d));
            pa = d.member_likelihood[0], pb = d.member_likelihood[1];
            oracle = 1.0 - pow(1.0 - pa, 0.6) * pow(1.0 - pb, 0.4);
            CHECK(fabs(pa - pb) > 1e-3);
            CHECK_NEAR(d.surprise, oracle, 1e-12);
            CHECK(d.surprise >= 0.6 * pa + 0.4 * pb - 1e-12);
            if (pool) CHECK(d.likelihood == d.surprise);
            else CHECK_NEAR(d.likelihood, 0.6 * pa + 0.4 * pb, 1e-12);
        }
        an_detector_destroy(e);
    }
}

/* Scores of one value but for a few (a value held between pulses): the
   knots the bulk's tail is fitted to are all one value, so there is no
   tail (tail 0) and the ranks judge.  Six pulses among 2,000 scores sit
   at the level of their count, under the vote's 0.999 (the bulk's
   "tail" of scale 1e-9 put them at 1); a pulse twice as high is past
   everything seen and passes 0.9999.  An ensemble so calibrated is saved
   and loaded, and decides alike: the pulse is no anomaly, the double one
   is. */
static void test_calibration_one_valued_bulk(void)
{
    enum { N = 2000 };
    static float x[N];
    float row, score;
    an_calibration c;
    an_ensemble_config ec = an_ensemble_config_init();
    an_ensemble_decision d;
    an_detector *e = NULL, *m = NULL, *loaded = NULL;
    size_t i;
    for (i = 0; i < N; i++) x[i] = i % 333 == 100 ? 1.0f : 0.0f;
    CHECK_OK(an_calibration_fit(&c, x, N, NULL));
    CHECK(c.tail == 0.0);
    CHECK(an_calibration_likelihood(&c, 1.0) > 0.99);
    CHECK(an_calibration_likelihood(&c, 1.0) < 0.999);
    CHECK(an_calibration_likelihood(&c, 0.5) <= an_calibration_likelihood(&c, 1.0));
    CHECK(an_calibration_likelihood(&c, 2.0) > 0.9999);
    CHECK(an_calibration_likelihood(&c, -1.0) == 0.0);
    CHECK_OK(an_ensemble_create(&ec, 1, NULL, &e));
    CHECK_OK(zdet_create(1, &an__default_allocator, &m));
    CHECK_OK(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, x, N));
    loaded = toy_reload(e);
    CHECK(loaded != NULL);
    if (!loaded) { an_detector_destroy(e); return; }
    row = 1.0f;
    CHECK_OK(an_detector_push(loaded, &row, &score));
    CHECK_OK(an_ensemble_last(loaded, &d));
    CHECK(!d.anomaly);
    row = 2.0f;
    CHECK_OK(an_detector_push(loaded, &row, &score));
    CHECK_OK(an_ensemble_last(loaded, &d));
    CHECK(d.anomaly);
    an_detector_destroy(loaded);
    an_detector_destroy(e);
}

int main(void)
{
    printf("test_core: SIMD path %s\n", an_simd_name(an_simd_path()));
    RUN(test_result_strings);
    RUN(test_default_allocator);
    RUN(test_arena);
    RUN(test_tensors);
    RUN(test_rng_reference);
    RUN(test_rng_distributions);
    RUN(test_kernel_vectors);
    RUN(test_kernel_gemv);
    RUN(test_kernel_gemm);
    RUN(test_kernel_gemm_blocking_bits);
    RUN(test_kernel_gemm_scalar_and_padding);
    RUN(test_kernel_activations);
    RUN(test_kernel_lstm_gates);
    RUN(test_fill_missing);
    RUN(test_fill_seasonal);
    RUN(test_scalers);
    RUN(test_scaler_preallocated_and_saved);
    RUN(test_windows);
    RUN(test_time_features);
    RUN(test_days_from_civil);
    RUN(test_percentiles);
    RUN(test_sigma_and_ewma);
    RUN(test_metrics_against_sklearn);
    RUN(test_metric_errors);
    RUN(test_events_and_point_adjust);
    RUN(test_nab_hand_cases);
    RUN(test_nab_against_reference);
    RUN(test_model_round_trip);
    RUN(test_model_corruption);
    RUN(test_model_hostile_lengths);
    RUN(test_writer_errors);
    RUN(test_file_helpers);
    RUN(test_detector_contract);
    RUN(test_allocation_failures);
    RUN(test_alarm_hand_case);
    RUN(test_alarm_batch_equals_streaming);
    RUN(test_alarm_errors);
    RUN(test_onset);
    RUN(test_calibration);
    RUN(test_calibration_short_series);
    RUN(test_calibration_past_the_top);
    RUN(test_calibration_one_valued_bulk);
    RUN(test_ensemble_surprise_pool);
    RUN(test_ensemble_sustained_vote);
    RUN(test_ensemble_sustained_idle);
    RUN(test_ensemble_normal_training);
    RUN(test_ensemble_flatline);
    RUN(test_ensemble_quiet);
    return test_finish("test_core");
}
