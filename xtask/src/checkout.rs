//! One target directory for any number of checkouts.
//!
//! Cargo names a workspace crate's artifacts by its path relative to the
//! workspace, so checkouts sharing a target directory (as `.ci/run`'s
//! default, `$HOME/.cache/tokenkeeper/target`, makes them) share the
//! compiled workspace crates (the library and its `.wasm`, the test
//! binaries, the devserver, xtask itself), and cargo judges them up to
//! date by modification times. A checkout whose sources are older than
//! another checkout's last build would run that one's code: its tests,
//! its devserver, its `.wasm`.
//!
//! So the target directory records the checkout that last used it
//! (`<target>/xtask/checkout`). When another checkout claims it, the
//! fingerprints of the workspace crates are removed, in every profile and
//! target, and cargo compiles them from this checkout (seconds; the
//! dependencies stay shared). The running xtask binary may itself be the
//! other checkout's: [`claim`] tells the caller to run xtask again, which
//! cargo then compiles from this checkout.

use std::fs;
use std::path::Path;

use crate::{Paths, Result};

/// The packages of the workspace (`Cargo.toml`'s members), by the prefix
/// of their fingerprint directories.
const MEMBERS: [&str; 3] = ["tokenkeeper-", "devserver-", "xtask-"];

/// Records this checkout as the target directory's. When another checkout
/// (or one from before the record) had it, removes the workspace crates'
/// fingerprints and returns whether there were any: then the running xtask
/// may be the other checkout's.
pub(crate) fn claim(paths: &Paths) -> Result<bool> {
    let record = paths.xtask_dir().join("checkout");
    let root = paths.root.to_string_lossy();
    if fs::read_to_string(&record).is_ok_and(|last| last == root) {
        return Ok(false);
    }
    let forgot = forget_members(&paths.target)?;
    fs::create_dir_all(paths.xtask_dir())
        .map_err(|e| format!("creating {}: {e}", paths.xtask_dir().display()))?;
    fs::write(&record, root.as_bytes())
        .map_err(|e| format!("writing {}: {e}", record.display()))?;
    Ok(forgot)
}

/// Removes the workspace crates' fingerprints under `target` (in
/// `<profile>/.fingerprint` and `<triple>/<profile>/.fingerprint`);
/// returns whether there were any.
fn forget_members(target: &Path) -> Result<bool> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(target).into_iter().flatten().flatten() {
        let path = entry.path();
        dirs.push(path.join(".fingerprint"));
        for profile in fs::read_dir(&path).into_iter().flatten().flatten() {
            dirs.push(profile.path().join(".fingerprint"));
        }
    }
    let mut forgot = false;
    for dir in dirs {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if MEMBERS
                .iter()
                .any(|m| name.to_string_lossy().starts_with(m))
            {
                fs::remove_dir_all(entry.path())
                    .map_err(|e| format!("removing {}: {e}", entry.path().display()))?;
                forgot = true;
            }
        }
    }
    Ok(forgot)
}
