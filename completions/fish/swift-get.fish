complete -c swift-get -l region -d 'Region of the object-store endpoint in the catalog (default: OS_REGION_NAME, else the first)' -r
complete -c swift-get -l interface -d 'Catalog interface: public, internal or admin (default: OS_INTERFACE, OS_ENDPOINT_TYPE, then public)' -r
complete -c swift-get -l ca-bundle -d 'PEM file of extra CA certificates to trust (default: OS_CACERT)' -r -F
complete -c swift-get -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c swift-get -l timeout -d 'Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)' -r
complete -c swift-get -l retries -d 'Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter' -r
complete -c swift-get -l limit-rate -d 'Limit the data transfer to RATE bytes per second, all --jobs together, smoothly (like curl\'s --limit-rate; K, M, G suffixes as for sizes: 10M = 10 MiB/s)' -r
complete -c swift-get -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c swift-get -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c swift-get -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c swift-get -s v -l verbose -d 'Say more on stderr: -v for the steps, -vv for every request'
complete -c swift-get -l json -d 'Print a JSON summary (size, etag, verified) on stderr at the end'
complete -c swift-get -s h -l help -d 'Print help (see more with \'--help\')'
complete -c swift-get -s V -l version -d 'Print version'
