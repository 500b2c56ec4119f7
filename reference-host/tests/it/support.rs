//! Fixtures: a host per test over its own OU in the shared slapd, driven through its router
//! without a port, and a probe that reads the directory directly with ldap3 — never through the
//! host.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use ldap3::{Ldap, LdapConnAsync, Mod, Scope, SearchEntry};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reference_host::Host;
use reference_host::config::Config;
use reference_host::secret::{Secret, SecretSource};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::slapd::{SERVICE_DN, SERVICE_PASSWORD, Slapd, slapd};

/// The ECMA2Host extension URN.
pub const EXT: &str = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User";
/// The token every test host uses.
pub const TOKEN: &str = "test-token-0123456789";

const ID_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes an id for a URL path.
pub fn enc(id: &str) -> String {
    utf8_percent_encode(id, ID_ENCODE).to_string()
}

/// `urn:…:ECMA2Host:2.0:User:<name>`
pub fn ext(name: &str) -> String {
    format!("{EXT}:{name}")
}

/// The attributes and settings a test host is configured with, as TOML lines for `[connector.ldap]`
/// and `[connector.deprovisioning]`.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Extra lines for `[connector.ldap]` (after url, bind, base).
    pub ldap: String,
    /// Lines for `[connector.deprovisioning]`.
    pub deprovisioning: String,
}

impl Profile {
    /// OpenLDAP inetOrgPerson with a `-dn-` anchor, as in `examples/ecma-host-openldap.toml`.
    pub fn inetorgperson() -> Self {
        Profile {
            ldap: r#"object_class = "inetOrgPerson"
anchor = "-dn-"
page_size = 2
attributes = [
  { name = "cn", treat_as_single_value = true },
  { name = "sn", treat_as_single_value = true },
  { name = "mail", treat_as_single_value = true },
  { name = "displayName", treat_as_single_value = true },
  { name = "objectClass" },
  { name = "userPassword", treat_as_single_value = true },
  { name = "export_password" },
]"#
            .into(),
            deprovisioning: "disable_flow = \"delete\"\ndelete_flow = \"delete\"".into(),
        }
    }

    /// OpenLDAP with the POSIX classes, as in `examples/ecma-host-openldap-posix.toml`.
    pub fn posix() -> Self {
        Profile {
            ldap: r#"object_class = "inetOrgPerson"
anchor = "-dn-"
attributes = [
  { name = "-dn-" },
  { name = "export_password" },
  { name = "cn", treat_as_single_value = true },
  { name = "gidNumber", type = "integer" },
  { name = "homeDirectory" },
  { name = "mail", treat_as_single_value = true },
  { name = "objectClass" },
  { name = "sn", treat_as_single_value = true },
  { name = "uid", treat_as_single_value = true },
  { name = "uidNumber", type = "integer" },
  { name = "userPassword", treat_as_single_value = true },
]"#
            .into(),
            deprovisioning: "disable_flow = \"delete\"\ndelete_flow = \"delete\"".into(),
        }
    }

    /// Replaces the deprovisioning flows.
    pub fn deprovisioning(mut self, disable: &str, delete: &str) -> Self {
        self.deprovisioning = format!("disable_flow = {disable}\ndelete_flow = {delete}");
        self
    }

    /// Replaces the anchor.
    pub fn anchor(mut self, anchor: &str) -> Self {
        self.ldap = self
            .ldap
            .replace("anchor = \"-dn-\"", &format!("anchor = \"{anchor}\""));
        self
    }
}

