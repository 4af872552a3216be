/* eval.c - the quality suite behind `make eval`: one table and one
   `RESULT {json}` line.  Not part of `make test` (it takes minutes).

     build/eval [--quick] [--bin build/anomaly] [--nab DIR] [--work DIR]
                [--no-nab] [--no-synth] [--no-telemetry] [--no-xai] [--jobs N]
                [--seed N] [-- ARGS...]

   Its files go to WORK (default build/eval-work): WORK/nab, WORK/synth;
   beside each synthetic CSV, FILE.events lists its true events and
   FILE.unsup.out / FILE.trained.out hold detect's output
   (tools/eval_misses.py reads them: which events were missed, where the
   false ones fell).

   ARGS (make eval EVAL_ARGS="--method stl") go to every `anomaly detect`
   and `anomaly nab` the suite runs, so an alternative is judged by the same
   rules.  It measures what a user gets: the `anomaly` command's own output.

   Part 1, NAB.  `anomaly nab DIR/data WORK/nab --windows
   DIR/combined_windows.json` over the development corpus (41 of NAB's 58
   files in ../shared/data/nab), the three profiles as the command prints
   them (the library's scorer, NAB v1.1 rules).  Then the same results
   files scored again in-process with an_nab_evaluate on two fixed halves:
   "choose" (tune on it) and "confirm" (held back to check).  The split
   is written below (nab_split): the files in sorted order, category by
   category, alternately choose and confirm (21 / 20).  A file not in the
   list counts in "all" only.  Each half is normalised on its own (its own
   null and perfect scores), as NAB would score a corpus of those files;
   windows are the runs of the results files' label column.

   Part 2, synthetic.  Base series from an_synth_series (5-minute sampling,
   288 rows a day, 5000 rows = 17.4 days; daily, daily-weekly, trend-daily,
   ar1), anomalies from an_inject: one kind per file (so per-kind
   precision means something; spike, dip, shift, variance burst, variance
   collapse, flatline, trend, phase, period change), 3 to 5 events,
   magnitudes 4, 6 and 8 robust scale units (collapse, flatline, phase
   and period have none: their three files differ in seed only), none in
   the first 5 days (1440 rows).  Each file is run
   twice: unsupervised (`anomaly detect FILE`, fit on the whole file) and
   with the clean prefix (`--train-rows 1440`).  Detected events are runs
   of the anomaly column merged across gaps of up to MERGE_GAP rows; an
   event matches a true one when they overlap within TOLERANCE rows.
   precision = detected events matching some true event / detected events;
   recall = true events matched by some detection / true events; summed
   over files (micro), per kind and overall, and over the files whose base
   has a season (all but ar1: the telemetry the quality issue describes,
   a daily cycle, some with a week or a trend).  The seeds are fixed here;
   the maintainers judge again with private seeds, so never tune to these.
   Full: 9 kinds x 4 shapes x 3 magnitudes = 108 files; --quick: 9 kinds x
   2 shapes (daily, trend-daily) x magnitude 6 = 18 files.  (Collapse and
   period joined on 2026-12-05; the other 84 files are as before.)

   Part 3, telemetry (issue 13's setting).  TELE_ROWS rows of three
   channels: `target`, a first-order response to `cmd` (a 0/1 command
   step toggled every 100 to 400 rows) plus a cycle of TELE_PERIOD rows
   and noise; `cmd`; `sensor`, AR(1) noise that carries no information.
   The first TELE_TRAIN rows are normal (the known-normal period); then
   an_inject puts 3 anomalies of one kind into `target` (spike, shift,
   variance, flatline, one kind per file, magnitude 6).  Three runs per
   file, all with --train-rows TELE_TRAIN: the default (`detect` with no
   column options, which reads the 0/1 `cmd` as an input and judges
   `target` and `sensor`; ARGS added), the default with `--inputs cmd,sensor`
   (target judged less what its responses to them predict; ARGS added)
   and `--preset telemanom --inputs cmd,sensor` (no ARGS).  Scored on the test rows: events under
   telemanom's rule (a detected run is right when it overlaps a true
   anomaly, an anomaly found when a run overlaps it; no tolerance, no
   merging), point precision / recall / F1, and the share of test rows
   flagged.  Full: 8 files (2 seeds per kind); --quick: 4.

   Part 4, explanations (issue 14's localization), in-process, no
   `anomaly` command: does each explainer point at the injected anomaly?
   Three channels (sines of periods 24, 37 and 17 rows with noise of 0.2,
   each channel a phase of its own); an LSTM autoencoder (window
   XAI_T = 24, 16 units, the library's training defaults: 20 epochs,
   stride 1, early stopping) fitted on XAI_TRAIN clean rows.  Per
   case, a fresh clean series of XAI_ROWS rows gets one anomaly from
   an_inject_apply in a random channel (spike, dip: one row; shift,
   variance, flatline, trend: 6 to 12 rows; magnitude 6 of the channel's
   robust scale from an_inject_scale of the training rows, the sign of
   shift and trend random), starting at a random row from 30.  The row
   explained is the event's peak: the row of the span the autoencoder
   scores highest; the window explained is the autoencoder's window
   ending there (24 rows: all its score depends on).  The fill of masked
   cells (6 segments of 4 rows x 3 channels = 18 players) and the baseline
   of integrated gradients: each channel's nearest run of the training
   rows (an_xai_nearest_fill), which is also importance's `expected`
   (as `anomaly explain` by default), in the training rows' robust scale.
   Explainers: importance, occlusion, Kernel SHAP
   (256 coalitions), LIME (256), IG (64 midpoint steps).  A case's time is
   right when the cell with the largest |attribution| lies in the injected
   rows (for the player explainers, whose cells are equal within a player:
   when the top player's 4 rows overlap them); its channel is right when
   the channel with the largest share of the score over the window is
   the injected one: the sum of |attribution| (score units), for
   importance the sum of squared deviations (the autoencoder's score is a
   mean squared deviation).  Shares per explainer and kind, over every case and
   over the detected ones (the peak's score above the training scores'
   99.9th percentile: an anomaly the model does not see leaves the score
   where normal rows put it, and nothing for an explainer to find).
   Full: XAI_SEEDS cases per kind;
   --quick: a third of them.  --no-xai skips it.

   --seed N draws the synthetic, telemetry and explanation cases from
   another seed base (default 20261204, the series every figure in the
   README comes from): a set nobody tuned on, to confirm a choice made on
   the default one.

   --jobs N runs N detect processes at once (default 1: the machine may be
   shared) and is passed to `anomaly nab --jobs` (default there: one
   process per online core).  The figures do not depend on it. */
#define _POSIX_C_SOURCE 200809L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROWS       5000
#define PERIOD     288
#define TRAIN_ROWS 1440
#define TOLERANCE  12
#define MERGE_GAP  3
#define SEED_BASE  20261204u
#define MAX_EVENTS 8
#define TELE_ROWS   4000
#define TELE_TRAIN  2000
#define TELE_PERIOD 96

