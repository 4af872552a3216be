/* The implementation in its own translation unit: C99 or C++. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"
#include "../anomaly_xai.h"
