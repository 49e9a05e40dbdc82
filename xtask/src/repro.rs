//! A reproducible package: no file of it names a directory of the machine
//! that built it, so two builds of one tree give the same `npm pack`
//! tarball whatever the checkout, the target directory or the umask.
//!
//! Where such differences came from, and what keeps them out:
//!
//! * rustc's panic locations (file names in the `.wasm`'s data): the
//!   workspace's own sources are named relative to it and the standard
//!   library's as `/rustc/<commit>/…` (or Debian's fixed sysroot), but
//!   dependencies by their absolute path under `$CARGO_HOME/registry/src/`.
//!   `cargo xtask build` runs wasm-pack (which runs cargo) with
//!   [`wasm_rustflags`] in [`WASM_RUSTFLAGS`]:
//!   `--remap-path-prefix=$CARGO_HOME=/cargo`, for wasm32 compilations
//!   only, so host builds are untouched.
//! * esbuild's `// path` comment above each bundled module is relative to
//!   its working directory: it runs in the stage directory (`build.rs`).
//! * wasm-opt strips the name and producers sections (`--strip-debug`,
//!   `--strip-producers`).
//! * `npm pack` sets every entry's time to 1985-10-26, drops owners and
//!   orders the files itself (whatever order and times they have on disk),
//!   but keeps each file's mode, which the umask decided:
//!   [`normalise_modes`] makes every file `0644`.
//!
//! [`check_package`] ends every build: a package file that contains the
//! workspace root, the target directory, `$CARGO_HOME` or `$HOME` fails it,
//! whichever step put it there. [`two_checkouts`] (a suite of `cargo xtask
//! test`) builds copies of the work tree elsewhere and compares tarballs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::toolchain::Toolchain;
use crate::{Paths, Result, cmd};

/// The variable cargo reads as `target.wasm32-unknown-unknown.rustflags`.
/// `RUSTFLAGS` or `CARGO_ENCODED_RUSTFLAGS` in the environment replace it;
/// then [`check_package`] reports whatever leaks.
pub(crate) const WASM_RUSTFLAGS: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS";

/// The value for [`WASM_RUSTFLAGS`]: the caller's flags plus the remap of
/// `$CARGO_HOME` (added once: a nested xtask inherits it, and a repeated
/// flag would change the flags and rebuild everything). `None` when there
/// is no usable cargo home (a path with whitespace cannot be passed this
/// way).
pub(crate) fn wasm_rustflags() -> Option<String> {
    let home = cargo_home()?;
    let home = home
        .to_str()
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))?;
    let remap = format!("--remap-path-prefix={home}=/cargo");
    let mut flags = std::env::var(WASM_RUSTFLAGS).unwrap_or_default();
    if !flags.split_whitespace().any(|f| f == remap) {
        if !flags.trim().is_empty() {
            flags.push(' ');
        }
        flags.push_str(&remap);
    }
    Some(flags)
}

/// Cargo's home: `$CARGO_HOME` (relative to the current directory when
/// relative, as cargo takes it), else `$HOME/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            Some(if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().ok()?.join(dir)
            })
        }
        _ => home().map(|h| h.join(".cargo")),
    }
}

