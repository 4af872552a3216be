/* anomaly.c - the `anomaly` command: point it at a CSV file and get the
   anomalies, with reasons.

     anomaly detect [options] FILE|-     score every row of a CSV file
     anomaly stream [options]            score values from stdin as they come
     anomaly nab DATA_DIR OUT_DIR [--name NAME] [--windows FILE] [--per-file]
                                         run the NAB protocol over a corpus
     anomaly demo                        a synthetic series, end to end
     anomaly inject [options] FILE|-     add labelled synthetic anomalies
     anomaly augment --fraction F FILE|- add a VAE's synthetic normal windows

   `anomaly --help` documents every option.  The program is also the
   longest example of the library in use: reading data, fitting the hybrid
   detector, streaming, explaining events and scoring a benchmark. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700           /* realpath */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_xai.h"
#include "../anomaly_lstm.h"
#include "cli_read.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In parts: C99 promises string literals of 4095 bytes, no more. */
static const char *const usage_text[] = {
    "usage: anomaly detect [options] FILE|-\n"
    "       anomaly explain [options] [--explainer E] [--samples N] FILE|-\n"
    "       anomaly stream [options]\n"
    "       anomaly nab DATA_DIR OUT_DIR [--name NAME] [--windows combined_windows.json] [--per-file] [--jobs N]\n"
    "                   [options]\n"
    "       anomaly demo [options]\n"
    "       anomaly inject [--kinds LIST] [--count N] [--magnitude S] [--seed N] [--channels LIST]\n"
    "                      [--period N] [--clean-rows N] [--json FILE] FILE|-\n"
    "       anomaly augment --fraction F [--windows] [--seed N] [--window N] [--epochs N] FILE|-\n"
    "       anomaly augment --classifier MODEL [--count N] [--anomalous P] [--kinds LIST]\n"
    "                       [--magnitude S] [--from-vae] [--seed N] [--window N] [--epochs N] FILE|-\n"
    "\n"
    "detect reads a CSV file with a header: the first column a timestamp (ISO 8601\n"
    "or Unix seconds) or an index, then one or more numeric columns; empty or 'nan'\n"
    "cells are missing values, filled over the whole file by straight lines, along\n"
    "the season where a column has one; a row whose judged cells were all missing\n"
    "is never flagged, nothing having been seen there.  It writes one row per input\n"
    "row to stdout, 'timestamp,value(s),score,anomaly', where score is the\n"
    "calibrated anomaly likelihood in [0,1], and one line per event to stderr:\n"
    "start, end, peak, severity, confidence and the reason, expected against\n"
    "actual.  An event is a run of anomaly rows, joined to the next where at\n"
    "most 3 rows part them.\n"
    "\n"
    "options (before FILE or after it):\n"
    "  --method M       hybrid (default: STL + IQR as the baseline, weight 0.6, and\n"
    "                   the LSTM autoencoder, 0.4, used when it trains; after\n"
    "                   --train-rows short of the file, and in stream, it judges\n"
    "                   each window less its level, shapes not levels), stl (STL +\n"
    "                   IQR), mad (rolling robust z-score), iforest (isolation\n"
    "                   forest, 100 trees), lstm-ae (LSTM autoencoder), lstm-forecast\n"
    "                   (LSTM forecaster of the next row), vae (variational\n"
    "                   autoencoder, dense, of each window less its mean); the\n"
    "                   LSTMs and the VAE have 32 units\n"
    "  --period N       the seasonal period in rows, at least 2 (default: detected;\n"
    "                   where the timestamps step regularly, a period found within\n"
    "                   a twentieth of a day or a week of rows is taken as that,\n"
    "                   any other measured to a fraction of a row)\n"
    "  --window N       rows in the robust z-score's rolling window and in an LSTM's\n"
    "                   or the VAE's input window, at least 3 (default 48; vae 24)\n"
    "  --train-rows N   fit on the first N rows, at least 8 (default: all rows,\n"
    "                   unsupervised; stream: 500); every row is then scored from\n"
    "                   the first, causally; short of the file (and in stream)\n"
    "                   they are taken as normal: what they showed is no anomaly\n"
    "  --preset telemanom  telemanom (Hundman et al. 2018): --method lstm-forecast\n"
    "                   with telemanom's training (2 layers of 32 units, dropout\n"
    "                   0.3, at most 35 epochs, early stopping after 10) and\n"
    "                   --threshold dynamic (smoothed errors, pruning); give\n"
    "                   --train-rows, the known-normal period\n"
    "  --targets LIST   the columns judged, by name or number (1 = the first\n"
    "                   value column), comma-separated (default: every column\n"
    "                   not in --inputs)\n"
    "  --inputs LIST    columns the model reads but that are not judged\n"
    "                   (commands, other sensors): each target is judged less\n"
    "                   what a linear fit of its responses to the inputs\n"
    "                   predicts (the forecaster of --preset telemanom reads\n"
    "                   them as its inputs instead); default, with neither\n"
    "                   option: the on-off commands, columns holding only 0\n"
    "                   and 1 (both) in the training rows, and beside them\n"
    "                   columns constant at 0 or 1 (commands not used), when\n"
    "                   another column is left and there are 32 training rows\n",
    "  --threshold T    vote (default: a member past likelihood 0.999 votes, and\n"
    "                   so does one whose last 12 rows are together as surprising\n"
    "                   as its training rows' windows almost never are (after a\n"
    "                   training prefix, more than every one of them); the\n"
    "                   weighted vote decides; a lone flagged row must reach\n"
    "                   0.9999, fitted on the whole file in the members'\n"
    "                   surprise pool; a column stuck on one value for 6 rows,\n"
    "                   or longer where its training rows often hold their\n"
    "                   value, is an anomaly, and so is one whose last 12 rows\n"
    "                   go quiet (mean |second difference| under 1/8 of the\n"
    "                   training windows' lower quartile); every --method\n"
    "                   decides so), percentile[:P] (score above the P-th percentile of\n"
    "                   the training scores, 99), sigma[:K] (above the training\n"
    "                   mean + K sd, 3), dynamic (telemanom's thresholds on the\n"
    "                   prediction errors |actual - expected|, each column in\n"
    "                   units of its median training error; expected: the\n"
    "                   forecast of lstm-forecast and stl, lstm-ae's\n"
    "                   reconstruction, hybrid's members' weighted as in its\n"
    "                   vote; mad and iforest expect nothing: their\n"
    "                   likelihoods, with a note), spot[:Q] (SPOT, extreme-value\n"
    "                   threshold on those errors with risk Q, 1e-4)\n"
    "  --epochs N       LSTM training epochs, at most (default 20; early stopping)\n"
    "  --seed N         seed of the LSTM's and the isolation forest's randomness\n"
    "                   (default 1)\n"
    "  --save FILE      write the model as it stands after the training rows\n"
    "  --load FILE      use a saved model instead of fitting: the data continue\n"
    "                   where the model's left off\n"
    "  --json FILE      write the events as JSON\n"
    "  --svg FILE       draw the series, its events, the expected values and the\n"
    "                   scores with their threshold in an SVG picture\n"
    "  --quiet          no events and no progress bar on stderr (the bar shows\n"
    "                   while an LSTM trains, when stderr is a terminal)\n"
    "\n",
    "explain fits and detects as detect does (same options), then says why each\n"
    "event is anomalous: to stdout the CSV rows 'event,timestamp,channel,\n"
    "attribution' (events numbered from 1, timestamps as in the input) for every\n"
    "row of the event's window (its rows, widened to 12) and every channel; to\n"
    "stderr the event's reason in words.  The score explained is the raw score of\n"
    "the ensemble's first member (STL + IQR for the hybrid) at the event's peak,\n"
    "given 8 --window's worth of rows before the window; the window is cut into at\n"
    "most 24 players (row segments x channels), each player's value spread over\n"
    "its cells.\n"
    "  --explainer E    shap (default: Kernel SHAP, the values add up to score -\n"
    "                   masked score), occlusion (score minus the score with one\n"
    "                   player masked), lime (weighted ridge on random maskings),\n"
    "                   importance (actual - baseline in the column's robust\n"
    "                   scale, no model calls), ig (integrated gradients, 64\n"
    "                   steps, through the LSTM: lstm-ae, lstm-forecast, hybrid)\n"
    "  --samples N      maskings evaluated by shap and lime, 8 to 100000 (256)\n"
    "  --baseline B     what masked cells, ig's baseline and importance's expected\n"
    "                   values are: nearest (default: each column's nearest run of\n"
    "                   the training rows, the window's own rows left out) or\n"
    "                   expected (the detector's expected values, else the column\n"
    "                   means; an autoencoder's have seen the anomaly)\n"
    "  --seed N         also seeds shap's and lime's maskings\n"
    "  --json FILE      events with their reasons, scores and attributions\n"
    "  --svg FILE       the detect picture with a heat band of the attributions\n"
    "                   under each series\n"
    "\n",
    "stream reads one value, or one CSV row, per line from stdin and prints\n"
    "'score,anomaly' for each line as soon as it arrives ('0,0' while it gathers\n"
    "its training lines).  The first line sets the layout: numbers alone are the\n"
    "values; a time (any text) then numbers puts the time in front of each answer,\n"
    "'time,score,anomaly'; a header line means detect's layout, the first column\n"
    "the time or index when the header names two columns or more.  Missing cells\n"
    "hold the last value, and a row of them only is never flagged.  With --load it\n"
    "uses a saved model; otherwise it fits on the first --train-rows lines (default\n"
    "500) and scores every line from the first.  --save writes the model after the\n"
    "last line.  Takes --method, --period, --window, --train-rows, --epochs, --seed,\n"
    "--save, --load, --quiet.\n"
    "\n"
    "nab runs the Numenta Anomaly Benchmark protocol over every CSV under DATA_DIR\n"
    "(category subfolders): rows are fed one at a time and the detector is causal\n"
    "(it fits on the rows seen at rows 150, 300, 600, ...).  It writes\n"
    "OUT_DIR/NAME/<category>/NAME_<file>.csv in NAB's results layout (NAME\n"
    "defaults to anomalyh) and, with --windows, prints the three normalised NAB\n"
    "scores; --per-file then lists every file at the standard profile's\n"
    "threshold, most points lost first: its windows, those with a detection, its\n"
    "detections outside them (false positives) and the points it lost against a\n"
    "perfect detector (they sum to 100 less the score).  --jobs N scores N files\n"
    "at once in N processes (default: one per online core; the results are those\n"
    "of --jobs 1).  Takes --method, --period, --window, --epochs, --seed, --quiet.\n"
    "\n"
    "demo makes eight weeks of hourly synthetic telemetry with four injected\n"
    "anomalies, trains on the first three weeks, prints the events and the\n"
    "precision and recall, and draws demo.svg (or --svg FILE; --json FILE writes\n"
    "the events).  Takes --method, --period, --window, --threshold, --epochs,\n"
    "--seed, --svg, --json, --quiet.\n"
    "\n",
    "inject writes FILE back with synthetic anomalies in it and a last column\n"
    "'label' (1 on their rows); timestamps and untouched cells are copied as they\n"
    "were (missing cells are filled first, by interpolation, only where an\n"
    "anomaly lands).  One line per anomaly goes to stderr (kind, rows, column,\n"
    "magnitude), or with --json FILE a JSON list.  --kinds: any of spike, dip,\n"
    "shift, variance (a burst), collapse (the noise vanishes), flatline, trend\n"
    "(a ramp), phase (the season a quarter period late), gap (missing values),\n"
    "period (the season at 2/3 speed, for one to two periods); default the first\n"
    "seven but collapse.  --count anomalies (4), each in its own slot of the\n"
    "rows; --magnitude in units of the column's robust scale (the MAD of its\n"
    "first differences as an sd; 6); --seed (1); --channels: the columns that may\n"
    "be hit, by name or number (default all); --period for phase and period\n"
    "(default: detected; without one, phase is left out of the default kinds);\n"
    "--clean-rows N keeps the first N rows clean (for a training prefix).\n"
    "\n"
    "augment fits --method vae's model, without centring and with beta 0.01, on\n"
    "every row of FILE and writes FILE's rows as they were, then round(F n)\n"
    "windows of --window rows drawn from it, n the windows FILE holds end to end\n"
    "(timestamp 'synthetic'), with a last column 'synthetic' (0, then 1).\n"
    "--fraction F in [0, 10] (0.3: 30% more windows); --seed (1) seeds training\n"
    "and the draws.  --windows writes the drawn windows alone, as blocks: the\n"
    "header 'window,step,<columns>,label', then for each window --window lines\n"
    "'w,s,<values>,label' (w from 1, s from 0) and an empty line; label is 0 here.\n"
    "augment --classifier MODEL trains an LSTM classifier (32 units, --epochs,\n"
    "default 60) on --count windows (1024) cut from FILE at random rows (with\n"
    "--from-vae: drawn from the VAE above), --anomalous of them (0.5) with one\n"
    "anomaly injected after the window's first half (--kinds as inject's, default\n"
    "spike, dip, shift, variance, flatline, trend; --magnitude in FILE's robust\n"
    "scale units, 6), writes it to MODEL and the windows to stdout as --windows\n"
    "blocks, label 1 on the rows an anomaly changed.  MODEL is for detect and\n"
    "stream --load: a row's score is the probability that the window ending\n"
    "there holds an anomaly, calibrated on FILE's rows as detect calibrates its\n"
    "methods.  The same --seed gives the same bytes.\n"
    "\n"
    "Bad input (a missing, empty or malformed file, too few rows, a corrupt model,\n"
    "an unknown option) is one line on stderr, 'anomaly: ...', and exit status 1.\n"
    "\n"
    "examples:\n"
    "  anomaly detect --period 24 --json events.json sensor.csv > scored.csv\n"
    "  anomaly explain --explainer lime --samples 512 sensor.csv > why.csv\n"
    "  anomaly detect --train-rows 2000 --save model.anom sensor.csv > /dev/null\n"
    "  tail -f live.csv | anomaly stream --load model.anom\n",
    NULL
};

static void print_usage(FILE *f)
{
    size_t k;
    for (k = 0; usage_text[k]; k++) fputs(usage_text[k], f);
}

/* --------------------------------------------------------------------------
   Small helpers
   -------------------------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#  define NORETURN __attribute__((noreturn))
#else
#  define NORETURN
#endif

/* Temporary outputs not yet renamed over their files, removed at exit so
   a failure leaves the files the user had as they were (see out_open). */
#define MAX_OUTPUTS 4
static char *pending_tmp[MAX_OUTPUTS];

static void remove_pending(void)
{
    size_t k;
    for (k = 0; k < MAX_OUTPUTS; k++)
        if (pending_tmp[k]) unlink(pending_tmp[k]);
}

/* Interrupted (stream under ^C, a closed pipe): the temporaries go too. */
static void remove_pending_on_signal(int sig)
{
    remove_pending();
    signal(sig, SIG_DFL);
    raise(sig);
}

static NORETURN void die(const char *fmt, ...);
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("anomaly: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void check(an_result r, const char *what)
{
    if (r != AN_OK) die("%s: %s", what, an_result_str(r));
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t size)
{
    if (!(p = realloc(p, size ? size : 1))) die("out of memory");
    return p;
}

/* A formatted string in fresh memory. */
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    int len;
    char *s;
    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) die("bad format");
    s = (char *)xmalloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void *xcalloc_bytes(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p) die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return (char *)memcpy(xmalloc(n), s, n);
}

/* An output file, opened before any work so a path that cannot be
   written fails first, and written to a temporary file beside it that
   out_close renames over it: a failure at any point leaves what was there
   (the temporary goes at exit).  Not a regular file (a pipe, a terminal)
   or a link under /dev or /proc (/dev/stdout, even when it leads to a
   file): written in place, never renamed over.  Another symbolic link:
   the file it leads to is the one replaced, the link stays. */
typedef struct out_file { FILE *f; char *path, *tmp; } out_file;

