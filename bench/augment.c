/* augment.c - does VAE augmentation help the LSTM autoencoder?  (issue 15,
   item 6.)  In-process, no `anomaly` command in the loop:

     build/augment_eval [--seeds N] [--fraction F] [--epochs E] [--vae-epochs E]
                        [--nab DIR] [--nab-files K] [--synth-files K] [--no-nab] [--no-synth]
                        [--classifier]

   For each seed s = 1 .. N (default 5) and each of two runs, without
   (an_lstm_fit) and with F (default 0.3) VAE windows
   (an_lstm_fit_augmented, the VAE fitted on the same training rows with
   seed s, the windows drawn with seed s), the autoencoder of `anomaly
   detect --method lstm-ae` (window 48, 32 units, lr 3e-3, stride
   n / 2048 + 1, seed s; E epochs, default 20) is trained on a file's
   training rows and scores every row (the window ending at it).

   Synthetic: 14 of `make eval QUICK=1`'s files (bench/eval.c's generator
   and seeds: daily and trend-daily, one kind each of spike, dip, shift,
   variance, flatline, trend, phase, magnitude 6, 5000 rows, none in the
   first 1440; not its collapse and period files), trained on the clean first 1440 rows (augmentation adds
   normal windows: the setting it is for).  A test row (1440 on) is
   flagged when its score exceeds the largest training-row score; events
   and matching as bench/eval.c (runs merged across 3 rows, a match
   within 12 rows); precision, recall and F1 micro over the files; also
   the mean over files of the test rows' ROC-AUC (no threshold).

   NAB: the files of DIR/data in sorted order (every k-th when --nab-files
   asks for fewer than there are), windows from DIR/combined_windows.json;
   scored as `anomaly nab --method lstm-ae` scores them: an_causal_score
   (fits at rows 150, 300, 600, ..., each on the rows seen so far; the
   onset of the score), the model in an ensemble of one member that
   calibrates it on the same rows; an_nab_evaluate gives the standard
   profile's normalised score with the one best threshold for the files.
   (Before 2026-12-05 the autoencoder was trained once on the
   probationary rows and its scores divided by the largest of theirs:
   on all 41 files both runs scored 5-6, the one threshold finding
   nothing worth its false positives, so that measured nothing.)

   --classifier adds a third run: in place of the autoencoder, the LSTM
   classifier of `anomaly augment --classifier` (window 48, 32 units, one
   class, 60 epochs, lr 1e-2, no dropout, no early stopping) trained on
   1,024 windows cut from the training rows, half of them given one
   anomaly by the library's injector (an_window_inject_config_init's
   kinds, magnitude 6, seed s), then scored and judged as the
   autoencoder is, on the synthetic files only (on NAB its 60 epochs at
   each of the protocol's refits would take most of an hour a seed).

   Prints one line per seed and run, then mean and sample sd over the
   seeds, and the processor seconds.  Deterministic: the same arguments
   give the same figures (one SIMD path). */
#define _POSIX_C_SOURCE 200809L
#define ANOMALY_IMPLEMENTATION
#include "../anomaly_lstm.h"
#include "../examples/cli_read.h"

#include <dirent.h>
#include <time.h>

#define ROWS       5000
#define PERIOD     288
#define TRAIN_ROWS 1440
#define TOLERANCE  12
#define MERGE_GAP  3
#define SEED_BASE  20261204u
#define MAX_EVENTS 8
#define MAX_SEEDS  16
#define MAX_FILES  64

static void die(const char *fmt, const char *what)
{
    fprintf(stderr, "augment_eval: ");
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    exit(1);
}

static void check(an_result r, const char *what)
{
    if (r != AN_OK) {
        fprintf(stderr, "augment_eval: %s: %s\n", what, an_result_str(r));
        exit(1);
    }
}

typedef struct settings {
    size_t seeds, epochs, vae_epochs, nab_files, synth_files;
    double fraction;
    const char *nab;
    int nab_on, synth_on, classifier;
} settings;

