/* test_byteorder.c - model files are little-endian by contract, whatever
   the machine.  tests/fixtures/byteorder/ holds one model file of each
   of thirteen detector kinds (fitted on 320 rows, then streamed over 480,
   so the stream state is in the file) and the scores the loaded model
   gives as it streams the series once more, all written on x86-64 by
   `test_byteorder --write DIR` (the scalar build).  On any machine, and
   on a big-endian one above all (make bigendian: s390x under qemu-user):
     - each file loads, and saving the loaded model gives the file again,
       byte for byte;
     - the loaded model's scores equal the recorded ones (to 1e-5
       relative: another libm may round exp and log differently);
     - fitting the same detector here with the same seed writes the same
       bytes (reported; checked for the kinds whose training uses no libm
       call that may round differently, see `exact`). */
/* The API only: the implementation is tests/compile_impl.c, linked beside. */
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "test.h"

#include <stdio.h>

enum { N = 480, FIT = 320, N_KINDS = 13 };

/* The series: a daily cycle, noise, a spike and a shift. */
static void make_series(float *x)
{
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, 17, 0);
    for (i = 0; i < N; i++)
        x[i] = (float)(10.0 + 3.0 * sin(2.0 * 3.14159265358979 * (double)i / 24.0) + 0.3 * an_rng_normal(&rng) +
                       (i == 400 ? 6.0 : 0.0) + (i >= 440 ? 4.0 : 0.0));
}

/* The kinds of tests/test_threads.c. */
static an_result make_detector(int kind, an_detector **d)
{
    *d = NULL;
    switch (kind) {
    case 0: { an_stl_iqr_config c = an_stl_iqr_config_init(24); return an_stl_iqr_create(&c, 1, NULL, d); }
    case 1: { an_robust_config c = an_robust_config_init(AN_ROBUST_MAD, 48); return an_robust_create(&c, 1, NULL, d); }
    case 2: { an_robust_config c = an_robust_config_init(AN_ROBUST_IQR, 0); return an_robust_create(&c, 1, NULL, d); }
    case 3: {                               /* 10 trees of 64 rows: a fixture of 13 KB, not 300 */
        an_iforest_config c = an_iforest_config_init(5);
        c.n_trees = 10;
        c.subsample = 64;
        return an_iforest_create(&c, 1, NULL, d);
    }
    case 4: { an_gesd_config c = an_gesd_config_init(0.05, 0.05); c.capacity = N; return an_gesd_create(&c, 1, NULL, d); }
    case 5: {
        an_shesd_config c = an_shesd_config_init(24, 0.05, 0.05);
        c.capacity = N;
        return an_shesd_create(&c, 1, NULL, d);
    }
    case 6: { an_level_shift_config c = an_level_shift_config_init(12); return an_level_shift_create(&c, 1, NULL, d); }
    case 7: { an_ks_drift_config c = an_ks_drift_config_init(48, AN_KS_TRAINING); return an_ks_drift_create(&c, 1, NULL, d); }
    case 8: { an_stl_runs_config c = an_stl_runs_config_init(24, 12); return an_stl_runs_create(&c, 1, NULL, d); }
    case 9: case 10: {
        an_lstm_config c = kind == 9 ? an_lstm_ae_config_init(16, 8) : an_lstm_forecaster_config_init(16, 8, 1);
        c.train.epochs = 2;
        c.train.stride = 4;
        return kind == 9 ? an_lstm_ae_create(&c, 1, NULL, d) : an_lstm_forecaster_create(&c, 1, NULL, d);
    }
    case 12: {                              /* the hybrid's vote after known-normal training: its 'STOP' chunk */
        an_hybrid_config hc = an_hybrid_config_init(24);
        hc.normal_training = 1;
        return an_hybrid_create(&hc, 1, NULL, NULL, d);
    }
    default: {                              /* the hybrid: STL + IQR and an LSTM autoencoder in an ensemble */
        an_hybrid_config hc = an_hybrid_config_init(24);
        an_lstm_config c = an_lstm_ae_config_init(16, 8);
        an_detector *m = NULL;
        an_result r;
        c.window_agg = AN_AGG_LAST;
        c.train.epochs = 2;
        c.train.stride = 4;
        if ((r = an_lstm_ae_create(&c, 1, NULL, &m)) != AN_OK) return r;
        return an_hybrid_create(&hc, 1, m, NULL, d);
    }
    }
}

