//! Entra's provisioning cycles over a set of users: which users a cycle processes, what it does
//! with each, the job's state between cycles (with its escrow of failed users), the counts the
//! provisioning log shows, and the quarantine rule.
//!
//! Sources: "How Application Provisioning works in Microsoft Entra ID" (*Initial cycle*,
//! *Incremental cycles*, *De-provisioning*: an unassigned, out-of-scope or soft-deleted user is
//! disabled by an update that sets `active` false; a hard-deleted user is deleted; an error for
//! one user is retried in the next cycle) and "Application provisioning in quarantine status"
//! (escrow thresholds).
//!
//! What a cycle reads from the source is a set of users (JSON objects of Entra attributes, each
//! with an `id`, Entra's objectId, or a `userPrincipalName` to know it by). An initial cycle
//! processes every user of the set; an incremental one only what Entra's delta query would
//! return: users new or changed since the last cycle, users gone from the set (hard-deleted),
//! and users whose last export failed (escrow). Nothing here does I/O: the harness sends the
//! requests and tells [`JobState::record`] what came of them.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// One user of the source as a cycle reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceUser {
    /// How Entra knows the user: its `id` (objectId), else its `userPrincipalName`.
    pub id: String,
    /// The user's attributes, as read.
    pub json: Json,
}

impl SourceUser {
    /// Whether Entra deprovisions the user as soft-deleted: `IsSoftDeleted` true, or
    /// `accountEnabled` false (Entra computes IsSoftDeleted true for a disabled user too).
    /// Such a user is disabled in the target, as an unassigned one is.
    pub fn soft_deleted(&self) -> bool {
        let flag = |name: &str, wanted: bool| {
            self.json
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .is_some_and(|(_, v)| {
                    v.as_bool() == Some(wanted)
                        || v.as_str().is_some_and(|s| {
                            s.eq_ignore_ascii_case(if wanted { "true" } else { "false" })
                        })
                })
        };
        flag("IsSoftDeleted", true) || flag("accountEnabled", false)
    }
}

/// The users of a set: a JSON array of objects (or `{"users": [...]}`).
///
/// # Errors
/// A message naming the entry when the set is not an array of objects, an entry has neither
/// `id` nor `userPrincipalName` as a string, or two entries have the same one.
pub fn users_from_json(json: &Json) -> Result<Vec<SourceUser>, String> {
    let array = json
        .as_array()
        .or_else(|| json.get("users").and_then(Json::as_array))
        .ok_or("a set of Entra users is a JSON array of objects (or {\"users\": [...]})")?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(array.len());
    for (i, u) in array.iter().enumerate() {
        if !u.is_object() {
            return Err(format!("user {}: not a JSON object", i + 1));
        }
        let id = ["id", "userPrincipalName"]
            .iter()
            .find_map(|k| u.get(*k).and_then(Json::as_str))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                format!(
                    "user {}: neither \"id\" nor \"userPrincipalName\" is a non-empty string",
                    i + 1
                )
            })?;
        if !seen.insert(id.to_lowercase()) {
            return Err(format!("user {}: {id:?} appears twice in the set", i + 1));
        }
        out.push(SourceUser {
            id: id.to_owned(),
            json: u.clone(),
        });
    }
    Ok(out)
}

/// What the job does with a provisioned user who leaves the scope (the job's *Scope* and
/// *Skip out of scope deletions* settings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfScope {
    /// An update setting `active` false (Entra's default).
    #[default]
    Disable,
    /// A DELETE.
    Delete,
    /// Nothing ("Skip out of scope deletions").
    Skip,
}

/// Where a user stands in the target, as the job last left it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not provisioned (never, or skipped).
    #[default]
    None,
    /// Provisioned and active.
    Active,
    /// Provisioned and disabled.
    Disabled,
    /// Deleted from the target.
    Deleted,
}

/// The job's record of one user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    /// The user as last read: an incremental cycle processes the user when this differs.
    pub seen: Json,
    /// The target object's id, once matched or created.
    pub target_id: Option<String>,
    /// Where a reader of the target finds the object (an LDAP DN), as the harness last read it.
    #[serde(default)]
    pub object: Option<String>,
    /// Where the user stands in the target.
    pub standing: Standing,
    /// Escrow: failed attempts in a row (0: none); a user with failures is retried next cycle.
    pub failures: u32,
    /// The last failure, redacted.
    pub last_error: Option<String>,
}

