//! The provisioning service: ecmacert playing the Microsoft Entra provisioning service.
//!
//! [`entra`] builds requests exactly as Entra sends them to an ECMA host, in both PATCH
//! dialects (research note §1.3–§1.7): matching queries on the full extension URN with `+` for
//! spaces, Test Connection on a random GUID, creates with the target attributes in the ECMA2Host
//! extension, one PATCH operation per attribute (`Add` when the target had no value, `Replace`
//! otherwise) or one path-less `replace`, `active` as `"False"` or `false`, deletes.
//! [`ProvisioningService::send`] sends one and records the exchange as evidence, with the bearer
//! token redacted.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecma_vocab::Secret;
use indexmap::IndexMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reports::Exchange;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use scim_proto::{Dialect, MEDIA_TYPE, urn};
use serde_json::{Value, json};

/// Characters kept as they are in a query value; spaces become `+` afterwards, as Entra writes
/// them. `"` is percent-encoded: see DEVELOPERS.md on why no Rust client can send it raw.
const QUERY_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'@')
    .remove(b' ');

/// Characters kept as they are in an id placed in a path.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The largest body kept as evidence.
const EVIDENCE_BODY_LIMIT: usize = 64 * 1024;

/// How a request authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <the connector's token>`.
    Token,
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer <this>` (wrong-token scenarios).
    Bearer(String),
}

/// A request body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// JSON, sent as `application/scim+json`.
    Json(Value),
    /// Anything else, for malformed-input scenarios.
    Raw {
        /// The Content-Type header.
        content_type: String,
        /// The bytes.
        text: String,
    },
}

/// A request relative to the connector's SCIM base.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: &'static str,
    /// `/Users?filter=…`, `/Users/{id}`, …
    pub path: String,
    /// The body.
    pub body: Option<Body>,
}

/// One change of an attribute in an update, by target name.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The target attribute.
    pub attribute: String,
    /// The new value (a string, number, boolean or array).
    pub value: Value,
    /// Whether the target had a value before (Entra's default dialect then says `Replace`,
    /// otherwise `Add`).
    pub had_value: bool,
}

/// The wrong tokens ECMA-AUTH-002 names, each derived from the connector's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenVariant {
    /// Any other token.
    Wrong,
    /// The token without its last character.
    Truncated,
    /// The token with its letters' case changed (upper case; lower case when upper case would
    /// not change it).
    CaseChanged,
    /// `Authorization: Bearer ` with nothing after it.
    Empty,
}

impl TokenVariant {
    /// The variant a step names: `a wrong token`, `the token truncated`, `the token in upper
    /// case`, `an empty bearer token`.
    pub fn named(phrase: &str) -> Option<TokenVariant> {
        Some(match phrase {
            "a wrong token" => TokenVariant::Wrong,
            "the token truncated" => TokenVariant::Truncated,
            "the token in upper case" => TokenVariant::CaseChanged,
            "an empty bearer token" => TokenVariant::Empty,
            _ => return None,
        })
    }

    /// The variant of `token`. It always differs from `token`: a token without letters has no
    /// case to change, so its case variant changes its last character instead (a near miss,
    /// which is what the case variant tests), and so does a truncation of an empty token.
    pub fn of(self, token: &str) -> String {
        let near_miss = |t: &str| {
            let mut chars: Vec<char> = t.chars().collect();
            match chars.last_mut() {
                Some(c) => *c = if *c == 'x' { 'y' } else { 'x' },
                None => chars.push('x'),
            }
            chars.into_iter().collect::<String>()
        };
        let v = match self {
            TokenVariant::Wrong => format!("wrong-{}", uuid::Uuid::new_v4().simple()),
            TokenVariant::Truncated => token
                .chars()
                .take(token.chars().count().saturating_sub(1))
                .collect(),
            TokenVariant::CaseChanged if token.to_uppercase() != token => token.to_uppercase(),
            TokenVariant::CaseChanged if token.to_lowercase() != token => token.to_lowercase(),
            TokenVariant::CaseChanged => near_miss(token),
            TokenVariant::Empty => String::new(),
        };
        if v == token { near_miss(token) } else { v }
    }
}

/// The requests, as Entra shapes them.
pub mod entra {
    use super::*;

    /// `urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:<attribute>`
    pub fn urn_of(attribute: &str) -> String {
        format!("{}:{attribute}", urn::ECMA2HOST_USER)
    }

    /// `/Users?filter=<attribute> eq "<value>"` in Entra's URL form.
    pub fn filter(attribute: &str, value: &str) -> Request {
        filter_expression(&format!("{attribute} eq {}", json_string(value)))
    }

    /// `/Users?filter=<expression>` for any expression.
    pub fn filter_expression(expression: &str) -> Request {
        let query = utf8_percent_encode(expression, QUERY_KEEP)
            .to_string()
            .replace(' ', "+");
        Request {
            method: "GET",
            path: format!("/Users?filter={query}"),
            body: None,
        }
    }

    /// Test Connection: the first matching attribute, a random GUID.
    pub fn test_connection(matching_attribute: &str) -> Request {
        filter(
            &urn_of(matching_attribute),
            &uuid::Uuid::new_v4().to_string(),
        )
    }

    /// Test Connection before any mapping exists: `PLACEHOLDER eq "<GUID>"`.
    pub fn test_connection_unmapped() -> Request {
        filter("PLACEHOLDER", &uuid::Uuid::new_v4().to_string())
    }

