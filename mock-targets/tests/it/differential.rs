//! The mock against a real slapd, operation by operation: every case runs on both, in a fresh
//! OU each, bound as the root DN; result codes, search results and the final entries must be
//! the same (operational attributes and diagnostic messages aside).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, Mod, Scope, SearchEntry};
use mock_targets::ldap::{Flavour, MockConfig, MockLdap};
use tokio::sync::OnceCell;

use crate::slapd::slapd;

/// One operation of a case. `{ou}` in any DN or value stands for the case's OU.
#[derive(Clone, Debug)]
enum Op {
    Add(
        &'static str,
        &'static [(&'static str, &'static [&'static str])],
    ),
    Modify(
        &'static str,
        &'static [(char, &'static str, &'static [&'static str])],
    ),
    Delete(&'static str),
    Rename(&'static str, &'static str, bool, Option<&'static str>),
    Search(&'static str, Scope, &'static str, &'static [&'static str]),
    Paged(&'static str, &'static str, i32),
    Limited(&'static str, &'static str, i32),
    Bind(&'static str, &'static str),
    Compare(&'static str, &'static str, &'static str),
}

use Op::*;

const P: &[(&str, &[&str])] = &[("objectClass", &["inetOrgPerson"]), ("sn", &["Simon"])];
const POSIX: &[(&str, &[&str])] = &[
    (
        "objectClass",
        &["inetOrgPerson", "posixAccount", "shadowAccount"],
    ),
    ("sn", &["Simon"]),
    ("uid", &["bsimon"]),
    ("uidNumber", &["10011"]),
    ("gidNumber", &["10000"]),
    ("homeDirectory", &["/home/bsimon"]),
];

/// Five people for searches.
fn people() -> Vec<Op> {
    vec![
        Add(
            "cn=alice,{ou}",
            &[
                ("objectClass", &["inetOrgPerson"]),
                ("sn", &["A"]),
                ("mail", &["Alice@Contoso.lab"]),
                ("displayName", &["Alice A"]),
            ],
        ),
        Add(
            "cn=bob,{ou}",
            &[
                ("objectClass", &["inetOrgPerson"]),
                ("sn", &["B"]),
                ("mail", &["bob@contoso.lab"]),
            ],
        ),
        Add("cn=carol,{ou}", POSIX),
        Add(
            "cn=dave,{ou}",
            &[
                ("objectClass", &["inetOrgPerson", "posixAccount"]),
                ("sn", &["D"]),
                ("uid", &["dave"]),
                ("uidNumber", &["10020"]),
                ("gidNumber", &["10000"]),
                ("homeDirectory", &["/home/dave"]),
            ],
        ),
        Add(
            "ou=sub,{ou}",
            &[("objectClass", &["organizationalUnit"]), ("ou", &["sub"])],
        ),
        Add(
            "cn=erin,ou=sub,{ou}",
            &[
                ("objectClass", &["inetOrgPerson"]),
                ("sn", &["E"]),
                ("mail", &["erin@other.lab"]),
            ],
        ),
    ]
}

fn with_people(mut ops: Vec<Op>) -> Vec<Op> {
    let mut all = people();
    all.append(&mut ops);
    all
}

fn corpus() -> Vec<(&'static str, Vec<Op>)> {
    vec![
        // Matching under RFC 4518: Unicode normal forms, case, insignificant spaces.
        (
            "search a decomposed value by its composed form",
            vec![
                Add(
                    "cn=renee,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["Rene\u{301}e"]),
                        ("displayName", &["Van   der Berg"]),
                    ],
                ),
                Search("{ou}", Scope::Subtree, "(sn=Ren\u{e9}e)", &["cn"]),
                Search("{ou}", Scope::Subtree, "(sn=REN\u{c9}E)", &["cn"]),
                Search(
                    "{ou}",
                    Scope::Subtree,
                    "(displayName=van der berg)",
                    &["cn"],
                ),
                Search("{ou}", Scope::Subtree, "(sn=Renee)", &["cn"]),
            ],
        ),
        // Adds.
        ("add a minimal person", vec![Add("cn=a,{ou}", P)]),
        (
            "add without a MUST attribute",
            vec![Add("cn=a,{ou}", &[("objectClass", &["inetOrgPerson"])])],
        ),
        (
            "add an undefined attribute",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["S"]),
                    ("fooBar", &["x"]),
                ],
            )],
        ),
        (
            "add an unknown object class",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson", "noSuchClass"]),
                    ("sn", &["S"]),
                ],
            )],
        ),
        (
            "add without a structural class",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["posixAccount"]),
                    ("uid", &["a"]),
                    ("uidNumber", &["1"]),
                    ("gidNumber", &["1"]),
                    ("homeDirectory", &["/h"]),
                ],
            )],
        ),
        (
            "add two values to a single-valued attribute",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["S"]),
                    ("displayName", &["one", "two"]),
                ],
            )],
        ),
        (
            "add posix without uidNumber",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson", "posixAccount"]),
                    ("sn", &["S"]),
                    ("uid", &["a"]),
                    ("gidNumber", &["1"]),
                    ("homeDirectory", &["/h"]),
                ],
            )],
        ),
        ("add posix and shadow", vec![Add("cn=bsimon,{ou}", POSIX)]),
        (
            "add a non-integer uidNumber",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson", "posixAccount"]),
                    ("sn", &["S"]),
                    ("uid", &["a"]),
                    ("uidNumber", &["ten"]),
                    ("gidNumber", &["1"]),
                    ("homeDirectory", &["/h"]),
                ],
            )],
        ),
        ("add twice", vec![Add("cn=a,{ou}", P), Add("cn=a,{ou}", P)]),
        (
            "add twice with another case",
            vec![Add("cn=a,{ou}", P), Add("CN=A,{ou}", P)],
        ),
        (
            "add under a missing parent",
            vec![Add("cn=a,ou=missing,{ou}", P)],
        ),
        (
            "add an attribute its classes do not allow",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["S"]),
                    ("uidNumber", &["5"]),
                ],
            )],
        ),
        (
            "add without the naming attribute",
            vec![Add(
                "cn=named,{ou}",
                &[("objectClass", &["inetOrgPerson"]), ("sn", &["S"])],
            )],
        ),
        (
            "add with another naming value",
            vec![Add(
                "cn=named,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["S"]),
                    ("cn", &["other"]),
                ],
            )],
        ),
        (
            "add a non-ASCII mail",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["S"]),
                    ("mail", &["zoë@contoso.lab"]),
                ],
            )],
        ),
        (
            "add an empty value",
            vec![Add(
                "cn=a,{ou}",
                &[("objectClass", &["inetOrgPerson"]), ("sn", &[""])],
            )],
        ),
        (
            "add a value twice",
            vec![Add(
                "cn=a,{ou}",
                &[("objectClass", &["inetOrgPerson"]), ("sn", &["S", "s"])],
            )],
        ),
        (
            "add an escaped DN",
            vec![
                Add("cn=Simon\\, Barbara,{ou}", P),
                Search("{ou}", Scope::OneLevel, "(cn=Simon, Barbara)", &["cn"]),
            ],
        ),
        (
            "add a multi-valued RDN",
            vec![
                Add("cn=b+uid=bs,{ou}", P),
                Search("{ou}", Scope::OneLevel, "(uid=bs)", &["cn", "uid"]),
            ],
        ),
        (
            "add the test schema's boolean",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson", "ecmaUser"]),
                    ("sn", &["S"]),
                    ("ecmaAccountDisabled", &["TRUE"]),
                ],
            )],
        ),
        (
            "add a boolean that is not one",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson", "ecmaUser"]),
                    ("sn", &["S"]),
                    ("ecmaAccountDisabled", &["yes"]),
                ],
            )],
        ),
        (
            "add two unrelated structural classes",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson", "organizationalUnit"]),
                    ("sn", &["S"]),
                    ("ou", &["x"]),
                ],
            )],
        ),
        (
            "add with class names in another case",
            vec![Add(
                "cn=a,{ou}",
                &[("objectClass", &["INETORGPERSON"]), ("sn", &["S"])],
            )],
        ),
        (
            "add an operational attribute",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["S"]),
                    ("entryUUID", &["12345678-1234-1234-1234-123456789012"]),
                ],
            )],
        ),
        (
            "add an organizational unit",
            vec![Add(
                "ou=people,{ou}",
                &[
                    ("objectClass", &["organizationalUnit"]),
                    ("ou", &["people"]),
                ],
            )],
        ),
        (
            "add beneath a person",
            vec![Add("cn=a,{ou}", P), Add("cn=b,cn=a,{ou}", P)],
        ),
        ("add a DN that is not one", vec![Add("cn=a,,{ou}", P)]),
        (
            "add an explicit superclass",
            vec![Add(
                "cn=a,{ou}",
                &[
                    (
                        "objectClass",
                        &["top", "person", "organizationalPerson", "inetOrgPerson"],
                    ),
                    ("sn", &["S"]),
                ],
            )],
        ),
        (
            "add an attribute by its alias",
            vec![Add(
                "cn=a,{ou}",
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("surname", &["S"]),
                    ("rfc822Mailbox", &["a@x"]),
                ],
            )],
        ),
        // Modifies.
        (
            "replace a value",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "sn", &["Jones"])]),
            ],
        ),
        (
            "add a second value to a single-valued attribute",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["S"]),
                        ("displayName", &["one"]),
                    ],
                ),
                Modify("cn=a,{ou}", &[('a', "displayName", &["two"])]),
            ],
        ),
        (
            "delete a MUST attribute",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('d', "sn", &[])]),
            ],
        ),
        (
            "delete an absent attribute",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('d', "mail", &[])]),
            ],
        ),
        (
            "delete an absent value",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('d', "sn", &["Nope"])]),
            ],
        ),
        (
            "add a value that is there",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('a', "sn", &["simon"])]),
            ],
        ),
        (
            "replace an optional attribute with nothing",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["S"]),
                        ("mail", &["a@x"]),
                    ],
                ),
                Modify("cn=a,{ou}", &[('r', "mail", &[])]),
            ],
        ),
        (
            "replace an absent optional attribute with nothing",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "mail", &[])]),
            ],
        ),
        (
            "modify a missing entry",
            vec![Modify("cn=ghost,{ou}", &[('r', "sn", &["x"])])],
        ),
        (
            "modify an undefined attribute",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "fooBar", &["x"])]),
            ],
        ),
        (
            "add an auxiliary class without its MUSTs",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('a', "objectClass", &["posixAccount"])]),
            ],
        ),
        (
            "add an auxiliary class with its MUSTs",
            vec![
                Add("cn=a,{ou}", P),
                Modify(
                    "cn=a,{ou}",
                    &[
                        ('a', "objectClass", &["posixAccount"]),
                        ('a', "uid", &["a"]),
                        ('a', "uidNumber", &["7"]),
                        ('a', "gidNumber", &["7"]),
                        ('a', "homeDirectory", &["/h"]),
                    ],
                ),
            ],
        ),
        (
            "replace the naming value",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "cn", &["b"])]),
            ],
        ),
        (
            "add a naming value",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('a', "cn", &["alias"])]),
            ],
        ),
        (
            "change the structural class",
            vec![
                Add("cn=a,{ou}", P),
                Modify(
                    "cn=a,{ou}",
                    &[('r', "objectClass", &["organizationalRole"])],
                ),
            ],
        ),
        (
            "replace with a non-integer",
            vec![
                Add("cn=bsimon,{ou}", POSIX),
                Modify("cn=bsimon,{ou}", &[('r', "uidNumber", &["x"])]),
            ],
        ),
        (
            "delete a whole multi-valued attribute",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["S"]),
                        ("mail", &["a@x", "b@x"]),
                    ],
                ),
                Modify("cn=a,{ou}", &[('d', "mail", &[])]),
            ],
        ),
        (
            "delete a value in another case",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["S"]),
                        ("mail", &["A@X", "b@x"]),
                    ],
                ),
                Modify("cn=a,{ou}", &[('d', "mail", &["a@x"])]),
            ],
        ),
        (
            "replace a single-valued attribute with two values",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "displayName", &["one", "two"])]),
            ],
        ),
        (
            "modify an operational attribute",
            vec![
                Add("cn=a,{ou}", P),
                Modify(
                    "cn=a,{ou}",
                    &[('r', "entryUUID", &["12345678-1234-1234-1234-123456789012"])],
                ),
            ],
        ),
        (
            "several changes, one bad",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "sn", &["New"]), ('d', "mail", &[])]),
            ],
        ),
        (
            "several changes in order",
            vec![
                Add("cn=a,{ou}", P),
                Modify(
                    "cn=a,{ou}",
                    &[
                        ('a', "mail", &["x@y"]),
                        ('d', "mail", &["x@y"]),
                        ('a', "mail", &["z@y"]),
                    ],
                ),
            ],
        ),
        (
            "set a password and bind with it",
            vec![
                Add("cn=a,{ou}", P),
                Modify("cn=a,{ou}", &[('r', "userPassword", &["Pa55word!"])]),
                Bind("cn=a,{ou}", "Pa55word!"),
                Bind("cn=a,{ou}", "wrong"),
            ],
        ),
        (
            "remove the test schema's class with its attribute",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson", "ecmaUser"]),
                        ("sn", &["S"]),
                        ("ecmaAccountDisabled", &["FALSE"]),
                    ],
                ),
                Modify(
                    "cn=a,{ou}",
                    &[
                        ('d', "objectClass", &["ecmaUser"]),
                        ('d', "ecmaAccountDisabled", &[]),
                    ],
                ),
            ],
        ),
        (
            "remove a class and leave its attribute",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson", "ecmaUser"]),
                        ("sn", &["S"]),
                        ("ecmaAccountDisabled", &["FALSE"]),
                    ],
                ),
                Modify("cn=a,{ou}", &[('d', "objectClass", &["ecmaUser"])]),
            ],
        ),
        // Deletes.
        (
            "delete a leaf",
            vec![Add("cn=a,{ou}", P), Delete("cn=a,{ou}")],
        ),
        (
            "delete an entry with children",
            vec![
                Add("cn=a,{ou}", P),
                Add("cn=b,cn=a,{ou}", P),
                Delete("cn=a,{ou}"),
            ],
        ),
        ("delete a missing entry", vec![Delete("cn=ghost,{ou}")]),
        (
            "delete and add again",
            vec![
                Add("cn=a,{ou}", P),
                Delete("cn=a,{ou}"),
                Add("cn=a,{ou}", P),
            ],
        ),
        (
            "delete with another case",
            vec![Add("cn=a,{ou}", P), Delete("CN=A,{ou}")],
        ),
        // Renames.
        (
            "rename dropping the old value",
            vec![Add("cn=a,{ou}", P), Rename("cn=a,{ou}", "cn=b", true, None)],
        ),
        (
            "rename keeping the old value",
            vec![
                Add("cn=a,{ou}", P),
                Rename("cn=a,{ou}", "cn=b", false, None),
            ],
        ),
        (
            "rename onto an existing entry",
            vec![
                Add("cn=a,{ou}", P),
                Add("cn=b,{ou}", P),
                Rename("cn=a,{ou}", "cn=b", true, None),
            ],
        ),
        (
            "move to another container",
            vec![
                Add(
                    "ou=x,{ou}",
                    &[("objectClass", &["organizationalUnit"]), ("ou", &["x"])],
                ),
                Add("cn=a,{ou}", P),
                Rename("cn=a,{ou}", "cn=a", true, Some("ou=x,{ou}")),
            ],
        ),
        (
            "move to a missing container",
            vec![
                Add("cn=a,{ou}", P),
                Rename("cn=a,{ou}", "cn=a", true, Some("ou=missing,{ou}")),
            ],
        ),
        (
            "rename a missing entry",
            vec![Rename("cn=ghost,{ou}", "cn=b", true, None)],
        ),
        // Searches.
        (
            "search a subtree by class",
            with_people(vec![Search(
                "{ou}",
                Scope::Subtree,
                "(objectClass=inetOrgPerson)",
                &["*"],
            )]),
        ),
        (
            "search one level",
            with_people(vec![Search(
                "{ou}",
                Scope::OneLevel,
                "(objectClass=*)",
                &["cn", "ou"],
            )]),
        ),
        (
            "search the base only",
            with_people(vec![Search(
                "cn=alice,{ou}",
                Scope::Base,
                "(objectClass=*)",
                &["*"],
            )]),
        ),
        (
            "search a missing base",
            vec![Search(
                "ou=missing,{ou}",
                Scope::Subtree,
                "(objectClass=*)",
                &["*"],
            )],
        ),
        (
            "match mail without case",
            with_people(vec![Search(
                "{ou}",
                Scope::Subtree,
                "(mail=alice@contoso.LAB)",
                &["mail"],
            )]),
        ),
        (
            "match substrings",
            with_people(vec![
                Search("{ou}", Scope::Subtree, "(cn=*a*)", &["cn"]),
                Search("{ou}", Scope::Subtree, "(mail=*@contoso.lab)", &["cn"]),
                Search("{ou}", Scope::Subtree, "(cn=c*l)", &["cn"]),
            ]),
        ),
        (
            "match presence",
            with_people(vec![Search(
                "{ou}",
                Scope::Subtree,
                "(displayName=*)",
                &["cn"],
            )]),
        ),
        (
            "and, or, not",
            with_people(vec![
                Search(
                    "{ou}",
                    Scope::Subtree,
                    "(&(objectClass=posixAccount)(!(uid=dave)))",
                    &["cn"],
                ),
                Search("{ou}", Scope::Subtree, "(|(cn=bob)(cn=erin))", &["cn"]),
            ]),
        ),
        (
            "match a superclass",
            with_people(vec![Search(
                "{ou}",
                Scope::Subtree,
                "(objectClass=person)",
                &["cn"],
            )]),
        ),
        (
            "order integers",
            with_people(vec![
                Search("{ou}", Scope::Subtree, "(uidNumber>=10015)", &["cn"]),
                Search("{ou}", Scope::Subtree, "(uidNumber<=10015)", &["cn"]),
            ]),
        ),
        (
            "select attributes",
            with_people(vec![
                Search("{ou}", Scope::Subtree, "(cn=carol)", &["uid", "uidNumber"]),
                Search("{ou}", Scope::Subtree, "(cn=carol)", &["1.1"]),
            ]),
        ),
        (
            "filter on an undefined attribute",
            with_people(vec![
                Search("{ou}", Scope::Subtree, "(fooBar=x)", &["cn"]),
                Search("{ou}", Scope::Subtree, "(!(fooBar=x))", &["cn"]),
            ]),
        ),
        (
            "match an exact-case attribute",
            with_people(vec![
                Search(
                    "{ou}",
                    Scope::Subtree,
                    "(homeDirectory=/HOME/dave)",
                    &["cn"],
                ),
                Search(
                    "{ou}",
                    Scope::Subtree,
                    "(homeDirectory=/home/dave)",
                    &["cn"],
                ),
            ]),
        ),
        (
            "page through results",
            with_people(vec![Paged("{ou}", "(objectClass=*)", 2)]),
        ),
        (
            "a client size limit",
            with_people(vec![Limited("{ou}", "(objectClass=inetOrgPerson)", 2)]),
        ),
        (
            "search by an escaped DN",
            vec![
                Add("cn=Simon\\, Barbara,{ou}", P),
                Search(
                    "cn=Simon\\, Barbara,{ou}",
                    Scope::Base,
                    "(objectClass=*)",
                    &["cn", "sn"],
                ),
            ],
        ),
        (
            "match a filter with escapes",
            vec![
                Add("cn=star*name,{ou}", P),
                Search("{ou}", Scope::Subtree, "(cn=star\\2aname)", &["cn"]),
                Search("{ou}", Scope::Subtree, "(cn=star*)", &["cn"]),
            ],
        ),
        // Binds and compares.
        ("bind to a missing entry", vec![Bind("cn=ghost,{ou}", "x")]),
        (
            "bind with an initial password",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["S"]),
                        ("userPassword", &["init-Pa55"]),
                    ],
                ),
                Bind("cn=a,{ou}", "init-Pa55"),
            ],
        ),
        (
            "compare values",
            vec![
                Add(
                    "cn=a,{ou}",
                    &[
                        ("objectClass", &["inetOrgPerson"]),
                        ("sn", &["S"]),
                        ("mail", &["a@x"]),
                    ],
                ),
                Compare("cn=a,{ou}", "mail", "A@X"),
                Compare("cn=a,{ou}", "mail", "b@x"),
                Compare("cn=a,{ou}", "displayName", "x"),
            ],
        ),
    ]
}

