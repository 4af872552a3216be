/* anomaly.h - v0.1.0 - time-series anomaly detection for C, core layer.
   No dependencies beyond libc and libm.  Public domain or MIT, see the end.

   Do this:
       #define ANOMALY_IMPLEMENTATION
   before you include this file (and any other anomaly_*.h) in *one* C or C++
   file to create the implementation.  Every other file just includes it.

       #include ...
       #define ANOMALY_IMPLEMENTATION
       #include "anomaly.h"

   WHAT IS IN THIS HEADER

   anomaly.h is the layer every other header stands on:

       anomaly_xai.h     explanations, reasons in words, SVG reports
       anomaly_lstm.h    LSTM layers with hand-written backprop, Adam, models
       anomaly_stats.h   STL/MSTL, statistical detectors, telemanom, SPOT
       anomaly.h         this file: memory, results, tensors, RNG, SIMD
                         kernels, preprocessing, thresholds, metrics, NAB
                         scoring, model files, the detector contract,
                         alarms, events, onsets, calibration, ensembles

   Sections, in reading order:
       1  Results            an_result codes and an_result_str()
       2  Memory             an_allocator per object, an_arena for one buffer
       3  Tensors            float32 n-d arrays (up to 4 dims), aligned
       4  Random numbers     an_rng: PCG32 with explicit state
       5  Kernels            dot, axpy, gemv, gemm (nn, nt, tn), sigmoid, tanh
       6  Preprocessing      missing values, scalers, windows, time features,
                             days from a calendar date
       7  Thresholds         percentile, mean + k sigma, EWMA online
       8  Metrics            confusion, ROC/PR, events, point-adjust, NAB
       9  Model files        chunked container with CRC32: writer and reader
       10 Detectors          the contract every detector implements
       11 Pipeline           alarms and events, onsets, calibration, the
                             ensemble (a detector made of detectors), the
                             causal protocol of a benchmark, the inputs
                             stage (targets less their inputs' responses)
       12 Synthetic anomalies injection with ground truth, base series

   CONVENTIONS

   - Series are row-major float arrays of shape (n_rows, n_features): row t
     holds the values of every feature at time t, as in a CSV file.
   - Every function that can fail returns an an_result (AN_OK is 0, errors
     are negative).  Outputs are only written on success unless documented.
   - Library code never prints, exits or aborts, and keeps no mutable global
     state: two threads may use two objects at once.
   - Stateful objects come with three inits (the miniaudio pattern):
         an_x_heap_size(config..., &bytes)          how much memory it needs
         an_x_init_preallocated(&x, config..., heap)  use caller's memory
         an_x_init(&x, config..., allocator)       allocate it
     and an_x_uninit(&x).  A NULL allocator means malloc/free.  Caller
     memory (heap, and the work of the _work forms) is 64-aligned
     (AN_ALIGN); misaligned memory is AN_ERR_INVALID_ARG.
   - float32 for data and parameters, double where accumulation error
     matters (statistics, sums, metrics).

   OPTIONS (#define before including)

     name                      where          effect
     ANOMALY_IMPLEMENTATION    one file       emit the implementation
     ANOMALY_STATIC            every file     make every function static
     ANOMALY_NO_SIMD           impl. file     scalar kernels only
     ANOMALY_NO_AVX512         impl. file     never use AVX-512 (AVX2 if any)
     ANOMALY_MALLOC(size)      impl. file     default allocation (malloc)
     ANOMALY_FREE(ptr)         impl. file     default release (free)
     ANOMALY_MAX_MODEL_BYTES   impl. file     largest model file accepted
                                              (default 1 GiB)
     ANOMALY_NO_STDIO          impl. file     leave out the FILE helpers
     ANOMALY_NO_TRAINING       impl. file     load and score only: the
                                              detectors' fit, save and
                                              gradient entries are NULL
                                              (an_detector_fit, _save,
                                              _gradient return
                                              AN_ERR_UNSUPPORTED), so their
                                              code is not linked; loading
                                              and scoring are bit for bit
                                              the full build's (firmware)

   SIMD paths are chosen at compile time from the compiler's own macros:
   AVX-512F (-mavx512f), AVX2 with FMA (-mavx2 -mfma), NEON on AArch64.  The
   scalar path is always compiled (an_dot_scalar, ...) and is the reference
   the tests check every vector kernel against.  an_simd_path() says which
   one this build uses.  Compile the scalar path with -ffp-contract=off (the
   Makefile does) so it never gains FMAs behind your back; the same seed and
   the same SIMD path then give bit-identical results.

   REVISION HISTORY
     0.1.0  first release of the core layer
*/
#ifndef ANOMALY_H_INCLUDED
#define ANOMALY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define ANOMALY_VERSION_MAJOR 0
#define ANOMALY_VERSION_MINOR 1
#define ANOMALY_VERSION_PATCH 0

#ifdef ANOMALY_STATIC
#  if defined(__GNUC__) || defined(__clang__)
#    define AN_API static __attribute__((unused))
#  else
#    define AN_API static
#  endif
#else
#  define AN_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct an_writer an_writer;   /* section 9 */
typedef struct an_reader an_reader;   /* section 9 */

/* ==========================================================================
   1  Results
   ========================================================================== */

typedef enum an_result {
    AN_OK                =   0,
    AN_ERR_INVALID_ARG   =  -1, /* NULL pointer, zero size, bad parameter   */
    AN_ERR_NOMEM         =  -2, /* the allocator returned NULL              */
    AN_ERR_SHAPE         =  -3, /* dimensions disagree or buffer too small  */
    AN_ERR_INPUT         =  -4, /* data unusable: NaN/Inf, one class, ...   */
    AN_ERR_TOO_SHORT     =  -5, /* series shorter than the method needs     */
    AN_ERR_NOT_FITTED    =  -6, /* object used before fit or load           */
    AN_ERR_UNSUPPORTED   =  -7, /* this object does not implement that      */
    AN_ERR_CORRUPT       =  -8, /* model data malformed: a value out of range,
                                   a length past its chunk, a field missing  */
    AN_ERR_VERSION       =  -9, /* model file made by a newer format        */
    AN_ERR_TOO_LARGE     = -10, /* a size exceeds a limit                   */
    AN_ERR_IO            = -11, /* a file could not be read or written      */
    AN_ERR_CANCELLED     = -12, /* a callback asked to stop                 */
    AN_ERR_NUMERIC       = -13, /* computation became non-finite           */
    AN_ERR_TRUNCATED     = -14, /* model file shorter than its header says  */
    AN_ERR_NOT_MODEL     = -15, /* not a model file: no anomaly.h magic     */
    AN_ERR_CHECKSUM      = -16  /* model file damaged: a CRC32 mismatch     */
} an_result;
#define AN_RESULT_MIN AN_ERR_CHECKSUM   /* lowest code: loop AN_OK..MIN */

/* A short English sentence naming the code.  Never NULL.
   Returns: a static string naming the code ("unknown result code" for any
   other value). */
AN_API const char *an_result_str(an_result r);

/* ==========================================================================
   2  Memory
   ==========================================================================
   Every object takes an allocator (NULL = ANOMALY_MALLOC/ANOMALY_FREE) and
   keeps a copy of it.  alloc must return memory aligned to `align` (a power
   of two, at most 4096) or NULL; free receives the size that was asked for.
   A half-filled allocator (alloc without free) is rejected. */
typedef struct an_allocator {
    void *user;
    void *(*alloc)(void *user, size_t size, size_t align);
    void  (*free)(void *user, void *ptr, size_t size);
} an_allocator;

#define AN_ALIGN 64   /* alignment of every array the library allocates */

/* Allocate / release through `a` (NULL = default).
   Returns: (an_malloc) the block, or NULL for size 0, a bad alignment or a
   failed allocation. */
AN_API void *an_malloc(const an_allocator *a, size_t size, size_t align);
AN_API void  an_free(const an_allocator *a, void *ptr, size_t size);

/* A bump allocator over one caller buffer, for firmware that must not touch
   the heap: everything comes from `buffer`.  Freeing the most recent block
   gives its bytes back; other frees are no-ops until an_arena_reset. */
typedef struct an_arena {
    unsigned char *base;
    size_t size;    /* capacity in bytes  */
    size_t used;    /* bytes handed out   */
    size_t peak;    /* high-water mark    */
} an_arena;

/* Returns: AN_OK; AN_ERR_INVALID_ARG for a NULL arena or buffer, or size 0. */
AN_API an_result    an_arena_init(an_arena *arena, void *buffer, size_t size);
/* Returns: an allocator drawing on the arena (which must outlive it). */
AN_API an_allocator an_arena_allocator(an_arena *arena);
AN_API void         an_arena_reset(an_arena *arena);

/* ==========================================================================
   3  Tensors
   ==========================================================================
   A dense row-major float32 array of up to four dimensions.  The last
   dimension is contiguous.  An LSTM batch is (batch, time, features). */
#define AN_TENSOR_MAX_DIMS 4

typedef struct an_tensor {
    float *data;
    int ndim;
    size_t shape[AN_TENSOR_MAX_DIMS];   /* unused dimensions are 1 */
    size_t size;                         /* product of the shape    */
    size_t owned_bytes;                  /* freed at uninit; 0 for views and caller memory */
    an_allocator alloc;
} an_tensor;

/* Bytes of aligned storage a tensor of this shape needs.
   Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for ndim outside 1..4 or a
   0 dimension; AN_ERR_TOO_LARGE when the size overflows. */
AN_API an_result an_tensor_heap_size(int ndim, const size_t *shape, size_t *bytes);
/* Zero-filled tensor in caller memory `heap` (AN_ALIGN-aligned, heap_size).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad shape or a NULL or
   misaligned heap; AN_ERR_TOO_LARGE. */
AN_API an_result an_tensor_init_preallocated(an_tensor *t, int ndim, const size_t *shape, void *heap);
/* Zero-filled tensor allocated through `a` (NULL = default).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad shape or allocator;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_tensor_init(an_tensor *t, int ndim, const size_t *shape, const an_allocator *a);
AN_API void      an_tensor_uninit(an_tensor *t);
/* A view of existing memory; owns nothing, needs no uninit.
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL data or a bad shape;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_tensor_view(an_tensor *t, float *data, int ndim, const size_t *shape);
/* AN_OK when t has `ndim` dims and each shape[i] matches (0 = any size).
   Returns: AN_OK; AN_ERR_SHAPE when t does not match; AN_ERR_INVALID_ARG
   for NULL arguments. */
AN_API an_result an_tensor_expect(const an_tensor *t, int ndim, const size_t *shape);
/* View of t[index]: drops the first dimension.
   Returns: AN_OK; AN_ERR_SHAPE for a 1-d t; AN_ERR_INVALID_ARG for index
   out of range or NULL arguments. */
AN_API an_result an_tensor_slice(const an_tensor *t, size_t index, an_tensor *view);
/* View with the same data and a new shape of the same size.
   Returns: AN_OK; AN_ERR_SHAPE when the sizes differ; AN_ERR_INVALID_ARG
   for a bad shape; AN_ERR_TOO_LARGE. */
AN_API an_result an_tensor_reshape(const an_tensor *t, int ndim, const size_t *shape, an_tensor *view);
/* Pointer to the feature vector (b, t, :) of a (batch, time, features)
   tensor, or NULL when out of range.
   Returns: the pointer, or NULL for a t that is not 3-d or an index out of
   range. */
AN_API float    *an_tensor_btf(const an_tensor *x, size_t b, size_t t);

/* ==========================================================================
   4  Random numbers
   ==========================================================================
   PCG32 (O'Neill 2014, pcg-random.org): 64-bit state, 32-bit output,
   2^64 period, independent streams.  The state is explicit: there is no
   global generator, and the same seed gives the same numbers everywhere. */
typedef struct an_rng { uint64_t state, inc; } an_rng;

AN_API void     an_rng_seed(an_rng *rng, uint64_t seed, uint64_t stream);
/* Returns: the next 32 random bits. */
AN_API uint32_t an_rng_u32(an_rng *rng);
/* Returns: a uniform integer in [0, bound) (0 for bound <= 1). */
AN_API uint64_t an_rng_below(an_rng *rng, uint64_t bound); /* [0, bound), unbiased */
/* Returns: a uniform double in [0, 1). */
AN_API double   an_rng_uniform(an_rng *rng);               /* [0, 1), 53 bits */
/* Returns: a uniform float in [0, 1). */
AN_API float    an_rng_uniformf(an_rng *rng);              /* [0, 1), 24 bits */
/* Returns: a standard normal double. */
AN_API double   an_rng_normal(an_rng *rng);                /* N(0, 1), Box-Muller */
AN_API void     an_rng_shuffle(an_rng *rng, size_t *items, size_t n); /* Fisher-Yates */

/* ==========================================================================
   5  Kernels
   ==========================================================================
   The arithmetic under the LSTM.  Matrices are row-major with a leading
   dimension (ld = distance between rows, >= columns).  Every kernel
   ACCUMULATES into its output (y +=, C +=), as backward passes need.

   Shapes, and where an LSTM uses each (W_ih is 4H x I, rows = batch):
     an_gemm_nt  C(M,N) += A(M,K) B(N,K)^T   gates(B,4H) += x(B,I) W_ih^T
     an_gemm_nn  C(M,N) += A(M,K) B(K,N)     dx(B,I) += dgates(B,4H) W_ih
     an_gemm_tn  C(M,N) += A(K,M)^T B(K,N)   dW_ih(4H,I) += dgates^T x
     an_gemv     y(M)   += A(M,N) x(N)       one step at batch size 1
     an_gemv_t   y(N)   += A(M,N)^T x(M)     its backward

   Kernels are the inner loops: they trust their arguments (no checks), and
   outputs must not overlap inputs except where noted.  an_gemm_nn and
   an_gemm_tn take up to 16 KB of stack (4 KB on AVX2 and NEON) for a
   packed panel of B; they allocate nothing.

   Vector paths agree with the scalar reference to a few ulps of the sum of
   |terms| (they add in a different order and use FMA).  an_sigmoid and
   an_tanh share one exp approximation on every path, within 1.2e-7
   absolute (tanh also 2 ulp relative) of double-precision libm over
   [-20, 20], as the tests hold; bench/bench_kernels prints the measured
   error.  NaN in gives NaN out; +-Inf saturate. */
typedef enum an_simd {
    AN_SIMD_SCALAR = 0,
    AN_SIMD_AVX2   = 1,   /* AVX2 + FMA, 8 lanes  */
    AN_SIMD_AVX512 = 2,   /* AVX-512F, 16 lanes   */
    AN_SIMD_NEON   = 3    /* AArch64 NEON, 4 lanes */
} an_simd;

/* Returns: the SIMD path this build uses. */
AN_API an_simd     an_simd_path(void);          /* the path this build uses */
/* Returns: a static name ("scalar", "avx2", "avx512", "neon"; "unknown"
   otherwise). */
AN_API const char *an_simd_name(an_simd path);  /* "scalar", "avx2", ...    */

/* Returns: sum x[i] y[i]. */
AN_API float an_dot(size_t n, const float *x, const float *y);        /* sum x[i] y[i] */
AN_API void  an_axpy(size_t n, float a, const float *x, float *y);    /* y += a x      */
AN_API void  an_scale(size_t n, float a, float *x);                   /* x *= a        */
AN_API void  an_gemv(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y);
AN_API void  an_gemv_t(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y);
AN_API void  an_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                        const float *B, size_t ldb, float *C, size_t ldc);
AN_API void  an_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda,
                        const float *B, size_t ldb, float *C, size_t ldc);
AN_API void  an_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                        const float *B, size_t ldb, float *C, size_t ldc);
/* y = 1/(1+exp(-x)) and y = tanh(x); y may equal x. */
AN_API void  an_sigmoid(size_t n, const float *x, float *y);
AN_API void  an_tanh(size_t n, const float *x, float *y);
/* LSTM gate nonlinearities in place on z (rows, 4H) with row stride ldz,
   gate order i, f, g, o as PyTorch: sigmoid(i), sigmoid(f), tanh(g),
   sigmoid(o). */
AN_API void  an_lstm_gates(size_t rows, size_t H, float *z, size_t ldz);

/* The scalar reference of each kernel, always compiled. */
/* Returns: sum x[i] y[i], in order. */
AN_API float an_dot_scalar(size_t n, const float *x, const float *y);
AN_API void  an_axpy_scalar(size_t n, float a, const float *x, float *y);
AN_API void  an_scale_scalar(size_t n, float a, float *x);
AN_API void  an_gemv_scalar(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y);
AN_API void  an_gemv_t_scalar(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y);
AN_API void  an_gemm_nn_scalar(size_t M, size_t N, size_t K, const float *A, size_t lda,
                               const float *B, size_t ldb, float *C, size_t ldc);
AN_API void  an_gemm_nt_scalar(size_t M, size_t N, size_t K, const float *A, size_t lda,
                               const float *B, size_t ldb, float *C, size_t ldc);
AN_API void  an_gemm_tn_scalar(size_t M, size_t N, size_t K, const float *A, size_t lda,
                               const float *B, size_t ldb, float *C, size_t ldc);
AN_API void  an_sigmoid_scalar(size_t n, const float *x, float *y);
AN_API void  an_tanh_scalar(size_t n, const float *x, float *y);
AN_API void  an_lstm_gates_scalar(size_t rows, size_t H, float *z, size_t ldz);

/* ==========================================================================
   6  Preprocessing
   ========================================================================== */

/* Missing values.  NaN marks a missing value.  Each feature's gaps are
   filled by linear interpolation between its neighbouring observations
   (in `time` when given, else in row index); leading and trailing gaps take
   the nearest observation.
     x        (n_rows, n_features), filled in place
     time     optional (n_rows) strictly increasing timestamps, or NULL
     mask     optional (n_rows, n_features) out: 1 where a value was filled
     n_filled optional out: how many values were filled
   Returns: AN_OK; AN_ERR_INPUT for +-Inf or a feature with no observation
   at all; AN_ERR_INVALID_ARG for NULL x or a 0 size; AN_ERR_TOO_LARGE. */
AN_API an_result an_fill_missing(float *x, size_t n_rows, size_t n_features,
                                 const double *time, unsigned char *mask, size_t *n_filled);

/* Gaps along the season.  A gap that a straight line bridges cuts across
   the season (a day's cycle drawn as a ramp), and a detector reads that as
   an anomaly.  Here each feature f with period[f] >= 2 and at least two
   whole periods has its seasonal profile taken out (per phase, the median
   over the observed rows of x less a centred moving average of one
   period, 2 x period for an even one), its gaps bridged by a straight line
   between the neighbouring observations so deseasonalised, and the
   profile added back: forecast::na.interp's scheme (Hyndman), with
   classical decomposition for STL.  x is filled already (an_fill_missing,
   whose mask names the filled cells); only those cells are rewritten, and
   a feature with period[f] < 2 or too few rows keeps its straight lines.
     x       (n_rows, n_features), filled in place
     period  (n_features) rows per cycle, 0 for none
     mask    (n_rows, n_features) 1 where a value was missing
     scratch allocator for 1.5 n_rows + max period + 2 doubles (NULL: the default)
   Returns: AN_OK; AN_ERR_INVALID_ARG for a NULL or 0 argument;
   AN_ERR_INPUT for a non-finite value; AN_ERR_NOMEM; AN_ERR_TOO_LARGE. */
AN_API an_result an_fill_seasonal(float *x, size_t n_rows, size_t n_features, const size_t *period,
                                  const unsigned char *mask, const an_allocator *scratch);

/* Scalers: per feature, y = (x - center) / scale + offset.
     standard  center = mean, scale = population std (as scikit-learn)
     minmax    center = min, scale = (max - min) / (hi - lo), offset = lo
     robust    center = median, scale = IQR (75th - 25th percentile)
   A constant feature gets scale 1.  fit skips NaN (missing) values;
   transform passes NaN through.  Parameters are kept in double. */
typedef enum an_scaler_kind {
    AN_SCALER_STANDARD = 1,
    AN_SCALER_MINMAX   = 2,
    AN_SCALER_ROBUST   = 3
} an_scaler_kind;

typedef struct an_scaler {
    an_scaler_kind kind;
    size_t n_features;
    double lo, hi;        /* min-max target range, default [0, 1] */
    double *center;       /* (n_features) */
    double *scale;        /* (n_features) */
    int fitted;
    void *heap;
    size_t owned_bytes;   /* freed at uninit; 0 when the caller owns heap */
    an_allocator alloc;
} an_scaler;

/* Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for n_features 0;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_scaler_heap_size(size_t n_features, size_t *bytes);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad kind, n_features 0 or a NULL
   or misaligned heap; AN_ERR_TOO_LARGE. */
AN_API an_result an_scaler_init_preallocated(an_scaler *s, an_scaler_kind kind, size_t n_features, void *heap);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad kind or n_features 0;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_scaler_init(an_scaler *s, an_scaler_kind kind, size_t n_features, const an_allocator *a);
AN_API void      an_scaler_uninit(an_scaler *s);
/* Target range of a min-max scaler (lo < hi); call before fit.
   Returns: AN_OK; AN_ERR_INVALID_ARG unless lo < hi, both finite. */
AN_API an_result an_scaler_set_range(an_scaler *s, double lo, double hi);
/* Fit on x (n_rows, n_features).  The robust scaler needs n_rows floats of
   scratch, taken from `scratch` (NULL = default allocator) and released.
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arguments or n_rows 0;
   AN_ERR_INPUT for +-Inf or a feature with no finite value;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_scaler_fit(an_scaler *s, const float *x, size_t n_rows, const an_allocator *scratch);
/* y = transform(x) and x = inverse(y), both (n_rows, n_features); in and
   out may be the same array.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for NULL arguments. */
AN_API an_result an_scaler_transform(const an_scaler *s, const float *x, size_t n_rows, float *y);
/* Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for NULL arguments. */
AN_API an_result an_scaler_inverse(const an_scaler *s, const float *y, size_t n_rows, float *x);
/* One 'SCAL' chunk; load reads the chunk at the reader's position into an
   uninitialised scaler, allocating through `a`.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG; the writer's
   error. */
AN_API an_result an_scaler_save(const an_scaler *s, an_writer *w);
/* Returns: AN_OK; AN_ERR_CORRUPT for a malformed chunk; the reader's
   errors; AN_ERR_NOMEM. */
AN_API an_result an_scaler_load(an_scaler *s, an_reader *r, const an_allocator *a);

/* Sliding windows over a multichannel series.  Window i starts at row
   i * stride and holds `length` rows.  Flags:
     AN_WINDOW_COVER_END  add a last window ending at the last row when the
                          stride would skip the tail
     AN_WINDOW_PAD        a series shorter than `length` gives one window,
                          left-padded with zeros (mask 0), so its last row is
                          the series' last row; without it that is
                          AN_ERR_TOO_SHORT */
enum { AN_WINDOW_COVER_END = 1, AN_WINDOW_PAD = 2 };

/* Returns: AN_OK with *count; AN_ERR_TOO_SHORT for a series shorter than
   length without AN_WINDOW_PAD; AN_ERR_INVALID_ARG for length or stride 0. */
AN_API an_result an_window_count(size_t n_rows, size_t length, size_t stride, unsigned flags, size_t *count);
/* First row of window i (negative when left-padded).
   Returns: the row (negative when padded); 0 for invalid arguments. */
AN_API ptrdiff_t an_window_start(size_t n_rows, size_t length, size_t stride, unsigned flags, size_t i);
/* out: (count, length, n_features) with count <= max_windows;
   mask: optional (count, length), 1 for real rows, 0 for padding.
   Returns: AN_OK; AN_ERR_SHAPE when more than max_windows windows exist;
   AN_ERR_TOO_SHORT and AN_ERR_INVALID_ARG as an_window_count;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_windows(const float *x, size_t n_rows, size_t n_features, size_t length,
                            size_t stride, unsigned flags, float *out, unsigned char *mask,
                            size_t max_windows, size_t *count);

/* Cyclical time features from Unix seconds (UTC) plus `utc_offset`
   seconds: out (n, 4) = sin, cos of the fractional hour of day and sin, cos
   of the day of week (Monday = 0), each as an angle on the circle.
   Returns: AN_OK; AN_ERR_INPUT for a non-finite time; AN_ERR_INVALID_ARG
   for NULL arguments, n 0 or a non-finite utc_offset. */
AN_API an_result an_time_features(const double *unix_seconds, size_t n, double utc_offset,
                                  float *out);

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar:
   1970-01-01 is 0, 1969-12-31 is -1, 2000-03-01 is 11017.  Years are
   astronomical (year 0 is 1 BC, -1 is 2 BC); month 1..12, day 1..31 (not
   checked against the month: 02-30 counts as 03-01 or 03-02).  Exact for
   |year| up to 5 million.  Multiply by 86400 for Unix seconds at midnight
   UTC.
   Returns: the day number; it cannot fail. */
AN_API long an_days_from_civil(long year, int month, int day);

/* ==========================================================================
   7  Thresholds
   ==========================================================================
   Percentiles interpolate linearly between closest ranks (numpy's default
   "linear", R's type 7): with the values sorted v[0..n-1] and
   h = (n - 1) q / 100, p = v[floor h] + (h - floor h)(v[floor h + 1] -
   v[floor h]).  q is in [0, 100].  NaN input is AN_ERR_INPUT.
   Returns: AN_OK; AN_ERR_INPUT for NaN; AN_ERR_INVALID_ARG for n 0 or q
   outside [0, 100]; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_percentile(const float *x, size_t n, double q, const an_allocator *a, double *out);
/* The same without allocating: reorders x.
   Returns: AN_OK; AN_ERR_INPUT for NaN; AN_ERR_INVALID_ARG for n 0 or q
   outside [0, 100]. */
AN_API an_result an_percentile_inplace(float *x, size_t n, double q, double *out);
/* Mean and population standard deviation, accumulated in double.
   Returns: AN_OK; AN_ERR_INPUT for a non-finite value; AN_ERR_INVALID_ARG
   for n 0 or NULL outputs. */
AN_API an_result an_mean_std(const float *x, size_t n, double *mean, double *std);
/* mean + k * std of the (training) scores x.
   Returns: AN_OK; AN_ERR_INPUT as an_mean_std; AN_ERR_INVALID_ARG for n 0
   or a non-finite k. */
AN_API an_result an_threshold_sigma(const float *x, size_t n, double k, double *out);

/* An online threshold: exponentially weighted mean and variance of the
   scores seen so far (alpha = weight of the newest), threshold = mean +
   k * std.  The first `warmup` scores only teach it.  With
   skip_anomalies, scores above the threshold do not update it. */
typedef struct an_ewma_threshold {
    double alpha, k;
    double mean, var;
    size_t n, warmup;
    int skip_anomalies;
} an_ewma_threshold;

/* Returns: AN_OK; AN_ERR_INVALID_ARG for alpha outside (0, 1] or a negative
   or non-finite k. */
AN_API an_result an_ewma_threshold_init(an_ewma_threshold *t, double alpha, double k, size_t warmup);
/* Writes the threshold used to *threshold if not NULL, then learns from
   the score.
   Returns: 1 when `score` is above that threshold (0 during warmup or for
   NaN). */
AN_API int       an_ewma_threshold_push(an_ewma_threshold *t, double score, double *threshold);

/* ==========================================================================
   8  Metrics
   ==========================================================================
   Labels and predictions are 0/1 bytes (other values are AN_ERR_INPUT).
   Ratios with a zero denominator are 0, as scikit-learn's zero_division=0. */
typedef struct an_confusion { size_t tp, fp, tn, fn; } an_confusion;

/* Returns: AN_OK; AN_ERR_INPUT for a label other than 0 or 1;
   AN_ERR_INVALID_ARG for NULL arguments. */
AN_API an_result an_confusion_matrix(const unsigned char *truth, const unsigned char *pred, size_t n,
                                     an_confusion *out);
/* Returns: (tp + tn) / all, or 0 when there is nothing. */
AN_API double an_accuracy(const an_confusion *c);
/* Returns: tp / (tp + fp), or 0. */
AN_API double an_precision(const an_confusion *c);
/* Returns: tp / (tp + fn), or 0. */
AN_API double an_recall(const an_confusion *c);
/* Returns: tn / (tn + fp), or 0. */
AN_API double an_specificity(const an_confusion *c);
/* Returns: 2 tp / (2 tp + fp + fn), or 0. */
AN_API double an_f1(const an_confusion *c);
/* Returns: (1 + beta^2) P R / (beta^2 P + R), or 0. */
AN_API double an_fbeta(const an_confusion *c, double beta);

/* Ranking metrics over scores (larger = more anomalous).  Tied scores form
   one threshold, so the results are exact with ties (scikit-learn's
   definitions).  Both classes must be present (else AN_ERR_INPUT); NaN
   scores are AN_ERR_INPUT.  Scratch memory comes from `a`.
   Returns: AN_OK; AN_ERR_INPUT for NaN, a bad label or one class only;
   AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_roc_auc(const float *score, const unsigned char *label, size_t n,
                            const an_allocator *a, double *auc);
/* Average precision: sum over thresholds of (R_k - R_{k-1}) P_k.
   Returns: AN_OK; AN_ERR_INPUT for NaN, a bad label or no positive;
   AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_average_precision(const float *score, const unsigned char *label, size_t n,
                                      const an_allocator *a, double *ap);
/* ROC curve: point 0 is (0, 0) at threshold +inf, then one point per
   distinct score, descending (scikit-learn's roc_curve with
   drop_intermediate=False).  Buffers hold `capacity` >= distinct + 1.
   Returns: AN_OK; AN_ERR_SHAPE when capacity is too small; errors as
   an_roc_auc. */
AN_API an_result an_roc_curve(const float *score, const unsigned char *label, size_t n,
                              const an_allocator *a, double *fpr, double *tpr, double *threshold,
                              size_t capacity, size_t *count);
/* PR curve exactly as scikit-learn's precision_recall_curve (>= 1.1): one
   point per distinct score with thresholds ascending (recall falling), then
   a final point (precision 1, recall 0) without a threshold, so threshold
   holds count - 1 values.  Buffers hold `capacity` >= distinct + 1.  Needs
   positives; negatives may be absent.
   Returns: AN_OK; AN_ERR_SHAPE when capacity is too small; errors as
   an_average_precision. */
AN_API an_result an_pr_curve(const float *score, const unsigned char *label, size_t n,
                             const an_allocator *a, double *precision, double *recall,
                             double *threshold, size_t capacity, size_t *count);

/* Anomaly ranges: [start, end], both rows inclusive: labelled windows
   (ground truth, NAB's windows) for the metrics.  What a detector finds
   is an an_event (section 11), which also has a peak and a severity. */
typedef struct an_range { size_t start, end; } an_range;

/* Runs of 1 in `label` as ranges; count is set even when capacity is too
   small (then AN_ERR_SHAPE).
   Returns: AN_OK; AN_ERR_SHAPE past capacity; AN_ERR_INPUT for a label
   other than 0 or 1; AN_ERR_INVALID_ARG. */
AN_API an_result an_ranges_from_labels(const unsigned char *label, size_t n, an_range *out,
                                       size_t capacity, size_t *count);

/* Event-level scores: a true event is detected when any of its rows is
   predicted; a predicted event is correct when any of its rows is a true
   anomaly.  recall = detected / true events, precision = correct /
   predicted events. */
typedef struct an_event_metrics {
    size_t true_events, detected, predicted_events, correct;
    double precision, recall, f1;
} an_event_metrics;

/* Returns: AN_OK; AN_ERR_INPUT for a label other than 0 or 1;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_event_scores(const unsigned char *truth, const unsigned char *pred, size_t n,
                                 an_event_metrics *out);
/* Point-adjusted confusion (Xu et al. 2018): when any row of a true
   anomaly range is predicted, every row of that range counts as detected.
   Returns: AN_OK; AN_ERR_INPUT for a label other than 0 or 1;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_point_adjusted(const unsigned char *truth, const unsigned char *pred, size_t n,
                                   an_confusion *out);

/* NAB scoring, as the Numenta Anomaly Benchmark v1.1 defines it
   (github.com/numenta/NAB, nab/sweeper.py and runner.py):
   - the first min(floor(0.15 n), 750) rows of a series are probationary
     and not scored;
   - a row is detected when its score >= threshold;
   - a window [start, end] of width w scores, for its earliest detected row
     i, tp * S(-(end - i + 1) / w) / S(-1), and -fn when nothing in it is
     detected;  S(x) = 2 / (1 + exp(5x)) - 1, and -1 for x > 3;
   - a detection outside every window costs fp * S((i - end) / (w - 1))
     after a window [., end] of width w, and -fp before the first one;
   - one threshold for the whole corpus is the one that maximises the
     summed score (the highest such threshold on ties);
   - normalised = 100 (raw - null) / (perfect - null), perfect = windows *
     tp, null = the best score of a detector with one constant score (0
     when the corpus has no windows).
   Windows must be sorted, disjoint, inside the series and at least two
   rows wide (NAB divides by w - 1). */
typedef struct an_nab_profile { double tp, fp, fn; } an_nab_profile;

typedef enum an_nab_profile_id {
    AN_NAB_STANDARD      = 0,   /* tp 1, fp 0.11, fn 1 */
    AN_NAB_REWARD_LOW_FP = 1,   /* tp 1, fp 0.22, fn 1 */
    AN_NAB_REWARD_LOW_FN = 2    /* tp 1, fp 0.11, fn 2 */
} an_nab_profile_id;

typedef struct an_nab_series {
    const float *score;        /* (n) anomaly scores, larger = more anomalous */
    size_t n;
    const an_range *windows;   /* labelled anomaly windows, row indices */
    size_t n_windows;
} an_nab_series;

typedef struct an_nab_counts {
    double score;              /* raw NAB score                          */
    size_t tp, tn, fp, fn;     /* scored rows by kind, as NAB counts them */
} an_nab_counts;

typedef struct an_nab_result {
    double threshold;          /* the corpus-wide best (1.1 = detect nothing) */
    double raw, null_raw, perfect, normalized;
    an_nab_counts counts;      /* summed over the series at that threshold   */
} an_nab_result;

/* Returns: the profile (AN_NAB_STANDARD's weights for an unknown id). */
AN_API an_nab_profile an_nab_profile_get(an_nab_profile_id id);
/* Returns: min(floor(0.15 n_rows), 750). */
AN_API size_t         an_nab_probation(size_t n_rows);
/* Raw score of one series at a fixed threshold.  No allocation.
   Returns: AN_OK; AN_ERR_INPUT for a score outside [0, 1] (or NaN) or
   windows out of order, outside the series or narrower than 2;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_nab_score_series(const an_nab_series *s, double threshold, an_nab_profile p,
                                     an_nab_counts *out);
/* Best threshold and normalised score of a corpus of series.
   Returns: AN_OK; AN_ERR_INPUT as an_nab_score_series; AN_ERR_INVALID_ARG;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_nab_evaluate(const an_nab_series *series, size_t n_series, an_nab_profile p,
                                 const an_allocator *a, an_nab_result *out);

/* ==========================================================================
   9  Model files
   ==========================================================================
   Layout, every integer little-endian:

     header  8  magic  89 41 4E 4F 4D 0D 0A 1A  ("\x89ANOM\r\n\x1a")
             4  format version (AN_MODEL_VERSION)
             4  flags, 0
             8  total file size in bytes, header included
             4  CRC32 of the 24 bytes above
     chunks  4  tag (four characters, AN_TAG('S','C','A','L'))
             4  payload length n
             n  payload: fields, or nested chunks
             4  CRC32 of tag, length and payload

   A payload may itself hold chunks (a detector holds its members), and the
   outer CRC covers them.  Readers skip chunks they do not know, so newer
   files with extra chunks still load.  The reader checks the header and
   every top-level CRC before anything else is read, and every length
   against what remains, so a damaged or hostile file gives an error,
   never a crash or a large allocation.  CRC32 is the IEEE/zlib one. */
#define AN_MODEL_VERSION 1
#define AN_MODEL_HEADER_BYTES 28
#define AN_TAG(a, b, c, d) ((uint32_t)(unsigned char)(a) | ((uint32_t)(unsigned char)(b) << 8) | \
                            ((uint32_t)(unsigned char)(c) << 16) | ((uint32_t)(unsigned char)(d) << 24))
#define AN_WRITER_MAX_DEPTH 8

/* Returns: the CRC-32 (IEEE) of the bytes, continued from crc. */
AN_API uint32_t an_crc32(uint32_t crc, const void *data, size_t size); /* start with crc = 0 */

/* The writer builds a file in memory.  Errors are sticky: after the first
   failure every call returns it, so a save function may chain writes and
   check once at the end. */
struct an_writer {
    unsigned char *data;
    size_t size, capacity;
    size_t open[AN_WRITER_MAX_DEPTH];   /* offsets of unfinished chunks */
    int depth;
    int fixed;                          /* caller's buffer: never grows */
    an_result status;
    an_allocator alloc;
};

/* Growing buffer from `a`, or a fixed caller buffer.
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad allocator; AN_ERR_NOMEM. */
AN_API an_result an_writer_init(an_writer *w, const an_allocator *a);
/* Returns: AN_OK; AN_ERR_SHAPE when capacity cannot hold the header;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_writer_init_fixed(an_writer *w, void *buffer, size_t capacity);
AN_API void      an_writer_uninit(an_writer *w);
/* Returns: AN_OK; AN_ERR_TOO_LARGE past AN_WRITER_MAX_DEPTH open chunks;
   the sticky error. */
AN_API an_result an_write_begin(an_writer *w, uint32_t tag);   /* open a chunk  */
/* Returns: AN_OK; AN_ERR_INVALID_ARG with no chunk open; AN_ERR_TOO_LARGE
   for a payload over 4 GiB; the sticky error. */
AN_API an_result an_write_end(an_writer *w);                   /* close it      */
/* Returns: AN_OK, or the sticky error: AN_ERR_NOMEM, AN_ERR_SHAPE when a
   fixed buffer is full, AN_ERR_TOO_LARGE. */
AN_API an_result an_write_u32(an_writer *w, uint32_t v);
/* Returns: as an_write_u32. */
AN_API an_result an_write_u64(an_writer *w, uint64_t v);
/* Returns: as an_write_u32. */
AN_API an_result an_write_f32(an_writer *w, float v);
/* Returns: as an_write_u32. */
AN_API an_result an_write_f64(an_writer *w, double v);
/* Returns: as an_write_u32; AN_ERR_INVALID_ARG for NULL v with n > 0. */
AN_API an_result an_write_f32s(an_writer *w, const float *v, size_t n);
/* Returns: as an_write_u32; AN_ERR_INVALID_ARG for NULL v with n > 0. */
AN_API an_result an_write_f64s(an_writer *w, const double *v, size_t n);
/* Returns: as an_write_u32; AN_ERR_INVALID_ARG for NULL v with n > 0. */
AN_API an_result an_write_bytes(an_writer *w, const void *v, size_t n);
/* Completes the header.  *data stays owned by the writer (or is the fixed
   buffer); every chunk must be closed.
   Returns: AN_OK; AN_ERR_INVALID_ARG with a chunk still open;
   AN_ERR_TOO_LARGE past ANOMALY_MAX_MODEL_BYTES; the sticky error. */
AN_API an_result an_writer_finish(an_writer *w, const void **data, size_t *size);

/* A reader is a cursor over bytes: the chunk area of a file, or one
   chunk's payload.  `verified` is set by an_model_open, whose CRC checks
   cover every byte, and passed on to payload readers: their chunks are
   then trusted (their lengths are still checked, never their CRCs again).
   A reader you fill yourself (verified 0) checks each chunk's CRC. */
struct an_reader {
    const unsigned char *data;
    size_t size, pos;
    int verified;
};

/* Checks magic, version, size and every top-level CRC (whose bytes cover
   the nested chunks too) once; r then covers the chunks.  The memory must
   outlive r.  Returns: AN_OK; AN_ERR_NOT_MODEL when the data does not start with
   the magic, AN_ERR_TRUNCATED when it is shorter than the header or than
   the size the header gives, AN_ERR_CHECKSUM for a CRC mismatch,
   AN_ERR_VERSION for a newer format, AN_ERR_CORRUPT for anything else
   malformed (trailing bytes, a chunk running past the end). */
AN_API an_result an_model_open(an_reader *r, const void *data, size_t size);
/* Returns: 1 when no byte is left, else 0. */
AN_API int       an_reader_at_end(const an_reader *r);
/* Returns: the bytes left after the cursor. */
AN_API size_t    an_reader_remaining(const an_reader *r);
/* The chunk at the cursor: its tag and a reader over its payload (CRC
   checked unless r is verified: AN_ERR_CHECKSUM); advances past it.
   Returns: AN_OK; AN_ERR_CORRUPT when the chunk runs past the end;
   AN_ERR_CHECKSUM; AN_ERR_INVALID_ARG. */
AN_API an_result an_read_chunk(an_reader *r, uint32_t *tag, an_reader *payload);
/* The chunk at the cursor must have `tag`.
   Returns: AN_OK; AN_ERR_CORRUPT for another tag; errors as an_read_chunk. */
AN_API an_result an_read_expect(an_reader *r, uint32_t tag, an_reader *payload);
/* The first chunk with `tag` anywhere in r (r itself is not moved);
   AN_ERR_CORRUPT when absent.
   Returns: AN_OK; AN_ERR_CORRUPT when absent or malformed; AN_ERR_CHECKSUM. */
AN_API an_result an_reader_find(const an_reader *r, uint32_t tag, an_reader *payload);
/* Returns: AN_OK; AN_ERR_CORRUPT when too few bytes are left;
   AN_ERR_INVALID_ARG for NULL arguments. */
AN_API an_result an_read_u32(an_reader *r, uint32_t *v);
/* Returns: as an_read_u32. */
AN_API an_result an_read_u64(an_reader *r, uint64_t *v);
/* Returns: as an_read_u32. */
AN_API an_result an_read_f32(an_reader *r, float *v);
/* Returns: as an_read_u32. */
AN_API an_result an_read_f64(an_reader *r, double *v);
/* Returns: as an_read_u32. */
AN_API an_result an_read_f32s(an_reader *r, float *v, size_t n);
/* Returns: as an_read_u32. */
AN_API an_result an_read_f64s(an_reader *r, double *v, size_t n);
/* Returns: as an_read_u32. */
AN_API an_result an_read_bytes(an_reader *r, void *v, size_t n);
/* A u64 count that must be in [lo, hi], else AN_ERR_CORRUPT.
   Returns: AN_OK; AN_ERR_CORRUPT when out of range or too few bytes are
   left. */
AN_API an_result an_read_count(an_reader *r, size_t lo, size_t hi, size_t *v);
/* AN_OK when n items of `elem` bytes can still be read: check before you
   allocate for them.
   Returns: AN_OK; AN_ERR_CORRUPT when fewer bytes are left (or n elem
   overflows). */
AN_API an_result an_reader_need(const an_reader *r, size_t n, size_t elem);

#ifndef ANOMALY_NO_STDIO
/* Whole-file helpers.  Reading refuses files over ANOMALY_MAX_MODEL_BYTES;
   the buffer comes from `a` and is released with an_free(a, data, size).
   Returns: AN_OK; AN_ERR_IO when the file cannot be opened or read;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_file_read(const char *path, const an_allocator *a, void **data, size_t *size);
/* Returns: AN_OK; AN_ERR_IO when the file cannot be written;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_file_write(const char *path, const void *data, size_t size);
#endif

/* ==========================================================================
   10  Detectors
   ==========================================================================
   Everything that scores a series implements this contract: a struct whose
   first member is an an_detector, pointing at a table of functions.

       typedef struct my_detector {
           an_detector base;      first, so an (an_detector *) is a pointer
           ... own state ...      to the whole object
       } my_detector;

   Entries (self is the an_detector; a NULL entry makes the generic call
   return AN_ERR_UNSUPPORTED):
     fit       learn from x (n_rows, n_features); may allocate.
     score     one score per row of x, larger = more anomalous; may look at
               the whole series (it need not be causal); never allocates.
     push      score the next row of a stream, causally: the score of row t
               depends only on rows up to t; never allocates.
     reset     forget the stream state (the fit stays).
     save      write the detector's own chunks (an_detector_save wraps them
               in a 'DETC' chunk with a 'TYPE' chunk naming `tag`).
     load      rebuild a detector from the payload save wrote, allocating
               through `a` (never NULL here: copy it, it is temporary); on
               failure *out is NULL and nothing leaks.
     gradient  d score[t] / d x for x (n_rows, n_features) into grad of the
               same shape (integrated gradients uses it); optional.
     destroy   release everything, including the object itself.
     expected  what the last push expected (an_detector_expected); optional.
     score_batch  score n_series series of n_rows rows each, x (n_series,
               n_rows, n_features) into scores (n_series, n_rows): exactly
               what n_series score calls give, in fewer passes (the LSTM
               models run the windows of all the series through their
               batched forward pass); never allocates; optional: NULL =
               one score call per series (an_detector_score_batch).
     gradient_batch  gradient for n_series series at once, x and grad
               (n_series, n_rows, n_features): exactly what n_series
               gradient calls give; optional: NULL = one gradient call per
               series (an_detector_gradient_batch).

   The table is positional and grows only at its end: a table written
   for an older version leaves the newer slots zero, which every generic
   call reads as "absent".

   n_features is fixed when the detector is created; fitted turns 1 after a
   successful fit or load (ensembles skip members that are not fitted). */
typedef struct an_detector an_detector;

typedef struct an_detector_vtable {
    uint32_t tag;          /* type tag in model files, AN_TAG(...) */
    const char *name;      /* short human name, e.g. "stl-iqr"     */
    an_result (*fit)(an_detector *self, const float *x, size_t n_rows);
    an_result (*score)(an_detector *self, const float *x, size_t n_rows, float *scores);
    an_result (*push)(an_detector *self, const float *row, float *score);
    an_result (*reset)(an_detector *self);
    an_result (*save)(const an_detector *self, an_writer *w);
    an_result (*load)(an_reader *payload, const an_allocator *a, an_detector **out);
    an_result (*gradient)(an_detector *self, const float *x, size_t n_rows, size_t t, float *grad);
    void      (*destroy)(an_detector *self);
    an_result (*expected)(an_detector *self, double *expected);   /* optional: an_detector_expected */
    an_result (*score_batch)(an_detector *self, const float *x, size_t n_series, size_t n_rows,
                             float *scores);                         /* optional: an_detector_score_batch */
    an_result (*gradient_batch)(an_detector *self, const float *x, size_t n_series, size_t n_rows, size_t t,
                                float *grad);                        /* optional: an_detector_gradient_batch */
} an_detector_vtable;

/* A vtable entry that fits, saves or differentiates: NULL under
   ANOMALY_NO_TRAINING, so a load-and-score build links none of that code
   (the generic calls then return AN_ERR_UNSUPPORTED).  Each header guards
   the static functions only these entries reach with the same macro. */
#ifdef ANOMALY_NO_TRAINING
#define AN__TRAINING(fn) NULL
#else
#define AN__TRAINING(fn) fn
#endif

struct an_detector {
    const an_detector_vtable *vt;
    size_t n_features;
    int fitted;
};

/* Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arguments or n_rows 0;
   AN_ERR_UNSUPPORTED without a fit; the type's own errors. */
AN_API an_result an_detector_fit(an_detector *d, const float *x, size_t n_rows);
/* Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG;
   AN_ERR_UNSUPPORTED; the type's own errors. */
AN_API an_result an_detector_score(an_detector *d, const float *x, size_t n_rows, float *scores);
/* Scores n_series independent series of n_rows rows each: x is (n_series,
   n_rows, n_features), scores (n_series, n_rows), and series s's scores
   are exactly (bit for bit) those an_detector_score gives it alone.  Made
   for callers with many short series to score at once (the explainers'
   masked copies): a type with a score_batch entry evaluates them together
   (the LSTM models fill their batches with windows of several series),
   any other is called once per series.  Allocates nothing.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG (n_series or
   n_rows 0); AN_ERR_TOO_LARGE when the sizes overflow; AN_ERR_INPUT for a
   non-finite value; AN_ERR_UNSUPPORTED; the type's own errors (on an
   error, scores are unspecified). */
AN_API an_result an_detector_score_batch(an_detector *d, const float *x, size_t n_series, size_t n_rows,
                                         float *scores);
/* Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG; AN_ERR_UNSUPPORTED
   for a batch-only type; the type's own errors. */
AN_API an_result an_detector_push(an_detector *d, const float *row, float *score);
/* Returns: AN_OK; AN_ERR_UNSUPPORTED for a batch-only type;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_detector_reset(an_detector *d);
/* Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_UNSUPPORTED for a type without
   gradients; AN_ERR_INVALID_ARG. */
AN_API an_result an_detector_gradient(an_detector *d, const float *x, size_t n_rows, size_t t, float *grad);
/* an_detector_gradient of row t for n_series series of n_rows rows each,
   x and grad (n_series, n_rows, n_features); series s's gradient is
   exactly (bit for bit) the one an_detector_gradient gives it alone.
   Made for integrated gradients' path points: the LSTM models run the
   series' windows through batched forward and backward passes; a type
   without the entry is called once per series.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_UNSUPPORTED for a type without
   gradients; AN_ERR_INVALID_ARG (n_series or n_rows 0, t >= n_rows);
   AN_ERR_TOO_LARGE when the sizes overflow; the type's own errors. */
AN_API an_result an_detector_gradient_batch(an_detector *d, const float *x, size_t n_series, size_t n_rows, size_t t,
                                            float *grad);
/* What the detector expected for the row its last push scored, in the
   data's units (n_features values into `expected`): a forecaster's
   forecast, an autoencoder's reconstruction, STL + IQR's one-step
   forecast; an ensemble's is the weighted mean of the expectations of the
   members that answered that row.  NaN where it expected nothing (before
   the first push after fit, load or reset; an LSTM before its first full
   window).  These are the "expected" of |actual - expected| for the error
   thresholds (an_prediction_errors in anomaly_stats.h).
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_UNSUPPORTED for a type that
   expects no values (isolation forest, robust z, ...), or an ensemble
   none of whose members does; AN_ERR_INVALID_ARG. */
AN_API an_result an_detector_expected(an_detector *d, double *expected);
/* Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_UNSUPPORTED; the writer's
   error. */
AN_API an_result an_detector_save(const an_detector *d, an_writer *w);
/* Reads a 'DETC' chunk at the cursor and rebuilds the detector with the
   vtable whose tag it names, from the `types` the caller linked in (see
   an_stats_types, an_lstm_types); an ensemble (section 11) needs no entry
   and hands the table to its members.  AN_ERR_UNSUPPORTED when the file
   names a type that is not in `types`.
   Returns: AN_OK; AN_ERR_UNSUPPORTED; AN_ERR_CORRUPT or AN_ERR_CHECKSUM for
   a malformed chunk; AN_ERR_NOMEM. */
AN_API an_result an_detector_load(an_reader *r, const an_detector_vtable *const *types, size_t n_types,
                                  const an_allocator *a, an_detector **out);
/* an_detector_load for a file that must hold one detector of `type` (not
   an ensemble).  For firmware that runs a single type: it does not link
   the ensemble's code, nor the calibration's maths (on a Cortex-M4F, STL
   + IQR streaming takes 18 KB less flash than through an_detector_load).
   Returns: AN_OK; AN_ERR_UNSUPPORTED when the file holds another type or
   type has no load; otherwise as an_detector_load. */
AN_API an_result an_detector_load_one(an_reader *r, const an_detector_vtable *type, const an_allocator *a,
                                      an_detector **out);
AN_API void      an_detector_destroy(an_detector *d);

#define AN_TAG_DETECTOR AN_TAG('D', 'E', 'T', 'C')
#define AN_TAG_TYPE     AN_TAG('T', 'Y', 'P', 'E')
#define AN_TAG_SCALER   AN_TAG('S', 'C', 'A', 'L')

/* ==========================================================================
   11  Pipeline: events, alarms, onsets, calibration, ensemble, inputs
   ==========================================================================
   The stages after a detector, for any detector: scores to alarms and
   events (11a), scores to onsets (11b), calibration and the ensemble, a
   detector made of detectors (11c), the causal protocol that feeds a
   detector one row at a time as a benchmark does (11d), and the inputs
   stage that explains target columns by input columns before a detector
   sees them (11e).

   11a  Alarms and events
   --------------------------------------------------------------------------
   From points past a threshold to alarms and events.  A point is flagged
   when score > threshold (both finite).  Then:

   - k of a window: point i raises an alarm when it is flagged and at
     least k of the `window` points ending at i are flagged;
   - suppression: after an alarm at i, points i + 1 .. i + suppress raise
     none (a flagged point there still counts towards k);
   - events: flagged points at most `max_gap` unflagged points apart form
     one event [start, end]; its peak is its point furthest above the
     threshold (the first of ties) and its severity that distance.

   The batch form and the streaming form (push one point; allocates
   nothing; an event is reported once max_gap unflagged points have
   passed it, or by an_alarm_flush) give identical alarms and events. */
typedef struct an_alarm_config {
    size_t k;          /* flagged points needed, >= 1          */
    size_t window;     /* among the last `window` points, >= k */
    size_t suppress;   /* quiet points after an alarm          */
    size_t max_gap;    /* unflagged points an event may bridge */
} an_alarm_config;

/* An event: rows judged anomalous, the library's one event type (the
   alarms make them, telemanom returns them, the report draws them; an_range
   is another thing, a labelled window with no peak).  The fields as the
   alarms fill them: */
typedef struct an_event {
    size_t start, end;   /* first and last flagged point, inclusive   */
    size_t peak;         /* the point furthest above its threshold    */
    double severity;     /* score - threshold there (> 0)             */
    size_t points;       /* flagged points in the event               */
    size_t alarms;       /* alarms raised inside it                   */
} an_event;

/* k and window as given, no suppression, no gap: an event is a run.
   Returns: the configuration given (see an_alarm_config). */
AN_API an_alarm_config an_alarm_config_init(size_t k, size_t window);
/* All of a series at once.  score, threshold: (n); alarm: optional (n)
   output, 1 where an alarm is raised; events: (capacity).  *count is the
   number of events, set even when capacity is too small (then
   AN_ERR_SHAPE, the first capacity written).  AN_ERR_INPUT for NaN/Inf.
   Allocates nothing.
   Returns: AN_OK; AN_ERR_SHAPE past an output capacity; AN_ERR_INPUT for a
   non-finite score or threshold; AN_ERR_INVALID_ARG for a bad config. */
AN_API an_result an_alarm_batch(const an_alarm_config *config, const double *score, const double *threshold,
                                size_t n, unsigned char *alarm, an_event *events, size_t capacity,
                                size_t *count);
/* The same for float scores and thresholds, as detectors emit them: the
   events of an_alarm_batch on the same values widened to double.  (The
   streaming form takes double scalars, to which a float converts
   exactly.)
   Returns: as an_alarm_batch. */
AN_API an_result an_alarm_batch_f(const an_alarm_config *config, const float *score, const float *threshold,
                                  size_t n, unsigned char *alarm, an_event *events, size_t capacity,
                                  size_t *count);

/* The streaming rule: the flags of the last `window` points in a ring. */
typedef struct an_alarm {
    an_alarm_config config;
    unsigned char *ring;      /* (window) flags, position t mod window     */
    size_t t;                 /* points pushed                              */
    size_t in_window;         /* flagged points among the last window       */
    size_t last_alarm;        /* point of the latest alarm                  */
    int alarmed, open;        /* an alarm happened; an event is open        */
    an_event current;         /* the open event                             */
    void *heap;
    size_t owned_bytes;       /* freed at uninit; 0 when the caller owns heap */
    an_allocator alloc;
} an_alarm;

/* Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for a bad config. */
AN_API an_result an_alarm_heap_size(const an_alarm_config *config, size_t *bytes);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config or a NULL heap. */
AN_API an_result an_alarm_init_preallocated(an_alarm *s, const an_alarm_config *config, void *heap);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config; AN_ERR_NOMEM. */
AN_API an_result an_alarm_init(an_alarm *s, const an_alarm_config *config, const an_allocator *a);
AN_API void      an_alarm_uninit(an_alarm *s);
/* One point.  *alarm: 1 when it raises an alarm.  *closed: 1 when an
   event ended before this point, written to *event.  AN_ERR_INPUT for
   NaN/Inf (nothing changes).  Thread safety: one thread per an_alarm.
   Returns: AN_OK; AN_ERR_INPUT for a non-finite score or threshold (nothing
   changes); AN_ERR_INVALID_ARG. */
AN_API an_result an_alarm_push(an_alarm *s, double score, double threshold, int *alarm, an_event *event,
                               int *closed);
/* At the end of the stream: 1 and the open event in *event, else 0.
   Returns: 1 with the open event, else 0. */
AN_API int       an_alarm_flush(an_alarm *s, an_event *event);

/* --------------------------------------------------------------------------
   11b  Onsets
   --------------------------------------------------------------------------
   A stream of non-negative scores (say, the ensemble's
   likelihoods) reduced to where something new starts.  A point's onset
   score is its score when that is greater than every score of the
   `window` points before it, and 0 otherwise.  Whatever threshold is
   later put on them, a run of high scores is then reported at its start,
   and again only where it gets worse than anything in the last window:
   one anomaly is one report, not one per row of it (NAB, for one, counts
   the first detection in a window and charges every detection outside).
   The first point has no history and keeps its score.  The batch and
   streaming forms agree (batch: score and onset must not overlap); push
   allocates nothing.  AN_ERR_INPUT for a
   negative, NaN or infinite score (nothing changes). */
typedef struct an_onset {
    size_t window;
    double *ring;             /* (window) the last scores, position t mod window */
    size_t t;                 /* points pushed                                   */
    void *heap;
    size_t owned_bytes;       /* freed at uninit; 0 when the caller owns heap    */
    an_allocator alloc;
} an_onset;

/* Returns: AN_OK; AN_ERR_INPUT for a negative or non-finite score;
   AN_ERR_INVALID_ARG for window 0 or NULL arrays. */
AN_API an_result an_onset_batch(size_t window, const double *score, size_t n, double *onset);
/* The same for float scores, as detectors emit them.
   Returns: as an_onset_batch. */
AN_API an_result an_onset_batch_f(size_t window, const float *score, size_t n, float *onset);
/* Returns: AN_OK with *bytes; AN_ERR_INVALID_ARG for window 0;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_onset_heap_size(size_t window, size_t *bytes);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for window 0 or a NULL heap;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_onset_init_preallocated(an_onset *s, size_t window, void *heap);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for window 0; AN_ERR_TOO_LARGE;
   AN_ERR_NOMEM. */
AN_API an_result an_onset_init(an_onset *s, size_t window, const an_allocator *a);
AN_API void      an_onset_uninit(an_onset *s);
/* One point: *onset its onset score.  Thread safety: one thread per
   an_onset.
   Returns: AN_OK; AN_ERR_INPUT for a negative or non-finite score;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_onset_push(an_onset *s, double score, double *onset);

/* --------------------------------------------------------------------------
   11c  Calibration and the ensemble
   --------------------------------------------------------------------------
   Calibration puts any detector's raw scores on two common scales learnt
   from its scores on the training data:
     z           robust z: (s - median) / (1.4826 MAD);
     likelihood  the training scores' empirical CDF through 33 quantile
                 knots, linear between knots: every 5% up to 80%, then
                 halving the distance to 1 every two knots (85.9%, 90%,
                 92.9%, ... 99.9%), then the maximum, so the tail where
                 thresholds live is resolved; the CDF level of the quantile
                 at q is (q (n - 1) + 0.5) / n.  Past the 90% knot a score
                 gets the higher of that rank and the bulk's tail: a
                 generalized Pareto tail (shape in [0, 1], 0 = exponential)
                 fitted by least squares on the log tail probabilities of the
                 knots from 90% to 99.1% (past the maximum the rank goes on,
                 see below); under 500 scores, fewer than 50 rows past the
                 90% knot, a shape would be noise and the tail is
                 exponential, and under 227 the knots fitted stop where two
                 rows lie above them (not under the 96.5% knot), so an
                 outlier among few scores does not set its own tail.  Ranks
                 alone would let an anomaly among the training scores
                 calibrate itself away (the top sits at (n - 0.5) / n: a
                 6-sigma spike in 3,000 training rows could not pass
                 0.9999); the tail comes from the bulk, which a few
                 anomalies do not move, so an outlier is rare whether or not
                 training saw it, while a heavy-tailed series (shape > 0)
                 keeps its extremes ordinary.  Where the knots fitted are
                 all one value (a series mostly at one score: a value held
                 between pulses) the bulk has no tail to extend (tail 0)
                 and the ranks alone judge: a pulse that recurs is as rare
                 as its count says (one every few hundred rows, fitted on
                 2,000 rows, was flagged each time it came: 30 of 30, now
                 none).  p in [0, 1] (1 only where the double rounds),
                 non-decreasing in s, still rising past everything seen in
                 training.  A score on several tied knots gets the lowest
                 of their levels (or the tail's, when higher): a value
                 training saw often is not rare.
                   Past the maximum, the rank's tail probability is the
                 exponential through the 99.1% knot and the top, with the top
                 at its expected level n / (n + 1) rather than its rank's
                 (n - 0.5) / n (the largest of n draws sits at n / (n + 1) on
                 average); joined to the top's own rank by adding return
                 periods: 1 / (1 - p) = 2 n + (n + 1) (e^(d / scale) - 1) at d
                 past the top.  So p rises from the top's rank without a step,
                 and a score past everything training saw is not overstated:
                 on make eval's synthetic files after a clean prefix, the
                 VAE's test rows away from any anomaly past 0.9999 went from
                 91 to 44 (30 expected), its false events from 115 to 66.

   The ensemble is a detector made of detectors, each with a weight w_k
   and a role.  Fit fits the members not fitted when added (a separately
   trained LSTM is kept) and calibrates each on the training rows.  A row's
   score pools the members' likelihoods p_k: AN_POOL_MEAN (the default)
   their weighted mean; AN_POOL_SURPRISE 1 - prod (1 - p_k)^(w_k / W), W the
   weight present, so one member sure of a rare row is not diluted by one
   that sees nothing (p 1 - 1e-6 and 0.5, weights 0.6 and 0.4: 0.9998, where
   the mean gives 0.8); a decision carries the surprise pool whatever the
   pool (the hybrid judges a lone row of a whole-series fit by it).  A
   member votes "anomaly" when its likelihood exceeds `threshold`; the row
   is an anomaly when the votes reach `min_agree` of the weight present.

   A member also votes on a sustained departure (`sustain_rows` w > 0):
   the mean over its last w rows of the surprise -ln(1 - p_k), against
   the same mean over the training rows' full windows as a robust z
   ((mean - median) / (1.4826 MAD), the scale floored at 1 / sqrt(w),
   the spread of independent rows' windows, so a smooth or near-noiseless
   series is not judged by the small wobble of its windows; where most
   windows sit at one value, so that 1.4826 MAD is under a quarter of
   the quartiles' spread IQR / 1.349, that spread: a series idle most of
   the time has its median and MAD from the idle windows, and its
   ordinary active stretches were all "sustained"), votes when it passes
   `sustain_z`.  A row's surprise counts at most -ln(1 - threshold) (6.9
   at 0.999): one extreme row is the row vote's business, and must not
   hold the window up for w rows after it.  A row-level likelihood cannot tell a flatline, a
   ramp or a changed season from noise when the anomaly covers more than
   ~0.1% of the rows it was calibrated on (its rows rank among themselves
   and none reaches 0.999); a run of moderately surprising rows is as
   rare as one extreme row, and a median and MAD over windows are not
   moved by a few anomalous stretches.  On training rows the surprise is
   about exponential with mean 1 (the calibration ranks them), so the
   robust z needs no distribution.  The window holds rows the member
   answered in a row (an absent row restarts it) and votes once full:
   pushes since fit, load or reset, or the rows of one batch.  A member
   with fewer than 4 w training windows does not vote so.  With
   `normal_training` (the rows fitted on are known normal: a clean
   prefix, telemanom's training period) each vote also needs more than
   training ever gave: a row's score must pass the largest training
   score (the calibration's top knot), a window's mean the most
   surprising training window's.  A pattern training showed a few times
   (a daily job, a switch between modes, a quantised cycle's steps)
   ranks past 0.999 and sits outside the windows' median and MAD, and
   would vote each time it came back (a daily spike after 8.7 days of
   training: 34 events in the next 26 days, now none); fitted on rows that may
   hold the anomalies (the whole series) it stays off, or an anomaly
   would set its own bar.

   A stuck input is judged on the rows themselves (`flatline_rows` > 0): a
   feature that has repeated its value exactly for k rows makes the row an
   anomaly once k reaches its need, learnt from the training rows: at
   least flatline_rows, and 4 times the longest run of repeats left after
   setting aside the longest 1% of runs (at least 5: a stuck sensor
   fitted on is among them; it may be the longest), the ones after the
   longest only while the rows they hold stay within a quarter of the
   training rows, so a quantised series that often holds its value sets
   a longer need, and so does a feature idle for long spells between
   bursts of activity (a pump, a valve: two spells of 500 rows in
   2,000 set the need past 500, where setting aside the longest five
   left a need of 6 and flagged every spell after the training rows); a
   feature that repeats itself on at least
   half the rows of most of its 16 training blocks (a counter, a
   command, a constant) is never judged so.  No rank or likelihood can
   see a flatline fitted on: its rows' residuals are small, not large.
   The run counts pushes since fit, load or reset, or the rows of one
   batch.

   A variance collapse is judged on the rows too (`quiet_rows` w > 0):
   the mean |x[t] - 2 x[t-1] + x[t-2]| over a feature's last w second
   differences, against its need, learnt from the training rows: the
   25th percentile of that mean over the training windows, over 8.  The
   second difference leaves the noise and removes a level and a slope,
   so a smooth season hardly moves it; noise smoothed away (a collapse)
   or held (a flatline) brings the window's mean under the need, which
   decides.  A quarter of the training windows may be anomalous without
   moving the percentile much, and a series quieter at night than by
   day has its quiet windows in the training rows.  A feature that
   repeats itself as the stuck rule's exemption says, or whose need is 0
   or has fewer than 4 w training windows, is not judged so.  The window
   holds pushes since fit, load or reset, or the rows of one batch.

   A member that is not fitted, failed
   to fit, or returns an error or a non-finite score sits the row out (the
   weights renormalise); a row no member answers is an error, and
   AN_MEMBER_BASELINE members must fit.  The ensemble owns its members.
   Batch scoring uses a row buffer: fit reserves the training length, and
   a score of more rows (or any score after a load) grows it once to the
   batch through the ensemble's allocator.  an_ensemble_reserve ahead of
   time keeps score from allocating at all (as a no-heap program needs). */
#define AN_CALIBRATION_KNOTS 33

typedef struct an_calibration {
    double median, scale;                  /* robust z                         */
    double knot[AN_CALIBRATION_KNOTS];     /* score quantiles                  */
    double level[AN_CALIBRATION_KNOTS];    /* their CDF levels                 */
    double tail;                           /* the bulk's tail: GPD scale (0 = none) ... */
    double shape;                          /* ... and shape (>= 0, 0 = exponential) */
} an_calibration;

/* Returns: AN_OK; AN_ERR_TOO_SHORT for n < 2; AN_ERR_INPUT for a non-finite
   score; AN_ERR_INVALID_ARG; AN_ERR_NOMEM. */
AN_API an_result an_calibration_fit(an_calibration *c, const float *scores, size_t n, const an_allocator *a);
/* Returns: the robust z of score. */
AN_API double    an_calibration_z(const an_calibration *c, double score);
/* Returns: the likelihood of score, in [0, 1]. */
AN_API double    an_calibration_likelihood(const an_calibration *c, double score);

typedef enum an_member_role { AN_MEMBER_OPTIONAL = 0, AN_MEMBER_BASELINE = 1 } an_member_role;

typedef enum an_ensemble_pool { AN_POOL_MEAN = 0, AN_POOL_SURPRISE = 1 } an_ensemble_pool;

typedef struct an_ensemble_config {
    double threshold;      /* member likelihood that votes anomaly (0.999)     */
    double min_agree;      /* share of present weight that decides (0.5)       */
    an_ensemble_pool pool; /* how the score pools likelihoods (AN_POOL_MEAN)   */
    size_t sustain_rows;   /* rows in the sustained vote's window, 0 = off (0) */
    double sustain_z;      /* its robust z that votes (8)                      */
    size_t flatline_rows;  /* the shortest stuck run that decides, 0 = off (0) */
    size_t quiet_rows;     /* the quiet rule's window, 0 = off (0)             */
    int normal_training;   /* 1: the rows fitted on are known normal, and a
                              vote also needs a score (a window) past every
                              training row's (window's) (0)                   */
} an_ensemble_config;

#define AN_ENSEMBLE_MAX_MEMBERS 8
#define AN_ENSEMBLE_MAX_SUSTAIN 48  /* the longest sustained-vote window   */
#define AN_ENSEMBLE_MAX_FLATLINE ((size_t)1 << 30)   /* flatline_rows' limit */
#define AN_ENSEMBLE_MAX_QUIET 256   /* the longest quiet-rule window          */

/* What the ensemble decided about one row. */
typedef struct an_ensemble_decision {
    int anomaly;
    double likelihood;     /* the row's score: the pooled likelihood           */
    double surprise;       /* the likelihoods pooled by surprise, whatever the
                              pool (AN_POOL_SURPRISE's formula): >= the mean  */
    double vote;           /* weight voting anomaly / weight present, [0, 1]   */
    double confidence;     /* how far the vote is from min_agree, [0, 1]       */
    double severity;       /* weighted mean z past the threshold's z, >= 0     */
    size_t n_members;
    unsigned present;      /* bit m: member m answered this row                */
    double member_likelihood[AN_ENSEMBLE_MAX_MEMBERS];
    double member_z[AN_ENSEMBLE_MAX_MEMBERS];
    double member_sustain[AN_ENSEMBLE_MAX_MEMBERS];   /* the sustained vote's z, 0 before a full window */
    double flatline;       /* the longest stuck run over its need, >= 1 decides; 0 when off */
    double quiet;          /* the largest need over its window's mean |second
                              difference|, >= 1 decides; 0 when off or before
                              a full window                                   */
} an_ensemble_decision;

/* Returns: threshold 0.999, min_agree 0.5, AN_POOL_MEAN, sustained vote
   off (sustain_rows 0, sustain_z 8), stuck runs off (flatline_rows 0),
   the quiet rule off (quiet_rows 0). */
AN_API an_ensemble_config an_ensemble_config_init(void);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config (sustain_rows past
   AN_ENSEMBLE_MAX_SUSTAIN, or 1; sustain_z not positive; flatline_rows past
   AN_ENSEMBLE_MAX_FLATLINE; quiet_rows 1, 2 or past AN_ENSEMBLE_MAX_QUIET)
   or n_features 0;
   AN_ERR_NOMEM. */
AN_API an_result an_ensemble_create(const an_ensemble_config *config, size_t n_features, const an_allocator *a,
                                    an_detector **out);
/* Adds a member (same n_features, not an ensemble) and takes ownership of
   it, also on failure.  The ensemble then needs a fit: members fitted
   before they were added are kept, and only calibrated.
   Returns: AN_OK; AN_ERR_INVALID_ARG for a full ensemble, a bad weight or
   role, another n_features or an ensemble member. */
AN_API an_result an_ensemble_add(an_detector *ensemble, an_detector *member, double weight, an_member_role role);
/* Returns: AN_OK; AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_ensemble_reserve(an_detector *ensemble, size_t n_rows);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for index out of range or not an
   ensemble. */
AN_API an_result an_ensemble_member(const an_detector *ensemble, size_t index, an_detector **member);
/* The decision about the last row pushed (AN_ERR_NUMERIC before the
   first push after fit, load or reset, as when no member answered), or
   about row `row` of the last batch scored (row < that batch's length).
   Returns: AN_OK; AN_ERR_NUMERIC as above; AN_ERR_NOT_FITTED;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_ensemble_last(const an_detector *ensemble, an_ensemble_decision *out);
/* Returns: AN_OK; AN_ERR_NUMERIC for a row no member answered;
   AN_ERR_INVALID_ARG for row out of range. */
AN_API an_result an_ensemble_decide(const an_detector *ensemble, size_t row, an_ensemble_decision *out);
/* Loading: an_detector_load knows the ensemble itself (no table entry
   needed) and rebuilds its members from the `types` the caller hands it,
   the tables each header exports (an_stats_types, an_lstm_types)
   concatenated.  A member of a type missing from the table makes the load
   fail with AN_ERR_UNSUPPORTED (an_result_str names it "a detector type
   this program did not link"); an_detector_load(r, NULL, 0, ...) on an
   ensemble file therefore fails so.  A member cannot be an ensemble.  Only
   members that were healthy are saved, so indices may shift.  A loaded
   ensemble has no row buffer: its first batch score allocates one (see
   an_ensemble_reserve to do that ahead of time); push needs nothing.
   an_ensemble_load is an_detector_load that accepts only an ensemble
   (AN_ERR_UNSUPPORTED for another detector, r unmoved).
   Returns: AN_OK; AN_ERR_UNSUPPORTED; the reader's errors; AN_ERR_NOMEM. */
AN_API an_result an_ensemble_load(an_reader *r, const an_detector_vtable *const *types, size_t n_types,
                                  const an_allocator *a, an_detector **out);
/* Names what a load would miss: the tag of the first detector type the
   'DETC' chunk at r's cursor needs (its own, or an ensemble's members')
   that is not in `types`, or 0 when every one is there; r is not moved.
   So a program can say "the model needs type 'LSAE'" where the load says
   AN_ERR_UNSUPPORTED.  Returns: AN_OK, or the reader's error for a
   malformed chunk. */
AN_API an_result an_detector_missing_type(const an_reader *r, const an_detector_vtable *const *types,
                                          size_t n_types, uint32_t *tag);
/* Returns: the ensemble's detector type. */
AN_API const an_detector_vtable *an_ensemble_type(void);

/* --------------------------------------------------------------------------
   11d  The causal protocol
   --------------------------------------------------------------------------
   The causal protocol of a benchmark that feeds a detector one row at a
   time and scores every row (NAB): nothing is scored before row
   `first_fit` (NAB's probation is at least 150 rows); there, and at
   first_fit * growth, first_fit * growth^2, ..., a detector is made
   afresh, fitted on the rows seen so far and replayed over them to catch
   its stream up (a fit that fails keeps the detector before it).  The
   score of row t depends on rows 0..t only.  What is written is the
   onset of the detector's score (an_onset over `onset_window` rows): a
   row keeps its score only when that tops the window's, so an anomaly is
   told where it starts, not on every row of it (NAB counts the first
   detection in a window and charges every detection outside one).
   Defaults 150, 2, 100 (25 to 250 rows all score within noise on NAB).
   `make` returns a new unfitted detector of n_features for a fit on
   n_rows rows, or NULL (the protocol then stops with AN_ERR_NOMEM); its
   scores should be likelihoods in [0, 1] (an ensemble's): one that is
   negative, non-finite or an error counts as 0.  x: (n, n_features)
   row-major; score: (n). */
typedef struct an_causal_config {
    size_t first_fit;           /* the first fit's row (150)                */
    size_t growth;              /* each refit this many times later (2)     */
    size_t onset_window;        /* rows an onset must top (100)             */
} an_causal_config;

typedef an_detector *(*an_detector_maker)(void *user, size_t n_features, size_t n_rows);

/* Returns: first_fit 150, growth 2, onset_window 100. */
AN_API an_causal_config an_causal_config_init(void);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config, NULL arrays or
   allocator; AN_ERR_NOMEM when `make` returns NULL (score is then
   written up to that row); an_onset_init's error. */
AN_API an_result an_causal_score(const an_causal_config *config, an_detector_maker make, void *user, const float *x,
                                 size_t n, size_t n_features, float *score, const an_allocator *a);

/* --------------------------------------------------------------------------
   11e  Inputs: targets explained by other channels
   --------------------------------------------------------------------------
   Telemetry often has channels that drive others: a command, a set
   point, a load.  A target's step after a command is no anomaly, yet
   every detector that sees the target alone flags it.  The inputs stage
   wraps any detector (an ensemble too): it predicts each target column
   from the input columns, linearly, and hands the inner detector the
   targets' residuals, target - prediction, one column per target; the
   inputs are read and never judged.

   Each input u enters through its value and its first-order responses
   r[t] = a r[t-1] + (1 - a) u[t], a = exp(-1 / tau), with time constants
   tau = 2, 4, ..., 2^responses rows, so a lag or a slow settling of any
   time constant in that range is a sum of them; each response starts at
   the first row's value (a settled input), after fit, load or reset and
   at the start of every batch.  Fit solves a ridge regression per
   target with an intercept, on the training rows' standardised features
   (the ridge is relative to their unit variance; a constant feature is
   left out), on the inputs chosen for that target: one at a time, each
   the one whose fit on the first three quarters of the rows leaves the
   least squared error on the last quarter, while it removes at least
   `gain` of the error left, up to `max_inputs`.  The inputs chosen are
   kept only when they leave under `keep` of the last quarter's error
   about the first three quarters' mean; otherwise the inner detector
   gets the target itself, unchanged, so inputs that carry nothing about
   a target change nothing.  (Slow responses of a wandering input fit a
   wandering target by chance: on synthetic telemetry an uninformative
   AR(1) sensor left 0.64 to 9.2 of that error, a driving command 0.04
   to 0.09; and all of 50 on-off commands at once, two of them driving,
   fitted the training rows' cycle and were 60 times as far off on the
   test rows as the two alone, in a prototype of this fit.)  Fit costs O(n P^2) for P = inputs
   (responses + 1) features, plus the choice, and allocates O(P^2 + n
   targets) doubles.

   expected: the inner detector's expectation of a residual plus the
   prediction, in the data's units; NaN in the inputs' columns.  A batch
   score needs a residual buffer of its rows: fit reserves the training
   length, a longer batch grows it once through the stage's allocator
   (so a load's first batch score allocates).  No gradient: integrated
   gradients does not run through the stage.  x: (n, n_features). */
typedef struct an_exog_config {
    size_t responses;      /* first-order responses per input (8: tau 2 .. 256) */
    double ridge;          /* on the standardised features (1e-3)            */
    size_t max_inputs;     /* inputs a target may take (8)                   */
    double gain;           /* the share of held-out error left that an input
                              must remove to be taken (0.1)                  */
    double keep;           /* the share of the mean's held-out error the
                              inputs taken must leave less than (0.5)        */
} an_exog_config;

#define AN_EXOG_MAX_RESPONSES 16

/* Returns: responses 8, ridge 1e-3, max_inputs 8, gain 0.1, keep 0.5. */
AN_API an_exog_config an_exog_config_init(void);
/* A stage over n_features columns, input[f] non-zero for the inputs, around
   `inner`, a detector of as many features as there are targets (the
   other columns, in their order); the stage takes ownership of inner,
   also on failure.  Fit needs at least 32 rows (AN_ERR_TOO_SHORT).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config, NULL arguments,
   no input or no target, an inner detector of another feature count, an
   inner stage; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_exog_create(const an_exog_config *config, size_t n_features, const unsigned char *input,
                                an_detector *inner, const an_allocator *a, an_detector **out);
/* The detector the stage wraps (for an ensemble's decisions, say); the
   stage still owns it.  Returns: AN_OK; AN_ERR_INVALID_ARG when d is not
   an inputs stage. */
AN_API an_result an_exog_inner(const an_detector *d, an_detector **inner);
/* What the stage predicts of each target column for the last push (the
   other columns NaN): a forecast from the inputs alone.
   Returns: AN_OK; AN_ERR_NUMERIC before the first push after fit, load
   or reset; AN_ERR_INVALID_ARG. */
AN_API an_result an_exog_prediction(const an_detector *d, double *prediction);
/* What the inner detector is handed for x (n_rows, n_features): each
   target less its prediction, the responses starting afresh at row 0 as
   in a batch score, into out (n_rows, targets), the targets in their
   column order (so an explainer can look at the stage's inner detector,
   on the rows it sees).  Allocates nothing; the stream is left as it was.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INPUT for a non-finite x;
   AN_ERR_INVALID_ARG. */
AN_API an_result an_exog_residuals(an_detector *d, const float *x, size_t n_rows, float *out);
/* The inputs taken for target column f (a column of the data), after
   fit: taken[k] (n_features) is 1 for an input column taken, 0 for the
   rest; all 0 when the target passes unchanged.
   Returns: AN_OK; AN_ERR_NOT_FITTED; AN_ERR_INVALID_ARG for an input
   column or a NULL argument. */
AN_API an_result an_exog_taken(const an_detector *d, size_t f, unsigned char *taken);
/* Returns: the stage's detector type (loaded by an_detector_load, which
   knows it as it knows the ensemble). */
AN_API const an_detector_vtable *an_exog_type(void);
/* The columns best read as inputs when the caller names none: on-off
   commands, whose values over x (n_rows, n_features) are 0 and 1, both
   seen (NaN, a missing value, is passed over).  Judged on its own, a
   command's every step is an "anomaly"; what it does to the other
   columns is what a model should learn (telemanom's one-hot commands).
   Beside such a command, a column constant at 0 or at 1 is taken for a
   command these rows did not use (one-hot commands mostly sleep);
   without one it is judged: a count or a flag stuck at 0 may be the
   very thing to watch.  input[f] is set to 1 for a command, 0
   otherwise; when every column is one (a single column, say), none is
   marked, so something is left to judge.  *n_inputs: the columns marked.
   Returns: AN_OK; AN_ERR_INVALID_ARG for NULL arguments or 0 sizes. */
AN_API an_result an_exog_commands(const float *x, size_t n_rows, size_t n_features, unsigned char *input,
                                  size_t *n_inputs);

/* ==========================================================================
   12  Synthetic anomalies
   ==========================================================================
   Injects labelled anomalies into a series, for benchmarks, tests and
   augmentation, and makes base series to inject into.  Everything is
   deterministic for a seed (the library's an_rng) and nothing allocates
   except an_inject_scale's scratch, which comes from an allocator.

   The size of an anomaly is `magnitude` times the channel's robust scale

       scale = 1.4826 * MAD(x[t+1] - x[t]) / sqrt(2)

   the median absolute deviation of the first differences, as a standard
   deviation: for white noise of sd s on any smooth signal it is s, for a
   random walk it is the step's sd, and neither anomalies nor level shifts
   move a median.  A seasonal cycle of amplitude A over P rows changes by
   at most 2 pi A / P per row, so at 5-minute sampling of a daily cycle
   (P = 288) the cycle adds at most 0.022 A to a difference and the scale
   stays the noise's; over short periods (P = 24, hourly) it reads larger
   than the noise (up to 0.26 A), so anomalies come out larger, never
   smaller, than asked.  A series with MAD 0 falls back to the mean
   absolute deviation (as an sd) and a constant one to 1.

   The kinds, for rows start..end of a channel with scale s, magnitude m
   and sign +-1 (values x are the series before the anomaly):
     spike      x + m s                      (one row when planned)
     dip        x - m s                      (one row when planned)
     shift      x + sign m s                 (a level shift, then back)
     variance   x + m s N(0, 1)              (a variance burst)
     collapse   the centred 13-row moving average of x: the noise all but
                vanishes (magnitude unused)
     flatline   x[start - 1] (x[0] when start is 0): a stuck sensor
                (magnitude unused)
     trend      x + sign m s (t - start + 1) / (end - start + 1): a ramp
                away from the series that reaches m s on the last row
     phase      x[t - P/4]: the seasonal cycle a quarter period late
                (needs a period P >= 4 and start >= P/4; magnitude unused)
     gap        NaN: missing data
     period     x[start + floor((2 (t - start) + 1) / 3)]: the series read
                on a clock at 2/3 speed from start, so the cycle lasts
                3P/2 rows (every third value repeated, none invented;
                when planned, a period P >= 4 sets its length, P to 2P
                rows; magnitude unused)
   Rows outside every event are never changed, bit for bit. */
typedef enum an_inject_kind {
    AN_INJECT_SPIKE    = 0,
    AN_INJECT_DIP      = 1,
    AN_INJECT_SHIFT    = 2,
    AN_INJECT_VARIANCE = 3,
    AN_INJECT_COLLAPSE = 4,
    AN_INJECT_FLATLINE = 5,
    AN_INJECT_TREND    = 6,
    AN_INJECT_PHASE    = 7,
    AN_INJECT_GAP      = 8,
    AN_INJECT_PERIOD   = 9
} an_inject_kind;
#define AN_INJECT_KINDS  10
#define AN_INJECT_BIT(k) (1u << (unsigned)(k))
#define AN_INJECT_ALL    ((1u << AN_INJECT_KINDS) - 1u)
/* The default kinds: spike, dip, shift, variance, flatline, trend, phase
   (no collapse, gap or period; make eval adds collapse and period). */
#define AN_INJECT_COMMON (AN_INJECT_BIT(AN_INJECT_SPIKE) | AN_INJECT_BIT(AN_INJECT_DIP) | \
                          AN_INJECT_BIT(AN_INJECT_SHIFT) | AN_INJECT_BIT(AN_INJECT_VARIANCE) | \
                          AN_INJECT_BIT(AN_INJECT_FLATLINE) | AN_INJECT_BIT(AN_INJECT_TREND) | \
                          AN_INJECT_BIT(AN_INJECT_PHASE))

/* "spike", "dip", "shift", "variance", "collapse", "flatline", "trend",
   "phase", "gap", "period"; NULL for a kind out of range.
   Returns: a static name ("spike", ...), or NULL for an unknown kind. */
AN_API const char *an_inject_kind_name(int kind);
/* The kind named `name` (as above), else AN_ERR_INVALID_ARG.
   Returns: AN_OK; AN_ERR_INVALID_ARG for an unknown name. */
AN_API an_result   an_inject_kind_parse(const char *name, an_inject_kind *kind);

/* One anomaly in one channel.  An anomaly planned over several channels is
   one event per channel, all with the same group. */
typedef struct an_inject_event {
    an_inject_kind kind;
    size_t start, end;     /* rows, both inclusive                          */
    size_t channel;        /* the feature it changes                        */
    size_t group;          /* the anomaly it belongs to, 0, 1, ...          */
    double magnitude;      /* in units of `scale`                           */
    double scale;          /* the channel's robust scale (value units)      */
    int sign;              /* +1 or -1: dip -1, shift and trend either, others +1 */
} an_inject_event;

typedef struct an_inject_config {
    unsigned kinds;              /* AN_INJECT_BIT mask to draw from (AN_INJECT_COMMON) */
    size_t count;                /* anomalies to place (4)                            */
    double magnitude;            /* in robust-scale units (6)                         */
    size_t min_len, max_len;     /* rows of an extended anomaly (12, 144); phase
                                    lasts P/2 to P rows, period P to 2P, spike and
                                    dip one row                                      */
    size_t channels_per_event;   /* channels each anomaly hits (1)                    */
    const unsigned char *channel_ok; /* (n_features), nonzero = may be hit; NULL = all */
    size_t first_row;            /* nothing before this row: a clean prefix (0)       */
    size_t separation;           /* clean rows before each anomaly in its slot (24)   */
    size_t period;               /* seasonal period in rows, for phase and period
                                    (0 = none)                                       */
    uint64_t seed;               /* (1)                                               */
} an_inject_config;

/* Returns: the defaults above. */
AN_API an_inject_config an_inject_config_init(void);

/* Per-channel robust scale of x (n_rows >= 3, n_features) into
   scale[n_features] (see above).  Scratch of n_rows floats from `a`.
   NaN or Inf in x is AN_ERR_INPUT.
   Returns: AN_OK; AN_ERR_TOO_SHORT; AN_ERR_INPUT for non-finite values;
   AN_ERR_NUMERIC; AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
AN_API an_result an_inject_scale(const float *x, size_t n_rows, size_t n_features, const an_allocator *a,
                                 double *scale);

/* Plans cfg->count anomalies without touching any series: the rows from
   cfg->first_row are cut into count equal slots and anomaly g falls in
   slot g, after `separation` clean rows, at a random place; its kind is
   drawn from the enabled kinds without replacement (a fresh shuffle when
   they run out), so a file gets as many different kinds as it can.
   Writes count * channels_per_event events (scale 1; an_inject sets the
   real one) and *n_events, also when `capacity` is too small (then
   AN_ERR_SHAPE).  AN_ERR_TOO_SHORT when a slot cannot hold an anomaly of
   the shortest length allowed; AN_ERR_INVALID_ARG for a bad config (no
   kinds, kinds out of range, phase or period without a period >= 4, min_len >
   max_len, more channels per event than channels allowed, ...).
   Returns: AN_OK; AN_ERR_SHAPE past capacity; AN_ERR_TOO_SHORT when the
   series cannot hold the anomalies; AN_ERR_INVALID_ARG; AN_ERR_TOO_LARGE. */
AN_API an_result an_inject_plan(size_t n_rows, size_t n_features, const an_inject_config *cfg,
                                an_inject_event *events, size_t capacity, size_t *n_events);

/* Applies events to x (n_rows, n_features) in place, in order; each moves
   values by magnitude * scale (its own fields).  `period` is for phase,
   `seed` for the variance bursts' noise (event k draws from an_rng
   stream k).  row_mask (n_rows) and cell_mask (n_rows * n_features), each
   optional, are cleared and then hold 1 on every row / cell an event
   covers.  Everything is checked before anything is written: x with a
   NaN or Inf is AN_ERR_INPUT; an event out of the series, of a kind out
   of range, with a non-finite magnitude or a scale <= 0, or a phase
   starting before P/4 is AN_ERR_INVALID_ARG.
   Returns: AN_OK; AN_ERR_INPUT for non-finite values; AN_ERR_INVALID_ARG;
   AN_ERR_TOO_LARGE. */
AN_API an_result an_inject_apply(float *x, size_t n_rows, size_t n_features, const an_inject_event *events,
                                 size_t n_events, size_t period, uint64_t seed, unsigned char *row_mask,
                                 unsigned char *cell_mask);

/* an_inject_plan, then each event's scale from scale[channel] (from
   an_inject_scale, or your own), then an_inject_apply with cfg->period
   and cfg->seed.  No allocation.
   Returns: what an_inject_plan or an_inject_apply returns. */
AN_API an_result an_inject(float *x, size_t n_rows, size_t n_features, const an_inject_config *cfg,
                           const double *scale, an_inject_event *events, size_t capacity, size_t *n_events,
                           unsigned char *row_mask, unsigned char *cell_mask);

/* Base series for benchmarks: level + seasonal part + white noise, one
   independent draw per channel (each with its own phase).
     daily         A (sin u + 0.35 sin(2u + 0.8)), u = 2 pi t / P + phi
     daily-weekly  daily + 0.5 A sin(2 pi t / 7P + psi)
     trend-daily   daily + trend * t / P
     ar1           no season: e[t] = ar e[t-1] + 0.5 noise N(0, 1),
                   started from its stationary distribution
   with P = period (288 rows a day at 5-minute sampling). */
typedef enum an_synth_shape {
    AN_SYNTH_DAILY        = 0,
    AN_SYNTH_DAILY_WEEKLY = 1,
    AN_SYNTH_TREND_DAILY  = 2,
    AN_SYNTH_AR1          = 3
} an_synth_shape;
#define AN_SYNTH_SHAPES 4

typedef struct an_synth_config {
    an_synth_shape shape;
    size_t period;         /* rows per day (288)                 */
    double level;          /* (100)                              */
    double amplitude;      /* A, of the daily cycle (10)         */
    double trend;          /* per period, trend-daily only (1)   */
    double ar;             /* AR(1) coefficient, ar1 only (0.99) */
    double noise;          /* sd of the white noise (1)          */
    uint64_t seed;
} an_synth_config;

/* Returns: the defaults above. */
AN_API an_synth_config an_synth_config_init(an_synth_shape shape, uint64_t seed);
/* "daily", "daily-weekly", "trend-daily", "ar1"; NULL out of range.
   Returns: a static name, or NULL for an unknown shape. */
AN_API const char *an_synth_shape_name(int shape);
/* Fills x (n_rows, n_features).  AN_ERR_INVALID_ARG for a bad config
   (shape out of range, period < 2 for a seasonal shape, |ar| >= 1,
   negative or non-finite sizes).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad config; AN_ERR_TOO_LARGE. */
AN_API an_result an_synth_series(float *x, size_t n_rows, size_t n_features, const an_synth_config *cfg);

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_H_INCLUDED */

/* ##########################################################################
   IMPLEMENTATION
   ########################################################################## */
#if defined(ANOMALY_IMPLEMENTATION) && !defined(ANOMALY_IMPLEMENTATION_DONE)
#define ANOMALY_IMPLEMENTATION_DONE

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#if !defined(ANOMALY_MALLOC) || !defined(ANOMALY_FREE)
#  include <stdlib.h>
#endif
#ifndef ANOMALY_NO_STDIO
#  include <stdio.h>
#endif
#ifndef ANOMALY_MALLOC
#  define ANOMALY_MALLOC(size) malloc(size)
#endif
#ifndef ANOMALY_FREE
#  define ANOMALY_FREE(ptr) free(ptr)
#endif
#ifndef ANOMALY_MAX_MODEL_BYTES
#  define ANOMALY_MAX_MODEL_BYTES ((size_t)1 << 30)
#endif

/* SIMD path, from what the compiler was told it may use. */
#if !defined(ANOMALY_NO_SIMD)
#  if defined(__AVX512F__) && !defined(ANOMALY_NO_AVX512)
#    define AN__AVX512 1
#  elif defined(__AVX2__) && defined(__FMA__)
#    define AN__AVX2 1
#  elif defined(__ARM_NEON) && defined(__aarch64__)
#    define AN__NEON 1
#  endif
#endif
#if defined(AN__AVX512) || defined(AN__AVX2)
#  include <immintrin.h>
#elif defined(AN__NEON)
#  include <arm_neon.h>
#endif

#ifdef __cplusplus
#  define AN__RESTRICT
extern "C" {
#else
#  define AN__RESTRICT restrict
#endif
#define AN__INLINE static inline

/* --------------------------------------------------------------------------
   Small private helpers
   -------------------------------------------------------------------------- */

/* Overflow-checked size arithmetic: the result is SIZE_MAX on overflow,
   which no allocator or bounds check accepts. */
AN__INLINE size_t an__mul(size_t a, size_t b) { return (b && a > SIZE_MAX / b) ? SIZE_MAX : a * b; }
AN__INLINE size_t an__add(size_t a, size_t b) { return (a > SIZE_MAX - b) ? SIZE_MAX : a + b; }
AN__INLINE size_t an__round_up(size_t a, size_t align) { return an__add(a, align - 1) & ~(align - 1); }
AN__INLINE int an__finite(double x) { return x == x && x - x == 0.0; }

/* Detectors read float rows: a value carries up to half a float ulp
   (6e-8 of it) of rounding, and arithmetic on a few values a few ulps.
   A difference within this share of the magnitudes it comes from is
   rounding, not a change (STL + IQR's residuals, the quiet rule's
   second differences): a series with no noise at all must not be ranked
   on its rounding. */
#define AN__ROUNDING 2.5e-7

/* Whether caller memory misses the one alignment every heap and work
   block must have (AN_ALIGN). */
AN__INLINE int an__misaligned(const void *p) { return ((uintptr_t)p & (AN_ALIGN - 1)) != 0; }

/* An aligned-offset layout for objects that carve one heap block into
   several arrays (the miniaudio "heap layout"). */
typedef struct an__layout { size_t size; } an__layout;

static size_t an__layout_add(an__layout *l, size_t count, size_t elem)
{
    size_t offset;
    if (l->size == SIZE_MAX) return 0;   /* overflowed before: stays SIZE_MAX (a round-up would lose it) */
    offset = an__round_up(l->size, AN_ALIGN);
    l->size = offset > SIZE_MAX - AN_ALIGN ? SIZE_MAX : an__add(offset, an__mul(count, elem));
    return offset;
}

/* ==========================================================================
   1  Results
   ========================================================================== */

AN_API const char *an_result_str(an_result r)
{
    switch (r) {
    case AN_OK:              return "success";
    case AN_ERR_INVALID_ARG: return "invalid argument (NULL pointer, zero size or parameter out of range)";
    case AN_ERR_NOMEM:       return "out of memory";
    case AN_ERR_SHAPE:       return "shapes disagree or a buffer is too small";
    case AN_ERR_INPUT:       return "input data unusable (NaN or infinite value, single class, unsorted ranges)";
    case AN_ERR_TOO_SHORT:   return "series too short for this method";
    case AN_ERR_NOT_FITTED:  return "object used before fit or load";
    case AN_ERR_UNSUPPORTED: return "operation not supported by this object (or a model of a detector type this "
                                    "program did not link)";
    case AN_ERR_CORRUPT:     return "model data malformed (a value out of range, a length past its chunk or a "
                                    "missing field)";
    case AN_ERR_VERSION:     return "model file made by a newer format version";
    case AN_ERR_TOO_LARGE:   return "size exceeds a limit";
    case AN_ERR_IO:          return "file could not be read or written";
    case AN_ERR_CANCELLED:   return "cancelled by a callback";
    case AN_ERR_NUMERIC:     return "computation became non-finite";
    case AN_ERR_TRUNCATED:   return "model file truncated (shorter than its header says)";
    case AN_ERR_NOT_MODEL:   return "not a model file (no anomaly.h magic at its start)";
    case AN_ERR_CHECKSUM:    return "model file damaged (CRC32 mismatch)";
    }
    return "unknown result code";
}

/* ==========================================================================
   2  Memory
   ========================================================================== */

/* The default allocator over ANOMALY_MALLOC: over-allocate, align, and keep
   the raw pointer just below the aligned block. */
static void *an__default_alloc(void *user, size_t size, size_t align)
{
    unsigned char *raw, *p;
    size_t total = an__add(an__add(size, align), sizeof(void *));
    (void)user;
    if (total == SIZE_MAX) return NULL;
    raw = (unsigned char *)ANOMALY_MALLOC(total);
    if (!raw) return NULL;
    p = raw + sizeof(void *);
    p += (align - (size_t)((uintptr_t)p & (align - 1))) & (align - 1);
    memcpy(p - sizeof raw, &raw, sizeof raw);
    return p;
}

static void an__default_free(void *user, void *ptr, size_t size)
{
    void *raw;
    (void)user; (void)size;
    memcpy(&raw, (unsigned char *)ptr - sizeof(void *), sizeof(void *));
    ANOMALY_FREE(raw);
}

static const an_allocator an__default_allocator = { NULL, an__default_alloc, an__default_free };

/* NULL (the default) or a complete allocator. */
static int an__allocator_ok(const an_allocator *a) { return !a || (a->alloc && a->free); }

/* The allocator an object keeps: a copy of `a`, or the default. */
static an_result an__allocator_copy(an_allocator *dst, const an_allocator *a)
{
    if (!an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    *dst = a ? *a : an__default_allocator;
    return AN_OK;
}

AN_API void *an_malloc(const an_allocator *a, size_t size, size_t align)
{
    if (!a) a = &an__default_allocator;
    if (!a->alloc || !a->free || size == 0 || size == SIZE_MAX) return NULL;
    if (align == 0 || (align & (align - 1)) || align > 4096) return NULL;
    return a->alloc(a->user, size, align);
}

AN_API void an_free(const an_allocator *a, void *ptr, size_t size)
{
    if (!ptr) return;
    if (!a) a = &an__default_allocator;
    if (a->free) a->free(a->user, ptr, size);
}

static void *an__arena_alloc(void *user, size_t size, size_t align)
{
    an_arena *arena = (an_arena *)user;
    uintptr_t base = (uintptr_t)arena->base;
    size_t start = (size_t)(((base + arena->used + align - 1) & ~(uintptr_t)(align - 1)) - base);
    if (start < arena->used || start > arena->size || size > arena->size - start) return NULL;
    arena->used = start + size;
    if (arena->used > arena->peak) arena->peak = arena->used;
    return arena->base + start;
}

static void an__arena_free(void *user, void *ptr, size_t size)
{
    an_arena *arena = (an_arena *)user;
    if ((unsigned char *)ptr + size == arena->base + arena->used)   /* the newest block */
        arena->used = (size_t)((unsigned char *)ptr - arena->base);
}

AN_API an_result an_arena_init(an_arena *arena, void *buffer, size_t size)
{
    if (!arena || !buffer || size == 0) return AN_ERR_INVALID_ARG;
    arena->base = (unsigned char *)buffer;
    arena->size = size;
    arena->used = 0;
    arena->peak = 0;
    return AN_OK;
}

AN_API an_allocator an_arena_allocator(an_arena *arena)
{
    an_allocator a;
    a.user = arena;
    a.alloc = an__arena_alloc;
    a.free = an__arena_free;
    return a;
}

AN_API void an_arena_reset(an_arena *arena)
{
    if (arena) arena->used = 0;
}

/* ==========================================================================
   3  Tensors
   ========================================================================== */

static an_result an__tensor_shape(an_tensor *t, int ndim, const size_t *shape)
{
    int i;
    size_t size = 1;
    if (!t || !shape || ndim < 1 || ndim > AN_TENSOR_MAX_DIMS) return AN_ERR_INVALID_ARG;
    for (i = 0; i < AN_TENSOR_MAX_DIMS; i++) t->shape[i] = 1;
    for (i = 0; i < ndim; i++) {
        if (shape[i] == 0) return AN_ERR_INVALID_ARG;
        t->shape[i] = shape[i];
        size = an__mul(size, shape[i]);
    }
    if (an__mul(size, sizeof(float)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    t->ndim = ndim;
    t->size = size;
    return AN_OK;
}

AN_API an_result an_tensor_heap_size(int ndim, const size_t *shape, size_t *bytes)
{
    an_tensor t;
    an_result r;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if ((r = an__tensor_shape(&t, ndim, shape)) != AN_OK) return r;
    *bytes = an__round_up(t.size * sizeof(float), AN_ALIGN);
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

AN_API an_result an_tensor_init_preallocated(an_tensor *t, int ndim, const size_t *shape, void *heap)
{
    an_result r;
    if (!t || !heap || an__misaligned(heap)) return AN_ERR_INVALID_ARG;
    memset(t, 0, sizeof *t);
    if ((r = an__tensor_shape(t, ndim, shape)) != AN_OK) return r;
    t->data = (float *)heap;
    memset(t->data, 0, t->size * sizeof(float));
    return AN_OK;
}

AN_API an_result an_tensor_init(an_tensor *t, int ndim, const size_t *shape, const an_allocator *a)
{
    an_result r;
    size_t bytes;
    void *heap;
    an_allocator alloc;
    if (!t) return AN_ERR_INVALID_ARG;
    memset(t, 0, sizeof *t);
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an_tensor_heap_size(ndim, shape, &bytes)) != AN_OK) return r;
    if (!(heap = an_malloc(&alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_tensor_init_preallocated(t, ndim, shape, heap);
    t->owned_bytes = bytes;
    t->alloc = alloc;
    return AN_OK;
}

AN_API void an_tensor_uninit(an_tensor *t)
{
    if (!t) return;
    if (t->owned_bytes) an_free(&t->alloc, t->data, t->owned_bytes);
    memset(t, 0, sizeof *t);
}

AN_API an_result an_tensor_view(an_tensor *t, float *data, int ndim, const size_t *shape)
{
    if (!t || !data) return AN_ERR_INVALID_ARG;
    memset(t, 0, sizeof *t);
    t->data = data;
    return an__tensor_shape(t, ndim, shape);
}

AN_API an_result an_tensor_expect(const an_tensor *t, int ndim, const size_t *shape)
{
    int i;
    if (!t || !t->data || !shape) return AN_ERR_INVALID_ARG;
    if (t->ndim != ndim) return AN_ERR_SHAPE;
    for (i = 0; i < ndim; i++)
        if (shape[i] && shape[i] != t->shape[i]) return AN_ERR_SHAPE;
    return AN_OK;
}

AN_API an_result an_tensor_slice(const an_tensor *t, size_t index, an_tensor *view)
{
    if (!t || !t->data || !view) return AN_ERR_INVALID_ARG;
    if (t->ndim < 2) return AN_ERR_SHAPE;
    if (index >= t->shape[0]) return AN_ERR_INVALID_ARG;
    return an_tensor_view(view, t->data + index * (t->size / t->shape[0]), t->ndim - 1, t->shape + 1);
}

AN_API an_result an_tensor_reshape(const an_tensor *t, int ndim, const size_t *shape, an_tensor *view)
{
    an_tensor v;
    an_result r;
    if (!t || !t->data || !view) return AN_ERR_INVALID_ARG;
    if ((r = an_tensor_view(&v, t->data, ndim, shape)) != AN_OK) return r;
    if (v.size != t->size) return AN_ERR_SHAPE;
    *view = v;
    return AN_OK;
}

AN_API float *an_tensor_btf(const an_tensor *x, size_t b, size_t t)
{
    if (!x || !x->data || x->ndim != 3 || b >= x->shape[0] || t >= x->shape[1]) return NULL;
    return x->data + (b * x->shape[1] + t) * x->shape[2];
}

/* ==========================================================================
   4  Random numbers
   ========================================================================== */

AN_API uint32_t an_rng_u32(an_rng *rng)
{
    uint64_t old = rng->state;
    uint32_t xorshifted, rot;
    rng->state = old * 6364136223846793005ULL + rng->inc;
    xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

AN_API void an_rng_seed(an_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = 0;
    rng->inc = (stream << 1) | 1u;
    an_rng_u32(rng);
    rng->state += seed;
    an_rng_u32(rng);
}

static uint64_t an__rng_u64(an_rng *rng)
{
    uint64_t hi = an_rng_u32(rng);
    return (hi << 32) | an_rng_u32(rng);
}

AN_API uint64_t an_rng_below(an_rng *rng, uint64_t bound)
{
    /* Reject the lowest 2^w mod bound draws, which would make the modulo
       uneven; w is 32 or 64 bits, whichever covers the bound. */
    uint64_t threshold, r;
    if (bound <= 1) return 0;
    if (bound <= 0xFFFFFFFFu) {
        uint32_t b = (uint32_t)bound, t = (0u - b) % b, x;
        do x = an_rng_u32(rng); while (x < t);
        return x % b;
    }
    threshold = (0 - bound) % bound;
    do r = an__rng_u64(rng); while (r < threshold);
    return r % bound;
}

AN_API double an_rng_uniform(an_rng *rng)
{
    return (double)(an__rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

AN_API float an_rng_uniformf(an_rng *rng)
{
    return (float)(an_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

AN_API double an_rng_normal(an_rng *rng)
{
    /* Box-Muller; u1 in (0, 1] keeps the log finite. */
    double u1 = 1.0 - an_rng_uniform(rng), u2 = an_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

AN_API void an_rng_shuffle(an_rng *rng, size_t *items, size_t n)
{
    size_t i, j, tmp;
    for (i = n; i > 1; i--) {
        j = (size_t)an_rng_below(rng, i);
        tmp = items[i - 1]; items[i - 1] = items[j]; items[j] = tmp;
    }
}

/* ==========================================================================
   5  Kernels
   ==========================================================================
   Each kernel has a scalar reference (an_x_scalar) and, when a vector ISA
   is available, one vector version written against the tiny an__v layer
   below, so AVX-512, AVX2 and NEON share a single source.  Vector loops
   handle whole vectors and leave tails to scalar code. */

/* exp(x) in float, one algorithm on every path: x = n ln2 + r with
   |r| <= ln2 / 2, exp(r) = 1 + r + r^2 P(r) with Cephes' degree-5 minimax
   P, and 2^n built in the exponent bits.  Clamping x to [-87, 88] keeps 2^n
   a normal number; the clamps are written max(lo, x) so NaN passes. */
#define AN__EXP_LO     (-87.0f)
#define AN__EXP_HI     88.0f
#define AN__LOG2E      1.44269504088896341f
#define AN__LN2_HI     0.693359375f        /* exact in float: n*LN2_HI is exact */
#define AN__LN2_LO     (-2.12194440e-4f)
#define AN__EXP_P0     1.9875691500e-4f
#define AN__EXP_P1     1.3981999507e-3f
#define AN__EXP_P2     8.3334519073e-3f
#define AN__EXP_P3     4.1665795894e-2f
#define AN__EXP_P4     1.6666665459e-1f
#define AN__EXP_P5     5.0000001201e-1f
/* tanh(x) for |x| < 0.625: x + x^3 Q(x^2) (Cephes' tanhf), where
   1 - 2 / (exp(2|x|) + 1) would lose digits to cancellation. */
#define AN__TANH_SMALL 0.625f
#define AN__TANH_Q0    (-5.70498872745e-3f)
#define AN__TANH_Q1    2.06390887954e-2f
#define AN__TANH_Q2    (-5.37397155531e-2f)
#define AN__TANH_Q3    1.33314422036e-1f
#define AN__TANH_Q4    (-3.33332819422e-1f)

static float an__expf(float x)
{
    float n, r, p, scale;
    int32_t bits;
    if (x != x) return x;
    x = x < AN__EXP_LO ? AN__EXP_LO : (x > AN__EXP_HI ? AN__EXP_HI : x);
    n = nearbyintf(x * AN__LOG2E);
    r = x - n * AN__LN2_HI;
    r = r - n * AN__LN2_LO;
    p = AN__EXP_P0;
    p = p * r + AN__EXP_P1;
    p = p * r + AN__EXP_P2;
    p = p * r + AN__EXP_P3;
    p = p * r + AN__EXP_P4;
    p = p * r + AN__EXP_P5;
    p = p * (r * r) + r + 1.0f;
    bits = ((int32_t)n + 127) * (1 << 23);
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static float an__sigmoidf(float x) { return 1.0f / (1.0f + an__expf(-x)); }

static float an__tanhf(float x)
{
    float ax = fabsf(x), z, p, t;
    if (ax < AN__TANH_SMALL) {
        z = x * x;
        p = AN__TANH_Q0;
        p = p * z + AN__TANH_Q1;
        p = p * z + AN__TANH_Q2;
        p = p * z + AN__TANH_Q3;
        p = p * z + AN__TANH_Q4;
        return p * z * x + x;
    }
    t = 1.0f - 2.0f / (an__expf(2.0f * ax) + 1.0f);
    return x < 0.0f ? -t : t;
}

/* ---- scalar reference ---------------------------------------------------- */

AN_API float an_dot_scalar(size_t n, const float *x, const float *y)
{
    float s = 0.0f;
    size_t i;
    for (i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

AN_API void an_axpy_scalar(size_t n, float a, const float *x, float *y)
{
    size_t i;
    for (i = 0; i < n; i++) y[i] += a * x[i];
}

AN_API void an_scale_scalar(size_t n, float a, float *x)
{
    size_t i;
    for (i = 0; i < n; i++) x[i] *= a;
}

/* y(M) += A(M,N) x(N) */
AN_API void an_gemv_scalar(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y)
{
    size_t i;
    for (i = 0; i < M; i++) y[i] += an_dot_scalar(N, A + i * lda, x);
}

/* y(N) += A(M,N)^T x(M) */
AN_API void an_gemv_t_scalar(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y)
{
    size_t i;
    for (i = 0; i < M; i++) an_axpy_scalar(N, x[i], A + i * lda, y);
}

/* C(M,N) += A(M,K) B(K,N) */
AN_API void an_gemm_nn_scalar(size_t M, size_t N, size_t K, const float *A, size_t lda,
                              const float *B, size_t ldb, float *C, size_t ldc)
{
    size_t i, k;
    for (i = 0; i < M; i++)
        for (k = 0; k < K; k++) an_axpy_scalar(N, A[i * lda + k], B + k * ldb, C + i * ldc);
}

/* C(M,N) += A(M,K) B(N,K)^T */
AN_API void an_gemm_nt_scalar(size_t M, size_t N, size_t K, const float *A, size_t lda,
                              const float *B, size_t ldb, float *C, size_t ldc)
{
    size_t i, j;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) C[i * ldc + j] += an_dot_scalar(K, A + i * lda, B + j * ldb);
}

/* C(M,N) += A(K,M)^T B(K,N) */
AN_API void an_gemm_tn_scalar(size_t M, size_t N, size_t K, const float *A, size_t lda,
                              const float *B, size_t ldb, float *C, size_t ldc)
{
    size_t i, k;
    for (i = 0; i < M; i++)
        for (k = 0; k < K; k++) an_axpy_scalar(N, A[k * lda + i], B + k * ldb, C + i * ldc);
}

AN_API void an_sigmoid_scalar(size_t n, const float *x, float *y)
{
    size_t i;
    for (i = 0; i < n; i++) y[i] = an__sigmoidf(x[i]);
}

AN_API void an_tanh_scalar(size_t n, const float *x, float *y)
{
    size_t i;
    for (i = 0; i < n; i++) y[i] = an__tanhf(x[i]);
}

/* z (rows, 4H) with gates i, f, g, o */
AN_API void an_lstm_gates_scalar(size_t rows, size_t H, float *z, size_t ldz)
{
    size_t r;
    for (r = 0; r < rows; r++) {
        float *g = z + r * ldz;
        an_sigmoid_scalar(2 * H, g, g);
        an_tanh_scalar(H, g + 2 * H, g + 2 * H);
        an_sigmoid_scalar(H, g + 3 * H, g + 3 * H);
    }
}

/* ---- the vector layer: one type, a dozen operations per ISA --------------- */

#if defined(AN__AVX512)
#define AN__VEC 1
#define AN__W ((size_t)16)
typedef __m512 an__v;
AN__INLINE an__v an__vld(const float *p)            { return _mm512_loadu_ps(p); }
AN__INLINE void  an__vst(float *p, an__v v)         { _mm512_storeu_ps(p, v); }
AN__INLINE an__v an__vset(float x)                  { return _mm512_set1_ps(x); }
AN__INLINE an__v an__vadd(an__v a, an__v b)         { return _mm512_add_ps(a, b); }
AN__INLINE an__v an__vsub(an__v a, an__v b)         { return _mm512_sub_ps(a, b); }
AN__INLINE an__v an__vmul(an__v a, an__v b)         { return _mm512_mul_ps(a, b); }
AN__INLINE an__v an__vdiv(an__v a, an__v b)         { return _mm512_div_ps(a, b); }
AN__INLINE an__v an__vsqrt(an__v a)                 { return _mm512_sqrt_ps(a); }
AN__INLINE an__v an__vfma(an__v a, an__v b, an__v c) { return _mm512_fmadd_ps(a, b, c); }
AN__INLINE an__v an__vmax(an__v a, an__v b)         { return _mm512_max_ps(a, b); }
AN__INLINE an__v an__vmin(an__v a, an__v b)         { return _mm512_min_ps(a, b); }
AN__INLINE an__v an__vabs(an__v a)                  { return _mm512_abs_ps(a); }
AN__INLINE an__v an__vlt_select(an__v x, an__v y, an__v a, an__v b) /* x < y ? a : b */
{ return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, y, _CMP_LT_OQ), b, a); }
AN__INLINE an__v an__vround(an__v x)
{ return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
AN__INLINE an__v an__vpow2i(an__v n) /* 2^n for integral n in [-126, 127] */
{ return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23)); }
AN__INLINE float an__vsum(an__v v)                  { return _mm512_reduce_add_ps(v); }

#elif defined(AN__AVX2)
#define AN__VEC 1
#define AN__W ((size_t)8)
typedef __m256 an__v;
AN__INLINE an__v an__vld(const float *p)            { return _mm256_loadu_ps(p); }
AN__INLINE void  an__vst(float *p, an__v v)         { _mm256_storeu_ps(p, v); }
AN__INLINE an__v an__vset(float x)                  { return _mm256_set1_ps(x); }
AN__INLINE an__v an__vadd(an__v a, an__v b)         { return _mm256_add_ps(a, b); }
AN__INLINE an__v an__vsub(an__v a, an__v b)         { return _mm256_sub_ps(a, b); }
AN__INLINE an__v an__vmul(an__v a, an__v b)         { return _mm256_mul_ps(a, b); }
AN__INLINE an__v an__vdiv(an__v a, an__v b)         { return _mm256_div_ps(a, b); }
AN__INLINE an__v an__vsqrt(an__v a)                 { return _mm256_sqrt_ps(a); }
AN__INLINE an__v an__vfma(an__v a, an__v b, an__v c) { return _mm256_fmadd_ps(a, b, c); }
AN__INLINE an__v an__vmax(an__v a, an__v b)         { return _mm256_max_ps(a, b); }
AN__INLINE an__v an__vmin(an__v a, an__v b)         { return _mm256_min_ps(a, b); }
AN__INLINE an__v an__vabs(an__v a)                  { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
AN__INLINE an__v an__vlt_select(an__v x, an__v y, an__v a, an__v b)
{ return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, y, _CMP_LT_OQ)); }
AN__INLINE an__v an__vround(an__v x)
{ return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
AN__INLINE an__v an__vpow2i(an__v n)
{ return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)); }
AN__INLINE float an__vsum(an__v v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#elif defined(AN__NEON)
#define AN__VEC 1
#define AN__W ((size_t)4)
typedef float32x4_t an__v;
AN__INLINE an__v an__vld(const float *p)            { return vld1q_f32(p); }
AN__INLINE void  an__vst(float *p, an__v v)         { vst1q_f32(p, v); }
AN__INLINE an__v an__vset(float x)                  { return vdupq_n_f32(x); }
AN__INLINE an__v an__vadd(an__v a, an__v b)         { return vaddq_f32(a, b); }
AN__INLINE an__v an__vsub(an__v a, an__v b)         { return vsubq_f32(a, b); }
AN__INLINE an__v an__vmul(an__v a, an__v b)         { return vmulq_f32(a, b); }
AN__INLINE an__v an__vdiv(an__v a, an__v b)         { return vdivq_f32(a, b); }
AN__INLINE an__v an__vsqrt(an__v a)                 { return vsqrtq_f32(a); }
AN__INLINE an__v an__vfma(an__v a, an__v b, an__v c) { return vfmaq_f32(c, a, b); }
AN__INLINE an__v an__vmax(an__v a, an__v b)         { return vmaxq_f32(a, b); }
AN__INLINE an__v an__vmin(an__v a, an__v b)         { return vminq_f32(a, b); }
AN__INLINE an__v an__vabs(an__v a)                  { return vabsq_f32(a); }
AN__INLINE an__v an__vlt_select(an__v x, an__v y, an__v a, an__v b) { return vbslq_f32(vcltq_f32(x, y), a, b); }
AN__INLINE an__v an__vround(an__v x)                { return vrndnq_f32(x); }
AN__INLINE an__v an__vpow2i(an__v n)
{ return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23)); }
AN__INLINE float an__vsum(an__v v)                  { return vaddvq_f32(v); }
#endif

#ifdef AN__VEC

AN__INLINE an__v an__vexp(an__v x)
{
    an__v n, r, p;
    x = an__vmin(an__vset(AN__EXP_HI), an__vmax(an__vset(AN__EXP_LO), x));
    n = an__vround(an__vmul(x, an__vset(AN__LOG2E)));
    r = an__vsub(x, an__vmul(n, an__vset(AN__LN2_HI)));
    r = an__vsub(r, an__vmul(n, an__vset(AN__LN2_LO)));
    p = an__vfma(an__vset(AN__EXP_P0), r, an__vset(AN__EXP_P1));
    p = an__vfma(p, r, an__vset(AN__EXP_P2));
    p = an__vfma(p, r, an__vset(AN__EXP_P3));
    p = an__vfma(p, r, an__vset(AN__EXP_P4));
    p = an__vfma(p, r, an__vset(AN__EXP_P5));
    p = an__vadd(an__vadd(an__vmul(p, an__vmul(r, r)), r), an__vset(1.0f));
    return an__vmul(p, an__vpow2i(n));
}

static float an__dot_vec(size_t n, const float *x, const float *y)
{
    an__v a0 = an__vset(0.0f), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    float s;
    for (; i + 4 * AN__W <= n; i += 4 * AN__W) {
        a0 = an__vfma(an__vld(x + i), an__vld(y + i), a0);
        a1 = an__vfma(an__vld(x + i + AN__W), an__vld(y + i + AN__W), a1);
        a2 = an__vfma(an__vld(x + i + 2 * AN__W), an__vld(y + i + 2 * AN__W), a2);
        a3 = an__vfma(an__vld(x + i + 3 * AN__W), an__vld(y + i + 3 * AN__W), a3);
    }
    for (; i + AN__W <= n; i += AN__W) a0 = an__vfma(an__vld(x + i), an__vld(y + i), a0);
    s = an__vsum(an__vadd(an__vadd(a0, a1), an__vadd(a2, a3)));
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

static void an__axpy_vec(size_t n, float a, const float *x, float *y)
{
    an__v va = an__vset(a);
    size_t i = 0;
    for (; i + AN__W <= n; i += AN__W) an__vst(y + i, an__vfma(va, an__vld(x + i), an__vld(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

static void an__scale_vec(size_t n, float a, float *x)
{
    an__v va = an__vset(a);
    size_t i = 0;
    for (; i + AN__W <= n; i += AN__W) an__vst(x + i, an__vmul(va, an__vld(x + i)));
    for (; i < n; i++) x[i] *= a;
}

/* y(M) += A(M,N) x(N): four rows share each load of x. */
static void an__gemv_vec(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y)
{
    size_t i = 0, j;
    for (; i + 4 <= M; i += 4) {
        const float *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        an__v s0 = an__vset(0.0f), s1 = s0, s2 = s0, s3 = s0;
        float t0, t1, t2, t3;
        for (j = 0; j + AN__W <= N; j += AN__W) {
            an__v xv = an__vld(x + j);
            s0 = an__vfma(an__vld(a0 + j), xv, s0);
            s1 = an__vfma(an__vld(a1 + j), xv, s1);
            s2 = an__vfma(an__vld(a2 + j), xv, s2);
            s3 = an__vfma(an__vld(a3 + j), xv, s3);
        }
        t0 = an__vsum(s0); t1 = an__vsum(s1); t2 = an__vsum(s2); t3 = an__vsum(s3);
        for (; j < N; j++) {
            t0 += a0[j] * x[j]; t1 += a1[j] * x[j]; t2 += a2[j] * x[j]; t3 += a3[j] * x[j];
        }
        y[i] += t0; y[i + 1] += t1; y[i + 2] += t2; y[i + 3] += t3;
    }
    for (; i < M; i++) y[i] += an__dot_vec(N, A + i * lda, x);
}

/* y(N) += A(M,N)^T x(M): four rows of A update each vector of y. */
static void an__gemv_t_vec(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y)
{
    size_t i = 0, j;
    for (; i + 4 <= M; i += 4) {
        const float *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        an__v x0 = an__vset(x[i]), x1 = an__vset(x[i + 1]), x2 = an__vset(x[i + 2]), x3 = an__vset(x[i + 3]);
        for (j = 0; j + AN__W <= N; j += AN__W) {
            an__v yv = an__vld(y + j);
            yv = an__vfma(x0, an__vld(a0 + j), yv);
            yv = an__vfma(x1, an__vld(a1 + j), yv);
            yv = an__vfma(x2, an__vld(a2 + j), yv);
            yv = an__vfma(x3, an__vld(a3 + j), yv);
            an__vst(y + j, yv);
        }
        for (; j < N; j++) y[j] += x[i] * a0[j] + x[i + 1] * a1[j] + x[i + 2] * a2[j] + x[i + 3] * a3[j];
    }
    for (; i < M; i++) an__axpy_vec(N, x[i], A + i * lda, y);
}

/* C(M,N) += sum_k A[i*asi + k*ask] B(k, j): the broadcast form behind
   gemm_nn (asi = lda, ask = 1) and gemm_tn (asi = 1, ask = lda).
   Blocking, from the outside in:
   - k in slices of AN__KC;
   - panels of AN__NV vectors of columns, each passed over by every row.
     With 8 rows or more, a panel's slice of B whose rows lie more than
     4 panels apart is first copied into a block on the stack (AN__KC x
     AN__NV vectors: 16 KB on AVX-512, 4 KB on AVX2 and NEON), so it
     stays in L1: read in place, rows of B a power of two apart (ldb =
     4H) map to a few cache sets and evict each other (2x slower at H =
     64).  Rows at most 4 panels apart (the LSTM's W_hh^T panels,
     AN_LSTM_PANEL wide) spread over enough sets, and the copy, made for
     every call, would cost more than it saves (1.4x at 8 rows);
   - blocks of 4 rows x AN__NV vectors of C held in registers while k
     runs (4 x 4 where there are 32 vector registers, 4 x 2 with AVX2's
     16): per k, 4 broadcasts of A and AN__NV loads of B feed 4 AN__NV
     multiply-adds.  Each vector of B is loaded once into a register
     (AN__INREG: left to itself, gcc folds it into every multiply-add as
     a memory operand, and the loads, not the multiply-adds, set the
     pace: 1.5x slower).  The last 2 or 3 rows run as a block of 4 with
     the last row repeated (the copies compute the same values and store
     them twice), not one by one.
   None of it changes the arithmetic: every entry of C is one multiply-add
   per k in increasing k (fused in columns j < W floor(N/W), separate in
   the scalar tail), stored and reloaded exactly between slices, so an
   entry's bits do not depend on M, on N, on the slicing or on its place
   in a block. */
#if defined(AN__AVX2)
#  define AN__NV 2
#  define AN__EACH_V(X) X(0) X(1)
#else
#  define AN__NV 4
#  define AN__EACH_V(X) X(0) X(1) X(2) X(3)
#endif
#define AN__KC 64
#if defined(__GNUC__) && defined(AN__AVX2)
#  define AN__INREG(v) __asm__("" : "+x"(v))
#else
#  define AN__INREG(v) (void)0
#endif
#define AN__LOAD4(v) an__v c0##v = an__vld(c0 + j + (v) * AN__W), c1##v = an__vld(c1 + j + (v) * AN__W), \
                           c2##v = an__vld(c2 + j + (v) * AN__W), c3##v = an__vld(c3 + j + (v) * AN__W);
#define AN__FMA4(v) { an__v b = an__vld(bk + (v) * AN__W); AN__INREG(b); c0##v = an__vfma(x0, b, c0##v); \
                      c1##v = an__vfma(x1, b, c1##v); c2##v = an__vfma(x2, b, c2##v); c3##v = an__vfma(x3, b, c3##v); }
#define AN__STORE4(v) an__vst(c0 + j + (v) * AN__W, c0##v); an__vst(c1 + j + (v) * AN__W, c1##v); \
                      an__vst(c2 + j + (v) * AN__W, c2##v); an__vst(c3 + j + (v) * AN__W, c3##v);
#define AN__LOAD1(v) an__v c0##v = an__vld(c0 + j + (v) * AN__W);
#define AN__FMA1(v) c0##v = an__vfma(x0, an__vld(bk + (v) * AN__W), c0##v);
#define AN__STORE1(v) an__vst(c0 + j + (v) * AN__W, c0##v);

static void an__gemm_bcast(size_t M, size_t N, size_t K, const float *A, size_t asi, size_t ask,
                           const float *B, size_t ldb, float *C, size_t ldc)
{
    const size_t P = AN__NV * AN__W, NP = N - N % P;   /* columns in whole panels */
    size_t k0, kn, i, j, k;
    float pack[AN__W * AN__NV * AN__KC];
    for (k0 = 0; k0 < K; k0 += kn) {
        const float *Bs = B + k0 * ldb;
        const float *As = A + k0 * ask;
        kn = K - k0 < AN__KC ? K - k0 : AN__KC;
        for (j = 0; j < NP; j += P) {
            const float *Bp = Bs + j;   /* the panel's slice, row stride ldp */
            size_t ldp = ldb;
            if (M >= 8 && ldb > 4 * P) {
                for (k = 0; k < kn; k++) memcpy(pack + k * P, Bs + k * ldb + j, P * sizeof(float));
                Bp = pack;
                ldp = P;
            }
            i = 0;
            for (; i + 2 <= M; i += 4) {   /* rows i .. min(i + 3, M - 1), the last repeated */
                size_t r1 = i + 1, r2 = i + 2 < M ? i + 2 : M - 1, r3 = i + 3 < M ? i + 3 : M - 1;
                const float *a0 = As + i * asi, *a1 = As + r1 * asi, *a2 = As + r2 * asi, *a3 = As + r3 * asi;
                float *c0 = C + i * ldc, *c1 = C + r1 * ldc, *c2 = C + r2 * ldc, *c3 = C + r3 * ldc;
                AN__EACH_V(AN__LOAD4)
                for (k = 0; k < kn; k++) {
                    const float *bk = Bp + k * ldp;
                    an__v x0 = an__vset(a0[k * ask]), x1 = an__vset(a1[k * ask]);
                    an__v x2 = an__vset(a2[k * ask]), x3 = an__vset(a3[k * ask]);
                    AN__EACH_V(AN__FMA4)
                }
                AN__EACH_V(AN__STORE4)
            }
            if (i > M) i = M;
            for (; i < M; i++) {
                const float *a0 = As + i * asi;
                float *c0 = C + i * ldc;
                AN__EACH_V(AN__LOAD1)
                for (k = 0; k < kn; k++) {
                    const float *bk = Bp + k * ldp;
                    an__v x0 = an__vset(a0[k * ask]);
                    AN__EACH_V(AN__FMA1)
                }
                AN__EACH_V(AN__STORE1)
            }
        }
        if (NP == N) continue;
        /* the last columns: single vectors, then scalars */
        for (i = 0; i + 4 <= M; i += 4) {
            const float *a0 = As + i * asi, *a1 = a0 + asi, *a2 = a1 + asi, *a3 = a2 + asi;
            float *c0 = C + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
            for (j = NP; j + AN__W <= N; j += AN__W) {
                AN__LOAD4(0)
                for (k = 0; k < kn; k++) {
                    const float *bk = Bs + k * ldb + j;
                    an__v x0 = an__vset(a0[k * ask]), x1 = an__vset(a1[k * ask]);
                    an__v x2 = an__vset(a2[k * ask]), x3 = an__vset(a3[k * ask]);
                    AN__FMA4(0)
                }
                AN__STORE4(0)
            }
            for (; j < N; j++)
                for (k = 0; k < kn; k++) {
                    float b = Bs[k * ldb + j];
                    c0[j] += a0[k * ask] * b; c1[j] += a1[k * ask] * b;
                    c2[j] += a2[k * ask] * b; c3[j] += a3[k * ask] * b;
                }
        }
        for (; i < M; i++)
            for (k = 0; k < kn; k++) an__axpy_vec(N - NP, As[i * asi + k * ask], Bs + k * ldb + NP, C + i * ldc + NP);
    }
}
#undef AN__LOAD4
#undef AN__FMA4
#undef AN__STORE4
#undef AN__INREG
#undef AN__LOAD1
#undef AN__FMA1
#undef AN__STORE1
#undef AN__EACH_V
#undef AN__NV
#undef AN__KC

/* C(M,N) += A(M,K) B(N,K)^T: every entry is a dot product of two rows.
   Blocks of 2 x 4 entries keep 8 accumulators and reuse each load. */
static void an__gemm_nt_vec(size_t M, size_t N, size_t K, const float *A, size_t lda,
                            const float *B, size_t ldb, float *C, size_t ldc)
{
    size_t i = 0, j, k;
    for (; i + 2 <= M; i += 2) {
        const float *a0 = A + i * lda, *a1 = a0 + lda;
        float *c0 = C + i * ldc, *c1 = c0 + ldc;
        for (j = 0; j + 4 <= N; j += 4) {
            const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            an__v s00 = an__vset(0.0f), s01 = s00, s02 = s00, s03 = s00;
            an__v s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            float t[8];
            for (k = 0; k + AN__W <= K; k += AN__W) {
                an__v x0 = an__vld(a0 + k), x1 = an__vld(a1 + k), w;
                w = an__vld(b0 + k); s00 = an__vfma(x0, w, s00); s10 = an__vfma(x1, w, s10);
                w = an__vld(b1 + k); s01 = an__vfma(x0, w, s01); s11 = an__vfma(x1, w, s11);
                w = an__vld(b2 + k); s02 = an__vfma(x0, w, s02); s12 = an__vfma(x1, w, s12);
                w = an__vld(b3 + k); s03 = an__vfma(x0, w, s03); s13 = an__vfma(x1, w, s13);
            }
            t[0] = an__vsum(s00); t[1] = an__vsum(s01); t[2] = an__vsum(s02); t[3] = an__vsum(s03);
            t[4] = an__vsum(s10); t[5] = an__vsum(s11); t[6] = an__vsum(s12); t[7] = an__vsum(s13);
            for (; k < K; k++) {
                t[0] += a0[k] * b0[k]; t[1] += a0[k] * b1[k]; t[2] += a0[k] * b2[k]; t[3] += a0[k] * b3[k];
                t[4] += a1[k] * b0[k]; t[5] += a1[k] * b1[k]; t[6] += a1[k] * b2[k]; t[7] += a1[k] * b3[k];
            }
            c0[j] += t[0]; c0[j + 1] += t[1]; c0[j + 2] += t[2]; c0[j + 3] += t[3];
            c1[j] += t[4]; c1[j + 1] += t[5]; c1[j + 2] += t[6]; c1[j + 3] += t[7];
        }
        for (; j < N; j++) {
            c0[j] += an__dot_vec(K, a0, B + j * ldb);
            c1[j] += an__dot_vec(K, a1, B + j * ldb);
        }
    }
    for (; i < M; i++)
        for (j = 0; j < N; j++) C[i * ldc + j] += an__dot_vec(K, A + i * lda, B + j * ldb);
}

static void an__sigmoid_vec(size_t n, const float *x, float *y)
{
    an__v one = an__vset(1.0f), zero = an__vset(0.0f);
    size_t i = 0;
    for (; i + AN__W <= n; i += AN__W)
        an__vst(y + i, an__vdiv(one, an__vadd(one, an__vexp(an__vsub(zero, an__vld(x + i))))));
    for (; i < n; i++) y[i] = an__sigmoidf(x[i]);
}

static void an__tanh_vec(size_t n, const float *x, float *y)
{
    an__v one = an__vset(1.0f), two = an__vset(2.0f), zero = an__vset(0.0f);
    size_t i = 0;
    for (; i + AN__W <= n; i += AN__W) {
        an__v v = an__vld(x + i), ax = an__vabs(v), z = an__vmul(v, v), small, large;
        small = an__vfma(an__vset(AN__TANH_Q0), z, an__vset(AN__TANH_Q1));
        small = an__vfma(small, z, an__vset(AN__TANH_Q2));
        small = an__vfma(small, z, an__vset(AN__TANH_Q3));
        small = an__vfma(small, z, an__vset(AN__TANH_Q4));
        small = an__vfma(an__vmul(small, z), v, v);
        large = an__vsub(one, an__vdiv(two, an__vadd(an__vexp(an__vmul(two, ax)), one)));
        large = an__vlt_select(v, zero, an__vsub(zero, large), large);
        an__vst(y + i, an__vlt_select(ax, an__vset(AN__TANH_SMALL), small, large));
    }
    for (; i < n; i++) y[i] = an__tanhf(x[i]);
}
#endif /* AN__VEC */

/* ---- public kernels: the vector path when there is one ------------------ */

AN_API an_simd an_simd_path(void)
{
#if defined(AN__AVX512)
    return AN_SIMD_AVX512;
#elif defined(AN__AVX2)
    return AN_SIMD_AVX2;
#elif defined(AN__NEON)
    return AN_SIMD_NEON;
#else
    return AN_SIMD_SCALAR;
#endif
}

AN_API const char *an_simd_name(an_simd path)
{
    switch (path) {
    case AN_SIMD_SCALAR: return "scalar";
    case AN_SIMD_AVX2:   return "avx2";
    case AN_SIMD_AVX512: return "avx512";
    case AN_SIMD_NEON:   return "neon";
    }
    return "unknown";
}

#ifdef AN__VEC
#  define AN__PICK(vec, scalar) vec
#else
#  define AN__PICK(vec, scalar) scalar
#endif

AN_API float an_dot(size_t n, const float *x, const float *y)
{ return AN__PICK(an__dot_vec, an_dot_scalar)(n, x, y); }
AN_API void an_axpy(size_t n, float a, const float *x, float *y)
{ AN__PICK(an__axpy_vec, an_axpy_scalar)(n, a, x, y); }
AN_API void an_scale(size_t n, float a, float *x)
{ AN__PICK(an__scale_vec, an_scale_scalar)(n, a, x); }
AN_API void an_gemv(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y)
{ AN__PICK(an__gemv_vec, an_gemv_scalar)(M, N, A, lda, x, y); }
AN_API void an_gemv_t(size_t M, size_t N, const float *A, size_t lda, const float *x, float *y)
{ AN__PICK(an__gemv_t_vec, an_gemv_t_scalar)(M, N, A, lda, x, y); }
AN_API void an_sigmoid(size_t n, const float *x, float *y)
{ AN__PICK(an__sigmoid_vec, an_sigmoid_scalar)(n, x, y); }
AN_API void an_tanh(size_t n, const float *x, float *y)
{ AN__PICK(an__tanh_vec, an_tanh_scalar)(n, x, y); }

AN_API void an_gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, float *C, size_t ldc)
{
#ifdef AN__VEC
    an__gemm_bcast(M, N, K, A, lda, 1, B, ldb, C, ldc);
#else
    an_gemm_nn_scalar(M, N, K, A, lda, B, ldb, C, ldc);
#endif
}

AN_API void an_gemm_tn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, float *C, size_t ldc)
{
#ifdef AN__VEC
    an__gemm_bcast(M, N, K, A, 1, lda, B, ldb, C, ldc);
#else
    an_gemm_tn_scalar(M, N, K, A, lda, B, ldb, C, ldc);
#endif
}

AN_API void an_gemm_nt(size_t M, size_t N, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, float *C, size_t ldc)
{ AN__PICK(an__gemm_nt_vec, an_gemm_nt_scalar)(M, N, K, A, lda, B, ldb, C, ldc); }

AN_API void an_lstm_gates(size_t rows, size_t H, float *z, size_t ldz)
{
    size_t r;
    for (r = 0; r < rows; r++) {
        float *g = z + r * ldz;
        an_sigmoid(2 * H, g, g);
        an_tanh(H, g + 2 * H, g + 2 * H);
        an_sigmoid(H, g + 3 * H, g + 3 * H);
    }
}

/* ==========================================================================
   6  Preprocessing
   ========================================================================== */

AN_API an_result an_fill_missing(float *x, size_t n_rows, size_t n_features,
                                 const double *time, unsigned char *mask, size_t *n_filled)
{
    size_t i, f, filled = 0, total = an__mul(n_rows, n_features);
    if (n_filled) *n_filled = 0;
    if (!x || n_rows == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    if (total == SIZE_MAX) return AN_ERR_TOO_LARGE;
    /* Check everything before touching x, so a failure leaves it as it was. */
    if (time)
        for (i = 0; i < n_rows; i++)
            if (!an__finite(time[i]) || (i > 0 && !(time[i] > time[i - 1]))) return AN_ERR_INPUT;
    for (f = 0; f < n_features; f++) {
        int seen = 0;
        for (i = 0; i < n_rows; i++) {
            float v = x[i * n_features + f];
            if (v != v) continue;
            if (!an__finite(v)) return AN_ERR_INPUT;
            seen = 1;
        }
        if (!seen) return AN_ERR_INPUT;
    }
    if (mask) memset(mask, 0, total);
    for (f = 0; f < n_features; f++) {
        size_t prev = SIZE_MAX;   /* last observed row */
        for (i = 0; i <= n_rows; i++) {
            size_t j;
            float v = i < n_rows ? x[i * n_features + f] : 0.0f;
            if (i < n_rows && v != v) continue;
            /* rows prev+1 .. i-1 are a gap between two observations, or an edge */
            for (j = (prev == SIZE_MAX ? 0 : prev + 1); j < i; j++) {
                float *out = &x[j * n_features + f];
                if (prev == SIZE_MAX) *out = v;                       /* leading  */
                else if (i == n_rows) *out = x[prev * n_features + f]; /* trailing */
                else {
                    double a = x[prev * n_features + f], w;
                    w = time ? (time[j] - time[prev]) / (time[i] - time[prev])
                             : (double)(j - prev) / (double)(i - prev);
                    *out = (float)(a + (v - a) * w);
                }
                if (mask) mask[j * n_features + f] = 1;
                filled++;
            }
            prev = i;
        }
    }
    if (n_filled) *n_filled = filled;
    return AN_OK;
}

static double an__quantile_d(double *v, size_t n, double q);   /* section 7 */

AN_API an_result an_fill_seasonal(float *x, size_t n_rows, size_t n_features, const size_t *period,
                                  const unsigned char *mask, const an_allocator *scratch)
{
    size_t f, i, p_max = 0, bytes;
    double *sum, *profile, *phase;
    if (!x || !period || !mask || n_rows == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    if (an__mul(n_rows, n_features) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n_rows * n_features; i++)
        if (!an__finite(x[i])) return AN_ERR_INPUT;
    for (f = 0; f < n_features; f++)
        if (period[f] >= 2 && n_rows >= 2 * period[f] && period[f] > p_max) p_max = period[f];
    if (p_max == 0) return AN_OK;
    /* sum: n_rows + 1 prefix sums; profile: p_max; phase: one phase's values, at most n_rows / 2 + 1 */
    bytes = an__mul(an__add(an__add(n_rows, 1), an__add(p_max, n_rows / 2 + 1)), sizeof(double));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(sum = (double *)an_malloc(scratch, bytes, sizeof(double)))) return AN_ERR_NOMEM;
    profile = sum + n_rows + 1;
    phase = profile + p_max;
    for (f = 0; f < n_features; f++) {
        size_t p = period[f], h, k, prev;
        double centre = 0.0;
        if (p < 2 || n_rows < 2 * p) continue;
        h = p / 2;
        for (sum[0] = 0.0, i = 0; i < n_rows; i++) sum[i + 1] = sum[i] + x[i * n_features + f];
        for (k = 0; k < p; k++) {            /* the median detrended value of phase k */
            size_t m = 0;
            for (i = k; i < n_rows; i += p) {
                double trend;
                if (mask[i * n_features + f] || i < h || i - h + p + (p % 2 == 0) > n_rows) continue;
                trend = p % 2 ? (sum[i - h + p] - sum[i - h]) / (double)p
                              : (sum[i - h + p] - sum[i - h] + sum[i - h + p + 1] - sum[i - h + 1]) / (2.0 * (double)p);
                phase[m++] = x[i * n_features + f] - trend;
            }
            profile[k] = m ? an__quantile_d(phase, m, 0.5) : 0.0;
            centre += profile[k];
        }
        for (k = 0; k < p; k++) profile[k] -= centre / (double)p;
        /* each gap: a straight line between its neighbours, less the season */
        for (prev = SIZE_MAX, i = 0; i <= n_rows; i++) {
            size_t j;
            double a, b;
            if (i < n_rows && mask[i * n_features + f]) continue;
            if (prev == SIZE_MAX && i == n_rows) break;                /* nothing observed: as it was */
            if (prev == SIZE_MAX ? i > 0 : i > prev + 1) {      /* a gap: ends a and b, deseasonalised */
                b = i < n_rows ? x[i * n_features + f] - profile[i % p] : 0.0;
                a = prev == SIZE_MAX ? b : x[prev * n_features + f] - profile[prev % p];
                if (i == n_rows) b = a;
                for (j = prev == SIZE_MAX ? 0 : prev + 1; j < i; j++) {
                    double w = prev == SIZE_MAX ? 0.0 : (double)(j - prev) / (double)(i - prev);
                    x[j * n_features + f] = (float)(profile[j % p] + a + (b - a) * w);
                }
            }
            prev = i;
        }
    }
    an_free(scratch, sum, bytes);
    return AN_OK;
}

/* ---- scalers ------------------------------------------------------------- */

static size_t an__scaler_layout(size_t n_features, size_t *center, size_t *scale)
{
    an__layout l = { 0 };
    *center = an__layout_add(&l, n_features, sizeof(double));
    *scale = an__layout_add(&l, n_features, sizeof(double));
    return l.size;
}

AN_API an_result an_scaler_heap_size(size_t n_features, size_t *bytes)
{
    size_t c, s;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (n_features == 0) return AN_ERR_INVALID_ARG;
    *bytes = an__scaler_layout(n_features, &c, &s);
    return *bytes == SIZE_MAX ? AN_ERR_TOO_LARGE : AN_OK;
}

AN_API an_result an_scaler_init_preallocated(an_scaler *s, an_scaler_kind kind, size_t n_features, void *heap)
{
    size_t c, sc, bytes, i;
    an_result r;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if (!heap || an__misaligned(heap)) return AN_ERR_INVALID_ARG;
    if (kind != AN_SCALER_STANDARD && kind != AN_SCALER_MINMAX && kind != AN_SCALER_ROBUST)
        return AN_ERR_INVALID_ARG;
    if ((r = an_scaler_heap_size(n_features, &bytes)) != AN_OK) return r;
    an__scaler_layout(n_features, &c, &sc);
    s->kind = kind;
    s->n_features = n_features;
    s->lo = 0.0;
    s->hi = 1.0;
    s->center = (double *)((unsigned char *)heap + c);
    s->scale = (double *)((unsigned char *)heap + sc);
    for (i = 0; i < n_features; i++) { s->center[i] = 0.0; s->scale[i] = 1.0; }
    s->alloc = an__default_allocator;
    return AN_OK;
}

AN_API an_result an_scaler_init(an_scaler *s, an_scaler_kind kind, size_t n_features, const an_allocator *a)
{
    an_allocator alloc;
    size_t bytes;
    void *heap;
    an_result r;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an_scaler_heap_size(n_features, &bytes)) != AN_OK) return r;
    if (kind != AN_SCALER_STANDARD && kind != AN_SCALER_MINMAX && kind != AN_SCALER_ROBUST)
        return AN_ERR_INVALID_ARG;
    if (!(heap = an_malloc(&alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_scaler_init_preallocated(s, kind, n_features, heap);
    s->heap = heap;
    s->owned_bytes = bytes;
    s->alloc = alloc;
    return AN_OK;
}

AN_API void an_scaler_uninit(an_scaler *s)
{
    if (!s) return;
    if (s->owned_bytes) an_free(&s->alloc, s->heap, s->owned_bytes);
    memset(s, 0, sizeof *s);
}

AN_API an_result an_scaler_set_range(an_scaler *s, double lo, double hi)
{
    if (!s || !s->center || !an__finite(lo) || !an__finite(hi) || !(lo < hi)) return AN_ERR_INVALID_ARG;
    s->lo = lo;
    s->hi = hi;
    return AN_OK;
}

/* scikit-learn treats a spread below 10 machine epsilons as zero and then
   divides by 1, so a constant feature maps to the centre (or to lo). */
static double an__nonzero_spread(double spread) { return spread < 10.0 * DBL_EPSILON ? 1.0 : spread; }

AN_API an_result an_scaler_fit(an_scaler *s, const float *x, size_t n_rows, const an_allocator *scratch)
{
    size_t i, f, F;
    float *column = NULL;
    an_result r = AN_OK;
    if (!s || !s->center || !x || n_rows == 0 || !an__allocator_ok(scratch)) return AN_ERR_INVALID_ARG;
    F = s->n_features;
    if (an__mul(an__mul(n_rows, F), sizeof(float)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < n_rows * F; i++)
        if (x[i] == x[i] && !an__finite(x[i])) return AN_ERR_INPUT;   /* +-Inf */
    if (s->kind == AN_SCALER_ROBUST) {
        if (!(column = (float *)an_malloc(scratch, n_rows * sizeof(float), AN_ALIGN))) return AN_ERR_NOMEM;
    }
    for (f = 0; f < F && r == AN_OK; f++) {
        size_t count = 0;
        double mean = 0.0, m2 = 0.0, mn = DBL_MAX, mx = -DBL_MAX;
        for (i = 0; i < n_rows; i++) {
            double v = x[i * F + f], d;
            if (v != v) continue;
            if (column) column[count] = (float)v;
            count++;
            d = v - mean;               /* Welford */
            mean += d / (double)count;
            m2 += d * (v - mean);
            if (v < mn) mn = v;
            if (v > mx) mx = v;
        }
        if (count == 0) { r = AN_ERR_INPUT; break; }
        switch (s->kind) {
        case AN_SCALER_STANDARD:
            s->center[f] = mean;
            s->scale[f] = an__nonzero_spread(sqrt(m2 / (double)count));
            break;
        case AN_SCALER_MINMAX:
            s->center[f] = mn;
            s->scale[f] = an__nonzero_spread(mx - mn) / (s->hi - s->lo);
            break;
        case AN_SCALER_ROBUST: {
            double q25, q50, q75;
            an_percentile_inplace(column, count, 25.0, &q25);
            an_percentile_inplace(column, count, 50.0, &q50);
            an_percentile_inplace(column, count, 75.0, &q75);
            s->center[f] = q50;
            s->scale[f] = an__nonzero_spread(q75 - q25);
            break;
        }
        }
    }
    if (column) an_free(scratch, column, n_rows * sizeof(float));
    s->fitted = r == AN_OK;
    return r;
}

AN_API an_result an_scaler_transform(const an_scaler *s, const float *x, size_t n_rows, float *y)
{
    size_t i, f, F;
    double offset;
    if (!s || !s->center || !x || !y || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (!s->fitted) return AN_ERR_NOT_FITTED;
    F = s->n_features;
    offset = s->kind == AN_SCALER_MINMAX ? s->lo : 0.0;
    for (i = 0; i < n_rows; i++)
        for (f = 0; f < F; f++)
            y[i * F + f] = (float)(((double)x[i * F + f] - s->center[f]) / s->scale[f] + offset);
    return AN_OK;
}

AN_API an_result an_scaler_inverse(const an_scaler *s, const float *y, size_t n_rows, float *x)
{
    size_t i, f, F;
    double offset;
    if (!s || !s->center || !x || !y || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (!s->fitted) return AN_ERR_NOT_FITTED;
    F = s->n_features;
    offset = s->kind == AN_SCALER_MINMAX ? s->lo : 0.0;
    for (i = 0; i < n_rows; i++)
        for (f = 0; f < F; f++)
            x[i * F + f] = (float)(((double)y[i * F + f] - offset) * s->scale[f] + s->center[f]);
    return AN_OK;
}

AN_API an_result an_scaler_save(const an_scaler *s, an_writer *w)
{
    if (!s || !s->center || !w) return AN_ERR_INVALID_ARG;
    if (!s->fitted) return AN_ERR_NOT_FITTED;
    an_write_begin(w, AN_TAG_SCALER);
    an_write_u32(w, (uint32_t)s->kind);
    an_write_u64(w, (uint64_t)s->n_features);
    an_write_f64(w, s->lo);
    an_write_f64(w, s->hi);
    an_write_f64s(w, s->center, s->n_features);
    an_write_f64s(w, s->scale, s->n_features);
    return an_write_end(w);
}

AN_API an_result an_scaler_load(an_scaler *s, an_reader *r, const an_allocator *a)
{
    an_reader p;
    uint32_t kind;
    size_t F, i;
    double lo, hi;
    an_result res;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if (!r) return AN_ERR_INVALID_ARG;
    if ((res = an_read_expect(r, AN_TAG_SCALER, &p)) != AN_OK) return res;
    if ((res = an_read_u32(&p, &kind)) != AN_OK) return res;
    if (kind < AN_SCALER_STANDARD || kind > AN_SCALER_ROBUST) return AN_ERR_CORRUPT;
    if ((res = an_read_count(&p, 1, SIZE_MAX, &F)) != AN_OK) return res;
    if ((res = an_read_f64(&p, &lo)) != AN_OK || (res = an_read_f64(&p, &hi)) != AN_OK) return res;
    if (!an__finite(lo) || !an__finite(hi) || !(lo < hi)) return AN_ERR_CORRUPT;
    if ((res = an_reader_need(&p, F, 2 * sizeof(double))) != AN_OK) return res;
    if ((res = an_scaler_init(s, (an_scaler_kind)kind, F, a)) != AN_OK) return res;
    s->lo = lo;
    s->hi = hi;
    an_read_f64s(&p, s->center, F);
    an_read_f64s(&p, s->scale, F);
    for (i = 0; i < F; i++)
        if (!an__finite(s->center[i]) || !an__finite(s->scale[i]) || !(s->scale[i] > 0.0)) {
            an_scaler_uninit(s);
            return AN_ERR_CORRUPT;
        }
    s->fitted = 1;
    return AN_OK;
}

/* ---- windows ------------------------------------------------------------- */

static an_result an__window_check(size_t n_rows, size_t length, size_t stride, unsigned flags)
{
    if (n_rows == 0 || length == 0 || stride == 0) return AN_ERR_INVALID_ARG;
    if (flags & ~(unsigned)(AN_WINDOW_COVER_END | AN_WINDOW_PAD)) return AN_ERR_INVALID_ARG;
    if (n_rows < length && !(flags & AN_WINDOW_PAD)) return AN_ERR_TOO_SHORT;
    return AN_OK;
}

AN_API an_result an_window_count(size_t n_rows, size_t length, size_t stride, unsigned flags, size_t *count)
{
    an_result r;
    if (!count) return AN_ERR_INVALID_ARG;
    *count = 0;
    if ((r = an__window_check(n_rows, length, stride, flags)) != AN_OK) return r;
    if (n_rows < length) { *count = 1; return AN_OK; }
    *count = (n_rows - length) / stride + 1;
    if ((flags & AN_WINDOW_COVER_END) && (n_rows - length) % stride) (*count)++;
    return AN_OK;
}

AN_API ptrdiff_t an_window_start(size_t n_rows, size_t length, size_t stride, unsigned flags, size_t i)
{
    size_t regular;
    if (an__window_check(n_rows, length, stride, flags) != AN_OK) return 0;
    if (n_rows < length) return -(ptrdiff_t)(length - n_rows);
    regular = (n_rows - length) / stride + 1;
    return i < regular ? (ptrdiff_t)(i * stride) : (ptrdiff_t)(n_rows - length);
}

AN_API an_result an_windows(const float *x, size_t n_rows, size_t n_features, size_t length,
                            size_t stride, unsigned flags, float *out, unsigned char *mask,
                            size_t max_windows, size_t *count)
{
    size_t w, t, n;
    an_result r;
    if (count) *count = 0;
    if (!x || !out || n_features == 0) return AN_ERR_INVALID_ARG;
    if ((r = an_window_count(n_rows, length, stride, flags, &n)) != AN_OK) return r;
    if (n > max_windows) return AN_ERR_SHAPE;
    if (an__mul(an__mul(an__mul(n, length), n_features), sizeof(float)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (w = 0; w < n; w++) {
        ptrdiff_t start = an_window_start(n_rows, length, stride, flags, w);
        float *dst = out + w * length * n_features;
        for (t = 0; t < length; t++) {
            ptrdiff_t row = start + (ptrdiff_t)t;
            if (row < 0) memset(dst + t * n_features, 0, n_features * sizeof(float));
            else memcpy(dst + t * n_features, x + (size_t)row * n_features, n_features * sizeof(float));
            if (mask) mask[w * length + t] = row >= 0;
        }
    }
    if (count) *count = n;
    return AN_OK;
}

/* ---- time features ------------------------------------------------------- */

AN_API an_result an_time_features(const double *unix_seconds, size_t n, double utc_offset, float *out)
{
    const double two_pi = 6.283185307179586, day = 86400.0;
    size_t i;
    if (!unix_seconds || !out || n == 0 || !an__finite(utc_offset)) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__finite(unix_seconds[i])) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) {
        double s = unix_seconds[i] + utc_offset;
        double days = floor(s / day);
        double of_day = (s - days * day) / day;            /* [0, 1) */
        double weekday = fmod(days + 3.0, 7.0);            /* 1970-01-01 was a Thursday */
        if (weekday < 0.0) weekday += 7.0;
        out[4 * i + 0] = (float)sin(two_pi * of_day);
        out[4 * i + 1] = (float)cos(two_pi * of_day);
        out[4 * i + 2] = (float)sin(two_pi * weekday / 7.0);
        out[4 * i + 3] = (float)cos(two_pi * weekday / 7.0);
    }
    return AN_OK;
}

/* Counted in 400-year cycles of 146097 days whose years start on 1 March,
   so the leap day is the last day of its year. */
AN_API long an_days_from_civil(long year, int month, int day)
{
    long y = month <= 2 ? year - 1 : year;
    long cycle = (y >= 0 ? y : y - 399) / 400;                        /* floor(y / 400) */
    long yc = y - cycle * 400;                                         /* 0..399 */
    long doy = (153L * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;   /* 0..365 */
    long doc = yc * 365 + yc / 4 - yc / 100 + doy;                     /* 0..146096 */
    return cycle * 146097 + doc - 719468;                              /* 719468: 0000-03-01 to 1970-01-01 */
}

/* ==========================================================================
   7  Thresholds
   ========================================================================== */

/* The k-th smallest of v[0..n-1] (Hoare's selection, median-of-three
   pivot).  Afterwards every element after position k is >= v[k].  A macro
   so each header instantiates the element types it needs. */
#define AN__DEFINE_SELECT(name, type)                                          \
    static type name(type *v, size_t n, size_t k)   /* NOLINT(bugprone-macro-parentheses): `type` is a type name */ \
    {                                                                          \
        ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, K = (ptrdiff_t)k;             \
        type pivot, tmp;                                                       \
        while (hi > lo) {                                                      \
            ptrdiff_t mid = lo + (hi - lo) / 2, i = lo, j = hi;                \
            if (v[mid] < v[lo]) { tmp = v[mid]; v[mid] = v[lo]; v[lo] = tmp; } \
            if (v[hi] < v[lo]) { tmp = v[hi]; v[hi] = v[lo]; v[lo] = tmp; }    \
            if (v[hi] < v[mid]) { tmp = v[hi]; v[hi] = v[mid]; v[mid] = tmp; } \
            pivot = v[mid];                                                    \
            while (i <= j) {                                                   \
                while (v[i] < pivot) i++;                                      \
                while (v[j] > pivot) j--;                                      \
                if (i <= j) { tmp = v[i]; v[i] = v[j]; v[j] = tmp; i++; j--; } \
            }                                                                  \
            if (K <= j) hi = j;                                                \
            else if (K >= i) lo = i;                                           \
            else break;            /* v[j+1 .. i-1] all equal the pivot */     \
        }                                                                      \
        return v[k];                                                           \
    }
AN__DEFINE_SELECT(an__select, float)
AN__DEFINE_SELECT(an__select_d, double)

/* Scores are clamped here so that a float holds them. */
#define AN__SCORE_MAX 1e30

/* The q-quantile (0..1) of v (n), linear interpolation (type 7); v is
   reordered. */
static double an__quantile_d(double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q, a, b;
    size_t lo = (size_t)floor(h), i;
    if (lo >= n - 1) return an__select_d(v, n, n - 1);
    a = an__select_d(v, n, lo);
    if (h == (double)lo) return a;
    for (b = v[lo + 1], i = lo + 2; i < n; i++)   /* the next order statistic */
        if (v[i] < b) b = v[i];
    return a + (h - (double)lo) * (b - a);
}

AN_API an_result an_percentile_inplace(float *x, size_t n, double q, double *out)
{
    size_t i, lo;
    double h, frac, a, b;
    if (!x || !out || n == 0 || !(q >= 0.0 && q <= 100.0)) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__finite(x[i])) return AN_ERR_INPUT;
    h = (double)(n - 1) * (q / 100.0);
    lo = (size_t)floor(h);
    if (lo > n - 1) lo = n - 1;
    frac = h - (double)lo;
    a = an__select(x, n, lo);
    if (frac > 0.0 && lo + 1 < n) {
        float m = x[lo + 1];
        for (i = lo + 2; i < n; i++) if (x[i] < m) m = x[i];
        b = m;
        a += (b - a) * frac;
    }
    *out = a;
    return AN_OK;
}

AN_API an_result an_percentile(const float *x, size_t n, double q, const an_allocator *a, double *out)
{
    float *copy;
    an_result r;
    if (!x || !out || n == 0 || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if (an__mul(n, sizeof(float)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(copy = (float *)an_malloc(a, n * sizeof(float), AN_ALIGN))) return AN_ERR_NOMEM;
    memcpy(copy, x, n * sizeof(float));
    r = an_percentile_inplace(copy, n, q, out);
    an_free(a, copy, n * sizeof(float));
    return r;
}

AN_API an_result an_mean_std(const float *x, size_t n, double *mean, double *std)
{
    double m = 0.0, m2 = 0.0;
    size_t i;
    if (!x || n == 0 || !mean || !std) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        double v = x[i], d;
        if (!an__finite(v)) return AN_ERR_INPUT;
        d = v - m;
        m += d / (double)(i + 1);
        m2 += d * (v - m);
    }
    *mean = m;
    *std = sqrt(m2 / (double)n);
    return AN_OK;
}

AN_API an_result an_threshold_sigma(const float *x, size_t n, double k, double *out)
{
    double mean, std;
    an_result r;
    if (!out || !an__finite(k)) return AN_ERR_INVALID_ARG;
    if ((r = an_mean_std(x, n, &mean, &std)) != AN_OK) return r;
    *out = mean + k * std;
    return AN_OK;
}

AN_API an_result an_ewma_threshold_init(an_ewma_threshold *t, double alpha, double k, size_t warmup)
{
    if (!t || !(alpha > 0.0 && alpha <= 1.0) || !an__finite(k) || k < 0.0) return AN_ERR_INVALID_ARG;
    memset(t, 0, sizeof *t);
    t->alpha = alpha;
    t->k = k;
    t->warmup = warmup;
    return AN_OK;
}

AN_API int an_ewma_threshold_push(an_ewma_threshold *t, double score, double *threshold)
{
    double thr = HUGE_VAL, weight, d;
    int flag = 0;
    if (!t) return 0;
    if (t->n > 0 && t->n >= t->warmup) thr = t->mean + t->k * sqrt(t->var);
    if (threshold) *threshold = thr;
    if (!an__finite(score)) return 0;
    flag = score > thr;
    if (flag && t->skip_anomalies) return flag;
    /* Weights 1, 1/2, 1/3, ... until they fall to alpha: an unbiased start. */
    weight = 1.0 / (double)(t->n + 1);
    if (weight < t->alpha) weight = t->alpha;
    d = score - t->mean;
    t->mean += weight * d;
    t->var = (1.0 - weight) * (t->var + weight * d * d);
    t->n++;
    return flag;
}

/* ==========================================================================
   8  Metrics
   ========================================================================== */

static an_result an__check_labels(const unsigned char *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (v[i] > 1) return AN_ERR_INPUT;
    return AN_OK;
}

AN_API an_result an_confusion_matrix(const unsigned char *truth, const unsigned char *pred, size_t n,
                                     an_confusion *out)
{
    size_t i;
    an_confusion c = { 0, 0, 0, 0 };
    if (!truth || !pred || !out || n == 0) return AN_ERR_INVALID_ARG;
    if (an__check_labels(truth, n) || an__check_labels(pred, n)) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) {
        if (truth[i]) { if (pred[i]) c.tp++; else c.fn++; }
        else          { if (pred[i]) c.fp++; else c.tn++; }
    }
    *out = c;
    return AN_OK;
}

static double an__ratio(double num, double den) { return den > 0.0 ? num / den : 0.0; }

AN_API double an_accuracy(const an_confusion *c)
{ return an__ratio((double)(c->tp + c->tn), (double)(c->tp + c->tn + c->fp + c->fn)); }
AN_API double an_precision(const an_confusion *c)   { return an__ratio((double)c->tp, (double)(c->tp + c->fp)); }
AN_API double an_recall(const an_confusion *c)      { return an__ratio((double)c->tp, (double)(c->tp + c->fn)); }
AN_API double an_specificity(const an_confusion *c) { return an__ratio((double)c->tn, (double)(c->tn + c->fp)); }
AN_API double an_f1(const an_confusion *c)          { return an_fbeta(c, 1.0); }

AN_API double an_fbeta(const an_confusion *c, double beta)
{
    double b2 = beta * beta, tp = (double)c->tp;
    return an__ratio((1.0 + b2) * tp, (1.0 + b2) * tp + b2 * (double)c->fn + (double)c->fp);
}

/* Heap sort of indices so that key[idx[.]] is descending.  O(n log n)
   always, in place; tie order does not matter to any caller. */
static void an__sort_desc(size_t *idx, size_t n, const float *key)
{
    size_t start, end, root, child, tmp;
    if (n < 2) return;
    /* a min-heap, so that repeatedly moving the root to the end sorts descending */
    for (start = n / 2; start-- > 0;) {
        for (root = start; (child = 2 * root + 1) < n; root = child) {
            if (child + 1 < n && key[idx[child + 1]] < key[idx[child]]) child++;
            if (!(key[idx[child]] < key[idx[root]])) break;
            tmp = idx[root]; idx[root] = idx[child]; idx[child] = tmp;
        }
    }
    for (end = n - 1; end > 0; end--) {
        tmp = idx[0]; idx[0] = idx[end]; idx[end] = tmp;
        for (root = 0; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && key[idx[child + 1]] < key[idx[child]]) child++;
            if (!(key[idx[child]] < key[idx[root]])) break;
            tmp = idx[root]; idx[root] = idx[child]; idx[child] = tmp;
        }
    }
}

/* Scores ranked into distinct thresholds, descending: after the k-th
   threshold thr[k], tps[k] positives and fps[k] negatives score >= thr[k]. */
typedef struct an__ranking {
    size_t count, pos, neg;
    size_t *tps, *fps;
    float *thr;
    void *mem;
    size_t bytes;
} an__ranking;

static void an__ranking_free(an__ranking *rk, const an_allocator *a) { an_free(a, rk->mem, rk->bytes); }

static an_result an__rank(const float *score, const unsigned char *label, size_t n,
                          const an_allocator *a, an__ranking *rk)
{
    an__layout l = { 0 };
    size_t o_idx, o_tps, o_fps, o_thr, i, tp = 0, fp = 0, *idx;
    memset(rk, 0, sizeof *rk);
    if (!score || !label || n == 0 || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if (an__check_labels(label, n)) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) {
        if (score[i] != score[i]) return AN_ERR_INPUT;
        if (label[i]) rk->pos++; else rk->neg++;
    }
    o_idx = an__layout_add(&l, n, sizeof(size_t));
    o_tps = an__layout_add(&l, n, sizeof(size_t));
    o_fps = an__layout_add(&l, n, sizeof(size_t));
    o_thr = an__layout_add(&l, n, sizeof(float));
    if (l.size == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(rk->mem = an_malloc(a, l.size, AN_ALIGN))) return AN_ERR_NOMEM;
    rk->bytes = l.size;
    idx = (size_t *)((unsigned char *)rk->mem + o_idx);
    rk->tps = (size_t *)((unsigned char *)rk->mem + o_tps);
    rk->fps = (size_t *)((unsigned char *)rk->mem + o_fps);
    rk->thr = (float *)((unsigned char *)rk->mem + o_thr);
    for (i = 0; i < n; i++) idx[i] = i;
    an__sort_desc(idx, n, score);
    for (i = 0; i < n; i++) {
        if (label[idx[i]]) tp++; else fp++;
        if (i + 1 == n || score[idx[i + 1]] != score[idx[i]]) {
            rk->tps[rk->count] = tp;
            rk->fps[rk->count] = fp;
            rk->thr[rk->count] = score[idx[i]];
            rk->count++;
        }
    }
    return AN_OK;
}

AN_API an_result an_roc_auc(const float *score, const unsigned char *label, size_t n,
                            const an_allocator *a, double *auc)
{
    an__ranking rk;
    an_result r;
    double area = 0.0;
    size_t k, tp0 = 0, fp0 = 0;
    if (!auc) return AN_ERR_INVALID_ARG;
    if ((r = an__rank(score, label, n, a, &rk)) != AN_OK) return r;
    if (rk.pos == 0 || rk.neg == 0) { an__ranking_free(&rk, a); return AN_ERR_INPUT; }
    /* trapezoids in integer units; exact until the counts pass 2^26 */
    for (k = 0; k < rk.count; k++) {
        area += (double)(rk.fps[k] - fp0) * (double)(rk.tps[k] + tp0);
        tp0 = rk.tps[k];
        fp0 = rk.fps[k];
    }
    *auc = area / (2.0 * (double)rk.pos * (double)rk.neg);
    an__ranking_free(&rk, a);
    return AN_OK;
}

AN_API an_result an_average_precision(const float *score, const unsigned char *label, size_t n,
                                      const an_allocator *a, double *ap)
{
    an__ranking rk;
    an_result r;
    double sum = 0.0;
    size_t k, tp0 = 0;
    if (!ap) return AN_ERR_INVALID_ARG;
    if ((r = an__rank(score, label, n, a, &rk)) != AN_OK) return r;
    if (rk.pos == 0) { an__ranking_free(&rk, a); return AN_ERR_INPUT; }
    for (k = 0; k < rk.count; k++) {
        sum += (double)(rk.tps[k] - tp0) / (double)rk.pos * ((double)rk.tps[k] / (double)(rk.tps[k] + rk.fps[k]));
        tp0 = rk.tps[k];
    }
    *ap = sum;
    an__ranking_free(&rk, a);
    return AN_OK;
}

AN_API an_result an_roc_curve(const float *score, const unsigned char *label, size_t n,
                              const an_allocator *a, double *fpr, double *tpr, double *threshold,
                              size_t capacity, size_t *count)
{
    an__ranking rk;
    an_result r;
    size_t k;
    if (!fpr || !tpr || !threshold || !count) return AN_ERR_INVALID_ARG;
    *count = 0;
    if ((r = an__rank(score, label, n, a, &rk)) != AN_OK) return r;
    if (rk.pos == 0 || rk.neg == 0) r = AN_ERR_INPUT;
    else if (rk.count + 1 > capacity) r = AN_ERR_SHAPE;
    if (r == AN_OK) {
        fpr[0] = 0.0; tpr[0] = 0.0; threshold[0] = HUGE_VAL;
        for (k = 0; k < rk.count; k++) {
            fpr[k + 1] = (double)rk.fps[k] / (double)rk.neg;
            tpr[k + 1] = (double)rk.tps[k] / (double)rk.pos;
            threshold[k + 1] = rk.thr[k];
        }
        *count = rk.count + 1;
    }
    an__ranking_free(&rk, a);
    return r;
}

AN_API an_result an_pr_curve(const float *score, const unsigned char *label, size_t n,
                             const an_allocator *a, double *precision, double *recall,
                             double *threshold, size_t capacity, size_t *count)
{
    an__ranking rk;
    an_result r;
    size_t k, m;
    if (!precision || !recall || !threshold || !count) return AN_ERR_INVALID_ARG;
    *count = 0;
    if ((r = an__rank(score, label, n, a, &rk)) != AN_OK) return r;
    if (rk.pos == 0) r = AN_ERR_INPUT;
    else if (rk.count + 1 > capacity) r = AN_ERR_SHAPE;
    if (r == AN_OK) {
        for (m = 0; m < rk.count; m++) {
            k = rk.count - 1 - m;    /* ascending thresholds */
            precision[m] = (double)rk.tps[k] / (double)(rk.tps[k] + rk.fps[k]);
            recall[m] = (double)rk.tps[k] / (double)rk.pos;
            threshold[m] = rk.thr[k];
        }
        precision[rk.count] = 1.0;
        recall[rk.count] = 0.0;
        *count = rk.count + 1;
    }
    an__ranking_free(&rk, a);
    return r;
}

AN_API an_result an_ranges_from_labels(const unsigned char *label, size_t n, an_range *out,
                                       size_t capacity, size_t *count)
{
    size_t i, c = 0;
    if (!label || !count || (capacity && !out)) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (an__check_labels(label, n)) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) {
        if (!label[i] || (i > 0 && label[i - 1])) continue;
        if (c < capacity) out[c].start = i;
        while (i + 1 < n && label[i + 1]) i++;
        if (c < capacity) out[c].end = i;
        c++;
    }
    *count = c;
    return c > capacity ? AN_ERR_SHAPE : AN_OK;
}

/* For each run of 1 in `a`, whether any row of it is 1 in `b`: counts runs
   and hit runs. */
static void an__runs_hit(const unsigned char *a, const unsigned char *b, size_t n, size_t *runs, size_t *hit)
{
    size_t i = 0;
    *runs = *hit = 0;
    while (i < n) {
        int any = 0;
        if (!a[i]) { i++; continue; }
        for (; i < n && a[i]; i++) any |= b[i];
        (*runs)++;
        *hit += (size_t)any;
    }
}

AN_API an_result an_event_scores(const unsigned char *truth, const unsigned char *pred, size_t n,
                                 an_event_metrics *out)
{
    an_event_metrics m;
    if (!truth || !pred || !out || n == 0) return AN_ERR_INVALID_ARG;
    if (an__check_labels(truth, n) || an__check_labels(pred, n)) return AN_ERR_INPUT;
    an__runs_hit(truth, pred, n, &m.true_events, &m.detected);
    an__runs_hit(pred, truth, n, &m.predicted_events, &m.correct);
    m.recall = an__ratio((double)m.detected, (double)m.true_events);
    m.precision = an__ratio((double)m.correct, (double)m.predicted_events);
    m.f1 = an__ratio(2.0 * m.precision * m.recall, m.precision + m.recall);
    *out = m;
    return AN_OK;
}

AN_API an_result an_point_adjusted(const unsigned char *truth, const unsigned char *pred, size_t n,
                                   an_confusion *out)
{
    an_confusion c = { 0, 0, 0, 0 };
    size_t i = 0, j;
    if (!truth || !pred || !out || n == 0) return AN_ERR_INVALID_ARG;
    if (an__check_labels(truth, n) || an__check_labels(pred, n)) return AN_ERR_INPUT;
    while (i < n) {
        if (!truth[i]) {
            if (pred[i]) c.fp++; else c.tn++;
            i++;
            continue;
        }
        {
            int any = 0;
            for (j = i; j < n && truth[j]; j++) any |= pred[j];
            if (any) c.tp += j - i; else c.fn += j - i;
            i = j;
        }
    }
    *out = c;
    return AN_OK;
}

/* ---- NAB ------------------------------------------------------------------ */

AN_API an_nab_profile an_nab_profile_get(an_nab_profile_id id)
{
    an_nab_profile p;
    p.tp = 1.0;
    p.fp = id == AN_NAB_REWARD_LOW_FP ? 0.22 : 0.11;
    p.fn = id == AN_NAB_REWARD_LOW_FN ? 2.0 : 1.0;
    return p;
}

AN_API size_t an_nab_probation(size_t n_rows)
{
    double p = floor(0.15 * (double)n_rows);
    return (size_t)(p < 750.0 ? p : 750.0);
}

/* NAB's scaled sigmoid, written as sweeper.py computes it. */
static double an__nab_sigmoid(double x)
{
    if (x > 3.0) return -1.0;
    return 2.0 * (1.0 / (1.0 + exp(-(-5.0 * x)))) - 1.0;
}

static an_result an__nab_check(const an_nab_series *s)
{
    size_t i, k;
    if (!s || !s->score || s->n == 0 || (s->n_windows && !s->windows)) return AN_ERR_INVALID_ARG;
    for (i = 0; i < s->n; i++)
        if (!(s->score[i] >= 0.0f && s->score[i] <= 1.0f)) return AN_ERR_INPUT;   /* NaN too */
    for (k = 0; k < s->n_windows; k++) {
        const an_range *w = &s->windows[k];
        if (w->end >= s->n || w->end < w->start + 1) return AN_ERR_INPUT;
        if (k > 0 && w->start <= s->windows[k - 1].end) return AN_ERR_INPUT;
    }
    return AN_OK;
}

/* The sweep of one row: the score it earns if it is detected.  `k` is the
   first window that does not end before row i. */
static double an__nab_row(const an_nab_series *s, size_t i, size_t k, an_nab_profile p, int *inside)
{
    const an_range *w;
    *inside = k < s->n_windows && i >= s->windows[k].start;
    if (*inside) {
        w = &s->windows[k];
        return an__nab_sigmoid(-(double)(w->end - i + 1) / (double)(w->end - w->start + 1)) * p.tp /
               an__nab_sigmoid(-1.0);
    }
    if (k == 0) return -p.fp;
    w = &s->windows[k - 1];
    return an__nab_sigmoid((double)(i - w->end) / (double)(w->end - w->start)) * p.fp;
}

AN_API an_result an_nab_score_series(const an_nab_series *s, double threshold, an_nab_profile p,
                                     an_nab_counts *out)
{
    an_nab_counts c;
    size_t i, k = 0;
    double fp_sum = 0.0, window_sum = 0.0, best = 0.0;
    int detected_in_window = 0;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    if ((r = an__nab_check(s)) != AN_OK) return r;
    memset(&c, 0, sizeof c);
    for (i = an_nab_probation(s->n); i < s->n; i++) {
        int inside, detected = (double)s->score[i] >= threshold;
        double sweep;
        while (k < s->n_windows && s->windows[k].end < i) k++;   /* windows inside probation */
        sweep = an__nab_row(s, i, k, p, &inside);
        if (inside) {
            if (detected) {
                c.tp++;
                if (!detected_in_window || sweep > best) best = sweep;
                detected_in_window = 1;
            } else c.fn++;
            if (i == s->windows[k].end) {
                window_sum += detected_in_window ? best : -p.fn;
                detected_in_window = 0;
            }
        } else if (detected) {
            c.fp++;
            fp_sum += sweep;
        } else c.tn++;
    }
    c.score = fp_sum + window_sum;
    *out = c;
    return AN_OK;
}

AN_API an_result an_nab_evaluate(const an_nab_series *series, size_t n_series, an_nab_profile p,
                                 const an_allocator *a, an_nab_result *out)
{
    /* Every scored row of the corpus, ranked by score; walking down the
       ranking lowers the threshold one distinct score at a time. */
    an__layout l = { 0 };
    size_t o_score, o_sweep, o_win, o_idx, o_part, o_hit;
    size_t rows = 0, windows = 0, scored_windows = 0, f, i, j, k, row, wbase;
    unsigned char *mem, *hit;
    float *score;
    double *sweep, *part, fp_sum = 0.0, window_sum, all_fp = 0.0, all_window = 0.0;
    size_t *win, *idx;
    an_nab_counts c, best_c;
    an_nab_result res;
    an_result r;

    if (!series || n_series == 0 || !out || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    for (f = 0; f < n_series; f++) {
        if ((r = an__nab_check(&series[f])) != AN_OK) return r;
        rows = an__add(rows, series[f].n - an_nab_probation(series[f].n));
        windows += series[f].n_windows;
    }
    o_score = an__layout_add(&l, rows, sizeof(float));
    o_sweep = an__layout_add(&l, rows, sizeof(double));
    o_win = an__layout_add(&l, rows, sizeof(size_t));
    o_idx = an__layout_add(&l, rows, sizeof(size_t));
    o_part = an__layout_add(&l, windows, sizeof(double));
    o_hit = an__layout_add(&l, windows, 1);
    if (l.size == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(mem = (unsigned char *)an_malloc(a, l.size, AN_ALIGN))) return AN_ERR_NOMEM;
    score = (float *)(mem + o_score);
    sweep = (double *)(mem + o_sweep);
    win = (size_t *)(mem + o_win);
    idx = (size_t *)(mem + o_idx);
    part = (double *)(mem + o_part);
    hit = mem + o_hit;
    memset(hit, 0, windows);

    /* Sweep scores and window of every scored row; a window takes part
       (starting at -fn) only when some row of it is scored. */
    memset(&c, 0, sizeof c);
    row = 0;
    wbase = 0;
    for (f = 0; f < n_series; f++) {
        const an_nab_series *s = &series[f];
        k = 0;
        for (i = an_nab_probation(s->n); i < s->n; i++, row++) {
            int inside;
            while (k < s->n_windows && s->windows[k].end < i) k++;
            score[row] = s->score[i];
            sweep[row] = an__nab_row(s, i, k, p, &inside);
            win[row] = inside ? wbase + k : SIZE_MAX;
            if (inside) {
                c.fn++;
                if (!hit[wbase + k]) {         /* its first scored row is its best */
                    hit[wbase + k] = 1;
                    all_window += sweep[row];
                    scored_windows++;
                }
            } else {
                c.tn++;
                all_fp += sweep[row];
            }
            idx[row] = row;
        }
        wbase += s->n_windows;
    }
    for (j = 0; j < windows; j++) { part[j] = -p.fn; hit[j] = 0; }

    window_sum = -p.fn * (double)scored_windows;
    res.threshold = 1.1;                  /* NAB's "detect nothing" */
    res.raw = window_sum;
    best_c = c;
    an__sort_desc(idx, rows, score);
    for (i = 0; i < rows;) {
        float t = score[idx[i]];
        for (; i < rows && score[idx[i]] == t; i++) {
            size_t q = idx[i], w = win[q];
            if (w == SIZE_MAX) { c.fp++; c.tn--; fp_sum += sweep[q]; continue; }
            c.tp++; c.fn--;
            if (!hit[w] || sweep[q] > part[w]) {
                window_sum += sweep[q] - part[w];
                part[w] = sweep[q];
                hit[w] = 1;
            }
        }
        if (fp_sum + window_sum > res.raw) {   /* strict: the higher threshold wins ties */
            res.raw = fp_sum + window_sum;
            res.threshold = t;
            best_c = c;
        }
    }
    best_c.score = res.raw;
    res.counts = best_c;

    /* The null detector: one constant score, so it detects nothing or all. */
    res.null_raw = -p.fn * (double)scored_windows;
    if (all_fp + all_window > res.null_raw) res.null_raw = all_fp + all_window;
    res.perfect = p.tp * (double)windows;
    res.normalized = res.perfect > res.null_raw
                   ? 100.0 * (res.raw - res.null_raw) / (res.perfect - res.null_raw) : 0.0;
    an_free(a, mem, l.size);
    *out = res;
    return AN_OK;
}

/* ==========================================================================
   9  Model files
   ========================================================================== */

static const unsigned char an__magic[8] = { 0x89, 'A', 'N', 'O', 'M', '\r', '\n', 0x1A };

AN_API uint32_t an_crc32(uint32_t crc, const void *data, size_t size)
{
    /* IEEE 802.3 polynomial, reflected, four bits at a time from a
       16-entry table: small, and no table to build at run time. */
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu
    };
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    crc = ~crc;
    for (i = 0; i < size; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return ~crc;
}

static void an__put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

static void an__put64(unsigned char *p, uint64_t v)
{
    an__put32(p, (uint32_t)v);
    an__put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t an__get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t an__get64(const unsigned char *p) { return an__get32(p) | ((uint64_t)an__get32(p + 4) << 32); }

/* ---- writer -------------------------------------------------------------- */

/* Room for `extra` more bytes, or a sticky error. */
static an_result an__reserve(an_writer *w, size_t extra)
{
    size_t need, cap;
    unsigned char *grown;
    if (w->status != AN_OK) return w->status;
    need = an__add(w->size, extra);
    if (need <= w->capacity) return AN_OK;
    if (w->fixed || need == SIZE_MAX) return w->status = w->fixed ? AN_ERR_SHAPE : AN_ERR_TOO_LARGE;
    cap = w->capacity * 2 > need ? w->capacity * 2 : need;
    if (!(grown = (unsigned char *)an_malloc(&w->alloc, cap, AN_ALIGN))) return w->status = AN_ERR_NOMEM;
    memcpy(grown, w->data, w->size);
    an_free(&w->alloc, w->data, w->capacity);
    w->data = grown;
    w->capacity = cap;
    return AN_OK;
}

static an_result an__writer_start(an_writer *w)
{
    w->size = 0;
    w->depth = 0;
    w->status = AN_OK;
    if (an__reserve(w, AN_MODEL_HEADER_BYTES) != AN_OK) return w->status;
    memset(w->data, 0, AN_MODEL_HEADER_BYTES);   /* filled by an_writer_finish */
    w->size = AN_MODEL_HEADER_BYTES;
    return AN_OK;
}

AN_API an_result an_writer_init(an_writer *w, const an_allocator *a)
{
    an_result r;
    if (!w) return AN_ERR_INVALID_ARG;
    memset(w, 0, sizeof *w);
    if ((r = an__allocator_copy(&w->alloc, a)) != AN_OK) return r;
    if (!(w->data = (unsigned char *)an_malloc(&w->alloc, 256, AN_ALIGN))) return AN_ERR_NOMEM;
    w->capacity = 256;
    return an__writer_start(w);
}

AN_API an_result an_writer_init_fixed(an_writer *w, void *buffer, size_t capacity)
{
    if (!w) return AN_ERR_INVALID_ARG;
    memset(w, 0, sizeof *w);
    if (!buffer) return AN_ERR_INVALID_ARG;
    if (capacity < AN_MODEL_HEADER_BYTES) return AN_ERR_SHAPE;
    w->data = (unsigned char *)buffer;
    w->capacity = capacity;
    w->fixed = 1;
    return an__writer_start(w);
}

AN_API void an_writer_uninit(an_writer *w)
{
    if (!w) return;
    if (!w->fixed && w->data) an_free(&w->alloc, w->data, w->capacity);
    memset(w, 0, sizeof *w);
}

AN_API an_result an_write_bytes(an_writer *w, const void *v, size_t n)
{
    if (!w || (!v && n)) return AN_ERR_INVALID_ARG;
    if (an__reserve(w, n) != AN_OK) return w->status;
    if (n) memcpy(w->data + w->size, v, n);
    w->size += n;
    return AN_OK;
}

AN_API an_result an_write_u32(an_writer *w, uint32_t v)
{
    unsigned char b[4];
    an__put32(b, v);
    return an_write_bytes(w, b, 4);
}

AN_API an_result an_write_u64(an_writer *w, uint64_t v)
{
    unsigned char b[8];
    an__put64(b, v);
    return an_write_bytes(w, b, 8);
}

AN_API an_result an_write_f32(an_writer *w, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return an_write_u32(w, bits);
}

AN_API an_result an_write_f64(an_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return an_write_u64(w, bits);
}

AN_API an_result an_write_f32s(an_writer *w, const float *v, size_t n)
{
    size_t i;
    if (!w || (!v && n)) return AN_ERR_INVALID_ARG;
    if (an__reserve(w, an__mul(n, 4)) != AN_OK) return w->status;
    for (i = 0; i < n; i++) an_write_f32(w, v[i]);
    return w->status;
}

AN_API an_result an_write_f64s(an_writer *w, const double *v, size_t n)
{
    size_t i;
    if (!w || (!v && n)) return AN_ERR_INVALID_ARG;
    if (an__reserve(w, an__mul(n, 8)) != AN_OK) return w->status;
    for (i = 0; i < n; i++) an_write_f64(w, v[i]);
    return w->status;
}

AN_API an_result an_write_begin(an_writer *w, uint32_t tag)
{
    if (!w) return AN_ERR_INVALID_ARG;
    if (w->status != AN_OK) return w->status;
    if (w->depth >= AN_WRITER_MAX_DEPTH) return w->status = AN_ERR_TOO_LARGE;
    w->open[w->depth] = w->size;
    if (an_write_u32(w, tag) != AN_OK || an_write_u32(w, 0) != AN_OK) return w->status;
    w->depth++;
    return AN_OK;
}

AN_API an_result an_write_end(an_writer *w)
{
    size_t start, length;
    if (!w) return AN_ERR_INVALID_ARG;
    if (w->status != AN_OK) return w->status;
    if (w->depth == 0) return w->status = AN_ERR_INVALID_ARG;
    start = w->open[--w->depth];
    length = w->size - start - 8;
    if (length > 0xFFFFFFFFu) return w->status = AN_ERR_TOO_LARGE;
    an__put32(w->data + start + 4, (uint32_t)length);
    return an_write_u32(w, an_crc32(0, w->data + start, w->size - start));
}

AN_API an_result an_writer_finish(an_writer *w, const void **data, size_t *size)
{
    if (!w || !data || !size) return AN_ERR_INVALID_ARG;
    *data = NULL;
    *size = 0;
    if (w->status != AN_OK) return w->status;
    if (w->depth != 0) return w->status = AN_ERR_INVALID_ARG;
    if (w->size > ANOMALY_MAX_MODEL_BYTES) return w->status = AN_ERR_TOO_LARGE;
    memcpy(w->data, an__magic, 8);
    an__put32(w->data + 8, AN_MODEL_VERSION);
    an__put32(w->data + 12, 0);
    an__put64(w->data + 16, (uint64_t)w->size);
    an__put32(w->data + 24, an_crc32(0, w->data, 24));
    *data = w->data;
    *size = w->size;
    return AN_OK;
}

/* ---- reader -------------------------------------------------------------- */

AN_API int    an_reader_at_end(const an_reader *r)    { return !r || r->pos >= r->size; }
AN_API size_t an_reader_remaining(const an_reader *r) { return r && r->pos < r->size ? r->size - r->pos : 0; }

AN_API an_result an_reader_need(const an_reader *r, size_t n, size_t elem)
{
    if (!r) return AN_ERR_INVALID_ARG;
    return an__mul(n, elem) <= an_reader_remaining(r) ? AN_OK : AN_ERR_CORRUPT;
}

AN_API an_result an_read_bytes(an_reader *r, void *v, size_t n)
{
    if (!r || (!v && n)) return AN_ERR_INVALID_ARG;
    if (n > an_reader_remaining(r)) return AN_ERR_CORRUPT;
    if (n) memcpy(v, r->data + r->pos, n);
    r->pos += n;
    return AN_OK;
}

AN_API an_result an_read_u32(an_reader *r, uint32_t *v)
{
    unsigned char b[4];
    an_result res = an_read_bytes(r, b, 4);
    if (res == AN_OK && v) *v = an__get32(b);
    return res;
}

AN_API an_result an_read_u64(an_reader *r, uint64_t *v)
{
    unsigned char b[8];
    an_result res = an_read_bytes(r, b, 8);
    if (res == AN_OK && v) *v = an__get64(b);
    return res;
}

AN_API an_result an_read_f32(an_reader *r, float *v)
{
    uint32_t bits;
    an_result res = an_read_u32(r, &bits);
    if (res == AN_OK && v) memcpy(v, &bits, 4);
    return res;
}

AN_API an_result an_read_f64(an_reader *r, double *v)
{
    uint64_t bits;
    an_result res = an_read_u64(r, &bits);
    if (res == AN_OK && v) memcpy(v, &bits, 8);
    return res;
}

AN_API an_result an_read_f32s(an_reader *r, float *v, size_t n)
{
    size_t i;
    an_result res;
    if (!r || (!v && n)) return AN_ERR_INVALID_ARG;
    if ((res = an_reader_need(r, n, 4)) != AN_OK) return res;
    for (i = 0; i < n; i++) an_read_f32(r, &v[i]);
    return AN_OK;
}

AN_API an_result an_read_f64s(an_reader *r, double *v, size_t n)
{
    size_t i;
    an_result res;
    if (!r || (!v && n)) return AN_ERR_INVALID_ARG;
    if ((res = an_reader_need(r, n, 8)) != AN_OK) return res;
    for (i = 0; i < n; i++) an_read_f64(r, &v[i]);
    return AN_OK;
}

AN_API an_result an_read_count(an_reader *r, size_t lo, size_t hi, size_t *v)
{
    uint64_t x;
    an_result res;
    if (!v) return AN_ERR_INVALID_ARG;
    if ((res = an_read_u64(r, &x)) != AN_OK) return res;
    if (x < (uint64_t)lo || x > (uint64_t)hi || x > (uint64_t)SIZE_MAX) return AN_ERR_CORRUPT;
    *v = (size_t)x;
    return AN_OK;
}

AN_API an_result an_read_chunk(an_reader *r, uint32_t *tag, an_reader *payload)
{
    const unsigned char *p;
    size_t length;
    if (!r || !tag || !payload) return AN_ERR_INVALID_ARG;
    if (an_reader_remaining(r) < 12) return AN_ERR_CORRUPT;
    p = r->data + r->pos;
    length = an__get32(p + 4);
    if (length > an_reader_remaining(r) - 12) return AN_ERR_CORRUPT;
    if (!r->verified && an_crc32(0, p, 8 + length) != an__get32(p + 8 + length)) return AN_ERR_CHECKSUM;
    *tag = an__get32(p);
    payload->data = p + 8;
    payload->size = length;
    payload->pos = 0;
    payload->verified = r->verified;
    r->pos += 12 + length;
    return AN_OK;
}

AN_API an_result an_read_expect(an_reader *r, uint32_t tag, an_reader *payload)
{
    uint32_t got;
    an_reader save;
    an_result res;
    if (!r) return AN_ERR_INVALID_ARG;
    save = *r;
    if ((res = an_read_chunk(r, &got, payload)) != AN_OK) return res;
    if (got != tag) { *r = save; return AN_ERR_CORRUPT; }
    return AN_OK;
}

AN_API an_result an_reader_find(const an_reader *r, uint32_t tag, an_reader *payload)
{
    an_reader scan;
    uint32_t got;
    an_result res;
    if (!r || !payload) return AN_ERR_INVALID_ARG;
    scan = *r;
    scan.pos = 0;
    while (!an_reader_at_end(&scan)) {
        if ((res = an_read_chunk(&scan, &got, payload)) != AN_OK) return res;
        if (got == tag) return AN_OK;
    }
    return AN_ERR_CORRUPT;
}

AN_API an_result an_model_open(an_reader *r, const void *data, size_t size)
{
    const unsigned char *p = (const unsigned char *)data;
    an_reader scan, payload;
    uint32_t tag, version;
    an_result res;
    if (!r || (!data && size)) return AN_ERR_INVALID_ARG;
    memset(r, 0, sizeof *r);
    if (size > ANOMALY_MAX_MODEL_BYTES) return AN_ERR_TOO_LARGE;
    if (size && memcmp(p, an__magic, size < 8 ? size : 8) != 0) return AN_ERR_NOT_MODEL;
    if (size < AN_MODEL_HEADER_BYTES) return AN_ERR_TRUNCATED;
    if (an_crc32(0, p, 24) != an__get32(p + 24)) return AN_ERR_CHECKSUM;
    version = an__get32(p + 8);
    if (version == 0) return AN_ERR_CORRUPT;
    if (version > AN_MODEL_VERSION) return AN_ERR_VERSION;
    if (an__get64(p + 16) > (uint64_t)size) return AN_ERR_TRUNCATED;
    if (an__get64(p + 16) != (uint64_t)size) return AN_ERR_CORRUPT;    /* bytes after the end */
    scan.data = p + AN_MODEL_HEADER_BYTES;
    scan.size = size - AN_MODEL_HEADER_BYTES;
    scan.pos = 0;
    scan.verified = 0;
    while (!an_reader_at_end(&scan))                 /* every CRC, once */
        if ((res = an_read_chunk(&scan, &tag, &payload)) != AN_OK) return res;
    scan.pos = 0;
    scan.verified = 1;
    *r = scan;
    return AN_OK;
}

#ifndef ANOMALY_NO_STDIO
AN_API an_result an_file_read(const char *path, const an_allocator *a, void **data, size_t *size)
{
    FILE *f;
    long length;
    void *buf = NULL;
    if (!path || !data || !size) return AN_ERR_INVALID_ARG;
    *data = NULL;
    *size = 0;
    if (!an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    if (!(f = fopen(path, "rb"))) return AN_ERR_IO;
    if (fseek(f, 0, SEEK_END) != 0 || (length = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        (void)fclose(f);   /* read-only: nothing to flush, the error is already AN_ERR_IO */
        return AN_ERR_IO;
    }
    if ((unsigned long)length > (unsigned long)ANOMALY_MAX_MODEL_BYTES) { (void)fclose(f); return AN_ERR_TOO_LARGE; }
    if (length > 0) {
        if (!(buf = an_malloc(a, (size_t)length, AN_ALIGN))) { (void)fclose(f); return AN_ERR_NOMEM; }
        if (fread(buf, 1, (size_t)length, f) != (size_t)length) {
            an_free(a, buf, (size_t)length);
            (void)fclose(f);
            return AN_ERR_IO;
        }
    }
    (void)fclose(f);   /* read-only: every byte was read, a close error loses nothing */
    *data = buf;
    *size = (size_t)length;
    return AN_OK;
}

AN_API an_result an_file_write(const char *path, const void *data, size_t size)
{
    FILE *f;
    int ok;
    if (!path || (!data && size)) return AN_ERR_INVALID_ARG;
    if (!(f = fopen(path, "wb"))) return AN_ERR_IO;
    ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    return ok ? AN_OK : AN_ERR_IO;
}
#endif

/* ==========================================================================
   10  Detectors
   ========================================================================== */

/* Whether all n values are finite; the contract's one input check. */
static int an__all_finite(const float *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!an__finite(x[i])) return 0;
    return 1;
}

/* The input check every detector gets from the contract: n_rows rows of
   n_features values, all finite (NaN and +-Inf are AN_ERR_INPUT). */
static an_result an__detector_input(const an_detector *d, const float *x, size_t n_rows)
{
    size_t n = an__mul(n_rows, d->n_features);
    if (n == SIZE_MAX) return AN_ERR_TOO_LARGE;
    return an__all_finite(x, n) ? AN_OK : AN_ERR_INPUT;
}

AN_API an_result an_detector_fit(an_detector *d, const float *x, size_t n_rows)
{
    an_result r;
    if (!d || !d->vt || !x || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (!d->vt->fit) return AN_ERR_UNSUPPORTED;
    r = an__detector_input(d, x, n_rows);
    if (r == AN_OK) r = d->vt->fit(d, x, n_rows);
    d->fitted = r == AN_OK;
    return r;
}

/* Score and push after the input check: the ensemble, whose own contract
   call checked the rows, calls its members through these. */
static an_result an__detector_score_checked(an_detector *d, const float *x, size_t n_rows, float *scores)
{
    if (!d->vt->score) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    return d->vt->score(d, x, n_rows, scores);
}

static an_result an__detector_push_checked(an_detector *d, const float *row, float *score)
{
    if (!d->vt->push) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    return d->vt->push(d, row, score);
}

AN_API an_result an_detector_score(an_detector *d, const float *x, size_t n_rows, float *scores)
{
    an_result r;
    if (!d || !d->vt || !x || !scores || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (!d->vt->score) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if ((r = an__detector_input(d, x, n_rows)) != AN_OK) return r;
    return d->vt->score(d, x, n_rows, scores);
}

AN_API an_result an_detector_score_batch(an_detector *d, const float *x, size_t n_series, size_t n_rows,
                                         float *scores)
{
    size_t s;
    an_result r;
    if (!d || !d->vt || !x || !scores || n_series == 0 || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (!d->vt->score) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if (an__mul(n_series, n_rows) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if ((r = an__detector_input(d, x, n_series * n_rows)) != AN_OK) return r;
    if (d->vt->score_batch) return d->vt->score_batch(d, x, n_series, n_rows, scores);
    for (s = 0; s < n_series; s++)
        if ((r = d->vt->score(d, x + s * n_rows * d->n_features, n_rows, scores + s * n_rows)) != AN_OK) return r;
    return AN_OK;
}

AN_API an_result an_detector_push(an_detector *d, const float *row, float *score)
{
    if (!d || !d->vt || !row || !score) return AN_ERR_INVALID_ARG;
    if (!d->vt->push) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if (!an__all_finite(row, d->n_features)) return AN_ERR_INPUT;
    return d->vt->push(d, row, score);
}

AN_API an_result an_detector_reset(an_detector *d)
{
    if (!d || !d->vt) return AN_ERR_INVALID_ARG;
    if (!d->vt->reset) return AN_ERR_UNSUPPORTED;
    return d->vt->reset(d);
}

AN_API an_result an_detector_gradient(an_detector *d, const float *x, size_t n_rows, size_t t, float *grad)
{
    if (!d || !d->vt || !x || !grad || n_rows == 0 || t >= n_rows) return AN_ERR_INVALID_ARG;
    if (!d->vt->gradient) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    return d->vt->gradient(d, x, n_rows, t, grad);
}

AN_API an_result an_detector_gradient_batch(an_detector *d, const float *x, size_t n_series, size_t n_rows, size_t t,
                                            float *grad)
{
    size_t s, cells;
    an_result r;
    if (!d || !d->vt || !x || !grad || n_series == 0 || n_rows == 0 || t >= n_rows) return AN_ERR_INVALID_ARG;
    if (!d->vt->gradient) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if (an__mul(an__mul(n_series, n_rows), d->n_features) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (d->vt->gradient_batch) return d->vt->gradient_batch(d, x, n_series, n_rows, t, grad);
    cells = n_rows * d->n_features;
    for (s = 0; s < n_series; s++)
        if ((r = d->vt->gradient(d, x + s * cells, n_rows, t, grad + s * cells)) != AN_OK) return r;
    return AN_OK;
}

AN_API an_result an_detector_expected(an_detector *d, double *expected)
{
    if (!d || !d->vt || !expected) return AN_ERR_INVALID_ARG;
    if (!d->vt->expected) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    return d->vt->expected(d, expected);
}

AN_API an_result an_detector_save(const an_detector *d, an_writer *w)
{
    if (!d || !d->vt || !w) return AN_ERR_INVALID_ARG;
    if (!d->vt->save) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    an_write_begin(w, AN_TAG_DETECTOR);
    an_write_begin(w, AN_TAG_TYPE);
    an_write_u32(w, d->vt->tag);
    an_write_end(w);
    if (w->status == AN_OK) {
        an_result r = d->vt->save(d, w);
        if (r != AN_OK && w->status == AN_OK) w->status = r;
    }
    return an_write_end(w);
}

#define AN__TAG_HYBRID AN_TAG('H', 'Y', 'B', 'R')   /* the ensemble's type (section 11) */
#define AN__TAG_EXOG AN_TAG('E', 'X', 'O', 'G')     /* the inputs stage's type (section 11e) */
#define AN__TAG_EXOG_FIT AN_TAG('X', 'F', 'I', 'T') /* its regression and stream */
static an_result an__ensemble_load(an_reader *payload, const an_detector_vtable *const *types, size_t n_types,
                                   const an_allocator *a, an_detector **out);
static an_result an__exog_load(an_reader *payload, const an_detector_vtable *const *types, size_t n_types,
                               const an_allocator *a, an_detector **out);

/* an_detector_load's work.  The ensemble and the inputs stage are this
   header's own types and are found without the table, which they hand
   to what they hold; `refuse` keeps an ensemble's members from being
   ensembles or stages and a stage's inner from being a stage, so a file
   cannot choose the recursion depth. */
#define AN__REFUSE_HYBRID 1u
#define AN__REFUSE_EXOG   2u
/* The 'DETC' chunk at the cursor: its payload, after the type tag it
   names. */
static an_result an__detector_open(an_reader *r, an_reader *payload, uint32_t *tag)
{
    an_reader type;
    an_result res;
    if ((res = an_read_expect(r, AN_TAG_DETECTOR, payload)) != AN_OK) return res;
    if ((res = an_read_expect(payload, AN_TAG_TYPE, &type)) != AN_OK) return res;
    return an_read_u32(&type, tag);
}

/* A loader's result: the detector it made is fitted. */
static an_result an__detector_loaded(an_result res, an_detector **out)
{
    if (res != AN_OK) { *out = NULL; return res; }
    if (!*out) return AN_ERR_CORRUPT;
    (*out)->fitted = 1;
    return AN_OK;
}

static an_result an__detector_load_as(const an_detector_vtable *type, an_reader *payload, const an_allocator *a,
                                      an_detector **out)
{
    if (!type->load) return AN_ERR_UNSUPPORTED;
    return an__detector_loaded(type->load(payload, a, out), out);
}

static an_result an__detector_load(an_reader *r, const an_detector_vtable *const *types, size_t n_types,
                                   const an_allocator *a, unsigned refuse, an_detector **out)
{
    an_reader payload;
    uint32_t tag;
    size_t i;
    an_result res;
    if ((res = an__detector_open(r, &payload, &tag)) != AN_OK) return res;
    if (tag == AN__TAG_HYBRID) {
        if (refuse & AN__REFUSE_HYBRID) return AN_ERR_CORRUPT;
        return an__detector_loaded(an__ensemble_load(&payload, types, n_types, a, out), out);
    }
    if (tag == AN__TAG_EXOG) {
        if (refuse & AN__REFUSE_EXOG) return AN_ERR_CORRUPT;
        return an__detector_loaded(an__exog_load(&payload, types, n_types, a, out), out);
    }
    for (i = 0; i < n_types; i++)
        if (types[i] && types[i]->tag == tag) break;
    if (i == n_types) return AN_ERR_UNSUPPORTED;     /* a type this program did not link */
    return an__detector_load_as(types[i], &payload, a, out);
}

AN_API an_result an_detector_load(an_reader *r, const an_detector_vtable *const *types, size_t n_types,
                                  const an_allocator *a, an_detector **out)
{
    an_allocator alloc;
    an_result res;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!r || (!types && n_types)) return AN_ERR_INVALID_ARG;
    if ((res = an__allocator_copy(&alloc, a)) != AN_OK) return res;
    return an__detector_load(r, types, n_types, &alloc, 0u, out);
}

AN_API an_result an_detector_load_one(an_reader *r, const an_detector_vtable *type, const an_allocator *a,
                                      an_detector **out)
{
    an_allocator alloc;
    an_reader payload;
    uint32_t tag;
    an_result res;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!r || !type) return AN_ERR_INVALID_ARG;
    if ((res = an__allocator_copy(&alloc, a)) != AN_OK) return res;
    if ((res = an__detector_open(r, &payload, &tag)) != AN_OK) return res;
    if (tag != type->tag) return AN_ERR_UNSUPPORTED;
    return an__detector_load_as(type, &payload, &alloc, out);
}

AN_API void an_detector_destroy(an_detector *d)
{
    if (d && d->vt && d->vt->destroy) d->vt->destroy(d);
}

/* ==========================================================================
   11  Pipeline: events, alarms, onsets, calibration, ensemble, inputs
   ==========================================================================
   11a  Alarms.  The batch form looks back into the arrays; the streaming
   form keeps a ring of flags.  They share only the definitions, which is what the
   tests compare. */

AN_API an_alarm_config an_alarm_config_init(size_t k, size_t window)
{
    an_alarm_config c;
    memset(&c, 0, sizeof c);
    c.k = k;
    c.window = window;
    return c;
}

static int an__alarm_config_ok(const an_alarm_config *c)
{
    return c && c->k >= 1 && c->window >= c->k;
}

/* A new event at flagged point i, excess d above its threshold. */
static void an__event_open(an_event *e, size_t i, double d)
{
    e->start = e->end = e->peak = i;
    e->severity = d;
    e->points = 1;
    e->alarms = 0;
}

static void an__event_extend(an_event *e, size_t i, double d)
{
    e->end = i;
    e->points++;
    if (d > e->severity) { e->severity = d; e->peak = i; }
}

/* The series of an alarm batch: double or float (the other is NULL). */
typedef struct an__series { const double *d; const float *f; } an__series;

AN__INLINE double an__at(an__series s, size_t i) { return s.d ? s.d[i] : (double)s.f[i]; }

static an_result an__alarm_batch(const an_alarm_config *c, an__series score, an__series threshold, size_t n,
                                 unsigned char *alarm, an_event *events, size_t capacity, size_t *count)
{
    size_t i, in_window = 0, last_alarm = 0, m = 0;
    int alarmed = 0, open = 0;
    an_event e;
    if (!count) return AN_ERR_INVALID_ARG;
    *count = 0;
    if (!an__alarm_config_ok(c) || (!score.d && !score.f) || (!threshold.d && !threshold.f) || (capacity && !events))
        return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__finite(an__at(score, i)) || !an__finite(an__at(threshold, i))) return AN_ERR_INPUT;
    memset(&e, 0, sizeof e);
    for (i = 0; i < n; i++) {
        double s = an__at(score, i), th = an__at(threshold, i);
        int flag = s > th, raise;
        /* flags among points i - window + 1 .. i */
        in_window += (size_t)flag;
        if (i >= c->window && an__at(score, i - c->window) > an__at(threshold, i - c->window)) in_window--;
        raise = flag && in_window >= c->k && (!alarmed || i - last_alarm > c->suppress);
        if (raise) { alarmed = 1; last_alarm = i; }
        if (alarm) alarm[i] = (unsigned char)raise;
        if (!flag) continue;
        if (open && i - e.end - 1 > c->max_gap) {
            if (m < capacity) events[m] = e;
            m++;
            open = 0;
        }
        if (open) an__event_extend(&e, i, s - th);
        else { an__event_open(&e, i, s - th); open = 1; }
        e.alarms += (size_t)raise;
    }
    if (open) {
        if (m < capacity) events[m] = e;
        m++;
    }
    *count = m;
    return m > capacity ? AN_ERR_SHAPE : AN_OK;
}

AN_API an_result an_alarm_batch(const an_alarm_config *config, const double *score, const double *threshold,
                                size_t n, unsigned char *alarm, an_event *events, size_t capacity,
                                size_t *count)
{
    an__series s, th;
    s.d = score; s.f = NULL;
    th.d = threshold; th.f = NULL;
    return an__alarm_batch(config, s, th, n, alarm, events, capacity, count);
}

AN_API an_result an_alarm_batch_f(const an_alarm_config *config, const float *score, const float *threshold,
                                  size_t n, unsigned char *alarm, an_event *events, size_t capacity,
                                  size_t *count)
{
    an__series s, th;
    s.d = NULL; s.f = score;
    th.d = NULL; th.f = threshold;
    return an__alarm_batch(config, s, th, n, alarm, events, capacity, count);
}

AN_API an_result an_alarm_heap_size(const an_alarm_config *config, size_t *bytes)
{
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (!an__alarm_config_ok(config)) return AN_ERR_INVALID_ARG;
    *bytes = config->window;
    return AN_OK;
}

AN_API an_result an_alarm_init_preallocated(an_alarm *s, const an_alarm_config *config, void *heap)
{
    if (!s || !heap || an__misaligned(heap) || !an__alarm_config_ok(config)) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    s->config = *config;
    s->ring = (unsigned char *)heap;
    memset(s->ring, 0, config->window);
    s->heap = heap;
    return AN_OK;
}

AN_API an_result an_alarm_init(an_alarm *s, const an_alarm_config *config, const an_allocator *a)
{
    an_allocator keep;
    void *heap;
    an_result r;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if ((r = an__allocator_copy(&keep, a)) != AN_OK) return r;
    if (!an__alarm_config_ok(config)) return AN_ERR_INVALID_ARG;
    if (!(heap = an_malloc(&keep, config->window, AN_ALIGN))) return AN_ERR_NOMEM;
    an_alarm_init_preallocated(s, config, heap);
    s->owned_bytes = config->window;
    s->alloc = keep;
    return AN_OK;
}

AN_API void an_alarm_uninit(an_alarm *s)
{
    if (!s) return;
    if (s->owned_bytes) an_free(&s->alloc, s->heap, s->owned_bytes);
    memset(s, 0, sizeof *s);
}

AN_API an_result an_alarm_push(an_alarm *s, double score, double threshold, int *alarm, an_event *event,
                               int *closed)
{
    size_t slot, i;
    int flag, raise;
    if (!s || !s->ring || !alarm || !event || !closed) return AN_ERR_INVALID_ARG;
    *alarm = *closed = 0;
    if (!an__finite(score) || !an__finite(threshold)) return AN_ERR_INPUT;
    i = s->t++;
    flag = score > threshold;
    slot = i % s->config.window;
    s->in_window += (size_t)flag;
    s->in_window -= s->ring[slot];
    s->ring[slot] = (unsigned char)flag;
    raise = flag && s->in_window >= s->config.k && (!s->alarmed || i - s->last_alarm > s->config.suppress);
    if (raise) { s->alarmed = 1; s->last_alarm = i; }
    *alarm = raise;
    /* the open event ends once more than max_gap unflagged points follow it */
    if (s->open && i - s->current.end - (size_t)flag > s->config.max_gap) {
        *event = s->current;
        *closed = 1;
        s->open = 0;
    }
    if (flag) {
        if (s->open) an__event_extend(&s->current, i, score - threshold);
        else { an__event_open(&s->current, i, score - threshold); s->open = 1; }
        s->current.alarms += (size_t)raise;
    }
    return AN_OK;
}

AN_API int an_alarm_flush(an_alarm *s, an_event *event)
{
    if (!s || !event || !s->open) return 0;
    *event = s->current;
    s->open = 0;
    return 1;
}

/* ---- onsets -------------------------------------------------------------- */

static int an__onset_score_ok(double v) { return an__finite(v) && v >= 0.0; }

AN_API an_result an_onset_batch(size_t window, const double *score, size_t n, double *onset)
{
    size_t i, j;
    if (window == 0 || (n && (!score || !onset))) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__onset_score_ok(score[i])) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) {
        double top = -1.0;
        for (j = i > window ? i - window : 0; j < i; j++)
            if (score[j] > top) top = score[j];
        onset[i] = score[i] > top ? score[i] : 0.0;
    }
    return AN_OK;
}

AN_API an_result an_onset_batch_f(size_t window, const float *score, size_t n, float *onset)
{
    size_t i, j;
    if (window == 0 || (n && (!score || !onset))) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++)
        if (!an__onset_score_ok(score[i])) return AN_ERR_INPUT;
    for (i = 0; i < n; i++) {
        float top = -1.0f;
        for (j = i > window ? i - window : 0; j < i; j++)
            if (score[j] > top) top = score[j];
        onset[i] = score[i] > top ? score[i] : 0.0f;
    }
    return AN_OK;
}

AN_API an_result an_onset_heap_size(size_t window, size_t *bytes)
{
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (window == 0) return AN_ERR_INVALID_ARG;
    if ((*bytes = an__mul(window, sizeof(double))) == SIZE_MAX) {
        *bytes = 0;
        return AN_ERR_TOO_LARGE;
    }
    return AN_OK;
}

AN_API an_result an_onset_init_preallocated(an_onset *s, size_t window, void *heap)
{
    size_t bytes;
    an_result r;
    if (!s || !heap || an__misaligned(heap)) return AN_ERR_INVALID_ARG;
    if ((r = an_onset_heap_size(window, &bytes)) != AN_OK) return r;
    memset(s, 0, sizeof *s);
    s->window = window;
    s->ring = (double *)heap;
    s->heap = heap;
    return AN_OK;
}

AN_API an_result an_onset_init(an_onset *s, size_t window, const an_allocator *a)
{
    an_allocator keep;
    size_t bytes;
    void *heap;
    an_result r;
    if (!s) return AN_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    if ((r = an__allocator_copy(&keep, a)) != AN_OK) return r;
    if ((r = an_onset_heap_size(window, &bytes)) != AN_OK) return r;
    if (!(heap = an_malloc(&keep, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_onset_init_preallocated(s, window, heap);
    s->owned_bytes = bytes;
    s->alloc = keep;
    return AN_OK;
}

AN_API void an_onset_uninit(an_onset *s)
{
    if (!s) return;
    if (s->owned_bytes) an_free(&s->alloc, s->heap, s->owned_bytes);
    memset(s, 0, sizeof *s);
}

AN_API an_result an_onset_push(an_onset *s, double score, double *onset)
{
    size_t j, held;
    double top = -1.0;
    if (!s || !s->ring || !onset) return AN_ERR_INVALID_ARG;
    *onset = 0.0;
    if (!an__onset_score_ok(score)) return AN_ERR_INPUT;
    held = s->t < s->window ? s->t : s->window;
    for (j = 0; j < held; j++)
        if (s->ring[j] > top) top = s->ring[j];
    *onset = score > top ? score : 0.0;
    s->ring[s->t % s->window] = score;
    s->t++;
    return AN_OK;
}

/* ---- 11c calibration and the ensemble ------------------------------------ */

#define AN__CAL_FROM 18                           /* the bulk's tail: from the 90% knot ...      */
#define AN__CAL_TO   25                           /* ... fitted through the knots to 99.1%       */

/* The rows past the 90% knot needed to estimate the tail's shape: with
   fewer (under 500 scores) a shape read off a dozen rows is noise (its
   standard error is about (1 + shape) / sqrt(rows)), so the tail is
   exponential. */
#define AN__CAL_SHAPE_ROWS 50

/* The GPD tail of the knots AN__CAL_FROM..AN__CAL_TO (fewer for few
   scores, below) of n scores: the
   shape (a grid of 0, 0.02, ..., 1; 0 alone under AN__CAL_SHAPE_ROWS)
   and the scale (2^(j/8) times the exponential's through the two end
   knots, |j| <= 48) with the least squares between the model's log tail
   probability and the knots'. */
static void an__calibration_tail(an_calibration *c, size_t n)
{
    size_t to = AN__CAL_TO;
    double u = c->knot[AN__CAL_FROM], lu = c->level[AN__CAL_FROM], span;
    double base, best = HUGE_VAL;
    int g, j, shapes = (1.0 - lu) * (double)n >= AN__CAL_SHAPE_ROWS ? 50 : 0;
    /* the last knot fitted leaves two rows above it, so an outlier among
       few scores does not set its own tail (under 227 scores the 99.1%
       knot lies between the top two); not under the 96.5% knot */
    while (to > AN__CAL_FROM + 3 && c->level[to] > 1.0 - 2.5 / (double)n) to--;
    if (c->level[to] > 1.0 - 2.5 / (double)n) to = AN__CAL_TO;
    span = c->knot[to] - u;
    c->shape = 0.0;
    c->tail = 0.0;                                 /* knots of one value: no tail (see 11c) */
    if (!(span > 0.0)) return;
    base = span / log((1.0 - lu) / (1.0 - c->level[to]));
    c->tail = base;
    for (g = 0; g <= shapes; g++)
        for (j = -48; j <= 48; j++) {
            double gamma = 0.02 * (double)g, sigma = base * pow(2.0, (double)j / 8.0), err = 0.0;
            size_t k;
            for (k = AN__CAL_FROM + 1; k <= to; k++) {
                double y = (c->knot[k] - u) / sigma, lt = log((1.0 - c->level[k]) / (1.0 - lu));
                double lm = g ? -log1p(gamma * y) / gamma : -y;
                err += (lt - lm) * (lt - lm);
            }
            if (err < best) best = err, c->shape = gamma, c->tail = sigma;
        }
}

/* The bulk tail's likelihood of a score past the knot AN__CAL_FROM. */
static double an__calibration_model(const an_calibration *c, double score)
{
    double y = (score - c->knot[AN__CAL_FROM]) / c->tail;
    double t = c->shape > 0.0 ? exp(-log1p(c->shape * y) / c->shape) : exp(-y);
    return 1.0 - (1.0 - c->level[AN__CAL_FROM]) * t;
}

AN_API an_result an_calibration_fit(an_calibration *c, const float *scores, size_t n, const an_allocator *a)
{
    double *v;
    size_t i, k, bytes;
    an_result r = AN_OK;
    if (!c || !scores || !an__allocator_ok(a)) return AN_ERR_INVALID_ARG;
    memset(c, 0, sizeof *c);
    if (n < 2) return AN_ERR_TOO_SHORT;
    bytes = an__mul(an__mul(2, n), sizeof(double));
    if (!(v = (double *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        if (!an__finite(scores[i])) { r = AN_ERR_INPUT; goto done; }
        v[i] = scores[i];
    }
    {                          /* median and 1.4826 MAD, floored as the robust detectors do */
        double med = an__quantile_d(v, n, 0.5), floor_ = 1e-9 * (1.0 + fabs(med));
        for (i = 0; i < n; i++) v[n + i] = fabs(v[i] - med);
        c->median = med;
        c->scale = 1.482602218505602 * an__quantile_d(v + n, n, 0.5);
        if (!(c->scale > floor_)) c->scale = floor_;
    }
    for (k = 0; k < AN_CALIBRATION_KNOTS; k++) {
        double q = k <= 16 ? 0.05 * (double)k : k < AN_CALIBRATION_KNOTS - 1 ? 1.0 - 0.2 * pow(2.0, -0.5 * (double)(k - 16)) : 1.0;
        c->knot[k] = an__quantile_d(v, n, q);
        /* the quantile at q sits at rank q (n - 1); its CDF level counts
           half a point at each end, so levels stay inside (0, 1) */
        c->level[k] = (q * (double)(n - 1) + 0.5) / (double)n;
    }
    an__calibration_tail(c, n);
done:
    an_free(a, v, bytes);
    return r;
}

AN_API double an_calibration_z(const an_calibration *c, double score)
{
    double z = (score - c->median) / c->scale;
    return z > AN__SCORE_MAX ? AN__SCORE_MAX : z < -AN__SCORE_MAX ? -AN__SCORE_MAX : z;
}

AN_API double an_calibration_likelihood(const an_calibration *c, double score)
{
    const double *x = c->knot, *p = c->level;
    size_t lo = 0, hi = AN_CALIBRATION_KNOTS - 1;
    double model;
    if (score != score) return 0.0;
    if (score < x[0]) return c->tail > 0.0 ? p[0] * exp((score - x[0]) / c->tail) : 0.0;
    if (score > x[AN__CAL_FROM]) {                 /* the bulk's tail, or the rank where that is higher */
        model = c->tail > 0.0 ? an__calibration_model(c, score) : 0.0;
        if (score > x[hi]) {                       /* past the top: the ranks' own tail (above), or the */
            double top = x[hi], p99 = x[AN__CAL_TO];   /* bulk's; the bulk's scale where the top is too near */
            double q = 1.0 - p[hi], expected = 2.0 * q / (1.0 + 2.0 * q), q99 = 1.0 - p[AN__CAL_TO];
            double scale = top > p99 && q99 > expected ? (top - p99) / log(q99 / expected) : c->scale;
            double period = 1.0 / q + (exp((score - top) / scale) - 1.0) / expected;
            double rank = 1.0 - 1.0 / period;
            return model > rank ? model : rank;
        }
    } else {
        model = 0.0;
    }
    while (hi - lo > 1) {                          /* x[lo] <= score < x[hi] */
        size_t mid = (lo + hi) / 2;
        if (x[mid] <= score) lo = mid; else hi = mid;
    }
    if (score == x[lo] || score == x[hi]) {        /* on a knot: the lowest of its ties, so */
        if (score == x[hi]) lo = hi;               /* a value training saw often is not rare */
        while (lo > 0 && x[lo - 1] == score) lo--;
        return p[lo] > model ? p[lo] : model;
    }
    {
        double rank = p[lo] + (p[hi] - p[lo]) * (score - x[lo]) / (x[hi] - x[lo]);
        return rank > model ? rank : model;
    }
}

/* ---- the hybrid ensemble ------------------------------------------------- */

typedef struct an__member {
    an_detector *d;
    double weight;
    an_member_role role;
    int prefitted;               /* fitted when added: fit leaves it alone */
    int healthy;                 /* fitted and calibrated                  */
    an_calibration cal;
    double sustain_median;       /* the training windows' mean surprise: median ... */
    double sustain_scale;        /* ... and floored 1.4826 MAD, 0 = no sustained vote */
    double sustain_top;          /* the largest (normal_training), else 0  */
    float ring[AN_ENSEMBLE_MAX_SUSTAIN];   /* surprises of the last pushes     */
    size_t ring_head, ring_filled;         /* the next slot; answered rows held */
} an__member;

typedef struct an__ensemble {
    an_detector base;
    an_allocator alloc;
    an_ensemble_config config;
    size_t n_members;
    an__member member[AN_ENSEMBLE_MAX_MEMBERS];
    float last[AN_ENSEMBLE_MAX_MEMBERS];   /* raw scores of the last push, NaN = absent */
    float *batch;                          /* (members, capacity) raw scores of the last batch */
    size_t capacity, batch_rows;
    double z_threshold;                    /* the threshold on a normal variable's z scale */
    double *expected;                      /* (2F) a member's expectation, the weights; after the struct */
    double *stuck;                         /* (3F) each feature's need (0 = not judged), last value, run */
    double *quiet;                         /* (F, 3 + w) each feature's need (0 = not judged), last two
                                              values, then its last w |second differences| (a ring) */
    size_t quiet_seen, quiet_head, quiet_filled;   /* rows pushed (to 2), the ring's next slot and fill */
} an__ensemble;

/* The doubles after the struct: expected (2F), then stuck (3F). */
#define AN__ENSEMBLE_TAIL 5

/* The batch buffer: each member's raw scores, then each row's stuck run
   over its need, then its quiet measure. */
static size_t an__ensemble_batch_bytes(size_t n_members, size_t rows)
{
    return an__mul(an__mul(n_members + 2, rows), sizeof(float));
}

/* The quiet rule's block: (F, 3 + w) doubles. */
static size_t an__quiet_bytes(size_t n_features, size_t w)
{
    return w ? an__mul(an__mul(n_features, 3 + w), sizeof(double)) : 0;
}

AN_API an_ensemble_config an_ensemble_config_init(void)
{
    an_ensemble_config c;
    c.threshold = 0.999;
    c.min_agree = 0.5;
    c.pool = AN_POOL_MEAN;
    c.sustain_rows = 0;
    c.sustain_z = 8.0;
    c.flatline_rows = 0;
    c.quiet_rows = 0;
    c.normal_training = 0;
    return c;
}

static int an__is_ensemble(const an_detector *d) { return d && d->vt == an_ensemble_type(); }

AN_API an_result an_ensemble_create(const an_ensemble_config *config, size_t n_features, const an_allocator *a,
                                    an_detector **out)
{
    an_allocator alloc;
    an__ensemble *e;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!config || n_features == 0 || !(config->threshold > 0.0 && config->threshold < 1.0) ||
        !(config->min_agree > 0.0 && config->min_agree <= 1.0) ||
        (config->pool != AN_POOL_MEAN && config->pool != AN_POOL_SURPRISE) || config->sustain_rows == 1 ||
        config->sustain_rows > AN_ENSEMBLE_MAX_SUSTAIN || !(config->sustain_z > 0.0) || !an__finite(config->sustain_z) ||
        config->flatline_rows > AN_ENSEMBLE_MAX_FLATLINE || config->quiet_rows == 1 || config->quiet_rows == 2 ||
        config->quiet_rows > AN_ENSEMBLE_MAX_QUIET || (config->normal_training != 0 && config->normal_training != 1))
        return AN_ERR_INVALID_ARG;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if (an__quiet_bytes(n_features, config->quiet_rows) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (n_features > (SIZE_MAX - sizeof *e) / (AN__ENSEMBLE_TAIL * sizeof(double))) return AN_ERR_TOO_LARGE;
    if (!(e = (an__ensemble *)an_malloc(&alloc, sizeof *e + AN__ENSEMBLE_TAIL * n_features * sizeof(double), AN_ALIGN)))
        return AN_ERR_NOMEM;
    memset(e, 0, sizeof *e + AN__ENSEMBLE_TAIL * n_features * sizeof(double));
    e->expected = (double *)(e + 1);
    e->stuck = e->expected + 2 * n_features;
    if (config->quiet_rows) {
        size_t bytes = an__quiet_bytes(n_features, config->quiet_rows);
        if (!(e->quiet = (double *)an_malloc(&alloc, bytes, AN_ALIGN))) {
            an_free(&alloc, e, sizeof *e + AN__ENSEMBLE_TAIL * n_features * sizeof(double));
            return AN_ERR_NOMEM;
        }
        memset(e->quiet, 0, bytes);
    }
    e->base.vt = an_ensemble_type();
    e->base.n_features = n_features;
    e->alloc = alloc;
    e->config = *config;
    {                                      /* Phi^-1(threshold) by bisection */
        double lo = -10.0, hi = 10.0;
        int it;
        for (it = 0; it < 80; it++) {
            double mid = 0.5 * (lo + hi);
            if (0.5 * erfc(-mid / sqrt(2.0)) < config->threshold) lo = mid; else hi = mid;
        }
        e->z_threshold = 0.5 * (lo + hi);
    }
    *out = &e->base;
    return AN_OK;
}

AN_API an_result an_ensemble_add(an_detector *ensemble, an_detector *member, double weight, an_member_role role)
{
    an__ensemble *e = (an__ensemble *)ensemble;
    an__member *m;
    if (!member) return AN_ERR_INVALID_ARG;
    if (!an__is_ensemble(ensemble) || an__is_ensemble(member) || !(weight > 0.0) || !an__finite(weight) ||
        (role != AN_MEMBER_OPTIONAL && role != AN_MEMBER_BASELINE) || member->n_features != ensemble->n_features ||
        e->n_members == AN_ENSEMBLE_MAX_MEMBERS) {
        an_detector_destroy(member);
        return AN_ERR_INVALID_ARG;
    }
    /* a new member (say, an LSTM trained after the fact) needs a new fit:
       the batch buffer was sized for the old members */
    an_free(&e->alloc, e->batch, an__ensemble_batch_bytes(e->n_members, e->capacity));
    e->batch = NULL;
    e->capacity = e->batch_rows = 0;
    m = &e->member[e->n_members++];
    memset(m, 0, sizeof *m);
    m->d = member;
    m->weight = weight;
    m->role = role;
    m->prefitted = member->fitted;
    e->last[e->n_members - 1] = (float)NAN;
    ensemble->fitted = 0;
    return AN_OK;
}

AN_API an_result an_ensemble_reserve(an_detector *ensemble, size_t n_rows)
{
    an__ensemble *e = (an__ensemble *)ensemble;
    size_t bytes;
    float *grown;
    if (!an__is_ensemble(ensemble) || e->n_members == 0) return AN_ERR_INVALID_ARG;
    if (n_rows <= e->capacity) return AN_OK;
    bytes = an__ensemble_batch_bytes(e->n_members, n_rows);
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(grown = (float *)an_malloc(&e->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_free(&e->alloc, e->batch, an__ensemble_batch_bytes(e->n_members, e->capacity));
    e->batch = grown;
    e->capacity = n_rows;
    e->batch_rows = 0;
    return AN_OK;
}

AN_API an_result an_ensemble_member(const an_detector *ensemble, size_t index, an_detector **member)
{
    const an__ensemble *e = (const an__ensemble *)ensemble;
    if (member) *member = NULL;
    if (!an__is_ensemble(ensemble) || !member || index >= e->n_members) return AN_ERR_INVALID_ARG;
    *member = e->member[index].d;
    return AN_OK;
}

/* ---- the sustained vote ---- */

/* A likelihood's surprise -ln(1 - p), at most the row vote's, rounded to
   float as the ring holds it. */
static float an__surprise(const an__ensemble *e, double p)
{
    return (float)(p < e->config.threshold ? -log1p(-p) : -log1p(-e->config.threshold));
}

#ifndef ANOMALY_NO_TRAINING
/* The median and scale of the mean surprise over every full window of the
   member's training scores raw[0..n) (see the header), and with
   normal_training its largest, or scale 0 for fewer than 4 w windows.
   Surprises are summed oldest first, as the push and batch paths sum
   them, so a window's mean is the same number on every path. */
static an_result an__sustain_fit(const an__ensemble *e, an__member *m, const float *raw, size_t n)
{
    size_t w = e->config.sustain_rows, windows, i, j, bytes;
    double *s, *mean, med, mad, iqr, floor_;
    m->sustain_median = m->sustain_scale = m->sustain_top = 0.0;
    if (w == 0 || n < 5 * w - 1) return AN_OK;              /* n - w + 1 >= 4 w windows */
    windows = n - w + 1;
    bytes = an__mul(an__mul(2, n), sizeof(double));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(s = (double *)an_malloc(&e->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    mean = s + n;
    for (i = 0; i < n; i++) s[i] = an__surprise(e, an_calibration_likelihood(&m->cal, raw[i]));
    for (i = 0; i < windows; i++) {
        double sum = 0.0;
        for (j = 0; j < w; j++) sum += s[i + j];
        mean[i] = sum / (double)w;
        if (e->config.normal_training && mean[i] > m->sustain_top) m->sustain_top = mean[i];
    }
    med = an__quantile_d(mean, windows, 0.5);
    for (i = 0; i < windows; i++) s[i] = fabs(mean[i] - med);
    mad = 1.482602218505602 * an__quantile_d(s, windows, 0.5);
    iqr = (an__quantile_d(mean, windows, 0.75) - an__quantile_d(mean, windows, 0.25)) / 1.349;
    if (4.0 * mad < iqr) mad = iqr;             /* most windows at one value: the quartiles' spread */
    floor_ = 1.0 / sqrt((double)w);
    m->sustain_median = med;
    m->sustain_scale = mad > floor_ ? mad : floor_;
    an_free(&e->alloc, s, bytes);
    return AN_OK;
}
#endif

/* Each member's mean surprise over its last sustain_rows pushes, NaN
   where the window is not full (or the vote is off). */
static void an__sustain_ring_means(const an__ensemble *e, double *mean)
{
    size_t w = e->config.sustain_rows, k, j;
    for (k = 0; k < e->n_members; k++) {
        const an__member *m = &e->member[k];
        double sum = 0.0;
        mean[k] = NAN;
        if (w == 0 || m->ring_filled < w) continue;
        for (j = 0; j < w; j++) sum += m->ring[(m->ring_head + j) % w];   /* oldest first */
        mean[k] = sum / (double)w;
    }
}

/* The same for the window ending at row `row` of the last batch: NaN
   unless the member answered each of its rows. */
static void an__sustain_batch_means(const an__ensemble *e, size_t row, double *mean)
{
    size_t w = e->config.sustain_rows, k, j;
    for (k = 0; k < e->n_members; k++) {
        const an__member *m = &e->member[k];
        const float *raw = e->batch + k * e->capacity;
        double sum = 0.0;
        mean[k] = NAN;
        if (w == 0 || row + 1 < w || !m->healthy) continue;
        for (j = row + 1 - w; j <= row; j++) {
            if (!an__finite(raw[j])) break;
            sum += an__surprise(e, an_calibration_likelihood(&m->cal, raw[j]));
        }
        if (j > row) mean[k] = sum / (double)w;
    }
}

static void an__sustain_clear(an__ensemble *e)
{
    size_t k;
    for (k = 0; k < e->n_members; k++) e->member[k].ring_head = e->member[k].ring_filled = 0;
}

/* ---- stuck runs ---- */

static void an__stuck_clear(an__ensemble *e)
{
    size_t f;
    for (f = 0; f < e->base.n_features; f++) {
        e->stuck[3 * f + 1] = NAN;             /* no value yet: the next one starts a run */
        e->stuck[3 * f + 2] = 0.0;
    }
}

#ifndef ANOMALY_NO_TRAINING
/* Whether feature f of x (n >= 2, F) repeats itself on at least half the
   rows of most of its 16 blocks (a counter, a command, a constant): the
   stuck and quiet rules leave such a feature alone. */
static int an__repeats_heavily(const float *x, size_t n, size_t F, size_t f)
{
    size_t block = n / 16 > 2 ? n / 16 : 2, blocks = n / block, heavy = 0, b, t;
    for (b = 0; b < blocks; b++) {
        size_t same = 0;
        for (t = b * block + 1; t < (b + 1) * block; t++) same += x[t * F + f] == x[(t - 1) * F + f];
        heavy += 2 * same >= block - 1;
    }
    return 2 * heavy > blocks;
}

/* Each feature's need from the training rows x (n, F), as described with
   the config: 0 where the feature is not judged. */
static an_result an__stuck_fit(an__ensemble *e, const float *x, size_t n)
{
    size_t F = e->base.n_features, f, t, bytes;
    double *runs;                                        /* run lengths, exact as doubles */
    for (f = 0; f < F; f++) e->stuck[3 * f] = 0.0;
    an__stuck_clear(e);
    if (e->config.flatline_rows == 0 || n < 2) return AN_OK;
    if ((bytes = an__mul(n, sizeof(double))) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(runs = (double *)an_malloc(&e->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (f = 0; f < F; f++) {
        size_t count = 0, run = 0, skip, top, k;
        double longest = 0.0, held = 0.0;
        for (t = 1; t <= n; t++) {
            if (t < n && x[t * F + f] == x[(t - 1) * F + f]) { run++; continue; }
            if (run) runs[count++] = (double)run;
            run = 0;
        }
        if (an__repeats_heavily(x, n, F, f)) continue;
        skip = count / 100 > 5 ? count / 100 : 5;
        top = count < skip ? count : skip;
        if (count > top) longest = an__select_d(runs, count, count - 1 - top);   /* the top-th longest, from 0;
                                                                                  the top longer ones after it */
        for (k = 0; k < top; k++) {                      /* the longest, then more while they hold a quarter */
            double run_k = an__select_d(runs + count - top, top, top - 1 - k);
            if (k > 0 && held + run_k + 1.0 > 0.25 * (double)n) { longest = run_k; break; }
            held += run_k + 1.0;
        }
        e->stuck[3 * f] = 4.0 * longest > (double)e->config.flatline_rows ? 4.0 * longest
                                                                          : (double)e->config.flatline_rows;
    }
    an_free(&e->alloc, runs, bytes);
    return AN_OK;
}
#endif

/* The longest run over its need after the pushes so far. */
static double an__stuck_now(const an__ensemble *e)
{
    double worst = 0.0;
    size_t f;
    for (f = 0; f < e->base.n_features; f++)
        if (e->stuck[3 * f] > 0.0 && (float)(e->stuck[3 * f + 2] / e->stuck[3 * f]) > worst)
            worst = (float)(e->stuck[3 * f + 2] / e->stuck[3 * f]);
    return worst;
}

/* The same after one more pushed row. */
static double an__stuck_push(an__ensemble *e, const float *row)
{
    double *s;
    size_t f;
    for (f = 0, s = e->stuck; f < e->base.n_features; f++, s += 3) {
        if (s[0] == 0.0) continue;
        s[2] = (double)row[f] == s[1] ? s[2] + 1.0 : 0.0;
        s[1] = (double)row[f];
    }
    return an__stuck_now(e);
}

/* The same for each row of a batch x (n, F), into out[n]; a batch starts
   its own runs. */
static void an__stuck_batch(const an__ensemble *e, const float *x, size_t n, float *out)
{
    size_t F = e->base.n_features, f, i;
    for (i = 0; i < n; i++) out[i] = 0.0f;
    for (f = 0; f < F; f++) {
        double need = e->stuck[3 * f], run = 0.0;
        if (need == 0.0) continue;
        for (i = 1; i < n; i++) {
            run = x[i * F + f] == x[(i - 1) * F + f] ? run + 1.0 : 0.0;
            if ((float)(run / need) > out[i]) out[i] = (float)(run / need);
        }
    }
}

/* ---- the quiet rule ---- */

static void an__quiet_clear(an__ensemble *e)
{
    e->quiet_seen = e->quiet_head = e->quiet_filled = 0;
}

/* need / mean, the need's share of a window's mean |second difference|
   (huge for a window of none), as a float so push and batch agree. */
static float an__quiet_ratio(double need, double sum, size_t w)
{
    double mean = sum / (double)w;
    return mean > need * 1e-9 ? (float)(need / mean) : 1e9f;
}

/* |a - 2 b + c|, 0 within rounding of |a| + 2 |b| + |c| (AN__ROUNDING):
   an exact ramp's second differences are its rounding, which grows with
   the values, so its first rows looked quiet beside its last (a ramp of
   5,000 rows flagged 389 as a variance collapse). */
static double an__second_difference(double a, double b, double c)
{
    double d = fabs(a - 2.0 * b + c);
    return d <= AN__ROUNDING * (fabs(a) + 2.0 * fabs(b) + fabs(c)) ? 0.0 : d;
}

/* Sum of |x[k] - 2 x[k-1] + x[k-2]| of feature f over the w second
   differences ending at row t >= w + 1 of x (., F), oldest first. */
static double an__quiet_window_sum(const float *x, size_t F, size_t f, size_t t, size_t w)
{
    double sum = 0.0;
    size_t k;
    for (k = t + 1 - w; k <= t; k++)
        sum += an__second_difference((double)x[k * F + f], (double)x[(k - 1) * F + f], (double)x[(k - 2) * F + f]);
    return sum;
}

#ifndef ANOMALY_NO_TRAINING
/* Each feature's need from the training rows x (n, F), as described with
   the config: 0 where the feature is not judged. */
static an_result an__quiet_fit(an__ensemble *e, const float *x, size_t n)
{
    size_t F = e->base.n_features, w = e->config.quiet_rows, f, t, m, bytes;
    double *mean;
    an__quiet_clear(e);
    if (!w) return AN_OK;
    for (f = 0; f < F; f++) e->quiet[f * (3 + w)] = 0.0;
    if (n < w + 2 || (m = n - w - 1) < 4 * w) return AN_OK;
    if ((bytes = an__mul(m, sizeof(double))) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(mean = (double *)an_malloc(&e->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (f = 0; f < F; f++) {
        if (an__repeats_heavily(x, n, F, f)) continue;
        for (t = w + 1; t < n; t++) mean[t - w - 1] = an__quiet_window_sum(x, F, f, t, w) / (double)w;
        e->quiet[f * (3 + w)] = an__select_d(mean, m, (m - 1) / 4) / 8.0;
    }
    an_free(&e->alloc, mean, bytes);
    return AN_OK;
}
#endif

/* The largest need over its window's mean after the pushes so far (0
   before a full window). */
static double an__quiet_now(const an__ensemble *e)
{
    size_t w = e->config.quiet_rows, f, j;
    float worst = 0.0f;
    if (!w || e->quiet_filled < w) return 0.0;
    for (f = 0; f < e->base.n_features; f++) {
        const double *q = e->quiet + f * (3 + w);
        double sum = 0.0;
        float ratio;
        if (q[0] == 0.0) continue;
        for (j = 0; j < w; j++) sum += q[3 + (e->quiet_head + j) % w];   /* oldest first, as a batch adds */
        if ((ratio = an__quiet_ratio(q[0], sum, w)) > worst) worst = ratio;
    }
    return worst;
}

/* The same after one more pushed row. */
static double an__quiet_push(an__ensemble *e, const float *row)
{
    size_t w = e->config.quiet_rows, f;
    if (!w) return 0.0;
    for (f = 0; f < e->base.n_features; f++) {
        double *q = e->quiet + f * (3 + w);
        if (e->quiet_seen >= 2) q[3 + e->quiet_head] = an__second_difference((double)row[f], q[1], q[2]);
        q[2] = q[1];
        q[1] = (double)row[f];
    }
    if (e->quiet_seen >= 2) {
        e->quiet_head = (e->quiet_head + 1) % w;
        if (e->quiet_filled < w) e->quiet_filled++;
    } else {
        e->quiet_seen++;
    }
    return an__quiet_now(e);
}

/* The same for each row of a batch x (n, F), into out[n]; a batch starts
   its own windows. */
static void an__quiet_batch(const an__ensemble *e, const float *x, size_t n, float *out)
{
    size_t F = e->base.n_features, w = e->config.quiet_rows, f, i;
    for (i = 0; i < n; i++) out[i] = 0.0f;
    for (f = 0; w && f < F; f++) {
        double need = e->quiet[f * (3 + w)];
        if (need == 0.0) continue;
        for (i = w + 1; i < n; i++) {
            float ratio = an__quiet_ratio(need, an__quiet_window_sum(x, F, f, i, w), w);
            if (ratio > out[i]) out[i] = ratio;
        }
    }
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__ensemble_fit(an_detector *self, const float *x, size_t n)
{
    an__ensemble *e = (an__ensemble *)self;
    size_t k, healthy = 0;
    an_result r;
    if (e->n_members == 0) return AN_ERR_INVALID_ARG;
    if ((r = an_ensemble_reserve(self, n)) != AN_OK) return r;
    for (k = 0; k < e->n_members; k++) {
        an__member *m = &e->member[k];
        float *raw = e->batch + k * e->capacity;
        m->healthy = 0;
        r = m->prefitted ? AN_OK : an_detector_fit(m->d, x, n);
        if (r == AN_OK) r = an__detector_score_checked(m->d, x, n, raw);
        if (r == AN_OK) r = an_calibration_fit(&m->cal, raw, n, &e->alloc);
        if (r == AN_OK) r = an__sustain_fit(e, m, raw, n);
        if (r == AN_ERR_INPUT) r = AN_ERR_NUMERIC;      /* the input was checked: a member went non-finite */
        if (r == AN_ERR_NOMEM || (r != AN_OK && m->role == AN_MEMBER_BASELINE)) return r;
        m->healthy = r == AN_OK;
        healthy += (size_t)m->healthy;
    }
    if ((r = an__stuck_fit(e, x, n)) != AN_OK || (r = an__quiet_fit(e, x, n)) != AN_OK) return r;
    e->batch_rows = 0;
    for (k = 0; k < e->n_members; k++) e->last[k] = (float)NAN;
    an__sustain_clear(e);
    return healthy ? AN_OK : AN_ERR_NUMERIC;
}
#endif

/* The decision about one row from the members' raw scores (NaN = absent),
   their windows' mean surprise (NaN = no full window), the row's longest
   stuck run over its need and its quiet measure. */
static an_result an__ensemble_combine(const an__ensemble *e, const float *raw, size_t stride,
                                      const double *sustain_mean, double stuck, double quiet,
                                      an_ensemble_decision *out)
{
    double present = 0.0, voted = 0.0, p = 0.0, ls = 0.0, z = 0.0, zt, spread;
    size_t k;
    memset(out, 0, sizeof *out);
    out->n_members = e->n_members;
    for (k = 0; k < e->n_members; k++) {
        const an__member *m = &e->member[k];
        double s = raw[k * stride];
        if (!m->healthy || !an__finite(s)) continue;
        out->present |= 1u << k;
        out->member_likelihood[k] = an_calibration_likelihood(&m->cal, s);
        out->member_z[k] = an_calibration_z(&m->cal, s);
        present += m->weight;
        ls += m->weight * log1p(-out->member_likelihood[k]);                  /* -surprise */
        p += m->weight * out->member_likelihood[k];
        z += m->weight * (out->member_z[k] < 50.0 ? out->member_z[k] : 50.0);
        if (m->sustain_scale > 0.0 && an__finite(sustain_mean[k]))
            out->member_sustain[k] = (sustain_mean[k] - m->sustain_median) / m->sustain_scale;
        if ((out->member_likelihood[k] > e->config.threshold &&
             (!e->config.normal_training || s > m->cal.knot[AN_CALIBRATION_KNOTS - 1])) ||
            (out->member_sustain[k] > e->config.sustain_z && sustain_mean[k] > m->sustain_top))
            voted += m->weight;
    }
    if (present == 0.0) return AN_ERR_NUMERIC;
    out->surprise = 0.0 - expm1(ls / present);                                 /* 0 - : never -0 */
    out->likelihood = e->config.pool == AN_POOL_SURPRISE ? out->surprise : p / present;
    out->vote = voted / present;
    out->flatline = stuck;
    out->quiet = quiet;
    out->anomaly = out->vote >= e->config.min_agree || stuck >= 1.0 || quiet >= 1.0;
    spread = out->anomaly ? 1.0 - e->config.min_agree : e->config.min_agree;
    out->confidence = spread > 0.0 ? fabs(out->vote - e->config.min_agree) / spread : 1.0;
    if (out->confidence > 1.0) out->confidence = 1.0;
    zt = e->z_threshold;
    out->severity = z / present > zt ? z / present - zt : 0.0;
    return AN_OK;
}

static an_result an__ensemble_push(an_detector *self, const float *row, float *score)
{
    an__ensemble *e = (an__ensemble *)self;
    an_ensemble_decision dec;
    double mean[AN_ENSEMBLE_MAX_MEMBERS];
    size_t k, w = e->config.sustain_rows;
    an_result r;
    for (k = 0; k < e->n_members; k++) {
        an__member *m = &e->member[k];
        e->last[k] = (float)NAN;
        if (!m->healthy) continue;
        r = an__detector_push_checked(m->d, row, &e->last[k]);
        if (r == AN_ERR_INPUT) return r;                 /* the row itself is unusable */
        if (r != AN_OK) e->last[k] = (float)NAN;
    }
    for (k = 0; w && k < e->n_members; k++) {           /* the sustained vote's windows */
        an__member *m = &e->member[k];
        if (!an__finite(e->last[k])) { m->ring_filled = 0; continue; }
        m->ring[m->ring_head] = an__surprise(e, an_calibration_likelihood(&m->cal, e->last[k]));
        m->ring_head = (m->ring_head + 1) % w;
        if (m->ring_filled < w) m->ring_filled++;
    }
    an__sustain_ring_means(e, mean);
    if ((r = an__ensemble_combine(e, e->last, 1, mean, an__stuck_push(e, row), an__quiet_push(e, row), &dec)) !=
        AN_OK)
        return r;
    *score = (float)dec.likelihood;
    return AN_OK;
}

static an_result an__ensemble_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__ensemble *e = (an__ensemble *)self;
    an_ensemble_decision dec;
    size_t k, i;
    float *stuck, *quiet;
    an_result r;
    if (n > e->capacity && (r = an_ensemble_reserve(self, n)) != AN_OK) return r;
    stuck = e->batch + e->n_members * e->capacity;
    quiet = stuck + e->capacity;
    for (k = 0; k < e->n_members; k++) {
        float *raw = e->batch + k * e->capacity;
        if (!e->member[k].healthy || an__detector_score_checked(e->member[k].d, x, n, raw) != AN_OK)
            for (i = 0; i < n; i++) raw[i] = (float)NAN;
    }
    e->batch_rows = n;
    an__stuck_batch(e, x, n, stuck);
    an__quiet_batch(e, x, n, quiet);
    for (i = 0; i < n; i++) {
        double mean[AN_ENSEMBLE_MAX_MEMBERS];
        an__sustain_batch_means(e, i, mean);
        if ((r = an__ensemble_combine(e, e->batch + i, e->capacity, mean, stuck[i], quiet[i], &dec)) != AN_OK)
            return r;
        scores[i] = (float)dec.likelihood;
    }
    return AN_OK;
}

/* The weighted mean, feature by feature, of the finite expectations of
   the members that answered the last push. */
static an_result an__ensemble_expected(an_detector *self, double *expected)
{
    an__ensemble *e = (an__ensemble *)self;
    size_t F = self->n_features, k, f;
    double *mine = e->expected, *weight = e->expected + F;
    int any = 0;
    for (f = 0; f < F; f++) expected[f] = weight[f] = 0.0;
    for (k = 0; k < e->n_members; k++) {
        an__member *m = &e->member[k];
        any |= m->d->vt->expected != NULL;
        if (!m->healthy || e->last[k] != e->last[k] || an_detector_expected(m->d, mine) != AN_OK) continue;
        for (f = 0; f < F; f++)
            if (an__finite(mine[f])) expected[f] += m->weight * mine[f], weight[f] += m->weight;
    }
    for (f = 0; f < F; f++) expected[f] = weight[f] > 0.0 ? expected[f] / weight[f] : (double)NAN;
    return any ? AN_OK : AN_ERR_UNSUPPORTED;
}

static an_result an__ensemble_reset(an_detector *self)
{
    an__ensemble *e = (an__ensemble *)self;
    size_t k;
    for (k = 0; k < e->n_members; k++) {
        e->last[k] = (float)NAN;                    /* no row pushed since */
        if (e->member[k].healthy) an_detector_reset(e->member[k].d);
    }
    an__sustain_clear(e);
    an__stuck_clear(e);
    an__quiet_clear(e);
    return AN_OK;
}

AN_API an_result an_ensemble_last(const an_detector *ensemble, an_ensemble_decision *out)
{
    const an__ensemble *e = (const an__ensemble *)ensemble;
    double mean[AN_ENSEMBLE_MAX_MEMBERS];
    if (!an__is_ensemble(ensemble) || !out) return AN_ERR_INVALID_ARG;
    if (!ensemble->fitted) return AN_ERR_NOT_FITTED;
    an__sustain_ring_means(e, mean);
    return an__ensemble_combine(e, e->last, 1, mean, an__stuck_now(e), an__quiet_now(e), out);
}

AN_API an_result an_ensemble_decide(const an_detector *ensemble, size_t row, an_ensemble_decision *out)
{
    const an__ensemble *e = (const an__ensemble *)ensemble;
    double mean[AN_ENSEMBLE_MAX_MEMBERS];
    if (!an__is_ensemble(ensemble) || !out || row >= e->batch_rows) return AN_ERR_INVALID_ARG;
    an__sustain_batch_means(e, row, mean);
    return an__ensemble_combine(e, e->batch + row, e->capacity, mean, e->batch[e->n_members * e->capacity + row],
                                e->batch[(e->n_members + 1) * e->capacity + row], out);
}

#define AN__TAG_ENSEMBLE AN_TAG('E', 'N', 'S', 'B')

/* Payload: an 'ENSB' chunk of threshold, min_agree, the number of healthy
   members, then for each: weight, role, calibration (median, scale, knots,
   levels, tail scale and shape), and the member's own
   DETC chunk; then a 'POOL' chunk holding the pooling (u32); then a
   'SUST' chunk: the sustained vote's window (u64) and z, then for each
   saved member its median and scale, ring head and fill (u64) and the
   window's surprises (f32), so a stream saved mid-way goes on as it was;
   then, only when stuck runs are judged, a 'FLAT' chunk: flatline_rows
   (u64), then for each feature its need and last value (f64) and run
   (u64); then, only with the quiet rule, a 'QUIE' chunk: quiet_rows w,
   rows seen (to 2), the ring's head and fill (u64), then for each
   feature its need and last two values and its ring of w (f64).  A file
   without one of them has that rule off, as it was before it. */
#define AN__TAG_POOL AN_TAG('P', 'O', 'O', 'L')
#define AN__TAG_SUSTAIN AN_TAG('S', 'U', 'S', 'T')
#define AN__TAG_FLAT AN_TAG('F', 'L', 'A', 'T')
#define AN__TAG_QUIET AN_TAG('Q', 'U', 'I', 'E')
#define AN__TAG_SUSTAIN_TOP AN_TAG('S', 'T', 'O', 'P')   /* optional: normal_training's bars */
/* A member's fields before its DETC chunk: weight, role, calibration. */
#define AN__MEMBER_FIELD_BYTES (8 + 4 + 8 + 8 + 2 * 8 * AN_CALIBRATION_KNOTS + 8 + 8)
#ifndef ANOMALY_NO_TRAINING
static an_result an__ensemble_save(const an_detector *self, an_writer *w)
{
    const an__ensemble *e = (const an__ensemble *)self;
    size_t k, healthy = 0;
    an_result r;
    for (k = 0; k < e->n_members; k++) healthy += (size_t)e->member[k].healthy;
    an_write_begin(w, AN__TAG_ENSEMBLE);
    an_write_f64(w, e->config.threshold);
    an_write_f64(w, e->config.min_agree);
    an_write_u64(w, healthy);
    for (k = 0; k < e->n_members; k++) {
        const an__member *m = &e->member[k];
        if (!m->healthy) continue;
        an_write_f64(w, m->weight);
        an_write_u32(w, (uint32_t)m->role);
        an_write_f64(w, m->cal.median);
        an_write_f64(w, m->cal.scale);
        an_write_f64s(w, m->cal.knot, AN_CALIBRATION_KNOTS);
        an_write_f64s(w, m->cal.level, AN_CALIBRATION_KNOTS);
        an_write_f64(w, m->cal.tail);
        an_write_f64(w, m->cal.shape);
        an_detector_save(m->d, w);
    }
    an_write_end(w);
    an_write_begin(w, AN__TAG_POOL);
    an_write_u32(w, (uint32_t)e->config.pool);
    an_write_end(w);
    an_write_begin(w, AN__TAG_SUSTAIN);
    an_write_u64(w, e->config.sustain_rows);
    an_write_f64(w, e->config.sustain_z);
    for (k = 0; k < e->n_members; k++) {
        const an__member *m = &e->member[k];
        if (!m->healthy) continue;
        an_write_f64(w, m->sustain_median);
        an_write_f64(w, m->sustain_scale);
        an_write_u64(w, m->ring_head);
        an_write_u64(w, m->ring_filled);
        an_write_f32s(w, m->ring, e->config.sustain_rows);
    }
    if ((r = an_write_end(w)) != AN_OK) return r;
    if (e->config.normal_training) {
        an_write_begin(w, AN__TAG_SUSTAIN_TOP);
        for (k = 0; k < e->n_members; k++)
            if (e->member[k].healthy) an_write_f64(w, e->member[k].sustain_top);
        an_write_end(w);
    }
    if (e->config.flatline_rows) {
        an_write_begin(w, AN__TAG_FLAT);
        an_write_u64(w, e->config.flatline_rows);
        for (k = 0; k < self->n_features; k++) {
            an_write_f64(w, e->stuck[3 * k]);
            an_write_f64(w, e->stuck[3 * k + 1]);
            an_write_u64(w, (uint64_t)e->stuck[3 * k + 2]);
        }
        an_write_end(w);
    }
    if (e->config.quiet_rows) {
        an_write_begin(w, AN__TAG_QUIET);
        an_write_u64(w, e->config.quiet_rows);
        an_write_u64(w, e->quiet_seen);
        an_write_u64(w, e->quiet_head);
        an_write_u64(w, e->quiet_filled);
        an_write_f64s(w, e->quiet, self->n_features * (3 + e->config.quiet_rows));
        an_write_end(w);
    }
    return w->status;
}
#endif

static void an__ensemble_destroy(an_detector *self)
{
    an__ensemble *e = (an__ensemble *)self;
    an_allocator alloc = e->alloc;
    size_t k;
    for (k = 0; k < e->n_members; k++) an_detector_destroy(e->member[k].d);
    an_free(&alloc, e->batch, an__ensemble_batch_bytes(e->n_members, e->capacity));
    an_free(&alloc, e->quiet, an__quiet_bytes(e->base.n_features, e->config.quiet_rows));
    an_free(&alloc, e, sizeof *e + AN__ENSEMBLE_TAIL * e->base.n_features * sizeof(double));
}

static int an__calibration_valid(const an_calibration *c)
{
    size_t k;
    if (!an__finite(c->median) || !(c->scale > 0.0) || !an__finite(c->scale) || !(c->tail >= 0.0) || !an__finite(c->tail) ||
        !(c->shape >= 0.0 && c->shape <= 1.0))
        return 0;
    for (k = 0; k < AN_CALIBRATION_KNOTS; k++)
        if (!an__finite(c->knot[k]) || !(c->level[k] > 0.0 && c->level[k] < 1.0) ||
            (k && (c->knot[k] < c->knot[k - 1] || !(c->level[k] > c->level[k - 1]))))
            return 0;
    return 1;
}

/* A member's part of the 'SUST' chunk, checked. */
static an_result an__sustain_load(an_reader *r, size_t w, double threshold, an__member *m)
{
    uint64_t head, filled;
    size_t j;
    an_result res;
    if ((res = an_read_f64(r, &m->sustain_median)) != AN_OK || (res = an_read_f64(r, &m->sustain_scale)) != AN_OK ||
        (res = an_read_u64(r, &head)) != AN_OK || (res = an_read_u64(r, &filled)) != AN_OK ||
        (res = an_read_f32s(r, m->ring, w)) != AN_OK)
        return res;
    if (!an__finite(m->sustain_median) || !(m->sustain_scale >= 0.0) || !an__finite(m->sustain_scale) ||
        filled > w || (w ? head >= w : head != 0))
        return AN_ERR_CORRUPT;
    for (j = 0; j < w; j++)
        if (!(m->ring[j] >= 0.0f && m->ring[j] <= (float)-log1p(-threshold))) return AN_ERR_CORRUPT;
    m->ring_head = (size_t)head;
    m->ring_filled = (size_t)filled;
    return AN_OK;
}

/* The 'FLAT' chunk's payload q, checked: a need is 0 or at least
   flatline_rows. */
static an_result an__stuck_load(an_reader *q, an__ensemble *e)
{
    size_t f;
    an_result r;
    if ((r = an_read_count(q, 1, AN_ENSEMBLE_MAX_FLATLINE, &e->config.flatline_rows)) != AN_OK) return r;
    for (f = 0; f < e->base.n_features; f++) {
        double *s = e->stuck + 3 * f;
        uint64_t run;
        if ((r = an_read_f64(q, &s[0])) != AN_OK || (r = an_read_f64(q, &s[1])) != AN_OK ||
            (r = an_read_u64(q, &run)) != AN_OK)
            return r;
        if (!(s[0] == 0.0 || (s[0] >= (double)e->config.flatline_rows && s[0] <= 4.0 * (double)SIZE_MAX)) ||
            run > ((uint64_t)1 << 53) ||
            (s[1] == s[1] && !an__finite(s[1])))
            return AN_ERR_CORRUPT;
        s[2] = (double)run;
    }
    return an_reader_at_end(q) ? AN_OK : AN_ERR_CORRUPT;
}

/* The 'STOP' chunk: each member's top training window, finite and >= 0. */
static an_result an__sustain_top_load(an_reader *q, an__ensemble *e)
{
    size_t k;
    an_result r;
    for (k = 0; k < e->n_members; k++) {
        double *top = &e->member[k].sustain_top;
        if ((r = an_read_f64(q, top)) != AN_OK) return r;
        if (!(*top >= 0.0) || !an__finite(*top)) return AN_ERR_CORRUPT;
    }
    e->config.normal_training = 1;
    return an_reader_at_end(q) ? AN_OK : AN_ERR_CORRUPT;
}

/* The 'QUIE' chunk's state after its window (read into the config), checked:
   finite values, needs and differences >= 0, the counters in range. */
static an_result an__quiet_load(an_reader *q, an__ensemble *e)
{
    size_t w = e->config.quiet_rows, n = e->base.n_features * (3 + w), i;
    an_result r;
    if ((r = an_read_count(q, 0, 2, &e->quiet_seen)) != AN_OK || (r = an_read_count(q, 0, w - 1, &e->quiet_head)) != AN_OK ||
        (r = an_read_count(q, 0, w, &e->quiet_filled)) != AN_OK || (r = an_read_f64s(q, e->quiet, n)) != AN_OK)
        return r;
    for (i = 0; i < n; i++)
        if (!an__finite(e->quiet[i]) || (i % (3 + w) != 1 && i % (3 + w) != 2 && e->quiet[i] < 0.0)) return AN_ERR_CORRUPT;
    if ((e->quiet_filled && e->quiet_seen < 2) || (e->quiet_filled < w && e->quiet_head != e->quiet_filled))
        return AN_ERR_CORRUPT;
    return an_reader_at_end(q) ? AN_OK : AN_ERR_CORRUPT;
}

static an_result an__ensemble_load(an_reader *payload, const an_detector_vtable *const *types, size_t n_types,
                                   const an_allocator *a, an_detector **out)
{
    an_ensemble_config c;
    an_reader p, sus, quiet;
    size_t count, k;
    int has_quiet;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__TAG_ENSEMBLE, &p)) != AN_OK) return r;
    c = an_ensemble_config_init();
    if ((r = an_read_f64(&p, &c.threshold)) != AN_OK || (r = an_read_f64(&p, &c.min_agree)) != AN_OK ||
        (r = an_read_count(&p, 1, AN_ENSEMBLE_MAX_MEMBERS, &count)) != AN_OK)
        return r;
    if ((r = an_reader_find(payload, AN__TAG_SUSTAIN, &sus)) != AN_OK ||
        (r = an_read_count(&sus, 0, AN_ENSEMBLE_MAX_SUSTAIN, &c.sustain_rows)) != AN_OK ||
        (r = an_read_f64(&sus, &c.sustain_z)) != AN_OK)
        return r;
    /* optional: absent, the quiet rule is off; its window sizes the ensemble */
    if ((has_quiet = an_reader_find(payload, AN__TAG_QUIET, &quiet) == AN_OK) &&
        (r = an_read_count(&quiet, 3, AN_ENSEMBLE_MAX_QUIET, &c.quiet_rows)) != AN_OK)
        return r;
    for (k = 0; k < count; k++) {
        an_detector *d = NULL;
        an__member m;
        uint32_t role;
        memset(&m, 0, sizeof m);
        if ((r = an_read_f64(&p, &m.weight)) != AN_OK || (r = an_read_u32(&p, &role)) != AN_OK ||
            (r = an_read_f64(&p, &m.cal.median)) != AN_OK || (r = an_read_f64(&p, &m.cal.scale)) != AN_OK ||
            (r = an_read_f64s(&p, m.cal.knot, AN_CALIBRATION_KNOTS)) != AN_OK ||
            (r = an_read_f64s(&p, m.cal.level, AN_CALIBRATION_KNOTS)) != AN_OK ||
            (r = an_read_f64(&p, &m.cal.tail)) != AN_OK || (r = an_read_f64(&p, &m.cal.shape)) != AN_OK)
            break;
        if (role > AN_MEMBER_BASELINE || !an__calibration_valid(&m.cal)) { r = AN_ERR_CORRUPT; break; }
        if ((r = an__detector_load(&p, types, n_types, a, AN__REFUSE_HYBRID | AN__REFUSE_EXOG, &d)) != AN_OK) break;
        if (!*out && (r = an_ensemble_create(&c, d->n_features, a, out)) != AN_OK) {
            an_detector_destroy(d);
            if (r == AN_ERR_INVALID_ARG) r = AN_ERR_CORRUPT;
            break;
        }
        if ((r = an_ensemble_add(*out, d, m.weight, (an_member_role)role)) != AN_OK) {
            if (r == AN_ERR_INVALID_ARG) r = AN_ERR_CORRUPT;   /* a bad weight or a feature-count mismatch */
            break;
        }
        ((an__ensemble *)*out)->member[k].cal = m.cal;
        ((an__ensemble *)*out)->member[k].healthy = 1;
        ((an__ensemble *)*out)->last[k] = (float)NAN;
        if ((r = an__sustain_load(&sus, c.sustain_rows, c.threshold, &((an__ensemble *)*out)->member[k])) != AN_OK) break;
    }
    if (r == AN_OK && (!an_reader_at_end(&p) || !an_reader_at_end(&sus))) r = AN_ERR_CORRUPT;
    if (r == AN_OK) {
        an_reader q;
        uint32_t pool = 0;
        if ((r = an_reader_find(payload, AN__TAG_POOL, &q)) == AN_OK && (r = an_read_u32(&q, &pool)) == AN_OK &&
            ((pool != AN_POOL_MEAN && pool != AN_POOL_SURPRISE) || !an_reader_at_end(&q)))
            r = AN_ERR_CORRUPT;
        if (r == AN_OK) ((an__ensemble *)*out)->config.pool = (an_ensemble_pool)pool;
    }
    if (r == AN_OK) {                                   /* optional: absent, stuck runs are off */
        an_reader q;
        if (an_reader_find(payload, AN__TAG_FLAT, &q) == AN_OK) r = an__stuck_load(&q, (an__ensemble *)*out);
    }
    if (r == AN_OK) {                                   /* optional: absent, the training was not known normal */
        an_reader q;
        if (an_reader_find(payload, AN__TAG_SUSTAIN_TOP, &q) == AN_OK) r = an__sustain_top_load(&q, (an__ensemble *)*out);
    }
    if (r == AN_OK && has_quiet) r = an__quiet_load(&quiet, (an__ensemble *)*out);
    if (r != AN_OK) {
        if (*out) an__ensemble_destroy(*out);
        *out = NULL;
        return r;
    }
    return AN_OK;
}

AN_API an_result an_ensemble_load(an_reader *r, const an_detector_vtable *const *types, size_t n_types,
                                  const an_allocator *a, an_detector **out)
{
    an_reader at, payload, type;
    uint32_t tag;
    an_result res;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if (!r) return AN_ERR_INVALID_ARG;
    at = *r;                                   /* peek at the type, then load through the one path */
    if ((res = an_read_expect(&at, AN_TAG_DETECTOR, &payload)) != AN_OK ||
        (res = an_read_expect(&payload, AN_TAG_TYPE, &type)) != AN_OK || (res = an_read_u32(&type, &tag)) != AN_OK)
        return res;
    if (tag != an_ensemble_type()->tag) return AN_ERR_UNSUPPORTED;
    return an_detector_load(r, types, n_types, a, out);
}

static int an__type_linked(uint32_t tag, const an_detector_vtable *const *types, size_t n_types)
{
    size_t i;
    for (i = 0; i < n_types; i++)
        if (types[i] && types[i]->tag == tag) return 1;
    return 0;
}

/* The type tag of the 'DETC' chunk at r's cursor; advances past it. */
static an_result an__detector_tag(an_reader *r, uint32_t *tag)
{
    an_reader payload, type;
    an_result res;
    if ((res = an_read_expect(r, AN_TAG_DETECTOR, &payload)) != AN_OK) return res;
    if ((res = an_read_expect(&payload, AN_TAG_TYPE, &type)) != AN_OK) return res;
    return an_read_u32(&type, tag);
}

AN_API an_result an_detector_missing_type(const an_reader *r, const an_detector_vtable *const *types,
                                          size_t n_types, uint32_t *tag)
{
    const size_t fields = AN__MEMBER_FIELD_BYTES;
    an_reader at, payload, p;
    uint32_t t;
    size_t count, k;
    an_result res;
    if (tag) *tag = 0;
    if (!r || !tag || (!types && n_types)) return AN_ERR_INVALID_ARG;
    at = *r;
    if ((res = an__detector_tag(&at, &t)) != AN_OK) return res;
    if (t == AN__TAG_EXOG) {                          /* the inner detector follows the stage's chunk */
        an_reader q, inner;
        at = *r;
        if ((res = an_read_expect(&at, AN_TAG_DETECTOR, &payload)) != AN_OK ||
            (res = an_read_expect(&payload, AN_TAG_TYPE, &q)) != AN_OK ||
            (res = an_read_expect(&payload, AN__TAG_EXOG_FIT, &q)) != AN_OK)
            return res;
        inner = payload;
        if ((res = an__detector_tag(&inner, &t)) != AN_OK) return res;
        if (t == AN__TAG_EXOG) return AN_ERR_CORRUPT;
        return an_detector_missing_type(&payload, types, n_types, tag);
    }
    if (t != AN__TAG_HYBRID) {
        if (!an__type_linked(t, types, n_types)) *tag = t;
        return AN_OK;
    }
    at = *r;
    if ((res = an_read_expect(&at, AN_TAG_DETECTOR, &payload)) != AN_OK ||
        (res = an_reader_find(&payload, AN__TAG_ENSEMBLE, &p)) != AN_OK || (res = an_reader_need(&p, 16, 1)) != AN_OK)
        return res;
    p.pos += 16;                                      /* threshold, min_agree */
    if ((res = an_read_count(&p, 1, AN_ENSEMBLE_MAX_MEMBERS, &count)) != AN_OK) return res;
    for (k = 0; k < count; k++) {
        if ((res = an_reader_need(&p, fields, 1)) != AN_OK) return res;
        p.pos += fields;
        if ((res = an__detector_tag(&p, &t)) != AN_OK) return res;
        if (t == AN__TAG_HYBRID || t == AN__TAG_EXOG) return AN_ERR_CORRUPT;
        if (!an__type_linked(t, types, n_types)) { *tag = t; return AN_OK; }
    }
    return AN_OK;
}

static const an_detector_vtable an__ensemble_vtable = {
    AN__TAG_HYBRID, "hybrid", AN__TRAINING(an__ensemble_fit), an__ensemble_score, an__ensemble_push,
    an__ensemble_reset, AN__TRAINING(an__ensemble_save), NULL, NULL, an__ensemble_destroy, an__ensemble_expected,
    NULL, NULL
};

AN_API const an_detector_vtable *an_ensemble_type(void) { return &an__ensemble_vtable; }

/* ---- 11d the causal protocol -------------------------------------------- */

AN_API an_causal_config an_causal_config_init(void)
{
    an_causal_config c;
    c.first_fit = 150;
    c.growth = 2;
    c.onset_window = 100;
    return c;
}

AN_API an_result an_causal_score(const an_causal_config *config, an_detector_maker make, void *user, const float *x,
                                 size_t n, size_t n_features, float *score, const an_allocator *a)
{
    an_detector *d = NULL;
    an_onset onset;
    size_t i, k, next;
    an_result r;
    if (!config || !make || (!x && n) || (!score && n) || n_features == 0 || config->first_fit == 0 ||
        config->growth < 2 || config->onset_window == 0 || !an__allocator_ok(a))
        return AN_ERR_INVALID_ARG;
    if ((r = an_onset_init(&onset, config->onset_window, a)) != AN_OK) return r;
    next = config->first_fit;
    for (i = 0; i < n && r == AN_OK; i++) {
        double on;
        if (i == next) {                                 /* refit on rows 0..i-1 */
            an_detector *fresh = make(user, n_features, i);
            float s;
            if (!fresh) { r = AN_ERR_NOMEM; break; }
            if (an_detector_fit(fresh, x, i) == AN_OK) {
                an_detector_destroy(d);
                d = fresh;
                for (k = 0; k < i; k++) an_detector_push(d, x + k * n_features, &s);
            } else {
                an_detector_destroy(fresh);
            }
            next = next > SIZE_MAX / config->growth ? SIZE_MAX : next * config->growth;
        }
        score[i] = 0.0f;
        if (d && an_detector_push(d, x + i * n_features, &score[i]) != AN_OK) score[i] = 0.0f;
        if (!(score[i] >= 0.0f) || !an__finite(score[i])) score[i] = 0.0f;   /* likelihoods: below 0, none */
        if ((r = an_onset_push(&onset, score[i], &on)) == AN_OK) score[i] = (float)on;
    }
    an_onset_uninit(&onset);
    an_detector_destroy(d);
    return r;
}

/* ---- 11e inputs ------------------------------------------------------- */

/* The Cholesky pair serves the inputs stage's fit (training code) and
   LIME (anomaly_xai.h, in every build): a load-only build without the
   explainers calls neither. */
#if defined(__GNUC__) || defined(__clang__)
#define AN__MAYBE_UNUSED __attribute__((unused))
#else
#define AN__MAYBE_UNUSED
#endif

/* Factors a symmetric positive definite A (n x n, row-major) in place
   into L (lower triangle) with L L^T = A.  AN_ERR_NUMERIC when A is not
   positive definite. */
AN__MAYBE_UNUSED static an_result an__cholesky(double *A, size_t n)
{
    size_t i, j, k;
    for (j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0.0) || !an__finite(d)) return AN_ERR_NUMERIC;
        d = sqrt(d);
        A[j * n + j] = d;
        for (i = j + 1; i < n; i++) {
            double v = A[i * n + j];
            for (k = 0; k < j; k++) v -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = v / d;
        }
    }
    return AN_OK;
}

/* Solves L L^T v = b with the factor an__cholesky left, v into b (n). */
AN__MAYBE_UNUSED static void an__cholesky_solve(const double *L, double *b, size_t n)
{
    size_t i, k;
    for (i = 0; i < n; i++) {   /* L y = b */
        double v = b[i];
        for (k = 0; k < i; k++) v -= L[i * n + k] * b[k];
        b[i] = v / L[i * n + i];
    }
    for (i = n; i-- > 0;) {     /* L^T v = y */
        double v = b[i];
        for (k = i + 1; k < n; k++) v -= L[k * n + i] * b[k];
        b[i] = v / L[i * n + i];
    }
}


typedef struct an__exog {
    an_detector base;
    an_allocator alloc;
    an_exog_config config;
    an_detector *inner;
    size_t n_inputs, n_targets, P;   /* P = n_inputs (responses + 1) features */
    double *decay;          /* (responses) exp(-1 / tau)                      */
    double *coef;           /* (n_targets, 1 + P) intercept, then weights     */
    double *state;          /* (n_inputs, responses) the stream's responses   */
    double *batch_state;    /* (n_inputs, responses) a batch's                */
    double *feature;        /* (P) one row's features                         */
    double *prediction;     /* (n_targets) the last push's                    */
    double *inner_expected; /* (n_targets) the inner's expectation; a batch's scratch */
    float *row_residual;    /* (n_targets) the last push's                    */
    size_t *column;         /* (n_features) the inputs' columns, then the targets' */
    unsigned char *input;   /* (n_features) 1 = an input column               */
    float *residual;        /* (capacity, n_targets) a batch's residuals      */
    size_t capacity;
    int primed;             /* pushed since fit, load or reset: the responses
                               and the prediction hold a row */
} an__exog;

static size_t an__exog_doubles(size_t n_in, size_t n_t, size_t P, size_t R)
{
    return R + n_t * (1 + P) + 2 * n_in * R + P + 2 * n_t;
}

static int an__is_exog(const an_detector *d) { return d && d->vt == an_exog_type(); }

/* The block after the struct: doubles, then the floats, the columns and
   the flags. */
static size_t an__exog_bytes(size_t F, size_t n_in, size_t n_t, size_t R)
{
    size_t P = n_in * (R + 1);
    return sizeof(an__exog) + an__exog_doubles(n_in, n_t, P, R) * sizeof(double) +
           ((n_t * sizeof(float) + sizeof(size_t) - 1) / sizeof(size_t)) * sizeof(size_t) + F * sizeof(size_t) + F;
}

AN_API an_exog_config an_exog_config_init(void)
{
    an_exog_config c;
    c.responses = 8;
    c.ridge = 1e-3;
    c.max_inputs = 8;
    c.gain = 0.1;
    c.keep = 0.5;
    return c;
}

AN_API an_result an_exog_create(const an_exog_config *config, size_t n_features, const unsigned char *input,
                                an_detector *inner, const an_allocator *a, an_detector **out)
{
    an_allocator alloc;
    an__exog *e;
    size_t f, n_in = 0, R, P, bytes;
    double *d;
    an_result r = AN_ERR_INVALID_ARG;
    if (out) *out = NULL;
    if (!out || !config || !input || !inner || an__is_exog(inner) || config->responses == 0 ||
        config->responses > AN_EXOG_MAX_RESPONSES || !(config->ridge > 0.0) || !an__finite(config->ridge) ||
        config->max_inputs == 0 || !(config->gain >= 0.0 && config->gain < 1.0) ||
        !(config->keep > 0.0 && config->keep <= 1.0) || n_features > SIZE_MAX / (AN_EXOG_MAX_RESPONSES + 1) / 16)
        goto fail;
    for (f = 0; f < n_features; f++) n_in += input[f] != 0;
    if (n_in == 0 || n_in == n_features || inner->n_features != n_features - n_in) goto fail;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) goto fail;
    R = config->responses;
    P = n_in * (R + 1);
    r = AN_ERR_TOO_LARGE;                          /* every block below is within (targets + 2)(P + 2) 4 doubles */
    if (an__mul(an__mul(n_features - n_in + 2, P + 2), 4 * sizeof(double)) == SIZE_MAX) goto fail;
    bytes = an__exog_bytes(n_features, n_in, n_features - n_in, R);
    r = AN_ERR_NOMEM;
    if (!(e = (an__exog *)an_malloc(&alloc, bytes, AN_ALIGN))) goto fail;
    memset(e, 0, bytes);
    e->base.vt = an_exog_type();
    e->base.n_features = n_features;
    e->alloc = alloc;
    e->config = *config;
    e->inner = inner;
    e->n_inputs = n_in;
    e->n_targets = n_features - n_in;
    e->P = P;
    d = (double *)(e + 1);
    e->decay = d, d += R;
    e->coef = d, d += e->n_targets * (1 + P);
    e->state = d, d += n_in * R;
    e->batch_state = d, d += n_in * R;
    e->feature = d, d += P;
    e->prediction = d, d += e->n_targets;
    e->inner_expected = d, d += e->n_targets;
    e->row_residual = (float *)d;
    e->column = (size_t *)d + (e->n_targets * sizeof(float) + sizeof(size_t) - 1) / sizeof(size_t);
    e->input = (unsigned char *)(e->column + n_features);
    for (f = 0; f < R; f++) e->decay[f] = exp(-1.0 / (double)((size_t)2 << f));
    for (f = 0, n_in = 0; f < n_features; f++) {
        e->input[f] = input[f] != 0;
        if (e->input[f]) e->column[n_in++] = f;
    }
    for (f = 0; f < n_features; f++)
        if (!e->input[f]) e->column[n_in++] = f;
    *out = &e->base;
    return AN_OK;
fail:
    an_detector_destroy(inner);
    return r;
}

AN_API an_result an_exog_inner(const an_detector *d, an_detector **inner)
{
    if (inner) *inner = NULL;
    if (!an__is_exog(d) || !inner) return AN_ERR_INVALID_ARG;
    *inner = ((const an__exog *)d)->inner;
    return AN_OK;
}

/* Advances the responses in `state` by one row and writes the row's
   features: per input its value, then its responses. */
static void an__exog_features(an__exog *e, double *state, int *primed, const float *row)
{
    size_t R = e->config.responses, k, j;
    for (k = 0; k < e->n_inputs; k++) {
        double u = row[e->column[k]], *s = state + k * R, *f = e->feature + k * (R + 1);
        if (!*primed)
            for (j = 0; j < R; j++) s[j] = u;     /* a settled input */
        f[0] = u;
        for (j = 0; j < R; j++) f[j + 1] = s[j] = e->decay[j] * s[j] + (1.0 - e->decay[j]) * u;
    }
    *primed = 1;
}

/* The targets' predictions from the features with coef (n_targets,
   1 + P), and their residuals. */
static void an__exog_predict(const an__exog *e, const double *coef, const float *row, double *prediction,
                             float *residual)
{
    size_t t, i;
    for (t = 0; t < e->n_targets; t++) {
        const double *c = coef + t * (1 + e->P);
        double p = c[0];
        for (i = 0; i < e->P; i++) p += c[1 + i] * e->feature[i];
        prediction[t] = p;
        residual[t] = (float)((double)row[e->column[e->n_inputs + t]] - p);
    }
}

static an_result an__exog_reserve(an__exog *e, size_t n_rows)
{
    size_t bytes = an__mul(an__mul(n_rows, e->n_targets), sizeof(float));
    float *grown;
    if (n_rows <= e->capacity) return AN_OK;
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(grown = (float *)an_malloc(&e->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_free(&e->alloc, e->residual, e->capacity * e->n_targets * sizeof(float));
    e->residual = grown;
    e->capacity = n_rows;
    return AN_OK;
}

/* The residuals of x (n rows) into out (n, n_targets), the responses
   starting afresh; the stream (its responses, the last push's
   prediction) is left as it was. */
static void an__exog_residuals(an__exog *e, const float *x, size_t n, float *out)
{
    size_t i;
    int primed = 0;
    for (i = 0; i < n; i++) {
        an__exog_features(e, e->batch_state, &primed, x + i * e->base.n_features);
        an__exog_predict(e, e->coef, x + i * e->base.n_features, e->inner_expected, out + i * e->n_targets);
    }
}

AN_API an_result an_exog_residuals(an_detector *d, const float *x, size_t n_rows, float *out)
{
    an_result r;
    if (!an__is_exog(d) || !x || !out || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    if ((r = an__detector_input(d, x, n_rows)) != AN_OK) return r;
    an__exog_residuals((an__exog *)d, x, n_rows, out);
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
/* One part of the training rows for the regression: sums of features
   and targets less the first row's (shifted sums stay accurate when a
   level dwarfs its variation), their products, and the count. */
typedef struct an__exog_sums {
    double *ff;    /* (P, P) upper triangle */
    double *f;     /* (P) */
    double *fy;    /* (P, n_targets) */
    double *y;     /* (n_targets) */
    double *yy;    /* (n_targets) */
    size_t n;
} an__exog_sums;

static void an__exog_accumulate(const an__exog *e, an__exog_sums *s, const double *f, const double *y)
{
    size_t P = e->P, T = e->n_targets, i, j;
    for (i = 0; i < P; i++) {
        for (j = i; j < P; j++) s->ff[i * P + j] += f[i] * f[j];
        for (j = 0; j < T; j++) s->fy[i * T + j] += f[i] * y[j];
        s->f[i] += f[i];
    }
    for (j = 0; j < T; j++) s->y[j] += y[j], s->yy[j] += y[j] * y[j];
    s->n++;
}

/* The feature indices (into the P) of the n_chosen inputs in `chosen`;
   returns their count. */
static size_t an__exog_features_of(const an__exog *e, const size_t *chosen, size_t n_chosen, size_t *idx)
{
    size_t R1 = e->config.responses + 1, k, j, m = 0;
    for (k = 0; k < n_chosen; k++)
        for (j = 0; j < R1; j++) idx[m++] = chosen[k] * R1 + j;
    return m;
}

/* sum over the rows of features a and b, from the upper triangle. */
static double an__exog_ff(const an__exog_sums *s, size_t P, size_t a, size_t b)
{
    return a < b ? s->ff[a * P + b] : s->ff[b * P + a];
}

/* Target t's ridge fit on the m features idx of the sums s into c (1 +
   P: the intercept, then each feature's weight, 0 off idx), in the
   data's units; shift_f, shift_y the first row's values the sums are
   less of.  work: m * m + 2 m doubles. */
static an_result an__exog_solve(const an__exog *e, const an__exog_sums *s, const double *shift_f,
                                const double *shift_y, size_t t, const size_t *idx, size_t m, double *work, double *c)
{
    size_t P = e->P, T = e->n_targets, i, j;
    double *A = work, *sd = A + m * m, *v = sd + m, n = (double)s->n, mean_y = s->y[t] / n;
    an_result r;
    for (i = 0; i < m; i++) {
        size_t a = idx[i];
        double mean = s->f[a] / n, var = s->ff[a * P + a] / n - mean * mean;
        sd[i] = var > 1e-18 * (1.0 + (mean + shift_f[a]) * (mean + shift_f[a])) ? sqrt(var) : 0.0;   /* 0: constant */
    }
    for (i = 0; i < m; i++)                /* the standardised features' covariance, plus the ridge */
        for (j = i; j < m; j++) {
            double cov = an__exog_ff(s, P, idx[i], idx[j]) / n - (s->f[idx[i]] / n) * (s->f[idx[j]] / n);
            A[i * m + j] = A[j * m + i] = sd[i] > 0.0 && sd[j] > 0.0 ? cov / (sd[i] * sd[j]) : (double)(i == j);
            if (i == j) A[i * m + i] += e->config.ridge;
        }
    if ((r = an__cholesky(A, m)) != AN_OK) return r;
    for (i = 0; i < m; i++)
        v[i] = sd[i] > 0.0 ? (s->fy[idx[i] * T + t] / n - (s->f[idx[i]] / n) * mean_y) / sd[i] : 0.0;
    an__cholesky_solve(A, v, m);
    for (i = 0; i <= P; i++) c[i] = 0.0;
    c[0] = mean_y + shift_y[t];
    for (i = 0; i < m; i++) {              /* per standardised unit -> per unit */
        double w = sd[i] > 0.0 ? v[i] / sd[i] : 0.0;
        c[1 + idx[i]] = w;
        c[0] -= w * (s->f[idx[i]] / n + shift_f[idx[i]]);
    }
    return AN_OK;
}

/* Target t's squared error under the fit c (its m features idx) over the
   rows of the sums h: with r = y - c0 - w.f = ys - w.fs + d, d = shift_y
   - c0 - w.shift_f, it is sum ys^2 - 2 w.sum fs ys + w' (sum fs fs') w +
   2 d (sum ys - w.sum fs) + n d^2. */
static double an__exog_error(const an__exog *e, const an__exog_sums *h, const double *shift_f, const double *shift_y,
                             size_t t, const size_t *idx, size_t m, const double *c)
{
    size_t P = e->P, T = e->n_targets, i, j;
    double d = shift_y[t] - c[0], wf = 0.0, wfy = 0.0, wffw = 0.0, err;
    for (i = 0; i < m; i++) {
        double w = c[1 + idx[i]];
        d -= w * shift_f[idx[i]];
        wf += w * h->f[idx[i]];
        wfy += w * h->fy[idx[i] * T + t];
        for (j = 0; j < m; j++) wffw += w * c[1 + idx[j]] * an__exog_ff(h, P, idx[i], idx[j]);
    }
    err = h->yy[t] - 2.0 * wfy + wffw + 2.0 * d * (h->y[t] - wf) + (double)h->n * d * d;
    return err > 0.0 ? err : 0.0;
}

/* Fit.  The sums of the first three quarters (the part fitted) and the
   last quarter (the part held out); per target, inputs chosen one at a
   time, each the one whose fit on the first part leaves the least error
   on the held-out part, while it removes `gain` of what is left; the
   chosen kept when they leave under `keep` of the mean's error; their
   fit on every row; then the inner detector on the residuals. */
static an_result an__exog_fit(an_detector *self, const float *x, size_t n)
{
    an__exog *e = (an__exog *)self;
    size_t P = e->P, T = e->n_targets, F = self->n_features, n_in = e->n_inputs, n_fit = n - n / 4;
    size_t M = e->config.max_inputs < n_in ? e->config.max_inputs : n_in, m_max = M * (e->config.responses + 1);
    size_t i, t, k, j, words, *chosen, *n_chosen, *idx, n_sizes = T * M + T + m_max;
    double *block, *f0, *y0, *y, *work, *c_try;
    an__exog_sums part[2];
    int primed = 0;
    an_result r = AN_OK;
    if (n < 32) return AN_ERR_TOO_SHORT;
    if (an__mul(an__mul(P + 1, P + T + 1), 8 * sizeof(double)) == SIZE_MAX ||
        an__mul(an__mul(T + 1, M + 1), 4 * sizeof(size_t) * (e->config.responses + 1)) == SIZE_MAX)
        return AN_ERR_TOO_LARGE;
    words = 2 * (P * P + P + P * T + 2 * T) + P + 2 * T + (1 + P) + m_max * m_max + 2 * m_max;
    if ((r = an__exog_reserve(e, n)) != AN_OK) return r;
    if (!(block = (double *)an_malloc(&e->alloc, words * sizeof(double), AN_ALIGN))) return AN_ERR_NOMEM;
    if (!(chosen = (size_t *)an_malloc(&e->alloc, n_sizes * sizeof(size_t), AN_ALIGN))) {
        an_free(&e->alloc, block, words * sizeof(double));
        return AN_ERR_NOMEM;
    }
    n_chosen = chosen + T * M;
    idx = n_chosen + T;
    memset(block, 0, words * sizeof(double));
    for (k = 0, work = block; k < 2; k++) {
        part[k].ff = work, work += P * P;
        part[k].f = work, work += P;
        part[k].fy = work, work += P * T;
        part[k].y = work, work += T;
        part[k].yy = work, work += T;
        part[k].n = 0;
    }
    f0 = work, work += P;
    y0 = work, work += T;
    y = work, work += T;
    c_try = work, work += 1 + P;
    for (i = 0; i < n; i++) {              /* the sums of both parts, less the first row */
        const float *row = x + i * F;
        an__exog_features(e, e->batch_state, &primed, row);
        if (i == 0) {
            memcpy(f0, e->feature, P * sizeof(double));
            for (t = 0; t < T; t++) y0[t] = row[e->column[n_in + t]];
        }
        for (k = 0; k < P; k++) e->feature[k] -= f0[k];
        for (t = 0; t < T; t++) y[t] = row[e->column[n_in + t]] - y0[t];
        an__exog_accumulate(e, &part[i >= n_fit], e->feature, y);
    }
    for (t = 0; t < T && r == AN_OK; t++) {          /* each target's inputs, chosen on the held-out part */
        size_t *mine = chosen + t * M;
        double err_mean, err_now;
        r = an__exog_solve(e, &part[0], f0, y0, t, idx, 0, work, c_try);   /* the mean */
        err_mean = err_now = an__exog_error(e, &part[1], f0, y0, t, idx, 0, c_try);
        n_chosen[t] = 0;
        while (r == AN_OK && n_chosen[t] < M) {
            size_t best = SIZE_MAX, m;
            double err_best = err_now;
            for (j = 0; j < n_in; j++) {
                for (k = 0; k < n_chosen[t] && mine[k] != j; k++) {}
                if (k < n_chosen[t]) continue;                /* chosen already */
                mine[n_chosen[t]] = j;
                m = an__exog_features_of(e, mine, n_chosen[t] + 1, idx);
                if ((r = an__exog_solve(e, &part[0], f0, y0, t, idx, m, work, c_try)) != AN_OK) break;
                {
                    double err = an__exog_error(e, &part[1], f0, y0, t, idx, m, c_try);
                    if (err < err_best) err_best = err, best = j;
                }
            }
            if (r != AN_OK || best == SIZE_MAX || !(err_best < (1.0 - e->config.gain) * err_now)) break;
            mine[n_chosen[t]++] = best;
            err_now = err_best;
        }
        if (!(err_now < e->config.keep * err_mean)) n_chosen[t] = 0;
    }
    for (k = 0; k < P && r == AN_OK; k++) {          /* every row: both parts' sums together */
        for (j = k; j < P; j++) part[0].ff[k * P + j] += part[1].ff[k * P + j];
        for (j = 0; j < T; j++) part[0].fy[k * T + j] += part[1].fy[k * T + j];
        part[0].f[k] += part[1].f[k];
    }
    for (t = 0; t < T; t++) part[0].y[t] += part[1].y[t], part[0].yy[t] += part[1].yy[t];
    part[0].n += part[1].n;
    for (t = 0; t < T && r == AN_OK; t++) {
        double *c = e->coef + t * (1 + P);
        if (n_chosen[t])
            r = an__exog_solve(e, &part[0], f0, y0, t, idx, an__exog_features_of(e, chosen + t * M, n_chosen[t], idx),
                               work, c);
        else                                         /* the target itself, to the bit */
            for (k = 0; k < 1 + P; k++) c[k] = 0.0;
    }
    if (r == AN_OK) {
        an__exog_residuals(e, x, n, e->residual);
        r = an_detector_fit(e->inner, e->residual, n);
    }
    an_free(&e->alloc, chosen, n_sizes * sizeof(size_t));
    an_free(&e->alloc, block, words * sizeof(double));
    e->primed = 0;
    return r;
}
#endif

static an_result an__exog_score(an_detector *self, const float *x, size_t n, float *scores)
{
    an__exog *e = (an__exog *)self;
    an_result r;
    if ((r = an__exog_reserve(e, n)) != AN_OK) return r;
    an__exog_residuals(e, x, n, e->residual);
    return an_detector_score(e->inner, e->residual, n, scores);
}

static an_result an__exog_push(an_detector *self, const float *row, float *score)
{
    an__exog *e = (an__exog *)self;
    an__exog_features(e, e->state, &e->primed, row);
    an__exog_predict(e, e->coef, row, e->prediction, e->row_residual);
    return an_detector_push(e->inner, e->row_residual, score);
}

static an_result an__exog_reset(an_detector *self)
{
    an__exog *e = (an__exog *)self;
    e->primed = 0;
    return an_detector_reset(e->inner);
}

static an_result an__exog_expected(an_detector *self, double *expected)
{
    an__exog *e = (an__exog *)self;
    size_t t, f;
    an_result r = an_detector_expected(e->inner, e->inner_expected);
    if (r != AN_OK) return r;
    for (f = 0; f < self->n_features; f++) expected[f] = (double)NAN;
    for (t = 0; t < e->n_targets && e->primed; t++)
        expected[e->column[e->n_inputs + t]] = e->inner_expected[t] + e->prediction[t];
    return AN_OK;
}

AN_API an_result an_exog_prediction(const an_detector *d, double *prediction)
{
    const an__exog *e = (const an__exog *)d;
    size_t t, f;
    if (!an__is_exog(d) || !prediction) return AN_ERR_INVALID_ARG;
    if (!e->primed) return AN_ERR_NUMERIC;
    for (f = 0; f < d->n_features; f++) prediction[f] = (double)NAN;
    for (t = 0; t < e->n_targets; t++) prediction[e->column[e->n_inputs + t]] = e->prediction[t];
    return AN_OK;
}

/* An input taken has a weight on one of its features at least; one
   left out has none. */
AN_API an_result an_exog_taken(const an_detector *d, size_t f, unsigned char *taken)
{
    const an__exog *e = (const an__exog *)d;
    size_t t, k, j, R1;
    const double *c;
    if (!an__is_exog(d) || !taken || f >= d->n_features || e->input[f]) return AN_ERR_INVALID_ARG;
    memset(taken, 0, d->n_features);
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    for (t = 0; e->column[e->n_inputs + t] != f; t++) {}
    R1 = e->config.responses + 1;
    c = e->coef + t * (1 + e->P) + 1;
    for (k = 0; k < e->n_inputs; k++)
        for (j = 0; j < R1; j++)
            if (c[k * R1 + j] != 0.0) taken[e->column[k]] = 1;
    return AN_OK;
}

AN_API an_result an_exog_commands(const float *x, size_t n_rows, size_t n_features, unsigned char *input,
                                  size_t *n_inputs)
{
    size_t f, i, n = 0, stepping = 0;
    if (n_inputs) *n_inputs = 0;
    if (!x || !input || !n_inputs || !n_rows || !n_features) return AN_ERR_INVALID_ARG;
    for (f = 0; f < n_features; f++) {            /* input[f]: 0 other, 1 sleeping (one value), 2 stepping */
        int zero = 0, one = 0, other = 0;
        for (i = 0; i < n_rows && !other; i++) {
            float v = x[i * n_features + f];
            if (v == 0.0f) zero = 1;
            else if (v == 1.0f) one = 1;
            else if (v == v) other = 1;        /* NaN is missing, not a third value */
        }
        input[f] = (unsigned char)(other ? 0 : zero + one);
        stepping += input[f] == 2;
    }
    for (f = 0; f < n_features; f++) {
        input[f] = (unsigned char)(input[f] == 2 || (input[f] == 1 && stepping));
        n += input[f];
    }
    if (n == n_features) {                     /* something must be judged */
        memset(input, 0, n_features);
        n = 0;
    }
    *n_inputs = n;
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__exog_save(const an_detector *self, an_writer *w)
{
    const an__exog *e = (const an__exog *)self;
    an_write_begin(w, AN__TAG_EXOG_FIT);
    an_write_u64(w, self->n_features);
    an_write_bytes(w, e->input, self->n_features);
    an_write_u64(w, e->config.responses);
    an_write_f64(w, e->config.ridge);
    an_write_u64(w, e->config.max_inputs);
    an_write_f64(w, e->config.gain);
    an_write_f64(w, e->config.keep);
    an_write_f64s(w, e->coef, e->n_targets * (1 + e->P));
    an_write_u32(w, (uint32_t)e->primed);
    an_write_f64s(w, e->state, e->n_inputs * e->config.responses);
    an_write_f64s(w, e->prediction, e->n_targets);
    an_write_end(w);
    return an_detector_save(e->inner, w);
}
#endif

static void an__exog_destroy(an_detector *self)
{
    an__exog *e = (an__exog *)self;
    an_allocator alloc = e->alloc;
    an_detector_destroy(e->inner);
    an_free(&alloc, e->residual, e->capacity * e->n_targets * sizeof(float));
    an_free(&alloc, e, an__exog_bytes(self->n_features, e->n_inputs, e->n_targets, e->config.responses));
}

/* The 'XFIT' chunk, then the inner detector's 'DETC'. */
static an_result an__exog_load(an_reader *payload, const an_detector_vtable *const *types, size_t n_types,
                               const an_allocator *a, an_detector **out)
{
    an_exog_config c = an_exog_config_init();
    an_reader q, mask;
    an_detector *inner = NULL;
    an__exog *e;
    size_t F, f, n_in = 0;
    uint32_t primed;
    an_result r;
    *out = NULL;
    if ((r = an_read_expect(payload, AN__TAG_EXOG_FIT, &q)) != AN_OK ||
        (r = an_read_count(&q, 2, SIZE_MAX / (AN_EXOG_MAX_RESPONSES + 1) / 16, &F)) != AN_OK ||
        (r = an_reader_need(&q, F, 1)) != AN_OK)
        return r;
    mask = q;                                  /* the input flags, read in place */
    q.pos += F;
    if ((r = an_read_count(&q, 1, AN_EXOG_MAX_RESPONSES, &c.responses)) != AN_OK ||
        (r = an_read_f64(&q, &c.ridge)) != AN_OK || (r = an_read_count(&q, 1, SIZE_MAX, &c.max_inputs)) != AN_OK ||
        (r = an_read_f64(&q, &c.gain)) != AN_OK || (r = an_read_f64(&q, &c.keep)) != AN_OK)
        return r;
    for (f = 0; f < F; f++) {
        unsigned char v = mask.data[mask.pos + f];
        if (v > 1) return AN_ERR_CORRUPT;
        n_in += v;
    }
    if (n_in == 0 || n_in == F) return AN_ERR_CORRUPT;
    if ((r = an__detector_load(payload, types, n_types, a, AN__REFUSE_EXOG, &inner)) != AN_OK) return r;
    if (!an_reader_at_end(payload)) {
        an_detector_destroy(inner);
        return AN_ERR_CORRUPT;
    }
    if ((r = an_exog_create(&c, F, mask.data + mask.pos, inner, a, out)) != AN_OK)
        return r == AN_ERR_INVALID_ARG ? AN_ERR_CORRUPT : r;
    e = (an__exog *)*out;
    if ((r = an_read_f64s(&q, e->coef, e->n_targets * (1 + e->P))) == AN_OK &&
        (r = an_read_u32(&q, &primed)) == AN_OK &&
        (r = an_read_f64s(&q, e->state, e->n_inputs * c.responses)) == AN_OK &&
        (r = an_read_f64s(&q, e->prediction, e->n_targets)) == AN_OK && (!an_reader_at_end(&q) || primed > 1))
        r = AN_ERR_CORRUPT;
    for (f = 0; r == AN_OK && f < e->n_targets * (1 + e->P); f++)
        if (!an__finite(e->coef[f])) r = AN_ERR_CORRUPT;
    if (r != AN_OK) {
        an__exog_destroy(*out);
        *out = NULL;
        return r;
    }
    e->primed = (int)primed;
    return AN_OK;
}

static const an_detector_vtable an__exog_vtable = {
    AN__TAG_EXOG, "inputs", AN__TRAINING(an__exog_fit), an__exog_score, an__exog_push, an__exog_reset,
    AN__TRAINING(an__exog_save), NULL, NULL, an__exog_destroy, an__exog_expected, NULL, NULL
};

AN_API const an_detector_vtable *an_exog_type(void) { return &an__exog_vtable; }

/* ==========================================================================
   12  Synthetic anomalies
   ========================================================================== */
static const char *const an__inject_names[AN_INJECT_KINDS] = {
    "spike", "dip", "shift", "variance", "collapse", "flatline", "trend", "phase", "gap", "period"
};

AN_API const char *an_inject_kind_name(int kind)
{
    return kind >= 0 && kind < AN_INJECT_KINDS ? an__inject_names[kind] : NULL;
}

AN_API an_result an_inject_kind_parse(const char *name, an_inject_kind *kind)
{
    int k;
    if (!name || !kind) return AN_ERR_INVALID_ARG;
    for (k = 0; k < AN_INJECT_KINDS; k++)
        if (!strcmp(name, an__inject_names[k])) { *kind = (an_inject_kind)k; return AN_OK; }
    return AN_ERR_INVALID_ARG;
}

AN_API an_inject_config an_inject_config_init(void)
{
    an_inject_config c;
    memset(&c, 0, sizeof c);
    c.kinds = AN_INJECT_COMMON;
    c.count = 4;
    c.magnitude = 6.0;
    c.min_len = 12;
    c.max_len = 144;
    c.channels_per_event = 1;
    c.separation = 24;
    c.seed = 1;
    return c;
}

AN_API an_result an_inject_scale(const float *x, size_t n_rows, size_t n_features, const an_allocator *a,
                                 double *scale)
{
    float *d;
    size_t i, f, m, bytes;
    an_result r = AN_OK;
    if (!x || !scale || n_features == 0) return AN_ERR_INVALID_ARG;
    if (n_rows < 3) return AN_ERR_TOO_SHORT;
    if (an__mul(n_rows, n_features) == SIZE_MAX || (bytes = an__mul(n_rows, sizeof(float))) == SIZE_MAX)
        return AN_ERR_TOO_LARGE;
    for (i = 0; i < n_rows * n_features; i++)
        if (!an__finite(x[i])) return AN_ERR_INPUT;
    if (!(d = (float *)an_malloc(a, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    m = n_rows - 1;
    for (f = 0; f < n_features && r == AN_OK; f++) {
        double med, mad, mean_abs = 0.0;
        for (i = 0; i < m; i++) d[i] = (float)((double)x[(i + 1) * n_features + f] - (double)x[i * n_features + f]);
        if ((r = an_percentile_inplace(d, m, 50.0, &med)) != AN_OK) break;
        for (i = 0; i < m; i++) {
            d[i] = (float)fabs((double)d[i] - med);
            mean_abs += (double)d[i];
        }
        if ((r = an_percentile_inplace(d, m, 50.0, &mad)) != AN_OK) break;
        mean_abs /= (double)m;
        if (mad > 0.0) scale[f] = 1.482602218505602 * mad / sqrt(2.0);
        else if (mean_abs > 0.0) scale[f] = 1.2533141373155 * mean_abs / sqrt(2.0);  /* sqrt(pi / 2) */
        else scale[f] = 1.0;
        if (!an__finite(scale[f])) r = AN_ERR_NUMERIC;
    }
    an_free(a, d, bytes);
    return r;
}

/* Rows an anomaly of this kind may last: [*lo, *hi]. */
static void an__inject_lengths(const an_inject_config *c, int kind, size_t *lo, size_t *hi)
{
    if (kind == AN_INJECT_SPIKE || kind == AN_INJECT_DIP) { *lo = *hi = 1; return; }
    if (kind == AN_INJECT_PHASE) { *lo = c->period / 2; *hi = c->period; return; }
    if (kind == AN_INJECT_PERIOD) { *lo = c->period; *hi = 2 * c->period; return; }
    *lo = c->min_len;
    *hi = c->max_len;
}

AN_API an_result an_inject_plan(size_t n_rows, size_t n_features, const an_inject_config *cfg,
                                an_inject_event *events, size_t capacity, size_t *n_events)
{
    an_rng rng;
    int bag[AN_INJECT_KINDS], n_bag = 0, used = 0, k;
    size_t allowed = 0, f, g, needed, slot, out = 0;
    if (n_events) *n_events = 0;
    if (!cfg || !n_events || (capacity && !events) || n_rows == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    if (!cfg->kinds || (cfg->kinds & ~AN_INJECT_ALL) || cfg->channels_per_event == 0 || cfg->min_len == 0 ||
        cfg->min_len > cfg->max_len || !an__finite(cfg->magnitude) || cfg->magnitude < 0.0)
        return AN_ERR_INVALID_ARG;
    if ((cfg->kinds & (AN_INJECT_BIT(AN_INJECT_PHASE) | AN_INJECT_BIT(AN_INJECT_PERIOD))) && cfg->period < 4)
        return AN_ERR_INVALID_ARG;
    for (f = 0; f < n_features; f++) allowed += !cfg->channel_ok || cfg->channel_ok[f];
    if (cfg->channels_per_event > allowed) return AN_ERR_INVALID_ARG;
    needed = an__mul(cfg->count, cfg->channels_per_event);
    if (needed == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (needed > capacity) { *n_events = needed; return AN_ERR_SHAPE; }
    if (cfg->count == 0) return AN_OK;
    if (cfg->first_row >= n_rows) return AN_ERR_TOO_SHORT;
    slot = (n_rows - cfg->first_row) / cfg->count;
    /* Every enabled kind must fit its slot at its shortest. */
    for (k = 0; k < AN_INJECT_KINDS; k++) {
        size_t lo, hi, need;
        if (!(cfg->kinds & AN_INJECT_BIT(k))) continue;
        an__inject_lengths(cfg, k, &lo, &hi);
        need = an__add(an__add(cfg->separation, lo), k == AN_INJECT_PHASE ? cfg->period / 4 : 0);
        if (need > slot) return AN_ERR_TOO_SHORT;
    }
    an_rng_seed(&rng, cfg->seed, 0x1A7E);
    for (g = 0; g < cfg->count; g++) {
        size_t lo, hi, len, start, room, base = cfg->first_row + g * slot + cfg->separation, chosen = 0, seen = 0;
        int kind, sign;
        if (used == n_bag) {                          /* a fresh shuffled bag of the enabled kinds */
            n_bag = 0;
            for (k = 0; k < AN_INJECT_KINDS; k++)
                if (cfg->kinds & AN_INJECT_BIT(k)) bag[n_bag++] = k;
            for (k = n_bag - 1; k > 0; k--) {
                int j = (int)an_rng_below(&rng, (uint64_t)k + 1), t = bag[k];
                bag[k] = bag[j];
                bag[j] = t;
            }
            used = 0;
        }
        kind = bag[used++];
        an__inject_lengths(cfg, kind, &lo, &hi);
        room = slot - cfg->separation;
        if (kind == AN_INJECT_PHASE && cfg->first_row + g * slot + cfg->separation < cfg->period / 4) {
            size_t shift = cfg->period / 4 - (cfg->first_row + g * slot + cfg->separation);
            base += shift;
            room -= shift;
        }
        if (hi > room) hi = room;
        len = lo + (size_t)an_rng_below(&rng, (uint64_t)(hi - lo) + 1);
        start = base + (size_t)an_rng_below(&rng, (uint64_t)(room - len) + 1);
        sign = kind == AN_INJECT_DIP ? -1 : (kind != AN_INJECT_SHIFT && kind != AN_INJECT_TREND) ? 1
             : (an_rng_u32(&rng) & 1u) ? 1 : -1;
        /* cfg->channels_per_event of the allowed channels, each equally
           likely (selection sampling, Knuth's algorithm S). */
        for (f = 0; f < n_features && chosen < cfg->channels_per_event; f++) {
            an_inject_event *e;
            if (cfg->channel_ok && !cfg->channel_ok[f]) continue;
            if ((double)(allowed - seen++) * an_rng_uniform(&rng) >= (double)(cfg->channels_per_event - chosen))
                continue;
            chosen++;
            e = &events[out++];
            memset(e, 0, sizeof *e);                  /* padding too: same seed, same bytes */
            e->kind = (an_inject_kind)kind;
            e->start = start;
            e->end = start + len - 1;
            e->channel = f;
            e->group = g;
            e->magnitude = cfg->magnitude;
            e->scale = 1.0;
            e->sign = sign;
        }
    }
    *n_events = out;
    return AN_OK;
}

#define AN__COLLAPSE_HALF 6   /* the collapse's moving average is 2 * 6 + 1 rows wide */

AN_API an_result an_inject_apply(float *x, size_t n_rows, size_t n_features, const an_inject_event *events,
                                 size_t n_events, size_t period, uint64_t seed, unsigned char *row_mask,
                                 unsigned char *cell_mask)
{
    size_t i, k, t, total;
    if (!x || n_rows == 0 || n_features == 0 || (n_events && !events)) return AN_ERR_INVALID_ARG;
    if ((total = an__mul(n_rows, n_features)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (k = 0; k < n_events; k++) {
        const an_inject_event *e = &events[k];
        if ((unsigned)e->kind >= AN_INJECT_KINDS || e->start > e->end || e->end >= n_rows ||
            e->channel >= n_features || !an__finite(e->magnitude) || !an__finite(e->scale) || !(e->scale > 0.0) ||
            (e->sign != 1 && e->sign != -1))
            return AN_ERR_INVALID_ARG;
        if (e->kind == AN_INJECT_PHASE && (period < 4 || e->start < period / 4)) return AN_ERR_INVALID_ARG;
    }
    for (i = 0; i < total; i++)
        if (!an__finite(x[i])) return AN_ERR_INPUT;
    if (row_mask) memset(row_mask, 0, n_rows);
    if (cell_mask) memset(cell_mask, 0, total);
    for (k = 0; k < n_events; k++) {
        const an_inject_event *e = &events[k];
        const size_t F = n_features, c = e->channel;
        const double size = (double)e->sign * e->magnitude * e->scale;
        float *col = x + c;                                 /* col[t * F] is row t */
        an_rng rng;
        switch (e->kind) {
        case AN_INJECT_SPIKE:
        case AN_INJECT_DIP:
        case AN_INJECT_SHIFT:
            for (t = e->start; t <= e->end; t++) col[t * F] = (float)((double)col[t * F] + size);
            break;
        case AN_INJECT_VARIANCE:
            an_rng_seed(&rng, seed, (uint64_t)k);
            for (t = e->start; t <= e->end; t++)
                col[t * F] = (float)((double)col[t * F] + e->magnitude * e->scale * an_rng_normal(&rng));
            break;
        case AN_INJECT_COLLAPSE: {
            /* Centred moving average of the values before the event: the
               ring keeps the original of the rows already overwritten. */
            float ring[2 * AN__COLLAPSE_HALF + 1];
            const size_t W = 2 * AN__COLLAPSE_HALF + 1;
            size_t lo = e->start > AN__COLLAPSE_HALF ? e->start - AN__COLLAPSE_HALF : 0, r;
            for (r = lo; r < n_rows && r <= e->start + AN__COLLAPSE_HALF; r++) ring[r % W] = col[r * F];
            for (t = e->start; t <= e->end; t++) {
                size_t a = t > AN__COLLAPSE_HALF ? t - AN__COLLAPSE_HALF : 0;
                size_t b = t + AN__COLLAPSE_HALF < n_rows ? t + AN__COLLAPSE_HALF : n_rows - 1;
                double sum = 0.0;
                for (r = a; r <= b; r++) sum += (double)ring[r % W];
                col[t * F] = (float)(sum / (double)(b - a + 1));
                if (t + AN__COLLAPSE_HALF + 1 < n_rows)
                    ring[(t + AN__COLLAPSE_HALF + 1) % W] = col[(t + AN__COLLAPSE_HALF + 1) * F];
            }
            break;
        }
        case AN_INJECT_FLATLINE: {
            float v = col[(e->start ? e->start - 1 : 0) * F];
            for (t = e->start; t <= e->end; t++) col[t * F] = v;
            break;
        }
        case AN_INJECT_TREND: {
            double len = (double)(e->end - e->start + 1);
            for (t = e->start; t <= e->end; t++)
                col[t * F] = (float)((double)col[t * F] + size * (double)(t - e->start + 1) / len);
            break;
        }
        case AN_INJECT_PHASE: {
            size_t d = period / 4;
            for (t = e->end + 1; t-- > e->start;) col[t * F] = col[(t - d) * F];   /* backwards: reads unmoved rows */
            break;
        }
        case AN_INJECT_GAP:
            for (t = e->start; t <= e->end; t++) col[t * F] = (float)NAN;
            break;
        case AN_INJECT_PERIOD:   /* backwards: row start + (2u + 1) / 3 <= t is still unmoved */
            for (t = e->end + 1; t-- > e->start;) col[t * F] = col[(e->start + (2 * (t - e->start) + 1) / 3) * F];
            break;
        }
        for (t = e->start; t <= e->end; t++) {
            if (row_mask) row_mask[t] = 1;
            if (cell_mask) cell_mask[t * F + c] = 1;
        }
    }
    return AN_OK;
}

AN_API an_result an_inject(float *x, size_t n_rows, size_t n_features, const an_inject_config *cfg,
                           const double *scale, an_inject_event *events, size_t capacity, size_t *n_events,
                           unsigned char *row_mask, unsigned char *cell_mask)
{
    an_result r;
    size_t k;
    if (n_events) *n_events = 0;
    if (!x || !scale || !cfg || !n_events) return AN_ERR_INVALID_ARG;
    if ((r = an_inject_plan(n_rows, n_features, cfg, events, capacity, n_events)) != AN_OK) return r;
    for (k = 0; k < *n_events; k++) {
        if (!an__finite(scale[events[k].channel]) || !(scale[events[k].channel] > 0.0)) return AN_ERR_INVALID_ARG;
        events[k].scale = scale[events[k].channel];
    }
    return an_inject_apply(x, n_rows, n_features, events, *n_events, cfg->period, cfg->seed, row_mask, cell_mask);
}

AN_API an_synth_config an_synth_config_init(an_synth_shape shape, uint64_t seed)
{
    an_synth_config c;
    memset(&c, 0, sizeof c);
    c.shape = shape;
    c.period = 288;
    c.level = 100.0;
    c.amplitude = 10.0;
    c.trend = 1.0;
    c.ar = 0.99;
    c.noise = 1.0;
    c.seed = seed;
    return c;
}

static const char *const an__synth_names[AN_SYNTH_SHAPES] = { "daily", "daily-weekly", "trend-daily", "ar1" };

AN_API const char *an_synth_shape_name(int shape)
{
    return shape >= 0 && shape < AN_SYNTH_SHAPES ? an__synth_names[shape] : NULL;
}

AN_API an_result an_synth_series(float *x, size_t n_rows, size_t n_features, const an_synth_config *cfg)
{
    const double two_pi = 6.283185307179586;
    size_t t, f;
    int seasonal;
    if (!x || !cfg || n_rows == 0 || n_features == 0) return AN_ERR_INVALID_ARG;
    if ((unsigned)cfg->shape >= AN_SYNTH_SHAPES) return AN_ERR_INVALID_ARG;
    seasonal = cfg->shape != AN_SYNTH_AR1;
    if ((seasonal && cfg->period < 2) || !an__finite(cfg->level) || !an__finite(cfg->amplitude) ||
        !an__finite(cfg->trend) || !an__finite(cfg->noise) || cfg->noise < 0.0 || cfg->amplitude < 0.0 ||
        !an__finite(cfg->ar) || (!seasonal && fabs(cfg->ar) >= 1.0))
        return AN_ERR_INVALID_ARG;
    if (an__mul(n_rows, n_features) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (f = 0; f < n_features; f++) {
        an_rng rng;
        double phi, psi, e;
        an_rng_seed(&rng, cfg->seed, (uint64_t)f);
        phi = two_pi * an_rng_uniform(&rng);
        psi = two_pi * an_rng_uniform(&rng);
        e = 0.5 * cfg->noise / sqrt(1.0 - cfg->ar * cfg->ar) * an_rng_normal(&rng);   /* stationary start */
        for (t = 0; t < n_rows; t++) {
            double v = cfg->level, P = (double)cfg->period, u;
            if (seasonal) {
                u = two_pi * (double)t / P + phi;
                v += cfg->amplitude * (sin(u) + 0.35 * sin(2.0 * u + 0.8));
                if (cfg->shape == AN_SYNTH_DAILY_WEEKLY) v += 0.5 * cfg->amplitude * sin(two_pi * (double)t / (7.0 * P) + psi);
                if (cfg->shape == AN_SYNTH_TREND_DAILY) v += cfg->trend * (double)t / P;
            } else {
                if (t) e = cfg->ar * e + 0.5 * cfg->noise * an_rng_normal(&rng);
                v += e;
            }
            v += cfg->noise * an_rng_normal(&rng);
            x[t * n_features + f] = (float)v;
        }
    }
    return AN_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the anomaly.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
------------------------------------------------------------------------------
*/