/// `$HOME`, when set and not empty.
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The directories of this machine that no package file may contain, as
/// given and canonical, longest first, each with what it is.
fn machine_dirs(paths: &Paths) -> Vec<(String, &'static str)> {
    let mut dirs: Vec<(PathBuf, &'static str)> = vec![
        (paths.root.clone(), "the workspace root"),
        (paths.target.clone(), "the target directory"),
    ];
    if let Some(dir) = cargo_home() {
        dirs.push((dir, "$CARGO_HOME"));
    }
    if let Some(dir) = home() {
        dirs.push((dir, "$HOME"));
    }
    let mut needles: Vec<(String, &'static str)> = Vec::new();
    for (dir, what) in dirs {
        let canonical = fs::canonicalize(&dir).ok();
        for dir in std::iter::once(dir).chain(canonical) {
            let text = dir.to_string_lossy().trim_end_matches('/').to_owned();
            // `/` or a one-letter directory would match anything.
            if text.len() < 3 {
                continue;
            }
            // `/home/u/` rather than `/home/u`, which also starts `/home/uv`.
            let text = if what == "$HOME" {
                format!("{text}/")
            } else {
                text
            };
            if !needles.iter().any(|(n, _)| *n == text) {
                needles.push((text, what));
            }
        }
    }
    needles.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    needles
}

/// Fails when a file of `pkg` contains a directory of this machine: the
/// workspace root, the target directory, `$CARGO_HOME` or `$HOME`.
pub(crate) fn check_package(paths: &Paths, pkg: &Path) -> Result {
    let needles = machine_dirs(paths);
    let mut found = Vec::new();
    for file in files_under(pkg)? {
        let bytes = read(&file)?;
        for (needle, what) in &needles {
            if let Some(at) = find(&bytes, needle.as_bytes()) {
                let name = file.strip_prefix(pkg).unwrap_or(&file).display();
                found.push(format!(
                    "{name}: {what} ({needle}) in `{}`",
                    excerpt(&bytes, at, needle.len())
                ));
                break;
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the package names directories of the build machine, so it differs between checkouts and \
         target directories (for a `.wasm`: is RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS set? They replace \
         the `--remap-path-prefix` xtask passes in {WASM_RUSTFLAGS}):\n  {}",
        found.join("\n  ")
    ))
}

/// Gives every file under `pkg` mode `0644`: `npm pack` records each
/// file's mode as it is on disk, so a build under another umask would
/// otherwise pack other bytes.
pub(crate) fn normalise_modes(pkg: &Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    for file in files_under(pkg)? {
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644))
            .map_err(|e| format!("setting the mode of {}: {e}", file.display()))?;
    }
    Ok(())
}

/// Every file under `dir`, recursively, in a stable order.
pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The printable text around `bytes[at..at + len]`, for a message.
fn excerpt(bytes: &[u8], at: usize, len: usize) -> String {
    let start = at.saturating_sub(24);
    let end = (at + len + 40).min(bytes.len());
    bytes[start..end]
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '·'
            }
        })
        .collect()
}

/// What checkout B's `src/lib.rs` says instead of the crate version.
const MARKER: &str = "0.0.0-checkout-b";

/// The line of `src/lib.rs` that B's copy replaces with [`MARKER`].
const VERSION_LINE: &str = "pub const VERSION: &str = env!(\"CARGO_PKG_VERSION\");";

/// The suite `package: two checkouts, one target dir`; one named result
/// per check. The work tree (tracked and untracked files that git does not
/// ignore, as they are now) is copied twice into the temporary directory,
/// and each copy is built by `cargo xtask build` run in it, both with one
/// new target directory T2, which starts empty:
///
/// 1. **Reproducible.** Copy A differs from the package build's tree in
///    its path, its target directory (everything compiled again, the
///    dependencies too), the umask (`077`) and `TZ`; the same inputs. Its
///    `npm pack` tarball must equal, byte for byte, the one of `pkg/`
///    from the `package build` suite.
/// 2. **Its own tree.** Copy B says [`MARKER`] instead of the version in
///    `src/lib.rs`, and was copied before A was built, so its sources are
///    older than A's compiled crate in T2 (which cargo, judging by
///    modification times, would otherwise take as up to date). B starts
///    the xtask binary A compiled, which must find B by
///    `CARGO_MANIFEST_DIR` at run time and claim the target directory for
///    it (checkout.rs). B's `pkg/` must exist and its `.wasm` answer
///    `version()` with the marker.
/// 3. **Its own folder.** A's `pkg/` is unchanged after B's build: it
///    packs to the same tarball and its `version()` is still the crate's.
///
/// The copies are listed by `git ls-files`; the work tree must not change
/// between the package build and this suite (check 1 would report the
/// edited file). About 40–60 s on 2 cores, most of it A's build from
/// scratch; the temporary directory is removed afterwards.
pub(crate) fn two_checkouts(paths: &Paths, toolchain: &Toolchain) -> Vec<(&'static str, Result)> {
    let scratch =
        std::env::temp_dir().join(format!("tokenkeeper-checkouts-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let results = match Checkouts::prepare(paths, toolchain, &scratch) {
        Ok(checkouts) => checkouts.run(),
        Err(why) => CHECKS
            .iter()
            .map(|name| (*name, Err(why.clone())))
            .collect(),
    };
    let _ = fs::remove_dir_all(&scratch);
    results
}

/// The names of the checks of [`two_checkouts`], in order.
const CHECKS: [&str; 3] = [
    "checkout A (other path, target dir, umask): identical npm pack",
    "checkout B (older sources, shared target dir): built its own tree",
    "checkout A's package untouched by B's build",
];

/// The scratch copies of [`two_checkouts`].
struct Checkouts<'a> {
    /// The toolchain of the run (its name goes to the copies' cargo).
    toolchain: &'a Toolchain,
    /// The temporary directory holding everything below.
    scratch: PathBuf,
    /// The tarball of the package build's `pkg/`.
    first: PathBuf,
    /// What `version()` of the package build's `.wasm` answers.
    version: String,
    /// Copy A, the same tree.
    a: PathBuf,
    /// Copy B, with [`MARKER`].
    b: PathBuf,
    /// The target directory both copies share.
    target: PathBuf,
}

