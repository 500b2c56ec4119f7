//! Distinguished names (RFC 4514): parsing with unescaping, writing with escaping, comparison.
//!
//! ECMA2Host's `-dn-` attribute carries a DN. A host needs this to check that `-dn-` is an LDAP-style DN at all (requirement
//! ECMA-DN-004: `username@domain.com` is refused before the directory sees it), that it lies
//! within the connector's partition, to name the missing container when the parent does not
//! exist, and to compare DNs the way directories do: attribute types and, for the naming
//! attributes users carry (`cn`, `uid`, `ou`, `dc`), values without case.
//!
//! Parsing is lenient where directories are: spaces around `,`, `+` and `=` are ignored and `;`
//! separates RDNs as in RFC 2253. It is strict where meaning would change: an unescaped `"` or a
//! missing `=` is an error, never guessed at.

use std::fmt;

/// A parsed DN: RDNs from the entry's own (leftmost) to the root's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dn {
    rdns: Vec<Rdn>,
}

/// A relative DN: one or more attribute-value assertions joined by `+`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rdn(pub Vec<Ava>);

/// One `type=value` pair, with the value unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ava {
    /// The attribute type as written (`cn`, `CN`, `2.5.4.3`).
    pub attr: String,
    /// The value, unescaped. A `#`-hexstring value is kept as written.
    pub value: String,
}

