//! Project tasks, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! | task    | what it does                                                        |
//! |---------|---------------------------------------------------------------------|
//! | `setup` | installs (idempotently) everything the other tasks need            |
//! | `build` | builds the npm package into `pkg/` and prints its sizes             |
//! | `test`  | setup, then every check and test suite, with one summary line       |
//! | `demo`  | builds the package and serves the demo page (`www/`)                |
//! | `bench` | measures it beside its npm peers → `docs/bench.md` and `.svg`       |
//! | `docs`  | builds the package, its API reference from the types → `docs/api/`  |
//! | `fuzz`  | the libFuzzer targets of `fuzz/`, with executions and crashes       |
//!
//! The xtask uses the standard library only: child processes do the work,
//! Node's zlib measures compressed sizes.

mod bench;
mod build;
mod checkout;
mod cmd;
mod demo;
mod devserver;
mod docs;
mod fuzz;
mod repro;
mod setup;
mod shorten;
mod sizes;
mod test;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Errors are messages for a human; every task prints them and exits non-zero.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// Where things are: the workspace root and the cargo target directory.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// The workspace root (the directory holding the root `Cargo.toml`).
    pub(crate) root: PathBuf,
    /// `$CARGO_TARGET_DIR` when set (relative paths resolved against the
    /// current directory, as cargo does), else `<root>/target`.
    pub(crate) target: PathBuf,
}

impl Paths {
    /// Locates the workspace at run time, from the manifest directory
    /// `cargo run` passes (not the one compiled in: clones sharing a target
    /// directory share this binary), else from the current directory.
    fn detect() -> Self {
        let root = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .and_then(|xtask| xtask.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if dir.is_absolute() {
                    dir
                } else {
                    std::env::current_dir().unwrap_or_default().join(dir)
                }
            }
            _ => root.join("target"),
        };
        Self { root, target }
    }

    /// The directory where xtask keeps its own state and scratch files.
    pub(crate) fn xtask_dir(&self) -> PathBuf {
        self.target.join("xtask")
    }

    /// The npm package output directory.
    pub(crate) fn pkg(&self) -> PathBuf {
        self.root.join("pkg")
    }
}

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  setup   install the toolchain, wasm tools, Chromium and Node packages (idempotent)
  build   build the npm package into pkg/ and print its sizes
  test    setup, then fmt, clippy, host tests, wasm tests (Node + Chromium), package tests
  demo    build the package, serve the demo page (www/) with the devserver [--port N]
  bench   build, then measure tokenkeeper and its npm peers; writes docs/bench.md and docs/bench.svg
  docs    build, then the API reference from the package's types (TypeDoc, no warnings); writes docs/api/
  fuzz    run the libFuzzer targets of fuzz/: [--seconds N | --runs N] [TARGET…] (nightly + cargo-fuzz)

environment:
  WASM_ROUTE=auto|rustup|debian   how setup gets a wasm32 standard library (default auto)
  CARGO_TARGET_DIR                honoured for every build output";

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let paths = Paths::detect();
    // Tasks that compile claim the target directory (checkout.rs); when it
    // was another checkout's, this binary may be too: cargo compiles xtask
    // from this checkout and runs it again, and that one finds the target
    // directory claimed.
    if !matches!(task.as_str(), "" | "help" | "-h" | "--help") {
        match checkout::claim(&paths) {
            Ok(true) => return rerun(&paths),
            Ok(false) => {}
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    let result = match task.as_str() {
        "setup" => setup::run(&paths).map(|_| ()),
        "build" => build::run(&paths).map(|_| ()),
        "test" => return test::run(&paths),
        "fuzz" => fuzz::run(&paths, &std::env::args().skip(2).collect::<Vec<_>>()),
        "demo" => demo::run(&paths, &std::env::args().skip(2).collect::<Vec<_>>()),
        "bench" => bench::run(&paths),
        "docs" => docs::run(&paths),
        "" | "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo xtask <the same arguments>` in this checkout (compiling
/// xtask from it) and exits as it does.
fn rerun(paths: &Paths) -> ExitCode {
    println!("xtask: the target directory was another checkout's; running this checkout's xtask");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(&paths.root)
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: running cargo: {e}");
            ExitCode::FAILURE
        }
    }
}
