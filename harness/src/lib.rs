//! ecmacert: the conformance suite for ECMA hosts.
//!
//! It plays the Microsoft Entra provisioning service against a host ([`provisioning`]), in both
//! PATCH dialects, and checks three points in every scenario: the request it sent, the host's
//! answer, and the target's own state read directly through the probe ([`probe`]) — including
//! that nothing changed when the host answered with an error.
//!
//! The suite is Gherkin (`features/`, embedded at build time; [`suite`]), written in logical
//! attributes that a [`profile`] maps onto a target. [`runner`] runs it through cucumber per
//! profile × dialect and turns every scenario into an outcome in a [`reports::Report`].
//!
//! With no configuration, [`embedded`] runs everything in-process: the reference host on mock
//! directories (`mock-targets`), fault-injection scenarios included.
//!
//! What it does not do (yet): SQL targets, mutants as a suite, certification bundles — see the
//! project's open issues.

pub mod checks;
pub mod config;
pub mod embedded;
pub mod host;
pub mod probe;
pub mod profile;
pub mod provisioning;
pub mod runner;
pub mod steps;
pub mod suite;
pub mod world;