/// Why a string is not a DN.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an LDAP distinguished name: {reason} at offset {offset}")]
pub struct DnError {
    /// The text given.
    pub input: String,
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl Dn {
    /// Parses an RFC 4514 string. The empty string is refused: no user lives at the root.
    pub fn parse(input: &str) -> Result<Dn, DnError> {
        let err = |offset, reason| DnError {
            input: input.to_owned(),
            offset,
            reason,
        };
        let bytes = input.as_bytes();
        let mut pos = 0;
        let mut rdns = Vec::new();
        let mut avas = Vec::new();
        if input.trim().is_empty() {
            return Err(err(0, "the DN is empty"));
        }
        loop {
            // attributeType
            while pos < bytes.len() && bytes[pos] == b' ' {
                pos += 1;
            }
            let start = pos;
            while pos < bytes.len()
                && bytes[pos] != b'='
                && !matches!(bytes[pos], b',' | b'+' | b';')
            {
                pos += 1;
            }
            if pos >= bytes.len() || bytes[pos] != b'=' {
                return Err(err(start, "expected \"type=value\""));
            }
            let attr = input[start..pos].trim_end();
            if !is_attribute_type(attr) {
                return Err(err(start, "the attribute type is not a name or an OID"));
            }
            pos += 1; // '='
            while pos < bytes.len() && bytes[pos] == b' ' {
                pos += 1;
            }
            // attributeValue
            let mut value = Vec::new();

            if pos < bytes.len() && bytes[pos] == b'#' {
                let vstart = pos;
                pos += 1;
                while pos < bytes.len() && bytes[pos].is_ascii_hexdigit() {
                    pos += 1;
                }
                if !(pos - vstart - 1).is_multiple_of(2) || pos == vstart + 1 {
                    return Err(err(vstart, "a #-value needs pairs of hex digits"));
                }
                value.extend_from_slice(&bytes[vstart..pos]);
                while pos < bytes.len() && bytes[pos] == b' ' {
                    pos += 1;
                }
            } else {
                // Length of the value up to its last escaped or non-space byte.
                let mut last_significant = 0;
                while pos < bytes.len() && !matches!(bytes[pos], b',' | b'+' | b';') {
                    match bytes[pos] {
                        b'\\' => {
                            let e = pos;
                            pos += 1;
                            match bytes.get(pos) {
                                Some(h) if h.is_ascii_hexdigit() => {
                                    let pair = input
                                        .get(pos..pos + 2)
                                        .filter(|p| p.bytes().all(|b| b.is_ascii_hexdigit()));
                                    let Some(pair) = pair else {
                                        return Err(err(
                                            e,
                                            "\\ must be followed by two hex digits or a special character",
                                        ));
                                    };
                                    value.push(
                                        u8::from_str_radix(pair, 16)
                                            .map_err(|_| err(e, "bad hex pair"))?,
                                    );
                                    pos += 2;
                                }
                                Some(c) if b" \"#+,;<=>\\".contains(c) => {
                                    value.push(*c);
                                    pos += 1;
                                }
                                _ => {
                                    return Err(err(
                                        e,
                                        "\\ must be followed by two hex digits or a special character",
                                    ));
                                }
                            }
                            last_significant = value.len();
                        }
                        b'"' => return Err(err(pos, "a \" in a value must be escaped as \\\"")),
                        b' ' => {
                            value.push(b' ');
                            pos += 1;
                        }
                        b => {
                            value.push(b);
                            pos += 1;
                            last_significant = value.len();
                        }
                    }
                }
                // Unescaped trailing spaces are not part of the value.
                value.truncate(last_significant);
            }
            let value =
                String::from_utf8(value).map_err(|_| err(start, "the value is not UTF-8"))?;
            avas.push(Ava {
                attr: attr.to_owned(),
                value,
            });
            match bytes.get(pos) {
                None => {
                    rdns.push(Rdn(std::mem::take(&mut avas)));
                    break;
                }
                Some(b'+') => pos += 1,
                Some(b',' | b';') => {
                    rdns.push(Rdn(std::mem::take(&mut avas)));
                    pos += 1;
                    if pos >= bytes.len() {
                        return Err(err(pos, "the DN ends with a separator"));
                    }
                }
                // Only after a #-value: anything but a separator (which may be the first byte
                // of a character of several, where slicing would fail).
                Some(_) => {
                    return Err(err(
                        pos,
                        "a #-value must be followed by ',', '+' or the end of the DN",
                    ));
                }
            }
        }
        Ok(Dn { rdns })
    }

    /// The RDNs, the entry's own first.
    pub fn rdns(&self) -> &[Rdn] {
        &self.rdns
    }

    /// The DN of the container: everything after the first RDN. `None` for a one-RDN DN.
    pub fn parent(&self) -> Option<Dn> {
        (self.rdns.len() > 1).then(|| Dn {
            rdns: self.rdns[1..].to_vec(),
        })
    }

    /// True when `self` is `base` or lies beneath it.
    pub fn is_within(&self, base: &Dn) -> bool {
        self.rdns.len() >= base.rdns.len()
            && self.rdns[self.rdns.len() - base.rdns.len()..]
                .iter()
                .zip(&base.rdns)
                .all(|(a, b)| a.normalized() == b.normalized())
    }

    /// A form in which equal DNs are equal strings: types and values lower-cased, escapes
    /// canonical, multi-valued RDNs sorted.
    pub fn normalized(&self) -> String {
        self.rdns
            .iter()
            .map(Rdn::normalized)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Rdn {
    fn normalized(&self) -> String {
        let mut avas: Vec<String> = self
            .0
            .iter()
            .map(|a| {
                format!(
                    "{}={}",
                    a.attr.to_ascii_lowercase(),
                    escape_value(&a.value.to_lowercase())
                )
            })
            .collect();
        avas.sort();
        avas.join("+")
    }
}

/// Normalises a DN string for comparison; a string that does not parse is compared as written,
/// lower-cased.
///
/// A DN of letters, digits, `=`, `,`, `.`, `-`, `_`, `@` and single spaces between two of the
/// others but `=` and `,` (`cn=Ann Lee,ou=People,dc=contoso,dc=lab`: most DNs) is its own
/// normal form lower-cased, and is not parsed: the reference host keys its connector space
/// by the DN, so every request on a user normalizes one.
pub fn normalize(dn: &str) -> String {
    if is_plain(dn) {
        return dn.to_ascii_lowercase();
    }
    parsed_normal(dn)
}

/// [`normalize`] by parsing, whatever `dn` is made of.
fn parsed_normal(dn: &str) -> String {
    Dn::parse(dn)
        .map(|d| d.normalized())
        .unwrap_or_else(|_| dn.to_lowercase())
}

/// Whether [`normalize`] of `dn` is `dn` lower-cased without parsing it: nothing in it is
/// escaped, trimmed, sorted or split into several values (see [`normalize`]).
fn is_plain(dn: &str) -> bool {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@');
    let bytes = dn.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'=' | b',' => true,
        b' ' => i > 0 && plain(bytes[i - 1]) && bytes.get(i + 1).is_some_and(|&n| plain(n)),
        b => plain(b),
    })
}

impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, ava) in rdn.0.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                if ava.value.starts_with('#') && is_hexstring(&ava.value) {
                    write!(f, "{}={}", ava.attr, ava.value)?;
                } else {
                    write!(f, "{}={}", ava.attr, escape_value(&ava.value))?;
                }
            }
        }
        Ok(())
    }
}

