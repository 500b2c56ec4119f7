//! Typing JSON values against a declared attribute type.
//!
//! ECMA2Host exposes target attributes as strings, booleans and integers, each single- or
//! multi-valued ("Treat as single value"). Entra sends booleans both as JSON booleans and as the
//! strings `"True"`/`"False"` (requirement ECMA-UPDATE-013), and integers sometimes as strings
//! from a mapping expression; both are accepted. Anything else of the wrong shape — an array for
//! a single-valued attribute, an object for a string, `"yes"` for a boolean — is refused with a
//! message saying what was expected and what came (ECMA-ROBUST-008).

use std::fmt;

use serde_json::Value;

use crate::schema::AttrType;

/// One typed value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// A string (also dateTime, reference, binary and decimal, which JSON carries as text).
    String(String),
    /// A boolean.
    Boolean(bool),
    /// An integer.
    Integer(i64),
}

impl Scalar {
    /// The value in JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Scalar::String(s) => Value::String(s.clone()),
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::from(*i),
        }
    }
}

/// Why a value does not fit its attribute.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {found}")]
pub struct ValueError {
    /// What the attribute takes.
    pub expected: String,
    /// What was sent, abbreviated.
    pub found: String,
}

/// Types `value` for an attribute of type `ty`. `null` and `[]` mean "no value" and give an empty
/// list (RFC 7643 §2.5: null makes an attribute unassigned). A single value for a multi-valued
/// attribute is accepted as a list of one.
pub fn coerce(value: &Value, ty: AttrType, multi_valued: bool) -> Result<Vec<Scalar>, ValueError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) if multi_valued => items
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| coerce_one(v, ty, true))
            .collect(),
        Value::Array(_) => Err(ValueError {
            expected: format!("a single {}", ty.noun()),
            found: describe(value),
        }),
        v => coerce_one(v, ty, multi_valued).map(|s| vec![s]),
    }
}

fn coerce_one(value: &Value, ty: AttrType, multi: bool) -> Result<Scalar, ValueError> {
    let fail = || ValueError {
        expected: if multi {
            format!("{} values", ty.noun())
        } else {
            format!("a {}", ty.noun())
        },
        found: describe(value),
    };
    match (ty, value) {
        (AttrType::Boolean, v) => crate::patch::parse_bool(v)
            .map(Scalar::Boolean)
            .ok_or_else(fail),
        (AttrType::Integer, Value::Number(n)) => n.as_i64().map(Scalar::Integer).ok_or_else(fail),
        (AttrType::Integer, Value::String(s)) => {
            s.trim().parse().map(Scalar::Integer).map_err(|_| fail())
        }
        (AttrType::Decimal, Value::Number(n)) => Ok(Scalar::String(n.to_string())),
        (AttrType::Decimal, Value::String(s)) if s.trim().parse::<f64>().is_ok() => {
            Ok(Scalar::String(s.clone()))
        }
        (
            AttrType::String | AttrType::DateTime | AttrType::Reference | AttrType::Binary,
            Value::String(s),
        ) => Ok(Scalar::String(s.clone())),
        _ => Err(fail()),
    }
}

/// A short description of a JSON value for error messages: its type and, for scalars, the value.
fn describe(value: &Value) -> String {
    struct Short<'a>(&'a str);
    impl fmt::Display for Short<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let mut chars = self.0.chars();
            let head: String = chars.by_ref().take(40).collect();
            if chars.next().is_some() {
                write!(f, "{head:?}…")
            } else {
                write!(f, "{head:?}")
            }
        }
    }
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", Short(s)),
        Value::Array(a) => format!("an array of {} values", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_boolean_strings_are_booleans() {
        assert_eq!(
            coerce(&json!("False"), AttrType::Boolean, false),
            Ok(vec![Scalar::Boolean(false)])
        );
        assert_eq!(
            coerce(&json!("TRUE"), AttrType::Boolean, false),
            Ok(vec![Scalar::Boolean(true)])
        );
        let e = coerce(&json!("yes"), AttrType::Boolean, false).unwrap_err();
        assert_eq!(e.to_string(), "expected a boolean, got the string \"yes\"");
    }

    #[test]
    fn shapes_follow_single_or_multi() {
        assert_eq!(
            coerce(&json!(["a", "b"]), AttrType::String, true)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            coerce(&json!("a"), AttrType::String, true).unwrap().len(),
            1
        );
        assert_eq!(
            coerce(&json!(["a"]), AttrType::String, false)
                .unwrap_err()
                .to_string(),
            "expected a single string, got an array of 1 values"
        );
        assert!(coerce(&json!({"a": 1}), AttrType::String, false).is_err());
        assert_eq!(coerce(&Value::Null, AttrType::String, false), Ok(vec![]));
    }

    #[test]
    fn integers_accept_numeric_strings_only() {
        assert_eq!(
            coerce(&json!("10011"), AttrType::Integer, false),
            Ok(vec![Scalar::Integer(10011)])
        );
        assert_eq!(
            coerce(&json!(7), AttrType::Integer, false),
            Ok(vec![Scalar::Integer(7)])
        );
        assert!(coerce(&json!("ten"), AttrType::Integer, false).is_err());
        assert!(coerce(&json!(1.5), AttrType::Integer, false).is_err());
    }
}
