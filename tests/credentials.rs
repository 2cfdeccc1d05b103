//! Credentials from the cloud (issue #14), each source proven by a round trip to the real
//! Garage: loopback stand-ins for IMDSv2, the container endpoint and STS (tests/common/cloud.rs)
//! hand out the test key with a session token, and a FaultProxy in front of Garage records the
//! token every S3 request carried. Nothing here is ever sent to 169.254.169.254 or
//! 169.254.170.2: every command starts from `bare_cmd` (instance metadata disabled, the
//! machine's EC2 files read from an empty directory) and only the IMDS tests point instance
//! metadata at a loopback stand-in.

mod common;

use common::cloud::{ContainerEndpoint, Imds, Sts};
use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A source key only the STS stand-in knows: Garage would refuse it, so a request Garage
/// accepts was signed with credentials STS handed out.
const SOURCE_KEY: &str = "AKIASLUICESOURCE0001";
const SOURCE_SECRET: &str = "sluiceSourceSecret/K7MDENG+bPxRfiCYSOURCE";

/// Everything one test needs: Garage behind a recording proxy, a bucket, a HOME for ~/.aws.
struct Cloud {
    env: S3Env,
    proxy: FaultProxy,
    bucket: String,
    home: TempDir,
}

impl Cloud {
    fn new(name: &str) -> Cloud {
        let env = s3_env();
        let bucket = env.new_bucket(name);
        let home = TempDir::new(name);
        std::fs::create_dir_all(home.join(".aws")).expect("~/.aws");
        Cloud { proxy: FaultProxy::for_s3(&env), env, bucket, home }
    }

    /// A tool with no credentials at all: Garage (through the proxy) as the S3 endpoint.
    fn cmd(&self, bin: &str) -> Command {
        let mut cmd = bare_cmd(bin);
        cmd.env("HOME", self.home.path())
            .env("AWS_REGION", &self.env.region)
            .env("AWS_ENDPOINT_URL_S3", self.proxy.endpoint());
        cmd
    }

    fn write_aws(&self, file: &str, text: &str) {
        std::fs::write(self.home.join(".aws").join(file), text).expect("write ~/.aws file");
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The session tokens the S3 requests carried, in order of first use.
    fn tokens_seen(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for r in self.proxy.requests() {
            let t = r.header("x-amz-security-token").map(str::to_string);
            let t = t.unwrap_or_else(|| panic!("{} {} carried no session token", r.method, r.target));
            if !seen.contains(&t) {
                seen.push(t);
            }
        }
        seen
    }

    /// s3put -v, s3ls and s3get with `prepare`'s environment: store, list, read back.
    /// Returns s3put's stderr.
    fn round_trip(&self, prepare: impl Fn(&mut Command)) -> String {
        let data = random_bytes(200_000, 14);
        let mut put = self.cmd("s3put");
        put.arg("-v").arg(self.url("obj"));
        prepare(&mut put);
        let out = run(&mut put, Some(&data));
        assert_ok("s3put", &out);
        let mut ls = self.cmd("s3ls");
        ls.arg(format!("s3://{}/", self.bucket));
        prepare(&mut ls);
        let listed = run(&mut ls, None);
        assert_ok("s3ls", &listed);
        assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), self.url("obj"));
        let mut get = self.cmd("s3get");
        get.arg(self.url("obj"));
        prepare(&mut get);
        let got = run(&mut get, None);
        assert_ok("s3get", &got);
        assert!(got.stdout == data, "s3get returned other bytes");
        assert_eq!(self.env.get_object(&self.bucket, "obj"), data);
        stderr(&out)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(what: &str, out: &Output) {
    assert!(out.status.success(), "{what} failed ({:?}): {}", out.status.code(), stderr(out).trim());
}

/// Asserts an exit status and a one-line error; returns the line.
fn assert_fails(what: &str, out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {}", err.trim());
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: one line expected: {err}");
    lines[0].to_string()
}

/// No secret or session token of `secrets` appears in `text`.
fn assert_no_secrets(text: &str, secrets: &[String]) {
    for s in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(!text.contains(s.as_str()), "a secret or token leaked into the output: {text}");
    }
}

