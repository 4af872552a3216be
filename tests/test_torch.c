/* test_torch.c - PyTorch in and out (tools/torch_model.py).
   In: tests/fixtures/torch_model.h holds a model file the script wrote
   from a PyTorch autoencoder (two layers, a latent layer, a standard
   scaler), windows, and PyTorch's reconstruction and errors of them: the
   file must load and give the same outputs within 1e-5 relative.
   Out: a model trained here is saved with windows and its errors to the
   scratch directory, where tests/test_torch.sh has the script load it into
   PyTorch, compare, and write it back byte for byte (where torch is). */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"
#include "test.h"
#include "fixtures/torch_model.h"

/* |a - b| within 1e-5 of |b| (of 1e-3 for values near 0). */
static int close_rel(float a, float b)
{
    double scale = fabs((double)b) > 1e-3 ? fabs((double)b) : 1e-3;
    return fabs((double)a - (double)b) <= 1e-5 * scale;
}

static void test_torch_model_loads_and_agrees(void)
{
    size_t n_types, i, b, bad = 0;
    const an_detector_vtable *const *types = an_lstm_types(&n_types);
    float out[TORCH_B * TORCH_T * TORCH_F], err[TORCH_T * TORCH_F];
    an_reader r;
    an_detector *d = NULL;
    CHECK_OK(an_model_open(&r, torch_model, sizeof torch_model));
    CHECK_OK(an_detector_load(&r, types, n_types, NULL, &d));
    if (!d) return;
    CHECK_OK(an_lstm_output(d, torch_scaled, TORCH_B, out));
    for (i = 0; i < TORCH_B * TORCH_T * TORCH_F; i++) bad += !close_rel(out[i], torch_output[i]);
    CHECK_EQ_SIZE(bad, 0);
    for (b = 0; b < TORCH_B; b++) {   /* raw windows through the file's scaler: the errors PyTorch gave */
        CHECK_OK(an_lstm_errors(d, torch_raw + b * TORCH_T * TORCH_F, TORCH_T, 0, 1, err));
        for (i = 0; i < TORCH_T * TORCH_F; i++) bad += !close_rel(err[i], torch_errors[b * TORCH_T * TORCH_F + i]);
    }
    CHECK_EQ_SIZE(bad, 0);
    an_detector_destroy(d);
}

/* A model trained here, for tools/torch_model.py check (test_torch.sh). */
static void test_torch_c_model_written(void)
{
    enum { N = 300, F = 2, T = 6, B = 3 };
    an_lstm_config c = an_lstm_ae_config_init(T, 5);
    float x[N * F], err[B * T * F];
    char path[512];
    an_writer w;
    const void *data;
    size_t size, i;
    an_detector *d = NULL;
    FILE *f;
    for (i = 0; i < N; i++) {
        x[i * F] = (float)(5 + 2 * sin(0.3 * (double)i));
        x[i * F + 1] = (float)(-1 + cos(0.17 * (double)i));
    }
    c.n_layers = 2;
    c.units[1] = 3;
    c.latent = 2;
    c.train.epochs = 2;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_file_write(test_scratch(path, sizeof path, "torch_c_model.anom"), data, size));
    an_writer_uninit(&w);
    CHECK_OK(an_lstm_errors(d, x, N, 40, B, err));         /* the windows starting at rows 40, 41, 42 */
    CHECK((f = fopen(test_scratch(path, sizeof path, "torch_c_outputs.txt"), "w")) != NULL);
    if (f) {
        size_t b, t;
        fprintf(f, "%d %d %d\n", B, T, F);
        for (b = 0; b < B; b++)
            for (t = 0; t < T * F; t++) fprintf(f, "%.9g\n", x[(40 + b) * F + t]);
        for (i = 0; i < B * T * F; i++) fprintf(f, "%.9g\n", err[i]);
        CHECK(fclose(f) == 0);
    }
    an_detector_destroy(d);
}

int main(void)
{
    RUN(test_torch_model_loads_and_agrees);
    RUN(test_torch_c_model_written);
    return test_finish("test_torch");
}
