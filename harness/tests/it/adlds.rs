//! The reference host over the AD LDS mock, where only AD LDS's rules decide: an initial
//! password goes in through `unicodePwd` (quoted, UTF-16LE) and the user binds with it; a user
//! created with `msDS-UserAccountDisabled: "True"` (Entra's isSoftDeleted mapping) is stored
//! with TRUE and answered with the Boolean.

use axum::body::Body;
use axum::http::Request;
use mock_targets::ldap::{Flavour, MockConfig, MockLdap};
use reference_host::config::{AttributeConfig, Config as HostConfig};
use reference_host::secret::{Secret, SecretSource};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const SUFFIX: &str = "CN=App,DC=contoso,DC=lab";
const TOKEN: &str = "adlds-test-token-0123456789";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User";

async fn call(app: &axum::Router, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(format!("/ecma2host_ADLDS/scim{path}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/scim+json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ad_lds_user_binds_with_its_initial_password_and_can_be_created_soft_deleted() {
    let root = format!("cn=admin,{SUFFIX}");
    let mock = MockLdap::start(MockConfig::new(Flavour::AdLds, SUFFIX, &root, "secret"))
        .await
        .unwrap();
    mock.seed(SUFFIX, &[("objectClass", &["container"]), ("cn", &["App"])])
        .unwrap();
    let mut config =
        HostConfig::parse(include_str!("../../../examples/ecma-host-adlds.toml")).unwrap();
    config.server.plain_http = true;
    config.server.tls = None;
    let c = &mut config.connectors[0];
    c.token = SecretSource::Inline(Secret::new(TOKEN));
    c.autosync_minutes = 0;
    let ldap = c.ldap.as_mut().unwrap();
    ldap.url = mock.url();
    ldap.starttls = false;
    ldap.ca_certificate = None;
    ldap.bind_dn = root.clone();
    ldap.bind_password = SecretSource::Inline(Secret::new("secret"));
    ldap.base_dn = SUFFIX.to_owned();
    ldap.password_attribute = "unicodePwd".to_owned();
    ldap.attributes.push(AttributeConfig {
        name: "export_password".to_owned(),
        treat_as_single_value: true,
        kind: Default::default(),
        case_exact: false,
    });
    config.validate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = reference_host::Host::new(config, dir.path()).unwrap();
    host.import_all().await.unwrap();
    let app = host.app();
    let user = |cn: &str, soft_deleted: Option<&str>, password: Option<&str>| {
        let mut ext = json!({
            "-dn-": format!("CN={cn},{SUFFIX}"),
            "cn": cn,
            "userPrincipalName": format!("{cn}@contoso.lab"),
        });
        if let Some(p) = password {
            ext["export_password"] = json!(p);
        }
        if let Some(s) = soft_deleted {
            ext["msDS-UserAccountDisabled"] = json!(s);
        }
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
               "active": true, EXT: ext})
    };
    // The initial password, set through unicodePwd after the add: the user binds with it.
    let (status, body) = call(
        &app,
        "POST",
        "/Users",
        Some(user("ivy", None, Some("Pa55-wörd!"))),
    )
    .await;
    assert_eq!(status, 201, "{body:#}");
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&mock.url()).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    let dn = format!("CN=ivy,{SUFFIX}");
    assert_eq!(ldap.simple_bind(&dn, "Pa55-wörd!").await.unwrap().rc, 0);
    assert_eq!(ldap.simple_bind(&dn, "Pa55-word!").await.unwrap().rc, 49);
    // Created soft-deleted, as Entra's isSoftDeleted mapping sends it (the string "True"):
    // msDS-UserAccountDisabled is TRUE, and the answer gives the Boolean.
    let (status, body) = call(
        &app,
        "POST",
        "/Users",
        Some(user("off", Some("True"), None)),
    )
    .await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body[EXT]["msDS-UserAccountDisabled"], true, "{body:#}");
    assert_eq!(ldap.simple_bind(&root, "secret").await.unwrap().rc, 0);
    let (entries, _) = ldap
        .search(
            &format!("CN=off,{SUFFIX}"),
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["msDS-UserAccountDisabled"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
    assert_eq!(e.attrs["msDS-UserAccountDisabled"], ["TRUE"]);
}
