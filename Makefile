# Convenience entry points; the build itself is CMake.
#   make demo   install what is missing, build xfc, compile examples/llama to C, build and run it
#   make test   install what is missing, build, run every test, then again under ASan+UBSan, then
#               build and unit-test every build type with gcc and clang
BUILD ?= build
JOBS ?= $(shell nproc)
# CI builds with warnings as errors; a local build only reports them.
WERROR ?= $(if $(CI),ON,OFF)

.PHONY: all deps build demo test test-sanitize build-types clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DXF_WERROR=$(WERROR) -DXF_PYTHON=$(abspath $(BUILD))/venv/bin/python >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(MAKE) -C examples/llama XFC=$(abspath $(BUILD))/xfc

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize
	$(MAKE) build-types

# xfc, its libraries and tests build warning-free in every build type with gcc and clang (the
# optimisers of Release builds find maybe-uninitialized paths that Debug builds do not), and the
# unit and golden tests pass in each (an optimiser can also expose undefined behaviour).
build-types: deps
	for cc in gcc clang; do for type in Release Debug RelWithDebInfo; do \
	  dir=$(BUILD)-types/$$cc-$$type; \
	  CC=$$cc cmake -S . -B $$dir -DCMAKE_BUILD_TYPE=$$type -DXF_WERROR=ON \
	        -DBUILD_TESTING=ON -DXF_PYTHON=$(abspath $(BUILD))/venv/bin/python >/dev/null && \
	  cmake --build $$dir -j $(JOBS) >/dev/null && \
	  (cd $$dir && ctest -j $(JOBS) -L 'unit|golden' --no-tests=error --output-on-failure >ctest.log || { tail -40 ctest.log; exit 1; }) || exit 1; \
	  echo "built and tested: $$cc $$type"; done; done

# The same tests with xfc built under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B $(BUILD)-asan -DXF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DXF_WERROR=$(WERROR) \
	      -DXF_PYTHON=$(abspath $(BUILD))/venv/bin/python >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -LE conformance

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-types
