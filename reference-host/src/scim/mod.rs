//! The SCIM surface: routes under `/ecma2host_{connector}/scim`, bearer-token authentication,
//! request bodies, and handlers that hand each request to the connector's
//! [`ConnectorService`].
//!
//! Every answer carries `Content-Type: application/scim+json`; every error is a SCIM Error body,
//! including 401, 404 for an unknown connector ("invalid resource", as ECMA2Host says), 405,
//! 413, 415 and 501 for endpoints ECMA hosts do not have (`/Groups`, `/Bulk`, `/Me`, PUT).

mod discovery;

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
use crate::service::{ConnectorService, Query};

/// What every handler of one connector sees.
#[derive(Clone)]
pub struct Ctx {
    service: Arc<ConnectorService>,
    /// `https` or `http`, for `Location` and `meta.location`.
    scheme: &'static str,
    max_body_bytes: usize,
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
    router
        .fallback(unknown_connector)
        .layer(middleware::from_fn(log_request))
}

async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    // Never the headers: they carry the bearer token.
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// Checks `Authorization: Bearer <token>` against the connector's secret token.
async fn authenticate(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
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
        }
        // Anything else (attributes, excludedAttributes, aadOptscim062020, …) is ignored, as
        // RFC 7644 §3.4.2 asks of parameters a provider does not recognise.
    }
    Ok(query)
}

async fn list_users(
    State(ctx): State<Ctx>,
    OriginalUri(uri): OriginalUri,
    Base(base): Base,
) -> Response {
    let result = query_params(&uri).and_then(|q| ctx.service.query(&q, &base));
    match result {
        Ok(list) => scim_json(StatusCode::OK, &list),
        Err(e) => e.into_response(),
    }
}

async fn create_user(
    State(ctx): State<Ctx>,
    Base(base): Base,
    body: Result<ScimBody<User>, ScimError>,
) -> Response {
    let ScimBody(user) = match body {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match ctx.service.create(user, &base).await {
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

async fn get_user(State(ctx): State<Ctx>, Path(id): Path<String>, Base(base): Base) -> Response {
    match ctx.service.get(&id, &base) {
        Ok(resource) => scim_json(StatusCode::OK, &resource),
        Err(e) => e.into_response(),
    }
}

async fn patch_user(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Base(base): Base,
    body: Result<ScimBody<PatchRequest>, ScimError>,
) -> Response {
    let ScimBody(request) = match body {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match ctx.service.patch(&id, request, &base).await {
        Ok(Some(resource)) => scim_json(StatusCode::OK, &resource),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn delete_user(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    match ctx.service.delete(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
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
