/* determinism.c - trains the hybrid (STL + IQR and an LSTM autoencoder),
   an LSTM forecaster and an isolation forest with fixed seeds on a fixed
   series and writes their model files, one after the other, to FILE.
   tests/test_determinism.sh builds it with gcc and clang at -O0 and -O2
   on the scalar path (-ffp-contract=off) and requires one file from all. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"

#include <stdio.h>

enum { N = 600 };

static int save(an_detector *d, FILE *f)
{
    an_writer w;
    const void *data;
    size_t size;
    int ok = an_writer_init(&w, NULL) == AN_OK && an_detector_save(d, &w) == AN_OK &&
             an_writer_finish(&w, &data, &size) == AN_OK && fwrite(data, 1, size, f) == size;
    an_writer_uninit(&w);
    an_detector_destroy(d);
    return ok;
}

int main(int argc, char **argv)
{
    static float x[N];
    an_rng rng;
    an_detector *lstm = NULL, *d[3] = { NULL, NULL, NULL };
    an_lstm_config ae = an_lstm_ae_config_init(24, 16), fc = an_lstm_forecaster_config_init(24, 16, 1);
    an_hybrid_config hc = an_hybrid_config_init(24);
    an_iforest_config ic = an_iforest_config_init(3);
    FILE *f;
    size_t i;
    int k, ok = 1;
    if (argc != 2 || !(f = fopen(argv[1], "wb"))) { fprintf(stderr, "usage: determinism FILE\n"); return 2; }
    an_rng_seed(&rng, 11, 0);
    for (i = 0; i < N; i++)
        x[i] = (float)(5.0 + 2.0 * sin(2.0 * 3.14159265358979 * (double)i / 24.0) + 0.2 * an_rng_normal(&rng));
    ae.window_agg = AN_AGG_LAST;
    ae.train.epochs = fc.train.epochs = 3;
    ok &= an_lstm_ae_create(&ae, 1, NULL, &lstm) == AN_OK && an_hybrid_create(&hc, 1, lstm, NULL, &d[0]) == AN_OK;
    ok &= an_lstm_forecaster_create(&fc, 1, NULL, &d[1]) == AN_OK;
    ok &= an_iforest_create(&ic, 1, NULL, &d[2]) == AN_OK;
    for (k = 0; k < 3 && ok; k++) ok &= an_detector_fit(d[k], x, N) == AN_OK && save(d[k], f);
    ok &= fclose(f) == 0;
    if (!ok) fprintf(stderr, "determinism: a fit or a save failed\n");
    return ok ? 0 : 1;
}
