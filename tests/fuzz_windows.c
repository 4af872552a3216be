/* fuzz_windows.c - fuzz target for the reader of NAB's
   combined_windows.json (examples/cli_read.h, nab_windows_parse): the
   input is the JSON, read for the keys "cat/a.csv" and "cat/b.csv" against
   a table of 300 hourly rows from 2014-01-01.  Windows it returns must be
   what the NAB scorer accepts (in order, apart, two rows or more, inside
   the table); otherwise a message; never a crash, an overread or a leak.

     clang -fsanitize=fuzzer,address,undefined tests/fuzz_windows.c -lm   (make fuzz)
     cc -DFUZZ_STANDALONE tests/fuzz_windows.c -lm                        (make test)

   Seeds: tests/fuzz/windows; dictionary: tests/fuzz/windows.dict. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"
#include "../examples/cli_read.h"
#ifdef FUZZ_STANDALONE
#  include "fuzz_replay.h"
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    enum { ROWS = 300 };
    static const char *const keys[2] = { "cat/a.csv", "cat/b.csv" };
    char *json = (char *)malloc(size + 1), err[CLI_ERR_SIZE];
    double time[ROWS];
    table t;
    size_t i, k, n;
    int key;
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    memset(&t, 0, sizeof t);
    t.rows = ROWS;
    t.cols = 1;
    t.time = time;
    t.time_kind = TIME_ISO;
    for (i = 0; i < ROWS; i++) time[i] = 1388534400.0 + 3600.0 * (double)i;   /* 2014-01-01T00:00:00Z on */
    for (key = 0; key < 2; key++) {
        an_range *w = NULL;
        if (nab_windows_parse(json, "fuzz.json", keys[key], &t, &w, &n, err) == 0) {
            for (k = 0; k < n; k++)
                if (w[k].end >= ROWS || w[k].end <= w[k].start || (k && w[k].start <= w[k - 1].end)) abort();
        } else if (strlen(err) > CLI_ERR_SIZE - 1) {
            abort();
        }
        free(w);
    }
    free(json);
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    return fuzz_replay("fuzz_windows", argc, argv);
}
#endif