static void out_open(out_file *o, const char *path)
{
    struct stat st;
    size_t k;
    int in_place = 0;
    o->path = o->tmp = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) die("cannot write %s: it is a directory", path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) in_place = 1;
    if (!in_place && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (!real || !strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6) || !strncmp(real, "/dev/", 5) ||
            !strncmp(real, "/proc/", 6))
            in_place = 1;
        else path = o->path = xstrdup(real);
        free(real);
    }
    if (!o->path) o->path = xstrdup(path);
    if (in_place) {              /* appended: after what stdout has written, when it is stdout */
        if (!(o->f = fopen(path, "a"))) die("cannot write %s: %s", path, strerror(errno));
        return;
    }
    for (k = 0; k < MAX_OUTPUTS && pending_tmp[k]; k++) {}
    if (k == MAX_OUTPUTS) die("too many output files");
    {
        int fd;
        mode_t mask = umask(0);
        umask(mask);
        o->tmp = xprintf("%s.tmp.XXXXXX", path);
        if ((fd = mkstemp(o->tmp)) < 0) die("cannot write %s: %s", path, strerror(errno));
        pending_tmp[k] = o->tmp;
        if (k == 0) {
            static const int sigs[4] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
            int j;
            atexit(remove_pending);
            for (j = 0; j < 4; j++) signal(sigs[j], remove_pending_on_signal);
        }
        if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "w")))
            die("cannot write %s: %s", path, strerror(errno));
    }
}

/* Closes o, then puts it in place of its file. */
static void out_close(out_file *o)
{
    size_t k;
    if (ferror(o->f) | fclose(o->f)) die("cannot write %s: %s", o->path, strerror(errno));
    if (o->tmp) {
        if (rename(o->tmp, o->path) != 0) die("cannot write %s: %s", o->path, strerror(errno));
        for (k = 0; k < MAX_OUTPUTS; k++)
            if (pending_tmp[k] == o->tmp) pending_tmp[k] = NULL;
        free(o->tmp);
    }
    free(o->path);
}

/* The whole of a file (or stdin for "-") as a string. */
static char *slurp(const char *path, size_t *size)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t len = 0, cap = 1 << 16, got;
    char *buf;
    struct stat st;
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) die("%s: is a directory, not a file", path);
    buf = (char *)xmalloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) buf = (char *)xrealloc(buf, cap *= 2);
    }
    {
        int failed = ferror(f), err = errno;
        if (f != stdin) fclose(f);
        if (failed) die("cannot read %s: %s", path, strerror(err));
    }
    buf[len] = '\0';
    if (size) *size = len;
    return buf;
}

/* CSV text of len bytes into t (t owns text), or the reason it cannot. */
static void parse_table(char *text, size_t len, const char *what, table *t)
{
    char err[CLI_ERR_SIZE];
    if (table_parse(text, len, what, t, err) != 0) die("%s", err);
}

static void read_table(const char *path, table *t)
{
    size_t len;
    char *text = slurp(path, &len);
    parse_table(text, len, path, t);
}

/* --------------------------------------------------------------------------
   The detector
   -------------------------------------------------------------------------- */

enum { METHOD_HYBRID, METHOD_STL, METHOD_MAD, METHOD_LSTM_AE, METHOD_LSTM_FORECAST, METHOD_IFOREST, METHOD_VAE };

static const char *method_name[] = {
    "hybrid (STL + IQR 0.6, LSTM autoencoder 0.4)", "STL + IQR", "rolling robust z (MAD)", "LSTM autoencoder",
    "LSTM forecaster", "isolation forest", "variational autoencoder"
};
static const char *const method_flag[] = { "hybrid", "stl", "mad", "lstm-ae", "lstm-forecast", "iforest", "vae" };
enum { EXPLAIN_IMPORTANCE, EXPLAIN_OCCLUSION, EXPLAIN_SHAP, EXPLAIN_LIME, EXPLAIN_IG };
static const char *const explainer_flag[] = { "importance", "occlusion", "shap", "lime", "ig" };
enum { BASELINE_NEAREST, BASELINE_EXPECTED };
static const char *const baseline_flag[] = { "nearest", "expected" };
enum { THRESHOLD_VOTE, THRESHOLD_PERCENTILE, THRESHOLD_SIGMA, THRESHOLD_DYNAMIC, THRESHOLD_SPOT };

enum { GIVEN_METHOD = 1, GIVEN_PERIOD = 2, GIVEN_WINDOW = 4, GIVEN_EPOCHS = 8, GIVEN_SEED = 16, GIVEN_PRESET = 32 };

/* --window's default; the VAE's is shorter: its 8-number code of 24 rows
   reconstructs their last row closer than one of 48 (make eval's
   synthetic files: fewer false events, the same recall; README). */
#define DEFAULT_WINDOW 48
#define VAE_WINDOW 24

typedef struct options {
    int method, threshold, quiet;
    unsigned given;              /* GIVEN_*: the model options on the command line */
    int telemanom, method_set, threshold_set;   /* --preset telemanom; --method, --threshold given */
    const char *targets, *inputs;               /* column lists, resolved against the table */
    an_ensemble_pool pool;       /* nab: AN_POOL_SURPRISE; detect, stream: the mean */
    double threshold_arg;
    size_t period, window, train_rows, epochs;
    size_t day;                  /* rows in a day from the training rows' times, 0 = not known */
    uint64_t seed;
    const char *save, *load, *json, *svg;
    FILE *save_f;                /* --save's file, open (out_open) */
    int explaining;              /* the command is explain: --seed seeds its sampling */
    int explainer;               /* explain: EXPLAIN_*                     */
    int baseline;                /* explain: BASELINE_*                    */
    int explain_option;          /* --explainer, --samples or --baseline given */
    size_t samples;              /* explain: coalitions for shap and lime  */
} options;

/* The LSTM methods' progress line, on stderr when it is a terminal.
   Training may stop early, before the last epoch: progress_end closes
   the line then. */
static int progress_open;

static void progress_end(void)
{
    if (progress_open) fputc('\n', stderr);
    progress_open = 0;
}

static int show_progress(void *user, const an_lstm_progress *p)
{
    char bar[21];
    size_t k, done = p->epochs ? 20 * p->epoch / p->epochs : 20;
    for (k = 0; k < 20; k++) bar[k] = k < done ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r%s [%s] epoch %zu/%zu  loss %.4g  validation %.4g  %.1f s%s", (const char *)user, bar, p->epoch,
            p->epochs, p->loss, p->val_loss, p->seconds, p->epoch == p->epochs ? "\n" : "");
    progress_open = p->epoch != p->epochs;
    return 0;
}

/* An LSTM member: `window` rows in, 32 units, at most about 2048 windows
   an epoch (the stride grows with the series), early stopping; centre:
   the autoencoder judges each window less its level (an_lstm_config's
   centre). */
static an_detector *make_lstm(const options *o, size_t n_features, int forecaster, size_t n_rows, int centre)
{
    an_lstm_config c = o->telemanom ? an_lstm_telemanom_config_init(o->window, 32)
                     : forecaster  ? an_lstm_forecaster_config_init(o->window, 32, 1)
                                   : an_lstm_ae_config_init(o->window, 32);
    an_detector *d;
    c.window_agg = AN_AGG_LAST;                  /* causal: a row is scored by the window ending at it */
    c.channel_norm = 1;                          /* several columns: each judged on its own error scale */
    c.centre = centre;
    c.train.stride = n_rows / 2048 + 1;
    c.seed = o->seed;
    if (!o->telemanom) c.train.epochs = 20, c.train.adam.lr = 3e-3;
    if (o->epochs) c.train.epochs = o->epochs;
    if (!o->quiet && isatty(2)) {
        c.train.progress = show_progress;
        c.train.progress_user = (void *)(forecaster ? "lstm-forecast" : "lstm-ae");
    }
    check(forecaster ? an_lstm_forecaster_create(&c, n_features, NULL, &d) : an_lstm_ae_create(&c, n_features, NULL, &d),
          "lstm");
    return d;
}

/* The VAE member (anomaly_lstm.h section 5): dense encoder and decoder
   of 32 units over `window` rows, 8 latent dimensions, beta 0.003
   warmed up over 5 epochs, each window centred (its level is not a
   pattern: an uncentred VAE flags every row of a trend that leaves the
   training range), scoring the root of the squared error (an_vae_config's
   root: its rare rows are not overstated); training as make_lstm's.
   Beta, centring, the root and the window (VAE_WINDOW) were chosen on
   make eval's synthetic files (README, "The VAE").  augment's
   generator keeps the library's beta (0.01) and does not centre: a
   centred VAE draws every window at the training mean. */
static an_vae_config vae_config(const options *o, size_t n_rows)
{
    an_vae_config c = an_vae_config_init(o->window, 32, 8);
    c.root = 1;
    c.beta = 0.003;
    c.warmup = 5;
    c.centre = 1;
    c.train.stride = n_rows / 2048 + 1;
    c.train.epochs = o->epochs ? o->epochs : 20;
    c.train.adam.lr = 3e-3;
    c.seed = o->seed;
    if (!o->quiet && isatty(2)) {
        c.train.progress = show_progress;
        c.train.progress_user = (void *)"vae";
    }
    return c;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Rows in a day where the n times (seconds) step regularly: nine steps
   in ten of one length that divides a day (5 minutes, an hour), else 0.
   STL + IQR takes a period it finds near the day or the week as that
   (an_stl_iqr_config's day): anomalies that shift or stretch cycles pull
   the search a lag or two long. */
static size_t rows_per_day(const double *time, size_t n)
{
    double *step, length, per_day;
    size_t i, same = 0;
    if (!time || n < 3) return 0;
    step = (double *)xmalloc((n - 1) * sizeof(double));
    for (i = 0; i + 1 < n; i++) step[i] = time[i + 1] - time[i];
    qsort(step, n - 1, sizeof(double), compare_doubles);
    length = step[(n - 1) / 2];
    for (i = 0; i + 1 < n; i++) same += step[i] == length;
    free(step);
    if (!(length > 0.0) || (double)same < 0.9 * (double)(n - 1)) return 0;
    per_day = 86400.0 / length;
    if (per_day < 2.0 || per_day > 1e7 || fabs(per_day - floor(per_day + 0.5)) > 1e-9 * per_day)
        return 0;                                /* (at most 10^7 rows a day: a size_t for sure) */
    return (size_t)floor(per_day + 0.5);
}

/* A stream line's time field in seconds: ISO 8601 or Unix seconds. */
static int time_seconds(const char *field, double *seconds)
{
    if (parse_iso8601(field, seconds)) return 1;
    if (!is_value(field)) return 0;
    *seconds = strtod(field, NULL);
    return *seconds - *seconds == 0.0;           /* finite */
}

/* The times of table t, or NULL where it has a row index only. */
static const double *table_times(const table *t) { return t->time_kind == TIME_INDEX ? NULL : t->time; }

/* The detector the options ask for, as an ensemble: the hybrid's vote
   (an_hybrid_vote_config: the sustained vote, stuck and quiet rules),
   calibrated likelihoods and fallback serve every method.  n_rows: the training
   rows, which size the LSTM's epochs; normal: they are known normal (a
   training prefix), so the sustained vote needs a window past theirs. */
static an_detector *make_detector(const options *o, size_t n_features, size_t n_rows, int normal)
{
    an_hybrid_config hc = an_hybrid_config_init(o->period);
    an_ensemble_config ec;
    an_stl_iqr_config sc = an_stl_iqr_config_init(o->period);
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, o->window);
    an_iforest_config ic = an_iforest_config_init(o->seed);
    an_detector *e, *m;
    hc.day = sc.day = o->day;
    hc.pool = o->pool;
    hc.normal_training = normal;
    if (o->method == METHOD_HYBRID) {            /* the library's default hybrid, with the LSTM as its second member */
        /* After known-normal training the autoencoder judges shapes and
           leaves levels to STL + IQR, which follows them: the rows scored
           may go on far past the training rows' levels (a trend), none of
           which is an anomaly by itself.  Fitted on the rows it judges
           (the whole file, NAB's growing refits) it keeps its reading of
           levels, which NAB measured better (README, "Detection
           quality"). */
        check(an_hybrid_create(&hc, n_features, make_lstm(o, n_features, 0, n_rows, normal), NULL, &e), "hybrid");
        return e;
    }
    ec = an_hybrid_vote_config(&hc);             /* every method decides as the hybrid does */
    check(an_ensemble_create(&ec, n_features, NULL, &e), "detector");
    switch (o->method) {

    case METHOD_STL:
        check(an_stl_iqr_create(&sc, n_features, NULL, &m), "stl-iqr");
        check(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE), "stl-iqr");
        break;
    case METHOD_MAD:
        check(an_robust_create(&rc, n_features, NULL, &m), "mad");
        check(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE), "mad");
        break;
    case METHOD_LSTM_AE:
    case METHOD_LSTM_FORECAST:
        m = make_lstm(o, n_features, o->method == METHOD_LSTM_FORECAST, n_rows, 0);   /* alone, it judges levels too */
        check(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE), "lstm");
        break;
    case METHOD_VAE: {
        an_vae_config vc = vae_config(o, n_rows);
        check(an_vae_create(&vc, n_features, NULL, &m), "vae");
        check(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE), "vae");
        break;
    }
    default:
        check(an_iforest_create(&ic, n_features, NULL, &m), "iforest");
        check(an_ensemble_add(e, m, 1.0, AN_MEMBER_BASELINE), "iforest");
    }
    return e;
}

/* The ensemble whose decisions the rows get: d, or the one its inputs
   stage wraps. */
static an_detector *decider(an_detector *d)
{
    an_detector *inner;
    return an_exog_inner(d, &inner) == AN_OK ? inner : d;
}

/* The method's detector for a table whose judged columns are target[]:
   behind the inputs stage when some columns are only read, except for
   the forecaster, which reads them as its own inputs (telemanom's way). */
static an_detector *make_for_table(const options *o, const table *t, const unsigned char *target, size_t train,
                                   int normal)
{
    an_exog_config xc = an_exog_config_init();
    unsigned char *input;
    size_t f, n_targets = 0;
    an_detector *d;
    for (f = 0; f < t->cols; f++) n_targets += target[f];
    if (n_targets == t->cols || o->method == METHOD_LSTM_FORECAST) return make_detector(o, t->cols, train, normal);
    if (train < 32) die("--inputs: %zu training rows are too few to learn the targets' responses (give at least 32)", train);
    input = (unsigned char *)xmalloc(t->cols);
    for (f = 0; f < t->cols; f++) input[f] = !target[f];
    check(an_exog_create(&xc, t->cols, input, make_detector(o, n_targets, train, normal), NULL, &d), "inputs");
    free(input);
    return d;
}

/* Fits d on the first n rows of x, or says why it cannot. */
static void fit_detector(const options *o, an_detector *d, const float *x, size_t n)
{
    an_result r = an_detector_fit(d, x, n);
    progress_end();
    if (r == AN_ERR_TOO_SHORT && (o->method == METHOD_LSTM_AE || o->method == METHOD_LSTM_FORECAST ||
                                  o->method == METHOD_VAE))
        die("%zu training rows are too few for --method %s with --window %zu (its windows and their validation "
            "split need more rows; give more rows or a smaller --window)", n, method_flag[o->method], o->window);
    if (r == AN_ERR_TOO_SHORT)
        die("%zu training rows are too few for --method %s (a seasonal fit needs two periods; give more rows or "
            "a shorter --period)", n, method_flag[o->method]);
    check(r, "fit");
    if (o->method == METHOD_HYBRID && !o->quiet) {      /* an optional member that could not fit sits out */
        an_detector *m;
        if (an_ensemble_member(decider(d), 1, &m) == AN_OK && !m->fitted)
            fprintf(stderr, "anomaly: note: %zu training rows are too few for the LSTM autoencoder's windows of %zu "
                            "rows and their validation split: the hybrid is STL + IQR alone\n", n, o->window);
    }
}

/* A chunk or type tag as its four letters ('?' where one is not printable). */
static const char *tag_name(uint32_t tag, char name[5])
{
    int k;
    for (k = 0; k < 4; k++) name[k] = isprint((int)((tag >> (8 * k)) & 0xff)) ? (char)((tag >> (8 * k)) & 0xff) : '?';
    name[4] = '\0';
    return name;
}

