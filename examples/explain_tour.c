/* explain_tour.c - the explainers of anomaly_xai.h, one step at a time.

   Three channels with a daily cycle; channel "fan" shifts up over the last
   six rows.  A rolling robust z-score flags it; the explainers say which
   rows and which channel carry its score, integrated gradients does the
   same through a small LSTM autoencoder, and an_xai_explain_event puts
   the event in words.  Build: make build/explain_tour. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"

#include <math.h>
#include <stdio.h>

#define F 3
#define N_TRAIN 1000
#define N 72            /* the rows explained: 48 of context, then the window */
#define L 24            /* the window: the last 24 rows                        */
#define SEGMENTS 6      /* 4 rows each: 6 x 3 = 18 players                     */

static const char *const names[F] = { "cpu", "temp", "fan" };

static float value(size_t t, size_t f, an_rng *rng)
{
    return (float)(10.0 * (double)(f + 1) + 2.0 * sin(6.2831853 * (double)t / 24.0 + (double)f) +
                   0.2 * an_rng_normal(rng));
}

/* The cell with the largest value (the first of a segment's cells, which
   share its value), and the channel with the largest sum. */
static void print_top(const char *what, const double *cells, const an_xai_summary *s)
{
    size_t i, top = 0, best = 0;
    double per_channel[F] = { 0, 0, 0 };
    for (i = 0; i < L * F; i++) {
        if (cells[i] > cells[top]) top = i;
        per_channel[i % F] += cells[i];
    }
    for (i = 1; i < F; i++)
        if (per_channel[i] > per_channel[best]) best = i;
    printf("%-11s top cell: row %zu of the window, %s; top channel %s; f(x) %.3f, masked %.3f, gap %.1e, "
           "%zu score calls\n", what, top / F, names[top % F], names[best], s->full, s->empty, s->gap, s->evaluations);
}

int main(void)
{
    static float train[N_TRAIN * F];
    float x[N * F], clean[N * F];
    double expected[N * F];
    double phi[SEGMENTS * F], cells[L * F], attr[N * F];
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 24);
    an_lstm_config lc = an_lstm_ae_config_init(L, 16);
    an_detector *z = NULL, *ae = NULL;
    an_xai_players p;
    an_xai xai;
    an_xai_summary s;
    an_xai_lime_config lime = an_xai_lime_config_init();
    an_xai_context ctx = an_xai_context_init();
    an_event ev;
    an_rng rng;
    char reason[256];
    size_t t, f;

    an_rng_seed(&rng, 5, 0);
    for (t = 0; t < N_TRAIN; t++)
        for (f = 0; f < F; f++) train[t * F + f] = value(t, f, &rng);
    for (t = 0; t < N; t++)
        for (f = 0; f < F; f++) x[t * F + f] = clean[t * F + f] = value(N_TRAIN + t, f, &rng);
    for (t = N - 6; t < N; t++) x[t * F + 2] += 8.0f;   /* the fan shifts up */

    if (an_robust_create(&rc, F, NULL, &z) != AN_OK || an_detector_fit(z, train, N_TRAIN) != AN_OK) return 1;

    /* 1. The players: the window's 6 segments x 3 channels; a masked cell
          takes the clean value (what was expected).  f is the score of
          the shift's first row. */
    p.detector = z;
    p.x = x;
    p.n_rows = N;
    p.start = N - L;
    p.length = L;
    p.target = N - 6;
    p.n_segments = SEGMENTS;
    p.per_channel = 1;
    p.fill = AN_XAI_FILL_EXPECTED;
    p.fill_values = clean;
    if (an_xai_init(&xai, &p, 512, NULL) != AN_OK) return 1;   /* memory for 512 evaluations, once */

    /* 2. Kernel SHAP: values that add up to f(x) - f(masked) */
    if (an_xai_shap(&xai, 512, 1, phi, &s) != AN_OK) return 1;
    an_xai_cells(&xai, phi, cells);
    print_top("kernel shap", cells, &s);

    /* 3. Occlusion: what each player alone takes away */
    if (an_xai_occlusion(&xai, phi, &s) != AN_OK) return 1;
    an_xai_cells(&xai, phi, cells);
    print_top("occlusion", cells, &s);

    /* 4. LIME: a weighted ridge on random maskings, and its fidelity */
    lime.samples = 512;
    if (an_xai_lime(&xai, &lime, phi, &s) != AN_OK) return 1;
    an_xai_cells(&xai, phi, cells);
    print_top("lime", cells, &s);
    printf("            lime's fit explains %.0f%% of the score's weighted variance\n", 100.0 * s.fidelity);
    an_xai_uninit(&xai);

    /* 5. Integrated gradients through an LSTM autoencoder (its input
          gradient), from the clean window to x */
    lc.train.epochs = 3;
    lc.train.stride = 4;
    if (an_lstm_ae_create(&lc, F, NULL, &ae) != AN_OK || an_detector_fit(ae, train, N_TRAIN) != AN_OK) return 1;
    if (an_xai_integrated_gradients(ae, x + (N - L) * F, clean + (N - L) * F, L, L - 1, 64, AN_XAI_MIDPOINT, attr,
                                    &s, NULL) != AN_OK)
        return 1;
    print_top("integrated", attr, &s);

    /* 6. The event in words */
    ev.start = N - 6;
    ev.end = ev.peak = N - 1;
    ev.severity = 1.0;
    ev.points = ev.alarms = 6;
    ctx.n_rows = N;
    ctx.n_features = F;
    ctx.x = x;
    for (t = 0; t < N; t++)   /* the cycle without its noise */
        for (f = 0; f < F; f++)
            expected[t * F + f] = 10.0 * (double)(f + 1) + 2.0 * sin(6.2831853 * (double)(N_TRAIN + t) / 24.0 + (double)f);
    ctx.expected = expected;
    ctx.names = names;
    if (an_xai_explain_event(&ctx, &ev, NULL, reason, sizeof reason, NULL, NULL) != AN_OK) return 1;
    printf("reason: %s\n", reason);
    an_detector_destroy(ae);
    an_detector_destroy(z);
    return 0;
}
