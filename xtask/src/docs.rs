//! `cargo xtask docs`: the API reference, Markdown in `docs/api/`.
//!
//! Runs the set-up (`setup::run`, as `cargo xtask test` does; its `npm ci`
//! installs TypeDoc from `xtask/typedoc/`), builds the package
//! (`build::run`) so that the types are the ones that ship, then runs
//! TypeDoc with typedoc-plugin-markdown over the `.d.ts` of every subpath
//! that `pkg/package.json` exports: one page per subpath, named by its
//! specifier (`tokenkeeper`, `tokenkeeper/init`, …). Any TypeDoc warning
//! or type error fails the run: a `{@link}` that does not resolve, an
//! exported declaration or member without a doc comment, a type the entries
//! use but do not export, an import that does not resolve. The pages name
//! no path and no date, so the same types give the same bytes; the suite
//! "API reference" of `cargo xtask test` generates them again and compares
//! them with `docs/api/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Paths, Result, build, cmd, setup};

/// The npm project that pins TypeDoc, the Markdown plugin and the
/// TypeScript they use (TypeScript 7, the root's, has no compiler API for
/// TypeDoc); the root project depends on it, so it shares the root lockfile.
const TOOLS: &str = "xtask/typedoc";
/// The reference in the repository.
const OUT: &str = "docs/api";

/// Lists `name<TAB>types` for every subpath export of the package.json given
/// as argument that has types: the `types` of the subpath, else of its
/// `default` condition (what a browser or bundler gets; the other
/// conditions give the same API, `workerd` with the Workers helpers added).
const ENTRIES_SCRIPT: &str = r#"
const pkg = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
for (const [subpath, target] of Object.entries(pkg.exports)) {
  const types = typeof target === 'object' ? (target.types ?? target.default?.types) : undefined;
  if (types) console.log(`${pkg.name}${subpath.slice(1)}\t${types.replace(/^\.\//, '')}`);
}
"#;

/// The compiler options TypeDoc reads the types with: the package's
/// `.d.ts` files and the libraries they import are type-checked (TypeDoc
/// fails on an error), so a type that does not resolve is an error rather
/// than an `any` in the reference; no `@types` package is included unasked.
const TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "es2022",
    "module": "esnext",
    "moduleResolution": "bundler",
    "lib": ["es2022", "dom"],
    "types": [],
    "strict": true,
    "skipDefaultLibCheck": true,
    "noEmit": true
  }
}
"#;

/// The constructor type inside `CompiledWasmModule`'s condition: TypeDoc
/// reads no doc comment for a constructor type, so it cannot have one.
const NOT_DOCUMENTABLE: &str =
    "tokenkeeper/init.CompiledWasmModule.__type.WebAssembly.__type.Module.__type";

