//! `cargo xtask test`: setup, then every check and test suite.
//!
//! Suites form one list ([`suites`]); a later suite (devserver, Playwright
//! e2e, workerd, Deno) is one more entry. Every suite runs even after a
//! failure. Test runners' counts are parsed from their output; a check
//! (fmt, clippy, the package build) counts as one test. The last line is
//! always `N passed, M failed`.

use std::ffi::OsString;
use std::process::{ExitCode, ExitStatus};
use std::time::Instant;

use crate::devserver::{self, Devserver};
use crate::toolchain::{Toolchain, WASM_TARGET};
use crate::{Paths, Result, build, cmd, docs, fuzz, repro, setup};

/// Where wasm-pack and the wasm-bindgen test runner find chromedriver (from
/// `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What a suite needs to run.
struct Ctx<'a> {
    paths: &'a Paths,
    toolchain: Toolchain,
}

/// One entry of the suite list.
struct Suite {
    /// Shown in the summary.
    name: &'static str,
    /// Runs the suite; its output is shown live.
    run: fn(&Ctx<'_>) -> Outcome,
}

/// The counts of one suite.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Outcome {
    passed: u32,
    failed: u32,
    /// Why the suite failed beyond its counts (crash, no tests, …).
    note: Option<String>,
}

impl Outcome {
    /// A check that passed or failed as a whole.
    fn check(result: Result) -> Self {
        match result {
            Ok(()) => Self {
                passed: 1,
                ..Self::default()
            },
            Err(why) => Self {
                failed: 1,
                note: Some(why),
                ..Self::default()
            },
        }
    }

    /// Named checks, each one test; a failure's message is printed here
    /// and its first line becomes the note.
    fn checks(results: Vec<(&str, Result)>) -> Self {
        let mut outcome = Self::default();
        for (name, result) in results {
            match result {
                Ok(()) => {
                    println!("test: ok   {name}");
                    outcome.passed += 1;
                }
                Err(why) => {
                    println!("test: FAIL {name}: {why}");
                    outcome.failed += 1;
                    outcome.note.get_or_insert(format!("{name}: {why}"));
                }
            }
        }
        outcome
    }

    /// A test runner's result: its parsed counts, plus one failure when it
    /// exited non-zero without reporting one, or reported no test at all.
    fn runner(run: Result<(ExitStatus, String)>, parse: fn(&str) -> (u32, u32)) -> Self {
        let (status, output) = match run {
            Ok(done) => done,
            Err(why) => return Self::check(Err(why)),
        };
        let (passed, mut failed) = parse(&output);
        let mut note = None;
        if !status.success() && failed == 0 {
            failed = 1;
            note = Some(format!(
                "exited with {status} without a failed test (build error?)"
            ));
        } else if passed + failed == 0 {
            failed = 1;
            note = Some("ran no test".into());
        }
        Self {
            passed,
            failed,
            note,
        }
    }
}

