# make conformance: randomized differential test of libdeconv against TensorFlow through the C
# ABI (Tests/conformance/README.md). Builds its own venv with numpy and tensorflow-cpu from PyPI.
#   CONFORMANCE_SEED   seed (default 1)         CONFORMANCE_CASES  number of configs (10000)
#   CONFORMANCE_START  first case index (0)     CONFORMANCE_ARGS   extra run.py arguments
#   CONFORMANCE_PYTHON interpreter for the venv (python3)
CONFORMANCE_SEED   ?= 1
CONFORMANCE_CASES  ?= 10000
CONFORMANCE_START  ?= 0
CONFORMANCE_ARGS   ?=
CONFORMANCE_PYTHON ?= python3
CONFORMANCE_VENV   := $(BUILD)/conformance-venv
CONFORMANCE_STAMP  := $(CONFORMANCE_VENV)/.installed-tf2.21.0

.PHONY: conformance
conformance: $(SHARED) $(BUILD)/libdeconv.so $(CONFORMANCE_STAMP) $(BUILD)/conformance_layout.json
	$(CONFORMANCE_VENV)/bin/python Tests/conformance/worker_check.py
	$(CONFORMANCE_VENV)/bin/python Tests/conformance/run.py --lib $(BUILD)/libdeconv.so \
	    --layout-json $(BUILD)/conformance_layout.json --seed $(CONFORMANCE_SEED) \
	    --cases $(CONFORMANCE_CASES) --start $(CONFORMANCE_START) $(CONFORMANCE_ARGS)

$(CONFORMANCE_STAMP):
	rm -rf $(CONFORMANCE_VENV)
	$(CONFORMANCE_PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	    numpy tensorflow-cpu==2.21.0
	touch $@

# The C compiler's struct layout, which abi.py's ctypes declarations must match.
$(BUILD)/conformance_layout.json: Tests/conformance/layout_check.c include/deconv.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(BASEFLAGS) $< -o $(BUILD)/conformance_layout
	$(BUILD)/conformance_layout > $@

