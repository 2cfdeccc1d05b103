//! s3put's flags.

use super::args::{header_value, key_value, PolicyArgs, RateArgs, ReportArgs, S3Args, SseCArgs, UploadArgs};
use super::Tool;
use crate::config::Provider;
use crate::run::Target;
use crate::s3::ops::{ChecksumAlgo, ObjectOptions};
use crate::s3::payload::{self, PayloadSigning, Protection};
use crate::s3::{upload::S3Destination, S3Client, S3Url};
use crate::transfer::PartPlan;
use crate::units::{parse_size, GIB, MIB};
use crate::{Error, Result};
use clap::Parser;
use std::sync::Arc;

pub(crate) const ABOUT: &str = "Stream standard input into one S3 object, verified, leaving nothing behind on failure";

pub(crate) const LONG_ABOUT: &str = "\
Reads standard input to EOF and stores it as one object in any S3-compatible store (AWS S3, \
MinIO, Ceph RGW, Garage, Tencent COS, OVH, Cloudflare R2, Backblaze B2, Wasabi).

Input smaller than one part is sent as a single PUT; anything larger becomes a multipart upload \
whose parts are uploaded concurrently from a bounded pool of buffers: memory stays below \
(jobs + 2) x part size + 32 MiB whatever the input size. With unknown length, parts start at \
16 MiB and double every 1,000 parts, so 10,000 parts reach S3's 5 TiB limit.

Every byte is covered by one hash that the server verifies before it accepts the part. Over \
http each part and single PUT carries its signed SHA-256 (x-amz-content-sha256): nothing else \
authenticates the body there. Over https, where TLS does, it carries the cheaper of the two hashes \
on this CPU: the signed SHA-256 where the CPU has SHA-256 instructions (x86 SHA-NI, ARMv8 SHA2; \
SHA-256 is then 2-3x faster than MD5), else UNSIGNED-PAYLOAD with Content-MD5, as the AWS SDKs, \
rclone and s5cmd send. --payload-signing and --content-md5 override this, and Object Lock uploads \
always carry Content-MD5 (S3 requires it); -v says what is sent and why. No aws-chunked bodies \
and no x-amz-checksum-* headers unless --checksum asks for them. A body the server refuses as \
not matching its hash (corrupted in transit: BadDigest, XAmzContentSHA256Mismatch) is sent \
again; failed requests are retried from memory; the input is never re-read.

After completing, s3put always verifies: it HEADs the object and compares the size with the bytes \
read and the ETag with the MD5 (single PUT) or md5-of-part-md5s-N (multipart) where the provider \
produces those. The part MD5s are its own where it sent Content-MD5, otherwise the part ETags the \
server returned, which still proves the object is exactly the parts the server verified, in order. A mismatch deletes the object. A multipart upload records its part plan in the \
object's metadata (x-amz-meta-sluice-part-plan: size=N, or size=N double-every=K max=M), so that \
s3get can check every part of it without asking the server.

On any failure, and on SIGINT, SIGTERM or SIGHUP, the multipart upload is aborted with a fresh \
request: neither an object nor an in-progress upload is left behind. stdout stays empty unless \
--json is given.";

/// The POLICY section of --help and the man page: tags, Object Lock, SSE-C, --limit-rate.
pub(crate) const POLICY: &str = "\
POLICY
    Backups that must survive ransomware, feed lifecycle rules, stay encrypted or not starve \
production traffic:

    --tag KEY=VALUE (repeatable) sends x-amz-tagging with the upload; S3's limits (10 tags, \
keys up to 128 and values up to 256 characters) are checked before any request.

    --object-lock-mode GOVERNANCE|COMPLIANCE with --retain-until DATE or --retain-for DURATION, \
and --legal-hold, make the object undeletable (S3 Object Lock). The bucket must have been \
created with Object Lock enabled; otherwise the server's refusal is shown with that hint \
(exit 3). Verification checks with HEAD that the retention and legal hold were applied and \
sets again what a store dropped from a multipart upload (Ceph RGW 16 does); a store that \
ignores them (Garage) fails the upload with exit 5 and the object deleted, rather than \
leaving an unprotected backup believed immutable. HEAD shows the lock only to credentials \
allowed s3:GetObjectRetention and s3:GetObjectLegalHold; without them (GET ?retention denied \
too) s3put sets the lock again, exits 5 naming what to grant, and keeps the object.

    --sse-c-key-file FILE (or SLUICE_SSE_C_KEY_FILE) encrypts with a customer key (32 raw bytes \
or 44 characters of base64) sent with every request that reads or writes the data; s3get \
needs the same key. The key is refused over plain http unless --allow-insecure-sse-c, and \
never printed. With SSE-C the ETag is not an MD5: verification checks the size and that HEAD \
echoes the key's MD5, and says so under -v.

    --limit-rate RATE caps the bytes sent per second, all --jobs together, smoothly (also on \
s3get, swift-slo-put and swift-get); --progress then shows the bytes sent and their rate.

    A nightly Valkey backup, immutable for 35 days, tagged, at most 20 MiB/s, from cron:

    15 3 * * * valkey-cli --rdb - | rdbcheck | s3put --limit-rate 20M --tag type=valkey --tag retention=35d --object-lock-mode COMPLIANCE --retain-for 35d s3://backups/valkey/$(date -u +\\%Y\\%m\\%dT\\%H\\%M\\%SZ).rdb";

