//! What only the mock does: faults on demand, inspection, the AD LDS flavour, paging and size
//! limits for a non-root account.

use std::time::{Duration, Instant};

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, Scope, SearchEntry};
use mock_targets::ldap::{FaultAction, FaultRule, Flavour, MockConfig, MockLdap, OpKind, Times};

async fn start(flavour: Flavour, suffix: &str) -> MockLdap {
    let root = format!("cn=admin,{suffix}");
    let mut config = MockConfig::new(flavour, suffix, &root, "secret");
    config.size_limits = vec![(format!("cn=host,{suffix}"), 3)];
    let m = MockLdap::start(config).await.unwrap();
    match flavour {
        Flavour::OpenLdap => {
            m.seed(
                suffix,
                &[
                    ("objectClass", &["dcObject", "organization"]),
                    ("dc", &["contoso"]),
                    ("o", &["Contoso"]),
                ],
            )
            .unwrap();
            m.seed(
                &format!("cn=host,{suffix}"),
                &[
                    (
                        "objectClass",
                        &["organizationalRole", "simpleSecurityObject"],
                    ),
                    ("userPassword", &["host-pw"]),
                ],
            )
            .unwrap();
        }
        Flavour::AdLds => {
            m.seed(suffix, &[("objectClass", &["container"]), ("cn", &["App"])])
                .unwrap();
        }
    }
    m
}

async fn bind(url: &str, dn: &str, pw: &str) -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    ldap.simple_bind(dn, pw).await.unwrap().success().unwrap();
    ldap
}

fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, std::collections::HashSet<String>)> {
    pairs
        .iter()
        .map(|(a, v)| (a.to_string(), [v.to_string()].into()))
        .collect()
}

fn person(cn: &str) -> Vec<(String, std::collections::HashSet<String>)> {
    attrs(&[("objectClass", "inetOrgPerson"), ("sn", "S"), ("cn", cn)])
}

#[tokio::test]
async fn faults_fire_as_often_as_asked_and_only_where_asked() {
    let m = start(Flavour::OpenLdap, "dc=contoso,dc=lab").await;
    let mut ldap = bind(&m.url(), "cn=admin,dc=contoso,dc=lab", "secret").await;
    m.inject(FaultRule::fail(
        OpKind::Add,
        "cn=b",
        68,
        "injected",
        Times::N(2),
    ));
    assert_eq!(
        ldap.add("cn=a,dc=contoso,dc=lab", person("a"))
            .await
            .unwrap()
            .rc,
        0,
        "another DN is not hit"
    );
    for _ in 0..2 {
        let r = ldap
            .add("cn=b,dc=contoso,dc=lab", person("b"))
            .await
            .unwrap();
        assert_eq!((r.rc, r.text.as_str()), (68, "injected"));
    }
    assert_eq!(
        ldap.add("cn=b,dc=contoso,dc=lab", person("b"))
            .await
            .unwrap()
            .rc,
        0,
        "the third add is not hit"
    );
    assert!(m.snapshot().contains_key("cn=b,dc=contoso,dc=lab"));
    // The log shows every operation with its outcome.
    let adds: Vec<u32> = m
        .operations()
        .iter()
        .filter(|o| o.op == OpKind::Add)
        .map(|o| o.code)
        .collect();
    assert_eq!(adds, [0, 68, 68, 0]);
}

