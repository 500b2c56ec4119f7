//! Property-based fuzzing of the mock's LDAP session (the one the fault proxy and the embedded
//! default put in front of every host): bytes off the wire through the protocol codec, and
//! made-up sequences of adds, modifies, renames, deletes and searches by the administrator.
//! Besides never panicking, the directory must stay a tree: every entry's parent is an entry
//! (or the entry is the naming context), whatever order the operations came in.
//!
//! proptest, for the reasons given in scim-proto's fuzz module. `PROPTEST_CASES` sets the
//! number of inputs (default 2,000 per property); the long run:
//!
//! ```sh
//! PROPTEST_CASES=1000000 cargo test --release -p mock-targets --test it fuzz::
//! ```

use std::sync::LazyLock;

use ldap3_proto::proto::{
    LdapAddRequest, LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapFilter, LdapModify,
    LdapModifyDNRequest, LdapModifyRequest, LdapModifyType, LdapOp, LdapPartialAttribute,
    LdapSearchRequest, LdapSearchScope,
};
use ldap3_proto::{LdapCodec, LdapMsg};
use mock_targets::ldap::{Flavour, MockConfig, MockLdap};
use proptest::prelude::*;
use scim_proto::dn::Dn;
use tokio_util::codec::{Decoder as _, Encoder as _};

const SUFFIX: &str = "dc=fuzz,dc=lab";
const ROOT: &str = "cn=admin,dc=fuzz,dc=lab";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// A mock with only its naming context, on a runtime of its own that outlives the test
/// threads. One per property (they run in parallel); the operations property empties it before
/// each input, so that an input fails or holds whatever came before it (and shrinks soundly).
fn mock() -> MockLdap {
    let runtime = Box::leak(Box::new(tokio::runtime::Runtime::new().unwrap()));
    runtime.block_on(async {
        let m = MockLdap::start(MockConfig::new(Flavour::OpenLdap, SUFFIX, ROOT, "secret"))
            .await
            .unwrap();
        m.seed_naming_context().unwrap();
        m
    })
}

static FOR_BYTES: LazyLock<MockLdap> = LazyLock::new(mock);
static FOR_OPERATIONS: LazyLock<MockLdap> = LazyLock::new(mock);

/// Deletes every entry but the naming context, deepest first (and puts the naming context
/// back if an input deleted it).
fn empty(mock: &MockLdap) {
    let mut session = mock.session();
    session.handle(msg(1, bind_root()));
    let mut dns: Vec<String> = mock.snapshot().into_values().map(|e| e.dn).collect();
    dns.sort_by_key(|dn| std::cmp::Reverse(Dn::parse(dn).map_or(0, |d| d.rdns().len())));
    for dn in dns {
        if Dn::parse(&dn).map(|d| d.normalized()) != Dn::parse(SUFFIX).map(|d| d.normalized()) {
            session.handle(msg(2, LdapOp::DelRequest(dn)));
        }
    }
    // An input may have deleted the naming context itself (it was a leaf).
    if mock.snapshot().is_empty() {
        mock.seed_naming_context().unwrap();
    }
    assert_eq!(mock.snapshot().len(), 1, "the mock did not empty");
}

fn msg(msgid: i32, op: LdapOp) -> LdapMsg {
    LdapMsg {
        msgid,
        op,
        ctrl: Vec::new(),
    }
}

fn bind_root() -> LdapOp {
    LdapOp::BindRequest(LdapBindRequest {
        version: 3,
        dn: ROOT.to_owned(),
        cred: LdapBindCred::Simple("secret".to_owned()),
    })
}

