//! Attribute mappings as Entra's "Edit Attribute" dialog sets them: a mapping type (direct,
//! constant, expression), its source, the target attribute, "Apply this mapping" (always or
//! only during object creation), a default value if null, and "Match objects using this
//! attribute" with its matching precedence ("Tutorial - Customize user provisioning
//! attribute-mappings for SaaS applications in Microsoft Entra ID").
//!
//! A mapping file is TOML:
//!
//! ```toml
//! [[mapping]]
//! type = "expression"
//! expression = 'Join("", "CN=", Word([userPrincipalName], 1, "@"), ",DC=Contoso,DC=lab")'
//! target = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn-"
//! apply = "on_create"
//!
//! [[mapping]]
//! type = "direct"
//! source = "userPrincipalName"
//! target = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:mail"
//! matching_precedence = 1
//!
//! [[mapping]]
//! type = "constant"
//! value = "10000"
//! target = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:gidNumber"
//!
//! [[scoping]]            # optional: see crate::scoping
//! clauses = [{ attribute = "department", operator = "EQUALS", value = "Sales" }]
//! ```

use indexmap::IndexMap;
use serde::Deserialize;

use crate::expr::{self, Env, EvalError, Expr, ParseError, Step, Value};
use crate::scoping::{ScopingError, ScopingFilter};

/// When a mapping flows ("Apply this mapping").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// On create and on every update (Entra's "Always").
    #[default]
    Always,
    /// Only on create ("Only during object creation"): never sent in an update.
    OnCreate,
}

/// How a mapping computes its value (the "Mapping type").
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// An Entra attribute, as it is.
    Direct(String),
    /// A constant string.
    Constant(String),
    /// An expression, parsed.
    Expression(Expr),
}

/// One attribute mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// Where the value comes from.
    pub source: Source,
    /// The target attribute as Entra names it (for ECMA hosts, the ECMA2Host extension's URN
    /// followed by `:` and the connector's attribute, or a core attribute such as `active`).
    pub target: String,
    /// When it flows.
    pub apply: Apply,
    /// "Default value if null": what flows when the value is null.
    pub default: Option<String>,
    /// "Match objects using this attribute", with its precedence (1 first).
    pub matching_precedence: Option<u32>,
}

/// A mapping file: the mappings in their order and the scoping filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mappings {
    /// The attribute mappings.
    pub mappings: Vec<Mapping>,
    /// The scoping filters (OR'ed; none means every user is in scope).
    pub scoping: Vec<ScopingFilter>,
}

/// What is wrong with a mapping file. Each variant names the mapping (1-based) or key.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file is not TOML of this shape.
    #[error("the mapping file does not parse: {0}")]
    Toml(String),
    /// A mapping's expression does not parse.
    #[error("mapping {index} ({target}): expression {offset_note}: {error}")]
    Expression {
        /// The mapping's position, 1-based.
        index: usize,
        /// Its target attribute.
        target: String,
        /// "at offset N" repeated for reading.
        offset_note: String,
        /// The parse error.
        error: ParseError,
    },
    /// A mapping lacks what its type needs, or has what it does not take.
    #[error("mapping {index} ({target}): {message}")]
    Invalid {
        /// The mapping's position, 1-based.
        index: usize,
        /// Its target attribute.
        target: String,
        /// What is wrong.
        message: String,
    },
    /// A scoping filter is wrong.
    #[error(transparent)]
    Scoping(#[from] ScopingError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    mapping: Vec<MappingToml>,
    #[serde(default)]
    scoping: Vec<crate::scoping::FilterToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingToml {
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    expression: Option<String>,
    target: String,
    #[serde(default)]
    apply: Apply,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    matching_precedence: Option<u32>,
}

#[derive(Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Direct,
    Constant,
    Expression,
}

