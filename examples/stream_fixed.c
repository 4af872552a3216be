/* stream_fixed.c - firmware style: one static buffer is all the memory
   there is.  The detector trains at start-up on three days of readings
   from a (simulated) sensor, then scores each new reading as it arrives,
   with no allocation at all once it runs.

   The library's heap is switched off (ANOMALY_MALLOC fails), so every byte
   comes from the arena below.  tests/no_heap.c goes further in
   `make test`: it links this program with a malloc that aborts, so any
   heap use by the library or this file would stop it.

     cc -O2 examples/stream_fixed.c -o stream_fixed -lm && ./stream_fixed */
#include <stddef.h>
static void *no_malloc(size_t size) { (void)size; return NULL; }
static void no_free(void *p) { (void)p; }
#define ANOMALY_MALLOC(size) no_malloc(size)
#define ANOMALY_FREE(ptr) no_free(ptr)
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"

#include <stdio.h>

#define PERIOD 96                        /* a reading every 15 minutes */
#define WARMUP (3 * PERIOD)              /* three days to learn from   */
#define READINGS (10 * PERIOD)

static unsigned char memory[96 * 1024];      /* all the memory there is */
static char out_buffer[4096];

/* The sensor: a daily cycle, noise, and a fault at reading 700. */
static float read_sensor(an_rng *rng, size_t t)
{
    double v = 21.0 + 3.0 * sin(2 * 3.14159265358979 * (double)(t % PERIOD) / PERIOD) + 0.2 * an_rng_normal(rng);
    return (float)(t >= 700 && t < 704 ? v + 4.0 : v);
}

int main(void)
{
    an_arena arena;
    an_allocator a;
    an_detector *hybrid, *member;
    an_ensemble_config ec = an_ensemble_config_init();
    an_stl_iqr_config sc = an_stl_iqr_config_init(PERIOD);
    an_robust_config rc = an_robust_config_init(AN_ROBUST_MAD, 32);
    an_rng rng;
    float warmup[WARMUP], x, score;
    size_t t, alarms = 0, used_after_start;
    an_result r;

    setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);      /* stdio without the heap */
    an_arena_init(&arena, memory, sizeof memory);
    a = an_arena_allocator(&arena);
    an_rng_seed(&rng, 7, 0);

    /* start-up: build, read three days of warm-up data, fit, catch up */
    if ((r = an_ensemble_create(&ec, 1, &a, &hybrid)) != AN_OK || (r = an_stl_iqr_create(&sc, 1, &a, &member)) != AN_OK ||
        (r = an_ensemble_add(hybrid, member, 0.6, AN_MEMBER_BASELINE)) != AN_OK ||
        (r = an_robust_create(&rc, 1, &a, &member)) != AN_OK ||
        (r = an_ensemble_add(hybrid, member, 0.4, AN_MEMBER_OPTIONAL)) != AN_OK) {
        printf("start-up: %s\n", an_result_str(r));
        return 1;
    }
    for (t = 0; t < WARMUP; t++) warmup[t] = read_sensor(&rng, t);
    if ((r = an_detector_fit(hybrid, warmup, WARMUP)) != AN_OK) {
        printf("fit: %s\n", an_result_str(r));
        return 1;
    }
    for (t = 0; t < WARMUP; t++) an_detector_push(hybrid, &warmup[t], &score);   /* the stream starts at row 0 */
    used_after_start = arena.used;

    /* running: one reading at a time */
    for (t = WARMUP; t < READINGS; t++) {
        an_ensemble_decision d;
        x = read_sensor(&rng, t);
        if ((r = an_detector_push(hybrid, &x, &score)) != AN_OK) {
            printf("reading %zu: %s\n", t, an_result_str(r));
            return 1;
        }
        an_ensemble_last(hybrid, &d);
        if (d.anomaly) {
            alarms++;
            printf("alarm at reading %zu: %.2f (likelihood %.4f)\n", t, x, score);
        }
    }
    printf("%zu readings, %zu alarms; arena: %zu of %zu bytes at peak, %zu in use after start-up and %zu at the end\n",
           (size_t)READINGS, alarms, arena.peak, sizeof memory, used_after_start, arena.used);
    return arena.used == used_after_start ? 0 : 1;                   /* nothing allocated while running */
}
