//! Listings of the account (containers) or of a container (objects), paginated with markers.

use super::client::SwiftClient;
use crate::error::Result;
use serde_json::Value;
use std::time::SystemTime;

/// One listed container or object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub bytes: u64,
    /// Objects only: hash, content type and last modification as Swift reports them.
    pub hash: Option<String>,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
    /// Containers only.
    pub count: Option<u64>,
    /// A common prefix ("subdir") when listing with a delimiter.
    pub subdir: bool,
}

impl Item {
    pub(crate) fn from_json(v: &Value) -> Item {
        if let Some(sub) = v["subdir"].as_str() {
            return Item { name: sub.to_string(), subdir: true, ..Item::default() };
        }
        Item {
            name: v["name"].as_str().unwrap_or("").to_string(),
            bytes: v["bytes"].as_u64().unwrap_or(0),
            hash: v["hash"].as_str().map(str::to_string),
            content_type: v["content_type"].as_str().map(str::to_string),
            last_modified: v["last_modified"].as_str().map(str::to_string),
            count: v["count"].as_u64(),
            subdir: false,
        }
    }

    /// Swift's listing timestamps have no zone (`2024-05-01T10:00:00.123456`): they are UTC.
    pub(crate) fn modified(&self) -> Option<SystemTime> {
        let t = self.last_modified.as_deref()?;
        let has_zone = t.ends_with('Z') || t.ends_with('z') || t[t.len().saturating_sub(6)..].contains(['+', '-']);
        crate::time::parse_rfc3339(&if has_zone { t.to_string() } else { format!("{t}Z") })
    }
}

/// Calls `f` for every item, page by page (markers), so any size lists in bounded memory.
pub(crate) fn for_each(
    client: &SwiftClient,
    container: Option<&str>,
    prefix: Option<&str>,
    delimiter: Option<char>,
    page_size: usize,
    mut f: impl FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut marker = String::new();
    loop {
        let page = client.list_page(container, prefix, delimiter, &marker, page_size.clamp(1, 10_000))?;
        let Some(last) = page.last() else { return Ok(()) };
        let next = last["name"].as_str().or_else(|| last["subdir"].as_str()).unwrap_or("").to_string();
        for v in &page {
            f(Item::from_json(v))?;
        }
        if next.is_empty() || next == marker {
            return Ok(());
        }
        marker = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swift_dates_are_utc() {
        let i = Item { last_modified: Some("2024-05-01T10:00:00.123456".into()), ..Item::default() };
        assert_eq!(i.modified(), crate::time::parse_rfc3339("2024-05-01T10:00:00.123456Z"));
    }
}
