//! The World: one per scenario. Steps stay thin and call the methods here.
//!
//! Isolation: every user a scenario names gets a unique name, `<name>-<run id>-<scenario
//! number>`, so scenarios run concurrently against one shared directory and every object a
//! scenario touches can be found again by that suffix (for "the target is unchanged" and for
//! the leftover report). Values the profile marks `unique` (the matching attribute) get the
//! suffix too, so two scenarios never match each other's users.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use reports::{Exchange, Level};
use scim_proto::Dialect;
use scim_proto::schema::AttrType;
use serde_json::Value;

use crate::checks::{self, CheckFailure};
use crate::config::ImportHook;
use crate::probe::{Entry, Match, Probe, Snapshot};
use crate::profile::{LogicalAttribute, Profile};
use crate::provisioning::{Auth, ProvisioningService, Request, entra};

/// A step that did not hold: "expected X, got Y", and the requirement of the check that
/// failed when a named check did (a failed MUST check fails its scenario whatever the
/// scenario's own level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was expected and what came.
    pub message: String,
    /// The requirement the failed check stands for, if a named check failed.
    pub requirement: Option<&'static str>,
}

impl Failure {
    /// A failure of the scenario's own assertion (no named check).
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            requirement: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<CheckFailure> for Failure {
    fn from(c: CheckFailure) -> Self {
        Failure {
            message: c.to_string(),
            requirement: Some(c.requirement),
        }
    }
}

impl From<crate::probe::ProbeError> for Failure {
    fn from(e: crate::probe::ProbeError) -> Self {
        Failure::new(e.to_string())
    }
}

/// Step result.
pub type StepResult = Result<(), Failure>;

/// What every scenario of one profile × dialect shares.
pub struct RunContext {
    /// The profile.
    pub profile: Profile,
    /// The dialect.
    pub dialect: Dialect,
    /// The provisioning service.
    pub service: ProvisioningService,
    /// The probe.
    pub probe: Arc<Probe>,
    /// The run's id.
    pub run_id: String,
    /// The container users are created in.
    pub container: String,
    /// `target.generated_attributes`: left out of the dialect differential.
    pub generated_attributes: Vec<String>,
    /// The import hook, if the host has one.
    pub import: Option<ImportHook>,
    /// How to restart the host (`host.restart`).
    pub restart: Option<ImportHook>,
    /// How long a restarted host may take to answer Test Connection with 200
    /// (`host.ready_timeout_seconds`).
    pub ready_timeout: Duration,
    /// Another connector of the host, with a token of its own (`host.other_connector`).
    pub other_connector: Option<String>,
    /// Scenario numbers, unique in the run.
    pub scenarios: Arc<AtomicU64>,
    /// Numbers for `{number}`, unique in the run.
    pub numbers: Arc<AtomicU64>,
    /// Secrets no answer may contain (the token, the target's password); they are also
    /// redacted from the evidence.
    pub secrets: Vec<ecma_vocab::Secret>,
    /// Every requirement's level, from the catalogue: what a failed check weighs.
    pub levels: Arc<std::collections::BTreeMap<String, Level>>,
    /// The target's fault switch, where the target can misbehave on cue.
    pub faults: Option<Arc<dyn crate::faults::ControlledTarget>>,
    /// The standby host and the active host the run can stop (`host.standby`).
    pub standby: Option<Arc<Standby>>,
    /// The suite's SQL scripts (`features/sql/`), by path relative to `features/`.
    pub scripts: Arc<std::collections::BTreeMap<String, String>>,
    /// The suite's bad-input corpus (ECMA-ROBUST-018), by class.
    pub corpora: Arc<std::collections::BTreeMap<String, crate::corpus::Corpus>>,
    /// Turns on the target, shared by the dialects that run side by side on it ([`Turns`]).
    pub turns: Arc<Turns>,
}

/// Who may use the target when, across the dialects of a profile that run side by side (one
/// cucumber run each). Cucumber keeps an `@serial` scenario alone, and `--concurrency`
/// scenarios in flight, within its own run only; these hold across the runs:
///
/// - a scenario holds a read guard while it runs, an `@serial` one the write guard, so a
///   scenario that must run alone does so in every dialect's run;
/// - at most as many scenarios in flight as the [`Slots`] hold (one slot each): `concurrency`
///   for the profile's own ([`Turns::new`]), or a budget shared with other profiles' targets
///   ([`Turns::sharing`]).
///
/// The guard is taken before the slot, and the quiet side after it ([`Turns::take`]). A
/// scenario gives its slot back while it only waits ([`Turn::lend_slot`]) and then takes one
/// again with its guard held; were the slot taken first, scenarios holding slots while queued
/// behind a serial one that waits for that guard could hold every slot (two dialects' eight in
/// flight against a budget of eight): a deadlock. Waiting for the guard without a slot also
/// leaves the slot to another profile's scenario. Measured against slot-first with lending
/// (release builds, embedded default): alone 7.63 s against 7.62 s (medians of five); four
/// runs at once 27.6 and 27.5 s against 26.6 and 27.3 s (two rounds). Before lending, on one
/// thread, slot-first was the faster: five debug runs at once 204–229 s against 273–276 s.
#[derive(Debug)]
pub struct Turns {
    slots: Arc<tokio::sync::Semaphore>,
    target: Arc<tokio::sync::RwLock<()>>,
    /// Keeps the scenarios tagged `@no-import-beside` and the import hook's calls apart
    /// ([`Turns::import`]).
    imports: Arc<Apart>,
}

impl Turns {
    /// Turns for runs that share `concurrency` scenarios in flight (at least 1).
    pub fn new(concurrency: usize) -> Turns {
        Turns::sharing(&Slots::new(concurrency))
    }

    /// Turns on a target of their own whose slots come from `slots`, a budget shared with
    /// runs on other targets (the embedded default's profiles, side by side in one process).
    pub fn sharing(slots: &Slots) -> Turns {
        Turns {
            slots: slots.0.clone(),
            target: Arc::default(),
            imports: Arc::default(),
        }
    }

    /// Waits until no import may change the connector space beside a scenario (`quiet`, its
    /// tag `@no-import-beside`): a scenario that checks the host's view against its target
    /// after a change the host did not see through (ECMA-ROBUST-017) would pass a host that
    /// never follows the outcome if another scenario's import refreshed its space meanwhile.
    /// Held by [`Turns::take`]; the import hook's callers hold [`Turns::import`].
    async fn quiet(&self) -> Inside {
        Apart::enter(&self.imports, Side::Quiet).await
    }

