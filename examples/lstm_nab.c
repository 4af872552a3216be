/* examples/lstm_nab.c - the LSTM autoencoder on NAB (Numenta Anomaly
   Benchmark v1.1) series, scored with NAB's own rules (an_nab_evaluate).

       build/lstm_nab [path/to/nab]      (default ../shared/data/nab)

   For the three series whose windows tests/fixtures/nab_reference.h
   lists as row indices, the detector learns from the probationary rows
   only (the first 15%, which NAB does not score), then streams every row
   through an_detector_push, causally, as NAB requires.  A score s becomes
   1 - exp(-s / p99) with p99 the 99th percentile of the training rows'
   own scores (an_lstm_info_get), so one corpus threshold fits every file.
   The same corpus scored with the fixture's causal rolling z-score gives
   a baseline.  Three files are a sample, not the benchmark: the numbers
   are not comparable with NAB's published scoreboard. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"
#include "../tests/fixtures/nab_reference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value column of a NAB csv (timestamp,value) into v: 1 when it has
   the n rows expected. */
static int read_values(const char *path, float *v, size_t n)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t k = 0;
    if (!f) return 0;
    if (!fgets(line, sizeof line, f)) { fclose(f); return 0; }   /* header */
    while (k < n && fgets(line, sizeof line, f)) {
        char *comma = strchr(line, ',');
        if (comma) v[k++] = (float)strtod(comma + 1, NULL);
    }
    fclose(f);
    return k == n;
}

/* n items of `size` bytes, or a message and NULL. */
static void *checked_malloc(size_t n, size_t size, const char *what)
{
    void *p = n <= (size_t)-1 / size ? malloc(n * size) : NULL;
    if (!p) fprintf(stderr, "lstm_nab: out of memory for %s (%zu x %zu bytes)\n", what, n, size);
    return p;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/data/nab";
    an_nab_series lstm[NAB_REF_N_FILES], base[NAB_REF_N_FILES];
    an_range *windows[NAB_REF_N_FILES];
    float *scores[NAB_REF_N_FILES];
    int p, f;
    for (f = 0; f < NAB_REF_N_FILES; f++) {
        const nab_ref_file *rf = &nab_ref_files[f];
        char path[512];
        float *x;
        size_t n = rf->n, prob = an_nab_probation(n), i, w;
        an_lstm_config c = an_lstm_ae_config_init(48, 32);
        an_detector *d = NULL;
        an_lstm_info info;
        an_result r;
        snprintf(path, sizeof path, "%s/data/%s", dir, rf->name);
        if (!(x = (float *)checked_malloc(n, sizeof(float), "the series"))) return 1;
        if (!read_values(path, x, n)) { fprintf(stderr, "cannot read %zu rows from %s\n", n, path); free(x); return 1; }
        c.train.epochs = 30;
        c.batch = 16;
        c.train.adam.lr = 3e-3;
        c.train.patience = 6;
        if ((r = an_lstm_ae_create(&c, 1, NULL, &d)) != AN_OK || (r = an_detector_fit(d, x, prob)) != AN_OK ||
            (r = an_lstm_info_get(d, &info)) != AN_OK) {
            fprintf(stderr, "%s: %s\n", rf->name, an_result_str(r));
            an_detector_destroy(d);
            free(x);
            return 1;
        }
        scores[f] = (float *)checked_malloc(n, sizeof(float), "the scores");
        windows[f] = (an_range *)checked_malloc(rf->n_windows + 1, sizeof(an_range), "the windows");
        if (!scores[f] || !windows[f]) return 1;
        for (i = 0; i < n; i++) {
            float s = 0.0f;
            if ((r = an_detector_push(d, x + i, &s)) != AN_OK) { fprintf(stderr, "push: %s\n", an_result_str(r)); return 1; }
            scores[f][i] = (float)(1.0 - exp(-(double)s / (info.score_p99 > 0.0 ? info.score_p99 : 1.0)));
        }
        for (w = 0; w < rf->n_windows; w++) {
            windows[f][w].start = rf->window[2 * w];
            windows[f][w].end = rf->window[2 * w + 1];
        }
        lstm[f].score = scores[f];
        lstm[f].n = n;
        lstm[f].windows = windows[f];
        lstm[f].n_windows = rf->n_windows;
        base[f] = lstm[f];
        base[f].score = rf->score;
        printf("%-44s n=%5zu trained on %4zu rows, %2zu epochs, %.1f s\n", rf->name, n, prob, info.epochs_run,
               info.train_seconds);
        an_detector_destroy(d);
        free(x);
    }
    printf("\nNAB normalised score on these %d files (null 0, perfect 100):\n", NAB_REF_N_FILES);
    printf("  %-22s %14s %14s\n", "profile", "LSTM AE", "rolling z");
    for (p = 0; p < 3; p++) {
        an_nab_result a, b;
        an_nab_profile prof = an_nab_profile_get((an_nab_profile_id)p);
        if (an_nab_evaluate(lstm, NAB_REF_N_FILES, prof, NULL, &a) != AN_OK ||
            an_nab_evaluate(base, NAB_REF_N_FILES, prof, NULL, &b) != AN_OK) return 1;
        printf("  %-22s %8.1f (%.3f) %8.1f (%.3f)   (threshold)\n",
               p == 0 ? "standard" : (p == 1 ? "reward low FP" : "reward low FN"), a.normalized, a.threshold,
               b.normalized, b.threshold);
    }
    for (f = 0; f < NAB_REF_N_FILES; f++) { free(scores[f]); free(windows[f]); }
    return 0;
}