pub const EXAMPLES: &str = "\
Examples:
  valkey-cli --rdb - | rdbcheck | s3put s3://backups/valkey/$(date -u +%Y%m%dT%H%M%SZ).rdb
  pg_dump app | zstd | s3put s3://backups/pg/app.sql.zst
  tar -c /srv | s3put --endpoint http://127.0.0.1:3900 --expected-size 200G s3://b/srv.tar
  s3put s3://backups/valkey/latest.rdb -- sh -c 'valkey-cli --rdb - | rdbcheck'
  valkey-cli --rdb - | rdbcheck | s3put --tee s3://aws-bucket/k | swift-slo-put backups k";

#[derive(Parser, Debug)]
#[command(name = "s3put", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = super::after_help(&[POLICY], EXAMPLES))]
pub struct Args {
    /// Destination object: s3://BUCKET/KEY
    #[arg(value_name = "s3://BUCKET/KEY")]
    pub(crate) url: String,

    #[command(flatten)]
    pub(crate) s3: S3Args,

    /// Parts uploaded concurrently
    #[arg(short, long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Upload")]
    pub(crate) jobs: u16,
    /// Fixed part size (5M to 5G); all parts but the last get this size, so the object may hold at most 10,000 of them
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Upload")]
    pub(crate) part_size: Option<u64>,
    /// Expected input size: picks one part size that fits it in 10,000 parts (the input may differ a little)
    #[arg(long, value_name = "SIZE", value_parser = parse_size, conflicts_with = "part_size", help_heading = "Upload")]
    pub(crate) expected_size: Option<u64>,
    /// Keep every part the same size (automatic for Cloudflare R2, which rejects growing parts); unknown-length input then holds at most 10,000 x part size
    #[arg(long, help_heading = "Upload")]
    pub(crate) uniform_parts: bool,
    /// Also send an x-amz-checksum-ALGO header with each PUT and part, for the server to check (opt-in: several non-AWS stores reject them; Ceph RGW 16 ignores them). Multipart: a checksum of the part checksums, except crc64nvme: the whole object's CRC
    #[arg(long, value_name = "ALGO", ignore_case = true, help_heading = "Upload")]
    pub(crate) checksum: Option<ChecksumAlgo>,
    /// Sign each body's SHA-256 (x-amz-content-sha256): auto signs over http, and over https where the CPU has SHA-256 instructions (else UNSIGNED-PAYLOAD with Content-MD5, the cheaper hash there); never sends UNSIGNED-PAYLOAD with Content-MD5 (over http the body is then checked but not authenticated). Default: the profile's s3 payload_signing_enabled, else auto
    #[arg(long, value_name = "WHEN", value_enum, help_heading = "Upload")]
    pub(crate) payload_signing: Option<PayloadSigning>,
    /// Also send Content-MD5 with each body (sent anyway when the payload is unsigned and for Object Lock uploads)
    #[arg(long, help_heading = "Upload")]
    pub(crate) content_md5: bool,
    /// Create the bucket first if it does not exist
    #[arg(long, help_heading = "Upload")]
    pub(crate) create_bucket: bool,

    /// User metadata stored as x-amz-meta-KEY (repeatable); values must be printable ASCII, keys and values at most 2 KB in all, as S3 allows (else exit 2, no request)
    #[arg(long = "metadata", value_name = "KEY=VALUE", help_heading = "Object")]
    pub(crate) metadata: Vec<String>,
    /// Storage class, e.g. STANDARD_IA, GLACIER_IR
    #[arg(long, value_name = "CLASS", help_heading = "Object")]
    pub(crate) storage_class: Option<String>,
    /// Server-side encryption: AES256 or aws:kms. Checked after the upload: if HEAD does not show it applied (Ceph RGW 16 has no AES256, Garage ignores both), the object is deleted and s3put exits 5
    #[arg(long, value_name = "ALGO", value_parser = ["AES256", "aws:kms"], help_heading = "Object")]
    pub(crate) sse: Option<String>,
    /// KMS key for --sse aws:kms
    #[arg(long, value_name = "ID", requires = "sse", help_heading = "Object")]
    pub(crate) sse_kms_key_id: Option<String>,

    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
    #[command(flatten)]
    pub(crate) sse_c: SseCArgs,
    #[command(flatten)]
    pub(crate) rate: RateArgs,

