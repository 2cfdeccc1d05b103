//! The SigV4 signer against every vector we have (copied under `tests/data/sigv4/`):
//!
//! * `aws-signing-test-suite/v4`: the CRT-format suite (aws-c-auth), header and query signing,
//!   each with canonical request, string to sign, signature and the signed request.
//! * `aws-sig-v4-test-suite`: the classic suite as smithy-rs vendored it (`.req`, `.creq`, `.sts`,
//!   `.authz`, `.sreq`, `.qpsreq`).
//! * `s3-examples`: the worked examples of the Amazon S3 API Reference, signed with S3's rules.
//!
//! Run with `--nocapture` to see the counts.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sluice::sigv4::{self, sha256_hex, Credentials, SignableRequest, Signer, SigningOptions, UNSIGNED_PAYLOAD};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sigv4");

/// Secrets of the access keys the vectors use: the suite's example key, and the test key
/// smithy-rs signed its added `.sreq`/`.qpsreq` files with (`Credentials::for_tests`).
fn secret_for(access_key: &str) -> &'static str {
    match access_key {
        "AKIDEXAMPLE" => "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "ANOTREAL" => "notrealrnrELgWzOk3IfjzDKtFBhDby",
        "AKIAIOSFODNN7EXAMPLE" => "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        other => panic!("no secret known for access key {other}"),
    }
}

struct Req {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Parses a `request.txt`/`.req`: request line, headers, blank line, body. A line starting with
/// whitespace continues the previous header: `fold` appends it to the value (RFC 7230 obs-fold,
/// the CRT suite's reading); otherwise it is another value of the same name (the classic
/// suite's reading, whose canonical form joins them with ',').
fn parse_request(text: &str, fold: bool) -> Req {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.lines();
    let first = lines.next().expect("a request line");
    let (method, rest) = first.split_once(' ').expect("method and target");
    // The target may contain raw spaces ("/example space/"): the version is the last word.
    let target = rest.rsplit_once(' ').map_or(rest, |(t, _)| t);
    let target = if target.starts_with('/') { target.to_owned() } else { format!("/{target}") };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), parse_query(q)),
        None => (target.clone(), Vec::new()),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let (name, value) = headers.last_mut().expect("a header to continue");
            if fold {
                value.push(' ');
                value.push_str(line);
            } else {
                let name = name.clone();
                headers.push((name, line.to_owned()));
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    Req { method: method.to_owned(), path, query, headers, body: body.as_bytes().to_vec() }
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (sigv4::percent_decode(k, false).unwrap(), sigv4::percent_decode(v, false).unwrap())
        })
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

fn without(headers: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    headers.iter().filter(|(k, _)| !names.iter().any(|n| k.trim().eq_ignore_ascii_case(n))).cloned().collect()
}

/// `20150830T123600Z` as a time.
fn amz_time(s: &str) -> SystemTime {
    let iso = format!("{}-{}-{}T{}:{}:{}Z", &s[0..4], &s[4..6], &s[6..8], &s[9..11], &s[11..13], &s[13..15]);
    sluice::time::parse_rfc3339(&iso).expect("a valid X-Amz-Date")
}

/// The value of the `Authorization` line of a signed request.
fn authorization_of(signed_request: &str) -> Option<String> {
    signed_request.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("authorization").then(|| v.trim().to_owned())
    })
}

/// (access key, region, service) from `Credential=AKID/20150830/us-east-1/service/aws4_request`.
fn scope_of(authorization: &str) -> (String, String, String) {
    let cred = authorization.split("Credential=").nth(1).expect("a Credential").split([',', ' ']).next().unwrap();
    let parts: Vec<&str> = cred.split('/').collect();
    (parts[0].to_owned(), parts[2].to_owned(), parts[3].to_owned())
}

/// The query of a signed request line, as a sorted list of raw pairs.
fn query_of(signed_request: &str) -> Vec<String> {
    let line = signed_request.lines().next().unwrap();
    let target = line.split_once(' ').unwrap().1.rsplit_once(' ').unwrap().0;
    // Re-encode each pair: a vector may show raw UTF-8 where the wire carries %XX.
    let mut pairs: Vec<String> = parse_query(target.split_once('?').map_or("", |(_, q)| q))
        .iter()
        .map(|(k, v)| format!("{}={}", sigv4::uri_encode(k, true), sigv4::uri_encode(v, true)))
        .collect();
    pairs.sort();
    pairs
}

