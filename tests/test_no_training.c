/* test_no_training.c - ANOMALY_NO_TRAINING: a load-and-score build reads
   the model files the full build writes and scores them bit for bit as
   the full build does; fit, save and gradient return AN_ERR_UNSUPPORTED.

   Two translation units, each with a private copy of the library
   (ANOMALY_STATIC): UNIT=1 is the full build, which fits each detector,
   saves it, loads the file back and scores it (the oracle); UNIT=2 is
   built with ANOMALY_NO_TRAINING and runs the checks.  UNIT=3 runs them
   too, with ANOMALY_LSTM_LOAD_IN_PLACE as well (firmware's build): its
   LSTM models read their weights in the file's bytes, step by step, and
   must still score as the oracle's copied, batched model did, bit for
   bit (both on the scalar path: no -m flags for a SIMD one); a file at
   an odd address is loaded by copy, with the same scores.  tests/run.sh
   builds and runs both with gcc and clang:

     cc -std=c99 -DUNIT=1 -c tests/test_no_training.c -o u1.o
     cc -std=c99 -DUNIT=2 -c tests/test_no_training.c -o u2.o
     cc u1.o u2.o -lm && ./a.out
     cc -std=c99 -DUNIT=3 -c tests/test_no_training.c -o u3.o
     cc u1.o u3.o -lm && ./a.out */
#define ANOMALY_STATIC
#if UNIT == 2 || UNIT == 3
#define ANOMALY_NO_TRAINING
#endif
#if UNIT == 3
#define ANOMALY_LSTM_LOAD_IN_PLACE 1
#endif
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD 24
#define ROWS (12 * PERIOD)
#define TRAIN (8 * PERIOD)
#define KINDS 5

/* Both units' view of the full build's results for one kind. */
typedef struct full_result {
    unsigned char *file;    /* the model file (malloc'ed) */
    size_t size;
    float push[ROWS];       /* the loaded model's scores, streamed */
    float score[ROWS];      /* and in one batch call */
} full_result;

int full_model(int kind, const float *x, full_result *out);

#if UNIT == 1

static an_detector *full_create(int kind)
{
    an_detector *d = NULL, *ae = NULL;
    an_stl_iqr_config sc = an_stl_iqr_config_init(PERIOD);
    an_hybrid_config hc = an_hybrid_config_init(PERIOD);
    an_lstm_config lc = an_lstm_ae_config_init(16, 8);
    an_vae_config vc = an_vae_config_init(16, 8, 2);
    lc.train.epochs = 2;
    vc.train.epochs = 2;
    switch (kind) {
    case 0: an_stl_iqr_create(&sc, 1, NULL, &d); break;
    case 1: an_lstm_ae_create(&lc, 1, NULL, &d); break;
    case 2: lc = an_lstm_forecaster_config_init(16, 8, 1); lc.train.epochs = 2; an_lstm_forecaster_create(&lc, 1, NULL, &d); break;
    case 3: an_vae_create(&vc, 1, NULL, &d); break;
    default:
        if (an_lstm_ae_create(&lc, 1, NULL, &ae) == AN_OK && an_hybrid_create(&hc, 1, ae, NULL, &d) != AN_OK)
            an_detector_destroy(ae);
    }
    return d;
}