/// Runs an uploader fed `data` in `chunk`-sized writes `pause` apart, so the upload lasts long
/// enough for short-lived credentials to need renewal. `during` runs after the first write.
fn run_slow(cmd: &mut Command, data: &[u8], chunk: usize, pause: Duration, during: impl FnOnce()) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the uploader");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = data.to_vec();
    let feeder = std::thread::spawn(move || {
        for part in data.chunks(chunk) {
            if stdin.write_all(part).is_err() {
                return; // the uploader gave up: its exit status tells why
            }
            std::thread::sleep(pause);
        }
    });
    std::thread::sleep(pause / 2);
    during();
    let (out_r, err_r) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let read_all = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let (o, e) = (read_all(Box::new(out_r)), read_all(Box::new(err_r)));
    let status = wait_deadline(&mut child, Duration::from_secs(120));
    let _ = feeder.join();
    Output { status, stdout: o.join().expect("stdout"), stderr: e.join().expect("stderr") }
}

fn slow_data() -> Vec<u8> {
    random_bytes(24 << 20, 1414)
}

fn slow_put(cloud: &Cloud, key: &str) -> Command {
    let mut cmd = cloud.cmd("s3put");
    cmd.args(["-v", "--part-size", "5M", "-j", "2"]).arg(cloud.url(key));
    cmd
}

// ---- each source alone ---------------------------------------------------------------------

#[test]
fn instance_metadata_alone() {
    let c = Cloud::new("cred-imds");
    let imds = Imds::start(&c.env);
    let err = c.round_trip(|cmd| {
        cmd.env_remove("AWS_EC2_METADATA_DISABLED").env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    });
    assert!(err.contains(&format!("credentials from instance metadata at {}", imds.endpoint())), "{err}");
    // IMDSv2: a session token first, then every GET with it.
    let reqs = imds.requests();
    assert_eq!((reqs[0].method.as_str(), reqs[0].path()), ("PUT", "/latest/api/token"));
    assert_eq!(reqs[0].header("x-aws-ec2-metadata-token-ttl-seconds"), Some("21600"));
    assert!(reqs.iter().all(|r| r.status == 200), "{reqs:?}");
    for r in &reqs {
        match r.method.as_str() {
            "PUT" => assert_eq!(r.path(), "/latest/api/token"),
            _ => assert!(r.header("x-aws-ec2-metadata-token").is_some(), "IMDSv1 request: {r:?}"),
        }
    }
    let tokens = c.tokens_seen();
    assert!(!tokens.is_empty() && tokens.iter().all(|t| imds.tokens().contains(t)), "{tokens:?}");
}

#[test]
fn container_endpoint_alone_with_a_rotated_authorization_file() {
    let c = Cloud::new("cred-container");
    let ecs = ContainerEndpoint::start(&c.env);
    let auth_file = c.home.join("pod-identity-token");
    std::fs::write(&auth_file, "eks-pod-identity-token-1\n").unwrap();
    ecs.require_authorization(Some("eks-pod-identity-token-1"));
    let prepare = |cmd: &mut Command| {
        cmd.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.full_uri())
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &auth_file);
    };
    let err = c.round_trip(prepare);
    assert!(err.contains("credentials from the container credentials endpoint http://127.0.0.1:"), "{err}");
    // Kubernetes rotates the file: the next fetch reads the new value.
    std::fs::write(&auth_file, "eks-pod-identity-token-2").unwrap();
    ecs.require_authorization(Some("eks-pod-identity-token-2"));
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket));
    prepare(&mut ls);
    assert_ok("s3ls after rotation", &run(&mut ls, None));
    // The variable form.
    ecs.require_authorization(Some("Bearer static-token"));
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket))
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.full_uri())
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer static-token");
    assert_ok("s3ls with AWS_CONTAINER_AUTHORIZATION_TOKEN", &run(&mut ls, None));
    assert!(c.tokens_seen().iter().all(|t| ecs.tokens().contains(t)));
}

