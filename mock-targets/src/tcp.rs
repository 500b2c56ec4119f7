//! A protocol-unaware TCP fault proxy, for targets whose protocol the suite does not read
//! (PostgreSQL's and MySQL's wire protocols): it forwards bytes between the host under test and
//! its database, and on cue refuses every connection or holds every chunk back. Faults at the
//! connection level only — which statement a chunk carries is not known, so nothing is aimed at
//! one operation (the LDAP proxy, [`crate::ldap::LdapFaultProxy`], does that for directories).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the connections it forwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcpFault {
    /// Forward as they come.
    #[default]
    None,
    /// Close every open connection and each new one on arrival: a database that is down or
    /// restarting.
    Refuse,
    /// Hold every chunk, in either direction, this long before passing it on: a slow
    /// database or network.
    Delay(Duration),
}

/// A running TCP fault proxy. Clones share the proxy; it runs until the runtime stops.
#[derive(Clone, Debug)]
pub struct TcpFaultProxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: String,
    fault: Mutex<TcpFault>,
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
}

impl Inner {
    fn fault(&self) -> TcpFault {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TcpFaultProxy {
    /// Listens on `listen` (port 0 for a free one) and forwards each connection to `upstream`
    /// (`host:port`). A connection the upstream refuses is closed.
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub async fn start(listen: SocketAddr, upstream: &str) -> std::io::Result<TcpFaultProxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (generation, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            upstream: upstream.to_owned(),
            fault: Mutex::new(TcpFault::None),
            generation,
        });
        let accept = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Subscribed before the fault is read: a refusal that comes after the read
                // still closes this connection (set stores the fault, then bumps).
                let closed = accept.generation.subscribe();
                if accept.fault() == TcpFault::Refuse {
                    drop(socket);
                    continue;
                }
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve(accept.clone(), socket, closed));
            }
        });
        Ok(TcpFaultProxy { addr, inner })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Puts `fault` in force (replacing the one before). [`TcpFault::Refuse`] also closes every
    /// open connection.
    pub fn set(&self, fault: TcpFault) {
        *self.inner.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
        if fault == TcpFault::Refuse {
            self.inner.generation.send_modify(|g| *g += 1);
        }
    }

    /// Back to forwarding as things come.
    pub fn clear(&self) {
        self.set(TcpFault::None);
    }
}

async fn serve(inner: Arc<Inner>, client: TcpStream, mut closed: watch::Receiver<u64>) {
    let upstream = tokio::select! {
        c = TcpStream::connect(&inner.upstream) => match c {
            Ok(s) => s,
            Err(_) => return,
        },
        _ = closed.changed() => return,
    };
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    tokio::select! {
        () = pipe(&inner, client_read, upstream_write) => {}
        () = pipe(&inner, upstream_read, client_write) => {}
        _ = closed.changed() => {}
    }
}

/// Copies one direction until either end closes, holding each chunk as the fault says.
async fn pipe(inner: &Inner, mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let TcpFault::Delay(d) = inner.fault() {
            tokio::time::sleep(d).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