/// Every suite, in order.
fn suites() -> Vec<Suite> {
    vec![
        Suite {
            name: "fmt",
            run: |c| {
                let mut cargo = c.toolchain.cargo(c.paths);
                Outcome::check(cmd::stream(cargo.args(["fmt", "--all", "--check"])))
            },
        },
        Suite {
            name: "clippy (host)",
            run: |c| {
                let mut cargo = c.toolchain.cargo(c.paths);
                cargo.args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]);
                Outcome::check(cmd::stream(&mut cargo))
            },
        },
        Suite {
            name: "clippy (wasm32)",
            run: |c| {
                let mut cargo = c.toolchain.cargo(c.paths);
                cargo.args([
                    "clippy",
                    "-p",
                    "tokenkeeper",
                    "--lib",
                    "--target",
                    WASM_TARGET,
                ]);
                cargo.args(["--", "-D", "warnings"]);
                Outcome::check(cmd::stream(&mut cargo))
            },
        },
        Suite {
            name: "host tests",
            run: |c| {
                let mut cargo = c.toolchain.cargo(c.paths);
                cargo.args(["test", "--workspace"]);
                Outcome::runner(cmd::tee(&mut cargo), cargo_counts)
            },
        },
        Suite {
            name: "wasm tests (Node + Chromium)",
            run: |c| Outcome::runner(wasm_tests(c), cargo_counts),
        },
        Suite {
            name: "package build",
            run: |c| Outcome::check(build::run(c.paths).map(|_| ())),
        },
        Suite {
            // TypeDoc over the package just built, with no warning, and
            // the Markdown it writes equal to docs/api/ (docs.rs).
            name: "API reference (docs/api)",
            run: |c| Outcome::checks(docs::check(c.paths)),
        },
        Suite {
            // Two copies of the work tree, built by `cargo xtask build` in
            // each with one new target dir: the first packs to the same
            // bytes as `pkg/`, the second builds its own sources (repro.rs).
            name: "package: two checkouts",
            run: |c| Outcome::checks(repro::two_checkouts(c.paths, &c.toolchain)),
        },
        Suite {
            // The `npm pack` tarball of pkg/ built by Vite, webpack, Rollup,
            // esbuild and wrangler, and run in Chromium (pages, Workers,
            // Service Workers), `wrangler dev` and Node; checked by tsc.
            name: "toolchain matrix (tests/toolchains)",
            run: |c| {
                node_tests(
                    c,
                    "tests/toolchains/matrix.mjs",
                    &[
                        ("TOOLCHAINS_DIR", setup::toolchains_dir(c.paths).into()),
                        ("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1".into()),
                    ],
                )
            },
        },
        Suite {
            // The examples/react, examples/vue and examples/svelte apps built
            // by the matrix's Vite from the `npm pack` tarball, and driven in
            // Chromium against the devserver: redirect login (React under
            // StrictMode), API, refreshes seen by the component, logout.
            name: "framework examples (tests/toolchains/frameworks.mjs)",
            run: |c| {
                node_tests(
                    c,
                    "tests/toolchains/frameworks.mjs",
                    &[
                        ("TOOLCHAINS_DIR", setup::toolchains_dir(c.paths).into()),
                        ("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1".into()),
                    ],
                )
            },
        },
        Suite {
            // The framework subpaths' types are checked against the
            // toolchain's React, Vue and Svelte (types.test.mjs).
            name: "package in Node (tests/js)",
            run: |c| {
                node_tests(
                    c,
                    "tests/js/",
                    &[("TOOLCHAINS_DIR", setup::toolchains_dir(c.paths).into())],
                )
            },
        },
        Suite {
            // Playwright drives Debian's /usr/bin/chromium; screenshots go
            // to tests/e2e/artifacts/.
            name: "demo page in Chromium (tests/e2e)",
            run: |c| {
                node_tests(
                    c,
                    "tests/e2e/",
                    &[("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1".into())],
                )
            },
        },
        Suite {
            name: "Worker in Miniflare (tests/edge)",
            run: |c| node_tests(c, "tests/edge/workerd.test.mjs", &edge_tools(c)),
        },
        Suite {
            name: "Deno + Node examples",
            run: |c| node_tests(c, "tests/edge/examples.test.mjs", &edge_tools(c)),
        },
        Suite {
            name: "fuzz smoke",
            run: fuzz_smoke,
        },
    ]
}

/// Seconds each fuzz target runs in the test suite: a smoke run that
/// catches a parser that panics on the seeds or near them
/// (`cargo xtask fuzz --seconds N` is the long run).
const FUZZ_SMOKE_SECONDS: u32 = 10;

