/* test_lstm.c - anomaly_lstm.h against PyTorch 1.13 float64 autograd and
   torch.optim (frozen in tests/fixtures/lstm_torch.h), against central
   finite differences of its own float32 code, and the autoencoder
   detector end to end: training, scoring, streaming, save/load, errors.

   Tolerances.  The library runs in float32 and the fixtures are float64,
   so a tensor matches when max |ours - torch| <= TOL_TORCH * max(1,
   max |torch|): float32 rounding (6e-8) grown by the sums of a few
   dozen steps; measured: 7e-8 for forward and gradients, 7e-7 after
   ten Adam steps.  Finite differences of float32 code are good to 3-4
   digits at best: step h = 1e-2 (truncation ~h^2, rounding ~1e-7 |L| / h)
   and an entry passes when |fd - g| <= TOL_FD * max(|g|, 0.1 max|g|,
   1e-4) over its tensor (the last term: the loss's own float32 rounding
   over 2h makes tiny gradients unmeasurable below ~1e-6 absolute); TOL_FD catches a wrong index, sign or term, which
   give O(1) errors, and the torch comparison catches small ones. */
/* The API only: the implementation is tests/compile_impl.c, linked beside. */
#include "../anomaly_lstm.h"
#include "../anomaly_stats.h"
#include "test.h"
#include "fixtures/lstm_torch.h"

#include <stdlib.h>

#define TOL_TORCH 2e-7
#define TOL_ADAM  5e-6
#define FD_H      1e-2
#define TOL_FD    1e-2
#define FD_FLOOR  1e-4

/* --------------------------------------------------------------------------
   Helpers
   -------------------------------------------------------------------------- */

static const torch_tensor *fixture(const char *case_name, const char *tensor)
{
    int c, t;
    for (c = 0; c < TORCH_N_CASES; c++) {
        if (strcmp(torch_cases[c].name, case_name) != 0) continue;
        for (t = 0; t < torch_cases[c].n_tensors; t++)
            if (strcmp(torch_cases[c].tensors[t].name, tensor) == 0) return &torch_cases[c].tensors[t];
    }
    fprintf(stderr, "fixture %s / %s missing\n", case_name, tensor);
    return NULL;
}

static size_t fixture_size(const torch_tensor *t)
{
    size_t n = 1;
    int d;
    for (d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

/* dst (n floats) = the fixture, which must hold n values. */
static int load_fixture(const char *case_name, const char *tensor, float *dst, size_t n)
{
    const torch_tensor *t = fixture(case_name, tensor);
    size_t i;
    if (!t || fixture_size(t) != n) {
        TEST__FAIL("%s/%s: missing or %zu values, expected %zu", case_name, tensor, t ? fixture_size(t) : 0, n);
        return 0;
    }
    for (i = 0; i < n; i++) dst[i] = (float)t->v[i];
    return 1;
}

/* Compares n floats with the fixture (optionally a sub-block starting at
   offset); prints the worst relative difference. */
static void check_fixture_at(const char *case_name, const char *tensor, const float *got, size_t n, size_t offset,
                             double tol)
{
    const torch_tensor *t = fixture(case_name, tensor);
    double worst = 0.0, scale = 1.0;
    size_t i, at = 0;
    test__checks++;
    if (!t || fixture_size(t) < offset + n) {
        TEST__FAIL("%s/%s: missing or too short", case_name, tensor);
        return;
    }
    for (i = 0; i < n; i++)
        if (fabs(t->v[offset + i]) > scale) scale = fabs(t->v[offset + i]);
    for (i = 0; i < n; i++) {
        double d = fabs((double)got[i] - t->v[offset + i]);
        if (!(d <= worst)) { worst = d; at = i; }
    }
    worst /= scale;
    if (getenv("LSTM_VERBOSE")) printf("  %-12s %-34s max diff %.2e of %.2e\n", case_name, tensor, worst, scale);
    if (!(worst <= tol))
        TEST__FAIL("%s/%s: entry %zu is %.9g, torch %.9g (max diff %.3g relative to %.3g > %.3g)", case_name, tensor,
                   at, (double)got[at], t->v[offset + at], worst, scale, tol);
}

static void check_fixture(const char *case_name, const char *tensor, const float *got, size_t n, double tol)
{
    check_fixture_at(case_name, tensor, got, n, 0, tol);
}

static float *falloc(size_t n)
{
    float *p = (float *)an_malloc(NULL, n * sizeof(float) + 64, AN_ALIGN);
    if (p) memset(p, 0, n * sizeof(float) + 64);
    return p;
}

static void ffree(float *p, size_t n) { an_free(NULL, p, n * sizeof(float) + 64); }

/* A standalone LSTM layer with its own parameter, gradient and buffer
   memory, for the layer tests. */
typedef struct test_layer {
    an_lstm_layer L;
    an_lstm_layer_buffers buf;
    float *params, *grads, *mem;
    size_t n_params, n_mem;
} test_layer;

static void layer_make(test_layer *t, size_t I, size_t H, size_t B, size_t T, an_activation act)
{
    size_t n = an_lstm_layer_param_count(I, H);
    t->n_params = n;
    t->params = falloc(n);
    t->grads = falloc(n);
    t->n_mem = an_lstm_layer_buffer_floats(B, T, I, H, 1);
    t->mem = falloc(t->n_mem);
    an_lstm_layer_buffers_carve(&t->buf, t->mem, B, T, I, H, 1);
    t->L.I = I;
    t->L.H = H;
    t->L.act = act;
    t->L.W_ih = t->params;
    t->L.W_hh = t->L.W_ih + 4 * H * I;
    t->L.b_ih = t->L.W_hh + 4 * H * H;
    t->L.b_hh = t->L.b_ih + 4 * H;
    t->L.dW_ih = t->grads;
    t->L.dW_hh = t->L.dW_ih + 4 * H * I;
    t->L.db_ih = t->L.dW_hh + 4 * H * H;
    t->L.db_hh = t->L.db_ih + 4 * H;
}

static void layer_free(test_layer *t)
{
    ffree(t->params, t->n_params);
    ffree(t->grads, t->n_params);
    ffree(t->mem, t->n_mem);
}

/* Loads a torch layer: weight_ih_l<n>, weight_hh_l<n>, bias_ih_l<n>, bias_hh_l<n>. */
static void layer_from_torch(test_layer *t, const char *case_name, const char *prefix, int l)
{
    char name[64];
    size_t I = t->L.I, H = t->L.H;
    snprintf(name, sizeof name, "%sweight_ih_l%d", prefix, l);
    load_fixture(case_name, name, t->L.W_ih, 4 * H * I);
    snprintf(name, sizeof name, "%sweight_hh_l%d", prefix, l);
    load_fixture(case_name, name, t->L.W_hh, 4 * H * H);
    snprintf(name, sizeof name, "%sbias_ih_l%d", prefix, l);
    load_fixture(case_name, name, t->L.b_ih, 4 * H);
    snprintf(name, sizeof name, "%sbias_hh_l%d", prefix, l);
    load_fixture(case_name, name, t->L.b_hh, 4 * H);
}

static void layer_check_grads(test_layer *t, const char *case_name, const char *prefix, int l)
{
    char name[64];
    size_t I = t->L.I, H = t->L.H;
    snprintf(name, sizeof name, "grad.%sweight_ih_l%d", prefix, l);
    check_fixture(case_name, name, t->L.dW_ih, 4 * H * I, TOL_TORCH);
    snprintf(name, sizeof name, "grad.%sweight_hh_l%d", prefix, l);
    check_fixture(case_name, name, t->L.dW_hh, 4 * H * H, TOL_TORCH);
    snprintf(name, sizeof name, "grad.%sbias_ih_l%d", prefix, l);
    check_fixture(case_name, name, t->L.db_ih, 4 * H, TOL_TORCH);
    snprintf(name, sizeof name, "grad.%sbias_hh_l%d", prefix, l);
    check_fixture(case_name, name, t->L.db_hh, 4 * H, TOL_TORCH);
}

/* Copies the (B,H) states at the last step of h (B,T,H) into out. */
static void last_step(const float *seq, size_t B, size_t T, size_t H, float *out)
{
    size_t b;
    for (b = 0; b < B; b++) memcpy(out + b * H, seq + (b * T + T - 1) * H, H * sizeof(float));
}

/* --------------------------------------------------------------------------
   PyTorch fixtures
   -------------------------------------------------------------------------- */

static void test_torch_lstm_single(void)
{
    enum { I = 3, H = 5, T = 7, B = 2 };
    test_layer t;
    float x[B * T * I], dh[B * T * H], dx[B * T * I], last[B * H];
    double loss = 0.0;
    size_t i;
    layer_make(&t, I, H, B, T, AN_ACT_TANH);
    layer_from_torch(&t, "lstm_single", "", 0);
    load_fixture("lstm_single", "x", x, B * T * I);
    an_lstm_layer_prepare(&t.L, &t.buf);
    an_lstm_layer_forward(&t.L, &t.buf, B, T, x, 0);
    check_fixture("lstm_single", "y", t.buf.h, B * T * H, TOL_TORCH);
    last_step(t.buf.h, B, T, H, last);
    check_fixture("lstm_single", "h_T", last, B * H, TOL_TORCH);
    last_step(t.buf.c, B, T, H, last);
    check_fixture("lstm_single", "c_T", last, B * H, TOL_TORCH);
    for (i = 0; i < B * T * H; i++) {
        loss += (double)t.buf.h[i] * t.buf.h[i];
        dh[i] = 2.0f * t.buf.h[i];
    }
    CHECK_NEAR(loss, fixture("lstm_single", "loss")->v[0], 1e-5);
    memset(dx, 0, sizeof dx);
    an_lstm_layer_backward(&t.L, &t.buf, B, T, x, 0, dh, NULL, dx);
    layer_check_grads(&t, "lstm_single", "", 0);
    check_fixture("lstm_single", "grad.x", dx, B * T * I, TOL_TORCH);
    layer_free(&t);
}

static void test_torch_lstm_stacked(void)
{
    enum { I = 3, H = 4, T = 6, B = 2 };
    test_layer t0, t1;
    float x[B * T * I], dh[B * T * H], dh0[B * T * H], dx[B * T * I], last[2 * B * H];
    size_t i;
    layer_make(&t0, I, H, B, T, AN_ACT_TANH);
    layer_make(&t1, H, H, B, T, AN_ACT_TANH);
    layer_from_torch(&t0, "lstm_stacked", "", 0);
    layer_from_torch(&t1, "lstm_stacked", "", 1);
    load_fixture("lstm_stacked", "x", x, B * T * I);
    an_lstm_layer_prepare(&t0.L, &t0.buf);
    an_lstm_layer_prepare(&t1.L, &t1.buf);
    an_lstm_layer_forward(&t0.L, &t0.buf, B, T, x, 0);
    an_lstm_layer_forward(&t1.L, &t1.buf, B, T, t0.buf.h, 0);
    check_fixture("lstm_stacked", "y", t1.buf.h, B * T * H, TOL_TORCH);
    last_step(t0.buf.h, B, T, H, last);
    last_step(t1.buf.h, B, T, H, last + B * H);
    check_fixture("lstm_stacked", "h_T", last, 2 * B * H, TOL_TORCH);
    last_step(t0.buf.c, B, T, H, last);
    last_step(t1.buf.c, B, T, H, last + B * H);
    check_fixture("lstm_stacked", "c_T", last, 2 * B * H, TOL_TORCH);
    for (i = 0; i < B * T * H; i++) dh[i] = 2.0f * t1.buf.h[i];
    memset(dh0, 0, sizeof dh0);
    memset(dx, 0, sizeof dx);
    an_lstm_layer_backward(&t1.L, &t1.buf, B, T, t0.buf.h, 0, dh, NULL, dh0);
    an_lstm_layer_backward(&t0.L, &t0.buf, B, T, x, 0, dh0, NULL, dx);
    layer_check_grads(&t0, "lstm_stacked", "", 0);
    layer_check_grads(&t1, "lstm_stacked", "", 1);
    check_fixture("lstm_stacked", "grad.x", dx, B * T * I, TOL_TORCH);
    layer_free(&t0);
    layer_free(&t1);
}

/* The fixture's autoencoder (F=2, H=6, T=5, B=3) as an an_lstm_ae. */
enum { AE_F = 2, AE_H = 6, AE_T = 5, AE_B = 3 };

static const char *const ae_names[][2] = {
    { "encoder.0.W_ih", "encoder.weight_ih_l0" }, { "encoder.0.W_hh", "encoder.weight_hh_l0" },
    { "encoder.0.b_ih", "encoder.bias_ih_l0" },   { "encoder.0.b_hh", "encoder.bias_hh_l0" },
    { "decoder.0.W_ih", "decoder.weight_ih_l0" }, { "decoder.0.W_hh", "decoder.weight_hh_l0" },
    { "decoder.0.b_ih", "decoder.bias_ih_l0" },   { "decoder.0.b_hh", "decoder.bias_hh_l0" },
    { "output.W", "dense.weight" },               { "output.b", "dense.bias" },
};
#define AE_N_NAMES (sizeof ae_names / sizeof ae_names[0])

static an_detector *ae_fixture_model(void)
{
    an_lstm_config c = an_lstm_ae_config_init(AE_T, AE_H);
    an_detector *d = NULL;
    size_t k;
    c.batch = AE_B;
    c.scaler = (an_scaler_kind)0;
    CHECK_OK(an_lstm_ae_create(&c, AE_F, NULL, &d));
    if (!d) return NULL;
    for (k = 0; k < AE_N_NAMES; k++) {
        float *p;
        size_t n;
        CHECK_OK(an_lstm_param_view(d, ae_names[k][0], &p, &n));
        load_fixture("autoencoder", ae_names[k][1], p, n);
    }
    an_lstm_sync(d);
    return d;
}

static void test_torch_autoencoder(void)
{
    an_detector *d = ae_fixture_model();
    float x[AE_B * AE_T * AE_F], out[AE_B * AE_T * AE_F], gx[AE_B * AE_T * AE_F];
    double loss;
    size_t k;
    if (!d) return;
    load_fixture("autoencoder", "x", x, sizeof x / sizeof x[0]);
    CHECK_OK(an_lstm_output(d, x, AE_B, out));
    check_fixture("autoencoder", "output", out, AE_B * AE_T * AE_F, TOL_TORCH);
    CHECK_OK(an_lstm_loss_grad(d, x, AE_B, &loss, gx));
    CHECK_NEAR(loss, fixture("autoencoder", "loss")->v[0], 1e-6);
    for (k = 0; k < AE_N_NAMES; k++) {
        char ours[64], theirs[64];
        float *g;
        size_t n;
        snprintf(ours, sizeof ours, "grad.%s", ae_names[k][0]);
        snprintf(theirs, sizeof theirs, "grad.%s", ae_names[k][1]);
        CHECK_OK(an_lstm_param_view(d, ours, &g, &n));
        check_fixture("autoencoder", theirs, g, n, TOL_TORCH);
    }
    check_fixture("autoencoder", "grad.x", gx, AE_B * AE_T * AE_F, TOL_TORCH);
    an_detector_destroy(d);
}

/* Ten full-batch Adam steps on the autoencoder fixture: the loss before
   each step and every parameter after the tenth. */
static void adam_case(const char *name, double weight_decay, double clip)
{
    an_detector *d = ae_fixture_model();
    float x[AE_B * AE_T * AE_F], losses[10], norms[10];
    an_adam_config ac = an_adam_config_init(0.01);
    an_adam opt;
    float *params, *grads;
    size_t n, k;
    int step;
    char key[96];
    if (!d) return;
    ac.weight_decay = weight_decay;
    ac.clip_norm = clip;
    load_fixture("autoencoder", "x", x, sizeof x / sizeof x[0]);
    CHECK_OK(an_lstm_param_view(d, "params", &params, &n));
    CHECK_OK(an_lstm_param_view(d, "grads", &grads, &n));
    CHECK_OK(an_adam_init(&opt, &ac, n, NULL));
    for (step = 0; step < 10; step++) {
        double loss, norm;
        CHECK_OK(an_lstm_loss_grad(d, x, AE_B, &loss, NULL));
        CHECK_OK(an_adam_step(&opt, params, grads, &norm));
        losses[step] = (float)loss;
        norms[step] = (float)norm;
    }
    snprintf(key, sizeof key, "%s.loss", name);
    check_fixture(name, key, losses, 10, TOL_ADAM);
    if (clip > 0.0) {
        snprintf(key, sizeof key, "%s.grad_norm", name);
        check_fixture(name, key, norms, 10, TOL_ADAM);
    }
    for (k = 0; k < AE_N_NAMES; k++) {
        float *p;
        size_t m;
        CHECK_OK(an_lstm_param_view(d, ae_names[k][0], &p, &m));
        snprintf(key, sizeof key, "%s.final.%s", name, ae_names[k][1]);
        check_fixture(name, key, p, m, TOL_ADAM);
    }
    an_adam_uninit(&opt);
    an_detector_destroy(d);
}

/* The vector update is the scalar formula's operations in its order, so
   Adam and AdamW give the bits of that formula written out here (this
   file is built with -ffp-contract=off) on every path, over 53 values (no
   multiple of any vector width) and three steps. */
static void test_adam_bits_every_path(void)
{
    enum { N = 53, STEPS = 3 };
    int w;
    for (w = 0; w < 2; w++) {
        an_adam_config ac = an_adam_config_init(0.01);
        an_adam opt;
        float p[N], g[N], rp[N], rm[N] = { 0 }, rv[N] = { 0 };
        int i, t;
        ac.weight_decay = w ? 0.1 : 0.0;
        CHECK_OK(an_adam_init(&opt, &ac, N, NULL));
        for (i = 0; i < N; i++) p[i] = rp[i] = (float)sin(0.7 * i);
        for (t = 1; t <= STEPS; t++) {
            double bc1 = 1.0 - pow(ac.beta1, t), bc2 = 1.0 - pow(ac.beta2, t);
            float b1 = (float)ac.beta1, b2 = (float)ac.beta2, step = (float)(ac.lr / bc1);
            float rbc2 = (float)(1.0 / sqrt(bc2)), eps = (float)ac.eps, decay = (float)(1.0 - ac.lr * ac.weight_decay);
            for (i = 0; i < N; i++) g[i] = (float)cos(1.3 * i + t) * (i % 7 == 0 ? 1e-3f : 1.0f);
            for (i = 0; i < N; i++) {
                rm[i] = b1 * rm[i] + (1.0f - b1) * g[i];
                rv[i] = b2 * rv[i] + (1.0f - b2) * g[i] * g[i];
                if (w) rp[i] *= decay;
                rp[i] -= step * rm[i] / (sqrtf(rv[i]) * rbc2 + eps);
            }
            CHECK_OK(an_adam_step(&opt, p, g, NULL));
        }
        CHECK(memcmp(p, rp, sizeof p) == 0 && memcmp(opt.m, rm, sizeof rm) == 0 && memcmp(opt.v, rv, sizeof rv) == 0);
        an_adam_uninit(&opt);
    }
}

static void test_torch_adam(void) { adam_case("adam", 0.0, 0.0); }
static void test_torch_adamw(void) { adam_case("adamw", 0.1, 0.0); }
static void test_torch_adam_clip(void) { adam_case("adam_clip", 0.0, 0.05); }

/* --------------------------------------------------------------------------
   Finite differences
   -------------------------------------------------------------------------- */

typedef double (*fd_loss)(void *ctx);

/* Central differences of f with respect to each v[i], against g[i]. */
static void fd_check(const char *what, float *v, const float *g, size_t n, fd_loss f, void *ctx)
{
    double gmax = 0.0, floor_, worst = 0.0;
    size_t i, bad = 0, at = 0;
    for (i = 0; i < n; i++)
        if (fabs(g[i]) > gmax) gmax = fabs(g[i]);
    floor_ = 0.1 * gmax > FD_FLOOR ? 0.1 * gmax : FD_FLOOR;
    for (i = 0; i < n; i++) {
        float save = v[i];
        double hp, hm, lp, lm, fd, err;
        v[i] = (float)(save + FD_H);
        hp = (double)v[i] - save;
        lp = f(ctx);
        v[i] = (float)(save - FD_H);
        hm = (double)save - v[i];
        lm = f(ctx);
        v[i] = save;
        fd = (lp - lm) / (hp + hm);
        err = fabs(fd - g[i]) / (fabs(g[i]) > floor_ ? fabs(g[i]) : floor_);
        if (err > worst) { worst = err; at = i; }
        if (!(err <= TOL_FD)) bad++;
    }
    test__checks++;
    if (getenv("LSTM_VERBOSE")) printf("  fd %-40s n=%4zu worst %.2e (max|g| %.2e)\n", what, n, worst, gmax);
    if (bad) TEST__FAIL("%s: %zu of %zu entries off; worst %.3g at %zu (g = %.6g)", what, bad, n, worst, at, (double)g[at]);
}

static void fill_uniform(an_rng *rng, float *v, size_t n, float scale)
{
    size_t i;
    for (i = 0; i < n; i++) v[i] = (2.0f * an_rng_uniformf(rng) - 1.0f) * scale;
}

static double weighted_sum(const float *y, const float *r, size_t n)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)y[i] * r[i];
    return s;
}

