//! The script connector: the host runs a configured program once per operation, with a JSON
//! request on its standard input and a JSON answer on its standard output. It is the
//! Linux-native analogue of the ECMA PowerShell connector (Microsoft, "PowerShell connector
//! technical reference": the host runs a script per operation — schema, import, export — and
//! the script talks to the target), with a contract any language can keep.
//!
//! # The contract
//!
//! The program (`[connector.script] command`, run without a shell: no interpolation, no
//! globbing) gets one JSON object on standard input, then end of file:
//!
//! | operation | request | answer on standard output |
//! |---|---|---|
//! | schema | `{"operation":"schema"}` | `{"attributes":[{"name":"LastName","type":"string"}, …]}` |
//! | import page | `{"operation":"import","pageSize":500,"cursor":null}` | `{"objects":[OBJECT, …],"cursor":"…" \| null}` |
//! | read one | `{"operation":"read","anchor":"alice"}` | `{"object":OBJECT \| null}` |
//! | export batch | `{"operation":"export","changes":[CHANGE, …]}` | `{"results":[RESULT, …]}`, one per change, in order |
//!
//! - `OBJECT` is `{"anchor":"alice","attributes":{"LastName":"Smith","isSoftDeleted":false}}`;
//!   a value is a JSON string, boolean or integer, an array of them for a multi-valued
//!   attribute; `null` or a missing key is no value. The import's first request has
//!   `"cursor":null`; the program answers the next page's cursor, `null` after the last page.
//! - `CHANGE` is `{"type":"add","anchor":"alice","attributes":{…}}`,
//!   `{"type":"update","anchor":"alice","before":{…},"changes":{"LastName":"Jones","Notes":null}}`
//!   (whole-value replacements; `null` clears; `before` is the object as the host last saw
//!   it, for programs that write whole objects) or `{"type":"delete","anchor":"alice"}`. A
//!   change must be applied whole or not at all.
//! - `RESULT` is `{"object":OBJECT}` (after an add, the object as the target now holds it: the
//!   host takes its picture from there; optional after an update or a delete), `{}`, or
//!   `{"error":{"kind":KIND,"message":"…"}}`.
//! - `KIND` classifies a failure as the host answers it: `alreadyExists` (409 uniqueness),
//!   `noSuchObject` (404), `rejected` (400 invalidValue, with the message), `refused` (the
//!   program's own account was refused; 502) or `unavailable` (503, Entra retries).
//! - **Exit status:** 0 — standard output is the answer; 3 — the whole operation failed and
//!   standard output is `{"error":{"kind":KIND,"message":"…"}}`; anything else, a signal, no
//!   answer in time (the program's process group is then killed: it runs in a group of its
//!   own), more than 64 MiB on standard output, or output that is not the answer's shape —
//!   503, with the status and the program's standard error in the host's log.
//! - **Time:** schema, import and read get `timeout_seconds`. An export that has not answered
//!   within `timeout_seconds` is answered 503 to the client, and the program goes on: it
//!   cannot be told to undo a change it is making, so the host waits for its answer (ten
//!   times `timeout_seconds`, at least 60 s) and the connector space follows what it did
//!   (ECMA-ROBUST-017); only then is it killed.
//! - **Environment:** only `PATH`, `HOME`, `LANG` and `TZ` from the host, plus
//!   `[connector.script] environment` (secrets read like tokens, never put on the command
//!   line); the working directory is the configuration file's. What the program writes to
//!   standard error is captured (the first 64 KiB), every configured secret redacted from it,
//!   and logged, never returned to the client.
//!
//! # Session mode
//!
//! Starting a program per operation costs what its interpreter costs to start (Python: some
//! 20–30 ms), on every create. With `mode = "session"` the host keeps up to `sessions`
//! programs running, as the PowerShell connector keeps its runspace between calls, and talks
//! to each in turn:
//!
//! - The program is started with `ECMA_SCRIPT_SESSION=1` in its environment (besides the
//!   above); it reads requests, one JSON object per line, until end of file, and writes one
//!   answer line per request, in order, flushing each.
//! - The requests and answers are those of the table above. An answer line with a top-level
//!   `"error"` object is the whole operation failing (exit status 3's answer); the program
//!   carries on with the next request.
//! - A session that ends, writes a line that is not JSON, or does not answer in time (as
//!   above) is killed with its process group and the request answered 503; the next request
//!   starts another. Standard error is logged as it comes, secrets redacted.
//! - A program may answer requests of different sessions at once (the host runs several), so
//!   it keeps the target's transactions per request, as in per-operation mode.
//! - A request waits for a free session (a late export keeps its session until it answers)
//!   at most 20 s, and is then answered 503 with nothing written. The time an export waits
//!   for its session does not count against its `timeout_seconds`.
//!
//! The anchor is an attribute given on create (as the Generic SQL connector's anchor column);
//! the DN is autogenerated, `CN=<anchor>,OBJECT=USER`. `examples/connectors/script-sqlite.py`
//! keeps the contract over an SQLite table.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use indexmap::IndexMap;
use scim_proto::schema::AttrType;
use scim_proto::value::Scalar;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

