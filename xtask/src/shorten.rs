//! Short names for what the glue and the `.wasm` call each other by.
//!
//! wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` in the
//! module `./<crate>_bg.js`, and every closure shim it exports
//! `wasm_bindgen__convert__closures_____invoke__h<16 hex digits>`. Each
//! name is written in both files, and the hashes do not compress: 3.2 KB
//! gzip of the two for about a hundred imports. This pass, run on
//! wasm-bindgen's output before wasm-opt, gives the import module, every
//! import and every hashed export a name of one or two letters, in the
//! `.wasm`'s import and export sections and in the glue alike; the other
//! exports that the glue reads (as `wasm.<name>`) get short names too.
//!
//! It checks what it relies on and fails the build otherwise: every name
//! it renames appears in the glue as a whole identifier (an import exactly
//! once, as the key of its function), the import module exactly once as a
//! quoted key, and no new name is an identifier the glue already has.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::Result;

/// The section ids of the import and export sections (wasm core spec §5.5).
const IMPORT_SECTION: u8 = 2;
const EXPORT_SECTION: u8 = 7;

/// The import module's new name.
const MODULE: &str = "a";

/// What was renamed, for the build's log.
pub(crate) struct Renamed {
    pub(crate) imports: usize,
    pub(crate) exports: usize,
}

/// Renames the imports of module `./{stem}_bg.js` and the exports the glue
/// reads in `wasm` and `glue` (both rewritten in place).
pub(crate) fn run(wasm: &Path, glue: &Path, stem: &str) -> Result<Renamed> {
    let bytes = fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    let text = fs::read_to_string(glue).map_err(|e| format!("reading {}: {e}", glue.display()))?;
    let module = format!("./{stem}_bg.js");
    let (bytes, text, renamed) =
        rename(&bytes, &text, &module).map_err(|e| format!("{}: {e}", wasm.display()))?;
    fs::write(wasm, bytes).map_err(|e| format!("writing {}: {e}", wasm.display()))?;
    fs::write(glue, text).map_err(|e| format!("writing {}: {e}", glue.display()))?;
    Ok(renamed)
}