#[test]
fn web_identity_alone() {
    let c = Cloud::new("cred-web");
    let sts = Sts::start(&c.env);
    let token_file = c.home.join("irsa-token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.irsa-1.sig\n").unwrap();
    sts.accept_web_token("eyJhbGciOiJSUzI1NiJ9.irsa-1.sig");
    let err = c.round_trip(|cmd| {
        cmd.env("AWS_ENDPOINT_URL_STS", sts.endpoint())
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
            .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/backup")
            .env("AWS_ROLE_SESSION_NAME", "nightly");
    });
    assert!(
        err.contains("credentials from STS AssumeRoleWithWebIdentity arn:aws:iam::123456789012:role/backup"),
        "{err}"
    );
    let calls = sts.calls();
    assert!(calls
        .iter()
        .all(|x| x.action == "AssumeRoleWithWebIdentity" && x.error.is_none() && x.caller_key.is_none()));
    assert!(calls.iter().all(|x| x.session_name == "nightly"));
    assert!(c.tokens_seen().iter().all(|t| sts.tokens().contains(t)));
}

#[test]
fn web_identity_from_a_profile() {
    let c = Cloud::new("cred-web-profile");
    let sts = Sts::start(&c.env);
    let token_file = c.home.join("token");
    std::fs::write(&token_file, "oidc-token-from-profile").unwrap();
    sts.accept_web_token("oidc-token-from-profile");
    c.write_aws(
        "config",
        &format!(
            "[profile web]\nweb_identity_token_file = {}\nrole_arn = arn:aws:iam::123456789012:role/web\nrole_session_name = from-profile\nsts =\n  endpoint_url = {}\n",
            token_file.display(),
            sts.endpoint()
        ),
    );
    let mut ls = c.cmd("s3ls");
    ls.args(["-v", "--profile", "web"]).arg(format!("s3://{}/", c.bucket));
    let out = run(&mut ls, None);
    assert_ok("s3ls --profile web", &out);
    assert_eq!(sts.calls().len(), 1);
    assert_eq!(sts.calls()[0].session_name, "from-profile");
}

#[test]
fn assume_role_chain_with_source_profile() {
    let c = Cloud::new("cred-chain");
    let sts = Sts::start(&c.env);
    sts.accept_caller(SOURCE_KEY, SOURCE_SECRET);
    c.write_aws(
        "credentials",
        &format!("[source]\naws_access_key_id = {SOURCE_KEY}\naws_secret_access_key = {SOURCE_SECRET}\n"),
    );
    c.write_aws(
        "config",
        &format!(
            "[profile mid]\nrole_arn = arn:aws:iam::111111111111:role/mid\nsource_profile = source\nexternal_id = ext-42\nduration_seconds = 900\nrole_session_name = mid-session\n\n\
             [profile top]\nrole_arn = arn:aws:iam::222222222222:role/top\nsource_profile = mid\nsts =\n  endpoint_url = {}\n",
            sts.endpoint()
        ),
    );
    let err = c.round_trip(|cmd| {
        cmd.env("AWS_PROFILE", "top");
    });
    assert!(err.contains("credentials from STS AssumeRole arn:aws:iam::222222222222:role/top"), "{err}");
    // Each run: mid with the source key, then top with mid's credentials.
    let calls = sts.calls();
    assert!(calls.len() >= 2 && calls.len().is_multiple_of(2), "{calls:#?}");
    for pair in calls.chunks(2) {
        let (mid, top) = (&pair[0], &pair[1]);
        assert_eq!(
            (mid.role_arn.as_str(), mid.caller_key.as_deref()),
            ("arn:aws:iam::111111111111:role/mid", Some(SOURCE_KEY))
        );
        assert_eq!((mid.external_id.as_deref(), mid.duration_seconds.as_deref()), (Some("ext-42"), Some("900")));
        assert_eq!(mid.session_name, "mid-session");
        assert!(mid.caller_token.is_none() && mid.error.is_none());
        assert_eq!(top.role_arn, "arn:aws:iam::222222222222:role/top");
        assert_eq!(top.caller_key.as_deref(), Some(c.env.key_id.as_str()));
        let mid_token = sts.tokens().into_iter().find(|t| Some(t) == top.caller_token.as_ref());
        assert!(mid_token.is_some() && top.error.is_none(), "top must be signed with mid's credentials: {top:?}");
    }
    assert!(c.tokens_seen().iter().all(|t| sts.tokens().contains(t)));
}

