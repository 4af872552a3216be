/* report.c - a picture of a series and its anomalies, from a CSV file.

       build/report [options] FILE.csv > picture.svg

   The CSV has a header, a timestamp in the first column (ISO 8601 such as
   "2014-07-01 00:00:00" or "2014-07-01T00:00:00Z", or Unix seconds, in
   order) and a value in the second, on every row.  The pipeline:
     MSTL (anomaly_stats.h) with the given periods (or those
     an_detect_periods finds) gives the expected value; the remainder's
     robust z (median, 1.4826 MAD) gives the band expected +- 3 sigma; |z|
     calibrated on the series itself (an_calibration, anomaly.h) gives a
     likelihood in [0, 1]; points past --threshold become events
     (an_alarm_batch, anomaly.h), labelled with their z; anomaly_xai.h
     draws it all.
   Calibrating on the series being judged flags about 1 - threshold of its
   points whatever they are; it is a picture, not a deployment.

   Options: --period N (repeatable), --threshold P (0.999), --title TEXT,
   --size W H, --from TIME and --to TIME (draw only those rows; the
   analysis still uses the whole series). */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_xai.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole of s as a number (0 when it is not one). */
static int number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

static int to_stdout(void *user, const char *data, size_t size)
{
    return fwrite(data, 1, size, (FILE *)user) == size ? 0 : -1;
}

/* "YYYY-MM-DD[ T]HH:MM[:SS][Z]" or a number of seconds. */
static int parse_time(const char *s, double *t)
{
    long y, mo, d, h = 0, mi = 0;
    double sec = 0.0;
    char *end;
    /* NOLINTBEGIN(cert-err34-c): each integer's width is bounded, so none can overflow; seconds are 2 digits */
    if (sscanf(s, "%4ld-%2ld-%2ld", &y, &mo, &d) == 3 && strlen(s) >= 10 && s[4] == '-') {
        if (strlen(s) > 10 && sscanf(s + 11, "%2ld:%2ld:%6lf", &h, &mi, &sec) < 2) h = mi = 0;
        /* NOLINTEND(cert-err34-c) */
        *t = (double)an_days_from_civil(y, (int)mo, (int)d) * 86400.0 + (double)(h * 3600 + mi * 60) + sec;
        return 1;
    }
    *t = strtod(s, &end);
    return end != s;
}

