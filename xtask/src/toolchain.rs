//! Which Rust toolchain compiles for wasm32, and how child commands use it.
//!
//! Two routes give a toolchain with a `wasm32-unknown-unknown` standard
//! library (see `TOOLCHAIN.md` of the project's machines):
//!
//! * **rustup**: the active rustup toolchain, with the target already
//!   installed or added by `rustup target add` (bounded by a timeout, since
//!   its download can hang on a closed network);
//! * **debian**: Debian's `rustc-web`, with a wasm32 std built once from
//!   `rust-web-src` into `/usr/lib/rustlib`, linked into rustup as the
//!   custom toolchain `debian`.
//!
//! rustup's default toolchain is never changed: the chosen toolchain is
//! remembered in `<target>/xtask/toolchain` and every child cargo/rustc
//! command gets `RUSTUP_TOOLCHAIN=<chosen>`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Paths, Result, cmd};

/// The compilation target of the package.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The name under which the Debian toolchain is linked into rustup.
pub(crate) const DEBIAN_TOOLCHAIN: &str = "debian";

/// Debian packages of the Debian route.
pub(crate) const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld-22",
    "rustfmt-web",
    "rust-web-clippy",
];

/// Debian's rustc; its sysroot is `/usr` wherever it is called from.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Debian's cargo (not the rustup proxy).
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
/// Where Debian's rustc looks for the wasm32 std.
const DEBIAN_WASM_LIB: &str = "/usr/lib/rustlib/wasm32-unknown-unknown/lib";
/// `rustc -vV` of the compiler that built the rlibs in [`DEBIAN_WASM_LIB`].
const DEBIAN_STD_STAMP: &str = "/usr/lib/rustlib/wasm32-unknown-unknown/.built-by-rustc";
/// The std sources shipped by `rust-web-src`.
const DEBIAN_LIBRARY_SRC: &str = "/usr/lib/rustlib/src/rust/library";
/// The directory linked into rustup as the `debian` toolchain.
const DEBIAN_LINK_DIR: &str = "/opt/rust-debian";
/// Binaries the linked toolchain exposes (all from `/usr/bin`).
const DEBIAN_BINARIES: &[&str] = &[
    "rustc",
    "rustdoc",
    "cargo",
    "rustfmt",
    "cargo-fmt",
    "cargo-clippy",
    "clippy-driver",
];

/// How setup may obtain a wasm32 std (`WASM_ROUTE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Active rustup toolchain if it has or can get the target, else Debian.
    Auto,
    /// Active rustup toolchain only.
    Rustup,
    /// Debian's toolchain only.
    Debian,
}

impl Route {
    /// Reads `WASM_ROUTE` (unset or empty: `auto`).
    pub(crate) fn from_env() -> Result<Self> {
        match std::env::var("WASM_ROUTE").unwrap_or_default().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "rustup" => Ok(Self::Rustup),
            "debian" => Ok(Self::Debian),
            other => Err(format!(
                "WASM_ROUTE={other} is not one of auto, rustup, debian"
            )),
        }
    }
}

/// A rustup toolchain name, or `None` when there is no rustup (plain PATH tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Toolchain(pub(crate) Option<String>);

impl Toolchain {
    /// `cargo` (through the rustup proxy) pinned to this toolchain, run in the workspace root.
    pub(crate) fn cargo(&self, paths: &Paths) -> Command {
        let mut cmd = self.command("cargo");
        cmd.current_dir(&paths.root)
            .env("CARGO_TARGET_DIR", &paths.target);
        cmd
    }

    /// Any program whose nested cargo/rustc calls must use this toolchain.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        if let Some(name) = &self.0 {
            cmd.env("RUSTUP_TOOLCHAIN", name);
        }
        cmd
    }

    /// Display name.
    pub(crate) fn name(&self) -> &str {
        self.0.as_deref().unwrap_or("rustc on PATH")
    }

    /// `rustc --version` of this toolchain.
    pub(crate) fn version(&self) -> String {
        cmd::output(self.command("rustc").arg("--version"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|_| "unknown rustc".into())
    }

    /// True when the toolchain's wasm32 target libdir holds a `libstd`
    /// (exactly what wasm-pack checks too).
    pub(crate) fn has_wasm_std(&self) -> bool {
        let Ok(dir) = cmd::output(self.command("rustc").args([
            "--print",
            "target-libdir",
            "--target",
            WASM_TARGET,
        ])) else {
            return false;
        };
        has_libstd(Path::new(dir.trim()))
    }
}