/// One answer from the host.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when empty).
    pub body: Value,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Location`.
    pub location: Option<String>,
}

impl Reply {
    /// Asserts that the answer is `status` with a SCIM error whose `detail` carries `text`.
    #[track_caller]
    pub fn assert_detail(&self, status: u16, text: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let detail = self.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(text), "{text:?} not in {}", self.body);
    }

    /// The SCIM error's `scimType`.
    pub fn scim_type(&self) -> Option<&str> {
        self.body["scimType"].as_str()
    }

    /// The SCIM error's `detail`.
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or("")
    }

    /// An attribute of the ECMA2Host extension in a returned resource.
    pub fn ext(&self, name: &str) -> &Value {
        &self.body[EXT][name]
    }

    /// Asserts an error answer: status, SCIM Error body, media type.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{self:#?}");
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{self:#?}"
        );
        assert_eq!(self.body["status"], status.to_string(), "{self:#?}");
        assert_eq!(self.scim_type(), scim_type, "{self:#?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/scim+json"),
            "{self:#?}"
        );
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A host over its own OU.
pub struct TestHost {
    /// The host.
    pub host: Host,
    /// Its router.
    pub app: Router,
    /// `/ecma2host_LDAP/scim`
    pub base: String,
    /// The OU this test owns: `ou=<name>-<n>,dc=contoso,dc=lab`.
    pub ou: String,
    /// Direct access to the directory.
    pub probe: Probe,
    /// The directory.
    pub slapd: &'static Slapd,
}

/// A fresh OU for one test, and a probe to seed it with.
pub async fn new_ou(name: &str) -> (String, Probe) {
    let slapd = slapd().await;
    let probe = Probe::connect(slapd).await;
    let ou = format!(
        "ou={name}-{},{}",
        NEXT.fetch_add(1, Ordering::Relaxed),
        slapd.suffix
    );
    probe.add_ou(&ou).await;
    (ou, probe)
}

/// The TOML a test host is built from.
pub fn config_text(url: &str, ou: &str, profile: &Profile, extra_ldap: &str) -> String {
    format!(
        r#"[server]
plain_http = true

[[connector]]
name = "LDAP"
token = {{ env = "UNUSED_TOKEN_VARIABLE" }}
autosync_minutes = 0

[connector.deprovisioning]
{deprovisioning}

[connector.ldap]
url = "{url}"
bind_dn = "{SERVICE_DN}"
bind_password = {{ env = "UNUSED_PASSWORD_VARIABLE" }}
base_dn = "{ou}"
{extra_ldap}
{ldap}
"#,
        deprovisioning = profile.deprovisioning,
        ldap = profile.ldap,
    )
}

/// Parses a test configuration and gives it the test secrets in code.
pub fn config(text: &str) -> Config {
    let mut config = Config::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.connectors[0].token = SecretSource::Inline(Secret::new(TOKEN));
    if let Some(ldap) = &mut config.connectors[0].ldap {
        ldap.bind_password = SecretSource::Inline(Secret::new(SERVICE_PASSWORD));
    }
    config
}

impl TestHost {
    /// A host for `profile` over a fresh OU, with its first import done.
    pub async fn start(name: &str, profile: Profile) -> TestHost {
        let (ou, probe) = new_ou(name).await;
        Self::start_in(ou, probe, profile, "").await
    }

    /// [`TestHost::start`], the configuration's text passed through `edit` first.
    pub async fn start_edited(
        name: &str,
        profile: Profile,
        edit: impl Fn(String) -> String,
    ) -> TestHost {
        let (ou, probe) = new_ou(name).await;
        let slapd = slapd().await;
        let text = edit(config_text(&slapd.url, &ou, &profile, ""));
        let host = Host::new(config(&text), std::path::Path::new(".")).unwrap();
        host.import_all().await.unwrap();
        let app = host.app();
        TestHost {
            host,
            app,
            base: "/ecma2host_LDAP/scim".into(),
            ou,
            probe,
            slapd,
        }
    }

    /// A host over an OU made (and perhaps seeded) by [`new_ou`], with extra `[connector.ldap]`
    /// lines.
    pub async fn start_in(
        ou: String,
        probe: Probe,
        profile: Profile,
        extra_ldap: &str,
    ) -> TestHost {
        let slapd = slapd().await;
        let text = config_text(&slapd.url, &ou, &profile, extra_ldap);
        let host = Host::new(config(&text), std::path::Path::new(".")).unwrap();
        host.import_all().await.unwrap();
        let app = host.app();
        TestHost {
            host,
            app,
            base: "/ecma2host_LDAP/scim".into(),
            ou,
            probe,
            slapd,
        }
    }

    /// `cn=<cn>,<ou>`
    pub fn dn(&self, cn: &str) -> String {
        format!("cn={cn},{}", self.ou)
    }

    /// Sends a request with the test token.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.send(
            method,
            path,
            body.map(|b| b.to_string()),
            Some(TOKEN),
            "application/scim+json",
        )
        .await
    }

    /// Sends a request with every part chosen by the caller.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        token: Option<&str>,
        content_type: &str,
    ) -> Reply {
        send(
            &self.app,
            method,
            &format!("{}{path}", self.base),
            body,
            token,
            content_type,
        )
        .await
    }

    /// `POST /Users`
    pub async fn post(&self, body: &Value) -> Reply {
        self.call("POST", "/Users", Some(body)).await
    }

    /// `GET {path}`
    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None).await
    }

    /// `PATCH /Users/{id}`
    pub async fn patch(&self, id: &str, body: &Value) -> Reply {
        self.call("PATCH", &format!("/Users/{}", enc(id)), Some(body))
            .await
    }

    /// `DELETE /Users/{id}`
    pub async fn delete(&self, id: &str) -> Reply {
        self.call("DELETE", &format!("/Users/{}", enc(id)), None)
            .await
    }

    /// `GET /Users?filter=<attr> eq "<value>"` in Entra's URL form: `+` for spaces, quotes as
    /// they are, the extension URN spelled out.
    pub async fn filter_eq(&self, attr: &str, value: &str) -> Reply {
        let query = format!("{} eq \"{}\"", ext(attr), value);
        self.get(&format!("/Users?filter={}", entra_url_form(&query)))
            .await
    }

    /// The directory's entries under this test's OU.
    pub async fn snapshot(&self) -> Snapshot {
        self.probe.snapshot(&self.ou).await
    }
}

/// Encodes a query value the way Entra's tenant URL carries it: spaces as `+`, the extension URN
/// spelled out. Double quotes go as `%22`: the `http` crate (and so hyper, and reqwest's `url`)
/// treats a raw `"` in a query as invalid, so no Rust client or server here can carry one.
pub fn entra_url_form(s: &str) -> String {
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b' ')
        .remove(b':')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'@')
        .remove(b'=')
        .remove(b',');
    utf8_percent_encode(s, KEEP).to_string().replace(' ', "+")
}

