//! An object as the connector space keeps it: anchor, DN and every value in one allocation.
//!
//! A [`CsEntry`] costs about 1.6 KiB at rest for a typical inetOrgPerson (a map with its own
//! hash table, a `String` per attribute name, a `Vec` per attribute, a `String` per value:
//! some twenty allocations). Packed, the same object is one boxed byte string of about 250
//! bytes, which is what lets a million objects fit in well under a gigabyte. Objects are
//! unpacked when a request needs one (a few hundred nanoseconds), and the index is built by
//! walking the bytes ([`Packed::attributes`]) without unpacking.
//!
//! Our own encoding rather than a serialisation crate's: the space reads the DN and one
//! attribute's values straight from the bytes, which a general format would have to decode
//! whole first. The bytes are only ever written by [`Packed::pack`] in this process.
//!
//! Layout (lengths and counts in LEB128): anchor, a byte saying whether the DN is the anchor
//! (else the DN follows), the attribute count, then per attribute its name, its value count and
//! each value as a tag byte (0 string + text, 1 false, 2 true, 3 integer + 8 bytes
//! little-endian).

use indexmap::IndexMap;
use scim_proto::value::Scalar;

use crate::connector::CsEntry;

/// One packed object (see the module documentation for the layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Packed(Box<[u8]>);

/// A value read from packed bytes, borrowing its text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ScalarRef<'a> {
    String(&'a str),
    Boolean(bool),
    Integer(i64),
}

impl<'a> From<&'a Scalar> for ScalarRef<'a> {
    fn from(v: &'a Scalar) -> Self {
        match v {
            Scalar::String(s) => ScalarRef::String(s),
            Scalar::Boolean(b) => ScalarRef::Boolean(*b),
            Scalar::Integer(i) => ScalarRef::Integer(*i),
        }
    }
}

impl ScalarRef<'_> {
    /// The owned value.
    pub(super) fn to_scalar(self) -> Scalar {
        match self {
            ScalarRef::String(s) => Scalar::String(s.to_owned()),
            ScalarRef::Boolean(b) => Scalar::Boolean(b),
            ScalarRef::Integer(i) => Scalar::Integer(i),
        }
    }
}

const TAG_STRING: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INTEGER: u8 = 3;

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Reads packed bytes front to back. Every read of bytes [`Packed::pack`] did not write gives
/// empty values rather than panicking; none other are ever read.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((b, rest)) => {
                self.bytes = rest;
                *b
            }
            None => 0,
        }
    }

    fn len(&mut self) -> usize {
        let mut n = 0usize;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            n |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        n
    }

    fn str(&mut self) -> &'a str {
        let n = self.len().min(self.bytes.len());
        let (s, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        std::str::from_utf8(s).unwrap_or_default()
    }

    fn scalar(&mut self) -> ScalarRef<'a> {
        match self.byte() {
            TAG_FALSE => ScalarRef::Boolean(false),
            TAG_TRUE => ScalarRef::Boolean(true),
            TAG_INTEGER => {
                let n = self.bytes.len().min(8);
                let (b, rest) = self.bytes.split_at(n);
                self.bytes = rest;
                let mut le = [0u8; 8];
                le[..n].copy_from_slice(b);
                ScalarRef::Integer(i64::from_le_bytes(le))
            }
            _ => ScalarRef::String(self.str()),
        }
    }
}

/// The values of one attribute, read as they are walked.
pub(super) struct Values<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for Values<'a> {
    type Item = ScalarRef<'a>;

    fn next(&mut self) -> Option<ScalarRef<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.reader.scalar())
    }
}

/// The attributes of a packed object in order: name and values.
pub(super) struct Attributes<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a str, Values<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let name = self.reader.str();
        let count = self.reader.len();
        let values = Values {
            reader: Reader {
                bytes: self.reader.bytes,
            },
            left: count,
        };
        // Skip past the values for the next attribute.
        for _ in 0..count {
            self.reader.scalar();
        }
        Some((name, values))
    }
}

impl Packed {
    /// `entry`, packed.
    pub(super) fn pack(entry: &CsEntry) -> Packed {
        // A typical person fits; `into_boxed_slice` trims what is left over.
        let mut out = Vec::with_capacity(256);
        put_str(&mut out, &entry.anchor);
        if entry.dn == entry.anchor {
            out.push(1);
        } else {
            out.push(0);
            put_str(&mut out, &entry.dn);
        }
        put_len(&mut out, entry.attributes.len());
        for (name, values) in &entry.attributes {
            put_str(&mut out, name);
            put_len(&mut out, values.len());
            for v in values {
                match v {
                    Scalar::String(s) => {
                        out.push(TAG_STRING);
                        put_str(&mut out, s);
                    }
                    Scalar::Boolean(false) => out.push(TAG_FALSE),
                    Scalar::Boolean(true) => out.push(TAG_TRUE),
                    Scalar::Integer(i) => {
                        out.push(TAG_INTEGER);
                        out.extend_from_slice(&i.to_le_bytes());
                    }
                }
            }
        }
        Packed(out.into_boxed_slice())
    }

