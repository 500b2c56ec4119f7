//! The certification bundle: what a connector author hands a customer, and how the customer
//! checks it.
//!
//! `ecmacert keygen --out PREFIX` writes an Ed25519 key pair (`PREFIX.key`, PKCS#8, mode 0600;
//! `PREFIX.pub`, the 32-byte public key; both as one line of lower-case hex). `ecmacert certify
//! … --key PREFIX.key --out BUNDLE.tar` runs the certification and writes one tar archive:
//!
//! | file | what |
//! |---|---|
//! | `report.json` | the whole report ([`reports::Report`], schema version 1) |
//! | `junit.xml`, `summary.md`, `summary.txt`, `report.html` | the same run as JUnit, Markdown, terminal text, HTML |
//! | `config.toml` | the run's configuration file as given (it names secrets' sources, never their values), when there was one |
//! | `manifest.json` | [`Manifest`]: versions, toolchain, date, verdict, the suite's file digests, the host's facts, and the SHA-256 of every file above |
//! | `manifest.sig` | the Ed25519 signature of `manifest.json`'s bytes, in hex |
//!
//! `ecmacert verify BUNDLE.tar --key PREFIX.pub` checks, and names the first thing that does not
//! hold: the signature with that key; every file's digest and no file more or less; that the
//! report is a certification that passed; that it ran this suite (the same file digests as the
//! verifying `ecmacert`); and that every MUST scenario of each certified profile is present and
//! passed in both dialects.
//!
//! Written with `ring` (already the workspace's only crypto) and the `tar` crate; the bundle is
//! small (a few MB at most), so it is read whole into memory.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::suite::{Suite, sha256_hex};

/// The bundle format's version, in [`Manifest::bundle_version`].
pub const BUNDLE_VERSION: u32 = 1;

/// What went wrong, in words for the user (exit code 2 for unusable input, 1 for a bundle
/// that does not verify: see [`Verdict`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BundleError(pub String);

fn err(message: impl Into<String>) -> BundleError {
    BundleError(message.into())
}

/// The bundle's table of contents, signed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`BUNDLE_VERSION`].
    pub bundle_version: u32,
    /// The `ecmacert` that made it.
    pub ecmacert: String,
    /// The Rust toolchain it was built with (`rustc --version`).
    pub toolchain: String,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
    /// The run's id.
    pub run_id: String,
    /// The certified profiles.
    pub profiles: Vec<String>,
    /// `pass` or `fail`: the run's verdict.
    pub verdict: String,
    /// What was tested (the host's base URL).
    pub host: String,
    /// The suite's file digests, as in the report.
    pub suite_files: BTreeMap<String, String>,
    /// The host's facts, as in the report.
    pub host_facts: Vec<reports::HostFacts>,
    /// Every other file of the bundle → its SHA-256 (lower-case hex).
    pub files: BTreeMap<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Writes a new key pair: `PREFIX.key` (PKCS#8, hex, mode 0600) and `PREFIX.pub` (hex).
/// Refuses to overwrite either. Returns both paths.
pub fn keygen(prefix: &Path) -> Result<(PathBuf, PathBuf), BundleError> {
    let key = PathBuf::from(format!("{}.key", prefix.display()));
    let public = PathBuf::from(format!("{}.pub", prefix.display()));
    for p in [&key, &public] {
        if p.exists() {
            return Err(err(format!(
                "{} exists; keygen does not overwrite keys",
                p.display()
            )));
        }
    }
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| err("the system's random source failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| err("the generated key does not load"))?;
    if let Some(dir) = key.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    }
    write_private(&key, &format!("{}\n", hex(pkcs8.as_ref())))?;
    std::fs::write(&public, format!("{}\n", hex(pair.public_key().as_ref())))
        .map_err(|e| err(format!("cannot write {}: {e}", public.display())))?;
    Ok((key, public))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<(), BundleError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| err(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| err(format!("cannot write {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<(), BundleError> {
    std::fs::write(path, text).map_err(|e| err(format!("cannot write {}: {e}", path.display())))
}

fn load_pair(path: &Path) -> Result<Ed25519KeyPair, BundleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("--key: cannot read {}: {e}", path.display())))?;
    let bytes = unhex(&text).ok_or_else(|| {
        err(format!(
            "--key: {} is not a key written by ecmacert keygen (hex PKCS#8)",
            path.display()
        ))
    })?;
    Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| {
        err(format!(
            "--key: {} is not an Ed25519 private key (give the .key file of ecmacert keygen)",
            path.display()
        ))
    })
}

