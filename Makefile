# kpos — build, test and measure the terminal firmware.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    = -s -w -X main.version=$(VERSION)
# The development build: the production firmware plus the laboratory (the
# simulated board, host and card simulators, test keys). `make arm` and the
# device image are built without it.
DEV_TAGS   = sim
# Packages whose tests run under qemu-arm-static: the pure-Go ones (the kpos
# command's tests build and run the cgo binary; the HIL suite covers it).
ARM_TEST_PKGS = $(shell $(GO) list ./hal/... ./firmware/... ./drivers/... ./tools/scenario/... ./tools/hostsim/... | grep -v -e /firmware/cmd/kpos -e /drivers/pcsc)

.PHONY: run test unit lint arm prodcheck test-arm hil bench fuzz fuzzcheck fresh deps clean image vm-test

run: ## the terminal on the simulated board, in this window (needs no C compiler and no system package)
	CGO_ENABLED=0 $(GO) run -tags $(DEV_TAGS) ./firmware/cmd/kpos -board sim

test: ## the test suite: lint, unit and integration tests, scenarios (CI adds arm, test-arm, hil, fresh)
	@scripts/deps.sh test
	$(MAKE) lint
	$(GO) test -tags $(DEV_TAGS) -count=1 -timeout 15m ./...

unit: ## the tests alone, without installing anything
	$(GO) test -tags $(DEV_TAGS) ./...

lint: ## gofmt, go vet and staticcheck on both builds, and a tidy go.mod
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags $(DEV_TAGS) ./...
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags $(DEV_TAGS) ./...
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1; }
	$(MAKE) fuzzcheck

arm: ## ARMv7 hard-float (cgo, PC/SC) and arm64 binaries into build/
	@scripts/deps.sh arm
	mkdir -p build/armv7 build/arm64
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
	  PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o build/armv7/kpos ./firmware/cmd/kpos
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	  PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o build/arm64/kpos ./firmware/cmd/kpos
	@file build/armv7/kpos build/arm64/kpos
	$(MAKE) prodcheck

prodcheck: ## the production ARMv7 binary carries nothing of the laboratory
	KPOS_PRODUCTION_BINARY=$(abspath build/armv7/kpos) $(GO) test -count=1 -run '^TestProductionBinaryCarriesNoLab$$' ./firmware/cmd/kpos

test-arm: ## the pure-Go packages' tests under qemu-arm-static, and the PC/SC driver's as an ARMv7 cgo build
	@scripts/deps.sh arm
	@scripts/deps.sh test
	KPOS_TEST_EXEC=qemu-arm-static CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) test -count=1 -timeout 20m -exec qemu-arm-static $(ARM_TEST_PKGS)
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
	  PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig \
	  $(GO) test -count=1 -timeout 10m -exec 'qemu-arm-static -L /' ./drivers/pcsc/ ./tools/cardsim/

hil: ## hardware-in-the-loop: the amd64 and ARMv7 binaries against pcscd, emulators and the host; power cuts; leak check
	@scripts/deps.sh hil
	$(GO) run ./tools/hil

# The firmware version the device image carries (the updater compares
# versions, so it is a semantic version).
IMAGE_VERSION ?= 1.0.0
ARMV7_ENV = CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
  PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig

image: ## the ARMv7 device image and qemu virt kernel + initramfs into build/image (docs/image.md)
	@scripts/deps.sh arm
	@scripts/deps.sh image
	mkdir -p build/image
	$(ARMV7_ENV) $(GO) build -trimpath -ldflags '-s -w -X main.version=$(IMAGE_VERSION)' -o build/image/kpos ./firmware/cmd/kpos
	$(GO) run ./tools/image -kpos build/image/kpos

vm-test: image ## boot the image in qemu: sales, power cuts, A/B update and rollback, the V4L2 camera (docs/image.md)
	$(GO) run ./tools/vmtest

bench: ## the performance figures the issues ask for
	@scripts/deps.sh bench
	$(MAKE) arm
	$(GO) run ./tools/bench

fuzz: ## every fuzz target for FUZZTIME each (default 10s)
	$(GO) run ./tools/fuzzall -fuzztime $${FUZZTIME:-10s}

fuzzcheck: ## every exported Parse*/Decode*/Load*/Unmarshal* in firmware, drivers, boards has a fuzz target or a reason
	$(GO) run ./tools/fuzzcheck

deps: ## install the Debian packages of every target (as root)
	scripts/deps.sh test; scripts/deps.sh arm; scripts/deps.sh bench

fresh: ## the README's two commands in a clean Debian 12 root (as root; the base root is cached in build/fresh)
	scripts/fresh.sh

clean:
	rm -rf build