fn sorted_pairs(wire: &str) -> Vec<String> {
    let mut pairs: Vec<String> = wire.split('&').map(str::to_owned).collect();
    pairs.sort();
    pairs
}

fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn read_opt(p: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(p).ok()
}

fn dirs(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Collects mismatches instead of stopping at the first, so one run shows them all.
#[derive(Default)]
struct Tally {
    checks: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn eq(&mut self, what: &'static str, case: &str, got: &str, want: &str) {
        *self.checks.entry(what).or_default() += 1;
        if got != want {
            self.failures.push(format!("{case}: {what}\n--- got\n{got}\n--- want\n{want}"));
        }
    }

    fn finish(self, suite: &str) -> BTreeMap<&'static str, usize> {
        println!("{suite}: {:?}", self.checks);
        assert!(self.failures.is_empty(), "{suite}: {} failures\n{}", self.failures.len(), self.failures.join("\n\n"));
        self.checks
    }
}

#[test]
fn crt_suite_header_and_query_signing() {
    let root = Path::new(DATA).join("aws-signing-test-suite/v4");
    let mut t = Tally::default();
    let mut cases = 0;
    for dir in dirs(&root) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let ctx: serde_json::Value = serde_json::from_str(&read(dir.join("context.json"))).unwrap();
        let c = &ctx["credentials"];
        let creds = Credentials::new(
            c["access_key_id"].as_str().unwrap(),
            c["secret_access_key"].as_str().unwrap(),
            c["token"].as_str().map(str::to_owned),
        );
        let opts = SigningOptions {
            normalize_path: ctx["normalize"].as_bool().unwrap(),
            double_encode_path: true,
            content_sha256_header: ctx["sign_body"].as_bool().unwrap_or(false),
            sign_session_token: !ctx["omit_session_token"].as_bool().unwrap_or(false),
        };
        let signer = Signer::new(creds, ctx["region"].as_str().unwrap(), ctx["service"].as_str().unwrap(), opts);
        let now = sluice::time::parse_rfc3339(ctx["timestamp"].as_str().unwrap()).unwrap();
        let req = parse_request(&read(dir.join("request.txt")), true);
        let payload_hash = sha256_hex(&req.body);
        let sreq = SignableRequest {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            payload_hash: &payload_hash,
        };

        let (added, steps) = signer.sign_steps(&sreq, now);
        t.eq(
            "header canonical request",
            &name,
            &steps.canonical_request,
            read(dir.join("header-canonical-request.txt")).trim_end(),
        );
        t.eq(
            "header string to sign",
            &name,
            &steps.string_to_sign,
            read(dir.join("header-string-to-sign.txt")).trim_end(),
        );
        t.eq("header signature", &name, &steps.signature, read(dir.join("header-signature.txt")).trim());
        let signed = read(dir.join("header-signed-request.txt"));
        t.eq(
            "Authorization header",
            &name,
            header(&added, "authorization").unwrap(),
            &authorization_of(&signed).unwrap(),
        );
        // Every header we add must be the one the signed request carries.
        let signed_req = parse_request(&signed, true);
        for (k, v) in &added {
            t.eq("added header value", &name, v, header(&signed_req.headers, k).unwrap_or("<missing>"));
        }

        let expires = ctx["expiration_in_seconds"].as_u64().unwrap();
        let (wire, qsteps) = signer.presign_steps(&sreq, now, expires);
        t.eq(
            "query canonical request",
            &name,
            &qsteps.canonical_request,
            read(dir.join("query-canonical-request.txt")).trim_end(),
        );
        t.eq(
            "query string to sign",
            &name,
            &qsteps.string_to_sign,
            read(dir.join("query-string-to-sign.txt")).trim_end(),
        );
        t.eq("query signature", &name, &qsteps.signature, read(dir.join("query-signature.txt")).trim());
        // Same parameters as the signed request (its order differs; servers do not care).
        let want = query_of(&read(dir.join("query-signed-request.txt")));
        t.eq("presigned query", &name, &sorted_pairs(&wire).join("&"), &want.join("&"));
        assert!(wire.ends_with(&format!("&X-Amz-Signature={}", qsteps.signature)), "{name}: X-Amz-Signature last");
        cases += 1;
    }
    let checks = t.finish("aws-signing-test-suite/v4");
    assert_eq!(cases, 38);
    assert_eq!(checks["header signature"], 38);
    assert_eq!(checks["query signature"], 38);
}

