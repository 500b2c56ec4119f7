//! Scoping filters ("Scoping users or groups to be provisioned with scoping filters in
//! Microsoft Entra ID"): a filter is one or more clauses, all of which must hold ("AND"); a
//! user is in scope when any filter holds ("OR"), and every user is in scope when there is
//! no filter.
//!
//! The reference's rules, as implemented:
//! - "Scoping filters will return "false" if the value is null / empty", except IS NULL
//!   (true) and IS NOT NULL (false) which exist to test that;
//! - "Filtering is not supported for multi-valued attributes": a clause on one is an error;
//! - EQUALS, NOT EQUALS, Includes, ENDS_WITH and the regular expressions are case-sensitive;
//!   REGEX MATCH is unanchored (.NET `Regex.IsMatch`);
//! - Greater_Than and Greater_Than_OR_EQUALS compare integers, and the clause's value must be
//!   one; a user value that is not an integer makes the clause false. LESS_THAN and
//!   LESS_THAN_OR_EQUALS are not on the page; they are accepted for the Graph API's operator
//!   list and behave alike;
//! - `&` is read as the page words it ("the evaluated attribute exists in the input string
//!   value": the user's value is a substring of the clause's), `!&` as its negation. The page
//!   gives no example; this reading is a choice.

use serde::Deserialize;

use crate::expr::Value;

/// A scoping clause's operator, by the name the Entra portal shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // each is the operator of its name
pub enum Operator {
    Ampersand,
    NotAmpersand,
    EndsWith,
    Equals,
    GreaterThan,
    GreaterThanOrEquals,
    LessThan,
    LessThanOrEquals,
    Includes,
    IsFalse,
    IsNotNull,
    IsNull,
    IsTrue,
    NotEquals,
    NotRegexMatch,
    RegexMatch,
}

const OPERATORS: [(&str, Operator); 16] = [
    ("&", Operator::Ampersand),
    ("!&", Operator::NotAmpersand),
    ("ENDS_WITH", Operator::EndsWith),
    ("EQUALS", Operator::Equals),
    ("Greater_Than", Operator::GreaterThan),
    ("Greater_Than_OR_EQUALS", Operator::GreaterThanOrEquals),
    ("Less_Than", Operator::LessThan),
    ("Less_Than_OR_EQUALS", Operator::LessThanOrEquals),
    ("Includes", Operator::Includes),
    ("IS FALSE", Operator::IsFalse),
    ("IS NOT NULL", Operator::IsNotNull),
    ("IS NULL", Operator::IsNull),
    ("IS TRUE", Operator::IsTrue),
    ("NOT EQUALS", Operator::NotEquals),
    ("NOT REGEX MATCH", Operator::NotRegexMatch),
    ("REGEX MATCH", Operator::RegexMatch),
];

impl Operator {
    /// The operator named `name` (case, spaces and underscores not significant:
    /// `IS NOT NULL`, `is_not_null`).
    pub fn from_name(name: &str) -> Option<Operator> {
        let key = |s: &str| s.replace([' ', '_'], "").to_ascii_lowercase();
        OPERATORS
            .iter()
            .find(|(n, _)| key(n) == key(name))
            .map(|(_, op)| *op)
    }

    /// The operator's name as the portal shows it.
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(n, _)| n)
    }

    /// Whether the operator compares with a value (IS NULL and the like do not).
    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            Operator::IsFalse | Operator::IsNotNull | Operator::IsNull | Operator::IsTrue
        )
    }
}

/// One clause: an Entra attribute, an operator and (for most operators) a value.
#[derive(Clone, Debug)]
pub struct Clause {
    /// The Entra attribute.
    pub attribute: String,
    /// The operator.
    pub operator: Operator,
    /// The value compared with (empty for IS NULL and the like).
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Clause {
    fn eq(&self, other: &Clause) -> bool {
        self.attribute == other.attribute
            && self.operator == other.operator
            && self.value == other.value
    }
}

/// A scoping filter: clauses that must all hold.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopingFilter {
    /// Its clauses.
    pub clauses: Vec<Clause>,
}

/// A scoping clause's outcome for one user, for traces.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseResult {
    /// The clause, as `attribute OPERATOR "value"`.
    pub clause: String,
    /// The user's value.
    pub actual: String,
    /// Whether it held.
    pub holds: bool,
}

/// Whether a user is in scope, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    /// In scope.
    pub in_scope: bool,
    /// Each filter's clauses, in order.
    pub filters: Vec<Vec<ClauseResult>>,
}

