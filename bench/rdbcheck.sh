#!/usr/bin/env bash
# Throughput benchmark for rdbcheck against redis-check-rdb and cat (not a test).
#
# Generates RDB dumps with a real redis-server (Debian's), from the recipes in bench/recipes/,
# caches them under target/bench-data/, and prints rows for each:
#   small  - millions of small string keys (DEBUG POPULATE) plus small hashes (~1 GiB)
#   values - 64 KiB values (half random, half LZF-friendly) plus lists/hashes/zsets (~1 GiB)
#   mid    - the same as values at 400 MiB of input: the ~221 MB dump of issue #19
# Two cases per dump, the tools of each case run interleaved (run 1 of every tool, then run 2):
#   check ...  rdbcheck reading the file: `rdbcheck < dump | cat > /dev/null` (also with
#              --single-thread, without its writer thread, and with --check-only, writing
#              nothing); redis-check-rdb takes a file and writes nothing, so it runs on the
#              file directly; `cat < dump | cat` is the limit.
#   pipe ...   rdbcheck in the middle of a pipeline, as after `valkey-cli --rdb -`:
#              `cat dump | rdbcheck | cat > /dev/null`, against `cat dump | cat | cat` as the
#              limit (no peer passes a stream through).
# Rows follow the contract in bench/lib.sh.
#
# usage: bench/rdbcheck.sh [small|values|mid]...     (default: all three)
#        bench/rdbcheck.sh --generate [small|values|mid]...   (only make the dumps)
# env:   RDBCHECK=path (default $SLUICE_BIN/rdbcheck or target/release/rdbcheck, built if missing)
#        SMALL_KEYS_MILLIONS (default 28)  VALUES_MIB (default 2000)  BENCH_RUNS (default 5)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
cd "$top"
data="$top/target/bench-data"
mkdir -p "$data"
SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
CLI=${REDIS_CLI:-/usr/bin/redis-cli}
CHECK=${REDIS_CHECK_RDB:-/usr/bin/redis-check-rdb}
for t in "$SERVER" "$CLI" "$CHECK" /usr/bin/time python3 awk; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (run scripts/install-test-deps)" >&2; exit 2; }
done
RDBCHECK=${RDBCHECK:-${SLUICE_BIN:-$top/target/release}/rdbcheck}
[ -x "$RDBCHECK" ] || cargo build --release --bin rdbcheck >&2

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

make_dump() { # name -> path (cached)
  local name=$1 out="$data/$1.rdb"
  if [ ! -s "$out" ]; then
    echo "bench: generating $out (once; cached)" >&2
    case $name in
      small)  bash bench/recipes/make_big_dump.sh "$SERVER" "$CLI" "$out.tmp" $(( ${SMALL_KEYS_MILLIONS:-28} * 100 )) "$(port)" small >&2 ;;
      values) bash bench/recipes/make_big_dump.sh "$SERVER" "$CLI" "$out.tmp" "${VALUES_MIB:-2000}" "$(port)" values >&2 ;;
      mid)    bash bench/recipes/make_big_dump.sh "$SERVER" "$CLI" "$out.tmp" 400 "$(port)" values >&2 ;;
    esac
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}


if [ "${1:-}" = --generate ]; then
  shift; ws=("$@"); [ ${#ws[@]} -gt 0 ] || ws=(small values mid)
  for w in "${ws[@]}"; do make_dump "$w"; done; exit 0
fi
which=("$@"); [ ${#which[@]} -gt 0 ] || which=(small values mid)

# rows CASE BYTES TOOL CODE [TOOL CODE]...: BENCH_RUNS rounds, one run of each tool per round,
# so that a noisy neighbour hits every tool of the case alike (bench_case in bench/lib.sh).
rows() { bench_case "$@"; }
export RDBCHECK CHECK D
for w in "${which[@]}"; do
  D=$(make_dump "$w")
  cat "$D" > /dev/null   # warm the page cache
  size=$(stat -c %s "$D")
  case $w in small) what="small keys";; values|mid) what="large values";; *) what=$w;; esac
  label="$what ($(size_label "$size"))"
  rows "check $label" "$size" \
    rdbcheck '$T "$RDBCHECK" < "$D" | cat > /dev/null' \
    "rdbcheck --single-thread" '$T "$RDBCHECK" --single-thread < "$D" | cat > /dev/null' \
    "rdbcheck --check-only" '$T "$RDBCHECK" --check-only "$D"' \
    redis-check-rdb '$T "$CHECK" "$D" > /dev/null' \
    limit:cat '$T cat < "$D" | cat > /dev/null'
  rows "pipe: cat | X | cat, $label" "$size" \
    rdbcheck 'cat "$D" | $T "$RDBCHECK" | cat > /dev/null' \
    limit:cat 'cat "$D" | $T cat | cat > /dev/null'
done
