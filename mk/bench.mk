# make bench: libdeconv's benchmark over the suite (bench/bench.c), linked against the static
# library of this build. BENCH_ARGS="--threads N --filter NAME --json" go to the benchmark.
# bench/compare runs the same layers through oneDNN, TensorFlow and ONNX Runtime (own venv).
BENCH_BIN  := $(BUILD)/bench/bench
BENCH_ARGS ?=

.PHONY: bench
bench: $(BENCH_BIN)
	$(BENCH_BIN) $(BENCH_ARGS)

$(BENCH_BIN): bench/bench.c include/deconv.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -pthread bench/bench.c \
	    $(STATIC) -o $@ $(LDFLAGS) $(LIBS)

# make bench-ukr: one GEMM micro-kernel alone on an L1-resident tile (bench/ukr_bench.c), e.g.
# BENCH_UKR_ARGS="--kc 5 --ntaps 5 --isa avx512". Built by `make check` so it cannot rot.
UKR_BENCH_BIN  := $(BUILD)/bench/ukr_bench
BENCH_UKR_ARGS ?=

.PHONY: bench-ukr
bench-ukr: $(UKR_BENCH_BIN)
	$(UKR_BENCH_BIN) $(BENCH_UKR_ARGS)

$(UKR_BENCH_BIN): bench/ukr_bench.c $(HDRS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -ISources/CDeconv -pthread \
	    bench/ukr_bench.c $(STATIC) -o $@ $(LDFLAGS) $(LIBS)

# Both benchmarks are compiled by make check, with the compiler of that build, and the suite
# benchmark runs every layer once in both layouts (Tests/bench/smoke.py; no timing judged).
check: $(BENCH_BIN) $(UKR_BENCH_BIN) bench-smoke

.PHONY: bench-smoke
bench-smoke: $(BENCH_BIN)
	python3 Tests/bench/smoke.py $(BENCH_BIN)
