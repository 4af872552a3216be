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

/* Special functions the ESD tests below stand on (all in double):
     an_lgamma        ln Gamma(x), x > 0 (Stirling series after shifting
                      x to >= 10; no global state, unlike libm's lgamma)
     an_beta_inc      regularized incomplete beta I_x(a, b), continued
                      fraction (modified Lentz) on the side where it
                      converges, the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
                      on the other
     an_t_cdf         Student t distribution function, df > 0
     an_t_isf         its inverse survival function: the t with
                      P(T > t) = q, q in (0, 1); safeguarded Newton on the
                      upper tail (no 1 - q cancellation), so small q stay
                      accurate.  t quantile p = an_t_isf(1 - p).
   Checked against 40-digit mpmath values: relative error below 1e-13 up
   to 1000 df, about 1e-12 at 1e5 df (the continued fraction converges
   slowly there); scipy.stats.t.isf itself is only good to about 1e-9. */
AN_API an_result an_lgamma(double x, double *out);
AN_API an_result an_beta_inc(double a, double b, double x, double *out);
AN_API an_result an_t_cdf(double t, double df, double *out);
AN_API an_result an_t_isf(double q, double df, double *out);

/* Which side of the centre an outlier may lie on. */
typedef enum an_esd_tail {
    AN_ESD_BOTH  = 0,   /* |x - centre|, two-sided critical values */
    AN_ESD_UPPER = 1,   /* x - centre: spikes only                 */
    AN_ESD_LOWER = 2    /* centre - x: dips only                   */
} an_esd_tail;

/* Generalized ESD test (Rosner 1983, Technometrics 25(2) 165-172) on
   x (n): for i = 1..k, R_i = max |x - centre| / scale over the points not
   yet removed, that point removed (the first in series order on ties);
   lambda_i = (n-i) t / sqrt((n-i-1+t^2)(n-i+1)), t the upper
   alpha / (2 (n-i+1)) point of Student t with n-i-1 df (alpha / (n-i+1)
   one-sided).  The number of outliers is the largest i with R_i >
   lambda_i, and they are the first that many points removed.
   robust = 0: centre = mean, scale = sample standard deviation (Rosner,
   NIST's e-Handbook 1.3.5.17.3); robust = 1: centre = median, scale =
   1.4826 MAD (S-H-ESD, Hochenbaum, Vallis & Kejariwal 2017).
   Outputs (k each): R, lambda, order (index into x removed at step i);
   *n_outliers.  If the scale becomes 0 the test stops there: the steps
   left get R = 0 and order = (size_t)-1 (lambda is still given).  Needs
   1 <= k and n >= k + 2;
   O(n k) time; scratch of n doubles and n indices from `a`. */
AN_API an_result an_gesd(const double *x, size_t n, size_t k, double alpha, an_esd_tail tail, int robust,
                         double *R, double *lambda, size_t *order, size_t *n_outliers, const an_allocator *a);

/* S-H-ESD's residual (Twitter's AnomalyDetection): r = x - seasonal -
   median(x), the seasonal from STL with the "periodic" seasonal window
   (robust when robust_stl), period >= 2 and n > 2 period; period 0 skips
   the seasonal (r = x - median(x)).  Scratch from `a`. */
AN_API an_result an_shesd_residual(const double *x, size_t n, size_t period, int robust_stl, double *residual,
                                   const an_allocator *a);

/* The largest number of rows the ESD detectors accept: their scratch is
   sized at fit or load, and a model file may not ask for more.  (The test
   costs O(n k) with k = max_anoms n, so larger batches are impractical
   anyway; the batch function an_gesd has no such limit.) */
#define AN_ESD_MAX_ROWS ((size_t)1 << 18)

/* GESD as a detector (univariate: n_features must be 1).  ESD is a batch
   test of a whole sample, so there is no streaming form: push returns
   AN_ERR_UNSUPPORTED (a point's verdict depends on every other point in
   the sample, and on how many there are).  fit only checks the training
   rows and sizes the scratch; score runs the test on the rows it is given
   (up to `capacity` rows: 0 = as many as fit saw; more is
   AN_ERR_TOO_LARGE).
   Score of a row: k = max(1, floor(max_anoms n)) candidates; the point
   removed at step i scores max_{j >= i} R_j / lambda_j, every other point
   |x - centre| / scale / lambda_{k+1} with the centre and scale of the
   points left after k removals, capped below the lowest candidate score
   and at 1.  So score > 1 exactly for the points the test declares
   outliers, and scores fall with the order of removal.  When the scale
   is 0 (with MAD: more than half the points equal) the test stops, as
   Twitter's code does, and the points not yet removed score 0.
   Defaults (an_gesd_config_init(max_anoms, alpha)): two-sided,
   mean / sd (robust 0).  max_anoms in (0, 0.5), alpha in (0, 1).
   O(n k) per score call. */
typedef struct an_gesd_config {
    double max_anoms;     /* fraction of rows that may be outliers */
    double alpha;         /* significance level                    */
    an_esd_tail tail;
    int robust;           /* 1: median and MAD                     */
    size_t capacity;      /* most rows score accepts; 0 = fit's    */
} an_gesd_config;

AN_API an_gesd_config an_gesd_config_init(double max_anoms, double alpha);
AN_API an_result an_gesd_create(const an_gesd_config *c, size_t n_features, const an_allocator *a,
                                an_detector **out);
AN_API const an_detector_vtable *an_gesd_type(void);

/* Seasonal-hybrid ESD (Hochenbaum, Vallis & Kejariwal 2017, "Automatic
   anomaly detection in the cloud via statistical learning", arXiv
   1704.07706; Twitter's AnomalyDetection package): the residual of
   an_shesd_residual, then GESD with median and MAD (robust = 1), scored
   as the GESD detector scores.  period 0: detected at fit from the
   training rows with an_detect_periods (none found: no seasonal is
   removed).  Defaults (an_shesd_config_init(period, max_anoms, alpha)):
   two-sided, robust STL as Twitter's code.  max_anoms at most 0.49.
   Batch only, like GESD: push returns AN_ERR_UNSUPPORTED.  Scoring n
   rows costs one STL (O(n)) and O(n k). */
typedef struct an_shesd_config {
    size_t period;        /* rows per seasonal cycle; 0 = detect at fit */
    double max_anoms;
    double alpha;
    an_esd_tail tail;
    int robust_stl;
    size_t capacity;      /* most rows score accepts; 0 = fit's         */
} an_shesd_config;

/* Model files (both ESD detectors): type 'GESD' or 'SHES'; chunk 'CONF'
   (f64 max_anoms, alpha; u32 tail, robust, robust_stl; u64 period,
   capacity as configured) and 'STAT' (u64 capacity, period in use). */
AN_API an_shesd_config an_shesd_config_init(size_t period, double max_anoms, double alpha);
AN_API an_result an_shesd_create(const an_shesd_config *c, size_t n_features, const an_allocator *a,
                                 an_detector **out);
AN_API const an_detector_vtable *an_shesd_type(void);
/* The period a fitted S-H-ESD detector uses (0: no seasonal). */
AN_API an_result an_shesd_period(const an_detector *d, size_t *period);

/* --------------------------------------------------------------------------
   3.3  Level shift, volatility shift, KS drift
   -------------------------------------------------------------------------- */

/* Two adjacent windows of w points, causal: at row t the right window is
   rows t-w+1..t and the left window the w rows before it.
     level shift       |mean_R - mean_L| / sqrt((var_L + var_R) / w + f):
                       Welch's t statistic of the two windows (population
                       variances), f = 1e-12 var(training) + 1e-30 keeps
                       flat windows finite.
     volatility shift  |ln(sd_R / sd_L)| = |ln((var_R + f) / (var_L + f))| / 2:
                       0.69 when the spread doubles or halves.
   With several features each gets its own windows and f, and the score
   of a row is the largest over the features.  fit needs n >= 2 w rows and
   keeps the last 2 w, so the stream that follows the training rows is
   scored at once; reset returns to that.  Scores are capped at FLT_MAX.
   Per point O(F): running sums of x and x^2 (x minus the training mean,
   in double) updated as a point enters and leaves each window, and
   recomputed exactly from the window every w points so rounding cannot
   drift (amortised O(F), one O(w F) pass every w points).  score() runs the
   same pushes on a copy of the fitted state, so it equals pushing the
   rows one by one from the fit, bit for bit.  Saving keeps the fitted
   state, not the live stream.  Defaults: an_*_config_init(w), w >= 2. */
#define AN_SHIFT_MAX_WINDOW   ((size_t)1 << 24)
#define AN_SHIFT_MAX_FEATURES ((size_t)1 << 16)

/* Model files: type 'LSHF' or 'VSHF'; chunk 'CONF' (u64 w, F) and 'STAT'
   (f64 offset[F], floor[F], then the 2 w fitted rows minus the offsets). */
typedef struct an_level_shift_config { size_t window; } an_level_shift_config;
typedef struct an_volatility_shift_config { size_t window; } an_volatility_shift_config;

AN_API an_level_shift_config an_level_shift_config_init(size_t window);
AN_API an_result an_level_shift_create(const an_level_shift_config *c, size_t n_features, const an_allocator *a,
                                       an_detector **out);
AN_API const an_detector_vtable *an_level_shift_type(void);

AN_API an_volatility_shift_config an_volatility_shift_config_init(size_t window);
AN_API an_result an_volatility_shift_create(const an_volatility_shift_config *c, size_t n_features,
                                            const an_allocator *a, an_detector **out);
AN_API const an_detector_vtable *an_volatility_shift_type(void);

/* Two-sample Kolmogorov-Smirnov statistic D = sup |F_a - F_b| of the
   empirical distribution functions, ties included.  The supremum is found
   in integers and D is the double nearest h / lcm(n, m), which is bit for
   bit scipy.stats.ks_2samp's statistic in its default exact mode (both
   samples of at most 10000 points; beyond that scipy keeps its own
   rounding of cdf1 - cdf2, which can differ in the last bit).  Scratch
   copies from `alloc`. */
AN_API an_result an_ks_statistic(const float *a, size_t n, const float *b, size_t m, const an_allocator *alloc,
                                 double *d);
/* Survival function of Kolmogorov's limiting distribution,
   P(K > lambda) (scipy.stats.kstwobign.sf). */
AN_API an_result an_kolmogorov_sf(double lambda, double *p);
/* Asymptotic two-sided p-value of D for samples of n and m points:
   an_kolmogorov_sf(sqrt(n m / (n + m)) D).  (scipy's ks_2samp defaults
   to an exact method for small samples; this is its large-sample form.) */
AN_API an_result an_ks_pvalue(double d, size_t n, size_t m, double *p);

/* KS drift: the score of row t is D between the current window (the last
   w rows) and a reference: AN_KS_TRAINING, the whole training sample
   (sorted at fit), or AN_KS_PREVIOUS, the w rows before the current
   window (two adjacent windows, as the shift detectors).  With several
   features each is compared on its own and the score is the largest D.
   fit needs n >= w rows (2 w for AN_KS_PREVIOUS) and keeps the last w
   (2 w) so the stream starts full; reset returns to that.
   Per point and feature: the windows are kept sorted (binary search and
   one memmove, O(w)), and D is evaluated only at the current window's
   values, each found in the reference by a galloping search on from the
   previous one: O(w log(n_ref / w)) in all.  D equals an_ks_statistic of
   the same two samples bit for bit.  score()
   equals pushing the rows from the fitted state and leaves the stream
   alone.  an_ks_drift_last gives D and its asymptotic p-value after the
   last push.  Saving keeps the fitted state (and the reference).
   Defaults: an_ks_drift_config_init(w, reference), w >= 2. */