/// A scoping filter that is wrong, or a clause that cannot be evaluated.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("scoping filter {filter}, clause {clause}: {message}")]
pub struct ScopingError {
    /// The filter, 1-based.
    pub filter: usize,
    /// The clause, 1-based.
    pub clause: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterToml {
    clauses: Vec<ClauseToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClauseToml {
    attribute: String,
    operator: String,
    #[serde(default)]
    value: Option<String>,
}

impl ScopingFilter {
    pub(crate) fn from_toml(filter: usize, f: FilterToml) -> Result<ScopingFilter, ScopingError> {
        let mut clauses = Vec::new();
        if f.clauses.is_empty() {
            return Err(ScopingError {
                filter,
                clause: 0,
                message: "a scoping filter needs at least one clause".into(),
            });
        }
        for (i, c) in f.clauses.into_iter().enumerate() {
            let error = |message: String| ScopingError {
                filter,
                clause: i + 1,
                message,
            };
            let operator = Operator::from_name(&c.operator).ok_or_else(|| {
                error(format!(
                    "{:?} is not an operator: one of {}",
                    c.operator,
                    OPERATORS.map(|(n, _)| n).join(", ")
                ))
            })?;
            let value = match (operator.takes_value(), c.value) {
                (true, Some(v)) => v,
                (true, None) => return Err(error(format!("{} needs a value", operator.name()))),
                (false, Some(_)) => {
                    return Err(error(format!("{} takes no value", operator.name())));
                }
                (false, None) => String::new(),
            };
            if matches!(
                operator,
                Operator::GreaterThan
                    | Operator::GreaterThanOrEquals
                    | Operator::LessThan
                    | Operator::LessThanOrEquals
            ) && value.trim().parse::<i64>().is_err()
            {
                return Err(error(format!(
                    "{} compares integers; {value:?} is not one",
                    operator.name()
                )));
            }
            let regex = match operator {
                Operator::RegexMatch | Operator::NotRegexMatch => Some(
                    regex::Regex::new(&value)
                        .map_err(|e| error(format!("the pattern {value:?} cannot be read: {e}")))?,
                ),
                _ => None,
            };
            clauses.push(Clause {
                attribute: c.attribute,
                operator,
                value,
                regex,
            });
        }
        Ok(ScopingFilter { clauses })
    }
}

/// Whether the user is in scope of `filters` (OR of ANDs; no filter: in scope).
///
/// # Errors
/// [`ScopingError`] when a clause reads a multi-valued attribute.
pub fn evaluate(
    filters: &[ScopingFilter],
    user: &indexmap::IndexMap<String, Value>,
) -> Result<Scope, ScopingError> {
    let mut results = Vec::new();
    let mut in_scope = filters.is_empty();
    for (f, filter) in filters.iter().enumerate() {
        let mut all = true;
        let mut clauses = Vec::new();
        for (c, clause) in filter.clauses.iter().enumerate() {
            let actual = user
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&clause.attribute))
                .map_or(Value::Null, |(_, v)| v.clone());
            if matches!(actual, Value::Multi(_)) {
                return Err(ScopingError {
                    filter: f + 1,
                    clause: c + 1,
                    message: format!(
                        "{} is multi-valued; scoping filters do not support multi-valued attributes",
                        clause.attribute
                    ),
                });
            }
            let holds = holds(clause, &actual);
            all &= holds;
            clauses.push(ClauseResult {
                clause: if clause.operator.takes_value() {
                    format!(
                        "{} {} {:?}",
                        clause.attribute,
                        clause.operator.name(),
                        clause.value
                    )
                } else {
                    format!("{} {}", clause.attribute, clause.operator.name())
                },
                actual: actual.to_string(),
                holds,
            });
        }
        in_scope |= all;
        results.push(clauses);
    }
    Ok(Scope {
        in_scope,
        filters: results,
    })
}

fn holds(clause: &Clause, actual: &Value) -> bool {
    let text = actual.text().unwrap_or_default();
    let boolean = match actual {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    match clause.operator {
        Operator::IsNull => actual.is_null_or_empty(),
        Operator::IsNotNull => !actual.is_null_or_empty(),
        _ if actual.is_null_or_empty() => false,
        Operator::IsTrue => boolean == Some(true),
        Operator::IsFalse => boolean == Some(false),
        Operator::Equals => text == clause.value,
        Operator::NotEquals => text != clause.value,
        Operator::Includes => text.contains(&clause.value),
        Operator::EndsWith => text.ends_with(&clause.value),
        Operator::Ampersand => clause.value.contains(&text),
        Operator::NotAmpersand => !clause.value.contains(&text),
        Operator::RegexMatch => clause.regex.as_ref().is_some_and(|r| r.is_match(&text)),
        Operator::NotRegexMatch => clause.regex.as_ref().is_some_and(|r| !r.is_match(&text)),
        Operator::GreaterThan
        | Operator::GreaterThanOrEquals
        | Operator::LessThan
        | Operator::LessThanOrEquals => {
            let (Ok(a), Ok(b)) = (
                text.trim().parse::<i64>(),
                clause.value.trim().parse::<i64>(),
            ) else {
                return false;
            };
            match clause.operator {
                Operator::GreaterThan => a > b,
                Operator::GreaterThanOrEquals => a >= b,
                Operator::LessThan => a < b,
                _ => a <= b,
            }
        }
    }
}
