/* fuzz_model.c - fuzz target for the model-file reader.

   Every input is read three ways: as a model file; as a bare chunk stream;
   and as a model file after the harness has rewritten its header and every
   chunk CRC its structure implies (innermost first), because mutations
   almost never keep a CRC valid and would otherwise never reach the field
   parsers behind the checks.  Chunks nested in payloads are walked
   recursively; every chunk is offered to the scaler and detector loaders,
   with every detector type of anomaly_stats.h and anomaly_lstm.h linked,
   and a detector that loads is made to score a row.
   Nothing may crash, read out of bounds, allocate without bound or leak.

     clang -fsanitize=fuzzer,address,undefined tests/fuzz_model.c   (make fuzz)
     cc -DFUZZ_STANDALONE tests/fuzz_model.c -lm                     (make test)

   The standalone build runs every file named on the command line (folders
   are read), and `--write-seeds DIR` writes the seed corpus kept in
   tests/fuzz/corpus. */
#ifdef FUZZ_STANDALONE
#  define _POSIX_C_SOURCE 200809L
#endif
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_stats.h"
#include "../anomaly_lstm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every type the two headers export, through their tables as a program
   concatenates them (the ensemble is the core's and needs no entry). */
static const an_detector_vtable *fuzz_types[16];
static size_t fuzz_n_types;

static void fuzz_types_init(void)
{
    size_t n_stats, n_lstm;
    const an_detector_vtable *const *stats = an_stats_types(&n_stats), *const *lstm = an_lstm_types(&n_lstm);
    memcpy(fuzz_types, stats, n_stats * sizeof *fuzz_types);
    memcpy(fuzz_types + n_stats, lstm, n_lstm * sizeof *fuzz_types);
    fuzz_n_types = n_stats + n_lstm;
}

static void fuzz_walk(an_reader r, int depth)
{
    while (!an_reader_at_end(&r)) {
        an_reader at = r, payload;
        uint32_t tag;
        if (an_read_chunk(&r, &tag, &payload) != AN_OK) return;
        if (tag == AN_TAG_SCALER) {
            an_scaler s;
            if (an_scaler_load(&s, &at, NULL) == AN_OK) {
                static float row[256];
                if (s.n_features <= 256) an_scaler_transform(&s, row, 1, row);
                an_scaler_uninit(&s);
            }
        } else if (tag == AN_TAG_DETECTOR) {
            an_detector *d;
            an_reader again = at;
            an_detector_load(&again, NULL, 0, NULL, &d);   /* no types linked: must fail cleanly */
            if (!fuzz_n_types) fuzz_types_init();
            {
                size_t k;
                for (k = 0; k < fuzz_n_types; k++) {   /* one type at a time, as firmware loads */
                    an_reader one = at;
                    if (an_detector_load_one(&one, fuzz_types[k], NULL, &d) == AN_OK) an_detector_destroy(d);
                }
            }
            {
                uint32_t missing;
                an_detector_missing_type(&at, NULL, 0, &missing);
                an_detector_missing_type(&at, fuzz_types, fuzz_n_types, &missing);
            }
            if (an_detector_load(&at, fuzz_types, fuzz_n_types, NULL, &d) == AN_OK) {
                static float row[1024];
                float score;
                if (d->n_features <= 1024) {
                    an_detector_push(d, row, &score);
                    an_detector_reset(d);
                }
                an_detector_destroy(d);
            }
        }
        if (depth < AN_WRITER_MAX_DEPTH) fuzz_walk(payload, depth + 1);
    }
}

/* Give every chunk in p[0..size) the CRC it should have, nested ones first. */
static void fuzz_repair(unsigned char *p, size_t size, int depth)
{
    size_t pos = 0;
    while (size - pos >= 12) {
        size_t length = (size_t)p[pos + 4] | ((size_t)p[pos + 5] << 8) | ((size_t)p[pos + 6] << 16) |
                        ((size_t)p[pos + 7] << 24);
        if (length > size - pos - 12) return;
        if (depth < AN_WRITER_MAX_DEPTH) fuzz_repair(p + pos + 8, length, depth + 1);
        an__put32(p + pos + 8 + length, an_crc32(0, p + pos, 8 + length));
        pos += 12 + length;
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    an_reader r;
    unsigned char *copy;
    if (an_model_open(&r, data, size) == AN_OK) fuzz_walk(r, 0);
    r.data = data;
    r.size = size;
    r.pos = 0;
    r.verified = 0;                         /* a bare stream: every chunk's CRC is checked */
    fuzz_walk(r, 0);
    if (size < AN_MODEL_HEADER_BYTES || !(copy = (unsigned char *)malloc(size))) return 0;
    memcpy(copy, data, size);
    memcpy(copy, an__magic, 8);            /* the implementation's own helpers */
    an__put32(copy + 8, AN_MODEL_VERSION);
    an__put64(copy + 16, (uint64_t)size);
    fuzz_repair(copy + AN_MODEL_HEADER_BYTES, size - AN_MODEL_HEADER_BYTES, 0);
    an__put32(copy + 24, an_crc32(0, copy, 24));
    if (an_model_open(&r, copy, size) == AN_OK) fuzz_walk(r, 0);
    free(copy);
    return 0;
}

#ifdef FUZZ_STANDALONE
#include "fuzz_replay.h"

static int fuzz_write(const char *dir, const char *name, an_writer *w)
{
    char path[1024];
    const void *data;
    size_t size;
    an_result r = an_writer_finish(w, &data, &size);
    if (r == AN_OK) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        r = an_file_write(path, data, size);
    }
    an_writer_uninit(w);
    return r == AN_OK;
}

/* One fitted detector of each statistics type, the LSTMs, the VAEs, a hybrid of
   statistics members, a hybrid with an LSTM member pooled by surprise
   (its members load only through both headers' type tables), an
   inputs stage around a hybrid of statistics members and STL + IQR on a
   cycle of 12.3 rows (its 'STCY' chunk), saved. */
static int fuzz_write_stats_seeds(const char *dir)
{
    static const char *names[16] = { "det_mad.anm", "det_iqr.anm", "det_stl_iqr.anm", "det_gesd.anm", "det_shesd.anm",
                                     "det_level_shift.anm", "det_ks_drift.anm", "det_iforest.anm", "det_hybrid.anm",
                                     "det_lstm_ae.anm", "det_lstm_forecaster.anm", "det_hybrid_lstm.anm",
                                     "det_vae_dense.anm", "det_vae_lstm.anm", "det_inputs_hybrid.anm",
                                     "det_stl_iqr_cycle.anm" };
    static const unsigned char input[2] = { 1, 0 };
    static float x[240], xy[480], orbit[240];
    int k, ok = 1;
    for (k = 0; k < 240; k++) x[k] = (float)(sin(6.283185307 * k / 24) + 0.1 * ((k * 7) % 5) + (k == 100 ? 3 : 0));
    for (k = 0; k < 240; k++) xy[2 * k] = (float)((k / 30) % 2), xy[2 * k + 1] = x[k] + xy[2 * k];
    for (k = 0; k < 240; k++) orbit[k] = (float)(sin(6.283185307 * k / 12.3) + 0.01 * ((k * 7) % 5));
    for (k = 0; k < 16; k++) {
        an_detector *d = NULL, *m = NULL;
        an_writer w;
        an_robust_config rc = an_robust_config_init(k == 1 ? AN_ROBUST_IQR : AN_ROBUST_MAD, k == 0 ? 8 : 0);
        an_stl_iqr_config sc = an_stl_iqr_config_init(24);
        an_gesd_config gc = an_gesd_config_init(0.05, 0.05);
        an_shesd_config hc = an_shesd_config_init(24, 0.05, 0.05);
        an_level_shift_config lc = an_level_shift_config_init(8);
        an_ks_drift_config kc = an_ks_drift_config_init(16, AN_KS_TRAINING);
        an_iforest_config fc = an_iforest_config_init(1);
        an_ensemble_config ec = an_ensemble_config_init();
        if (k <= 1) an_robust_create(&rc, 1, NULL, &d);
        if (k == 2) an_stl_iqr_create(&sc, 1, NULL, &d);
        if (k == 15) {                               /* the period found, then its length: 12.3 */
            sc.period = 0;
            an_stl_iqr_create(&sc, 1, NULL, &d);
        }
        if (k == 3) an_gesd_create(&gc, 1, NULL, &d);
        if (k == 4) an_shesd_create(&hc, 1, NULL, &d);
        if (k == 5) an_level_shift_create(&lc, 1, NULL, &d);
        if (k == 6) an_ks_drift_create(&kc, 1, NULL, &d);
        if (k == 7) { fc.n_trees = 4; an_iforest_create(&fc, 1, NULL, &d); }
        if (k >= 9 && k <= 10) {                     /* tiny LSTMs: 8-row windows, 4 units, one epoch */
            an_lstm_config lc9 = k == 9 ? an_lstm_ae_config_init(8, 4) : an_lstm_forecaster_config_init(8, 4, 2);
            lc9.train.epochs = 1;
            if (k == 9) an_lstm_ae_create(&lc9, 1, NULL, &d);
            else an_lstm_forecaster_create(&lc9, 1, NULL, &d);
        }
        if (k == 12 || k == 13) {                    /* tiny VAEs: 8-row windows, 4 units, 2 latent */
            an_vae_config vc = an_vae_config_init(8, 4, 2);
            vc.arch = k == 12 ? AN_VAE_DENSE : AN_VAE_LSTM;
            vc.centre = vc.root = k == 13;           /* format 3: the centre and root flags */
            vc.train.epochs = 1;
            an_vae_create(&vc, 1, NULL, &d);
        }
        if (k == 8 || k == 14) {
            ec.sustain_rows = 12;                    /* the hybrid's sustained vote: a 'SUST' chunk with a ring */
            ec.normal_training = k == 8;             /* ... and its bars after known-normal training: 'STOP' */
            an_ensemble_create(&ec, 1, NULL, &d);
            an_stl_iqr_create(&sc, 1, NULL, &m);
            an_ensemble_add(d, m, 0.6, AN_MEMBER_BASELINE);
            an_robust_create(&rc, 1, NULL, &m);
            an_ensemble_add(d, m, 0.4, AN_MEMBER_OPTIONAL);
        }
        if (k == 14) {
            an_exog_config xc = an_exog_config_init();
            m = d;
            d = NULL;
            an_exog_create(&xc, 2, input, m, NULL, &d);
        }
        if (k == 11) {
            an_lstm_config lc11 = an_lstm_ae_config_init(8, 4);
            lc11.train.epochs = 1;
            ec.pool = AN_POOL_SURPRISE;
            an_ensemble_create(&ec, 1, NULL, &d);
            an_robust_create(&rc, 1, NULL, &m);
            an_ensemble_add(d, m, 0.6, AN_MEMBER_BASELINE);
            m = NULL;
            an_lstm_ae_create(&lc11, 1, NULL, &m);
            if (m) an_ensemble_add(d, m, 0.4, AN_MEMBER_OPTIONAL);
        }
        if (!d || an_detector_fit(d, k == 14 ? xy : k == 15 ? orbit : x, 240) != AN_OK) {
            ok = 0;
            an_detector_destroy(d);
            continue;
        }
        if (k == 15) {                               /* the seed holds what it is for */
            double cycle = 0.0;
            an_stl_iqr_cycle(d, 0, &cycle);
            ok &= cycle > 12.2 && cycle < 12.4;
        }
        an_writer_init(&w, NULL);
        an_detector_save(d, &w);
        ok &= fuzz_write(dir, names[k], &w);
        an_detector_destroy(d);
    }
    return ok;
}

/* Valid files of each shape the reader knows, for the fuzzer to mutate. */
static int fuzz_write_seeds(const char *dir)
{
    static const float x[8] = { 1, 10, 2, 20, 3, 35, 8, 40 };
    static const an_scaler_kind kinds[3] = { AN_SCALER_STANDARD, AN_SCALER_MINMAX, AN_SCALER_ROBUST };
    static const char *names[3] = { "scaler_standard.anm", "scaler_minmax.anm", "scaler_robust.anm" };
    an_writer w;
    an_scaler s;
    int i, ok = 1;
    for (i = 0; i < 3; i++) {
        an_scaler_init(&s, kinds[i], 2, NULL);
        an_scaler_fit(&s, x, 4, NULL);
        an_writer_init(&w, NULL);
        an_scaler_save(&s, &w);
        ok &= fuzz_write(dir, names[i], &w);
        an_scaler_uninit(&s);
    }
    an_writer_init(&w, NULL);                       /* nested chunks and an unknown one */
    an_write_begin(&w, AN_TAG('O', 'U', 'T', 'R'));
    an_write_u32(&w, 1);
    an_write_begin(&w, AN_TAG('I', 'N', 'N', 'R'));
    an_write_f64(&w, 2.5);
    an_write_end(&w);
    an_write_end(&w);
    an_write_begin(&w, AN_TAG('Z', 'Z', 'Z', 'Z'));
    an_write_end(&w);
    ok &= fuzz_write(dir, "nested.anm", &w);
    an_writer_init(&w, NULL);                       /* a detector of a type nobody linked */
    an_write_begin(&w, AN_TAG_DETECTOR);
    an_write_begin(&w, AN_TAG_TYPE);
    an_write_u32(&w, AN_TAG('N', 'O', 'N', 'E'));
    an_write_end(&w);
    an_write_end(&w);
    ok &= fuzz_write(dir, "detector_unknown.anm", &w);
    an_writer_init(&w, NULL);                       /* header only */
    ok &= fuzz_write(dir, "empty_model.anm", &w);
    ok &= fuzz_write_stats_seeds(dir);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return fuzz_write_seeds(argv[2]) ? 0 : 1;
    return fuzz_replay("fuzz_model", argc, argv);
}
#endif