static an_detector *load_detector(const char *path)
{
    void *data;
    size_t size;
    an_reader r;
    an_detector *d = NULL;
    an_result res;
    struct stat st;
    FILE *f = fopen(path, "rb");                 /* the reason a file cannot be read, in the system's words */
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    fclose(f);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) die("%s: is a directory, not a model file", path);
    if ((res = an_file_read(path, NULL, &data, &size)) != AN_OK) die("%s: %s", path, an_result_str(res));
    const an_detector_vtable *types[16];
    size_t n_stats, n_lstm, i;
    const an_detector_vtable *const *stats = an_stats_types(&n_stats), *const *lstm = an_lstm_types(&n_lstm);
    if (n_stats + n_lstm > sizeof types / sizeof types[0]) die("internal error: more than 16 detector types");
    for (i = 0; i < n_stats + n_lstm; i++)                   /* every type this program links */
        types[i] = i < n_stats ? stats[i] : lstm[i - n_stats];
    if ((res = an_model_open(&r, data, size)) != AN_OK) die("%s: %s", path, an_result_str(res));
    {
        uint32_t tag = 0;                        /* say which type, should a newer file need one */
        char name[5];
        an_reader at = r, payload, type;
        if (an_detector_missing_type(&r, types, n_stats + n_lstm, &tag) == AN_OK && tag)
            die("%s: the model needs detector type '%s', which this program does not have", path, tag_name(tag, name));
        if (an_reader_at_end(&at)) die("%s: an empty model file (no detector in it)", path);
        if (an_read_chunk(&at, &tag, &payload) == AN_OK && tag != AN_TAG_DETECTOR)
            die("%s: holds a '%s' object, not a detector; --load takes a file that anomaly --save wrote", path,
                tag_name(tag, name));
        if (tag == AN_TAG_DETECTOR && an_read_expect(&payload, AN_TAG_TYPE, &type) == AN_OK &&
            an_read_u32(&type, &tag) == AN_OK && tag != an_ensemble_type()->tag && tag != an_exog_type()->tag)
            die("%s: a model of one detector ('%s'), not the ensemble that anomaly --save writes", path,
                tag_name(tag, name));
    }
    if ((res = an_detector_load(&r, types, n_stats + n_lstm, NULL, &d)) != AN_OK) die("%s: %s", path, an_result_str(res));
    if (decider(d)->vt != an_ensemble_type())
        die("%s: the inputs stage wraps one detector, not the ensemble that anomaly --save writes", path);
    an_free(NULL, data, size);
    return d;
}

static void save_detector(const an_detector *d, FILE *f, const char *path)
{
    an_writer w;
    const void *data;
    size_t size;
    check(an_writer_init(&w, NULL), "save");
    check(an_detector_save(d, &w), "save");
    check(an_writer_finish(&w, &data, &size), "save");
    if (fwrite(data, 1, size, f) != size) die("cannot write %s: %s", path, strerror(errno));
    an_writer_uninit(&w);
}

/* The files a command writes (--json, --svg, --save), opened before it
   reads or prints anything, put in place when all went well. */
typedef struct outputs { out_file json, svg, save; const char *svg_path; } outputs;

static void outputs_open(options *o, outputs *out, const char *svg_default)
{
    out->svg_path = o->svg ? o->svg : svg_default;
    if (o->json) out_open(&out->json, o->json);
    if (out->svg_path) out_open(&out->svg, out->svg_path);
    if (o->save) out_open(&out->save, o->save);
    o->save_f = o->save ? out->save.f : NULL;
}

static void outputs_close(const options *o, outputs *out)
{
    if (o->json) out_close(&out->json);
    if (out->svg_path) out_close(&out->svg);
    if (o->save) out_close(&out->save);
}

/* --------------------------------------------------------------------------
   Events: runs of anomalous rows, with a reason
   -------------------------------------------------------------------------- */

/* Under the vote, an event of one row is kept only when its likelihood
   reaches the hybrid's lone-row level (an_hybrid_lone_ok: 0.9999, ten
   times rarer than a member's vote; fitted on the whole series, the
   members' surprise pool): a lone point is weak evidence unless
   it is extreme, while two flagged rows in a row confirm each other.
   Streams flag each row as it comes and cannot wait for this. */

/* What a detection run found: per row, and the events (runs of flagged
   rows from an_alarm_batch_f, told at their highest score; the severity
   and confidence told are the ensemble's at that row). */
typedef struct detection {
    float *score;
    unsigned char *flag;
    double *expected;                  /* (rows, cols) */
    double *err, *unit;                /* (rows) prediction errors, (cols) each column's
                                          unit (an_prediction_errors); NULL when the
                                          detector expects nothing */
    double *severity, *confidence;
    float *surprise;                   /* (rows) the members' surprise pool, a lone row's
                                          score where fitted on the whole series */
    an_event *events;
    size_t n_events, n_flagged;
    double threshold;                  /* on the scores, when the rule is one; else NaN */
    unsigned char *judged;             /* (cols) 0 for the inputs, which are read and never judged */
} detection;

/* The column an event is told by: the largest error at its peak, in
   units of each column's typical error (as the error thresholds judge
   it); SIZE_MAX when no column had an expectation there. */
static size_t event_channel(const table *t, const detection *r, const an_event *ev)
{
    size_t f, worst = SIZE_MAX;
    double dev = -1;
    const float *x = t->x + ev->peak * t->cols;
    const double *e = r->expected + ev->peak * t->cols;
    for (f = 0; f < t->cols; f++) {
        double v = e[f] == e[f] ? fabs(x[f] - e[f]) / (r->unit ? r->unit[f] : 1.0) : -1;
        if (v > dev) { dev = v; worst = f; }
    }
    return worst;
}

/* The reason for an event in words (an_xai_explain_event) into a fresh
   string: kind, size, channels, span, expected against actual, the
   ensemble's confidence at the peak. */
static char *reason_of(const table *t, const detection *r, const an_event *ev)
{
    an_xai_context c = an_xai_context_init();
    size_t length = 0;
    char *text;
    c.n_rows = t->rows;
    c.n_features = t->cols;
    c.x = t->x;
    c.expected = r->expected;
    c.names = (const char *const *)(t->name + 1);
    c.stamps = (const char *const *)t->stamp;
    c.confidence = r->confidence[ev->peak];
    c.judged = r->judged;
    check(an_xai_explain_event(&c, ev, NULL, NULL, 0, &length, NULL), "reason");
    text = (char *)xmalloc(length + 1);
    check(an_xai_explain_event(&c, ev, NULL, text, length + 1, NULL, NULL), "reason");
    return text;
}

static void describe(const table *t, const detection *r, const an_event *ev, FILE *out)
{
    char *reason = reason_of(t, r, ev);
    fprintf(out, "event %s .. %s (%zu row%s), peak %s: %s; severity %.1f, likelihood %.4f\n", t->stamp[ev->start],
            t->stamp[ev->end], ev->end - ev->start + 1, ev->end > ev->start ? "s" : "", t->stamp[ev->peak], reason,
            r->severity[ev->peak], r->score[ev->peak]);
    free(reason);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
    fputc('"', f);
}

/* --------------------------------------------------------------------------
   detect
   -------------------------------------------------------------------------- */

static void parse_threshold(const char *s, options *o)
{
    const char *colon = strchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    if (!strncmp(s, "vote", len) && len == 4) o->threshold = THRESHOLD_VOTE;
    else if (!strncmp(s, "percentile", len) && len == 10) o->threshold = THRESHOLD_PERCENTILE, o->threshold_arg = 99.0;
    else if (!strncmp(s, "sigma", len) && len == 5) o->threshold = THRESHOLD_SIGMA, o->threshold_arg = 3.0;
    else if (!strncmp(s, "dynamic", len) && len == 7) o->threshold = THRESHOLD_DYNAMIC;
    else if (!strncmp(s, "spot", len) && len == 4) o->threshold = THRESHOLD_SPOT, o->threshold_arg = 1e-4;
    else die("--threshold: vote, percentile[:P], sigma[:K], dynamic or spot[:Q], not '%s'", s);
    if (colon && (o->threshold == THRESHOLD_VOTE || o->threshold == THRESHOLD_DYNAMIC))
        die("--threshold: %.*s takes no number, not '%s'", (int)len, s, s);
    if (colon && !parse_number(colon + 1, &o->threshold_arg)) die("--threshold: bad number in '%s'", s);
    if (o->threshold == THRESHOLD_PERCENTILE && !(o->threshold_arg >= 0 && o->threshold_arg <= 100))
        die("--threshold: percentile:P takes P from 0 to 100, not '%s'", colon + 1);
    if (o->threshold == THRESHOLD_SIGMA && !(o->threshold_arg >= 0 && o->threshold_arg <= 1e6))
        die("--threshold: sigma:K takes K from 0 to 1e6 standard deviations, not '%s'", colon + 1);
    if (o->threshold == THRESHOLD_SPOT && !(o->threshold_arg > 0 && o->threshold_arg < 1))
        die("--threshold: spot:Q takes a risk Q between 0 and 1 (exclusive), not '%s'", colon + 1);
}

static size_t parse_count(const char *opt, const char *s)
{
    double v;
    if (!*s || strspn(s, "0123456789") != strlen(s) || !parse_number(s, &v))   /* no sign, space, hex or exponent */
        die("%s: '%.*s%s' is not a count (decimal digits)", opt, clip_len(s), s, clip_more(s));
    if (v > 1e15) die("%s: %s is more than 10^15", opt, s);
    return (size_t)v;
}

/* An option's value, or the message that it has none. */
static const char *value_of(const char *opt, const char *v)
{
    if (!v) die("%s needs a value", opt);
    if (v[0] == '-' && v[1] == '-') die("%s needs a value, not the option %s", opt, v);
    return v;
}

/* The defaults of every option. */
static void options_init(options *o)
{
    memset(o, 0, sizeof *o);
    o->window = DEFAULT_WINDOW;
    o->seed = 1;
    o->explainer = EXPLAIN_SHAP;
    o->samples = 256;
}

/* The index of v among an option's n names, or a message naming them
   (`choices`, in the order --help gives them). */
static int option_choice(const char *option, const char *v, const char *const *names, int n, const char *choices)
{
    int k;
    for (k = 0; k < n; k++)
        if (!strcmp(v, names[k])) return k;
    die("%s: %s, not '%s'", option, choices, v);
    return n;
}

/* Options shared by detect, stream, nab and demo, into o (from
   options_init); returns the index of the first argument that is not an
   option. */
static int parse_options(int argc, char **argv, int i, options *o)
{
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) { o->quiet = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { print_usage(stdout); exit(0); }
        if (a[0] != '-' || !strcmp(a, "-")) break;
        if (!strcmp(a, "--method")) {
            o->method = option_choice(a, value_of(a, v), method_flag, (int)(sizeof method_flag / sizeof method_flag[0]),
                                      "hybrid, stl, lstm-ae, lstm-forecast, iforest, mad or vae");
            o->given |= GIVEN_METHOD;
            o->method_set = 1;
        } else if (!strcmp(a, "--preset")) {
            if (strcmp(value_of(a, v), "telemanom")) die("--preset: telemanom is the one preset, not '%s'", v);
            o->telemanom = 1;
            o->given |= GIVEN_PRESET;
        } else if (!strcmp(a, "--targets")) o->targets = value_of(a, v);
        else if (!strcmp(a, "--inputs")) o->inputs = value_of(a, v);
        else if (!strcmp(a, "--period")) {
            if ((o->period = parse_count(a, value_of(a, v))) < 2)
                die("--period: at least 2 rows, not %s (leave it out to have it detected)", v);
            o->given |= GIVEN_PERIOD;
        } else if (!strcmp(a, "--window")) {
            if ((o->window = parse_count(a, value_of(a, v))) < 3) die("--window: at least 3 rows, not %s", v);
            o->given |= GIVEN_WINDOW;
        }
        else if (!strcmp(a, "--train-rows")) {
            if ((o->train_rows = parse_count(a, value_of(a, v))) == 0) die("--train-rows must be at least 8, not 0");
        }
        else if (!strcmp(a, "--threshold")) parse_threshold(value_of(a, v), o), o->threshold_set = 1;
        else if (!strcmp(a, "--save")) o->save = value_of(a, v);
        else if (!strcmp(a, "--load")) o->load = value_of(a, v);
        else if (!strcmp(a, "--json")) o->json = value_of(a, v);
        else if (!strcmp(a, "--svg")) o->svg = value_of(a, v);
        else if (!strcmp(a, "--seed")) o->seed = parse_count(a, value_of(a, v)), o->given |= GIVEN_SEED;
        else if (!strcmp(a, "--explainer")) {
            o->explainer = option_choice(a, value_of(a, v), explainer_flag,
                                         (int)(sizeof explainer_flag / sizeof explainer_flag[0]),
                                         "importance, occlusion, shap, lime or ig");
            o->explain_option = 1;
        } else if (!strcmp(a, "--baseline")) {
            o->baseline = option_choice(a, value_of(a, v), baseline_flag,
                                        (int)(sizeof baseline_flag / sizeof baseline_flag[0]), "nearest or expected");
            o->explain_option = 1;
        } else if (!strcmp(a, "--samples")) {
            if ((o->samples = parse_count(a, value_of(a, v))) < 8 || o->samples > 100000)
                die("--samples: from 8 to 100000");
            o->explain_option = 1;
        }
        else if (!strcmp(a, "--epochs")) {
            if ((o->epochs = parse_count(a, value_of(a, v))) == 0) die("--epochs must be at least 1");
            if (o->epochs > 1000000) die("--epochs: at most 1000000, not %s", v);
            o->given |= GIVEN_EPOCHS;
        }
        else die("unknown option %s (see --help)", a);
        i++;
    }
    if (o->load && (o->given & ~(unsigned)(o->explaining ? GIVEN_SEED : 0)))
        die("--load: the model fixes --method, --preset, --period, --window, --epochs and --seed; leave them out");
    if (o->telemanom && (o->method_set || o->threshold_set))
        die("--preset telemanom sets --method lstm-forecast and --threshold dynamic; give neither with it");
    if (o->telemanom) o->method = METHOD_LSTM_FORECAST, o->threshold = THRESHOLD_DYNAMIC;
    if (!(o->given & GIVEN_WINDOW)) o->window = o->method == METHOD_VAE ? VAE_WINDOW : DEFAULT_WINDOW;
    return i;
}

/* The flag rule the options ask for, from the training rows' scores. */
static double score_threshold(const options *o, const float *train_scores, size_t n)
{
    double v = 0, mean, sd;
    if (o->threshold == THRESHOLD_PERCENTILE) check(an_percentile(train_scores, n, o->threshold_arg, NULL, &v), "threshold");
    if (o->threshold == THRESHOLD_SIGMA) {
        check(an_mean_std(train_scores, n, &mean, &sd), "threshold");
        v = mean + o->threshold_arg * sd;
    }
    return v;
}

/* Flags from telemanom's dynamic thresholds or from SPOT, both on the
   prediction errors (an_prediction_errors: |actual - expected| in units
   of the training rows' median error), or on the likelihoods when the
   detector expects no values: SPOT calibrates on the training rows and
   streams the rest; telemanom judges the whole series in its trailing
   windows. */
static void error_threshold(const options *o, const table *t, size_t train, detection *r)
{
    double *err = (double *)xcalloc_bytes(t->rows * sizeof(double)), *values = (double *)xmalloc(t->rows * sizeof(double));
    size_t i, k;
    for (i = 0; i < t->rows; i++) err[i] = r->err ? r->err[i] : r->score[i];
    memset(r->flag, 0, t->rows);
    for (i = 0; i < t->rows; i++) values[i] = t->x[i * t->cols];
    if (o->threshold == THRESHOLD_DYNAMIC) {
        an_telemanom_config c = an_telemanom_config_init();
        an_telemanom_result res;
        memset(&res, 0, sizeof res);
        res.event_capacity = t->rows;
        res.events = (an_event *)xmalloc(t->rows * sizeof(an_event));
        check(an_telemanom_detect(&c, err, values, t->rows, &res, NULL), "dynamic threshold");
        for (k = 0; k < res.event_count; k++)
            for (i = res.events[k].start; i <= res.events[k].end; i++) r->flag[i] = 1;
        free(res.events);
    } else {
        an_spot_config c = an_spot_config_init(o->threshold_arg, 0.98);
        an_spot sp;
        an_spot_verdict v;
        check(an_spot_init(&sp, &c, NULL), "spot");
        check(an_spot_fit(&sp, err, train, NULL), "spot calibration");
        for (i = 0; i < train; i++) r->flag[i] = err[i] > an_spot_threshold(&sp);
        for (i = train; i < t->rows; i++) {
            check(an_spot_push(&sp, err[i], &v), "spot");
            r->flag[i] = v == AN_SPOT_ALARM;
        }
        an_spot_uninit(&sp);
    }
    free(err);
    free(values);
}

