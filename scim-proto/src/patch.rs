//! PATCH (RFC 7644 §3.5.2) in both dialects the Entra provisioning service speaks, normalised
//! into one model.
//!
//! The two dialects ([`crate::Dialect`]) differ in spelling, not in meaning:
//!
//! | | `entra-default` | `entra-scim2020` (`aadOptscim062020`) |
//! |---|---|---|
//! | op names | `Add`, `Replace`, `Remove` | `add`, `replace`, `remove` |
//! | `active` | the string `"False"` / `"True"` | a boolean |
//! | several attributes | one operation per attribute, each with a `path` | one path-less `replace` whose value object has dotted (`name.givenName`) and URN-qualified keys |
//! | remove a member | `path: "members"` with `value: [{"value": …}]` | `path: "members[value eq \"…\"]"` |
//!
//! [`PatchRequest::normalize`] turns either into a list of [`PatchOperation`]s, each naming
//! exactly one attribute (or one value path) with a `path`, so a host applies one model. Nothing
//! here knows a host's schema: whether an attribute exists or takes the value given is for the
//! host to decide, except for `active`, whose boolean-or-string spelling is part of the dialects.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::attr::{AttrName, AttrPath, AttrPathError};
use crate::filter::{Filter, FilterError};
use crate::{ScimType, urn};

/// A PATCH request body as sent (RFC 7644 §3.5.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchRequest {
    /// Must list `urn:ietf:params:scim:api:messages:2.0:PatchOp`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<WireOperation>,
}

/// One operation as sent: the op name in any case, an optional path, an optional value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireOperation {
    /// `add`, `replace` or `remove` in any case.
    pub op: String,
    /// The target; absent for a path-less add or replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value; absent for most removes. A JSON `null` is kept as `Some(Value::Null)`: it
    /// means "unassign" (RFC 7643 §2.5), which is not the same as no value at all.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub value: Option<Value>,
}

/// A member that is present, `null` included (serde's `Option` would read `null` as absent).
fn present_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The operation kinds, whatever their spelling on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    /// RFC 7644 §3.5.2.1
    Add,
    /// RFC 7644 §3.5.2.3
    Replace,
    /// RFC 7644 §3.5.2.2
    Remove,
}

/// What one normalised operation acts on.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchTarget {
    /// An attribute or sub-attribute: `displayName`, `name.givenName`, `urn:…:User:cn`.
    Attr(AttrPath),
    /// Some values of a multi-valued attribute: `emails[type eq "work"].value`,
    /// `members[value eq "…"]`.
    ValuePath {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// Which of its values.
        filter: Filter,
        /// The sub-attribute of those values, when the path names one.
        sub_attr: Option<AttrName>,
    },
}

impl PatchTarget {
    /// The attribute the operation acts on.
    pub fn attr(&self) -> &AttrPath {
        match self {
            PatchTarget::Attr(a) | PatchTarget::ValuePath { attr: a, .. } => a,
        }
    }
}

impl std::fmt::Display for PatchTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchTarget::Attr(a) => write!(f, "{a}"),
            PatchTarget::ValuePath {
                attr,
                filter,
                sub_attr,
            } => {
                write!(f, "{attr}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        })
    }
}

/// One normalised operation: always with a target, `active` always a boolean.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    /// Add, replace or remove.
    pub op: PatchOpKind,
    /// What it acts on.
    pub target: PatchTarget,
    /// The value, when one was given (`null` is kept: it means "unassign").
    pub value: Option<Value>,
}

impl PatchOperation {
    /// True when the operation sets or clears the core `active` attribute.
    pub fn is_active(&self) -> bool {
        matches!(&self.target, PatchTarget::Attr(p)
            if p.name.is("active") && p.sub_attr.is_none() && p.in_schema(urn::CORE_USER, true))
    }
}

/// Why a PATCH body cannot be applied as sent.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("operation {index}: {kind}")]
pub struct PatchError {
    /// Zero-based index of the operation in `Operations`.
    pub index: usize,
    /// What was wrong with it.
    pub kind: PatchErrorKind,
}

