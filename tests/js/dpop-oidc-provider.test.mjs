// tokenkeeper with `dpop: true` against a real third-party server that
// enforces DPoP (RFC 9449): `oidc-provider` from npm on 127.0.0.1, with
// `features.dPoP` on and a nonce required in every proof. What the keeper
// sends is observed through its `fetch` option; what the provider made of
// it is read from the provider itself: its introspection (`cnf.jkt`,
// `token_type`), its userinfo endpoint (a resource server that checks the
// proof, `ath` and the nonce) and its events (`grant.success`,
// `grant.error`, `userinfo.error`, `server_error`), whose `error_detail`
// says why it refused a request.
//
// Where the behaviour comes from, under node_modules/oidc-provider/lib:
// - helpers/validate_dpop.js: the proof checks. A proof without `nonce`
//   while `features.dPoP.requireNonce(ctx)` is true (the default returns
//   false: a `nonceSecret` alone only hands nonces out) is refused with
//   `use_dpop_nonce`, "nonce is required in the DPoP proof", and a
//   `DPoP-Nonce` header; one the provider did not issue, "invalid nonce in
//   DPoP proof", with a new `DPoP-Nonce`. Nonces come from
//   helpers/challenge.js: one value per 60 s step, accepted for ±2 steps
//   and shared by every route of the provider. A successful answer
//   carries `DPoP-Nonce` only when the proof's nonce is not the current
//   one.
// - actions/token.js and actions/grants/*: at the token endpoint the
//   errors are 400 JSON bodies (no `WWW-Authenticate`). Client
//   authentication comes before the proof is looked at. A proof's `jti`
//   seen before is `invalid_grant`, detail "DPoP proof JWT Replay
//   detected" (helpers/grant_common.js `applyDpopBinding`); a refresh token
//   bound to another key is `invalid_grant`, detail "failed jkt
//   verification", checked before the token is consumed
//   (grants/refresh_token.js).
// - helpers/set_rt_bindings.js: only a public client's (`none`) refresh
//   token is bound to the proof's key (`jkt`); a confidential client's is
//   not (its client authentication guards it). Hence the public client
//   for the refresh test.
// - shared/access_token.js, shared/set_www_authenticate_header.js: userinfo
//   answers 401 with `WWW-Authenticate: DPoP … error="use_dpop_nonce"`
//   and `DPoP-Nonce`, and refuses a replayed proof with
//   `error="invalid_token"` (not `invalid_dpop_proof`), detail "DPoP proof
//   JWT Replay detected".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadPackage } from './support/devserver.mjs';
import {
  accessTokenHash, authorize, decodeJwt, dpopKey, dpopProof, jwkThumbprint, pkce, startProvider,
} from './support/oidc-provider.mjs';

const { TokenKeeper } = await loadPackage();

