//! The SCIM surface: routes under `/ecma2host_{connector}/scim`, bearer-token authentication,
//! request bodies, and handlers that hand each request to the connector's
//! [`ConnectorService`].
//!
//! Every answer carries `Content-Type: application/scim+json`; every error is a SCIM Error body,
//! including 401, 404 for an unknown connector ("invalid resource", as ECMA2Host says), 405,
//! 413, 415 and 501 for endpoints ECMA hosts do not have (`/Groups`, `/Bulk`, `/Me`, PUT).

mod discovery;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use scim_proto::{PatchRequest, ScimType, User};
use serde::de::DeserializeOwned;

use crate::error::{ScimError, scim_json};
use crate::service::{ConnectorService, Projection, Query};

/// What every handler of one connector sees.
#[derive(Clone)]
pub struct Ctx {
    service: Arc<ConnectorService>,
    /// `https` or `http`, for `Location` and `meta.location`.
    scheme: &'static str,
    max_body_bytes: usize,
}

/// The id in a resource's path (`/Users/{id}`, `/Schemas/{id}`), percent-decoded. An id that
/// does not decode to UTF-8 (`/Users/%FF`) names nothing: 404 with a SCIM Error, where axum's
/// own `Path` would answer 400 in plain text (ECMA-ERR-001).
pub(super) struct Id(pub(super) String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Id(id)),
            Err(e) => Err(ScimError::not_found(format!(
                "no resource has this id: {}",
                e.body_text()
            ))),
        }
    }
}

/// The connector's base URL as the client addressed it, for `Location` and `meta.location`: the
/// authority from the request line (HTTP/2 sends `:authority`, not `Host`) or the `Host` header.
struct Base(String);

impl FromRequestParts<Ctx> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Self::Rejection> {
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| &u.0)
            .unwrap_or(&parts.uri);
        let host = original
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        Ok(Base(format!(
            "{}://{host}/ecma2host_{}/scim",
            ctx.scheme,
            ctx.service.name()
        )))
    }
}

/// The router for a set of connectors. `tls` decides the scheme written into locations.
pub fn app(services: &[Arc<ConnectorService>], tls: bool, max_body_bytes: usize) -> Router {
    let scheme = if tls { "https" } else { "http" };
    let mut router = Router::new();
    for service in services {
        let ctx = Ctx {
            service: service.clone(),
            scheme,
            max_body_bytes,
        };
        let connector = Router::new()
            .route("/Users", get(list_users).post(create_user))
            .route(
                "/Users/{id}",
                get(get_user)
                    .patch(patch_user)
                    .delete(delete_user)
                    .put(not_supported),
            )
            .route("/Schemas", get(discovery::schemas))
            .route("/Schemas/{id}", get(discovery::schema))
            .route("/ResourceTypes", get(discovery::resource_types))
            .route("/ResourceTypes/{id}", get(discovery::resource_type))
            .route(
                "/ServiceProviderConfig",
                get(discovery::service_provider_config),
            )
            .route("/cache", get(cache))
            .route("/cache/import", post(import_now))
            .route("/cache/restart", post(restart))
            .route("/Groups", any(not_supported))
            .route("/Groups/{*rest}", any(not_supported))
            .route("/Bulk", any(not_supported))
            .route("/Me", any(not_supported))
            .fallback(no_such_endpoint)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn_with_state(ctx.clone(), authenticate))
            .with_state(ctx);
        router = router.nest(&format!("/ecma2host_{}/scim", service.name()), connector);
    }
    let routed = router.fallback(unknown_connector);
    // Before routing: paths normalised (a trailing slash, doubled slashes) and requests too
    // large to be SCIM answered with SCIM errors. A layer on the router itself would run after
    // routing had already chosen a route.
    Router::new()
        .fallback_service(tower::service_fn(move |request: Request| {
            let routed = routed.clone();
            async move {
                if let Some(refused) = oversized(&request) {
                    return Ok::<_, std::convert::Infallible>(refused.into_response());
                }
                let request = normalize_path(request);
                tower::ServiceExt::oneshot(routed, request).await
            }
        }))
        .layer(middleware::from_fn(log_request))
}

/// The longest request target served (bytes): longer ones get 414 with a SCIM Error. Entra's
/// filters are short; hyper's own limit is far higher and answers without a SCIM body.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) served: more get 431 with a SCIM Error.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

