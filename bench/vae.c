/* bench/vae.c - training time of the VAE (anomaly_lstm.h section 5) on one
   core, beside bench/vae_torch.py (the same model in PyTorch) through
   bench/vae_compare.sh.

     bench/vae [--arch dense|lstm] [--N rows] [--T window] [--H units]
               [--L latent] [--B batch] [--epochs E] [--seed S]

   A sine of period 24 plus N(0, 0.1^2) noise, windows at every row, no
   validation and no early stopping, Adam 1e-3, beta 0.01: every epoch
   runs every window once.  Prints the seconds of fit (wall clock) and a
   line 'RESULT {...}' for the comparison script. */
#define _POSIX_C_SOURCE 200809L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t N = 2000, T = 48, H = 32, L = 8, B = 32, epochs = 5, i;
    unsigned long long seed = 1;
    const char *arch = "dense";
    an_vae_config c;
    an_detector *d = NULL;
    float *x;
    an_rng rng;
    an_result r;
    struct timespec t0, t1;
    double s;
    int a;
    for (a = 1; a + 1 < argc; a += 2) {
        const char *o = argv[a], *v = argv[a + 1];
        if (!strcmp(o, "--arch")) arch = v;
        else if (!strcmp(o, "--N")) N = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--T")) T = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--H")) H = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--L")) L = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--B")) B = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--epochs")) epochs = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--seed")) seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "vae: unknown option %s\n", o); return 2; }
    }
    if (a != argc || (strcmp(arch, "dense") && strcmp(arch, "lstm")) || N < T) {
        fprintf(stderr, "usage: vae [--arch dense|lstm] [--N rows] [--T window] [--H units] [--L latent] [--B batch] "
                        "[--epochs E] [--seed S]\n");
        return 2;
    }
    if (!(x = (float *)malloc(N * sizeof(float)))) return 1;
    an_rng_seed(&rng, seed, 0);
    for (i = 0; i < N; i++) x[i] = (float)(sin(6.283185307179586 * (double)i / 24.0) + 0.1 * an_rng_normal(&rng));
    c = an_vae_config_init(T, H, L);
    c.arch = arch[0] == 'l' ? AN_VAE_LSTM : AN_VAE_DENSE;
    c.batch = B;
    c.seed = seed;
    c.train.epochs = epochs;
    c.train.val_fraction = 0.0;
    c.train.patience = 0;
    if ((r = an_vae_create(&c, 1, NULL, &d)) != AN_OK) {
        fprintf(stderr, "vae: %s\n", an_result_str(r));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = an_vae_fit(d, x, N, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r != AN_OK) {
        fprintf(stderr, "vae: fit: %s\n", an_result_str(r));
        return 1;
    }
    s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%s VAE, %zu windows of %zu rows, %zu units, %zu latent, batch %zu: %zu epochs in %.3f s (SIMD %s)\n", arch,
           N - T + 1, T, H, L, B, epochs, s, an_simd_name(an_simd_path()));
    printf("RESULT {\"seconds\": %.6f, \"epochs\": %zu}\n", s, epochs);
    an_detector_destroy(d);
    free(x);
    return 0;
}
