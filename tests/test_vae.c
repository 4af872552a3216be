/* test_vae.c - the VAE of anomaly_lstm.h (section 5) against PyTorch 1.13
   float64 autograd with the same weights and the same noise (frozen in
   tests/fixtures/vae_torch.h), against central finite differences of its
   own float32 code, and as a detector: training, scoring, streaming, the
   gradient hook, save/load, hostile files and bad arguments.

   Tolerances, as test_lstm.c's (see there why): a tensor matches torch's
   when max |ours - torch| <= TOL_TORCH max(1, max |torch|); a finite
   difference entry when |fd - g| <= TOL_FD max(|g|, 0.1 max|g|, 1e-4). */
/* The API only: the implementation is tests/compile_impl.c, linked beside. */
#include "../anomaly_lstm.h"
#include "test.h"
#include "fixtures/vae_torch.h"

#define TOL_TORCH 1e-6
#define FD_H      1e-2
#define TOL_FD    1e-2
#define FD_FLOOR  1e-4

static double worst_torch, worst_fd;

static const vae_case *vcase(const char *name)
{
    int c;
    for (c = 0; c < VAE_N_CASES; c++)
        if (strcmp(vae_cases[c].name, name) == 0) return &vae_cases[c];
    return NULL;
}

static const vae_tensor *vtensor(const vae_case *c, const char *name)
{
    int t;
    for (t = 0; t < c->n_tensors; t++)
        if (strcmp(c->tensors[t].name, name) == 0) return &c->tensors[t];
    TEST__FAIL("fixture %s / %s missing", c->name, name);
    return NULL;
}

static size_t vsize(const vae_tensor *t)
{
    size_t n = 1;
    int d;
    for (d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

static void load_into(const vae_case *c, const char *name, float *dst, size_t n)
{
    const vae_tensor *t = vtensor(c, name);
    size_t i;
    if (!t || vsize(t) != n) {
        TEST__FAIL("%s/%s: %zu values, expected %zu", c->name, name, t ? vsize(t) : 0, n);
        return;
    }
    for (i = 0; i < n; i++) dst[i] = (float)t->v[i];
}

static void compare(const vae_case *c, const char *name, const float *got, size_t n)
{
    const vae_tensor *t = vtensor(c, name);
    double scale = 1.0, worst = 0.0;
    size_t i, at = 0;
    test__checks++;
    if (!t || vsize(t) != n) {
        TEST__FAIL("%s/%s: missing or %zu values, expected %zu", c->name, name, t ? vsize(t) : 0, n);
        return;
    }
    for (i = 0; i < n; i++)
        if (fabs(t->v[i]) > scale) scale = fabs(t->v[i]);
    for (i = 0; i < n; i++) {
        double d = fabs((double)got[i] - t->v[i]);
        if (!(d <= worst)) { worst = d; at = i; }
    }
    worst /= scale;
    if (worst > worst_torch) worst_torch = worst;
    if (getenv("LSTM_VERBOSE")) printf("  %-6s %-16s max diff %.2e of %.2e\n", c->name, name, worst, scale);
    if (!(worst <= TOL_TORCH))
        TEST__FAIL("%s/%s: entry %zu is %.9g, torch %.9g (%.3g relative)", c->name, name, at, (double)got[at],
                   t->v[at], worst);
}

static const char *const dense_names[] = { "encoder.W", "encoder.b", "head.W", "head.b",
                                           "decoder.W", "decoder.b", "output.W", "output.b" };
static const char *const lstm_names[] = { "encoder.W_ih", "encoder.W_hh", "encoder.b_ih", "encoder.b_hh",
                                          "head.W", "head.b", "decoder.W_ih", "decoder.W_hh",
                                          "decoder.b_ih", "decoder.b_hh", "output.W", "output.b" };

static an_vae_config fixture_config(const vae_case *c, an_vae_arch arch)
{
    an_vae_config cfg = an_vae_config_init((size_t)c->T, (size_t)c->H, (size_t)c->L);
    cfg.arch = arch;
    cfg.batch = (size_t)c->B;
    cfg.beta = c->beta;
    cfg.scaler = (an_scaler_kind)0;
    return cfg;
}

/* The fixture's model with its weights, or NULL. */
static an_detector *fixture_model(const vae_case *c, an_vae_arch arch)
{
    an_vae_config cfg = fixture_config(c, arch);
    const char *const *names = arch == AN_VAE_LSTM ? lstm_names : dense_names;
    size_t k, n_names = arch == AN_VAE_LSTM ? 12 : 8;
    an_detector *d = NULL;
    CHECK_OK(an_vae_create(&cfg, (size_t)c->F, NULL, &d));
    if (!d) return NULL;
    for (k = 0; k < n_names; k++) {
        float *p;
        size_t n;
        CHECK_OK(an_vae_param_view(d, names[k], &p, &n));
        load_into(c, names[k], p, n);
    }
    an_vae_sync(d);
    return d;
}

static void torch_case(const char *name, an_vae_arch arch)
{
    const vae_case *c = vcase(name);
    const char *const *names = arch == AN_VAE_LSTM ? lstm_names : dense_names;
    size_t k, n_names = arch == AN_VAE_LSTM ? 12 : 8, nx, ne;
    float x[64], eps[16], gx[64], out[64], mu[16], lv[16], z[16];
    an_detector *d;
    an_vae_loss l;
    CHECK(c != NULL);
    if (!c) return;
    nx = (size_t)(c->B * c->T * c->F);
    ne = (size_t)(c->B * c->L);
    CHECK(nx <= 64 && ne <= 16);
    if (!(d = fixture_model(c, arch))) return;
    load_into(c, "x", x, nx);
    load_into(c, "eps", eps, ne);
    CHECK_OK(an_vae_loss_grad_eps(d, x, (size_t)c->B, eps, c->beta, &l, gx));
    {
        float v[3];
        v[0] = (float)l.loss;
        v[1] = (float)l.recon;
        v[2] = (float)l.kl;
        compare(c, "loss", v, 1);
        compare(c, "recon", v + 1, 1);
        compare(c, "kl", v + 2, 1);
    }
    for (k = 0; k < n_names; k++) {
        char g[64];
        float *p;
        size_t n;
        snprintf(g, sizeof g, "grad.%s", names[k]);
        CHECK_OK(an_vae_param_view(d, g, &p, &n));
        compare(c, g, p, n);
    }
    compare(c, "grad.x", gx, nx);
    /* the decoder's output for z = mu + exp(lv/2) eps is torch's y */
    CHECK_OK(an_vae_encode(d, x, (size_t)c->B, mu, lv));
    for (k = 0; k < ne; k++) z[k] = mu[k] + expf(0.5f * lv[k]) * eps[k];
    CHECK_OK(an_vae_decode(d, z, (size_t)c->B, out));
    compare(c, "output", out, nx);
    an_detector_destroy(d);
}

static void test_torch_dense(void) { torch_case("dense", AN_VAE_DENSE); }
static void test_torch_lstm(void) { torch_case("lstm", AN_VAE_LSTM); }

/* --------------------------------------------------------------------------
   Finite differences of the float32 code, fixed noise
   -------------------------------------------------------------------------- */

typedef struct fd_ctx {
    an_detector *d;
    float *x, *eps;
    size_t B;
    double beta;
} fd_ctx;

static double fd_loss(const fd_ctx *c)
{
    an_vae_loss l;
    float *params;
    size_t n;
    an_vae_param_view(c->d, "params", &params, &n);
    an_vae_sync(c->d);
    if (an_vae_loss_grad_eps(c->d, c->x, c->B, c->eps, c->beta, &l, NULL) != AN_OK) return NAN;
    return l.loss;
}

static void fd_check(const char *what, float *v, const float *g, size_t n, const fd_ctx *ctx)
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
        lp = fd_loss(ctx);
        v[i] = (float)(save - FD_H);
        hm = (double)save - v[i];
        lm = fd_loss(ctx);
        v[i] = save;
        fd = (lp - lm) / (hp + hm);
        err = fabs(fd - g[i]) / (fabs(g[i]) > floor_ ? fabs(g[i]) : floor_);
        if (err > worst) { worst = err; at = i; }
        if (!(err <= TOL_FD)) bad++;
    }
    test__checks++;
    if (worst > worst_fd) worst_fd = worst;
    if (getenv("LSTM_VERBOSE")) printf("  fd %-28s n=%4zu worst %.2e (max|g| %.2e)\n", what, n, worst, gmax);
    if (bad) TEST__FAIL("%s: %zu of %zu entries off; worst %.3g at %zu (g = %.6g)", what, bad, n, worst, at, (double)g[at]);
}

