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
   ==========================================================================
   4a  Telemanom: nonparametric dynamic thresholding
   --------------------------------------------------------------------------
   The error processing of Hundman et al., "Detecting spacecraft anomalies
   using LSTMs and nonparametric dynamic thresholding" (KDD 2018), exactly
   as its reference code (khundman/telemanom, errors.py) computes it, with
   every length in points:

   1. The errors are smoothed by an EWMA of span `smoothing_span` (pandas'
      ewm(span).mean(), adjust=True), and the first `warmup` smoothed
      errors are replaced by the mean of the first 2 warmup.
   2. Trailing windows of `window` points step by `batch` points: window
      k covers [k batch, k batch + window), the last one runs to the end
      of the series; a series shorter than `window` is one window.
      Window 0 judges all its points but the first few (none when
      n < short_series, warmup when n < long_series, else 2 warmup),
      every later window only its last `batch` points.  (As in
      telemanom, the last window's newest `batch` points end at the
      series' end, so (n - window) mod batch points before them are
      judged by no window.)
   3. In each window, for z on the grid z_min, z_min + z_step, ... below
      z_max, epsilon = mean + z sd of the window's smoothed errors; the
      points >= epsilon, widened by error_buffer - 1 points on each side,
      form E_seq (runs of more than one point) and e_a (all such points).
      z maximises (dmu/mu + dsigma/sigma) / (|E_seq|^2 + |e_a|), where
      dmu, dsigma are the falls in mean and sd when the points below
      epsilon alone are kept, subject to telemanom's guardrails: at most
      5 sequences and e_a under half the window.  No winner: z = z_max.
      The same is done for the inverted errors mean - (e - mean), so dips
      count too.
   4. A window is only judged when its errors are not too small for its
      values: its sd > scale_ratio * sd(values) or its largest error >
      scale_ratio * (95th - 5th percentile of the values), and its largest
      error > min_error.  Points >= epsilon and > scale_ratio * that
      percentile range are flagged and widened by error_buffer points.
   5. Pruning: the peaks of the flagged sequences, sorted descending and
      followed by the largest error flagged neither now nor before, are
      walked; the sequences whose peaks come after the last fall of at
      least a fraction p, (a - b) / a >= p, are dropped (all of them when
      there is no such fall).  A window whose flagged points form no
      sequence keeps them.
   6. Score of each run of flagged points of a window: the largest
      |e - epsilon| or |e_inv - epsilon_inv| in it over (mean + sd).
      The result is the runs of more than one consecutive flagged point
      over the whole series.

   Two departures: ranges index the error series (telemanom adds its
   input length l_s to index its channel array instead), and a window
   whose smoothed errors are all equal (sd 0) is not judged, where
   telemanom would flag every point of it (epsilon = mean).  The values
   enter only through their sd and percentiles, as telemanom's y_test
   does. */
typedef struct an_telemanom_config {
    size_t smoothing_span;   /* EWMA span (points); telemanom: 70 * 30 * 0.05 = 105 */
    size_t batch;            /* points judged per window step: 70                   */
    size_t window;           /* trailing window (points): 30 batches = 2100, >= batch */
    size_t error_buffer;     /* points added each side of a flagged error: 100      */
    size_t warmup;           /* telemanom's l_s: 250; 0 leaves the head alone       */
    size_t short_series;     /* series below this ignore nothing at the start: 1800 */
    size_t long_series;      /* below this ignore warmup points, else 2 warmup: 2500 */
    double p;                /* minimum fall between sequence peaks: 0.13           */
    double z_min, z_max, z_step;   /* the z grid [2.5, 12) step 0.5                 */
    double min_error;        /* largest smoothed error must exceed this: 0.05       */
    double scale_ratio;      /* errors against the values' scale: 0.05              */
} an_telemanom_config;

/* One trailing window: its errors [start, end), their mean and sd, and
   the thresholds chosen for the errors and the inverted errors. */
typedef struct an_telemanom_window {
    size_t start, end;
    double mean, sd;
    double z, epsilon;          /* epsilon = mean + z sd           */
    double z_inv, epsilon_inv;  /* for mean - (e - mean)           */
} an_telemanom_window;

/* Outputs of an_telemanom_detect.  Every pointer may be NULL (with its
   capacity 0) when that output is not wanted; the counts are always set. */
typedef struct an_telemanom_result {
    double *smoothed;                 /* (n) smoothed errors                   */
    double *score;                    /* (n) the score of the run each point
                                         of a range belongs to, else 0        */
    an_range *ranges;                 /* (range_capacity) anomalous sequences  */
    double *range_score;              /* (range_capacity) largest score in each */
    size_t range_capacity, range_count;
    an_telemanom_window *windows;     /* (window_capacity)                     */
    size_t window_capacity, window_count;
} an_telemanom_result;

/* telemanom's config.yaml defaults, in points. */
AN_API an_telemanom_config an_telemanom_config_init(void);
/* How many windows a series of n points makes. */
AN_API an_result an_telemanom_window_count(const an_telemanom_config *config, size_t n, size_t *count);
/* Bytes of scratch an_telemanom_detect_work needs for n points. */
AN_API an_result an_telemanom_work_size(const an_telemanom_config *config, size_t n, size_t *bytes);
/* Runs the whole error processing.
   Parameters: errors (n) prediction errors, finite and >= 0 (telemanom's
   |y_hat - y|); values (n) the true values at the same points; out: see
   an_telemanom_result; a: scratch allocator (NULL = default), or in the
   _work form caller memory of an_telemanom_work_size bytes, 8-aligned.
   Returns AN_ERR_INVALID_ARG for a bad config or NULL input,
   AN_ERR_TOO_SHORT for n = 0, AN_ERR_INPUT for NaN, Inf or a negative
   error, AN_ERR_NUMERIC when errors near DBL_MAX overflow the smoothing,
   AN_ERR_SHAPE when ranges or windows are asked for but more
   exist than their capacity (the first ones and every other output are
   still written, the counts set).
   Thread safety: none needed; nothing is shared. */
AN_API an_result an_telemanom_detect(const an_telemanom_config *config, const double *errors, const double *values,
                                     size_t n, an_telemanom_result *out, const an_allocator *a);
AN_API an_result an_telemanom_detect_work(const an_telemanom_config *config, const double *errors,
                                          const double *values, size_t n, an_telemanom_result *out, void *work);