fn oversized(request: &Request) -> Option<ScimError> {
    let uri = request.uri().to_string().len();
    if uri > MAX_URI_BYTES {
        return Some(ScimError::new(
            StatusCode::URI_TOO_LONG,
            None,
            format!("the request target is {uri} bytes; this host serves at most {MAX_URI_BYTES}"),
        ));
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    (headers > MAX_HEADER_BYTES).then(|| {
        ScimError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            None,
            format!("the headers are {headers} bytes; this host serves at most {MAX_HEADER_BYTES}"),
        )
    })
}

/// `…/scim//Users/` as `…/scim/Users`: runs of slashes are one, a trailing one goes (a tenant
/// URL ending in `/` makes Entra send `…/scim//Users`). Encoded slashes (`%2F`) in ids are
/// not touched.
fn normalize_path(mut request: Request) -> Request {
    let uri = request.uri();
    let path = uri.path();
    let messy = path.contains("//") || (path.len() > 1 && path.ends_with('/'));
    if !messy {
        return request;
    }
    let mut clean = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && clean.ends_with('/')) {
            clean.push(c);
        }
    }
    while clean.len() > 1 && clean.ends_with('/') {
        clean.pop();
    }
    let target = match uri.query() {
        Some(q) => format!("{clean}?{q}"),
        None => clean,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = target.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(u) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = u;
        }
    }
    request
}

async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let ok = response.status().is_success();
    let status = response.status().as_u16();
    let ms = started.elapsed().as_millis() as u64;
    // Never the headers: they carry the bearer token. Answers that did what was asked are
    // logged at debug (RUST_LOG=debug): at info, the log line was a write to the log per
    // request, a seventh of the host's system calls under load.
    if ok {
        tracing::debug!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}

/// Checks `Authorization: Bearer <token>` against the connector's secret token.
async fn authenticate(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    // Authorization is not a list field (RFC 9110 §11.6.2): two of them are refused, whichever
    // is right, as picking one would let a wrong credential through or a right one past a
    // proxy that checked the other.
    if request
        .headers()
        .get_all(header::AUTHORIZATION)
        .iter()
        .count()
        > 1
    {
        return ScimError::new(
            StatusCode::BAD_REQUEST,
            None,
            "the request has more than one Authorization header".to_owned(),
        )
        .into_response();
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().as_bytes().to_vec());
    match given {
        None => ScimError::unauthorized(
            "a bearer token is required (Authorization: Bearer <secret token>)",
        )
        .into_response(),
        Some(token) if !ctx.service.token().matches(&token) => {
            ScimError::unauthorized("the bearer token is not this connector's secret token")
                .into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// A JSON request body: `application/scim+json` or `application/json`, at most the configured
/// size, well-formed, and of the expected shape.
struct ScimBody<T>(T);

impl<T: DeserializeOwned> FromRequest<Ctx> for ScimBody<T> {
    type Rejection = ScimError;

    async fn from_request(request: Request, ctx: &Ctx) -> Result<Self, ScimError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        match content_type.as_deref() {
            Some("application/scim+json" | "application/json") => {}
            other => {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!(
                        "the body must be application/scim+json (or application/json), not {}",
                        other.map_or("unlabelled".to_owned(), |t| format!("{t:?}"))
                    ),
                ));
            }
        }
        // A declared length over the limit is refused before any of the body is read: with
        // `Expect: 100-continue` the client then never sends it.
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > ctx.max_body_bytes as u64) {
            return Err(ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!("the body is larger than {} bytes", ctx.max_body_bytes),
            ));
        }
        let bytes = axum::body::to_bytes(request.into_body(), ctx.max_body_bytes)
            .await
            .map_err(|_| {
                ScimError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None,
                    format!("the body is larger than {} bytes", ctx.max_body_bytes),
                )
            })?;
        serde_json::from_slice(&bytes).map(ScimBody).map_err(|e| {
            let scim_type = match e.classify() {
                serde_json::error::Category::Data => ScimType::InvalidValue,
                _ => ScimType::InvalidSyntax,
            };
            ScimError::bad_request(scim_type, format!("the body is not a valid request: {e}"))
        })
    }
}

