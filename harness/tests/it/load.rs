//! `ecmacert load` against the reference host on the shared slapd: a correct host passes with
//! every object read back and host ÷ direct figures for every step; hosts that acknowledge
//! writes they do not make fail, by the probe's reading of the target.

use std::time::Duration;

use harness::load::{self, LoadOptions, Phase, Side, Step};
use harness::probe::Probe;
use harness::suite::Suite;

use crate::support;

fn mutant(name: &str) -> fn(axum::Router) -> axum::Router {
    harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap()
        .apply
}

/// `ecmacert load` in-process, and its report as text.
async fn load_with(
    config: &harness::config::Config,
    dir: &std::path::Path,
    options: &LoadOptions,
) -> (load::LoadReport, String) {
    let report = load::run(&Suite::embedded().unwrap(), config, dir, options)
        .await
        .unwrap();
    let text = report.text();
    (report, text)
}

async fn leftovers(fixture: &support::Fixture) -> usize {
    let probe = fixture.probe().await;
    probe.ldap().unwrap().find("(cn=ld*)").await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_host_passes_and_is_compared_with_the_directory_step_by_step() {
    let fixture = support::start("openldap-inetorgperson", |app| app).await;
    let options = LoadOptions {
        users: 40,
        concurrency: 4,
        direct: true,
        rounds: 2,
        time_limit: Duration::from_secs(120),
        ..LoadOptions::default()
    };
    let (report, text) = load_with(&fixture.config(), fixture.dir.path(), &options).await;
    assert!(report.passed(), "{text}");
    assert_eq!(report.exit_code(), 0);
    // The disable flow deletes, so there is no delete phase; every other step, both sides,
    // both rounds, in alternating order.
    let steps = [
        Step::MatchMiss,
        Step::Create,
        Step::MatchHit,
        Step::Patch,
        Step::Disable,
    ];
    assert_eq!(report.rounds.len(), 2);
    assert_eq!(report.rounds[0].order, [Side::Host, Side::Direct]);
    assert_eq!(report.rounds[1].order, [Side::Direct, Side::Host]);
    for round in &report.rounds {
        assert_eq!(round.steps.len(), 2 * steps.len(), "{text}");
        assert!(
            round
                .steps
                .iter()
                .all(|s| s.requests == 40 && s.per_second > 0.0)
        );
    }
    let ratios: Vec<Step> = report.ratios.iter().map(|r| r.step).collect();
    assert_eq!(ratios, steps, "{text}");
    // The host's create, patch and disable were each read back in both rounds.
    assert_eq!(report.verifications.len(), 6, "{text}");
    assert!(report.verifications.iter().all(|v| v.checked == 40));
    assert!(text.contains("host ÷ direct"), "{text}");
    assert_eq!(leftovers(&fixture).await, 0, "load left users behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_acknowledges_creates_without_writing_fails_with_the_objects_missing() {
    let fixture = support::start("openldap-inetorgperson", mutant("create-without-writing")).await;
    let options = LoadOptions {
        users: 25,
        concurrency: 4,
        phases: vec![Phase::Create],
        ..LoadOptions::default()
    };
    let (report, text) = load_with(&fixture.config(), fixture.dir.path(), &options).await;
    // Every create was answered 201: only the reading of the target shows the defect.
    assert!(report.rounds[0].steps[0].errors.is_empty(), "{text}");
    assert_eq!(report.verifications[0].missing, 25, "{text}");
    assert_eq!(report.exit_code(), 1);
    assert!(text.contains("25 not as written in the target"), "{text}");
    assert!(text.contains("not in the target"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_acknowledges_patches_without_writing_fails_with_the_values_wrong() {
    let fixture = support::start("openldap-inetorgperson", mutant("patch-ignored")).await;
    let options = LoadOptions {
        users: 20,
        concurrency: 4,
        phases: vec![Phase::Create, Phase::Patch],
        ..LoadOptions::default()
    };
    let (report, text) = load_with(&fixture.config(), fixture.dir.path(), &options).await;
    assert!(
        report.rounds[0].steps.iter().all(|s| s.errors.is_empty()),
        "{text}"
    );
    let patch = &report.verifications[1];
    assert_eq!(patch.step, Some(Step::Patch));
    assert_eq!((patch.missing, patch.wrong), (0, 20), "{text}");
    assert_eq!(report.exit_code(), 1);
    assert_eq!(leftovers(&fixture).await, 0, "load left users behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_the_figures_writes_json_and_refuses_unknown_phases() {
    let fixture = support::start("openldap-inetorgperson", |app| app).await;
    let config = fixture.config_path.clone();
    let json = fixture.dir.path().join("load.json");
    let (config2, json2) = (config.clone(), json.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecmacert"))
            .args(["load", "--config"])
            .arg(&config2)
            .args(["--users", "10", "--concurrency", "2", "--json"])
            .arg(&json2)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("p99 ms") && stdout.contains("load: passed"),
        "{stdout}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        written["rounds"][0]["steps"][1]["step"], "create",
        "{written}"
    );
    assert_eq!(written["rounds"][0]["steps"][1]["requests"], 10);
    // The token reaches neither stream nor the file.
    for text in [&stdout, &stderr, &written.to_string()] {
        assert!(!text.contains(support::TOKEN));
    }
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ecmacert"))
            .args(["load", "--config"])
            .arg(&config)
            .args(["--phases", "create,rename"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\"rename\" is not a phase"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_times_the_start_up_import_and_a_re_import_under_queries_then_removes_the_seeds() {
    let slapd = crate::slapd::slapd().await;
    let bin = tokio::task::spawn_blocking(crate::cli::ecma_host_binary)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    reference_host::cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let port = support::free_port();
    let container = format!("ou=seed-{},dc=contoso,dc=lab", std::process::id());
    crate::cli::write_host_config(dir.path(), &slapd.url, port, &container);
    let path = support::write_harness_config(
        dir.path(),
        slapd,
        "openldap-inetorgperson",
        &format!("https://localhost:{port}"),
        support::TOKEN,
        &container,
    );
    support::add_container(slapd, &container).await;
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[target]",
        &format!(
            "command = [{:?}, \"--config\", \"ecma-host.toml\"]\n\n[target]",
            bin.display().to_string()
        ),
    );
    std::fs::write(&path, text).unwrap();
    let config = harness::config::Config::load(&path).unwrap();
    let options = LoadOptions {
        users: 0,
        concurrency: 4,
        seed: Some(300),
        ..LoadOptions::default()
    };
    let (report, text) = load_with(&config, dir.path(), &options).await;
    assert!(report.passed(), "{text}");
    let seed = report.seed.as_ref().unwrap();
    assert_eq!(seed.entries, 300);
    assert!(
        seed.ready_seconds > 0.0 && seed.ready_rss_mib > 1.0,
        "{text}"
    );
    assert!(seed.import_peak_rss_mib >= seed.ready_rss_mib, "{text}");
    let reimport = seed.reimport.as_ref().unwrap();
    assert!(reimport.queries > 0 && reimport.max_ms > 0.0, "{text}");
    assert!(reimport.errors.is_empty(), "{text}");
    assert!(text.contains("re-import"), "{text}");
    assert!(report.rounds.is_empty(), "--users 0: no cycle");
    // The seeds are gone and the host is stopped.
    let probe = Probe::connect(
        &config.target,
        Some(&ecma_vocab::Secret::new(slapd.admin_password)),
        dir.path(),
        None,
    )
    .await
    .unwrap();
    assert!(
        probe
            .ldap()
            .unwrap()
            .find("(cn=sd*)")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the host still listens"
    );
}
