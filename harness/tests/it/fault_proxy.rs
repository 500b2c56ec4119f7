//! The fault scenarios for any host: ecmacert's fault proxy (`target.fault_proxy`) between a
//! host and its real target makes them applicable where no mock is in play — the reference host
//! started as an external process on a real slapd passes them, a host that answers 201 when the
//! directory refused fails them; on PostgreSQL and MariaDB the TCP proxy's connection faults
//! apply.

use reports::{Outcome, Report};

use crate::slapd::slapd;
use crate::support::{
    TOKEN, add_container, assert_passed, free_port, said, start_behind_proxy, write_harness_config,
};

/// Every scenario a fault proxy makes applicable.
const FAULTS: &str = "@requires:fault-injection or @requires:connection-faults";

fn options(profile: &str) -> harness::runner::RunOptions {
    harness::runner::RunOptions {
        profiles: vec![profile.to_owned()],
        dialects: vec![scim_proto::Dialect::EntraDefault],
        tags: Some(FAULTS.into()),
        ..harness::runner::RunOptions::default()
    }
}

/// The fault scenarios that ran, by outcome.
fn outcomes(report: &Report) -> Vec<(Outcome, String)> {
    report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .map(|c| (c.outcome, format!("{}: {}", c.feature, c.scenario)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_scenarios_pass_through_the_proxy_for_the_reference_host_run_as_a_command() {
    let slapd = slapd().await;
    let bin = tokio::task::spawn_blocking(crate::cli::ecma_host_binary)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    reference_host::cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let (port, proxy) = (free_port(), free_port());
    let container = format!("ou=proxied-{},dc=contoso,dc=lab", std::process::id());
    // The host's configuration: the example, pointed at the proxy instead of slapd, with a
    // connector timeout the slow-directory scenarios can see.
    let host_config = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/ecma-host-openldap.toml"),
    )
    .unwrap()
    .replace(
        "listen = \"127.0.0.1:8585\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    )
    .replace(
        "url = \"ldap://127.0.0.1:3890\"",
        &format!("url = \"ldap://127.0.0.1:{proxy}\""),
    )
    .replace("# timeout_seconds = 30", "timeout_seconds = 1")
    .replace(
        "base_dn = \"dc=contoso,dc=lab\"",
        &format!("base_dn = \"{container}\""),
    )
    .replace(
        "token = { env = \"ECMA_HOST_TOKEN\" }",
        "token = { file = \"token\" }",
    )
    .replace(
        "bind_password = { env = \"LDAP_BIND_PASSWORD\" }",
        "bind_password = { file = \"ldap-password\" }",
    );
    assert!(host_config.contains("timeout_seconds = 1"), "{host_config}");
    std::fs::write(dir.path().join("ecma-host.toml"), host_config).unwrap();
    let path = write_harness_config(
        dir.path(),
        slapd,
        "openldap-inetorgperson",
        &format!("https://localhost:{port}"),
        TOKEN,
        &container,
    );
    add_container(slapd, &container).await;
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[target]",
        &format!(
            "command = [{:?}, \"--config\", \"ecma-host.toml\"]\n\n[target]",
            bin.display().to_string()
        ),
    );
    std::fs::write(
        &path,
        format!("{text}fault_proxy = {{ listen = \"127.0.0.1:{proxy}\" }}\n"),
    )
    .unwrap();
    let config = harness::config::Config::load(&path).unwrap();
    let suite = harness::suite::Suite::embedded().unwrap();
    let report = harness::runner::run(
        &suite,
        &config,
        dir.path(),
        &options("openldap-inetorgperson"),
    )
    .await
    .unwrap();
    assert_passed(&report);
    let ran = outcomes(&report);
    let passed: Vec<&String> = ran
        .iter()
        .filter(|(o, _)| *o == Outcome::Passed)
        .map(|(_, s)| s)
        .collect();
    // Every fault scenario of the profile ran and passed: none was left "not checked".
    let not_run: Vec<&(Outcome, String)> =
        ran.iter().filter(|(o, _)| *o != Outcome::Passed).collect();
    assert!(
        not_run
            .iter()
            .all(|(o, _)| matches!(o, Outcome::NotApplicable | Outcome::FilteredOut)),
        "{not_run:?}"
    );
    // The fault scenarios not applicable are so for the profile (no export_password), never
    // for want of faults.
    for case in report.runs.iter().flat_map(|r| &r.cases).filter(|c| {
        c.tags
            .iter()
            .any(|t| t == "requires:fault-injection" || t == "requires:connection-faults")
    }) {
        assert!(case.not_checked.is_none(), "{case:?}");
    }
    for scenario in [
        "robustness/faults.feature: The directory's entryAlreadyExists is 409 uniqueness",
        "robustness/faults.feature: A busy directory is a 5xx, so Entra retries",
        "robustness/faults.feature: A create whose answer the connection lost is retried into a 409, one user, and a match",
        "robustness/faults.feature: A directory that denies the host's account a write is an error, never a success",
        "robustness/connections.feature: After the target restarts, the host reconnects by itself",
        "robustness/connections.feature: While the target drops the host's connections, creates get a 5xx and write nothing",
    ] {
        assert!(passed.iter().any(|p| *p == scenario), "{scenario}: {ran:?}");
    }
    assert!(passed.len() >= 12, "{passed:?}");
    // The report says the run went through the proxy.
    let configuration = report.host_facts[0].configuration.as_ref().unwrap();
    assert_eq!(
        configuration.target.fault_proxy.as_deref(),
        Some(format!("127.0.0.1:{proxy}, LDAP operations").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_answers_201_when_the_directory_refused_fails_through_the_proxy() {
    let defect = harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == "failed-create-201")
        .unwrap()
        .apply;
    let fixture = start_behind_proxy("openldap-inetorgperson", defect).await;
    let report = fixture.run(&options("openldap-inetorgperson")).await;
    for scenario in [
        "An object class violation on create is refused and writes nothing",
        "The directory's entryAlreadyExists is 409 uniqueness",
        "A busy directory is a 5xx, so Entra retries",
    ] {
        let (outcome, message) = said(&report, scenario);
        assert_eq!(outcome, Outcome::Failed, "{scenario}: {message}");
    }
}
