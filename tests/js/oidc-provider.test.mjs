// tokenkeeper against a real third-party identity provider: `oidc-provider`
// (panva's certified OpenID Provider) from npm, on 127.0.0.1: discovery,
// client_credentials with client_secret_basic and with client_secret_post,
// and revocation (RFC 7009), checked through the provider's own
// introspection (RFC 7662); and, at the end, 2 s tokens renewed at each
// expiry with rotating refresh tokens and with client credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { loadPackage } from './support/devserver.mjs';
import { authorize } from './support/oidc-provider.mjs';

const { TokenKeeper } = await loadPackage();

const clients = {
  basic: { client_id: 'cc-basic', client_secret: 'basic-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
  post: { client_id: 'cc-post', client_secret: 'post-secret-0123456789', token_endpoint_auth_method: 'client_secret_post' },
};

let server;
let issuer;
const seen = [];

before(async () => {
  const http = createServer();
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${http.address().port}`;
  const provider = new Provider(issuer, {
    clients: Object.values(clients).map((c) => ({
      ...c,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
    features: {
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
    },
    scopes: ['api:read'],
  });
  provider.on('grant.success', (ctx) => seen.push(['grant', ctx.oidc.client.clientId]));
  http.on('request', provider.callback());
  server = http;
});

after(() => new Promise((r) => server.close(r)));

/** RFC 7662 introspection with the client's own credentials. */
async function active(client, token) {
  const res = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).active;
}

for (const [auth, client] of Object.entries(clients)) {
  test(`discovery, client_credentials with client_secret_${auth}, revocation on logout`, async () => {
    const keeper = await TokenKeeper.discover({
      profile: {
        kind: 'oauth2',
        issuer,
        clientId: client.client_id,
        clientSecret: client.client_secret,
        clientAuth: auth,
        scope: 'api:read',
      },
    });
    await keeper.login();
    const token = await keeper.accessToken();
    const state = keeper.state;
    assert.equal(state.status, 'active');
    assert.equal(state.scope, 'api:read');
    assert.ok(state.expiresAt > Date.now());
    assert.equal(await active(client, token), true);
    const revoked = new Promise((r) => keeper.addEventListener('revoked', r, { once: true }));
    await keeper.logout();
    await revoked;
    assert.equal(await active(client, token), false, 'the provider no longer accepts the token');
    assert.deepEqual(
      seen.filter(([, id]) => id === client.client_id).map(([what]) => what),
      ['grant'],
      'one token request',
    );
    keeper.close();
  });
}

test('a wrong client secret is a typed invalid_client error', async () => {
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer, clientId: clients.basic.client_id, clientSecret: 'wrong', clientAuth: 'basic' },
  });
  await assert.rejects(keeper.login(), (e) => {
    assert.equal(e.code, 'OAUTH_RESPONSE_BODY_ERROR');
    assert.equal(e.error, 'invalid_client');
    assert.equal(e.status, 401);
    assert.ok(!e.message.includes('wrong'));
    return true;
  });
  assert.equal(keeper.state.status, 'loggedOut');
  keeper.close();
});

// ---- Short lifetimes: the renewal timing model against oidc-provider ------
//
// 2 s access tokens, renewed with the refresh_token grant (rotating refresh
// tokens) and with client_credentials: 20 callers at each expiry send one
// token request and all get the new token, over several lifetimes. The
// first refresh token comes from a real authorization-code login (PKCE),
// driven here by HTTP through oidc-provider's development interactions.
//
// The keepers set `minIntervalMs` to 60 s, far beyond the lifetime and
// `maxWaitMs`: an expired token is renewed at once whatever it says, while
// a keeper that held expired tokens back until `minIntervalMs` after the
// last tokens arrived would fail these callers with AUTH_RETRY_LATER.

const HOLD = { minIntervalMs: 60_000 };
const ROUNDS = 5;
const shortClients = {
  spa: { client_id: 'spa-rotating', token_endpoint_auth_method: 'none' },
  cc: { client_id: 'cc-short', client_secret: 'short-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
};

/**
 * A second oidc-provider on 127.0.0.1 with 2 s access tokens and rotating
 * refresh tokens, closed when the test ends. Counts the requests to its
 * token endpoint (`tokenRequests`) and the grants by type (`grants`,
 * `grantErrors`).
 */
async function shortLivedProvider(t) {
  const http = createServer();
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${http.address().port}`;
  const redirectUri = `${base}/callback`;
  const provider = new Provider(base, {
    clients: [
      {
        ...shortClients.spa,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [redirectUri],
      },
      { ...shortClients.cc, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: true } },
    // Every refresh hands out a new refresh token and consumes the old one;
    // presenting a consumed one is refused and revokes the grant.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 2,
      ClientCredentials: 2,
      RefreshToken: 3600,
      IdToken: 3600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    scopes: ['openid', 'offline_access', 'api:read'],
    findAccount: (ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
  });
  const counts = { tokenRequests: 0, grants: {}, grantErrors: [] };
  http.on('request', (req) => {
    if (req.method === 'POST' && req.url === '/token') counts.tokenRequests += 1;
  });
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    counts.grants[type] = (counts.grants[type] ?? 0) + 1;
  });
  provider.on('grant.error', (ctx, error) => counts.grantErrors.push(`${ctx.oidc.params?.grant_type}: ${error.message}`));
  http.on('request', provider.callback());
  t.after(async () => {
    const closed = new Promise((r) => http.close(r));
    http.closeAllConnections();
    await closed;
  });
  return { issuer: base, redirectUri, provider, counts };
}

/**
 * A fetch that notes the refresh tokens a keeper sends to `tokenUrl`
 * (compared by the test, never printed) and passes everything on.
 */
function recordingFetch(tokenUrl) {
  const sentRefreshTokens = [];
  const fetchFn = async (input, init) => {
    const req = new Request(input, init);
    if (req.url === tokenUrl) {
      const form = new URLSearchParams(await req.clone().text());
      if (form.get('grant_type') === 'refresh_token') sentRefreshTokens.push(form.get('refresh_token'));
    }
    return fetch(req);
  };
  return { sentRefreshTokens, fetch: fetchFn };
}

/** Resolves once the local clock is past the held token's expiry. */
async function untilExpired(keeper) {
  const at = keeper.state.expiresAt;
  assert.equal(typeof at, 'number', 'the keeper holds a token with an expiry');
  while (Date.now() <= at) await new Promise((r) => setTimeout(r, at - Date.now() + 1));
}

/**
 * `ROUNDS` expiries of the keeper's token, 20 callers at each: one token
 * request each time, every caller gets the same new token, one the
 * provider issued for that round (`find`).
 */
async function callersAtEachExpiry(keeper, counts, find) {
  let last = await keeper.accessToken();
  let before = counts.tokenRequests;
  for (let round = 0; round < ROUNDS; round += 1) {
    await untilExpired(keeper);
    const start = Date.now();
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => keeper.accessToken()));
    const sent = counts.tokenRequests - before;
    const errors = settled.filter((s) => s.status === 'rejected').map((s) => `${s.reason?.code}: ${s.reason?.message}`);
    assert.equal(errors.length, 0, `round ${round}: ${errors.length} of 20 callers failed, e.g. ${errors[0]}`);
    const tokens = new Set(settled.map((s) => s.value));
    assert.equal(tokens.size, 1, `round ${round}: every caller gets the same token`);
    assert.equal(sent, 1, `round ${round}: one token request for this expiry and 20 callers`);
    before = counts.tokenRequests;
    const [token] = tokens;
    assert.ok(token !== last, `round ${round}: a new token`);
    // Issued by the provider for this round: it expires after the round
    // began (read without the expiry check, which a slow machine could
    // reach within the last of the token's 2 s).
    const issued = await find(token, { ignoreExpiration: true });
    assert.ok(issued, `round ${round}: the provider issued the token`);
    assert.ok(issued.exp * 1000 > start, `round ${round}: a token issued for this round`);
    last = token;
  }
}