/// Builds the package and writes its API reference into `docs/api/`.
pub(crate) fn run(paths: &Paths) -> Result {
    let started = Instant::now();
    setup::run(paths)?;
    let pkg = build::run(paths)?;
    let generated = generate(paths, &pkg)?;
    let out = paths.root.join(OUT);
    let _ = fs::remove_dir_all(&out);
    let pages = copy_tree(&generated, &out)?;
    println!(
        "docs: wrote {pages} pages into {} in {:.1} s (start at {OUT}/README.md)",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The suite of `cargo xtask test`, on the package built before it: the
/// reference builds without a warning, and `docs/api/` is what it builds.
pub(crate) fn check(paths: &Paths) -> Vec<(&'static str, Result)> {
    match generate(paths, &paths.pkg()) {
        Ok(generated) => vec![
            ("API reference builds without warnings", Ok(())),
            (
                "docs/api is current",
                compare(&generated, &paths.root.join(OUT)),
            ),
        ],
        Err(why) => vec![
            ("API reference builds without warnings", Err(why)),
            (
                "docs/api is current",
                Err("the reference did not build".into()),
            ),
        ],
    }
}

/// Runs TypeDoc over the package in `pkg` into `<target dir>/xtask/typedoc/out`
/// and returns that directory. The `.d.ts` files are read from a copy in
/// which every entry names its module by its specifier: with `@module` in
/// its first doc comment, or one added to the copy. The libraries the
/// types import (`react`, `vue`, `svelte/store` for the framework
/// bindings) resolve from the toolchain matrix's `node_modules`, which
/// setup installs and which pins the versions the bindings are tested with.
fn generate(paths: &Paths, pkg: &Path) -> Result<PathBuf> {
    let typedoc = paths.root.join(TOOLS).join("node_modules/.bin/typedoc");
    if !typedoc.exists() {
        return Err(format!(
            "{} not found; run `cargo xtask setup`",
            typedoc.display()
        ));
    }
    let work = paths.xtask_dir().join("typedoc");
    let (stage, out) = (work.join("stage"), work.join("out"));
    for dir in [&stage, &out] {
        let _ = fs::remove_dir_all(dir);
    }
    fs::create_dir_all(&stage).map_err(|e| format!("creating {}: {e}", stage.display()))?;

    let entries = entries(pkg)?;
    let listing = fs::read_dir(pkg).map_err(|e| format!("reading {}: {e}", pkg.display()))?;
    for file in listing.flatten() {
        let name = file.file_name();
        if name.to_string_lossy().ends_with(".d.ts") {
            copy(&file.path(), &stage.join(&name))?;
        }
    }
    for (specifier, file) in &entries {
        name_module(&stage.join(file), specifier)?;
    }
    write(&stage.join("tsconfig.json"), TSCONFIG)?;
    let libraries = setup::toolchains_dir(paths).join("node_modules");
    if !libraries.exists() {
        return Err(format!(
            "{} not found; run `cargo xtask setup`",
            libraries.display()
        ));
    }
    std::os::unix::fs::symlink(&libraries, stage.join("node_modules"))
        .map_err(|e| format!("linking {}: {e}", libraries.display()))?;

    println!(
        "docs: TypeDoc over {}",
        entries
            .iter()
            .map(|(specifier, file)| format!("{specifier} ({file})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    cmd::stream(
        Command::new(&typedoc)
            .current_dir(&stage)
            .args(["--tsconfig", "tsconfig.json", "--name", "tokenkeeper"])
            .args(["--plugin", "typedoc-plugin-markdown", "--plugin"])
            .arg(paths.root.join(TOOLS).join("union-members.mjs"))
            // One page per entry, after an index of them; no README page.
            .args(["--outputFileStrategy", "modules", "--readme", "none"])
            // An `<a id>` before each heading: the plugin's anchors are not
            // always the ones a Markdown renderer makes from the heading.
            .args(["--hidePageHeader", "--useHTMLAnchors"])
            // No "Defined in" lines (paths and line numbers of the
            // package build) and no git lookup.
            .args(["--disableSources", "--disableGit"])
            // A declaration that an entry re-exports from another
            // (`tokenkeeper/init` and `tokenkeeper/workers` re-export
            // `tokenkeeper`) is documented once, where it is declared.
            .arg("--excludeReferences")
            // Every exported declaration and member has a doc comment; a
            // warning of any kind fails the run.
            .args(["--validation.notDocumented", "--treatWarningsAsErrors"])
            .args(["--intentionallyNotDocumented", NOT_DOCUMENTABLE])
            .arg("--out")
            .arg(&out)
            .args(entries.iter().map(|(_, file)| file)),
    )?;
    Ok(out)
}

/// The package's entries, `(specifier, .d.ts file)`, from its `package.json`.
fn entries(pkg: &Path) -> Result<Vec<(String, String)>> {
    let manifest = pkg.join("package.json");
    if !manifest.exists() {
        return Err(format!(
            "{} not found; run `cargo xtask build`",
            manifest.display()
        ));
    }
    let listing = cmd::output(
        Command::new("node")
            .arg("-e")
            .arg(ENTRIES_SCRIPT)
            .arg(&manifest),
    )?;
    let entries: Vec<(String, String)> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(specifier, file)| (specifier.to_owned(), file.to_owned()))
        .collect();
    if entries.is_empty() {
        return Err(format!("{} exports no types", manifest.display()));
    }
    Ok(entries)
}

/// Makes the module of the `.d.ts` file at `path` be named `specifier`:
/// a file that names its module must name it so; one that does not gets a
/// first doc comment naming it.
fn name_module(path: &Path, specifier: &str) -> Result {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    match module_tag(&text) {
        Some(name) if name == specifier => Ok(()),
        Some(name) => Err(format!(
            "{} names its module `{name}`, but the package exports it as `{specifier}`",
            path.file_name().unwrap_or_default().to_string_lossy()
        )),
        None => write(path, &format!("/** @module {specifier} */\n{text}")),
    }
}

/// The name after the first `@module` tag in `text`, if any.
fn module_tag(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("@module")?;
    rest.split_whitespace()
        .next()
        .filter(|name| !name.starts_with('*'))
}

/// Whether the trees `generated` and `committed` hold the same files with
/// the same bytes; the error lists the files that differ.
fn compare(generated: &Path, committed: &Path) -> Result {
    let (new, old) = (files(generated)?, files(committed)?);
    let mut differ: Vec<String> = new
        .iter()
        .filter(|(name, bytes)| old.get(*name) != Some(bytes))
        .map(|(name, _)| name.display().to_string())
        .collect();
    differ.extend(
        old.keys()
            .filter(|name| !new.contains_key(*name))
            .map(|name| format!("{} (no longer generated)", name.display())),
    );
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{OUT}/ is not what the types give ({}); run `cargo xtask docs` and commit {OUT}/",
            differ.join(", ")
        ))
    }
}