/// The kinds of PATCH error.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PatchErrorKind {
    /// `schemas` is present but does not list the PatchOp URN.
    #[error("schemas must list {}", urn::PATCH_OP)]
    MissingPatchSchema,
    /// `op` is not add, replace or remove.
    #[error("op {0:?} is not add, replace or remove")]
    UnknownOp(String),
    /// `remove` without a path (RFC 7644 §3.5.2.2).
    #[error("remove needs a path")]
    RemoveWithoutPath,
    /// Path-less add or replace whose value is not an object.
    #[error("an {0} without a path needs an object value")]
    PathlessNeedsObject(&'static str),
    /// Add or replace without a value.
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    /// A path or key that is not a valid attribute path.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as sent.
        path: String,
        /// Why it is not valid.
        reason: String,
    },
    /// `active` given something other than a boolean or "True"/"False".
    #[error("active must be a boolean or the string \"True\" or \"False\", got {0}")]
    ActiveNotBoolean(Value),
    /// `schemas` is missing (RFC 7644 §3.5.2: REQUIRED).
    #[error("schemas is required and must list {}", urn::PATCH_OP)]
    NoSchemas,
    /// `Operations` is empty (RFC 7644 §3.5.2: at least one operation).
    #[error("Operations must hold at least one operation")]
    NoOperations,
    /// More operations than [`MAX_OPERATIONS`] (the count sent).
    #[error("Operations holds {0} operations; at most {MAX_OPERATIONS} are taken in one request")]
    TooManyOperations(usize),
}

/// The most operations one PATCH may hold (as sent, before path-less values are expanded).
/// RFC 7644 sets no limit; Entra sends one operation per changed attribute (a few dozen at most),
/// so this only stops a request that would hold the object's lock for a long time. Bodies are
/// bounded by size as well (the reference host's `server.max_body_bytes`).
pub const MAX_OPERATIONS: usize = 1000;

impl PatchErrorKind {
    /// The RFC 7644 §3.12 `scimType` a host should answer this error with.
    pub fn scim_type(&self) -> ScimType {
        match self {
            PatchErrorKind::MissingPatchSchema
            | PatchErrorKind::UnknownOp(_)
            | PatchErrorKind::PathlessNeedsObject(_)
            | PatchErrorKind::MissingValue(_)
            | PatchErrorKind::NoSchemas
            | PatchErrorKind::NoOperations
            | PatchErrorKind::TooManyOperations(_) => ScimType::InvalidSyntax,
            PatchErrorKind::RemoveWithoutPath => ScimType::NoTarget,
            PatchErrorKind::InvalidPath { .. } => ScimType::InvalidPath,
            PatchErrorKind::ActiveNotBoolean(_) => ScimType::InvalidValue,
        }
    }
}

/// Schema URNs whose key in a path-less value object is a container of attributes rather than
/// an attribute path.
const CONTAINER_URNS: [&str; 3] = [urn::CORE_USER, urn::ENTERPRISE_USER, urn::ECMA2HOST_USER];

impl PatchRequest {
    /// Checks the envelope as RFC 7644 §3.5.2 requires it: `schemas` present and listing the
    /// PatchOp URN, at least one operation — and at most [`MAX_OPERATIONS`]. [`normalize`](Self::normalize) is lenient about
    /// both (it reads bodies of any provenance); a host that answers Entra calls this first.
    pub fn check_envelope(&self) -> Result<(), PatchError> {
        let fail = |kind| Err(PatchError { index: 0, kind });
        if self.schemas.is_empty() {
            return fail(PatchErrorKind::NoSchemas);
        }
        if !self
            .schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(urn::PATCH_OP))
        {
            return fail(PatchErrorKind::MissingPatchSchema);
        }
        if self.operations.is_empty() {
            return fail(PatchErrorKind::NoOperations);
        }
        if self.operations.len() > MAX_OPERATIONS {
            return fail(PatchErrorKind::TooManyOperations(self.operations.len()));
        }
        Ok(())
    }

    /// Normalises the request: op names folded, path-less value objects expanded to one
    /// operation per key (schema-URN keys holding objects expanded once more), every path parsed
    /// and `active` made a boolean.
    pub fn normalize(&self) -> Result<Vec<PatchOperation>, PatchError> {
        if !self.schemas.is_empty()
            && !self
                .schemas
                .iter()
                .any(|s| s.eq_ignore_ascii_case(urn::PATCH_OP))
        {
            return Err(PatchError {
                index: 0,
                kind: PatchErrorKind::MissingPatchSchema,
            });
        }
        let mut out = Vec::with_capacity(self.operations.len());
        for (index, wire) in self.operations.iter().enumerate() {
            normalize_one(wire, &mut out).map_err(|kind| PatchError { index, kind })?;
        }
        Ok(out)
    }
}

