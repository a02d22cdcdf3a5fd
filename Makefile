# aliasd - GitOps reconciler for AWS Lambda versions and aliases.
#
#   make                  build build/aliasd
#   make check            install missing Debian packages, build, run every test
#   make check SANITIZE=1 the same under ASan+UBSan (objects in build/asan)
#   make demo             run aliasd against the Lambda emulator and examples/
#   make bench            benchmarks (ratios against a baseline in the same run)
#   make format / format-check / clean / install
#   make man              man pages (build/man/) from deploy/man/*.scd
#   make deb              the Debian package (build/deb/aliasd_VERSION_ARCH.deb)
#
# Modules are static archives with one-way dependencies:
#   cmd -> reconcile -> {manifest, aws} -> util
# A unit test tests/unit/test_<module>*.c links only its module and what that
# module depends on, so a broken file in one module never breaks another's tests.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
PKG_CONFIG ?= pkg-config
PKGS      := yaml-0.1 libgit2 libcurl openssl libcjson libmicrohttpd expat gpgme

ifeq ($(SANITIZE),1)
BUILD     ?= build/asan
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT       ?= -O1
else
BUILD     ?= build
SANFLAGS  :=
OPT       ?= -O2
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Werror
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -I. $(PKG_CFLAGS) \
	      -DALIASD_VERSION='"$(VERSION)"' -MMD -MP
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)
LIBS     := $(PKG_LIBS) -lpthread -lm

MODULES  := util aws manifest reconcile cmd
# each module's archive, followed by those it depends on (link order)
DEPS_util      := util
DEPS_aws       := aws util
DEPS_manifest  := manifest util
DEPS_reconcile := reconcile aws manifest util
DEPS_cmd       := cmd reconcile aws manifest util

src_of = $(filter-out cmd/aliasd.c,$(wildcard $(1)/*.c $(1)/*/*.c))
obj_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(call src_of,$(1)))
lib_of = $(foreach m,$(DEPS_$(1)),$(BUILD)/lib$(m).a)

BIN      := $(BUILD)/aliasd
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))
HARNESS  := $(BUILD)/obj/tests/unit/harness.o

.PHONY: all check tests deps demo bench clean format format-check install fuzz examples man deb
.DEFAULT_GOAL := all

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

define module_rule
$(BUILD)/lib$(1).a: $(call obj_of,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rule,$(m))))

$(BIN): $(BUILD)/obj/cmd/aliasd.o $(call lib_of,cmd)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# module of a test or tool = the word after "test_" (or the first word of a tool)
mod_of_test = $(firstword $(filter $(MODULES),$(subst _, ,$(patsubst test_%,%,$(1)))))

# keep objects of tests and tools (make would delete them as intermediates)
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(HARNESS) $$(call lib_of,$$(call mod_of_test,%))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $$(call lib_of,$$(call mod_of_test,%))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

tests: $(BIN) $(UNIT_BIN) $(TOOL_BIN) examples

deps:
	@deploy/install-deps.sh

# Fuzz targets need clang's libFuzzer; built and run briefly when clang exists.
fuzz:
	@tests/fuzz/build.sh $(BUILD)

# The fuzz targets are always clang's libFuzzer+ASan+UBSan, whatever SANITIZE
# says: `make check SANITIZE=1` runs the ones `make check` built in build/fuzz/
# (building them only if they are missing or stale) rather than a second copy.
FUZZ_BUILD ?= $(if $(filter 1,$(SANITIZE)),build,$(BUILD))
check: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory fuzz BUILD=$(FUZZ_BUILD)
	@BUILD=$(BUILD) FUZZ_DIR=$(FUZZ_BUILD)/fuzz SANITIZE=$(SANITIZE) tests/run.sh

examples:
	@if [ -f examples/Makefile ]; then $(MAKE) --no-print-directory -C examples; fi

demo: deps
	@$(MAKE) --no-print-directory all examples
	@deploy/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) tests/bench/run.sh

CLANG_FORMAT ?= clang-format
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)
format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC)

# The binary, the systemd unit (ExecStart pointing at where the binary went),
# the example config (no secrets in it: they come through LoadCredential=, so
# it is world-readable for DynamicUser; CONFIG_NAME=aliasd.yaml installs it as
# the config itself, as the Debian package does), the man pages, the bash
# completion, and under share/doc/aliasd the IAM policy, the README, the
# example config, the examples/ repository and the --help text of every command.
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= /etc/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
CONFIG_NAME ?= aliasd.yaml.example
DOCDIR := $(DESTDIR)$(PREFIX)/share/doc/aliasd
EXAMPLE_FILES = $(shell find examples -path examples/build -prune -o -type f ! -name '*.pyc' \
		! -path '*/__pycache__/*' -print | sort)