/* Sizes checked against the training rows before anything is allocated
   for them: a window longer than the rows cannot be filled. */
static void check_sizes(const options *o, size_t train)
{
    if (o->method == METHOD_HYBRID && !(o->given & GIVEN_WINDOW)) return;   /* its LSTM sits out (fit_detector) */
    if ((o->method == METHOD_MAD || o->method == METHOD_HYBRID || o->method == METHOD_LSTM_AE ||
         o->method == METHOD_LSTM_FORECAST || o->method == METHOD_VAE) && o->window > train)
        die("--window %zu: at most the %zu training rows for --method %s", o->window, train, method_flag[o->method]);
}

/* A list of value columns by name or by number (1 = the first value
   column), comma-separated, into ok[cols]; opt names the option. */
static void parse_columns(const char *opt, const char *list, const table *t, unsigned char *ok)
{
    char *copy = xstrdup(list), *p, *save = NULL;
    size_t k, any = 0;
    memset(ok, 0, t->cols);
    for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        double v;
        for (k = 0; k < t->cols && strcmp(t->name[k + 1], p); k++) {}
        if (k == t->cols && parse_number(p, &v) && v >= 1 && v <= (double)t->cols && v == floor(v)) k = (size_t)v - 1;
        if (k == t->cols) die("%s: no value column '%s'", opt, p);
        ok[k] = 1;
        any = 1;
    }
    free(copy);
    if (!any) die("%s: an empty list", opt);
}

/* The columns the error thresholds judge (target[cols]): --targets, or
   every column not among --inputs; the inputs are only read. */
static void resolve_targets(const options *o, const table *t, unsigned char *target)
{
    unsigned char *input = (unsigned char *)xmalloc(t->cols);
    size_t f, n = 0;
    memset(target, 1, t->cols);
    memset(input, 0, t->cols);
    if (o->targets) parse_columns("--targets", o->targets, t, target);
    if (o->inputs) parse_columns("--inputs", o->inputs, t, input);
    for (f = 0; f < t->cols; f++) {
        if (target[f] && input[f] && o->targets) die("--targets and --inputs both name column '%s'", t->name[f + 1]);
        if (!o->targets) target[f] = !input[f];
        if (o->targets && o->inputs && !target[f] && !input[f])
            die("column '%s' is in neither --targets nor --inputs", t->name[f + 1]);
        n += target[f];
    }
    if (!n) die("--inputs names every column: nothing is left to judge");
    free(input);
}

/* With neither --targets nor --inputs, the on-off commands among the
   columns (an_exog_commands over the n training rows x) become inputs,
   when there are rows enough for the stage to learn their effect. */
static void default_inputs(const options *o, const table *t, const float *x, size_t n, unsigned char *target)
{
    unsigned char *command;
    size_t f, n_commands;
    if (o->targets || o->inputs || o->load || n < 32 || t->cols < 2) return;
    command = (unsigned char *)xmalloc(t->cols);
    check(an_exog_commands(x, n, t->cols, command, &n_commands), "inputs");
    for (f = 0; f < t->cols; f++)
        if (command[f]) target[f] = 0;
    if (!o->quiet && n_commands) {       /* one note, however many: telemanom's files hold dozens */
        size_t left = n_commands;
        fprintf(stderr, "anomaly: note: column%s", n_commands > 1 ? "s" : "");
        for (f = 0; f < t->cols; f++)
            if (command[f]) fprintf(stderr, " '%s'%s", t->name[f + 1], --left ? "," : "");
        fputs(n_commands > 1 ? " hold only 0 and 1 in the training rows: read as inputs (on-off commands), not "
                               "judged (--targets names the columns to judge)\n"
                             : " holds only 0 and 1 in the training rows: read as an input (an on-off command), "
                               "not judged (--targets names the columns to judge)\n",
              stderr);
    }
    free(command);
}

/* A note on the inputs the stage took for target column f: the ones
   judged less their responses, or that it is judged on its own. */
static void note_taken(const table *t, an_detector *d, size_t f)
{
    unsigned char *taken = (unsigned char *)xmalloc(t->cols);
    size_t k, n = 0;
    check(an_exog_taken(d, f, taken), "inputs");
    for (k = 0; k < t->cols; k++) n += taken[k];
    if (!n)
        fprintf(stderr, "anomaly: note: no input explains column '%s' (none left under half of its error on the last "
                        "quarter of the training rows): it is judged on its own\n", t->name[f + 1]);
    else {
        fprintf(stderr, "anomaly: note: column '%s' is judged less its response to", t->name[f + 1]);
        for (k = 0; k < t->cols; k++)
            if (taken[k]) fprintf(stderr, " '%s'%s", t->name[k + 1], --n ? "," : "\n");
    }
    free(taken);
}

/* A note for each column the model learnt no variation of: flat for
   STL + IQR (an_stl_iqr_flat: a range within 1e-3 of its size), or
   constant over the training rows for a detector without one. */
static void note_flat(const options *o, const table *t, an_detector *d, const unsigned char *target, size_t train)
{
    an_detector *m, *stl = NULL, *inner = decider(d);
    size_t k, f, i, judged = 0;
    for (k = 0; an_ensemble_member(inner, k, &m) == AN_OK; k++)
        if (m->vt == an_stl_iqr_type() && m->fitted) stl = m;
    for (f = 0; f < t->cols && !o->quiet; f++) {
        int flat = 1;
        if (inner != d && !target[f]) continue;               /* an input: read, never judged */
        if (inner != d) note_taken(t, d, f);
        if (stl) check(an_stl_iqr_flat(stl, inner != d ? judged++ : f, &flat), "flat");
        else
            for (i = 1; i < train; i++) flat &= t->x[i * t->cols + f] == t->x[f];
        if (flat)
            fprintf(stderr, "anomaly: note: column '%s' is flat in the %zu training rows: %s\n", t->name[f + 1], train,
                    stl ? "STL + IQR judges its departures by the spread they show after the first"
                        : "the model learnt no variation of it");
    }
}

/* r's events: its flagged rows, runs of them at most `gap` unflagged rows
   apart, each told at its peak.  The flags come from the rule the options
   chose, so the alarm's threshold only replays them: below every score
   (>= 0) where flagged, the score itself elsewhere; then the peak is the
   highest score, the first of ties. */
static void find_events(const table *t, detection *r, size_t gap)
{
    float *thr = (float *)xmalloc(t->rows * sizeof(float));
    an_alarm_config c = an_alarm_config_init(1, 1);
    size_t i;
    c.max_gap = gap;
    for (i = 0; i < t->rows; i++) thr[i] = r->flag[i] ? -FLT_MIN : r->score[i];
    check(an_alarm_batch_f(&c, r->score, thr, t->rows, NULL, r->events, t->rows, &r->n_events), "events");
    free(thr);
}

/* Runs the detector the options ask for over the table into r; the
   detector is destroyed, or handed to *keep when keep is not NULL. */
static void detect_table(const options *o, const table *t, detection *r, an_detector **keep)
{
    an_hybrid_config hc = an_hybrid_config_init(o->period);   /* the lone level and the events' gap */
    an_detector *d;
    size_t i, f, train = o->train_rows ? o->train_rows : t->rows;
    double threshold;
    int expects = 1;
    unsigned char *target = (unsigned char *)xmalloc(t->cols);
    resolve_targets(o, t, target);
    if (train > t->rows)
        die("--train-rows %zu: the data have %zu row%s (give at most %zu)", train, t->rows, t->rows == 1 ? "" : "s", t->rows);
    default_inputs(o, t, t->x, train, target);
    if (o->load) {
        d = load_detector(o->load);
        if (d->n_features != t->cols) die("%s: the model has %zu features, the data %zu", o->load, d->n_features, t->cols);
    } else {
        if (train < 8) die("need at least 8 training rows, have %zu", train);
        check_sizes(o, train);
        options od = *o;
        od.day = rows_per_day(table_times(t), train);
        d = make_for_table(&od, t, target, train, train < t->rows);   /* a training prefix is known normal */
        fit_detector(o, d, t->x, train);
        note_flat(o, t, d, target, train);
        if (train < 500 && o->threshold == THRESHOLD_VOTE && !o->quiet)
            fprintf(stderr, "anomaly: note: %zu training rows; a member's vote needs a likelihood past 0.999, which "
                            "under 500 rows only an exponential tail fitted to the top tenth of the scores gives "
                            "(--threshold sigma does not need it)\n", train);
    }
    r->score = (float *)xmalloc(t->rows * sizeof(float));
    r->flag = (unsigned char *)xmalloc(t->rows);
    r->expected = (double *)xmalloc(t->rows * t->cols * sizeof(double));
    r->severity = (double *)xmalloc(2 * t->rows * sizeof(double));
    r->confidence = r->severity + t->rows;
    r->surprise = (float *)xmalloc(t->rows * sizeof(float));
    r->events = (an_event *)xmalloc(t->rows * sizeof(an_event));
    r->n_events = r->n_flagged = 0;
    r->threshold = NAN;
    for (i = 0; i < t->rows; i++) {
        an_ensemble_decision dec;
        check(an_detector_push(d, t->x + i * t->cols, &r->score[i]), "score");
        if (an_detector_expected(d, r->expected + i * t->cols) != AN_OK)     /* a type that expects nothing */
            for (expects = 0, f = 0; f < t->cols; f++) r->expected[i * t->cols + f] = NAN;
        for (f = 0; f < t->cols; f++)                                       /* inputs are not judged */
            if (!target[f]) r->expected[i * t->cols + f] = NAN;
        if (o->save && i + 1 == train) save_detector(d, o->save_f, o->save);   /* the model goes on after its training rows */
        an_ensemble_last(decider(d), &dec);
        r->flag[i] = (unsigned char)dec.anomaly;
        r->severity[i] = dec.severity;
        r->confidence[i] = dec.confidence;
        r->surprise[i] = (float)dec.surprise;   /* a float as the score is, for the lone level */
    }
    if (o->threshold == THRESHOLD_PERCENTILE || o->threshold == THRESHOLD_SIGMA) {
        r->threshold = threshold = score_threshold(o, r->score, train);
        for (i = 0; i < t->rows; i++) r->flag[i] = r->score[i] > threshold;
    }
    r->err = r->unit = NULL;
    if (expects) {
        r->err = (double *)xmalloc(t->rows * sizeof(double));
        r->unit = (double *)xmalloc(t->cols * sizeof(double));
        check(an_prediction_errors(t->x, r->expected, t->rows, t->cols, train, r->err, r->unit, NULL), "prediction errors");
    }
    if (o->threshold == THRESHOLD_DYNAMIC || o->threshold == THRESHOLD_SPOT) {
        if (!expects && !o->quiet)
            fprintf(stderr, "anomaly: note: --method %s expects no values, so --threshold %s judges its likelihoods, "
                            "not |actual - expected|\n", method_flag[o->method], o->threshold == THRESHOLD_SPOT ? "spot" : "dynamic");
        error_threshold(o, t, train, r);
    }
    if (t->filled)                             /* a row whose judged cells were all missing shows nothing */
        for (i = 0; i < t->rows; i++) {
            for (f = 0; f < t->cols && (!target[f] || t->filled[i * t->cols + f]); f++) {}
            if (f == t->cols) r->flag[i] = 0;
        }
    find_events(t, r, 0);                      /* runs of flagged rows */
    if (o->threshold == THRESHOLD_VOTE) {       /* a lone row must reach the hybrid's lone level */
        size_t kept = 0, e;
        for (e = 0; e < r->n_events; e++) {
            an_event *ev = &r->events[e];
            int suspect = !o->load && ev->peak < train && train == t->rows;   /* fitted on the whole series */
            double peak = suspect ? r->surprise[ev->peak] : r->score[ev->peak];
            if (an_hybrid_lone_ok(&hc, ev->points, peak, suspect, train)) r->events[kept++] = *ev;
            else r->flag[ev->start] = 0;
        }
        r->n_events = kept;
    }
    find_events(t, r, hc.event_gap);           /* the runs left, a few rows apart, are one event */
    for (i = 0; i < t->rows; i++) r->n_flagged += r->flag[i];
    if (keep) *keep = d;
    else an_detector_destroy(d);
    r->judged = target;
}

static void free_detection(detection *r)
{
    free(r->score); free(r->flag); free(r->expected); free(r->severity); free(r->surprise); free(r->events); free(r->err);
    free(r->unit);
    free(r->judged);
}

static void write_events_json(FILE *json, const table *t, const detection *r)
{
    size_t i, f;
    fprintf(json, "[\n");
    for (i = 0; i < r->n_events; i++) {
        const an_event *ev = &r->events[i];
        fprintf(json, "  {\"start\": ");
        json_string(json, t->stamp[ev->start]);
        fprintf(json, ", \"end\": ");
        json_string(json, t->stamp[ev->end]);
        fprintf(json, ", \"peak\": ");
        json_string(json, t->stamp[ev->peak]);
        fprintf(json, ", \"rows\": [%zu, %zu], \"score\": %.9g, \"severity\": %.3f, \"confidence\": %.3f",
                ev->start, ev->end, r->score[ev->peak], r->severity[ev->peak], r->confidence[ev->peak]);
        fprintf(json, ", \"channel\": ");
        if ((f = event_channel(t, r, ev)) != SIZE_MAX) json_string(json, t->name[f + 1]);
        else fprintf(json, "null");
        fprintf(json, ", \"actual\": [");
        for (f = 0; f < t->cols; f++) fprintf(json, "%s%.6g", f ? ", " : "", t->x[ev->peak * t->cols + f]);
        fprintf(json, "], \"expected\": [");
        for (f = 0; f < t->cols; f++) {
            double e = r->expected[ev->peak * t->cols + f];
            if (e == e) fprintf(json, "%s%.6g", f ? ", " : "", e);
            else fprintf(json, "%snull", f ? ", " : "");
        }
        fprintf(json, "]}%s\n", i + 1 < r->n_events ? "," : "");
    }
    fprintf(json, "]\n");
}

static int write_file(void *user, const char *data, size_t size)
{
    return fwrite(data, 1, size, (FILE *)user) == size ? 0 : 1;
}

/* The report picture: the series, the events (labelled with their size
   against the expectation), the expected values and the scores on the
   nines scale, with the threshold line when the flags come from one;
   attribution (rows, cols), when not NULL, is drawn as a heat band under
   each series.  f is path's file, open (out_open). */
static void write_svg(FILE *f, const char *path, const char *title, const table *t, const detection *r,
                      const double *attribution)
{
    an_report rep = an_report_init();
    an_event *ev = (an_event *)xmalloc((r->n_events ? r->n_events : 1) * sizeof(an_event));
    char **labels = (char **)xmalloc((r->n_events ? r->n_events : 1) * sizeof(char *));
    char *subtitle;
    size_t i;
    an_result res;
    for (i = 0; i < r->n_events; i++) {
        const an_event *e = &r->events[i];
        double x = t->x[e->peak * t->cols], want = r->expected[e->peak * t->cols];
        labels[i] = want != want ? xstrdup("") : fabs(x - want) >= 1e4 ? xprintf("%+.0f", x - want)
                                                                       : xprintf("%+.3g", x - want);
        ev[i] = *e;                            /* shaded by the ensemble's severity at the peak */
        ev[i].severity = r->severity[e->peak] >= 0 && r->severity[e->peak] == r->severity[e->peak] ? r->severity[e->peak] : 0;
    }
    subtitle = xprintf("%zu rows, %zu event%s; the dashed line is what the detector expected, the lower panel the "
                       "anomaly likelihood", t->rows, r->n_events, r->n_events == 1 ? "" : "s");
    rep.title = title;
    rep.subtitle = subtitle;
    rep.n = t->rows;
    rep.n_features = t->cols;
    rep.values = t->x;
    rep.time = t->time_kind == TIME_INDEX ? NULL : t->time;
    rep.names = (const char *const *)(t->name + 1);
    rep.expected = r->expected;
    rep.scores = r->score;
    rep.threshold = r->threshold;
    rep.score_scale = AN_REPORT_SCORE_NINES;
    rep.events = ev;
    rep.labels = (const char *const *)labels;
    rep.n_events = r->n_events;
    rep.attribution = attribution;
    if ((res = an_report_svg(&rep, write_file, f)) != AN_OK) die("%s: %s", path, an_result_str(res));
    for (i = 0; i < r->n_events; i++) free(labels[i]);
    free(labels);
    free(ev);
    free(subtitle);
}

