//! The protocol side: a [`Session`] turns one request message into its response messages
//! ([`Session::handle`], no I/O), and [`MockLdap`] runs sessions under a thin tokio codec loop.
//! Fault injection and the operation log live here, because they are about requests, not about
//! the tree.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use ldap3_proto::proto::{
    LdapAddRequest, LdapBindCred, LdapBindResponse, LdapExtendedResponse, LdapModifyRequest,
    LdapModifyType, LdapOp, LdapPartialAttribute, LdapResult, LdapResultCode, LdapSearchRequest,
    LdapSearchResultEntry, LdapSearchScope,
};
use ldap3_proto::{LdapCodec, LdapMsg, control::LdapControl};
use tokio::net::TcpListener;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::dit::{Change, Directory, Entry, LdapError, Scope, code};
use super::{Flavour, MockConfig};

/// The largest request the mock decodes (the protocol crate's default is 32 KiB).
const MAX_BER: usize = 8 * 1024 * 1024;

/// The kinds of operation, for the log and for fault rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Bind.
    Bind,
    /// Search.
    Search,
    /// Add.
    Add,
    /// Modify.
    Modify,
    /// Delete.
    Delete,
    /// Modify DN.
    ModifyDn,
    /// Compare.
    Compare,
    /// Extended operations (whoami, StartTLS).
    Extended,
}

/// One logged operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// What it was.
    pub op: OpKind,
    /// The DN it addressed.
    pub dn: String,
    /// Who was bound.
    pub bound: String,
    /// The result code sent.
    pub code: u32,
}

/// What an injected fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this result code and message, without touching the tree.
    Fail {
        /// The result code.
        code: u32,
        /// The diagnostic message.
        message: String,
    },
    /// Wait this long, then carry on normally.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
}

/// How often a fault fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    /// The next matching operation only.
    Once,
    /// The next N matching operations.
    N(usize),
    /// Every matching operation until cleared.
    Always,
}

/// A fault: which operations it hits and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// The operation kind; `None` for every kind.
    pub op: Option<OpKind>,
    /// A substring of the target DN (any case); `None` for every DN.
    pub dn_contains: Option<String>,
    /// Only operations by this bound DN (any case); `None` for everyone. Lets a test break the
    /// host's connection while its own probe keeps working.
    pub bound_as: Option<String>,
    /// What it does.
    pub action: FaultAction,
    /// How often.
    pub times: Times,
}

impl FaultRule {
    fn hits(&self, op: OpKind, dn: &str, bound: &str) -> bool {
        self.op.is_none_or(|o| o == op)
            && self
                .dn_contains
                .as_ref()
                .is_none_or(|s| dn.to_lowercase().contains(&s.to_lowercase()))
            && self
                .bound_as
                .as_ref()
                .is_none_or(|b| b.eq_ignore_ascii_case(bound))
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) dir: Mutex<Directory>,
    pub(crate) faults: Mutex<Vec<(FaultRule, usize)>>,
    pub(crate) log: Mutex<Vec<OpRecord>>,
    pub(crate) size_limits: Vec<(String, usize)>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The fault that fires for this operation, if any (consuming one firing).
    fn fault(&self, op: OpKind, dn: &str, bound: &str) -> Option<FaultAction> {
        let mut faults = lock(&self.faults);
        let i = faults
            .iter()
            .position(|(rule, left)| *left > 0 && rule.hits(op, dn, bound))?;
        let (rule, left) = &mut faults[i];
        if rule.times != Times::Always {
            *left -= 1;
        }
        Some(rule.action.clone())
    }
}

/// What a request produced: messages to send, after an optional delay, or a dropped connection.
#[derive(Debug, Default)]
pub struct Response {
    /// Messages to send, in order.
    pub messages: Vec<LdapMsg>,
    /// Wait before sending.
    pub delay: Option<Duration>,
    /// Close the connection instead of answering.
    pub drop: bool,
    /// The client unbound.
    pub close: bool,
}

/// One connection's state.
pub struct Session {
    shared: Arc<Shared>,
    bound: String,
}