/* --------------------------------------------------------------------------
   4b  SPOT and DSPOT: extreme-value streaming thresholds
   --------------------------------------------------------------------------
   Siffer, Fouque, Termier & Largouet, "Anomaly detection in streams with
   extreme value theory" (KDD 2017).  Above a high threshold t the excesses
   Y = x - t follow a generalized Pareto distribution (Pickands-Balkema-de
   Haan), P(X > t + y | X > t) = (1 + gamma y / sigma)^(-1 / gamma)
   (exp(-y / sigma) when gamma = 0).  With n observations of which N_t
   exceed t, the value exceeded with probability q is

       z_q = t + sigma / gamma ((q n / N_t)^(-gamma) - 1)   (gamma != 0)
       z_q = t - sigma log(q n / N_t)                          (gamma  = 0)

   Calibration: t is the `level` quantile (numpy's linear rule) of the
   calibration data, and the excesses over it are fitted.  Streaming: a
   point above z_q is an alarm and teaches nothing; a point between t and
   z_q is a peak: its excess is added, the GPD refitted and z_q updated;
   any other point only counts in n.  DSPOT (depth d > 0) does all this
   on x - M, M the mean of the last d points that were not alarms, so a
   slow drift of the level does not move the alarms.  For the lower tail,
   give it -x.

   The fit keeps the last `max_peaks` excesses (the rate N_t / n counts
   them all), so memory is fixed at init and a push allocates nothing.
   Each peak costs one refit: about 120 passes over the kept excesses.

   Because alarms are not learnt, the excesses the fit sees are cut at
   z_q - t; when q is not small against the peak rate 1 - level, the fit
   turns lighter-tailed and z_q drifts down (more alarms than q), the
   faster the smaller max_peaks.  The paper's regime (q / (1 - level) of
   0.05 or less, every peak kept) keeps this small; see the tests.

       an_spot_config c = an_spot_config_init(1e-4, 0.98);
       an_spot sp;
       an_spot_verdict v;
       c.depth = 10;                                  (DSPOT; 0 for SPOT)
       an_spot_init(&sp, &c, NULL);
       an_spot_fit(&sp, history, n_history, NULL);
       for each new x: an_spot_push(&sp, x, &v); v == AN_SPOT_ALARM ...
       an_spot_uninit(&sp);                                               */
typedef struct an_spot_config {
    double q;          /* risk: probability of an alarm per point, in (0, 1)    */
    double level;      /* quantile of the calibration data giving t, in (0, 1)  */
    size_t max_peaks;  /* excesses kept for the fit (>= 1)                       */
    size_t depth;      /* DSPOT's d; 0 = SPOT                                    */
} an_spot_config;

typedef enum an_spot_verdict {
    AN_SPOT_NORMAL = 0,   /* below t                                    */
    AN_SPOT_PEAK   = 1,   /* between t and z_q: learnt, threshold moved */
    AN_SPOT_ALARM  = 2    /* above z_q: an anomaly, not learnt          */
} an_spot_verdict;

typedef struct an_spot {
    an_spot_config config;
    double t, z;              /* initial threshold and alarm threshold z_q (in
                                 drift-removed units for DSPOT)               */
    double gamma, sigma;      /* the current GPD fit                           */
    size_t n, n_peaks;        /* points learnt from (not alarms), and N_t      */
    double *peaks;            /* (max_peaks) ring of the latest excesses       */
    size_t peak_count, peak_next;
    double *window;           /* (depth) DSPOT's ring of recent points        */
    double window_sum;
    size_t window_next;
    int fitted;
    void *heap;
    size_t heap_size;
    an_allocator alloc;       /* owned heap when alloc.free != NULL            */
} an_spot;

/* q, level as given, max_peaks 4096, depth 0 (SPOT). */
AN_API an_spot_config an_spot_config_init(double q, double level);
AN_API an_result an_spot_heap_size(const an_spot_config *config, size_t *bytes);
/* heap: an_spot_heap_size bytes, 8-aligned, owned by the caller. */
AN_API an_result an_spot_init_preallocated(an_spot *s, const an_spot_config *config, void *heap);
AN_API an_result an_spot_init(an_spot *s, const an_spot_config *config, const an_allocator *a);
AN_API void      an_spot_uninit(an_spot *s);
/* Calibration on x (n), forgetting anything learnt before: SPOT needs at
   least one point above t; DSPOT uses the first d points as its first
   window and calibrates on the rest (so n > d).  Scratch (n - d doubles,
   for the quantile) comes from `scratch` (NULL = default).  Returns
   AN_ERR_INPUT for NaN/Inf, AN_ERR_TOO_SHORT when no point exceeds t. */
AN_API an_result an_spot_fit(an_spot *s, const double *x, size_t n, const an_allocator *scratch);
/* One point: *verdict says what it was (AN_OK), AN_ERR_NOT_FITTED before
   calibration, AN_ERR_INPUT for NaN/Inf (nothing learnt).  Allocates
   nothing.  Thread safety: one thread per an_spot. */
AN_API an_result an_spot_push(an_spot *s, double x, an_spot_verdict *verdict);
/* The alarm threshold in the units of x: z_q, plus M for DSPOT. */
AN_API double    an_spot_threshold(const an_spot *s);

/* Maximum-likelihood GPD fit of excesses y (n >= 1, all > 0 and finite):
   Grimshaw's reduction to one parameter x = gamma / sigma, whose profile
   likelihood is scanned on a grid over the admissible range (-1 / max y,
   2 (mean - min) / min^2], x = 0 being the exponential, and refined by
   golden-section search.  gamma is kept above -1, where the likelihood is
   bounded. */
AN_API an_result an_gpd_fit(const double *y, size_t n, double *gamma, double *sigma);
/* Log-likelihood of y under GPD(gamma, sigma); -HUGE_VAL outside support. */
AN_API double    an_gpd_log_likelihood(const double *y, size_t n, double gamma, double sigma);
/* z_q above for the fit (t, gamma, sigma), q, n points and n_peaks. */
AN_API double    an_gpd_threshold(double t, double gamma, double sigma, double q, size_t n, size_t n_peaks);

/* ==========================================================================
   5  ALARMS
   ==========================================================================
   From points past a threshold to alarms and events.  A point is flagged
   when score > threshold (both finite).  Then:

   - k of a window: point i raises an alarm when it is flagged and at
     least k of the `window` points ending at i are flagged;
   - suppression: after an alarm at i, points i + 1 .. i + suppress raise
     none (a flagged point there still counts towards k);
   - events: flagged points at most `max_gap` unflagged points apart form
     one event [start, end]; its peak is its point furthest above the
     threshold (the first of ties) and its severity that distance.

   The batch form and the streaming form (push one point; allocates
   nothing; an event is reported once max_gap unflagged points have
   passed it, or by an_alarm_flush) give identical alarms and events. */
