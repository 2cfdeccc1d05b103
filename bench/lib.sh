# Shared helpers for the per-tool benchmark scripts (bench/*.sh), sourced, never run.
#
# THE CONTRACT between bench/run and a per-tool script bench/NAME.sh:
#   - bench/run starts the servers, sources their environment (SLUICE_TEST_*), builds the
#     release binaries and exports SLUICE_BIN (the directory holding them), BENCH_BYTES (the
#     stream size; 1 GiB unless BENCH_SIZE overrides it), BENCH_MIB, BENCH_RUNS (runs per
#     measurement), BENCH_KEYS (keys of the big listing, 10000) and BENCH_DATA (a cache
#     directory for generated inputs, kept between runs).
#   - The script prints, on stdout, only rows of five tab-separated fields:
#         tool <TAB> case <TAB> bytes <TAB> wall_s <TAB> peak_rss_kb
#     tool: a sluice binary (s3put, rdbcheck...), a peer ("aws s3 cp -", "rclone rcat"), or a
#     reference limit prefixed with "limit:" ("limit:cat"), which is shown but never counted as
#     the best peer. case: what was measured, identical for every tool compared on it
#     ("put 1 GiB"). bytes: the payload moved (0 for listings: no MB/s then). wall_s: seconds.
#     peak_rss_kb: the measured tool's peak resident set (GNU time's %M). One row per run;
#     bench/run keeps the median wall time and the largest RSS of each tool and case.
#   - Anything else (progress, skipped peers) goes to stderr. A missing peer is skipped with a
#     note, never an error. Exit non-zero only when the script itself cannot run.
#   - bench/run computes MB/s and each row's ratio to the best peer of its case
#     (best peer wall / this wall: above 1 is faster than every peer).

BENCH_RUNS="${BENCH_RUNS:-3}"
BENCH_TIME="${BENCH_TIME:-/usr/bin/time}"

have() { command -v "$1" >/dev/null 2>&1; }
note() { echo "bench: $*" >&2; }

# bench_row TOOL CASE BYTES SHELL-CODE
#   Runs SHELL-CODE with bash BENCH_RUNS times and prints one contract row per run. Inside the
#   code, "$T" prefixes the process whose peak RSS is measured (GNU time), e.g.
#       bench_row s3put "put 1 GiB" "$BYTES" 'cat "$DATA" | $T "$SLUICE_BIN/s3put" s3://b/k'
#   Variables the code uses must be exported. Returns non-zero (after a note) if a run fails.
bench_row() {
  local tool=$1 case=$2 bytes=$3 code=$4 i rss t0 t1 rc
  rss=$(mktemp)
  for i in $(seq "$BENCH_RUNS"); do
    : >"$rss"
    t0=$(date +%s.%N)
    T="$BENCH_TIME -f %M -o $rss" bash -o pipefail -c "$code" >/dev/null 2>"$rss.err" && rc=0 || rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then
      note "$tool ($case) failed with status $rc: $(tail -c 400 "$rss.err" | tr '\n' ' ')"
      rm -f "$rss" "$rss.err"
      return 1
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$case" "$bytes" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')" "$(tail -n1 "$rss" | tr -dc 0-9)"
  done
  rm -f "$rss" "$rss.err"
}