fn result(code: u32, message: &str, matched: &str) -> LdapResult {
    LdapResult {
        code: result_code(code),
        matcheddn: matched.to_owned(),
        message: message.to_owned(),
        referral: Vec::new(),
    }
}

fn result_code(code: u32) -> LdapResultCode {
    use LdapResultCode as C;
    match code {
        0 => C::Success,
        1 => C::OperationsError,
        2 => C::ProtocolError,
        3 => C::TimeLimitExceeded,
        4 => C::SizeLimitExceeded,
        5 => C::CompareFalse,
        6 => C::CompareTrue,
        7 => C::AuthMethodNotSupported,
        8 => C::StrongerAuthRequired,
        11 => C::AdminLimitExceeded,
        12 => C::UnavailableCriticalExtension,
        13 => C::ConfidentialityRequired,
        16 => C::NoSuchAttribute,
        17 => C::UndefinedAttributeType,
        18 => C::InappropriateMatching,
        19 => C::ConstraintViolation,
        20 => C::AttributeOrValueExists,
        21 => C::InvalidAttributeSyntax,
        32 => C::NoSuchObject,
        34 => C::InvalidDNSyntax,
        48 => C::InappropriateAuthentication,
        49 => C::InvalidCredentials,
        50 => C::InsufficentAccessRights,
        51 => C::Busy,
        52 => C::Unavailable,
        53 => C::UnwillingToPerform,
        64 => C::NamingViolation,
        65 => C::ObjectClassViolation,
        66 => C::NotAllowedOnNonLeaf,
        67 => C::NotALlowedOnRDN,
        68 => C::EntryAlreadyExists,
        69 => C::ObjectClassModsProhibited,
        _ => C::Other,
    }
}

fn error_result(e: &LdapError) -> LdapResult {
    result(e.code, &e.message, &e.matched)
}

fn reply(msgid: i32, op: LdapOp) -> LdapMsg {
    LdapMsg {
        msgid,
        op,
        ctrl: Vec::new(),
    }
}

/// Which attributes a search returns for an entry.
fn select(
    entry: &Entry,
    requested: &[String],
    typesonly: bool,
    flavour: Flavour,
) -> Vec<LdapPartialAttribute> {
    let all_user = requested.is_empty() || requested.iter().any(|a| a == "*");
    let all_operational = requested.iter().any(|a| a == "+");
    let named = |name: &str| {
        requested.iter().any(|r| {
            r.eq_ignore_ascii_case(name)
                || super::schema::attribute(r).is_some_and(|t| t.name.eq_ignore_ascii_case(name))
        })
    };
    let mut out = Vec::new();
    for a in &entry.attrs {
        if all_user || named(&a.name) {
            out.push(LdapPartialAttribute {
                atype: a.name.clone(),
                vals: if typesonly {
                    Vec::new()
                } else {
                    a.values.clone()
                },
            });
        }
    }
    for a in &entry.operational {
        // AD returns objectGUID with the user attributes.
        let ad_user = flavour == Flavour::AdLds && a.name == "objectGUID" && all_user;
        if all_operational || named(&a.name) || ad_user {
            out.push(LdapPartialAttribute {
                atype: a.name.clone(),
                vals: if typesonly {
                    Vec::new()
                } else {
                    a.values.clone()
                },
            });
        }
    }
    out
}

