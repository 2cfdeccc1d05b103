#!/usr/bin/env bash
# Throughput and peak memory of swift-slo-put vs `swift upload --use-slo` reading the same
# stream from stdin into the same local Swift (scripts/swift-server). Never run by the tests.
#
#   cargo build --release --bin swift-slo-put && bench/swift.sh [SIZE_MIB=1024] [SEGMENT=64M]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
SEG=${2:-64M}
SEG_BYTES=$(( ${SEG%M} * 1048576 ))
scripts/swift-server start
eval "$(scripts/swift-server env)"
export ST_AUTH=$SLUICE_TEST_SWIFT_AUTH_V1 ST_USER=$SLUICE_TEST_SWIFT_USER ST_KEY=$SLUICE_TEST_SWIFT_KEY
unset OS_AUTH_URL OS_STORAGE_URL OS_AUTH_TOKEN || true
BIN=target/release/swift-slo-put
[ -x "$BIN" ] || { echo "bench: build first: cargo build --release --bin swift-slo-put" >&2; exit 1; }
CONT=bench-$$
DATA=$(mktemp /tmp/sluice-bench.XXXXXX)
trap 'rm -f "$DATA" /tmp/sluice-bench-time.$$' EXIT
# The same bytes for both, generated once (incompressible); read from the page cache.
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$DATA"
swift post "$CONT"

measure() { # NAME CMD...
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f %M -o /tmp/sluice-bench-time.$$ "$@" <"$DATA" >/dev/null
  t1=$(date +%s.%N)
  local rss secs
  rss=$(tail -1 /tmp/sluice-bench-time.$$)
  secs=$(echo "$t1 - $t0" | bc -l)
  printf '%-28s %8.1f MB/s  %7.2f s  peak RSS %7.1f MiB\n' "$name" \
    "$(echo "$SIZE_MIB * 1.048576 / $secs" | bc -l)" "$secs" "$(echo "$rss / 1024" | bc -l)"
}

echo "bench: $SIZE_MIB MiB from stdin, segments of $SEG, one local Swift proxy (2 workers)"
measure "swift-slo-put -j 4" "$BIN" -S "$SEG" -j 4 "$CONT" sluice.bin
measure "swift upload --use-slo -S" swift upload --use-slo -S "$SEG_BYTES" --object-name swiftclient.bin "$CONT" -
# Without -S swiftclient sends stdin as one chunked PUT (no SLO, limited to max_file_size).
measure "swift upload --use-slo" swift upload --use-slo --object-name swiftclient-plain.bin "$CONT" -
swift delete "$CONT" >/dev/null
swift delete "${CONT}_segments" >/dev/null 2>&1 || true
