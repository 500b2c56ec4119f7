//! What the Microsoft Entra provisioning service computes before it sends an ECMA host a
//! request: the values of attribute mappings, written in Entra's expression language.
//!
//! What it does: [`expr`] parses and evaluates the expressions of "Reference for writing
//! expressions for attribute mappings in Microsoft Entra ID" over an Entra user, with a trace
//! of every call's result.
//!
//! What it does not do: any I/O. The clock, the random seed and SelectUniqueValue's
//! uniqueness check come from the caller ([`expr::Env`]); sending requests and reading the
//! target is the harness's work.
//!
//! The expression parser and evaluator are our own: the language is the semantics being
//! simulated, and no crate implements it.

pub mod expr;
