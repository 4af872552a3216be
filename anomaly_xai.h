/* anomaly_xai.h - v0.1.0 - explanations and report pictures for anomaly.h.
   No dependencies beyond anomaly.h, libc and libm.
   Licence: see anomaly.h.

   Include after (or instead of) anomaly.h; with ANOMALY_IMPLEMENTATION
   defined in one file, this header's code is emitted there too.

   Under ANOMALY_NO_TRAINING (anomaly.h's options) the detectors have no
   gradient entry, so integrated gradients return AN_ERR_UNSUPPORTED; the
   perturbation explainers, which only score, work as in the full build.

   Sections, in reading order:
       1  Report      an SVG picture of a series, its anomaly events, the
                      expected value and band, and the score with its
                      threshold, streamed through a caller's callback
       2  Explainers  which parts of a window make a detector's score:
                      players (segments x channels) masked by a fill,
                      exact Shapley values, Kernel SHAP, occlusion, LIME;
                      integrated gradients through a detector's input
                      gradient (the LSTM models)
       3  Reasons     an event in one line of English: kind, size,
                      channels, span, expected against actual

   THE PICTURE

   One panel per value feature (small multiples sharing the time axis; the
   first AN_REPORT_MAX_PANELS features are drawn and the subtitle says how
   many were left out), then a shorter score panel.  Ink is kept low: a dark
   series line, light horizontal gridlines at 1-2-5 "nice" values, no frame,
   the expected value as a dashed grey line over a pale band, and a single
   accent colour for everything anomalous: the events' shading (a little
   darker for the more severe), the series inside events, the peak dots and
   the labels.  Time ticks fall on calendar units (seconds, minutes, hours,
   days, Mondays, months, years) and read as UTC dates: "06:00" with "Jul 3"
   under the first tick and wherever the day changes, "Jul 3" with the year,
   "Jul" with the year, or "2014".  Without timestamps the axis counts rows.
   The score panel reads the score linearly, or on a "nines" scale (0.9,
   0.99, 0.999 equally spaced) made for calibrated likelihoods.  Events get
   a short label over their peak and a tooltip (an SVG <title>) with their
   times, severity and whole label; the picture has a <title> and a <desc>
   summary for screen readers, and its text colours pass WCAG AA on white.

   Long series are drawn per pixel column: each column keeps the first,
   lowest, highest and last point, so every spike survives and a file for
   100 000 points stays far below 1 MB.  NaN or infinite values leave gaps.
   All text is escaped for XML (and invalid UTF-8 replaced), numbers are
   written by this header (no printf, no locale), and nothing is allocated:
   the SVG goes out through the callback in chunks of about 1 KB, to a file
   or, with an_report_write_buffer, into caller memory. */
#ifndef ANOMALY_XAI_H_INCLUDED
#define ANOMALY_XAI_H_INCLUDED

#include "anomaly.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
   1  REPORT
   ==========================================================================
   Fill an an_report (start from an_report_init()), then call
   an_report_svg with a write callback.  Rows are the rows of the series:
   values is (n, n_features) row-major, as everywhere in anomaly.h.

       static int to_file(void *user, const char *data, size_t size)
       {   return fwrite(data, 1, size, (FILE *)user) == size ? 0 : -1; }

       an_report r = an_report_init();
       r.title = "NYC taxi passengers";
       r.n = n; r.n_features = 1; r.values = values; r.time = unix_seconds;
       r.scores = scores; r.threshold = 0.99;
       r.events = events; r.n_events = n_events;
       an_report_svg(&r, to_file, file);

   or, without stdio, measure and then write into memory:

       an_report_buffer b = { NULL, 0, 0 };
       an_report_svg(&r, an_report_write_buffer, &b);     b.size bytes
       b.data = memory; b.capacity = b.size + 1; b.size = 0;
       an_report_svg(&r, an_report_write_buffer, &b);     NUL-terminated

   The picture's geometry: the plot spans x from the left margin to
   width - 20; row i sits at left + (x_i - x_0) / (x_n-1 - x_0) * plot
   width, where x_i is time[i] (or i without times), so the series' first
   and last points are the plot's edges.  An event's shading spans
   x(start) .. x(end), widened about its centre to 3 pixels when narrower,
   from the top of the first panel to the bottom of the last; events whose
   shadings touch are drawn as one. */
#define AN_REPORT_MAX_PANELS 4

/* How the score panel's height reads the score.  LINEAR: the score as it
   is, 0 at the bottom and 1 at the top.  NINES: -log10(1 - score), so that
   0.9, 0.99, 0.999 ... are equally spaced; made for calibrated
   likelihoods, which are near uniform on normal data and carry their
   information in the last nines.  The top is 0.999, or one nine more than
   the threshold (at most 0.999999); higher scores are drawn at the top. */
typedef enum an_report_scale { AN_REPORT_SCORE_LINEAR = 0, AN_REPORT_SCORE_NINES = 1 } an_report_scale;

/* Receives the SVG in order, `size` bytes at `data` (not NUL-terminated).
   Return 0 to go on; anything else stops the report with AN_ERR_IO. */
typedef int (*an_report_write_fn)(void *user, const char *data, size_t size);

typedef struct an_report {
    const char *title;              /* UTF-8; NULL = none; wraps at spaces,
                                       3 lines at most, then an ellipsis      */
    const char *subtitle;           /* grey text under it, wraps the same     */
    size_t n;                       /* rows, >= 1                             */
    size_t n_features;              /* >= 1                                   */
    const float *values;            /* (n, n_features); NaN = missing         */
    const double *time;             /* (n) Unix seconds (UTC), non-decreasing,
                                       years 1..9999; NULL = row numbers      */
    const char *const *names;       /* (n_features) panel names; NULL = none  */
    const double *expected;         /* (n, n_features) or NULL                */
    const double *lower, *upper;    /* (n, n_features) band, both or neither  */
    const float *scores;            /* (n) in [0, 1] or NULL: no score panel  */
    double threshold;               /* score threshold line; NaN = none       */
    an_report_scale score_scale;    /* LINEAR (default) or NINES               */
    const an_event *events;         /* (n_events), any order; sorted by start,
                                       touching or overlapping ones merge;
                                       start <= peak <= end < n, a dot at
                                       the peak, severity finite and >= 0
                                       (more severe shades darker); points
                                       and alarms are not drawn              */
    const char *const *labels;      /* (n_events) short UTF-8 text over each
                                       peak (NULL entries = none), or NULL  */
    const double *attribution;      /* (n, n_features) or NULL: a heat band
                                       at the foot of each panel, one cell
                                       per row, darker for a larger |value|
                                       (accent above 0, grey below); NaN or
                                       0 = none (an explainer's cells)      */
    size_t n_events;
    int width, height;              /* pixels, 0 = default (960 wide, 420 high
                                       plus 150 per extra panel); 320..16384 */
} an_report;

/* A ready-made write callback into caller memory: pass an
   an_report_buffer as `user`.  It appends to data while the picture fits
   in capacity (stopping the report with AN_ERR_IO when it does not) and
   counts every byte in size; with data NULL it only counts, so a first
   call measures how much memory the picture needs (size + 1 for a NUL,
   which it writes whenever there is room). */
typedef struct an_report_buffer {
    char *data;          /* NULL: count only                          */
    size_t capacity;     /* bytes at data                             */
    size_t size;         /* bytes of SVG so far (start at 0)          */
} an_report_buffer;

/* Returns: 0, or -1 when the bytes do not fit in capacity (the report then
   stops with AN_ERR_IO). */
AN_API int an_report_write_buffer(void *user, const char *data, size_t size);

/* Everything empty, threshold NaN, default size.
   Returns: the empty report. */
AN_API an_report an_report_init(void);

/* Writes the SVG (UTF-8, XML 1.0, one <svg> root) for r through `write`.
   Returns: AN_OK; AN_ERR_INVALID_ARG for missing or inconsistent fields (NULL
   values, n or n_features 0, one band side only, an event out of range,
   an unknown score scale, a size out of range, or a picture too small to
   give each panel 40 pixels), AN_ERR_TOO_LARGE when n * n_features
   overflows, AN_ERR_INPUT for timestamps that are non-finite, decreasing
   or outside years 1..9999, a non-finite or negative severity or an
   infinite attribution, and AN_ERR_IO when the callback stops it; nothing is written on an argument
   error.  Allocates nothing; uses about 4 KB of stack.
   Thread safety: any number of calls at once. */
AN_API an_result an_report_svg(const an_report *r, an_report_write_fn write, void *user);

/* Value ticks at a 1, 2 or 5 times a power of ten step: the step whose
   count of ticks is nearest max_ticks (the fewer ticks on a tie; so at
   most about 1.5 max_ticks), from the first multiple of the step >= lo
   to the last <= hi.  *count is the number of ticks; AN_ERR_SHAPE when
   capacity is too small (the first capacity written).
   Returns: AN_OK with *count; AN_ERR_SHAPE past capacity;
   AN_ERR_INVALID_ARG for non-finite or reversed bounds or max_ticks 0. */
AN_API an_result an_report_nice_ticks(double lo, double hi, size_t max_ticks, double *ticks, size_t capacity,
                                      size_t *count);

/* Time ticks in [t0, t1] (Unix seconds, years 1..9999) at round UTC
   calendar times: the smallest step from 1, 2, 5, 10, 15, 30 seconds or
   minutes, 1, 2, 3, 6, 12 hours, 1 or 2 days, a week (Mondays), 1, 2, 3, 6
   months (first of the month) or 1, 2, 5, 10, ... years (1 January) that
   gives at most about max_ticks ticks; when that one falls fewer than
   twice in the span, a smaller one with at most 2 max_ticks + 1 ticks (or
   any number, rather than none).  Counts and errors as above.
   Returns: AN_OK with *count; AN_ERR_SHAPE past capacity;
   AN_ERR_INVALID_ARG for bounds that are reversed or outside years 1..9999. */
AN_API an_result an_report_time_ticks(double t0, double t1, size_t max_ticks, double *ticks, size_t capacity,
                                      size_t *count);

/* ==========================================================================
   2  EXPLAINERS
   ==========================================================================
   Why is a window anomalous, where, and in which channel.  Every explainer
   here treats the detector as a black box: it builds masked copies of the
   series and asks the detector's score (an_detector_score) for one row,
   the target.  So it works for any detector, statistical or neural.

   THE PLAYERS.  The explained window, rows start .. start + length - 1 of
   x, is cut into n_segments runs of consecutive rows (segment k holds rows
   start + floor(k length / n_segments) .. start + floor((k + 1) length /
   n_segments) - 1), and each run either as a whole (per_channel 0) or
   each channel of it (per_channel 1) is one player.  Player p is segment
   p / C, channel p % C, with C = n_features per channel, else 1.  A
   coalition z (one byte per player, 1 = present) gives a series: x where
   the player is present, the fill where it is masked; f(z) is the
   detector's score of row `target` of that series.  Rows outside the
   window are always x.

   THE FILL (what a masked cell becomes):
     MEAN      each channel's training mean: fill_values (n_features)
     LINEAR    a straight line from the last kept value before a masked run
               of rows (in that channel) to the first kept one after it;
               one value only when the run touches an end of x
     EXPECTED  the model's expected values, fill_values (n_rows, n_features)
               (say an_lstm_explain's reconstruction, or a seasonal fit)

   THE EXPLAINERS (phi: one value per player; summary: f(x), f(all
   masked), their sum's gap and the evaluations made):
     an_xai_exact      Shapley values by enumerating all 2^P coalitions
                       (P <= AN_XAI_MAX_EXACT); the oracle of the others
     an_xai_shap       Kernel SHAP (Lundberg and Lee 2017): coalitions
                       weighted by the Shapley kernel, whole coalition
                       sizes enumerated while the budget affords them, the
                       rest sampled in complementary pairs, then a weighted
                       least squares fit whose values sum to f(x) -
                       f(all masked) exactly (the efficiency constraint)
     an_xai_occlusion  f(x) - f(x with player p masked), one player at a
                       time (P + 1 evaluations)
     an_xai_lime       LIME (Ribeiro et al. 2016): random coalitions,
                       weighted by an exponential kernel on their distance
                       from x, a weighted ridge regression; its weighted R^2
                       is reported as the fit's fidelity
   an_xai_cells spreads player values over the window's rows and channels.
   an_xai_importance needs neither players nor detector calls: each
   cell's deviation from the expected values, in its channel's scale.
   Integrated gradients (an_xai_integrated_gradients, at the end of the
   section) needs no players: it attributes to every cell through the
   detector's input gradient.

   MEMORY.  An an_xai holds the players and every buffer the explainers
   need for at most `budget` evaluations (the coalitions, their values and
   weights, the normal equations, `chunk` masked copies of x and their
   scores), in one block: an_xai_heap_size / an_xai_init_preallocated
   (caller memory, AN_ALIGN-aligned) or an_xai_init (an allocator).  After
   that nothing is allocated; the detector's score allocates nothing
   either (the contract).  The arrays x, fill_values and the detector are
   borrowed: keep them alive and unchanged while the an_xai is used.

   BATCHES.  Each call first chooses every coalition it needs, then
   scores their masked copies `chunk` at a time with one
   an_detector_score_batch call each (the LSTM models run the copies'
   windows through their batched forward pass; other detectors score them
   one by one).  chunk = AN_XAI_BATCH copies, fewer when one copy is
   large: at most AN_XAI_BATCH_BYTES of copies, and at least one.  A
   series scores the same bits alone as in a batch (the contract), so
   the values do not depend on chunk: setting xai->chunk lower after init
   changes only the speed (0, or more than init chose, is init's).  The same seed gives the same
   coalitions and the same values.  After a call, coalitions
   (n_coalitions, P) and values (n_coalitions) hold the sampled
   coalitions and f of each (Kernel SHAP, LIME), for inspection.

   Thread safety: one an_xai, and its detector, in one thread at a time. */
#define AN_XAI_MAX_PLAYERS 1024   /* the normal equations are P x P doubles */
#define AN_XAI_MAX_EXACT   20     /* exact enumeration: 2^P coalitions      */
#define AN_XAI_BATCH       32     /* masked copies per score call, at most  */
#define AN_XAI_BATCH_BYTES ((size_t)1 << 20)   /* ... and their bytes       */

typedef enum an_xai_fill {
    AN_XAI_FILL_MEAN     = 0,
    AN_XAI_FILL_LINEAR   = 1,
    AN_XAI_FILL_EXPECTED = 2
} an_xai_fill;

typedef struct an_xai_players {
    an_detector *detector;      /* fitted, any type                          */
    const float *x;             /* (n_rows, detector->n_features), finite    */
    size_t n_rows;
    size_t start, length;       /* the window: rows start .. start+length-1  */
    size_t target;              /* f = the score of this row, < n_rows       */
    size_t n_segments;          /* 1 .. length runs of rows                  */
    int per_channel;            /* 1: a player per segment and channel       */
    an_xai_fill fill;
    const float *fill_values;   /* MEAN: (n_features); EXPECTED: (n_rows,
                                   n_features); LINEAR: unused (NULL)        */
} an_xai_players;

typedef struct an_xai {
    an_xai_players players;
    size_t n_features, n_players, budget;
    size_t n_coalitions;        /* stored by the last call                   */
    unsigned char *coalitions;  /* (budget, n_players)                       */
    double *values;             /* (budget) f of each coalition              */
    double *weights;            /* (budget) regression weights               */
    double *normal;             /* (n_players + 1)^2 normal equations        */
    double *rhs;                /* (n_players + 1)                           */
    size_t *pick;               /* (n_players) a subset being built          */
    unsigned char *mask;        /* (n_players) the coalition being built     */
    size_t *order;              /* (2 budget) the stored coalitions sorted,
                                   then the distinct ones (scored once)      */
    size_t chunk;               /* masked copies scored per call, >= 1       */
    float *series;              /* (chunk, n_rows, n_features) masked copies */
    float *scores;              /* (chunk, n_rows) their scores              */
    void *heap;
    size_t owned_bytes;         /* freed at uninit; 0 for caller memory      */
    an_allocator alloc;
} an_xai;

typedef struct an_xai_summary {
    double full;          /* f(x): every player present                      */
    double empty;         /* f with every player masked (the baseline)       */
    double sum;           /* sum of the player values                        */
    double gap;           /* sum - (full - empty): rounding for the Shapley
                             methods, by construction; whatever it is for
                             occlusion and LIME, which promise nothing       */
    double intercept;     /* LIME's fitted f at "all masked"; NaN otherwise  */
    double fidelity;      /* LIME's weighted R^2; NaN otherwise              */
    size_t evaluations;   /* coalitions evaluated (f known for each)         */
    size_t scored;        /* series the detector scored: Kernel SHAP and
                             LIME score a coalition drawn more than once
                             once (same bits), so this may be less       */
} an_xai_summary;

typedef struct an_xai_lime_config {
    size_t samples;       /* coalitions, the first being x itself; <= budget,
                             default 1000                                    */
    uint64_t seed;        /* default 1                                       */
    double kernel_width;  /* w in exp(-d^2 / (2 w^2)), d the cosine distance
                             of z from all-present, as LIME's image
                             explainer; default 0.25, > 0                    */
    double ridge;         /* lambda on the coefficients (the intercept is
                             free), >= 0; default 1 (scikit-learn's Ridge)  */
} an_xai_lime_config;

/* Returns: the defaults above. */
AN_API an_xai_lime_config an_xai_lime_config_init(void);

/* The players p describes (checked) and the memory for `budget`
   evaluations.
   Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for a NULL detector or x,
   a window outside x, length, n_segments or budget 0, n_segments >
   length, a target outside x, an unknown fill, fill_values missing for
   MEAN or EXPECTED, or LINEAR with no row of x outside the window;
   AN_ERR_TOO_LARGE past AN_XAI_MAX_PLAYERS players or when sizes overflow. */
AN_API an_result an_xai_heap_size(const an_xai_players *p, size_t budget, size_t *bytes);
/* Returns: as an_xai_heap_size; AN_ERR_INVALID_ARG for a NULL or misaligned
   heap. */
AN_API an_result an_xai_init_preallocated(an_xai *xai, const an_xai_players *p, size_t budget, void *heap);
/* Returns: as an_xai_heap_size; AN_ERR_NOMEM. */
AN_API an_result an_xai_init(an_xai *xai, const an_xai_players *p, size_t budget, const an_allocator *a);
AN_API void      an_xai_uninit(an_xai *xai);

/* f of one coalition z (n_players bytes, nonzero = present).
   Returns: AN_OK with *f; the detector's error; AN_ERR_NUMERIC for a
   non-finite score; AN_ERR_INVALID_ARG. */