/// Why the job is quarantined ("Application provisioning in quarantine status"; the Graph
/// `quarantineReason` names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quarantine {
    /// `EncounteredEscrowProportionThreshold`, `EncounteredTotalEscrowThreshold` or
    /// `EncounteredQuarantineException`.
    pub reason: String,
    /// What was counted.
    pub details: String,
}

/// Failures in escrow before the proportion and total thresholds are evaluated.
pub const ESCROW_EVALUATION_START: u64 = 5_000;
/// Above this share of a cycle's events failed, the job is quarantined (once evaluation starts).
pub const ESCROW_PROPORTION: f64 = 0.4;
/// Above this many failures in escrow, the job is quarantined.
pub const ESCROW_TOTAL: u64 = 40_000;

/// The job's state between cycles: what Entra keeps per provisioning job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// Cycles run so far (0: the next is the initial cycle).
    pub cycles: u32,
    /// Each user ever processed, by [`SourceUser::id`].
    pub users: BTreeMap<String, UserState>,
    /// Set when the job is quarantined.
    pub quarantine: Option<Quarantine>,
    /// The profile (connector and target) the job provisions: a state is not carried over to
    /// another.
    #[serde(default)]
    pub profile: Option<String>,
}

/// Why a cycle processes a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The initial cycle processes everyone.
    Initial,
    /// New since the last cycle.
    New,
    /// Changed since the last cycle.
    Changed,
    /// Its last export failed (escrow).
    Retry,
    /// Gone from the set: hard-deleted in Entra.
    Removed,
}

/// One user a cycle processes: `user` is `None` for a user gone from the set.
#[derive(Clone, Debug)]
pub struct Selected<'a> {
    /// The user's id.
    pub id: String,
    /// The user as read now.
    pub user: Option<&'a SourceUser>,
    /// Why it is processed.
    pub why: Why,
}

/// What the cycle does with a selected user, before any request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// In scope: matching queries, then a create or an update (re-enabling a disabled user).
    Provision,
    /// Disable the target object (`PATCH active false`).
    Disable(String),
    /// Delete the target object.
    Delete(String),
    /// Nothing to send; the reason as the provisioning log gives it.
    Skip(&'static str),
}

