// The device authorization grant (RFC 8628), pushed authorization requests
// (RFC 9126) and token exchange (RFC 8693) against a real third-party
// server: `oidc-provider` from npm on 127.0.0.1. What the keeper sends is
// observed through its `fetch` option; what the provider made of it is read
// from the provider: its introspection (RFC 7662), its userinfo endpoint,
// its events, and the pages a person would see.
//
// Where the behaviour comes from, under node_modules/oidc-provider/lib:
// - actions/authorization/device.js: the device authorization answer has
//   no `interval` (a client then waits 5 s, RFC 8628 §3.2); the tests add
//   `interval: 1` from the `device_authorization.success` event, which gets
//   the body before it is sent.
// - actions/grants/device_code.js: a poll before the user decided is
//   `authorization_pending`, after "[ Abort ]" `access_denied`. It never
//   answers `slow_down` (helpers/errors.js defines SlowDown, nothing throws
//   it), so the slow_down test has the keeper's `fetch` turn one of the
//   provider's `authorization_pending` answers into `slow_down`.
// - actions/code_verification.js: the user-code and confirm pages (walked
//   in support/device-pages.mjs).
// - actions/authorization/pushed_authorization_requests.js and
//   process_request_object.js: `/request`, the `pushed_authorization_request.success`
//   event, and with `requirePushedAuthorizationRequests` (global, then in
//   discovery; or the client's `require_pushed_authorization_requests`) an
//   authorization request that was not pushed is refused with
//   `invalid_request`.
// - No RFC 8693 grant is built in: the test registers one with
//   `provider.registerGrantType` (tokenExchange below).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from 'oidc-provider';
import { loadPackage } from './support/devserver.mjs';
import { authorize, startProvider } from './support/oidc-provider.mjs';
import { deviceUser } from './support/device-pages.mjs';

const { TokenKeeper } = await loadPackage();

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const API = 'https://api.example.test';

const clients = {
  device: { client_id: 'grants-device', token_endpoint_auth_method: 'none' },
  web: { client_id: 'grants-web', token_endpoint_auth_method: 'none' },
  gateway: { client_id: 'grants-gateway', client_secret: 'gateway-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
  // Confidential, so oidc-provider's default introspection policy lets it
  // introspect every client's tokens.
  rs: { client_id: 'grants-rs', client_secret: 'grants-rs-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic' },
};

/**
 * RFC 8693 for oidc-provider: the subject token must be an access token
 * the provider issued and still holds; the new one is for the same user,
 * for the calling client, with the requested `audience` and a scope within
 * the subject token's. A refused subject token is named in the error
 * description, as careless servers do, so the test can see the keeper
 * scrub it.
 */
async function tokenExchange(ctx) {
  const { params, client, provider } = ctx.oidc;
  for (const name of ['subject_token', 'subject_token_type']) {
    if (!params[name]) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  }
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('unsupported subject_token_type');
  }
  const subject = await provider.AccessToken.find(params.subject_token);
  if (!subject?.isValid) {
    throw new errors.CustomOIDCProviderError('invalid_grant', `subject_token ${params.subject_token} is not active`);
  }
  const held = new Set((subject.scope ?? '').split(' ').filter(Boolean));
  const scope = params.scope ? params.scope.split(' ') : [...held];
  if (!scope.every((s) => held.has(s))) throw new errors.InvalidScope('scope exceeds the subject token', params.scope);
  const token = new provider.AccessToken({
    accountId: subject.accountId,
    client,
    scope: scope.join(' ') || undefined,
    gty: 'token_exchange',
  });
  if (params.audience) token.setAudience(params.audience);
  ctx.body = {
    access_token: await token.save(),
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}

/**
 * oidc-provider with the device flow, PAR (required for every client with
 * `parEverywhere`, else for the `grants-web` client only) and the token
 * exchange grant, closed when the test ends. `pushed` counts the pushed
 * requests it accepted.
 */
async function grantsProvider(t, { parEverywhere = true } = {}) {
  const env = await startProvider(t, (issuer) => ({
    clients: [
      { ...clients.device, grant_types: [DEVICE_GRANT], response_types: [], redirect_uris: [] },
      {
        ...clients.web,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // Never fetched: the callback is read off the redirect.
        redirect_uris: [`${issuer}/callback`],
        ...(parEverywhere ? {} : { require_pushed_authorization_requests: true }),
      },
      { ...clients.gateway, grant_types: [EXCHANGE_GRANT], response_types: [], redirect_uris: [] },
      { ...clients.rs, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    ],
    features: {
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: parEverywhere },
      introspection: { enabled: true },
      devInteractions: { enabled: true },
    },
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      DeviceCode: 120,
      IdToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    scopes: ['openid', 'api:read', 'api:write'],
    findAccount: (ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId, name: `${accountId} (device)` }) }),
  }));
  const { provider } = env;
  provider.registerGrantType(EXCHANGE_GRANT, tokenExchange,
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'audience', 'resource', 'scope', 'requested_token_type'],
    ['audience', 'resource']);
  provider.on('device_authorization.success', (ctx, body) => {
    body.interval = 1;
  });
  const pushed = [];
  provider.on('pushed_authorization_request.success', (ctx, client) => pushed.push(client.clientId));
  provider.on('pushed_authorization_request.error', (ctx, error) => env.events.push({ event: 'pushed_authorization_request.error', error: error.error }));
  return { ...env, pushed, tokenUrl: `${env.issuer}/token`, redirectUri: `${env.issuer}/callback` };
}

