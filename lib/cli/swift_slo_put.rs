//! swift-slo-put's flags.

use super::args::{key_value, RateArgs, ReportArgs, SwiftArgs, UploadArgs, AUTH_HELP};
use super::Tool;
use crate::run::{self, Target};
use crate::swift::client::Info;
use crate::swift::{SwiftDestination, UploadOptions};
use crate::transfer::PartPlan;
use crate::units::parse_size;
use crate::{Error, Result};
use clap::Parser;
use std::sync::Arc;

pub(crate) const ABOUT: &str =
    "Stream standard input into OpenStack Swift as a Static Large Object, verified, leaving nothing behind on failure";

pub(crate) const LONG_ABOUT: &str = "\
Reads standard input to EOF and stores it as CONTAINER/OBJECT in OpenStack Swift.

Input smaller than one segment is stored as a plain object. Anything larger is cut into \
segments of --segment-size, uploaded concurrently (-j) to CONTAINER_segments under \
OBJECT/slo/MTIME/SEGMENT_SIZE/NNNNNNNN (python-swiftclient's names), then joined by a Static \
Large Object manifest. Memory stays below (jobs + 2) x segment size whatever the input size. \
When the segments outgrow one manifest (the cluster's max_manifest_segments, from /info), they \
are grouped into sub-manifests and a manifest of those, so any length works.

Each segment is sent with its MD5 as ETag and retried from memory on failure; an expired token \
is renewed and the request retried. At the end the object is always verified: its length must \
equal the bytes read and its ETag the MD5 of the segment ETags, computed locally.

On failure, SIGINT, SIGTERM or SIGHUP no manifest is written and the uploaded segments are \
deleted (bulk delete when the cluster has it). Replacing an existing SLO deletes its old \
segments once the new object verified, unless --leave-segments.";

pub const EXAMPLES: &str = "\
Examples:
  curl -s ftp://nas/backups/full.tar | swift-slo-put backups full.tar
  valkey-cli --rdb - | rdbcheck | swift-slo-put -S 256M -j 8 backups valkey/latest.rdb";

#[derive(Parser, Debug)]
#[command(name = "swift-slo-put", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = super::after_help(&[AUTH_HELP], EXAMPLES))]
pub struct Args {
    /// Container (must exist unless --create-container)
    pub(crate) container: String,
    /// Object name
    pub(crate) object: String,

    #[command(flatten)]
    pub(crate) swift: SwiftArgs,

    /// Segment size (at most the cluster's max_file_size, 5 GiB by default)
    #[arg(short = 'S', long, value_name = "SIZE", default_value = "64M", value_parser = parse_size, help_heading = "Upload")]
    pub(crate) segment_size: u64,
    /// Segments uploaded concurrently
    #[arg(short, long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Upload")]
    pub(crate) jobs: u16,
    /// Container for the segments (default: CONTAINER_segments, created with CONTAINER's storage policy)
    #[arg(long, value_name = "NAME", help_heading = "Upload")]
    pub(crate) segment_container: Option<String>,
    /// Keep the segments of an SLO this upload replaces
    #[arg(long, help_heading = "Upload")]
    pub(crate) leave_segments: bool,
    /// Create the container if it does not exist
    #[arg(long, help_heading = "Upload")]
    pub(crate) create_container: bool,

    /// User metadata stored as X-Object-Meta-KEY (repeatable)
    #[arg(long = "meta", value_name = "KEY=VALUE", help_heading = "Object")]
    pub(crate) meta: Vec<String>,

    #[command(flatten)]
    pub(crate) rate: RateArgs,

    /// Print a JSON result (container, object, size, etag, segments, seconds) on stdout
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) upload: UploadArgs,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

impl Tool for Args {
    const CLEANS_UP_ON_SIGNALS: bool = true;
    const ANNOUNCES_START: bool = true;

    fn no_abort_downstream(&self) -> bool {
        self.upload.no_abort_downstream
    }

    fn target(&self) -> Target {
        let url = format!("swift://{}/{}", self.container, self.object);
        let t = Target::new(crate::log::printable(&url)).field("url", url);
        self.upload.input(t.field("container", self.container.as_str()).field("object", self.object.as_str()))
    }

    fn run(&self) -> Result<()> {
        // Every flag checked before the first request.
        let opts = self.upload_options()?;
        let rate = self.rate.limit();
        let client = self.swift.client_limited(rate.clone())?;
        let plan = self.plan(&client.info()?)?;
        let dest = Arc::new(SwiftDestination::new(client, &self.container, &self.object, opts)?);
        dest.prepare(self.create_container)?;
        let summary = self.upload.upload(dest.clone(), self.jobs, plan, self.swift.net.verbose, rate)?;
        run::set("segment_container", dest.segment_container());
        dest.delete_old_segments();
        if self.json {
            self.upload.print_result(serde_json::json!({
                "container": self.container,
                "object": self.object,
                "size": summary.bytes,
                "etag": summary.etag,
                "segments": summary.parts,
                "segment_container": dest.segment_container(),
                "seconds": summary.seconds(),
            }))?;
        }
        Ok(())
    }
}

impl Args {
    /// The segment plan: uniform segments (nesting lifts the count limit), checked against
    /// the cluster's limits.
    pub(crate) fn plan(&self, info: &Info) -> Result<PartPlan> {
        let s = self.segment_size;
        // Swift accepts 1-byte segments; below a few KiB the request overhead is absurd.
        if s < 1024 || s < info.min_segment_size {
            return Err(Error::usage(format!("--segment-size {s}: use at least 1K (64M or more is usual)")));
        }
        if s > info.max_file_size {
            return Err(Error::usage(format!(
                "--segment-size {s} exceeds the cluster's max_file_size ({}): use at most that",
                info.max_file_size
            )));
        }
        Ok(PartPlan::uniform(s, u32::MAX))
    }

    pub(crate) fn upload_options(&self) -> Result<UploadOptions> {
        let mut headers = Vec::new();
        for m in &self.meta {
            let (k, v) = key_value("--meta", m)?;
            headers.push((format!("X-Object-Meta-{k}"), v));
        }
        Ok(UploadOptions {
            segment_container: self.segment_container.clone(),
            segment_size: self.segment_size,
            content_type: self.upload.content_type()?,
            headers,
            leave_segments: self.leave_segments,
        })
    }
}
