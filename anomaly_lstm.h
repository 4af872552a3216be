/* anomaly_lstm.h - v0.1.0 - LSTM networks for anomaly.h, trained in-process.
   No dependencies beyond anomaly.h, libc and libm.  Licence: see anomaly.h.

   Include after (or instead of) anomaly.h; with ANOMALY_IMPLEMENTATION
   defined in one file, this header's code is emitted there too.

   With ANOMALY_NO_TRAINING (anomaly.h's options) the models load and
   score only: their fit, save and gradient entries are NULL (the generic
   calls return AN_ERR_UNSUPPORTED), so training, the backward passes and
   Adam are not linked through the detectors; loading reads the parameters
   without drawing random ones first.  Scores are bit for bit the full
   build's.  The layer and Adam functions themselves stay public.

   Sections, in reading order:
       1  Layers       LSTM (forward + backpropagation through time), dense /
                       time-distributed dense, repeat vector, dropout
       2  Losses       MSE, MAE, binary cross-entropy and focal loss on logits
       3  Adam         bias-corrected Adam, decoupled weight decay, global-norm
                       gradient clipping, frozen parameter ranges
       4  Models       the LSTM autoencoder (encoder stack -> (latent
                       dense) -> repeat -> decoder stack -> time-distributed
                       dense), the forecaster (telemanom) and the
                       classifier / score head, all detectors; training
                       loop, scoring, streaming, records, save/load
       5  VAE          a variational autoencoder over windows (dense or
                       LSTM encoder / decoder), a detector and a
                       generator of synthetic windows

   Every model also gives anomaly records (an_lstm_explain), a training
   record with threshold state (an_lstm_info_get) and the detector's input
   gradient.

   CONVENTIONS

   - float32 parameters and activations; losses and norms summed in double.
   - Batches are batch-first, row-major: x (B, T, I) holds window b's input
     at step t in x[(b T + t) I + i], as PyTorch's batch_first=True.
   - The layer functions are kernels in the sense of anomaly.h section 5:
     they trust their arguments (the models check them), they allocate
     nothing, and backward passes ACCUMULATE (+=) into parameter gradients
     and input gradients, so zeroing gradients is an explicit step.
   - LSTM weights are laid out exactly as PyTorch's nn.LSTM: weight_ih
     (4H, I), weight_hh (4H, H) and two biases bias_ih, bias_hh (4H), gate
     row blocks in the order i, f, g, o.  A state dict maps one to one; for
     Keras, kernel = weight_ih^T, recurrent_kernel = weight_hh^T, bias =
     bias_ih + bias_hh.  Two biases (rather than one fused) keep Adam's
     trajectory identical to PyTorch's: Adam moves each bias by its own
     step, so the sum moves twice as far as one fused bias would.

   CORRECTNESS

   tests/test_lstm.c checks every layer two ways:
   - against PyTorch 1.13 float64 autograd (tests/fixtures/lstm_torch.h):
     forward outputs and every gradient, including the input's, agree to
     7e-8 relative to the tensor's largest entry (float32 rounding of a
     float64 reference; the test holds 2e-7), and ten Adam, AdamW and
     clipped Adam steps to 7e-7 (held to 5e-6);
   - against central finite differences of the float32 code itself, for
     every parameter and input entry, with tanh, relu and linear
     activations, stacked layers, dropout with a fixed mask, and every
     loss.  float32 cannot give finite differences to more than 3-4 digits
     (step h = 1e-2 balances truncation h^2 against rounding 1e-7 / h), so
     these checks hold 1e-2 relative and catch structural mistakes (a wrong
     index, sign or missing term), while the float64 PyTorch reference
     catches loss of accuracy.  Neither needs Python at test time.
   The models' scores, gradients, records and files are tested too, on
   every SIMD path (scalar, AVX2, AVX-512, NEON under qemu) and under
   ASan/UBSan.

   OPTIONS (#define before including, in the implementation file)

     ANOMALY_LSTM_MAX_LOAD_BYTES    largest inference block (parameters and
                                    buffers, the bytes to score) a model
                                    file may make the loader allocate;
                                    default 1 GiB
     ANOMALY_LSTM_LOAD_SLACK_BYTES  of that, the most beyond the parameters
                                    themselves (activation buffers, the
                                    stream's rows); default 32 MiB
     ANOMALY_LSTM_LOAD_BATCH        the largest scoring batch a loaded model
                                    gets; default 32
     ANOMALY_LSTM_LOAD_IN_PLACE     1: loaded LSTM models (autoencoder,
                                    forecaster, classifier; not the VAE)
                                    are load-and-score only and as small
                                    as they can be, for firmware: they
                                    read their weights where the model
                                    file lies (its memory must then
                                    outlive the model; the weights are
                                    copied when not 4-byte aligned IEEE
                                    little-endian floats), make no
                                    transposed copies of them and keep no
                                    per-step buffers: a window runs one
                                    step at a time through every layer
                                    ("Loading" in section 4); default 0
     ANOMALY_LSTM_BATCH_BYTES       an_detector_gradient_batch puts as many
                                    windows in a pass as keep the layers'
                                    per-step buffers within this many bytes
                                    (about one core's L2: a batch that spills
                                    it was slower, README "Performance"), at
                                    least 1 and at most the model's batch;
                                    default 1 MiB (an_detector_score_batch
                                    keeps no gates and passes the model's
                                    batch, at most 32 windows)
   and, fixed: AN_LSTM_MAX_BYTES, the most any model may need (inference
   plus training block), 1 TiB where size_t has 64 bits and half the
   address space where it has 32.  A request beyond any of them is
   AN_ERR_TOO_LARGE.  How the loader uses them: see "Loading" in section 4.

   CONFIGURATION: WHAT A MODEL IS, AND HOW IT TRAINS

   An an_lstm_config says what a model is: its sizes (window, layers,
   units, latent, batch, predictions, classes), what its weights
   are trained for (activation, loss, scaler, dropout, gamma, class
   weights), how it scores (channel_agg, window_agg, stateful_stream) and
   its seed.  The width of the data (n_features, F) is not in it: it is
   an argument of create and of the *_memory functions, as for every
   detector, so one configuration serves series of any width.  It is
   checked once, at create (or load), and but for its
   `train` member (below) never changes after: an_lstm_config_of gives a
   read-only view.  To change any of the rest, create a new model.
   An an_lstm_train_config says how one training run goes (epochs,
   stride, validation, early stopping, Adam, progress).  an_lstm_fit,
   an_lstm_update and an_lstm_classifier_train take one and check it
   before they touch the model: a bad one is AN_ERR_INVALID_ARG with the
   model as it was.  NULL means the model's own training configuration:
   the `train` member of the configuration it was created with (or
   loaded from its file), which an_detector_fit uses and
   an_lstm_set_train_config replaces (checked the same way).

   THREAD SAFETY

   No global state: two threads may use two models at once.  One model is
   not safe to use from two threads at once (scoring writes its
   activation buffers).  The layer functions touch only what they are
   given. */
#ifndef ANOMALY_LSTM_H_INCLUDED
#define ANOMALY_LSTM_H_INCLUDED

#include "anomaly.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
   1  Layers
   ========================================================================== */

/* Cell-input and output activation of an LSTM (Keras' `activation`); the
   gates i, f, o always use the sigmoid.  tanh is the standard cell;
   relu and linear are what some Keras anomaly models use. */
typedef enum an_activation {
    AN_ACT_TANH   = 0,
    AN_ACT_RELU   = 1,
    AN_ACT_LINEAR = 2
} an_activation;

/* One LSTM layer, I inputs -> H units.  For step t (h_0 = c_0 = 0):
     a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                   (4H)
     i = sigmoid(a[0,H))  f = sigmoid(a[H,2H))  g = act(a[2H,3H))
     o = sigmoid(a[3H,4H))
     c_t = f c_{t-1} + i g,   h_t = o act(c_t)
   (Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000;
   the layout of pytorch.org/docs/stable/generated/torch.nn.LSTM.html.)
   The parameter pointers are views into a model's contiguous block; the
   gradient pointers may be NULL for inference. */
typedef struct an_lstm_layer {
    size_t I, H;
    an_activation act;
    float *W_ih, *W_hh, *b_ih, *b_hh;       /* (4H,I) (4H,H) (4H) (4H) */
    float *dW_ih, *dW_hh, *db_ih, *db_hh;   /* same shapes, accumulated */
} an_lstm_layer;

/* What a layer's forward pass keeps for its backward pass, for B windows
   of T steps.  wt, gates, c, ac and h are written by forward; dz and work
   are backward's scratch (NULL for inference). */
typedef struct an_lstm_layer_buffers {
    float *wt;     /* (I+H,4H) W_ih^T (I,4H), then W_hh^T (H,4H) in
                      column panels: columns p..p+w-1 (p a multiple
                      of AN_LSTM_PANEL, w = min(AN_LSTM_PANEL,
                      4H - p)) as an (H,w) block at wt + I 4H + p H,
                      row stride w.  Forward's products become
                      broadcast (outer-product) form, with no
                      horizontal sums, and the batch-1 recurrence
                      reads W_hh^T as one sequential stream        */
    float *gates;  /* (B,T,4H) activated gates i, f, g, o         */
    float *c;      /* (B,T,H)  cell states                        */
    float *ac;     /* (B,T,H)  act(c)                             */
    float *h;      /* (B,T,H)  outputs h_t: the layer's sequence  */
    float *dz;     /* (B,T,4H) dL/da_t                            */
    float *work;   /* (B,6H)   recurrent dh, dc, summed dz        */
    float *step;   /* (B,5H)   B > 1 only (else NULL): one step's
                      gates (B,4H) and previous outputs (B,H)
                      gathered into adjacent rows for the
                      recurrent product (in place, rows T 4H
                      floats apart share a few cache sets)       */
} an_lstm_layer_buffers;

/* Returns: the number of parameters, 4H I + 4H H + 8H. */
AN_API size_t an_lstm_layer_param_count(size_t I, size_t H);
/* Keras' initialisation: W_ih Glorot uniform (fan_in I, fan_out 4H),
   W_hh orthogonal (orthonormal columns of a Gaussian 4H x H matrix),
   biases 0 except b_ih's forget block = 1 (unit_forget_bias). */
AN_API void an_lstm_layer_init_params(const an_lstm_layer *L, an_rng *rng);
/* Returns: the floats an_lstm_layer_buffers_carve needs for B x T
   windows (each array rounded up to AN_ALIGN bytes); training adds dz
   and work, B > 1 adds step. */
AN_API size_t an_lstm_layer_buffer_floats(size_t B, size_t T, size_t I, size_t H, int training);
/* Points buf's arrays into mem (AN_ALIGN-aligned, an_lstm_layer_buffer_floats). */
AN_API void an_lstm_layer_buffers_carve(an_lstm_layer_buffers *buf, float *mem, size_t B, size_t T, size_t I, size_t H,
                                        int training);

/* Columns of a W_hh^T panel in buf->wt (the last panel may be narrower). */
#define AN_LSTM_PANEL 64

/* Writes buf->wt, the transposed weights forward multiplies with: call
   it after the weights change (an optimizer step, loading) and before
   an_lstm_layer_forward.  Inference with fixed weights pays for it once. */
AN_API void an_lstm_layer_prepare(const an_lstm_layer *L, const an_lstm_layer_buffers *buf);
/* Forward over B windows of T steps (after an_lstm_layer_prepare).
     x       (B,T,I) inputs, or with repeat != 0 (B,I): the same input at
             every step (RepeatVector folded in: the input projection is
             computed once per window instead of T times)
   Writes buf->gates, c, ac, h. */
AN_API void an_lstm_layer_forward(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, size_t B, size_t T,
                                  const float *x, int repeat);
/* One step of one window (batch 1, streaming): with a_t from x (I) and
   h (H), updates h and c (H) in place; z is (5H) scratch.  Uses buf->wt
   (an_lstm_layer_prepare) only.  O(H (I + H)). */
AN_API void an_lstm_layer_step(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, const float *x, float *h, float *c,
                               float *z);
/* Backpropagation through time after an_lstm_layer_forward on the same x.
     dh_seq  (B,T,H) dL/dh_t from above for every step, or NULL
     dh_last (B,H)   dL/dh_T added at the last step, or NULL
     dx      (B,T,I) (or (B,I) with repeat) += dL/dx, or NULL
   Accumulates into L's dW_ih, dW_hh, db_ih, db_hh; with L->dW_ih NULL
   (an input gradient only: integrated gradients) it skips all four,
   about a third of the work, and dx is the same. */
AN_API void an_lstm_layer_backward(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, size_t B, size_t T,
                                   const float *x, int repeat, const float *dh_seq, const float *dh_last, float *dx);

/* Dense layer y = x W^T + b over N rows, W (O,I) as PyTorch's nn.Linear.
   Time-distributed dense is the same call with N = B T rows.
     forward   y (N,O) is overwritten
     backward  dW (O,I) += dy^T x,  db (O) += column sums of dy,
               dx (N,I) += dy W (each of dW, db, dx may be NULL) */
AN_API void an_dense_forward(size_t N, size_t I, size_t O, const float *x, const float *W, const float *b,
                             float *y);
AN_API void an_dense_backward(size_t N, size_t I, size_t O, const float *x, const float *W, const float *dy,
                              float *dW, float *db, float *dx);
/* Glorot uniform W (fan_in I, fan_out O), b = 0. */
AN_API void an_dense_init_params(size_t I, size_t O, float *W, float *b, an_rng *rng);

/* RepeatVector: y (B,T,D) = x (B,D) at every step; backward dx += sum over
   t of dy. */
AN_API void an_repeat_forward(size_t B, size_t T, size_t D, const float *x, float *y);
AN_API void an_repeat_backward(size_t B, size_t T, size_t D, const float *dy, float *dx);

/* Inverted dropout with rate p in [0, 1): mask[i] = 0 with probability p,
   else 1 / (1 - p), drawn from rng (so a fixed seed gives a fixed mask).
   Apply with an_dropout_apply in forward (y = x mask) and again on the
   gradient in backward (dx = dy mask).  Inference skips dropout. */
AN_API void an_dropout_mask(an_rng *rng, size_t n, float p, float *mask);
AN_API void an_dropout_apply(size_t n, const float *mask, const float *x, float *y);

/* ==========================================================================
   2  Losses
   ==========================================================================
   The mean over all n entries of a per-entry loss; grad (n) receives
   dLoss/dpred (overwritten) when not NULL.  Sums run in double.
     MSE    (p - y)^2
     MAE    |p - y|              (gradient sign(p - y), 0 at p = y)
     BCE    on logits z: w_k (max(z,0) - z y + log(1 + exp(-|z|)))
     FOCAL  on logits z, p = sigmoid(z) (Lin et al. 2017):
            -w_k (y (1-p)^gamma log p + (1-y) p^gamma log(1-p));
            gamma = 0 is BCE
   For BCE and focal, entries are (rows, n_classes) with class k = i mod
   n_classes and per-class weight w_k (class_weight NULL = all 1); targets
   must lie in [0, 1].
   Returns: AN_OK; AN_ERR_INPUT for NaN or Inf in pred or target or a
   target outside [0, 1] (BCE, focal); AN_ERR_SHAPE when n is not a
   multiple of n_classes; AN_ERR_INVALID_ARG for a bad kind or gamma. */
typedef enum an_loss_kind {
    AN_LOSS_MSE   = 0,
    AN_LOSS_MAE   = 1,
    AN_LOSS_BCE   = 2,
    AN_LOSS_FOCAL = 3
} an_loss_kind;

AN_API an_result an_loss(an_loss_kind kind, const float *pred, const float *target, size_t n,
                         size_t n_classes, const float *class_weight, double gamma,
                         double *loss, float *grad);

/* ==========================================================================
   3  Adam
   ==========================================================================
   torch.optim.Adam / AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019),
   step t = 1, 2, ...:
     g  = g * min(1, clip_norm / (||g|| + 1e-6))   if clip_norm > 0, where
          ||g|| is the L2 norm over every trainable entry (one global norm,
          torch.nn.utils.clip_grad_norm_)
     p  = p (1 - lr weight_decay)                   decoupled decay (AdamW)
     m  = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
     p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
   m and v are float32 blocks of the parameter count, allocated once. */
typedef struct an_adam_config {
    double lr;            /* learning rate, default 1e-3         */
    double beta1, beta2;  /* 0.9, 0.999                          */
    double eps;           /* 1e-8 (PyTorch's; Keras uses 1e-7)   */
    double weight_decay;  /* decoupled, 0 = plain Adam           */
    double clip_norm;     /* global-norm clipping, 0 = off       */
} an_adam_config;

typedef struct an_adam {
    an_adam_config cfg;
    uint64_t t;           /* steps taken */
    size_t n;
    float *m, *v;         /* (n) moments */
    void *heap;
    size_t owned_bytes;   /* freed at uninit; 0 when the caller owns heap */
    an_allocator alloc;
} an_adam;

/* Returns: the defaults above with learning rate lr. */
AN_API an_adam_config an_adam_config_init(double lr);
/* Returns: AN_OK with *bytes, the heap an_adam_init_preallocated needs
   for n parameters; AN_ERR_TOO_LARGE. */
AN_API an_result an_adam_heap_size(size_t n, size_t *bytes);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad cfg, n = 0 or a NULL
   heap; AN_ERR_TOO_LARGE. */
AN_API an_result an_adam_init_preallocated(an_adam *opt, const an_adam_config *cfg, size_t n, void *heap);
/* Returns: AN_OK; AN_ERR_INVALID_ARG for a bad cfg; AN_ERR_NOMEM. */
AN_API an_result an_adam_init(an_adam *opt, const an_adam_config *cfg, size_t n, const an_allocator *a);
AN_API void      an_adam_uninit(an_adam *opt);
/* Forget the moments and the step count. */
AN_API void      an_adam_reset(an_adam *opt);
/* One step on params (n) with gradients grads (n); grads are scaled in
   place when clipped.  grad_norm (optional) receives the pre-clip norm.
   Returns: AN_OK, or AN_ERR_NUMERIC for a non-finite gradient (nothing
   changes). */
AN_API an_result an_adam_step(an_adam *opt, float *params, float *grads, double *grad_norm);
/* The same over the trainable entries only: `ranges` holds n_ranges pairs
   [begin, end) of indices; entries outside them (frozen layers) keep
   their values and their moments, and do not count in the clipping norm.
   Returns: as an_adam_step; AN_ERR_INVALID_ARG for a range outside n. */
AN_API an_result an_adam_step_ranges(an_adam *opt, float *params, float *grads, const size_t *ranges,
                                     size_t n_ranges, double *grad_norm);

/* ==========================================================================
   4  Models
   ==========================================================================
   The autoencoder, the Keras anomaly model, as a detector:

       x (B,T,F) -> encoder LSTM stack (units[0..n_layers), last layer
       returns its last state) -> [latent dense, linear] -> repeat T ->
       decoder LSTM stack (units reversed, full sequences) ->
       time-distributed dense (F) -> reconstruction (B,T,F)

   trained to reconstruct scaled windows of normal data.  Parameters live
   in one contiguous block in the order encoder layers (W_ih, W_hh, b_ih,
   b_hh each), latent (W, b), decoder layers, output (W, b); gradients,
   Adam's moments and the best checkpoint are blocks of the same layout.
   an_lstm_param_view names the views ("encoder.0.W_ih", ...).

   Training (an_lstm_fit, an_detector_fit; the fields named are the
   training configuration's but for window, batch and seed): the series
   is scaled (the scaler is fitted first), cut into windows of `window`
   rows every `stride` rows, and the windows split chronologically: the
   last val_fraction of them validate,
   and training windows that overlap a validation window are dropped, so
   no validation row is ever trained on.  Each epoch shuffles the training
   windows with an an_rng seeded from `seed` and runs mini-batches of
   `batch` with Adam.  After each epoch the validation loss (the training
   loss without validation) is compared with the best so far: an
   improvement by more than min_delta saves a checkpoint; `patience`
   epochs without one stop training (0 = never stop early); the best
   checkpoint is restored at the end.  The progress callback sees every
   epoch and may cancel (AN_ERR_CANCELLED; the model is then not fitted).
   Same seed, same data, same SIMD path -> bit-identical weights.

   Scoring (an_detector_score): window w = rows [w, w + T), every row
   start; the error of row r in window w is the mean (channel_agg MAX:
   the largest) over features of (reconstruction - x)^2 (MAE: |.|) in
   scaled units, each feature's error times its weight under
   channel_norm (below).  How a row's errors over the windows that cover
   it make its score is window_agg:
     LAST  (the default) the error of row r as the last row of the window
           that ends at it, w = r - T + 1: causal, the same bits as push
           gives row r; rows 0 .. T - 2 have no such window and score 0
     MEAN  the mean over every window that covers r (looks ahead T - 1
           rows; every row gets a score)
     MAX   the largest of them
   A series shorter than the window is AN_ERR_TOO_SHORT.
   an_lstm_errors gives the unaggregated errors per window, step and
   feature (unweighted).
   channel_norm (several features; off by default, the CLI turns it on):
   fit gives feature f the weight A / s_f, where s_f is the 99.9th
   percentile of f's errors on the training rows the model scores (each
   window's last output) and A the features' average of them (s_f taken
   as at least A / 100).  A feature the model cannot predict (noise, a
   command that steps when it will) then counts no more than one it
   predicts well, whose 6-sigma spike its everyday error would otherwise
   drown.  The weights are saved with the model (files without them load
   with every weight 1) and enter the gradient.
   Centring (the autoencoder's cfg.centre 1; 0 by default): fit, score,
   push and the gradient give the network each window less its level per
   feature (scaled units), the median of the means of the window's three
   thirds, and compare the reconstruction with that centred window; the
   expectation adds the level back.  The model then judges shapes, not
   levels: a level the training rows never reached is no anomaly by
   itself (uncentred, every row of a trend past the training range scores
   high), a step inside a window still is.  The median, not the mean: an
   anomaly inside one third does not move the level, so the ordinary
   rows after a level shift has ended are not judged against a level it
   raised (with the mean, a row 10 hours after a shift of the demo's
   became a false event).  The forecaster and the classifier do not
   centre (AN_ERR_INVALID_ARG).
   Streaming (an_detector_push): the last T rows are kept; the score of a
   row is its error as the last row of the window ending at it (causal),
   0 until T rows have been seen: window_agg LAST's score.
   Gradient (an_detector_gradient, for integrated gradients): the exact
   d score[t] / d x of the rule above, through the network, the target
   and the scaler, for all three models and every aggregation (a max is
   differentiated at its argmax); its first call allocates the training
   block.
   Memory: an_lstm_ae_create allocates the inference block (parameters,
   activations for `batch` windows, the stream's rows); the first fit (or
   an_lstm_loss_grad) allocates the training block once; fit also
   borrows n_rows F floats and n_rows size_t of scratch (the scaled
   series; the window order, then the training scores for the threshold
   state of an_lstm_info_get), returned before it ends.  Scoring and pushing
   allocate nothing.  an_lstm_ae_memory reports both blocks for a
   configuration and a number of features.
   Loading (an_detector_load): the file's parameter count must match its
   configuration and be in the file.  The scoring batch is not part of
   the model: a loaded model gets the file's batch, at most
   ANOMALY_LSTM_LOAD_BATCH, halved until the inference block beyond the
   parameters fits ANOMALY_LSTM_LOAD_SLACK_BYTES (down to 1); if even
   batch 1 needs more, or the whole block exceeds
   ANOMALY_LSTM_MAX_LOAD_BYTES, the load is AN_ERR_TOO_LARGE.  So a small
   hostile file can make the loader allocate no more than the parameters
   it holds plus the slack.  Read the batch in use from an_lstm_config_of.
   The file also holds the model's own training configuration, so a
   loaded model trains on (an_detector_fit, a NULL t) as it was set.
   Loading in place (ANOMALY_LSTM_LOAD_IN_PLACE 1, in the implementation
   file; for firmware that only scores): the model's parameter block is
   the file's own bytes when they are 4-byte aligned and the host stores
   floats as IEEE little-endian (a C array in flash: give it an
   alignment), else a copy; the file's memory must outlive the model,
   and the view an_lstm_param_view gives is then read-only.  The model
   keeps no transposed weights and no per-step buffers: scoring runs
   each window one step at a time through every layer (layer l's step t
   needs only layer l - 1's output at t), reading the weights as stored,
   with one step's state per layer.  Its inference block is the
   parameters (when copied), the batch's windows and outputs, the
   stream's rows and O(layers x units) floats: the autoencoder of
   window 32 and 16 units on one feature, loaded, takes 3,016 bytes on a
   Cortex-M4 (`make firmware`) instead of 57,672.  Each gate's pre-activation gets the scalar
   forward pass's multiplies and adds in its order, so on the scalar path
   (ANOMALY_NO_SIMD, and targets with none of anomaly.h's SIMD paths,
   such as a Cortex-M) the scores are a copied model's bit for bit; on a
   SIMD path they differ from its scores as the scalar path's do (the
   vector products fuse multiply and add).  A batch is scored window by
   window (slower than the batched products).  Such a model cannot be trained
   or give gradients: fit, update, an_lstm_loss_grad, dropout and the
   gradient entries return AN_ERR_UNSUPPORTED and leave it as it was.
   Models made by create are never in place. */
#define AN_LSTM_MAX_LAYERS 4
#define AN_LSTM_MAX_UNITS  4096
#define AN_LSTM_MAX_WINDOW 100000
#define AN_LSTM_MAX_FEATURES 4096
/* No model may need more than AN_LSTM_MAX_BYTES (inference + training,
   AN_ERR_TOO_LARGE).  The loader's limits (see "Loading" above; define
   them in the implementation file to change them): the inference block
   of a loaded model at most ANOMALY_LSTM_MAX_LOAD_BYTES, of which at most
   ANOMALY_LSTM_LOAD_SLACK_BYTES beyond the parameters, with a scoring
   batch of at most ANOMALY_LSTM_LOAD_BATCH. */
#define AN_LSTM_MAX_BYTES ((SIZE_MAX >> 20 >> 20) ? ((size_t)1 << 20 << 20) : SIZE_MAX / 2)   /* 1 TiB, or
                                                     half the address space when size_t has 32 bits */
#ifndef ANOMALY_LSTM_MAX_LOAD_BYTES
#  define ANOMALY_LSTM_MAX_LOAD_BYTES ((size_t)1 << 30)
#endif
#ifndef ANOMALY_LSTM_LOAD_SLACK_BYTES
#  define ANOMALY_LSTM_LOAD_SLACK_BYTES ((size_t)32 << 20)
#endif
#ifndef ANOMALY_LSTM_LOAD_BATCH
#  define ANOMALY_LSTM_LOAD_BATCH 32
#endif
#ifndef ANOMALY_LSTM_LOAD_IN_PLACE
#  define ANOMALY_LSTM_LOAD_IN_PLACE 0
#endif
#ifndef ANOMALY_LSTM_BATCH_BYTES
#  define ANOMALY_LSTM_BATCH_BYTES ((size_t)1 << 20)
#endif
#define AN_TAG_LSTM_AE AN_TAG('L', 'A', 'E', '1')
#define AN_TAG_LSTM_FORECASTER AN_TAG('L', 'F', 'C', '1')
#define AN_TAG_LSTM_CLASSIFIER AN_TAG('L', 'C', 'L', '1')

/* How errors combine into a row's score: over the features of a row, and
   over the windows whose outputs cover it. */
typedef enum an_lstm_agg {
    AN_AGG_MEAN = 0,
    AN_AGG_MAX  = 1,
    AN_AGG_LAST = 2   /* window_agg only, and its default: the error of
                         the window in which the row comes last (causal,
                         as push): the window ending at it (autoencoder;
                         rows before the first window's end score 0) or
                         the one-step-ahead prediction (forecaster; the
                         first `window` rows score 0) */
} an_lstm_agg;

/* What the progress callback sees after each epoch. */
typedef struct an_lstm_progress {
    size_t epoch, epochs;      /* 1-based epoch, planned epochs          */
    double loss;               /* mean training loss of the epoch        */
    double val_loss;           /* validation loss, NaN without one       */
    double best;               /* best monitored loss so far             */
    double seconds;            /* processor time since fit began (clock) */
    int improved;              /* 1 when this epoch saved a checkpoint   */
} an_lstm_progress;

/* Return non-zero to stop training (fit then returns AN_ERR_CANCELLED). */
typedef int (*an_lstm_progress_fn)(void *user, const an_lstm_progress *p);

/* The three models. */
typedef enum an_lstm_kind {
    AN_LSTM_AUTOENCODER = 0,
    AN_LSTM_FORECASTER  = 1,
    AN_LSTM_CLASSIFIER  = 2
} an_lstm_kind;

/* Dropout in an_lstm_loss_grad and an_lstm_output (an_lstm_set_dropout). */
typedef enum an_lstm_dropout_mode {
    AN_LSTM_DROPOUT_OFF   = 0,   /* inference, the default              */
    AN_LSTM_DROPOUT_FRESH = 1,   /* new masks at every call             */
    AN_LSTM_DROPOUT_FIXED = 2    /* the masks of the last call (for
                                    gradient checks)                    */
} an_lstm_dropout_mode;

/* The two stacks of a model (an_lstm_freeze); only the autoencoder has a
   decoder. */
typedef enum an_lstm_side {
    AN_LSTM_ENCODER = 0,
    AN_LSTM_DECODER = 1
} an_lstm_side;

/* How one training run goes: given to an_lstm_fit, an_lstm_update and
   an_lstm_classifier_train (checked before the model is touched), and
   kept in the model as the `train` member of its configuration for
   an_detector_fit. */
typedef struct an_lstm_train_config {
    size_t epochs;                        /* default 20, at most 1e6       */
    size_t stride;                        /* rows between training windows,
                                             >= 1, default 1 (the classifier
                                             lays its windows end to end)  */
    double val_fraction;                  /* [0, 0.9], default 0.1         */
    size_t patience;                      /* default 5, 0 = no early stop  */
    double min_delta;                     /* default 0                     */
    an_adam_config adam;                  /* lr 1e-3, ...                  */
    an_lstm_progress_fn progress;         /* optional, after every epoch   */
    void *progress_user;
} an_lstm_train_config;

/* What a model is; checked at create and fixed after (CONFIGURATION at
   the top).  The `train` member is the model's own training
   configuration. */
typedef struct an_lstm_config {
    size_t window;                        /* T, rows per window            */
    size_t n_layers;                      /* encoder depth, 1..4; the
                                             decoder mirrors it            */
    size_t units[AN_LSTM_MAX_LAYERS];     /* encoder units, bottom first   */
    size_t latent;                        /* bottleneck size, 0 = none
                                             (autoencoder only)            */
    an_activation activation;             /* LSTM cell activation          */
    an_loss_kind loss;                    /* MSE or MAE, also the score    */
    an_scaler_kind scaler;                /* 0 = no scaling                */
    an_lstm_agg channel_agg;              /* features -> row error (MEAN)  */
    int channel_norm;                     /* several features: each one's
                                             error divided by its mean on
                                             the training rows (0 = off)   */
    an_lstm_agg window_agg;               /* windows -> row score (LAST:
                                             the window ending at the row;
                                             0 before the first full one)  */
    size_t batch;                         /* default 32: the training and
                                             the scoring batch (a loaded
                                             model: see "Loading")         */
    uint64_t seed;                        /* initialisation, shuffling and
                                             dropout masks; default 1      */
    an_lstm_train_config train;           /* the model's own training
                                             configuration (an_detector_fit) */
    /* autoencoder only */
    int centre;                           /* 1: each window less its level
                                             per feature (see Centring)    */
    /* forecaster and classifier */
    double dropout;                       /* inverted dropout after each
                                             LSTM layer in training, [0,1) */
    /* forecaster only */
    size_t n_predictions;                 /* rows predicted, >= 1          */
    int stateful_stream;                  /* push steps the LSTM one row at
                                             a time, O(layers H^2), the
                                             state carried from the stream's
                                             start (see below)            */
    /* classifier only (loss AN_LOSS_BCE or AN_LOSS_FOCAL) */
    size_t n_classes;                     /* K sigmoid outputs, >= 1       */
    double gamma;                         /* focal loss exponent           */
    const float *class_weight;            /* (K) loss weights, finite and
                                             >= 0, NULL = 1; copied at
                                             create, NULL in the model's
                                             own configuration             */
} an_lstm_config;

/* Defaults close to the Keras seeds: one layer of `units`, tanh, MSE,
   standard scaler, batch 32, seed 1; channel_agg MEAN, window_agg LAST;
   train = an_lstm_train_config_init().
   Returns: the configuration (nothing is checked until create). */
AN_API an_lstm_config an_lstm_ae_config_init(size_t window, size_t units);
/* Training defaults: 20 epochs, stride 1, validation 0.1, patience 5,
   min_delta 0, Adam 1e-3, no progress callback.
   Returns: the training configuration. */
AN_API an_lstm_train_config an_lstm_train_config_init(void);
/* Returns: AN_OK when t is usable, else AN_ERR_INVALID_ARG. */
AN_API an_result an_lstm_check_train_config(const an_lstm_train_config *t);
/* Checks what every model needs (sizes, activation, loss, scaler,
   aggregation, batch, dropout range, and c->train); create also checks
   what its kind needs, and its n_features.
   Returns: AN_OK when c is usable, else the reason (AN_ERR_INVALID_ARG). */
AN_API an_result an_lstm_check_config(const an_lstm_config *c);
/* Bytes of the inference block (what a loaded model needs to score) and
   of the training block fit adds, for series of n_features columns
   (1..AN_LSTM_MAX_FEATURES); either pointer may be NULL.
   Returns: AN_OK, AN_ERR_INVALID_ARG for a bad c or n_features,
   AN_ERR_TOO_LARGE. */
AN_API an_result an_lstm_ae_memory(const an_lstm_config *c, size_t n_features, size_t *inference_bytes,
                                   size_t *training_bytes);
/* A new, unfitted autoencoder of series with n_features columns
   (1..AN_LSTM_MAX_FEATURES); parameters initialised from c->seed.
   Returns: AN_OK with *out set, AN_ERR_INVALID_ARG, AN_ERR_TOO_LARGE or
   AN_ERR_NOMEM with *out NULL. */
AN_API an_result an_lstm_ae_create(const an_lstm_config *c, size_t n_features, const an_allocator *a,
                                   an_detector **out);
/* Returns: the type table entry for an_detector_load. */
AN_API const an_detector_vtable *an_lstm_ae_type(void);

/* The LSTM forecaster (telemanom's design, Hundman et al. 2018): an LSTM
   stack (dropout after every layer in training) whose last state feeds a
   dense layer predicting the next n_predictions rows of every feature
   from the last `window` rows.  It shares the configuration, the
   training loop (samples are rows [s, s + T) with targets
   [s + T, s + T + P)), an_lstm_param_view ("encoder.<l>.*",
   "output.*"), an_lstm_loss_grad (x is then (B, T + P, F): inputs then
   targets; grad_x is (B,T,F)), an_lstm_output (x (B,T,F) ->
   predictions (B,P,F)), sync, update and freeze with the autoencoder.
   Scoring: a row's score is the mean, over every window whose
   predictions cover it, of that prediction's error (mean over features
   of squared or absolute error, scaled units); the first `window` rows
   have no prediction and score 0.  Streaming: the score of a row is the
   error of its one-step-ahead prediction from the previous `window` rows
   (0 until then); each push runs the window (O(T layers H^2)).  With
   stateful_stream, push instead advances the LSTM state by the new row
   (O(layers H^2)) and scores the row against the prediction made at the
   previous row; the state then runs from the start of the stream (or the
   last reset) rather than from zero T rows back as in training, which
   the forget gate makes close for series whose memory is shorter than T
   (the first T rows score 0).  It is an approximation of the windowed
   score (how close on a test series: README, "LSTM models in five
   minutes").
   an_lstm_forecaster_config_init(250, 80, 10) gives telemanom's
   configuration: 2 layers of 80, dropout 0.3, 10 predictions.
   Returns (config_init): the configuration. */