/* LSTM layer: L = sum r_seq h + sum r_last h_T. */
typedef struct lstm_fd {
    test_layer *t;
    const float *x;
    const float *r_seq, *r_last;
    size_t B, T;
    int repeat;
} lstm_fd;

static double lstm_fd_loss(void *ctx)
{
    lstm_fd *c = (lstm_fd *)ctx;
    size_t H = c->t->L.H, b;
    double s;
    an_lstm_layer_prepare(&c->t->L, &c->t->buf);
    an_lstm_layer_forward(&c->t->L, &c->t->buf, c->B, c->T, c->x, c->repeat);
    s = weighted_sum(c->t->buf.h, c->r_seq, c->B * c->T * H);
    for (b = 0; b < c->B; b++)
        s += weighted_sum(c->t->buf.h + (b * c->T + c->T - 1) * H, c->r_last + b * H, H);
    return s;
}

static void lstm_fd_case(an_activation act, int repeat, const char *label)
{
    enum { I = 3, H = 4, T = 5, B = 2 };
    test_layer t;
    float x[B * T * I], dx[B * T * I], r_seq[B * T * H], r_last[B * H];
    lstm_fd c;
    an_rng rng;
    char what[96];
    size_t nx = repeat ? B * I : B * T * I;
    an_rng_seed(&rng, 42 + (uint64_t)act, (uint64_t)repeat);
    layer_make(&t, I, H, B, T, act);
    fill_uniform(&rng, t.params, t.n_params, 0.6f);
    fill_uniform(&rng, x, nx, 1.0f);
    fill_uniform(&rng, r_seq, B * T * H, 1.0f);
    fill_uniform(&rng, r_last, B * H, 1.0f);
    c.t = &t; c.x = x; c.r_seq = r_seq; c.r_last = r_last; c.B = B; c.T = T; c.repeat = repeat;
    lstm_fd_loss(&c);
    memset(dx, 0, sizeof dx);
    an_lstm_layer_backward(&t.L, &t.buf, B, T, x, repeat, r_seq, r_last, dx);
    snprintf(what, sizeof what, "%s W_ih", label);
    fd_check(what, t.L.W_ih, t.L.dW_ih, 4 * H * I, lstm_fd_loss, &c);
    snprintf(what, sizeof what, "%s W_hh", label);
    fd_check(what, t.L.W_hh, t.L.dW_hh, 4 * H * H, lstm_fd_loss, &c);
    snprintf(what, sizeof what, "%s b_ih", label);
    fd_check(what, t.L.b_ih, t.L.db_ih, 4 * H, lstm_fd_loss, &c);
    snprintf(what, sizeof what, "%s b_hh", label);
    fd_check(what, t.L.b_hh, t.L.db_hh, 4 * H, lstm_fd_loss, &c);
    snprintf(what, sizeof what, "%s x", label);
    fd_check(what, x, dx, nx, lstm_fd_loss, &c);
    layer_free(&t);
}

static void test_fd_lstm(void)
{
    lstm_fd_case(AN_ACT_TANH, 0, "lstm tanh");
    lstm_fd_case(AN_ACT_RELU, 0, "lstm relu");
    lstm_fd_case(AN_ACT_LINEAR, 0, "lstm linear");
    lstm_fd_case(AN_ACT_TANH, 1, "lstm tanh repeat");
    lstm_fd_case(AN_ACT_RELU, 1, "lstm relu repeat");
}

/* an_lstm_layer_step from zero state reproduces an_lstm_layer_forward at batch 1. */
static void test_lstm_step(void)
{
    enum { I = 3, H = 20, T = 9 };
    test_layer t;
    float x[T * I], h[H], c[H], z[5 * H];
    an_rng rng;
    size_t k, j;
    an_rng_seed(&rng, 3, 3);
    layer_make(&t, I, H, 1, T, AN_ACT_TANH);
    an_lstm_layer_init_params(&t.L, &rng);
    fill_uniform(&rng, x, T * I, 1.0f);
    an_lstm_layer_prepare(&t.L, &t.buf);
    an_lstm_layer_forward(&t.L, &t.buf, 1, T, x, 0);
    memset(h, 0, sizeof h);
    memset(c, 0, sizeof c);
    for (k = 0; k < T; k++) {
        an_lstm_layer_step(&t.L, &t.buf, x + k * I, h, c, z);
        for (j = 0; j < H; j++) {
            CHECK_NEAR(h[j], t.buf.h[k * H + j], 1e-6);
            CHECK_NEAR(c[j], t.buf.c[k * H + j], 1e-6);
        }
    }
    layer_free(&t);
}

/* Aggregation options against the unaggregated errors of an_lstm_errors. */

/* Dense -> dropout (fixed mask) -> repeat, L = sum r y. */
enum { DN = 3, DI = 4, DO = 3, DT = 2 };
typedef struct dense_fd {
    float W[DO * DI], b[DO], x[DN * DI], mask[DN * DO], r[DN * DT * DO];
} dense_fd;

static double dense_fd_loss(void *ctx)
{
    dense_fd *c = (dense_fd *)ctx;
    float y[DN * DO], yr[DN * DT * DO];
    an_dense_forward(DN, DI, DO, c->x, c->W, c->b, y);
    an_dropout_apply(DN * DO, c->mask, y, y);
    an_repeat_forward(DN, DT, DO, y, yr);
    return weighted_sum(yr, c->r, DN * DT * DO);
}

static void test_fd_dense_dropout_repeat(void)
{
    dense_fd c;
    float dy[DN * DO], dW[DO * DI], db[DO], dx[DN * DI];
    an_rng rng;
    size_t i, zeros = 0, n = 100000;
    float *mask = falloc(n);
    an_rng_seed(&rng, 7, 0);
    fill_uniform(&rng, c.W, DO * DI, 1.0f);
    fill_uniform(&rng, c.b, DO, 1.0f);
    fill_uniform(&rng, c.x, DN * DI, 1.0f);
    fill_uniform(&rng, c.r, DN * DT * DO, 1.0f);
    an_dropout_mask(&rng, DN * DO, 0.3f, c.mask);
    memset(dy, 0, sizeof dy);
    memset(dW, 0, sizeof dW);
    memset(db, 0, sizeof db);
    memset(dx, 0, sizeof dx);
    an_repeat_backward(DN, DT, DO, c.r, dy);
    an_dropout_apply(DN * DO, c.mask, dy, dy);
    an_dense_backward(DN, DI, DO, c.x, c.W, dy, dW, db, dx);
    fd_check("dense+dropout+repeat W", c.W, dW, DO * DI, dense_fd_loss, &c);
    fd_check("dense+dropout+repeat b", c.b, db, DO, dense_fd_loss, &c);
    fd_check("dense+dropout+repeat x", c.x, dx, DN * DI, dense_fd_loss, &c);
    /* the mask: rate p zeros, survivors scaled by 1 / (1 - p) */
    an_dropout_mask(&rng, n, 0.25f, mask);
    for (i = 0; i < n; i++) {
        if (mask[i] == 0.0f) zeros++;
        else CHECK(fabsf(mask[i] - 1.0f / 0.75f) < 1e-6f);
    }
    CHECK(fabs((double)zeros / (double)n - 0.25) < 0.01);
    an_dropout_mask(&rng, 10, 0.0f, mask);
    for (i = 0; i < 10; i++) CHECK(mask[i] == 1.0f);
    ffree(mask, n);
}

/* Losses: gradient against central differences, and known values. */
typedef struct loss_fd {
    an_loss_kind kind;
    float pred[12], target[12], w[3];
    double gamma;
} loss_fd;

static double loss_fd_loss(void *ctx)
{
    loss_fd *c = (loss_fd *)ctx;
    double l = 0.0;
    an_loss(c->kind, c->pred, c->target, 12, 3, c->w, c->gamma, &l, NULL);
    return l;
}

static void test_losses(void)
{
    static const char *names[] = { "mse", "mae", "bce", "focal" };
    loss_fd c;
    float g[12], g2[12];
    an_rng rng;
    double l, l2;
    int k;
    size_t i;
    an_rng_seed(&rng, 9, 0);
    for (k = 0; k < 4; k++) {
        char what[64];
        c.kind = (an_loss_kind)k;
        c.gamma = 2.0;
        fill_uniform(&rng, c.pred, 12, 2.0f);
        for (i = 0; i < 12; i++) c.target[i] = k >= 2 ? (i % 4 == 3 ? 0.3f : (float)(i % 2)) : c.pred[i] + 0.5f - (float)(i % 2);
        c.w[0] = 1.0f; c.w[1] = 2.0f; c.w[2] = 0.5f;
        CHECK_OK(an_loss(c.kind, c.pred, c.target, 12, 3, c.w, c.gamma, &l, g));
        snprintf(what, sizeof what, "loss %s", names[k]);
        fd_check(what, c.pred, g, 12, loss_fd_loss, &c);
    }
    /* focal with gamma 0 is BCE */
    CHECK_OK(an_loss(AN_LOSS_FOCAL, c.pred, c.target, 12, 3, c.w, 0.0, &l, g));
    CHECK_OK(an_loss(AN_LOSS_BCE, c.pred, c.target, 12, 3, c.w, 0.0, &l2, g2));
    CHECK_NEAR(l, l2, 1e-12);
    for (i = 0; i < 12; i++) CHECK_NEAR(g[i], g2[i], 1e-7);
    /* known values: BCE of logit 0 is log 2; MSE and MAE of a fixed pair */
    {
        float z = 0.0f, y = 1.0f, p[2] = { 1.0f, -1.0f }, t[2] = { 0.0f, 0.0f };
        CHECK_OK(an_loss(AN_LOSS_BCE, &z, &y, 1, 1, NULL, 0.0, &l, NULL));
        CHECK_NEAR(l, log(2.0), 1e-12);
        CHECK_OK(an_loss(AN_LOSS_MSE, p, t, 2, 1, NULL, 0.0, &l, g));
        CHECK_NEAR(l, 1.0, 0.0);
        CHECK_NEAR(g[0], 1.0, 0.0);
        CHECK_OK(an_loss(AN_LOSS_MAE, p, t, 2, 1, NULL, 0.0, &l, g));
        CHECK_NEAR(l, 1.0, 0.0);
        CHECK_NEAR(g[1], -0.5, 0.0);
        /* extreme logits stay finite */
        p[0] = 80.0f; p[1] = -80.0f; t[0] = 0.0f; t[1] = 1.0f;
        CHECK_OK(an_loss(AN_LOSS_FOCAL, p, t, 2, 1, NULL, 2.0, &l, g));
        CHECK(l > 70.0 && l < 90.0 && g[0] > 0.0f && g[1] < 0.0f);
    }
    /* errors */
    {
        float p[2] = { 0.0f, 0.0f }, t[2] = { 0.0f, 2.0f };
        CHECK_RESULT(an_loss(AN_LOSS_BCE, p, t, 2, 1, NULL, 0.0, &l, NULL), AN_ERR_INPUT);
        t[1] = 0.0f;
        p[1] = (float)(HUGE_VAL - HUGE_VAL);
        CHECK_RESULT(an_loss(AN_LOSS_MSE, p, t, 2, 1, NULL, 0.0, &l, NULL), AN_ERR_INPUT);
        p[1] = 0.0f;
        CHECK_RESULT(an_loss(AN_LOSS_BCE, p, t, 2, 3, NULL, 0.0, &l, NULL), AN_ERR_SHAPE);
        CHECK_RESULT(an_loss(AN_LOSS_FOCAL, p, t, 2, 1, NULL, -1.0, &l, NULL), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_loss(AN_LOSS_MSE, NULL, t, 2, 1, NULL, 0.0, &l, NULL), AN_ERR_INVALID_ARG);
    }
}

/* The whole autoencoder (two layers a side, latent, relu): every
   parameter and the input. */
enum { FD_T = 4, FD_F = 2, FD_B = 2 };
typedef struct ae_fd {
    an_detector *d;
    float x[FD_B * FD_T * FD_F], target[FD_B * FD_T * FD_F];
} ae_fd;

static double ae_fd_loss(void *ctx)
{
    ae_fd *c = (ae_fd *)ctx;
    float out[FD_B * FD_T * FD_F];
    double l = 0.0;
    an_lstm_sync(c->d);
    an_lstm_output(c->d, c->x, FD_B, out);
    an_loss(AN_LOSS_MSE, out, c->target, FD_B * FD_T * FD_F, 1, NULL, 0.0, &l, NULL);
    return l;
}

static void ae_fd_case(an_activation act, size_t latent, const char *label)
{
    an_lstm_config cfg = an_lstm_ae_config_init(FD_T, 5);
    ae_fd c;
    float gx[FD_B * FD_T * FD_F], *params, *grads, *g;
    size_t n, i;
    double loss;
    an_rng rng;
    char what[64];
    cfg.n_layers = 2;
    cfg.units[1] = 3;
    cfg.latent = latent;
    cfg.activation = act;
    cfg.batch = FD_B;
    cfg.scaler = (an_scaler_kind)0;
    CHECK_OK(an_lstm_ae_create(&cfg, FD_F, NULL, &c.d));
    if (!c.d) return;
    an_rng_seed(&rng, 5, 5);
    fill_uniform(&rng, c.x, FD_B * FD_T * FD_F, 1.0f);
    memcpy(c.target, c.x, sizeof c.x);
    CHECK_OK(an_lstm_param_view(c.d, "params", &params, &n));
    for (i = 0; i < n; i++) params[i] += (2.0f * an_rng_uniformf(&rng) - 1.0f) * 0.2f;   /* leave the init's zeros */
    CHECK_OK(an_lstm_loss_grad(c.d, c.x, FD_B, &loss, gx));
    CHECK_NEAR(loss, ae_fd_loss(&c), 1e-12);
    CHECK_OK(an_lstm_param_view(c.d, "grads", &grads, &n));
    g = falloc(n);
    memcpy(g, grads, n * sizeof(float));
    snprintf(what, sizeof what, "autoencoder %s params", label);
    fd_check(what, params, g, n, ae_fd_loss, &c);
    snprintf(what, sizeof what, "autoencoder %s x", label);
    fd_check(what, c.x, gx, FD_B * FD_T * FD_F, ae_fd_loss, &c);
    ffree(g, n);
    an_detector_destroy(c.d);
}

static void test_fd_autoencoder(void)
{
    ae_fd_case(AN_ACT_TANH, 2, "tanh latent 2");
    ae_fd_case(AN_ACT_RELU, 0, "relu");
    ae_fd_case(AN_ACT_LINEAR, 3, "linear latent 3");
}

/* --------------------------------------------------------------------------
   The autoencoder detector
   -------------------------------------------------------------------------- */

/* Sine of period 20 plus N(0, 0.05^2) noise, n rows, F features (feature
   f shifted by f / 3 of a period). */
static float *sine_series(size_t n, size_t F, uint64_t seed)
{
    float *x = falloc(n * F);
    an_rng rng;
    size_t t, f;
    an_rng_seed(&rng, seed, 0);
    for (t = 0; t < n; t++)
        for (f = 0; f < F; f++)
            x[t * F + f] = (float)(sin(2.0 * 3.14159265358979 * ((double)t / 20.0 + (double)f / 3.0)) +
                                   0.05 * an_rng_normal(&rng));
    return x;
}

static an_lstm_config small_config(void)
{
    an_lstm_config c = an_lstm_ae_config_init(16, 12);
    c.train.epochs = 12;
    c.batch = 16;
    c.train.stride = 2;
    c.train.adam.lr = 1e-2;
    c.train.patience = 0;
    return c;
}

typedef struct progress_log {
    size_t calls, cancel_at;
    double first_loss, last_loss, last_val;
    int improved_seen;
} progress_log;

static int log_progress(void *user, const an_lstm_progress *p)
{
    progress_log *log = (progress_log *)user;
    log->calls++;
    if (p->epoch == 1) log->first_loss = p->loss;
    log->last_loss = p->loss;
    log->last_val = p->val_loss;
    log->improved_seen |= p->improved;
    return log->cancel_at && log->calls >= log->cancel_at;
}

static double mean_of(const float *x, size_t n)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += x[i];
    return s / (double)n;
}

/* Training on sine + noise: the reconstruction error of the (held-out)
   test series falls by at least 20x from the untrained network (68x
   measured on AVX-512), and an injected spike and a level shift score
   above 10x every normal row (220x and 87x measured). */
