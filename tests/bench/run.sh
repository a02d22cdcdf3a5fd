#!/bin/sh
# make bench: run every benchmark tests/bench/bench_*.{py,sh}. Each prints its
# own measurements and the ratio against a baseline measured in the same run,
# and exits non-zero when it misses its target.
set -u
BUILD=${BUILD:-build}
export BUILD
case "$BUILD" in /*) ALIASD_BIN="$BUILD/aliasd" ;; *) ALIASD_BIN="$PWD/$BUILD/aliasd" ;; esac
export ALIASD_BIN
status=0
for b in tests/bench/bench_*; do
	[ -f "$b" ] || continue
	echo "== $b"
	case "$b" in
	*.py) /usr/bin/python3 "$b" || status=1 ;;
	*.sh) sh "$b" || status=1 ;;
	*) continue ;;
	esac
done
exit $status