    /// Waits until no `@no-import-beside` scenario runs, and keeps them from starting while
    /// the guard lives: taken around every call of the import hook. Imports may run beside
    /// each other (the host orders its own).
    pub async fn import(&self) -> Inside {
        Apart::enter(&self.imports, Side::Import).await
    }

    /// Waits for a scenario's turn: the target beside others, or alone when `serial`; then a
    /// slot; with `quiet`, then also no import beside it ([`Turns::import`]).
    pub async fn take(&self, serial: bool, quiet: bool) -> Turn {
        // The target before the slot: a scenario that waits for its target (behind one that
        // runs alone) holds no slot another profile's scenario could use, and the order keeps
        // lending deadlock-free (see [`Turns`]). The quiet side after the slot: a quiet
        // scenario waiting for a slot does not hold the imports back meanwhile. No cycle: the
        // target is never asked for while a slot is held, and the import hook's callers
        // wait for the quiet side and import without a slot ([`EcmaWorld::import_hook`]).
        let target = if serial {
            Hold::Alone(self.target.clone().write_owned().await)
        } else {
            Hold::Shared(self.target.clone().read_owned().await)
        };
        // The semaphore is never closed, so acquiring cannot fail; were it closed, the
        // scenario would run without a slot rather than not at all.
        let slot = self.slots.clone().acquire_owned().await.ok();
        let quiet = if quiet {
            Some(self.quiet().await)
        } else {
            None
        };
        Turn {
            quiet,
            _target: target,
            slot,
            slots: self.slots.clone(),
            since: Instant::now(),
        }
    }
}

/// Two sides that never run at once, while either side's members run beside each other:
/// the `@no-import-beside` scenarios and the import hook's calls. A member waits only while
/// the other side runs, not for members queued before it (a fair read-write lock made the
/// quiet scenarios wait in line behind queued imports and run one after another, which cost
/// the embedded default several seconds). Neither side starves the other for long: a
/// profile has four quiet scenarios, each a few seconds long, and a handful of imports.
#[derive(Debug, Default)]
struct Apart {
    /// How many of each side run: (quiet scenarios, imports).
    running: std::sync::Mutex<(usize, usize)>,
    /// Woken when a side's last member leaves.
    left: tokio::sync::Notify,
}

/// A side of [`Apart`].
#[derive(Debug, Clone, Copy)]
enum Side {
    Quiet,
    Import,
}

impl Apart {
    /// Waits until the other side has nobody running, then counts one in on `side`.
    async fn enter(apart: &Arc<Apart>, side: Side) -> Inside {
        loop {
            // Registered before the look, so a leave between the look and the wait wakes it.
            let left = apart.left.notified();
            {
                let mut running = apart.running.lock().unwrap_or_else(|p| p.into_inner());
                let (quiet, import) = &mut *running;
                let (mine, theirs) = match side {
                    Side::Quiet => (quiet, *import),
                    Side::Import => (import, *quiet),
                };
                if theirs == 0 {
                    *mine += 1;
                    return Inside {
                        apart: apart.clone(),
                        side,
                    };
                }
            }
            left.await;
        }
    }
}

/// A turn on one side of the import fence running (a `@no-import-beside` scenario, or a call
/// of the import hook: [`Turns::import`]); counted out when dropped.
#[derive(Debug)]
pub struct Inside {
    apart: Arc<Apart>,
    side: Side,
}

impl Drop for Inside {
    fn drop(&mut self) {
        let mut running = self.apart.running.lock().unwrap_or_else(|p| p.into_inner());
        let mine = match self.side {
            Side::Quiet => &mut running.0,
            Side::Import => &mut running.1,
        };
        *mine = mine.saturating_sub(1);
        if *mine == 0 {
            self.apart.left.notify_waiters();
        }
    }
}

/// A budget of scenarios in flight (at least 1), shared by the [`Turns`] of runs on different
/// targets in one process: the embedded default runs every profile at once, and on a two-core
/// machine 8 scenarios in flight per profile (80 in all) made the reference host's ordinary
/// writes wait for the CPU past its connectors' timeouts (1 s LDAP, 2 s REST), answered 503.
#[derive(Debug, Clone)]
pub struct Slots(Arc<tokio::sync::Semaphore>);

impl Slots {
    /// A budget of `n` scenarios in flight (at least 1).
    pub fn new(n: usize) -> Slots {
        Slots(Arc::new(tokio::sync::Semaphore::new(n.max(1))))
    }
}

/// A scenario's turn ([`Turns::take`]), held from its before hook to the end of its after hook
/// (cleanup included) and given back when dropped.
#[derive(Debug)]
pub struct Turn {
    /// No import beside the scenario while held (`@no-import-beside`).
    quiet: Option<Inside>,
    _target: Hold,
    /// The scenario's place in the budget; `None` while it only waits ([`Turn::lend_slot`]).
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The budget, to take a slot again from.
    slots: Arc<tokio::sync::Semaphore>,
    /// When the scenario had it.
    since: Instant,
}

impl Turn {
    /// How long the scenario has held its turn.
    pub fn held(&self) -> Duration {
        self.since.elapsed()
    }

    /// Gives the slot back while the scenario only waits: for a target slowed on purpose, for
    /// the host to catch up with it, for the import hook's turn. Such a wait costs the machine
    /// nothing, and a slot held through it kept another scenario from running (the embedded
    /// default's 3 s fault scenarios and the imports that waited for them held half its
    /// slots). [`Turn::retake_slot`] ends it. The target and the quiet side stay held.
    pub fn lend_slot(&mut self) {
        self.slot = None;
    }