typedef struct an_alarm_config {
    size_t k;          /* flagged points needed, >= 1          */
    size_t window;     /* among the last `window` points, >= k */
    size_t suppress;   /* quiet points after an alarm          */
    size_t max_gap;    /* unflagged points an event may bridge */
} an_alarm_config;

typedef struct an_event {
    size_t start, end;   /* first and last flagged point, inclusive   */
    size_t peak;         /* the point furthest above its threshold    */
    double severity;     /* score - threshold there (> 0)             */
    size_t points;       /* flagged points in the event               */
    size_t alarms;       /* alarms raised inside it                   */
} an_event;

/* k and window as given, no suppression, no gap: an event is a run. */
AN_API an_alarm_config an_alarm_config_init(size_t k, size_t window);
/* All of a series at once.  score, threshold: (n); alarm: optional (n)
   output, 1 where an alarm is raised; events: (capacity).  *count is the
   number of events, set even when capacity is too small (then
   AN_ERR_SHAPE, the first capacity written).  AN_ERR_INPUT for NaN/Inf.
   Allocates nothing. */
AN_API an_result an_alarm_batch(const an_alarm_config *config, const double *score, const double *threshold,
                                size_t n, unsigned char *alarm, an_event *events, size_t capacity,
                                size_t *count);

/* The streaming rule: the flags of the last `window` points in a ring. */
typedef struct an_alarm {
    an_alarm_config config;
    unsigned char *ring;      /* (window) flags, position t mod window     */
    size_t t;                 /* points pushed                              */
    size_t in_window;         /* flagged points among the last window       */
    size_t last_alarm;        /* point of the latest alarm                  */
    int alarmed, open;        /* an alarm happened; an event is open        */
    an_event current;         /* the open event                             */
    void *heap;
    size_t heap_size;
    an_allocator alloc;       /* owned heap when alloc.free != NULL         */
} an_alarm;

AN_API an_result an_alarm_heap_size(const an_alarm_config *config, size_t *bytes);
AN_API an_result an_alarm_init_preallocated(an_alarm *s, const an_alarm_config *config, void *heap);
AN_API an_result an_alarm_init(an_alarm *s, const an_alarm_config *config, const an_allocator *a);
AN_API void      an_alarm_uninit(an_alarm *s);
/* One point.  *alarm: 1 when it raises an alarm.  *closed: 1 when an
   event ended before this point, written to *event.  AN_ERR_INPUT for
   NaN/Inf (nothing changes).  Thread safety: one thread per an_alarm. */
AN_API an_result an_alarm_push(an_alarm *s, double score, double threshold, int *alarm, an_event *event,
                               int *closed);
/* At the end of the stream: 1 and the open event in *event, else 0. */
AN_API int       an_alarm_flush(an_alarm *s, an_event *event);

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
   ==========================================================================
   4a  Telemanom.  Sets of indices are byte flags over the window, so each
   z costs O(window): "within h of a flagged point" is two sweeps, one
   remembering the last flagged point from the left, one from the right. */

AN_API an_telemanom_config an_telemanom_config_init(void)
{
    an_telemanom_config c;
    memset(&c, 0, sizeof c);
    c.smoothing_span = 105;
    c.batch = 70;
    c.window = 2100;
    c.error_buffer = 100;
    c.warmup = 250;
    c.short_series = 1800;
    c.long_series = 2500;
    c.p = 0.13;
    c.z_min = 2.5;
    c.z_max = 12.0;
    c.z_step = 0.5;
    c.min_error = 0.05;
    c.scale_ratio = 0.05;
    return c;
}

/* The grid must stay small: a step of 1e-300 would loop for ever. */
#define AN__TM_MAX_Z 10000

static int an__tm_config_ok(const an_telemanom_config *c)
{
    return c && c->smoothing_span >= 1 && c->batch >= 1 && c->window >= c->batch && an__finite(c->p) &&
           an__finite(c->z_min) && an__finite(c->z_max) && an__finite(c->z_step) && c->z_step > 0.0 &&
           c->z_min < c->z_max && (c->z_max - c->z_min) / c->z_step < AN__TM_MAX_Z && an__finite(c->min_error) &&
           an__finite(c->scale_ratio);
}

AN_API an_result an_telemanom_window_count(const an_telemanom_config *config, size_t n, size_t *count)
{
    if (!count) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (!an__tm_config_ok(config)) return AN_ERR_INVALID_ARG;
    if (n == 0) return AN_ERR_TOO_SHORT;
    *count = n >= config->window ? (n - config->window) / config->batch + 1 : 1;
    return AN_OK;
}

/* The longest window: window + batch - 1 points at most (the last one
   takes the remainder), the series itself when shorter. */
static size_t an__tm_longest(const an_telemanom_config *c, size_t n)
{
    size_t L = an__add(c->window, c->batch - 1);
    return L < n ? L : n;
}

/* Scratch; n points, L the longest window, S = L / 2 + 2 sequences. */
typedef struct an__tm_work {
    double *es, *score;       /* (n) smoothed errors, point scores         */
    double *inv, *sorted;     /* (L) inverted errors, values to select in  */
    double *peak, *ladder;    /* (S) sequence peaks, and sorted + non-anomalous max */
    unsigned char *global;    /* (n) flagged by any window so far          */
    unsigned char *anom, *anom_inv, *cover;   /* (L) flags                 */
    an_range *seq;            /* (S) flagged sequences of a window         */
} an__tm_work;

