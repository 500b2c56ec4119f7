//! In-process targets for ecmacert: fast, embedded, inspectable, and able to misbehave on
//! purpose. They exist in addition to the real targets the suite runs against, never instead of
//! them; the LDAP server is checked against a real slapd operation by operation (the
//! differential test in `tests/it/`).
//!
//! What is here: [`ldap`], an LDAP server on `ldap3_proto` with an OpenLDAP and an AD LDS
//! flavour, schema checks for the classes ECMA hosts provision, paged search, inspection
//! (snapshot and operation log) and fault injection, and its faults in front of a real directory
//! ([`ldap::LdapFaultProxy`]); [`sql`], sandboxes (a schema, database or file per run, with a
//! setup script) on PostgreSQL, MariaDB/MySQL and SQLite; [`rest`], an HR system's REST API;
//! [`http`], the faults of HTTP targets (that API, and any axum router); [`script`], the same
//! faults for the script connector's programs, through a shim; [`tcp`], a
//! protocol-unaware fault proxy for targets whose protocol the suite does not read.
//!
//! What is not: access control, referrals, SASL, TLS (StartTLS is refused), replication, or the
//! full OpenLDAP schema — only the classes and attributes the profiles use.

pub mod http;
pub mod ldap;
pub mod rest;
pub mod script;
pub mod sql;
pub mod tcp;
