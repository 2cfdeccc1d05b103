//! Which byte means what, by magic and version (RDB §4/§5 of the format notes).

/// The file signature family: Redis (and Valkey ≤ 8.x) write `REDIS`, Valkey ≥ 9 `VALKEY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Magic {
    Redis,
    Valkey,
}

impl Magic {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Magic::Redis => "REDIS",
            Magic::Valkey => "VALKEY",
        }
    }
}

/// Highest REDIS-magic version with a known layout (Redis 8.8 writes 14).
pub(crate) const REDIS_MAX: u32 = 14;
/// VALKEY-magic versions: 80 (Valkey 9.0/9.1) and 81 (9.2-dev).
pub(crate) const VALKEY_MIN: u32 = 80;
pub(crate) const VALKEY_MAX: u32 = 81;

/// Value types with a documented layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    List,
    Set,
    Zset,
    Hash,
    Zset2,
    Module2,
    HashZipmap,
    ListZiplist,
    SetIntset,
    ZsetZiplist,
    HashZiplist,
    ListQuicklist,
    Stream(u8),
    HashListpack,
    ZsetListpack,
    ListQuicklist2,
    SetListpack,
    HashMetadataPreGa,
    HashListpackExPreGa,
    HashMetadata,
    HashListpackEx,
    /// Valkey 9 hash with per-field absolute expiry.
    Hash2,
}

impl Ty {
    /// Every type, in the order of [`Ty::index`].
    pub(crate) const ALL: [Ty; 26] = [
        Ty::String,
        Ty::List,
        Ty::Set,
        Ty::Zset,
        Ty::Hash,
        Ty::Zset2,
        Ty::Module2,
        Ty::HashZipmap,
        Ty::ListZiplist,
        Ty::SetIntset,
        Ty::ZsetZiplist,
        Ty::HashZiplist,
        Ty::ListQuicklist,
        Ty::Stream(1),
        Ty::Stream(2),
        Ty::Stream(3),
        Ty::Stream(4),
        Ty::HashListpack,
        Ty::ZsetListpack,
        Ty::ListQuicklist2,
        Ty::SetListpack,
        Ty::HashMetadataPreGa,
        Ty::HashListpackExPreGa,
        Ty::HashMetadata,
        Ty::HashListpackEx,
        Ty::Hash2,
    ];

    /// A dense index (for per-type counters).
    #[inline]
    pub(crate) fn index(self) -> usize {
        match self {
            Ty::String => 0,
            Ty::List => 1,
            Ty::Set => 2,
            Ty::Zset => 3,
            Ty::Hash => 4,
            Ty::Zset2 => 5,
            Ty::Module2 => 6,
            Ty::HashZipmap => 7,
            Ty::ListZiplist => 8,
            Ty::SetIntset => 9,
            Ty::ZsetZiplist => 10,
            Ty::HashZiplist => 11,
            Ty::ListQuicklist => 12,
            Ty::Stream(v) => 12 + v.clamp(1, 4) as usize,
            Ty::HashListpack => 17,
            Ty::ZsetListpack => 18,
            Ty::ListQuicklist2 => 19,
            Ty::SetListpack => 20,
            Ty::HashMetadataPreGa => 21,
            Ty::HashListpackExPreGa => 22,
            Ty::HashMetadata => 23,
            Ty::HashListpackEx => 24,
            Ty::Hash2 => 25,
        }
    }

    #[inline]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::String => "string",
            Ty::List => "list",
            Ty::Set => "set",
            Ty::Zset => "zset",
            Ty::Hash => "hash",
            Ty::Zset2 => "zset2",
            Ty::Module2 => "module",
            Ty::HashZipmap => "hash-zipmap",
            Ty::ListZiplist => "list-ziplist",
            Ty::SetIntset => "set-intset",
            Ty::ZsetZiplist => "zset-ziplist",
            Ty::HashZiplist => "hash-ziplist",
            Ty::ListQuicklist => "list-quicklist",
            Ty::Stream(1) => "stream-v1",
            Ty::Stream(2) => "stream-v2",
            Ty::Stream(3) => "stream-v3",
            Ty::Stream(_) => "stream-v4",
            Ty::HashListpack => "hash-listpack",
            Ty::ZsetListpack => "zset-listpack",
            Ty::ListQuicklist2 => "list-quicklist2",
            Ty::SetListpack => "set-listpack",
            Ty::HashMetadataPreGa => "hash-metadata-pre-ga",
            Ty::HashListpackExPreGa => "hash-listpack-ex-pre-ga",
            Ty::HashMetadata => "hash-metadata",
            Ty::HashListpackEx => "hash-listpack-ex",
            Ty::Hash2 => "hash2",
        }
    }

    /// The logical kind, for per-database counts.
    #[inline]
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Ty::String => "string",
            Ty::List | Ty::ListZiplist | Ty::ListQuicklist | Ty::ListQuicklist2 => "list",
            Ty::Set | Ty::SetIntset | Ty::SetListpack => "set",
            Ty::Zset | Ty::Zset2 | Ty::ZsetZiplist | Ty::ZsetListpack => "zset",
            Ty::Hash
            | Ty::HashZipmap
            | Ty::HashZiplist
            | Ty::HashListpack
            | Ty::HashMetadataPreGa
            | Ty::HashListpackExPreGa
            | Ty::HashMetadata
            | Ty::HashListpackEx
            | Ty::Hash2 => "hash",
            Ty::Stream(_) => "stream",
            Ty::Module2 => "module",
        }
    }
}

