//! The dialect differential (ECMA-UPDATE-014): a change has the same effect on the target
//! whichever PATCH dialect Entra sends it in.
//!
//! The provisioning service speaks one of two dialects per application (the
//! `aadOptscim062020` flag; entra-scim-ecma §1.6); the flag changes the shape of its requests,
//! never what they mean. Every scenario's own steps check what it sent and what the target
//! holds for the attributes it names; a host can still do something else besides in one
//! dialect only (touch an attribute nobody named, add an object class, leave a second object
//! named after the scenario's user). So the runner keeps, for every scenario whose steps all
//! held (passed, or warned only by a SHOULD/MAY check), the state its objects were left in —
//! every object in the container whose naming value ends with the scenario's suffix, read by
//! the probe before the clean-up — and once both dialects of a profile have run, compares
//! them. A difference fails
//! the scenario in both dialects, with the differences. Objects written elsewhere, or under
//! names without the suffix, are not seen here.
//!
//! The states are normalised first, since two runs of one scenario never make identical
//! objects: the scenario's suffix (`<run id>-<scenario number>`) becomes `{suffix}`; in the
//! attributes whose profile values are made with `{number}` or `{uuid}`, each user's number
//! and UUID become `{number:<user>}` and `{uuid:<user>}`; the target's own bookkeeping (version
//! attributes, entryUUID, objectGUID, creation stamps, AD's logon counters, and
//! `target.generated_attributes`) is left out; and a write-only attribute (a password, which
//! the target may store with a random salt) counts by its presence only.
//!
//! A scenario whose end state depends on timing rather than on the host (requests raced
//! against each other) is listed with its reason in `features/dialect-exempt.toml`.

use std::collections::BTreeMap;

use reports::{Case, Detail, Exchange, Outcome, ProfileRun};

use crate::probe::Snapshot;
use crate::suite::Exemptions;

/// The catalogue requirement the differential checks.
pub const REQUIREMENT: &str = "ECMA-UPDATE-014";

/// Attributes (lower case) the directory sets by itself and that differ between any two
/// objects, left out of the comparison beside the probe's version attributes: identifiers and
/// creation stamps (OpenLDAP, AD LDS), and the security identifier, password and logon
/// counters AD LDS keeps on a user (a bind changes them).
const TARGET_BOOKKEEPING: [&str; 14] = [
    "entryuuid",
    "objectguid",
    "createtimestamp",
    "creatorsname",
    "whencreated",
    "usncreated",
    "entrydn",
    "objectsid",
    "pwdlastset",
    "badpwdcount",
    "badpasswordtime",
    "lastlogontimestamp",
    "lockouttime",
    "dscorepropagationdata",
];

/// How the values of one scenario's objects are told apart from another run's: the scenario's
/// suffix and its users' numbers.
#[derive(Clone, Debug, Default)]
pub struct Naming {
    /// `<run id>-<scenario number>`.
    pub suffix: String,
    /// Each user's logical name and its `{number}`.
    pub users: Vec<(String, u64)>,
}

/// What is left out or blurred, by attribute (lower case).
#[derive(Clone, Debug, Default)]
pub struct Blur {
    /// Left out: the probe's version attributes, the directories' own bookkeeping (entryUUID,
    /// objectGUID, creation stamps, objectSid, AD's password and logon counters) and
    /// `target.generated_attributes`.
    pub dropped: Vec<String>,
    /// Compared by presence only.
    pub write_only: Vec<String>,
    /// Made with `{number}` or `{uuid}`: the users' numbers and UUIDs become placeholders.
    pub numbered: Vec<String>,
}

