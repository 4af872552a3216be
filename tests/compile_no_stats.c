/* The pipeline without the statistics header: the ensemble, calibration,
   alarms and onsets come from anomaly.h, the explainers need no
   statistics, and an LSTM-only program gets its load table from
   anomaly_lstm.h.  Built as C99 and as C++ by tests/run.sh. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"
#ifdef ANOMALY_STATS_H_INCLUDED
#error "the pipeline must not need anomaly_stats.h"
#endif
#include <stdio.h>

int main(void)
{
    float s[64], thr[64], onset[64];
    an_ensemble_config c = an_ensemble_config_init();
    an_alarm_config ac = an_alarm_config_init(1, 1);
    an_calibration cal;
    an_detector *e = NULL;
    an_event ev[16];
    size_t i, n_types = 0, count = 0;
    const an_detector_vtable *const *types = an_lstm_types(&n_types);
    for (i = 0; i < 64; i++) { s[i] = (float)(i % 7); thr[i] = 5.5f; }
    if (n_types != 4 || types[0] != an_lstm_ae_type() || types[3] != an_vae_type()) return 1;
    if (an_ensemble_create(&c, 1, NULL, &e) != AN_OK) return 1;
    an_detector_destroy(e);
    if (an_calibration_fit(&cal, s, 64, NULL) != AN_OK || !(an_calibration_likelihood(&cal, 6.0) > 0.5)) return 1;
    if (an_alarm_batch_f(&ac, s, thr, 64, NULL, ev, 16, &count) != AN_OK || count != 9 || ev[0].peak != 6) return 1;
    if (an_onset_batch_f(3, s, 64, onset) != AN_OK) return 1;
    printf("the pipeline without anomaly_stats.h: %zu events\n", count);
    return 0;
}
