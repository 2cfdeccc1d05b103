complete -c s3put -l profile -d 'Profile in ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, then "default")' -r
complete -c s3put -l endpoint -d 'S3 endpoint URL, e.g. http://127.0.0.1:3900 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile\'s endpoint_url, then AWS)' -r
complete -c s3put -l region -d 'Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, then us-east-1; corrected automatically when the server names another)' -r
complete -c s3put -l addressing-style -d 'path (https://host/bucket/key), virtual (https://bucket.host/key) or auto (default: path for custom endpoints, auto for AWS)' -r
complete -c s3put -l ca-bundle -d 'PEM file of extra CA certificates to trust, e.g. a private Ceph CA (default: AWS_CA_BUNDLE, the profile\'s ca_bundle)' -r -F
complete -c s3put -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c s3put -l timeout -d 'Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)' -r
complete -c s3put -l retries -d 'Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter' -r
complete -c s3put -s j -l jobs -d 'Parts uploaded concurrently' -r
complete -c s3put -l part-size -d 'Fixed part size (5M to 5G); all parts but the last get this size, so the object may hold at most 10,000 of them' -r
complete -c s3put -l expected-size -d 'Expected input size: picks one part size that fits it in 10,000 parts (the input may differ a little)' -r
complete -c s3put -l checksum -d 'Also send an x-amz-checksum-ALGO header with each PUT and part, for the server to check (opt-in: several non-AWS stores reject them; Ceph RGW 16 ignores them). Multipart: a checksum of the part checksums, except crc64nvme: the whole object\'s CRC' -r -f -a "crc32\t''
crc32c\t''
crc64nvme\t''
sha1\t''
sha256\t''"
complete -c s3put -l payload-signing -d 'Sign each body\'s SHA-256 (x-amz-content-sha256): auto signs over http, and over https where the CPU has SHA-256 instructions (else UNSIGNED-PAYLOAD with Content-MD5, the cheaper hash there); never sends UNSIGNED-PAYLOAD with Content-MD5 (over http the body is then checked but not authenticated). Default: the profile\'s s3 payload_signing_enabled, else auto' -r -f -a "auto\t'Signed SHA-256 over http, and over https where the CPU has SHA instructions'
always\t'Always sign the SHA-256 of the payload'
never\t'Never sign it: UNSIGNED-PAYLOAD with Content-MD5'"
complete -c s3put -l metadata -d 'User metadata stored as x-amz-meta-KEY (repeatable); values must be printable ASCII, keys and values at most 2 KB in all, as S3 allows (else exit 2, no request)' -r
complete -c s3put -l storage-class -d 'Storage class, e.g. STANDARD_IA, GLACIER_IR' -r
complete -c s3put -l sse -d 'Server-side encryption: AES256 or aws:kms. Checked after the upload: if HEAD does not show it applied (Ceph RGW 16 has no AES256, Garage ignores both), the object is deleted and s3put exits 5' -r -f -a "AES256\t''
aws:kms\t''"
complete -c s3put -l sse-kms-key-id -d 'KMS key for --sse aws:kms' -r
complete -c s3put -l tag -d 'Tag the object with KEY=VALUE (repeatable; at most 10 tags, keys up to 128 and values up to 256 characters), e.g. for lifecycle or replication rules' -r
complete -c s3put -l object-lock-mode -d 'Object Lock retention mode (needs --retain-until or --retain-for, and a bucket created with Object Lock enabled): GOVERNANCE (privileged users may lift it) or COMPLIANCE (nobody can delete the object before the date)' -r -f -a "GOVERNANCE\t''
COMPLIANCE\t''"
complete -c s3put -l retain-until -d 'Keep the object locked until DATE (RFC 3339, e.g. 2027-01-31T00:00:00Z); needs --object-lock-mode' -r
complete -c s3put -l retain-for -d 'Keep the object locked for DURATION from now (30d, 12h, 1w2d, as for --older-than); needs --object-lock-mode' -r
complete -c s3put -l sse-c-key-file -d 'SSE-C: the store encrypts the object with this customer-provided key (AES-256), which every later read must give again: a file of 32 raw bytes or of 44 characters of base64 (e.g. `head -c 32 /dev/urandom > key`)' -r -F
complete -c s3put -l limit-rate -d 'Limit the data transfer to RATE bytes per second, all --jobs together, smoothly (like curl\'s --limit-rate; K, M, G suffixes as for sizes: 10M = 10 MiB/s)' -r
complete -c s3put -l content-type -d 'Content-Type of the object (printable ASCII)' -r
complete -c s3put -l onfail -d 'With --tee: continue = keep passing data through if this upload fails (exit non-zero at the end) and keep uploading if the reader goes away; abort = abort this upload and the stages downstream on either failure' -r -f -a "continue\t'Keep passing data through when this upload fails (exit non-zero at the end), and keep uploading when the downstream reader goes away'
abort\t'Abort this upload and propagate the abort downstream on either failure'"
complete -c s3put -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c s3put -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c s3put -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c s3put -s v -l verbose -d 'Say more on stderr: -v for the steps, -vv for every request'
complete -c s3put -l uniform-parts -d 'Keep every part the same size (automatic for Cloudflare R2, which rejects growing parts); unknown-length input then holds at most 10,000 x part size'
complete -c s3put -l content-md5 -d 'Also send Content-MD5 with each body (sent anyway when the payload is unsigned and for Object Lock uploads)'
complete -c s3put -l create-bucket -d 'Create the bucket first if it does not exist'
complete -c s3put -l legal-hold -d 'Place an Object Lock legal hold on the object (no date: it stays until someone with s3:PutObjectLegalHold lifts it)'
complete -c s3put -l allow-insecure-sse-c -d 'Allow --sse-c-key-file with an http:// endpoint, where the key crosses the network in clear (refused by default)'
complete -c s3put -l json -d 'Print a JSON result (url, size, etag, parts, seconds) on stdout (on stderr with --tee)'
complete -c s3put -l allow-empty -d 'Store an empty object when the input is empty (refused by default: an empty backup is usually a failed one)'
complete -c s3put -l tee -d 'Also copy the input to stdout while uploading, to mirror one stream to several stores'
complete -c s3put -l no-abort-downstream -d 'Do not signal the process reading stdout when the stream turns out bad (see PIPELINE SAFETY)'
complete -c s3put -l progress -d 'Show bytes and rate on stderr (default: only when stderr is a terminal)'
complete -c s3put -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3put -s V -l version -d 'Print version'