fn query_params(uri: &axum::http::Uri) -> Result<Query, ScimError> {
    let mut query = Query::default();
    let int = |name: &str, v: &str| {
        v.trim().parse::<i64>().map_err(|_| {
            ScimError::bad_request(
                ScimType::InvalidValue,
                format!("{name} must be an integer, not {v:?}"),
            )
        })
    };
    // Entra writes spaces as `+` and leaves quotes unencoded; form decoding reads both forms.
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if key.eq_ignore_ascii_case("filter") {
            query.filter = Some(value.into_owned());
        } else if key.eq_ignore_ascii_case("startIndex") {
            query.start_index = Some(int("startIndex", &value)?);
        } else if key.eq_ignore_ascii_case("count") {
            query.count = Some(int("count", &value)?);
        } else if key.eq_ignore_ascii_case("attributes") {
            query.projection.attributes = Projection::names(&value);
        } else if key.eq_ignore_ascii_case("excludedAttributes") {
            query.projection.excluded = Projection::names(&value);
        }
        // Anything else (aadOptscim062020, …) is ignored, as RFC 7644 §3.4.2 asks of
        // parameters a provider does not recognise.
    }
    Ok(query)
}

async fn list_users(
    State(ctx): State<Ctx>,
    OriginalUri(uri): OriginalUri,
    Base(base): Base,
) -> Response {
    let result = query_params(&uri).and_then(|q| {
        ctx.service.query(&q, &base).map(|mut list| {
            list.resources = std::mem::take(&mut list.resources)
                .into_iter()
                .map(|r| q.projection.apply(r))
                .collect();
            list
        })
    });
    match result {
        Ok(list) => scim_json(StatusCode::OK, &list),
        Err(e) => e.into_response(),
    }
}

