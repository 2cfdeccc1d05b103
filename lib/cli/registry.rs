//! The tool registry: every binary of the toolkit, named once. Man pages, shell completions
//! and sluice(7)'s list of programs are generated from it ([`super::doc`], tests/docs.rs);
//! Cargo.toml's `[[bin]]` targets and the Makefile's `BINS` must name the same tools, which
//! tests/docs.rs checks.
//!
//! REGISTERING A BINARY: a module in `lib/cli/` whose clap `Args` implement [`super::Tool`],
//! its [`Page`] in [`REGISTRY`], `bins/NAME.rs` calling
//! `sluice::cli::main::<sluice::cli::NAME::Args>()`, a `[[bin]]` in Cargo.toml, the name in the
//! Makefile's `BINS`, then `make docs`.

use super::doc::Scope;
use clap::CommandFactory;

/// One tool: its name, its clap definition, and what its manual page (section 1) and
/// completions are made of.
pub struct Page {
    /// The binary's name, as installed.
    pub name: &'static str,
    /// One line: what the tool does (the clap `about`, also in sluice(7)).
    pub about: &'static str,
    /// Its clap definition: `<Args as clap::CommandFactory>::command`.
    pub command: fn() -> clap::Command,
    /// Help-formatted examples: an optional "Examples:" line, then one indented command per
    /// line (a trailing `# comment` stays on the line). Usually the module's `EXAMPLES`.
    pub examples: &'static str,
    /// Which groups of environment variables (and their files) the binary reads.
    pub env: &'static [Scope],
    /// Extra sections in help format (a line `TITLE` in capitals, then indented paragraphs
    /// separated by blank lines; a paragraph of several lines stays preformatted). They follow
    /// OPTIONS; one titled like a standard section (e.g. `EXIT STATUS`) replaces that section.
    pub sections: &'static str,
    /// Pages outside sluice for SEE ALSO, e.g. `aws(1)`. sluice(7) and the other sluice pages
    /// are added automatically.
    pub see_also: &'static [&'static str],
}

/// One [`Page`] from the tool's module (`ABOUT`, `EXAMPLES`, its `Args`) and the rest.
macro_rules! page {
    ($name:literal, $module:ident, env: [$($env:ident),*], see_also: [$($see:literal),*], sections: $sections:expr) => {
        Page {
            name: $name,
            about: super::$module::ABOUT,
            command: <super::$module::Args as CommandFactory>::command,
            examples: super::$module::EXAMPLES,
            env: &[$(Scope::$env),*],
            sections: $sections,
            see_also: &[$($see),*],
        }
    };
}

/// Every tool, in SEE ALSO order.
#[rustfmt::skip]
pub(crate) const REGISTRY: &[Page] = &[
    page!("s3put", s3put, env: [S3, Encryption, Pipeline, Reporting], see_also: ["aws(1)", "rclone(1)"], sections: super::s3put::POLICY),
    page!("s3ls", s3ls, env: [S3, Reporting], see_also: ["aws(1)"], sections: ""),
    page!("s3get", s3get, env: [S3, Encryption, Pipeline, Reporting], see_also: ["aws(1)", "rclone(1)"], sections: ""),
    page!("s3rm", s3rm, env: [S3, Reporting], see_also: ["aws(1)"], sections: ""),
    page!("swift-slo-put", swift_slo_put, env: [Swift, Pipeline, Reporting], see_also: ["swift(1)"], sections: ""),
    page!("swift-ls", swift_ls, env: [Swift, Reporting], see_also: ["swift(1)"], sections: ""),
    page!("swift-get", swift_get, env: [Swift, Pipeline, Reporting], see_also: ["swift(1)"], sections: ""),
    page!("rdbcheck", rdbcheck, env: [Pipeline, Reporting], see_also: ["redis-check-rdb(1)", "valkey-check-rdb(1)"],
          sections: super::rdbcheck::AFTER_LONG_HELP),
];