use super::{
    AttrRole, AttributeChange, AttributeDef, Capabilities, Connector, ConnectorError,
    ConnectorSchema, CsEntry, EntryChange, Exported, ImportSession,
};
use crate::config::{ConfigError, Deprovisioning, ScriptConfig, ScriptMode};
use crate::secret::Secret;
use ecma_vocab::sql::autogenerated_dn;

/// The exit status with which a program says the whole operation failed, its error on
/// standard output.
pub const EXIT_OPERATION_FAILED: i32 = 3;

/// The most the host reads of a program's standard output (an import page of many objects).
const MAX_STDOUT: u64 = 64 * 1024 * 1024;

/// How long a request of session mode waits for a free session before it is answered 503
/// with nothing written. With the default `timeout_seconds` (30), a queued export is answered
/// within 50 s, inside Entra's 60.
const SESSION_WAIT: Duration = Duration::from_secs(20);
/// The most the host keeps of a program's standard error.
const MAX_STDERR: u64 = 64 * 1024;

/// Runs the configured program per operation; see the module documentation for the contract.
pub struct ScriptConnector {
    name: String,
    program: PathBuf,
    arguments: Vec<String>,
    working_dir: PathBuf,
    environment: Vec<(String, Secret)>,
    anchor: String,
    page_size: u32,
    timeout: Duration,
    schema: ConnectorSchema,
    /// Session mode's programs; `None` runs the program once per operation.
    sessions: Option<Arc<SessionPool>>,
}

impl std::fmt::Debug for ScriptConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptConnector")
            .field("name", &self.name)
            .field("program", &self.program)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

impl ScriptConnector {
    /// Builds the connector of `[connector.script]`, reading the environment's secrets now.
    /// Runs nothing. Errors: a secret that cannot be read, named by its key.
    pub fn new(
        name: &str,
        config: &ScriptConfig,
        deprovisioning: &Deprovisioning,
        base_dir: &Path,
    ) -> Result<ScriptConnector, ConfigError> {
        let key = |k: &str| format!("connector {name:?}: script.{k}");
        let (program, arguments) = config
            .command
            .split_first()
            .ok_or_else(|| ConfigError::invalid(key("command"), "must name a program"))?;
        // A path with a separator is the configuration file's; a bare name is PATH's.
        let program = if program.contains('/') {
            base_dir.join(program)
        } else {
            PathBuf::from(program)
        };
        let mut environment = Vec::new();
        for (var, source) in &config.environment {
            let secret = source.resolve(base_dir).map_err(|e| {
                ConfigError::invalid(key(&format!("environment.{var}")), e.to_string())
            })?;
            environment.push((var.clone(), secret));
        }
        Ok(ScriptConnector {
            name: name.to_owned(),
            program,
            arguments: arguments.to_vec(),
            working_dir: base_dir.to_owned(),
            environment,
            anchor: config.anchor.clone(),
            page_size: config.page_size,
            timeout: Duration::from_secs(config.timeout_seconds),
            schema: script_schema(config, deprovisioning),
            sessions: (config.mode == ScriptMode::Session).then(|| {
                Arc::new(SessionPool {
                    idle: std::sync::Mutex::new(Vec::new()),
                    permits: tokio::sync::Semaphore::new(config.sessions as usize),
                    size: config.sessions,
                })
            }),
        })
    }

    /// The program's name for messages (its path as configured).
    fn program_name(&self) -> String {
        self.program.display().to_string()
    }

    /// `text` with every configured secret replaced by `***`.
    fn redact(&self, text: &str) -> String {
        redact(text, &self.environment)
    }