/// True when `dir` holds a `libstd*.rlib`.
fn has_libstd(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libstd") && name.ends_with(".rlib")
        })
    })
}

/// The toolchain rustup picked for this xtask process (its default, an
/// override, or the user's `RUSTUP_TOOLCHAIN`); `None` without rustup.
pub(crate) fn active() -> Toolchain {
    match std::env::var("RUSTUP_TOOLCHAIN") {
        Ok(name) if !name.is_empty() => return Toolchain(Some(name)),
        _ => {}
    }
    let name = cmd::output(Command::new("rustup").args(["show", "active-toolchain"]))
        .ok()
        .and_then(|out| out.split_whitespace().next().map(str::to_owned));
    Toolchain(name)
}

/// The toolchain a previous setup chose, if any.
pub(crate) fn remembered(paths: &Paths) -> Option<Toolchain> {
    let text = fs::read_to_string(memo_path(paths)).ok()?;
    let name = text.trim();
    Some(Toolchain((!name.is_empty()).then(|| name.to_owned())))
}

/// Records the chosen toolchain for later `build`/`test` runs.
pub(crate) fn remember(paths: &Paths, toolchain: &Toolchain) -> Result {
    let path = memo_path(paths);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(&path, toolchain.0.as_deref().unwrap_or(""))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

fn memo_path(paths: &Paths) -> PathBuf {
    paths.xtask_dir().join("toolchain")
}

/// The toolchain for `build` and `test`: `WASM_ROUTE` when set, else what
/// setup remembered, else the active one; it must already have a wasm32 std
/// (this never installs anything).
pub(crate) fn for_wasm(paths: &Paths) -> Result<Toolchain> {
    let toolchain = match Route::from_env()? {
        Route::Debian => Toolchain(Some(DEBIAN_TOOLCHAIN.into())),
        Route::Rustup => active(),
        Route::Auto => remembered(paths).unwrap_or_else(active),
    };
    if toolchain.has_wasm_std() {
        Ok(toolchain)
    } else {
        Err(format!(
            "toolchain `{}` has no {WASM_TARGET} standard library; run `cargo xtask setup`",
            toolchain.name()
        ))
    }
}

/// `timeout -k 5 <secs> rustup target add wasm32-unknown-unknown --toolchain <tc>`.
pub(crate) fn rustup_target_add(toolchain: &Toolchain, secs: u32) -> Result {
    let mut cmd = Command::new("timeout");
    cmd.args([
        "-k",
        "5",
        &secs.to_string(),
        "rustup",
        "target",
        "add",
        WASM_TARGET,
    ]);
    if let Some(name) = &toolchain.0 {
        cmd.args(["--toolchain", name]);
    }
    cmd::output(&mut cmd).map(|_| ())
}

/// True when a `debian` toolchain is linked into rustup.
pub(crate) fn debian_linked() -> bool {
    cmd::output(Command::new("rustup").args(["toolchain", "list"])).is_ok_and(|out| {
        out.lines()
            .any(|l| l.split_whitespace().next() == Some(DEBIAN_TOOLCHAIN))
    })
}

/// `rustc -vV` of Debian's compiler (errors when it is not installed).
fn debian_rustc_vv() -> Result<String> {
    cmd::output(Command::new(DEBIAN_RUSTC).arg("-vV"))
}

/// True when the wasm32 std in Debian's sysroot was built by the installed rustc.
pub(crate) fn debian_std_current() -> bool {
    let Ok(current) = debian_rustc_vv() else {
        return false;
    };
    fs::read_to_string(DEBIAN_STD_STAMP).is_ok_and(|stamp| stamp == current)
        && has_libstd(Path::new(DEBIAN_WASM_LIB))
}

/// Builds the wasm32 std from `rust-web-src` with Debian's compiler (Rust's
/// own `dist` profile of the `library/` workspace, in a fresh target dir) and
/// installs the rlibs into Debian's sysroot, replacing any older ones.
pub(crate) fn build_debian_std(paths: &Paths) -> Result {
    let vv = debian_rustc_vv()?;
    let scratch = paths
        .xtask_dir()
        .join(format!("debian-std-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let built = cmd::output(
        Command::new(DEBIAN_CARGO)
            .current_dir(DEBIAN_LIBRARY_SRC)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env("RUSTC", DEBIAN_RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTFLAGS", "-Zforce-unstable-if-unmarked")
            .env("CARGO_TARGET_DIR", &scratch)
            .args([
                "build",
                "-p",
                "sysroot",
                "--features",
                "backtrace",
                "--target",
                WASM_TARGET,
                "--profile",
                "dist",
                "--locked",
            ]),
    );
    let installed = built.and_then(|_| {
        let deps = scratch.join(WASM_TARGET).join("dist").join("deps");
        install_rlibs(&deps, Path::new(DEBIAN_WASM_LIB))
    });
    let _ = fs::remove_dir_all(&scratch);
    installed?;
    fs::write(DEBIAN_STD_STAMP, vv).map_err(|e| format!("writing {DEBIAN_STD_STAMP}: {e}"))
}

/// Replaces the rlibs in `to` with those in `from`.
fn install_rlibs(from: &Path, to: &Path) -> Result {
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    fs::create_dir_all(to).map_err(|e| io("creating", to, e))?;
    for entry in fs::read_dir(to)
        .map_err(|e| io("reading", to, e))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().ends_with(".rlib") {
            fs::remove_file(entry.path()).map_err(|e| io("removing", &entry.path(), e))?;
        }
    }
    let mut copied = 0;
    for entry in fs::read_dir(from)
        .map_err(|e| io("reading", from, e))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().ends_with(".rlib") {
            let dest = to.join(entry.file_name());
            fs::copy(entry.path(), &dest).map_err(|e| io("copying to", &dest, e))?;
            copied += 1;
        }
    }
    if copied == 0 {
        return Err(format!("no rlibs were built in {}", from.display()));
    }
    Ok(())
}

/// Links Debian's binaries and sysroot into rustup as the `debian` toolchain
/// (without making it the default).
pub(crate) fn link_debian() -> Result {
    let dir = Path::new(DEBIAN_LINK_DIR);
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    fs::create_dir_all(dir.join("bin")).map_err(|e| io(dir, e))?;
    // rustup refuses to link a directory without lib/.
    fs::create_dir_all(dir.join("lib")).map_err(|e| io(dir, e))?;
    let mut links: Vec<(PathBuf, PathBuf)> = DEBIAN_BINARIES
        .iter()
        .map(|b| (PathBuf::from("/usr/bin").join(b), dir.join("bin").join(b)))
        .collect();
    links.push((
        PathBuf::from("/usr/lib/rustlib"),
        dir.join("lib").join("rustlib"),
    ));
    for (original, link) in links {
        if fs::read_link(&link).ok().as_deref() == Some(original.as_path()) {
            continue;
        }
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&original, &link).map_err(|e| io(&link, e))?;
    }
    if !debian_linked() {
        cmd::output(Command::new("rustup").args([
            "toolchain",
            "link",
            DEBIAN_TOOLCHAIN,
            DEBIAN_LINK_DIR,
        ]))?;
    }
    Ok(())
}

/// True when the `debian` toolchain's links are all in place.
pub(crate) fn debian_links_ok() -> bool {
    let dir = Path::new(DEBIAN_LINK_DIR);
    DEBIAN_BINARIES.iter().all(|b| {
        fs::read_link(dir.join("bin").join(b)).is_ok_and(|t| t == Path::new("/usr/bin").join(b))
    }) && fs::read_link(dir.join("lib").join("rustlib"))
        .is_ok_and(|t| t == Path::new("/usr/lib/rustlib"))
        && debian_linked()
}

/// The `wasm-bindgen` version pinned in `Cargo.lock`.
pub(crate) fn locked_wasm_bindgen(paths: &Paths) -> Result<String> {
    let lock = paths.root.join("Cargo.lock");
    let text = fs::read_to_string(&lock).map_err(|e| format!("reading {}: {e}", lock.display()))?;
    lock_version(&text, "wasm-bindgen")
        .ok_or_else(|| format!("{} has no wasm-bindgen package", lock.display()))
}

/// The version of package `name` in a `Cargo.lock` text (first match).
fn lock_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return version.strip_suffix('"').map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_version_from_a_lockfile() {
        let lock = "[[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.1\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            lock_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(lock_version(lock, "serde"), None);
    }
}