/// DNs from a small set of names under the suffix, so that operations meet the same entries.
fn dn() -> impl Strategy<Value = String> {
    let rdn = prop_oneof![
        Just("cn=a".to_owned()),
        Just("cn=b".to_owned()),
        Just("ou=x".to_owned()),
        Just("ou=y".to_owned()),
        Just("CN=A".to_owned()),
        Just("cn=a\\,b".to_owned()),
        Just("cn=".to_owned()),
        Just("uid=u+cn=c".to_owned()),
        "[a-z]{1,3}=[a-zA-Z ,+\\\\]{0,4}",
    ];
    prop::collection::vec(rdn, 0..3).prop_map(|rdns| {
        let mut parts = rdns;
        parts.push(SUFFIX.to_owned());
        parts.join(",")
    })
}

fn attribute() -> impl Strategy<Value = LdapPartialAttribute> {
    let atype = prop_oneof![
        Just("objectClass".to_owned()),
        Just("cn".to_owned()),
        Just("sn".to_owned()),
        Just("ou".to_owned()),
        Just("mail".to_owned()),
        Just("uid".to_owned()),
        Just("entryUUID".to_owned()),
        "[a-zA-Z-]{1,8}",
    ];
    let value = prop_oneof![
        Just(b"inetOrgPerson".to_vec()),
        Just(b"organizationalUnit".to_vec()),
        Just(b"top".to_vec()),
        Just(b"a".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    (atype, prop::collection::vec(value, 0..3))
        .prop_map(|(atype, vals)| LdapPartialAttribute { atype, vals })
}

fn filter() -> impl Strategy<Value = LdapFilter> {
    let leaf = prop_oneof![
        Just(LdapFilter::Present("objectClass".to_owned())),
        ("[a-zA-Z]{1,4}", "[a-z*]{0,3}").prop_map(|(a, v)| LdapFilter::Equality(a, v)),
        "[a-zA-Z]{1,4}".prop_map(LdapFilter::Present),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(LdapFilter::And),
            prop::collection::vec(inner.clone(), 0..3).prop_map(LdapFilter::Or),
            inner.prop_map(|f| LdapFilter::Not(Box::new(f))),
        ]
    })
}

/// An add the directory takes when its parent exists: a person or an organizational unit,
/// its attributes matching its RDN.
fn well_formed_add() -> impl Strategy<Value = LdapOp> {
    let rdn = prop_oneof![
        Just(("cn", "a")),
        Just(("cn", "b")),
        Just(("ou", "x")),
        Just(("ou", "y")),
    ];
    (prop::collection::vec(rdn, 1..4)).prop_map(|rdns| {
        let dn = rdns
            .iter()
            .map(|(t, v)| format!("{t}={v}"))
            .chain(std::iter::once(SUFFIX.to_owned()))
            .collect::<Vec<_>>()
            .join(",");
        let (kind, value) = rdns[0];
        let attribute = |atype: &str, value: &str| LdapPartialAttribute {
            atype: atype.to_owned(),
            vals: vec![value.as_bytes().to_vec()],
        };
        let attributes = if kind == "cn" {
            vec![
                attribute("objectClass", "inetOrgPerson"),
                attribute("cn", value),
                attribute("sn", "Doe"),
            ]
        } else {
            vec![
                attribute("objectClass", "organizationalUnit"),
                attribute("ou", value),
            ]
        };
        LdapOp::AddRequest(LdapAddRequest { dn, attributes })
    })
}

