//! The schema the mock enforces: the object classes and attribute types ECMA hosts provision,
//! as OpenLDAP's core, cosine, inetorgperson and nis schemas (and ecmacert's test schema) define
//! them, and AD LDS's `user` class for the adlds flavour.

use super::Flavour;

/// How values of an attribute are checked and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// UTF-8 text, compared without case (caseIgnoreMatch).
    Text,
    /// ASCII text, compared without case (caseIgnoreIA5Match): mail.
    Ia5,
    /// ASCII text, compared exactly (caseExactIA5Match): homeDirectory.
    Ia5Exact,
    /// A decimal integer (integerMatch).
    Integer,
    /// `TRUE` or `FALSE` (booleanMatch).
    Boolean,
    /// A distinguished name.
    Dn,
    /// An object class name.
    Oid,
    /// Bytes compared exactly: userPassword, objectGUID.
    Octets,
}

/// An attribute type.
#[derive(Clone, Copy, Debug)]
pub struct AttributeType {
    /// The primary name, as the server spells it in answers.
    pub name: &'static str,
    /// Other names.
    pub aliases: &'static [&'static str],
    /// SINGLE-VALUE.
    pub single: bool,
    /// Its syntax.
    pub syntax: Syntax,
    /// An operational attribute: returned only when asked for (or `+`), never written by clients.
    pub operational: bool,
}

const fn at(name: &'static str, single: bool, syntax: Syntax) -> AttributeType {
    AttributeType {
        name,
        aliases: &[],
        single,
        syntax,
        operational: false,
    }
}

const fn alias(
    name: &'static str,
    aliases: &'static [&'static str],
    single: bool,
    syntax: Syntax,
) -> AttributeType {
    AttributeType {
        name,
        aliases,
        single,
        syntax,
        operational: false,
    }
}

const fn op(name: &'static str, syntax: Syntax) -> AttributeType {
    AttributeType {
        name,
        aliases: &[],
        single: true,
        syntax,
        operational: true,
    }
}

static ATTRIBUTES: &[AttributeType] = &[
    at("objectClass", false, Syntax::Oid),
    alias("cn", &["commonName"], false, Syntax::Text),
    alias("sn", &["surname"], false, Syntax::Text),
    alias("mail", &["rfc822Mailbox"], false, Syntax::Ia5),
    at("displayName", true, Syntax::Text),
    alias("givenName", &["gn"], false, Syntax::Text),
    alias("uid", &["userid"], false, Syntax::Text),
    at("uidNumber", true, Syntax::Integer),
    at("gidNumber", true, Syntax::Integer),
    at("homeDirectory", true, Syntax::Ia5Exact),
    at("loginShell", true, Syntax::Ia5Exact),
    at("gecos", true, Syntax::Ia5),
    at("userPassword", false, Syntax::Octets),
    at("description", false, Syntax::Text),
    at("telephoneNumber", false, Syntax::Text),
    at("title", false, Syntax::Text),
    alias("ou", &["organizationalUnitName"], false, Syntax::Text),
    alias("o", &["organizationName"], false, Syntax::Text),
    alias("dc", &["domainComponent"], true, Syntax::Ia5),
    alias("l", &["localityName"], false, Syntax::Text),
    at("employeeNumber", true, Syntax::Text),
    at("employeeType", false, Syntax::Text),
    at("departmentNumber", false, Syntax::Text),
    at("manager", false, Syntax::Dn),
    at("mobile", false, Syntax::Text),
    at("initials", false, Syntax::Text),
    at("preferredLanguage", true, Syntax::Text),
    at("seeAlso", false, Syntax::Dn),
    at("shadowLastChange", true, Syntax::Integer),
    at("shadowMin", true, Syntax::Integer),
    at("shadowMax", true, Syntax::Integer),
    at("shadowWarning", true, Syntax::Integer),
    at("shadowInactive", true, Syntax::Integer),
    at("shadowExpire", true, Syntax::Integer),
    at("shadowFlag", true, Syntax::Integer),
    at("ecmaAccountDisabled", true, Syntax::Boolean),
    // AD LDS.
    at("userPrincipalName", true, Syntax::Text),
    at("msDS-UserAccountDisabled", true, Syntax::Boolean),
    at("unicodePwd", true, Syntax::Octets),
    // Operational.
    op("entryUUID", Syntax::Text),
    op("objectGUID", Syntax::Octets),
    op("entryDN", Syntax::Dn),
    op("structuralObjectClass", Syntax::Oid),
    op("createTimestamp", Syntax::Text),
    op("modifyTimestamp", Syntax::Text),
    op("creatorsName", Syntax::Dn),
    op("modifiersName", Syntax::Dn),
    op("hasSubordinates", Syntax::Boolean),
    op("subschemaSubentry", Syntax::Dn),
    op("entryCSN", Syntax::Text),
    op("whenCreated", Syntax::Text),
    op("whenChanged", Syntax::Text),
];

