//! `ProvisioningService::kept_connection`, `ecmacert load`'s client: one connection for
//! request after request, the token sent with each; a connection the host closes, or one whose
//! answer does not come in time, is dropped and the next request opens another. Plain HTTP on
//! 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use ecma_vocab::Secret;
use harness::provisioning::{Auth, ProvisioningService, Request};

/// The client's port and the `Authorization` header it sent, as the body.
async fn who(ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> String {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    format!("{} {auth}", peer.port())
}

/// As [`who`], and the connection is closed after the answer.
async fn who_then_close(peer: ConnectInfo<SocketAddr>, headers: HeaderMap) -> impl IntoResponse {
    ([(header::CONNECTION, "close")], who(peer, headers).await)
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

/// A kept connection to `http://127.0.0.1:{port}/scim` with the token `t0ken` and a request
/// timeout of `seconds`.
fn kept(port: u16, seconds: u64) -> harness::provisioning::KeptConnection {
    ProvisioningService::new(
        format!("http://127.0.0.1:{port}/scim"),
        Secret::new("t0ken"),
        None,
        Duration::from_secs(seconds),
    )
    .unwrap()
    .kept_connection()
}

fn get(path: &str) -> Request {
    Request {
        method: "GET",
        path: path.to_owned(),
        body: None,
    }
}

async fn ask(
    connection: &mut harness::provisioning::KeptConnection,
    path: &str,
) -> Result<(u16, String, String), String> {
    let (status, body) = connection.send(&get(path), &Auth::Token).await?;
    let text = String::from_utf8(body.to_vec()).unwrap();
    let (port, auth) = text.split_once(' ').unwrap();
    Ok((status, port.to_owned(), auth.to_owned()))
}

#[tokio::test]
async fn a_kept_connection_serves_request_after_request_and_opens_another_when_one_ends() {
    let router = axum::Router::new()
        .route("/scim/Users", axum::routing::get(who))
        .route("/scim/Closing", axum::routing::get(who_then_close))
        .route("/scim/Slow", axum::routing::get(slow));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let mut connection = kept(port, 1);

    // One connection for every request, each with the token.
    let (status, first, auth) = ask(&mut connection, "/Users").await.unwrap();
    assert_eq!((status, auth.as_str()), (200, "Bearer t0ken"));
    for _ in 0..3 {
        let (_, again, _) = ask(&mut connection, "/Users").await.unwrap();
        assert_eq!(again, first, "a request opened another connection");
    }

    // The host closes it after its answer: the answer counts, the next request reconnects.
    let (status, closing, _) = ask(&mut connection, "/Closing").await.unwrap();
    assert_eq!((status, closing.as_str()), (200, first.as_str()));
    let (status, after_close, _) = ask(&mut connection, "/Users").await.unwrap();
    assert_eq!(status, 200);
    assert_ne!(after_close, first, "the closed connection was used again");

    // No answer within the request timeout: an error, and the next request reconnects.
    let late = connection.send(&get("/Slow"), &Auth::Token).await;
    assert!(
        late.as_ref()
            .is_err_and(|e| e.contains("did not answer within 1 s")),
        "{late:?}"
    );
    let (status, after_timeout, _) = ask(&mut connection, "/Users").await.unwrap();
    assert_eq!(status, 200);
    assert_ne!(
        after_timeout, after_close,
        "the timed-out connection was used again"
    );

    // No token when asked for none.
    let (_, body) = connection.send(&get("/Users"), &Auth::None).await.unwrap();
    assert!(
        String::from_utf8_lossy(&body).ends_with(" none"),
        "{body:?}"
    );
}

/// A host that answers one request per connection, without `Connection: close`, and closes
/// the connection 100 ms later, as a keep-alive timeout does; the body is the client's port.
async fn closing_when_idle() -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut socket, peer) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0_u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let body = peer.port().to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_connection_the_host_closed_while_idle_is_not_used_for_the_next_request() {
    let port = closing_when_idle().await;
    let mut connection = kept(port, 5);
    let mut ports = Vec::new();
    for _ in 0..3 {
        let (status, body) = connection.send(&get("/Users"), &Auth::Token).await.unwrap();
        assert_eq!(status, 200);
        ports.push(String::from_utf8(body.to_vec()).unwrap());
        // Idle past the host's keep-alive: it has closed the connection.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        ports[0] != ports[1] && ports[1] != ports[2],
        "one connection for requests the host answered on new ones: {ports:?}"
    );
}
