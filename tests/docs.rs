//! Man pages and shell completions: generated from the clap definitions and the registry in
//! `sluice::cli::doc`, committed under `man/` and `completions/`.
//!
//! `cargo test --test docs` fails when regenerating would change a committed file (run
//! `make docs`, which is `SLUICE_REGENERATE=1 cargo test --test docs`), checks every page with
//! `groff -man -ww -z` and every completion with `bash -n`, `zsh -n` and `fish -n`, and completes
//! a flag with the bash completion loaded. groff, zsh and fish come from scripts/install-test-deps.

use clap_complete::Shell;
use sluice::cli::doc::{self, Block, Page, Scope};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const MANUAL: &str = "sluice manual";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- roff ------------------------------------------------------------------------------------

/// Escapes text for a roff text line: backslashes, hyphens (as the minus sign, so flags can be
/// searched and copied), and a leading control character.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if out.starts_with(['.', '\'']) {
        out.insert_str(0, "\\&");
    }
    out
}

/// Like `esc`, and `code` in backquotes becomes bold.
fn esc_inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            write!(out, "\\fB{}\\fR", esc(part).trim_start_matches("\\&")).unwrap();
        } else {
            out.push_str(&esc(part));
        }
    }
    if out.starts_with(['.', '\'']) {
        out.insert_str(0, "\\&");
    }
    out
}

fn sh(out: &mut String, title: &str) {
    writeln!(out, ".SH \"{title}\"").unwrap();
}

fn para(out: &mut String, text: &str) {
    writeln!(out, ".PP\n{}", esc_inline(text)).unwrap();
}

fn item(out: &mut String, term: &str, text: &str) {
    writeln!(out, ".TP\n.B {}\n{}", esc(term), esc_inline(text)).unwrap();
}

fn code<'a>(out: &mut String, lines: impl IntoIterator<Item = &'a str>) {
    out.push_str(".PP\n.RS 4\n.nf\n");
    for l in lines {
        writeln!(out, "{}", esc(l)).unwrap();
    }
    out.push_str(".fi\n.RE\n");
}

fn blocks(out: &mut String, bs: &[Block]) {
    for b in bs {
        match *b {
            Block::P(t) => para(out, t),
            Block::Item(term, t) => item(out, term, t),
            Block::Code(t) => code(out, t.lines()),
        }
    }
}

/// Help-formatted text (paragraphs separated by blank lines): a paragraph whose first line is
/// indented is preformatted, the others are filled.
fn help_text(out: &mut String, text: &str) {
    for p in text.split("\n\n").map(|p| p.trim_matches('\n')).filter(|p| !p.trim().is_empty()) {
        if p.starts_with(' ') || p.lines().skip(1).all(|l| l.starts_with("  ")) && p.lines().count() > 1 {
            // A lead-in line followed by an indented table or list: text, then the block.
            let mut lines = p.lines().peekable();
            if !p.starts_with(' ') {
                para(out, lines.next().unwrap());
            }
            let rest: Vec<&str> = lines.collect();
            let indent = rest.iter().map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
            code(out, rest.iter().map(|l| &l[indent..]));
        } else {
            para(out, &p.lines().map(str::trim).collect::<Vec<_>>().join(" "));
        }
    }
}

fn see_also(out: &mut String, refs: &[String]) {
    sh(out, "SEE ALSO");
    let n = refs.len();
    for (i, r) in refs.iter().enumerate() {
        let (name, sec) = r.split_once('(').expect("name(section)");
        let sep = if i + 1 < n { "," } else { "" };
        writeln!(out, ".BR {} ({}{}", esc(name), sec, sep).unwrap();
    }
}

fn environment(out: &mut String, scopes: &[Scope]) {
    let vars: Vec<_> = doc::environment(scopes).collect();
    if vars.is_empty() {
        return;
    }
    sh(out, "ENVIRONMENT");
    for v in vars {
        item(out, v.name, v.text);
    }
}

fn files(out: &mut String, scopes: &[Scope]) {
    if !scopes.contains(&Scope::S3) {
        return;
    }
    sh(out, "FILES");
    for (f, t) in doc::FILES_S3 {
        item(out, f, t);
    }
    para(out, "Profile keys:");
    for (k, t) in doc::PROFILE_KEYS {
        item(out, k, t);
    }
}

fn exit_status(out: &mut String) {
    sh(out, "EXIT STATUS");
    for (code, what) in doc::exit_statuses() {
        item(out, &code, what);
    }
}

fn pipeline_safety(out: &mut String) {
    sh(out, "PIPELINE SAFETY");
    blocks(out, doc::PIPELINE_SAFETY);
}