    /// `POST /Users` with the target attributes in the ECMA2Host extension and the core members
    /// Entra always sends: `active`, and `externalId`, the Entra object's id (a fresh GUID
    /// here), as in Microsoft's "Develop and plan provisioning for a SCIM endpoint" samples.
    pub fn create(attributes: &IndexMap<String, Value>) -> Request {
        let body = json!({
            "schemas": [urn::CORE_USER, urn::ECMA2HOST_USER],
            "externalId": uuid::Uuid::new_v4().to_string(),
            "active": true,
            urn::ECMA2HOST_USER: attributes,
        });
        Request {
            method: "POST",
            path: "/Users".into(),
            body: Some(Body::Json(body)),
        }
    }

    /// `PATCH /Users/{id}` changing attributes, in `dialect`.
    pub fn update(dialect: Dialect, id: &str, changes: &[Change]) -> Request {
        let operations: Vec<Value> = match dialect {
            Dialect::EntraDefault => changes
                .iter()
                .map(|c| {
                    json!({
                        "op": if c.had_value { "Replace" } else { "Add" },
                        "path": urn_of(&c.attribute),
                        "value": c.value,
                    })
                })
                .collect(),
            Dialect::EntraScim2020 => {
                let value: serde_json::Map<String, Value> = changes
                    .iter()
                    .map(|c| (urn_of(&c.attribute), c.value.clone()))
                    .collect();
                vec![json!({"op": "replace", "value": value})]
            }
        };
        patch(id, operations)
    }

    /// `PATCH /Users/{id}` setting `active`: `"False"`/`"True"` in the default dialect, booleans
    /// with the flag.
    pub fn set_active(dialect: Dialect, id: &str, active: bool) -> Request {
        let op = match dialect {
            Dialect::EntraDefault => "Replace",
            Dialect::EntraScim2020 => "replace",
        };
        patch(
            id,
            vec![json!({"op": op, "path": "active", "value": boolean(dialect, active)})],
        )
    }

    /// A Boolean as `dialect` writes it: the string `"True"`/`"False"` by default, a JSON
    /// Boolean with the flag (`active`, and Boolean attributes such as the isSoftDeleted
    /// mapping's).
    pub fn boolean(dialect: Dialect, value: bool) -> Value {
        match dialect {
            Dialect::EntraDefault => Value::String(if value { "True" } else { "False" }.to_owned()),
            Dialect::EntraScim2020 => Value::Bool(value),
        }
    }

    /// `PATCH /Users/{id}` disabling as Microsoft's SCIM tutorial shows it, in either dialect:
    /// `{"op":"Replace","path":"active","value":false}` — the default dialect's op name with
    /// the flag's Boolean (ECMA-DEPROV-001's third body).
    pub fn disable_as_in_the_tutorial(id: &str) -> Request {
        patch(
            id,
            vec![json!({"op": "Replace", "path": "active", "value": false})],
        )
    }

    /// A PATCH with the given operations.
    pub fn patch(id: &str, operations: Vec<Value>) -> Request {
        let body = json!({"schemas": [urn::PATCH_OP], "Operations": operations});
        Request {
            method: "PATCH",
            path: user_path(id),
            body: Some(Body::Json(body)),
        }
    }

    /// `GET /Users/{id}`
    pub fn get(id: &str) -> Request {
        Request {
            method: "GET",
            path: user_path(id),
            body: None,
        }
    }

    /// `DELETE /Users/{id}`
    pub fn delete(id: &str) -> Request {
        Request {
            method: "DELETE",
            path: user_path(id),
            body: None,
        }
    }

    /// `GET /Schemas`
    pub fn schemas() -> Request {
        get_path("/Schemas")
    }

    /// `GET <path>` relative to the SCIM base (`/ResourceTypes`, `/ServiceProviderConfig`).
    pub fn get_path(path: &str) -> Request {
        Request {
            method: "GET",
            path: path.into(),
            body: None,
        }
    }

    /// `/Users?filter=<attribute> eq "<value>"` with every character that is not unreserved
    /// percent-encoded (spaces as `%20`, quotes as `%22`): the form Entra's URL form
    /// (`+` for spaces) must match alike (ECMA-MATCH-003).
    pub fn filter_fully_encoded(attribute: &str, value: &str) -> Request {
        let expression = format!("{attribute} eq {}", json_string(value));
        Request {
            method: "GET",
            path: format!(
                "/Users?filter={}",
                utf8_percent_encode(&expression, PATH_KEEP)
            ),
            body: None,
        }
    }

    /// `/Users/<percent-encoded id>`
    pub fn user_path(id: &str) -> String {
        format!("/Users/{}", utf8_percent_encode(id, PATH_KEEP))
    }

    fn json_string(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

/// A TLS client configuration that accepts any server certificate (`host.insecure_tls`),
/// checking only that the handshake is signed with the certificate's key.
fn insecure_tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    )
}

/// The verifier of [`insecure_tls_config`].
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Why the provisioning service cannot be set up (configuration errors).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The CA certificate file.
    #[error("host.ca_certificate: {0}")]
    Certificate(String),
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// The client side of the provisioning service.
#[derive(Clone)]
pub struct ProvisioningService {
    client: reqwest::Client,
    base: String,
    token: Secret,
    ca: Option<std::path::PathBuf>,
    timeout: Duration,
    /// `host.insecure_tls`: the host's certificate is not verified.
    insecure: bool,
}