int main(int argc, char **argv)
{
    size_t periods[AN_MSTL_MAX_PERIODS], n_periods = 0, n = 0, cap = 0, i, n_events = 0, n_found = 0;
    double threshold = 0.999, median, mad, sigma, *t = NULL, *y = NULL, *seasonal, *trend, *rem, *expected;
    double *lower, *upper, *score_d, *thr;
    float *values, *absz, *score;
    const char *path = NULL, *title = NULL;
    double from = -HUGE_VAL, to = HUGE_VAL;
    size_t first = 0, last;
    int width = 0, height = 0, k;
    char line[1024], (*labels)[32];
    FILE *in;
    an_calibration cal;
    an_alarm_config alarm;
    an_event *found;
    an_event *events;
    const char **label_of;
    an_report r;
    an_result res;

    for (k = 1; k < argc; k++) {
        double v, v2;
        if (strcmp(argv[k], "--period") == 0 && k + 1 < argc && n_periods < AN_MSTL_MAX_PERIODS &&
            number(argv[k + 1], &v) && v >= 0 && v < 1e9)
            periods[n_periods++] = (size_t)v, k++;
        else if (strcmp(argv[k], "--title") == 0 && k + 1 < argc) title = argv[++k];
        else if (strcmp(argv[k], "--size") == 0 && k + 2 < argc && number(argv[k + 1], &v) && number(argv[k + 2], &v2) &&
                 v >= 1 && v <= 100000 && v2 >= 1 && v2 <= 100000) { width = (int)v; height = (int)v2; k += 2; }
        else if ((strcmp(argv[k], "--threshold") == 0 && k + 1 < argc && number(argv[k + 1], &threshold)) ||
                 (strcmp(argv[k], "--from") == 0 && k + 1 < argc && parse_time(argv[k + 1], &from)) ||
                 (strcmp(argv[k], "--to") == 0 && k + 1 < argc && parse_time(argv[k + 1], &to))) k++;
        else if (argv[k][0] != '-' && !path) path = argv[k];
        else {
            fprintf(stderr, "usage: report [--period N]... [--threshold P] [--title T] [--size W H]\n"
                            "              [--from TIME] [--to TIME] FILE.csv > picture.svg\n");
            return 2;
        }
    }
    if (!path || !(in = fopen(path, "r"))) { fprintf(stderr, "report: cannot open %s\n", path ? path : "(none)"); exit(EXIT_FAILURE); }
    if (!fgets(line, sizeof line, in)) { fprintf(stderr, "report: %s is empty\n", path); exit(EXIT_FAILURE); }
    while (fgets(line, sizeof line, in)) {
        char *comma = strchr(line, ',');
        if (!comma) continue;
        *comma = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            double *t2 = (double *)realloc(t, cap * sizeof *t), *y2 = t2 ? (double *)realloc(y, cap * sizeof *y) : NULL;
            if (t2) t = t2;
            if (y2) y = y2;
            if (!t2 || !y2) { fprintf(stderr, "report: out of memory\n"); free(t); free(y); fclose(in); exit(EXIT_FAILURE); }
        }
        if (!parse_time(line, &t[n])) { fprintf(stderr, "report: bad time '%s'\n", line); exit(EXIT_FAILURE); }
        {
            char *end;
            y[n] = strtod(comma + 1, &end);
            if (end == comma + 1 || !isfinite(y[n])) {   /* MSTL needs every value */
                fprintf(stderr, "report: row %zu: the value is missing or not a number\n", n + 2);
                free(t);
                free(y);
                fclose(in);
                exit(EXIT_FAILURE);
            }
            if (n && t[n] < t[n - 1]) { fprintf(stderr, "report: row %zu: time goes backwards\n", n + 2); exit(EXIT_FAILURE); }
            n++;
        }
    }
    fclose(in);
    if (n < 16) { fprintf(stderr, "report: %zu rows are too few\n", n); exit(EXIT_FAILURE); }

    seasonal = (double *)calloc(n * AN_MSTL_MAX_PERIODS, sizeof *seasonal);
    trend = (double *)calloc(n, sizeof *trend);
    rem = (double *)calloc(n, sizeof *rem);
    expected = (double *)calloc(n, sizeof *expected);
    lower = (double *)calloc(n, sizeof *lower);
    upper = (double *)calloc(n, sizeof *upper);
    score_d = (double *)calloc(n, sizeof *score_d);
    thr = (double *)calloc(n, sizeof *thr);
    values = (float *)calloc(n, sizeof *values);
    absz = (float *)calloc(n, sizeof *absz);
    score = (float *)calloc(n, sizeof *score);
    found = (an_event *)calloc(n, sizeof *found);
    events = (an_event *)calloc(n, sizeof *events);
    label_of = (const char **)calloc(n, sizeof *label_of);
    labels = (char (*)[32])calloc(n, sizeof *labels);
    if (!seasonal || !trend || !rem || !expected || !lower || !upper || !score_d || !thr || !values || !absz ||
        !score || !found || !events || !labels || !label_of) {
        fprintf(stderr, "report: out of memory\n");
        exit(EXIT_FAILURE);
    }

    /* expected = seasonals + trend */
    if (n_periods == 0 && (res = an_detect_periods(y, n, 0, 0.0, periods, 3, &n_periods, NULL)) != AN_OK) {
        fprintf(stderr, "report: period detection: %s\n", an_result_str(res));
        exit(EXIT_FAILURE);
    }
    if (n_periods) {
        an_mstl_config mc = an_mstl_config_init(periods, n_periods, 1);
        if ((res = an_mstl_decompose(&mc, y, n, seasonal, trend, rem, NULL)) != AN_OK) {
            fprintf(stderr, "report: MSTL: %s\n", an_result_str(res));
            exit(EXIT_FAILURE);
        }
    } else {
        for (i = 0; i < n; i++) values[i] = (float)y[i];
        an_percentile(values, n, 50.0, NULL, &median);
        for (i = 0; i < n; i++) rem[i] = y[i] - median;
    }

    /* robust z of the remainder, the band, the calibrated score */
    for (i = 0; i < n; i++) values[i] = (float)rem[i];
    an_percentile(values, n, 50.0, NULL, &median);
    for (i = 0; i < n; i++) values[i] = (float)fabs(rem[i] - median);
    an_percentile(values, n, 50.0, NULL, &mad);
    sigma = 1.4826 * mad > 1e-12 ? 1.4826 * mad : 1.0;
    for (i = 0; i < n; i++) {
        expected[i] = y[i] - rem[i];
        lower[i] = expected[i] + median - 3.0 * sigma;
        upper[i] = expected[i] + median + 3.0 * sigma;
        absz[i] = (float)(fabs(rem[i] - median) / sigma);
        values[i] = (float)y[i];
    }
    if ((res = an_calibration_fit(&cal, absz, n, NULL)) != AN_OK) {
        fprintf(stderr, "report: calibration: %s\n", an_result_str(res));
        exit(EXIT_FAILURE);
    }
    for (i = 0; i < n; i++) {
        score_d[i] = an_calibration_likelihood(&cal, absz[i]);
        score[i] = (float)score_d[i];
        thr[i] = threshold;
    }

    /* events: flagged points at most 4 rows apart */
    alarm = an_alarm_config_init(1, 1);
    alarm.max_gap = 4;
    if ((res = an_alarm_batch(&alarm, score_d, thr, n, NULL, found, n, &n_found)) != AN_OK) {
        fprintf(stderr, "report: alarms: %s\n", an_result_str(res));
        exit(EXIT_FAILURE);
    }
    /* the rows drawn, and the events in them (cut at the edges) */
    while (first < n && t[first] < from) first++;
    for (last = first; last < n && t[last] <= to; last++) {}
    if (last - first < 2) { fprintf(stderr, "report: fewer than 2 rows between --from and --to\n"); exit(EXIT_FAILURE); }
    for (i = 0; i < n_found; i++) {
        size_t p = found[i].peak;
        double z = (rem[p] - median) / sigma;
        if (found[i].end < first || found[i].start >= last) continue;
        snprintf(labels[i], sizeof labels[i], "%s%.1f\xcf\x83", z < 0 ? "\xe2\x88\x92" : "+", fabs(z));
        events[n_events] = found[i];
        label_of[n_events] = labels[i];
        events[n_events].severity = fabs(z);
        events[n_events].start = found[i].start > first ? found[i].start - first : 0;
        events[n_events].end = (found[i].end < last ? found[i].end : last - 1) - first;
        if (p < first + events[n_events].start) p = first + events[n_events].start;
        if (p > first + events[n_events].end) p = first + events[n_events].end;
        events[n_events++].peak = p - first;
    }

    r = an_report_init();
    r.title = title ? title : path;
    {
        static char sub[160];
        int m = snprintf(sub, sizeof sub, "expected: MSTL");
        size_t j;
        for (j = 0; j < n_periods && m > 0 && (size_t)m < sizeof sub; j++)
            m += snprintf(sub + m, sizeof sub - (size_t)m, "%s%zu", j ? ", " : " with periods ", periods[j]);
        if (n_periods == 0) m += snprintf(sub + m, sizeof sub - (size_t)m, " (no period found: the median)");
        snprintf(sub + m, sizeof sub - (size_t)m, " \xc2\xb7 band \xc2\xb1 3 robust \xcf\x83 \xc2\xb7 %zu event%s",
                 n_events, n_events == 1 ? "" : "s");
        r.subtitle = sub;
    }
    r.n = last - first;
    r.n_features = 1;
    r.values = values + first;
    r.time = t + first;
    r.expected = expected + first;
    r.lower = lower + first;
    r.upper = upper + first;
    r.scores = score + first;
    r.threshold = threshold;
    r.score_scale = AN_REPORT_SCORE_NINES;
    r.events = events;
    r.labels = label_of;
    r.n_events = n_events;
    r.width = width;
    r.height = height;
    res = an_report_svg(&r, to_stdout, stdout);
    if (res != AN_OK) fprintf(stderr, "report: %s\n", an_result_str(res));
    fprintf(stderr, "report: %zu rows, %zu drawn, %zu events shown of %zu\n", n, last - first, n_events, n_found);

    free(t); free(y); free(seasonal); free(trend); free(rem); free(expected); free(lower); free(upper);
    free(score_d); free(thr); free(values); free(absz); free(score); free(found); free(events); free(labels); free(label_of);
    return res == AN_OK ? 0 : 1;
}
