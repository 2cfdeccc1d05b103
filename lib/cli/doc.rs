//! The text the man pages share (environment, files, exit status, pipeline safety, the
//! toolkit's pipelines), next to the tool registry ([`pages`]) they are generated from.
//!
//! Each binary's page is generated from its clap definition (the same one `--help` uses) plus
//! the sections below; `tests/docs.rs` renders every page and completion from [`pages`],
//! compares them with the committed `man/` and `completions/` files, and rewrites them under
//! `SLUICE_REGENERATE=1` (`make docs`). Registering a binary: see [`super::registry`].
//!
//! Text here is plain ASCII (man pages are rendered without a UTF-8 input encoding).

use crate::error::EXIT_CODES;

pub use super::registry::Page;

/// The pages of every binary in this tree, in SEE ALSO order: the tool registry.
pub fn pages() -> &'static [Page] {
    super::registry::REGISTRY
}

/// Groups of environment variables, so each page lists only what its binary reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The S3 tools: aws-cli's variables and shared files.
    S3,
    /// The Swift tools: python-swiftclient's variables.
    Swift,
    /// Every stage of a pipeline: abort propagation.
    Pipeline,
    /// Every tool: the log format and the metrics file.
    Reporting,
    /// s3put and s3get: the SSE-C key file.
    Encryption,
}

pub struct EnvVar {
    pub name: &'static str,
    pub scope: Scope,
    pub text: &'static str,
}

const fn env(name: &'static str, scope: Scope, text: &'static str) -> EnvVar {
    EnvVar { name, scope, text }
}