/// Every fuzz target for a few seconds; each target counts as one test,
/// failed when libFuzzer found a crash or could not run.
fn fuzz_smoke(c: &Ctx<'_>) -> Outcome {
    let mut outcome = Outcome::default();
    for target in fuzz::TARGETS {
        match fuzz::target_run(c.paths, target, fuzz::Budget::Seconds(FUZZ_SMOKE_SECONDS)) {
            Ok(r) if !r.crashed => {
                println!("test: fuzz {target}: {} executions, 0 crashes", r.runs);
                outcome.passed += 1;
            }
            Ok(_) => {
                outcome.failed += 1;
                outcome.note = Some(format!("fuzz target {target} crashed"));
            }
            Err(why) => {
                outcome.failed += 1;
                outcome.note = Some(why);
            }
        }
    }
    outcome
}

/// The wasm-bindgen suites with `wasm-pack test` (dev profile): the Node
/// suite (`tests/wasm/node.rs`) with `--node`, then the browser suite
/// (`tests/wasm/browser.rs`) with `--headless --chrome` (Debian's
/// chromedriver, the repository's `webdriver.json`). Both run against a
/// devserver whose URL the tests read at compile time
/// (`TOKENKEEPER_DEVSERVER`); the test page is served from a fixed free port
/// so the devserver's CORS allow-list can name its origin. `--mode
/// no-install`: the wasm-bindgen CLI that setup installed, nothing
/// downloaded. wasm-pack builds every test target for wasm32: the native
/// suites are empty there (`#![cfg(not(target_arch = "wasm32"))]`) and each
/// runner skips the other environment's suite. The output of both runs is
/// returned together; the status is the first failure's, if any.
fn wasm_tests(c: &Ctx<'_>) -> Result<(ExitStatus, String)> {
    let page_port = devserver::free_port()?;
    let page_origin = format!("http://127.0.0.1:{page_port}");
    let bin = devserver::build(c.paths, &c.toolchain)?;
    let server = Devserver::start(&bin, &["--access-ttl", "3", "--cors-origin", &page_origin])?;
    println!("test: devserver at {} (CORS for {page_origin})", server.url);
    let mut runs = Vec::new();
    for environment in [&["--node"][..], &["--headless", "--chrome"]] {
        let mut wasm_pack = c.toolchain.command("wasm-pack");
        wasm_pack
            .current_dir(&c.paths.root)
            .env("CARGO_TARGET_DIR", &c.paths.target)
            .arg("test")
            .args(environment)
            .args(["--mode", "no-install"])
            .env("TOKENKEEPER_DEVSERVER", &server.url)
            .env(
                "WASM_BINDGEN_TEST_ADDRESS",
                format!("127.0.0.1:{page_port}"),
            )
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env(
                "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
                c.paths.root.join("webdriver.json"),
            );
        runs.push(cmd::tee(&mut wasm_pack));
    }
    drop(server);
    let mut output = String::new();
    let mut status = None;
    for run in runs {
        let (s, out) = run?;
        output.push_str(&out);
        if status.is_none_or(|first: ExitStatus| first.success()) {
            status = Some(s);
        }
    }
    status
        .map(|s| (s, output))
        .ok_or_else(|| "no wasm-pack run".to_owned())
}

/// `node --test <path>` with the devserver binary in `DEVSERVER_BIN` (the
/// tests start their own devservers from it, on 127.0.0.1) and `env` added.
fn node_tests(c: &Ctx<'_>, path: &str, env: &[(&str, OsString)]) -> Outcome {
    let bin = match devserver::build(c.paths, &c.toolchain) {
        Ok(bin) => bin,
        Err(why) => return Outcome::check(Err(why)),
    };
    let mut node = c.toolchain.command("node");
    node.current_dir(&c.paths.root)
        .env("CARGO_TARGET_DIR", &c.paths.target)
        .env("DEVSERVER_BIN", bin)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--test", path]);
    Outcome::runner(cmd::tee(&mut node), node_counts)
}