AN_API an_lstm_config an_lstm_forecaster_config_init(size_t window, size_t units, size_t n_predictions);
/* telemanom's forecaster and training at sizes of your choosing: the
   forecaster above (2 layers of `units`, dropout 0.3) predicting one row
   (telemanom trains 10 and judges the first: this trains the one it
   judges), MSE, batch 70, at most 35 epochs, early stopping after 10
   without an improvement of 0.0003, 20% validation, Adam 1e-3.  (250,
   80) are the paper's sizes.  Its errors go to telemanom's thresholds:
   an_detector_expected gives the forecasts, an_prediction_errors and
   an_telemanom_detect (anomaly_stats.h) judge them, as `anomaly detect
   --preset telemanom` does.
   Returns: the configuration. */
AN_API an_lstm_config an_lstm_telemanom_config_init(size_t window, size_t units);
/* Returns: as an_lstm_ae_create. */
AN_API an_result an_lstm_forecaster_create(const an_lstm_config *c, size_t n_features, const an_allocator *a,
                                           an_detector **out);
/* Returns: as an_lstm_ae_memory. */
AN_API an_result an_lstm_forecaster_memory(const an_lstm_config *c, size_t n_features, size_t *inference_bytes,
                                           size_t *training_bytes);
/* Returns: the type table entry for an_detector_load. */
AN_API const an_detector_vtable *an_lstm_forecaster_type(void);

/* The LSTM classifier / score head: the forecaster's network with K
   sigmoid outputs (multi-label), trained on labelled windows with binary
   cross-entropy or focal loss (gamma) and per-class weights.  With
   window 1 it is a small gated MLP over feature vectors (a score head
   over learned features).  Training takes windows, not a series, so its
   type has no fit entry: an_detector_fit returns AN_ERR_UNSUPPORTED (and
   leaves a trained classifier trained); use
   an_lstm_classifier_train, which fits the scaler on every window row
   and splits validation off the last windows.  As a detector it scores
   a series: each row gets the largest class probability of the window
   ending at it (0 before the first full window), and push the same
   causally.  an_lstm_classifier_config_init: one layer, dropout 0.2,
   BCE.
   Returns (config_init): the configuration. */
AN_API an_lstm_config an_lstm_classifier_config_init(size_t window, size_t units, size_t n_classes);
/* Returns: as an_lstm_ae_create. */
AN_API an_result an_lstm_classifier_create(const an_lstm_config *c, size_t n_features, const an_allocator *a,
                                           an_detector **out);
/* Returns: as an_lstm_ae_memory. */
AN_API an_result an_lstm_classifier_memory(const an_lstm_config *c, size_t n_features, size_t *inference_bytes,
                                           size_t *training_bytes);
/* Returns: the type table entry for an_detector_load. */
AN_API const an_detector_vtable *an_lstm_classifier_type(void);
/* This header's detector types for an_detector_load (autoencoder,
   forecaster, classifier, VAE (section 5); *n set to 4 when n is not
   NULL).
   Returns: a static table, never NULL. */
AN_API const an_detector_vtable *const *an_lstm_types(size_t *n);
/* Trains on windows (n,T,F) raw with labels (n,K) in [0,1], with t
   (NULL: the model's own training configuration).
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad t (the model unchanged);
   AN_ERR_UNSUPPORTED when d is not a classifier; AN_ERR_INPUT for a
   label outside [0,1] or non-finite data; AN_ERR_CANCELLED,
   AN_ERR_NUMERIC, AN_ERR_NOMEM (the model is then not fitted). */
AN_API an_result an_lstm_classifier_train(an_detector *d, const float *windows, const float *labels, size_t n,
                                          const an_lstm_train_config *t);
/* prob (n,K) = sigmoid outputs for windows (n,T,F); allocates nothing.
   Returns: AN_OK, AN_ERR_NOT_FITTED, AN_ERR_UNSUPPORTED (not a
   classifier), AN_ERR_INPUT (non-finite windows). */
AN_API an_result an_lstm_classifier_predict(an_detector *d, const float *windows, size_t n, float *prob);

/* Fits the autoencoder or the forecaster on a series x (n_rows, F) with
   t (NULL: the model's own training configuration, as an_detector_fit).
   The scaler is fitted, the weights re-initialised from the seed.
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad t, before anything
   changes; AN_ERR_UNSUPPORTED for the classifier and a model loaded in
   place (ANOMALY_LSTM_LOAD_IN_PLACE); AN_ERR_TOO_SHORT,
   AN_ERR_INPUT, AN_ERR_CANCELLED, AN_ERR_NUMERIC, AN_ERR_NOMEM (the
   model is then not fitted). */
AN_API an_result an_lstm_fit(an_detector *d, const float *x, size_t n_rows, const an_lstm_train_config *t);
/* Replaces the model's own training configuration (what an_detector_fit
   and a NULL t use; saved with the model).
   Returns: AN_OK, or AN_ERR_INVALID_ARG (d not an LSTM model, or a bad
   t) with the model unchanged. */
AN_API an_result an_lstm_set_train_config(an_detector *d, const an_lstm_train_config *t);
/* A read-only view of the model's configuration: what it was created
   (or loaded) with, its own training configuration in `train`, the
   scoring batch in `batch` (a loaded model's: see "Loading"), and
   class_weight NULL (the weights were copied at create); its width is
   d->n_features.
   Returns: the configuration, or NULL when d is not an LSTM model. */
AN_API const an_lstm_config *an_lstm_config_of(const an_detector *d);

/* A named view of the parameter block: "encoder.<l>.W_ih", ".W_hh",
   ".b_ih", ".b_hh", "decoder.<l>.W_ih", ... (l = 0 is the first layer in
   the data flow: the encoder's bottom, the decoder's after the repeat),
   "latent.W", "latent.b", "output.W", "output.b";
   "grad.<name>" views the gradient block (allocating the training block
   if needed); "params" and "grads" the whole blocks.
   A model loaded in place (ANOMALY_LSTM_LOAD_IN_PLACE) may view the
   model file's own bytes: read them, never write them.
   Returns: AN_OK, AN_ERR_INVALID_ARG for an unknown name, AN_ERR_NOMEM;
   AN_ERR_UNSUPPORTED for the gradient views of a model loaded in place. */
AN_API an_result an_lstm_param_view(an_detector *d, const char *name, float **data, size_t *count);
/* After writing parameters through a view (or stepping an optimizer on
   them yourself), call an_lstm_sync before score, push or output:
   they multiply with transposed copies of the weights made when the
   weights last changed inside the library (fit, update, load,
   loss_grad) or at this call.
   Returns: nothing (a d that is not an LSTM model is ignored). */
AN_API void an_lstm_sync(an_detector *d);
/* One forward and backward pass on B <= batch samples, already scaled:
   *loss (the mean over outputs), the gradient block overwritten with
   dLoss/dparams, and grad_x (B,T,F) (optional) with dLoss/dx through the
   network input, the target held fixed.  A sample is, per model:
     autoencoder  (T,F), its own target
     forecaster   T + P rows of F: inputs, then the P target rows
     classifier   T F inputs, then K labels
   Returns: AN_OK, AN_ERR_SHAPE (B > batch), AN_ERR_INPUT, AN_ERR_NOMEM. */
AN_API an_result an_lstm_loss_grad(an_detector *d, const float *x, size_t B, double *loss, float *grad_x);
/* The network's output for scaled windows x (B,T,F), B <= batch:
   reconstruction (B,T,F), forecast (B,P,F) or class logits (B,K).
   Returns: AN_OK, AN_ERR_SHAPE (B > batch), AN_ERR_INPUT,
   AN_ERR_NUMERIC (a non-finite output). */
AN_API an_result an_lstm_output(an_detector *d, const float *x, size_t B, float *out);
/* More training on new normal data without re-initialising (fine-tuning,
   incremental update) with t (NULL: the model's own training
   configuration); Adam starts over (zero moments); the scaler is kept.
   Returns: AN_OK; AN_ERR_INVALID_ARG for a bad t; AN_ERR_NOT_FITTED;
   AN_ERR_UNSUPPORTED for the classifier and a model loaded in place;
   AN_ERR_TOO_SHORT, AN_ERR_INPUT,
   AN_ERR_CANCELLED, AN_ERR_NUMERIC, AN_ERR_NOMEM.  An update that fails
   leaves the model as it was: weights, training record and threshold
   state. */
AN_API an_result an_lstm_update(an_detector *d, const float *x, size_t n_rows, const an_lstm_train_config *t);
/* What a fit recorded (saved with the model): the model's kind, the
   parameter count, the epochs run, the training rows, the best monitored
   loss, processor seconds (not saved: 0 after a load), and the threshold state: mean, standard
   deviation and 99th percentile of the training series' own scores (for
   a threshold such as mean + k std, or p99; the classifier leaves them
   0).  (The type and the function cannot share a name in C, hence _get,
   as an_nab_profile_get.) */
typedef struct an_lstm_info {
    an_lstm_kind kind;
    size_t n_params, epochs_run, train_rows;
    double best_loss, train_seconds;
    double score_mean, score_std, score_p99;
} an_lstm_info;

/* Returns: AN_OK; AN_ERR_NOT_FITTED (kind and sizes filled in) before a
   fit or load; AN_ERR_INVALID_ARG when d is not an LSTM model. */
AN_API an_result an_lstm_info_get(an_detector *d, an_lstm_info *info);
/* Errors before any aggregation, in scaled units, squared (MSE) or
   absolute (MAE), for the n windows w = first .. first + n - 1 of x
   (n_rows, F raw): autoencoder err (n,T,F) of the reconstruction of rows
   [w, w + T); forecaster err (n,P,F) of the prediction of rows
   [w + T, w + T + P), which must lie in the series.  Allocates nothing.
   Returns: AN_OK, AN_ERR_NOT_FITTED, AN_ERR_SHAPE (windows outside x),
   AN_ERR_INPUT, AN_ERR_UNSUPPORTED (the classifier has no error). */
AN_API an_result an_lstm_errors(an_detector *d, const float *x, size_t n_rows, size_t first, size_t n, float *err);
/* The context of an anomaly at `row` of x (n_rows, F, raw units): what
   the model expected there against what came, in the original units (the
   scaler's inverse).  The autoencoder compares the window ending at row
   (the first window when row < T - 1): expected (T,F) is its
   reconstruction, rec->start its first row.  The forecaster compares the
   P rows from row on (as many as the series has) with their prediction
   from the T rows before row (row >= T): expected (P,F).  The statistics
   run over every compared value: mean squared and absolute deviation,
   the largest deviation and where, and Pearson's correlation of expected
   with actual (0 when either is constant).  Allocates nothing. */
typedef struct an_lstm_record {
    size_t row;                  /* the row asked about                   */
    size_t start, rows;          /* compared rows [start, start + rows)   */
    double mse, mae;             /* mean (expected - actual)^2, |.|       */
    double max_dev;              /* largest |expected - actual|           */
    size_t max_row, max_feature; /* where it is                           */
    double corr;                 /* Pearson's r of expected with actual   */
} an_lstm_record;

/* Returns: AN_OK, AN_ERR_NOT_FITTED, AN_ERR_TOO_SHORT (a forecaster's
   row < T), AN_ERR_INPUT, AN_ERR_UNSUPPORTED (the classifier has no
   expectation). */
AN_API an_result an_lstm_explain(an_detector *d, const float *x, size_t n_rows, size_t row, float *expected,
                                 an_lstm_record *rec);
/* Dropout in an_lstm_loss_grad and an_lstm_output (fit manages it
   itself); models without dropout ignore it.
   Returns: AN_OK, AN_ERR_INVALID_ARG (not an LSTM model or not a mode),
   AN_ERR_NOMEM (a mode other than OFF allocates the training block). */
AN_API an_result an_lstm_set_dropout(an_detector *d, an_lstm_dropout_mode mode);
/* Freeze (frozen != 0) or unfreeze one LSTM layer of a stack; frozen
   layers keep their weights in fit and update.
   Returns: AN_OK, or AN_ERR_INVALID_ARG (no such side or layer). */
AN_API an_result an_lstm_freeze(an_detector *d, an_lstm_side side, size_t layer, int frozen);

/* ==========================================================================
   5  Variational autoencoder
   ==========================================================================
   A VAE over windows (Kingma & Welling 2014) as a detector and as a
   generator of synthetic normal windows.  On a window x (T,F) of the
   scaled series, with H hidden units and L latent dimensions:

     AN_VAE_DENSE  x flattened (T F) -> dense H, tanh -> head
                   z -> dense H, tanh -> dense T F -> y (T,F)
     AN_VAE_LSTM   x -> LSTM H (its last state) -> head
                   z repeated T times -> LSTM H -> time-distributed
                   dense F -> y (T,F)

   The head is one dense layer H -> 2L (PyTorch's Linear(H, 2L) followed
   by .chunk(2)): mu its first L outputs, the raw log-variance its last L.
     lv  = clamp(raw, -AN_VAE_LOGVAR_MAX, AN_VAE_LOGVAR_MAX)
     z   = mu + exp(lv / 2) eps,  eps ~ N(0, I)  (the reparameterisation)
   The clamp (+-10: a standard deviation between 6.7e-3 and 148, in a
   space whose prior is N(0, 1)) keeps exp(lv) and z finite in float32
   after a bad step, and keeps the KL term's -lv from growing without
   bound when the encoder collapses a variance; where the raw value lies
   outside, its gradient is 0 (as torch.clamp's, whose bounds pass it).
   The loss of B windows:
     recon = 1 / (B T F) sum_{b,t,f} (y - x)^2    (an_loss's MSE)
     kl    = 1 / B sum_b sum_l -1/2 (1 + lv - mu^2 - exp(lv))
     loss  = recon + beta kl
   For a Gaussian decoder of variance s^2, the negative ELBO is T F /
   (2 s^2) times this loss with beta = 2 s^2 / (T F), plus a constant: beta
   is that variance in disguise (default 0.01).  With warmup > 0, epoch e
   (1-based) trains with beta min(1, e / warmup) (Bowman et al. 2016);
   validation always uses the full beta, and the best checkpoint is taken
   among the epochs from the end of warm-up on (earlier epochs train with
   another loss).
   Parameters lie in one block: encoder (dense W (H,TF), b (H), or the
   LSTM's W_ih, W_hh, b_ih, b_hh), head W (2L,H), b (2L), decoder (dense
   W (H,L), b (H), or an LSTM of L inputs), output W (O,H), b (O) with O
   = T F (dense) or F (LSTM); an_vae_param_view names them ("encoder.W",
   "encoder.W_ih", "head.W", "decoder.b_hh", "output.b", ...).
   Initialisation from the seed as the LSTM models' (Glorot dense, Keras
   LSTM).  Training: an_lstm_train_config and the LSTM autoencoder's loop
   (chronological validation split, shuffled mini-batches, Adam, early
   stopping, best checkpoint), with fresh noise for every training batch
   from an an_rng of the seed and the same noise at every validation.
   Scoring (an_detector_score): a row's score is the mean, over `draws`
   latent draws, of the squared reconstruction error (mean over features,
   scaled units) of the row as the last row of the window ending at it
   (rows before the first full window score 0; push gives the same bits).
   That is the row's share of the ELBO's reconstruction term, i.e. minus
   its log reconstruction probability under a Gaussian decoder up to an
   affine map (An & Cho 2015), estimated by Monte Carlo.  The negative
   ELBO is not used because its KL term is one number per window and does
   not say which row is wrong.  With `root` set the score is the square
   root of that mean (the error in the scaled data's units, as STL + IQR
   scores a residual): the same ranking, but calibration extrapolates
   the tail of its scores from their bulk (an_calibration_fit), and a
   squared Gaussian error's tail is heavier than the exponential fitted
   there, while the error's own is lighter, so rare rows are not
   overstated (on `make eval`'s synthetic files after a clean prefix,
   with window 24: false events 155 -> 115).  The draws are fixed per
   model (drawn from the seed at create and load), so scores are
   deterministic and streaming allocates nothing.  Expectation
   (an_detector_expected): the mean
   reconstruction over the draws of the row last pushed, in the data's
   units.  Gradient (an_detector_gradient): the exact derivative of that
   score, the draws held fixed.
   Centring (cfg.centre 1; 0 by default, `--method vae` sets it): fit,
   score, push and the gradient give the network each window less its
   per-channel mean over its T rows (scaled units), and the expectation
   adds that mean back.  A level the training rows never reached is then
   no anomaly by itself (uncentred, every row of a trend past the
   training range scores high); a change of level inside a window still
   is.  The network's own calls (an_vae_loss_grad, an_vae_encode,
   an_vae_decode) take windows as given, and a centring model's
   an_vae_sample windows all sit at the training mean.
   Generation: an_vae_sample decodes z ~ N(0, I) into windows in the
   data's units; an_vae_augment appends a fraction of such windows to a
   series, for an LSTM's training set (`anomaly augment`), and
   an_lstm_fit_augmented trains the autoencoder with such windows.
   Whether that helps detection: no (README, "Does augmentation help?":
   5 seeds, NAB's 41 files 3 points lower, the synthetic files within
   the seeds' spread); it is off unless asked for. */
#define AN_TAG_VAE AN_TAG('V', 'A', 'E', '1')
#define AN_VAE_LOGVAR_MAX 10.0f
#define AN_VAE_MAX_DRAWS 64

typedef enum an_vae_arch {
    AN_VAE_DENSE = 0,
    AN_VAE_LSTM  = 1
} an_vae_arch;

typedef struct an_vae_config {
    size_t window;               /* T                                      */
    an_vae_arch arch;            /* dense or LSTM encoder / decoder        */
    size_t hidden;               /* H, each side                           */
    size_t latent;               /* L                                      */
    double beta;                 /* KL weight, [0, 1e6], default 0.01      */
    size_t warmup;               /* epochs of linear beta warm-up, 0 = none */
    size_t draws;                /* latent draws per scored window,
                                    1..AN_VAE_MAX_DRAWS, default 8         */
    an_scaler_kind scaler;       /* default standard                       */
    int centre;                  /* 1: each window minus its per-channel
                                    mean, after scaling (see above); 0   */
    int root;                    /* 1: the score is the root of the mean
                                    squared error (see above); 0         */
    size_t batch;                /* training and scoring batch, default 32 */
    uint64_t seed;               /* init, shuffling, noise; default 1      */
    an_lstm_train_config train;  /* the model's own training configuration */
} an_vae_config;

/* The three parts of a loss (see above). */
typedef struct an_vae_loss {
    double loss, recon, kl;
} an_vae_loss;

/* Defaults above, dense architecture, train = an_lstm_train_config_init().
   Returns: the configuration (checked at create). */
AN_API an_vae_config an_vae_config_init(size_t window, size_t hidden, size_t latent);
/* Returns: AN_OK when c is usable, else AN_ERR_INVALID_ARG. */
AN_API an_result an_vae_check_config(const an_vae_config *c);
/* Bytes of the inference block and of the training block fit adds.
   Returns: AN_OK, AN_ERR_INVALID_ARG, AN_ERR_TOO_LARGE. */
AN_API an_result an_vae_memory(const an_vae_config *c, size_t n_features, size_t *inference_bytes,
                               size_t *training_bytes);
/* A new, unfitted VAE of series with n_features columns.
   Returns: AN_OK with *out set; AN_ERR_INVALID_ARG, AN_ERR_TOO_LARGE or
   AN_ERR_NOMEM with *out NULL. */
AN_API an_result an_vae_create(const an_vae_config *c, size_t n_features, const an_allocator *a, an_detector **out);
/* Returns: the type table entry for an_detector_load. */
AN_API const an_detector_vtable *an_vae_type(void);
/* Fits on x (n_rows, F raw) with t (NULL: the model's own training
   configuration): scaler, weights from the seed, training.
   Returns: AN_OK; AN_ERR_INVALID_ARG (d not a VAE, a bad t);
   AN_ERR_TOO_SHORT; AN_ERR_INPUT (non-finite data); AN_ERR_CANCELLED,
   AN_ERR_NUMERIC, AN_ERR_NOMEM (the model is then not fitted). */
AN_API an_result an_vae_fit(an_detector *d, const float *x, size_t n_rows, const an_lstm_train_config *t);
/* As an_lstm_param_view, with the names above, "grad.<name>", "params"
   and "grads".  After writing parameters, call an_vae_sync.
   Returns: AN_OK, AN_ERR_INVALID_ARG, AN_ERR_NOMEM. */
AN_API an_result an_vae_param_view(an_detector *d, const char *name, float **data, size_t *count);
AN_API void an_vae_sync(an_detector *d);
/* One forward and backward pass on B <= batch scaled windows x (B,T,F)
   with the noise eps (B,L) given: *loss, the gradient block overwritten,
   and grad_x (B,T,F, optional) the derivative with respect to x as both
   the input and the target.  an_vae_loss_grad draws eps from rng (B L
   normals, row-major) and calls it.
   Returns: AN_OK; AN_ERR_INVALID_ARG (NULL pointers, B 0, beta < 0 or not
   finite); AN_ERR_SHAPE (B > batch); AN_ERR_INPUT (non-finite x or eps);
   AN_ERR_NUMERIC; AN_ERR_NOMEM. */
AN_API an_result an_vae_loss_grad_eps(an_detector *d, const float *x, size_t B, const float *eps, double beta,
                                      an_vae_loss *loss, float *grad_x);
AN_API an_result an_vae_loss_grad(an_detector *d, const float *x, size_t B, an_rng *rng, double beta,
                                  an_vae_loss *loss, float *grad_x);
/* The encoder's mu and clamped log-variance (B,L) of scaled windows x
   (B,T,F), and the decoder's windows out (B,T,F) of codes z (B,L).
   Returns: AN_OK, AN_ERR_INVALID_ARG, AN_ERR_SHAPE (B > batch),
   AN_ERR_INPUT (non-finite input), AN_ERR_NUMERIC. */
AN_API an_result an_vae_encode(an_detector *d, const float *x, size_t B, float *mu, float *logvar);
AN_API an_result an_vae_decode(an_detector *d, const float *z, size_t B, float *out);
/* n synthetic windows (n,T,F) in the data's units from a fitted model:
   z ~ N(0, I) drawn from rng (L normals a window, in order), decoded and
   the scaler's inverse applied.  Allocates nothing.
   Returns: AN_OK; AN_ERR_INVALID_ARG (not a VAE, NULL pointers, n 0);
   AN_ERR_NOT_FITTED; AN_ERR_NUMERIC. */
AN_API an_result an_vae_sample(an_detector *d, an_rng *rng, size_t n, float *windows);
/* Augmentation (issue 15): out = the series x (n_rows, F), then k
   windows of an_vae_sample (an an_rng seeded from seed), T rows each, with
   k = round(fraction floor(n_rows / T)): fraction 0.3 adds 30% as many
   windows as the series holds end to end.  *out_rows = n_rows + k T is
   set first, so a call with capacity_rows 0 (out may then be NULL) sizes
   out.  Fit an LSTM on out with stride T and windows of T rows to train
   on the generated windows whole: only windows that start at a multiple
   of T after n_rows are then generated ones; others straddle two.  The
   LSTM models validate on the last windows of what they are given, here
   generated ones: validate on held-out real rows instead (val_fraction 0
   and an_detector_score on them), or count the generated tail in.
   Returns: AN_OK; AN_ERR_INVALID_ARG (fraction outside [0, 10], NULL
   pointers); AN_ERR_SHAPE (capacity_rows < *out_rows); AN_ERR_NOT_FITTED;
   AN_ERR_TOO_LARGE; AN_ERR_NUMERIC. */
AN_API an_result an_vae_augment(an_detector *d, const float *x, size_t n_rows, double fraction, uint64_t seed,
                                float *out, size_t capacity_rows, size_t *out_rows);

/* Labelled windows for the classifier head (issue 15, item 4): n_windows
   windows (n,T,F) in the data's units, a share of them with one anomaly
   each from the library's injector (anomaly.h section 12), and their
   ground truth.
   Base windows: with vae NULL, windows of the series x cut at random
   rows (an an_rng of the seed); with a fitted VAE of window T and F
   features, an_vae_sample's windows.  Either way x gives the size of an
   anomaly: magnitude times the channel's robust scale of x
   (an_inject_scale, so it is the series' own unit, not a window's).
   Which windows get an anomaly: round(anomalous n) of them, chosen at
   random (selection sampling), so the classifier's validation windows
   (its last ones) hold both.  The anomalies are an_inject_plan's over
   those windows laid end to end, one slot per window (kinds drawn
   without replacement: every enabled kind about as often), after
   `separation` clean rows at the window's start (at least P/4 when
   phase is enabled: it reads the rows a quarter period back); each
   window's events are applied to that window alone (the collapse's
   moving average and the flatline read no other window), with its own
   noise for variance bursts.
   Ground truth: labels[w] 1 when window w has an anomaly, else 0 (as
   floats: an_lstm_classifier_train takes them as they are); mask (n,T,F,
   optional) 1 on every cell an event changed; events (optional,
   `capacity`) the events in the coordinates of the windows laid end to
   end (window w = rows w T .. w T + T - 1), group = the window, and
   *n_events.  Windows without an anomaly are the base windows bit for
   bit, and so are the cells outside every event; the base windows do
   not depend on `anomalous`, so a call with anomalous 0 and the same
   seed gives every window clean.  Scratch: F doubles and n_rows floats
   from `a` (an_inject_scale).
   Returns: AN_OK; AN_ERR_INVALID_ARG (NULL pointers, a bad
   configuration, anomalous outside [0, 1], a vae that is not a VAE);
   AN_ERR_SHAPE (a VAE of another window or width; events past capacity,
   *n_events set); AN_ERR_TOO_SHORT (n_rows < T, or a window too short
   for the kinds' shortest anomaly after `separation`); AN_ERR_INPUT
   (non-finite x); AN_ERR_NOT_FITTED (the VAE); AN_ERR_NUMERIC;
   AN_ERR_TOO_LARGE; AN_ERR_NOMEM. */
typedef struct an_window_inject_config {
    size_t window;             /* T, rows per window                        */
    size_t n_windows;          /* windows made (256)                        */
    double anomalous;          /* share with an anomaly, [0, 1] (0.5)       */
    an_inject_config inject;   /* kinds, magnitude, lengths, channels, period
                                  and seed as an_inject's; separation = the
                                  clean rows an anomalous window starts with;
                                  count and first_row unused                */
} an_window_inject_config;

/* Defaults: 256 windows, half anomalous; an_inject_config_init's but
   kinds spike, dip, shift, variance, flatline and trend (phase needs a
   period: add it with inject.period), separation T / 2, lengths 1 ..
   T - T / 2 (min_len min(12, that)).
   Returns: the configuration (checked by the calls that take it). */
AN_API an_window_inject_config an_window_inject_config_init(size_t window);
AN_API an_result an_inject_windows(an_detector *vae, const float *x, size_t n_rows, size_t n_features,
                                   const an_window_inject_config *cfg, const an_allocator *a, float *windows,
                                   float *labels, unsigned char *mask, an_inject_event *events, size_t capacity,
                                   size_t *n_events);
/* Trains an LSTM classifier (section 4) on an_inject_windows' windows of
   x (vae NULL) or of a fitted VAE's samples, with t (NULL: the
   classifier's own training configuration): the classifier's window
   must be cfg->window and its width x's.  With one class its label is
   "an anomaly in the window"; with AN_INJECT_KINDS classes, class k is
   "an anomaly of kind k" (multi-label).  The windows and labels are
   borrowed from the classifier's allocator for the call.  Deterministic
   for cfg->inject.seed and the classifier's seed.
   Returns: AN_OK; AN_ERR_UNSUPPORTED (not a classifier);
   AN_ERR_INVALID_ARG (a bad cfg or t, gap among the kinds: a NaN window
   cannot be trained on); AN_ERR_SHAPE (another window or width, or
   n_classes neither 1 nor AN_INJECT_KINDS); what an_inject_windows and
   an_lstm_classifier_train return. */
AN_API an_result an_lstm_classifier_train_injected(an_detector *classifier, an_detector *vae, const float *x,
                                                   size_t n_rows, const an_window_inject_config *cfg,
                                                   const an_lstm_train_config *t);
/* The LSTM autoencoder fitted with VAE windows added to its training set
   (issue 15, item 4): as an_lstm_fit on x (n_rows, F) with t (NULL: the
   model's own training configuration), plus k = round(fraction n_train)
   windows of an_vae_sample (an an_rng seeded from seed), n_train the
   real training windows the split leaves (after validation).  The
   scaler is fitted on x alone and scales the generated windows too; the
   generated windows are shuffled in with the real ones every epoch and
   never validate (validation stays the last real windows), and the
   threshold state of an_lstm_info_get comes from x alone.  fraction 0
   is an_lstm_fit, bit for bit.  fit borrows 2 k T F floats more (the
   drawn windows, then their scaled copy) and k size_t from the model's
   allocator for the call.  Deterministic for the
   model's seed and `seed`.  Whether this helps: README, "Does
   augmentation help?" (off unless asked for).
   Returns: AN_OK; AN_ERR_INVALID_ARG (NULL pointers, fraction outside
   [0, 10], a bad t, vae not a VAE); AN_ERR_UNSUPPORTED (d not an
   autoencoder); AN_ERR_SHAPE (a VAE of another window or width);
   AN_ERR_NOT_FITTED (the VAE); what an_lstm_fit returns. */
AN_API an_result an_lstm_fit_augmented(an_detector *d, const float *x, size_t n_rows, an_detector *vae,
                                       double fraction, uint64_t seed, const an_lstm_train_config *t);

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_LSTM_H_INCLUDED */

/* ##########################################################################
   IMPLEMENTATION
   ########################################################################## */
#if defined(ANOMALY_IMPLEMENTATION) && !defined(ANOMALY_LSTM_IMPLEMENTATION_DONE)
#define ANOMALY_LSTM_IMPLEMENTATION_DONE

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==========================================================================
   1  Layers
   ========================================================================== */

#define AN__FPAD (AN_ALIGN / sizeof(float))   /* floats per alignment unit */

static size_t an__fround(size_t n) { return an__round_up(n, AN__FPAD); }

AN_API size_t an_lstm_layer_param_count(size_t I, size_t H)
{
    return an__add(an__mul(4 * H, an__add(I, H)), an__mul(8, H));
}

/* Uniform in [-limit, limit). */
static void an__uniform_fill(an_rng *rng, float *w, size_t n, double limit)
{
    size_t i;
    for (i = 0; i < n; i++) w[i] = (float)((2.0 * an_rng_uniform(rng) - 1.0) * limit);
}

/* w (rows, cols), rows >= cols: orthonormal columns by Gram-Schmidt
   (two passes, dot products in double) on a Gaussian matrix.  This is the
   Q of its QR with a positive diagonal R, which is what Keras' Orthogonal
   initialiser returns after its sign correction. */
static void an__orthogonal_fill(an_rng *rng, float *w, size_t rows, size_t cols)
{
    size_t i, j, k;
    for (i = 0; i < rows * cols; i++) w[i] = (float)an_rng_normal(rng);
    for (j = 0; j < cols; j++) {
        double norm = 0.0;
        int pass;
        for (pass = 0; pass < 2; pass++)            /* twice is enough (Kahan) */
            for (k = 0; k < j; k++) {
                double d = 0.0;
                for (i = 0; i < rows; i++) d += (double)w[i * cols + j] * w[i * cols + k];
                for (i = 0; i < rows; i++) w[i * cols + j] = (float)(w[i * cols + j] - d * w[i * cols + k]);
            }
        for (i = 0; i < rows; i++) norm += (double)w[i * cols + j] * w[i * cols + j];
        norm = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
        for (i = 0; i < rows; i++) w[i * cols + j] = (float)(w[i * cols + j] * norm);
    }
}

AN_API void an_lstm_layer_init_params(const an_lstm_layer *L, an_rng *rng)
{
    size_t H = L->H, k;
    an__uniform_fill(rng, L->W_ih, 4 * H * L->I, sqrt(6.0 / (double)(L->I + 4 * H)));
    an__orthogonal_fill(rng, L->W_hh, 4 * H, H);
    for (k = 0; k < 4 * H; k++) {
        L->b_ih[k] = (k >= H && k < 2 * H) ? 1.0f : 0.0f;
        L->b_hh[k] = 0.0f;
    }
}

AN_API void an_dense_init_params(size_t I, size_t O, float *W, float *b, an_rng *rng)
{
    an__uniform_fill(rng, W, O * I, sqrt(6.0 / (double)(I + O)));
    memset(b, 0, O * sizeof(float));
}

AN_API size_t an_lstm_layer_buffer_floats(size_t B, size_t T, size_t I, size_t H, int training)
{
    size_t bth = an__fround(an__mul(an__mul(B, T), H)), bt4h = an__fround(an__mul(bth, 4));
    size_t n = an__add(an__fround(an__mul(an__add(I, H), an__mul(4, H))), an__add(bt4h, an__mul(3, bth)));
    if (training) n = an__add(an__add(n, bt4h), an__fround(an__mul(an__mul(B, H), 6)));  /* dz, work */
    if (B > 1) n = an__add(n, an__fround(an__mul(an__mul(B, H), 5)));                    /* step */
    return n;
}

AN_API void an_lstm_layer_buffers_carve(an_lstm_layer_buffers *buf, float *mem, size_t B, size_t T, size_t I, size_t H,
                                        int training)
{
    size_t bth = an__fround(B * T * H), bt4h = an__fround(bth * 4);
    buf->wt = mem;
    buf->gates = buf->wt + an__fround((I + H) * 4 * H);
    buf->c = buf->gates + bt4h;
    buf->ac = buf->c + bth;
    buf->h = buf->ac + bth;
    if (training) {
        buf->dz = buf->h + bth;
        buf->work = buf->dz + bt4h;
        buf->step = buf->work + an__fround(B * H * 6);
    } else {
        buf->dz = NULL;
        buf->work = NULL;
        buf->step = buf->h + bth;
    }
    if (B == 1) buf->step = NULL;
}

/* y = act(a); y may equal a. */
static void an__act(an_activation act, size_t n, const float *a, float *y)
{
    size_t i;
    switch (act) {
    case AN_ACT_TANH: an_tanh(n, a, y); break;
    case AN_ACT_RELU: for (i = 0; i < n; i++) y[i] = a[i] > 0.0f ? a[i] : 0.0f; break;
    case AN_ACT_LINEAR: if (y != a) memcpy(y, a, n * sizeof(float)); break;
    }
}


/* Gate nonlinearities in place on the (B, 4H) rows of step t (row stride
   ldz): sigmoid on i, f, o and act on g. */
static void an__lstm_activate(an_activation act, size_t B, size_t H, float *z, size_t ldz)
{
    size_t b;
    if (act == AN_ACT_TANH) { an_lstm_gates(B, H, z, ldz); return; }
    for (b = 0; b < B; b++) {
        float *r = z + b * ldz;
        an_sigmoid(2 * H, r, r);
        an__act(act, H, r + 2 * H, r + 2 * H);
        an_sigmoid(H, r + 3 * H, r + 3 * H);
    }
}

/* wt (rows, cols) = w (cols, rows)^T, in 16 x 16 tiles so both sides
   touch few cache lines at a time (row by row, the writes stride 4H
   floats apart; the refresh runs before every training batch). */
static void an__transpose(size_t rows, size_t cols, const float *w, float *wt)
{
    size_t i0, j0, i, j;
    for (j0 = 0; j0 < cols; j0 += 16)
        for (i0 = 0; i0 < rows; i0 += 16) {
            size_t jn = cols - j0 < 16 ? cols : j0 + 16, in = rows - i0 < 16 ? rows : i0 + 16;
            for (j = j0; j < jn; j++)
                for (i = i0; i < in; i++) wt[i * cols + j] = w[j * rows + i];
        }
}

/* The cell's pointwise steps, one row of H units at a time, on anomaly.h's
   vector layer (an__v, AN__W lanes) with a scalar tail.  They use only
   multiplies and adds, in the same order as the scalar code, so every
   path gives the same bits here. */
#ifdef AN__VEC
#  define AN__VLOOP(j, H) for (; (j) + AN__W <= (H); (j) += AN__W)
#endif

/* z(4H) += h(H) W_hh^T, W_hh^T in panels (an_lstm_layer_buffers.wt): one
   window's recurrent product (batch 1).  Each panel is read once, front
   to back, while its columns of z stay in up to 4 vector registers: the
   way weights too large for L1 must come in every step (measured against
   row-major W_hh^T: README, "Speed").  Every entry gets exactly the arithmetic an_gemm_nn
   gives a row of a batch (one multiply-add per k, in order: fused in the
   vector columns, separate in the scalar tail), so a window scores the
   same bits alone as inside a batch, and push equals score. */
