# nnq — see README.md.
GO ?= go
OUT ?= out

.PHONY: all build test image-test demo verify bench data notebooks fmt vet clean

all: build

build:
	$(GO) build -o bin/nnq ./cmd/nnq

# Every test, installing what is missing (the README's test command; CI runs it).
test:
	scripts/test.sh

# The Docker image build and the notebooks run inside it (an hour or more;
# not part of test).
image-test:
	NNQ_WITH_IMAGE=1 scripts/install-deps.sh
	go test -count=1 -timeout 90m -run '^TestImageBuildsAndRunsTheNotebooks$$' -v ./docker

# The main job on the bundled example: convert the keyword-spotting DS-CNN
# and verify the generated C bit-exactly on the host.
demo: build
	bin/nnq convert --model data/kws-dscnn/model.arrow --patterns data/kws/patterns.arrow --out $(OUT)/kws-dscnn
	bin/nnq verify $(OUT)/kws-dscnn

bench: build
	bin/nnq bench --out docs

# Execute every notebook and store it with its outputs (commit them on
# their own); notebooks/run.sh without --store checks them (CI).
notebooks:
	notebooks/run.sh --store

# Regenerate the bundled data sets and networks from scratch (slow; not CI).
data:
	$(MAKE) -C data

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin $(OUT)