impl<'a> Checkouts<'a> {
    /// Packs the package build's `pkg/` and makes the two copies.
    fn prepare(paths: &Paths, toolchain: &'a Toolchain, scratch: &Path) -> Result<Self> {
        let t = Instant::now();
        let pkg = paths.pkg();
        if !pkg.join("package.json").is_file() {
            return Err(format!(
                "{} holds no package (the package build failed?)",
                pkg.display()
            ));
        }
        // A private copy: another build in this checkout may empty pkg/.
        let first_pkg = scratch.join("first/pkg");
        copy_tree(&pkg, &first_pkg)?;
        let first = pack(&first_pkg, &scratch.join("first"))?;
        let version = wasm_version(toolchain, &first_pkg)?;

        let files = work_tree_files(&paths.root)?;
        // Paths of other lengths than each other's and the original's.
        let a = scratch.join("elsewhere/tk");
        let b = scratch.join("second/tokenkeeper-checkout-b");
        for copy in [&a, &b] {
            for file in &files {
                let from = paths.root.join(file);
                if from.is_file() {
                    copy_tree(&from, &copy.join(file))?;
                }
            }
            // The Node tools (esbuild, wasm-opt) of this checkout.
            let modules = paths.root.join("node_modules");
            std::os::unix::fs::symlink(&modules, copy.join("node_modules"))
                .map_err(|e| format!("linking {}: {e}", modules.display()))?;
        }
        let lib = b.join("src/lib.rs");
        let text =
            fs::read_to_string(&lib).map_err(|e| format!("reading {}: {e}", lib.display()))?;
        if !text.contains(VERSION_LINE) {
            return Err(format!("src/lib.rs has no `{VERSION_LINE}` line to mark"));
        }
        let marked = text.replace(
            VERSION_LINE,
            &format!("pub const VERSION: &str = \"{MARKER}\";"),
        );
        fs::write(&lib, marked).map_err(|e| format!("writing {}: {e}", lib.display()))?;

        let target = scratch.join("target");
        // The toolchain setup chose (the build reads it from the target dir).
        let memo = Path::new("xtask/toolchain");
        if paths.target.join(memo).is_file() {
            copy_tree(&paths.target.join(memo), &target.join(memo))?;
        }
        println!(
            "test: {} files copied to A {} and B {} in {:.1} s; shared target dir T2 {}",
            files.len(),
            a.display(),
            b.display(),
            t.elapsed().as_secs_f64(),
            target.display()
        );
        Ok(Self {
            toolchain,
            scratch: scratch.to_path_buf(),
            first,
            version,
            a,
            b,
            target,
        })
    }

