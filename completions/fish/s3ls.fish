complete -c s3ls -l profile -d 'Profile in ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, then "default")' -r
complete -c s3ls -l endpoint -d 'S3 endpoint URL, e.g. http://127.0.0.1:3900 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile\'s endpoint_url, then AWS)' -r
complete -c s3ls -l region -d 'Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, then us-east-1; corrected automatically when the server names another)' -r
complete -c s3ls -l addressing-style -d 'path (https://host/bucket/key), virtual (https://bucket.host/key) or auto (default: path for custom endpoints, auto for AWS)' -r
complete -c s3ls -l ca-bundle -d 'PEM file of extra CA certificates to trust, e.g. a private Ceph CA (default: AWS_CA_BUNDLE, the profile\'s ca_bundle)' -r -F
complete -c s3ls -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c s3ls -l timeout -d 'Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)' -r
complete -c s3ls -l retries -d 'Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter' -r
complete -c s3ls -l match -d 'Only keys matching this regular expression (Rust regex syntax, unanchored: use ^ and $; matched against the whole key, prefix included)' -r
complete -c s3ls -l exclude -d 'Leave out keys matching this regular expression (applied after --match)' -r
complete -c s3ls -l older-than -d 'Only objects last modified before this: a duration ago (30d, 12h, 90m, 45s, 2w, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z)' -r
complete -c s3ls -l newer-than -d 'Only objects last modified at or after this (same forms as --older-than)' -r
complete -c s3ls -l min-size -d 'Only objects of at least this size (e.g. 1, 10M, 1G; binary units)' -r
complete -c s3ls -l max-size -d 'Only objects of at most this size' -r
complete -c s3ls -l delimiter -d 'List one level: keys are grouped at this separator into common prefixes (usually /)' -r
complete -c s3ls -l page-size -d 'Keys per listing request (the server may return fewer; default: the server\'s, 1,000 on S3)' -r
complete -c s3ls -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c s3ls -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c s3ls -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c s3ls -s v -l verbose -d 'Say more on stderr: -v for the steps, -vv for every request'
complete -c s3ls -s l -l long -d 'Long format: last-modified time, size, ETag, URL'
complete -c s3ls -l json -d 'One JSON object per line'
complete -c s3ls -s 0 -l null -d 'End records with NUL instead of newline and write keys unescaped (for xargs -0, s3rm -0)'
complete -c s3ls -l uploads -d 'List in-progress multipart uploads instead of objects'
complete -c s3ls -l list-v1 -d 'Use ListObjects v1 (markers) instead of v2 (automatic when the server rejects v2)'
complete -c s3ls -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3ls -s V -l version -d 'Print version'
