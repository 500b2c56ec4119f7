//! Faults for HTTP targets: a gate in front of any axum [`Router`] that answers, delays or drops
//! the requests a rule picks, and a server that can close one connection on purpose. The mock HR
//! REST API ([`crate::rest`]) and the embedded default's on-premises SCIM endpoint (a second
//! reference host, the `scim-target` profile's target) play the suite's faults through it, the
//! same kinds of rule the mock LDAP server takes ([`crate::ldap::FaultAction`]).
//!
//! Requests are sorted into [`Operation`]s by their method and a collection path (`/employees`,
//! `/Users`): `GET` and `POST` on the collection are a page and a create; `GET`, `PATCH`/`PUT`
//! and `DELETE` under it are a read, an update and a delete; anything else (discovery,
//! `/openapi.json`) is no operation, and no fault hits it.
//!
//! Written here rather than taken from a crate: a fault has to see the request's body (the
//! object it names) and close the very connection the request came on, which the general
//! fault-injection layers (tower's, for one) do not do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The largest body the gate reads to find the object a request names (16 MiB); a longer one,
/// or one the client cut short, is answered 413 by the gate.
pub const MAX_BODY: usize = 16 << 20;

/// The operations faults name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET` on the collection (a page, or a query).
    List,
    /// `GET` of one object.
    Read,
    /// `POST` on the collection.
    Create,
    /// `PATCH` or `PUT` of one object.
    Update,
    /// `DELETE` of one object.
    Delete,
}

impl Operation {
    /// The operation `method` on `path` is, given the `collection` path's last segment with its
    /// slash (`/employees`, `/Users`): the collection itself, or one segment under it (a
    /// trailing slash aside); `None` for a request outside the collection.
    pub fn of(method: &axum::http::Method, path: &str, collection: &str) -> Option<Operation> {
        let path = path.trim_end_matches('/');
        let under = path
            .rsplit_once('/')
            .filter(|(parent, _)| parent.ends_with(collection));
        let on_object = under.is_some_and(|(_, id)| !id.is_empty());
        let on_collection = !on_object && path.ends_with(collection);
        match method.as_str() {
            "GET" if on_collection => Some(Operation::List),
            "POST" if on_collection => Some(Operation::Create),
            "GET" if on_object => Some(Operation::Read),
            "PATCH" | "PUT" if on_object => Some(Operation::Update),
            "DELETE" if on_object => Some(Operation::Delete),
            _ => None,
        }
    }
}

/// What a fault does to the request it hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer `status` with `message` after `delay`, in the service's own shape
    /// ([`FaultSwitch::gate`]'s `answer`), touching nothing. A number that is no HTTP status
    /// (0) answers 503; a request with no answer in time is a `delay` longer than the
    /// client's timeout.
    Answer {
        /// The status.
        status: u16,
        /// The error's message.
        message: String,
        /// How long before the answer.
        delay: Duration,
    },
    /// Carry the request out at once, and give its answer only after this long (a client that
    /// gives up early still finds the change made).
    Late(Duration),
    /// Close the connection without answering, touching nothing.
    Drop,
    /// Carry the request out, then close the connection instead of answering: the client cannot
    /// tell whether the change was made.
    DropAfter,
}

/// A fault: which requests it hits, what it does, how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Which operation; `None` for every one.
    pub operation: Option<Operation>,
    /// Only requests about the objects this names: the path (percent-decoded) or the body holds
    /// it, followed by no letter or digit (`late-r1-9` names `late-r1-9` and `x-late-r1-9`,
    /// never `late-r1-93`). `None` for every object.
    pub scope: Option<String>,
    /// What it does.
    pub action: Action,
    /// How many times; `None` for every time (`Some(0)`: never, a fault already used up).
    pub times: Option<u32>,
}

impl Fault {
    /// `operation` answered `status` (with the message "injected") after `delay`, `times`
    /// times, whatever the object.
    pub fn answer(operation: Operation, status: u16, delay: Duration, times: Option<u32>) -> Self {
        Fault {
            operation: Some(operation),
            scope: None,
            action: Action::Answer {
                status,
                message: "injected".into(),
                delay,
            },
            times,
        }
    }

