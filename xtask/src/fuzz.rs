//! `cargo xtask fuzz [--seconds N | --runs N] [TARGET…]`: runs the libFuzzer
//! targets of `fuzz/` (cargo-fuzz, nightly toolchain) and reports each
//! target's executions and crashes.
//!
//! Each run starts from the committed seeds (`fuzz/seeds/<target>`, read
//! only) plus a scratch corpus in `<target dir>/fuzz/corpus/<target>`, where
//! libFuzzer writes what it finds; crash inputs go to
//! `<target dir>/fuzz/artifacts/<target>/`. The work tree stays clean.

use std::fs;
use std::process::Command;

use crate::{Paths, Result, cmd};

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub(crate) const TARGETS: &[&str] = &[
    "token_response",
    "oauth_error",
    "www_authenticate",
    "jwt_peek",
    "persisted_state",
    "callback",
];

/// The toolchain cargo-fuzz needs (`-Z sanitizer`).
const TOOLCHAIN: &str = "nightly";

/// How long each target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// For this many seconds.
    Seconds(u32),
    /// For this many executions.
    Runs(u64),
}

impl Budget {
    fn flag(self) -> String {
        match self {
            Self::Seconds(s) => format!("-max_total_time={s}"),
            Self::Runs(n) => format!("-runs={n}"),
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Seconds(s) => write!(f, "{s} s"),
            Self::Runs(n) => write!(f, "{n} runs"),
        }
    }
}

/// What one target did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Report {
    /// Inputs executed.
    pub(crate) runs: u64,
    /// Whether libFuzzer stopped on a crash, leak or timeout.
    pub(crate) crashed: bool,
}

/// `cargo xtask fuzz`: parses the arguments and runs the targets.
pub(crate) fn run(paths: &Paths, args: &[String]) -> Result {
    let mut budget = Budget::Seconds(60);
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--seconds" {
            budget = Budget::Seconds(
                it.next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds takes a whole number")?,
            );
        } else if arg == "--runs" {
            budget = Budget::Runs(
                it.next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--runs takes a whole number")?,
            );
        } else if TARGETS.contains(&arg.as_str()) {
            targets.push(arg.as_str());
        } else {
            return Err(format!(
                "unknown fuzz target `{arg}`; targets: {}",
                TARGETS.join(", ")
            ));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let mut crashed = Vec::new();
    for target in targets {
        let started = std::time::Instant::now();
        let report = target_run(paths, target, budget)?;
        println!(
            "fuzz: {target}: {} executions in {:.0} s, {}",
            report.runs,
            started.elapsed().as_secs_f64(),
            if report.crashed {
                "CRASHED"
            } else {
                "0 crashes"
            }
        );
        if report.crashed {
            crashed.push(target);
        }
    }
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "crashes in {}; inputs in {}",
            crashed.join(", "),
            paths.target.join("fuzz/artifacts").display()
        ))
    }
}

/// Runs one target within `budget` and reads libFuzzer's final statistics.
pub(crate) fn target_run(paths: &Paths, target: &str, budget: Budget) -> Result<Report> {
    let scratch = paths.target.join("fuzz");
    let corpus = scratch.join("corpus").join(target);
    let artifacts = scratch.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let seeds = paths.root.join("fuzz/seeds").join(target);
    let mut command = Command::new("cargo");
    command
        .current_dir(&paths.root)
        .env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
        .env("CARGO_TARGET_DIR", scratch.join("build"))
        .args(["fuzz", "run", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(budget.flag())
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1");
    println!("fuzz: {target} for {budget}");
    let out = command
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", cmd::describe(&command)))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = text
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok());
    match runs {
        Some(runs) => Ok(Report {
            runs,
            crashed: !out.status.success(),
        }),
        None => Err(format!(
            "`{}` ended without statistics ({}):\n{}",
            cmd::describe(&command),
            out.status,
            cmd::tail(&text)
        )),
    }
}