impl JobState {
    /// The users the next cycle processes, in the set's order, then those gone from it.
    pub fn select<'a>(&self, users: &'a [SourceUser]) -> Vec<Selected<'a>> {
        let mut out = Vec::new();
        let mut present = std::collections::HashSet::new();
        for u in users {
            present.insert(u.id.as_str());
            let why = match self.users.get(&u.id) {
                _ if self.cycles == 0 => Some(Why::Initial),
                None => Some(Why::New),
                Some(s) if s.failures > 0 => Some(Why::Retry),
                Some(s) if s.seen != u.json => Some(Why::Changed),
                Some(_) => None,
            };
            if let Some(why) = why {
                out.push(Selected {
                    id: u.id.clone(),
                    user: Some(u),
                    why,
                });
            }
        }
        for (id, s) in &self.users {
            if !present.contains(id.as_str()) && s.standing != Standing::Deleted {
                out.push(Selected {
                    id: id.clone(),
                    user: None,
                    why: Why::Removed,
                });
            }
        }
        out
    }

    /// What to do with `selected`, given whether it is in scope.
    pub fn decide(&self, selected: &Selected<'_>, in_scope: bool, policy: OutOfScope) -> Decision {
        let state = self.users.get(&selected.id);
        let provisioned = state
            .filter(|s| matches!(s.standing, Standing::Active | Standing::Disabled))
            .and_then(|s| s.target_id.clone());
        let active = state.is_some_and(|s| s.standing == Standing::Active);
        match selected.user {
            None => match provisioned {
                Some(id) => Decision::Delete(id),
                None => Decision::Skip("deleted in Entra, never provisioned"),
            },
            Some(u) if u.soft_deleted() => match provisioned {
                Some(id) if active => Decision::Disable(id),
                Some(_) => Decision::Skip("soft-deleted, already disabled"),
                None => Decision::Skip("soft-deleted, never provisioned"),
            },
            Some(_) if in_scope => Decision::Provision,
            Some(_) => match (provisioned, policy) {
                (Some(id), OutOfScope::Disable) if active => Decision::Disable(id),
                (Some(_), OutOfScope::Disable) => Decision::Skip("out of scope, already disabled"),
                (Some(id), OutOfScope::Delete) => Decision::Delete(id),
                (Some(_), OutOfScope::Skip) => {
                    Decision::Skip("out of scope, out-of-scope deletions skipped")
                }
                (None, _) => Decision::Skip("out of scope"),
            },
        }
    }

    /// Records what came of processing `id` (`user`: as read now, `None` when gone).
    pub fn record(&mut self, id: &str, user: Option<&SourceUser>, outcome: &Outcome) {
        let entry = self.users.entry(id.to_owned()).or_default();
        let failed = matches!(outcome, Outcome::Failed(_));
        if failed {
            entry.failures += 1;
        } else {
            entry.failures = 0;
            entry.last_error = None;
        }
        match outcome {
            Outcome::Created(target) | Outcome::Updated(target) | Outcome::NoChange(target) => {
                entry.target_id = Some(target.clone());
                entry.standing = Standing::Active;
            }
            Outcome::Disabled => entry.standing = Standing::Disabled,
            Outcome::Deleted => {
                entry.standing = Standing::Deleted;
                entry.target_id = None;
                entry.object = None;
            }
            Outcome::Skipped(_) => {}
            Outcome::Failed(error) => entry.last_error = Some(error.clone()),
        }
        if let Some(u) = user {
            entry.seen = u.json.clone();
        } else if !failed {
            // Gone from Entra and dealt with: nothing is left to track.
            self.users.remove(id);
        }
    }

    /// Users in escrow (their last export failed).
    pub fn escrowed(&self) -> u64 {
        self.users.values().filter(|s| s.failures > 0).count() as u64
    }

    /// Applies the quarantine rule after a cycle in which `failed` of `events` exports failed
    /// (`credentials_refused`: every request was refused as unauthorized). Evaluation of the
    /// escrow starts at [`ESCROW_EVALUATION_START`] failures; then more than
    /// [`ESCROW_PROPORTION`] of the events failed, or more than [`ESCROW_TOTAL`] failures in
    /// escrow, quarantine the job. A cycle without failures lifts it.
    pub fn assess(&mut self, events: u64, failed: u64, credentials_refused: bool) {
        let escrow = self.escrowed();
        self.quarantine = if credentials_refused {
            Some(Quarantine {
                reason: "EncounteredQuarantineException".into(),
                details: "every request was refused as unauthorized (the Secret Token)".into(),
            })
        } else if escrow > ESCROW_TOTAL {
            Some(Quarantine {
                reason: "EncounteredTotalEscrowThreshold".into(),
                details: format!("{escrow} failures in escrow (more than {ESCROW_TOTAL})"),
            })
        } else if escrow >= ESCROW_EVALUATION_START
            && events > 0
            && failed as f64 / events as f64 > ESCROW_PROPORTION
        {
            Some(Quarantine {
                reason: "EncounteredEscrowProportionThreshold".into(),
                details: format!(
                    "{failed} of {events} events failed (more than {:.0} %) with {escrow} in escrow",
                    ESCROW_PROPORTION * 100.0
                ),
            })
        } else if failed == 0 {
            None
        } else {
            self.quarantine.take()
        };
        self.cycles += 1;
    }
}

/// What came of processing one user, as the provisioning log has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Created; the target object's id.
    Created(String),
    /// Updated; the target object's id.
    Updated(String),
    /// Matched, nothing to change (logged as skipped); the target object's id.
    NoChange(String),
    /// Disabled.
    Disabled,
    /// Deleted.
    Deleted,
    /// Skipped, with the reason.
    Skipped(String),
    /// Failed, with the (redacted) error; the user goes to escrow.
    Failed(String),
}

/// The counts of a cycle's provisioning log: the actions Create, Update, Disable, Delete, and
/// the statuses Skipped and Failure.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LogCounts {
    /// Users created.
    pub created: u64,
    /// Users updated.
    pub updated: u64,
    /// Users disabled.
    pub disabled: u64,
    /// Users deleted.
    pub deleted: u64,
    /// Users skipped (no change, out of scope, …).
    pub skipped: u64,
    /// Users failed (now in escrow).
    pub failed: u64,
    /// The skips by reason.
    pub skipped_by_reason: BTreeMap<String, u64>,
}

impl LogCounts {
    /// Counts `outcome`.
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Created(_) => self.created += 1,
            Outcome::Updated(_) => self.updated += 1,
            Outcome::Disabled => self.disabled += 1,
            Outcome::Deleted => self.deleted += 1,
            Outcome::NoChange(_) => {
                self.skipped += 1;
                *self
                    .skipped_by_reason
                    .entry("no change".into())
                    .or_default() += 1;
            }
            Outcome::Skipped(reason) => {
                self.skipped += 1;
                *self.skipped_by_reason.entry(reason.clone()).or_default() += 1;
            }
            Outcome::Failed(_) => self.failed += 1,
        }
    }

    /// Users processed.
    pub fn total(&self) -> u64 {
        self.created + self.updated + self.disabled + self.deleted + self.skipped + self.failed
    }
}

