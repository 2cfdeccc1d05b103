//! Every line sluice writes to standard error leaves through here, in the format `--log-format`
//! chose: `text` ("s3put: message", the default) or `json` (one object per line).
//!
//! A line is an [`Event`]: a level, a name (`started`, `retry`, `message`...), a message and
//! typed fields. The text format prints the message (or the event's own text line, or nothing);
//! the json format prints `{"time", "tool", "level", "event", "message", "pid", fields...}`, so
//! every line is JSON-safe by construction and the two formats come from the same call:
//!
//! ```ignore
//! log::note("multipart upload started");                       // {"event":"message",...}
//! log::Event::warn("retry", format!("{err}; retry {n} in {s:.1}s"))
//!     .field("what", what).field("attempt", n)
//!     .text_if(verbose >= 1)                                   // text: only under -v
//!     .emit();
//! ```
//!
//! Fields are `serde_json::Value`s under `&'static str` keys; a [`crate::secret::Secret`]
//! converts to neither, so a secret cannot become a field by accident. The run's own events
//! (started, completed, failed) are built by [`crate::run`]; the schema is in sluice(7).

use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::SystemTime;

/// How lines are written: `--log-format`, `SLUICE_LOG_FORMAT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    // (No doc comments: clap would list them in --help; the flag's help says it all.)
    // "PROG: message", one line each, as a person reads them.
    #[default]
    Text,
    // One JSON object per line, for log pipelines.
    Json,
}

static FORMAT: AtomicU8 = AtomicU8::new(0);
static PROG: OnceLock<String> = OnceLock::new();
static TOOL: OnceLock<String> = OnceLock::new();

/// Chooses the format of every line from now on (`cli::main`, once the flags are parsed).
pub fn set_format(f: Format) {
    FORMAT.store(f as u8, Ordering::SeqCst);
}

pub fn format() -> Format {
    if FORMAT.load(Ordering::SeqCst) == Format::Json as u8 {
        Format::Json
    } else {
        Format::Text
    }
}

pub fn is_json() -> bool {
    format() == Format::Json
}

/// The running binary's name, from argv[0]: the prefix of text lines.
pub(crate) fn prog() -> &'static str {
    PROG.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|a| std::path::Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "sluice".into())
    })
}

/// Names the tool for the `tool` field of JSON lines (its canonical name, whatever argv[0] is).
pub(crate) fn set_tool(name: &str) {
    let _ = TOOL.set(name.to_string());
}

pub fn tool() -> &'static str {
    TOOL.get().map(String::as_str).unwrap_or_else(prog)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// -vv detail (every request).
    Debug,
    Info,
    /// Something went wrong that the run survives (a retry, a cleanup that failed).
    Warn,
    /// The run failed.
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// The keys every JSON line starts with; an event's fields cannot replace them.
pub const COMMON_KEYS: [&str; 6] = ["time", "tool", "level", "event", "message", "pid"];

/// What the text format prints for an event.
#[derive(Clone, Debug)]
enum Text {
    /// "PROG: message".
    Message,
    /// "PROG: line".
    Line(String),
    /// The line as it is, without the program's name.
    Raw(String),
    /// Nothing: the event exists in JSON only.
    Hidden,
}

/// One line on stderr, in either format. Build it, then [`Event::emit`].
#[derive(Clone, Debug)]
#[must_use = "an event is written only by emit()"]
pub struct Event {
    level: Level,
    name: &'static str,
    message: String,
    fields: Vec<(&'static str, Value)>,
    text: Text,
    json: bool,
}

impl Event {
    /// An event named `name` (lower case, `_` between words) with a one-line message.
    pub fn new(level: Level, name: &'static str, message: impl std::fmt::Display) -> Event {
        Event { level, name, message: message.to_string(), fields: Vec::new(), text: Text::Message, json: true }
    }
    pub fn debug(name: &'static str, message: impl std::fmt::Display) -> Event {
        Self::new(Level::Debug, name, message)
    }
    pub fn info(name: &'static str, message: impl std::fmt::Display) -> Event {
        Self::new(Level::Info, name, message)
    }
    pub fn warn(name: &'static str, message: impl std::fmt::Display) -> Event {
        Self::new(Level::Warn, name, message)
    }
    pub fn error(name: &'static str, message: impl std::fmt::Display) -> Event {
        Self::new(Level::Error, name, message)
    }

    /// Adds (or replaces) a field. The common keys ([`COMMON_KEYS`]) are refused.
    pub fn field(mut self, key: &'static str, value: impl Into<Value>) -> Event {
        if COMMON_KEYS.contains(&key) {
            return self;
        }
        let value = value.into();
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
        self
    }

