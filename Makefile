# The two commands of the README: `make run` and `make test`.
GO ?= go
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test build vet staticcheck bench

run:
	$(GO) run ./cmd/sluice serve --demo

build:
	$(GO) build -o sluice ./cmd/sluice

test: vet staticcheck
	$(GO) test -race -count=1 ./...
	cd test/armsecurity013 && $(GO) vet ./... && $(GO) test -race -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