/// Every environment variable any sluice binary reads (lib/config.rs, lib/credentials, the Swift auth module,
/// lib/signals.rs). The README's configuration section must name each one (tests/docs.rs).
pub const ENVIRONMENT: &[EnvVar] = &[
    env("AWS_ACCESS_KEY_ID", Scope::S3,
        "Access key. Together with AWS_SECRET_ACCESS_KEY it wins over the shared files, unless --profile is given."),
    env("AWS_SECRET_ACCESS_KEY", Scope::S3, "Secret key. Secrets are read only from the environment, the shared files and the credential sources of CONFIGURATION in sluice(7), never from the command line."),
    env("AWS_SESSION_TOKEN", Scope::S3, "Session token for temporary credentials."),
    env("AWS_PROFILE", Scope::S3, "Profile to use when --profile is not given (default: default)."),
    env("AWS_REGION", Scope::S3, "Region to sign for; wins over AWS_DEFAULT_REGION and the profile. Without any, us-east-1 is assumed and corrected when the server names another region."),
    env("AWS_DEFAULT_REGION", Scope::S3, "Region, when AWS_REGION is not set."),
    env("AWS_ENDPOINT_URL_S3", Scope::S3, "S3 endpoint URL, e.g. http://127.0.0.1:3900; wins over AWS_ENDPOINT_URL."),
    env("AWS_ENDPOINT_URL", Scope::S3, "Endpoint URL for every AWS service; used when AWS_ENDPOINT_URL_S3 is not set."),
    env("AWS_CA_BUNDLE", Scope::S3, "PEM file of extra CA certificates to trust (e.g. a private Ceph CA)."),
    env("AWS_SHARED_CREDENTIALS_FILE", Scope::S3, "Credentials file (default: ~/.aws/credentials)."),
    env("AWS_CONFIG_FILE", Scope::S3, "Config file (default: ~/.aws/config)."),
    env("HOME", Scope::S3, "Locates ~/.aws and expands ~/ in ca_bundle, credential_process and web_identity_token_file."),
    env("AWS_WEB_IDENTITY_TOKEN_FILE", Scope::S3, "Web identity (EKS IRSA, other OIDC federations): file holding the token STS AssumeRoleWithWebIdentity exchanges for the credentials of AWS_ROLE_ARN; re-read at every renewal (Kubernetes rotates it). Ignored with --profile."),
    env("AWS_ROLE_ARN", Scope::S3, "The role web identity assumes."),
    env("AWS_ROLE_SESSION_NAME", Scope::S3, "Session name for web identity (default sluice-<unix time>)."),
    env("AWS_ENDPOINT_URL_STS", Scope::S3, "STS endpoint for assume-role and web identity (default https://sts.REGION.amazonaws.com); wins over AWS_ENDPOINT_URL."),
    env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", Scope::S3, "ECS task role: the path on http://169.254.170.2 the credentials come from."),
    env("AWS_CONTAINER_CREDENTIALS_FULL_URI", Scope::S3, "Container credentials URL (EKS Pod Identity and others): https anywhere, plain http only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23."),
    env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Scope::S3, "File holding the Authorization header value for the container endpoint; re-read at each fetch."),
    env("AWS_CONTAINER_AUTHORIZATION_TOKEN", Scope::S3, "Authorization header value for the container endpoint, when no token file is named."),
    env("AWS_EC2_METADATA_DISABLED", Scope::S3, "true: never ask the EC2 instance metadata service."),
    env("AWS_EC2_METADATA_SERVICE_ENDPOINT", Scope::S3, "Instance metadata URL (default http://169.254.169.254); setting it allows instance metadata on a machine that does not identify as EC2."),
    env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", Scope::S3, "IPv6: ask http://[fd00:ec2::254] instead."),
    env("AWS_METADATA_SERVICE_TIMEOUT", Scope::S3, "Seconds each instance metadata request may take (default 1)."),
    env("AWS_METADATA_SERVICE_NUM_ATTEMPTS", Scope::S3, "Attempts per instance metadata request (default 1)."),
    env("SLUICE_TEST_SYSFS_ROOT", Scope::S3, "For the test suite only: a directory read instead of /sys to decide whether the machine is an EC2 instance."),
    env("ST_AUTH", Scope::Swift, "Swift v1 auth URL (with ST_USER and ST_KEY selects v1 authentication)."),
    env("ST_USER", Scope::Swift, "Swift v1 user, e.g. account:user."),
    env("ST_KEY", Scope::Swift, "Swift v1 key."),
    env("ST_AUTH_VERSION", Scope::Swift, "Auth version: 1.0, 2.0 or 3 (also OS_AUTH_VERSION, OS_IDENTITY_API_VERSION). Default: v1 when ST_* are set, v3 when any domain variable is set, else 2.0."),
    env("OS_AUTH_URL", Scope::Swift, "Keystone URL, e.g. https://auth.cloud.ovh.net/v3."),
    env("OS_USERNAME", Scope::Swift, "Keystone user name (or OS_USER_ID)."),
    env("OS_USER_ID", Scope::Swift, "Keystone user id."),
    env("OS_PASSWORD", Scope::Swift, "Keystone password."),
    env("OS_PROJECT_NAME", Scope::Swift, "Project to scope the token to (or OS_PROJECT_ID; OS_TENANT_NAME and OS_TENANT_ID are accepted)."),
    env("OS_PROJECT_ID", Scope::Swift, "Project id."),
    env("OS_TENANT_NAME", Scope::Swift, "Keystone v2 name of the project."),
    env("OS_TENANT_ID", Scope::Swift, "Keystone v2 id of the project."),
    env("OS_USER_DOMAIN_NAME", Scope::Swift, "Domain of the user (or OS_USER_DOMAIN_ID); any domain variable selects Keystone v3."),
    env("OS_USER_DOMAIN_ID", Scope::Swift, "Domain id of the user."),
    env("OS_PROJECT_DOMAIN_NAME", Scope::Swift, "Domain of the project (or OS_PROJECT_DOMAIN_ID)."),
    env("OS_PROJECT_DOMAIN_ID", Scope::Swift, "Domain id of the project."),
    env("OS_DOMAIN_NAME", Scope::Swift, "Domain for both user and project (or OS_DOMAIN_ID)."),
    env("OS_DOMAIN_ID", Scope::Swift, "Domain id for both user and project."),
    env("OS_APPLICATION_CREDENTIAL_ID", Scope::Swift, "Keystone v3 application credential id (with OS_APPLICATION_CREDENTIAL_SECRET, instead of a password)."),
    env("OS_APPLICATION_CREDENTIAL_SECRET", Scope::Swift, "Keystone v3 application credential secret."),
    env("OS_REGION_NAME", Scope::Swift, "Region of the object-store endpoint in the catalog (default: the first)."),
    env("OS_INTERFACE", Scope::Swift, "Catalog interface: public, internal or admin (also OS_ENDPOINT_TYPE, e.g. publicURL; default public)."),
    env("OS_ENDPOINT_TYPE", Scope::Swift, "python-swiftclient's name for OS_INTERFACE."),
    env("OS_AUTH_VERSION", Scope::Swift, "Same as ST_AUTH_VERSION."),
    env("OS_IDENTITY_API_VERSION", Scope::Swift, "Same as ST_AUTH_VERSION."),
    env("OS_STORAGE_URL", Scope::Swift, "With OS_AUTH_TOKEN: use this storage URL and token, without authenticating (no renewal)."),
    env("OS_AUTH_TOKEN", Scope::Swift, "Pre-authenticated token for OS_STORAGE_URL."),
    env("OS_CACERT", Scope::Swift, "PEM file of extra CA certificates to trust."),
    env("SLUICE_SSE_C_KEY_FILE", Scope::Encryption,
        "SSE-C key file when --sse-c-key-file is not given: 32 raw bytes or 44 characters of base64 (the key itself never goes in the environment or on the command line)."),
    env("SLUICE_PIPELINE_ABORT", Scope::Pipeline,
        "Set to 0 (or no, off, false) to never signal the reader of standard output when the stream turns out bad; the same as --no-abort-downstream. See PIPELINE SAFETY."),
    env("SLUICE_LOG_FORMAT", Scope::Reporting, "text (the default) or json: the format of every line on standard error, as --log-format. See LOGGING AND MONITORING in sluice(7)."),
    env("SLUICE_METRICS_FILE", Scope::Reporting, "Write Prometheus metrics to this file at exit, as --metrics-file."),
    env("SLUICE_METRICS_JOB", Scope::Reporting, "The job label of the metrics, as --metrics-job (default: the tool's name)."),
];

