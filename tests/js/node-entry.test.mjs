// Smoke tests of the built package (`cargo xtask build` → pkg/), imported by
// path the way Node resolves it: pkg/package.json's `exports`, `node` condition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = new URL('../../pkg/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8'));
const cargoVersion = readFileSync(new URL('../../Cargo.toml', import.meta.url), 'utf8')
  .match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/m)[1];

test('package.json carries the crate version', () => {
  assert.equal(manifest.version, cargoVersion);
});

test('every file named in exports exists, with types first in each condition', () => {
  const walk = (node) => {
    if (typeof node === 'string') {
      assert.ok(existsSync(new URL(node, pkgDir)), `${node} is missing`);
      return;
    }
    const keys = Object.keys(node);
    if (keys.includes('types')) assert.equal(keys[0], 'types', `types first in ${keys}`);
    Object.values(node).forEach(walk);
  };
  walk(manifest.exports);
});

test('the node entry imports by path and calls into the module', async () => {
  const mod = await import(new URL(manifest.exports['.'].node.default, pkgDir));
  assert.equal(mod.version(), cargoVersion);
  assert.throws(
    () => new mod.TokenKeeper({ profile: { kind: 'oauth2', clientId: 'c' } }),
    (e) => e instanceof mod.TokenKeeperError && e.code === 'AUTH_CONFIG' && /tokenUrl/.test(e.message),
  );
  const keeper = new mod.TokenKeeper({
    profile: { kind: 'oauth2', tokenUrl: 'https://id.example/token', clientId: 'c', clientSecret: 's' },
    fetch: async () =>
      Response.json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 60 }),
  });
  await keeper.login();
  assert.equal(await keeper.accessToken(), 'at-1');
  assert.equal(keeper.state.status, 'active');
  keeper.close();
});

test('require() loads the package where Node can require ES modules (20.19+, 22.12+), else ERR_REQUIRE_ESM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenkeeper-require-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(fileURLToPath(pkgDir), join(dir, 'node_modules', 'tokenkeeper'), 'dir');
    const require = createRequire(join(dir, 'consumer.cjs'));
    if (!process.features.require_module) {
      assert.throws(() => require('tokenkeeper'), { code: 'ERR_REQUIRE_ESM' });
      return;
    }
    // The `node` condition, an ES module without top-level await.
    const mod = require('tokenkeeper');
    assert.equal(mod.version(), cargoVersion);
    assert.equal(require('tokenkeeper/init').TokenKeeper, mod.TokenKeeper);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
