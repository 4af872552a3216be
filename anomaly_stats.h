/* anomaly_stats.h - v0.1.0 - the statistical side of anomaly.h.
   No dependencies beyond anomaly.h, libc and libm.  Licence: see anomaly.h.

   Include after (or instead of) anomaly.h; with ANOMALY_IMPLEMENTATION
   defined in one file, this header's code is emitted there too.

   With ANOMALY_NO_TRAINING (anomaly.h's options) the detectors here load
   and score only: their fit and save entries are NULL (an_detector_fit and
   an_detector_save return AN_ERR_UNSUPPORTED), so the fitting code (STL's
   batch fit, period detection, the forests' growth) is not linked through
   them; what they load and score is bit for bit the full build's.  The free
   functions (an_stl, an_mstl, ...) stay.

   Sections, in reading order:
       1  STL         seasonal-trend decomposition by loess (Cleveland et al. 1990)
       2  MSTL        several seasonal periods, strength, period detection
       3  Detectors   IQR, MAD, ESD, S-H-ESD, level and volatility shifts,
                      KS drift, isolation forest
       4  Thresholds  telemanom's dynamic threshold, SPOT / DSPOT
       5  Types       an_stats_types(): this header's detectors, for loading

   Alarms, events, onsets, calibration and the ensemble work with every
   detector and live in anomaly.h (section 11).

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
    double tolerance;   /* > 0: stop the outer passes once seasonal and trend
                           change by less than this share of their range */
} an_stl_config;

/* Returns: R's stl defaults for the period (see an_stl_config). */
AN_API an_stl_config an_stl_config_init(size_t period, size_t seasonal_window, int robust);
/* netlib's stlez ("easy") defaults: trend window the odd integer nearest
   1.5 period / (1 - 1.5 / seasonal window), low-pass window the next odd
   >= period, the low-pass degree the trend's, jumps ceil(window / 10);
   robust: 1 inner pass and up to 15 outer passes that stop when seasonal
   and trend move by less than 1% of their range; else 2 inner passes.
   Returns: the configuration above. */
AN_API an_stl_config an_stl_config_stlez(size_t period, size_t seasonal_window, int seasonal_degree,
                                         int trend_degree, int robust);
/* The parameters a decomposition of n points actually uses (defaults
   filled in, "periodic" resolved), or the reason they are invalid.
   Returns: AN_OK; AN_ERR_TOO_SHORT unless n > 2 period; AN_ERR_INVALID_ARG
   for bad parameters; AN_ERR_TOO_LARGE. */
AN_API an_result an_stl_resolve(const an_stl_config *config, size_t n, an_stl_config *out);
/* Bytes of scratch an_stl_decompose_work needs for n points.
   Returns: AN_OK with *bytes; errors as an_stl_resolve. */
AN_API an_result an_stl_work_size(const an_stl_config *config, size_t n, size_t *bytes);
/* Decompose y (n).  seasonal, trend, remainder: (n) outputs; weights:
   optional (n) robustness weights of the last pass (all 1 without outer
   passes).  The scratch comes from `a` (NULL = default) or, in the _work
   form, from the caller (an_stl_work_size bytes, 64-aligned: AN_ALIGN).
   Returns: AN_OK; AN_ERR_INPUT for a non-finite y; errors as
   an_stl_resolve; AN_ERR_NOMEM; AN_ERR_INVALID_ARG for misaligned work. */
AN_API an_result an_stl_decompose(const an_stl_config *config, const double *y, size_t n,
                                  double *seasonal, double *trend, double *remainder, double *weights,
                                  const an_allocator *a);
/* Returns: as an_stl_decompose, without AN_ERR_NOMEM. */
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

/* Returns: R's defaults above. */
AN_API an_mstl_config an_mstl_config_init(const size_t *periods, size_t n_periods, int robust);
/* Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG; AN_ERR_TOO_SHORT;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_mstl_work_size(const an_mstl_config *config, size_t n, size_t *bytes);
/* seasonal: (n_periods, n), row k for periods[k]; trend, remainder: (n).
   Returns: AN_OK; AN_ERR_INPUT for a non-finite y; AN_ERR_INVALID_ARG;
   AN_ERR_TOO_SHORT; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_mstl_decompose(const an_mstl_config *config, const double *y, size_t n, double *seasonal,
                                   double *trend, double *remainder, const an_allocator *a);
/* Returns: as an_mstl_decompose, without AN_ERR_NOMEM. */
AN_API an_result an_mstl_decompose_work(const an_mstl_config *config, const double *y, size_t n, double *seasonal,
                                        double *trend, double *remainder, void *work);

/* Strength of a trend or seasonal component (Wang, Smith & Hyndman 2006):
   max(0, 1 - var(remainder) / var(component + remainder)), in [0, 1].
   Returns: AN_OK; AN_ERR_TOO_SHORT for n < 2; AN_ERR_INPUT for non-finite
   values; AN_ERR_INVALID_ARG. */
AN_API an_result an_stl_strength(const double *component, const double *remainder, size_t n, double *strength);

/* Sample autocorrelation r(1..max_lag) of y (n) into acf (max_lag + 1,
   acf[0] = 1): sum (y_t - m)(y_t+k - m) / sum (y_t - m)^2, computed by FFT
   in O(n log n).  Needs max_lag < n and a series that is not constant.
   Returns: AN_OK; AN_ERR_TOO_SHORT unless max_lag < n; AN_ERR_INPUT for a
   constant or non-finite y; AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE;
   AN_ERR_NOMEM. */
AN_API an_result an_acf(const double *y, size_t n, size_t max_lag, double *acf, const an_allocator *a);

/* Seasonal periods of y (n), strongest structure first found, returned in
   ascending order.  The series is detrended by least squares; a period is
   a local maximum of the autocorrelation above `min_acf` (0 = 0.2 or the
   white-noise bound 2 / sqrt(n), whichever is larger) that rises at least
   min_acf / 2 above the autocorrelation at shorter lags, at most
   max_period (0 = n / 3), taken as the shortest peak that the strongest
   peak is a whole multiple of, moved to the lag within p / 20 (at least 2)
   whose cycle means leave the least variance per degree of freedom in the
   series less its moving average over p rows (the peak of a smooth cycle
   is broad: five days of 5-minute rows put it up to five lags off the
   day), then to the vertex of the parabola fitted to that variance at the
   3 lags either side (one lag's difference is within the noise on a few
   cycles, three lags' is not); a divisor of it (p / k, k <= 10) is taken
   instead when its cycle medians leave no more than p's do plus 5% of what
   the series' median leaves, in absolute deviations per degree of freedom
   (n - q for q medians; a few days of a changed season fill a multiple's
   cycle means, not its medians, and a multiple's many medians fit them by
   their number); kept if they explain at least 5% of the variance left
   (beyond the 2 p / n that p means take from noise); when they do not, or
   p is a divisor of a period found before, the strongest peak goes through
   the same steps (two pulses 6 rows apart in each cycle of 100 peak at lag
   6 too).  Each period found is removed (cycle means) before the search
   for the next, which stops when what is left is below 1e-9 of the
   variance (rounding).
   Finds at most max_count periods and reports how many in *count (0 when
   the series has no clear season, and for a constant series or a line).
   Returns: AN_OK (*count may be 0); AN_ERR_TOO_SHORT; AN_ERR_INPUT for a
   non-finite y; AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_detect_periods(const double *y, size_t n, size_t max_period, double min_acf, size_t *periods,
                                   size_t max_count, size_t *count, const an_allocator *a);

/* The length in rows of the cycle at whole period p in y (n), to a
   fraction of a row.  A season sampled at a rate that is no divisor of it
   (an orbit of 97.3 rows; a day of 7-minute rows, 205.71) drifts a row
   off any whole period every few cycles, and a profile kept at the whole
   period is read further out of phase each cycle.  The lengths c within
   min(2, p / 8) rows of p are tried on y less its centred moving average
   over p rows (its whole cycles, 200 at most), each by its power through
   Hann's window: the sum over the first 8 harmonics (fewer below p = 17)
   of |sum_t w_t y_t e^(-2 pi i h t / c)|^2.  The power is smooth in c, so
   a fine search adds no noise of its own (slot means at fractional
   lengths do: each length parts the rows differently, and on noise alone
   one in a hundred lengths left 50 to 100 variances less than p); without
   the window a strong season's mirror image leaked into it and drew 288
   to 288.09.  The grid's step is a quarter of the top harmonic's main
   lobe without the window (at most 0.05 rows), then a fifth of that
   twice around the best.  The best replaces p only where the sum of
   squares its harmonics remove exceeds p's by 25 times the variance left
   per degree of freedom, and where the first and the last half of the
   cycles, searched alone, each land nearer to it than half its distance
   from p (anomalies that change a season's speed for a day or two, as
   make eval's period changes do, drew 289 to 290.75 on the whole series;
   a real drift shows in both halves); it is rounded where it drifts less
   than half a row from a whole number over the series.  *cycle is p
   otherwise, for p < 8 and for fewer than 7 cycles (each half needs 3
   whole cycles besides the moving average's ends).
   Returns: AN_OK; AN_ERR_INPUT for a non-finite y; AN_ERR_INVALID_ARG for
   p < 2; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_cycle_length(const double *y, size_t n, size_t p, double *cycle, const an_allocator *a);

/* ==========================================================================
   3  DETECTORS
   ========================================================================== */

/* --------------------------------------------------------------------------
   3.1  Robust scores: IQR, MAD, STL + IQR
   --------------------------------------------------------------------------
   Conventions every detector of this header follows:
     an_<name>_config_init gives the defaults; an_<name>_create makes the
     detector for n_features columns; an_<name>_type() is its vtable, for
     the type table of an_detector_load.  Rows are float, row-major
     (n_rows, n_features); a row's score is the largest over its features.
     fit allocates what the detector will ever need; score and push
     allocate nothing.  Streaming detectors score causally, and a stream
     starts where the training rows started: after fit on rows 0..N-1,
     pushing rows 0, 1, 2, ... scores them in order (the first N in
     sample), so the NAB protocol, a CSV scored whole and the calibration
     of an ensemble all read the same stream; to go on after the training
     rows, push them first.  score(x) is exactly what pushing the rows of
     x from that start gives, and leaves the live stream alone; reset
     returns the stream to the start.  NaN or Inf input is AN_ERR_INPUT.

   Robust scores of a value x against a centre and a spread:
     MAD  |x - median| / (1.4826 MAD): the robust z-score (1.4826 makes
          MAD estimate the standard deviation of normal data);
     IQR  max(Q1 - x, x - Q3) / (Q3 - Q1): distance past the quartiles in
          IQRs, negative inside the box; Tukey's fences are 1.5 and 3.
   window 0 takes the statistics from the fit (O(1) per point); window w
   takes them from the w points before x (a sorted window: O(w) memmove
   per point, no allocation).  Quantiles interpolate linearly (R's type 7,
   numpy's default).  A zero spread is floored at 1e-9 (1 + |centre|) so
   scores stay finite. */
typedef enum an_robust_method { AN_ROBUST_MAD = 0, AN_ROBUST_IQR = 1 } an_robust_method;

#define AN_ROBUST_MAX_WINDOW ((size_t)1 << 24)

typedef struct an_robust_config {
    an_robust_method method;
    size_t window;            /* 0 = statistics of the fit; 3..AN_ROBUST_MAX_WINDOW = rolling */
} an_robust_config;

/* Returns: the configuration given, with the defaults above. */
AN_API an_robust_config an_robust_config_init(an_robust_method method, size_t window);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config or n_features 0;
   AN_ERR_TOO_LARGE for a window past AN_ROBUST_MAX_WINDOW (2^24, what a
   model file can hold) or sizes past size_t; AN_ERR_NOMEM. */
AN_API an_result an_robust_create(const an_robust_config *config, size_t n_features, const an_allocator *a,
                                  an_detector **out);
/* Returns: the MAD detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_mad_type(void);
/* Returns: the IQR detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_iqr_type(void);

/* STL + IQR, the seeds' statistical baseline made causal.  fit decomposes
   the training series with STL (robust by default) and seeds an additive
   Holt-Winters filter with it: level, slope and the seasonal profile.
   Without a given period it takes the longest an_detect_periods finds
   that holds the shorter ones as a week holds its days (a whole number
   m of them, within m lags; no season when none is found).  When the
   caller knows how many rows make a day (`day`, from the timestamps of
   a regular sampling), a period found within a twentieth of the day or
   of the week (at least 2 rows) is taken as that day or week: anomalies
   that shift or stretch cycles pull the search a lag or two long (289
   or 290 for 288 in 25 of make eval's 36 phase and period files on
   bases with a season, both seeds, fitted whole), and a profile one lag
   off drifts a lag further out of phase every cycle.  A period found and
   not taken from the calendar is measured to a fraction of a row
   (an_cycle_length): a cycle of 97.3 rows keeps a profile of 97 slots
   that the filter reads and teaches between two slots, its phase moving
   97 / 97.3 of a slot per row (on the whole period its residuals carried
   the season's slope times a drift of up to 18 rows over 60 cycles, and
   6-sigma spikes scored under the noise's top rows).
   Each point is scored by its one-step residual r = x - (level + slope +
   season[phase]) as max(Q1 - r, r - Q3) / IQR, with the quartiles of the
   residuals the filter made on the training series.  Where one value
   holds most of those residuals (a series idle between bursts, a count
   mostly at 0) the quartiles meet and every active row would be
   extreme; when the IQR is under a quarter of the spread the 10th and
   90th percentiles give, (Q90 - Q10) 1.349 / 2.563 (which equals the
   IQR for normal noise), that spread stands in for it.  The filter learns
   only from points inside the fences at `clip` IQR past the quartiles,
   so anomalies do not drag the expectation; past a fence the level moves
   on by its slope alone.  `persist` points in a row past the same fence
   are a level shift, and the level jumps by their mean residual.  A
   shift is remembered for one cycle (the trend window without a season):
   a point the earlier level fits is then a return, taken at once rather
   than flagged as a second shift, so an excursion that ends is one
   anomaly, not two.  Level and slope are Brown's double smoothing with
   a = 2 / (w + 1): w is half a cycle, at least 49 rows and at most STL's
   trend window, or the trend window without a season (STL's trend
   window, about two cycles, made this one-sided filter lag a slow swing,
   a week's under a daily cycle, by two noise sds, which the fences
   flagged).  The season is an average over seasonal_window cycles,
   gamma = 2 / (seasonal_window + 1), of the rows cleaned to within 2
   sigma (IQR / 1.349) of their forecast, Huber's psi: a day read slowly
   or out of phase stays inside the fences, and taken whole it would
   carry into the next day's profile.  O(1) per point.
   an_stl_iqr_expected gives the expectation for the next point of the
   live stream (the "expected" of an explanation).
   With several features a row's score is the largest of its features'
   scores, each divided by that feature's tail: the 99.9th percentile of
   the scores it made on the training rows, at least 1.  A command that
   steps now and then, or a sensor with heavy-tailed noise, reaches far
   on ordinary days; divided by its own reach it no longer hides a spike
   on a quiet channel.  A single feature's scores are not divided. */
typedef struct an_stl_iqr_config {
    size_t period;           /* 0 = detect from the training series       */
    size_t day;              /* rows in a day, 0 = not known (0); fit only,
                                not saved                                 */
    size_t seasonal_window;  /* STL's, odd >= 3 (default 7)               */
    size_t trend_window;     /* STL's in fit, 0 = its default; the filter's
                                level without a season (0 = 25)           */
    int robust;              /* robust STL in fit (default 1)             */
    double clip;             /* fences at clip IQR past the quartiles (3) */
    size_t persist;          /* residuals past one fence in a row that make
                                a level shift (4)                         */
} an_stl_iqr_config;

/* Returns: the defaults above. */
AN_API an_stl_iqr_config an_stl_iqr_config_init(size_t period);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config or n_features 0;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_stl_iqr_create(const an_stl_iqr_config *config, size_t n_features, const an_allocator *a,
                                   an_detector **out);
/* Returns: the STL-IQR detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_stl_iqr_type(void);
/* The period each feature uses after fit (0 = no season), and the live
   stream's expectation for its next row (n_features values).
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for another type. */
AN_API an_result an_stl_iqr_period(const an_detector *d, size_t feature, size_t *period);
/* The length of each feature's season in rows after fit, fractional
   where an_cycle_length found it so (the period is then its rounding and
   the number of slots in the seasonal profile, which the filter reads and
   teaches between two slots); the period itself where it was given, taken
   from the calendar (config day) or is whole; 0 = no season.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for another type. */
AN_API an_result an_stl_iqr_cycle(const an_detector *d, size_t feature, double *cycle);
/* Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for another type. */
AN_API an_result an_stl_iqr_expected(const an_detector *d, double *expected);
/* Whether feature `feature` was flat in training: the range of its
   training values at most 1e-3 of 1 + |their midrange| (a constant, a
   stuck sensor, a value that rarely moves), so the training rows told
   nothing of its normal variation and gave its band little or no width.
   Such a feature is judged by the residuals' own spread since fit too:
   its band's spread is the larger of the training one and the standard
   deviation sigma of the residuals from the first departure from the
   band on (1.2533 times their mean absolute value, over the last 500
   rows at most), its fences then 4 sigma out.  The first departure from
   the constant is flagged; a stream that then goes on with noise of its
   own is judged on that noise's scale, not flagged row after row.  A
   caller should say so: the model learnt nothing of the feature's
   variation.
   Returns: AN_OK with *flat 0 or 1; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG
   for another type or feature out of range. */
AN_API an_result an_stl_iqr_flat(const an_detector *d, size_t feature, int *flat);

/* STL + IQR's runs: what STL + IQR's row-by-row score cannot see, the
   runs of rows.  The same causal filter as an_stl_iqr (it holds one, with
   the same config), and over the last `window` rows of each feature two
   statistics:
     mean    the mean of the one-step residuals r (a shift, a ramp, a
             late cycle);
     spread  ln(mean |x_t - x_t-1| + f), the log of the mean absolute
             first difference of the values (a variance burst up, a
             stuck sensor or a collapse of the noise down: the values'
             own differences, as a stuck sensor's residual still traces
             the season), f = 1e-6 times its training median + 1e-30, so
             a stuck sensor scores finite.
   Each is judged against its own typical values: the quartiles Q1, Q3
   of the statistic over every full window of the training residuals,
   score max(Q1 - s, s - Q3) / IQR (IQR floored as an_robust's), the
   score of the row the largest over the two statistics and the features
   (capped at FLT_MAX).  Rows before the window first fills score 0.
   With `rows` set the score is the larger of that and STL + IQR's score
   of the row (both are distances past a quartile in IQRs), one member
   that sees both lone rows and runs.
   Because the bands come from the statistic's own training
   distribution, autocorrelated residuals only widen them.  fit needs
   n >= 2 window + 8 rows.  As an_stl_iqr, streams start at the first
   training row (fit leaves the live stream there); score() runs the same
   pushes on a copy of the fitted state, bit for bit.  O(window F) per
   row.  Defaults: an_stl_runs_config_init(period, 12).
   Model files: type 'SRUN'; the inner STL + IQR's chunks 'STIQ' and 'STFL', then
   'RUNS' (u64 window, F, u32 rows; f64 per feature the mean's band (3), the
   spread's band (3), f; then the live window: u64 count, head and the
   window's residuals and values (window, 2 F)). */
