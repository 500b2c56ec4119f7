//! Search filter evaluation (RFC 4515), with each attribute's matching rule: case-insensitive
//! for directory strings, exact for IA5 exact strings and octets, numeric for integers, and
//! object-class matching that follows the class hierarchy (`(objectClass=person)` matches an
//! inetOrgPerson), as slapd does.

use super::Flavour;
use super::dit::{Entry, normalize};
use super::schema::{self, Syntax};

/// The filter type the protocol crate decodes.
pub type Filter = ldap3_proto::LdapFilter;

/// Whether `entry` matches `filter`.
pub fn matches(flavour: Flavour, entry: &Entry, filter: &Filter) -> bool {
    eval(flavour, entry, filter) == Some(true)
}

/// RFC 4511 §4.5.1.7's three-valued evaluation: an assertion on an attribute type the schema
/// does not define is Undefined (`None`), and so is its negation.
fn eval(flavour: Flavour, entry: &Entry, filter: &Filter) -> Option<bool> {
    let defined =
        |name: &str| name.eq_ignore_ascii_case("objectClass") || schema::attribute(name).is_some();
    match filter {
        Filter::And(all) => {
            let results: Vec<Option<bool>> = all.iter().map(|f| eval(flavour, entry, f)).collect();
            if results.contains(&Some(false)) {
                Some(false)
            } else if results.contains(&None) {
                None
            } else {
                Some(true)
            }
        }
        Filter::Or(any) => {
            let results: Vec<Option<bool>> = any.iter().map(|f| eval(flavour, entry, f)).collect();
            if results.contains(&Some(true)) {
                Some(true)
            } else if results.contains(&None) {
                None
            } else {
                Some(false)
            }
        }
        Filter::Not(f) => eval(flavour, entry, f).map(|b| !b),
        Filter::Present(name)
        | Filter::Equality(name, _)
        | Filter::Approx(name, _)
        | Filter::Substring(name, _)
        | Filter::GreaterOrEqual(name, _)
        | Filter::LessOrEqual(name, _)
            if !defined(name) =>
        {
            None
        }
        Filter::Extensible(_) => None,
        f => Some(assertion(flavour, entry, f)),
    }
}

fn assertion(flavour: Flavour, entry: &Entry, filter: &Filter) -> bool {
    match filter {
        Filter::Present(name) => entry.get(name).is_some_and(|a| !a.values.is_empty()),
        Filter::Equality(name, value) | Filter::Approx(name, value) => {
            if name.eq_ignore_ascii_case("objectClass") {
                return class_matches(flavour, entry, value);
            }
            let Some(attr) = entry.get(name) else {
                return false;
            };
            let wanted = normalize(&attr.name, value.as_bytes());
            attr.values
                .iter()
                .any(|v| normalize(&attr.name, v) == wanted)
        }
        Filter::Substring(name, sub) => {
            let Some(attr) = entry.get(name) else {
                return false;
            };
            let exact = schema::attribute(&attr.name)
                .is_some_and(|t| matches!(t.syntax, Syntax::Ia5Exact | Syntax::Octets));
            let fold = |s: &str| {
                if exact {
                    s.to_owned()
                } else {
                    s.to_lowercase()
                }
            };
            attr.values.iter().any(|v| {
                let text = fold(&String::from_utf8_lossy(v));
                let mut rest: &str = &text;
                if let Some(initial) = &sub.initial {
                    let initial = fold(initial);
                    match rest.strip_prefix(initial.as_str()) {
                        Some(r) => rest = r,
                        None => return false,
                    }
                }
                for any in &sub.any {
                    let any = fold(any);
                    match rest.find(any.as_str()) {
                        Some(i) => rest = &rest[i + any.len()..],
                        None => return false,
                    }
                }
                match &sub.final_ {
                    Some(last) => rest.ends_with(fold(last).as_str()),
                    None => true,
                }
            })
        }
        Filter::GreaterOrEqual(name, value) => ordered(entry, name, value, |o| o.is_ge()),
        Filter::LessOrEqual(name, value) => ordered(entry, name, value, |o| o.is_le()),
        Filter::And(_) | Filter::Or(_) | Filter::Not(_) | Filter::Extensible(_) => {
            eval(flavour, entry, filter) == Some(true)
        }
    }
}

fn ordered(
    entry: &Entry,
    name: &str,
    value: &str,
    test: impl Fn(std::cmp::Ordering) -> bool,
) -> bool {
    let Some(attr) = entry.get(name) else {
        return false;
    };
    let integer = schema::attribute(&attr.name).is_some_and(|t| t.syntax == Syntax::Integer);
    attr.values.iter().any(|v| {
        let have = String::from_utf8_lossy(v);
        let ordering = if integer {
            match (have.trim().parse::<i64>(), value.trim().parse::<i64>()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => return false,
            }
        } else {
            have.to_lowercase().cmp(&value.to_lowercase())
        };
        test(ordering)
    })
}

fn class_matches(flavour: Flavour, entry: &Entry, wanted: &str) -> bool {
    entry.classes().iter().any(|c| {
        schema::lineage(flavour, c)
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(wanted))
            || c.eq_ignore_ascii_case(wanted)
    })
}
