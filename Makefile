# anomaly.h - build, test and benchmark.
#
#   make           build everything into build/
#   make test      the whole suite; ends with "N passed, M failed"
#   make sanitize  the suite under ASan + UBSan, and valgrind on the core tests
#   make tsan      the thread test (every detector kind in 4 threads) under TSan
#   make determinism  model files from gcc and clang, -O0 and -O2 (scalar): identical
#   make lint      static analysis: clang-tidy (bugprone, cert, clang-analyzer) and
#                  cppcheck (warning, performance, portability) on every header
#                  through tests/compile_impl.c in each SIMD configuration, gcc
#                  -fanalyzer on the scalar one, clang-tidy and cppcheck on the
#                  examples; fails on any finding (a few minutes)
#   make bench     benchmarks: kernels against plain loops, streaming detectors,
#                  STL against R and statsmodels, the LSTM autoencoder (and the
#                  explainers on it) against PyTorch (each peer where it is
#                  installed)
#   make bench-e2e anomaly detect's default hybrid against the Python pipeline
#                  (statsmodels STL + IQR, a PyTorch LSTM autoencoder) on a NAB
#                  file: wall time, peak RSS, model size, cold start, agreement
#                  (hyperfine; about 10 minutes, so not part of make bench)
#   make demo      the demo (build/anomaly demo)
#   make docs      docs/cli.md's reference from build/anomaly --help (test_cli
#                  fails when they differ)
#   make eval      the quality suite (not part of test; minutes): NAB on
#                  ../shared/data/nab, all / choose / confirm halves, and the
#                  synthetic benchmark unsupervised and with a clean prefix,
#                  and synthetic multichannel telemetry with a training period.
#                  EVAL_ARGS="--method stl" goes to every detect and nab run
#                  (not the telemetry part's --preset telemanom run);
#                  QUICK=1 runs 14 synthetic files instead of 84; EVAL_FLAGS
#                  takes bench/eval.c's own flags (--no-nab, --no-synth,
#                  --no-telemetry, --no-xai, --jobs N); it ends with the
#                  explainers' localization (in-process, seconds)
#   make fuzz      libFuzzer (clang, ASan + UBSan) on each reader: model files, the CLI's
#                  CSV, NAB windows JSON and stream lines; FUZZ_SECONDS=60 each
#   make cross     the suite for AArch64 NEON under qemu (CROSS=aarch64-linux-gnu-)
#   make bigendian the core, detector and byte-order tests for s390x (big-endian)
#                  under qemu-user (BE_CROSS=s390x-linux-gnu-): model files written
#                  on x86-64 load, save to the same bytes and score the same
#   make firmware  cross-builds firmware/stream.c for a Cortex-M4F (arm-none-eabi-gcc,
#                  newlib, ANOMALY_NO_TRAINING) three ways: STL + IQR, an LSTM
#                  autoencoder, their hybrid;
#                  runs each under qemu-system-arm (MPS2 AN386), checks its scores
#                  equal the full host build's, prints the flash / RAM table (not
#                  part of test)
#   make install   the headers to $(PREFIX)/include, the anomaly command to
#                  $(PREFIX)/bin, anomaly.pc to $(PREFIX)/share/pkgconfig and
#                  the find_package(anomaly) files to $(PREFIX)/share/cmake/anomaly
#                  (PREFIX=/usr/local; DESTDIR stages; SIMD=avx2 or scalar for an
#                  anomaly command that runs on other machines); make uninstall
#
# Variables: CC, CXX, CLANG, CFLAGS (optimisation, debug), SIMD=auto|scalar|avx2|avx512|neon.

