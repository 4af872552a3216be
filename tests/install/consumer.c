/* consumer.c - a program outside the tree, built against an installed
   anomaly.h by tests/test_install.sh: with pkg-config (Makefile) and with
   CMake (CMakeLists.txt), find_package or add_subdirectory.  It includes
   every header, so each finds its neighbours where they were installed,
   and prints the version and where STL + IQR puts a spike. */
#define ANOMALY_IMPLEMENTATION
#include <anomaly_stats.h>
#include <anomaly_lstm.h>
#include <anomaly_xai.h>
#include <math.h>
#include <stdio.h>

#define N 480

int main(void)
{
    float x[N], score[N];
    an_stl_iqr_config c = an_stl_iqr_config_init(24);
    an_detector *d;
    size_t i, peak = 0;

    for (i = 0; i < N; i++) x[i] = 10 + 3 * sinf(6.2831853f * (float)i / 24) + 0.2f * sinf((float)i * 7.13f) + (i == 400 ? 8 : 0);
    if (an_stl_iqr_create(&c, 1, NULL, &d) != AN_OK || an_detector_fit(d, x, N) != AN_OK ||
        an_detector_score(d, x, N, score) != AN_OK)
        return 1;
    for (i = 1; i < N; i++)
        if (score[i] > score[peak]) peak = i;
    an_detector_destroy(d);
    printf("anomaly.h %d.%d.%d: peak at %zu\n", ANOMALY_VERSION_MAJOR, ANOMALY_VERSION_MINOR, ANOMALY_VERSION_PATCH, peak);
    return 0;
}
