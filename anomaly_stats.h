/* anomaly_stats.h - v0.1.0 - the statistical side of anomaly.h.
   No dependencies beyond anomaly.h, libc and libm.  Licence: see anomaly.h.

   Include after (or instead of) anomaly.h; with ANOMALY_IMPLEMENTATION
   defined in one file, this header's code is emitted there too.

   Sections, in reading order:
       1  STL         seasonal-trend decomposition by loess (Cleveland et al. 1990)
       2  MSTL        several seasonal periods, strength, period detection
       3  Detectors   IQR, MAD, ESD, S-H-ESD, level and volatility shifts,
                      KS drift, isolation forest
       4  Thresholds  telemanom's dynamic threshold, SPOT / DSPOT
       5  Alarms      k-of-window rules, suppression, events
       6  Ensemble    score calibration and the hybrid detector

   Series here are double: decompositions are compared with R and the
   netlib Fortran to 1e-6 relative, which float input could not hold. */
#ifndef ANOMALY_STATS_H_INCLUDED
#define ANOMALY_STATS_H_INCLUDED

#include "anomaly.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
   1  STL
   ==========================================================================
   y = seasonal + trend + remainder, exactly as the netlib Fortran stl
   (Cleveland, Cleveland, McRae & Terpenning 1990, J. Official Statistics 6)
   and R's stats::stl compute it: an inner loop of cycle-subseries loess,
   a low-pass filter (moving averages of period, period and 3, then loess)
   and trend loess; an outer loop of bisquare robustness weights.

   an_stl_config_init(period, seasonal_window, robust) gives R's defaults:
     seasonal degree 0, trend and low-pass degree 1,
     trend window  = next odd >= 1.5 period / (1 - 1.5 / seasonal window),
     low-pass window = next odd >= period,
     jumps = ceil(window / 10), inner 2 and outer 0 (robust: 1 and 15).
   A window or jump left 0 takes its default when the series is known.
   seasonal_window = AN_STL_PERIODIC is R's s.window = "periodic": window
   10 n + 1, degree 0, and the seasonal then replaced by its mean at each
   position of the cycle (position i mod period).

   Windows must be odd and >= 3, degrees 0 or 1, and the series longer
   than two periods (n > 2 period, as R requires) with no NaN or Inf. */
#define AN_STL_PERIODIC ((size_t)-1)

typedef struct an_stl_config {
    size_t period;                                        /* >= 2             */
    size_t seasonal_window, trend_window, lowpass_window; /* odd >= 3; 0 = default */
    int seasonal_degree, trend_degree, lowpass_degree;    /* 0 or 1           */
    size_t seasonal_jump, trend_jump, lowpass_jump;       /* >= 1; 0 = default */
    size_t inner, outer;                                  /* loop passes      */
} an_stl_config;

AN_API an_stl_config an_stl_config_init(size_t period, size_t seasonal_window, int robust);
/* The parameters a decomposition of n points actually uses (defaults
   filled in, "periodic" resolved), or the reason they are invalid. */
AN_API an_result an_stl_resolve(const an_stl_config *config, size_t n, an_stl_config *out);
/* Bytes of scratch an_stl_decompose_work needs for n points. */
AN_API an_result an_stl_work_size(const an_stl_config *config, size_t n, size_t *bytes);
/* Decompose y (n).  seasonal, trend, remainder: (n) outputs; weights:
   optional (n) robustness weights of the last pass (all 1 without outer
   passes).  The scratch comes from `a` (NULL = default) or, in the _work
   form, from the caller (an_stl_work_size bytes, 8-byte aligned). */
AN_API an_result an_stl_decompose(const an_stl_config *config, const double *y, size_t n,
                                  double *seasonal, double *trend, double *remainder, double *weights,
                                  const an_allocator *a);
AN_API an_result an_stl_decompose_work(const an_stl_config *config, const double *y, size_t n,
                                       double *seasonal, double *trend, double *remainder, double *weights,
                                       void *work);

/* ==========================================================================
   2  MSTL
   ========================================================================== */

/* ==========================================================================
   3  DETECTORS
   ========================================================================== */

