//! The devserver (local identity-provider emulator) for test suites: built
//! once with the chosen toolchain, started on a free loopback port, stopped
//! when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::toolchain::Toolchain;
use crate::{Paths, Result, cmd};

/// How long the devserver may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the devserver binary (debug profile) and returns its path.
pub(crate) fn build(paths: &Paths, toolchain: &Toolchain) -> Result<PathBuf> {
    cmd::stream(
        toolchain
            .cargo(paths)
            .args(["build", "-p", "devserver", "--bin", "devserver"]),
    )?;
    Ok(paths.target.join("debug").join("devserver"))
}

/// A running devserver; killed when dropped.
#[derive(Debug)]
pub(crate) struct Devserver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
}

impl Devserver {
    /// Starts `binary --port 0 <args>` and waits for
    /// `devserver listening on http://…`.
    pub(crate) fn start(binary: &Path, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("devserver stdout missing")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if let Some(url) = line.strip_prefix("devserver listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(url) => Ok(Self { child, url }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "devserver did not report ready within {READY_TIMEOUT:?}"
                ))
            }
        }
    }
}

impl Drop for Devserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago (for servers that cannot be
/// told to pick one and report it).
pub(crate) fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