impl std::fmt::Debug for ProvisioningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisioningService")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ProvisioningService {
    /// A client for the connector at `base` (`https://…/ecma2host_X/scim`), trusting `ca` when
    /// given (else the system roots).
    pub fn new(
        base: String,
        token: Secret,
        ca: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        Self::with_versions(base, token, ca, timeout, rustls::DEFAULT_VERSIONS)
    }

    /// The same client accepting the host's certificate without verifying it
    /// (`host.insecure_tls`): any certificate, any name, any issuer. The handshake's signatures
    /// are still checked against the certificate's key. [`tls12_only`](Self::tls12_only)
    /// verifies all the same, as Entra does.
    pub fn without_verification(mut self) -> Result<Self, ClientError> {
        let tls = insecure_tls_config().map_err(ClientError::Build)?;
        self.client = reqwest::Client::builder()
            .timeout(self.timeout)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        self.insecure = true;
        Ok(self)
    }

    /// The same client restricted to TLS 1.2, as a client that cannot speak TLS 1.3 is
    /// (ECMA-AUTH-005); it verifies the certificate and the host name as Entra does, whatever
    /// `host.insecure_tls` says.
    pub fn tls12_only(&self) -> Result<Self, ClientError> {
        Self::with_versions(
            self.base.clone(),
            self.token.clone(),
            self.ca.as_deref(),
            self.timeout,
            &[&rustls::version::TLS12],
        )
    }

    fn with_versions(
        base: String,
        token: Secret,
        ca: Option<&Path>,
        timeout: Duration,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Result<Self, ClientError> {
        let builder = reqwest::Client::builder().timeout(timeout);
        let builder = match ca {
            Some(path) => {
                let fail = |e: String| ClientError::Certificate(format!("{}: {e}", path.display()));
                let mut roots = rustls::RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| fail(e.to_string()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(e.to_string()))?;
                if certs.is_empty() {
                    return Err(fail("holds no PEM certificate".into()));
                }
                for c in certs {
                    roots.add(c).map_err(|e| fail(e.to_string()))?;
                }
                let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_protocol_versions(versions)
                .map_err(|e| ClientError::Build(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
                builder.tls_backend_preconfigured(tls)
            }
            // The system's trust store, through reqwest's platform verifier; it needs a
            // process-wide provider, and ring is the only one compiled in.
            None => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                if versions
                    .iter()
                    .all(|v| v.version == rustls::ProtocolVersion::TLSv1_2)
                {
                    builder
                        .min_tls_version(reqwest::tls::Version::TLS_1_2)
                        .max_tls_version(reqwest::tls::Version::TLS_1_2)
                } else {
                    builder
                }
            }
        };
        let client = builder
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(ProvisioningService {
            client,
            base,
            token,
            ca: ca.map(Path::to_owned),
            timeout,
            insecure: false,
        })
    }

    /// The connector's SCIM base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The same client, token and trust aimed at another SCIM base (a standby host's).
    pub fn at_base(&self, base: String) -> Result<ProvisioningService, ClientError> {
        Ok(ProvisioningService {
            client: self.client.clone(),
            base,
            token: self.token.clone(),
            ca: self.ca.clone(),
            timeout: self.timeout,
            insecure: self.insecure,
        })
    }

    /// The same client and token aimed at the connector `name` of the same host, when the base
    /// is ECMA2Host's `…/ecma2host_{connector}/scim`; `None` for another layout (`scim_url`).
    pub fn at_connector(&self, name: &str) -> Option<ProvisioningService> {
        let (host, rest) = self.base.split_once("/ecma2host_")?;
        let (_, tail) = rest.split_once('/')?;
        Some(ProvisioningService {
            client: self.client.clone(),
            base: format!("{host}/ecma2host_{name}/{tail}"),
            token: self.token.clone(),
            ca: self.ca.clone(),
            timeout: self.timeout,
            insecure: self.insecure,
        })
    }

    /// The connector's token, for a request the corpus writes by hand (`{token}`); the
    /// evidence redacts it like every secret.
    pub fn token_text(&self) -> &str {
        self.token.expose()
    }

    /// The connector's name in the base URL (`…/ecma2host_{connector}/scim`), if it has one.
    pub fn connector_name(&self) -> Option<&str> {
        let (_, rest) = self.base.split_once("/ecma2host_")?;
        rest.split_once('/').map(|(name, _)| name)
    }

    /// A token that is not the connector's, as [`TokenVariant`] says; never the token itself
    /// (ECMA-AUTH-002), whatever the token is made of.
    pub fn token_variant(&self, variant: TokenVariant) -> String {
        variant.of(self.token.expose())
    }

    /// Sends a request and records the exchange. Never fails: no answer is evidence too.
    pub async fn send(&self, request: &Request, auth: &Auth) -> Exchange {
        self.send_within(request, auth, None).await
    }

    /// [`send`](Self::send), giving up after `limit` when one is given, as a client whose own
    /// request timeout ran out does (the answer is then "no answer").
    pub async fn send_within(
        &self,
        request: &Request,
        auth: &Auth,
        limit: Option<Duration>,
    ) -> Exchange {
        let url = format!("{}{}", self.base, request.path);
        let mut builder = self.client.request(
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET),
            &url,
        );
        if let Some(limit) = limit {
            builder = builder.timeout(limit);
        }
        let mut request_headers = Vec::new();
        match auth {
            Auth::Token => builder = builder.bearer_auth(self.token.expose()),
            Auth::Bearer(t) => {
                builder = builder.header(reqwest::header::AUTHORIZATION, format!("Bearer {t}"))
            }
            Auth::None => {}
        }
        if *auth != Auth::None {
            request_headers.push(("authorization".to_owned(), "Bearer <redacted>".to_owned()));
        }
        let body_text = match &request.body {
            Some(Body::Json(v)) => {
                let text = v.to_string();
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
                    .body(text.clone());
                request_headers.push(("content-type".into(), MEDIA_TYPE.into()));
                Some(text)
            }
            Some(Body::Raw { content_type, text }) => {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(text.clone());
                request_headers.push(("content-type".into(), content_type.clone()));
                Some(text.clone())
            }
            None => None,
        };
        let started = Instant::now();
        let mut exchange = Exchange {
            method: request.method.to_owned(),
            url,
            request_headers,
            request_body: body_text,
            ..Exchange::default()
        };
        match builder.send().await {
            Ok(response) => {
                exchange.status = Some(response.status().as_u16());
                exchange.response_headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                match response.bytes().await {
                    Ok(bytes) => {
                        let text =
                            String::from_utf8_lossy(&bytes[..bytes.len().min(EVIDENCE_BODY_LIMIT)]);
                        exchange.response_body = (!bytes.is_empty()).then(|| text.into_owned());
                    }
                    Err(e) => exchange.error = Some(format!("the body could not be read: {e}")),
                }
            }
            Err(e) => exchange.error = Some(describe(&e)),
        }
        exchange.duration_ms = started.elapsed().as_millis() as u64;
        exchange
    }
}