/* The gaps read with the file were bridged by straight lines; a column
   with a season (--period, else the strongest found) has them bridged
   along it instead (an_fill_seasonal), so a gap over a day's cycle does
   not look like a ramp. */
static void fill_seasons(const options *o, table *t)
{
    size_t *period, f, i, k, found;
    double *y;
    if (!t->filled) return;
    period = (size_t *)xcalloc_bytes(t->cols * sizeof(size_t));
    y = (double *)xmalloc(t->rows * sizeof(double));
    for (f = 0; f < t->cols; f++) {
        for (k = 0, i = 0; i < t->rows; i++) k += t->filled[i * t->cols + f];
        if (!k) continue;
        if (o->period) { period[f] = o->period; continue; }
        for (i = 0; i < t->rows; i++) y[i] = t->x[i * t->cols + f];
        if (an_detect_periods(y, t->rows, 0, 0.0, &period[f], 1, &found, NULL) != AN_OK || !found) period[f] = 0;
    }
    check(an_fill_seasonal(t->x, t->rows, t->cols, period, t->filled, NULL), "missing values");
    free(y);
    free(period);
}

/* The picture's time axis needs the timestamps in order: said before
   anything is printed. */
static void check_times(const table *t, const char *what)
{
    size_t i;
    if (t->time_kind == TIME_INDEX) return;
    for (i = 0; i < t->rows; i++) {
        if (!(t->time[i] >= -62135596800.0 && t->time[i] <= 253402300799.0))   /* years 1 to 9999 */
            die("%s: --svg: the timestamp '%.*s%s' (row %zu) is outside the years 1 to 9999", what,
                clip_len(t->stamp[i]), t->stamp[i], clip_more(t->stamp[i]), i + 1);
        if (i && t->time[i] < t->time[i - 1])
            die("%s: --svg needs the timestamps in order; row %zu ('%.*s%s') comes before row %zu's", what, i + 1,
                clip_len(t->stamp[i]), t->stamp[i], clip_more(t->stamp[i]), i);
    }
}

static int cmd_detect(int argc, char **argv)
{
    options o;
    table t;
    detection r;
    outputs out;
    size_t i, f;
    int i_file;
    options_init(&o);
    i_file = parse_options(argc, argv, 2, &o);                  /* options before FILE and after it */
    if (i_file >= argc || parse_options(argc, argv, i_file + 1, &o) != argc)
        die("detect needs exactly one FILE (or - for stdin); see --help");
    if (o.explain_option) die("--explainer, --samples and --baseline are for explain");
    outputs_open(&o, &out, NULL);
    read_table(argv[i_file], &t);
    if (o.svg) check_times(&t, argv[i_file]);
    fill_seasons(&o, &t);
    detect_table(&o, &t, &r, NULL);
    printf("%s", t.name[0]);
    for (f = 0; f < t.cols; f++) printf(",%s", t.name[f + 1]);
    printf(",score,anomaly\n");
    for (i = 0; i < t.rows; i++) {
        printf("%s", t.stamp[i]);
        for (f = 0; f < t.cols; f++) printf(",%s", t.cell[i * t.cols + f]);
        printf(",%.9g,%d\n", r.score[i], r.flag[i]);
    }
    if (!o.quiet) {
        for (i = 0; i < r.n_events; i++) describe(&t, &r, &r.events[i], stderr);
        fprintf(stderr, "%zu event%s, %zu of %zu rows flagged\n", r.n_events, r.n_events == 1 ? "" : "s",
                r.n_flagged, t.rows);
    }
    fflush(stdout);            /* all of it before an output that is stdout too (--json /dev/stdout) */
    if (o.json) write_events_json(out.json.f, &t, &r);
    if (o.svg) {
        const char *base = strrchr(argv[i_file], '/');
        char *title = xprintf("Anomalies in %s", base ? base + 1 : argv[i_file]);
        write_svg(out.svg.f, o.svg, title, &t, &r, NULL);
        free(title);
    }
    outputs_close(&o, &out);
    free_detection(&r);
    free_table(&t);
    return 0;
}

/* --------------------------------------------------------------------------
   explain
   --------------------------------------------------------------------------
   Each event's rows (widened on the left to EXPLAIN_MIN_ROWS) are the
   window explained; the detector (explained_member) scores them after
   EXPLAIN_CONTEXT windows' worth of rows before them, and the value
   explained is its raw score of the event's peak.  Masked cells take the expected values where
   the detector has them (STL + IQR's), else each column's mean.  The
   window is cut into at most EXPLAIN_MAX_PLAYERS players (segments of
   rows x columns); their values are spread evenly over their cells. */
#define EXPLAIN_MIN_ROWS 12
#define EXPLAIN_MAX_PLAYERS 24
#define EXPLAIN_CONTEXT 8

typedef struct explanation {
    size_t first, last;          /* the window's rows in the table        */
    double *cells;               /* (last - first + 1, cols)              */
    int baseline;                /* BASELINE_* the fill came from          */
    an_xai_summary summary;
} explanation;

/* The fill of rows c0 .. end (as floats): expected values where every
   cell of the window has one, else each column's mean over the table;
   with --baseline nearest, the window's rows first .. end take each
   column's nearest run of the training rows (all rows after --load) that
   leaves the window's own rows out, where the rows hold one (*baseline
   says which it was). */
static float *explain_fill(const options *o, const table *t, const detection *r, size_t c0, size_t first, size_t end,
                           int *baseline)
{
    size_t n = end + 1 - c0, i, f, cols = t->cols;
    float *fill = (float *)xmalloc(n * cols * sizeof(float));
    int expected = 1;
    for (i = first; i <= end; i++)
        for (f = 0; f < cols; f++)
            if (r->expected[i * cols + f] != r->expected[i * cols + f]) expected = 0;
    for (f = 0; f < cols; f++) {
        double mean = 0;
        for (i = 0; i < t->rows; i++) mean += t->x[i * cols + f] / (double)t->rows;
        for (i = 0; i < n; i++) fill[i * cols + f] = expected ? (float)r->expected[(c0 + i) * cols + f] : (float)mean;
    }
    if (o->baseline == BASELINE_NEAREST) {
        size_t n_ref = o->train_rows && !o->load ? o->train_rows : t->rows;
        an_result res = an_xai_nearest_fill(t->x, n_ref, cols, t->x + first * cols, end + 1 - first, first, end + 1,
                                            fill + (first - c0) * cols);
        if (res != AN_ERR_TOO_SHORT) check(res, "--baseline nearest");   /* too few rows: the fill above */
        *baseline = res == AN_OK ? BASELINE_NEAREST : BASELINE_EXPECTED;
    } else
        *baseline = BASELINE_EXPECTED;
    return fill;
}

/* The detector explained: the ensemble's first fitted member (with
   integrated gradients, the first with an input gradient: the LSTM of the
   hybrid), whose raw score goes on growing where the ensemble's calibrated
   likelihood stops at 1 and would give every cell of a clear anomaly
   nothing to explain. */
static an_detector *explained_member(an_detector *d, int need_gradient)
{
    an_detector *m;
    size_t k;
    for (k = 0; an_ensemble_member(d, k, &m) == AN_OK; k++)
        if (m->fitted && (m->vt->gradient || !need_gradient)) return m;
    if (!need_gradient) die("explain: no member of the ensemble is fitted");
    die("--explainer ig needs a detector with an input gradient: --method lstm-ae, lstm-forecast or vae, or the "
        "hybrid once its LSTM has trained");
    return NULL;
}

static void explain_event(const options *o, const table *t, const detection *r, an_detector *d, const an_event *ev,
                          explanation *out)
{
    size_t cols = t->cols, first, c0, n, len;
    float *fill;
    const float *x;
    first = ev->end + 1 >= EXPLAIN_MIN_ROWS && ev->end + 1 - EXPLAIN_MIN_ROWS < ev->start ? ev->end + 1 - EXPLAIN_MIN_ROWS
                                                                                        : ev->start;
    if (ev->end + 1 < EXPLAIN_MIN_ROWS) first = 0;
    c0 = first > EXPLAIN_CONTEXT * o->window ? first - EXPLAIN_CONTEXT * o->window : 0;
    n = ev->end + 1 - c0;
    len = ev->end + 1 - first;
    x = t->x + c0 * cols;
    fill = explain_fill(o, t, r, c0, first, ev->end, &out->baseline);
    out->first = first;
    out->last = ev->end;
    out->cells = (double *)xmalloc(len * cols * sizeof(double));
    if (o->explainer == EXPLAIN_IMPORTANCE) {
        /* the model's own deviation (an_xai_importance): actual - fill, in
           each column's robust scale */
        double *scale = (double *)xmalloc(cols * sizeof(double));
        check(an_inject_scale(t->x, t->rows, cols, NULL, scale), "importance");
        memset(&out->summary, 0, sizeof out->summary);
        out->summary.full = out->summary.empty = out->summary.gap = out->summary.fidelity = NAN;
        check(an_xai_importance(x + (first - c0) * cols, fill + (first - c0) * cols, len, cols, scale, out->cells),
              "importance");
        free(scale);
    } else if (o->explainer == EXPLAIN_IG) {
        an_detector *g = explained_member(d, 1);
        float *base = (float *)xmalloc(n * cols * sizeof(float));
        double *attr = (double *)xmalloc(n * cols * sizeof(double));
        memcpy(base, x, n * cols * sizeof(float));
        memcpy(base + (first - c0) * cols, fill + (first - c0) * cols, len * cols * sizeof(float));
        check(an_xai_integrated_gradients(g, x, base, n, ev->peak - c0, 64, AN_XAI_MIDPOINT, attr, &out->summary,
                                          NULL), "integrated gradients");
        memcpy(out->cells, attr + (first - c0) * cols, len * cols * sizeof(double));
        free(base);
        free(attr);
    } else {
        an_xai_players p;
        an_xai xai;
        double *phi = (double *)xmalloc(EXPLAIN_MAX_PLAYERS * cols * sizeof(double));
        size_t per = EXPLAIN_MAX_PLAYERS / cols ? EXPLAIN_MAX_PLAYERS / cols : 1;   /* NOLINT(clang-analyzer-core.DivideZero): a table has >= 1 column */
        memset(&p, 0, sizeof p);
        p.detector = explained_member(d, 0);
        p.x = x;
        p.n_rows = n;
        p.start = first - c0;
        p.length = len;
        p.target = ev->peak - c0;
        p.n_segments = len < per ? len : per;
        p.per_channel = 1;
        p.fill = AN_XAI_FILL_EXPECTED;
        p.fill_values = fill;
        check(an_xai_init(&xai, &p, o->explainer == EXPLAIN_OCCLUSION ? 1 : o->samples, NULL), "explainer");
        if (o->explainer == EXPLAIN_OCCLUSION) check(an_xai_occlusion(&xai, phi, &out->summary), "occlusion");
        else if (o->explainer == EXPLAIN_SHAP)
            check(an_xai_shap(&xai, o->samples, o->seed ? o->seed : 1, phi, &out->summary), "shap");
        else {
            an_xai_lime_config lc = an_xai_lime_config_init();
            lc.samples = o->samples;
            lc.seed = o->seed ? o->seed : 1;
            check(an_xai_lime(&xai, &lc, phi, &out->summary), "lime");
        }
        check(an_xai_cells(&xai, phi, out->cells), "explainer");
        an_xai_uninit(&xai);
        free(phi);
    }
    free(fill);
}

static void json_number(FILE *f, double v)
{
    if (v == v && v - v == 0) fprintf(f, "%.6g", v);
    else fprintf(f, "null");
}

static void write_explain_json(FILE *json, const options *o, const table *t, const detection *r,
                               const explanation *ex)
{
    size_t e, i, f;
    fprintf(json, "[\n");
    for (e = 0; e < r->n_events; e++) {
        const an_event *ev = &r->events[e];
        char *reason = reason_of(t, r, ev);
        fprintf(json, "  {\"event\": %zu, \"start\": ", e + 1);
        json_string(json, t->stamp[ev->start]);
        fprintf(json, ", \"end\": ");
        json_string(json, t->stamp[ev->end]);
        fprintf(json, ", \"peak\": ");
        json_string(json, t->stamp[ev->peak]);
        fprintf(json, ", \"reason\": ");
        json_string(json, reason);
        fprintf(json, ", \"explainer\": \"%s\", \"baseline\": \"%s\", \"score\": ", explainer_flag[o->explainer],
                baseline_flag[ex[e].baseline]);
        json_number(json, ex[e].summary.full);
        fprintf(json, ", \"baseline_score\": ");
        json_number(json, ex[e].summary.empty);
        fprintf(json, ", \"gap\": ");
        json_number(json, ex[e].summary.gap);
        fprintf(json, ", \"fidelity\": ");
        json_number(json, ex[e].summary.fidelity);
        fprintf(json, ", \"evaluations\": %zu,\n   \"attributions\": [", ex[e].summary.evaluations);
        for (i = ex[e].first; i <= ex[e].last; i++)
            for (f = 0; f < t->cols; f++) {
                fprintf(json, "%s\n    {\"timestamp\": ", i == ex[e].first && f == 0 ? "" : ",");
                json_string(json, t->stamp[i]);
                fprintf(json, ", \"channel\": ");
                json_string(json, t->name[f + 1]);
                fprintf(json, ", \"attribution\": ");
                json_number(json, ex[e].cells[(i - ex[e].first) * t->cols + f]);
                fprintf(json, "}");
            }
        fprintf(json, "]}%s\n", e + 1 < r->n_events ? "," : "");
        free(reason);
    }
    fprintf(json, "]\n");
}

/* What explain looks at when the model has an inputs stage: the rows
   its inner detector sees, each target less its prediction from the
   inputs, as a table of the targets (the table's other fields shared),
   with the expectations less the predictions too.  Attributions found
   there go back to the targets' columns; the inputs' cells get 0. */
typedef struct residual_view {
    table t;                 /* cols: the targets; x: their residuals (owned) */
    detection r;             /* expected only (owned)                         */
    size_t *column;          /* (t.cols) each target's column in the table    */
} residual_view;

static void residual_view_init(residual_view *v, const table *t, const detection *r, an_detector *d)
{
    size_t T = 0, f, i, k;
    memset(v, 0, sizeof *v);
    v->column = (size_t *)xmalloc(t->cols * sizeof(size_t));
    for (f = 0; f < t->cols; f++)
        if (r->judged[f]) v->column[T++] = f;
    if (!T) die("internal error: a model with inputs and no target");   /* resolve_targets leaves one at least */
    v->t = *t;
    v->t.cols = T;
    v->t.name = (char **)xmalloc((T + 1) * sizeof(char *));
    v->t.name[0] = t->name[0];
    for (k = 0; k < T; k++) v->t.name[k + 1] = t->name[v->column[k] + 1];
    v->t.x = (float *)xcalloc_bytes(t->rows * T * sizeof(float));
    check(an_exog_residuals(d, t->x, t->rows, v->t.x), "inputs");
    v->r.expected = (double *)xmalloc(t->rows * T * sizeof(double));
    for (i = 0; i < t->rows; i++)
        for (k = 0; k < T; k++) {
            double prediction = (double)t->x[i * t->cols + v->column[k]] - v->t.x[i * T + k];
            v->r.expected[i * T + k] = r->expected[i * t->cols + v->column[k]] - prediction;
        }
}

/* ex's cells, found on the view's targets, widened to the table's columns. */
static void residual_view_widen(const residual_view *v, size_t cols, explanation *ex)
{
    size_t len = ex->last - ex->first + 1, i, k;
    double *wide = (double *)xcalloc_bytes(len * cols * sizeof(double));
    for (i = 0; i < len; i++)
        for (k = 0; k < v->t.cols; k++) wide[i * cols + v->column[k]] = ex->cells[i * v->t.cols + k];
    free(ex->cells);
    ex->cells = wide;
}

static void residual_view_free(residual_view *v)
{
    free(v->t.name);
    free(v->t.x);
    free(v->r.expected);
    free(v->column);
}