/// Keys of ~/.aws/config profiles (and of ~/.aws/credentials, where aws-cli also reads them).
pub const PROFILE_KEYS: &[(&str, &str)] = &[
    ("aws_access_key_id", "Access key (normally in ~/.aws/credentials)."),
    ("aws_secret_access_key", "Secret key (normally in ~/.aws/credentials)."),
    ("aws_session_token", "Session token for temporary credentials."),
    ("region", "Region to sign for."),
    ("endpoint_url", "Endpoint URL for every service; the nested s3 block's endpoint_url wins."),
    ("ca_bundle", "PEM file of extra CA certificates; ~/ is expanded."),
    ("credential_process", "Command printing JSON credentials ({\"Version\": 1, \"AccessKeyId\", \"SecretAccessKey\", \"SessionToken\", \"Expiration\"}); split like a shell command line, not run by a shell, stopped after 60 seconds; run again to renew when it gave an Expiration."),
    ("role_arn", "The role to assume with STS AssumeRole (with source_profile or credential_source), or with web identity (with web_identity_token_file)."),
    ("source_profile", "The profile whose credentials assume role_arn; it may itself assume a role (chains), a loop is refused."),
    ("credential_source", "Instead of source_profile: Environment, EcsContainer or Ec2InstanceMetadata."),
    ("role_session_name", "Session name for the assumed role (default sluice-<unix time>)."),
    ("external_id", "ExternalId the role's trust policy asks for."),
    ("duration_seconds", "Lifetime asked for the assumed role's credentials, 900 to 43200 (default: the role's, usually 3600)."),
    ("mfa_serial", "Refused: an MFA code cannot be typed into a pipeline."),
    ("web_identity_token_file", "Web identity: file holding the OIDC token (with role_arn); re-read at every renewal."),
    ("ec2_metadata_service_endpoint", "Instance metadata URL, as AWS_EC2_METADATA_SERVICE_ENDPOINT."),
    ("sts = / endpoint_url", "Nested sts block: STS endpoint (after AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL, before the flat endpoint_url)."),
    ("s3 = / endpoint_url", "Nested s3 block: endpoint URL for S3 only."),
    ("s3 = / addressing_style", "Nested s3 block: path, virtual or auto (default: path for custom endpoints, auto for AWS)."),
    ("s3 = / payload_signing_enabled", "Nested s3 block: true signs every upload body's SHA-256, false sends UNSIGNED-PAYLOAD with Content-MD5 (s3put --payload-signing always or never; the flag wins). Unset: signed over http, and over https where the CPU has SHA-256 instructions."),
];