static size_t types_of(const an_detector_vtable **types)
{
    size_t n_stats, n_lstm, i;
    const an_detector_vtable *const *stats = an_stats_types(&n_stats), *const *lstm = an_lstm_types(&n_lstm);
    for (i = 0; i < n_stats + n_lstm && i < 16; i++) types[i] = i < n_stats ? stats[i] : lstm[i - n_stats];
    return i;
}

/* The model file of d, into a malloc'ed copy. */
static an_result save_copy(const an_detector *d, void **file, size_t *size)
{
    an_writer w;
    const void *data;
    an_result r;
    *file = NULL;
    *size = 0;
    if ((r = an_writer_init(&w, NULL)) != AN_OK) return r;
    if ((r = an_detector_save(d, &w)) == AN_OK && (r = an_writer_finish(&w, &data, size)) == AN_OK) {
        if ((*file = malloc(*size)) != NULL) memcpy(*file, data, *size);
        else r = AN_ERR_NOMEM;
    }
    an_writer_uninit(&w);
    return r;
}

/* A fitted detector of the kind, streamed over the series: what the
   fixture holds. */
static an_result fitted(int kind, const float *x, an_detector **d)
{
    an_result r;
    float s;
    size_t i;
    if ((r = make_detector(kind, d)) != AN_OK || (r = an_detector_fit(*d, x, FIT)) != AN_OK) return r;
    for (i = 0; i < N && r == AN_OK; i++) r = an_detector_push(*d, x + i, &s);
    return r == AN_ERR_UNSUPPORTED && i == 1 ? AN_OK : r;   /* ESD and S-H-ESD score batches only */
}

/* The loaded model's scores: streamed over the series again, or one
   batch of the FIT rows for the batch-only kinds. */
static an_result scores_of(an_detector *d, const float *x, float *s)
{
    an_result r = AN_OK;
    size_t i;
    for (i = 0; i < N; i++) s[i] = NAN;
    for (i = 0; i < N && r == AN_OK; i++) r = an_detector_push(d, x + i, &s[i]);
    if (r == AN_ERR_UNSUPPORTED && i == 1) r = an_detector_score(d, x, FIT, s);
    return r;
}

static const char *fixture_name(char *buf, size_t size, const char *dir, int kind, const char *ext)
{
    snprintf(buf, size, "%s/kind%02d.%s", dir, kind, ext);
    return buf;
}

/* `--write DIR`: the fixtures, from this machine. */
static int write_fixtures(const char *dir)
{
    static float x[N], s[N];
    const an_detector_vtable *types[16];
    size_t n_types = types_of(types), size, i;
    int kind;
    char path[512];
    make_series(x);
    for (kind = 0; kind < N_KINDS; kind++) {
        an_detector *d = NULL, *back = NULL;
        void *file = NULL;
        an_reader r;
        FILE *f;
        if (fitted(kind, x, &d) != AN_OK || save_copy(d, &file, &size) != AN_OK ||
            an_file_write(fixture_name(path, sizeof path, dir, kind, "anm"), file, size) != AN_OK ||
            an_model_open(&r, file, size) != AN_OK || an_detector_load(&r, types, n_types, NULL, &back) != AN_OK ||
            scores_of(back, x, s) != AN_OK || !(f = fopen(fixture_name(path, sizeof path, dir, kind, "txt"), "w"))) {
            fprintf(stderr, "test_byteorder: kind %d: cannot write its fixture\n", kind);
            return 1;
        }
        for (i = 0; i < N; i++) fprintf(f, "%.9g\n", (double)s[i]);
        if (fclose(f) != 0) return 1;
        printf("kind %2d: %zu bytes\n", kind, size);
        an_detector_destroy(back);
        an_detector_destroy(d);
        free(file);
    }
    return 0;
}