/* Model files: type 'KSDR'; chunk 'CONF' (u64 w, u32 previous, u64 F),
   'REFS' in training mode (u64 n_ref, f32 each feature's sorted sample)
   and 'WINS' (f32 the w or 2 w fitted rows). */
typedef enum an_ks_reference { AN_KS_TRAINING = 0, AN_KS_PREVIOUS = 1 } an_ks_reference;

typedef struct an_ks_drift_config {
    size_t window;
    an_ks_reference reference;
} an_ks_drift_config;

AN_API an_ks_drift_config an_ks_drift_config_init(size_t window, an_ks_reference reference);
AN_API an_result an_ks_drift_create(const an_ks_drift_config *c, size_t n_features, const an_allocator *a,
                                    an_detector **out);
AN_API const an_detector_vtable *an_ks_drift_type(void);
/* D (the largest over the features) and its p-value (an_ks_pvalue, not
   corrected for the number of features) after the last push (after fit,
   reset or load: of the fitted windows). */
AN_API an_result an_ks_drift_last(const an_detector *d, double *statistic, double *pvalue);

/* --------------------------------------------------------------------------
   3.4  Isolation forest
   -------------------------------------------------------------------------- */

/* Isolation forest (Liu, Ting & Zhou 2008, "Isolation Forest", ICDM):
   n_trees trees, each grown on `subsample` rows drawn without replacement
   (all rows when fewer), to height limit ceil(log2 subsample).  A node
   splits on a feature drawn uniformly among those not constant in the
   node, at a value drawn uniformly in [min, max) of that feature there
   (x <= split goes left); a node with one row, or constant, or at the
   height limit is a leaf.  Score of a row:
       s = 2^(-E[h(x)] / c(psi)),  h = depth of the leaf + c(leaf size),
       c(n) = 2 H(n-1) - 2 (n-1) / n,  H(i) ~ ln i + 0.5772156649,
   c(2) = 1, c(1) = c(0) = 0, as scikit-learn's _average_path_length;
   psi = the subsample size used.  s near 1: isolated quickly (anomalous);
   well below 0.5: ordinary.  Multivariate, any n_features (e.g. LSTM
   embeddings).  Deterministic given the seed.  Nodes live in flat arrays,
   one block for the forest (no per-node allocation).  Defaults
   (an_iforest_config_init(seed)): 100 trees, subsample 256.
   Scoring a row is O(n_trees log psi); push scores one row (no state, so
   reset does nothing). */
/* Model files: type 'IFOR'; chunk 'CONF' (u64 F, n_trees, subsample,
   seed, psi), then one 'TREE' per tree (u64 node count, then per node u32
   feature or 0xFFFFFFFF for a leaf, f32 split, u32 left child, u32 rows). */
#define AN_IFOREST_MAX_TREES     ((size_t)1 << 16)
#define AN_IFOREST_MAX_SUBSAMPLE ((size_t)1 << 20)
#define AN_IFOREST_MAX_FEATURES  ((size_t)1 << 16)

typedef struct an_iforest_config {
    size_t n_trees;
    size_t subsample;
    uint64_t seed;
} an_iforest_config;

AN_API an_iforest_config an_iforest_config_init(uint64_t seed);
AN_API an_result an_iforest_create(const an_iforest_config *c, size_t n_features, const an_allocator *a,
                                   an_detector **out);
AN_API const an_detector_vtable *an_iforest_type(void);
/* c(n) above, the average path length of an unsuccessful search in a
   binary search tree of n points. */
AN_API double an_iforest_c(double n);

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

/* Stirling's correction series, lnG(z) - ((z - 1/2) ln z - z + ln sqrt(2 pi)),
   for z >= 10 (eight terms: the next is below 1e-17 at z = 10). */
static double an__stirling_corr(double z)
{
    static const double c[8] = { 1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0, -1.0 / 1680.0, 1.0 / 1188.0,
                                 -691.0 / 360360.0, 1.0 / 156.0, -3617.0 / 122400.0 };
    double inv = 1.0 / z, inv2 = inv * inv, s = 0.0;
    int k;
    for (k = 7; k >= 0; k--) s = s * inv2 + c[k];
    return s * inv;
}

/* ln Gamma(x), x > 0: smaller x are shifted up to >= 10 by the
   recurrence (one logarithm of the product). */
static double an__lgamma_pos(double x)
{
    double prod = 1.0, z = x;
    while (z < 10.0) { prod *= z; z += 1.0; }
    return (z - 0.5) * log(z) - z + 0.91893853320467274178 + an__stirling_corr(z) - log(prod);
}

/* ln Gamma(a) - ln Gamma(a + b) for a >= 10, b > 0 without forming the
   two large logarithms: the Stirling leading terms combined with log1p. */
static double an__lgamma_ratio(double a, double b)
{
    double ab = a + b;
    return -b * log(a) - (ab - 0.5) * log1p(b / a) + b + (an__stirling_corr(a) - an__stirling_corr(ab));
}

/* ln B(a, b) = lnG(a) + lnG(b) - lnG(a + b), the large argument's pair
   taken as a ratio. */
static double an__lbeta(double a, double b)
{
    double p = a < b ? a : b, q = a < b ? b : a;
    if (q < 10.0) return an__lgamma_pos(p) + an__lgamma_pos(q) - an__lgamma_pos(p + q);
    return an__lgamma_pos(p) + an__lgamma_ratio(q, p);
}

/* Continued fraction of I_x(a, b) (converges fast for x < (a+1)/(a+b+2));
   modified Lentz.  lx = ln x and ly = ln(1 - x) come from the caller, who
   can often form them more accurately than from a rounded x. */
static double an__beta_cf(double a, double b, double x, double lx, double ly)
{
    const double tiny = 1e-300;
    double c = 1.0, d, h;
    int m;
    d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    h = d;
    for (m = 1; m <= 10000; m++) {
        double dm = (double)m, num, delta;
        num = dm * (b - dm) * x / ((a + 2.0 * dm - 1.0) * (a + 2.0 * dm));
        d = 1.0 + num * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + num / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        num = -(a + dm) * (a + b + dm) * x / ((a + 2.0 * dm) * (a + 2.0 * dm + 1.0));
        d = 1.0 + num * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + num / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        delta = d * c;
        h *= delta;
        if (fabs(delta - 1.0) < 4e-16) break;
    }
    return exp(a * lx + b * ly - an__lbeta(a, b)) / a * h;
}

/* I_x(a, b) given x, y = 1 - x and their logarithms. */
static double an__beta_inc(double a, double b, double x, double y, double lx, double ly)
{
    if (x <= 0.0) return 0.0;
    if (y <= 0.0) return 1.0;
    if (x < (a + 1.0) / (a + b + 2.0)) return an__beta_cf(a, b, x, lx, ly);
    return 1.0 - an__beta_cf(b, a, y, ly, lx);
}

/* P(T > t) for t >= 0: I_x(df/2, 1/2) / 2 with x = df / (df + t^2),
   ln x = -log1p(t^2 / df), ln(1 - x) = ln(t^2 / df) + ln x. */
static double an__t_sf_pos(double t, double df)
{
    double t2 = t * t, r, x, y, lx;
    if (t2 > df * 1e300) return 0.0;
    if (t2 == 0.0) return 0.5;
    r = t2 / df;
    x = df / (df + t2);
    y = t2 / (df + t2);
    lx = -log1p(r);
    return 0.5 * an__beta_inc(0.5 * df, 0.5, x, y, lx, log(r) + lx);
}

/* Student t density. */
static double an__t_pdf(double t, double df)
{
    return exp(-0.5 * (df + 1.0) * log1p(t * t / df) - 0.5 * log(df) - an__lbeta(0.5 * df, 0.5));
}

/* t with P(T > t) = q, 0 < q <= 1/2: bracket, then Newton kept inside the
   bracket (bisection when a step leaves it). */
static double an__t_isf_upper(double q, double df)
{
    double lo = 0.0, hi = 1.0, t;
    int it;
    if (q >= 0.5) return 0.0;
    while (an__t_sf_pos(hi, df) > q && hi < 1e300) { lo = hi; hi *= 2.0; }
    t = 0.5 * (lo + hi);
    for (it = 0; it < 400; it++) {
        double s = an__t_sf_pos(t, df) - q, f = an__t_pdf(t, df), next;
        if (s > 0.0) lo = t; else if (s < 0.0) hi = t; else return t;
        next = f > 0.0 ? t + s / f : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - t) <= 4e-16 * t || hi - lo <= 4e-16 * hi) return next;
        t = next;
    }
    return t;
}

AN_API an_result an_lgamma(double x, double *out)
{
    if (!out) return AN_ERR_INVALID_ARG;
    if (!(x > 0.0) || !an__finite(x)) return AN_ERR_INVALID_ARG;
    *out = an__lgamma_pos(x);
    return AN_OK;
}

AN_API an_result an_beta_inc(double a, double b, double x, double *out)
{
    if (!out) return AN_ERR_INVALID_ARG;
    if (!(a > 0.0) || !(b > 0.0) || !an__finite(a) || !an__finite(b) || !(x >= 0.0 && x <= 1.0))
        return AN_ERR_INVALID_ARG;
    *out = x > 0.0 && x < 1.0 ? an__beta_inc(a, b, x, 1.0 - x, log(x), log1p(-x)) : x > 0.0 ? 1.0 : 0.0;
    return AN_OK;
}

AN_API an_result an_t_cdf(double t, double df, double *out)
{
    double s;
    if (!out) return AN_ERR_INVALID_ARG;
    if (!(df > 0.0) || !an__finite(df) || t != t) return AN_ERR_INVALID_ARG;
    s = an__t_sf_pos(fabs(t), df);
    *out = t >= 0.0 ? 1.0 - s : s;
    return AN_OK;
}

AN_API an_result an_t_isf(double q, double df, double *out)
{
    if (!out) return AN_ERR_INVALID_ARG;
    if (!(df > 0.0) || !an__finite(df) || !(q > 0.0 && q < 1.0)) return AN_ERR_INVALID_ARG;
    *out = q <= 0.5 ? an__t_isf_upper(q, df) : -an__t_isf_upper(1.0 - q, df);
    return AN_OK;
}

/* Rosner's critical value lambda_i for step i (1-based) of n points. */
static double an__gesd_lambda(size_t n, size_t i, double alpha, an_esd_tail tail)
{
    double m = (double)(n - i + 1), q = tail == AN_ESD_BOTH ? alpha / (2.0 * m) : alpha / m;
    double df = (double)(n - i - 1), t = an__t_isf_upper(q, df);
    return (double)(n - i) * t / sqrt((df + t * t) * m);
}

/* Median of v[0..m) (reordered). */
static double an__esd_median(double *v, size_t m)
{
    size_t k = (m - 1) / 2, j;
    double lo = an__select_d(v, m, k), hi;
    if (m % 2) return lo;
    hi = v[k + 1];
    for (j = k + 2; j < m; j++) if (v[j] < hi) hi = v[j];
    return 0.5 * (lo + hi);
}

/* Centre and scale of x[idx[0..m)]: mean and sample sd, or median and
   1.4826 MAD.  tmp: m doubles. */