async fn create_user(
    State(ctx): State<Ctx>,
    Base(base): Base,
    body: Result<ScimBody<serde_json::Value>, ScimError>,
) -> Response {
    let ScimBody(json) = match body {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    // Member names and schema URNs in any case (RFC 7643 §2.1).
    let user = match User::from_json(json) {
        Ok(u) => u,
        Err(e) => {
            return ScimError::bad_request(
                ScimType::InvalidValue,
                format!("the body is not a valid User: {e}"),
            )
            .into_response();
        }
    };
    // The write goes on if the client leaves: once the target is written, the connector space
    // must follow it (a dropped handler would leave the cache behind the directory).
    let service = ctx.service.clone();
    let wait = ctx.service.connector().write_wait();
    let created = settle(wait, async move { service.create(user, &base).await }).await;
    match created {
        Ok(resource) => {
            let location = resource["meta"]["location"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut response = scim_json(StatusCode::CREATED, &resource);
            if let Ok(v) = location.parse() {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn get_user(
    State(ctx): State<Ctx>,
    Id(id): Id,
    OriginalUri(uri): OriginalUri,
    Base(base): Base,
) -> Response {
    let result = query_params(&uri).and_then(|q| {
        ctx.service
            .get(&id, &base)
            .map(|resource| q.projection.apply(resource))
    });
    match result {
        Ok(resource) => scim_json(StatusCode::OK, &resource),
        Err(e) => e.into_response(),
    }
}

async fn patch_user(
    State(ctx): State<Ctx>,
    Id(id): Id,
    Base(base): Base,
    body: Result<ScimBody<PatchRequest>, ScimError>,
) -> Response {
    let ScimBody(request) = match body {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let service = ctx.service.clone();
    let wait = ctx.service.connector().write_wait();
    let patched = settle(
        wait,
        async move { service.patch(&id, request, &base).await },
    )
    .await;
    match patched {
        Ok(Some(resource)) => scim_json(StatusCode::OK, &resource),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn delete_user(State(ctx): State<Ctx>, Id(id): Id) -> Response {
    let service = ctx.service.clone();
    let wait = ctx.service.connector().write_wait();
    let deleted = settle(wait, async move { service.delete(&id).await }).await;
    match deleted {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The outcome of `write`, which goes on when the client leaves ([`Detached`]), waited for
/// at most `wait` (the connector's [`write_wait`](crate::connector::Connector::write_wait)) by
/// the write's [`WriteClock`](crate::connector::WriteClock): from the request, the time the
/// connector queued for the target left out. After that the answer is 503 and the write goes
/// on in a task of its own; the connector space follows its outcome when the target answers.
/// A write that panics answers 500.
async fn settle<T: Send + 'static>(
    wait: Option<std::time::Duration>,
    write: impl Future<Output = Result<T, ScimError>> + Send + 'static,
) -> Result<T, ScimError> {
    use crate::connector::ClockState;
    use futures_util::FutureExt as _;
    let clock = crate::connector::WriteClock::new();
    let mut state = clock.watch();
    let mut task = Detached(Some(Box::pin(
        std::panic::AssertUnwindSafe(clock.run(write)).catch_unwind(),
    )));
    let joined = match wait {
        None => task.await,
        Some(wait) => loop {
            let now = *state.borrow_and_update();
            match now {
                // Queued at the connector: no deadline until the target has the write.
                ClockState::Queued(_) => tokio::select! {
                    joined = &mut task => break joined,
                    changed = state.changed() => {
                        // The clock went with the task: its outcome is there or nearly.
                        if changed.is_err() {
                            break (&mut task).await;
                        }
                    }
                },
                ClockState::Running(start) => {
                    match tokio::time::timeout_at((start + wait).into(), &mut task).await {
                        Ok(joined) => break joined,
                        // Queued meanwhile: wait on by the clock as it is now.
                        Err(_) if *state.borrow() != now => {}
                        Err(_) => {
                            return Err(ScimError::unavailable(format!(
                                "the target has not answered within {wait:?}; the change goes \
                                 on, and the host shows its outcome as soon as the target answers"
                            )));
                        }
                    }
                }
            }
        },
    };
    joined.unwrap_or_else(|_| Err(ScimError::internal("the write panicked")))
}

/// A write polled by the request that waits for it, and handed to a task of its own only if
/// that request goes before the write is done (its client left, or its wait ran out): the
/// write is never abandoned halfway, and the common case costs no task and no wake-up
/// between tasks. Outside a runtime (one shutting down) the rest of the write is dropped, as
/// a task of it would be.
struct Detached<T: Send + 'static>(Option<Pin<Box<dyn Future<Output = T> + Send>>>);

impl<T: Send + 'static> Future for Detached<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        // Polled again once done: never ready again (`settle` stops at the first answer).
        let Some(write) = self.0.as_mut() else {
            return std::task::Poll::Pending;
        };
        let done = std::task::ready!(write.as_mut().poll(cx));
        self.0 = None;
        std::task::Poll::Ready(done)
    }
}

impl<T: Send + 'static> Drop for Detached<T> {
    fn drop(&mut self) {
        if let Some(write) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(write);
        }
    }
}

/// `GET …/scim/cache`: the whole connector space, as ECMA2Host's diagnostic endpoint shows it.
async fn cache(State(ctx): State<Ctx>, Base(base): Base) -> Response {
    match ctx.service.query(&Query::default(), &base) {
        Ok(list) => scim_json(StatusCode::OK, &list),
        Err(e) => e.into_response(),
    }
}

/// `POST …/scim/cache/import`: a full import now, the reference host's import hook (ECMA2Host
/// imports on its autosync timer only; harnesses need a way to say "now").
async fn import_now(State(ctx): State<Ctx>) -> Response {
    match ctx.service.full_import().await {
        Ok(n) => scim_json(StatusCode::OK, &serde_json::json!({ "imported": n })),
        Err(e) => ScimError::from(e).into_response(),
    }
}

/// `POST …/scim/cache/restart`: the connector starts over as after a restart of the service —
/// an empty connector space, the first import running in the background — and 202 Accepted.
/// The reference host's restart hook, for the scenarios about start-up (ECMA-IMPORT-001/005).
async fn restart(State(ctx): State<Ctx>) -> Response {
    ctx.service.restart().await;
    StatusCode::ACCEPTED.into_response()
}

async fn not_supported(method: Method, OriginalUri(uri): OriginalUri) -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        format!(
            "{method} {} is not supported by ECMA hosts (users only; no groups, bulk, /Me or PUT)",
            uri.path()
        ),
    )
}

async fn no_such_endpoint(OriginalUri(uri): OriginalUri) -> ScimError {
    ScimError::not_found(format!(
        "{} is not a SCIM endpoint of this host",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Anything outside `/ecma2host_{connector}/scim` for a configured connector, including a name
/// in the wrong case: connector names are case-sensitive.
async fn unknown_connector(OriginalUri(uri): OriginalUri) -> ScimError {
    ScimError::not_found(format!(
        "invalid resource: {} does not name a connector; the URL must be /ecma2host_{{connector}}/scim/…",
        uri.path()
    ))
}