impl Session {
    /// A new, anonymous session.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Session {
            shared,
            bound: String::new(),
        }
    }

    fn log(&self, op: OpKind, dn: &str, code: u32) {
        lock(&self.shared.log).push(OpRecord {
            op,
            dn: dn.to_owned(),
            bound: self.bound.clone(),
            code,
        });
    }

    /// Handles one request.
    pub fn handle(&mut self, msg: LdapMsg) -> Response {
        let id = msg.msgid;
        let (kind, dn) = match &msg.op {
            LdapOp::BindRequest(r) => (OpKind::Bind, r.dn.clone()),
            LdapOp::SearchRequest(r) => (OpKind::Search, r.base.clone()),
            LdapOp::AddRequest(r) => (OpKind::Add, r.dn.clone()),
            LdapOp::ModifyRequest(r) => (OpKind::Modify, r.dn.clone()),
            LdapOp::DelRequest(dn) => (OpKind::Delete, dn.clone()),
            LdapOp::ModifyDNRequest(r) => (OpKind::ModifyDn, r.dn.clone()),
            LdapOp::CompareRequest(r) => (OpKind::Compare, r.dn.clone()),
            LdapOp::ExtendedRequest(r) => (OpKind::Extended, r.name.clone()),
            LdapOp::UnbindRequest => {
                return Response {
                    close: true,
                    ..Response::default()
                };
            }
            _ => return Response::default(),
        };
        let mut delay = None;
        match self.shared.fault(kind, &dn, &self.bound) {
            Some(FaultAction::Drop) => {
                self.log(kind, &dn, 0);
                return Response {
                    drop: true,
                    ..Response::default()
                };
            }
            Some(FaultAction::Delay(d)) => delay = Some(d),
            Some(FaultAction::Fail { code, message }) => {
                self.log(kind, &dn, code);
                let res = result(code, &message, "");
                let op = match kind {
                    OpKind::Bind => LdapOp::BindResponse(LdapBindResponse {
                        res,
                        saslcreds: None,
                    }),
                    OpKind::Search => LdapOp::SearchResultDone(res),
                    OpKind::Add => LdapOp::AddResponse(res),
                    OpKind::Modify => LdapOp::ModifyResponse(res),
                    OpKind::Delete => LdapOp::DelResponse(res),
                    OpKind::ModifyDn => LdapOp::ModifyDNResponse(res),
                    OpKind::Compare => LdapOp::CompareResult(res),
                    OpKind::Extended => LdapOp::ExtendedResponse(LdapExtendedResponse {
                        res,
                        name: None,
                        value: None,
                    }),
                };
                return Response {
                    messages: vec![reply(id, op)],
                    ..Response::default()
                };
            }
            None => {}
        }
        let (messages, code) = self.run(id, msg);
        self.log(kind, &dn, code);
        Response {
            messages,
            delay,
            drop: false,
            close: false,
        }
    }

    fn who(&self) -> String {
        self.bound.clone()
    }

    fn run(&mut self, id: i32, msg: LdapMsg) -> (Vec<LdapMsg>, u32) {
        let shared = self.shared.clone();
        match msg.op {
            LdapOp::BindRequest(r) => {
                let password = match &r.cred {
                    LdapBindCred::Simple(p) => p.as_bytes().to_vec(),
                    _ => {
                        let res = result(7, "SASL is not supported by the mock", "");
                        return (
                            vec![reply(
                                id,
                                LdapOp::BindResponse(LdapBindResponse {
                                    res,
                                    saslcreds: None,
                                }),
                            )],
                            7,
                        );
                    }
                };
                let outcome = lock(&shared.dir).bind(&r.dn, &password);
                let (res, code) = match outcome {
                    Ok(who) => {
                        self.bound = who.unwrap_or_default();
                        (result(0, "", ""), 0)
                    }
                    Err(e) => {
                        self.bound.clear();
                        (error_result(&e), e.code)
                    }
                };
                (
                    vec![reply(
                        id,
                        LdapOp::BindResponse(LdapBindResponse {
                            res,
                            saslcreds: None,
                        }),
                    )],
                    code,
                )
            }
            LdapOp::AddRequest(LdapAddRequest { dn, attributes }) => {
                let given = attributes.into_iter().map(|a| (a.atype, a.vals)).collect();
                let by = self.who();
                let outcome = lock(&shared.dir).add(&dn, given, &by);
                let (res, code) = done(outcome);
                (vec![reply(id, LdapOp::AddResponse(res))], code)
            }
            LdapOp::ModifyRequest(LdapModifyRequest { dn, changes }) => {
                let changes = changes
                    .into_iter()
                    .map(|c| {
                        let (name, vals) = (c.modification.atype, c.modification.vals);
                        match c.operation {
                            LdapModifyType::Add => Change::Add(name, vals),
                            LdapModifyType::Delete => Change::Delete(name, vals),
                            _ => Change::Replace(name, vals),
                        }
                    })
                    .collect();
                let by = self.who();
                let outcome = lock(&shared.dir).modify(&dn, changes, &by);
                let (res, code) = done(outcome);
                (vec![reply(id, LdapOp::ModifyResponse(res))], code)
            }
            LdapOp::DelRequest(dn) => {
                let outcome = lock(&shared.dir).delete(&dn);
                let (res, code) = done(outcome);
                (vec![reply(id, LdapOp::DelResponse(res))], code)
            }
            LdapOp::ModifyDNRequest(r) => {
                let by = self.who();
                let outcome = lock(&shared.dir).modify_dn(
                    &r.dn,
                    &r.newrdn,
                    r.deleteoldrdn,
                    r.new_superior.as_deref(),
                    &by,
                );
                let (res, code) = done(outcome);
                (vec![reply(id, LdapOp::ModifyDNResponse(res))], code)
            }
            LdapOp::CompareRequest(r) => {
                let outcome = lock(&shared.dir).compare(&r.dn, &r.atype, &r.val);
                let (res, code) = match outcome {
                    Ok(true) => (result(code::COMPARE_TRUE, "", ""), code::COMPARE_TRUE),
                    Ok(false) => (result(code::COMPARE_FALSE, "", ""), code::COMPARE_FALSE),
                    Err(e) => (error_result(&e), e.code),
                };
                (vec![reply(id, LdapOp::CompareResult(res))], code)
            }
            LdapOp::ExtendedRequest(r) => {
                let (res, value) = if r.name == ldap3_proto::proto::OID_WHOAMI {
                    let value = if self.bound.is_empty() {
                        String::new()
                    } else {
                        format!("dn:{}", self.bound)
                    };
                    (result(0, "", ""), Some(value.into_bytes()))
                } else {
                    (
                        result(
                            code::UNAVAILABLE,
                            "the mock supports no TLS and no extended operation but whoami",
                            "",
                        ),
                        None,
                    )
                };
                let code = if res.code == LdapResultCode::Success {
                    0
                } else {
                    code::UNAVAILABLE
                };
                (
                    vec![reply(
                        id,
                        LdapOp::ExtendedResponse(LdapExtendedResponse {
                            res,
                            name: None,
                            value,
                        }),
                    )],
                    code,
                )
            }
            LdapOp::SearchRequest(r) => self.search(id, r, &msg.ctrl),
            _ => (Vec::new(), 0),
        }
    }

    fn search(
        &self,
        id: i32,
        r: LdapSearchRequest,
        controls: &[LdapControl],
    ) -> (Vec<LdapMsg>, u32) {
        let scope = match r.scope {
            LdapSearchScope::Base => Scope::Base,
            LdapSearchScope::OneLevel => Scope::OneLevel,
            LdapSearchScope::Subtree => Scope::Subtree,
            LdapSearchScope::Children => Scope::Children,
        };
        let (found, flavour, is_root) = {
            let dir = lock(&self.shared.dir);
            (
                dir.search(&r.base, scope, &r.filter),
                dir.flavour(),
                dir.is_root(&self.bound),
            )
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                return (
                    vec![reply(id, LdapOp::SearchResultDone(error_result(&e)))],
                    e.code,
                );
            }
        };
        let paged = controls.iter().find_map(|c| match c {
            LdapControl::SimplePagedResults { size, cookie } => Some((*size, cookie.clone())),
            _ => None,
        });
        let entry_msg = |e: &Entry| {
            reply(
                id,
                LdapOp::SearchResultEntry(LdapSearchResultEntry {
                    dn: e.dn.clone(),
                    attributes: select(e, &r.attrs, r.typesonly, flavour),
                }),
            )
        };
        if let Some((size, cookie)) = paged {
            let offset = cookie
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, |b| u64::from_be_bytes(b) as usize);
            let size = usize::try_from(size).unwrap_or(0).max(1);
            let page: Vec<&Entry> = found.iter().skip(offset).take(size).collect();
            let next = offset + page.len();
            let mut msgs: Vec<LdapMsg> = page.into_iter().map(entry_msg).collect();
            let cookie = if next < found.len() {
                (next as u64).to_be_bytes().to_vec()
            } else {
                Vec::new()
            };
            let mut done = reply(id, LdapOp::SearchResultDone(result(0, "", "")));
            done.ctrl = vec![LdapControl::SimplePagedResults { size: 0, cookie }];
            msgs.push(done);
            return (msgs, 0);
        }
        // Unpaged: the server's size limit for the bound DN (the root DN has none), and the
        // client's own.
        let server_limit = if is_root {
            None
        } else {
            self.shared
                .size_limits
                .iter()
                .find(|(dn, _)| dn.eq_ignore_ascii_case(&self.bound))
                .map(|(_, n)| *n)
        };
        let client_limit = usize::try_from(r.sizelimit).ok().filter(|n| *n > 0);
        let limit = match (server_limit, client_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut msgs: Vec<LdapMsg> = found
            .iter()
            .take(limit.unwrap_or(usize::MAX))
            .map(entry_msg)
            .collect();
        let code = if limit.is_some_and(|l| found.len() > l) {
            code::SIZE_LIMIT_EXCEEDED
        } else {
            0
        };
        msgs.push(reply(id, LdapOp::SearchResultDone(result(code, "", ""))));
        (msgs, code)
    }
}

