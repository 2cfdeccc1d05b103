//! Non-key records: expiry and eviction prefixes, SELECTDB, RESIZEDB, AUX, modules,
//! functions and cluster slots.

use super::{Parser, R};
use crate::rdb::format::{self, Op};
use crate::rdb::report::printable;
use crate::rdb::sink::{Discard, Keep};

impl Parser<'_, '_> {
    pub(super) fn opcode(&mut self, op: Op, at: u64) -> R<()> {
        match op {
            Op::ExpireTime | Op::ExpireTimeMs => {
                if let Some(prev) = self.pending.expire {
                    return self.fail(at, format!("a second expiry ({}) for the same key, after {prev}", op.name()));
                }
                if op == Op::ExpireTime {
                    self.inp.array::<4>("the EXPIRETIME seconds")?;
                } else {
                    self.i64_le("the EXPIRETIME_MS milliseconds")?;
                }
                self.pending.expire = Some(op.name());
                self.pending.first_at.get_or_insert(at);
            }
            Op::Idle => {
                if self.pending.idle {
                    return self.fail(at, "a second IDLE opcode for the same key");
                }
                self.len("the IDLE seconds")?;
                self.pending.idle = true;
                self.pending.first_at.get_or_insert(at);
            }
            Op::Freq => {
                if self.pending.freq {
                    return self.fail(at, "a second FREQ opcode for the same key");
                }
                self.inp.u8("the FREQ counter")?;
                self.pending.freq = true;
                self.pending.first_at.get_or_insert(at);
            }
            Op::KeyMeta => {
                if self.pending.keymeta {
                    return self.fail(at, "a second KEY_META opcode for the same key");
                }
                let n = self.len("the KEY_META class count")?;
                for _ in 0..n {
                    self.inp.array::<4>("a KEY_META class id")?;
                    self.module_stream("KEY_META class data")?;
                }
                self.pending.keymeta = true;
                self.pending.first_at.get_or_insert(at);
            }
            Op::SelectDb => {
                let db = self.len("the SELECTDB database id")?;
                if db >= self.opts.databases {
                    return self.fail(
                        at,
                        format!(
                            "SELECTDB {db}: the database id is not below {} (a server with `databases {}` refuses to load it; see --databases)",
                            self.opts.databases, self.opts.databases
                        ),
                    );
                }
                self.db = db;
                self.db_seen = true;
                self.select(db);
                let d = &self.dbs[self.cur];
                self.key_index = d.keys + d.empty;
            }
            Op::ResizeDb => {
                let k = self.len("the RESIZEDB key count")?;
                let e = self.len("the RESIZEDB expires count")?;
                self.db_count().resize_hint = Some((k, e));
            }
            Op::Aux => {
                let mut k = Keep::new(200);
                self.string(&mut k, "an AUX field name")?;
                let mut v = Keep::new(200);
                let vat = self.inp.offset();
                self.string(&mut v, "an AUX field value")?;
                if k.buf == b"slot-info" {
                    // Valkey 8+: "slot,keys,expires[,volatile]"; Valkey loaders refuse fewer fields.
                    let ok = v.buf.split(|&c| c == b',').count() >= 3
                        && v.buf.split(|&c| c == b',').all(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
                    if !ok {
                        return self.fail(
                            vat,
                            format!(
                                "AUX slot-info value \"{}\" is not \"slot,keys,expires[,…]\"",
                                printable(&v.buf, 60)
                            ),
                        );
                    }
                }
                self.report.aux.push((printable(&k.buf, 100), printable(&v.buf, 200)));
            }
            Op::ModuleAux => {
                let id = self.len("the MODULE_AUX module id")?;
                let wat = self.inp.offset();
                let when_op = self.len("the MODULE_AUX when-opcode")?;
                if when_op != 2 {
                    return self.fail(wat, format!("MODULE_AUX when-opcode is {when_op}, expected 2 (UINT)"));
                }
                let wat = self.inp.offset();
                let when = self.len("the MODULE_AUX when value")?;
                if when != 1 && when != 2 {
                    return self.fail(
                        wat,
                        format!("MODULE_AUX when value is {when}, expected 1 (before keys) or 2 (after keys)"),
                    );
                }
                let name = format::module_name(id);
                self.module_stream(&format!("MODULE_AUX data of module {name}"))?;
                self.report.module_aux += 1;
            }
            Op::Function2 => {
                let mut k = Keep::new(4096);
                let sat = self.inp.offset();
                self.string(&mut k, "a function library")?;
                let first = k.buf.split(|&c| c == b'\n').next().unwrap_or(&[]);
                let ok = first.starts_with(b"#!")
                    && first[2..]
                        .split(|c| c.is_ascii_whitespace())
                        .skip(1)
                        .any(|t| t.len() > 5 && t.starts_with(b"name="));
                if !ok {
                    return self.fail(
                        sat,
                        format!("function library code does not start with a \"#!<engine> name=<library>\" line (starts \"{}\")", printable(first, 60)),
                    );
                }
                self.report.functions += 1;
            }
            Op::SlotInfo => {
                let sat = self.inp.offset();
                let slot = self.len("the SLOT_INFO slot id")?;
                self.len("the SLOT_INFO key count")?;
                self.len("the SLOT_INFO expires count")?;
                if slot >= 16384 {
                    return self.fail(sat, format!("SLOT_INFO slot {slot} is not below 16384"));
                }
            }
            Op::SlotImport => {
                let mut k = Keep::new(64);
                self.string(&mut k, "the SLOT_IMPORT job name")?;
                let n = self.len("the SLOT_IMPORT range count")?;
                for _ in 0..n {
                    let rat = self.inp.offset();
                    let a = self.len("a SLOT_IMPORT range start")?;
                    let b = self.len("a SLOT_IMPORT range end")?;
                    if a > b || b >= 16384 {
                        return self
                            .fail(rat, format!("SLOT_IMPORT range {a}-{b} is not a range of slots below 16384"));
                    }
                }
            }
            Op::Eof => unreachable!(),
        }
        Ok(())
    }

    /// A module opcode stream (MODULE_2 values, MODULE_AUX, KEY_META), up to its 0 terminator.
    pub(super) fn module_stream(&mut self, what: &str) -> R<()> {
        loop {
            let at = self.inp.offset();
            match self.len(what)? {
                0 => return Ok(()),
                1 | 2 => {
                    self.len(what)?;
                }
                3 => {
                    self.inp.array::<4>(what)?;
                }
                4 => {
                    self.inp.array::<8>(what)?;
                }
                5 => {
                    self.string(&mut Discard, what)?;
                }
                op => {
                    return self.fail(at, format!("unknown module opcode {op} in {what} (valid: 0 EOF, 1 SINT, 2 UINT, 3 FLOAT, 4 DOUBLE, 5 STRING)"))
                }
            }
        }
    }
}