AN_API an_result an_xai_value(an_xai *xai, const unsigned char *z, double *f);

/* Exact Shapley values phi (n_players):
     phi_i = sum over S without i of |S|! (P - |S| - 1)! / P! (f(S + i) - f(S)).
   Needs P <= AN_XAI_MAX_EXACT and budget >= 2^P (the values of every
   coalition are kept).
   Returns: AN_OK; AN_ERR_TOO_LARGE for more players; AN_ERR_SHAPE for a
   smaller budget; as an_xai_value. */
AN_API an_result an_xai_exact(an_xai *xai, double *phi, an_xai_summary *summary);

/* Kernel SHAP with `evaluations` coalitions besides all and none (<=
   budget; the regression is determined once evaluations >= P - 1, and
   evaluations >= 2^P - 2 enumerates every coalition, giving the exact
   values to rounding).  The sum of phi is f(x) - f(all masked) to
   rounding whatever the budget; a ridge of 1e-9 of the largest diagonal
   keeps the fit solvable below P - 1 evaluations.
   Returns: AN_OK; AN_ERR_SHAPE when evaluations > budget; AN_ERR_NUMERIC;
   as an_xai_value. */
AN_API an_result an_xai_shap(an_xai *xai, size_t evaluations, uint64_t seed, double *phi,
                             an_xai_summary *summary);

/* Occlusion: phi_p = f(x) - f(x with player p masked).  budget >= 1.
   Returns: AN_OK; as an_xai_value. */
AN_API an_result an_xai_occlusion(an_xai *xai, double *phi, an_xai_summary *summary);

/* LIME: config->samples coalitions (the first all-present, then k masked
   players, k uniform in 1..P, chosen uniformly), weights exp(-d^2 / (2
   w^2)) with d = 1 - sqrt(kept / P), and the weighted ridge fit
   f ~ intercept + sum_p phi_p z_p minimising
   sum_k weight_k (f_k - intercept - z_k . phi)^2 + ridge |phi|^2;
   summary->fidelity is its weighted R^2 (1 when f is constant).  NULL
   config = the defaults.
   Returns: AN_OK; AN_ERR_INVALID_ARG for samples 0, a width <= 0 or a
   negative ridge (or non-finite); AN_ERR_SHAPE when samples > budget;
   AN_ERR_NUMERIC when ridge 0 leaves the fit singular; as an_xai_value. */
AN_API an_result an_xai_lime(an_xai *xai, const an_xai_lime_config *config, double *phi,
                             an_xai_summary *summary);

/* Importance per time step and channel from the model's own deviation:
   cells (n_rows, n_features) = (x - expected) / scale[channel], signed,
   in double, for rows x and what the detector expected for them
   (an_lstm_explain's reconstruction, a seasonal fit, an_detector_expected
   row by row while streaming).  scale (n_features), each finite and > 0:
   say each channel's robust sigma (an_inject_scale of the training rows,
   as `anomaly explain --explainer importance` uses), or NULL for 1 (the
   data's own units).  No detector call, no players: the cheapest
   explainer, and the one that needs an expectation.
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arrays, n_rows or
   n_features 0, or a scale that is not finite and > 0; AN_ERR_INPUT for
   a non-finite x or expected; AN_ERR_TOO_LARGE when the sizes overflow. */
AN_API an_result an_xai_importance(const float *x, const float *expected, size_t n_rows, size_t n_features,
                                   const double *scale, double *cells);

/* A baseline from normal rows, for the fill of masked cells
   (AN_XAI_FILL_EXPECTED) and the baseline of integrated gradients: for
   each channel, the run of `length` consecutive rows of `reference`
   (n_ref, n_features), say the training rows, nearest to that channel of
   `window` (length, n_features) in L1 distance (ties: the earliest run),
   copied into fill (length, n_features).  Runs that touch reference rows
   skip_start .. skip_end - 1 are not candidates: pass the window's own
   rows when the reference is the series being explained, or skip_start =
   skip_end for none.
   Why not the model's own expectation: a reconstruction of the anomalous
   window has seen the anomaly (an autoencoder follows a stuck channel, and
   its disturbed code moves the other channels' reconstruction), so masking
   with it removes little of the anomaly and puts attribution on channels
   that were normal.  Each channel is matched alone because the anomalous
   channel's distance would otherwise steer the others' match; L1 so that
   the few anomalous rows do not dominate the distance.
   Cost: n_ref x length x n_features comparisons, no memory.  On an error
   fill is left as it was.
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arrays or length or
   n_features 0; AN_ERR_TOO_SHORT when no run of the reference is a
   candidate; AN_ERR_INPUT for a non-finite reference or window;
   AN_ERR_TOO_LARGE when the sizes overflow. */
AN_API an_result an_xai_nearest_fill(const float *reference, size_t n_ref, size_t n_features, const float *window,
                                     size_t length, size_t skip_start, size_t skip_end, float *fill);

/* Spreads player values over the window's cells: cells (length,
   n_features), cell (i, c) = phi of its player / the player's cell count.
   Returns: AN_OK; AN_ERR_INVALID_ARG. */
AN_API an_result an_xai_cells(const an_xai *xai, const double *phi, double *cells);

/* Integrated gradients (Sundararajan et al. 2017) of the detector's score
   of row `target` of x (n_rows, n_features), through the contract's input
   gradient (an_detector_gradient; the LSTM models have one, AN_ERR_UNSUPPORTED
   for a detector without), on the straight path from a baseline:
       attr_i = (x_i - b_i) integral_0^1 d f / d x_i (b + s (x - b)) ds
   approximated with `steps` gradients at the midpoints s = (k + 1/2) /
   steps, or steps + 1 at s = k / steps with the trapezoid's end weights
   1/2.  attr is (n_rows, n_features).  The summary's gap, sum(attr) -
   (f(x) - f(b)), is the completeness error: it falls with the steps as
   1 / steps^2 for a smooth f; raise them until it is small enough.
   full and empty are f(x) and f(b); evaluations counts the gradients
   (and the two scores).  The path points go to the detector in batches
   of up to AN_XAI_BATCH (fewer for long series, as the explainers'
   masked copies) through an_detector_gradient_batch, which gives each
   the gradient it has alone.  Scratch: an_xai_ig_work_size bytes
   (64-aligned) in the _work form, else from `a` (NULL = default).  The LSTM models
   allocate their training block at their first gradient call (once).
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arrays, n_rows or steps 0,
   a target outside x, an unknown rule or misaligned work; AN_ERR_NUMERIC
   for a non-finite gradient or score; the detector's errors
   (AN_ERR_UNSUPPORTED without a gradient, AN_ERR_INPUT for a non-finite
   x or baseline); AN_ERR_NOMEM. */
typedef enum an_xai_rule { AN_XAI_MIDPOINT = 0, AN_XAI_TRAPEZOID = 1 } an_xai_rule;

/* Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for a zero size;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_xai_ig_work_size(size_t n_rows, size_t n_features, size_t *bytes);
AN_API an_result an_xai_integrated_gradients(an_detector *d, const float *x, const float *baseline, size_t n_rows,
                                             size_t target, size_t steps, an_xai_rule rule, double *attr,
                                             an_xai_summary *summary, const an_allocator *a);
/* Returns: as an_xai_integrated_gradients, without AN_ERR_NOMEM. */
AN_API an_result an_xai_integrated_gradients_work(an_detector *d, const float *x, const float *baseline,
                                                  size_t n_rows, size_t target, size_t steps, an_xai_rule rule,
                                                  double *attr, an_xai_summary *summary, void *work);

/* ==========================================================================
   3  REASONS IN WORDS
   ==========================================================================
   One line of English for an event of any detector: what kind of
   deviation, how large (in the series' units and in robust sigmas), in
   which channels, over which rows, expected against actual, and how
   confident the detector was.  Nothing is printed: the text goes into a
   caller buffer.

   The numbers.  Per channel, the residual is x - expected (expected from
   the caller, say a detector's reconstruction or a seasonal fit; without
   it, the median of the rows outside the event); its robust sigma is
   1.4826 MAD of the residuals of the rows outside the event, or, when
   over half of them are equal (MAD 0: a command that holds its value
   but for its steps), 1.2533 times their mean absolute deviation.  The
   channel told first is one whose values stop moving over an event of
   6 rows or more (flatline below: a stuck value sits near its expected
   one, so its sigmas say little), else the one whose residual goes the
   most sigmas from the median residual on some row of the event; its
   actual and expected values are those of that row; the others listed
   are those that go 4 sigmas or more (at most three).

   The kind, from the first channel's residuals r inside the event (rows
   start..end, L of them) against the outside rows, in this order:
     flatline        L >= 3 and the values' mean |first difference| inside
                     is under a twentieth of its median outside (noise
                     smoothed over 13 rows leaves about a tenth)
     variance change L >= 6 and the MAD of r inside is over 2.5 sigmas
                     while their median is within one inside MAD of the
                     outside median (a burst), or the values' mean
                     |second difference| inside is under a quarter of
                     its median outside (a collapse: the noise smoothed
                     away, a season hardly moves it)
     trend           L >= 6, a straight line explains over 60% of r's
                     variance inside, and it moves over 2 sigmas across
                     the event
     level shift     L >= 3 and the median of r inside is over 2 sigmas
                     from the outside median
     spike / dip     the largest residual above / below (L < 3: always)
     pattern change  anything else (L >= 3) */
typedef enum an_xai_deviation {
    AN_XAI_SPIKE = 0,
    AN_XAI_DIP = 1,
    AN_XAI_LEVEL_SHIFT = 2,
    AN_XAI_VARIANCE_CHANGE = 3,
    AN_XAI_FLATLINE = 4,
    AN_XAI_TREND = 5,
    AN_XAI_PATTERN_CHANGE = 6
} an_xai_deviation;

/* "spike", "dip", "level shift", "variance change", "flatline", "trend",
   "pattern change"; NULL out of range. */
AN_API const char *an_xai_deviation_name(int kind);

/* What the reason is computed from; start from an_xai_context_init(). */
typedef struct an_xai_context {
    size_t n_rows, n_features;
    const float *x;                 /* (n_rows, n_features), finite          */
    const double *expected;         /* (n_rows, n_features) or NULL; NaN
                                       entries: no expectation there         */
    const char *const *names;       /* (n_features) channel names or NULL
                                       ("channel 1", ...)                    */
    const char *const *stamps;      /* (n_rows) row labels (timestamps as
                                       in the input) or NULL ("row 0", ...) */
    double confidence;              /* the detector's at the peak, [0, 1];
                                       NaN = not told                         */
    const unsigned char *judged;    /* (n_features) or NULL (every channel):
                                       0 for a channel never told, an input
                                       the detector reads but does not judge */
} an_xai_context;

/* The reason's parts, as numbers. */
typedef struct an_xai_reason {
    an_xai_deviation kind;
    size_t channel;                 /* the channel told first                */
    size_t n_channels;              /* channels 4 sigmas out or more (at
                                       least 1: the first)                   */
    size_t row;                     /* its furthest row in the event         */
    double actual, expected;        /* the first channel at that row         */
    double deviation;               /* actual - expected, series units       */
    double sigmas;                  /* (residual - outside median) / sigma   */
} an_xai_reason;

/* Returns: an empty context, confidence NaN. */
AN_API an_xai_context an_xai_context_init(void);

/* The reason for event ev (start <= peak <= end < n_rows) into *reason (may
   be NULL) and text (capacity bytes, NUL-terminated, cut at capacity;
   *length, when not NULL, gets the full length without the NUL, so a
   first call with capacity 0 measures).  A sigma under 1e-12 (1 +
   |median|) (constant residuals outside) is taken as that.
   Scratch: n_rows floats from `a` (NULL = default).
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL x, sizes 0, an event out of
   range, a judged mask without a channel, or text NULL with capacity > 0;
   AN_ERR_INPUT for a non-finite x; AN_ERR_NOMEM. */
AN_API an_result an_xai_explain_event(const an_xai_context *c, const an_event *ev, an_xai_reason *reason,
                                      char *text, size_t capacity, size_t *length, const an_allocator *a);

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_XAI_H_INCLUDED */

/* ##########################################################################
   IMPLEMENTATION
   ########################################################################## */
#if defined(ANOMALY_IMPLEMENTATION) && !defined(ANOMALY_XAI_IMPLEMENTATION_DONE)
#define ANOMALY_XAI_IMPLEMENTATION_DONE

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
   1  REPORT
   ========================================================================== */

/* Colours: one accent for anomalies, greys for everything else. */
#define AN__C_INK      "#222222"   /* series, title                 */
#define AN__C_TEXT     "#555555"   /* axis labels, legend           */
#define AN__C_SOFT     "#707070"   /* subtitle, notes (4.9:1 on white) */
#define AN__C_GRID     "#e4e4e4"   /* gridlines                     */
#define AN__C_AXIS     "#9a9a9a"   /* baseline, ticks               */
#define AN__C_EXPECT   "#6b6b6b"   /* expected line (dashed)        */
#define AN__C_BAND     "#e3e8ee"   /* expected band                 */
#define AN__C_SCORE    "#d4d4d4"   /* score area                    */
#define AN__C_ACCENT   "#c2410c"   /* anomalies (5.2:1 on white)    */
#define AN__FONT       "Helvetica Neue, Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif"

#define AN__TIME_MIN   (-62135596800.0)  /* 0001-01-01T00:00:00Z */
#define AN__TIME_MAX   253402300799.0    /* 9999-12-31T23:59:59Z */
#define AN__TICKS_CAP  40

/* --------------------------------------------------------------------------
   Output: a small buffer in front of the callback, errors sticky
   -------------------------------------------------------------------------- */

typedef struct an__svg {
    an_report_write_fn write;
    void *user;
    an_result err;
    size_t len;
    char buf[1024];
} an__svg;

static void an__svg_flush(an__svg *w)
{
    if (w->err == AN_OK && w->len && w->write(w->user, w->buf, w->len) != 0) w->err = AN_ERR_IO;
    w->len = 0;
}

static void an__svg_raw(an__svg *w, const char *s, size_t n)
{
    while (n && w->err == AN_OK) {
        size_t room = sizeof w->buf - w->len, k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
        if (w->len == sizeof w->buf) an__svg_flush(w);
    }
}

static void an__svg_put(an__svg *w, const char *s) { an__svg_raw(w, s, strlen(s)); }

/* Text for XML content or a double-quoted attribute: the five special
   characters as entities, control characters as spaces, and any byte that
   does not start valid UTF-8 (or starts U+FFFE / U+FFFF) as U+FFFD. */
static void an__svg_text_n(an__svg *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end && *p && w->err == AN_OK) {
        unsigned c = *p;
        size_t len = 1, k;
        int ok = 1;
        if (c < 0x80) {
            switch (c) {
            case '<': an__svg_put(w, "&lt;"); break;
            case '>': an__svg_put(w, "&gt;"); break;
            case '&': an__svg_put(w, "&amp;"); break;
            case '"': an__svg_put(w, "&quot;"); break;
            case '\'': an__svg_put(w, "&apos;"); break;
            default: an__svg_raw(w, c < 0x20 || c == 0x7f ? " " : (const char *)p, 1);
            }
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c >= 0xe0 && c <= 0xef) len = 3;
        else if (c >= 0xf0 && c <= 0xf4) len = 4;
        else ok = 0;
        if ((size_t)(end - p) < len) ok = 0;
        for (k = 1; ok && k < len; k++)
            if ((p[k] & 0xc0) != 0x80) ok = 0;
        if (ok && len >= 3) {
            unsigned c1 = p[1];
            if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
                (c == 0xf4 && c1 > 0x8f) || (c == 0xef && c1 == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)))
                ok = 0;
        }
        if (ok) {
            an__svg_raw(w, (const char *)p, len);
            p += len;
        } else {
            an__svg_put(w, "\xef\xbf\xbd");
            p++;
        }
    }
}

static void an__svg_text(an__svg *w, const char *s) { an__svg_text_n(w, s, strlen(s)); }

/* --------------------------------------------------------------------------
   Numbers without printf: fixed decimals, or %g-like significant digits
   -------------------------------------------------------------------------- */

