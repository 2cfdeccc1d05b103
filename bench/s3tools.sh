#!/usr/bin/env bash
# Benchmark s3ls and s3get against aws-cli and rclone on the test Garage. Never run by tests.
#   scripts/test-servers start && cargo build --release && bench/s3tools.sh
# Prints one row per measurement: wall time (median of N runs) and, for downloads, MB/s and
# peak RSS. Peers that are not installed are skipped with a note (pip install awscli;
# apt-get install rclone). Only 127.0.0.1 is contacted.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ENV_FILE="${SLUICE_TEST_DIR:-$REPO/target/test-servers}/env.sh"
[ -f "$ENV_FILE" ] || { echo "bench: $ENV_FILE missing: run scripts/test-servers start" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENV_FILE"
BIN="${SLUICE_BIN:-$REPO/target/release}"
for b in s3ls s3get s3put; do
  [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b missing: cargo build --release" >&2; exit 1; }
done
RUNS="${RUNS:-5}"
SIZE_MIB="${SIZE_MIB:-1024}"
KEYS="${KEYS:-10000}"

export AWS_ACCESS_KEY_ID="$SLUICE_TEST_S3_KEY_ID" AWS_SECRET_ACCESS_KEY="$SLUICE_TEST_S3_SECRET"
export AWS_REGION="$SLUICE_TEST_S3_REGION" AWS_DEFAULT_REGION="$SLUICE_TEST_S3_REGION"
export AWS_ENDPOINT_URL="$SLUICE_TEST_S3_ENDPOINT" AWS_EC2_METADATA_DISABLED=true
export RCLONE_CONFIG_G_TYPE=s3 RCLONE_CONFIG_G_PROVIDER=Other RCLONE_CONFIG_G_ENV_AUTH=false
export RCLONE_CONFIG_G_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_G_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
export RCLONE_CONFIG_G_ENDPOINT="$AWS_ENDPOINT_URL" RCLONE_CONFIG_G_REGION="$AWS_REGION"
export RCLONE_CONFIG_G_FORCE_PATH_STYLE=true
# The endpoint is plain http on loopback: a machine-wide CA bundle setting only gets in the way.
unset AWS_CA_BUNDLE

ORACLE="python3 -I $REPO/tests/support/s3check.py --endpoint $SLUICE_TEST_S3_ENDPOINT"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
stamp=$(date +%s)
TINY="bench-tiny-$stamp"; MANY="bench-many-$stamp"; BIG="bench-big-$stamp"

# measure NAME CMD...: median wall seconds over RUNS and the largest peak RSS (MiB), stdout to /dev/null.
measure() {
  local name=$1; shift
  python3 - "$RUNS" "$@" <<'EOF' | sed "s/^/$name\t/"
import resource, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
walls = []
for _ in range(runs):
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    walls.append(time.monotonic() - t)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace').strip()[:200]}")
walls.sort()
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{walls[len(walls) // 2]:.3f}\t{rss:.0f}")
EOF
}

have() { command -v "$1" >/dev/null 2>&1; }

echo "setting up: $TINY (3 keys), $MANY ($KEYS keys), $BIG ($SIZE_MIB MiB)" >&2
for b in "$TINY" "$MANY" "$BIG"; do $ORACLE create-bucket "$b"; done
for i in 1 2 3; do echo "$i" | "$BIN/s3put" "s3://$TINY/k$i"; done
python3 - "$REPO" "$MANY" "$KEYS" <<'EOF'
import os, sys, concurrent.futures as cf
sys.path.insert(0, os.path.join(sys.argv[1], "tests/support"))
import s3check
e = os.environ
c = s3check.Client(e["SLUICE_TEST_S3_ENDPOINT"], e["SLUICE_TEST_S3_REGION"], e["SLUICE_TEST_S3_KEY_ID"],
                   e["SLUICE_TEST_S3_SECRET"], None, 60)
with cf.ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda i: c.request("PUT", sys.argv[2], f"k/{i:06d}", body=b"x"), range(int(sys.argv[3]))))
EOF
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$TMP/big"
"$BIN/s3put" "s3://$BIG/big" < "$TMP/big"
rm -f "$TMP/big"

printf 'row\twall_s\tpeak_rss_MiB\n'
measure "s3ls tiny" "$BIN/s3ls" "s3://$TINY/"
have rclone || echo "rclone: not installed, its rows are skipped" >&2
have aws || echo "aws: not installed, its rows are skipped" >&2
if have rclone; then measure "rclone ls tiny" rclone ls "g:$TINY"; fi
if have aws; then measure "aws s3 ls tiny" aws s3 ls --recursive "s3://$TINY/"; fi
measure "s3ls $KEYS keys" "$BIN/s3ls" "s3://$MANY/"
if have rclone; then measure "rclone ls $KEYS keys" rclone ls "g:$MANY"; fi
if have aws; then measure "aws s3 ls $KEYS keys" aws s3 ls --recursive "s3://$MANY/"; fi

RUNS=3
mbps() { awk -v m="$SIZE_MIB" -F'\t' '{printf "%s\t%s\t%s\t%.0f MB/s\n", $1, $2, $3, m * 1.048576 / $2}' <<<"$1"; }
for j in 4 8; do
  mbps "$(measure "s3get -j $j ${SIZE_MIB}MiB" "$BIN/s3get" -j "$j" "s3://$BIG/big")"
done
if have rclone; then mbps "$(measure "rclone cat ${SIZE_MIB}MiB" rclone cat "g:$BIG/big")"; fi
if have aws; then mbps "$(measure "aws s3 cp - ${SIZE_MIB}MiB" aws s3 cp "s3://$BIG/big" -)"; fi

echo "cleaning up" >&2
"$BIN/s3ls" "s3://$MANY/" | "$BIN/s3rm"
"$BIN/s3ls" "s3://$TINY/" | "$BIN/s3rm"
"$BIN/s3rm" "s3://$BIG/big"