static void an__gemv_panels(size_t H, const float *panels, const float *h, float *z)
{
    const size_t H4 = 4 * H;
    size_t p, j, k;
    for (p = 0; p < H4; p += AN_LSTM_PANEL) {
        const size_t pw = H4 - p < AN_LSTM_PANEL ? H4 - p : AN_LSTM_PANEL;
        const float *P = panels + p * H;
        float *zp = z + p;
        j = 0;
#ifdef AN__VEC
        for (; j + 4 * AN__W <= pw; j += 4 * AN__W) {
            an__v a0 = an__vld(zp + j), a1 = an__vld(zp + j + AN__W);
            an__v a2 = an__vld(zp + j + 2 * AN__W), a3 = an__vld(zp + j + 3 * AN__W);
            const float *w = P + j;
            for (k = 0; k < H; k++, w += pw) {
                an__v x = an__vset(h[k]);
                a0 = an__vfma(x, an__vld(w), a0);
                a1 = an__vfma(x, an__vld(w + AN__W), a1);
                a2 = an__vfma(x, an__vld(w + 2 * AN__W), a2);
                a3 = an__vfma(x, an__vld(w + 3 * AN__W), a3);
            }
            an__vst(zp + j, a0); an__vst(zp + j + AN__W, a1);
            an__vst(zp + j + 2 * AN__W, a2); an__vst(zp + j + 3 * AN__W, a3);
        }
        for (; j + AN__W <= pw; j += AN__W) {
            an__v a0 = an__vld(zp + j);
            const float *w = P + j;
            for (k = 0; k < H; k++, w += pw) a0 = an__vfma(an__vset(h[k]), an__vld(w), a0);
            an__vst(zp + j, a0);
        }
#endif
        for (; j < pw; j++)
            for (k = 0; k < H; k++) zp[j] += h[k] * P[k * pw + j];
    }
}

/* c = f c_prev + i g (c_prev NULL at t = 0), ac = act(c), h = o ac, for
   one row of gates g (4H). */
static void an__lstm_cell(an_activation act, size_t H, const float *g, const float *cp, float *c, float *ac, float *h)
{
    size_t j = 0;
    const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#ifdef AN__VEC
    if (cp) AN__VLOOP(j, H) an__vst(c + j, an__vadd(an__vmul(an__vld(gf + j), an__vld(cp + j)),
                                                    an__vmul(an__vld(gi + j), an__vld(gg + j))));
    else AN__VLOOP(j, H) an__vst(c + j, an__vmul(an__vld(gi + j), an__vld(gg + j)));
#endif
    if (cp) for (; j < H; j++) c[j] = gf[j] * cp[j] + gi[j] * gg[j];
    else    for (; j < H; j++) c[j] = gi[j] * gg[j];
    an__act(act, H, c, ac);
    j = 0;
#ifdef AN__VEC
    AN__VLOOP(j, H) an__vst(h + j, an__vmul(an__vld(go + j), an__vld(ac + j)));
#endif
    for (; j < H; j++) h[j] = go[j] * ac[j];
}

AN_API void an_lstm_layer_prepare(const an_lstm_layer *L, const an_lstm_layer_buffers *buf)
{
    const size_t H = L->H, H4 = 4 * H;
    float *panels = buf->wt + L->I * H4;
    size_t p;
    an__transpose(L->I, H4, L->W_ih, buf->wt);
    /* panel p: W_hh's rows p..p+width-1 (each H long) as (H, width) */
    for (p = 0; p < H4; p += AN_LSTM_PANEL)
        an__transpose(H, H4 - p < AN_LSTM_PANEL ? H4 - p : AN_LSTM_PANEL, L->W_hh + p * H, panels + p * H);
}

/* At most this many windows per pass share prefixes (an__series_scores
   keeps their from[] on the stack: 32 size_t). */
#define AN__LSTM_SHARE_MAX 32

/* an_lstm_layer_forward, where row b > 0 may share its first from[b]
   steps of input with row b - 1 (from NULL: none; from[0] = 0), and
   keep 0 when no backward pass follows.  The state after step t depends
   only on the inputs up to t, so at steps t < from[b] row b's cell and
   output (and gates, with keep) are row b - 1's, copied instead of
   computed.  Each step runs one body: the rows that compute it are
   gathered into adjacent rows of the step buffer (row k of it: the k-th
   row with from <= t; rows of Z sit T 4H floats apart and, unpacked,
   evict each other from L1), get their input projection (when I <= H:
   else all steps' at once, before), recurrent product, activations and
   cell there, and their gates go back to Z only with keep.  A row's
   arithmetic does not depend on its batch or on its place in the step
   buffer (an_gemm_nn's rows; an__gemv_panels for a single row), so every
   value has the bits it would have had computed alone.  The bias sum
   (with repeat: row b's one projected input) waits in the last step's
   slot of Z, read at every step before step T - 1 overwrites it with
   gates. */
static void an__lstm_forward_from(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, size_t B, size_t T,
                                  const float *x, int repeat, const size_t *from, int keep)
{
    const size_t H = L->H, I = L->I, H4 = 4 * H, ldz = T * H4, ldh = T * H;
    const int proj = B > 1 && !repeat && I <= H;      /* project the input step by step */
    float *Z = buf->gates;                            /* (B,T,4H): pre-activations, then gates */
    float *wih = buf->wt, *whh = buf->wt + I * H4;    /* W_ih^T (I,4H), W_hh^T (H,4H) in panels */
    float *Zin = repeat || proj ? Z + (T - 1) * H4 : Z;   /* the bias sum, or row b's input at Zin + b ldz */
    size_t b, t, j, k, nb;
    for (j = 0; j < H4; j++) Zin[j] = L->b_ih[j] + L->b_hh[j];
    if (!proj) {   /* Zin = x W_ih^T + b_ih + b_hh, for every step at once (repeat: the one step) */
        for (b = 0; b < B; b++)
            for (t = 0; t < (repeat ? 1 : T); t++)
                if (b || t) memcpy(Zin + b * ldz + t * H4, Zin, H4 * sizeof(float));
        if (repeat) an_gemm_nn(B, H4, I, x, I, wih, H4, Zin, ldz);   /* (B,4H)   += x(B,I) W_ih^T   */
        else an_gemm_nn(B * T, H4, I, x, I, wih, H4, Z, H4);          /* (B T,4H) += x(B T,I) W_ih^T */
    }
    for (t = 0; t < T; t++) {
        float *Zt = Z + t * H4;                             /* row b at Zt + b ldz              */
        float *g = B == 1 ? Zt : buf->step;                 /* (nb,4H) the computing rows' Z_t  */
        float *hs = B == 1 ? buf->h + (t ? t - 1 : 0) * H   /* (nb,H) their h_{t-1}             */
                           : buf->step + B * H4;
        for (nb = 0, b = 0; b < B; b++) nb += !from || from[b] <= t;
        if (B == 1) {
            if (repeat && t + 1 < T) memcpy(Zt, Zin, H4 * sizeof(float));
        } else {
            for (k = 0, b = 0; b < B; b++)
                if (!from || from[b] <= t) {
                    memcpy(g + k * H4, Zin + (proj ? 0 : b * ldz + (repeat ? 0 : t * H4)), H4 * sizeof(float));
                    if (proj) memcpy(hs + k * I, x + (b * T + t) * I, I * sizeof(float));
                    k++;
                }
            if (proj) an_gemm_nn(nb, H4, I, hs, I, wih, H4, g, H4);   /* (nb,4H) += x_t(nb,I) W_ih^T */
            for (k = 0, b = 0; t > 0 && b < B; b++)
                if (!from || from[b] <= t) memcpy(hs + k++ * H, buf->h + b * ldh + (t - 1) * H, H * sizeof(float));
        }
        /* Z_t(nb,4H) += h_{t-1}(nb,H) W_hh^T(H,4H), panel by panel; for
           one row, a gemv: the same arithmetic, so the same bits. */
        if (t > 0 && nb == 1) {
            an__gemv_panels(H, whh, hs, g);
        } else if (t > 0) {
            size_t p;
            for (p = 0; p < H4; p += AN_LSTM_PANEL) {
                size_t pw = H4 - p < AN_LSTM_PANEL ? H4 - p : AN_LSTM_PANEL;
                an_gemm_nn(nb, pw, H, hs, H, whh + p * H, pw, g + p, H4);
            }
        }
        an__lstm_activate(L->act, nb, H, g, H4);
        for (k = 0, b = 0; b < B; b++) {   /* in order: row b - 1 is final */
            size_t o = b * ldh + t * H;
            if (!from || from[b] <= t) {
                const float *gk = g + k * H4;
                if (keep && gk != Zt + b * ldz) memcpy(Zt + b * ldz, gk, H4 * sizeof(float));   /* for backward */
                an__lstm_cell(L->act, H, gk, t > 0 ? buf->c + o - H : NULL, buf->c + o, buf->ac + o, buf->h + o);
                k++;
            } else {
                if (keep) memcpy(Zt + b * ldz, Zt + (b - 1) * ldz, H4 * sizeof(float));
                memcpy(buf->c + o, buf->c + o - ldh, H * sizeof(float));
                memcpy(buf->ac + o, buf->ac + o - ldh, H * sizeof(float));
                memcpy(buf->h + o, buf->h + o - ldh, H * sizeof(float));
            }
        }
    }
}

AN_API void an_lstm_layer_forward(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, size_t B, size_t T,
                                  const float *x, int repeat)
{
    an__lstm_forward_from(L, buf, B, T, x, repeat, NULL, 1);
}

/* One row of the cell's backward pass.  In: gates g (4H), act(c_t) ac,
   c_{t-1} cp (NULL at t = 0), dL/dh_t from above (up, last: NULL = 0)
   and through time (dh), dL/dc_t through time (dc).  Out: dz (4H) =
   dL/da_t, and dc = dL/dc_{t-1}.  dh is read only.
     dh_t = dh + up + last,  dc_t = dc + dh_t o act'(c_t)
     dz_i = dc_t g i (1-i),  dz_f = dc_t c_{t-1} f (1-f),
     dz_g = dc_t i act'(g),  dz_o = dh_t act(c_t) o (1-o),
     dc_{t-1} = dc_t f
   act' from the value: tanh' = 1 - y^2, relu' = [y > 0], linear' = 1. */
static void an__lstm_cell_backward(an_activation act, size_t H, const float *g, const float *ac, const float *cp,
                                   const float *up, const float *last, const float *dh, float *dc, float *dz)
{
    const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
    float *dzi = dz, *dzf = dz + H, *dzg = dz + 2 * H, *dzo = dz + 3 * H;
    size_t j = 0;
#ifdef AN__VEC
    const an__v one = an__vset(1.0f), zero = an__vset(0.0f);
    AN__VLOOP(j, H) {
        an__v dht = an__vld(dh + j), vi = an__vld(gi + j), vf = an__vld(gf + j), vg = an__vld(gg + j);
        an__v vo = an__vld(go + j), va = an__vld(ac + j), dct, dg;
        if (up) dht = an__vadd(dht, an__vld(up + j));
        if (last) dht = an__vadd(dht, an__vld(last + j));
        switch (act) {
        case AN_ACT_TANH:
            dct = an__vadd(an__vld(dc + j), an__vmul(an__vmul(dht, vo), an__vsub(one, an__vmul(va, va))));
            dg = an__vmul(an__vmul(dct, vi), an__vsub(one, an__vmul(vg, vg)));
            break;
        case AN_ACT_RELU:
            dct = an__vadd(an__vld(dc + j), an__vlt_select(zero, va, an__vmul(dht, vo), zero));
            dg = an__vlt_select(zero, vg, an__vmul(dct, vi), zero);
            break;
        default:
            dct = an__vadd(an__vld(dc + j), an__vmul(dht, vo));
            dg = an__vmul(dct, vi);
            break;
        }
        an__vst(dzg + j, dg);
        an__vst(dzi + j, an__vmul(an__vmul(an__vmul(dct, vg), vi), an__vsub(one, vi)));
        an__vst(dzf + j, cp ? an__vmul(an__vmul(an__vmul(dct, an__vld(cp + j)), vf), an__vsub(one, vf)) : zero);
        an__vst(dzo + j, an__vmul(an__vmul(an__vmul(dht, va), vo), an__vsub(one, vo)));
        an__vst(dc + j, an__vmul(dct, vf));
    }
#endif
    for (; j < H; j++) {
        float dht = dh[j], dct, dg;
        if (up) dht += up[j];
        if (last) dht += last[j];
        switch (act) {
        case AN_ACT_TANH:
            dct = dc[j] + dht * go[j] * (1.0f - ac[j] * ac[j]);
            dg = dct * gi[j] * (1.0f - gg[j] * gg[j]);
            break;
        case AN_ACT_RELU:
            dct = dc[j] + (0.0f < ac[j] ? dht * go[j] : 0.0f);
            dg = 0.0f < gg[j] ? dct * gi[j] : 0.0f;
            break;
        default:
            dct = dc[j] + dht * go[j];
            dg = dct * gi[j];
            break;
        }
        dzg[j] = dg;
        dzi[j] = dct * gg[j] * gi[j] * (1.0f - gi[j]);
        dzf[j] = cp ? dct * cp[j] * gf[j] * (1.0f - gf[j]) : 0.0f;
        dzo[j] = dht * ac[j] * go[j] * (1.0f - go[j]);
        dc[j] = dct * gf[j];
    }
}

AN_API void an_lstm_layer_step(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, const float *x, float *h, float *c,
                               float *z)
{
    const size_t H = L->H, H4 = 4 * H;
    size_t j;
    for (j = 0; j < H4; j++) z[j] = L->b_ih[j] + L->b_hh[j];
    an_gemv_t(L->I, H4, buf->wt, H4, x, z);                  /* z(4H) += W_ih x  */
    an__gemv_panels(H, buf->wt + L->I * H4, h, z);            /* z(4H) += W_hh h  */
    an__lstm_activate(L->act, 1, H, z, H4);
    an__lstm_cell(L->act, H, z, c, c, z + H4, h);
}

/* an_lstm_layer_step reading W_ih (4H,I) and W_hh (4H,H) as stored, for a
   model loaded in place (no transposed copies): z (5H) scratch; h and c
   (H) updated in place; with first, the step from zero state (h and c
   not read: t = 0 of an_lstm_layer_forward, no recurrent product).  Each
   entry of a_t gets the arithmetic of the scalar path, there and in
   an_lstm_layer_forward: the two biases' sum, then one multiply and one
   add per input, then per unit, in order; so the bits are theirs on the
   scalar path. */
static void an__lstm_step_stored(const an_lstm_layer *L, const float *x, float *h, float *c, float *z, int first)
{
    const size_t H = L->H, I = L->I, H4 = 4 * H;
    size_t j, k;
    for (j = 0; j < H4; j++) {
        const float *wi = L->W_ih + j * I, *wh = L->W_hh + j * H;
        float a = L->b_ih[j] + L->b_hh[j];
        for (k = 0; k < I; k++) a += x[k] * wi[k];
        if (!first)
            for (k = 0; k < H; k++) a += h[k] * wh[k];
        z[j] = a;
    }
    an__lstm_activate(L->act, 1, H, z, H4);
    an__lstm_cell(L->act, H, z, first ? NULL : c, c, z + H4, h);
}

AN_API void an_lstm_layer_backward(const an_lstm_layer *L, const an_lstm_layer_buffers *buf, size_t B, size_t T,
                                   const float *x, int repeat, const float *dh_seq, const float *dh_last, float *dx)
{
    const size_t H = L->H, I = L->I, H4 = 4 * H, ldz = T * H4, ldh = T * H;
    const an_activation act = L->act;
    float *dhr = buf->work;            /* (B,H)  dL/dh_t through h_t's use at t+1 */
    float *dc = dhr + B * H;           /* (B,H)  dL/dc_t through c_t's use at t+1 */
    float *dzs = dc + B * H;           /* (B,4H) sum over t of dz (repeat only)   */
    size_t b, t, j;
    memset(dhr, 0, 2 * B * H * sizeof(float));
    for (t = T; t-- > 0;) {
        for (b = 0; b < B; b++) {
            const float *g = buf->gates + b * ldz + t * H4;
            const float *ac = buf->ac + b * ldh + t * H;
            const float *cp = t > 0 ? buf->c + b * ldh + (t - 1) * H : NULL;
            const float *up = dh_seq ? dh_seq + b * ldh + t * H : NULL;
            const float *last = (dh_last && t == T - 1) ? dh_last + b * H : NULL;
            an__lstm_cell_backward(act, H, g, ac, cp, up, last, dhr + b * H, dc + b * H,
                                   buf->dz + b * ldz + t * H4);
        }
        /* dh_{t-1}(B,H) = dz_t(B,4H) W_hh(4H,H) */
        memset(dhr, 0, B * H * sizeof(float));
        if (t > 0) an_gemm_nn(B, H, H4, buf->dz + t * H4, ldz, L->W_hh, H, dhr, H);
    }
    /* Parameter gradients from the whole dz (B T,4H) at once (none for an
       input gradient only). */
    if (L->dW_ih) {
        for (b = 0; b < B * T; b++) {
            an_axpy(H4, 1.0f, buf->dz + b * H4, L->db_ih);
            an_axpy(H4, 1.0f, buf->dz + b * H4, L->db_hh);
        }
        for (b = 0; b < B; b++) {
            /* dW_hh(4H,H) += dz(b,1..T-1)^T h(b,0..T-2) */
            if (T > 1) an_gemm_tn(H4, H, T - 1, buf->dz + (b * T + 1) * H4, H4, buf->h + b * ldh, H, L->dW_hh, H);
        }
    }
    if (repeat) {
        /* the input was the same at every step: dz summed over t (B,4H) */
        memset(dzs, 0, B * H4 * sizeof(float));
        for (b = 0; b < B; b++)
            for (t = 0; t < T; t++) an_axpy(H4, 1.0f, buf->dz + b * ldz + t * H4, dzs + b * H4);
        if (L->dW_ih) an_gemm_tn(H4, I, B, dzs, H4, x, I, L->dW_ih, I);   /* dW_ih(4H,I) += dzs^T x(B,I) */
        if (dx) an_gemm_nn(B, I, H4, dzs, H4, L->W_ih, I, dx, I);          /* dx(B,I) += dzs W_ih */
    } else {
        if (L->dW_ih && I <= 8 && I <= B) {
            /* few inputs (a univariate series): dW_ih^T(I,4H) += x(BT,I)^T dz(BT,4H)
               runs along 4H in vectors, where (4H,I) would leave I < one
               vector of columns to the scalar tail; summed in dzs, added
               transposed */
            size_t i;
            memset(dzs, 0, I * H4 * sizeof(float));
            an_gemm_tn(I, H4, B * T, x, I, buf->dz, H4, dzs, H4);
            for (i = 0; i < I; i++)
                for (j = 0; j < H4; j++) L->dW_ih[j * I + i] += dzs[i * H4 + j];
        } else if (L->dW_ih) {
            an_gemm_tn(H4, I, B * T, buf->dz, H4, x, I, L->dW_ih, I);   /* dW_ih(4H,I) += dz^T x(BT,I) */
        }
        if (dx) an_gemm_nn(B * T, I, H4, buf->dz, H4, L->W_ih, I, dx, I); /* dx(BT,I) += dz W_ih */
    }
}

AN_API void an_dense_forward(size_t N, size_t I, size_t O, const float *x, const float *W, const float *b,
                             float *y)
{
    size_t r;
    /* y(r,O) += x(r,I) W(O,I)^T one row at a time: a row's result then
       does not depend on N or on its place (the blocked product pairs
       rows), so a window gives the same bits alone as inside a batch */
    for (r = 0; r < N; r++) {
        memcpy(y + r * O, b, O * sizeof(float));
        an_gemm_nt(1, O, I, x + r * I, I, W, I, y + r * O, O);
    }
}

AN_API void an_dense_backward(size_t N, size_t I, size_t O, const float *x, const float *W, const float *dy,
                              float *dW, float *db, float *dx)
{
    size_t r;
    if (dW) an_gemm_tn(O, I, N, dy, O, x, I, dW, I);        /* dW(O,I) += dy(N,O)^T x(N,I) */
    if (db)
        for (r = 0; r < N; r++) an_axpy(O, 1.0f, dy + r * O, db);
    if (dx) an_gemm_nn(N, I, O, dy, O, W, I, dx, I);        /* dx(N,I) += dy(N,O) W(O,I) */
}

AN_API void an_repeat_forward(size_t B, size_t T, size_t D, const float *x, float *y)
{
    size_t b, t;
    for (b = 0; b < B; b++)
        for (t = 0; t < T; t++) memcpy(y + (b * T + t) * D, x + b * D, D * sizeof(float));
}

AN_API void an_repeat_backward(size_t B, size_t T, size_t D, const float *dy, float *dx)
{
    size_t b, t;
    for (b = 0; b < B; b++)
        for (t = 0; t < T; t++) an_axpy(D, 1.0f, dy + (b * T + t) * D, dx + b * D);
}

AN_API void an_dropout_mask(an_rng *rng, size_t n, float p, float *mask)
{
    size_t i;
    float keep = p > 0.0f && p < 1.0f ? 1.0f / (1.0f - p) : 1.0f;
    for (i = 0; i < n; i++) mask[i] = (p > 0.0f && an_rng_uniformf(rng) < p) ? 0.0f : keep;
}

