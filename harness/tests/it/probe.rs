//! The probe itself: what it does when the directory misbehaves.

use std::path::Path;

use ecma_vocab::Secret;
use harness::config::TargetConfig;
use harness::probe::LdapProbe;
use mock_targets::ldap::{FaultRule, Flavour, MockConfig, MockLdap, OpKind, Times};

/// 389 DS's passing noSuchObject for a parent that exists (see `LdapProbe::add`), played
/// by the mock: the probe's out-of-band add goes through on a later try; a parent that is
/// really missing, or a directory that keeps refusing, is an error.
#[tokio::test]
async fn an_add_answered_no_such_object_under_an_existing_parent_is_tried_again() {
    let mock = MockLdap::start(MockConfig::new(
        Flavour::OpenLdap,
        "dc=contoso,dc=lab",
        "cn=admin,dc=contoso,dc=lab",
        "probe-test-secret",
    ))
    .await
    .unwrap();
    mock.seed_naming_context().unwrap();
    let mut target = TargetConfig::sql(mock.url());
    target.kind = "ldap".into();
    target.bind_dn = "cn=admin,dc=contoso,dc=lab".into();
    target.base_dn = "dc=contoso,dc=lab".into();
    let probe = LdapProbe::connect(&target, &Secret::new("probe-test-secret"), Path::new("."))
        .await
        .unwrap();
    let refuse = |name: &str, times| {
        let dn = format!("cn={name},");
        mock.inject(FaultRule::fail(
            OpKind::Add,
            &dn,
            32,
            "no such object",
            times,
        ));
    };
    let person = |cn: &str| {
        vec![
            ("objectClass".to_owned(), vec!["inetOrgPerson".to_owned()]),
            ("cn".to_owned(), vec![cn.to_owned()]),
            ("sn".to_owned(), vec!["F".to_owned()]),
        ]
    };
    refuse("flaky", Times::N(3));
    probe
        .add("cn=flaky,dc=contoso,dc=lab", &person("flaky"))
        .await
        .unwrap();
    assert!(
        probe
            .entry("cn=flaky,dc=contoso,dc=lab")
            .await
            .unwrap()
            .is_some()
    );
    refuse("stuck", Times::Always);
    let err = probe
        .add("cn=stuck,dc=contoso,dc=lab", &person("stuck"))
        .await
        .unwrap_err();
    assert!(
        err.0
            .contains("add cn=stuck,dc=contoso,dc=lab on ldap://127.0.0.1:"),
        "{err}"
    );
    assert!(err.0.ends_with("LDAP 32 no such object"), "{err}");
    let err = probe
        .add("cn=orphan,ou=missing,dc=contoso,dc=lab", &person("orphan"))
        .await
        .unwrap_err();
    assert!(err.0.contains("LDAP 32"), "{err}");
}
