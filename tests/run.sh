#!/bin/sh
# Run every test of aliasd and print the closing line "Total: N passed, N failed".
#   BUILD=build tests/run.sh          (make check does this)
#   BUILD=build/asan SANITIZE=1 tests/run.sh
# Unit binaries (build/tests/test_*), fuzz targets ($FUZZ_DIR/*, default
# $BUILD/fuzz, FUZZ_SECONDS each) and the Python integration tests
# (/usr/bin/python3 -m pytest) all count.
# Extra arguments are passed to pytest (e.g. -k walkthrough, or -n 0 to run
# the Python tests serially, as PYTEST_XDIST=0 does).
set -u

BUILD=${BUILD:-build}
PYTHON=/usr/bin/python3
FUZZ_SECONDS=${FUZZ_SECONDS:-5}
FUZZ_DIR=${FUZZ_DIR:-$BUILD/fuzz}
PYTEST_XDIST=${PYTEST_XDIST:-4}
export BUILD
case "$BUILD" in /*) ALIASD_BIN="$BUILD/aliasd" ;; *) ALIASD_BIN="$PWD/$BUILD/aliasd" ;; esac
export ALIASD_BIN
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
if [ -f tests/lsan.supp ]; then
	export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
fi

passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# A C test binary prints "N passed, N failed" as its last such line.
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if "$t" >"$log/$name.out" 2>&1; then rc=0; else rc=$?; fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/$name.out" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	else
		p=0
		f=1
	fi
	# a crash or sanitizer report after the summary still fails the binary
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name (exit $rc)"
		cat "$log/$name.out"
	else
		echo "ok   $name: $p passed"
	fi
done

# Fuzz targets: a short run each, from the seed corpus; any crash or leak fails.
if [ -d "$FUZZ_DIR" ]; then
	for f in "$FUZZ_DIR"/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		corpus="$log/corpus-$name"
		mkdir -p "$corpus"
		seeds="tests/fuzz/corpus/${name#fuzz_}"
		[ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/ 2>/dev/null
		if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=1024 \
			-artifact_prefix="$log/" "$corpus" >"$log/$name.out" 2>&1; then
			passed=$((passed + 1))
			echo "ok   $name: ${FUZZ_SECONDS}s fuzzed, no crash"
		else
			failed=$((failed + 1))
			echo "FAIL $name"
			tail -n 40 "$log/$name.out"
		fi
	done
fi

# Python integration tests: counted from pytest's JUnit reports. They wait on
# the binary, emulators, git servers and intervals far more than they compute,
# so they run in PYTEST_XDIST parallel pytest-xdist workers, and then the tests
# marked `serial` (tight wall-clock bounds) alone (tests/README.md).
# PYTEST_XDIST=0 runs them all in one serial pass.
pytest_pass() { # NAME PASS [pytest arguments...]: one pytest run, its report counted
	name=$1
	pass=$2 # ALIASD_TESTS_PASS (tests/conftest.py): parallel, serial or all
	shift 2
	ALIASD_TESTS_PASS=$pass "$PYTHON" -m pytest -q -rfE --junitxml="$log/$name.xml" "$@" >"$log/$name.out" 2>&1
	rc=$?
	cat "$log/$name.out"
	if [ -f "$log/$name.xml" ]; then
		counts=$("$PYTHON" - "$log/$name.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f, sk)
PY
)
		# shellcheck disable=SC2086 # three numbers
		set -- $counts
		passed=$((passed + $1))
		failed=$((failed + $2))
		skipped=$((skipped + $3))
		# pytest exits 5 when it collected nothing: not a failure of ours
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$2" -eq 0 ]; then failed=$((failed + 1)); fi
	else
		echo "FAIL pytest ($name) produced no report (exit $rc)"
		failed=$((failed + 1))
	fi
}

skipped=0
if [ "$PYTEST_XDIST" != 0 ] && ! "$PYTHON" -c 'import xdist' 2>/dev/null; then
	echo "note: pytest-xdist (python3-pytest-xdist) is missing: the Python tests run serially"
	PYTEST_XDIST=0
fi
if [ "$PYTEST_XDIST" = 0 ]; then
	pytest_pass pytest all "$@"
else
	pytest_pass pytest parallel -n "$PYTEST_XDIST" --dist loadgroup "$@"
	pytest_pass pytest-serial serial "$@"
fi

echo
if [ "$skipped" -gt 0 ]; then
	echo "Total: $passed passed, $failed failed, $skipped skipped"
else
	echo "Total: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