    /// Takes a slot again after [`Turn::lend_slot`], waiting for one; nothing when it has one.
    /// Safe from deadlock: a scenario that holds a slot never waits for what a scenario
    /// waiting for one holds (its target is shared or its own; the import side is taken
    /// without a slot).
    pub async fn retake_slot(&mut self) {
        if self.slot.is_none() {
            // Never closed: see [`Turns::take`].
            self.slot = self.slots.clone().acquire_owned().await.ok();
        }
    }
}

/// The target guard a [`Turn`] holds.
#[derive(Debug)]
enum Hold {
    Shared(#[expect(dead_code, reason = "held, never read")] tokio::sync::OwnedRwLockReadGuard<()>),
    Alone(#[expect(dead_code, reason = "held, never read")] tokio::sync::OwnedRwLockWriteGuard<()>),
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("profile", &self.profile.name)
            .field("dialect", &self.dialect)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// An active/passive pair (`host.standby`): the standby's client and import hook, and the
/// active host the failover scenario stops (and the run starts again after it).
#[derive(Debug)]
pub struct Standby {
    /// The standby's client.
    pub service: ProvisioningService,
    /// How to make the standby import (`host.standby.import`).
    pub import: ImportHook,
    /// The active host, started by the run.
    pub active: Arc<crate::host::ManagedHost>,
}

/// A user a scenario talks about.
#[derive(Clone, Debug)]
pub struct User {
    /// The name in the feature (`bsimon`).
    pub logical: String,
    /// Its unique name in this run (`bsimon-r7k2x-12`).
    pub name: String,
    /// A unique number for `{number}`.
    pub number: u64,
    /// The DN the provisioning service gives it.
    pub dn: String,
    /// The id the host returned on create.
    pub id: Option<String>,
    /// The resource the host returned on create.
    pub created: Option<Value>,
    /// The target attributes it was last sent with (create, then updates), by target name.
    pub values: IndexMap<String, Value>,
    /// The values it was created with.
    pub original: IndexMap<String, Value>,
    /// The target's own identifiers of the object (`entryUUID`, `objectGUID`), read when it
    /// was created: they find it again wherever the host moves it.
    pub target_ids: Vec<(String, String)>,
    /// The probe saw it in the target after it was created, and no delete has been answered
    /// with success since: "the target is unchanged" must see it.
    pub in_target: bool,
}

/// The scenario's state, by side: what the provisioning service sent and was answered, what the
/// target looked like, and the evidence.
#[derive(Debug, Default)]
pub struct EcmaWorld {
    /// The run's shared context (set by the before hook).
    pub run: Option<Arc<RunContext>>,
    /// `<run id>-<scenario number>`.
    pub suffix: String,
    /// The provisioning service's side.
    pub scim: ScimSide,
    /// The target's side.
    pub target: TargetSide,
    /// What is kept for the report.
    pub evidence: Evidence,
    /// What the last bad-input corpus sent (ECMA-ROBUST-018), for the step that judges it.
    pub corpus: Option<CorpusResult>,
    /// Entra's side: the job's attribute mappings and Entra users (`steps::mappings`).
    pub entra: crate::steps::mappings::EntraSide,
    /// The scenario's turn on the target (set by the before hook, given back by the after hook).
    pub turn: Option<Turn>,
}

/// What sending one class of the bad-input corpus showed.
#[derive(Debug, Default, Clone)]
pub struct CorpusResult {
    /// The class, as the corpus names it.
    pub class: String,
    /// Cases sent.
    pub sent: usize,
    /// Cases the profile has nothing for (a typed attribute it does not create), not sent.
    pub not_sent: usize,
    /// One line per case answered wrongly: `#, name, request: why`.
    pub wrong: Vec<String>,
}

/// What the provisioning service sent and got back.
#[derive(Debug, Default)]
pub struct ScimSide {
    /// The scenario's users, by logical name.
    pub users: IndexMap<String, User>,
    /// The user the last request was about.
    pub subject: Option<String>,
    /// The last exchange.
    pub last: Option<Exchange>,
    /// The target attributes the last create or update carried.
    pub carried: IndexMap<String, Value>,
    /// Values of write-only attributes (passwords) the scenario sent: no answer may show them.
    pub passwords: Vec<String>,
    /// The statuses of the last batch of requests sent at once.
    pub at_once: Vec<Option<u16>>,
    /// For each create of that batch, whether it was answered 409 after a 5xx and sent again,
    /// and Entra's matching query then found the user: the first attempt landed while the
    /// host answered 503 (the steps' `found_after_retry`).
    pub at_once_found: Vec<bool>,
    /// The import hook's answer, when a step asked for an import to judge.
    pub import: Option<ImportAnswer>,
    /// The pages of the last walk through `GET /Users?startIndex=…&count=…`: the `startIndex`
    /// and `count` asked, and the exchange.
    pub pages: Vec<(u64, u64, Exchange)>,
    /// The ids a user had before it was deleted and created again, by logical name.
    pub former_ids: IndexMap<String, Vec<String>>,
    /// The provisioning service has turned to the standby host (`host.standby`): requests
    /// go there from now on.
    pub through_standby: bool,
}

/// What the probe saw.
#[derive(Debug, Default)]
pub struct TargetSide {
    /// The target's state (this scenario's objects) just before the last request.
    pub before: Option<Snapshot>,
    /// The same just before the scenario's first request: the report's "before".
    pub first_before: Option<Snapshot>,
    /// How many writes to this scenario's objects the host had made before the last request,
    /// by the controlled target's own log (where the target keeps one).
    pub writes_before: Option<usize>,
    /// Scripts that put the target back as the run had it (a read procedure a scenario
    /// replaced), run after the scenario whatever its outcome.
    pub restore: Vec<String>,
    /// The scenario made the target slow to answer the host ("the target takes N seconds to
    /// answer …") and has not said it is back: its requests wait without a slot.
    pub slowed: bool,
}

/// The scenario's evidence.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Every exchange, in order.
    pub exchanges: Vec<Exchange>,
    /// SHOULD- and MAY-level checks that did not hold: the level and `<requirement>: <what>`.
    pub warnings: Vec<(Level, String)>,
}

impl cucumber::World for EcmaWorld {
    type Error = std::convert::Infallible;

    async fn new() -> Result<Self, Self::Error> {
        Ok(EcmaWorld::default())
    }
}

impl EcmaWorld {
    /// Binds the world to the run and gives the scenario its number.
    pub fn begin(&mut self, run: Arc<RunContext>) {
        let n = run.scenarios.fetch_add(1, Ordering::Relaxed);
        self.suffix = format!("{}-{n}", run.run_id);
        self.run = Some(run);
    }

    /// What the DNs of this scenario's objects, and only theirs, contain: the suffix with the
    /// comma after it. Names end in the suffix (`cn=down-r1a2b3-9,ou=…`), so the comma keeps out
    /// scenario 93's, whose suffix starts the same. Faults aimed at this scenario's objects carry
    /// it, and "the directory is back" ends those only.
    pub fn fault_scope(&self) -> String {
        format!("{},", self.suffix)
    }

    /// The run context.
    pub fn run(&self) -> Result<Arc<RunContext>, Failure> {
        self.run
            .clone()
            .ok_or_else(|| Failure::new("the scenario is not bound to a run"))
    }

    /// The profile's logical attribute.
    pub fn logical(&self, logical: &str) -> Result<LogicalAttribute, Failure> {
        let run = self.run()?;
        run.profile.attribute(logical).cloned().ok_or_else(|| {
            Failure::new(format!(
                "profile {} has no logical attribute {logical:?}",
                run.profile.name
            ))
        })
    }

    /// The user called `logical` in the feature, made up on first mention.
    pub fn user(&mut self, logical: &str) -> Result<&mut User, Failure> {
        if !self.scim.users.contains_key(logical) {
            let run = self.run()?;
            let name = format!("{logical}-{}", self.suffix);
            let number = run.numbers.fetch_add(1, Ordering::Relaxed);
            let dn = dn_of(&run.profile, &name, &run.container);
            self.scim.users.insert(
                logical.to_owned(),
                User {
                    logical: logical.to_owned(),
                    name,
                    number,
                    dn,
                    id: None,
                    created: None,
                    values: IndexMap::new(),
                    original: IndexMap::new(),
                    target_ids: Vec::new(),
                    in_target: false,
                },
            );
        }
        self.scim
            .users
            .get_mut(logical)
            .ok_or_else(|| Failure::new(format!("no user {logical}")))
    }

    /// The user's id, once the host returned one.
    pub fn id_of(&mut self, logical: &str) -> Result<String, Failure> {
        let user = self.user(logical)?;
        user.id.clone().ok_or_else(|| {
            Failure::new(format!(
                "user {logical:?} has no id: the host never created it"
            ))
        })
    }

    /// A template with `{name}`, `{number}` and `{uuid}` (a UUID made of the number, unique in
    /// the run) filled in for `user`.
    pub fn expand(template: &str, user: &User) -> String {
        expand_template(template, &user.name, user.number)
    }

    /// A value from a scenario's table as it is sent: `{x×300}` written out (300 `x`),
    /// `{suffix}` replaced by this scenario's suffix, and a `unique` attribute's value given
    /// the suffix. A value only this scenario's objects may carry (`Lit*eral-{suffix}`, which
    /// one match must find once) needs `{suffix}`: a user another scenario (its twin in the
    /// other dialect included) made and the run's cleanup deleted behind the host stays in the
    /// host's connector space until its next import.
    pub fn uniquify(&self, attribute: &LogicalAttribute, value: &str) -> String {
        let value = &repeat(value).replace("{suffix}", &self.suffix);
        // An empty value stays empty: it is what a scenario about empty values sends.
        if !attribute.unique || value.is_empty() {
            return value.to_owned();
        }
        match value.split_once('@') {
            Some((local, domain)) => format!("{local}.{}@{domain}", self.suffix),
            None => format!("{value}-{}", self.suffix),
        }
    }

    /// A value in the JSON type the host declares for the attribute.
    pub fn typed(attribute: &LogicalAttribute, text: &str) -> Value {
        match attribute.kind {
            AttrType::Integer => text
                .parse::<i64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            AttrType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(text.to_owned()),
            },
            _ => Value::String(text.to_owned()),
        }
    }

    /// The target attributes a create of `logical` carries: `-dn-`, `objectClass`, every
    /// attribute with a `create` value, and `overrides` (logical name → value) on top.
    pub fn create_attributes(
        &mut self,
        logical: &str,
        overrides: &[(String, String)],
    ) -> Result<IndexMap<String, Value>, Failure> {
        let run = self.run()?;
        let mut resolved = Vec::new();
        for (name, value) in overrides {
            let attribute = self.logical(name)?;
            let value = self.uniquify(&attribute, value);
            resolved.push((attribute, value));
        }
        let user = self.user(logical)?.clone();
        let mut attrs = create_attributes(&run.profile, &user.name, &user.dn, user.number);
        for (attribute, value) in resolved {
            attrs.insert(attribute.target.clone(), Self::typed(&attribute, &value));
        }
        Ok(attrs)
    }

    /// The naming attributes whose values carry the scenario's suffix: the profile's, and
    /// `ou` for containers scenarios make.
    pub fn namings(&self) -> Result<Vec<String>, Failure> {
        let run = self.run()?;
        Ok(vec![
            run.profile.naming_attribute().to_owned(),
            "ou".to_owned(),
        ])
    }

    /// This scenario's objects in the target: every object named `…-<suffix>`.
    pub async fn snapshot(&self) -> Result<Snapshot, Failure> {
        let run = self.run()?;
        let suffix = format!("-{}", self.suffix);
        Ok(run
            .probe
            .snapshot(&self.namings()?, Match::EndsWith(&suffix))
            .await?)
    }

    /// Sends a request: records the target's state first and the exchange after, and applies
    /// the checks every answer gets (a SCIM Error body for errors, MUST; the SCIM media type,
    /// SHOULD).
    pub async fn send(&mut self, request: Request, auth: Auth) -> Result<Exchange, Failure> {
        let service = self.service()?;
        self.send_via(&service, request, auth).await
    }

    /// The host requests go to: the configured one, or the standby once the scenario has
    /// turned to it.
    pub fn service(&self) -> Result<ProvisioningService, Failure> {
        let run = self.run()?;
        if self.scim.through_standby {
            let standby = run
                .standby
                .as_ref()
                .ok_or_else(|| Failure::new("the run has no standby host (host.standby)"))?;
            return Ok(standby.service.clone());
        }
        Ok(run.service.clone())
    }

    /// [`send`](Self::send) through another client of the same host (another connector name).
    pub async fn send_via(
        &mut self,
        service: &ProvisioningService,
        request: Request,
        auth: Auth,
    ) -> Result<Exchange, Failure> {
        self.send_checked(service, request, auth, false).await
    }

    /// [`send`](Self::send) for a body larger than a host should take, through
    /// [`ProvisioningService::send_large`].
    pub async fn send_large(&mut self, request: Request, auth: Auth) -> Result<Exchange, Failure> {
        let service = self.service()?;
        self.send_checked(&service, request, auth, true).await
    }

    async fn send_checked(
        &mut self,
        service: &ProvisioningService,
        request: Request,
        auth: Auth,
        large: bool,
    ) -> Result<Exchange, Failure> {
        let run = self.run()?;
        let before = self.snapshot().await?;
        if self.target.first_before.is_none() {
            self.target.first_before = Some(before.clone());
        }
        self.target.before = Some(before);
        self.target.writes_before = run
            .faults
            .as_ref()
            .and_then(|t| t.host_writes(&self.fault_scope()))
            .map(|w| w.len());
        self.remember_passwords(&request);
        // A request to a host whose target this scenario slowed on purpose waits without a
        // slot; so does every request while the target is slow.
        if self.target.slowed {
            self.lend_slot();
        }
        // The checks read the answer as it came; the evidence keeps a copy with every secret
        // redacted (messages are redacted when the report is made).
        let exchange = if large {
            service.send_large(&request, &auth).await
        } else {
            service.send(&request, &auth).await
        };
        // After the request, not before, and not while the target is slow: a queue for a slot
        // between the steps a scenario times (a 5xx, the polling steps' wait for the host to
        // catch up, the request that judges it) would give the host more time than the
        // scenario says. The polling steps lend theirs and leave it to this.
        if !self.target.slowed {
            self.retake_slot().await;
        }
        let mut evidence = exchange.clone();
        let leaked = checks::redact_secrets(&mut evidence, &run.secrets);
        evidence.cut_bodies(reports::BODY_LIMIT);
        self.scim.last = Some(exchange.clone());
        self.evidence.exchanges.push(evidence);
        self.check(leaked)?;
        self.check(checks::latency(&exchange))?;
        self.check(checks::media_type(&exchange))?;
        self.check(checks::scim_error_body(&exchange))?;
        // No answer, of any kind, shows a password (ECMA-READ-004).
        if let Some(body) = checks::json(&exchange) {
            self.check(checks::no_password(
                &body,
                &run.profile.write_only_targets(),
            ))?;
        }
        self.check(checks::no_password_value(&exchange, &self.scim.passwords))?;
        Ok(exchange)
    }

    /// Keeps the values of write-only attributes (passwords) a request carries, so that every
    /// later answer can be searched for them.
    fn remember_passwords(&mut self, request: &Request) {
        let Some(crate::provisioning::Body::Json(body)) = &request.body else {
            return;
        };
        let Some(run) = &self.run else { return };
        let write_only = run.profile.write_only_targets();
        let mut found = Vec::new();
        let mut collect = |name: &str, value: &Value| {
            let bare = name.rsplit(':').next().unwrap_or(name);
            if write_only.iter().any(|w| w.eq_ignore_ascii_case(bare))
                && let Some(v) = value.as_str()
                && v.chars().count() >= 4
            {
                found.push(v.to_owned());
            }
        };
        if let Some(ext) = body[scim_proto::urn::ECMA2HOST_USER].as_object() {
            for (k, v) in ext {
                collect(k, v);
            }
        }
        for op in body["Operations"].as_array().into_iter().flatten() {
            match (op["path"].as_str(), op["value"].as_object()) {
                (Some(path), _) => collect(path, &op["value"]),
                (None, Some(values)) => {
                    for (k, v) in values {
                        collect(k, v);
                    }
                }
                _ => {}
            }
        }
        for v in found {
            if !self.scim.passwords.contains(&v) {
                self.scim.passwords.push(v);
            }
        }
    }

    /// Records a check by its requirement's level in the catalogue: a failed MUST fails the
    /// step, a failed SHOULD or MAY becomes a warning and the step goes on. A requirement the
    /// catalogue does not hold weighs as a MUST (a unit test keeps that from happening).
    pub fn check<T>(&mut self, result: Result<T, CheckFailure>) -> Result<Option<T>, Failure> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(f) => {
                let level = self
                    .run
                    .as_ref()
                    .and_then(|r| r.levels.get(f.requirement).copied())
                    .unwrap_or(Level::Must);
                if level == Level::Must {
                    return Err(f.into());
                }
                let w = (level, format!("{}: {}", f.requirement, f.message));
                if !self.evidence.warnings.contains(&w) {
                    self.evidence.warnings.push(w);
                }
                Ok(None)
            }
        }
    }