fn is_hexstring(v: &str) -> bool {
    v.len() > 1 && (v.len() - 1).is_multiple_of(2) && v[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_attribute_type(t: &str) -> bool {
    let descr = t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !t.is_empty()
        && t.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    descr || oid
}

/// Escapes a value for use in a DN (RFC 4514 §2.4).
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to 6 characters over letters of both cases, digits, the DN's
    /// separators and specials, and spaces: the fast path gives what parsing gives.
    #[test]
    fn a_plain_dn_normalizes_as_a_parsed_one() {
        let alphabet = [
            'a', 'B', '1', '=', ',', ' ', '.', '@', '#', '+', '\\', ';', '"',
        ];
        let mut s = String::new();
        let mut plain = 0;
        fn each(s: &mut String, alphabet: &[char], left: usize, plain: &mut usize) {
            assert_eq!(normalize(s), parsed_normal(s), "{s:?}");
            *plain += usize::from(is_plain(s));
            if left == 0 {
                return;
            }
            for c in alphabet {
                s.push(*c);
                each(s, alphabet, left - 1, plain);
                s.pop();
            }
        }
        each(&mut s, &alphabet, 6, &mut plain);
        // The fast path is taken, for many of them.
        assert!(plain > 50_000, "{plain}");
        assert_eq!(
            normalize("CN=Ann Lee,OU=People,DC=contoso,DC=lab"),
            "cn=ann lee,ou=people,dc=contoso,dc=lab"
        );
        assert!(is_plain("CN=Ann Lee,OU=People,DC=contoso,DC=lab"));
    }

    #[test]
    fn escapes_are_undone_and_redone() {
        let dn = Dn::parse(r"CN=Simon\, Barbara+uid=bs,OU=People,DC=contoso,DC=lab").unwrap();
        assert_eq!(dn.rdns()[0].0[0].value, "Simon, Barbara");
        assert_eq!(dn.rdns()[0].0[1].attr, "uid");
        assert_eq!(
            dn.to_string(),
            r"CN=Simon\, Barbara+uid=bs,OU=People,DC=contoso,DC=lab"
        );
        let dn = Dn::parse(r"cn=Z\C3\AB\22q\22,dc=x").unwrap();
        assert_eq!(dn.rdns()[0].0[0].value, "Zë\"q\"");
        assert_eq!(dn.to_string(), r#"cn=Zë\"q\",dc=x"#);
        let dn = Dn::parse(r"cn=\ lead and trail\ ,dc=x").unwrap();
        assert_eq!(dn.rdns()[0].0[0].value, " lead and trail ");
        assert_eq!(dn.to_string(), r"cn=\ lead and trail\ ,dc=x");
    }

    #[test]
    fn comparison_ignores_case_spacing_and_escape_spelling() {
        let a = Dn::parse("cn=Bsimon, dc=Contoso ,dc=LAB").unwrap();
        let b = Dn::parse("CN=bsimon,DC=contoso,DC=lab").unwrap();
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(normalize(r"cn=a\2Cb,dc=x"), normalize(r"cn=a\,b,dc=x"));
        assert!(b.is_within(&Dn::parse("dc=Contoso,dc=Lab").unwrap()));
        assert!(!b.is_within(&Dn::parse("dc=other,dc=lab").unwrap()));
        assert_eq!(b.parent().unwrap().to_string(), "DC=contoso,DC=lab");
    }

    #[test]
    fn non_ldap_strings_are_refused() {
        for bad in [
            "bsimon@contoso.com",
            "",
            "   ",
            "cn=a,",
            "cn=a\"b,dc=x",
            "=a",
            "c n=a",
            r"cn=a\q",
            "cn=#abc",
            // Found by the fuzz properties (a panic: the byte after a #-value was taken for a
            // separator, and the next type sliced a character in two).
            "1.2.840.113556.1.4.1=#04024869\u{feff}OU=\\2C,",
            "cn=#0402\u{e9}x,dc=x",
            "cn=#0402 x,dc=x",
        ] {
            assert!(Dn::parse(bad).is_err(), "{bad:?} parsed");
        }
        let e = Dn::parse("bsimon@contoso.com").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"bsimon@contoso.com\" is not an LDAP distinguished name: expected \"type=value\" at offset 0"
        );
    }

    #[test]
    fn oids_and_hexstrings_are_accepted() {
        let dn = Dn::parse("2.5.4.3=#04024869,dc=x").unwrap();
        assert_eq!(dn.to_string(), "2.5.4.3=#04024869,dc=x");
    }
}