int full_model(int kind, const float *x, full_result *out)
{
    an_detector *d = full_create(kind), *l = NULL;
    const an_detector_vtable *types[16];
    size_t n_stats, n_lstm, t;
    const an_detector_vtable *const *st = an_stats_types(&n_stats), *const *lt = an_lstm_types(&n_lstm);
    an_writer w;
    an_reader r;
    const void *data;
    int ok;
    memcpy(types, st, n_stats * sizeof *types);
    memcpy(types + n_stats, lt, n_lstm * sizeof *types);
    out->file = NULL;
    ok = d && an_detector_fit(d, x, TRAIN) == AN_OK && an_writer_init(&w, NULL) == AN_OK;
    if (ok) {
        ok = an_detector_save(d, &w) == AN_OK && an_writer_finish(&w, &data, &out->size) == AN_OK &&
             (out->file = (unsigned char *)malloc(out->size)) != NULL;
        if (ok) memcpy(out->file, data, out->size);
        an_writer_uninit(&w);
    }
    ok = ok && an_model_open(&r, out->file, out->size) == AN_OK &&
         an_detector_load(&r, types, n_stats + n_lstm, NULL, &l) == AN_OK &&
         an_detector_score(l, x, ROWS, out->score) == AN_OK && an_detector_reset(l) == AN_OK;
    for (t = 0; ok && t < ROWS; t++) ok = an_detector_push(l, x + t, out->push + t) == AN_OK;
    an_detector_destroy(l);
    an_detector_destroy(d);
    return ok;
}

#else

#include "test.h"

static const char *const kind_name[KINDS] = { "stl-iqr", "lstm-autoencoder", "lstm-forecaster", "vae", "hybrid" };

/* The model in file (size bytes at any address) loaded: its scores, in
   one batch and streamed, are full's bit for bit. */
