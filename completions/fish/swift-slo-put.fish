complete -c swift-slo-put -l region -d 'Region of the object-store endpoint in the catalog (default: OS_REGION_NAME, else the first)' -r
complete -c swift-slo-put -l interface -d 'Catalog interface: public, internal or admin (default: OS_INTERFACE, OS_ENDPOINT_TYPE, then public)' -r
complete -c swift-slo-put -l ca-bundle -d 'PEM file of extra CA certificates to trust (default: OS_CACERT)' -r -F
complete -c swift-slo-put -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c swift-slo-put -l timeout -d 'Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)' -r
complete -c swift-slo-put -l retries -d 'Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter' -r
complete -c swift-slo-put -s S -l segment-size -d 'Segment size (at most the cluster\'s max_file_size, 5 GiB by default)' -r
complete -c swift-slo-put -s j -l jobs -d 'Segments uploaded concurrently' -r
complete -c swift-slo-put -l segment-container -d 'Container for the segments (default: CONTAINER_segments, created with CONTAINER\'s storage policy)' -r
complete -c swift-slo-put -l meta -d 'User metadata stored as X-Object-Meta-KEY (repeatable)' -r
complete -c swift-slo-put -l limit-rate -d 'Limit the data transfer to RATE bytes per second, all --jobs together, smoothly (like curl\'s --limit-rate; K, M, G suffixes as for sizes: 10M = 10 MiB/s)' -r
complete -c swift-slo-put -l content-type -d 'Content-Type of the object (printable ASCII)' -r
complete -c swift-slo-put -l onfail -d 'With --tee: continue = keep passing data through if this upload fails (exit non-zero at the end) and keep uploading if the reader goes away; abort = abort this upload and the stages downstream on either failure' -r -f -a "continue\t'Keep passing data through when this upload fails (exit non-zero at the end), and keep uploading when the downstream reader goes away'
abort\t'Abort this upload and propagate the abort downstream on either failure'"
complete -c swift-slo-put -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c swift-slo-put -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c swift-slo-put -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c swift-slo-put -s v -l verbose -d 'Say more on stderr: -v for the steps, -vv for every request'
complete -c swift-slo-put -l leave-segments -d 'Keep the segments of an SLO this upload replaces'
complete -c swift-slo-put -l create-container -d 'Create the container if it does not exist'
complete -c swift-slo-put -l json -d 'Print a JSON result (container, object, size, etag, segments, seconds) on stdout'
complete -c swift-slo-put -l allow-empty -d 'Store an empty object when the input is empty (refused by default: an empty backup is usually a failed one)'
complete -c swift-slo-put -l tee -d 'Also copy the input to stdout while uploading, to mirror one stream to several stores'
complete -c swift-slo-put -l no-abort-downstream -d 'Do not signal the process reading stdout when the stream turns out bad (see PIPELINE SAFETY)'
complete -c swift-slo-put -l progress -d 'Show bytes and rate on stderr (default: only when stderr is a terminal)'
complete -c swift-slo-put -s h -l help -d 'Print help (see more with \'--help\')'
complete -c swift-slo-put -s V -l version -d 'Print version'
