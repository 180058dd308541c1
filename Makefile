# RNA: IM2000 Recipient Notification Agent. See README.md.
#
#   make            build everything into $(BUILD)/
#   make check      build and run the whole test suite
#   make check-san  the suite again under AddressSanitizer + UBSan
#   make fuzz       run every libFuzzer target for $(FUZZTIME) seconds
#   make run        install what is missing, build, start a demo agent
#   make stop       stop it
#   make install    programs and man pages under $(DESTDIR)$(PREFIX)
#
# BUILD may be pointed elsewhere so differently-flagged builds coexist:
#   make BUILD=build-san CC=clang CFLAGS='-O1 -g -fsanitize=address,undefined'

BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
WFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla \
         -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Ilib -Itests/lib
LDFLAGS += -Wl,--as-needed
LDLIBS = -lcdb -lcrypt -lresolv
FUZZTIME ?= 60

ALL_PROGS = rna-pdu rna-store rnasp-d rnaqp-d rna-admin rna-clean rna-notify rna-query rna-conf
PROGS = $(foreach p,$(ALL_PROGS),$(if $(wildcard $(p)/$(p).c),$(p)))
prog_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c))
LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_HDR = $(wildcard lib/*.h)
# every header, program-local and test ones too: an edit rebuilds what may use it
ALL_HDR = $(wildcard lib/*.h */*.h tests/lib/*.h)
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TLIB_OBJ = $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(wildcard tests/lib/*.c))
BIN = $(PROGS:%=$(BUILD)/bin/%)

all: $(BIN) $(UNIT_BIN)

$(BUILD)/%.o: %.c $(ALL_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/librna.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# Each program: DIR/DIR.c plus any other DIR/*.c, linked with lib/.
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(call prog_objs,$$*) $(BUILD)/librna.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TLIB_OBJ) $(BUILD)/librna.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Benchmark programs: bench/NAME.c, linked with lib/.
BENCH_SRC = $(wildcard bench/*.c)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/librna.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-mem: $(BIN) $(BENCH_BIN)
	BUILD=$(BUILD) sh bench/store-mem.sh

# The figures of bench/RESULTS.md; needs redis-server (installed if missing).
bench: $(BIN) $(BENCH_BIN)
	command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; }
	BUILD=$(BUILD) sh bench/run.sh

# The long torture runs (make check runs the same programs, shortened).
TORTURE_FUZZTIME ?= 300
torture: all
	RNA_CRASH_CYCLES=1000 RNA_HOSTILE_FRAMES=100000 RNA_IDLE=1000 RNA_TORTURE=1 \
	  BUILD=$(BUILD) TESTS="store_crash filter_crash hostile diskfull slowclients" sh tests/run.sh
	$(MAKE) fuzz FUZZTIME=$(TORTURE_FUZZTIME)

check: all
	BUILD=$(BUILD) sh tests/run.sh

check-san:
	$(MAKE) BUILD=build-san CC=clang \
	  CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all' \
	  check

# libFuzzer targets: fuzz/NAME.c, one per decoder, seeds in fuzz/corpus/NAME/.
FUZZ_SRC = $(wildcard fuzz/*.c)
FUZZ_BIN = $(FUZZ_SRC:fuzz/%.c=build-fuzz/fuzz/%)
FUZZ_CFLAGS = -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build-fuzz/fuzz/%: fuzz/%.c $(LIB_SRC) $(ALL_HDR)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(WFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	sh fuzz/run.sh $(FUZZTIME)

clean:
	rm -rf build build-san build-fuzz

# make run: a demo agent on 127.0.0.1 (tools/run.sh); make stop ends it.
DEMO ?= demo
run:
	BUILD='$(BUILD)' DEMO='$(DEMO)' MAKE='$(MAKE)' sh tools/run.sh
stop:
	DEMO='$(DEMO)' sh tools/stop.sh

# make install PREFIX=/usr/local DESTDIR=: programs and man pages.
PREFIX ?= /usr/local
install: $(BIN)
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	for f in $(wildcard doc/*.1); do install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man1/; done
	for f in $(wildcard doc/*.8); do install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man8/; done


.SECONDARY:
.PHONY: torture bench bench-mem all check check-san fuzz fuzz-build clean run stop install
