/* train.c - the host half of `make firmware`: makes the series the
   firmware streams, fits the detector the firmware runs on its first
   TRAIN rows, and writes both as a C header (model file bytes and input
   series) for firmware/stream.c to embed.

     build/firmware/train stl|ae|ensemble OUT.h

   stl       STL + IQR, period 24
   ae        an LSTM autoencoder, H = 16 units, window 32
   ensemble  the default hybrid: STL + IQR with that autoencoder

   The series: 30 days of hourly readings, a daily cycle with noise, a
   spike at row 600 and a level shift over rows 650-669. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include <stdio.h>
#include <string.h>

#define PERIOD 24
#define ROWS (30 * PERIOD)
#define TRAIN (20 * PERIOD)

static an_detector *autoencoder(void)
{
    an_lstm_config c = an_lstm_ae_config_init(32, 16);
    an_detector *d;
    c.window_agg = AN_AGG_LAST;     /* causal: a row is scored by the window ending at it */
    c.train.epochs = 10;
    c.train.adam.lr = 3e-3;
    return an_lstm_ae_create(&c, 1, NULL, &d) == AN_OK ? d : NULL;
}

int main(int argc, char **argv)
{
    float x[ROWS];
    an_stl_iqr_config sc = an_stl_iqr_config_init(PERIOD);
    an_hybrid_config hc = an_hybrid_config_init(PERIOD);
    an_detector *d = NULL;
    an_writer w;
    an_rng rng;
    const void *data;
    size_t size, i;
    FILE *out;

    if (argc != 3) {
        fprintf(stderr, "usage: train stl|ae|ensemble OUT.h\n");
        return 2;
    }
    an_rng_seed(&rng, 24, 0);
    for (i = 0; i < ROWS; i++)
        x[i] = (float)(20 + 4 * sin(6.283185307179586 * (double)(i % PERIOD) / PERIOD) + 0.3 * an_rng_normal(&rng) +
                       (i == 600 ? 5 : 0) + (i >= 650 && i < 670 ? 3 : 0));
    if (!strcmp(argv[1], "stl")) an_stl_iqr_create(&sc, 1, NULL, &d);
    else if (!strcmp(argv[1], "ae")) d = autoencoder();
    else if (!strcmp(argv[1], "ensemble")) an_hybrid_create(&hc, 1, autoencoder(), NULL, &d);
    if (!d || an_detector_fit(d, x, TRAIN) != AN_OK || an_writer_init(&w, NULL) != AN_OK ||
        an_detector_save(d, &w) != AN_OK || an_writer_finish(&w, &data, &size) != AN_OK) {
        fprintf(stderr, "train %s: failed\n", argv[1]);
        return 1;
    }
    if (!(out = fopen(argv[2], "w"))) {
        perror(argv[2]);
        return 1;
    }
    fprintf(out, "/* made by firmware/train.c (%s): a model file and the series to stream */\n", argv[1]);
    /* aligned: the board reads the weights in place (ANOMALY_LSTM_LOAD_IN_PLACE) */
    fprintf(out, "#define FW_ROWS %d\nstatic const unsigned char fw_model[%zu] __attribute__((aligned(8))) = {", ROWS,
            size);
    for (i = 0; i < size; i++) fprintf(out, "%s%u,", i % 20 ? "" : "\n", ((const unsigned char *)data)[i]);
    fprintf(out, "\n};\nstatic const float fw_series[FW_ROWS] = {");
    for (i = 0; i < ROWS; i++) fprintf(out, "%s%.9gf,", i % 8 ? " " : "\n", x[i]);
    fprintf(out, "\n};\n");
    an_writer_uninit(&w);
    an_detector_destroy(d);
    return fclose(out) ? 1 : 0;
}