    /// Whether the fault hits `operation` on `path` (as sent: percent-decoded here) with
    /// `body`.
    fn hits(&self, operation: Operation, path: &str, body: &[u8]) -> bool {
        self.operation.is_none_or(|o| o == operation)
            && self.scope.as_deref().is_none_or(|scope| {
                let path: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
                names(&path, scope.as_bytes()) || names(body, scope.as_bytes())
            })
    }
}

/// Whether `text` holds `name` followed by no ASCII letter or digit.
fn names(text: &[u8], name: &[u8]) -> bool {
    !name.is_empty()
        && text.windows(name.len()).enumerate().any(|(i, w)| {
            w == name
                && text
                    .get(i + name.len())
                    .is_none_or(|c| !c.is_ascii_alphanumeric())
        })
}

/// The faults of one HTTP target: shared between the gate that plays them and whoever starts
/// and ends them (a run's fault controller).
#[derive(Clone, Default)]
pub struct FaultSwitch(Arc<Mutex<Vec<Fault>>>);

impl std::fmt::Debug for FaultSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultSwitch").finish_non_exhaustive()
    }
}

impl FaultSwitch {
    /// A switch with no fault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut f) = self.0.lock() {
            f.push(fault);
        }
    }

    /// Removes the faults `gone` picks (one scenario's), leaving the others.
    pub fn clear_where(&self, gone: impl Fn(&Fault) -> bool) {
        if let Ok(mut f) = self.0.lock() {
            f.retain(|fault| !gone(fault));
        }
    }

    /// The first fault that hits `operation` on `path` with `body`, counted as used.
    pub(crate) fn take(&self, operation: Operation, path: &str, body: &[u8]) -> Option<Fault> {
        let mut faults = self.0.lock().ok()?;
        // Used-up faults go first, so `Some(0)` never answers (nor underflows).
        faults.retain(|f| f.times != Some(0));
        let i = faults.iter().position(|f| f.hits(operation, path, body))?;
        let fault = faults[i].clone();
        match &mut faults[i].times {
            Some(0 | 1) => {
                faults.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }

    /// `app` behind this switch's gate: requests to `collection` (the collection path's last
    /// segment with its slash: `/employees`, `/Users`) and the objects under it meet the faults
    /// that hit them ([`Operation::of`]). An [`Action::Answer`] is `answer(status, message)`,
    /// the error in the service's own shape ([`error`] for `{"error": message}`, a SCIM Error
    /// for a SCIM endpoint). Connections can be dropped only when the router is served by
    /// [`serve`]; elsewhere a drop is answered 503.
    pub fn gate(&self, app: Router, collection: &'static str, answer: ErrorShape) -> Router {
        app.layer(axum::middleware::from_fn_with_state(
            Gate {
                switch: self.clone(),
                collection,
                answer,
            },
            gate,
        ))
    }
}

/// How a service words an error: the status and the message, as a response.
pub type ErrorShape = fn(StatusCode, &str) -> Response;

#[derive(Clone)]
struct Gate {
    switch: FaultSwitch,
    collection: &'static str,
    answer: ErrorShape,
}

/// A JSON error answer, `{"error": message}` (the HR REST API's shape).
pub fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": message }).to_string(),
    )
        .into_response()
}

/// Applies a fault that hits the request, or passes it on.
async fn gate(
    State(gate): State<Gate>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(operation) = Operation::of(request.method(), request.uri().path(), gate.collection)
    else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (gate.answer)(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {MAX_BODY} bytes, or was cut short"),
        );
    };
    let fault = gate.switch.take(operation, parts.uri.path(), &bytes);
    let cut = parts.extensions.get::<Cut>().cloned();
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    match fault.map(|f| f.action) {
        None => next.run(request).await,
        Some(Action::Answer {
            status,
            message,
            delay,
        }) => {
            tokio::time::sleep(delay).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (gate.answer)(status, &message)
        }
        Some(Action::Late(delay)) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Some(Action::Drop) => hang_up(cut).await,
        Some(Action::DropAfter) => {
            let _ = next.run(request).await;
            hang_up(cut).await
        }
    }
}