/// The module and glue with the imports of `module` and the exports the
/// glue reads renamed.
fn rename(wasm: &[u8], glue: &str, module: &str) -> Result<(Vec<u8>, String, Renamed)> {
    let sections = sections(wasm)?;
    let mut names = Vec::new();
    let mut hashed_exports = 0;
    // The other exports that the glue reads, which it reads only as
    // `wasm.<name>`; any it does not read (wasm-bindgen's
    // `__abort_handler`) keep their names.
    let mut members = Vec::new();
    for &(id, range) in &sections {
        let body = &wasm[range.0..range.1];
        match id {
            IMPORT_SECTION => {
                for import in imports(body)? {
                    if import.module == module {
                        names.push(import.name.to_owned());
                    }
                }
            }
            EXPORT_SECTION => {
                for export in exports(body)? {
                    if is_hashed(export.name) {
                        names.push(export.name.to_owned());
                        hashed_exports += 1;
                    } else if glue.contains(&format!("wasm.{}", export.name)) {
                        members.push(export.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let taken = identifiers(glue);
    let mut fresh = short_names().filter(|n| !taken.contains(n.as_str()));
    let mut map = BTreeMap::new();
    for name in &names {
        let new = fresh.next().ok_or("out of short names")?;
        if map.insert(name.clone(), new).is_some() {
            return Err(format!("`{name}` is named twice"));
        }
    }
    let mut member_map = BTreeMap::new();
    for name in &members {
        let new = fresh.next().ok_or("out of short names")?;
        if member_map.insert(name.clone(), new).is_some() {
            return Err(format!("`{name}` is exported twice"));
        }
    }

    let mut out = wasm[..8].to_vec();
    for &(id, range) in &sections {
        let body = &wasm[range.0..range.1];
        let body = match id {
            IMPORT_SECTION => {
                let list = imports(body)?;
                let mut new = Vec::new();
                leb(&mut new, list.len());
                for import in &list {
                    let renamed = import.module == module;
                    name(&mut new, if renamed { MODULE } else { import.module });
                    name(
                        &mut new,
                        if renamed {
                            &map[import.name]
                        } else {
                            import.name
                        },
                    );
                    new.extend_from_slice(import.rest);
                }
                new
            }
            EXPORT_SECTION => {
                let list = exports(body)?;
                let mut new = Vec::new();
                leb(&mut new, list.len());
                for export in &list {
                    let short = map.get(export.name).or_else(|| member_map.get(export.name));
                    name(&mut new, short.map_or(export.name, String::as_str));
                    new.extend_from_slice(export.rest);
                }
                new
            }
            _ => body.to_vec(),
        };
        out.push(id);
        leb(&mut out, body.len());
        out.extend_from_slice(&body);
    }

    let (glue, counts) = replace_identifiers(glue, &map);
    let (glue, member_counts) = replace_members(&glue, "wasm", &member_map)?;
    for old in &members {
        if !member_counts.contains_key(old.as_str()) {
            return Err(format!("the glue never reads `wasm.{old}`"));
        }
    }
    let imports = names.len() - hashed_exports;
    for (i, old) in names.iter().enumerate() {
        let n = counts.get(old.as_str()).copied().unwrap_or(0);
        let expected = if i < imports { n == 1 } else { n >= 1 };
        if !expected {
            return Err(format!("the glue names `{old}` {n} times"));
        }
    }
    let quoted = format!("\"{module}\":");
    if glue.matches(&quoted).count() != 1 {
        return Err(format!("the glue does not name the module {quoted} once"));
    }
    let glue = glue.replace(&quoted, &format!("\"{MODULE}\":"));
    Ok((
        out,
        glue,
        Renamed {
            imports,
            exports: hashed_exports + members.len(),
        },
    ))
}

/// `…_h` and 16 lower-case hex digits: a symbol hash, which wasm-bindgen
/// puts in the names of closure shims.
fn is_hashed(name: &str) -> bool {
    name.len() > 18 && {
        let (head, hash) = name.split_at(name.len() - 16);
        head.ends_with("_h") && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// `a`…`z`, `A`…`Z`, then two letters; none a JS reserved word.
fn short_names() -> impl Iterator<Item = String> {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let one = LETTERS.iter().map(|&c| char::from(c).to_string());
    let two = LETTERS.iter().flat_map(|&a| {
        LETTERS
            .iter()
            .map(move |&b| format!("{}{}", char::from(a), char::from(b)))
    });
    one.chain(two)
        .filter(|n| !matches!(n.as_str(), "do" | "if" | "in"))
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Every maximal run of identifier characters in `text`.
fn identifiers(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !is_identifier_char(c))
        .filter(|s| !s.is_empty())
        .collect()
}

/// `text` with every identifier that is a key of `map` replaced, and how
/// often each was.
fn replace_identifiers<'a>(
    text: &str,
    map: &'a BTreeMap<String, String>,
) -> (String, BTreeMap<&'a str, usize>) {
    let mut out = String::with_capacity(text.len());
    let mut counts = BTreeMap::new();
    let mut rest = text;
    while let Some(start) = rest.find(is_identifier_char) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c| !is_identifier_char(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        match map.get_key_value(word) {
            Some((old, new)) => {
                out.push_str(new);
                *counts.entry(old.as_str()).or_insert(0) += 1;
            }
            None => out.push_str(word),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, counts)
}

/// `text` with every `{object}.<name>` whose name is a key of `map`
/// renamed, and how often each was. Fails if such a name is still read
/// from anything else: `x.name`, `x?.name` or `x["name"]`.
fn replace_members<'a>(
    text: &str,
    object: &str,
    map: &'a BTreeMap<String, String>,
) -> Result<(String, BTreeMap<&'a str, usize>)> {
    let mut out = String::with_capacity(text.len());
    let mut counts = BTreeMap::new();
    let mut rest = text;
    let prefix = format!("{object}.");
    while let Some(start) = rest.find(is_identifier_char) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c| !is_identifier_char(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        let before = out.strip_suffix(&prefix);
        match map.get_key_value(word) {
            Some((old, new))
                if before.is_some_and(|b| !b.ends_with(|c| is_identifier_char(c) || c == '.')) =>
            {
                out.push_str(new);
                *counts.entry(old.as_str()).or_insert(0) += 1;
            }
            Some((old, _)) if out.ends_with('.') || out.ends_with("[\"") || out.ends_with("['") => {
                return Err(format!("the glue reads `{old}` from something else"));
            }
            _ => out.push_str(word),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok((out, counts))
}

/// Each section's id and the byte range of its body.
fn sections(wasm: &[u8]) -> Result<Vec<(u8, (usize, usize))>> {
    if wasm.len() < 8 || wasm[..8] != *b"\0asm\x01\0\0\0" {
        return Err("not a wasm module (version 1)".into());
    }
    let mut at = 8;
    let mut list = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = read_leb(wasm, &mut at)?;
        let end = at
            .checked_add(size)
            .filter(|&e| e <= wasm.len())
            .ok_or("truncated section")?;
        list.push((id, (at, end)));
        at = end;
    }
    Ok(list)
}

struct Import<'a> {
    module: &'a str,
    name: &'a str,
    /// The import description, copied as it is.
    rest: &'a [u8],
}

fn imports(body: &[u8]) -> Result<Vec<Import<'_>>> {
    let mut at = 0;
    let count = read_leb(body, &mut at)?;
    let mut list = Vec::with_capacity(count);
    for _ in 0..count {
        let module = read_name(body, &mut at)?;
        let name = read_name(body, &mut at)?;
        let start = at;
        let kind = byte(body, &mut at)?;
        match kind {
            // function: type index; tag: attribute, type index
            0 => {
                read_leb(body, &mut at)?;
            }
            4 => {
                byte(body, &mut at)?;
                read_leb(body, &mut at)?;
            }
            // table: reference type, limits; memory: limits
            1 | 2 => {
                if kind == 1 {
                    byte(body, &mut at)?;
                }
                let flags = byte(body, &mut at)?;
                read_leb(body, &mut at)?;
                if flags & 1 != 0 {
                    read_leb(body, &mut at)?;
                }
            }
            // global: value type, mutability
            3 => {
                byte(body, &mut at)?;
                byte(body, &mut at)?;
            }
            _ => return Err(format!("import `{module}`.`{name}` of unknown kind {kind}")),
        }
        list.push(Import {
            module,
            name,
            rest: &body[start..at],
        });
    }
    if at != body.len() {
        return Err("bytes after the last import".into());
    }
    Ok(list)
}

struct Export<'a> {
    name: &'a str,
    /// Kind and index, copied as they are.
    rest: &'a [u8],
}

fn exports(body: &[u8]) -> Result<Vec<Export<'_>>> {
    let mut at = 0;
    let count = read_leb(body, &mut at)?;
    let mut list = Vec::with_capacity(count);
    for _ in 0..count {
        let name = read_name(body, &mut at)?;
        let start = at;
        byte(body, &mut at)?;
        read_leb(body, &mut at)?;
        list.push(Export {
            name,
            rest: &body[start..at],
        });
    }
    if at != body.len() {
        return Err("bytes after the last export".into());
    }
    Ok(list)
}

fn byte(bytes: &[u8], at: &mut usize) -> Result<u8> {
    let b = *bytes.get(*at).ok_or("truncated")?;
    *at += 1;
    Ok(b)
}

/// An unsigned LEB128 number of at most 32 bits.
fn read_leb(bytes: &[u8], at: &mut usize) -> Result<usize> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = byte(bytes, at)?;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return usize::try_from(value).map_err(|_| "number too large".into());
        }
    }
    Err("LEB128 number too long".into())
}

fn read_name<'a>(bytes: &'a [u8], at: &mut usize) -> Result<&'a str> {
    let len = read_leb(bytes, at)?;
    let end = at
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated name")?;
    let s = std::str::from_utf8(&bytes[*at..end]).map_err(|_| "a name is not UTF-8")?;
    *at = end;
    Ok(s)
}