#define AN_STL_RUNS_MAX_WINDOW ((size_t)1 << 16)
typedef struct an_stl_runs_config {
    an_stl_iqr_config stl;   /* the filter (an_stl_iqr_config_init)       */
    size_t window;           /* rows per window, >= 3 (12)                */
    int rows;                /* 1: a row's score is the larger of this and
                                STL + IQR's own row score (0)             */
} an_stl_runs_config;

/* Returns: the defaults above. */
AN_API an_stl_runs_config an_stl_runs_config_init(size_t period, size_t window);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config or n_features 0;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_stl_runs_create(const an_stl_runs_config *config, size_t n_features, const an_allocator *a,
                                    an_detector **out);
/* Returns: the STL-runs detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_stl_runs_type(void);

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
   The tests hold the relative error against 40-digit mpmath values below
   1e-13 up to 1000 df and 2e-12 beyond (the continued fraction converges
   slowly there). */
/* Returns: AN_OK; AN_ERR_INVALID_ARG for x <= 0, non-finite x or NULL out. */
AN_API an_result an_lgamma(double x, double *out);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a, b <= 0, x outside [0, 1] or
   NULL out. */
AN_API an_result an_beta_inc(double a, double b, double x, double *out);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for df <= 0, NaN t or NULL out. */
AN_API an_result an_t_cdf(double t, double df, double *out);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for q outside (0, 1), df <= 0 or NULL
   out. */
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
   O(n k) time; scratch of n doubles and n indices from `a`.
   Returns: AN_OK; AN_ERR_TOO_SHORT unless n >= k + 2; AN_ERR_INPUT for a
   non-finite x; AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_gesd(const double *x, size_t n, size_t k, double alpha, an_esd_tail tail, int robust,
                         double *R, double *lambda, size_t *order, size_t *n_outliers, const an_allocator *a);

/* S-H-ESD's residual (Twitter's AnomalyDetection): r = x - seasonal -
   median(x), the seasonal from STL with the "periodic" seasonal window
   (robust when robust_stl), period >= 2 and n > 2 period; period 0 skips
   the seasonal (r = x - median(x)).  Scratch from `a`.
   Returns: AN_OK; AN_ERR_TOO_SHORT unless n > 2 period; AN_ERR_INPUT;
   AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
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

/* Returns: the defaults above. */
AN_API an_gesd_config an_gesd_config_init(double max_anoms, double alpha);
/* Returns: AN_OK; AN_ERR_SHAPE for n_features other than 1;
   AN_ERR_INVALID_ARG for a bad config; AN_ERR_NOMEM. */
AN_API an_result an_gesd_create(const an_gesd_config *c, size_t n_features, const an_allocator *a,
                                an_detector **out);
/* Returns: the generalized ESD detector type, for an_detector_load. */
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
   capacity as configured) and 'STAT' (u64 capacity, period in use).
   Returns: the defaults above. */
AN_API an_shesd_config an_shesd_config_init(size_t period, double max_anoms, double alpha);
/* Returns: AN_OK; AN_ERR_SHAPE for n_features other than 1;
   AN_ERR_INVALID_ARG for a bad config; AN_ERR_NOMEM. */
AN_API an_result an_shesd_create(const an_shesd_config *c, size_t n_features, const an_allocator *a,
                                 an_detector **out);
/* Returns: the S-H-ESD detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_shesd_type(void);
/* The period a fitted S-H-ESD detector uses (0: no seasonal).
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for another type. */
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

/* Returns: the defaults above. */
AN_API an_level_shift_config an_level_shift_config_init(size_t window);
/* Returns: AN_OK; AN_ERR_SHAPE for n_features 0 or over
   AN_SHIFT_MAX_FEATURES; AN_ERR_INVALID_ARG for a bad config;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_level_shift_create(const an_level_shift_config *c, size_t n_features, const an_allocator *a,
                                       an_detector **out);
/* Returns: the level-shift detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_level_shift_type(void);

/* Returns: the defaults above. */
AN_API an_volatility_shift_config an_volatility_shift_config_init(size_t window);
/* Returns: AN_OK; AN_ERR_SHAPE for n_features 0 or over
   AN_SHIFT_MAX_FEATURES; AN_ERR_INVALID_ARG for a bad config;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_volatility_shift_create(const an_volatility_shift_config *c, size_t n_features,
                                            const an_allocator *a, an_detector **out);
/* Returns: the volatility-shift detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_volatility_shift_type(void);

/* Two-sample Kolmogorov-Smirnov statistic D = sup |F_a - F_b| of the
   empirical distribution functions, ties included.  The supremum is found
   in integers and D is the double nearest h / lcm(n, m), which is bit for
   bit scipy.stats.ks_2samp's statistic in its default exact mode (both
   samples of at most 10000 points; beyond that scipy keeps its own
   rounding of cdf1 - cdf2, which can differ in the last bit).  Scratch
   copies from `alloc`.
   Returns: AN_OK; AN_ERR_INPUT for NaN; AN_ERR_INVALID_ARG for an empty
   sample; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_ks_statistic(const float *a, size_t n, const float *b, size_t m, const an_allocator *alloc,
                                 double *d);
/* Survival function of Kolmogorov's limiting distribution,
   P(K > lambda) (scipy.stats.kstwobign.sf).
   Returns: AN_OK; AN_ERR_INVALID_ARG for NaN lambda or NULL p. */
AN_API an_result an_kolmogorov_sf(double lambda, double *p);
/* Asymptotic two-sided p-value of D for samples of n and m points:
   an_kolmogorov_sf(sqrt(n m / (n + m)) D).  (scipy's ks_2samp defaults
   to an exact method for small samples; this is its large-sample form.)
   Returns: AN_OK; AN_ERR_INVALID_ARG for d outside [0, 1], n or m 0, or
   NULL p. */
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

/* Returns: the defaults above. */
AN_API an_ks_drift_config an_ks_drift_config_init(size_t window, an_ks_reference reference);
/* Returns: AN_OK; AN_ERR_SHAPE for n_features 0 or over
   AN_SHIFT_MAX_FEATURES; AN_ERR_INVALID_ARG for a bad config;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_ks_drift_create(const an_ks_drift_config *c, size_t n_features, const an_allocator *a,
                                    an_detector **out);
/* Returns: the KS drift detector type, for an_detector_load. */
AN_API const an_detector_vtable *an_ks_drift_type(void);
/* D (the largest over the features) and its p-value (an_ks_pvalue, not
   corrected for the number of features) after the last push (after fit,
   reset or load: of the fitted windows).
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for another type. */
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
   reset does nothing).  One addition: the trees end at the training
   rows, so every row past the training range would reach the leaves of
   the most extreme training rows and tie with them, however far out.
   A row past it has d / (1 + d) (< 1) taken off E[h(x)], d the largest
   distance past a feature's training [min, max] in units of the range's
   width: rows further out score higher, rows within it as above (and as
   scikit-learn's).
   Model files: type 'IFOR'; chunk 'CONF' (u64 F, n_trees, subsample,
   seed, psi), then one 'TREE' per tree (u64 node count, then per node u32
   feature or 0xFFFFFFFF for a leaf, f32 split, u32 left child, u32 rows),
   then 'IFBX' (f32 per feature the training min, then the max; files
   without it score without the addition). */
#define AN_IFOREST_MAX_TREES     ((size_t)1 << 16)
#define AN_IFOREST_MAX_SUBSAMPLE ((size_t)1 << 20)
#define AN_IFOREST_MAX_FEATURES  ((size_t)1 << 16)

typedef struct an_iforest_config {
    size_t n_trees;
    size_t subsample;
    uint64_t seed;
} an_iforest_config;

/* Returns: 100 trees, subsample 256 and the seed. */
AN_API an_iforest_config an_iforest_config_init(uint64_t seed);
/* Returns: AN_OK; AN_ERR_SHAPE for n_features 0 or over
   AN_IFOREST_MAX_FEATURES; AN_ERR_INVALID_ARG for a bad config;
   AN_ERR_NOMEM. */
AN_API an_result an_iforest_create(const an_iforest_config *c, size_t n_features, const an_allocator *a,
                                   an_detector **out);
/* Returns: the isolation forest type, for an_detector_load. */
AN_API const an_detector_vtable *an_iforest_type(void);
/* c(n) above, the average path length of an unsuccessful search in a
   binary search tree of n points.
   Returns: c(n); 0 for n <= 1. */
AN_API double an_iforest_c(double n);

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
    an_event *events;                 /* (event_capacity) the anomalous sequences:
                                         start, end, peak (first of the largest
                                         score), severity (that score), points;
                                         alarms 0                              */
    size_t event_capacity, event_count;
    an_telemanom_window *windows;     /* (window_capacity)                     */
    size_t window_capacity, window_count;
} an_telemanom_result;

/* telemanom's config.yaml defaults, in points.
   Returns: the defaults. */
AN_API an_telemanom_config an_telemanom_config_init(void);
/* How many windows a series of n points makes.
   Returns: AN_OK with *count; AN_ERR_TOO_SHORT for n 0; AN_ERR_INVALID_ARG
   for a bad config. */
AN_API an_result an_telemanom_window_count(const an_telemanom_config *config, size_t n, size_t *count);
/* Bytes of scratch an_telemanom_detect_work needs for n points.
   Returns: AN_OK with *bytes; AN_ERR_TOO_SHORT; AN_ERR_INVALID_ARG;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_telemanom_work_size(const an_telemanom_config *config, size_t n, size_t *bytes);
/* Runs the whole error processing.
   Parameters: errors (n) prediction errors, finite and >= 0 (telemanom's
   |y_hat - y|); values (n) the true values at the same points; out: see
   an_telemanom_result; a: scratch allocator (NULL = default), or in the
   _work form caller memory of an_telemanom_work_size bytes, 64-aligned (AN_ALIGN).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config, NULL input or misaligned work,
   AN_ERR_TOO_SHORT for n = 0, AN_ERR_INPUT for NaN, Inf or a negative
   error, AN_ERR_NUMERIC when errors near DBL_MAX overflow the smoothing,
   AN_ERR_SHAPE when ranges or windows are asked for but more
   exist than their capacity (the first ones and every other output are
   still written, the counts set).
   Thread safety: none needed; nothing is shared. */
AN_API an_result an_telemanom_detect(const an_telemanom_config *config, const double *errors, const double *values,
                                     size_t n, an_telemanom_result *out, const an_allocator *a);
/* Returns: as an_telemanom_detect, without AN_ERR_NOMEM. */
AN_API an_result an_telemanom_detect_work(const an_telemanom_config *config, const double *errors,
                                          const double *values, size_t n, an_telemanom_result *out, void *work);
/* The same for float errors and values, as detectors emit them: they are
   widened to double in 2 n doubles of scratch from `a` (NULL = default),
   then judged exactly as above.
   Returns: what an_telemanom_detect does, or AN_ERR_NOMEM. */
AN_API an_result an_telemanom_detect_f(const an_telemanom_config *config, const float *errors, const float *values,
                                       size_t n, an_telemanom_result *out, const an_allocator *a);

/* Prediction errors for the error thresholds (telemanom above, SPOT
   below), from what a detector expected (an_detector_expected after each
   push): per feature |actual - expected| in units of that feature's
   median error over the first n_train rows (1 where that median is 0 or
   there is none), and the row's error the largest over its features; a
   feature with no expectation at a row (NaN) adds nothing there.  So
   features on different scales weigh alike and one feature's departure
   is the row's.  The detect command's --threshold dynamic and spot run
   on these.
   Parameters: x (n_rows, F) the actual rows, finite; expected (n_rows, F);
   err (n_rows) out; scale (F) out, each feature's unit, or NULL; a:
   n_train floats of scratch (NULL = default).
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arrays, n_rows or F 0 or
   n_train > n_rows; AN_ERR_INPUT for a non-finite x; AN_ERR_TOO_LARGE;
   AN_ERR_NOMEM. */
AN_API an_result an_prediction_errors(const float *x, const double *expected, size_t n_rows, size_t n_features,
                                      size_t n_train, double *err, double *scale, const an_allocator *a);

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
    size_t owned_bytes;       /* freed at uninit; 0 when the caller owns heap  */
    an_allocator alloc;
} an_spot;

/* q, level as given, max_peaks 4096, depth 0 (SPOT).
   Returns: the configuration above. */
AN_API an_spot_config an_spot_config_init(double q, double level);
/* Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for a bad config;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_spot_heap_size(const an_spot_config *config, size_t *bytes);
/* heap: an_spot_heap_size bytes, 64-aligned (AN_ALIGN), owned by the caller.
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config or a NULL or misaligned heap. */
AN_API an_result an_spot_init_preallocated(an_spot *s, const an_spot_config *config, void *heap);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config; AN_ERR_TOO_LARGE;
   AN_ERR_NOMEM. */
AN_API an_result an_spot_init(an_spot *s, const an_spot_config *config, const an_allocator *a);
AN_API void      an_spot_uninit(an_spot *s);
/* Calibration on x (n), forgetting anything learnt before: SPOT needs at
   least one point above t; DSPOT uses the first d points as its first
   window and calibrates on the rest (so n > d).  Scratch (n - d doubles,
   for the quantile) comes from `scratch` (NULL = default).
   Returns: AN_OK; AN_ERR_INPUT for NaN/Inf; AN_ERR_TOO_SHORT when no point
   exceeds t; AN_ERR_NUMERIC when the tail fit fails; AN_ERR_INVALID_ARG;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_spot_fit(an_spot *s, const double *x, size_t n, const an_allocator *scratch);
/* The same for float x, as detectors emit it (widened to double in n more
   doubles of scratch).  Push takes a double, to which a float converts
   exactly.
   Returns: what an_spot_fit does. */
AN_API an_result an_spot_fit_f(an_spot *s, const float *x, size_t n, const an_allocator *scratch);
/* One point: *verdict says what it was.  Allocates nothing.  Thread
   safety: one thread per an_spot.
   Returns: AN_OK; AN_ERR_NOT_FITTED before calibration; AN_ERR_INPUT for
   NaN/Inf (nothing learnt); AN_ERR_NUMERIC when a refit fails;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_spot_push(an_spot *s, double x, an_spot_verdict *verdict);
/* The alarm threshold in the units of x: z_q, plus M for DSPOT.
   Returns: the threshold (HUGE_VAL before calibration). */
AN_API double    an_spot_threshold(const an_spot *s);

/* Maximum-likelihood GPD fit of excesses y (n >= 1, all > 0 and finite):
   Grimshaw's reduction to one parameter x = gamma / sigma, whose profile
   likelihood is scanned on a grid over the admissible range (-1 / max y,
   2 (mean - min) / min^2], x = 0 being the exponential, and refined by
   golden-section search.  gamma is kept above -1, where the likelihood is
   bounded.
   Returns: AN_OK; AN_ERR_INPUT for an excess that is not finite and > 0;
   AN_ERR_NUMERIC when no fit is found; AN_ERR_INVALID_ARG. */
AN_API an_result an_gpd_fit(const double *y, size_t n, double *gamma, double *sigma);
/* Log-likelihood of y under GPD(gamma, sigma); -HUGE_VAL outside support.
   Returns: the log-likelihood, or -HUGE_VAL outside the support. */
AN_API double    an_gpd_log_likelihood(const double *y, size_t n, double gamma, double sigma);
/* z_q above for the fit (t, gamma, sigma), q, n points and n_peaks.
   Returns: z_q. */
AN_API double    an_gpd_threshold(double t, double gamma, double sigma, double q, size_t n, size_t n_peaks);

/* ==========================================================================
   5  TYPES
   ==========================================================================
   This header's detector types, for an_detector_load: the nine above, in
   the order declared, then an_stl_runs (*n set to 10).  Concatenate it with the tables of the
   other headers you link (an_lstm_types) to load a saved ensemble.
   Returns: a static table, never NULL; n may be NULL. */
AN_API const an_detector_vtable *const *an_stats_types(size_t *n);

/* ==========================================================================
   6  THE DEFAULT HYBRID
   ==========================================================================
   The default hybrid: the library's detection policy in one place, so a
   command line, a stream and an embedding program get the same detector.
   An ensemble of STL + IQR (the baseline, always on, `period` 0 = found
   in the training rows) and, when the caller passes one, a second member
   such as an LSTM autoencoder (this header knows nothing of the LSTM's:
   the caller makes it, the hybrid owns it), optional: the hybrid falls
   back to the baseline when it fails to fit.  Weights 0.6 and 0.4, so
   the baseline can raise an alarm alone and the second member only with
   it; the vote at a member's likelihood 0.999, the score pooled by the
   mean (AN_POOL_SURPRISE for a benchmark that ranks rows across files:
   a sure member is not diluted).  `lone_likelihood` is the rule for
   events (an_hybrid_lone_ok): an event of one flagged row is kept only
   when the pooled score reaches it (0.9999, ten times rarer than a vote;
   fitted on the whole series, (n - 0.5) / n suffices for a row of it,
   the most a rank can say; not on a clean training prefix, whose top
   rank is no evidence and raised one false event in most files).  Fitted
   on the whole series, the lone row's score is the members' surprise
   pool (an_ensemble_decision.surprise), where the mean let a member that
   saw nothing veto a row the baseline was sure of; after a clean prefix
   it stays the mean, which the surprise pool there would have cost 25
   false events for 8 found (make eval's synthetic part, 2026-12-07).
   The members also vote on sustained departures (the ensemble's
   sustain_rows, 12: an hour of 5-minute rows; sustain_z 8), which is how
   the hybrid sees a flatline, a ramp, a burst of variance or a changed
   season in the rows it was fitted on, where no single row is rare; and
   a feature stuck on one value for `flatline_rows` rows (6, more where
   the training rows often hold their value: the ensemble's
   flatline_rows) is an anomaly, and so is one whose noise collapses:
   the mean |second difference| of its last `quiet_rows` rows (12, an
   hour of 5-minute rows, as short as the shortest collapse make eval
   injects; 24 missed those of 12 to 17 rows) under an eighth of its
   training windows' 25th percentile (the ensemble's quiet rule).  Set
   `normal_training` when the rows fitted on are known normal (a clean
   prefix, a training period): a row's vote must then also pass the
   largest training score, and a sustained departure the most surprising
   training window (the ensemble's normal_training), so a pattern
   training showed does not vote each time it comes back;
   the command line sets it for --train-rows short of the file, and for
   stream, and then makes its autoencoder centre its windows
   (anomaly_lstm.h's an_lstm_config.centre): the rows scored may go on
   far past the training rows' levels, which STL + IQR follows and the
   autoencoder need not judge (make eval's synthetic part, clean prefix:
   359 -> 368 events found, false events 32 -> 30; held-back seed 367 ->
   377, 38 -> 41; 2026-12-07).  Events are the runs of flagged rows that
   pass the lone rule, joined where at most `event_gap` unflagged rows
   part them (3, as make eval matches them): a burst of variance flags
   most of its rows, and a row inside it that happens to look ordinary
   does not split it into a dozen events (an_alarm_config's max_gap). */
