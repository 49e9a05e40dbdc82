//! Raw, gzip and brotli sizes of the package's files, measured with Node's
//! zlib (gzip level 9, brotli quality 11: what a CDN serves at best).

use std::path::Path;
use std::process::Command;

use crate::{Result, cmd};

/// Prints `raw gzip brotli` for every argument, one line each.
const MEASURE_JS: &str = r"
const fs = require('node:fs');
const zlib = require('node:zlib');
for (const file of process.argv.slice(1)) {
  const raw = fs.readFileSync(file);
  const gz = zlib.gzipSync(raw, { level: 9 }).length;
  const br = zlib.brotliCompressSync(raw, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  }).length;
  console.log(`${raw.length} ${gz} ${br}`);
}";

/// Sizes of one file, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sizes {
    /// Uncompressed.
    pub(crate) raw: u64,
    /// gzip -9.
    pub(crate) gzip: u64,
    /// brotli quality 11.
    pub(crate) brotli: u64,
}

/// Measures `files` (in order).
pub(crate) fn measure(files: &[&Path]) -> Result<Vec<Sizes>> {
    let out = cmd::output(Command::new("node").arg("-e").arg(MEASURE_JS).args(files))?;
    let sizes: Vec<Sizes> = out
        .lines()
        .map(|line| {
            let n: Vec<u64> = line
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            match n[..] {
                [raw, gzip, brotli] => Ok(Sizes { raw, gzip, brotli }),
                _ => Err(format!("unexpected size line `{line}`")),
            }
        })
        .collect::<Result<_>>()?;
    if sizes.len() == files.len() {
        Ok(sizes)
    } else {
        Err(format!("measured {} of {} files", sizes.len(), files.len()))
    }
}

/// Prints a size table: one row per `(label, sizes)`.
pub(crate) fn print_table(rows: &[(String, Sizes)]) {
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip", "brotli"
    );
    for (label, s) in rows {
        println!("{label:<28} {:>10} {:>10} {:>10}", s.raw, s.gzip, s.brotli);
    }
}