    /// The program's error object (exit status 3's, a session's answer line's, or one change's)
    /// as the classified error, its message without the configured secrets; `Unavailable` when
    /// there is none or its kind is unknown.
    fn program_error(&self, error: Option<&Value>) -> ConnectorError {
        error_of(error)
            .unwrap_or_else(|| ConnectorError::Unavailable {
                detail: format!(
                    "the script {}: no error object of a known kind: {}",
                    self.program_name(),
                    error.map_or_else(|| "none".to_owned(), Value::to_string)
                ),
            })
            .redacted(self.environment.iter().map(|(_, s)| s.expose()))
    }

    /// Runs the program once with `request` on its standard input. `Ok` is the parsed answer
    /// of a run that exited 0; exit status 3 gives the program's own error; everything else is
    /// `Unavailable`, logged with the program's (redacted) standard error.
    async fn run(&self, operation: &str, request: &Value) -> Result<Value, ConnectorError> {
        match &self.sessions {
            Some(pool) => self.run_in_session(pool, operation, request).await,
            None => self.run_once(operation, request).await,
        }
    }

    /// How long the program may take over `operation` before it is killed: `timeout` for
    /// what only reads, [`write_bound`](super::write_bound)`(timeout)` for an export, whose
    /// client the host answers 503 after `timeout` while the program goes on
    /// ([`Connector::write_wait`]): a program cannot be told to undo a change it is making,
    /// and one killed after it wrote would leave the connector space behind the target.
    fn limit(&self, operation: &str) -> Duration {
        if operation == "export" {
            super::write_bound(self.timeout)
        } else {
            self.timeout
        }
    }

