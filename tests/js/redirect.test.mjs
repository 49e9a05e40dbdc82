// The redirect login (authorization code + PKCE, OpenID Connect) and
// discovery, against the real devserver, through the built package (pkg/).
//
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDevserver, loadPackage, memoryAdapter } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

let server;
let base;

before(async () => {
  server = await startDevserver();
  base = server.url;
});

after(() => server.stop());

const CALLBACK = 'http://127.0.0.1:5173/callback';
const issuer = () => `${base}/realms/tokenkeeper`;
const profile = (extra = {}) => ({
  kind: 'oauth2',
  issuer: issuer(),
  clientId: 'tokenkeeper-demo',
  scope: 'openid profile',
  redirectUri: CALLBACK,
  ...extra,
});

/** Plays the browser at the authorization endpoint: GET the form, POST it
 * back with the demo user's password, return the redirect's Location. */
async function authorize(url, password = 'demo-password') {
  const page = await fetch(url, { redirect: 'manual' });
  if (page.status === 302 || page.status === 303) return page.headers.get('location');
  assert.equal(page.status, 200);
  const html = await page.text();
  const action = new URL(html.match(/<form method="post" action="([^"]+)"/)[1], url);
  const form = new URLSearchParams();
  const unescape = (s) =>
    s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    form.set(unescape(name), unescape(value));
  }
  form.set('username', 'demo');
  form.set('password', password);
  const res = await fetch(action, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(res.status, 302);
  return res.headers.get('location');
}

function events(keeper, ...types) {
  const seen = [];
  for (const t of types) keeper.addEventListener(t, (e) => seen.push([t, e.detail]));
  return seen;
}

test('discovery fills the profile from the issuer metadata, through the injected fetch', async () => {
  const seen = [];
  const keeper = await TokenKeeper.discover({
    profile: profile(),
    fetch: (input, init) => {
      seen.push([String(input), init.redirect]);
      return fetch(input, init);
    },
  });
  assert.deepEqual(seen, [[`${issuer()}/.well-known/openid-configuration`, 'manual']]);
  const url = new URL(await keeper.authorizeUrl());
  assert.equal(url.origin + url.pathname, `${issuer()}/protocol/openid-connect/auth`);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(keeper.state.status, 'loggedOut');
  keeper.close();
});

test('discovery rejects an issuer mismatch, an unknown realm and http off loopback', async () => {
  await assert.rejects(TokenKeeper.discover({ profile: profile({ issuer: `${issuer()}/` }) }), {
    name: 'TokenKeeperError',
    code: 'AUTH_ISSUER_MISMATCH',
    message: '"issuer" does not match the expected issuer',
  });
  await assert.rejects(TokenKeeper.discover({ profile: profile({ issuer: `${base}/realms/nope` }) }), {
    code: 'OAUTH_RESPONSE_BODY_ERROR',
    status: 404,
  });
  await assert.rejects(TokenKeeper.discover({ profile: profile({ issuer: 'http://idp.example/realms/x' }) }), {
    code: 'AUTH_CONFIG',
    message: '"issuer" must use https (http only on loopback or with allowInsecureHttp)',
  });
  await assert.rejects(TokenKeeper.discover({ profile: { kind: 'oauth2', clientId: 'x' } }), { code: 'AUTH_CONFIG' });
});

test('the code flow logs in with a verified id_token', async () => {
  const storage = memoryAdapter();
  const keeper = await TokenKeeper.discover({ profile: profile(), storage, autoRefresh: false });
  const seen = events(keeper, 'login', 'loginfailed');
  const url = await keeper.loginWithRedirect({ extraParams: { ui_locales: 'en' } });
  // The default key names the token endpoint and the client.
  const key = `tokenkeeper:${issuer()}/protocol/openid-connect/token tokenkeeper-demo`;
  assert.ok(storage.map.has(`${key}.redirect`), 'the pending login is stored');
  const pending = JSON.parse(storage.map.get(`${key}.redirect`));
  const sent = new URL(url).searchParams;
  assert.equal(sent.get('state'), pending.state);
  assert.equal(sent.get('ui_locales'), 'en');

  const back = await authorize(url);
  const params = new URL(back).searchParams;
  assert.equal(params.get('state'), pending.state);
  assert.equal(params.get('iss'), issuer());

  const { idTokenClaims } = await keeper.handleRedirect(back);
  assert.equal(idTokenClaims.iss, issuer());
  assert.equal(idTokenClaims.aud, 'tokenkeeper-demo');
  assert.equal(idTokenClaims.nonce, pending.nonce);
  assert.ok(idTokenClaims.sub);
  assert.equal(keeper.state.status, 'active');
  assert.match(await keeper.accessToken(), /^ey/);
  assert.deepEqual(seen.map(([t]) => t), ['login']);
  assert.ok(!storage.map.has(`${key}.redirect`), 'the pending login is cleared');
  assert.ok(storage.map.has(key), 'the session is stored');

  // The same callback again: nothing is pending any more.
  await assert.rejects(keeper.handleRedirect(back), { code: 'AUTH_NO_PENDING_LOGIN' });
  assert.equal(keeper.state.status, 'active');
  keeper.close();
});

