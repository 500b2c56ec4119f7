//! Starting and stopping the host under test when the configuration gives `host.command`.
//! Ready means: Test Connection answers 200.
//!
//! The host's standard output and error go straight to a log file (`host.log` in the run's
//! output directory), never to a pipe: a host that logs more than a pipe holds (64 KiB) would
//! otherwise block on its next write and hang the run. When the host does not come up, the
//! reason quotes the log's last lines with every secret redacted.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ecma_vocab::Secret;

use crate::provisioning::ProvisioningService;
use crate::suite::Suite;

/// How many of the log's last lines a "did not start" reason quotes.
const TAIL_LINES: usize = 5;

/// A host process the run started.
struct HostProcess {
    child: tokio::process::Child,
}

impl HostProcess {
    /// Stops the host: its whole process group, so that a host started through a wrapper
    /// (`sh -c …`, `dotnet run`) stops too, not only the wrapper.
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
        }
        let _ = self.child.kill().await;
    }
}

/// What starting a host takes, kept so that the host can be started again.
#[derive(Clone)]
struct Launch {
    command: Vec<String>,
    dir: PathBuf,
    log: PathBuf,
    service: ProvisioningService,
    matching_suite: Suite,
    profile: String,
    ready_timeout: Duration,
    secrets: Vec<Secret>,
}

impl Launch {
    /// Starts the command and waits for Test Connection; `fresh`: the log starts over,
    /// otherwise a restarted host's output follows the first one's.
    async fn spawn(&self, fresh: bool) -> Result<HostProcess, String> {
        let (command, dir, log, secrets) = (&self.command, &self.dir, &self.log, &self.secrets);
        let (program, args) = command.split_first().ok_or("host.command is empty")?;
        // The host's output may hold what it should not: readable by this user only.
        if let Some(parent) = log.parent() {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        let out = {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(fresh)
                .append(!fresh)
                .mode(0o600)
                .open(log)
                .map_err(|e| format!("cannot write the host's log {}: {e}", log.display()))?
        };
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot write the host's log {}: {e}", log.display()))?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            // A group of its own, which `stop` ends whole.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the host ({program}): {e}"))?;
        let deadline = Instant::now() + self.ready_timeout;
        let mut last;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the host ({program}) exited with {status} before it was ready; the end of {}: {}",
                    log.display(),
                    tail(log, secrets)
                ));
            }
            match crate::runner::probe_host(&self.service, &self.matching_suite, &self.profile)
                .await
            {
                Ok(()) => {
                    return Ok(HostProcess { child });
                }
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                // The whole group: a wrapper's host must not go on importing.
                HostProcess { child }.stop().await;
                return Err(format!(
                    "the host did not answer Test Connection with 200 within {} s (last: {last}); the end of {}: {}",
                    self.ready_timeout.as_secs(),
                    log.display(),
                    tail(log, secrets)
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A host the run started and may stop and start again: the active host of a failover
/// scenario (`host.standby`), or the standby itself.
pub struct ManagedHost {
    launch: Launch,
    process: tokio::sync::Mutex<Option<HostProcess>>,
}

impl std::fmt::Debug for ManagedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedHost")
            .field("log", &self.launch.log)
            .finish_non_exhaustive()
    }
}

impl ManagedHost {
    /// Starts `command` in `dir`, its output going to `log`, and waits until it answers Test
    /// Connection (through `service`) with 200, for at most `ready_timeout`. `Err` is the
    /// reason, secrets redacted.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        command: &[String],
        dir: &Path,
        log: &Path,
        service: &ProvisioningService,
        suite: &Suite,
        profile: &str,
        ready_timeout: Duration,
        secrets: &[Secret],
    ) -> Result<ManagedHost, String> {
        let launch = Launch {
            command: command.to_vec(),
            dir: dir.to_owned(),
            log: log.to_owned(),
            service: service.clone(),
            matching_suite: suite.clone(),
            profile: profile.to_owned(),
            ready_timeout,
            secrets: secrets.to_vec(),
        };
        let process = launch.spawn(true).await?;
        Ok(ManagedHost {
            launch,
            process: tokio::sync::Mutex::new(Some(process)),
        })
    }

    /// Stops the host (no-op when it is stopped), and waits, up to the ready timeout, until
    /// it no longer answers Test Connection: a host that goes on answering (a process the
    /// command did not start in its group) would make a failover drill test nothing.
    pub async fn stop(&self) {
        let process = self.process.lock().await.take();
        if let Some(p) = process {
            p.stop().await;
            let deadline = Instant::now() + self.launch.ready_timeout;
            while Instant::now() < deadline
                && crate::runner::probe_host(
                    &self.launch.service,
                    &self.launch.matching_suite,
                    &self.launch.profile,
                )
                .await
                .is_ok()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// The process id of the host's command (the leader of its process group) while it runs.
    pub async fn pid(&self) -> Option<u32> {
        self.process
            .lock()
            .await
            .as_ref()
            .and_then(|p| p.child.id())
    }

    /// Starts the host again when it was stopped, and waits for Test Connection.
    pub async fn ensure_running(&self) -> Result<(), String> {
        let mut process = self.process.lock().await;
        if process.is_none() {
            *process = Some(self.launch.spawn(false).await?);
        }
        Ok(())
    }
}
/// The log's last lines, joined with ` | `, every secret redacted.
fn tail(log: &Path, secrets: &[Secret]) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(TAIL_LINES).collect();
    let joined = lines.into_iter().rev().collect::<Vec<_>>().join(" | ");
    crate::checks::redact(&joined, secrets)
}