#[tokio::test]
async fn faults_can_target_one_account_and_delay_or_drop() {
    let m = start(Flavour::OpenLdap, "dc=contoso,dc=lab").await;
    let mut admin = bind(&m.url(), "cn=admin,dc=contoso,dc=lab", "secret").await;
    let mut host = bind(&m.url(), "cn=host,dc=contoso,dc=lab", "host-pw").await;
    m.inject(FaultRule {
        op: None,
        dn_contains: None,
        bound_as: Some("cn=host,dc=contoso,dc=lab".into()),
        action: FaultAction::Drop,
        times: Times::Always,
    });
    assert!(
        host.add("cn=x,dc=contoso,dc=lab", person("x"))
            .await
            .is_err(),
        "the host's connection is dropped"
    );
    assert_eq!(
        admin
            .add("cn=y,dc=contoso,dc=lab", person("y"))
            .await
            .unwrap()
            .rc,
        0,
        "the admin is not hit"
    );
    m.clear_faults();
    m.inject(FaultRule {
        op: Some(OpKind::Delete),
        dn_contains: None,
        bound_as: None,
        action: FaultAction::Delay(Duration::from_millis(300)),
        times: Times::Once,
    });
    let started = Instant::now();
    assert_eq!(admin.delete("cn=y,dc=contoso,dc=lab").await.unwrap().rc, 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_limited_account_must_page() {
    let m = start(Flavour::OpenLdap, "dc=contoso,dc=lab").await;
    let mut admin = bind(&m.url(), "cn=admin,dc=contoso,dc=lab", "secret").await;
    for i in 0..7 {
        admin
            .add(
                &format!("cn=p{i},dc=contoso,dc=lab"),
                person(&format!("p{i}")),
            )
            .await
            .unwrap()
            .success()
            .unwrap();
    }
    let mut host = bind(&m.url(), "cn=host,dc=contoso,dc=lab", "host-pw").await;
    let unpaged = host
        .search(
            "dc=contoso,dc=lab",
            Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["cn"],
        )
        .await
        .unwrap();
    assert_eq!((unpaged.1.rc, unpaged.0.len()), (4, 3));
    let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(2))];
    let mut stream = host
        .streaming_search_with(
            adapters,
            "dc=contoso,dc=lab",
            Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["cn"],
        )
        .await
        .unwrap();
    let mut n = 0;
    while stream.next().await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!((stream.finish().await.rc, n), (0, 7));
    let searches = m
        .operations()
        .iter()
        .filter(|o| o.op == OpKind::Search && o.bound.starts_with("cn=host"))
        .count();
    assert_eq!(
        searches,
        1 + 4,
        "one unpaged search, then four pages of two"
    );
}