/* Every parameter group and the input, with random weights and noise. */
static void fd_case(an_vae_arch arch)
{
    enum { T = 4, F = 2, B = 3 };
    an_vae_config cfg = an_vae_config_init(T, 5, 3);
    const char *const *names = arch == AN_VAE_LSTM ? lstm_names : dense_names;
    size_t k, n_names = arch == AN_VAE_LSTM ? 12 : 8, n, i;
    float x[B * T * F], eps[B * 3], gx[B * T * F], *params, *grads, *g;
    fd_ctx c;
    an_vae_loss l;
    an_rng rng;
    cfg.arch = arch;
    cfg.batch = B;
    cfg.beta = 0.7;
    cfg.scaler = (an_scaler_kind)0;
    CHECK_OK(an_vae_create(&cfg, F, NULL, &c.d));
    if (!c.d) return;
    an_rng_seed(&rng, 9, 9);
    for (i = 0; i < B * T * F; i++) x[i] = 2.0f * an_rng_uniformf(&rng) - 1.0f;
    for (i = 0; i < B * 3; i++) eps[i] = (float)an_rng_normal(&rng);
    CHECK_OK(an_vae_param_view(c.d, "params", &params, &n));
    for (i = 0; i < n; i++) params[i] += (2.0f * an_rng_uniformf(&rng) - 1.0f) * 0.2f;
    c.x = x;
    c.eps = eps;
    c.B = B;
    c.beta = cfg.beta;
    an_vae_sync(c.d);
    CHECK_OK(an_vae_loss_grad_eps(c.d, x, B, eps, cfg.beta, &l, gx));
    CHECK_NEAR(l.loss, l.recon + cfg.beta * l.kl, 1e-12);
    CHECK_OK(an_vae_param_view(c.d, "grads", &grads, &n));
    g = (float *)malloc(n * sizeof(float));
    if (!g) { an_detector_destroy(c.d); return; }
    memcpy(g, grads, n * sizeof(float));
    for (k = 0; k < n_names; k++) {   /* group by group, so a failure names its group */
        float *p, *pg;
        size_t np;
        char what[64], gname[64];
        snprintf(gname, sizeof gname, "grad.%s", names[k]);
        CHECK_OK(an_vae_param_view(c.d, names[k], &p, &np));
        CHECK_OK(an_vae_param_view(c.d, gname, &pg, &np));
        snprintf(what, sizeof what, "%s %s", arch == AN_VAE_LSTM ? "lstm" : "dense", names[k]);
        fd_check(what, p, g + (pg - grads), np, &c);
    }
    fd_check(arch == AN_VAE_LSTM ? "lstm x" : "dense x", x, gx, B * T * F, &c);
    free(g);
    an_detector_destroy(c.d);
}

static void test_fd_dense(void) { fd_case(AN_VAE_DENSE); }
static void test_fd_lstm(void) { fd_case(AN_VAE_LSTM); }

/* --------------------------------------------------------------------------
   Properties
   -------------------------------------------------------------------------- */

/* A posterior of N(0, 1) (head all zero: mu = 0, lv = 0) has KL 0, and
   the head's KL gradient vanishes with it; beta then does not matter. */
static void test_kl_standard_normal(void)
{
    an_vae_config cfg = an_vae_config_init(3, 4, 2);
    an_detector *d = NULL;
    float x[2 * 3 * 2], eps[4] = { 0.5f, -1.0f, 2.0f, 0.25f }, *p, *g;
    size_t n, i;
    an_vae_loss l0, l1;
    cfg.batch = 2;
    cfg.scaler = (an_scaler_kind)0;
    CHECK_OK(an_vae_create(&cfg, 2, NULL, &d));
    if (!d) return;
    for (i = 0; i < 12; i++) x[i] = (float)i / 8.0f - 0.5f;
    CHECK_OK(an_vae_param_view(d, "head.W", &p, &n));
    memset(p, 0, n * sizeof(float));
    CHECK_OK(an_vae_param_view(d, "head.b", &p, &n));
    memset(p, 0, n * sizeof(float));
    CHECK_OK(an_vae_loss_grad_eps(d, x, 2, eps, 1.0, &l0, NULL));
    CHECK(l0.kl == 0.0);
    CHECK_OK(an_vae_loss_grad_eps(d, x, 2, eps, 100.0, &l1, NULL));
    CHECK(l1.loss == l0.loss);
    /* with mu = 1 in one entry, KL = 1/2 mu^2 / B exactly */
    CHECK_OK(an_vae_param_view(d, "head.b", &p, &n));
    p[0] = 1.0f;
    CHECK_OK(an_vae_loss_grad_eps(d, x, 2, eps, 1.0, &l1, NULL));
    CHECK_NEAR(l1.kl, 0.5, 1e-12);   /* both windows: 2 * 1/2 / B = 0.5 */
    /* and a log-variance beyond the clamp has no gradient */
    CHECK_OK(an_vae_param_view(d, "head.b", &p, &n));
    p[0] = 0.0f;
    p[2] = 50.0f;   /* raw lv of latent 0 */
    CHECK_OK(an_vae_loss_grad_eps(d, x, 2, eps, 1.0, &l1, NULL));
    CHECK_NEAR(l1.kl, (-0.5 * (1.0 + 10.0 - exp(10.0))), 1e-6 * exp(10.0));
    CHECK_OK(an_vae_param_view(d, "grad.head.b", &g, &n));
    CHECK(g[2] == 0.0f && g[3] != 0.0f);
    an_detector_destroy(d);
}

static float *sine(size_t n, size_t F, uint64_t seed)
{
    float *x = (float *)malloc(n * F * sizeof(float));
    an_rng rng;
    size_t i, f;
    an_rng_seed(&rng, seed, 1);
    if (!x) return NULL;
    for (i = 0; i < n; i++)
        for (f = 0; f < F; f++)
            x[i * F + f] = (float)(sin(2.0 * 3.14159265358979 * ((double)i / 20.0 + (double)f / 3.0)) +
                                   0.05 * an_rng_normal(&rng));
    return x;
}

static an_vae_config small_config(an_vae_arch arch)
{
    an_vae_config c = an_vae_config_init(16, 16, 3);
    c.arch = arch;
    c.batch = 16;
    c.train.epochs = 8;
    c.train.adam.lr = 1e-2;
    c.warmup = 3;
    c.draws = 4;
    return c;
}

static int save_bytes(an_detector *d, unsigned char **bytes, size_t *size)
{
    an_writer w;
    const void *data;
    if (an_writer_init(&w, NULL) != AN_OK) return 0;
    if (an_detector_save(d, &w) != AN_OK || an_writer_finish(&w, &data, size) != AN_OK) {
        an_writer_uninit(&w);
        return 0;
    }
    *bytes = (unsigned char *)malloc(*size);
    if (*bytes) memcpy(*bytes, data, *size);
    an_writer_uninit(&w);
    return *bytes != NULL;
}