const GIVEN: [&str; 16] = [
    "Alice", "Bob", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "José", "Kai",
    "Lena", "Mateo", "Nadia", "Oskar", "Priya",
];
const SURNAMES: [&str; 16] = [
    "Smith", "Müller", "García", "Nguyen", "Kowalski", "O'Brien", "Rossi", "Tanaka", "Dubois",
    "Jensen", "Silva", "Novák", "Haddad", "Larsen", "Moreau", "Schmidt",
];
const DEPARTMENTS: [&str; 4] = ["Sales", "Engineering", "Finance", "Support"];

/// `n` Entra users generated from `seed`: each with an `id` (a GUID), a unique
/// `userPrincipalName` (`Given.Surname.N@contoso.lab`, ASCII), `displayName`, `givenName`,
/// `surname` (with diacritics and apostrophes, as real names have), `mail`, `employeeId`,
/// `department`, `accountEnabled` true and `IsSoftDeleted` false. The same `n` and `seed` give
/// the same users.
pub fn generate(n: usize, seed: u64) -> Vec<Json> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let given = GIVEN[rng.random_range(0..GIVEN.len())];
            let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
            let ascii = |s: &str| -> String {
                crate::expr::diacritics::normalize(s)
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect()
            };
            let upn = format!("{}.{}.{}@contoso.lab", ascii(given), ascii(surname), i + 1);
            let bytes: [u8; 16] = rng.random();
            json!({
                "id": uuid::Builder::from_random_bytes(bytes).into_uuid().to_string(),
                "userPrincipalName": upn,
                "displayName": format!("{given} {surname}"),
                "givenName": given,
                "surname": surname,
                "mail": upn,
                "employeeId": format!("{}", 20_000 + i + 1),
                "department": DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())],
                "accountEnabled": true,
                "IsSoftDeleted": false,
            })
        })
        .collect()
}

/// How [`evolve`] changes a generated set between two cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evolution {
    /// Users whose `surname` and `displayName` change (a marriage).
    pub changed: usize,
    /// Users soft-deleted (`IsSoftDeleted` true).
    pub soft_deleted: usize,
    /// Users hard-deleted (gone from the set).
    pub removed: usize,
}

/// `users` after `evolution`, on distinct users chosen from `seed`; with the ids of those
/// changed, soft-deleted and removed, in that order.
///
/// # Errors
/// A message when the set has fewer users than the evolution touches.
pub fn evolve(
    users: &[Json],
    evolution: Evolution,
    seed: u64,
) -> Result<(Vec<Json>, [Vec<String>; 3]), String> {
    let touched = evolution.changed + evolution.soft_deleted + evolution.removed;
    if touched > users.len() {
        return Err(format!(
            "the set has {} users; {touched} cannot be changed, soft-deleted or removed",
            users.len()
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_c4a1);
    let mut order: Vec<usize> = (0..users.len()).collect();
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    let id = |i: usize| users[i]["id"].as_str().unwrap_or_default().to_owned();
    let changed = &order[..evolution.changed];
    let soft = &order[evolution.changed..evolution.changed + evolution.soft_deleted];
    let removed = &order[evolution.changed + evolution.soft_deleted..touched];
    let mut out = users.to_vec();
    for &i in changed {
        let given = out[i]["givenName"].as_str().unwrap_or_default().to_owned();
        let surname = format!(
            "{}-Lindqvist",
            out[i]["surname"].as_str().unwrap_or_default()
        );
        out[i]["surname"] = json!(surname);
        out[i]["displayName"] = json!(format!("{given} {surname}"));
    }
    for &i in soft {
        out[i]["IsSoftDeleted"] = json!(true);
        out[i]["accountEnabled"] = json!(false);
    }
    let ids = [
        changed.iter().map(|&i| id(i)).collect(),
        soft.iter().map(|&i| id(i)).collect(),
        removed.iter().map(|&i| id(i)).collect(),
    ];
    let gone: std::collections::HashSet<usize> = removed.iter().copied().collect();
    let out = out
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !gone.contains(i))
        .map(|(_, u)| u)
        .collect();
    Ok((out, ids))
}