fn leb(out: &mut Vec<u8>, mut n: usize) {
    loop {
        #[allow(clippy::cast_possible_truncation)]
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn name(out: &mut Vec<u8>, s: &str) {
    leb(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with two imports of `./x_bg.js` (a function, a global),
    /// one of `env`, and exports `memory`, a global the glue does not read
    /// and a hashed closure shim.
    fn module() -> Vec<u8> {
        let mut imports = Vec::new();
        leb(&mut imports, 3);
        for (module, field, desc) in [
            ("./x_bg.js", "__wbg_log_0123456789abcdef", &[0u8, 0][..]),
            ("env", "keep", &[3, 0x7f, 0][..]),
            ("./x_bg.js", "__wbindgen_init_externref_table", &[0, 0][..]),
        ] {
            name(&mut imports, module);
            name(&mut imports, field);
            imports.extend_from_slice(desc);
        }
        let mut exports = Vec::new();
        leb(&mut exports, 3);
        name(&mut exports, "memory");
        exports.extend_from_slice(&[2, 0]);
        name(&mut exports, "__abort_handler");
        exports.extend_from_slice(&[3, 0]);
        name(
            &mut exports,
            "wasm_bindgen__convert__closures_____invoke__h00112233aabbccdd",
        );
        exports.extend_from_slice(&[0, 2]);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        for (id, body) in [(1u8, vec![1, 0x60, 0, 0]), (2, imports), (7, exports)] {
            wasm.push(id);
            leb(&mut wasm, body.len());
            wasm.extend_from_slice(&body);
        }
        wasm
    }

    const GLUE: &str = "function wasm_bindgen__convert__closures_____invoke__h00112233aabbccdd(a0) {\n\
        wasm.wasm_bindgen__convert__closures_____invoke__h00112233aabbccdd(a0);\n}\n\
        const import0 = {\n__wbg_log_0123456789abcdef: function(arg0) { console.log(arg0); },\n\
        __wbindgen_init_externref_table: function() {},\n};\n\
        return { \"./x_bg.js\": import0 };\n\
        const view = new Uint8Array(wasm.memory.buffer);\n";

    #[test]
    fn renames_in_both_files() {
        let (wasm, glue, renamed) = rename(&module(), GLUE, "./x_bg.js").unwrap();
        assert_eq!((renamed.imports, renamed.exports), (2, 2));
        // `arg0` and `a0` are the glue's own identifiers, never given out.
        let section = sections(&wasm).unwrap();
        let (_, (s, e)) = section
            .iter()
            .find(|(id, _)| *id == IMPORT_SECTION)
            .unwrap();
        let list = imports(&wasm[*s..*e]).unwrap();
        let got: Vec<_> = list.iter().map(|i| (i.module, i.name, i.rest)).collect();
        assert_eq!(
            got,
            [
                ("a", "a", &[0u8, 0][..]),
                ("env", "keep", &[3, 0x7f, 0][..]),
                ("a", "b", &[0, 0][..])
            ]
        );
        let (_, (s, e)) = section
            .iter()
            .find(|(id, _)| *id == EXPORT_SECTION)
            .unwrap();
        let list = exports(&wasm[*s..*e]).unwrap();
        let got: Vec<_> = list.iter().map(|x| x.name).collect();
        // An export the glue does not read keeps its name.
        assert_eq!(got, ["d", "__abort_handler", "c"]);
        assert_eq!(
            glue,
            "function c(a0) {\nwasm.c(a0);\n}\nconst import0 = {\n\
             a: function(arg0) { console.log(arg0); },\nb: function() {},\n};\n\
             return { \"a\": import0 };\n\
             const view = new Uint8Array(wasm.d.buffer);\n"
        );
    }

    #[test]
    fn fails_when_the_glue_does_not_match() {
        let glue = GLUE.replace("__wbg_log_0123456789abcdef:", "other:");
        assert!(rename(&module(), &glue, "./x_bg.js").is_err());
        let glue = GLUE.replace("\"./x_bg.js\"", "\"./y_bg.js\"");
        assert!(rename(&module(), &glue, "./x_bg.js").is_err());
        // `memory` read from something else as well as from `wasm`.
        let glue = GLUE.replace(
            "(wasm.memory.buffer)",
            "(wasm.memory.buffer, exports.memory)",
        );
        assert!(rename(&module(), &glue, "./x_bg.js").is_err());
    }

    #[test]
    fn knows_a_hash() {
        assert!(is_hashed("x_h0123456789abcdef"));
        assert!(!is_hashed("x_h0123456789ABCDEF"));
        assert!(!is_hashed("keepercore_new"));
    }

    #[test]
    fn leb128_round_trip() {
        for n in [0, 1, 127, 128, 300, 16_384, 1 << 28] {
            let mut v = Vec::new();
            leb(&mut v, n);
            assert_eq!(read_leb(&v, &mut 0).unwrap(), n);
        }
    }
}