/// Non-key records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eof,
    SelectDb,
    ExpireTime,
    ExpireTimeMs,
    ResizeDb,
    Aux,
    Freq,
    Idle,
    ModuleAux,
    Function2,
    SlotInfo,
    /// Redis RDB 13: key metadata classes before a key.
    KeyMeta,
    /// Valkey 9: slot-migration import job.
    SlotImport,
}

impl Op {
    #[inline]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Eof => "EOF",
            Op::SelectDb => "SELECTDB",
            Op::ExpireTime => "EXPIRETIME",
            Op::ExpireTimeMs => "EXPIRETIME_MS",
            Op::ResizeDb => "RESIZEDB",
            Op::Aux => "AUX",
            Op::Freq => "FREQ",
            Op::Idle => "IDLE",
            Op::ModuleAux => "MODULE_AUX",
            Op::Function2 => "FUNCTION2",
            Op::SlotInfo => "SLOT_INFO",
            Op::KeyMeta => "KEY_META",
            Op::SlotImport => "SLOT_IMPORT",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rec {
    Op(Op),
    Key(Ty),
}

/// What byte `b` means in a file with this magic and version, or why it is refused.
pub(crate) fn classify(magic: Magic, ver: u32, b: u8) -> Result<Rec, String> {
    use Rec::{Key, Op as O};
    let need = |since: u32, r: Rec, name: &str, who: &str| -> Result<Rec, String> {
        if ver >= since {
            Ok(r)
        } else {
            Err(format!(
                "{kind} byte {b} ({name}) is not valid in RDB version {ver}: it exists since RDB {since} ({who})",
                kind = if b >= 242 { "opcode" } else { "type" }
            ))
        }
    };
    let undocumented = |name: &str, who: &str| -> Result<Rec, String> {
        Err(format!(
            "{kind} byte {b} ({name}, {who}) has no documented layout; rdbcheck cannot validate it",
            kind = if b >= 242 { "opcode" } else { "type" }
        ))
    };
    // Shared by both magics.
    match b {
        0 => return Ok(Key(Ty::String)),
        1 => return Ok(Key(Ty::List)),
        2 => return Ok(Key(Ty::Set)),
        3 => return Ok(Key(Ty::Zset)),
        4 => return Ok(Key(Ty::Hash)),
        5 => return need(8, Key(Ty::Zset2), "ZSET_2", "Redis 4.0"),
        6 => {
            return Err(
                "type byte 6 (MODULE_PRE_GA) is the Redis 4.0 release-candidate module format, which no server loads"
                    .into(),
            )
        }
        7 => return need(8, Key(Ty::Module2), "MODULE_2", "Redis 4.0"),
        8 => return Err("type byte 8 was never assigned to any value type".into()),
        9 => return need(2, Key(Ty::HashZipmap), "HASH_ZIPMAP", "Redis 2.4"),
        10 => return need(2, Key(Ty::ListZiplist), "LIST_ZIPLIST", "Redis 2.4"),
        11 => return need(2, Key(Ty::SetIntset), "SET_INTSET", "Redis 2.4"),
        12 => return need(2, Key(Ty::ZsetZiplist), "ZSET_ZIPLIST", "Redis 2.4"),
        13 => return need(4, Key(Ty::HashZiplist), "HASH_ZIPLIST", "Redis 2.6"),
        14 => return need(7, Key(Ty::ListQuicklist), "LIST_QUICKLIST", "Redis 3.2"),
        15 => return need(9, Key(Ty::Stream(1)), "STREAM_LISTPACKS", "Redis 5.0"),
        16 => return need(10, Key(Ty::HashListpack), "HASH_LISTPACK", "Redis 7.0"),
        17 => return need(10, Key(Ty::ZsetListpack), "ZSET_LISTPACK", "Redis 7.0"),
        18 => return need(10, Key(Ty::ListQuicklist2), "LIST_QUICKLIST_2", "Redis 7.0"),
        19 => return need(10, Key(Ty::Stream(2)), "STREAM_LISTPACKS_2", "Redis 7.0"),
        20 => return need(11, Key(Ty::SetListpack), "SET_LISTPACK", "Redis 7.2"),
        21 => return need(11, Key(Ty::Stream(3)), "STREAM_LISTPACKS_3", "Redis 7.2"),
        245 => return Ok(O(Op::Function2)),
        246 => {
            return Err(
                "opcode 246 (FUNCTION_PRE_GA) is the Redis 7.0-rc1/rc2 function format, which no server loads".into()
            )
        }
        247 => return need(8, O(Op::ModuleAux), "MODULE_AUX", "Redis 4.0"),
        248 => return need(8, O(Op::Idle), "IDLE", "Redis 4.0"),
        249 => return need(8, O(Op::Freq), "FREQ", "Redis 4.0"),
        // AUX, RESIZEDB and EXPIRETIME_MS are not gated: loaders of every version read them,
        // and older-version files carrying AUX fields exist (librdb's script_legacy).
        250 => return Ok(O(Op::Aux)),
        251 => return Ok(O(Op::ResizeDb)),
        252 => return Ok(O(Op::ExpireTimeMs)),
        253 => return Ok(O(Op::ExpireTime)),
        254 => return Ok(O(Op::SelectDb)),
        255 => return Ok(O(Op::Eof)),
        _ => {}
    }
    match magic {
        Magic::Redis => match b {
            22 => need(12, Key(Ty::HashMetadataPreGa), "HASH_METADATA_PRE_GA", "Redis 7.4"),
            23 => need(12, Key(Ty::HashListpackExPreGa), "HASH_LISTPACK_EX_PRE_GA", "Redis 7.4"),
            24 => need(12, Key(Ty::HashMetadata), "HASH_METADATA", "Redis 7.4"),
            25 => need(12, Key(Ty::HashListpackEx), "HASH_LISTPACK_EX", "Redis 7.4"),
            26 => need(13, Key(Ty::Stream(4)), "STREAM_LISTPACKS_4", "Redis 8.6"),
            27 => undocumented("STREAM_LISTPACKS_5", "Redis RDB 14, Redis 8.8"),
            28 => undocumented("ARRAY", "Redis RDB 14, Redis 8.8"),
            29..=33 => undocumented("hash template / GCRA type", "unreleased Redis RDB 15?"),
            242 => undocumented("HASH_TEMPLATES", "unreleased Redis RDB 15?"),
            243 => need(13, O(Op::KeyMeta), "KEY_META", "Redis 8.6"),
            244 => need(12, O(Op::SlotInfo), "SLOT_INFO", "Redis 7.4"),
            _ => Err(unknown(b)),
        },
        Magic::Valkey => match b {
            22 => need(80, Key(Ty::Hash2), "HASH_2", "Valkey 9.0"),
            23 => undocumented("PATH_HASH", "VALKEY081, Valkey 9.2-dev"),
            242 => undocumented("UPDATE", "VALKEY081, Valkey 9.2-dev"),
            243 => need(80, O(Op::SlotImport), "SLOT_IMPORT", "Valkey 9.0"),
            244 => Ok(O(Op::SlotInfo)),
            _ => Err(unknown(b)),
        },
    }
}

fn unknown(b: u8) -> String {
    let hint = match b {
        101 | 102 => " (an old Garantia Data opcode; not written by open-source servers)",
        107 => " (Redis Enterprise RAM_LRU opcode; not written by open-source servers)",
        121 => " (Redis Enterprise SLOT_NUM opcode; not written by open-source servers)",
        _ => "",
    };
    format!("unknown type or opcode byte {b} (0x{b:02x}){hint}")
}

/// Module type ids: 9 characters of 6 bits each, then a 10-bit encoding version.
pub(crate) fn module_name(id: u64) -> String {
    debug_assert!(Ty::ALL.iter().enumerate().all(|(i, t)| t.index() == i));
    const CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = String::with_capacity(9);
    let mut v = id >> 10;
    let mut chars = [0u8; 9];
    for c in chars.iter_mut().rev() {
        *c = CHARS[(v & 63) as usize];
        v >>= 6;
    }
    for c in chars {
        name.push(c as char);
    }
    name
}