static void test_ae_learns_and_detects(void)
{
    enum { N = 640, F = 2 };
    an_lstm_config c = small_config();
    an_detector *untrained = NULL, *d = NULL;
    float *train = sine_series(N, F, 1), *test = sine_series(N, F, 2), *s0 = falloc(N), *s1 = falloc(N);
    progress_log log;
    double e0, e1, normal_max = 0.0;
    size_t i;
    memset(&log, 0, sizeof log);
    c.train.epochs = 0;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &untrained));
    CHECK_OK(an_detector_fit(untrained, train, N));
    CHECK_OK(an_detector_score(untrained, test, N, s0));
    c.train.epochs = 12;
    c.train.progress = log_progress;
    c.train.progress_user = &log;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &d));
    CHECK_OK(an_detector_fit(d, train, N));
    CHECK_OK(an_detector_score(d, test, N, s1));
    e0 = mean_of(s0, N);
    e1 = mean_of(s1, N);
    if (getenv("LSTM_VERBOSE"))
        printf("  sine: error %.4f untrained -> %.4f trained (%.1fx); epoch loss %.4f -> %.4f, val %.4f\n", e0, e1,
               e0 / e1, log.first_loss, log.last_loss, log.last_val);
    CHECK(e0 / e1 >= 20.0);
    CHECK_EQ_SIZE(log.calls, 12);
    CHECK(log.improved_seen && log.last_val == log.last_val && log.last_loss < log.first_loss);
    /* anomalies: a spike at row 200, a level shift over rows 400..419 */
    for (i = 0; i < F; i++) test[200 * F + i] += 3.0f;
    for (i = 400 * F; i < 420 * F; i++) test[i] += 1.5f;
    CHECK_OK(an_detector_score(d, test, N, s1));
    for (i = 0; i < N; i++)
        if ((i < 200 - 16 || i > 200 + 16) && (i < 400 - 16 || i > 420 + 16) && s1[i] > normal_max) normal_max = s1[i];
    if (getenv("LSTM_VERBOSE"))
        printf("  sine: spike %.3f, shift start %.3f, normal max %.3f\n", s1[200], s1[400], normal_max);
    CHECK(s1[200] > 10.0 * normal_max);
    CHECK(s1[400] > 10.0 * normal_max);
    {   /* threshold state from the training series */
        an_lstm_info info;
        CHECK_OK(an_lstm_info_get(d, &info));
        if (getenv("LSTM_VERBOSE"))
            printf("  info: %zu params, %zu epochs, %zu rows, training scores mean %.4f std %.4f p99 %.4f\n",
                   info.n_params, info.epochs_run, info.train_rows, info.score_mean, info.score_std, info.score_p99);
        CHECK(info.epochs_run == 12 && info.train_rows == N);
        CHECK(info.score_mean > 0.0 && info.score_p99 > info.score_mean && info.score_p99 < normal_max * 2);
        CHECK(s1[200] > info.score_mean + 10 * info.score_std);
        CHECK_RESULT(an_lstm_info_get(untrained, &info), AN_OK);
    }
    {   /* the record: expected vs actual in original units */
        float expected[16 * F];
        an_lstm_record rec;
        CHECK_OK(an_lstm_explain(d, test, N, 200, expected, &rec));
        if (getenv("LSTM_VERBOSE"))
            printf("  record at 200: rows %zu..%zu, max dev %.3f at row %zu feature %zu, mse %.4f, r %.3f\n", rec.start,
                   rec.start + rec.rows - 1, rec.max_dev, rec.max_row, rec.max_feature, rec.mse, rec.corr);
        CHECK(rec.start == 185 && rec.rows == 16 && rec.max_row == 200);
        CHECK(rec.max_dev > 2.0 && rec.max_dev < 5.0 && rec.corr > 0.5);   /* spike +3 */
        CHECK_OK(an_lstm_explain(d, test, N, 100, expected, &rec));
        CHECK(rec.max_dev < 0.5 && rec.corr > 0.95 && rec.mse < 0.05);
        CHECK_NEAR(expected[15 * F], sin(2.0 * 3.14159265358979 * 100.0 / 20.0), 0.3);
        CHECK_OK(an_lstm_explain(d, test, N, 3, expected, &rec));
        CHECK(rec.start == 0);
        CHECK_RESULT(an_lstm_explain(d, test, N, N, expected, &rec), AN_ERR_INVALID_ARG);
    }
    an_detector_destroy(untrained);
    an_detector_destroy(d);
    ffree(train, N * F);
    ffree(test, N * F);
    ffree(s0, N);
    ffree(s1, N);
}

/* Two trainings with one seed write one file, byte for byte: the training
   record keeps the processor seconds out (issue 17: they made 10 bytes
   differ), for the autoencoder and the forecaster alike. */
static void test_identical_trainings_identical_files(void)
{
    enum { N = 160 };
    float *x = sine_series(N, 1, 5);
    int kind;
    for (kind = 0; kind < 2; kind++) {
        an_lstm_config c = kind ? an_lstm_forecaster_config_init(8, 6, 1) : small_config();
        const void *data[2];
        size_t size[2];
        an_writer w[2];
        int k;
        c.train.epochs = 4;
        for (k = 0; k < 2; k++) {
            an_detector *d = NULL;
            data[k] = NULL;
            size[k] = 0;
            CHECK_OK(kind ? an_lstm_forecaster_create(&c, 1, NULL, &d) : an_lstm_ae_create(&c, 1, NULL, &d));
            if (!d) { ffree(x, N); return; }
            CHECK_OK(an_detector_fit(d, x, N));
            CHECK_OK(an_writer_init(&w[k], NULL));
            CHECK_OK(an_detector_save(d, &w[k]));
            CHECK_OK(an_writer_finish(&w[k], &data[k], &size[k]));
            an_detector_destroy(d);
        }
        CHECK(size[0] == size[1] && size[0] > 0 && memcmp(data[0], data[1], size[0]) == 0);
        an_writer_uninit(&w[0]);
        an_writer_uninit(&w[1]);
    }
    ffree(x, N);
}

/* Same seed, same data: bit-identical weights; streaming; save and load
   give bit-identical scores. */
static void test_ae_determinism_stream_and_files(void)
{
    enum { N = 200, F = 1 };
    an_lstm_config c = small_config();
    an_detector *a = NULL, *b = NULL, *loaded = NULL;
    float *x = sine_series(N, F, 3), *sa = falloc(N), *sb = falloc(N), *pa, *pb;
    size_t na, nb, i;
    an_writer w;
    an_reader r;
    const void *data;
    size_t size;
    const an_detector_vtable *types[1];
    float score = 1.0f;
    c.train.epochs = 3;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &a));
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &b));
    CHECK_OK(an_detector_fit(a, x, N));
    CHECK_OK(an_detector_fit(b, x, N));
    CHECK_OK(an_lstm_param_view(a, "params", &pa, &na));
    CHECK_OK(an_lstm_param_view(b, "params", &pb, &nb));
    CHECK(na == nb && memcmp(pa, pb, na * sizeof(float)) == 0);
    /* a second fit of the same object starts over: the same weights again */
    CHECK_OK(an_detector_fit(b, x, N));
    CHECK(memcmp(pa, pb, na * sizeof(float)) == 0);
    /* streaming: 0 while warming up, then the window's last-row error */
    for (i = 0; i < c.window - 1; i++) {
        CHECK_OK(an_detector_push(a, x + i, &score));
        CHECK(score == 0.0f);
    }
    CHECK_OK(an_detector_push(a, x + i, &score));
    CHECK(score > 0.0f && score == score);
    CHECK_OK(an_detector_reset(a));
    CHECK_OK(an_detector_push(a, x, &score));
    CHECK(score == 0.0f);
    {
        float nan_row = (float)(HUGE_VAL - HUGE_VAL);
        CHECK_RESULT(an_detector_push(a, &nan_row, &score), AN_ERR_INPUT);
    }
    /* save, load, score bit for bit */
    CHECK_OK(an_detector_score(a, x, N, sa));
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(a, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    types[0] = an_lstm_ae_type();
    CHECK_OK(an_detector_load(&r, types, 1, NULL, &loaded));
    if (loaded) {
        CHECK_OK(an_detector_score(loaded, x, N, sb));
        CHECK(memcmp(sa, sb, N * sizeof(float)) == 0);
        CHECK(an_lstm_config_of(loaded)->window == c.window);
        {
            an_lstm_info i1, i2;
            CHECK_OK(an_lstm_info_get(a, &i1));
            CHECK_OK(an_lstm_info_get(loaded, &i2));
            CHECK(i1.score_p99 == i2.score_p99 && i1.score_std == i2.score_std && i1.epochs_run == i2.epochs_run);
            an_lstm_train_config t = an_lstm_config_of(loaded)->train;   /* the file's */
            CHECK(t.epochs == c.train.epochs && t.adam.lr == c.train.adam.lr);
            t.epochs = 1;   /* a loaded model trains on */
            CHECK_OK(an_lstm_update(loaded, x, N, &t));
            CHECK_OK(an_lstm_info_get(loaded, &i2));
            CHECK(i2.epochs_run == i1.epochs_run + 1);
        }
        an_detector_destroy(loaded);
    }
    /* every truncation and every flipped byte is an error, never a crash */
    {
        unsigned char *copy = (unsigned char *)malloc(size);
        size_t k;
        int all_failed = 1;
        for (k = 0; k < size; k++) {
            memcpy(copy, data, size);
            copy[k] ^= 0x5a;
            if (an_model_open(&r, copy, size) == AN_OK && an_detector_load(&r, types, 1, NULL, &loaded) == AN_OK) {
                all_failed = 0;
                an_detector_destroy(loaded);
            }
            if (an_model_open(&r, data, k) == AN_OK && an_detector_load(&r, types, 1, NULL, &loaded) == AN_OK) {
                all_failed = 0;
                an_detector_destroy(loaded);
            }
        }
        CHECK(all_failed);
        free(copy);
    }
    an_writer_uninit(&w);
    an_detector_destroy(a);
    an_detector_destroy(b);
    ffree(x, N * F);
    ffree(sa, N);
    ffree(sb, N);
}

/* Memory: what an_lstm_ae_memory reports is what create and fit take. */
typedef struct peak_counting {
    long calls, live, fail_at;
    size_t bytes, peak, max_one;   /* live bytes, their peak, the largest single allocation */
} peak_counting;

static void *count_alloc(void *user, size_t size, size_t align)
{
    peak_counting *c = (peak_counting *)user;
    void *p;
    if (++c->calls == c->fail_at) return NULL;
    p = an_malloc(NULL, size, align);
    if (p) { c->live++; c->bytes += size; if (c->bytes > c->peak) c->peak = c->bytes; }
    if (p && size > c->max_one) c->max_one = size;
    return p;
}

static void count_free(void *user, void *ptr, size_t size)
{
    peak_counting *c = (peak_counting *)user;
    c->live--;
    c->bytes -= size;
    an_free(NULL, ptr, size);
}

/* A hostile file with valid CRCs: bad configuration values, a wrong
   parameter count and a missing 'LAGG' chunk are AN_ERR_CORRUPT. */
static void write_config(an_writer *w, uint64_t window, uint64_t units, uint64_t n_params, uint64_t batch,
                         int with_agg)
{
    int k;
    an_write_begin(w, AN_TAG_DETECTOR);
    an_write_begin(w, AN_TAG_TYPE);
    an_write_u32(w, AN_TAG_LSTM_AE);
    an_write_end(w);
    an_write_begin(w, AN_TAG('L', 'A', 'E', 'C'));
    an_write_u32(w, 1);
    an_write_u64(w, window);
    an_write_u64(w, 1);   /* features */
    an_write_u64(w, 1);   /* layers */
    an_write_u64(w, units);
    an_write_u64(w, 0); an_write_u64(w, 0); an_write_u64(w, 0);
    an_write_u64(w, 0);   /* latent */
    for (k = 0; k < 3; k++) an_write_u64(w, 0);   /* activation, loss, scaler */
    an_write_u64(w, 1); an_write_u64(w, batch); an_write_u64(w, 1); an_write_u64(w, 0); an_write_u64(w, 1);
    an_write_f64(w, 0.1); an_write_f64(w, 0.0); an_write_f64(w, 1e-3); an_write_f64(w, 0.9);
    an_write_f64(w, 0.999); an_write_f64(w, 1e-8); an_write_f64(w, 0.0); an_write_f64(w, 0.0);
    an_write_end(w);
    if (with_agg) {   /* required: no default for files without it */
        an_write_begin(w, AN_TAG('L', 'A', 'G', 'G'));
        an_write_u32(w, 0);
        an_write_u32(w, 2);
        an_write_end(w);
    }
    an_write_begin(w, AN_TAG('L', 'A', 'E', 'P'));
    an_write_u64(w, n_params);
    for (k = 0; k < (n_params < 1000 ? (int)n_params : 3); k++) an_write_f32(w, 0.5f);
    an_write_end(w);
    an_write_end(w);
}

/* Parameters of a window-8, 1-feature, 4-unit autoencoder: encoder and
   decoder LSTM, output dense 4 -> 1. */
#define AE_8_4_PARAMS (an_lstm_layer_param_count(1, 4) + an_lstm_layer_param_count(4, 4) + 4 + 1)

static void test_ae_hostile_files(void)
{
    static const struct { uint64_t window, units, n_params; } cases[] = {
        { 0, 4, 3 }, { 1000000000, 4, 3 }, { 8, 0, 3 }, { 8, 1u << 20, 3 }, { 8, 4, 3 }, { 8, 4, (uint64_t)1 << 62 },
        { 8, 4096, 3 },   /* 4096 units: 134M parameters the file does not hold */
        { 8, 4, 0 },      /* with the right parameter count but no 'LAGG' chunk */
    };
    const an_detector_vtable *types[1];
    size_t k;
    types[0] = an_lstm_ae_type();
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        an_writer w;
        an_reader r;
        const void *data;
        size_t size;
        an_detector *d = (an_detector *)&w;
        CHECK_OK(an_writer_init(&w, NULL));
        write_config(&w, cases[k].window, cases[k].units, cases[k].n_params ? cases[k].n_params : AE_8_4_PARAMS, 4,
                     cases[k].n_params != 0);
        CHECK_OK(an_writer_finish(&w, &data, &size));
        CHECK_OK(an_model_open(&r, data, size));
        CHECK_RESULT(an_detector_load(&r, types, 1, NULL, &d), AN_ERR_CORRUPT);
        CHECK(d == NULL);
        an_writer_uninit(&w);
    }
    {   /* the last case with its 'LAGG' chunk is a model */
        an_writer w;
        an_reader r;
        const void *data;
        size_t size;
        an_detector *d = NULL;
        CHECK_OK(an_writer_init(&w, NULL));
        write_config(&w, 8, 4, AE_8_4_PARAMS, 4, 1);
        CHECK_OK(an_writer_finish(&w, &data, &size));
        CHECK_OK(an_model_open(&r, data, size));
        CHECK_OK(an_detector_load(&r, types, 1, NULL, &d));
        CHECK(d && an_lstm_config_of(d)->window_agg == AN_AGG_LAST);
        an_detector_destroy(d);
        an_writer_uninit(&w);
    }
    {   /* tiny files asking for window 100000 and batch 300 or 65536 (2 GiB,
           48 GB of activations): the batch is the loader's choice, and no
           allocation may exceed the parameters plus the load slack */
        static const uint64_t batches[] = { 300, 65536 };
        an_lstm_config c = an_lstm_ae_config_init(100000, 1);
        an_detector *d = NULL;
        size_t q;
        for (q = 0; q < 2; q++) {
            an_writer w;
            an_reader r;
            const void *data;
            size_t size;
            peak_counting cnt;
            an_allocator a;
            memset(&cnt, 0, sizeof cnt);
            a.user = &cnt;
            a.alloc = count_alloc;
            a.free = count_free;
            CHECK_OK(an_writer_init(&w, NULL));
            write_config(&w, 100000, 1, an_lstm_layer_param_count(1, 1) * 2 + 2, batches[q], 1);
            CHECK_OK(an_writer_finish(&w, &data, &size));
            CHECK(size < 600);
            CHECK_OK(an_model_open(&r, data, size));
            CHECK_OK(an_detector_load(&r, types, 1, &a, &d));
            if (getenv("LSTM_VERBOSE"))
                printf("  hostile %zu-byte file, batch %u: largest allocation %zu bytes, batch %zu\n", size,
                       (unsigned)batches[q], cnt.max_one, d ? an_lstm_config_of(d)->batch : 0);
            CHECK(cnt.max_one <= ANOMALY_LSTM_LOAD_SLACK_BYTES + 4096 && cnt.peak <= ANOMALY_LSTM_LOAD_SLACK_BYTES + 8192);
            CHECK(d && an_lstm_config_of(d)->batch <= 32);
            an_detector_destroy(d);
            d = NULL;
            CHECK(cnt.live == 0);
            an_writer_uninit(&w);
        }
        c.batch = 65536;
        c.units[0] = 4096;
        CHECK_RESULT(an_lstm_ae_create(&c, 1, NULL, &d), AN_ERR_TOO_LARGE);
        CHECK(d == NULL);
    }
}

/* Corruption past the CRCs: flip bytes of a saved forecaster (scaler,
   every chunk kind) and re-sign every chunk, so the loader's own checks
   must catch what is wrong.  Every outcome must be an error code or a
   model that scores without crashing (ASan/UBSan watch this in make
   sanitize). */
static uint32_t get32(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(unsigned char *p, uint32_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24); }

/* Recomputes the CRC of every chunk in [at, end) (recursing into DETC). */
static void resign(unsigned char *p, size_t at, size_t end)
{
    while (at + 12 <= end) {
        uint32_t tag = get32(p + at), len = get32(p + at + 4);
        if (len > end - at - 12) return;
        if (tag == AN_TAG_DETECTOR) resign(p, at + 8, at + 8 + len);
        put32(p + at + 8 + len, an_crc32(0, p + at, 8 + len));
        at += 12 + len;
    }
}

