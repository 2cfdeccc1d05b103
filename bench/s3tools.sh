#!/usr/bin/env bash
# Benchmark: s3ls and s3get against aws-cli and rclone on the same Garage (never run by tests).
# Run through bench/run (servers, release build and the contract variables: see bench/lib.sh).
# Cases:
#   ls tiny bucket (3 keys)   s3ls s3://B/       aws s3 ls --recursive s3://B/    rclone lsf -R g:B
#   ls BENCH_KEYS keys        the same on a bucket of BENCH_KEYS one-byte objects
#   get SIZE                  s3get s3://B/K     aws s3 cp s3://B/K -             rclone cat g:B/K
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
stamp=$(date +%s)
export TINY="bench-tiny-$stamp" MANY="bench-many-$stamp" BIG="bench-big-$stamp"
ORACLE=(python3 -I "$REPO/tests/support/s3check.py" --endpoint "$SLUICE_TEST_S3_ENDPOINT")
cleanup() {
  note "cleaning up"
  for b in "$TINY" "$MANY" "$BIG"; do
    "$SLUICE_BIN/s3ls" "s3://$b/" 2>/dev/null | "$SLUICE_BIN/s3rm" >/dev/null 2>&1 || true
  done
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
with cf.ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda i: c.request("PUT", sys.argv[2], f"k/{i:06d}", body=b"x"), range(int(sys.argv[3]))))
PY
bench_stream
"$SLUICE_BIN/s3put" "s3://$BIG/big" <"$DATA"

have rclone || note "rclone not installed (apt-get install rclone): its rows are skipped"
have aws || note "aws not installed (pip install awscli): its rows are skipped"

for spec in "tiny:ls tiny bucket (3 keys)" "many:ls $BENCH_KEYS keys"; do
  export B; [ "${spec%%:*}" = tiny ] && B=$TINY || B=$MANY
  c=${spec#*:}
  bench_row s3ls "$c" 0 '$T "$SLUICE_BIN/s3ls" "s3://$B/"'
  if have aws; then bench_row "aws s3 ls" "$c" 0 '$T aws s3 ls --recursive "s3://$B/"'; fi
  if have rclone; then bench_row "rclone lsf" "$c" 0 '$T rclone lsf -R "g:$B"'; fi
done

c="get $(size_label "$BENCH_BYTES")"
bench_row s3get "$c" "$BENCH_BYTES" '$T "$SLUICE_BIN/s3get" "s3://$BIG/big"'
if have aws; then bench_row "aws s3 cp ... -" "$c" "$BENCH_BYTES" '$T aws s3 cp --only-show-errors "s3://$BIG/big" -'; fi
if have rclone; then bench_row "rclone cat" "$c" "$BENCH_BYTES" '$T rclone cat "g:$BIG/big"'; fi
