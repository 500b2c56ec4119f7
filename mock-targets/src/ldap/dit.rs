//! The directory information tree: entries, and the operations on them with the checks a real
//! server makes — schema (MUST, MAY, SINGLE-VALUE, syntax, one structural class), parent and
//! existence, leaf-only deletes, RDN consistency. No I/O and no protocol: results are
//! `Result<_, LdapError>` with the LDAP result code and a server-like message.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use scim_proto::dn::Dn;

use super::Flavour;
use super::filter::{Filter, matches};
use super::schema::{self, Kind, Syntax};

/// An LDAP result code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdapError {
    /// RFC 4511 result code.
    pub code: u32,
    /// Diagnostic message.
    pub message: String,
    /// The matched DN (noSuchObject).
    pub matched: String,
}

impl LdapError {
    /// An error.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        LdapError {
            code,
            message: message.into(),
            matched: String::new(),
        }
    }
}

/// Result codes (RFC 4511 Appendix A), from the shared vocabulary.
pub use ecma_vocab::ldap::code;

/// One attribute of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Its name as the server spells it (the schema's primary name).
    pub name: String,
    /// Its values.
    pub values: Vec<Vec<u8>>,
}

/// An entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its number, in creation order (what slapd's paged results walk by, so a page cursor
    /// survives entries being added and removed between pages).
    pub id: u64,
    /// Its DN, as stored (RDN case kept, spacing and escapes canonical).
    pub dn: String,
    /// User attributes.
    pub attrs: Vec<Attr>,
    /// Operational attributes the server keeps.
    pub operational: Vec<Attr>,
}