static void check_scores(const unsigned char *file, size_t size, const full_result *full, const float *x)
{
    const an_detector_vtable *types[16];
    size_t n_stats, n_lstm, t, same_push = 0;
    const an_detector_vtable *const *st = an_stats_types(&n_stats), *const *lt = an_lstm_types(&n_lstm);
    an_detector *d = NULL;
    an_reader r;
    float score[ROWS], push[ROWS];
    memcpy(types, st, n_stats * sizeof *types);
    memcpy(types + n_stats, lt, n_lstm * sizeof *types);
    CHECK_OK(an_model_open(&r, file, size));
    CHECK_OK(an_detector_load(&r, types, n_stats + n_lstm, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_score(d, x, ROWS, score));
    CHECK(memcmp(score, full->score, sizeof score) == 0);
    for (t = 0; t < ROWS; t++) {
        if (an_detector_push(d, x + t, push + t) != AN_OK) break;
        same_push += memcmp(push + t, full->push + t, sizeof(float)) == 0;
    }
    CHECK_EQ_SIZE(same_push, ROWS);
    an_detector_destroy(d);
}

/* An LSTM model loaded in place (UNIT 3): its parameters are the file's
   bytes, and training is refused with the model left loaded. */
static void check_in_place(an_detector *d, const full_result *full, const float *x)
{
    float *params = NULL;
    size_t n = 0;
    unsigned char *odd;
    CHECK_OK(an_lstm_param_view(d, "params", &params, &n));
    CHECK((const unsigned char *)params > full->file &&
          (const unsigned char *)(params + n) <= full->file + full->size);
    CHECK_RESULT(an_lstm_fit(d, x, TRAIN, NULL), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_lstm_update(d, x, TRAIN, NULL), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_lstm_set_dropout(d, AN_LSTM_DROPOUT_FRESH), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_lstm_param_view(d, "grads", &params, &n), AN_ERR_UNSUPPORTED);
    CHECK(d->fitted);
    /* at an odd address the floats cannot be read in place: copied */
    odd = (unsigned char *)malloc(full->size + 1);
    CHECK(odd != NULL);
    if (!odd) return;
    memcpy(odd + 1, full->file, full->size);
    check_scores(odd + 1, full->size, full, x);
    free(odd);
}

/* The full build's file, loaded here: the same scores, bit for bit; no
   fit, save or gradient, and a failed fit leaves the model loaded. */
static void check_kind(int kind, const float *x)
{
    full_result *full = (full_result *)malloc(sizeof *full);
    const an_detector_vtable *types[16];
    size_t n_stats, n_lstm, t, same_push = 0;
    const an_detector_vtable *const *st = an_stats_types(&n_stats), *const *lt = an_lstm_types(&n_lstm);
    an_detector *d = NULL;
    an_writer w;
    an_reader r;
    float score[ROWS], push[ROWS], grad[ROWS];
    CHECK(full != NULL);
    if (!full) return;
    memcpy(types, st, n_stats * sizeof *types);
    memcpy(types + n_stats, lt, n_lstm * sizeof *types);
    CHECK(full_model(kind, x, full));
    if (!full->file) { free(full); return; }
    CHECK_OK(an_model_open(&r, full->file, full->size));
    CHECK_OK(an_detector_load(&r, types, n_stats + n_lstm, NULL, &d));
    if (d) {
        CHECK(strcmp(d->vt->name, kind_name[kind]) == 0);
        CHECK(d->vt->fit == NULL && d->vt->save == NULL && d->vt->gradient == NULL && d->vt->gradient_batch == NULL);
        CHECK_RESULT(an_detector_fit(d, x, TRAIN), AN_ERR_UNSUPPORTED);
        CHECK(d->fitted);
        CHECK_OK(an_writer_init(&w, NULL));
        CHECK_RESULT(an_detector_save(d, &w), AN_ERR_UNSUPPORTED);
        an_writer_uninit(&w);
        CHECK_RESULT(an_detector_gradient(d, x, ROWS, ROWS - 1, grad), AN_ERR_UNSUPPORTED);
        CHECK_RESULT(an_detector_gradient_batch(d, x, 1, ROWS, ROWS - 1, grad), AN_ERR_UNSUPPORTED);
        CHECK_OK(an_detector_score(d, x, ROWS, score));
        CHECK(memcmp(score, full->score, sizeof score) == 0);
        CHECK_OK(an_detector_reset(d));
        for (t = 0; t < ROWS; t++) {
            if (an_detector_push(d, x + t, push + t) != AN_OK) break;
            same_push += memcmp(push + t, full->push + t, sizeof(float)) == 0;
        }
        CHECK_EQ_SIZE(same_push, ROWS);
        for (t = 0; t < ROWS && !isfinite(full->push[t]); t++) {}
        CHECK(t < ROWS);   /* some real scores were compared */
        if (UNIT == 3 && (kind == 1 || kind == 2)) check_in_place(d, full, x);
        an_detector_destroy(d);
    }
    free(full->file);
    free(full);
}

static float series[ROWS];

static void test_stl_iqr(void) { check_kind(0, series); }
static void test_lstm_autoencoder(void) { check_kind(1, series); }
static void test_lstm_forecaster(void) { check_kind(2, series); }
static void test_vae(void) { check_kind(3, series); }
static void test_hybrid(void) { check_kind(4, series); }

/* The ensemble's own fit and save are left out too; a detector made in
   this build (not loaded) is not fitted and cannot be. */
static void test_created(void)
{
    an_stl_iqr_config sc = an_stl_iqr_config_init(PERIOD);
    an_detector *d = NULL;
    float s;
    CHECK(an_ensemble_type()->fit == NULL && an_ensemble_type()->save == NULL);
    CHECK_OK(an_stl_iqr_create(&sc, 1, NULL, &d));
    if (!d) return;
    CHECK_RESULT(an_detector_fit(d, series, TRAIN), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_detector_push(d, series, &s), AN_ERR_NOT_FITTED);
    an_detector_destroy(d);
}

int main(void)
{
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, 16, 0);
    for (i = 0; i < ROWS; i++)
        series[i] = (float)(20 + 4 * sin(6.283185307179586 * (double)(i % PERIOD) / PERIOD) +
                            0.3 * an_rng_normal(&rng) + (i == 250 ? 5 : 0));
    RUN(test_stl_iqr);
    RUN(test_lstm_autoencoder);
    RUN(test_lstm_forecaster);
    RUN(test_vae);
    RUN(test_hybrid);
    RUN(test_created);
    return test_finish(UNIT == 3 ? "no_training_in_place" : "no_training");
}

#endif
