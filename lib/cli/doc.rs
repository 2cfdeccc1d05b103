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
}

pub struct EnvVar {
    pub name: &'static str,
    pub scope: Scope,
    pub text: &'static str,
}

const fn env(name: &'static str, scope: Scope, text: &'static str) -> EnvVar {
    EnvVar { name, scope, text }
}

/// Every environment variable any sluice binary reads (lib/config.rs, the Swift auth module,
/// lib/signals.rs). The README's configuration section must name each one (tests/docs.rs).
pub const ENVIRONMENT: &[EnvVar] = &[
    env("AWS_ACCESS_KEY_ID", Scope::S3,
        "Access key. Together with AWS_SECRET_ACCESS_KEY it wins over the shared files, unless --profile is given."),
    env("AWS_SECRET_ACCESS_KEY", Scope::S3, "Secret key. Secrets are read only from the environment, the shared files or credential_process, never from the command line."),
    env("AWS_SESSION_TOKEN", Scope::S3, "Session token for temporary credentials."),
    env("AWS_PROFILE", Scope::S3, "Profile to use when --profile is not given (default: default)."),
    env("AWS_REGION", Scope::S3, "Region to sign for; wins over AWS_DEFAULT_REGION and the profile. Without any, us-east-1 is assumed and corrected when the server names another region."),
    env("AWS_DEFAULT_REGION", Scope::S3, "Region, when AWS_REGION is not set."),
    env("AWS_ENDPOINT_URL_S3", Scope::S3, "S3 endpoint URL, e.g. http://127.0.0.1:3900; wins over AWS_ENDPOINT_URL."),
    env("AWS_ENDPOINT_URL", Scope::S3, "Endpoint URL for every AWS service; used when AWS_ENDPOINT_URL_S3 is not set."),
    env("AWS_CA_BUNDLE", Scope::S3, "PEM file of extra CA certificates to trust (e.g. a private Ceph CA)."),
    env("AWS_SHARED_CREDENTIALS_FILE", Scope::S3, "Credentials file (default: ~/.aws/credentials)."),
    env("AWS_CONFIG_FILE", Scope::S3, "Config file (default: ~/.aws/config)."),
    env("HOME", Scope::S3, "Locates ~/.aws and expands ~/ in ca_bundle and credential_process."),
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
    env("SLUICE_PIPELINE_ABORT", Scope::Pipeline,
        "Set to 0 (or no, off, false) to never signal the reader of standard output when the stream turns out bad; the same as --no-abort-downstream. See PIPELINE SAFETY."),
];

/// Keys of ~/.aws/config profiles (and of ~/.aws/credentials, where aws-cli also reads them).
pub const PROFILE_KEYS: &[(&str, &str)] = &[
    ("aws_access_key_id", "Access key (normally in ~/.aws/credentials)."),
    ("aws_secret_access_key", "Secret key (normally in ~/.aws/credentials)."),
    ("aws_session_token", "Session token for temporary credentials."),
    ("region", "Region to sign for."),
    ("endpoint_url", "Endpoint URL for every service; the nested s3 block's endpoint_url wins."),
    ("ca_bundle", "PEM file of extra CA certificates; ~/ is expanded."),
    ("credential_process", "Command printing JSON credentials ({\"Version\": 1, \"AccessKeyId\", \"SecretAccessKey\", \"SessionToken\"}), run when the profile has no keys; split like a shell command line, not run by a shell, stopped after 60 seconds."),
    ("s3 = / endpoint_url", "Nested s3 block: endpoint URL for S3 only."),
    ("s3 = / addressing_style", "Nested s3 block: path, virtual or auto (default: path for custom endpoints, auto for AWS)."),
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
    Block::Item("Abort downstream", "A sluice stage that fails while its standard output is a pipe (rdbcheck finding corruption, a --tee uploader whose input broke) first sends SIGUSR2 to the processes reading that pipe, found through /proc, and only then closes its output and exits. The signal is pending before the reader can see end of input, so a sluice uploader downstream aborts instead of completing. Readers that do not catch SIGUSR2 are never signalled (its default action would kill them), and nothing is sent when standard output is a file, a terminal or a socket. Opt out with SLUICE_PIPELINE_ABORT=0 or --no-abort-downstream."),
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
            Block::P("The S3 tools follow aws-cli's conventions, so an existing ~/.aws setup works unchanged. Credentials: with --profile, that profile's keys; otherwise AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when set; then the profile (AWS_PROFILE, else default) in ~/.aws/credentials, then in ~/.aws/config, then the profile's credential_process. The instance metadata service is never contacted."),
            Block::P("Endpoint: --endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's s3 block endpoint_url, the profile's endpoint_url, else AWS (derived from the region). Region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1, corrected automatically when the server names another. Addressing: --addressing-style, the profile's s3 block addressing_style, else path-style for custom endpoints and automatic (virtual-hosted when the bucket name allows it) for AWS. Extra CA certificates: --ca-bundle, AWS_CA_BUNDLE, the profile's ca_bundle."),
            Block::P("The Swift tools read python-swiftclient's environment: ST_AUTH, ST_USER and ST_KEY select v1 authentication; otherwise OS_AUTH_URL with OS_USERNAME and OS_PASSWORD (or an application credential) authenticates against Keystone, v3 when any domain variable is set or the version says so, else v2.0; OS_STORAGE_URL with OS_AUTH_TOKEN skips authentication. Tokens that expire during a long upload are renewed."),
            Block::P("Secrets are never accepted on the command line, where other users could read them in the process list."),
        ],
    },
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