impl Entry {
    /// The values of an attribute (user or operational), by name or alias.
    pub fn get(&self, name: &str) -> Option<&Attr> {
        let canonical = schema::attribute(name).map_or(name, |a| a.name);
        self.attrs
            .iter()
            .chain(&self.operational)
            .find(|a| a.name.eq_ignore_ascii_case(canonical))
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Attr> {
        self.attrs
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The object classes, as stored.
    pub fn classes(&self) -> Vec<String> {
        self.get("objectClass")
            .map(|a| {
                a.values
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A change of a modify operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Add values.
    Add(String, Vec<Vec<u8>>),
    /// Delete values (all of them when empty).
    Delete(String, Vec<Vec<u8>>),
    /// Replace all values (delete the attribute when empty).
    Replace(String, Vec<Vec<u8>>),
}

/// The search scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The base entry only.
    Base,
    /// Its children.
    OneLevel,
    /// It and everything beneath it.
    Subtree,
    /// Everything beneath it.
    Children,
}

/// The tree.
#[derive(Clone, Debug)]
pub struct Directory {
    flavour: Flavour,
    suffix: String,
    suffix_dn: Dn,
    root_dn: String,
    root_password: String,
    entries: BTreeMap<String, Entry>,
    accounts: Vec<(String, String)>,
    csn: u64,
    next_id: u64,
}

fn key(dn: &Dn) -> String {
    dn.normalized()
}

fn parse(dn: &str) -> Result<Dn, LdapError> {
    Dn::parse(dn).map_err(|_| LdapError::new(code::INVALID_DN_SYNTAX, "invalid DN"))
}

/// The stored form of a DN, as slapd writes it ("pretty"): attribute types by their schema name,
/// values as given with special characters hex-escaped (`\2C`, `\2B`, `\22`, `\5C`, `\3C`,
/// `\3E`, `\3B`, `\3D`, a leading `\20` or `\23`, a trailing `\20`), no spaces between RDNs.
fn pretty(dn: &Dn) -> String {
    dn.rdns()
        .iter()
        .map(|rdn| {
            rdn.0
                .iter()
                .map(|ava| {
                    let attr = schema::attribute(&ava.attr).map_or(ava.attr.as_str(), |t| t.name);
                    let value = if ava.value.starts_with('#')
                        && ava.value.len() > 1
                        && ava.value[1..].bytes().all(|b| b.is_ascii_hexdigit())
                    {
                        ava.value.clone()
                    } else {
                        hex_escape(&ava.value)
                    };
                    format!("{attr}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn hex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' => out.push_str("\\2C"),
            '+' => out.push_str("\\2B"),
            '"' => out.push_str("\\22"),
            '\\' => out.push_str("\\5C"),
            '<' => out.push_str("\\3C"),
            '>' => out.push_str("\\3E"),
            ';' => out.push_str("\\3B"),
            '=' => out.push_str("\\3D"),
            '\0' => out.push_str("\\00"),
            '#' if i == 0 => out.push_str("\\23"),
            ' ' if i == 0 || i == last => out.push_str("\\20"),
            c => out.push(c),
        }
    }
    out
}

fn now_generalized() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Normalises a value for comparison under an attribute's matching rule.
pub fn normalize(name: &str, value: &[u8]) -> Vec<u8> {
    let syntax = schema::attribute(name).map_or(Syntax::Text, |a| a.syntax);
    match syntax {
        // RFC 4518: Unicode form KC, case folded, insignificant spaces dropped.
        Syntax::Text | Syntax::Ia5 | Syntax::Oid | Syntax::Boolean => {
            use unicode_normalization::UnicodeNormalization as _;
            let text: String = String::from_utf8_lossy(value).nfkc().collect();
            text.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
                .into_bytes()
        }
        Syntax::Dn => Dn::parse(&String::from_utf8_lossy(value))
            .map(|d| d.normalized().into_bytes())
            .unwrap_or_else(|_| value.to_ascii_lowercase()),
        Syntax::Integer => String::from_utf8_lossy(value)
            .trim()
            .parse::<i64>()
            .map(|i| i.to_string().into_bytes())
            .unwrap_or_else(|_| value.to_vec()),
        Syntax::Ia5Exact | Syntax::Octets => value.to_vec(),
    }
}

fn check_syntax(name: &str, syntax: Syntax, index: usize, value: &[u8]) -> Result<(), LdapError> {
    let bad = || {
        LdapError::new(
            code::INVALID_ATTRIBUTE_SYNTAX,
            format!("{name}: value #{index} invalid per syntax"),
        )
    };
    let text = std::str::from_utf8(value);
    let ok = match syntax {
        Syntax::Octets => true,
        Syntax::Text | Syntax::Oid => text.is_ok_and(|t| !t.trim().is_empty()),
        Syntax::Ia5 | Syntax::Ia5Exact => text.is_ok_and(|t| !t.is_empty() && t.is_ascii()),
        Syntax::Integer => text.is_ok_and(|t| {
            let t = t.strip_prefix('-').unwrap_or(t);
            !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_digit())
                && (t == "0" || !t.starts_with('0'))
        }),
        Syntax::Boolean => text.is_ok_and(|t| t == "TRUE" || t == "FALSE"),
        Syntax::Dn => text.is_ok_and(|t| Dn::parse(t).is_ok()),
    };
    if ok { Ok(()) } else { Err(bad()) }
}

impl Directory {
    /// An empty tree for `suffix`, administered by `root_dn`.
    pub fn new(
        flavour: Flavour,
        suffix: &str,
        root_dn: &str,
        root_password: &str,
    ) -> Result<Self, LdapError> {
        let suffix_dn = parse(suffix)?;
        Ok(Directory {
            flavour,
            suffix: key(&suffix_dn),
            suffix_dn,
            root_dn: key(&parse(root_dn)?),
            root_password: root_password.to_owned(),
            entries: BTreeMap::new(),
            accounts: Vec::new(),
            csn: 0,
            next_id: 1,
        })
    }

    /// Lets `dn` bind with `password` without an entry.
    pub fn add_account(&mut self, dn: &str, password: &str) -> Result<(), LdapError> {
        self.accounts.push((key(&parse(dn)?), password.to_owned()));
        Ok(())
    }

    /// The naming context's DN as configured.
    pub fn suffix(&self) -> String {
        self.suffix_dn.to_string()
    }

    /// The flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// True when `dn` is the root DN.
    pub fn is_root(&self, dn: &str) -> bool {
        Dn::parse(dn).is_ok_and(|d| key(&d) == self.root_dn)
    }

    /// Every entry, by normalised DN.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }

    /// A simple bind: `Ok(Some(dn))` when authenticated, `Ok(None)` for anonymous.
    pub fn bind(&self, dn: &str, password: &[u8]) -> Result<Option<String>, LdapError> {
        let invalid = || LdapError::new(code::INVALID_CREDENTIALS, "");
        if dn.is_empty() {
            return if password.is_empty() {
                Ok(None)
            } else {
                Err(LdapError::new(
                    code::UNWILLING_TO_PERFORM,
                    "unauthenticated bind (DN with no password) disallowed",
                ))
            };
        }
        let parsed = parse(dn)?;
        if key(&parsed) == self.root_dn {
            return if password == self.root_password.as_bytes() {
                Ok(Some(dn.to_owned()))
            } else {
                Err(invalid())
            };
        }
        if password.is_empty() {
            return Err(LdapError::new(
                code::UNWILLING_TO_PERFORM,
                "unauthenticated bind (DN with no password) disallowed",
            ));
        }
        if let Some((_, p)) = self.accounts.iter().find(|(k, _)| *k == key(&parsed)) {
            return if p.as_bytes() == password {
                Ok(Some(dn.to_owned()))
            } else {
                Err(invalid())
            };
        }
        let entry = self.entries.get(&key(&parsed)).ok_or_else(invalid)?;
        // AD LDS keeps a password set through unicodePwd: the quoted password in UTF-16LE.
        let quoted: Vec<u8> = std::iter::once('"')
            .chain(String::from_utf8_lossy(password).chars())
            .chain(std::iter::once('"'))
            .collect::<String>()
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let ok = entry
            .get("userPassword")
            .is_some_and(|a| a.values.iter().any(|v| v == password))
            || entry
                .get("unicodePwd")
                .is_some_and(|a| a.values.contains(&quoted));
        if ok {
            Ok(Some(entry.dn.clone()))
        } else {
            Err(invalid())
        }
    }

    fn next_csn(&mut self) -> String {
        self.csn += 1;
        format!(
            "{}.{:06}Z#000000#000#000000",
            now_generalized().trim_end_matches('Z'),
            self.csn
        )
    }

    /// The closest existing ancestor of `dn`, for noSuchObject's matched DN.
    fn matched(&self, dn: &Dn) -> String {
        let mut next = dn.parent();
        while let Some(p) = next {
            if let Some(e) = self.entries.get(&key(&p)) {
                return e.dn.clone();
            }
            next = p.parent();
        }
        String::new()
    }

    fn no_such_object(&self, dn: &Dn) -> LdapError {
        LdapError {
            code: code::NO_SUCH_OBJECT,
            message: String::new(),
            matched: self.matched(dn),
        }
    }

    /// Checks the attributes given for an add or produced by a modify against the schema.
    fn schema_check(&self, attrs: &[Attr]) -> Result<(), LdapError> {
        let classes = object_classes(attrs);
        if classes.is_empty() {
            return Err(LdapError::new(
                code::OBJECT_CLASS_VIOLATION,
                "no objectClass attribute",
            ));
        }
        for (i, c) in classes.iter().enumerate() {
            if schema::class(self.flavour, c).is_none() {
                return Err(LdapError::new(
                    code::INVALID_ATTRIBUTE_SYNTAX,
                    format!("objectClass: value #{i} invalid per syntax"),
                ));
            }
        }
        // Exactly one structural chain.
        let structural: Vec<&str> = classes
            .iter()
            .filter_map(|c| schema::class(self.flavour, c))
            .filter(|c| c.kind == Kind::Structural)
            .map(|c| c.name)
            .collect();
        let most_specific: Vec<&str> = structural
            .iter()
            .copied()
            .filter(|c| {
                !structural.iter().any(|o| {
                    o != c
                        && schema::lineage(self.flavour, o)
                            .iter()
                            .any(|l| l.name == *c)
                })
            })
            .collect();
        match most_specific.len() {
            0 => {
                return Err(LdapError::new(
                    code::OBJECT_CLASS_VIOLATION,
                    "no structural object class provided",
                ));
            }
            1 => {}
            _ => {
                return Err(LdapError::new(
                    code::OBJECT_CLASS_VIOLATION,
                    "invalid structural object class chain",
                ));
            }
        }
        let all: Vec<&schema::ObjectClass> = classes
            .iter()
            .flat_map(|c| schema::lineage(self.flavour, c))
            .collect();
        for class in &all {
            for must in class.must {
                if !attrs.iter().any(|a| a.name.eq_ignore_ascii_case(must)) {
                    return Err(LdapError::new(
                        code::OBJECT_CLASS_VIOLATION,
                        format!("object class '{}' requires attribute '{must}'", class.name),
                    ));
                }
            }
        }
        for attr in attrs {
            let allowed = all.iter().any(|c| {
                c.must
                    .iter()
                    .chain(c.may)
                    .any(|n| n.eq_ignore_ascii_case(&attr.name))
            });
            if !allowed {
                return Err(LdapError::new(
                    code::OBJECT_CLASS_VIOLATION,
                    format!("attribute '{}' not allowed", attr.name),
                ));
            }
            let single = schema::attribute(&attr.name).is_some_and(|t| t.single);
            if single && attr.values.len() > 1 {
                return Err(LdapError::new(
                    code::CONSTRAINT_VIOLATION,
                    format!("attribute '{}' cannot have multiple values", attr.name),
                ));
            }
        }
        Ok(())
    }

    /// Resolves and checks attributes given by a client: known types, values per syntax, no
    /// duplicate values, no client-written operational attributes.
    fn client_attrs(&self, given: Vec<(String, Vec<Vec<u8>>)>) -> Result<Vec<Attr>, LdapError> {
        let mut out: Vec<Attr> = Vec::new();
        for (name, values) in given {
            let Some(t) = schema::attribute(&name) else {
                return Err(LdapError::new(
                    code::UNDEFINED_ATTRIBUTE_TYPE,
                    format!("{name}: attribute type undefined"),
                ));
            };
            if t.operational {
                return Err(LdapError::new(
                    code::CONSTRAINT_VIOLATION,
                    format!("{}: no user modification allowed", t.name),
                ));
            }
            if values.is_empty() {
                return Err(LdapError::new(
                    code::PROTOCOL_ERROR,
                    format!("{}: no values given", t.name),
                ));
            }
            for (i, v) in values.iter().enumerate() {
                check_syntax(t.name, t.syntax, i, v)?;
            }
            let values = canonical_classes(self.flavour, t.name, values);
            let existing = out.iter_mut().find(|a| a.name == t.name);
            let attr = match existing {
                Some(a) => a,
                None => {
                    out.push(Attr {
                        name: t.name.to_owned(),
                        values: Vec::new(),
                    });
                    out.last_mut()
                        .ok_or_else(|| LdapError::new(80, "internal"))?
                }
            };
            for v in values {
                let n = normalize(t.name, &v);
                if attr.values.iter().any(|x| normalize(t.name, x) == n) {
                    return Err(LdapError::new(
                        code::ATTRIBUTE_OR_VALUE_EXISTS,
                        format!(
                            "{}: value #{} provided more than once",
                            t.name,
                            attr.values.len()
                        ),
                    ));
                }
                attr.values.push(v);
            }
        }
        Ok(out)
    }

    /// Adds an entry.
    pub fn add(
        &mut self,
        dn: &str,
        given: Vec<(String, Vec<Vec<u8>>)>,
        by: &str,
    ) -> Result<(), LdapError> {
        let parsed = parse(dn)?;
        let k = key(&parsed);
        let mut attrs = self.client_attrs(given)?;
        if self.flavour == Flavour::AdLds
            && attrs
                .iter()
                .any(|a| a.name == "userPassword" || a.name == "unicodePwd")
        {
            return Err(LdapError::new(
                code::UNWILLING_TO_PERFORM,
                "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM): passwords cannot be set on this connection",
            ));
        }
        let is_suffix = k == self.suffix;
        if !is_suffix && !parsed.is_within(&self.suffix_dn) {
            return Err(LdapError {
                code: code::NO_SUCH_OBJECT,
                message: String::new(),
                matched: String::new(),
            });
        }
        if !is_suffix {
            let parent = parsed
                .parent()
                .ok_or_else(|| self.no_such_object(&parsed))?;
            if !self.entries.contains_key(&key(&parent)) {
                return Err(self.no_such_object(&parsed));
            }
        }
        if self.entries.contains_key(&k) {
            return Err(LdapError::new(code::ENTRY_ALREADY_EXISTS, ""));
        }
        // The RDN's values belong in the entry; add those that are missing, as slapd does.
        if let Some(rdn) = parsed.rdns().first() {
            for ava in &rdn.0 {
                let Some(t) = schema::attribute(&ava.attr) else {
                    return Err(LdapError::new(
                        code::UNDEFINED_ATTRIBUTE_TYPE,
                        format!("{}: attribute type undefined", ava.attr),
                    ));
                };
                let v = ava.value.as_bytes().to_vec();
                match attrs.iter_mut().find(|a| a.name == t.name) {
                    Some(a)
                        if a.values
                            .iter()
                            .any(|x| normalize(t.name, x) == normalize(t.name, &v)) => {}
                    Some(a) if t.single => {
                        let _ = a;
                        return Err(LdapError::new(
                            code::NAMING_VIOLATION,
                            format!(
                                "value of single-valued naming attribute '{}' conflicts with value present in entry",
                                t.name
                            ),
                        ));
                    }
                    Some(a) => a.values.push(v),
                    None => attrs.push(Attr {
                        name: t.name.to_owned(),
                        values: vec![v],
                    }),
                }
            }
        }
        if self.flavour == Flavour::AdLds {
            expand_classes(self.flavour, &mut attrs);
        }
        self.schema_check(&attrs)?;
        self.check_upn_unique(&attrs, None)?;
        let structural = structural_of(self.flavour, &attrs);
        let now = now_generalized();
        let csn = self.next_csn();
        let text = |s: &str| vec![s.as_bytes().to_vec()];
        let mut operational = vec![
            Attr {
                name: "structuralObjectClass".into(),
                values: text(&structural),
            },
            Attr {
                name: "entryDN".into(),
                values: text(&pretty(&parsed)),
            },
            Attr {
                name: "creatorsName".into(),
                values: text(by),
            },
            Attr {
                name: "createTimestamp".into(),
                values: text(&now),
            },
            Attr {
                name: "modifiersName".into(),
                values: text(by),
            },
            Attr {
                name: "modifyTimestamp".into(),
                values: text(&now),
            },
            Attr {
                name: "entryCSN".into(),
                values: text(&csn),
            },
        ];
        match self.flavour {
            Flavour::OpenLdap => operational.push(Attr {
                name: "entryUUID".into(),
                values: text(&uuid::Uuid::new_v4().to_string()),
            }),
            Flavour::AdLds => {
                operational.push(Attr {
                    name: "objectGUID".into(),
                    values: vec![uuid::Uuid::new_v4().to_bytes_le().to_vec()],
                });
                operational.push(Attr {
                    name: "whenCreated".into(),
                    values: text(&format!("{}.0Z", now.trim_end_matches('Z'))),
                });
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(
            k,
            Entry {
                id,
                dn: pretty(&parsed),
                attrs,
                operational,
            },
        );
        Ok(())
    }

    /// Modifies an entry: all changes or none.
    pub fn modify(&mut self, dn: &str, changes: Vec<Change>, by: &str) -> Result<(), LdapError> {
        let parsed = parse(dn)?;
        let k = key(&parsed);
        let Some(current) = self.entries.get(&k) else {
            return Err(self.no_such_object(&parsed));
        };
        let mut entry = current.clone();
        for change in changes {
            let (name, values) = match &change {
                Change::Add(n, v) | Change::Delete(n, v) | Change::Replace(n, v) => {
                    (n.clone(), v.clone())
                }
            };
            let Some(t) = schema::attribute(&name) else {
                return Err(LdapError::new(
                    code::UNDEFINED_ATTRIBUTE_TYPE,
                    format!("{name}: attribute type undefined"),
                ));
            };
            if t.operational {
                return Err(LdapError::new(
                    code::CONSTRAINT_VIOLATION,
                    format!("{}: no user modification allowed", t.name),
                ));
            }
            if !matches!(change, Change::Delete(..)) {
                for (i, v) in values.iter().enumerate() {
                    check_syntax(t.name, t.syntax, i, v)?;
                }
            }
            match change {
                Change::Add(..) => {
                    if values.is_empty() {
                        return Err(LdapError::new(
                            code::PROTOCOL_ERROR,
                            format!("modify/add: {}: no values given", t.name),
                        ));
                    }
                    if entry.get_mut(t.name).is_none() {
                        entry.attrs.push(Attr {
                            name: t.name.to_owned(),
                            values: Vec::new(),
                        });
                    }
                    let attr = entry
                        .get_mut(t.name)
                        .ok_or_else(|| LdapError::new(80, "internal"))?;
                    for (i, v) in values.into_iter().enumerate() {
                        let n = normalize(t.name, &v);
                        if attr.values.iter().any(|x| normalize(t.name, x) == n) {
                            return Err(LdapError::new(
                                code::ATTRIBUTE_OR_VALUE_EXISTS,
                                format!("modify/add: {}: value #{i} already exists", t.name),
                            ));
                        }
                        attr.values.push(v);
                    }
                }
                Change::Delete(..) => {
                    let Some(attr) = entry.get_mut(t.name) else {
                        return Err(LdapError::new(
                            code::NO_SUCH_ATTRIBUTE,
                            format!("modify/delete: {}: no such attribute", t.name),
                        ));
                    };
                    if values.is_empty() {
                        attr.values.clear();
                    } else {
                        for (i, v) in values.iter().enumerate() {
                            let n = normalize(t.name, v);
                            let before = attr.values.len();
                            attr.values.retain(|x| normalize(t.name, x) != n);
                            if attr.values.len() == before {
                                return Err(LdapError::new(
                                    code::NO_SUCH_ATTRIBUTE,
                                    format!("modify/delete: {}: value #{i} not found", t.name),
                                ));
                            }
                        }
                    }
                }
                Change::Replace(..) => {
                    let mut fresh: Vec<Vec<u8>> = Vec::new();
                    for v in values {
                        let n = normalize(t.name, &v);
                        if fresh.iter().any(|x| normalize(t.name, x) == n) {
                            return Err(LdapError::new(
                                code::ATTRIBUTE_OR_VALUE_EXISTS,
                                format!(
                                    "modify/replace: {}: value #{} provided more than once",
                                    t.name,
                                    fresh.len()
                                ),
                            ));
                        }
                        fresh.push(v);
                    }
                    match entry.get_mut(t.name) {
                        Some(a) => a.values = fresh,
                        None => entry.attrs.push(Attr {
                            name: t.name.to_owned(),
                            values: fresh,
                        }),
                    }
                }
            }
            entry.attrs.retain(|a| !a.values.is_empty());
        }
        // The RDN's values must stay.
        if let Some(rdn) = parsed.rdns().first() {
            for ava in &rdn.0 {
                let name = schema::attribute(&ava.attr).map_or(ava.attr.as_str(), |t| t.name);
                let v = normalize(name, ava.value.as_bytes());
                if !entry
                    .get(name)
                    .is_some_and(|a| a.values.iter().any(|x| normalize(name, x) == v))
                {
                    return Err(LdapError::new(
                        code::NAMING_VIOLATION,
                        format!("value of naming attribute '{name}' is not present in entry"),
                    ));
                }
            }
        }
        let old_structural = structural_of(self.flavour, &current.attrs);
        let new_structural = structural_of(self.flavour, &entry.attrs);
        if !new_structural.is_empty() && new_structural != old_structural {
            return Err(LdapError::new(
                code::OBJECT_CLASS_MODS_PROHIBITED,
                format!(
                    "structural object class modification from '{old_structural}' to '{new_structural}' not allowed"
                ),
            ));
        }
        self.schema_check(&entry.attrs)?;
        self.check_upn_unique(&entry.attrs, Some(&k))?;
        let now = now_generalized();
        let csn = self.next_csn();
        set_operational(&mut entry, "modifiersName", by);
        set_operational(&mut entry, "modifyTimestamp", &now);
        set_operational(&mut entry, "entryCSN", &csn);
        self.entries.insert(k, entry);
        Ok(())
    }

    /// AD LDS keeps userPrincipalName unique in a partition (MS-ADTS 3.1.1.5.1.3, Uniqueness
    /// Constraints) and refuses a duplicate with constraintViolation and the Win32 error
    /// ERROR_DS_UPN_VALUE_NOT_UNIQUE_IN_FOREST (8648, 0x21C8) at the head of the diagnostic
    /// message, in AD's `AtrErr` format. `except` is the entry being modified.
    fn check_upn_unique(&self, attrs: &[Attr], except: Option<&String>) -> Result<(), LdapError> {
        if self.flavour != Flavour::AdLds {
            return Ok(());
        }
        let Some(upn) = attrs.iter().find(|a| a.name == "userPrincipalName") else {
            return Ok(());
        };
        let wanted: Vec<Vec<u8>> = upn
            .values
            .iter()
            .map(|v| normalize("userPrincipalName", v))
            .collect();
        let taken = self.entries.iter().any(|(k, e)| {
            Some(k) != except
                && e.get("userPrincipalName").is_some_and(|a| {
                    a.values
                        .iter()
                        .any(|v| wanted.contains(&normalize("userPrincipalName", v)))
                })
        });
        if taken {
            return Err(LdapError::new(
                code::CONSTRAINT_VIOLATION,
                "000021C8: AtrErr: DSID-03200BE4, #1:\n\t0: 000021C8: DSID-03200BE4, problem 1005 \
                 (CONSTRAINT_ATT_TYPE), data 0, Att 90290 (userPrincipalName)\n",
            ));
        }
        Ok(())
    }

    /// Deletes a leaf entry.
    pub fn delete(&mut self, dn: &str) -> Result<(), LdapError> {
        let parsed = parse(dn)?;
        let k = key(&parsed);
        if !self.entries.contains_key(&k) {
            return Err(self.no_such_object(&parsed));
        }
        if self.has_children(&parsed) {
            return Err(LdapError::new(
                code::NOT_ALLOWED_ON_NON_LEAF,
                "subordinate objects must be deleted first",
            ));
        }
        self.entries.remove(&k);
        Ok(())
    }

    fn has_children(&self, dn: &Dn) -> bool {
        let depth = dn.rdns().len();
        self.entries
            .values()
            .any(|e| Dn::parse(&e.dn).is_ok_and(|d| d.rdns().len() == depth + 1 && d.is_within(dn)))
    }

    /// Renames or moves a leaf entry.
    pub fn modify_dn(
        &mut self,
        dn: &str,
        new_rdn: &str,
        delete_old: bool,
        new_superior: Option<&str>,
        by: &str,
    ) -> Result<(), LdapError> {
        let parsed = parse(dn)?;
        let k = key(&parsed);
        let Some(current) = self.entries.get(&k).cloned() else {
            return Err(self.no_such_object(&parsed));
        };
        if self.has_children(&parsed) {
            return Err(LdapError::new(
                code::NOT_ALLOWED_ON_NON_LEAF,
                "subtree rename not supported",
            ));
        }
        let rdn = parse(new_rdn)?;
        if rdn.rdns().len() != 1 {
            return Err(LdapError::new(code::INVALID_DN_SYNTAX, "invalid new RDN"));
        }
        let parent_text = match new_superior {
            Some(s) => pretty(&parse(s)?),
            None => parsed.parent().map(|p| pretty(&p)).unwrap_or_default(),
        };
        let new_dn_text = if parent_text.is_empty() {
            pretty(&rdn)
        } else {
            format!("{},{parent_text}", pretty(&rdn))
        };
        let new_dn = parse(&new_dn_text)?;
        // Beneath itself (only a leaf moves, so its own DN is the one way to get there): the
        // entry would leave its old place and have no parent in the new one.
        if new_dn.parent().is_some_and(|p| key(&p) == k) {
            return Err(LdapError::new(
                code::UNWILLING_TO_PERFORM,
                "an entry cannot be moved beneath itself",
            ));
        }
        if let Some(parent) = new_dn.parent()
            && !self.entries.contains_key(&key(&parent))
        {
            return Err(self.no_such_object(&new_dn));
        }
        let new_key = key(&new_dn);
        if new_key != k && self.entries.contains_key(&new_key) {
            return Err(LdapError::new(code::ENTRY_ALREADY_EXISTS, ""));
        }
        let mut entry = current;
        if delete_old && let Some(old) = parsed.rdns().first() {
            for ava in &old.0 {
                let name =
                    schema::attribute(&ava.attr).map_or(ava.attr.clone(), |t| t.name.to_owned());
                let v = normalize(&name, ava.value.as_bytes());
                if let Some(a) = entry.get_mut(&name) {
                    a.values.retain(|x| normalize(&name, x) != v);
                }
            }
        }
        for ava in &rdn.rdns()[0].0 {
            let Some(t) = schema::attribute(&ava.attr) else {
                return Err(LdapError::new(
                    code::UNDEFINED_ATTRIBUTE_TYPE,
                    format!("{}: attribute type undefined", ava.attr),
                ));
            };
            let v = ava.value.as_bytes().to_vec();
            match entry.get_mut(t.name) {
                Some(a)
                    if a.values
                        .iter()
                        .any(|x| normalize(t.name, x) == normalize(t.name, &v)) => {}
                Some(a) => a.values.push(v),
                None => entry.attrs.push(Attr {
                    name: t.name.to_owned(),
                    values: vec![v],
                }),
            }
        }
        entry.attrs.retain(|a| !a.values.is_empty());
        self.schema_check(&entry.attrs)?;
        entry.dn = pretty(&new_dn);
        let dn_text = entry.dn.clone();
        set_operational(&mut entry, "entryDN", &dn_text);
        set_operational(&mut entry, "modifiersName", by);
        let csn = self.next_csn();
        set_operational(&mut entry, "entryCSN", &csn);
        self.entries.remove(&k);
        self.entries.insert(new_key, entry);
        Ok(())
    }

    /// The entries a search selects, in tree order; with `page = Some((after, size))` (a
    /// simple paged results request, RFC 2696), at most `size + 1` of those created after the
    /// entry numbered `after`, in creation order (the extra one tells that more follow).
    pub fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &Filter,
        page: Option<(u64, usize)>,
    ) -> Result<Vec<Entry>, LdapError> {
        if base.is_empty() {
            // The root DSE.
            return Ok(if scope == Scope::Base {
                vec![self.root_dse()]
            } else {
                Vec::new()
            });
        }
        let parsed = parse(base)?;
        if !self.entries.contains_key(&key(&parsed)) {
            return Err(self.no_such_object(&parsed));
        }
        let depth = parsed.rdns().len();
        // Every DN parsed once, and the set of entries that have children, so that a search
        // costs one pass over the tree (paged imports run one search per page).
        let mut all: Vec<(&String, &Entry, Dn)> = self
            .entries
            .iter()
            .filter_map(|(k, e)| Dn::parse(&e.dn).ok().map(|d| (k, e, d)))
            .collect();
        let parents: std::collections::HashSet<String> = all
            .iter()
            .filter_map(|(_, _, d)| d.parent().map(|p| key(&p)))
            .collect();
        if page.is_some() {
            all.sort_by_key(|(_, e, _)| e.id);
        }
        let (after, most) = page.map_or((0, usize::MAX), |(a, size)| (a, size.saturating_add(1)));
        let mut out = Vec::new();
        for (k, entry, d) in all {
            if out.len() >= most {
                break;
            }
            if entry.id <= after && page.is_some() {
                continue;
            }
            let n = d.rdns().len();
            let in_scope = d.is_within(&parsed)
                && match scope {
                    Scope::Base => n == depth,
                    Scope::OneLevel => n == depth + 1,
                    Scope::Subtree => true,
                    Scope::Children => n > depth,
                };
            if in_scope {
                let mut e = entry.clone();
                let subordinates = parents.contains(k);
                set_operational(
                    &mut e,
                    "hasSubordinates",
                    if subordinates { "TRUE" } else { "FALSE" },
                );
                set_operational(&mut e, "subschemaSubentry", "cn=Subschema");
                if matches(self.flavour, &e, filter) {
                    out.push(e);
                }
            }
        }
        if page.is_none() {
            // Parents before children, as a server walks the tree.
            out.sort_by_key(|e| Dn::parse(&e.dn).map_or(0, |d| d.rdns().len()));
        }
        Ok(out)
    }

    fn root_dse(&self) -> Entry {
        let text = |s: &str| vec![s.as_bytes().to_vec()];
        let suffix = self
            .entries
            .get(&self.suffix)
            .map_or_else(|| self.suffix.clone(), |e| e.dn.clone());
        Entry {
            id: 0,
            dn: String::new(),
            attrs: vec![
                Attr {
                    name: "objectClass".into(),
                    values: text("top"),
                },
                Attr {
                    name: "namingContexts".into(),
                    values: text(&suffix),
                },
                Attr {
                    name: "supportedLDAPVersion".into(),
                    values: text("3"),
                },
                Attr {
                    name: "supportedControl".into(),
                    values: text("1.2.840.113556.1.4.319"),
                },
                Attr {
                    name: "supportedExtension".into(),
                    values: text("1.3.6.1.4.1.4203.1.11.3"),
                },
            ],
            operational: Vec::new(),
        }
    }

    /// Compares one value.
    pub fn compare(&self, dn: &str, name: &str, value: &[u8]) -> Result<bool, LdapError> {
        let parsed = parse(dn)?;
        let entry = self
            .entries
            .get(&key(&parsed))
            .ok_or_else(|| self.no_such_object(&parsed))?;
        let Some(t) = schema::attribute(name) else {
            return Err(LdapError::new(
                code::UNDEFINED_ATTRIBUTE_TYPE,
                format!("{name}: attribute type undefined"),
            ));
        };
        let attr = entry
            .get(t.name)
            .ok_or_else(|| LdapError::new(code::NO_SUCH_ATTRIBUTE, ""))?;
        let n = normalize(t.name, value);
        Ok(attr.values.iter().any(|v| normalize(t.name, v) == n))
    }
}

/// Object class names as the schema spells them, as slapd stores them.
fn canonical_classes(flavour: Flavour, attr: &str, values: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if attr != "objectClass" {
        return values;
    }
    values
        .into_iter()
        .map(
            |v| match schema::class(flavour, &String::from_utf8_lossy(&v)) {
                Some(c) => c.name.as_bytes().to_vec(),
                None => v,
            },
        )
        .collect()
}

fn set_operational(entry: &mut Entry, name: &str, value: &str) {
    let v = vec![value.as_bytes().to_vec()];
    match entry.operational.iter_mut().find(|a| a.name == name) {
        Some(a) => a.values = v,
        None => entry.operational.push(Attr {
            name: name.to_owned(),
            values: v,
        }),
    }
}

/// The values of an entry's `objectClass` attribute, as text.
fn object_classes(attrs: &[Attr]) -> Vec<String> {
    attrs
        .iter()
        .find(|a| a.name == "objectClass")
        .map(|a| {
            a.values
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn structural_of(flavour: Flavour, attrs: &[Attr]) -> String {
    let classes = object_classes(attrs);
    let structural: Vec<&schema::ObjectClass> = classes
        .iter()
        .filter_map(|c| schema::class(flavour, c))
        .filter(|c| c.kind == Kind::Structural)
        .collect();
    structural
        .iter()
        .find(|c| {
            !structural.iter().any(|o| {
                o.name != c.name
                    && schema::lineage(flavour, o.name)
                        .iter()
                        .any(|l| l.name == c.name)
            })
        })
        .map_or_else(String::new, |c| c.name.to_owned())
}

/// AD stores the whole class chain in objectClass.
fn expand_classes(flavour: Flavour, attrs: &mut [Attr]) {
    let Some(oc) = attrs.iter_mut().find(|a| a.name == "objectClass") else {
        return;
    };
    let given: Vec<String> = oc
        .values
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let mut chain: Vec<&str> = Vec::new();
    for c in &given {
        for l in schema::lineage(flavour, c).into_iter().rev() {
            if !chain.contains(&l.name) {
                chain.push(l.name);
            }
        }
    }
    let seen: BTreeSet<String> = chain.iter().map(|c| c.to_ascii_lowercase()).collect();
    let mut values: Vec<Vec<u8>> = chain.iter().map(|c| c.as_bytes().to_vec()).collect();
    for g in given {
        if !seen.contains(&g.to_ascii_lowercase()) {
            values.push(g.into_bytes());
        }
    }
    oc.values = values;
}