test('a wrong state is rejected and keeps the pending login for the real callback', async () => {
  const keeper = await TokenKeeper.discover({ profile: profile(), autoRefresh: false });
  const back = await authorize(await keeper.authorizeUrl());
  const forged = new URL(back);
  forged.searchParams.set('state', 'forged');
  await assert.rejects(keeper.handleRedirect(forged.href), {
    name: 'TokenKeeperError',
    code: 'AUTH_STATE_MISMATCH',
  });
  const missing = new URL(back);
  missing.searchParams.delete('state');
  await assert.rejects(keeper.handleRedirect(missing), { code: 'AUTH_STATE_MISMATCH' });
  assert.equal(keeper.state.status, 'loggedOut');
  await keeper.handleRedirect(back);
  assert.equal(keeper.state.status, 'active');
  keeper.close();
});

test('a tampered id_token is rejected and the session stays as it was', async () => {
  const tamper = (jwt) => {
    const [h, p, s] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.sub = 'someone-else';
    return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  };
  const keeper = await TokenKeeper.discover({
    profile: profile(),
    autoRefresh: false,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/token')) return res;
      const body = await res.json();
      if (body.id_token) body.id_token = tamper(body.id_token);
      return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
    },
  });
  const seen = events(keeper, 'login', 'loginfailed');
  const back = await authorize(await keeper.authorizeUrl());
  await assert.rejects(keeper.handleRedirect(back), {
    name: 'TokenKeeperError',
    code: 'AUTH_ID_TOKEN_INVALID',
    message: '"id_token" signature does not verify',
  });
  assert.equal(keeper.state.status, 'loggedOut');
  await assert.rejects(keeper.accessToken(), { code: 'AUTH_NO_SESSION' });
  assert.deepEqual(seen.map(([t, d]) => [t, d.error?.code]), [['loginfailed', 'AUTH_ID_TOKEN_INVALID']]);
  keeper.close();
});

test('an error redirect becomes a typed OAuth error', async () => {
  const keeper = await TokenKeeper.discover({ profile: profile(), autoRefresh: false });
  const back = await authorize(await keeper.authorizeUrl({ scope: 'openid bogus' }));
  assert.equal(new URL(back).searchParams.get('error'), 'invalid_scope');
  await assert.rejects(keeper.handleRedirect(back), (e) => {
    assert.equal(e.name, 'TokenKeeperError');
    assert.equal(e.code, 'OAUTH_AUTHORIZATION_RESPONSE_ERROR');
    assert.equal(e.error, 'invalid_scope');
    assert.equal(typeof e.error_description, 'string');
    return true;
  });
  assert.equal(keeper.state.status, 'loggedOut');
  keeper.close();
});

test('the code flow needs an oauth2 profile with a redirect URI and nothing pending fails cleanly', async () => {
  const keeper = new TokenKeeper({
    profile: { kind: 'oauth2', tokenUrl: `${issuer()}/protocol/openid-connect/token`, clientId: 'tokenkeeper-demo' },
  });
  await assert.rejects(keeper.authorizeUrl(), { code: 'AUTH_CONFIG', message: '"redirectUri" is required for a redirect login' });
  await assert.rejects(keeper.authorizeUrl({ redirectUri: CALLBACK }), {
    code: 'AUTH_CONFIG',
    message: '"authorizationUrl" is required for the code flow',
  });
  await assert.rejects(keeper.handleRedirect(`${CALLBACK}?code=x&state=y`), { code: 'AUTH_NO_PENDING_LOGIN' });
  await assert.rejects(keeper.authorizeUrl({ redirectUri: 'https://app.example/cb#x' }), { code: 'AUTH_CONFIG' });
  keeper.close();
});

/** A fetch that counts the token endpoint's requests, and may rewrite its answers. */
function counting(rewrite = (body) => body) {
  const f = async (input, init) => {
    const res = await fetch(input, init);
    if (!String(input).endsWith('/protocol/openid-connect/token')) return res;
    f.tokenRequests += 1;
    const body = rewrite(await res.json());
    return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
  };
  f.tokenRequests = 0;
  return f;
}