    /// The program's command: no shell, a clean environment with the configured secrets, the
    /// configuration's directory, piped standard streams, a process group of its own.
    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.arguments)
            .current_dir(&self.working_dir)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own, so a timeout ends what the program started too.
            .process_group(0)
            .kill_on_drop(true);
        for var in ["PATH", "HOME", "LANG", "TZ"] {
            if let Some(v) = std::env::var_os(var) {
                command.env(var, v);
            }
        }
        for (var, secret) in &self.environment {
            command.env(var, secret.expose());
        }
        command
    }

    /// Runs the program once with `request` on its standard input (per-operation mode).
    async fn run_once(&self, operation: &str, request: &Value) -> Result<Value, ConnectorError> {
        let unavailable = |detail: String| ConnectorError::Unavailable { detail };
        let what = format!("the script {} ({operation})", self.program_name());
        let mut command = self.command();
        let mut child = command
            .spawn()
            .map_err(|e| unavailable(format!("{what} could not be started: {e}")))?;
        let group = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).ok()?));
        let input = serde_json::to_vec(request).unwrap_or_default();
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let io = async {
            let write = async {
                if let Some(mut w) = stdin.take() {
                    // A program that exits without reading its input closes the pipe: its
                    // exit status then says what happened.
                    let _ = w.write_all(&input).await;
                    let _ = w.shutdown().await;
                }
            };
            // Both outputs are read to their end, what is over the bounds thrown away, so a
            // talkative program never blocks on a full pipe.
            let read_out = async {
                let mut buf = Vec::new();
                let mut over = false;
                if let Some(mut r) = stdout {
                    let _ = (&mut r).take(MAX_STDOUT).read_to_end(&mut buf).await;
                    over = tokio::io::copy(&mut r, &mut tokio::io::sink())
                        .await
                        .is_ok_and(|n| n > 0);
                }
                (buf, over)
            };
            let read_err = async {
                let mut buf = Vec::new();
                if let Some(mut r) = stderr {
                    let _ = (&mut r).take(MAX_STDERR).read_to_end(&mut buf).await;
                    let _ = tokio::io::copy(&mut r, &mut tokio::io::sink()).await;
                }
                buf
            };
            let ((), out, err) = tokio::join!(write, read_out, read_err);
            let status = child.wait().await;
            (status, out, err)
        };
        let limit = self.limit(operation);
        let (status, (out, out_over), err) = match tokio::time::timeout(limit, io).await {
            Ok(done) => done,
            Err(_) => {
                // The whole group: a shell's children and what they started hold the pipes
                // too. Dropping the future then drops the child, which kill_on_drop reaps.
                if let Some(group) = group {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                tracing::warn!(connector = %self.name, program = %self.program_name(), operation, "the script did not answer in time; killed");
                return Err(unavailable(format!(
                    "{what} did not answer within {} s and was stopped",
                    limit.as_secs()
                )));
            }
        };
        let status =
            status.map_err(|e| unavailable(format!("{what} could not be waited for: {e}")))?;
        let stderr_text = self.redact(&String::from_utf8_lossy(&err));
        if !stderr_text.trim().is_empty() {
            tracing::info!(connector = %self.name, program = %self.program_name(), operation, stderr = %stderr_text.trim_end(), "the script wrote to its standard error");
        }
        let parsed = || -> Result<Value, ConnectorError> {
            if out_over {
                return Err(unavailable(format!(
                    "{what} wrote more than {} MiB on its standard output",
                    MAX_STDOUT >> 20
                )));
            }
            serde_json::from_slice::<Value>(&out).map_err(|e| {
                unavailable(format!(
                    "{what} wrote no JSON answer on its standard output ({e})"
                ))
            })
        };
        match status.code() {
            Some(0) => parsed(),
            Some(EXIT_OPERATION_FAILED) => Err(self.program_error(parsed()?.get("error"))),
            code => {
                tracing::warn!(connector = %self.name, program = %self.program_name(), operation, status = ?code, stderr = %stderr_text.trim_end(), "the script failed");
                Err(unavailable(match code {
                    Some(c) => format!("{what} exited with status {c}"),
                    None => format!("{what} was ended by a signal"),
                }))
            }
        }
    }

    /// Sends `request` to a session (an idle one, or a new one while fewer than `sessions`
    /// run) and reads its answer line. A session that answers in time with a JSON line goes
    /// back to the pool; one that ends, writes something else or does not answer in time is
    /// killed with its process group, and the request answered 503.
    async fn run_in_session(
        &self,
        pool: &SessionPool,
        operation: &str,
        request: &Value,
    ) -> Result<Value, ConnectorError> {
        let unavailable = |detail: String| ConnectorError::Unavailable { detail };
        let what = format!("the script {} ({operation}, session)", self.program_name());
        // A late export holds its session until its program answers (`limit`), so the wait
        // for a session is bounded too; nothing has reached the target while it lasts.
        let bound = SESSION_WAIT;
        if operation == "export" {
            // The host's wait for the export's outcome stands still while it queues.
            super::WriteClock::queue();
        }
        let _turn = match tokio::time::timeout(bound, pool.permits.acquire()).await {
            Ok(turn) => turn.map_err(|e| unavailable(format!("{what}: {e}")))?,
            Err(_) => {
                return Err(unavailable(format!(
                    "{what}: every one of its {} sessions was busy for {} s",
                    pool.size,
                    bound.as_secs()
                )));
            }
        };
        if operation == "export" {
            // The host's wait for the export's outcome runs on now that it has a session.
            super::WriteClock::restart();
        }
        // The lock only takes a session out; the exchange below holds none.
        let mut session = loop {
            let idle = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            match idle {
                // A session that ended, or wrote something nobody asked for, while it waited
                // is not used: its next line would not answer this request.
                Some(mut session) => {
                    if session.usable() {
                        break session;
                    }
                }
                None => break self.start_session(&what)?,
            }
        };
        let mut line = serde_json::to_vec(request).unwrap_or_default();
        line.push(b'\n');
        let exchange = async {
            session.stdin.write_all(&line).await?;
            session.stdin.flush().await?;
            let mut answer = Vec::new();
            (&mut session.stdout)
                .take(MAX_STDOUT)
                .read_until(b'\n', &mut answer)
                .await?;
            Ok::<_, std::io::Error>(answer)
        };
        let limit = self.limit(operation);
        let answer = match tokio::time::timeout(limit, exchange).await {
            Err(_) => {
                tracing::warn!(connector = %self.name, program = %self.program_name(), operation, "the script's session did not answer in time; killed");
                return Err(unavailable(format!(
                    "{what} did not answer within {} s and was stopped",
                    limit.as_secs()
                )));
            }
            Ok(Err(e)) => {
                return Err(unavailable(format!("{what}: the session broke off ({e})")));
            }
            Ok(Ok(answer)) if answer.is_empty() => {
                let status = session.child.try_wait().ok().flatten();
                tracing::warn!(connector = %self.name, program = %self.program_name(), operation, status = ?status, "the script's session ended");
                return Err(unavailable(format!(
                    "{what} ended its session without answering{}",
                    status
                        .and_then(|s| s.code())
                        .map(|c| format!(" (status {c})"))
                        .unwrap_or_default()
                )));
            }
            Ok(Ok(answer)) if !answer.ends_with(b"\n") => {
                return Err(unavailable(if answer.len() as u64 >= MAX_STDOUT {
                    format!(
                        "{what} wrote more than {} MiB without ending its answer line",
                        MAX_STDOUT >> 20
                    )
                } else {
                    format!("{what} ended its session in the middle of an answer line")
                }));
            }
            Ok(Ok(answer)) => answer,
        };
        let parsed = serde_json::from_slice::<Value>(&answer)
            .map_err(|e| unavailable(format!("{what} answered a line that is not JSON ({e})")))?;
        // A good answer: the session serves the next request, unless it already wrote more
        // than this answer (which would answer the next request).
        if session.stdout.buffer().is_empty()
            && let Ok(mut idle) = pool.idle.lock()
        {
            idle.push(session);
        }
        match parsed.get("error").filter(|e| !e.is_null()) {
            // The whole operation failed: exit status 3's error object, on the answer line.
            Some(error) => Err(self.program_error(Some(error))),
            None => Ok(parsed),
        }
    }

    /// Starts a session: the program with `ECMA_SCRIPT_SESSION=1`, its standard error logged
    /// (redacted) as it comes.
    fn start_session(&self, what: &str) -> Result<Session, ConnectorError> {
        let mut command = self.command();
        command.env("ECMA_SCRIPT_SESSION", "1");
        let mut child = command.spawn().map_err(|e| ConnectorError::Unavailable {
            detail: format!("{what} could not be started: {e}"),
        })?;
        let group = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).ok()?));
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ConnectorError::Unavailable {
                detail: format!("{what}: the program's standard streams are not piped"),
            });
        };
        // The task holds only what it logs with: not the pool, so the program's end (its
        // session dropped) ends the task too.
        let connector = self.name.clone();
        let program = self.program_name();
        let environment = self.environment.clone();
        tokio::spawn(async move {
            let mut stderr = tokio::io::BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                // Whole lines (a long one in pieces of MAX_STDERR), so a secret is redacted
                // whole, and a character split between two reads is whole again.
                match (&mut stderr)
                    .take(MAX_STDERR)
                    .read_until(b'\n', &mut line)
                    .await
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = redact(&String::from_utf8_lossy(&line), &environment);
                        tracing::info!(connector = %connector, program = %program, stderr = %text.trim_end(), "the script wrote to its standard error");
                    }
                }
            }
        });
        Ok(Session {
            child,
            stdin,
            stdout: tokio::io::BufReader::new(stdout),
            group,
        })
    }

    /// An object of the program's answer as a connector-space entry.
    fn entry(&self, object: &Value) -> Result<CsEntry, ConnectorError> {
        let bad = |why: String| ConnectorError::Unavailable {
            detail: format!("the script {}: {why}", self.program_name()),
        };
        let anchor = object
            .get("anchor")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad("an object without a non-empty \"anchor\" string".into()))?
            .to_owned();
        let mut attributes = IndexMap::new();
        let given = object.get("attributes").and_then(Value::as_object);
        for def in &self.schema.attributes {
            let value = given.and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&def.name))
                    .map(|(_, v)| v)
            });
            let values = match value {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| super::scalar_from_json(v, def.kind))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        bad(format!(
                            "{}: a value is not a {}",
                            def.name,
                            def.kind.noun()
                        ))
                    })?,
                Some(v) => vec![super::scalar_from_json(v, def.kind).ok_or_else(|| {
                    bad(format!(
                        "{}: the value {v} is not a {}",
                        def.name,
                        def.kind.noun()
                    ))
                })?],
            };
            if !values.is_empty() {
                attributes.insert(def.name.clone(), values);
            }
        }
        // The anchor attribute holds the anchor, whatever the program put there.
        if let Some(def) = self.schema.get(&self.anchor) {
            attributes.insert(def.name.clone(), vec![Scalar::String(anchor.clone())]);
        }
        Ok(CsEntry {
            dn: autogenerated_dn(&anchor),
            anchor,
            attributes,
        })
    }

    /// `attributes` as the contract's JSON map: single values bare, multi-valued as arrays,
    /// no values as `null`.
    fn values_json<'a>(
        &self,
        attributes: impl Iterator<Item = (&'a String, &'a Vec<Scalar>)>,
    ) -> Value {
        let mut map = Map::new();
        for (name, values) in attributes {
            let multi = self.schema.get(name).is_some_and(|d| d.multi_valued);
            let v = match (values.as_slice(), multi) {
                ([], _) => Value::Null,
                ([one], false) => one.to_json(),
                (many, _) => Value::Array(many.iter().map(Scalar::to_json).collect()),
            };
            map.insert(name.clone(), v);
        }
        Value::Object(map)
    }

    fn change_json(&self, change: &EntryChange) -> Result<Value, ConnectorError> {
        let anchor_of = |attributes: &[AttributeChange]| {
            attributes
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&self.anchor))
                .and_then(|a| a.values.first())
                .and_then(|v| match v {
                    Scalar::String(s) if !s.is_empty() => Some(s.clone()),
                    _ => None,
                })
        };
        Ok(match change {
            EntryChange::Add {
                attributes,
                password,
                ..
            } => {
                if password.is_some() {
                    return Err(no_passwords());
                }
                let anchor = anchor_of(attributes).ok_or_else(|| ConnectorError::Rejected {
                    detail: format!("{} (the anchor) is required on create", self.anchor),
                })?;
                json!({
                    "type": "add",
                    "anchor": anchor,
                    "attributes": self.values_json(attributes.iter().map(|a| (&a.name, &a.values))),
                })
            }
            EntryChange::Update {
                anchor,
                before,
                changes,
                password,
                ..
            } => {
                if password.is_some() {
                    return Err(no_passwords());
                }
                json!({
                    "type": "update",
                    "anchor": anchor,
                    "before": self.values_json(before.iter()),
                    "changes": self.values_json(changes.iter().map(|a| (&a.name, &a.values))),
                })
            }
            EntryChange::Delete { anchor, .. } => json!({ "type": "delete", "anchor": anchor }),
        })
    }
}