enum { RUN_PLAIN, RUN_AUGMENTED, RUN_CLASSIFIER, RUNS };
static const char *const run_name[RUNS] = { "plain", "augmented", "classifier" };

/* The classifier of `anomaly augment --classifier`, trained on injected
   windows of x[0 .. n_train). */
static an_result fit_classifier(const float *x, size_t n_train, uint64_t seed, an_detector **out)
{
    an_lstm_config c = an_lstm_classifier_config_init(48, 32, 1);
    an_window_inject_config wc = an_window_inject_config_init(48);
    an_detector *d = NULL;
    an_result r;
    c.seed = seed;
    c.train.epochs = 60;
    c.train.patience = 0;
    c.dropout = 0.0;
    c.train.adam.lr = 1e-2;
    wc.n_windows = 1024;
    wc.inject.magnitude = 6.0;
    wc.inject.seed = seed;
    check(an_lstm_classifier_create(&c, 1, NULL, &d), "classifier");
    if ((r = an_lstm_classifier_train_injected(d, NULL, x, n_train, &wc, NULL)) == AN_OK) *out = d;
    else an_detector_destroy(d);
    return r;
}

/* The run's model trained on x[0 .. n_train): the autoencoder with or
   without VAE windows, or the classifier. */
static an_result fit_model(const settings *st, const float *x, size_t n_train, uint64_t seed, int run,
                           an_detector **out)
{
    an_lstm_config c = an_lstm_ae_config_init(48, 32);
    an_vae_config vc = an_vae_config_init(48, 32, 8);   /* `anomaly augment`'s VAE (uncentred) */
    an_detector *d = NULL, *v = NULL;
    an_result r;
    *out = NULL;
    if (run == RUN_CLASSIFIER) return fit_classifier(x, n_train, seed, out);
    c.window_agg = AN_AGG_LAST;
    c.train.stride = n_train / 2048 + 1;
    c.train.epochs = st->epochs;
    c.train.adam.lr = 3e-3;
    c.seed = seed;
    check(an_lstm_ae_create(&c, 1, NULL, &d), "lstm");
    if (run == RUN_AUGMENTED) {
        vc.warmup = 5;
        vc.train.stride = n_train / 2048 + 1;
        vc.train.epochs = st->vae_epochs;
        vc.train.adam.lr = 3e-3;
        vc.seed = seed;
        check(an_vae_create(&vc, 1, NULL, &v), "vae");
        if ((r = an_detector_fit(v, x, n_train)) == AN_OK)
            r = an_lstm_fit_augmented(d, x, n_train, v, st->fraction, seed, NULL);
        an_detector_destroy(v);
    } else {
        r = an_lstm_fit(d, x, n_train, NULL);
    }
    if (r == AN_OK) *out = d;
    else an_detector_destroy(d);
    return r;
}

/* ---- synthetic ---------------------------------------------------------- */

typedef struct tally { size_t truth, found, detected, correct; double auc_sum; size_t files; } tally;

static size_t flag_events(const unsigned char *flag, size_t n, an_range *out, size_t cap)
{
    size_t i, m = 0;
    for (i = 0; i < n; i++) {
        if (!flag[i]) continue;
        if (m && i - out[m - 1].end <= MERGE_GAP + 1) out[m - 1].end = i;
        else if (m < cap) { out[m].start = out[m].end = i; m++; }
    }
    return m;
}

static int near(const an_range *d, size_t start, size_t end)
{
    return d->start <= end + TOLERANCE && d->end + TOLERANCE >= start;
}