AN_API void an_dropout_apply(size_t n, const float *mask, const float *x, float *y)
{
    size_t i;
    for (i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

/* ==========================================================================
   2  Losses
   ========================================================================== */

/* log(1 + exp(z)) without overflow or cancellation. */
static double an__softplus(double z) { return z > 0.0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

AN_API an_result an_loss(an_loss_kind kind, const float *pred, const float *target, size_t n,
                         size_t n_classes, const float *class_weight, double gamma,
                         double *loss, float *grad)
{
    double sum = 0.0, inv;
    size_t i;
    if (!pred || !target || !loss || n == 0) return AN_ERR_INVALID_ARG;
    *loss = 0.0;
    if ((kind == AN_LOSS_BCE || kind == AN_LOSS_FOCAL) && (n_classes == 0 || n % n_classes != 0))
        return AN_ERR_SHAPE;
    if (kind == AN_LOSS_FOCAL && !(gamma >= 0.0 && gamma <= 100.0)) return AN_ERR_INVALID_ARG;
    if ((unsigned)kind > AN_LOSS_FOCAL) return AN_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        if (!an__finite(pred[i]) || !an__finite(target[i])) return AN_ERR_INPUT;
        if (kind >= AN_LOSS_BCE && !(target[i] >= 0.0f && target[i] <= 1.0f)) return AN_ERR_INPUT;
    }
    if (class_weight && kind >= AN_LOSS_BCE)
        for (i = 0; i < n_classes; i++)
            if (!an__finite(class_weight[i]) || class_weight[i] < 0.0f) return AN_ERR_INPUT;
    inv = 1.0 / (double)n;
    for (i = 0; i < n; i++) {
        double p = pred[i], y = target[i], d = p - y, l = 0.0, g = 0.0;
        double w = (class_weight && kind >= AN_LOSS_BCE) ? class_weight[i % n_classes] : 1.0;
        switch (kind) {
        case AN_LOSS_MSE: l = d * d; g = 2.0 * d; break;
        case AN_LOSS_MAE: l = fabs(d); g = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0); break;
        case AN_LOSS_BCE:
            /* p is the logit z: -y log s(z) - (1-y) log(1-s(z)) */
            l = w * (y * an__softplus(-p) + (1.0 - y) * an__softplus(p));
            g = w * (1.0 / (1.0 + exp(-p)) - y);
            break;
        case AN_LOSS_FOCAL: {
            /* q = sigmoid(z); log q = -softplus(-z), log(1-q) = -softplus(z).
               d/dz [(1-q)^gamma log q]     = (1-q)^gamma ((1-q) - gamma q log q)
               d/dz [q^gamma log(1-q)]      = q^gamma (gamma (1-q) log(1-q) - q) */
            double q = 1.0 / (1.0 + exp(-p)), lq = -an__softplus(-p), l1q = -an__softplus(p);
            double a = pow(1.0 - q, gamma), b = pow(q, gamma);
            l = -w * (y * a * lq + (1.0 - y) * b * l1q);
            g = -w * (y * a * ((1.0 - q) - gamma * q * lq) + (1.0 - y) * b * (gamma * (1.0 - q) * l1q - q));
            break;
        }
        }
        sum += l;
        if (grad) grad[i] = (float)(g * inv);
    }
    *loss = sum * inv;
    return AN_OK;
}

/* ==========================================================================
   3  Adam
   ========================================================================== */

AN_API an_adam_config an_adam_config_init(double lr)
{
    an_adam_config c;
    c.lr = lr;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = 0.0;
    c.clip_norm = 0.0;
    return c;
}

static an_result an__adam_check(const an_adam_config *c)
{
    if (!c) return AN_ERR_INVALID_ARG;
    if (!(c->lr > 0.0 && c->lr < 1e3) || !(c->beta1 >= 0.0 && c->beta1 < 1.0) ||
        !(c->beta2 >= 0.0 && c->beta2 < 1.0) || !(c->eps > 0.0 && c->eps < 1.0) ||
        !(c->weight_decay >= 0.0 && c->lr * c->weight_decay < 1.0) || !(c->clip_norm >= 0.0 && c->clip_norm < 1e30))
        return AN_ERR_INVALID_ARG;
    return AN_OK;
}

static size_t an__adam_layout(size_t n, size_t *v_off)
{
    an__layout l = { 0 };
    an__layout_add(&l, n, sizeof(float));
    *v_off = an__layout_add(&l, n, sizeof(float));
    return l.size;
}

AN_API an_result an_adam_heap_size(size_t n, size_t *bytes)
{
    size_t v_off, size;
    if (!bytes) return AN_ERR_INVALID_ARG;
    *bytes = 0;
    if (n == 0) return AN_ERR_INVALID_ARG;
    size = an__adam_layout(n, &v_off);
    if (size == SIZE_MAX) return AN_ERR_TOO_LARGE;
    *bytes = size;
    return AN_OK;
}

AN_API an_result an_adam_init_preallocated(an_adam *opt, const an_adam_config *cfg, size_t n, void *heap)
{
    size_t v_off, size;
    an_result r;
    if (!opt || !heap || an__misaligned(heap) || n == 0) return AN_ERR_INVALID_ARG;
    if ((r = an__adam_check(cfg)) != AN_OK) return r;
    if ((size = an__adam_layout(n, &v_off)) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    memset(opt, 0, sizeof *opt);
    opt->cfg = *cfg;
    opt->n = n;
    opt->heap = heap;
    opt->m = (float *)heap;
    opt->v = (float *)((unsigned char *)heap + v_off);
    memset(heap, 0, size);
    return AN_OK;
}

AN_API an_result an_adam_init(an_adam *opt, const an_adam_config *cfg, size_t n, const an_allocator *a)
{
    size_t bytes;
    void *heap;
    an_allocator alloc;
    an_result r;
    if (!opt) return AN_ERR_INVALID_ARG;
    memset(opt, 0, sizeof *opt);
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an__adam_check(cfg)) != AN_OK) return r;
    if ((r = an_adam_heap_size(n, &bytes)) != AN_OK) return r;
    if (!(heap = an_malloc(&alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_adam_init_preallocated(opt, cfg, n, heap);
    opt->owned_bytes = bytes;
    opt->alloc = alloc;
    return AN_OK;
}

AN_API void an_adam_uninit(an_adam *opt)
{
    if (!opt) return;
    if (opt->owned_bytes) an_free(&opt->alloc, opt->heap, opt->owned_bytes);
    memset(opt, 0, sizeof *opt);
}

AN_API void an_adam_reset(an_adam *opt)
{
    if (!opt || !opt->m) return;
    memset(opt->m, 0, opt->n * sizeof(float));
    memset(opt->v, 0, opt->n * sizeof(float));
    opt->t = 0;
}

AN_API an_result an_adam_step_ranges(an_adam *opt, float *params, float *grads, const size_t *ranges,
                                     size_t n_ranges, double *grad_norm)
{
    double sq = 0.0, norm, coef = 1.0, bc1, bc2;
    float b1, b2, step, rbc2, eps, decay;
    size_t k, i;
    an_result r;
    if (grad_norm) *grad_norm = 0.0;
    if (!opt || !opt->m || !params || !grads || (!ranges && n_ranges)) return AN_ERR_INVALID_ARG;
    if ((r = an__adam_check(&opt->cfg)) != AN_OK) return r;
    for (k = 0; k < n_ranges; k++)
        if (ranges[2 * k] > ranges[2 * k + 1] || ranges[2 * k + 1] > opt->n) return AN_ERR_INVALID_ARG;
    for (k = 0; k < n_ranges; k++) {   /* four sums in flight, the same order on every path */
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        const float *g = grads + ranges[2 * k];
        size_t n = ranges[2 * k + 1] - ranges[2 * k];
        for (i = 0; i + 4 <= n; i += 4) {
            s0 += (double)g[i] * g[i];
            s1 += (double)g[i + 1] * g[i + 1];
            s2 += (double)g[i + 2] * g[i + 2];
            s3 += (double)g[i + 3] * g[i + 3];
        }
        for (; i < n; i++) s0 += (double)g[i] * g[i];
        sq += (s0 + s1) + (s2 + s3);
    }
    norm = sqrt(sq);
    if (grad_norm) *grad_norm = norm;
    if (!an__finite(norm)) return AN_ERR_NUMERIC;
    if (opt->cfg.clip_norm > 0.0) {
        coef = opt->cfg.clip_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (k = 0; k < n_ranges; k++)
                for (i = ranges[2 * k]; i < ranges[2 * k + 1]; i++) grads[i] = (float)(grads[i] * coef);
    }
    opt->t++;
    bc1 = 1.0 - pow(opt->cfg.beta1, (double)opt->t);
    bc2 = 1.0 - pow(opt->cfg.beta2, (double)opt->t);
    b1 = (float)opt->cfg.beta1;
    b2 = (float)opt->cfg.beta2;
    step = (float)(opt->cfg.lr / bc1);
    rbc2 = (float)(1.0 / sqrt(bc2));
    eps = (float)opt->cfg.eps;
    decay = (float)(1.0 - opt->cfg.lr * opt->cfg.weight_decay);
    /* m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2,  p -= step m / (sqrt(v) rbc2 + eps)
       (after p *= decay for AdamW).  The vector columns do the scalar
       line's operations in its order, none fused, and sqrt and division
       are correctly rounded, so every path gives the same bits. */
    for (k = 0; k < n_ranges; k++) {
        float *p = params + ranges[2 * k], *g = grads + ranges[2 * k];
        float *m = opt->m + ranges[2 * k], *v = opt->v + ranges[2 * k];
        size_t n = ranges[2 * k + 1] - ranges[2 * k];
        int decays = opt->cfg.weight_decay > 0.0;
        i = 0;
#ifdef AN__VEC
        {
            const an__v vb1 = an__vset(b1), vc1 = an__vset(1.0f - b1), vb2 = an__vset(b2), vc2 = an__vset(1.0f - b2);
            const an__v vstep = an__vset(step), vrbc2 = an__vset(rbc2), veps = an__vset(eps), vdecay = an__vset(decay);
            for (; i + AN__W <= n; i += AN__W) {
                an__v gi = an__vld(g + i), pi = an__vld(p + i);
                an__v mi = an__vadd(an__vmul(vb1, an__vld(m + i)), an__vmul(vc1, gi));
                an__v vi = an__vadd(an__vmul(vb2, an__vld(v + i)), an__vmul(an__vmul(vc2, gi), gi));
                an__vst(m + i, mi);
                an__vst(v + i, vi);
                if (decays) pi = an__vmul(pi, vdecay);
                pi = an__vsub(pi, an__vdiv(an__vmul(vstep, mi), an__vadd(an__vmul(an__vsqrt(vi), vrbc2), veps)));
                an__vst(p + i, pi);
            }
        }
#endif
        for (; i < n; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            if (decays) p[i] *= decay;
            p[i] -= step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
        }
    }
    return AN_OK;
}

AN_API an_result an_adam_step(an_adam *opt, float *params, float *grads, double *grad_norm)
{
    size_t range[2];
    if (!opt) return AN_ERR_INVALID_ARG;
    range[0] = 0;
    range[1] = opt->n;
    return an_adam_step_ranges(opt, params, grads, range, 1, grad_norm);
}

/* ==========================================================================
   4  Models
   ========================================================================== */

/* Where everything lives: parameter offsets (floats into the parameter
   block) and layer sizes, from the configuration alone. */
typedef struct an__lae_layout {
    int head;                                       /* 1: dense head on the
                                                       last state (forecaster,
                                                       classifier)          */
    int classifier;
    int has_latent;                                 /* a latent dense layer */
    size_t out_total;                               /* outputs per sample   */
    size_t n;                                       /* encoder layers       */
    size_t n_dec;                                   /* decoder layers       */
    size_t out_in, out_dim;                         /* output dense sizes   */
    size_t rows;                                    /* output rows: T or P  */
    size_t enc_I[AN_LSTM_MAX_LAYERS], enc_H[AN_LSTM_MAX_LAYERS], enc_off[AN_LSTM_MAX_LAYERS];
    size_t dec_I[AN_LSTM_MAX_LAYERS], dec_H[AN_LSTM_MAX_LAYERS], dec_off[AN_LSTM_MAX_LAYERS];
    size_t top;                                     /* encoder output size  */
    size_t code;                                    /* decoder input size   */
    size_t lat_W, lat_b, out_W, out_b;              /* offsets              */
    size_t n_params;
    size_t widest;                                  /* largest I or H       */
} an__lae_layout;

typedef struct an__lae {
    an_detector base;
    an_lstm_config cfg;
    size_t n_features;    /* F, fixed at create (base.n_features is the
                             contract's public copy)                 */
    an_lstm_kind kind;
    an_allocator alloc;
    an__lae_layout lay;
    an_scaler scaler;
    int has_scaler;
    an_lstm_layer enc[AN_LSTM_MAX_LAYERS], dec[AN_LSTM_MAX_LAYERS];
    an_lstm_layer_buffers enc_buf[AN_LSTM_MAX_LAYERS], dec_buf[AN_LSTM_MAX_LAYERS];
    int enc_frozen[AN_LSTM_MAX_LAYERS], dec_frozen[AN_LSTM_MAX_LAYERS];
    /* inference block */
    float *params;        /* (n_params)                              */
    float *x;             /* (B,T,F) input windows                   */
    float *yhat;          /* (B,rows,F) output; rows = T or P (push
                             borrows it for a (T,F) window)          */
    float *target;        /* (B,P,F) forecaster targets, (B,K) labels;
                             also one scaled row's scratch          */
    float *class_weight;  /* (K) classifier class weights            */
    const float *labels;  /* (N,K) during classifier training        */
    float *e, *z;         /* (B,top) encoder state, (B,latent) code  */
    float *ring;          /* (T,F) the stream's last rows            */
    float *st_h, *st_c;   /* stateful stream: sum of H_l each        */
    float *st_z, *st_x;   /* (5 widest), (F) scratch                 */
    float *st_pred;       /* (P,F) prediction made at the last row   */
    float *st_exp;        /* (F) what the last push expected, raw    */
    float *err_w;         /* (F) the features' error weights (1
                             without channel_norm)                   */
    float *lh, *lc;       /* in place (lean): every layer's h and c of
                             the step, encoder then decoder (sum of
                             their H each); NULL otherwise            */
    int lean;             /* loaded in place (ANOMALY_LSTM_LOAD_IN_PLACE):
                             no layer buffers, stepwise scoring, no
                             training                                 */
    void *core;
    size_t core_bytes;
    /* training block */
    float *grads, *best;  /* (n_params) each                         */
    float *dyhat;         /* (B,T,F)                                 */
    float *dseq[2];       /* (B,T,widest) sequence gradients         */
    float *de, *dcode;    /* (B,top), (B,code)                       */
    float *gx;            /* (B,T,F) input gradients (gradient hook) */
    float *mask[AN_LSTM_MAX_LAYERS];   /* forecaster dropout masks: after
                             layer l (B,T,H_l), l < n-1; after the top
                             layer's last state (B,top) at l = n-1   */
    float *dropped[AN_LSTM_MAX_LAYERS];/* the masked outputs, same shapes */
    an_rng drop_rng;
    an_lstm_dropout_mode training;   /* dropout in the forward pass */
    an_adam adam;
    float *adam_heap;     /* Adam's moments in the training block     */
    void *train;
    size_t train_bytes;
    /* stream and training record */
    size_t ring_pos, n_seen;
    int has_exp;          /* st_exp holds the last push's expectation */
    size_t epochs_run, train_rows;
    double best_loss, train_seconds;
    double thr_mean, thr_std, thr_p99;   /* training rows' scores */
} an__lae;

static an_result an__lae_score(an_detector *self, const float *x, size_t n_rows, float *scores);
static const an_detector_vtable *an__lae_vt(an_lstm_kind kind);

/* The model behind d, recognised by its type table (the three kinds). */
static an__lae *an__lae_of(an_detector *d)
{
    if (!d || !d->vt) return NULL;
    return (d->vt == an__lae_vt(AN_LSTM_AUTOENCODER) || d->vt == an__lae_vt(AN_LSTM_FORECASTER) ||
            d->vt == an__lae_vt(AN_LSTM_CLASSIFIER)) ? (an__lae *)d : NULL;
}

AN_API an_lstm_config an_lstm_ae_config_init(size_t window, size_t units)
{
    an_lstm_config c;
    memset(&c, 0, sizeof c);
    c.window = window;
    c.n_layers = 1;
    c.units[0] = units;
    c.latent = 0;
    c.activation = AN_ACT_TANH;
    c.loss = AN_LOSS_MSE;
    c.scaler = AN_SCALER_STANDARD;
    c.batch = 32;
    c.window_agg = AN_AGG_LAST;
    c.seed = 1;
    c.train = an_lstm_train_config_init();
    return c;
}

AN_API an_lstm_train_config an_lstm_train_config_init(void)
{
    an_lstm_train_config t;
    memset(&t, 0, sizeof t);
    t.epochs = 20;
    t.stride = 1;
    t.val_fraction = 0.1;
    t.patience = 5;
    t.min_delta = 0.0;
    t.adam = an_adam_config_init(1e-3);
    return t;
}

AN_API an_result an_lstm_check_train_config(const an_lstm_train_config *t)
{
    if (!t) return AN_ERR_INVALID_ARG;
    if (t->stride < 1 || t->epochs > 1000000) return AN_ERR_INVALID_ARG;
    if (!(t->val_fraction >= 0.0 && t->val_fraction <= 0.9)) return AN_ERR_INVALID_ARG;
    if (!(t->min_delta >= 0.0 && t->min_delta < 1e30)) return AN_ERR_INVALID_ARG;
    return an__adam_check(&t->adam);
}

static void an__lae_plan(const an_lstm_config *c, size_t F, an_lstm_kind kind, an__lae_layout *L)
{
    int forecaster = kind != AN_LSTM_AUTOENCODER;
    size_t l, off = 0, n = c->n_layers, latent = forecaster ? 0 : c->latent;
    memset(L, 0, sizeof *L);
    L->head = kind != AN_LSTM_AUTOENCODER;
    L->classifier = kind == AN_LSTM_CLASSIFIER;
    L->n = n;
    L->n_dec = forecaster ? 0 : n;
    L->widest = F;
    for (l = 0; l < n; l++) {
        L->enc_I[l] = l ? c->units[l - 1] : F;
        L->enc_H[l] = c->units[l];
        L->enc_off[l] = off;
        off = an__add(off, an_lstm_layer_param_count(L->enc_I[l], L->enc_H[l]));
        if (c->units[l] > L->widest) L->widest = c->units[l];
    }
    L->top = c->units[n - 1];
    L->has_latent = latent != 0;
    L->code = latent ? latent : L->top;
    if (L->code > L->widest) L->widest = L->code;
    L->lat_W = off;
    off = an__add(off, an__mul(latent, L->top));
    L->lat_b = off;
    off = an__add(off, latent);
    for (l = 0; l < L->n_dec; l++) {
        L->dec_I[l] = l ? L->dec_H[l - 1] : L->code;
        L->dec_H[l] = c->units[n - 1 - l];
        L->dec_off[l] = off;
        off = an__add(off, an_lstm_layer_param_count(L->dec_I[l], L->dec_H[l]));
    }
    L->rows = kind == AN_LSTM_CLASSIFIER ? 1 : (forecaster ? c->n_predictions : c->window);
    L->out_in = forecaster ? L->top : L->dec_H[n - 1];
    L->out_dim = kind == AN_LSTM_CLASSIFIER ? c->n_classes : (forecaster ? an__mul(c->n_predictions, F) : F);
    L->out_total = kind == AN_LSTM_AUTOENCODER ? an__mul(c->window, F) : L->out_dim;
    L->out_W = off;
    off = an__add(off, an__mul(L->out_dim, L->out_in));
    L->out_b = off;
    L->n_params = an__add(off, L->out_dim);
}

AN_API an_result an_lstm_check_config(const an_lstm_config *c)
{
    size_t l;
    if (!c) return AN_ERR_INVALID_ARG;
    if (c->window < 1 || c->window > AN_LSTM_MAX_WINDOW) return AN_ERR_INVALID_ARG;
    if (c->n_layers < 1 || c->n_layers > AN_LSTM_MAX_LAYERS) return AN_ERR_INVALID_ARG;
    for (l = 0; l < c->n_layers; l++)
        if (c->units[l] < 1 || c->units[l] > AN_LSTM_MAX_UNITS) return AN_ERR_INVALID_ARG;
    if (c->latent > AN_LSTM_MAX_UNITS) return AN_ERR_INVALID_ARG;
    if ((unsigned)c->activation > AN_ACT_LINEAR) return AN_ERR_INVALID_ARG;
    if ((unsigned)c->loss > AN_LOSS_FOCAL) return AN_ERR_INVALID_ARG;
    if ((unsigned)c->scaler > AN_SCALER_ROBUST) return AN_ERR_INVALID_ARG;
    if ((unsigned)c->channel_agg > AN_AGG_MAX || (unsigned)c->window_agg > AN_AGG_LAST ||
        (c->channel_norm != 0 && c->channel_norm != 1) || (c->centre != 0 && c->centre != 1))
        return AN_ERR_INVALID_ARG;
    if (c->batch < 1 || c->batch > 65536) return AN_ERR_INVALID_ARG;
    if (c->n_predictions > AN_LSTM_MAX_WINDOW || !(c->dropout >= 0.0 && c->dropout < 1.0)) return AN_ERR_INVALID_ARG;
    return an_lstm_check_train_config(&c->train);
}

/* Saturating offsets for carving blocks: SIZE_MAX once anything overflows. */
static float *an__take(float *base, size_t *off, size_t n)
{
    float *p = (base && *off != SIZE_MAX) ? base + *off : NULL;
    if (*off == SIZE_MAX || n > SIZE_MAX / 8 || *off > SIZE_MAX / 8) *off = SIZE_MAX;
    else *off = an__fround(*off + n);
    return p;
}

/* How a model's inference block is laid out: AN__LAE_LEAN (loaded in
   place) leaves out the layers' buffers for every layer's h and c of one
   step, AN__LAE_BORROWED the parameters too (they are the file's). */
#define AN__LAE_LEAN     1
#define AN__LAE_BORROWED 2

/* Lays out both blocks (or only measures them, with m's blocks NULL):
   sizes in floats.  mode: AN__LAE_* bits, 0 for a created model (a lean
   model has no training block: its size is measured all the same). */
static void an__lae_carve(an__lae *m, const an_lstm_config *c, size_t F, const an__lae_layout *L, int mode,
                          float *core, float *train, size_t *core_floats, size_t *train_floats)
{
    size_t B = c->batch, T = c->window, co = 0, tr = 0, l, adam_bytes = 0, units = 0;
    size_t bt = an__mul(B, T);
    float *p;
    size_t tf = an__mul(T, F), out_max = tf > L->out_total ? tf : L->out_total;
    p = an__take(core, &co, (mode & AN__LAE_BORROWED) ? 0 : L->n_params);
    if (m) m->params = (mode & AN__LAE_BORROWED) ? NULL : p;
    for (l = 0; l < L->n + L->n_dec; l++) {
        size_t H = l < L->n ? L->enc_H[l] : L->dec_H[l - L->n], I = l < L->n ? L->enc_I[l] : L->dec_I[l - L->n];
        units = an__add(units, H);
        p = an__take(core, &co, (mode & AN__LAE_LEAN) ? 0 : an_lstm_layer_buffer_floats(B, T, I, H, 0));
        if (m && p && !(mode & AN__LAE_LEAN))
            an_lstm_layer_buffers_carve(l < L->n ? &m->enc_buf[l] : &m->dec_buf[l - L->n], p, B, T, I, H, 0);
        p = an__take(train, &tr, an__mul(bt, 4 * H));
        if (m) (l < L->n ? &m->enc_buf[l] : &m->dec_buf[l - L->n])->dz = p;
        p = an__take(train, &tr, an__mul(B, 6 * H));
        if (m) (l < L->n ? &m->enc_buf[l] : &m->dec_buf[l - L->n])->work = p;
    }
    p = an__take(core, &co, an__mul(bt, F)); if (m) m->x = p;
    p = an__take(core, &co, an__mul(B, out_max)); if (m) m->yhat = p;
    p = an__take(core, &co, an__mul(B, out_max)); if (m) m->target = p;   /* also a scaled row's scratch */
    p = an__take(core, &co, L->classifier ? L->out_dim : 0); if (m) m->class_weight = p;
    p = an__take(core, &co, an__mul(B, L->top)); if (m) m->e = p;
    p = an__take(core, &co, an__mul(B, L->code)); if (m) m->z = p;
    p = an__take(core, &co, an__mul(T, F)); if (m) m->ring = p;
    {
        size_t hs = 0;
        for (l = 0; l < L->n; l++) hs = an__add(hs, L->enc_H[l]);
        p = an__take(core, &co, hs); if (m) m->st_h = p;
        p = an__take(core, &co, hs); if (m) m->st_c = p;
        p = an__take(core, &co, an__mul(5, L->widest)); if (m) m->st_z = p;
        p = an__take(core, &co, F); if (m) m->st_x = p;
        p = an__take(core, &co, L->out_dim); if (m) m->st_pred = p;
        p = an__take(core, &co, F); if (m) m->st_exp = p;
    }
    p = an__take(core, &co, F); if (m) m->err_w = p;
    if (mode & AN__LAE_LEAN) {
        p = an__take(core, &co, units); if (m) m->lh = p;
        p = an__take(core, &co, units); if (m) m->lc = p;
    }
    p = an__take(train, &tr, L->n_params); if (m) m->grads = p;
    p = an__take(train, &tr, L->n_params); if (m) m->best = p;
    p = an__take(train, &tr, an__mul(B, L->out_total)); if (m) m->dyhat = p;
    for (l = 0; l < L->n; l++) {
        size_t k = (L->head && c->dropout > 0.0) ? (l + 1 < L->n ? an__mul(bt, L->enc_H[l]) : an__mul(B, L->top)) : 0;
        p = an__take(train, &tr, k); if (m) m->mask[l] = p;
        p = an__take(train, &tr, k); if (m) m->dropped[l] = p;
    }
    p = an__take(train, &tr, an__mul(bt, L->widest)); if (m) m->dseq[0] = p;
    p = an__take(train, &tr, an__mul(bt, L->widest)); if (m) m->dseq[1] = p;
    p = an__take(train, &tr, an__mul(B, L->top)); if (m) m->de = p;
    p = an__take(train, &tr, an__mul(B, L->code)); if (m) m->dcode = p;
    p = an__take(train, &tr, an__mul(bt, F)); if (m) m->gx = p;
    if (an_adam_heap_size(L->n_params, &adam_bytes) != AN_OK) adam_bytes = SIZE_MAX;
    p = an__take(train, &tr, adam_bytes / sizeof(float) + 1);
    if (m) m->adam_heap = p;
    if (m && p) an_adam_init_preallocated(&m->adam, &c->train.adam, L->n_params, p);
    *core_floats = co;
    *train_floats = tr;
}

static an_result an__model_check(const an_lstm_config *c, size_t F, an_lstm_kind kind)
{
    size_t k;
    an_result r = an_lstm_check_config(c);
    if (r != AN_OK) return r;
    if (F < 1 || F > AN_LSTM_MAX_FEATURES) return AN_ERR_INVALID_ARG;
    if (c->centre && kind != AN_LSTM_AUTOENCODER) return AN_ERR_INVALID_ARG;
    if (kind == AN_LSTM_CLASSIFIER) {
        if (c->n_classes < 1 || c->n_classes > AN_LSTM_MAX_FEATURES) return AN_ERR_INVALID_ARG;
        if (c->loss != AN_LOSS_BCE && c->loss != AN_LOSS_FOCAL) return AN_ERR_INVALID_ARG;
        if (!(c->gamma >= 0.0 && c->gamma <= 100.0)) return AN_ERR_INVALID_ARG;
        if (c->class_weight)
            for (k = 0; k < c->n_classes; k++)
                if (!an__finite(c->class_weight[k]) || c->class_weight[k] < 0.0f) return AN_ERR_INVALID_ARG;
        return AN_OK;
    }
    if (c->loss != AN_LOSS_MSE && c->loss != AN_LOSS_MAE) return AN_ERR_INVALID_ARG;
    if (kind == AN_LSTM_FORECASTER) return c->n_predictions >= 1 ? AN_OK : AN_ERR_INVALID_ARG;
    return c->dropout == 0.0 ? AN_OK : AN_ERR_INVALID_ARG;   /* the autoencoder has no dropout */
}

static an_result an__model_memory(const an_lstm_config *c, size_t F, an_lstm_kind kind, int mode,
                                  size_t *inference_bytes, size_t *training_bytes)
{
    an__lae_layout L;
    size_t co, tr;
    an_result r;
    if (inference_bytes) *inference_bytes = 0;
    if (training_bytes) *training_bytes = 0;
    if ((r = an__model_check(c, F, kind)) != AN_OK) return r;
    an__lae_plan(c, F, kind, &L);
    if (L.n_params == SIZE_MAX) return AN_ERR_TOO_LARGE;
    an__lae_carve(NULL, c, F, &L, mode, NULL, NULL, &co, &tr);
    co = an__mul(co, sizeof(float));
    tr = an__mul(tr, sizeof(float));
    if (co == SIZE_MAX || tr == SIZE_MAX || an__add(co, tr) > AN_LSTM_MAX_BYTES) return AN_ERR_TOO_LARGE;
    if (inference_bytes) *inference_bytes = an__add(co, sizeof(an__lae));
    if (training_bytes) *training_bytes = tr;
    return AN_OK;
}

AN_API an_result an_lstm_ae_memory(const an_lstm_config *c, size_t n_features, size_t *inference_bytes,
                                   size_t *training_bytes)
{
    return an__model_memory(c, n_features, AN_LSTM_AUTOENCODER, 0, inference_bytes, training_bytes);
}

AN_API an_result an_lstm_forecaster_memory(const an_lstm_config *c, size_t n_features, size_t *inference_bytes,
                                           size_t *training_bytes)
{
    return an__model_memory(c, n_features, AN_LSTM_FORECASTER, 0, inference_bytes, training_bytes);
}

/* Points the layer structs at the parameter (and gradient) block: a
   layer's four tensors W_ih (4H,I), W_hh (4H,H), b_ih, b_hh (4H) lie one
   after another from its offset, in both blocks. */
static void an__lae_bind(an__lae *m)
{
    const an__lae_layout *L = &m->lay;
    size_t l, side;
    for (side = 0; side < 2; side++)
        for (l = 0; l < (side ? L->n_dec : L->n); l++) {
            an_lstm_layer *y = side ? &m->dec[l] : &m->enc[l];
            size_t I = side ? L->dec_I[l] : L->enc_I[l], H = side ? L->dec_H[l] : L->enc_H[l];
            size_t o = side ? L->dec_off[l] : L->enc_off[l];
            size_t hh = o + 4 * H * I, bi = hh + 4 * H * H, bh = bi + 4 * H;
            y->I = I;
            y->H = H;
            y->act = m->cfg.activation;
            y->W_ih = m->params + o;
            y->W_hh = m->params + hh;
            y->b_ih = m->params + bi;
            y->b_hh = m->params + bh;
            y->dW_ih = m->grads ? m->grads + o : NULL;
            y->dW_hh = m->grads ? m->grads + hh : NULL;
            y->db_ih = m->grads ? m->grads + bi : NULL;
            y->db_hh = m->grads ? m->grads + bh : NULL;
        }
}

/* The layers' transposed weights from the parameter block. */
static void an__lae_prepare(an__lae *m)
{
    size_t l;
    if (m->lean) return;   /* loaded in place: scoring reads the weights as stored */
    for (l = 0; l < m->lay.n; l++) an_lstm_layer_prepare(&m->enc[l], &m->enc_buf[l]);
    for (l = 0; l < m->lay.n_dec; l++) an_lstm_layer_prepare(&m->dec[l], &m->dec_buf[l]);
}

/* Floats of the stateful forecaster's h (and of c). */
static size_t an__lae_state_size(const an__lae *m)
{
    size_t l, hs = 0;
    for (l = 0; l < m->lay.n; l++) hs += m->lay.enc_H[l];
    return hs;
}

static void an__lae_stream_reset(an__lae *m)
{
    size_t hs = an__lae_state_size(m);
    memset(m->st_h, 0, hs * sizeof(float));
    memset(m->st_c, 0, hs * sizeof(float));
    m->n_seen = m->ring_pos = 0;
    m->has_exp = 0;
}

static void an__lae_free(an__lae *m)
{
    an_allocator a = m->alloc;
    if (m->has_scaler) an_scaler_uninit(&m->scaler);
    if (m->train) an_free(&a, m->train, m->train_bytes);
    if (m->core) an_free(&a, m->core, m->core_bytes);
    an_free(&a, m, sizeof *m);
}

static void an__lae_destroy(an_detector *self)
{
    an__lae *m = an__lae_of(self);
    if (m) an__lae_free(m);
}

static void an__lae_init_params(an__lae *m)
{
    an_rng rng;
    size_t l;
    an_rng_seed(&rng, m->cfg.seed, 1);
    for (l = 0; l < m->lay.n; l++) an_lstm_layer_init_params(&m->enc[l], &rng);
    if (m->lay.has_latent)
        an_dense_init_params(m->lay.top, m->lay.code, m->params + m->lay.lat_W, m->params + m->lay.lat_b, &rng);
    for (l = 0; l < m->lay.n_dec; l++) an_lstm_layer_init_params(&m->dec[l], &rng);
    an_dense_init_params(m->lay.out_in, m->lay.out_dim, m->params + m->lay.out_W, m->params + m->lay.out_b, &rng);
}

/* A model of configuration c, its memory allocated and laid out, its
   parameters zero: what the loader fills from the file.  an__model_create
   draws them from the seed, as training starts; the loader never does (so
   a load runs no random initialisation, and firmware built with
   ANOMALY_NO_TRAINING does not link its RNG and libm code). */
static an_result an__model_alloc(const an_lstm_config *c, size_t F, an_lstm_kind kind, int mode,
                                 const an_allocator *a, an_detector **out)
{
    an__lae *m;
    an_allocator alloc;
    size_t co, tr, f;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an__model_memory(c, F, kind, mode, NULL, NULL)) != AN_OK) return r;
    if (!(m = (an__lae *)an_malloc(&alloc, sizeof *m, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    m->alloc = alloc;
    m->kind = kind;
    m->lean = (mode & AN__LAE_LEAN) != 0;
    m->cfg = *c;
    m->n_features = F;
    m->cfg.class_weight = NULL;   /* copied below; the caller's array may go */
    if (kind != AN_LSTM_FORECASTER) m->cfg.n_predictions = 0;
    if (kind != AN_LSTM_CLASSIFIER) { m->cfg.n_classes = 0; m->cfg.gamma = 0.0; }
    if (kind != AN_LSTM_AUTOENCODER) m->cfg.latent = 0;
    an__lae_plan(&m->cfg, F, kind, &m->lay);
    an__lae_carve(NULL, &m->cfg, F, &m->lay, mode, NULL, NULL, &co, &tr);
    m->core_bytes = co * sizeof(float);
    if (!(m->core = an_malloc(&alloc, m->core_bytes, AN_ALIGN))) { an__lae_free(m); return AN_ERR_NOMEM; }
    memset(m->core, 0, m->core_bytes);
    an__lae_carve(m, &m->cfg, F, &m->lay, mode, (float *)m->core, NULL, &co, &tr);
    for (f = 0; f < F; f++) m->err_w[f] = 1.0f;
    if (kind == AN_LSTM_CLASSIFIER) {
        size_t k;
        for (k = 0; k < c->n_classes; k++) m->class_weight[k] = c->class_weight ? c->class_weight[k] : 1.0f;
    }
    if (c->scaler) {
        if ((r = an_scaler_init(&m->scaler, c->scaler, F, &alloc)) != AN_OK) {
            an__lae_free(m);
            return r;
        }
        m->has_scaler = 1;
    }
    if (m->params) an__lae_bind(m);   /* borrowed ones: the loader binds them */
    m->base.vt = an__lae_vt(kind);
    m->base.n_features = F;
    m->base.fitted = 0;
    *out = &m->base;
    return AN_OK;
}

static an_result an__model_create(const an_lstm_config *c, size_t F, an_lstm_kind kind, const an_allocator *a,
                                  an_detector **out)
{
    an_result r = an__model_alloc(c, F, kind, 0, a, out);
    if (r == AN_OK) {
        an__lae *m = (an__lae *)*out;
        an__lae_init_params(m);
        an__lae_prepare(m);
    }
    return r;
}

AN_API an_result an_lstm_ae_create(const an_lstm_config *c, size_t n_features, const an_allocator *a,
                                   an_detector **out)
{
    return an__model_create(c, n_features, AN_LSTM_AUTOENCODER, a, out);
}

AN_API an_result an_lstm_forecaster_create(const an_lstm_config *c, size_t n_features, const an_allocator *a,
                                           an_detector **out)
{
    return an__model_create(c, n_features, AN_LSTM_FORECASTER, a, out);
}

AN_API an_result an_lstm_classifier_create(const an_lstm_config *c, size_t n_features, const an_allocator *a,
                                           an_detector **out)
{
    return an__model_create(c, n_features, AN_LSTM_CLASSIFIER, a, out);
}

AN_API an_result an_lstm_classifier_memory(const an_lstm_config *c, size_t n_features, size_t *inference_bytes,
                                           size_t *training_bytes)
{
    return an__model_memory(c, n_features, AN_LSTM_CLASSIFIER, 0, inference_bytes, training_bytes);
}

AN_API an_lstm_config an_lstm_classifier_config_init(size_t window, size_t units, size_t n_classes)
{
    an_lstm_config c = an_lstm_ae_config_init(window, units);
    c.n_classes = n_classes;
    c.loss = AN_LOSS_BCE;
    c.dropout = 0.2;
    return c;
}

AN_API an_lstm_config an_lstm_forecaster_config_init(size_t window, size_t units, size_t n_predictions)
{
    an_lstm_config c = an_lstm_ae_config_init(window, units);
    c.n_layers = 2;
    c.units[1] = units;
    c.n_predictions = n_predictions;
    c.dropout = 0.3;
    return c;
}

AN_API an_lstm_config an_lstm_telemanom_config_init(size_t window, size_t units)
{
    an_lstm_config c = an_lstm_forecaster_config_init(window, units, 1);
    c.batch = 70;
    c.train.epochs = 35;
    c.train.patience = 10;
    c.train.min_delta = 3e-4;
    c.train.val_fraction = 0.2;
    return c;
}

/* The training block, allocated once. */
static an_result an__lae_train_alloc(an__lae *m)
{
    size_t co, tr;
    if (m->train) return AN_OK;
    if (m->lean) return AN_ERR_UNSUPPORTED;   /* loaded in place: scores only */
    an__lae_carve(NULL, &m->cfg, m->n_features, &m->lay, 0, NULL, NULL, &co, &tr);
    m->train_bytes = tr * sizeof(float);
    if (!(m->train = an_malloc(&m->alloc, m->train_bytes, AN_ALIGN))) { m->train_bytes = 0; return AN_ERR_NOMEM; }
    memset(m->train, 0, m->train_bytes);
    an__lae_carve(m, &m->cfg, m->n_features, &m->lay, 0, (float *)m->core, (float *)m->train, &co, &tr);
    an__lae_bind(m);
    return AN_OK;
}

AN_API void an_lstm_sync(an_detector *d)
{
    an__lae *m = an__lae_of(d);
    if (m) an__lae_prepare(m);
}

/* The forward pass of a model loaded in place: window by window, step by
   step through every layer (layer l's step t needs only layer l - 1's
   output at t), each layer's state of one step in m->lh, m->lc, the
   outputs into m->yhat (and the top state into m->e, the code into m->z)
   as an__lae_forward_from writes them.  No dropout: it cannot train. */
static void an__lae_forward_steps(an__lae *m, size_t B)
{
    const an__lae_layout *L = &m->lay;
    size_t T = m->cfg.window, F = m->n_features, b, t, l, off;
    const float *in, *code;
    float *hd = m->lh, *cd = m->lc;   /* the decoder's states follow the encoder's */
    for (l = 0; l < L->n; l++) {
        hd += L->enc_H[l];
        cd += L->enc_H[l];
    }
    for (b = 0; b < B; b++) {
        in = m->x + b * T * F;
        for (t = 0; t < T; t++) {
            in = m->x + (b * T + t) * F;   /* then each layer's output, up the stack */
            for (l = 0, off = 0; l < L->n; off += L->enc_H[l], l++) {
                an__lstm_step_stored(&m->enc[l], in, m->lh + off, m->lc + off, m->st_z, t == 0);
                in = m->lh + off;
            }
        }
        memcpy(m->e + b * L->top, in, L->top * sizeof(float));
        code = m->e + b * L->top;
        if (L->head) {   /* yhat (B,P F) = state (B,top) W^T + b */
            an_dense_forward(1, L->top, L->out_dim, code, m->params + L->out_W, m->params + L->out_b,
                             m->yhat + b * L->out_dim);
            continue;
        }
        if (L->has_latent) {
            an_dense_forward(1, L->top, L->code, code, m->params + L->lat_W, m->params + L->lat_b, m->z + b * L->code);
            code = m->z + b * L->code;
        }
        for (t = 0; t < T; t++) {   /* the code repeated at every step */
            for (l = 0, off = 0, in = code; l < L->n_dec; off += L->dec_H[l], l++) {
                an__lstm_step_stored(&m->dec[l], in, hd + off, cd + off, m->st_z, t == 0);
                in = hd + off;
            }
            an_dense_forward(1, L->out_in, L->out_dim, in, m->params + L->out_W, m->params + L->out_b,
                             m->yhat + (b * T + t) * L->out_dim);
        }
    }
}

/* Reconstruction of B windows m->x (B,T,F) into m->yhat; from as
   an__lstm_forward_from's (NULL: none), keep 0 when no backward pass
   follows (the layers' gates are not kept). */
static void an__lae_forward_from(an__lae *m, size_t B, const size_t *from, int keep)
{
    const an__lae_layout *L = &m->lay;
    size_t T = m->cfg.window, l, b;
    const float *in = m->x, *top, *code;
    int drop = m->training && L->head && m->cfg.dropout > 0.0;
    if (m->lean) {
        an__lae_forward_steps(m, B);
        return;
    }
    for (l = 0; l < L->n; l++) {   /* layer l's step t depends on the inputs up to t: from holds for all */
        an__lstm_forward_from(&m->enc[l], &m->enc_buf[l], B, T, in, 0, drop ? NULL : from, keep);
        in = m->enc_buf[l].h;
        if (drop && l + 1 < L->n) {   /* dropout between layers: (B,T,H_l) */
            size_t k = B * T * L->enc_H[l];
            if (m->training == AN_LSTM_DROPOUT_FRESH) an_dropout_mask(&m->drop_rng, k, (float)m->cfg.dropout, m->mask[l]);
            an_dropout_apply(k, m->mask[l], in, m->dropped[l]);
            in = m->dropped[l];
        }
    }
    top = m->enc_buf[L->n - 1].h;
    for (b = 0; b < B; b++) memcpy(m->e + b * L->top, top + (b * T + T - 1) * L->top, L->top * sizeof(float));
    code = m->e;
    if (L->head) {
        if (drop) {   /* dropout on the last state (B,top) */
            if (m->training == AN_LSTM_DROPOUT_FRESH) an_dropout_mask(&m->drop_rng, B * L->top, (float)m->cfg.dropout, m->mask[L->n - 1]);
            an_dropout_apply(B * L->top, m->mask[L->n - 1], m->e, m->dropped[L->n - 1]);
            code = m->dropped[L->n - 1];
        }
        /* yhat (B,P F) = state (B,top) W^T + b */
        an_dense_forward(B, L->top, L->out_dim, code, m->params + L->out_W, m->params + L->out_b, m->yhat);
        return;
    }
    if (L->has_latent) {
        an_dense_forward(B, L->top, L->code, m->e, m->params + L->lat_W, m->params + L->lat_b, m->z);
        code = m->z;
    }
    an__lstm_forward_from(&m->dec[0], &m->dec_buf[0], B, T, code, 1, NULL, keep);
    for (l = 1; l < L->n_dec; l++)
        an__lstm_forward_from(&m->dec[l], &m->dec_buf[l], B, T, m->dec_buf[l - 1].h, 0, NULL, keep);
    an_dense_forward(B * T, L->out_in, L->out_dim, m->dec_buf[L->n_dec - 1].h, m->params + L->out_W,
                     m->params + L->out_b, m->yhat);
}

static void an__lae_forward(an__lae *m, size_t B)
{
    an__lae_forward_from(m, B, NULL, 1);
}

/* Layer l of `layers` as backward should see it: itself, or with
   params 0 a copy in *copy without gradient pointers (an input gradient
   only). */
static const an_lstm_layer *an__lae_layer(const an_lstm_layer *layers, size_t l, int params, an_lstm_layer *copy)
{
    if (params) return &layers[l];
    *copy = layers[l];
    copy->dW_ih = copy->dW_hh = copy->db_ih = copy->db_hh = NULL;
    return copy;
}

/* Backward after an__lae_forward, from m->dyhat (B,T,F); accumulates into
   m->grads (params 1; params 0 skips the parameter gradients), and into
   grad_x (B,T,F) when not NULL. */
static void an__lae_backward(an__lae *m, size_t B, float *grad_x, int params)
{
    const an__lae_layout *L = &m->lay;
    size_t T = m->cfg.window, n = L->n, l, k = 0, i;
    float *d_in, *dlast;
    float *gW = params ? m->grads : NULL;   /* gW + offset: NULL without params */
    an_lstm_layer copy;
    int drop = m->training && L->head && m->cfg.dropout > 0.0;
    if (L->head) {
        const float *state = drop ? m->dropped[n - 1] : m->e;
        memset(m->de, 0, B * L->top * sizeof(float));
        an_dense_backward(B, L->top, L->out_dim, state, m->params + L->out_W, m->dyhat, gW ? gW + L->out_W : NULL,
                          gW ? gW + L->out_b : NULL, m->de);
        if (drop) an_dropout_apply(B * L->top, m->mask[n - 1], m->de, m->de);
        dlast = m->de;
    } else {
        const float *code = L->has_latent ? m->z : m->e;
        size_t Hd = L->out_in;
        d_in = m->dseq[k];
        memset(d_in, 0, B * T * Hd * sizeof(float));
        an_dense_backward(B * T, Hd, L->out_dim, m->dec_buf[L->n_dec - 1].h, m->params + L->out_W, m->dyhat,
                          gW ? gW + L->out_W : NULL, gW ? gW + L->out_b : NULL, d_in);
        for (l = L->n_dec - 1; l >= 1; l--) {
            float *d_out = m->dseq[k ^ 1];
            memset(d_out, 0, B * T * L->dec_I[l] * sizeof(float));
            an_lstm_layer_backward(an__lae_layer(m->dec, l, params, &copy), &m->dec_buf[l], B, T, m->dec_buf[l - 1].h,
                                   0, d_in, NULL, d_out);
            d_in = d_out;
            k ^= 1;
        }
        memset(m->dcode, 0, B * L->code * sizeof(float));
        an_lstm_layer_backward(an__lae_layer(m->dec, 0, params, &copy), &m->dec_buf[0], B, T, code, 1, d_in, NULL,
                               m->dcode);
        dlast = m->dcode;
        if (L->has_latent) {
            memset(m->de, 0, B * L->top * sizeof(float));
            an_dense_backward(B, L->top, L->code, m->e, m->params + L->lat_W, m->dcode, gW ? gW + L->lat_W : NULL,
                              gW ? gW + L->lat_b : NULL, m->de);
            dlast = m->de;
        }
    }
    d_in = NULL;
    for (l = n; l-- > 0;) {
        const float *input = l ? (drop ? m->dropped[l - 1] : m->enc_buf[l - 1].h) : m->x;
        float *dx = l ? m->dseq[k] : grad_x;
        size_t nx = B * T * L->enc_I[l];
        if (dx) memset(dx, 0, nx * sizeof(float));
        an_lstm_layer_backward(an__lae_layer(m->enc, l, params, &copy), &m->enc_buf[l], B, T, input, 0, d_in,
                               l == n - 1 ? dlast : NULL, dx);
        if (l && drop)
            for (i = 0; i < nx; i++) dx[i] *= m->mask[l - 1][i];
        d_in = dx;
        k ^= 1;
    }
}

/* The model's loss of its B outputs against their targets. */
static an_result an__lae_loss(an__lae *m, size_t B, double *loss, float *grad)
{
    const an__lae_layout *L = &m->lay;
    return an_loss(m->cfg.loss, m->yhat, L->head ? m->target : m->x, B * L->out_total,
                   L->classifier ? L->out_dim : 1, L->classifier ? m->class_weight : NULL, m->cfg.gamma, loss, grad);
}

/* Forward, loss and backward on the B windows in m->x. */
static an_result an__lae_loss_grad(an__lae *m, size_t B, double *loss, float *grad_x)
{
    an_result r;
    an__lae_prepare(m);
    an__lae_forward(m, B);
    r = an__lae_loss(m, B, loss, m->dyhat);
    if (r == AN_ERR_INPUT) return AN_ERR_NUMERIC;   /* the input was finite: the network overflowed */
    if (r != AN_OK) return r;
    memset(m->grads, 0, m->lay.n_params * sizeof(float));
    an__lae_backward(m, B, grad_x, 1);
    return AN_OK;
}

AN_API an_result an_lstm_loss_grad(an_detector *d, const float *x, size_t B, double *loss, float *grad_x)
{
    an__lae *m = an__lae_of(d);
    size_t TF, PF, b;
    an_result r;
    if (!m || !x || !loss || B == 0) return AN_ERR_INVALID_ARG;
    *loss = 0.0;
    if (B > m->cfg.batch) return AN_ERR_SHAPE;
    TF = m->cfg.window * m->n_features;
    PF = m->lay.head ? m->lay.out_total : 0;
    if (!an__all_finite(x, B * (TF + PF))) return AN_ERR_INPUT;
    if (m->lay.classifier)
        for (b = 0; b < B; b++) {
            size_t k;
            for (k = 0; k < PF; k++)
                if (!(x[b * (TF + PF) + TF + k] >= 0.0f && x[b * (TF + PF) + TF + k] <= 1.0f)) return AN_ERR_INPUT;
        }
    if ((r = an__lae_train_alloc(m)) != AN_OK) return r;
    for (b = 0; b < B; b++) {   /* forecaster rows: T inputs, then P targets */
        memcpy(m->x + b * TF, x + b * (TF + PF), TF * sizeof(float));
        if (PF) memcpy(m->target + b * PF, x + b * (TF + PF) + TF, PF * sizeof(float));
    }
    return an__lae_loss_grad(m, B, loss, grad_x);
}

AN_API an_result an_lstm_output(an_detector *d, const float *x, size_t B, float *out)
{
    an__lae *m = an__lae_of(d);
    size_t n;
    if (!m || !x || !out || B == 0) return AN_ERR_INVALID_ARG;
    if (B > m->cfg.batch) return AN_ERR_SHAPE;
    n = B * m->cfg.window * m->n_features;
    if (!an__all_finite(x, n)) return AN_ERR_INPUT;
    memcpy(m->x, x, n * sizeof(float));
    an__lae_forward(m, B);
    n = B * m->lay.out_total;
    memcpy(out, m->yhat, n * sizeof(float));
    return an__all_finite(out, n) ? AN_OK : AN_ERR_NUMERIC;
}

/* The trainable ranges of the parameter block: every part not frozen. */
static size_t an__lae_ranges(const an__lae *m, size_t *ranges)
{
    const an__lae_layout *L = &m->lay;
    size_t k = 0, l;
    for (l = 0; l < L->n; l++)
        if (!m->enc_frozen[l]) {
            ranges[2 * k] = L->enc_off[l];
            ranges[2 * k + 1] = L->enc_off[l] + an_lstm_layer_param_count(L->enc_I[l], L->enc_H[l]);
            k++;
        }
    if (L->has_latent) { ranges[2 * k] = L->lat_W; ranges[2 * k + 1] = L->lat_b + L->code; k++; }
    for (l = 0; l < L->n_dec; l++)
        if (!m->dec_frozen[l]) {
            ranges[2 * k] = L->dec_off[l];
            ranges[2 * k + 1] = L->dec_off[l] + an_lstm_layer_param_count(L->dec_I[l], L->dec_H[l]);
            k++;
        }
    ranges[2 * k] = L->out_W;
    ranges[2 * k + 1] = L->n_params;
    return k + 1;
}

/* Rows between samples: the configured stride, or the window for the
   classifier, whose windows are laid end to end. */
static size_t an__lae_stride(const an__lae *m, const an_lstm_train_config *t)
{
    return m->lay.classifier ? m->cfg.window : t->stride;
}

/* The centring autoencoder's level of feature f of window w (T,F): the
   median of the means of its three thirds (T < 3: the mean), so an
   anomaly inside one third does not move the level the window's other
   rows are judged against (with the mean, a level shift that had ended
   raised it, and every ordinary row after the shift looked low for a
   window's length).  [*lo, *hi) receives the rows averaged: the level's
   derivative is 1 / (hi - lo) on each of them.  Subtracting a constant
   from the window moves every third alike, so the rows chosen are the
   same for the window centred. */
static float an__lae_level(const float *w, size_t T, size_t F, size_t f, size_t *lo, size_t *hi)
{
    double mean[3] = { 0.0, 0.0, 0.0 };
    size_t k, t, pick, parts = T < 3 ? 1 : 3;
    for (k = 0; k < parts; k++) {
        size_t first = k * T / parts, end = (k + 1) * T / parts;   /* rows of part k */
        double sum = 0.0;
        for (t = first; t < end; t++) sum += w[t * F + f];
        mean[k] = sum / (double)(end - first);
    }
    pick = parts == 1                                         ? 0
         : (mean[0] <= mean[1]) == (mean[1] <= mean[2]) ? 1
         : (mean[0] <= mean[1]) == (mean[2] <= mean[0]) ? 0 : 2;
    *lo = pick * T / parts;
    *hi = (pick + 1) * T / parts;
    return (float)mean[pick];
}

/* w (T,F) less its level per feature; level (F), if not NULL, receives
   the levels. */
static void an__lae_centre(float *w, size_t T, size_t F, float *level)
{
    size_t t, f, lo, hi;
    for (f = 0; f < F; f++) {
        float v = an__lae_level(w, T, F, f, &lo, &hi);
        for (t = 0; t < T; t++) w[t * F + f] -= v;
        if (level) level[f] = v;
    }
}

/* Copies window `start` (rows start .. start + T - 1 of the scaled series
   xs) into slot b of m->x, centred when the model centres. */
static void an__lae_gather(an__lae *m, const float *xs, size_t start, size_t b)
{
    size_t F = m->n_features, TF = m->cfg.window * F, K = m->lay.out_dim;
    memcpy(m->x + b * TF, xs + start * F, TF * sizeof(float));
    if (m->cfg.centre) an__lae_centre(m->x + b * TF, m->cfg.window, F, NULL);
    if (m->lay.classifier)   /* windows laid end to end: window start / T */
        memcpy(m->target + b * K, m->labels + (start / m->cfg.window) * K, K * sizeof(float));
    else if (m->lay.head)
        memcpy(m->target + b * K, xs + start * F + TF, K * sizeof(float));
}

/* Mean loss over windows idx[0..n) (window i starts at row i * stride). */
static an_result an__lae_eval(an__lae *m, const float *xs, size_t first, size_t n, size_t stride, double *mean)
{
    size_t done = 0, b;
    double sum = 0.0, loss;
    an_result r;
    an__lae_prepare(m);
    while (done < n) {
        size_t bs = n - done < m->cfg.batch ? n - done : m->cfg.batch;
        for (b = 0; b < bs; b++) an__lae_gather(m, xs, (first + done + b) * stride, b);
        an__lae_forward(m, bs);
        r = an__lae_loss(m, bs, &loss, NULL);
        if (r != AN_OK) return AN_ERR_NUMERIC;
        sum += loss * (double)bs;
        done += bs;
    }
    *mean = sum / (double)n;
    return AN_OK;
}

/* The end of an epoch in the training loops (the LSTM models' and the
   VAE's): the monitored loss is the validation loss when there is
   validation (has_val), else the epoch's training loss; a non-finite one
   is AN_ERR_NUMERIC.  The epoch counts in *epochs_run; an improvement by
   more than t->min_delta over e->best saves params (np floats) into
   best_params and resets the patience count; an epoch that is `warming`
   (the VAE's beta warm-up: another loss) saves them without comparing.
   Then the progress callback sees p (the caller fills its epoch and
   losses; improved, best and seconds are filled in here).
   Returns: AN_OK, with *stop set when t->patience epochs passed without
   an improvement; AN_ERR_NUMERIC; AN_ERR_CANCELLED. */
typedef struct an__epochs {
    double best;      /* best monitored loss so far (HUGE_VAL at first) */
    size_t wait;      /* epochs since it improved                        */
    clock_t t0;       /* when training began                             */
} an__epochs;

static an_result an__epoch_end(an__epochs *e, const an_lstm_train_config *t, an_lstm_progress *p, int has_val,
                               int warming, const float *params, float *best_params, size_t np, size_t *epochs_run,
                               int *stop)
{
    double monitor = has_val ? p->val_loss : p->loss;
    *stop = 0;
    if (!an__finite(monitor)) return AN_ERR_NUMERIC;
    (*epochs_run)++;
    if (warming) {
        memcpy(best_params, params, np * sizeof(float));
    } else if (monitor < e->best - t->min_delta) {
        e->best = monitor;
        memcpy(best_params, params, np * sizeof(float));
        p->improved = 1;
        e->wait = 0;
    } else {
        e->wait++;
    }
    p->best = e->best;
    p->seconds = (double)(clock() - e->t0) / CLOCKS_PER_SEC;
    if (t->progress && t->progress(t->progress_user, p)) return AN_ERR_CANCELLED;
    *stop = t->patience && e->wait >= t->patience;
    return AN_OK;
}

/* The windows of `span` rows every `stride` rows of n_rows (*nw), the
   last val_fraction of them held out to validate (*n_val), and those
   that train: the ones that end before the first validation row.
   Returns: the number of training windows, 0 when none. */
static size_t an__train_split(size_t n_rows, size_t span, size_t stride, double val_fraction, size_t *nw,
                              size_t *n_val)
{
    size_t split;
    *nw = (n_rows - span) / stride + 1;
    *n_val = (size_t)((double)*nw * val_fraction);
    split = (*nw - *n_val) * stride;                    /* the first row of validation */
    return *n_val ? (split >= span ? (split - span) / stride + 1 : 0) : *nw;
}

/* The training loop on the scaled series xs (n_rows, F), followed in xs
   by n_extra extra windows of T rows (an_lstm_fit_augmented's), which
   join the training windows (never validation). */
static an_result an__lae_train(an__lae *m, const float *xs, size_t n_rows, size_t n_extra, size_t *order, an_rng *rng,
                                const an_lstm_train_config *t)
{
    const an_lstm_config *c = &m->cfg;
    size_t T = c->window, nw, n_val, n_train, n_real, epoch, ranges[4 * AN_LSTM_MAX_LAYERS + 4], n_ranges;
    size_t i, b;
    an__epochs ep;
    an_result r = AN_OK;
    size_t span = T + (m->lay.head && !m->lay.classifier ? c->n_predictions : 0);   /* rows a sample reads */
    size_t stride = an__lae_stride(m, t);
    if ((n_train = an__train_split(n_rows, span, stride, t->val_fraction, &nw, &n_val)) == 0) return AN_ERR_TOO_SHORT;
    n_real = n_train;
    n_train += n_extra;
    n_ranges = an__lae_ranges(m, ranges);
    if (!m->adam.m && (r = an_adam_init_preallocated(&m->adam, &t->adam, m->lay.n_params, m->adam_heap)) != AN_OK)
        return r;
    m->adam.cfg = t->adam;
    an_adam_reset(&m->adam);
    for (i = 0; i < n_train; i++) order[i] = i;
    memcpy(m->best, m->params, m->lay.n_params * sizeof(float));
    ep.best = HUGE_VAL;
    ep.wait = 0;
    ep.t0 = clock();
    for (epoch = 0; epoch < t->epochs; epoch++) {
        an_lstm_progress p;
        double sum = 0.0, loss;
        size_t done = 0;
        int stop;
        an_rng_shuffle(rng, order, n_train);
        while (done < n_train) {
            size_t bs = n_train - done < c->batch ? n_train - done : c->batch;
            for (b = 0; b < bs; b++) {
                size_t o = order[done + b];
                an__lae_gather(m, xs, o < n_real ? o * stride : n_rows + (o - n_real) * T, b);
            }
            m->training = AN_LSTM_DROPOUT_FRESH;
            r = an__lae_loss_grad(m, bs, &loss, NULL);
            m->training = AN_LSTM_DROPOUT_OFF;   /* evaluation and scoring run without dropout */
            if (r != AN_OK) goto out;
            if ((r = an_adam_step_ranges(&m->adam, m->params, m->grads, ranges, n_ranges, NULL)) != AN_OK) goto out;
            sum += loss * (double)bs;
            done += bs;
        }
        memset(&p, 0, sizeof p);
        p.epoch = epoch + 1;
        p.epochs = t->epochs;
        p.loss = sum / (double)n_train;
        p.val_loss = HUGE_VAL - HUGE_VAL;   /* NaN: no validation */
        if (n_val && (r = an__lae_eval(m, xs, nw - n_val, n_val, stride, &p.val_loss)) != AN_OK) goto out;
        if ((r = an__epoch_end(&ep, t, &p, n_val != 0, 0, m->params, m->best, m->lay.n_params, &m->epochs_run,
                               &stop)) != AN_OK || stop)
            break;
    }
out:
    /* the best checkpoint, or the weights training began with when no
       epoch finished (also after a failure: never a diverged state) */
    memcpy(m->params, m->best, m->lay.n_params * sizeof(float));
    an__lae_prepare(m);
    m->best_loss = ep.best;
    m->train_seconds += (double)(clock() - ep.t0) / CLOCKS_PER_SEC;
    m->train_rows = n_rows;
    return r;
}

/* Scales x into the scratch, runs the training loop, releases the scratch.
   An update (fresh = 0) that fails leaves the model as it was: weights,
   training record and threshold state. */
static an_result an__lae_channel_norm(an__lae *m, const float *x, size_t n_rows);
static an_result an__lae_run(an__lae *m, const float *x, size_t n_rows, int fresh, const an_lstm_train_config *t,
                              const float *extra, size_t n_extra)
{
    size_t F = m->n_features, n = an__mul(n_rows, F), nw, bytes, off, prev_off, np = m->lay.n_params;
    size_t T = m->cfg.window, n_ex = an__mul(an__mul(n_extra, T), F);
    unsigned char *scratch;
    float *xs, *prev;
    size_t *order;
    an_rng rng;
    an_result r = AN_OK;
    size_t old_epochs = m->epochs_run, old_rows = m->train_rows;
    double old_best = m->best_loss, old_seconds = m->train_seconds;
    double old_mean = m->thr_mean, old_std = m->thr_std, old_p99 = m->thr_p99;
    if (n == SIZE_MAX || n_ex == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!an__all_finite(x, n)) return AN_ERR_INPUT;
    if (n_rows < T + m->cfg.n_predictions) return AN_ERR_TOO_SHORT;
    if ((r = an__lae_train_alloc(m)) != AN_OK) return r;
    nw = (n_rows - T) / an__lae_stride(m, t) + 1;
    if (!m->lay.classifier && nw < n_rows) nw = n_rows;   /* the order array doubles as the score scratch */
    nw = an__add(nw, n_extra);
    off = an__round_up(an__mul(an__add(n, n_ex), sizeof(float)), sizeof(size_t));
    prev_off = an__round_up(an__add(off, an__mul(nw, sizeof(size_t))), AN_ALIGN);
    bytes = an__add(prev_off, fresh ? 0 : an__mul(an__add(np, F), sizeof(float)));   /* weights, error weights */
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(scratch = (unsigned char *)an_malloc(&m->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    xs = (float *)scratch;
    order = (size_t *)(scratch + off);
    prev = fresh ? NULL : (float *)(scratch + prev_off);
    if (prev) {
        memcpy(prev, m->params, np * sizeof(float));
        memcpy(prev + np, m->err_w, F * sizeof(float));
    }
    if (fresh && m->has_scaler) r = an_scaler_fit(&m->scaler, x, n_rows, &m->alloc);
    if (r == AN_OK) {
        if (m->has_scaler) r = an_scaler_transform(&m->scaler, x, n_rows, xs);
        else memcpy(xs, x, n * sizeof(float));
    }
    if (r == AN_OK && n_extra) {   /* the extra windows in the series' scale */
        if (m->has_scaler) r = an_scaler_transform(&m->scaler, extra, n_extra * T, xs + n);
        else memcpy(xs + n, extra, n_ex * sizeof(float));
    }
    if (r == AN_OK) {
        if (fresh) {
            an__lae_init_params(m);
            an__lae_prepare(m);
            m->epochs_run = 0;
            m->train_seconds = 0.0;
        }
        an_rng_seed(&rng, m->cfg.seed, fresh ? 2 : 3 + m->epochs_run);
        an_rng_seed(&m->drop_rng, m->cfg.seed, fresh ? 4 : 5 + m->epochs_run);
        r = an__lae_train(m, xs, n_rows, n_extra, order, &rng, t);
    }
    if (r == AN_OK && !m->lay.classifier && m->cfg.channel_norm && F > 1) r = an__lae_channel_norm(m, x, n_rows);
    if (r == AN_OK && !m->lay.classifier) {
        /* threshold state: the training rows' own scores by the rule push
           uses (window_agg LAST), over the rows push scores (from the
           first full window on: row T - 1, or T for the forecaster) */
        float *sc = (float *)order;
        double p99 = 0.0;
        size_t skip = m->lay.head ? T : T - 1;
        an_lstm_agg keep = m->cfg.window_agg;
        m->cfg.window_agg = AN_AGG_LAST;
        r = an__lae_score(&m->base, x, n_rows, sc);
        m->cfg.window_agg = keep;
        if (r == AN_OK) r = an_mean_std(sc + skip, n_rows - skip, &m->thr_mean, &m->thr_std);
        if (r == AN_OK) r = an_percentile_inplace(sc + skip, n_rows - skip, 99.0, &p99);
        m->thr_p99 = p99;
    }
    if (r != AN_OK && prev) {
        memcpy(m->params, prev, np * sizeof(float));
        memcpy(m->err_w, prev + np, F * sizeof(float));
        an__lae_prepare(m);
        m->epochs_run = old_epochs;
        m->train_rows = old_rows;
        m->best_loss = old_best;
        m->train_seconds = old_seconds;
        m->thr_mean = old_mean;
        m->thr_std = old_std;
        m->thr_p99 = old_p99;
    }
    an_free(&m->alloc, scratch, bytes);
    return r;
}

#ifndef ANOMALY_NO_TRAINING
/* The detector's fit: the model's own training configuration (checked
   when it was set). */
static an_result an__lae_fit(an_detector *self, const float *x, size_t n_rows)
{
    an__lae *m = an__lae_of(self);
    if (!m) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier) return AN_ERR_UNSUPPORTED;   /* needs labels: an_lstm_classifier_train */
    if (m->lean) return AN_ERR_UNSUPPORTED;             /* loaded in place: scores only */
    an__lae_stream_reset(m);
    return an__lae_run(m, x, n_rows, 1, &m->cfg.train, NULL, 0);
}
#endif

AN_API an_result an_lstm_fit(an_detector *d, const float *x, size_t n_rows, const an_lstm_train_config *t)
{
    an__lae *m = an__lae_of(d);
    an_lstm_train_config run;
    an_result r;
    if (!m || !x || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier || m->lean) return AN_ERR_UNSUPPORTED;
    run = t ? *t : m->cfg.train;   /* a copy: a callback that edits *t changes nothing */
    if (an_lstm_check_train_config(&run) != AN_OK) return AN_ERR_INVALID_ARG;
    an__lae_stream_reset(m);
    r = an__lae_run(m, x, n_rows, 1, &run, NULL, 0);
    d->fitted = r == AN_OK;
    return r;
}

AN_API an_result an_lstm_update(an_detector *d, const float *x, size_t n_rows, const an_lstm_train_config *t)
{
    an__lae *m = an__lae_of(d);
    an_lstm_train_config run;
    if (!m || !x || n_rows == 0) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier || m->lean) return AN_ERR_UNSUPPORTED;
    run = t ? *t : m->cfg.train;
    if (an_lstm_check_train_config(&run) != AN_OK) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    return an__lae_run(m, x, n_rows, 0, &run, NULL, 0);
}

AN_API an_result an_lstm_set_train_config(an_detector *d, const an_lstm_train_config *t)
{
    an__lae *m = an__lae_of(d);
    if (!m || an_lstm_check_train_config(t) != AN_OK) return AN_ERR_INVALID_ARG;
    m->cfg.train = *t;
    return AN_OK;
}

AN_API an_result an_lstm_freeze(an_detector *d, an_lstm_side side, size_t layer, int frozen)
{
    an__lae *m = an__lae_of(d);
    if (!m || (side != AN_LSTM_ENCODER && side != AN_LSTM_DECODER) ||
        layer >= (side == AN_LSTM_DECODER ? m->lay.n_dec : m->lay.n))
        return AN_ERR_INVALID_ARG;
    (side == AN_LSTM_DECODER ? m->dec_frozen : m->enc_frozen)[layer] = frozen != 0;
    return AN_OK;
}

AN_API an_result an_lstm_set_dropout(an_detector *d, an_lstm_dropout_mode mode)
{
    an__lae *m = an__lae_of(d);
    an_result r;
    if (!m || (mode != AN_LSTM_DROPOUT_OFF && mode != AN_LSTM_DROPOUT_FRESH && mode != AN_LSTM_DROPOUT_FIXED))
        return AN_ERR_INVALID_ARG;
    if (mode != AN_LSTM_DROPOUT_OFF && (r = an__lae_train_alloc(m)) != AN_OK) return r;
    if (mode == AN_LSTM_DROPOUT_FRESH && m->training == AN_LSTM_DROPOUT_OFF)
        an_rng_seed(&m->drop_rng, m->cfg.seed, 4);
    m->training = mode;
    return AN_OK;
}

AN_API an_result an_lstm_info_get(an_detector *d, an_lstm_info *info)
{
    an__lae *m = an__lae_of(d);
    if (!m || !info) return AN_ERR_INVALID_ARG;
    memset(info, 0, sizeof *info);
    info->kind = m->kind;
    info->n_params = m->lay.n_params;
    info->epochs_run = m->epochs_run;
    info->train_rows = m->train_rows;
    info->best_loss = m->best_loss;
    info->train_seconds = m->train_seconds;
    info->score_mean = m->thr_mean;
    info->score_std = m->thr_std;
    info->score_p99 = m->thr_p99;
    return d->fitted ? AN_OK : AN_ERR_NOT_FITTED;
}

AN_API const an_lstm_config *an_lstm_config_of(const an_detector *d)
{
    const an__lae *m = an__lae_of((an_detector *)d);
    return m ? &m->cfg : NULL;
}

/* Scaled window rows into slot b of m->x from raw rows (T,F), centred
   when the model centres; level (F, NULL: not wanted) the levels taken
   off, scaled. */
static an_result an__lae_put_level(an__lae *m, const float *rows, size_t b, float *level)
{
    size_t T = m->cfg.window, F = m->n_features;
    float *w = m->x + b * T * F;
    an_result r = AN_OK;
    if (m->has_scaler) r = an_scaler_transform(&m->scaler, rows, T, w);
    else memcpy(w, rows, T * F * sizeof(float));
    if (r == AN_OK && m->cfg.centre) an__lae_centre(w, T, F, level);
    return r;
}

static an_result an__lae_put(an__lae *m, const float *rows, size_t b)
{
    return an__lae_put_level(m, rows, b, NULL);
}

/* The network on the bs <= batch windows an__lae_put placed in m->x:
   run, and its outputs in m->yhat (bs, out_total) checked finite
   (AN_ERR_NUMERIC); the classifier's logits become probabilities.  Every
   scoring path (score, score_batch, push, errors, predict) runs its
   windows through here. */
static an_result an__lae_infer_from(an__lae *m, size_t bs, const size_t *from)
{
    size_t n = bs * m->lay.out_total;
    an__lae_forward_from(m, bs, from, 0);
    if (!an__all_finite(m->yhat, n)) return AN_ERR_NUMERIC;
    if (m->lay.classifier) an_sigmoid(n, m->yhat, m->yhat);
    return AN_OK;
}

static an_result an__lae_infer(an__lae *m, size_t bs)
{
    return an__lae_infer_from(m, bs, NULL);
}

/* an__lae_infer on bs <= batch windows of raw rows, window b at x + b step
   (step floats apart: F for windows every row, T F for windows laid end
   to end), scaled into m->x first. */
static an_result an__lae_batch(an__lae *m, const float *x, size_t step, size_t bs)
{
    size_t b;
    an_result r;
    for (b = 0; b < bs; b++)
        if ((r = an__lae_put(m, x + b * step, b)) != AN_OK) return r;
    return an__lae_infer(m, bs);
}

/* Error of step t of window b: mean over features, MSE or MAE, each
   feature's error times its weight w[f] (NULL: 1). */
static float an__row_err(an_loss_kind kind, an_lstm_agg agg, const float *y, const float *x, const float *w, size_t F)
{
    double s = 0.0;
    size_t f;
    for (f = 0; f < F; f++) {
        double d = (double)y[f] - x[f], e = (kind == AN_LOSS_MAE ? fabs(d) : d * d) * (w ? w[f] : 1.0f);
        if (agg == AN_AGG_MAX) s = e > s ? e : s;
        else s += e;
    }
    return (float)(agg == AN_AGG_MAX ? s : s / (double)F);
}

/* Row r's score from window error e: summed for the mean, or the max. */
AN__INLINE void an__score_add(an_lstm_agg agg, float *score, float e)
{
    if (agg == AN_AGG_MAX) *score = e > *score ? e : *score;
    else *score += e;
}

static float an__lae_err(const an__lae *m, size_t b, size_t t)
{
    size_t F = m->n_features, o = (b * m->cfg.window + t) * F;
    return an__row_err(m->cfg.loss, m->cfg.channel_agg, m->yhat + o, m->x + o, m->err_w, F);
}

/* Row r of x (raw) scaled into out (F). */
static an_result an__lae_row(const an__lae *m, const float *row, float *out)
{
    if (m->has_scaler) return an_scaler_transform(&m->scaler, row, 1, out);
    memcpy(out, row, m->n_features * sizeof(float));
    return AN_OK;
}

/* channel_norm's weights from the training rows x (n_rows, F raw).  A
   feature's scale is the 99.9th percentile of its errors on the rows the
   model scores (each window's last output, as push), and its weight the
   features' average scale over its own (its scale at least 1% of that
   average: a feature the model predicts all but exactly, a constant,
   does not weigh without bound).  So a feature whose ordinary rows
   already miss by much, noise or a command that steps when it will,
   counts no more than one the model predicts well, and a 6-sigma spike
   on the second is not lost in the first's everyday error.  Uses the
   scoring buffers and (n_rows F) floats of scratch; the weights stay 1
   when every scale is 0. */
static an_result an__lae_channel_norm(an__lae *m, const float *x, size_t n_rows)
{
    size_t T = m->cfg.window, F = m->n_features, rows = m->lay.rows, span = T + (m->lay.head ? rows : 0);
    size_t last = m->lay.head ? 0 : T - 1, nw, w0, b, f, bytes;
    double avg = 0.0;
    float *err;
    an_result r = AN_OK;
    if (n_rows < span) return AN_OK;
    nw = n_rows - span + 1;
    bytes = an__mul(an__mul(nw, F), sizeof(float));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(err = (float *)an_malloc(&m->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    for (w0 = 0; w0 < nw && r == AN_OK; w0 += m->cfg.batch) {   /* err (F, nw) */
        size_t bs = nw - w0 < m->cfg.batch ? nw - w0 : m->cfg.batch;
        if ((r = an__lae_batch(m, x + w0 * F, F, bs)) != AN_OK) break;
        for (b = 0; b < bs && r == AN_OK; b++) {
            const float *y = m->yhat + (b * rows + last) * F, *a = m->x + (b * T + last) * F;
            if (m->lay.head) {
                r = an__lae_row(m, x + (w0 + b + T) * F, m->target);
                a = m->target;
            }
            for (f = 0; f < F; f++) {
                double d = (double)y[f] - a[f];
                err[f * nw + w0 + b] = (float)(m->cfg.loss == AN_LOSS_MAE ? fabs(d) : d * d);
            }
        }
    }
    if (r == AN_OK) {
        for (f = 0; f < F; f++) {
            m->err_w[f] = an__select(err + f * nw, nw, (size_t)(0.999 * (double)(nw - 1)));
            avg += m->err_w[f] / (double)F;
        }
        for (f = 0; f < F; f++)
            m->err_w[f] = avg > 0.0 ? (float)(avg / (m->err_w[f] > 0.01 * avg ? m->err_w[f] : 0.01 * avg)) : 1.0f;
    }
    an_free(&m->alloc, err, bytes);
    return r;
}

/* The last push's expectation: scaled row y (F) in the data's units. */
static an_result an__lae_expect(an__lae *m, const float *y)
{
    an_result r = AN_OK;
    if (m->has_scaler) r = an_scaler_inverse(&m->scaler, y, 1, m->st_exp);
    else memcpy(m->st_exp, y, m->n_features * sizeof(float));
    m->has_exp = r == AN_OK;
    return r;
}

/* Stateful forecaster push: score against the prediction made at the
   previous row, then one step of every layer and a new prediction. */
static an_result an__lfc_push_stateful(an__lae *m, const float *row, float *score)
{
    const an__lae_layout *L = &m->lay;
    size_t l, off = 0, F = m->n_features;
    const float *in = m->st_x;
    an_result r;
    if ((r = an__lae_row(m, row, m->st_x)) != AN_OK) return r;
    if (m->n_seen >= m->cfg.window) {
        *score = an__row_err(m->cfg.loss, m->cfg.channel_agg, m->st_pred, m->st_x, m->err_w, F);
        if ((r = an__lae_expect(m, m->st_pred)) != AN_OK) return r;
    }
    for (l = 0; l < L->n; l++) {
        if (m->lean) an__lstm_step_stored(&m->enc[l], in, m->st_h + off, m->st_c + off, m->st_z, 0);
        else an_lstm_layer_step(&m->enc[l], &m->enc_buf[l], in, m->st_h + off, m->st_c + off, m->st_z);
        in = m->st_h + off;
        off += L->enc_H[l];
    }
    an_dense_forward(1, L->top, L->out_dim, in, m->params + L->out_W, m->params + L->out_b, m->st_pred);
    if (!an__all_finite(m->st_pred, L->out_dim)) return AN_ERR_NUMERIC;
    if (m->n_seen < m->cfg.window) m->n_seen++;
    return AN_OK;
}

/* Forecaster push: the new row's error against the one-step-ahead
   prediction from the previous T rows, then the row joins them. */
static an_result an__lfc_push(an__lae *m, const float *row, float *score)
{
    size_t T = m->cfg.window, F = m->n_features, k;
    an_result r;
    if (m->cfg.stateful_stream) return an__lfc_push_stateful(m, row, score);
    if (m->n_seen >= T) {
        float *win = m->yhat;
        for (k = 0; k < T; k++) memcpy(win + k * F, m->ring + ((m->ring_pos + k) % T) * F, F * sizeof(float));
        if ((r = an__lae_batch(m, win, 0, 1)) != AN_OK) return r;
        if ((r = an__lae_row(m, row, m->target)) != AN_OK) return r;
        *score = an__row_err(m->cfg.loss, m->cfg.channel_agg, m->yhat, m->target, m->err_w, F);
        if ((r = an__lae_expect(m, m->yhat)) != AN_OK) return r;
    }
    memcpy(m->ring + m->ring_pos * F, row, F * sizeof(float));
    m->ring_pos = (m->ring_pos + 1) % T;
    if (m->n_seen < T) m->n_seen++;
    return AN_OK;
}

static float an__max(const float *x, size_t n)
{
    float v = x[0];
    size_t i;
    for (i = 1; i < n; i++) v = x[i] > v ? x[i] : v;
    return v;
}

/* Classifier scores: the largest class probability of the window ending
   at each row; rows before the first full window score 0. */
static an_result an__lcl_score(an__lae *m, const float *x, size_t n_rows, float *scores)
{
    size_t T = m->cfg.window, F = m->n_features, K = m->lay.out_dim, nw, w0, b;
    an_result r;
    if (n_rows < T) return AN_ERR_TOO_SHORT;
    nw = n_rows - T + 1;
    memset(scores, 0, n_rows * sizeof(float));
    for (w0 = 0; w0 < nw; w0 += m->cfg.batch) {
        size_t bs = nw - w0 < m->cfg.batch ? nw - w0 : m->cfg.batch;
        if ((r = an__lae_batch(m, x + w0 * F, F, bs)) != AN_OK) return r;
        for (b = 0; b < bs; b++) scores[w0 + b + T - 1] = an__max(m->yhat + b * K, K);
    }
    return AN_OK;
}

AN_API an_result an_lstm_classifier_train(an_detector *d, const float *windows, const float *labels, size_t n,
                                          const an_lstm_train_config *t)
{
    an__lae *m = an__lae_of(d);
    an_lstm_train_config run;
    size_t i, nl;
    an_result r;
    if (!m || !windows || !labels || n == 0) return AN_ERR_INVALID_ARG;
    if (!m->lay.classifier || m->lean) return AN_ERR_UNSUPPORTED;
    run = t ? *t : m->cfg.train;
    if (an_lstm_check_train_config(&run) != AN_OK) return AN_ERR_INVALID_ARG;
    nl = an__mul(n, m->lay.out_dim);
    if (nl == SIZE_MAX || an__mul(n, m->cfg.window) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    for (i = 0; i < nl; i++)
        if (!(labels[i] >= 0.0f && labels[i] <= 1.0f)) return AN_ERR_INPUT;
    m->labels = labels;
    d->fitted = 0;
    an__lae_stream_reset(m);
    r = an__lae_run(m, windows, n * m->cfg.window, 1, &run, NULL, 0);
    m->labels = NULL;
    d->fitted = r == AN_OK;
    return r;
}

AN_API an_result an_lstm_classifier_predict(an_detector *d, const float *windows, size_t n, float *prob)
{
    an__lae *m = an__lae_of(d);
    size_t TF, K, i;
    an_result r;
    if (!m || !windows || !prob || n == 0) return AN_ERR_INVALID_ARG;
    if (!m->lay.classifier) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    TF = m->cfg.window * m->n_features;
    K = m->lay.out_dim;
    if (an__mul(n, TF) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!an__all_finite(windows, n * TF)) return AN_ERR_INPUT;
    for (i = 0; i < n; i += m->cfg.batch) {
        size_t bs = n - i < m->cfg.batch ? n - i : m->cfg.batch;
        if ((r = an__lae_batch(m, windows + i * TF, TF, bs)) != AN_OK) return r;
        memcpy(prob + i * K, m->yhat, bs * K * sizeof(float));
    }
    return AN_OK;
}

AN_API an_result an_lstm_explain(an_detector *d, const float *x, size_t n_rows, size_t row, float *expected,
                                 an_lstm_record *rec)
{
    an__lae *m = an__lae_of(d);
    size_t T, F, i, n, in_start, rows;
    const float *actual;
    double se = 0.0, ae = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, vx, vy;
    an_result r;
    if (rec) memset(rec, 0, sizeof *rec);
    if (!m || !x || !expected || !rec || row >= n_rows) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    T = m->cfg.window;
    F = m->n_features;
    if (an__mul(n_rows, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (m->lay.head) {
        if (row < T) return AN_ERR_TOO_SHORT;
        in_start = row - T;
        rec->start = row;
        rows = n_rows - row < m->cfg.n_predictions ? n_rows - row : m->cfg.n_predictions;
    } else {
        if (n_rows < T) return AN_ERR_TOO_SHORT;
        in_start = row + 1 >= T ? row + 1 - T : 0;
        rec->start = in_start;
        rows = T;
    }
    if (!an__all_finite(x + in_start * F, T * F) || !an__all_finite(x + rec->start * F, rows * F)) return AN_ERR_INPUT;
    if ((r = an__lae_put(m, x + in_start * F, 0)) != AN_OK) return r;
    an__lae_forward(m, 1);
    n = rows * F;
    if (!an__all_finite(m->yhat, n)) return AN_ERR_NUMERIC;
    if (m->has_scaler) {
        if ((r = an_scaler_inverse(&m->scaler, m->yhat, rows, expected)) != AN_OK) return r;
    } else {
        memcpy(expected, m->yhat, n * sizeof(float));
    }
    actual = x + rec->start * F;
    rec->row = row;
    rec->rows = rows;
    for (i = 0; i < n; i++) {
        double e = expected[i], a = actual[i], dv = e - a;
        se += dv * dv;
        ae += fabs(dv);
        if (fabs(dv) > rec->max_dev || i == 0) {
            rec->max_dev = fabs(dv);
            rec->max_row = rec->start + i / F;
            rec->max_feature = i % F;
        }
        sx += e; sy += a;
    }
    sx /= (double)n;
    sy /= (double)n;
    for (i = 0; i < n; i++) {
        double e = expected[i] - sx, a = actual[i] - sy;
        sxx += e * e; syy += a * a; sxy += e * a;
    }
    rec->mse = se / (double)n;
    rec->mae = ae / (double)n;
    vx = sqrt(sxx);
    vy = sqrt(syy);
    rec->corr = (vx > 0.0 && vy > 0.0) ? sxy / (vx * vy) : 0.0;
    return AN_OK;
}

AN_API an_result an_lstm_errors(an_detector *d, const float *x, size_t n_rows, size_t first, size_t n, float *err)
{
    an__lae *m = an__lae_of(d);
    size_t T, F, rows, w0, b, k, f, span;
    an_result r;
    if (!m || !x || !err || n == 0) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier) return AN_ERR_UNSUPPORTED;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    T = m->cfg.window;
    F = m->n_features;
    rows = m->lay.head ? m->cfg.n_predictions : T;
    span = T + (m->lay.head ? rows : 0);
    if (an__mul(n_rows, F) == SIZE_MAX || first > SIZE_MAX - n) return AN_ERR_TOO_LARGE;
    if (n_rows < span || first + n > n_rows - span + 1) return AN_ERR_SHAPE;
    if (!an__all_finite(x + first * F, (n - 1 + span) * F)) return AN_ERR_INPUT;
    for (w0 = 0; w0 < n; w0 += m->cfg.batch) {
        size_t bs = n - w0 < m->cfg.batch ? n - w0 : m->cfg.batch;
        if ((r = an__lae_batch(m, x + (first + w0) * F, F, bs)) != AN_OK) return r;
        for (b = 0; b < bs; b++)
            for (k = 0; k < rows; k++) {
                const float *y = m->yhat + (b * rows + k) * F, *a;
                float *e = err + ((w0 + b) * rows + k) * F;
                if (m->lay.head) {
                    if ((r = an__lae_row(m, x + (first + w0 + b + T + k) * F, m->target)) != AN_OK) return r;
                    a = m->target;
                } else {
                    a = m->x + (b * T + k) * F;
                }
                for (f = 0; f < F; f++) {
                    double dv = (double)y[f] - a[f];
                    e[f] = (float)(m->cfg.loss == AN_LOSS_MAE ? fabs(dv) : dv * dv);
                }
            }
    }
    return AN_OK;
}

/* The autoencoder's and the forecaster's scores (see the header) of
   n_series series of n_rows rows each, x (n_series, n_rows, F) into
   scores (n_series, n_rows): window w of a series = its rows [w, w + T)
   gives `rows` outputs, for its rows w + off on (T reconstructed rows
   from off = 0, or P predicted ones from off = T); each output's error
   against the scaled row it stands for goes into that row's score by
   window_agg (LAST keeps one output per window: its last row, or the
   prediction one step ahead).  The windows of all the series, series
   after series, fill the batches, so short series (the explainers'
   masked copies, one window each) share forward passes of `batch` <=
   cfg.batch windows; a window's outputs do not depend on its batch
   (an__gemv_panels), so each series scores as it does alone. */
static an_result an__series_scores(an__lae *m, const float *x, size_t n_series, size_t n_rows, size_t batch,
                                   float *scores)
{
    const int head = m->lay.head;
    const an_lstm_agg agg = m->cfg.window_agg;
    size_t T = m->cfg.window, F = m->n_features, rows = m->lay.rows, off = head ? T : 0;
    size_t last = head ? 0 : T - 1, nw, n, g0, b, k, r, s;
    an_result res;
    if (n_rows < T + (head ? 1 : 0)) return AN_ERR_TOO_SHORT;
    nw = n_rows - T + (head ? 0 : 1);
    n = n_series * nw;   /* <= n_series n_rows, which the caller checked */
    memset(scores, 0, n_series * n_rows * sizeof(float));
    for (g0 = 0; g0 < n; g0 += batch) {   /* window g: series g / nw, window g % nw */
        size_t bs = n - g0 < batch ? n - g0 : batch;
        size_t from[AN__LSTM_SHARE_MAX];
        int share = bs > 1 && bs <= AN__LSTM_SHARE_MAX;
        for (b = 0; b < bs; b++)
            if ((res = an__lae_put(m, x + ((g0 + b) / nw * n_rows + (g0 + b) % nw) * F, b)) != AN_OK) return res;
        /* from[b]: the steps window b's scaled input shares with window
           b - 1's (the explainers' masked copies, sorted, share their
           first segments): the encoder copies them (an__lstm_forward_from) */
        for (b = 0; share && b < bs; b++) {
            size_t t = 0;
            if (b > 0)
                while (t < T && !memcmp(m->x + (b * T + t) * F, m->x + ((b - 1) * T + t) * F, F * sizeof(float))) t++;
            from[b] = t;
        }
        if ((res = an__lae_infer_from(m, bs, share ? from : NULL)) != AN_OK) return res;
        for (b = 0; b < bs; b++) {
            size_t w = (g0 + b) % nw;
            const float *xs = x + (g0 + b) / nw * n_rows * F;
            float *sc = scores + (g0 + b) / nw * n_rows;
            for (k = 0; k < rows && w + off + k < n_rows; k++) {
                const float *target = m->x + (b * T + k) * F;   /* the autoencoder's own input */
                float e;
                r = w + off + k;
                if (head) {   /* the forecaster's: row r, scaled */
                    if ((res = an__lae_row(m, xs + r * F, m->target)) != AN_OK) return res;
                    target = m->target;
                }
                if (agg == AN_AGG_LAST && k != last) continue;   /* rows < off + last: 0, as push */
                e = an__row_err(m->cfg.loss, m->cfg.channel_agg, m->yhat + (b * rows + k) * F, target, m->err_w, F);
                if (agg == AN_AGG_LAST) sc[r] = e;
                else an__score_add(agg, &sc[r], e);
            }
        }
    }
    /* windows w with row r among their outputs:
       max(0, r + 1 - off - rows) <= w <= min(r - off, nw - 1) */
    if (agg == AN_AGG_MEAN)
        for (s = 0; s < n_series; s++)
            for (r = off; r < n_rows; r++) {
                size_t hi = r - off < nw - 1 ? r - off : nw - 1, lo = r + 1 >= off + rows ? r + 1 - off - rows : 0;
                scores[s * n_rows + r] /= (float)(hi - lo + 1);
            }
    return AN_OK;
}

static an_result an__lae_score(an_detector *self, const float *x, size_t n_rows, float *scores)
{
    an__lae *m = an__lae_of(self);
    if (!m) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier) return an__lcl_score(m, x, n_rows, scores);
    return an__series_scores(m, x, 1, n_rows, m->cfg.batch, scores);
}

/* The contract's score_batch (autoencoder and forecaster; the classifier
   scores series one by one through the generic fallback). */
static an_result an__lae_score_batch(an_detector *self, const float *x, size_t n_series, size_t n_rows,
                                     float *scores)
{
    an__lae *m = an__lae_of(self);
    size_t bs;
    if (!m || m->lay.classifier) return AN_ERR_INVALID_ARG;
    bs = m->cfg.batch < AN__LSTM_SHARE_MAX ? m->cfg.batch : AN__LSTM_SHARE_MAX;   /* no gates kept: any pass fits */
    return an__series_scores(m, x, n_series, n_rows, bs, scores);
}

static an_result an__lae_push(an_detector *self, const float *row, float *score)
{
    an__lae *m = an__lae_of(self);
    size_t T, F, k;
    float *win;
    an_result r;
    if (!m) return AN_ERR_INVALID_ARG;
    *score = 0.0f;
    T = m->cfg.window;
    F = m->n_features;
    if (m->lay.head && !m->lay.classifier) return an__lfc_push(m, row, score);
    memcpy(m->ring + m->ring_pos * F, row, F * sizeof(float));
    m->ring_pos = (m->ring_pos + 1) % T;
    if (m->n_seen < T) m->n_seen++;
    if (m->n_seen < T) return AN_OK;
    /* oldest row first: the ring from ring_pos on, then its start; the
       window is assembled in yhat's memory (free until the forward pass) */
    win = m->yhat;
    for (k = 0; k < T; k++) memcpy(win + k * F, m->ring + ((m->ring_pos + k) % T) * F, F * sizeof(float));
    m->has_exp = 0;   /* st_exp holds the level taken off until the expectation */
    if ((r = an__lae_put_level(m, win, 0, m->st_exp)) != AN_OK || (r = an__lae_infer(m, 1)) != AN_OK) return r;
    if (m->lay.classifier) {
        *score = an__max(m->yhat, m->lay.out_dim);
        return AN_OK;
    }
    *score = an__lae_err(m, 0, T - 1);
    if (m->cfg.centre)   /* the level taken off (scaled, parked in st_exp) back on */
        for (k = 0; k < F; k++) m->yhat[(T - 1) * F + k] += m->st_exp[k];
    return an__lae_expect(m, m->yhat + (T - 1) * F);
}

/* The detector contract's expectation: the forecast of the row last
   pushed, or the reconstruction of it as the last row of its window. */
static an_result an__lae_expected(an_detector *self, double *expected)
{
    an__lae *m = an__lae_of(self);
    size_t f;
    for (f = 0; f < self->n_features; f++) expected[f] = m->has_exp ? (double)m->st_exp[f] : (double)NAN;
    return AN_OK;
}

static an_result an__lae_reset(an_detector *self)
{
    an__lae *m = an__lae_of(self);
    if (!m) return AN_ERR_INVALID_ARG;
    an__lae_stream_reset(m);
    return AN_OK;
}

/* Model file chunks inside the detector's 'DETC' chunk:
     'LAEC'  configuration: u32 format 1, then u64 window, n_features,
             n_layers, units[4], latent, activation, loss, scaler,
             train.epochs, batch, train.stride, train.patience, seed; f64
             train.val_fraction, train.min_delta, and train.adam's lr,
             beta1, beta2, eps, weight_decay, clip_norm
     'SCAL'  the scaler (when there is one)
     'LAEP'  u64 parameter count, then the parameters as f32
     'LAER'  training record: u64 epochs run, rows; f64 best loss, seconds
             (written as 0: processor time differs between identical runs,
             and two trainings with one seed must give one file), training
             scores' mean, std and 99th percentile
     'LFCX'  forecaster and classifier: u64 n_predictions, f64 dropout,
             u32 stateful_stream
     'LCLX'  classifier only: u64 n_classes, f64 gamma, f32 weights (K)
     'LAGG'  u32 channel_agg, u32 window_agg (required)
     'LNRM'  with channel_norm only: the features' error weights, f32 (F)
     'LCEN'  a centring autoencoder only: u32 1 (absent: 0)
     'LSTS'  the stream, so a saved model goes on where it was pushed to:
             u64 rows seen (<= T), ring position (< T), f32 ring (T,F),
             then the stateful forecaster's h, c (sum of units) and
             prediction (P,F) (absent: an empty stream) */
#define AN__TAG_LAE_CONFIG AN_TAG('L', 'A', 'E', 'C')
#define AN__TAG_LAE_PARAMS AN_TAG('L', 'A', 'E', 'P')
#define AN__TAG_LAE_RECORD AN_TAG('L', 'A', 'E', 'R')
#define AN__TAG_LFC_EXTRA  AN_TAG('L', 'F', 'C', 'X')
#define AN__TAG_LCL_EXTRA  AN_TAG('L', 'C', 'L', 'X')
#define AN__TAG_LAE_AGG    AN_TAG('L', 'A', 'G', 'G')
#define AN__TAG_LAE_STREAM AN_TAG('L', 'S', 'T', 'S')
#define AN__TAG_LAE_NORM   AN_TAG('L', 'N', 'R', 'M')
#define AN__TAG_LAE_CENTRE AN_TAG('L', 'C', 'E', 'N')


/* The training configuration's reals in a configuration chunk, the same
   eight f64 in the LSTM models' and the VAE's: val_fraction, min_delta,
   and Adam's lr, beta1, beta2, eps, weight_decay, clip_norm (written by
   an__write_train_reals; the configuration's check judges them). */
static an_result an__read_train_reals(an_reader *r, an_lstm_train_config *t)
{
    an_read_f64(r, &t->val_fraction);
    an_read_f64(r, &t->min_delta);
    an_read_f64(r, &t->adam.lr);
    an_read_f64(r, &t->adam.beta1);
    an_read_f64(r, &t->adam.beta2);
    an_read_f64(r, &t->adam.eps);
    an_read_f64(r, &t->adam.weight_decay);
    return an_read_f64(r, &t->adam.clip_norm);   /* a short chunk fails here: the reader's error sticks */
}

#ifndef ANOMALY_NO_TRAINING
/* The same reals, written. */
static void an__write_train_reals(an_writer *w, const an_lstm_train_config *t)
{
    an_write_f64(w, t->val_fraction);
    an_write_f64(w, t->min_delta);
    an_write_f64(w, t->adam.lr);
    an_write_f64(w, t->adam.beta1);
    an_write_f64(w, t->adam.beta2);
    an_write_f64(w, t->adam.eps);
    an_write_f64(w, t->adam.weight_decay);
    an_write_f64(w, t->adam.clip_norm);
}

/* A model's parameters as the chunk `tag`: u64 n, then n f32 (read back
   by an__load_params). */
static void an__write_params(an_writer *w, uint32_t tag, const float *params, size_t n)
{
    an_write_begin(w, tag);
    an_write_u64(w, n);
    an_write_f32s(w, params, n);
    an_write_end(w);
}

static an_result an__lae_save(const an_detector *self, an_writer *w)
{
    const an__lae *m = an__lae_of((an_detector *)self);
    const an_lstm_config *c;
    size_t l;
    if (!m) return AN_ERR_INVALID_ARG;
    c = &m->cfg;
    an_write_begin(w, AN__TAG_LAE_CONFIG);
    an_write_u32(w, 1);
    an_write_u64(w, c->window);
    an_write_u64(w, m->n_features);
    an_write_u64(w, c->n_layers);
    for (l = 0; l < AN_LSTM_MAX_LAYERS; l++) an_write_u64(w, l < c->n_layers ? c->units[l] : 0);
    an_write_u64(w, c->latent);
    an_write_u64(w, (uint64_t)c->activation);
    an_write_u64(w, (uint64_t)c->loss);
    an_write_u64(w, (uint64_t)c->scaler);
    an_write_u64(w, c->train.epochs);
    an_write_u64(w, c->batch);
    an_write_u64(w, c->train.stride);
    an_write_u64(w, c->train.patience);
    an_write_u64(w, c->seed);
    an__write_train_reals(w, &c->train);
    an_write_end(w);
    if (m->lay.head) {
        an_write_begin(w, AN__TAG_LFC_EXTRA);
        an_write_u64(w, c->n_predictions);
        an_write_f64(w, c->dropout);
        an_write_u32(w, c->stateful_stream ? 1u : 0u);
        an_write_end(w);
    }
    if (m->lay.classifier) {
        an_write_begin(w, AN__TAG_LCL_EXTRA);
        an_write_u64(w, c->n_classes);
        an_write_f64(w, c->gamma);
        an_write_f32s(w, m->class_weight, c->n_classes);
        an_write_end(w);
    }
    an_write_begin(w, AN__TAG_LAE_AGG);
    an_write_u32(w, (uint32_t)c->channel_agg);
    an_write_u32(w, (uint32_t)c->window_agg);
    an_write_end(w);
    if (c->channel_norm) {
        an_write_begin(w, AN__TAG_LAE_NORM);
        an_write_f32s(w, m->err_w, m->n_features);
        an_write_end(w);
    }
    if (c->centre) {
        an_write_begin(w, AN__TAG_LAE_CENTRE);
        an_write_u32(w, 1);
        an_write_end(w);
    }
    if (m->has_scaler) an_scaler_save(&m->scaler, w);
    an__write_params(w, AN__TAG_LAE_PARAMS, m->params, m->lay.n_params);
    an_write_begin(w, AN__TAG_LAE_RECORD);
    an_write_u64(w, m->epochs_run);
    an_write_u64(w, m->train_rows);
    an_write_f64(w, m->best_loss);
    an_write_f64(w, 0.0);      /* the seconds stay out: one seed, one file, byte for byte */
    an_write_f64(w, m->thr_mean);
    an_write_f64(w, m->thr_std);
    an_write_f64(w, m->thr_p99);
    an_write_end(w);
    an_write_begin(w, AN__TAG_LAE_STREAM);
    an_write_u64(w, m->n_seen);
    an_write_u64(w, m->ring_pos);
    an_write_f32s(w, m->ring, c->window * m->n_features);
    if (c->stateful_stream) {
        an_write_f32s(w, m->st_h, an__lae_state_size(m));
        an_write_f32s(w, m->st_c, an__lae_state_size(m));
        an_write_f32s(w, m->st_pred, m->lay.out_dim);
    }
    an_write_end(w);
    return w->status;
}
#endif

static an_result an__lae_read_config(an_reader *r, an_lstm_config *c, size_t *n_features)
{
    uint32_t version;
    size_t l, v;
    an_result res;
    *c = an_lstm_ae_config_init(1, 1);
    if ((res = an_read_u32(r, &version)) != AN_OK) return res;
    if (version != 1) return version > 1 ? AN_ERR_VERSION : AN_ERR_CORRUPT;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_WINDOW, &c->window)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_FEATURES, n_features)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_LAYERS, &c->n_layers)) != AN_OK) return res;
    for (l = 0; l < AN_LSTM_MAX_LAYERS; l++)
        if ((res = an_read_count(r, l < c->n_layers ? 1 : 0, l < c->n_layers ? AN_LSTM_MAX_UNITS : 0,
                                 &c->units[l])) != AN_OK) return res;
    if ((res = an_read_count(r, 0, AN_LSTM_MAX_UNITS, &c->latent)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, AN_ACT_LINEAR, &v)) != AN_OK) return res;
    c->activation = (an_activation)v;
    if ((res = an_read_count(r, 0, AN_LOSS_FOCAL, &v)) != AN_OK) return res;
    c->loss = (an_loss_kind)v;
    if ((res = an_read_count(r, 0, AN_SCALER_ROBUST, &v)) != AN_OK) return res;
    c->scaler = (an_scaler_kind)v;
    if ((res = an_read_count(r, 0, 1000000, &c->train.epochs)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, 65536, &c->batch)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, SIZE_MAX, &c->train.stride)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, SIZE_MAX, &c->train.patience)) != AN_OK) return res;
    if ((res = an_read_u64(r, &c->seed)) != AN_OK) return res;
    if ((res = an__read_train_reals(r, &c->train)) != AN_OK) return res;
    return an_lstm_check_config(c) == AN_OK ? AN_OK : AN_ERR_CORRUPT;
}