/**
 * A `fetch` for the keeper that records every request and its answer
 * (`log`: method, url, form body, status, JSON answer, `sentAt`,
 * `answeredAt`); `tamper(entry, response)` may replace an answer before
 * the keeper sees it.
 */
function wire({ tamper } = {}) {
  const log = [];
  const fetchFn = async (input, init) => {
    const req = new Request(input, init);
    const entry = { method: req.method, url: req.url, headers: new Headers(req.headers), sentAt: Date.now() };
    entry.form = req.method === 'POST' ? new URLSearchParams(await req.clone().text()) : null;
    log.push(entry);
    let res = await fetch(req);
    if (tamper) res = await tamper(entry, res);
    entry.status = res.status;
    entry.answer = await res.clone().json().catch(() => null);
    entry.answeredAt = Date.now();
    return res;
  };
  return { log, fetch: fetchFn };
}

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` is truthy, polling every 20 ms; fails after `ms`. */
async function until(check, what, ms = 15_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
    await sleep(20);
  }
}

/** `promise`, or a failure after `ms` (a test never hangs on the keeper). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A keeper for the device client, its requests recorded. */
async function deviceKeeper(t, env, wireOptions) {
  const recorder = wire(wireOptions);
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer: env.issuer, clientId: clients.device.client_id, scope: 'openid api:read' },
    fetch: recorder.fetch,
  });
  t.after(() => keeper.close());
  const polls = () => recorder.log.filter((e) => e.url === env.tokenUrl);
  return { keeper, recorder, polls };
}

// ---- The device authorization grant (RFC 8628) ----------------------------

test('device flow: codes and devicecode event, the user approves on the provider\'s pages while the keeper polls, then the token works', async (t) => {
  const env = await grantsProvider(t);
  const { keeper, recorder, polls } = await deviceKeeper(t, env);
  const shown = [];
  keeper.addEventListener('devicecode', (e) => shown.push(e.detail));
  const logins = [];
  keeper.addEventListener('login', () => logins.push(Date.now()));

  const before = Date.now();
  const flow = await keeper.startDeviceLogin();
  const { userCode, verificationUri, verificationUriComplete, expiresAt, interval, complete } = flow;

  // What the keeper asked for, and what it made of the answer.
  const [asked, ...again] = recorder.log.filter((e) => e.url === `${env.issuer}/device/auth`);
  assert.ok(asked, 'discovery gave the device authorization endpoint');
  assert.equal(again.length, 0, 'one device authorization request');
  assert.equal(asked.form.get('client_id'), clients.device.client_id);
  assert.equal(asked.form.get('scope'), 'openid api:read', 'the profile\'s scope');
  assert.match(userCode, /^[A-Z]{4}-[A-Z]{4}$/, 'oidc-provider\'s user code');
  assert.equal(userCode, asked.answer.user_code);
  assert.equal(verificationUri, `${env.issuer}/device`);
  assert.equal(verificationUriComplete, `${env.issuer}/device?user_code=${encodeURIComponent(userCode)}`);
  assert.equal(interval, 1000, 'the provider\'s interval, in ms');
  assert.ok(expiresAt >= before + 120_000 - 1000 && expiresAt <= Date.now() + 120_000, 'expires_in 120 s from now');
  assert.equal(flow.deviceCode, undefined, 'the device code is not handed out');
  assert.ok(!JSON.stringify(flow).includes(asked.answer.device_code));
  assert.equal(shown.length, 1, 'one devicecode event');
  assert.deepEqual(shown[0], { userCode, verificationUri, verificationUriComplete, expiresAt, interval });
  assert.equal(keeper.state.status, 'loggedOut');

  // The user takes a while: the keeper polls meanwhile and is told to wait.
  await until(() => polls().some((p) => p.answer?.error === 'authorization_pending'), 'a pending poll');
  assert.equal(await deviceUser(verificationUri, userCode).then((page) => /Sign-in Success/.test(page)), true, 'the provider\'s success page');
  await within(complete, 10_000, 'complete');

  assert.equal(logins.length, 1, 'one login event');
  assert.equal(keeper.state.status, 'active');
  const sent = polls();
  const last = sent.at(-1);
  assert.equal(last.status, 200);
  for (const p of sent) {
    assert.equal(p.form.get('grant_type'), DEVICE_GRANT);
    assert.equal(p.form.get('device_code'), asked.answer.device_code, 'the device code from the device authorization answer');
    assert.equal(p.form.get('client_id'), clients.device.client_id);
  }
  assert.ok(sent.slice(0, -1).every((p) => p.answer?.error === 'authorization_pending'), 'every earlier poll was pending');
  for (let i = 1; i < sent.length; i += 1) {
    assert.ok(sent[i].sentAt - sent[i - 1].answeredAt >= 1000 - 20, `poll ${i + 1} waited the 1 s interval`);
  }

  const token = await keeper.accessToken();
  assert.equal(token, last.answer.access_token, 'the polled token is the session\'s');
  const seen = await introspect(env.issuer, token);
  assert.equal(seen.active, true, 'the provider holds the token');
  assert.equal(seen.sub, 'alice', 'for the user who approved');
  assert.equal(seen.client_id, clients.device.client_id);
  assert.equal(seen.scope, 'openid api:read');
  const me = await keeper.fetch(`${env.issuer}/me`);
  assert.equal(me.status, 200, 'userinfo accepts the token');
  assert.deepEqual(await me.json(), { sub: 'alice' });
  assert.deepEqual(env.events.filter((e) => e.event === 'grant.success'), [{ event: 'grant.success', grantType: DEVICE_GRANT }]);
  const n = polls().length;
  await sleep(1500);
  assert.equal(polls().length, n, 'no poll after the login');
});

for (const [step, where] of [['confirm', '"[ Abort ]" on the Confirm Device page'], ['login', '"[ Cancel ]" on the sign-in page']]) {
  test(`device flow: the user denies (${where}) → complete rejects with access_denied, still logged out`, async (t) => {
    const env = await grantsProvider(t);
    const { keeper, polls } = await deviceKeeper(t, env);
    const failed = [];
    keeper.addEventListener('loginfailed', (e) => failed.push(e.detail.error?.error));
    const { userCode, verificationUri, complete } = await keeper.startDeviceLogin();
    await until(() => polls().length >= 1, 'a first poll');
    const page = await deviceUser(verificationUri, userCode, { deny: step });
    assert.match(page, /The Sign-in request was interrupted|There was an error/, 'the provider says the sign-in stopped');
    await assert.rejects(within(complete, 10_000, 'complete'), (e) => {
      assert.equal(e.name, 'TokenKeeperError');
      assert.equal(e.error, 'access_denied');
      assert.equal(e.status, 400);
      assert.equal(e.transient, false);
      return true;
    });
    assert.equal(polls().at(-1).answer.error, 'access_denied', 'the provider answered the last poll with access_denied');
    assert.equal(keeper.state.status, 'loggedOut');
    const n = polls().length;
    await sleep(1500);
    assert.equal(polls().length, n, 'polling stopped');
    await assert.rejects(keeper.accessToken(), (e) => typeof e.code === 'string');
  });
}

test('device flow: aborting the signal rejects complete with its reason; no poll reaches the provider after it, not even once the user approves', async (t) => {
  const env = await grantsProvider(t);
  const { keeper, recorder, polls } = await deviceKeeper(t, env);
  const controller = new AbortController();
  const { userCode, verificationUri, complete } = await keeper.startDeviceLogin({ signal: controller.signal });
  await until(() => polls().some((p) => p.answeredAt !== undefined), 'a first answered poll');
  const sentBefore = polls().length;
  const reason = new Error('the user pressed Ctrl-C');
  controller.abort(reason);
  await assert.rejects(within(complete, 2000, 'complete'), (e) => e === reason);
  // The user approves anyway: the keeper must not pick it up.
  await deviceUser(verificationUri, userCode);
  await sleep(3000);
  assert.equal(polls().length, sentBefore, 'no token request after the abort (3 intervals later)');
  assert.equal(keeper.state.status, 'loggedOut');
  assert.equal(env.events.filter((e) => e.event === 'grant.success').length, 0, 'the provider issued no token');
  assert.equal(recorder.log.filter((e) => e.url === `${env.issuer}/device/auth`).length, 1);

  // A signal aborted beforehand: nothing is sent at all.
  const already = AbortSignal.abort(new Error('too late'));
  const sent = recorder.log.length;
  await assert.rejects(keeper.startDeviceLogin({ signal: already }), (e) => e === already.reason);
  assert.equal(recorder.log.length, sent, 'no device authorization request');
});

test('device flow: close() stops the polling: complete rejects with AUTH_ABORTED, no poll after it', async (t) => {
  const env = await grantsProvider(t);
  const { keeper, polls } = await deviceKeeper(t, env);
  const { complete } = await keeper.startDeviceLogin();
  await until(() => polls().some((p) => p.answeredAt !== undefined), 'a first answered poll');
  const sentBefore = polls().length;
  keeper.close();
  await assert.rejects(within(complete, 3000, 'complete'), (e) => {
    assert.equal(e.code, 'AUTH_ABORTED');
    return true;
  });
  await sleep(2000);
  assert.equal(polls().length, sentBefore, 'no token request after close()');
});

test('device flow: slow_down lengthens the interval by 5 s (the keeper\'s fetch turns one pending answer into slow_down; oidc-provider never sends it)', async (t) => {
  const env = await grantsProvider(t);
  let slowed = 0;
  const { keeper, recorder, polls } = await deviceKeeper(t, env, {
    tamper: async (entry, res) => {
      if (entry.url !== env.tokenUrl || slowed > 0) return res;
      const body = await res.clone().json();
      if (body.error !== 'authorization_pending') return res;
      slowed += 1;
      return new Response(JSON.stringify({ error: 'slow_down', error_description: 'you are polling too quickly' }), {
        status: 400,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
  const { userCode, verificationUri, complete } = await keeper.startDeviceLogin();
  await until(() => slowed === 1 && polls()[0]?.answeredAt !== undefined, 'the slow_down answer');
  await deviceUser(verificationUri, userCode);
  await within(complete, 15_000, 'complete');
  const [authorization] = recorder.log.filter((e) => e.url === `${env.issuer}/device/auth`);
  const [first, second, ...more] = polls();
  assert.equal(first.answer.error, 'slow_down');
  assert.equal(second.status, 200, 'the second poll got the tokens');
  assert.equal(more.length, 0, 'two polls');
  const before = first.sentAt - authorization.answeredAt;
  const after = second.sentAt - first.answeredAt;
  assert.ok(before >= 1000 - 20 && before < 5000, `first wait ${before} ms: the provider's 1 s interval`);
  assert.ok(after >= 6000 - 20, `wait after slow_down ${after} ms: 1 s + 5 s`);
  assert.ok(after < 12_000, `wait after slow_down ${after} ms: not a second slow_down's worth`);
  assert.equal(keeper.state.status, 'active');
});

