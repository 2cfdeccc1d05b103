//! `credential_process`: aws-cli's external credential source
//! (<https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html>).
//! The command prints `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
//! "Expiration"}`; with an Expiration it is run again to renew, as botocore does.

use super::{Fetched, Provider};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the command may run.
const DEADLINE: Duration = Duration::from_secs(60);

pub struct CredentialProcess {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// "profile backup", for messages.
    pub profile: String,
}

impl CredentialProcess {
    /// Splits the command line like aws-cli (shell words, no expansion); `~/` in the program
    /// is expanded with `home`.
    pub fn parse(cmdline: &str, profile: &str, home: Option<&str>) -> Result<CredentialProcess> {
        // Split like a shell command line (aws-cli uses Python's shlex), never run by a shell.
        let argv = shlex::split(cmdline)
            .ok_or_else(|| Error::config(format!("credential_process {cmdline:?} has unbalanced quotes")))?;
        let Some((prog, args)) = argv.split_first() else {
            return Err(Error::config("credential_process is empty"));
        };
        let program = match (prog.strip_prefix("~/"), home) {
            (Some(rest), Some(h)) => PathBuf::from(h).join(rest),
            _ => PathBuf::from(prog),
        };
        Ok(CredentialProcess { program, args: args.to_vec(), profile: profile.to_string() })
    }
}

impl Provider for CredentialProcess {
    fn describe(&self) -> String {
        format!("credential_process of {}", self.profile)
    }

    /// Runs the command with a deadline; its stderr passes through so the user sees why it
    /// failed. Its stdout (the secrets) is never echoed.
    fn fetch(&self) -> Result<Fetched> {
        let prog = self.program.display();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::config(format!("credential_process {prog}: {e}")))?;
        let mut stdout = child.stdout.take().ok_or_else(|| Error::config("credential_process: no stdout"))?;
        // Read on a thread so a process that never exits cannot hang us past the deadline.
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.by_ref().take(1 << 20).read_to_end(&mut buf);
            buf
        });
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::config(format!("credential_process {prog} did not finish within 60 s")));
                }
                Err(e) => return Err(Error::config(format!("credential_process {prog}: {e}"))),
            }
        };
        let out = reader.join().unwrap_or_default();
        if !status.success() {
            return Err(Error::config(format!("credential_process {prog} failed ({status})")));
        }
        let v: serde_json::Value = serde_json::from_slice(&out)
            .map_err(|_| Error::config(format!("credential_process {prog} did not print JSON credentials")))?;
        if v.get("Version").and_then(|x| x.as_u64()) != Some(1) {
            return Err(Error::config(format!("credential_process {prog} must print \"Version\": 1")));
        }
        super::parse_json_credentials(&v, "SessionToken", &format!("credential_process {prog}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_shlex() {
        let p = CredentialProcess::parse(r#"~/bin/creds 'b c' "d \"e\"" f\ g"#, "profile p", Some("/home/u")).unwrap();
        assert_eq!(p.program, PathBuf::from("/home/u/bin/creds"));
        assert_eq!(p.args, ["b c", "d \"e\"", "f g"]);
        assert!(CredentialProcess::parse("a 'b", "profile p", None).is_err());
        assert!(CredentialProcess::parse("  ", "profile p", None).is_err());
    }
}
