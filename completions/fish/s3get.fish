complete -c s3get -l profile -d 'Profile in ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, then "default")' -r
complete -c s3get -l endpoint -d 'S3 endpoint URL, e.g. http://127.0.0.1:3900 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile\'s endpoint_url, then AWS)' -r
complete -c s3get -l region -d 'Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, then us-east-1; corrected automatically when the server names another)' -r
complete -c s3get -l addressing-style -d 'path (https://host/bucket/key), virtual (https://bucket.host/key) or auto (default: path for custom endpoints, auto for AWS)' -r
complete -c s3get -l ca-bundle -d 'PEM file of extra CA certificates to trust, e.g. a private Ceph CA (default: AWS_CA_BUNDLE, the profile\'s ca_bundle)' -r -F
complete -c s3get -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c s3get -l timeout -d 'Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)' -r
complete -c s3get -l retries -d 'Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter' -r
complete -c s3get -s j -l jobs -d 'Ranged GETs in flight for a large object (1: a single sequential stream)' -r
complete -c s3get -l chunk-size -d 'Bytes per ranged GET (64K to 1G); objects no larger than this take one request' -r
complete -c s3get -l range -d 'Only these bytes of each object: START-END (inclusive), START- or -LAST' -r
complete -c s3get -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c s3get -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c s3get -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c s3get -l sse-c-key-file -d 'SSE-C: the store encrypts the object with this customer-provided key (AES-256), which every later read must give again: a file of 32 raw bytes or of 44 characters of base64 (e.g. `head -c 32 /dev/urandom > key`)' -r -F
complete -c s3get -l limit-rate -d 'Limit the data transfer to RATE bytes per second, all --jobs together, smoothly (like curl\'s --limit-rate; K, M, G suffixes as for sizes: 10M = 10 MiB/s)' -r
complete -c s3get -s v -l verbose -d 'Say more on stderr: -v for the steps, -vv for every request'
complete -c s3get -l json -d 'Print a JSON line per object (url, size, etag, verified, how) on stderr'
complete -c s3get -l allow-insecure-sse-c -d 'Allow --sse-c-key-file with an http:// endpoint, where the key crosses the network in clear (refused by default)'
complete -c s3get -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3get -s V -l version -d 'Print version'