fn normalize_one(
    wire: &WireOperation,
    out: &mut Vec<PatchOperation>,
) -> Result<(), PatchErrorKind> {
    let op = match wire.op.to_ascii_lowercase().as_str() {
        "add" => PatchOpKind::Add,
        "replace" => PatchOpKind::Replace,
        "remove" => PatchOpKind::Remove,
        _ => return Err(PatchErrorKind::UnknownOp(wire.op.clone())),
    };
    let op_name = match op {
        PatchOpKind::Add => "add",
        PatchOpKind::Replace => "replace",
        PatchOpKind::Remove => "remove",
    };
    // A remove's `null` value is no value: remove everything at the path.
    let value = match (op, &wire.value) {
        (PatchOpKind::Remove, Some(Value::Null)) => None,
        _ => wire.value.clone(),
    };
    let wire = &WireOperation {
        op: wire.op.clone(),
        path: wire.path.clone(),
        value,
    };
    match (&wire.path, op) {
        (None, PatchOpKind::Remove) => Err(PatchErrorKind::RemoveWithoutPath),
        (None, _) => match &wire.value {
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    expand_key(op, None, key, value, out)?;
                }
                Ok(())
            }
            Some(_) => Err(PatchErrorKind::PathlessNeedsObject(op_name)),
            None => Err(PatchErrorKind::MissingValue(op_name)),
        },
        (Some(path), _) => {
            if op != PatchOpKind::Remove && wire.value.is_none() {
                return Err(PatchErrorKind::MissingValue(op_name));
            }
            // A path that is a whole schema URN addresses that schema's attributes at once.
            if let (Some(container), Some(Value::Object(map))) = (container_urn(path), &wire.value)
            {
                for (key, value) in map {
                    expand_key(op, Some(container), key, value, out)?;
                }
                return Ok(());
            }
            let target = parse_target(path)?;
            push(out, op, target, wire.value.clone())
        }
    }
}

fn container_urn(key: &str) -> Option<&'static str> {
    CONTAINER_URNS
        .into_iter()
        .find(|u| u.eq_ignore_ascii_case(key))
}

/// One key of a path-less value object (or of a schema container inside one).
fn expand_key(
    op: PatchOpKind,
    container: Option<&str>,
    key: &str,
    value: &Value,
    out: &mut Vec<PatchOperation>,
) -> Result<(), PatchErrorKind> {
    if let (None, Some(urn), Value::Object(map)) = (container, container_urn(key), value) {
        for (k, v) in map {
            expand_key(op, Some(urn), k, v, out)?;
        }
        return Ok(());
    }
    let mut path = AttrPath::parse(key).map_err(|e| invalid_path(key, &e))?;
    if let Some(urn) = container {
        if path.urn.is_some() {
            return Err(PatchErrorKind::InvalidPath {
                path: key.to_owned(),
                reason: format!("a URN-qualified key inside the {urn} container"),
            });
        }
        path.urn = Some(urn.to_owned());
    }
    push(out, op, PatchTarget::Attr(path), Some(value.clone()))
}

fn push(
    out: &mut Vec<PatchOperation>,
    op: PatchOpKind,
    target: PatchTarget,
    value: Option<Value>,
) -> Result<(), PatchErrorKind> {
    let mut operation = PatchOperation { op, target, value };
    if operation.is_active()
        && let Some(v) = operation.value.take()
    {
        let b = parse_bool(&v).ok_or(PatchErrorKind::ActiveNotBoolean(v))?;
        operation.value = Some(Value::Bool(b));
    }
    out.push(operation);
    Ok(())
}