fn operation() -> impl Strategy<Value = LdapOp> {
    prop_oneof![
        3 => well_formed_add(),
        1 => (dn(), prop::collection::vec(attribute(), 0..4)).prop_map(|(dn, attributes)| {
            LdapOp::AddRequest(LdapAddRequest { dn, attributes })
        }),
        1 => (
            dn(),
            prop::collection::vec(
                (0..4u8, attribute()).prop_map(|(o, modification)| LdapModify {
                    operation: match o {
                        0 => LdapModifyType::Add,
                        1 => LdapModifyType::Delete,
                        2 => LdapModifyType::Replace,
                        _ => LdapModifyType::Increment,
                    },
                    modification,
                }),
                0..3
            )
        )
            .prop_map(|(dn, changes)| LdapOp::ModifyRequest(LdapModifyRequest { dn, changes })),
        1 => dn().prop_map(LdapOp::DelRequest),
        1 => (
            dn(),
            "[a-z]{1,3}=[a-z]{0,3}",
            any::<bool>(),
            prop::option::of(dn())
        )
            .prop_map(|(dn, newrdn, deleteoldrdn, new_superior)| {
                LdapOp::ModifyDNRequest(LdapModifyDNRequest {
                    dn,
                    newrdn,
                    deleteoldrdn,
                    new_superior,
                })
            }),
        1 => (dn(), 0..3u8, filter()).prop_map(|(base, scope, filter)| {
            LdapOp::SearchRequest(LdapSearchRequest {
                base,
                scope: match scope {
                    0 => LdapSearchScope::Base,
                    1 => LdapSearchScope::OneLevel,
                    _ => LdapSearchScope::Subtree,
                },
                aliases: LdapDerefAliases::Never,
                sizelimit: 0,
                timelimit: 0,
                typesonly: false,
                filter,
                attrs: Vec::new(),
            })
        }),
    ]
}

/// Every entry's parent is an entry, or the entry is the naming context.
fn is_a_tree(mock: &MockLdap) -> Result<(), String> {
    let suffix = Dn::parse(SUFFIX).map_err(|e| e.to_string())?.normalized();
    let mut dns = Vec::new();
    for entry in mock.snapshot().into_values() {
        dns.push(Dn::parse(&entry.dn).map_err(|e| format!("{}: {e}", entry.dn))?);
    }
    let present: std::collections::BTreeSet<String> = dns.iter().map(Dn::normalized).collect();
    for dn in &dns {
        if dn.normalized() == suffix {
            continue;
        }
        match dn.parent() {
            Some(parent) if present.contains(&parent.normalized()) => {}
            Some(parent) => return Err(format!("{dn} has no parent entry {parent}")),
            None => return Err(format!("{dn} is outside the naming context")),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_bytes_off_the_wire_are_decoded_or_refused_and_never_break_the_session(
        (op, flips, keep) in (
            operation(),
            prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            any::<usize>(),
        )
    ) {
        // A real request, encoded, then a few bytes changed and the end cut off: most inputs
        // are almost-valid BER, which is where a decoder breaks.
        let mut codec = LdapCodec::new(Some(64 * 1024), None);
        let mut encoded = tokio_util::bytes::BytesMut::new();
        codec.encode(msg(7, op), &mut encoded).unwrap();
        let mut bytes = encoded.to_vec();
        for (at, byte) in flips {
            let n = bytes.len();
            bytes[at % n] = byte;
        }
        bytes.truncate(1 + keep % bytes.len());
        let mut session = FOR_BYTES.session();
        session.handle(msg(1, bind_root()));
        let mut buffer = tokio_util::bytes::BytesMut::from(&bytes[..]);
        while let Ok(Some(message)) = codec.decode(&mut buffer) {
            let _ = session.handle(message);
        }
        // The session still answers a bind.
        let answer = session.handle(msg(1, bind_root()));
        prop_assert_eq!(answer.messages.len(), 1);
    }

    #[test]
    fn any_operations_leave_the_directory_a_tree(ops in prop::collection::vec(operation(), 1..12)) {
        empty(&FOR_OPERATIONS);
        let mut session = FOR_OPERATIONS.session();
        let bound = session.handle(msg(1, bind_root()));
        prop_assert_eq!(bound.messages.len(), 1);
        for (i, op) in ops.into_iter().enumerate() {
            let answer = session.handle(msg(i as i32 + 2, op));
            prop_assert!(!answer.drop, "no fault was injected, yet the connection was dropped");
            prop_assert!(!answer.messages.is_empty(), "an operation got no answer");
        }
        prop_assert_eq!(is_a_tree(&FOR_OPERATIONS), Ok(()));
    }
}