static float x_series[N];

static void test_fixtures_load_and_save_the_same_bytes(void)
{
    const an_detector_vtable *types[16];
    size_t n_types = types_of(types);
    int kind, scores_exact = 0, trained_same = 0;
    char path[512];
    make_series(x_series);
    for (kind = 0; kind < N_KINDS; kind++) {
        void *data = NULL, *again = NULL, *mine = NULL;
        size_t size = 0, size_again = 0, size_mine = 0, i, off = 0;
        an_detector *d = NULL, *own = NULL;
        an_reader r;
        float s[N], want[N];
        FILE *f;
        int ok = 1, exact = 1;
        char name[64];
        CHECK_OK(an_file_read(test_fixture(path, sizeof path, fixture_name(name, sizeof name, "byteorder", kind, "anm")),
                              NULL, &data, &size));
        if (!data) continue;
        CHECK_OK(an_model_open(&r, data, size));
        CHECK_OK(an_detector_load(&r, types, n_types, NULL, &d));
        if (!d) { an_free(NULL, data, size); continue; }
        /* saved again: the same bytes */
        CHECK_OK(save_copy(d, &again, &size_again));
        CHECK_EQ_SIZE(size_again, size);
        if (again && size_again == size) {
            while (off < size && ((unsigned char *)again)[off] == ((unsigned char *)data)[off]) off++;
            if (off != size) TEST__FAIL("kind %d: the re-saved file differs from byte %zu on", kind, off);
        }
        /* scored: the recorded scores */
        CHECK_OK(scores_of(d, x_series, s));
        f = fopen(test_fixture(path, sizeof path, fixture_name(name, sizeof name, "byteorder", kind, "txt")), "r");
        CHECK(f != NULL);
        for (i = 0; f && i < N; i++) {
            double v;
            if (fscanf(f, "%lf", &v) != 1) { ok = 0; break; }   /* NOLINT(cert-err34-c): %.9g text written above */
            want[i] = (float)v;
        }
        if (f) fclose(f);
        CHECK(ok);
        for (i = 0; ok && i < N; i++) {
            int both_nan = s[i] != s[i] && want[i] != want[i];
            if (!both_nan && !(fabs((double)s[i] - (double)want[i]) <= 1e-5 * (1.0 + fabs((double)want[i])))) {
                TEST__FAIL("kind %d row %zu: score %.9g, recorded %.9g", kind, i, (double)s[i], (double)want[i]);
                exact = 0;
                break;
            }
            if (!both_nan && s[i] != want[i]) exact = 0;
        }
        scores_exact += exact;
        /* trained here: the same file? */
        if (fitted(kind, x_series, &own) == AN_OK && save_copy(own, &mine, &size_mine) == AN_OK &&
            size_mine == size && memcmp(mine, data, size) == 0)
            trained_same++;
        else if (kind <= 8)   /* the statistical kinds: sorting, medians, +-x/ only */
            TEST__FAIL("kind %d: fitted on this machine, it writes another file", kind);
        an_detector_destroy(own);
        an_detector_destroy(d);
        free(mine);
        free(again);
        an_free(NULL, data, size);
    }
    printf("  %d of %d kinds score the recorded scores bit for bit, %d of %d train the same file here\n",
           scores_exact, N_KINDS, trained_same, N_KINDS);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0) return write_fixtures(argv[2]);
    const uint32_t one = 1;
    printf("test_byteorder: a %s-endian machine\n", *(const unsigned char *)&one ? "little" : "big");
    RUN(test_fixtures_load_and_save_the_same_bytes);
    return test_finish("test_byteorder");
}
