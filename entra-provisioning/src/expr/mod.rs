//! The expression language of Entra's attribute mappings ("Reference for writing expressions
//! for attribute mappings in Microsoft Entra ID"): [`parse`] an expression, [`evaluate`] it
//! over an Entra user in an [`Env`] that supplies the clock, the random seed, the uniqueness
//! oracle of SelectUniqueValue and the tenant's default domain.
//!
//! Every function of the reference is here ([`function::ALL`], 45 with Len and
//! DefaultDomain). AppRoleAssignmentsComplex evaluates to an [`EvalError::Unsupported`]: it
//! needs the tenant's app role objects, which a simulator outside the cloud does not have.
//!
//! Where the reference is silent, these choices hold (each has a test):
//! - a missing attribute is null; string functions read null as `""` except where the
//!   reference says otherwise (Left, Word, Len return `""`/0, Coalesce and Switch test it);
//! - a single-valued function given a multi-valued attribute reads its first value;
//! - Join skips null and empty sources (the reference's `Join(", ", "", [surname],
//!   [givenName])` gives `Doe, John`); Split trims the spaces around each piece (its example
//!   gives `PermissionSetTwo` from `", PermissionSetTwo"`);
//! - Word counts runs of non-delimiters, so consecutive delimiters make no empty word;
//! - an IIF condition that reads a null or empty attribute is false ("If the source attribute
//!   used within the IIF function is empty or null, the condition check fails"), and the trace
//!   says so;
//! - comparisons are numeric when both sides are integers, otherwise ordinal and
//!   case-sensitive;
//! - Mid with a start below 1 is an error; past the end it gives `""`; Item out of range is
//!   an error (as Cloud Sync documents);
//! - regular expressions are Rust `regex` syntax, which reads .NET's named groups
//!   `(?<name>…)` and `${name}` substitutions; a pattern it cannot read (look-around,
//!   back-references) is an error that names the pattern. A `$5` naming no group becomes
//!   empty, where .NET keeps it as written;
//! - lengths and positions (Len, Left, Mid, InStr) count characters, where .NET counts UTF-16
//!   units (they differ only outside the Basic Multilingual Plane);
//! - a result longer than [`MAX_VALUE_BYTES`] is an error, checked before a Replace builds it.

mod dates;
pub(crate) mod diacritics;
mod eval;
pub mod function;
mod parse;
mod value;

pub use dates::{
    Interval, format as format_date, general as general_date, parse_exact, parse_lenient,
};
pub use eval::{Env, EvalError, Evaluation, MAX_VALUE_BYTES, Step, evaluate};
pub use function::Function;
pub use parse::{CompareOp, Expr, MAX_CHARS, ParseError, parse};
pub use value::Value;