/* Lays the scratch out from `base` (NULL: sizes only); returns its bytes. */
static size_t an__tm_layout(const an_telemanom_config *c, size_t n, void *base, an__tm_work *w)
{
    an__layout l = { 0 };
    size_t L = an__tm_longest(c, n), half = L / 2 + 2, o[11];
    unsigned char *b = (unsigned char *)base;
    o[0] = an__layout_add(&l, n, sizeof(double));
    o[1] = an__layout_add(&l, n, sizeof(double));
    o[2] = an__layout_add(&l, L, sizeof(double));
    o[3] = an__layout_add(&l, L, sizeof(double));
    o[4] = an__layout_add(&l, half, sizeof(double));
    o[5] = an__layout_add(&l, half, sizeof(double));
    o[6] = an__layout_add(&l, n, 1);
    o[7] = an__layout_add(&l, L, 1);
    o[8] = an__layout_add(&l, L, 1);
    o[9] = an__layout_add(&l, L, 1);
    o[10] = an__layout_add(&l, half, sizeof(an_range));
    if (b && w) {
        w->es = (double *)(void *)(b + o[0]);
        w->score = (double *)(void *)(b + o[1]);
        w->inv = (double *)(void *)(b + o[2]);
        w->sorted = (double *)(void *)(b + o[3]);
        w->peak = (double *)(void *)(b + o[4]);
        w->ladder = (double *)(void *)(b + o[5]);
        w->global = b + o[6];
        w->anom = b + o[7];
        w->anom_inv = b + o[8];
        w->cover = b + o[9];
        w->seq = (an_range *)(void *)(b + o[10]);
    }
    return l.size;
}