    /// The last exchange.
    pub fn last(&self) -> Result<&Exchange, Failure> {
        self.scim
            .last
            .as_ref()
            .ok_or_else(|| Failure::new("no request has been sent yet"))
    }

    /// Creates a user through the host; records the id on 201.
    pub async fn create(
        &mut self,
        logical: &str,
        attrs: IndexMap<String, Value>,
    ) -> Result<Exchange, Failure> {
        self.scim.subject = Some(logical.to_owned());
        self.scim.carried = attrs.clone();
        let x = self.send(entra::create(&attrs), Auth::Token).await?;
        self.record_created(logical, &x, attrs).await?;
        Ok(x)
    }

    /// After a create of `logical` with `attrs`: on 201, the id and resource the host returned,
    /// the values sent, and the target's own identifiers. On any other answer, the values sent
    /// when the user has none yet, so that a retry's matching query asks for what Entra holds
    /// (a create whose outcome the host could not know may have been made all the same).
    pub async fn record_created(
        &mut self,
        logical: &str,
        x: &Exchange,
        attrs: IndexMap<String, Value>,
    ) -> StepResult {
        if x.status == Some(201) {
            return self.record_found(logical, checks::json(x), attrs).await;
        }
        let user = self.user(logical)?;
        if user.values.is_empty() {
            user.values = attrs;
        }
        Ok(())
    }