fn done(outcome: Result<(), LdapError>) -> (LdapResult, u32) {
    match outcome {
        Ok(()) => (result(0, "", ""), 0),
        Err(e) => (error_result(&e), e.code),
    }
}

/// A running mock LDAP server.
#[derive(Clone)]
pub struct MockLdap {
    addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    flavour: Flavour,
}

impl std::fmt::Debug for MockLdap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockLdap")
            .field("addr", &self.addr)
            .field("flavour", &self.flavour)
            .finish()
    }
}

impl MockLdap {
    /// Starts a server on `config.listen` (port 0 for a free one). It runs until the process
    /// ends or the runtime stops.
    pub async fn start(config: MockConfig) -> std::io::Result<MockLdap> {
        let dir = Directory::new(
            config.flavour,
            &config.suffix,
            &config.root_dn,
            &config.root_password,
        )
        .map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{}: {}", config.suffix, e.message),
            )
        })?;
        let shared = Arc::new(Shared {
            dir: Mutex::new(dir),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            size_limits: config.size_limits.clone(),
        });
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let accept = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                // Without it, Nagle and delayed ACKs cost ~40 ms per round trip.
                let _ = socket.set_nodelay(true);
                let shared = accept.clone();
                tokio::spawn(async move {
                    let (r, w) = socket.into_split();
                    let mut reader = FramedRead::new(r, LdapCodec::new(Some(MAX_BER), None));
                    let mut writer = FramedWrite::new(w, LdapCodec::new(Some(MAX_BER), None));
                    let mut session = Session::new(shared);
                    while let Some(Ok(msg)) = reader.next().await {
                        let response = session.handle(msg);
                        if response.drop {
                            return;
                        }
                        if let Some(d) = response.delay {
                            tokio::time::sleep(d).await;
                        }
                        for m in response.messages {
                            if writer.send(m).await.is_err() {
                                return;
                            }
                        }
                        if response.close {
                            return;
                        }
                    }
                });
            }
        });
        Ok(MockLdap {
            addr,
            shared,
            flavour: config.flavour,
        })
    }

    /// `ldap://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Adds an entry directly, as the root DN (for seeding).
    pub fn seed(&self, dn: &str, attrs: &[(&str, &[&str])]) -> Result<(), LdapError> {
        let given = attrs
            .iter()
            .map(|(a, vs)| {
                (
                    (*a).to_owned(),
                    vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                )
            })
            .collect();
        lock(&self.shared.dir).add(dn, given, "seed")
    }

    /// Every entry, by normalised DN.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Entry> {
        lock(&self.shared.dir).entries().clone()
    }

    /// The operations served so far.
    pub fn operations(&self) -> Vec<OpRecord> {
        lock(&self.shared.log).clone()
    }

    /// Injects a fault.
    pub fn inject(&self, rule: FaultRule) {
        let left = match rule.times {
            Times::Once => 1,
            Times::N(n) => n,
            Times::Always => usize::MAX,
        };
        lock(&self.shared.faults).push((rule, left));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }
}
