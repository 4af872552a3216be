/* stream.c - the firmware of `make firmware`: streams a series through a
   detector loaded from a model file that is a C array in flash, with one
   static arena for all its memory, no heap (ANOMALY_MALLOC fails), no
   stdio in the library (ANOMALY_NO_STDIO) and no file system.  The
   Makefile builds the board's program with ANOMALY_NO_TRAINING (load and
   score only) and ANOMALY_LSTM_LOAD_IN_PLACE (the weights read from the
   model file in flash, not copied), the host's with the full library.

   Built three times, one detector each (FW_STL, FW_AE or FW_ENSEMBLE, and
   FW_MODEL naming the header firmware/train.c wrote): for a Cortex-M4F
   with firmware/startup.c (output by semihosting), and for the host with
   the scalar kernels.  Each prints one line per row, the score's float
   bits in hex, so the two outputs compare bit for bit; then the arena's
   peak and, on the board, the stack's. */
#include <stddef.h>
#include <string.h>
static void *fw_no_malloc(size_t size) { (void)size; return NULL; }
static void fw_no_free(void *p) { (void)p; }
#define ANOMALY_MALLOC(size) fw_no_malloc(size)
#define ANOMALY_FREE(ptr) fw_no_free(ptr)
#define ANOMALY_NO_STDIO
#define ANOMALY_LSTM_LOAD_BATCH 1     /* streaming scores one window at a time */
#if defined(__arm__)
/* The board's autoencoder reads its weights from fw_model in flash and
   keeps one step's state per layer; the host's is the default model
   (copied weights, batched buffers), so the comparison checks the two
   give the same bits. */
#define ANOMALY_LSTM_LOAD_IN_PLACE 1
#endif
#define ANOMALY_IMPLEMENTATION
#if defined(FW_STL) || defined(FW_ENSEMBLE)
#include "../anomaly_stats.h"
#endif
#if defined(FW_AE) || defined(FW_ENSEMBLE)
#include "../anomaly_lstm.h"
#endif
#include FW_MODEL

#ifndef FW_ARENA
#define FW_ARENA 65536
#endif

#if defined(__arm__)
void fw_write(const char *s);          /* firmware/startup.c: semihosting */
size_t fw_stack_peak(void);            /* bytes of stack used so far      */
#else
#include <stdio.h>
static void fw_write(const char *s) { fputs(s, stdout); }
#endif

/* All the memory the library gets: FW_ARENA, the board's need, on the
   board; 1 MiB on the host, whose autoencoder is the default model
   (copied weights, every step's buffers) with 8-byte pointers. */
#if defined(__arm__)
static unsigned char fw_arena[FW_ARENA] __attribute__((aligned(AN_ALIGN)));
#else
static unsigned char fw_arena[(size_t)1 << 20] __attribute__((aligned(AN_ALIGN)));
#endif

/* "<label><value in hex>\n" into line (at least 32 bytes). */
static void fw_line(char *line, const char *label, uint32_t v)
{
    size_t n = strlen(label), i;
    memcpy(line, label, n);
    for (i = 0; i < 8; i++) line[n + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    line[n + 8] = '\n';
    line[n + 9] = 0;
}

/* The model in flash, loaded with only the types this firmware runs: one
   type through an_detector_load_one, which leaves the ensemble's code out;
   the hybrid through an_detector_load with its two member types. */
static an_result fw_load(const an_allocator *a, an_detector **d)
{
    an_reader r;
    an_result res;
#if defined(FW_ENSEMBLE)
    const an_detector_vtable *types[2];
    types[0] = an_stl_iqr_type();
    types[1] = an_lstm_ae_type();
#endif
    if ((res = an_model_open(&r, fw_model, sizeof fw_model)) != AN_OK) return res;
#if defined(FW_ENSEMBLE)
    return an_detector_load(&r, types, 2, a, d);
#elif defined(FW_STL)
    return an_detector_load_one(&r, an_stl_iqr_type(), a, d);
#else
    return an_detector_load_one(&r, an_lstm_ae_type(), a, d);
#endif
}

int main(void)
{
    size_t t;
    an_arena arena;
    an_allocator a;
    an_detector *d;
    an_result res;
    char line[32];
    float score;
    uint32_t bits;

    an_arena_init(&arena, fw_arena, sizeof fw_arena);
    a = an_arena_allocator(&arena);
    if ((res = fw_load(&a, &d)) != AN_OK) {
        fw_line(line, "load failed: ", (uint32_t)-res);
        fw_write(line);
        return 1;
    }
    for (t = 0; t < FW_ROWS; t++) {
        if ((res = an_detector_push(d, &fw_series[t], &score)) != AN_OK) {
            fw_line(line, "push failed: ", (uint32_t)-res);
            fw_write(line);
            return 1;
        }
        memcpy(&bits, &score, sizeof bits);
        fw_line(line, "", bits);
        fw_write(line);
    }
    fw_line(line, "arena peak ", (uint32_t)arena.peak);
    fw_write(line);
#if defined(__arm__)
    fw_line(line, "stack peak ", (uint32_t)fw_stack_peak());
    fw_write(line);
#endif
    return 0;
}
