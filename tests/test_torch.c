/* test_torch.c - PyTorch in and out (tools/torch_model.py).
   In: tests/fixtures/torch_model.h holds model files the script wrote
   from PyTorch models, with inputs and PyTorch's outputs for them: an
   autoencoder (two layers, a latent layer, a standard scaler: windows,
   reconstruction, errors), a forecaster (two layers, 3 predictions: a
   series, the predictions of its windows and its row scores) and a
   classifier (3 classes: a series, the logits of its windows and its row
   scores).  Each file must load and give the same outputs and scores
   within 1e-5 relative.
   Out: an autoencoder and a forecaster trained here are saved with
   windows and their errors to the scratch directory, where
   tests/test_torch.sh has the script load them into PyTorch, compare, and
   write them back byte for byte (where torch is). */
/* The API only: the implementation is tests/compile_impl.c, linked beside. */
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

/* A forecaster or classifier the script wrote: its outputs for scaled
   windows, and its row scores of a raw series (window LAST: the
   forecaster's one-step-ahead error, the classifier's largest class
   probability), against PyTorch's. */
static void check_head_model(const unsigned char *file, size_t size, const float *scaled, size_t B, size_t out_per_window,
                             const float *want_out, const float *raw, size_t N, const float *want_scores,
                             const an_detector_vtable *type)
{
    size_t n_types, i, bad = 0;
    const an_detector_vtable *const *types = an_lstm_types(&n_types);
    float out[64], scores[64];
    an_reader r;
    an_detector *d = NULL;
    CHECK(B * out_per_window <= 64 && N <= 64);
    if (B * out_per_window > 64 || N > 64) return;
    CHECK_OK(an_model_open(&r, file, size));
    CHECK_OK(an_detector_load(&r, types, n_types, NULL, &d));
    if (!d) return;
    CHECK(d->vt == type);
    CHECK_OK(an_lstm_output(d, scaled, B, out));
    for (i = 0; i < B * out_per_window; i++) bad += !close_rel(out[i], want_out[i]);
    CHECK_EQ_SIZE(bad, 0);
    CHECK_OK(an_detector_score(d, raw, N, scores));
    for (i = 0; i < N; i++) bad += !close_rel(scores[i], want_scores[i]);
    CHECK_EQ_SIZE(bad, 0);
    CHECK(want_scores[N - 1] > 1e-3f);   /* the oracle scored the rows: not all zeros */
    an_detector_destroy(d);
}

static void test_torch_forecaster_loads_and_agrees(void)
{
    check_head_model(torch_fc_model, sizeof torch_fc_model, torch_fc_scaled, TORCH_FC_B, TORCH_FC_P * TORCH_FC_F,
                     torch_fc_output, torch_fc_raw, TORCH_FC_N, torch_fc_scores, an_lstm_forecaster_type());
}

static void test_torch_classifier_loads_and_agrees(void)
{
    check_head_model(torch_cl_model, sizeof torch_cl_model, torch_cl_scaled, TORCH_CL_B, TORCH_CL_K, torch_cl_output,
                     torch_cl_raw, TORCH_CL_N, torch_cl_scores, an_lstm_classifier_type());
}

/* A model trained here, for tools/torch_model.py check (test_torch.sh):
   the file, then "B S F", B raw spans of S rows and C's an_lstm_errors of
   them (S = T for the autoencoder, T + P for the forecaster). */
static void write_check_files(an_detector *d, const char *model_name, const char *outputs_name, const float *x,
                              size_t N, size_t F, size_t S, size_t first, size_t B, size_t err_per_window)
{
    float err[256];
    char path[512];
    an_writer w;
    const void *data;
    size_t size, i, b, t;
    FILE *f;
    (void)N;
    CHECK(B * err_per_window <= 256);
    if (B * err_per_window > 256) return;
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_file_write(test_scratch(path, sizeof path, model_name), data, size));
    an_writer_uninit(&w);
    CHECK_OK(an_lstm_errors(d, x, N, first, B, err));
    CHECK((f = fopen(test_scratch(path, sizeof path, outputs_name), "w")) != NULL);
    if (f) {
        fprintf(f, "%zu %zu %zu\n", B, S, F);
        for (b = 0; b < B; b++)
            for (t = 0; t < S * F; t++) fprintf(f, "%.9g\n", x[(first + b) * F + t]);
        for (i = 0; i < B * err_per_window; i++) fprintf(f, "%.9g\n", err[i]);
        CHECK(fclose(f) == 0);
    }
}
static void test_torch_c_model_written(void)
{
    enum { N = 300, F = 2, T = 6, B = 3, P = 2 };
    an_lstm_config c = an_lstm_ae_config_init(T, 5);
    float x[N * F];
    size_t i;
    an_detector *d = NULL;
    for (i = 0; i < N; i++) {
        x[i * F] = (float)(5 + 2 * sin(0.3 * (double)i));
        x[i * F + 1] = (float)(-1 + cos(0.17 * (double)i));
    }
    c.n_layers = 2;
    c.units[1] = 3;
    c.latent = 2;
    c.train.epochs = 2;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &d));
    if (d) {
        CHECK_OK(an_detector_fit(d, x, N));
        write_check_files(d, "torch_c_model.anom", "torch_c_outputs.txt", x, N, F, T, 40, B, T * F);
        an_detector_destroy(d);   /* the windows starting at rows 40, 41, 42 */
    }
    /* The forecaster: two layers (5, 3), dropout 0.3 in training, two
       predictions, a stateful stream (its state goes into the file too),
       pushed a few rows after the fit so the stream is not empty. */
    c = an_lstm_forecaster_config_init(T, 5, P);
    c.units[1] = 3;
    c.stateful_stream = 1;
    c.train.epochs = 2;
    d = NULL;
    CHECK_OK(an_lstm_forecaster_create(&c, F, NULL, &d));
    if (d) {
        float s;
        CHECK_OK(an_detector_fit(d, x, N));
        for (i = 0; i < 10; i++) CHECK_OK(an_detector_push(d, &x[i * F], &s));
        write_check_files(d, "torch_c_forecaster.anom", "torch_c_forecaster_outputs.txt", x, N, F, T + P, 40, B, P * F);
        an_detector_destroy(d);
    }
}

int main(void)
{
    RUN(test_torch_model_loads_and_agrees);
    RUN(test_torch_forecaster_loads_and_agrees);
    RUN(test_torch_classifier_loads_and_agrees);
    RUN(test_torch_c_model_written);
    return test_finish("test_torch");
}