/// How long [`ProvisioningService::send_large`] waits for `100 Continue` (or a final answer)
/// before it sends the body anyway, as RFC 9110 §10.1.1 lets a client do.
const CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// How much of a [`RawRequest`]'s body the evidence keeps, in bytes.
pub const EVIDENCE_RAW_BODY: usize = 2048;

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut_at(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A request no correct client sends, for [`ProvisioningService::send_raw`]: the method, the
/// target after the SCIM base's path (`/Users/..%2FSchemas`, sent as is: not normalised, not
/// encoded), headers in order (duplicates kept; `Host`, `Content-Length` and `Connection` are
/// the sender's), and the body's bytes (any, invalid UTF-8 included).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawRequest {
    /// Any token: `GET`, `PATCH`, `FROBNICATE`.
    pub method: String,
    /// Appended to the SCIM base's path.
    pub target: String,
    /// `(name, value)` pairs.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// How much of an oversized request body the evidence keeps.
const EVIDENCE_REQUEST_HEAD: usize = 512;

impl ProvisioningService {
    /// [`send`](Self::send) for a body larger than a host should take (ECMA-ROBUST-012):
    /// HTTP/1.1 written by hand over the same TLS trust, because reqwest cannot do either thing
    /// such a body needs. The request carries `Expect: 100-continue` (RFC 9110 §10.1.1), so a
    /// host that refuses by `Content-Length` answers before the body goes out; and the body is
    /// written while the answer is read, so a host that reads part of it, answers 413 and
    /// closes — what a body limit usually does — is heard, not taken for a broken pipe. The
    /// evidence keeps the body with its long strings told by their length. A direct connection:
    /// no proxy (`HTTPS_PROXY` is not read), and no second try without `Expect` after a 417.
    /// Never fails: no answer is evidence too.
    pub async fn send_large(&self, request: &Request, auth: &Auth) -> Exchange {
        let url = format!("{}{}", self.base, request.path);
        let body = match &request.body {
            Some(Body::Json(v)) => v.to_string().into_bytes(),
            Some(Body::Raw { text, .. }) => text.clone().into_bytes(),
            None => Vec::new(),
        };
        // The evidence: the body with every long string told by its length, so that it stays
        // small and whole (a secret in it is redacted as sent, never cut in two).
        let evidence = match &request.body {
            Some(Body::Json(v)) => {
                let mut v = v.clone();
                elide_long_strings(&mut v);
                v.to_string()
            }
            _ => {
                String::from_utf8_lossy(&body[..body.len().min(EVIDENCE_REQUEST_HEAD)]).into_owned()
            }
        };
        let mut exchange = Exchange {
            method: request.method.to_owned(),
            url: url.clone(),
            request_headers: vec![
                ("content-type".into(), MEDIA_TYPE.into()),
                ("expect".into(), "100-continue".into()),
            ],
            request_body: Some(format!("{evidence} ({} bytes in all)", body.len())),
            ..Exchange::default()
        };
        if *auth != Auth::None {
            exchange
                .request_headers
                .push(("authorization".into(), "Bearer <redacted>".into()));
        }
        let token = match auth {
            Auth::Token => Some(self.token.expose().to_owned()),
            Auth::Bearer(t) => Some(t.clone()),
            Auth::None => None,
        };
        let mut headers = vec![
            ("Content-Type".to_owned(), MEDIA_TYPE.to_owned()),
            ("Expect".to_owned(), "100-continue".to_owned()),
        ];
        if let Some(t) = &token {
            headers.push(("Authorization".to_owned(), format!("Bearer {t}")));
        }
        self.by_hand(exchange, &url, None, request.method, &headers, &body)
            .await
    }

    /// Sends `request` byte for byte (ECMA-ROBUST-018's corpus): its method, target and
    /// headers as given, whatever they are, on a fresh HTTP/1.1 connection with the run's TLS
    /// trust, giving up after the request timeout. The connector's bearer token is added as
    /// `Authorization` unless the request carries that header itself. The evidence shows the
    /// body as text (invalid UTF-8 replaced), cut at [`EVIDENCE_RAW_BODY`] bytes, and every
    /// `Authorization` value redacted. Never fails: no answer is evidence too.
    pub async fn send_raw(&self, request: &RawRequest) -> Exchange {
        let url = format!("{}{}", self.base, request.target);
        let raw_target = format!("{}{}", self.base_path(), request.target);
        let mut headers = request.headers.clone();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            headers.push((
                "Authorization".to_owned(),
                format!("Bearer {}", self.token.expose()),
            ));
        }
        let shown = &request.body[..request.body.len().min(EVIDENCE_RAW_BODY)];
        let exchange = Exchange {
            method: request.method.clone(),
            url: url.clone(),
            request_headers: headers
                .iter()
                .map(|(n, v)| {
                    // The token out before any cut, so that no part of it is left.
                    let token = self.token.expose();
                    let v = if token.is_empty() {
                        v.clone()
                    } else {
                        v.replace(token, "<redacted>")
                    };
                    let v = if n.eq_ignore_ascii_case("authorization") {
                        "<redacted>".to_owned()
                    } else if v.len() > 200 {
                        format!("{}… ({} bytes in all)", cut_at(&v, 200), v.len())
                    } else {
                        v
                    };
                    (n.to_ascii_lowercase(), v)
                })
                .collect(),
            request_body: (!request.body.is_empty()).then(|| {
                let text = String::from_utf8_lossy(shown).into_owned();
                if shown.len() < request.body.len() {
                    format!("{text}… ({} bytes in all)", request.body.len())
                } else {
                    text
                }
            }),
            ..Exchange::default()
        };
        self.by_hand(
            exchange,
            &url,
            Some(&raw_target),
            &request.method,
            &headers,
            &request.body,
        )
        .await
    }

    /// [`exchange_by_hand`](Self::exchange_by_hand) within the request timeout: its answer,
    /// its failure or "no answer" recorded in `exchange`, with the time it took.
    async fn by_hand(
        &self,
        mut exchange: Exchange,
        url: &str,
        raw_target: Option<&str>,
        method: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Exchange {
        let started = Instant::now();
        let answer = tokio::time::timeout(
            self.timeout,
            self.exchange_by_hand(url, raw_target, method, headers, body),
        )
        .await;
        match answer {
            Ok(Ok((status, headers, text))) => {
                exchange.status = Some(status);
                exchange.response_headers = headers;
                exchange.response_body = (!text.is_empty()).then_some(text);
            }
            Ok(Err(e)) => exchange.error = Some(e),
            Err(_) => {
                exchange.error = Some(format!(
                    "no answer within {} s (host.request_timeout_seconds)",
                    self.timeout.as_secs()
                ))
            }
        }
        exchange.duration_ms = started.elapsed().as_millis() as u64;
        exchange
    }

    /// The SCIM base URL's path (`/ecma2host_openldap/scim`), without a trailing slash.
    fn base_path(&self) -> String {
        url::Url::parse(&self.base)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }

    /// The TLS client configuration of [`send_large`](Self::send_large): the CA of the run, or
    /// the platform's trust store, as the reqwest client trusts.
    fn tls_config(&self) -> Result<rustls::ClientConfig, String> {
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
        if self.insecure {
            return insecure_tls_config();
        }
        let Some(path) = &self.ca else {
            use rustls_platform_verifier::BuilderVerifierExt as _;
            return builder
                .with_platform_verifier()
                .map(|b| b.with_no_client_auth())
                .map_err(|e| e.to_string());
        };
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(path).map_err(|e| e.to_string())? {
            roots
                .add(c.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }

    /// A connection to `url`'s host and port (TCP_NODELAY set, TLS for `https` with `tls`, or
    /// with [`tls_config`](Self::tls_config)'s trust, then kept in `tls`), and the `Host`
    /// header that names it: the URL's host and port, never its user information
    /// (RFC 9112 §3.2).
    async fn open_stream(
        &self,
        parsed: &url::Url,
        tls: &mut Option<Arc<rustls::ClientConfig>>,
    ) -> Result<(Box<dyn AsyncReadWrite>, String), String> {
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| format!("{parsed} names no port"))?;
        // The name to connect to and to verify: an IPv6 address without its brackets.
        let (host, server_name) = match parsed.host() {
            Some(url::Host::Domain(d)) => (
                d.to_owned(),
                rustls_pki_types::ServerName::try_from(d.to_owned())
                    .map_err(|e| format!("{d}: {e}"))?,
            ),
            Some(url::Host::Ipv4(a)) => (a.to_string(), std::net::IpAddr::V4(a).into()),
            Some(url::Host::Ipv6(a)) => (a.to_string(), std::net::IpAddr::V6(a).into()),
            None => return Err(format!("{parsed} names no host")),
        };
        let host_header = match parsed.port() {
            Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
            None => parsed.host_str().unwrap_or_default().to_owned(),
        };
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        // As reqwest's client does: a request is not held back waiting for an ACK.
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn AsyncReadWrite> = if parsed.scheme() == "https" {
            let config = match tls {
                Some(config) => config.clone(),
                None => tls.insert(Arc::new(self.tls_config()?)).clone(),
            };
            let connector = tokio_rustls::TlsConnector::from(config);
            Box::new(
                connector
                    .connect(server_name, tcp)
                    .await
                    .map_err(|e| format!("TLS handshake: {e}"))?,
            )
        } else {
            Box::new(tcp)
        };
        Ok((stream, host_header))
    }

    /// One HTTP/1.1 exchange on a fresh connection: the status, the headers and the body text
    /// (up to the evidence limit) of the final answer. The request line's target is `url`'s
    /// path and query, or `raw_target` as is when given; `headers` follow `Host`,
    /// `Content-Length` and `Connection: close`, in order. With `Expect: 100-continue` among
    /// them, the body waits for the interim answer (or [`CONTINUE_WAIT`]).
    async fn exchange_by_hand(
        &self,
        url: &str,
        raw_target: Option<&str>,
        method: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<(String, String)>, String), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let target = match raw_target {
            Some(raw) => raw.to_owned(),
            None => {
                let mut target = parsed.path().to_owned();
                if let Some(q) = parsed.query() {
                    target.push('?');
                    target.push_str(q);
                }
                target
            }
        };
        let (stream, host_header) = self.open_stream(&parsed, &mut None).await?;
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n");
        // RFC 9110 §8.6: no Content-Length on a request without content that has no use for one.
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let expect_continue = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue")
        });
        use tokio::io::AsyncWriteExt as _;
        writer
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("the request could not be sent: {e}"))?;
        writer
            .flush()
            .await
            .map_err(|e| format!("the request could not be sent: {e}"))?;
        // The reader runs beside the writer, in this task (so that it ends with it, a timeout
        // included): it reports 100 Continue, then the final answer.
        let (continued_tx, continued) = tokio::sync::oneshot::channel::<()>();
        let read = read_answer(&mut reader, continued_tx);
        tokio::pin!(read);
        if expect_continue {
            tokio::select! {
                _ = continued => {}
                _ = tokio::time::sleep(CONTINUE_WAIT) => {}
                answer = &mut read => return answer,
            }
        }
        let write = async {
            for chunk in body.chunks(64 * 1024) {
                writer.write_all(chunk).await?;
            }
            writer.flush().await
        };
        tokio::select! {
            // A write that fails because the host answered and closed is not the answer.
            _ = write => {}
            answer = &mut read => return answer,
        }
        read.await
    }
}

