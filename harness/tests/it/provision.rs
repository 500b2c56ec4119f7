//! `ecmacert provision` against the reference host on the shared slapd with Microsoft's POSIX
//! mappings: a dry run writes nothing, a new user is created with every mapped value, a second
//! run changes nothing, a changed user is updated with only what changed (never the
//! create-only mappings), a user out of scope is skipped; a host that acknowledges a create or
//! a PATCH without writing fails by the probe's reading of the target.

use harness::provision::{self, ProvisionOptions, Trace};
use harness::suite::Suite;
use scim_proto::Dialect;

use crate::support;

fn mutant(name: &str) -> fn(axum::Router) -> axum::Router {
    harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap()
        .apply
}

/// The walkthrough's POSIX mappings with the fixture's container in the `-dn-` expression.
fn mapping(fixture: &support::Fixture) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/mappings/openldap-posix.toml"
    ))
    .unwrap();
    let container = fixture.config().target.container;
    let text = text.replace(",DC=Contoso,DC=lab\")", &format!(",{container}\")"));
    assert!(text.contains(&container));
    let path = fixture.dir.path().join("mapping.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn user(fixture: &support::Fixture, name: &str, json: serde_json::Value) -> std::path::PathBuf {
    let path = fixture.dir.path().join(format!("{name}.json"));
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn alice(surname: &str) -> serde_json::Value {
    alice_named("Alice Smith", surname)
}

fn alice_named(display_name: &str, surname: &str) -> serde_json::Value {
    serde_json::json!({
        "userPrincipalName": "Alice.Smith@contoso.lab",
        "displayName": display_name,
        "surname": surname,
        "employeeId": "20001",
        "department": "Sales"
    })
}

async fn provision_with(
    fixture: &support::Fixture,
    mapping: &std::path::Path,
    user: &std::path::Path,
    dry_run: bool,
    dialect: Dialect,
) -> (Trace, String) {
    let options = ProvisionOptions {
        profile: None,
        mapping: mapping.to_owned(),
        user: user.to_owned(),
        dry_run,
        dialect,
        seed: 1,
    };
    let trace = provision::provision(
        &Suite::embedded().unwrap(),
        &fixture.config(),
        fixture.dir.path(),
        &options,
    )
    .await
    .unwrap();
    let text = provision::render(&trace);
    (trace, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_mappings_provision_create_leave_update_and_skip_as_entra_does() {
    for dialect in [Dialect::EntraDefault, Dialect::EntraScim2020] {
        let fixture = support::start("openldap-posix", |app| app).await;
        let mapping = mapping(&fixture);
        let container = fixture.config().target.container;
        let dn = format!("CN=Alice.Smith,{container}");
        let probe = fixture.probe().await;

        let smith = user(&fixture, "alice", alice("Smith"));
        let (trace, text) = provision_with(&fixture, &mapping, &smith, true, dialect).await;
        assert_eq!(trace.outcome, "dry run: would create", "{text}");
        assert!(trace.export.iter().all(|x| x.status.is_none()), "{text}");
        assert_eq!(trace.matching.len(), 1, "{text}");
        assert!(probe.entry(&dn).await.unwrap().is_none(), "a dry run wrote");

        let (trace, text) = provision_with(&fixture, &mapping, &smith, false, dialect).await;
        assert!(trace.passed, "{text}");
        assert_eq!(trace.outcome, "created", "{text}");
        assert!(
            text.contains(r#"Word([userPrincipalName], 1, "@") → "Alice.Smith""#),
            "{text}"
        );
        let password = trace_password(&trace);
        assert!(!text.contains(&password), "a redacted value was printed");
        let json = serde_json::to_string(&trace).unwrap();
        assert!(
            !json.contains(&password),
            "a redacted value is in the JSON trace"
        );
        assert!(json.contains("[Redact]"), "{json}");
        let entry = probe.entry(&dn).await.unwrap().expect("created in slapd");
        assert_eq!(entry.values("uid"), ["alice.smith"]);
        assert_eq!(entry.values("homeDirectory"), ["/home/alice.smith"]);
        assert_eq!(entry.values("gidNumber"), ["10000"]);
        assert_eq!(entry.values("uidNumber"), ["20001"]);
        assert_eq!(entry.values("mail"), ["Alice.Smith@contoso.lab"]);
        let mut classes = entry.values("objectClass").to_vec();
        classes.sort();
        assert_eq!(classes, ["inetOrgPerson", "posixAccount", "shadowAccount"]);
        // Typed as the host's schema declares: gidNumber is a multi-valued integer.
        let body = trace.export[0].body.as_ref().unwrap();
        let ext = &body["urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User"];
        assert_eq!(ext["gidNumber"], serde_json::json!([10000]), "{text}");
        assert_eq!(ext["userPassword"], "[Redact]", "{text}");

        let (trace, text) = provision_with(&fixture, &mapping, &smith, false, dialect).await;
        assert_eq!(
            (trace.outcome.as_str(), trace.passed),
            ("no change", true),
            "{text}"
        );
        assert!(trace.export.is_empty(), "{text}");

        let jones = user(&fixture, "alice-jones", alice("Smith-Jones"));
        let (trace, text) = provision_with(&fixture, &mapping, &jones, true, dialect).await;
        assert_eq!(trace.outcome, "dry run: would update", "{text}");
        let entry = probe.entry(&dn).await.unwrap().unwrap();
        assert_eq!(entry.values("sn"), ["Smith"], "a dry run wrote");
        let (trace, text) = provision_with(&fixture, &mapping, &jones, false, dialect).await;
        assert_eq!(
            (trace.outcome.as_str(), trace.passed),
            ("updated", true),
            "{text}"
        );
        let body = trace.export[0].body.as_ref().unwrap().to_string();
        for sent in ["User:sn", "Smith-Jones"] {
            assert!(body.contains(sent), "{sent} not in {body}");
        }
        for never in [
            "objectClass",
            "-dn-",
            "userPassword",
            "uid\"",
            "mail",
            "User:cn",
        ] {
            assert!(!body.contains(never), "{never} sent in an update: {body}");
        }
        let entry = probe.entry(&dn).await.unwrap().unwrap();
        assert_eq!(entry.values("sn"), ["Smith-Jones"]);

        // The walkthrough's DN comes from the UPN and cn from displayName, so the entry's cn
        // holds its RDN value too; a displayName change replaces cn without it, which the
        // directory refuses (namingViolation): the trace shows Entra's failure and the target
        // is left as it was.
        let renamed = user(
            &fixture,
            "alice-renamed",
            alice_named("Alice Smith-Jones", "Smith-Jones"),
        );
        let (trace, text) = provision_with(&fixture, &mapping, &renamed, false, dialect).await;
        assert_eq!(trace.outcome, "failed: the update was refused", "{text}");
        assert!(!trace.passed && text.contains("namingViolation"), "{text}");
        let entry = probe.entry(&dn).await.unwrap().unwrap();
        let mut cn = entry.values("cn").to_vec();
        cn.sort();
        assert_eq!(cn, ["Alice Smith", "Alice.Smith"]);

        let bob = user(
            &fixture,
            "bob",
            serde_json::json!({"userPrincipalName": "Bob@contoso.lab", "department": "Engineering"}),
        );
        let (trace, text) = provision_with(&fixture, &mapping, &bob, false, dialect).await;
        assert_eq!(trace.outcome, "skipped: out of scope", "{text}");
        assert!(trace.passed && trace.matching.is_empty(), "{text}");
        assert!(
            text.contains(r#"department EQUALS "Sales" (user: "Engineering") → false"#),
            "{text}"
        );
    }
}

/// The initial password the trace must not show (evaluated again with the same seed).
fn trace_password(trace: &Trace) -> String {
    let m = trace
        .mappings
        .iter()
        .find(|m| m.target.ends_with(":userPassword"))
        .unwrap();
    assert_eq!(m.value, "[Redact]");
    let user = indexmap::IndexMap::new();
    let env = entra_provisioning::expr::Env::new(&user, time::OffsetDateTime::now_utc(), 1);
    let expr = entra_provisioning::expr::parse("RandomString(16, 2, 2, 2, 2)").unwrap();
    let value = entra_provisioning::expr::evaluate(&expr, &env)
        .unwrap()
        .value;
    value.text().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_acknowledges_a_create_without_writing_fails() {
    let fixture = support::start("openldap-posix", mutant("create-without-writing")).await;
    let mapping = mapping(&fixture);
    let smith = user(&fixture, "alice", alice("Smith"));
    let (trace, text) =
        provision_with(&fixture, &mapping, &smith, false, Dialect::EntraDefault).await;
    assert_eq!(trace.export[0].status, Some(201), "{text}");
    assert!(!trace.passed, "{text}");
    assert!(text.contains("holds no such object"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_acknowledges_a_patch_without_writing_fails() {
    let fixture = support::start("openldap-posix", mutant("patch-ignored")).await;
    let mapping = mapping(&fixture);
    let smith = user(&fixture, "alice", alice("Smith"));
    let (trace, text) =
        provision_with(&fixture, &mapping, &smith, false, Dialect::EntraDefault).await;
    assert!(trace.passed, "{text}");
    let jones = user(&fixture, "alice-jones", alice("Smith-Jones"));
    let (trace, text) =
        provision_with(&fixture, &mapping, &jones, false, Dialect::EntraDefault).await;
    assert!(matches!(trace.export[0].status, Some(200 | 204)), "{text}");
    assert!(!trace.passed, "{text}");
    assert!(text.contains("sn: sent [\"Smith-Jones\"]"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_mapping_or_user_is_a_configuration_error() {
    let fixture = support::start("openldap-posix", |app| app).await;
    let bad = fixture.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[mapping]]\ntype = \"expression\"\nexpression = 'Word([a], 1)'\ntarget = \"urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:x\"\n",
    )
    .unwrap();
    let smith = user(&fixture, "alice", alice("Smith"));
    let options = ProvisionOptions {
        profile: None,
        mapping: bad,
        user: smith.clone(),
        dry_run: false,
        dialect: Dialect::EntraDefault,
        seed: 1,
    };
    let suite = Suite::embedded().unwrap();
    let err = provision::provision(&suite, &fixture.config(), fixture.dir.path(), &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("at offset 0") && err.contains("Word takes 3"),
        "{err}"
    );
    let not_json = fixture.dir.path().join("user.json");
    std::fs::write(&not_json, "{").unwrap();
    let options = ProvisionOptions {
        mapping: mapping(&fixture),
        user: not_json,
        ..options
    };
    let err = provision::provision(&suite, &fixture.config(), fixture.dir.path(), &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not JSON"), "{err}");
}

fn run_binary(fixture: &support::Fixture, args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ecmacert"))
        .arg("provision")
        .arg("--config")
        .arg(&fixture.config_path)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_exits_0_1_or_2_and_writes_the_trace_as_json() {
    let good = support::start("openldap-posix", |app| app).await;
    let bad = support::start("openldap-posix", mutant("create-without-writing")).await;
    let (good_mapping, bad_mapping) = (mapping(&good), mapping(&bad));
    let (good_user, bad_user) = (
        user(&good, "alice", alice("Smith")),
        user(&bad, "alice", alice("Smith")),
    );
    let json = good.dir.path().join("trace.json");
    let broken = good.dir.path().join("broken.toml");
    std::fs::write(&broken, "[[mapping]]\ntype = \"lookup\"\n").unwrap();
    let outputs = tokio::task::spawn_blocking({
        let (json, broken) = (json.clone(), broken.clone());
        move || {
            let ok = run_binary(
                &good,
                &[
                    "--mapping".as_ref(),
                    good_mapping.as_os_str(),
                    "--user".as_ref(),
                    good_user.as_os_str(),
                    "--json".as_ref(),
                    json.as_os_str(),
                ],
            );
            let failed = run_binary(
                &bad,
                &[
                    "--mapping".as_ref(),
                    bad_mapping.as_os_str(),
                    "--user".as_ref(),
                    bad_user.as_os_str(),
                ],
            );
            let unusable = run_binary(
                &good,
                &[
                    "--mapping".as_ref(),
                    broken.as_os_str(),
                    "--user".as_ref(),
                    good_user.as_os_str(),
                ],
            );
            // Read before the fixtures (and their directories) go.
            let written = std::fs::read_to_string(&json).unwrap_or_default();
            (ok, failed, unusable, written)
        }
    })
    .await
    .unwrap();
    let (ok, failed, unusable, written) = outputs;
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let trace: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(trace["outcome"], "created");
    assert_eq!(trace["passed"], true);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(
        text(&failed).contains("holds no such object"),
        "{}",
        text(&failed)
    );
    assert_eq!(unusable.status.code(), Some(2), "{}", text(&unusable));
    assert!(text(&unusable).contains("--mapping"), "{}", text(&unusable));
}