static int cmd_explain(int argc, char **argv)
{
    options o;
    outputs out;
    table t;
    detection r;
    an_detector *d;
    explanation *ex;
    residual_view view;
    size_t e, i, f;
    int i_file, staged;
    options_init(&o);
    o.explaining = 1;
    i_file = parse_options(argc, argv, 2, &o);
    if (i_file >= argc || parse_options(argc, argv, i_file + 1, &o) != argc)
        die("explain needs exactly one FILE (or - for stdin); see --help");
    outputs_open(&o, &out, NULL);
    read_table(argv[i_file], &t);
    if (o.svg) check_times(&t, argv[i_file]);
    fill_seasons(&o, &t);
    detect_table(&o, &t, &r, &d);
    if ((staged = decider(d) != d)) residual_view_init(&view, &t, &r, d);
    ex = (explanation *)xmalloc((r.n_events ? r.n_events : 1) * sizeof(explanation));
    printf("event,timestamp,channel,attribution\n");
    for (e = 0; e < r.n_events; e++) {
        if (staged) {                      /* the inner detector, on the rows it sees */
            explain_event(&o, &view.t, &view.r, decider(d), &r.events[e], &ex[e]);
            residual_view_widen(&view, t.cols, &ex[e]);
        } else
            explain_event(&o, &t, &r, d, &r.events[e], &ex[e]);
        for (i = ex[e].first; i <= ex[e].last; i++)
            for (f = 0; f < t.cols; f++)
                printf("%zu,%s,%s,%.6g\n", e + 1, t.stamp[i], t.name[f + 1], ex[e].cells[(i - ex[e].first) * t.cols + f]);
        if (!o.quiet) describe(&t, &r, &r.events[e], stderr);
    }
    if (!o.quiet)
        fprintf(stderr, "%zu event%s explained by %s\n", r.n_events, r.n_events == 1 ? "" : "s",
                explainer_flag[o.explainer]);
    fflush(stdout);            /* all of it before an output that is stdout too (--json /dev/stdout) */
    if (o.json) write_explain_json(out.json.f, &o, &t, &r, ex);
    if (o.svg) {
        const char *base = strrchr(argv[i_file], '/');
        char *title = xprintf("Anomalies in %s, explained by %s", base ? base + 1 : argv[i_file],
                              explainer_flag[o.explainer]);
        double *attribution = (double *)xcalloc_bytes(t.rows * t.cols * sizeof(double));
        for (e = 0; e < r.n_events; e++)   /* the events' windows may overlap: their cells add up */
            for (i = ex[e].first; i <= ex[e].last; i++)
                for (f = 0; f < t.cols; f++) attribution[i * t.cols + f] += ex[e].cells[(i - ex[e].first) * t.cols + f];
        write_svg(out.svg.f, o.svg, title, &t, &r, attribution);
        free(attribution);
        free(title);
    }
    outputs_close(&o, &out);
    for (e = 0; e < r.n_events; e++) free(ex[e].cells);
    free(ex);
    if (staged) residual_view_free(&view);
    an_detector_destroy(d);
    free_detection(&r);
    free_table(&t);
    return 0;
}

/* --------------------------------------------------------------------------
   demo
   --------------------------------------------------------------------------
   Eight weeks of hourly telemetry: a daily cycle, a slow trend, noise, and
   after three clean weeks one anomaly of each kind.  The detector trains on
   the clean weeks and streams the rest. */

#define DEMO_DAYS 56
#define DEMO_TRAIN (21 * 24)

typedef struct injected { const char *kind; size_t start, end; } injected;

static const injected demo_anomalies[] = {
    { "spike", 600, 600 },                 /* day 25 */
    { "level shift", 760, 771 },           /* day 31: +5 for 12 hours */
    { "trend change", 900, 923 },          /* day 37: a ramp away from the trend for a day */
    { "variance change", 1100, 1123 },     /* day 45: four times the noise for a day */
};

/* The demo's series, written as CSV text and read back through the same
   parser as a file. */
static void demo_table(table *t, unsigned char *truth)
{
    size_t n = DEMO_DAYS * 24, i, k, len = 0, cap = 64 * (DEMO_DAYS * 24 + 1);
    char *text = (char *)xmalloc(cap);
    an_rng rng;
    an_rng_seed(&rng, 20260105, 0);
    len += (size_t)snprintf(text, cap, "timestamp,load\n");
    for (i = 0; i < n; i++) {
        double hour = (double)(i % 24), v, noise = an_rng_normal(&rng);
        time_t secs = (time_t)(1767571200 + 3600 * (long)i);          /* from 2026-01-05 00:00 UTC */
        struct tm tm;
        char stamp[32];
        v = 40.0 + 0.01 * (double)i + 8.0 * sin(2 * 3.14159265358979 * (hour - 9.0) / 24.0) + 1.0 * noise;
        truth[i] = 0;
        for (k = 0; k < sizeof demo_anomalies / sizeof demo_anomalies[0]; k++) {
            const injected *a = &demo_anomalies[k];
            if (i < a->start || i > a->end) continue;
            truth[i] = 1;
            if (k == 0) v += 9.0;
            if (k == 1) v += 5.0;
            if (k == 2) v += 0.45 * (double)(i - a->start + 1);
            if (k == 3) v += 3.0 * noise;
        }
        gmtime_r(&secs, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        len += (size_t)snprintf(text + len, cap - len, "%s,%.3f\n", stamp, v);
    }
    parse_table(text, len, "demo", t);
}

static int cmd_demo(int argc, char **argv)
{
    options o;
    table t;
    detection r;
    unsigned char truth[DEMO_DAYS * 24];
    outputs out;
    an_event_metrics em;
    an_confusion cm;
    size_t i, k;
    options_init(&o);
    if (parse_options(argc, argv, 2, &o) != argc) die("demo takes options only; see --help");
    if (o.explain_option) die("--explainer, --samples and --baseline are for explain");
    if (o.load || o.save || o.train_rows) die("demo trains on its own first %d rows; --load, --save and --train-rows are for detect", DEMO_TRAIN);
    o.train_rows = DEMO_TRAIN;
    outputs_open(&o, &out, "demo.svg");
    demo_table(&t, truth);
    printf("anomaly demo: %zu hours of synthetic telemetry (daily cycle, trend, noise),\n"
           "trained on the first %d hours, then streamed; injected after training:\n", t.rows, DEMO_TRAIN);
    for (k = 0; k < sizeof demo_anomalies / sizeof demo_anomalies[0]; k++)
        printf("  %-16s %s .. %s\n", demo_anomalies[k].kind, t.stamp[demo_anomalies[k].start], t.stamp[demo_anomalies[k].end]);
    detect_table(&o, &t, &r, NULL);
    printf("\nwhat the %s detector found:\n", method_name[o.method]);
    for (i = 0; i < r.n_events; i++) {
        const char *kind = "not injected";
        for (k = 0; k < sizeof demo_anomalies / sizeof demo_anomalies[0]; k++)
            if (r.events[i].end >= demo_anomalies[k].start && r.events[i].start <= demo_anomalies[k].end)
                kind = demo_anomalies[k].kind;
        printf("  [%s] ", kind);
        describe(&t, &r, &r.events[i], stdout);
    }
    check(an_event_scores(truth, r.flag, t.rows, &em), "event scores");
    check(an_confusion_matrix(truth, r.flag, t.rows, &cm), "confusion");
    printf("\nevents: precision %.2f, recall %.2f, F1 %.2f (%zu of %zu injected anomalies found, %zu of %zu "
           "detected events real)\n", em.precision, em.recall, em.f1, em.detected, em.true_events, em.correct,
           em.predicted_events);
    printf("points: precision %.2f, recall %.2f, F1 %.2f\n", an_precision(&cm), an_recall(&cm), an_f1(&cm));
    printf("RESULT {\"event_precision\": %.4f, \"event_recall\": %.4f, \"event_f1\": %.4f, \"point_precision\": %.4f, "
           "\"point_recall\": %.4f, \"point_f1\": %.4f}\n", em.precision, em.recall, em.f1, an_precision(&cm),
           an_recall(&cm), an_f1(&cm));
    fflush(stdout);
    if (o.json) write_events_json(out.json.f, &t, &r);
    write_svg(out.svg.f, out.svg_path, "anomaly demo: eight weeks of synthetic telemetry, four injected anomalies",
              &t, &r, NULL);
    outputs_close(&o, &out);
    printf("the picture: %s\n", out.svg_path);
    free_detection(&r);
    free_table(&t);
    return 0;
}

/* --------------------------------------------------------------------------
   stream
   -------------------------------------------------------------------------- */

/* Reads one value or CSV row per line and answers each at once.  The
   layout is read off the first line: all values (no time column); a time
   of any form then values (the time is echoed); or a header, after which
   the lines are laid out as detect's file, a time or index column first
   when the header has two names or more.  The line buffer is fixed, so
   nothing is allocated per line. */
/* One line of stdin into buf (cap bytes, the '\n' dropped, NULs kept)
   and its length: 1, 0 at the end, -1 when it is longer than cap - 1. */
static int read_line(char *buf, size_t cap, size_t *len)
{
    int c;
    size_t n = 0;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n + 1 == cap) return -1;
        buf[n++] = (char)c;
    }
    if (ferror(stdin)) die("cannot read stdin: %s", strerror(errno));
    buf[n] = '\0';
    *len = n;
    return c != EOF || n > 0;
}

/* The columns of a stream: their names, from the header (when the first
   line, `first`, was one) or else their numbers, and the ones judged
   (resolve_targets: --targets, --inputs), known from the first row on so
   that a wrong name stops the stream before it answers. */
typedef struct stream_columns {
    table t;                         /* cols and name only */
    char *numbers;                   /* the names by number */
    unsigned char *target;           /* (cols) */
} stream_columns;

static void stream_columns_init(stream_columns *c, const options *o, const stream_reader *sr, char *first, int header)
{
    char *field[MAX_COLS + 1];
    size_t k, nf = header ? split_csv(first, field, MAX_COLS + 1) : 0;
    memset(&c->t, 0, sizeof c->t);
    c->t.cols = sr->cols;
    c->t.name = (char **)xmalloc((sr->cols + 1) * sizeof(char *));
    c->numbers = (char *)xmalloc((sr->cols + 1) * 24);
    for (k = 0; k <= c->t.cols; k++) {
        c->t.name[k] = c->numbers + 24 * k;
        snprintf(c->t.name[k], 24, "%zu", k);
        if (nf == c->t.cols + (size_t)sr->has_time && k > 0) c->t.name[k] = field[k - 1 + (size_t)sr->has_time];
    }
    c->target = (unsigned char *)xmalloc(sr->cols);
    resolve_targets(o, &c->t, c->target);
}

static void stream_columns_free(stream_columns *c)
{
    free(c->t.name);
    free(c->numbers);
    free(c->target);
}

/* The detector stream trains on its first n rows (x), fitted: the
   method's, behind the inputs stage when some columns are only read. */
static an_detector *stream_detector(const options *o, stream_columns *c, const float *x, size_t n)
{
    an_detector *d;
    size_t k;
    default_inputs(o, &c->t, x, n, c->target);
    d = make_for_table(o, &c->t, c->target, n, 1);              /* the training rows are the prefix */
    fit_detector(o, d, x, n);
    if (decider(d) != d && !o->quiet)
        for (k = 0; k < c->t.cols; k++)
            if (c->target[k]) note_taken(&c->t, d, k);
    return d;
}

/* stream answers each row as it comes, by detect's rules: a flagged row
   alone must reach the lone-row level (an_hybrid_lone_ok), and stream
   cannot wait for the next row to learn whether a row is alone.  So a
   row under that level is flagged only when the vote flagged the row
   before too: an event detect keeps is told from its first row when that
   row reaches the level, else from its second; a lone row detect drops
   is never told. */
static int cmd_stream(int argc, char **argv)
{
    options o;
    outputs out;
    char line[65536], first[65536], err[CLI_ERR_SIZE];
    float row[MAX_COLS], *train = NULL, score;
    double *train_time = NULL;                       /* the training rows' times (seconds) ... */
    int timed = 1;                                   /* ... while every one has been read */
    size_t n_train = 0, cap_train = 0, i, len;
    const char *time;
    int got, header = 0;
    stream_reader sr;
    stream_columns columns;
    an_detector *d = NULL;
    an_hybrid_config hc;
    int voted = 0;                                   /* the vote on the row before */
    options_init(&o);
    if (parse_options(argc, argv, 2, &o) != argc) die("stream takes options only; see --help");
    hc = an_hybrid_config_init(o.period);
    if (o.explain_option) die("--explainer, --samples and --baseline are for explain");
    if (o.threshold != THRESHOLD_VOTE || o.json || o.svg)
        die("stream flags by the vote; --threshold, --preset, --json and --svg are for detect");
    if (o.load && (o.targets || o.inputs))
        die("--load: the model keeps the inputs it was trained with; --targets and --inputs are for a model stream trains");
    outputs_open(&o, &out, NULL);
    if (o.load) d = load_detector(o.load);
    if (!o.train_rows) o.train_rows = 500;
    if (!d && o.train_rows < 8) die("--train-rows: the detector needs at least 8 rows to fit");
    if (!d) check_sizes(&o, o.train_rows);
    stream_reader_init(&sr, d ? d->n_features : 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((got = read_line(line, sizeof line, &len)) != 0) {
        if (got < 0) die("stdin: line %zu is longer than %zu bytes", sr.line_no + 1, sizeof line - 1);
        if (sr.line_no == 0) {                      /* the names, should it be a header, as the reader reads it */
            size_t skip = bom_length(line, len), n = len - skip;
            memcpy(first, line + skip, n + 1);
            if (n && first[n - 1] == '\r') first[n - 1] = '\0';
        }
        if ((got = stream_parse_line(&sr, line, len, row, &time, err)) < 0) die("%s", err);
        if (got == 0 && sr.line_no == 1 && sr.has_time >= 0) header = 1;
        if (got == 0) continue;
        if (!d && !n_train) stream_columns_init(&columns, &o, &sr, first, header);
        if (time) printf("%s,", time);
        if (!d) {                                    /* the training rows, in memory that grows as they come */
            if (n_train == cap_train) {
                cap_train = cap_train ? 2 * cap_train : 1024;
                if (cap_train > o.train_rows) cap_train = o.train_rows;
                train = (float *)xrealloc(train, cap_train * sr.cols * sizeof(float));
                train_time = (double *)xrealloc(train_time, cap_train * sizeof(double));
            }
            memcpy(train + n_train * sr.cols, row, sr.cols * sizeof(float));
            if (!time || !time_seconds(time, &train_time[n_train])) timed = 0;
            if (++n_train < o.train_rows) { printf("0,0\n"); continue; }
            o.day = timed ? rows_per_day(train_time, n_train) : 0;
            d = stream_detector(&o, &columns, train, n_train);
            stream_columns_free(&columns);
            for (i = 0; i + 1 < n_train; i++) an_detector_push(d, train + i * sr.cols, &score);   /* catch up */
        }
        {                                            /* detect's lone-row rule, causally (above) */
            an_ensemble_decision dec;
            int flag;
            check(an_detector_push(d, row, &score), "score");
            an_ensemble_last(decider(d), &dec);
            flag = dec.anomaly && (voted || an_hybrid_lone_ok(&hc, 1, score, 0, n_train));
            if (sr.missing == sr.cols) flag = 0;     /* a row of held values shows nothing */
            voted = dec.anomaly;
            printf("%.9g,%d\n", score, flag);
        }
    }
    if (!d) die("%zu lines, fewer than the %zu to train on: nothing was scored", n_train, o.train_rows);
    if (o.save) save_detector(d, o.save_f, o.save);
    outputs_close(&o, &out);
    an_detector_destroy(d);
    free(train);
    free(train_time);
    return 0;
}

/* --------------------------------------------------------------------------
   nab
   --------------------------------------------------------------------------
   The library's causal protocol (an_causal_score, its defaults): nothing
   before row 150, then a fresh fit on everything seen at rows 150, 300,
   600, ... replayed to catch the stream up, so the score of row t depends
   only on rows 0..t; the scores written are onsets over 100 rows (an
   anomaly is reported where it starts, not on every row of it; 100 rows
   is shorter than NAB's typical window, a tenth of a file shared among
   its anomalies, and 25 to 250 rows all score within noise).  The hybrid's members
   are pooled by surprise (AN_POOL_SURPRISE), so the baseline sure of a
   rare row is not diluted by an LSTM that sees nothing; detect and stream
   keep the mean, which their lone-row level (an_hybrid_lone_ok) and the
   demo's floors were set on. */

typedef struct nab_maker { const options *o; const double *time; } nab_maker;

/* A fit on the first n_rows rows: their times alone give its day. */
static an_detector *nab_make(void *user, size_t n_features, size_t n_rows)
{
    const nab_maker *m = (const nab_maker *)user;
    options o = *m->o;
    o.day = rows_per_day(m->time, n_rows);
    return make_detector(&o, n_features, n_rows, 0);   /* every row seen, anomalies too */
}

static void nab_scores(const options *o, const table *t, float *score)
{
    an_causal_config c = an_causal_config_init();
    nab_maker m;
    m.o = o;
    m.time = table_times(t);
    check(an_causal_score(&c, nab_make, &m, t->x, t->rows, 1, score, NULL), "nab");
}

typedef struct nab_file { char *key; float *score; size_t n; an_range *windows; size_t n_windows; } nab_file;

/* Makes dir and its parents. */
static void make_dirs(const char *dir)
{
    char *p, *copy = xstrdup(dir);
    for (p = copy + 1; *p; p++)
        if (*p == '/') { *p = '\0'; mkdir(copy, 0777); *p = '/'; }
    mkdir(copy, 0777);
    free(copy);
}

/* Every CSV under root/rel, in the order readdir gives them: `sub` is the
   path under root ("<category>/<file>.csv", NAB's key), `rel` its folder. */
typedef struct nab_job { char *sub, *rel, *base, *file; } nab_job;

static void nab_walk(const char *root, const char *rel, nab_job **jobs, size_t *n_jobs)
{
    char *path = *rel ? xprintf("%s/%s", root, rel) : xstrdup(root);
    DIR *dir = opendir(path);
    struct dirent *e;
    if (!dir) die("cannot read %s: %s", path, strerror(errno));
    while ((e = readdir(dir))) {
        char *sub, *file;
        struct stat st;
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.') continue;
        sub = *rel ? xprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        file = xprintf("%s/%s", root, sub);
        if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) nab_walk(root, sub, jobs, n_jobs);
        else if (stat(file, &st) == 0 && len >= 4 && !strcmp(e->d_name + len - 4, ".csv")) {
            nab_job *j;
            *jobs = (nab_job *)xrealloc(*jobs, (*n_jobs + 1) * sizeof(nab_job));
            j = &(*jobs)[(*n_jobs)++];
            j->sub = sub;
            j->rel = xstrdup(rel);
            j->base = xstrdup(e->d_name);
            j->file = file;
            continue;
        }
        free(sub);
        free(file);
    }
    closedir(dir);
    free(path);
}