/// Every file below `dir` by its path relative to `dir`, with its bytes;
/// none when `dir` does not exist.
fn files(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let Ok(listing) = fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in listing.flatten() {
            let name = relative.join(entry.file_name());
            if entry.path().is_dir() {
                pending.push(name);
            } else {
                let bytes = fs::read(entry.path())
                    .map_err(|e| format!("reading {}: {e}", entry.path().display()))?;
                found.insert(name, bytes);
            }
        }
    }
    Ok(found)
}

/// Copies the files below `from` to the same paths below `to`; returns
/// how many.
fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    let found = files(from)?;
    for (name, bytes) in &found {
        let path = to.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        fs::write(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(found.len())
}

fn copy(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result {
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_module_tag() {
        let text = "/**\n * The API.\n *\n * @module tokenkeeper/init\n */\nexport * from './keeper.js';\n";
        assert_eq!(module_tag(text), Some("tokenkeeper/init"));
        assert_eq!(
            module_tag("/** @module tokenkeeper */"),
            Some("tokenkeeper")
        );
        assert_eq!(module_tag("// Types.\nexport type A = 1;\n"), None);
    }

    #[test]
    fn compares_trees_by_path_and_bytes() {
        let scratch =
            std::env::temp_dir().join(format!("xtask-docs-compare-{}", std::process::id()));
        let (new, old) = (scratch.join("new"), scratch.join("old"));
        for dir in [&new, &old] {
            fs::create_dir_all(dir.join("tokenkeeper")).unwrap();
            fs::write(dir.join("README.md"), "# tokenkeeper\n").unwrap();
            fs::write(dir.join("tokenkeeper/init.md"), "# init\n").unwrap();
        }
        assert_eq!(compare(&new, &old), Ok(()));
        fs::write(old.join("tokenkeeper/init.md"), "# old\n").unwrap();
        fs::write(old.join("gone.md"), "").unwrap();
        let why = compare(&new, &old).unwrap_err();
        assert!(why.contains("tokenkeeper/init.md"), "{why}");
        assert!(why.contains("gone.md (no longer generated)"), "{why}");
        let copied = scratch.join("copied");
        assert_eq!(copy_tree(&new, &copied), Ok(2));
        assert_eq!(compare(&new, &copied), Ok(()));
        fs::remove_dir_all(&scratch).unwrap();
    }
}
