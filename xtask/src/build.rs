//! `cargo xtask build`: the release npm package in `pkg/`.
//!
//! cargo (release, wasm32) → `wasm-bindgen --target web` → `wasm-opt -Oz`
//! → `src/js/keeper.js` (the `TokenKeeper` class) and its types
//! → the hand-written entry files, `package.json` and README from
//! `pkg-templates/` (placeholders filled from `Cargo.toml`) → size report.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::{self, WASM_TARGET};
use crate::{Paths, Result, cmd, sizes};

/// The crate's name, which is also the npm package's file stem.
const CRATE: &str = "tokenkeeper";

/// wasm features the module uses; all are supported by Node 20, Chromium,
/// Firefox, Safari 15+, Deno and workerd. Passed to wasm-opt so it neither
/// rejects nor strips them.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds the package into `pkg/` and returns its directory.
pub(crate) fn run(paths: &Paths) -> Result<PathBuf> {
    let toolchain = toolchain::for_wasm(paths)?;
    // A failed build must not leave an older package behind to be tested.
    let pkg = paths.pkg();
    let _ = fs::remove_dir_all(&pkg);
    println!(
        "build: cargo build --release --target {WASM_TARGET} ({})",
        toolchain.version()
    );
    cmd::stream(toolchain.cargo(paths).args([
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "-p",
        CRATE,
        "--lib",
    ]))?;
    let linked = paths
        .target
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{CRATE}.wasm"));

    let bindgen_dir = paths.xtask_dir().join("bindgen");
    recreate(&bindgen_dir)?;
    println!("build: wasm-bindgen --target web");
    cmd::output(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--omit-default-module-path"])
            .arg("--out-name")
            .arg(CRATE)
            .arg("--out-dir")
            .arg(&bindgen_dir)
            .arg(&linked),
    )?;

    recreate(&pkg)?;
    let wasm_name = format!("{CRATE}_bg.wasm");
    for name in [format!("{CRATE}.d.ts"), format!("{wasm_name}.d.ts")] {
        copy(&bindgen_dir.join(&name), &pkg.join(&name))?;
    }
    let snippets = flatten_snippets(&bindgen_dir, &pkg)?;

    let wasm_opt = paths.root.join("node_modules/.bin/wasm-opt");
    if !wasm_opt.exists() {
        return Err(format!(
            "{} not found; run `cargo xtask setup`",
            wasm_opt.display()
        ));
    }
    println!("build: wasm-opt -Oz");
    cmd::output(
        Command::new(&wasm_opt)
            .arg("-Oz")
            .args(WASM_FEATURES)
            .args(["--strip-debug", "--strip-producers"])
            .arg(bindgen_dir.join(&wasm_name))
            .arg("-o")
            .arg(pkg.join(&wasm_name)),
    )?;

    // The hand-written half of the JS API: the TokenKeeper class.
    for name in ["keeper.js", "keeper.d.ts"] {
        copy(&paths.root.join("src/js").join(name), &pkg.join(name))?;
    }

    let version = fill_templates(paths, &pkg)?;
    println!("build: package files from pkg-templates/ (version {version})");

    let unoptimised = bindgen_dir.join(&wasm_name);
    let wasm = pkg.join(&wasm_name);
    let glue = pkg.join(format!("{CRATE}.js"));
    let class = pkg.join("keeper.js");
    let mut files = vec![unoptimised.as_path(), &wasm, &glue, &class];
    files.extend(snippets.iter().map(PathBuf::as_path));
    let measured = sizes::measure(&files)?;
    println!();
    println!(
        "sizes (bytes; before wasm-opt the .wasm was {} raw, {} gzip):",
        measured[0].raw, measured[0].gzip
    );
    sizes::print_table(&[
        (wasm_name, measured[1]),
        (format!("{CRATE}.js (glue)"), measured[2]),
        ("keeper.js (class)".to_owned(), measured[3]),
        (
            "adapters' JS (fetch.js)".to_owned(),
            measured[4..].iter().copied().sum(),
        ),
    ]);
    println!();
    println!("build: package ready in {}", pkg.display());
    Ok(pkg)
}