impl Blur {
    /// For `profile`: the probe's `version_attributes` and the target's `generated` ones left
    /// out (any case), the profile's write-only targets by presence, and the targets whose
    /// `create` or `update` value uses `{number}` or `{uuid}` numbered.
    pub fn for_profile(
        profile: &crate::profile::Profile,
        version_attributes: &[String],
        generated: &[String],
    ) -> Self {
        let lower = |a: &String| a.to_ascii_lowercase();
        let mut dropped: Vec<String> = version_attributes.iter().map(lower).collect();
        // The profile's write counter, on every engine (the probe names it as a version
        // attribute only where the engine has no xmin): a host that makes one write per
        // operation counts differently in the two dialects and is still correct.
        dropped.extend(
            profile
                .sql
                .iter()
                .filter_map(|s| s.row_version.as_ref())
                .map(lower),
        );
        dropped.extend(generated.iter().map(lower));
        dropped.extend(TARGET_BOOKKEEPING.map(str::to_owned));
        let attributes = || profile.attributes.values();
        let numbered_template = |t: &Option<String>| {
            t.as_deref()
                .is_some_and(|t| t.contains("{number}") || t.contains("{uuid}"))
        };
        Blur {
            dropped,
            write_only: attributes()
                .filter(|a| a.write_only)
                .map(|a| lower(&a.target))
                .collect(),
            numbered: attributes()
                .filter(|a| numbered_template(&a.create) || numbered_template(&a.update))
                .map(|a| lower(&a.target))
                .collect(),
        }
    }
}

/// A scenario's state after it passed: the normalised snapshot and the exchanges (evidence for
/// a difference).
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// DN → attribute → values, normalised by [`normalise`].
    pub state: Snapshot,
    /// The scenario's exchanges, in order.
    pub exchanges: Vec<Exchange>,
}

