//! Fault rules: which operations a fault hits and what it does, as the mock and the fault
//! proxy ([`super::proxy`]) both apply them, read from text for `ecmacert mock-ldap --fault`,
//! and the table that counts their firings.

use std::sync::Mutex;
use std::time::Duration;

use super::session::lock;

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

/// The result code an operation is logged with when a `drop` fault closed the connection
/// before the directory carried it out: `other` (80, RFC 4511 Appendix A), which no write
/// succeeds with.
pub const DROPPED: u32 = 80;

/// One logged operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// What it was.
    pub op: OpKind,
    /// The DN it addressed.
    pub dn: String,
    /// Who was bound.
    pub bound: String,
    /// The result code sent ([`DROPPED`] when the connection was closed instead).
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
    /// Carry the operation out, then close the connection instead of answering: the client
    /// cannot tell whether the change was made (the ambiguous outcome a connection lost after
    /// the directory applied a write leaves).
    DropAfter,
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
    /// `op` on any DN holding `dn_contains` (any case), by anyone, answered result `code` with
    /// `message` (RFC 4511 Appendix A codes: 32 noSuchObject, 68 entryAlreadyExists…) without
    /// touching the tree, `times` times.
    pub fn fail(op: OpKind, dn_contains: &str, code: u32, message: &str, times: Times) -> Self {
        FaultRule {
            op: Some(op),
            dn_contains: Some(dn_contains.to_owned()),
            bound_as: None,
            action: FaultAction::Fail {
                code,
                message: message.to_owned(),
            },
            times,
        }
    }

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
/// - the action: `fail=CODE` or `fail=CODE:message`, `delay=SECONDS`, `drop` (close the
///   connection instead of carrying the operation out) or `drop-after` (carry it out, then close
///   the connection instead of answering).
///
/// `op=add;fail=68`, `op=modify;dn=uid=alice;fail=19:sn is limited to 8 characters;times=always`,
/// `drop;times=3`, `op=delete;delay=4.5`, `op=add;drop-after`.
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
                "fail" | "delay" | "drop" | "drop-after" if action.is_some() => {
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
                "drop-after" if value.is_empty() => action = Some(FaultAction::DropAfter),
                other => {
                    return Err(format!(
                        "{other:?} in {s:?}: expected op=, dn=, as=, times=, fail=, delay=, drop or \
                         drop-after"
                    ));
                }
            }
        }
        rule.action = action.ok_or_else(|| {
            format!(
                "{s:?} has no action: add fail=CODE[:message], delay=SECONDS, drop or drop-after"
            )
        })?;
        Ok(rule)
    }
}

/// The faults in force, each with the firings it has left. Shared by every connection of a
/// mock or a proxy; the lock is held only to pick a rule, never across I/O.
#[derive(Debug, Default)]
pub(crate) struct FaultTable(Mutex<Vec<(FaultRule, usize)>>);

impl FaultTable {
    /// Adds a rule.
    pub(crate) fn inject(&self, rule: FaultRule) {
        let left = match rule.times {
            Times::Once => 1,
            Times::N(n) => n,
            Times::Always => usize::MAX,
        };
        lock(&self.0).push((rule, left));
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        lock(&self.0).clear();
    }

    /// Removes the rules `gone` picks, leaving the others: one account's (`as=`), or one
    /// client's among several that share the table.
    pub(crate) fn clear_where(&self, gone: impl Fn(&FaultRule) -> bool) {
        lock(&self.0).retain(|(rule, _)| !gone(rule));
    }

    /// The fault that fires for this operation, if any (consuming one firing).
    pub(crate) fn fire(&self, op: OpKind, dn: &str, bound: &str) -> Option<FaultAction> {
        let mut faults = lock(&self.0);
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

#[cfg(test)]
mod tests {
    use super::{FaultAction, FaultRule, FaultTable, OpKind, Times};
    use std::time::Duration;

    #[test]
    fn clearing_some_faults_leaves_the_others_in_force() {
        let table = FaultTable::default();
        for dn in ["cn=a-1,", "cn=b-2,"] {
            table.inject(
                format!("op=modify;dn={dn};delay=3;times=always")
                    .parse()
                    .unwrap(),
            );
        }
        table.clear_where(|r| r.dn_contains.as_deref() == Some("cn=a-1,"));
        assert_eq!(table.fire(OpKind::Modify, "cn=a-1,dc=x", "cn=host"), None);
        assert_eq!(
            table.fire(OpKind::Modify, "cn=b-2,dc=x", "cn=host"),
            Some(FaultAction::Delay(Duration::from_secs(3)))
        );
    }

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
        let r: FaultRule = "op=add;drop-after".parse().unwrap();
        assert_eq!(
            (r.op, r.action),
            (Some(OpKind::Add), FaultAction::DropAfter)
        );
    }

    #[test]
    fn bad_fault_rules_say_what_is_wrong() {
        for (text, says) in [
            ("op=add", "no action"),
            ("op=frobnicate;drop", "unknown operation"),
            ("fail=abc", "expected an LDAP result code"),
            ("delay=-1", "expected seconds"),
            ("drop;fail=53", "more than one action"),
            ("drop-after;drop", "more than one action"),
            ("drop;times=0", "a count above 0"),
            ("drop;colour=red", "expected op="),
        ] {
            let e = text.parse::<FaultRule>().unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