    /// Records `resource` (a User: a 201's body, or what Entra's matching query found for a
    /// create it sent again) as user `logical`'s, created with `attrs`, and reads the user's
    /// target identifiers.
    pub async fn record_found(
        &mut self,
        logical: &str,
        resource: Option<Value>,
        attrs: IndexMap<String, Value>,
    ) -> StepResult {
        let user = self.user(logical)?;
        user.id = resource
            .as_ref()
            .and_then(|b| b["id"].as_str())
            .map(str::to_owned);
        user.created = resource;
        user.values = attrs.clone();
        user.original = attrs;
        self.remember_target_ids(logical).await
    }

    /// Reads the user's target identifiers (`entryUUID`, `objectGUID`) where it is now.
    pub async fn remember_target_ids(&mut self, logical: &str) -> StepResult {
        if let Some(e) = self.target_entry(logical).await? {
            let user = self.user(logical)?;
            user.target_ids = Probe::target_ids(&e);
            user.in_target = true;
        }
        Ok(())
    }

    /// Creates a user and insists on 201 with an id (for `Given` steps).
    pub async fn created(&mut self, logical: &str, overrides: &[(String, String)]) -> StepResult {
        let attrs = self.create_attributes(logical, overrides)?;
        let x = self.create(logical, attrs).await?;
        checks::status(&x, &[201], "ECMA-CREATE-001")?;
        checks::created_id(&x)?;
        Ok(())
    }

