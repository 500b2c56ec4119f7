//! `ProvisioningService::send_large` against hosts that refuse a large body in the two ways
//! hosts do: by its declared length, before reading any of it (the client's `Expect:
//! 100-continue` then keeps it from being sent), and by reading up to a limit and answering 413
//! while the client is still writing, then closing. Both answers must be heard; neither may read
//! as a broken connection. Plain HTTP on 127.0.0.1; several rounds, since the second way races.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use ecma_vocab::Secret;
use harness::provisioning::{Auth, ProvisioningService, Request, entra};
use indexmap::IndexMap;
use serde_json::{Value, json};

const LIMIT: usize = 1024 * 1024;

fn too_large() -> axum::response::Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONTENT_TYPE, "application/scim+json")],
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "413",
               "detail": "too large"})
        .to_string(),
    )
        .into_response()
}

async fn by_declared_length(headers: HeaderMap) -> axum::response::Response {
    assert!(headers.get(header::EXPECT).is_some(), "no Expect header");
    too_large()
}

async fn by_reading(body: Body) -> axum::response::Response {
    match axum::body::to_bytes(body, LIMIT).await {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(_) => too_large(),
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://127.0.0.1:{port}/scim")
}

fn eight_mib() -> Request {
    let mut attrs = IndexMap::new();
    attrs.insert("sn".to_owned(), Value::String("x".repeat(8 * 1024 * 1024)));
    entra::create(&attrs)
}

#[tokio::test]
async fn a_large_body_refused_early_or_late_is_heard_as_413() {
    for (name, router) in [
        (
            "by declared length",
            axum::Router::new().route("/scim/Users", axum::routing::post(by_declared_length)),
        ),
        (
            "by reading to a limit",
            axum::Router::new().route("/scim/Users", axum::routing::post(by_reading)),
        ),
    ] {
        let base = serve(router).await;
        let service =
            ProvisioningService::new(base, Secret::new("t0ken"), None, Duration::from_secs(20))
                .unwrap();
        for round in 0..5 {
            let x = service.send_large(&eight_mib(), &Auth::Token).await;
            assert_eq!(x.status, Some(413), "{name}, round {round}: {x:?}");
            let body: Value = serde_json::from_str(x.response_body.as_deref().unwrap()).unwrap();
            assert_eq!(body["status"], "413", "{name}");
            // The evidence keeps the head of the body and its length, never 8 MiB.
            let sent = x.request_body.as_deref().unwrap();
            assert!(
                sent.len() < 1024 && sent.ends_with("bytes in all)"),
                "{sent}"
            );
            assert!(!format!("{x:?}").contains("t0ken"));
        }
    }
}