impl ProvisioningService {
    /// A client of its own over one keep-alive HTTP/1.1 connection, for `ecmacert load`: the
    /// same base, token and trust as this service, connected at its first request.
    pub fn kept_connection(&self) -> KeptConnection {
        KeptConnection {
            service: self.clone(),
            base_path: self.base_path(),
            authorization: format!("Bearer {}", self.token.expose()),
            tls: None,
            live: None,
        }
    }
}

/// One HTTP/1.1 connection kept open for request after request, driven by the task that sends
/// them (hyper's connection API, not reqwest's pool), for `ecmacert load`: host, target and
/// load client share the machine, so the client must cost it little. reqwest drives each
/// connection on a task of its own, so each request and its answer cross between tasks (and
/// threads) twice and its evidence (headers, body text) is copied; measured on 2 cores, the
/// matching query cost the client 44–54 µs of CPU that way, about twice what the host spends
/// answering it. A connection that fails is dropped and the next request opens another; one
/// the host closed while it was idle is noticed before a request goes out on it. Unlike the
/// reqwest client it goes straight to the host (no `HTTP(S)_PROXY`) and sends only `Host`,
/// `Authorization` and `Content-Type`. Nothing is recorded: the load keeps figures, not
/// evidence.
pub struct KeptConnection {
    service: ProvisioningService,
    base_path: String,
    authorization: String,
    /// The TLS configuration, built at the first connection and kept: later connections
    /// resume its TLS session rather than make a full handshake.
    tls: Option<Arc<rustls::ClientConfig>>,
    live: Option<LiveConnection>,
}