// ---- Pushed authorization requests (RFC 9126) ------------------------------

/** A redirect-login keeper for the web client, its requests recorded. */
async function webKeeper(t, env, profile = {}) {
  const recorder = wire();
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer: env.issuer, clientId: clients.web.client_id, redirectUri: env.redirectUri, scope: 'openid', ...profile },
    fetch: recorder.fetch,
  });
  t.after(() => keeper.close());
  return { keeper, recorder };
}

/** Logs in through a pushed request and checks what went where. */
async function pushedLogin(env, keeper, recorder) {
  const url = new URL(await keeper.authorizeUrl());
  assert.equal(url.origin + url.pathname, `${env.issuer}/auth`);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the URL has only client_id and request_uri');
  assert.equal(url.searchParams.get('client_id'), clients.web.client_id);
  assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);

  const pushes = recorder.log.filter((e) => e.url === `${env.issuer}/request`);
  assert.equal(pushes.length, 1, 'one pushed request, to the discovered endpoint');
  const [push] = pushes;
  assert.equal(push.method, 'POST');
  assert.equal(push.status, 201);
  assert.equal(push.answer.request_uri, url.searchParams.get('request_uri'), 'the URL redeems the pushed request');
  const form = push.form;
  assert.equal(form.get('response_type'), 'code');
  assert.equal(form.get('client_id'), clients.web.client_id);
  assert.equal(form.get('redirect_uri'), env.redirectUri);
  assert.equal(form.get('scope'), 'openid');
  assert.equal(form.get('code_challenge_method'), 'S256');
  assert.match(form.get('code_challenge'), /^[\w-]{43}$/);
  assert.ok(form.get('state') && form.get('nonce'), 'state and nonce are pushed');
  assert.deepEqual(env.pushed, [clients.web.client_id], 'the provider accepted the pushed request');

  const callback = await authorize(url.href, env.redirectUri);
  const { idTokenClaims } = await keeper.handleRedirect(callback);
  assert.equal(idTokenClaims.sub, 'alice');
  assert.equal(idTokenClaims.aud, clients.web.client_id);
  assert.equal(keeper.state.status, 'active');
  const seen = await introspect(env.issuer, await keeper.accessToken());
  assert.equal(seen.active, true);
  assert.equal(seen.sub, 'alice');
  assert.equal(seen.client_id, clients.web.client_id);
  assert.deepEqual(env.events.filter((e) => e.event === 'grant.success'), [{ event: 'grant.success', grantType: 'authorization_code' }]);
}