/* Scores one file into out_dir/name/<category>/ and fills nf with its
   scores and windows for the NAB scorer. */
static void nab_one(const options *o, const nab_job *j, const char *out_dir, const char *name, const char *json,
                    const char *windows, nab_file *nf)
{
    table t;
    char *dirpath, *out, err[CLI_ERR_SIZE];
    FILE *f;
    size_t i, k;
    unsigned char *label;
    read_table(j->file, &t);
    if (t.cols != 1) die("%s: NAB files have one value column", j->file);
    nf->key = xstrdup(j->sub);
    nf->n = t.rows;
    nf->score = (float *)xmalloc(t.rows * sizeof(float));
    nf->windows = NULL;
    nf->n_windows = 0;
    if (json && nab_windows_parse(json, windows, j->sub, &t, &nf->windows, &nf->n_windows, err) != 0) die("%s", err);
    if (!nf->windows) nf->windows = (an_range *)xmalloc(sizeof(an_range));
    nab_scores(o, &t, nf->score);
    label = (unsigned char *)xcalloc_bytes(t.rows);
    for (k = 0; k < nf->n_windows; k++)
        for (i = nf->windows[k].start; i <= nf->windows[k].end; i++) label[i] = 1;
    dirpath = *j->rel ? xprintf("%s/%s/%s", out_dir, name, j->rel) : xprintf("%s/%s", out_dir, name);
    make_dirs(dirpath);
    out = xprintf("%s/%s_%s", dirpath, name, j->base);
    if (!(f = fopen(out, "w"))) die("cannot write %s: %s", out, strerror(errno));
    fprintf(f, "timestamp,value,anomaly_score,label\n");
    for (i = 0; i < t.rows; i++) fprintf(f, "%s,%s,%.9g,%d\n", t.stamp[i], t.cell[i], nf->score[i], label[i]);
    if (fclose(f) != 0) die("cannot write %s: %s", out, strerror(errno));
    fprintf(stderr, "%-60s %6zu rows, %zu windows\n", j->sub, t.rows, nf->n_windows);
    free(label);
    free(dirpath);
    free(out);
    free_table(&t);
}

/* The files scored by up to n_workers processes at once, one fork per
   file (the next starts when one ends), each handing its scores and
   windows back in an unnamed temporary file; the parent reads them in the
   files' order, so the results are those of a serial run, bit for bit.
   A worker that fails has said why on stderr; the parent then waits for
   the others and exits 1. */
static void nab_parallel(const options *o, const nab_job *jobs, size_t n, long n_workers, const char *out_dir,
                         const char *name, const char *json, const char *windows, nab_file *files)
{
    FILE **tmp = (FILE **)xmalloc(n * sizeof(FILE *));
    pid_t *pid = (pid_t *)xmalloc(n * sizeof(pid_t));
    size_t next = 0, done = 0, i;
    long running = 0;
    int failed = 0;
    while (done < n) {
        while (!failed && next < n && running < n_workers) {
            if (!(tmp[next] = tmpfile())) die("nab: no temporary file: %s", strerror(errno));
            fflush(stdout);
            fflush(stderr);
            if ((pid[next] = fork()) < 0) die("nab: fork: %s", strerror(errno));
            if (pid[next] == 0) {                          /* the worker */
                nab_file nf;
                nab_one(o, &jobs[next], out_dir, name, json, windows, &nf);
                if (fwrite(&nf.n, sizeof nf.n, 1, tmp[next]) != 1 ||
                    fwrite(&nf.n_windows, sizeof nf.n_windows, 1, tmp[next]) != 1 ||
                    fwrite(nf.windows, sizeof(an_range), nf.n_windows, tmp[next]) != nf.n_windows ||
                    fwrite(nf.score, sizeof(float), nf.n, tmp[next]) != nf.n || fflush(tmp[next]) != 0)
                    die("nab: cannot write a temporary file: %s", strerror(errno));
                fflush(stderr);
                _exit(0);
            }
            next++;
            running++;
        }
        if (running == 0) break;
        {
            int status;
            pid_t w = wait(&status);
            if (w < 0) die("nab: wait: %s", strerror(errno));
            running--;
            done++;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
        }
    }
    if (failed) exit(1);
    for (i = 0; i < n; i++) {
        nab_file *nf = &files[i];
        rewind(tmp[i]);   /* NOLINT(clang-analyzer-core.CallAndMessage): every tmp[i] was opened, or failed exited */
        nf->key = xstrdup(jobs[i].sub);
        if (fread(&nf->n, sizeof nf->n, 1, tmp[i]) != 1 || fread(&nf->n_windows, sizeof nf->n_windows, 1, tmp[i]) != 1 ||
            nf->n_windows > nf->n)
            die("nab: a worker's results are missing");
        nf->windows = (an_range *)xmalloc((nf->n_windows ? nf->n_windows : 1) * sizeof(an_range));
        nf->score = (float *)xmalloc((nf->n ? nf->n : 1) * sizeof(float));
        if (fread(nf->windows, sizeof(an_range), nf->n_windows, tmp[i]) != nf->n_windows ||
            fread(nf->score, sizeof(float), nf->n, tmp[i]) != nf->n)
            die("nab: a worker's results are cut short");
        fclose(tmp[i]);
    }
    free(tmp);
    free(pid);
}

/* --per-file: each file at the standard profile's corpus threshold, most
   points lost first: its windows and how many had a detection, its false
   positives (an_nab_counts.fp: rows after the probation, outside every
   window) and the points it lost against a perfect detector, in the
   normalised score's units (their sum is 100 less the score). */
static void nab_per_file(const nab_file *files, const an_nab_series *series, size_t n_files, const an_nab_result *res)
{
    an_nab_profile prof = an_nab_profile_get(AN_NAB_STANDARD);
    double span = res->perfect - res->null_raw, *lost = (double *)xmalloc(n_files * sizeof(double));
    an_nab_counts *c = (an_nab_counts *)xmalloc(n_files * sizeof(an_nab_counts));
    size_t *order = (size_t *)xmalloc(n_files * sizeof(size_t)), i, j, k;
    printf("per file at the standard threshold %.4f, most lost first:\n", res->threshold);
    printf("  %-60s %7s %5s %5s %7s\n", "file", "windows", "found", "fp", "lost");
    for (i = 0; i < n_files; i++) {
        check(an_nab_score_series(&series[i], res->threshold, prof, &c[i]), "nab");
        lost[i] = span > 0.0 ? 100.0 * (prof.tp * (double)series[i].n_windows - c[i].score) / span : 0.0;
        for (j = i; j > 0 && lost[order[j - 1]] < lost[i]; j--) order[j] = order[j - 1];   /* most lost first */
        order[j] = i;
    }
    for (k = 0; k < n_files; k++) {
        const an_nab_series *s = &series[order[k]];
        size_t found = 0, r, from = an_nab_probation(s->n);
        for (j = 0; j < s->n_windows; j++)
            for (r = s->windows[j].start > from ? s->windows[j].start : from; r <= s->windows[j].end; r++)
                if (s->score[r] >= res->threshold) { found++; break; }
        printf("  %-60s %7zu %5zu %5zu %7.2f\n", files[order[k]].key, s->n_windows, found, c[order[k]].fp,
               lost[order[k]]);
    }
    free(order);
    free(c);
    free(lost);
}

static int cmd_nab(int argc, char **argv)
{
    const char *name = "anomalyh", *windows = NULL, *dirs[2];
    char *json = NULL;
    nab_file *files = NULL;
    nab_job *jobs = NULL;
    size_t n_files = 0, i, n_dirs = 0;
    long n_workers = sysconf(_SC_NPROCESSORS_ONLN);
    options o;
    char **rest = (char **)xmalloc((size_t)argc * sizeof(char *));
    int a, n_rest = 0, per_file = 0;
    for (a = 2; a < argc; a++) {                 /* nab's own options; the rest are detect's */
        if ((!strcmp(argv[a], "--name") || !strcmp(argv[a], "--windows") || !strcmp(argv[a], "--jobs")) &&
            a + 1 == argc)
            die("%s needs a value", argv[a]);
        if (!strcmp(argv[a], "--name")) name = argv[++a];
        else if (!strcmp(argv[a], "--windows")) windows = argv[++a];
        else if (!strcmp(argv[a], "--per-file")) per_file = 1;
        else if (!strcmp(argv[a], "--jobs")) {
            size_t j = parse_count(argv[a], argv[a + 1]);
            if (j < 1 || j > 1024) die("--jobs: 1 to 1024 processes, not '%s'", argv[a + 1]);
            n_workers = (long)j;
            a++;
        }
        else if (argv[a][0] != '-' && n_dirs < 2) dirs[n_dirs++] = argv[a];
        else {
            rest[n_rest++] = argv[a];
            if (argv[a][0] == '-' && strcmp(argv[a], "--quiet") && a + 1 < argc) rest[n_rest++] = argv[++a];
        }
    }
    options_init(&o);
    if (parse_options(n_rest, rest, 0, &o) != n_rest || n_dirs != 2)
        die("nab: DATA_DIR OUT_DIR [--name NAME] [--windows FILE] [--per-file] [--method M] [--period N] [--window N]");
    free(rest);
    if (o.threshold != THRESHOLD_VOTE || o.train_rows || o.load || o.save || o.json || o.svg || o.explain_option ||
        o.targets || o.inputs)
        die("nab: the protocol fixes training and scores; --method, --period, --window, --epochs and --seed apply");
    if (per_file && !windows) die("nab: --per-file needs --windows");
    if (windows) json = slurp(windows, NULL);
    o.pool = AN_POOL_SURPRISE;      /* see nab_scores */
    o.quiet = 1;                    /* no progress bar for each of a file's refits */
    nab_walk(dirs[0], "", &jobs, &n_files);
    if (!n_files) die("nab: no .csv files under %s", dirs[0]);
    files = (nab_file *)xmalloc(n_files * sizeof(nab_file));
    if (n_workers < 1) n_workers = 1;
    if (n_workers > 1 && n_files > 1) nab_parallel(&o, jobs, n_files, n_workers, dirs[1], name, json, windows, files);
    else for (i = 0; i < n_files; i++) nab_one(&o, &jobs[i], dirs[1], name, json, windows, &files[i]);
    if (json) {
        static const char *profile_name[3] = { "standard", "reward_low_FP", "reward_low_FN" };
        an_nab_series *series = (an_nab_series *)xmalloc(n_files * sizeof(an_nab_series));
        an_nab_result standard;
        size_t n_windows = 0;
        int p;
        memset(&standard, 0, sizeof standard);
        for (i = 0; i < n_files; i++) n_windows += files[i].n_windows;
        if (!n_windows)
            fprintf(stderr, "anomaly: note: %s has no windows for these files (keys are \"<category>/<file>.csv\")\n",
                    windows);
        for (i = 0; i < n_files; i++) {
            series[i].score = files[i].score;
            series[i].n = files[i].n;
            series[i].windows = files[i].windows;
            series[i].n_windows = files[i].n_windows;
        }
        printf("NAB scores of %s over %zu files (the library's scorer, NAB v1.1 rules):\n", name, n_files);
        for (p = 0; p < 3; p++) {
            an_nab_result res;
            check(an_nab_evaluate(series, n_files, an_nab_profile_get((an_nab_profile_id)p), NULL, &res), "nab");
            printf("  %-14s %6.2f   (threshold %.4f, tp %zu, fp %zu, fn %zu)\n", profile_name[p], res.normalized,
                   res.threshold, res.counts.tp, res.counts.fp, res.counts.fn);
            if (per_file && p == AN_NAB_STANDARD) standard = res;
        }
        if (per_file) nab_per_file(files, series, n_files, &standard);
        free(series);
        free(json);
    }
    for (i = 0; i < n_files; i++) {
        free(files[i].key); free(files[i].score); free(files[i].windows);
        free(jobs[i].sub); free(jobs[i].rel); free(jobs[i].base); free(jobs[i].file);
    }
    free(files);
    free(jobs);
    return 0;
}

/* --------------------------------------------------------------------------
   augment
   --------------------------------------------------------------------------
   an_vae_augment on a CSV file: the rows as they were, then the VAE's
   windows (or the windows alone, as blocks); with --classifier,
   an_lstm_classifier_train_injected: labelled windows with injected
   anomalies, and the classifier trained on them. */

static unsigned parse_kinds(const char *list);

/* --windows: the header 'window,step,<columns>,label', then each window
   as a block of T lines 'w,s,<values>,label' (w from 1, s from 0 to
   T - 1, label 1 on a row an injected anomaly changed) and an empty line
   after the block. */
static void write_blocks(const table *t, const float *win, size_t n, size_t T, const unsigned char *mask)
{
    size_t w, s, f;
    printf("window,step");
    for (f = 0; f < t->cols; f++) printf(",%s", t->name[f + 1]);
    printf(",label\n");
    for (w = 0; w < n; w++) {
        for (s = 0; s < T; s++) {
            int label = 0;
            printf("%zu,%zu", w + 1, s);
            for (f = 0; f < t->cols; f++) {
                size_t cell = (w * T + s) * t->cols + f;
                printf(",%.9g", (double)win[cell]);
                if (mask && mask[cell]) label = 1;
            }
            printf(",%d\n", label);
        }
        printf("\n");
    }
}