/* The NAB development split: 1 = choose, 0 = confirm. */
typedef struct split_entry { const char *key; int choose; } split_entry;
static const split_entry nab_split[] = {
    { "artificialNoAnomaly/art_daily_no_noise.csv", 1 },
    { "artificialNoAnomaly/art_daily_small_noise.csv", 0 },
    { "artificialNoAnomaly/art_flatline.csv", 1 },
    { "artificialNoAnomaly/art_noisy.csv", 0 },
    { "artificialWithAnomaly/art_daily_jumpsup.csv", 1 },
    { "artificialWithAnomaly/art_daily_nojump.csv", 0 },
    { "artificialWithAnomaly/art_increase_spike_density.csv", 1 },
    { "artificialWithAnomaly/art_load_balancer_spikes.csv", 0 },
    { "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv", 1 },
    { "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", 0 },
    { "realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv", 1 },
    { "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv", 0 },
    { "realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv", 1 },
    { "realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv", 0 },
    { "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv", 1 },
    { "realAWSCloudwatch/ec2_network_in_5abac7.csv", 0 },
    { "realAWSCloudwatch/elb_request_count_8c0756.csv", 1 },
    { "realAWSCloudwatch/grok_asg_anomaly.csv", 0 },
    { "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv", 1 },
    { "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv", 0 },
    { "realAdExchange/exchange-2_cpc_results.csv", 1 },
    { "realAdExchange/exchange-3_cpm_results.csv", 0 },
    { "realAdExchange/exchange-4_cpc_results.csv", 1 },
    { "realAdExchange/exchange-4_cpm_results.csv", 0 },
    { "realKnownCause/ambient_temperature_system_failure.csv", 1 },
    { "realKnownCause/ec2_request_latency_system_failure.csv", 0 },
    { "realKnownCause/machine_temperature_system_failure.csv", 1 },
    { "realKnownCause/nyc_taxi.csv", 0 },
    { "realKnownCause/rogue_agent_key_updown.csv", 1 },
    { "realTraffic/TravelTime_387.csv", 0 },
    { "realTraffic/occupancy_6005.csv", 1 },
    { "realTraffic/speed_6005.csv", 0 },
    { "realTraffic/speed_7578.csv", 1 },
    { "realTraffic/speed_t4013.csv", 0 },
    { "realTweets/Twitter_volume_AAPL.csv", 1 },
    { "realTweets/Twitter_volume_AMZN.csv", 0 },
    { "realTweets/Twitter_volume_CVS.csv", 1 },
    { "realTweets/Twitter_volume_GOOG.csv", 0 },
    { "realTweets/Twitter_volume_KO.csv", 1 },
    { "realTweets/Twitter_volume_PFE.csv", 0 },
    { "realTweets/Twitter_volume_UPS.csv", 1 },
};

static const an_inject_kind synth_kinds[] = {
    AN_INJECT_SPIKE, AN_INJECT_DIP, AN_INJECT_SHIFT, AN_INJECT_VARIANCE, AN_INJECT_COLLAPSE, AN_INJECT_FLATLINE,
    AN_INJECT_TREND, AN_INJECT_PHASE, AN_INJECT_PERIOD
};
#define N_KINDS ((int)(sizeof synth_kinds / sizeof synth_kinds[0]))
static const double magnitudes[] = { 4.0, 6.0, 8.0 };

/* --------------------------------------------------------------------------
   Helpers
   -------------------------------------------------------------------------- */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("eval: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t len = 0, cap = 1 << 16, got;
    char *buf;
    if (!f) return NULL;
    buf = (char *)xmalloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) buf = (char *)xrealloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* The command line for the shell: each argument in single quotes. */
static void append(char **cmd, size_t *len, size_t *cap, const char *s, int quote)
{
    size_t need = strlen(s) * 4 + 4;
    if (*len + need >= *cap) { *cap = 2 * (*cap + need); *cmd = (char *)xrealloc(*cmd, *cap); }
    if (*len) (*cmd)[(*len)++] = ' ';
    if (quote) (*cmd)[(*len)++] = '\'';
    for (; *s; s++) {
        if (quote && *s == '\'') { memcpy(*cmd + *len, "'\\''", 4); *len += 4; }
        else (*cmd)[(*len)++] = *s;
    }
    if (quote) (*cmd)[(*len)++] = '\'';
    (*cmd)[*len] = '\0';
}

typedef struct config {
    const char *bin, *nab, *work;
    int quick, nab_on, synth_on, tele_on, xai_on;
    long jobs;
    uint64_t seed;                     /* the synthetic files' seed base */
    int n_extra;
    char **extra;
} config;

/* Runs bin ARGS... EXTRA... > out (2> err), returns the exit status. */
static int run(const config *c, const char *out, const char *err, const char *const *args)
{
    char *cmd = NULL;
    size_t len = 0, cap = 0;
    int k, st;
    append(&cmd, &len, &cap, c->bin, 1);
    for (k = 0; args[k]; k++) append(&cmd, &len, &cap, args[k], 1);
    for (k = 0; k < c->n_extra; k++) append(&cmd, &len, &cap, c->extra[k], 1);
    append(&cmd, &len, &cap, ">", 0);
    append(&cmd, &len, &cap, out, 1);
    append(&cmd, &len, &cap, "2>", 0);
    append(&cmd, &len, &cap, err, 1);
    st = system(cmd);
    free(cmd);
    return st;
}

/* --------------------------------------------------------------------------
   Part 1: NAB
   -------------------------------------------------------------------------- */

enum { HALF_ALL, HALF_CHOOSE, HALF_CONFIRM, N_HALVES };
static const char *half_name[N_HALVES] = { "all", "choose", "confirm" };

typedef struct nab_file {
    char *key;
    float *score;
    an_range *windows;
    size_t n, n_windows;
    int half;                 /* HALF_CHOOSE, HALF_CONFIRM or -1 */
} nab_file;

typedef struct nab_part {
    double score[N_HALVES][3];
    size_t files[N_HALVES];
    double cli[3];
    double seconds;
    int ok;
} nab_part;

/* A results file of `anomaly nab`: timestamp,value,anomaly_score,label. */
static void read_result(const char *path, nab_file *f)
{
    char *text = slurp(path), *line, *next;
    size_t cap = 1024, n = 0, count = 0;
    unsigned char *label;
    if (!text) die("cannot read %s", path);
    f->score = (float *)xmalloc(cap * sizeof(float));
    label = (unsigned char *)xmalloc(cap);
    line = strchr(text, '\n');
    for (line = line ? line + 1 : NULL; line && *line; line = next) {
        char *c2 = NULL, *c3 = NULL;
        if ((next = strchr(line, '\n')) != NULL) *next++ = '\0';
        if (!(c2 = strchr(line, ',')) || !(c2 = strchr(c2 + 1, ',')) || !(c3 = strchr(c2 + 1, ',')))
            die("%s: a row without four columns", path);
        if (n == cap) {
            cap *= 2;
            f->score = (float *)xrealloc(f->score, cap * sizeof(float));
            label = (unsigned char *)xrealloc(label, cap);
        }
        f->score[n] = strtof(c2 + 1, NULL);
        label[n] = (unsigned char)(atoi(c3 + 1) != 0);
        n++;
    }
    f->n = n;
    an_ranges_from_labels(label, n, NULL, 0, &count);
    f->windows = (an_range *)xmalloc((count ? count : 1) * sizeof(an_range));
    if (an_ranges_from_labels(label, n, f->windows, count, &f->n_windows) != AN_OK) die("%s: labels", path);
    free(label);
    free(text);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every results file under root/rel, in sorted order. */
static void walk_results(const char *root, const char *rel, const char *prefix, nab_file **files, size_t *n)
{
    char path[4096], **names = NULL;
    size_t n_names = 0, k, i;
    DIR *d;
    struct dirent *e;
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    if (!(d = opendir(path))) die("cannot read %s: %s", path, strerror(errno));
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = (char **)xrealloc(names, (n_names + 1) * sizeof(char *));
        names[n_names] = (char *)xmalloc(strlen(e->d_name) + 1);
        strcpy(names[n_names++], e->d_name);
    }
    closedir(d);
    qsort(names, n_names, sizeof(char *), cmp_str);
    for (k = 0; k < n_names; k++) {
        char sub[4096], full[8192];
        struct stat st;
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[k]);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) walk_results(root, sub, prefix, files, n);
        else if (strlen(names[k]) > strlen(prefix) && !strncmp(names[k], prefix, strlen(prefix))) {
            nab_file *f;
            char key[4096];
            *files = (nab_file *)xrealloc(*files, (*n + 1) * sizeof(nab_file));
            f = &(*files)[(*n)++];
            memset(f, 0, sizeof *f);
            snprintf(key, sizeof key, "%s%s%s", rel, *rel ? "/" : "", names[k] + strlen(prefix));
            f->key = (char *)xmalloc(strlen(key) + 1);
            strcpy(f->key, key);
            f->half = -1;
            for (i = 0; i < sizeof nab_split / sizeof nab_split[0]; i++)
                if (!strcmp(nab_split[i].key, key)) f->half = nab_split[i].choose ? HALF_CHOOSE : HALF_CONFIRM;
            read_result(full, f);
        }
        free(names[k]);
    }
    free(names);
}