typedef struct an_hybrid_config {
    size_t period;              /* STL + IQR's period, 0 = detect (0)       */
    size_t day;                 /* rows in a day, 0 = not known (0): STL +
                                   IQR's (a period found near the day or the
                                   week is taken as it)                     */
    double baseline_weight;     /* STL + IQR's weight (0.6)                 */
    double member_weight;       /* the caller's member's weight (0.4)       */
    an_ensemble_pool pool;      /* AN_POOL_MEAN                             */
    double threshold;           /* a member's vote (0.999)                  */
    double lone_likelihood;     /* a lone flagged row's level (0.9999)      */
    size_t sustain_rows;        /* the sustained vote's window, 0 = off (12) */
    double sustain_z;           /* its robust z (8)                         */
    size_t flatline_rows;       /* the shortest stuck run, 0 = off (6)      */
    size_t quiet_rows;          /* the quiet rule's window, 0 = off (12)    */
    size_t event_gap;           /* unflagged rows one event may bridge (3)  */
    int normal_training;        /* the rows fitted on are known normal (0)  */
} an_hybrid_config;

/* Returns: the defaults above with the given period. */
AN_API an_hybrid_config an_hybrid_config_init(size_t period);
/* The ensemble configuration of the hybrid's vote: its threshold, pool,
   sustained vote, stuck and quiet rules.  An ensemble of other members
   made with it decides as the hybrid does (the command line gives it
   to every --method), and an_hybrid_lone_ok applies to its events.
   Returns: that configuration (config's fields as they are: check them
   with an_ensemble_create). */
AN_API an_ensemble_config an_hybrid_vote_config(const an_hybrid_config *config);
/* member: NULL or a detector of n_features, taken over (also on failure).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config or NULL out;
   otherwise an_ensemble_create's, an_stl_iqr_create's or an_ensemble_add's
   error (nothing is left allocated). */
AN_API an_result an_hybrid_create(const an_hybrid_config *config, size_t n_features, an_detector *member,
                                  const an_allocator *a, an_detector **out);
/* Whether an event of `rows` flagged rows whose peak score is `peak` is
   kept; `n_train` rows were fitted on, and `in_suspect_rows` says the
   peak is among them and they were the whole series (they may hold the
   anomaly); 0 for rows past the training or in a clean prefix.  `peak`
   is the peak row's pooled score (an_ensemble_decision.likelihood), or
   where in_suspect_rows its surprise pool (.surprise; see above).
   Returns: 1 to keep the event, 0 to drop it. */
AN_API int an_hybrid_lone_ok(const an_hybrid_config *config, size_t rows, double peak, int in_suspect_rows,
                             size_t n_train);

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

AN_API an_stl_config an_stl_config_stlez(size_t period, size_t seasonal_window, int seasonal_degree,
                                         int trend_degree, int robust)
{
    an_stl_config c = an_stl_config_init(period, seasonal_window < 3 ? 3 : seasonal_window | 1, robust);
    size_t nt = (size_t)(1.5 * (double)period / (1.0 - 1.5 / (double)c.seasonal_window) + 0.5);
    c.trend_window = nt < 3 ? 3 : nt | 1;
    c.seasonal_degree = seasonal_degree;
    c.trend_degree = c.lowpass_degree = trend_degree;
    c.tolerance = robust ? 0.01 : 0.0;
    return c;
}