/// Shared text blocks. A `Block` is rendered as a man page paragraph, tagged item or
/// preformatted block.
#[derive(Clone, Copy, Debug)]
pub enum Block {
    P(&'static str),
    Item(&'static str, &'static str),
    Code(&'static str),
}

/// A titled section of shared text.
pub struct Section {
    pub title: &'static str,
    pub blocks: &'static [Block],
}

/// PIPELINE SAFETY, in every page and in sluice(7) (the mechanism is lib/signals.rs).
pub const PIPELINE_SAFETY: &[Block] = &[
    Block::P("In a pipeline such as `valkey-cli --rdb - | rdbcheck | s3put s3://b/k`, end of input looks the same whether the producer finished or died: a plain uploader would store a truncated object. sluice closes that hole in three ways."),
    Block::Item("Abort downstream", "A sluice stage that fails while its standard output is a pipe (rdbcheck finding corruption, s3get or swift-get failing verification, a --tee uploader whose input broke) first sends SIGUSR2 to the processes reading that pipe, found through /proc, and only then closes its output and exits. The signal is pending before the reader can see end of input, so a sluice uploader downstream aborts instead of completing, and a sluice stream writer downstream (s3get | rdbcheck > dump.rdb) fails in turn and tells its own reader. Readers that neither catch nor block SIGUSR2 are never signalled (its default action would kill them), and nothing is sent when standard output is a file, a terminal or a socket. Opt out with SLUICE_PIPELINE_ABORT=0 or --no-abort-downstream."),
    Block::Item("Abort on signals", "The uploaders (s3put, swift-slo-put) treat SIGINT, SIGTERM, SIGHUP and SIGUSR2 as abort: the multipart upload is aborted (or the Swift segments deleted) with a fresh request, nothing is left behind, and the exit status is 128 plus the signal number (130 for SIGINT, 143 for SIGTERM, 140 for SIGUSR2). A second signal during the cleanup exits at once."),
    Block::Item("Command mode", "`s3put s3://b/k -- CMD ARGS...` runs CMD itself, uploads its standard output and completes only if CMD exits 0: a failing producer can never leave a truncated object, whatever the shell. In a plain pipeline use `set -o pipefail` so the pipeline's status reflects every stage."),
    Block::P("Any non-zero exit status of a sluice stage means its output must not be trusted."),
];

/// The toolkit's pipelines (the README's), in sluice(7)'s EXAMPLES.
pub const PIPELINES: &[(&str, &str)] = &[
    (
        "Back up Valkey or Redis, validating the snapshot on the way:",
        "valkey-cli --rdb - | rdbcheck | s3put s3://backups/valkey/$(date -u +%Y%m%dT%H%M%SZ).rdb",
    ),
    ("Back up PostgreSQL, compressed:", "pg_dump app | zstd | s3put s3://backups/pg/app.sql.zst"),
    (
        "Stream 250 GB from an FTP server into OVH Swift as a Static Large Object:",
        "curl -s ftp://nas/full.tar | swift-slo-put backups full.tar",
    ),
    ("Retention: delete the snapshots older than 30 days:", "s3ls --older-than 30d s3://backups/valkey/ | s3rm"),
    (
        "Restore, validating before anything is written:",
        "s3get s3://backups/valkey/20261121T0300Z.rdb | rdbcheck > dump.rdb",
    ),
    (
        "Command mode: complete only if the producer exits 0:",
        "s3put s3://backups/valkey/latest.rdb -- sh -c 'valkey-cli --rdb - | rdbcheck'",
    ),
    (
        "Mirror one stream to AWS and to Swift:",
        "valkey-cli --rdb - | rdbcheck | s3put --tee s3://aws-bucket/k | swift-slo-put backups k",
    ),
];

/// The binaries of the toolkit with their one-line description, for sluice(7), in registry
/// order (derived from the registry, so the list lives in one place).
pub const TOOLS: &[(&str, &str)] = &{
    let pages = super::registry::REGISTRY;
    let mut out = [("", ""); super::registry::REGISTRY.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = (pages[i].name, pages[i].about);
        i += 1;
    }
    out
};

/// LOGGING AND MONITORING, in sluice(7): the JSON events and the metrics file (lib/log.rs,
/// lib/run.rs, lib/metrics.rs).
const LOGGING: Section = Section {
    title: "LOGGING AND MONITORING",
    blocks: &[
        Block::P("Every tool writes its messages to standard error, never to standard output. --log-format json (or SLUICE_LOG_FORMAT=json) makes every line it writes there one JSON object, for a log pipeline; the default, text, prints \"TOOL: message\" lines as a person reads them. Each object has time (RFC 3339, UTC, milliseconds), tool, level (debug, info, warn, error), event, message and pid, then the event's fields. Secrets, session tokens and authentication headers never appear, in either format."),
        Block::Item("started", "The run began: what it works on (url or urls, container and object, path, input: stdin or command with the command's program name) and, for the uploaders, the part plan (plan: part_size, grow_every, max_part_size, max_parts, jobs)."),
        Block::Item("progress", "Only with --progress, at most once a second: bytes read so far, seconds, rate in bytes per second."),
        Block::Item("retry", "A request failed and is retried (or a download resumes): what, error, error_code and http_status when known, attempt, max_attempts, delay_seconds. In text these lines show under -v."),
        Block::Item("completed", "The run succeeded: bytes, seconds, and what the tool knows: for the uploaders etag, parts (0 for a single PUT) and verified; for the downloads verified (how: length, md5, segments); for the listings entries; for s3rm deleted and failed; for rdbcheck rdb_version, keys, checksum (ok, absent, disabled, not-reached) and warnings."),
        Block::Item("failed", "The run failed: error, error_kind (data, usage, config, server, verify, io, not_found, denied, partial, signal, panic), exit_code, error_code and http_status when the server gave them, signal for a signal, bytes and seconds so far, and cleanup: what was cleaned up (upload_aborted, segments_deleted, segments_left, object_deleted, downstream_signalled)."),
        Block::Item("result, report", "A --json result that goes to standard error (swift-get, an uploader with --tee, rdbcheck --json -), under result or report."),
        Block::Item("message", "Any other line: -v notes, warnings, -vv request details (panic: an internal error)."),
        Block::P("Every run writes exactly one started and then exactly one completed or failed, also when it is refused at the command line, interrupted by a signal or aborted by an upstream stage."),
        Block::P("--metrics-file FILE (or SLUICE_METRICS_FILE) writes, at exit, a Prometheus text-format file for node_exporter's textfile collector, replaced atomically (a temporary file in the same directory, then a rename). Its gauges carry the labels job (--metrics-job, default the tool's name) and tool: sluice_last_success (1 or 0), sluice_last_attempt_timestamp_seconds, sluice_last_success_timestamp_seconds, sluice_last_duration_seconds and sluice_last_bytes. After a failure the file keeps the last success time of the file it replaces, so an alert on time() - sluice_last_success_timestamp_seconds catches a backup that has not succeeded for a day, whatever ran since. A metrics file that cannot be written is a warning; it never fails a successful transfer."),
        Block::Code("- alert: BackupNotSucceeding\n  expr: time() - sluice_last_success_timestamp_seconds{job=\"valkey\"} > 26*3600"),
    ],
};

/// sluice(7)'s own sections, between DESCRIPTION and the generated ENVIRONMENT.
pub const SLUICE7_SECTIONS: &[Section] = &[
    Section {
        title: "DESCRIPTION",
        blocks: &[
            Block::P("sluice is a set of small, blocking Unix programs that move backup streams between pipes and object storage: S3 and every S3-compatible store (AWS, MinIO, Ceph RGW, Garage, Tencent COS, OVH, Cloudflare R2, Backblaze B2, Wasabi) and OpenStack Swift. Each reads standard input or writes standard output, keeps memory bounded whatever the stream's size, verifies what it stored, leaves nothing behind when it fails, and reports failure with a documented exit status."),
            Block::P("The programs:"),
        ],
    },
    Section {
        title: "CONFIGURATION",
        blocks: &[
            Block::P("The S3 tools follow aws-cli's conventions, so an existing ~/.aws setup works unchanged. Credentials come from the first of these sources that applies (botocore's order), for the profile given by --profile, else AWS_PROFILE, else default; -v names the source used:"),
            Block::P("Endpoint: --endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's s3 block endpoint_url, the profile's endpoint_url, else AWS (derived from the region). Region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1, corrected automatically when the server names another. Addressing: --addressing-style, the profile's s3 block addressing_style, else path-style for custom endpoints and automatic (virtual-hosted when the bucket name allows it) for AWS. Extra CA certificates: --ca-bundle, AWS_CA_BUNDLE, the profile's ca_bundle."),
            Block::P("The Swift tools read python-swiftclient's environment: ST_AUTH, ST_USER and ST_KEY select v1 authentication; otherwise OS_AUTH_URL with OS_USERNAME and OS_PASSWORD (or an application credential) authenticates against Keystone, v3 when any domain variable is set or the version says so, else v2.0; OS_STORAGE_URL with OS_AUTH_TOKEN skips authentication. Tokens that expire during a long upload are renewed."),
            Block::P("Secrets are never accepted on the command line, where other users could read them in the process list."),
        ],
    },
    LOGGING,
    Section {
        title: "TIMEOUTS AND RETRIES",
        blocks: &[
            Block::P("Every network wait is bounded. --connect-timeout (10 s) bounds connecting; --timeout (60 s) is the longest silence one attempt tolerates while sending or receiving, on a new or a kept-alive connection; --retries (4) retries 5xx, throttling, timeouts and connection errors with backoff. A stalled server therefore fails a request after about (retries + 1) x timeout plus the backoff, and the tool exits with status 4 (\"no data from the server within the idle timeout\"). Cleanup requests (aborting an upload, deleting segments) have a 30 s limit each."),
            Block::P("A request whose answer was lost or came too late may have taken effect all the same. s3put looks before it reports failure: when a completion or single PUT cannot be confirmed, it asks for the object (HEAD) and, if it has the size read and the ETag of the bytes sent, counts it stored and verifies it as usual; uploads started by a CreateMultipartUpload whose answer never came are aborted. Running the same command again is always safe: an object is replaced only when an upload completes."),
            Block::P("Each tool talks to the one endpoint it is given. If that node of a replicated store dies, its retries cannot reach the others: the tool fails with status 4 and names any upload it could not abort (remove it later with s3ls --uploads | s3rm --uploads). For failover, use a load balancer with health checks."),
        ],
    },
];

/// The S3 credential sources, first match wins: the one description of the order
/// (lib/credentials/chain.rs implements it). sluice(7)'s CONFIGURATION and the README's list
/// (between the `credentials` markers) are generated from it by `make docs`.
pub const CREDENTIAL_CHAIN: &[(&str, &str)] = &[
    ("Environment", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with AWS_SESSION_TOKEN; skipped when --profile is given."),
    ("Assume-role profile", "the profile's role_arn with source_profile (another profile, chains allowed, loops refused) or credential_source = Environment, EcsContainer or Ec2InstanceMetadata; optional role_session_name, external_id, duration_seconds. STS AssumeRole, signed with the source's credentials."),
    ("Web identity", "AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN (and AWS_ROLE_SESSION_NAME), ignored with --profile, or the profile's web_identity_token_file, role_arn and role_session_name: STS AssumeRoleWithWebIdentity, unsigned; the token file is re-read at every renewal."),
    ("Profile", "the profile's keys in ~/.aws/credentials, then its credential_process, then its keys in ~/.aws/config."),
    ("Container", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS task role, on http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity) with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN."),
    ("EC2 instance metadata", "IMDSv2 only, 1 s timeouts. Asked only when the machine identifies as EC2 (/sys/class/dmi/id/sys_vendor, board_asset_tag or product_uuid, /sys/hypervisor/uuid, as cloud-init reads them), when AWS_EC2_METADATA_SERVICE_ENDPOINT is set, or when a profile names Ec2InstanceMetadata; never with AWS_EC2_METADATA_DISABLED=true. Off EC2, missing credentials fail at once (exit 3) without probing any address."),
];

/// After the chain: STS's endpoint, and what happens when credentials expire mid-transfer.
pub const CREDENTIAL_NOTES: &[&str] = &[
    "STS: https://sts.REGION.amazonaws.com, or AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's sts block endpoint_url, the profile's endpoint_url.",
    "Credentials that expire are renewed from the same source while a transfer runs, when less than 10 minutes (or half their lifetime) remain; parallel workers share one renewal. A failed renewal is retried while the old credentials are valid; once they run out the transfer stops with exit 3, the multipart upload is aborted and nothing is left behind. Secrets and session tokens never appear in messages or -v output.",
];

/// The profile-file keys and their meaning, as FILES text.
pub const FILES_S3: &[(&str, &str)] = &[
    ("~/.aws/credentials", "Shared credentials file (AWS_SHARED_CREDENTIALS_FILE): [NAME] sections with aws_access_key_id, aws_secret_access_key, aws_session_token."),
    ("~/.aws/config", "Shared config file (AWS_CONFIG_FILE): [default] and [profile NAME] sections with the keys below."),
];

/// Splits help-formatted examples ("Examples:" then indented lines) into command lines.
pub fn example_lines(examples: &str) -> Vec<&str> {
    examples
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with(char::is_whitespace) || !l.trim_end().ends_with(':'))
        .map(str::trim)
        .collect()
}

/// Parses help-formatted sections (a `TITLE` line in capitals at column 0, then indented
/// paragraphs) into (title, paragraphs); each paragraph's lines are de-indented.
pub fn parse_sections(text: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for line in text.lines() {
        if !line.is_empty() && !line.starts_with(char::is_whitespace) {
            out.push((line.trim().to_string(), vec![Vec::new()]));
            continue;
        }
        let Some((_, paras)) = out.last_mut() else { continue };
        if line.trim().is_empty() {
            if paras.last().is_some_and(|p| !p.is_empty()) {
                paras.push(Vec::new());
            }
        } else {
            paras.last_mut().expect("one paragraph").push(line.trim().to_string());
        }
    }
    for (_, paras) in &mut out {
        paras.retain(|p| !p.is_empty());
    }
    out
}

/// The EXIT STATUS table as (status, meaning) strings, from the shared [`EXIT_CODES`].
pub fn exit_statuses() -> Vec<(String, &'static str)> {
    EXIT_CODES.iter().map(|s| (s.label(), s.meaning)).collect()
}

/// The environment variables of the given scopes, in table order.
pub fn environment(scopes: &[Scope]) -> impl Iterator<Item = &'static EnvVar> + '_ {
    ENVIRONMENT.iter().filter(move |v| scopes.contains(&v.scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_and_sections_parse() {
        assert_eq!(example_lines("Examples:\n  a | b\n  c   # note\n"), ["a | b", "c   # note"]);
        let s = parse_sections("ONE\n    p1 l1\n    p1 l2\n\n    p2\nTWO\n    x\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].1, vec![vec!["p1 l1".to_string(), "p1 l2".into()], vec!["p2".into()]]);
    }

    #[test]
    fn every_page_has_a_command_named_like_it() {
        for p in pages() {
            assert_eq!((p.command)().get_name(), p.name);
            assert!(TOOLS.iter().any(|(t, _)| *t == p.name), "{} missing from TOOLS", p.name);
            assert_eq!((p.command)().get_about().map(|a| a.to_string()).as_deref(), Some(p.about), "{}", p.name);
        }
    }
}