/// hyper's HTTP/1.1 client connection over a [`KeptConnection`]'s stream.
type HttpConnection = hyper::client::conn::http1::Connection<
    hyper_util::rt::TokioIo<Box<dyn AsyncReadWrite>>,
    http_body_util::Full<bytes::Bytes>,
>;

/// The sending half and the connection future of a [`KeptConnection`].
struct LiveConnection {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    connection: Pin<Box<HttpConnection>>,
    host: String,
    /// The connection future has ended: it is not polled again, and the connection goes.
    ended: bool,
}

impl std::fmt::Debug for KeptConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptConnection")
            .field("base_path", &self.base_path)
            .field("open", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl KeptConnection {
    /// Sends `request` with the connector's token (or as `auth` says) and waits at most the
    /// service's request timeout: the status and the body's bytes. `Err` says why there is no
    /// answer (the connection could not be opened, it broke, the time ran out, the request
    /// could not be built); the connection is then dropped, and the next request opens
    /// another. Never a token in an `Err`.
    pub async fn send(
        &mut self,
        request: &Request,
        auth: &Auth,
    ) -> Result<(u16, bytes::Bytes), String> {
        let timeout = self.service.timeout;
        match tokio::time::timeout(timeout, self.exchange(request, auth)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.live = None;
                Err(e)
            }
            Err(_) => {
                self.live = None;
                Err(format!(
                    "the host did not answer within {} s (host.request_timeout_seconds)",
                    timeout.as_secs()
                ))
            }
        }
    }

    /// A new connection to the service's base, over [`ProvisioningService::open_stream`]
    /// with the kept TLS configuration.
    async fn connect(&mut self) -> Result<LiveConnection, String> {
        let parsed = url::Url::parse(&self.service.base)
            .map_err(|e| format!("{}: {e}", self.service.base))?;
        let (stream, host) = self.service.open_stream(&parsed, &mut self.tls).await?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP/1.1: {e}"))?;
        Ok(LiveConnection {
            sender,
            connection: Box::pin(connection),
            host,
            ended: false,
        })
    }

    async fn exchange(
        &mut self,
        request: &Request,
        auth: &Auth,
    ) -> Result<(u16, bytes::Bytes), String> {
        use http_body_util::BodyExt as _;
        // A kept connection the host closed while it sat idle (its keep-alive timeout) is
        // noticed here, before the request goes out on it, and another is opened.
        let reusable = match self.live.take() {
            Some(mut live) => {
                let ready =
                    beside(&mut live.connection, &mut live.ended, live.sender.ready()).await;
                (matches!(ready, Ok(Ok(()))) && !live.ended).then_some(live)
            }
            None => None,
        };
        let live = match reusable {
            Some(live) => live,
            None => self.connect().await?,
        };
        let live = self.live.insert(live);
        let mut builder = hyper::Request::builder()
            .method(request.method)
            .uri(format!("{}{}", self.base_path, request.path))
            .header(hyper::header::HOST, live.host.as_str());
        match auth {
            Auth::Token => {
                builder = builder.header(hyper::header::AUTHORIZATION, self.authorization.as_str())
            }
            Auth::Bearer(t) => {
                builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"))
            }
            Auth::None => {}
        }
        let body = match &request.body {
            Some(Body::Json(v)) => {
                builder = builder.header(hyper::header::CONTENT_TYPE, MEDIA_TYPE);
                bytes::Bytes::from(v.to_string())
            }
            Some(Body::Raw { content_type, text }) => {
                builder = builder.header(hyper::header::CONTENT_TYPE, content_type.as_str());
                bytes::Bytes::from(text.clone())
            }
            None => bytes::Bytes::new(),
        };
        let request = builder
            .body(http_body_util::Full::new(body))
            .map_err(|e| e.to_string())?;
        let LiveConnection {
            sender,
            connection,
            ended,
            ..
        } = live;
        let response = beside(connection, ended, sender.send_request(request))
            .await?
            .map_err(|e| format!("HTTP/1.1: {e}"))?;
        let status = response.status().as_u16();
        let body = beside(connection, ended, response.into_body().collect())
            .await?
            .map_err(|e| format!("the body could not be read: {e}"))?
            .to_bytes();
        if *ended {
            self.live = None;
        }
        Ok((status, body))
    }
}