    /// The entry the user should be at, read directly.
    pub async fn target_entry(&mut self, logical: &str) -> Result<Option<Entry>, Failure> {
        let dn = self.user(logical)?.dn.clone();
        Ok(self.run()?.probe.entry(&dn).await?)
    }

    /// Triggers the host's import hook.
    pub async fn trigger_import(&mut self) -> StepResult {
        // The run's own hook, not a requirement of the host: a failure is plain.
        match self.import_hook().await? {
            ImportAnswer::Http(x) if matches!(x.status, Some(200 | 202 | 204)) => Ok(()),
            ImportAnswer::Http(x) => Err(Failure::new(format!(
                "the import hook (host.import): expected 200, 202 or 204, got {}",
                checks::got(&x)
            ))),
            ImportAnswer::Command { status, .. } if status.success() => Ok(()),
            ImportAnswer::Command { program, status } => Err(Failure::new(format!(
                "the import hook {program} exited with {status}"
            ))),
            ImportAnswer::Waited => Ok(()),
        }
    }

    /// Calls the import hook and returns its answer, whatever it is; the HTTP exchange goes to
    /// the evidence, secrets redacted.
    pub async fn import_hook(&mut self) -> Result<ImportAnswer, Failure> {
        let run = self.run()?;
        if self.turn.as_ref().is_some_and(|t| t.quiet.is_some()) {
            return Err(Failure::new(
                "a scenario tagged @no-import-beside cannot call the import hook itself",
            ));
        }
        // No scenario that wants no import beside it runs while the hook does. The wait
        // and the call hold no slot: they may last while a quiet scenario's slowed target
        // answers, and the call's work is the host's.
        self.lend_slot();
        let asked = Instant::now();
        let import = run.turns.import().await;
        tracing::debug!(
            waited_ms = asked.elapsed().as_millis() as u64,
            "the import hook's turn"
        );
        let answer = self.call_hook(run.import.as_ref(), "host.import").await;
        drop(import);
        self.retake_slot().await;
        answer
    }

    /// [`Turn::lend_slot`] for the scenario's turn (none outside a run's hooks).
    pub fn lend_slot(&mut self) {
        if let Some(turn) = &mut self.turn {
            turn.lend_slot();
        }
    }

    /// [`Turn::retake_slot`] for the scenario's turn.
    pub async fn retake_slot(&mut self) {
        if let Some(turn) = &mut self.turn {
            turn.retake_slot().await;
        }
    }

    /// Calls the standby's import hook (`host.standby.import`), on the standby, and insists on
    /// success (2xx, exit 0, or the wait).
    pub async fn standby_import(&mut self) -> StepResult {
        let run = self.run()?;
        let standby = run
            .standby
            .clone()
            .ok_or_else(|| Failure::new("the run has no standby host (host.standby)"))?;
        let turned = std::mem::replace(&mut self.scim.through_standby, true);
        let answer = self
            .call_hook(Some(&standby.import), "host.standby.import")
            .await;
        self.scim.through_standby = turned;
        match answer? {
            ImportAnswer::Http(x) if x.status.is_some_and(|s| (200..300).contains(&s)) => Ok(()),
            ImportAnswer::Http(x) => Err(Failure::new(format!(
                "the standby's import hook (host.standby.import): expected a 2xx, got {}",
                checks::got(&x)
            ))),
            ImportAnswer::Command { status, .. } if status.success() => Ok(()),
            ImportAnswer::Command { program, status } => Err(Failure::new(format!(
                "the standby's import hook {program} exited with {status}"
            ))),
            ImportAnswer::Waited => Ok(()),
        }
    }

    /// Calls the restart hook (`host.restart`) and waits, up to `host.ready_timeout_seconds`,
    /// until the host answers HTTP again — any status: its first import may still be running.
    /// The hook must not return while the old instance still answers. The hook's own failure
    /// and a host that stays silent are plain failures (the run's, not a requirement's).
    pub async fn restart_host(&mut self) -> StepResult {
        let run = self.run()?;
        match self.call_hook(run.restart.as_ref(), "host.restart").await? {
            ImportAnswer::Http(x) if matches!(x.status, Some(200 | 202 | 204)) => {}
            ImportAnswer::Http(x) => {
                return Err(Failure::new(format!(
                    "the restart hook (host.restart): expected 200, 202 or 204, got {}",
                    checks::got(&x)
                )));
            }
            ImportAnswer::Command { status, .. } if status.success() => {}
            ImportAnswer::Command { program, status } => {
                return Err(Failure::new(format!(
                    "the restart hook {program} exited with {status}"
                )));
            }
            ImportAnswer::Waited => {
                return Err(Failure::new(
                    "host.restart cannot be wait_seconds: it needs a command or a request",
                ));
            }
        }
        let (x, answered) = self.poll_test_connection(|x| x.status.is_some()).await?;
        if answered {
            return Ok(());
        }
        Err(Failure::new(format!(
            "the host did not answer within {} s of its restart (host.ready_timeout_seconds): {}",
            run.ready_timeout.as_secs(),
            checks::got(&x)
        )))
    }

    /// Waits, up to `host.ready_timeout_seconds`, for Test Connection to answer 200 (a
    /// restarted host has imported its target); whatever else it answers meanwhile (503 while
    /// importing, or another status while a connector loads) is waited out. The last answer
    /// goes to the evidence.
    pub async fn wait_until_started(&mut self) -> StepResult {
        let run = self.run()?;
        let (x, ready) = self.poll_test_connection(|x| x.status == Some(200)).await?;
        let mut evidence = x.clone();
        let _ = checks::redact_secrets(&mut evidence, &run.secrets);
        self.evidence.exchanges.push(evidence);
        if ready {
            return Ok(());
        }
        Err(Failure::new(format!(
            "Test Connection after the restart: expected 200, got {} (still, {} s after the \
             restart; host.ready_timeout_seconds)",
            checks::got(&x),
            run.ready_timeout.as_secs()
        )))
    }