/* Writes the decimal digits of u backwards ending at `end`; returns start. */
static char *an__digits(char *end, unsigned long long u)
{
    do {
        *--end = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    return end;
}

static size_t an__fmt_g(char *out, double v, int sig);

/* v with `decimals` digits after the point (0..15), trailing zeros kept
   unless trim; group: commas every three integer digits.
   Falls back to an__fmt_g past 2^53 scaled units.  out: >= 48 bytes. */
static size_t an__fmt_fixed(char *out, double v, int decimals, int trim, int group)
{
    char tmp[48], *s, *e = tmp + sizeof tmp;
    double scale = 1.0, x;
    unsigned long long u, ip, fp;
    size_t n = 0, nd, k;
    int d;
    if (!an__finite(v)) return an__fmt_g(out, v, 6);
    for (d = 0; d < decimals; d++) scale *= 10.0;
    x = floor(fabs(v) * scale + 0.5);
    if (!(x < 9007199254740992.0)) return an__fmt_g(out, v, 6);
    u = (unsigned long long)x;
    ip = u;
    for (d = 0; d < decimals; d++) ip /= 10;
    fp = u - ip * (unsigned long long)scale;
    if (v < 0 && u) out[n++] = '-';
    s = an__digits(e, ip);
    nd = (size_t)(e - s);
    for (k = 0; k < nd; k++) {
        if (group && k && (nd - k) % 3 == 0) out[n++] = ',';
        out[n++] = s[k];
    }
    if (decimals > 0) {
        size_t start = n;
        out[n++] = '.';
        s = an__digits(e, fp);
        for (k = (size_t)(e - s); k < (size_t)decimals; k++) out[n++] = '0';
        while (s < e) out[n++] = *s++;
        if (trim) {
            while (n > start + 1 && out[n - 1] == '0') n--;
            if (n == start + 1) n = start;
        }
    }
    out[n] = '\0';
    return n;
}

/* Like printf's %.{sig}g with trailing zeros trimmed and exponents
   written plainly ("1.5e-07" -> "1.5e-7").  out: >= 48 bytes. */
static size_t an__fmt_g(char *out, double v, int sig)
{
    double a = fabs(v), m;
    int e, dec;
    size_t n;
    char *s, tmp[8];
    if (v != v) { memcpy(out, "NaN", 4); return 3; }
    if (a - a != 0.0) { memcpy(out, v < 0 ? "-Inf" : "Inf", v < 0 ? 5 : 4); return v < 0 ? 4 : 3; }
    if (a == 0.0) { memcpy(out, "0", 2); return 1; }
    e = (int)floor(log10(a));
    m = e < -300 ? a * 1e300 / pow(10.0, e + 300) : a / pow(10.0, e);   /* 1e-324 is 0 */
    dec = sig - 1;
    /* rounding to sig digits may carry into the next power of ten */
    if (floor(m * pow(10.0, dec) + 0.5) >= pow(10.0, sig)) { e++; m /= 10.0; }
    if (m < 1.0) { e--; m *= 10.0; }
    if (e >= -4 && e < sig) {
        dec = sig - 1 - e;
        if (dec > 15) dec = 15;
        return an__fmt_fixed(out, v, dec, 1, 0);
    }
    n = an__fmt_fixed(out, v < 0 ? -m : m, dec > 15 ? 15 : dec, 1, 0);
    out[n++] = 'e';
    if (e < 0) { out[n++] = '-'; e = -e; }
    s = an__digits(tmp + sizeof tmp, (unsigned long long)e);
    while (s < tmp + sizeof tmp) out[n++] = *s++;
    out[n] = '\0';
    return n;
}

/* A pixel coordinate: one decimal, clamped so nothing can blow up. */
static void an__svg_coord(an__svg *w, double v)
{
    char b[48];
    if (!(v > -1e6)) v = -1e6;
    if (v > 1e6) v = 1e6;
    an__svg_raw(w, b, an__fmt_fixed(b, v, 1, 1, 0));
}

static void an__svg_int(an__svg *w, long v)
{
    char b[48];
    an__svg_raw(w, b, an__fmt_fixed(b, (double)v, 0, 0, 0));
}

/* ` name="value"` with a coordinate value. */
static void an__svg_attr(an__svg *w, const char *name, double v)
{
    an__svg_put(w, " ");
    an__svg_put(w, name);
    an__svg_put(w, "=\"");
    an__svg_coord(w, v);
    an__svg_put(w, "\"");
}

/* --------------------------------------------------------------------------
   Calendar: days since 1970-01-01 <-> proleptic Gregorian dates (UTC)
   -------------------------------------------------------------------------- */

typedef struct an__date { long year; int month, day, hour, minute, second; } an__date;

static long an__floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The inverse of an_days_from_civil (anomaly.h section 6). */
static void an__date_from_days(long days, long *y, int *m, int *d)
{
    long z = days + 719468, cycle = an__floor_div(z, 146097), doc = z - cycle * 146097;
    long yc = (doc - doc / 1460 + doc / 36524 - doc / 146096) / 365;
    long doy = doc - (365 * yc + yc / 4 - yc / 100);
    long mp = (5 * doy + 2) / 153;                          /* 0 = March */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yc + cycle * 400 + (*m <= 2);
}

static an__date an__date_of(double t)
{
    an__date dt;
    double days = floor(t / 86400.0);
    long sec = (long)floor(t - days * 86400.0);
    if (sec > 86399) sec = 86399;
    an__date_from_days((long)days, &dt.year, &dt.month, &dt.day);
    dt.hour = (int)(sec / 3600);
    dt.minute = (int)(sec / 60 % 60);
    dt.second = (int)(sec % 60);
    return dt;
}

static const char *const an__month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static size_t an__put2(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return 2;
}

static size_t an__put_year(char *o, long y)
{
    char tmp[8], *s = an__digits(tmp + sizeof tmp, (unsigned long long)y);
    size_t n = 0;
    while (s < tmp + sizeof tmp) o[n++] = *s++;
    return n;
}

/* Time label styles, matching the tick units below. */
enum { AN__T_SECOND, AN__T_MINUTE, AN__T_HOUR, AN__T_DAY, AN__T_WEEK, AN__T_MONTH, AN__T_YEAR };

/* "12:00:05", "12:00", "Jul 3", "Jul", "2014"; and the full form
   "2014-07-03 12:00" for tooltips (style -1).  out: >= 32 bytes. */
static size_t an__fmt_time(char *o, double t, int style)
{
    an__date d = an__date_of(t);
    size_t n = 0;
    switch (style) {
    case AN__T_SECOND:
    case AN__T_MINUTE:
    case AN__T_HOUR:
        n += an__put2(o + n, d.hour);
        o[n++] = ':';
        n += an__put2(o + n, d.minute);
        if (style == AN__T_SECOND) { o[n++] = ':'; n += an__put2(o + n, d.second); }
        break;
    case AN__T_DAY:
    case AN__T_WEEK:
        memcpy(o, an__month_names[d.month - 1], 3);
        n = 3;
        o[n++] = ' ';
        if (d.day >= 10) o[n++] = (char)('0' + d.day / 10);
        o[n++] = (char)('0' + d.day % 10);
        break;
    case AN__T_MONTH:
        memcpy(o, an__month_names[d.month - 1], 3);
        n = 3;
        break;
    case AN__T_YEAR:
        n = an__put_year(o, d.year);
        break;
    default:
        n = an__put_year(o, d.year);
        o[n++] = '-';
        n += an__put2(o + n, d.month);
        o[n++] = '-';
        n += an__put2(o + n, d.day);
        o[n++] = ' ';
        n += an__put2(o + n, d.hour);
        o[n++] = ':';
        n += an__put2(o + n, d.minute);
        if (d.second) { o[n++] = ':'; n += an__put2(o + n, d.second); }
    }
    o[n] = '\0';
    return n;
}

/* --------------------------------------------------------------------------
   Ticks
   -------------------------------------------------------------------------- */

/* Ticks of `step` in [lo, hi], allowing for rounding at the ends. */
static double an__tick_count(double lo, double hi, double step)
{
    double first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9);
    return last >= first ? last - first + 1.0 : 0.0;
}

/* The 1, 2 or 5 times a power of ten step whose tick count over [lo, hi]
   is nearest max_ticks (the fewer ticks on a tie).  lo < hi, both finite. */
static double an__nice_step(double lo, double hi, size_t max_ticks)
{
    static const double mult[3] = { 1.0, 2.0, 5.0 };
    double raw = hi / (double)max_ticks - lo / (double)max_ticks, mag, best = 0.0, best_gap = HUGE_VAL;
    int e, k;
    mag = pow(10.0, floor(log10(raw)) - 1.0);
    for (e = 0; e < 3; e++) {
        for (k = 0; k < 3; k++) {
            double step = mult[k] * mag, count = an__tick_count(lo, hi, step);
            double gap = fabs(count - (double)max_ticks);
            if (!an__finite(step) || step <= 0.0 || count < 2.0) continue;
            if (gap < best_gap || (gap == best_gap && step > best)) { best = step; best_gap = gap; }
        }
        mag *= 10.0;
    }
    if (best == 0.0) {   /* no candidate gives two ticks: the one above raw */
        mag = pow(10.0, floor(log10(raw)));
        best = raw / mag <= 2.0 ? 2.0 * mag : raw / mag <= 5.0 ? 5.0 * mag : 10.0 * mag;
    }
    return best;
}

AN_API an_result an_report_nice_ticks(double lo, double hi, size_t max_ticks, double *ticks, size_t capacity,
                                      size_t *count)
{
    double step, first, t;
    size_t k, n = 0, limit;
    if (!count || (capacity && !ticks) || max_ticks == 0) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (!an__finite(lo) || !an__finite(hi) || !(lo < hi)) return AN_ERR_INVALID_ARG;
    step = an__nice_step(lo, hi, max_ticks);
    first = ceil(lo / step - 1e-9);
    limit = 2 * max_ticks + 2;
    for (k = 0; k <= limit; k++) {
        t = (first + (double)k) * step;
        if (t > hi && t - hi > step * 1e-9) break;   /* also stops at an overflow */
        if (fabs(t) < step * 1e-9) t = 0.0;   /* no "-0" */
        if (n < capacity) ticks[n] = t;
        n++;
    }
    *count = n;
    return n > capacity ? AN_ERR_SHAPE : AN_OK;
}

typedef struct an__time_step { double seconds; int style, mult; } an__time_step;

static const an__time_step an__time_steps[] = {
    { 1, AN__T_SECOND, 1 }, { 2, AN__T_SECOND, 2 }, { 5, AN__T_SECOND, 5 }, { 10, AN__T_SECOND, 10 },
    { 15, AN__T_SECOND, 15 }, { 30, AN__T_SECOND, 30 },
    { 60, AN__T_MINUTE, 60 }, { 120, AN__T_MINUTE, 120 }, { 300, AN__T_MINUTE, 300 },
    { 600, AN__T_MINUTE, 600 }, { 900, AN__T_MINUTE, 900 }, { 1800, AN__T_MINUTE, 1800 },
    { 3600, AN__T_HOUR, 3600 }, { 7200, AN__T_HOUR, 7200 }, { 10800, AN__T_HOUR, 10800 },
    { 21600, AN__T_HOUR, 21600 }, { 43200, AN__T_HOUR, 43200 },
    { 86400, AN__T_DAY, 86400 }, { 172800, AN__T_DAY, 172800 }, { 604800, AN__T_WEEK, 604800 },
    { 2629746, AN__T_MONTH, 1 }, { 5259492, AN__T_MONTH, 2 }, { 7889238, AN__T_MONTH, 3 },
    { 15778476, AN__T_MONTH, 6 },
    { 31556952, AN__T_YEAR, 1 }, { 63113904, AN__T_YEAR, 2 }, { 157784760, AN__T_YEAR, 5 },
    { 315569520, AN__T_YEAR, 10 }, { 631139040, AN__T_YEAR, 20 }, { 1577847600, AN__T_YEAR, 50 },
    { 3155695200.0, AN__T_YEAR, 100 }, { 6311390400.0, AN__T_YEAR, 200 }, { 15778476000.0, AN__T_YEAR, 500 },
    { 31556952000.0, AN__T_YEAR, 1000 }, { 63113904000.0, AN__T_YEAR, 2000 }
};

/* The ticks of one step in [t0, t1]: how many there are, the first
   `capacity` written. */
static size_t an__time_ticks_of(const an__time_step *s, double t0, double t1, double *ticks, size_t capacity)
{
    size_t n = 0;
    double t;
    if (s->style <= AN__T_WEEK) {
        /* fixed lengths that divide a day or are whole days: align to the
           epoch; weeks: align to a Monday.  Each tick is first + n step,
           not a running sum, so no error accumulates (all whole seconds). */
        const double origin = s->style == AN__T_WEEK ? 4 * 86400.0 : 0.0;   /* 1970-01-05 */
        const double first = origin + ceil((t0 - origin) / s->seconds) * s->seconds;
        while ((t = first + (double)n * s->seconds) <= t1) {
            if (n < capacity) ticks[n] = t;
            n++;
        }
    } else {
        an__date d = an__date_of(t0);
        long y = d.year, mi;
        int m = d.month;
        if (s->style == AN__T_MONTH) {
            /* the first month start >= t0 whose month (0-based) is a multiple */
            mi = y * 12 + (m - 1);
            if ((double)an_days_from_civil(y, m, 1) * 86400.0 < t0) mi++;
            while (mi % s->mult) mi++;
            for (;; mi += s->mult) {
                t = (double)an_days_from_civil(mi / 12, (int)(mi % 12) + 1, 1) * 86400.0;
                if (t > t1) break;
                if (n < capacity) ticks[n] = t;
                n++;
            }
        } else {
            if ((double)an_days_from_civil(y, 1, 1) * 86400.0 < t0) y++;
            while (y % s->mult) y++;
            for (;; y += s->mult) {
                t = (double)an_days_from_civil(y, 1, 1) * 86400.0;
                if (t > t1) break;
                if (n < capacity) ticks[n] = t;
                n++;
            }
        }
    }
    return n;
}

/* The ticks and the label style of the step chosen: the smallest step
   with at most about max_ticks ticks, or a smaller one when that step
   falls fewer than twice in the span (25 days may hold no 1st of a
   month), as long as the smaller does not crowd the axis with more than
   2 max_ticks + 1 where the larger had one tick. */
static an_result an__time_ticks(double t0, double t1, size_t max_ticks, double *ticks, size_t capacity,
                                size_t *count, int *style)
{
    const size_t n_steps = sizeof an__time_steps / sizeof an__time_steps[0];
    size_t i, n, best;
    double span = t1 - t0;
    if (!count || (capacity && !ticks) || max_ticks == 0) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (!(t0 >= AN__TIME_MIN) || !(t1 <= AN__TIME_MAX) || !(t0 <= t1)) return AN_ERR_INVALID_ARG;
    for (i = 0; i + 1 < n_steps; i++)
        if (span / an__time_steps[i].seconds <= (double)max_ticks) break;
    best = i;
    n = an__time_ticks_of(&an__time_steps[i], t0, t1, NULL, 0);
    while (n < 2 && i > 0) {   /* finer, unless that crowds a tick that exists */
        size_t finer = an__time_ticks_of(&an__time_steps[--i], t0, t1, NULL, 0);
        if (n >= 1 && finer > 2 * max_ticks + 1) break;
        best = i;
        n = finer;
    }
    n = an__time_ticks_of(&an__time_steps[best], t0, t1, ticks, capacity);
    if (style) *style = an__time_steps[best].style;
    *count = n;
    return n > capacity ? AN_ERR_SHAPE : AN_OK;
}

AN_API an_result an_report_time_ticks(double t0, double t1, size_t max_ticks, double *ticks, size_t capacity,
                                      size_t *count)
{
    return an__time_ticks(t0, t1, max_ticks, ticks, capacity, count, NULL);
}

/* --------------------------------------------------------------------------
   Geometry
   -------------------------------------------------------------------------- */

typedef struct an__panel {
    double top, h;          /* pixels                          */
    double lo, hi;          /* value range shown               */
    double ticks[AN__TICKS_CAP];
    size_t n_ticks;
    int decimals;           /* for the tick labels             */
    int nines;              /* score panel on the nines scale  */
    int group;              /* thousands commas in its labels  */
    size_t feature;
} an__panel;

typedef struct an__chart {
    const an_report *r;
    double width, height, left, right;   /* plot spans left..right  */
    double x_lo, x_hi;                    /* data x at left, right   */
    size_t n_panels;                      /* value panels            */
    an__panel panel[AN_REPORT_MAX_PANELS];
    int has_score;
    an__panel score;
    double top, bottom;                   /* plots' extent           */
    double max_severity;
} an__chart;

static double an__x_of(const an_report *r, size_t i) { return r->time ? r->time[i] : (double)i; }

static double an__px(const an__chart *c, double x)
{
    return c->left + (x * 0.5 - c->x_lo * 0.5) / (c->x_hi * 0.5 - c->x_lo * 0.5) * (c->right - c->left);
}

static double an__py(const an__panel *p, double v)
{
    return p->top + (p->hi * 0.5 - v * 0.5) / (p->hi * 0.5 - p->lo * 0.5) * p->h;
}

/* A score's height in its panel's units: clamped to [0, 1], then as is
   or in nines (clamped to the panel's top). */
static double an__score_pos(const an__panel *p, double s)
{
    s = s < 0.0 ? 0.0 : s > 1.0 ? 1.0 : s;
    if (!p->nines) return s;
    s = s < 1.0 ? -log10(1.0 - s) : p->hi;
    return s < p->hi ? s : p->hi;
}

/* Rough text width for layout: no font metrics, about 0.56 em a glyph. */
static double an__text_width(const char *s, double size)
{
    size_t glyphs = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) glyphs++;
    return (double)glyphs * size * 0.56;
}

/* The next line of s that fits in max_w at `size` (by the estimate
   above): broken at the last space that fits, or inside a word longer
   than the line.  Returns its length; *next is where the following line
   starts (strlen(s) at the end). */
static size_t an__wrap(const char *s, double size, double max_w, size_t *next)
{
    size_t i = 0, space = 0, glyphs = 0, limit = (size_t)(max_w / (size * 0.56));
    int have_space = 0;
    if (limit < 4) limit = 4;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) == 0x80) continue;
        if (glyphs == limit) {
            if (have_space) {
                *next = space + 1;
                return space;
            }
            *next = i;
            return i;
        }
        if (s[i] == ' ') { space = i; have_space = 1; }
        glyphs++;
    }
    *next = i;
    return i;
}

#define AN__MAX_LINES 3

static size_t an__line_count(const char *s, double size, double max_w)
{
    size_t lines = 0, next;
    if (!s) return 0;
    while (*s == ' ') s++;
    while (*s && lines < AN__MAX_LINES) {
        an__wrap(s, size, max_w, &next);
        s += next;
        while (*s == ' ') s++;
        lines++;
    }
    return lines;
}

/* Up to AN__MAX_LINES <text> lines from baseline y, `step` apart, the
   last ending in an ellipsis when text remains. */
static void an__draw_wrapped(an__svg *w, double x, double y, double step, double size, double max_w,
                             const char *style, const char *s)
{
    size_t lines = 0, len, next;
    while (*s == ' ') s++;
    while (*s && lines < AN__MAX_LINES && w->err == AN_OK) {
        len = an__wrap(s, size, max_w, &next);
        an__svg_put(w, "<text");
        an__svg_attr(w, "x", x);
        an__svg_attr(w, "y", y + step * (double)lines);
        an__svg_put(w, " ");
        an__svg_put(w, style);
        an__svg_put(w, ">");
        an__svg_text_n(w, s, len);
        s += next;
        while (*s == ' ') s++;
        if (++lines == AN__MAX_LINES && *s) an__svg_put(w, "\xe2\x80\xa6");
        an__svg_put(w, "</text>\n");
    }
}

