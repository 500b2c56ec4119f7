//! Faults for the script connector's programs: a shim ([`SHIM`], Python's standard library
//! only) runs between the host and the program it wraps, and asks a controller in this process,
//! over loopback TCP, what to do with each request. The controller plays the faults of an
//! [`http::FaultSwitch`](crate::http::FaultSwitch), so one switch serves HTTP targets and
//! programs alike: the embedded default's `script-sqlite` profile gets the suite's fault
//! scenarios that way, as `rest-hr` and `scim-target` do.
//!
//! The script contract is reference-host's (`reference-host/src/connector/script.rs`). The
//! requests are sorted into [`Operation`]s as follows: `import` is a page
//! ([`Operation::List`]), `read` a read, `export` a create, update or delete by its change's
//! `type`; `schema` is no operation, and no fault hits it. A fault aimed at a scope hits the
//! requests whose JSON line names it (the anchor is the user's unique name in the run). What a
//! fault does, in the contract's words:
//!
//! | [`Action`] | the shim |
//! |---|---|
//! | `Answer` 409 / 404 / other 4xx / 5xx | waits `delay`, answers the whole operation failed: `alreadyExists`, `noSuchObject`, `rejected` (with the message), `unavailable` |
//! | `Late(d)` | hands the request on, answers `d` late |
//! | `Drop` | ends the session without an answer (the host answers 503) |
//! | `DropAfter` | hands the request on, then ends the session without an answer |
//!
//! Written here: the fault is in the contract between the host and its program, which no crate
//! knows.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

use crate::http::{Action, FaultSwitch, Operation};

/// The shim, `script_faults.py HOST:PORT PROGRAM [ARGUMENT ...]`: its docstring gives the
/// protocol with the controller. Write it to a file and run it with `python3`.
pub const SHIM: &str = include_str!("script_faults.py");

/// The controller the shims ask: serves a [`FaultSwitch`]'s faults on a loopback port. Once
/// dropped it takes no new shim; those already connected are answered until they hang up.
pub struct ScriptFaults {
    switch: FaultSwitch,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for ScriptFaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptFaults")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ScriptFaults {
    /// Starts the controller on a free loopback port, with no fault.
    ///
    /// # Errors
    /// The port could not be bound.
    pub async fn start() -> std::io::Result<ScriptFaults> {
        let switch = FaultSwitch::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let faults = switch.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            tokio::spawn(answer_shim(stream, faults.clone()));
                        }
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                    },
                    _ = &mut stopped => return,
                }
            }
        });
        Ok(ScriptFaults {
            switch,
            addr,
            stop: Some(stop),
        })
    }

    /// The switch whose faults the shims play.
    pub fn faults(&self) -> FaultSwitch {
        self.switch.clone()
    }

    /// `command` behind the shim: `[python, shim, HOST:PORT, command…]`, where `shim` is a file
    /// holding [`SHIM`].
    pub fn wrap(&self, python: &str, shim: &std::path::Path, command: Vec<String>) -> Vec<String> {
        let mut wrapped = vec![
            python.to_owned(),
            shim.display().to_string(),
            self.addr.to_string(),
        ];
        wrapped.extend(command);
        wrapped
    }
}

impl Drop for ScriptFaults {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Answers one shim's requests, a decision line per request line, until it hangs up.
async fn answer_shim(stream: tokio::net::TcpStream, switch: FaultSwitch) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut decision = decide(&switch, &line).to_string();
        decision.push('\n');
        if write.write_all(decision.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The operation a request of the script contract is, `None` for `schema` or anything else. An
/// export is named by its first change: the host sends one change per export.
fn operation(request: &Value) -> Option<Operation> {
    match request.get("operation")?.as_str()? {
        "import" => Some(Operation::List),
        "read" => Some(Operation::Read),
        "export" => match request.get("changes")?.get(0)?.get("type")?.as_str()? {
            "add" => Some(Operation::Create),
            "update" => Some(Operation::Update),
            "delete" => Some(Operation::Delete),
            _ => None,
        },
        _ => None,
    }
}

/// What the shim is to do with the request on `line` (the shim's protocol, [`SHIM`]).
fn decide(switch: &FaultSwitch, line: &str) -> Value {
    let fault = serde_json::from_str::<Value>(line)
        .ok()
        .as_ref()
        .and_then(operation)
        .and_then(|op| switch.take(op, "", line.as_bytes()));
    match fault.map(|f| f.action) {
        None => json!({ "action": "pass" }),
        Some(Action::Answer {
            status,
            message,
            delay,
        }) => json!({
            "action": "answer",
            "kind": match status {
                409 => "alreadyExists",
                404 => "noSuchObject",
                400..=499 => "rejected",
                _ => "unavailable",
            },
            "message": message,
            "delay": delay.as_secs_f64(),
        }),
        Some(Action::Late(delay)) => json!({ "action": "late", "delay": delay.as_secs_f64() }),
        Some(Action::Drop) => json!({ "action": "drop" }),
        Some(Action::DropAfter) => json!({ "action": "dropAfter" }),
    }
}

#[cfg(test)]
mod tests {
    use super::{decide, operation};
    use crate::http::{Action, Fault, FaultSwitch, Operation};
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn requests_are_sorted_by_operation_and_change_type() {
        let op = |v| operation(&v);
        assert_eq!(op(json!({"operation": "schema"})), None);
        assert_eq!(
            op(json!({"operation": "import", "pageSize": 2, "cursor": null})),
            Some(Operation::List)
        );
        assert_eq!(
            op(json!({"operation": "read", "anchor": "a"})),
            Some(Operation::Read)
        );
        for (t, o) in [
            ("add", Operation::Create),
            ("update", Operation::Update),
            ("delete", Operation::Delete),
        ] {
            assert_eq!(
                op(json!({"operation": "export", "changes": [{"type": t, "anchor": "a"}]})),
                Some(o)
            );
        }
        assert_eq!(op(json!({"operation": "export", "changes": []})), None);
    }

    #[test]
    fn a_fault_aimed_at_one_anchor_answers_once_in_the_contract_s_words() {
        let switch = FaultSwitch::new();
        switch.inject(Fault {
            operation: Some(Operation::Create),
            scope: Some("r1-9".into()),
            action: Action::Answer {
                status: 409,
                message: "taken".into(),
                delay: Duration::ZERO,
            },
            times: Some(1),
        });
        let add = |anchor: &str| {
            json!({"operation": "export", "changes": [{"type": "add", "anchor": anchor}]})
                .to_string()
        };
        // Another anchor that starts the same, and another operation, pass.
        assert_eq!(decide(&switch, &add("kim-r1-93"))["action"], "pass");
        let update =
            json!({"operation": "export", "changes": [{"type": "update", "anchor": "kim-r1-9"}]});
        assert_eq!(decide(&switch, &update.to_string())["action"], "pass");
        let hit = decide(&switch, &add("kim-r1-9"));
        assert_eq!(hit["action"], "answer");
        assert_eq!(hit["kind"], "alreadyExists");
        assert_eq!(hit["message"], "taken");
        // Once only.
        assert_eq!(decide(&switch, &add("kim-r1-9"))["action"], "pass");
        // Not JSON: passed to the program, which answers it as it would.
        assert_eq!(decide(&switch, "not json")["action"], "pass");
    }
}
