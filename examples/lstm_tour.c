/* examples/lstm_tour.c - train an LSTM autoencoder on a normal series,
   score a series with injected anomalies, save the model, load it back
   and check that it scores the same.  Build: make build/lstm_tour. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N 2000

static int progress(void *user, const an_lstm_progress *p)
{
    (void)user;
    printf("  epoch %2zu/%zu  loss %.5f  val %.5f%s\n", p->epoch, p->epochs, p->loss, p->val_loss,
           p->improved ? "  (best)" : "");
    return 0;   /* non-zero would cancel */
}

int main(void)
{
    static float train[N], test[N], score[N], again[N];
    an_lstm_config c;
    an_detector *d = NULL, *loaded = NULL;
    const an_detector_vtable *types[1];
    an_writer w;
    an_reader r;
    const void *file;
    size_t size, i, top = 0, inference, training;
    an_rng rng;
    an_result res;

    an_rng_seed(&rng, 7, 0);   /* a daily cycle (period 48) with noise */
    for (i = 0; i < N; i++) {
        train[i] = (float)(10.0 + 3.0 * sin(2.0 * 3.14159265 * (double)i / 48.0) + 0.2 * an_rng_normal(&rng));
        test[i] = (float)(10.0 + 3.0 * sin(2.0 * 3.14159265 * (double)i / 48.0) + 0.2 * an_rng_normal(&rng));
    }
    test[1200] += 6.0f;                                  /* a spike        */
    for (i = 1500; i < 1530; i++) test[i] -= 4.0f;       /* a level drop   */

    c = an_lstm_ae_config_init(48, 32);      /* window 48, 32 units */
    c.train.epochs = 15;
    c.train.stride = 4;
    c.train.adam.lr = 5e-3;
    c.train.progress = progress;
    an_lstm_ae_memory(&c, 1, &inference, &training);   /* 1 feature */
    printf("LSTM autoencoder: %zu bytes to score, %zu more to train (SIMD %s)\n", inference, training,
           an_simd_name(an_simd_path()));

    if ((res = an_lstm_ae_create(&c, 1, NULL, &d)) != AN_OK ||
        (res = an_detector_fit(d, train, N)) != AN_OK ||          /* scaler + training */
        (res = an_detector_score(d, test, N, score)) != AN_OK) {  /* one score per row */
        printf("failed: %s\n", an_result_str(res));
        return 1;
    }
    for (i = 0; i < N; i++)
        if (score[i] > score[top]) top = i;
    printf("highest score %.3f at row %zu (spike at 1200, drop over 1500-1529); row 100 scores %.4f\n",
           score[top], top, score[100]);

    /* save to memory (an_file_write would put it on disk), load, rescore */
    an_writer_init(&w, NULL);
    an_detector_save(d, &w);
    if ((res = an_writer_finish(&w, &file, &size)) != AN_OK) { printf("save: %s\n", an_result_str(res)); return 1; }
    types[0] = an_lstm_ae_type();
    if ((res = an_model_open(&r, file, size)) != AN_OK ||
        (res = an_detector_load(&r, types, 1, NULL, &loaded)) != AN_OK ||
        (res = an_detector_score(loaded, test, N, again)) != AN_OK) {
        printf("load: %s\n", an_result_str(res));
        return 1;
    }
    printf("model file %zu bytes; the loaded model scores %s\n", size,
           /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c): the bits are the claim */
           memcmp(score, again, sizeof score) == 0 ? "bit for bit the same" : "DIFFERENTLY");
    an_writer_uninit(&w);
    an_detector_destroy(loaded);
    an_detector_destroy(d);
    return 0;
}