/// `text` with every case-insensitive occurrence of `needle` replaced by `with`.
fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return text.to_owned();
    }
    // ASCII lower-casing keeps byte offsets, so positions found in the lower-cased copy are
    // positions in `text`.
    let lower = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in lower.match_indices(&needle) {
        out.push_str(&text[last..at]);
        out.push_str(with);
        last = at + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

/// The UUID a user's `{uuid}` expands to (as [`crate::world::EcmaWorld::expand`] makes it).
fn uuid_of(number: u64) -> String {
    format!("00000000-0000-4000-8000-{number:012}")
}

/// `text` with the suffix as `{suffix}`, and when `numbered`, the users' UUIDs and numbers as
/// placeholders.
fn placeholders(text: &str, naming: &Naming, numbered: bool) -> String {
    let mut s = replace_ignoring_case(text, &naming.suffix, "{suffix}");
    if !numbered {
        return s;
    }
    for (logical, number) in &naming.users {
        s = replace_ignoring_case(&s, &uuid_of(*number), &format!("{{uuid:{logical}}}"));
    }
    // Longer numbers first, so that one user's number inside another's is not taken for it.
    let mut users = naming.users.clone();
    users.sort_by_key(|(_, n)| std::cmp::Reverse(n.to_string().len()));
    for (logical, number) in &users {
        s = s.replace(&number.to_string(), &format!("{{number:{logical}}}"));
    }
    s
}

/// A snapshot as two runs of the scenario can compare it: names and generated values as
/// placeholders, bookkeeping left out, write-only values by presence (see the module doc).
pub fn normalise(snapshot: Snapshot, naming: &Naming, blur: &Blur) -> Snapshot {
    snapshot
        .into_iter()
        .map(|(dn, attributes)| {
            let attributes = attributes
                .into_iter()
                .filter(|(a, _)| !blur.dropped.contains(a))
                .map(|(a, values)| {
                    let numbered = blur.numbered.contains(&a);
                    let mut values: Vec<String> = if blur.write_only.contains(&a) {
                        vec!["{a write-only value}".to_owned()]
                    } else {
                        values
                            .iter()
                            .map(|v| placeholders(v, naming, numbered))
                            .collect()
                    };
                    values.sort();
                    (a, values)
                })
                .collect();
            (placeholders(&dn, naming, false), attributes)
        })
        .collect()
}

/// The differences between two normalised states, one line each (`<dn>: <attribute>: …`);
/// empty when they are the same. `a` and `b` name the two sides.
pub fn differences(left: &Snapshot, right: &Snapshot, a: &str, b: &str) -> Vec<String> {
    let mut out = Vec::new();
    let dns: std::collections::BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    for dn in dns {
        match (left.get(dn), right.get(dn)) {
            (Some(_), None) => out.push(format!("{dn}: present in {a}, absent in {b}")),
            (None, Some(_)) => out.push(format!("{dn}: absent in {a}, present in {b}")),
            (Some(l), Some(r)) => {
                let attributes: std::collections::BTreeSet<&String> =
                    l.keys().chain(r.keys()).collect();
                for attribute in attributes {
                    let empty = Vec::new();
                    let lv = l.get(attribute).unwrap_or(&empty);
                    let rv = r.get(attribute).unwrap_or(&empty);
                    if lv != rv {
                        out.push(format!("{dn}: {attribute}: {a} {lv:?}, {b} {rv:?}"));
                    }
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// The shipped list of scenarios the differential leaves alone
/// (`features/dialect-exempt.toml`), each with its reason; an error names what is wrong.
pub fn shipped_exemptions() -> Result<Exemptions, String> {
    Exemptions::parse_file(
        include_str!("../../features/dialect-exempt.toml"),
        "dialect-exempt.toml",
    )
}

fn compared_outcome(case: &Case) -> bool {
    matches!(case.outcome, Outcome::Passed | Outcome::Warned)
}

/// How many scenarios [`apply`] compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compared {
    /// Scenarios compared (each pair of dialects counts once).
    pub scenarios: usize,
    /// Of those, the ones that left at least one object in the target in either dialect: the
    /// comparisons that could have found a difference in a value.
    pub with_objects: usize,
}

/// Compares the runs of one profile in its dialects: every scenario that passed (or warned) in
/// two of them and is not exempt must have left the same normalised state; where it did not,
/// both cases fail with [`REQUIREMENT`] and the differences. `states[i]` holds `runs[i]`'s
/// observed states by [`Case::key`].
pub fn apply(
    runs: &mut [ProfileRun],
    states: &[BTreeMap<String, Observed>],
    exempt: &Exemptions,
) -> Compared {
    let mut compared = Compared::default();
    let index: Vec<BTreeMap<String, usize>> = runs
        .iter()
        .map(|r| {
            r.cases
                .iter()
                .enumerate()
                .map(|(i, c)| (c.key(), i))
                .collect()
        })
        .collect();
    for i in 0..runs.len() {
        for j in i + 1..runs.len() {
            let (Some(left), Some(right)) = (states.get(i), states.get(j)) else {
                continue;
            };
            for (key, l) in left {
                let Some(r) = right.get(key) else { continue };
                let (Some(&ci), Some(&cj)) = (index[i].get(key), index[j].get(key)) else {
                    continue;
                };
                let case = &runs[i].cases[ci];
                if !compared_outcome(case)
                    || !compared_outcome(&runs[j].cases[cj])
                    || exempt
                        .exempt
                        .iter()
                        .any(|e| e.feature == case.feature && e.scenario == case.scenario)
                {
                    continue;
                }
                compared.scenarios += 1;
                if !l.state.is_empty() || !r.state.is_empty() {
                    compared.with_objects += 1;
                }
                let (a, b) = (runs[i].dialect.clone(), runs[j].dialect.clone());
                let diff = differences(&l.state, &r.state, &a, &b);
                if diff.is_empty() {
                    continue;
                }
                let message = format!(
                    "{REQUIREMENT}: the scenario passed in both dialects but left the target \
                     differently in {a} and {b} (placeholders stand for the names and numbers \
                     each run generated):\n  {}\n{}",
                    diff.join("\n  "),
                    reports::textdiff::states(&l.state, &r.state, &a, &b)
                );
                fail(&mut runs[i].cases[ci], &message, &l.exchanges);
                fail(&mut runs[j].cases[cj], &message, &r.exchanges);
            }
        }
    }
    compared
}

fn fail(case: &mut Case, message: &str, exchanges: &[Exchange]) {
    case.outcome = Outcome::Failed;
    if !case.requirements.iter().any(|r| r == REQUIREMENT) {
        case.requirements.push(REQUIREMENT.to_owned());
    }
    let warnings = case.detail.take().map(|d| d.warnings).unwrap_or_default();
    case.detail = Some(Detail {
        step: None,
        message: message.to_owned(),
        warnings,
        exchanges: exchanges.to_vec(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry for the tests: its DN and `(attribute, values)`.
    type TestEntry<'a> = (&'a str, &'a [(&'a str, &'a [&'a str])]);

    fn snapshot(entries: &[TestEntry<'_>]) -> Snapshot {
        entries
            .iter()
            .map(|(dn, attrs)| {
                (
                    (*dn).to_owned(),
                    attrs
                        .iter()
                        .map(|(a, v)| {
                            ((*a).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())
                        })
                        .collect(),
                )
            })
            .collect()
    }

    fn naming(suffix: &str, number: u64) -> Naming {
        Naming {
            suffix: suffix.into(),
            users: vec![("bsimon".into(), number)],
        }
    }

    #[test]
    fn two_runs_of_a_scenario_normalise_to_the_same_state() {
        let suite = crate::suite::Suite::embedded().unwrap();
        let posix = &suite.profiles["openldap-posix"];
        let blur = Blur::for_profile(posix, &["entryCSN".into()], &["employeeNumber".into()]);
        assert!(blur.numbered.contains(&"uidnumber".to_owned()), "{blur:?}");
        assert!(
            blur.write_only.contains(&"userpassword".to_owned()),
            "{blur:?}"
        );
        let blur = Blur {
            numbered: vec!["uidnumber".into(), "azureid".into()],
            ..blur
        };
        let one = snapshot(&[(
            "uid=bsimon-r1a2b3-12,ou=people",
            &[
                ("uid", &["bsimon-r1a2b3-12"]),
                ("mail", &["BSIMON-R1A2B3-12@contoso.lab"]),
                ("uidnumber", &["20017"]),
                ("employeenumber", &["aad-20017"]),
                ("azureid", &["00000000-0000-4000-8000-000000020017"]),
                ("entrycsn", &["20261201"]),
                ("entryuuid", &["5d3c…"]),
                ("userpassword", &["{SSHA}salt1"]),
            ],
        )]);
        let two = snapshot(&[(
            "uid=bsimon-r1a2b3-140,ou=people",
            &[
                ("uid", &["bsimon-r1a2b3-140"]),
                ("mail", &["BSIMON-R1A2B3-140@contoso.lab"]),
                ("uidnumber", &["20145"]),
                ("employeenumber", &["aad-20145"]),
                ("azureid", &["00000000-0000-4000-8000-000000020145"]),
                ("entrycsn", &["20261202"]),
                ("entryuuid", &["77aa…"]),
                ("userpassword", &["{SSHA}salt2"]),
            ],
        )]);
        let one = normalise(one, &naming("r1a2b3-12", 20017), &blur);
        let two = normalise(two, &naming("r1a2b3-140", 20145), &blur);
        assert_eq!(differences(&one, &two, "a", "b"), Vec::<String>::new());
        let entry = &one["uid=bsimon-{suffix},ou=people"];
        assert!(
            !entry.contains_key("employeenumber"),
            "generated attributes are left out"
        );
        assert_eq!(entry["uidnumber"], vec!["{number:bsimon}"]);
        assert_eq!(entry["azureid"], vec!["{uuid:bsimon}"]);
        assert!(!entry.contains_key("entrycsn") && !entry.contains_key("entryuuid"));
    }

    #[test]
    fn numbers_are_placeholders_only_in_attributes_made_with_them() {
        let blur = Blur {
            numbered: vec!["uidnumber".into()],
            ..Blur::default()
        };
        let one = normalise(
            snapshot(&[(
                "uid=a-r-1",
                &[("sn", &["MiXeD 55555555555"]), ("uidnumber", &["555557"])],
            )]),
            &naming("r-1", 55555),
            &blur,
        );
        let entry = &one["uid=a-{suffix}"];
        assert_eq!(entry["sn"], vec!["MiXeD 55555555555"]);
        assert_eq!(entry["uidnumber"], vec!["{number:bsimon}7"]);
    }

    #[test]
    fn a_value_an_extra_class_or_an_extra_object_is_a_difference() {
        let blur = Blur::default();
        let base: &[(&str, &[&str])] = &[
            ("givenname", &["Janet"]),
            ("objectclass", &["inetOrgPerson"]),
        ];
        let one = normalise(snapshot(&[("uid=a-r-1", base)]), &naming("r-1", 1), &blur);
        let changed = normalise(
            snapshot(&[(
                "uid=a-r-2",
                &[
                    ("givenname", &["janet"]),
                    ("objectclass", &["inetOrgPerson", "person"]),
                ],
            )]),
            &naming("r-2", 2),
            &blur,
        );
        let diff = differences(&one, &changed, "entra-default", "entra-scim2020");
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff[0].contains("givenname") && diff[0].contains("\"Janet\""));
        let extra = normalise(
            snapshot(&[("uid=a-r-3", base), ("uid=shadow-r-3", base)]),
            &naming("r-3", 3),
            &blur,
        );
        let diff = differences(&one, &extra, "x", "y");
        assert_eq!(diff, vec!["uid=shadow-{suffix}: absent in x, present in y"]);
    }

    fn case(outcome: Outcome) -> Case {
        Case {
            feature: "lifecycle/update.feature".into(),
            scenario: "Updates".into(),
            line: 7,
            level: reports::Level::Must,
            requirements: vec!["ECMA-UPDATE-001".into()],
            tags: vec!["must".into(), "req:ECMA-UPDATE-001".into()],
            outcome,
            duration_ms: 1,
            detail: None,
            not_checked: None,
            target: None,
        }
    }

    fn run(dialect: &str, outcome: Outcome) -> ProfileRun {
        ProfileRun {
            profile: "p".into(),
            dialect: dialect.into(),
            cases: vec![case(outcome)],
            planned: Vec::new(),
        }
    }

    fn observed(value: &str) -> BTreeMap<String, Observed> {
        BTreeMap::from([(
            "lifecycle/update.feature:7".to_owned(),
            Observed {
                state: snapshot(&[("uid=a", &[("sn", &[value])])]),
                exchanges: Vec::new(),
            },
        )])
    }

    #[test]
    fn a_difference_fails_both_dialects_and_sameness_fails_neither() {
        let none = Exemptions::default();
        let mut runs = vec![
            run("entra-default", Outcome::Passed),
            run("entra-scim2020", Outcome::Warned),
        ];
        assert_eq!(
            apply(&mut runs, &[observed("x"), observed("x")], &none),
            Compared {
                scenarios: 1,
                with_objects: 1
            }
        );
        assert_eq!(runs[0].cases[0].outcome, Outcome::Passed);
        assert_eq!(
            apply(&mut runs, &[observed("x"), observed("y")], &none).scenarios,
            1
        );
        for r in &runs {
            let c = &r.cases[0];
            assert_eq!(c.outcome, Outcome::Failed);
            assert!(c.requirements.contains(&REQUIREMENT.to_owned()));
            let message = &c
                .detail
                .as_ref()
                .map(|d| d.message.clone())
                .unwrap_or_default();
            assert!(
                message.contains("uid=a: sn: entra-default [\"x\"], entra-scim2020 [\"y\"]"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_scenario_that_failed_in_one_dialect_or_is_exempt_is_not_compared() {
        let none = Exemptions::default();
        let mut runs = vec![
            run("entra-default", Outcome::Passed),
            run("entra-scim2020", Outcome::Failed),
        ];
        assert_eq!(
            apply(&mut runs, &[observed("x"), observed("y")], &none).scenarios,
            0
        );
        assert_eq!(runs[0].cases[0].outcome, Outcome::Passed);
        let exempt = Exemptions::parse_file(
            "[[exempt]]\nfeature = \"lifecycle/update.feature\"\nscenario = \"Updates\"\n\
             reason = \"two requests raced against each other\"\n",
            "dialect-exempt.toml",
        )
        .unwrap();
        let mut runs = vec![
            run("entra-default", Outcome::Passed),
            run("entra-scim2020", Outcome::Passed),
        ];
        assert_eq!(
            apply(&mut runs, &[observed("x"), observed("y")], &exempt).scenarios,
            0
        );
        assert_eq!(runs[1].cases[0].outcome, Outcome::Passed);
    }

    #[test]
    fn the_shipped_exemptions_name_scenarios_the_suite_has() {
        let suite = crate::suite::Suite::embedded().unwrap();
        let list = shipped_exemptions().unwrap();
        for e in &list.exempt {
            assert!(
                suite
                    .scenarios
                    .iter()
                    .any(|s| s.feature == e.feature && s.name == e.scenario),
                "dialect-exempt.toml names {}: {:?}, which the suite does not have",
                e.feature,
                e.scenario
            );
        }
    }
}