/// The OPTIONS section from clap_mangen, with clap's help headings as subsections.
fn options(cmd: &clap::Command) -> String {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_options_section(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some("OPTIONS") | Some("\"OPTIONS\"") => out.push_str(".SH OPTIONS\n"),
            Some(h) => {
                let h = h.trim_matches('"');
                let heading = cmd
                    .get_arguments()
                    .filter_map(|a| a.get_help_heading())
                    .find(|x| x.to_uppercase() == h)
                    .unwrap_or(h);
                writeln!(out, ".SS \"{heading}\"").unwrap();
            }
            None => writeln!(out, "{line}").unwrap(),
        }
    }
    out
}

fn title(out: &mut String, name: &str, section: u8) {
    writeln!(out, ".\\\" Generated by tests/docs.rs from lib/cli; edit those, then run `make docs`.").unwrap();
    writeln!(out, ".TH {} {section} \"\" \"sluice {VERSION}\" \"{MANUAL}\"", name.to_uppercase()).unwrap();
    // No hyphenation: it would split variable names and flags (AWS_END-POINT_URL).
    out.push_str(".nh\n");
}

/// Every other sluice page, then the page's external references.
fn references(me: &str, external: &[&str]) -> Vec<String> {
    let mut refs = Vec::new();
    if me != "sluice" {
        refs.push("sluice(7)".to_string());
    }
    refs.extend(doc::pages().iter().filter(|p| p.name != me).map(|p| format!("{}(1)", p.name)));
    refs.extend(external.iter().map(|s| s.to_string()));
    refs
}

fn binary_page(p: &Page) -> String {
    let mut cmd = (p.command)();
    cmd.build();
    let mut out = String::new();
    title(&mut out, p.name, 1);
    sh(&mut out, "NAME");
    writeln!(out, "{} \\- {}", esc(p.name), esc(&cmd.get_about().expect("about").to_string())).unwrap();

    sh(&mut out, "SYNOPSIS");
    let usage = cmd.render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    let rest = usage.strip_prefix(p.name).expect("usage starts with the name").trim();
    writeln!(out, ".B {}\n{}", esc(p.name), esc(rest)).unwrap();

    sh(&mut out, "DESCRIPTION");
    let long = cmd.get_long_about().or(cmd.get_about()).expect("about").to_string();
    help_text(&mut out, &long);

    out.push_str(&options(&cmd));

    let mut extra = doc::parse_sections(p.sections);
    let mut replaced = |title: &str, out: &mut String| -> bool {
        let Some(i) = extra.iter().position(|(t, _)| t == title) else { return false };
        let (t, paras) = extra.remove(i);
        extra_section(out, &t, &paras);
        true
    };
    // Extra sections that replace no standard one come right after OPTIONS.
    let standard = ["ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "PIPELINE SAFETY"];
    for (t, paras) in doc::parse_sections(p.sections) {
        if !standard.contains(&t.as_str()) {
            extra_section(&mut out, &t, &paras);
        }
    }
    if !replaced("ENVIRONMENT", &mut out) {
        environment(&mut out, p.env);
    }
    if !replaced("FILES", &mut out) {
        files(&mut out, p.env);
    }
    if !replaced("EXIT STATUS", &mut out) {
        exit_status(&mut out);
    }
    if !replaced("EXAMPLES", &mut out) {
        sh(&mut out, "EXAMPLES");
        code(&mut out, doc::example_lines(p.examples));
    }
    if !replaced("PIPELINE SAFETY", &mut out) {
        pipeline_safety(&mut out);
    }
    see_also(&mut out, &references(p.name, p.see_also));
    out
}

fn extra_section(out: &mut String, title: &str, paras: &[Vec<String>]) {
    sh(out, title);
    for p in paras {
        if p.len() > 1 {
            code(out, p.iter().map(String::as_str));
        } else {
            para(out, &p[0]);
        }
    }
}

fn sluice7() -> String {
    let mut out = String::new();
    title(&mut out, "sluice", 7);
    sh(&mut out, "NAME");
    writeln!(out, "sluice \\- {}", esc(env!("CARGO_PKG_DESCRIPTION"))).unwrap();
    for s in doc::SLUICE7_SECTIONS {
        sh(&mut out, s.title);
        if s.title == "CONFIGURATION" {
            // The credential chain goes right after the section's first paragraph.
            blocks(&mut out, &s.blocks[..1]);
            for (i, (source, text)) in doc::CREDENTIAL_CHAIN.iter().enumerate() {
                item(&mut out, &format!("{}. {source}", i + 1), text);
            }
            for note in doc::CREDENTIAL_NOTES {
                para(&mut out, note);
            }
            blocks(&mut out, &s.blocks[1..]);
            continue;
        }
        blocks(&mut out, s.blocks);
        if s.title == "DESCRIPTION" {
            for (tool, what) in doc::TOOLS {
                out.push_str(".TP\n");
                match doc::pages().iter().find(|p| p.name == *tool) {
                    Some(p) => {
                        let about = (p.command)().get_about().expect("about").to_string();
                        writeln!(out, ".BR {} (1)\n{}", esc(tool), esc(&about)).unwrap();
                    }
                    None => writeln!(out, ".B {}\n{}", esc(tool), esc(what)).unwrap(),
                }
            }
        }
    }
    environment(&mut out, &[Scope::S3, Scope::Encryption, Scope::Swift, Scope::Pipeline, Scope::Reporting]);
    files(&mut out, &[Scope::S3]);
    exit_status(&mut out);
    pipeline_safety(&mut out);
    sh(&mut out, "EXAMPLES");
    for (what, cmd) in doc::PIPELINES {
        para(&mut out, what);
        code(&mut out, [*cmd]);
    }
    see_also(&mut out, &references("sluice", &["aws(1)", "swift(1)", "redis-cli(1)"]));
    out
}

fn completion(p: &Page, shell: Shell) -> String {
    let mut cmd = (p.command)();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, p.name, &mut buf);
    String::from_utf8(buf).expect("utf-8 completion")
}

