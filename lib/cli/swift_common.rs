//! Flags shared by the Swift binaries. Credentials never come from flags: only from
//! python-swiftclient's environment variables (ST_*, OS_*).

use super::args::NetArgs;
use crate::http::HttpOptions;
use crate::swift::{AuthConfig, SwiftClient};
use crate::Result;
use clap::Args;
use std::path::PathBuf;

pub const AUTH_HELP: &str = "\
Authentication (from the environment only, as python-swiftclient reads it):
  v1:        ST_AUTH, ST_USER, ST_KEY
  Keystone:  OS_AUTH_URL, OS_USERNAME (or OS_USER_ID), OS_PASSWORD, OS_PROJECT_NAME (or _ID),
             OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME (any domain variable selects v3),
             OS_REGION_NAME, OS_INTERFACE / OS_ENDPOINT_TYPE, OS_AUTH_VERSION
             or OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET (v3)
  token:     OS_STORAGE_URL and OS_AUTH_TOKEN (no authentication, no renewal)";

#[derive(Args, Clone, Debug, Default)]
pub struct SwiftArgs {
    /// Region of the object-store endpoint in the catalog (default: OS_REGION_NAME, else the first)
    #[arg(long, value_name = "REGION", help_heading = "Connection")]
    pub region: Option<String>,
    /// Catalog interface: public, internal or admin (default: OS_INTERFACE, OS_ENDPOINT_TYPE, then public)
    #[arg(long, value_name = "TYPE", help_heading = "Connection")]
    pub interface: Option<String>,
    /// PEM file of extra CA certificates to trust (default: OS_CACERT)
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    pub ca_bundle: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Say more on stderr: -v for the steps, -vv for every request
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl SwiftArgs {
    pub fn http_options(&self) -> HttpOptions {
        let ca = self
            .ca_bundle
            .clone()
            .or_else(|| std::env::var_os("OS_CACERT").filter(|v| !v.is_empty()).map(PathBuf::from));
        // https: the storage URL comes from the auth answer, so it may be TLS even when auth is not.
        HttpOptions { ca_bundle: ca, https: true, ..self.net.http_options() }
    }

    pub fn auth(&self) -> Result<AuthConfig> {
        AuthConfig::from_env(&|k| std::env::var(k).ok(), self.region.as_deref(), self.interface.as_deref())
    }

    pub fn client(&self) -> Result<SwiftClient> {
        SwiftClient::new(self.auth()?, self.http_options(), self.verbose)
    }
}