/// What an operation produced, in a form both servers can be compared on.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Code(u32),
    Found(u32, Vec<(String, BTreeMap<String, BTreeSet<String>>)>),
}

const OPERATIONAL: [&str; 12] = [
    "entryuuid",
    "entrydn",
    "structuralobjectclass",
    "createtimestamp",
    "modifytimestamp",
    "creatorsname",
    "modifiersname",
    "hassubordinates",
    "subschemasubentry",
    "entrycsn",
    "objectguid",
    "whencreated",
];

fn entries(raw: Vec<ldap3::ResultEntry>) -> Vec<(String, BTreeMap<String, BTreeSet<String>>)> {
    let mut out: Vec<_> = raw
        .into_iter()
        .map(SearchEntry::construct)
        .map(|e| {
            let attrs = e
                .attrs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_iter().collect()))
                .filter(|(k, _)| !OPERATIONAL.contains(&k.as_str()))
                .collect();
            (e.dn, attrs)
        })
        .collect();
    out.sort();
    out
}

/// A directory the corpus runs on: its URL and the root DN to bind as.
#[derive(Clone)]
struct Directory {
    url: String,
    root_dn: String,
    password: String,
}

/// Without the password.
impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("url", &self.url)
            .field("root_dn", &self.root_dn)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// The slapd fixture or the mock: both have `cn=admin,dc=contoso,dc=lab`.
    fn admin(url: &str) -> Directory {
        Directory {
            url: url.to_owned(),
            root_dn: "cn=admin,dc=contoso,dc=lab".into(),
            password: "secret".into(),
        }
    }
}