/// Sends one request to a router.
pub async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<String>,
    token: Option<&str>,
    content_type: &str,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "localhost:8585");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let content_type = header_text(header::CONTENT_TYPE);
    let location = header_text(header::LOCATION);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        body,
        content_type,
        location,
    }
}

/// The directory's state under a base: DN → attribute → values, lower-cased names, operational
/// attributes that change by themselves left out.
pub type Snapshot = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The harness-side view of the directory, bound as the root DN.
pub struct Probe {
    ldap: Ldap,
}

impl Probe {
    /// Connects and binds.
    pub async fn connect(slapd: &Slapd) -> Probe {
        let (conn, mut ldap) = LdapConnAsync::new(&slapd.url).await.unwrap();
        tokio::spawn(async move { conn.drive().await });
        ldap.simple_bind(slapd.admin_dn, slapd.admin_password)
            .await
            .unwrap()
            .success()
            .unwrap();
        Probe { ldap }
    }

    /// Adds an organizational unit.
    pub async fn add_ou(&self, dn: &str) {
        let ou = dn.split(',').next().unwrap().trim_start_matches("ou=");
        self.add(
            dn,
            &[("objectClass", &["organizationalUnit"]), ("ou", &[ou])],
        )
        .await
        .success()
        .unwrap();
    }

    /// Adds an entry.
    pub async fn add(&self, dn: &str, attrs: &[(&str, &[&str])]) -> ldap3::LdapResult {
        let attrs = attrs
            .iter()
            .map(|(a, vs)| (a.to_string(), vs.iter().map(|v| v.to_string()).collect()))
            .collect();
        self.ldap.clone().add(dn, attrs).await.unwrap()
    }

    /// Replaces an attribute's values.
    pub async fn replace(&self, dn: &str, attr: &str, values: &[&str]) {
        let mods = vec![Mod::Replace(
            attr.to_string(),
            values.iter().map(|v| v.to_string()).collect(),
        )];
        self.ldap
            .clone()
            .modify(dn, mods)
            .await
            .unwrap()
            .success()
            .unwrap();
    }

    /// Deletes an entry.
    pub async fn delete(&self, dn: &str) {
        self.ldap
            .clone()
            .delete(dn)
            .await
            .unwrap()
            .success()
            .unwrap();
    }

    /// The entry at `dn` with user and operational attributes, if it exists.
    pub async fn entry(&self, dn: &str) -> Option<SearchEntry> {
        let result = self
            .ldap
            .clone()
            .search(dn, Scope::Base, "(objectClass=*)", vec!["*", "+"])
            .await
            .unwrap();
        if result.1.rc == 32 {
            return None;
        }
        result.0.into_iter().next().map(SearchEntry::construct)
    }