/* ==========================================================================
   4  THRESHOLDS
   ========================================================================== */

/* ==========================================================================
   5  ALARMS
   ========================================================================== */

/* ==========================================================================
   6  ENSEMBLE
   ========================================================================== */

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_STATS_H_INCLUDED */

/* ##########################################################################
   IMPLEMENTATION
   ########################################################################## */
#if defined(ANOMALY_IMPLEMENTATION) && !defined(ANOMALY_STATS_IMPLEMENTATION_DONE)
#define ANOMALY_STATS_IMPLEMENTATION_DONE

#ifdef __cplusplus
extern "C" {
#endif

AN__DEFINE_SELECT(an__select_d, double)

/* ==========================================================================
   1  STL
   ==========================================================================
   A direct port of the netlib routines (stl.f: stlest, stless, stlss,
   stlfts, stlma, stlstp, stlrwt).  Positions are 1-based inside the loess
   routines, as in the Fortran, so the weights and the arithmetic match it
   operation for operation. */

static size_t an__next_odd(double x)
{
    size_t k = (size_t)floor(x + 0.5);
    return k % 2 ? k : k + 1;
}

static size_t an__ceil_tenth(size_t window) { return (window + 9) / 10; }

AN_API an_stl_config an_stl_config_init(size_t period, size_t seasonal_window, int robust)
{
    an_stl_config c;
    memset(&c, 0, sizeof c);
    c.period = period;
    c.seasonal_window = seasonal_window;
    c.seasonal_degree = 0;
    c.trend_degree = 1;
    c.lowpass_degree = 1;
    c.inner = robust ? 1 : 2;
    c.outer = robust ? 15 : 0;
    return c;
}

AN_API an_result an_stl_resolve(const an_stl_config *config, size_t n, an_stl_config *out)
{
    an_stl_config c;
    if (!config || !out) return AN_ERR_INVALID_ARG;
    c = *config;
    if (c.period < 2 || c.inner == 0) return AN_ERR_INVALID_ARG;
    if (n <= 2 * c.period) return AN_ERR_TOO_SHORT;
    if (c.seasonal_window == AN_STL_PERIODIC) {
        if (n > (SIZE_MAX - 1) / 10) return AN_ERR_TOO_LARGE;
        c.seasonal_window = 10 * n + 1;
        c.seasonal_degree = 0;
    }
    if (c.trend_window == 0)
        c.trend_window = an__next_odd(ceil(1.5 * (double)c.period / (1.0 - 1.5 / (double)c.seasonal_window)));
    if (c.lowpass_window == 0) c.lowpass_window = an__next_odd((double)c.period);
    if (c.seasonal_jump == 0) c.seasonal_jump = an__ceil_tenth(c.seasonal_window);
    if (c.trend_jump == 0) c.trend_jump = an__ceil_tenth(c.trend_window);
    if (c.lowpass_jump == 0) c.lowpass_jump = an__ceil_tenth(c.lowpass_window);
    if (c.seasonal_window < 3 || c.seasonal_window % 2 == 0 || c.trend_window < 3 || c.trend_window % 2 == 0 ||
        c.lowpass_window < 3 || c.lowpass_window % 2 == 0)
        return AN_ERR_INVALID_ARG;
    if ((c.seasonal_degree | c.trend_degree | c.lowpass_degree) & ~1) return AN_ERR_INVALID_ARG;
    *out = c;
    return AN_OK;
}

/* Five work arrays of n + 2 period, one of n for the robustness step and
   one of n / 2 + 1 for the loess kernels. */
static size_t an__stl_work_doubles(size_t n, size_t period)
{
    return an__add(an__add(an__mul(5, an__add(n, an__mul(2, period))), n), n / 2 + 1);
}

AN_API an_result an_stl_work_size(const an_stl_config *config, size_t n, size_t *bytes)
{
    an_stl_config c;
    an_result r;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if ((r = an_stl_resolve(config, n, &c)) != AN_OK) return r;
    *bytes = an__mul(an__stl_work_doubles(n, c.period), sizeof(double));
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

/* The tricube weight of a point at distance r from the centre, for
   half-width h, as the Fortran computes it. */
static double an__stl_tricube(double r, double h)
{
    double q;
    if (r > 0.999 * h) return 0.0;
    if (r <= 0.001 * h) return 1.0;
    q = r / h;
    q = 1.0 - q * q * q;
    return q * q * q;
}

/* Loess at position xs from y[nleft..nright] (1-based, inclusive) with
   tricube weights (times rw when userw), degree 0 or 1.  Returns 0 when
   every weight is zero (the caller then keeps y).  kern, when given, holds
   the tricube weights at distances 0..len/2 for a centred window of
   half-width len/2.

   The Fortran normalises the weights, then makes three more passes for
   the local line.  One pass of weighted sums in the offset d = j - xs
   gives the same fit: with mean offset m = S(wd)/S(w), spread
   c = S(wd^2)/S(w) - m^2 and mean ybar = S(wy)/S(w), the line's value at xs
   is ybar - m / c (S(wdy)/S(w) - m ybar).  Offsets are small integers, so
   c loses nothing to cancellation; results agree with the Fortran's to
   rounding (about 1e-13 relative, see the tests). */
static int an__stl_est(const double *y, size_t n, size_t len, int degree, double xs, double *ys,
                       size_t nleft, size_t nright, int userw, const double *rw, const double *kern)
{
    double h, sw = 0.0, swd = 0.0, swdd = 0.0, swy = 0.0, swdy = 0.0, ybar;
    size_t j;
    int line;
    h = xs - (double)nleft > (double)nright - xs ? xs - (double)nleft : (double)nright - xs;
    if (len > n) h += (double)((len - n) / 2);
    line = degree > 0 && h > 0.0;
    if (!(kern && len <= n && h == (double)(len / 2))) kern = NULL;
    for (j = nleft; j <= nright; j++) {
        double d = (double)j - xs, w = kern ? kern[(size_t)fabs(d)] : an__stl_tricube(fabs(d), h);
        if (userw) w *= rw[j - 1];
        sw += w;
        swy += w * y[j - 1];
        if (line) {
            swd += w * d;
            swdd += w * d * d;
            swdy += w * d * y[j - 1];
        }
    }
    if (sw <= 0.0) return 0;
    ybar = swy / sw;
    if (line) {
        double m = swd / sw, c = swdd / sw - m * m;
        if (sqrt(c) > 0.001 * ((double)n - 1.0)) ybar -= m / c * (swdy / sw - m * ybar);
    }
    *ys = ybar;
    return 1;
}

/* Loess smoothing of y (n) into ys with window len, evaluated every `jump`
   points and linearly interpolated between them.  kern: scratch
   (len / 2 + 1 when len < n). */
static void an__stl_ess(const double *y, size_t n, size_t len, int degree, size_t jump, int userw,
                        const double *rw, double *ys, double *kern)
{
    size_t nj, nleft = 1, nright = 1, nsh, i, j, k;
    if (n < 2) { ys[0] = y[0]; return; }
    nj = jump < n - 1 ? jump : n - 1;
    if (len < n)
        for (i = 0; i <= len / 2; i++) kern[i] = an__stl_tricube((double)i, (double)(len / 2));
    if (len >= n) {
        nleft = 1;
        nright = n;
        for (i = 1; i <= n; i += nj)
            if (!an__stl_est(y, n, len, degree, (double)i, &ys[i - 1], nleft, nright, userw, rw, kern)) ys[i - 1] = y[i - 1];
    } else if (nj == 1) {
        nsh = (len + 1) / 2;
        nleft = 1;
        nright = len;
        for (i = 1; i <= n; i++) {
            if (i > nsh && nright != n) { nleft++; nright++; }
            if (!an__stl_est(y, n, len, degree, (double)i, &ys[i - 1], nleft, nright, userw, rw, kern)) ys[i - 1] = y[i - 1];
        }
    } else {
        nsh = (len + 1) / 2;
        for (i = 1; i <= n; i += nj) {
            if (i < nsh) { nleft = 1; nright = len; }
            else if (i >= n - nsh + 1) { nleft = n - len + 1; nright = n; }
            else { nleft = i - nsh + 1; nright = len + i - nsh; }
            if (!an__stl_est(y, n, len, degree, (double)i, &ys[i - 1], nleft, nright, userw, rw, kern)) ys[i - 1] = y[i - 1];
        }
    }
    if (nj == 1) return;
    for (i = 1; i + nj <= n; i += nj) {
        double delta = (ys[i + nj - 1] - ys[i - 1]) / (double)nj;
        for (j = i + 1; j <= i + nj - 1; j++) ys[j - 1] = ys[i - 1] + delta * (double)(j - i);
    }
    k = ((n - 1) / nj) * nj + 1;
    if (k != n) {
        if (!an__stl_est(y, n, len, degree, (double)n, &ys[n - 1], nleft, nright, userw, rw, kern)) ys[n - 1] = y[n - 1];
        if (k != n - 1) {
            double delta = (ys[n - 1] - ys[k - 1]) / (double)(n - k);
            for (j = k + 1; j <= n - 1; j++) ys[j - 1] = ys[k - 1] + delta * (double)(j - k);
        }
    }
}

/* Cycle-subseries smoothing: each of the `period` subseries is smoothed
   and extended one cycle at each end, giving season (n + 2 period). */
static void an__stl_ss(const double *y, size_t n, size_t np, size_t ns, int degree, size_t jump, int userw,
                       const double *rw, double *season, double *w1, double *w2, double *w3, double *kern)
{
    size_t j, i, k, m;
    for (j = 1; j <= np; j++) {
        k = (n - j) / np + 1;
        for (i = 1; i <= k; i++) w1[i - 1] = y[(i - 1) * np + j - 1];
        if (userw)
            for (i = 1; i <= k; i++) w3[i - 1] = rw[(i - 1) * np + j - 1];
        an__stl_ess(w1, k, ns, degree, jump, userw, w3, w2 + 1, kern);
        if (!an__stl_est(w1, k, ns, degree, 0.0, &w2[0], 1, ns < k ? ns : k, userw, w3, NULL)) w2[0] = w2[1];
        if (!an__stl_est(w1, k, ns, degree, (double)(k + 1), &w2[k + 1], k + 1 > ns ? k - ns + 1 : 1, k, userw, w3, NULL))
            w2[k + 1] = w2[k];
        for (m = 1; m <= k + 2; m++) season[(m - 1) * np + j - 1] = w2[m - 1];
    }
}

/* Moving average of length len: ave (n - len + 1). */
static void an__stl_ma(const double *x, size_t n, size_t len, double *ave)
{
    size_t i, k = len, m = 0, newn = n - len + 1;
    double v = 0.0, flen = (double)len;
    for (i = 0; i < len; i++) v += x[i];
    ave[0] = v / flen;
    for (i = 2; i <= newn; i++) {
        k++;
        m++;
        v = v - x[m - 1] + x[k - 1];
        ave[i - 1] = v / flen;
    }
}

/* The low-pass filter's moving averages: period, period, 3. */
static void an__stl_fts(const double *x, size_t n, size_t np, double *trend, double *work)
{
    an__stl_ma(x, n, np, trend);
    an__stl_ma(trend, n - np + 1, np, work);
    an__stl_ma(work, n - 2 * np + 2, 3, trend);
}

/* Bisquare robustness weights from the residuals y - fit; 6 * the median
   absolute residual is the cut-off.  r: scratch (n). */
static void an__stl_rwt(const double *y, size_t n, const double *fit, double *rw, double *r)
{
    size_t i, mid1 = n / 2 + 1, mid2 = n - mid1 + 1;
    double cmad, c9, c1, a, b;
    for (i = 0; i < n; i++) r[i] = fabs(y[i] - fit[i]);
    a = an__select_d(r, n, mid1 - 1);
    b = an__select_d(r, n, mid2 - 1);
    cmad = 3.0 * (a + b);
    c9 = 0.999 * cmad;
    c1 = 0.001 * cmad;
    for (i = 0; i < n; i++) {
        double e = fabs(y[i] - fit[i]);
        if (e <= c1) rw[i] = 1.0;
        else if (e <= c9) {
            double q = e / cmad;
            q = 1.0 - q * q;
            rw[i] = q * q;
        } else rw[i] = 0.0;
    }
}

AN_API an_result an_stl_decompose_work(const an_stl_config *config, const double *y, size_t n,
                                       double *seasonal, double *trend, double *remainder, double *weights,
                                       void *work)
{
    an_stl_config c;
    an_result r;
    size_t i, pass, k, np, m;
    double *w[5], *rw, *scratch, *kern;
    int userw = 0;
    if (!y || !seasonal || !trend || !remainder || !work) return AN_ERR_INVALID_ARG;
    if ((r = an_stl_resolve(config, n, &c)) != AN_OK) return r;
    for (i = 0; i < n; i++)
        if (!an__finite(y[i])) return AN_ERR_INPUT;
    np = c.period;
    m = n + 2 * np;
    for (k = 0; k < 5; k++) w[k] = (double *)work + k * m;
    scratch = (double *)work + 5 * m;
    kern = scratch + n;
    rw = weights ? weights : scratch;   /* weights double as rw; else rw shares the rwt scratch */
    for (i = 0; i < n; i++) { trend[i] = 0.0; rw[i] = 1.0; }
    for (pass = 0;; pass++) {
        size_t inner;
        for (inner = 0; inner < c.inner; inner++) {
            for (i = 0; i < n; i++) w[0][i] = y[i] - trend[i];
            an__stl_ss(w[0], n, np, c.seasonal_window, c.seasonal_degree, c.seasonal_jump, userw, rw,
                       w[1], w[2], w[3], w[4], kern);
            an__stl_fts(w[1], m, np, w[2], w[0]);
            an__stl_ess(w[2], n, c.lowpass_window, c.lowpass_degree, c.lowpass_jump, 0, w[3], w[0], kern);
            for (i = 0; i < n; i++) seasonal[i] = w[1][np + i] - w[0][i];
            for (i = 0; i < n; i++) w[0][i] = y[i] - seasonal[i];
            an__stl_ess(w[0], n, c.trend_window, c.trend_degree, c.trend_jump, userw, rw, trend, kern);
        }
        if (pass >= c.outer) break;
        for (i = 0; i < n; i++) w[0][i] = trend[i] + seasonal[i];
        /* rw and its scratch must differ: without caller weights, borrow w[1] */
        an__stl_rwt(y, n, w[0], rw, rw == scratch ? w[1] : scratch);
        userw = 1;
    }
    if (c.outer == 0)
        for (i = 0; i < n; i++) rw[i] = 1.0;
    if (config->seasonal_window == AN_STL_PERIODIC) {
        /* R: the seasonal becomes its mean at each position of the cycle */
        for (k = 0; k < np; k++) {
            double sum = 0.0;
            size_t count = 0;
            for (i = k; i < n; i += np) { sum += seasonal[i]; count++; }
            for (i = k; i < n; i += np) seasonal[i] = sum / (double)count;
        }
    }
    for (i = 0; i < n; i++) remainder[i] = y[i] - seasonal[i] - trend[i];
    return AN_OK;
}

AN_API an_result an_stl_decompose(const an_stl_config *config, const double *y, size_t n,
                                  double *seasonal, double *trend, double *remainder, double *weights,
                                  const an_allocator *a)
{
    size_t bytes;
    void *work;
    an_result r;
    if (!an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if ((r = an_stl_work_size(config, n, &bytes)) != AN_OK) return r;
    if (!(work = an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an_stl_decompose_work(config, y, n, seasonal, trend, remainder, weights, work);
    an_free(a, work, bytes);
    return r;
}

/* ==========================================================================
   2  MSTL
   ========================================================================== */

/* ==========================================================================
   3  DETECTORS
   ========================================================================== */

/* ==========================================================================
   4  THRESHOLDS
   ========================================================================== */

/* ==========================================================================
   5  ALARMS
   ========================================================================== */

/* ==========================================================================
   6  ENSEMBLE
   ========================================================================== */

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_IMPLEMENTATION */
