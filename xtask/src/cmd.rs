//! Running child processes: quietly (output kept for the error message),
//! streamed (output shown live), or teed (shown live and kept for parsing).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::Result;

/// How many lines of a failed command's output an error message shows.
const TAIL_LINES: usize = 25;

/// `program arg1 arg2 …`, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// The last `TAIL_LINES` non-empty lines of `text`, indented.
pub(crate) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `cmd` with its output captured; returns stdout when it exits 0, and
/// an error naming the command with the tail of its stderr/stdout otherwise.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "`{}` failed ({}):\n{}",
        describe(cmd),
        out.status,
        tail(&format!("{stdout}\n{stderr}"))
    ))
}

/// Runs `cmd` with its output shown live; errors when it does not exit 0.
pub(crate) fn stream(cmd: &mut Command) -> Result {
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

/// Runs `cmd` showing stdout and stderr live while also collecting both
/// (interleaved by line) for parsing. A command that cannot start is an error.
pub(crate) fn tee(cmd: &mut Command) -> Result<(ExitStatus, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(cmd)))?;
    let collected = Arc::new(Mutex::new(String::new()));
    let pumps = [
        child
            .stdout
            .take()
            .map(|s| pump(s, collected.clone(), false)),
        child
            .stderr
            .take()
            .map(|s| pump(s, collected.clone(), true)),
    ];
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{}`: {e}", describe(cmd)))?;
    for handle in pumps.into_iter().flatten() {
        let _ = handle.join();
    }
    let text = collected.lock().map(|t| t.clone()).unwrap_or_default();
    Ok((status, text))
}

/// Copies `source` line by line to our stdout (or stderr) and into `sink`.
fn pump(
    source: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    to_stderr: bool,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let _ = if to_stderr {
                std::io::stderr().write_all(&line)
            } else {
                std::io::stdout().write_all(&line)
            };
            if let Ok(mut text) = sink.lock() {
                text.push_str(&String::from_utf8_lossy(&line));
            }
            line.clear();
        }
    })
}