#[test]
fn assume_role_with_credential_sources() {
    let c = Cloud::new("cred-source");
    let sts = Sts::start(&c.env);
    sts.accept_caller(SOURCE_KEY, SOURCE_SECRET);
    let imds = Imds::start(&c.env);
    let ecs = ContainerEndpoint::start(&c.env);
    c.write_aws(
        "config",
        "[profile env]\nrole_arn = arn:aws:iam::1:role/env\ncredential_source = Environment\n\
         [profile ec2]\nrole_arn = arn:aws:iam::1:role/ec2\ncredential_source = Ec2InstanceMetadata\n\
         [profile ecs]\nrole_arn = arn:aws:iam::1:role/ecs\ncredential_source = EcsContainer\n",
    );
    let ls = |profile: &str, extra: &dyn Fn(&mut Command)| {
        let mut cmd = c.cmd("s3ls");
        cmd.args(["--profile", profile]).arg(format!("s3://{}/", c.bucket)).env("AWS_ENDPOINT_URL_STS", sts.endpoint());
        extra(&mut cmd);
        run(&mut cmd, None)
    };
    // --profile: the environment's keys are only the role's source, not the credentials.
    let out = ls("env", &|cmd| {
        cmd.env("AWS_ACCESS_KEY_ID", SOURCE_KEY).env("AWS_SECRET_ACCESS_KEY", SOURCE_SECRET);
    });
    assert_ok("credential_source = Environment", &out);
    assert_eq!(sts.calls().last().unwrap().caller_key.as_deref(), Some(SOURCE_KEY));
    let out = ls("ec2", &|cmd| {
        cmd.env_remove("AWS_EC2_METADATA_DISABLED").env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    });
    assert_ok("credential_source = Ec2InstanceMetadata", &out);
    assert_eq!(sts.calls().last().unwrap().caller_token.as_ref(), imds.tokens().last());
    let out = ls("ecs", &|cmd| {
        cmd.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.full_uri());
    });
    assert_ok("credential_source = EcsContainer", &out);
    assert_eq!(sts.calls().last().unwrap().caller_token.as_ref(), ecs.tokens().last());
    // Disabled instance metadata stays disabled even when a profile names it.
    let out = ls("ec2", &|_| {});
    let line = assert_fails("credential_source = Ec2InstanceMetadata, disabled", &out, 3);
    assert!(line.contains("instance metadata is disabled"), "{line}");
}

// ---- precedence ------------------------------------------------------------------------------

#[test]
fn keys_in_the_environment_win_and_nothing_else_is_asked() {
    let c = Cloud::new("cred-precedence");
    let sts = Sts::start(&c.env);
    let imds = Imds::start(&c.env);
    let ecs = ContainerEndpoint::start(&c.env);
    let token_file = c.home.join("token");
    std::fs::write(&token_file, "web-token").unwrap();
    sts.accept_web_token("web-token");
    c.write_aws("config", "[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Ec2InstanceMetadata\n");
    let everything = |cmd: &mut Command| {
        cmd.env_remove("AWS_EC2_METADATA_DISABLED")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint())
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.full_uri())
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
            .env("AWS_ROLE_ARN", "arn:aws:iam::1:role/web")
            .env("AWS_ENDPOINT_URL_STS", sts.endpoint());
    };
    let mut ls = c.cmd("s3ls");
    ls.arg("-v")
        .arg(format!("s3://{}/", c.bucket))
        .env("AWS_ACCESS_KEY_ID", &c.env.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &c.env.secret);
    everything(&mut ls);
    let out = run(&mut ls, None);
    assert_ok("s3ls with keys in the environment", &out);
    assert!(stderr(&out).contains("credentials from environment"), "{}", stderr(&out));
    assert!(
        imds.requests().is_empty() && ecs.requests().is_empty() && sts.requests().is_empty(),
        "another source was asked"
    );

    // Without them, the assume-role profile comes next: STS and its source only.
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket));
    everything(&mut ls);
    assert_ok("s3ls with an assume-role profile", &run(&mut ls, None));
    assert_eq!(sts.calls().iter().map(|x| x.action.as_str()).collect::<Vec<_>>(), ["AssumeRole"]);
    assert!(ecs.requests().is_empty(), "the container endpoint was asked");
    assert_eq!(imds.issued(), 1, "instance metadata only as the role's source");

    // Without the profile, web identity comes before the container endpoint and IMDS.
    c.write_aws("config", "");
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket));
    everything(&mut ls);
    assert_ok("s3ls with web identity", &run(&mut ls, None));
    assert_eq!(sts.calls().last().unwrap().action, "AssumeRoleWithWebIdentity");
    assert!(ecs.requests().is_empty() && imds.issued() == 1);

    // Then the container endpoint before instance metadata.
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket));
    everything(&mut ls);
    ls.env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
    assert_ok("s3ls with the container endpoint", &run(&mut ls, None));
    assert_eq!((ecs.issued(), imds.issued()), (1, 1));
}