/// S3 signs paths once and never normalises them: the suite's `-unnormalized` cases (no `%` in
/// their paths) must give the same canonical requests under S3's single encoding.
#[test]
fn crt_unnormalized_cases_match_s3_single_encoding() {
    let root = Path::new(DATA).join("aws-signing-test-suite/v4");
    let mut t = Tally::default();
    for dir in dirs(&root) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let ctx: serde_json::Value = serde_json::from_str(&read(dir.join("context.json"))).unwrap();
        if ctx["normalize"].as_bool() != Some(false) {
            continue;
        }
        let req = parse_request(&read(dir.join("request.txt")), true);
        assert!(!req.path.contains('%'), "{name}");
        let mut opts = SigningOptions::s3();
        opts.content_sha256_header = false;
        let c = &ctx["credentials"];
        let creds =
            Credentials::new(c["access_key_id"].as_str().unwrap(), c["secret_access_key"].as_str().unwrap(), None);
        let signer = Signer::new(creds, "us-east-1", "service", opts);
        let now = sluice::time::parse_rfc3339(ctx["timestamp"].as_str().unwrap()).unwrap();
        let hash = sha256_hex(&req.body);
        let sreq = SignableRequest {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            payload_hash: &hash,
        };
        let (_, steps) = signer.sign_steps(&sreq, now);
        t.eq("signature (s3 rules)", &name, &steps.signature, read(dir.join("header-signature.txt")).trim());
    }
    let checks = t.finish("unnormalized cases under S3 rules");
    assert_eq!(checks["signature (s3 rules)"], 7);
}

#[test]
fn classic_suite() {
    let root = Path::new(DATA).join("aws-sig-v4-test-suite");
    let mut case_dirs = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for sub in dirs(&d) {
            let name = sub.file_name().unwrap().to_string_lossy().into_owned();
            if sub.join(format!("{name}.req")).exists() {
                case_dirs.push(sub.clone());
            }
            stack.push(sub);
        }
    }
    case_dirs.sort();

    let mut t = Tally::default();
    let mut skipped = Vec::new();
    for dir in &case_dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let file = |ext: &str| read_opt(dir.join(format!("{name}.{ext}")));
        // Suspect (PROVENANCE.md): its `.creq` lists content-type among the canonical headers
        // but not in SignedHeaders, so it does not hash to its `.sts`. The CRT suite's copy
        // of this case is checked in full above.
        if name == "post-x-www-form-urlencoded" {
            skipped.push(name);
            continue;
        }
        let req = parse_request(&file("req").unwrap(), false);
        // One `.req` lacks X-Amz-Date; the suite's README gives the instant of every case.
        let date = header(&req.headers, "x-amz-date").unwrap_or("20150830T123600Z").to_owned();
        let token = header(&req.headers, "x-amz-security-token").map(str::to_owned);
        let headers = without(&req.headers, &["x-amz-date", "x-amz-security-token"]);
        let hash = sha256_hex(&req.body);
        let sreq = SignableRequest {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &headers,
            payload_hash: &hash,
        };
        let expected_auth = file("authz").or_else(|| file("sreq").as_deref().and_then(authorization_of));
        let (akid, region, service) =
            expected_auth.as_deref().map_or(("AKIDEXAMPLE".into(), "us-east-1".into(), "service".into()), scope_of);
        let signer_for = |akid: &str| {
            let creds = Credentials::new(akid, secret_for(akid), token.clone());
            Signer::new(creds, &region, &service, SigningOptions::generic())
        };
        let now = amz_time(&date);
        let (added, steps) = signer_for(&akid).sign_steps(&sreq, now);

        if let Some(creq) = file("creq") {
            match name.as_str() {
                // The old suite modelled form parameters moved from the body into the query
                // (`.creq` has `Param1=value1` as its query and an empty payload): that is a
                // request rewrite, not signing. Its `.creq` -> `.sts` -> `.authz` chain is checked.
                "post-x-www-form-urlencoded-parameters" => {}
                // smithy-rs's case: its `.creq` carries a 2021 x-amz-date while the `.req` and
                // the `.sreq` signature use 20150830T123600Z; compare all but that line.
                "double-encode-path" => {
                    let strip =
                        |s: &str| s.lines().filter(|l| !l.starts_with("x-amz-date:")).collect::<Vec<_>>().join("\n");
                    t.eq("canonical request", &name, &strip(&steps.canonical_request), &strip(&creq));
                }
                _ => t.eq("canonical request", &name, &steps.canonical_request, creq.trim_end()),
            }
            if let Some(sts) = file("sts") {
                let scope = sigv4::credential_scope(&date[..8], &region, &service);
                t.eq(
                    "string to sign (from .creq)",
                    &name,
                    &sigv4::string_to_sign(&date, &scope, creq.trim_end()),
                    sts.trim_end(),
                );
            }
        }
        if let Some(sts) = file("sts") {
            if name != "post-x-www-form-urlencoded-parameters" {
                t.eq("string to sign", &name, &steps.string_to_sign, sts.trim_end());
            }
            // Suspect (PROVENANCE.md): smithy-rs's lambda case does not reproduce with the
            // suite's secret from its own `.sts`; its canonical request and string to sign are
            // checked above.
            if name != "double-url-encode" {
                let key = sigv4::signing_key(secret_for(&akid), &date[..8], &region, &service);
                let sig = sigv4::signature(&key, sts.trim_end());
                let authz = file("authz").unwrap();
                t.eq("signature (from .sts)", &name, &sig, authz.rsplit("Signature=").next().unwrap().trim());
                if name != "post-x-www-form-urlencoded-parameters" {
                    t.eq("Authorization", &name, header(&added, "authorization").unwrap(), authz.trim());
                }
            }
        }
        // smithy-rs re-signed some `.sreq` files with its own test key: check those too.
        if let Some(auth) = file("sreq").as_deref().and_then(authorization_of) {
            let (sreq_akid, _, _) = scope_of(&auth);
            if name != "double-url-encode" && name != "post-x-www-form-urlencoded-parameters" {
                let (added, _) = signer_for(&sreq_akid).sign_steps(&sreq, now);
                t.eq("Authorization (.sreq)", &name, header(&added, "authorization").unwrap(), &auth);
            }
        }
        if let Some(qps) = file("qpsreq") {
            let want = query_of(&qps);
            let cred = want.iter().find_map(|p| p.strip_prefix("X-Amz-Credential=")).unwrap();
            let qakid = sigv4::percent_decode(cred, false).unwrap().split('/').next().unwrap().to_owned();
            let expires: u64 = want.iter().find_map(|p| p.strip_prefix("X-Amz-Expires=")).unwrap().parse().unwrap();
            let wire = signer_for(&qakid).presign(&sreq, now, expires);
            t.eq("presigned query (.qpsreq)", &name, &sorted_pairs(&wire).join("&"), &want.join("&"));
        }
    }
    println!("classic suite: {} cases, skipped {:?}", case_dirs.len(), skipped);
    let checks = t.finish("aws-sig-v4-test-suite");
    assert_eq!(case_dirs.len(), 33);
    assert!(checks["Authorization"] >= 28, "{checks:?}");
}

