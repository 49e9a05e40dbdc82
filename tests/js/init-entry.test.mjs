// The entry without top-level await (`tokenkeeper/init`: pkg/init.js for
// browsers and bundlers), imported by path in Node. Importing it fetches
// nothing; `initialize()` fetches `new URL('./tokenkeeper_bg.wasm',
// import.meta.url)`, which this process serves the way a web server would
// (Node's fetch cannot read file: URLs). Each test imports a module
// instance of its own (a distinct query string), so each starts
// uninitialised. In Node itself `tokenkeeper/init` resolves to the node
// entry, which the last test checks through a real package resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = new URL('../../pkg/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8'));
const wasmUrl = new URL('tokenkeeper_bg.wasm', pkgDir).href;

/** The URLs the wasm loader fetched; `refuse` > 0 answers that many with a 404. */
const fetched = [];
let refuse = 0;
globalThis.fetch = async (url) => {
  fetched.push(String(url));
  if (refuse > 0) {
    refuse -= 1;
    return new Response('not found', { status: 404 });
  }
  return new Response(readFileSync(new URL(url)), { headers: { 'content-type': 'application/wasm' } });
};

let instances = 0;
/** A fresh, uninitialised instance of the entry that `exports['./init']` names for browsers and bundlers. */
function load() {
  const entry = new URL(manifest.exports['./init'].default.default, pkgDir);
  entry.search = `?instance=${++instances}`;
  return import(entry.href);
}

/** Client credentials against a stubbed token endpoint. */
const clientCredentials = () => ({
  profile: { kind: 'oauth2', tokenUrl: 'https://id.example/token', clientId: 'c', clientSecret: 's' },
  fetch: async () => Response.json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 60 }),
});

const notInitialized = (mod) => (e) =>
  e instanceof mod.TokenKeeperError && e.code === 'AUTH_NOT_INITIALIZED' && /await initialize\(\)/.test(e.message);

test('importing fetches nothing; TokenKeeper and version() throw AUTH_NOT_INITIALIZED until initialize() resolved', async () => {
  fetched.length = 0;
  const mod = await load();
  assert.deepEqual(fetched, []);
  assert.throws(() => new mod.TokenKeeper(clientCredentials()), notInitialized(mod));
  assert.throws(() => mod.version(), notInitialized(mod));

  const first = mod.initialize();
  assert.equal(mod.initialize(), first, 'a call while one is in flight joins it');
  await first;
  await mod.initialize();
  assert.deepEqual(fetched, [wasmUrl], 'the module is fetched once');

  assert.equal(mod.version(), manifest.version);
  const keeper = new mod.TokenKeeper(clientCredentials());
  await keeper.login();
  assert.equal(await keeper.accessToken(), 'at-1');
  assert.equal(keeper.state.status, 'active');
  keeper.close();
});

test('a failed initialize() rejects, leaves the entry uninitialised, and the next call tries again', async () => {
  fetched.length = 0;
  const mod = await load();
  refuse = 1;
  await assert.rejects(mod.initialize(), /404/);
  assert.throws(() => new mod.TokenKeeper(clientCredentials()), notInitialized(mod));
  await mod.initialize();
  assert.deepEqual(fetched, [wasmUrl, wasmUrl]);
  assert.equal(mod.version(), manifest.version);
});

test('initialize(source) takes the module bytes instead of fetching them', async () => {
  fetched.length = 0;
  const mod = await load();
  await mod.initialize(readFileSync(new URL(wasmUrl)));
  assert.deepEqual(fetched, []);
  assert.equal(mod.version(), manifest.version);
});

test('TokenKeeper.discover() awaits initialize() itself', async () => {
  fetched.length = 0;
  const mod = await load();
  const issuer = 'https://id.example/realms/app';
  const metadata = [];
  const keeper = await mod.TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer, clientId: 'spa', redirectUri: 'https://app.example/callback' },
    fetch: async (input) => {
      metadata.push(String(input));
      return Response.json({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/certs`,
        response_types_supported: ['code'],
      });
    },
  });
  assert.deepEqual(fetched, [wasmUrl]);
  assert.deepEqual(metadata, [`${issuer}/.well-known/openid-configuration`]);
  assert.ok(keeper instanceof mod.TokenKeeper);
  const url = new URL(await keeper.authorizeUrl());
  assert.equal(url.origin + url.pathname, `${issuer}/auth`);
  keeper.close();
});

test('in Node, tokenkeeper/init resolves to the node entry: ready on import, the same module as tokenkeeper', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenkeeper-init-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(fileURLToPath(pkgDir), join(dir, 'node_modules', 'tokenkeeper'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(dir, 'both.js'),
      "export * as root from 'tokenkeeper';\nexport * as init from 'tokenkeeper/init';\n",
    );
    fetched.length = 0;
    const { root, init } = await import(pathToFileURL(join(dir, 'both.js')).href);
    assert.equal(init.TokenKeeper, root.TokenKeeper);
    assert.equal(init.version(), manifest.version);
    const keeper = new init.TokenKeeper(clientCredentials());
    await init.initialize();
    await keeper.login();
    assert.equal(await keeper.accessToken(), 'at-1');
    keeper.close();
    assert.deepEqual(fetched, [], 'the node entry reads the module from disk');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