static int cmd_augment(int argc, char **argv)
{
    const char *file = NULL, *classifier = NULL, *kinds = NULL;
    double fraction = -1.0, anomalous = 0.5, magnitude = 6.0;
    size_t rows = 0, i, f, count = 1024;
    int a, blocks = 0, from_vae = 0;
    options o;
    table t;
    an_vae_config vc;
    an_detector *d = NULL;
    float *out;
    an_result r;
    memset(&o, 0, sizeof o);
    o.window = 48;
    o.seed = 1;
    for (a = 2; a < argc; a++) {
        const char *opt = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) { print_usage(stdout); exit(0); }
        if (opt[0] != '-' || !strcmp(opt, "-")) {
            if (file) die("augment needs exactly one FILE (or - for stdin); see --help");
            file = opt;
            continue;
        }
        if (!strcmp(opt, "--quiet")) { o.quiet = 1; continue; }
        if (!strcmp(opt, "--windows")) { blocks = 1; continue; }
        if (!strcmp(opt, "--from-vae")) { from_vae = 1; continue; }
        if (!strcmp(opt, "--fraction")) {
            if (!parse_number(value_of(opt, v), &fraction) || !(fraction >= 0.0 && fraction <= 10.0))
                die("--fraction: a number in [0, 10], not '%s'", v);
        }
        else if (!strcmp(opt, "--anomalous")) {
            if (!parse_number(value_of(opt, v), &anomalous) || !(anomalous >= 0.0 && anomalous <= 1.0))
                die("--anomalous: a share in [0, 1], not '%s'", v);
        }
        else if (!strcmp(opt, "--magnitude")) {
            if (!parse_number(value_of(opt, v), &magnitude) || !(magnitude >= 0) || magnitude > 1e6)
                die("--magnitude: '%s' is not a size >= 0", v);
        }
        else if (!strcmp(opt, "--classifier")) classifier = value_of(opt, v);
        else if (!strcmp(opt, "--kinds")) kinds = value_of(opt, v);
        else if (!strcmp(opt, "--count")) {
            if ((count = parse_count(opt, value_of(opt, v))) < 1 || count > 1000000) die("--count: 1 to 1000000");
        }
        else if (!strcmp(opt, "--seed")) o.seed = parse_count(opt, value_of(opt, v));
        else if (!strcmp(opt, "--epochs")) {
            if ((o.epochs = parse_count(opt, value_of(opt, v))) < 1) die("--epochs: at least 1");
        }
        else if (!strcmp(opt, "--window")) {
            if ((o.window = parse_count(opt, value_of(opt, v))) < 3) die("--window: at least 3 rows, not %s", v);
        }
        else die("unknown option %s (see --help)", opt);
        a++;
    }
    if (!file) die("augment needs exactly one FILE (or - for stdin); see --help");
    if (!classifier && fraction < 0.0) die("augment needs --fraction F or --classifier MODEL (see --help)");
    if (classifier && fraction >= 0.0) die("augment: --fraction or --classifier, not both");
    if (!classifier && (from_vae || kinds)) die("augment: --from-vae and --kinds go with --classifier");
    {
        out_file model_out;
        an_window_inject_config wc = an_window_inject_config_init(o.window);
        if (classifier) {
            if (kinds) wc.inject.kinds = parse_kinds(kinds);
            if (wc.inject.kinds & AN_INJECT_BIT(AN_INJECT_PHASE)) die("--kinds: phase needs a period; not here");
            if (wc.inject.kinds & AN_INJECT_BIT(AN_INJECT_PERIOD))
                die("--kinds: period lasts one to two seasonal periods, longer than a window; not here");
            if (wc.inject.kinds & AN_INJECT_BIT(AN_INJECT_GAP)) die("--kinds: gap (missing values) cannot be trained on");
            out_open(&model_out, classifier);
        }
        read_table(file, &t);
        if (o.window > t.rows) die("--window %zu: at most the %zu rows of %s", o.window, t.rows, file);
        if (!classifier || from_vae) {
            vc = vae_config(&o, t.rows);
            vc.centre = 0;   /* windows at their own level, not all at the mean */
            vc.beta = an_vae_config_init(1, 1, 1).beta;   /* the library's: a generator draws from the prior */
            check(an_vae_create(&vc, t.cols, NULL, &d), "vae");
            r = an_detector_fit(d, t.x, t.rows);
            progress_end();
            if (r == AN_ERR_TOO_SHORT)
                die("%zu rows are too few for the VAE with --window %zu (its windows and their validation split need "
                    "more rows; give more rows or a smaller --window)", t.rows, o.window);
            check(r, "fit");
        }
        if (classifier) {
            an_lstm_config lc = an_lstm_classifier_config_init(o.window, 32, 1);
            an_ensemble_config ec = an_ensemble_config_init();
            an_detector *cl, *e;
            unsigned char *mask = (unsigned char *)xmalloc(count * o.window * t.cols);
            float *lab = (float *)xmalloc(count * sizeof(float));
            size_t n_ev = 0, k, pos = 0;
            double auc = 0.0;
            wc.n_windows = count;
            wc.anomalous = anomalous;
            wc.inject.magnitude = magnitude;
            wc.inject.seed = o.seed;
            lc.seed = o.seed;
            lc.train.epochs = o.epochs ? o.epochs : 60;
            lc.train.patience = 0;   /* every epoch: the loss falls late (README) */
            lc.dropout = 0.0;
            lc.train.adam.lr = 1e-2;
            if (!o.quiet && isatty(2)) {
                lc.train.progress = show_progress;
                lc.train.progress_user = (void *)"classifier";
            }
            out = (float *)xmalloc(count * o.window * t.cols * sizeof(float));
            r = an_inject_windows(d, t.x, t.rows, t.cols, &wc, NULL, out, lab, mask, NULL, 0, &n_ev);
            if (r == AN_ERR_TOO_SHORT)
                die("%s: %zu rows and --window %zu cannot hold these anomalies (a window keeps its first %zu rows "
                    "clean; give a larger --window)", file, t.rows, o.window, wc.inject.separation);
            check(r, "inject");
            check(an_lstm_classifier_create(&lc, t.cols, NULL, &cl), "classifier");
            r = an_lstm_classifier_train_injected(cl, d, t.x, t.rows, &wc, NULL);
            progress_end();
            check(r, "classifier");
            /* saved as detect's other models are: an ensemble of one member,
               calibrated on its scores of FILE's rows (the normal data the
               windows came from), so detect and stream --load take it */
            check(an_ensemble_create(&ec, t.cols, NULL, &e), "classifier");
            check(an_ensemble_add(e, cl, 1.0, AN_MEMBER_BASELINE), "classifier");
            check(an_detector_fit(e, t.x, t.rows), "classifier's calibration");
            save_detector(e, model_out.f, classifier);
            out_close(&model_out);
            write_blocks(&t, out, count, o.window, mask);
            if (!o.quiet) {   /* how well it fits its own windows (not a held-out figure) */
                float *p = (float *)xmalloc(count * sizeof(float));
                unsigned char *truth = (unsigned char *)xmalloc(count);
                check(an_lstm_classifier_predict(cl, out, count, p), "classifier");
                for (k = 0; k < count; k++) pos += (truth[k] = lab[k] > 0.5f);
                if (pos && pos < count) check(an_roc_auc(p, truth, count, NULL, &auc), "auc");
                fprintf(stderr, "%zu windows of %zu rows (%zu with an anomaly) from %s%s; classifier written to %s",
                        count, o.window, pos, d ? "the VAE of " : "", file, classifier);
                if (pos && pos < count) fprintf(stderr, ", ROC-AUC on its training windows %.3f", auc);
                fputc('\n', stderr);
                free(p);
                free(truth);
            }
            an_detector_destroy(e);   /* and cl, its member */
            free(mask);
            free(lab);
            free(out);
            an_detector_destroy(d);
            free_table(&t);
            return 0;
        }
    }
    if ((r = an_vae_augment(d, t.x, t.rows, fraction, o.seed, NULL, 0, &rows)) != AN_ERR_SHAPE) check(r, "augment");
    out = (float *)xmalloc(rows * t.cols * sizeof(float));
    check(an_vae_augment(d, t.x, t.rows, fraction, o.seed, out, rows, &rows), "augment");
    if (blocks) {
        write_blocks(&t, out + t.rows * t.cols, (rows - t.rows) / o.window, o.window, NULL);
    } else {
        printf("%s", t.name[0]);
        for (f = 0; f < t.cols; f++) printf(",%s", t.name[f + 1]);
        printf(",synthetic\n");
        for (i = 0; i < rows; i++) {
            printf("%s", i < t.rows ? t.stamp[i] : "synthetic");
            for (f = 0; f < t.cols; f++) {
                if (i < t.rows) printf(",%s", t.cell[i * t.cols + f]);
                else printf(",%.9g", (double)out[i * t.cols + f]);
            }
            printf(",%d\n", i >= t.rows);
        }
    }
    if (!o.quiet)
        fprintf(stderr, "%zu synthetic windows of %zu rows %s the %zu rows of %s\n", (rows - t.rows) / o.window,
                o.window, blocks ? "drawn from a VAE of" : "after", t.rows, file);
    free(out);
    an_detector_destroy(d);
    free_table(&t);
    return 0;
}

/* --------------------------------------------------------------------------
   inject
   --------------------------------------------------------------------------
   The library's injector (anomaly.h section 11) on a CSV file: the rows
   come back as they were, timestamps and untouched cells byte for byte,
   with the anomalies in and a last column `label`, 1 on their rows. */

static unsigned parse_kinds(const char *list)
{
    unsigned kinds = 0;
    char *copy = xstrdup(list), *p, *save = NULL;
    for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        an_inject_kind k;
        if (an_inject_kind_parse(p, &k) != AN_OK)
            die("--kinds: spike, dip, shift, variance, collapse, flatline, trend, phase, gap or period, not '%s'", p);
        kinds |= AN_INJECT_BIT(k);
    }
    free(copy);
    if (!kinds) die("--kinds: an empty list");
    return kinds;
}

static int cmd_inject(int argc, char **argv)
{
    an_inject_config c = an_inject_config_init();
    const char *file = NULL, *json = NULL, *kinds = NULL, *channels = NULL;
    size_t period = 0, n_events = 0, i, k, f;
    int a, explicit_kinds = 0;
    table t;
    double *scale;
    an_inject_event *ev;
    out_file json_out;
    unsigned char *row, *cell, *ok = NULL;
    an_result r;
    for (a = 2; a < argc; a++) {
        const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) { print_usage(stdout); exit(0); }
        if (o[0] != '-' || !strcmp(o, "-")) {
            if (file) die("inject needs exactly one FILE (or - for stdin); see --help");
            file = o;
            continue;
        }
        if (!strcmp(o, "--kinds")) kinds = value_of(o, v);
        else if (!strcmp(o, "--count")) c.count = parse_count(o, value_of(o, v));
        else if (!strcmp(o, "--magnitude")) {
            double m;
            if (!parse_number(value_of(o, v), &m) || !(m >= 0) || m > 1e6) die("--magnitude: '%s' is not a size >= 0", v);
            c.magnitude = m;
        }
        else if (!strcmp(o, "--seed")) c.seed = parse_count(o, value_of(o, v));
        else if (!strcmp(o, "--channels")) channels = value_of(o, v);
        else if (!strcmp(o, "--period")) {
            if ((period = parse_count(o, value_of(o, v))) < 4) die("--period must be at least 4 to shift a phase");
        }
        else if (!strcmp(o, "--clean-rows")) c.first_row = parse_count(o, value_of(o, v));
        else if (!strcmp(o, "--json")) json = value_of(o, v);
        else die("unknown option %s (see --help)", o);
        a++;
    }
    if (!file) die("inject needs exactly one FILE (or - for stdin); see --help");
    if (kinds) { c.kinds = parse_kinds(kinds); explicit_kinds = 1; }
    if (json) out_open(&json_out, json);
    read_table(file, &t);
    if (c.count > t.rows) die("--count %zu: more anomalies than the %zu rows of %s", c.count, t.rows, file);
    if (channels) {
        ok = (unsigned char *)xmalloc(t.cols);
        parse_columns("--channels", channels, &t, ok);
        c.channel_ok = ok;
    }
    if (!period && (c.kinds & (AN_INJECT_BIT(AN_INJECT_PHASE) | AN_INJECT_BIT(AN_INJECT_PERIOD)))) {
        /* The strongest season of the first channel allowed. */
        double *y = (double *)xmalloc(t.rows * sizeof(double));
        size_t found = 0, ch = 0;
        while (ok && !ok[ch]) ch++;
        for (i = 0; i < t.rows; i++) y[i] = t.x[i * t.cols + ch];
        if (t.rows >= 8 && an_detect_periods(y, t.rows, 0, 0.0, &period, 1, &found, NULL) == AN_OK && found) {}
        else period = 0;
        free(y);
        if (period < 4) {
            if (explicit_kinds) die("phase and period need a seasonal period and none was found; give --period N");
            c.kinds &= ~AN_INJECT_BIT(AN_INJECT_PHASE);
            period = 0;
        }
    }
    c.period = period;
    scale = (double *)xmalloc(t.cols * sizeof(double));
    if ((r = an_inject_scale(t.x, t.rows, t.cols, NULL, scale)) != AN_OK) die("%s: %s", file, an_result_str(r));
    ev = (an_inject_event *)xmalloc((c.count ? c.count : 1) * sizeof(an_inject_event));
    row = (unsigned char *)xmalloc(t.rows);
    cell = (unsigned char *)xmalloc(t.rows * t.cols);
    r = an_inject(t.x, t.rows, t.cols, &c, scale, ev, c.count, &n_events, row, cell);
    if (r == AN_ERR_TOO_SHORT)
        die("%s: %zu rows%s cannot hold %zu anomalies of these kinds (each needs a slot of %zu clean rows and its "
            "own length: ask for fewer, or shorter kinds)", file, t.rows, c.first_row ? " after --clean-rows" : "",
            c.count, c.separation);
    if (r != AN_OK) die("inject: %s", an_result_str(r));
    printf("%s", t.name[0]);
    for (f = 0; f < t.cols; f++) printf(",%s", t.name[f + 1]);
    printf(",label\n");
    for (i = 0; i < t.rows; i++) {
        printf("%s", t.stamp[i]);
        for (f = 0; f < t.cols; f++) {
            float v = t.x[i * t.cols + f];
            if (!cell[i * t.cols + f]) printf(",%s", t.cell[i * t.cols + f]);
            else if (v != v) printf(",nan");
            else printf(",%.9g", (double)v);
        }
        printf(",%d\n", row[i]);
    }
    for (k = 0; k < n_events; k++)
        fprintf(stderr, "%-9s rows %zu..%zu (%s .. %s), column %s, magnitude %g x scale %.6g\n",
                an_inject_kind_name(ev[k].kind), ev[k].start, ev[k].end, t.stamp[ev[k].start], t.stamp[ev[k].end],
                t.name[ev[k].channel + 1], ev[k].magnitude * ev[k].sign, ev[k].scale);
    if (json) {
        FILE *out = json_out.f;
        fprintf(out, "{\"seed\": %llu, \"period\": %zu, \"events\": [", (unsigned long long)c.seed, period);
        for (k = 0; k < n_events; k++) {
            fprintf(out, "%s\n  {\"kind\": \"%s\", \"start\": %zu, \"end\": %zu, \"start_time\": ", k ? "," : "",
                    an_inject_kind_name(ev[k].kind), ev[k].start, ev[k].end);
            json_string(out, t.stamp[ev[k].start]);
            fprintf(out, ", \"end_time\": ");
            json_string(out, t.stamp[ev[k].end]);
            fprintf(out, ", \"column\": ");
            json_string(out, t.name[ev[k].channel + 1]);
            fprintf(out, ", \"group\": %zu, \"magnitude\": %.17g, \"sign\": %d, \"scale\": %.17g}", ev[k].group,
                    ev[k].magnitude, ev[k].sign, ev[k].scale);
        }
        fprintf(out, "\n]}\n");
        out_close(&json_out);
    }
    free(scale); free(ev); free(row); free(cell); free(ok);
    free_table(&t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "detect")) return cmd_detect(argc, argv);
    if (!strcmp(argv[1], "explain")) return cmd_explain(argc, argv);
    if (!strcmp(argv[1], "stream")) return cmd_stream(argc, argv);
    if (!strcmp(argv[1], "nab")) return cmd_nab(argc, argv);
    if (!strcmp(argv[1], "demo")) return cmd_demo(argc, argv);
    if (!strcmp(argv[1], "inject")) return cmd_inject(argc, argv);
    if (!strcmp(argv[1], "augment")) return cmd_augment(argc, argv);
    die("unknown command '%s' (see --help)", argv[1]);
    return 2;
}
