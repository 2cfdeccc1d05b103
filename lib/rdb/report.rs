//! What a validation run found: header, AUX fields, per-database counts, the largest keys.

use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Checksum {
    /// Not reached yet (the run failed before the trailer).
    #[default]
    Unknown,
    /// RDB ≤ 4 has no checksum trailer.
    Absent,
    /// Stored as 0: the writer ran with `rdbchecksum no`.
    Disabled,
    /// Stored and verified.
    Verified(u64),
}

#[derive(Clone, Debug, Default)]
pub struct DbStats {
    pub keys: u64,
    pub expires: u64,
    /// Empty collections (skipped by servers on load; not counted in `keys`).
    pub empty: u64,
    /// Encoded bytes of this database's key records (type byte, key, value, prefixes).
    pub bytes: u64,
    /// Key counts by logical kind (string, list, set, zset, hash, stream, module).
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Key counts by RDB type / encoding (e.g. hash-listpack).
    pub by_type: BTreeMap<&'static str, u64>,
    /// The RESIZEDB hint (keys, expires), if present.
    pub resize_hint: Option<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopKey {
    pub db: u64,
    /// 1-based position of the key within its database's records.
    pub index: u64,
    pub type_name: &'static str,
    pub bytes: u64,
    /// The key name (printable form), only when key names were requested.
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub magic: String,
    pub version: u32,
    /// AUX fields in file order (values shortened to 200 bytes, printable form).
    pub aux: Vec<(String, String)>,
    pub dbs: BTreeMap<u64, DbStats>,
    pub keys: u64,
    pub expires: u64,
    pub functions: u64,
    pub module_aux: u64,
    /// Module value counts by module type name.
    pub modules: BTreeMap<String, u64>,
    pub empty_keys: u64,
    pub checksum: Checksum,
    /// Bytes of the RDB itself (magic through checksum).
    pub rdb_bytes: u64,
    /// Bytes read in all (the RDB plus an accepted `$EOF:` marker).
    pub total_bytes: u64,
    /// The 40-byte diskless-replication EOF marker followed the RDB (and was passed through).
    pub eof_marker: bool,
    pub warnings: Vec<String>,
    pub warnings_total: u64,
    /// Largest keys, biggest first.
    pub top: Vec<TopKey>,
    /// Start offset of every record, when [`super::Options::record_offsets`] asked for them.
    #[doc(hidden)]
    pub record_offsets: Option<Vec<u64>>,
}

impl Report {
    /// The human-readable summary printed by `rdbcheck -v`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "format: {}{:04} ({} magic, RDB version {})",
            self.magic, self.version, self.magic, self.version
        );
        if self.magic == "VALKEY" {
            s.clear();
            let _ = writeln!(s, "format: VALKEY{:03} (RDB version {})", self.version, self.version);
        }
        for (k, v) in &self.aux {
            let _ = writeln!(s, "aux: {k} = {v}");
        }
        for (db, st) in &self.dbs {
            let kinds: Vec<String> = st.by_type.iter().map(|(t, n)| format!("{t}={n}")).collect();
            let _ = writeln!(
                s,
                "db {db}: {} keys, {} with expiry, {} bytes{}{}",
                st.keys,
                st.expires,
                st.bytes,
                if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
                match st.resize_hint {
                    Some((k, e)) if k != st.keys || e != st.expires =>
                        format!(" [RESIZEDB hint: {k} keys, {e} expires]"),
                    _ => String::new(),
                }
            );
        }
        let _ = writeln!(
            s,
            "keys: {} ({} with expiry, {} empty skipped by servers)",
            self.keys, self.expires, self.empty_keys
        );
        if self.functions > 0 {
            let _ = writeln!(s, "function libraries: {}", self.functions);
        }
        if self.module_aux > 0 || !self.modules.is_empty() {
            let mods: Vec<String> = self.modules.iter().map(|(m, n)| format!("{m}={n}")).collect();
            let _ = writeln!(
                s,
                "modules: {} aux records; values: {}",
                self.module_aux,
                if mods.is_empty() { "none".into() } else { mods.join(", ") }
            );
        }
        let _ = writeln!(
            s,
            "checksum: {}",
            match &self.checksum {
                Checksum::Unknown => "not reached".to_string(),
                Checksum::Absent => "none (RDB version < 5)".to_string(),
                Checksum::Disabled => "disabled (stored as 0)".to_string(),
                Checksum::Verified(c) => format!("ok {c:016x}"),
            }
        );
        let _ = writeln!(
            s,
            "bytes: {} RDB{}",
            self.rdb_bytes,
            if self.eof_marker { " + 40-byte $EOF marker (passed through)" } else { "" }
        );
        for t in &self.top {
            let _ = writeln!(
                s,
                "largest: {} bytes, db {} key #{} ({}){}",
                t.bytes,
                t.db,
                t.index,
                t.type_name,
                t.name.as_ref().map(|n| format!(" {n}")).unwrap_or_default()
            );
        }
        if self.warnings_total > 0 {
            let _ = writeln!(s, "warnings: {}", self.warnings_total);
        }
        s
    }

    /// The same as JSON (for `--json`), plus the largest keys.
    pub fn to_json(&self, valid: bool, error: Option<&str>) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let mut aux = Map::new();
        for (k, v) in &self.aux {
            aux.insert(k.clone(), Value::String(v.clone()));
        }
        let mut dbs = Map::new();
        for (db, st) in &self.dbs {
            dbs.insert(
                db.to_string(),
                json!({
                    "keys": st.keys,
                    "expires": st.expires,
                    "bytes": st.bytes,
                    "by_kind": st.by_kind,
                    "by_type": st.by_type,
                    "resizedb_hint": st.resize_hint.map(|(k, e)| json!({"keys": k, "expires": e})),
                }),
            );
        }
        let checksum = match &self.checksum {
            Checksum::Unknown => json!({"status": "not-reached"}),
            Checksum::Absent => json!({"status": "absent"}),
            Checksum::Disabled => json!({"status": "disabled"}),
            Checksum::Verified(c) => json!({"status": "ok", "value": format!("{c:016x}")}),
        };
        let top: Vec<Value> = self
            .top
            .iter()
            .map(|t| {
                let mut o = json!({"db": t.db, "index": t.index, "type": t.type_name, "bytes": t.bytes});
                if let Some(n) = &t.name {
                    o["key"] = Value::String(n.clone());
                }
                o
            })
            .collect();
        json!({
            "valid": valid,
            "error": error,
            "format": {"magic": self.magic, "version": self.version},
            "aux": aux,
            "databases": dbs,
            "keys": self.keys,
            "expires": self.expires,
            "empty_keys": self.empty_keys,
            "functions": self.functions,
            "module_aux": self.module_aux,
            "modules": self.modules,
            "checksum": checksum,
            "rdb_bytes": self.rdb_bytes,
            "total_bytes": self.total_bytes,
            "eof_marker": self.eof_marker,
            "warnings": self.warnings,
            "warnings_total": self.warnings_total,
            "largest_keys": top,
        })
    }
}

/// A printable, shortened form of arbitrary bytes (for key names and AUX values).
pub(crate) fn printable(b: &[u8], max: usize) -> String {
    let mut s = String::new();
    let cut = b.len() > max;
    for chunk in b[..b.len().min(max)].utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let _ = write!(s, "\\u{{{:x}}}", c as u32);
            } else {
                s.push(c);
            }
        }
        for &x in chunk.invalid() {
            let _ = write!(s, "\\x{x:02x}");
        }
    }
    if cut {
        s.push('…');
    }
    s
}