fn s3_signer() -> Signer {
    Signer::s3(Credentials::new("AKIAIOSFODNN7EXAMPLE", secret_for("AKIAIOSFODNN7EXAMPLE"), None), "us-east-1")
}

#[test]
fn s3_documented_examples() {
    let root = Path::new(DATA).join("s3-examples");
    let signer = s3_signer();
    let now = amz_time("20130524T000000Z");
    assert_eq!(
        hex::encode(signer.signing_key("20130524")),
        "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
    );
    let mut t = Tally::default();
    for dir in dirs(&root) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut req = parse_request(&read(dir.join("request.txt")), true);
        // The documented body is "Welcome to Amazon S3." without the file's final newline.
        if req.body.ends_with(b"\n") {
            req.body.pop();
        }
        let headers = without(&req.headers, &["authorization", "x-amz-date", "x-amz-content-sha256"]);
        let payload_hash = if name == "presigned-get" {
            UNSIGNED_PAYLOAD.to_owned()
        } else {
            header(&req.headers, "x-amz-content-sha256").unwrap().to_owned()
        };
        if name == "put-object" {
            assert_eq!(sha256_hex(&req.body), payload_hash, "the documented body hash");
        }
        let sreq = SignableRequest {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &headers,
            payload_hash: &payload_hash,
        };
        let (creq, sts, sig) = if name == "presigned-get" {
            let (wire, steps) = signer.presign_steps(&sreq, now, 86400);
            let url = format!("https://examplebucket.s3.amazonaws.com{}?{wire}", req.path);
            t.eq("presigned URL", &name, &url, read(dir.join("presigned-url.txt")).trim());
            (steps.canonical_request, steps.string_to_sign, steps.signature)
        } else {
            let (added, steps) = signer.sign_steps(&sreq, now);
            // The docs write the header without spaces after the commas; both forms are valid.
            let want = read(dir.join("authorization.txt")).trim().to_owned();
            t.eq("Authorization", &name, &header(&added, "authorization").unwrap().replace(", ", ","), &want);
            t.eq("x-amz-content-sha256", &name, header(&added, "x-amz-content-sha256").unwrap(), &payload_hash);
            (steps.canonical_request, steps.string_to_sign, steps.signature)
        };
        t.eq("canonical request", &name, &creq, read(dir.join("canonical-request.txt")).trim_end());
        t.eq("string to sign", &name, &sts, read(dir.join("string-to-sign.txt")).trim_end());
        t.eq("signature", &name, &sig, read(dir.join("signature.txt")).trim());

        if let Some(chunks) = read_opt(dir.join("chunk-signatures.txt")) {
            let mut prev = sig.clone();
            for (i, (want, len)) in chunks.lines().zip([65536usize, 1024, 0]).enumerate() {
                let chunk_sig = signer.chunk_signature(now, &prev, &vec![b'a'; len]);
                t.eq("chunk signature", &format!("{name} chunk {}", i + 1), &chunk_sig, want.trim());
                prev = chunk_sig;
            }
        }
    }
    let checks = t.finish("S3 API Reference examples");
    assert_eq!(checks["signature"], 6);
    assert_eq!(checks["chunk signature"], 3);
}