// ---- renewal during long transfers -----------------------------------------------------------

#[test]
fn slow_upload_renews_short_lived_credentials() {
    let c = Cloud::new("cred-renew");
    let ecs = ContainerEndpoint::start(&c.env);
    ecs.set_lifetime(Duration::from_secs(4));
    let data = slow_data();
    let mut put = slow_put(&c, "slow");
    put.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.full_uri());
    let out = run_slow(&mut put, &data, 1 << 20, Duration::from_millis(400), || {});
    assert_ok("slow s3put", &out);
    assert_eq!(c.env.get_object(&c.bucket, "slow"), data);
    assert!(ecs.issued() >= 2, "no renewal happened ({} issued)", ecs.issued());
    let seen = c.tokens_seen();
    assert!(seen.len() >= 2, "every request carried the first token: {seen:?}");
    assert!(seen.iter().all(|t| ecs.tokens().contains(t)));
    let err = stderr(&out);
    assert!(err.contains("renewed the credentials from the container credentials endpoint"), "{err}");
    assert_no_secrets(&err, &[c.env.secret.clone()].into_iter().chain(ecs.tokens()).collect::<Vec<_>>());
}

#[test]
fn slow_upload_renews_an_assumed_role_and_reads_a_rotated_token_file() {
    let c = Cloud::new("cred-renew-web");
    let sts = Sts::start(&c.env);
    sts.set_lifetime(Duration::from_secs(4));
    let token_file = c.home.join("token");
    std::fs::write(&token_file, "projected-token-v1").unwrap();
    sts.accept_web_token("projected-token-v1");
    let data = slow_data();
    let mut put = slow_put(&c, "rotated");
    put.env("AWS_ENDPOINT_URL_STS", sts.endpoint())
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ROLE_ARN", "arn:aws:iam::1:role/irsa");
    let out = run_slow(&mut put, &data, 1 << 20, Duration::from_millis(400), || {
        // The kubelet replaces the projected token; the old one stops working.
        let tmp = c.home.join("token.new");
        std::fs::write(&tmp, "projected-token-v2").unwrap();
        std::fs::rename(&tmp, &token_file).unwrap();
        sts.accept_web_token("projected-token-v2");
        sts.revoke_web_token("projected-token-v1");
    });
    assert_ok("slow s3put across a token rotation", &out);
    assert_eq!(c.env.get_object(&c.bucket, "rotated"), data);
    let used: Vec<String> = sts.calls().iter().filter_map(|x| x.web_identity_token.clone()).collect();
    assert_eq!(used.first().map(String::as_str), Some("projected-token-v1"));
    assert!(used.len() >= 2 && used[1..].iter().all(|t| t == "projected-token-v2"), "{used:?}");
    assert!(sts.calls().iter().all(|x| x.error.is_none()));
    assert_no_secrets(&stderr(&out), &["projected-token-v1".into(), "projected-token-v2".into(), c.env.secret.clone()]);
}

#[test]
fn a_failed_renewal_is_retried_while_the_credentials_are_valid() {
    let c = Cloud::new("cred-retry");
    let imds = Imds::start(&c.env);
    imds.set_lifetime(Duration::from_secs(8));
    imds.refuse_attempt(2); // the first renewal fails, the next one succeeds
    let data = slow_data();
    let mut put = slow_put(&c, "retried");
    put.env_remove("AWS_EC2_METADATA_DISABLED").env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    let out = run_slow(&mut put, &data, 1 << 20, Duration::from_millis(400), || {});
    assert_ok("slow s3put with one refused renewal", &out);
    assert_eq!(c.env.get_object(&c.bucket, "retried"), data);
    let err = stderr(&out);
    assert!(err.contains("renewing the credentials from instance metadata at"), "{err}");
    assert!(err.contains("AssumeRoleUnauthorizedAccess"), "the server's code is named: {err}");
    assert!(imds.issued() >= 2, "renewal was not retried");
}

