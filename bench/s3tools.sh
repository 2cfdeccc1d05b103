#!/usr/bin/env bash
# Benchmark: s3ls and s3get against s5cmd, aws-cli and both rclones on the same Garage (never
# run by tests). Run through bench/run (servers, TLS front, release build and the contract
# variables: see bench/lib.sh). Cases, each with its tools interleaved (bench_case):
#   ls tiny bucket (3 keys)   s3ls s3://B/, s5cmd ls 's3://B/*', aws s3 ls --recursive s3://B/,
#                             rclone 1.75 / 1.60 lsf -R g:B
#   ls BENCH_KEYS keys        the same on a bucket of BENCH_KEYS one-byte objects
#   get SIZE (http)           s3get s3://B/K, s5cmd cat s3://B/K, aws s3 cp s3://B/K -,
#                             rclone 1.75 / 1.60 cat g:B/K; limit: one `curl` GET
#   get SIZE (https)          the same through bench/tls-front (nginx) to the same Garage,
#                             without Debian's rclone
# Every tool writes to stdout, which goes to /dev/null. Only 127.0.0.1 is contacted.
# The object is s3put's (16 MiB parts): s3get checks every part's MD5 against the multipart
# ETag (bench/NOTES.md says what that costs); rclone cat checks no content of such an object.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
REPO=$BENCH_REPO
BENCH_KEYS="${BENCH_KEYS:-10000}"
need_bins s3ls s3get s3put s3rm
s3_peers_env
bench_peers
export ENDPOINT="$SLUICE_TEST_S3_ENDPOINT" TLS="${BENCH_TLS_ENDPOINT:-}" TLS_CA="${BENCH_TLS_CA:-}"
TMP=$(mktemp -d)
export CURL_CFG="$TMP/curl.cfg"
( umask 077
  printf 'user = "%s:%s"\naws-sigv4 = "aws:amz:%s:s3"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION" >"$CURL_CFG"
)
stamp=$(date +%s)
export TINY="bench-tiny-$stamp" MANY="bench-many-$stamp" BIG="bench-big-$stamp"
ORACLE=(python3 -I "$REPO/tests/support/s3check.py" --endpoint "$SLUICE_TEST_S3_ENDPOINT")
cleanup() {
  note "cleaning up"
  for b in "$TINY" "$MANY" "$BIG"; do
    "$SLUICE_BIN/s3ls" "s3://$b/" 2>/dev/null | "$SLUICE_BIN/s3rm" >/dev/null 2>&1 || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

note "setting up: $TINY (3 keys), $MANY ($BENCH_KEYS keys), $BIG ($(size_label "$BENCH_BYTES"))"
for b in "$TINY" "$MANY" "$BIG"; do "${ORACLE[@]}" create-bucket "$b" >&2; done
for i in 1 2 3; do echo "$i" | "$SLUICE_BIN/s3put" "s3://$TINY/k$i"; done
python3 - "$REPO" "$MANY" "$BENCH_KEYS" <<'PY'
import os, sys, concurrent.futures as cf
sys.path.insert(0, os.path.join(sys.argv[1], "tests/support"))
import s3check
e = os.environ
c = s3check.Client(e["SLUICE_TEST_S3_ENDPOINT"], e["SLUICE_TEST_S3_REGION"], e["SLUICE_TEST_S3_KEY_ID"],
                   e["SLUICE_TEST_S3_SECRET"], None, 60)
import time
def put(i):
    # Garage (sqlite) may answer 503 "database is locked" under this burst on a busy machine.
    for attempt in range(8):
        try:
            return c.request("PUT", sys.argv[2], f"k/{i:06d}", body=b"x")
        except s3check.S3Error as e:
            if e.status != 503 or attempt == 7:
                raise
            time.sleep(0.1 * 2 ** attempt)
with cf.ThreadPoolExecutor(8) as ex:
    list(ex.map(put, range(int(sys.argv[3]))))
PY
bench_stream
"$SLUICE_BIN/s3put" "s3://$BIG/big" <"$DATA"

have aws || note "aws not installed (pip install awscli): its rows are skipped"
rc=0

for spec in "tiny:ls tiny bucket (3 keys)" "many:ls $BENCH_KEYS keys"; do
  export B; [ "${spec%%:*}" = tiny ] && B=$TINY || B=$MANY
  set -- s3ls '$T "$SLUICE_BIN/s3ls" "s3://$B/"'
  [ -z "$S5CMD" ] || set -- "$@" "s5cmd ls" '$T "$S5CMD" --endpoint-url "$ENDPOINT" ls "s3://$B/*"'
  ! have aws || set -- "$@" "aws s3 ls" '$T aws s3 ls --recursive "s3://$B/"'
  [ -z "$RCLONE_NEW" ] || set -- "$@" "rclone $RCLONE_NEW_V lsf" '$T "$RCLONE_NEW" lsf -R "g:$B"'
  [ -z "$RCLONE_OLD" ] || set -- "$@" "rclone $RCLONE_OLD_V lsf" '$T "$RCLONE_OLD" lsf -R "g:$B"'
  bench_case "${spec#*:}" 0 "$@" || rc=1
done

# ---- get: straight to Garage, then through the TLS front (bench/tls-front) -------------------
# Before a get case is measured, every tool's output is compared once with the bytes s3put
# stored (outside the measurement: the measured runs write to /dev/null).
check_outputs() { # TOOL CODE [TOOL CODE]...
  local ok=0
  while [ $# -ge 2 ]; do
    T="" bash -o pipefail -c "$2" 2>/dev/null | cmp -s - "$DATA" || { note "$1 ($gcase) did not output the object's bytes"; ok=1; }
    shift 2
  done
  return $ok
}
size=$(size_label "$BENCH_BYTES")
set -- s3get '$T "$SLUICE_BIN/s3get" "s3://$BIG/big"'
[ -z "$S5CMD" ] || set -- "$@" "s5cmd cat" '$T "$S5CMD" --endpoint-url "$ENDPOINT" cat "s3://$BIG/big"'
! have aws || set -- "$@" "aws s3 cp ... -" '$T aws s3 cp --only-show-errors "s3://$BIG/big" -'
[ -z "$RCLONE_NEW" ] || set -- "$@" "rclone $RCLONE_NEW_V cat" '$T "$RCLONE_NEW" cat "g:$BIG/big"'
[ -z "$RCLONE_OLD" ] || set -- "$@" "rclone $RCLONE_OLD_V cat" '$T "$RCLONE_OLD" cat "g:$BIG/big"'
# One GET over one connection, nothing checked: what the server sends.
set -- "$@" "limit:curl GET" '$T curl -sS -f -K "$CURL_CFG" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$ENDPOINT/$BIG/big"'
gcase="get $size (http)"
check_outputs "$@" || rc=1
bench_case "$gcase" "$BENCH_BYTES" "$@" || rc=1

# Debian's rclone over http only (as for the puts): it adds nothing to the https comparison.
if have_tls; then
  set -- s3get 'AWS_ENDPOINT_URL="$TLS" AWS_CA_BUNDLE="$TLS_CA" $T "$SLUICE_BIN/s3get" "s3://$BIG/big"'
  [ -z "$S5CMD" ] || set -- "$@" "s5cmd cat" 'SSL_CERT_FILE="$TLS_CA" $T "$S5CMD" --endpoint-url "$TLS" cat "s3://$BIG/big"'
  ! have aws || set -- "$@" "aws s3 cp ... -" 'AWS_ENDPOINT_URL="$TLS" AWS_CA_BUNDLE="$TLS_CA" $T aws s3 cp --only-show-errors "s3://$BIG/big" -'
  [ -z "$RCLONE_NEW" ] || set -- "$@" "rclone $RCLONE_NEW_V cat" '$T "$RCLONE_NEW" --ca-cert "$TLS_CA" cat "h:$BIG/big"'
  set -- "$@" "limit:curl GET" '$T curl -sS -f -K "$CURL_CFG" --cacert "$TLS_CA" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$TLS/$BIG/big"'
  gcase="get $size (https)"
  check_outputs "$@" || rc=1
  bench_case "$gcase" "$BENCH_BYTES" "$@" || rc=1
else
  note "TLS front not running (bench/run starts bench/tls-front): the https rows are skipped"
fi
exit $rc
