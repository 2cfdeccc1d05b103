#!/usr/bin/env bash
# Benchmark: swift-slo-put against `swift upload --use-slo` (python-swiftclient) reading the
# same stream from stdin into the same local Swift (never run by tests). Run through bench/run
# (servers, release build and the contract variables: see bench/lib.sh). Rows, case "slo put SIZE":
#   swift-slo-put                      cat DATA | swift-slo-put C sluice.bin     (defaults: -S 64M -j 4)
#   swift upload --use-slo -S 64M      cat DATA | swift upload --use-slo -S 64MiB C - (SLO segments)
#   swift upload --use-slo             cat DATA | swift upload --use-slo C -      (its default:
#                                      one chunked PUT, no segments)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${SLUICE_TEST_SWIFT_AUTH_V1:?run through bench/run (or source the servers env)}"
need_bins swift-slo-put
export ST_AUTH=$SLUICE_TEST_SWIFT_AUTH_V1 ST_USER=$SLUICE_TEST_SWIFT_USER ST_KEY=$SLUICE_TEST_SWIFT_KEY
unset OS_AUTH_URL OS_STORAGE_URL OS_AUTH_TOKEN OS_CACERT || true

bench_stream
c="slo put $(size_label "$BENCH_BYTES")"
export CONT="bench-$(date +%s)"
cleanup() {
  note "cleaning up"
  # Deleting the container deletes its objects, and an SLO's segments with its manifest.
  swift delete "$CONT" >/dev/null 2>&1 || true
  swift delete "${CONT}_segments" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The tools run interleaved (bench_case in bench/lib.sh); each run overwrites its own object.
set -- swift-slo-put 'cat "$DATA" | $T "$SLUICE_BIN/swift-slo-put" --create-container "$CONT" sluice.bin'
if have swift; then
  set -- "$@" "swift upload --use-slo -S 64M" \
    'cat "$DATA" | $T swift upload -q --use-slo -S 67108864 --object-name swiftclient.bin "$CONT" -'
  set -- "$@" "swift upload --use-slo" \
    'cat "$DATA" | $T swift upload -q --use-slo --object-name swiftclient-plain.bin "$CONT" -'
else
  note "swift not installed (apt-get install python3-swiftclient): skipped"
fi
bench_case "$c" "$BENCH_BYTES" "$@"
