#!/usr/bin/env bash
# Throughput benchmark for rdbcheck against redis-check-rdb and cat (not a test).
#
# Generates two RDB dumps of about 1 GiB each with a real redis-server (Debian's), from the
# recipes in bench/recipes/, caches them under target/bench-data/, and prints one row per tool:
#   small  - millions of small string keys (DEBUG POPULATE) plus small hashes
#   values - 64 KiB values (half random, half LZF-friendly) plus lists/hashes/zsets
# Pass-through throughput is measured through a pipe: `tool < dump | cat > /dev/null` (rdbcheck
# also with --single-thread, without its writer thread); redis-check-rdb takes a file and writes
# nothing, so it runs on the file directly. Rows follow the contract in bench/lib.sh.
#
# usage: bench/rdbcheck.sh [small|values]...     (default: both)
# env:   RDBCHECK=path (default $SLUICE_BIN/rdbcheck or target/release/rdbcheck, built if missing)
#        SMALL_KEYS_MILLIONS (default 28)  VALUES_MIB (default 2000)  BENCH_RUNS (default 3)
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
    esac
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}


if [ "${1:-}" = --generate ]; then
  shift; ws=("$@"); [ ${#ws[@]} -gt 0 ] || ws=(small values)
  for w in "${ws[@]}"; do make_dump "$w"; done; exit 0
fi
which=("$@"); [ ${#which[@]} -gt 0 ] || which=(small values)
export RDBCHECK CHECK D
for w in "${which[@]}"; do
  D=$(make_dump "$w")
  cat "$D" > /dev/null   # warm the page cache
  size=$(stat -c %s "$D")
  case $w in small) what="small keys";; values) what="large values";; *) what=$w;; esac
  c="check $what ($(size_label "$size"))"
  bench_row rdbcheck "$c" "$size" '$T "$RDBCHECK" < "$D" | cat > /dev/null'
  bench_row "rdbcheck --single-thread" "$c" "$size" '$T "$RDBCHECK" --single-thread < "$D" | cat > /dev/null'
  bench_row redis-check-rdb "$c" "$size" '$T "$CHECK" "$D" > /dev/null'
  bench_row limit:cat "$c" "$size" '$T cat < "$D" | cat > /dev/null'
done