    /// Builds A, then B, and checks each.
    fn run(&self) -> Vec<(&'static str, Result)> {
        let xtask_bin = self.target.join("debug/xtask");
        let a = self
            .build(&self.a, "A", true)
            .and_then(|()| pack(&self.a.join("pkg"), &self.scratch.join("a")));
        let reproducible = a.as_ref().map_err(Clone::clone).and_then(|tarball| {
            same_tarball(&self.first, tarball, &self.scratch.join("diff-a"))?;
            println!(
                "test: A's npm pack equals the package build's byte for byte ({} bytes)",
                read(tarball)?.len()
            );
            Ok(())
        });
        let xtask_after_a = modified(&xtask_bin);

        let b = self.build(&self.b, "B", false).and_then(|()| {
            if modified(&xtask_bin) == xtask_after_a {
                println!("test: B ran the xtask binary compiled for A");
            }
            let pkg = self.b.join("pkg");
            if !pkg.join("package.json").is_file() {
                return Err(format!("B's build left no package in {}", pkg.display()));
            }
            let version = wasm_version(self.toolchain, &pkg)?;
            if version != MARKER {
                return Err(format!(
                    "B's .wasm answers version() = {version}, not B's {MARKER}: it was compiled \
                     from another checkout's sources"
                ));
            }
            println!("test: B's package is in B's folder; its .wasm says {MARKER}");
            Ok(())
        });

        let untouched = a.as_ref().map_err(Clone::clone).and_then(|before| {
            let after = pack(&self.a.join("pkg"), &self.scratch.join("a-again"))?;
            same_tarball(before, &after, &self.scratch.join("diff-a-again"))?;
            let version = wasm_version(self.toolchain, &self.a.join("pkg"))?;
            if version != self.version {
                return Err(format!(
                    "A's .wasm answers version() = {version} after B's build"
                ));
            }
            println!("test: A's package is unchanged (version() = {version})");
            Ok(())
        });
        vec![
            (CHECKS[0], reproducible),
            (CHECKS[1], b),
            (CHECKS[2], untouched),
        ]
    }

    /// `cargo xtask build` in `checkout` with the shared target directory;
    /// `other_env`: under umask 077 and another time zone.
    fn build(&self, checkout: &Path, name: &str, other_env: bool) -> Result {
        let t = Instant::now();
        let umask = if other_env { "077" } else { "022" };
        let mut sh = self.toolchain.command("sh");
        sh.current_dir(checkout)
            .args(["-c", &format!("umask {umask} && exec cargo xtask build")])
            .env("CARGO_TARGET_DIR", &self.target)
            // cargo sets these for the xtask it runs; none may come from here.
            .env_remove("CARGO_MANIFEST_DIR")
            .env_remove("CARGO_MANIFEST_PATH");
        if other_env {
            sh.env("TZ", "Pacific/Kiritimati");
        }
        cmd::output(&mut sh).map_err(|e| format!("building checkout {name}: {e}"))?;
        println!(
            "test: `cargo xtask build` in {name} (umask {umask}) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// The modification time of `path`, if it has one.
fn modified(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The work tree's files as git sees them: tracked and untracked ones, not
/// ignored ones (`pkg/`, `node_modules/`, targets), relative to `root`.
fn work_tree_files(root: &Path) -> Result<Vec<PathBuf>> {
    let list = cmd::output(Command::new("git").current_dir(root).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]))?;
    let files: Vec<PathBuf> = list
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        return Err(format!("git lists no files in {}", root.display()));
    }
    Ok(files)
}

/// What `version()` of the package in `pkg` answers (its Node entry).
fn wasm_version(toolchain: &Toolchain, pkg: &Path) -> Result<String> {
    let out = cmd::output(
        toolchain
            .command("node")
            .args(["--input-type=module", "-e"])
            .arg("const m = await import(process.argv[1]); console.log(m.version());")
            .arg(pkg.join("node.js")),
    )?;
    Ok(out.trim().to_owned())
}

/// `npm pack` of `pkg` into `dest`; the tarball's path.
fn pack(pkg: &Path, dest: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    cmd::output(
        Command::new("npm")
            .current_dir(pkg)
            .args(["pack", "--silent", "--ignore-scripts", "--pack-destination"])
            .arg(dest),
    )?;
    let tarballs: Vec<PathBuf> = files_under(dest)?
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "tgz"))
        .collect();
    match tarballs.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "npm pack left {} tarballs in {}",
            tarballs.len(),
            dest.display()
        )),
    }
}

/// Fails, naming what differs, unless the two tarballs are equal byte for byte.
fn same_tarball(expected: &Path, actual: &Path, scratch: &Path) -> Result {
    let (x, y) = (read(expected)?, read(actual)?);
    if x == y {
        return Ok(());
    }
    Err(format!(
        "npm pack differs ({} and {} bytes):\n{}",
        x.len(),
        y.len(),
        tarball_differences(expected, actual, scratch)
    ))
}

