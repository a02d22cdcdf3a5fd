#!/bin/sh
# Build every fuzz target tests/fuzz/fuzz_<module>_<name>.c with clang's
# libFuzzer + ASan + UBSan into $1/fuzz/, from the sources of <module>, the
# modules it depends on, and util. Without clang this prints a note and builds
# nothing (the targets are then not run).
set -eu
BUILD=${1:-build}
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: clang not found, fuzz targets not built"
	exit 0
fi
PKGS="yaml-0.1 libgit2 libcurl openssl libcjson libmicrohttpd expat gpgme"
CFLAGS="-g -O1 -std=c17 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread -lm"
mkdir -p "$BUILD/fuzz"
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	module=$(echo "$name" | cut -d_ -f2)
	case "$module" in
	util) mods="util" ;;
	aws | manifest) mods="$module util" ;;
	reconcile) mods="reconcile aws manifest util" ;;
	cmd) mods="cmd reconcile aws manifest util" ;;
	*) echo "fuzz: $src: unknown module '$module'" >&2; exit 1 ;;
	esac
	srcs=""
	for m in $mods; do
		for f in "$m"/*.c "$m"/*/*.c; do # modules may have subfolders (cmd/daemon/)
			[ "$f" = cmd/aliasd.c ] && continue
			[ -f "$f" ] && srcs="$srcs $f"
		done
	done
	out="$BUILD/fuzz/$name"
	# rebuild only when a source is newer than the binary
	stale=1
	if [ -x "$out" ]; then
		stale=0
		for f in "$src" $srcs $(ls "$(dirname "$src")"/*.h 2>/dev/null) $(for m in $mods; do ls "$m"/*.h "$m"/*/*.h 2>/dev/null; done); do
			[ "$f" -nt "$out" ] && stale=1 && break
		done
	fi
	if [ "$stale" -eq 1 ]; then
		echo "fuzz: building $name"
		# shellcheck disable=SC2086
		$CLANG $CFLAGS "$src" $srcs $LIBS -o "$out"
	fi
done