/// An error of the same kind and detail.
fn duplicate(e: &ConnectorError) -> ConnectorError {
    match e {
        ConnectorError::AlreadyExists { detail } => ConnectorError::AlreadyExists {
            detail: detail.clone(),
        },
        ConnectorError::NoSuchObject { detail } => ConnectorError::NoSuchObject {
            detail: detail.clone(),
        },
        ConnectorError::MissingParent { container, detail } => ConnectorError::MissingParent {
            container: container.clone(),
            detail: detail.clone(),
        },
        ConnectorError::Rejected { detail } => ConnectorError::Rejected {
            detail: detail.clone(),
        },
        ConnectorError::Refused { detail } => ConnectorError::Refused {
            detail: detail.clone(),
        },
        ConnectorError::Unavailable { detail } => ConnectorError::Unavailable {
            detail: detail.clone(),
        },
    }
}

fn no_passwords() -> ConnectorError {
    ConnectorError::Rejected {
        detail: "the script connector sets no passwords (export_password is not selectable)".into(),
    }
}

/// `text` with every secret of `environment` replaced by `***`.
fn redact(text: &str, environment: &[(String, Secret)]) -> String {
    let mut out = text.to_owned();
    for (_, secret) in environment {
        if !secret.is_empty() {
            out = out.replace(secret.expose(), "***");
        }
    }
    out
}