    /// Adds every field of `fields`, in order.
    pub fn fields(self, fields: &[(&'static str, Value)]) -> Event {
        fields.iter().fold(self, |e, (k, v)| e.field(k, v.clone()))
    }

    /// The text format prints "PROG: `line`" instead of the message.
    pub fn text(mut self, line: impl Into<String>) -> Event {
        self.text = Text::Line(line.into());
        self
    }

    /// The text format prints `line` as it is: no program name, newlines kept.
    pub fn raw_text(mut self, line: impl Into<String>) -> Event {
        self.text = Text::Raw(line.into());
        self
    }

    /// The text format prints the event only if `show` (e.g. under -v); JSON always has it.
    pub fn text_if(mut self, show: bool) -> Event {
        if !show {
            self.text = Text::Hidden;
        }
        self
    }

    /// Only in JSON: the text format has nothing to say (started, completed...).
    pub fn json_only(self) -> Event {
        self.text_if(false)
    }

    /// Only in text: the JSON format carries this elsewhere (an error line the `failed`
    /// event repeats).
    pub fn text_only(mut self) -> Event {
        self.json = false;
        self
    }

    /// The event as one JSON object, without the newline.
    pub fn to_json_line(&self) -> String {
        let mut s = String::with_capacity(160 + self.message.len());
        s.push('{');
        let time = Value::String(crate::time::rfc3339_millis(SystemTime::now()));
        push(&mut s, "time", &time);
        push(&mut s, "tool", &Value::String(tool().to_string()));
        push(&mut s, "level", &Value::String(self.level.as_str().to_string()));
        push(&mut s, "event", &Value::String(self.name.to_string()));
        push(&mut s, "message", &Value::String(self.message.clone()));
        push(&mut s, "pid", &Value::from(std::process::id()));
        for (k, v) in &self.fields {
            push(&mut s, k, v);
        }
        s.push('}');
        s
    }

    /// Writes the event in the current format (or nothing, when it has no line in it).
    pub fn emit(self) {
        let line = match format() {
            Format::Text => match self.text {
                Text::Message => format!("{}: {}", prog(), one_line(&self.message)),
                Text::Line(l) => format!("{}: {}", prog(), one_line(&l)),
                Text::Raw(l) => l,
                Text::Hidden => return,
            },
            Format::Json if self.json => self.to_json_line(),
            Format::Json => return,
        };
        write_line(&line);
    }
}

fn push(s: &mut String, key: &str, value: &Value) {
    if s.len() > 1 {
        s.push(',');
    }
    s.push_str(&serde_json::to_string(key).unwrap_or_default());
    s.push(':');
    s.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".into()));
}

/// Newlines inside a message are flattened so logs stay greppable.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// One whole line to stderr in a single write, so lines from two threads never interleave;
/// a stderr that cannot be written is not worth dying for.
fn write_line(line: &str) {
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    let _ = std::io::stderr().lock().write_all(buf.as_bytes());
}

/// An informational line (event `message`): text "PROG: msg".
pub fn note(msg: impl std::fmt::Display) {
    Event::info("message", msg).emit();
}

/// A warning (event `message`, level warn): text "PROG: msg", as a note.
pub fn warn(msg: impl std::fmt::Display) {
    Event::warn("message", msg).emit();
}

/// -vv detail (event `message`, level debug): text "PROG: msg".
pub fn debug(msg: impl std::fmt::Display) {
    Event::debug("message", msg).emit();
}

/// The uploaders' progress, about once a second. Text: one line rewritten in place with `\r`
/// (ended by a newline when `done`). JSON: a `progress` event (bytes, seconds, rate in bytes
/// per second); the last one is left to `completed`. With `--limit-rate` (`limit`), the reader
/// runs ahead by the buffer pool: the bytes sent through the limit show the real rate.
pub(crate) fn progress(bytes: u64, seconds: f64, done: bool, limit: Option<&crate::rate::RateLimit>) {
    let secs = seconds.max(1e-3);
    let rate = (limit.map_or(bytes, |l| l.taken()) as f64 / secs) as u64;
    match format() {
        Format::Text => {
            use crate::units::human;
            let mut line = match limit {
                Some(l) => format!(
                    "\r{}: {} read, {} sent, {}/s (limit {}/s)   ",
                    prog(),
                    human(bytes),
                    human(l.taken()),
                    human(rate),
                    human(l.bytes_per_sec())
                ),
                None => format!("\r{}: {} read, {}/s   ", prog(), human(bytes), human(rate)),
            };
            if done {
                line.push('\n');
            }
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        Format::Json if !done => {
            let mut e = Event::info("progress", format!("{bytes} bytes read, {rate} bytes/s"))
                .field("bytes", bytes)
                .field("seconds", round_ms(seconds))
                .field("rate", rate);
            if let Some(l) = limit {
                e = e.field("sent", l.taken()).field("limit", l.bytes_per_sec());
            }
            e.emit();
        }
        Format::Json => {}
    }
}

/// Seconds to the millisecond, for JSON.
pub(crate) fn round_ms(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

/// Keys and names may hold newlines and control characters; messages are one line, so those
/// are shown escaped (`\n`, `\u{1}`).
pub(crate) fn printable(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_object_with_the_common_keys_first() {
        let e = Event::warn("retry", "PUT s3://b/k: 503\nSlowDown")
            .field("attempt", 2)
            .field("what", "PUT s3://b/\"k\"")
            .field("attempt", 3)
            .field("time", "not allowed");
        let line = e.to_json_line();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("{\"time\":\""), "{line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["event"], "retry");
        assert_eq!(v["message"], "PUT s3://b/k: 503\nSlowDown");
        assert_eq!(v["attempt"], 3);
        assert_eq!(v["what"], "PUT s3://b/\"k\"");
        assert!(crate::time::parse_rfc3339(v["time"].as_str().unwrap()).is_some());
        let at: Vec<usize> = COMMON_KEYS.iter().map(|k| line.find(&format!("\"{k}\":")).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert_eq!(line.matches("\"time\":").count(), 1, "{line}");
    }
}
