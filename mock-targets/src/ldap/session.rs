//! One connection's protocol state: a [`Session`] turns one request message into its response
//! messages ([`Session::handle`], no I/O), applying the faults in force and logging what it did.
//! The listener (`server.rs`) runs sessions under a codec loop.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ldap3_proto::proto::{
    LdapAddRequest, LdapBindCred, LdapBindResponse, LdapExtendedResponse, LdapModifyRequest,
    LdapModifyType, LdapOp, LdapPartialAttribute, LdapResult, LdapResultCode, LdapSearchRequest,
    LdapSearchResultEntry, LdapSearchScope,
};
use ldap3_proto::{LdapMsg, control::LdapControl};

use super::Flavour;
use super::dit::{Change, Directory, Entry, LdapError, Scope, code};
use super::faults::{DROPPED, FaultAction, FaultTable, OpKind, OpRecord};

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) dir: Mutex<Directory>,
    pub(crate) faults: FaultTable,
    pub(crate) log: Mutex<Vec<OpRecord>>,
    pub(crate) size_limits: Vec<(String, usize)>,
    pub(crate) update_tls: bool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

/// The response to a request of `kind` refused with `code` and `message` (RFC 4511 §4.1.9),
/// touching nothing: what an injected `fail=` answers, from the mock or the fault proxy.
pub(crate) fn refusal(kind: OpKind, msgid: i32, code: u32, message: &str) -> LdapMsg {
    let res = result(code, message, "");
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
    reply(msgid, op)
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
        let mut drop_after = false;
        let update = matches!(
            kind,
            OpKind::Add | OpKind::Modify | OpKind::Delete | OpKind::ModifyDn
        );
        let needs_tls =
            (self.shared.update_tls && !self.tls && update).then(|| FaultAction::Fail {
                code: 13,
                message: "TLS confidentiality required".into(),
            });
        match needs_tls.or_else(|| self.shared.faults.fire(kind, &dn, &self.bound)) {
            Some(FaultAction::Drop) => {
                self.log(kind, &dn, DROPPED);
                return Response {
                    drop: true,
                    ..Response::default()
                };
            }
            Some(FaultAction::Delay(d)) => delay = Some(d),
            Some(FaultAction::Fail { code, message }) => {
                self.log(kind, &dn, code);
                return Response {
                    messages: vec![refusal(kind, id, code, &message)],
                    ..Response::default()
                };
            }
            Some(FaultAction::DropAfter) => drop_after = true,
            None => {}
        }
        let (messages, code) = self.run(id, msg);
        self.log(kind, &dn, code);
        if drop_after {
            return Response {
                drop: true,
                ..Response::default()
            };
        }
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