/* A cursor at the first chunk with `tag` in r (for readers, such as
   an_scaler_load, that expect the chunk itself at the cursor). */
static an_result an__reader_seek(const an_reader *r, uint32_t tag, an_reader *at)
{
    an_reader chunk;
    uint32_t got;
    an_result res;
    *at = *r;
    at->pos = 0;
    while (!an_reader_at_end(at)) {
        size_t before = at->pos;
        if ((res = an_read_chunk(at, &got, &chunk)) != AN_OK) return res;
        if (got == tag) { at->pos = before; return AN_OK; }
    }
    return AN_ERR_CORRUPT;
}

/* A loaded model's scaler, when it was saved with one (*has_scaler set by
   its config): the chunk must scale F features with the configured kind. */
static an_result an__load_scaler(const an_reader *payload, size_t F, an_scaler_kind kind, const an_allocator *a,
                                 an_scaler *scaler, int *has_scaler)
{
    an_reader chunk;
    an_result r;
    if (!*has_scaler) return AN_OK;
    an_scaler_uninit(scaler);
    *has_scaler = 0;
    if ((r = an__reader_seek(payload, AN_TAG_SCALER, &chunk)) != AN_OK) return r;
    if ((r = an_scaler_load(scaler, &chunk, a)) != AN_OK) return r;
    *has_scaler = 1;
    return scaler->n_features != F || scaler->kind != kind || !scaler->fitted ? AN_ERR_CORRUPT : AN_OK;
}