fn load_public(path: &Path) -> Result<Vec<u8>, BundleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("--key: cannot read {}: {e}", path.display())))?;
    unhex(&text).filter(|k| k.len() == 32).ok_or_else(|| {
        err(format!(
            "--key: {} is not an Ed25519 public key (give the .pub file of ecmacert keygen)",
            path.display()
        ))
    })
}

/// The toolchain `ecmacert` was built with (set by `build.rs`).
pub fn toolchain() -> &'static str {
    env!("ECMACERT_RUSTC")
}

/// Writes the bundle for `report` to `out` (a tar archive), signed with the private key at
/// `key`. `config` is the configuration file's path, when the run had one. Returns the
/// manifest.
pub fn write(
    out: &Path,
    report: &reports::Report,
    suite: &Suite,
    config: Option<&Path>,
    key: &Path,
) -> Result<Manifest, BundleError> {
    let pair = load_pair(key)?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "report.json".into(),
            serde_json::to_vec_pretty(report).map_err(|e| err(e.to_string()))?,
        ),
        (
            "junit.xml".into(),
            reports::junit::render(report).into_bytes(),
        ),
        (
            "summary.md".into(),
            reports::markdown::render(report).into_bytes(),
        ),
        (
            "summary.txt".into(),
            reports::terminal::render(report).into_bytes(),
        ),
        (
            "report.html".into(),
            reports::html::render(report).into_bytes(),
        ),
    ];
    if let Some(path) = config {
        let text =
            std::fs::read(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        files.push(("config.toml".into(), text));
    }
    let profiles = profiles_of(report);
    for p in &profiles {
        if let Some(text) = suite.vendor_profiles.get(p) {
            files.push((format!("profile-{p}.toml"), text.clone().into_bytes()));
        }
    }
    let manifest = Manifest {
        bundle_version: BUNDLE_VERSION,
        ecmacert: report.suite_version.clone(),
        toolchain: toolchain().to_owned(),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        run_id: report.run_id.clone(),
        profiles,
        verdict: if report.passed() { "pass" } else { "fail" }.into(),
        host: report.host.clone(),
        suite_files: report.suite_files.clone(),
        host_facts: report.host_facts.clone(),
        files: files
            .iter()
            .map(|(name, bytes)| (name.clone(), sha256_hex(bytes)))
            .collect(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| err(e.to_string()))?;
    let signature = pair.sign(&manifest_bytes);
    files.push(("manifest.json".into(), manifest_bytes));
    files.push((
        "manifest.sig".into(),
        format!("{}\n", hex(signature.as_ref())).into_bytes(),
    ));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    }
    let file = std::fs::File::create(out)
        .map_err(|e| err(format!("cannot write {}: {e}", out.display())))?;
    let mut tar = tar::Builder::new(file);
    for (name, bytes) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice())
            .map_err(|e| err(format!("cannot write {}: {e}", out.display())))?;
    }
    tar.finish()
        .map_err(|e| err(format!("cannot write {}: {e}", out.display())))?;
    Ok(manifest)
}

/// What `verify` found: `Ok` with the manifest when everything holds, else the first thing
/// that does not (exit 1).
pub type Verdict = Result<Manifest, String>;

/// The report's profiles, each once, in run order.
fn profiles_of(report: &reports::Report) -> Vec<String> {
    let mut profiles: Vec<String> = Vec::new();
    for r in &report.runs {
        if !profiles.contains(&r.profile) {
            profiles.push(r.profile.clone());
        }
    }
    profiles
}

/// The names a bundle's files may have.
fn allowed(name: &str) -> bool {
    matches!(
        name,
        "report.json"
            | "junit.xml"
            | "summary.md"
            | "summary.txt"
            | "report.html"
            | "config.toml"
            | "manifest.json"
            | "manifest.sig"
    ) || (name.starts_with("profile-") && name.ends_with(".toml") && !name.contains('/'))
}