/// Copies every file of `pkg-templates/` into `pkg`, replacing
/// `{{version}}`, `{{description}}`, `{{license}}` and `{{repository}}`
/// with the values from `Cargo.toml`. Returns the version.
fn fill_templates(paths: &Paths, pkg: &Path) -> Result<String> {
    let manifest_path = paths.root.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let field = |key: &str| {
        toml_string(&manifest, "package", key)
            .or_else(|| toml_string(&manifest, "workspace.package", key))
            .ok_or_else(|| format!("{} has no {key}", manifest_path.display()))
    };
    let values = [
        ("{{version}}", field("version")?),
        ("{{description}}", field("description")?),
        ("{{license}}", field("license")?),
        ("{{repository}}", field("repository")?),
    ];
    let templates = paths.root.join("pkg-templates");
    let entries =
        fs::read_dir(&templates).map_err(|e| format!("reading {}: {e}", templates.display()))?;
    for entry in entries.flatten() {
        let from = entry.path();
        if !from.is_file() {
            continue;
        }
        let is_json = from.extension().is_some_and(|e| e == "json");
        let mut text = read(&from)?;
        for (placeholder, value) in &values {
            let value = if is_json {
                json_escape(value)
            } else {
                value.clone()
            };
            text = text.replace(placeholder, &value);
        }
        let to = pkg.join(entry.file_name());
        fs::write(&to, text).map_err(|e| format!("writing {}: {e}", to.display()))?;
    }
    Ok(values[0].1.clone())
}

/// The string value of `key = "…"` in `[section]` of a simple TOML text.
fn toml_string(text: &str, section: &str, key: &str) -> Option<String> {
    let header = format!("[{section}]");
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
        } else if inside {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k.trim() == key {
                let v = v.trim();
                return v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .map(str::to_owned);
            }
        }
    }
    None
}

/// Escapes `"` and `\` for a JSON string literal.
fn json_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Writes the glue to `pkg` with the adapters' JS halves
/// (`#[wasm_bindgen(module = "/src/…/name.js")]`) next to it as `name.js`.
///
/// wasm-bindgen puts them under `snippets/<crate>-<hash>/src/…`; the hash
/// changes with the build, and runtimes whose configuration lists every
/// module (workerd) need stable names. Returns the snippet files written.
fn flatten_snippets(bindgen_dir: &Path, pkg: &Path) -> Result<Vec<PathBuf>> {
    let glue_name = format!("{CRATE}.js");
    let mut glue = read(&bindgen_dir.join(&glue_name))?;
    let mut written = Vec::new();
    for source in files_under(&bindgen_dir.join("snippets"))? {
        let relative = source
            .strip_prefix(bindgen_dir)
            .map_err(|e| format!("{}: {e}", source.display()))?;
        let name = source
            .file_name()
            .ok_or_else(|| format!("{} has no file name", source.display()))?;
        let from = format!("'./{}'", relative.to_string_lossy());
        let to = format!("'./{}'", name.to_string_lossy());
        if !glue.contains(&from) || pkg.join(name).exists() {
            return Err(format!(
                "cannot place {from} as {to}: not imported by the glue, or the name is taken"
            ));
        }
        glue = glue.replace(&from, &to);
        copy(&source, &pkg.join(name))?;
        written.push(pkg.join(name));
    }
    let to = pkg.join(&glue_name);
    fs::write(&to, glue).map_err(|e| format!("writing {}: {e}", to.display()))?;
    Ok(written)
}

/// Every file under `dir`, or none when it does not exist.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn copy(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Empties (or creates) `dir`.
fn recreate(dir: &Path) -> Result {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_fields_by_section() {
        let toml = "[workspace.package]\nlicense = \"MIT\"\n\n[package]\nname = \"x\"\n\
                    version = \"1.2.3\"\nlicense.workspace = true\n";
        assert_eq!(
            toml_string(toml, "package", "version").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(toml_string(toml, "package", "license"), None);
        assert_eq!(
            toml_string(toml, "workspace.package", "license").as_deref(),
            Some("MIT")
        );
    }

    #[test]
    fn escapes_json() {
        assert_eq!(json_escape(r#"a "b" \c"#), r#"a \"b\" \\c"#);
    }
}