/// The program's error object (`{"kind":…,"message":…}`) as a classified error; `None` when
/// it is not one.
fn error_of(error: Option<&Value>) -> Option<ConnectorError> {
    let error = error?;
    let detail = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the script gave no message")
        .to_owned();
    Some(match error.get("kind").and_then(Value::as_str)? {
        "alreadyExists" => ConnectorError::AlreadyExists { detail },
        "noSuchObject" => ConnectorError::NoSuchObject { detail },
        "rejected" => ConnectorError::Rejected { detail },
        "refused" => ConnectorError::Refused { detail },
        "unavailable" => ConnectorError::Unavailable { detail },
        _ => return None,
    })
}

fn script_schema(config: &ScriptConfig, deprovisioning: &Deprovisioning) -> ConnectorSchema {
    let mut attributes: Vec<AttributeDef> = config
        .attributes
        .iter()
        .map(|a| AttributeDef {
            name: a.name.clone(),
            kind: a.kind,
            multi_valued: !a.treat_as_single_value && !a.name.eq_ignore_ascii_case(&config.anchor),
            case_exact: a.case_exact,
            role: if a.name.eq_ignore_ascii_case(&config.anchor) {
                AttrRole::Key
            } else {
                AttrRole::Normal
            },
        })
        .collect();
    super::add_flow_attributes(&mut attributes, deprovisioning);
    ConnectorSchema { attributes }
}