/* A loaded model's parameters: the chunk `tag` holds exactly n finite floats. */
static an_result an__load_params(const an_reader *payload, uint32_t tag, float *params, size_t n)
{
    an_reader chunk;
    size_t count;
    an_result r;
    if ((r = an_reader_find(payload, tag, &chunk)) != AN_OK) return r;
    if ((r = an_read_count(&chunk, n, n, &count)) != AN_OK) return r;
    if ((r = an_read_f32s(&chunk, params, count)) != AN_OK) return r;
    return an__all_finite(params, count) ? AN_OK : AN_ERR_CORRUPT;
}

/* Whether the file's floats from p on can be read in place
   (ANOMALY_LSTM_LOAD_IN_PLACE): p aligned, and the host's floats IEEE
   single in the file's byte order (little-endian). */
static int an__f32s_in_place(const unsigned char *p)
{
    const float one = 1.0f;
    unsigned char b[4];
    memcpy(b, &one, 4);
    return sizeof(float) == 4 && ((uintptr_t)p & (sizeof(float) - 1)) == 0 && b[0] == 0 && b[1] == 0 &&
           b[2] == 0x80 && b[3] == 0x3f;
}

static an_result an__model_load(an_reader *payload, const an_allocator *a, an_detector **out, an_lstm_kind kind)
{
    float weights[64];   /* class weights of small heads; larger ones are read after create */
    an_reader agg;
    int forecaster = kind != AN_LSTM_AUTOENCODER;
    an_lstm_config c;
    an_reader chunk;
    an_detector *d = NULL;
    an__lae *m;
    size_t F = 0;
    const float *in_place = NULL;   /* the file's parameters, read in place */
    int mode = ANOMALY_LSTM_LOAD_IN_PLACE ? AN__LAE_LEAN : 0;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__TAG_LAE_CONFIG, &chunk)) != AN_OK) return r;
    if ((r = an__lae_read_config(&chunk, &c, &F)) != AN_OK) return r;
    if (forecaster) {
        if ((r = an_reader_find(payload, AN__TAG_LFC_EXTRA, &chunk)) != AN_OK) return r;
        if ((r = an_read_count(&chunk, kind == AN_LSTM_FORECASTER, kind == AN_LSTM_FORECASTER ? AN_LSTM_MAX_WINDOW : 0, &c.n_predictions)) != AN_OK)
            return r;
        if ((r = an_read_f64(&chunk, &c.dropout)) != AN_OK) return r;
        {
            uint32_t st = 0;
            if ((r = an_read_u32(&chunk, &st)) != AN_OK) return r;
            if (st > 1) return AN_ERR_CORRUPT;
            c.stateful_stream = (int)st;
        }
    }
    if (kind == AN_LSTM_CLASSIFIER) {
        if ((r = an_reader_find(payload, AN__TAG_LCL_EXTRA, &chunk)) != AN_OK) return r;
        if ((r = an_read_count(&chunk, 1, AN_LSTM_MAX_FEATURES, &c.n_classes)) != AN_OK) return r;
        if ((r = an_read_f64(&chunk, &c.gamma)) != AN_OK) return r;
        if ((r = an_reader_need(&chunk, c.n_classes, sizeof(float))) != AN_OK) return r;
        if (c.n_classes <= 64) {
            an_read_f32s(&chunk, weights, c.n_classes);
            c.class_weight = weights;
        }
    }
    {
        uint32_t ca, wa;
        if ((r = an_reader_find(payload, AN__TAG_LAE_AGG, &agg)) != AN_OK) return r;
        if (an_read_u32(&agg, &ca) != AN_OK || an_read_u32(&agg, &wa) != AN_OK || ca > 1 || wa > 2)
            return AN_ERR_CORRUPT;
        c.channel_agg = (an_lstm_agg)ca;
        c.window_agg = (an_lstm_agg)wa;
    }
    if (an_reader_find(payload, AN__TAG_LAE_CENTRE, &agg) == AN_OK) {   /* optional: centring */
        uint32_t ce;
        if (an_read_u32(&agg, &ce) != AN_OK || ce != 1) return AN_ERR_CORRUPT;
        c.centre = 1;
    }
    if (an__model_check(&c, F, kind) != AN_OK) return AN_ERR_CORRUPT;
    {   /* sizes from the file: the parameters must be in it (the u64 count,
           then the floats), and the buffers they do not account for
           bounded.  The scoring batch is a runtime choice, not part of the
           model: at most ANOMALY_LSTM_LOAD_BATCH, halved until the block
           beyond the parameters fits ANOMALY_LSTM_LOAD_SLACK_BYTES. */
        size_t inference = 0, pbytes;
        an__lae_layout L;
        an_reader params;
        an__lae_plan(&c, F, kind, &L);
        if ((r = an_reader_find(payload, AN__TAG_LAE_PARAMS, &params)) != AN_OK) return r;
        if (L.n_params == SIZE_MAX || an_reader_need(&params, an__add(L.n_params, 2), sizeof(float)) != AN_OK)
            return AN_ERR_CORRUPT;
        pbytes = an__mul(L.n_params, sizeof(float));
        if (mode) {   /* in place: the u64 count, then the floats where they lie */
            an_reader at = params;
            size_t count;
            if (an_read_count(&at, L.n_params, L.n_params, &count) == AN_OK && an__f32s_in_place(at.data + at.pos)) {
                in_place = (const float *)(const void *)(at.data + at.pos);
                mode |= AN__LAE_BORROWED;
                pbytes = 0;
            }
        }
        if (c.batch > ANOMALY_LSTM_LOAD_BATCH) c.batch = ANOMALY_LSTM_LOAD_BATCH;
        for (;;) {
            if ((r = an__model_memory(&c, F, kind, mode, &inference, NULL)) != AN_OK) return r;
            if (inference - pbytes <= ANOMALY_LSTM_LOAD_SLACK_BYTES || c.batch == 1) break;
            c.batch /= 2;
        }
        if (inference - pbytes > ANOMALY_LSTM_LOAD_SLACK_BYTES || inference > ANOMALY_LSTM_MAX_LOAD_BYTES)
            return AN_ERR_TOO_LARGE;
    }
    if ((r = an__model_alloc(&c, F, kind, mode, a, &d)) != AN_OK) return r;   /* the parameters come next */
    if (kind == AN_LSTM_CLASSIFIER && c.n_classes > 64) {   /* the weights straight into the model */
        an__lae *mm = (an__lae *)d;
        size_t k;
        an_read_f32s(&chunk, mm->class_weight, c.n_classes);
        for (k = 0; k < c.n_classes; k++)   /* the check an__model_check makes of small heads */
            if (!an__finite(mm->class_weight[k]) || mm->class_weight[k] < 0.0f) { an__lae_free(mm); return AN_ERR_CORRUPT; }
    }
    m = (an__lae *)d;
    if ((r = an__load_scaler(payload, F, c.scaler, a, &m->scaler, &m->has_scaler)) != AN_OK) goto fail;
    if (in_place) {   /* count and size checked above; a view, never written */
        m->params = (float *)(uintptr_t)in_place;
        an__lae_bind(m);
        if (!an__all_finite(m->params, m->lay.n_params)) { r = AN_ERR_CORRUPT; goto fail; }
    } else if ((r = an__load_params(payload, AN__TAG_LAE_PARAMS, m->params, m->lay.n_params)) != AN_OK) {
        goto fail;
    }
    an__lae_prepare(m);
    if (an_reader_find(payload, AN__TAG_LAE_NORM, &chunk) == AN_OK) {   /* optional: channel_norm */
        size_t f;
        m->cfg.channel_norm = 1;
        if (an_read_f32s(&chunk, m->err_w, F) != AN_OK) r = AN_ERR_CORRUPT;
        for (f = 0; f < F && r == AN_OK; f++)
            if (!(m->err_w[f] > 0.0f && m->err_w[f] < 1e30f)) r = AN_ERR_CORRUPT;
        if (r != AN_OK) goto fail;
    }
    if (an_reader_find(payload, AN__TAG_LAE_RECORD, &chunk) == AN_OK) {   /* optional */
        uint64_t e = 0, rows = 0;
        an_read_u64(&chunk, &e);
        an_read_u64(&chunk, &rows);
        an_read_f64(&chunk, &m->best_loss);
        an_read_f64(&chunk, &m->train_seconds);
        an_read_f64(&chunk, &m->thr_mean);
        an_read_f64(&chunk, &m->thr_std);
        an_read_f64(&chunk, &m->thr_p99);
        m->epochs_run = (size_t)e;
        m->train_rows = (size_t)rows;
    }
    if (an_reader_find(payload, AN__TAG_LAE_STREAM, &chunk) == AN_OK) {   /* optional */
        size_t T = c.window, TF = T * F, hs = an__lae_state_size(m);
        int stateful = c.stateful_stream != 0;
        if (an_read_count(&chunk, 0, T, &m->n_seen) != AN_OK || an_read_count(&chunk, 0, T - 1, &m->ring_pos) != AN_OK ||
            an_read_f32s(&chunk, m->ring, TF) != AN_OK || !an__all_finite(m->ring, TF) ||
            (stateful && (an_read_f32s(&chunk, m->st_h, hs) != AN_OK || an_read_f32s(&chunk, m->st_c, hs) != AN_OK ||
                          an_read_f32s(&chunk, m->st_pred, m->lay.out_dim) != AN_OK || !an__all_finite(m->st_h, hs) ||
                          !an__all_finite(m->st_c, hs) || !an__all_finite(m->st_pred, m->lay.out_dim)))) {
            r = AN_ERR_CORRUPT;
            goto fail;
        }
    }
    *out = d;
    return AN_OK;
fail:
    an__lae_free(m);
    return r;
}

static an_result an__lae_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__model_load(payload, a, out, AN_LSTM_AUTOENCODER);
}

static an_result an__lfc_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__model_load(payload, a, out, AN_LSTM_FORECASTER);
}

static an_result an__lcl_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    return an__model_load(payload, a, out, AN_LSTM_CLASSIFIER);
}

