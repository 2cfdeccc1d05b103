//! Restores verified end to end (issue 18): s3get checks the content of single-part and
//! multipart objects, written by s3put and by aws-cli, at -j 1 and -j 4, through cuts and
//! resumes; a byte flipped by the fault proxy (right length, wrong content) is exit 5, and the
//! stage reading s3get's output is told. Against the real Garage and Ceph RGW.

mod common;

use common::proxy::{Fault, FaultProxy, Rule};
use common::*;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Multipart objects are 16 MB: aws-cli and s3put cut them into three parts of 5 MiB and one
/// of 0.7 MiB (four parts: s3get asks the server for parts 1 and 4 and assumes uniform parts).
const MULTI: usize = 16_000_000;
const SINGLE: usize = 200_000;
/// What s3get keeps back until an object is verified (lib/s3/get.rs).
const HELD_BACK: usize = 64 << 10;

/// One stored object and what s3get should say it verified.
struct Stored {
    key: &'static str,
    data: Vec<u8>,
    etag: String,
    verified: &'static str,
    /// Whether a flipped byte is caught: not where the part sizes are only guessed.
    caught: bool,
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `--json` line s3get printed on stderr.
fn json(out: &Output) -> serde_json::Value {
    let err = stderr(out);
    let line = err.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON line in: {err}"));
    serde_json::from_str(line).expect("s3get --json")
}

/// aws-cli, configured for 5 MB parts and without the new default checksums (which are not
/// what this is about), against the test server.
fn aws(env: &S3Env, dir: &Path, args: &[&str]) {
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        "[default]\nrequest_checksum_calculation = when_required\nresponse_checksum_validation = when_required\n\
         s3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n",
    )
    .unwrap();
    let mut cmd = env.cmd_for_path("aws");
    // --endpoint-url as well as AWS_ENDPOINT_URL: older aws-cli versions ignore the variable.
    cmd.env("AWS_CONFIG_FILE", &config).args(["--endpoint-url", &env.endpoint]).args(args);
    let out = run_timeout(&mut cmd, None, Duration::from_secs(120));
    assert!(out.status.success(), "aws {args:?}: {}", stderr(&out));
}