async fn connect(d: &Directory) -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(&d.url).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    ldap.simple_bind(&d.root_dn, &d.password)
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap
}

fn fill(s: &str, ou: &str) -> String {
    s.replace("{ou}", ou)
}

async fn run(
    d: &Directory,
    ou: &str,
    ops: &[Op],
) -> (
    Vec<Outcome>,
    Vec<(String, BTreeMap<String, BTreeSet<String>>)>,
) {
    let url = d.url.as_str();
    let mut ldap = connect(d).await;
    let mut outcomes = Vec::new();
    for op in ops {
        let outcome = match op {
            Add(dn, attrs) => {
                let attrs = attrs
                    .iter()
                    .map(|(a, v)| (a.to_string(), v.iter().map(|x| fill(x, ou)).collect()))
                    .collect();
                Outcome::Code(ldap.add(&fill(dn, ou), attrs).await.unwrap().rc)
            }
            Modify(dn, changes) => {
                let mods = changes
                    .iter()
                    .map(|(kind, a, v)| {
                        let values = v.iter().map(|x| x.to_string()).collect();
                        match kind {
                            'a' => Mod::Add(a.to_string(), values),
                            'd' => Mod::Delete(a.to_string(), values),
                            _ => Mod::Replace(a.to_string(), values),
                        }
                    })
                    .collect();
                Outcome::Code(ldap.modify(&fill(dn, ou), mods).await.unwrap().rc)
            }
            Delete(dn) => Outcome::Code(ldap.delete(&fill(dn, ou)).await.unwrap().rc),
            Rename(dn, rdn, delete, sup) => {
                let sup = sup.map(|s| fill(s, ou));
                Outcome::Code(
                    ldap.modifydn(&fill(dn, ou), rdn, *delete, sup.as_deref())
                        .await
                        .unwrap()
                        .rc,
                )
            }
            Search(base, scope, filter, attrs) => {
                let r = ldap
                    .search(&fill(base, ou), *scope, filter, attrs.to_vec())
                    .await
                    .unwrap();
                Outcome::Found(r.1.rc, entries(r.0))
            }
            Paged(base, filter, size) => {
                let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
                    Box::new(EntriesOnly::new()),
                    Box::new(PagedResults::new(*size)),
                ];
                let base = fill(base, ou);
                let mut stream = ldap
                    .streaming_search_with(adapters, &base, Scope::Subtree, filter, vec!["cn"])
                    .await
                    .unwrap();
                let mut raw = Vec::new();
                while let Some(e) = stream.next().await.unwrap() {
                    raw.push(e);
                }
                let res = stream.finish().await;
                Outcome::Found(res.rc, entries(raw))
            }
            Limited(base, filter, limit) => {
                let base = fill(base, ou);
                let r = ldap
                    .with_search_options(ldap3::SearchOptions::new().sizelimit(*limit))
                    .search(&base, Scope::Subtree, filter, vec!["cn"])
                    .await
                    .unwrap();
                // Which entries a limited search returns is up to the server; how many is not.
                Outcome::Found(
                    r.1.rc,
                    vec![(format!("{} entries", r.0.len()), BTreeMap::new())],
                )
            }
            Bind(dn, password) => {
                let (conn, mut other) = LdapConnAsync::new(url).await.unwrap();
                tokio::spawn(async move { conn.drive().await });
                Outcome::Code(other.simple_bind(&fill(dn, ou), password).await.unwrap().rc)
            }
            Compare(dn, attr, value) => Outcome::Code(
                ldap.compare(&fill(dn, ou), attr, *value)
                    .await
                    .unwrap()
                    .0
                    .rc,
            ),
        };
        outcomes.push(outcome);
    }
    let r = ldap
        .search(ou, Scope::Subtree, "(objectClass=*)", vec!["*"])
        .await
        .unwrap();
    (outcomes, entries(r.0))
}