AN_API an_result an_lstm_param_view(an_detector *d, const char *name, float **data, size_t *count)
{
    an__lae *m = an__lae_of(d);
    const an__lae_layout *L;
    float *block;
    size_t off = 0, n = 0;
    an_result r;
    if (data) *data = NULL;
    if (count) *count = 0;
    if (!m || !name || !data || !count) return AN_ERR_INVALID_ARG;
    L = &m->lay;
    block = m->params;
    if (strncmp(name, "grad.", 5) == 0 || strcmp(name, "grads") == 0) {
        if ((r = an__lae_train_alloc(m)) != AN_OK) return r;
        block = m->grads;
        if (name[4] == '.') name += 5;
        else name = "params";
    }
    if (strcmp(name, "params") == 0) { off = 0; n = L->n_params; }
    else if (strcmp(name, "latent.W") == 0 && L->has_latent) { off = L->lat_W; n = L->code * L->top; }
    else if (strcmp(name, "latent.b") == 0 && L->has_latent) { off = L->lat_b; n = L->code; }
    else if (strcmp(name, "output.W") == 0) { off = L->out_W; n = L->out_dim * L->out_in; }
    else if (strcmp(name, "output.b") == 0) { off = L->out_b; n = L->out_dim; }
    else if ((strncmp(name, "encoder.", 8) == 0 || strncmp(name, "decoder.", 8) == 0) &&
             name[8] >= '0' && name[8] < (char)('0' + (name[0] == 'd' ? L->n_dec : L->n)) && name[9] == '.') {
        int side = name[0] == 'd';
        size_t l = (size_t)(name[8] - '0');
        size_t I = side ? L->dec_I[l] : L->enc_I[l], H = side ? L->dec_H[l] : L->enc_H[l];
        const char *part = name + 10;
        off = side ? L->dec_off[l] : L->enc_off[l];
        if (strcmp(part, "W_ih") == 0) n = 4 * H * I;
        else if (strcmp(part, "W_hh") == 0) { off += 4 * H * I; n = 4 * H * H; }
        else if (strcmp(part, "b_ih") == 0) { off += 4 * H * (I + H); n = 4 * H; }
        else if (strcmp(part, "b_hh") == 0) { off += 4 * H * (I + H) + 4 * H; n = 4 * H; }
    }
    if (n == 0) return AN_ERR_INVALID_ARG;
    *data = block + off;
    *count = n;
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
/* g (T,F), a gradient with respect to the centred window w (T,F), made
   one with respect to the window: each feature's sum over the rows
   leaves through the rows its level averaged. */
static void an__lae_centre_grad(const float *w, float *g, size_t T, size_t F)
{
    size_t t, f, lo, hi;
    for (f = 0; f < F; f++) {
        double sum = 0.0;
        float share;
        an__lae_level(w, T, F, f, &lo, &hi);
        for (t = 0; t < T; t++) sum += g[t * F + f];
        share = (float)(sum / (double)(hi - lo));
        for (t = lo; t < hi; t++) g[t * F + f] -= share;
    }
}

/* Windows per pass for the batched gradients: as many as keep every
   layer's forward buffers (gates, cell states and outputs, 7 H floats a
   step) within ANOMALY_LSTM_BATCH_BYTES, at least 1, at most cfg.batch.
   Only the speed depends on it.  (The batched scores keep no gates: a
   step's working set is the step buffer, whatever the pass; they use
   cfg.batch, up to AN__LSTM_SHARE_MAX.) */
static size_t an__lae_pass_batch(const an__lae *m)
{
    size_t l, units = 0, per, bs;
    for (l = 0; l < m->lay.n; l++) units += m->lay.enc_H[l];
    for (l = 0; l < m->lay.n_dec; l++) units += m->lay.dec_H[l];
    per = an__mul(an__mul(units, m->cfg.window), 7 * sizeof(float));
    bs = ANOMALY_LSTM_BATCH_BYTES / per;
    return bs < 1 ? 1 : (bs < m->cfg.batch ? bs : m->cfg.batch);
}

/* d score[t] / d x (the detector's gradient hook), for n_series series
   of n_rows rows, x and grad (n_series, n_rows, F).  score[t] averages,
   over the c_t windows w whose outputs cover row t, an error e(w, t) of
   the output for row t against the scaled row xs[t]; so
     d score[t] / d x[r,f] = (1 / c_t) sum_w (d e(w,t) / d xs[r,f]) / scale_f
   where d e / d xs has two parts: through the network input (one
   backward pass per window, with the output gradient nonzero only at row
   t's output) and, at r = t, through the target.  The classifier's
   score is the largest class probability p of the window ending at t:
   d p / d logit = p (1 - p), through the input only.  The windows of all
   the series fill the batches (integrated gradients' path points, one
   window each, share forward and backward passes) when each series has
   one window in play; with several (window_agg MEAN or MAX) the series
   go one at a time, so that each sums its windows in the order it does
   alone: a series' gradient does not depend on its batch.  The first
   call allocates the training block. */
static an_result an__lae_gradients(an__lae *m, const float *x, size_t n_series, size_t n_rows, size_t t, float *grad)
{
    size_t T, F, K, B, w_lo, w_hi, nwin, n, g0, b, s, f, count, TF, RF;
    an_result r;
    T = m->cfg.window;
    F = m->n_features;
    K = m->lay.out_dim;
    B = n_series > 1 ? an__lae_pass_batch(m) : m->cfg.batch;   /* one series: as an_detector_gradient */
    TF = T * F;
    RF = n_rows * F;   /* the caller checked n_series n_rows F */
    if (!an__all_finite(x, n_series * RF)) return AN_ERR_INPUT;
    if (n_rows < T + (m->lay.head && !m->lay.classifier ? 1 : 0)) return AN_ERR_TOO_SHORT;
    if ((r = an__lae_train_alloc(m)) != AN_OK) return r;
    memset(grad, 0, n_series * RF * sizeof(float));
    if (m->lay.classifier) {                 /* the window ending at t */
        if (t + 1 < T) return AN_OK;
        w_lo = w_hi = t + 1 - T;
    } else if (m->lay.head) {                /* windows predicting row t */
        size_t P = m->cfg.n_predictions;
        if (t < T) return AN_OK;
        w_lo = t + 1 >= T + P ? t + 1 - T - P : 0;
        w_hi = t - T;
    } else {                                 /* windows covering row t */
        w_lo = t + 1 >= T ? t + 1 - T : 0;
        w_hi = t < n_rows - T ? t : n_rows - T;
    }
    if (!m->lay.classifier && m->cfg.window_agg == AN_AGG_LAST) {
        /* the window in which row t comes last; the forecaster's one-step
           prediction.  The autoencoder's rows before T - 1 score 0. */
        if (!m->lay.head && t + 1 < T) return AN_OK;
        w_lo = w_hi = m->lay.head ? t - T : t + 1 - T;
    }
    if (n_series > 1 && (w_lo != w_hi || (!m->lay.classifier && m->cfg.window_agg == AN_AGG_MAX))) {
        for (s = 0; s < n_series; s++)
            if ((r = an__lae_gradients(m, x + s * RF, 1, n_rows, t, grad + s * RF)) != AN_OK) return r;
        return AN_OK;
    }
    an__lae_prepare(m);
    if (!m->lay.classifier && m->cfg.window_agg == AN_AGG_MAX) {
        /* the covering window with the largest error (the first on ties) */
        size_t best = w_lo;
        float top = 0.0f;
        if ((r = an__lae_row(m, x + t * F, m->target)) != AN_OK) return r;
        for (g0 = w_lo; g0 <= w_hi; g0 += B) {
            size_t bs = w_hi + 1 - g0 < B ? w_hi + 1 - g0 : B;
            for (b = 0; b < bs; b++)
                if ((r = an__lae_put(m, x + (g0 + b) * F, b)) != AN_OK) return r;
            an__lae_forward(m, bs);
            for (b = 0; b < bs; b++) {
                size_t at = m->lay.head ? t - (g0 + b) - T : t - (g0 + b);
                const float *target = m->cfg.centre ? m->x + (b * T + at) * F : m->target;   /* row t as scored */
                float e = an__row_err(m->cfg.loss, m->cfg.channel_agg, m->yhat + b * m->lay.out_total + at * F,
                                      target, m->err_w, F);
                if (e > top) { top = e; best = g0 + b; }
            }
        }
        w_lo = w_hi = best;
    }
    count = m->cfg.window_agg == AN_AGG_MEAN || m->lay.classifier ? w_hi - w_lo + 1 : 1;
    nwin = w_hi - w_lo + 1;
    n = n_series * nwin;   /* window g: series g / nwin, window w_lo + g % nwin */
    for (g0 = 0; g0 < n; g0 += B) {
        size_t bs = n - g0 < B ? n - g0 : B;
        for (b = 0; b < bs; b++)
            if ((r = an__lae_put(m, x + (g0 + b) / nwin * RF + (w_lo + (g0 + b) % nwin) * F, b)) != AN_OK) return r;
        an__lae_forward(m, bs);
        if (!an__all_finite(m->yhat, bs * m->lay.out_total)) return AN_ERR_NUMERIC;
        memset(m->dyhat, 0, bs * m->lay.out_total * sizeof(float));
        for (b = 0; b < bs; b++) {
            size_t w = w_lo + (g0 + b) % nwin;
            const float *xs = x + (g0 + b) / nwin * RF;
            float *gs = grad + (g0 + b) / nwin * RF;
            float *dy = m->dyhat + b * m->lay.out_total;
            const float *y = m->yhat + b * m->lay.out_total;
            if (m->lay.classifier) {
                size_t k, best = 0;
                for (k = 1; k < K; k++)
                    if (y[k] > y[best]) best = k;
                {
                    double pk = 1.0 / (1.0 + exp(-(double)y[best]));
                    dy[best] = (float)(pk * (1.0 - pk));
                }
            } else {
                size_t at = m->lay.head ? t - w - T : t - w;   /* row t's output */
                size_t only = F;   /* channel MAX: the feature with the largest error */
                if ((r = an__lae_row(m, xs + t * F, m->target)) != AN_OK) return r;   /* scaled row t */
                if (m->cfg.centre) memcpy(m->target, m->x + (b * T + at) * F, F * sizeof(float));   /* centred */
                if (m->cfg.channel_agg == AN_AGG_MAX) {
                    double top = -1.0;
                    for (f = 0; f < F; f++) {
                        double dv = (double)y[at * F + f] - m->target[f];
                        double e = (m->cfg.loss == AN_LOSS_MAE ? fabs(dv) : dv * dv) * m->err_w[f];
                        if (e > top) { top = e; only = f; }
                    }
                }
                for (f = 0; f < F; f++) {
                    double dv = (double)y[at * F + f] - m->target[f];
                    double g = (m->cfg.loss == AN_LOSS_MAE ? (dv > 0.0 ? 1.0 : (dv < 0.0 ? -1.0 : 0.0)) : 2.0 * dv) *
                               m->err_w[f];
                    if (only < F && f != only) continue;
                    if (only == F) g /= (double)F;
                    dy[at * F + f] = (float)g;
                    if (!m->cfg.centre) gs[t * F + f] -= (float)(g / (double)count);   /* the target path */
                }
            }
        }
        an__lae_backward(m, bs, m->gx, 0);   /* the input gradient only */
        for (b = 0; b < bs; b++) {
            size_t w = w_lo + (g0 + b) % nwin, k;
            float *gs = grad + (g0 + b) / nwin * RF;
            if (m->cfg.centre) {   /* the target path joins the network's; both through the centring */
                size_t at = t - w;
                for (f = 0; f < F; f++) m->gx[b * TF + at * F + f] -= m->dyhat[b * m->lay.out_total + at * F + f];
                an__lae_centre_grad(m->x + b * TF, m->gx + b * TF, T, F);
            }
            for (k = 0; k < TF; k++) gs[w * F + k] += m->gx[b * TF + k] / (float)count;
        }
    }
    if (m->has_scaler)
        for (s = 0; s < n_series * n_rows; s++)
            for (f = 0; f < F; f++) grad[s * F + f] = (float)(grad[s * F + f] / m->scaler.scale[f]);
    return AN_OK;
}

static an_result an__lae_gradient(an_detector *self, const float *x, size_t n_rows, size_t t, float *grad)
{
    an__lae *m = an__lae_of(self);
    if (!m) return AN_ERR_INVALID_ARG;
    if (an__mul(n_rows, m->n_features) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    return an__lae_gradients(m, x, 1, n_rows, t, grad);
}

static an_result an__lae_gradient_batch(an_detector *self, const float *x, size_t n_series, size_t n_rows, size_t t,
                                        float *grad)
{
    an__lae *m = an__lae_of(self);
    if (!m) return AN_ERR_INVALID_ARG;
    return an__lae_gradients(m, x, n_series, n_rows, t, grad);
}
#endif

static const an_detector_vtable an__lae_vtable = {
    AN_TAG_LSTM_AE, "lstm-autoencoder", AN__TRAINING(an__lae_fit), an__lae_score, an__lae_push, an__lae_reset,
    AN__TRAINING(an__lae_save), an__lae_load, AN__TRAINING(an__lae_gradient), an__lae_destroy, an__lae_expected,
    an__lae_score_batch, AN__TRAINING(an__lae_gradient_batch)
};

static const an_detector_vtable an__lfc_vtable = {
    AN_TAG_LSTM_FORECASTER, "lstm-forecaster", AN__TRAINING(an__lae_fit), an__lae_score, an__lae_push, an__lae_reset,
    AN__TRAINING(an__lae_save), an__lfc_load, AN__TRAINING(an__lae_gradient), an__lae_destroy, an__lae_expected,
    an__lae_score_batch, AN__TRAINING(an__lae_gradient_batch)
};

static const an_detector_vtable an__lcl_vtable = {   /* no fit: an_lstm_classifier_train */
    AN_TAG_LSTM_CLASSIFIER, "lstm-classifier", NULL, an__lae_score, an__lae_push, an__lae_reset,
    AN__TRAINING(an__lae_save), an__lcl_load, AN__TRAINING(an__lae_gradient), an__lae_destroy, NULL, NULL,
    AN__TRAINING(an__lae_gradient_batch)
};

static const an_detector_vtable *an__lae_vt(an_lstm_kind kind)
{
    return kind == AN_LSTM_CLASSIFIER ? &an__lcl_vtable : (kind == AN_LSTM_FORECASTER ? &an__lfc_vtable : &an__lae_vtable);
}

AN_API const an_detector_vtable *an_lstm_ae_type(void) { return &an__lae_vtable; }

AN_API const an_detector_vtable *an_lstm_forecaster_type(void) { return &an__lfc_vtable; }

AN_API const an_detector_vtable *an_lstm_classifier_type(void) { return &an__lcl_vtable; }


/* ==========================================================================
   5  Variational autoencoder
   ========================================================================== */

/* Parameter offsets (floats into the block) from the configuration. */
typedef struct an__vae_layout {
    size_t D;                  /* T F, the flattened window              */
    size_t O;                  /* output width per row of the output
                                  dense: T F (dense) or F (LSTM)         */
    size_t enc, head_W, head_b, dec, out_W, out_b;
    size_t n_params;
} an__vae_layout;

typedef struct an__vae {
    an_detector base;
    an_vae_config cfg;
    size_t n_features;
    an_allocator alloc;
    an__vae_layout lay;
    an_scaler scaler;
    int has_scaler;
    an_lstm_layer enc, dec;                 /* LSTM architecture         */
    an_lstm_layer_buffers enc_buf, dec_buf;
    /* inference block */
    float *params;    /* (n_params)                                       */
    float *x;         /* (B,T,F) scaled input windows                     */
    float *h1;        /* (B,H) encoder output (tanh, or the LSTM's h_T)   */
    float *ml;        /* (B,2L) head output: mu, raw log-variance         */
    float *eps;       /* (B,L) noise                                      */
    float *z;         /* (B,L) code                                       */
    float *h2;        /* (B,H) dense decoder hidden (tanh)                */
    float *y;         /* (B,T,F) reconstruction                           */
    float *draws;     /* (S,L) the scoring draws                          */
    float *ring;      /* (T,F) the stream's last rows, raw                */
    float *level;     /* (F) the pushed window's means, scaled (centre)   */
    float *st_exp;    /* (F) what the last push expected, raw             */
    void *core;
    size_t core_bytes;
    /* training block */
    float *grads, *best;   /* (n_params) each                             */
    float *dy;        /* (B,T,F)                                          */
    float *dh;        /* (B,T,H) decoder sequence gradient; dense: (B,H)  */
    float *dz;        /* (B,L)                                            */
    float *dml;       /* (B,2L)                                           */
    float *dh1;       /* (B,H)                                            */
    float *gx;        /* (B,T,F) input gradient (gradient hook)           */
    float *adam_heap;
    an_adam adam;
    void *train;
    size_t train_bytes;
    an_rng noise;     /* training noise                                   */
    size_t ring_pos, n_seen;
    int has_exp;      /* st_exp holds the last push's expectation         */
    size_t epochs_run, train_rows;
    double best_loss;
} an__vae;

static const an_detector_vtable *an__vae_vt(void);

static an__vae *an__vae_of(an_detector *d)
{
    return (d && d->vt == an__vae_vt()) ? (an__vae *)d : NULL;
}

AN_API an_vae_config an_vae_config_init(size_t window, size_t hidden, size_t latent)
{
    an_vae_config c;
    memset(&c, 0, sizeof c);
    c.window = window;
    c.arch = AN_VAE_DENSE;
    c.hidden = hidden;
    c.latent = latent;
    c.beta = 0.01;
    c.draws = 8;
    c.scaler = AN_SCALER_STANDARD;
    c.batch = 32;
    c.seed = 1;
    c.train = an_lstm_train_config_init();
    return c;
}

AN_API an_result an_vae_check_config(const an_vae_config *c)
{
    if (!c) return AN_ERR_INVALID_ARG;
    if (c->window < 1 || c->window > AN_LSTM_MAX_WINDOW) return AN_ERR_INVALID_ARG;
    if ((unsigned)c->arch > AN_VAE_LSTM) return AN_ERR_INVALID_ARG;
    if (c->hidden < 1 || c->hidden > AN_LSTM_MAX_UNITS || c->latent < 1 || c->latent > AN_LSTM_MAX_UNITS)
        return AN_ERR_INVALID_ARG;
    if (!(c->beta >= 0.0 && c->beta <= 1e6) || c->warmup > 1000000) return AN_ERR_INVALID_ARG;
    if (c->draws < 1 || c->draws > AN_VAE_MAX_DRAWS) return AN_ERR_INVALID_ARG;
    if ((unsigned)c->scaler > AN_SCALER_ROBUST || (c->centre != 0 && c->centre != 1) || (c->root != 0 && c->root != 1))
        return AN_ERR_INVALID_ARG;
    if (c->batch < 1 || c->batch > 65536) return AN_ERR_INVALID_ARG;
    return an_lstm_check_train_config(&c->train);
}

static void an__vae_plan(const an_vae_config *c, size_t F, an__vae_layout *L)
{
    size_t H = c->hidden, Z = c->latent, off;
    int lstm = c->arch == AN_VAE_LSTM;
    L->D = an__mul(c->window, F);
    L->O = lstm ? F : L->D;
    L->enc = 0;
    off = lstm ? an_lstm_layer_param_count(F, H) : an__add(an__mul(H, L->D), H);
    L->head_W = off;
    off = an__add(off, an__mul(2 * Z, H));
    L->head_b = off;
    off = an__add(off, 2 * Z);
    L->dec = off;
    off = an__add(off, lstm ? an_lstm_layer_param_count(Z, H) : an__add(an__mul(H, Z), H));
    L->out_W = off;
    off = an__add(off, an__mul(L->O, H));
    L->out_b = off;
    L->n_params = an__add(off, L->O);
}

/* Lays out both blocks (or measures them, m NULL); sizes in floats. */
static void an__vae_carve(an__vae *m, const an_vae_config *c, size_t F, const an__vae_layout *L, float *core,
                          float *train, size_t *core_floats, size_t *train_floats)
{
    size_t B = c->batch, T = c->window, H = c->hidden, Z = c->latent, co = 0, tr = 0, adam_bytes = 0;
    size_t bd = an__mul(B, L->D), bth = an__mul(an__mul(B, T), H);
    int lstm = c->arch == AN_VAE_LSTM;
    float *p;
    p = an__take(core, &co, L->n_params); if (m) m->params = p;
    if (lstm) {
        p = an__take(core, &co, an_lstm_layer_buffer_floats(B, T, F, H, 0));
        if (m && p) an_lstm_layer_buffers_carve(&m->enc_buf, p, B, T, F, H, 0);
        p = an__take(core, &co, an_lstm_layer_buffer_floats(B, T, Z, H, 0));
        if (m && p) an_lstm_layer_buffers_carve(&m->dec_buf, p, B, T, Z, H, 0);
        p = an__take(train, &tr, an__mul(bth, 4)); if (m) m->enc_buf.dz = p;
        p = an__take(train, &tr, an__mul(B, 6 * H)); if (m) m->enc_buf.work = p;
        p = an__take(train, &tr, an__mul(bth, 4)); if (m) m->dec_buf.dz = p;
        p = an__take(train, &tr, an__mul(B, 6 * H)); if (m) m->dec_buf.work = p;
    }
    p = an__take(core, &co, bd); if (m) m->x = p;
    p = an__take(core, &co, an__mul(B, H)); if (m) m->h1 = p;
    p = an__take(core, &co, an__mul(B, 2 * Z)); if (m) m->ml = p;
    p = an__take(core, &co, an__mul(B, Z)); if (m) m->eps = p;
    p = an__take(core, &co, an__mul(B, Z)); if (m) m->z = p;
    p = an__take(core, &co, lstm ? 0 : an__mul(B, H)); if (m) m->h2 = p;
    p = an__take(core, &co, bd); if (m) m->y = p;
    p = an__take(core, &co, an__mul(c->draws, Z)); if (m) m->draws = p;
    p = an__take(core, &co, L->D); if (m) m->ring = p;
    p = an__take(core, &co, F); if (m) m->level = p;
    p = an__take(core, &co, F); if (m) m->st_exp = p;
    p = an__take(train, &tr, L->n_params); if (m) m->grads = p;
    p = an__take(train, &tr, L->n_params); if (m) m->best = p;
    p = an__take(train, &tr, bd); if (m) m->dy = p;
    p = an__take(train, &tr, lstm ? bth : an__mul(B, H)); if (m) m->dh = p;
    p = an__take(train, &tr, an__mul(B, Z)); if (m) m->dz = p;
    p = an__take(train, &tr, an__mul(B, 2 * Z)); if (m) m->dml = p;
    p = an__take(train, &tr, an__mul(B, H)); if (m) m->dh1 = p;
    p = an__take(train, &tr, bd); if (m) m->gx = p;
    if (an_adam_heap_size(L->n_params, &adam_bytes) != AN_OK) adam_bytes = SIZE_MAX;
    p = an__take(train, &tr, adam_bytes / sizeof(float) + 1); if (m) m->adam_heap = p;
    *core_floats = co;
    *train_floats = tr;
}

AN_API an_result an_vae_memory(const an_vae_config *c, size_t n_features, size_t *inference_bytes,
                               size_t *training_bytes)
{
    an__vae_layout L;
    size_t co, tr;
    an_result r;
    if (inference_bytes) *inference_bytes = 0;
    if (training_bytes) *training_bytes = 0;
    if ((r = an_vae_check_config(c)) != AN_OK) return r;
    if (n_features < 1 || n_features > AN_LSTM_MAX_FEATURES) return AN_ERR_INVALID_ARG;
    an__vae_plan(c, n_features, &L);
    if (L.n_params == SIZE_MAX) return AN_ERR_TOO_LARGE;
    an__vae_carve(NULL, c, n_features, &L, NULL, NULL, &co, &tr);
    co = an__mul(co, sizeof(float));
    tr = an__mul(tr, sizeof(float));
    if (co == SIZE_MAX || tr == SIZE_MAX || an__add(co, tr) > AN_LSTM_MAX_BYTES) return AN_ERR_TOO_LARGE;
    if (inference_bytes) *inference_bytes = an__add(co, sizeof(an__vae));
    if (training_bytes) *training_bytes = tr;
    return AN_OK;
}

/* The LSTM layers' views of the parameter (and gradient) blocks. */
static void an__vae_bind_lstm(an__vae *m, an_lstm_layer *y, size_t o, size_t I)
{
    size_t H = m->cfg.hidden, hh = o + 4 * H * I, bi = hh + 4 * H * H, bh = bi + 4 * H;
    y->I = I;
    y->H = H;
    y->act = AN_ACT_TANH;
    y->W_ih = m->params + o;
    y->W_hh = m->params + hh;
    y->b_ih = m->params + bi;
    y->b_hh = m->params + bh;
    y->dW_ih = m->grads ? m->grads + o : NULL;
    y->dW_hh = m->grads ? m->grads + hh : NULL;
    y->db_ih = m->grads ? m->grads + bi : NULL;
    y->db_hh = m->grads ? m->grads + bh : NULL;
}

static void an__vae_bind(an__vae *m)
{
    if (m->cfg.arch != AN_VAE_LSTM) return;
    an__vae_bind_lstm(m, &m->enc, m->lay.enc, m->n_features);
    an__vae_bind_lstm(m, &m->dec, m->lay.dec, m->cfg.latent);
}

static void an__vae_prepare(an__vae *m)
{
    if (m->cfg.arch != AN_VAE_LSTM) return;
    an_lstm_layer_prepare(&m->enc, &m->enc_buf);
    an_lstm_layer_prepare(&m->dec, &m->dec_buf);
}

AN_API void an_vae_sync(an_detector *d)
{
    an__vae *m = an__vae_of(d);
    if (m) an__vae_prepare(m);
}

static void an__vae_init_params(an__vae *m)
{
    const an__vae_layout *L = &m->lay;
    size_t H = m->cfg.hidden, Z = m->cfg.latent;
    an_rng rng;
    an_rng_seed(&rng, m->cfg.seed, 1);
    if (m->cfg.arch == AN_VAE_LSTM) an_lstm_layer_init_params(&m->enc, &rng);
    else an_dense_init_params(L->D, H, m->params + L->enc, m->params + L->enc + H * L->D, &rng);
    an_dense_init_params(H, 2 * Z, m->params + L->head_W, m->params + L->head_b, &rng);
    if (m->cfg.arch == AN_VAE_LSTM) an_lstm_layer_init_params(&m->dec, &rng);
    else an_dense_init_params(Z, H, m->params + L->dec, m->params + L->dec + H * Z, &rng);
    an_dense_init_params(H, L->O, m->params + L->out_W, m->params + L->out_b, &rng);
}

/* The scoring draws: a function of the seed alone. */
static void an__vae_draws(an__vae *m)
{
    an_rng rng;
    size_t i;
    an_rng_seed(&rng, m->cfg.seed, 7);
    for (i = 0; i < m->cfg.draws * m->cfg.latent; i++) m->draws[i] = (float)an_rng_normal(&rng);
}

static void an__vae_free(an__vae *m)
{
    an_allocator a = m->alloc;
    if (m->has_scaler) an_scaler_uninit(&m->scaler);
    if (m->train) an_free(&a, m->train, m->train_bytes);
    if (m->core) an_free(&a, m->core, m->core_bytes);
    an_free(&a, m, sizeof *m);
}

static void an__vae_destroy(an_detector *self)
{
    an__vae *m = an__vae_of(self);
    if (m) an__vae_free(m);
}

/* an_vae_create but for the parameters, left zero for the loader, which
   reads them all (as an__model_alloc). */
static an_result an__vae_alloc(const an_vae_config *c, size_t n_features, const an_allocator *a, an_detector **out)
{
    an__vae *m;
    an_allocator alloc;
    size_t co, tr;
    an_result r;
    if (!out) return AN_ERR_INVALID_ARG;
    *out = NULL;
    if ((r = an__allocator_copy(&alloc, a)) != AN_OK) return r;
    if ((r = an_vae_memory(c, n_features, NULL, NULL)) != AN_OK) return r;
    if (!(m = (an__vae *)an_malloc(&alloc, sizeof *m, AN_ALIGN))) return AN_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    m->alloc = alloc;
    m->cfg = *c;
    m->n_features = n_features;
    an__vae_plan(c, n_features, &m->lay);
    an__vae_carve(NULL, c, n_features, &m->lay, NULL, NULL, &co, &tr);
    m->core_bytes = co * sizeof(float);
    if (!(m->core = an_malloc(&alloc, m->core_bytes, AN_ALIGN))) { an__vae_free(m); return AN_ERR_NOMEM; }
    memset(m->core, 0, m->core_bytes);
    an__vae_carve(m, c, n_features, &m->lay, (float *)m->core, NULL, &co, &tr);
    if (c->scaler) {
        if ((r = an_scaler_init(&m->scaler, c->scaler, n_features, &alloc)) != AN_OK) { an__vae_free(m); return r; }
        m->has_scaler = 1;
    }
    an__vae_bind(m);
    an__vae_draws(m);
    m->base.vt = an__vae_vt();
    m->base.n_features = n_features;
    *out = &m->base;
    return AN_OK;
}

AN_API an_result an_vae_create(const an_vae_config *c, size_t n_features, const an_allocator *a, an_detector **out)
{
    an_result r = an__vae_alloc(c, n_features, a, out);
    if (r == AN_OK) {
        an__vae *m = (an__vae *)*out;
        an__vae_init_params(m);
        an__vae_prepare(m);
    }
    return r;
}

static an_result an__vae_train_alloc(an__vae *m)
{
    size_t co, tr;
    if (m->train) return AN_OK;
    an__vae_carve(NULL, &m->cfg, m->n_features, &m->lay, NULL, NULL, &co, &tr);
    m->train_bytes = tr * sizeof(float);
    if (!(m->train = an_malloc(&m->alloc, m->train_bytes, AN_ALIGN))) { m->train_bytes = 0; return AN_ERR_NOMEM; }
    memset(m->train, 0, m->train_bytes);
    an__vae_carve(m, &m->cfg, m->n_features, &m->lay, (float *)m->core, (float *)m->train, &co, &tr);
    an__vae_bind(m);
    return AN_OK;
}

/* y = tanh(y) in place, n entries. */
static void an__tanh_inplace(size_t n, float *y)
{
    size_t i;
    for (i = 0; i < n; i++) y[i] = tanhf(y[i]);
}

/* dy *= 1 - y^2 (tanh's derivative from its output), n entries. */
static void an__tanh_backward(size_t n, const float *y, float *dy)
{
    size_t i;
    for (i = 0; i < n; i++) dy[i] *= 1.0f - y[i] * y[i];
}

AN__INLINE float an__vae_clamp(float v)
{
    return v < -AN_VAE_LOGVAR_MAX ? -AN_VAE_LOGVAR_MAX : (v > AN_VAE_LOGVAR_MAX ? AN_VAE_LOGVAR_MAX : v);
}

/* Encoder and head: m->x (B,T,F) -> m->h1 (B,H) -> m->ml (B,2L). */
static void an__vae_encode(an__vae *m, size_t B)
{
    const an__vae_layout *L = &m->lay;
    size_t H = m->cfg.hidden, T = m->cfg.window, b;
    if (m->cfg.arch == AN_VAE_LSTM) {
        an_lstm_layer_forward(&m->enc, &m->enc_buf, B, T, m->x, 0);
        for (b = 0; b < B; b++) memcpy(m->h1 + b * H, m->enc_buf.h + (b * T + T - 1) * H, H * sizeof(float));
    } else {
        an_dense_forward(B, L->D, H, m->x, m->params + L->enc, m->params + L->enc + H * L->D, m->h1);
        an__tanh_inplace(B * H, m->h1);
    }
    an_dense_forward(B, H, 2 * m->cfg.latent, m->h1, m->params + L->head_W, m->params + L->head_b, m->ml);
}

/* Reparameterisation: z (B,L) = mu + exp(lv / 2) eps. */
static void an__vae_sample_z(an__vae *m, size_t B, const float *eps)
{
    size_t Z = m->cfg.latent, b, l;
    for (b = 0; b < B; b++)
        for (l = 0; l < Z; l++) {
            float lv = an__vae_clamp(m->ml[b * 2 * Z + Z + l]);
            m->z[b * Z + l] = m->ml[b * 2 * Z + l] + expf(0.5f * lv) * eps[b * Z + l];
        }
}

/* Decoder: z (B,L) -> m->y (B,T,F). */
static void an__vae_decode(an__vae *m, const float *z, size_t B)
{
    const an__vae_layout *L = &m->lay;
    size_t H = m->cfg.hidden, T = m->cfg.window, Z = m->cfg.latent;
    if (m->cfg.arch == AN_VAE_LSTM) {
        an_lstm_layer_forward(&m->dec, &m->dec_buf, B, T, z, 1);
        an_dense_forward(B * T, H, L->O, m->dec_buf.h, m->params + L->out_W, m->params + L->out_b, m->y);
    } else {
        an_dense_forward(B, Z, H, z, m->params + L->dec, m->params + L->dec + H * Z, m->h2);
        an__tanh_inplace(B * H, m->h2);
        an_dense_forward(B, H, L->D, m->h2, m->params + L->out_W, m->params + L->out_b, m->y);
    }
}

/* Backward from m->dy (B,T,F) after a forward pass with noise eps (B,L),
   with KL weight kw per window (beta / B; 0: the reconstruction alone):
   the gradient block overwritten, gx (B,T,F) += dLoss/dx through the
   input when not NULL. */
static void an__vae_backward(an__vae *m, size_t B, const float *eps, double kw, float *gx)
{
    const an__vae_layout *L = &m->lay;
    size_t H = m->cfg.hidden, T = m->cfg.window, Z = m->cfg.latent, b, l;
    memset(m->grads, 0, L->n_params * sizeof(float));
    memset(m->dz, 0, B * Z * sizeof(float));
    if (m->cfg.arch == AN_VAE_LSTM) {
        memset(m->dh, 0, B * T * H * sizeof(float));
        an_dense_backward(B * T, H, L->O, m->dec_buf.h, m->params + L->out_W, m->dy, m->grads + L->out_W,
                          m->grads + L->out_b, m->dh);
        an_lstm_layer_backward(&m->dec, &m->dec_buf, B, T, m->z, 1, m->dh, NULL, m->dz);
    } else {
        memset(m->dh, 0, B * H * sizeof(float));
        an_dense_backward(B, H, L->D, m->h2, m->params + L->out_W, m->dy, m->grads + L->out_W,
                          m->grads + L->out_b, m->dh);
        an__tanh_backward(B * H, m->h2, m->dh);
        an_dense_backward(B, Z, H, m->z, m->params + L->dec, m->dh, m->grads + L->dec, m->grads + L->dec + H * Z,
                          m->dz);
    }
    /* through z = mu + exp(lv/2) eps and beta kl:
       dmu = dz + kw mu;  dlv = dz eps exp(lv/2) / 2 + kw (exp(lv) - 1) / 2,
       0 where the clamp is active */
    for (b = 0; b < B; b++)
        for (l = 0; l < Z; l++) {
            size_t k = b * 2 * Z + l;
            float raw = m->ml[k + Z], lv = an__vae_clamp(raw);
            double sd = exp(0.5 * (double)lv);
            m->dml[k] = (float)((double)m->dz[b * Z + l] + kw * m->ml[k]);
            m->dml[k + Z] = lv == raw ? (float)(0.5 * ((double)m->dz[b * Z + l] * eps[b * Z + l] * sd +
                                                       kw * (sd * sd - 1.0)))
                                      : 0.0f;
        }
    memset(m->dh1, 0, B * H * sizeof(float));
    an_dense_backward(B, H, 2 * Z, m->h1, m->params + L->head_W, m->dml, m->grads + L->head_W, m->grads + L->head_b,
                      m->dh1);
    if (m->cfg.arch == AN_VAE_LSTM) {
        an_lstm_layer_backward(&m->enc, &m->enc_buf, B, T, m->x, 0, NULL, m->dh1, gx);
    } else {
        an__tanh_backward(B * H, m->h1, m->dh1);
        an_dense_backward(B, L->D, H, m->x, m->params + L->enc, m->dh1, m->grads + L->enc,
                          m->grads + L->enc + H * L->D, gx);
    }
}

/* Forward and backward on m->x (B,T,F) with noise eps (B,L): the loss,
   the gradient block (overwritten) and, when gx is not NULL, gx (B,T,F)
   = dLoss/dx through input and target. */
static an_result an__vae_backprop(an__vae *m, size_t B, const float *eps, double beta, an_vae_loss *out, float *gx)
{
    size_t Z = m->cfg.latent, n = B * m->lay.D, i, b, l;
    double rec = 0.0, kl = 0.0, scale = 2.0 / (double)n, kw = beta / (double)B;
    an__vae_encode(m, B);
    an__vae_sample_z(m, B, eps);
    an__vae_decode(m, m->z, B);
    for (i = 0; i < n; i++) {   /* recon = mean (y - x)^2; dy = 2 (y - x) / n */
        double d = (double)m->y[i] - m->x[i];
        rec += d * d;
        m->dy[i] = (float)(scale * d);
    }
    rec /= (double)n;
    for (b = 0; b < B; b++)   /* kl: -1/2 (1 + lv - mu^2 - exp(lv)) */
        for (l = 0; l < Z; l++) {
            double mu = m->ml[b * 2 * Z + l], lv = an__vae_clamp(m->ml[b * 2 * Z + Z + l]);
            kl += -0.5 * (1.0 + lv - mu * mu - exp(lv));
        }
    kl /= (double)B;
    out->recon = rec;
    out->kl = kl;
    out->loss = rec + beta * kl;
    if (!an__finite(out->loss)) return AN_ERR_NUMERIC;
    if (gx)
        for (i = 0; i < n; i++) gx[i] = -m->dy[i];   /* x as the target */
    an__vae_backward(m, B, eps, kw, gx);
    return AN_OK;
}

static an_result an__vae_check_call(an__vae *m, const void *x, size_t B)
{
    if (!m || !x || B == 0) return AN_ERR_INVALID_ARG;
    return B > m->cfg.batch ? AN_ERR_SHAPE : AN_OK;
}

AN_API an_result an_vae_loss_grad_eps(an_detector *d, const float *x, size_t B, const float *eps, double beta,
                                      an_vae_loss *loss, float *grad_x)
{
    an__vae *m = an__vae_of(d);
    an_vae_loss tmp;
    an_result r;
    if ((r = an__vae_check_call(m, x, B)) != AN_OK) return r;
    if (!eps || !loss || !(beta >= 0.0 && beta <= 1e6)) return AN_ERR_INVALID_ARG;
    memset(loss, 0, sizeof *loss);
    if (!an__all_finite(x, B * m->lay.D) || !an__all_finite(eps, B * m->cfg.latent)) return AN_ERR_INPUT;
    if ((r = an__vae_train_alloc(m)) != AN_OK) return r;
    memcpy(m->x, x, B * m->lay.D * sizeof(float));
    if ((r = an__vae_backprop(m, B, eps, beta, &tmp, grad_x ? m->gx : NULL)) != AN_OK) return r;
    if (grad_x) memcpy(grad_x, m->gx, B * m->lay.D * sizeof(float));
    *loss = tmp;
    return AN_OK;
}

static void an__vae_noise(an_rng *rng, float *eps, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) eps[i] = (float)an_rng_normal(rng);
}

AN_API an_result an_vae_loss_grad(an_detector *d, const float *x, size_t B, an_rng *rng, double beta,
                                  an_vae_loss *loss, float *grad_x)
{
    an__vae *m = an__vae_of(d);
    an_result r;
    if ((r = an__vae_check_call(m, x, B)) != AN_OK) return r;
    if (!rng) return AN_ERR_INVALID_ARG;
    an__vae_noise(rng, m->eps, B * m->cfg.latent);
    return an_vae_loss_grad_eps(d, x, B, m->eps, beta, loss, grad_x);
}

AN_API an_result an_vae_encode(an_detector *d, const float *x, size_t B, float *mu, float *logvar)
{
    an__vae *m = an__vae_of(d);
    size_t Z, b, l;
    an_result r;
    if ((r = an__vae_check_call(m, x, B)) != AN_OK) return r;
    if (!mu || !logvar) return AN_ERR_INVALID_ARG;
    if (!an__all_finite(x, B * m->lay.D)) return AN_ERR_INPUT;
    Z = m->cfg.latent;
    memcpy(m->x, x, B * m->lay.D * sizeof(float));
    an__vae_encode(m, B);
    if (!an__all_finite(m->ml, B * 2 * Z)) return AN_ERR_NUMERIC;
    for (b = 0; b < B; b++)
        for (l = 0; l < Z; l++) {
            mu[b * Z + l] = m->ml[b * 2 * Z + l];
            logvar[b * Z + l] = an__vae_clamp(m->ml[b * 2 * Z + Z + l]);
        }
    return AN_OK;
}

AN_API an_result an_vae_decode(an_detector *d, const float *z, size_t B, float *out)
{
    an__vae *m = an__vae_of(d);
    an_result r;
    if ((r = an__vae_check_call(m, z, B)) != AN_OK) return r;
    if (!out) return AN_ERR_INVALID_ARG;
    if (!an__all_finite(z, B * m->cfg.latent)) return AN_ERR_INPUT;
    memcpy(m->z, z, B * m->cfg.latent * sizeof(float));
    an__vae_decode(m, m->z, B);
    if (!an__all_finite(m->y, B * m->lay.D)) return AN_ERR_NUMERIC;
    memcpy(out, m->y, B * m->lay.D * sizeof(float));
    return AN_OK;
}

AN_API an_result an_vae_param_view(an_detector *d, const char *name, float **data, size_t *count)
{
    static const char *const lstm_names[] = { "W_ih", "W_hh", "b_ih", "b_hh" };
    an__vae *m = an__vae_of(d);
    const an__vae_layout *L;
    float *base;
    size_t H, Z, F, off = 0, n = 0, k;
    const char *dot;
    an_result r;
    if (!m || !name || !data || !count) return AN_ERR_INVALID_ARG;
    *data = NULL;
    *count = 0;
    L = &m->lay;
    H = m->cfg.hidden;
    Z = m->cfg.latent;
    F = m->n_features;
    base = m->params;
    if (strncmp(name, "grad", 4) == 0 && (name[4] == '.' || name[4] == 's')) {
        if ((r = an__vae_train_alloc(m)) != AN_OK) return r;
        base = m->grads;
        if (name[4] == 's') name += 4; /* "grads" -> "s", the whole block below */
        else name += 5;
    }
    if (strcmp(name, "params") == 0 || strcmp(name, "s") == 0) {
        *data = base;
        *count = L->n_params;
        return AN_OK;
    }
    dot = strchr(name, '.');
    if (!dot) return AN_ERR_INVALID_ARG;
    if (m->cfg.arch == AN_VAE_LSTM && (strncmp(name, "encoder.", 8) == 0 || strncmp(name, "decoder.", 8) == 0)) {
        size_t I = name[0] == 'e' ? F : Z, sizes[4];
        off = name[0] == 'e' ? L->enc : L->dec;
        sizes[0] = 4 * H * I;
        sizes[1] = 4 * H * H;
        sizes[2] = sizes[3] = 4 * H;
        for (k = 0; k < 4 && strcmp(dot + 1, lstm_names[k]) != 0; k++) off += sizes[k];
        if (k == 4) return AN_ERR_INVALID_ARG;
        n = sizes[k];
    } else {
        size_t rows, cols, w;   /* a dense layer's W (rows,cols) then b (rows) */
        if (strncmp(name, "encoder.", 8) == 0 && m->cfg.arch == AN_VAE_DENSE) { w = L->enc; rows = H; cols = L->D; }
        else if (strncmp(name, "decoder.", 8) == 0 && m->cfg.arch == AN_VAE_DENSE) { w = L->dec; rows = H; cols = Z; }
        else if (strncmp(name, "head.", 5) == 0) { w = L->head_W; rows = 2 * Z; cols = H; }
        else if (strncmp(name, "output.", 7) == 0) { w = L->out_W; rows = L->O; cols = H; }
        else return AN_ERR_INVALID_ARG;
        if (strcmp(dot + 1, "W") == 0) { off = w; n = rows * cols; }
        else if (strcmp(dot + 1, "b") == 0) { off = w + rows * cols; n = rows; }
        else return AN_ERR_INVALID_ARG;
    }
    *data = base + off;
    *count = n;
    return AN_OK;
}

/* w (T,F) minus its per-channel mean over the T rows; level (F), if not
   NULL, receives the means.  The same projection maps a gradient with
   respect to the centred window to one with respect to the window. */
static void an__centre_window(float *w, size_t T, size_t F, float *level)
{
    size_t t, f;
    for (f = 0; f < F; f++) {
        double sum = 0.0;
        float mean;
        for (t = 0; t < T; t++) sum += w[t * F + f];
        mean = (float)(sum / (double)T);
        for (t = 0; t < T; t++) w[t * F + f] -= mean;
        if (level) level[f] = mean;
    }
}

/* Window b of m->x from row `row` of the scaled series xs, centred when
   the model centres. */
static void an__vae_load_window(an__vae *m, size_t b, const float *xs, size_t row)
{
    size_t D = m->lay.D, F = m->n_features;
    memcpy(m->x + b * D, xs + row * F, D * sizeof(float));
    if (m->cfg.centre) an__centre_window(m->x + b * D, m->cfg.window, F, NULL);
}

/* Mean loss over windows first .. first + n - 1 (window i starts at row
   i stride of xs), at beta, with the same noise at every call. */
static an_result an__vae_eval(an__vae *m, const float *xs, size_t first, size_t n, size_t stride, double beta,
                              double *mean)
{
    size_t done = 0, b;
    double sum = 0.0;
    an_rng rng;
    an_rng_seed(&rng, m->cfg.seed, 5);
    while (done < n) {
        size_t bs = n - done < m->cfg.batch ? n - done : m->cfg.batch;
        an_vae_loss l;
        for (b = 0; b < bs; b++) an__vae_load_window(m, b, xs, (first + done + b) * stride);
        an__vae_noise(&rng, m->eps, bs * m->cfg.latent);
        if (an__vae_backprop(m, bs, m->eps, beta, &l, NULL) != AN_OK) return AN_ERR_NUMERIC;
        sum += l.loss * (double)bs;
        done += bs;
    }
    *mean = sum / (double)n;
    return AN_OK;
}

/* The training loop on the scaled series xs (n_rows, F); the LSTM
   autoencoder's (an__lae_train), with beta's warm-up. */
static an_result an__vae_train(an__vae *m, const float *xs, size_t n_rows, size_t *order, an_rng *rng,
                               const an_lstm_train_config *t)
{
    const an_vae_config *c = &m->cfg;
    size_t T = c->window, stride = t->stride, nw, n_val, n_train;
    size_t i, b, epoch, np = m->lay.n_params;
    an__epochs ep;
    an_result r = AN_OK;
    if ((n_train = an__train_split(n_rows, T, stride, t->val_fraction, &nw, &n_val)) == 0) return AN_ERR_TOO_SHORT;
    if ((r = an_adam_init_preallocated(&m->adam, &t->adam, np, m->adam_heap)) != AN_OK) return r;
    for (i = 0; i < n_train; i++) order[i] = i;
    memcpy(m->best, m->params, np * sizeof(float));
    ep.best = HUGE_VAL;
    ep.wait = 0;
    ep.t0 = clock();
    for (epoch = 0; epoch < t->epochs; epoch++) {
        an_lstm_progress p;
        double sum = 0.0, beta = c->beta;
        size_t done = 0;
        int warming = c->warmup && epoch + 1 < c->warmup, stop;
        if (c->warmup && epoch + 1 < c->warmup) beta = c->beta * (double)(epoch + 1) / (double)c->warmup;
        an_rng_shuffle(rng, order, n_train);
        while (done < n_train) {
            size_t bs = n_train - done < c->batch ? n_train - done : c->batch;
            an_vae_loss l;
            for (b = 0; b < bs; b++) an__vae_load_window(m, b, xs, order[done + b] * stride);
            an__vae_noise(&m->noise, m->eps, bs * c->latent);
            if ((r = an__vae_backprop(m, bs, m->eps, beta, &l, NULL)) != AN_OK) goto out;
            if ((r = an_adam_step(&m->adam, m->params, m->grads, NULL)) != AN_OK) goto out;
            an__vae_prepare(m);
            sum += l.loss * (double)bs;
            done += bs;
        }
        memset(&p, 0, sizeof p);
        p.epoch = epoch + 1;
        p.epochs = t->epochs;
        p.loss = sum / (double)n_train;
        p.val_loss = HUGE_VAL - HUGE_VAL;   /* NaN: no validation */
        if (n_val && (r = an__vae_eval(m, xs, nw - n_val, n_val, stride, c->beta, &p.val_loss)) != AN_OK) goto out;
        /* warming: another loss; keep the latest weights, compare from the end of warm-up */
        if ((r = an__epoch_end(&ep, t, &p, n_val != 0, warming, m->params, m->best, np, &m->epochs_run, &stop)) !=
                AN_OK || stop)
            break;
    }
out:
    memcpy(m->params, m->best, np * sizeof(float));
    an__vae_prepare(m);
    m->best_loss = ep.best;
    m->train_rows = n_rows;
    return r;
}

static void an__vae_stream_reset(an__vae *m)
{
    m->n_seen = m->ring_pos = 0;
    m->has_exp = 0;
}

AN_API an_result an_vae_fit(an_detector *d, const float *x, size_t n_rows, const an_lstm_train_config *t)
{
    an__vae *m = an__vae_of(d);
    size_t F, n, nw, off, bytes;
    unsigned char *scratch;
    float *xs;
    size_t *order;
    an_rng rng;
    an_result r = AN_OK;
    if (!m || !x) return AN_ERR_INVALID_ARG;
    if (!t) t = &m->cfg.train;
    if ((r = an_lstm_check_train_config(t)) != AN_OK) return r;
    F = m->n_features;
    n = an__mul(n_rows, F);
    if (n == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!an__all_finite(x, n)) return AN_ERR_INPUT;
    if (n_rows < m->cfg.window) return AN_ERR_TOO_SHORT;
    m->base.fitted = 0;
    an__vae_stream_reset(m);
    if ((r = an__vae_train_alloc(m)) != AN_OK) return r;
    nw = (n_rows - m->cfg.window) / t->stride + 1;
    off = an__round_up(an__mul(n, sizeof(float)), sizeof(size_t));
    bytes = an__add(off, an__mul(nw, sizeof(size_t)));
    if (bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(scratch = (unsigned char *)an_malloc(&m->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    xs = (float *)scratch;
    order = (size_t *)(scratch + off);
    if (m->has_scaler && (r = an_scaler_fit(&m->scaler, x, n_rows, &m->alloc)) == AN_OK)
        r = an_scaler_transform(&m->scaler, x, n_rows, xs);
    else if (!m->has_scaler)
        memcpy(xs, x, n * sizeof(float));
    if (r == AN_OK) {
        an__vae_init_params(m);
        an__vae_prepare(m);
        m->epochs_run = 0;
        an_rng_seed(&rng, m->cfg.seed, 2);
        an_rng_seed(&m->noise, m->cfg.seed, 4);
        r = an__vae_train(m, xs, n_rows, order, &rng, t);
    }
    an_free(&m->alloc, scratch, bytes);
    m->base.fitted = r == AN_OK;
    return r;
}

#ifndef ANOMALY_NO_TRAINING
static an_result an__vae_fit(an_detector *self, const float *x, size_t n_rows)
{
    return an_vae_fit(self, x, n_rows, NULL);
}
#endif

/* Scores of bs <= batch windows of raw rows (window b at raw + b step):
   out[b] = the mean over the draws of the last row's squared error (mean
   over features, scaled units), or its root.  Score and push both come here; with exp
   (F) not NULL (bs = 1), exp = the mean over the draws of the last row's
   reconstruction, scaled, with the window's level added back. */
static an_result an__vae_score_batch(an__vae *m, const float *raw, size_t step, size_t bs, float *out, float *exp)
{
    size_t T = m->cfg.window, F = m->n_features, D = m->lay.D, Z = m->cfg.latent, S = m->cfg.draws, b, s;
    an_result r;
    for (b = 0; b < bs; b++) {
        if (m->has_scaler) {
            if ((r = an_scaler_transform(&m->scaler, raw + b * step, T, m->x + b * D)) != AN_OK) return r;
        } else {
            memcpy(m->x + b * D, raw + b * step, D * sizeof(float));
        }
        if (m->cfg.centre) an__centre_window(m->x + b * D, T, F, exp ? m->level : NULL);
        out[b] = 0.0f;
    }
    if (exp) memset(exp, 0, F * sizeof(float));
    an__vae_encode(m, bs);
    for (s = 0; s < S; s++) {
        for (b = 0; b < bs; b++) memcpy(m->eps + b * Z, m->draws + s * Z, Z * sizeof(float));
        an__vae_sample_z(m, bs, m->eps);
        an__vae_decode(m, m->z, bs);
        if (!an__all_finite(m->y, bs * D)) return AN_ERR_NUMERIC;
        for (b = 0; b < bs; b++)
            out[b] += an__row_err(AN_LOSS_MSE, AN_AGG_MEAN, m->y + b * D + (T - 1) * F, m->x + b * D + (T - 1) * F, NULL, F);
        if (exp)
            for (b = 0; b < F; b++) exp[b] += m->y[(T - 1) * F + b];
    }
    for (b = 0; b < bs; b++) out[b] = m->cfg.root ? sqrtf(out[b] / (float)S) : out[b] / (float)S;
    if (exp)
        for (b = 0; b < F; b++) exp[b] = exp[b] / (float)S + (m->cfg.centre ? m->level[b] : 0.0f);
    return AN_OK;
}

static an_result an__vae_score(an_detector *self, const float *x, size_t n_rows, float *scores)
{
    an__vae *m = an__vae_of(self);
    size_t T, F, nw, w0;
    an_result r;
    if (!m) return AN_ERR_INVALID_ARG;
    T = m->cfg.window;
    F = m->n_features;
    if (n_rows < T) return AN_ERR_TOO_SHORT;
    memset(scores, 0, n_rows * sizeof(float));
    nw = n_rows - T + 1;
    for (w0 = 0; w0 < nw; w0 += m->cfg.batch) {
        size_t bs = nw - w0 < m->cfg.batch ? nw - w0 : m->cfg.batch;
        if ((r = an__vae_score_batch(m, x + w0 * F, F, bs, scores + w0 + T - 1, NULL)) != AN_OK) return r;
    }
    return AN_OK;
}

static an_result an__vae_push(an_detector *self, const float *row, float *score)
{
    an__vae *m = an__vae_of(self);
    size_t T, F, k;
    an_result r;
    if (!m) return AN_ERR_INVALID_ARG;
    *score = 0.0f;
    T = m->cfg.window;
    F = m->n_features;
    memcpy(m->ring + m->ring_pos * F, row, F * sizeof(float));
    m->ring_pos = (m->ring_pos + 1) % T;
    if (m->n_seen < T) m->n_seen++;
    if (m->n_seen < T) return AN_OK;
    /* oldest row first, assembled in y's memory (free until decoding) */
    for (k = 0; k < T; k++) memcpy(m->y + k * F, m->ring + ((m->ring_pos + k) % T) * F, F * sizeof(float));
    m->has_exp = 0;
    if ((r = an__vae_score_batch(m, m->y, 0, 1, score, m->st_exp)) != AN_OK) return r;
    if (m->has_scaler && (r = an_scaler_inverse(&m->scaler, m->st_exp, 1, m->st_exp)) != AN_OK) return r;
    m->has_exp = 1;
    return AN_OK;
}

/* The contract's expectation: the mean reconstruction, over the draws, of
   the row last pushed as the last row of its window (NaN before the
   first full window). */
static an_result an__vae_expected(an_detector *self, double *expected)
{
    an__vae *m = an__vae_of(self);
    size_t f;
    if (!m) return AN_ERR_INVALID_ARG;
    for (f = 0; f < m->n_features; f++) expected[f] = m->has_exp ? (double)m->st_exp[f] : (double)NAN;
    return AN_OK;
}

static an_result an__vae_reset(an_detector *self)
{
    an__vae *m = an__vae_of(self);
    if (!m) return AN_ERR_INVALID_ARG;
    an__vae_stream_reset(m);
    return AN_OK;
}

#ifndef ANOMALY_NO_TRAINING
/* d score[t] / d x: the window ending at t, every draw, through the
   network, the target (row t), the centring and the scaler. */
static an_result an__vae_gradient(an_detector *self, const float *x, size_t n_rows, size_t t, float *grad)
{
    an__vae *m = an__vae_of(self);
    size_t T, F, D, Z, S, s, k, f, w;
    float mse = 0.0f;
    an_result r;
    if (!m) return AN_ERR_INVALID_ARG;
    T = m->cfg.window;
    F = m->n_features;
    D = m->lay.D;
    Z = m->cfg.latent;
    S = m->cfg.draws;
    if (an__mul(n_rows, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!an__all_finite(x, n_rows * F)) return AN_ERR_INPUT;
    if (n_rows < T) return AN_ERR_TOO_SHORT;
    if ((r = an__vae_train_alloc(m)) != AN_OK) return r;
    memset(grad, 0, n_rows * F * sizeof(float));
    if (t + 1 < T) return AN_OK;   /* rows before the first full window score 0 */
    w = t + 1 - T;
    if (m->has_scaler) {
        if ((r = an_scaler_transform(&m->scaler, x + w * F, T, m->x)) != AN_OK) return r;
    } else {
        memcpy(m->x, x + w * F, D * sizeof(float));
    }
    if (m->cfg.centre) an__centre_window(m->x, T, F, NULL);
    an__vae_encode(m, 1);
    memset(m->gx, 0, D * sizeof(float));
    memset(m->dy, 0, D * sizeof(float));
    for (s = 0; s < S; s++) {
        const float *y = m->y + (T - 1) * F, *xt = m->x + (T - 1) * F;
        an__vae_sample_z(m, 1, m->draws + s * Z);
        an__vae_decode(m, m->z, 1);
        if (!an__all_finite(m->y, D)) return AN_ERR_NUMERIC;
        mse += an__row_err(AN_LOSS_MSE, AN_AGG_MEAN, y, xt, NULL, F);
        for (f = 0; f < F; f++) {   /* d/dy of (1/S)(1/F) sum (y - x)^2, last row */
            float g = (float)(2.0 * ((double)y[f] - xt[f]) / ((double)F * (double)S));
            m->dy[(T - 1) * F + f] = g;
            m->gx[(T - 1) * F + f] -= g;   /* row t as the target */
        }
        an__vae_backward(m, 1, m->draws + s * Z, 0.0, m->gx);
    }
    if (m->cfg.root) {   /* d sqrt(e) = de / (2 sqrt(e)); 0 where the error is 0 */
        float root = sqrtf(mse / (float)S), k2 = root > 0.0f ? 0.5f / root : 0.0f;
        for (k = 0; k < D; k++) m->gx[k] *= k2;
    }
    if (m->cfg.centre) an__centre_window(m->gx, T, F, NULL);
    for (k = 0; k < T; k++)
        for (f = 0; f < F; f++) {
            float g = m->gx[k * F + f];
            grad[(w + k) * F + f] = m->has_scaler ? (float)(g / m->scaler.scale[f]) : g;
        }
    return AN_OK;
}
#endif

AN_API an_result an_vae_sample(an_detector *d, an_rng *rng, size_t n, float *windows)
{
    an__vae *m = an__vae_of(d);
    size_t Z, D, T, done = 0, i;
    an_result r;
    if (!m || !rng || !windows || n == 0) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    Z = m->cfg.latent;
    D = m->lay.D;
    T = m->cfg.window;
    while (done < n) {
        size_t bs = n - done < m->cfg.batch ? n - done : m->cfg.batch;
        for (i = 0; i < bs * Z; i++) m->z[i] = (float)an_rng_normal(rng);
        an__vae_decode(m, m->z, bs);
        if (!an__all_finite(m->y, bs * D)) return AN_ERR_NUMERIC;
        if (m->has_scaler) {
            if ((r = an_scaler_inverse(&m->scaler, m->y, bs * T, windows + done * D)) != AN_OK) return r;
        } else {
            memcpy(windows + done * D, m->y, bs * D * sizeof(float));
        }
        done += bs;
    }
    return AN_OK;
}

AN_API an_result an_vae_augment(an_detector *d, const float *x, size_t n_rows, double fraction, uint64_t seed,
                                float *out, size_t capacity_rows, size_t *out_rows)
{
    an__vae *m = an__vae_of(d);
    size_t T, F, k, rows, whole;
    an_rng rng;
    if (!m || !x || !out_rows || !(fraction >= 0.0 && fraction <= 10.0)) return AN_ERR_INVALID_ARG;
    *out_rows = 0;
    T = m->cfg.window;
    F = m->n_features;
    whole = n_rows / T;                                  /* the series' whole windows */
    k = (size_t)(fraction * (double)whole + 0.5);
    rows = an__add(n_rows, an__mul(k, T));
    if (rows == SIZE_MAX || an__mul(rows, F) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    *out_rows = rows;
    if (capacity_rows < rows) return AN_ERR_SHAPE;
    if (!out) return AN_ERR_INVALID_ARG;
    if (!d->fitted) return AN_ERR_NOT_FITTED;
    memcpy(out, x, n_rows * F * sizeof(float));
    if (k == 0) return AN_OK;
    an_rng_seed(&rng, seed, 8);
    return an_vae_sample(d, &rng, k, out + n_rows * F);
}

AN_API an_window_inject_config an_window_inject_config_init(size_t window)
{
    an_window_inject_config c;
    memset(&c, 0, sizeof c);
    c.window = window;
    c.n_windows = 256;
    c.anomalous = 0.5;
    c.inject = an_inject_config_init();
    c.inject.kinds = AN_INJECT_COMMON & ~AN_INJECT_BIT(AN_INJECT_PHASE);
    c.inject.separation = window / 2;
    c.inject.max_len = window - window / 2;
    c.inject.min_len = c.inject.max_len < 12 ? c.inject.max_len : 12;
    return c;
}

AN_API an_result an_inject_windows(an_detector *vae, const float *x, size_t n_rows, size_t n_features,
                                   const an_window_inject_config *cfg, const an_allocator *a, float *windows,
                                   float *labels, unsigned char *mask, an_inject_event *events, size_t capacity,
                                   size_t *n_events)
{
    size_t T, F = n_features, TF, n, k, cpe, needed, w, g, e, planned = 0;
    an_inject_config plan;
    an_rng rng;
    double *scale;
    an_result r;
    if (n_events) *n_events = 0;
    if (!x || !cfg || !windows || !labels || !n_events || (capacity && !events) || F == 0) return AN_ERR_INVALID_ARG;
    T = cfg->window;
    n = cfg->n_windows;
    plan = cfg->inject;
    cpe = plan.channels_per_event;
    if (T == 0 || n == 0 || !(cfg->anomalous >= 0.0 && cfg->anomalous <= 1.0) || cpe == 0) return AN_ERR_INVALID_ARG;
    if (vae && !an__vae_of(vae)) return AN_ERR_INVALID_ARG;
    if ((TF = an__mul(T, F)) == SIZE_MAX || an__mul(n, TF) == SIZE_MAX || an__mul(n_rows, F) == SIZE_MAX)
        return AN_ERR_TOO_LARGE;
    if (vae && (((an__vae *)vae)->cfg.window != T || ((an__vae *)vae)->n_features != F)) return AN_ERR_SHAPE;
    if (n_rows < T) return AN_ERR_TOO_SHORT;
    k = (size_t)(cfg->anomalous * (double)n + 0.5);
    if ((needed = an__mul(k, cpe)) == SIZE_MAX || an__mul(k, T) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    *n_events = needed;
    if (events && needed > capacity) return AN_ERR_SHAPE;
    *n_events = 0;
    /* The plan over the k anomalous windows laid end to end: slot g is
       the g-th of them, exactly T rows. */
    plan.count = k;
    plan.first_row = 0;
    if ((plan.kinds & AN_INJECT_BIT(AN_INJECT_PHASE)) && plan.separation < plan.period / 4)
        plan.separation = plan.period / 4;
    if (plan.max_len > T) plan.max_len = T;
    if (plan.min_len > plan.max_len) return AN_ERR_TOO_SHORT;
    if (!(scale = (double *)an_malloc(a, F * sizeof(double), AN_ALIGN))) return AN_ERR_NOMEM;
    if ((r = an_inject_scale(x, n_rows, F, a, scale)) != AN_OK) goto out;
    {   /* plan into the caller's array, or a scratch one */
        an_inject_event *ev = events;
        size_t bytes = an__mul(needed ? needed : 1, sizeof(an_inject_event)), seen = 0;
        if (!ev && !(ev = (an_inject_event *)an_malloc(a, bytes, AN_ALIGN))) { r = AN_ERR_NOMEM; goto out; }
        r = k ? an_inject_plan(k * T, F, &plan, ev, needed, &planned) : AN_OK;
        if (r == AN_OK) {   /* base windows: a VAE's, or the series' */
            an_rng_seed(&rng, plan.seed, 10);
            if (vae) {
                r = an_vae_sample(vae, &rng, n, windows);
            } else {
                for (w = 0; w < n; w++)
                    memcpy(windows + w * TF, x + (size_t)an_rng_below(&rng, (uint64_t)(n_rows - T) + 1) * F,
                           TF * sizeof(float));
            }
        }
        if (r == AN_OK && mask) memset(mask, 0, n * TF);
        /* Window w gets slot g's events (selection sampling: k of n). */
        an_rng_seed(&rng, plan.seed, 11);
        for (w = 0, g = 0, e = 0; r == AN_OK && w < n; w++) {
            size_t first = e;
            uint64_t noise;
            labels[w] = 0.0f;
            if ((double)(n - w) * an_rng_uniform(&rng) >= (double)(k - seen)) continue;
            seen++;
            labels[w] = 1.0f;
            while (e < planned && ev[e].group == g) {   /* to the window's own rows */
                ev[e].start -= g * T;
                ev[e].end -= g * T;
                ev[e].scale = scale[ev[e].channel];
                e++;
            }
            noise = an_rng_u32(&rng);   /* the window's variance noise */
            noise |= (uint64_t)an_rng_u32(&rng) << 32;
            r = an_inject_apply(windows + w * TF, T, F, ev + first, e - first, plan.period, noise, NULL, NULL);
            for (; first < e; first++) {   /* the mask, and the events where the caller sees them */
                size_t t;
                if (mask)
                    for (t = ev[first].start; t <= ev[first].end; t++) mask[(w * T + t) * F + ev[first].channel] = 1;
                ev[first].start += w * T;
                ev[first].end += w * T;
                ev[first].group = w;
            }
            g++;
        }
        if (!events) an_free(a, ev, bytes);
        if (r == AN_OK) *n_events = events ? planned : 0;
    }
out:
    an_free(a, scale, F * sizeof(double));
    return r;
}

AN_API an_result an_lstm_classifier_train_injected(an_detector *classifier, an_detector *vae, const float *x,
                                                   size_t n_rows, const an_window_inject_config *cfg,
                                                   const an_lstm_train_config *t)
{
    an__lae *m = an__lae_of(classifier);
    size_t n, TF, K, bytes, lab_off, ev_off, cap, n_ev = 0, i;
    unsigned char *scratch;
    float *win, *lab;
    an_inject_event *ev;
    an_result r;
    if (!m || !x || !cfg) return AN_ERR_INVALID_ARG;
    if (!m->lay.classifier) return AN_ERR_UNSUPPORTED;
    if (t && an_lstm_check_train_config(t) != AN_OK) return AN_ERR_INVALID_ARG;
    if (cfg->inject.kinds & AN_INJECT_BIT(AN_INJECT_GAP)) return AN_ERR_INVALID_ARG;
    K = m->lay.out_dim;
    if (cfg->window != m->cfg.window || (K != 1 && K != AN_INJECT_KINDS)) return AN_ERR_SHAPE;
    n = cfg->n_windows;
    TF = an__mul(m->cfg.window, m->n_features);
    cap = an__mul(n, cfg->inject.channels_per_event);
    lab_off = an__round_up(an__mul(an__mul(n, TF), sizeof(float)), AN_ALIGN);
    ev_off = an__round_up(an__add(lab_off, an__mul(an__mul(n, K), sizeof(float))), AN_ALIGN);
    bytes = an__add(ev_off, an__mul(cap, sizeof(an_inject_event)));
    if (TF == SIZE_MAX || cap == SIZE_MAX || bytes == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (!(scratch = (unsigned char *)an_malloc(&m->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    win = (float *)scratch;
    lab = (float *)(scratch + lab_off);
    ev = (an_inject_event *)(scratch + ev_off);
    r = an_inject_windows(vae, x, n_rows, m->n_features, cfg, &m->alloc, win, lab, NULL, ev, cap, &n_ev);
    if (r == AN_OK && K > 1) {   /* class k: an anomaly of kind k in the window */
        memset(lab, 0, n * K * sizeof(float));
        for (i = 0; i < n_ev; i++) lab[ev[i].group * K + (size_t)ev[i].kind] = 1.0f;   /* group: the window */
    }
    if (r == AN_OK) r = an_lstm_classifier_train(classifier, win, lab, n, t);
    an_free(&m->alloc, scratch, bytes);
    return r;
}

AN_API an_result an_lstm_fit_augmented(an_detector *d, const float *x, size_t n_rows, an_detector *vae,
                                       double fraction, uint64_t seed, const an_lstm_train_config *t)
{
    an__lae *m = an__lae_of(d);
    an__vae *v = an__vae_of(vae);
    an_lstm_train_config run;
    size_t T, F, nw, n_val, n_train, k, bytes;
    float *extra = NULL;
    an_rng rng;
    an_result r;
    if (!m || !x || n_rows == 0 || !v || !(fraction >= 0.0 && fraction <= 10.0)) return AN_ERR_INVALID_ARG;
    if (m->lay.classifier || m->lay.head || m->lean) return AN_ERR_UNSUPPORTED;
    run = t ? *t : m->cfg.train;
    if (an_lstm_check_train_config(&run) != AN_OK) return AN_ERR_INVALID_ARG;
    T = m->cfg.window;
    F = m->n_features;
    if (v->cfg.window != T || v->n_features != F) return AN_ERR_SHAPE;
    if (!vae->fitted) return AN_ERR_NOT_FITTED;
    if (n_rows < T) return AN_ERR_TOO_SHORT;
    n_train = an__train_split(n_rows, T, run.stride, run.val_fraction, &nw, &n_val);   /* the real ones */
    k = (size_t)(fraction * (double)n_train + 0.5);
    if ((bytes = an__mul(an__mul(an__mul(k, T), F), sizeof(float))) == SIZE_MAX) return AN_ERR_TOO_LARGE;
    if (k && !(extra = (float *)an_malloc(&m->alloc, bytes, AN_ALIGN))) return AN_ERR_NOMEM;
    an_rng_seed(&rng, seed, 9);
    r = k ? an_vae_sample(vae, &rng, k, extra) : AN_OK;
    if (r == AN_OK) {
        d->fitted = 0;
        an__lae_stream_reset(m);
        r = an__lae_run(m, x, n_rows, 1, &run, extra, k);
        d->fitted = r == AN_OK;
    }
    if (extra) an_free(&m->alloc, extra, bytes);
    return r;
}

/* Model file chunks inside the detector's 'DETC' chunk:
     'VAEC'  configuration: u32 format 1, then u64 window, n_features,
             arch, hidden, latent, warmup, draws, scaler, batch, seed,
             train.epochs, train.stride, train.patience; f64 beta,
             train.val_fraction, train.min_delta, and train.adam's lr,
             beta1, beta2, eps, weight_decay, clip_norm.  Format 2 (a
             centring model; others still write 1, readable by older
             code) appends u64 centre; format 3 (a model scoring the
             root, `root` 1) appends u64 centre (0 or 1), then u64 root
     'SCAL'  the scaler (when there is one)
     'VAEP'  u64 parameter count, then the parameters as f32
     'VAER'  training record: u64 epochs run, training rows; f64 best loss
     'VAES'  the stream: u64 rows seen (<= T), ring position (< T), f32
             ring (T,F) (absent: an empty stream)
   The scoring draws are not saved: they are a function of the seed. */
#define AN__TAG_VAE_CONFIG AN_TAG('V', 'A', 'E', 'C')
#define AN__TAG_VAE_PARAMS AN_TAG('V', 'A', 'E', 'P')
#define AN__TAG_VAE_RECORD AN_TAG('V', 'A', 'E', 'R')
#define AN__TAG_VAE_STREAM AN_TAG('V', 'A', 'E', 'S')

#ifndef ANOMALY_NO_TRAINING
static an_result an__vae_save(const an_detector *self, an_writer *w)
{
    const an__vae *m = an__vae_of((an_detector *)self);
    const an_vae_config *c;
    if (!m) return AN_ERR_INVALID_ARG;
    c = &m->cfg;
    an_write_begin(w, AN__TAG_VAE_CONFIG);
    an_write_u32(w, c->root ? 3 : c->centre ? 2 : 1);
    an_write_u64(w, c->window);
    an_write_u64(w, m->n_features);
    an_write_u64(w, (uint64_t)c->arch);
    an_write_u64(w, c->hidden);
    an_write_u64(w, c->latent);
    an_write_u64(w, c->warmup);
    an_write_u64(w, c->draws);
    an_write_u64(w, (uint64_t)c->scaler);
    an_write_u64(w, c->batch);
    an_write_u64(w, c->seed);
    an_write_u64(w, c->train.epochs);
    an_write_u64(w, c->train.stride);
    an_write_u64(w, c->train.patience);
    an_write_f64(w, c->beta);
    an__write_train_reals(w, &c->train);
    if (c->root) {
        an_write_u64(w, (uint64_t)c->centre);
        an_write_u64(w, 1);
    } else if (c->centre) {
        an_write_u64(w, 1);
    }
    an_write_end(w);
    if (m->has_scaler) an_scaler_save(&m->scaler, w);
    an__write_params(w, AN__TAG_VAE_PARAMS, m->params, m->lay.n_params);
    an_write_begin(w, AN__TAG_VAE_RECORD);
    an_write_u64(w, m->epochs_run);
    an_write_u64(w, m->train_rows);
    an_write_f64(w, m->best_loss);
    an_write_end(w);
    an_write_begin(w, AN__TAG_VAE_STREAM);
    an_write_u64(w, m->n_seen);
    an_write_u64(w, m->ring_pos);
    an_write_f32s(w, m->ring, m->lay.D);
    an_write_end(w);
    return w->status;
}
#endif

static an_result an__vae_read_config(an_reader *r, an_vae_config *c, size_t *F)
{
    uint32_t version;
    size_t v;
    an_result res;
    *c = an_vae_config_init(1, 1, 1);
    if ((res = an_read_u32(r, &version)) != AN_OK) return res;
    if (version < 1 || version > 3) return version > 3 ? AN_ERR_VERSION : AN_ERR_CORRUPT;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_WINDOW, &c->window)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_FEATURES, F)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, AN_VAE_LSTM, &v)) != AN_OK) return res;
    c->arch = (an_vae_arch)v;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_UNITS, &c->hidden)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, AN_LSTM_MAX_UNITS, &c->latent)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, 1000000, &c->warmup)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, AN_VAE_MAX_DRAWS, &c->draws)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, AN_SCALER_ROBUST, &v)) != AN_OK) return res;
    c->scaler = (an_scaler_kind)v;
    if ((res = an_read_count(r, 1, 65536, &c->batch)) != AN_OK) return res;
    if ((res = an_read_u64(r, &c->seed)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, 1000000, &c->train.epochs)) != AN_OK) return res;
    if ((res = an_read_count(r, 1, SIZE_MAX, &c->train.stride)) != AN_OK) return res;
    if ((res = an_read_count(r, 0, SIZE_MAX, &c->train.patience)) != AN_OK) return res;
    an_read_f64(r, &c->beta);
    if ((res = an__read_train_reals(r, &c->train)) != AN_OK) return res;
    if (version == 2) {
        if ((res = an_read_count(r, 1, 1, &v)) != AN_OK) return res;
        c->centre = 1;
    }
    if (version == 3) {
        if ((res = an_read_count(r, 0, 1, &v)) != AN_OK) return res;
        c->centre = (int)v;
        if ((res = an_read_count(r, 1, 1, &v)) != AN_OK) return res;
        c->root = 1;
    }
    return an_vae_check_config(c) == AN_OK ? AN_OK : AN_ERR_CORRUPT;
}

