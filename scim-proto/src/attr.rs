//! Attribute names and attribute paths (RFC 7644 §3.10).
//!
//! ECMA2Host names every target attribute by a URN-qualified path such as
//! `urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn-`. Two things make these paths
//! different from the ones in the RFC's examples, and both are handled here:
//! - the URN itself contains dots (`2.0`), so a URN-qualified path is split at its **last colon**
//!   before a `.` is read as the sub-attribute separator (requirement ECMA-UPDATE-006);
//! - target attribute names are not SCIM `ATTRNAME`s: `-dn-` starts with a hyphen and
//!   `_distinguishedName` with an underscore, so a name here is any non-empty run of ASCII letters,
//!   digits, `-`, `_` and `$` (the `$` is for `$ref`).

use std::fmt;
use std::hash::{Hash, Hasher};

/// An attribute name, compared case-insensitively (RFC 7643 §2.1: "Attribute names are case
/// insensitive"). The original spelling is kept for output.
#[derive(Clone, Debug, Eq)]
pub struct AttrName(String);

impl AttrName {
    /// Wraps a name without validating it; use [`AttrName::parse`] for untrusted input.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// Validates and wraps a name: a non-empty run of ASCII letters, digits, `-`, `_` and `$`.
    pub fn parse(name: &str) -> Result<Self, AttrPathError> {
        if name.is_empty() {
            return Err(AttrPathError::EmptyName);
        }
        if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(AttrPathError::InvalidChar {
                name: name.to_owned(),
                found: bad,
            });
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as it was spelled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `other` names the same attribute, ignoring ASCII case.
    pub fn is(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl PartialEq for AttrName {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Hash for AttrName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for AttrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AttrName {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$')
}

/// A reference to an attribute: `[URN ":"] name ["." subAttr]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN the path was qualified with, as written (`None` for a bare name).
    pub urn: Option<String>,
    /// The attribute.
    pub name: AttrName,
    /// The sub-attribute of a complex attribute (`name.givenName`).
    pub sub_attr: Option<AttrName>,
}

impl AttrPath {
    /// A bare attribute name without URN or sub-attribute.
    pub fn bare(name: impl Into<String>) -> Self {
        Self {
            urn: None,
            name: AttrName::new(name),
            sub_attr: None,
        }
    }

    /// An attribute qualified by a schema URN.
    pub fn qualified(urn: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            urn: Some(urn.into()),
            name: AttrName::new(name),
            sub_attr: None,
        }
    }

    /// Parses `[URN ":"] name ["." subAttr]`. A path starting with `urn:` (any case) is split at
    /// its last colon, so the dots inside `…:2.0:User:` never separate a sub-attribute.
    pub fn parse(path: &str) -> Result<Self, AttrPathError> {
        let path = path.trim();
        if path.is_empty() {
            return Err(AttrPathError::EmptyName);
        }
        let (urn, rest) = if starts_with_ignore_case(path, "urn:") {
            match path.rfind(':') {
                Some(i) if i + 1 < path.len() => (Some(&path[..i]), &path[i + 1..]),
                _ => return Err(AttrPathError::UrnWithoutName(path.to_owned())),
            }
        } else {
            (None, path)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        Ok(Self {
            urn: urn.map(str::to_owned),
            name: AttrName::parse(name)?,
            sub_attr: sub.map(AttrName::parse).transpose()?,
        })
    }

    /// True when the path belongs to the schema `urn`: qualified with it (ignoring case), or bare
    /// and `bare_matches` says bare names count as that schema's.
    pub fn in_schema(&self, urn: &str, bare_matches: bool) -> bool {
        match &self.urn {
            Some(u) => u.eq_ignore_ascii_case(urn),
            None => bare_matches,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

pub(crate) fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Why an attribute path could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttrPathError {
    /// The path, or one of its parts, is empty.
    #[error("attribute name is empty")]
    EmptyName,
    /// A name contains a character outside letters, digits, `-`, `_` and `$`.
    #[error("attribute name {name:?} contains {found:?}, which is not allowed in attribute names")]
    InvalidChar {
        /// The offending name.
        name: String,
        /// The first character that is not allowed.
        found: char,
    },
    /// A path starting with `urn:` has nothing after its last colon.
    #[error("{0:?} is a URN without an attribute name after its last colon")]
    UrnWithoutName(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urn;

    #[test]
    fn urn_paths_split_at_the_last_colon() {
        let p = AttrPath::parse("urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn-")
            .unwrap();
        assert_eq!(p.urn.as_deref(), Some(urn::ECMA2HOST_USER));
        assert_eq!(p.name.as_str(), "-dn-");
        assert_eq!(p.sub_attr, None);
    }

    #[test]
    fn sub_attributes_follow_the_name_not_the_urn_version() {
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(p.name.as_str(), "manager");
        assert_eq!(p.sub_attr.unwrap().as_str(), "value");
        let p = AttrPath::parse("name.givenName").unwrap();
        assert_eq!(
            (p.name.as_str(), p.sub_attr.unwrap().as_str()),
            ("name", "givenName")
        );
    }

    #[test]
    fn names_compare_without_case() {
        assert_eq!(AttrName::from("objectClass"), AttrName::from("OBJECTCLASS"));
        assert!(
            AttrPath::parse("URN:IETF:params:scim:schemas:extension:ECMA2Host:2.0:User:cn")
                .unwrap()
                .in_schema(urn::ECMA2HOST_USER, false)
        );
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        assert_eq!(AttrPath::parse(""), Err(AttrPathError::EmptyName));
        assert!(matches!(
            AttrPath::parse("user name"),
            Err(AttrPathError::InvalidChar { found: ' ', .. })
        ));
        assert!(matches!(
            AttrPath::parse("urn:x:"),
            Err(AttrPathError::UrnWithoutName(_))
        ));
        assert_eq!(AttrPath::parse("name."), Err(AttrPathError::EmptyName));
    }
}
