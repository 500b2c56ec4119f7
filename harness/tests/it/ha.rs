//! The failover drill (`host.standby`, ECMA-ROBUST-019): two reference hosts, started as
//! external processes, serve one connector on one real slapd; the suite stops the active one
//! mid-scenario, carries on through the standby, and starts the active one again. A standby
//! that never imports fails.

use reports::Outcome;

use crate::slapd::slapd;
use crate::support::{TOKEN, add_container, free_port, said, write_harness_config};

const SCENARIO: &str =
    "When the active host stops, the standby carries on and nothing is lost or made twice";

/// Writes the two hosts' configurations and the run's, with the standby's import hook `import`
/// and autosync `autosync` minutes; returns the run configuration's path.
async fn pair(dir: &std::path::Path, import: &str, autosync: u64) -> std::path::PathBuf {
    let slapd = slapd().await;
    let bin = tokio::task::spawn_blocking(crate::cli::ecma_host_binary)
        .await
        .unwrap();
    reference_host::cert::generate("localhost", &dir.join("certs")).unwrap();
    let (active, standby) = (free_port(), free_port());
    let container = format!("ou=ha-{}-{active},dc=contoso,dc=lab", std::process::id());
    let example = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/ecma-host-openldap.toml"),
    )
    .unwrap();
    for (file, port, minutes) in [
        ("active.toml", active, 120),
        ("standby.toml", standby, autosync),
    ] {
        let text = example
            .replace(
                "listen = \"127.0.0.1:8585\"",
                &format!("listen = \"127.0.0.1:{port}\""),
            )
            .replace(
                "url = \"ldap://127.0.0.1:3890\"",
                &format!("url = \"{}\"", slapd.url),
            )
            .replace(
                "base_dn = \"dc=contoso,dc=lab\"",
                &format!("base_dn = \"{container}\""),
            )
            .replace(
                "autosync_minutes = 120",
                &format!("autosync_minutes = {minutes}"),
            )
            .replace(
                "token = { env = \"ECMA_HOST_TOKEN\" }",
                "token = { file = \"token\" }",
            )
            .replace(
                "bind_password = { env = \"LDAP_BIND_PASSWORD\" }",
                "bind_password = { file = \"ldap-password\" }",
            );
        std::fs::write(dir.join(file), text).unwrap();
    }
    let path = write_harness_config(
        dir,
        slapd,
        "openldap-inetorgperson",
        &format!("https://localhost:{active}"),
        TOKEN,
        &container,
    );
    add_container(slapd, &container).await;
    let program = format!("{:?}", bin.display().to_string());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("ready_timeout_seconds = 15", "ready_timeout_seconds = 30")
        .replace(
            "[target]",
            &format!(
                "command = [{program}, \"--config\", \"active.toml\"]\n\n\
                 [host.standby]\n\
                 base_url = \"https://localhost:{standby}\"\n\
                 command = [{program}, \"--config\", \"standby.toml\"]\n\
                 import = {import}\n\n[target]"
            ),
        );
    std::fs::write(&path, text).unwrap();
    path
}

async fn run(
    path: &std::path::Path,
    dir: &std::path::Path,
    dialects: &[scim_proto::Dialect],
) -> reports::Report {
    let config = harness::config::Config::load(path).unwrap();
    let suite = harness::suite::Suite::embedded().unwrap();
    let options = harness::runner::RunOptions {
        profiles: vec!["openldap-inetorgperson".into()],
        // Both dialects: the second run needs the active host the first one stopped.
        tags: Some("@requires:standby or @req:ECMA-CREATE-001".into()),
        dialects: dialects.to_vec(),
        output_dir: Some(dir.join("out")),
        ..harness::runner::RunOptions::default()
    };
    harness::runner::run(&suite, &config, dir, &options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failover_scenario_passes_with_two_reference_hosts_on_one_slapd() {
    let dir = tempfile::tempdir().unwrap();
    let path = pair(
        dir.path(),
        "{ method = \"POST\", path = \"/cache/import\" }",
        120,
    )
    .await;
    let report = run(&path, dir.path(), &scim_proto::Dialect::ALL).await;
    crate::support::assert_passed(&report);
    let failovers: Vec<(Outcome, &str)> = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.scenario == SCENARIO)
        .map(|c| (c.outcome, c.scenario.as_str()))
        .collect();
    assert_eq!(
        failovers,
        vec![(Outcome::Passed, SCENARIO), (Outcome::Passed, SCENARIO)],
        "one per dialect"
    );
    // The scenarios after each failover found the active host running again.
    let after: usize = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.outcome == Outcome::Passed && c.scenario != SCENARIO)
        .count();
    assert!(after >= 2, "{}", reports::terminal::render(&report));
    let standby_log = dir.path().join("out/standby.log");
    assert!(
        standby_log.exists(),
        "the standby's output goes to its own log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_that_never_imports_fails_the_failover_scenario() {
    let dir = tempfile::tempdir().unwrap();
    // No import hook that imports, and no autosync: the standby knows only what it read at
    // its start, before the scenario's users existed.
    let path = pair(dir.path(), "{ wait_seconds = 1 }", 0).await;
    let report = run(&path, dir.path(), &[scim_proto::Dialect::EntraDefault]).await;
    let (outcome, message) = said(&report, SCENARIO);
    assert_eq!(outcome, Outcome::Failed, "{message}");
    // For the right reason: the standby's matching query does not find the user the active
    // host created.
    let failed_step = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .find(|c| c.scenario == SCENARIO)
        .and_then(|c| c.detail.as_ref())
        .and_then(|d| d.step.clone())
        .unwrap_or_default();
    assert!(
        failed_step.contains("exactly one user, \"before\""),
        "{failed_step}: {message}"
    );
}
