//! `cargo xtask bench`: tokenkeeper side by side with the libraries users
//! would pick instead, in one run.
//!
//! Runs the set-up (`setup::run`, as `cargo xtask test` does), builds the
//! release package (`build::run`), installs the peers pinned in
//! `bench/package-lock.json` (`npm ci` in `bench/`, skipped while its stamp
//! matches), starts the devserver for the loopback figures, runs
//! `bench/run.mjs` (every measurement lives in `bench/*.mjs`) and copies the
//! `bench.md` and `bench.svg` it writes into `docs/`. The browser start-up
//! pages are built with the toolchain matrix's Vite, which the set-up
//! installs.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::devserver::{self, Devserver};
use crate::{Paths, Result, build, cmd, setup};

/// Written into `bench/node_modules/` after `npm ci`: a hash of the lockfile
/// and the Node version.
const STAMP: &str = "node_modules/.xtask-bench-stamp";

/// Runs the benchmarks and writes `docs/bench.md` and `docs/bench.svg`.
pub(crate) fn run(paths: &Paths) -> Result {
    let started = Instant::now();
    let bench = paths.root.join("bench");
    // What a fresh clone lacks (esbuild, Vite, Chromium…), as `cargo xtask
    // test` does: idempotent, about 0.3 s when everything is present.
    let toolchain = setup::run(paths)?;
    let pkg = build::run(paths)?;
    npm_ci(&bench)?;

    println!("bench: building the devserver");
    let server = Devserver::start(&devserver::build(paths, &toolchain)?, &[])?;

    let out = paths.xtask_dir().join("bench");
    println!("bench: node bench/run.mjs (results in {})", out.display());
    cmd::stream(
        Command::new("node")
            .current_dir(&bench)
            .arg("run.mjs")
            .env("BENCH_PKG", &pkg)
            .env(
                "BENCH_GLUE",
                paths.xtask_dir().join("bindgen/tokenkeeper.js"),
            )
            .env("BENCH_OUT", &out)
            .env(
                "BENCH_VITE",
                setup::toolchains_dir(paths).join("node_modules/vite"),
            )
            .env("TOKENKEEPER_DEVSERVER", &server.url),
    )?;
    drop(server);

    let docs = paths.root.join("docs");
    fs::create_dir_all(&docs).map_err(|e| format!("creating {}: {e}", docs.display()))?;
    for name in ["bench.md", "bench.svg"] {
        let (from, to) = (out.join(name), docs.join(name));
        fs::copy(&from, &to)
            .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
    }
    println!(
        "bench: wrote docs/bench.md and docs/bench.svg in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `npm ci` in `bench/` unless its `node_modules` matches the lockfile.
fn npm_ci(bench: &Path) -> Result {
    let lock_path = bench.join("package-lock.json");
    let lock = fs::read(&lock_path).map_err(|e| format!("reading {}: {e}", lock_path.display()))?;
    let node = cmd::output(Command::new("node").arg("--version"))?;
    let stamp = format!("{:016x} {}", fnv1a(&lock), node.trim());
    let stamp_path = bench.join(STAMP);
    if fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        println!("bench: bench/node_modules matches bench/package-lock.json");
        return Ok(());
    }
    println!("bench: npm ci in bench/");
    // No install scripts: the peers are measured as code, none needs one.
    cmd::output(Command::new("npm").current_dir(bench).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
    ]))?;
    fs::write(&stamp_path, stamp).map_err(|e| format!("writing {}: {e}", stamp_path.display()))
}

/// 64-bit FNV-1a: a change detector for the lockfile stamp.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