#[async_trait]
impl Connector for ScriptConnector {
    fn schema(&self) -> &ConnectorSchema {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dn_autogenerated: true,
            object_rename: false,
        }
    }

    fn write_wait(&self) -> Option<Duration> {
        // A program cannot be told to undo a change it is making: the host answers 503 after
        // `timeout` and follows the export's outcome (see `limit`; ECMA-ROBUST-017).
        Some(self.timeout)
    }

    fn anchor_key(&self, anchor: &str) -> String {
        anchor.to_owned()
    }

    fn normalize_dn(&self, dn: &str) -> String {
        crate::dn::normalize(dn)
    }

    /// Asks the program for its schema and checks that every selected attribute is in it with
    /// a type that carries the configured one.
    async fn prepare(&self) -> Result<(), ConnectorError> {
        let answer = self
            .run("schema", &json!({ "operation": "schema" }))
            .await?;
        let offered = answer
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| ConnectorError::Unavailable {
                detail: format!(
                    "the script {}: its schema answer has no \"attributes\" array",
                    self.program_name()
                ),
            })?;
        for def in &self.schema.attributes {
            let found = offered.iter().find(|a| {
                a.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(&def.name))
            });
            let Some(found) = found else {
                return Err(ConnectorError::Refused {
                    detail: format!(
                        "the script {} has no attribute {:?} (its schema: {})",
                        self.program_name(),
                        def.name,
                        offered
                            .iter()
                            .filter_map(|a| a.get("name").and_then(Value::as_str))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            };
            let kind = found
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string");
            if def.kind != AttrType::String && !kind.eq_ignore_ascii_case(def.kind.noun()) {
                return Err(ConnectorError::Refused {
                    detail: format!(
                        "the script {}: {} is a {kind}, configured as a {}",
                        self.program_name(),
                        def.name,
                        def.kind.noun()
                    ),
                });
            }
        }
        Ok(())
    }

    async fn read_object(&self, dn: &str) -> Result<Option<CsEntry>, ConnectorError> {
        let Ok(anchor) = ecma_vocab::sql::anchor_of(dn) else {
            return Ok(None);
        };
        let answer = self
            .run("read", &json!({ "operation": "read", "anchor": anchor }))
            .await?;
        match answer.get("object") {
            None | Some(Value::Null) => Ok(None),
            Some(object) => self.entry(object).map(Some),
        }
    }

    async fn open_import(&self) -> Result<Box<dyn ImportSession>, ConnectorError> {
        Ok(Box::new(ScriptImport {
            connector: self.clone_handle(),
            cursor: None,
            empty: 0,
            done: false,
        }))
    }

    async fn put_export_entries(
        &self,
        changes: Vec<EntryChange>,
    ) -> Vec<Result<Exported, ConnectorError>> {
        // Changes the host refuses itself (a password, an add without its anchor) never reach
        // the program; the rest go in one run.
        let mut results: Vec<Option<Result<Exported, ConnectorError>>> = Vec::new();
        let mut sent = Vec::new();
        for change in &changes {
            match self.change_json(change) {
                Ok(v) => {
                    sent.push(v);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut answers: Vec<Result<Exported, ConnectorError>> = Vec::new();
        if !sent.is_empty() {
            let count = sent.len();
            match self
                .run("export", &json!({ "operation": "export", "changes": sent }))
                .await
            {
                Ok(answer) => match answer.get("results").and_then(Value::as_array) {
                    Some(items) if items.len() == count => {
                        for item in items {
                            answers.push(self.result_of(item));
                        }
                    }
                    _ => {
                        let detail = format!(
                            "the script {}: its export answer has no \"results\" array of {count}",
                            self.program_name()
                        );
                        answers.extend((0..count).map(|_| {
                            Err(ConnectorError::Unavailable {
                                detail: detail.clone(),
                            })
                        }));
                    }
                },
                Err(e) => {
                    // The program failed the whole batch: every change gets its error.
                    answers.extend((1..count).map(|_| Err(duplicate(&e))));
                    answers.insert(0, Err(e));
                }
            }
        }
        let mut answers = answers.into_iter();
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    answers.next().unwrap_or_else(|| {
                        Err(ConnectorError::Unavailable {
                            detail: "the script returned no result".into(),
                        })
                    })
                })
            })
            .collect()
    }
}

