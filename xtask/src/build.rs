//! `cargo xtask build`: the release npm package in `pkg/`.
//!
//! `wasm-pack build --target web --release` (cargo for wasm32, then
//! wasm-bindgen) → short import and export names in the `.wasm` and the
//! glue (`shorten.rs`) → `wasm-opt -Oz`
//! → the entry files from `pkg-templates/`, each bundled by esbuild with
//! the glue and `src/js/keeper.js` (the `TokenKeeper` class) into one
//! module (one module to load instead of three), whitespace and comments
//! removed, names kept
//! → the types, `package.json` and README (placeholders filled from
//! `Cargo.toml`), the two license texts → every file made `0644` → a check
//! that no file names a directory of this machine (`repro.rs`) → size report.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain;
use crate::{Paths, Result, cmd, repro, shorten, sizes};

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
    let bindgen_dir = paths.xtask_dir().join("bindgen");
    recreate(&bindgen_dir)?;
    println!(
        "build: wasm-pack build --target web --release ({})",
        toolchain.version()
    );
    // cargo (release, wasm32) and wasm-bindgen with the CLI that setup
    // installed (`--mode no-install`: nothing is downloaded, and a missing or
    // mismatched CLI is an error); the glue's default module path is omitted
    // per `[package.metadata.wasm-pack]`. wasm-opt runs below (`--no-opt`), and
    // the package files come from `pkg-templates/` (`--no-pack`). The wasm32
    // rustflags remap `$CARGO_HOME` in the dependencies' paths (repro.rs).
    let mut wasm_pack = toolchain.command("wasm-pack");
    if let Some(flags) = repro::wasm_rustflags() {
        wasm_pack.env(repro::WASM_RUSTFLAGS, flags);
    }
    cmd::stream(
        wasm_pack
            .current_dir(&paths.root)
            .env("CARGO_TARGET_DIR", &paths.target)
            .args(["build", "--target", "web", "--release"])
            .args(["--no-opt", "--no-pack", "--mode", "no-install"])
            .arg("--out-name")
            .arg(CRATE)
            .arg("--out-dir")
            .arg(&bindgen_dir),
    )?;

    let wasm_name = format!("{CRATE}_bg.wasm");
    let renamed = shorten::run(
        &bindgen_dir.join(&wasm_name),
        &bindgen_dir.join(format!("{CRATE}.js")),
        CRATE,
    )?;
    println!(
        "build: short names for {} imports and {} exports (shorten.rs)",
        renamed.imports, renamed.exports
    );

    recreate(&pkg)?;
    let wasm_opt = node_tool(paths, "wasm-opt")?;
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

    // The hand-written half of the JS API, the TokenKeeper class, beside
    // the glue; its types into the package.
    let src_js = paths.root.join("src/js");
    copy(&src_js.join("keeper.js"), &bindgen_dir.join("keeper.js"))?;
    copy(&src_js.join("keeper.d.ts"), &pkg.join("keeper.d.ts"))?;

    let version = fill_templates(paths, &pkg, &bindgen_dir)?;
    println!("build: package files from pkg-templates/ (version {version})");
    bundle_entries(paths, &bindgen_dir, &pkg)?;
    for license in LICENSES {
        copy(&paths.root.join(license), &pkg.join(license))?;
    }
    // `npm pack` keeps each file's mode, which the umask decided.
    repro::normalise_modes(&pkg)?;
    if let Err(why) = repro::check_package(paths, &pkg) {
        let _ = fs::remove_dir_all(&pkg);
        return Err(why);
    }

    let unoptimised = bindgen_dir.join(&wasm_name);
    let mut files = vec![unoptimised, pkg.join(&wasm_name)];
    files.extend(ENTRIES.iter().map(|(name, _)| pkg.join(name)));
    let measured = sizes::measure(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    println!();
    println!(
        "sizes (bytes; before wasm-opt the .wasm was {} raw, {} gzip):",
        measured[0].raw, measured[0].gzip
    );
    // A runtime loads the .wasm and one entry.
    let mut rows = vec![(wasm_name, measured[1])];
    for ((name, _), size) in ENTRIES.iter().zip(&measured[2..]) {
        rows.push((format!("{name} (entry)"), *size));
    }
    sizes::print_table(&rows);
    println!();
    println!("build: package ready in {}", pkg.display());
    Ok(pkg)
}