test('oidc-provider, 2 s tokens, refresh_token grant with rotation: 20 callers at each expiry → 1 request, 0 errors; no refresh token reused', async (t) => {
  const { issuer: base, redirectUri, provider, counts } = await shortLivedProvider(t);
  const tokenUrl = `${base}/token`;
  const recorder = recordingFetch(tokenUrl);
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer: base, clientId: shortClients.spa.client_id, redirectUri, scope: 'openid offline_access' },
    refresh: HOLD,
    fetch: recorder.fetch,
  });
  t.after(() => keeper.close());
  const rotated = [];
  keeper.addEventListener('refreshed', (e) => rotated.push(e.detail.rotated));
  // offline_access (a refresh token) needs prompt=consent at oidc-provider.
  const url = await keeper.authorizeUrl({ extraParams: { prompt: 'consent' } });
  const { idTokenClaims } = await keeper.handleRedirect(await authorize(url, redirectUri));
  assert.equal(idTokenClaims.sub, 'alice');
  assert.equal(counts.grants.authorization_code, 1);

  await callersAtEachExpiry(keeper, counts, (token, opts) => provider.AccessToken.find(token, opts));

  assert.deepEqual(counts.grantErrors, [], 'the provider refused nothing');
  assert.equal(counts.grants.refresh_token, ROUNDS);
  assert.deepEqual(rotated, Array(ROUNDS).fill(true), 'each refresh brought a new refresh token');
  const sent = recorder.sentRefreshTokens;
  assert.equal(sent.length, ROUNDS);
  assert.equal(new Set(sent).size, ROUNDS, 'the keeper never sent a refresh token twice');

  // The provider does refuse a used refresh token, and then revokes the
  // grant: had the keeper reused one, its session would have ended.
  const reuse = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: sent[0], client_id: shortClients.spa.client_id }),
  });
  assert.equal(reuse.status, 400);
  assert.equal((await reuse.json()).error, 'invalid_grant');
  const ended = [];
  keeper.addEventListener('sessionended', (e) => ended.push(e.detail.reason));
  await untilExpired(keeper);
  await assert.rejects(keeper.accessToken(), (e) => {
    assert.equal(e.code, 'AUTH_SESSION_ENDED', `${e.code}: ${e.message}`);
    return true;
  });
  assert.equal(keeper.state.status, 'ended');
  assert.deepEqual(ended, [keeper.state.endedReason]);
  assert.match(keeper.state.endedReason, /invalid_grant/);
  assert.equal(counts.tokenRequests, 1 + ROUNDS + 2, 'the login, the renewals, the reuse, the refused renewal');
});

test('oidc-provider, 2 s client_credentials tokens: 20 callers at each expiry → 1 request, 0 errors', async (t) => {
  const { issuer: base, provider, counts } = await shortLivedProvider(t);
  const keeper = await TokenKeeper.discover({
    profile: {
      kind: 'oauth2',
      issuer: base,
      clientId: shortClients.cc.client_id,
      clientSecret: shortClients.cc.client_secret,
      clientAuth: 'basic',
      scope: 'api:read',
    },
    refresh: HOLD,
  });
  t.after(() => keeper.close());
  await keeper.login();
  await callersAtEachExpiry(keeper, counts, (token, opts) => provider.ClientCredentials.find(token, opts));
  assert.deepEqual(counts.grantErrors, []);
  assert.equal(counts.grants.client_credentials, ROUNDS + 1);
  assert.equal(counts.tokenRequests, ROUNDS + 1);
  assert.equal(keeper.state.status, 'active');
});
