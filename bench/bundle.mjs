// (1) Bundle cost. tokenkeeper as shipped (.wasm + the browser entry
// `index.js`, one module holding the wasm-bindgen glue and the TokenKeeper
// class; each file compressed on its own, as a CDN
// serves them) and as a bundler emits it (the entries minified into one JS
// file, plus the .wasm asset).
// Peers: an esbuild browser bundle (`--bundle --minify --format=esm
// --platform=browser`) of a small entry per library (entries/*.js).
// Writes the bundles to `outDir` (cold.mjs imports them) and returns sizes.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const WASM = 'tokenkeeper_bg.wasm';

export function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

const add = (...xs) => xs.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli }));

export async function bundles(pkg, outDir) {
  mkdirSync(outDir, { recursive: true });
  const entriesDir = new URL('./entries/', import.meta.url).pathname;
  const result = { shipped: {}, bundles: {} };
  const file = (name) => readFileSync(join(pkg, name));
  result.shipped.wasm = sizes(file(WASM));
  result.shipped.entry = sizes(file('index.js'));
  result.shipped.total = add(result.shipped.wasm, result.shipped.entry);
  for (const entry of readdirSync(entriesDir).filter((f) => f.endsWith('.js')).sort()) {
    const name = basename(entry, '.js');
    const outfile = join(outDir, `${name}.mjs`);
    await build({
      entryPoints: [join(entriesDir, entry)],
      outfile,
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      alias: { tokenkeeper: join(pkg, 'index.js') },
      logLevel: 'error',
    });
    const js = sizes(readFileSync(outfile));
    if (name === 'tokenkeeper') {
      // The bundle loads the .wasm next to itself, as a bundler's asset.
      copyFileSync(join(pkg, WASM), join(outDir, WASM));
      result.bundles[name] = { js, wasm: result.shipped.wasm, total: add(js, result.shipped.wasm) };
    } else {
      result.bundles[name] = { js, total: js };
    }
  }
  return result;
}