static an_result load_bytes(const unsigned char *bytes, size_t size, an_detector **out)
{
    an_reader r;
    size_t n;
    const an_detector_vtable *const *types = an_lstm_types(&n);
    an_result res = an_model_open(&r, bytes, size);
    if (res != AN_OK) return res;
    return an_detector_load(&r, types, n, NULL, out);
}

/* Where a saved model's 'VAEC' chunk starts (its tag, then u32 length,
   then the u32 format), or 0 when it has none. */
static size_t vaec_at(const unsigned char *bytes, size_t size)
{
    size_t k;
    for (k = AN_MODEL_HEADER_BYTES; k + 12 <= size; k++)
        if (memcmp(bytes + k, "VAEC", 4) == 0) return k;
    return 0;
}

/* The model in bytes loads and scores x (n rows) as `want`, to the bit. */
static void check_reload(const unsigned char *bytes, size_t size, const float *x, size_t n, const float *want)
{
    an_detector *back = NULL;
    float *s = (float *)malloc(n * sizeof(float));
    CHECK(s != NULL);
    CHECK_OK(load_bytes(bytes, size, &back));
    if (back && s) {
        CHECK_OK(an_detector_score(back, x, n, s));
        CHECK(memcmp(s, want, n * sizeof(float)) == 0);
    }
    an_detector_destroy(back);
    free(s);
}

/* Fit, score, push, gradient, save and load: for both architectures,
   plain and centring, and a centring one that scores the root. */