static void test_resigned_corruption(void)
{
    enum { N = 120 };
    an_lstm_config c = an_lstm_forecaster_config_init(6, 3, 2);
    an_detector *d = NULL, *e;
    float *x = sine_series(N, 2, 51), s[N];
    const an_detector_vtable *types[3];
    an_writer w;
    an_reader r;
    const void *data;
    unsigned char *copy;
    size_t size, k, loaded = 0, rejected = 0;
    int pattern;
    c.train.epochs = 1;
    c.scaler = AN_SCALER_MINMAX;
    types[0] = an_lstm_ae_type();
    types[1] = an_lstm_forecaster_type();
    types[2] = an_lstm_classifier_type();
    CHECK_OK(an_lstm_forecaster_create(&c, 2, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    copy = (unsigned char *)malloc(size);
    for (pattern = 0; pattern < 3; pattern++)
        for (k = AN_MODEL_HEADER_BYTES; k < size; k++) {
            an_result res;
            memcpy(copy, data, size);
            copy[k] = pattern == 0 ? (unsigned char)(copy[k] ^ 0x01) : (pattern == 1 ? (unsigned char)(copy[k] ^ 0x80) : 0xff);
            resign(copy, AN_MODEL_HEADER_BYTES, size);
            if (an_model_open(&r, copy, size) != AN_OK) { rejected++; continue; }
            res = an_detector_load(&r, types, 3, NULL, &e);
            if (res != AN_OK) { CHECK(e == NULL); rejected++; continue; }
            loaded++;
            res = an_detector_score(e, x, N, s);
            if (!(res == AN_OK || res == AN_ERR_NUMERIC || res == AN_ERR_TOO_SHORT))
                TEST__FAIL("byte %zu pattern %d: score returned %s", k, pattern, an_result_str(res));
            an_detector_destroy(e);
        }
    if (getenv("LSTM_VERBOSE")) printf("  re-signed corruption: %zu loaded (values changed), %zu rejected\n", loaded, rejected);
    CHECK(rejected > 0 && loaded > 0);
    free(copy);
    an_writer_uninit(&w);
    an_detector_destroy(d);
    ffree(x, N * 2);
}

/* Bad arguments and data are errors with the right code. */
static void test_ae_errors(void)
{
    an_lstm_config c = small_config();
    an_detector *d = NULL;
    float x[64], s[64], *v;
    size_t n, i;
    double loss;
    for (i = 0; i < 64; i++) x[i] = (float)sin((double)i);
    CHECK_RESULT(an_lstm_ae_create(NULL, 1, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_ae_create(&c, 0, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_ae_create(&c, AN_LSTM_MAX_FEATURES + 1, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_ae_memory(&c, 0, NULL, NULL), AN_ERR_INVALID_ARG);
    c.window = 0;
    CHECK_RESULT(an_lstm_ae_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = small_config();
    c.n_layers = 5;
    CHECK_RESULT(an_lstm_ae_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = small_config();
    c.train.adam.lr = -1.0;
    CHECK_RESULT(an_lstm_ae_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = small_config();
    c.loss = AN_LOSS_BCE;
    CHECK_RESULT(an_lstm_ae_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    c = small_config();
    c.train.val_fraction = 0.0;
    c.train.epochs = 1;
    CHECK(d == NULL);
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_RESULT(an_detector_score(d, x, 64, s), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_detector_fit(d, x, 15), AN_ERR_TOO_SHORT);
    x[5] = (float)(HUGE_VAL - HUGE_VAL);
    CHECK_RESULT(an_detector_fit(d, x, 64), AN_ERR_INPUT);
    x[5] = (float)HUGE_VAL;
    CHECK_RESULT(an_detector_fit(d, x, 64), AN_ERR_INPUT);
    x[5] = 0.5f;
    CHECK_OK(an_detector_fit(d, x, 64));
    CHECK_RESULT(an_detector_score(d, x, 15, s), AN_ERR_TOO_SHORT);
    x[7] = (float)(HUGE_VAL - HUGE_VAL);
    CHECK_RESULT(an_detector_score(d, x, 64, s), AN_ERR_INPUT);
    x[7] = 0.5f;
    CHECK_OK(an_detector_score(d, x, 64, s));
    for (i = 0; i < 64; i++) CHECK(s[i] >= 0.0f && s[i] == s[i]);
    CHECK_RESULT(an_lstm_loss_grad(d, x, 17, &loss, NULL), AN_ERR_SHAPE);
    CHECK_RESULT(an_lstm_param_view(d, "encoder.1.W_ih", &v, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_param_view(d, "latent.W", &v, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_param_view(d, "nonsense", &v, &n), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_freeze(d, (an_lstm_side)2, 0, 1), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_freeze(d, AN_LSTM_ENCODER, 1, 1), AN_ERR_INVALID_ARG);
    CHECK_OK(an_detector_gradient(d, x, 64, 3, s));
    CHECK_RESULT(an_detector_gradient(d, x, 64, 64, s), AN_ERR_INVALID_ARG);
    an_detector_destroy(d);
    {   /* a detector of another type is not an LSTM model */
        an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 8);
        an_detector *other = NULL;
        CHECK_OK(an_robust_create(&rc, 1, NULL, &other));
        CHECK(other != NULL && an_lstm_config_of(other) == NULL);
        CHECK_RESULT(an_lstm_update(other, x, 64, NULL), AN_ERR_INVALID_ARG);
        an_detector_destroy(other);
        CHECK(an_lstm_config_of(NULL) == NULL);
    }
}

/* An ensemble with a statistics member and an LSTM member loads through
   the type tables the two headers export, concatenated, with the same
   scores; without the LSTM table (or any table) the load names the
   problem: a type this program did not link. */
static void test_ensemble_loads_through_type_tables(void)
{
    enum { N = 160 };
    an_lstm_config c = small_config();
    an_ensemble_config ec = an_ensemble_config_init();
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 0);
    an_detector *e = NULL, *m = NULL, *loaded = NULL;
    const an_detector_vtable *types[16];
    size_t n_stats, n_lstm;
    const an_detector_vtable *const *stats = an_stats_types(&n_stats), *const *lstm = an_lstm_types(&n_lstm);
    float *x = sine_series(N, 1, 4), s1[N], s2[N];
    an_writer w;
    an_reader r;
    const void *data;
    size_t size;
    uint32_t tag = 1;
    CHECK_EQ_SIZE(n_stats, 10);
    CHECK_EQ_SIZE(n_lstm, 4);
    CHECK(lstm[0] == an_lstm_ae_type() && lstm[1] == an_lstm_forecaster_type() && lstm[2] == an_lstm_classifier_type() &&
          lstm[3] == an_vae_type());
    CHECK(stats[0] == an_mad_type() && stats[8] == an_iforest_type() && stats[9] == an_stl_runs_type());
    memcpy(types, stats, n_stats * sizeof *types);
    memcpy(types + n_stats, lstm, n_lstm * sizeof *types);
    c.train.epochs = 2;
    ec.pool = AN_POOL_SURPRISE;
    CHECK_OK(an_ensemble_create(&ec, 1, NULL, &e));
    CHECK_OK(an_robust_create(&rc, 1, NULL, &m));
    CHECK_OK(an_ensemble_add(e, m, 0.6, AN_MEMBER_BASELINE));
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &m));
    CHECK_OK(an_ensemble_add(e, m, 0.4, AN_MEMBER_OPTIONAL));
    CHECK_OK(an_detector_fit(e, x, N));
    CHECK_OK(an_detector_score(e, x, N, s1));
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(e, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_load(&r, types, n_stats + n_lstm, NULL, &loaded));
    if (loaded) {
        CHECK_OK(an_ensemble_reserve(loaded, N));
        CHECK_OK(an_detector_score(loaded, x, N, s2));
        CHECK(memcmp(s1, s2, sizeof s1) == 0);
        an_detector_destroy(loaded);
    }
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_missing_type(&r, types, n_stats + n_lstm, &tag));
    CHECK(tag == 0);
    CHECK_OK(an_detector_missing_type(&r, types, n_stats, &tag));       /* names the LSTM */
    CHECK(tag == an_lstm_ae_type()->tag);
    CHECK_OK(an_detector_missing_type(&r, NULL, 0, &tag));              /* the first member */
    CHECK(tag == an_mad_type()->tag);
    CHECK(r.pos == 0);
    CHECK_RESULT(an_detector_load(&r, types, n_stats, NULL, &loaded), AN_ERR_UNSUPPORTED);
    CHECK(loaded == NULL);
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_RESULT(an_detector_load(&r, NULL, 0, NULL, &loaded), AN_ERR_UNSUPPORTED);
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_RESULT(an_ensemble_load(&r, lstm, n_lstm, NULL, &loaded), AN_ERR_UNSUPPORTED);
    an_writer_uninit(&w);
    an_detector_destroy(e);
    ffree(x, N);
}

/* Early stopping, cancelling, freezing and fine-tuning. */
static void test_ae_training_controls(void)
{
    enum { N = 160 };
    an_lstm_config c = small_config();
    an_detector *d = NULL;
    float *x = sine_series(N, 1, 4), *enc, *dec, *enc0, *dec0;
    size_t ne, nd;
    progress_log log;
    memset(&log, 0, sizeof log);
    c.train.epochs = 10;
    c.train.patience = 2;
    c.train.min_delta = 1e9;   /* nothing after the first epoch counts as better */
    c.train.progress = log_progress;
    c.train.progress_user = &log;
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_EQ_SIZE(log.calls, 3);          /* epoch 1 improves, 2 and 3 do not */
    memset(&log, 0, sizeof log);
    log.cancel_at = 2;
    {   /* an_detector_fit trains with the model's own training configuration */
        an_lstm_train_config t = c.train;
        t.patience = 0;
        CHECK_OK(an_lstm_set_train_config(d, &t));
        CHECK(an_lstm_config_of(d)->train.patience == 0);
    }
    CHECK_RESULT(an_detector_fit(d, x, N), AN_ERR_CANCELLED);
    CHECK(!d->fitted);
    CHECK_EQ_SIZE(log.calls, 2);
    log.cancel_at = 0;
    CHECK_OK(an_detector_fit(d, x, N));
    /* freeze the encoder, fine-tune with a lower rate: only the decoder moves */
    CHECK_OK(an_lstm_param_view(d, "encoder.0.W_hh", &enc, &ne));
    CHECK_OK(an_lstm_param_view(d, "decoder.0.W_hh", &dec, &nd));
    enc0 = falloc(ne);
    dec0 = falloc(nd);
    memcpy(enc0, enc, ne * sizeof(float));
    memcpy(dec0, dec, nd * sizeof(float));
    CHECK_OK(an_lstm_freeze(d, AN_LSTM_ENCODER, 0, 1));
    {
        an_lstm_train_config t = an_lstm_config_of(d)->train;
        t.adam.lr = 1e-3;
        t.epochs = 2;
        t.min_delta = 0.0;
        CHECK_OK(an_lstm_update(d, x, N, &t));
    }
    CHECK(memcmp(enc0, enc, ne * sizeof(float)) == 0);
    CHECK(memcmp(dec0, dec, nd * sizeof(float)) != 0);
    ffree(enc0, ne);
    ffree(dec0, nd);
    ffree(x, N);
    an_detector_destroy(d);
}

/* A learning rate far too large: training either ends with AN_ERR_NUMERIC
   or leaves a model whose scores are finite; NaN never comes out. */
static void test_divergence(void)
{
    enum { N = 160 };
    float *x = sine_series(N, 1, 71), s[N];
    an_lstm_config c = small_config();
    an_detector *d = NULL;
    an_result r;
    size_t i;
    c.train.adam.lr = 500.0;
    c.activation = AN_ACT_LINEAR;
    c.train.epochs = 5;
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    r = an_detector_fit(d, x, N);
    CHECK(r == AN_OK || r == AN_ERR_NUMERIC);
    if (r == AN_OK) {
        r = an_detector_score(d, x, N, s);
        CHECK(r == AN_OK || r == AN_ERR_NUMERIC);
        if (r == AN_OK)
            for (i = 0; i < N; i++) CHECK(s[i] == s[i] && s[i] - s[i] == 0.0f);
    } else {
        CHECK_RESULT(an_detector_score(d, x, N, s), AN_ERR_NOT_FITTED);
    }
    if (getenv("LSTM_VERBOSE")) printf("  divergence: fit returned %s\n", an_result_str(r));
    an_detector_destroy(d);
    ffree(x, N);
}

static an_result job_fit_save_load(const an_allocator *a, size_t *peak_create, size_t *peak_fit)
{
    enum { N = 80 };
    an_lstm_config c = small_config();
    an_detector *d = NULL, *e = NULL;
    float x[N], s[N];
    an_writer w;
    an_reader r;
    const void *data;
    size_t size, i;
    const an_detector_vtable *types[1];
    peak_counting *cnt = (peak_counting *)a->user;
    an_result res;
    for (i = 0; i < N; i++) x[i] = (float)sin(0.3 * (double)i);
    c.train.epochs = 1;
    c.n_layers = 2;
    c.units[1] = 4;
    c.latent = 3;
    c.scaler = AN_SCALER_ROBUST;
    types[0] = an_lstm_ae_type();
    if ((res = an_lstm_ae_create(&c, 1, a, &d)) != AN_OK) return res;
    if (peak_create) *peak_create = cnt->peak;
    if ((res = an_detector_fit(d, x, N)) != AN_OK) goto out;
    if (peak_fit) *peak_fit = cnt->peak;
    if ((res = an_writer_init(&w, a)) != AN_OK) goto out;
    if ((res = an_detector_save(d, &w)) == AN_OK && (res = an_writer_finish(&w, &data, &size)) == AN_OK &&
        (res = an_model_open(&r, data, size)) == AN_OK && (res = an_detector_load(&r, types, 1, a, &e)) == AN_OK) {
        res = an_detector_score(e, x, N, s);
        an_detector_destroy(e);
    }
    an_writer_uninit(&w);
out:
    an_detector_destroy(d);
    return res;
}

static void test_ae_memory_and_allocation_failures(void)
{
    an_lstm_config c = small_config();
    peak_counting cnt;
    an_allocator a;
    size_t inference, training, peak_create = 0, peak_fit = 0;
    long k;
    c.n_layers = 2;
    c.units[1] = 4;
    c.latent = 3;
    c.scaler = AN_SCALER_ROBUST;
    CHECK_OK(an_lstm_ae_memory(&c, 1, &inference, &training));
    memset(&cnt, 0, sizeof cnt);
    a.user = &cnt;
    a.alloc = count_alloc;
    a.free = count_free;
    CHECK_OK(job_fit_save_load(&a, &peak_create, &peak_fit));
    CHECK(cnt.live == 0 && cnt.bytes == 0);
    /* create: the inference block and the object, plus the scaler's two
       feature arrays; fit adds the training block and the scratch */
    if (getenv("LSTM_VERBOSE"))
        printf("  memory: reported %zu + %zu, create took %zu, fit peak %zu\n", inference, training, peak_create, peak_fit);
    CHECK(peak_create >= inference && peak_create <= inference + 256);
    /* scratch: 80 rows of scaled data, the window order (also the scores), the robust scaler's sort */
    CHECK(peak_fit >= inference + training &&
          peak_fit <= inference + training + 256 + 80 * (sizeof(float) + sizeof(size_t)) + 80 * sizeof(float) + 256);
    /* every allocation failing in turn: AN_ERR_NOMEM and no leak */
    for (k = 1; k < 1000; k++) {
        an_result r;
        memset(&cnt, 0, sizeof cnt);
        cnt.fail_at = k;
        r = job_fit_save_load(&a, NULL, NULL);
        if (cnt.live != 0) TEST__FAIL("allocation %ld failing leaked %ld blocks", k, cnt.live);
        if (cnt.calls < k) { CHECK_OK(r); break; }
        if (r != AN_ERR_NOMEM) TEST__FAIL("allocation %ld failing returned %s", k, an_result_str(r));
    }
    CHECK(k > 5 && k < 1000);
}

/* Firmware: a saved model loads into one static buffer of the size
   an_lstm_ae_memory reports (plus the scaler's block and alignment
   slack) and scores and streams from it with no heap at all. */
static void test_arena_inference(void)
{
    enum { N = 150 };
    an_lstm_config c = small_config();
    an_detector *d = NULL, *e = NULL;
    float *x = sine_series(N, 1, 61), s1[N], s2[N], score;
    const an_detector_vtable *types[1];
    size_t inference, training, scaler_bytes, size, cap, i;
    unsigned char *buffer;
    an_arena arena;
    an_allocator a;
    an_writer w;
    an_reader r;
    const void *data;
    c.train.epochs = 2;
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_score(d, x, N, s1));
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_lstm_ae_memory(&c, 1, &inference, &training));
    CHECK_OK(an_scaler_heap_size(1, &scaler_bytes));
    cap = inference + scaler_bytes + 3 * AN_ALIGN;
    buffer = (unsigned char *)malloc(cap);
    CHECK_OK(an_arena_init(&arena, buffer, cap));
    a = an_arena_allocator(&arena);
    types[0] = an_lstm_ae_type();
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_OK(an_detector_load(&r, types, 1, &a, &e));
    if (e) {
        size_t used = arena.used;
        CHECK_OK(an_detector_score(e, x, N, s2));
        CHECK(memcmp(s1, s2, sizeof s1) == 0);
        for (i = 0; i < 40; i++) CHECK_OK(an_detector_push(e, x + i, &score));
        CHECK(arena.used == used);   /* scoring and streaming took nothing */
        if (getenv("LSTM_VERBOSE")) printf("  arena: reported %zu + scaler %zu, used %zu of %zu\n", inference, scaler_bytes, used, cap);
        an_detector_destroy(e);
    }
    /* one byte too few is AN_ERR_NOMEM, not a crash */
    CHECK_OK(an_arena_init(&arena, buffer, inference - 1));
    a = an_arena_allocator(&arena);
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_RESULT(an_detector_load(&r, types, 1, &a, &e), AN_ERR_NOMEM);
    free(buffer);
    an_writer_uninit(&w);
    an_detector_destroy(d);
    ffree(x, N);
}

/* Streaming: push's score of row t is the error of row t as the last row
   of the window ending at t, exactly. */
static void test_ae_push_matches_reconstruct(void)
{
    enum { N = 120 };
    an_lstm_config c = small_config();
    an_detector *d = NULL;
    float *x = sine_series(N, 1, 5), out[16], s;
    size_t i;
    c.train.epochs = 2;
    c.scaler = (an_scaler_kind)0;
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    for (i = 0; i < 40; i++) {
        CHECK_OK(an_detector_push(d, x + i, &s));
        if (i < 15) { CHECK(s == 0.0f); continue; }
        CHECK_OK(an_lstm_output(d, x + i - 15, 1, out));
        CHECK(s == (float)(((double)out[15] - x[i]) * ((double)out[15] - x[i])));
    }
    an_detector_destroy(d);
    ffree(x, N);
}

/* The detector contract's expected values (an_detector_expected, after a
   push): the autoencoder's reconstruction of the row as the last of its
   window and the forecaster's forecast of it, both in the data's units
   (an_lstm_explain's, which takes another path to them), NaN before the
   first full window and after a reset; STL + IQR's one-step forecast
   (what an_stl_iqr_expected said before the push); an ensemble's the
   weighted mean of its members' where they have one; types without
   expectations say so. */
static void test_expected_values(void)
{
    enum { N = 160, F = 2, T = 16 };
    an_lstm_config ca = small_config(), cf = an_lstm_forecaster_config_init(T, 12, 1);
    an_detector *ae = NULL, *fc = NULL, *stl = NULL, *e = NULL, *iso = NULL, *m;
    an_stl_iqr_config sc = an_stl_iqr_config_init(20);
    an_iforest_config ic = an_iforest_config_init(1);
    an_ensemble_config ec = an_ensemble_config_init();
    float *x = sine_series(N, F, 3), s, want[T * F];
    double got[F], stl_next[F], mine[F];
    an_lstm_record rec;
    size_t i, f;
    ca.train.epochs = cf.train.epochs = 3;
    cf.batch = 16;
    CHECK_OK(an_lstm_ae_create(&ca, F, NULL, &ae));
    CHECK_OK(an_lstm_forecaster_create(&cf, F, NULL, &fc));
    CHECK_OK(an_stl_iqr_create(&sc, F, NULL, &stl));
    CHECK_OK(an_iforest_create(&ic, F, NULL, &iso));
    if (!ae || !fc || !stl || !iso) return;
    CHECK_RESULT(an_detector_expected(ae, got), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_detector_expected(ae, NULL), AN_ERR_INVALID_ARG);
    CHECK_OK(an_detector_fit(ae, x, N));
    CHECK_OK(an_detector_fit(fc, x, N));
    CHECK_OK(an_detector_fit(iso, x, N));
    CHECK_RESULT(an_detector_expected(iso, got), AN_ERR_UNSUPPORTED);
    for (i = 0; i < N; i++) {
        CHECK_OK(an_detector_push(ae, x + i * F, &s));
        CHECK_OK(an_detector_expected(ae, got));
        if (i + 1 < T) {
            CHECK(got[0] != got[0] && got[1] != got[1]);
        } else {
            CHECK_OK(an_lstm_explain(ae, x, N, i, want, &rec));
            for (f = 0; f < F; f++) CHECK_NEAR(got[f], want[(T - 1) * F + f], 1e-5);
        }
        CHECK_OK(an_detector_push(fc, x + i * F, &s));
        CHECK_OK(an_detector_expected(fc, got));
        if (i < T) {
            CHECK(got[0] != got[0]);
        } else {
            CHECK_OK(an_lstm_explain(fc, x, N, i, want, &rec));
            for (f = 0; f < F; f++) CHECK_NEAR(got[f], want[f], 1e-5);
        }
    }
    CHECK_OK(an_detector_reset(fc));
    CHECK_OK(an_detector_expected(fc, got));
    CHECK(got[0] != got[0]);
    /* an ensemble of STL + IQR (0.6) and the forecaster (0.4) */
    CHECK_OK(an_ensemble_create(&ec, F, NULL, &e));
    if (!e) return;
    CHECK_OK(an_ensemble_add(e, stl, 0.6, AN_MEMBER_BASELINE));
    CHECK_OK(an_ensemble_add(e, fc, 0.4, AN_MEMBER_OPTIONAL));
    CHECK_OK(an_detector_fit(e, x, N));
    CHECK_OK(an_detector_reset(e));
    CHECK_OK(an_detector_expected(e, got));
    CHECK(got[0] != got[0]);
    for (i = 0; i < N; i++) {
        CHECK_OK(an_ensemble_member(e, 0, &m));
        CHECK_OK(an_stl_iqr_expected(m, stl_next));
        CHECK_OK(an_detector_push(e, x + i * F, &s));
        CHECK_OK(an_detector_expected(m, mine));
        for (f = 0; f < F; f++) CHECK(mine[f] == stl_next[f]);
        CHECK_OK(an_detector_expected(e, got));
        if (i < T) {
            for (f = 0; f < F; f++) CHECK_NEAR(got[f], stl_next[f], 1e-12);
        } else {
            double fc_exp[F];
            CHECK_OK(an_ensemble_member(e, 1, &m));
            CHECK_OK(an_detector_expected(m, fc_exp));
            for (f = 0; f < F; f++) CHECK_NEAR(got[f], 0.6 * stl_next[f] + 0.4 * fc_exp[f], 1e-9);
        }
    }
    an_detector_destroy(e);
    CHECK_OK(an_ensemble_create(&ec, F, NULL, &e));
    if (!e) return;
    CHECK_OK(an_ensemble_add(e, iso, 1.0, AN_MEMBER_BASELINE));
    CHECK_OK(an_detector_fit(e, x, N));
    CHECK_OK(an_detector_push(e, x, &s));
    CHECK_RESULT(an_detector_expected(e, got), AN_ERR_UNSUPPORTED);
    an_detector_destroy(e);
    an_detector_destroy(ae);
    ffree(x, N * F);
}

/* --------------------------------------------------------------------------
   The forecaster
   -------------------------------------------------------------------------- */

/* Every parameter and the input against finite differences, with dropout
   on fixed masks, two layers. */
enum { FC_T = 5, FC_F = 2, FC_P = 3, FC_B = 2 };
typedef struct fc_fd {
    an_detector *d;
    float xy[FC_B * (FC_T + FC_P) * FC_F];
} fc_fd;

static double fc_fd_loss(void *ctx)
{
    fc_fd *c = (fc_fd *)ctx;
    double l = 0.0;
    an_lstm_loss_grad(c->d, c->xy, FC_B, &l, NULL);
    return l;
}

static void test_fd_forecaster(void)
{
    an_lstm_config cfg = an_lstm_forecaster_config_init(FC_T, 4, FC_P);
    fc_fd c;
    float gx[FC_B * FC_T * FC_F], xin[FC_B * FC_T * FC_F], *grads, *g, *params;
    size_t n, b, i;
    double loss;
    an_rng rng;
    cfg.units[1] = 3;
    cfg.batch = FC_B;
    cfg.dropout = 0.4;
    cfg.scaler = (an_scaler_kind)0;
    CHECK_OK(an_lstm_forecaster_create(&cfg, FC_F, NULL, &c.d));
    if (!c.d) return;
    an_rng_seed(&rng, 11, 0);
    fill_uniform(&rng, c.xy, sizeof c.xy / sizeof c.xy[0], 1.0f);
    CHECK_OK(an_lstm_param_view(c.d, "params", &params, &n));
    for (i = 0; i < n; i++) params[i] += (2.0f * an_rng_uniformf(&rng) - 1.0f) * 0.2f;
    CHECK_OK(an_lstm_set_dropout(c.d, AN_LSTM_DROPOUT_FRESH));      /* draw masks once ... */
    CHECK_OK(an_lstm_loss_grad(c.d, c.xy, FC_B, &loss, NULL));
    CHECK_OK(an_lstm_set_dropout(c.d, AN_LSTM_DROPOUT_FIXED));      /* ... and keep them */
    CHECK_OK(an_lstm_loss_grad(c.d, c.xy, FC_B, &loss, gx));
    CHECK_NEAR(loss, fc_fd_loss(&c), 0.0);
    CHECK_OK(an_lstm_param_view(c.d, "grads", &grads, &n));
    g = falloc(n);
    memcpy(g, grads, n * sizeof(float));
    fd_check("forecaster dropout params", params, g, n, fc_fd_loss, &c);
    /* the inputs are the first T rows of each sample */
    for (b = 0; b < FC_B; b++) memcpy(xin + b * FC_T * FC_F, c.xy + b * (FC_T + FC_P) * FC_F, FC_T * FC_F * sizeof(float));
    {
        /* perturb through a copy laid out as the gradient, written back each time */
        size_t k;
        double worst = 0.0;
        for (k = 0; k < FC_B * FC_T * FC_F; k++) {
            size_t bb = k / (FC_T * FC_F), at = bb * (FC_T + FC_P) * FC_F + k % (FC_T * FC_F);
            float save = c.xy[at];
            double lp, lm, fd, err;
            c.xy[at] = (float)(save + FD_H); lp = fc_fd_loss(&c);
            c.xy[at] = (float)(save - FD_H); lm = fc_fd_loss(&c);
            c.xy[at] = save;
            fd = (lp - lm) / (2.0 * FD_H);
            err = fabs(fd - gx[k]) / (fabs(gx[k]) > FD_FLOOR ? fabs(gx[k]) : FD_FLOOR);
            if (err > worst) worst = err;
        }
        CHECK(worst <= TOL_FD * 2);
        if (getenv("LSTM_VERBOSE")) printf("  fd %-40s n=%4d worst %.2e\n", "forecaster dropout x", FC_B * FC_T * FC_F, worst);
    }
    (void)xin;
    CHECK_OK(an_lstm_set_dropout(c.d, AN_LSTM_DROPOUT_OFF));
    CHECK_RESULT(an_lstm_set_dropout(c.d, (an_lstm_dropout_mode)3), AN_ERR_INVALID_ARG);
    ffree(g, n);
    an_detector_destroy(c.d);
}

/* Learns sine + noise: forecast error falls by at least 10x; a spike
   scores above 10x every normal row; push equals the one-step error;
   save/load bit for bit; telemanom's configuration trains. */
static void test_forecaster_learns_and_detects(void)
{
    enum { N = 480, F = 1 };
    an_lstm_config c = an_lstm_forecaster_config_init(16, 12, 3);
    an_detector *d0 = NULL, *d = NULL, *loaded = NULL;
    float *train = sine_series(N, F, 6), *test = sine_series(N, F, 7), *s0 = falloc(N), *s1 = falloc(N), *s2 = falloc(N);
    double e0, e1, normal_max = 0.0;
    const an_detector_vtable *types[2];
    an_writer w;
    an_reader r;
    const void *data;
    size_t size, i;
    c.dropout = 0.1;
    c.batch = 16;
    c.train.stride = 2;
    c.train.adam.lr = 1e-2;
    c.train.patience = 0;
    c.train.epochs = 0;
    CHECK_OK(an_lstm_forecaster_create(&c, F, NULL, &d0));
    CHECK_OK(an_detector_fit(d0, train, N));
    CHECK_OK(an_detector_score(d0, test, N, s0));
    c.train.epochs = 12;
    CHECK_OK(an_lstm_forecaster_create(&c, F, NULL, &d));
    if (!d || !d0) return;
    CHECK_OK(an_detector_fit(d, train, N));
    CHECK_OK(an_detector_score(d, test, N, s1));
    for (i = 0; i < 16; i++) CHECK(s1[i] == 0.0f);
    e0 = mean_of(s0 + 16, N - 16);
    e1 = mean_of(s1 + 16, N - 16);
    if (getenv("LSTM_VERBOSE")) printf("  forecaster sine: error %.4f untrained -> %.4f trained (%.1fx)\n", e0, e1, e0 / e1);
    CHECK(e0 / e1 >= 10.0);
    test[300] += 3.0f;
    CHECK_OK(an_detector_score(d, test, N, s1));
    for (i = 16; i < N; i++)
        if ((i < 300 - 20 || i > 300 + 20) && s1[i] > normal_max) normal_max = s1[i];
    if (getenv("LSTM_VERBOSE")) printf("  forecaster sine: spike %.3f, normal max %.3f\n", s1[300], normal_max);
    CHECK(s1[300] > 10.0 * normal_max);
    {
        float expected[3];
        an_lstm_record rec;
        CHECK_OK(an_lstm_explain(d, test, N, 300, expected, &rec));
        CHECK(rec.start == 300 && rec.rows == 3 && rec.max_row == 300 && rec.max_dev > 2.0);
        CHECK_OK(an_lstm_explain(d, test, N, N - 1, expected, &rec));
        CHECK(rec.rows == 1);
        CHECK_RESULT(an_lstm_explain(d, test, N, 15, expected, &rec), AN_ERR_TOO_SHORT);
    }
    /* save / load: the same scores, bit for bit */
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    types[0] = an_lstm_ae_type();
    types[1] = an_lstm_forecaster_type();
    CHECK_OK(an_detector_load(&r, types, 2, NULL, &loaded));
    if (loaded) {
        CHECK_OK(an_detector_score(loaded, test, N, s2));
        CHECK(memcmp(s1, s2, N * sizeof(float)) == 0);
        CHECK(an_lstm_config_of(loaded)->n_predictions == 3);
        an_detector_destroy(loaded);
    }
    CHECK_OK(an_model_open(&r, data, size));
    CHECK_RESULT(an_detector_load(&r, types, 1, NULL, &loaded), AN_ERR_UNSUPPORTED);
    an_writer_uninit(&w);
    /* streaming: 0 for the first T rows, then the one-step error */
    for (i = 0; i < 300 + 1; i++) CHECK_OK(an_detector_push(d, test + i, &s2[i]));
    for (i = 0; i < 16; i++) CHECK(s2[i] == 0.0f);
    CHECK(s2[300] > 10.0 * normal_max);
    CHECK(s2[299] < s2[300] / 10.0f);
    {   /* stateful streaming: one LSTM step per row; the carried state is
           not training's (zero T rows back), so normal rows score higher
           than windowed push (9x here), while the spike still stands out */
        float *st = falloc(N), *pa, *pb;
        double mean_w = 0.0, mean_s = 0.0, st_max = 0.0;
        size_t na = 0, nb = 0;
        an_lstm_config cs = c;
        an_detector *ds = NULL;
        cs.stateful_stream = 1;   /* fixed at create: the same training gives the same weights */
        CHECK_OK(an_lstm_forecaster_create(&cs, F, NULL, &ds));
        if (!ds) return;
        CHECK_OK(an_detector_fit(ds, train, N));
        CHECK_OK(an_lstm_param_view(d, "params", &pa, &na));
        CHECK_OK(an_lstm_param_view(ds, "params", &pb, &nb));
        CHECK(na == nb && memcmp(pa, pb, na * sizeof(float)) == 0);
        for (i = 0; i < N; i++) CHECK_OK(an_detector_push(ds, test + i, &st[i]));
        for (i = 0; i < 16; i++) CHECK(st[i] == 0.0f);
        for (i = 16; i < 290; i++) { mean_w += s2[i]; mean_s += st[i]; if (st[i] > st_max) st_max = st[i]; }
        if (getenv("LSTM_VERBOSE"))
            printf("  forecaster stateful stream: mean error %.4f (windowed %.4f), spike %.3f, normal max %.3f\n",
                   mean_s / 274, mean_w / 274, st[300], st_max);
        CHECK(mean_s < 20.0 * mean_w + 0.01);   /* measured 9x: the state drifts from training's */
        CHECK(st[300] > 10.0 * st_max);
        an_detector_destroy(ds);
        ffree(st, N);
    }
    an_detector_destroy(d0);
    an_detector_destroy(d);
    /* telemanom's configuration: window 250, 2 x 80, dropout 0.3, 10 predictions */
    {
        an_lstm_config t = an_lstm_forecaster_config_init(250, 80, 10);
        float *x = sine_series(300, 1, 8), *sc = falloc(300);
        size_t inference, training;
        t.train.epochs = 1;
        t.batch = 16;
        t.train.stride = 4;
        t.train.val_fraction = 0.0;
        CHECK_OK(an_lstm_forecaster_memory(&t, 1, &inference, &training));
        CHECK(inference > 4 * (4 * 80 * 81 + 4 * 80 * 160));
        CHECK_OK(an_lstm_forecaster_create(&t, 1, NULL, &d));
        if (d) {
            CHECK_OK(an_detector_fit(d, x, 300));
            CHECK_OK(an_detector_score(d, x, 300, sc));
            for (i = 250; i < 300; i++) CHECK(sc[i] >= 0.0f && sc[i] == sc[i]);
            an_detector_destroy(d);
        }
        ffree(x, 300);
        ffree(sc, 300);
    }
    /* errors */
    c.n_predictions = 0;
    CHECK_RESULT(an_lstm_forecaster_create(&c, F, NULL, &d), AN_ERR_INVALID_ARG);
    c.n_predictions = 3;
    c.dropout = 1.0;
    CHECK_RESULT(an_lstm_forecaster_create(&c, F, NULL, &d), AN_ERR_INVALID_ARG);
    c = an_lstm_ae_config_init(16, 4);
    c.dropout = 0.2;
    CHECK_RESULT(an_lstm_ae_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    ffree(train, N);
    ffree(test, N);
    ffree(s0, N);
    ffree(s1, N);
    ffree(s2, N);
}

/* --------------------------------------------------------------------------
   The classifier
   -------------------------------------------------------------------------- */

enum { CL_T = 4, CL_F = 2, CL_K = 3, CL_B = 2 };
typedef struct cl_fd {
    an_detector *d;
    float xy[CL_B * (CL_T * CL_F + CL_K)];
} cl_fd;

static double cl_fd_loss(void *ctx)
{
    cl_fd *c = (cl_fd *)ctx;
    double l = 0.0;
    an_lstm_loss_grad(c->d, c->xy, CL_B, &l, NULL);
    return l;
}

/* Focal loss with class weights and dropout on fixed masks: every
   parameter against finite differences. */
/* A model saved in the middle of a stream goes on from there: the rows
   pushed after the cut score bit for bit as in one run, for the
   autoencoder and the windowed and stateful forecaster, cut before and
   after the first full window. */
static void test_stream_survives_save(void)
{
    enum { N = 120, F = 2 };
    float *x = sine_series(N, F, 9);
    const an_detector_vtable *types[2];
    size_t kind, cut, i;
    types[0] = an_lstm_ae_type();
    types[1] = an_lstm_forecaster_type();
    for (kind = 0; kind < 3; kind++)
        for (cut = 5; cut <= 40; cut += 35) {
            an_lstm_config c = kind ? an_lstm_forecaster_config_init(12, 6, 2) : an_lstm_ae_config_init(12, 6);
            an_detector *d = NULL, *e = NULL;
            an_writer w;
            an_reader r;
            const void *data;
            size_t size;
            float p, q;
            int same = 1;
            c.train.epochs = 2;
            c.stateful_stream = kind == 2;
            CHECK_OK(kind ? an_lstm_forecaster_create(&c, F, NULL, &d) : an_lstm_ae_create(&c, F, NULL, &d));
            if (!d) continue;
            CHECK_OK(an_detector_fit(d, x, N));
            for (i = 0; i < cut; i++) CHECK_OK(an_detector_push(d, x + i * F, &p));
            CHECK_OK(an_writer_init(&w, NULL));
            CHECK_OK(an_detector_save(d, &w));
            CHECK_OK(an_writer_finish(&w, &data, &size));
            CHECK_OK(an_model_open(&r, data, size));
            CHECK_OK(an_detector_load(&r, types, 2, NULL, &e));
            for (i = cut; e && i < N; i++) {
                CHECK_OK(an_detector_push(d, x + i * F, &p));
                CHECK_OK(an_detector_push(e, x + i * F, &q));
                same &= p == q;
            }
            CHECK(same);
            an_detector_destroy(e);
            an_writer_uninit(&w);
            an_detector_destroy(d);
        }
    ffree(x, N * F);
}

static void test_fd_classifier(void)
{
    an_lstm_config cfg = an_lstm_classifier_config_init(CL_T, 4, CL_K);
    float w[CL_K] = { 1.0f, 3.0f, 0.5f }, *params, *grads, *g;
    cl_fd c;
    size_t n, i;
    double loss;
    an_rng rng;
    cfg.n_layers = 2;
    cfg.units[1] = 3;
    cfg.batch = CL_B;
    cfg.loss = AN_LOSS_FOCAL;
    cfg.gamma = 2.0;
    cfg.class_weight = w;
    cfg.dropout = 0.3;
    cfg.scaler = (an_scaler_kind)0;
    CHECK_OK(an_lstm_classifier_create(&cfg, CL_F, NULL, &c.d));
    if (!c.d) return;
    an_rng_seed(&rng, 12, 0);
    for (i = 0; i < CL_B; i++) {
        float *sample = c.xy + i * (CL_T * CL_F + CL_K);
        fill_uniform(&rng, sample, CL_T * CL_F, 1.0f);
        sample[CL_T * CL_F] = 1.0f;
        sample[CL_T * CL_F + 1] = (float)i;
        sample[CL_T * CL_F + 2] = 0.25f;
    }
    CHECK_OK(an_lstm_param_view(c.d, "params", &params, &n));
    for (i = 0; i < n; i++) params[i] += (2.0f * an_rng_uniformf(&rng) - 1.0f) * 0.3f;
    CHECK_OK(an_lstm_set_dropout(c.d, AN_LSTM_DROPOUT_FRESH));
    CHECK_OK(an_lstm_loss_grad(c.d, c.xy, CL_B, &loss, NULL));
    CHECK_OK(an_lstm_set_dropout(c.d, AN_LSTM_DROPOUT_FIXED));
    CHECK_OK(an_lstm_loss_grad(c.d, c.xy, CL_B, &loss, NULL));
    CHECK_OK(an_lstm_param_view(c.d, "grads", &grads, &n));
    g = falloc(n);
    memcpy(g, grads, n * sizeof(float));
    fd_check("classifier focal dropout params", params, g, n, cl_fd_loss, &c);
    ffree(g, n);
    an_detector_destroy(c.d);
}

/* Windows of a noisy sine; label 0 = a spike somewhere, label 1 = the
   second half shifted up (independent, so both, either or none). */
static void labelled_windows(size_t n, size_t T, uint64_t seed, float *x, float *y)
{
    an_rng rng;
    size_t i, t;
    an_rng_seed(&rng, seed, 9);
    for (i = 0; i < n; i++) {
        int spike = an_rng_uniform(&rng) < 0.5, shift = an_rng_uniform(&rng) < 0.5;
        size_t at = (size_t)an_rng_below(&rng, T);
        double phase = 20.0 * an_rng_uniform(&rng);
        for (t = 0; t < T; t++)
            x[i * T + t] = (float)(sin(2.0 * 3.14159265358979 * ((double)t + phase) / 10.0) +
                                   0.05 * an_rng_normal(&rng) + (spike && t == at ? 3.0 : 0.0) +
                                   (shift && t >= T / 2 ? 1.5 : 0.0));
        y[2 * i] = (float)spike;
        y[2 * i + 1] = (float)shift;
    }
}

static void test_classifier_learns(void)
{
    enum { N = 400, T = 12 };
    an_lstm_config c = an_lstm_classifier_config_init(T, 16, 2);
    an_detector *d = NULL, *loaded = NULL;
    float *x = falloc(N * T), *y = falloc(2 * N), *xt = falloc(N * T), *yt = falloc(2 * N);
    float *p = falloc(2 * N), *p2 = falloc(2 * N), s[40];
    const an_detector_vtable *types[1];
    size_t i, right = 0;
    an_writer w;
    an_reader r;
    const void *data;
    size_t size;
    c.train.epochs = 15;
    c.batch = 16;
    c.train.adam.lr = 1e-2;
    c.train.patience = 0;
    labelled_windows(N, T, 1, x, y);
    labelled_windows(N, T, 2, xt, yt);
    CHECK_OK(an_lstm_classifier_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_RESULT(an_detector_fit(d, x, N * T), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_lstm_classifier_predict(d, xt, N, p), AN_ERR_NOT_FITTED);
    y[3] = 2.0f;
    CHECK_RESULT(an_lstm_classifier_train(d, x, y, N, NULL), AN_ERR_INPUT);
    y[3] = 1.0f;
    labelled_windows(N, T, 1, x, y);
    CHECK_OK(an_lstm_classifier_train(d, x, y, N, NULL));
    CHECK_OK(an_lstm_classifier_predict(d, xt, N, p));
    for (i = 0; i < 2 * N; i++) right += (p[i] > 0.5f) == (yt[i] > 0.5f);
    if (getenv("LSTM_VERBOSE")) printf("  classifier: %.1f%% of %d held-out labels right\n", 100.0 * right / (2.0 * N), 2 * N);
    CHECK(right >= (size_t)(0.9 * 2 * N));
    /* as a detector on a series: probabilities in [0, 1], 0 before the first window */
    CHECK_OK(an_detector_score(d, xt, 40, s));
    for (i = 0; i < T - 1; i++) CHECK(s[i] == 0.0f);
    for (i = T - 1; i < 40; i++) CHECK(s[i] >= 0.0f && s[i] <= 1.0f);
    /* save and load: the same probabilities */
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    types[0] = an_lstm_classifier_type();
    CHECK_OK(an_detector_load(&r, types, 1, NULL, &loaded));
    if (loaded) {
        CHECK_OK(an_lstm_classifier_predict(loaded, xt, N, p2));
        CHECK(memcmp(p, p2, 2 * N * sizeof(float)) == 0);
        an_detector_destroy(loaded);
    }
    an_writer_uninit(&w);
    /* configuration errors */
    c.loss = AN_LOSS_MSE;
    CHECK_RESULT(an_lstm_classifier_create(&c, 1, NULL, &loaded), AN_ERR_INVALID_ARG);
    c.loss = AN_LOSS_BCE;
    c.n_classes = 0;
    CHECK_RESULT(an_lstm_classifier_create(&c, 1, NULL, &loaded), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_update(d, x, N * T, NULL), AN_ERR_UNSUPPORTED);
    {
        an_lstm_record rec;
        CHECK_RESULT(an_lstm_explain(d, xt, 40, 20, p, &rec), AN_ERR_UNSUPPORTED);
    }
    an_detector_destroy(d);
    ffree(x, N * T); ffree(y, 2 * N); ffree(xt, N * T); ffree(yt, 2 * N); ffree(p, 2 * N); ffree(p2, 2 * N);
}

/* The classifier trains on labelled windows only: its type has no fit
   slot, so an_detector_fit on a trained classifier is AN_ERR_UNSUPPORTED
   and leaves it trained (the generic fit marks a detector unfitted when
   its fit fails). */
static void test_classifier_has_no_fit(void)
{
    enum { T = 4, NW = 24, K = 2 };
    an_lstm_config c = an_lstm_classifier_config_init(T, 4, K);
    an_detector *d = NULL;
    float *x = sine_series(NW * T, 1, 84), labels[NW * K], p0[NW * K], p1[NW * K], s[NW * T];
    size_t i;
    c.train.epochs = 1;
    c.batch = 8;
    for (i = 0; i < NW * K; i++) labels[i] = (float)(i % 3 == 1);
    CHECK(an_lstm_classifier_type()->fit == NULL);
    CHECK(an_lstm_ae_type()->fit != NULL && an_lstm_forecaster_type()->fit != NULL);
    CHECK_OK(an_lstm_classifier_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_RESULT(an_detector_fit(d, x, NW * T), AN_ERR_UNSUPPORTED);
    CHECK(!d->fitted);
    CHECK_OK(an_lstm_classifier_train(d, x, labels, NW, NULL));
    CHECK(d->fitted);
    CHECK_OK(an_lstm_classifier_predict(d, x, NW, p0));
    CHECK_RESULT(an_detector_fit(d, x, NW * T), AN_ERR_UNSUPPORTED);
    CHECK(d->fitted);
    CHECK_OK(an_lstm_classifier_predict(d, x, NW, p1));
    CHECK(memcmp(p0, p1, sizeof p0) == 0);
    CHECK_OK(an_detector_score(d, x, NW * T, s));
    an_detector_destroy(d);
    ffree(x, NW * T);
}

/* Class weights must be finite and >= 0, for any number of classes: at
   create (the weights are copied then), at training (a config that
   points at weights again is refused), and at load, where heads of more
   than 64 classes take another path (their weights are read straight
   into the model) that must make the same check. */
static void class_weight_case(size_t K)
{
    enum { T = 2, NW = 16 };
    an_lstm_config c = an_lstm_classifier_config_init(T, 3, K);
    an_detector *d = NULL, *e = NULL;
    float *w = falloc(K), *labels = falloc(NW * K), *x = sine_series(NW * T, 1, 85);
    const an_detector_vtable *types[1];
    an_writer wr;
    an_reader r;
    const void *data;
    unsigned char *copy;
    size_t size, i, at = 0;
    int bad;
    types[0] = an_lstm_classifier_type();
    c.train.epochs = 1;
    c.batch = 4;
    for (i = 0; i < K; i++) w[i] = 1.0f + (float)(i % 4);
    for (i = 0; i < NW * K; i++) labels[i] = (float)(i % 5 == 0);
    c.class_weight = w;
    w[K - 1] = -1.0f;
    CHECK_RESULT(an_lstm_classifier_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    w[K - 1] = (float)(HUGE_VAL - HUGE_VAL);
    CHECK_RESULT(an_lstm_classifier_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    w[K - 1] = (float)HUGE_VAL;
    CHECK_RESULT(an_lstm_classifier_create(&c, 1, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK(d == NULL);
    w[K - 1] = 0.0f;   /* zero is a weight */
    CHECK_OK(an_lstm_classifier_create(&c, 1, NULL, &d));
    if (!d) goto out;
    w[K - 1] = -1.0f;   /* the weights were copied at create */
    CHECK(an_lstm_config_of(d)->class_weight == NULL);
    CHECK_OK(an_lstm_classifier_train(d, x, labels, NW, NULL));
    CHECK_OK(an_writer_init(&wr, NULL));
    CHECK_OK(an_detector_save(d, &wr));
    CHECK_OK(an_writer_finish(&wr, &data, &size));
    /* the 'LCLX' chunk: tag, length 16 + 4K, u64 K, f64 gamma, K f32 weights */
    for (i = AN_MODEL_HEADER_BYTES; i + 8 <= size; i++)
        if (memcmp((const unsigned char *)data + i, "LCLX", 4) == 0 &&
            get32((const unsigned char *)data + i + 4) == 16 + 4 * K) { at = i + 8 + 16; break; }
    CHECK(at > 0 && at + 4 * K <= size);
    copy = (unsigned char *)malloc(size);
    for (bad = 0; at && copy && bad < 4; bad++) {
        /* the last class's weight: -1, NaN, Inf, then 0 (allowed) */
        float v = bad == 0 ? -1.0f : bad == 1 ? (float)(HUGE_VAL - HUGE_VAL) : bad == 2 ? (float)HUGE_VAL : 0.0f;
        uint32_t u;
        memcpy(copy, data, size);
        memcpy(&u, &v, 4);
        put32(copy + at + 4 * (K - 1), u);
        resign(copy, AN_MODEL_HEADER_BYTES, size);
        CHECK_OK(an_model_open(&r, copy, size));
        e = (an_detector *)&r;
        CHECK_RESULT(an_detector_load(&r, types, 1, NULL, &e), bad < 3 ? AN_ERR_CORRUPT : AN_OK);
        CHECK((e == NULL) == (bad < 3));
        an_detector_destroy(e);
        e = NULL;
    }
    free(copy);
    an_writer_uninit(&wr);
out:
    an_detector_destroy(d);
    ffree(w, K);
    ffree(labels, NW * K);
    ffree(x, NW * T);
}

static void test_class_weights_checked(void)
{
    class_weight_case(3);    /* weights read into the config, checked with it */
    class_weight_case(65);   /* more than 64: read into the model after create */
}

/* --------------------------------------------------------------------------
   The gradient hook: d score[t] / d x against finite differences of
   an_detector_score, for the three models, scaler included.
   -------------------------------------------------------------------------- */

enum { GH_N = 14, GH_F = 2 };
typedef struct grad_fd {
    an_detector *d;
    float x[GH_N * GH_F], s[GH_N];
    size_t t;
} grad_fd;

static double grad_fd_score(void *ctx)
{
    grad_fd *c = (grad_fd *)ctx;
    an_detector_score(c->d, c->x, GH_N, c->s);
    return c->s[c->t];
}

/* x (GH_N, GH_F): the series, NULL for uniform noise. */
static void grad_case_on(an_detector *d, size_t t, const char *label, const float *x)
{
    grad_fd c;
    float g[GH_N * GH_F];
    an_rng rng;
    char what[80];
    an_rng_seed(&rng, 21, t);
    c.d = d;
    c.t = t;
    if (x) memcpy(c.x, x, sizeof c.x);
    else fill_uniform(&rng, c.x, GH_N * GH_F, 1.5f);
    CHECK_OK(an_detector_gradient(d, c.x, GH_N, t, g));
    snprintf(what, sizeof what, "gradient hook %s t=%zu", label, t);
    fd_check(what, c.x, g, GH_N * GH_F, grad_fd_score, &c);
}

static void grad_case(an_detector *d, size_t t, const char *label)
{
    grad_case_on(d, t, label, NULL);
}

/* A model of c's kind with the given aggregations, fitted on x (n_rows,
   F): the aggregations are fixed at create, and the same seed and data
   give the same weights whatever they are (they only shape the score). */
static an_detector *fit_with_agg(an_lstm_config c, size_t F, an_lstm_kind kind, an_lstm_agg ca, an_lstm_agg wa,
                                 const float *x, size_t n_rows)
{
    an_detector *d = NULL;
    c.channel_agg = ca;
    c.window_agg = wa;
    CHECK_OK(kind == AN_LSTM_AUTOENCODER ? an_lstm_ae_create(&c, F, NULL, &d) : an_lstm_forecaster_create(&c, F, NULL, &d));
    if (d) CHECK_OK(an_detector_fit(d, x, n_rows));
    return d;
}

static void test_gradient_hook(void)
{
    float *train = sine_series(200, GH_F, 31), labels[2 * 50], windows[50 * 4 * GH_F];
    an_detector *d = NULL;
    an_lstm_config c;
    size_t i;
    /* autoencoder: two layers, latent, standard scaler, MSE and MAE */
    c = an_lstm_ae_config_init(4, 5);
    c.n_layers = 2; c.units[1] = 3; c.latent = 2; c.train.epochs = 2; c.batch = 3;
    CHECK_OK(an_lstm_ae_create(&c, GH_F, NULL, &d));
    CHECK_OK(an_detector_fit(d, train, 200));
    grad_case(d, 0, "autoencoder");
    grad_case(d, 6, "autoencoder");
    grad_case(d, GH_N - 1, "autoencoder");
    an_detector_destroy(d);
    d = fit_with_agg(c, GH_F, AN_LSTM_AUTOENCODER, AN_AGG_MAX, AN_AGG_MAX, train, 200);
    if (!d) return;
    grad_case(d, 5, "autoencoder max/max");
    grad_case(d, 8, "autoencoder max/max");
    an_detector_destroy(d);
    c.loss = AN_LOSS_MAE; c.scaler = AN_SCALER_MINMAX;
    CHECK_OK(an_lstm_ae_create(&c, GH_F, NULL, &d));
    CHECK_OK(an_detector_fit(d, train, 200));
    grad_case(d, 7, "autoencoder mae minmax");
    CHECK(an_lstm_config_of(d)->window_agg == AN_AGG_LAST);   /* the default */
    grad_case(d, 1, "autoencoder mae last");
    grad_case(d, 9, "autoencoder mae last");
    an_detector_destroy(d);
    /* forecaster */
    c = an_lstm_forecaster_config_init(4, 5, 3);
    c.train.epochs = 2; c.batch = 2;
    CHECK_OK(an_lstm_forecaster_create(&c, GH_F, NULL, &d));
    CHECK_OK(an_detector_fit(d, train, 200));
    grad_case(d, 2, "forecaster");
    grad_case(d, 5, "forecaster");
    grad_case(d, 9, "forecaster");
    an_detector_destroy(d);
    d = fit_with_agg(c, GH_F, AN_LSTM_FORECASTER, AN_AGG_MAX, AN_AGG_MAX, train, 200);
    if (!d) return;
    grad_case(d, 10, "forecaster max/max");
    an_detector_destroy(d);
    d = fit_with_agg(c, GH_F, AN_LSTM_FORECASTER, AN_AGG_MAX, AN_AGG_LAST, train, 200);
    if (!d) return;
    grad_case(d, 11, "forecaster max/last");
    an_detector_destroy(d);
    /* classifier */
    c = an_lstm_classifier_config_init(4, 5, 2);
    c.train.epochs = 2; c.batch = 8;
    for (i = 0; i < 50 * 4 * GH_F; i++) windows[i] = train[i];
    for (i = 0; i < 2 * 50; i++) labels[i] = (float)(i % 3 == 0);
    CHECK_OK(an_lstm_classifier_create(&c, GH_F, NULL, &d));
    CHECK_OK(an_lstm_classifier_train(d, windows, labels, 50, NULL));
    grad_case(d, 8, "classifier");
    an_detector_destroy(d);
    ffree(train, 200 * GH_F);
}

/* Centring (cfg.centre): the gradient against finite differences
   through the centring (target and network paths), on a series whose
   windows' thirds sit far apart (a ramp with a drop: the level's third,
   the median, never changes under a difference's step, which a kink of
   the median would break; windows past the drop take the first or the
   last third); a series moved by a constant scores as before and expects
   the constant more, where an uncentred model's scores move; batch and
   stream agree bit for bit; the file keeps it; the forecaster refuses
   it. */
static void test_centred_autoencoder(void)
{
    enum { N = 40 };
    float *train = sine_series(200, GH_F, 31), *x = sine_series(N, GH_F, 33), *y = falloc(N * GH_F);
    float sx[N], sy[N], sp[N], sl[N], su[N], ramp[GH_N * GH_F];
    double ex[GH_F], ey[GH_F], worst = 0.0, moved = 0.0;
    an_detector *d = NULL, *u = NULL, *loaded = NULL, *f = NULL;
    const an_detector_vtable *types[1];
    an_lstm_config c = an_lstm_ae_config_init(4, 5);
    an_writer w;
    an_reader r;
    const void *data;
    size_t size, i, k;
    c.n_layers = 2; c.units[1] = 3; c.latent = 2; c.train.epochs = 2; c.batch = 3;
    CHECK_OK(an_lstm_ae_create(&c, GH_F, NULL, &u));   /* uncentred, same weights' seed */
    c.centre = 1;
    CHECK_OK(an_lstm_ae_create(&c, GH_F, NULL, &d));
    if (!d || !u) goto out;
    CHECK_OK(an_detector_fit(d, train, 200));
    CHECK_OK(an_detector_fit(u, train, 200));
    for (i = 0; i < GH_N; i++) {
        ramp[i * GH_F] = 0.5f * (float)i - (i >= 7 ? 20.0f : 0.0f) + 0.1f * (float)((i * 7) % 5);
        ramp[i * GH_F + 1] = -0.7f * (float)i + (i >= 4 ? 15.0f : 0.0f) + 0.1f * (float)((i * 3) % 4);
    }
    grad_case_on(d, 3, "centred autoencoder", ramp);
    grad_case_on(d, 8, "centred autoencoder", ramp);
    grad_case_on(d, GH_N - 1, "centred autoencoder", ramp);
    f = fit_with_agg(c, GH_F, AN_LSTM_AUTOENCODER, AN_AGG_MAX, AN_AGG_MAX, train, 200);
    if (f) grad_case_on(f, 7, "centred autoencoder max/max", ramp);
    an_detector_destroy(f);
    f = fit_with_agg(c, GH_F, AN_LSTM_AUTOENCODER, AN_AGG_MEAN, AN_AGG_MEAN, train, 200);
    if (f) grad_case_on(f, 8, "centred autoencoder mean/mean", ramp);
    an_detector_destroy(f);
    f = NULL;
    for (i = 0; i < N * GH_F; i++) y[i] = x[i] + 5.0f;   /* 5 training sds and more */
    CHECK_OK(an_detector_score(d, x, N, sx));
    CHECK_OK(an_detector_score(d, y, N, sy));
    for (i = 3; i < N; i++) {
        double rel = fabs((double)sx[i] - sy[i]) / ((double)sx[i] + 1e-3);
        if (rel > worst) worst = rel;
        CHECK(sx[i] > 0.0f);
    }
    CHECK(worst < 1e-3);
    CHECK_OK(an_detector_score(u, x, N, su));
    CHECK_OK(an_detector_score(u, y, N, sl));
    for (i = 3; i < N; i++) if (sl[i] / (su[i] + 1e-6f) > moved) moved = sl[i] / (su[i] + 1e-6f);
    CHECK(moved > 10.0);   /* the test can fail: a level is evidence to an uncentred model */
    CHECK_OK(an_detector_reset(d));
    for (i = 0; i < N; i++) CHECK_OK(an_detector_push(d, x + i * GH_F, &sp[i]));
    CHECK(memcmp(sp, sx, sizeof sx) == 0);
    CHECK_OK(an_detector_expected(d, ex));
    CHECK_OK(an_detector_reset(d));
    for (i = 0; i < N; i++) CHECK_OK(an_detector_push(d, y + i * GH_F, &sp[i]));
    CHECK_OK(an_detector_expected(d, ey));
    for (k = 0; k < GH_F; k++) {
        CHECK(fabs(ex[k] - x[(N - 1) * GH_F + k]) < 3.0);   /* near the row it reconstructs */
        CHECK(fabs(ey[k] - ex[k] - 5.0) < 1e-3);
    }
    CHECK_OK(an_writer_init(&w, NULL));
    CHECK_OK(an_detector_save(d, &w));
    CHECK_OK(an_writer_finish(&w, &data, &size));
    CHECK_OK(an_model_open(&r, data, size));
    types[0] = an_lstm_ae_type();
    CHECK_OK(an_detector_load(&r, types, 1, NULL, &loaded));
    if (loaded) {
        CHECK(an_lstm_config_of(loaded)->centre == 1);
        CHECK_OK(an_detector_score(loaded, y, N, sl));
        CHECK(memcmp(sl, sy, sizeof sy) == 0);
        an_detector_destroy(loaded);
    }
    an_writer_uninit(&w);
    c = an_lstm_forecaster_config_init(4, 5, 1);
    c.centre = 1;
    CHECK_RESULT(an_lstm_forecaster_create(&c, GH_F, NULL, &f), AN_ERR_INVALID_ARG);
    CHECK(f == NULL);
out:
    an_detector_destroy(d);
    an_detector_destroy(u);
    ffree(train, 200 * GH_F);
    ffree(x, N * GH_F);
    ffree(y, N * GH_F);
}

static void test_aggregation_and_errors(void)
{
    enum { N = 60, F = 3, T = 6, P = 2 };
    float *train = sine_series(200, F, 41), *x = sine_series(N, F, 42), s[N], g[N * F];
    float *err = falloc((N - T + 1) * T * F);
    an_detector *d = NULL;
    int kind;
    for (kind = 0; kind < 2; kind++) {
        int agg;
        size_t rows = kind ? P : T, nw = kind ? N - T - P + 1 : N - T + 1;
        an_lstm_config c = kind ? an_lstm_forecaster_config_init(T, 6, P) : an_lstm_ae_config_init(T, 6);
        c.train.epochs = 2;
        c.batch = 7;
        CHECK_OK((kind ? an_lstm_forecaster_create : an_lstm_ae_create)(&c, F, NULL, &d));
        if (!d) return;
        CHECK_OK(an_detector_fit(d, train, 200));
        CHECK_OK(an_lstm_errors(d, x, N, 0, nw, err));
        CHECK_RESULT(an_lstm_errors(d, x, N, 1, nw, err), AN_ERR_SHAPE);
        for (agg = 0; agg < 4; agg++) {
            an_lstm_agg ca = (an_lstm_agg)(agg & 1), wa = (an_lstm_agg)(agg >> 1);
            size_t r, w, k, f;
            double worst = 0.0;
            an_detector *da = fit_with_agg(c, F, kind ? AN_LSTM_FORECASTER : AN_LSTM_AUTOENCODER, ca, wa, train, 200);
            if (!da) return;
            CHECK_OK(an_detector_score(da, x, N, s));
            if (agg == 3) CHECK_OK(an_detector_gradient(da, x, N, 20, g));
            an_detector_destroy(da);
            /* the forecaster's rows after N - P also have windows whose
               targets run past the end, which an_lstm_errors leaves out */
            for (r = kind ? T : 0; r < (kind ? N - P + 1 : N); r++) {
                double acc = 0.0;
                size_t cnt = 0;
                for (w = 0; w < nw; w++) {
                    double e = 0.0;
                    size_t first_row = kind ? w + T : w;
                    if (r < first_row || r >= first_row + rows) continue;
                    k = r - first_row;
                    for (f = 0; f < F; f++) {
                        double v = err[(w * rows + k) * F + f];
                        e = ca == AN_AGG_MAX ? (v > e ? v : e) : e + v / F;
                    }
                    acc = wa == AN_AGG_MAX ? (e > acc ? e : acc) : acc + e;
                    cnt++;
                }
                if (wa == AN_AGG_MEAN) acc /= (double)cnt;
                if (fabs(acc - s[r]) / (fabs(acc) + 1e-6) > worst) worst = fabs(acc - s[r]) / (fabs(acc) + 1e-6);
            }
            if (getenv("LSTM_VERBOSE")) printf("  %s agg %d/%d: worst rel diff %.2e\n", kind ? "forecaster" : "autoencoder", ca, wa, worst);
            CHECK(worst < 1e-5);
        }
        {   /* LAST: the causal rule, equal to push's scores */
            float pushed[N];
            size_t r;
            CHECK(an_lstm_config_of(d)->channel_agg == AN_AGG_MEAN);   /* the defaults */
            CHECK(an_lstm_config_of(d)->window_agg == AN_AGG_LAST);
            CHECK_OK(an_detector_score(d, x, N, s));
            CHECK_OK(an_detector_reset(d));
            for (r = 0; r < N; r++) CHECK_OK(an_detector_push(d, x + r * F, &pushed[r]));
            for (r = kind ? T : T - 1; r < N; r++) CHECK_NEAR(s[r], pushed[r], 1e-6 * (1.0 + fabs(s[r])));
            if (!kind) CHECK(s[0] == 0.0f && s[T - 2] == 0.0f);   /* before the first full window: 0, as push */
            CHECK(memcmp(s, pushed, sizeof pushed) == 0);          /* bit for bit */
        }
        an_detector_destroy(d);
        c.window_agg = (an_lstm_agg)3;
        CHECK_RESULT((kind ? an_lstm_forecaster_create : an_lstm_ae_create)(&c, F, NULL, &d), AN_ERR_INVALID_ARG);
        c.window_agg = AN_AGG_MEAN;
        c.channel_agg = AN_AGG_LAST;   /* LAST is for windows only */
        CHECK_RESULT((kind ? an_lstm_forecaster_create : an_lstm_ae_create)(&c, F, NULL, &d), AN_ERR_INVALID_ARG);
    }
    ffree(train, 200 * F);
    ffree(x, N * F);
    ffree(err, (N - T + 1) * T * F);
}

static int cmp_float_asc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* channel_norm: each feature's error times its weight, the features'
   average scale over its own, a feature's scale the 99.9th percentile of
   its errors on the training rows the model scores (at least 1% of the
   average).  The oracle: the weights from an_lstm_errors (unweighted) on
   the training rows, then each scored row's mean weighted error.  The
   noisy feature weighs less; the weights travel with the model file; the
   input gradient (finite differences) includes them, channel MEAN and
   MAX; channel_norm is 0 or 1. */
static void test_channel_norm(void)
{
    enum { NT = 200, N = 60, F = GH_F, T = 4 };
    float *train = sine_series(NT, F, 51), *x = sine_series(N, F, 52);
    float *err = falloc(NT * T * F), *q = falloc(NT), s[N], s2[N];
    an_rng rng;
    size_t i;
    int kind;
    an_rng_seed(&rng, 53, 0);
    for (i = 0; i < NT; i++) train[i * F + 1] += (float)an_rng_normal(&rng);   /* feature 1: noise */
    for (i = 0; i < N; i++) x[i * F + 1] += (float)an_rng_normal(&rng);
    for (kind = 0; kind < 2; kind++) {
        an_lstm_config c = kind ? an_lstm_forecaster_config_init(T, 5, 1) : an_lstm_ae_config_init(T, 5);
        const an_detector_vtable *types[1];
        size_t rows = kind ? 1 : T, span = T + (kind ? 1 : 0), last = kind ? 0 : T - 1, nw = NT - span + 1, f, r;
        double scale[F], w[F], avg = 0.0, worst = 0.0;
        an_detector *d = NULL, *back = NULL;
        an_writer wr;
        an_reader rd;
        const void *data;
        size_t size;
        c.train.epochs = 2;
        c.batch = 7;
        c.channel_norm = 2;
        CHECK_RESULT((kind ? an_lstm_forecaster_create : an_lstm_ae_create)(&c, F, NULL, &d), AN_ERR_INVALID_ARG);
        c.channel_norm = 1;
        CHECK_OK((kind ? an_lstm_forecaster_create : an_lstm_ae_create)(&c, F, NULL, &d));
        if (!d) break;
        CHECK_OK(an_detector_fit(d, train, NT));
        CHECK_OK(an_lstm_errors(d, train, NT, 0, nw, err));
        for (f = 0; f < F; f++) {
            for (i = 0; i < nw; i++) q[i] = err[(i * rows + last) * F + f];
            qsort(q, nw, sizeof(float), cmp_float_asc);
            scale[f] = q[(size_t)(0.999 * (double)(nw - 1))];
            avg += scale[f] / F;
        }
        for (f = 0; f < F; f++) w[f] = avg / (scale[f] > 0.01 * avg ? scale[f] : 0.01 * avg);
        CHECK(w[1] < 0.5 * w[0]);                                     /* the noise weighs less */
        CHECK_OK(an_detector_score(d, x, N, s));
        nw = N - span + 1;
        CHECK_OK(an_lstm_errors(d, x, N, 0, nw, err));
        for (r = kind ? T : T - 1; r < N; r++) {
            size_t win = kind ? r - T : r + 1 - T;
            double want = 0.0;
            for (f = 0; f < F; f++) want += w[f] * err[(win * rows + last) * F + f] / F;
            if (fabs(want - s[r]) / (fabs(want) + 1e-9) > worst) worst = fabs(want - s[r]) / (fabs(want) + 1e-9);
        }
        if (getenv("LSTM_VERBOSE")) printf("  channel_norm %s: weights %.3g %.3g, worst rel diff %.2e\n", kind ? "forecaster" : "autoencoder", w[0], w[1], worst);
        CHECK(worst < 1e-5);
        CHECK_OK(an_writer_init(&wr, NULL));
        CHECK_OK(an_detector_save(d, &wr));
        CHECK_OK(an_writer_finish(&wr, &data, &size));
        CHECK_OK(an_model_open(&rd, data, size));
        types[0] = kind ? an_lstm_forecaster_type() : an_lstm_ae_type();
        CHECK_OK(an_detector_load(&rd, types, 1, NULL, &back));
        if (back) {
            CHECK(an_lstm_config_of(back)->channel_norm == 1);
            CHECK_OK(an_detector_score(back, x, N, s2));
            CHECK(memcmp(s, s2, sizeof s) == 0);
            an_detector_destroy(back);
        }
        an_writer_uninit(&wr);
        grad_case(d, 7, kind ? "forecaster channel_norm" : "autoencoder channel_norm");
        an_detector_destroy(d);
        d = fit_with_agg(c, F, kind ? AN_LSTM_FORECASTER : AN_LSTM_AUTOENCODER, AN_AGG_MAX, AN_AGG_LAST, train, NT);
        if (!d) break;
        grad_case(d, 9, kind ? "forecaster channel_norm max" : "autoencoder channel_norm max");
        an_detector_destroy(d);
    }
    ffree(train, NT * F);
    ffree(x, N * F);
    ffree(err, NT * T * F);
    ffree(q, NT);
}

/* --------------------------------------------------------------------------
   The training configuration: its contract, failed updates, the latent
   layer, Adam's state across runs
   -------------------------------------------------------------------------- */

/* A progress callback that edits the training configuration it was
   given, mid-run: fit and update work on their own copy, checked once. */
typedef struct config_meddler {
    an_lstm_train_config *t;
    size_t at_epoch;   /* after this epoch ...                               */
    int cancel;        /* ... cancel, or else break the configuration        */
} config_meddler;

static int meddle(void *user, const an_lstm_progress *p)
{
    config_meddler *m = (config_meddler *)user;
    if (p->epoch != m->at_epoch) return 0;
    if (m->cancel) return 1;
    m->t->epochs = 1000;    /* would run on */
    m->t->adam.lr = -1.0;   /* and is invalid */
    m->t->stride = 0;
    return 0;
}

/* The training configuration: a bad one is refused by fit, update,
   classifier training, the setter and create before anything changes
   (weights, scores, record, the stored configuration, fitted); an_detector_fit
   trains with the model's own one, which only the checked setter
   replaces; a configuration passed to a call is used for that call only;
   a callback that edits it mid-run changes nothing. */
static void test_train_config_contract(void)
{
    enum { N = 80, N_BAD = 8 };
    an_lstm_config c = small_config();
    an_detector *d = NULL, *e = NULL;
    float *x = sine_series(N, 1, 81), s0[N], s1[N], *p, *p0, *p1;
    an_lstm_train_config keep, t, bad[N_BAD];
    an_lstm_info i0, i1;
    config_meddler med;
    size_t k, np;
    c.train.epochs = 2;
    for (k = 0; k < N_BAD; k++) bad[k] = c.train;
    bad[0].adam.lr = 0.0;
    bad[1].stride = 0;
    bad[2].val_fraction = 0.95;
    bad[3].min_delta = -1.0;
    bad[4].epochs = 2000000;
    bad[5].adam.beta1 = 1.0;
    bad[6].adam.lr = HUGE_VAL - HUGE_VAL;   /* NaN */
    bad[7].adam.clip_norm = -1.0;
    CHECK_OK(an_lstm_check_train_config(&c.train));
    CHECK_RESULT(an_lstm_check_train_config(NULL), AN_ERR_INVALID_ARG);
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_score(d, x, N, s0));
    CHECK_OK(an_lstm_info_get(d, &i0));
    CHECK(i0.kind == AN_LSTM_AUTOENCODER && i0.epochs_run == 2);
    CHECK_OK(an_lstm_param_view(d, "params", &p, &np));
    p0 = falloc(np);
    p1 = falloc(np);
    memcpy(p0, p, np * sizeof(float));
    keep = an_lstm_config_of(d)->train;
    CHECK(memcmp(&keep, &c.train, sizeof keep) == 0);   /* the model's own: the one given at create */
    for (k = 0; k < N_BAD; k++) {
        an_lstm_config cb = c;
        CHECK_RESULT(an_lstm_check_train_config(&bad[k]), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_update(d, x, N, &bad[k]), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_fit(d, x, N, &bad[k]), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_set_train_config(d, &bad[k]), AN_ERR_INVALID_ARG);
        CHECK(d->fitted);
        CHECK(memcmp(&an_lstm_config_of(d)->train, &keep, sizeof keep) == 0);
        CHECK(memcmp(p, p0, np * sizeof(float)) == 0);
        CHECK_OK(an_lstm_info_get(d, &i1));
        CHECK(memcmp(&i0, &i1, sizeof i0) == 0);
        CHECK_OK(an_detector_score(d, x, N, s1));
        CHECK(memcmp(s0, s1, sizeof s0) == 0);
        cb.train = bad[k];
        CHECK_RESULT(an_lstm_check_config(&cb), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_ae_create(&cb, 1, NULL, &e), AN_ERR_INVALID_ARG);
        CHECK(e == NULL);
    }
    CHECK_RESULT(an_lstm_set_train_config(d, NULL), AN_ERR_INVALID_ARG);
    /* NULL is the model's own configuration: the same bits as an_detector_fit */
    CHECK_OK(an_lstm_fit(d, x, N, NULL));
    CHECK(memcmp(p, p0, np * sizeof(float)) == 0);
    /* a configuration given to a call serves that call only */
    t = keep;
    t.epochs = 1;
    t.adam.lr = 3e-3;
    t.val_fraction = 0.2;
    CHECK_OK(an_lstm_fit(d, x, N, &t));
    CHECK(d->fitted);
    memcpy(p1, p, np * sizeof(float));
    CHECK(memcmp(p1, p0, np * sizeof(float)) != 0);
    CHECK(memcmp(&an_lstm_config_of(d)->train, &keep, sizeof keep) == 0);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK(memcmp(p, p0, np * sizeof(float)) == 0);
    /* the setter replaces what an_detector_fit uses */
    CHECK_OK(an_lstm_set_train_config(d, &t));
    CHECK(memcmp(&an_lstm_config_of(d)->train, &t, sizeof t) == 0);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK(memcmp(p, p1, np * sizeof(float)) == 0);
    CHECK_OK(an_lstm_set_train_config(d, &keep));
    /* a callback that breaks the caller's configuration mid-fit: the run
       goes on with the copy it checked, to the same bits */
    t = keep;
    memset(&med, 0, sizeof med);
    med.t = &t;
    med.at_epoch = 1;
    t.progress = meddle;
    t.progress_user = &med;
    CHECK_OK(an_lstm_fit(d, x, N, &t));
    CHECK(memcmp(p, p0, np * sizeof(float)) == 0);
    CHECK_OK(an_lstm_info_get(d, &i1));
    CHECK(i1.epochs_run == 2);
    an_detector_destroy(d);
    {   /* the forecaster and the classifier refuse a bad configuration the same way */
        an_lstm_config fc = an_lstm_forecaster_config_init(6, 4, 2), cc = an_lstm_classifier_config_init(6, 4, 2);
        float labels[2 * 10], prob0[2 * 10], prob1[2 * 10];
        size_t i;
        fc.train.epochs = 1;
        cc.train.epochs = 1;
        for (i = 0; i < 20; i++) labels[i] = (float)(i % 3 == 0);
        CHECK_OK(an_lstm_forecaster_create(&fc, 1, NULL, &d));
        if (!d) return;
        CHECK_OK(an_detector_fit(d, x, N));
        CHECK_OK(an_detector_score(d, x, N, s0));
        CHECK_RESULT(an_lstm_update(d, x, N, &bad[1]), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_fit(d, x, N, &bad[0]), AN_ERR_INVALID_ARG);
        CHECK(d->fitted);
        CHECK_OK(an_detector_score(d, x, N, s1));
        CHECK(memcmp(s0, s1, sizeof s0) == 0);
        CHECK_OK(an_lstm_info_get(d, &i1));
        CHECK(i1.kind == AN_LSTM_FORECASTER);
        an_detector_destroy(d);
        CHECK_OK(an_lstm_classifier_create(&cc, 1, NULL, &d));
        if (!d) return;
        CHECK_OK(an_lstm_classifier_train(d, x, labels, 10, NULL));
        CHECK_OK(an_lstm_classifier_predict(d, x, 10, prob0));
        CHECK_RESULT(an_lstm_classifier_train(d, x, labels, 10, &bad[0]), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_fit(d, x, N, NULL), AN_ERR_UNSUPPORTED);
        CHECK(d->fitted);
        CHECK_OK(an_lstm_classifier_predict(d, x, 10, prob1));
        CHECK(memcmp(prob0, prob1, sizeof prob0) == 0);
        CHECK_OK(an_lstm_info_get(d, &i1));
        CHECK(i1.kind == AN_LSTM_CLASSIFIER);
        an_detector_destroy(d);
    }
    ffree(p0, np);
    ffree(p1, np);
    ffree(x, N);
}

/* An update that fails leaves the model as it was: weights, scores and
   training record bit for bit.  Cancelled after an epoch is the failure
   that comes after weights have moved; a bad training configuration, bad
   data and a failing allocation come before, and are checked too. */
typedef struct update_snapshot {
    float s[80];
    an_lstm_info info;
} update_snapshot;

static void snapshot(an_detector *d, const float *x, size_t n, update_snapshot *u)
{
    memset(u, 0, sizeof *u);
    CHECK_OK(an_detector_score(d, x, n, u->s));
    CHECK_OK(an_lstm_info_get(d, &u->info));
}

static int same_snapshot(const update_snapshot *a, const update_snapshot *b)
{
    return memcmp(a->s, b->s, sizeof a->s) == 0 && a->info.epochs_run == b->info.epochs_run &&
           a->info.train_rows == b->info.train_rows && memcmp(&a->info.best_loss, &b->info.best_loss, sizeof(double)) == 0 &&
           memcmp(&a->info.score_mean, &b->info.score_mean, sizeof(double)) == 0 &&
           memcmp(&a->info.score_std, &b->info.score_std, sizeof(double)) == 0 &&
           memcmp(&a->info.score_p99, &b->info.score_p99, sizeof(double)) == 0;
}

static an_result job_failed_update(const an_allocator *a, void *ctx)
{
    enum { N = 80 };
    an_lstm_config c = small_config();
    const float *x = (const float *)ctx;
    an_detector *d = NULL;
    update_snapshot before, after;
    an_result r;
    c.train.epochs = 1;
    if ((r = an_lstm_ae_create(&c, 1, a, &d)) != AN_OK) return r;
    if ((r = an_detector_fit(d, x, N)) == AN_OK) {
        snapshot(d, x, N, &before);
        r = an_lstm_update(d, x + 40, N - 40, NULL);
        if (r != AN_OK) {
            snapshot(d, x, N, &after);
            CHECK(same_snapshot(&before, &after));
        }
    }
    an_detector_destroy(d);
    return r;
}

static void test_failed_update_keeps_model(void)
{
    enum { N = 80 };
    an_lstm_config c = small_config();
    an_detector *d = NULL;
    float *x = sine_series(2 * N, 1, 82), *p, *p0;
    update_snapshot before, after;
    config_meddler med;
    an_lstm_train_config t;
    size_t np;
    c.train.epochs = 2;
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    if (!d) return;
    CHECK_OK(an_detector_fit(d, x, N));
    snapshot(d, x, N, &before);
    CHECK_OK(an_lstm_param_view(d, "params", &p, &np));
    p0 = falloc(np);
    memcpy(p0, p, np * sizeof(float));
    t = an_lstm_config_of(d)->train;
    memset(&med, 0, sizeof med);
    med.t = &t;
    t.progress = meddle;
    t.progress_user = &med;
    t.epochs = 3;
    /* cancelled after the first epoch of new data, which saved a checkpoint */
    med.at_epoch = 1;
    med.cancel = 1;
    CHECK_RESULT(an_lstm_update(d, x + N, N, &t), AN_ERR_CANCELLED);
    CHECK(d->fitted);
    CHECK(memcmp(p, p0, np * sizeof(float)) == 0);
    t.progress = NULL;
    snapshot(d, x, N, &after);
    CHECK(same_snapshot(&before, &after));
    /* a bad training configuration: refused before anything moves */
    t.adam.lr = -1.0;
    CHECK_RESULT(an_lstm_update(d, x + N, N, &t), AN_ERR_INVALID_ARG);
    CHECK(memcmp(p, p0, np * sizeof(float)) == 0);
    t = an_lstm_config_of(d)->train;
    snapshot(d, x, N, &after);
    CHECK(same_snapshot(&before, &after));
    /* bad data: refused before anything moves */
    x[N + 7] = (float)(HUGE_VAL - HUGE_VAL);
    CHECK_RESULT(an_lstm_update(d, x + N, N, NULL), AN_ERR_INPUT);
    x[N + 7] = 0.0f;
    snapshot(d, x, N, &after);
    CHECK(same_snapshot(&before, &after));
    /* and the same update without the failure does move the model */
    t.epochs = 3;
    CHECK_OK(an_lstm_update(d, x + N, N, &t));
    CHECK(memcmp(p, p0, np * sizeof(float)) != 0);
    snapshot(d, x, N, &after);
    CHECK(!same_snapshot(&before, &after) && after.info.epochs_run == before.info.epochs_run + 3);
    /* every allocation failing in turn, the update's own included */
    inject_failures("failed update", job_failed_update, x);
    ffree(p0, np);
    an_detector_destroy(d);
    ffree(x, 2 * N);
}

/* A latent layer as wide as the top encoder layer is a layer like any
   other: counted, trained, viewed and used.  (The review found it counted
   in the parameters but skipped in the forward pass when latent ==
   units, since the code tested latent != units.)  F = 1, H = 8, T = 5. */
static void test_latent_as_wide_as_units(void)
{
    enum { F = 1, H = 8, T = 5 };
    /* by hand from the layer shapes:
         encoder LSTM F -> H   W_ih (4H,F) W_hh (4H,H) b_ih b_hh (4H)  4H(F + H) + 8H = 288 + 64 = 352
         latent dense H -> H   W (H,H) b (H)                           H H + H         =  72
         decoder LSTM H -> H   W_ih (4H,H) W_hh (4H,H) b_ih b_hh (4H)  4H(H + H) + 8H = 512 + 64 = 576
         output dense H -> F   W (F,H) b (F)                           F H + F         =   9
       1009 with the latent layer, 937 without (the review's numbers). */
    const size_t enc = 4 * H * (F + H) + 8 * H, lat = H * H + H, dec = 4 * H * (H + H) + 8 * H, out = F * H + F;
    an_lstm_config c = an_lstm_ae_config_init(T, H);
    an_detector *with = NULL, *without = NULL;
    an_lstm_info info;
    float x[T * F], y0[T * F], y1[T * F], *w, *g;
    size_t n, i, nonzero = 0;
    double loss;
    for (i = 0; i < T * F; i++) x[i] = (float)sin((double)i);
    c.scaler = (an_scaler_kind)0;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &without));
    c.latent = H;
    CHECK_OK(an_lstm_ae_create(&c, F, NULL, &with));
    if (!with || !without) { an_detector_destroy(with); an_detector_destroy(without); return; }
    CHECK_RESULT(an_lstm_info_get(without, &info), AN_ERR_NOT_FITTED);   /* sizes filled in all the same */
    CHECK_EQ_SIZE(info.n_params, enc + dec + out);
    CHECK_RESULT(an_lstm_info_get(with, &info), AN_ERR_NOT_FITTED);
    CHECK_EQ_SIZE(info.n_params, enc + lat + dec + out);
    CHECK_RESULT(an_lstm_param_view(without, "latent.W", &w, &n), AN_ERR_INVALID_ARG);
    CHECK_OK(an_lstm_param_view(with, "latent.b", &w, &n));
    CHECK_EQ_SIZE(n, H);
    CHECK_OK(an_lstm_param_view(with, "latent.W", &w, &n));
    CHECK_EQ_SIZE(n, H * H);
    /* in the forward pass: other latent weights, another reconstruction */
    CHECK_OK(an_lstm_output(with, x, 1, y0));
    for (i = 0; i < n; i++) w[i] += 0.5f;
    an_lstm_sync(with);
    CHECK_OK(an_lstm_output(with, x, 1, y1));
    CHECK(memcmp(y0, y1, sizeof y0) != 0);
    /* in the backward pass: a gradient for it */
    CHECK_OK(an_lstm_loss_grad(with, x, 1, &loss, NULL));
    CHECK_OK(an_lstm_param_view(with, "grad.latent.W", &g, &n));
    for (i = 0; i < n; i++) nonzero += g[i] != 0.0f;
    CHECK(nonzero > n / 2);
    an_detector_destroy(with);
    an_detector_destroy(without);
}

/* Adam's state.  Its moments live in the training block, carved the first
   time training needs it; a bad Adam (lr = 0) never reaches the model
   (create, the setter and fit refuse it), and fit then trains from zero
   moments: the weights of a fresh model, bit for bit.  Every training run
   starts Adam over (moments, step count) with the learning rate it is
   given. */
static void test_adam_state_across_runs(void)
{
    enum { N = 80 };
    an_lstm_config c = small_config();
    an_detector *d = NULL, *e = NULL, *f = NULL;
    float *x = sine_series(N, 1, 83), *pd, *pe, *pf;
    size_t nd, ne, nf;
    c.train.epochs = 2;
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &d));
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &e));
    CHECK_OK(an_lstm_ae_create(&c, 1, NULL, &f));
    if (!d || !e || !f) { an_detector_destroy(d); an_detector_destroy(e); an_detector_destroy(f); return; }
    {
        an_lstm_config cb = c;
        an_detector *g = NULL;
        an_lstm_train_config t = c.train;
        t.adam.lr = 0.0;
        cb.train = t;
        CHECK_RESULT(an_lstm_ae_create(&cb, 1, NULL, &g), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_set_train_config(d, &t), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_lstm_fit(d, x, N, &t), AN_ERR_INVALID_ARG);
    }
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_fit(e, x, N));
    CHECK_OK(an_lstm_param_view(d, "params", &pd, &nd));
    CHECK_OK(an_lstm_param_view(e, "params", &pe, &ne));
    CHECK_OK(an_lstm_param_view(f, "params", &pf, &nf));
    CHECK(nd == ne && memcmp(pd, pe, nd * sizeof(float)) == 0);
    /* an update leaves moments behind; the next fit does not see them */
    CHECK_OK(an_lstm_update(d, x, N, NULL));
    CHECK(memcmp(pd, pe, nd * sizeof(float)) != 0);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK(memcmp(pd, pe, nd * sizeof(float)) == 0);
    /* an update uses the learning rate set now: two models alike but for
       it part ways, and the same rate gives the same weights */
    CHECK_OK(an_detector_fit(f, x, N));
    CHECK(memcmp(pf, pe, nf * sizeof(float)) == 0);
    {
        an_lstm_train_config t = c.train;
        t.adam.lr = 1e-4;
        CHECK_OK(an_lstm_update(d, x, N, NULL));
        CHECK_OK(an_lstm_update(e, x, N, &t));
    }
    CHECK_OK(an_lstm_update(f, x, N, NULL));
    CHECK(memcmp(pd, pf, nd * sizeof(float)) == 0);
    CHECK(memcmp(pd, pe, nd * sizeof(float)) != 0);
    an_detector_destroy(d);
    an_detector_destroy(e);
    an_detector_destroy(f);
    ffree(x, N);
}

/* --------------------------------------------------------------------------
   The vector path against a plain double-precision LSTM
   -------------------------------------------------------------------------- */

static double ref_sigmoid(double a) { return 1.0 / (1.0 + exp(-a)); }

/* The largest |got - ref| over n entries, relative to max(1, max |ref|). */
static double rel_diff(const float *got, const double *ref, size_t n)
{
    double scale = 1.0, worst = 0.0;
    size_t i;
    for (i = 0; i < n; i++)
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    for (i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= worst)) worst = d;   /* NaN sticks */
    }
    return worst / scale;
}

/* One tanh LSTM layer, forward and backward, at widths that are no
   multiple of any vector width (H = 21: 4H = 84 gate columns; I = 5, T = 9,
   B = 3), so every kernel runs its vector body and its scalar tail.  The
   reference is the textbook recurrence in double, written out here:
     a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, i f o = sigmoid, g = tanh,
     c_t = f c_{t-1} + i g, h_t = o tanh(c_t),
   and its backward pass for L = sum r_seq h + sum r_last h_T.  Float32
   against double over nine steps: the outputs, every gradient and dx
   must agree to 2e-6 relative to the tensor's largest entry (measured
   below 4e-7 on the scalar, AVX2 and AVX-512 paths). */
#define TOL_REF 2e-6
static void test_simd_against_double_reference(void)
{
    enum { I = 5, H = 21, T = 9, B = 3, G = 4 * H };
    test_layer t;
    float x[B * T * I], r_seq[B * T * H], r_last[B * H], dx[B * T * I];
    double *h = (double *)malloc(sizeof(double) * B * T * H), *c = (double *)malloc(sizeof(double) * B * T * H);
    double *gate = (double *)malloc(sizeof(double) * B * T * G), *dz = (double *)malloc(sizeof(double) * G);
    double *dWih = (double *)calloc(G * I, sizeof(double)), *dWhh = (double *)calloc(G * H, sizeof(double));
    double *db = (double *)calloc(G, sizeof(double)), *rdx = (double *)calloc(B * T * I, sizeof(double));
    double dh[H], dc[H], dh_prev[H], worst[7];
    static const char *const names[7] = { "h", "c", "dW_ih", "dW_hh", "db_ih", "db_hh", "dx" };
    an_rng rng;
    size_t b, s, j, k, q;
    if (!h || !c || !gate || !dz || !dWih || !dWhh || !db || !rdx) {
        TEST__FAIL("out of memory");
        goto out;
    }
    an_rng_seed(&rng, 77, 1);
    layer_make(&t, I, H, B, T, AN_ACT_TANH);
    fill_uniform(&rng, t.params, t.n_params, 0.5f);
    fill_uniform(&rng, x, B * T * I, 1.0f);
    fill_uniform(&rng, r_seq, B * T * H, 1.0f);
    fill_uniform(&rng, r_last, B * H, 1.0f);
    an_lstm_layer_prepare(&t.L, &t.buf);
    an_lstm_layer_forward(&t.L, &t.buf, B, T, x, 0);
    memset(dx, 0, sizeof dx);
    an_lstm_layer_backward(&t.L, &t.buf, B, T, x, 0, r_seq, r_last, dx);
    /* reference forward */
    for (b = 0; b < B; b++)
        for (s = 0; s < T; s++) {
            double *gt = gate + (b * T + s) * G;
            for (k = 0; k < G; k++) {
                double a = (double)t.L.b_ih[k] + t.L.b_hh[k];
                for (j = 0; j < I; j++) a += (double)t.L.W_ih[k * I + j] * x[(b * T + s) * I + j];
                if (s > 0)
                    for (j = 0; j < H; j++) a += (double)t.L.W_hh[k * H + j] * h[(b * T + s - 1) * H + j];
                gt[k] = (k >= 2 * H && k < 3 * H) ? tanh(a) : ref_sigmoid(a);
            }
            for (j = 0; j < H; j++) {
                double cp = s > 0 ? c[(b * T + s - 1) * H + j] : 0.0;
                double cc = gt[H + j] * cp + gt[j] * gt[2 * H + j];
                c[(b * T + s) * H + j] = cc;
                h[(b * T + s) * H + j] = gt[3 * H + j] * tanh(cc);
            }
        }
    /* reference backward through time */
    for (b = 0; b < B; b++) {
        memset(dh_prev, 0, sizeof dh_prev);
        memset(dc, 0, sizeof dc);
        for (s = T; s-- > 0;) {
            const double *gt = gate + (b * T + s) * G;
            for (j = 0; j < H; j++) {
                double tc = tanh(c[(b * T + s) * H + j]);
                double i_ = gt[j], f_ = gt[H + j], g_ = gt[2 * H + j], o_ = gt[3 * H + j];
                double cp = s > 0 ? c[(b * T + s - 1) * H + j] : 0.0, dcj;
                dh[j] = (double)r_seq[(b * T + s) * H + j] + dh_prev[j] + (s == T - 1 ? (double)r_last[b * H + j] : 0.0);
                dcj = dc[j] + dh[j] * o_ * (1.0 - tc * tc);
                dz[j] = dcj * g_ * i_ * (1.0 - i_);
                dz[H + j] = dcj * cp * f_ * (1.0 - f_);
                dz[2 * H + j] = dcj * i_ * (1.0 - g_ * g_);
                dz[3 * H + j] = dh[j] * tc * o_ * (1.0 - o_);
                dc[j] = dcj * f_;
            }
            for (k = 0; k < G; k++) {
                db[k] += dz[k];
                for (j = 0; j < I; j++) dWih[k * I + j] += dz[k] * x[(b * T + s) * I + j];
                if (s > 0)
                    for (j = 0; j < H; j++) dWhh[k * H + j] += dz[k] * h[(b * T + s - 1) * H + j];
            }
            for (j = 0; j < I; j++)
                for (k = 0; k < G; k++) rdx[(b * T + s) * I + j] += (double)t.L.W_ih[k * I + j] * dz[k];
            for (j = 0; j < H; j++) {
                dh_prev[j] = 0.0;
                for (k = 0; k < G; k++) dh_prev[j] += (double)t.L.W_hh[k * H + j] * dz[k];
            }
        }
    }
    worst[0] = rel_diff(t.buf.h, h, B * T * H);
    worst[1] = rel_diff(t.buf.c, c, B * T * H);
    worst[2] = rel_diff(t.L.dW_ih, dWih, G * I);
    worst[3] = rel_diff(t.L.dW_hh, dWhh, G * H);
    worst[4] = rel_diff(t.L.db_ih, db, G);
    worst[5] = rel_diff(t.L.db_hh, db, G);
    worst[6] = rel_diff(dx, rdx, B * T * I);
    for (q = 0; q < 7; q++) {
        if (getenv("LSTM_VERBOSE")) printf("  %s path vs double, H=21: %-6s %.2e\n", an_simd_name(an_simd_path()), names[q], worst[q]);
        if (!(worst[q] <= TOL_REF)) TEST__FAIL("%s: %.3g relative > %.3g", names[q], worst[q], TOL_REF);
        test__checks++;
    }
    layer_free(&t);
out:
    free(h); free(c); free(gate); free(dz); free(dWih); free(dWhh); free(db); free(rdx);
}

/* A build that asked for a path runs it, rather than silently another:
   the scalar build, and the builds the Makefile gives TEST_SIMD_EXPECT
   (test_lstm_avx2). */
#if !defined(TEST_SIMD_EXPECT) && defined(ANOMALY_NO_SIMD)
#  define TEST_SIMD_EXPECT AN_SIMD_SCALAR
#endif
#ifdef TEST_SIMD_EXPECT
static void test_simd_path(void)
{
    CHECK(an_simd_path() == TEST_SIMD_EXPECT);
}
#endif

int main(void)
{
    printf("test_lstm: SIMD path %s\n", an_simd_name(an_simd_path()));
#ifdef TEST_SIMD_EXPECT
    RUN(test_simd_path);
#endif
    RUN(test_torch_lstm_single);
    RUN(test_torch_lstm_stacked);
    RUN(test_torch_autoencoder);
    RUN(test_adam_bits_every_path);
    RUN(test_torch_adam);
    RUN(test_torch_adamw);
    RUN(test_torch_adam_clip);
    RUN(test_fd_lstm);
    RUN(test_lstm_step);
    RUN(test_fd_dense_dropout_repeat);
    RUN(test_losses);
    RUN(test_fd_autoencoder);
    RUN(test_ae_learns_and_detects);
    RUN(test_ae_determinism_stream_and_files);
    RUN(test_identical_trainings_identical_files);
    RUN(test_ae_hostile_files);
    RUN(test_resigned_corruption);
    RUN(test_ae_errors);
    RUN(test_ensemble_loads_through_type_tables);
    RUN(test_ae_training_controls);
    RUN(test_divergence);
    RUN(test_ae_memory_and_allocation_failures);
    RUN(test_arena_inference);
    RUN(test_ae_push_matches_reconstruct);
    RUN(test_expected_values);
    RUN(test_fd_forecaster);
    RUN(test_forecaster_learns_and_detects);
    RUN(test_stream_survives_save);
    RUN(test_fd_classifier);
    RUN(test_classifier_learns);
    RUN(test_classifier_has_no_fit);
    RUN(test_class_weights_checked);
    RUN(test_gradient_hook);
    RUN(test_centred_autoencoder);
    RUN(test_aggregation_and_errors);
    RUN(test_channel_norm);
    RUN(test_train_config_contract);
    RUN(test_failed_update_keeps_model);
    RUN(test_latent_as_wide_as_units);
    RUN(test_adam_state_across_runs);
    RUN(test_simd_against_double_reference);
    return test_finish("test_lstm");
}