/** A login whose request was not pushed: refused with invalid_request. */
async function unpushedLoginRefused(env, keeper, recorder) {
  const url = new URL(await keeper.authorizeUrl());
  assert.ok(url.searchParams.has('code_challenge'), 'the parameters are in the URL');
  assert.equal(recorder.log.filter((e) => e.url === `${env.issuer}/request`).length, 0, 'nothing pushed');
  const callback = await authorize(url.href, env.redirectUri);
  await assert.rejects(keeper.handleRedirect(callback), (e) => {
    assert.equal(e.error, 'invalid_request');
    assert.match(e.error_description ?? '', /Pushed Authorization Request must be used/);
    return true;
  });
  assert.equal(keeper.state.status, 'loggedOut');
}

test('PAR: discover() reads require_pushed_authorization_requests; authorizeUrl() pushes, the URL has only client_id and request_uri, the login completes', async (t) => {
  const env = await grantsProvider(t, { parEverywhere: true });
  const metadata = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(metadata.require_pushed_authorization_requests, true);
  assert.equal(metadata.pushed_authorization_request_endpoint, `${env.issuer}/request`);

  // The provider does refuse what was not pushed (the profile's false wins
  // over the metadata).
  const plain = await webKeeper(t, env, { requirePushedAuthorizationRequests: false });
  await unpushedLoginRefused(env, plain.keeper, plain.recorder);

  const { keeper, recorder } = await webKeeper(t, env);
  await pushedLogin(env, keeper, recorder);
});

