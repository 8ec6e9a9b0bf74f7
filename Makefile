# Convenience entry points; the build itself is CMake.
#   make demo   install what is missing, build xfc, compile examples/llama to C, build and run it
#   make test   install what is missing, build, run every test, then again under ASan+UBSan
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test test-sanitize clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DXF_PYTHON=$(abspath $(BUILD))/venv/bin/python >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(MAKE) -C examples/llama XFC=$(abspath $(BUILD))/xfc

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize

# The same tests with xfc built under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B $(BUILD)-asan -DXF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	      -DXF_PYTHON=$(abspath $(BUILD))/venv/bin/python >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) -LE conformance

clean:
	rm -rf $(BUILD) $(BUILD)-asan