static an_result an__vae_load(an_reader *payload, const an_allocator *a, an_detector **out)
{
    an_vae_config c;
    an_reader chunk;
    an_detector *d = NULL;
    an__vae *m;
    size_t F = 0;
    an_result r;
    *out = NULL;
    if ((r = an_reader_find(payload, AN__TAG_VAE_CONFIG, &chunk)) != AN_OK) return r;
    if ((r = an__vae_read_config(&chunk, &c, &F)) != AN_OK) return r;
    {   /* the parameters must be in the file; the rest bounded as the
           LSTM models' (section 4, "Loading") */
        size_t inference = 0, pbytes;
        an__vae_layout L;
        an_reader params;
        an__vae_plan(&c, F, &L);
        if ((r = an_reader_find(payload, AN__TAG_VAE_PARAMS, &params)) != AN_OK) return r;
        if (L.n_params == SIZE_MAX || an_reader_need(&params, an__add(L.n_params, 2), sizeof(float)) != AN_OK)
            return AN_ERR_CORRUPT;
        pbytes = an__mul(L.n_params, sizeof(float));
        if (c.batch > ANOMALY_LSTM_LOAD_BATCH) c.batch = ANOMALY_LSTM_LOAD_BATCH;
        for (;;) {
            if ((r = an_vae_memory(&c, F, &inference, NULL)) != AN_OK) return r;
            if (inference - pbytes <= ANOMALY_LSTM_LOAD_SLACK_BYTES || c.batch == 1) break;
            c.batch /= 2;
        }
        if (inference - pbytes > ANOMALY_LSTM_LOAD_SLACK_BYTES || inference > ANOMALY_LSTM_MAX_LOAD_BYTES)
            return AN_ERR_TOO_LARGE;
    }
    if ((r = an__vae_alloc(&c, F, a, &d)) != AN_OK) return r;   /* the parameters come next */
    m = (an__vae *)d;
    if ((r = an__load_scaler(payload, F, c.scaler, a, &m->scaler, &m->has_scaler)) != AN_OK ||
        (r = an__load_params(payload, AN__TAG_VAE_PARAMS, m->params, m->lay.n_params)) != AN_OK)
        goto fail;
    an__vae_prepare(m);
    if (an_reader_find(payload, AN__TAG_VAE_RECORD, &chunk) == AN_OK) {   /* optional */
        uint64_t e = 0, rows = 0;
        an_read_u64(&chunk, &e);
        an_read_u64(&chunk, &rows);
        an_read_f64(&chunk, &m->best_loss);
        m->epochs_run = (size_t)e;
        m->train_rows = (size_t)rows;
    }
    if (an_reader_find(payload, AN__TAG_VAE_STREAM, &chunk) == AN_OK) {   /* optional */
        size_t T = c.window;
        if (an_read_count(&chunk, 0, T, &m->n_seen) != AN_OK || an_read_count(&chunk, 0, T - 1, &m->ring_pos) != AN_OK ||
            an_read_f32s(&chunk, m->ring, m->lay.D) != AN_OK || !an__all_finite(m->ring, m->lay.D)) {
            r = AN_ERR_CORRUPT;
            goto fail;
        }
    }
    *out = d;
    return AN_OK;
fail:
    an__vae_free(m);
    return r;
}

static const an_detector_vtable an__vae_vtable = {
    AN_TAG_VAE, "vae", AN__TRAINING(an__vae_fit), an__vae_score, an__vae_push, an__vae_reset,
    AN__TRAINING(an__vae_save), an__vae_load, AN__TRAINING(an__vae_gradient), an__vae_destroy, an__vae_expected, NULL,
    NULL
};

static const an_detector_vtable *an__vae_vt(void) { return &an__vae_vtable; }

AN_API const an_detector_vtable *an_vae_type(void) { return &an__vae_vtable; }

/* ==========================================================================
   The type table of this header
   ========================================================================== */

static const an_detector_vtable *const an__lstm_types[] = { &an__lae_vtable, &an__lfc_vtable, &an__lcl_vtable,
                                                                 &an__vae_vtable };

AN_API const an_detector_vtable *const *an_lstm_types(size_t *n)
{
    if (n) *n = sizeof an__lstm_types / sizeof an__lstm_types[0];
    return an__lstm_types;
}

#ifdef __cplusplus
}
#endif
#endif /* ANOMALY_LSTM_IMPLEMENTATION */
