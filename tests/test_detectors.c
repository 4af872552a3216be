/* test_detectors.c - the detectors of anomaly_stats.h sections 3.2-3.4
   (generalized ESD, S-H-ESD, level and volatility shift, KS drift,
   isolation forest) against the NIST/SEMATECH e-Handbook's worked GESD
   example; mpmath, scipy and scikit-learn values frozen in
   tests/fixtures/detectors_ref.h; an R computation of S-H-ESD in
   tests/fixtures/shesd_r.h; brute-force recomputations; and properties:
   batch == streaming bit for bit, save/load bit for bit, no allocation
   after fit, awkward inputs, allocation failures and hostile model
   files. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "test.h"
#include "fixtures/detectors_ref.h"
#include "fixtures/shesd_r.h"

#include <float.h>
#include <stdlib.h>
#include <time.h>

#define PI 3.14159265358979323846

/* --------------------------------------------------------------------------
   Helpers
   -------------------------------------------------------------------------- */

static const an_detector_vtable *all_types[7];

static void init_types(void)
{
    all_types[0] = an_gesd_type();
    all_types[1] = an_shesd_type();
    all_types[2] = an_level_shift_type();
    all_types[3] = an_volatility_shift_type();
    all_types[4] = an_ks_drift_type();
    all_types[5] = an_iforest_type();
    all_types[6] = an_stl_runs_type();
}

static int rel_close(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fabs(b) || a == b;
}

/* Save d into a fresh writer; the caller uninits w. */
static void save_model(const an_detector *d, an_writer *w, const void **data, size_t *size)
{
    CHECK_OK(an_writer_init(w, NULL));
    CHECK_OK(an_detector_save(d, w));
    CHECK_OK(an_writer_finish(w, data, size));
}

static an_result load_model(const void *data, size_t size, const an_allocator *a, an_detector **out)
{
    an_reader r;
    an_result res;
    *out = NULL;
    if ((res = an_model_open(&r, data, size)) != AN_OK) return res;
    return an_detector_load(&r, all_types, 7, a, out);
}

/* Saving d and loading it back gives a detector that scores x exactly as
   d does. */
static void check_roundtrip(an_detector *d, const float *x, size_t n)
{
    an_writer w;
    const void *data;
    size_t size, i, mismatches = 0;
    an_detector *e = NULL;
    float *s1 = (float *)malloc(n * sizeof(float)), *s2 = (float *)malloc(n * sizeof(float));
    save_model(d, &w, &data, &size);
    CHECK_OK(load_model(data, size, NULL, &e));
    if (e) {
        CHECK(e->vt == d->vt && e->n_features == d->n_features && e->fitted);
        CHECK_OK(an_detector_score(d, x, n, s1));
        CHECK_OK(an_detector_score(e, x, n, s2));
        for (i = 0; i < n; i++) mismatches += memcmp(&s1[i], &s2[i], sizeof(float)) != 0;
        CHECK_EQ_SIZE(mismatches, 0);
        an_detector_destroy(e);
    }
    an_writer_uninit(&w);
    free(s1);
    free(s2);
}

/* score() of x equals pushing x row by row from the fitted state, bit for
   bit, and leaves the live stream where it was. */
static void check_batch_is_stream(an_detector *d, const float *x, size_t n)
{
    size_t F = d->n_features, i, mismatches = 0;
    float *batch = (float *)malloc(n * sizeof(float)), *again = (float *)malloc(n * sizeof(float)), s = 0, s2 = 0;
    CHECK_OK(an_detector_reset(d));
    CHECK_OK(an_detector_score(d, x, n, batch));
    for (i = 0; i < n; i++) {
        CHECK_OK(an_detector_push(d, x + i * F, &s));
        mismatches += memcmp(&s, &batch[i], sizeof s) != 0;
        if (i == n / 2) {   /* a batch call mid-stream must not move the stream */
            CHECK_OK(an_detector_score(d, x, n, again));
        }
    }
    CHECK_EQ_SIZE(mismatches, 0);
    for (i = 0; i < n; i++) mismatches += memcmp(&again[i], &batch[i], sizeof(float)) != 0;
    CHECK_EQ_SIZE(mismatches, 0);
    /* reset goes back to the fitted state */
    CHECK_OK(an_detector_reset(d));
    CHECK_OK(an_detector_push(d, x, &s2));
    CHECK(memcmp(&s2, &batch[0], sizeof s2) == 0);
    CHECK_OK(an_detector_reset(d));
    free(batch);
    free(again);
}

static void gaussian(an_rng *rng, float *x, size_t n, double mean, double sd)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] = (float)(mean + sd * an_rng_normal(rng));
}

/* --------------------------------------------------------------------------
   Special functions
   -------------------------------------------------------------------------- */

static void test_student_t(void)
{
    int i;
    double v = 0.0, worst = 0.0, worst_scipy = 0.0;
    for (i = 0; i < REF_T_N; i++) {
        double e;
        CHECK_OK(an_t_isf(ref_t_q[i], ref_t_df[i], &v));
        e = fabs(v - ref_t_isf[i]) / fabs(ref_t_isf[i]);
        if (e > worst) worst = e;
        if (!(e <= (ref_t_df[i] <= 1000 ? 1e-13 : 2e-12)))
            TEST__FAIL("t.isf(%g, %g) = %.17g, mpmath %.17g", ref_t_q[i], ref_t_df[i], v, ref_t_isf[i]);
        e = fabs(v - ref_t_isf_scipy[i]) / fabs(ref_t_isf_scipy[i]);
        if (e > worst_scipy) worst_scipy = e;
        CHECK(e <= 1e-8);
        /* the lower tail by symmetry */
        CHECK_OK(an_t_isf(1.0 - ref_t_q[i], ref_t_df[i], &v));
        CHECK(rel_close(-v, ref_t_isf[i], ref_t_q[i] < 1e-3 ? 1e-6 : 1e-12));
    }
    printf("  t.isf: worst relative error %.1e against mpmath, %.1e against scipy (%d values)\n", worst,
           worst_scipy, REF_T_N);
    worst = worst_scipy = 0.0;
    for (i = 0; i < REF_TCDF_N; i++) {
        double e, tail = ref_tcdf[i] < 0.5 ? ref_tcdf[i] : 1.0 - ref_tcdf[i];
        CHECK_OK(an_t_cdf(ref_tcdf_t[i], ref_tcdf_df[i], &v));
        /* relative in the lower tail, absolute above it (1 - cdf is not representable better) */
        e = ref_tcdf[i] < 0.5 && tail > 0.0 ? fabs(v - ref_tcdf[i]) / tail : fabs(v - ref_tcdf[i]);
        if (e > worst) worst = e;
        if (!(e <= (ref_tcdf_df[i] <= 1000 ? 1e-13 : 2e-12)))
            TEST__FAIL("t.cdf(%g, %g) = %.17g, mpmath %.17g", ref_tcdf_t[i], ref_tcdf_df[i], v, ref_tcdf[i]);
        e = fabs(v - ref_tcdf_scipy[i]);
        if (e > worst_scipy) worst_scipy = e;
        CHECK(e <= 1e-12);
    }
    printf("  t.cdf: worst error %.1e against mpmath, %.1e absolute against scipy (%d values)\n", worst, worst_scipy,
           REF_TCDF_N);
    /* closed forms: Cauchy (df 1) and lgamma */
    CHECK_OK(an_t_isf(0.25, 1.0, &v));
    CHECK_NEAR(v, 1.0, 1e-14);
    CHECK_OK(an_lgamma(0.5, &v));
    CHECK_NEAR(v, 0.5 * log(PI), 4e-15);
    CHECK_OK(an_lgamma(171.5, &v));
    CHECK(rel_close(v, 709.14316303092824, 1e-15));      /* mpmath.loggamma(171.5) */
    CHECK_OK(an_beta_inc(2.0, 3.0, 0.4, &v));            /* I_0.4(2,3) = 0.5248 exactly */
    CHECK_NEAR(v, 0.5248, 4e-15);
    CHECK_OK(an_beta_inc(2.0, 3.0, 0.0, &v));
    CHECK(v == 0.0);
    CHECK_OK(an_beta_inc(2.0, 3.0, 1.0, &v));
    CHECK(v == 1.0);
    CHECK_RESULT(an_t_isf(0.0, 3.0, &v), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_t_isf(0.5, 0.0, &v), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_t_cdf(NAN, 3.0, &v), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_beta_inc(-1.0, 3.0, 0.5, &v), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lgamma(0.0, &v), AN_ERR_INVALID_ARG);
}

/* --------------------------------------------------------------------------
   Generalized ESD
   -------------------------------------------------------------------------- */

/* Rosner's 54 values, from the NIST/SEMATECH e-Handbook of Statistical
   Methods, section 1.3.5.17.3 "Generalized ESD Test for Outliers"
   (https://www.itl.nist.gov/div898/handbook/eda/section3/eda35h3.htm),
   with its table of R_i and lambda_i for up to 10 outliers at alpha 0.05
   (printed to three decimals, truncated). */
static const double rosner[54] = {
    -0.25, 0.68, 0.94, 1.15, 1.20, 1.26, 1.26, 1.34, 1.38, 1.43, 1.49, 1.49, 1.55, 1.56,
    1.58, 1.65, 1.69, 1.70, 1.76, 1.77, 1.81, 1.91, 1.94, 1.96, 1.99, 2.06, 2.09, 2.10,
    2.14, 2.15, 2.23, 2.24, 2.26, 2.35, 2.37, 2.40, 2.47, 2.54, 2.62, 2.64, 2.90, 2.92,
    2.92, 2.93, 3.21, 3.26, 3.30, 3.59, 3.68, 4.30, 4.64, 5.34, 5.42, 6.01
};
static const double nist_R[10] = { 3.118, 2.942, 3.179, 2.810, 2.815, 2.848, 2.279, 2.310, 2.101, 2.067 };
static const double nist_lambda[10] = { 3.158, 3.151, 3.143, 3.136, 3.128, 3.120, 3.111, 3.103, 3.094, 3.085 };

static void test_gesd_nist(void)
{
    double R[10], lam[10];
    size_t order[10], n_out = 99;
    int i;
    CHECK_OK(an_gesd(rosner, 54, 10, 0.05, AN_ESD_BOTH, 0, R, lam, order, &n_out, NULL));
    CHECK_EQ_SIZE(n_out, 3);
    CHECK_EQ_SIZE(n_out, REF_ROSNER_OUTLIERS);
    for (i = 0; i < 10; i++) {
        /* the handbook truncates to three decimals */
        CHECK_NEAR(floor(R[i] * 1000.0) / 1000.0, nist_R[i], 1e-9);
        CHECK_NEAR(floor(lam[i] * 1000.0) / 1000.0, nist_lambda[i], 1e-9);
        CHECK(rel_close(R[i], ref_rosner_R[i], 1e-13));
        CHECK(rel_close(lam[i], ref_rosner_lambda[i], 1e-12));
        CHECK_EQ_SIZE(order[i], (size_t)ref_rosner_order[i]);
    }
    /* the three outliers are the three largest values */
    CHECK(order[0] == 53 && order[1] == 52 && order[2] == 51);
}

static void test_gesd_robust_reference(void)
{
    double R[REF_RGESD_K], lam[REF_RGESD_K];
    size_t order[REF_RGESD_K], n_out;
    static const double *const refR[3] = { ref_rgesd_R_both, ref_rgesd_R_upper, ref_rgesd_R_lower };
    static const double *const refL[3] = { ref_rgesd_lambda_both, ref_rgesd_lambda_upper, ref_rgesd_lambda_lower };
    static const int *const refO[3] = { ref_rgesd_order_both, ref_rgesd_order_upper, ref_rgesd_order_lower };
    static const int refN[3] = { REF_RGESD_OUTLIERS_BOTH, REF_RGESD_OUTLIERS_UPPER, REF_RGESD_OUTLIERS_LOWER };
    int t, i;
    for (t = 0; t < 3; t++) {
        CHECK_OK(an_gesd(ref_rgesd_x, REF_RGESD_N, REF_RGESD_K, 0.05, (an_esd_tail)t, 1, R, lam, order, &n_out,
                         NULL));
        CHECK_EQ_SIZE(n_out, (size_t)refN[t]);
        for (i = 0; i < REF_RGESD_K; i++) {
            CHECK(rel_close(R[i], refR[t][i], 1e-13));
            CHECK(rel_close(lam[i], refL[t][i], 1e-12));
            CHECK_EQ_SIZE(order[i], (size_t)refO[t][i]);
        }
    }
    CHECK(refN[0] >= 2);   /* the planted 9.0 and -7.5 */
}