/// The runtimes of the edge suites (`tests/edge/`: the example Worker in
/// Miniflare, which runs workerd with real KV namespaces and Durable
/// Objects; Deno and Node), from setup's edge-tools directory.
fn edge_tools(c: &Ctx<'_>) -> [(&'static str, OsString); 3] {
    [
        (
            "MINIFLARE",
            setup::edge_package(c.paths, "miniflare").into(),
        ),
        ("WORKERD_BIN", setup::edge_tool(c.paths, "workerd").into()),
        ("DENO_BIN", setup::edge_tool(c.paths, "deno").into()),
    ]
}

/// Runs setup and every suite, prints the summary, and fails when anything
/// failed. The summary's last line is the last line printed either way.
pub(crate) fn run(paths: &Paths) -> ExitCode {
    let mut results: Vec<(&str, Outcome, f64)> = Vec::new();
    let started = Instant::now();
    match setup::run(paths) {
        Ok(toolchain) => {
            let ctx = Ctx { paths, toolchain };
            println!(
                "test: toolchain {} ({})",
                ctx.toolchain.name(),
                ctx.toolchain.version()
            );
            for suite in suites() {
                println!("\n==> {}", suite.name);
                let t = Instant::now();
                let outcome = (suite.run)(&ctx);
                results.push((suite.name, outcome, t.elapsed().as_secs_f64()));
            }
        }
        Err(why) => results.push((
            "setup",
            Outcome::check(Err(why)),
            started.elapsed().as_secs_f64(),
        )),
    }

    println!("\nsummary:");
    let (mut passed, mut failed) = (0, 0);
    for (name, o, secs) in &results {
        let mark = if o.failed == 0 { "ok  " } else { "FAIL" };
        let note = o.note.as_deref().map(first_line).unwrap_or_default();
        println!(
            "  {mark} {name:<30} {:>4} passed {:>3} failed {secs:>6.1} s  {note}",
            o.passed, o.failed
        );
        passed += o.passed;
        failed += o.failed;
    }
    println!("  total {:.0} s", started.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Sums cargo's and wasm-bindgen-test-runner's `test result: … N passed; M failed` lines.
fn cargo_counts(output: &str) -> (u32, u32) {
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result:") else {
            continue;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let count = |label: &str| {
                words
                    .windows(2)
                    .find(|w| w[1] == label)
                    .and_then(|w| w[0].parse::<u32>().ok())
            };
            if let Some(n) = count("passed") {
                passed += n;
            }
            if let Some(n) = count("failed") {
                failed += n;
            }
        }
    }
    (passed, failed)
}

/// Reads `node --test`'s TAP summary (`# pass N`, `# fail M`).
fn node_counts(output: &str) -> (u32, u32) {
    let value = |label: &str| {
        output
            .lines()
            .filter_map(|l| l.trim().strip_prefix(label))
            .filter_map(|n| n.trim().parse::<u32>().ok())
            .next_back()
            .unwrap_or(0)
    };
    (value("# pass "), value("# fail "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cargo_and_wasm_bindgen_results() {
        let out = "running 2 tests\n\
            test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
            test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 filtered out; finished in 0.04s\n";
        assert_eq!(cargo_counts(out), (5, 1));
        assert_eq!(cargo_counts("error[E0425]: cannot find value"), (0, 0));
    }

    #[test]
    fn parses_node_tap_summary() {
        let out = "TAP version 13\nok 1 - imports\n1..2\n# tests 2\n# pass 2\n# fail 0\n";
        assert_eq!(node_counts(out), (2, 0));
    }

    #[test]
    fn named_checks_count_one_test_each() {
        let outcome = Outcome::checks(vec![("a", Ok(())), ("b", Err("why\nmore".into()))]);
        assert_eq!((outcome.passed, outcome.failed), (1, 1));
        assert_eq!(
            outcome.note.as_deref().map(first_line).as_deref(),
            Some("b: why")
        );
    }

    #[test]
    fn a_runner_that_ran_nothing_fails() {
        let ok = std::process::Command::new("true").status().unwrap();
        let outcome = Outcome::runner(Ok((ok, String::new())), node_counts);
        assert_eq!((outcome.passed, outcome.failed), (0, 1));
    }
}
