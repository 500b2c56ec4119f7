//! Sharding a run across a CI matrix (`ecmacert run --shard i/n`) and merging the shards'
//! reports back into the report of the whole run (`ecmacert report merge`), as nextest and
//! Playwright split theirs.
//!
//! The split is by scenario within each profile: the `k`-th scenario of a profile's plan (in
//! suite order, applicable or not) goes to shard `k mod n + 1`, in every dialect, so that both
//! dialects of a scenario run in the same shard (the dialect differential compares them there).
//! The same suite, profiles and `n` give the same split on every machine.
//!
//! Every object a shard makes carries its own run id, but `@serial` scenarios (a host restart,
//! injected faults) are serial only within one process: shards that share a host and target
//! run one after another, or each gets its own.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DialectComparison, ProfileRun, Report};

/// One shard of `count`: `index` is 1-based (`--shard 2/3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// 1 ..= `count`.
    pub index: usize,
    /// How many shards the run is split into.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `i/n` with 1 ≤ i ≤ n.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?}: expected i/n with 1 ≤ i ≤ n, e.g. 2/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the `position`-th (0-based) scenario of a profile's plan is this shard's.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// `feature:line` as a sort key: by feature, then line as a number.
fn order(key: &str) -> (String, usize) {
    match key.rsplit_once(':') {
        Some((feature, line)) => (feature.to_owned(), line.parse().unwrap_or(usize::MAX)),
        None => (key.to_owned(), usize::MAX),
    }
}

/// Merges the reports of the `n` shards of one run into the report of the whole run. Errors
/// (in words, for exit code 2): a report that is not a shard, shards of different counts, a
/// shard missing or given twice, shards of different suites (file digests) or different
/// profile × dialect runs.
pub fn merge(shards: Vec<Report>) -> Result<Report, String> {
    let Some(first) = shards.first() else {
        return Err("no reports to merge".into());
    };
    let count = first
        .shard
        .ok_or("the first report is not a shard (it was not run with --shard)")?
        .count;
    let mut seen = BTreeSet::new();
    for r in &shards {
        let shard = r
            .shard
            .ok_or_else(|| format!("run {} is not a shard (no --shard)", r.run_id))?;
        if shard.count != count {
            return Err(format!(
                "run {} is shard {shard}, the others are of {count}",
                r.run_id
            ));
        }
        if !seen.insert(shard.index) {
            return Err(format!("shard {shard} is given twice"));
        }
        if r.suite_files != first.suite_files || r.suite_version != first.suite_version {
            return Err(format!(
                "shard {shard} ran another suite (ecmacert {} and other feature files) than shard {}",
                r.suite_version,
                first.shard.map(|s| s.to_string()).unwrap_or_default()
            ));
        }
        let runs = |r: &Report| -> Vec<(String, String)> {
            r.runs
                .iter()
                .map(|p| (p.profile.clone(), p.dialect.clone()))
                .collect()
        };
        if runs(r) != runs(first) {
            return Err(format!(
                "shard {shard} ran other profiles or dialects than shard {}",
                first.shard.map(|s| s.to_string()).unwrap_or_default()
            ));
        }
        if (r.strict, r.certification, r.plaintext, &r.expected_failures)
            != (
                first.strict,
                first.certification,
                first.plaintext,
                &first.expected_failures,
            )
        {
            return Err(format!(
                "shard {shard} ran in another mode (--strict, certify, plain HTTP or --expected) \
                 than shard {}",
                first.shard.map(|s| s.to_string()).unwrap_or_default()
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard {} missing: a merged report must hold every shard",
            missing.join(", ")
        ));
    }
    let mut merged = first.clone();
    merged.shard = None;
    let mut shards = shards;
    shards.sort_by_key(|r| r.shard.map(|s| s.index));
    merged.run_id = shards
        .iter()
        .map(|r| r.run_id.as_str())
        .collect::<Vec<_>>()
        .join("+");
    let hosts: BTreeSet<&str> = shards.iter().map(|r| r.host.as_str()).collect();
    merged.host = hosts.into_iter().collect::<Vec<_>>().join(" | ");
    merged.duration_ms = shards.iter().map(|r| r.duration_ms).max().unwrap_or(0);
    let mut notes: Vec<String> = Vec::new();
    let mut leftovers = Vec::new();
    let mut facts = Vec::new();
    let mut compared: Option<DialectComparison> = None;
    let mut runs: Vec<ProfileRun> = merged
        .runs
        .iter()
        .map(|r| ProfileRun {
            cases: Vec::new(),
            planned: Vec::new(),
            ..r.clone()
        })
        .collect();
    for r in &shards {
        for n in &r.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
        leftovers.extend(r.leftovers.iter().cloned());
        for f in &r.host_facts {
            if !facts
                .iter()
                .any(|g: &crate::HostFacts| g.scim_base == f.scim_base)
            {
                facts.push(f.clone());
            }
        }
        if let Some(c) = &r.dialects_compared {
            let total = compared.get_or_insert_default();
            total.scenarios += c.scenarios;
            total.with_objects += c.with_objects;
            total.unread.extend(c.unread.iter().cloned());
        }
        for (into, from) in runs.iter_mut().zip(&r.runs) {
            into.cases.extend(from.cases.iter().cloned());
            into.planned.extend(from.planned.iter().cloned());
        }
    }
    for run in &mut runs {
        run.cases.sort_by_key(|c| (c.feature.clone(), c.line));
        if let Some(twice) = run
            .cases
            .windows(2)
            .find(|w| w[0].key() == w[1].key())
            .map(|w| w[0].key())
        {
            return Err(format!(
                "{twice} of {} · {} is in two shards: these are not shards of one split",
                run.profile, run.dialect
            ));
        }
        run.planned.sort_by_key(|k| order(k));
        run.planned.dedup();
    }
    merged.runs = runs;
    merged.notes = notes;
    merged.leftovers = leftovers;
    merged.host_facts = facts;
    merged.dialects_compared = compared;
    Ok(merged)
}

/// Outcomes by `profile · dialect · feature:line`: what "the merged shards equal the whole
/// run" compares.
pub fn outcomes(report: &Report) -> BTreeMap<String, crate::Outcome> {
    report
        .runs
        .iter()
        .flat_map(|r| {
            r.cases.iter().map(move |c| {
                (
                    format!("{} · {} · {}", r.profile, r.dialect, c.key()),
                    c.outcome,
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_every_position_once() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3).map(|i| Shard { index: i, count: 3 }).collect();
        for position in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.takes(position)).count(), 1);
        }
    }
}