const clients = {
  cc: { client_id: 'dpop-cc', client_secret: 'dpop-cc-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
  spa: { client_id: 'dpop-spa', token_endpoint_auth_method: 'none' },
  // Confidential, so oidc-provider's default introspection policy lets it
  // introspect every client's tokens.
  rs: { client_id: 'dpop-rs', client_secret: 'dpop-rs-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
};

/**
 * oidc-provider with DPoP required (nonces included) for this test;
 * `listeners: 2` also serves it on a second origin, `origins[1]`, where
 * the keeper has no nonce yet.
 */
async function dpopProvider(t, { listeners = 1 } = {}) {
  const env = await startProvider(t, (issuer) => ({
    clients: [
      { ...clients.cc, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { ...clients.rs, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      {
        ...clients.spa,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // Never fetched: the callback is read off the redirect.
        redirect_uris: [`${issuer}/callback`],
      },
    ],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    },
    // Each refresh hands out a new refresh token (kept bound to the key) and
    // consumes the old one; oidc-provider's default would keep a
    // sender-constrained one until 70 % of its lifetime.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      RefreshToken: 3600,
      IdToken: 3600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    scopes: ['openid', 'offline_access', 'api:read'],
    findAccount: (ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
  }), { listeners });
  return { ...env, tokenUrl: `${env.issuer}/token`, redirectUri: `${env.issuer}/callback` };
}

// ---- What the keeper sends ------------------------------------------------

/**
 * A `fetch` for the keeper that records every request and answer
 * (`log`), passing everything on; `tamper(entry, response)` may replace an
 * answer before the keeper sees it.
 */
function wire({ tamper } = {}) {
  const log = [];
  const fetchFn = async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    let proof = null;
    try {
      if (headers.has('dpop')) proof = decodeJwt(headers.get('dpop'));
    } catch {
      proof = { unreadable: headers.get('dpop').length };
    }
    const entry = {
      method: req.method,
      url: req.url,
      origin: url.origin,
      headers,
      body: await req.clone().text(),
      proof,
    };
    log.push(entry);
    let res = await fetch(req);
    if (tamper) res = await tamper(entry, res);
    entry.status = res.status;
    entry.responseHeaders = new Headers(res.headers);
    entry.responseBody = await res.clone().text();
    return res;
  };
  return { log, fetch: fetchFn };
}

const form = (entry) => new URLSearchParams(entry.body);
const json = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** The last `DPoP-Nonce` an origin sent the keeper, if any. */
function lastNonce(log, origin) {
  return log.filter((e) => e.origin === origin && e.responseHeaders?.has('dpop-nonce')).at(-1)?.responseHeaders.get('dpop-nonce');
}

/** Asserts a proof's shape (RFC 9449 §4.2) and returns its key's thumbprint. */
function checkProof(entry, { htm, htu, accessToken, nonce }) {
  const { header, payload, unreadable } = entry.proof ?? assert.fail(`no DPoP header on ${entry.method} ${entry.url}`);
  assert.equal(unreadable, undefined, 'the DPoP header is a compact JWS with JSON header and payload');
  assert.equal(header.typ, 'dpop+jwt');
  assert.equal(header.alg, 'ES256');
  assert.equal(header.jwk.kty, 'EC');
  assert.equal(header.jwk.crv, 'P-256');
  assert.equal(header.jwk.d, undefined, 'the public key only');
  assert.equal(payload.htm, htm);
  assert.equal(payload.htu, htu);
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60, 'iat is now');
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti.length >= 16, 'jti has at least 96 bits');
  assert.equal(payload.nonce, nonce, nonce === undefined ? 'no nonce' : 'the nonce the server sent last');
  assert.equal(payload.ath, accessToken === undefined ? undefined : accessTokenHash(accessToken));
  return jwkThumbprint(header.jwk);
}

// ---- What the provider says -----------------------------------------------

/** RFC 7662 introspection by the resource server's client. */
async function introspect(issuer, token) {
  const res = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clients.rs.client_id}:${clients.rs.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** The provider's events, without the fields that are undefined. */
const events = (env, ...names) =>
  env.events.filter((e) => names.includes(e.event)).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));

const nonceRequired = (event, grantType) => ({
  event, ...(grantType ? { grantType } : {}), error: 'use_dpop_nonce', description: 'nonce is required in the DPoP proof',
});

// ---- No secrets in what the keeper reports --------------------------------

const KEEPER_EVENTS = ['login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
  'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror'];

/** Everything the keeper reports: its events and, pushed by the test, its errors. */
function watch(keeper) {
  const seen = { events: [], errors: [], keeper };
  for (const type of KEEPER_EVENTS) keeper.addEventListener(type, (e) => seen.events.push(`${type} ${dump(e.detail)}`));
  return seen;
}

