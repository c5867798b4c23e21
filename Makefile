# merilo — one Makefile. Modules are folders; each becomes a static archive.
# Tests: tests/<prefix>_*.c link their module's archive plus common
# (tests/hrn_*.c link everything). Optional parts are detected once below.

BUILD    ?= build
CC       ?= cc
SAN      ?=
OPT      ?= -O3 -march=native
CFLAGS   ?= $(OPT) -g
# -ffp-contract=off: no FMA contraction with clang either (gcc's -std=c17 default), so a
# scalar reference kernel rounds each multiply and add as the SIMD tiles do (bit identity)
CFLAGS   += -std=c17 -ffp-contract=off -Wall -Wextra -Werror -D_GNU_SOURCE -I. -MMD -MP $(SAN)
LDFLAGS  += $(SAN)
LDLIBS   += -ljansson -lutf8proc -lpcre2-8 -lsqlite3 -lm -lpthread -ldl

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GIT_DIRTY  := $(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

# ---- optional parts: detected once, reported in one line each ----
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifneq ($(NVCC),)
  CUDA_VER := $(shell $(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
  HAVE_CUDA := 1
  CUDA_MSG := CUDA: yes (nvcc $(CUDA_VER), sm_90)
else
  HAVE_CUDA := 0
  CUDA_MSG := CUDA: no (nvcc not found; GPU backend not built)
endif
ifneq ($(wildcard /usr/include/papi.h /usr/local/include/papi.h),)
  HAVE_PAPI := 1
  PAPI_MSG := PAPI: yes (papi.h found; libpapi is loaded at run time)
else
  HAVE_PAPI := 0
  PAPI_MSG := PAPI: no (papi.h not found; counters will be reported null)
endif
# Open MPI (libopenmpi-dev) for `merilo run --mpi`: linked when pkg-config knows it
# (`make MPI=0` leaves it out, e.g. for a binary carried to a machine without it)
ifeq ($(MPI),0)
  HAVE_MPI := 0
  MPI_MSG := MPI: no (MPI=0 given; run --mpi unavailable)
else ifeq ($(shell pkg-config --exists ompi-c 2>/dev/null && echo yes),yes)
  HAVE_MPI := 1
  MPI_MSG := MPI: yes (Open MPI $(shell pkg-config --modversion ompi-c); run --mpi)
  $(BUILD)/harness/run_mpi.o: CFLAGS += $(shell pkg-config --cflags ompi-c)
  LDLIBS += $(shell pkg-config --libs ompi-c)
else
  HAVE_MPI := 0
  MPI_MSG := MPI: no (Open MPI's ompi-c not found by pkg-config; run --mpi unavailable)
endif
CFLAGS += -DMRL_HAVE_CUDA=$(HAVE_CUDA) -DMRL_HAVE_PAPI=$(HAVE_PAPI) -DMRL_HAVE_MPI=$(HAVE_MPI)
# the build description goes into one object only
$(BUILD)/harness/util.o: CFLAGS += -DMRL_GIT_COMMIT='"$(GIT_COMMIT)$(GIT_DIRTY)"' -DMRL_CFLAGS='"$(OPT) $(SAN)"'
$(BUILD)/harness/util.o: FORCE
Q := $(if $(V),,@)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
  $(info $(CUDA_MSG))
  $(info $(PAPI_MSG))
  $(info $(MPI_MSG))
endif

.DEFAULT_GOAL := all
MODULES := common engine tasks metrics records reports harness
src_of   = $(filter-out harness/main.c,$(wildcard $(1)/*.c $(1)/cpu/*.c))
$(foreach m,$(MODULES),$(eval $(m)_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(call src_of,$(m)))))
$(foreach m,$(MODULES),$(eval $(BUILD)/lib$(m).a: $$($(m)_OBJ) ; @mkdir -p $$(@D); rm -f $$@; $$(AR) rcs $$@ $$^))
FORCE:
ALL_LIBS := $(patsubst %,$(BUILD)/lib%.a,harness reports records metrics tasks engine common)

TESTS_SRC := $(wildcard tests/*.c)
TESTS     := $(patsubst tests/%.c,$(BUILD)/tests/%.t,$(TESTS_SRC))
# prefix of a test -> archives it links
libs_for = $(if $(filter hrn_%,$(1)),$(ALL_LIBS),\
           $(if $(filter eng_%,$(1)),$(BUILD)/libengine.a,\
           $(if $(filter task_%,$(1)),$(BUILD)/libtasks.a,\
           $(if $(filter met_%,$(1)),$(BUILD)/libmetrics.a,\
           $(if $(filter rpt_%,$(1)),$(BUILD)/libreports.a $(BUILD)/libmetrics.a,\
           $(if $(filter rec_%,$(1)),$(BUILD)/librecords.a,)))))) $(BUILD)/libcommon.a

.PHONY: FORCE vg-build all test test-asan bench bench-vs-llamacpp demo clean deps deps-check
all: $(BUILD)/merilo $(if $(filter build,$(BUILD)),merilo)

$(BUILD)/merilo: $(BUILD)/harness/main.o $(ALL_LIBS)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(ALL_LIBS) $(LDLIBS)
merilo: $(BUILD)/merilo
	@ln -sf $(BUILD)/merilo merilo

# ---- CUDA backend (owner: cuda; see docs/gpu.md) ----
# engine/cuda/*.cu -> $(BUILD)/libmerilo-cuda.so, dlopen'd only by --backend cuda,
# so build/merilo itself links no CUDA library. Without nvcc: nothing happens.
ifeq ($(HAVE_CUDA),1)
CUDA_SRC  := $(wildcard engine/cuda/*.cu)
CUDA_LIB  := $(BUILD)/libmerilo-cuda.so
NVCCFLAGS ?= -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
$(CUDA_LIB): $(CUDA_SRC) $(wildcard engine/cuda/*.h) engine/eng_int.h engine/eng.h engine/gguf.h common/err.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  NVCC    $@")
	$(Q)$(NVCC) $(NVCCFLAGS) -I. -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra -shared -cudart static -o $@ $(CUDA_SRC) \
		-lcublas -Xlinker -rpath,'$$ORIGIN:/usr/local/cuda/lib64'
all test: $(CUDA_LIB)
endif
# ---- end of the CUDA section ----

# The settings every object is compiled with, kept in a file that changes only when
# they do (an optional part found or lost, other OPT or SAN): objects depend on it,
# so installing Open MPI or PAPI after a build rebuilds what it changes.
BUILD_FLAGS := $(CC) $(OPT) $(SAN) CUDA=$(HAVE_CUDA) PAPI=$(HAVE_PAPI) MPI=$(HAVE_MPI)
$(BUILD)/.build-flags: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(BUILD)/%.o: %.c $(BUILD)/.build-flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/%.t: $(BUILD)/tests/%.o $$(call libs_for,%)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(call libs_for,$*) $(LDLIBS)

# The deterministic perf gate counts instructions under valgrind, which does not
# know AVX-512: where valgrind exists (x86-64, no sanitizers), `make test` also
# builds a merilo for x86-64-v3 (AVX2) in $(BUILD)-vg/ and points MERILO_VG at it.
ifneq ($(shell command -v valgrind 2>/dev/null),)
ifeq ($(SAN)$(shell uname -m),x86_64)
VG_BUILD := vg-build
vg-build:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)-vg OPT='-O2 -march=x86-64-v3' $(BUILD)-vg/merilo
endif
endif

# Tests run from the repo root; MERILO points at the binary for CLI tests. Then
# ci/check-structure.sh holds the house rules (docs/architecture.md) on the objects.
# prove runs PROVE_JOBS test files at once (default: the online CPUs); every test
# makes its own temporary files, so they are independent. PROVE_JOBS=1 for a serial run.
PROVE_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
# Real-weights conformance (tests/eng_conformance_real.c) needs llama.cpp's
# quantizations of SmolLM2 and its perplexities: tests/smollm2-fixtures.sh makes
# them once under $(BUILD)/smollm2/ (about 2 minutes on 2 cores; never committed).
# Where ../shared/tools/llama.cpp or the model is absent it exits 77 and the test
# prints its SKIP. SMOLLM2=0 leaves them out (the sanitizer builds do: the kernels
# are covered there by the kernel tests).
SMOLLM2 ?= 1
.PHONY: smollm2-fixtures
smollm2-fixtures: $(BUILD)/merilo
	@$(if $(filter 1,$(SMOLLM2)),MERILO=$(abspath $(BUILD)/merilo) sh tests/smollm2-fixtures.sh $(BUILD)/smollm2 || \
		{ rc=$$?; [ $$rc = 77 ] || { echo "smollm2-fixtures: failed (exit $$rc; see $(BUILD)/smollm2/quantize.log)" >&2; exit 1; }; \
		  echo "smollm2-fixtures: llama.cpp's tools or the model are absent; eng_conformance_real will skip"; },:)
# A failing run shows the failed files' own lines (prove -f prints only the top level of a
# subtest): they are run again, verbose, their failures and diagnostics kept (the run
# still fails, whether or not they pass the second time).
TEST_ENV = MERILO=$(abspath $(BUILD)/merilo) $(if $(VG_BUILD),MERILO_VG=$(abspath $(BUILD)-vg/merilo))
test: deps-check $(TESTS) $(BUILD)/merilo $(VG_BUILD) smollm2-fixtures
	@rm -f $(BUILD)/.prove
	$(TEST_ENV) prove -f -j$(PROVE_JOBS) $(if $(V),-v) --statefile=$(BUILD)/.prove --state=save $(TESTS) || { \
		echo "== the failed test files again, verbose (not ok lines and diagnostics) =="; \
		$(TEST_ENV) prove -v --statefile=$(BUILD)/.prove --state=failed 2>&1 | grep -E 'not ok|#|^[^ ]' | head -300; \
		exit 1; }
	@BUILD=$(BUILD) ci/check-structure.sh

# Sanitizers under gcc ($(ASAN_BUILD)/) and clang ($(ASAN_BUILD)-clang/): their
# UBSans catch different things (only clang's reports NULL + 0); without clang,
# one line says so. The gcc build targets x86-64-v3 where the CPU has AVX2, so
# the AVX2/FMA/F16C kernels run under the sanitizers; the clang build targets
# baseline x86-64, so the plain-C kernels do. intercept_tls_get_addr=0: LeakSanitizer's tracer crashes at
# exit on GCC 12 / glibc 2.36 once libpapi (dlopen'd) has created dynamic TLS;
# leak checks stay on.
ASAN_BUILD ?= build-asan
ASAN_MAKE  := ASAN_OPTIONS=intercept_tls_get_addr=0 $(MAKE) SMOLLM2=0 \
	SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
CLANG      ?= $(shell command -v clang 2>/dev/null)
ASAN_GCC_OPT := -O1 $(if $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo y),-march=x86-64-v3)
.PHONY: test-asan-gcc test-asan-clang
test-asan: test-asan-gcc $(if $(CLANG),test-asan-clang)
	@$(if $(CLANG),:,echo "test-asan: clang not found, so only the gcc build was tested (ci/install-deps.sh --ci installs it)")
test-asan-gcc:
	$(ASAN_MAKE) CC=gcc OPT='$(ASAN_GCC_OPT)' BUILD=$(ASAN_BUILD) test
test-asan-clang:
	$(ASAN_MAKE) CC=$(or $(CLANG),clang) OPT=-O1 BUILD=$(ASAN_BUILD)-clang test

# The demo: a random-weight model (clearly named: it measures the pipeline, not
# quality) on the built-in bilingual demo suite, every language and the perplexity set.
DEMO_MODEL := $(BUILD)/demo/random-weights-llama-tiny-f16.gguf
$(DEMO_MODEL): | $(BUILD)/merilo
	@mkdir -p $(@D)
	$(BUILD)/merilo synth --arch llama --preset tiny --dtype f16 --seed 1 -o $@
demo: deps all $(DEMO_MODEL)
	$(BUILD)/merilo run --model $(DEMO_MODEL) --suite tasks/suites/demo.json --seed 1 --out runs/demo-$$(date -u +%Y%m%dT%H%M%SZ)

deps deps-check:
	@ci/install-deps.sh

# CPU speed on 110M-shaped random-weight models (prefill 128, decode 32, 2 threads)
bench: all
	BUILD=$(BUILD) ci/bench.sh

# merilo vs llama.cpp's llama-bench, same files and threads, interleaved rounds, medians
# (prints "llama.cpp not found" and succeeds where ../shared/tools/llama.cpp is absent)
bench-vs-llamacpp: all
	BUILD=$(BUILD) ci/bench-vs-llamacpp.sh

clean:
	rm -rf build build-* merilo

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