static void test_gesd_errors(void)
{
    double R[3], lam[3], x[5] = { 1, 2, 3, 4, 5 }, flat[6] = { 2, 2, 2, 2, 2, 9 };
    size_t order[3], n_out;
    counting c = { 0, 0, 0, 0 };
    an_allocator a = counting_allocator(&c);
    CHECK_RESULT(an_gesd(x, 5, 0, 0.05, AN_ESD_BOTH, 0, R, lam, order, &n_out, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_gesd(x, 4, 3, 0.05, AN_ESD_BOTH, 0, R, lam, order, &n_out, NULL), AN_ERR_TOO_SHORT);
    CHECK_RESULT(an_gesd(x, 5, 2, 1.5, AN_ESD_BOTH, 0, R, lam, order, &n_out, NULL), AN_ERR_INVALID_ARG);
    x[2] = NAN;
    CHECK_RESULT(an_gesd(x, 5, 2, 0.05, AN_ESD_BOTH, 0, R, lam, order, &n_out, NULL), AN_ERR_INPUT);
    /* the scale vanishes after removing the 9: the test stops there */
    CHECK_OK(an_gesd(flat, 6, 3, 0.05, AN_ESD_BOTH, 0, R, lam, order, &n_out, &a));
    CHECK(order[0] == 5 && order[1] == (size_t)-1 && R[1] == 0.0 && lam[2] > 0.0 && lam[2] < lam[1]);
    CHECK(c.live == 0 && c.calls == 1);
}

static void test_gesd_detector(void)
{
    an_gesd_config c = an_gesd_config_init(10.0 / 54.0, 0.05);
    an_detector *d;
    float x[54], s[54], one;
    size_t i, above = 0;
    double R[10], lam[10];
    size_t order[10], n_out;
    for (i = 0; i < 54; i++) x[i] = (float)rosner[i];
    CHECK_OK(an_gesd_create(&c, 1, NULL, &d));
    CHECK_RESULT(an_detector_score(d, x, 54, s), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(d, x, 54));
    CHECK_OK(an_detector_score(d, x, 54, s));
    for (i = 0; i < 54; i++) {
        CHECK(an__finite(s[i]) && s[i] >= 0.0f);
        above += s[i] > 1.0f;
    }
    CHECK_EQ_SIZE(above, 3);
    CHECK(s[53] > 1.0f && s[52] > 1.0f && s[51] > 1.0f);
    /* scores fall along the order of removal, non-candidates below all */
    {
        double xd[54];
        for (i = 0; i < 54; i++) xd[i] = x[i];
        CHECK_OK(an_gesd(xd, 54, 10, 0.05, AN_ESD_BOTH, 0, R, lam, order, &n_out, NULL));
        for (i = 1; i < 10; i++) CHECK(s[order[i]] <= s[order[i - 1]]);
        for (i = 0; i < 54; i++) {
            size_t j;
            int cand = 0;
            for (j = 0; j < 10; j++) cand |= order[j] == i;
            if (!cand) CHECK(s[i] <= s[order[9]]);
        }
        /* the first candidate scores max_j R_j / lambda_j */
        CHECK_NEAR(s[order[0]], R[2] / lam[2], 1e-6);
    }
    /* batch only */
    CHECK_RESULT(an_detector_push(d, x, &one), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_detector_score(d, x, 3, s), AN_ERR_TOO_SHORT);
    {
        float big[60] = { 0 };
        CHECK_RESULT(an_detector_score(d, big, 60, s), AN_ERR_TOO_LARGE);   /* capacity 54 */
    }
    x[7] = INFINITY;
    CHECK_RESULT(an_detector_score(d, x, 54, s), AN_ERR_INPUT);
    x[7] = (float)rosner[7];
    check_roundtrip(d, x, 54);
    an_detector_destroy(d);
    /* the points left after k removals all equal: their scale is 0, and
       their scores 0, not 0 / 0 */
    {
        float flat[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 5, 6 }, sf[10];
        an_gesd_config cf = an_gesd_config_init(0.2, 0.05);
        an_detector *g;
        CHECK_OK(an_gesd_create(&cf, 1, NULL, &g));
        CHECK_OK(an_detector_fit(g, flat, 10));
        CHECK_OK(an_detector_score(g, flat, 10, sf));
        for (i = 0; i < 8; i++) CHECK(sf[i] == 0.0f);
        CHECK(sf[9] > 0.0f && sf[8] > 0.0f && sf[9] >= sf[8]);
        an_detector_destroy(g);
    }
    /* configuration errors */
    CHECK_RESULT(an_gesd_create(&c, 2, NULL, &d), AN_ERR_SHAPE);
    CHECK(d == NULL);
    c.max_anoms = 0.5;
    CHECK_RESULT(an_gesd_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = an_gesd_config_init(0.1, 0.0);
    CHECK_RESULT(an_gesd_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    /* robust, one-sided, and a larger capacity than the fit */
    c = an_gesd_config_init(0.1, 0.05);
    c.robust = 1;
    c.tail = AN_ESD_LOWER;
    c.capacity = 200;
    CHECK_OK(an_gesd_create(&c, 1, NULL, &d));
    CHECK_OK(an_detector_fit(d, x, 54));
    {
        float y[200], sy[200];
        an_rng rng;
        an_rng_seed(&rng, 5, 0);
        gaussian(&rng, y, 200, 10.0, 1.0);
        y[17] = 30.0f;    /* a spike: ignored by a lower-tail test */
        y[140] = -5.0f;   /* a dip */
        CHECK_OK(an_detector_score(d, y, 200, sy));
        CHECK(sy[140] > 1.0f);
        CHECK(sy[17] == 0.0f);
        check_roundtrip(d, y, 200);
    }
    an_detector_destroy(d);
}

/* --------------------------------------------------------------------------
   Seasonal-hybrid ESD
   -------------------------------------------------------------------------- */

static void seasonal_series(float *x, size_t n, size_t period, unsigned seed)
{
    an_rng rng;
    size_t t;
    an_rng_seed(&rng, seed, 1);
    for (t = 0; t < n; t++)
        x[t] = (float)(10.0 + 0.002 * (double)t + 3.0 * sin(2.0 * PI * (double)t / (double)period) +
                       1.0 * cos(4.0 * PI * (double)t / (double)period) + 0.3 * an_rng_normal(&rng));
}

static void test_shesd(void)
{
    enum { N = 24 * 14 };
    float x[N], s[N];
    double xd[N], res[N], sea[N], tre[N], rem[N], med;
    an_shesd_config c = an_shesd_config_init(24, 0.02, 0.05);
    an_detector *d;
    an_stl_config sc = an_stl_config_init(24, AN_STL_PERIODIC, 1);
    size_t i, above = 0, period = 0;
    seasonal_series(x, N, 24, 3);
    x[50] += 4.0f;
    x[200] -= 4.0f;
    x[300] += 5.0f;
    for (i = 0; i < N; i++) xd[i] = x[i];
    /* the residual is x - seasonal (periodic robust STL) - median(x), exactly */
    CHECK_OK(an_shesd_residual(xd, N, 24, 1, res, NULL));
    CHECK_OK(an_stl_decompose(&sc, xd, N, sea, tre, rem, NULL, NULL));
    {
        double tmp[N];
        memcpy(tmp, xd, sizeof tmp);
        /* median of an even count: mean of the two middle values */
        {
            int sorted = 0;
            while (!sorted) {
                sorted = 1;
                for (i = 1; i < N; i++)
                    if (tmp[i] < tmp[i - 1]) { double t = tmp[i]; tmp[i] = tmp[i - 1]; tmp[i - 1] = t; sorted = 0; }
            }
            med = 0.5 * (tmp[N / 2 - 1] + tmp[N / 2]);
        }
    }
    for (i = 0; i < N; i++) CHECK(res[i] == xd[i] - sea[i] - med);
    CHECK_OK(an_shesd_create(&c, 1, NULL, &d));
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_score(d, x, N, s));
    for (i = 0; i < N; i++) above += s[i] > 1.0f;
    CHECK(s[50] > 1.0f && s[200] > 1.0f && s[300] > 1.0f);
    CHECK(above <= 6);
    printf("  S-H-ESD: %zu of %d points flagged, the 3 planted among them\n", above, (int)N);
    CHECK_OK(an_shesd_period(d, &period));
    CHECK_EQ_SIZE(period, 24);
    check_roundtrip(d, x, N);
    CHECK_RESULT(an_detector_push(d, x, s), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_detector_score(d, x, 48, s), AN_ERR_TOO_SHORT);   /* two periods are not enough */
    an_detector_destroy(d);
    /* period 0: found from the training rows */
    c.period = 0;
    CHECK_OK(an_shesd_create(&c, 1, NULL, &d));
    seasonal_series(x, N, 24, 4);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_shesd_period(d, &period));
    CHECK_EQ_SIZE(period, 24);
    an_detector_destroy(d);
    /* errors */
    c = an_shesd_config_init(24, 0.5, 0.05);
    CHECK_RESULT(an_shesd_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = an_shesd_config_init(1, 0.1, 0.05);
    CHECK_RESULT(an_shesd_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = an_shesd_config_init(24, 0.1, 0.05);
    CHECK_RESULT(an_shesd_create(&c, 3, NULL, &d), AN_ERR_SHAPE);
    CHECK_OK(an_shesd_create(&c, 1, NULL, &d));
    CHECK_RESULT(an_detector_fit(d, x, 40), AN_ERR_TOO_SHORT);
    CHECK_RESULT(an_shesd_period(d, &period), AN_ERR_NOT_FITTED);
    an_detector_destroy(d);
    CHECK_RESULT(an_shesd_residual(xd, 40, 24, 1, res, NULL), AN_ERR_TOO_SHORT);
}

/* Against R: Twitter's procedure written with R's stl, median, mad and qt
   (tests/fixtures/gen_shesd_r.R), both tails and each one. */
static void test_shesd_against_r(void)
{
    static double res[SHESD_R_N];
    static float xf[SHESD_R_N], s[SHESD_R_N];
    double R[SHESD_R_K], lam[SHESD_R_K], worst = 0.0, worst_l = 0.0;
    size_t order[SHESD_R_K], n_out, i;
    static const double *const refR[3] = { shesd_r_R_both, shesd_r_R_pos, shesd_r_R_neg };
    static const double *const refL[3] = { shesd_r_lambda_both, shesd_r_lambda_pos, shesd_r_lambda_neg };
    static const int *const refO[3] = { shesd_r_order_both, shesd_r_order_pos, shesd_r_order_neg };
    static const int refN[3] = { SHESD_R_FOUND_BOTH, SHESD_R_FOUND_POS, SHESD_R_FOUND_NEG };
    int t;
    CHECK_OK(an_shesd_residual(shesd_r_x, SHESD_R_N, SHESD_R_PERIOD, 1, res, NULL));
    for (i = 0; i < SHESD_R_N; i++) {
        double e = fabs(res[i] - shesd_r_resid[i]);
        if (e > worst) worst = e;
    }
    CHECK(worst < 1e-12);
    for (t = 0; t < 3; t++) {
        an_shesd_config c = an_shesd_config_init(SHESD_R_PERIOD, 0.02, 0.05);
        an_detector *d;
        size_t above = 0;
        CHECK_OK(an_gesd(res, SHESD_R_N, SHESD_R_K, 0.05, (an_esd_tail)t, 1, R, lam, order, &n_out, NULL));
        CHECK_EQ_SIZE(n_out, (size_t)refN[t]);
        for (i = 0; i < SHESD_R_K; i++) {
            CHECK_EQ_SIZE(order[i], (size_t)refO[t][i]);
            CHECK(rel_close(R[i], refR[t][i], 1e-12));
            if (fabs(lam[i] / refL[t][i] - 1.0) > worst_l) worst_l = fabs(lam[i] / refL[t][i] - 1.0);
            CHECK(rel_close(lam[i], refL[t][i], 1e-12));
        }
        /* the detector flags exactly R's anomalies */
        for (i = 0; i < SHESD_R_N; i++) xf[i] = (float)shesd_r_x[i];
        c.tail = (an_esd_tail)t;
        CHECK_OK(an_shesd_create(&c, 1, NULL, &d));
        CHECK_OK(an_detector_fit(d, xf, SHESD_R_N));
        CHECK_OK(an_detector_score(d, xf, SHESD_R_N, s));
        for (i = 0; i < SHESD_R_N; i++) above += s[i] > 1.0f;
        CHECK_EQ_SIZE(above, (size_t)refN[t]);
        for (i = 0; i < (size_t)refN[t]; i++) CHECK(s[refO[t][i]] > 1.0f);
        an_detector_destroy(d);
    }
    printf("  S-H-ESD vs R: residual within %.1e, lambda within %.1e relative; %d / %d / %d anomalies\n", worst,
           worst_l, SHESD_R_FOUND_BOTH, SHESD_R_FOUND_POS, SHESD_R_FOUND_NEG);
}

/* --------------------------------------------------------------------------
   Level and volatility shift
   -------------------------------------------------------------------------- */

/* The statistic recomputed from scratch in double, two passes. */
static double shift_brute(const float *all, size_t end, size_t w, int volatility, double floor_)
{
    double ml = 0, mr = 0, vl = 0, vr = 0;
    size_t j;
    const float *L = all + end - 2 * w, *R = all + end - w;
    for (j = 0; j < w; j++) { ml += L[j]; mr += R[j]; }
    ml /= (double)w; mr /= (double)w;
    for (j = 0; j < w; j++) { vl += (L[j] - ml) * (L[j] - ml); vr += (R[j] - mr) * (R[j] - mr); }
    vl /= (double)w; vr /= (double)w;
    if (volatility) return 0.5 * fabs(log((vr + floor_) / (vl + floor_)));
    return fabs(mr - ml) / sqrt((vl + vr) / (double)w + floor_);
}

static void test_level_shift(void)
{
    enum { NT = 200, NS = 300, W = 20 };
    float all[NT + NS], s[NS], *train = all, *stream = all + NT;
    an_level_shift_config c = an_level_shift_config_init(W);
    an_detector *d;
    an_rng rng;
    size_t i, arg = 0;
    double pre = 0.0, worst = 0.0, var = 0.0, mean = 0.0;
    an_rng_seed(&rng, 11, 0);
    gaussian(&rng, all, NT + 150, 0.0, 1.0);
    gaussian(&rng, all + NT + 150, 150, 3.0, 1.0);
    CHECK_OK(an_level_shift_create(&c, 1, NULL, &d));
    CHECK_RESULT(an_detector_reset(d), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_detector_fit(d, train, 2 * W - 1), AN_ERR_TOO_SHORT);
    CHECK_OK(an_detector_fit(d, train, NT));
    CHECK_OK(an_detector_score(d, stream, NS, s));
    for (i = 0; i < NT; i++) mean += train[i];
    mean /= NT;
    for (i = 0; i < NT; i++) var += (train[i] - mean) * (train[i] - mean);
    var /= NT;
    for (i = 0; i < NS; i++) {
        double b = shift_brute(all, NT + i + 1, W, 0, 1e-12 * var + 1e-30), e = fabs(s[i] - b) / (b + 1e-3);
        if (e > worst) worst = e;
        if (i < 150 && s[i] > pre) pre = s[i];
        if (s[i] > s[arg]) arg = i;
    }
    CHECK(worst < 1e-5);
    CHECK(pre < 5.0);
    CHECK(s[arg] > 7.0);
    CHECK(arg >= 160 && arg <= 178);
    printf("  level shift: peak %.2f at %zu (shift at 150, w %d), before it at most %.2f\n", s[arg], arg, W, pre);
    check_batch_is_stream(d, stream, NS);
    check_roundtrip(d, stream, NS);
    {
        float nan = NAN, one;
        CHECK_RESULT(an_detector_push(d, &nan, &one), AN_ERR_INPUT);
    }
    an_detector_destroy(d);
    c.window = 1;
    CHECK_RESULT(an_level_shift_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c.window = 5;
    CHECK_RESULT(an_level_shift_create(&c, 0, NULL, &d), AN_ERR_SHAPE);
}

/* Several features: the score is the largest of the univariate scores,
   bit for bit. */
static void test_shift_multivariate(void)
{
    enum { NT = 100, NS = 120, F = 3, W = 10 };
    float x[(NT + NS) * F], col[NT + NS], s[NS], s1[NS], best[NS];
    int vol;
    size_t i, f, bad = 0;
    an_rng rng;
    an_rng_seed(&rng, 31, 0);
    for (i = 0; i < (NT + NS) * F; i++) x[i] = (float)(an_rng_normal(&rng) * (1.0 + (double)(i % F)));
    for (i = NT + 60; i < NT + NS; i++) x[i * F + 1] += 4.0f;                  /* a shift in feature 1 */
    for (i = NT + 60; i < NT + NS; i++) x[i * F + 2] *= 3.0f;                  /* more spread in 2 */
    for (vol = 0; vol < 2; vol++) {
        an_detector *d, *u;
        an_level_shift_config lc = an_level_shift_config_init(W);
        an_volatility_shift_config vc = an_volatility_shift_config_init(W);
        if (vol) CHECK_OK(an_volatility_shift_create(&vc, F, NULL, &d));
        else CHECK_OK(an_level_shift_create(&lc, F, NULL, &d));
        CHECK_OK(an_detector_fit(d, x, NT));
        CHECK_OK(an_detector_score(d, x + NT * F, NS, s));
        for (i = 0; i < NS; i++) best[i] = 0.0f;
        for (f = 0; f < F; f++) {
            for (i = 0; i < NT + NS; i++) col[i] = x[i * F + f];
            if (vol) CHECK_OK(an_volatility_shift_create(&vc, 1, NULL, &u));
            else CHECK_OK(an_level_shift_create(&lc, 1, NULL, &u));
            CHECK_OK(an_detector_fit(u, col, NT));
            CHECK_OK(an_detector_score(u, col + NT, NS, s1));
            for (i = 0; i < NS; i++) if (s1[i] > best[i]) best[i] = s1[i];
            an_detector_destroy(u);
        }
        for (i = 0; i < NS; i++) bad += s[i] != best[i];
        CHECK_EQ_SIZE(bad, 0);
        check_batch_is_stream(d, x + NT * F, NS);
        check_roundtrip(d, x + NT * F, NS);
        an_detector_destroy(d);
    }
}

static void test_volatility_shift(void)
{
    enum { NT = 200, NS = 300, W = 40 };
    float all[NT + NS], s[NS], *stream = all + NT;
    an_volatility_shift_config c = an_volatility_shift_config_init(W);
    an_detector *d;
    an_rng rng;
    size_t i, arg = 0;
    double pre = 0.0;
    an_rng_seed(&rng, 12, 0);
    gaussian(&rng, all, NT + 150, 5.0, 1.0);
    gaussian(&rng, all + NT + 150, 150, 5.0, 3.0);
    CHECK_OK(an_volatility_shift_create(&c, 1, NULL, &d));
    CHECK_OK(an_detector_fit(d, all, NT));
    CHECK_OK(an_detector_score(d, stream, NS, s));
    for (i = 0; i < NS; i++) {
        double b = shift_brute(all, NT + i + 1, W, 1, s[0] * 0 + 1e-30);
        CHECK(fabs(s[i] - b) < 1e-4);
        if (i < 150 && s[i] > pre) pre = s[i];
        if (s[i] > s[arg]) arg = i;
    }
    CHECK(pre < 0.7);
    CHECK(s[arg] > 0.85);
    CHECK(arg >= 170 && arg <= 210);
    printf("  volatility shift: peak %.3f at %zu (sd x3 at 150, ln 3 = 1.099), before it at most %.3f\n", s[arg], arg,
           pre);
    check_batch_is_stream(d, stream, NS);
    check_roundtrip(d, stream, NS);
    an_detector_destroy(d);
}

/* A long stream far from zero: the running sums, recomputed every w
   points, stay within rounding of a fresh computation. */
static void test_shift_long_stream(void)
{
    enum { W = 50, N = 200000 };
    float *x = (float *)malloc(N * sizeof(float)), one = 0;
    an_level_shift_config c = an_level_shift_config_init(W);
    an_volatility_shift_config cv = an_volatility_shift_config_init(W);
    an_detector *d, *v;
    an_rng rng;
    size_t i;
    double b, t0, t1;
    float lv = 0, vv = 0;
    an_rng_seed(&rng, 13, 0);
    for (i = 0; i < N; i++)
        x[i] = (float)((i < 1000 ? 0.0 : 1e5) + 50.0 * sin((double)i / 300.0) + an_rng_normal(&rng));
    CHECK_OK(an_level_shift_create(&c, 1, NULL, &d));
    CHECK_OK(an_volatility_shift_create(&cv, 1, NULL, &v));
    CHECK_OK(an_detector_fit(d, x, 1000));
    CHECK_OK(an_detector_fit(v, x, 1000));
    t0 = (double)clock();
    for (i = 1000; i < N; i++) CHECK_OK(an_detector_push(d, x + i, &lv));
    t1 = (double)clock();
    for (i = 1000; i < N; i++) CHECK_OK(an_detector_push(v, x + i, &vv));
    printf("  level shift push: %.1f ns per point\n", 1e9 * (t1 - t0) / CLOCKS_PER_SEC / (N - 1000));
    b = shift_brute(x, N, W, 0, 0.0);
    CHECK(fabs(lv - b) <= 1e-4 * b + 1e-4);
    b = shift_brute(x, N, W, 1, 0.0);
    CHECK(fabs(vv - b) <= 1e-4);
    (void)one;
    an_detector_destroy(d);
    an_detector_destroy(v);
    free(x);
}

/* --------------------------------------------------------------------------
   STL + IQR's runs
   -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Type 7 quantile of v (n), sorted in place. */
static double quantile7(double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    qsort(v, n, sizeof *v, cmp_double);
    if (lo + 1 >= n) return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

typedef struct runs_band { double q1, q3, iqr; } runs_band;

static runs_band runs_band_of(double *v, size_t n)
{
    runs_band b;
    double fl;
    b.q1 = quantile7(v, n, 0.25);
    b.q3 = quantile7(v, n, 0.75);
    fl = 1e-9 * (1.0 + fabs(0.5 * (b.q1 + b.q3)));
    b.iqr = b.q3 - b.q1 > fl ? b.q3 - b.q1 : fl;
    return b;
}

static double runs_band_score(const runs_band *b, double s)
{
    return (b->q1 - s > s - b->q3 ? b->q1 - s : s - b->q3) / b->iqr;
}

/* Window statistics ending at row t (inclusive): the mean of the
   residuals r, the mean absolute difference of the values v. */
static void runs_window(const double *r, const float *v, size_t t, size_t w, double *mean, double *mad1)
{
    size_t j;
    double sum = 0.0, dif = 0.0;
    for (j = 0; j < w; j++) {
        sum += r[t + 1 - w + j];
        if (j) dif += fabs((double)v[t + 1 - w + j] - (double)v[t - w + j]);
    }
    *mean = sum / (double)w;
    *mad1 = dif / (double)(w - 1);
}

/* The brute force: the residuals from a plain STL + IQR pushed row by
   row (expected before each row), windows recomputed from scratch, the
   quartiles by sorting. */
static void test_stl_runs(void)
{
    enum { P = 24, NT = 20 * P, NS = 480, W = 12 };
    static float x[NT + NS];
    static double rt[NT], rs[NS], mv[NT], sv[NT], tmp[NT];
    float s[NS], s_rows[NS], s_stl[NS], one;
    an_stl_runs_config c = an_stl_runs_config_init(P, W);
    an_stl_iqr_config sc = an_stl_iqr_config_init(P);
    an_detector *d, *dr, *stl;
    an_rng rng;
    size_t i, m = NT - W + 1, rises = NS, falls = 0, bad = 0;
    double f, worst = 0.0, clean = -HUGE_VAL, flat = HUGE_VAL, expect;
    runs_band bm, bs;
    an_rng_seed(&rng, 41, 0);
    for (i = 0; i < NT + NS; i++) x[i] = (float)(50.0 + 5.0 * sin(2.0 * PI * (double)(i % P) / P) + an_rng_normal(&rng));
    for (i = NT + 100; i < NT + 148; i++) x[i] = x[NT + 99];                  /* stuck for 48 rows */
    for (i = NT + 250; i < NT + 274; i++) x[i] += (float)(4.0 * an_rng_normal(&rng));   /* a variance burst */
    for (i = NT + 350; i < NT + 400; i++) x[i] += (float)(8.0 * (double)(i - NT - 349) / 50.0);   /* a ramp */
    CHECK_OK(an_stl_runs_create(&c, 1, NULL, &d));
    CHECK_RESULT(an_detector_reset(d), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_detector_fit(d, x, 2 * W + 7), AN_ERR_TOO_SHORT);
    CHECK_OK(an_detector_fit(d, x, NT));
    CHECK_OK(an_detector_score(d, x + NT, NS, s));
    /* the oracle */
    CHECK_OK(an_stl_iqr_create(&sc, 1, NULL, &stl));
    CHECK_OK(an_detector_fit(stl, x, NT));
    for (i = 0; i < NT; i++) {
        double e;
        CHECK_OK(an_stl_iqr_expected(stl, &e));
        rt[i] = (double)x[i] - e;
        CHECK_OK(an_detector_push(stl, x + i, &one));
    }
    CHECK_OK(an_detector_reset(stl));
    for (i = 0; i < NS; i++) {
        double e;
        CHECK_OK(an_stl_iqr_expected(stl, &e));
        rs[i] = (double)x[NT + i] - e;
        CHECK_OK(an_detector_push(stl, x + NT + i, &one));
    }
    for (i = 0; i < m; i++) runs_window(rt, x, i + W - 1, W, &mv[i], &sv[i]);
    memcpy(tmp, sv, m * sizeof(double));
    f = 1e-6 * quantile7(tmp, m, 0.5) + 1e-30;
    for (i = 0; i < m; i++) sv[i] = log(sv[i] + f);
    bm = runs_band_of(mv, m);
    bs = runs_band_of(sv, m);
    for (i = 0; i < NS; i++) {
        double mean, mad1, a, b, e;
        if (i + 1 < W) {                                 /* the window is not full yet */
            bad += s[i] != 0.0f;
            continue;
        }
        runs_window(rs, x + NT, i, W, &mean, &mad1);
        a = runs_band_score(&bm, mean);
        b = runs_band_score(&bs, log(mad1 + f));
        expect = a > b ? a : b;
        e = fabs(s[i] - expect) / (fabs(expect) + 1e-3);
        if (e > worst) worst = e;
        if (i < 90 && s[i] > clean) clean = s[i];
        if (i >= 100 + W - 1 && i < 148 && s[i] < flat) flat = s[i];
        if (i >= 100 && rises == NS && s[i] > 10.0f) rises = i;
        if (i >= 100 && i < 200 && s[i] > 10.0f) falls = i;
    }
    CHECK_EQ_SIZE(bad, 0);
    CHECK(worst < 1e-6);
    /* a stuck sensor: a window inside it has no differences at all, its
       spread is ln f, its score (Q1 - ln f) / IQR of the training spreads,
       the same on all 37 full windows of the 48 stuck rows */
    expect = (bs.q1 - log(f)) / bs.iqr;
    for (i = 100 + W - 1; i < 148; i++) CHECK(fabs(s[i] - expect) <= 1e-6 * expect);
    printf("  stl runs: stuck rows score (Q1 %.4f - ln f %.4f) / IQR %.4f = %.3f\n", bs.q1, log(f), bs.iqr, expect);
    CHECK(clean < 4.0);
    CHECK(flat > 10.0);
    CHECK(rises >= 100 && rises <= 100 + W);
    CHECK_EQ_SIZE(falls, 147);   /* the first moving row ends it: one difference as large as the season's */
    printf("  stl runs: clean rows at most %.2f, the 48 stuck rows at least %.2f (windows from %zu to %zu), worst "
           "error %.1e against the brute force\n", clean, flat, rises, falls, worst);
    {
        size_t at = 250, peak = 250;
        size_t rp = 350;
        for (at = 250; at < 290; at++) if (s[at] > s[peak]) peak = at;
        for (at = 350; at < 412; at++) if (s[at] > s[rp]) rp = at;
        printf("  stl runs: variance burst peak %.2f at %zu; ramp peak %.2f at %zu\n", s[peak], peak, s[rp], rp);
        CHECK(s[peak] > 5.0);
        CHECK(s[rp] > 5.0);
    }
    /* rows: the larger of this and STL + IQR's own score, bit for bit */
    c.rows = 1;
    CHECK_OK(an_stl_runs_create(&c, 1, NULL, &dr));
    CHECK_OK(an_detector_fit(dr, x, NT));
    CHECK_OK(an_detector_score(dr, x + NT, NS, s_rows));
    CHECK_OK(an_detector_score(stl, x + NT, NS, s_stl));
    for (i = 0, bad = 0; i < NS; i++) {
        float want = i + 1 < W ? s_stl[i] : s[i] > s_stl[i] ? s[i] : s_stl[i];
        bad += memcmp(&want, &s_rows[i], sizeof want) != 0;
    }
    CHECK_EQ_SIZE(bad, 0);
    check_batch_is_stream(d, x + NT, NS);
    check_roundtrip(d, x + NT, NS);
    check_batch_is_stream(dr, x + NT, NS);
    check_roundtrip(dr, x + NT, NS);
    /* mid-stream: a saved live window goes on as the original's */
    {
        an_writer w;
        const void *data;
        size_t size;
        an_detector *e = NULL;
        float a1 = 0, a2 = 0;
        for (i = 0; i < 130; i++) CHECK_OK(an_detector_push(dr, x + NT + i, &one));
        save_model(dr, &w, &data, &size);
        CHECK_OK(load_model(data, size, NULL, &e));
        for (i = 130; e && i < NS; i++) {
            CHECK_OK(an_detector_push(dr, x + NT + i, &a1));
            CHECK_OK(an_detector_push(e, x + NT + i, &a2));
            bad += memcmp(&a1, &a2, sizeof a1) != 0;
        }
        CHECK_EQ_SIZE(bad, 0);
        an_detector_destroy(e);
        an_writer_uninit(&w);
    }
    {
        float nan = NAN, row[NT];
        CHECK_RESULT(an_detector_push(d, &nan, &one), AN_ERR_INPUT);
        memcpy(row, x, sizeof row);
        row[7] = NAN;
        CHECK_RESULT(an_detector_fit(dr, row, NT), AN_ERR_INPUT);
    }
    an_detector_destroy(d);
    an_detector_destroy(dr);
    an_detector_destroy(stl);
    c.window = 2;
    CHECK_RESULT(an_stl_runs_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c.window = W;
    CHECK_RESULT(an_stl_runs_create(&c, 0, NULL, &d), AN_ERR_INVALID_ARG);
    c.stl.seasonal_window = 4;
    CHECK_RESULT(an_stl_runs_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK(d == NULL);
}

/* --------------------------------------------------------------------------
   Kolmogorov-Smirnov
   -------------------------------------------------------------------------- */

/* Whether a model file's bytes hold the chunk tag (in either byte order). */
static int has_tag(const void *data, size_t size, const char *tag)
{
    const unsigned char *b = (const unsigned char *)data;
    const char rev[4] = { tag[3], tag[2], tag[1], tag[0] };
    size_t i;
    for (i = 0; i + 4 <= size; i++)
        if (!memcmp(b + i, tag, 4) || !memcmp(b + i, rev, 4)) return 1;
    return 0;
}

/* STL + IQR over several features: a row's score is the largest of the
   features' scores, each divided by its tail, the 99.9th percentile of
   its training scores (at least 1).  The oracle is one single-feature
   detector per column (a single feature is scored as it is): the tails
   from their training scores, the row scores from their scores.  The
   case it is for: a command that steps (0 / 1) now and then beside a
   quiet sensor.  Without the division the steps' scores (the command's
   band has next to no width) outrank a 6-sigma spike on the sensor. */
static void test_stl_iqr_feature_tails(void)
{
    enum { P = 24, NT = 40 * P, NS = 10 * P, N = NT + NS, F = 2 };
    static float x[N * F], col[F][N];
    static double train_scores[NT];
    static float s[N], one[F][N];
    double tail[F];
    an_stl_iqr_config c = an_stl_iqr_config_init(P);
    an_detector *d = NULL, *uni[F] = { NULL, NULL }, *back = NULL;
    an_writer w;
    const void *data;
    size_t size, i, f, top, raw_top, spike = NT + 123;
    an_rng rng;
    int cmd = 0;
    double worst = 0.0;
    an_rng_seed(&rng, 77, 0);
    for (i = 0; i < N; i++) {
        if (i % 97 == 50) cmd = !cmd;                                  /* a command step every 97 rows */
        col[0][i] = (float)(10.0 + sin(2.0 * PI * (double)(i % P) / P) + 0.1 * an_rng_normal(&rng));
        col[1][i] = (float)cmd;
    }
    col[0][spike] += 0.6f;                                             /* 6 noise sds */
    for (i = 0; i < N; i++)
        for (f = 0; f < F; f++) x[i * F + f] = col[f][i];
    CHECK_OK(an_stl_iqr_create(&c, F, NULL, &d));
    CHECK_OK(an_detector_fit(d, x, NT));
    for (f = 0; f < F; f++) {
        float ts[NT];
        CHECK_OK(an_stl_iqr_create(&c, 1, NULL, &uni[f]));
        CHECK_OK(an_detector_fit(uni[f], col[f], NT));
        CHECK_OK(an_detector_score(uni[f], col[f], NT, ts));
        for (i = 0; i < NT; i++) train_scores[i] = ts[i];
        qsort(train_scores, NT, sizeof(double), cmp_double);
        tail[f] = train_scores[(size_t)(0.999 * (NT - 1))];
        if (tail[f] < 1.0) tail[f] = 1.0;
    }
    CHECK(tail[1] > 5.0 * tail[0]);                                    /* the command's steps reach far */
    CHECK_OK(an_detector_score(d, x, N, s));                          /* every row, from the start */
    for (f = 0; f < F; f++) CHECK_OK(an_detector_score(uni[f], col[f], N, one[f]));
    top = raw_top = NT;
    for (i = 0; i < N; i++) {
        double want = one[0][i] / tail[0] > one[1][i] / tail[1] ? one[0][i] / tail[0] : one[1][i] / tail[1];
        if (fabs(want - s[i]) / (fabs(want) + 1e-9) > worst) worst = fabs(want - s[i]) / (fabs(want) + 1e-9);
        if (i >= NT && s[i] > s[top]) top = i;
        if (i >= NT && (one[0][i] > one[1][i] ? one[0][i] : one[1][i]) > (one[0][raw_top] > one[1][raw_top] ? one[0][raw_top] : one[1][raw_top]))
            raw_top = i;
    }
    CHECK(worst < 1e-6);
    CHECK(top == spike);                                               /* the spike, not a step, on top */
    CHECK(raw_top != spike);                                           /* the raw largest: a step */
    /* the tails travel with the model file; a single feature writes none */
    save_model(d, &w, &data, &size);
    CHECK(has_tag(data, size, "STTL"));
    {
        const an_detector_vtable *stl_type[1];
        an_reader r;
        stl_type[0] = an_stl_iqr_type();
        CHECK_OK(an_model_open(&r, data, size));
        CHECK_OK(an_detector_load(&r, stl_type, 1, NULL, &back));
    }
    if (back) {
        static float s2[N];
        CHECK_OK(an_detector_score(back, x, N, s2));
        CHECK(memcmp(s, s2, sizeof s) == 0);
        an_detector_destroy(back);
    }
    an_writer_uninit(&w);
    save_model(uni[0], &w, &data, &size);
    CHECK(!has_tag(data, size, "STTL"));
    an_writer_uninit(&w);
    for (f = 0; f < F; f++) an_detector_destroy(uni[f]);
    an_detector_destroy(d);
}

static void test_ks_statistic(void)
{
    int i;
    double d, p;
    for (i = 0; i < REF_KS_N; i++) {
        CHECK_OK(an_ks_statistic(ref_ks_a[i], (size_t)ref_ks_na[i], ref_ks_b[i], (size_t)ref_ks_nb[i], NULL, &d));
        if (d != ref_ks_d[i]) TEST__FAIL("KS case %d: D %.17g, scipy %.17g", i, d, ref_ks_d[i]);
        CHECK_OK(an_ks_pvalue(d, (size_t)ref_ks_na[i], (size_t)ref_ks_nb[i], &p));
        CHECK(rel_close(p, ref_ks_p[i], 1e-10) || fabs(p - ref_ks_p[i]) < 1e-15);
        /* symmetric in its samples */
        CHECK_OK(an_ks_statistic(ref_ks_b[i], (size_t)ref_ks_nb[i], ref_ks_a[i], (size_t)ref_ks_na[i], NULL, &p));
        CHECK(p == d);
    }
    for (i = 0; i < REF_KOLM_N; i++) {
        CHECK_OK(an_kolmogorov_sf(ref_kolm_lambda[i], &p));
        if (!(rel_close(p, ref_kolm_sf[i], 1e-12) || fabs(p - ref_kolm_sf[i]) < 1e-16))
            TEST__FAIL("kstwobign.sf(%g) = %.17g, scipy %.17g", ref_kolm_lambda[i], p, ref_kolm_sf[i]);
    }
    CHECK_OK(an_kolmogorov_sf(0.0, &p));
    CHECK(p == 1.0);
    CHECK_RESULT(an_ks_statistic(ref_ks_a[0], 0, ref_ks_b[0], 3, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_ks_pvalue(1.5, 3, 3, &p), AN_ERR_INVALID_ARG);
    {
        float bad[2] = { 1.0f, NAN };
        CHECK_RESULT(an_ks_statistic(bad, 2, ref_ks_b[0], 3, NULL, &d), AN_ERR_INPUT);
    }
}

static void test_ks_drift(void)
{
    an_ks_drift_config c = an_ks_drift_config_init(REF_ROLL_W, AN_KS_TRAINING);
    an_detector *d;
    float s[REF_ROLL_NSTREAM], one;
    int mode, i;
    for (mode = 0; mode < 2; mode++) {
        const double *ref = mode ? ref_roll_d_prev : ref_roll_d_train;
        size_t bad = 0;
        double stat = -1.0, p = -1.0, p2 = -2.0;
        c.reference = mode ? AN_KS_PREVIOUS : AN_KS_TRAINING;
        CHECK_OK(an_ks_drift_create(&c, 1, NULL, &d));
        CHECK_RESULT(an_ks_drift_last(d, &stat, &p), AN_ERR_NOT_FITTED);
        CHECK_OK(an_detector_fit(d, ref_roll_train, REF_ROLL_NTRAIN));
        CHECK_OK(an_detector_score(d, ref_roll_stream, REF_ROLL_NSTREAM, s));
        for (i = 0; i < REF_ROLL_NSTREAM; i++) bad += s[i] != (float)ref[i];
        CHECK_EQ_SIZE(bad, 0);
        for (i = 0; i < REF_ROLL_NSTREAM; i++) {
            CHECK_OK(an_detector_push(d, ref_roll_stream + i, &one));
            CHECK_OK(an_ks_drift_last(d, &stat, NULL));
            bad += stat != ref[i];
        }
        CHECK_EQ_SIZE(bad, 0);
        CHECK_OK(an_ks_drift_last(d, &stat, &p));
        CHECK_OK(an_ks_pvalue(ref[REF_ROLL_NSTREAM - 1], mode ? REF_ROLL_W : REF_ROLL_NTRAIN, REF_ROLL_W, &p2));
        CHECK(p == p2);
        /* the drift shows: D late in the shifted part beats D early on */
        CHECK(s[REF_ROLL_NSTREAM - 1] > s[REF_ROLL_W]);
        check_batch_is_stream(d, ref_roll_stream, REF_ROLL_NSTREAM);
        check_roundtrip(d, ref_roll_stream, REF_ROLL_NSTREAM);
        an_detector_destroy(d);
    }
    c.window = 1;
    CHECK_RESULT(an_ks_drift_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c.window = 10;
    CHECK_RESULT(an_ks_drift_create(&c, 0, NULL, &d), AN_ERR_SHAPE);
    c.reference = AN_KS_PREVIOUS;
    CHECK_OK(an_ks_drift_create(&c, 1, NULL, &d));
    CHECK_RESULT(an_detector_fit(d, ref_roll_train, 19), AN_ERR_TOO_SHORT);
    an_detector_destroy(d);
}

/* Several features: the score is the largest univariate D, bit for bit. */
static void test_ks_multivariate(void)
{
    enum { NT = 80, NS = 90, F = 3, W = 12 };
    float x[(NT + NS) * F], col[NT + NS], s[NS], s1[NS], best[NS];
    int mode;
    size_t i, f, bad = 0;
    an_rng rng;
    an_rng_seed(&rng, 41, 0);
    for (i = 0; i < (NT + NS) * F; i++) x[i] = (float)(floor(an_rng_normal(&rng) * 4.0) / 4.0);   /* ties */
    for (i = NT + 40; i < NT + NS; i++) x[i * F + 2] += 1.5f;
    for (mode = 0; mode < 2; mode++) {
        an_ks_drift_config c = an_ks_drift_config_init(W, mode ? AN_KS_PREVIOUS : AN_KS_TRAINING);
        an_detector *d, *u;
        CHECK_OK(an_ks_drift_create(&c, F, NULL, &d));
        CHECK_OK(an_detector_fit(d, x, NT));
        CHECK_OK(an_detector_score(d, x + NT * F, NS, s));
        for (i = 0; i < NS; i++) best[i] = 0.0f;
        for (f = 0; f < F; f++) {
            for (i = 0; i < NT + NS; i++) col[i] = x[i * F + f];
            CHECK_OK(an_ks_drift_create(&c, 1, NULL, &u));
            CHECK_OK(an_detector_fit(u, col, NT));
            CHECK_OK(an_detector_score(u, col + NT, NS, s1));
            for (i = 0; i < NS; i++) if (s1[i] > best[i]) best[i] = s1[i];
            an_detector_destroy(u);
        }
        for (i = 0; i < NS; i++) bad += s[i] != best[i];
        CHECK_EQ_SIZE(bad, 0);
        check_batch_is_stream(d, x + NT * F, NS);
        check_roundtrip(d, x + NT * F, NS);
        an_detector_destroy(d);
    }
}

/* --------------------------------------------------------------------------
   Isolation forest
   -------------------------------------------------------------------------- */

static void test_iforest_c(void)
{
    int i;
    for (i = 0; i < REF_IFC_N; i++) CHECK(rel_close(an_iforest_c(ref_ifc_n[i]), ref_ifc_c[i], 1e-14));
}

/* Against scikit-learn: with 3000 trees both forests are close to the
   expected score of every point (the trees themselves differ: other
   random numbers), so the scores agree to within sampling noise. */
static void test_iforest_against_sklearn(void)
{
    static float s[REF_IFS_N];
    an_iforest_config c = an_iforest_config_init(2026);
    an_detector *d;
    double worst = 0.0, mean = 0.0;
    int i;
    c.n_trees = REF_IFS_TREES;
    CHECK_OK(an_iforest_create(&c, 2, NULL, &d));
    CHECK_OK(an_detector_fit(d, ref_ifs_x, REF_IFS_N));
    CHECK_OK(an_detector_score(d, ref_ifs_x, REF_IFS_N, s));
    for (i = 0; i < REF_IFS_N; i++) {
        double e = fabs(s[i] - ref_ifs_score[i]);
        mean += e / REF_IFS_N;
        if (e > worst) worst = e;
    }
    printf("  isolation forest vs scikit-learn (%d trees each): mean |diff| %.4f, largest %.4f\n", REF_IFS_TREES,
           mean, worst);
    CHECK(mean < 0.004);
    CHECK(worst < 0.015);
    an_detector_destroy(d);
}

/* Rows past the training range rank by how far past they lie (no tie
   with the most extreme training row), in the detector and through a
   model file; rows within it score as the trees alone say. */
static void test_iforest_beyond_range(void)
{
    enum { N = 1000 };
    static float x[N], s[N];
    const float out[] = { 5.0f, 6.0f, 8.0f, 100.0f, -5.0f, -50.0f };
    float so[6], sl[6], top = 0.0f;
    an_iforest_config c = an_iforest_config_init(3);
    an_detector *d = NULL, *e = NULL;
    const an_detector_vtable *types[1];
    an_writer w;
    an_reader r;
    const void *data;
    size_t size, i;
    an_rng rng;
    types[0] = an_iforest_type();
    an_rng_seed(&rng, 4, 0);
    for (i = 0; i < N; i++) x[i] = (float)an_rng_normal(&rng);
    CHECK_OK(an_iforest_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_score(d, x, N, s));
    for (i = 0; i < N; i++) top = s[i] > top ? s[i] : top;
    CHECK_OK(an_detector_score(d, out, 6, so));
    CHECK(so[0] > top && so[1] > so[0] && so[2] > so[1] && so[3] > so[2] && so[3] < 1.0f);
    CHECK(so[4] > top && so[5] > so[4]);
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_load(&r, types, 1, NULL, &e));
    if (e) {
        CHECK_OK(an_detector_score(e, out, 6, sl));
        CHECK(memcmp(so, sl, sizeof so) == 0);
    }
    an_detector_destroy(e);
    an_writer_uninit(&w);
    an_detector_destroy(d);
}

/* Inliers N(0, I) in F dims (norm about sqrt F), then outliers on a
   shell of radius sqrt F + 3 .. sqrt F + 5. */
static void cloud(float *x, unsigned char *label, size_t n_in, size_t n_out, size_t F, uint64_t seed)
{
    an_rng rng;
    size_t i, f;
    an_rng_seed(&rng, seed, 3);
    for (i = 0; i < n_in + n_out; i++) {
        double norm = 0.0, radius = sqrt((double)F) + 3.0 + 2.0 * an_rng_uniform(&rng);
        for (f = 0; f < F; f++) { x[i * F + f] = (float)an_rng_normal(&rng); norm += x[i * F + f] * x[i * F + f]; }
        label[i] = i >= n_in;
        if (label[i]) for (f = 0; f < F; f++) x[i * F + f] = (float)(x[i * F + f] / sqrt(norm) * radius);
    }
}

static void test_iforest(void)
{
    enum { NI = 1000, NO = 50, N = NI + NO };
    static float x[N * 16], s[N], s2[N];
    static unsigned char label[N];
    an_iforest_config c = an_iforest_config_init(42);
    an_detector *d, *e;
    double auc;
    size_t i, diff = 0;
    float one;
    cloud(x, label, NI, NO, 2, 7);
    CHECK_OK(an_iforest_create(&c, 2, NULL, &d));
    CHECK_RESULT(an_detector_score(d, x, N, s), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_score(d, x, N, s));
    for (i = 0; i < N; i++) CHECK(s[i] > 0.0f && s[i] <= 1.0f);
    CHECK_OK(an_roc_auc(s, label, N, NULL, &auc));
    printf("  isolation forest, 2-D cloud with 50 outliers: AUC %.4f\n", auc);
    CHECK(auc > 0.95);
    /* deterministic given the seed; another seed grows another forest */
    CHECK_OK(an_iforest_create(&c, 2, NULL, &e));
    CHECK_OK(an_detector_fit(e, x, N));
    CHECK_OK(an_detector_score(e, x, N, s2));
    CHECK(memcmp(s, s2, sizeof s) == 0);
    an_detector_destroy(e);
    c.seed = 43;
    CHECK_OK(an_iforest_create(&c, 2, NULL, &e));
    CHECK_OK(an_detector_fit(e, x, N));
    CHECK_OK(an_detector_score(e, x, N, s2));
    for (i = 0; i < N; i++) diff += s[i] != s2[i];
    CHECK(diff > N / 2);
    an_detector_destroy(e);
    /* push scores one row, like score */
    CHECK_OK(an_detector_push(d, x + 2 * 7, &one));
    CHECK(one == s[7]);
    CHECK_OK(an_detector_reset(d));
    check_roundtrip(d, x, N);
    x[5] = NAN;
    CHECK_RESULT(an_detector_score(d, x, N, s), AN_ERR_INPUT);
    an_detector_destroy(d);
    /* 16 dimensions, as for LSTM embeddings */
    cloud(x, label, NI, NO, 16, 8);
    c = an_iforest_config_init(1);
    CHECK_OK(an_iforest_create(&c, 16, NULL, &d));
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_score(d, x, N, s));
    CHECK_OK(an_roc_auc(s, label, N, NULL, &auc));
    printf("  isolation forest, 16-D cloud: AUC %.4f\n", auc);
    CHECK(auc > 0.95);
    an_detector_destroy(d);
    /* fewer rows than the subsample; constant columns; errors */
    c = an_iforest_config_init(2);
    CHECK_OK(an_iforest_create(&c, 3, NULL, &d));
    for (i = 0; i < 40 * 3; i++) x[i] = i % 3 == 1 ? 7.0f : (float)(i % 17);
    CHECK_OK(an_detector_fit(d, x, 40));
    CHECK_OK(an_detector_score(d, x, 40, s));
    for (i = 0; i < 40; i++) CHECK(s[i] > 0.0f && s[i] <= 1.0f);
    CHECK_RESULT(an_detector_fit(d, x, 1), AN_ERR_TOO_SHORT);
    an_detector_destroy(d);
    CHECK_RESULT(an_iforest_create(&c, 0, NULL, &d), AN_ERR_SHAPE);
    c.n_trees = 0;
    CHECK_RESULT(an_iforest_create(&c, 2, NULL, &d), AN_ERR_INVALID_ARG);
    c = an_iforest_config_init(2);
    c.subsample = 1;
    CHECK_RESULT(an_iforest_create(&c, 2, NULL, &d), AN_ERR_INVALID_ARG);
    /* all rows identical: every tree is one leaf, every score the same */
    c = an_iforest_config_init(3);
    CHECK_OK(an_iforest_create(&c, 2, NULL, &d));
    for (i = 0; i < 20; i++) x[i] = 1.5f;
    CHECK_OK(an_detector_fit(d, x, 10));
    CHECK_OK(an_detector_score(d, x, 10, s));
    for (i = 0; i < 10; i++) CHECK(s[i] == s[0] && s[0] > 0.0f);
    an_detector_destroy(d);
}

/* --------------------------------------------------------------------------
   Allocation failures: create + fit + score, and load, for every type
   -------------------------------------------------------------------------- */

typedef struct fixture {
    int kind;
    const float *x;
    size_t n, F;
} fixture;

static an_result make_detector(int kind, const an_allocator *a, an_detector **d)
{
    switch (kind) {
    case 0: { an_gesd_config c = an_gesd_config_init(0.1, 0.05); return an_gesd_create(&c, 1, a, d); }
    case 1: { an_shesd_config c = an_shesd_config_init(0, 0.05, 0.05); return an_shesd_create(&c, 1, a, d); }
    case 2: { an_level_shift_config c = an_level_shift_config_init(8); return an_level_shift_create(&c, 1, a, d); }
    case 3: {
        an_volatility_shift_config c = an_volatility_shift_config_init(8);
        return an_volatility_shift_create(&c, 2, a, d);
    }
    case 4: {
        an_ks_drift_config c = an_ks_drift_config_init(8, AN_KS_TRAINING);
        return an_ks_drift_create(&c, 1, a, d);
    }
    case 5: {
        an_ks_drift_config c = an_ks_drift_config_init(8, AN_KS_PREVIOUS);
        return an_ks_drift_create(&c, 2, a, d);
    }
    case 6: {
        an_iforest_config c = an_iforest_config_init(9);
        c.n_trees = 4;
        c.subsample = 16;
        return an_iforest_create(&c, 2, a, d);
    }
    default: {
        an_stl_runs_config c = an_stl_runs_config_init(24, 8);
        c.rows = 1;
        return an_stl_runs_create(&c, 2, a, d);
    }
    }
}

static an_result job_fit(const an_allocator *a, void *ctx)
{
    const fixture *fx = (const fixture *)ctx;
    an_detector *d;
    float s[200];
    an_result r;
    if ((r = make_detector(fx->kind, a, &d)) != AN_OK) return r;
    r = an_detector_fit(d, fx->x, fx->n);
    if (r == AN_OK) r = an_detector_fit(d, fx->x, fx->n);   /* a refit replaces the old buffers */
    if (r == AN_OK) r = an_detector_score(d, fx->x, fx->n, s);
    an_detector_destroy(d);
    return r;
}

typedef struct blob { const void *data; size_t size; } blob;

static an_result job_load(const an_allocator *a, void *ctx)
{
    const blob *b = (const blob *)ctx;
    an_detector *d;
    an_result r = load_model(b->data, b->size, a, &d);
    if (r == AN_OK) an_detector_destroy(d);
    return r;
}

static void series_for(int kind, float *x, size_t *n, size_t *F)
{
    size_t i;
    *F = kind == 7 || kind == 6 || kind == 5 || kind == 3 ? 2 : 1;
    *n = 24 * 6;
    seasonal_series(x, *n * *F, 24, 17);
    for (i = 0; i < *n * *F; i++) x[i] = (float)((double)x[i] + 0.0);
}

static void test_allocation_failures(void)
{
    static const char *names[8] = { "gesd", "shesd", "level shift", "volatility shift", "ks drift (training)",
                                    "ks drift (previous)", "iforest", "stl runs" };
    float x[24 * 6 * 2];
    int kind;
    for (kind = 0; kind < 8; kind++) {
        fixture fx;
        char what[96];
        an_detector *d;
        an_writer w;
        blob b;
        series_for(kind, x, &fx.n, &fx.F);
        fx.kind = kind;
        fx.x = x;
        snprintf(what, sizeof what, "%s create + fit + score", names[kind]);
        inject_failures(what, job_fit, &fx);
        CHECK_OK(make_detector(kind, NULL, &d));
        CHECK_OK(an_detector_fit(d, x, fx.n));
        save_model(d, &w, &b.data, &b.size);
        snprintf(what, sizeof what, "%s load", names[kind]);
        inject_failures(what, job_load, &b);
        an_writer_uninit(&w);
        an_detector_destroy(d);
    }
}


/* After fit, score and push allocate nothing (checked with an allocator
   that counts), and neither does scoring a loaded detector. */
static void test_no_allocation_after_fit(void)
{
    float x[24 * 6 * 2], s[24 * 6], one;
    int kind;
    for (kind = 0; kind < 8; kind++) {
        counting c = { 0, 0, 0, 0 };
        an_allocator a = counting_allocator(&c);
        an_detector *d;
        size_t n, F;
        long calls;
        series_for(kind, x, &n, &F);
        CHECK_OK(make_detector(kind, &a, &d));
        CHECK_OK(an_detector_fit(d, x, n));
        calls = c.calls;
        CHECK_OK(an_detector_score(d, x, n, s));
        if (kind >= 2) {
            CHECK_OK(an_detector_push(d, x, &one));
            CHECK_OK(an_detector_reset(d));
        }
        CHECK(c.calls == calls);
        an_detector_destroy(d);
        CHECK(c.live == 0 && c.bytes == 0);
    }
}

/* --------------------------------------------------------------------------
   Random series of awkward shapes: every detector gives finite scores, and
   the streaming ones the same in batch and stream
   -------------------------------------------------------------------------- */

static void awkward_series(an_rng *rng, float *x, size_t n, int shape)
{
    size_t i;
    double scale = shape % 3 == 0 ? 1.0 : shape % 3 == 1 ? 1e30 : 1e-30;
    for (i = 0; i < n; i++) {
        double v;
        switch (shape / 3) {
        case 0: v = an_rng_normal(rng); break;                                /* noise        */
        case 1: v = 3.0; break;                                               /* constant     */
        case 2: v = i < n / 2 ? 0.0 : 1.0; break;                             /* a step       */
        case 3: v = (double)an_rng_below(rng, 3); break;                      /* heavy ties   */
        default: v = an_rng_uniform(rng) < 0.05 ? 1e8 * an_rng_normal(rng) : an_rng_normal(rng); break;
        }
        x[i] = (float)(v * scale);
    }
}

static void test_awkward_inputs(void)
{
    enum { N = 150 };
    static float x[N * 4], s[N];
    an_rng rng;
    int shape, kind;
    size_t bad = 0, i;
    an_rng_seed(&rng, 99, 0);
    for (shape = 0; shape < 15; shape++) {
        awkward_series(&rng, x, N * 4, shape);
        for (kind = 0; kind < 7; kind++) {
            an_detector *d;
            an_result r;
            CHECK_OK(make_detector(kind, NULL, &d));
            r = an_detector_fit(d, x, N);
            if (r != AN_OK) {
                TEST__FAIL("shape %d, %s: fit returned %s", shape, d->vt->name, an_result_str(r));
                an_detector_destroy(d);
                continue;
            }
            CHECK_OK(an_detector_score(d, x + N, N, s));   /* rows after the training ones */
            for (i = 0; i < N; i++) bad += !(s[i] == s[i] && s[i] >= 0.0f && s[i] <= FLT_MAX);
            if (kind >= 2) check_batch_is_stream(d, x + N, N);
            an_detector_destroy(d);
        }
    }
    CHECK_EQ_SIZE(bad, 0);
}

/* --------------------------------------------------------------------------
   Hostile model files
   -------------------------------------------------------------------------- */

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Gives every chunk the CRC its bytes imply, nested chunks first, so that
   mutations reach the detectors' own field checks. */
static void repair_chunks(unsigned char *p, size_t size, int depth)
{
    size_t pos = 0;
    while (size - pos >= 12) {
        size_t length = get32(p + pos + 4);
        if (length > size - pos - 12) return;
        if (depth < 1) repair_chunks(p + pos + 8, length, depth + 1);   /* DETC's chunks, not their fields */
        put32(p + pos + 8 + length, an_crc32(0, p + pos, 8 + length));
        pos += 12 + length;
    }
}

static void repair_file(unsigned char *p, size_t size)
{
    repair_chunks(p + AN_MODEL_HEADER_BYTES, size - AN_MODEL_HEADER_BYTES, 0);
    put32(p + 24, an_crc32(0, p, 24));
}

/* Loads `data` with a counting allocator; a detector that loads must
   score without trouble (finite or a clean error) and free everything. */
static int try_load(const unsigned char *data, size_t size, const float *x, size_t n)
{
    counting c = { 0, 0, 0, 0 };
    an_allocator a = counting_allocator(&c);
    an_detector *d = NULL;
    an_result r = load_model(data, size, &a, &d);
    int ok = 0;
    if (r == AN_OK) {
        float s[200], one;
        size_t i, F = d->n_features;
        ok = 1;
        if (F <= 2 && an_detector_score(d, x, n, s) == AN_OK)
            for (i = 0; i < n; i++)   /* STL + IQR's runs score distances past a quartile: negative inside */
                CHECK(s[i] == s[i] && s[i] >= (d->vt == an_stl_runs_type() ? -FLT_MAX : 0.0f));
        if (F <= 2 && an_detector_push(d, x, &one) == AN_OK) CHECK(one == one);
        an_detector_destroy(d);
    } else {
        CHECK(d == NULL);
        CHECK(r == AN_ERR_CORRUPT || r == AN_ERR_TRUNCATED || r == AN_ERR_CHECKSUM || r == AN_ERR_NOT_MODEL ||
              r == AN_ERR_UNSUPPORTED || r == AN_ERR_VERSION || r == AN_ERR_TOO_LARGE);
    }
    if (c.live != 0) TEST__FAIL("a hostile file leaked %ld blocks (%s)", c.live, an_result_str(r));
    return ok;
}

static void test_hostile_mutations(void)
{
    float x[24 * 6 * 2];
    int kind;
    for (kind = 0; kind < 8; kind++) {
        an_detector *d;
        an_writer w;
        const void *data;
        size_t size, n, F, pos, loaded = 0, tried = 0;
        unsigned char *copy;
        static const unsigned char masks[4] = { 0x01, 0x10, 0x80, 0xFF };
        series_for(kind, x, &n, &F);
        CHECK_OK(make_detector(kind, NULL, &d));
        CHECK_OK(an_detector_fit(d, x, n));
        save_model(d, &w, &data, &size);
        copy = (unsigned char *)malloc(size);
        CHECK(try_load((const unsigned char *)data, size, x, n));
        /* every truncation */
        for (pos = 0; pos < size; pos++) CHECK(!try_load((const unsigned char *)data, pos, x, n));
        /* every byte after the header, four masks, CRCs repaired */
        for (pos = AN_MODEL_HEADER_BYTES; pos < size; pos++) {
            int m;
            for (m = 0; m < 4; m++) {
                memcpy(copy, data, size);
                copy[pos] ^= masks[m];
                repair_file(copy, size);
                loaded += (size_t)try_load(copy, size, x, n);
                tried++;
            }
        }
        printf("  hostile %s: %zu of %zu mutated files still load (and score cleanly)\n", d->vt->name, loaded, tried);
        free(copy);
        an_writer_uninit(&w);
        an_detector_destroy(d);
    }
}

/* Hand-made files: fields with a valid CRC but impossible values. */
static void write_type(an_writer *w, uint32_t tag)
{
    an_write_begin(w, AN_TAG_DETECTOR);
    an_write_begin(w, AN_TAG_TYPE);
    an_write_u32(w, tag);
    an_write_end(w);
}

static an_result crafted(int which)
{
    an_writer w;
    const void *data;
    size_t size;
    an_detector *d = NULL;
    an_result r;
    int t;
    an_writer_init(&w, NULL);
    switch (which) {
    case 0:   /* level shift with a window of 2^40 */
        write_type(&w, AN_TAG('L', 'S', 'H', 'F'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F')); an_write_u64(&w, (uint64_t)1 << 40); an_write_end(&w);
        break;
    case 1:   /* level shift whose window needs more values than the file holds */
        write_type(&w, AN_TAG('L', 'S', 'H', 'F'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F')); an_write_u64(&w, 1000); an_write_u64(&w, 1); an_write_end(&w);
        an_write_begin(&w, AN_TAG('S', 'T', 'A', 'T'));
        an_write_f64(&w, 0.0); an_write_f64(&w, 1e-30); an_write_f64(&w, 1.0);
        an_write_end(&w);
        break;
    case 2:   /* KS with a reference of 2^27 values in a tiny file */
        write_type(&w, AN_TAG('K', 'S', 'D', 'R'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F'));
        an_write_u64(&w, 4); an_write_u32(&w, 0); an_write_u64(&w, 1);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('R', 'E', 'F', 'S'));
        an_write_u64(&w, (uint64_t)1 << 27); an_write_f32(&w, 1);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('W', 'I', 'N', 'S'));
        for (t = 0; t < 4; t++) an_write_f32(&w, 1.0f);
        an_write_end(&w);
        break;
    case 3:   /* KS with an unsorted reference */
        write_type(&w, AN_TAG('K', 'S', 'D', 'R'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F'));
        an_write_u64(&w, 2); an_write_u32(&w, 0); an_write_u64(&w, 1);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('R', 'E', 'F', 'S')); an_write_u64(&w, 3);
        an_write_f32(&w, 3); an_write_f32(&w, 1); an_write_f32(&w, 2); an_write_end(&w);
        an_write_begin(&w, AN_TAG('W', 'I', 'N', 'S')); an_write_f32(&w, 1); an_write_f32(&w, 2); an_write_end(&w);
        break;
    case 10:  /* the unsorted-reference file with its reference sorted: must load */
        write_type(&w, AN_TAG('K', 'S', 'D', 'R'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F'));
        an_write_u64(&w, 2); an_write_u32(&w, 0); an_write_u64(&w, 1);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('R', 'E', 'F', 'S')); an_write_u64(&w, 3);
        an_write_f32(&w, 1); an_write_f32(&w, 2); an_write_f32(&w, 3); an_write_end(&w);
        an_write_begin(&w, AN_TAG('W', 'I', 'N', 'S')); an_write_f32(&w, 1); an_write_f32(&w, 2); an_write_end(&w);
        break;
    case 11:  /* level shift of window 2, one feature, well formed: must load */
        write_type(&w, AN_TAG('L', 'S', 'H', 'F'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F')); an_write_u64(&w, 2); an_write_u64(&w, 1); an_write_end(&w);
        an_write_begin(&w, AN_TAG('S', 'T', 'A', 'T'));
        an_write_f64(&w, 0.0); an_write_f64(&w, 1e-30);
        for (t = 0; t < 4; t++) an_write_f64(&w, (double)t);
        an_write_end(&w);
        break;
    case 12:  /* level shift whose window values would overflow when squared */
        write_type(&w, AN_TAG('L', 'S', 'H', 'F'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F')); an_write_u64(&w, 2); an_write_u64(&w, 1); an_write_end(&w);
        an_write_begin(&w, AN_TAG('S', 'T', 'A', 'T'));
        an_write_f64(&w, 0.0); an_write_f64(&w, 1e-30);
        for (t = 0; t < 4; t++) an_write_f64(&w, t == 2 ? 1e200 : (double)t);
        an_write_end(&w);
        break;
    case 4:   /* isolation forest claiming 65536 trees */
    case 5:   /* a tree whose child points back at its parent */
    case 6:   /* a split on a feature that does not exist */
    case 7:   /* a leaf count that does not add up to psi */
        write_type(&w, AN_TAG('I', 'F', 'O', 'R'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F'));
        an_write_u64(&w, 2); an_write_u64(&w, which == 4 ? 65536 : 1); an_write_u64(&w, 4); an_write_u64(&w, 0);
        an_write_u64(&w, 4);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('T', 'R', 'E', 'E'));
        an_write_u64(&w, 3);
        an_write_u32(&w, which == 6 ? 2 : 0); an_write_f32(&w, 0.5f); an_write_u32(&w, which == 5 ? 0 : 1);
        an_write_u32(&w, 4);
        an_write_u32(&w, 0xFFFFFFFFu); an_write_f32(&w, 0); an_write_u32(&w, 0); an_write_u32(&w, 2);
        an_write_u32(&w, 0xFFFFFFFFu); an_write_f32(&w, 0); an_write_u32(&w, 0); an_write_u32(&w, which == 7 ? 3 : 2);
        an_write_end(&w);
        break;
    case 8:   /* the same forest, well formed: must load */
        write_type(&w, AN_TAG('I', 'F', 'O', 'R'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F'));
        an_write_u64(&w, 2); an_write_u64(&w, 1); an_write_u64(&w, 4); an_write_u64(&w, 0); an_write_u64(&w, 4);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('T', 'R', 'E', 'E'));
        an_write_u64(&w, 3);
        an_write_u32(&w, 0); an_write_f32(&w, 0.5f); an_write_u32(&w, 1); an_write_u32(&w, 4);
        an_write_u32(&w, 0xFFFFFFFFu); an_write_f32(&w, 0); an_write_u32(&w, 0); an_write_u32(&w, 2);
        an_write_u32(&w, 0xFFFFFFFFu); an_write_f32(&w, 0); an_write_u32(&w, 0); an_write_u32(&w, 2);
        an_write_end(&w);
        break;
    default:  /* GESD with max_anoms 0.7 */
        write_type(&w, AN_TAG('G', 'E', 'S', 'D'));
        an_write_begin(&w, AN_TAG('C', 'O', 'N', 'F'));
        an_write_f64(&w, 0.7); an_write_f64(&w, 0.05); an_write_u32(&w, 0); an_write_u32(&w, 0); an_write_u32(&w, 0);
        an_write_u64(&w, 0); an_write_u64(&w, 0);
        an_write_end(&w);
        an_write_begin(&w, AN_TAG('S', 'T', 'A', 'T')); an_write_u64(&w, 100); an_write_u64(&w, 0); an_write_end(&w);
        break;
    }
    an_write_end(&w);
    r = an_writer_finish(&w, &data, &size);
    if (r == AN_OK) r = load_model(data, size, NULL, &d);
    if (d) {
        float x[4] = { 0.0f, 1.0f, 0.2f, 0.7f }, s[2];
        CHECK_OK(an_detector_score(d, x, d->n_features == 2 ? 2 : 4 / 2, s));
        CHECK(s[0] >= 0.0f && s[0] == s[0]);
        an_detector_destroy(d);
    }
    an_writer_uninit(&w);
    return r;
}

static void test_hostile_crafted(void)
{
    int i;
    for (i = 0; i <= 12; i++) {
        an_result r = crafted(i);
        if (i == 8 || i == 10 || i == 11) CHECK_OK(r);
        else if (r != AN_ERR_CORRUPT) TEST__FAIL("crafted file %d loaded with %s, not AN_ERR_CORRUPT", i, an_result_str(r));
    }
}

/* NaN and +-Inf are refused by the contract, the same way for every type:
   fit, score and push return AN_ERR_INPUT, and the detector still scores
   clean rows afterwards. */
static void test_nonfinite_refused(void)
{
    enum { N = 120, KINDS = 11 };
    static float x[N * 2], s[N];
    const float bad[3] = { NAN, INFINITY, -INFINITY };
    an_rng rng;
    int kind, b;
    size_t i;
    an_rng_seed(&rng, 7, 0);
    for (i = 0; i < N * 2; i++) x[i] = (float)(an_rng_normal(&rng) + 0.5 * sin((double)i * 0.3));
    for (kind = 0; kind < KINDS; kind++) {
        an_detector *d = NULL;
        size_t F, at;
        switch (kind) {
        case 7: { an_robust_config c = an_robust_config_init(AN_ROBUST_MAD, 16); CHECK_OK(an_robust_create(&c, 2, NULL, &d)); break; }
        case 8: { an_robust_config c = an_robust_config_init(AN_ROBUST_IQR, 0); CHECK_OK(an_robust_create(&c, 1, NULL, &d)); break; }
        case 9: { an_stl_iqr_config c = an_stl_iqr_config_init(0); CHECK_OK(an_stl_iqr_create(&c, 2, NULL, &d)); break; }
        case 10: {
            an_ensemble_config c = an_ensemble_config_init();
            an_detector *m;
            an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 0);
            an_level_shift_config lc = an_level_shift_config_init(8);
            CHECK_OK(an_ensemble_create(&c, 1, NULL, &d));
            CHECK_OK(an_robust_create(&rc, 1, NULL, &m));
            CHECK_OK(an_ensemble_add(d, m, 1.0, AN_MEMBER_OPTIONAL));
            CHECK_OK(an_level_shift_create(&lc, 1, NULL, &m));
            CHECK_OK(an_ensemble_add(d, m, 1.0, AN_MEMBER_OPTIONAL));
            break;
        }
        default: CHECK_OK(make_detector(kind, NULL, &d)); break;
        }
        if (!d) continue;
        F = d->n_features;
        for (b = 0; b < 3; b++) {
            float row[2], one = 0.0f;
            at = (size_t)(7 * b + 3) % (N / 2 * F);
            x[at] = bad[b];
            if (an_detector_fit(d, x, N / 2) != AN_ERR_INPUT)
                TEST__FAIL("%s: fit on %g is not AN_ERR_INPUT", d->vt->name, (double)bad[b]);
            CHECK(!d->fitted);
            x[at] = 0.25f;
            CHECK_OK(an_detector_fit(d, x, N / 2));
            x[at] = bad[b];
            if (an_detector_score(d, x, N / 2, s) != AN_ERR_INPUT)
                TEST__FAIL("%s: score of %g is not AN_ERR_INPUT", d->vt->name, (double)bad[b]);
            x[at] = 0.25f;
            row[0] = row[1] = 0.0f;
            row[F - 1] = bad[b];
            if (d->vt->push && an_detector_push(d, row, &one) != AN_ERR_INPUT)
                TEST__FAIL("%s: push of %g is not AN_ERR_INPUT", d->vt->name, (double)bad[b]);
            CHECK_OK(an_detector_score(d, x + (N / 2) * F, N / 2, s));
        }
        an_detector_destroy(d);
    }
}

/* --------------------------------------------------------------------------
   The inputs stage (anomaly.h 11e): a target explained by an input
   -------------------------------------------------------------------------- */

enum { EXOG_ROWS = 600, EXOG_TRAIN = 400 };

/* (EXOG_ROWS, 2): column 0 a 0/1 command toggled every 40 to 100 rows,
   settled at 1 at the start, column 1 the target: 1 + 2 r + noise, r the
   command's first-order response with a time constant of 5 rows (between
   the stage's 4 and 8);
   clean[] the target without noise.  With informative 0, column 1 is an
   AR(1) wander and noise that owes the command nothing. */
static void exog_series(float *x, double *clean, int informative, unsigned seed)
{
    an_rng rng;
    double r = 1.0, ar = 0.0;
    size_t i, next;
    int cmd = 1;
    an_rng_seed(&rng, seed, 5);
    next = 40 + (size_t)an_rng_below(&rng, 60);
    for (i = 0; i < EXOG_ROWS; i++) {
        if (i == next) cmd = !cmd, next = i + 40 + (size_t)an_rng_below(&rng, 60);
        r += (1.0 - exp(-1.0 / 5.0)) * (cmd - r);
        ar = 0.95 * ar + 0.2 * an_rng_normal(&rng);
        clean[i] = informative ? 1.0 + 2.0 * r : ar;
        x[2 * i] = (float)cmd;
        x[2 * i + 1] = (float)(clean[i] + 0.01 * an_rng_normal(&rng));
    }
}

static an_result exog_make(const an_allocator *a, an_detector **out)
{
    static const unsigned char input[2] = { 1, 0 };
    an_exog_config c = an_exog_config_init();
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 16);
    an_detector *inner;
    an_result r;
    *out = NULL;
    if ((r = an_robust_create(&rc, 1, a, &inner)) != AN_OK) return r;
    return an_exog_create(&c, 2, input, inner, a, out);
}

static an_result exog_load(const void *data, size_t size, const an_allocator *a, an_detector **out)
{
    size_t n_types;
    const an_detector_vtable *const *types = an_stats_types(&n_types);
    an_reader r;
    an_result res;
    *out = NULL;
    if ((res = an_model_open(&r, data, size)) != AN_OK) return res;
    return an_detector_load(&r, types, n_types, a, out);
}

/* The response to a command is learnt: the prediction follows the clean
   target within 2% of the step (the time constant 5 is not among the
   stage's, so a sum of its responses has to make it); the residuals of
   a batch (an_exog_residuals) are what a stream hands its inner
   detector. */
static void test_exog_learns_a_response(void)
{
    static float x[2 * EXOG_ROWS], residual[EXOG_ROWS];
    static double clean[EXOG_ROWS];
    double p[2], worst = 0.0;
    an_detector *d;
    float s;
    size_t i, differ = 0;
    unsigned char taken[2] = { 0, 0 };
    exog_series(x, clean, 1, 3);
    CHECK_OK(exog_make(NULL, &d));
    CHECK_RESULT(an_exog_prediction(d, p), AN_ERR_NUMERIC);          /* nothing pushed yet */
    CHECK_RESULT(an_exog_taken(d, 1, taken), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_exog_residuals(d, x, EXOG_ROWS, residual), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(d, x, EXOG_TRAIN));
    CHECK_OK(an_exog_taken(d, 1, taken));
    CHECK(taken[0] == 1 && taken[1] == 0);
    CHECK_RESULT(an_exog_taken(d, 0, taken), AN_ERR_INVALID_ARG);   /* an input is not judged */
    CHECK_OK(an_exog_residuals(d, x, EXOG_ROWS, residual));
    for (i = 0; i < EXOG_ROWS; i++) {
        float mine;
        CHECK_OK(an_detector_push(d, x + 2 * i, &s));
        CHECK_OK(an_exog_prediction(d, p));
        CHECK(p[0] != p[0]);                                          /* NaN for the input */
        if (fabs(p[1] - clean[i]) > worst) worst = fabs(p[1] - clean[i]);
        mine = (float)((double)x[2 * i + 1] - p[1]);                  /* what the inner detector got */
        differ += memcmp(&mine, &residual[i], sizeof mine) != 0;
    }
    CHECK(worst < 0.04);
    CHECK_EQ_SIZE(differ, 0);                  /* the batch's residuals are the stream's, bit for bit */
    printf("  inputs stage: the prediction from the command within %.4f of the clean target (step 2)\n", worst);
    an_detector_destroy(d);
}

/* An input that owes the target nothing is dropped by the held-out check,
   and the stage then scores exactly (bit for bit) what its inner detector
   scores on the target alone, in batch and in a stream. */
static void test_exog_uninformative_is_transparent(void)
{
    static float x[2 * EXOG_ROWS], y[EXOG_ROWS], s1[EXOG_ROWS], s2[EXOG_ROWS];
    static double clean[EXOG_ROWS];
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 16);
    an_detector *d, *alone;
    size_t i, differ = 0;
    unsigned char taken[2] = { 1, 1 };
    exog_series(x, clean, 0, 4);
    for (i = 0; i < EXOG_ROWS; i++) y[i] = x[2 * i + 1];
    CHECK_OK(exog_make(NULL, &d));
    CHECK_OK(an_robust_create(&rc, 1, NULL, &alone));
    CHECK_OK(an_detector_fit(d, x, EXOG_TRAIN));
    CHECK_OK(an_detector_fit(alone, y, EXOG_TRAIN));
    CHECK_OK(an_exog_taken(d, 1, taken));
    CHECK(taken[0] == 0 && taken[1] == 0);
    CHECK_OK(an_detector_score(d, x, EXOG_ROWS, s1));
    CHECK_OK(an_detector_score(alone, y, EXOG_ROWS, s2));
    for (i = 0; i < EXOG_ROWS; i++) differ += memcmp(&s1[i], &s2[i], sizeof(float)) != 0;
    for (i = 0; i < EXOG_ROWS; i++) {
        CHECK_OK(an_detector_push(d, x + 2 * i, &s1[0]));
        CHECK_OK(an_detector_push(alone, y + i, &s2[0]));
        differ += memcmp(&s1[0], &s2[0], sizeof(float)) != 0;
    }
    CHECK_EQ_SIZE(differ, 0);
    an_detector_destroy(d);
    an_detector_destroy(alone);
}

/* Saved in the middle of a stream and loaded, the stage goes on as the
   original does, bit for bit, responses and inner detector alike; a file
   whose inner type is not linked is named; a stage in a stage, an
   ensemble member that is a stage, and every truncation are refused. */
static void test_exog_roundtrip(void)
{
    static float x[2 * EXOG_ROWS];
    static double clean[EXOG_ROWS];
    an_detector *d, *e = NULL;
    an_writer w;
    an_reader r;
    const void *data;
    size_t size, i, differ = 0, cut;
    uint32_t tag = 0;
    float s1, s2;
    exog_series(x, clean, 1, 5);
    CHECK_OK(exog_make(NULL, &d));
    CHECK_OK(an_detector_fit(d, x, EXOG_TRAIN));
    for (i = 0; i < EXOG_TRAIN + 50; i++) CHECK_OK(an_detector_push(d, x + 2 * i, &s1));
    save_model(d, &w, &data, &size);
    CHECK_OK(exog_load(data, size, NULL, &e));
    if (e) {
        CHECK(e->vt == an_exog_type() && e->n_features == 2 && e->fitted);
        for (i = EXOG_TRAIN + 50; i < EXOG_ROWS; i++) {
            double p1[2], p2[2];
            CHECK_OK(an_detector_push(d, x + 2 * i, &s1));
            CHECK_OK(an_detector_push(e, x + 2 * i, &s2));
            CHECK_OK(an_exog_prediction(d, p1));
            CHECK_OK(an_exog_prediction(e, p2));
            differ += memcmp(&s1, &s2, sizeof s1) != 0 || memcmp(&p1[1], &p2[1], sizeof(double)) != 0;
        }
        CHECK_EQ_SIZE(differ, 0);
        an_detector_destroy(e);
    }
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_missing_type(&r, NULL, 0, &tag));
    CHECK(tag == an_mad_type()->tag);                         /* the inner type, not the stage's */
    for (cut = 0; cut < size; cut += 7) {                       /* every truncation fails cleanly */
        an_result res = exog_load(data, cut, NULL, &e);
        CHECK(res != AN_OK && e == NULL);
    }
    an_writer_uninit(&w);
    {                                                        /* a stage cannot wrap a stage */
        static const unsigned char input[3] = { 1, 0, 0 };
        an_exog_config c = an_exog_config_init();
        CHECK_RESULT(an_exog_create(&c, 3, input, d, NULL, &e), AN_ERR_INVALID_ARG);   /* d destroyed */
        CHECK(e == NULL);
    }
}

/* Bad arguments are refused, and the inner detector is never lost: it
   is destroyed on every failure (the counting allocator sees no block
   left). */
static void test_exog_errors(void)
{
    static float x[2 * EXOG_ROWS];
    static double clean[EXOG_ROWS];
    static const unsigned char none[2] = { 0, 0 }, all[2] = { 1, 1 }, one[3] = { 1, 0, 0 };
    counting c = { 0, 0, 0, 0 };
    an_allocator a = counting_allocator(&c);
    an_exog_config xc = an_exog_config_init(), bad;
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 16);
    an_detector *inner, *d;
    int k;
    for (k = 0; k < 7; k++) {
        const unsigned char *mask = k == 0 ? none : k == 1 ? all : k == 2 ? one : none + 0;
        size_t F = k == 2 ? 3 : 2;
        bad = xc;
        if (k >= 3) mask = one, F = 2;                      /* one target, one input: fine but for the config */
        if (k == 3) bad.responses = 0;
        if (k == 4) bad.responses = AN_EXOG_MAX_RESPONSES + 1;
        if (k == 5) bad.ridge = 0.0;
        if (k == 6) bad.keep = 1.5;
        CHECK_OK(an_robust_create(&rc, 1, &a, &inner));
        CHECK_RESULT(an_exog_create(&bad, F, mask, inner, &a, &d), AN_ERR_INVALID_ARG);
        CHECK(d == NULL && c.live == 0);
    }
    CHECK_OK(an_robust_create(&rc, 1, &a, &inner));
    CHECK_RESULT(an_exog_create(&xc, 2, NULL, inner, &a, &d), AN_ERR_INVALID_ARG);
    CHECK(c.live == 0);
    CHECK_RESULT(an_exog_create(&xc, 2, one, NULL, &a, &d), AN_ERR_INVALID_ARG);
    exog_series(x, clean, 1, 6);
    CHECK_OK(exog_make(&a, &d));
    CHECK_RESULT(an_detector_fit(d, x, 31), AN_ERR_TOO_SHORT);
    x[2 * 10] = (float)NAN;
    CHECK_RESULT(an_detector_fit(d, x, EXOG_TRAIN), AN_ERR_INPUT);
    an_detector_destroy(d);
    CHECK(c.live == 0 && c.bytes == 0);
    CHECK_RESULT(an_exog_inner(NULL, &d), AN_ERR_INVALID_ARG);
}

/* an_exog_commands: a column of 0 and 1, both seen, is a command (NaN
   passed over), and beside one so is a column constant at 0 (a command
   not used); a third value, a constant with no command beside it, a
   single column or a table of nothing but commands is not. */
static void test_exog_commands(void)
{
    const float nan = (float)NAN;
    static const float x[6 * 4] = {   /* command, constant 0, three values, command with a gap */
        0, 0, 0, 1,
        1, 0, 1, 0,
        1, 0, 2, 1,
        0, 0, 0, 0,
        1, 0, 1, 1,
        0, 0, 1, 0,
    };
    float y[6 * 4], both[3 * 2] = { 0, 1, 1, 0, 0, 1 }, sleeping[3 * 2] = { 0, 5, 0, 6, 0, 7 };
    unsigned char input[4];
    size_t n = 99;
    memcpy(y, x, sizeof x);
    y[1 * 4 + 3] = nan;
    CHECK_OK(an_exog_commands(y, 6, 4, input, &n));
    CHECK(n == 3 && input[0] == 1 && input[1] == 1 && input[2] == 0 && input[3] == 1);
    y[2 * 4 + 3] = 0.5f;                                      /* a third value: no command */
    CHECK_OK(an_exog_commands(y, 6, 4, input, &n));
    CHECK(n == 2 && input[0] == 1 && input[1] == 1 && input[3] == 0);
    y[0] = y[4] = y[8] = y[12] = y[16] = y[20] = 2.0f;        /* no stepping command left: the constant is judged */
    CHECK_OK(an_exog_commands(y, 6, 4, input, &n));
    CHECK(n == 0 && input[0] == 0 && input[1] == 0 && input[2] == 0 && input[3] == 0);
    CHECK_OK(an_exog_commands(sleeping, 3, 2, input, &n));   /* a constant 0 beside a signal */
    CHECK(n == 0 && input[0] == 0 && input[1] == 0);
    CHECK_OK(an_exog_commands(both, 3, 2, input, &n));       /* every column a command: none */
    CHECK(n == 0 && input[0] == 0 && input[1] == 0);
    CHECK_OK(an_exog_commands(x, 6, 1, input, &n));          /* one column (x's first six values, 0 and 1): judged */
    CHECK(n == 0 && input[0] == 0);
    CHECK_RESULT(an_exog_commands(NULL, 6, 4, input, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_exog_commands(x, 6, 4, NULL, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_exog_commands(x, 6, 4, input, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_exog_commands(x, 0, 4, input, &n), AN_ERR_INVALID_ARG);
    CHECK(n == 0);
    CHECK_RESULT(an_exog_commands(x, 6, 0, input, &n), AN_ERR_INVALID_ARG);
}

/* Twenty on-off commands, two of them driving the target (time
   constants 12 and 40 rows) beside a cycle and noise the commands owe
   nothing: the two are taken, no other, and the prediction follows the
   commands' part of the target on the test rows within the noise; taking
   every input that helps at all on the held-out rows (gain 0) takes
   others and misses by more. */
static void test_exog_chooses_inputs(void)
{
    enum { N = 3000, TRAIN = 2000, K = 20, W = K + 1 };
    static float x[N * W];
    static double part[N];
    an_rng rng;
    double r1 = 0.0, r2 = 0.0, rms[2];
    size_t n_taken[2] = { 0, 0 };
    int cmd[K] = { 0 }, pass;
    size_t i, k;
    an_rng_seed(&rng, 11, 3);
    for (i = 0; i < N; i++) {
        for (k = 0; k < K; k++) {
            if (an_rng_uniform(&rng) < 0.004) cmd[k] = !cmd[k];
            x[i * W + k] = (float)cmd[k];
        }
        r1 += (1.0 - exp(-1.0 / 12.0)) * (cmd[3] - r1);
        r2 += (1.0 - exp(-1.0 / 40.0)) * (cmd[11] - r2);
        part[i] = 5.0 + 2.0 * r1 - 1.5 * r2;
        x[i * W + K] = (float)(part[i] + 0.3 * sin(6.283185307179586 * (double)i / 100.0) + 0.05 * an_rng_normal(&rng));
    }
    for (pass = 0; pass < 2; pass++) {
        unsigned char input[W], taken[W];
        an_exog_config c = an_exog_config_init();
        an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 16);
        an_detector *inner, *d;
        double p[W], sum = 0.0;
        float s;
        for (k = 0; k < W; k++) input[k] = k < K;
        if (pass) c.gain = 0.0, c.max_inputs = K;
        CHECK_OK(an_robust_create(&rc, 1, NULL, &inner));
        CHECK_OK(an_exog_create(&c, W, input, inner, NULL, &d));
        CHECK_OK(an_detector_fit(d, x, TRAIN));
        CHECK_OK(an_exog_taken(d, K, taken));
        for (k = 0; k < K; k++) n_taken[pass] += taken[k];
        if (!pass) CHECK(taken[3] && taken[11] && n_taken[0] == 2);
        for (i = 0; i < N; i++) {
            CHECK_OK(an_detector_push(d, x + i * W, &s));
            CHECK_OK(an_exog_prediction(d, p));
            if (i >= TRAIN) sum += (p[K] - part[i]) * (p[K] - part[i]);
        }
        rms[pass] = sqrt(sum / (N - TRAIN));
        an_detector_destroy(d);
    }
    printf("  inputs stage, 20 commands (2 driving): %zu taken, test rows' rms miss %.4f (noise 0.05); gain 0: %zu "
           "taken, %.4f\n", n_taken[0], rms[0], n_taken[1], rms[1]);
    CHECK(rms[0] < 0.08);
    CHECK(n_taken[1] > 2 && rms[1] > 1.5 * rms[0]);
}

static an_result exog_job_fit(const an_allocator *a, void *ctx)
{
    const float *x = (const float *)ctx;
    an_detector *d;
    float s[EXOG_ROWS];
    an_result r;
    if ((r = exog_make(a, &d)) != AN_OK) return r;
    r = an_detector_fit(d, x, EXOG_TRAIN);
    if (r == AN_OK) r = an_detector_score(d, x, EXOG_ROWS, s);    /* longer than training: the buffer grows */
    an_detector_destroy(d);
    return r;
}

static an_result exog_job_load(const an_allocator *a, void *ctx)
{
    const blob *b = (const blob *)ctx;
    an_detector *d;
    an_result r = exog_load(b->data, b->size, a, &d);
    if (r == AN_OK) an_detector_destroy(d);
    return r;
}

/* Every allocation of create, fit, a longer score and load may fail
   without a leak; after fit, a score of the training length and pushes
   allocate nothing. */
static void test_exog_allocations(void)
{
    static float x[2 * EXOG_ROWS], s[EXOG_ROWS];
    static double clean[EXOG_ROWS];
    counting c = { 0, 0, 0, 0 };
    an_allocator a = counting_allocator(&c);
    an_detector *d;
    an_writer w;
    blob b;
    long calls;
    size_t i;
    exog_series(x, clean, 1, 7);
    inject_failures("inputs stage create + fit + score", exog_job_fit, x);
    CHECK_OK(exog_make(&a, &d));
    CHECK_OK(an_detector_fit(d, x, EXOG_TRAIN));
    calls = c.calls;
    CHECK_OK(an_detector_score(d, x, EXOG_TRAIN, s));
    for (i = 0; i < EXOG_ROWS; i++) CHECK_OK(an_detector_push(d, x + 2 * i, &s[0]));
    CHECK_OK(an_detector_reset(d));
    CHECK(c.calls == calls);
    save_model(d, &w, &b.data, &b.size);
    inject_failures("inputs stage load", exog_job_load, &b);
    an_writer_uninit(&w);
    an_detector_destroy(d);
    CHECK(c.live == 0 && c.bytes == 0);
}

int main(void)
{
    init_types();
    RUN(test_student_t);
    RUN(test_gesd_nist);
    RUN(test_gesd_robust_reference);
    RUN(test_gesd_errors);
    RUN(test_gesd_detector);
    RUN(test_shesd);
    RUN(test_shesd_against_r);
    RUN(test_level_shift);
    RUN(test_shift_multivariate);
    RUN(test_volatility_shift);
    RUN(test_shift_long_stream);
    RUN(test_stl_runs);
    RUN(test_stl_iqr_feature_tails);
    RUN(test_ks_statistic);
    RUN(test_ks_drift);
    RUN(test_ks_multivariate);
    RUN(test_iforest_c);
    RUN(test_iforest_against_sklearn);
    RUN(test_iforest);
    RUN(test_iforest_beyond_range);
    RUN(test_allocation_failures);
    RUN(test_no_allocation_after_fit);
    RUN(test_awkward_inputs);
    RUN(test_hostile_mutations);
    RUN(test_hostile_crafted);
    RUN(test_nonfinite_refused);
    RUN(test_exog_learns_a_response);
    RUN(test_exog_uninformative_is_transparent);
    RUN(test_exog_chooses_inputs);
    RUN(test_exog_roundtrip);
    RUN(test_exog_errors);
    RUN(test_exog_commands);
    RUN(test_exog_allocations);
    return test_finish("test_detectors");
}
