complete -c swift-ls -l region -d 'Region of the object-store endpoint in the catalog (default: OS_REGION_NAME, else the first)' -r
complete -c swift-ls -l interface -d 'Catalog interface: public, internal or admin (default: OS_INTERFACE, OS_ENDPOINT_TYPE, then public)' -r
complete -c swift-ls -l ca-bundle -d 'PEM file of extra CA certificates to trust (default: OS_CACERT)' -r -F
complete -c swift-ls -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c swift-ls -l timeout -d 'Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)' -r
complete -c swift-ls -l retries -d 'Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter' -r
complete -c swift-ls -s d -l delimiter -d 'Roll up names at this delimiter, like directories (e.g. /)' -r
complete -c swift-ls -l match -d 'Only keys matching this regular expression (Rust regex syntax, unanchored: use ^ and $; matched against the whole key, prefix included)' -r
complete -c swift-ls -l exclude -d 'Leave out keys matching this regular expression (applied after --match)' -r
complete -c swift-ls -l older-than -d 'Only objects last modified before this: a duration ago (30d, 12h, 90m, 45s, 2w, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z)' -r
complete -c swift-ls -l newer-than -d 'Only objects last modified at or after this (same forms as --older-than)' -r
complete -c swift-ls -l min-size -d 'Only objects of at least this size (e.g. 1, 10M, 1G; binary units)' -r
complete -c swift-ls -l max-size -d 'Only objects of at most this size' -r
complete -c swift-ls -l page-size -d 'Names per listing request (Swift\'s maximum is 10000; smaller values test pagination)' -r
complete -c swift-ls -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c swift-ls -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c swift-ls -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c swift-ls -s v -l verbose -d 'Say more on stderr: -v for the steps, -vv for every request'
complete -c swift-ls -s l -l long -d 'Long format: size, last modified (UTC), ETag and name'
complete -c swift-ls -l json -d 'One JSON object per line'
complete -c swift-ls -s 0 -l null -d 'End names with NUL instead of newline (for xargs -0)'
complete -c swift-ls -s h -l help -d 'Print help'
complete -c swift-ls -s V -l version -d 'Print version'
