# sluice: build, test, install. `make install PREFIX=~/.local` or `make install DESTDIR=/tmp/pkg PREFIX=/usr`.

# Every installed binary (the [[bin]] targets of Cargo.toml). Man pages and completions are
# whatever `make docs` generated into man/ and completions/.
BINS = s3put s3ls s3get s3rm swift-slo-put swift-ls swift-get rdbcheck

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
CARGO ?= cargo
INSTALL ?= install

MAN1 = $(wildcard man/*.1)
MAN7 = $(wildcard man/*.7)
BASHCOMP = $(wildcard completions/bash/*)
ZSHCOMP = $(wildcard completions/zsh/_*)
FISHCOMP = $(wildcard completions/fish/*.fish)

.PHONY: all release test soak demo docs bench install uninstall check-install fuzz

all: release

release:
	$(CARGO) build --release --locked $(foreach b,$(BINS),--bin $(b))

# The README's test command: real servers up, every test, servers down.
test:
	bash scripts/run-tests

# The fault soak (tests/soak.rs): 100 backups and restores through the fault proxy in front of
# the 3-node Garage cluster, about 3 minutes; CI runs it after `make test`. Only the cluster is
# started. Replay a failure with SLUICE_SOAK_SEED=<printed seed> make soak.
soak:
	SLUICE_TEST_SERVERS=garage-cluster bash scripts/run-tests --test soak -- --ignored --nocapture

# Installs into ~/.local, starts a throwaway Garage, runs the main pipelines.
demo:
	sh scripts/demo

# Regenerates man/ and completions/ from the clap definitions and lib/cli/doc.rs.
docs:
	SLUICE_REGENERATE=1 $(CARGO) test --test docs

# Never part of `make test`: every binary against its peers, one table, BENCHMARKS.md.
bench:
	bench/run

install: release
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man7" \
		"$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	$(INSTALL) -m 755 $(addprefix target/release/,$(BINS)) "$(DESTDIR)$(BINDIR)/"
	$(INSTALL) -m 644 $(MAN1) "$(DESTDIR)$(MANDIR)/man1/"
	$(INSTALL) -m 644 $(MAN7) "$(DESTDIR)$(MANDIR)/man7/"
	$(INSTALL) -m 644 $(BASHCOMP) "$(DESTDIR)$(BASHCOMPDIR)/"
	$(INSTALL) -m 644 $(ZSHCOMP) "$(DESTDIR)$(ZSHCOMPDIR)/"
	$(INSTALL) -m 644 $(FISHCOMP) "$(DESTDIR)$(FISHCOMPDIR)/"

# Removes exactly what `install` put there (same PREFIX and DESTDIR), nothing else.
uninstall:
	rm -f $(foreach f,$(BINS),"$(DESTDIR)$(BINDIR)/$(f)") \
		$(foreach f,$(notdir $(MAN1)),"$(DESTDIR)$(MANDIR)/man1/$(f)") \
		$(foreach f,$(notdir $(MAN7)),"$(DESTDIR)$(MANDIR)/man7/$(f)") \
		$(foreach f,$(notdir $(BASHCOMP)),"$(DESTDIR)$(BASHCOMPDIR)/$(f)") \
		$(foreach f,$(notdir $(ZSHCOMP)),"$(DESTDIR)$(ZSHCOMPDIR)/$(f)") \
		$(foreach f,$(notdir $(FISHCOMP)),"$(DESTDIR)$(FISHCOMPDIR)/$(f)")

# Installs into a temporary DESTDIR, checks every file landed and works, uninstalls, and
# checks nothing is left. Needs a release build, so it is not part of `make test`.
check-install:
	sh scripts/check-install

# A short fuzzing run of the RDB validator (needs a nightly toolchain and cargo-fuzz).
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	mkdir -p fuzz/corpus
	cd fuzz && ASAN_OPTIONS=detect_leaks=0 cargo +nightly fuzz run rdb_validate corpus seeds -- -max_total_time=$${FUZZ_SECONDS:-60} -detect_leaks=0
