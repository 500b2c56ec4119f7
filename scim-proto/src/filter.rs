//! SCIM filters (RFC 7644 §3.4.2.2): the whole grammar, parsed by a small hand-written
//! recursive-descent parser.
//!
//! Why not an existing crate: `scim_v2` and `scim-filter` parse the RFC's `ATTRNAME`, which must
//! start with a letter, so neither accepts ECMA2Host's `-dn-` or `_distinguishedName`; neither
//! splits URN-qualified paths at the last colon (the `2.0` in every ECMA2Host URN holds a dot);
//! neither bounds nesting depth; and their errors carry no offset. The grammar is small enough
//! that owning it costs less than working around those gaps.
//!
//! What is accepted beyond the ABNF, each because a real client sends it:
//! - a value path followed by a sub-attribute comparison, `emails[type eq "work"].value eq "x"`
//!   (Microsoft's documentation of what Entra filters on);
//! - bare, unquoted values, `externalId eq jyoung` (an older Entra sample) — read as strings;
//! - keywords and operators in any case (`EQ`, `And`), as RFC 7644 requires of attribute
//!   operators;
//! - any run of spaces or tabs where the ABNF has one `SP`.
//!
//! Limits: nesting (parentheses, `not`, value paths) deeper than [`MAX_DEPTH`] and more than
//! [`MAX_CLAUSES`] comparisons are refused, so a hostile filter cannot exhaust the stack.

use std::fmt;
use std::str::FromStr;

use serde_json::Number;

use crate::attr::{AttrName, AttrPath, AttrPathError};

/// The deepest nesting of parentheses, `not` and value paths a filter may have.
pub const MAX_DEPTH: usize = 32;
/// The most attribute comparisons one filter may hold.
pub const MAX_CLAUSES: usize = 256;

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `attrPath compareOp compValue`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The value compared with.
        value: CompValue,
    },
    /// `attrPath pr`: the attribute has a value.
    Present(AttrPath),
    /// `left and right`
    And(Box<Filter>, Box<Filter>),
    /// `left or right`
    Or(Box<Filter>, Box<Filter>),
    /// `not (filter)`
    Not(Box<Filter>),
    /// `attrPath[valFilter]`, optionally followed by a comparison on one sub-attribute of the
    /// matching values (`emails[type eq "work"].value eq "x"`). Paths inside `filter` and `then`
    /// name sub-attributes of `path`.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter each value is tested against.
        filter: Box<Filter>,
        /// A further test on a sub-attribute of the values that matched.
        then: Option<Box<Filter>>,
    },
}

/// Comparison operators (RFC 7644 §3.4.2.2, Table 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// less than
    Lt,
    /// greater than or equal to
    Ge,
    /// less than or equal to
    Le,
}

impl CompareOp {
    const ALL: [(CompareOp, &'static str); 9] = [
        (CompareOp::Eq, "eq"),
        (CompareOp::Ne, "ne"),
        (CompareOp::Co, "co"),
        (CompareOp::Sw, "sw"),
        (CompareOp::Ew, "ew"),
        (CompareOp::Gt, "gt"),
        (CompareOp::Lt, "lt"),
        (CompareOp::Ge, "ge"),
        (CompareOp::Le, "le"),
    ];

    /// The operator's keyword in lower case.
    pub fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("eq", |(_, kw)| kw)
    }

    fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, kw)| kw.eq_ignore_ascii_case(word))
            .map(|(op, _)| *op)
    }
}