/// Reads a bundle: file name → bytes. Errors: not a tar archive, a name given twice, a file
/// in a directory.
fn read_bundle(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let file = std::fs::File::open(path)
        .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    let mut archive = tar::Archive::new(file);
    let mut files = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| err(format!("{} is not a bundle (tar): {e}", path.display())))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| err(format!("{} is not a bundle (tar): {e}", path.display())))?;
        if !entry.header().entry_type().is_file() {
            return Err(err(format!(
                "{}: holds something other than plain files; not a bundle ecmacert wrote",
                path.display()
            )));
        }
        let name = entry
            .path()
            .map_err(|e| err(format!("{}: {e}", path.display())))?
            .display()
            .to_string();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| err(format!("{}: {name}: {e}", path.display())))?;
        if !allowed(&name) || files.insert(name.clone(), bytes).is_some() {
            return Err(err(format!(
                "{}: {name:?} is not a file a bundle holds once",
                path.display()
            )));
        }
    }
    if files.is_empty() {
        return Err(err(format!(
            "{} is not a bundle (a tar archive of ecmacert certify --out)",
            path.display()
        )));
    }
    Ok(files)
}

/// Verifies the bundle at `bundle` with the public key at `key` against `suite` (see the module
/// doc). `Err` for unusable input (no such file, not a key): exit 2; `Ok(verdict)` otherwise.
pub fn verify(bundle: &Path, key: &Path, suite: &Suite) -> Result<Verdict, BundleError> {
    let public = load_public(key)?;
    let files = read_bundle(bundle)?;
    Ok(check(&files, &public, suite))
}

