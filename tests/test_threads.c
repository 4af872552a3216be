/* test_threads.c - detectors of every kind used from several threads at
   once: each thread builds its own detectors, fits them, scores the
   series, streams it row by row, saves each and loads it back, and its
   scores and model files must equal the serial run's bit for bit.  The
   library holds no mutable global state, so nothing is shared; built
   with -fsanitize=thread (make tsan) ThreadSanitizer checks that no
   memory is. */
#define _POSIX_C_SOURCE 200809L
/* The API only: the implementation is tests/compile_impl.c, linked beside. */
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "test.h"

#include <pthread.h>

enum { N = 480, FIT = 320, N_THREADS = 4, N_KINDS = 13 };

/* The series every thread sees: a daily cycle, noise, a spike and a shift. */
static void make_series(float *x)
{
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, 17, 0);
    for (i = 0; i < N; i++)
        x[i] = (float)(10.0 + 3.0 * sin(2.0 * 3.14159265358979 * (double)i / 24.0) + 0.3 * an_rng_normal(&rng) +
                       (i == 400 ? 6.0 : 0.0) + (i >= 440 ? 4.0 : 0.0));
}

static an_result make_detector(int kind, an_detector **d)
{
    *d = NULL;
    switch (kind) {
    case 0: { an_stl_iqr_config c = an_stl_iqr_config_init(24); return an_stl_iqr_create(&c, 1, NULL, d); }
    case 1: { an_robust_config c = an_robust_config_init(AN_ROBUST_MAD, 48); return an_robust_create(&c, 1, NULL, d); }
    case 2: { an_robust_config c = an_robust_config_init(AN_ROBUST_IQR, 0); return an_robust_create(&c, 1, NULL, d); }
    case 3: { an_iforest_config c = an_iforest_config_init(5); return an_iforest_create(&c, 1, NULL, d); }
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
    case 11: {
        an_vae_config c = an_vae_config_init(16, 8, 2);
        c.arch = AN_VAE_LSTM;
        c.train.epochs = 2;
        c.train.stride = 4;
        return an_vae_create(&c, 1, NULL, d);
    }
    default: {                              /* the hybrid: STL + IQR and an LSTM autoencoder in an ensemble */
        an_hybrid_config hc = an_hybrid_config_init(24);
        an_lstm_config c = an_lstm_ae_config_init(16, 8);
        an_detector *m = NULL;
        an_result r;
        c.window_agg = AN_AGG_LAST;             /* as the anomaly command: a row is scored by the window ending at it */
        c.train.epochs = 2;
        c.train.stride = 4;
        if ((r = an_lstm_ae_create(&c, 1, NULL, &m)) != AN_OK) return r;
        return an_hybrid_create(&hc, 1, m, NULL, d);
    }
    }
}

/* What one run of one kind gives: the batch scores of the FIT training
   rows (an ensemble scores at most as many rows as it fitted), the
   streamed scores of all N, the saved file, and the loaded copy's scores
   as it streams the series again (batch ones for the batch-only ESDs). */
typedef struct outcome {
    an_result status;
    float batch[N], pushed[N], reloaded[N];
    void *file;
    size_t size;
} outcome;

static void run_kind(int kind, const float *x, outcome *o)
{
    an_detector *d = NULL, *back = NULL;
    an_writer w;
    an_reader r;
    const void *data;
    const an_detector_vtable *types[16];
    size_t i, n_stats, n_lstm;
    const an_detector_vtable *const *stats = an_stats_types(&n_stats), *const *lstm = an_lstm_types(&n_lstm);
    an_result res;
    memset(o, 0, sizeof *o);
    memcpy(types, stats, n_stats * sizeof *types);
    memcpy(types + n_stats, lstm, n_lstm * sizeof *types);
    if ((res = make_detector(kind, &d)) != AN_OK || (res = an_detector_fit(d, x, FIT)) != AN_OK ||
        (res = an_detector_score(d, x, FIT, o->batch)) != AN_OK) {
        o->status = res;
        an_detector_destroy(d);
        return;
    }
    for (i = 0; i < N && res == AN_OK; i++) res = an_detector_push(d, x + i, &o->pushed[i]);
    if (res == AN_ERR_UNSUPPORTED && i == 1) res = AN_OK;     /* ESD and S-H-ESD score batches only */
    if (res == AN_OK && (res = an_writer_init(&w, NULL)) == AN_OK) {
        if ((res = an_detector_save(d, &w)) == AN_OK && (res = an_writer_finish(&w, &data, &o->size)) == AN_OK) {
            o->file = malloc(o->size);
            if (o->file) memcpy(o->file, data, o->size);
        }
        an_writer_uninit(&w);
    }
    if (res == AN_OK && o->file && (res = an_model_open(&r, o->file, o->size)) == AN_OK &&
        (res = an_detector_load(&r, types, n_stats + n_lstm, NULL, &back)) == AN_OK) {
        for (i = 0; i < N && res == AN_OK; i++) res = an_detector_push(back, x + i, &o->reloaded[i]);   /* goes on */
        if (res == AN_ERR_UNSUPPORTED && i == 1) res = an_detector_score(back, x, FIT, o->reloaded);
    }
    o->status = res;
    an_detector_destroy(back);
    an_detector_destroy(d);
}

typedef struct job { const float *x; outcome out[N_KINDS]; } job;

static void *thread_main(void *arg)
{
    job *j = (job *)arg;
    int k;
    for (k = 0; k < N_KINDS; k++) run_kind(k, j->x, &j->out[k]);
    return NULL;
}

static int same(const outcome *a, const outcome *b)
{
    return a->status == b->status && memcmp(a->batch, b->batch, sizeof a->batch) == 0 &&
           memcmp(a->pushed, b->pushed, sizeof a->pushed) == 0 && memcmp(a->reloaded, b->reloaded, sizeof a->reloaded) == 0 &&
           a->size == b->size && (a->size == 0 || memcmp(a->file, b->file, a->size) == 0);
}

static void test_threads_match_serial(void)
{
    static float x[N];
    static job serial, jobs[N_THREADS];
    pthread_t tid[N_THREADS];
    int t, k;
    make_series(x);
    serial.x = x;
    thread_main(&serial);
    for (k = 0; k < N_KINDS; k++) {
        CHECK_RESULT(serial.out[k].status, AN_OK);
        CHECK(serial.out[k].size > 0);
    }
    for (t = 0; t < N_THREADS; t++) {
        jobs[t].x = x;
        CHECK(pthread_create(&tid[t], NULL, thread_main, &jobs[t]) == 0);
    }
    for (t = 0; t < N_THREADS; t++) CHECK(pthread_join(tid[t], NULL) == 0);
    for (t = 0; t < N_THREADS; t++)
        for (k = 0; k < N_KINDS; k++) {
            if (!same(&jobs[t].out[k], &serial.out[k])) TEST__FAIL("thread %d, kind %d: not the serial run's bits", t, k);
            test__checks++;
            free(jobs[t].out[k].file);
        }
    for (k = 0; k < N_KINDS; k++) free(serial.out[k].file);
}

int main(void)
{
    RUN(test_threads_match_serial);
    return test_finish("test_threads");
}
