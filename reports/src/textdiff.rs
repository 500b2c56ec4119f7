//! Line diffs with context (the `similar` crate) wherever an expected and an actual state or
//! body differ: the terminal, JUnit and JSON reports carry them in the failure's message, below
//! its first line (which stays short, for grouping failures by cause).

use std::fmt::Write as _;

use crate::TargetState;

/// Lines of context around each change.
pub const CONTEXT: usize = 2;

/// A target state as text, one entry after another in LDIF's manner: `dn: …`, then
/// `attribute: value` per value (attributes and values sorted), a blank line between entries.
/// Line breaks inside a value are shown as `\n`.
pub fn state_lines(state: &TargetState) -> String {
    let mut out = String::new();
    for (i, (dn, attributes)) in state.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "dn: {}", dn.replace('\n', "\\n"));
        for (attribute, values) in attributes {
            for v in values {
                let _ = writeln!(out, "{attribute}: {}", v.replace('\n', "\\n"));
            }
        }
    }
    out
}

/// The unified diff of `before` and `after` (`-` lines were in `before` only, `+` lines are in
/// `after` only), with [`CONTEXT`] lines around each change and `a`/`b` as the headers; empty
/// when they are equal.
pub fn unified(before: &str, after: &str, a: &str, b: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(a, b)
        .to_string()
}

/// [`unified`] of two target states, through [`state_lines`].
pub fn states(before: &TargetState, after: &TargetState, a: &str, b: &str) -> String {
    unified(&state_lines(before), &state_lines(after), a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(values: &[&str]) -> TargetState {
        [(
            "uid=a,ou=x".to_owned(),
            [(
                "sn".to_owned(),
                values.iter().map(|v| (*v).to_owned()).collect(),
            )]
            .into(),
        )]
        .into()
    }

    #[test]
    fn a_changed_value_is_one_line_out_and_one_in_with_the_entry_as_context() {
        let d = states(&state(&["Doe"]), &state(&["Doe-Jones"]), "before", "after");
        assert!(d.starts_with("--- before\n+++ after\n"), "{d}");
        assert!(
            d.contains(" dn: uid=a,ou=x\n-sn: Doe\n+sn: Doe-Jones\n"),
            "{d}"
        );
        assert_eq!(states(&state(&["x"]), &state(&["x"]), "a", "b"), "");
    }

    #[test]
    fn line_breaks_in_values_cannot_forge_lines() {
        let text = state_lines(&state(&["a\n+sn: forged"]));
        assert_eq!(text, "dn: uid=a,ou=x\nsn: a\\n+sn: forged\n");
    }
}