test('PAR: a client that must push (its own require_pushed_authorization_requests, not in discovery) with requirePushedAuthorizationRequests: true', async (t) => {
  const env = await grantsProvider(t, { parEverywhere: false });
  const metadata = await (await fetch(`${env.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(metadata.require_pushed_authorization_requests, undefined);
  assert.equal(metadata.pushed_authorization_request_endpoint, `${env.issuer}/request`);

  const plain = await webKeeper(t, env);
  await unpushedLoginRefused(env, plain.keeper, plain.recorder);

  const { keeper, recorder } = await webKeeper(t, env, { requirePushedAuthorizationRequests: true });
  await pushedLogin(env, keeper, recorder);
});

// ---- Token exchange (RFC 8693) through a registered grant ------------------

/** An access token the provider issued to alice through the device client. */
async function aliceToken(env, scope = 'openid api:read') {
  const client = await env.provider.Client.find(clients.device.client_id);
  const token = new env.provider.AccessToken({ accountId: 'alice', client, scope, gty: DEVICE_GRANT });
  return { value: await token.save(), token };
}

/** A keeper for the confidential gateway client, its requests recorded. */
async function gatewayKeeper(t, env) {
  const recorder = wire();
  const keeper = await TokenKeeper.discover({
    profile: {
      kind: 'oauth2',
      issuer: env.issuer,
      clientId: clients.gateway.client_id,
      clientSecret: clients.gateway.client_secret,
      clientAuth: 'basic',
    },
    fetch: recorder.fetch,
  });
  t.after(() => keeper.close());
  return { keeper, recorder };
}

test('token exchange: exchangeToken returns a token for the same user with the requested audience, the session untouched; login keeps one as the session', async (t) => {
  const env = await grantsProvider(t);
  const { keeper, recorder } = await gatewayKeeper(t, env);
  const subject = await aliceToken(env);
  const params = { subjectToken: subject.value, subjectTokenType: ACCESS_TOKEN_TYPE, audience: API, scope: 'api:read' };

  const exchanged = await keeper.exchangeToken(params);
  assert.deepEqual(Object.keys(exchanged).sort(), ['accessToken', 'expiresIn', 'issuedTokenType', 'scope']);
  assert.equal(exchanged.issuedTokenType, ACCESS_TOKEN_TYPE);
  assert.equal(exchanged.scope, 'api:read');
  assert.equal(exchanged.expiresIn, 600);
  assert.notEqual(exchanged.accessToken, subject.value);
  const [sent] = recorder.log.filter((e) => e.url === env.tokenUrl);
  assert.equal(sent.form.get('grant_type'), EXCHANGE_GRANT);
  assert.equal(sent.form.get('subject_token'), subject.value);
  assert.equal(sent.form.get('subject_token_type'), ACCESS_TOKEN_TYPE);
  assert.equal(sent.form.get('audience'), API);
  assert.equal(sent.form.get('scope'), 'api:read');
  const basic = sent.headers.get('authorization').match(/^Basic (.+)$/)?.[1];
  assert.deepEqual(Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent),
    [clients.gateway.client_id, clients.gateway.client_secret], 'client_secret_basic (RFC 6749 §2.3.1)');
  const seen = await introspect(env.issuer, exchanged.accessToken);
  assert.equal(seen.active, true, 'the provider issued it');
  assert.equal(seen.sub, 'alice', 'for the subject token\'s user');
  assert.equal(seen.client_id, clients.gateway.client_id, 'to the exchanging client');
  assert.equal(seen.aud, API, 'with the requested audience');
  assert.equal(seen.scope, 'api:read');
  assert.equal(keeper.state.status, 'loggedOut', 'exchangeToken leaves the session alone');

  const logins = [];
  keeper.addEventListener('login', () => logins.push(1));
  await keeper.login(params);
  assert.equal(logins.length, 1);
  assert.equal(keeper.state.status, 'active');
  assert.equal(keeper.state.scope, 'api:read');
  const kept = await keeper.accessToken();
  assert.notEqual(kept, exchanged.accessToken, 'a second exchange');
  const keptSeen = await introspect(env.issuer, kept);
  assert.equal(keptSeen.active, true);
  assert.equal(keptSeen.sub, 'alice');
  assert.equal(keptSeen.aud, API);
  assert.deepEqual(env.events.filter((e) => e.event === 'grant.success').map((e) => e.grantType), [EXCHANGE_GRANT, EXCHANGE_GRANT]);
});

test('token exchange: a subject token the provider no longer holds is invalid_grant, and the echoed token is scrubbed from the error', async (t) => {
  const env = await grantsProvider(t);
  const { keeper } = await gatewayKeeper(t, env);
  const subject = await aliceToken(env);
  await subject.token.destroy();
  const params = { subjectToken: subject.value, subjectTokenType: ACCESS_TOKEN_TYPE, audience: API };
  for (const attempt of [() => keeper.exchangeToken(params), () => keeper.login(params)]) {
    await assert.rejects(attempt(), (e) => {
      assert.equal(e.error, 'invalid_grant');
      assert.equal(e.status, 400);
      assert.equal(e.error_description, 'subject_token [redacted] is not active', 'the server echoed it; the keeper scrubbed it');
      assert.ok(!JSON.stringify({ ...e, message: e.message, stack: e.stack }).includes(subject.value));
      return true;
    });
  }
  assert.equal(keeper.state.status, 'loggedOut');
  const refused = env.events.filter((e) => e.event === 'grant.error');
  assert.equal(refused.length, 2);
  assert.ok(refused.every((e) => e.grantType === EXCHANGE_GRANT && e.error === 'invalid_grant'));
});
