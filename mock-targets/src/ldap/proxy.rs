//! The fault proxy: the mock's faults in front of a real directory. A host under test is pointed
//! at [`LdapFaultProxy`] instead of its directory; every message is forwarded byte for byte, and
//! each request is classified (with the mock's codec) so that the same [`FaultRule`]s the mock
//! applies can refuse it (`fail=`), hold its answer back (`delay=`), cut the connection before
//! (`drop`) or after the directory carried it out (`drop-after`). [`LdapFaultProxy::go_down`]
//! plays a directory restart: every connection closed at once, new ones closed on arrival until
//! [`LdapFaultProxy::come_back`].
//!
//! Forwarding the bytes, not re-encoding decoded messages, keeps controls and extensions the
//! codec does not know intact; a request the codec cannot decode is still forwarded, classified
//! by its protocol-op tag alone (RFC 4511 §4.2–§4.12) with an empty DN. The operation log
//! records what the directory answered (the result code of each final response), so it shows
//! the writes the directory confirmed, not the ones the host asked for; a write whose answer
//! never came (the connection closed by a restart first) is not in it, which is why the probe's
//! reading of the target stays the judge. StartTLS is refused (unwillingToPerform).
//!
//! Plain LDAP on both sides: the proxy reads the messages, so it cannot sit inside a TLS
//! session (LDAPS or StartTLS) between the host and the directory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ldap3_proto::LdapCodec;
use ldap3_proto::proto::LdapOp;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder as _, Encoder as _};

use super::faults::{DROPPED, FaultAction, FaultRule, FaultTable, OpKind, OpRecord};
use super::server::MAX_BER;
use super::session::{lock, refusal};

/// A running fault proxy. Clones share the proxy; it runs until the runtime stops.
#[derive(Clone)]
pub struct LdapFaultProxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LdapFaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapFaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.inner.upstream)
            .finish()
    }
}

struct Inner {
    /// `host:port` of the directory.
    upstream: String,
    faults: FaultTable,
    log: Mutex<Vec<OpRecord>>,
    /// Restarting: connections are closed on arrival.
    down: AtomicBool,
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
}

/// What happens to a forwarded request's answer.
#[derive(Clone, Copy, Debug)]
enum After {
    /// Sent on as it comes.
    Pass,
    /// Held until this instant.
    Hold(Instant),
    /// Not sent: the connection is closed once the directory has answered.
    Cut,
}

/// A request on its way: what it was, for the log, and what happens to its answer.
#[derive(Clone, Debug)]
struct Pending {
    op: OpKind,
    dn: String,
    bound: String,
    after: After,
}

impl LdapFaultProxy {
    /// Listens on `listen` (port 0 for a free one) and forwards each connection to `upstream`
    /// (`host:port` of the directory, plain LDAP). A connection the directory refuses is closed.
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub async fn start(listen: SocketAddr, upstream: &str) -> std::io::Result<LdapFaultProxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (generation, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            upstream: upstream.to_owned(),
            faults: FaultTable::default(),
            log: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            generation,
        });
        let accept = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    // Out of descriptors, say: do not spin.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                // Subscribed before `down` is read: a restart that comes after the read
                // still closes this connection (go_down sets `down`, then bumps).
                let closed = accept.generation.subscribe();
                if accept.down.load(Ordering::SeqCst) {
                    drop(socket);
                    continue;
                }
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve(accept.clone(), socket, closed));
            }
        });
        Ok(LdapFaultProxy { addr, inner })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ldap://127.0.0.1:PORT`, the URL to give the host instead of the directory's.
    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// Adds a fault. `as=` matches the DN the connection last bound with.
    pub fn inject(&self, rule: FaultRule) {
        self.inner.faults.inject(rule);
    }

    /// Removes every fault (a restart in progress goes on: [`Self::come_back`]).
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// Removes the faults `gone` picks (one client's among several), leaving the others.
    pub fn clear_faults_where(&self, gone: impl Fn(&FaultRule) -> bool) {
        self.inner.faults.clear_where(gone);
    }

    /// Plays a directory restart: closes every open connection and closes each new one on
    /// arrival, until [`Self::come_back`].
    pub fn go_down(&self) {
        self.inner.down.store(true, Ordering::SeqCst);
        self.inner.generation.send_modify(|g| *g += 1);
    }

    /// Ends [`Self::go_down`]: new connections are forwarded again.
    pub fn come_back(&self) {
        self.inner.down.store(false, Ordering::SeqCst);
    }

    /// The operations the directory answered (and those the proxy refused or dropped), oldest
    /// first.
    pub fn operations(&self) -> Vec<OpRecord> {
        lock(&self.inner.log).clone()
    }
}