static void an__range_add(double *lo, double *hi, double v)
{
    if (!an__finite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

/* A panel's value range (padded), ticks and label decimals. */
static void an__panel_scale(an__panel *p, const an_report *r, size_t f)
{
    size_t i, nf = r->n_features, k;
    double lo = HUGE_VAL, hi = -HUGE_VAL, pad, step, max_ticks;
    for (i = 0; i < r->n; i++) {
        size_t at = i * nf + f;
        an__range_add(&lo, &hi, (double)r->values[at]);
        if (r->expected) an__range_add(&lo, &hi, r->expected[at]);
        if (r->lower) { an__range_add(&lo, &hi, r->lower[at]); an__range_add(&lo, &hi, r->upper[at]); }
    }
    if (lo > hi) { lo = 0.0; hi = 1.0; }                 /* nothing finite */
    if (hi * 0.5 - lo * 0.5 <= fabs(hi) * 1e-12) {       /* constant       */
        pad = fabs(hi) * 0.1;
        if (pad < 1e-300) pad = 1.0;
        lo -= pad;
        hi += pad;
    } else {
        pad = (hi * 0.5 - lo * 0.5) * 0.1;
        lo = lo - pad > -DBL_MAX ? lo - pad : -DBL_MAX;
        hi = hi + pad < DBL_MAX ? hi + pad : DBL_MAX;
    }
    p->lo = lo;
    p->hi = hi;
    max_ticks = floor(p->h / 40.0);
    if (max_ticks < 3) max_ticks = 3;
    if (max_ticks > 7) max_ticks = 7;
    if (an_report_nice_ticks(lo, hi, (size_t)max_ticks, p->ticks, AN__TICKS_CAP, &p->n_ticks) != AN_OK)
        p->n_ticks = 0;
    step = an__nice_step(lo, hi, (size_t)max_ticks);
    /* "5,000" beside "10,000", but "2014" alone */
    p->group = p->n_ticks && (fabs(p->ticks[0]) >= 1e4 || fabs(p->ticks[p->n_ticks - 1]) >= 1e4);
    p->decimals = 0;
    for (k = 0; k < 15 && step * pow(10.0, (double)p->decimals) < 0.999999; k++) p->decimals++;
}

/* A tick label: fixed decimals, thousands commas when `group`, %g past
   1e15, and a true minus sign (U+2212) as typesetters write it.
   b: >= 48 bytes. */
static size_t an__fmt_tick(char *b, double v, int decimals, int group)
{
    size_t n = fabs(v) >= 1e15 || (v != 0.0 && decimals > 6) ? an__fmt_g(b, v, 6)
                                                              : an__fmt_fixed(b, v, decimals, 0, group);
    if (n && b[0] == '-') {
        memmove(b + 3, b + 1, n);   /* with the NUL */
        memcpy(b, "\xe2\x88\x92", 3);   /* NOLINT(bugprone-not-null-terminated-result): b's NUL moved with it */
        n += 2;
    }
    return n;
}

/* --------------------------------------------------------------------------
   Traces: points in row order, thinned to a few per pixel column
   -------------------------------------------------------------------------- */

enum { AN__TRACE_LINE, AN__TRACE_TOP, AN__TRACE_BOTTOM };

typedef struct an__trace {
    an__svg *w;
    int mode;
    int have;              /* a column is being gathered             */
    int open;              /* points written in the current subpath  */
    long col;
    double fx, fy, ax, ay, bx, by, lx, ly;   /* first, min-y, max-y, last (pixels) */
} an__trace;

static void an__trace_point(an__trace *t, double x, double y)
{
    an__svg *w = t->w;
    an__svg_put(w, t->open ? " " : "M");
    an__svg_coord(w, x);
    an__svg_put(w, ",");
    an__svg_coord(w, y);
    t->open++;
}

static void an__trace_flush(an__trace *t)
{
    if (!t->have) return;
    t->have = 0;
    if (t->mode == AN__TRACE_LINE) {
        /* first, the extremes in the order they came, last; no repeats */
        double px[4], py[4];
        size_t k, m = 0;
        px[m] = t->fx; py[m++] = t->fy;
        if (t->ax <= t->bx) { px[m] = t->ax; py[m++] = t->ay; px[m] = t->bx; py[m++] = t->by; }
        else { px[m] = t->bx; py[m++] = t->by; px[m] = t->ax; py[m++] = t->ay; }
        px[m] = t->lx; py[m++] = t->ly;
        for (k = 0; k < m; k++)
            if (k == 0 || px[k] != px[k - 1] || py[k] != py[k - 1]) an__trace_point(t, px[k], py[k]);
    } else {
        double y = t->mode == AN__TRACE_TOP ? t->ay : t->by;
        an__trace_point(t, t->fx, y);
        if (t->lx != t->fx) an__trace_point(t, t->lx, y);
    }
}

static void an__trace_push(an__trace *t, double x, double y)
{
    double fx = floor(x);
    long col = fx > -1e9 && fx < 1e9 ? (long)fx : 0;   /* pixels are near the plot */
    if (t->have && col != t->col) an__trace_flush(t);
    if (!t->have) {
        t->have = 1;
        t->col = col;
        t->fx = t->ax = t->bx = t->lx = x;
        t->fy = t->ay = t->by = t->ly = y;
        return;
    }
    if (y < t->ay) { t->ay = y; t->ax = x; }   /* pixel y grows downwards */
    if (y > t->by) { t->by = y; t->bx = x; }
    t->lx = x;
    t->ly = y;
}

/* Ends the subpath: a lone point becomes a dot (round caps draw it). */
static void an__trace_break(an__trace *t)
{
    an__trace_flush(t);
    if (t->open == 1) an__svg_put(t->w, "h0");
    t->open = 0;
}

static void an__trace_init(an__trace *t, an__svg *w, int mode)
{
    memset(t, 0, sizeof *t);
    t->w = w;
    t->mode = mode;
}

/* --------------------------------------------------------------------------
   Drawing
   -------------------------------------------------------------------------- */

static void an__svg_text_at(an__svg *w, double x, double y, const char *anchor, const char *style,
                            const char *text)
{
    an__svg_put(w, "<text");
    an__svg_attr(w, "x", x);
    an__svg_attr(w, "y", y);
    if (anchor) { an__svg_put(w, " text-anchor=\""); an__svg_put(w, anchor); an__svg_put(w, "\""); }
    an__svg_put(w, " ");
    an__svg_put(w, style);
    an__svg_put(w, ">");
    an__svg_text(w, text);
    an__svg_put(w, "</text>\n");
}

static void an__svg_hline(an__svg *w, double x0, double x1, double y, const char *style)
{
    an__svg_put(w, "<path d=\"M");
    an__svg_coord(w, x0);
    an__svg_put(w, ",");
    an__svg_coord(w, y);
    an__svg_put(w, "H");
    an__svg_coord(w, x1);
    an__svg_put(w, "\" ");
    an__svg_put(w, style);
    an__svg_put(w, "/>\n");
}

/* The series of one feature (a column of a row-major array) over rows
   [a, b], with gaps at non-finite values.  One path. */
static void an__draw_line(an__svg *w, const an__chart *c, const an__panel *p, const float *vf, const double *vd,
                          size_t a, size_t b, const char *style)
{
    const an_report *r = c->r;
    size_t i, nf = r->n_features;
    an__trace t;
    if (!vf && !vd) return;   /* one of the two is the series */
    an__trace_init(&t, w, AN__TRACE_LINE);
    an__svg_put(w, "<path ");
    an__svg_put(w, style);
    an__svg_put(w, " d=\"");
    for (i = a; i <= b; i++) {
        double v = vf ? (double)vf[i * nf + p->feature] : vd[i * nf + p->feature];
        if (!an__finite(v)) { an__trace_break(&t); continue; }
        an__trace_push(&t, an__px(c, an__x_of(r, i)), an__py(p, v));
    }
    an__trace_break(&t);
    an__svg_put(w, "\"/>\n");
}

/* The band lower..upper of one feature as closed polygons, one per run of
   rows where both sides are finite: along the top forwards, back along
   the bottom. */
static void an__draw_band(an__svg *w, const an__chart *c, const an__panel *p)
{
    const an_report *r = c->r;
    size_t i = 0, a, b, k, nf = r->n_features, f = p->feature;
    an__trace t;
    an__svg_put(w, "<path class=\"band\" fill=\"" AN__C_BAND "\" stroke=\"none\" d=\"");
    while (i < r->n) {
        if (!an__finite(r->lower[i * nf + f]) || !an__finite(r->upper[i * nf + f])) { i++; continue; }
        a = i;
        while (i + 1 < r->n && an__finite(r->lower[(i + 1) * nf + f]) && an__finite(r->upper[(i + 1) * nf + f])) i++;
        b = i++;
        an__trace_init(&t, w, AN__TRACE_TOP);
        for (k = a; k <= b; k++) {
            double hi = r->upper[k * nf + f], lo = r->lower[k * nf + f];
            an__trace_push(&t, an__px(c, an__x_of(r, k)), an__py(p, hi > lo ? hi : lo));
        }
        an__trace_flush(&t);
        t.mode = AN__TRACE_BOTTOM;
        for (k = b + 1; k-- > a;) {
            double hi = r->upper[k * nf + f], lo = r->lower[k * nf + f];
            an__trace_push(&t, an__px(c, an__x_of(r, k)), an__py(p, hi > lo ? lo : hi));
        }
        an__trace_flush(&t);
        an__svg_put(w, "Z");
    }
    an__svg_put(w, "\"/>\n");
}

/* Tick k's label: a value, or on the nines scale 0, 0.9, 0.99, ... */
static void an__panel_label(char *b, const an__panel *p, size_t k)
{
    size_t n = 0, j, nines;
    if (!p->nines) {
        an__fmt_tick(b, p->ticks[k], p->decimals, p->group);
        return;
    }
    nines = (size_t)p->ticks[k];   /* 0 .. 6 */
    b[n++] = '0';
    if (nines) b[n++] = '.';
    for (j = 0; j < nines && j < 40; j++) b[n++] = '9';
    b[n] = '\0';
}

static void an__draw_y_axis(an__svg *w, const an__chart *c, const an__panel *p, int score)
{
    size_t k, every = 1;
    char b[48];
    if (p->nines) {   /* label every few nines, the top always, when they crowd */
        double spacing = p->h / (p->hi - p->lo);
        while ((double)every * spacing < 13.0 && every < 8) every++;
    }
    for (k = 0; k < p->n_ticks; k++) {
        double y = an__py(p, p->ticks[k]);
        int base = score && p->ticks[k] == 0.0;
        an__svg_hline(w, c->left, c->right, y,
                      base ? "stroke=\"" AN__C_AXIS "\" stroke-width=\"1\""
                           : "stroke=\"" AN__C_GRID "\" stroke-width=\"1\"");
        if ((p->n_ticks - 1 - k) % every) continue;
        an__panel_label(b, p, k);
        an__svg_text_at(w, c->left - 8, y, "end", "dy=\"0.32em\" class=\"ytick\"", b);
    }
}

/* Events whose shadings touch or overlap are drawn as one group: in the
   given order, an event joins the open group when it starts no earlier
   than the group and at most a pixel to the right of its shading (so
   events sorted by start never stack their shading). */
typedef struct an__group {
    size_t start, end;    /* rows covered                    */
    size_t best;          /* index of its most severe event   */
    size_t count;         /* events in it                     */
    double x0, x1;        /* shading, pixels                  */
} an__group;

typedef struct an__groups { size_t i; int open; an__group g; } an__groups;

static void an__group_start(const an__chart *c, an__group *g, size_t i, double x0, double x1)
{
    g->start = c->r->events[i].start;
    g->end = c->r->events[i].end;
    g->best = i;
    g->count = 1;
    g->x0 = x0;
    g->x1 = x1;
}

static int an__group_next(const an__chart *c, an__groups *it, an__group *out)
{
    const an_report *r = c->r;
    while (it->i < r->n_events) {
        const an_event *e = &r->events[it->i];
        double x0 = an__px(c, an__x_of(r, e->start)), x1 = an__px(c, an__x_of(r, e->end));
        if (x1 - x0 < 3.0) {
            double m = 0.5 * (x0 + x1);
            x0 = m - 1.5;
            x1 = m + 1.5;
        }
        if (it->open && e->start >= it->g.start && x0 <= it->g.x1 + 1.0) {
            if (e->end > it->g.end) it->g.end = e->end;
            if (x1 > it->g.x1) it->g.x1 = x1;
            it->g.count++;
            if (e->severity > r->events[it->g.best].severity) it->g.best = it->i;
            it->i++;
            continue;
        }
        if (it->open) {
            *out = it->g;
            an__group_start(c, &it->g, it->i++, x0, x1);
            return 1;
        }
        an__group_start(c, &it->g, it->i++, x0, x1);
        it->open = 1;
    }
    if (it->open) {
        *out = it->g;
        it->open = 0;
        return 1;
    }
    return 0;
}

static void an__put_row_time(an__svg *w, const an_report *r, size_t row)
{
    char b[48];
    if (r->time) an__fmt_time(b, r->time[row], -1);
    else an__fmt_fixed(b, (double)row, 0, 0, 0);
    an__svg_put(w, b);
}

static void an__draw_shades(an__svg *w, const an__chart *c)
{
    const an_report *r = c->r;
    an__groups it;
    an__group g;
    char b[48];
    memset(&it, 0, sizeof it);
    an__svg_put(w, "<g class=\"events\" fill=\"" AN__C_ACCENT "\">\n");
    while (w->err == AN_OK && an__group_next(c, &it, &g)) {
        const an_event *e = &r->events[g.best];
        const char *label = r->labels ? r->labels[g.best] : NULL;
        double opacity = c->max_severity > 0.0 ? 0.09 + 0.10 * e->severity / c->max_severity : 0.14;
        an__svg_put(w, "<rect");
        an__svg_attr(w, "x", g.x0);
        an__svg_attr(w, "y", c->top);
        an__svg_attr(w, "width", g.x1 - g.x0);
        an__svg_attr(w, "height", c->bottom - c->top);
        an__svg_put(w, " fill-opacity=\"");
        an__fmt_fixed(b, opacity, 3, 1, 0);
        an__svg_put(w, b);
        an__svg_put(w, r->time ? "\"><title>" : "\"><title>rows ");
        an__put_row_time(w, r, g.start);
        if (g.end != g.start) {
            an__svg_put(w, " \xe2\x80\x93 ");   /* en dash */
            an__put_row_time(w, r, g.end);
        }
        if (r->time) an__svg_put(w, " UTC");
        if (g.count > 1) {
            an__svg_put(w, ", ");
            an__svg_int(w, (long)g.count);
            an__svg_put(w, " events");
        }
        an__svg_put(w, "; peak ");
        an__put_row_time(w, r, e->peak);
        an__svg_put(w, ", severity ");
        an__fmt_g(b, e->severity, 4);
        an__svg_put(w, b);
        if (label) {
            an__svg_put(w, ": ");
            an__svg_text(w, label);
        }
        an__svg_put(w, "</title></rect>\n");
    }
    an__svg_put(w, "</g>\n");
}

/* The attribution band of one feature: a cell per row with a value, 8
   pixels high at the foot of the panel, from halfway to the previous row
   to halfway to the next (at least a pixel), its opacity growing with
   |value| against the largest |value| of the picture. */
static void an__draw_strip(an__svg *w, const an__chart *c, const an__panel *p)
{
    const an_report *r = c->r;
    size_t i, nf = r->n_features;
    double top = 0.0;
    char b[48];
    for (i = 0; i < r->n * nf; i++)
        if (fabs(r->attribution[i]) > top) top = fabs(r->attribution[i]);   /* NaN compares false */
    if (!(top > 0.0)) return;
    an__svg_put(w, "<g class=\"attribution\">\n");
    for (i = 0; i < r->n && w->err == AN_OK; i++) {
        double a = r->attribution[i * nf + p->feature], x = an__px(c, an__x_of(r, i)), x0 = x, x1 = x;
        if (!(a != 0.0) || a != a) continue;
        if (i > 0) x0 = 0.5 * (x + an__px(c, an__x_of(r, i - 1)));
        if (i + 1 < r->n) x1 = 0.5 * (x + an__px(c, an__x_of(r, i + 1)));
        if (x1 - x0 < 1.0) { x0 = x - 0.5; x1 = x + 0.5; }
        an__svg_put(w, a > 0.0 ? "<rect fill=\"" AN__C_ACCENT "\"" : "<rect fill=\"" AN__C_TEXT "\"");
        an__svg_attr(w, "x", x0);
        an__svg_attr(w, "y", p->top + p->h - 8.0);
        an__svg_attr(w, "width", x1 - x0);
        an__svg_attr(w, "height", 8.0);
        an__svg_put(w, " fill-opacity=\"");
        an__fmt_fixed(b, 0.1 + 0.8 * fabs(a) / top, 3, 1, 0);
        an__svg_put(w, b);
        an__svg_put(w, "\"/>\n");
    }
    an__svg_put(w, "</g>\n");
}

/* Inside each group: the series in the accent colour, and a dot at the
   most severe event's peak. */
static void an__draw_accents(an__svg *w, const an__chart *c, const an__panel *p)
{
    const an_report *r = c->r;
    an__groups it;
    an__group g;
    memset(&it, 0, sizeof it);
    an__svg_put(w, "<g class=\"anomaly\" fill=\"none\" stroke=\"" AN__C_ACCENT "\" stroke-width=\"1.6\" "
                   "stroke-linejoin=\"round\" stroke-linecap=\"round\">\n");
    while (w->err == AN_OK && an__group_next(c, &it, &g))
        an__draw_line(w, c, p, r->values, NULL, g.start, g.end, "");
    an__svg_put(w, "</g>\n<g class=\"peaks\" fill=\"" AN__C_ACCENT "\" stroke=\"#ffffff\" stroke-width=\"1\">\n");
    memset(&it, 0, sizeof it);
    while (w->err == AN_OK && an__group_next(c, &it, &g)) {
        size_t peak = r->events[g.best].peak;
        double v = (double)r->values[peak * r->n_features + p->feature];
        if (!an__finite(v)) continue;
        an__svg_put(w, "<circle");
        an__svg_attr(w, "cx", an__px(c, an__x_of(r, peak)));
        an__svg_attr(w, "cy", an__py(p, v));
        an__svg_put(w, " r=\"3\"/>\n");
    }
    an__svg_put(w, "</g>\n");
}

#define AN__LABEL_GLYPHS 32

/* Event labels in a row above the first panel, centred on the peaks;
   a label that would overlap the one before is left out. */
static void an__draw_labels(an__svg *w, const an__chart *c, double y)
{
    const an_report *r = c->r;
    an__groups it;
    an__group g;
    double last = -HUGE_VAL;
    memset(&it, 0, sizeof it);
    an__svg_put(w, "<g class=\"labels\" fill=\"" AN__C_ACCENT "\" font-size=\"11\" text-anchor=\"middle\">\n");
    while (w->err == AN_OK && an__group_next(c, &it, &g)) {
        const an_event *e = &r->events[g.best];
        const char *label = r->labels ? r->labels[g.best] : NULL;
        double x, half;
        size_t len = 0, glyphs = 0, space = 0, space_glyphs = 0;
        if (!label || !label[0]) continue;
        /* at most AN__LABEL_GLYPHS glyphs, cut at a space when one is past
           half of them; the tooltip keeps the whole text */
        for (; label[len]; len++) {
            if (((unsigned char)label[len] & 0xc0) == 0x80) continue;
            if (glyphs == AN__LABEL_GLYPHS) break;
            if (label[len] == ' ') { space = len; space_glyphs = glyphs; }
            glyphs++;
        }
        if (label[len] && space_glyphs >= AN__LABEL_GLYPHS / 2) { len = space; glyphs = space_glyphs + 1; }
        half = 0.5 * (double)glyphs * 11.0 * 0.56;
        x = an__px(c, an__x_of(r, e->peak));
        if (x - half < c->left) x = c->left + half;
        if (x + half > c->width - 4) x = c->width - 4 - half;
        if (x - half < last + 8) continue;
        last = x + half;
        an__svg_put(w, "<text");
        an__svg_attr(w, "x", x);
        an__svg_attr(w, "y", y);
        an__svg_put(w, ">");
        an__svg_text_n(w, label, len);
        if (label[len]) an__svg_put(w, "\xe2\x80\xa6");
        an__svg_put(w, "</text>\n");
    }
    an__svg_put(w, "</g>\n");
}

static void an__draw_score(an__svg *w, const an__chart *c)
{
    const an_report *r = c->r;
    const an__panel *p = &c->score;
    size_t i, a;
    double base = an__py(p, 0.0);
    an__trace t;
    /* the area under the score, one polygon per run of finite scores */
    an__svg_put(w, "<path class=\"score-area\" fill=\"" AN__C_SCORE "\" stroke=\"none\" d=\"");
    for (i = 0; i < r->n;) {
        if (!an__finite((double)r->scores[i])) { i++; continue; }
        an__trace_init(&t, w, AN__TRACE_TOP);
        for (a = i; i < r->n && an__finite((double)r->scores[i]); i++) {
            double s = (double)r->scores[i];
            an__trace_push(&t, an__px(c, an__x_of(r, i)), an__py(p, an__score_pos(p, s)));
        }
        an__trace_flush(&t);
        an__trace_point(&t, an__px(c, an__x_of(r, i - 1)), base);
        an__trace_point(&t, an__px(c, an__x_of(r, a)), base);
        an__svg_put(w, "Z");
    }
    an__svg_put(w, "\"/>\n<path class=\"score\" fill=\"none\" stroke=\"#8c8c8c\" stroke-width=\"1\" "
                   "stroke-linejoin=\"round\" stroke-linecap=\"round\" d=\"");
    an__trace_init(&t, w, AN__TRACE_LINE);
    for (i = 0; i < r->n; i++) {
        double s = (double)r->scores[i];
        if (!an__finite(s)) { an__trace_break(&t); continue; }
        an__trace_push(&t, an__px(c, an__x_of(r, i)), an__py(p, an__score_pos(p, s)));
    }
    an__trace_break(&t);
    an__svg_put(w, "\"/>\n");
    if (an__finite(r->threshold) && r->threshold >= 0.0 && r->threshold <= 1.0) {
        char b[64];
        double y = an__py(p, an__score_pos(p, r->threshold));
        an__svg_hline(w, c->left, c->right, y,
                      "class=\"threshold\" stroke=\"#444444\" stroke-width=\"1\" stroke-dasharray=\"4 3\"");
        memcpy(b, "threshold ", 10);   /* NOLINT(bugprone-not-null-terminated-result): an__fmt_g ends it */
        an__fmt_g(b + 10, r->threshold, 4);
        an__svg_text_at(w, c->right, y - 4, "end", "class=\"note\" fill=\"" AN__C_TEXT "\" font-size=\"10\"", b);
    }
}

/* Tick marks and labels under the last panel.  Time labels get a second
   line of context (the date, or the year) on the first tick and wherever
   it changes. */
static void an__draw_x_axis(an__svg *w, const an__chart *c)
{
    const an_report *r = c->r;
    double ticks[AN__TICKS_CAP], plot = c->right - c->left, max_ticks = floor(plot / (c->r->time ? 90.0 : 100.0));
    size_t n_ticks = 0, k;
    int style = AN__T_DAY;
    char b[64], ctx[64], prev[64];
    if (max_ticks < 2) max_ticks = 2;
    if (max_ticks > 12) max_ticks = 12;
    if (r->time) {
        if (an__time_ticks(c->x_lo, c->x_hi, (size_t)max_ticks, ticks, AN__TICKS_CAP, &n_ticks, &style) != AN_OK)
            n_ticks = 0;
    } else if (an_report_nice_ticks(c->x_lo, c->x_hi, (size_t)max_ticks, ticks, AN__TICKS_CAP, &n_ticks) != AN_OK) {
        n_ticks = 0;
    }
    an__svg_hline(w, c->left, c->right, c->bottom, "stroke=\"" AN__C_AXIS "\" stroke-width=\"1\"");
    prev[0] = '\0';
    an__svg_put(w, "<g class=\"xaxis\" fill=\"" AN__C_TEXT "\" text-anchor=\"middle\">\n");
    for (k = 0; k < n_ticks && w->err == AN_OK; k++) {
        double x = an__px(c, ticks[k]), half;
        if (!r->time && ticks[k] != floor(ticks[k])) continue;   /* rows are whole */
        an__svg_put(w, "<path d=\"M");
        an__svg_coord(w, x);
        an__svg_put(w, ",");
        an__svg_coord(w, c->bottom);
        an__svg_put(w, "v4\" stroke=\"" AN__C_AXIS "\"/>\n");
        ctx[0] = '\0';
        if (r->time) {
            char key[64];
            an__fmt_time(b, ticks[k], style);
            key[0] = '\0';
            if (style <= AN__T_HOUR) an__fmt_time(key, ticks[k], AN__T_DAY);
            else if (style < AN__T_YEAR) an__fmt_time(key, ticks[k], AN__T_YEAR);
            if (key[0] && strcmp(key, prev) != 0) {
                size_t n = strlen(key);
                memcpy(ctx, key, n + 1);
                if (prev[0] == '\0' && style <= AN__T_HOUR) {   /* the first date names its year */
                    ctx[n++] = ',';
                    ctx[n++] = ' ';
                    ctx[n + an__fmt_time(ctx + n, ticks[k], AN__T_YEAR)] = '\0';
                }
                memcpy(prev, key, strlen(key) + 1);
            }
        } else {
            an__fmt_fixed(b, ticks[k], 0, 0, c->x_hi >= 1e4);
        }
        half = 0.5 * an__text_width(b, 11.0);
        if (x - half < 2.0) x = 2.0 + half;
        if (x + half > c->width - 2.0) x = c->width - 2.0 - half;
        an__svg_put(w, "<text class=\"xtick\"");
        an__svg_attr(w, "x", x);
        an__svg_attr(w, "y", c->bottom + 16);
        an__svg_put(w, ">");
        an__svg_put(w, b);
        an__svg_put(w, "</text>\n");
        if (ctx[0]) {
            half = 0.5 * an__text_width(ctx, 11.0);
            if (x - half < 2.0) x = 2.0 + half;
            if (x + half > c->width - 2.0) x = c->width - 2.0 - half;
            an__svg_put(w, "<text class=\"xctx\" fill=\"" AN__C_SOFT "\"");
            an__svg_attr(w, "x", x);
            an__svg_attr(w, "y", c->bottom + 30);
            an__svg_put(w, ">");
            an__svg_put(w, ctx);
            an__svg_put(w, "</text>\n");
        }
    }
    an__svg_put(w, "</g>\n");
    an__svg_text_at(w, c->right, c->bottom + 30, "end", "class=\"note\" fill=\"" AN__C_SOFT "\" font-size=\"10\"",
                    r->time ? "UTC" : "row");
}

/* The legend: a swatch and a word for each kind of mark present, in
   rows that wrap at the picture's width. */
typedef struct an__legend {
    const char *swatch[4], *text[4];
    size_t n;
} an__legend;

static void an__legend_add(an__legend *l, const char *swatch, const char *text)
{
    l->swatch[l->n] = swatch;
    l->text[l->n++] = text;
}

/* Rows the legend takes; with w, draws it with its first baseline at y. */
static size_t an__legend_layout(const an__legend *l, an__svg *w, double x0, double y, double width)
{
    size_t k, rows = l->n ? 1 : 0;
    double x = x0;
    for (k = 0; k < l->n; k++) {
        double item = 24.0 + an__text_width(l->text[k], 12.0);
        if (x > x0 && x + item > width - 8.0) {
            x = x0;
            y += 18.0;
            rows++;
        }
        if (w) {
            an__svg_put(w, "<g transform=\"translate(");
            an__svg_coord(w, x);
            an__svg_put(w, ",");
            an__svg_coord(w, y);
            an__svg_put(w, ")\">");
            an__svg_put(w, l->swatch[k]);
            an__svg_put(w, "<text x=\"24\" y=\"0\">");
            an__svg_text(w, l->text[k]);
            an__svg_put(w, "</text></g>\n");
        }
        x += item + 18.0;
    }
    return rows;
}

/* --------------------------------------------------------------------------
   The report
   -------------------------------------------------------------------------- */

AN_API int an_report_write_buffer(void *user, const char *data, size_t size)
{
    an_report_buffer *b = (an_report_buffer *)user;
    if (!b || (size && !data)) return -1;
    if (b->data) {
        if (size > b->capacity || b->size > b->capacity - size) return -1;
        memcpy(b->data + b->size, data, size);
        if (b->size + size < b->capacity) b->data[b->size + size] = '\0';
    }
    b->size += size;
    return 0;
}

AN_API an_report an_report_init(void)
{
    an_report r;
    memset(&r, 0, sizeof r);
    r.threshold = HUGE_VAL - HUGE_VAL;   /* NaN, also where NAN is missing */
    return r;
}

static an_result an__report_check(const an_report *r, an_report_write_fn write)
{
    size_t i;
    if (!r || !write || !r->values || r->n == 0 || r->n_features == 0) return AN_ERR_INVALID_ARG;
    if (r->n_features > SIZE_MAX / r->n) return AN_ERR_TOO_LARGE;
    if (!r->lower != !r->upper) return AN_ERR_INVALID_ARG;
    if (r->score_scale != AN_REPORT_SCORE_LINEAR && r->score_scale != AN_REPORT_SCORE_NINES) return AN_ERR_INVALID_ARG;
    if (r->n_events && !r->events) return AN_ERR_INVALID_ARG;
    if ((r->width && (r->width < 320 || r->width > 16384)) || (r->height && (r->height < 160 || r->height > 16384)))
        return AN_ERR_INVALID_ARG;
    if (r->time) {
        for (i = 0; i < r->n; i++) {
            double t = r->time[i];
            if (!(t >= AN__TIME_MIN && t <= AN__TIME_MAX)) return AN_ERR_INPUT;
            if (i && t < r->time[i - 1]) return AN_ERR_INPUT;
        }
    }
    for (i = 0; i < r->n_events; i++) {
        const an_event *e = &r->events[i];
        if (e->start > e->end || e->end >= r->n || e->peak < e->start || e->peak > e->end) return AN_ERR_INVALID_ARG;
        if (!an__finite(e->severity) || e->severity < 0.0) return AN_ERR_INPUT;
    }
    if (r->attribution)
        for (i = 0; i < r->n * r->n_features; i++)
            if (r->attribution[i] - r->attribution[i] != 0.0 && r->attribution[i] == r->attribution[i])
                return AN_ERR_INPUT;   /* +-Inf; NaN is "none" */
    return AN_OK;
}

AN_API an_result an_report_svg(const an_report *r, an_report_write_fn write, void *user)
{
    an__chart c;
    an__svg w;
    size_t k, f, n_drawn;
    an_result res;
    int has_labels = 0, names = 0;
    double y, gap, name_row, score_h = 0.0, avail, panel_h, label_w = 0.0, tx = 16.0, text_w;
    size_t title_lines, sub_lines, legend_rows;
    char note[128], b[48];
    an__legend legend;

    if ((res = an__report_check(r, write)) != AN_OK) return res;
    memset(&c, 0, sizeof c);
    c.r = r;
    w.write = write;
    w.user = user;
    w.err = AN_OK;
    w.len = 0;

    n_drawn = r->n_features < AN_REPORT_MAX_PANELS ? r->n_features : AN_REPORT_MAX_PANELS;
    c.n_panels = n_drawn;
    c.has_score = r->scores != NULL;
    c.width = r->width ? r->width : 960;
    c.height = r->height ? r->height : 420 + 150 * (double)(n_drawn - 1);
    for (k = 0; k < r->n_events; k++) {
        if (r->events[k].severity > c.max_severity) c.max_severity = r->events[k].severity;
        if (r->labels && r->labels[k] && r->labels[k][0]) has_labels = 1;
    }
    names = r->names != NULL || n_drawn > 1;

    /* x range: the first and last rows are the plot's edges */
    c.x_lo = an__x_of(r, 0);
    c.x_hi = an__x_of(r, r->n - 1);
    if (!(c.x_hi > c.x_lo)) {
        double pad = r->time ? 1800.0 : 0.5;
        c.x_lo -= pad;
        c.x_hi += pad;
    }

    /* vertical layout: title, subtitle, legend, labels, panels, score, axis */
    text_w = c.width - 2.0 * tx;
    legend.n = 0;
    an__legend_add(&legend, "<path d=\"M0,-4h18\" stroke=\"" AN__C_INK "\" stroke-width=\"1.5\"/>", "observed");
    if (r->expected)
        an__legend_add(&legend, "<path d=\"M0,-4h18\" stroke=\"" AN__C_EXPECT "\" stroke-width=\"1.5\" "
                                "stroke-dasharray=\"4 3\"/>", "expected");
    if (r->lower)
        an__legend_add(&legend, "<rect x=\"0\" y=\"-10\" width=\"18\" height=\"11\" fill=\"" AN__C_BAND "\"/>",
                       "expected range");
    if (r->n_events)
        an__legend_add(&legend, "<rect x=\"0\" y=\"-10\" width=\"18\" height=\"11\" fill=\"" AN__C_ACCENT "\" "
                                "fill-opacity=\"0.22\"/><path d=\"M0,-4h18\" stroke=\"" AN__C_ACCENT "\" "
                                "stroke-width=\"1.6\"/>", "anomaly");
    legend_rows = an__legend_layout(&legend, NULL, tx, 0.0, c.width);
    title_lines = an__line_count(r->title, 18.0 * 1.07, text_w);
    y = 8.0 + 24.0 * (double)title_lines;
    note[0] = '\0';
    if (r->n_features > n_drawn) {
        char *s = note;
        s += an__fmt_fixed(s, (double)n_drawn, 0, 0, 0);
        memcpy(s, " of ", 4);
        s += 4;
        s += an__fmt_fixed(s, (double)r->n_features, 0, 0, 1);
        memcpy(s, " features shown", 16);
    }
    sub_lines = an__line_count(r->subtitle, 13.0, text_w);
    if (note[0]) sub_lines++;
    y += 18.0 * (double)sub_lines + 2.0 * (sub_lines > 0);
    y += 8.0 + 18.0 * (double)legend_rows;       /* legend */
    y += has_labels ? 30.0 : 14.0;
    name_row = names ? 18.0 : 0.0;
    gap = 14.0;
    c.top = y + name_row;
    avail = c.height - c.top - 40.0;
    if (c.has_score) {
        double least = r->score_scale == AN_REPORT_SCORE_NINES ? 56.0 : 40.0;
        score_h = 0.16 * avail;
        if (score_h < least) score_h = least;
        if (score_h > 90.0) score_h = 90.0;
        if (score_h < least) score_h = least;
        avail -= score_h + gap + 18.0;
    }
    avail -= (double)(n_drawn - 1) * (gap + name_row);
    panel_h = avail / (double)n_drawn;
    if (panel_h < 40.0) return AN_ERR_INVALID_ARG;   /* the picture is too small for its panels */
    y = c.top;
    for (k = 0; k < n_drawn; k++) {
        an__panel *p = &c.panel[k];
        p->feature = k;
        p->top = y;
        p->h = panel_h;
        an__panel_scale(p, r, k);
        y += panel_h + gap + name_row;
    }
    c.bottom = c.panel[n_drawn - 1].top + panel_h;
    if (c.has_score) {
        an__panel *p = &c.score;
        p->top = c.bottom + gap + 18.0;
        p->h = score_h;
        p->lo = 0.0;
        p->hi = 1.0;
        p->ticks[0] = 0.0;
        p->ticks[1] = 1.0;
        p->n_ticks = 2;
        p->decimals = 0;
        if (r->score_scale == AN_REPORT_SCORE_NINES) {
            double top = 3.0, thr = r->threshold;
            p->nines = 1;
            if (an__finite(thr) && thr >= 0.0 && thr < 1.0) {
                double need = ceil(-log10(1.0 - thr) - 1e-9) + 1.0;
                if (need > top) top = need;
            }
            if (top > 6.0) top = 6.0;
            p->hi = top;
            for (k = 0; k <= (size_t)top; k++) p->ticks[k] = (double)k;
            p->n_ticks = (size_t)top + 1;
        }
        c.bottom = p->top + p->h;
    }

    /* horizontal layout: room for the widest value label */
    for (k = 0; k < n_drawn; k++) {
        size_t j;
        for (j = 0; j < c.panel[k].n_ticks; j++) {
            double tw;
            an__fmt_tick(b, c.panel[k].ticks[j], c.panel[k].decimals, c.panel[k].group);
            tw = an__text_width(b, 11.0);   /* counts glyphs, so U+2212 is one */
            if (tw > label_w) label_w = tw;
        }
    }
    if (c.has_score) {
        double tw;
        an__panel_label(b, &c.score, c.score.n_ticks - 1);
        tw = an__text_width(b, 11.0);
        if (tw > label_w) label_w = tw;
    }
    c.left = label_w + 16.0 < 40.0 ? 40.0 : label_w + 16.0;
    c.right = c.width - 20.0;
    if (c.right - c.left < 100.0) return AN_ERR_INVALID_ARG;

    /* the document */
    an__svg_put(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"");
    an__svg_attr(&w, "width", c.width);
    an__svg_attr(&w, "height", c.height);
    an__svg_put(&w, " viewBox=\"0 0 ");
    an__svg_coord(&w, c.width);
    an__svg_put(&w, " ");
    an__svg_coord(&w, c.height);
    an__svg_put(&w, "\" font-family=\"" AN__FONT "\" font-size=\"11\">\n");
    if (r->title) {
        an__svg_put(&w, "<title>");
        an__svg_text(&w, r->title);
        an__svg_put(&w, "</title>\n");
    }
    /* a one-line summary for screen readers */
    an__svg_put(&w, "<desc>");
    an__fmt_fixed(b, (double)r->n, 0, 0, 1);
    an__svg_put(&w, b);
    an__svg_put(&w, r->n == 1 ? " row" : " rows");
    if (r->time) {
        an__svg_put(&w, " from ");
        an__put_row_time(&w, r, 0);
        an__svg_put(&w, " to ");
        an__put_row_time(&w, r, r->n - 1);
        an__svg_put(&w, " UTC");
    }
    an__svg_put(&w, ", ");
    an__fmt_fixed(b, (double)r->n_features, 0, 0, 1);
    an__svg_put(&w, b);
    an__svg_put(&w, r->n_features == 1 ? " feature, " : " features, ");
    an__fmt_fixed(b, (double)r->n_events, 0, 0, 1);
    an__svg_put(&w, b);
    an__svg_put(&w, r->n_events == 1 ? " anomaly event" : " anomaly events");
    if (c.has_score && an__finite(r->threshold)) {
        an__svg_put(&w, ", score threshold ");
        an__fmt_g(b, r->threshold, 6);
        an__svg_put(&w, b);
    }
    an__svg_put(&w, ".</desc>\n");
    an__svg_put(&w, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    y = 8.0;
    if (title_lines) {
        an__draw_wrapped(&w, tx, y + 20.0, 24.0, 18.0 * 1.07, text_w,
                         "class=\"title\" font-size=\"18\" font-weight=\"600\" fill=\"" AN__C_INK "\"", r->title);
        y += 24.0 * (double)title_lines;
    }
    if (sub_lines) {
        const char *style = "class=\"subtitle\" font-size=\"13\" fill=\"" AN__C_SOFT "\"";
        size_t sub = an__line_count(r->subtitle, 13.0, text_w);
        if (sub) an__draw_wrapped(&w, tx, y + 16.0, 18.0, 13.0, text_w, style, r->subtitle);
        if (note[0]) an__svg_text_at(&w, tx, y + 16.0 + 18.0 * (double)sub, NULL, style, note);
        y += 18.0 * (double)sub_lines + 2.0;
    }
    an__svg_put(&w, "<g class=\"legend\" font-size=\"12\" fill=\"" AN__C_TEXT "\">\n");
    an__legend_layout(&legend, &w, tx, y + 20.0, c.width);
    an__svg_put(&w, "</g>\n");

    if (r->n_events) an__draw_shades(&w, &c);
    if (has_labels) an__draw_labels(&w, &c, c.top - name_row - 10.0);

    for (k = 0; k < n_drawn && w.err == AN_OK; k++) {
        const an__panel *p = &c.panel[k];
        f = p->feature;
        an__svg_put(&w, "<g class=\"panel\" fill=\"" AN__C_TEXT "\">\n");
        an__draw_y_axis(&w, &c, p, 0);
        if (names) {
            char fallback[48];
            const char *name = r->names && r->names[f] ? r->names[f] : NULL;
            if (!name) {
                memcpy(fallback, "feature ", 8);   /* NOLINT(bugprone-not-null-terminated-result): an__fmt_fixed ends it */
                an__fmt_fixed(fallback + 8, (double)(f + 1), 0, 0, 0);
                name = fallback;
            }
            an__svg_text_at(&w, c.left, p->top - 7, NULL,
                            "class=\"name\" font-size=\"12\" font-weight=\"600\" fill=\"" AN__C_INK "\"", name);
        }
        if (r->lower) an__draw_band(&w, &c, p);
        if (r->attribution) an__draw_strip(&w, &c, p);
        if (r->expected)
            an__draw_line(&w, &c, p, NULL, r->expected, 0, r->n - 1,
                          "class=\"expected\" fill=\"none\" stroke=\"" AN__C_EXPECT "\" stroke-width=\"1.2\" "
                          "stroke-dasharray=\"4 3\" stroke-linejoin=\"round\" stroke-linecap=\"round\"");
        an__draw_line(&w, &c, p, r->values, NULL, 0, r->n - 1,
                      "class=\"series\" fill=\"none\" stroke=\"" AN__C_INK "\" stroke-width=\"1.2\" "
                      "stroke-linejoin=\"round\" stroke-linecap=\"round\"");
        if (r->n_events) an__draw_accents(&w, &c, p);
        an__svg_put(&w, "</g>\n");
    }
    if (c.has_score) {
        an__svg_put(&w, "<g class=\"score-panel\" fill=\"" AN__C_TEXT "\">\n");
        an__svg_text_at(&w, c.left, c.score.top - 7, NULL,
                        "class=\"name\" font-size=\"12\" font-weight=\"600\" fill=\"" AN__C_INK "\"", "anomaly score");
        an__draw_y_axis(&w, &c, &c.score, 1);
        an__draw_score(&w, &c);
        an__svg_put(&w, "</g>\n");
    }
    an__draw_x_axis(&w, &c);
    an__svg_put(&w, "</svg>\n");
    an__svg_flush(&w);
    return w.err;
}

/* ==========================================================================
   2  EXPLAINERS
   ========================================================================== */

AN_API an_xai_lime_config an_xai_lime_config_init(void)
{
    an_xai_lime_config c;
    c.samples = 1000;
    c.seed = 1;
    c.kernel_width = 0.25;
    c.ridge = 1.0;
    return c;
}

/* The segment of the window's row i (0-based in the window): the k with
   floor(k L / S) <= i < floor((k + 1) L / S). */
static size_t an__xai_segment(size_t i, size_t length, size_t n_segments)
{
    return ((i + 1) * n_segments - 1) / length;
}

static size_t an__xai_channels(const an_xai_players *p, size_t n_features)
{
    return p->per_channel ? n_features : 1;
}

/* Masked copies per score call for copies of `cells` floats: AN_XAI_BATCH,
   at most AN_XAI_BATCH_BYTES of them, at least one. */
static size_t an__xai_chunk(size_t cells)
{
    size_t fit = AN_XAI_BATCH_BYTES / sizeof(float) / cells;
    return fit < 1 ? 1 : (fit < AN_XAI_BATCH ? fit : AN_XAI_BATCH);
}

/* Checks the players and lays out the block (offsets of its 10 arrays). */
static an_result an__xai_layout(const an_xai_players *p, size_t budget, size_t *bytes, size_t off[10])
{
    an__layout l = { 0 };
    size_t F, P, P1, chunk;
    if (!p || !p->detector || !p->x || budget == 0 || p->length == 0 || p->n_segments == 0) return AN_ERR_INVALID_ARG;
    F = p->detector->n_features;
    if (F == 0 || p->n_rows == 0 || p->start >= p->n_rows || p->length > p->n_rows - p->start)
        return AN_ERR_INVALID_ARG;
    if (p->n_segments > p->length || p->target >= p->n_rows) return AN_ERR_INVALID_ARG;
    if (p->fill != AN_XAI_FILL_MEAN && p->fill != AN_XAI_FILL_LINEAR && p->fill != AN_XAI_FILL_EXPECTED)
        return AN_ERR_INVALID_ARG;
    if (p->fill != AN_XAI_FILL_LINEAR && !p->fill_values) return AN_ERR_INVALID_ARG;
    if (p->fill == AN_XAI_FILL_LINEAR && p->length == p->n_rows) return AN_ERR_INVALID_ARG;   /* no anchor */
    if (p->n_segments > AN_XAI_MAX_PLAYERS || an__mul(p->n_segments, an__xai_channels(p, F)) > AN_XAI_MAX_PLAYERS)
        return AN_ERR_TOO_LARGE;
    P = p->n_segments * an__xai_channels(p, F);
    P1 = P + 1;
    if (an__mul(p->n_rows, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    chunk = an__xai_chunk(p->n_rows * F);
    /* an__layout_add's SIZE_MAX does not survive the next rounding up, so
       overflow is caught at each step */
    {
        const size_t counts[10] = { an__mul(budget, P), budget, budget, P1 * P1, P1, P,
                                    an__mul(chunk, p->n_rows * F), chunk * p->n_rows, P, an__mul(budget, 2) };
        const size_t elems[10] = { 1, sizeof(double), sizeof(double), sizeof(double), sizeof(double),
                                   sizeof(size_t), sizeof(float), sizeof(float), 1, sizeof(size_t) };
        size_t k;
        for (k = 0; k < 10; k++) {   /* coalitions values weights normal rhs pick series scores mask order */
            off[k] = an__layout_add(&l, counts[k], elems[k]);
            if (l.size == SIZE_MAX) return AN_ERR_TOO_LARGE;
        }
    }
    *bytes = l.size;
    return AN_OK;
}

AN_API an_result an_xai_heap_size(const an_xai_players *p, size_t budget, size_t *bytes)
{
    size_t off[10];
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    return an__xai_layout(p, budget, bytes, off);
}

AN_API an_result an_xai_init_preallocated(an_xai *xai, const an_xai_players *p, size_t budget, void *heap)
{
    size_t off[10], bytes, F, j;
    unsigned char *h = (unsigned char *)heap;
    an_result r;
    if (!xai) return AN_ERR_INVALID_ARG;
    memset(xai, 0, sizeof *xai);
    if ((r = an__xai_layout(p, budget, &bytes, off)) != AN_OK) return r;
    if (!heap || an__misaligned(heap)) return AN_ERR_INVALID_ARG;
    F = p->detector->n_features;
    xai->players = *p;
    xai->n_features = F;
    xai->n_players = p->n_segments * an__xai_channels(p, F);
    xai->budget = budget;
    xai->coalitions = h + off[0];
    xai->values = (double *)(void *)(h + off[1]);
    xai->weights = (double *)(void *)(h + off[2]);
    xai->normal = (double *)(void *)(h + off[3]);
    xai->rhs = (double *)(void *)(h + off[4]);
    xai->pick = (size_t *)(void *)(h + off[5]);
    xai->series = (float *)(void *)(h + off[6]);
    xai->scores = (float *)(void *)(h + off[7]);
    xai->mask = h + off[8];
    xai->order = (size_t *)(void *)(h + off[9]);
    xai->chunk = an__xai_chunk(p->n_rows * F);
    for (j = 0; j < xai->chunk; j++)   /* rows outside the window stay x */
        memcpy(xai->series + j * p->n_rows * F, p->x, p->n_rows * F * sizeof(float));
    xai->alloc = an__default_allocator;
    return AN_OK;
}

AN_API an_result an_xai_init(an_xai *xai, const an_xai_players *p, size_t budget, const an_allocator *a)
{
    an_allocator alloc;
    size_t bytes, off[10];
    void *heap;
    an_result r;
    if (!xai) return AN_ERR_INVALID_ARG;
    memset(xai, 0, sizeof *xai);
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an__xai_layout(p, budget, &bytes, off)) != AN_OK) return r;
    if (!(heap = an_malloc(&alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_xai_init_preallocated(xai, p, budget, heap);
    xai->heap = heap;
    xai->owned_bytes = bytes;
    xai->alloc = alloc;
    return AN_OK;
}

AN_API void an_xai_uninit(an_xai *xai)
{
    if (!xai) return;
    if (xai->owned_bytes) an_free(&xai->alloc, xai->heap, xai->owned_bytes);
    memset(xai, 0, sizeof *xai);
}

/* The player of the window's row i (0-based in the window), channel c. */
static size_t an__xai_player(const an_xai *xai, size_t i, size_t c)
{
    const an_xai_players *p = &xai->players;
    return an__xai_segment(i, p->length, p->n_segments) * an__xai_channels(p, xai->n_features) +
           (p->per_channel ? c : 0);
}

/* LINEAR's fill of channel c of the copy `series` over the `run` masked
   rows that end at row `last`: the line from the kept value before them
   to the one after them (one of the two when the run touches an end of
   x). */
static void an__xai_line(const an_xai *xai, float *series, size_t c, size_t last, size_t run)
{
    size_t F = xai->n_features, first = last + 1 - run, j;
    int has_lo = first > 0, has_hi = last + 1 < xai->players.n_rows;
    double lo = has_lo ? series[(first - 1) * F + c] : 0.0;   /* kept: x already */
    double hi = has_hi ? xai->players.x[(last + 1) * F + c] : 0.0;
    if (!has_lo) lo = hi;
    if (!has_hi) hi = lo;
    for (j = 0; j < run; j++)
        series[(first + j) * F + c] = (float)(lo + (hi - lo) * (double)(j + 1) / (double)(run + 1));
}

/* Writes the window of the masked copy `series` (n_rows, F) for coalition
   z: kept cells are x, masked ones the fill.  Rows are visited in order,
   so a LINEAR run's left anchor is already written. */
static void an__xai_mask(const an_xai *xai, const unsigned char *z, float *series)
{
    const an_xai_players *p = &xai->players;
    size_t F = xai->n_features, L = p->length, i, c;
    for (c = 0; c < F; c++) {
        size_t run = 0;   /* masked rows so far in the current run */
        for (i = 0; i < L; i++) {
            size_t row = p->start + i;
            float *cell = &series[row * F + c];
            if (z[an__xai_player(xai, i, c)]) { *cell = p->x[row * F + c]; run = 0; continue; }
            if (p->fill == AN_XAI_FILL_MEAN) { *cell = p->fill_values[c]; continue; }
            if (p->fill == AN_XAI_FILL_EXPECTED) { *cell = p->fill_values[row * F + c]; continue; }
            run++;
            if (i + 1 == L || z[an__xai_player(xai, i + 1, c)]) an__xai_line(xai, series, c, row, run);
        }
    }
}

/* Writes coalition k of a call's list into z (n_players). */
typedef void (*an__xai_pick_fn)(const an_xai *xai, size_t k, unsigned char *z);

/* f of n coalitions, f[k] of the one pick gives for k: their masked
   copies `chunk` at a time, each batch one an_detector_score_batch call. */
static an_result an__xai_eval_at(an_xai *xai, size_t n, an__xai_pick_fn pick, double *f, const size_t *at)
{
    size_t R = xai->players.n_rows, cells = R * xai->n_features, k0, j, chunk = an__xai_chunk(cells);
    an_result r;
    if (xai->chunk >= 1 && xai->chunk < chunk) chunk = xai->chunk;   /* lowered by the caller */
    for (k0 = 0; k0 < n; k0 += chunk) {
        size_t c = n - k0 < chunk ? n - k0 : chunk;
        for (j = 0; j < c; j++) {
            pick(xai, k0 + j, xai->mask);
            an__xai_mask(xai, xai->mask, xai->series + j * cells);
        }
        if ((r = an_detector_score_batch(xai->players.detector, xai->series, c, R, xai->scores)) != AN_OK) return r;
        for (j = 0; j < c; j++) {
            double v = xai->scores[j * R + xai->players.target];
            if (!an__finite(v)) return AN_ERR_NUMERIC;
            f[at ? at[k0 + j] : k0 + j] = v;
        }
    }
    return AN_OK;
}

static an_result an__xai_eval(an_xai *xai, size_t n, an__xai_pick_fn pick, double *f)
{
    return an__xai_eval_at(xai, n, pick, f, NULL);
}

/* The k-th distinct stored coalition (an__xai_eval_stored's list). */
static void an__xai_pick_distinct(const an_xai *xai, size_t k, unsigned char *z)
{
    memcpy(z, xai->coalitions + xai->order[xai->budget + k] * xai->n_players, xai->n_players);
}

/* Stored coalitions a and b compared byte by byte (memcmp's order). */
static int an__xai_cmp(const an_xai *xai, size_t a, size_t b)
{
    return memcmp(xai->coalitions + a * xai->n_players, xai->coalitions + b * xai->n_players, xai->n_players);
}

/* Sift-down of a heap of stored-coalition indices (largest at the root). */
static void an__xai_sift(const an_xai *xai, size_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1, t;
        if (child >= n) return;
        if (child + 1 < n && an__xai_cmp(xai, v[child], v[child + 1]) < 0) child++;
        if (an__xai_cmp(xai, v[root], v[child]) >= 0) return;
        t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* f (n) of the n stored coalitions, each distinct one scored once: the
   indices sorted by coalition (a heapsort: no allocation, no recursion),
   the first of each run of equal ones scored (in that order, so
   consecutive copies share their earliest masked rows the longest), the
   others given its value.  A coalition's score does not depend on what
   else is in its batch (the contract), so every value has the bits it
   would have scored alone.  *scored: the series scored. */
static an_result an__xai_eval_stored(an_xai *xai, size_t n, double *f, size_t *scored)
{
    size_t *v = xai->order, *distinct = xai->order + xai->budget, k, u = 0, t;
    an_result r;
    for (k = 0; k < n; k++) v[k] = k;
    for (k = n / 2; k-- > 0;) an__xai_sift(xai, v, k, n);
    for (k = n; k-- > 1;) {
        t = v[0];
        v[0] = v[k];
        v[k] = t;
        an__xai_sift(xai, v, 0, k);
    }
    for (k = 0; k < n; k++)
        if (k == 0 || an__xai_cmp(xai, v[k], v[k - 1]) != 0) distinct[u++] = v[k];
    if ((r = an__xai_eval_at(xai, u, an__xai_pick_distinct, f, distinct)) != AN_OK) return r;
    for (k = 1; k < n; k++)
        if (an__xai_cmp(xai, v[k], v[k - 1]) == 0) f[v[k]] = f[v[k - 1]];
    *scored = u;
    return AN_OK;
}

/* The picks: all present (k = 0) and none (k = 1); the bits of k
   (player i present when bit i is set); all but player k. */
static void an__xai_pick_ends(const an_xai *xai, size_t k, unsigned char *z)
{
    memset(z, k == 0, xai->n_players);
}

static void an__xai_pick_bits(const an_xai *xai, size_t k, unsigned char *z)
{
    size_t i;
    for (i = 0; i < xai->n_players; i++) z[i] = (unsigned char)((k >> i) & 1u);
}

static void an__xai_pick_occlude(const an_xai *xai, size_t k, unsigned char *z)
{
    memset(z, 1, xai->n_players);
    z[k] = 0;
}

AN_API an_result an_xai_value(an_xai *xai, const unsigned char *z, double *f)
{
    an_result r;
    if (!xai || !xai->series || !z || !f) return AN_ERR_INVALID_ARG;
    an__xai_mask(xai, z, xai->series);
    r = an_detector_score(xai->players.detector, xai->series, xai->players.n_rows, xai->scores);
    if (r != AN_OK) return r;
    if (!an__finite(xai->scores[xai->players.target])) return AN_ERR_NUMERIC;
    *f = xai->scores[xai->players.target];
    return AN_OK;
}

/* f of all present and of none, into the summary. */
static an_result an__xai_ends(an_xai *xai, an_xai_summary *s)
{
    double f[2];
    an_result r;
    s->intercept = s->fidelity = (double)NAN;
    if ((r = an__xai_eval(xai, 2, an__xai_pick_ends, f)) != AN_OK) return r;
    s->full = f[0];
    s->empty = f[1];
    s->evaluations = s->scored = 2;
    return AN_OK;
}

/* The summary's sum and gap of phi (P). */
static void an__xai_close(const an_xai *xai, const double *phi, an_xai_summary *s)
{
    size_t p;
    double sum = 0.0;
    for (p = 0; p < xai->n_players; p++) sum += phi[p];
    s->sum = sum;
    s->gap = sum - (s->full - s->empty);
}

/* Checks an explainer call's arguments and clears its outputs. */
static an_result an__xai_begin(const an_xai *xai, double *phi, an_xai_summary *s)
{
    if (!xai || !xai->series || !phi || !s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    memset(phi, 0, xai->n_players * sizeof(double));
    return AN_OK;
}

AN_API an_result an_xai_exact(an_xai *xai, double *phi, an_xai_summary *summary)
{
    size_t P, n, mask, i, s;
    double w[AN_XAI_MAX_EXACT];   /* w[s] = s! (P - s - 1)! / P! = 1 / (P C(P - 1, s)) */
    an_result r;
    if ((r = an__xai_begin(xai, phi, summary)) != AN_OK) return r;
    P = xai->n_players;
    if (P > AN_XAI_MAX_EXACT) return AN_ERR_TOO_LARGE;
    n = (size_t)1 << P;
    if (xai->budget < n) return AN_ERR_SHAPE;
    /* values[mask]: bit i of mask = player i present */
    if ((r = an__xai_eval(xai, n, an__xai_pick_bits, xai->values)) != AN_OK) return r;
    {
        double binom = 1.0;   /* C(P - 1, s) */
        for (s = 0; s < P; s++) {
            w[s] = 1.0 / ((double)P * binom);
            binom = binom * (double)(P - 1 - s) / (double)(s + 1);
        }
    }
    for (i = 0; i < P; i++) {
        double acc = 0.0;
        for (mask = 0; mask < n; mask++) {
            size_t size = 0, m;
            if ((mask >> i) & 1u) continue;
            for (m = mask; m; m &= m - 1) size++;
            acc += w[size] * (xai->values[mask | (size_t)1 << i] - xai->values[mask]);
        }
        phi[i] = acc;
    }
    summary->intercept = summary->fidelity = (double)NAN;
    summary->full = xai->values[n - 1];
    summary->empty = xai->values[0];
    summary->evaluations = summary->scored = n;
    xai->n_coalitions = 0;
    an__xai_close(xai, phi, summary);
    return AN_OK;
}

/* Solves A v = b for a symmetric positive definite A (n x n, row-major;
   overwritten by its Cholesky factor), v into b.  AN_ERR_NUMERIC when A
   is not positive definite. */
static an_result an__xai_cholesky_solve(double *A, double *b, size_t n)
{
    an_result r = an__cholesky(A, n);
    if (r == AN_OK) an__cholesky_solve(A, b, n);
    return r;
}

/* Appends coalition z (P bytes) with its weight (evaluated later, all
   at once: an__xai_eval_stored). */
static void an__xai_add(an_xai *xai, const unsigned char *z, double weight)
{
    size_t k = xai->n_coalitions, P = xai->n_players;
    memcpy(xai->coalitions + k * P, z, P);
    xai->weights[k] = weight;
    xai->n_coalitions = k + 1;
}

/* Adds a coalition with the players in pick[0 .. size) present and, when
   `paired`, its complement too, each with `weight`. */
static void an__xai_add_pick(an_xai *xai, size_t size, int paired, double weight)
{
    size_t j, P = xai->n_players;
    memset(xai->mask, 0, P);
    for (j = 0; j < size; j++) xai->mask[xai->pick[j]] = 1;
    an__xai_add(xai, xai->mask, weight);
    if (!paired) return;
    for (j = 0; j < P; j++) xai->mask[j] = (unsigned char)!xai->mask[j];
    an__xai_add(xai, xai->mask, weight);
}

/* Kernel SHAP's coalitions, as the reference implementation (shap's
   KernelExplainer) chooses them: the Shapley kernel gives size s (and,
   paired with it, P - s) the mass (P - 1) / (s (P - s)); sizes from the
   smallest up are enumerated whole while the budget left, spread in
   proportion to the mass left, covers them; then sizes are drawn from the
   mass left, a subset of that size uniformly, and its complement beside
   it, each weighted equally so the drawn ones carry the mass left.  Only
   chooses them: an_xai_shap evaluates them after. */
static void an__xai_shap_sample(an_xai *xai, size_t evaluations, uint64_t seed)
{
    size_t P = xai->n_players, n_sizes = P / 2, n_paired = (P - 1) / 2, s, j, full = 0, first_drawn;
    double mass[AN_XAI_MAX_PLAYERS / 2 + 1], total = 0.0, left = 1.0, drawn_mass = 0.0, drawn_weight = 0.0;
    size_t budget_left = evaluations;
    an_rng rng;
    xai->n_coalitions = 0;
    for (s = 1; s <= n_sizes; s++) {   /* size s with its complement's mass when paired */
        mass[s] = (double)(P - 1) / (double)(s * (P - s)) * (s <= n_paired ? 2.0 : 1.0);
        total += mass[s];
    }
    for (s = 1; s <= n_sizes; s++) mass[s] /= total;
    for (s = 1; s <= n_sizes; s++) {   /* enumerate whole sizes */
        double count = 1.0, weight;
        int paired = s <= n_paired;
        for (j = 0; j < s; j++) count = count * (double)(P - j) / (double)(j + 1);   /* C(P, s) */
        if ((double)budget_left * (mass[s] / left) < count * (paired ? 2.0 : 1.0) - 1e-8) break;
        weight = mass[s] / count / (paired ? 2.0 : 1.0);
        for (j = 0; j < s; j++) xai->pick[j] = j;
        for (;;) {   /* combinations of s of P in lexicographic order, each with its complement */
            size_t k;
            if (!paired && xai->pick[0] != 0) break;   /* P = 2s: those with player 0 and their complements */
            an__xai_add_pick(xai, s, 1, weight);
            for (k = s; k-- > 0;)
                if (xai->pick[k] < P - s + k) break;
            if (k == (size_t)-1) break;
            xai->pick[k]++;
            for (j = k + 1; j < s; j++) xai->pick[j] = xai->pick[j - 1] + 1;
        }
        budget_left = evaluations - xai->n_coalitions;
        left -= mass[s];
        full = s;
    }
    first_drawn = xai->n_coalitions;
    if (full == n_sizes || budget_left == 0) return;
    an_rng_seed(&rng, seed, 0x5a4b);
    for (s = full + 1; s <= n_sizes; s++) drawn_mass += mass[s] / (s <= n_paired ? 2.0 : 1.0);
    while (xai->n_coalitions < evaluations) {
        double u = an_rng_uniform(&rng) * drawn_mass, acc = 0.0;
        int paired;
        for (s = full + 1; s < n_sizes; s++) {
            acc += mass[s] / (s <= n_paired ? 2.0 : 1.0);
            if (u < acc) break;
        }
        paired = s <= n_paired && evaluations - xai->n_coalitions >= 2;
        for (j = 0; j < P; j++) xai->pick[j] = j;   /* the first s of a partial shuffle */
        for (j = 0; j < s; j++) {
            size_t k = j + (size_t)an_rng_below(&rng, (uint64_t)(P - j)), t = xai->pick[j];
            xai->pick[j] = xai->pick[k];
            xai->pick[k] = t;
        }
        an__xai_add_pick(xai, s, paired, 1.0);
    }
    for (j = first_drawn; j < xai->n_coalitions; j++) drawn_weight += xai->weights[j];
    for (j = first_drawn; j < xai->n_coalitions; j++) xai->weights[j] *= left / drawn_weight;
}

AN_API an_result an_xai_shap(an_xai *xai, size_t evaluations, uint64_t seed, double *phi, an_xai_summary *summary)
{
    size_t P, M, k, i, j;
    double delta, top = 0.0;
    an_result r;
    if ((r = an__xai_begin(xai, phi, summary)) != AN_OK) return r;
    if (evaluations > xai->budget) return AN_ERR_SHAPE;
    if ((r = an__xai_ends(xai, summary)) != AN_OK) return r;
    P = xai->n_players;
    delta = summary->full - summary->empty;
    xai->n_coalitions = 0;
    if (P == 1) {
        phi[0] = delta;
        an__xai_close(xai, phi, summary);
        return AN_OK;
    }
    an__xai_shap_sample(xai, evaluations, seed);
    if ((r = an__xai_eval_stored(xai, xai->n_coalitions, xai->values, &k)) != AN_OK) return r;
    summary->evaluations += xai->n_coalitions;
    summary->scored += k;
    /* Efficiency: phi_last = delta - sum of the others, so with
       y_k = f(z_k) - f(none) - z_k,last delta and a_kj = z_kj - z_k,last,
       minimise sum_k w_k (y_k - a_k . phi[0 .. M))^2, M = P - 1:
       normal (M, M) = A^T W A, rhs (M) = A^T W y. */
    M = P - 1;
    memset(xai->normal, 0, M * M * sizeof(double));
    memset(xai->rhs, 0, M * sizeof(double));
    for (k = 0; k < xai->n_coalitions; k++) {
        const unsigned char *z = xai->coalitions + k * P;
        double w = xai->weights[k], y = xai->values[k] - summary->empty - (double)z[M] * delta;
        for (i = 0; i < M; i++) {
            double ai = (double)z[i] - (double)z[M];
            if (ai == 0.0) continue;
            xai->rhs[i] += w * ai * y;
            for (j = 0; j <= i; j++) xai->normal[i * M + j] += w * ai * ((double)z[j] - (double)z[M]);
        }
    }
    for (i = 0; i < M; i++) {
        for (j = 0; j < i; j++) xai->normal[j * M + i] = xai->normal[i * M + j];
        if (xai->normal[i * M + i] > top) top = xai->normal[i * M + i];
    }
    for (i = 0; i < M; i++) xai->normal[i * M + i] += 1e-9 * (top > 0.0 ? top : 1.0);
    if ((r = an__xai_cholesky_solve(xai->normal, xai->rhs, M)) != AN_OK) return r;
    phi[M] = delta;
    for (i = 0; i < M; i++) {
        phi[i] = xai->rhs[i];
        phi[M] -= phi[i];
    }
    an__xai_close(xai, phi, summary);
    return AN_OK;
}

AN_API an_result an_xai_occlusion(an_xai *xai, double *phi, an_xai_summary *summary)
{
    size_t p, P;
    an_result r;
    if ((r = an__xai_begin(xai, phi, summary)) != AN_OK) return r;
    if ((r = an__xai_ends(xai, summary)) != AN_OK) return r;
    P = xai->n_players;
    xai->n_coalitions = 0;
    if ((r = an__xai_eval(xai, P, an__xai_pick_occlude, phi)) != AN_OK) return r;   /* f without p */
    for (p = 0; p < P; p++) phi[p] = summary->full - phi[p];
    summary->evaluations += P;
    summary->scored += P;
    an__xai_close(xai, phi, summary);
    return AN_OK;
}

AN_API an_result an_xai_lime(an_xai *xai, const an_xai_lime_config *config, double *phi, an_xai_summary *summary)
{
    an_xai_lime_config c = config ? *config : an_xai_lime_config_init();
    size_t P, n, k, i, j, scored;
    double sw = 0.0, ybar = 0.0, ss_res = 0.0, ss_tot = 0.0, *zbar;
    an_rng rng;
    an_result r;
    if ((r = an__xai_begin(xai, phi, summary)) != AN_OK) return r;
    if (c.samples == 0 || !(c.kernel_width > 0.0) || !an__finite(c.kernel_width) || !(c.ridge >= 0.0) ||
        !an__finite(c.ridge))
        return AN_ERR_INVALID_ARG;
    if (c.samples > xai->budget) return AN_ERR_SHAPE;
    if ((r = an__xai_ends(xai, summary)) != AN_OK) return r;
    P = xai->n_players;
    n = c.samples;
    an_rng_seed(&rng, c.seed, 0x11e);
    xai->n_coalitions = 0;
    for (k = 0; k < n; k++) {   /* k = 0: x itself; then `masked` players masked */
        size_t masked = k ? 1 + (size_t)an_rng_below(&rng, (uint64_t)P) : 0;
        double d = 1.0 - sqrt((double)(P - masked) / (double)P);   /* cosine distance from all-present */
        for (j = 0; j < P; j++) xai->pick[j] = j;
        for (j = 0; j < masked; j++) {
            size_t m = j + (size_t)an_rng_below(&rng, (uint64_t)(P - j)), t = xai->pick[j];
            xai->pick[j] = xai->pick[m];
            xai->pick[m] = t;
        }
        memset(xai->mask, 1, P);
        for (j = 0; j < masked; j++) xai->mask[xai->pick[j]] = 0;
        an__xai_add(xai, xai->mask, exp(-d * d / (2.0 * c.kernel_width * c.kernel_width)));
    }
    if ((r = an__xai_eval_stored(xai, n, xai->values, &scored)) != AN_OK) return r;
    summary->evaluations += n;
    summary->scored += scored;
    /* Weighted ridge with a free intercept: centre z and f on their
       weighted means, solve (Zc^T W Zc + ridge I) phi = Zc^T W fc, then
       intercept = fbar - zbar . phi.  normal holds (P+1)^2 doubles: the
       system in its first P^2, zbar (P) after it. */
    zbar = xai->normal + P * P;
    memset(xai->normal, 0, (P + 1) * (P + 1) * sizeof(double));
    memset(xai->rhs, 0, P * sizeof(double));
    for (k = 0; k < n; k++) {
        const unsigned char *z = xai->coalitions + k * P;
        sw += xai->weights[k];
        ybar += xai->weights[k] * xai->values[k];
        for (j = 0; j < P; j++) zbar[j] += xai->weights[k] * (double)z[j];
    }
    if (!(sw > 0.0)) return AN_ERR_NUMERIC;
    ybar /= sw;
    for (j = 0; j < P; j++) zbar[j] /= sw;
    for (k = 0; k < n; k++) {
        const unsigned char *z = xai->coalitions + k * P;
        double w = xai->weights[k], y = xai->values[k] - ybar;
        for (i = 0; i < P; i++) {
            double zi = (double)z[i] - zbar[i];
            xai->rhs[i] += w * zi * y;
            for (j = 0; j <= i; j++) xai->normal[i * P + j] += w * zi * ((double)z[j] - zbar[j]);
        }
    }
    for (i = 0; i < P; i++) {
        for (j = 0; j < i; j++) xai->normal[j * P + i] = xai->normal[i * P + j];
        xai->normal[i * P + i] += c.ridge;
    }
    if ((r = an__xai_cholesky_solve(xai->normal, xai->rhs, P)) != AN_OK) return r;
    summary->intercept = ybar;
    for (j = 0; j < P; j++) {
        phi[j] = xai->rhs[j];
        summary->intercept -= zbar[j] * phi[j];
    }
    for (k = 0; k < n; k++) {
        const unsigned char *z = xai->coalitions + k * P;
        double fit = summary->intercept, w = xai->weights[k];
        for (j = 0; j < P; j++) fit += (double)z[j] * phi[j];
        ss_res += w * (xai->values[k] - fit) * (xai->values[k] - fit);
        ss_tot += w * (xai->values[k] - ybar) * (xai->values[k] - ybar);
    }
    summary->fidelity = ss_tot > 0.0 ? 1.0 - ss_res / ss_tot : 1.0;
    an__xai_close(xai, phi, summary);
    return AN_OK;
}

AN_API an_result an_xai_importance(const float *x, const float *expected, size_t n_rows, size_t n_features,
                                   const double *scale, double *cells)
{
    size_t n, t, f;
    if (!x || !expected || !cells || n_rows == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    if ((n = an__mul(n_rows, n_features)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (scale)
        for (f = 0; f < n_features; f++)
            if (!(scale[f] > 0.0) || !an__finite(scale[f])) return AN_ERR_INVALID_ARG;
    if (!an__all_finite(x, n) || !an__all_finite(expected, n)) return AN_ERR_INPUT;
    for (t = 0; t < n_rows; t++)
        for (f = 0; f < n_features; f++) {
            size_t i = t * n_features + f;
            cells[i] = ((double)x[i] - (double)expected[i]) / (scale ? scale[f] : 1.0);
        }
    return AN_OK;
}

AN_API an_result an_xai_nearest_fill(const float *reference, size_t n_ref, size_t n_features, const float *window,
                                     size_t length, size_t skip_start, size_t skip_end, float *fill)
{
    size_t n, s, i, c, best;
    if (!reference || !window || !fill || length == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    if ((n = an__mul(n_ref, n_features)) == SIZE_MAX || an__mul(length, n_features) == SIZE_MAX)
        return AN_ERR_TOO_LARGE;
    if (!an__all_finite(reference, n) || !an__all_finite(window, length * n_features)) return AN_ERR_INPUT;
    for (c = 0; c < n_features; c++) {
        double best_cost = HUGE_VAL;
        best = n_ref;
        for (s = 0; s + length <= n_ref; s++) {
            double cost = 0.0;
            if (skip_start < skip_end && s < skip_end && s + length > skip_start) continue;   /* overlaps the skip */
            for (i = 0; i < length && cost < best_cost; i++)
                cost += fabs((double)window[i * n_features + c] - (double)reference[(s + i) * n_features + c]);
            if (cost < best_cost) {
                best_cost = cost;
                best = s;
            }
        }
        if (best == n_ref) return AN_ERR_TOO_SHORT;
        for (i = 0; i < length; i++) fill[i * n_features + c] = reference[(best + i) * n_features + c];
    }
    return AN_OK;
}

AN_API an_result an_xai_cells(const an_xai *xai, const double *phi, double *cells)
{
    const an_xai_players *p;
    size_t F, i, c;
    if (!xai || !xai->series || !phi || !cells) return AN_ERR_INVALID_ARG;
    p = &xai->players;
    F = xai->n_features;
    for (i = 0; i < p->length; i++) {
        size_t seg = an__xai_segment(i, p->length, p->n_segments);
        size_t rows = (seg + 1) * p->length / p->n_segments - seg * p->length / p->n_segments;
        for (c = 0; c < F; c++)
            cells[i * F + c] = phi[an__xai_player(xai, i, c)] / (double)(rows * (p->per_channel ? 1 : F));
    }
    return AN_OK;
}

/* The IG scratch: chunk path points and their gradients (chunk, n_rows,
   F) each and the scores (n_rows). */
static size_t an__xai_ig_layout(size_t n_rows, size_t F, size_t *grad, size_t *scores)
{
    an__layout l = { 0 };
    size_t cells = an__mul(n_rows, F);
    if (cells == SIZE_MAX) return SIZE_MAX;
    cells *= an__xai_chunk(cells);   /* at most max(cells, AN_XAI_BATCH_BYTES / 4) */
    an__layout_add(&l, cells, sizeof(float));
    if (l.size == SIZE_MAX) return SIZE_MAX;
    *grad = an__layout_add(&l, cells, sizeof(float));
    if (l.size == SIZE_MAX) return SIZE_MAX;
    *scores = an__layout_add(&l, n_rows, sizeof(float));
    return l.size;
}

AN_API an_result an_xai_ig_work_size(size_t n_rows, size_t n_features, size_t *bytes)
{
    size_t g, s;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (n_rows == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    *bytes = an__xai_ig_layout(n_rows, n_features, &g, &s);
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

/* f of `series` (n_rows rows) at row target. */
static an_result an__xai_score_at(an_detector *d, const float *series, size_t n_rows, size_t target, float *scores,
                                  double *f)
{
    an_result r = an_detector_score(d, series, n_rows, scores);
    if (r != AN_OK) return r;
    if (!an__finite(scores[target])) return AN_ERR_NUMERIC;
    *f = scores[target];
    return AN_OK;
}

AN_API an_result an_xai_integrated_gradients_work(an_detector *d, const float *x, const float *baseline,
                                                  size_t n_rows, size_t target, size_t steps, an_xai_rule rule,
                                                  double *attr, an_xai_summary *summary, void *work)
{
    size_t F, n, g_off, s_off, k, k0, i, j, chunk, count;
    float *path, *grad, *scores;
    an_result r;
    if (!d || !x || !baseline || !attr || !summary || !work || an__misaligned(work)) return AN_ERR_INVALID_ARG;
    memset(summary, 0, sizeof *summary);
    summary->intercept = summary->fidelity = (double)NAN;
    F = d->n_features;
    if (n_rows == 0 || F == 0 || steps == 0 || target >= n_rows) return AN_ERR_INVALID_ARG;
    if (rule != AN_XAI_MIDPOINT && rule != AN_XAI_TRAPEZOID) return AN_ERR_INVALID_ARG;
    if (an__xai_ig_layout(n_rows, F, &g_off, &s_off) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    n = n_rows * F;
    chunk = an__xai_chunk(n);
    path = (float *)work;
    grad = (float *)(void *)((unsigned char *)work + g_off);
    scores = (float *)(void *)((unsigned char *)work + s_off);
    memset(attr, 0, n * sizeof(double));
    if ((r = an__xai_score_at(d, x, n_rows, target, scores, &summary->full)) != AN_OK) return r;
    if ((r = an__xai_score_at(d, baseline, n_rows, target, scores, &summary->empty)) != AN_OK) return r;
    summary->evaluations = summary->scored = 2;
    /* attr accumulates the weighted gradients (the integral's estimate),
       in the order of k, then is multiplied by x - b; the points k = 0 ..
       count - 1 go `chunk` at a time */
    count = rule == AN_XAI_MIDPOINT ? steps : steps + 1;
    for (k0 = 0; k0 < count; k0 += chunk) {
        size_t c = count - k0 < chunk ? count - k0 : chunk;
        for (j = 0; j < c; j++) {
            double s = rule == AN_XAI_MIDPOINT ? ((double)(k0 + j) + 0.5) / (double)steps
                                               : (double)(k0 + j) / (double)steps;
            for (i = 0; i < n; i++) path[j * n + i] = (float)(baseline[i] + s * ((double)x[i] - baseline[i]));
        }
        if ((r = an_detector_gradient_batch(d, path, c, n_rows, target, grad)) != AN_OK) return r;
        summary->evaluations += c;
        summary->scored += c;
        for (j = 0; j < c; j++) {
            double w = 1.0 / (double)steps;
            k = k0 + j;
            if (rule == AN_XAI_TRAPEZOID && (k == 0 || k == steps)) w *= 0.5;
            for (i = 0; i < n; i++) {
                if (!an__finite(grad[j * n + i])) return AN_ERR_NUMERIC;
                attr[i] += w * grad[j * n + i];
            }
        }
    }
    for (i = 0; i < n; i++) attr[i] *= (double)x[i] - baseline[i];
    {
        double sum = 0.0;
        for (i = 0; i < n; i++) sum += attr[i];
        summary->sum = sum;
        summary->gap = sum - (summary->full - summary->empty);
    }
    return AN_OK;
}

AN_API an_result an_xai_integrated_gradients(an_detector *d, const float *x, const float *baseline, size_t n_rows,
                                             size_t target, size_t steps, an_xai_rule rule, double *attr,
                                             an_xai_summary *summary, const an_allocator *a)
{
    an_allocator alloc;
    size_t bytes;
    void *work;
    an_result r;
    if (!d || !summary) return AN_ERR_INVALID_ARG;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an_xai_ig_work_size(n_rows, d->n_features, &bytes)) != AN_OK) return r;
    if (!(work = an_malloc(&alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    r = an_xai_integrated_gradients_work(d, x, baseline, n_rows, target, steps, rule, attr, summary, work);
    an_free(&alloc, work, bytes);
    return r;
}

/* ==========================================================================
   3  REASONS IN WORDS
   ========================================================================== */

static const char *const an__xai_deviation_names[7] = {
    "spike", "dip", "level shift", "variance change", "flatline", "trend", "pattern change"
};

AN_API const char *an_xai_deviation_name(int kind)
{
    return kind >= 0 && kind < 7 ? an__xai_deviation_names[kind] : NULL;
}

AN_API an_xai_context an_xai_context_init(void)
{
    an_xai_context c;
    memset(&c, 0, sizeof c);
    c.confidence = (double)NAN;
    return c;
}

/* Text into a caller buffer, cut at its capacity, counting every byte. */
typedef struct an__text { char *buf; size_t cap, len; } an__text;

static void an__text_put(an__text *t, const char *s)
{
    for (; *s; s++, t->len++)
        if (t->len + 1 < t->cap) t->buf[t->len] = *s;
}

static void an__text_g(an__text *t, double v, int sig, int plus)
{
    char b[48];
    an__fmt_g(b, v, sig);
    if (plus && v >= 0) an__text_put(t, "+");
    an__text_put(t, b);
}

static void an__text_size(an__text *t, size_t v)
{
    char b[32], *e = b + sizeof b - 1;
    *e = '\0';
    an__text_put(t, an__digits(e, v));
}

static void an__text_name(an__text *t, const an_xai_context *c, size_t f)
{
    if (c->names && c->names[f]) { an__text_put(t, c->names[f]); return; }
    an__text_put(t, "channel ");
    an__text_size(t, f + 1);
}

static void an__text_row(an__text *t, const an_xai_context *c, size_t row)
{
    if (c->stamps && c->stamps[row]) { an__text_put(t, c->stamps[row]); return; }
    an__text_put(t, "row ");
    an__text_size(t, row);
}

/* The expected value of cell (t, f): the caller's, or the outside median. */
static double an__xai_expect(const an_xai_context *c, size_t t, size_t f, double median_x)
{
    double e = c->expected ? c->expected[t * c->n_features + f] : (double)NAN;
    return an__finite(e) ? e : median_x;
}

/* Median and robust sigma (1.4826 MAD) of the n values in v (reordered). */
static void an__xai_robust(float *v, size_t n, double *median, double *sigma)
{
    size_t i;
    double mad = 0.0;
    if (an_percentile_inplace(v, n, 50.0, median) != AN_OK) *median = 0.0;   /* n == 0: sigma the floor below */
    for (i = 0; i < n; i++) v[i] = (float)fabs(v[i] - *median);
    an_percentile_inplace(v, n, 50.0, &mad);
    *sigma = 1.4826 * mad;
    if (!(*sigma > 1e-12 * (1.0 + fabs(*median)))) {   /* over half the values equal: their mean deviation */
        for (i = 0, mad = 0.0; i < n; i++) mad += v[i] / (double)n;
        *sigma = 1.2533141373155 * mad;
    }
    if (!(*sigma > 1e-12 * (1.0 + fabs(*median)))) *sigma = 1e-12 * (1.0 + fabs(*median));
}

/* One channel's numbers: the outside median of x, and the residuals'
   outside median and sigma.  Rows inside ev count only when none is
   outside. */
typedef struct an__xai_channel { double median_x, median_r, sigma; } an__xai_channel;

static an__xai_channel an__xai_channel_of(const an_xai_context *c, const an_event *ev, size_t f, float *work)
{
    an__xai_channel ch;
    size_t t, n = 0, F = c->n_features, whole = ev->end - ev->start + 1 == c->n_rows;
    double unused;
    for (t = 0; t < c->n_rows; t++)
        if (whole || t < ev->start || t > ev->end) work[n++] = c->x[t * F + f];
    an__xai_robust(work, n, &ch.median_x, &unused);
    n = 0;
    for (t = 0; t < c->n_rows; t++)
        if (whole || t < ev->start || t > ev->end)
            work[n++] = (float)(c->x[t * F + f] - an__xai_expect(c, t, f, ch.median_x));
    an__xai_robust(work, n, &ch.median_r, &ch.sigma);
    return ch;
}

/* A channel joins the reason at this many sigmas (4: over a long event
   3 would list noise). */
#define AN__XAI_ALSO_SIGMAS 4.0

/* The row of the event where channel f is furthest from its median
   residual (the first of ties). */
static size_t an__xai_worst_row(const an_xai_context *c, const an_event *ev, size_t f, const an__xai_channel *ch)
{
    size_t t, worst = ev->start;
    double top = -1.0;
    for (t = ev->start; t <= ev->end; t++) {
        double d = fabs(c->x[t * c->n_features + f] - an__xai_expect(c, t, f, ch->median_x) - ch->median_r);
        if (d > top) { top = d; worst = t; }
    }
    return worst;
}

/* Whether channel f's values stop moving over the event: their mean
   |first difference| inside under a twentieth of its median outside. */
static int an__xai_flat(const an_xai_context *c, const an_event *ev, size_t f, float *work)
{
    size_t F = c->n_features, L = ev->end - ev->start + 1, t, n = 0;
    double diff_in = 0.0, diff_out = 0.0;
    if (L < 3) return 0;
    for (t = 1; t < c->n_rows; t++) {
        double d = fabs((double)c->x[t * F + f] - c->x[(t - 1) * F + f]);
        if (t > ev->start && t <= ev->end) diff_in += d / (double)(L - 1);
        else work[n++] = (float)d;
    }
    if (n) an_percentile_inplace(work, n, 50.0, &diff_out);
    return n && diff_in < 0.05 * diff_out;
}

/* Whether channel f's noise collapses over the event (L >= 3): the
   values' mean |second difference| inside under a quarter of its median
   outside. */
static int an__xai_quiet(const an_xai_context *c, const an_event *ev, size_t f, float *work)
{
    size_t F = c->n_features, L = ev->end - ev->start + 1, t, n = 0;
    double d2_in = 0.0, d2_out = 0.0;
    for (t = 2; t < c->n_rows; t++) {
        double d = fabs((double)c->x[t * F + f] - 2.0 * c->x[(t - 1) * F + f] + c->x[(t - 2) * F + f]);
        if (t >= ev->start + 2 && t <= ev->end) d2_in += d / (double)(L - 2);
        else if (t + 2 < ev->start || t > ev->end + 2) work[n++] = (float)d;
    }
    if (n) an_percentile_inplace(work, n, 50.0, &d2_out);
    return n && d2_in < 0.25 * d2_out;
}

/* The kind of deviation of channel f over the event (see section 3). */
static an_xai_deviation an__xai_kind(const an_xai_context *c, const an_event *ev, size_t f, const an__xai_channel *ch,
                                     float *work)
{
    size_t F = c->n_features, L = ev->end - ev->start + 1, t, n = 0;
    size_t worst = an__xai_worst_row(c, ev, f, ch);
    double r_peak = c->x[worst * F + f] - an__xai_expect(c, worst, f, ch->median_x) - ch->median_r;
    an_xai_deviation point = r_peak >= 0 ? AN_XAI_SPIKE : AN_XAI_DIP;
    double in_median, in_sigma;
    if (L < 3) return point;
    if (an__xai_flat(c, ev, f, work)) return AN_XAI_FLATLINE;   /* the values stop moving */
    /* the residuals inside, centred on the outside median */
    for (t = ev->start, n = 0; t <= ev->end; t++)
        work[n++] = (float)(c->x[t * F + f] - an__xai_expect(c, t, f, ch->median_x) - ch->median_r);
    an__xai_robust(work, n, &in_median, &in_sigma);
    if (L >= 6 && ((in_sigma > 2.5 * ch->sigma && fabs(in_median) < in_sigma / 1.4826) || an__xai_quiet(c, ev, f, work)))
        return AN_XAI_VARIANCE_CHANGE;
    if (L >= 6) {   /* least squares line of r on t inside */
        double st = 0.0, sr = 0.0, stt = 0.0, str = 0.0, srr = 0.0, slope, r2;
        for (t = ev->start; t <= ev->end; t++) {
            double x = (double)(t - ev->start), r = c->x[t * F + f] - an__xai_expect(c, t, f, ch->median_x);
            st += x; sr += r; stt += x * x; str += x * r; srr += r * r;
        }
        st /= (double)L; sr /= (double)L; stt = stt / (double)L - st * st; str = str / (double)L - st * sr;
        srr = srr / (double)L - sr * sr;
        slope = stt > 0.0 ? str / stt : 0.0;
        r2 = srr > 0.0 && stt > 0.0 ? str * str / (stt * srr) : 0.0;
        if (r2 > 0.6 && fabs(slope) * (double)(L - 1) > 2.0 * ch->sigma) return AN_XAI_TREND;
    }
    if (fabs(in_median) > 2.0 * ch->sigma) return AN_XAI_LEVEL_SHIFT;
    return fabs(r_peak) > 3.0 * ch->sigma ? point : AN_XAI_PATTERN_CHANGE;
}

AN_API an_result an_xai_explain_event(const an_xai_context *c, const an_event *ev, an_xai_reason *reason,
                                      char *text, size_t capacity, size_t *length, const an_allocator *a)
{
    an_xai_reason out;
    an__text t;
    an__xai_channel first;
    float *work;
    size_t F, f, cells, listed = 0;
    double best = -1.0;
    int first_stuck = 0;
    if (!c || !ev || !c->x || c->n_rows == 0 || c->n_features == 0 || (!text && capacity)) return AN_ERR_INVALID_ARG;
    if (ev->start > ev->peak || ev->peak > ev->end || ev->end >= c->n_rows) return AN_ERR_INVALID_ARG;
    F = c->n_features;
    for (f = 0; c->judged && f < F && !c->judged[f]; f++) {}
    if (f == F) return AN_ERR_INVALID_ARG;
    if ((cells = an__mul(c->n_rows, F)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (f = 0; f < cells; f++)
        if (!an__finite(c->x[f])) return AN_ERR_INPUT;
    if (!an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if (!(work = (float *)an_malloc(a, c->n_rows * sizeof(float), AN_ALIGN))) return AN_ERR_NOMEM;
    memset(&out, 0, sizeof out);
    for (f = 0; f < F; f++) {   /* a stuck channel, else the one furthest out anywhere in the event */
        an__xai_channel ch;
        size_t row;
        double e, x, z;
        int stuck;
        if (c->judged && !c->judged[f]) continue;
        ch = an__xai_channel_of(c, ev, f, work);
        row = an__xai_worst_row(c, ev, f, &ch);
        e = an__xai_expect(c, row, f, ch.median_x), x = c->x[row * F + f];
        z = (x - e - ch.median_r) / ch.sigma;
        stuck = ev->end - ev->start >= 5 && an__xai_flat(c, ev, f, work);
        if (fabs(z) >= AN__XAI_ALSO_SIGMAS) out.n_channels++;
        if (stuck > first_stuck || (stuck == first_stuck && fabs(z) > best)) {
            first_stuck = stuck;
            best = fabs(z);
            out.channel = f;
            out.row = row;
            out.actual = x;
            out.expected = e;
            out.deviation = x - e;
            out.sigmas = z;
        }
    }
    if (out.n_channels == 0) out.n_channels = 1;
    first = an__xai_channel_of(c, ev, out.channel, work);
    out.kind = an__xai_kind(c, ev, out.channel, &first, work);
    t.buf = text;
    t.cap = capacity;
    t.len = 0;
    an__text_put(&t, an__xai_deviation_names[out.kind]);
    an__text_put(&t, " in ");
    an__text_name(&t, c, out.channel);
    an__text_put(&t, ": ");
    an__text_g(&t, out.actual, 4, 0);
    an__text_put(&t, " where ");
    an__text_g(&t, out.expected, 4, 0);
    an__text_put(&t, " was expected (");
    an__text_g(&t, out.deviation, 3, 1);
    an__text_put(&t, ", ");
    an__text_g(&t, out.sigmas, 2, 1);
    an__text_put(&t, " robust sigmas), ");
    an__text_row(&t, c, ev->start);
    if (ev->end > ev->start) {
        an__text_put(&t, " .. ");
        an__text_row(&t, c, ev->end);
    }
    an__text_put(&t, " (");
    an__text_size(&t, ev->end - ev->start + 1);
    an__text_put(&t, ev->end > ev->start ? " rows)" : " row)");
    for (f = 0; f < F && listed < 3; f++) {   /* the other channels at 3 sigmas or more */
        an__xai_channel ch;
        size_t row;
        double z;
        if (f == out.channel || (c->judged && !c->judged[f])) continue;
        ch = an__xai_channel_of(c, ev, f, work);
        row = an__xai_worst_row(c, ev, f, &ch);
        z = (c->x[row * F + f] - an__xai_expect(c, row, f, ch.median_x) - ch.median_r) / ch.sigma;
        if (fabs(z) < AN__XAI_ALSO_SIGMAS) continue;
        an__text_put(&t, listed++ ? ", " : "; also ");
        an__text_name(&t, c, f);
        an__text_put(&t, " (");
        an__text_g(&t, z, 2, 1);
        an__text_put(&t, " sigmas)");
    }
    if (an__finite(c->confidence)) {
        char b[48];
        an__fmt_fixed(b, c->confidence, 2, 0, 0);
        an__text_put(&t, "; confidence ");
        an__text_put(&t, b);
    }
    if (capacity) text[t.len < capacity ? t.len : capacity - 1] = '\0';
    if (length) *length = t.len;
    if (reason) *reason = out;
    an_free(a, work, c->n_rows * sizeof(float));
    return AN_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_IMPLEMENTATION */
