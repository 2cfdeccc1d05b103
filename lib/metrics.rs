//! `--metrics-file`: the Prometheus text-format file a run leaves for node_exporter's textfile
//! collector, the batch-job convention: did the last run succeed, when did the job last
//! succeed, how long did it take, how many bytes.
//!
//! The file is replaced atomically (a temporary file in the same directory, synced, then
//! renamed over it), so the collector never reads half a file, and the temporary is removed
//! whatever fails. After a failure the previous `sluice_last_success_timestamp_seconds` is
//! read back from the file being replaced and kept, so an alert on
//! `time() - sluice_last_success_timestamp_seconds` fires when the job has not succeeded for a
//! while, whatever happened since. Format:
//! <https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the metrics go and the labels they carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    /// The `job` label (`--metrics-job`, default the tool's name).
    pub job: String,
    /// The `tool` label.
    pub tool: String,
}

/// What one run reports.
#[derive(Clone, Debug)]
pub struct Sample {
    pub success: bool,
    /// When the run ended.
    pub ended: SystemTime,
    pub duration: Duration,
    pub bytes: u64,
}

/// Every metric: name, type, help. The names are the interface alerts are written against.
pub const METRICS: [(&str, &str, &str); 5] = [
    ("sluice_last_success", "gauge", "1 if the last run of the job succeeded, 0 if it failed."),
    (
        "sluice_last_attempt_timestamp_seconds",
        "gauge",
        "When the last run of the job ended, in seconds since the Unix epoch.",
    ),
    (
        "sluice_last_success_timestamp_seconds",
        "gauge",
        "When the last successful run of the job ended, in seconds since the Unix epoch (0: none yet); kept across failures.",
    ),
    ("sluice_last_duration_seconds", "gauge", "How long the last run of the job took, in seconds."),
    ("sluice_last_bytes", "gauge", "Bytes the last run of the job moved (stored, written, validated or listed)."),
];

const LAST_SUCCESS_TS: &str = "sluice_last_success_timestamp_seconds";

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The file's text. `last_success` is the success timestamp to report (this run's when it
/// succeeded, else the previous file's, else 0).
pub fn render(cfg: &Config, s: &Sample, last_success: f64) -> String {
    let labels = format!("{{job=\"{}\",tool=\"{}\"}}", label_value(&cfg.job), label_value(&cfg.tool));
    let values = [
        if s.success { "1".to_string() } else { "0".to_string() },
        format!("{:.3}", unix(s.ended)),
        format!("{last_success:.3}"),
        format!("{:.3}", s.duration.as_secs_f64()),
        s.bytes.to_string(),
    ];
    let mut out = String::new();
    for ((name, kind, help), value) in METRICS.iter().zip(values) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{labels} {value}\n"));
    }
    out
}

/// The value of `sluice_last_success_timestamp_seconds` for `job` in a metrics file's text.
pub fn last_success(text: &str, job: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let rest = line.strip_prefix(LAST_SUCCESS_TS).filter(|r| r.starts_with(['{', ' ', '\t']))?;
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => {
                let (labels, after) = split_labels(r)?;
                (labels, after)
            }
            None => (Vec::new(), rest),
        };
        if labels.iter().any(|(k, v)| k == "job" && v != job) {
            return None;
        }
        let v: f64 = value.split_whitespace().next()?.parse().ok()?;
        (v.is_finite() && v >= 0.0).then_some(v)
    })
}

/// `name="value",...}` -> the pairs and what follows the `}`; None when malformed.
fn split_labels(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut pairs = Vec::new();
    let mut rest = s.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Some((pairs, after));
        }
        let (name, r) = rest.split_once('=')?;
        let mut chars = r.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        pairs.push((name.trim().to_string(), value));
        rest = r[1 + end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
}

/// Writes the run's metrics to `cfg.path`, atomically. On failure, the success timestamp of
/// the file being replaced is kept. The error says what could not be done.
pub fn write(cfg: &Config, s: &Sample) -> Result<(), String> {
    let last = if s.success {
        unix(s.ended)
    } else {
        fs::read_to_string(&cfg.path).ok().and_then(|t| last_success(&t, &cfg.job)).unwrap_or(0.0)
    };
    write_atomically(&cfg.path, render(cfg, s, last).as_bytes())
        .map_err(|e| format!("cannot write the metrics file {}: {e}", cfg.path.display()))
}

/// A temporary file next to `path`, synced, then renamed over it; removed on any failure.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| std::io::Error::other("not a file name"))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Hidden and without the .prom suffix, so the collector never reads it; our pid makes it
    // ours (a leftover with the same pid can only be from a dead process).
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(job: &str) -> Config {
        Config { path: PathBuf::from("/nonexistent/x.prom"), job: job.into(), tool: "s3put".into() }
    }

    #[test]
    fn renders_every_metric_with_help_type_and_labels() {
        let s = Sample {
            success: true,
            ended: UNIX_EPOCH + Duration::from_millis(1_763_694_000_250),
            duration: Duration::from_millis(1500),
            bytes: 42,
        };
        let text = render(&cfg("va\"l\\k\ney"), &s, 1_763_694_000.25);
        for (name, kind, _) in METRICS {
            assert!(text.contains(&format!("# HELP {name} ")), "{text}");
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{text}");
        }
        assert!(text.contains("sluice_last_success{job=\"va\\\"l\\\\k\\ney\",tool=\"s3put\"} 1\n"), "{text}");
        assert!(text.contains("sluice_last_bytes{job=\"va\\\"l\\\\k\\ney\",tool=\"s3put\"} 42\n"), "{text}");
        assert!(text.contains("sluice_last_duration_seconds{job=\"va\\\"l\\\\k\\ney\",tool=\"s3put\"} 1.500\n"));
        assert_eq!(last_success(&text, "va\"l\\k\ney"), Some(1_763_694_000.25));
        assert_eq!(last_success(&text, "other"), None);
    }

    #[test]
    fn reads_back_the_last_success_in_any_label_order() {
        let t = "# x\nsluice_last_success_timestamp_seconds_total 5\nsluice_last_success_timestamp_seconds{tool=\"s3put\", job=\"a,}b\"} 17.5 1700\n";
        assert_eq!(last_success(t, "a,}b"), Some(17.5));
        assert_eq!(last_success("sluice_last_success_timestamp_seconds 3\n", "j"), Some(3.0));
        assert_eq!(last_success("sluice_last_success_timestamp_seconds{job=\"j\"} NaN\n", "j"), None);
        assert_eq!(last_success("sluice_last_success_timestamp_seconds{job=\"j} 3\n", "j"), None);
    }
}