/// Forwards one connection until either side closes it, a fault cuts it or a restart closes
/// every connection. Everything the connection owns is dropped on return, which closes both
/// sockets.
async fn serve(inner: Arc<Inner>, client: TcpStream, mut closed: watch::Receiver<u64>) {
    let upstream = tokio::select! {
        c = TcpStream::connect(&inner.upstream) => match c {
            Ok(s) => s,
            Err(_) => return,
        },
        _ = closed.changed() => return,
    };
    let _ = upstream.set_nodelay(true);
    let (client_read, mut client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    // `None` closes the connection once everything queued before it is written.
    let (to_client, mut outbox) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
    let pending = Arc::new(Mutex::new(HashMap::<i32, Pending>::new()));
    let mut writer = tokio::spawn(async move {
        while let Some(Some(bytes)) = outbox.recv().await {
            if client_write.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let restarted = tokio::select! {
        () = requests(&inner, client_read, upstream_write, to_client.clone(), &pending) => false,
        () = answers(&inner, upstream_read, to_client.clone(), &pending) => false,
        _ = &mut writer => false,
        _ = closed.changed() => true,
    };
    if restarted {
        // A restart closes at once, answers in flight and all.
        writer.abort();
        return;
    }
    // Otherwise what the host was already sent goes out first, then the connection closes.
    let _ = to_client.send(None);
    if tokio::time::timeout(FLUSH, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// How long a closing connection may take to write what was queued for the host.
const FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// The largest answer the proxy reads from the directory: far above any request the mock
/// decodes, as a directory's answers (a big entry, a group) are larger than requests.
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// StartTLS (RFC 4511 §4.14.1): refused, as the proxy cannot read what comes after it.
const START_TLS: &str = "1.3.6.1.4.1.1466.20037";

/// Host → directory: each request classified, faults applied, the rest forwarded.
async fn requests(
    inner: &Inner,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    to_client: mpsc::UnboundedSender<Option<Vec<u8>>>,
    pending: &Mutex<HashMap<i32, Pending>>,
) {
    let mut bound = String::new();
    while let Ok(Some(frame)) = read_frame(&mut from, MAX_BER).await {
        let Some((msgid, op, dn)) = classify(&frame) else {
            // Unbind, abandon: no answer comes; forwarded as they are.
            if to.write_all(&frame).await.is_err() {
                return;
            }
            continue;
        };
        if op == OpKind::Bind {
            bound = dn.clone();
        }
        let log = |code: u32| {
            lock(&inner.log).push(OpRecord {
                op,
                dn: dn.clone(),
                bound: bound.clone(),
                code,
            });
        };
        let refused = (op == OpKind::Extended && dn == START_TLS).then(|| FaultAction::Fail {
            code: 53,
            message: "ecmacert's fault proxy reads every LDAP message, so it cannot carry \
                      StartTLS: point the connector at the proxy without StartTLS"
                .into(),
        });
        let after = match refused.or_else(|| inner.faults.fire(op, &dn, &bound)) {
            Some(FaultAction::Fail { code, message }) => {
                log(code);
                let mut bytes = BytesMut::new();
                if LdapCodec::new(Some(MAX_BER), None)
                    .encode(refusal(op, msgid, code, &message), &mut bytes)
                    .is_err()
                    || to_client.send(Some(bytes.to_vec())).is_err()
                {
                    return;
                }
                continue;
            }
            Some(FaultAction::Drop) => {
                log(DROPPED);
                return;
            }
            Some(FaultAction::Delay(d)) => After::Hold(Instant::now() + d),
            Some(FaultAction::DropAfter) => After::Cut,
            None => After::Pass,
        };
        lock(pending).insert(
            msgid,
            Pending {
                op,
                dn: dn.clone(),
                bound: bound.clone(),
                after,
            },
        );
        if to.write_all(&frame).await.is_err() {
            return;
        }
    }
}

/// Directory → host: answers logged and sent on, held back or swallowed as their request's
/// fault says.
async fn answers(
    inner: &Inner,
    mut from: OwnedReadHalf,
    to_client: mpsc::UnboundedSender<Option<Vec<u8>>>,
    pending: &Mutex<HashMap<i32, Pending>>,
) {
    // One queue per held-back request, so that a search's entries keep their order.
    let mut held: HashMap<i32, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
    while let Ok(Some(frame)) = read_frame(&mut from, MAX_ANSWER).await {
        let Some((msgid, result)) = answer_of(&frame) else {
            return;
        };
        let request = {
            let mut pending = lock(pending);
            if result.is_some() {
                pending.remove(&msgid)
            } else {
                pending.get(&msgid).cloned()
            }
        };
        if let (Some(code), Some(p)) = (result, &request) {
            lock(&inner.log).push(OpRecord {
                op: p.op,
                dn: p.dn.clone(),
                bound: p.bound.clone(),
                code,
            });
        }
        match request.map(|p| p.after) {
            Some(After::Cut) if result.is_some() => return,
            Some(After::Cut) => {}
            Some(After::Hold(until)) => {
                let queue = held.entry(msgid).or_insert_with(|| {
                    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
                    let to_client = to_client.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep_until(until).await;
                        while let Some(bytes) = rx.recv().await {
                            let _ = to_client.send(Some(bytes));
                        }
                    });
                    tx
                });
                let _ = queue.send(frame);
                if result.is_some() {
                    held.remove(&msgid);
                }
            }
            Some(After::Pass) | None => {
                if to_client.send(Some(frame)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads one LDAPMessage (a BER SEQUENCE, definite length) whole; `None` at the end of the
/// stream. A message over `limit` bytes, or an indefinite length, ends the connection.
async fn read_frame(from: &mut OwnedReadHalf, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 2];
    match from.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut frame = head.to_vec();
    let length = if head[1] < 0x80 {
        usize::from(head[1])
    } else {
        let n = usize::from(head[1] & 0x7f);
        if n == 0 || n > 4 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "an LDAP message with an indefinite or oversized length",
            ));
        }
        let mut bytes = vec![0u8; n];
        from.read_exact(&mut bytes).await?;
        frame.extend_from_slice(&bytes);
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if length > limit {
        tracing::warn!(
            length,
            limit,
            "fault proxy: an LDAP message over its size limit; connection closed"
        );
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "an LDAP message over the size limit",
        ));
    }
    let start = frame.len();
    frame.resize(start + length, 0);
    from.read_exact(&mut frame[start..]).await?;
    Ok(Some(frame))
}

/// One BER element: (tag, content range) at `at` in `buf`.
fn element(buf: &[u8], at: usize) -> Option<(u8, std::ops::Range<usize>)> {
    let tag = *buf.get(at)?;
    let first = *buf.get(at + 1)?;
    let (length, start) = if first < 0x80 {
        (usize::from(first), at + 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = buf.get(at + 2..at + 2 + n)?;
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            at + 2 + n,
        )
    };
    let end = start.checked_add(length)?;
    (end <= buf.len()).then_some((tag, start..end))
}

/// A BER INTEGER or ENUMERATED's value (two's complement, at most 4 bytes).
fn integer(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    let negative = bytes[0] & 0x80 != 0;
    let init: i64 = if negative { -1 } else { 0 };
    Some(bytes.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
}

/// The message ID and the protocol op's tag of an LDAPMessage (RFC 4511 §4.1.1).
fn envelope(frame: &[u8]) -> Option<(i32, u8, std::ops::Range<usize>)> {
    let (0x30, body) = element(frame, 0)? else {
        return None;
    };
    let (0x02, id) = element(frame, body.start)? else {
        return None;
    };
    let msgid = i32::try_from(integer(&frame[id.clone()])?).ok()?;
    let (tag, op) = element(frame, id.end)?;
    Some((msgid, tag, op))
}

/// A request's message ID, kind and DN; `None` for unbind, abandon and anything that is not a
/// request with an answer.
fn classify(frame: &[u8]) -> Option<(i32, OpKind, String)> {
    let (msgid, tag, _) = envelope(frame)?;
    let kind = match tag {
        0x60 => OpKind::Bind,
        0x63 => OpKind::Search,
        0x66 => OpKind::Modify,
        0x68 => OpKind::Add,
        0x4a => OpKind::Delete,
        0x6c => OpKind::ModifyDn,
        0x6e => OpKind::Compare,
        0x77 => OpKind::Extended,
        _ => return None,
    };
    let mut buf = BytesMut::from(frame);
    let decoded = LdapCodec::new(Some(MAX_BER), None).decode(&mut buf);
    let dn = match decoded {
        Ok(Some(msg)) => match msg.op {
            LdapOp::BindRequest(r) => r.dn,
            LdapOp::SearchRequest(r) => r.base,
            LdapOp::AddRequest(r) => r.dn,
            LdapOp::ModifyRequest(r) => r.dn,
            LdapOp::DelRequest(dn) => dn,
            LdapOp::ModifyDNRequest(r) => r.dn,
            LdapOp::CompareRequest(r) => r.dn,
            LdapOp::ExtendedRequest(r) => r.name,
            _ => String::new(),
        },
        _ => String::new(),
    };
    Some((msgid, kind, dn))
}

/// An answer's message ID, and its result code when it is a request's final answer (not a
/// search entry, reference or intermediate response). `None` for what is not an LDAPMessage.
fn answer_of(frame: &[u8]) -> Option<(i32, Option<u32>)> {
    let (msgid, tag, op) = envelope(frame)?;
    let final_answer = matches!(tag, 0x61 | 0x65 | 0x67 | 0x69 | 0x6b | 0x6d | 0x6f | 0x78);
    if !final_answer {
        return Some((msgid, None));
    }
    let (0x0a, code) = element(frame, op.start)? else {
        return Some((msgid, None));
    };
    let code = u32::try_from(integer(&frame[code])?).ok()?;
    Some((msgid, Some(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(msg: ldap3_proto::LdapMsg) -> Vec<u8> {
        let mut bytes = BytesMut::new();
        LdapCodec::new(Some(MAX_BER), None)
            .encode(msg, &mut bytes)
            .unwrap();
        bytes.to_vec()
    }

    #[test]
    fn requests_and_answers_are_read_from_their_bytes() {
        let add = encoded(ldap3_proto::LdapMsg {
            msgid: 300,
            op: LdapOp::AddRequest(ldap3_proto::proto::LdapAddRequest {
                dn: "cn=a,dc=x".into(),
                attributes: Vec::new(),
            }),
            ctrl: Vec::new(),
        });
        assert_eq!(
            classify(&add),
            Some((300, OpKind::Add, "cn=a,dc=x".to_owned()))
        );
        let delete = encoded(ldap3_proto::LdapMsg {
            msgid: 7,
            op: LdapOp::DelRequest("cn=b,dc=x".into()),
            ctrl: Vec::new(),
        });
        assert_eq!(
            classify(&delete),
            Some((7, OpKind::Delete, "cn=b,dc=x".to_owned()))
        );
        let refused = encoded(refusal(OpKind::Modify, 70000, 50, "no"));
        assert_eq!(answer_of(&refused), Some((70000, Some(50))));
        let unbind = encoded(ldap3_proto::LdapMsg {
            msgid: 9,
            op: LdapOp::UnbindRequest,
            ctrl: Vec::new(),
        });
        assert_eq!(classify(&unbind), None);
        assert_eq!(answer_of(b"\x30\x05\x02\x01"), None);
        assert_eq!(integer(&[0xff]), Some(-1));
    }
}
