// DPoP (RFC 9449) in headless Chromium against the devserver's strict
// verifier, with proofs and nonces required at the token endpoint and at
// userinfo (the page is tests/e2e/dpop/). A page logs in with the
// authorization code + PKCE (the code bound to its key by `dpop_jkt`) and
// `storage: 'local'`; its key pair, made non-extractable by WebCrypto and
// kept in IndexedDB, survives a reload and serves a second tab, so the
// bound refresh token keeps working; nothing of the proofs, nonces or key
// reaches Web Storage or the keeper's events. A control deletes the kept
// pair before a reload: the server then refuses the refresh (binding),
// which is what the checks above would see if the key did not last. The
// requests are read as Chromium sent them (playwright's request events),
// not as the page reports them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, shot, startDemoServer } from './support/demo.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

let server;
let browser;
/** The tabs of the shared session, closed at the end. */
const pages = [];

before(async () => {
  server = await startDemoServer(['--dpop', 'required', '--dpop-nonce', 'both'], {
    www: join(root, 'tests', 'e2e', 'dpop'),
  });
  browser = await launch();
});

after(async () => {
  for (const p of pages) await p.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

const realm = () => `${server.url}/realms/tokenkeeper/protocol/openid-connect`;
const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());

/** The RFC 7638 thumbprint of a P-256 public JWK (members in lexicographic order). */
const thumbprint = ({ crv, kty, x, y }) =>
  createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');

/** Resolves once the page's keeper is made (the page shows nothing). */
const ready = (page) => page.waitForSelector('body[data-ready="true"]', { state: 'attached' });

/**
 * A new tab on the test page with these query parameters, ready once
 * `body[data-ready]`. `page.wire()` resolves to every request it sent to
 * the realm (discovery, login page, token endpoint, userinfo), with the
 * headers Chromium sent, the DPoP proof decoded and the answer's status and
 * `DPoP-Nonce`.
 */
async function open(params = {}, { init } = {}) {
  const page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  const sent = [];
  page.on('request', (req) => {
    if (!new URL(req.url()).pathname.startsWith('/realms/')) return;
    sent.push({
      req,
      headers: req.allHeaders().catch(() => ({})),
      response: req.response().catch(() => null),
    });
  });
  page.wire = () =>
    Promise.all(
      sent.map(async ({ req, headers, response }) => {
        const h = await headers;
        const res = await response;
        const proof = h.dpop ?? null;
        const [header, claims] = proof ? proof.split('.').slice(0, 2).map(b64json) : [null, null];
        return {
          url: req.url(),
          path: new URL(req.url()).pathname,
          method: req.method(),
          body: req.postData(),
          authorization: h.authorization ?? null,
          proof,
          header,
          claims,
          status: res?.status() ?? null,
          nonce: res ? ((await res.allHeaders().catch(() => ({})))['dpop-nonce'] ?? null) : null,
        };
      }),
    );
  if (init) await page.addInitScript(init);
  await page.goto(`${server.url}/demo/?${new URLSearchParams(params)}`);
  await ready(page);
  return page;
}

/** Runs `window.dpop[name]()` in the page; fails with its error unless it succeeded. */
async function call(page, name) {
  const r = await page.evaluate((n) => window.dpop[n](), name);
  assert.ok(r.ok, `${name}: ${r.name} ${r.code}: ${r.message}`);
  return r.value;
}

/**
 * loginWithRedirect, the devserver's login form, back to the page with the
 * code, handleRedirect; resolves to the authorization request's parameters.
 */
async function loginByRedirect(page) {
  await Promise.all([
    page.waitForURL(/\/realms\/tokenkeeper\/protocol\/openid-connect\/auth\?/),
    page.evaluate(() => void window.dpop.loginWithRedirect()),
  ]);
  const sent = new URL(page.url()).searchParams;
  await page.fill('input[name="username"]', 'demo');
  await page.fill('input[name="password"]', 'demo-password');
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/demo/' && url.searchParams.has('code'));
  await ready(page);
  await call(page, 'handleRedirect');
  assert.equal(await page.evaluate(() => window.dpop.status()), 'active');
  return sent;
}

const isToken = (e) => e.path.endsWith('/openid-connect/token');
const isUserinfo = (e) => e.path.endsWith('/openid-connect/userinfo');

/** The proof key of every token and userinfo request in `entries`, which must all carry one. */
function proofKeys(entries) {
  const api = entries.filter((e) => isToken(e) || isUserinfo(e));
  assert.ok(api.length > 0, 'token or userinfo requests were sent');
  for (const e of api) assert.ok(e.proof, `${e.method} ${e.path} carries a DPoP proof`);
  return api.map((e) => e.header.jwk);
}

/** Checks a proof as RFC 9449 §4.2 asks, for `e`'s method and URL. */
function assertProof(e) {
  assert.equal(e.header.typ, 'dpop+jwt');
  assert.equal(e.header.alg, 'ES256');
  assert.deepEqual(Object.keys(e.header.jwk).sort(), ['crv', 'kty', 'x', 'y'], 'a public JWK, no "d"');
  assert.equal(e.header.jwk.crv, 'P-256');
  assert.equal(e.claims.htm, e.method);
  assert.equal(e.claims.htu, e.url.split('?')[0]);
  assert.ok(e.claims.jti && Number.isInteger(e.claims.iat));
}

// Shared by the tests below, which run in order on one session.
let tab;
let jwk;
let jkt;

test('authorization code + PKCE with dpop: true: the code bound to the key (dpop_jkt), token requests and userinfo signed', async (t) => {
  await server.reset();
  tab = await open();
  pages.push(tab);
  try {
    const sent = await loginByRedirect(tab);
    const info = await call(tab, 'userinfo');
    assert.equal(info.status, 200);
    assert.equal(JSON.parse(info.body).preferred_username, 'demo');

    const wire = await tab.wire();
    const tokens = wire.filter(isToken);
    const keys = proofKeys(wire);
    jwk = keys[0];
    for (const k of keys) assert.deepEqual(k, jwk, 'one key for every proof');
    jkt = thumbprint(jwk);
    assert.equal(sent.get('dpop_jkt'), jkt, 'the authorization request names the thumbprint of the proof key');
    assert.equal(sent.get('code_challenge_method'), 'S256');

    // The code exchange: a use_dpop_nonce challenge, then the proof with
    // the nonce the server asked for.
    assert.deepEqual(
      tokens.map((e) => [e.status, Boolean(e.claims.nonce)]),
      [
        [400, false],
        [200, true],
      ],
    );
    assert.equal(tokens[1].claims.nonce, tokens[0].nonce);
    for (const e of tokens) {
      assertProof(e);
      assert.match(e.body, /grant_type=authorization_code/);
      assert.equal(e.authorization, null);
    }

    // keeper.fetch: Authorization: DPoP with a proof carrying ath.
    const calls = wire.filter(isUserinfo);
    assert.equal(calls.at(-1).status, 200);
    for (const e of calls) {
      assertProof(e);
      const token = e.authorization.match(/^DPoP (.+)$/)?.[1];
      assert.ok(token, `Authorization: ${e.authorization?.split(' ')[0]} …`);
      assert.equal(e.claims.ath, createHash('sha256').update(token).digest('base64url'));
      assert.equal(b64json(token.split('.')[1]).cnf.jkt, jkt, 'the access token is bound to the key');
    }

    const stats = await server.stats();
    assert.equal(stats.code_exchanges, 1);
    assert.equal(stats.dpop.bound_tokens, 1);
    assert.equal(stats.dpop.rejected.binding ?? 0, 0);
    assert.equal(stats.dpop.rejected.total, stats.dpop.rejected.nonce, 'nothing refused but nonce challenges');
    assert.deepEqual(tab.errors, []);
  } catch (e) {
    await shot(tab, 'dpop-login-failure');
    t.diagnostic(JSON.stringify(await tab.evaluate(() => window.dpop?.events()).catch(() => null)));
    throw e;
  }
});

test('the key survives a reload: restore, then the bound refresh token refreshes with the same key', async () => {
  assert.ok(jwk, 'logged in');
  const before = (await tab.wire()).length;
  await tab.reload();
  await ready(tab);
  assert.equal(await call(tab, 'restore'), true);
  await call(tab, 'refresh');
  assert.equal((await call(tab, 'userinfo')).status, 200);

  const wire = (await tab.wire()).slice(before);
  const refreshes = wire.filter((e) => isToken(e) && /grant_type=refresh_token/.test(e.body));
  assert.equal(refreshes.at(-1)?.status, 200, 'the refresh was accepted');
  for (const k of proofKeys(wire)) assert.deepEqual(k, jwk, 'the proofs after the reload are signed by the same key');
  const stats = await server.stats();
  assert.ok(stats.refreshes.kc >= 1);
  assert.equal(stats.dpop.rejected.binding ?? 0, 0, 'no proof of another key');
  assert.equal(stats.refresh_rejections.total, 0);
  assert.deepEqual(tab.errors, []);
});

test('a second tab restores the session and signs with the same key: userinfo and refresh accepted', async () => {
  assert.ok(jwk, 'logged in');
  const second = await open();
  pages.push(second);
  assert.equal(await call(second, 'restore'), true);
  assert.equal((await call(second, 'userinfo')).status, 200);
  await call(second, 'refresh');
  assert.equal((await call(second, 'userinfo')).status, 200);
  const wire = await second.wire();
  assert.equal(wire.filter((e) => isToken(e) && /grant_type=refresh_token/.test(e.body)).at(-1)?.status, 200);
  for (const k of proofKeys(wire)) assert.deepEqual(k, jwk, "the second tab's proofs are signed by the same key");

  // The first tab's calls go on.
  assert.equal((await call(tab, 'userinfo')).status, 200);
  const stats = await server.stats();
  assert.equal(stats.dpop.rejected.binding ?? 0, 0);
  assert.equal(stats.refresh_rejections.total, 0);
  assert.deepEqual(second.errors, []);
});

test('two new tabs making their first key at once agree on one pair', async () => {
  const a = await open({ key: 'dpop-race' });
  const b = await open({ key: 'dpop-race' });
  try {
    const urls = await Promise.all([call(a, 'authorizeUrl'), call(b, 'authorizeUrl')]);
    const [ja, jb] = urls.map((u) => new URL(u).searchParams.get('dpop_jkt'));
    assert.match(ja, /^[\w-]{43}$/);
    assert.equal(ja, jb);
    assert.notEqual(ja, jkt, 'another storage key, another pair');
  } finally {
    await a.close();
    await b.close();
  }
});

test("the private key in IndexedDB is non-extractable; its public half is the proofs' jwk", async () => {
  assert.ok(jwk, 'logged in');
  const pair = await tab.evaluate(() => window.dpop.keyPair());
  assert.equal(pair.found, true, 'a pair is kept under "dpop-e2e.dpop" in tokenkeeper/dpop-keys');
  assert.equal(pair.private.type, 'private');
  assert.equal(pair.private.extractable, false);
  assert.deepEqual(pair.private.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
  assert.deepEqual(pair.private.usages, ['sign']);
  for (const format of ['exportJwk', 'exportPkcs8']) {
    assert.equal(pair.private[format].ok, false, `${format} of the private key is refused`);
    assert.equal(pair.private[format].name, 'InvalidAccessError');
  }
  assert.equal(pair.public.type, 'public');
  assert.ok(pair.public.exportJwk.ok, pair.public.exportJwk.message);
  const { x, y, crv, kty } = pair.public.exportJwk.value;
  assert.deepEqual({ crv, kty, x, y }, jwk);
  assert.equal(thumbprint(pair.public.exportJwk.value), jkt);
});

test('no proof, nonce or key material in Web Storage or in the events of either tab', async () => {
  assert.ok(jwk, 'logged in');
  const wire = (await Promise.all(pages.map((p) => p.wire()))).flat();
  const secrets = new Map();
  const add = (what, value) => value && !secrets.has(value) && secrets.set(value, what);
  for (const e of wire) {
    if (e.proof) {
      add('a DPoP proof', e.proof);
      add("a proof's signature", e.proof.split('.')[2]);
      add("a proof's jti", e.claims.jti);
      add("a proof's nonce", e.claims.nonce);
    }
    add('a DPoP-Nonce', e.nonce);
  }
  const { nonce, previous } = await (await fetch(`${server.url}/admin/dpop`)).json();
  add("the server's nonce", nonce);
  add("the server's previous nonce", previous);
  // The key itself: its coordinates (a stored JWK or raw key would hold
  // them). Not its thumbprint, which the access token's `cnf.jkt` carries
  // and keeper.state.claims shows.
  add('the public key x', jwk.x);
  add('the public key y', jwk.y);
  assert.ok(wire.filter((e) => e.proof).length >= 8, 'the proofs of both tabs are in the scan');
  assert.ok(wire.some((e) => e.nonce) && wire.some((e) => e.claims?.nonce), 'nonces are in the scan');

  const tokens = wire.filter(isUserinfo).map((e) => e.authorization.slice('DPoP '.length));
  for (const p of pages) {
    const { local, session } = await p.evaluate(() => window.dpop.webStorage());
    // The scan reads the real store: the session (tokens included, by
    // design with storage: 'local') is there.
    assert.ok(
      Object.values(local).some((v) => tokens.some((t) => v.includes(t))),
      'an access token sent to userinfo is in localStorage',
    );
    const places = [
      ...Object.entries(local).map(([k, v]) => [`localStorage[${k}]`, `${k}=${v}`]),
      ...Object.entries(session).map(([k, v]) => [`sessionStorage[${k}]`, `${k}=${v}`]),
      ...(await p.evaluate(() => window.dpop.events())).map((e) => [`the ${e.type} event`, e.detail]),
      ['keeper.state', await p.evaluate(() => window.dpop.state())],
    ];
    assert.ok(places.some(([where]) => where === 'the restored event'));
    for (const [where, text] of places) {
      assert.doesNotMatch(text, /"d"\s*:/, `no private JWK in ${where}`);
      for (const [value, what] of secrets) assert.ok(!text.includes(value), `${what} is in ${where}`);
    }
  }
  for (const p of pages) assert.deepEqual(p.errors, []);
});

test('control: with the kept pair deleted before a reload, a new key signs and the bound refresh token is refused', async () => {
  await server.reset();
  const page = await open({ key: 'dpop-lost' });
  try {
    await loginByRedirect(page);
    const before = proofKeys(await page.wire())[0];
    await page.evaluate(() => window.dpop.forgetKey());
    await page.reload();
    await ready(page);
    assert.equal(await call(page, 'restore'), true);
    const refused = await page.evaluate(() => window.dpop.refresh());
    assert.equal(refused.ok, false);
    assert.equal(refused.code, 'AUTH_SESSION_ENDED');
    const after = proofKeys(await page.wire()).at(-1);
    assert.notDeepEqual(after, before);
    const stats = await server.stats();
    assert.equal(stats.dpop.rejected.binding, 1);
    assert.equal(stats.refreshes.total, 0);
  } finally {
    await page.close();
  }
});

test('with storage "memory" the key lives with the page: the redirect login sends no dpop_jkt, and the code exchange binds the tokens to the key made after the redirect', async () => {
  await server.reset();
  const page = await open({ key: 'dpop-memory', storage: 'memory' });
  try {
    const sent = await loginByRedirect(page);
    assert.equal(sent.get('dpop_jkt'), null, 'no code bound to a key that the redirect loses');
    const info = await call(page, 'userinfo');
    assert.equal(info.status, 200);
    const wire = await page.wire();
    const keys = proofKeys(wire);
    for (const k of keys) assert.deepEqual(k, keys[0], 'one key after the redirect');
    const token = wire.filter(isUserinfo).at(-1).authorization.match(/^DPoP (.+)$/)[1];
    assert.equal(b64json(token.split('.')[1]).cnf.jkt, thumbprint(keys[0]));
    const stats = await server.stats();
    assert.equal(stats.code_exchanges, 1);
    assert.equal(stats.dpop.rejected.binding ?? 0, 0);
    // Nothing was kept in IndexedDB for this keeper.
    assert.equal((await page.evaluate(() => window.dpop.keyPair())).found, false);
  } finally {
    await page.close();
  }
});