/// The README's credential list, between its markers, from the same text as sluice(7).
const README_BEGIN: &str = "<!-- credentials: generated from lib/cli/doc.rs by `make docs` -->\n";
const README_END: &str = "<!-- end of credentials -->\n";

fn readme_with_credentials() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let (Some(b), Some(e)) = (readme.find(README_BEGIN), readme.find(README_END)) else {
        panic!("README.md lacks the credentials markers {README_BEGIN:?} and {README_END:?}")
    };
    let mut list = String::new();
    for (i, (source, text)) in doc::CREDENTIAL_CHAIN.iter().enumerate() {
        writeln!(list, "{}. **{source}**: {text}", i + 1).unwrap();
    }
    for note in doc::CREDENTIAL_NOTES {
        writeln!(list, "\n{note}").unwrap();
    }
    format!("{}{README_BEGIN}{list}{}", &readme[..b], &readme[e..])
}

/// Every generated file, by path relative to the repository.
fn generated() -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    files.insert(PathBuf::from("README.md"), readme_with_credentials());
    files.insert(PathBuf::from("man/sluice.7"), sluice7());
    for p in doc::pages() {
        files.insert(PathBuf::from(format!("man/{}.1", p.name)), binary_page(p));
        files.insert(PathBuf::from(format!("completions/bash/{}", p.name)), completion(p, Shell::Bash));
        files.insert(PathBuf::from(format!("completions/zsh/_{}", p.name)), completion(p, Shell::Zsh));
        files.insert(PathBuf::from(format!("completions/fish/{}.fish", p.name)), completion(p, Shell::Fish));
    }
    files
}

fn committed(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root().join(dir)) else { return out };
    for e in rd.flatten() {
        let rel = dir.join(e.file_name());
        if e.path().is_dir() {
            out.extend(committed(&rel));
        } else {
            out.push(rel);
        }
    }
    out
}

// ---- tests -----------------------------------------------------------------------------------