/// The license texts, from the repository root into the package
/// (`Cargo.toml`: `license = "MIT OR Apache-2.0"`).
const LICENSES: [&str; 2] = ["LICENSE-MIT", "LICENSE-APACHE"];

/// The package's entries (see `exports` in `pkg-templates/package.json`) and
/// the esbuild platform each is bundled for.
const ENTRIES: [(&str, &str); 9] = [
    ("index.js", "neutral"),
    ("init.js", "neutral"),
    ("node.js", "node"),
    ("workerd.js", "neutral"),
    ("worker.js", "neutral"),
    ("keeper-worker.js", "neutral"),
    ("react.js", "neutral"),
    ("vue.js", "neutral"),
    ("svelte.js", "neutral"),
];

/// Bundles each entry in `stage` (with the glue, the class and the adapters'
/// JS it imports) into one ES module in `pkg`. The `.wasm` stays a file of
/// its own: the entries load it by URL, from disk or as a module.
fn bundle_entries(paths: &Paths, stage: &Path, pkg: &Path) -> Result {
    let esbuild = node_tool(paths, "esbuild")?;
    println!("build: esbuild, one module per entry");
    for (name, platform) in ENTRIES {
        cmd::output(
            Command::new(&esbuild)
                // From the stage: the `// path` comment above each bundled
                // module is relative to esbuild's working directory, so it
                // names no directory of the build machine.
                .current_dir(stage)
                .arg(name)
                .args(["--bundle", "--format=esm", "--target=es2022"])
                // Whitespace and comments out, syntax shortened; every name
                // kept (a class's or function's `name`, stack traces).
                .args(["--minify-whitespace", "--minify-syntax"])
                .arg(format!("--platform={platform}"))
                // The Workers runtime's own modules (`cloudflare:workers`).
                .args(["--external:*.wasm", "--external:cloudflare:*"])
                // `tokenkeeper/worker` and its worker load a browser entry
                // at run time (the in-page fallback `index.js`; the worker
                // `init.js`, as a Service Worker may not use top-level
                // await), as a module of its own rather than a copy.
                .args(["--external:./index.js", "--external:./init.js"])
                // The frameworks of the bindings are the app's own
                // (optional peer dependencies).
                .args(["--external:react", "--external:vue", "--external:svelte/*"])
                .arg("--log-level=warning")
                .arg(format!("--outfile={}", pkg.join(name).display())),
        )?;
    }
    Ok(())
}

/// Copies every file of `pkg-templates/`, replacing `{{version}}`,
/// `{{description}}`, `{{license}}` and `{{repository}}` with the values
/// from `Cargo.toml`: the JS sources into `stage`, to be bundled, and the
/// rest (types, `package.json`, README) into `pkg`. Returns the version.
fn fill_templates(paths: &Paths, pkg: &Path, stage: &Path) -> Result<String> {
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
        let dir = if from.extension().is_some_and(|e| e == "js") {
            stage
        } else {
            pkg
        };
        let to = dir.join(entry.file_name());
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

/// A tool from the repository's `node_modules/.bin` (installed by setup).
fn node_tool(paths: &Paths, name: &str) -> Result<PathBuf> {
    let tool = paths.root.join("node_modules/.bin").join(name);
    if tool.exists() {
        Ok(tool)
    } else {
        Err(format!(
            "{} not found; run `cargo xtask setup`",
            tool.display()
        ))
    }
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