static void an__esd_centre_scale(const double *x, const size_t *idx, size_t m, int robust, double *tmp,
                                 double *centre, double *scale)
{
    size_t j;
    if (robust) {
        double med;
        for (j = 0; j < m; j++) tmp[j] = x[idx[j]];
        med = an__esd_median(tmp, m);
        for (j = 0; j < m; j++) tmp[j] = fabs(x[idx[j]] - med);
        *centre = med;
        *scale = 1.4826 * an__esd_median(tmp, m);
    } else {
        double s = 0.0, ss = 0.0, mean;
        for (j = 0; j < m; j++) s += x[idx[j]];
        mean = s / (double)m;
        for (j = 0; j < m; j++) ss += (x[idx[j]] - mean) * (x[idx[j]] - mean);
        *centre = mean;
        *scale = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;
    }
}

static double an__esd_dev(double v, double centre, an_esd_tail tail)
{
    return tail == AN_ESD_BOTH ? fabs(v - centre) : tail == AN_ESD_UPPER ? v - centre : centre - v;
}

/* The test itself.  idx, tmp: n each.  After return idx[0..n-steps) holds
   the points not removed, and *centre, *scale their statistics. */
static void an__gesd_run(const double *x, size_t n, size_t k, double alpha, an_esd_tail tail, int robust,
                         double *R, double *lambda, size_t *order, size_t *n_outliers, size_t *steps,
                         size_t *idx, double *tmp, double *centre, double *scale)
{
    size_t i, j, m = n, found = 0, done = 0;
    double c = 0.0, s = 0.0;
    for (j = 0; j < n; j++) idx[j] = j;
    for (i = 0; i < k; i++) {
        size_t best = 0;
        double dmax;
        lambda[i] = an__gesd_lambda(n, i + 1, alpha, tail);
        an__esd_centre_scale(x, idx, m, robust, tmp, &c, &s);
        if (!(s > 0.0)) break;
        dmax = an__esd_dev(x[idx[0]], c, tail);
        for (j = 1; j < m; j++) {
            double d = an__esd_dev(x[idx[j]], c, tail);
            if (d > dmax) { dmax = d; best = j; }
        }
        R[i] = dmax / s;
        order[i] = idx[best];
        memmove(idx + best, idx + best + 1, (m - best - 1) * sizeof *idx);
        m--;
        done++;
        if (R[i] > lambda[i]) found = i + 1;
    }
    for (; i < k; i++) { R[i] = 0.0; order[i] = (size_t)-1; lambda[i] = an__gesd_lambda(n, i + 1, alpha, tail); }
    if (done == k) an__esd_centre_scale(x, idx, m, robust, tmp, &c, &s);
    *n_outliers = found;
    *steps = done;
    *centre = c;
    *scale = s;
}

static an_result an__esd_finite(const double *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    return AN_OK;
}

