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
   ==========================================================================
   Several seasonal periods at once (Bandara, Hyndman & Bergmeir 2021), as
   R's forecast::mstl computes it: periods in ascending order, each
   seasonal taken out in turn by an STL fit of the series with the other
   seasonals removed, the whole round repeated `iterations` times; the
   trend is the last fit's, and remainder = y - seasonals - trend.

   an_mstl_config_init(periods, k, robust) gives R's defaults: seasonal
   window 7 + 4 j for the j-th smallest period (11, 15, 19, ...), the other
   STL parameters R's defaults for each period, two iterations (one when
   there is a single period, as mstl does for a plain ts).  Periods of n / 2
   or more are dropped, as R drops them: their seasonal rows come back 0. */
#define AN_MSTL_MAX_PERIODS 8

typedef struct an_mstl_config {
    size_t n_periods;
    size_t periods[AN_MSTL_MAX_PERIODS];  /* distinct, >= 2, any order          */
    size_t windows[AN_MSTL_MAX_PERIODS];  /* seasonal windows; 0 = R's default  */
    size_t iterations;                    /* >= 1                               */
    an_stl_config stl;  /* the rest, for every fit (its period and seasonal
                           window are ignored; 0 windows = that fit's default) */
} an_mstl_config;

AN_API an_mstl_config an_mstl_config_init(const size_t *periods, size_t n_periods, int robust);
AN_API an_result an_mstl_work_size(const an_mstl_config *config, size_t n, size_t *bytes);
/* seasonal: (n_periods, n), row k for periods[k]; trend, remainder: (n). */
AN_API an_result an_mstl_decompose(const an_mstl_config *config, const double *y, size_t n, double *seasonal,
                                   double *trend, double *remainder, const an_allocator *a);
AN_API an_result an_mstl_decompose_work(const an_mstl_config *config, const double *y, size_t n, double *seasonal,
                                        double *trend, double *remainder, void *work);

/* Strength of a trend or seasonal component (Wang, Smith & Hyndman 2006):
   max(0, 1 - var(remainder) / var(component + remainder)), in [0, 1]. */
AN_API an_result an_stl_strength(const double *component, const double *remainder, size_t n, double *strength);

/* Sample autocorrelation r(1..max_lag) of y (n) into acf (max_lag + 1,
   acf[0] = 1): sum (y_t - m)(y_t+k - m) / sum (y_t - m)^2, computed by FFT
   in O(n log n).  Needs max_lag < n and a series that is not constant. */
AN_API an_result an_acf(const double *y, size_t n, size_t max_lag, double *acf, const an_allocator *a);

/* Seasonal periods of y (n), strongest structure first found, returned in
   ascending order.  The series is detrended by least squares; a period is
   a local maximum of the autocorrelation above `min_acf` (0 = 0.2 or the
   white-noise bound 2 / sqrt(n), whichever is larger) and at most
   max_period (0 = n / 3), taken as the shortest peak that the strongest
   peak is a whole multiple of, moved to the lag within two whose cycle
   means explain the most, and kept if they explain at least 5% of the
   variance left (beyond the 2 p / n that p means take from noise).  Each
   period found is removed (cycle means) before the search for the next.  Finds at most max_count periods and
   reports how many in *count (0 when the series has no clear season). */
AN_API an_result an_detect_periods(const double *y, size_t n, size_t max_period, double min_acf, size_t *periods,
                                   size_t max_count, size_t *count, const an_allocator *a);

/* ==========================================================================
   3  DETECTORS
   ========================================================================== */

/* --------------------------------------------------------------------------
   3.1  Robust scores: IQR, MAD, STL + IQR
   -------------------------------------------------------------------------- */

/* --------------------------------------------------------------------------
   3.2  Generalized ESD and seasonal-hybrid ESD
   -------------------------------------------------------------------------- */

/* --------------------------------------------------------------------------
   3.3  Level shift, volatility shift, KS drift
   -------------------------------------------------------------------------- */

/* --------------------------------------------------------------------------
   3.4  Isolation forest
   -------------------------------------------------------------------------- */

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

AN_API an_mstl_config an_mstl_config_init(const size_t *periods, size_t n_periods, int robust)
{
    an_mstl_config c;
    size_t k;
    memset(&c, 0, sizeof c);
    c.n_periods = n_periods;
    for (k = 0; periods && k < n_periods && k < AN_MSTL_MAX_PERIODS; k++) c.periods[k] = periods[k];
    c.iterations = n_periods > 1 ? 2 : 1;
    c.stl = an_stl_config_init(0, 0, robust);
    return c;
}