fn check(files: &BTreeMap<String, Vec<u8>>, public: &[u8], suite: &Suite) -> Verdict {
    let manifest_bytes = files
        .get("manifest.json")
        .ok_or("the bundle has no manifest.json")?;
    let signature = files
        .get("manifest.sig")
        .and_then(|s| unhex(&String::from_utf8_lossy(s)))
        .ok_or("the bundle has no readable manifest.sig")?;
    UnparsedPublicKey::new(&ED25519, public)
        .verify(manifest_bytes, &signature)
        .map_err(|_| {
            "the signature does not match: the manifest was changed, or signed with another key"
                .to_owned()
        })?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| format!("manifest.json cannot be read: {e}"))?;
    if manifest.bundle_version != BUNDLE_VERSION {
        return Err(format!(
            "bundle version {} (this ecmacert reads {BUNDLE_VERSION})",
            manifest.bundle_version
        ));
    }
    for (name, digest) in &manifest.files {
        let bytes = files
            .get(name)
            .ok_or_else(|| format!("{name} is listed in the manifest and missing"))?;
        if sha256_hex(bytes) != *digest {
            return Err(format!(
                "{name} was changed after it was signed (SHA-256 differs)"
            ));
        }
    }
    if let Some(extra) = files
        .keys()
        .find(|n| !manifest.files.contains_key(*n) && *n != "manifest.json" && *n != "manifest.sig")
    {
        return Err(format!("{extra} is in the bundle but not in its manifest"));
    }
    let report: reports::Report = files
        .get("report.json")
        .ok_or("the bundle has no report.json")
        .and_then(|b| serde_json::from_slice(b).map_err(|_| "report.json cannot be read"))
        .map_err(str::to_owned)?;
    // The manifest says what the report says.
    let profiles = profiles_of(&report);
    if profiles.is_empty() || manifest.profiles != profiles {
        return Err(format!(
            "the manifest names profiles {:?}, the report ran {profiles:?}",
            manifest.profiles
        ));
    }
    if (
        &manifest.run_id,
        &manifest.host,
        &manifest.suite_files,
        &manifest.host_facts,
    ) != (
        &report.run_id,
        &report.host,
        &report.suite_files,
        &report.host_facts,
    ) || manifest.verdict != if report.passed() { "pass" } else { "fail" }
    {
        return Err("the manifest and the report describe different runs".into());
    }
    if !report.certification {
        return Err("the report is not a certification run (ecmacert certify)".into());
    }
    if report.plaintext {
        return Err("the host was reached over plain HTTP; Entra speaks only HTTPS".into());
    }
    if !report.passed() {
        return Err(format!(
            "the certification failed: {}",
            report.counts().line()
        ));
    }
    // The vendor's profiles the bundle carries (their digests were checked above) join this
    // suite as they joined the certifying run's.
    let mut suite = suite.clone();
    for (name, bytes) in files {
        if name.starts_with("profile-") {
            let text = String::from_utf8(bytes.clone())
                .map_err(|_| format!("{name} is not UTF-8 text"))?;
            suite
                .add_profile_text(Path::new(name), &text)
                .map_err(|e| format!("{name}: {e}"))?;
        }
    }
    let vendor = |k: &String| k.starts_with("vendor profile ");
    let differ: Vec<&String> = suite
        .digests
        .keys()
        .chain(report.suite_files.keys().filter(|k| !vendor(k)))
        .filter(|k| suite.digests.get(*k) != report.suite_files.get(*k))
        .collect();
    if !differ.is_empty() {
        return Err(format!(
            "the bundle ran another suite than this ecmacert {} ({} file(s) differ, e.g. {}): \
             verify it with the ecmacert it names ({})",
            env!("CARGO_PKG_VERSION"),
            differ.len(),
            differ.first().map_or("", |s| s.as_str()),
            manifest.ecmacert
        ));
    }
    // Every MUST scenario a certification of the profile must check, present and passed in
    // both dialects: the plan with everything a run can provide (a certification is refused
    // when its run lacks any of it for a MUST).
    let provided: std::collections::BTreeSet<Capability> = Capability::ALL
        .into_iter()
        .filter(|c| c.is_run_provided())
        .collect();
    for profile in &manifest.profiles {
        if !suite.profiles.contains_key(profile) {
            return Err(format!("profile {profile} is not in this suite"));
        }
        for dialect in scim_proto::Dialect::ALL {
            let run = report
                .runs
                .iter()
                .find(|r| r.profile == *profile && r.dialect == dialect.name())
                .ok_or_else(|| format!("{profile} was not run in {}", dialect.name()))?;
            for (s, skip) in crate::runner::plan(&suite, profile, None, &provided) {
                if skip.is_some() || s.level != reports::Level::Must {
                    continue;
                }
                // Passed, or passed with a SHOULD check's warning.
                let passed = run.cases.iter().any(|c| {
                    c.key() == s.key()
                        && matches!(
                            c.outcome,
                            reports::Outcome::Passed | reports::Outcome::Warned
                        )
                });
                if !passed {
                    return Err(format!(
                        "MUST scenario {} {:?} is missing or did not pass under {profile} · {}",
                        s.key(),
                        s.name,
                        dialect.name()
                    ));
                }
            }
        }
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vendor's profile: the shipped inetOrgPerson one under another name, as a connector
    /// author would start theirs.
    fn vendor_text() -> String {
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../features/profiles/openldap-inetorgperson.toml"),
        )
        .unwrap();
        let text = shipped.replace(
            "name = \"openldap-inetorgperson\"",
            "name = \"acme-directory\"",
        );
        assert_ne!(text, shipped);
        text
    }

    /// A certification report of `profile` in which every scenario the plan runs passed. The
    /// outcomes are made up (a configured certification needs fault injection in front of a
    /// real directory, issue 13's proxy); what is tested is the bundle: that the profile it
    /// carries joins the verifying suite, and what happens when it is changed or missing.
    fn certified(suite: &Suite, profile: &str) -> reports::Report {
        let provided: std::collections::BTreeSet<Capability> = Capability::ALL
            .into_iter()
            .filter(|c| c.is_run_provided())
            .collect();
        let runs = scim_proto::Dialect::ALL
            .into_iter()
            .map(|dialect| {
                let cases: Vec<reports::Case> =
                    crate::runner::plan(suite, profile, None, &provided)
                        .into_iter()
                        .map(|(s, skip)| {
                            let outcome = match skip {
                                Some(_) => reports::Outcome::NotApplicable,
                                None => reports::Outcome::Passed,
                            };
                            crate::runner::case(&s, outcome, None, 1)
                        })
                        .collect();
                reports::ProfileRun {
                    profile: profile.into(),
                    dialect: dialect.name().into(),
                    planned: cases
                        .iter()
                        .filter(|c| c.outcome.ran())
                        .map(reports::Case::key)
                        .collect(),
                    cases,
                }
            })
            .collect();
        reports::Report {
            schema_version: reports::SCHEMA_VERSION,
            suite_version: env!("CARGO_PKG_VERSION").into(),
            run_id: "r-vendor".into(),
            host: "https://host.example:8585/ecma2host_acme/scim".into(),
            duration_ms: 1,
            runs,
            leftovers: Vec::new(),
            strict: false,
            certification: true,
            plaintext: false,
            expected_failures: None,
            host_log: None,
            notes: Vec::new(),
            dialects_compared: None,
            suite_files: suite.digests.clone(),
            host_facts: Vec::new(),
            shard: None,
        }
    }

    /// Rewrites `bundle` with `change` applied to its files, re-signed with `key` (as a
    /// dishonest signer holding the key could), so that only the content checks can catch it.
    fn resigned(
        bundle: &Path,
        key: &Path,
        change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>),
    ) -> PathBuf {
        let mut files = read_bundle(bundle).unwrap();
        change(&mut files);
        let mut manifest: Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
        manifest.files = files
            .iter()
            .filter(|(n, _)| *n != "manifest.json" && *n != "manifest.sig")
            .map(|(n, b)| (n.clone(), sha256_hex(b)))
            .collect();
        let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
        let signature = load_pair(key).unwrap().sign(&bytes);
        files.insert("manifest.json".into(), bytes);
        files.insert(
            "manifest.sig".into(),
            format!("{}\n", hex(signature.as_ref())).into_bytes(),
        );
        let out = bundle.with_extension("changed.tar");
        let mut tar = tar::Builder::new(std::fs::File::create(&out).unwrap());
        for (name, bytes) in &files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, bytes.as_slice())
                .unwrap();
        }
        tar.finish().unwrap();
        out
    }

    #[test]
    fn a_bundle_carries_the_vendor_profile_it_was_certified_under() {
        let dir = tempfile::tempdir().unwrap();
        let (key, public) = keygen(&dir.path().join("signer")).unwrap();
        let mut certifying = Suite::embedded().unwrap();
        certifying
            .add_profile_text(Path::new("acme-directory.toml"), &vendor_text())
            .unwrap();
        let report = certified(&certifying, "acme-directory");
        assert!(report.passed(), "{}", report.counts().line());
        let bundle = dir.path().join("acme.tar");
        write(&bundle, &report, &certifying, None, &key).unwrap();
        assert!(
            read_bundle(&bundle)
                .unwrap()
                .contains_key("profile-acme-directory.toml")
        );

        // Verified by a suite that has never seen the vendor's profile: the bundle's copy
        // joins it, and every MUST scenario of that profile is found passed.
        let verifying = Suite::embedded().unwrap();
        assert!(!verifying.profiles.contains_key("acme-directory"));
        let manifest = verify(&bundle, &public, &verifying).unwrap().unwrap();
        assert_eq!(manifest.profiles, ["acme-directory"]);

        // The profile changed after the run (one more capability would plan other scenarios)
        // and the bundle re-signed: its digest no longer matches the one the run recorded.
        let changed = resigned(&bundle, &key, |files| {
            let text = String::from_utf8(files["profile-acme-directory.toml"].clone()).unwrap();
            let text = text.replace(
                "description = \"",
                "description = \"changed after the run: ",
            );
            files.insert("profile-acme-directory.toml".into(), text.into_bytes());
        });
        let why = verify(&changed, &public, &verifying).unwrap().unwrap_err();
        assert!(why.contains("ran another suite"), "{why}");
        assert!(why.contains("vendor profile acme-directory"), "{why}");

        // The profile left out (and the manifest re-signed without it): the verifying suite
        // does not know the profile the report names.
        let missing = resigned(&bundle, &key, |files| {
            files.remove("profile-acme-directory.toml");
        });
        let why = verify(&missing, &public, &verifying).unwrap().unwrap_err();
        assert_eq!(why, "profile acme-directory is not in this suite");

        // A MUST scenario of the vendor's profile missing from the report.
        let mut short = report.clone();
        let at = short.runs[1]
            .cases
            .iter()
            .position(|c| c.level == reports::Level::Must && c.outcome == reports::Outcome::Passed)
            .unwrap();
        let removed = short.runs[1].cases.remove(at);
        short.runs[1].planned.retain(|k| *k != removed.key());
        let short_bundle = dir.path().join("short.tar");
        write(&short_bundle, &short, &certifying, None, &key).unwrap();
        let why = verify(&short_bundle, &public, &verifying)
            .unwrap()
            .unwrap_err();
        assert!(
            why.contains(&format!("MUST scenario {} ", removed.key()))
                && why.contains("acme-directory · entra-scim2020"),
            "{why}"
        );
    }
}