impl ScriptConnector {
    /// A copy for an import session (the connector holds no connection: runs are independent).
    fn clone_handle(&self) -> ScriptConnector {
        ScriptConnector {
            name: self.name.clone(),
            program: self.program.clone(),
            arguments: self.arguments.clone(),
            working_dir: self.working_dir.clone(),
            environment: self.environment.clone(),
            anchor: self.anchor.clone(),
            page_size: self.page_size,
            timeout: self.timeout,
            schema: self.schema.clone(),
            sessions: self.sessions.clone(),
        }
    }

    fn result_of(&self, item: &Value) -> Result<Exported, ConnectorError> {
        if let Some(error) = item.get("error") {
            return Err(self.program_error(Some(error)));
        }
        match item.get("object") {
            None | Some(Value::Null) => Ok(Exported { entry: None }),
            Some(object) => Ok(Exported {
                entry: Some(self.entry(object)?),
            }),
        }
    }
}

/// Session mode's programs: those waiting for a request, and a permit per program that may
/// run.
struct SessionPool {
    idle: std::sync::Mutex<Vec<Session>>,
    permits: tokio::sync::Semaphore,
    /// How many permits there are (`[connector.script] sessions`).
    size: u32,
}

/// One running program of session mode.
struct Session {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    group: Option<rustix::process::Pid>,
}

impl Session {
    /// Whether the session can take a request: its program runs and has written nothing since
    /// its last answer.
    fn usable(&mut self) -> bool {
        if !matches!(self.child.try_wait(), Ok(None)) || !self.stdout.buffer().is_empty() {
            return false;
        }
        // Pending is the only good state of an idle program's output.
        futures_util::FutureExt::now_or_never(self.stdout.fill_buf()).is_none()
    }
}

impl Drop for Session {
    /// The program's whole process group goes with it, its children too, whether the program
    /// itself still runs or not (kill_on_drop ends the program itself). A group's id is not
    /// given to a new process while a member of the group lives.
    fn drop(&mut self) {
        if let Some(group) = self.group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

/// The most empty pages in a row an import takes while the program's cursor moves: a program
/// that keeps answering nothing with a new cursor would otherwise hold the import for ever.
const MAX_EMPTY_PAGES: u32 = 100;

/// A full import, page by page, each page one run of the program.
struct ScriptImport {
    connector: ScriptConnector,
    cursor: Option<String>,
    /// Empty pages in a row so far.
    empty: u32,
    done: bool,
}

#[async_trait]
impl ImportSession for ScriptImport {
    async fn next_page(&mut self) -> Result<Option<Vec<CsEntry>>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        let c = &self.connector;
        let answer = c
            .run(
                "import",
                &json!({ "operation": "import", "pageSize": c.page_size, "cursor": self.cursor }),
            )
            .await?;
        let objects = answer
            .get("objects")
            .and_then(Value::as_array)
            .ok_or_else(|| ConnectorError::Unavailable {
                detail: format!(
                    "the script {}: its import answer has no \"objects\" array",
                    c.program_name()
                ),
            })?;
        let page = objects
            .iter()
            .map(|o| c.entry(o))
            .collect::<Result<Vec<_>, _>>()?;
        match answer.get("cursor") {
            Some(Value::String(next)) if Some(next) != self.cursor.as_ref() => {
                self.cursor = Some(next.clone());
            }
            Some(Value::String(_)) => {
                return Err(ConnectorError::Unavailable {
                    detail: format!(
                        "the script {}: the import's cursor did not move ({:?})",
                        c.program_name(),
                        self.cursor
                    ),
                });
            }
            _ => self.done = true,
        }
        if page.is_empty() && !self.done {
            self.empty += 1;
            if self.empty >= MAX_EMPTY_PAGES {
                return Err(ConnectorError::Unavailable {
                    detail: format!(
                        "the script {}: {MAX_EMPTY_PAGES} empty import pages in a row, each with a new cursor; the import was stopped",
                        c.program_name()
                    ),
                });
            }
        } else {
            self.empty = 0;
        }
        Ok(if page.is_empty() && self.done {
            None
        } else {
            Some(page)
        })
    }

    fn source(&self) -> String {
        format!("the script {}", self.connector.program_name())
    }
}