/// Looks an attribute type up by name or alias, ignoring case.
pub fn attribute(name: &str) -> Option<&'static AttributeType> {
    ATTRIBUTES.iter().find(|a| {
        a.name.eq_ignore_ascii_case(name) || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(name))
    })
}

/// STRUCTURAL, AUXILIARY or ABSTRACT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// May be an entry's structural class.
    Structural,
    /// Adds attributes to an entry.
    Auxiliary,
    /// Only a superclass.
    Abstract,
}

/// An object class.
#[derive(Clone, Copy, Debug)]
pub struct ObjectClass {
    /// Its name.
    pub name: &'static str,
    /// Its superclass.
    pub sup: Option<&'static str>,
    /// Its kind.
    pub kind: Kind,
    /// Attributes an entry of the class must have.
    pub must: &'static [&'static str],
    /// Attributes it may have.
    pub may: &'static [&'static str],
}

const PERSON_MAY: &[&str] = &["userPassword", "telephoneNumber", "seeAlso", "description"];
const ORG_PERSON_MAY: &[&str] = &[
    "title",
    "ou",
    "l",
    "telephoneNumber",
    "description",
    "seeAlso",
];
const INET_ORG_PERSON_MAY: &[&str] = &[
    "displayName",
    "mail",
    "uid",
    "givenName",
    "initials",
    "employeeNumber",
    "employeeType",
    "departmentNumber",
    "manager",
    "mobile",
    "o",
    "preferredLanguage",
];