/// Polls `connection` beside `work` in this task until `work` is done: hyper's connection
/// future does the connection's reading and writing, and here it needs no task of its own.
/// `ended` says the connection future has finished (it is not polled again). `Err` when it
/// ends (closed or broken) before `work` could finish.
async fn beside<C, F>(
    connection: &mut Pin<Box<C>>,
    ended: &mut bool,
    work: F,
) -> Result<F::Output, String>
where
    C: Future<Output = Result<(), hyper::Error>>,
    F: Future,
{
    use std::task::Poll;
    let mut work = std::pin::pin!(work);
    let mut failure = None;
    std::future::poll_fn(|cx| {
        // The connection first: what it reads may finish the work in the same turn.
        if !*ended && let Poll::Ready(out) = connection.as_mut().poll(cx) {
            *ended = true;
            failure = Some(match out {
                Ok(()) => "the host closed the connection".to_owned(),
                Err(e) => format!("HTTP/1.1: {e}"),
            });
        }
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match (*ended, failure.take()) {
            (false, _) => Poll::Pending,
            (true, why) => Poll::Ready(Err(why.unwrap_or_else(|| "the connection ended".into()))),
        }
    })
    .await
}

/// A stream to write a request to and read its answer from.
trait AsyncReadWrite: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> AsyncReadWrite for T {}

/// Reads interim answers (sending on `continued` at `100 Continue`) and then the final one:
/// its status, headers and body text, up to the evidence limit, until `Content-Length` or the
/// end of the connection.
async fn read_answer(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    continued: tokio::sync::oneshot::Sender<()>,
) -> Result<(u16, Vec<(String, String)>, String), String> {
    use tokio::io::AsyncReadExt as _;
    let mut continued = Some(continued);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0_u8; 16 * 1024];
    loop {
        // One head, parsed as soon as it is complete.
        let parsed = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = response.code.unwrap_or_default();
                    let headers: Vec<(String, String)> = response
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    break (len, status, headers);
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(format!("the answer is not HTTP/1.1: {e}")),
            }
            let n = reader
                .read(&mut chunk)
                .await
                .map_err(|e| format!("the connection failed before an answer came: {e}"))?;
            if n == 0 {
                return Err("the host closed the connection without answering".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let (len, status, headers) = parsed;
        buf.drain(..len);
        if (100..200).contains(&status) {
            if status == 100
                && let Some(c) = continued.take()
            {
                let _ = c.send(());
            }
            continue;
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_ascii_lowercase())
        };
        let chunked = header("transfer-encoding").is_some_and(|v| v.ends_with("chunked"));
        let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
        let wanted = match (chunked, length) {
            (false, Some(n)) => n.min(EVIDENCE_BODY_LIMIT),
            _ => EVIDENCE_BODY_LIMIT,
        };
        while buf.len() < wanted && !(chunked && buf.ends_with(b"0\r\n\r\n")) {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.truncate(wanted);
        if chunked {
            buf = dechunk(&buf);
        }
        return Ok((status, headers, String::from_utf8_lossy(&buf).into_owned()));
    }
}

/// Every string of more than 256 characters in `v` replaced by `<N characters>`.
fn elide_long_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.chars().count() > 256 => {
            *s = format!("<{} characters>", s.chars().count());
        }
        Value::Array(items) => items.iter_mut().for_each(elide_long_strings),
        Value::Object(members) => members.values_mut().for_each(elide_long_strings),
        _ => {}
    }
}

/// A `Transfer-Encoding: chunked` body decoded (RFC 9112 §7.1), as far as it is complete.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&raw[..eol]);
        let size = line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            out.extend_from_slice(&raw[..size.min(raw.len())]);
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