static void nab_part_run(const config *c, nab_part *p)
{
    char data[4096], windows[4096], out[4096], log_out[4200], log_err[4200], results[4200], jobs[32];
    const char *args[10];
    nab_file *files = NULL;
    size_t n_files = 0, i;
    double t0 = now();
    int h, k = 0, prof;
    char *text, *s;
    memset(p, 0, sizeof *p);
    snprintf(data, sizeof data, "%s/data", c->nab);
    snprintf(windows, sizeof windows, "%s/combined_windows.json", c->nab);
    snprintf(out, sizeof out, "%s/nab", c->work);
    snprintf(log_out, sizeof log_out, "%s/nab.out", c->work);
    snprintf(log_err, sizeof log_err, "%s/nab.err", c->work);
    args[k++] = "nab"; args[k++] = data; args[k++] = out; args[k++] = "--windows"; args[k++] = windows;
    args[k++] = "--name"; args[k++] = "eval";
    if (c->jobs > 0) { snprintf(jobs, sizeof jobs, "%ld", c->jobs); args[k++] = "--jobs"; args[k++] = jobs; }
    args[k] = NULL;
    fprintf(stderr, "eval: NAB over %s ...\n", data);
    if (run(c, log_out, log_err, args) != 0) {
        fprintf(stderr, "eval: anomaly nab failed; see %s\n", log_err);
        return;
    }
    p->seconds = now() - t0;
    /* The command's own three figures. */
    if ((text = slurp(log_out)) != NULL) {
        static const char *names[3] = { "standard", "reward_low_FP", "reward_low_FN" };
        for (prof = 0; prof < 3; prof++) {
            p->cli[prof] = -1e9;
            if ((s = strstr(text, names[prof])) != NULL) p->cli[prof] = strtod(s + strlen(names[prof]), NULL);
        }
        free(text);
    }
    snprintf(results, sizeof results, "%s/eval", out);
    walk_results(results, "", "eval_", &files, &n_files);
    for (h = 0; h < N_HALVES; h++) {
        an_nab_series *series = (an_nab_series *)xmalloc((n_files ? n_files : 1) * sizeof(an_nab_series));
        size_t m = 0;
        for (i = 0; i < n_files; i++) {
            if (h != HALF_ALL && files[i].half != h) continue;
            series[m].score = files[i].score;
            series[m].n = files[i].n;
            series[m].windows = files[i].windows;
            series[m].n_windows = files[i].n_windows;
            m++;
        }
        p->files[h] = m;
        for (prof = 0; prof < 3 && m; prof++) {
            an_nab_result r;
            if (an_nab_evaluate(series, m, an_nab_profile_get((an_nab_profile_id)prof), NULL, &r) != AN_OK)
                die("an_nab_evaluate failed on the %s half", half_name[h]);
            p->score[h][prof] = r.normalized;
        }
        free(series);
    }
    for (prof = 0; prof < 3; prof++)
        if (p->score[HALF_ALL][prof] - p->cli[prof] > 0.005 || p->cli[prof] - p->score[HALF_ALL][prof] > 0.005)
            fprintf(stderr, "eval: warning: %s: the command printed %.2f, its results files score %.2f\n",
                    half_name[HALF_ALL], p->cli[prof], p->score[HALF_ALL][prof]);
    for (i = 0; i < n_files; i++) { free(files[i].key); free(files[i].score); free(files[i].windows); }
    free(files);
    p->ok = 1;
}

/* --------------------------------------------------------------------------
   Part 2: synthetic
   -------------------------------------------------------------------------- */

typedef struct tally { size_t truth, found, detected, correct, flagged_rows, files; } tally;

typedef struct synth_part {
    tally kind[2][N_KINDS], all[2];
    tally seasonal[2];                 /* the files with a season: every base but ar1 */
    double seconds[2], wall;           /* summed per mode; wall: the whole part */
    size_t files, failed[2];
} synth_part;

/* Writes the series as the CSV a user would have: 5-minute ISO stamps
   from 2026-01-05 00:00 UTC, values with 4 decimals. */