static void synth_run(const settings *st, uint64_t seed, int run, tally *t)
{
    static const an_inject_kind kinds[] = { AN_INJECT_SPIKE, AN_INJECT_DIP, AN_INJECT_SHIFT, AN_INJECT_VARIANCE,
                                            AN_INJECT_FLATLINE, AN_INJECT_TREND, AN_INJECT_PHASE };
    static const int shapes[] = { AN_SYNTH_DAILY, AN_SYNTH_TREND_DAILY };
    static float x[ROWS], score[ROWS];
    static unsigned char flag[ROWS], truth[ROWS];
    static an_range det[ROWS];
    size_t k, s, i, e, files = 0;
    memset(t, 0, sizeof *t);
    for (k = 0; k < 7; k++)
        for (s = 0; s < 2; s++) {
            uint64_t fseed = SEED_BASE + 1000u * (unsigned)kinds[k] + 100u * (unsigned)shapes[s];
            an_synth_config sc = an_synth_config_init((an_synth_shape)shapes[s], fseed);
            an_inject_config ic = an_inject_config_init();
            an_inject_event ev[MAX_EVENTS];
            size_t n_ev = 0, n_det;
            double scale, thr = 0.0, auc = 0.5;
            if (files++ % (14 / st->synth_files) != 0) continue;
            sc.period = PERIOD;
            check(an_synth_series(x, ROWS, 1, &sc), "synth");
            check(an_inject_scale(x, ROWS, 1, NULL, &scale), "scale");
            ic.kinds = AN_INJECT_BIT(kinds[k]);
            ic.count = 3 + (size_t)(fseed % 3);
            ic.magnitude = 6.0;
            ic.first_row = TRAIN_ROWS;
            ic.period = PERIOD;
            ic.seed = fseed;
            check(an_inject(x, ROWS, 1, &ic, &scale, ev, MAX_EVENTS, &n_ev, truth, NULL), "inject");
            {
                an_detector *d;
                check(fit_model(st, x, TRAIN_ROWS, seed, run, &d), "fit");
                check(an_detector_score(d, x, ROWS, score), "score");
                an_detector_destroy(d);
            }
            for (i = 0; i < TRAIN_ROWS; i++) thr = score[i] > thr ? score[i] : thr;
            for (i = 0; i < ROWS; i++) flag[i] = i >= TRAIN_ROWS && score[i] > thr;
            n_det = flag_events(flag, ROWS, det, ROWS);
            for (e = 0; e < n_ev; e++) {
                int hit = 0;
                for (i = 0; i < n_det && !hit; i++) hit = near(&det[i], ev[e].start, ev[e].end);
                t->truth++;
                t->found += (size_t)hit;
            }
            for (i = 0; i < n_det; i++) {
                int hit = 0;
                for (e = 0; e < n_ev && !hit; e++) hit = near(&det[i], ev[e].start, ev[e].end);
                t->detected++;
                t->correct += (size_t)hit;
            }
            check(an_roc_auc(score + TRAIN_ROWS, truth + TRAIN_ROWS, ROWS - TRAIN_ROWS, NULL, &auc), "auc");
            t->auc_sum += auc;
            t->files++;
        }
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0.0; }
static double tally_f1(const tally *t)
{
    double p = ratio(t->correct, t->detected), r = ratio(t->found, t->truth);
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

/* ---- NAB ---------------------------------------------------------------- */

typedef struct nab_file { char key[512]; table t; an_range *win; size_t n_win; float *score; } nab_file;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || !(buf = (char *)malloc((size_t)n + 1))) { fclose(f); return NULL; }
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static size_t nab_load(const settings *st, nab_file *files)
{
    char path[1024], *keys[256], err[CLI_ERR_SIZE], *json;
    size_t n_keys = 0, i, n = 0, len, step;
    DIR *top, *sub;
    struct dirent *c, *f;
    snprintf(path, sizeof path, "%s/data", st->nab);
    if (!(top = opendir(path))) die("cannot open %s", path);
    while ((c = readdir(top)) != NULL) {
        if (c->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/data/%s", st->nab, c->d_name);
        if (!(sub = opendir(path))) continue;
        while ((f = readdir(sub)) != NULL && n_keys < 256) {
            size_t l = strlen(f->d_name);
            if (l < 5 || strcmp(f->d_name + l - 4, ".csv") != 0) continue;
            keys[n_keys] = (char *)malloc(strlen(c->d_name) + l + 2);
            sprintf(keys[n_keys++], "%s/%s", c->d_name, f->d_name);
        }
        closedir(sub);
    }
    closedir(top);
    qsort(keys, n_keys, sizeof keys[0], cmp_str);
    snprintf(path, sizeof path, "%s/combined_windows.json", st->nab);
    if (!(json = slurp(path, &len))) die("cannot read %s", path);
    step = st->nab_files && st->nab_files < n_keys ? n_keys / st->nab_files : 1;
    for (i = 0; i < n_keys && n < MAX_FILES; i++) {
        char *text;
        if (i % step == 0 && (!st->nab_files || n < st->nab_files)) {
            nab_file *nf = &files[n];
            snprintf(nf->key, sizeof nf->key, "%s", keys[i]);
            snprintf(path, sizeof path, "%s/data/%s", st->nab, keys[i]);
            if (!(text = slurp(path, &len))) die("cannot read %s", path);
            if (table_parse(text, len, path, &nf->t, err) != 0) die("%s", err);
            if (nab_windows_parse(json, path, keys[i], &nf->t, &nf->win, &nf->n_win, err) != 0) die("%s", err);
            nf->score = (float *)malloc(nf->t.rows * sizeof(float));
            n++;
        }
        free(keys[i]);
    }
    free(json);
    return n;
}

/* an_causal_score's maker: the run's model fitted on the rows seen so
   far, in an ensemble of one that the protocol then fits (calibrates) on
   the same rows, as `anomaly nab --method lstm-ae` does with an
   autoencoder it fits itself.  When the model cannot be fitted (too few
   rows), an empty ensemble, whose fit fails: the protocol keeps the
   detector before it. */
typedef struct maker { const settings *st; const float *x; uint64_t seed; int run; } maker;

static an_detector *make_fitted(void *user, size_t n_features, size_t n_rows)
{
    const maker *mk = (const maker *)user;
    an_ensemble_config ec = an_ensemble_config_init();
    an_detector *e = NULL, *d = NULL;
    if (an_ensemble_create(&ec, n_features, NULL, &e) != AN_OK) return NULL;
    if (fit_model(mk->st, mk->x, n_rows, mk->seed, mk->run, &d) == AN_OK)
        check(an_ensemble_add(e, d, 1.0, AN_MEMBER_BASELINE), "ensemble");
    return e;
}

static double nab_run(const settings *st, nab_file *files, size_t n, uint64_t seed, int run)
{
    an_nab_series series[MAX_FILES];
    an_nab_result res;
    an_causal_config cc = an_causal_config_init();
    size_t k;
    for (k = 0; k < n; k++) {
        nab_file *f = &files[k];
        maker mk;
        mk.st = st;
        mk.x = f->t.x;
        mk.seed = seed;
        mk.run = run;
        check(an_causal_score(&cc, make_fitted, &mk, f->t.x, f->t.rows, 1, f->score, NULL), "causal");
        series[k].score = f->score;
        series[k].n = f->t.rows;
        series[k].windows = f->win;
        series[k].n_windows = f->n_win;
    }
    check(an_nab_evaluate(series, n, an_nab_profile_get(AN_NAB_STANDARD), NULL, &res), "nab");
    return res.normalized;
}

static void mean_sd(const double *v, size_t n, double *mean, double *sd)
{
    size_t i;
    double s = 0.0, q = 0.0;
    for (i = 0; i < n; i++) s += v[i];
    *mean = s / (double)n;
    for (i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (double)(n - 1)) : 0.0;
}

int main(int argc, char **argv)
{
    settings st;
    static nab_file files[MAX_FILES];
    double f1[RUNS][MAX_SEEDS], auc[RUNS][MAX_SEEDS], nab[RUNS][MAX_SEEDS];
    size_t n_nab = 0, s;
    int a, run, runs;
    clock_t t0 = clock();
    memset(&st, 0, sizeof st);
    st.seeds = 5;
    st.fraction = 0.3;
    st.epochs = 20;
    st.vae_epochs = 20;
    st.nab = "../shared/data/nab";
    st.synth_files = 14;
    st.nab_on = st.synth_on = 1;
    for (a = 1; a < argc; a++) {
        const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : "";
        if (!strcmp(o, "--no-nab")) { st.nab_on = 0; continue; }
        if (!strcmp(o, "--no-synth")) { st.synth_on = 0; continue; }
        if (!strcmp(o, "--classifier")) { st.classifier = 1; continue; }
        if (!strcmp(o, "--seeds")) st.seeds = (size_t)atoi(v);
        else if (!strcmp(o, "--fraction")) st.fraction = atof(v);
        else if (!strcmp(o, "--epochs")) st.epochs = (size_t)atoi(v);
        else if (!strcmp(o, "--vae-epochs")) st.vae_epochs = (size_t)atoi(v);
        else if (!strcmp(o, "--nab")) st.nab = v;
        else if (!strcmp(o, "--nab-files")) st.nab_files = (size_t)atoi(v);
        else if (!strcmp(o, "--synth-files")) st.synth_files = (size_t)atoi(v);
        else die("unknown option %s", o);
        a++;
    }
    if (st.seeds < 1 || st.seeds > MAX_SEEDS || st.epochs < 1 || st.vae_epochs < 1 || st.synth_files < 1 ||
        st.synth_files > 14)
        die("%s", "bad --seeds, --epochs, --vae-epochs or --synth-files");
    if (st.nab_on) n_nab = nab_load(&st, files);
    printf("augmentation: %zu seeds, fraction %.2f, %zu epochs (VAE %zu); synthetic %s; NAB %zu files\n", st.seeds,
           st.fraction, st.epochs, st.vae_epochs, st.synth_on ? "on" : "off", n_nab);
    runs = st.classifier ? RUNS : RUN_CLASSIFIER;
    for (s = 0; s < st.seeds; s++)
        for (run = 0; run < runs; run++) {
            tally t;
            memset(&t, 0, sizeof t);
            f1[run][s] = auc[run][s] = nab[run][s] = 0.0;
            if (st.synth_on) {
                synth_run(&st, s + 1, run, &t);
                f1[run][s] = tally_f1(&t);
                auc[run][s] = t.files ? t.auc_sum / (double)t.files : 0.0;
            }
            if (n_nab && run != RUN_CLASSIFIER) nab[run][s] = nab_run(&st, files, n_nab, s + 1, run);
            printf("seed %zu %-10s synthetic P %.3f R %.3f F1 %.3f (%zu/%zu events, %zu detections) AUC %.3f",
                   s + 1, run_name[run], ratio(t.correct, t.detected), ratio(t.found, t.truth), f1[run][s], t.found,
                   t.truth, t.detected, auc[run][s]);
            if (n_nab && run != RUN_CLASSIFIER) printf("   NAB %.2f", nab[run][s]);
            printf("   [%.0f s]\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
            fflush(stdout);
        }
    for (run = 0; run < runs; run++) {
        double mf, sf, ma, sa, mn, sn;
        mean_sd(f1[run], st.seeds, &mf, &sf);
        mean_sd(auc[run], st.seeds, &ma, &sa);
        mean_sd(nab[run], st.seeds, &mn, &sn);
        printf("%-10s event F1 %.3f +- %.3f   ROC-AUC %.3f +- %.3f", run_name[run], mf, sf, ma, sa);
        if (n_nab && run != RUN_CLASSIFIER) printf("   NAB standard %.2f +- %.2f", mn, sn);
        printf("\n");
    }
    printf("processor seconds %.0f\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    for (s = 0; s < n_nab; s++) { free_table(&files[s].t); free(files[s].win); free(files[s].score); }
    return 0;
}