/* Checks the configuration and fills order[] with the indices of the
   periods kept for n points, smallest period first. */
static an_result an__mstl_plan(const an_mstl_config *c, size_t n, size_t *order, size_t *kept)
{
    size_t i, j, k = 0;
    if (!c || c->n_periods == 0 || c->n_periods > AN_MSTL_MAX_PERIODS || c->iterations == 0) return AN_ERR_INVALID_ARG;
    for (i = 0; i < c->n_periods; i++) {
        if (c->periods[i] < 2) return AN_ERR_INVALID_ARG;
        for (j = 0; j < i; j++)
            if (c->periods[j] == c->periods[i]) return AN_ERR_INVALID_ARG;
        if (2 * c->periods[i] >= n) continue;
        for (j = k; j > 0 && c->periods[order[j - 1]] > c->periods[i]; j--) order[j] = order[j - 1];
        order[j] = i;
        k++;
    }
    *kept = k;
    return k ? AN_OK : AN_ERR_TOO_SHORT;
}

/* The STL configuration of the fit for periods[index], whose rank among
   the kept periods is `rank` (0 = smallest). */
static an_stl_config an__mstl_fit_config(const an_mstl_config *c, size_t index, size_t rank)
{
    an_stl_config s = c->stl;
    s.period = c->periods[index];
    s.seasonal_window = c->windows[index] ? c->windows[index] : 7 + 4 * (rank + 1);
    return s;
}

