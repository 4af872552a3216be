/* determinism.c - trains the hybrid (STL + IQR and an LSTM autoencoder),
   an LSTM forecaster and an isolation forest with fixed seeds on a fixed
   series and writes their model files, one after the other, to FILE; with
   SCORES, also each model's scores of the series (one "%.9g" line per
   row, model after model).  `determinism --load FILE SCORES` loads the
   three models of a FILE written by any build and writes their scores.
   tests/test_determinism.sh builds it with gcc and clang at -O0 and -O2
   on the scalar path (-ffp-contract=off) and requires one file from all;
   then on each SIMD path the CPU has, and checks those paths' scores
   against the scalar path's within the tolerances it states. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"

#include <stdio.h>
#include <string.h>

enum { N = 600, MODELS = 3 };

static int save(const an_detector *d, FILE *f)
{
    an_writer w;
    const void *data;
    size_t size;
    int ok = an_writer_init(&w, NULL) == AN_OK && an_detector_save(d, &w) == AN_OK &&
             an_writer_finish(&w, &data, &size) == AN_OK && fwrite(data, 1, size, f) == size;
    an_writer_uninit(&w);
    return ok;
}

static int write_scores(an_detector *d, const float *x, FILE *f)
{
    static float s[N];
    size_t i;
    if (an_detector_score(d, x, N, s) != AN_OK) return 0;
    for (i = 0; i < N; i++)
        if (fprintf(f, "%.9g\n", (double)s[i]) < 0) return 0;
    return 1;
}

/* The three models of a file that main wrote, each scored. */
static int load_and_score(const char *path, const float *x, FILE *out)
{
    const an_detector_vtable *types[16];
    size_t n_stats, n_lstm, n, size, at = 0, i;
    const an_detector_vtable *const *stats = an_stats_types(&n_stats), *const *lstm = an_lstm_types(&n_lstm);
    void *data;
    int k, ok = 1;
    for (n = 0; n < n_stats + n_lstm && n < 16; n++) types[n] = n < n_stats ? stats[n] : lstm[n - n_stats];
    if (an_file_read(path, NULL, &data, &size) != AN_OK) return 0;
    for (k = 0; k < MODELS && ok; k++) {
        const unsigned char *b = (const unsigned char *)data + at;
        uint64_t total = 0;
        an_reader r;
        an_detector *d = NULL;
        if (size - at < AN_MODEL_HEADER_BYTES) { ok = 0; break; }
        for (i = 0; i < 8; i++) total |= (uint64_t)b[16 + i] << (8 * i);   /* the header's file size */
        if (total > size - at) { ok = 0; break; }
        ok = an_model_open(&r, b, (size_t)total) == AN_OK && an_detector_load(&r, types, n, NULL, &d) == AN_OK &&
             write_scores(d, x, out);
        an_detector_destroy(d);
        at += (size_t)total;
    }
    an_free(NULL, data, size);
    return ok && at == size;
}

int main(int argc, char **argv)
{
    static float x[N];
    an_rng rng;
    an_detector *lstm = NULL, *d[MODELS] = { NULL, NULL, NULL };
    an_lstm_config ae = an_lstm_ae_config_init(24, 16), fc = an_lstm_forecaster_config_init(24, 16, 1);
    an_hybrid_config hc = an_hybrid_config_init(24);
    an_iforest_config ic = an_iforest_config_init(3);
    FILE *f, *scores = NULL;
    size_t i;
    int k, ok = 1;
    an_rng_seed(&rng, 11, 0);
    for (i = 0; i < N; i++)
        x[i] = (float)(5.0 + 2.0 * sin(2.0 * 3.14159265358979 * (double)i / 24.0) + 0.2 * an_rng_normal(&rng));
    if (argc == 4 && strcmp(argv[1], "--load") == 0) {
        if (!(scores = fopen(argv[3], "w"))) return 2;
        ok = load_and_score(argv[2], x, scores);
        ok &= fclose(scores) == 0;
        if (!ok) fprintf(stderr, "determinism: %s: cannot load and score its models\n", argv[2]);
        return ok ? 0 : 1;
    }
    if ((argc != 2 && argc != 3) || !(f = fopen(argv[1], "wb")) || (argc == 3 && !(scores = fopen(argv[2], "w")))) {
        fprintf(stderr, "usage: determinism FILE [SCORES] | determinism --load FILE SCORES\n");
        return 2;
    }
    ae.window_agg = AN_AGG_LAST;
    ae.train.epochs = fc.train.epochs = 3;
    ok &= an_lstm_ae_create(&ae, 1, NULL, &lstm) == AN_OK && an_hybrid_create(&hc, 1, lstm, NULL, &d[0]) == AN_OK;
    ok &= an_lstm_forecaster_create(&fc, 1, NULL, &d[1]) == AN_OK;
    ok &= an_iforest_create(&ic, 1, NULL, &d[2]) == AN_OK;
    for (k = 0; k < MODELS && ok; k++) {
        ok &= an_detector_fit(d[k], x, N) == AN_OK && save(d[k], f);
        if (ok && scores) ok &= write_scores(d[k], x, scores);
    }
    for (k = 0; k < MODELS; k++) an_detector_destroy(d[k]);
    ok &= fclose(f) == 0;
    if (scores) ok &= fclose(scores) == 0;
    if (!ok) fprintf(stderr, "determinism: a fit, a score or a save failed\n");
    return ok ? 0 : 1;
}