/// Closes the connection a request came on: what [`Action::Drop`] pulls. Each connection
/// [`serve`] accepts gets one (a request extension), and its task stops serving it, unanswered,
/// when pulled.
#[derive(Clone)]
struct Cut(Arc<tokio::sync::Notify>);

/// Closes the connection instead of answering; never returns while the connection lives.
async fn hang_up(cut: Option<Cut>) -> Response {
    match cut {
        Some(cut) => {
            cut.0.notify_one();
            std::future::pending().await
        }
        // [`serve`] gives every connection its cut; without one, the nearest thing is a 503.
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the connection would be dropped",
        ),
    }
}

/// Serves `app` over plain HTTP/1.1 until `stopped`, one task per connection, each of which a
/// fault can close ([`Action::Drop`]). Written out rather than `axum::serve`, which cannot close
/// one connection on purpose. Connections end with the server, not with their clients.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let (closing, closed) = tokio::sync::watch::channel(());
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, say: the listener stays readable, so wait a little
                // rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => {
                drop(closing);
                return;
            }
        };
        let mut closed = closed.clone();
        let _ = stream.set_nodelay(true);
        let cut = Cut(Arc::new(tokio::sync::Notify::new()));
        let service = hyper_util::service::TowerToHyperService::new(
            app.clone().layer(axum::Extension(cut.clone())),
        );
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = cut.0.notified() => {}
                _ = closed.changed() => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Action, Fault, Operation, names};
    use axum::http::Method;

    #[test]
    fn a_scope_names_its_objects_only() {
        assert!(names(b"/api/v1/employees/kim-r1-9", b"r1-9"));
        assert!(names(br#"{"login":"kim-r1-9"}"#, b"r1-9"));
        assert!(!names(b"/api/v1/employees/kim-r1-93", b"r1-9"));
        assert!(!names(b"", b"r1-9"));
        let fault = Fault {
            operation: Some(Operation::Update),
            scope: Some("r1-9".into()),
            action: Action::Drop,
            times: None,
        };
        assert!(fault.hits(Operation::Update, "/api/v1/employees/kim-r1-9", b"{}"));
        assert!(!fault.hits(Operation::Delete, "/api/v1/employees/kim-r1-9", b"{}"));
        assert!(!fault.hits(Operation::Update, "/api/v1/employees/kim-r1-93", b"{}"));
        // The Web Services connector encodes more than it must.
        assert!(fault.hits(Operation::Update, "/api/v1/employees/kim%2Dr1%2D9", b"{}"));
    }

    #[test]
    fn requests_are_sorted_by_method_and_collection() {
        let of = |m: Method, p: &str| Operation::of(&m, p, "/Users");
        assert_eq!(of(Method::GET, "/scim/Users"), Some(Operation::List));
        assert_eq!(of(Method::POST, "/scim/Users"), Some(Operation::Create));
        assert_eq!(of(Method::GET, "/scim/Users/a%2Db"), Some(Operation::Read));
        assert_eq!(of(Method::PATCH, "/scim/Users/x"), Some(Operation::Update));
        assert_eq!(of(Method::PUT, "/scim/Users/x"), Some(Operation::Update));
        assert_eq!(of(Method::DELETE, "/scim/Users/x"), Some(Operation::Delete));
        assert_eq!(of(Method::GET, "/scim/Schemas"), None);
        assert_eq!(of(Method::DELETE, "/scim/Users"), None);
        assert_eq!(of(Method::GET, "/scim/ServiceProviderConfig"), None);
        // A trailing slash, an id that is the collection's name, and deeper paths.
        assert_eq!(of(Method::GET, "/scim/Users/"), Some(Operation::List));
        assert_eq!(of(Method::POST, "/scim/Users/"), Some(Operation::Create));
        assert_eq!(of(Method::GET, "/scim/Users/Users"), Some(Operation::Read));
        assert_eq!(of(Method::GET, "/scim/Users/x/y"), None);
    }
}