    /// Anchor and DN, and a reader at the attribute count.
    fn head(&self) -> (&str, &str, Reader<'_>) {
        let mut r = Reader { bytes: &self.0 };
        let anchor = r.str();
        let dn = if r.byte() == 1 { anchor } else { r.str() };
        (anchor, dn, r)
    }

    /// The DN.
    pub(super) fn dn(&self) -> &str {
        self.head().1
    }

    /// The attributes, in the order of the entry packed.
    pub(super) fn attributes(&self) -> Attributes<'_> {
        let (_, _, mut reader) = self.head();
        let left = reader.len();
        Attributes { reader, left }
    }

    /// The values of the attribute named `name` (the schema's spelling, exactly).
    pub(super) fn values(&self, name: &str) -> Option<Values<'_>> {
        self.attributes().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The entry, unpacked.
    pub(super) fn unpack(&self) -> CsEntry {
        let (anchor, dn, _) = self.head();
        let attributes = self.attributes();
        let mut map = IndexMap::with_capacity(attributes.left);
        for (name, values) in attributes {
            map.insert(name.to_owned(), values.map(ScalarRef::to_scalar).collect());
        }
        CsEntry {
            anchor: anchor.to_owned(),
            dn: dn.to_owned(),
            attributes: map,
        }
    }

    /// Bytes held (the allocation's payload).
    #[cfg(test)]
    pub(super) fn size(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(anchor: &str, dn: &str, attributes: &[(&str, Vec<Scalar>)]) -> CsEntry {
        CsEntry {
            anchor: anchor.into(),
            dn: dn.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn round_trips_every_kind_of_value_and_keeps_order() {
        let long = "é".repeat(200);
        let cases = [
            entry("", "", &[]),
            entry(
                "cn=a,dc=x",
                "cn=a,dc=x",
                &[
                    ("sn", vec![Scalar::String("A".into())]),
                    (
                        "objectClass",
                        vec![
                            Scalar::String("top".into()),
                            Scalar::String("inetOrgPerson".into()),
                        ],
                    ),
                    ("empty", vec![]),
                    ("cn", vec![Scalar::String(long.clone())]),
                ],
            ),
            entry(
                "8f6c2a0e-0000-4000-8000-000000000001",
                "cn=b,dc=x",
                &[
                    ("active", vec![Scalar::Boolean(true)]),
                    ("locked", vec![Scalar::Boolean(false)]),
                    (
                        "n",
                        vec![
                            Scalar::Integer(i64::MIN),
                            Scalar::Integer(-1),
                            Scalar::Integer(0),
                            Scalar::Integer(i64::MAX),
                        ],
                    ),
                    ("", vec![Scalar::String(String::new())]),
                ],
            ),
        ];
        for e in cases {
            let p = Packed::pack(&e);
            assert_eq!(p.unpack(), e);
            assert_eq!(p.dn(), e.dn);
            let names: Vec<&str> = p.attributes().map(|(n, _)| n).collect();
            let expected: Vec<&str> = e.attributes.keys().map(String::as_str).collect();
            assert_eq!(names, expected);
            for (name, want) in &e.attributes {
                let got: Vec<Scalar> = p.values(name).unwrap().map(ScalarRef::to_scalar).collect();
                assert_eq!(&got, want);
            }
            assert!(p.values("absent").is_none());
            for ((_, values), (_, want)) in p.attributes().zip(&e.attributes) {
                let got: Vec<Scalar> = values.map(ScalarRef::to_scalar).collect();
                assert_eq!(&got, want);
            }
        }
    }

    #[test]
    fn equal_entries_pack_equal_and_different_ones_differ() {
        let a = entry("x", "x", &[("sn", vec![Scalar::String("A".into())])]);
        let mut b = a.clone();
        assert_eq!(Packed::pack(&a), Packed::pack(&b));
        b.attributes
            .insert("sn".into(), vec![Scalar::String("B".into())]);
        assert_ne!(Packed::pack(&a), Packed::pack(&b));
        b.dn = "y".into();
        assert_ne!(Packed::pack(&a).dn(), Packed::pack(&b).dn());
    }

    #[test]
    fn a_typical_person_packs_in_a_few_hundred_bytes() {
        let e = entry(
            "cn=Adele Vance 000123,ou=users,dc=contoso,dc=lab",
            "cn=Adele Vance 000123,ou=users,dc=contoso,dc=lab",
            &[
                ("cn", vec![Scalar::String("Adele Vance 000123".into())]),
                ("sn", vec![Scalar::String("Vance".into())]),
                (
                    "mail",
                    vec![Scalar::String("adele.vance.000123@contoso.lab".into())],
                ),
                ("displayName", vec![Scalar::String("Adele Vance".into())]),
                (
                    "objectClass",
                    ["top", "person", "organizationalPerson", "inetOrgPerson"]
                        .iter()
                        .map(|s| Scalar::String((*s).into()))
                        .collect(),
                ),
            ],
        );
        let size = Packed::pack(&e).size();
        assert!(size < 220, "{size} bytes");
    }
}