static void detector_case(an_vae_arch arch, int centre, int root)
{
    enum { N = 300, F = 2 };
    an_vae_config cfg = small_config(arch);
    an_detector *d = NULL, *e = NULL, *back = NULL;
    float *x = sine(N, F, 3), s1[N], s2[N], s3[N], *grad = NULL, *p1, *p2;
    unsigned char *bytes = NULL, *bytes2 = NULL;
    size_t size = 0, size2 = 0, i, n1, n2, T = cfg.window;
    double normal = 0.0;
    if (!x) return;
    cfg.centre = centre;
    cfg.root = root;
    CHECK_OK(an_vae_create(&cfg, F, NULL, &d));
    CHECK_OK(an_vae_create(&cfg, F, NULL, &e));
    if (!d || !e) goto done;
    CHECK(strcmp(d->vt->name, "vae") == 0);
    CHECK_RESULT(an_detector_score(d, x, N, s1), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_OK(an_detector_fit(e, x, N));
    /* deterministic for a seed: bit-identical weights and files */
    CHECK_OK(an_vae_param_view(d, "params", &p1, &n1));
    CHECK_OK(an_vae_param_view(e, "params", &p2, &n2));
    CHECK(n1 == n2 && memcmp(p1, p2, n1 * sizeof(float)) == 0);
    CHECK_OK(an_detector_score(d, x, N, s1));
    for (i = 0; i + 1 < T; i++) CHECK(s1[i] == 0.0f);
    for (i = T - 1; i < N; i++) normal += s1[i];
    normal /= (double)(N - T + 1);
    CHECK(normal > 0.0 && normal < (root ? 0.7 : 0.5));   /* it learnt the sine (scaled units: variance 1) */
    /* an injected spike scores far above the normal rows */
    {
        float keep = x[200 * F];
        x[200 * F] += 4.0f;
        CHECK_OK(an_detector_score(d, x, N, s2));
        CHECK(s2[200] > (root ? 3.0 : 10.0) * normal);
        x[200 * F] = keep;
    }
    /* push gives score's bits; what it expected is NaN until the first
       full window, then near the row (the sine, noise 0.05, amplitude 1) */
    for (i = 0; i < N; i++) {
        double ex[F];
        CHECK_OK(an_detector_push(d, x + i * F, &s3[i]));
        CHECK_OK(an_detector_expected(d, ex));
        if (i + 1 < T) CHECK(ex[0] != ex[0] && ex[1] != ex[1]);
        else CHECK(fabs(ex[0] - x[i * F]) < 0.5 && fabs(ex[1] - x[i * F + 1]) < 0.5);
    }
    CHECK(memcmp(s1, s3, sizeof s1) == 0);
    /* the gradient hook against finite differences of the score */
    grad = (float *)malloc(N * F * sizeof(float));
    if (grad) {
        size_t t = 120, k;
        CHECK_OK(an_detector_gradient(d, x, N, t, grad));
        for (k = 0; k < N * F; k++)
            if (k / F + T <= t || k / F > t) CHECK(grad[k] == 0.0f);
        for (k = (t + 1 - T) * F; k < (t + 1) * F; k += 3) {
            float save = x[k];
            double fd, gm = 0.0;
            size_t j;
            for (j = 0; j < N * F; j++) gm = fabs(grad[j]) > gm ? fabs(grad[j]) : gm;
            x[k] = save + 1e-2f;
            an_detector_score(d, x, N, s2);
            fd = s2[t];
            x[k] = save - 1e-2f;
            an_detector_score(d, x, N, s2);
            fd = (fd - s2[t]) / ((double)(save + 1e-2f) - (double)(save - 1e-2f));
            x[k] = save;
            CHECK(fabs(fd - grad[k]) <= 2e-2 * (fabs(grad[k]) > 0.1 * gm ? fabs(grad[k]) : 0.1 * gm));
        }
    }
    /* save and load: same scores, same file, and the stream goes on */
    CHECK(save_bytes(d, &bytes, &size));
    CHECK_OK(load_bytes(bytes, size, &back));
    if (back) {
        float sc;
        CHECK(back->fitted);
        CHECK_OK(an_detector_score(back, x, N, s2));
        CHECK(memcmp(s1, s2, sizeof s1) == 0);
        CHECK(save_bytes(back, &bytes2, &size2));
        CHECK(size == size2 && memcmp(bytes, bytes2, size) == 0);
        CHECK_OK(an_detector_push(back, x, &sc));
        CHECK_OK(an_detector_push(d, x, &sc));
        CHECK_OK(an_detector_push(back, x + F, &s2[0]));
        CHECK_OK(an_detector_push(d, x + F, &s2[1]));
        CHECK(s2[0] == s2[1]);
        an_detector_destroy(back);
    }
done:
    free(bytes);
    free(bytes2);
    free(grad);
    free(x);
    an_detector_destroy(d);
    an_detector_destroy(e);
}

static void test_detector_dense(void) { detector_case(AN_VAE_DENSE, 0, 0); }
static void test_detector_lstm(void) { detector_case(AN_VAE_LSTM, 0, 0); }
static void test_detector_centred_dense(void) { detector_case(AN_VAE_DENSE, 1, 0); }
static void test_detector_centred_lstm(void) { detector_case(AN_VAE_LSTM, 1, 0); }
static void test_detector_root_lstm(void) { detector_case(AN_VAE_LSTM, 1, 1); }

/* The root: training does not see it (the same weights), every score is
   the square root of the plain model's, to the bit, and every gradient
   the plain one over twice that root; its file is format 3, centre flag
   then root flag, and loads to the same scores.  Without centring too. */
static void test_root_score(void)
{
    enum { N = 200, F = 2 };
    an_vae_config cfg = small_config(AN_VAE_DENSE);
    float *x = sine(N, F, 11), s0[N], s1[N], g0[N * F], g1[N * F], *p0, *p1;
    int centre;
    size_t i, n0, n1, t = 150;
    if (!x) return;
    for (centre = 0; centre <= 1; centre++) {
        an_detector *plain = NULL, *root = NULL;
        unsigned char *bytes = NULL;
        size_t size = 0, k;
        double worst = 0.0, top = 0.0;
        cfg.centre = centre;
        cfg.root = 0;
        CHECK_OK(an_vae_create(&cfg, F, NULL, &plain));
        cfg.root = 1;
        CHECK_OK(an_vae_create(&cfg, F, NULL, &root));
        if (!plain || !root || an_detector_fit(plain, x, N) != AN_OK || an_detector_fit(root, x, N) != AN_OK) {
            CHECK(0);
            an_detector_destroy(plain);
            an_detector_destroy(root);
            continue;
        }
        CHECK_OK(an_vae_param_view(plain, "params", &p0, &n0));
        CHECK_OK(an_vae_param_view(root, "params", &p1, &n1));
        CHECK(n0 == n1 && memcmp(p0, p1, n0 * sizeof(float)) == 0);
        CHECK_OK(an_detector_score(plain, x, N, s0));
        CHECK_OK(an_detector_score(root, x, N, s1));
        for (i = 0; i < N; i++) CHECK(s1[i] == sqrtf(s0[i]));
        CHECK_OK(an_detector_gradient(plain, x, N, t, g0));
        CHECK_OK(an_detector_gradient(root, x, N, t, g1));
        for (i = 0; i < N * F; i++) {
            double want = g0[i] / (2.0 * sqrt((double)s0[t]));
            worst = fabs(g1[i] - want) > worst ? fabs(g1[i] - want) : worst;
            top = fabs(want) > top ? fabs(want) : top;
        }
        CHECK(top > 0.0 && worst <= 1e-5 * top);
        CHECK(save_bytes(root, &bytes, &size));
        if (bytes) {   /* format 3; the payload ends with u64 centre, u64 root */
            k = vaec_at(bytes, size);
            CHECK(k > 0 && bytes[k + 8] == 3);
            if (k) {
                size_t end = k + 8 + (bytes[k + 4] | (size_t)bytes[k + 5] << 8 | (size_t)bytes[k + 6] << 16 |
                                      (size_t)bytes[k + 7] << 24);
                CHECK(end <= size && bytes[end - 16] == (unsigned char)centre && bytes[end - 8] == 1);
            }
            check_reload(bytes, size, x, N, s1);
        }
        free(bytes);
        an_detector_destroy(plain);
        an_detector_destroy(root);
    }
    free(x);
}

/* Centring: a model fitted on a series scores the series moved by a
   constant as it scores the series (to float rounding: the scaler's
   arithmetic differs), expects the moved values, and its file says so
   (format 2, the centre flag last in its configuration chunk).  The same
   model without centring does not: the check can fail. */
static void test_centre_level(void)
{
    enum { N = 240, F = 2 };
    const float shift = 3.0f;   /* 4 standard deviations of the sine */
    an_vae_config cfg = small_config(AN_VAE_DENSE);
    float *x = sine(N, F, 5), *moved = sine(N, F, 5), s0[N], s1[N];
    int centre;
    size_t i;
    if (!x || !moved) goto done;
    for (i = 0; i < N * F; i++) moved[i] += shift;
    for (centre = 0; centre <= 1; centre++) {
        an_detector *d = NULL;
        unsigned char *bytes = NULL;
        size_t size = 0, k;
        double worst = 0.0, top = 0.0, ex0[F], ex1[F];
        float sc;
        cfg.centre = centre;
        CHECK_OK(an_vae_create(&cfg, F, NULL, &d));
        if (!d || an_detector_fit(d, x, N) != AN_OK) { CHECK(0); an_detector_destroy(d); continue; }
        CHECK_OK(an_detector_score(d, x, N, s0));
        CHECK_OK(an_detector_score(d, moved, N, s1));
        for (i = 0; i < N; i++) {
            worst = fabs((double)s1[i] - s0[i]) > worst ? fabs((double)s1[i] - s0[i]) : worst;
            top = s0[i] > top ? s0[i] : top;
        }
        for (i = 0; i < N; i++) CHECK_OK(an_detector_push(d, x + i * F, &sc));
        CHECK_OK(an_detector_expected(d, ex0));
        CHECK_OK(an_detector_reset(d));
        for (i = 0; i < N; i++) CHECK_OK(an_detector_push(d, moved + i * F, &sc));
        CHECK_OK(an_detector_expected(d, ex1));
        if (centre) {
            CHECK(worst <= 1e-4 * top);
            CHECK_NEAR(ex1[0] - ex0[0], shift, 1e-4);
            CHECK_NEAR(ex1[1] - ex0[1], shift, 1e-4);
        } else {
            CHECK(worst > top);   /* the moved series is far from anything seen */
        }
        CHECK(save_bytes(d, &bytes, &size));
        if (bytes) {
            k = vaec_at(bytes, size);
            CHECK(k > 0 && bytes[k + 8] == (centre ? 2 : 1));
            check_reload(bytes, size, moved, N, s1);
        }
        free(bytes);
        an_detector_destroy(d);
    }
done:
    free(x);
    free(moved);
}

/* Every byte of a saved model flipped, and every truncation: an error or a
   model, never a crash (ASan runs this too). */
static void test_hostile_files(void)
{
    an_vae_config cfg = small_config(AN_VAE_LSTM);
    an_detector *d = NULL, *back = NULL;
    unsigned char *bytes = NULL;
    size_t size = 0, i;
    float *x = sine(100, 1, 5);
    if (!x) return;
    cfg.train.epochs = 1;
    cfg.hidden = 3;
    CHECK_OK(an_vae_create(&cfg, 1, NULL, &d));
    if (d && an_detector_fit(d, x, 100) == AN_OK && save_bytes(d, &bytes, &size)) {
        for (i = 0; i < size; i++) {
            an_result r;
            bytes[i] ^= 0x5a;
            r = load_bytes(bytes, size, &back);
            CHECK(r != AN_OK || back != NULL);
            if (back) { an_detector_destroy(back); back = NULL; }
            bytes[i] ^= 0x5a;
        }
        for (i = 0; i < size; i += 7) {
            CHECK(load_bytes(bytes, i, &back) != AN_OK);
            if (back) { an_detector_destroy(back); back = NULL; }
        }
        CHECK_OK(load_bytes(bytes, size, &back));
        an_detector_destroy(back);
    } else {
        CHECK(0);
    }
    free(bytes);
    free(x);
    an_detector_destroy(d);
}

static uint32_t get32(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(unsigned char *p, uint32_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24); }

/* Recomputes the CRC of every chunk in [at, end) (recursing into DETC), so
   a corrupted value reaches the VAE's own checks. */
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

/* Every byte changed three ways with the checksums made right: the load
   fails cleanly or gives a model that scores, pushes and differentiates
   without a crash (ASan and UBSan run this too); a newer format version
   is AN_ERR_VERSION. */
static void resigned_case(an_vae_arch arch)
{
    enum { N = 60, F = 2 };
    an_vae_config c = small_config(arch);
    an_detector *d = NULL, *e = NULL;
    float *x = sine(N, F, 51), s[N], *g = NULL;
    unsigned char *bytes = NULL, *copy = NULL;
    size_t size = 0, k, loaded = 0, rejected = 0, version_at = 0;
    int pattern;
    if (!x) return;
    c.window = 6;
    c.hidden = 3;
    c.latent = 2;
    c.draws = 2;
    c.train.epochs = 1;
    c.scaler = AN_SCALER_MINMAX;
    CHECK_OK(an_vae_create(&c, F, NULL, &d));
    if (!d || an_detector_fit(d, x, N) != AN_OK || !save_bytes(d, &bytes, &size)) { CHECK(0); goto done; }
    copy = (unsigned char *)malloc(size);
    g = (float *)malloc(N * F * sizeof(float));
    if (!copy || !g) goto done;
    for (pattern = 0; pattern < 3; pattern++)
        for (k = AN_MODEL_HEADER_BYTES; k < size; k++) {
            an_result res;
            float sc;
            memcpy(copy, bytes, size);
            copy[k] = pattern == 0 ? (unsigned char)(copy[k] ^ 0x01) : (pattern == 1 ? (unsigned char)(copy[k] ^ 0x80) : 0xff);
            resign(copy, AN_MODEL_HEADER_BYTES, size);
            res = load_bytes(copy, size, &e);
            if (res != AN_OK) { CHECK(e == NULL); rejected++; continue; }
            loaded++;
            res = an_detector_score(e, x, N, s);
            if (!(res == AN_OK || res == AN_ERR_NUMERIC || res == AN_ERR_TOO_SHORT))
                TEST__FAIL("byte %zu pattern %d: score returned %s", k, pattern, an_result_str(res));
            res = an_detector_push(e, x, &sc);
            CHECK(res == AN_OK || res == AN_ERR_NUMERIC);
            res = an_detector_gradient(e, x, N, N - 1, g);
            CHECK(res == AN_OK || res == AN_ERR_NUMERIC || res == AN_ERR_TOO_SHORT);
            an_detector_destroy(e);
            e = NULL;
        }
    if (getenv("LSTM_VERBOSE")) printf("  re-signed corruption: %zu loaded (values changed), %zu rejected\n", loaded, rejected);
    CHECK(rejected > 0 && loaded > 0);
    if ((k = vaec_at(bytes, size)) > 0) version_at = k + 8;   /* u32 format 1 */
    CHECK(version_at > 0 && get32(bytes + version_at) == 1);
    if (version_at) {   /* formats 2 and 3 lacking their flags; format 4 */
        uint32_t v;
        memcpy(copy, bytes, size);
        for (v = 2; v <= 4; v++) {
            put32(copy + version_at, v);
            resign(copy, AN_MODEL_HEADER_BYTES, size);
            CHECK_RESULT(load_bytes(copy, size, &e), v < 4 ? AN_ERR_CORRUPT : AN_ERR_VERSION);
            CHECK(e == NULL);
        }
    }
done:
    free(g);
    free(copy);
    free(bytes);
    free(x);
    an_detector_destroy(d);
}

static void test_resigned_corruption(void)
{
    resigned_case(AN_VAE_DENSE);
    resigned_case(AN_VAE_LSTM);
}

static void test_bad_inputs(void)
{
    an_vae_config cfg = an_vae_config_init(4, 3, 2), bad;
    an_detector *d = NULL;
    float x[2 * 4 * 1] = { 0 }, eps[4] = { 0 }, series[20] = { 0 }, mu[4], lv[4];
    an_vae_loss l;
    an_rng rng;
    size_t bytes;
    an_rng_seed(&rng, 1, 1);
    cfg.batch = 2;
    bad = cfg; bad.window = 0;
    CHECK_RESULT(an_vae_create(&bad, 1, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK(d == NULL);
    bad = cfg; bad.hidden = 0;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    bad = cfg; bad.latent = 0;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    bad = cfg; bad.batch = 0;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    bad = cfg; bad.draws = 0;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    bad = cfg; bad.beta = -1.0;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    bad = cfg; bad.beta = NAN;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    bad = cfg; bad.arch = (an_vae_arch)7;
    CHECK_RESULT(an_vae_check_config(&bad), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_create(&cfg, 0, NULL, &d), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_memory(&cfg, 0, &bytes, NULL), AN_ERR_INVALID_ARG);
    bad = cfg; bad.window = AN_LSTM_MAX_WINDOW; bad.hidden = AN_LSTM_MAX_UNITS;
    CHECK_RESULT(an_vae_memory(&bad, AN_LSTM_MAX_FEATURES, &bytes, NULL), AN_ERR_TOO_LARGE);
    CHECK_OK(an_vae_create(&cfg, 1, NULL, &d));
    if (!d) return;
    CHECK_RESULT(an_vae_loss_grad_eps(d, x, 0, eps, 1.0, &l, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_loss_grad_eps(d, x, 3, eps, 1.0, &l, NULL), AN_ERR_SHAPE);
    CHECK_RESULT(an_vae_loss_grad_eps(d, x, 2, NULL, 1.0, &l, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_loss_grad_eps(d, x, 2, eps, -0.5, &l, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_loss_grad(d, x, 2, NULL, 1.0, &l, NULL), AN_ERR_INVALID_ARG);
    x[3] = NAN;
    CHECK_RESULT(an_vae_loss_grad_eps(d, x, 2, eps, 1.0, &l, NULL), AN_ERR_INPUT);
    CHECK_RESULT(an_vae_encode(d, x, 2, mu, lv), AN_ERR_INPUT);
    x[3] = 0.0f;
    eps[1] = INFINITY;
    CHECK_RESULT(an_vae_loss_grad_eps(d, x, 2, eps, 1.0, &l, NULL), AN_ERR_INPUT);
    CHECK_RESULT(an_vae_decode(d, eps, 2, x), AN_ERR_INPUT);
    CHECK_OK(an_vae_loss_grad(d, x, 2, &rng, 1.0, &l, NULL));
    {
        float *p;
        size_t n;
        CHECK_RESULT(an_vae_param_view(d, "head.X", &p, &n), AN_ERR_INVALID_ARG);
        CHECK_RESULT(an_vae_param_view(d, "encoder.W_ih", &p, &n), AN_ERR_INVALID_ARG);   /* dense has no W_ih */
        CHECK_RESULT(an_vae_param_view(d, "nothing", &p, &n), AN_ERR_INVALID_ARG);
    }
    CHECK_RESULT(an_vae_fit(d, series, 3, NULL), AN_ERR_TOO_SHORT);
    series[5] = NAN;
    CHECK_RESULT(an_vae_fit(d, series, 20, NULL), AN_ERR_INPUT);
    CHECK_RESULT(an_detector_fit(d, series, 20), AN_ERR_INPUT);
    CHECK_RESULT(an_vae_fit(NULL, series, 20, NULL), AN_ERR_INVALID_ARG);
    an_detector_destroy(d);
}

/* Synthetic windows: the series first, bit for bit, then k whole windows
   that look like the training data (a sine of amplitude 1: values within
   +-2, each window's spread near the sine's 0.71), the same for a seed. */
static void test_augment(void)
{
    enum { N = 300, F = 1 };
    an_vae_config cfg = small_config(AN_VAE_DENSE);
    an_detector *d = NULL;
    float *x = sine(N, F, 7), *a = NULL, *b = NULL;
    size_t rows = 0, rows2 = 0, T = cfg.window, k = (size_t)(0.3 * (double)(N / 16) + 0.5), w, i;
    an_rng rng;
    if (!x) return;
    cfg.train.epochs = 30;
    CHECK_OK(an_vae_create(&cfg, F, NULL, &d));
    if (!d) { free(x); return; }
    CHECK_RESULT(an_vae_augment(d, x, N, 0.3, 1, NULL, 0, &rows), AN_ERR_SHAPE);
    CHECK_EQ_SIZE(rows, N + k * T);
    a = (float *)malloc(rows * F * sizeof(float));
    b = (float *)malloc(rows * F * sizeof(float));
    if (!a || !b) goto done;
    CHECK_RESULT(an_vae_augment(d, x, N, 0.3, 1, a, rows, &rows2), AN_ERR_NOT_FITTED);
    an_rng_seed(&rng, 1, 1);
    CHECK_RESULT(an_vae_sample(d, &rng, 1, a), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(d, x, N));
    CHECK_RESULT(an_vae_augment(d, x, N, -0.1, 1, a, rows, &rows2), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_augment(d, x, N, NAN, 1, a, rows, &rows2), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_vae_sample(d, &rng, 0, a), AN_ERR_INVALID_ARG);
    CHECK_OK(an_vae_augment(d, x, N, 0.3, 1, a, rows, &rows2));
    CHECK_EQ_SIZE(rows2, rows);
    CHECK(memcmp(a, x, N * F * sizeof(float)) == 0);
    for (w = 0; w < k; w++) {
        const float *v = a + (N + w * T) * F;
        double mean = 0.0, var = 0.0;
        for (i = 0; i < T; i++) {
            CHECK(fabsf(v[i]) < 2.0f);
            mean += v[i];
        }
        mean /= (double)T;
        for (i = 0; i < T; i++) var += (v[i] - mean) * (v[i] - mean);
        var /= (double)T;
        CHECK(sqrt(var) > 0.35 && sqrt(var) < 1.1);
    }
    CHECK_OK(an_vae_augment(d, x, N, 0.3, 1, b, rows, &rows2));
    CHECK(memcmp(a, b, rows * F * sizeof(float)) == 0);
    CHECK_OK(an_vae_augment(d, x, N, 0.3, 2, b, rows, &rows2));
    CHECK(memcmp(a + N * F, b + N * F, k * T * F * sizeof(float)) != 0);
    CHECK_OK(an_vae_augment(d, x, N, 0.0, 2, b, rows, &rows2));
    CHECK_EQ_SIZE(rows2, N);
done:
    free(a);
    free(b);
    free(x);
    an_detector_destroy(d);
}

/* The expectation is in the data's units: a sine around 20 with
   amplitude 5 is expected within 2.5 of each row (1.6 measured; scaled
   units would be about 20 away, a missing scale up to 3.6 at the peaks). */
static void test_expected_units(void)
{
    enum { N = 240 };
    an_vae_config c = small_config(AN_VAE_LSTM);
    an_detector *d = NULL;
    float *x = sine(N, 1, 11), sc;
    size_t i;
    double ex, worst = 0.0;
    if (!x) return;
    for (i = 0; i < N; i++) x[i] = 20.0f + 5.0f * x[i];
    c.train.epochs = 20;
    CHECK_OK(an_vae_create(&c, 1, NULL, &d));
    if (d && an_detector_fit(d, x, N) == AN_OK) {
        for (i = 0; i < N; i++) {
            CHECK_OK(an_detector_push(d, x + i, &sc));
            CHECK_OK(an_detector_expected(d, &ex));
            if (i + 1 >= c.window && fabs(ex - x[i]) > worst) worst = fabs(ex - x[i]);
        }
        if (getenv("LSTM_VERBOSE")) printf("  expected: worst |expected - actual| %.3f\n", worst);
        CHECK(worst < 2.5);
        CHECK_OK(an_detector_reset(d));
        CHECK_OK(an_detector_expected(d, &ex));
        CHECK(ex != ex);
    } else {
        CHECK(0);
    }
    an_detector_destroy(d);
    free(x);
}

/* A seeded daily series (period 48) of F channels, noise sd 1. */
static float *daily(size_t n, size_t F, uint64_t seed)
{
    float *x = (float *)malloc(n * F * sizeof(float));
    an_synth_config s = an_synth_config_init(AN_SYNTH_DAILY, seed);
    s.period = 48;
    if (x && an_synth_series(x, n, F, &s) != AN_OK) { free(x); return NULL; }
    return x;
}

/* an_inject_windows against what it promises, checked from the outside:
   the clean windows (anomalous 0, same seed) are windows of the series;
   the labelled ones differ from them only inside their events, each
   event lies in one labelled window after `separation` clean rows, the
   mask is exactly the events' cells, and a spike, dip or shift moves its
   cells by sign x magnitude x the series' robust scale (an_inject_scale
   recomputed here).  Same seed, same bytes. */
static void test_inject_windows(void)
{
    enum { N = 1500, F = 2, T = 32, W = 64 };
    an_window_inject_config c = an_window_inject_config_init(T);
    float *x = daily(N, F, 5), *clean = NULL, *a = NULL, *b = NULL, lab[W], lab0[W], lab2[W];
    unsigned char *mask = NULL, *want = NULL;
    an_inject_event ev[W], ev2[W];
    double scale[F];
    size_t n_ev = 0, n_ev2 = 0, w, i, s, k, labelled = 0, moved = 0;
    if (!x) { CHECK(0); return; }
    c.n_windows = W;
    c.inject.seed = 3;
    c.inject.magnitude = 5.0;
    clean = (float *)malloc(W * T * F * sizeof(float));
    a = (float *)malloc(W * T * F * sizeof(float));
    b = (float *)malloc(W * T * F * sizeof(float));
    mask = (unsigned char *)malloc(W * T * F);
    want = (unsigned char *)calloc(W * T * F, 1);
    if (!clean || !a || !b || !mask || !want) { CHECK(0); goto done; }
    CHECK_OK(an_inject_scale(x, N, F, NULL, scale));
    c.anomalous = 0.0;
    CHECK_OK(an_inject_windows(NULL, x, N, F, &c, NULL, clean, lab0, NULL, ev, W, &n_ev));
    CHECK_EQ_SIZE(n_ev, 0);
    for (w = 0; w < W; w++) {   /* every clean window is a window of the series */
        int found = 0;
        CHECK(lab0[w] == 0.0f);
        for (s = 0; s + T <= N && !found; s++) found = !memcmp(clean + w * T * F, x + s * F, T * F * sizeof(float));
        CHECK(found);
    }
    c.anomalous = 0.5;
    CHECK_RESULT(an_inject_windows(NULL, x, N, F, &c, NULL, a, lab, mask, ev, W / 2 - 1, &n_ev), AN_ERR_SHAPE);
    CHECK_EQ_SIZE(n_ev, W / 2);
    CHECK_OK(an_inject_windows(NULL, x, N, F, &c, NULL, a, lab, mask, ev, W, &n_ev));
    CHECK_EQ_SIZE(n_ev, W / 2);
    for (w = 0; w < W; w++) labelled += lab[w] == 1.0f;
    CHECK_EQ_SIZE(labelled, W / 2);
    for (k = 0; k < n_ev; k++) {
        size_t win = ev[k].start / T, t;
        CHECK(ev[k].end / T == win && ev[k].group == win && lab[win] == 1.0f);
        CHECK(ev[k].start % T >= c.inject.separation);
        CHECK(ev[k].scale == scale[ev[k].channel] && ev[k].magnitude == 5.0);
        CHECK(k == 0 || ev[k].group != ev[k - 1].group);   /* one anomaly a window */
        for (t = ev[k].start; t <= ev[k].end; t++) {
            size_t cell = t * F + ev[k].channel;
            want[cell] = 1;
            if (ev[k].kind == AN_INJECT_SPIKE || ev[k].kind == AN_INJECT_DIP || ev[k].kind == AN_INJECT_SHIFT) {
                float v = (float)((double)clean[cell] + (double)ev[k].sign * 5.0 * scale[ev[k].channel]);
                CHECK(a[cell] == v);
                moved++;
            }
        }
    }
    CHECK(moved > 0);
    for (w = 0; w < W; w++) {
        size_t hits = 0;
        for (k = 0; k < n_ev; k++) hits += ev[k].group == w;
        CHECK((lab[w] == 1.0f) == (hits == 1));
        if (lab[w] == 0.0f) CHECK(!memcmp(a + w * T * F, clean + w * T * F, T * F * sizeof(float)));
    }
    CHECK(!memcmp(mask, want, W * T * F));
    for (i = 0; i < W * T * F; i++)
        if (!mask[i] && a[i] != clean[i]) { CHECK(0); break; }
    CHECK_OK(an_inject_windows(NULL, x, N, F, &c, NULL, b, lab2, NULL, ev2, W, &n_ev2));
    CHECK(!memcmp(a, b, W * T * F * sizeof(float)) && !memcmp(lab, lab2, sizeof lab));
    CHECK(n_ev2 == n_ev && !memcmp(ev, ev2, n_ev * sizeof ev[0]));
    c.inject.seed = 4;
    CHECK_OK(an_inject_windows(NULL, x, N, F, &c, NULL, b, lab2, NULL, NULL, 0, &n_ev2));
    CHECK(memcmp(a, b, W * T * F * sizeof(float)) != 0);
    /* errors */
    CHECK_RESULT(an_inject_windows(NULL, x, T - 1, F, &c, NULL, b, lab2, NULL, NULL, 0, &n_ev2), AN_ERR_TOO_SHORT);
    c.anomalous = 1.5;
    CHECK_RESULT(an_inject_windows(NULL, x, N, F, &c, NULL, b, lab2, NULL, NULL, 0, &n_ev2), AN_ERR_INVALID_ARG);
    c.anomalous = 0.5;
    c.inject.separation = T - 2;   /* no room for a trend of 12 rows */
    CHECK_RESULT(an_inject_windows(NULL, x, N, F, &c, NULL, b, lab2, NULL, NULL, 0, &n_ev2), AN_ERR_TOO_SHORT);
    x[7] = NAN;
    c.inject.separation = T / 2;
    CHECK_RESULT(an_inject_windows(NULL, x, N, F, &c, NULL, b, lab2, NULL, NULL, 0, &n_ev2), AN_ERR_INPUT);
done:
    free(x); free(clean); free(a); free(b); free(mask); free(want);
}

/* The classifier head trained on injected windows separates held-out
   injected windows (another series, another injection seed) from normal
   ones: ROC-AUC well above chance (0.5).  1,024 windows and 60 epochs:
   0.987 to 1.000 over three classifier and two injection seeds (256
   windows and 12 epochs gave 0.55, near chance: the daily cycle's
   amplitude is 10 noise sds, the anomalies 6).  Same seeds, same
   predictions. */
static an_result train_injected(an_detector **out, const float *x, size_t n, size_t K, size_t epochs)
{
    an_lstm_config lc = an_lstm_classifier_config_init(32, 16, K);
    an_window_inject_config c = an_window_inject_config_init(32);
    an_result r;
    lc.train.epochs = epochs;
    lc.train.patience = 0;
    lc.train.adam.lr = 1e-2;
    lc.dropout = 0.0;
    c.n_windows = 1024;
    c.inject.seed = 1;
    c.inject.magnitude = 6.0;
    if ((r = an_lstm_classifier_create(&lc, 1, NULL, out)) != AN_OK) return r;
    return an_lstm_classifier_train_injected(*out, NULL, x, n, &c, NULL);
}

static void test_classifier_injected(void)
{
    enum { N = 3000, H = 200 };
    float *x = daily(N, 1, 21), *y = daily(N, 1, 22), *hw = NULL, hl[H], p[H], p2[H];
    an_detector *d = NULL, *d2 = NULL, *ae = NULL;
    an_window_inject_config c = an_window_inject_config_init(32);
    unsigned char truth[H];
    size_t n_ev = 0, i;
    double auc = 0.0;
    an_lstm_config aec = an_lstm_ae_config_init(32, 8);
    if (!x || !y || !(hw = (float *)malloc(H * 32 * sizeof(float)))) { CHECK(0); goto done; }
    CHECK_OK(train_injected(&d, x, N, 1, 60));
    c.n_windows = H;
    c.inject.seed = 99;
    c.inject.magnitude = 6.0;
    CHECK_OK(an_inject_windows(NULL, y, N, 1, &c, NULL, hw, hl, NULL, NULL, 0, &n_ev));
    for (i = 0; i < H; i++) truth[i] = hl[i] > 0.5f;
    if (d) {
        CHECK_OK(an_lstm_classifier_predict(d, hw, H, p));
        CHECK_OK(an_roc_auc(p, truth, H, NULL, &auc));
        if (getenv("LSTM_VERBOSE")) printf("  injected classifier: held-out ROC-AUC %.3f\n", auc);
        CHECK(auc > 0.9);
    }
    CHECK_OK(train_injected(&d2, x, N, 1, 60));
    if (d2) {
        CHECK_OK(an_lstm_classifier_predict(d2, hw, H, p2));
        CHECK(!memcmp(p, p2, sizeof p));
    }
    an_detector_destroy(d2);
    d2 = NULL;
    CHECK_OK(train_injected(&d2, x, N, AN_INJECT_KINDS, 2));   /* per-kind classes */
    /* errors */
    c = an_window_inject_config_init(16);
    if (d) CHECK_RESULT(an_lstm_classifier_train_injected(d, NULL, x, N, &c, NULL), AN_ERR_SHAPE);
    c = an_window_inject_config_init(32);
    c.inject.kinds |= AN_INJECT_BIT(AN_INJECT_GAP);
    if (d) CHECK_RESULT(an_lstm_classifier_train_injected(d, NULL, x, N, &c, NULL), AN_ERR_INVALID_ARG);
    c = an_window_inject_config_init(32);
    CHECK_OK(an_lstm_ae_create(&aec, 1, NULL, &ae));
    CHECK_RESULT(an_lstm_classifier_train_injected(ae, NULL, x, N, &c, NULL), AN_ERR_UNSUPPORTED);
    CHECK_RESULT(an_lstm_classifier_train_injected(ae, ae, x, N, &c, NULL), AN_ERR_UNSUPPORTED);
    if (d) CHECK_RESULT(an_lstm_classifier_train_injected(d, ae, x, N, &c, NULL), AN_ERR_INVALID_ARG);
done:
    an_detector_destroy(d);
    an_detector_destroy(d2);
    an_detector_destroy(ae);
    free(x); free(y); free(hw);
}

/* Base windows from a VAE: a VAE of another window is AN_ERR_SHAPE, an
   unfitted one AN_ERR_NOT_FITTED; a fitted one's windows are its samples
   (finite, clean where not injected). */
static void test_inject_windows_vae(void)
{
    enum { N = 300, W = 20 };
    an_vae_config vc = small_config(AN_VAE_DENSE);
    an_window_inject_config c = an_window_inject_config_init(16);
    an_detector *v = NULL;
    float *x = sine(N, 1, 3), a[W * 16], b[W * 16], lab[W], lab0[W];
    size_t n_ev = 0, i;
    if (!x) { CHECK(0); return; }
    c.n_windows = W;
    CHECK_OK(an_vae_create(&vc, 1, NULL, &v));
    if (!v) { free(x); return; }
    CHECK_RESULT(an_inject_windows(v, x, N, 1, &c, NULL, a, lab, NULL, NULL, 0, &n_ev), AN_ERR_NOT_FITTED);
    CHECK_RESULT(an_inject_windows(v, x, N, 2, &c, NULL, a, lab, NULL, NULL, 0, &n_ev), AN_ERR_SHAPE);
    CHECK_OK(an_detector_fit(v, x, N));
    CHECK_OK(an_inject_windows(v, x, N, 1, &c, NULL, a, lab, NULL, NULL, 0, &n_ev));
    c.anomalous = 0.0;
    CHECK_OK(an_inject_windows(v, x, N, 1, &c, NULL, b, lab0, NULL, NULL, 0, &n_ev));
    for (i = 0; i < W * 16; i++) CHECK(isfinite(a[i]) && (lab[i / 16] == 1.0f || a[i] == b[i]));
    c.window = 8;
    CHECK_RESULT(an_inject_windows(v, x, N, 1, &c, NULL, a, lab, NULL, NULL, 0, &n_ev), AN_ERR_SHAPE);
    an_detector_destroy(v);
    free(x);
}

static an_result job_injected(const an_allocator *a, void *ctx)
{
    enum { N = 200 };
    an_lstm_config lc = an_lstm_classifier_config_init(16, 4, 1);
    an_window_inject_config c = an_window_inject_config_init(16);
    an_detector *d = NULL;
    float x[N];
    size_t i;
    an_result r;
    (void)ctx;
    for (i = 0; i < N; i++) x[i] = (float)sin(0.3 * (double)i) + 0.1f * (float)(i % 7);
    lc.train.epochs = 1;
    c.n_windows = 8;
    if ((r = an_lstm_classifier_create(&lc, 1, a, &d)) != AN_OK) return r;
    r = an_lstm_classifier_train_injected(d, NULL, x, N, &c, NULL);
    an_detector_destroy(d);
    return r;
}

/* an_lstm_fit_augmented: fraction 0 is an_lstm_fit bit for bit; the
   generated windows are trained on (an autoencoder of one sine given a
   VAE of another, faster one reconstructs the faster one better than
   without them: the oracle is the other sine's reconstruction error);
   the same seeds give the same weights. */
static double recon_error(an_detector *ae, const float *z, size_t n)
{
    float s[400];
    size_t i;
    double sum = 0.0;
    if (n > 400 || an_detector_score(ae, z, n, s) != AN_OK) return HUGE_VAL;
    for (i = 15; i < n; i++) sum += s[i];
    return sum / (double)(n - 15);
}

static void test_fit_augmented(void)
{
    enum { N = 300 };
    an_vae_config vc = small_config(AN_VAE_DENSE);
    an_lstm_config ac = an_lstm_ae_config_init(16, 8);
    an_lstm_config fc = an_lstm_forecaster_config_init(16, 4, 1);
    an_detector *v = NULL, *v8 = NULL, *a = NULL, *b = NULL, *f = NULL;
    float *x = sine(N, 1, 5), *z = (float *)malloc(N * sizeof(float)), *pa, *pb;
    size_t i, na, nb;
    double plain, augmented;
    an_vae_config vc8 = small_config(AN_VAE_DENSE);
    if (!x || !z) { CHECK(0); free(x); free(z); return; }
    for (i = 0; i < N; i++) z[i] = (float)sin(2.0 * 3.14159265358979 * (double)i / 7.0);
    vc.train.epochs = 30;
    ac.train.epochs = 15;
    ac.train.adam.lr = 1e-2;
    CHECK_OK(an_vae_create(&vc, 1, NULL, &v));
    CHECK_OK(an_lstm_ae_create(&ac, 1, NULL, &a));
    CHECK_OK(an_lstm_ae_create(&ac, 1, NULL, &b));
    if (!v || !a || !b) goto done;
    CHECK_RESULT(an_lstm_fit_augmented(a, x, N, v, 0.3, 1, NULL), AN_ERR_NOT_FITTED);
    CHECK_OK(an_detector_fit(v, z, N));
    CHECK_OK(an_lstm_fit(a, x, N, NULL));
    CHECK_OK(an_lstm_fit_augmented(b, x, N, v, 0.0, 1, NULL));
    CHECK_OK(an_lstm_param_view(a, "params", &pa, &na));
    CHECK_OK(an_lstm_param_view(b, "params", &pb, &nb));
    CHECK(na == nb && !memcmp(pa, pb, na * sizeof(float)));
    plain = recon_error(a, z, N);
    CHECK_OK(an_lstm_fit_augmented(b, x, N, v, 2.0, 1, NULL));
    augmented = recon_error(b, z, N);
    if (getenv("LSTM_VERBOSE"))
        printf("  fit_augmented: error on the VAE's sine %.4f without, %.4f with its windows\n", plain, augmented);
    CHECK(augmented < 0.5 * plain);
    CHECK(memcmp(pa, pb, na * sizeof(float)) != 0);
    CHECK_OK(an_lstm_fit_augmented(a, x, N, v, 2.0, 1, NULL));
    CHECK(!memcmp(pa, pb, na * sizeof(float)));
    CHECK_OK(an_lstm_fit_augmented(a, x, N, v, 2.0, 2, NULL));
    CHECK(memcmp(pa, pb, na * sizeof(float)) != 0);
    /* errors */
    CHECK_RESULT(an_lstm_fit_augmented(a, x, N, v, -0.1, 1, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_fit_augmented(a, x, N, a, 0.3, 1, NULL), AN_ERR_INVALID_ARG);
    CHECK_RESULT(an_lstm_fit_augmented(v, x, N, v, 0.3, 1, NULL), AN_ERR_INVALID_ARG);
    vc8.window = 8;
    CHECK_OK(an_vae_create(&vc8, 1, NULL, &v8));
    CHECK_RESULT(an_lstm_fit_augmented(a, x, N, v8, 0.3, 1, NULL), AN_ERR_SHAPE);
    CHECK_OK(an_lstm_forecaster_create(&fc, 1, NULL, &f));
    CHECK_RESULT(an_lstm_fit_augmented(f, x, N, v, 0.3, 1, NULL), AN_ERR_UNSUPPORTED);
done:
    an_detector_destroy(v); an_detector_destroy(v8); an_detector_destroy(a); an_detector_destroy(b);
    an_detector_destroy(f);
    free(x); free(z);
}

static an_result job_fit_augmented(const an_allocator *al, void *ctx)
{
    enum { N = 60 };
    an_vae_config c = small_config(AN_VAE_DENSE);
    an_lstm_config ac = an_lstm_ae_config_init(8, 4);
    an_detector *v = NULL, *d = NULL;
    float x[N];
    size_t i;
    an_result r;
    (void)ctx;
    for (i = 0; i < N; i++) x[i] = (float)sin(0.3 * (double)i);
    c.window = 8;
    c.hidden = 4;
    c.train.epochs = 1;
    ac.train.epochs = 1;
    if ((r = an_vae_create(&c, 1, al, &v)) != AN_OK) return r;
    if ((r = an_detector_fit(v, x, N)) == AN_OK && (r = an_lstm_ae_create(&ac, 1, al, &d)) == AN_OK)
        r = an_lstm_fit_augmented(d, x, N, v, 0.5, 3, NULL);
    an_detector_destroy(d);
    an_detector_destroy(v);
    return r;
}

/* Every allocation of create, fit, save, load and score failing in turn. */
static an_result job_vae(const an_allocator *a, void *ctx)
{
    enum { N = 60 };
    an_vae_config c = small_config(*(const an_vae_arch *)ctx);
    an_detector *d = NULL, *e = NULL;
    float x[N], s[N];
    an_writer w;
    an_reader r;
    const void *data;
    size_t size, i;
    const an_detector_vtable *types[1];
    an_result res;
    for (i = 0; i < N; i++) x[i] = (float)sin(0.3 * (double)i);
    c.train.epochs = 1;
    c.window = 8;
    c.hidden = 4;
    c.scaler = AN_SCALER_ROBUST;
    types[0] = an_vae_type();
    if ((res = an_vae_create(&c, 1, a, &d)) != AN_OK) return res;
    if ((res = an_detector_fit(d, x, N)) != AN_OK) goto out;
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

static void test_allocation_failures(void)
{
    an_vae_arch dense = AN_VAE_DENSE, lstm = AN_VAE_LSTM;
    inject_failures("vae dense", job_vae, &dense);
    inject_failures("vae lstm", job_vae, &lstm);
    inject_failures("classifier on injected windows", job_injected, NULL);
    inject_failures("autoencoder with VAE windows", job_fit_augmented, NULL);
}

int main(void)
{
    RUN(test_torch_dense);
    RUN(test_torch_lstm);
    RUN(test_fd_dense);
    RUN(test_fd_lstm);
    RUN(test_kl_standard_normal);
    RUN(test_detector_dense);
    RUN(test_detector_lstm);
    RUN(test_detector_centred_dense);
    RUN(test_detector_centred_lstm);
    RUN(test_detector_root_lstm);
    RUN(test_root_score);
    RUN(test_centre_level);
    RUN(test_hostile_files);
    RUN(test_resigned_corruption);
    RUN(test_bad_inputs);
    RUN(test_allocation_failures);
    RUN(test_augment);
    RUN(test_expected_units);
    RUN(test_inject_windows);
    RUN(test_inject_windows_vae);
    RUN(test_classifier_injected);
    RUN(test_fit_augmented);
    printf("vae: worst relative difference from torch %.2e, worst finite-difference error %.2e\n", worst_torch,
           worst_fd);
    return test_finish("test_vae");
}