#[test]
fn committed_docs_are_fresh() {
    let want = generated();
    let regenerate = std::env::var_os("SLUICE_REGENERATE").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for (rel, text) in &want {
        let path = root().join(rel);
        match std::fs::read_to_string(&path) {
            Ok(have) if have == *text => {}
            have => {
                if regenerate {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, text).unwrap();
                    eprintln!("docs: wrote {}", rel.display());
                } else if have.is_err() {
                    problems.push(format!("{} is missing", rel.display()));
                } else {
                    problems.push(format!("{} is out of date", rel.display()));
                }
            }
        }
    }
    for rel in committed(Path::new("man")).into_iter().chain(committed(Path::new("completions"))) {
        if !want.contains_key(&rel) {
            if regenerate {
                std::fs::remove_file(root().join(&rel)).unwrap();
                eprintln!("docs: removed {}", rel.display());
            } else {
                problems.push(format!("{} is not generated by any page in lib/cli/doc.rs", rel.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}\nrun `make docs` and commit the result", problems.join("\n"));
}

fn need(tool: &str) {
    let found =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file())).unwrap_or(false);
    assert!(found, "{tool} is not installed: run scripts/install-test-deps");
}

fn run_ok(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{o}{e}", out.status);
    (o, e)
}

/// Checks the generated text, not the committed files, so this test is independent of the
/// freshness one.
fn write_generated() -> tempdir::Dir {
    let dir = tempdir::Dir::new("docs");
    for (rel, text) in generated() {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn man_pages_have_no_groff_warnings() {
    need("groff");
    let dir = write_generated();
    for (rel, _) in generated().iter().filter(|(r, _)| r.starts_with("man")) {
        let (o, e) = run_ok(Command::new("groff").args(["-man", "-ww", "-z"]).arg(dir.path().join(rel)));
        assert!(o.is_empty() && e.is_empty(), "groff -man -ww -z {}:\n{o}{e}", rel.display());
    }
}

#[test]
fn man_pages_have_the_sections() {
    let files = generated();
    for p in doc::pages() {
        let page = &files[&PathBuf::from(format!("man/{}.1", p.name))];
        let mut last = 0;
        for s in
            ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "PIPELINE SAFETY", "SEE ALSO"]
        {
            let at = page
                .find(&format!(".SH \"{s}\"\n"))
                .or_else(|| page.find(&format!(".SH {s}\n")))
                .unwrap_or_else(|| panic!("{}.1 has no {s} section", p.name));
            assert!(at >= last, "{}.1: {s} is out of order", p.name);
            last = at;
        }
        // Every long flag of --help is documented.
        for a in (p.command)().get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(l) = a.get_long() {
                assert!(page.contains(&format!("\\-\\-{}", l.replace('-', "\\-"))), "{}.1 lacks --{l}", p.name);
            }
        }
    }
    let s7 = &files[&PathBuf::from("man/sluice.7")];
    for v in doc::ENVIRONMENT {
        assert!(s7.contains(&esc(v.name)), "sluice.7 lacks {}", v.name);
    }
}

#[test]
fn completions_parse_in_their_shells() {
    need("bash");
    need("zsh");
    need("fish");
    let dir = write_generated();
    for p in doc::pages() {
        let d = dir.path();
        run_ok(Command::new("bash").arg("-n").arg(d.join(format!("completions/bash/{}", p.name))));
        run_ok(Command::new("zsh").arg("-n").arg(d.join(format!("completions/zsh/_{}", p.name))));
        run_ok(Command::new("fish").arg("-n").arg(d.join(format!("completions/fish/{}.fish", p.name))));
    }
}

/// Loads the bash completion the way bash-completion would and completes `s3put --part-s`.
#[test]
fn bash_completion_completes_a_flag() {
    need("bash");
    let dir = write_generated();
    let script = r#"
        source "$1"
        spec=$(complete -p s3put) || exit 3
        fn=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
        COMP_WORDS=(s3put --part-s); COMP_CWORD=1; COMP_LINE='s3put --part-s'; COMP_POINT=${#COMP_LINE}
        "$fn" s3put --part-s s3put
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let (o, _) = run_ok(
        Command::new("bash")
            .args(["--norc", "--noprofile", "-c", script, "bash"])
            .arg(dir.path().join("completions/bash/s3put")),
    );
    let got: Vec<&str> = o.lines().map(str::trim).collect();
    assert_eq!(got, ["--part-size"], "completing `s3put --part-s`");
}

#[test]
fn readme_covers_the_configuration() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for v in doc::ENVIRONMENT {
        assert!(readme.contains(v.name), "README.md does not mention {}", v.name);
    }
    for (k, _) in doc::PROFILE_KEYS {
        let k = k.rsplit("/ ").next().unwrap();
        assert!(readme.contains(k), "README.md does not mention the profile key {k}");
    }
    for (code, _) in doc::exit_statuses() {
        assert!(readme.contains(&format!("| {code} ")), "README.md's exit status table lacks {code}");
    }
    for (_, cmd) in doc::PIPELINES {
        assert!(readme.contains(cmd), "README.md lacks the pipeline {cmd}");
    }
    assert!(readme.contains("BENCHMARKS.md"), "README.md does not link BENCHMARKS.md");
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory under target/ removed on drop (no extra dependency for one temp dir).
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let base = option_env!("CARGO_TARGET_TMPDIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
            let p = base.join(format!("sluice-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Every page's binary is installed by the Makefile and built by Cargo.toml, so registering a
/// page without the binary (or the reverse) is caught here, not by a user's `make install`.
#[test]
fn pages_binaries_and_makefile_agree() {
    let makefile = std::fs::read_to_string(root().join("Makefile")).expect("Makefile");
    let bins: Vec<&str> = makefile
        .lines()
        .find_map(|l| l.strip_prefix("BINS = "))
        .expect("a `BINS = ...` line in the Makefile")
        .split_whitespace()
        .collect();
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let cargo_bins: Vec<&str> = cargo
        .split("[[bin]]")
        .skip(1)
        .filter_map(|s| s.lines().find_map(|l| l.trim().strip_prefix("name = ")))
        .map(|n| n.trim_matches('"'))
        .collect();
    for b in &bins {
        assert!(cargo_bins.contains(b), "Makefile BINS has {b}, which Cargo.toml does not build");
    }
    for b in &cargo_bins {
        assert!(bins.contains(b), "Cargo.toml builds {b}, which the Makefile's BINS does not install");
    }
    for p in doc::pages() {
        assert!(bins.contains(&p.name), "{} has a page but is not in the Makefile's BINS", p.name);
    }
}