/// s3put's `--json` ETag.
fn s3put(env: &S3Env, url: &str, extra: &[&str], data: &[u8]) -> String {
    let out = run(env.cmd("s3put").args(extra).args(["--json", url]), Some(data));
    assert!(out.status.success(), "s3put {url}: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("s3put --json");
    v["etag"].as_str().expect("etag").to_string()
}

/// The same objects from both writers: single-part and multipart.
fn store_objects(env: &S3Env, b: &str, dir: &TempDir) -> Vec<Stored> {
    let single = random_bytes(SINGLE, 181);
    let multi = random_bytes(MULTI, 182);
    // Ceph RGW ignores HEAD ?partNumber: only s3put's own objects carry their part sizes there;
    // aws-cli's are guessed from the part count, which proves a match but not a mismatch.
    let caught = env.server != Server::Ceph;
    let mut stored = vec![
        Stored {
            key: "put-single",
            etag: s3put(env, &format!("s3://{b}/put-single"), &[], &single),
            data: single.clone(),
            verified: "md5",
            caught: true,
        },
        Stored {
            key: "put-multi",
            etag: s3put(env, &format!("s3://{b}/put-multi"), &["--part-size", "5M"], &multi),
            data: multi.clone(),
            verified: "parts",
            caught: true,
        },
    ];
    for (key, data, verified, caught) in [("aws-single", single, "md5", true), ("aws-multi", multi, "parts", caught)] {
        let file = dir.join(key);
        std::fs::write(&file, &data).unwrap();
        aws(env, dir.path(), &["s3", "cp", "--only-show-errors", file.to_str().unwrap(), &format!("s3://{b}/{key}")]);
        let etag = env.head_object(b, key).expect("aws-cli's object").etag.trim_matches('"').to_string();
        stored.push(Stored { key, data, etag, verified, caught });
    }
    assert!(stored[1].etag.ends_with("-4") && stored[3].etag.ends_with("-4"), "4 parts each");
    stored
}

fn s3get(via: &S3Env, b: &str, key: &str, jobs: &str, extra: &[&str]) -> Output {
    let url = format!("s3://{b}/{key}");
    run_timeout(
        via.cmd("s3get").args(["-v", "--json", "-j", jobs, "--chunk-size", "2M"]).args(extra).arg(&url),
        None,
        Duration::from_secs(120),
    )
}

/// A flipped byte must fail with one line naming the object and both ETags; the tail of the
/// output is never written.
fn assert_corrupt(out: &Output, o: &Stored, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(5), "{what}: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.contains(o.key) && last.contains(&o.etag) && last.contains("corrupt"), "{what}: {err}");
    assert!(!err.contains("{\""), "{what}: no JSON result for a failed object: {err}");
    assert!(out.stdout.len() <= o.data.len() - HELD_BACK.min(o.data.len()), "{what}: the tail was written");
    // A second read of every part gives the ETag: the part holding the flipped byte is named.
    // (The flipped byte may be in the tail held back, when the flipped body is a short one.)
    let wrong = out.stdout.iter().zip(&o.data).position(|(a, b)| a != b);
    assert!(last.contains("came corrupted") && last.contains("damaged in transit"), "{what}: {last}");
    if o.verified == "parts" {
        let (a, b) = part_bytes(last).unwrap_or_else(|| panic!("{what}: no part named: {last}"));
        let wrong = wrong.unwrap_or(o.data.len() - 1);
        assert!(a <= wrong && wrong <= b, "{what}: byte {wrong} is not in the part named: {last}");
    } else {
        assert!(last.contains("the object came corrupted"), "{what}: {last}");
    }
}

/// `A` and `B` of the "part K of N (bytes A-B)" an error names.
fn part_bytes(line: &str) -> Option<(usize, usize)> {
    let rest = &line[line.find(" (bytes ")? + 8..];
    let (a, b) = rest[..rest.find(')')?].split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

s3_test!(
    /// Every object comes back byte-identical and verified, with s3put's ETag; one flipped
    /// byte in the body (a worker's chunk at -j 4) is exit 5.
    fn flipped_bytes_fail_and_clean_restores_verify(env) {
        let b = env.new_bucket("restore-flip");
        let dir = TempDir::new("restore-flip");
        for o in store_objects(&env, &b, &dir) {
            for jobs in ["1", "4"] {
                let what = format!("{} -j {jobs}", o.key);
                let out = s3get(&env, &b, o.key, jobs, &[]);
                assert!(out.status.success(), "{what}: {}", stderr(&out));
                assert!(out.stdout == o.data, "{what}: output differs");
                let v = json(&out);
                assert_eq!(v["verified"], o.verified, "{what}: {v}");
                assert_eq!(v["etag"], o.etag.as_str(), "{what}: s3get and s3put report the same ETag");
                assert_eq!(v["size"], o.data.len(), "{what}");
                // Where the part boundaries came from: s3put's recorded plan, or parts 1 and N.
                let how = v["how"].as_str().unwrap_or("");
                match (o.key, o.verified) {
                    ("put-multi", _) => assert!(how.contains("s3put's part plan"), "{what}: {how}"),
                    ("aws-multi", _) if o.caught => assert!(how.contains("assumed uniform"), "{what}: {how}"),
                    ("aws-multi", _) => assert!(how.contains("guessed from the part count"), "{what}: {how}"),
                    _ => {}
                }
                assert!(stderr(&out).contains(&format!("verified: {}", o.verified)), "{what}: -v says it");

                let proxy = FaultProxy::for_s3(&env);
                // At -j 4 the third GET is a worker's ranged GET (the first answer is chunk 0).
                let nth = if jobs == "1" || o.data.len() == SINGLE { 1 } else { 3 };
                let path = format!("/{}", o.key);
                proxy.add(Rule::new(Fault::FlipByteMidResponseBody).method("GET").path_contains(&path).nth(nth));
                let out = s3get(&env.with_endpoint(&proxy.endpoint()), &b, o.key, jobs, &[]);
                assert_eq!(proxy.injected(), 1, "{what}");
                if !o.caught {
                    // Said, not hidden: with guessed part sizes a mismatch proves nothing.
                    assert!(out.status.success(), "{what}: {}", stderr(&out));
                    let v = json(&out);
                    assert_eq!(v["verified"], "length", "{what}: {v}");
                    assert!(v["how"].as_str().unwrap_or("").contains("cannot be told apart"), "{what}: {v}");
                } else {
                    assert_corrupt(&out, &o, &format!("{what}, flipped"));
                }
            }
        }
    }
);

s3_test!(
    /// A body cut off halfway is resumed with a Range and still verifies; a byte flipped in the
    /// resumed body is still caught, so every resume feeds the part hashes.
    fn cut_and_resumed_bodies_still_verify(env) {
        let b = env.new_bucket("restore-cut");
        let dir = TempDir::new("restore-cut");
        for o in store_objects(&env, &b, &dir).into_iter().filter(|o| o.caught) {
            for jobs in ["1", "4"] {
                let what = format!("{} -j {jobs}", o.key);
                let path = format!("/{}", o.key);
                // At -j 1 the one GET is cut; at -j 4 a worker's ranged GET (the first answer
                // only serves chunk 0, so cutting it halfway cuts nothing that is read).
                let cut = if jobs == "1" || o.data.len() == SINGLE { 1 } else { 2 };
                let proxy = FaultProxy::for_s3(&env);
                let via = env.with_endpoint(&proxy.endpoint());
                proxy.add(Rule::new(Fault::DropMidResponseBody).method("GET").path_contains(&path).nth(cut));
                let out = s3get(&via, &b, o.key, jobs, &[]);
                assert!(out.status.success(), "{what}: {}", stderr(&out));
                assert!(out.stdout == o.data, "{what}: output differs");
                assert!(stderr(&out).contains(" 1 resumed"), "{what}: {}", stderr(&out));
                assert_eq!(json(&out)["verified"], o.verified, "{what}");

                // After the cut, the GET that resumes it (at -j 1) or another worker's chunk (at
                // -j 4) has a byte flipped.
                let proxy = FaultProxy::for_s3(&env);
                let via = env.with_endpoint(&proxy.endpoint());
                proxy.add(Rule::new(Fault::DropMidResponseBody).method("GET").path_contains(&path).nth(cut));
                proxy.add(Rule::new(Fault::FlipByteMidResponseBody).method("GET").path_contains(&path).nth(cut + 1));
                let out = s3get(&via, &b, o.key, jobs, &[]);
                assert_eq!(proxy.injected(), 2, "{what}");
                assert_corrupt(&out, &o, &format!("{what}, cut then flipped"));
            }
        }
    }
);

s3_test!(
    /// A range says it checked the length only, unless it covers the whole object.
    fn ranges_say_what_was_checked(env) {
        let b = env.new_bucket("restore-range");
        let data = random_bytes(MULTI, 183);
        let etag = s3put(&env, &format!("s3://{b}/obj"), &["--part-size", "5M"], &data);
        let out = s3get(&env, &b, "obj", "4", &["--range", "100-5999999"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(out.stdout == data[100..6_000_000]);
        let v = json(&out);
        assert_eq!(v["verified"], "length", "{v}");
        assert!(v["how"].as_str().unwrap().contains("--range"), "{v}");
        let out = s3get(&env, &b, "obj", "4", &["--range", "0-"]);
        assert!(out.status.success() && out.stdout == data, "{}", stderr(&out));
        assert_eq!(json(&out)["verified"], "parts");
        assert_eq!(json(&out)["etag"], etag.as_str());
    }
);

s3_test!(
    /// A middlebox that damages every answer: the second read differs from the first and gives
    /// no matching ETag either, which is said (not blamed on the object as stored).
    fn every_read_damaged_is_told(env) {
        let b = env.new_bucket("restore-always");
        let data = random_bytes(MULTI, 183);
        let etag = s3put(&env, &format!("s3://{b}/multi"), &["--part-size", "5M"], &data);
        let proxy = FaultProxy::for_s3(&env);
        proxy.add(Rule::new(Fault::FlipByteMidResponseBody).method("GET").path_contains("/multi").always());
        let out = s3get(&env.with_endpoint(&proxy.endpoint()), &b, "multi", "1", &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(5), "{err}");
        assert_eq!(proxy.injected(), 5, "the download and a second read of 4 parts: {err}");
        let last = err.lines().last().unwrap_or("");
        assert!(last.contains(&etag) && last.contains("read differently twice"), "{last}");
        assert!(!last.contains("in transit") && !last.contains("at rest"), "{last}");
        // The flipped byte of the first read is in part 2, of the second read in every part:
        // part 1 is the first whose two reads differ.
        assert!(last.contains("part 1 of 4 (bytes 0-5242879)"), "{last}");
    }
);

s3_test!(
    only ceph:
    /// An object damaged on the server's disk (a byte flipped in RADOS, under RGW, which serves
    /// it as it is) fails with exit 5, and the second read tells it from damage in transit.
    fn damage_at_rest_is_told_from_damage_in_transit(env) {
        let b = env.new_bucket("restore-rest");
        let dir = TempDir::new("restore-rest");
        let objects: Vec<Stored> = store_objects(&env, &b, &dir).into_iter().filter(|o| o.key.starts_with("put-")).collect();
        let stats = env.radosgw_admin(&["bucket", "stats", "--bucket", &b]);
        assert!(stats.status.success(), "radosgw-admin: {}", stderr(&stats));
        let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("bucket stats");
        let marker = stats["marker"].as_str().expect("the bucket's marker").to_string();
        let pool = "default.rgw.buckets.data";
        let listed = env.rados(&["-p", pool, "ls"]);
        let names = String::from_utf8_lossy(&listed.stdout).into_owned();
        for o in &objects {
            // The single object's head holds its bytes; part 2's first RADOS object holds its start.
            let name = names
                .lines()
                .find(|n| match o.key {
                    "put-single" => *n == format!("{marker}_{}", o.key),
                    _ => n.starts_with(&format!("{marker}__multipart_{}.", o.key)) && n.ends_with(".2"),
                })
                .unwrap_or_else(|| panic!("{}: no RADOS object in {names}", o.key));
            let file = dir.join("rados-object");
            let out = env.rados(&["-p", pool, "get", name, file.to_str().unwrap()]);
            assert!(out.status.success(), "rados get: {}", stderr(&out));
            let mut bytes = std::fs::read(&file).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0xff;
            std::fs::write(&file, &bytes).unwrap();
            let out = env.rados(&["-p", pool, "put", name, file.to_str().unwrap()]);
            assert!(out.status.success(), "rados put: {}", stderr(&out));
            for jobs in ["1", "4"] {
                let what = format!("{} -j {jobs}", o.key);
                let out = s3get(&env, &b, o.key, jobs, &[]);
                let err = stderr(&out);
                assert_eq!(out.status.code(), Some(5), "{what}: {err}");
                let last = err.lines().last().unwrap_or("");
                assert!(last.contains(&o.etag) && last.contains("corrupt"), "{what}: {last}");
                assert!(last.contains("a second read gives the same bytes") && last.contains("damaged at rest"), "{what}: {last}");
                assert!(!last.contains("in transit"), "{what}: {last}");
            }
        }
    }
);

s3_test!(
    only ceph:
    /// SSE-KMS ETags are no MD5 of the bytes (Ceph's test KMS): the length is checked, and said.
    fn sse_kms_objects_are_length_checked(env) {
        let b = env.new_bucket("restore-kms");
        let key = test_var("SLUICE_TEST_CEPH_KMS_KEY").expect("SLUICE_TEST_CEPH_KMS_KEY");
        let data = random_bytes(MULTI, 184);
        let url = format!("s3://{b}/obj");
        s3put(&env, &url, &["--part-size", "5M", "--sse", "aws:kms", "--sse-kms-key-id", &key], &data);
        let out = s3get(&env, &b, "obj", "4", &[]);
        assert!(out.status.success() && out.stdout == data, "{}", stderr(&out));
        let v = json(&out);
        assert_eq!(v["verified"], "length", "{v}");
        assert!(v["how"].as_str().unwrap().contains("SSE-KMS"), "{v}");
    }
);

/// `s3get | rdbcheck > dump.rdb` with a byte flipped that rdbcheck alone cannot see (an RDB
/// without a checksum): s3get exits 5, rdbcheck is told and fails, and dump.rdb is incomplete.
#[test]
fn a_corrupt_restore_through_rdbcheck_fails_both_stages() {
    let env = s3_env();
    let b = env.new_bucket("restore-rdb");
    let dir = TempDir::new("restore-rdb");
    let rdb =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdb/redis-7.4.1-full-nochecksum.rdb"))
            .unwrap();
    // The proxy flips the byte in the middle of the body; rdbcheck accepts that file.
    let mut flipped = rdb.clone();
    flipped[rdb.len() / 2] ^= 0xff;
    let out = run(&mut bare_cmd("rdbcheck"), Some(&flipped));
    assert!(out.status.success() && out.stdout == flipped, "rdbcheck alone: {}", stderr(&out));
    s3put(&env, &format!("s3://{b}/dump.rdb"), &[], &rdb);

    let bins = bin_path("s3get").parent().unwrap().to_path_buf();
    let d = dir.path().display();
    let pipeline = |via: &S3Env| {
        let script = format!(
            "{{ s3get s3://{b}/dump.rdb; echo $? > {d}/rc1; }} | {{ rdbcheck > {d}/dump.rdb; echo $? > {d}/rc2; }}"
        );
        let mut cmd = via.cmd_for_path("sh");
        cmd.env("PATH", format!("{}:/usr/bin:/bin", bins.display())).arg("-c").arg(script);
        let out = run_timeout(&mut cmd, None, Duration::from_secs(60));
        let rc: Vec<i32> = (1..=2)
            .map(|i| std::fs::read_to_string(dir.join(format!("rc{i}"))).unwrap().trim().parse().unwrap())
            .collect();
        (rc, stderr(&out), std::fs::read(dir.join("dump.rdb")).unwrap())
    };
    let (rc, err, file) = pipeline(&env);
    assert_eq!(rc, [0, 0], "{err}");
    assert!(file == rdb, "the clean restore differs");

    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::FlipByteMidResponseBody).method("GET").path_contains("/dump.rdb"));
    let (rc, err, file) = pipeline(&env.with_endpoint(&proxy.endpoint()));
    assert_eq!(proxy.injected(), 1);
    assert_eq!(rc[0], 5, "s3get: {err}");
    assert_ne!(rc[1], 0, "rdbcheck succeeded on a corrupt restore: {err}");
    assert!(err.contains("upstream stage reported a failure"), "rdbcheck was not told: {err}");
    assert!(file.len() < rdb.len(), "dump.rdb looks complete ({} bytes)", file.len());
}
