/* A translation unit that sees only the declarations, linked against
   compile_impl.c: the extern linkage works as C99 and as C++. */
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"
#include <stdio.h>

int main(void)
{
    float x[3] = { 1.0f, 2.0f, 3.0f };
    double p = 0.0;
    if (an_percentile(x, 3, 50.0, NULL, &p) != AN_OK || p != 2.0) return 1;
    if (an_dot(3, x, x) != 14.0f) return 1;
    if (an_lstm_layer_param_count(3, 5) != 4 * 5 * 8 + 8 * 5) return 1;
    {
        double ticks[8];
        size_t count = 0;
        an_report r = an_report_init();
        an_report_buffer b = { NULL, 0, 0 };
        if (an_report_nice_ticks(0.0, 10.0, 5, ticks, 8, &count) != AN_OK || count != 6) return 1;
        r.n = 3;
        r.n_features = 1;
        r.values = x;
        if (an_report_svg(&r, an_report_write_buffer, &b) != AN_OK || b.size < 100) return 1;
    }
    printf("compiled with SIMD path %s\n", an_simd_name(an_simd_path()));
    return 0;
}