AN_API an_result an_mstl_work_size(const an_mstl_config *config, size_t n, size_t *bytes)
{
    size_t order[AN_MSTL_MAX_PERIODS], kept, k, need, most = 0;
    an_result r;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if ((r = an__mstl_plan(config, n, order, &kept)) != AN_OK) return r;
    for (k = 0; k < kept; k++) {
        an_stl_config s = an__mstl_fit_config(config, order[k], k);
        if ((r = an_stl_work_size(&s, n, &need)) != AN_OK) return r;
        if (need > most) most = need;
    }
    *bytes = an__add(most, an__mul(n, sizeof(double)));   /* + the fits' remainder */
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

AN_API an_result an_mstl_decompose_work(const an_mstl_config *config, const double *y, size_t n, double *seasonal,
                                        double *trend, double *remainder, void *work)
{
    size_t order[AN_MSTL_MAX_PERIODS], kept, k, i, it;
    double *deseas = remainder, *fit_remainder = (double *)work, *stl_work = fit_remainder + n;
    an_result r;
    if (!y || !seasonal || !trend || !remainder || !work) return AN_ERR_INVALID_ARG;
    if ((r = an__mstl_plan(config, n, order, &kept)) != AN_OK) return r;
    for (i = 0; i < n; i++)
        if (!an__finite(y[i])) return AN_ERR_INPUT;
    memset(seasonal, 0, config->n_periods * n * sizeof(double));
    memcpy(deseas, y, n * sizeof(double));
    for (it = 0; it < config->iterations; it++)
        for (k = 0; k < kept; k++) {
            double *s = seasonal + order[k] * n;
            an_stl_config fit = an__mstl_fit_config(config, order[k], k);
            for (i = 0; i < n; i++) deseas[i] += s[i];
            if ((r = an_stl_decompose_work(&fit, deseas, n, s, trend, fit_remainder, NULL, stl_work)) != AN_OK)
                return r;
            for (i = 0; i < n; i++) deseas[i] -= s[i];
        }
    for (i = 0; i < n; i++) remainder[i] = deseas[i] - trend[i];
    return AN_OK;
}

AN_API an_result an_mstl_decompose(const an_mstl_config *config, const double *y, size_t n, double *seasonal,
                                   double *trend, double *remainder, const an_allocator *a)
{
    size_t bytes;
    void *work;
    an_result r;
    if (!an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if ((r = an_mstl_work_size(config, n, &bytes)) != AN_OK) return r;
    if (!(work = an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an_mstl_decompose_work(config, y, n, seasonal, trend, remainder, work);
    an_free(a, work, bytes);
    return r;
}

AN_API an_result an_stl_strength(const double *component, const double *remainder, size_t n, double *strength)
{
    double mc = 0.0, mr = 0.0, vr = 0.0, vs = 0.0;
    size_t i;
    if (!component || !remainder || !strength) return AN_ERR_INVALID_ARG;
    *strength = 0.0;
    if (n < 2) return AN_ERR_TOO_SHORT;
    for (i = 0; i < n; i++) {
        if (!an__finite(component[i]) || !an__finite(remainder[i])) return AN_ERR_INPUT;
        mc += component[i];
        mr += remainder[i];
    }
    mc /= (double)n;
    mr /= (double)n;
    for (i = 0; i < n; i++) {
        double r = remainder[i] - mr, s = component[i] - mc + r;
        vr += r * r;
        vs += s * s;
    }
    *strength = vs > 0.0 && 1.0 - vr / vs > 0.0 ? 1.0 - vr / vs : 0.0;
    return AN_OK;
}

/* In-place radix-2 FFT of m (a power of two) complex values, re and im
   separate; sign -1 forward, +1 inverse (unscaled). */
static void an__fft(double *re, double *im, size_t m, int sign)
{
    size_t i, j, len, half, k;
    for (i = 1, j = 0; i < m; i++) {             /* bit-reversal permutation */
        size_t bit = m >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (len = 2; len <= m; len <<= 1) {
        double angle = (double)sign * 2.0 * 3.14159265358979323846 / (double)len;
        half = len / 2;
        for (k = 0; k < half; k++) {
            /* twiddles from cos/sin directly, not by recurrence: no drift */
            double wr = cos(angle * (double)k), wi = sin(angle * (double)k);
            for (i = k; i < m; i += len) {
                double xr = re[i + half] * wr - im[i + half] * wi;
                double xi = re[i + half] * wi + im[i + half] * wr;
                re[i + half] = re[i] - xr;
                im[i + half] = im[i] - xi;
                re[i] += xr;
                im[i] += xi;
            }
        }
    }
}

/* The FFT length for an autocorrelation of n points: a power of two >= 2n,
   so that the circular correlation does not wrap. */
static size_t an__acf_fft_length(size_t n)
{
    size_t m = 1;
    while (m < 2 * n) m <<= 1;
    return m;
}

/* acf via FFT; re, im: scratch (m) each. */
static an_result an__acf_work(const double *y, size_t n, size_t max_lag, double *acf, double *re, double *im)
{
    size_t m = an__acf_fft_length(n), i;
    double mean = 0.0;
    for (i = 0; i < n; i++) {
        if (!an__finite(y[i])) return AN_ERR_INPUT;
        mean += y[i];
    }
    mean /= (double)n;
    for (i = 0; i < m; i++) { re[i] = i < n ? y[i] - mean : 0.0; im[i] = 0.0; }
    an__fft(re, im, m, -1);
    for (i = 0; i < m; i++) { re[i] = re[i] * re[i] + im[i] * im[i]; im[i] = 0.0; }
    an__fft(re, im, m, 1);
    if (!(re[0] > 0.0)) return AN_ERR_INPUT;                    /* constant series */
    for (i = 0; i <= max_lag; i++) acf[i] = re[i] / re[0];
    return AN_OK;
}

AN_API an_result an_acf(const double *y, size_t n, size_t max_lag, double *acf, const an_allocator *a)
{
    size_t m, bytes;
    double *re;
    an_result r;
    if (!y || !acf || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if (n < 2 || max_lag >= n) return AN_ERR_TOO_SHORT;
    if (n > SIZE_MAX / 8 / sizeof(double)) return AN_ERR_TOO_LARGE;
    m = an__acf_fft_length(n);
    bytes = 2 * m * sizeof(double);
    if (!(re = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an__acf_work(y, n, max_lag, acf, re, re + m);
    an_free(a, re, bytes);
    return r;
}

/* The period the autocorrelation shows: among its local maxima above
   min_acf, the strongest, or the shortest one it is a whole multiple of
   (within one lag per cycle) whose height is at least half the strongest.
   0 when there is no peak. */
static size_t an__acf_period(const double *acf, size_t max_lag, double min_acf)
{
    size_t k, best = 0, j;
    for (k = 2; k < max_lag; k++)
        if (acf[k] > acf[k - 1] && acf[k] >= acf[k + 1] && acf[k] > min_acf && (!best || acf[k] > acf[best])) best = k;
    if (!best) return 0;
    for (j = 2; j < best; j++) {
        size_t cycles = (best + j / 2) / j;
        size_t off = best > cycles * j ? best - cycles * j : cycles * j - best;
        if (acf[j] > acf[j - 1] && acf[j] >= acf[j + 1] && acf[j] >= 0.5 * acf[best] && acf[j] > min_acf &&
            cycles >= 2 && off <= cycles)
            return j;
    }
    return best;
}

/* Sum of squares left in x (n) after removing its cycle means at period p. */
static double an__cycle_sse(const double *x, size_t n, size_t p)
{
    double sse = 0.0;
    size_t q, i;
    for (q = 0; q < p; q++) {
        double s = 0.0, ss = 0.0, c = 0.0;
        for (i = q; i < n; i += p) { s += x[i]; ss += x[i] * x[i]; c += 1.0; }
        sse += ss - s * s / c;
    }
    return sse;
}

/* An ACF peak sits off the true period when a slower component tilts the
   ACF around it (weekly blocks under a daily cycle move the daily peak to
   23).  Of the lags within two of the peak, the one whose cycle means
   explain the most of x is the period. */
static size_t an__refine_period(const double *x, size_t n, size_t p, size_t max_period)
{
    size_t best = p, q;
    double best_sse = an__cycle_sse(x, n, p);
    for (q = p > 4 ? p - 2 : 2; q <= p + 2 && q <= max_period; q++) {
        double sse = an__cycle_sse(x, n, q);
        if (sse < best_sse || (sse == best_sse && q < best)) { best = q; best_sse = sse; }
    }
    return best;
}

AN_API an_result an_detect_periods(const double *y, size_t n, size_t max_period, double min_acf, size_t *periods,
                                   size_t max_count, size_t *count, const an_allocator *a)
{
    size_t m, bytes, i, k, found = 0, max_lag;
    double *buf, *x, *acf, *re, st = 0.0, stt = 0.0, sy = 0.0, sty = 0.0, slope, icpt, nn = (double)n;
    an_result r = AN_OK;
    if (!y || !periods || !count || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (n < 8) return AN_ERR_TOO_SHORT;
    if (n > SIZE_MAX / 16 / sizeof(double)) return AN_ERR_TOO_LARGE;
    if (max_period == 0 || max_period > n / 3) max_period = n / 3;
    max_lag = max_period + 1;
    if (min_acf <= 0.0) min_acf = 2.0 / sqrt(nn) > 0.2 ? 2.0 / sqrt(nn) : 0.2;
    m = an__acf_fft_length(n);
    bytes = (2 * m + n + max_lag + 1) * sizeof(double);
    if (!(buf = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    re = buf;
    x = re + 2 * m;
    acf = x + n;
    for (i = 0; i < n; i++) {                        /* least-squares line */
        double t = (double)i;
        if (!an__finite(y[i])) { r = AN_ERR_INPUT; goto done; }
        st += t; stt += t * t; sy += y[i]; sty += t * y[i];
    }
    slope = (nn * sty - st * sy) / (nn * stt - st * st);
    icpt = (sy - slope * st) / nn;
    for (i = 0; i < n; i++) x[i] = y[i] - icpt - slope * (double)i;
    while (found < max_count) {
        size_t p, q;
        if ((r = an__acf_work(x, n, max_lag, acf, re, re + m)) != AN_OK) {
            if (r == AN_ERR_INPUT && found) r = AN_OK;   /* the periods explained all of it */
            break;
        }
        if ((p = an__acf_period(acf, max_lag, min_acf)) != 0) p = an__refine_period(x, n, p, max_period);
        for (k = 0; k < found; k++)     /* the cycle means of a multiple took it out already */
            if (p && periods[k] % p == 0) p = 0;
        /* A real season explains at least 5% of what is left, beyond the
           2p/n that p free means take from noise. */
        if (p && an__cycle_sse(x, n, p) > (0.95 - 2.0 * (double)p / nn) * an__cycle_sse(x, n, 1)) p = 0;
        if (!p) break;
        periods[found++] = p;
        for (q = 0; q < p; q++) {                     /* remove its cycle means */
            double s = 0.0;
            size_t c = 0;
            for (i = q; i < n; i += p) { s += x[i]; c++; }
            for (i = q; i < n; i += p) x[i] -= s / (double)c;
        }
    }
    for (i = 1; i < found; i++)                      /* ascending */
        for (k = i; k > 0 && periods[k - 1] > periods[k]; k--) {
            size_t t = periods[k]; periods[k] = periods[k - 1]; periods[k - 1] = t;
        }
    *count = found;
done:
    an_free(a, buf, bytes);
    return r;
}

/* ==========================================================================
   3  DETECTORS
   ========================================================================== */

/* --------------------------------------------------------------------------
   3.1  Robust scores: IQR, MAD, STL + IQR
   -------------------------------------------------------------------------- */

/* --------------------------------------------------------------------------
   3.2  Generalized ESD and seasonal-hybrid ESD
   -------------------------------------------------------------------------- */

/* --------------------------------------------------------------------------
   3.3  Level shift, volatility shift, KS drift
   -------------------------------------------------------------------------- */

/* --------------------------------------------------------------------------
   3.4  Isolation forest
   -------------------------------------------------------------------------- */

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