static MOCK: OnceCell<MockLdap> = OnceCell::const_new();

async fn mock() -> &'static MockLdap {
    MOCK.get_or_init(|| async {
        let m = MockLdap::start(MockConfig::new(
            Flavour::OpenLdap,
            "dc=contoso,dc=lab",
            "cn=admin,dc=contoso,dc=lab",
            "secret",
        ))
        .await
        .unwrap();
        m.seed(
            "dc=contoso,dc=lab",
            &[
                ("objectClass", &["dcObject", "organization"]),
                ("dc", &["contoso"]),
                ("o", &["Contoso"]),
            ],
        )
        .unwrap();
        m
    })
    .await
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

async fn fresh_ou(d: &Directory) -> String {
    let ou = format!(
        "ou=diff{}-{},dc=contoso,dc=lab",
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    );
    let mut ldap = connect(d).await;
    let name = ou
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("ou=")
        .to_owned();
    ldap.add(
        &ou,
        vec![
            ("objectClass", ["organizationalUnit"].into()),
            ("ou", [name.as_str()].into()),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    ou
}

/// The corpus's cases that run differently on `a` and `b` (each in a fresh OU), by name, with
/// what each answered: result codes, search results, or the final entries (operational
/// attributes and diagnostic messages aside).
async fn differences(
    a: &Directory,
    b: &Directory,
    corpus: &[(&'static str, Vec<Op>)],
    classes: Classes,
) -> Vec<(&'static str, String)> {
    let mut differences = Vec::new();
    for (name, ops) in corpus {
        let ou_real = fresh_ou(a).await;
        let ou_mock = fresh_ou(b).await;
        let (real, real_state) = run(a, &ou_real, ops).await;
        let (fake, fake_state) = run(b, &ou_mock, ops).await;
        // The OUs differ only in name; compare with the OU replaced by a placeholder.
        let neutral = |s: String, ou: &str| {
            let name = ou.split(',').next().unwrap_or("").trim_start_matches("ou=");
            s.replace(ou, "{ou}")
                .replace(&ou.to_ascii_lowercase(), "{ou}")
                .replace(name, "{ouname}")
        };
        let norm = |outs: Vec<Outcome>, ou: &str| -> Vec<Outcome> {
            outs.into_iter()
                .map(|o| match o {
                    Outcome::Found(rc, es) => Outcome::Found(
                        rc,
                        es.into_iter()
                            .map(|(d, mut a)| {
                                classes.apply(&mut a);
                                (neutral(d, ou), a)
                            })
                            .collect(),
                    ),
                    o => o,
                })
                .collect()
        };
        let state = |es: Vec<(String, BTreeMap<String, BTreeSet<String>>)>, ou: &str| -> Vec<_> {
            let mut v: Vec<_> = es
                .into_iter()
                .map(|(d, mut a)| {
                    classes.apply(&mut a);
                    let a = a
                        .into_iter()
                        .map(|(k, v)| (k, v.into_iter().map(|x| neutral(x, ou)).collect()))
                        .collect();
                    (neutral(d, ou), a)
                })
                .collect::<Vec<(String, BTreeMap<String, BTreeSet<String>>)>>();
            v.sort();
            v
        };
        let (real, fake) = (norm(real, &ou_real), norm(fake, &ou_mock));
        let (real_state, fake_state) = (state(real_state, &ou_real), state(fake_state, &ou_mock));
        if real != fake {
            differences.push((*name, format!("{real:?}\n        {fake:?}")));
        } else if real_state != fake_state {
            differences.push((
                *name,
                format!("final entries differ\n        {real_state:?}\n        {fake_state:?}"),
            ));
        }
    }
    differences
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_answers_every_case_as_slapd_does() {
    let slapd = slapd().await;
    let mock = mock().await;
    let corpus = corpus();
    assert!(corpus.len() >= 60, "{} cases", corpus.len());
    let differences = differences(
        &Directory::admin(&slapd.url),
        &Directory::admin(&mock.url()),
        &corpus,
        Classes::AsStored,
    )
    .await;
    assert!(
        differences.is_empty(),
        "{} of {} cases differ (slapd first, the mock second):\n{}",
        differences.len(),
        corpus.len(),
        differences
            .iter()
            .map(|(name, d)| format!("{name}: {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// How object classes are compared: as the directory stores them, or each set closed under
/// the superclasses of the classes the corpus uses (RFC 4512 §2.4.1: a structural class's
/// superclass chain ends at `top`).
#[derive(Clone, Copy, Debug)]
enum Classes {
    AsStored,
    WithSuperclasses,
}

impl Classes {
    /// The corpus's classes and their direct superclasses (lower case).
    const SUPERIOR: &[(&str, &str)] = &[
        ("inetorgperson", "organizationalPerson"),
        ("organizationalperson", "person"),
        ("person", "top"),
        ("organizationalunit", "top"),
        ("posixaccount", "top"),
        ("shadowaccount", "top"),
        ("ecmauser", "top"),
        ("organization", "top"),
        ("dcobject", "top"),
        ("device", "top"),
        ("groupofnames", "top"),
    ];

    fn apply(self, attributes: &mut BTreeMap<String, BTreeSet<String>>) {
        let Classes::WithSuperclasses = self else {
            return;
        };
        let Some(classes) = attributes.get_mut("objectclass") else {
            return;
        };
        loop {
            let lower: BTreeSet<String> = classes.iter().map(|c| c.to_ascii_lowercase()).collect();
            let missing: Vec<&str> = Self::SUPERIOR
                .iter()
                .filter(|(class, sup)| {
                    lower.contains(*class) && !lower.contains(&sup.to_ascii_lowercase())
                })
                .map(|(_, sup)| *sup)
                .collect();
            if missing.is_empty() {
                return;
            }
            classes.extend(missing.into_iter().map(str::to_owned));
        }
    }
}

/// Where 389 Directory Server answers the corpus otherwise than slapd (and so than the mock,
/// which plays slapd), and why. Found by [`dirsrv_differs_from_slapd_only_where_listed`].
/// Besides these, 389 DS stores an entry's object classes with their superclasses
/// ([`Classes::WithSuperclasses`] compares that away). Found on Debian's 389-ds-base 2.3.
const DIRSRV_DIFFERS: &[(&str, &str)] = &[
    // Schema checks answered with other result codes: both are refusals a host answers 400.
    (
        "add an undefined attribute",
        "objectClassViolation (65), not undefinedAttributeType (17)",
    ),
    (
        "modify an undefined attribute",
        "objectClassViolation (65), not undefinedAttributeType (17)",
    ),
    (
        "add an unknown object class",
        "objectClassViolation (65), not invalidAttributeSyntax (21)",
    ),
    (
        "add two values to a single-valued attribute",
        "objectClassViolation (65), not constraintViolation (19)",
    ),
    (
        "add a second value to a single-valued attribute",
        "objectClassViolation (65), not constraintViolation (19)",
    ),
    (
        "replace a single-valued attribute with two values",
        "objectClassViolation (65), not constraintViolation (19)",
    ),
    (
        "replace the naming value",
        "notAllowedOnRDN (67), not namingViolation (64)",
    ),
    (
        "change the structural class",
        "objectClassViolation (65), not objectClassModsProhibited (69)",
    ),
    (
        "modify an operational attribute",
        "unwillingToPerform (53), not constraintViolation (19), for entryUUID",
    ),
    // What 389 DS takes that slapd refuses.
    (
        "add without a structural class",
        "accepted: 389 DS does not require a structural class",
    ),
    (
        "add two unrelated structural classes",
        "accepted: 389 DS does not check the structural chain",
    ),
    (
        "add an operational attribute",
        "accepted from the Directory Manager: entryUUID given on add",
    ),
    // Values stored otherwise.
    (
        "add with class names in another case",
        "keeps the class name's case as given (INETORGPERSON); slapd stores the schema's",
    ),
    (
        "set a password and bind with it",
        "hashes userPassword on write ({PBKDF2-SHA512}…); slapd keeps it as given",
    ),
    (
        "bind with an initial password",
        "hashes userPassword on write ({PBKDF2-SHA512}…); slapd keeps it as given",
    ),
    // Matching.
    (
        "search a decomposed value by its composed form",
        "no RFC 4518 Unicode normalisation: composed and decomposed forms do not match",
    ),
    (
        "filter on an undefined attribute",
        "(!(fooBar=x)) matches every entry (an undefined attribute is absent), where slapd's Undefined matches none",
    ),
];

/// 389 Directory Server against slapd on the mock's corpus: they may differ only in the cases
/// [`DIRSRV_DIFFERS`] lists, and in each of those they must (a list that no longer holds is
/// stale). Needs a 389 DS instance for `dc=contoso,dc=lab`, named by `ECMACERT_389DS_URL` and
/// its Directory Manager's password in `ECMACERT_389DS_PASSWORD`:
/// `scripts/reference-run-389ds` makes one and runs this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a 389 DS instance: scripts/reference-run-389ds makes one and runs this"]
async fn dirsrv_differs_from_slapd_only_where_listed() {
    let env = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} is not set: run scripts/reference-run-389ds, which makes a 389 DS instance and sets it")
        })
    };
    let dirsrv = Directory {
        url: env("ECMACERT_389DS_URL"),
        root_dn: "cn=Directory Manager".into(),
        password: env("ECMACERT_389DS_PASSWORD"),
    };
    load_test_schema(&dirsrv).await;
    let slapd = slapd().await;
    let corpus = corpus();
    let found = differences(
        &Directory::admin(&slapd.url),
        &dirsrv,
        &corpus,
        Classes::WithSuperclasses,
    )
    .await;
    // The one difference in every case, compared away above: 389 DS stores an entry's object
    // classes with their superclasses (inetOrgPerson with organizationalPerson, person and
    // top), where slapd stores the classes given. Compared as stored, every case differs.
    let as_stored = differences(
        &Directory::admin(&slapd.url),
        &dirsrv,
        &corpus[..1],
        Classes::AsStored,
    )
    .await;
    assert_eq!(
        as_stored.len(),
        1,
        "389 DS stored the classes of {:?} as slapd does: compare them as stored",
        corpus[0].0
    );
    let listed: BTreeSet<&str> = DIRSRV_DIFFERS.iter().map(|(name, _)| *name).collect();
    let differing: BTreeSet<&str> = found.iter().map(|(name, _)| *name).collect();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(name, _)| !listed.contains(name))
        .map(|(name, d)| format!("{name}: {d}"))
        .collect();
    let stale: Vec<&&str> = listed
        .iter()
        .filter(|name| !differing.contains(*name))
        .collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{} of {} cases differ and are not listed in DIRSRV_DIFFERS (slapd first, 389 DS second):\n{}\nlisted but the same: {stale:?}",
        unexpected.len(),
        corpus.len(),
        unexpected.join("\n")
    );
}

/// Adds ecmacert's test schema (`scripts/ldap/ecmacert.schema`, which the slapd fixture
/// includes) to a 389 DS instance's `cn=schema`, as RFC 4512 values: each `attributetype` or
/// `objectclass` of the file, its whitespace folded. A value already there is left as it is.
async fn load_test_schema(d: &Directory) {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ldap/ecmacert.schema");
    let text = std::fs::read_to_string(&file).unwrap();
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut attribute_types = BTreeSet::new();
    let mut object_classes = BTreeSet::new();
    for block in body.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let folded = block.split_whitespace().collect::<Vec<_>>().join(" ");
        match folded.split_once(' ') {
            Some((k, v)) if k.eq_ignore_ascii_case("attributetype") => {
                attribute_types.insert(v.to_owned());
            }
            Some((k, v)) if k.eq_ignore_ascii_case("objectclass") => {
                object_classes.insert(v.to_owned());
            }
            _ => panic!("{}: not a definition: {folded}", file.display()),
        }
    }
    assert!(!attribute_types.is_empty() && !object_classes.is_empty());
    let mut ldap = connect(d).await;
    for (attribute, values) in [
        ("attributeTypes", attribute_types),
        ("objectClasses", object_classes),
    ] {
        for value in values {
            let rc = ldap
                .modify(
                    "cn=schema",
                    vec![Mod::Add(attribute.to_owned(), [value.clone()].into())],
                )
                .await
                .unwrap()
                .rc;
            // 20 typeOrValueExists: loaded by an earlier run on this instance.
            assert!(rc == 0 || rc == 20, "adding {attribute} {value}: LDAP {rc}");
        }
    }
}
