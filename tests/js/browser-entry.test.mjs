// The browser/bundler entry (pkg/index.js) in Node: it fetches
// `new URL('./tokenkeeper_bg.wasm', import.meta.url)` with top-level await.
// Node's fetch cannot read file: URLs, so this process serves them the way a
// web server would (application/wasm). A file of its own: node --test runs
// each file in a fresh process, so the module is initialised by this entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const pkgDir = new URL('../../pkg/', import.meta.url);
const fetched = [];
globalThis.fetch = async (url) => {
  fetched.push(String(url));
  return new Response(readFileSync(new URL(url)), {
    headers: { 'content-type': 'application/wasm' },
  });
};

test('the browser entry fetches the wasm next to itself and is ready on import', async () => {
  const manifest = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8'));
  const mod = await import(new URL(manifest.exports['.'].browser.default, pkgDir));
  assert.deepEqual(fetched, [new URL('tokenkeeper_bg.wasm', pkgDir).href]);
  assert.equal(mod.version(), manifest.version);
  assert.equal(typeof mod.TokenKeeper, 'function');
});
