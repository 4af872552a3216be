/* quickstart.c - the shortest complete program: read numbers, fit the
   hybrid detector, score every value, print the anomalies.

     cc -O2 examples/quickstart.c -o quickstart -lm
     ./quickstart < values.txt          (one number per line)        */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    size_t n = 0, cap = 1024, i;
    float *x = malloc(cap * sizeof *x), *grown, score;
    char word[64], *end;
    an_detector *hybrid, *member;
    an_hybrid_config hc = an_hybrid_config_init(0);               /* period: detected */
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 48);
    an_result r;

    while (x && scanf("%63s", word) == 1) {                         /* read the series */
        x[n] = strtof(word, &end);                                  /* (up to a word that is no number) */
        if (end == word || *end) break;
        if (++n == cap) {
            if (!(grown = realloc(x, (cap *= 2) * sizeof *x))) break;
            x = grown;
        }
    }
    if (!x) return 1;

    if ((r = an_robust_create(&rc, 1, NULL, &member)) != AN_OK ||  /* a rolling MAD z-score, */
        (r = an_hybrid_create(&hc, 1, member, NULL, &hybrid)) != AN_OK ||  /* with STL + IQR */
        (r = an_detector_fit(hybrid, x, n)) != AN_OK) {             /* learn the series */
        fprintf(stderr, "quickstart: %s\n", an_result_str(r));
        free(x);
        return 1;
    }
    for (i = 0; i < n; i++) {                                     /* score it, in order */
        an_ensemble_decision d;
        if (an_detector_push(hybrid, &x[i], &score) != AN_OK) return 1;
        an_ensemble_last(hybrid, &d);
        if (d.anomaly) printf("anomaly at %zu: value %g, likelihood %.4f, severity %.1f\n", i, x[i], score, d.severity);
    }
    an_detector_destroy(hybrid);
    free(x);
    return 0;
}