/// reqwest errors carry their cause chain; the innermost cause is what an operator needs
/// ("Connection refused", "UnknownIssuer").
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_decoded_as_far_as_they_are_complete() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n6;x=y\r\npedia \r\n0\r\n\r\n"),
            b"Wikipedia "
        );
        assert_eq!(dechunk(b"a\r\n0123"), b"0123");
        assert_eq!(dechunk(b"zz\r\nabc"), b"");
    }

    fn body(r: &Request) -> &Value {
        match &r.body {
            Some(Body::Json(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_token_variant_differs_from_the_token() {
        use TokenVariant::*;
        for token in [
            "harness-test-token-42",
            "123456789012",
            "ABCDEFGHIJKL",
            "",
            "x",
        ] {
            for v in [Wrong, Truncated, CaseChanged, Empty] {
                assert_ne!(v.of(token), token, "{v:?} of {token:?}");
            }
        }
        assert_eq!(CaseChanged.of("abc-123"), "ABC-123");
        assert_eq!(CaseChanged.of("ABC-123"), "abc-123");
        assert_eq!(CaseChanged.of("123456789012"), "12345678901x");
        assert_eq!(Truncated.of("abcd"), "abc");
        assert_eq!(
            TokenVariant::named("the token in upper case"),
            Some(CaseChanged)
        );
        assert_eq!(TokenVariant::named("a token"), None);
    }

    #[test]
    fn disable_is_the_string_false_by_default_and_a_boolean_with_the_flag() {
        let default = entra::set_active(Dialect::EntraDefault, "x", false);
        assert_eq!(
            body(&default)["Operations"],
            json!([{"op": "Replace", "path": "active", "value": "False"}])
        );
        let flagged = entra::set_active(Dialect::EntraScim2020, "x", false);
        assert_eq!(
            body(&flagged)["Operations"],
            json!([{"op": "replace", "path": "active", "value": false}])
        );
        assert_eq!(body(&flagged)["schemas"], json!([urn::PATCH_OP]));
        assert_eq!(
            body(&entra::set_active(Dialect::EntraDefault, "x", true))["Operations"][0]["value"],
            "True"
        );
    }

    #[test]
    fn updates_are_one_op_per_attribute_or_one_pathless_replace() {
        let changes = vec![
            Change {
                attribute: "sn".into(),
                value: json!("Jones"),
                had_value: true,
            },
            Change {
                attribute: "displayName".into(),
                value: json!("B J"),
                had_value: false,
            },
        ];
        let default = entra::update(Dialect::EntraDefault, "cn=a,dc=x", &changes);
        assert_eq!(default.method, "PATCH");
        assert_eq!(default.path, "/Users/cn%3Da%2Cdc%3Dx");
        assert_eq!(
            body(&default)["Operations"],
            json!([
                {"op": "Replace", "path": entra::urn_of("sn"), "value": "Jones"},
                {"op": "Add", "path": entra::urn_of("displayName"), "value": "B J"},
            ])
        );
        let flagged = entra::update(Dialect::EntraScim2020, "cn=a,dc=x", &changes);
        assert_eq!(
            body(&flagged)["Operations"],
            json!([{"op": "replace", "value": {entra::urn_of("sn"): "Jones", entra::urn_of("displayName"): "B J"}}])
        );
        // Both normalise to the same operations.
        let a = serde_json::from_value::<scim_proto::PatchRequest>(body(&default).clone())
            .unwrap()
            .normalize()
            .unwrap();
        let b = serde_json::from_value::<scim_proto::PatchRequest>(body(&flagged).clone())
            .unwrap()
            .normalize()
            .unwrap();
        let targets = |ops: &[scim_proto::PatchOperation]| -> Vec<(String, Option<Value>)> {
            ops.iter()
                .map(|o| (o.target.to_string(), o.value.clone()))
                .collect()
        };
        assert_eq!(targets(&a), targets(&b));
    }

    #[test]
    fn matching_queries_use_the_full_urn_and_plus_for_spaces() {
        let r = entra::filter(&entra::urn_of("mail"), "b simon@contoso.lab");
        assert_eq!(
            r.path,
            "/Users?filter=urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:mail+eq+%22b+simon@contoso.lab%22"
        );
        let r = entra::filter("cn", "a\"b\\c");
        assert_eq!(r.path, "/Users?filter=cn+eq+%22a%5C%22b%5C%5Cc%22");
        let parsed = scim_proto::Filter::parse("cn eq \"a\\\"b\\\\c\"").unwrap();
        assert_eq!(
            parsed,
            scim_proto::Filter::eq(scim_proto::AttrPath::bare("cn"), "a\"b\\c")
        );
        let t = entra::test_connection("mail");
        assert!(t.path.starts_with(
            "/Users?filter=urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:mail+eq+%22"
        ));
        assert_eq!(
            t.path.len(),
            entra::filter(&entra::urn_of("mail"), &uuid::Uuid::nil().to_string())
                .path
                .len()
        );
    }

    #[test]
    fn creates_carry_the_extension_and_the_core_members_entra_always_sends() {
        let mut attrs = IndexMap::new();
        attrs.insert("-dn-".to_owned(), json!("cn=a,dc=x"));
        attrs.insert("objectClass".to_owned(), json!(["inetOrgPerson"]));
        let r = entra::create(&attrs);
        let b = body(&r);
        assert_eq!(b["schemas"], json!([urn::CORE_USER, urn::ECMA2HOST_USER]));
        assert_eq!(b["active"], true);
        let external = b["externalId"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(external).is_ok(), "{external}");
        assert_ne!(body(&entra::create(&attrs))["externalId"], external);
        assert_eq!(b[urn::ECMA2HOST_USER]["-dn-"], "cn=a,dc=x");
        let user: scim_proto::User = serde_json::from_value(b.clone()).unwrap();
        assert_eq!(
            user.ecma2host.unwrap().get("objectClass"),
            Some(&json!(["inetOrgPerson"]))
        );
    }
}