#[test]
fn renewal_refused_after_expiry_aborts_and_leaves_nothing() {
    let c = Cloud::new("cred-expire");
    let sts = Sts::start(&c.env);
    sts.accept_caller(SOURCE_KEY, SOURCE_SECRET);
    // Long enough for the multipart upload to start (s3put needs a part and a byte first),
    // short enough to run out before the slow input ends.
    sts.set_lifetime(Duration::from_secs(8));
    sts.refuse_after(1);
    c.write_aws(
        "credentials",
        &format!("[src]\naws_access_key_id = {SOURCE_KEY}\naws_secret_access_key = {SOURCE_SECRET}\n"),
    );
    c.write_aws("config", "[profile role]\nrole_arn = arn:aws:iam::1:role/short\nsource_profile = src\n");
    let data = slow_data();
    let mut put = slow_put(&c, "expired");
    put.env("AWS_ENDPOINT_URL_STS", sts.endpoint()).env("AWS_PROFILE", "role");
    let started = Instant::now();
    let out = run_slow(&mut put, &data, 1 << 20, Duration::from_millis(400), || {});
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("STS AssumeRole arn:aws:iam::1:role/short") && last.contains("could not be renewed"),
        "{err}"
    );
    assert!(last.contains("AccessDenied"), "the server's code is named: {last}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(c.env.list_uploads(&c.bucket).is_empty(), "a multipart upload was left behind");
    assert!(c.env.list_keys(&c.bucket).is_empty(), "an object was stored");
    assert!(
        c.proxy.count("DELETE", "uploadId=") >= 1,
        "the multipart upload was not aborted: {err}\n{:#?}",
        c.proxy.requests().iter().map(|r| format!("{} {}", r.method, r.target)).collect::<Vec<_>>()
    );
    assert_no_secrets(
        &err,
        &[SOURCE_SECRET.to_string(), c.env.secret.clone()].into_iter().chain(sts.tokens()).collect::<Vec<_>>(),
    );
}

// ---- errors ------------------------------------------------------------------------------------

#[test]
fn source_errors_name_the_source_and_the_servers_code() {
    let c = Cloud::new("cred-errors");
    let sts = Sts::start(&c.env);
    sts.accept_caller(SOURCE_KEY, SOURCE_SECRET);
    c.write_aws(
        "credentials",
        &format!("[src]\naws_access_key_id = {SOURCE_KEY}\naws_secret_access_key = wrong-secret\n"),
    );
    c.write_aws("config", "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = src\n");
    let mut ls = c.cmd("s3ls");
    ls.args(["--profile", "role"]).arg(format!("s3://{}/", c.bucket)).env("AWS_ENDPOINT_URL_STS", sts.endpoint());
    let line = assert_fails("AssumeRole with a wrong source secret", &run(&mut ls, None), 3);
    assert!(
        line.contains("STS AssumeRole arn:aws:iam::1:role/r at http://127.0.0.1:")
            && line.contains("SignatureDoesNotMatch"),
        "{line}"
    );

    let imds = Imds::start(&c.env);
    imds.refuse_attempt(1);
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket))
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint());
    let line = assert_fails("IMDS refusing", &run(&mut ls, None), 3);
    assert!(
        line.contains("instance metadata at http://127.0.0.1:") && line.contains("AssumeRoleUnauthorizedAccess"),
        "{line}"
    );

    let ecs = ContainerEndpoint::start(&c.env);
    ecs.require_authorization(Some("right"));
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket))
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.full_uri())
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token-value");
    let line = assert_fails("container endpoint refusing", &run(&mut ls, None), 3);
    assert!(line.contains("container credentials endpoint") && line.contains("AccessDeniedException"), "{line}");
    assert!(!line.contains("wrong-token-value"));

    // Plain http to anything but loopback and the documented hosts is refused before any request.
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket)).env("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds");
    let line = assert_fails("container endpoint over plain http", &run(&mut ls, None), 3);
    assert!(line.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"), "{line}");
}

