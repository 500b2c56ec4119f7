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
    /// Carry out the operation at once, but answer only after this long (a directory whose
    /// replies are slow: a client that gives up early still finds the change made).
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

impl std::str::FromStr for OpKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "bind" => OpKind::Bind,
            "search" => OpKind::Search,
            "add" => OpKind::Add,
            "modify" => OpKind::Modify,
            "delete" => OpKind::Delete,
            "modifydn" | "rename" => OpKind::ModifyDn,
            "compare" => OpKind::Compare,
            "extended" => OpKind::Extended,
            other => {
                return Err(format!(
                    "unknown operation {other:?} (expected bind, search, add, modify, delete, \
                     modifydn, compare or extended)"
                ));
            }
        })
    }
}

/// A fault written as text, for `ecmacert mock-ldap --fault`: `;`-separated parts, exactly one
/// of them the action.
///
/// - `op=add` (bind, search, add, modify, delete, modifydn, compare, extended; default: every
///   kind), `dn=ou=people` (a substring of the target DN), `as=cn=ecma,dc=x` (the bound DN),
///   `times=once|always|N` (default once);
/// - the action: `fail=CODE` or `fail=CODE:message`, `delay=SECONDS`, or `drop`.
///
/// `op=add;fail=68`, `op=modify;dn=uid=alice;fail=19:sn is limited to 8 characters;times=always`,
/// `drop;times=3`, `op=delete;delay=4.5`.
impl std::str::FromStr for FaultRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut rule = FaultRule {
            op: None,
            dn_contains: None,
            bound_as: None,
            action: FaultAction::Drop,
            times: Times::Once,
        };
        let mut action = None;
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "op" => rule.op = Some(value.parse()?),
                "dn" => rule.dn_contains = Some(value.to_owned()),
                "as" => rule.bound_as = Some(value.to_owned()),
                "times" => {
                    rule.times = match value.to_ascii_lowercase().as_str() {
                        "once" => Times::Once,
                        "always" => Times::Always,
                        n => match n.parse::<usize>() {
                            Ok(n) if n > 0 => Times::N(n),
                            _ => {
                                return Err(format!(
                                    "times={value:?}: expected once, always or a count above 0"
                                ));
                            }
                        },
                    }
                }
                "fail" | "delay" | "drop" if action.is_some() => {
                    return Err(format!("{s:?} has more than one action"));
                }
                "fail" => {
                    let (code, message) = value.split_once(':').unwrap_or((value, ""));
                    let code: u32 = code.trim().parse().map_err(|_| {
                        format!("fail={value:?}: expected an LDAP result code, e.g. fail=53")
                    })?;
                    action = Some(FaultAction::Fail {
                        code,
                        message: message.trim().to_owned(),
                    });
                }
                "delay" => {
                    let seconds: f64 = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| {
                            format!("delay={value:?}: expected seconds, e.g. delay=4")
                        })?;
                    action = Some(FaultAction::Delay(Duration::from_secs_f64(seconds)));
                }
                "drop" if value.is_empty() => action = Some(FaultAction::Drop),
                other => {
                    return Err(format!(
                        "{other:?} in {s:?}: expected op=, dn=, as=, times=, fail=, delay= or drop"
                    ));
                }
            }
        }
        rule.action = action.ok_or_else(|| {
            format!("{s:?} has no action: add fail=CODE[:message], delay=SECONDS or drop")
        })?;
        Ok(rule)
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) dir: Mutex<Directory>,
    pub(crate) faults: Mutex<Vec<(FaultRule, usize)>>,
    pub(crate) log: Mutex<Vec<OpRecord>>,
    pub(crate) size_limits: Vec<(String, usize)>,
    pub(crate) update_tls: bool,
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
    /// The connection is a TLS session.
    tls: bool,
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
    pub(crate) fn new(shared: Arc<Shared>, tls: bool) -> Self {
        Session {
            shared,
            bound: String::new(),
            tls,
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
        let update = matches!(
            kind,
            OpKind::Add | OpKind::Modify | OpKind::Delete | OpKind::ModifyDn
        );
        let refusal = (self.shared.update_tls && !self.tls && update).then(|| FaultAction::Fail {
            code: 13,
            message: "TLS confidentiality required".into(),
        });
        match refusal.or_else(|| self.shared.fault(kind, &dn, &self.bound)) {
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
        let paged = controls.iter().find_map(|c| match c {
            LdapControl::SimplePagedResults { size, cookie } => Some((*size, cookie.clone())),
            _ => None,
        });
        // The cookie is the number of the last entry sent; pages walk entries in creation
        // order, so entries added or removed between pages do not shift what comes next.
        let page = paged.as_ref().map(|(size, cookie)| {
            let after = cookie
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_be_bytes);
            (after, usize::try_from(*size).unwrap_or(0).max(1))
        });
        let (found, flavour, is_root) = {
            let dir = lock(&self.shared.dir);
            (
                dir.search(&r.base, scope, &r.filter, page),
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
        let entry_msg = |e: &Entry| {
            reply(
                id,
                LdapOp::SearchResultEntry(LdapSearchResultEntry {
                    dn: e.dn.clone(),
                    attributes: select(e, &r.attrs, r.typesonly, flavour),
                }),
            )
        };
        if let Some((_, size)) = page {
            let rest: Vec<&Entry> = found.iter().collect();
            let more = rest.len() > size;
            let page: Vec<&Entry> = rest.into_iter().take(size).collect();
            let cookie = match page.last() {
                Some(last) if more => last.id.to_be_bytes().to_vec(),
                _ => Vec::new(),
            };
            let mut msgs: Vec<LdapMsg> = page.into_iter().map(entry_msg).collect();
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

/// Serves one connection (`tls`: a TLS session) until the client unbinds or goes.
async fn serve_connection<S>(stream: S, shared: Arc<Shared>, tls: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (r, w) = tokio::io::split(stream);
    let mut reader = FramedRead::new(r, LdapCodec::new(Some(MAX_BER), None));
    // One writer per connection; delayed answers are sent from their own tasks so that, as on a
    // real server, a slow operation does not hold up the next.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<LdapMsg>>();
    tokio::spawn(async move {
        let mut writer = FramedWrite::new(w, LdapCodec::new(Some(MAX_BER), None));
        while let Some(Some(m)) = rx.recv().await {
            if writer.send(m).await.is_err() {
                return;
            }
        }
    });
    let mut session = Session::new(shared, tls);
    while let Some(Ok(msg)) = reader.next().await {
        let response = session.handle(msg);
        if response.drop {
            let _ = tx.send(None);
            return;
        }
        match response.delay {
            Some(d) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    for m in response.messages {
                        let _ = tx.send(Some(m));
                    }
                });
            }
            None => {
                for m in response.messages {
                    let _ = tx.send(Some(m));
                }
            }
        }
        if response.close {
            return;
        }
    }
}

/// A running mock LDAP server.
#[derive(Clone)]
pub struct MockLdap {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
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
        let invalid = |what: &str, e: LdapError| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what}: {}", e.message),
            )
        };
        let mut dir = Directory::new(
            config.flavour,
            &config.suffix,
            &config.root_dn,
            &config.root_password,
        )
        .map_err(|e| invalid(&config.suffix, e))?;
        for (dn, password) in &config.accounts {
            dir.add_account(dn, password).map_err(|e| invalid(dn, e))?;
        }
        let shared = Arc::new(Shared {
            dir: Mutex::new(dir),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            size_limits: config.size_limits.clone(),
            update_tls: config.update_tls,
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
                tokio::spawn(serve_connection(socket, accept.clone(), false));
            }
        });
        let tls_addr = match config.tls {
            None => None,
            Some(tls) => {
                let listener = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0)).await?;
                let tls_addr = listener.local_addr()?;
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                let accept = shared.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok((socket, _)) = listener.accept().await else {
                            continue;
                        };
                        let _ = socket.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        let shared = accept.clone();
                        tokio::spawn(async move {
                            // A client that fails the handshake gets nothing more.
                            if let Ok(stream) = acceptor.accept(socket).await {
                                serve_connection(stream, shared, true).await;
                            }
                        });
                    }
                });
                Some(tls_addr)
            }
        };
        Ok(MockLdap {
            addr,
            tls_addr,
            shared,
            flavour: config.flavour,
        })
    }

    /// A new anonymous session on this server's directory, driven without a socket: each
    /// [`Session::handle`] is one request, as a connection would deliver it (the property
    /// tests feed it decoded and made-up requests).
    pub fn session(&self) -> Session {
        Session::new(self.shared.clone(), false)
    }

    /// `ldap://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// `ldaps://localhost:PORT` when the mock serves LDAPS (`MockConfig::tls`): `localhost`,
    /// the name a loopback test certificate carries.
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_addr
            .map(|a| format!("ldaps://localhost:{}", a.port()))
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

    /// Creates the naming context's own entry, as each flavour shapes it (`dcObject` +
    /// `organization` for OpenLDAP, `container` for AD LDS) from its first RDN.
    pub fn seed_naming_context(&self) -> Result<(), LdapError> {
        let suffix = lock(&self.shared.dir).suffix().to_owned();
        let dn =
            scim_proto::dn::Dn::parse(&suffix).map_err(|e| LdapError::new(34, e.to_string()))?;
        let first = dn.rdns().first().and_then(|r| r.0.first()).cloned();
        let (attr, value) = first.map_or((String::new(), String::new()), |a| (a.attr, a.value));
        match (self.flavour, attr.to_ascii_lowercase().as_str()) {
            (Flavour::OpenLdap, "dc") => self.seed(
                &suffix,
                &[
                    ("objectClass", &["dcObject", "organization"]),
                    ("dc", &[&value]),
                    ("o", &[&value]),
                ],
            ),
            (Flavour::OpenLdap, "ou") => self.seed(
                &suffix,
                &[("objectClass", &["organizationalUnit"]), ("ou", &[&value])],
            ),
            (Flavour::OpenLdap, "o") => self.seed(
                &suffix,
                &[("objectClass", &["organization"]), ("o", &[&value])],
            ),
            (Flavour::AdLds, "cn") => self.seed(
                &suffix,
                &[("objectClass", &["container"]), ("cn", &[&value])],
            ),
            (Flavour::AdLds, "ou") => self.seed(
                &suffix,
                &[("objectClass", &["organizationalUnit"]), ("ou", &[&value])],
            ),
            (Flavour::AdLds, "dc") => self.seed(
                &suffix,
                &[("objectClass", &["domainDNS"]), ("dc", &[&value])],
            ),
            _ => Err(LdapError::new(
                53,
                format!("no way to create a naming context named {attr}=…"),
            )),
        }
    }

    /// Every entry, by normalised DN.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Entry> {
        lock(&self.shared.dir).entries().clone()
    }

    /// The operations served so far.
    pub fn operations(&self) -> Vec<OpRecord> {
        lock(&self.shared.log).clone()
    }

    /// The logged operations `keep` selects, without copying the rest of the log.
    pub fn operations_where(&self, keep: impl Fn(&OpRecord) -> bool) -> Vec<OpRecord> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect()
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

    /// Removes the faults aimed at one account, leaving everyone else's.
    pub fn clear_faults_of(&self, bound_as: &str) {
        lock(&self.shared.faults).retain(|(rule, _)| {
            !rule
                .bound_as
                .as_deref()
                .is_some_and(|b| b.eq_ignore_ascii_case(bound_as))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{FaultAction, FaultRule, OpKind, Times};
    use std::time::Duration;

    #[test]
    fn fault_rules_read_from_text() {
        let r: FaultRule = "op=modify; dn=uid=alice; fail=19:sn is limited; times=always"
            .parse()
            .unwrap();
        assert_eq!(r.op, Some(OpKind::Modify));
        assert_eq!(r.dn_contains.as_deref(), Some("uid=alice"));
        assert_eq!(r.times, Times::Always);
        assert_eq!(
            r.action,
            FaultAction::Fail {
                code: 19,
                message: "sn is limited".into()
            }
        );
        let r: FaultRule = "drop;times=3".parse().unwrap();
        assert_eq!(
            (r.op, r.action, r.times),
            (None, FaultAction::Drop, Times::N(3))
        );
        let r: FaultRule = "op=delete;delay=4.5;as=cn=host,dc=x".parse().unwrap();
        assert_eq!(r.action, FaultAction::Delay(Duration::from_millis(4500)));
        assert_eq!(r.bound_as.as_deref(), Some("cn=host,dc=x"));
        assert_eq!(r.times, Times::Once);
    }

    #[test]
    fn bad_fault_rules_say_what_is_wrong() {
        for (text, says) in [
            ("op=add", "no action"),
            ("op=frobnicate;drop", "unknown operation"),
            ("fail=abc", "expected an LDAP result code"),
            ("delay=-1", "expected seconds"),
            ("drop;fail=53", "more than one action"),
            ("drop;times=0", "a count above 0"),
            ("drop;colour=red", "expected op="),
        ] {
            let e = text.parse::<FaultRule>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