test('two overlapping handleRedirect calls with one callback send the code once and share the result', async () => {
  const fetch = counting();
  const storage = memoryAdapter();
  const keeper = await TokenKeeper.discover({ profile: profile(), storage, autoRefresh: false, fetch });
  const seen = events(keeper, 'login', 'loginfailed');
  const back = await authorize(await keeper.authorizeUrl());
  // React StrictMode runs a mount effect twice; a user may click twice.
  const [first, second] = await Promise.all([keeper.handleRedirect(back), keeper.handleRedirect(back)]);
  assert.equal(fetch.tokenRequests, 1);
  assert.deepEqual(second, first);
  assert.ok(first.idTokenClaims.sub);
  assert.deepEqual(seen.map(([t]) => t), ['login']);
  assert.equal(keeper.state.status, 'active');
  // Once settled, the callback is spent.
  await assert.rejects(keeper.handleRedirect(back), { code: 'AUTH_NO_PENDING_LOGIN' });
  assert.equal(fetch.tokenRequests, 1);
  assert.match(await keeper.accessToken(), /^ey/);
  keeper.close();
});

test('an error callback uses up the pending login: a later code with the same state is not exchanged', async () => {
  const fetch = counting();
  const storage = memoryAdapter();
  const keeper = await TokenKeeper.discover({ profile: profile(), storage, autoRefresh: false, fetch });
  const url = await keeper.authorizeUrl();
  const state = new URL(url).searchParams.get('state');
  const back = await authorize(url);
  const key = `tokenkeeper:${issuer()}/protocol/openid-connect/token tokenkeeper-demo.redirect`;
  assert.ok(storage.map.has(key));
  await assert.rejects(keeper.handleRedirect(`${CALLBACK}?error=access_denied&state=${state}&iss=${encodeURIComponent(issuer())}`), {
    code: 'OAUTH_AUTHORIZATION_RESPONSE_ERROR',
    error: 'access_denied',
  });
  assert.ok(!storage.map.has(key), 'the pending login is deleted');
  await assert.rejects(keeper.handleRedirect(back), { code: 'AUTH_NO_PENDING_LOGIN' });
  assert.equal(fetch.tokenRequests, 0);
  assert.equal(keeper.state.status, 'loggedOut');
  keeper.close();
});

test('a provider whose metadata says it sends iss: a callback without iss is refused and spent', async () => {
  const fetch = counting();
  const keeper = await TokenKeeper.discover({ profile: profile(), autoRefresh: false, fetch });
  const back = new URL(await authorize(await keeper.authorizeUrl()));
  back.searchParams.delete('iss');
  await assert.rejects(keeper.handleRedirect(back.href), {
    code: 'AUTH_CALLBACK_INVALID',
    message: 'authorization response "iss" parameter is missing, though the provider says it sends one (RFC 9207)',
  });
  back.searchParams.set('iss', issuer());
  await assert.rejects(keeper.handleRedirect(back.href), { code: 'AUTH_NO_PENDING_LOGIN' });
  assert.equal(fetch.tokenRequests, 0);
  keeper.close();
  // Set by hand, the profile's choice wins over the metadata's.
  const lax = await TokenKeeper.discover({ profile: profile({ requireIss: false }), autoRefresh: false });
  const bare = new URL(await authorize(await lax.authorizeUrl()));
  bare.searchParams.delete('iss');
  await lax.handleRedirect(bare.href);
  assert.equal(lax.state.status, 'active');
  lax.close();
});

test('an openid login whose token response has no id_token is refused, the session unchanged', async () => {
  const fetch = counting(({ id_token: _dropped, ...rest }) => rest);
  const keeper = await TokenKeeper.discover({ profile: profile(), autoRefresh: false, fetch });
  const seen = events(keeper, 'login', 'loginfailed');
  const back = await authorize(await keeper.authorizeUrl());
  await assert.rejects(keeper.handleRedirect(back), {
    code: 'OAUTH_INVALID_RESPONSE',
    message: '"response" body "id_token" property is required in the answer to an openid login',
  });
  assert.equal(fetch.tokenRequests, 1);
  assert.equal(keeper.state.status, 'loggedOut');
  assert.deepEqual(seen.map(([t, d]) => [t, d.error?.code]), [['loginfailed', 'OAUTH_INVALID_RESPONSE']]);
  keeper.close();
  // Without openid in the scope, no ID token is expected.
  const plain = await TokenKeeper.discover({ profile: profile({ scope: 'profile' }), autoRefresh: false, fetch });
  await plain.handleRedirect(await authorize(await plain.authorizeUrl()));
  assert.equal(plain.state.status, 'active');
  plain.close();
});
