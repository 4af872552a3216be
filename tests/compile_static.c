/* ANOMALY_STATIC: two translation units each with a private copy of the
   implementation link together without clashes, and unused functions do
   not warn.  Built twice, with UNIT=1 and UNIT=2. */
#define ANOMALY_STATIC
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"

#if UNIT == 1
float unit_two(void);
int main(void)
{
    float x[2] = { 3.0f, 4.0f };
    return an_dot(2, x, x) == 25.0f && unit_two() == 25.0f && an_lstm_layer_param_count(1, 1) == 16 ? 0 : 1;
}
#else
float unit_two(void)
{
    float x[2] = { 4.0f, 3.0f };
    return an_dot(2, x, x);
}
#endif
