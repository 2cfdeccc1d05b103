complete -c rdbcheck -l json -d 'Write the report as JSON to FILE ("-" for standard error), also on failure' -r -F
complete -c rdbcheck -l top -d 'Number of largest keys (by encoded size) in the report' -r
complete -c rdbcheck -l databases -d 'Refuse SELECTDB ids at or above N (the server\'s `databases` setting)' -r
complete -c rdbcheck -l log-format -d 'Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))' -r -f -a "text\t''
json\t''"
complete -c rdbcheck -l metrics-file -d 'At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter\'s textfile collector' -r -F
complete -c rdbcheck -l metrics-job -d 'The job label of the metrics (default: the tool\'s name)' -r
complete -c rdbcheck -s n -l check-only -d 'Only check: write nothing to standard output'
complete -c rdbcheck -s v -l verbose -d 'Print a summary to standard error, and name keys in errors and reports'
complete -c rdbcheck -s q -l quiet -d 'Do not print warnings (empty collections) on standard error'
complete -c rdbcheck -l require-checksum -d 'Refuse a disabled checksum (stored as 0) and RDB versions before 5, which have none'
complete -c rdbcheck -l check-duplicates -d 'Detect duplicate keys within a database (memory grows with the key count; see below)'
complete -c rdbcheck -l single-thread -d 'Do everything on one thread (by default a second thread writes the output)'
complete -c rdbcheck -l no-abort-downstream -d 'Do not signal the process reading stdout when the stream turns out bad (see PIPELINE SAFETY)'
complete -c rdbcheck -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rdbcheck -s V -l version -d 'Print version'
