// Which file of the built package (pkg/) each specifier resolves to under
// the export conditions of each kind of consumer, resolved by esbuild (from
// node_modules) through a real package lookup: wrangler 4's bundler
// (`workerd`, `worker`, `browser`), webpack 5 for web workers (`worker`,
// `browser`), a browser page, Node and Deno. Only `workerd` picks the
// Workers entry, whose `.wasm` import only workerd and wrangler understand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkgDir = fileURLToPath(new URL('../../pkg/', import.meta.url));

const consumers = {
  'wrangler 4': { platform: 'browser', conditions: ['workerd', 'worker', 'browser'] },
  'webpack 5, target webworker': { platform: 'browser', conditions: ['webpack', 'production', 'worker', 'browser'] },
  'a browser page (Vite, webpack 5)': { platform: 'browser', conditions: ['browser'] },
  Node: { platform: 'node', conditions: [] },
  Deno: { platform: 'neutral', conditions: ['deno', 'node', 'import'] },
};

const expected = {
  'wrangler 4': { tokenkeeper: 'workerd.js', 'tokenkeeper/workers': 'workerd.js', 'tokenkeeper/init': 'workerd.js' },
  'webpack 5, target webworker': { tokenkeeper: 'index.js', 'tokenkeeper/init': 'init.js' },
  'a browser page (Vite, webpack 5)': { tokenkeeper: 'index.js', 'tokenkeeper/init': 'init.js', 'tokenkeeper/worker': 'worker.js' },
  Node: { tokenkeeper: 'node.js', 'tokenkeeper/init': 'node.js' },
  Deno: { tokenkeeper: 'node.js', 'tokenkeeper/init': 'node.js' },
};

/** The package file that `specifier` resolves to for `consumer`. */
async function resolved(dir, specifier, { platform, conditions }) {
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(specifier)};`, resolveDir: dir, loader: 'js' },
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform,
    conditions,
    // `tokenkeeper/worker` loads the browser entry only for its in-page fallback.
    external: ['*.wasm', 'cloudflare:*', 'node:*', './index.js'],
    logLevel: 'silent',
  });
  const files = Object.keys(result.metafile.inputs).filter((f) => f !== '<stdin>');
  assert.equal(files.length, 1, `one module, not ${files.join(', ')}`);
  return files[0].split('/').pop();
}

for (const [consumer, options] of Object.entries(consumers)) {
  test(`${consumer}: ${Object.entries(expected[consumer]).map(([s, f]) => `${s} → ${f}`).join(', ')}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenkeeper-exports-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(pkgDir, join(dir, 'node_modules', 'tokenkeeper'), 'dir');
      for (const [specifier, file] of Object.entries(expected[consumer])) {
        assert.equal(await resolved(dir, specifier, options), file, specifier);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
