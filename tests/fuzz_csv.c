/* fuzz_csv.c - fuzz target for the anomaly command's CSV reader
   (examples/cli_read.h, table_parse): header, timestamps in every form it
   accepts, quoted fields, CRLF, a byte order mark, missing cells, many
   columns, NUL bytes.  It must parse or give a message, never crash, read
   out of bounds or leak; a table it accepts has finite values only.

     clang -fsanitize=fuzzer,address,undefined tests/fuzz_csv.c -lm   (make fuzz)
     cc -DFUZZ_STANDALONE tests/fuzz_csv.c -lm                        (make test)

   Seeds: tests/fuzz/csv; dictionary: tests/fuzz/csv.dict. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"
#include "../examples/cli_read.h"
#ifdef FUZZ_STANDALONE
#  include "fuzz_replay.h"
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = (char *)malloc(size + 1), err[CLI_ERR_SIZE];
    table t;
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (table_parse(text, size, "fuzz", &t, err) == 0) {
        size_t i;
        for (i = 0; i < t.rows * t.cols; i++)
            if (!(t.x[i] == t.x[i]) || t.x[i] - t.x[i] != 0.0f) abort();   /* filled and finite */
    } else if (!memchr(err, '\0', CLI_ERR_SIZE) || strlen(err) > 2 * CLIP_MAX + 200) {
        abort();                                                         /* a message of one short line */
    }
    free_table(&t);
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    return fuzz_replay("fuzz_csv", argc, argv);
}
#endif