static OPENLDAP_CLASSES: &[ObjectClass] = &[
    ObjectClass {
        name: "top",
        sup: None,
        kind: Kind::Abstract,
        must: &["objectClass"],
        may: &[],
    },
    ObjectClass {
        name: "person",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["sn", "cn"],
        may: PERSON_MAY,
    },
    ObjectClass {
        name: "organizationalPerson",
        sup: Some("person"),
        kind: Kind::Structural,
        must: &[],
        may: ORG_PERSON_MAY,
    },
    ObjectClass {
        name: "inetOrgPerson",
        sup: Some("organizationalPerson"),
        kind: Kind::Structural,
        must: &[],
        may: INET_ORG_PERSON_MAY,
    },
    // cosine.schema (RFC 4524's predecessor): a person with a mailbox that is not an
    // inetOrgPerson, what a directory holds besides a connector's users.
    ObjectClass {
        name: "pilotPerson",
        sup: Some("person"),
        kind: Kind::Structural,
        must: &[],
        may: &["mail", "uid", "description"],
    },
    ObjectClass {
        name: "posixAccount",
        sup: Some("top"),
        kind: Kind::Auxiliary,
        must: &["cn", "uid", "uidNumber", "gidNumber", "homeDirectory"],
        may: &["userPassword", "loginShell", "gecos", "description"],
    },
    ObjectClass {
        name: "shadowAccount",
        sup: Some("top"),
        kind: Kind::Auxiliary,
        must: &["uid"],
        may: &[
            "userPassword",
            "shadowLastChange",
            "shadowMin",
            "shadowMax",
            "shadowWarning",
            "shadowInactive",
            "shadowExpire",
            "shadowFlag",
            "description",
        ],
    },
    ObjectClass {
        name: "organizationalUnit",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["ou"],
        may: &[
            "description",
            "telephoneNumber",
            "l",
            "seeAlso",
            "userPassword",
        ],
    },
    ObjectClass {
        name: "dcObject",
        sup: Some("top"),
        kind: Kind::Auxiliary,
        must: &["dc"],
        may: &[],
    },
    ObjectClass {
        name: "organization",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["o"],
        may: &[
            "description",
            "telephoneNumber",
            "l",
            "seeAlso",
            "userPassword",
        ],
    },
    ObjectClass {
        name: "organizationalRole",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["cn"],
        may: &[
            "description",
            "telephoneNumber",
            "l",
            "ou",
            "seeAlso",
            "title",
        ],
    },
    ObjectClass {
        name: "simpleSecurityObject",
        sup: Some("top"),
        kind: Kind::Auxiliary,
        must: &["userPassword"],
        may: &[],
    },
    ObjectClass {
        name: "ecmaUser",
        sup: Some("top"),
        kind: Kind::Auxiliary,
        must: &[],
        may: &["ecmaAccountDisabled"],
    },
];

static ADLDS_CLASSES: &[ObjectClass] = &[
    ObjectClass {
        name: "top",
        sup: None,
        kind: Kind::Abstract,
        must: &["objectClass"],
        may: &["description"],
    },
    // In AD, a person needs only its cn.
    ObjectClass {
        name: "person",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["cn"],
        may: &["sn", "telephoneNumber", "seeAlso", "description"],
    },
    ObjectClass {
        name: "organizationalPerson",
        sup: Some("person"),
        kind: Kind::Structural,
        must: &[],
        may: ORG_PERSON_MAY,
    },
    // A mail contact: an organizationalPerson that is not a user (mail through the
    // mailRecipient auxiliary class in AD's schema).
    ObjectClass {
        name: "contact",
        sup: Some("organizationalPerson"),
        kind: Kind::Structural,
        must: &[],
        may: &["mail", "displayName", "description"],
    },
    ObjectClass {
        name: "user",
        sup: Some("organizationalPerson"),
        kind: Kind::Structural,
        must: &[],
        may: &[
            "displayName",
            "mail",
            "givenName",
            "initials",
            "employeeNumber",
            "employeeType",
            "manager",
            "mobile",
            "userPrincipalName",
            "msDS-UserAccountDisabled",
            "unicodePwd",
        ],
    },
    ObjectClass {
        name: "container",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["cn"],
        may: &["description"],
    },
    ObjectClass {
        name: "organizationalUnit",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["ou"],
        may: &["description"],
    },
    ObjectClass {
        name: "domainDNS",
        sup: Some("top"),
        kind: Kind::Structural,
        must: &["dc"],
        may: &["description"],
    },
];

/// The classes of a flavour.
pub fn classes(flavour: Flavour) -> &'static [ObjectClass] {
    match flavour {
        Flavour::OpenLdap => OPENLDAP_CLASSES,
        Flavour::AdLds => ADLDS_CLASSES,
    }
}

/// Looks a class up by name, ignoring case.
pub fn class(flavour: Flavour, name: &str) -> Option<&'static ObjectClass> {
    classes(flavour)
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// A class and all its superclasses, the class first.
pub fn lineage(flavour: Flavour, name: &str) -> Vec<&'static ObjectClass> {
    let mut out = Vec::new();
    let mut next = class(flavour, name);
    while let Some(c) = next {
        out.push(c);
        next = c.sup.and_then(|s| class(flavour, s));
    }
    out
}