AN_API an_result an_stl_resolve(const an_stl_config *config, size_t n, an_stl_config *out)
{
    an_stl_config c;
    if (!config || !out) return AN_ERR_INVALID_ARG;
    c = *config;
    if (c.period < 2 || c.inner == 0 || !(c.tolerance >= 0.0) || !an__finite(c.tolerance)) return AN_ERR_INVALID_ARG;
    if (n < 3 || c.period > (n - 1) / 2) return AN_ERR_TOO_SHORT;        /* n > 2 period */
    if (c.seasonal_window == AN_STL_PERIODIC) {
        if (n > (SIZE_MAX - 1) / 10) return AN_ERR_TOO_LARGE;
        c.seasonal_window = 10 * n + 1;
        c.seasonal_degree = 0;
    }
    if (c.seasonal_window < 3 || c.seasonal_window % 2 == 0) return AN_ERR_INVALID_ARG;
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

/* Five work arrays of n + 2 period, one of n for the robustness step, one
   of n / 2 + 1 for the loess kernels and two of n for the previous pass's
   seasonal and trend (the convergence test). */
static size_t an__stl_work_doubles(size_t n, size_t period)
{
    return an__add(an__add(an__mul(5, an__add(n, an__mul(2, period))), an__mul(3, n)), n / 2 + 1);
}

/* Whether seasonal and trend moved by less than tol of their previous
   range since the last pass (netlib stlez's test). */
static int an__stl_converged(const double *s, const double *t, const double *ps, const double *pt, size_t n, double tol)
{
    double smax = ps[0], smin = ps[0], tmax = pt[0], tmin = pt[0], ds = 0.0, dt = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        if (ps[i] > smax) smax = ps[i];
        if (ps[i] < smin) smin = ps[i];
        if (pt[i] > tmax) tmax = pt[i];
        if (pt[i] < tmin) tmin = pt[i];
        if (fabs(ps[i] - s[i]) > ds) ds = fabs(ps[i] - s[i]);
        if (fabs(pt[i] - t[i]) > dt) dt = fabs(pt[i] - t[i]);
    }
    return ds / (smax - smin) < tol && dt / (tmax - tmin) < tol;
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
    /* NOLINTBEGIN(bugprone-integer-division): the Fortran's half-widths are integer halves */
    if (len > n) h += (double)((len - n) / 2);
    line = degree > 0 && h > 0.0;
    if (!(kern && len < n && h == (double)(len / 2))) kern = NULL;
    /* NOLINTEND(bugprone-integer-division) */      /* ess fills it only then */
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
        /* NOLINTNEXTLINE(bugprone-integer-division): len / 2 is the integer half-width, as in an__stl_est */
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

/* an_stl_decompose_work without the alignment check: the library's own
   callers hand it doubles inside their larger work blocks. */
static an_result an__stl_decompose_work(const an_stl_config *config, const double *y, size_t n,
                                        double *seasonal, double *trend, double *remainder, double *weights,
                                        void *work)
{
    an_stl_config c;
    an_result r;
    size_t i, pass, k, np, m;
    double *w[5], *rw, *scratch, *kern, *prev;
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
    prev = kern + n / 2 + 1;
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
        if (c.tolerance > 0.0) {
            if (pass > 0 && an__stl_converged(seasonal, trend, prev, prev + n, n, c.tolerance)) break;
            memcpy(prev, seasonal, n * sizeof(double));
            memcpy(prev + n, trend, n * sizeof(double));
        }
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

AN_API an_result an_stl_decompose_work(const an_stl_config *config, const double *y, size_t n,
                                       double *seasonal, double *trend, double *remainder, double *weights,
                                       void *work)
{
    if (an__misaligned(work)) return AN_ERR_INVALID_ARG;
    return an__stl_decompose_work(config, y, n, seasonal, trend, remainder, weights, work);
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
    r = an__stl_decompose_work(config, y, n, seasonal, trend, remainder, weights, work);
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
        if (n == 0 || c->periods[i] > (n - 1) / 2) continue;          /* 2 period >= n: dropped */
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
    double *deseas = remainder, *fit_remainder = (double *)work, *stl_work;
    an_result r;
    if (an__misaligned(work)) return AN_ERR_INVALID_ARG;
    if (!y || !seasonal || !trend || !remainder || !work) return AN_ERR_INVALID_ARG;
    stl_work = fit_remainder + n;                 /* only once work is known to be there */
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
            if ((r = an__stl_decompose_work(&fit, deseas, n, s, trend, fit_remainder, NULL, stl_work)) != AN_OK)
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

/* The twiddle factors of an m-point FFT: tw[k] = cos(2 pi k / m) and
   tw[m/2 + k] = sin(2 pi k / m), k < m / 2, each from cos/sin directly
   (a recurrence would drift). */
static void an__fft_twiddles(double *tw, size_t m)
{
    size_t k;
    for (k = 0; k < m / 2; k++) {
        double angle = 2.0 * 3.14159265358979323846 * (double)k / (double)m;
        tw[k] = cos(angle);
        tw[m / 2 + k] = sin(angle);
    }
}

/* In-place radix-2 FFT of m (a power of two) complex values, re and im
   separate; sign -1 forward, +1 inverse (unscaled); tw from
   an__fft_twiddles(m). */
static void an__fft(double *re, double *im, size_t m, int sign, const double *tw)
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
        size_t step = m / len;
        half = len / 2;
        for (i = 0; i < m; i += len)             /* block by block: cache-friendly */
            for (k = 0; k < half; k++) {
                double wr = tw[k * step], wi = (double)sign * tw[m / 2 + k * step];
                double xr = re[i + k + half] * wr - im[i + k + half] * wi;
                double xi = re[i + k + half] * wi + im[i + k + half] * wr;
                re[i + k + half] = re[i + k] - xr;
                im[i + k + half] = im[i + k] - xi;
                re[i + k] += xr;
                im[i + k] += xi;
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

/* acf via FFT; work: scratch (3m): re, im and the twiddles. */
static an_result an__acf_work(const double *y, size_t n, size_t max_lag, double *acf, double *work)
{
    size_t m = an__acf_fft_length(n), i;
    double mean = 0.0, *re = work, *im = work + m, *tw = work + 2 * m;
    for (i = 0; i < n; i++) {
        if (!an__finite(y[i])) return AN_ERR_INPUT;
        mean += y[i];
    }
    mean /= (double)n;
    for (i = 0; i < m; i++) { re[i] = i < n ? y[i] - mean : 0.0; im[i] = 0.0; }
    an__fft_twiddles(tw, m);
    an__fft(re, im, m, -1, tw);
    for (i = 0; i < m; i++) { re[i] = re[i] * re[i] + im[i] * im[i]; im[i] = 0.0; }
    an__fft(re, im, m, 1, tw);
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
    if (n > SIZE_MAX / 16 / sizeof(double)) return AN_ERR_TOO_LARGE;
    m = an__acf_fft_length(n);
    bytes = 3 * m * sizeof(double);
    if (!(re = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an__acf_work(y, n, max_lag, acf, re);
    an_free(a, re, bytes);
    return r;
}

/* Whether lag k is a peak of the autocorrelation: a local maximum above
   min_acf that rises at least min_acf / 2 above the lowest value at a
   shorter lag (bumps on the decay of short-range correlation are not
   returns of it).  low: the minimum of acf[1..k-1]. */
static int an__acf_peak(const double *acf, size_t k, double low, double min_acf)
{
    return acf[k] > acf[k - 1] && acf[k] >= acf[k + 1] && acf[k] > min_acf && acf[k] - low >= 0.5 * min_acf;
}

/* The period the autocorrelation shows: its strongest peak (into
   *strongest), or the shortest peak that one is a whole multiple of
   (within one lag per cycle) at least half as high.  0 when there is no
   peak. */
static size_t an__acf_period(const double *acf, size_t max_lag, double min_acf, size_t *strongest)
{
    size_t k, best = 0, j;
    double low = acf[1];
    for (k = 2; k < max_lag; low = acf[k] < low ? acf[k] : low, k++)
        if (an__acf_peak(acf, k, low, min_acf) && (!best || acf[k] > acf[best])) best = k;
    *strongest = best;
    if (!best) return 0;
    for (j = 2, low = acf[1]; j < best; low = acf[j] < low ? acf[j] : low, j++) {
        size_t cycles = (best + j / 2) / j;
        size_t off = best > cycles * j ? best - cycles * j : cycles * j - best;
        if (an__acf_peak(acf, j, low, min_acf) && acf[j] >= 0.5 * acf[best] && cycles >= 2 && off <= cycles) return j;
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

/* Sum of |x - m| over x (n), m the median of x's phase at period p over
   the cycles: a season shows in most of its cycles, while a few disturbed
   cycles (a changed season on some days) move the means of their phases,
   not the medians, and weigh by their size, not its square.
   v: scratch (n / p + 1). */
static double an__cycle_abs_median(const double *x, size_t n, size_t p, double *v)
{
    double sum = 0.0;
    size_t q, i, c;
    for (q = 0; q < p; q++) {
        double med;
        for (c = 0, i = q; i < n; i += p) v[c++] = x[i];
        med = an__quantile_d(v, c, 0.5);
        for (i = q; i < n; i += p) sum += fabs(x[i] - med);
    }
    return sum;
}

/* An ACF peak sits off the true period: the peak of a smooth cycle is
   broad, so noise and a slower component (a weekly swing under a daily
   cycle, a trend the line did not take out) move it by several lags
   (285 for 288 on five days of 5-minute data), and a period one lag off
   puts the seasonal profile a lag further out of phase every cycle.  So
   the lags within p / 20 (at least 2) of the peak are tried on d, x less
   its centred moving average over p rows (what is slower than a cycle,
   as classical decomposition removes it; the rows within p / 2 of either
   end are left out), and the one whose cycle means leave the least
   variance per degree of freedom, SSE / (m - q), is the period.
     On five cycles that variance is a poor judge of one lag: one lag off
   leaves a few percent more than the true period (6% for a daily cycle
   of 288 rows, 10 noise sds high), and noise moves the difference as
   much, so one such series in ten came out a lag off.  Near the least,
   the excess is a parabola in the lag (k lags off leave k^2 times one
   lag's), and two or three lags off it stands far above the noise.  So
   the least moves to the vertex of the least-squares parabola through
   the variances at the 3 lags either side of it (rounded, at most 3
   lags away), and once more if it moved.
   d: scratch (n). */
#define AN__PERIOD_FIT ((size_t)3)
/* an_cycle_length reads at most this many cycles, of this many harmonics. */
#define AN__CYCLE_ROWS ((size_t)200)
#define AN__CYCLE_HARMONICS ((size_t)8)

/* x (n) less its centred moving average over p rows (an even p takes the
   2 x p average), the rows within p / 2 of either end left out, into d.
   Returns: the rows written. */
static size_t an__less_moving_average(const double *x, size_t n, size_t p, double *d)
{
    size_t half = p / 2, m, i;
    double sum = 0.0;
    for (i = 0; i < p; i++) sum += x[i];         /* sum: x[i - half .. i - half + p - 1] */
    for (m = 0, i = half; i + half < n; i++) {
        double mean = p % 2 ? sum / (double)p : (sum - 0.5 * x[i - half] + 0.5 * x[i + half]) / (double)p;
        d[m++] = x[i] - mean;
        if (i + p - half < n) sum += x[i + p - half] - x[i - half];
    }
    return m;
}

static size_t an__refine_period(const double *x, size_t n, size_t p, size_t max_period, double *d)
{
    size_t reach = p / 20 > 2 ? p / 20 : 2, m, q, best = p, pass;
    double best_var = HUGE_VAL, var;
    if (n < 3 * p) return p;                     /* too few cycles to tell lags apart */
    m = an__less_moving_average(x, n, p, d);
    for (q = p > reach + 2 ? p - reach : 2; q <= p + reach && q <= max_period && q < m; q++) {
        if (q != p && q % p == 0) continue;          /* a multiple always fits as well */
        var = an__cycle_sse(d, m, q) / (double)(m - q);
        if (var < best_var) { best = q; best_var = var; }
    }
    for (pass = 0; pass < 2; pass++) {           /* v = curve x^2 + slope x + c0, x = q - c */
        size_t c = best, k;
        double s2 = 0.0, s4 = 0.0, sy = 0.0, sxy = 0.0, sxxy = 0.0, points = 0.0, curve, slope, vertex;
        double fit = (double)AN__PERIOD_FIT;
        if (c < AN__PERIOD_FIT + 2 || c + AN__PERIOD_FIT > max_period || c + AN__PERIOD_FIT >= m) break;
        for (k = 0; k <= 2 * AN__PERIOD_FIT; k++) {
            double lag = (double)k - fit;
            q = c - AN__PERIOD_FIT + k;
            var = an__cycle_sse(d, m, q) / (double)(m - q);
            s2 += lag * lag, s4 += lag * lag * lag * lag, points += 1.0;
            sy += var, sxy += lag * var, sxxy += lag * lag * var;
        }
        /* the lags are symmetric: x and x^2 less its mean are orthogonal */
        curve = (sxxy - s2 / points * sy) / (s4 - s2 * s2 / points);
        slope = sxy / s2;
        if (!(curve > 0.0)) break;
        vertex = -slope / (2.0 * curve);
        if (vertex < -fit) vertex = -fit;
        if (vertex > fit) vertex = fit;
        best = c - AN__PERIOD_FIT + (size_t)floor(vertex + fit + 0.5);
        if (best == c) break;
    }
    return best;
}

/* p gives way to a divisor q near p / k (k up to 10, q >= 4: the lag
   within q / 20, at least 2, of p / k whose cycle medians leave the
   least) when q's cycle medians leave no more than p's do plus 5% of
   what the series' own median leaves (absolute deviations, each sum
   over n - q, its degrees of freedom): a few disturbed days make a
   multiple of the day the strongest peak and fill its cycle means, not
   its medians; and a multiple has more medians, each of fewer values,
   which sit closer to them for their number alone.  The shortest such q
   wins.
   scratch: n. */
static size_t an__shortest_season(const double *x, size_t n, size_t p, double *scratch)
{
    double need = an__cycle_abs_median(x, n, p, scratch) / (double)(n - p) +
                  0.05 * an__cycle_abs_median(x, n, 1, scratch) / (double)(n - 1);
    size_t k, best = p;
    for (k = 2; k <= 10 && p / k >= 4; k++) {
        size_t c = (p + k / 2) / k, reach = c / 20 > 2 ? c / 20 : 2, q, best_q = 0;
        double least = HUGE_VAL;
        for (q = c - reach; q <= c + reach; q++) {
            double left = an__cycle_abs_median(x, n, q, scratch) / (double)(n - q);
            if (left < least) least = left, best_q = q;
        }
        if (best_q < best && least <= need) best = best_q;
    }
    return best;
}

AN_API an_result an_detect_periods(const double *y, size_t n, size_t max_period, double min_acf, size_t *periods,
                                   size_t max_count, size_t *count, const an_allocator *a)
{
    size_t m, bytes, i, k, found = 0, max_lag;
    double *buf, *x, *acf, *re, st = 0.0, stt = 0.0, sy = 0.0, sty = 0.0, slope, icpt, total, nn = (double)n;
    an_result r = AN_OK;
    if (!y || !periods || !count || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (n < 8) return AN_ERR_TOO_SHORT;
    if (n > SIZE_MAX / 16 / sizeof(double)) return AN_ERR_TOO_LARGE;
    if (max_period == 0 || max_period > n / 3) max_period = n / 3;
    max_lag = max_period + 1;
    if (min_acf <= 0.0) min_acf = 2.0 / sqrt(nn) > 0.2 ? 2.0 / sqrt(nn) : 0.2;
    m = an__acf_fft_length(n);
    bytes = (3 * m + n + max_lag + 1) * sizeof(double);
    if (!(buf = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    re = buf;
    x = re + 3 * m;
    acf = x + n;
    for (i = 0; i < n; i++) {                        /* least-squares line */
        double t = (double)i;
        if (!an__finite(y[i])) { r = AN_ERR_INPUT; goto done; }
        st += t; stt += t * t; sy += y[i]; sty += t * y[i];
    }
    slope = (nn * sty - st * sy) / (nn * stt - st * st);
    icpt = (sy - slope * st) / nn;
    for (i = 0; i < n; i++) x[i] = y[i] - icpt - slope * (double)i;
    total = an__cycle_sse(y, n, 1);
    while (found < max_count) {
        size_t p, q, c, cand[2];
        double left = an__cycle_sse(x, n, 1);
        /* what is left must be more than rounding: a line (or a line of
           floats, whose rounding repeats) has no season */
        if (!(left > 1e-9 * total)) break;
        if ((r = an__acf_work(x, n, max_lag, acf, re)) != AN_OK) break;
        /* The shorter peak first (a day under a week); when it is no
           season or one found already, the strongest: two pulses 6 rows
           apart in each cycle of 100 (NAB's art_increase_spike_density)
           correlate at lag 6, whose cycle means explain nothing. */
        cand[0] = an__acf_period(acf, max_lag, min_acf, &cand[1]);
        for (c = 0, p = 0; c < 2 && !p; c++) {
            if (!cand[c] || (c == 1 && cand[1] == cand[0])) continue;
            p = an__shortest_season(x, n, an__refine_period(x, n, cand[c], max_period, re), re);
            for (k = 0; k < found; k++) /* the cycle means of a multiple took it out already */
                if (p && periods[k] % p == 0) p = 0;
            /* A real season explains at least 5% of what is left, beyond
               the 2p/n that p free means take from noise. */
            if (p && an__cycle_sse(x, n, p) > (0.95 - 2.0 * (double)p / nn) * left) p = 0;
        }
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

/* The power of x (n) at a cycle of c rows and its first `harmonics`
   harmonics: the sum over h of |sum_t x_t e^(-2 pi i h t / c)|^2, by
   Goertzel's recurrence. */
static double an__cycle_power(const double *x, size_t n, double c, size_t harmonics)
{
    double power = 0.0;
    size_t h, i;
    for (h = 1; h <= harmonics; h++) {
        double k = 2.0 * cos(2.0 * 3.14159265358979323846 * (double)h / c), s1 = 0.0, s2 = 0.0;
        for (i = 0; i < n; i++) {
            double s0 = x[i] + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        power += s1 * s1 + s2 * s2 - k * s1 * s2;
    }
    return power;
}

/* The length within `reach` rows of p whose power over x (n, whole
   cycles of p) is the largest, searched coarse to fine (see
   an_cycle_length); *significant (when not NULL): whether its harmonics
   remove 25 variances left more than p's do.  w: scratch (n). */
static double an__cycle_search(const double *x, size_t n, size_t p, size_t harmonics, double reach, double *w,
                               int *significant)
{
    double best = (double)p, best_power, whole_power, ss = 0.0, step, gain, left;
    size_t i, level;
    for (i = 0; i < n; i++) {                    /* Hann's window: the image of a strong season leaks */
        ss += x[i] * x[i];
        w[i] = x[i] * (0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * (double)i / (double)n));
    }
    /* a quarter of the narrowest main lobe without the window, the top
       harmonic's: c^2 / (h n) */
    step = (double)p * (double)p / (4.0 * (double)harmonics * (double)n);
    if (step > 0.05) step = 0.05;
    best_power = whole_power = an__cycle_power(w, n, best, harmonics);
    for (level = 0; level < 3; level++) {
        double centre = best;
        size_t k, steps = (size_t)ceil(reach / step);
        for (k = 0; k <= 2 * steps; k++) {
            double c = centre + ((double)k - (double)steps) * step, power;
            if (k == steps) continue;
            power = an__cycle_power(w, n, c, harmonics);
            if (power > best_power) best = c, best_power = power;
        }
        reach = step;                            /* then a fifth of the step around the best */
        step /= 5.0;
    }
    /* Through Hann's window a sinusoid's power is n / 8 times the sum of
       squares its fit removes. */
    gain = 8.0 * (best_power - whole_power) / (double)n;
    left = (ss - 8.0 * best_power / (double)n) / (double)(n - 2 * harmonics);
    if (significant) *significant = gain > 25.0 * left;
    return best;
}

AN_API an_result an_cycle_length(const double *y, size_t n, size_t p, double *cycle, const an_allocator *a)
{
    double reach, best, half[2], *d;
    size_t i, m, used, part, bytes, harmonics;
    int significant;
    if (cycle) *cycle = (double)p;
    if (!y || !cycle || p < 2 || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__finite(y[i])) return AN_ERR_INPUT;
    if (p < 8 || n < 7 * p) return AN_OK;       /* halves of 3 whole cycles after the average's ends */
    bytes = an__mul(an__mul(2, n), sizeof(double));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(d = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    m = an__less_moving_average(y, n, p, d);
    used = (m < AN__CYCLE_ROWS * p ? m : AN__CYCLE_ROWS * p) / p * p;  /* whole cycles: a part cycle leaks */
    part = used / 2 / p * p;
    harmonics = (p - 1) / 2 < AN__CYCLE_HARMONICS ? (p - 1) / 2 : AN__CYCLE_HARMONICS;
    reach = (double)p / 8.0 < 2.0 ? (double)p / 8.0 : 2.0;
    best = an__cycle_search(d, used, p, harmonics, reach, d + n, &significant);
    if (significant) {                           /* each half must say so too */
        half[0] = an__cycle_search(d, part, p, harmonics, reach, d + n, NULL);
        half[1] = an__cycle_search(d + used - part, part, p, harmonics, reach, d + n, NULL);
        for (i = 0; i < 2; i++) significant &= fabs(half[i] - best) < 0.5 * fabs(best - (double)p);
    }
    an_free(a, d, bytes);
    if (!significant) return AN_OK;
    if (fabs(best - floor(best + 0.5)) * (double)m / best < 0.5) best = floor(best + 0.5);
    *cycle = best;
    return AN_OK;
}

/* ==========================================================================
   3  DETECTORS
   ========================================================================== */

/* --------------------------------------------------------------------------
   3.1  Robust scores: IQR, MAD, STL + IQR
   -------------------------------------------------------------------------- */

/* The same quantile of sorted s (n). */
static double an__quantile_sorted(const double *s, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return s[n - 1];
    if (h == (double)lo) return s[lo];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

/* A robust band: scores are max(lo - x, x - hi) / spread. */
typedef struct an__band { double lo, hi, spread; } an__band;

/* The least spread a band between lo and hi may have. */
static double an__band_floor(double lo, double hi) { return 1e-9 * (1.0 + fabs(0.5 * (lo + hi))); }

static an__band an__band_make(an_robust_method method, double lo, double hi, double spread)
{
    an__band b;
    double floor_ = an__band_floor(lo, hi);
    b.lo = lo;
    b.hi = hi;
    b.spread = method == AN_ROBUST_MAD ? 1.482602218505602 * spread : spread;
    if (!(b.spread > floor_)) b.spread = floor_;
    return b;
}

#ifndef ANOMALY_NO_TRAINING
/* The band of v (n) (reordered); dev: scratch (n). */
static an__band an__band_of(an_robust_method method, double *v, size_t n, double *dev)
{
    double med, q1, q3;
    size_t i;
    if (method == AN_ROBUST_IQR) {
        q1 = an__quantile_d(v, n, 0.25);
        q3 = an__quantile_d(v, n, 0.75);
        return an__band_make(method, q1, q3, q3 - q1);
    }
    med = an__quantile_d(v, n, 0.5);
    for (i = 0; i < n; i++) dev[i] = fabs(v[i] - med);
    return an__band_make(method, med, med, an__quantile_d(dev, n, 0.5));
}
#endif

/* The first index of sorted s (n) whose value is >= v; the halving is
   written so that compilers make it branch-free (a conditional move), as
   the comparisons of a stream are unpredictable. */
static size_t an__lower_bound(const double *s, size_t n, double v)
{
    const double *base = s;
    if (n == 0) return 0;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half - 1] < v ? base + half : base;
        n -= half;
    }
    return (size_t)(base - s) + (*base < v);
}

/* The k-th smallest (0-based) deviation |s[i] - med| of sorted s (n),
   where s[j] is the first value >= med.  The deviations left of j, read
   outwards, ascend, and so do those from j on: the k-th of two sorted
   runs, found by bisecting how many come from the left run. */
static double an__kth_deviation(const double *s, size_t n, size_t j, double med, size_t k)
{
    size_t nb = n - j, lo = k + 1 > nb ? k + 1 - nb : 0, hi = k + 1 < j ? k + 1 : j;
    double a, b;
    while (lo < hi) {                       /* i from the left, k + 1 - i from the right */
        size_t i = lo + (hi - lo) / 2;
        if (med - s[j - 1 - i] < s[j + k - i] - med) lo = i + 1; else hi = i;
    }
    a = lo > 0 ? med - s[j - lo] : -HUGE_VAL;
    b = k + 1 > lo ? s[j + k - lo] - med : -HUGE_VAL;
    return a > b ? a : b;
}

/* The band of sorted s (n): the same numbers as an__band_of, in
   O(log n). */
static an__band an__band_of_sorted(an_robust_method method, const double *s, size_t n)
{
    double med, h, mad;
    size_t j, k;
    if (method == AN_ROBUST_IQR) {
        double q1 = an__quantile_sorted(s, n, 0.25), q3 = an__quantile_sorted(s, n, 0.75);
        return an__band_make(method, q1, q3, q3 - q1);
    }
    med = an__quantile_sorted(s, n, 0.5);
    j = an__lower_bound(s, n, med);
    h = (double)(n - 1) * 0.5;                /* the deviations' median, type 7 */
    k = (size_t)floor(h);
    mad = an__kth_deviation(s, n, j, med, k);
    if (h != (double)k) mad += (h - (double)k) * (an__kth_deviation(s, n, j, med, k + 1) - mad);
    return an__band_make(method, med, med, mad);
}

static double an__band_score(const an__band *b, double x)
{
    double s = (b->lo - x > x - b->hi ? b->lo - x : x - b->hi) / b->spread;
    if (s != s) return AN__SCORE_MAX;               /* x overflowed on the way: as far as can be */
    return s > AN__SCORE_MAX ? AN__SCORE_MAX : s < -AN__SCORE_MAX ? -AN__SCORE_MAX : s;
}

/* A rolling window of the last `w` values: a ring in arrival order and
   the same values sorted. */
typedef struct an__window { double *ring, *sorted; size_t count, head; } an__window;

static void an__window_push(an__window *win, size_t w, double v)
{
    double *s = win->sorted;
    size_t k, p;
    if (win->count < w) {                     /* filling: head stays 0 */
        win->ring[win->count] = v;
        k = an__lower_bound(s, win->count, v);
        memmove(s + k + 1, s + k, (win->count - k) * sizeof(double));
        s[k] = v;
        win->count++;
        return;
    }
    /* full: the oldest value leaves where the new one enters, so only the
       values between the two places move */
    k = an__lower_bound(s, w, win->ring[win->head]);
    p = an__lower_bound(s, w, v);
    if (p <= k) {
        memmove(s + p + 1, s + p, (k - p) * sizeof(double));
        s[p] = v;
    } else {
        memmove(s + k, s + k + 1, (p - 1 - k) * sizeof(double));
        s[p - 1] = v;
    }
    win->ring[win->head] = v;
    if (++win->head == w) win->head = 0;
}

static void an__window_copy(an__window *dst, const an__window *src, size_t w)
{
    memcpy(dst->ring, src->ring, w * sizeof(double));
    memcpy(dst->sorted, src->sorted, w * sizeof(double));
    dst->count = src->count;
    dst->head = src->head;
}

typedef struct an__robust {
    an_detector base;
    an_allocator alloc;
    an_robust_config config;
    size_t bytes;            /* of the one block holding all of this      */
    an__band *fit;           /* (F) the fit's bands                       */
    an__window *win[3];      /* (F) each: fitted (empty), live and scratch states */
} an__robust;

enum { AN__FITTED, AN__LIVE, AN__SCRATCH };

AN_API an_robust_config an_robust_config_init(an_robust_method method, size_t window)
{
    an_robust_config c;
    c.method = method;
    c.window = window;
    return c;
}

AN_API an_result an_robust_create(const an_robust_config *config, size_t n_features, const an_allocator *a,
                                  an_detector **out)
{
    an__layout l = { 0 };
    size_t o_fit, o_win, o_val, w, F = n_features, s, f;
    an_allocator alloc;
    an__robust *d;
    unsigned char *base;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!config || F == 0 || (config->method != AN_ROBUST_MAD && config->method != AN_ROBUST_IQR)) return AN_ERR_INVALID_ARG;
    if ((w = config->window) != 0 && w < 3) return AN_ERR_INVALID_ARG;
    if (w > AN_ROBUST_MAX_WINDOW) return AN_ERR_TOO_LARGE;   /* before a 48 TB request for 2^40 */
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    an__layout_add(&l, 1, sizeof(an__robust));
    o_fit = an__layout_add(&l, F, sizeof(an__band));
    o_win = an__layout_add(&l, an__mul(3, F), sizeof(an__window));
    o_val = an__layout_add(&l, an__mul(an__mul(6, F), w), sizeof(double));
    if (l.size == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(base = (unsigned char *)an_malloc(&alloc, l.size, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(base, 0, l.size);
    d = (an__robust *)base;
    d->base.vt = config->method == AN_ROBUST_MAD ? an_mad_type() : an_iqr_type();
    d->base.n_features = F;
    d->alloc = alloc;
    d->config = *config;
    d->bytes = l.size;
    d->fit = (an__band *)(base + o_fit);
    for (s = 0; s < 3; s++) {
        d->win[s] = (an__window *)(base + o_win) + s * F;
        for (f = 0; f < F; f++) {
            d->win[s][f].ring = (double *)(base + o_val) + (2 * (s * F + f)) * w;
            d->win[s][f].sorted = d->win[s][f].ring + w;
        }
    }
    *out = &d->base;
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__robust_fit(an_detector *self, const float *x, size_t n)
{
    an__robust *d = (an__robust *)self;
    size_t F = self->n_features, w = d->config.window, f, i, bytes;
    double *v;
    if (n < 3) return AN_ERR_TOO_SHORT;
    bytes = an__mul(an__mul(2, n), sizeof(double));
    if (!(v = (double *)an_malloc(&d->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (f = 0; f < F; f++) {
        an__window *win = &d->win[AN__FITTED][f];
        for (i = 0; i < n; i++) v[i] = x[i * F + f];
        d->fit[f] = an__band_of(d->config.method, v, n, v + n);
        if (!w) continue;
        win->count = win->head = 0;                               /* streams start at row 0 */
        an__window_copy(&d->win[AN__LIVE][f], win, w);
    }
    an_free(&d->alloc, v, bytes);
    return AN_OK;
}
#endif

/* The score of one row against state s, which then takes the row in. */
static an_result an__robust_step(an__robust *d, an__window *s, const float *row, float *score)
{
    size_t F = d->base.n_features, w = d->config.window, f;
    double best = -HUGE_VAL;
    for (f = 0; f < F; f++) {
        an__band b = d->fit[f];
        double v;
        if (w && s[f].count >= 3) b = an__band_of_sorted(d->config.method, s[f].sorted, s[f].count);
        v = an__band_score(&b, row[f]);
        if (v > best) best = v;
        if (w) an__window_push(&s[f], w, row[f]);
    }
    *score = (float)best;
    return AN_OK;
}

static an_result an__robust_push(an_detector *self, const float *row, float *score)
{
    an__robust *d = (an__robust *)self;
    return an__robust_step(d, d->win[AN__LIVE], row, score);
}

static an_result an__robust_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__robust *d = (an__robust *)self;
    size_t F = self->n_features, f, i;
    an_result r;
    if (d->config.window)
        for (f = 0; f < F; f++) an__window_copy(&d->win[AN__SCRATCH][f], &d->win[AN__FITTED][f], d->config.window);
    for (i = 0; i < n; i++)
        if ((r = an__robust_step(d, d->win[AN__SCRATCH], x + i * F, &scores[i])) != AN_OK) return r;
    return AN_OK;
}

static an_result an__robust_reset(an_detector *self)
{
    an__robust *d = (an__robust *)self;
    size_t f;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    if (d->config.window)
        for (f = 0; f < self->n_features; f++) an__window_copy(&d->win[AN__LIVE][f], &d->win[AN__FITTED][f], d->config.window);
    return AN_OK;
}

#define AN__TAG_ROBUST AN_TAG('R', 'B', 'S', 'T')

#ifndef ANOMALY_NO_TRAINING
/* Payload: method, window, F, the bands (3F), then per state (fitted,
   live) and feature: count, head, ring (window). */
static an_result an__robust_save(const an_detector *self, an_writer *w)
{
    const an__robust *d = (const an__robust *)self;
    size_t F = self->n_features, f, s;
    an_write_begin(w, AN__TAG_ROBUST);
    an_write_u32(w, (uint32_t)d->config.method);
    an_write_u64(w, d->config.window);
    an_write_u64(w, F);
    an_write_f64s(w, (const double *)d->fit, 3 * F);
    for (s = AN__FITTED; s <= AN__LIVE; s++)
        for (f = 0; d->config.window && f < F; f++) {
            an_write_u64(w, d->win[s][f].count);
            an_write_u64(w, d->win[s][f].head);
            an_write_f64s(w, d->win[s][f].ring, d->config.window);
        }
    return an_write_end(w);
}
#endif

static void an__robust_destroy(an_detector *self)
{
    an__robust *d = (an__robust *)self;
    an_allocator alloc = d->alloc;
    an_free(&alloc, d, d->bytes);
}

static an_result an__robust_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p;
    uint32_t method;
    size_t window, F, f, s, i, count, head;
    an_robust_config c;
    an__robust *d;
    an_result r;
    if ((r = an_reader_find(payload, AN__TAG_ROBUST, &p)) != AN_OK) return r;
    if ((r = an_read_u32(&p, &method)) != AN_OK) return r;
    if (method > AN_ROBUST_IQR) return AN_ERR_CORRUPT;
    if ((r = an_read_count(&p, 0, AN_ROBUST_MAX_WINDOW, &window)) != AN_OK) return r;
    if ((r = an_read_count(&p, 1, 1u << 20, &F)) != AN_OK) return r;
    if (window == 1 || window == 2) return AN_ERR_CORRUPT;
    if ((r = an_reader_need(&p, an__add(an__mul(3, F), window ? an__mul(an__mul(2, F), an__add(window, 2)) : 0), 8)) != AN_OK)
        return r;
    c = an_robust_config_init((an_robust_method)method, window);
    if ((r = an_robust_create(&c, F, a, out)) != AN_OK) return r;
    d = (an__robust *)*out;
    an_read_f64s(&p, (double *)d->fit, 3 * F);
    for (f = 0; f < F; f++)
        if (!an__finite(d->fit[f].lo) || !an__finite(d->fit[f].hi) || !(d->fit[f].spread > 0.0) ||
            !an__finite(d->fit[f].spread) || d->fit[f].lo > d->fit[f].hi)
            goto corrupt;
    for (s = AN__FITTED; s <= AN__LIVE; s++)
        for (f = 0; window && f < F; f++) {          /* the ring is read into scratch, then replayed */
            an__window *win = &d->win[s][f], *saved = &d->win[AN__SCRATCH][f];
            if (an_read_count(&p, 0, window, &count) != AN_OK || an_read_count(&p, 0, window - 1, &head) != AN_OK ||
                (count < window && head != 0))
                goto corrupt;
            an_read_f64s(&p, saved->ring, window);
            win->count = win->head = 0;
            for (i = 0; i < count; i++) {
                double v = saved->ring[(head + i) % window];
                if (!an__finite(v)) goto corrupt;
                an__window_push(win, window, v);
            }
        }
    return AN_OK;
corrupt:
    an__robust_destroy(*out);
    *out = NULL;
    return AN_ERR_CORRUPT;
}

static const an_detector_vtable an__mad_vtable = {
    AN_TAG('M', 'A', 'D', 'Z'), "mad", AN__TRAINING(an__robust_fit), an__robust_score, an__robust_push,
    an__robust_reset, AN__TRAINING(an__robust_save), an__robust_load, NULL, an__robust_destroy, NULL, NULL, NULL
};
static const an_detector_vtable an__iqr_vtable = {
    AN_TAG('I', 'Q', 'R', 'F'), "iqr", AN__TRAINING(an__robust_fit), an__robust_score, an__robust_push,
    an__robust_reset, AN__TRAINING(an__robust_save), an__robust_load, NULL, an__robust_destroy, NULL, NULL, NULL
};

AN_API const an_detector_vtable *an_mad_type(void) { return &an__mad_vtable; }
AN_API const an_detector_vtable *an_iqr_type(void) { return &an__iqr_vtable; }

/* ---- STL + IQR ----------------------------------------------------------- */

/* Per feature: the filter's constants and the residual quartiles. */
typedef struct an__hw_params {
    size_t period;               /* slots of the seasonal profile, 0 = no season */
    double cycle;                /* the season's length in rows, maybe fractional
                                    (an_cycle_length); period is it rounded */
    double step;                 /* slots a row moves the phase: period / cycle */
    double alpha, beta, gamma;   /* level, slope, season smoothing */
    size_t memory;               /* rows a level shift is remembered */
    an__band band;               /* Q1, Q3, IQR of training residuals */
    int flat;                    /* the training values were (nearly) one:
                                    the band widens with the live residuals
                                    (an__hw_band) */
    double tail;                 /* several features: the 99.9th percentile
                                    of the feature's training scores, at
                                    least 1, that its scores are divided by
                                    (an__stl_iqr_tail) */
} an__hw_params;

/* The filter's state: level, slope, the seasonal profile, the phase of
   the next point. */
typedef struct an__hw {
    double level, slope;
    size_t phase;                /* the next point's slot, */
    double frac;                 /* and how far it lies on to the next one */
    double *season;
    size_t run;                  /* residuals beyond one fence in a row */
    double run_sum;              /* their sum */
    double shift;                /* the level shifts of the last `memory` rows */
    size_t since;                /* rows since the last shift */
    double expected;             /* the forecast of the last step (NaN before one) */
    double live_abs;             /* flat feature: mean |residual| of the rows from its    */
    size_t live_n;               /* first departure since fit on, the last AN__FLAT_ROWS */
} an__hw;

/* A flat feature's residual spread follows the last this many rows. */
#define AN__FLAT_ROWS 500
/* The season learns from a row cleaned to within this many sigma of its
   forecast (Huber's psi at 2, as Gelper, Fried and Croux, J. Forecasting
   2010, clean a series for robust Holt-Winters). */
#define AN__HW_CLEAN 2.0

typedef struct an__stl_iqr {
    an_detector base;
    an_allocator alloc;
    an_stl_iqr_config config;
    size_t bytes;                /* of the block holding this, params and states */
    an__hw_params *params;       /* (F) */
    an__hw *state[3];            /* (F) each: fitted, live, scratch */
    double *seasons;             /* (3, sum of periods), allocated by fit or load */
    size_t seasons_bytes;
} an__stl_iqr;

AN_API an_stl_iqr_config an_stl_iqr_config_init(size_t period)
{
    an_stl_iqr_config c;
    c.period = period;
    c.day = 0;
    c.seasonal_window = 7;
    c.trend_window = 0;
    c.robust = 1;
    c.clip = 3.0;
    c.persist = 4;
    return c;
}

AN_API an_result an_stl_iqr_create(const an_stl_iqr_config *config, size_t n_features, const an_allocator *a,
                                   an_detector **out)
{
    an__layout l = { 0 };
    size_t o_par, o_st, s, F = n_features;
    an_allocator alloc;
    an__stl_iqr *d;
    unsigned char *base;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!config || F == 0 || config->period == 1 || config->seasonal_window < 3 || config->seasonal_window % 2 == 0 ||
        (config->trend_window && (config->trend_window < 3 || config->trend_window % 2 == 0)) ||
        !(config->clip > 0.0) || !an__finite(config->clip) || config->persist == 0)
        return AN_ERR_INVALID_ARG;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    an__layout_add(&l, 1, sizeof(an__stl_iqr));
    o_par = an__layout_add(&l, F, sizeof(an__hw_params));
    o_st = an__layout_add(&l, an__mul(3, F), sizeof(an__hw));
    if (l.size == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(base = (unsigned char *)an_malloc(&alloc, l.size, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(base, 0, l.size);
    d = (an__stl_iqr *)base;
    d->base.vt = an_stl_iqr_type();
    d->base.n_features = F;
    d->alloc = alloc;
    d->config = *config;
    d->bytes = l.size;
    d->params = (an__hw_params *)(base + o_par);
    for (s = 0; s < 3; s++) d->state[s] = (an__hw *)(base + o_st) + s * F;
    *out = &d->base;
    return AN_OK;
}

/* Room for the seasonal profiles of the periods in params, the three
   states' profiles pointed into it. */
static an_result an__stl_iqr_seasons(an__stl_iqr *d)
{
    size_t F = d->base.n_features, total = 0, f, s, at;
    for (f = 0; f < F; f++) total = an__add(total, d->params[f].period);
    an_free(&d->alloc, d->seasons, d->seasons_bytes);
    d->seasons = NULL;
    d->seasons_bytes = 0;
    if (total) {
        size_t bytes = an__mul(an__mul(3, total), sizeof(double));
        if (!(d->seasons = (double *)an_malloc(&d->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
        d->seasons_bytes = bytes;
    }
    for (s = 0, at = 0; s < 3; s++)
        for (f = 0; f < F; f++) {
            d->state[s][f].season = d->params[f].period ? d->seasons + at : NULL;
            at += d->params[f].period;
        }
    return AN_OK;
}

static void an__hw_copy(an__hw *dst, const an__hw *src, size_t period)
{
    double *season = dst->season;
    *dst = *src;
    dst->season = season;
    if (period) memcpy(season, src->season, period * sizeof(double));
}

/* One point through the filter: returns the residual's score and learns
   from the point.  A residual beyond the fences (clip IQR past the
   quartiles) teaches nothing: the level only moves on by the slope.
   `persist` such residuals in a row on one side are a level shift: the
   level moves by their mean.  A shift is remembered for one cycle (the
   trend window without a season): a point beyond the fences that the
   level before the shift would have fitted is a return, and the level
   goes back at once instead of being flagged as a second shift. */
/* The band a residual is judged by.  A flat feature (its training
   values were nearly one: a constant, a stuck sensor) has a training
   band of no width or next to none, so on its own any departure would
   be an outlier for ever.  Its spread is the larger of the training
   one and sigma, the standard deviation of the residuals since the
   first departure after fit (a residual past the band by more than its
   spread; sigma = 1.2533 times their mean absolute value, as for a
   normal variable, over the last AN__FLAT_ROWS rows), and its fences
   then lie 4 sigma out: the first departure from the constant is news,
   and a stream that goes on with noise of its own is then judged on
   that noise's scale. */
static an__band an__hw_band(const an__hw_params *p, const an__hw *s)
{
    an__band b = p->band;
    double sigma = 1.2533141373155 * s->live_abs;
    if (p->flat && sigma > b.spread) {
        b.lo -= 4.0 * sigma;
        b.hi += 4.0 * sigma;
        b.spread = sigma;
    }
    return b;
}

/* The residual of x against the forecast base + season, where base is
   level + slope.  A feature read as floats carries about 1e-7 of its
   magnitude in rounding, and the forecast adds its own: a series with no
   noise at all (a perfect square wave) leaves residuals of 1e-13 that,
   ranked as if they were noise, made 398 of its 4,032 rows "anomalies".
   A residual within AN__ROUNDING (about two float ulps) of the largest
   magnitude in play, |x| or |base| + |season|, is 0. */
static double an__hw_residual(double x, double base, double season)
{
    double r = x - (base + season), m = fabs(base) + fabs(season);
    if (fabs(x) > m) m = fabs(x);
    return fabs(r) <= AN__ROUNDING * m ? 0.0 : r;
}

/* The season at the next point: its slot's value, or where the cycle is
   no whole number of rows, the line between its slot and the next. */
static double an__hw_season(const an__hw_params *p, const an__hw *s)
{
    if (!p->period) return 0.0;
    if (s->frac == 0.0) return s->season[s->phase];
    return (1.0 - s->frac) * s->season[s->phase] + s->frac * s->season[s->phase + 1 < p->period ? s->phase + 1 : 0];
}

static double an__hw_step(const an__hw_params *p, size_t persist, an__hw *s, double x, double clip)
{
    double season = an__hw_season(p, s), base = s->level + s->slope, forecast = base + season, frac = s->frac;
    an__band band = an__hw_band(p, s);
    double r = an__hw_residual(x, base, season), lo = band.lo - clip * band.spread, hi = band.hi + clip * band.spread;
    double score, level;
    size_t at = s->phase;
    int outside = r < lo || r > hi;
    s->expected = forecast;
    if (s->since < p->memory) s->since++;
    if (outside && s->shift != 0.0 && s->since < p->memory && r + s->shift >= lo && r + s->shift <= hi) {
        r += s->shift;                           /* a return to the level before the shift */
        s->level -= s->shift;
        s->shift = 0.0;
        outside = 0;
    }
    score = an__band_score(&band, r);
    if (p->flat && (s->live_n || r < p->band.lo - p->band.spread || r > p->band.hi + p->band.spread)) {
        /* from the first departure on, each row counted after its score:
           a row does not judge itself */
        if (s->live_n < AN__FLAT_ROWS) s->live_n++;
        s->live_abs += (fabs(r) - s->live_abs) / (double)s->live_n;
        if (!(s->live_abs < 1e300)) s->live_abs = 1e300;
    }
    if (p->period) {
        s->frac += p->step;
        while (s->frac >= 1.0) {
            s->frac -= 1.0;
            s->phase = s->phase + 1 < p->period ? s->phase + 1 : 0;
        }
    }
    if (outside) {
        if (s->run && (r > hi) != (s->run_sum > 0.0)) s->run = 0, s->run_sum = 0.0;
        s->run++;
        s->run_sum += r;
        s->level += s->slope;
        if (s->run >= persist) {                 /* a shift: the level follows */
            double jump = s->run_sum / (double)s->run;
            s->level += jump;
            s->shift = (s->since < p->memory ? s->shift : 0.0) + jump;
            s->since = 0;
            s->run = 0, s->run_sum = 0.0;
        }
        return score;
    }
    s->run = 0, s->run_sum = 0.0;
    level = p->alpha * (x - season) + (1.0 - p->alpha) * (s->level + s->slope);
    s->slope = p->beta * (level - s->level) + (1.0 - p->beta) * s->slope;
    s->level = level;
    if (p->period) {
        /* A row inside the fences may still be a changed season (a day
           read slowly, out of phase): taken whole, a quarter of it stays
           in the profile and the next cycle is judged against it.  Cleaned
           to 2 sigma, 19 normal rows in 20 teach as before and a disturbed
           cycle moves the profile by at most gamma 2 sigma. */
        double c = AN__HW_CLEAN * band.spread / 1.349, cleaned = x - r + (r > c ? c : r < -c ? -c : r);
        if (frac == 0.0) {
            s->season[at] = p->gamma * (cleaned - level) + (1.0 - p->gamma) * season;
        } else {                                 /* between two slots: each learns by its weight */
            double e = p->gamma * (cleaned - level - season);
            s->season[at] += (1.0 - frac) * e;
            s->season[at + 1 < p->period ? at + 1 : 0] += frac * e;
        }
    }
    return score;
}

#ifndef ANOMALY_NO_TRAINING
/* Whether training values y (n) are flat: their range at most 1e-3 of
   1 + |their midrange|. */
static int an__hw_flat(const double *y, size_t n)
{
    double lo = y[0], hi = y[0];
    size_t i;
    for (i = 1; i < n; i++) {
        if (y[i] < lo) lo = y[i];
        if (y[i] > hi) hi = y[i];
    }
    return hi - lo <= 1e-3 * (1.0 + fabs(0.5 * (lo + hi)));
}

/* The band of residuals res (n, reordered): their quartiles and IQR, or
   the spread of their 10th and 90th percentiles where one value holds
   most of them (see the header).  dev: scratch (n). */
static an__band an__stl_iqr_band(double *res, size_t n, double *dev)
{
    an__band b = an__band_of(AN_ROBUST_IQR, res, n, dev);
    double wide = (an__quantile_d(res, n, 0.9) - an__quantile_d(res, n, 0.1)) * (1.349 / 2.5631);
    if (4.0 * b.spread < wide) b.spread = wide;
    return b;
}

/* Fit one feature y (n) whose period is set: STL, the filter's start,
   and the quartiles of the residuals the filter makes over y.
   work: (4n) doubles plus STL's scratch. */
static an_result an__stl_iqr_fit_feature(an__stl_iqr *d, size_t f, const double *y, size_t n, double *work)
{
    an__hw_params *p = &d->params[f];
    an__hw *s = &d->state[AN__FITTED][f];
    double *seasonal = work, *trend = work + n, *rem = work + 2 * n, *res = work + 3 * n, a;
    size_t i, tw = d->config.trend_window;
    an_stl_config c;
    an_result r;
    p->flat = 0;                                                 /* not in the filter's own fit */
    p->step = p->period ? (double)p->period / p->cycle : 1.0;
    if (p->period) {
        c = an_stl_config_init(p->period, d->config.seasonal_window, d->config.robust);
        c.trend_window = tw;
        if ((r = an_stl_resolve(&c, n, &c)) != AN_OK) return r;
        if ((r = an__stl_decompose_work(&c, y, n, seasonal, trend, rem, NULL, work + 4 * n)) != AN_OK) return r;
        /* The filter's level and slope over half a cycle, but no fewer
           than 49 rows and no more than STL's trend window (about two
           cycles).  One-sided smoothing over two cycles lags a slow swing
           (a weekly one under a daily cycle) by two noise sds and more,
           which the fences then flag; over half a cycle the lag is a tenth
           of that.  Fewer than 49 rows pass more noise into the forecast
           (its sd 3% over the noise's at 49 rows, 10% at 13). */
        if ((p->period + 1) / 2 > 49) tw = (p->period + 1) / 2 | 1;
        else tw = 49;
        if (tw > c.trend_window) tw = c.trend_window;
        for (i = 0; i < n; i++) res[i] = rem[i];
    } else {
        if (!tw) tw = 25;
        for (i = 0; i < n; i++) {                                /* no season: a flat start */
            trend[i] = y[0];
            res[i] = i ? y[i] - y[i - 1] : 0.0;
        }
    }
    a = 2.0 / ((double)tw + 1.0);
    p->alpha = a * (2.0 - a);                                    /* Brown's double smoothing */
    p->beta = a / (2.0 - a);
    p->gamma = 2.0 / ((double)d->config.seasonal_window + 1.0);
    p->memory = p->period ? p->period : tw;
    p->band = an__band_of(AN_ROBUST_IQR, res, n, rem);          /* provisional fences */
    s->level = trend[0];
    s->slope = p->period ? (trend[p->period] - trend[0]) / (double)p->period : 0.0;
    s->phase = 0;
    s->frac = 0.0;
    s->run = s->since = 0;
    s->run_sum = s->shift = s->live_abs = 0.0;
    s->live_n = 0;
    s->expected = (double)NAN;
    for (i = 0; i < p->period; i++) {                            /* slot i lies at row i / step */
        double t = (double)i / p->step, w = t - floor(t);
        size_t at = (size_t)t;
        s->season[i] = w > 0.0 && at + 1 < n ? (1.0 - w) * seasonal[at] + w * seasonal[at + 1] : seasonal[at];
    }
    an__hw_copy(&d->state[AN__LIVE][f], s, p->period);          /* streams start at row 0 */
    s = &d->state[AN__SCRATCH][f];
    an__hw_copy(s, &d->state[AN__FITTED][f], p->period);
    for (i = 0; i < n; i++) {                                    /* the residuals the filter makes */
        res[i] = an__hw_residual(y[i], s->level + s->slope, an__hw_season(p, s));
        an__hw_step(p, d->config.persist, s, y[i], d->config.clip);
    }
    p->band = an__stl_iqr_band(res, n, rem);
    p->flat = an__hw_flat(y, n);
    return AN_OK;
}

/* Feature f's tail (several features; see the header): the 99.9th
   percentile of the scores its fitted filter makes over its training
   values y (n), at least 1.  scores: (n) doubles of scratch. */
static void an__stl_iqr_tail(an__stl_iqr *d, size_t f, const double *y, size_t n, double *scores)
{
    an__hw_params *p = &d->params[f];
    an__hw *s = &d->state[AN__SCRATCH][f];
    size_t i;
    double q;
    an__hw_copy(s, &d->state[AN__FITTED][f], p->period);
    for (i = 0; i < n; i++) scores[i] = an__hw_step(p, d->config.persist, s, y[i], d->config.clip);
    q = an__select_d(scores, n, (size_t)(0.999 * (double)(n - 1)));
    p->tail = q > 1.0 ? q : 1.0;
}

/* Of the periods found (ascending), the longest that holds the shorter
   ones: each taken must be a whole number m of the last taken, within m
   lags (a week of 2016 holds days of 288, of 287 too), so a period beside
   the day (a 376 from a few disturbed days) does not replace it.
   Returns: 0 when none was found. */
static size_t an__nested_period(const size_t *found, size_t count)
{
    size_t i, best = count ? found[0] : 0;
    for (i = 1; i < count; i++) {
        size_t m = (found[i] + best / 2) / best, off = found[i] > m * best ? found[i] - m * best : m * best - found[i];
        if (m >= 2 && off <= m) best = found[i];
    }
    return best;
}

/* A period p found, taken as the day or the week where it lies within a
   twentieth of one (at least 2 rows; see the header); day 0: p as
   found.  p is at most a third of the rows, so the day or week taken
   still fits twice in them, as STL needs. */
static size_t an__calendar_period(size_t p, size_t day)
{
    size_t k;
    for (k = 0; p && day >= 2 && day <= SIZE_MAX / 7 && k < 2; k++) {
        size_t cycle = k ? 7 * day : day, reach = cycle / 20 > 2 ? cycle / 20 : 2;
        if (p + reach >= cycle && p <= cycle + reach) return cycle;
    }
    return p;
}

static an_result an__stl_iqr_fit(an_detector *self, const float *x, size_t n)
{
    an__stl_iqr *d = (an__stl_iqr *)self;
    size_t F = self->n_features, f, i, count, found[4], max_period = 0, stl_bytes = 0, bytes;
    double *work;
    an_stl_config c;
    an_result r = AN_OK;
    if (n < 8) return AN_ERR_TOO_SHORT;
    bytes = an__mul(an__mul(5, n), sizeof(double));
    if (!(work = (double *)an_malloc(&d->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (f = 0; f < F && r == AN_OK; f++) {                      /* the periods */
        an__hw_params *p = &d->params[f];
        size_t day = d->config.day;
        p->period = d->config.period;
        p->cycle = (double)p->period;
        if (d->config.period) {
            if (n <= 2 * d->config.period) r = AN_ERR_TOO_SHORT;
            continue;
        }
        for (i = 0; i < n; i++) work[i] = x[i * F + f];
        r = an_detect_periods(work, n, 0, 0, found, 4, &count, &d->alloc);
        if (r == AN_ERR_INPUT) r = AN_OK, count = 0;              /* a constant feature */
        p->period = an__calendar_period(an__nested_period(found, count), day);
        p->cycle = (double)p->period;
        /* a period found, not the calendar's: its length to a fraction of a row */
        if (r == AN_OK && p->period && p->period != day && p->period != 7 * day &&
            (r = an_cycle_length(work, n, p->period, &p->cycle, &d->alloc)) == AN_OK)
            p->period = (size_t)floor(p->cycle + 0.5);
    }
    for (f = 0; f < F; f++)
        if (d->params[f].period > max_period) max_period = d->params[f].period;
    if (r == AN_OK && max_period) {
        c = an_stl_config_init(max_period, d->config.seasonal_window, d->config.robust);
        r = an_stl_work_size(&c, n, &stl_bytes);
    }
    an_free(&d->alloc, work, bytes);
    if (r != AN_OK) return r;
    if ((r = an__stl_iqr_seasons(d)) != AN_OK) return r;
    bytes = an__add(an__mul(an__mul(5, n), sizeof(double)), stl_bytes);
    if (!(work = (double *)an_malloc(&d->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (f = 0; f < F && r == AN_OK; f++) {                      /* work: y, then the feature's */
        for (i = 0; i < n; i++) work[i] = x[i * F + f];
        r = an__stl_iqr_fit_feature(d, f, work, n, work + n);
        if (r == AN_OK && F > 1) an__stl_iqr_tail(d, f, work, n, work + n);
    }
    an_free(&d->alloc, work, bytes);
    return r;
}
#endif

static an_result an__stl_iqr_step(an__stl_iqr *d, an__hw *s, const float *row, float *score)
{
    size_t F = d->base.n_features, f;
    double best = -HUGE_VAL;
    for (f = 0; f < F; f++) {
        double v = an__hw_step(&d->params[f], d->config.persist, &s[f], row[f], d->config.clip);
        if (F > 1) v /= d->params[f].tail;
        if (v > best) best = v;
    }
    *score = (float)best;
    return AN_OK;
}

static an_result an__stl_iqr_push(an_detector *self, const float *row, float *score)
{
    an__stl_iqr *d = (an__stl_iqr *)self;
    return an__stl_iqr_step(d, d->state[AN__LIVE], row, score);
}

static an_result an__stl_iqr_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__stl_iqr *d = (an__stl_iqr *)self;
    size_t F = self->n_features, f, i;
    an_result r;
    for (f = 0; f < F; f++) an__hw_copy(&d->state[AN__SCRATCH][f], &d->state[AN__FITTED][f], d->params[f].period);
    for (i = 0; i < n; i++)
        if ((r = an__stl_iqr_step(d, d->state[AN__SCRATCH], x + i * F, &scores[i])) != AN_OK) return r;
    return AN_OK;
}

static an_result an__stl_iqr_reset(an_detector *self)
{
    an__stl_iqr *d = (an__stl_iqr *)self;
    size_t f;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    for (f = 0; f < self->n_features; f++) an__hw_copy(&d->state[AN__LIVE][f], &d->state[AN__FITTED][f], d->params[f].period);
    return AN_OK;
}

AN_API an_result an_stl_iqr_period(const an_detector *self, size_t feature, size_t *period)
{
    if (period) *period = 0;
    if (!self || self->vt != an_stl_iqr_type() || !period || feature >= self->n_features) return AN_ERR_INVALID_ARG;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    *period = ((const an__stl_iqr *)self)->params[feature].period;
    return AN_OK;
}

AN_API an_result an_stl_iqr_cycle(const an_detector *self, size_t feature, double *cycle)
{
    if (cycle) *cycle = 0.0;
    if (!self || self->vt != an_stl_iqr_type() || !cycle || feature >= self->n_features) return AN_ERR_INVALID_ARG;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    *cycle = ((const an__stl_iqr *)self)->params[feature].cycle;
    return AN_OK;
}

AN_API an_result an_stl_iqr_flat(const an_detector *self, size_t feature, int *flat)
{
    if (flat) *flat = 0;
    if (!self || self->vt != an_stl_iqr_type() || !flat || feature >= self->n_features) return AN_ERR_INVALID_ARG;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    *flat = ((const an__stl_iqr *)self)->params[feature].flat;
    return AN_OK;
}

AN_API an_result an_stl_iqr_expected(const an_detector *self, double *expected)
{
    const an__stl_iqr *d = (const an__stl_iqr *)self;
    size_t f;
    if (!self || self->vt != an_stl_iqr_type() || !expected) return AN_ERR_INVALID_ARG;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    for (f = 0; f < self->n_features; f++) {
        const an__hw *s = &d->state[AN__LIVE][f];
        expected[f] = s->level + s->slope + an__hw_season(&d->params[f], s);
    }
    return AN_OK;
}

/* The detector contract's expectation: the forecast each feature's
   filter made for the row last pushed. */
static an_result an__stl_iqr_last(an_detector *self, double *expected)
{
    const an__stl_iqr *d = (const an__stl_iqr *)self;
    size_t f;
    for (f = 0; f < self->n_features; f++) expected[f] = d->state[AN__LIVE][f].expected;
    return AN_OK;
}

#define AN__TAG_STL_IQR  AN_TAG('S', 'T', 'I', 'Q')
#define AN__TAG_STL_FLAT AN_TAG('S', 'T', 'F', 'L')
#define AN__TAG_STL_TAIL AN_TAG('S', 'T', 'T', 'L')
#define AN__TAG_STL_CYCLE AN_TAG('S', 'T', 'C', 'Y')

#ifndef ANOMALY_NO_TRAINING
/* Payload: the configuration, F, then per feature its period, alpha,
   beta, gamma, memory, band, and the fitted and live states (level,
   slope, phase, run, run sum, shift, rows since, season).  Then a
   chunk 'STFL': per feature u32 flat, then the live state's mean
   |residual| and its row count, which a flat feature's band follows
   (files without it load with no feature flat).  With several features,
   a chunk 'STTL': per feature its tail, f64 (files without it load with
   every tail 1, the scores of the files' time).  Where a feature's cycle
   is fractional, a chunk 'STCY': per feature its cycle, f64, then the
   fitted and the live state's frac (files without it load with every
   cycle its period). */
static an_result an__stl_iqr_save(const an_detector *self, an_writer *w)
{
    const an__stl_iqr *d = (const an__stl_iqr *)self;
    size_t f, s;
    an_result r;
    an_write_begin(w, AN__TAG_STL_IQR);
    an_write_u64(w, d->config.period);
    an_write_u64(w, d->config.seasonal_window);
    an_write_u64(w, d->config.trend_window);
    an_write_u32(w, (uint32_t)(d->config.robust != 0));
    an_write_f64(w, d->config.clip);
    an_write_u64(w, d->config.persist);
    an_write_u64(w, self->n_features);
    for (f = 0; f < self->n_features; f++) {
        const an__hw_params *p = &d->params[f];
        an_write_u64(w, p->period);
        an_write_f64(w, p->alpha);
        an_write_f64(w, p->beta);
        an_write_f64(w, p->gamma);
        an_write_u64(w, p->memory);
        an_write_f64s(w, (const double *)&p->band, 3);
        for (s = AN__FITTED; s <= AN__LIVE; s++) {
            const an__hw *h = &d->state[s][f];
            an_write_f64(w, h->level);
            an_write_f64(w, h->slope);
            an_write_u64(w, h->phase);
            an_write_u64(w, h->run);
            an_write_f64(w, h->run_sum);
            an_write_f64(w, h->shift);
            an_write_u64(w, h->since);
            an_write_f64s(w, h->season, p->period);
        }
    }
    an_write_end(w);
    an_write_begin(w, AN__TAG_STL_FLAT);
    for (f = 0; f < self->n_features; f++) {
        an_write_u32(w, (uint32_t)d->params[f].flat);
        an_write_f64(w, d->state[AN__LIVE][f].live_abs);
        an_write_u64(w, d->state[AN__LIVE][f].live_n);
    }
    if ((r = an_write_end(w)) != AN_OK) return r;
    if (self->n_features > 1) {
        an_write_begin(w, AN__TAG_STL_TAIL);
        for (f = 0; f < self->n_features; f++) an_write_f64(w, d->params[f].tail);
        if ((r = an_write_end(w)) != AN_OK) return r;
    }
    for (f = 0; f < self->n_features && d->params[f].cycle == (double)d->params[f].period; f++) {}
    if (f == self->n_features) return AN_OK;                     /* every cycle whole: files as before */
    an_write_begin(w, AN__TAG_STL_CYCLE);
    for (f = 0; f < self->n_features; f++) {
        an_write_f64(w, d->params[f].cycle);
        an_write_f64(w, d->state[AN__FITTED][f].frac);
        an_write_f64(w, d->state[AN__LIVE][f].frac);
    }
    return an_write_end(w);
}
#endif

static void an__stl_iqr_destroy(an_detector *self)
{
    an__stl_iqr *d = (an__stl_iqr *)self;
    an_allocator alloc = d->alloc;
    an_free(&alloc, d->seasons, d->seasons_bytes);
    an_free(&alloc, d, d->bytes);
}

static int an__unit_interval(double v) { return v > 0.0 && v <= 1.0; }

static an_result an__stl_iqr_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p, q;
    an_stl_iqr_config c;
    uint32_t robust;
    size_t F, f, s, i;
    an__stl_iqr *d;
    an_result r;
    if ((r = an_reader_find(payload, AN__TAG_STL_IQR, &p)) != AN_OK) return r;
    c = an_stl_iqr_config_init(0);
    if ((r = an_read_count(&p, 0, 1u << 24, &c.period)) != AN_OK || (r = an_read_count(&p, 3, 1u << 24, &c.seasonal_window)) != AN_OK ||
        (r = an_read_count(&p, 0, 1u << 24, &c.trend_window)) != AN_OK || (r = an_read_u32(&p, &robust)) != AN_OK ||
        (r = an_read_f64(&p, &c.clip)) != AN_OK || (r = an_read_count(&p, 1, 1u << 24, &c.persist)) != AN_OK ||
        (r = an_read_count(&p, 1, 1u << 20, &F)) != AN_OK)
        return r;
    c.robust = robust != 0;
    if ((r = an_reader_need(&p, F, (size_t)22 * 8)) != AN_OK) return r;   /* each feature's record, without its seasons */
    if ((r = an_stl_iqr_create(&c, F, a, out)) != AN_OK) return r == AN_ERR_INVALID_ARG ? AN_ERR_CORRUPT : r;
    d = (an__stl_iqr *)*out;
    /* the periods first, to size the profiles; then everything */
    for (q = p, f = 0; f < F; f++) {
        an__hw_params *hp = &d->params[f];
        if (an_read_count(&q, 0, 1u << 24, &hp->period) != AN_OK || hp->period == 1 ||
            an_reader_need(&q, an__add(an__mul(2, an__add(hp->period, 7)), 7), 8) != AN_OK)
            goto corrupt;
        q.pos += 8 * (7 + 2 * (hp->period + 7));
    }
    if ((r = an__stl_iqr_seasons(d)) != AN_OK) { an__stl_iqr_destroy(*out); *out = NULL; return r; }
    for (f = 0; f < F; f++) {
        an__hw_params *hp = &d->params[f];
        p.pos += 8;                                               /* the period, read above */
        an_read_f64(&p, &hp->alpha);
        an_read_f64(&p, &hp->beta);
        an_read_f64(&p, &hp->gamma);
        if (an_read_count(&p, 1, SIZE_MAX, &hp->memory) != AN_OK) goto corrupt;
        an_read_f64s(&p, (double *)&hp->band, 3);
        if (!an__unit_interval(hp->alpha) || !an__unit_interval(hp->beta) || !an__unit_interval(hp->gamma) ||
            !an__finite(hp->band.lo) || !an__finite(hp->band.hi) || hp->band.lo > hp->band.hi ||
            !an__finite(hp->band.spread) || !(hp->band.spread > 0.0))
            goto corrupt;
        for (s = AN__FITTED; s <= AN__LIVE; s++) {
            an__hw *h = &d->state[s][f];
            uint64_t phase;
            an_read_f64(&p, &h->level);
            an_read_f64(&p, &h->slope);
            an_read_u64(&p, &phase);
            if (an_read_count(&p, 0, c.persist - 1, &h->run) != AN_OK) goto corrupt;
            an_read_f64(&p, &h->run_sum);
            an_read_f64(&p, &h->shift);
            if (an_read_count(&p, 0, hp->memory, &h->since) != AN_OK) goto corrupt;
            an_read_f64s(&p, h->season, hp->period);
            /* values a filter could have reached: far from overflow */
            if (!(fabs(h->level) < 1e300) || !(fabs(h->slope) < 1e300) || phase >= (hp->period ? hp->period : 1) ||
                !(fabs(h->run_sum) < 1e300) || !(fabs(h->shift) < 1e300))
                goto corrupt;
            h->phase = (size_t)phase;
            h->frac = 0.0;
            h->expected = (double)NAN;
            for (i = 0; i < hp->period; i++)
                if (!(fabs(h->season[i]) < 1e300)) goto corrupt;
        }
    }
    for (f = 0; f < F; f++) {
        d->params[f].tail = 1.0;
        d->params[f].cycle = (double)d->params[f].period;
        d->params[f].step = 1.0;
    }
    if (an_reader_find(payload, AN__TAG_STL_CYCLE, &q) == AN_OK) {
        if (an_reader_need(&q, F, 24) != AN_OK) goto corrupt;
        for (f = 0; f < F; f++) {
            an__hw_params *hp = &d->params[f];
            an_read_f64(&q, &hp->cycle);
            an_read_f64(&q, &d->state[AN__FITTED][f].frac);
            an_read_f64(&q, &d->state[AN__LIVE][f].frac);
            /* a cycle rounds to its period, and a phase lies before the next slot */
            if (!(fabs(hp->cycle - (double)hp->period) <= 0.5) || (hp->period && hp->cycle < 2.0) ||
                !(d->state[AN__FITTED][f].frac >= 0.0 && d->state[AN__FITTED][f].frac < 1.0) ||
                !(d->state[AN__LIVE][f].frac >= 0.0 && d->state[AN__LIVE][f].frac < 1.0))
                goto corrupt;
            hp->step = hp->period ? (double)hp->period / hp->cycle : 1.0;
        }
    }
    if (F > 1 && an_reader_find(payload, AN__TAG_STL_TAIL, &q) == AN_OK) {
        if (an_reader_need(&q, F, 8) != AN_OK) goto corrupt;
        for (f = 0; f < F; f++) {
            an_read_f64(&q, &d->params[f].tail);
            if (!(d->params[f].tail >= 1.0 && d->params[f].tail < 1e300)) goto corrupt;
        }
    }
    if (an_reader_find(payload, AN__TAG_STL_FLAT, &q) == AN_OK) {
        if (an_reader_need(&q, F, 20) != AN_OK) goto corrupt;
        for (f = 0; f < F; f++) {
            an__hw *h = &d->state[AN__LIVE][f];
            uint32_t flat;
            an_read_u32(&q, &flat);
            an_read_f64(&q, &h->live_abs);
            d->params[f].flat = flat != 0;
            if (flat > 1 || !(h->live_abs >= 0.0 && h->live_abs <= 1e300) ||
                an_read_count(&q, 0, AN__FLAT_ROWS, &h->live_n) != AN_OK)
                goto corrupt;
        }
    }
    return AN_OK;
corrupt:
    an__stl_iqr_destroy(*out);
    *out = NULL;
    return AN_ERR_CORRUPT;
}

static const an_detector_vtable an__stl_iqr_vtable = {
    AN_TAG('S', 'T', 'L', 'Q'), "stl-iqr", AN__TRAINING(an__stl_iqr_fit), an__stl_iqr_score, an__stl_iqr_push,
    an__stl_iqr_reset, AN__TRAINING(an__stl_iqr_save), an__stl_iqr_load, NULL, an__stl_iqr_destroy, an__stl_iqr_last,
    NULL, NULL
};

AN_API const an_detector_vtable *an_stl_iqr_type(void) { return &an__stl_iqr_vtable; }

/* ---- STL + IQR's runs ------------------------------------------------------ */

/* The last `window` rows of every feature: ring (window, 2 F), each slot
   the residuals then the values, the oldest at head. */
typedef struct an__runs_win { double *ring; size_t count, head; } an__runs_win;

typedef struct an__stl_runs {
    an_detector base;
    an_allocator alloc;
    an_stl_runs_config config;
    an_detector *inner;          /* the STL + IQR filter, owned */
    double *block;
    size_t block_doubles;
    double *band;                /* (F, 7): the mean's band, the spread's band, f */
    an__runs_win win[3];         /* fitted (empty), live, scratch */
} an__stl_runs;

#define AN__TAG_STL_RUNS AN_TAG('R', 'U', 'N', 'S')

AN_API an_stl_runs_config an_stl_runs_config_init(size_t period, size_t window)
{
    an_stl_runs_config c;
    c.stl = an_stl_iqr_config_init(period);
    c.window = window;
    c.rows = 0;
    return c;
}

/* inner: NULL = make one from the config; taken over (also on failure). */
static an_result an__stl_runs_new(const an_stl_runs_config *c, size_t F, const an_allocator *a, an_detector *inner,
                                  an_detector **out)
{
    an_allocator alloc;
    an__stl_runs *d;
    an_result r;
    size_t total, s, w = c->window;
    *out = NULL;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) { an_detector_destroy(inner); return r; }
    if (w < 3 || w > AN_STL_RUNS_MAX_WINDOW || F == 0 || F > ((size_t)1 << 20)) {
        an_detector_destroy(inner);
        return AN_ERR_INVALID_ARG;
    }
    if (!inner && (r = an_stl_iqr_create(&c->stl, F, &alloc, &inner)) != AN_OK) return r;
    total = an__add(an__mul(7, F), an__mul(an__mul(6, w), F));
    if (an__mul(total, sizeof(double)) == SIZE_MAX) { an_detector_destroy(inner); return AN_ERR_TOO_LARGE; }
    if (!(d = (an__stl_runs *)an_malloc(&alloc, sizeof *d, AN_ALIGN))) { an_detector_destroy(inner); return AN_ERR_NOMEM; }
    memset(d, 0, sizeof *d);
    if (!(d->block = (double *)an_malloc(&alloc, total * sizeof(double), AN_ALIGN))) {
        an_free(&alloc, d, sizeof *d);
        an_detector_destroy(inner);
        return AN_ERR_NOMEM;
    }
    memset(d->block, 0, total * sizeof(double));
    d->block_doubles = total;
    d->alloc = alloc;
    d->config = *c;
    d->config.stl = ((an__stl_iqr *)inner)->config;
    d->inner = inner;
    d->band = d->block;
    for (s = 0; s < 3; s++) d->win[s].ring = d->block + 7 * F + s * 2 * w * F;
    d->base.vt = an_stl_runs_type();
    d->base.n_features = F;
    *out = &d->base;
    return AN_OK;
}

AN_API an_result an_stl_runs_create(const an_stl_runs_config *config, size_t n_features, const an_allocator *a,
                                    an_detector **out)
{
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!config) return AN_ERR_INVALID_ARG;
    return an__stl_runs_new(config, n_features, a, NULL, out);
}

static void an__runs_copy(const an__stl_runs *d, an__runs_win *dst, const an__runs_win *src)
{
    memcpy(dst->ring, src->ring, 2 * d->config.window * d->base.n_features * sizeof(double));
    dst->count = src->count;
    dst->head = src->head;
}

/* Feature f's statistics over a full window: the mean of the residuals
   and the values' mean absolute first difference, summed oldest first. */
static void an__runs_stats(const an__stl_runs *d, const an__runs_win *win, size_t f, double *mean, double *mad1)
{
    size_t w = d->config.window, F = d->base.n_features, j, at = win->head;
    double sum = 0.0, dif = 0.0, prev = 0.0;
    for (j = 0; j < w; j++) {
        const double *slot = win->ring + at * 2 * F;
        sum += slot[f];
        if (j) dif += fabs(slot[F + f] - prev);
        prev = slot[F + f];
        if (++at == w) at = 0;
    }
    *mean = sum / (double)w;
    *mad1 = dif / (double)(w - 1);
}

static double an__runs_value(const an__stl_runs *d, const an__runs_win *win)
{
    size_t f, F = d->base.n_features;
    double best = -HUGE_VAL;
    if (win->count < d->config.window) return -HUGE_VAL;
    for (f = 0; f < F; f++) {
        const double *b = d->band + 7 * f;
        double mean, mad1, a, s;
        an__runs_stats(d, win, f, &mean, &mad1);
        a = an__band_score((const an__band *)b, mean);
        s = an__band_score((const an__band *)(b + 3), log(mad1 + b[6]));
        if (a > best) best = a;
        if (s > best) best = s;
    }
    return best;
}

/* One row through the filter of state s: the residuals into the window,
   the row's score out. */
static an_result an__stl_runs_step(an__stl_runs *d, int s, const float *row, float *score)
{
    an__stl_iqr *in = (an__stl_iqr *)d->inner;
    size_t F = d->base.n_features, f, w = d->config.window;
    an__runs_win *win = &d->win[s];
    double *slot, v, rows = -HUGE_VAL;
    slot = win->ring + (win->count < w ? (win->head + win->count) % w : win->head) * 2 * F;
    for (f = 0; f < F; f++) {
        slot[F + f] = (double)row[f];
        const an__hw_params *p = &in->params[f];
        an__hw *h = &in->state[s][f];
        slot[f] = an__hw_residual((double)row[f], h->level + h->slope, an__hw_season(p, h));
        v = an__hw_step(p, in->config.persist, h, row[f], in->config.clip);
        if (v > rows) rows = v;
    }
    if (win->count < w) win->count++;
    else if (++win->head == w) win->head = 0;
    v = an__runs_value(d, win);
    if (d->config.rows && rows > v) v = rows;
    if (v == -HUGE_VAL) v = 0.0;
    *score = v > (double)FLT_MAX ? FLT_MAX : v < -(double)FLT_MAX ? -FLT_MAX : (float)v;
    return AN_OK;
}

static void an__stl_runs_restart(an__stl_runs *d, int s)
{
    an__stl_iqr *in = (an__stl_iqr *)d->inner;
    size_t f;
    for (f = 0; f < d->base.n_features; f++) an__hw_copy(&in->state[s][f], &in->state[AN__FITTED][f], in->params[f].period);
    an__runs_copy(d, &d->win[s], &d->win[AN__FITTED]);
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__stl_runs_fit(an_detector *self, const float *x, size_t n)
{
    an__stl_runs *d = (an__stl_runs *)self;
    size_t F = self->n_features, w = d->config.window, i, f, m, bytes;
    double *res, *mean, *sp, *tmp;
    an_result r;
    float unused;
    if (n < 2 * w + 8) return AN_ERR_TOO_SHORT;      /* the contract checked the input */
    if ((r = an_detector_fit(d->inner, x, n)) != AN_OK) return r;
    m = n - w + 1;
    bytes = an__mul(an__add(an__mul(n, 2 * F), an__mul(3, m)), sizeof(double));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(res = (double *)an_malloc(&d->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    mean = res + n * 2 * F;
    sp = mean + m;
    tmp = sp + m;
    d->win[AN__FITTED].count = d->win[AN__FITTED].head = 0;
    an__stl_runs_restart(d, AN__SCRATCH);
    for (i = 0; i < n; i++) {                                   /* the residuals the stream makes */
        an__stl_runs_step(d, AN__SCRATCH, x + i * F, &unused);
        for (f = 0; f < F; f++) {
            res[i * F + f] = d->win[AN__SCRATCH].ring[((d->win[AN__SCRATCH].head + d->win[AN__SCRATCH].count - 1) % w) * 2 * F + f];
            res[(n + i) * F + f] = x[i * F + f];
        }
    }
    for (f = 0; f < F; f++) {
        double *b = d->band + 7 * f;
        an__band band;
        for (i = 0; i < m; i++) {
            size_t j;
            double sum = 0.0, dif = 0.0;
            for (j = 0; j < w; j++) {
                sum += res[(i + j) * F + f];
                if (j) dif += fabs(res[(n + i + j) * F + f] - res[(n + i + j - 1) * F + f]);
            }
            mean[i] = sum / (double)w;
            sp[i] = tmp[i] = dif / (double)(w - 1);
        }
        b[6] = 1e-6 * an__quantile_d(tmp, m, 0.5) + 1e-30;
        for (i = 0; i < m; i++) sp[i] = log(sp[i] + b[6]);
        band = an__band_of(AN_ROBUST_IQR, mean, m, tmp);
        b[0] = band.lo, b[1] = band.hi, b[2] = band.spread;
        band = an__band_of(AN_ROBUST_IQR, sp, m, tmp);
        b[3] = band.lo, b[4] = band.hi, b[5] = band.spread;
    }
    an_free(&d->alloc, res, bytes);
    an__stl_runs_restart(d, AN__LIVE);
    return AN_OK;
}
#endif

static an_result an__stl_runs_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__stl_runs *d = (an__stl_runs *)self;
    size_t i, F = self->n_features;
    an_result r;
    an__stl_runs_restart(d, AN__SCRATCH);
    for (i = 0; i < n; i++)
        if ((r = an__stl_runs_step(d, AN__SCRATCH, x + i * F, &scores[i])) != AN_OK) return r;
    return AN_OK;
}

static an_result an__stl_runs_push(an_detector *self, const float *row, float *score)
{
    return an__stl_runs_step((an__stl_runs *)self, AN__LIVE, row, score);
}

static an_result an__stl_runs_reset(an_detector *self)
{
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    an__stl_runs_restart((an__stl_runs *)self, AN__LIVE);
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__stl_runs_save(const an_detector *self, an_writer *w)
{
    const an__stl_runs *d = (const an__stl_runs *)self;
    size_t F = self->n_features;
    an__stl_iqr_save(d->inner, w);
    an_write_begin(w, AN__TAG_STL_RUNS);
    an_write_u64(w, d->config.window);
    an_write_u64(w, F);
    an_write_u32(w, (uint32_t)(d->config.rows != 0));
    an_write_f64s(w, d->band, 7 * F);
    an_write_u64(w, d->win[AN__LIVE].count);
    an_write_u64(w, d->win[AN__LIVE].head);
    an_write_f64s(w, d->win[AN__LIVE].ring, 2 * d->config.window * F);
    return an_write_end(w);
}
#endif

static void an__stl_runs_destroy(an_detector *self)
{
    an__stl_runs *d = (an__stl_runs *)self;
    an_allocator a = d->alloc;
    an_detector_destroy(d->inner);
    an_free(&a, d->block, d->block_doubles * sizeof(double));
    an_free(&a, d, sizeof *d);
}

static an_result an__stl_runs_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_reader p;
    an_stl_runs_config c;
    an_detector *inner;
    an__stl_runs *d;
    size_t w, F, i, count, head;
    uint32_t rows;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__TAG_STL_RUNS, &p)) != AN_OK) return r;
    if ((r = an_read_count(&p, 3, AN_STL_RUNS_MAX_WINDOW, &w)) != AN_OK ||
        (r = an_read_count(&p, 1, (size_t)1 << 20, &F)) != AN_OK || (r = an_read_u32(&p, &rows)) != AN_OK)
        return r;
    if (rows > 1) return AN_ERR_CORRUPT;
    if ((r = an_reader_need(&p, an__add(an__mul(7, F), an__add(2, an__mul(2 * w, F))), 8)) != AN_OK) return r;
    if ((r = an__stl_iqr_load(payload, a, &inner)) != AN_OK) return r;
    if (inner->n_features != F) { an_detector_destroy(inner); return AN_ERR_CORRUPT; }
    inner->fitted = 1;
    c.stl = ((an__stl_iqr *)inner)->config;
    c.window = w;
    c.rows = (int)rows;
    if ((r = an__stl_runs_new(&c, F, a, inner, out)) != AN_OK) return r;
    d = (an__stl_runs *)*out;
    an_read_f64s(&p, d->band, 7 * F);
    for (i = 0; i < F; i++) {
        const double *b = d->band + 7 * i;
        if (!an__finite(b[0]) || !an__finite(b[1]) || b[0] > b[1] || !an__finite(b[2]) || !(b[2] > 0.0) ||
            !an__finite(b[3]) || !an__finite(b[4]) || b[3] > b[4] || !an__finite(b[5]) || !(b[5] > 0.0) ||
            !(b[6] > 0.0 && b[6] < 1e300))
            goto corrupt;
    }
    if (an_read_count(&p, 0, w, &count) != AN_OK || an_read_count(&p, 0, w - 1, &head) != AN_OK ||
        (count < w && head != 0))
        goto corrupt;
    d->win[AN__LIVE].count = count;
    d->win[AN__LIVE].head = head;
    an_read_f64s(&p, d->win[AN__LIVE].ring, 2 * w * F);
    for (i = 0; i < 2 * w * F; i++)
        if (!(fabs(d->win[AN__LIVE].ring[i]) < 1e300)) goto corrupt;
    return AN_OK;
corrupt:
    an__stl_runs_destroy(*out);
    *out = NULL;
    return AN_ERR_CORRUPT;
}

static const an_detector_vtable an__stl_runs_vtable = {
    AN_TAG('S', 'R', 'U', 'N'), "stl-runs", AN__TRAINING(an__stl_runs_fit), an__stl_runs_score, an__stl_runs_push,
    an__stl_runs_reset, AN__TRAINING(an__stl_runs_save), an__stl_runs_load, NULL, an__stl_runs_destroy, NULL, NULL, NULL
};

AN_API const an_detector_vtable *an_stl_runs_type(void) { return &an__stl_runs_vtable; }

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
        an_result r = an__stl_decompose_work(&sc, x, n, seasonal, trend, rem, NULL, stl_work);
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

#ifndef ANOMALY_NO_TRAINING
static an_result an__esd_fit(an_detector *self, const float *x, size_t n)
{
    an__esd *e = (an__esd *)self;
    size_t i, cap, period = 0, k;
    an_result r;
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
#endif

static an_result an__esd_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__esd *e = (an__esd *)self;
    size_t cap = e->capacity, k, i, n_out, steps, *idx, *order;
    double *v, *tmp, *R, *lam, centre, scale, lowest, last_lambda;
    an_result r;
    if (!e->block) return AN_ERR_NOT_FITTED;
    if (n > cap) return AN_ERR_TOO_LARGE;
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

#ifndef ANOMALY_NO_TRAINING
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
#endif

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
    AN__TAG_GESD, "gesd", AN__TRAINING(an__esd_fit), an__esd_score, NULL, NULL, AN__TRAINING(an__esd_save),
    an__gesd_load, NULL, an__esd_destroy, NULL, NULL, NULL
};
static const an_detector_vtable an__shesd_vtable = {
    AN__TAG_SHESD, "shesd", AN__TRAINING(an__esd_fit), an__esd_score, NULL, NULL, AN__TRAINING(an__esd_save),
    an__shesd_load, NULL, an__esd_destroy, NULL, NULL, NULL
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
    an__shift_state state[3];   /* [AN__FITTED], [AN__LIVE], [AN__SCRATCH] */
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
        an__shift_state *st = &s->state[i];
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

#ifndef ANOMALY_NO_TRAINING
static an_result an__shift_fit(an_detector *self, const float *x, size_t n)
{
    an__shift *s = (an__shift *)self;
    size_t i, f, F = s->F, span = 2 * s->w;
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
        for (f = 0; f < F; f++) s->state[AN__FITTED].ring[i * F + f] = x[(n - span + i) * F + f] - s->offset[f];
    s->state[AN__FITTED].pos = 0;
    an__shift_recompute(&s->state[AN__FITTED], s->w, F);
    an__shift_copy(s, &s->state[AN__LIVE], &s->state[AN__FITTED]);
    return AN_OK;
}
#endif

static an_result an__shift_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__shift *s = (an__shift *)self;
    size_t i, F = s->F;
    an__shift_copy(s, &s->state[AN__SCRATCH], &s->state[AN__FITTED]);
    for (i = 0; i < n; i++) scores[i] = an__shift_step(s, &s->state[AN__SCRATCH], x + i * F);
    return AN_OK;
}

static an_result an__shift_push(an_detector *self, const float *row, float *score)
{
    an__shift *s = (an__shift *)self;
    *score = an__shift_step(s, &s->state[AN__LIVE], row);
    return AN_OK;
}

static an_result an__shift_reset(an_detector *self)
{
    an__shift *s = (an__shift *)self;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    an__shift_copy(s, &s->state[AN__LIVE], &s->state[AN__FITTED]);
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
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
    an_write_f64s(w, s->state[AN__FITTED].ring, 2 * s->w * s->F);   /* pos is 0 after fit and load */
    return an_write_end(w);
}
#endif

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
        r = an_read_f64s(&p, s->state[AN__FITTED].ring, 2 * w * F);
    /* values a fit on float data can give: squares and sums stay finite */
    for (i = 0; r == AN_OK && i < F; i++)
        if (!(fabs(s->offset[i]) <= 1e39) || !(s->floor[i] > 0.0 && s->floor[i] <= 1e80)) r = AN_ERR_CORRUPT;
    for (i = 0; r == AN_OK && i < 2 * w * F; i++)
        if (!(fabs(s->state[AN__FITTED].ring[i]) <= 1e39)) r = AN_ERR_CORRUPT;
    if (r != AN_OK) {
        an__shift_destroy(*out);
        *out = NULL;
        return r;
    }
    s->state[AN__FITTED].pos = 0;
    an__shift_recompute(&s->state[AN__FITTED], w, F);
    an__shift_copy(s, &s->state[AN__LIVE], &s->state[AN__FITTED]);
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
    AN__SHIFT_TAG_LEVEL, "level-shift", AN__TRAINING(an__shift_fit), an__shift_score, an__shift_push, an__shift_reset,
    AN__TRAINING(an__shift_save), an__level_shift_load, NULL, an__shift_destroy, NULL, NULL, NULL
};
static const an_detector_vtable an__volatility_shift_vtable = {
    AN__SHIFT_TAG_VOL, "volatility-shift", AN__TRAINING(an__shift_fit), an__shift_score, an__shift_push,
    an__shift_reset, AN__TRAINING(an__shift_save), an__volatility_shift_load, NULL, an__shift_destroy, NULL, NULL,
    NULL
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
    /* NOLINTNEXTLINE(bugprone-integer-division): exact, as g divides m and n and so every count above */
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
    an__ks_state state[3];   /* [AN__FITTED], [AN__LIVE], [AN__SCRATCH] */
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
        an__ks_state *st = &k->state[i];
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
    if (!c || an__allocator_copy(&alloc, a) != AN_OK) return AN_ERR_INVALID_ARG;
    if (c->window < 2 || c->window > AN_SHIFT_MAX_WINDOW) return AN_ERR_INVALID_ARG;
    if (c->reference != AN_KS_TRAINING && c->reference != AN_KS_PREVIOUS) return AN_ERR_INVALID_ARG;
    if (n_features < 1 || n_features > AN_SHIFT_MAX_FEATURES) return AN_ERR_SHAPE;
    if ((r = an__ks_new(c->window, c->reference == AN_KS_PREVIOUS, n_features, &alloc, &k)) != AN_OK) return r;
    *out = &k->base;
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__ks_fit(an_detector *self, const float *x, size_t n)
{
    an__ks *k = (an__ks *)self;
    size_t i, f, F = k->F;
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
    memcpy(k->state[AN__FITTED].ring, x + (n - k->span) * F, k->span * F * sizeof(float));
    an__ks_build(k, &k->state[AN__FITTED]);
    an__ks_copy(k, &k->state[AN__LIVE], &k->state[AN__FITTED]);
    return AN_OK;
}
#endif

static an_result an__ks_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__ks *k = (an__ks *)self;
    size_t i, F = k->F;
    an__ks_copy(k, &k->state[AN__SCRATCH], &k->state[AN__FITTED]);
    for (i = 0; i < n; i++) scores[i] = an__ks_step(k, &k->state[AN__SCRATCH], x + i * F);
    return AN_OK;
}

static an_result an__ks_push(an_detector *self, const float *row, float *score)
{
    an__ks *k = (an__ks *)self;
    *score = an__ks_step(k, &k->state[AN__LIVE], row);
    return AN_OK;
}

static an_result an__ks_reset(an_detector *self)
{
    an__ks *k = (an__ks *)self;
    if (!self->fitted) return AN_ERR_NOT_FITTED;
    an__ks_copy(k, &k->state[AN__LIVE], &k->state[AN__FITTED]);
    return AN_OK;
}

AN_API an_result an_ks_drift_last(const an_detector *d, double *statistic, double *pvalue)
{
    const an__ks *k = (const an__ks *)d;
    if (!d || d->vt != an_ks_drift_type()) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if (statistic) *statistic = k->state[AN__LIVE].d;
    if (pvalue) return an_ks_pvalue(k->state[AN__LIVE].d, k->previous ? k->w : k->n_ref, k->w, pvalue);
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
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
    an_write_f32s(w, k->state[AN__FITTED].ring, k->span * k->F);   /* pos is 0 after fit and load */
    return an_write_end(w);
}
#endif

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
    if (r == AN_OK) r = an_read_f32s(&q, k->state[AN__FITTED].ring, k->span * F);
    for (i = 0; r == AN_OK && i < k->span * F; i++) if (!an__finite(k->state[AN__FITTED].ring[i])) r = AN_ERR_CORRUPT;
    if (r != AN_OK) {
        an__ks_destroy(&k->base);
        return r;
    }
    an__ks_build(k, &k->state[AN__FITTED]);
    an__ks_copy(k, &k->state[AN__LIVE], &k->state[AN__FITTED]);
    *out = &k->base;
    return AN_OK;
}

static const an_detector_vtable an__ks_vtable = {
    AN__KS_TAG, "ks-drift", AN__TRAINING(an__ks_fit), an__ks_score, an__ks_push, an__ks_reset,
    AN__TRAINING(an__ks_save), an__ks_load, NULL, an__ks_destroy, NULL, NULL, NULL
};

AN_API const an_detector_vtable *an_ks_drift_type(void) { return &an__ks_vtable; }

/* --------------------------------------------------------------------------
   3.4  Isolation forest
   -------------------------------------------------------------------------- */

#define AN__IF_TAG      AN_TAG('I', 'F', 'O', 'R')
#define AN__IF_TAG_CONF AN_TAG('C', 'O', 'N', 'F')
#define AN__IF_TAG_TREE AN_TAG('T', 'R', 'E', 'E')
#define AN__IF_TAG_BOX  AN_TAG('I', 'F', 'B', 'X')

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
    float *box;                      /* (2F) the training rows' min, max per feature, after the struct */
    int has_box;                     /* fit sets it; files before 'IFBX' have none */
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
    if (!(f = (an__iforest *)an_malloc(&alloc, sizeof *f + 2 * n_features * sizeof(float), AN_ALIGN)))
        return AN_ERR_NOMEM;
    memset(f, 0, sizeof *f);
    f->box = (float *)(f + 1);
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

#ifndef ANOMALY_NO_TRAINING
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
    for (i = 0; i < F; i++) f->box[i] = f->box[F + i] = x[i];
    for (t = 1; t < n; t++)
        for (i = 0; i < F; i++) {
            float v = x[t * F + i];
            if (v < f->box[i]) f->box[i] = v;
            if (v > f->box[F + i]) f->box[F + i] = v;
        }
    f->has_box = 1;
    return AN_OK;
}
#endif

/* How far row lies past the training range: the largest distance past
   a feature's [min, max], in units of that range's width (floored as a
   robust band's spread), d / (1 + d) of it (< 1). */
static double an__if_beyond(const an__iforest *f, const float *row)
{
    size_t F = f->base.n_features, i;
    double d = 0.0;
    if (!f->has_box) return 0.0;
    for (i = 0; i < F; i++) {
        double lo = f->box[i], hi = f->box[F + i], floor_ = an__band_floor(lo, hi);
        double past = row[i] < lo ? lo - row[i] : row[i] > hi ? row[i] - hi : 0.0;
        double q = past / (hi - lo > floor_ ? hi - lo : floor_);
        if (q > d) d = q;
    }
    return d / (1.0 + d);
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
    return (float)pow(2.0, -(sum / (double)f->n_trees - an__if_beyond(f, row)) / f->c_psi);
}

static an_result an__if_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__iforest *f = (an__iforest *)self;
    size_t F = self->n_features, i;
    if (!f->block) return AN_ERR_NOT_FITTED;
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

#ifndef ANOMALY_NO_TRAINING
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
    if (f->has_box) {
        an_write_begin(w, AN__IF_TAG_BOX);
        an_write_f32s(w, f->box, 2 * self->n_features);
        an_write_end(w);
    }
    return w->status;
}
#endif

static void an__if_destroy(an_detector *self)
{
    an__iforest *f = (an__iforest *)self;
    an_allocator a = f->alloc;
    if (f->block) an_free(&a, f->block, f->block_bytes);
    an_free(&a, f, sizeof *f + 2 * self->n_features * sizeof(float));
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
        if (an__if_next_tree(&cursor, &p) != AN_OK) return AN_ERR_CORRUPT;
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
    if (an_reader_find(payload, AN__IF_TAG_BOX, &p) == AN_OK) {
        size_t i;
        if (an_read_f32s(&p, f->box, 2 * F) != AN_OK) r = AN_ERR_CORRUPT;
        for (i = 0; i < F && r == AN_OK; i++)
            if (!(an__finite(f->box[i]) && an__finite(f->box[F + i]) && f->box[i] <= f->box[F + i])) r = AN_ERR_CORRUPT;
        if (r != AN_OK) { an__if_destroy(*out); *out = NULL; return r; }
        f->has_box = 1;
    }
    return AN_OK;
}

static const an_detector_vtable an__iforest_vtable = {
    AN__IF_TAG, "iforest", AN__TRAINING(an__if_fit), an__if_score, an__if_push, an__if_reset,
    AN__TRAINING(an__if_save), an__if_load, NULL, an__if_destroy, NULL, NULL, NULL
};

AN_API const an_detector_vtable *an_iforest_type(void) { return &an__iforest_vtable; }

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
    if (!errors || !values || !out || !work || an__misaligned(work) || !an__tm_config_ok(c)) return AN_ERR_INVALID_ARG;
    out->event_count = out->window_count = 0;
    if ((out->event_capacity && !out->events) || (out->window_capacity && !out->windows)) return AN_ERR_INVALID_ARG;
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
        size_t peak = s;
        if (!w.global[i]) continue;
        while (i + 1 < n && w.global[i + 1]) i++;
        if (i == s) { w.score[s] = 0.0; continue; }
        for (j = s; j <= i; j++) if (w.score[j] > best) { best = w.score[j]; peak = j; }
        if (ranges < out->event_capacity) {
            an_event *ev = &out->events[ranges];
            ev->start = s;
            ev->end = i;
            ev->peak = peak;
            ev->severity = best;
            ev->points = i - s + 1;
            ev->alarms = 0;
        }
        ranges++;
    }
    if (out->smoothed) memcpy(out->smoothed, w.es, n * sizeof(double));
    if (out->score) memcpy(out->score, w.score, n * sizeof(double));
    out->event_count = ranges;
    out->window_count = n_windows;
    if ((out->events && ranges > out->event_capacity) || (out->windows && n_windows > out->window_capacity))
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

/* A float series widened into n doubles from a (an_free with the same n). */
static double *an__widen(const an_allocator *a, const float *x, size_t n, size_t copies)
{
    size_t i, bytes = an__mul(an__mul(n ? n : 1, copies), sizeof(double));
    double *w;
    if (bytes == SIZE_MAX || !(w = (double *)an_malloc(a, bytes, AN_ALIGN))) return NULL;
    for (i = 0; i < n; i++) w[i] = (double)x[i];
    return w;
}

AN_API an_result an_telemanom_detect_f(const an_telemanom_config *config, const float *errors, const float *values,
                                       size_t n, an_telemanom_result *out, const an_allocator *a)
{
    double *w;
    size_t i;
    an_result r;
    if (!errors || !values || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if (!(w = an__widen(a, errors, n, 2))) return an__mul(n, 2 * sizeof(double)) == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_ERR_NOMEM;
    for (i = 0; i < n; i++) w[n + i] = (double)values[i];
    r = an_telemanom_detect(config, w, w + n, n, out, a);
    an_free(a, w, an__mul(an__mul(n ? n : 1, 2), sizeof(double)));
    return r;
}

AN_API an_result an_prediction_errors(const float *x, const double *expected, size_t n_rows, size_t n_features,
                                      size_t n_train, double *err, double *scale, const an_allocator *a)
{
    size_t F = n_features, i, f, n;
    float *tmp = NULL;
    an_allocator alloc;
    an_result r = AN_OK;
    if (!x || !expected || !err || n_rows == 0 || F == 0 || n_train > n_rows) return AN_ERR_INVALID_ARG;
    if (an__mul(n_rows, F) == SIZE_MAX || an__mul(n_train, sizeof(float)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!an__all_finite(x, n_rows * F)) return AN_ERR_INPUT;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if (n_train && !(tmp = (float *)an_malloc(&alloc, n_train * sizeof(float), AN_ALIGN))) return AN_ERR_NOMEM;
    for (i = 0; i < n_rows; i++) err[i] = 0.0;
    for (f = 0; f < F && r == AN_OK; f++) {
        double unit = 0.0;
        for (i = n = 0; i < n_train; i++) {
            double e = expected[i * F + f];
            if (an__finite(e)) tmp[n++] = (float)fabs(x[i * F + f] - e);
        }
        if (n) r = an_percentile_inplace(tmp, n, 50.0, &unit);
        if (!(unit > 0.0)) unit = 1.0;
        if (scale) scale[f] = unit;
        for (i = 0; i < n_rows; i++) {
            double e = expected[i * F + f], v = an__finite(e) ? fabs(x[i * F + f] - e) / unit : 0.0;
            if (v > err[i]) err[i] = v < DBL_MAX ? v : DBL_MAX;
        }
    }
    an_free(&alloc, tmp, n_train * sizeof(float));
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
    if (!s || !heap || an__misaligned(heap) || !an__spot_config_ok(config)) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    s->config = *config;
    s->heap = heap;
    an__spot_layout(config, &off);
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
    s->owned_bytes = bytes;
    s->alloc = keep;
    return AN_OK;
}

AN_API void an_spot_uninit(an_spot *s)
{
    if (!s) return;
    if (s->owned_bytes) an_free(&s->alloc, s->heap, s->owned_bytes);
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

AN_API an_result an_spot_fit_f(an_spot *s, const float *x, size_t n, const an_allocator *scratch)
{
    double *w;
    an_result r;
    if (!s || !x || !an__allocator_ok(scratch)) return AN_ERR_INVALID_ARG;
    if (!(w = an__widen(scratch, x, n, 1))) return an__mul(n, sizeof(double)) == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_ERR_NOMEM;
    r = an_spot_fit(s, w, n, scratch);
    an_free(scratch, w, an__mul(n ? n : 1, sizeof(double)));
    return r;
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
   5  TYPES
   ========================================================================== */

static const an_detector_vtable *const an__stats_types[] = {
    &an__mad_vtable, &an__iqr_vtable, &an__stl_iqr_vtable, &an__gesd_vtable, &an__shesd_vtable,
    &an__level_shift_vtable, &an__volatility_shift_vtable, &an__ks_vtable, &an__iforest_vtable,
    &an__stl_runs_vtable
};

AN_API const an_detector_vtable *const *an_stats_types(size_t *n)
{
    if (n) *n = sizeof an__stats_types / sizeof an__stats_types[0];
    return an__stats_types;
}

/* ==========================================================================
   6  THE DEFAULT HYBRID
   ========================================================================== */

AN_API an_hybrid_config an_hybrid_config_init(size_t period)
{
    an_hybrid_config c;
    c.period = period;
    c.day = 0;
    c.baseline_weight = 0.6;
    c.member_weight = 0.4;
    c.pool = AN_POOL_MEAN;
    c.threshold = 0.999;
    c.lone_likelihood = 0.9999;
    c.sustain_rows = 12;
    c.sustain_z = 8.0;
    c.flatline_rows = 6;
    c.quiet_rows = 12;
    c.event_gap = 3;
    c.normal_training = 0;
    return c;
}

AN_API an_ensemble_config an_hybrid_vote_config(const an_hybrid_config *config)
{
    an_ensemble_config ec = an_ensemble_config_init();
    ec.pool = config->pool;
    ec.threshold = config->threshold;
    ec.sustain_rows = config->sustain_rows;
    ec.sustain_z = config->sustain_z;
    ec.flatline_rows = config->flatline_rows;
    ec.quiet_rows = config->quiet_rows;
    ec.normal_training = config->normal_training;
    return ec;
}

AN_API an_result an_hybrid_create(const an_hybrid_config *config, size_t n_features, an_detector *member,
                                  const an_allocator *a, an_detector **out)
{
    an_ensemble_config ec;
    an_stl_iqr_config sc;
    an_detector *e = NULL, *stl = NULL;
    an_result r;
    if (out) *out = NULL;
    if (!out || !config || !(config->lone_likelihood > 0.0 && config->lone_likelihood < 1.0)) {
        an_detector_destroy(member);
        return AN_ERR_INVALID_ARG;
    }
    sc = an_stl_iqr_config_init(config->period);
    sc.day = config->day;
    ec = an_hybrid_vote_config(config);
    if ((r = an_ensemble_create(&ec, n_features, a, &e)) != AN_OK) {
        an_detector_destroy(member);
        return r;
    }
    if ((r = an_stl_iqr_create(&sc, n_features, a, &stl)) != AN_OK ||
        (r = an_ensemble_add(e, stl, config->baseline_weight, AN_MEMBER_BASELINE)) != AN_OK) {
        an_detector_destroy(e);                   /* a failed add destroyed stl */
        an_detector_destroy(member);
        return r;
    }
    if (member && (r = an_ensemble_add(e, member, config->member_weight, AN_MEMBER_OPTIONAL)) != AN_OK) {
        an_detector_destroy(e);                   /* the add destroyed the member */
        return r;
    }
    *out = e;
    return AN_OK;
}

AN_API int an_hybrid_lone_ok(const an_hybrid_config *config, size_t rows, double peak, int in_suspect_rows,
                             size_t n_train)
{
    double need = config->lone_likelihood, top = n_train ? ((double)n_train - 0.5) / (double)n_train : 0.0;
    if (rows > 1) return 1;
    if (in_suspect_rows && top < need) need = top;
    return peak >= (double)(float)need;
}

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_IMPLEMENTATION */