#[tokio::test]
async fn the_ad_lds_flavour_behaves_like_ad_lds() {
    let m = start(Flavour::AdLds, "CN=App,DC=contoso,DC=lab").await;
    let mut admin = bind(&m.url(), "cn=admin,CN=App,DC=contoso,DC=lab", "secret").await;
    let user = |cn: &str| {
        let upn = format!("{cn}@contoso.lab");
        attrs(&[
            ("objectClass", "user"),
            ("cn", cn),
            ("userPrincipalName", &upn),
            ("msDS-UserAccountDisabled", "FALSE"),
        ])
    };
    assert_eq!(
        admin
            .add("CN=bsimon,CN=App,DC=contoso,DC=lab", user("bsimon"))
            .await
            .unwrap()
            .rc,
        0,
        "no sn needed"
    );
    let mut with_password = user("pw");
    with_password.push(("userPassword".to_owned(), ["x".to_owned()].into()));
    assert_eq!(
        admin
            .add("CN=pw,CN=App,DC=contoso,DC=lab", with_password)
            .await
            .unwrap()
            .rc,
        53,
        "no passwords on create"
    );
    let found = admin
        .search(
            "CN=App,DC=contoso,DC=lab",
            Scope::OneLevel,
            "(userPrincipalName=BSIMON@contoso.lab)",
            vec!["objectGUID", "objectClass", "cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = SearchEntry::construct(found.0.into_iter().next().unwrap());
    let guid = e
        .bin_attrs
        .get("objectGUID")
        .cloned()
        .or_else(|| {
            e.attrs
                .get("objectGUID")
                .map(|v| v.iter().map(|s| s.as_bytes().to_vec()).collect())
        })
        .unwrap();
    assert_eq!(guid[0].len(), 16, "objectGUID is 16 raw bytes");
    let mut classes = e.attrs["objectClass"].clone();
    classes.sort();
    assert_eq!(
        classes,
        ["organizationalPerson", "person", "top", "user"],
        "AD stores the whole chain"
    );
}

/// Issue 10, kind 6: AD LDS keeps userPrincipalName unique in its partition (MS-ADTS
/// 3.1.1.5.1.3) and refuses a duplicate, on add and on modify, with constraintViolation and
/// ERROR_DS_UPN_VALUE_NOT_UNIQUE_IN_FOREST (0x21C8) first in the message; an ordinary entry
/// whose password was set through unicodePwd binds with it.
#[tokio::test]
async fn ad_lds_keeps_upns_unique_and_binds_users_by_their_unicode_password() {
    let m = start(Flavour::AdLds, "CN=App,DC=contoso,DC=lab").await;
    let mut admin = bind(&m.url(), "cn=admin,CN=App,DC=contoso,DC=lab", "secret").await;
    let user = |cn: &str, upn: &str| {
        attrs(&[
            ("objectClass", "user"),
            ("cn", cn),
            ("userPrincipalName", upn),
        ])
    };
    let dn = |cn: &str| format!("CN={cn},CN=App,DC=contoso,DC=lab");
    let r = admin
        .add(&dn("ivy"), user("ivy", "ivy@contoso.lab"))
        .await
        .unwrap();
    assert_eq!(r.rc, 0, "{r:?}");
    for (what, r) in [
        (
            "add",
            admin
                .add(&dn("ivy2"), user("ivy2", "IVY@contoso.lab"))
                .await
                .unwrap(),
        ),
        ("modify", {
            let r = admin
                .add(&dn("other"), user("other", "other@contoso.lab"))
                .await
                .unwrap();
            assert_eq!(r.rc, 0, "{r:?}");
            admin
                .modify(
                    &dn("other"),
                    vec![ldap3::Mod::Replace(
                        "userPrincipalName",
                        ["ivy@contoso.lab"].into(),
                    )],
                )
                .await
                .unwrap()
        }),
    ] {
        assert_eq!(r.rc, 19, "{what}: {r:?}");
        assert!(r.text.starts_with("000021C8"), "{what}: {r:?}");
    }
    // The entry keeps its own UPN through a modify of something else.
    let r = admin
        .modify(
            &dn("ivy"),
            vec![ldap3::Mod::Replace("displayName", ["Ivy"].into())],
        )
        .await
        .unwrap();
    assert_eq!(r.rc, 0, "{r:?}");
    // A password set through unicodePwd (the quoted password in UTF-16LE) binds.
    let quoted: Vec<u8> = "\"Pa55-word!\""
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let r = admin
        .modify(
            &dn("ivy"),
            vec![ldap3::Mod::Replace(
                "unicodePwd".as_bytes().to_vec(),
                [quoted].into(),
            )],
        )
        .await
        .unwrap();
    assert_eq!(r.rc, 0, "{r:?}");
    let (conn, mut ldap) = LdapConnAsync::new(&m.url()).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    assert_eq!(
        ldap.simple_bind(&dn("ivy"), "Pa55-word!").await.unwrap().rc,
        0
    );
    assert_eq!(ldap.simple_bind(&dn("ivy"), "wrong").await.unwrap().rc, 49);
}

/// With `update_tls`, as slapd with `security update_tls=1`: an add in the clear is refused
/// with confidentialityRequired and writes nothing; over LDAPS, with the mock's certificate
/// trusted and its name checked, the same add is done.
#[tokio::test]
async fn updates_in_the_clear_are_refused_and_ldaps_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = reference_host::cert::generate("localhost", dir.path()).unwrap();
    let suffix = "dc=contoso,dc=lab";
    let root = format!("cn=admin,{suffix}");
    let mut config = MockConfig::new(Flavour::OpenLdap, suffix, &root, "secret");
    config.tls = Some(std::sync::Arc::new(
        reference_host::cert::server_config(&cert, &key).unwrap(),
    ));
    config.update_tls = true;
    let m = MockLdap::start(config).await.unwrap();
    m.seed_naming_context().unwrap();
    let add = |ldap: &mut Ldap, cn: &'static str| {
        let mut ldap = ldap.clone();
        async move {
            ldap.add(
                &format!("cn={cn},dc=contoso,dc=lab"),
                vec![
                    ("objectClass", ["person"].into()),
                    ("cn", [cn].into()),
                    ("sn", ["Doe"].into()),
                ],
            )
            .await
            .unwrap()
        }
    };
    // In the clear: binds and searches are served, the add is refused.
    let (conn, mut clear) = LdapConnAsync::new(&m.url()).await.unwrap();
    ldap3::drive!(conn);
    assert_eq!(clear.simple_bind(&root, "secret").await.unwrap().rc, 0);
    let refused = add(&mut clear, "plain").await;
    assert_eq!(refused.rc, 13, "{refused:?}");
    assert!(!m.snapshot().contains_key("cn=plain,dc=contoso,dc=lab"));
    // Over LDAPS.
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject as _;
    for c in rustls_pki_types::CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let settings = ldap3::LdapConnSettings::new().set_config(std::sync::Arc::new(tls));
    let url = m.ldaps_url().unwrap();
    let (conn, mut sealed) = LdapConnAsync::with_settings(settings, &url).await.unwrap();
    ldap3::drive!(conn);
    assert_eq!(sealed.simple_bind(&root, "secret").await.unwrap().rc, 0);
    assert_eq!(add(&mut sealed, "sealed").await.rc, 0);
    assert!(m.snapshot().contains_key("cn=sealed,dc=contoso,dc=lab"));
}
