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