static void write_csv(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "w");
    size_t i;
    if (!f) die("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "timestamp,value\n");
    for (i = 0; i < n; i++) {
        time_t secs = (time_t)(1767571200L + 300L * (long)i);
        struct tm tm;
        char stamp[32];
        gmtime_r(&secs, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(f, "%s,%.4f\n", stamp, (double)x[i]);
    }
    if (fclose(f) != 0) die("cannot write %s", path);
}

/* Beside each synthetic file, FILE.events: its true events, one per line
   (kind,start,end,magnitude,scale; rows from 0, both inclusive), for
   whoever studies what was missed. */
static void write_truth(const char *csv, const an_inject_event *ev, size_t n_ev)
{
    char path[4200];
    FILE *f;
    size_t k;
    snprintf(path, sizeof path, "%s.events", csv);
    if (!(f = fopen(path, "w"))) die("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "kind,start,end,magnitude,scale\n");
    for (k = 0; k < n_ev; k++)
        fprintf(f, "%s,%zu,%zu,%g,%.6g\n", an_inject_kind_name(ev[k].kind), ev[k].start, ev[k].end, ev[k].magnitude,
                ev[k].scale);
    if (fclose(f) != 0) die("cannot write %s", path);
}

/* The anomaly column (the last) of detect's output, n rows. */
static int read_flags(const char *path, unsigned char *flag, size_t n)
{
    char *text = slurp(path), *line, *next;
    size_t i = 0;
    if (!text) return 0;
    line = strchr(text, '\n');
    for (line = line ? line + 1 : NULL; line && *line && i < n; line = next) {
        char *comma;
        if ((next = strchr(line, '\n')) != NULL) *next++ = '\0';
        if (!(comma = strrchr(line, ','))) break;
        flag[i++] = (unsigned char)(atoi(comma + 1) != 0);
    }
    free(text);
    return i == n;
}

/* Detected events: runs of flags merged across gaps of <= MERGE_GAP rows. */
static size_t flag_events(const unsigned char *flag, size_t n, an_range *out, size_t cap)
{
    size_t i, m = 0;
    for (i = 0; i < n; i++) {
        if (!flag[i]) continue;
        if (m && i - out[m - 1].end <= MERGE_GAP + 1) out[m - 1].end = i;
        else if (m < cap) { out[m].start = out[m].end = i; m++; }
    }
    return m;
}

static int near(const an_range *d, size_t start, size_t end)
{
    return d->start <= end + TOLERANCE && d->end + TOLERANCE >= start;
}

static void score_file(const unsigned char *flag, const an_inject_event *ev, size_t n_ev, tally *t)
{
    static an_range det[ROWS];
    size_t n_det = flag_events(flag, ROWS, det, ROWS), i, k;
    for (i = 0; i < ROWS; i++) t->flagged_rows += flag[i];
    for (k = 0; k < n_ev; k++) {
        int hit = 0;
        for (i = 0; i < n_det && !hit; i++) hit = near(&det[i], ev[k].start, ev[k].end);
        t->truth++;
        t->found += (size_t)hit;
    }
    for (i = 0; i < n_det; i++) {
        int hit = 0;
        for (k = 0; k < n_ev && !hit; k++) hit = near(&det[i], ev[k].start, ev[k].end);
        t->detected++;
        t->correct += (size_t)hit;
    }
    t->files++;
}

static void add(tally *a, const tally *b)
{
    a->truth += b->truth; a->found += b->found; a->detected += b->detected; a->correct += b->correct;
    a->flagged_rows += b->flagged_rows; a->files += b->files;
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0.0; }
static double prec(const tally *t) { return ratio(t->correct, t->detected); }
static double rec(const tally *t) { return ratio(t->found, t->truth); }
static double f1(const tally *t)
{
    double p = prec(t), r = rec(t);
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

typedef struct synth_file {
    char csv[4096];
    int kind;                          /* index in synth_kinds */
    int seasonal;                      /* a base with a season (not ar1) */
    an_inject_event ev[MAX_EVENTS];
    size_t n_ev;
} synth_file;

/* The command of run r: file r / 2, unsupervised (r even) or with the
   clean prefix (r odd). */
static void synth_paths(const synth_file *f, int mode, char *out, char *err, size_t size)
{
    snprintf(out, size, "%s.%s.out", f->csv, mode ? "trained" : "unsup");
    snprintf(err, size, "%s.%s.err", f->csv, mode ? "trained" : "unsup");
}

static int synth_run(const config *c, const synth_file *f, int mode)
{
    const char *args[6];
    char out[4200], err[4200];
    int a = 0;
    args[a++] = "detect"; args[a++] = "--quiet";
    if (mode) { args[a++] = "--train-rows"; args[a++] = "1440"; }
    args[a++] = f->csv;
    args[a] = NULL;
    synth_paths(f, mode, out, err, sizeof out);
    return run(c, out, err, args);
}

static void synth_part_run(const config *c, synth_part *p)
{
    static float x[ROWS];
    static unsigned char flag[ROWS];
    const int shapes_full[] = { AN_SYNTH_DAILY, AN_SYNTH_DAILY_WEEKLY, AN_SYNTH_TREND_DAILY, AN_SYNTH_AR1 };
    const int shapes_quick[] = { AN_SYNTH_DAILY, AN_SYNTH_TREND_DAILY };
    const int *shapes = c->quick ? shapes_quick : shapes_full;
    int n_shapes = c->quick ? 2 : 4, n_mags = c->quick ? 1 : 3, k, s, v, mode;
    size_t n_files = 0, n_runs, next = 0, done = 0, i;
    long running = 0, jobs = c->jobs > 0 ? c->jobs : 1;
    synth_file *files = (synth_file *)xmalloc((size_t)(N_KINDS * n_shapes * n_mags) * sizeof(synth_file));
    pid_t *pid;
    double *started, t_wall = now();
    int *status;
    memset(p, 0, sizeof *p);
    /* 1. The files and their truth, from the library's generator. */
    for (k = 0; k < N_KINDS; k++)
        for (s = 0; s < n_shapes; s++)
            for (v = 0; v < n_mags; v++) {
                uint64_t seed = c->seed + 1000u * (unsigned)synth_kinds[k] + 100u * (unsigned)shapes[s] + (unsigned)v;
                an_synth_config sc = an_synth_config_init((an_synth_shape)shapes[s], seed);
                an_inject_config ic = an_inject_config_init();
                synth_file *f = &files[n_files++];
                double scale;
                an_result r;
                sc.period = PERIOD;
                if ((r = an_synth_series(x, ROWS, 1, &sc)) != AN_OK) die("an_synth_series: %s", an_result_str(r));
                if ((r = an_inject_scale(x, ROWS, 1, NULL, &scale)) != AN_OK) die("an_inject_scale: %s", an_result_str(r));
                ic.kinds = AN_INJECT_BIT(synth_kinds[k]);
                ic.count = 3 + (size_t)(seed % 3);
                ic.magnitude = c->quick ? 6.0 : magnitudes[v];
                ic.first_row = TRAIN_ROWS;
                ic.period = PERIOD;
                ic.seed = seed;
                if ((r = an_inject(x, ROWS, 1, &ic, &scale, f->ev, MAX_EVENTS, &f->n_ev, NULL, NULL)) != AN_OK)
                    die("an_inject: %s", an_result_str(r));
                f->kind = k;
                f->seasonal = shapes[s] != AN_SYNTH_AR1;
                snprintf(f->csv, sizeof f->csv, "%s/synth/%s_%s_m%g_%llu.csv", c->work,
                         an_inject_kind_name(synth_kinds[k]), an_synth_shape_name(shapes[s]), ic.magnitude,
                         (unsigned long long)seed);
                write_csv(f->csv, x, ROWS);
                write_truth(f->csv, f->ev, f->n_ev);
            }
    p->files = n_files;
    /* 2. `anomaly detect` on each, twice, up to `jobs` at once. */
    n_runs = 2 * n_files;
    pid = (pid_t *)xmalloc(n_runs * sizeof(pid_t));
    started = (double *)xmalloc(n_runs * sizeof(double));
    status = (int *)xmalloc(n_runs * sizeof(int));
    while (done < n_runs) {
        int st;
        pid_t w;
        while (next < n_runs && running < jobs) {
            fflush(stdout);
            fflush(stderr);
            started[next] = now();
            if ((pid[next] = fork()) < 0) die("fork: %s", strerror(errno));
            if (pid[next] == 0) _exit(synth_run(c, &files[next / 2], (int)(next % 2)) != 0);
            next++;
            running++;
        }
        if ((w = wait(&st)) < 0) die("wait: %s", strerror(errno));
        for (i = 0; i < next; i++)
            if (pid[i] == w) {
                status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
                p->seconds[i % 2] += now() - started[i];
            }
        running--;
        done++;
        if (isatty(2)) fprintf(stderr, "\reval: synthetic %zu of %zu runs", done, n_runs);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    p->wall = now() - t_wall;
    /* 3. Their flags against the truth. */
    for (i = 0; i < n_runs; i++) {
        const synth_file *f = &files[i / 2];
        char out[4200], err[4200];
        mode = (int)(i % 2);
        synth_paths(f, mode, out, err, sizeof out);
        if (status[i] != 0 || !read_flags(out, flag, ROWS)) {
            fprintf(stderr, "eval: detect failed on %s (see %s); counted as finding nothing\n", f->csv, err);
            memset(flag, 0, sizeof flag);
            p->failed[mode]++;
        }
        score_file(flag, f->ev, f->n_ev, &p->kind[mode][f->kind]);
        if (f->seasonal) score_file(flag, f->ev, f->n_ev, &p->seasonal[mode]);
    }
    for (mode = 0; mode < 2; mode++)
        for (k = 0; k < N_KINDS; k++) add(&p->all[mode], &p->kind[mode][k]);
    free(files);
    free(pid);
    free(started);
    free(status);
}

/* --------------------------------------------------------------------------
   Part 3: telemetry
   -------------------------------------------------------------------------- */

static const an_inject_kind tele_kinds[] = { AN_INJECT_SPIKE, AN_INJECT_SHIFT, AN_INJECT_VARIANCE, AN_INJECT_FLATLINE };
#define N_TELE_KINDS ((int)(sizeof tele_kinds / sizeof tele_kinds[0]))

/* Events (telemanom's rule) and points of one run, over the test rows. */
typedef struct tele_tally {
    size_t truth, found, detected, correct;    /* events */
    size_t tp, fp, fn, test_rows;              /* points */
} tele_tally;

#define TELE_MODES 3
static const char *const tele_mode[TELE_MODES] = { "default", "inputs", "telemanom" };

typedef struct tele_part {
    size_t files, failed[TELE_MODES];
    tele_tally t[TELE_MODES];                  /* default, default --inputs, --preset telemanom --inputs */
    double seconds[TELE_MODES];
} tele_part;

/* target, cmd, sensor: TELE_ROWS rows from seed. */
static void tele_series(float *x, uint64_t seed)
{
    an_rng rng;
    double level = 0.0, ar = 0.0;
    size_t i, next;
    int cmd = 0;
    an_rng_seed(&rng, seed, 13);
    next = 100 + (size_t)an_rng_below(&rng, 300);
    for (i = 0; i < TELE_ROWS; i++) {
        if (i == next) cmd = !cmd, next = i + 100 + (size_t)an_rng_below(&rng, 300);
        level += 0.05 * (2.0 * cmd - level);
        ar = 0.9 * ar + 0.3 * an_rng_normal(&rng);
        x[3 * i] = (float)(level + 0.3 * sin(6.283185307179586 * (double)i / TELE_PERIOD) + 0.1 * an_rng_normal(&rng));
        x[3 * i + 1] = (float)cmd;
        x[3 * i + 2] = (float)ar;
    }
}

static void tele_write(const char *path, const float *x)
{
    FILE *f = fopen(path, "w");
    size_t i;
    if (!f) die("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "t,target,cmd,sensor\n");
    for (i = 0; i < TELE_ROWS; i++) fprintf(f, "%zu,%.4f,%.0f,%.4f\n", i, x[3 * i], x[3 * i + 1], x[3 * i + 2]);
    if (fclose(f) != 0) die("cannot write %s", path);
}

static void tele_score(const unsigned char *flag, const an_inject_event *ev, size_t n_ev, tele_tally *t)
{
    static an_range det[TELE_ROWS];
    static unsigned char truth[TELE_ROWS];
    size_t n_det = 0, i, k;
    memset(truth, 0, sizeof truth);
    for (k = 0; k < n_ev; k++)
        for (i = ev[k].start; i <= ev[k].end && i < TELE_ROWS; i++) truth[i] = 1;
    for (i = TELE_TRAIN; i < TELE_ROWS; i++) {
        if (flag[i] && n_det && det[n_det - 1].end + 1 == i) det[n_det - 1].end = i;
        else if (flag[i]) det[n_det].start = det[n_det].end = i, n_det++;
        t->tp += flag[i] && truth[i];
        t->fp += flag[i] && !truth[i];
        t->fn += !flag[i] && truth[i];
        t->test_rows++;
    }
    for (k = 0; k < n_ev; k++) {
        int hit = 0;
        for (i = 0; i < n_det && !hit; i++) hit = det[i].start <= ev[k].end && det[i].end >= ev[k].start;
        t->truth++;
        t->found += (size_t)hit;
    }
    for (i = 0; i < n_det; i++) {
        int hit = 0;
        for (k = 0; k < n_ev && !hit; k++) hit = det[i].start <= ev[k].end && det[i].end >= ev[k].start;
        t->detected++;
        t->correct += (size_t)hit;
    }
}

static double f1_of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

static void tele_part_run(const config *c, tele_part *p)
{
    static float x[3 * TELE_ROWS];
    static unsigned char flag[TELE_ROWS];
    const unsigned char target_only[3] = { 1, 0, 0 };
    int n_files = c->quick ? N_TELE_KINDS : 2 * N_TELE_KINDS, k, mode;
    config plain = *c;
    memset(p, 0, sizeof *p);
    plain.n_extra = 0;
    for (k = 0; k < n_files; k++) {
        uint64_t seed = c->seed + 7000u + (unsigned)k;
        an_inject_config ic = an_inject_config_init();
        an_inject_event ev[MAX_EVENTS];
        size_t n_ev = 0;
        double scale[3];
        char csv[4096], out[4200], err[4200];
        an_result r;
        tele_series(x, seed);
        if ((r = an_inject_scale(x, TELE_ROWS, 3, NULL, scale)) != AN_OK) die("an_inject_scale: %s", an_result_str(r));
        ic.kinds = AN_INJECT_BIT(tele_kinds[k % N_TELE_KINDS]);
        ic.count = 3;
        ic.magnitude = 6.0;
        ic.first_row = TELE_TRAIN;
        ic.channel_ok = target_only;
        ic.seed = seed;
        if ((r = an_inject(x, TELE_ROWS, 3, &ic, scale, ev, MAX_EVENTS, &n_ev, NULL, NULL)) != AN_OK)
            die("an_inject: %s", an_result_str(r));
        snprintf(csv, sizeof csv, "%s/synth/tele_%s_%llu.csv", c->work, an_inject_kind_name(tele_kinds[k % N_TELE_KINDS]),
                 (unsigned long long)seed);
        tele_write(csv, x);
        write_truth(csv, ev, n_ev);
        p->files++;
        for (mode = 0; mode < TELE_MODES; mode++) {
            char train[32];
            const char *dflt[] = { "detect", "--quiet", "--train-rows", train, csv, NULL };
            const char *inputs[] = { "detect", "--quiet", "--train-rows", train, "--inputs", "cmd,sensor", csv, NULL };
            const char *preset[] = { "detect", "--quiet", "--train-rows", train, "--preset", "telemanom", "--inputs",
                                     "cmd,sensor", csv, NULL };
            const char **args = mode == 0 ? dflt : mode == 1 ? inputs : preset;
            double t0 = now();
            snprintf(train, sizeof train, "%d", TELE_TRAIN);
            snprintf(out, sizeof out, "%s.%s.out", csv, tele_mode[mode]);
            snprintf(err, sizeof err, "%s.%s.err", csv, tele_mode[mode]);
            if (run(mode == 2 ? &plain : c, out, err, args) != 0 || !read_flags(out, flag, TELE_ROWS)) {
                fprintf(stderr, "eval: detect failed on %s (see %s); counted as finding nothing\n", csv, err);
                memset(flag, 0, sizeof flag);
                p->failed[mode]++;
            }
            p->seconds[mode] += now() - t0;
            tele_score(flag, ev, n_ev, &p->t[mode]);
        }
        if (isatty(2)) fprintf(stderr, "\reval: telemetry %d of %d files", k + 1, n_files);
    }
    if (isatty(2)) fprintf(stderr, "\n");
}

static void tele_print(const char *name, const tele_tally *t, double seconds)
{
    double ep = ratio(t->correct, t->detected), er = ratio(t->found, t->truth);
    double pp = ratio(t->tp, t->tp + t->fp), pr = ratio(t->tp, t->tp + t->fn);
    printf("  %-26s %5zu/%-5zu %.2f  %.2f  %.2f   %.2f  %.2f  %.2f   %5.1f%%  %6.1f s\n", name, t->found, t->truth, ep, er,
           f1_of(ep, er), pp, pr, f1_of(pp, pr), 100.0 * ratio(t->tp + t->fp, t->test_rows), seconds);
}

static void tele_json(const char *name, const tele_tally *t)
{
    double ep = ratio(t->correct, t->detected), er = ratio(t->found, t->truth);
    double pp = ratio(t->tp, t->tp + t->fp), pr = ratio(t->tp, t->tp + t->fn);
    printf("\"%s\": {\"event_precision\": %.4f, \"event_recall\": %.4f, \"event_f1\": %.4f, \"point_precision\": %.4f, "
           "\"point_recall\": %.4f, \"point_f1\": %.4f, \"flagged_share\": %.4f}", name, ep, er, f1_of(ep, er), pp, pr,
           f1_of(pp, pr), ratio(t->tp + t->fp, t->test_rows));
}

/* --------------------------------------------------------------------------
   Part 4: explanations (localization)
   -------------------------------------------------------------------------- */

#define XAI_T      24
#define XAI_F      3
#define XAI_ROWS   80
#define XAI_TRAIN  3000
#define XAI_SEEDS  30
#define XAI_SEGS   6
#define XAI_SAMPLES 256

static const an_inject_kind xai_kinds[] = { AN_INJECT_SPIKE, AN_INJECT_DIP, AN_INJECT_SHIFT, AN_INJECT_VARIANCE,
                                            AN_INJECT_FLATLINE, AN_INJECT_TREND };
#define N_XAI_KINDS ((int)(sizeof xai_kinds / sizeof xai_kinds[0]))
enum { XAI_IMPORTANCE, XAI_OCCLUSION, XAI_SHAP, XAI_LIME, XAI_IG, N_XAI_METHODS };
static const char *const xai_method[N_XAI_METHODS] = { "importance", "occlusion", "shap", "lime", "ig" };

typedef struct xai_tally {
    size_t cases[N_XAI_KINDS];
    size_t time_hits[N_XAI_KINDS][N_XAI_METHODS], channel_hits[N_XAI_KINDS][N_XAI_METHODS];
} xai_tally;

typedef struct xai_part {
    xai_tally all, detected;   /* every case; those whose peak is flagged */
    double threshold;          /* the training scores' 99.9th percentile */
    double fit_seconds, seconds[N_XAI_METHODS], wall;
} xai_part;

/* n rows of the three channels; noise from stream `stream` of seed. */
static void xai_series(float *x, size_t n, uint64_t seed, uint64_t stream)
{
    static const double period[XAI_F] = { 24.0, 37.0, 17.0 };
    an_rng rng;
    double phase;
    size_t i, f;
    an_rng_seed(&rng, seed, stream);
    phase = 6.283185307179586 * an_rng_uniform(&rng);
    for (i = 0; i < n; i++)
        for (f = 0; f < XAI_F; f++)
            x[i * XAI_F + f] = (float)(sin(6.283185307179586 * (double)i / period[f] + phase + (double)f) +
                                       0.2 * an_rng_normal(&rng));
}

static void xai_check(an_result r, const char *what)
{
    if (r != AN_OK) die("eval: explanations: %s: %s", what, an_result_str(r));
}

/* Scores one explanation's cells (XAI_T, XAI_F) of the window whose first
   row is w0 against the event; `squared`: cells are deviations, whose
   squares are the score's units. */
static void xai_judge(const double *cells, size_t w0, const an_inject_event *ev, int squared, size_t *time_hit,
                      size_t *channel_hit)
{
    double top = -1.0, per[XAI_F] = { 0 };
    size_t i, f, best = 0;
    int in = 0;
    for (i = 0; i < XAI_T * XAI_F; i++) {
        double a = fabs(cells[i]);
        per[i % XAI_F] += squared ? a * a : a;
        if (a > top) top = a;
    }
    for (i = 0; i < XAI_T && !in; i++)   /* ties: a player's equal cells */
        for (f = 0; f < XAI_F; f++)
            if (fabs(cells[i * XAI_F + f]) == top && w0 + i >= ev->start && w0 + i <= ev->end) in = 1;
    for (f = 1; f < XAI_F; f++)
        if (per[f] > per[best]) best = f;
    *time_hit += (size_t)in;
    *channel_hit += best == ev->channel;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void xai_part_run(const config *c, xai_part *p)
{
    static float train[XAI_TRAIN * XAI_F], train_scores[XAI_TRAIN];
    float x[XAI_ROWS * XAI_F], nearest[XAI_T * XAI_F], scores[XAI_ROWS];
    double scale[XAI_F], phi[XAI_SEGS * XAI_F], cells[XAI_T * XAI_F];
    an_lstm_config lc = an_lstm_ae_config_init(XAI_T, 16);
    an_detector *d = NULL;
    int k, seeds = c->quick ? XAI_SEEDS / 3 : XAI_SEEDS, s, m, detected, squared;
    size_t i, n_scored;
    double t0 = now(), wall0 = t0;
    memset(p, 0, sizeof *p);
    xai_series(train, XAI_TRAIN, SEED_BASE + 9000u, 1);
    xai_check(an_inject_scale(train, XAI_TRAIN, XAI_F, NULL, scale), "scale");
    xai_check(an_lstm_ae_create(&lc, XAI_F, NULL, &d), "create");
    xai_check(an_detector_fit(d, train, XAI_TRAIN), "fit");
    p->fit_seconds = now() - t0;
    xai_check(an_detector_score(d, train, XAI_TRAIN, train_scores), "training scores");
    for (n_scored = 0, i = 0; i < XAI_TRAIN; i++)   /* the first window's rows have none (NaN) */
        if (train_scores[i] == train_scores[i]) train_scores[n_scored++] = train_scores[i];
    qsort(train_scores, n_scored, sizeof *train_scores, cmp_float);
    p->threshold = train_scores[(size_t)(0.999 * (double)(n_scored - 1))];
    for (k = 0; k < N_XAI_KINDS; k++)
        for (s = 0; s < seeds; s++) {
            uint64_t seed = c->seed + 9100u + 100u * (unsigned)k + (unsigned)s;
            an_rng rng;
            an_inject_event ev;
            an_xai_players pl;
            an_xai xai;
            an_xai_summary sum;
            an_xai_lime_config lime = an_xai_lime_config_init();
            size_t len, target, w0;
            int one_row = xai_kinds[k] == AN_INJECT_SPIKE || xai_kinds[k] == AN_INJECT_DIP;
            xai_series(x, XAI_ROWS, seed, 2);
            an_rng_seed(&rng, seed, 3);
            memset(&ev, 0, sizeof ev);
            len = one_row ? 1 : 6 + (size_t)an_rng_below(&rng, 7);
            ev.kind = xai_kinds[k];
            ev.channel = (size_t)an_rng_below(&rng, XAI_F);
            ev.start = 30 + (size_t)an_rng_below(&rng, XAI_ROWS - 30 - len + 1);
            ev.end = ev.start + len - 1;
            ev.magnitude = 6.0;
            ev.scale = scale[ev.channel];
            ev.sign = xai_kinds[k] == AN_INJECT_DIP ? -1
                      : (xai_kinds[k] == AN_INJECT_SHIFT || xai_kinds[k] == AN_INJECT_TREND) && an_rng_below(&rng, 2) ? -1
                                                                                                                   : 1;
            xai_check(an_inject_apply(x, XAI_ROWS, XAI_F, &ev, 1, 0, seed, NULL, NULL), "inject");
            xai_check(an_detector_score(d, x, XAI_ROWS, scores), "score");
            for (target = ev.start, i = ev.start; i <= ev.end; i++)
                if (scores[i] > scores[target]) target = i;
            w0 = target + 1 - XAI_T;
            xai_check(an_xai_nearest_fill(train, XAI_TRAIN, XAI_F, x + w0 * XAI_F, XAI_T, 0, 0, nearest), "nearest");
            detected = scores[target] > p->threshold;
            memset(&pl, 0, sizeof pl);
            pl.detector = d;
            pl.x = x + w0 * XAI_F;
            pl.n_rows = XAI_T;
            pl.start = 0;
            pl.length = XAI_T;
            pl.target = XAI_T - 1;
            pl.n_segments = XAI_SEGS;
            pl.per_channel = 1;
            pl.fill = AN_XAI_FILL_EXPECTED;
            pl.fill_values = nearest;
            xai_check(an_xai_init(&xai, &pl, XAI_SAMPLES, NULL), "init");
            lime.samples = XAI_SAMPLES;
            lime.seed = seed;
            for (m = 0; m < N_XAI_METHODS; m++) {
                double m0 = now();
                if (m == XAI_IMPORTANCE)
                    xai_check(an_xai_importance(pl.x, nearest, XAI_T, XAI_F, scale, cells), "importance");
                else if (m == XAI_IG)
                    xai_check(an_xai_integrated_gradients(d, pl.x, nearest, XAI_T, XAI_T - 1, 64, AN_XAI_MIDPOINT, cells, &sum,
                                                          NULL), "ig");
                else {
                    if (m == XAI_OCCLUSION) xai_check(an_xai_occlusion(&xai, phi, &sum), "occlusion");
                    if (m == XAI_SHAP) xai_check(an_xai_shap(&xai, XAI_SAMPLES, seed, phi, &sum), "shap");
                    if (m == XAI_LIME) xai_check(an_xai_lime(&xai, &lime, phi, &sum), "lime");
                    xai_check(an_xai_cells(&xai, phi, cells), "cells");
                }
                p->seconds[m] += now() - m0;
                squared = m == XAI_IMPORTANCE;
                xai_judge(cells, w0, &ev, squared, &p->all.time_hits[k][m], &p->all.channel_hits[k][m]);
                if (detected)
                    xai_judge(cells, w0, &ev, squared, &p->detected.time_hits[k][m], &p->detected.channel_hits[k][m]);
            }
            an_xai_uninit(&xai);
            p->all.cases[k]++;
            p->detected.cases[k] += (size_t)detected;
            if (isatty(2)) fprintf(stderr, "\reval: explanations %d of %d cases", k * seeds + s + 1, N_XAI_KINDS * seeds);
        }
    if (isatty(2)) fprintf(stderr, "\n");
    an_detector_destroy(d);
    p->wall = now() - wall0;
}

/* --------------------------------------------------------------------------
   Report
   -------------------------------------------------------------------------- */

/* One table of shares per kind and explainer, and over all kinds. */
static void xai_print(const char *title, const xai_tally *t)
{
    size_t all = 0, th[N_XAI_METHODS] = { 0 }, ch[N_XAI_METHODS] = { 0 };
    int k, m;
    printf("  %-10s cases", title);
    for (m = 0; m < N_XAI_METHODS; m++) printf("  %-11s", xai_method[m]);
    printf("\n");
    for (k = 0; k <= N_XAI_KINDS; k++) {
        size_t n = k < N_XAI_KINDS ? t->cases[k] : all;
        printf("  %-10s %5zu", k < N_XAI_KINDS ? an_inject_kind_name(xai_kinds[k]) : "all", n);
        for (m = 0; m < N_XAI_METHODS; m++) {
            size_t t1 = k < N_XAI_KINDS ? t->time_hits[k][m] : th[m];
            size_t c1 = k < N_XAI_KINDS ? t->channel_hits[k][m] : ch[m];
            if (n) printf("  %.2f / %.2f", ratio(t1, n), ratio(c1, n));
            else printf("  %-11s", "-");
            if (k < N_XAI_KINDS) {
                th[m] += t1;
                ch[m] += c1;
            }
        }
        if (k < N_XAI_KINDS) all += t->cases[k];
        printf("\n");
    }
}

static void json_tally(const tally *t)
{
    printf("{\"precision\": %.4f, \"recall\": %.4f, \"f1\": %.4f, \"events\": %zu, \"found\": %zu, "
           "\"detected\": %zu, \"correct\": %zu}", prec(t), rec(t), f1(t), t->truth, t->found, t->detected, t->correct);
}

int main(int argc, char **argv)
{
    config c;
    nab_part nab;
    synth_part syn;
    tele_part tele;
    xai_part xp;
    int a, h, k, mode;
    char args_text[2048] = "", stamp[64];
    struct utsname u;
    time_t t = time(NULL);
    double t0 = now();
    char path[4096];
    memset(&c, 0, sizeof c);
    c.bin = "build/anomaly";
    c.nab = "../shared/data/nab";
    c.work = "build/eval-work";
    c.nab_on = c.synth_on = c.tele_on = c.xai_on = 1;
    c.seed = SEED_BASE;
    for (a = 1; a < argc; a++) {
        const char *o = argv[a];
        if (!strcmp(o, "--")) { c.extra = argv + a + 1; c.n_extra = argc - a - 1; break; }
        if (!strcmp(o, "--quick")) c.quick = 1;
        else if (!strcmp(o, "--no-nab")) c.nab_on = 0;
        else if (!strcmp(o, "--no-synth")) c.synth_on = 0;
        else if (!strcmp(o, "--no-telemetry")) c.tele_on = 0;
        else if (!strcmp(o, "--no-xai")) c.xai_on = 0;
        else if (a + 1 < argc && !strcmp(o, "--bin")) c.bin = argv[++a];
        else if (a + 1 < argc && !strcmp(o, "--nab")) c.nab = argv[++a];
        else if (a + 1 < argc && !strcmp(o, "--work")) c.work = argv[++a];
        else if (a + 1 < argc && !strcmp(o, "--jobs")) c.jobs = strtol(argv[++a], NULL, 10);
        else if (a + 1 < argc && !strcmp(o, "--seed")) {
            char *end;
            errno = 0;
            c.seed = (uint64_t)strtoull(argv[++a], &end, 10);
            if (errno || *end || end == argv[a] || argv[a][0] == '-') die("--seed %s: give a non-negative integer", argv[a]);
        } else
            die("usage: eval [--quick] [--bin B] [--nab DIR] [--work DIR] [--no-nab] [--no-synth] [--no-telemetry] "
                "[--no-xai] [--jobs N] [--seed N] [-- ARGS]");
    }
    for (a = 0; a < c.n_extra; a++) {
        if (strlen(args_text) + strlen(c.extra[a]) + 2 >= sizeof args_text) break;
        if (a) strcat(args_text, " ");
        strcat(args_text, c.extra[a]);
    }
    mkdir(c.work, 0777);
    snprintf(path, sizeof path, "%s/synth", c.work);
    mkdir(path, 0777);
    if (c.nab_on) nab_part_run(&c, &nab); else memset(&nab, 0, sizeof nab);
    if (c.synth_on) synth_part_run(&c, &syn); else memset(&syn, 0, sizeof syn);
    if (c.tele_on) tele_part_run(&c, &tele); else memset(&tele, 0, sizeof tele);
    if (c.xai_on) xai_part_run(&c, &xp); else memset(&xp, 0, sizeof xp);

    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    uname(&u);
    printf("anomaly.h quality suite%s, %s, %s %s, %ld cores online; detect/nab args: %s; seed %llu\n",
           c.quick ? " (quick)" : "", stamp, u.sysname, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
           *args_text ? args_text : "(defaults)", (unsigned long long)c.seed);
    if (nab.ok) {
        printf("\nNAB, library scorer (NAB v1.1 rules), normalised   standard  low-FP  low-FN  files\n");
        for (h = 0; h < N_HALVES; h++)
            printf("  %-48s %8.2f %7.2f %7.2f  %5zu\n", half_name[h], nab.score[h][0], nab.score[h][1], nab.score[h][2],
                   nab.files[h]);
        printf("  time %.1f s\n", nab.seconds);
    } else if (c.nab_on) {
        printf("\nNAB: failed\n");
    }
    if (c.synth_on) {
        printf("\nsynthetic: %zu files of %d rows (5-min, %s), one kind each, 3-5 events, magnitude %s;\n"
               "events matched within %d rows, flags merged across %d-row gaps\n", syn.files, ROWS,
               c.quick ? "daily / trend-daily" : "daily / daily-weekly / trend-daily / ar1", c.quick ? "6" : "4, 6, 8",
               TOLERANCE, MERGE_GAP);
        printf("             unsupervised (detect FILE)        clean prefix (--train-rows %d)\n", TRAIN_ROWS);
        printf("  kind       events  found   P     R     F1      found   P     R     F1\n");
        for (k = 0; k <= N_KINDS; k++) {
            const tally *u0 = k < N_KINDS ? &syn.kind[0][k] : &syn.all[0];
            const tally *u1 = k < N_KINDS ? &syn.kind[1][k] : &syn.all[1];
            printf("  %-10s %6zu  %5zu  %.2f  %.2f  %.2f    %5zu  %.2f  %.2f  %.2f\n",
                   k < N_KINDS ? an_inject_kind_name(synth_kinds[k]) : "all", u0->truth, u0->found, prec(u0), rec(u0),
                   f1(u0), u1->found, prec(u1), rec(u1), f1(u1));
        }
        printf("  detected events (true / all): %zu / %zu unsupervised, %zu / %zu with a clean prefix\n",
               syn.all[0].correct, syn.all[0].detected, syn.all[1].correct, syn.all[1].detected);
        if (syn.seasonal[0].files)   /* the telemetry the quality issue describes: a daily cycle, maybe a week, a trend */
            printf("  bases with a season (not ar1), P / R: %.2f / %.2f unsupervised (%zu of %zu found), "
                   "%.2f / %.2f with a clean prefix (%zu)\n", prec(&syn.seasonal[0]), rec(&syn.seasonal[0]),
                   syn.seasonal[0].found, syn.seasonal[0].truth, prec(&syn.seasonal[1]), rec(&syn.seasonal[1]),
                   syn.seasonal[1].found);
        printf("  time %.1f s unsupervised, %.1f s clean prefix (summed over runs); %.1f s wall, %ld at once",
               syn.seconds[0], syn.seconds[1], syn.wall, c.jobs > 0 ? c.jobs : 1L);
        if (syn.failed[0] || syn.failed[1]) printf("; detect failed on %zu + %zu files", syn.failed[0], syn.failed[1]);
        printf("\n");
    }
    if (c.tele_on) {
        printf("\ntelemetry: %zu files of %d rows (target driven by a command step, an uninformative sensor),\n"
               "trained on the first %d; 3 anomalies each in target (spike, shift, variance, flatline); test rows only\n",
               tele.files, TELE_ROWS, TELE_TRAIN);
        printf("  run                        found       event P/R/F1        point P/R/F1      flagged  time\n");
        tele_print("default (no --inputs)", &tele.t[0], tele.seconds[0]);
        tele_print("default --inputs", &tele.t[1], tele.seconds[1]);
        tele_print("--preset telemanom --inputs", &tele.t[2], tele.seconds[2]);
        if (tele.failed[0] || tele.failed[1] || tele.failed[2])
            printf("  detect failed on %zu + %zu + %zu files\n", tele.failed[0], tele.failed[1], tele.failed[2]);
    }
    if (c.xai_on) {
        printf("\nexplanations: 3 channels, an LSTM autoencoder (T %d, 16 units) fitted on %d clean rows in %.1f s;\n"
               "one anomaly in one channel per case, magnitude 6; the event's peak explained over its window\n"
               "(%d segments x 3 channels); fill, baseline and importance's expected: each channel's nearest run\n"
               "of the training rows (an_xai_nearest_fill); share of cases whose top cell (player) lies in the\n"
               "injected rows / whose top channel (sum of |attribution|, importance's of its squares) is the\n"
               "injected one\n",
               XAI_T, XAI_TRAIN, xp.fit_seconds, XAI_SEGS);
        xai_print("every case", &xp.all);
        printf("detected cases: the peak's score above the training scores' 99.9th percentile (%.4g)\n", xp.threshold);
        xai_print("detected", &xp.detected);
        printf("  time");
        for (k = 0; k < N_XAI_METHODS; k++) printf(" %s %.2f s%s", xai_method[k], xp.seconds[k], k + 1 < N_XAI_METHODS ? "," : "");
        printf("; %.1f s wall with the fit\n", xp.wall);
    }
    printf("total time %.1f s\n", now() - t0);

    printf("RESULT {\"quick\": %d, \"args\": \"", c.quick);
    for (a = 0; args_text[a]; a++) {
        if (args_text[a] == '"' || args_text[a] == '\\') putchar('\\');
        putchar(args_text[a]);
    }
    printf("\", \"seed\": %llu", (unsigned long long)c.seed);
    if (nab.ok) {
        static const char *prof[3] = { "standard", "low_fp", "low_fn" };
        printf(", \"nab\": {");
        for (h = 0; h < N_HALVES; h++) {
            int p;
            printf("%s\"%s\": {", h ? ", " : "", half_name[h]);
            for (p = 0; p < 3; p++) printf("%s\"%s\": %.2f", p ? ", " : "", prof[p], nab.score[h][p]);
            printf(", \"files\": %zu}", nab.files[h]);
        }
        printf(", \"seconds\": %.1f}", nab.seconds);
    }
    if (c.synth_on) {
        printf(", \"synthetic\": {\"files\": %zu", syn.files);
        for (mode = 0; mode < 2; mode++) {
            printf(", \"%s\": {\"all\": ", mode ? "clean_prefix" : "unsupervised");
            json_tally(&syn.all[mode]);
            printf(", \"seasonal\": ");
            json_tally(&syn.seasonal[mode]);
            for (k = 0; k < N_KINDS; k++) {
                printf(", \"%s\": ", an_inject_kind_name(synth_kinds[k]));
                json_tally(&syn.kind[mode][k]);
            }
            printf(", \"seconds\": %.1f}", syn.seconds[mode]);
        }
        printf(", \"wall_seconds\": %.1f}", syn.wall);
    }
    if (c.tele_on) {
        int mm;
        printf(", \"telemetry\": {\"files\": %zu", tele.files);
        for (mm = 0; mm < TELE_MODES; mm++) {
            printf(", ");
            tele_json(tele_mode[mm], &tele.t[mm]);
        }
        printf("}");
    }
    if (c.xai_on) {
        int mm;
        printf(", \"explanations\": {\"seconds\": %.1f", xp.wall);
        for (mm = 0; mm < N_XAI_METHODS; mm++) {
            printf(", \"%s\": {", xai_method[mm]);
            for (k = 0; k < N_XAI_KINDS; k++)
                printf("%s\"%s\": {\"cases\": %zu, \"time\": %.4f, \"channel\": %.4f, \"detected\": %zu, "
                       "\"detected_time\": %.4f, \"detected_channel\": %.4f}", k ? ", " : "",
                       an_inject_kind_name(xai_kinds[k]), xp.all.cases[k], ratio(xp.all.time_hits[k][mm], xp.all.cases[k]),
                       ratio(xp.all.channel_hits[k][mm], xp.all.cases[k]), xp.detected.cases[k],
                       ratio(xp.detected.time_hits[k][mm], xp.detected.cases[k]),
                       ratio(xp.detected.channel_hits[k][mm], xp.detected.cases[k]));
            printf("}");
        }
        printf("}");
    }
    printf("}\n");
    return 0;
}