install: $(BIN) man
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/aliasd
	@mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|^ExecStart=/usr/local/bin/aliasd |ExecStart=$(BINDIR)/aliasd |' deploy/aliasd.service \
		> $(DESTDIR)$(UNITDIR)/aliasd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/aliasd.service
	install -D -m 0644 deploy/aliasd.yaml $(DESTDIR)/etc/aliasd/$(CONFIG_NAME)
	install -D -m 0644 $(BUILD)/man/aliasd.1 $(DESTDIR)$(MANDIR)/man1/aliasd.1
	install -D -m 0644 $(BUILD)/man/aliasd.yaml.5 $(DESTDIR)$(MANDIR)/man5/aliasd.yaml.5
	install -D -m 0644 $(BUILD)/man/aliasd-manifest.5 $(DESTDIR)$(MANDIR)/man5/aliasd-manifest.5
	install -D -m 0644 deploy/aliasd.bash-completion $(DESTDIR)$(BASHCOMPDIR)/aliasd
	install -D -m 0644 deploy/iam-policy.json $(DOCDIR)/iam-policy.json
	install -D -m 0644 deploy/iam-role-trust.json $(DOCDIR)/iam-role-trust.json
	install -D -m 0644 deploy/iam-assume-roles.json $(DOCDIR)/iam-assume-roles.json
	install -D -m 0644 deploy/aliasd.yaml $(DOCDIR)/aliasd.yaml.example
	install -D -m 0644 README.md $(DOCDIR)/README.md
	for f in $(EXAMPLE_FILES); do install -D -m 0644 $$f $(DOCDIR)/$$f || exit 1; done
	{ $(BIN) --help; for v in $$($(BIN) --help | awk '/^Commands:/ { on = 1; next } \
		on && /^[^ ]/ { on = 0 } on && /^  [a-z]/ && $$1 != "help" { print $$1 }'); do \
		printf '\n\n== aliasd %s\n\n' $$v; $(BIN) help $$v; done; } > $(BUILD)/aliasd.txt
	install -D -m 0644 $(BUILD)/aliasd.txt $(DOCDIR)/aliasd.txt

# Man pages: deploy/man/*.scd through scdoc (Debian's scdoc package), with
# hyphenation off (.nh) so that option, key and variable names are never
# split across lines.
SCDOC   ?= scdoc
MAN_SRC := $(wildcard deploy/man/*.scd)
MAN_OUT := $(patsubst deploy/man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
man: $(MAN_OUT)
$(BUILD)/man/%: deploy/man/%.scd
	@mkdir -p $(dir $@)
	$(SCDOC) < $< | sed '/^\.TH /a .nh' > $@.tmp && mv $@.tmp $@

# The Debian package, built with dpkg-buildpackage and debhelper in a copy of
# the tree under build/deb/ (the working tree stays clean):
# build/deb/aliasd_$(VERSION)_<arch>.deb.  deploy/debian/ becomes debian/.
# Installs missing build dependencies first (as `make check` does), and
# fails if lintian reports an error.
DEB_DIR ?= build/deb
DEB_SRC := $(DEB_DIR)/aliasd-$(VERSION)
deb:
	@deploy/install-deps.sh --build
	@v=$$(dpkg-parsechangelog -l deploy/debian/changelog -S Version); \
	if [ "$$v" != "$(VERSION)" ]; then \
		echo "deb: deploy/debian/changelog is at $$v, the Makefile at $(VERSION)" >&2; exit 1; fi
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude=./.git --exclude=./.requests --exclude=./examples/build \
		--exclude=__pycache__ --exclude=./deploy/debian . \
		| tar -xf - -C $(DEB_SRC)
	cp -R deploy/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u BUILD \
		-u CFLAGS -u CPPFLAGS -u LDFLAGS DEB_BUILD_OPTIONS="parallel=2 noddebs $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -b -us -uc
	lintian --fail-on error $(DEB_DIR)/aliasd_$(VERSION)_*.deb
	@ls $(DEB_DIR)/aliasd_$(VERSION)_*.deb

clean:
	rm -rf build
	@if [ -f examples/Makefile ]; then $(MAKE) --no-print-directory -C examples clean; fi

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
