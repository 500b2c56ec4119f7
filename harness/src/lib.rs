//! ecmacert: the conformance suite for ECMA hosts.
//!
//! It plays the Microsoft Entra provisioning service against a host ([`provisioning`]), in both
//! PATCH dialects, and checks three points in every scenario: the request it sent, the host's
//! answer, and the target's own state read directly through the probe ([`probe`]) — including
//! that nothing changed when the host answered with an error.
//!
//! The suite is Gherkin (`features/`, embedded at build time; [`suite`]), written in logical
//! attributes that a [`profile`] maps onto a target. [`runner`] runs it through cucumber per
//! profile × dialect and turns every scenario into an outcome in a [`reports::Report`];
//! [`differential`] then holds the two dialects of a profile to the same end states.
//!
//! With no configuration, [`embedded`] runs everything in-process: the reference host on mock
//! directories (`mock-targets`), fault-injection scenarios included.
//!
//! [`bundle`] writes and verifies signed certification bundles; [`provision`] provisions one
//! Entra user on demand through a host, computed from Entra's own attribute mappings.

pub mod bundle;
pub mod capability;
pub mod checks;
pub mod config;
pub mod container;
pub mod corpus;
pub mod coverage;
pub mod cycle;
pub mod differential;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod expected;
pub mod fault_proxy;
pub mod faults;
pub mod host;
pub mod load;
pub mod probe;
pub mod profile;
pub mod provision;
pub mod provisioning;
pub mod runner;
#[cfg(feature = "embedded")]
pub mod selftest;
pub mod steps;
pub mod suite;
pub mod world;

#[cfg(test)]
mod tests {
    /// The probe, the steps and the checks are the independent witness: they must not use the
    /// reference host (the host they judge) or the mock crate. Only the embedded default
    /// (`embedded.rs`) builds on them, `main.rs` for its `mock-ldap` command, and
    /// `fault_proxy.rs`, which puts the mock's faults in front of a real target: it makes
    /// faults happen, the probe still reads the target itself.
    #[test]
    fn only_the_embedded_default_uses_the_reference_host_and_the_mocks() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        assert!(files.len() > 10, "{files:?}");
        let mut offenders = Vec::new();
        for file in files {
            let name = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if ["embedded.rs", "main.rs", "lib.rs", "fault_proxy.rs"].contains(&name.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.contains("reference_host") || line.contains("mock_targets") {
                    offenders.push(format!("{name}:{}: {}", i + 1, line.trim()));
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:#?}");
    }
}