AN_API an_result an_telemanom_work_size(const an_telemanom_config *config, size_t n, size_t *bytes)
{
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (!an__tm_config_ok(config)) return AN_ERR_INVALID_ARG;
    if (n == 0) return AN_ERR_TOO_SHORT;
    *bytes = an__tm_layout(config, n, NULL, NULL);
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

/* Mean and population sd (numpy's np.mean, np.std) of the x[i] below
   `below` (HUGE_VAL: all of them); returns how many, and with none
   leaves the outputs alone. */
static size_t an__tm_mean_sd(const double *x, size_t n, double below, double *mean, double *sd)
{
    double s = 0.0, ss = 0.0, m;
    size_t i, k = 0;
    for (i = 0; i < n; i++)
        if (x[i] < below) { s += x[i]; k++; }
    if (k == 0) return 0;
    m = s / (double)k;
    for (i = 0; i < n; i++)
        if (x[i] < below) ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = sqrt(ss / (double)k);
    return k;
}

/* numpy's default (linear) percentile q of v (n >= 1), reordering v. */
static double an__tm_percentile(double *v, size_t n, double q)
{
    double h = (double)(n - 1) * (q / 100.0), a, b;
    size_t lo = (size_t)floor(h), i;
    if (lo >= n - 1) return an__select_d(v, n, n - 1);
    a = an__select_d(v, n, lo);
    b = v[lo + 1];
    for (i = lo + 2; i < n; i++) if (v[i] < b) b = v[i];
    return a + (b - a) * (h - (double)lo);
}

/* cover[i] = 1 when a point with flag[i] set lies within `half` of i. */
static void an__tm_widen(const unsigned char *flag, size_t L, size_t half, unsigned char *cover)
{
    size_t i, last = 0;
    int seen = 0;
    for (i = 0; i < L; i++) {
        if (flag[i]) { last = i; seen = 1; }
        cover[i] = (unsigned char)(seen && i - last <= half);
    }
    seen = 0;
    for (i = L; i-- > 0;) {
        if (flag[i]) { last = i; seen = 1; }
        if (seen && last - i <= half) cover[i] = 1;
    }
}

/* Counts the flagged points and the runs of more than one of them. */
static size_t an__tm_runs(const unsigned char *f, size_t L, size_t *points)
{
    size_t i, runs = 0, len = 0;
    *points = 0;
    for (i = 0; i <= L; i++) {
        if (i < L && f[i]) { len++; (*points)++; continue; }
        if (len > 1) runs++;
        len = 0;
    }
    return runs;
}

/* find_epsilon: the z of the grid that maximises telemanom's criterion
   for the window v (L), whose (uninverted) mean and sd are given.  flag
   and cover: scratch (L). */
static double an__tm_choose_z(const an_telemanom_config *c, const double *v, size_t L, double mean, double sd,
                              unsigned char *flag, unsigned char *cover)
{
    double best = -1e7, z_best = c->z_max, z;
    size_t k, i, half = c->error_buffer ? c->error_buffer - 1 : 0;
    for (k = 0; (z = c->z_min + (double)k * c->z_step) < c->z_max; k++) {
        double eps = mean + sd * z, mb, sb, score;
        size_t points, runs;
        for (i = 0; i < L; i++) flag[i] = (unsigned char)(v[i] >= eps);
        an__tm_widen(flag, L, half, cover);
        runs = an__tm_runs(cover, L, &points);
        if (points == 0 || !an__tm_mean_sd(v, L, eps, &mb, &sb)) continue;
        score = ((mean - mb) / mean + (sd - sb) / sd) / ((double)runs * (double)runs + (double)points);
        /* telemanom's guardrails: few sequences, under half the window */
        if (score >= best && runs <= 5 && (double)points < (double)L * 0.5) {
            best = score;
            z_best = z;
        }
    }
    return z_best;
}

/* compare_to_epsilon and prune_anoms for one kind of error (v: the window's
   errors or their inversion).  anom (L) receives the flagged points. */
static void an__tm_flag(const an_telemanom_config *c, const double *v, size_t L, double eps, double inter,
                        size_t first, const unsigned char *global, an__tm_work *w, unsigned char *anom)
{
    double nam = 0.0;
    size_t i, k, m = 0, n_ladder, keep_upto;
    int have_nam = 0;
    for (i = 0; i < L; i++) w->cover[i] = (unsigned char)(v[i] >= eps && v[i] > c->scale_ratio * inter);
    an__tm_widen(w->cover, L, c->error_buffer, anom);
    for (i = 0; i < first && i < L; i++) anom[i] = 0;
    /* the largest error neither flagged here nor by an earlier window */
    for (i = 0; i < L; i++)
        if (!anom[i] && !global[i] && (!have_nam || v[i] > nam)) { nam = v[i]; have_nam = 1; }
    for (i = 0; i < L; i++) {
        size_t s = i;
        if (!anom[i]) continue;
        while (i + 1 < L && anom[i + 1]) i++;
        if (i > s) { w->seq[m].start = s; w->seq[m].end = i; m++; }
    }
    if (m == 0) return;   /* telemanom keeps lone points when no sequence exists */
    for (k = 0; k < m; k++) {
        double peak = v[w->seq[k].start];
        for (i = w->seq[k].start + 1; i <= w->seq[k].end; i++) if (v[i] > peak) peak = v[i];
        w->peak[k] = peak;
        /* insertion into the descending ladder */
        for (i = k; i > 0 && w->ladder[i - 1] < peak; i--) w->ladder[i] = w->ladder[i - 1];
        w->ladder[i] = peak;
    }
    n_ladder = m;
    if (have_nam) w->ladder[n_ladder++] = nam;
    /* peaks after the last step of at least p are dropped */
    keep_upto = 0;
    for (i = 0; i + 1 < n_ladder; i++)
        if (!((w->ladder[i] - w->ladder[i + 1]) / w->ladder[i] < c->p)) keep_upto = i + 1;
    for (i = 0; i < L; i++) w->cover[i] = 0;
    for (k = 0; k < m; k++) {
        int drop = 0;
        for (i = keep_upto; i + 1 < n_ladder; i++) drop |= w->peak[k] == w->ladder[i];
        if (!drop)
            for (i = w->seq[k].start; i <= w->seq[k].end; i++) w->cover[i] = 1;
    }
    for (i = 0; i < L; i++) anom[i] = (unsigned char)(anom[i] && w->cover[i]);
}

AN_API an_result an_telemanom_detect_work(const an_telemanom_config *config, const double *errors,
                                          const double *values, size_t n, an_telemanom_result *out, void *work)
{
    const an_telemanom_config *c = config;
    an__tm_work w;
    size_t i, k, n_windows, ranges = 0, ignore;
    double num = 0.0, den = 0.0, alpha, head = 0.0;
    an_result r = AN_OK;
    if (!errors || !values || !out || !work || !an__tm_config_ok(c)) return AN_ERR_INVALID_ARG;
    out->range_count = out->window_count = 0;
    if ((out->range_capacity && !out->ranges) || (out->window_capacity && !out->windows)) return AN_ERR_INVALID_ARG;
    if (n == 0) return AN_ERR_TOO_SHORT;
    for (i = 0; i < n; i++)
        if (!an__finite(errors[i]) || errors[i] < 0.0 || !an__finite(values[i])) return AN_ERR_INPUT;
    an__tm_layout(c, n, work, &w);
    an_telemanom_window_count(c, n, &n_windows);

    /* pandas' ewm(span).mean(), adjust=True: weights (1 - alpha)^age */
    alpha = 2.0 / ((double)c->smoothing_span + 1.0);
    for (i = 0; i < n; i++) {
        num = errors[i] + (1.0 - alpha) * num;
        den = 1.0 + (1.0 - alpha) * den;
        w.es[i] = num / den;
        if (!an__finite(w.es[i])) return AN_ERR_NUMERIC;   /* errors near DBL_MAX */
    }
    if (c->warmup) {
        size_t h = c->warmup < n ? c->warmup : n, h2 = c->warmup < n / 2 ? 2 * c->warmup : n;
        for (i = 0; i < h2; i++) head += w.es[i];
        head /= (double)h2;
        for (i = 0; i < h; i++) w.es[i] = head;
    }
    ignore = n < c->short_series ? 0 : n < c->long_series ? c->warmup : an__mul(2, c->warmup);
    memset(w.global, 0, n);
    for (i = 0; i < n; i++) w.score[i] = 0.0;

    for (k = 0; k < n_windows; k++) {
        size_t lo = k * c->batch, hi = k + 1 == n_windows ? n : lo + c->window, L = hi - lo;
        const double *v = w.es + lo;
        double mean = 0.0, sd = 0.0, vmean, vsd, inter, emax = v[0], z, z_inv, eps, eps_inv;
        an__tm_mean_sd(v, L, HUGE_VAL, &mean, &sd);
        an__tm_mean_sd(values + lo, L, HUGE_VAL, &vmean, &vsd);
        for (i = 0; i < L; i++) {
            w.inv[i] = mean + (mean - v[i]);
            w.sorted[i] = values[lo + i];
            if (v[i] > emax) emax = v[i];
        }
        inter = an__tm_percentile(w.sorted, L, 95.0);
        inter -= an__tm_percentile(w.sorted, L, 5.0);
        z = an__tm_choose_z(c, v, L, mean, sd, w.anom, w.cover);
        z_inv = an__tm_choose_z(c, w.inv, L, mean, sd, w.anom, w.cover);
        eps = mean + z * sd;
        eps_inv = mean + z_inv * sd;
        if (k < out->window_capacity) {
            an_telemanom_window *tw = &out->windows[k];
            tw->start = lo; tw->end = hi; tw->mean = mean; tw->sd = sd;
            tw->z = z; tw->epsilon = eps; tw->z_inv = z_inv; tw->epsilon_inv = eps_inv;
        }
        memset(w.anom, 0, L);
        memset(w.anom_inv, 0, L);
        /* errors too small against the values: the window is not judged;
           nor when they are all equal (telemanom would flag all of them) */
        if ((sd > c->scale_ratio * vsd || emax > c->scale_ratio * inter) && emax > c->min_error && sd > 0.0) {
            size_t first = k == 0 ? ignore : L - c->batch;
            an__tm_flag(c, v, L, eps, inter, first, w.global + lo, &w, w.anom);
            an__tm_flag(c, w.inv, L, eps_inv, inter, first, w.global + lo, &w, w.anom_inv);
        }
        /* score each run of points flagged by either kind */
        for (i = 0; i < L; i++) {
            size_t s = i, j;
            double worst = 0.0;
            if (!w.anom[i] && !w.anom_inv[i]) continue;
            while (i + 1 < L && (w.anom[i + 1] || w.anom_inv[i + 1])) i++;
            for (j = s; j <= i; j++) {
                double a = fabs(v[j] - eps), b = fabs(w.inv[j] - eps_inv);
                if (a > worst) worst = a;
                if (b > worst) worst = b;
            }
            for (j = s; j <= i; j++) {
                w.score[lo + j] = worst / (mean + sd);
                w.global[lo + j] = 1;
            }
        }
    }

    /* the result: runs of more than one point over the whole series */
    for (i = 0; i < n; i++) {
        size_t s = i, j;
        double best = 0.0;
        if (!w.global[i]) continue;
        while (i + 1 < n && w.global[i + 1]) i++;
        if (i == s) { w.score[s] = 0.0; continue; }
        for (j = s; j <= i; j++) if (w.score[j] > best) best = w.score[j];
        if (ranges < out->range_capacity) {
            out->ranges[ranges].start = s;
            out->ranges[ranges].end = i;
            if (out->range_score) out->range_score[ranges] = best;
        }
        ranges++;
    }
    if (out->smoothed) memcpy(out->smoothed, w.es, n * sizeof(double));
    if (out->score) memcpy(out->score, w.score, n * sizeof(double));
    out->range_count = ranges;
    out->window_count = n_windows;
    if ((out->ranges && ranges > out->range_capacity) || (out->windows && n_windows > out->window_capacity))
        r = AN_ERR_SHAPE;
    return r;
}

AN_API an_result an_telemanom_detect(const an_telemanom_config *config, const double *errors, const double *values,
                                     size_t n, an_telemanom_result *out, const an_allocator *a)
{
    size_t bytes;
    void *work;
    an_result r;
    if (!an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if ((r = an_telemanom_work_size(config, n, &bytes)) != AN_OK) return r;
    if (!(work = an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an_telemanom_detect_work(config, errors, values, n, out, work);
    an_free(a, work, bytes);
    return r;
}

/* --------------------------------------------------------------------------
   4b  SPOT / DSPOT
   -------------------------------------------------------------------------- */

/* The GPD's profile log-likelihood at x = gamma / sigma (Grimshaw 1993):
   for fixed x the likelihood is largest at gamma = mean log(1 + x y) and
   sigma = gamma / x, where it is -n log sigma - sum log(1 + x y) - n
   (the sum equals n gamma, so (1 + 1/gamma) times it is that plus n).
   x = 0 is the exponential, sigma = mean.  Returns 0 outside the support
   or where gamma <= -1 (the likelihood is unbounded there). */
static int an__gpd_profile(const double *y, size_t n, double x, double mean, double *ll, double *gamma,
                           double *sigma)
{
    double s = 0.0, g, sg;
    size_t i;
    if (x == 0.0) {
        *gamma = 0.0;
        *sigma = mean;
        *ll = -(double)n * log(mean) - (double)n;
        return 1;
    }
    for (i = 0; i < n; i++) {
        double u = x * y[i];
        if (!(u > -1.0)) return 0;
        s += log1p(u);
    }
    g = s / (double)n;
    sg = g / x;
    if (!(g > -1.0) || !(sg > 0.0) || !an__finite(sg)) return 0;
    *gamma = g;
    *sigma = sg;
    *ll = -(double)n * log(sg) - s - (double)n;
    return 1;
}

#define AN__GPD_GRID 57   /* 20 + 12 points below 0, x = 0, 24 above */

AN_API an_result an_gpd_fit(const double *y, size_t n, double *gamma, double *sigma)
{
    double grid[AN__GPD_GRID], ll[AN__GPD_GRID], mean = 0.0, lo = HUGE_VAL, hi = 0.0, upper, g, sg;
    double best_ll = -HUGE_VAL, best_g = 0.0, best_s = 1.0, a, b, c, d, fc, fd;
    size_t i, m = 0, k, best = 0, it;
    if (!y || !gamma || !sigma || n == 0) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        if (!an__finite(y[i]) || !(y[i] > 0.0)) return AN_ERR_INPUT;
        mean += y[i];
        if (y[i] < lo) lo = y[i];
        if (y[i] > hi) hi = y[i];
    }
    mean /= (double)n;
    /* x in (-1 / max, 0), ascending: dense near both ends, where the
       optimum of short-tailed data tends to sit */
    for (k = 0; k < 12; k++) grid[m++] = -(1.0 - 0.5 * pow(10.0, -0.5 * (double)(12 - k))) / hi;
    for (k = 0; k < 20; k++) grid[m++] = -1e-6 * pow(0.5e6, (double)(19 - k) / 19.0) / hi;
    grid[m++] = 0.0;
    /* x in (0, 2 (mean - min) / min^2], Grimshaw's bound for positive roots */
    upper = 2.0 * (mean - lo) / (lo * lo);
    if (!(upper <= 1e8 / mean)) upper = 1e8 / mean;   /* a tail beyond this is no tail */
    if (upper > 0.0)
        for (k = 0; k < 24; k++) grid[m++] = upper * pow(1e-8, (double)(23 - k) / 23.0);
    for (k = 0; k < m; k++) {
        if (!an__gpd_profile(y, n, grid[k], mean, &ll[k], &g, &sg)) ll[k] = -HUGE_VAL;
        if (ll[k] > best_ll) { best_ll = ll[k]; best = k; best_g = g; best_s = sg; }
    }
    /* golden-section refinement between the best point's neighbours */
    a = best > 0 ? grid[best - 1] : grid[best];
    b = best + 1 < m ? grid[best + 1] : grid[best];
    c = b - (b - a) * 0.6180339887498949;
    d = a + (b - a) * 0.6180339887498949;
    if (!an__gpd_profile(y, n, c, mean, &fc, &g, &sg)) fc = -HUGE_VAL;
    if (!an__gpd_profile(y, n, d, mean, &fd, &g, &sg)) fd = -HUGE_VAL;
    for (it = 0; it < 100 && b - a > 1e-15 * (fabs(a) + fabs(b)); it++) {
        if (fc >= fd) {
            b = d; d = c; fd = fc;
            c = b - (b - a) * 0.6180339887498949;
            if (!an__gpd_profile(y, n, c, mean, &fc, &g, &sg)) fc = -HUGE_VAL;
        } else {
            a = c; c = d; fc = fd;
            d = a + (b - a) * 0.6180339887498949;
            if (!an__gpd_profile(y, n, d, mean, &fd, &g, &sg)) fd = -HUGE_VAL;
        }
    }
    if (an__gpd_profile(y, n, 0.5 * (a + b), mean, &fc, &g, &sg) && fc > best_ll) { best_g = g; best_s = sg; }
    if (!an__finite(best_ll)) return AN_ERR_NUMERIC;
    *gamma = best_g;
    *sigma = best_s;
    return AN_OK;
}

AN_API double an_gpd_log_likelihood(const double *y, size_t n, double gamma, double sigma)
{
    double s = 0.0;
    size_t i;
    if (!y || n == 0 || !(sigma > 0.0) || !an__finite(gamma)) return -HUGE_VAL;
    for (i = 0; i < n; i++) {
        double u = gamma * y[i] / sigma;
        if (!(y[i] >= 0.0) || !(u > -1.0)) return -HUGE_VAL;
        s += gamma == 0.0 ? y[i] / sigma : (1.0 + 1.0 / gamma) * log1p(u);
    }
    return -(double)n * log(sigma) - s;
}

AN_API double an_gpd_threshold(double t, double gamma, double sigma, double q, size_t n, size_t n_peaks)
{
    double lr = log(q * (double)n / (double)n_peaks);
    /* expm1 keeps (r^-gamma - 1) / gamma accurate as gamma -> 0 */
    return gamma == 0.0 ? t - sigma * lr : t + sigma * expm1(-gamma * lr) / gamma;
}

AN_API an_spot_config an_spot_config_init(double q, double level)
{
    an_spot_config c;
    memset(&c, 0, sizeof c);
    c.q = q;
    c.level = level;
    c.max_peaks = 4096;
    return c;
}

static int an__spot_config_ok(const an_spot_config *c)
{
    return c && c->q > 0.0 && c->q < 1.0 && c->level > 0.0 && c->level < 1.0 && c->max_peaks >= 1;
}

static size_t an__spot_layout(const an_spot_config *c, size_t *window_offset)
{
    an__layout l = { 0 };
    an__layout_add(&l, c->max_peaks, sizeof(double));
    *window_offset = an__layout_add(&l, c->depth, sizeof(double));
    return l.size;
}

AN_API an_result an_spot_heap_size(const an_spot_config *config, size_t *bytes)
{
    size_t off;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (!an__spot_config_ok(config)) return AN_ERR_INVALID_ARG;
    *bytes = an__spot_layout(config, &off);
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

AN_API an_result an_spot_init_preallocated(an_spot *s, const an_spot_config *config, void *heap)
{
    size_t off;
    if (!s || !heap || !an__spot_config_ok(config)) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    s->config = *config;
    s->heap = heap;
    s->heap_size = an__spot_layout(config, &off);
    s->peaks = (double *)heap;
    s->window = config->depth ? (double *)(void *)((unsigned char *)heap + off) : NULL;
    return AN_OK;
}

AN_API an_result an_spot_init(an_spot *s, const an_spot_config *config, const an_allocator *a)
{
    size_t bytes;
    void *heap;
    an_allocator keep;
    an_result r;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if ((r = an__allocator_copy(&keep, a)) != AN_OK) return r;
    if ((r = an_spot_heap_size(config, &bytes)) != AN_OK) return r;
    if (!(heap = an_malloc(&keep, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_spot_init_preallocated(s, config, heap);
    s->alloc = keep;
    return AN_OK;
}

AN_API void an_spot_uninit(an_spot *s)
{
    if (!s) return;
    if (s->alloc.free && s->heap) an_free(&s->alloc, s->heap, s->heap_size);
    memset(s, 0, sizeof *s);
}

/* Adds x to DSPOT's window; the sum is recomputed each time the ring
   wraps, so rounding cannot accumulate. */
static void an__spot_slide(an_spot *s, double x)
{
    size_t d = s->config.depth, i;
    s->window_sum += x - s->window[s->window_next];
    s->window[s->window_next] = x;
    if (++s->window_next == d) {
        s->window_next = 0;
        s->window_sum = 0.0;
        for (i = 0; i < d; i++) s->window_sum += s->window[i];
    }
}

static void an__spot_add_peak(an_spot *s, double excess)
{
    s->peaks[s->peak_next] = excess;
    if (++s->peak_next == s->config.max_peaks) s->peak_next = 0;
    if (s->peak_count < s->config.max_peaks) s->peak_count++;
    s->n_peaks++;
}

static an_result an__spot_refit(an_spot *s)
{
    an_result r = an_gpd_fit(s->peaks, s->peak_count, &s->gamma, &s->sigma);
    if (r != AN_OK) return r;
    s->z = an_gpd_threshold(s->t, s->gamma, s->sigma, s->config.q, s->n, s->n_peaks);
    return an__finite(s->z) ? AN_OK : AN_ERR_NUMERIC;
}

/* DSPOT's window starts as the first d calibration points. */
static void an__spot_window_reset(an_spot *s, const double *x)
{
    size_t i;
    s->window_sum = 0.0;
    s->window_next = 0;
    for (i = 0; i < s->config.depth; i++) { s->window[i] = x[i]; s->window_sum += x[i]; }
}

/* The value SPOT judges: x, or for DSPOT x minus the window's mean. */
static double an__spot_value(const an_spot *s, double x)
{
    return s->config.depth ? x - s->window_sum / (double)s->config.depth : x;
}

AN_API an_result an_spot_fit(an_spot *s, const double *x, size_t n, const an_allocator *scratch)
{
    size_t d, m, i, lo;
    double *v, h, t;
    an_result r;
    if (!s || !s->peaks || !x || !an__allocator_ok(scratch)) return AN_ERR_INVALID_ARG;
    d = s->config.depth;
    s->fitted = 0;
    if (n <= d) return AN_ERR_TOO_SHORT;
    for (i = 0; i < n; i++)
        if (!an__finite(x[i])) return AN_ERR_INPUT;
    m = n - d;
    if (an__mul(m, sizeof(double)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(v = (double *)an_malloc(scratch, m * sizeof(double), AN_ALIGN))) return AN_ERR_NOMEM;
    an__spot_window_reset(s, x);
    for (i = d; i < n; i++) {
        v[i - d] = an__spot_value(s, x[i]);
        if (d) an__spot_slide(s, x[i]);
    }
    /* t: the level quantile by numpy's linear rule */
    h = (double)(m - 1) * s->config.level;
    lo = (size_t)floor(h);
    t = an__select_d(v, m, lo);
    if (lo + 1 < m) {
        double b = v[lo + 1];
        for (i = lo + 2; i < m; i++) if (v[i] < b) b = v[i];
        t += (b - t) * (h - (double)lo);
    }
    an_free(scratch, v, m * sizeof(double));
    /* the selection lost the order; a second identical pass adds the
       excesses in time order, so the ring keeps the latest */
    s->n_peaks = s->peak_count = s->peak_next = 0;
    an__spot_window_reset(s, x);
    for (i = d; i < n; i++) {
        double vi = an__spot_value(s, x[i]);
        if (vi > t) an__spot_add_peak(s, vi - t);
        if (d) an__spot_slide(s, x[i]);
    }
    s->t = t;
    s->n = m;
    if (s->n_peaks == 0) return AN_ERR_TOO_SHORT;
    if ((r = an__spot_refit(s)) != AN_OK) return r;
    s->fitted = 1;
    return AN_OK;
}

AN_API an_result an_spot_push(an_spot *s, double x, an_spot_verdict *verdict)
{
    double v;
    an_result r = AN_OK;
    if (!s || !verdict) return AN_ERR_INVALID_ARG;
    *verdict = AN_SPOT_NORMAL;
    if (!s->fitted) return AN_ERR_NOT_FITTED;
    if (!an__finite(x)) return AN_ERR_INPUT;
    v = an__spot_value(s, x);
    if (v > s->z) {
        *verdict = AN_SPOT_ALARM;
        return AN_OK;
    }
    s->n++;
    if (v > s->t) {
        *verdict = AN_SPOT_PEAK;
        an__spot_add_peak(s, v - s->t);
        r = an__spot_refit(s);
    }
    if (s->config.depth) an__spot_slide(s, x);
    return r;
}

AN_API double an_spot_threshold(const an_spot *s)
{
    if (!s || !s->fitted) return HUGE_VAL;
    return s->config.depth ? s->z + s->window_sum / (double)s->config.depth : s->z;
}

/* ==========================================================================
   5  ALARMS
   ==========================================================================
   The batch form looks back into the arrays; the streaming form keeps a
   ring of flags.  They share only the definitions, which is what the
   tests compare. */

AN_API an_alarm_config an_alarm_config_init(size_t k, size_t window)
{
    an_alarm_config c;
    memset(&c, 0, sizeof c);
    c.k = k;
    c.window = window;
    return c;
}

static int an__alarm_config_ok(const an_alarm_config *c)
{
    return c && c->k >= 1 && c->window >= c->k;
}

/* A new event at flagged point i, excess d above its threshold. */
static void an__event_open(an_event *e, size_t i, double d)
{
    e->start = e->end = e->peak = i;
    e->severity = d;
    e->points = 1;
    e->alarms = 0;
}

static void an__event_extend(an_event *e, size_t i, double d)
{
    e->end = i;
    e->points++;
    if (d > e->severity) { e->severity = d; e->peak = i; }
}

AN_API an_result an_alarm_batch(const an_alarm_config *config, const double *score, const double *threshold,
                                size_t n, unsigned char *alarm, an_event *events, size_t capacity,
                                size_t *count)
{
    const an_alarm_config *c = config;
    size_t i, in_window = 0, last_alarm = 0, m = 0;
    int alarmed = 0, open = 0;
    an_event e;
    if (!count) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (!an__alarm_config_ok(c) || !score || !threshold || (capacity && !events)) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__finite(score[i]) || !an__finite(threshold[i])) return AN_ERR_INPUT;
    memset(&e, 0, sizeof e);
    for (i = 0; i < n; i++) {
        int flag = score[i] > threshold[i], raise;
        /* flags among points i - window + 1 .. i */
        in_window += (size_t)flag;
        if (i >= c->window && score[i - c->window] > threshold[i - c->window]) in_window--;
        raise = flag && in_window >= c->k && (!alarmed || i - last_alarm > c->suppress);
        if (raise) { alarmed = 1; last_alarm = i; }
        if (alarm) alarm[i] = (unsigned char)raise;
        if (!flag) continue;
        if (open && i - e.end - 1 > c->max_gap) {
            if (m < capacity) events[m] = e;
            m++;
            open = 0;
        }
        if (open) an__event_extend(&e, i, score[i] - threshold[i]);
        else { an__event_open(&e, i, score[i] - threshold[i]); open = 1; }
        e.alarms += (size_t)raise;
    }
    if (open) {
        if (m < capacity) events[m] = e;
        m++;
    }
    *count = m;
    return m > capacity ? AN_ERR_SHAPE : AN_OK;
}

AN_API an_result an_alarm_heap_size(const an_alarm_config *config, size_t *bytes)
{
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (!an__alarm_config_ok(config)) return AN_ERR_INVALID_ARG;
    *bytes = config->window;
    return AN_OK;
}

AN_API an_result an_alarm_init_preallocated(an_alarm *s, const an_alarm_config *config, void *heap)
{
    if (!s || !heap || !an__alarm_config_ok(config)) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    s->config = *config;
    s->ring = (unsigned char *)heap;
    memset(s->ring, 0, config->window);
    s->heap = heap;
    s->heap_size = config->window;
    return AN_OK;
}

AN_API an_result an_alarm_init(an_alarm *s, const an_alarm_config *config, const an_allocator *a)
{
    an_allocator keep;
    void *heap;
    an_result r;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if ((r = an__allocator_copy(&keep, a)) != AN_OK) return r;
    if (!an__alarm_config_ok(config)) return AN_ERR_INVALID_ARG;
    if (!(heap = an_malloc(&keep, config->window, AN_ALIGN))) return AN_ERR_NOMEM;
    an_alarm_init_preallocated(s, config, heap);
    s->alloc = keep;
    return AN_OK;
}

AN_API void an_alarm_uninit(an_alarm *s)
{
    if (!s) return;
    if (s->alloc.free && s->heap) an_free(&s->alloc, s->heap, s->heap_size);
    memset(s, 0, sizeof *s);
}

AN_API an_result an_alarm_push(an_alarm *s, double score, double threshold, int *alarm, an_event *event,
                               int *closed)
{
    size_t slot, i;
    int flag, raise;
    if (!s || !s->ring || !alarm || !event || !closed) return AN_ERR_INVALID_ARG;
    *alarm = *closed = 0;
    if (!an__finite(score) || !an__finite(threshold)) return AN_ERR_INPUT;
    i = s->t++;
    flag = score > threshold;
    slot = i % s->config.window;
    s->in_window += (size_t)flag;
    s->in_window -= s->ring[slot];
    s->ring[slot] = (unsigned char)flag;
    raise = flag && s->in_window >= s->config.k && (!s->alarmed || i - s->last_alarm > s->config.suppress);
    if (raise) { s->alarmed = 1; s->last_alarm = i; }
    *alarm = raise;
    /* the open event ends once more than max_gap unflagged points follow it */
    if (s->open && i - s->current.end - (size_t)flag > s->config.max_gap) {
        *event = s->current;
        *closed = 1;
        s->open = 0;
    }
    if (flag) {
        if (s->open) an__event_extend(&s->current, i, score - threshold);
        else { an__event_open(&s->current, i, score - threshold); s->open = 1; }
        s->current.alarms += (size_t)raise;
    }
    return AN_OK;
}

AN_API int an_alarm_flush(an_alarm *s, an_event *event)
{
    if (!s || !event || !s->open) return 0;
    *event = s->current;
    s->open = 0;
    return 1;
}

/* ==========================================================================
   6  ENSEMBLE
   ========================================================================== */

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_IMPLEMENTATION */