#[test]
fn s3_sign_returns_the_headers_to_send() {
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret", Some("TOKEN/+=".into()));
    let signer = Signer::s3(creds, "eu-west-3");
    let headers = vec![("Host".to_owned(), "b.s3.eu-west-3.amazonaws.com".to_owned())];
    let query = vec![("uploads".to_owned(), String::new())];
    let req = SignableRequest {
        method: "POST",
        path: "/k%20ey",
        query: &query,
        headers: &headers,
        payload_hash: sigv4::EMPTY_SHA256,
    };
    let now = amz_time("20260101T000000Z");
    let (added, steps) = signer.sign_steps(&req, now);
    let names: Vec<&str> = added.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization"]);
    assert_eq!(steps.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    assert!(steps.canonical_request.starts_with("POST\n/k%20ey\nuploads=\n"));
    assert!(header(&added, "authorization").unwrap().contains("/20260101/eu-west-3/s3/aws4_request"));
    assert_eq!(signer.sign(&req, now), added, "deterministic");

    // A caller's own copy of a signer-owned header is ignored, not signed twice.
    let mut dup = headers.clone();
    dup.push(("X-Amz-Date".into(), "19990101T000000Z".into()));
    let req2 = SignableRequest { headers: &dup, ..req };
    assert_eq!(signer.sign(&req2, now), added);

    // Presigned: the token travels in the query, the signature last.
    let wire = signer.presign(&req, now, 3600);
    assert!(wire.contains("X-Amz-Security-Token=TOKEN%2F%2B%3D"));
    assert!(wire.starts_with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Feu-west-3%2Fs3%2Faws4_request&"));
    assert!(wire.rsplit('&').next().unwrap().starts_with("X-Amz-Signature="));

    let other = signer.with_region("us-east-1");
    assert_eq!(other.region(), "us-east-1");
    assert_eq!(signer.region(), "eu-west-3");
    assert_ne!(other.sign(&req, now), added);
}

#[test]
fn debug_output_redacts_secrets() {
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/SECRET", Some("SESSIONTOKEN123".into()));
    let signer = Signer::s3(creds.clone(), "us-east-1");
    for s in [format!("{creds:?}"), format!("{signer:?}")] {
        assert!(s.contains("AKIAIOSFODNN7EXAMPLE"), "{s}");
        assert!(s.contains("secret_access_key: \"<redacted>\""), "{s}");
        assert!(s.contains("session_token: Some(\"<redacted>\")"), "{s}");
        assert!(!s.contains("SECRET") && !s.contains("SESSIONTOKEN123"), "{s}");
    }
    for s in [format!("{creds:#?}"), format!("{signer:#?}")] {
        assert!(s.contains("AKIAIOSFODNN7EXAMPLE") && s.contains("<redacted>"), "{s}");
        assert!(!s.contains("SECRET") && !s.contains("SESSIONTOKEN123"), "{s}");
    }
    let no_token = Credentials::new("AKID", "sekrit", None);
    let s = format!("{no_token:?}");
    assert!(s.contains("session_token: None") && !s.contains("sekrit"), "{s}");
}
