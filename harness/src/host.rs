//! Starting and stopping the host under test when the configuration gives `host.command`.
//! Ready means: Test Connection answers 200.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt as _;

use crate::config::Config;
use crate::provisioning::ProvisioningService;
use crate::suite::Suite;

/// A host process the run started.
pub struct HostProcess {
    child: tokio::process::Child,
}

impl HostProcess {
    /// Starts `command` in `dir` and waits until it answers Test Connection with 200.
    pub async fn start(
        command: &[String],
        dir: &Path,
        service: &ProvisioningService,
        suite: &Suite,
        profile: &str,
        config: &Config,
    ) -> Result<HostProcess, String> {
        let (program, args) = command.split_first().ok_or("host.command is empty")?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the host ({program}): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(config.host.ready_timeout_seconds);
        let mut last;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = err.read_to_string(&mut stderr).await;
                }
                let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
                return Err(format!(
                    "the host ({program}) exited with {status} before it was ready: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ));
            }
            match crate::runner::probe_host(service, suite, profile).await {
                Ok(()) => return Ok(HostProcess { child }),
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                let _ = child.kill().await;
                return Err(format!(
                    "the host did not answer Test Connection with 200 within {} s (last: {last})",
                    config.host.ready_timeout_seconds
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the host.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