# The programs build in parallel, one job per core, unless the command
# line says otherwise (-j1 for a serial build), and tests/run.sh runs the
# checks and tests one per core too (TEST_JOBS=1 for one at a time).
ifeq ($(filter -j%,$(MAKEFLAGS))$(filter j%,$(firstword $(MAKEFLAGS))),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif

CC     ?= cc
CXX    ?= c++
CLANG  ?= clang
CFLAGS ?= -O2 -g
SIMD   ?= auto
CROSS  ?= aarch64-linux-gnu-
BE_CROSS ?= s390x-linux-gnu-
FUZZ_SECONDS ?= 60

# Warnings are errors everywhere; -ffp-contract=off keeps the compiler from
# fusing multiply-adds in scalar code, so results depend only on the path.
WARN         = -Wall -Wextra -pedantic -Werror
STD          = -std=c99 $(WARN) -ffp-contract=off
SIMD_auto    = -march=native
SIMD_scalar  = -DANOMALY_NO_SIMD
SIMD_avx2    = -mavx2 -mfma
SIMD_avx512  = -mavx512f -mavx2 -mfma
SIMD_neon    =
ifeq ($(origin SIMD_$(SIMD)),undefined)
$(error SIMD must be auto, scalar, avx2, avx512 or neon)
endif
ALL_CFLAGS = $(STD) $(SIMD_$(SIMD)) $(CFLAGS)
LDLIBS     = -lm
SANITIZE   = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

HEADERS  = anomaly.h anomaly_stats.h anomaly_lstm.h anomaly_xai.h
TEST_DEP = $(HEADERS) tests/test.h tests/fixtures/metrics_sklearn.h tests/fixtures/nab_reference.h
# Absolute paths to the fixtures and the scratch directory, so a test binary
# runs from any directory (tests/test.h; environment variables override).
TEST_PATHS = -DTEST_FIXTURES_DIR='"$(CURDIR)/tests/fixtures"' -DTEST_SCRATCH_DIR='"$(CURDIR)/build"'

# Extra builds of the core and LSTM tests so every vector path this CPU can
# run is checked, whatever SIMD the main build uses.  They are built and run
# only where /proc/cpuinfo lists avx2 and fma (elsewhere they would die on
# an illegal instruction); the LSTM one is told the path it must report.
X86      := $(filter x86_64 i686 i386,$(shell uname -m))
HAS_AVX2 := $(if $(X86),$(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo 1))
TESTS     = build/test_core build/test_core_scalar $(if $(HAS_AVX2),build/test_core_avx2) build/test_stats \
            build/test_thresholds build/test_detectors build/test_lstm build/test_lstm_scalar \
            $(if $(HAS_AVX2),build/test_lstm_avx2) build/test_xai build/test_inject build/test_torch build/test_threads \
            build/test_vae build/test_byteorder
# The fuzz targets (tests/fuzz_<name>.c), each with its seed corpus in
# tests/fuzz/<name> (the model reader's in tests/fuzz/corpus) and a
# dictionary tests/fuzz/<name>.dict where it has one.
FUZZ_TARGETS = model csv windows stream
FUZZ_RUN  = $(FUZZ_TARGETS:%=build/fuzz_%)
fuzz_corpus = tests/fuzz/$(if $(filter model,$(1)),corpus,$(1))
FUZZ_REPLAY = $(foreach t,$(FUZZ_TARGETS),"build/fuzz_$(t)$(2) $(call fuzz_corpus,$(t))")

.PHONY: all test sanitize tsan determinism lint bench bench-e2e demo docs eval fuzz cross bigendian firmware install uninstall clean

all: $(TESTS) $(FUZZ_RUN) build/bench_kernels build/bench_stats build/bench_xai bench/stl bench/lstm_ae build/core_tour \
     build/stats_tour build/lstm_tour build/explain_tour build/lstm_nab build/report build/anomaly build/quickstart build/stream_fixed \
     build/eval build/augment_eval

build:
	@mkdir -p build

build/test_core: tests/test_core.c $(TEST_DEP) | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_core_scalar: tests/test_core.c $(TEST_DEP) | build
	$(CC) $(STD) $(SIMD_scalar) $(CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_core_avx2: tests/test_core.c $(TEST_DEP) | build
	$(CC) $(STD) $(SIMD_avx2) $(CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_inject: tests/test_inject.c anomaly.h tests/test.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_stats: tests/test_stats.c $(HEADERS) tests/test.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_thresholds: tests/test_thresholds.c $(HEADERS) tests/test.h tests/fixtures/telemanom_reference.h \
                       tests/fixtures/gpd_scipy.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_detectors: tests/test_detectors.c $(HEADERS) tests/test.h tests/fixtures/detectors_ref.h tests/fixtures/shesd_r.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

# The suites that call only the public API (test_lstm, test_vae, test_torch,
# test_byteorder, test_threads) link the implementation compiled once per
# SIMD configuration from tests/compile_impl.c, rather than each compiling
# the headers again; the suites that reach the an__ internals compile their
# own copy.
build/impl.o: tests/compile_impl.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/impl_scalar.o: tests/compile_impl.c $(HEADERS) | build
	$(CC) $(STD) $(SIMD_scalar) $(CFLAGS) -c $< -o $@

# AVX2 + FMA even where the main build picks AVX-512 (or CFLAGS has -march).
build/impl_avx2.o: tests/compile_impl.c $(HEADERS) | build
	$(CC) $(STD) $(SIMD_avx2) -DANOMALY_NO_AVX512 $(CFLAGS) -c $< -o $@

build/test_lstm: tests/test_lstm.c build/impl.o $(HEADERS) tests/test.h tests/fixtures/lstm_torch.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< build/impl.o -o $@ $(LDLIBS)

build/test_lstm_scalar: tests/test_lstm.c build/impl_scalar.o $(HEADERS) tests/test.h tests/fixtures/lstm_torch.h | build
	$(CC) $(STD) $(SIMD_scalar) $(CFLAGS) $(TEST_PATHS) $< build/impl_scalar.o -o $@ $(LDLIBS)

build/test_lstm_avx2: tests/test_lstm.c build/impl_avx2.o $(HEADERS) tests/test.h tests/fixtures/lstm_torch.h | build
	$(CC) $(STD) $(SIMD_avx2) -DANOMALY_NO_AVX512 -DTEST_SIMD_EXPECT=AN_SIMD_AVX2 $(CFLAGS) $(TEST_PATHS) $< \
	    build/impl_avx2.o -o $@ $(LDLIBS)

build/test_vae: tests/test_vae.c build/impl.o $(HEADERS) tests/test.h tests/fixtures/vae_torch.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< build/impl.o -o $@ $(LDLIBS)

build/test_torch: tests/test_torch.c build/impl.o $(HEADERS) tests/test.h tests/fixtures/torch_model.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< build/impl.o -o $@ $(LDLIBS)

build/test_xai: tests/test_xai.c $(HEADERS) tests/test.h tests/fixtures/ig_torch.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< -o $@ $(LDLIBS)

build/test_byteorder: tests/test_byteorder.c build/impl.o $(HEADERS) tests/test.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< build/impl.o -o $@ $(LDLIBS)

build/test_threads: tests/test_threads.c build/impl.o $(HEADERS) tests/test.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_PATHS) $< build/impl.o -o $@ $(LDLIBS) -pthread

# One seed, one model file: gcc and clang, -O0 and -O2, scalar path (minutes).
determinism:
	@sh tests/test_determinism.sh "$(CC)" "$(CLANG)"

# The thread test under ThreadSanitizer (clang).
tsan: | build
	$(CLANG) -std=c99 $(WARN) -ffp-contract=off -O1 -g -fsanitize=thread tests/test_threads.c tests/compile_impl.c \
	    -o build/test_threads_tsan $(LDLIBS) -pthread
	@SKIP_COMPILE=1 sh tests/run.sh build/test_threads_tsan

# Static analysis.  The headers are analysed through one translation unit
# with the implementation (tests/compile_impl.c), once per SIMD path the
# code has (scalar, AVX2, AVX-512, NEON), so every kernel is seen.  Checks
# left out, each for a reason:
#   bugprone-easily-swappable-parameters  the API's (n, F) / (rows, cols)
#       pairs of size_t; changing them would break every caller
#   cppcheck invalidPointerCast  each workspace is one aligned allocation
#       carved into typed sub-arrays (an unsigned char * arena becomes a
#       float * and a double *); it reports the carving, never a value
#       reinterpreted through another type
#   C++ mode  cert-dcl51-cpp reports the an__ private prefix, which is
#       STYLE.md's convention (C++ builds are compiled by make test)
# The examples are programs that print: they add
#   cert-err33-c  unchecked printf / fprintf results (the CLI checks its
#       output files with ferror and fclose instead)
#   bugprone-implicit-widening-of-multiplication-result  the examples
#       multiply small constants (demo sizes); the library, which
#       multiplies sizes its callers give, is checked with it
# and treat strcmp() as a truth value ("differs") and the feature-test
# macros _POSIX_C_SOURCE / _XOPEN_SOURCE as allowed.  Inline NOLINT
# comments name their check and the reason.
CLANG_TIDY  ?= clang-tidy
CPPCHECK    ?= cppcheck
TIDY_CHECKS  = -*,bugprone-*,cert-*,clang-analyzer-*,-bugprone-easily-swappable-parameters
TIDY_EXAMPLE = $(TIDY_CHECKS),-cert-err33-c,-bugprone-implicit-widening-of-multiplication-result
TIDY_OPTIONS = {CheckOptions: [{key: bugprone-suspicious-string-compare.WarnOnImplicitComparison, value: false}, \
                {key: bugprone-reserved-identifier.AllowedIdentifiers, value: '_POSIX_C_SOURCE;_XOPEN_SOURCE'}, \
                {key: cert-dcl37-c.AllowedIdentifiers, value: '_POSIX_C_SOURCE;_XOPEN_SOURCE'}, \
                {key: cert-dcl51-cpp.AllowedIdentifiers, value: '_POSIX_C_SOURCE;_XOPEN_SOURCE'}]}
LINT_SIMD    = "-DANOMALY_NO_SIMD" "-mavx2 -mfma" "-mavx512f -mavx2 -mfma" "--target=aarch64-linux-gnu"
CPPCHECK_FLAGS = --quiet --enable=warning,performance,portability --std=c99 --inline-suppr --error-exitcode=1 \
                 --suppress=invalidPointerCast -D__GNUC__ -D__linux__ --template='{file}:{line}: {severity}: {message} [{id}]'
lint: | build
	@for simd in $(LINT_SIMD); do echo "clang-tidy: headers, $$simd"; \
	    $(CLANG_TIDY) --quiet --header-filter='.*' --checks='$(TIDY_CHECKS)' --warnings-as-errors='*' \
	        tests/compile_impl.c -- -std=c99 $$simd || exit 1; done
	@echo "clang-tidy: examples"; $(CLANG_TIDY) --quiet --header-filter='examples/[a-z_]+\.h' --checks='$(TIDY_EXAMPLE)' \
	    --config="$(TIDY_OPTIONS)" --warnings-as-errors='*' examples/*.c -- -std=c99 -DANOMALY_NO_SIMD
	@echo "cppcheck: headers, scalar and AVX2"
	@$(CPPCHECK) $(CPPCHECK_FLAGS) -DANOMALY_NO_SIMD tests/compile_impl.c
	@$(CPPCHECK) $(CPPCHECK_FLAGS) -D__AVX2__ -D__FMA__ tests/compile_impl.c
	@echo "cppcheck: the CLI and the report example"
	@$(CPPCHECK) $(CPPCHECK_FLAGS) -DANOMALY_NO_SIMD examples/anomaly.c examples/report.c
	@echo "gcc -fanalyzer: headers, scalar"
	@$(CC) $(STD) -O1 -fanalyzer $(SIMD_scalar) -c tests/compile_impl.c -o build/lint_impl.o
	@echo "lint: clean"

build/fuzz_%: tests/fuzz_%.c tests/fuzz_replay.h examples/cli_read.h $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) -DFUZZ_STANDALONE $< -o $@ $(LDLIBS)

build/bench_kernels: bench/bench_kernels.c bench/bench.h $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/bench_stats: bench/bench_stats.c bench/bench.h $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/bench_xai: bench/xai.c bench/bench.h $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

# The benchmarks other scripts call by name live next to their source.
bench/stl: bench/stl.c bench/bench.h $(HEADERS)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

bench/lstm_ae: bench/lstm_ae.c bench/bench.h $(HEADERS)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

bench/vae: bench/vae.c $(HEADERS)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

bench/e2e_cold: bench/e2e_cold.c bench/bench.h $(HEADERS)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/lstm_tour: examples/lstm_tour.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/lstm_nab: examples/lstm_nab.c $(HEADERS) tests/fixtures/nab_reference.h | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/core_tour: examples/core_tour.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/stats_tour: examples/stats_tour.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/explain_tour: examples/explain_tour.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

# The report picture from a CSV: build/report --period 48 FILE.csv > picture.svg
build/report: examples/report.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/anomaly: examples/anomaly.c examples/cli_read.h $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/quickstart: examples/quickstart.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

# Linked so that any heap call from the program or the library aborts it.
NO_HEAP = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
build/stream_fixed: examples/stream_fixed.c tests/no_heap.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) examples/stream_fixed.c tests/no_heap.c $(NO_HEAP) -o $@ $(LDLIBS)

# tests/test_torch.sh reads the files build/test_torch writes: one line.
test: $(TESTS) $(FUZZ_RUN) build/anomaly build/quickstart build/stream_fixed
	@CC="$(CC)" CXX="$(CXX)" CLANG="$(CLANG)" CFLAGS="$(ALL_CFLAGS)" sh tests/run.sh \
	    $(filter-out build/test_torch,$(TESTS)) "build/test_torch && sh tests/test_torch.sh" $(call FUZZ_REPLAY) \
	    "sh tests/test_cli.sh build/anomaly" "sh tests/test_examples.sh build/quickstart build/stream_fixed" \
	    "sh tests/test_install.sh"

# ASan + UBSan over the same suite, then valgrind memcheck on the core tests
# (built for AVX2: valgrind does not decode AVX-512).
sanitize: | build
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_core.c $(TEST_PATHS) -o build/test_core_asan $(LDLIBS)
	$(CC) $(STD) $(SIMD_scalar) $(CFLAGS) $(SANITIZE) tests/test_core.c $(TEST_PATHS) -o build/test_core_scalar_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_stats.c $(TEST_PATHS) -o build/test_stats_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_thresholds.c $(TEST_PATHS) -o build/test_thresholds_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_detectors.c $(TEST_PATHS) -o build/test_detectors_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_lstm.c tests/compile_impl.c $(TEST_PATHS) -o build/test_lstm_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_xai.c $(TEST_PATHS) -o build/test_xai_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_inject.c $(TEST_PATHS) -o build/test_inject_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_torch.c tests/compile_impl.c $(TEST_PATHS) -o build/test_torch_asan $(LDLIBS)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) tests/test_vae.c tests/compile_impl.c $(TEST_PATHS) -o build/test_vae_asan $(LDLIBS)
	for t in $(FUZZ_TARGETS); do $(CC) $(ALL_CFLAGS) $(SANITIZE) -DFUZZ_STANDALONE tests/fuzz_$$t.c -o build/fuzz_$${t}_asan $(LDLIBS) || exit 1; done
	$(CC) $(ALL_CFLAGS) $(SANITIZE) examples/anomaly.c -o build/anomaly_asan $(LDLIBS)
	$(CC) $(STD) $(if $(HAS_AVX2),$(SIMD_avx2),$(SIMD_scalar)) $(CFLAGS) -gdwarf-4 tests/test_core.c $(TEST_PATHS) -o build/test_core_vg $(LDLIBS)
	@SKIP_COMPILE=1 sh tests/run.sh build/test_core_asan build/test_core_scalar_asan build/test_stats_asan \
	    build/test_thresholds_asan build/test_detectors_asan build/test_lstm_asan build/test_xai_asan build/test_inject_asan build/test_torch_asan \
	    build/test_vae_asan $(call FUZZ_REPLAY,,_asan) "sh tests/test_cli.sh build/anomaly_asan" \
	    "valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect build/test_core_vg"

bench: build/bench_kernels build/bench_stats build/bench_xai bench/stl bench/lstm_ae bench/vae
	./build/bench_kernels
	./build/bench_stats
	sh bench/xai_compare.sh
	sh bench/stl_compare.sh bench/stl
	sh bench/lstm_ae_compare.sh
	sh bench/vae_compare.sh

# The end-to-end benchmark (bench/e2e.sh): anomaly detect against the Python
# pipeline on a NAB file (NAB=, FILE=, RUNS=); minutes, so not part of bench.
bench-e2e: build/anomaly bench/e2e_cold
	sh bench/e2e.sh

demo: build/anomaly
	./build/anomaly demo

# docs/cli.md's reference is `build/anomaly --help` verbatim, in a text block
# between its two marker lines; tests/test_cli.sh fails when they differ.
docs: build/anomaly
	./build/anomaly --help > build/help.txt
	awk -v help=build/help.txt '/^<!-- anomaly --help: end/ { skip = 0 } !skip { print } \
	    /^<!-- anomaly --help: begin/ { print "```text"; while ((getline l < help) > 0) print l; print "```"; skip = 1 }' \
	    docs/cli.md > build/cli.md
	mv build/cli.md docs/cli.md

build/eval: bench/eval.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

# Does VAE augmentation help the LSTM autoencoder?  bench/augment.c, in
# process (not part of test or eval; many minutes): 5 seeds with and
# without 30% VAE windows, the quick synthetic files and the NAB files.
build/augment_eval: bench/augment.c examples/cli_read.h $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

EVAL_ARGS  ?=
EVAL_FLAGS ?=
eval: build/anomaly build/eval
	nice ./build/eval $(if $(QUICK),--quick) $(EVAL_FLAGS) -- $(EVAL_ARGS)

# Coverage-guided fuzzing of every reader, FUZZ_SECONDS each, one after
# the other; new inputs go to build/fuzz-corpus/<name>, each run's log to
# build/fuzz-<name>.log, and its closing statistics (runs, coverage,
# peak memory, crashes) are printed.
fuzz: | build
	@for t in $(FUZZ_TARGETS); do \
	    $(CLANG) -std=c99 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all tests/fuzz_$$t.c \
	        -o build/fuzz_$${t}_libfuzzer $(LDLIBS) || exit 1; \
	    mkdir -p build/fuzz-corpus/$$t; \
	    corpus=tests/fuzz/$$t; [ $$t = model ] && corpus=tests/fuzz/corpus; \
	    dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	    ./build/fuzz_$${t}_libfuzzer -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	        $$dict build/fuzz-corpus/$$t $$corpus > build/fuzz-$$t.log 2>&1; st=$$?; \
	    echo "fuzz_$$t: exit $$st"; grep -E '^#[0-9]+.*(DONE|pulse)|^Done|^stat::|ERROR|SUMMARY' build/fuzz-$$t.log | \
	        grep -v pulse | tail -n 12; \
	    [ $$st = 0 ] || exit 1; \
	done

# The suite for AArch64 NEON, cross-compiled and run under qemu-user.
cross: | build
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_core.c $(TEST_PATHS) -o build/test_core_neon $(LDLIBS)
	$(CROSS)gcc $(STD) $(SIMD_scalar) $(CFLAGS) tests/test_core.c $(TEST_PATHS) -o build/test_core_neon_scalar $(LDLIBS)
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_stats.c $(TEST_PATHS) -o build/test_stats_neon $(LDLIBS)
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_thresholds.c $(TEST_PATHS) -o build/test_thresholds_neon $(LDLIBS)
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_detectors.c $(TEST_PATHS) -o build/test_detectors_neon $(LDLIBS)
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_lstm.c tests/compile_impl.c $(TEST_PATHS) -o build/test_lstm_neon $(LDLIBS)
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_xai.c $(TEST_PATHS) -o build/test_xai_neon $(LDLIBS)
	$(CROSS)gcc $(STD) $(CFLAGS) tests/test_vae.c tests/compile_impl.c $(TEST_PATHS) -o build/test_vae_neon $(LDLIBS)
	@SKIP_COMPILE=1 sh tests/run.sh "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_core_neon" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_core_neon_scalar" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_stats_neon" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_thresholds_neon" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_detectors_neon" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_lstm_neon" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_xai_neon" \
	    "qemu-aarch64 -L /usr/aarch64-linux-gnu build/test_vae_neon"

# Byte order: model files are little-endian by contract.  The core and
# detector tests and tests/test_byteorder.c (the model files of thirteen
# detector kinds written on x86-64, tests/fixtures/byteorder: each loads,
# saves to the same bytes and scores as recorded) for s390x, a big-endian
# machine, cross-compiled and run under qemu-user (scalar kernels: s390x
# has none of ours).  The fixtures come from `build/test_byteorder --write
# tests/fixtures/byteorder` on x86-64 with SIMD=scalar.
BE_RUN = qemu-s390x -L /usr/s390x-linux-gnu
bigendian: | build
	$(BE_CROSS)gcc $(STD) $(CFLAGS) tests/test_byteorder.c tests/compile_impl.c $(TEST_PATHS) -o build/test_byteorder_be $(LDLIBS)
	$(BE_CROSS)gcc $(STD) $(CFLAGS) tests/test_core.c $(TEST_PATHS) -o build/test_core_be $(LDLIBS)
	$(BE_CROSS)gcc $(STD) $(CFLAGS) tests/test_detectors.c $(TEST_PATHS) -o build/test_detectors_be $(LDLIBS)
	@SKIP_COMPILE=1 sh tests/run.sh "$(BE_RUN) build/test_byteorder_be" "$(BE_RUN) build/test_core_be" \
	    "$(BE_RUN) build/test_detectors_be"

# Firmware: firmware/train.c fits each detector on the host and writes its
# model file and the series as C arrays; firmware/stream.c streams the
# series through the loaded model on the board (with firmware/startup.c
# and mps2.ld: no libc start-up, no heap, no stdio in the library) and on
# the host (scalar kernels), one line per score.  The arena of each is the
# peak it needs on the board, rounded up; the stack area is painted at
# reset to measure what a run uses.  The board builds with
# ANOMALY_NO_TRAINING (load and score only: no fit, save or gradient code
# linked) and ANOMALY_LSTM_LOAD_IN_PLACE (firmware/stream.c: the
# autoencoder's weights read where the model file lies in flash, one
# window step by step); the host build is the full library with the
# default model, so the comparison checks the options change no score.
ARM_CC     ?= arm-none-eabi-gcc
ARM_FLAGS   = -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
FW_CFLAGS   = $(STD) $(ARM_FLAGS) -Os -ffunction-sections -fdata-sections -fstack-usage -fcallgraph-info=su
FW_KINDS    = stl ae ensemble
FW_ARENA_stl      = 1536
FW_ARENA_ae       = 3200
FW_ARENA_ensemble = 11264
FW_DEFINE_stl      = FW_STL
FW_DEFINE_ae       = FW_AE
FW_DEFINE_ensemble = FW_ENSEMBLE
FW_FLAGS    = -D$(FW_DEFINE_$*) -DFW_MODEL='"model_$*.h"' -DFW_ARENA=$(FW_ARENA_$*) -Ibuild/firmware

build/firmware/train: firmware/train.c $(HEADERS) | build
	@mkdir -p build/firmware
	$(CC) $(STD) $(SIMD_scalar) -O2 $< -o $@ $(LDLIBS)

.PRECIOUS: build/firmware/model_%.h
build/firmware/model_%.h: build/firmware/train
	build/firmware/train $* $@

build/firmware/%/fw.elf: firmware/stream.c firmware/startup.c firmware/mps2.ld build/firmware/model_%.h $(HEADERS)
	@mkdir -p build/firmware/$*
	$(ARM_CC) $(FW_CFLAGS) $(FW_FLAGS) -DANOMALY_NO_TRAINING -c firmware/stream.c -o build/firmware/$*/stream.o
	$(ARM_CC) $(FW_CFLAGS) -c firmware/startup.c -o build/firmware/$*/startup.o
	$(ARM_CC) $(ARM_FLAGS) -nostartfiles --specs=nano.specs -T firmware/mps2.ld -Wl,--defsym=FW_STACK=4096 \
	    -Wl,--gc-sections build/firmware/$*/stream.o build/firmware/$*/startup.o -lm -o $@

build/firmware/%/host: firmware/stream.c build/firmware/model_%.h $(HEADERS)
	@mkdir -p build/firmware/$*
	$(CC) $(STD) $(SIMD_scalar) -O2 $(FW_FLAGS) $< -o $@ $(LDLIBS)

firmware: $(foreach k,$(FW_KINDS),build/firmware/$(k)/fw.elf build/firmware/$(k)/host)
	sh firmware/run.sh build/firmware $(FW_KINDS)

# Installation.  The library is header-only: what a consumer needs is the
# include directory and -lm, which anomaly.pc and anomalyConfig.cmake say
# (both in share/, as they do not depend on the architecture).
PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share
PKGCONFIGDIR ?= $(DATADIR)/pkgconfig
CMAKEDIR     ?= $(DATADIR)/cmake/anomaly
VERSION_MAJOR := $(shell sed -n 's/^\#define ANOMALY_VERSION_MAJOR //p' anomaly.h)
VERSION_MINOR := $(shell sed -n 's/^\#define ANOMALY_VERSION_MINOR //p' anomaly.h)
VERSION       := $(VERSION_MAJOR).$(VERSION_MINOR).$(shell sed -n 's/^\#define ANOMALY_VERSION_PATCH //p' anomaly.h)
CONFIGURE = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
                -e 's|@MAJOR@|$(VERSION_MAJOR)|g' -e 's|@MINOR@|$(VERSION_MINOR)|g'

install: build/anomaly
	@mkdir -p build/install
	$(CONFIGURE) cmake/anomaly.pc.in > build/install/anomaly.pc
	$(CONFIGURE) cmake/anomalyConfig.cmake.in > build/install/anomalyConfig.cmake
	$(CONFIGURE) cmake/anomalyConfigVersion.cmake.in > build/install/anomalyConfigVersion.cmake
	install -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" "$(DESTDIR)$(CMAKEDIR)"
	install -m 644 $(HEADERS) "$(DESTDIR)$(INCLUDEDIR)"
	install -m 755 build/anomaly "$(DESTDIR)$(BINDIR)"
	install -m 644 build/install/anomaly.pc "$(DESTDIR)$(PKGCONFIGDIR)"
	install -m 644 build/install/anomalyConfig.cmake build/install/anomalyConfigVersion.cmake "$(DESTDIR)$(CMAKEDIR)"

uninstall:
	rm -f $(addprefix "$(DESTDIR)$(INCLUDEDIR)"/,$(HEADERS)) "$(DESTDIR)$(BINDIR)/anomaly" \
	    "$(DESTDIR)$(PKGCONFIGDIR)/anomaly.pc" "$(DESTDIR)$(CMAKEDIR)/anomalyConfig.cmake" \
	    "$(DESTDIR)$(CMAKEDIR)/anomalyConfigVersion.cmake"
	rmdir "$(DESTDIR)$(CMAKEDIR)" 2> /dev/null || true

clean:
	rm -rf build bench/stl bench/lstm_ae
