# FeedBench: set-up, build, test, benchmark. README and .ci/run call these targets.
SHELL := /bin/bash
APT_PACKAGES := libhdf5-dev liblmdb-dev libopenblas-dev protobuf-compiler pkg-config \
	libdeflate-dev liblz4-dev libzstd-dev libblosc-dev libturbojpeg0-dev libpng-dev libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
NET ?= benchmarks/nets/mnist-mlp.yaml

.PHONY: setup build release test bench standard step-bench read-bench compressed-bench emulate-bench encoded-bench mpi-bench hostile peers clean

# Installs the Debian packages that are missing (apt-get update once, first).
setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: setup
	swift build $(SWIFT_BUILD_FLAGS)

release: setup
	swift build -c release $(SWIFT_BUILD_FLAGS)

# The test suite (debug build).
test: setup
	swift test $(SWIFT_BUILD_FLAGS)

# The main job: the storage benchmark on a small generated set (about three minutes);
# results in bench-out/ (results.csv, summary.csv, report.html).
bench: release
	.build/release/feedbench bench benchmarks/default.yaml --out bench-out

# The full matrix with the Python peers (make peers first).
standard: release
	.build/release/feedbench bench benchmarks/standard.yaml --out bench-standard

# README's read and LMDB tables, with the h5py and py-lmdb peers (make peers installs them).
read-bench: release
	.build/release/feedbench bench benchmarks/read.yaml --out bench-read

# README's compressed HDF5 tables, with the h5py (+ hdf5plugin) peers.
compressed-bench: release
	.build/release/feedbench bench benchmarks/compressed.yaml --out bench-compressed

# README's emulated-accelerator figures (ResNet-50 / H100 profile), with DLIO when installed.
emulate-bench: release
	.build/release/feedbench bench benchmarks/emulate.yaml --out bench-emulate

# README's "Over Open MPI ranks" figures: benchmarks/mpi.yaml at 1 and 2 ranks (each bound to
# one core), one MPI_Allreduce of the CIFAR MLP's gradients, and the training figures.
MPIRUN := mpirun -q $(shell [ "$$(id -u)" = 0 ] && echo --allow-run-as-root) --bind-to core --map-by core
export OMPI_MCA_btl_vader_single_copy_mechanism ?= none
mpi-bench: release
	$(MPIRUN) -n 1 .build/release/feedbench bench benchmarks/mpi.yaml --out bench-mpi-1
	$(MPIRUN) -n 2 .build/release/feedbench bench benchmarks/mpi.yaml --out bench-mpi-2
	$(MPIRUN) -n 2 .build/release/benchmarks allreduce
	benchmarks/mpi_train.sh bench-mpi-train

# Encoded images (JPEG, PNG) beside raw pixels, with the decode limit and Pillow peers
# (README, "Encoded images"; about 10 minutes; `make peers` first).
encoded-bench: release
	.build/release/feedbench bench benchmarks/encoded.yaml --out bench-encoded

# The hostile-input campaign: the fuzzer at 400 mutants per kind and every hand-made case.
hostile: setup
	benchmarks/hostile_campaign.sh 400

# Training-step time, side by side with PyTorch when it is installed (make peers).
step-bench: release
	.build/release/benchmarks step --peers

# Python packages for the peer measurements and the fixture scripts.
peers:
	python3 -m pip install -q -r benchmarks/peers/requirements.txt
	# DLIO 2.0.0 without its TensorFlow / DALI dependencies, plus the modules it imports.
	python3 -m pip install -q --no-deps dlio_benchmark==2.0.0
	python3 -m pip install -q -r benchmarks/peers/dlio-requirements.txt

clean:
	rm -rf .build