/// A comparison value: a JSON string, number, boolean or null.
#[derive(Clone, Debug, PartialEq)]
pub enum CompValue {
    /// A string (JSON escapes already resolved).
    Str(String),
    /// A number.
    Num(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`
    Null,
}

impl Filter {
    /// Parses a filter.
    pub fn parse(src: &str) -> Result<Self, FilterError> {
        let mut p = Parser {
            src,
            pos: 0,
            depth: 0,
            clauses: 0,
            in_value_path: false,
        };
        p.skip_ws();
        if p.at_end() {
            return Err(p.error(FilterErrorKind::Empty));
        }
        let filter = p.parse_or()?;
        p.skip_ws();
        if !p.at_end() {
            return Err(p.unexpected("\"and\", \"or\" or the end of the filter"));
        }
        Ok(filter)
    }

    /// `path eq "value"`, the one filter Entra sends most.
    pub fn eq(path: AttrPath, value: impl Into<String>) -> Self {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(value.into()),
        }
    }

    /// `self and other`
    pub fn and(self, other: Filter) -> Self {
        Filter::And(Box::new(self), Box::new(other))
    }
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

/// Why a filter could not be parsed, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at offset {offset}: {kind}")]
pub struct FilterError {
    /// Byte offset into the filter text.
    pub offset: usize,
    /// What was wrong there.
    pub kind: FilterErrorKind,
}

/// The kinds of filter error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterErrorKind {
    /// The filter is empty or only spaces.
    #[error("the filter is empty")]
    Empty,
    /// The text ended where something else was needed.
    #[error("expected {expected}, found the end of the filter")]
    UnexpectedEnd {
        /// What the parser needed.
        expected: &'static str,
    },
    /// A token that does not fit here.
    #[error("expected {expected}, found {found:?}")]
    Unexpected {
        /// The token found.
        found: String,
        /// What the parser needed.
        expected: &'static str,
    },
    /// An attribute path that is not well formed.
    #[error("{0}")]
    AttrPath(AttrPathError),
    /// A string that has no closing quote.
    #[error("the string starting here has no closing quote")]
    UnterminatedString,
    /// A string whose escapes are not valid JSON.
    #[error("the string is not a valid JSON string: {0}")]
    InvalidString(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("the filter nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More than [`MAX_CLAUSES`] comparisons.
    #[error("the filter has more than {MAX_CLAUSES} comparisons")]
    TooManyClauses,
    /// A value path inside another value path.
    #[error("a value path cannot contain another value path")]
    NestedValuePath,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    clauses: usize,
    in_value_path: bool,
}

const OPERATORS: &str = "a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or \"pr\"";

impl Parser<'_> {
    fn error(&self, kind: FilterErrorKind) -> FilterError {
        FilterError {
            offset: self.pos,
            kind,
        }
    }

    fn error_at(&self, offset: usize, kind: FilterErrorKind) -> FilterError {
        FilterError { offset, kind }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The token at the current position, for error messages.
    fn unexpected(&self, expected: &'static str) -> FilterError {
        match self.peek() {
            None => self.error(FilterErrorKind::UnexpectedEnd { expected }),
            Some(c) if is_delim(c) => self.error(FilterErrorKind::Unexpected {
                found: c.to_string(),
                expected,
            }),
            Some(_) => {
                let end = self.word_end(self.pos);
                self.error(FilterErrorKind::Unexpected {
                    found: self.src[self.pos..end].to_owned(),
                    expected,
                })
            }
        }
    }

    fn word_end(&self, from: usize) -> usize {
        self.src[from..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || is_delim(*c))
            .map_or(self.src.len(), |(i, _)| from + i)
    }

    /// The word at the current position without consuming it.
    fn peek_word(&self) -> &str {
        &self.src[self.pos..self.word_end(self.pos)]
    }

    fn read_word(&mut self) -> (usize, &str) {
        let start = self.pos;
        let end = self.word_end(start);
        self.pos = end;
        (start, &self.src[start..end])
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), FilterError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(self.error(FilterErrorKind::TooDeep))
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// True (and consumed) when the next word is `keyword`.
    fn keyword(&mut self, keyword: &str) -> bool {
        self.skip_ws();
        if self.peek_word().eq_ignore_ascii_case(keyword) {
            self.pos += keyword.len();
            true
        } else {
            false
        }
    }

    fn parse_or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.parse_and()?;
        while self.keyword("or") {
            let right = self.parse_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.parse_unary()?;
        while self.keyword("and") {
            let right = self.parse_unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_group(&mut self) -> Result<Filter, FilterError> {
        self.expect('(', "\"(\"")?;
        self.enter()?;
        let inner = self.parse_or()?;
        self.expect(')', "\")\"")?;
        self.leave();
        Ok(inner)
    }

    fn parse_unary(&mut self) -> Result<Filter, FilterError> {
        self.skip_ws();
        match self.peek() {
            Some('(') => self.parse_group(),
            Some(c) if !is_delim(c) => {
                if self.keyword("not") {
                    return Ok(Filter::Not(Box::new(self.parse_group()?)));
                }
                let (start, word) = self.read_word();
                let path = AttrPath::parse(word)
                    .map_err(|e| self.error_at(start, FilterErrorKind::AttrPath(e)))?;
                if self.peek() == Some('[') {
                    self.parse_value_path(start, path)
                } else {
                    self.parse_attr_exp(path)
                }
            }
            _ => Err(self.unexpected("an attribute path, \"not\" or \"(\"")),
        }
    }

    fn parse_value_path(&mut self, start: usize, path: AttrPath) -> Result<Filter, FilterError> {
        if self.in_value_path {
            return Err(self.error_at(start, FilterErrorKind::NestedValuePath));
        }
        self.pos += 1; // '['
        self.enter()?;
        self.in_value_path = true;
        let filter = self.parse_or()?;
        self.expect(']', "\"]\"")?;
        self.in_value_path = false;
        self.leave();
        let then = if self.peek() == Some('.') {
            self.pos += 1;
            let (sub_start, sub) = self.read_word();
            let sub = AttrName::parse(sub)
                .map_err(|e| self.error_at(sub_start, FilterErrorKind::AttrPath(e)))?;
            let sub_path = AttrPath {
                urn: None,
                name: sub,
                sub_attr: None,
            };
            Some(Box::new(self.parse_attr_exp(sub_path)?))
        } else {
            None
        };
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(filter),
            then,
        })
    }

    fn parse_attr_exp(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return Err(self.error(FilterErrorKind::TooManyClauses));
        }
        self.skip_ws();
        if self.peek().is_none_or(is_delim) {
            return Err(self.unexpected(OPERATORS));
        }
        let (start, word) = self.read_word();
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            let found = word.to_owned();
            return Err(self.error_at(
                start,
                FilterErrorKind::Unexpected {
                    found,
                    expected: OPERATORS,
                },
            ));
        };
        let value = self.parse_comp_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn parse_comp_value(&mut self) -> Result<CompValue, FilterError> {
        const VALUE: &str = "a comparison value (a quoted string, number, true, false or null)";
        self.skip_ws();
        match self.peek() {
            Some('"') => self.parse_string().map(CompValue::Str),
            Some(c) if !is_delim(c) => {
                let (_, word) = self.read_word();
                Ok(if word.eq_ignore_ascii_case("true") {
                    CompValue::Bool(true)
                } else if word.eq_ignore_ascii_case("false") {
                    CompValue::Bool(false)
                } else if word.eq_ignore_ascii_case("null") {
                    CompValue::Null
                } else if let Ok(n) = serde_json::from_str::<Number>(word) {
                    CompValue::Num(n)
                } else {
                    CompValue::Str(word.to_owned())
                })
            }
            _ => Err(self.unexpected(VALUE)),
        }
    }

    fn parse_string(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        let mut escaped = false;
        for (i, c) in self.src[start + 1..].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let end = start + 1 + i + 1;
                    let text = &self.src[start..end];
                    self.pos = end;
                    return serde_json::from_str::<String>(text).map_err(|e| {
                        self.error_at(start, FilterErrorKind::InvalidString(e.to_string()))
                    });
                }
                _ => {}
            }
        }
        Err(self.error_at(start, FilterErrorKind::UnterminatedString))
    }
}

fn is_delim(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '"')
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => {
                // Serialising a str cannot fail; fall back to Debug quoting just in case.
                match serde_json::to_string(s) {
                    Ok(json) => f.write_str(&json),
                    Err(_) => write!(f, "{s:?}"),
                }
            }
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

/// Writes the filter back in the RFC's syntax, adding parentheses only where precedence needs
/// them (`and` binds tighter than `or`).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.keyword()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => {
                for (i, side) in [a, b].into_iter().enumerate() {
                    if i == 1 {
                        f.write_str(" and ")?;
                    }
                    if matches!(**side, Filter::Or(..)) {
                        write!(f, "({side})")?;
                    } else {
                        write!(f, "{side}")?;
                    }
                }
                Ok(())
            }
            Filter::Or(a, b) => write!(f, "{a} or {b}"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter, then } => {
                write!(f, "{path}[{filter}]")?;
                if let Some(then) = then {
                    write!(f, ".{then}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or() {
        let f = Filter::parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        let Filter::Or(_, right) = f else {
            panic!("expected or at the top: {f:?}")
        };
        assert!(matches!(*right, Filter::And(..)));
    }

    #[test]
    fn errors_name_the_offset_and_what_was_expected() {
        let e = Filter::parse("userName eq").unwrap_err();
        assert_eq!(e.offset, 11);
        assert!(
            matches!(e.kind, FilterErrorKind::UnexpectedEnd { .. }),
            "{e}"
        );
        let e = Filter::parse(r#"userName xx "a""#).unwrap_err();
        assert_eq!(e.offset, 9);
        assert!(e.to_string().contains("\"xx\""), "{e}");
        let e = Filter::parse(r#"userName eq "a"#).unwrap_err();
        assert_eq!(e.kind, FilterErrorKind::UnterminatedString);
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let deep = format!(
            "{}a pr{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            Filter::parse(&deep).unwrap_err().kind,
            FilterErrorKind::TooDeep
        );
        let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Filter::parse(&ok).is_ok());
        let wide = vec!["a pr"; MAX_CLAUSES + 1].join(" and ");
        assert_eq!(
            Filter::parse(&wide).unwrap_err().kind,
            FilterErrorKind::TooManyClauses
        );
        let widest = vec!["a pr"; MAX_CLAUSES].join(" and ");
        assert!(Filter::parse(&widest).is_ok());
    }

    #[test]
    fn display_round_trips() {
        for src in [
            r#"userName eq "bjensen""#,
            r#"a eq "1" and (b eq "2" or c eq "3")"#,
            r#"not (title pr)"#,
            r#"emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work"].value eq "x\"y""#,
            r#"urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn- eq "cn=a\\,b,dc=x""#,
        ] {
            let f = Filter::parse(src).unwrap();
            assert_eq!(f.to_string(), src);
            assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
        }
    }
}