/// Which files of two package tarballs differ, and how (or what tar says).
fn tarball_differences(a: &Path, b: &Path, scratch: &Path) -> String {
    let list = |tgz: &Path| cmd::output(Command::new("tar").arg("-tvzf").arg(tgz));
    let unpack = |tgz: &Path, name: &str| -> Result<PathBuf> {
        let dir = scratch.join(name);
        fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        cmd::output(Command::new("tar").arg("-xzf").arg(tgz).arg("-C").arg(&dir))?;
        Ok(dir)
    };
    let (da, db) = match (unpack(a, "expected"), unpack(b, "actual")) {
        (Ok(da), Ok(db)) => (da, db),
        (Err(e), _) | (_, Err(e)) => return format!("  (could not unpack: {e})"),
    };
    let relative = |dir: &Path| -> Vec<PathBuf> {
        files_under(dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| f.strip_prefix(dir).ok().map(Path::to_path_buf))
            .collect()
    };
    let (fa, fb) = (relative(&da), relative(&db));
    let mut lines = Vec::new();
    for f in fa.iter().filter(|f| !fb.contains(f)) {
        lines.push(format!("  only in the first: {}", f.display()));
    }
    for f in fb.iter().filter(|f| !fa.contains(f)) {
        lines.push(format!("  only in the second: {}", f.display()));
    }
    for f in fa.iter().filter(|f| fb.contains(f)) {
        let (x, y) = (
            fs::read(da.join(f)).unwrap_or_default(),
            fs::read(db.join(f)).unwrap_or_default(),
        );
        if x == y {
            continue;
        }
        let at = x.iter().zip(&y).position(|(p, q)| p != q).unwrap_or(0);
        lines.push(format!(
            "  {} differs at byte {at}: `{}` / `{}`",
            f.display(),
            excerpt(&x, at, 0),
            excerpt(&y, at, 0)
        ));
    }
    if lines.is_empty() {
        // Same names and contents: the entries' headers (mode, time) differ.
        lines.push("  the same files with the same contents; the entries:".into());
        for tgz in [a, b] {
            lines.push(list(tgz).unwrap_or_else(|e| e));
        }
    }
    lines.join("\n")
}

/// The bytes of `path`.
fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Copies the file or directory `from` to `to` (parents created). Symbolic
/// links are followed.
fn copy_tree(from: &Path, to: &Path) -> Result {
    let failed = |e: std::io::Error| format!("copying {} to {}: {e}", from.display(), to.display());
    if from.is_file() {
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(failed)?;
        }
        return fs::copy(from, to).map(|_| ()).map_err(failed);
    }
    for file in files_under(from)? {
        let relative = file.strip_prefix(from).map_err(|e| e.to_string())?;
        copy_tree(&file, &to.join(relative))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_directory_anywhere_in_a_file() {
        assert_eq!(find(b"// ../../root/.cache/x", b"/root/.cache"), Some(8));
        assert_eq!(find(b"short", b"longer needle"), None);
        assert_eq!(excerpt(b"a\0b/root/c", 3, 5), "a·b/root/c");
    }

    #[test]
    fn the_package_check_names_the_file_and_the_directory() {
        let scratch =
            std::env::temp_dir().join(format!("tokenkeeper-check-{}", std::process::id()));
        let pkg = scratch.join("pkg");
        fs::create_dir_all(&pkg).unwrap();
        let paths = Paths {
            root: scratch.join("checkout"),
            target: scratch.join("elsewhere/target"),
        };
        fs::write(pkg.join("clean.js"), "// tokenkeeper.js\nexport {};\n").unwrap();
        assert_eq!(check_package(&paths, &pkg), Ok(()));
        let leak = format!("// {}/xtask/bindgen/keeper.js\n", paths.target.display());
        fs::write(pkg.join("index.js"), leak).unwrap();
        let err = check_package(&paths, &pkg).unwrap_err();
        fs::remove_dir_all(&scratch).unwrap();
        assert!(err.contains("index.js: the target directory"), "{err}");
        assert!(!err.contains("clean.js"), "{err}");
    }

    #[test]
    fn modes_are_normalised() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tokenkeeper-modes-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("index.js");
        fs::write(&file, "export {};\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        normalise_modes(&dir).unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn the_remap_is_added_once() {
        let Some(flags) = wasm_rustflags() else {
            return;
        };
        assert_eq!(flags.matches("--remap-path-prefix=").count(), 1, "{flags}");
        assert!(flags.ends_with("=/cargo"), "{flags}");
    }
}