    /// Sends Test Connection every 200 ms until an answer is `done` or
    /// `host.ready_timeout_seconds` have passed; the last exchange, and whether it was done.
    async fn poll_test_connection(
        &self,
        done: impl Fn(&Exchange) -> bool,
    ) -> Result<(Exchange, bool), Failure> {
        let run = self.run()?;
        let matching = self.logical(&run.profile.matching_attribute)?;
        let request = entra::test_connection(&matching.target);
        let deadline = Instant::now() + run.ready_timeout;
        loop {
            let x = run.service.send(&request, &Auth::Token).await;
            if done(&x) {
                return Ok((x, true));
            }
            if Instant::now() >= deadline {
                return Ok((x, false));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Calls a hook (`key` names it in messages) and returns its answer, whatever it is; the
    /// HTTP exchange goes to the evidence, secrets redacted.
    async fn call_hook(
        &mut self,
        hook: Option<&ImportHook>,
        key: &str,
    ) -> Result<ImportAnswer, Failure> {
        let run = self.run()?;
        let hook =
            hook.ok_or_else(|| Failure::new(format!("the configuration has no {key} hook")))?;
        let answer = call_hook(&self.service()?, hook, key, None)
            .await
            .map_err(Failure::new)?;
        if let ImportAnswer::Http(x) = &answer {
            let mut evidence = x.clone();
            let _ = checks::redact_secrets(&mut evidence, &run.secrets);
            self.evidence.exchanges.push(evidence);
        }
        Ok(answer)
    }
}

/// Calls `hook` (`key` names it in messages) through `service` and returns its answer,
/// whatever it is. `limit` bounds an HTTP hook (default: the client's request timeout) and a
/// command (default: [`HOOK_TIMEOUT`]); `Err` when a command cannot run or outlasts it.
pub async fn call_hook(
    service: &ProvisioningService,
    hook: &ImportHook,
    key: &str,
    limit: Option<Duration>,
) -> Result<ImportAnswer, String> {
    match hook {
        ImportHook::Http { method, path } => {
            let method: &'static str = match method.to_ascii_uppercase().as_str() {
                "GET" => "GET",
                "PUT" => "PUT",
                _ => "POST",
            };
            let request = Request {
                method,
                path: path.clone(),
                body: None,
            };
            Ok(ImportAnswer::Http(
                service.send_within(&request, &Auth::Token, limit).await,
            ))
        }
        ImportHook::Wait { wait_seconds } => {
            tokio::time::sleep(Duration::from_secs(*wait_seconds)).await;
            Ok(ImportAnswer::Waited)
        }
        ImportHook::Command { command } => {
            let (program, args) = command
                .split_first()
                .ok_or_else(|| format!("{key}.command is empty"))?;
            let child = tokio::process::Command::new(program)
                .args(args)
                .kill_on_drop(true)
                .status();
            let limit = limit.unwrap_or(HOOK_TIMEOUT);
            let status = tokio::time::timeout(limit, child)
                .await
                .map_err(|_| {
                    format!(
                        "the {key} hook {program} did not end within {} s; it was stopped",
                        limit.as_secs()
                    )
                })?
                .map_err(|e| format!("cannot run the {key} hook {program}: {e}"))?;
            Ok(ImportAnswer::Command {
                program: program.clone(),
                status,
            })
        }
    }
}

/// How long an import or restart command may run before it is stopped.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(600);

/// What the import hook answered.
#[derive(Debug)]
pub enum ImportAnswer {
    /// An HTTP hook's exchange.
    Http(Exchange),
    /// The wait of `{ wait_seconds = N }`: nothing answered.
    Waited,
    /// A command hook's exit.
    Command {
        /// The command.
        program: String,
        /// How it ended.
        status: std::process::ExitStatus,
    },
}

/// `text` with every `{c×n}` written out as `n` times the character `c`, and every `{U+301}`
/// as that code point: how a feature says "a value of 300 characters" or "a combining acute
/// accent" and still shows what is sent.
pub fn repeat(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if let Some((hex, tail)) = after
            .strip_prefix("U+")
            .and_then(|h| h.split_once('}'))
            .filter(|(h, _)| !h.is_empty() && h.len() <= 6)
            && let Some(c) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
        {
            out.push(c);
            rest = tail;
            continue;
        }
        let mut chars = after.chars();
        let parsed = chars.next().and_then(|c| {
            let tail = chars.as_str().strip_prefix('×')?;
            let close = tail.find('}')?;
            let n: usize = tail[..close].parse().ok()?;
            Some((c, n, &tail[close + 1..]))
        });
        match parsed {
            Some((c, n, tail)) if n <= 100_000 => {
                out.extend(std::iter::repeat_n(c, n));
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Compares a target value (LDAP text) with what was sent.
pub fn same(sent: &Value, stored: &[String]) -> bool {
    let expected: Vec<String> = match sent {
        Value::Array(items) => items.iter().map(text).collect(),
        v => vec![text(v)],
    };
    let mut a = expected.clone();
    let mut b = stored.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// A JSON scalar as LDAP writes it.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        v => v.to_string(),
    }
}

/// The DN the provisioning service gives the user called `name`: the profile's template
/// filled in, the name escaped as an RDN value (RFC 4514).
pub fn dn_of(profile: &Profile, name: &str, container: &str) -> String {
    profile
        .dn_template()
        .replace("{name}", &scim_proto::dn::escape_value(name))
        .replace("{container}", container)
}

/// The target attributes a create of the user called `name` at `dn` carries: `-dn-` and
/// `objectClass` (LDAP), the naming attribute, and every attribute with a `create` template.
pub fn create_attributes(
    profile: &Profile,
    name: &str,
    dn: &str,
    number: u64,
) -> IndexMap<String, Value> {
    let mut attrs = IndexMap::new();
    if let Some(ldap) = &profile.ldap {
        attrs.insert("-dn-".to_owned(), Value::String(dn.to_owned()));
        // Entra sends objectClass only when it is mapped (AD LDS does not need it).
        if !ldap.object_classes.is_empty() {
            attrs.insert(
                "objectClass".to_owned(),
                Value::from(ldap.object_classes.clone()),
            );
        }
    }
    if let Some(naming) = profile.attribute("name") {
        attrs.insert(naming.target.clone(), Value::String(name.to_owned()));
    }
    for attribute in profile.attributes.values() {
        if let Some(template) = &attribute.create {
            attrs.insert(
                attribute.target.clone(),
                EcmaWorld::typed(attribute, &expand_template(template, name, number)),
            );
        }
    }
    attrs
}

/// A profile's value template with `{name}`, `{number}` and `{uuid}` (a UUID made of the
/// number) filled in.
pub fn expand_template(template: &str, name: &str, number: u64) -> String {
    template
        .replace("{name}", name)
        .replace("{number}", &number.to_string())
        .replace("{uuid}", &format!("00000000-0000-4000-8000-{number:012}"))
}

/// Compares a value the host returned with what was sent: numbers and numeric strings alike,
/// single values and one-element arrays alike.
pub fn same_json(sent: &Value, returned: &Value) -> bool {
    fn flat(v: &Value) -> Vec<String> {
        match v {
            Value::Array(items) => items.iter().flat_map(flat).collect(),
            Value::Null => Vec::new(),
            v => vec![text(v)],
        }
    }
    let (mut a, mut b) = (flat(sent), flat(returned));
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Turns;

    #[tokio::test]
    async fn a_serial_scenario_waits_for_every_dialect_and_holds_back_both() {
        let turns = Turns::new(8);
        let wait = Duration::from_millis(50);
        let shared = turns.take(false, false).await;
        let beside = turns.take(false, false).await;
        assert!(
            tokio::time::timeout(wait, turns.take(true, false))
                .await
                .is_err()
        );
        drop((shared, beside));
        let alone = turns.take(true, false).await;
        assert!(
            tokio::time::timeout(wait, turns.take(false, false))
                .await
                .is_err()
        );
        drop(alone);
        assert!(
            tokio::time::timeout(wait, turns.take(false, false))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn an_import_waits_for_the_quiet_scenarios_and_holds_them_back() {
        let turns = Turns::new(8);
        let wait = Duration::from_millis(50);
        let quiet = turns.take(false, true).await;
        let other = turns.take(false, false).await;
        assert!(tokio::time::timeout(wait, turns.import()).await.is_err());
        drop(quiet);
        let import = turns.import().await;
        assert!(
            tokio::time::timeout(wait, turns.take(false, true))
                .await
                .is_err()
        );
        // A scenario without the tag is not held back by an import.
        assert!(
            tokio::time::timeout(wait, turns.take(false, false))
                .await
                .is_ok()
        );
        // Imports run beside each other.
        let second = tokio::time::timeout(wait, turns.import()).await;
        assert!(second.is_ok());
        drop((import, second, other));
        let quiet = tokio::time::timeout(wait, turns.take(false, true)).await;
        assert!(quiet.is_ok());
        // A quiet scenario does not wait in line behind an import that waits for another.
        let queued = tokio::spawn({
            let imports = turns.imports.clone();
            async move { super::Apart::enter(&imports, super::Side::Import).await }
        });
        tokio::time::sleep(wait).await;
        assert!(!queued.is_finished());
        let beside = tokio::time::timeout(wait, turns.take(false, true)).await;
        assert!(beside.is_ok());
        drop((quiet, beside));
        assert!(tokio::time::timeout(wait, queued).await.is_ok());
    }

    #[tokio::test]
    async fn a_scenario_that_only_waits_lends_its_slot_and_waits_for_one_after() {
        let turns = Turns::new(1);
        let wait = Duration::from_millis(50);
        let mut waiting = turns.take(false, true).await;
        assert!(
            tokio::time::timeout(wait, turns.take(false, false))
                .await
                .is_err()
        );
        waiting.lend_slot();
        // Its slot is another's while it waits; its quiet side is not given up.
        let other = tokio::time::timeout(wait, turns.take(false, false)).await;
        assert!(other.is_ok());
        assert!(tokio::time::timeout(wait, turns.import()).await.is_err());
        // It takes a slot again only once there is one.
        assert!(
            tokio::time::timeout(wait, waiting.retake_slot())
                .await
                .is_err()
        );
        drop(other);
        assert!(
            tokio::time::timeout(wait, waiting.retake_slot())
                .await
                .is_ok()
        );
        assert!(
            tokio::time::timeout(wait, turns.take(false, false))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_scenario_waiting_behind_a_serial_one_holds_no_slot() {
        let slots = super::Slots::new(2);
        let (one, other) = (
            std::sync::Arc::new(Turns::sharing(&slots)),
            Turns::sharing(&slots),
        );
        let wait = Duration::from_millis(50);
        let alone = one.take(true, false).await;
        // Queued behind the serial scenario of its own target…
        let queued = tokio::spawn({
            let one = one.clone();
            async move { one.take(false, false).await }
        });
        tokio::time::sleep(wait).await;
        assert!(!queued.is_finished());
        // …it leaves the other slot to another target's scenario.
        let beside = tokio::time::timeout(wait, other.take(false, false)).await;
        assert!(beside.is_ok());
        drop((alone, beside));
        assert!(tokio::time::timeout(wait, queued).await.is_ok());
    }

    #[tokio::test]
    async fn the_runs_share_the_scenarios_in_flight() {
        let turns = Turns::new(2);
        let wait = Duration::from_millis(50);
        let (a, b) = (
            turns.take(false, false).await,
            turns.take(false, false).await,
        );
        assert!(
            tokio::time::timeout(wait, turns.take(false, false))
                .await
                .is_err()
        );
        drop(a);
        let c = tokio::time::timeout(wait, turns.take(false, false)).await;
        assert!(c.is_ok());
        drop((b, c));
    }

    #[tokio::test]
    async fn targets_of_their_own_share_one_budget_and_only_their_own_serial_lock() {
        let slots = super::Slots::new(2);
        let (one, other) = (Turns::sharing(&slots), Turns::sharing(&slots));
        let wait = Duration::from_millis(50);
        let alone = one.take(true, false).await;
        // Another target's scenario is not held back by this one's serial scenario…
        let beside = tokio::time::timeout(wait, other.take(false, false)).await;
        assert!(beside.is_ok());
        // …but the budget is spent.
        assert!(
            tokio::time::timeout(wait, other.take(false, false))
                .await
                .is_err()
        );
        drop(alone);
        let next = tokio::time::timeout(wait, one.take(false, false)).await;
        assert!(next.is_ok());
        assert!(
            tokio::time::timeout(wait, other.take(false, false))
                .await
                .is_err()
        );
        drop((beside, next));
    }

    #[test]
    fn repeats_are_written_out_and_other_braces_kept() {
        assert_eq!(super::repeat("ö{x×3}@a"), "öxxx@a");
        assert_eq!(super::repeat("{name} {x×2}{y×0}"), "{name} xx");
        assert_eq!(super::repeat("{x×}{×3}{"), "{x×}{×3}{");
        assert_eq!(super::repeat("Rene{U+301}e"), "Rene\u{301}e");
        assert_eq!(super::repeat("{U+}{U+110000}"), "{U+}{U+110000}");
    }
}
