//! Values an expression reads and yields.

use std::fmt;

use time::OffsetDateTime;

/// A value: an Entra attribute's, a constant's, or a function's result.
///
/// Entra's attributes are strings, booleans, integers, date-times or multi-valued strings
/// (`proxyAddresses`, `otherMails`); a missing attribute reads as [`Value::Null`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No value: a missing or null attribute, or a function's "nothing".
    Null,
    /// Text.
    Str(String),
    /// A boolean (written `True` / `False`, as .NET does, where text is needed).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A point in time (CDate, DateAdd, DateFromNum, Now), in UTC.
    Date(OffsetDateTime),
    /// A multi-valued attribute or a Split's result, in order.
    Multi(Vec<Value>),
}

impl Value {
    /// Null, or text that is empty, or a multi-value with no values.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Multi(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The value as text, as a function that takes a string sees it; `None` for null.
    ///
    /// Dates are `M/d/yyyy h:mm:ss tt` in UTC, as CDate and Now return them; a multi-value is
    /// its first value (single-valued functions given a multi-valued attribute read one value).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
            Value::Int(i) => Some(i.to_string()),
            Value::Date(d) => Some(super::dates::general(*d)),
            Value::Multi(v) => v.first().and_then(Value::text),
        }
    }

    /// The values of a multi-value, or the value itself as one (none for null).
    pub fn values(&self) -> Vec<Value> {
        match self {
            Value::Null => Vec::new(),
            Value::Multi(v) => v.clone(),
            v => vec![v.clone()],
        }
    }

    /// Turns a JSON attribute value (string, boolean, number, array, null) into a value.
    /// Numbers that are not integers become their decimal text.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Value::Str(n.to_string()), Value::Int),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Multi(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(_) => Value::Str(json.to_string()),
        }
    }

    /// The value as JSON, as the provisioning service sends it in a SCIM request: text,
    /// booleans and integers as themselves, dates as their text, multi-values as arrays.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Date(d) => serde_json::Value::String(super::dates::general(*d)),
            Value::Multi(v) => serde_json::Value::Array(v.iter().map(Value::to_json).collect()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Multi(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Str(s) => write!(f, "{s:?}"),
            v => f.write_str(&v.text().unwrap_or_default()),
        }
    }
}