    /// One attribute's values at `dn`, or `None` when the entry does not exist.
    pub async fn values(&self, dn: &str, attr: &str) -> Option<Vec<String>> {
        let e = self.entry(dn).await?;
        Some(
            e.attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        )
    }

    /// The DNs beneath `base` that the directory itself finds with `filter`.
    pub async fn search(&self, base: &str, filter: &str) -> Vec<String> {
        let (entries, _) = self
            .ldap
            .clone()
            .search(base, Scope::Subtree, filter, vec!["1.1"])
            .await
            .unwrap()
            .success()
            .unwrap();
        entries
            .into_iter()
            .map(|e| SearchEntry::construct(e).dn)
            .collect()
    }

    /// Whether a simple bind as `dn` with `password` succeeds.
    pub async fn can_bind(&self, slapd: &Slapd, dn: &str, password: &str) -> bool {
        let (conn, mut ldap) = LdapConnAsync::new(&slapd.url).await.unwrap();
        tokio::spawn(async move { conn.drive().await });
        ldap.simple_bind(dn, password).await.unwrap().rc == 0
    }

    /// Every entry beneath `base` (the base itself excluded).
    pub async fn snapshot(&self, base: &str) -> Snapshot {
        const VOLATILE: [&str; 4] = ["modifytimestamp", "modifiersname", "entrycsn", "contextcsn"];
        let result = self
            .ldap
            .clone()
            .search(base, Scope::Subtree, "(objectClass=*)", vec!["*", "+"])
            .await
            .unwrap();
        let mut snapshot = Snapshot::new();
        for raw in result.0 {
            let e = SearchEntry::construct(raw);
            if e.dn.eq_ignore_ascii_case(base) {
                continue;
            }
            let attrs = e
                .attrs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_iter().collect()))
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                .collect();
            snapshot.insert(e.dn.to_ascii_lowercase(), attrs);
        }
        snapshot
    }
}

/// A create as Entra sends it to a connector of Microsoft's Employees table (SQL, script, SCIM
/// and Web Services targets): the anchor and columns in the ECMA2Host extension.
pub fn employee(login: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "userName": format!("{login}@contoso.lab"),
        "active": true,
        EXT: { "ContosoLogin": login, "LastName": "Jacobson", "FirstName": "Lee",
               "Email": format!("{login}@contoso.lab") },
    })
}

/// A PATCH request of `ops`.
pub fn patch_request(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// The PATCH that replaces `LastName` with "O'Brien" and removes `removed` (extension
/// attributes).
pub fn rename_and_clear(removed: &str) -> Value {
    patch_request(json!([
        {"op": "Replace", "path": format!("{EXT}:LastName"), "value": "O'Brien"},
        {"op": "Remove", "path": format!("{EXT}:{removed}")},
    ]))
}

/// Polls `GET /Users/{id}` on `connector` (10 s at most) until the host knows the user, whose
/// LastName must then be `last_name`: a write the host answered 503 whose outcome it follows
/// (ECMA-ROBUST-017). Every answer before must be 404.
pub async fn wait_known(app: &Router, connector: &str, id: &str, last_name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = call_connector(app, connector, "GET", &format!("/Users/{id}"), None).await;
        if r.status == 200 {
            assert_eq!(
                r.body[EXT]["LastName"], last_name,
                "{connector}: {}",
                r.body
            );
            return;
        }
        assert_eq!(r.status, 404, "{connector}: {}", r.body);
        assert!(
            std::time::Instant::now() < deadline,
            "{connector}: the host never took in the target's late answer"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sends a request to `connector`'s route tree with the test token.
pub async fn call_connector(
    app: &Router,
    connector: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Reply {
    send(
        app,
        method,
        &format!("/ecma2host_{connector}/scim{path}"),
        body.map(Value::to_string),
        Some(TOKEN),
        "application/scim+json",
    )
    .await
}

/// The text of `column` (one of the caller's literals) in the Employees row of `login`, read
/// from the table itself: `None` without a row, `Some(None)` for NULL.
pub async fn employee_column(
    pool: &sqlx::AnyPool,
    login: &str,
    column: &str,
) -> Option<Option<String>> {
    use sqlx::Row as _;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST({column} AS TEXT) AS v FROM Employees WHERE ContosoLogin = ?"
    )))
    .bind(login.to_owned())
    .fetch_optional(pool)
    .await
    .unwrap()?;
    Some(row.try_get::<Option<String>, _>("v").unwrap())
}