AN_API an_result an_gesd(const double *x, size_t n, size_t k, double alpha, an_esd_tail tail, int robust,
                         double *R, double *lambda, size_t *order, size_t *n_outliers, const an_allocator *a)
{
    size_t *idx, steps, bytes;
    double *tmp, c, s;
    an_result r;
    if (!x || !R || !lambda || !order || !n_outliers || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    *n_outliers = 0;
    if (k == 0 || !(alpha > 0.0 && alpha < 1.0) || (tail != AN_ESD_BOTH && tail != AN_ESD_UPPER &&
        tail != AN_ESD_LOWER)) return AN_ERR_INVALID_ARG;
    if (n < k + 2 || n < 3) return AN_ERR_TOO_SHORT;
    if ((r = an__esd_finite(x, n)) != AN_OK) return r;
    bytes = an__mul(n, sizeof(size_t) + sizeof(double));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(idx = (size_t *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    tmp = (double *)(idx + n);
    an__gesd_run(x, n, k, alpha, tail, robust ? 1 : 0, R, lambda, order, n_outliers, &steps, idx, tmp, &c, &s);
    an_free(a, idx, bytes);
    return AN_OK;
}

/* --- S-H-ESD residual --- */

static an_result an__shesd_residual_work(const double *x, size_t n, size_t period, int robust_stl,
                                         double *residual, double *tmp, double *seasonal, double *trend,
                                         double *rem, void *stl_work)
{
    double med;
    size_t i;
    memcpy(tmp, x, n * sizeof(double));
    med = an__esd_median(tmp, n);
    if (period) {
        an_stl_config sc = an_stl_config_init(period, AN_STL_PERIODIC, robust_stl);
        an_result r = an_stl_decompose_work(&sc, x, n, seasonal, trend, rem, NULL, stl_work);
        if (r != AN_OK) return r;
        for (i = 0; i < n; i++) residual[i] = x[i] - seasonal[i] - med;
    } else {
        for (i = 0; i < n; i++) residual[i] = x[i] - med;
    }
    return AN_OK;
}

AN_API an_result an_shesd_residual(const double *x, size_t n, size_t period, int robust_stl, double *residual,
                                   const an_allocator *a)
{
    size_t stl_bytes = 0, bytes;
    double *buf;
    an_result r;
    if (!x || !residual || n == 0 || period == 1 || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if ((r = an__esd_finite(x, n)) != AN_OK) return r;
    if (period) {
        an_stl_config sc = an_stl_config_init(period, AN_STL_PERIODIC, robust_stl);
        if (n <= 2 * period) return AN_ERR_TOO_SHORT;
        if ((r = an_stl_work_size(&sc, n, &stl_bytes)) != AN_OK) return r;
    }
    bytes = an__add(an__mul(an__mul(n, 4), sizeof(double)), stl_bytes);
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(buf = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an__shesd_residual_work(x, n, period, robust_stl, residual, buf, buf + n, buf + 2 * n, buf + 3 * n,
                                buf + 4 * n);
    an_free(a, buf, bytes);
    return r;
}

/* --- The two ESD detectors share one object --- */

#define AN__TAG_GESD  AN_TAG('G', 'E', 'S', 'D')
#define AN__TAG_SHESD AN_TAG('S', 'H', 'E', 'S')
#define AN__ESD_TAG_CONF  AN_TAG('C', 'O', 'N', 'F')
#define AN__ESD_TAG_STAT  AN_TAG('S', 'T', 'A', 'T')

typedef struct an__esd {
    an_detector base;
    an_allocator alloc;
    int seasonal;                  /* 1: S-H-ESD                          */
    double max_anoms, alpha;
    an_esd_tail tail;
    int robust, robust_stl;
    size_t period_cfg, period;     /* configured; in use after fit        */
    size_t capacity_cfg, capacity; /* configured; in use after fit        */
    /* one block: x, tmp, R, lambda (cap each), idx, order (cap each),
       and for S-H-ESD residual, seasonal, trend, rem (cap each) + STL work */
    void *block;
    size_t block_bytes, stl_bytes;
} an__esd;

static size_t an__esd_k(double max_anoms, size_t n)
{
    double k = floor(max_anoms * (double)n);
    return k < 1.0 ? 1 : (size_t)k;
}

static an_result an__esd_block_size(const an__esd *e, size_t cap, size_t period, size_t *bytes, size_t *stl)
{
    size_t doubles = an__mul(cap, e->seasonal ? 8 : 4), total;
    *stl = 0;
    if (e->seasonal && period) {
        an_stl_config sc = an_stl_config_init(period, AN_STL_PERIODIC, e->robust_stl);
        an_result r;
        if (cap <= 2 * period) return AN_ERR_TOO_SHORT;
        if ((r = an_stl_work_size(&sc, cap, stl)) != AN_OK) return r;
    }
    total = an__add(an__mul(doubles, sizeof(double)), an__mul(an__mul(cap, 2), sizeof(size_t)));
    total = an__add(total, *stl);
    if (total == SIZE_MAX) return AN_ERR_TOO_LARGE;
    *bytes = total;
    return AN_OK;
}


static an_result an__esd_check_config(int seasonal, double max_anoms, double alpha, an_esd_tail tail,
                                      size_t capacity, size_t period)
{
    double hi = seasonal ? 0.49 : 0.5;
    if (!(max_anoms > 0.0 && (seasonal ? max_anoms <= hi : max_anoms < hi))) return AN_ERR_INVALID_ARG;
    if (!(alpha > 0.0 && alpha < 1.0)) return AN_ERR_INVALID_ARG;
    if (tail != AN_ESD_BOTH && tail != AN_ESD_UPPER && tail != AN_ESD_LOWER) return AN_ERR_INVALID_ARG;
    if (capacity > AN_ESD_MAX_ROWS || period == 1 || period > AN_ESD_MAX_ROWS / 2) return AN_ERR_INVALID_ARG;
    return AN_OK;
}

static an_result an__esd_new(int seasonal, size_t n_features, const an_allocator *a, an__esd **out)
{
    an_allocator alloc;
    an__esd *e;
    an_result r;
    *out = NULL;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if (n_features != 1) return AN_ERR_SHAPE;
    if (!(e = (an__esd *)an_malloc(&alloc, sizeof *e, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(e, 0, sizeof *e);
    e->alloc = alloc;
    e->seasonal = seasonal;
    e->base.vt = seasonal ? an_shesd_type() : an_gesd_type();
    e->base.n_features = 1;
    *out = e;
    return AN_OK;
}

AN_API an_gesd_config an_gesd_config_init(double max_anoms, double alpha)
{
    an_gesd_config c;
    c.max_anoms = max_anoms;
    c.alpha = alpha;
    c.tail = AN_ESD_BOTH;
    c.robust = 0;
    c.capacity = 0;
    return c;
}

AN_API an_shesd_config an_shesd_config_init(size_t period, double max_anoms, double alpha)
{
    an_shesd_config c;
    c.period = period;
    c.max_anoms = max_anoms;
    c.alpha = alpha;
    c.tail = AN_ESD_BOTH;
    c.robust_stl = 1;
    c.capacity = 0;
    return c;
}

AN_API an_result an_gesd_create(const an_gesd_config *c, size_t n_features, const an_allocator *a,
                                an_detector **out)
{
    an__esd *e;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!c) return AN_ERR_INVALID_ARG;
    if ((r = an__esd_check_config(0, c->max_anoms, c->alpha, c->tail, c->capacity, 0)) != AN_OK) return r;
    if ((r = an__esd_new(0, n_features, a, &e)) != AN_OK) return r;
    e->max_anoms = c->max_anoms;
    e->alpha = c->alpha;
    e->tail = c->tail;
    e->robust = c->robust ? 1 : 0;
    e->capacity_cfg = c->capacity;
    *out = &e->base;
    return AN_OK;
}

AN_API an_result an_shesd_create(const an_shesd_config *c, size_t n_features, const an_allocator *a,
                                 an_detector **out)
{
    an__esd *e;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!c) return AN_ERR_INVALID_ARG;
    if ((r = an__esd_check_config(1, c->max_anoms, c->alpha, c->tail, c->capacity, c->period)) != AN_OK) return r;
    if ((r = an__esd_new(1, n_features, a, &e)) != AN_OK) return r;
    e->max_anoms = c->max_anoms;
    e->alpha = c->alpha;
    e->tail = c->tail;
    e->robust = 1;
    e->robust_stl = c->robust_stl ? 1 : 0;
    e->period_cfg = c->period;
    *out = &e->base;
    e->capacity_cfg = c->capacity;
    return AN_OK;
}

/* Allocates the block for `cap` rows and `period` (replacing any old one
   only on success). */
static an_result an__esd_size(an__esd *e, size_t cap, size_t period)
{
    size_t bytes, stl;
    void *block;
    an_result r;
    if ((r = an__esd_block_size(e, cap, period, &bytes, &stl)) != AN_OK) return r;
    if (!(block = an_malloc(&e->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    if (e->block) an_free(&e->alloc, e->block, e->block_bytes);
    e->block = block;
    e->block_bytes = bytes;
    e->stl_bytes = stl;
    e->capacity = cap;
    e->period = period;
    return AN_OK;
}

static an_result an__esd_fit(an_detector *self, const float *x, size_t n)
{
    an__esd *e = (an__esd *)self;
    size_t i, cap, period = 0, k;
    an_result r;
    for (i = 0; i < n; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    k = an__esd_k(e->max_anoms, n);
    if (n < 4 || n < k + 3) return AN_ERR_TOO_SHORT;
    cap = e->capacity_cfg > n ? e->capacity_cfg : n;
    if (cap > AN_ESD_MAX_ROWS) return AN_ERR_TOO_LARGE;
    if (e->seasonal) {
        period = e->period_cfg;
        if (period == 0) {
            size_t found = 0, p = 0;
            double *y = (double *)an_malloc(&e->alloc, n * sizeof(double), AN_ALIGN);
            if (!y) return AN_ERR_NOMEM;
            for (i = 0; i < n; i++) y[i] = x[i];
            r = n >= 8 ? an_detect_periods(y, n, 0, 0.0, &p, 1, &found, &e->alloc) : AN_OK;
            an_free(&e->alloc, y, n * sizeof(double));
            if (r == AN_ERR_NOMEM) return r;
            /* a constant or too short series has no season: go without */
            period = (r == AN_OK && found == 1 && n > 2 * p) ? p : 0;
        } else if (n <= 2 * period) {
            return AN_ERR_TOO_SHORT;
        }
    }
    return an__esd_size(e, cap, period);
}

static an_result an__esd_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__esd *e = (an__esd *)self;
    size_t cap = e->capacity, k, i, n_out, steps, *idx, *order;
    double *v, *tmp, *R, *lam, centre, scale, lowest, last_lambda;
    an_result r;
    if (!e->block) return AN_ERR_NOT_FITTED;
    if (n > cap) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    k = an__esd_k(e->max_anoms, n);
    if (n < 4 || n < k + 3) return AN_ERR_TOO_SHORT;
    v = (double *)e->block;
    tmp = v + cap;
    R = tmp + cap;
    lam = R + cap;
    idx = (size_t *)(lam + cap);
    order = idx + cap;
    for (i = 0; i < n; i++) v[i] = x[i];
    if (e->seasonal) {
        double *res = (double *)(order + cap), *sea = res + cap, *tre = sea + cap, *rem = tre + cap;
        if (e->period) {
            size_t need;
            an_stl_config sc = an_stl_config_init(e->period, AN_STL_PERIODIC, e->robust_stl);
            if (n <= 2 * e->period) return AN_ERR_TOO_SHORT;
            if ((r = an_stl_work_size(&sc, n, &need)) != AN_OK) return r;
            if (need > e->stl_bytes) return AN_ERR_TOO_LARGE;
        }
        r = an__shesd_residual_work(v, n, e->period, e->robust_stl, res, tmp, sea, tre, rem, rem + cap);
        if (r != AN_OK) return r;
        memcpy(v, res, n * sizeof(double));
    }
    an__gesd_run(v, n, k, e->alpha, e->tail, e->robust, R, lam, order, &n_out, &steps, idx, tmp, &centre,
                 &scale);
    /* candidates: running maximum of R / lambda from the last step back */
    lowest = 0.0;
    for (i = steps; i-- > 0;) {
        double ratio = R[i] / lam[i];
        if (i + 1 < steps && tmp[i + 1] > ratio) ratio = tmp[i + 1];
        tmp[i] = ratio;   /* tmp is free again: score of step i */
    }
    for (i = 0; i < n; i++) scores[i] = 0.0f;
    if (steps > 0) lowest = tmp[steps - 1];
    if (steps == k && scale > 0.0) {   /* else every point left equals the centre */
        last_lambda = an__gesd_lambda(n, k + 1, e->alpha, e->tail);
        for (i = 0; i < n - k; i++) {
            double s = an__esd_dev(v[idx[i]], centre, e->tail) / scale / last_lambda;
            if (s < 0.0) s = 0.0;
            if (s > lowest) s = lowest;
            if (s > 1.0) s = 1.0;
            scores[idx[i]] = (float)s;
        }
    }
    for (i = 0; i < steps; i++) {
        double s = tmp[i] > 0.0 ? tmp[i] : 0.0;
        float f = s > (double)FLT_MAX ? FLT_MAX : (float)s;
        if (i < n_out && !(f > 1.0f)) f = 1.0f + FLT_EPSILON;
        if (i >= n_out && f > 1.0f) f = 1.0f;
        scores[order[i]] = f;
    }
    return AN_OK;
}

static an_result an__esd_save(const an_detector *self, an_writer *w)
{
    const an__esd *e = (const an__esd *)self;
    an_write_begin(w, AN__ESD_TAG_CONF);
    an_write_f64(w, e->max_anoms);
    an_write_f64(w, e->alpha);
    an_write_u32(w, (uint32_t)e->tail);
    an_write_u32(w, (uint32_t)e->robust);
    an_write_u32(w, (uint32_t)e->robust_stl);
    an_write_u64(w, e->period_cfg);
    an_write_u64(w, e->capacity_cfg);
    an_write_end(w);
    an_write_begin(w, AN__ESD_TAG_STAT);
    an_write_u64(w, e->capacity);
    an_write_u64(w, e->period);
    return an_write_end(w);
}

static void an__esd_destroy(an_detector *self)
{
    an__esd *e = (an__esd *)self;
    an_allocator a = e->alloc;
    if (e->block) an_free(&a, e->block, e->block_bytes);
    an_free(&a, e, sizeof *e);
}

static an_result an__esd_load(int seasonal, an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p;
    double max_anoms, alpha;
    uint32_t tail, robust, robust_stl;
    size_t period_cfg, cap_cfg, cap, period;
    an__esd *e;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__ESD_TAG_CONF, &p)) != AN_OK) return r;
    if ((r = an_read_f64(&p, &max_anoms)) != AN_OK || (r = an_read_f64(&p, &alpha)) != AN_OK ||
        (r = an_read_u32(&p, &tail)) != AN_OK || (r = an_read_u32(&p, &robust)) != AN_OK ||
        (r = an_read_u32(&p, &robust_stl)) != AN_OK ||
        (r = an_read_count(&p, 0, AN_ESD_MAX_ROWS / 2, &period_cfg)) != AN_OK ||
        (r = an_read_count(&p, 0, AN_ESD_MAX_ROWS, &cap_cfg)) != AN_OK) return r;
    if (tail > 2 || robust > 1 || robust_stl > 1 || (!seasonal && period_cfg) || (seasonal && !robust) ||
        an__esd_check_config(seasonal, max_anoms, alpha, (an_esd_tail)tail, cap_cfg, period_cfg) != AN_OK)
        return AN_ERR_CORRUPT;
    if ((r = an_reader_find(payload, AN__ESD_TAG_STAT, &p)) != AN_OK) return r;
    if ((r = an_read_count(&p, 4, AN_ESD_MAX_ROWS, &cap)) != AN_OK ||
        (r = an_read_count(&p, 0, AN_ESD_MAX_ROWS / 2, &period)) != AN_OK) return r;
    if (period == 1 || (!seasonal && period) || (period_cfg && period != period_cfg) || cap < cap_cfg ||
        (period && cap <= 2 * period)) return AN_ERR_CORRUPT;
    if ((r = an__esd_new(seasonal, 1, a, &e)) != AN_OK) return r;
    e->max_anoms = max_anoms;
    e->alpha = alpha;
    e->tail = (an_esd_tail)tail;
    e->robust = (int)robust;
    e->robust_stl = (int)robust_stl;
    e->period_cfg = period_cfg;
    e->capacity_cfg = cap_cfg;
    if ((r = an__esd_size(e, cap, period)) != AN_OK) {
        an__esd_destroy(&e->base);
        return r == AN_ERR_NOMEM ? r : AN_ERR_CORRUPT;
    }
    *out = &e->base;
    return AN_OK;
}

static an_result an__gesd_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__esd_load(0, payload, a, out);
}

static an_result an__shesd_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__esd_load(1, payload, a, out);
}

static const an_detector_vtable an__gesd_vtable = {
    AN__TAG_GESD, "gesd", an__esd_fit, an__esd_score, NULL, NULL, an__esd_save, an__gesd_load, NULL,
    an__esd_destroy
};
static const an_detector_vtable an__shesd_vtable = {
    AN__TAG_SHESD, "shesd", an__esd_fit, an__esd_score, NULL, NULL, an__esd_save, an__shesd_load, NULL,
    an__esd_destroy
};

AN_API const an_detector_vtable *an_gesd_type(void) { return &an__gesd_vtable; }
AN_API const an_detector_vtable *an_shesd_type(void) { return &an__shesd_vtable; }

AN_API an_result an_shesd_period(const an_detector *d, size_t *period)
{
    if (!d || !period || d->vt != an_shesd_type()) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    *period = ((const an__esd *)d)->period;
    return AN_OK;
}

/* --------------------------------------------------------------------------
   3.3  Level shift, volatility shift, KS drift
   -------------------------------------------------------------------------- */

/* --- Level and volatility shift --- */

#define AN__SHIFT_TAG_LEVEL AN_TAG('L', 'S', 'H', 'F')
#define AN__SHIFT_TAG_VOL   AN_TAG('V', 'S', 'H', 'F')
#define AN__SHIFT_TAG_CONF  AN_TAG('C', 'O', 'N', 'F')
#define AN__SHIFT_TAG_STAT  AN_TAG('S', 'T', 'A', 'T')

typedef struct an__shift_state {
    double *ring;               /* (2w, F) rows minus the training mean */
    double *sum;                /* (4, F): sum x, x^2 left; x, x^2 right */
    size_t pos;                 /* oldest row; the left window first    */
    size_t since;               /* pushes since the exact recomputation */
} an__shift_state;

typedef struct an__shift {
    an_detector base;
    an_allocator alloc;
    int volatility;
    size_t w, F;
    double *offset, *floor;     /* (F) each: training mean, variance floor f */
    double *block;
    size_t block_doubles;
    an__shift_state fit, live, scratch;
} an__shift;

static void an__shift_recompute(an__shift_state *st, size_t w, size_t F)
{
    size_t j, f, span = 2 * w, i = st->pos, k = i < w ? i + w : i - w;
    double *sl = st->sum, *ql = sl + F, *sr = ql + F, *qr = sr + F;
    for (f = 0; f < 4 * F; f++) st->sum[f] = 0.0;
    for (j = 0; j < w; j++) {
        const double *a = st->ring + i * F, *b = st->ring + k * F;
        for (f = 0; f < F; f++) {
            sl[f] += a[f]; ql[f] += a[f] * a[f];
            sr[f] += b[f]; qr[f] += b[f] * b[f];
        }
        if (++i == span) i = 0;
        if (++k == span) k = 0;
    }
    st->since = 0;
}

static float an__shift_value(const an__shift *s, const an__shift_state *st)
{
    size_t f, F = s->F;
    const double *sl = st->sum, *ql = sl + F, *sr = ql + F, *qr = sr + F;
    double w = (double)s->w, best = 0.0;
    for (f = 0; f < F; f++) {
        double ml = sl[f] / w, mr = sr[f] / w, vl = ql[f] / w - ml * ml, vr = qr[f] / w - mr * mr, v;
        if (vl < 0.0) vl = 0.0;
        if (vr < 0.0) vr = 0.0;
        if (s->volatility) v = 0.5 * fabs(log((vr + s->floor[f]) / (vl + s->floor[f])));
        else v = fabs(mr - ml) / sqrt((vl + vr) / w + s->floor[f]);
        if (v > best) best = v;
    }
    return best > (double)FLT_MAX ? FLT_MAX : (float)best;
}

static float an__shift_step(const an__shift *s, an__shift_state *st, const float *row)
{
    size_t w = s->w, F = s->F, f, pos = st->pos, mid = pos < w ? pos + w : pos - w;
    double *sl = st->sum, *ql = sl + F, *sr = ql + F, *qr = sr + F;
    double *old = st->ring + pos * F;
    const double *m = st->ring + mid * F;
    for (f = 0; f < F; f++) {
        double v = row[f] - s->offset[f], o = old[f];
        sl[f] += m[f] - o;
        ql[f] += m[f] * m[f] - o * o;
        sr[f] += v - m[f];
        qr[f] += v * v - m[f] * m[f];
        old[f] = v;
    }
    st->pos = pos + 1 == 2 * w ? 0 : pos + 1;
    if (++st->since == w) an__shift_recompute(st, w, F);
    return an__shift_value(s, st);
}

static void an__shift_copy(const an__shift *s, an__shift_state *dst, const an__shift_state *src)
{
    memcpy(dst->ring, src->ring, 2 * s->w * s->F * sizeof(double));
    memcpy(dst->sum, src->sum, 4 * s->F * sizeof(double));
    dst->pos = src->pos;
    dst->since = src->since;
}

static an_result an__shift_new(int volatility, size_t w, size_t F, const an_allocator *a, an_detector **out)
{
    an_allocator alloc;
    an__shift *s;
    an_result r;
    size_t per, total, i;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if (w < 2 || w > AN_SHIFT_MAX_WINDOW) return AN_ERR_INVALID_ARG;
    if (F < 1 || F > AN_SHIFT_MAX_FEATURES) return AN_ERR_SHAPE;
    per = an__mul(an__add(2 * w, 4), F);                 /* one state: ring and sums */
    total = an__add(an__mul(per, 3), 2 * F);
    if (an__mul(total, sizeof(double)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(s = (an__shift *)an_malloc(&alloc, sizeof *s, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    if (!(s->block = (double *)an_malloc(&alloc, total * sizeof(double), AN_ALIGN))) {
        an_free(&alloc, s, sizeof *s);
        return AN_ERR_NOMEM;
    }
    s->block_doubles = total;
    s->alloc = alloc;
    s->volatility = volatility;
    s->w = w;
    s->F = F;
    for (i = 0; i < 3; i++) {
        an__shift_state *st = i == 0 ? &s->fit : i == 1 ? &s->live : &s->scratch;
        st->ring = s->block + i * per;
        st->sum = st->ring + 2 * w * F;
    }
    s->offset = s->block + 3 * per;
    s->floor = s->offset + F;
    s->base.vt = volatility ? an_volatility_shift_type() : an_level_shift_type();
    s->base.n_features = F;
    *out = &s->base;
    return AN_OK;
}

AN_API an_level_shift_config an_level_shift_config_init(size_t window)
{
    an_level_shift_config c;
    c.window = window;
    return c;
}

AN_API an_volatility_shift_config an_volatility_shift_config_init(size_t window)
{
    an_volatility_shift_config c;
    c.window = window;
    return c;
}

AN_API an_result an_level_shift_create(const an_level_shift_config *c, size_t n_features, const an_allocator *a,
                                       an_detector **out)
{
    if (out) *out = NULL;
    if (!c) return AN_ERR_INVALID_ARG;
    return an__shift_new(0, c->window, n_features, a, out);
}

AN_API an_result an_volatility_shift_create(const an_volatility_shift_config *c, size_t n_features,
                                            const an_allocator *a, an_detector **out)
{
    if (out) *out = NULL;
    if (!c) return AN_ERR_INVALID_ARG;
    return an__shift_new(1, c->window, n_features, a, out);
}

static an_result an__shift_fit(an_detector *self, const float *x, size_t n)
{
    an__shift *s = (an__shift *)self;
    size_t i, f, F = s->F, span = 2 * s->w;
    if (an__mul(n, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n * F; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    if (n < span) return AN_ERR_TOO_SHORT;
    for (f = 0; f < F; f++) {
        double sum = 0.0, ss = 0.0, mean;
        for (i = 0; i < n; i++) sum += x[i * F + f];
        mean = sum / (double)n;
        for (i = 0; i < n; i++) ss += (x[i * F + f] - mean) * (x[i * F + f] - mean);
        s->offset[f] = mean;
        s->floor[f] = 1e-12 * (ss / (double)n) + 1e-30;
    }
    for (i = 0; i < span; i++)
        for (f = 0; f < F; f++) s->fit.ring[i * F + f] = x[(n - span + i) * F + f] - s->offset[f];
    s->fit.pos = 0;
    an__shift_recompute(&s->fit, s->w, F);
    an__shift_copy(s, &s->live, &s->fit);
    return AN_OK;
}

static an_result an__shift_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__shift *s = (an__shift *)self;
    size_t i, F = s->F;
    if (an__mul(n, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n * F; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    an__shift_copy(s, &s->scratch, &s->fit);
    for (i = 0; i < n; i++) scores[i] = an__shift_step(s, &s->scratch, x + i * F);
    return AN_OK;
}

static an_result an__shift_push(an_detector *self, const float *row, float *score)
{
    an__shift *s = (an__shift *)self;
    size_t f;
    for (f = 0; f < s->F; f++) if (!an__finite(row[f])) return AN_ERR_INPUT;
    *score = an__shift_step(s, &s->live, row);
    return AN_OK;
}

static an_result an__shift_reset(an_detector *self)
{
    an__shift *s = (an__shift *)self;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    an__shift_copy(s, &s->live, &s->fit);
    return AN_OK;
}

static an_result an__shift_save(const an_detector *self, an_writer *w)
{
    const an__shift *s = (const an__shift *)self;
    an_write_begin(w, AN__SHIFT_TAG_CONF);
    an_write_u64(w, s->w);
    an_write_u64(w, s->F);
    an_write_end(w);
    an_write_begin(w, AN__SHIFT_TAG_STAT);
    an_write_f64s(w, s->offset, s->F);
    an_write_f64s(w, s->floor, s->F);
    an_write_f64s(w, s->fit.ring, 2 * s->w * s->F);   /* pos is 0 after fit and load */
    return an_write_end(w);
}

static void an__shift_destroy(an_detector *self)
{
    an__shift *s = (an__shift *)self;
    an_allocator a = s->alloc;
    an_free(&a, s->block, s->block_doubles * sizeof(double));
    an_free(&a, s, sizeof *s);
}

static an_result an__shift_load(int volatility, an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p;
    size_t w, F, i, values;
    an__shift *s;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__SHIFT_TAG_CONF, &p)) != AN_OK) return r;
    if ((r = an_read_count(&p, 2, AN_SHIFT_MAX_WINDOW, &w)) != AN_OK ||
        (r = an_read_count(&p, 1, AN_SHIFT_MAX_FEATURES, &F)) != AN_OK) return r;
    if ((r = an_reader_find(payload, AN__SHIFT_TAG_STAT, &p)) != AN_OK) return r;
    values = an__mul(an__add(2 * w, 2), F);
    if ((r = an_reader_need(&p, values, sizeof(double))) != AN_OK) return r;
    if ((r = an__shift_new(volatility, w, F, a, out)) != AN_OK) return r;
    s = (an__shift *)*out;
    if ((r = an_read_f64s(&p, s->offset, F)) == AN_OK && (r = an_read_f64s(&p, s->floor, F)) == AN_OK)
        r = an_read_f64s(&p, s->fit.ring, 2 * w * F);
    /* values a fit on float data can give: squares and sums stay finite */
    for (i = 0; r == AN_OK && i < F; i++)
        if (!(fabs(s->offset[i]) <= 1e39) || !(s->floor[i] > 0.0 && s->floor[i] <= 1e80)) r = AN_ERR_CORRUPT;
    for (i = 0; r == AN_OK && i < 2 * w * F; i++)
        if (!(fabs(s->fit.ring[i]) <= 1e39)) r = AN_ERR_CORRUPT;
    if (r != AN_OK) {
        an__shift_destroy(*out);
        *out = NULL;
        return r;
    }
    s->fit.pos = 0;
    an__shift_recompute(&s->fit, w, F);
    an__shift_copy(s, &s->live, &s->fit);
    return AN_OK;
}

static an_result an__level_shift_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__shift_load(0, payload, a, out);
}

static an_result an__volatility_shift_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__shift_load(1, payload, a, out);
}

static const an_detector_vtable an__level_shift_vtable = {
    AN__SHIFT_TAG_LEVEL, "level-shift", an__shift_fit, an__shift_score, an__shift_push, an__shift_reset,
    an__shift_save, an__level_shift_load, NULL, an__shift_destroy
};
static const an_detector_vtable an__volatility_shift_vtable = {
    AN__SHIFT_TAG_VOL, "volatility-shift", an__shift_fit, an__shift_score, an__shift_push, an__shift_reset,
    an__shift_save, an__volatility_shift_load, NULL, an__shift_destroy
};

AN_API const an_detector_vtable *an_level_shift_type(void) { return &an__level_shift_vtable; }
AN_API const an_detector_vtable *an_volatility_shift_type(void) { return &an__volatility_shift_vtable; }

/* --- Kolmogorov-Smirnov --- */

/* #a < v and #a <= v in sorted a. */
static size_t an__ks_lower(const float *a, size_t n, float v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { size_t mid = lo + (hi - lo) / 2; if (a[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
}

static size_t an__ks_upper(const float *a, size_t n, float v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { size_t mid = lo + (hi - lo) / 2; if (a[mid] <= v) lo = mid + 1; else hi = mid; }
    return lo;
}

/* D of sorted a (n) and sorted b (m).  Between two values of b the
   distance can only peak at b's values or just below them, so those are
   the only places evaluated, in integers: |#a n_b - #b n_a| / (n m).  The
   maximum h / lcm(n, m) is then divided once, as scipy's ks_2samp rounds
   its statistic (h / lcm in its exact mode). */
/* The first i >= from with a[i] >= v (strict = 0) or a[i] > v (strict =
   1), when every a[i] before `from` is below that mark: an exponential
   search out from `from`, then a binary search, O(log distance). */
static size_t an__ks_gallop(const float *a, size_t n, size_t from, float v, int strict)
{
    size_t lo = from, hi = from, step = 1;
    while (hi < n && (strict ? a[hi] <= v : a[hi] < v)) {
        lo = hi + 1;
        hi = step > n - hi ? n : hi + step;
        step *= 2;
    }
    return lo + (strict ? an__ks_upper(a + lo, hi - lo, v) : an__ks_lower(a + lo, hi - lo, v));
}

static double an__ks_d(const float *a, size_t n, const float *b, size_t m)
{
    uint64_t best = 0, g, x = n, y = m;
    size_t i0 = 0, below = 0, upto = 0;
    while (y) { uint64_t t = x % y; x = y; y = t; }
    g = x;
    while (i0 < m) {
        size_t i1 = i0 + 1;
        uint64_t u, v, e;
        while (i1 < m && b[i1] == b[i0]) i1++;
        /* b ascends, so both counts only grow: search on from the last */
        below = an__ks_gallop(a, n, upto > below ? upto : below, b[i0], 0);
        upto = an__ks_gallop(a, n, below, b[i0], 1);
        u = (uint64_t)upto * m;
        v = (uint64_t)i1 * n;
        e = u > v ? u - v : v - u;
        if (e > best) best = e;
        u = (uint64_t)below * m;
        v = (uint64_t)i0 * n;
        e = u > v ? u - v : v - u;
        if (e > best) best = e;
        i0 = i1;
    }
    return (double)(best / g) / (double)((uint64_t)(n / g) * m);
}

/* Heapsort, ascending (no libc qsort: stdlib.h is optional here). */
static void an__ks_sort(float *v, size_t n)
{
    size_t start = n / 2, end = n;
    while (end > 1) {
        size_t root, child;
        float t;
        if (start > 0) {
            start--;
        } else {
            end--;
            t = v[0]; v[0] = v[end]; v[end] = t;
        }
        root = start;
        while ((child = 2 * root + 1) < end) {
            if (child + 1 < end && v[child] < v[child + 1]) child++;
            if (v[root] < v[child]) {
                t = v[root]; v[root] = v[child]; v[child] = t;
                root = child;
            } else {
                break;
            }
        }
    }
}

AN_API an_result an_ks_statistic(const float *a, size_t n, const float *b, size_t m, const an_allocator *alloc,
                                 double *d)
{
    float *buf;
    size_t i, bytes;
    if (!a || !b || !d || n == 0 || m == 0 || !an__allocator_ok(alloc)) return AN_ERR_INVALID_ARG;
    *d = 0.0;
    for (i = 0; i < n; i++) if (!an__finite(a[i])) return AN_ERR_INPUT;
    for (i = 0; i < m; i++) if (!an__finite(b[i])) return AN_ERR_INPUT;
    bytes = an__mul(an__add(n, m), sizeof(float));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(buf = (float *)an_malloc(alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    memcpy(buf, a, n * sizeof(float));
    memcpy(buf + n, b, m * sizeof(float));
    an__ks_sort(buf, n);
    an__ks_sort(buf + n, m);
    *d = an__ks_d(buf, n, buf + n, m);
    an_free(alloc, buf, bytes);
    return AN_OK;
}

AN_API an_result an_kolmogorov_sf(double lambda, double *p)
{
    double s = 0.0;
    int k;
    if (!p || lambda != lambda) return AN_ERR_INVALID_ARG;
    if (lambda <= 0.0) { *p = 1.0; return AN_OK; }
    if (lambda < 1.0) {
        /* P(K <= l) = sqrt(2 pi) / l sum_k exp(-(2k-1)^2 pi^2 / (8 l^2)) */
        double z = -9.86960440108935861883 / (8.0 * lambda * lambda);
        for (k = 1; k < 100; k++) {
            double t = exp((double)((2 * k - 1) * (2 * k - 1)) * z);
            s += t;
            if (t <= 1e-17 * s) break;
        }
        *p = 1.0 - 2.50662827463100050242 / lambda * s;
    } else {
        /* P(K > l) = 2 sum_k (-1)^(k-1) exp(-2 k^2 l^2) */
        for (k = 1; k < 100; k++) {
            double t = exp(-2.0 * (double)k * (double)k * lambda * lambda);
            s += (k % 2) ? t : -t;
            if (t <= 1e-17 * s) break;
        }
        *p = 2.0 * s;
    }
    if (*p < 0.0) *p = 0.0;
    if (*p > 1.0) *p = 1.0;
    return AN_OK;
}

AN_API an_result an_ks_pvalue(double d, size_t n, size_t m, double *p)
{
    double en;
    if (!p || n == 0 || m == 0 || !(d >= 0.0 && d <= 1.0)) return AN_ERR_INVALID_ARG;
    en = (double)n * (double)m / ((double)n + (double)m);
    return an_kolmogorov_sf(sqrt(en) * d, p);
}

#define AN__KS_TAG      AN_TAG('K', 'S', 'D', 'R')
#define AN__KS_TAG_CONF AN_TAG('C', 'O', 'N', 'F')
#define AN__KS_TAG_REF  AN_TAG('R', 'E', 'F', 'S')
#define AN__KS_TAG_WIN  AN_TAG('W', 'I', 'N', 'S')
#define AN__KS_MAX_REF  ((size_t)1 << 28)

typedef struct an__ks_state {
    float *ring;     /* (span, F) rows in arrival order from pos                 */
    float *cur;      /* (F, w): the last w values of each feature, sorted       */
    float *prv;      /* (F, w): the w values before them, sorted (previous mode) */
    size_t pos;
    double d;        /* the largest D over the features, windows as they stand  */
} an__ks_state;

typedef struct an__ks {
    an_detector base;
    an_allocator alloc;
    size_t w, span, F;
    int previous;
    size_t n_ref;
    float *ref;              /* (F, n_ref) training sample, each row sorted */
    float *block;            /* three states                                */
    size_t block_floats, ref_floats;
    an__ks_state fit, live, scratch;
} an__ks;

static void an__ks_remove(float *v, size_t n, float x)
{
    size_t i = an__ks_lower(v, n, x);
    if (i < n) memmove(v + i, v + i + 1, (n - i - 1) * sizeof(float));
}

static void an__ks_insert(float *v, size_t n, float x)   /* v holds n, room for n + 1 */
{
    size_t i = an__ks_upper(v, n, x);
    memmove(v + i + 1, v + i, (n - i) * sizeof(float));
    v[i] = x;
}

static double an__ks_state_d(const an__ks *k, const an__ks_state *st)
{
    size_t f, w = k->w;
    double best = 0.0;
    for (f = 0; f < k->F; f++) {
        double d = k->previous ? an__ks_d(st->prv + f * w, w, st->cur + f * w, w)
                               : an__ks_d(k->ref + f * k->n_ref, k->n_ref, st->cur + f * w, w);
        if (d > best) best = d;
    }
    return best;
}

static float an__ks_step(const an__ks *k, an__ks_state *st, const float *row)
{
    size_t w = k->w, F = k->F, f, pos = st->pos;
    float *old = st->ring + pos * F;
    const float *mid = k->previous ? st->ring + (pos < w ? pos + w : pos - w) * F : NULL;
    for (f = 0; f < F; f++) {
        float *cur = st->cur + f * w;
        if (k->previous) {
            float *prv = st->prv + f * w;
            an__ks_remove(prv, w, old[f]);
            an__ks_insert(prv, w - 1, mid[f]);
            an__ks_remove(cur, w, mid[f]);
        } else {
            an__ks_remove(cur, w, old[f]);
        }
        an__ks_insert(cur, w - 1, row[f]);
        old[f] = row[f];
    }
    st->pos = pos + 1 == k->span ? 0 : pos + 1;
    st->d = an__ks_state_d(k, st);
    return (float)st->d;
}

static void an__ks_copy(const an__ks *k, an__ks_state *dst, const an__ks_state *src)
{
    memcpy(dst->ring, src->ring, k->span * k->F * sizeof(float));
    memcpy(dst->cur, src->cur, k->w * k->F * sizeof(float));
    if (k->previous) memcpy(dst->prv, src->prv, k->w * k->F * sizeof(float));
    dst->pos = src->pos;
    dst->d = src->d;
}

/* Fills the windows of st from its ring (pos 0). */
static void an__ks_build(const an__ks *k, an__ks_state *st)
{
    size_t w = k->w, F = k->F, f, j;
    for (f = 0; f < F; f++) {
        float *cur = st->cur + f * w;
        for (j = 0; j < w; j++) cur[j] = st->ring[(k->span - w + j) * F + f];
        an__ks_sort(cur, w);
        if (k->previous) {
            float *prv = st->prv + f * w;
            for (j = 0; j < w; j++) prv[j] = st->ring[j * F + f];
            an__ks_sort(prv, w);
        }
    }
    st->pos = 0;
    st->d = an__ks_state_d(k, st);
}

AN_API an_ks_drift_config an_ks_drift_config_init(size_t window, an_ks_reference reference)
{
    an_ks_drift_config c;
    c.window = window;
    c.reference = reference;
    return c;
}

static an_result an__ks_new(size_t w, int previous, size_t F, const an_allocator *a, an__ks **out)
{
    an__ks *k;
    size_t span = previous ? 2 * w : w, per, total, i;
    *out = NULL;
    per = an__mul(an__add(span, previous ? 2 * w : w), F);
    total = an__mul(per, 3);
    if (an__mul(total, sizeof(float)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(k = (an__ks *)an_malloc(a, sizeof *k, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(k, 0, sizeof *k);
    k->block_floats = total;
    if (!(k->block = (float *)an_malloc(a, total * sizeof(float), AN_ALIGN))) {
        an_free(a, k, sizeof *k);
        return AN_ERR_NOMEM;
    }
    k->alloc = *a;
    k->w = w;
    k->span = span;
    k->F = F;
    k->previous = previous;
    for (i = 0; i < 3; i++) {
        an__ks_state *st = i == 0 ? &k->fit : i == 1 ? &k->live : &k->scratch;
        st->ring = k->block + i * per;
        st->cur = st->ring + span * F;
        st->prv = previous ? st->cur + w * F : NULL;
    }
    k->base.vt = an_ks_drift_type();
    k->base.n_features = F;
    *out = k;
    return AN_OK;
}

AN_API an_result an_ks_drift_create(const an_ks_drift_config *c, size_t n_features, const an_allocator *a,
                                    an_detector **out)
{
    an_allocator alloc;
    an__ks *k;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!c || (r = an__allocator_copy(&alloc, a)) != AN_OK) return AN_ERR_INVALID_ARG;
    if (c->window < 2 || c->window > AN_SHIFT_MAX_WINDOW) return AN_ERR_INVALID_ARG;
    if (c->reference != AN_KS_TRAINING && c->reference != AN_KS_PREVIOUS) return AN_ERR_INVALID_ARG;
    if (n_features < 1 || n_features > AN_SHIFT_MAX_FEATURES) return AN_ERR_SHAPE;
    if ((r = an__ks_new(c->window, c->reference == AN_KS_PREVIOUS, n_features, &alloc, &k)) != AN_OK) return r;
    *out = &k->base;
    return AN_OK;
}

static an_result an__ks_fit(an_detector *self, const float *x, size_t n)
{
    an__ks *k = (an__ks *)self;
    size_t i, f, F = k->F;
    if (an__mul(n, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n * F; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    if (n < k->span) return AN_ERR_TOO_SHORT;
    if (!k->previous) {
        float *ref;
        if (n > AN__KS_MAX_REF || an__mul(n, F) > AN__KS_MAX_REF) return AN_ERR_TOO_LARGE;
        if (!(ref = (float *)an_malloc(&k->alloc, n * F * sizeof(float), AN_ALIGN))) return AN_ERR_NOMEM;
        for (f = 0; f < F; f++) {
            for (i = 0; i < n; i++) ref[f * n + i] = x[i * F + f];
            an__ks_sort(ref + f * n, n);
        }
        if (k->ref) an_free(&k->alloc, k->ref, k->ref_floats * sizeof(float));
        k->ref = ref;
        k->ref_floats = n * F;
        k->n_ref = n;
    }
    memcpy(k->fit.ring, x + (n - k->span) * F, k->span * F * sizeof(float));
    an__ks_build(k, &k->fit);
    an__ks_copy(k, &k->live, &k->fit);
    return AN_OK;
}

static an_result an__ks_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__ks *k = (an__ks *)self;
    size_t i, F = k->F;
    if (an__mul(n, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n * F; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    an__ks_copy(k, &k->scratch, &k->fit);
    for (i = 0; i < n; i++) scores[i] = an__ks_step(k, &k->scratch, x + i * F);
    return AN_OK;
}

static an_result an__ks_push(an_detector *self, const float *row, float *score)
{
    an__ks *k = (an__ks *)self;
    size_t f;
    for (f = 0; f < k->F; f++) if (!an__finite(row[f])) return AN_ERR_INPUT;
    *score = an__ks_step(k, &k->live, row);
    return AN_OK;
}

static an_result an__ks_reset(an_detector *self)
{
    an__ks *k = (an__ks *)self;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    an__ks_copy(k, &k->live, &k->fit);
    return AN_OK;
}

AN_API an_result an_ks_drift_last(const an_detector *d, double *statistic, double *pvalue)
{
    const an__ks *k = (const an__ks *)d;
    if (!d || d->vt != an_ks_drift_type()) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if (statistic) *statistic = k->live.d;
    if (pvalue) return an_ks_pvalue(k->live.d, k->previous ? k->w : k->n_ref, k->w, pvalue);
    return AN_OK;
}

static an_result an__ks_save(const an_detector *self, an_writer *w)
{
    const an__ks *k = (const an__ks *)self;
    an_write_begin(w, AN__KS_TAG_CONF);
    an_write_u64(w, k->w);
    an_write_u32(w, (uint32_t)k->previous);
    an_write_u64(w, k->F);
    an_write_end(w);
    if (!k->previous) {
        an_write_begin(w, AN__KS_TAG_REF);
        an_write_u64(w, k->n_ref);
        an_write_f32s(w, k->ref, k->n_ref * k->F);
        an_write_end(w);
    }
    an_write_begin(w, AN__KS_TAG_WIN);
    an_write_f32s(w, k->fit.ring, k->span * k->F);   /* pos is 0 after fit and load */
    return an_write_end(w);
}

static void an__ks_destroy(an_detector *self)
{
    an__ks *k = (an__ks *)self;
    an_allocator a = k->alloc;
    if (k->ref) an_free(&a, k->ref, k->ref_floats * sizeof(float));
    an_free(&a, k->block, k->block_floats * sizeof(float));
    an_free(&a, k, sizeof *k);
}

static an_result an__ks_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p, q;
    size_t w, i, F, n_ref = 0, total;
    uint32_t previous;
    an__ks *k;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__KS_TAG_CONF, &p)) != AN_OK) return r;
    if ((r = an_read_count(&p, 2, AN_SHIFT_MAX_WINDOW, &w)) != AN_OK || (r = an_read_u32(&p, &previous)) != AN_OK ||
        (r = an_read_count(&p, 1, AN_SHIFT_MAX_FEATURES, &F)) != AN_OK) return r;
    if (previous > 1) return AN_ERR_CORRUPT;
    if ((r = an_reader_find(payload, AN__KS_TAG_WIN, &q)) != AN_OK) return r;
    if ((r = an_reader_need(&q, an__mul(previous ? 2 * w : w, F), sizeof(float))) != AN_OK) return r;
    if (!previous) {
        if ((r = an_reader_find(payload, AN__KS_TAG_REF, &p)) != AN_OK) return r;
        if ((r = an_read_count(&p, w, AN__KS_MAX_REF, &n_ref)) != AN_OK) return r;
        if (an__mul(n_ref, F) > AN__KS_MAX_REF) return AN_ERR_CORRUPT;
        if ((r = an_reader_need(&p, n_ref * F, sizeof(float))) != AN_OK) return r;
    }
    if ((r = an__ks_new(w, (int)previous, F, a, &k)) != AN_OK) return r;
    total = n_ref * F;
    if (!previous) {
        if (!(k->ref = (float *)an_malloc(a, total * sizeof(float), AN_ALIGN))) r = AN_ERR_NOMEM;
        else {
            k->ref_floats = total;
            k->n_ref = n_ref;
            r = an_read_f32s(&p, k->ref, total);
            for (i = 0; r == AN_OK && i < total; i++)
                if (!an__finite(k->ref[i]) || (i % n_ref > 0 && k->ref[i] < k->ref[i - 1])) r = AN_ERR_CORRUPT;
        }
    }
    if (r == AN_OK) r = an_read_f32s(&q, k->fit.ring, k->span * F);
    for (i = 0; r == AN_OK && i < k->span * F; i++) if (!an__finite(k->fit.ring[i])) r = AN_ERR_CORRUPT;
    if (r != AN_OK) {
        an__ks_destroy(&k->base);
        return r;
    }
    an__ks_build(k, &k->fit);
    an__ks_copy(k, &k->live, &k->fit);
    *out = &k->base;
    return AN_OK;
}

static const an_detector_vtable an__ks_vtable = {
    AN__KS_TAG, "ks-drift", an__ks_fit, an__ks_score, an__ks_push, an__ks_reset, an__ks_save, an__ks_load, NULL,
    an__ks_destroy
};

AN_API const an_detector_vtable *an_ks_drift_type(void) { return &an__ks_vtable; }

/* --------------------------------------------------------------------------
   3.4  Isolation forest
   -------------------------------------------------------------------------- */

#define AN__IF_TAG      AN_TAG('I', 'F', 'O', 'R')
#define AN__IF_TAG_CONF AN_TAG('C', 'O', 'N', 'F')
#define AN__IF_TAG_TREE AN_TAG('T', 'R', 'E', 'E')

AN_API double an_iforest_c(double n)
{
    if (!(n > 1.0)) return 0.0;
    if (n <= 2.0) return 1.0;
    return 2.0 * (log(n - 1.0) + 0.5772156649015329) - 2.0 * (n - 1.0) / n;
}

/* The forest: tree t owns nodes [first[t], first[t + 1]) of the flat
   arrays, numbered from 0 within the tree.  Node i is a leaf when feature[i] < 0; otherwise x <= split[i]
   goes to child left[i], else to left[i] + 1 (children are always made in
   pairs after their parent, so left[i] > i).  value[i] of a leaf is its
   depth + c(size[i]). */
typedef struct an__iforest {
    an_detector base;
    an_allocator alloc;
    size_t n_trees, subsample;
    uint64_t seed;
    size_t psi, height;              /* after fit */
    double c_psi;
    void *block;                     /* the node arrays, one block */
    size_t block_bytes;
    int32_t *feature;
    float *split, *value;
    uint32_t *left, *size;
    size_t *first;                   /* n_trees + 1 */
} an__iforest;


AN_API an_iforest_config an_iforest_config_init(uint64_t seed)
{
    an_iforest_config c;
    c.n_trees = 100;
    c.subsample = 256;
    c.seed = seed;
    return c;
}

static an_result an__if_new(size_t n_trees, size_t subsample, uint64_t seed, size_t n_features,
                            const an_allocator *a, an_detector **out)
{
    an_allocator alloc;
    an__iforest *f;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if (n_trees < 1 || n_trees > AN_IFOREST_MAX_TREES || subsample < 2 || subsample > AN_IFOREST_MAX_SUBSAMPLE)
        return AN_ERR_INVALID_ARG;
    if (n_features < 1 || n_features > AN_IFOREST_MAX_FEATURES) return AN_ERR_SHAPE;
    if (!(f = (an__iforest *)an_malloc(&alloc, sizeof *f, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(f, 0, sizeof *f);
    f->alloc = alloc;
    f->n_trees = n_trees;
    f->subsample = subsample;
    f->seed = seed;
    f->base.vt = an_iforest_type();
    f->base.n_features = n_features;
    *out = &f->base;
    return AN_OK;
}

AN_API an_result an_iforest_create(const an_iforest_config *c, size_t n_features, const an_allocator *a,
                                   an_detector **out)
{
    if (out) *out = NULL;
    if (!c) return AN_ERR_INVALID_ARG;
    return an__if_new(c->n_trees, c->subsample, c->seed, n_features, a, out);
}

/* Carves the node arrays for `total` nodes into a new block; the old
   arrays stay until the caller swaps them in. */
typedef struct an__if_arrays {
    void *block;
    size_t bytes, total;
    int32_t *feature;
    float *split, *value;
    uint32_t *left, *size;
    size_t *first;
} an__if_arrays;

static an_result an__if_alloc(const an__iforest *f, size_t total, an__if_arrays *arr)
{
    an__layout l = { 0 };
    size_t o_feat, o_split, o_value, o_left, o_size, o_count;
    unsigned char *base;
    arr->total = total;
    o_feat = an__layout_add(&l, total, sizeof(int32_t));
    o_split = an__layout_add(&l, total, sizeof(float));
    o_value = an__layout_add(&l, total, sizeof(float));
    o_left = an__layout_add(&l, total, sizeof(uint32_t));
    o_size = an__layout_add(&l, total, sizeof(uint32_t));
    o_count = an__layout_add(&l, f->n_trees + 1, sizeof(size_t));
    if (l.size == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(base = (unsigned char *)an_malloc(&f->alloc, l.size, AN_ALIGN))) return AN_ERR_NOMEM;
    arr->block = base;
    arr->bytes = l.size;
    arr->feature = (int32_t *)(base + o_feat);
    arr->split = (float *)(base + o_split);
    arr->value = (float *)(base + o_value);
    arr->left = (uint32_t *)(base + o_left);
    arr->size = (uint32_t *)(base + o_size);
    arr->first = (size_t *)(base + o_count);
    arr->first[0] = 0;
    return AN_OK;
}

static void an__if_adopt(an__iforest *f, const an__if_arrays *arr, size_t psi)
{
    size_t h = 0;
    if (f->block) an_free(&f->alloc, f->block, f->block_bytes);
    f->block = arr->block;
    f->block_bytes = arr->bytes;
    f->feature = arr->feature;
    f->split = arr->split;
    f->value = arr->value;
    f->left = arr->left;
    f->size = arr->size;
    f->first = arr->first;
    f->psi = psi;
    while (((size_t)1 << h) < psi) h++;
    f->height = h;
    f->c_psi = an_iforest_c((double)psi);
}

/* Grows one tree at node `base` over rows idx[0..psi) of x, breadth
   first: node i's rows are idx[lo[i]..hi[i]), its depth depth[i].  At
   most 2 psi - 1 nodes; returns how many. */
static uint32_t an__if_grow(const an__if_arrays *arr, size_t base, const float *x, size_t F, size_t *idx,
                            size_t psi, size_t height, an_rng *rng, uint32_t *lo, uint32_t *hi, uint32_t *depth,
                            float *mins, float *maxs)
{
    uint32_t count = 1, i;
    lo[0] = 0; hi[0] = (uint32_t)psi; depth[0] = 0;
    for (i = 0; i < count; i++) {
        size_t n = hi[i] - lo[i], j, f, nonconst = 0, pick = 0;
        int32_t feat = -1;
        arr->size[base + i] = (uint32_t)n;
        arr->split[base + i] = 0.0f;
        arr->left[base + i] = 0;
        if (n > 1 && depth[i] < height) {
            for (f = 0; f < F; f++) { mins[f] = x[idx[lo[i]] * F + f]; maxs[f] = mins[f]; }
            for (j = lo[i] + 1; j < hi[i]; j++) {
                const float *row = x + idx[j] * F;
                for (f = 0; f < F; f++) {
                    if (row[f] < mins[f]) mins[f] = row[f];
                    if (row[f] > maxs[f]) maxs[f] = row[f];
                }
            }
            for (f = 0; f < F; f++) nonconst += maxs[f] > mins[f];
            if (nonconst) {
                size_t r = (size_t)an_rng_below(rng, nonconst);
                for (f = 0; f < F; f++) {
                    if (maxs[f] > mins[f]) { if (pick == r) break; pick++; }
                }
                feat = (int32_t)f;
            }
        }
        arr->feature[base + i] = feat;
        if (feat < 0) {
            arr->value[base + i] = (float)((double)depth[i] + an_iforest_c((double)n));
        } else {
            double u = an_rng_uniform(rng), lo_v = mins[feat], hi_v = maxs[feat];
            float s = (float)(lo_v + u * (hi_v - lo_v));
            size_t a = lo[i], b = hi[i];
            /* rounding to float must not reach max: both sides stay non-empty */
            if (s >= maxs[feat]) s = nextafterf(maxs[feat], -FLT_MAX);
            if (s < mins[feat]) s = mins[feat];
            /* partition: x <= s to the front */
            while (a < b) {
                if (x[idx[a] * F + (size_t)feat] <= s) a++;
                else { size_t tmp = idx[a]; idx[a] = idx[--b]; idx[b] = tmp; }
            }
            arr->split[base + i] = s;
            arr->value[base + i] = 0.0f;
            arr->left[base + i] = count;
            lo[count] = lo[i]; hi[count] = (uint32_t)a; depth[count] = depth[i] + 1;
            lo[count + 1] = (uint32_t)a; hi[count + 1] = hi[i]; depth[count + 1] = depth[i] + 1;
            count += 2;
        }
    }
    return count;
}

static an_result an__if_fit(an_detector *self, const float *x, size_t n)
{
    an__iforest *f = (an__iforest *)self;
    size_t F = self->n_features, i, t, psi, height = 0, scratch_bytes;
    an__if_arrays arr;
    an__layout l = { 0 };
    size_t o_idx, o_lo, o_hi, o_depth, o_min, o_max;
    unsigned char *scratch;
    an_rng rng;
    an_result r;
    if (an__mul(n, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n * F; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    if (n < 2) return AN_ERR_TOO_SHORT;
    psi = n < f->subsample ? n : f->subsample;
    while (((size_t)1 << height) < psi) height++;
    o_idx = an__layout_add(&l, n, sizeof(size_t));
    o_lo = an__layout_add(&l, 2 * psi, sizeof(uint32_t));
    o_hi = an__layout_add(&l, 2 * psi, sizeof(uint32_t));
    o_depth = an__layout_add(&l, 2 * psi, sizeof(uint32_t));
    o_min = an__layout_add(&l, F, sizeof(float));
    o_max = an__layout_add(&l, F, sizeof(float));
    if ((scratch_bytes = l.size) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if ((r = an__if_alloc(f, an__mul(f->n_trees, 2 * psi - 1), &arr)) != AN_OK) return r;
    if (!(scratch = (unsigned char *)an_malloc(&f->alloc, scratch_bytes, AN_ALIGN))) {
        an_free(&f->alloc, arr.block, arr.bytes);
        return AN_ERR_NOMEM;
    }
    {
        size_t *idx = (size_t *)(scratch + o_idx);
        uint32_t *lo = (uint32_t *)(scratch + o_lo), *hi = (uint32_t *)(scratch + o_hi);
        uint32_t *depth = (uint32_t *)(scratch + o_depth);
        float *mins = (float *)(scratch + o_min), *maxs = (float *)(scratch + o_max);
        an_rng_seed(&rng, f->seed, 0x1f0a5e57u);
        for (i = 0; i < n; i++) idx[i] = i;
        for (t = 0; t < f->n_trees; t++) {
            /* the first psi of a partial Fisher-Yates shuffle */
            for (i = 0; i < psi; i++) {
                size_t j = i + (size_t)an_rng_below(&rng, n - i), tmp = idx[i];
                idx[i] = idx[j]; idx[j] = tmp;
            }
            arr.first[t + 1] = arr.first[t] +
                               an__if_grow(&arr, arr.first[t], x, F, idx, psi, height, &rng, lo, hi, depth, mins, maxs);
        }
    }
    an_free(&f->alloc, scratch, scratch_bytes);
    an__if_adopt(f, &arr, psi);
    return AN_OK;
}

static float an__if_row(const an__iforest *f, const float *row)
{
    size_t t;
    double sum = 0.0;
    for (t = 0; t < f->n_trees; t++) {
        size_t base = f->first[t], i = 0;
        while (f->feature[base + i] >= 0)
            i = row[f->feature[base + i]] <= f->split[base + i] ? f->left[base + i] : f->left[base + i] + 1;
        sum += f->value[base + i];
    }
    return (float)pow(2.0, -(sum / (double)f->n_trees) / f->c_psi);
}

static an_result an__if_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__iforest *f = (an__iforest *)self;
    size_t F = self->n_features, i;
    if (!f->block) return AN_ERR_NOT_FITTED;
    if (an__mul(n, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n * F; i++) if (!an__finite(x[i])) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) scores[i] = an__if_row(f, x + i * F);
    return AN_OK;
}

static an_result an__if_push(an_detector *self, const float *row, float *score)
{
    return an__if_score(self, row, 1, score);
}

static an_result an__if_reset(an_detector *self)
{
    return self->fitted ? AN_OK : AN_ERR_NOT_FITTED;
}

static an_result an__if_save(const an_detector *self, an_writer *w)
{
    const an__iforest *f = (const an__iforest *)self;
    size_t t;
    an_write_begin(w, AN__IF_TAG_CONF);
    an_write_u64(w, self->n_features);
    an_write_u64(w, f->n_trees);
    an_write_u64(w, f->subsample);
    an_write_u64(w, f->seed);
    an_write_u64(w, f->psi);
    an_write_end(w);
    for (t = 0; t < f->n_trees; t++) {
        size_t base = f->first[t], i, m = f->first[t + 1] - base;
        an_write_begin(w, AN__IF_TAG_TREE);
        an_write_u64(w, m);
        for (i = 0; i < m; i++) {
            an_write_u32(w, (uint32_t)f->feature[base + i]);
            an_write_f32(w, f->split[base + i]);
            an_write_u32(w, f->left[base + i]);
            an_write_u32(w, f->size[base + i]);
        }
        an_write_end(w);
    }
    return w->status;
}

static void an__if_destroy(an_detector *self)
{
    an__iforest *f = (an__iforest *)self;
    an_allocator a = f->alloc;
    if (f->block) an_free(&a, f->block, f->block_bytes);
    an_free(&a, f, sizeof *f);
}

/* Reads and checks one tree: features in range, children after their
   parent and inside the tree, every node but the root the child of
   exactly one parent, leaf sizes that add up to psi, depth within the
   height limit, splits finite. */
static an_result an__if_read_tree(an_reader *p, const an__iforest *f, const an__if_arrays *arr, size_t t,
                                  size_t psi, size_t height, uint32_t *depth)
{
    size_t base = arr->first[t], m, i, leaves_total = 0, next_child = 1;
    an_result r;
    if ((r = an_read_count(p, 1, 2 * psi - 1, &m)) != AN_OK) return r;
    if ((r = an_reader_need(p, m, 16)) != AN_OK) return r;
    if (m > arr->total - base) return AN_ERR_CORRUPT;
    depth[0] = 0;
    for (i = 0; i < m; i++) {
        uint32_t feat, left, size;
        float split;
        if ((r = an_read_u32(p, &feat)) != AN_OK || (r = an_read_f32(p, &split)) != AN_OK ||
            (r = an_read_u32(p, &left)) != AN_OK || (r = an_read_u32(p, &size)) != AN_OK) return r;
        if (i >= next_child && i > 0) return AN_ERR_CORRUPT;          /* an orphan node */
        if (feat == 0xFFFFFFFFu) {
            if (size < 1 || size > psi || left != 0) return AN_ERR_CORRUPT;
            leaves_total += size;
            arr->feature[base + i] = -1;
            arr->split[base + i] = 0.0f;
            arr->left[base + i] = 0;
            arr->value[base + i] = (float)((double)depth[i] + an_iforest_c((double)size));
        } else {
            if (feat >= f->base.n_features || !an__finite(split) || left != next_child ||
                (size_t)left + 1 >= m || depth[i] >= height) return AN_ERR_CORRUPT;
            depth[left] = depth[left + 1] = depth[i] + 1;
            next_child += 2;
            arr->feature[base + i] = (int32_t)feat;
            arr->split[base + i] = split;
            arr->left[base + i] = left;
            arr->value[base + i] = 0.0f;
        }
        arr->size[base + i] = size;
    }
    if (next_child != m || leaves_total != psi) return AN_ERR_CORRUPT;
    arr->first[t + 1] = base + m;
    return AN_OK;
}

/* The next TREE chunk at the cursor (other chunks are skipped). */
static an_result an__if_next_tree(an_reader *cursor, an_reader *tree)
{
    uint32_t tag = 0;
    an_result r;
    do {
        r = an_read_chunk(cursor, &tag, tree);
    } while (r == AN_OK && tag != AN__IF_TAG_TREE);
    return r;
}

static an_result an__if_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p, cursor;
    size_t F, n_trees, subsample, psi, t, height = 0, total = 0, largest = 0;
    uint64_t seed;
    an__iforest *f;
    an__if_arrays arr;
    uint32_t *depth;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__IF_TAG_CONF, &p)) != AN_OK) return r;
    if ((r = an_read_count(&p, 1, AN_IFOREST_MAX_FEATURES, &F)) != AN_OK ||
        (r = an_read_count(&p, 1, AN_IFOREST_MAX_TREES, &n_trees)) != AN_OK ||
        (r = an_read_count(&p, 2, AN_IFOREST_MAX_SUBSAMPLE, &subsample)) != AN_OK ||
        (r = an_read_u64(&p, &seed)) != AN_OK || (r = an_read_count(&p, 2, subsample, &psi)) != AN_OK) return r;
    while (((size_t)1 << height) < psi) height++;
    /* a first pass counts the nodes, each count checked against the bytes
       its chunk holds, so nothing is allocated beyond what the file holds */
    cursor = *payload;
    for (t = 0; t < n_trees; t++) {
        size_t m;
        if ((r = an__if_next_tree(&cursor, &p)) != AN_OK) return AN_ERR_CORRUPT;
        if ((r = an_read_count(&p, 1, 2 * psi - 1, &m)) != AN_OK) return r;
        if ((r = an_reader_need(&p, m, 16)) != AN_OK) return r;
        total += m;
        if (m > largest) largest = m;
    }
    if ((r = an__if_new(n_trees, subsample, seed, F, a, out)) != AN_OK) return r;
    f = (an__iforest *)*out;
    if ((r = an__if_alloc(f, total, &arr)) != AN_OK) { an__if_destroy(*out); *out = NULL; return r; }
    if (!(depth = (uint32_t *)an_malloc(&f->alloc, largest * sizeof(uint32_t), AN_ALIGN))) {
        an_free(&f->alloc, arr.block, arr.bytes);
        an__if_destroy(*out);
        *out = NULL;
        return AN_ERR_NOMEM;
    }
    cursor = *payload;
    for (t = 0; t < n_trees && r == AN_OK; t++) {
        r = an__if_next_tree(&cursor, &p);
        if (r == AN_OK) r = an__if_read_tree(&p, f, &arr, t, psi, height, depth);
    }
    an_free(&f->alloc, depth, largest * sizeof(uint32_t));
    if (r != AN_OK) {
        an_free(&f->alloc, arr.block, arr.bytes);
        an__if_destroy(*out);
        *out = NULL;
        return r == AN_ERR_NOMEM ? r : AN_ERR_CORRUPT;
    }
    an__if_adopt(f, &arr, psi);
    return AN_OK;
}

static const an_detector_vtable an__iforest_vtable = {
    AN__IF_TAG, "iforest", an__if_fit, an__if_score, an__if_push, an__if_reset, an__if_save, an__if_load, NULL,
    an__if_destroy
};

AN_API const an_detector_vtable *an_iforest_type(void) { return &an__iforest_vtable; }

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
