/* fuzz_stream.c - fuzz target for `anomaly stream`'s line parser
   (examples/cli_read.h, stream_parse_line): the input is stdin, cut into
   lines at '\n' as the command cuts them (65535 bytes at most).  Its first
   byte, when below 8, is the feature count of a loaded model (0: none).
   Every row it returns has the layout's width and finite values; never a
   crash, an overread or a leak.

     clang -fsanitize=fuzzer,address,undefined tests/fuzz_stream.c -lm   (make fuzz)
     cc -DFUZZ_STANDALONE tests/fuzz_stream.c -lm                        (make test)

   Seeds: tests/fuzz/stream; dictionary: tests/fuzz/stream.dict. */
#define ANOMALY_IMPLEMENTATION
#include "../anomaly.h"
#include "../examples/cli_read.h"
#ifdef FUZZ_STANDALONE
#  include "fuzz_replay.h"
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    enum { LINE_MAX_BYTES = 65535 };
    stream_reader s;
    char *line = (char *)malloc(LINE_MAX_BYTES + 1), err[CLI_ERR_SIZE];
    float row[MAX_COLS];
    const char *time;
    size_t at = 0, k;
    if (!line) return 0;
    stream_reader_init(&s, size && data[0] < 8 ? data[0] : 0);
    if (size && data[0] < 8) at = 1;
    while (at < size) {
        const unsigned char *nl = (const unsigned char *)memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        int got;
        if (len > LINE_MAX_BYTES) break;               /* the command stops there with its message */
        memcpy(line, data + at, len);
        line[len] = '\0';
        at += len + 1;
        if ((got = stream_parse_line(&s, line, len, row, &time, err)) < 0) break;
        if (got == 1) {
            if (s.cols == 0 || s.cols > MAX_COLS) abort();
            for (k = 0; k < s.cols; k++)
                if (!(row[k] == row[k]) || row[k] - row[k] != 0.0f) abort();
        }
    }
    free(line);
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    return fuzz_replay("fuzz_stream", argc, argv);
}
#endif
