#!/usr/bin/env bash
# Benchmark: s3put against its peers on one stream into the same Garage (never run by tests).
# Run through bench/run (which starts the servers and sets the contract variables; see
# bench/lib.sh); prints contract rows for the case "put SIZE":
#   s3put                  cat DATA | s3put s3://BUCKET/KEY
#   aws s3 cp -            cat DATA | aws s3 cp - s3://BUCKET/KEY
#   rclone rcat            cat DATA | rclone rcat g:BUCKET/KEY
#   s3cmd put -            cat DATA | s3cmd put - s3://BUCKET/KEY
#   limit:curl -T          curl -T DATA (one SigV4-signed PUT of the file): the server's ingest limit
# DATA is BENCH_BYTES of random bytes, generated once into BENCH_DATA. Credentials reach the
# peers through the environment or 0600 config files, never argv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
REPO=$BENCH_REPO
need_bins s3put
have "$BENCH_TIME" || [ -x "$BENCH_TIME" ] || { note "GNU time missing (apt-get install time)"; exit 2; }
s3_peers_env
bench_stream
CASE="put $(size_label "$BENCH_BYTES")"

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

export BUCKET="bench-s3put-$(date +%s)" ENDPOINT="$SLUICE_TEST_S3_ENDPOINT"
ORACLE=(python3 -I "$REPO/tests/support/s3check.py" --endpoint "$SLUICE_TEST_S3_ENDPOINT")
"${ORACLE[@]}" create-bucket "$BUCKET" >&2
cleanup_key() { "${ORACLE[@]}" delete "$BUCKET" "$1" >/dev/null 2>&1 || true; }

# run TOOL KEY CODE: measure, then check the stored size and delete the object.
run() {
  local tool=$1 key=$2 code=$3
  export KEY=$key
  if bench_row "$tool" "$CASE" "$BENCH_BYTES" "$code"; then
    local got
    got=$("${ORACLE[@]}" head "$BUCKET" "$key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
    [ "$got" = "$BENCH_BYTES" ] || note "$tool stored $got bytes, not $BENCH_BYTES"
  fi
  cleanup_key "$key"
}

run s3put s3put.bin 'cat "$DATA" | $T "$SLUICE_BIN/s3put" "s3://$BUCKET/$KEY"'
if have aws; then
  run "aws s3 cp -" aws.bin 'cat "$DATA" | $T aws s3 cp --only-show-errors - "s3://$BUCKET/$KEY"'
else note "aws not installed (pip install awscli): skipped"; fi
if have rclone; then
  run "rclone rcat" rclone.bin 'cat "$DATA" | $T rclone rcat "g:$BUCKET/$KEY"'
else note "rclone not installed (apt-get install rclone): skipped"; fi
if have s3cmd; then
  run "s3cmd put -" s3cmd.bin 'cat "$DATA" | $T s3cmd -c "$S3CMD_CFG" --no-progress put - "s3://$BUCKET/$KEY"'
else note "s3cmd not installed (apt-get install s3cmd): skipped"; fi
# One PUT of the file (curl's SigV4 cannot sign a piped, chunked body that Garage accepts, and
# one PUT needs the length up front): what the server ingests over one connection.
run "limit:curl -T" curl.bin '$T curl -sS -f -K "$CURL_CFG" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  -T "$DATA" "$ENDPOINT/$BUCKET/$KEY"'