/// A boolean as either dialect spells it: `true`/`false`, or `"True"`/`"False"` in any case.
pub fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn invalid_path(path: &str, e: &AttrPathError) -> PatchErrorKind {
    PatchErrorKind::InvalidPath {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Parses a PATCH path: `attrPath` or `valuePath [ "." subAttr ]` (RFC 7644 §3.5.2).
pub fn parse_target(path: &str) -> Result<PatchTarget, PatchErrorKind> {
    let Some(open) = path.find('[') else {
        return AttrPath::parse(path)
            .map(PatchTarget::Attr)
            .map_err(|e| invalid_path(path, &e));
    };
    let close =
        path.rfind(']')
            .filter(|c| *c > open)
            .ok_or_else(|| PatchErrorKind::InvalidPath {
                path: path.to_owned(),
                reason: "\"[\" without \"]\"".into(),
            })?;
    let attr = AttrPath::parse(&path[..open]).map_err(|e| invalid_path(path, &e))?;
    let filter = Filter::parse(&path[open + 1..close]).map_err(|e: FilterError| {
        PatchErrorKind::InvalidPath {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    })?;
    let rest = &path[close + 1..];
    let sub_attr = match rest.strip_prefix('.') {
        Some(sub) => Some(AttrName::parse(sub).map_err(|e| invalid_path(path, &e))?),
        None if rest.is_empty() => None,
        None => {
            return Err(PatchErrorKind::InvalidPath {
                path: path.to_owned(),
                reason: format!("unexpected {rest:?} after \"]\""),
            });
        }
    };
    Ok(PatchTarget::ValuePath {
        attr,
        filter,
        sub_attr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(body: Value) -> Result<Vec<PatchOperation>, PatchError> {
        serde_json::from_value::<PatchRequest>(body)
            .unwrap()
            .normalize()
    }

    #[test]
    fn both_disable_spellings_normalise_to_the_same_operation() {
        let default = ops(json!({"schemas":[urn::PATCH_OP],
            "Operations":[{"op":"Replace","path":"active","value":"False"}]}))
        .unwrap();
        let scim2020 = ops(json!({"schemas":[urn::PATCH_OP],
            "Operations":[{"op":"replace","path":"active","value":false}]}))
        .unwrap();
        assert_eq!(default, scim2020);
        assert!(default[0].is_active());
        assert_eq!(default[0].value, Some(Value::Bool(false)));
    }

    #[test]
    fn active_refuses_other_strings() {
        let e =
            ops(json!({"Operations":[{"op":"replace","path":"active","value":"no"}]})).unwrap_err();
        assert_eq!(e.kind.scim_type(), ScimType::InvalidValue);
    }

    #[test]
    fn urn_container_keys_expand_once() {
        let got = ops(json!({"Operations":[{"op":"replace","value":{
            urn::ECMA2HOST_USER: {"sn": "Simon", "mail": "b@x"}}}]}))
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].target,
            PatchTarget::Attr(AttrPath::qualified(urn::ECMA2HOST_USER, "sn"))
        );
    }

    #[test]
    fn null_is_kept_as_a_value_and_the_envelope_is_checked_apart() {
        let got = ops(json!({"Operations":[{"op":"Replace","path":"x","value":null}]})).unwrap();
        assert_eq!(
            got[0].value,
            Some(Value::Null),
            "null unassigns; it is not missing"
        );
        let got = ops(json!({"Operations":[{"op":"remove","path":"x","value":null}]})).unwrap();
        assert_eq!(got[0].value, None);
        assert!(ops(json!({"Operations":[{"op":"add","path":"x"}]})).is_err());
        let check = |v: Value| {
            serde_json::from_value::<PatchRequest>(v)
                .unwrap()
                .check_envelope()
                .map_err(|e| e.kind)
        };
        assert_eq!(
            check(json!({"Operations":[{"op":"add","path":"x","value":1}]})),
            Err(PatchErrorKind::NoSchemas)
        );
        assert_eq!(
            check(json!({"schemas":[urn::PATCH_OP],"Operations":[]})),
            Err(PatchErrorKind::NoOperations)
        );
        assert_eq!(
            check(
                json!({"schemas":[urn::PATCH_OP],"Operations":[{"op":"add","path":"x","value":1}]})
            ),
            Ok(())
        );
        // The operation count: at the bound taken, one past it refused.
        let many = |n: usize| json!({"schemas":[urn::PATCH_OP],"Operations":vec![json!({"op":"add","path":"x","value":1}); n]});
        assert_eq!(check(many(MAX_OPERATIONS)), Ok(()));
        assert_eq!(
            check(many(MAX_OPERATIONS + 1)),
            Err(PatchErrorKind::TooManyOperations(MAX_OPERATIONS + 1))
        );
    }

    #[test]
    fn structural_errors_carry_the_operation_index() {
        let e = ops(json!({"Operations":[{"op":"add","path":"a","value":1},{"op":"move"}]}))
            .unwrap_err();
        assert_eq!(e.index, 1);
        assert_eq!(e.kind, PatchErrorKind::UnknownOp("move".into()));
        let e = ops(json!({"Operations":[{"op":"remove"}]})).unwrap_err();
        assert_eq!(e.kind.scim_type(), ScimType::NoTarget);
        let e = ops(json!({"schemas":["urn:x"],"Operations":[]})).unwrap_err();
        assert_eq!(e.kind, PatchErrorKind::MissingPatchSchema);
        let e = ops(json!({"Operations":[{"op":"replace","value":"x"}]})).unwrap_err();
        assert_eq!(e.kind.scim_type(), ScimType::InvalidSyntax);
        let e =
            ops(json!({"Operations":[{"op":"add","path":"emails[type eq \"work\""}]})).unwrap_err();
        assert!(matches!(e.kind, PatchErrorKind::MissingValue(_)));
        let e = ops(json!({"Operations":[{"op":"remove","path":"emails[type eq \"work\""}]}))
            .unwrap_err();
        assert_eq!(e.kind.scim_type(), ScimType::InvalidPath);
    }
}