#[test]
fn secrets_never_appear_in_verbose_output() {
    let c = Cloud::new("cred-secrets");
    let sts = Sts::start(&c.env);
    let token_file = c.home.join("token");
    std::fs::write(&token_file, "web-identity-token-value").unwrap();
    sts.accept_web_token("web-identity-token-value");
    let mut put = c.cmd("s3put");
    put.arg("-vv")
        .arg(c.url("v"))
        .env("AWS_ENDPOINT_URL_STS", sts.endpoint())
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_ROLE_ARN", "arn:aws:iam::1:role/v");
    let out = run(&mut put, Some(b"hello"));
    assert_ok("s3put -vv", &out);
    let secrets: Vec<String> =
        vec!["web-identity-token-value".into(), c.env.secret.clone()].into_iter().chain(sts.tokens()).collect();
    assert_no_secrets(&stderr(&out), &secrets);
}

// ---- no probe off EC2 --------------------------------------------------------------------------

/// Without credentials, off EC2 and with instance metadata NOT disabled, a tool must fail at
/// once and never try to connect to a link-local address. Run in an empty network namespace
/// (`unshare -n`: nothing could leave even if it tried) under `strace -f -e trace=connect`.
#[test]
fn no_credentials_off_ec2_never_probes_link_local_addresses() {
    for tool in ["unshare", "strace"] {
        let ok = Command::new(tool).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
        assert!(ok, "{tool} is required for this test (scripts/install-test-deps installs it)");
    }
    let dir = TempDir::new("cred-noprobe");
    for bin in ["s3ls", "s3put", "s3get", "s3rm"] {
        let trace = dir.join(format!("{bin}.strace"));
        let mut cmd = hermetic_cmd("unshare");
        cmd.args(["-n", "strace", "-f", "-qq", "-e", "trace=connect", "-o"])
            .arg(&trace)
            .arg(bin_path(bin))
            .arg("s3://some-bucket/key")
            .env_remove("AWS_EC2_METADATA_DISABLED")
            .env("AWS_REGION", "eu-west-1");
        let started = Instant::now();
        let out = run_timeout(&mut cmd, Some(b"data"), Duration::from_secs(30));
        let elapsed = started.elapsed();
        let line = assert_fails(bin, &out, 3);
        assert_eq!(
            line,
            format!("{bin}: no credentials: not in the environment, no profile \"default\" in ~/.aws/credentials or ~/.aws/config, not on EC2 (set AWS_EC2_METADATA_SERVICE_ENDPOINT to use an instance metadata service)")
        );
        let connects = std::fs::read_to_string(&trace).expect("strace output");
        assert!(!connects.contains("169.254."), "{bin} tried a link-local address:\n{connects}");
        assert!(!connects.contains("fd00:ec2"), "{bin} tried the IPv6 metadata address:\n{connects}");
        assert!(elapsed < Duration::from_secs(5), "{bin} took {elapsed:?} to give up");
    }
    assert!(Path::new(&dir.join("s3ls.strace")).exists());
}

// ---- refused before any request ------------------------------------------------------------

#[test]
fn source_profile_loops_are_refused_before_any_request() {
    let c = Cloud::new("cred-loop");
    let sts = Sts::start(&c.env);
    c.write_aws(
        "config",
        &format!(
            "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n\
             [profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = c\n\
             [profile c]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = b\nsts =\n  endpoint_url = {}\n",
            sts.endpoint()
        ),
    );
    for bin in ["s3ls", "s3put"] {
        let mut cmd = c.cmd(bin);
        cmd.args(["--profile", "a"]).arg(if bin == "s3ls" { format!("s3://{}/", c.bucket) } else { c.url("x") });
        let line = assert_fails(bin, &run(&mut cmd, Some(b"data")), 3);
        assert_eq!(line, format!("{bin}: source_profile loop: a -> b -> c -> b"));
    }
    assert!(sts.requests().is_empty(), "STS was asked");
    assert!(c.proxy.requests().is_empty(), "S3 was asked");
}

/// A metadata service that accepts connections and never answers: aws-cli's 1 s timeout,
/// then one line and exit 3, never a hang.
#[test]
fn a_silent_instance_metadata_service_times_out() {
    let c = Cloud::new("cred-imds-silent");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let mut ls = c.cmd("s3ls");
    ls.arg(format!("s3://{}/", c.bucket))
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint);
    let started = Instant::now();
    let out = run(&mut ls, None);
    let elapsed = started.elapsed();
    let line = assert_fails("silent IMDS", &out, 3);
    assert!(line.contains(&format!("instance metadata at {endpoint}")), "{line}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(c.proxy.requests().is_empty(), "S3 was asked");
}
