#!/usr/bin/env bash
# Throughput benchmark for rdbcheck against redis-check-rdb and cat (not a test).
#
# Generates two RDB dumps of about 1 GiB each with a real redis-server (Debian's), from the
# recipes in bench/recipes/, caches them under target/bench-data/, and prints one row per tool:
#   small  - millions of small string keys (DEBUG POPULATE) plus small hashes
#   values - 64 KiB values (half random, half LZF-friendly) plus lists/hashes/zsets
# Pass-through throughput is measured through a pipe: `tool < dump | cat > /dev/null` (rdbcheck
# also with --single-thread, without its writer thread);
# redis-check-rdb takes a file and writes nothing, so it runs on the file directly.
#
# usage: bench/rdbcheck.sh [small|values]...     (default: both)
# env:   RDBCHECK=path (default target/release/rdbcheck, built if missing)
#        SMALL_KEYS_MILLIONS (default 28)  VALUES_MIB (default 2000)  RUNS (default 3, best is kept)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
data="$top/target/bench-data"
mkdir -p "$data"
SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
CLI=${REDIS_CLI:-/usr/bin/redis-cli}
CHECK=${REDIS_CHECK_RDB:-/usr/bin/redis-check-rdb}
RUNS=${RUNS:-3}
for t in "$SERVER" "$CLI" "$CHECK" /usr/bin/time python3 awk; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (run scripts/install-test-deps)" >&2; exit 2; }
done
RDBCHECK=${RDBCHECK:-$top/target/release/rdbcheck}
if [ ! -x "$RDBCHECK" ] || [ -z "${RDBCHECK_NO_BUILD:-}" ]; then
  cargo build --release --bin rdbcheck >&2
fi

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

# run_one label dump cmd... : best wall time of $RUNS runs, peak RSS of the measured process
run_one() {
  local tool=$1 dump=$2; shift 2
  local size best="" rss=0
  size=$(stat -c %s "$dump")
  for _ in $(seq "$RUNS"); do
    local tf; tf=$(mktemp)
    local t0 t1
    t0=$(date +%s.%N)
    "$@" "$tf"
    t1=$(date +%s.%N)
    local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    local r; r=$(cat "$tf"); rm -f "$tf"
    if [ -z "$best" ] || awk -v w="$wall" -v b="$best" 'BEGIN{exit !(w < b)}'; then best=$wall; fi
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%-16s %-7s %10.1f %8.2f %10s\n' "$tool" "$(basename "$dump" .rdb)" \
    "$(awk -v s="$size" -v b="$best" 'BEGIN{print s / 1048576 / b}')" "$best" "$((rss / 1024)) MiB"
}

# each runner gets the RSS output file as its last argument
r_rdbcheck() { local d=$1 tf=$2; /usr/bin/time -f %M -o "$tf" "$RDBCHECK" < "$d" | cat > /dev/null; }
r_rdbcheck1() { local d=$1 tf=$2; /usr/bin/time -f %M -o "$tf" "$RDBCHECK" --single-thread < "$d" | cat > /dev/null; }
r_cat()      { local d=$1 tf=$2; /usr/bin/time -f %M -o "$tf" cat < "$d" | cat > /dev/null; }
r_check()    { local d=$1 tf=$2; /usr/bin/time -f %M -o "$tf" "$CHECK" "$d" > /dev/null; }

if [ "${1:-}" = --generate ]; then
  shift; ws=("$@"); [ ${#ws[@]} -gt 0 ] || ws=(small values)
  for w in "${ws[@]}"; do make_dump "$w"; done; exit 0
fi
which=("$@"); [ ${#which[@]} -gt 0 ] || which=(small values)
printf '%-16s %-7s %10s %8s %10s\n' tool dump "MB/s" "wall s" "peak RSS"
for w in "${which[@]}"; do
  d=$(make_dump "$w")
  cat "$d" > /dev/null   # warm the page cache
  run_one rdbcheck "$d" r_rdbcheck "$d"
  run_one "rdbcheck -1thread" "$d" r_rdbcheck1 "$d"
  run_one redis-check-rdb "$d" r_check "$d"
  run_one cat "$d" r_cat "$d"
done