function dump(value) {
  if (value instanceof Error) {
    return [String(value), value.stack, JSON.stringify(value), JSON.stringify(Object.entries(value)), dump(value.cause)].join('\n');
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${k}=${dump(v)}`).join(' ');
  }
  return String(value);
}

/**
 * Every secret that went over the wire, each with how much of it is
 * looked for: client secrets, codes, verifiers, tokens (access, refresh,
 * ID), proofs and nonces by their first 12 characters (a cut-off echo
 * counts); of a JWT, the signature likewise and the payload whole (its
 * start is base64url of `{"jti":` or the like, the same in every JWT), and
 * not the header (a public key, or a standard prefix).
 */
function secretsOf(log) {
  const out = new Set(Object.values(clients).map((c) => c.client_secret?.slice(0, 12)).filter(Boolean));
  const add = (v) => {
    if (typeof v !== 'string' || v.length < 12) return;
    const parts = v.split('.');
    if (parts.length === 3) {
      out.add(parts[1]);
      out.add(parts[2].slice(0, 12));
    } else {
      out.add(v.slice(0, 12));
    }
  };
  for (const e of log) {
    add(e.headers.get('dpop'));
    const [scheme, credentials] = (e.headers.get('authorization') ?? '').split(' ');
    if (/^basic$/i.test(scheme)) {
      const pair = Buffer.from(credentials, 'base64').toString();
      add(decodeURIComponent(pair.slice(pair.indexOf(':') + 1).replaceAll('+', ' ')));
    } else {
      add(credentials);
    }
    add(e.proof?.payload?.nonce);
    for (const k of ['code', 'code_verifier', 'refresh_token', 'client_secret']) add(form(e).get(k));
    add(e.responseHeaders?.get('dpop-nonce'));
    const body = json(e.responseBody ?? '');
    for (const k of ['access_token', 'refresh_token', 'id_token']) add(body?.[k]);
  }
  return [...out];
}

/** No secret of `log` is in what the keeper reported (`watch`). */
function assertNoSecrets(log, seen) {
  const secrets = secretsOf(log);
  assert.ok(secrets.length > 0, 'secrets were exchanged');
  const reported = [
    ['events', seen.events.join('\n')],
    ['errors', seen.errors.map(dump).join('\n')],
    ['state', JSON.stringify(seen.keeper.state)],
  ];
  for (const [label, text] of reported) {
    for (const s of secrets) assert.ok(!text.includes(s), `the keeper's ${label} hold a secret that went over the wire:\n${text}`);
  }
}

function assertNoServerError(env) {
  assert.deepEqual(events(env, 'server_error'), [], 'oidc-provider had no internal error');
}

// ---- Keepers ---------------------------------------------------------------

function ccKeeper(t, env, w, secret = clients.cc.client_secret) {
  const keeper = new TokenKeeper({
    profile: {
      kind: 'oauth2', tokenUrl: env.tokenUrl, clientId: clients.cc.client_id, clientSecret: secret,
      clientAuth: 'basic', scope: 'api:read',
    },
    dpop: true,
    autoRefresh: false,
    storage: 'memory',
    fetch: w.fetch,
  });
  t.after(() => keeper.close());
  return keeper;
}

/**
 * A keeper of the public client, logged in with the authorization code of
 * a consented `openid offline_access` request (PKCE), driven by HTTP
 * through oidc-provider's development interactions. The code exchange is
 * the keeper's own `login({ code, codeVerifier, redirectUri })`.
 */
async function codeKeeper(t, env, w, { allowedOrigins } = {}) {
  const keeper = new TokenKeeper({
    profile: { kind: 'oauth2', tokenUrl: env.tokenUrl, clientId: clients.spa.client_id, clientAuth: 'none' },
    dpop: true,
    autoRefresh: false,
    // The tests refresh right after the login.
    refresh: { minIntervalMs: 0 },
    storage: 'memory',
    fetch: w.fetch,
    ...(allowedOrigins ? { allowedOrigins } : {}),
  });
  t.after(() => keeper.close());
  const seen = watch(keeper);
  const { verifier, challenge } = pkce();
  const url = new URL(`${env.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: clients.spa.client_id,
    response_type: 'code',
    redirect_uri: env.redirectUri,
    scope: 'openid offline_access',
    // offline_access (a refresh token) needs prompt=consent at oidc-provider.
    prompt: 'consent',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
  });
  const callback = new URL(await authorize(url.href, env.redirectUri));
  await keeper.login({ code: callback.searchParams.get('code'), codeVerifier: verifier, redirectUri: env.redirectUri });
  return { keeper, seen };
}

// ---- 1. Token endpoint: client credentials ----------------------------------

test('DPoP client_credentials (client_secret_basic): one nonce retry, a DPoP-bound token, the nonce kept for the next login', async (t) => {
  const env = await dpopProvider(t);
  const w = wire();
  const keeper = ccKeeper(t, env, w);
  const seen = watch(keeper);

  await keeper.login();
  const [first, second, ...more] = w.log;
  assert.equal(more.length, 0, 'two requests: the first refused for want of a nonce, one retry');
  for (const e of [first, second]) {
    assert.equal(e.url, env.tokenUrl);
    assert.equal(e.method, 'POST');
    assert.equal(form(e).get('grant_type'), 'client_credentials');
    assert.match(e.headers.get('authorization') ?? '', /^Basic /, 'client_secret_basic');
  }
  const jkt = checkProof(first, { htm: 'POST', htu: env.tokenUrl });
  assert.equal(first.status, 400);
  assert.deepEqual(json(first.responseBody), { error: 'use_dpop_nonce', error_description: 'nonce is required in the DPoP proof' });
  const nonce = first.responseHeaders.get('dpop-nonce');
  assert.match(nonce ?? '', /^[\w-]{43}$/, 'the provider sent a DPoP-Nonce');
  assert.equal(checkProof(second, { htm: 'POST', htu: env.tokenUrl, nonce }), jkt, 'the retry is signed with the same key');
  assert.notEqual(second.proof.payload.jti, first.proof.payload.jti, 'a new proof');
  assert.equal(second.status, 200);
  const issued = json(second.responseBody);
  assert.equal(issued.token_type, 'DPoP');

  const token = await keeper.accessToken();
  assert.equal(token, issued.access_token);
  assert.equal(keeper.state.status, 'active');
  const info = await introspect(env.issuer, token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, clients.cc.client_id);
  assert.equal(info.token_type, 'DPoP');
  assert.deepEqual(info.cnf, { jkt }, 'the provider bound the token to the key of the proofs');

  // The next login sends the nonce the keeper was given: one request.
  const cached = lastNonce(w.log, env.issuer);
  await keeper.login();
  const [third, ...after] = w.log.slice(2);
  assert.equal(after.length, 0, 'one request: the nonce was cached');
  assert.equal(checkProof(third, { htm: 'POST', htu: env.tokenUrl, nonce: cached }), jkt, 'the same key');
  assert.equal(third.status, 200);
  const again = await keeper.accessToken();
  assert.notEqual(again, token);
  assert.deepEqual((await introspect(env.issuer, again)).cnf, { jkt });

  assert.deepEqual(events(env, 'grant.success', 'grant.error'), [
    nonceRequired('grant.error', 'client_credentials'),
    { event: 'grant.success', grantType: 'client_credentials' },
    { event: 'grant.success', grantType: 'client_credentials' },
  ]);
  assertNoServerError(env);
  assertNoSecrets(w.log, seen);
});

test('DPoP token request: a second use_dpop_nonce is not retried again', async (t) => {
  const env = await dpopProvider(t);
  // The first DPoP-Nonce is replaced by one the provider never issued (of
  // the same shape), so the retry is refused as well, with a new nonce.
  const forged = randomBytes(32).toString('base64url');
  let forgedOnce = false;
  const w = wire({
    tamper: async (entry, res) => {
      if (forgedOnce || !res.headers.has('dpop-nonce')) return res;
      forgedOnce = true;
      const headers = new Headers(res.headers);
      headers.set('dpop-nonce', forged);
      return new Response(await res.text(), { status: res.status, statusText: res.statusText, headers });
    },
  });
  const keeper = ccKeeper(t, env, w);
  const seen = watch(keeper);

  await assert.rejects(keeper.login(), (e) => {
    seen.errors.push(e);
    assert.equal(e.code, 'OAUTH_RESPONSE_BODY_ERROR', `${e.code}: ${e.message}`);
    assert.equal(e.error, 'use_dpop_nonce');
    assert.equal(e.status, 400);
    return true;
  });
  assert.equal(w.log.length, 2, 'one retry only');
  assert.equal(w.log[1].proof.payload.nonce, forged, 'the retry carried the nonce as received');
  assert.ok(w.log[1].responseHeaders.has('dpop-nonce'), 'the provider offered another nonce, which was not taken');
  assert.equal(keeper.state.status, 'loggedOut');
  assert.deepEqual(events(env, 'grant.success', 'grant.error'), [
    nonceRequired('grant.error', 'client_credentials'),
    { event: 'grant.error', grantType: 'client_credentials', error: 'use_dpop_nonce', description: 'invalid nonce in DPoP proof' },
  ]);
  assertNoServerError(env);
  assertNoSecrets(w.log, seen);
});

// ---- 2. Refresh with a DPoP-bound refresh token ----------------------------

test('DPoP refresh (public client): the refresh token and every new access token stay bound to the keeper\'s key; another key cannot refresh', async (t) => {
  const env = await dpopProvider(t);
  const w = wire();
  const { keeper, seen } = await codeKeeper(t, env, w);

  // The code exchange: one nonce retry, as for client credentials.
  const exchange = w.log.filter((e) => e.url === env.tokenUrl);
  assert.equal(exchange.length, 2, 'the code exchange and its nonce retry');
  assert.equal(form(exchange[1]).get('grant_type'), 'authorization_code');
  const jkt = checkProof(exchange[1], { htm: 'POST', htu: env.tokenUrl, nonce: exchange[0].responseHeaders.get('dpop-nonce') });
  const loggedIn = json(exchange[1].responseBody);
  assert.equal(loggedIn.token_type, 'DPoP');
  assert.equal(typeof loggedIn.refresh_token, 'string', 'a refresh token was issued');
  assert.deepEqual((await introspect(env.issuer, loggedIn.access_token)).cnf, { jkt });
  const rt1 = await introspect(env.issuer, loggedIn.refresh_token);
  assert.equal(rt1.active, true);
  assert.deepEqual(rt1.cnf, { jkt }, 'the provider bound the refresh token to the key');

  // The keeper refreshes with the same key and the cached nonce.
  await keeper.refresh();
  const refresh = w.log.slice(2);
  assert.equal(refresh.length, 1, 'one request');
  assert.equal(form(refresh[0]).get('grant_type'), 'refresh_token');
  assert.equal(form(refresh[0]).get('refresh_token'), loggedIn.refresh_token);
  assert.equal(checkProof(refresh[0], { htm: 'POST', htu: env.tokenUrl, nonce: lastNonce(w.log.slice(0, 2), env.issuer) }), jkt);
  assert.equal(refresh[0].status, 200);
  const refreshed = json(refresh[0].responseBody);
  assert.equal(refreshed.token_type, 'DPoP');
  const token = await keeper.accessToken();
  assert.equal(token, refreshed.access_token);
  assert.notEqual(token, loggedIn.access_token);
  const at2 = await introspect(env.issuer, token);
  assert.equal(at2.token_type, 'DPoP');
  assert.deepEqual(at2.cnf, { jkt }, 'the new access token is bound to the same key');
  assert.notEqual(refreshed.refresh_token, loggedIn.refresh_token, 'rotated');
  assert.deepEqual((await introspect(env.issuer, refreshed.refresh_token)).cnf, { jkt }, 'the rotated refresh token too');
  assert.equal((await introspect(env.issuer, loggedIn.refresh_token)).active, false, 'the old one is used up');

  // Another client, with its own key, presents the current refresh token.
  const other = await dpopKey();
  assert.notEqual(other.thumbprint, jkt);
  const stolen = async (nonce) => fetch(env.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await dpopProof(other, { htm: 'POST', htu: env.tokenUrl, nonce }) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token, client_id: clients.spa.client_id }),
  });
  const asked = await stolen(undefined);
  assert.equal(asked.status, 400);
  assert.equal((await asked.json()).error, 'use_dpop_nonce');
  const refused = await stolen(asked.headers.get('dpop-nonce'));
  assert.equal(refused.status, 400);
  assert.equal((await refused.json()).error, 'invalid_grant');

  // The refusal was the key's: the keeper's own refresh still works.
  await keeper.refresh();
  const after = w.log.slice(3);
  assert.equal(after.length, 1);
  assert.equal(form(after[0]).get('refresh_token'), refreshed.refresh_token);
  assert.equal(after[0].status, 200);
  assert.deepEqual((await introspect(env.issuer, await keeper.accessToken())).cnf, { jkt });

  assert.deepEqual(events(env, 'grant.success', 'grant.error'), [
    nonceRequired('grant.error', 'authorization_code'),
    { event: 'grant.success', grantType: 'authorization_code' },
    { event: 'grant.success', grantType: 'refresh_token' },
    nonceRequired('grant.error', 'refresh_token'),
    { event: 'grant.error', grantType: 'refresh_token', error: 'invalid_grant', description: 'grant request is invalid', detail: 'failed jkt verification' },
    { event: 'grant.success', grantType: 'refresh_token' },
  ]);
  assertNoServerError(env);
  assertNoSecrets(w.log, seen);
});

// ---- 3. Resource server: oidc-provider's userinfo ---------------------------

test('DPoP keeper.fetch of userinfo: DPoP token and proof with ath; one nonce retry where no nonce is known, none where the token endpoint\'s is', async (t) => {
  const env = await dpopProvider(t, { listeners: 2 });
  const [issuer, other] = env.origins;
  const w = wire();
  const { keeper, seen } = await codeKeeper(t, env, w, { allowedOrigins: [issuer, other] });
  const token = await keeper.accessToken();
  const jkt = jwkThumbprint(w.log[0].proof.header.jwk);
  const onlyMe = (origin) => w.log.filter((e) => e.url === `${origin}/me`);

  // The same provider on another origin: the keeper holds no nonce for it
  // (its nonces are kept per origin), although the provider would take the
  // one it holds for the issuer.
  const res = await keeper.fetch(`${other}/me`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { sub: 'alice' });
  const [asked, retried, ...more] = onlyMe(other);
  assert.equal(more.length, 0, 'one retry');
  for (const e of [asked, retried]) {
    assert.equal(e.method, 'GET');
    assert.equal(e.headers.get('authorization'), `DPoP ${token}`);
  }
  assert.equal(checkProof(asked, { htm: 'GET', htu: `${other}/me`, accessToken: token }), jkt);
  assert.equal(asked.status, 401);
  assert.match(asked.responseHeaders.get('www-authenticate') ?? '', /^DPoP .*error="use_dpop_nonce"/);
  const nonce = asked.responseHeaders.get('dpop-nonce');
  assert.match(nonce ?? '', /^[\w-]{43}$/);
  assert.equal(checkProof(retried, { htm: 'GET', htu: `${other}/me`, accessToken: token, nonce }), jkt);
  assert.equal(retried.status, 200);

  // The issuer's origin: the nonce from the token endpoint is the same
  // server's (the cache is per origin), so no retry.
  const cached = lastNonce(w.log, issuer);
  const home = await keeper.fetch(`${issuer}/me`);
  assert.equal(home.status, 200);
  assert.deepEqual(await home.json(), { sub: 'alice' });
  const [only, ...extra] = onlyMe(issuer);
  assert.equal(extra.length, 0, 'one request, with the cached nonce');
  assert.equal(only.headers.get('authorization'), `DPoP ${token}`);
  assert.equal(checkProof(only, { htm: 'GET', htu: `${issuer}/me`, accessToken: token, nonce: cached }), jkt);

  assert.deepEqual(events(env, 'userinfo.error'), [nonceRequired('userinfo.error')]);
  assert.deepEqual(events(env, 'grant.success').map((e) => e.grantType), ['authorization_code'],
    'a nonce challenge is not a refused token: no renewal');
  assert.ok(w.log.every((e) => !/^Bearer /i.test(e.headers.get('authorization') ?? '')), 'never a Bearer token');
  assertNoServerError(env);
  assertNoSecrets(w.log, seen);
});

// ---- 4. Replay -------------------------------------------------------------

test('DPoP replay at userinfo: a proof the keeper sent, sent again, is refused; the keeper\'s next request succeeds', async (t) => {
  const env = await dpopProvider(t);
  const w = wire();
  const { keeper, seen } = await codeKeeper(t, env, w);
  const me = `${env.issuer}/me`;
  assert.equal((await keeper.fetch(me)).status, 200);
  const sent = w.log.filter((e) => e.url === me && e.status === 200).at(-1);

  const replay = await fetch(me, { headers: { authorization: sent.headers.get('authorization'), dpop: sent.headers.get('dpop') } });
  assert.equal(replay.status, 401);
  assert.match(replay.headers.get('www-authenticate') ?? '', /^DPoP .*error="invalid_token"/);
  assert.equal((await replay.json()).error, 'invalid_token');
  assert.deepEqual(events(env, 'userinfo.error').at(-1), {
    event: 'userinfo.error', error: 'invalid_token', description: 'invalid token provided', detail: 'DPoP proof JWT Replay detected',
  });

  const count = w.log.length;
  const next = await keeper.fetch(me);
  assert.equal(next.status, 200);
  assert.deepEqual(await next.json(), { sub: 'alice' });
  const [again, ...more] = w.log.slice(count);
  assert.equal(more.length, 0, 'one request');
  assert.notEqual(again.proof.payload.jti, sent.proof.payload.jti, 'a new proof');
  assert.equal(events(env, 'userinfo.error').filter((e) => e.detail === 'DPoP proof JWT Replay detected').length, 1);
  assert.deepEqual(events(env, 'grant.success').map((e) => e.grantType), ['authorization_code'], 'no renewal');
  assertNoServerError(env);
  assertNoSecrets(w.log, seen);
});

test('DPoP replay at the token endpoint: a token request resent with the keeper\'s proof is refused; the keeper\'s next login succeeds', async (t) => {
  const env = await dpopProvider(t);
  const w = wire();
  const keeper = ccKeeper(t, env, w);
  const seen = watch(keeper);
  await keeper.login();
  const sent = w.log.at(-1);
  assert.equal(sent.status, 200);

  const replay = await fetch(env.tokenUrl, { method: 'POST', headers: sent.headers, body: sent.body });
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error, 'invalid_grant');
  assert.deepEqual(events(env, 'grant.error').at(-1), {
    event: 'grant.error', grantType: 'client_credentials', error: 'invalid_grant', description: 'grant request is invalid',
    detail: 'DPoP proof JWT Replay detected',
  });

  const count = w.log.length;
  await keeper.login();
  const [again, ...more] = w.log.slice(count);
  assert.equal(more.length, 0, 'one request');
  assert.equal(again.status, 200);
  assert.notEqual(again.proof.payload.jti, sent.proof.payload.jti);
  assert.equal(events(env, 'grant.success').length, 2);
  assertNoServerError(env);
  assertNoSecrets(w.log, seen);
});

// ---- 5. No secrets ----------------------------------------------------------

test('DPoP failures against oidc-provider: no token, proof or nonce in the keeper\'s errors, events or state', async (t) => {
  const env = await dpopProvider(t);

  // A wrong client secret: refused before the proof is looked at.
  const w1 = wire();
  const wrong = ccKeeper(t, env, w1, 'wrong-secret-0123456789');
  const seen1 = watch(wrong);
  await assert.rejects(wrong.login(), (e) => {
    seen1.errors.push(e);
    assert.equal(e.code, 'OAUTH_RESPONSE_BODY_ERROR', `${e.code}: ${e.message}`);
    assert.equal(e.error, 'invalid_client');
    assert.equal(e.status, 401);
    return true;
  });
  assert.ok(w1.log[0].proof, 'a proof was sent');
  assertNoSecrets(w1.log, seen1);

  // A refresh token revoked at the provider: refused after a nonce,
  // a proof and tokens went back and forth.
  const w2 = wire();
  const { keeper, seen: seen2 } = await codeKeeper(t, env, w2);
  assert.equal((await keeper.fetch(`${env.issuer}/me`)).status, 200);
  const { refresh_token: rt } = json(w2.log.filter((e) => e.url === env.tokenUrl && e.status === 200).at(-1).responseBody);
  const revoked = await fetch(`${env.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: rt, client_id: clients.spa.client_id }),
  });
  assert.equal(revoked.status, 200);
  await assert.rejects(keeper.refresh(), (e) => {
    seen2.errors.push(e);
    // A refused refresh ends the session (invalid_grant, RFC 6749 §5.2).
    assert.equal(e.code, 'AUTH_SESSION_ENDED', `${e.code}: ${e.message}`);
    assert.match(e.message, /invalid_grant/);
    return true;
  });
  assert.equal(keeper.state.status, 'ended');
  assert.ok(w2.log.at(-1).proof?.payload.nonce, 'the refused refresh carried a proof with a nonce');
  assert.deepEqual(events(env, 'grant.error').at(-1), {
    event: 'grant.error', grantType: 'refresh_token', error: 'invalid_grant', description: 'grant request is invalid',
    detail: 'refresh token not found',
  });
  assertNoServerError(env);
  assertNoSecrets(w2.log, seen2);
});