    /// Print a JSON result (url, size, etag, parts, seconds) on stdout (on stderr with --tee)
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
        self.upload.input(Target::new(crate::log::printable(&self.url)).field("url", self.url.as_str()))
    }

    fn run(&self) -> Result<()> {
        let url = S3Url::parse_object(&self.url)?;
        // Every flag checked before the first request (--create-bucket's included).
        let mut opts = self.object_options()?;
        let rate = self.rate.limit();
        let client = self.s3.client_limited(rate.clone())?;
        opts.sse_c = self.sse_c.key(client.endpoint())?;
        opts.payload = self.payload(&client, &opts);
        let plan = self.part_plan(client.endpoint().provider())?;
        let plan_meta = plan.to_meta();
        let reserved = crate::s3::parts::PLAN_META.len() + plan_meta.len();
        super::args::check_s3_metadata_size(&opts.metadata, reserved)?;
        opts.part_plan = Some(plan_meta);
        if self.create_bucket {
            client.create_bucket(&url.bucket)?;
        }
        let dest = Arc::new(S3Destination::new(client, url.clone(), opts));
        let summary = self.upload.upload(dest, self.jobs, plan, self.s3.net.verbose, rate)?;
        if self.json {
            self.upload.print_result(serde_json::json!({
                "url": url.to_url_string(),
                "size": summary.bytes,
                "etag": summary.etag,
                "parts": summary.parts,
                "seconds": summary.seconds(),
            }))?;
        }
        Ok(())
    }
}

impl Args {
    pub(crate) fn object_options(&self) -> Result<ObjectOptions> {
        let metadata = self.metadata.iter().map(|m| key_value("--metadata", m)).collect::<Result<_>>()?;
        let header = |flag: &str, v: &Option<String>| v.as_deref().map(|v| header_value(flag, v)).transpose();
        Ok(ObjectOptions {
            content_type: self.upload.content_type()?,
            metadata,
            storage_class: header("--storage-class", &self.storage_class)?,
            sse: self.sse.clone(),
            sse_kms_key_id: header("--sse-kms-key-id", &self.sse_kms_key_id)?,
            checksum: self.checksum,
            part_plan: None,
            tags: self.policy.tags()?,
            retention: self.policy.retention(std::time::SystemTime::now())?,
            legal_hold: self.policy.legal_hold,
            sse_c: None,
            payload: Protection::default(),
        })
    }

    /// The hashes each body carries ([`crate::s3::payload`]): --payload-signing, else the
    /// profile's `payload_signing_enabled`, else by transport and CPU; said under -v.
    fn payload(&self, client: &S3Client, opts: &ObjectOptions) -> Protection {
        let signing = self.payload_signing.unwrap_or(match client.payload_signing_enabled() {
            Some(true) => PayloadSigning::Always,
            Some(false) => PayloadSigning::Never,
            None => PayloadSigning::Auto,
        });
        let (p, why) = payload::decide(signing, client.endpoint().https, payload::cpu_has_sha256(), self.content_md5);
        if self.s3.net.verbose >= 1 {
            let locked = if opts.locks() && !p.content_md5 { "; Content-MD5 too, as Object Lock requires" } else { "" };
            crate::log::note(format!("payload: {} ({why}{locked})", p.describe()));
        }
        p
    }

    /// The part-size plan: fixed, sized for --expected-size, uniform, or growing (default).
    pub(crate) fn part_plan(&self, provider: Provider) -> Result<PartPlan> {
        const MIN: u64 = 5 * MIB;
        const MAX: u64 = 5 * GIB;
        const DEFAULT: u64 = 16 * MIB;
        if let Some(p) = self.part_size {
            if !(MIN..=MAX).contains(&p) {
                return Err(Error::usage("--part-size must be between 5M and 5G (S3's part limits)"));
            }
            return Ok(PartPlan::uniform(p, 10_000));
        }
        if let Some(e) = self.expected_size {
            return Ok(PartPlan::for_expected(e, DEFAULT, 10_000));
        }
        if self.uniform_parts || provider.needs_uniform_parts() {
            return Ok(PartPlan::uniform(64 * MIB, 10_000));
        }
        Ok(PartPlan::growing_s3(DEFAULT))
    }
}
