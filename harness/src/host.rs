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

use crate::config::Config;
use crate::provisioning::ProvisioningService;
use crate::suite::Suite;

/// How many of the log's last lines a "did not start" reason quotes.
const TAIL_LINES: usize = 5;

/// A host process the run started.
pub struct HostProcess {
    child: tokio::process::Child,
    log: PathBuf,
}

impl HostProcess {
    /// Starts `command` in `dir`, its output going to `log`, and waits until it answers Test
    /// Connection with 200. `Err` is the reason, secrets redacted.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        command: &[String],
        dir: &Path,
        log: &Path,
        service: &ProvisioningService,
        suite: &Suite,
        profile: &str,
        config: &Config,
        secrets: &[Secret],
    ) -> Result<HostProcess, String> {
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
                .truncate(true)
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
            .spawn()
            .map_err(|e| format!("cannot start the host ({program}): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(config.host.ready_timeout_seconds);
        let mut last;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the host ({program}) exited with {status} before it was ready; the end of {}: {}",
                    log.display(),
                    tail(log, secrets)
                ));
            }
            match crate::runner::probe_host(service, suite, profile).await {
                Ok(()) => {
                    return Ok(HostProcess {
                        child,
                        log: log.to_owned(),
                    });
                }
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                let _ = child.kill().await;
                return Err(format!(
                    "the host did not answer Test Connection with 200 within {} s (last: {last}); the end of {}: {}",
                    config.host.ready_timeout_seconds,
                    log.display(),
                    tail(log, secrets)
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Where the host's output went.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Stops the host.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
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