impl Mappings {
    /// Reads a mapping file (the TOML shape in the module doc).
    ///
    /// # Errors
    /// [`MappingError`] naming the mapping and what is wrong: a missing or extra key for its
    /// type, an expression that does not parse (with its offset), two mappings to one target,
    /// two with one matching precedence, a precedence of 0, a bad scoping clause.
    pub fn from_toml(text: &str) -> Result<Mappings, MappingError> {
        let file: FileToml = toml::from_str(text).map_err(|e| MappingError::Toml(e.to_string()))?;
        let mut mappings = Vec::new();
        for (i, m) in file.mapping.into_iter().enumerate() {
            let index = i + 1;
            let invalid = |message: String| MappingError::Invalid {
                index,
                target: m.target.clone(),
                message,
            };
            let (needed, given) = match m.kind {
                Kind::Direct => ("source", m.source.clone()),
                Kind::Constant => ("value", m.value.clone()),
                Kind::Expression => ("expression", m.expression.clone()),
            };
            let Some(given) = given else {
                return Err(invalid(format!(
                    "a {needed} is needed for this mapping type"
                )));
            };
            let extra = [
                ("source", m.source.is_some()),
                ("value", m.value.is_some()),
                ("expression", m.expression.is_some()),
            ]
            .into_iter()
            .find(|(k, set)| *set && *k != needed);
            if let Some((key, _)) = extra {
                return Err(invalid(format!(
                    "{key} does not belong to a mapping of this type"
                )));
            }
            if m.target.trim().is_empty() {
                return Err(invalid("the target attribute is empty".into()));
            }
            if mappings
                .iter()
                .any(|o: &Mapping| o.target.eq_ignore_ascii_case(&m.target))
            {
                return Err(invalid(
                    "another mapping has the same target attribute".into(),
                ));
            }
            if m.matching_precedence == Some(0) {
                return Err(invalid("matching_precedence starts at 1".into()));
            }
            if m.matching_precedence.is_some()
                && mappings
                    .iter()
                    .any(|o: &Mapping| o.matching_precedence == m.matching_precedence)
            {
                return Err(invalid(
                    "another mapping has the same matching precedence".into(),
                ));
            }
            let source = match m.kind {
                Kind::Direct => Source::Direct(given),
                Kind::Constant => Source::Constant(given),
                Kind::Expression => Source::Expression(expr::parse(&given).map_err(|error| {
                    MappingError::Expression {
                        index,
                        target: m.target.clone(),
                        offset_note: format!("at offset {}", error.offset),
                        error,
                    }
                })?),
            };
            if let (Source::Expression(e), Some(_)) = (&source, m.matching_precedence)
                && uses(e, expr::Function::Redact)
            {
                return Err(invalid(
                    "a redacted value cannot be matched on: the matching query would show it"
                        .into(),
                ));
            }
            if matches!(&source, Source::Expression(Expr::Call { function, .. })
                if *function == expr::Function::SelectUniqueValue)
                && m.matching_precedence.is_some()
            {
                return Err(invalid(
                    "SelectUniqueValue cannot be used on a matching attribute (as the reference says)"
                        .into(),
                ));
            }
            mappings.push(Mapping {
                source,
                target: m.target,
                apply: m.apply,
                default: m.default,
                matching_precedence: m.matching_precedence,
            });
        }
        let scoping = file
            .scoping
            .into_iter()
            .enumerate()
            .map(|(i, f)| ScopingFilter::from_toml(i + 1, f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Mappings { mappings, scoping })
    }

    /// The matching mappings in precedence order (1 first).
    pub fn matching(&self) -> Vec<&Mapping> {
        let mut m: Vec<&Mapping> = self
            .mappings
            .iter()
            .filter(|m| m.matching_precedence.is_some())
            .collect();
        m.sort_by_key(|m| m.matching_precedence);
        m
    }

    /// Every mapping's value for the user in `env`, in the file's order.
    ///
    /// # Errors
    /// The first mapping whose expression fails, with the mapping named.
    pub fn evaluate(&self, env: &Env<'_>) -> Result<Vec<Mapped>, MappedError> {
        self.mappings
            .iter()
            .enumerate()
            .map(|(i, m)| {
                m.evaluate(env).map_err(|error| MappedError {
                    index: i + 1,
                    target: m.target.clone(),
                    error,
                })
            })
            .collect()
    }
}

/// Whether `e` calls `f` anywhere.
fn uses(e: &Expr, f: expr::Function) -> bool {
    match e {
        Expr::Call { function, args, .. } => {
            *function == f || args.iter().flatten().any(|a| uses(a, f))
        }
        Expr::Compare(_, l, r) => uses(l, f) || uses(r, f),
        _ => false,
    }
}

/// A mapping whose expression failed for a user.
#[derive(Debug, thiserror::Error)]
#[error("mapping {index} ({target}): {error}")]
pub struct MappedError {
    /// The mapping's position, 1-based.
    pub index: usize,
    /// Its target attribute.
    pub target: String,
    /// Why it failed.
    pub error: EvalError,
}

/// One mapping's outcome for one user.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// The target attribute.
    pub target: String,
    /// Its value (after "default value if null").
    pub value: Value,
    /// Whether it flows on update too.
    pub apply: Apply,
    /// IgnoreFlowIfNullOrEmpty dropped it: it is sent neither on create nor on update.
    pub ignored: bool,
    /// Redact: the value is shown as `[Redact]`.
    pub redacted: bool,
    /// The expression's calls and their results (empty for direct and constant mappings).
    pub steps: Vec<Step>,
    /// Its matching precedence, if it is a matching attribute.
    pub matching_precedence: Option<u32>,
}

impl Mapped {
    /// Whether it is part of a create: not ignored, and not null (Entra leaves null
    /// attributes out of a POST).
    pub fn on_create(&self) -> bool {
        !self.ignored && self.value != Value::Null
    }

    /// Whether it is compared and sent on update.
    pub fn on_update(&self) -> bool {
        !self.ignored && self.apply == Apply::Always
    }

    /// The value as a trace shows it.
    pub fn shown(&self) -> String {
        if self.redacted {
            "[Redact]".into()
        } else {
            self.value.to_string()
        }
    }
}

impl Mapping {
    /// This mapping's value for the user in `env`.
    ///
    /// # Errors
    /// The expression's [`EvalError`].
    pub fn evaluate(&self, env: &Env<'_>) -> Result<Mapped, EvalError> {
        let (mut value, ignored, redacted, steps) = match &self.source {
            Source::Direct(name) => (
                env.user
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map_or(Value::Null, |(_, v)| v.clone()),
                false,
                false,
                Vec::new(),
            ),
            Source::Constant(c) => (Value::Str(c.clone()), false, false, Vec::new()),
            Source::Expression(e) => {
                let r = expr::evaluate(e, env)?;
                (r.value, r.ignore_flow, r.redacted, r.steps)
            }
        };
        if value == Value::Null
            && let Some(default) = &self.default
        {
            value = Value::Str(default.clone());
        }
        Ok(Mapped {
            target: self.target.clone(),
            value,
            apply: self.apply,
            ignored,
            redacted,
            steps,
            matching_precedence: self.matching_precedence,
        })
    }
}

/// An Entra user from JSON: an object of attribute names to strings, booleans, numbers,
/// arrays (multi-valued) or null.
///
/// # Errors
/// A message when the JSON is not an object.
pub fn user_from_json(json: &serde_json::Value) -> Result<IndexMap<String, Value>, String> {
    let serde_json::Value::Object(map) = json else {
        return Err("an Entra user is a JSON object of attributes".into());
    };
    Ok(map
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect())
}
