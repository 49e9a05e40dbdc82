// The renewal timing model of the built package against the devserver over
// loopback (see "When tokens are renewed" in README.md; tests/renewal.rs
// runs the same scenarios on a simulated clock):
//
// - short tokens (2–4 s) and 20 callers at each expiry: one token request
//   per expiry and no caller error, for Keycloak with rotating refresh
//   tokens and for client credentials at Identity Manager and TNCO;
// - Spring-style re-issued 30 s TNCO tokens read every 100 ms for 70 s,
//   through accessToken() and through keeper.fetch at the TNCO API, and by
//   a second client that only reads;
// - backoff: a caller waits out a short one, fails at once before a long
//   one (and nothing is sent meanwhile), and an AbortSignal ends its wait.
//
// Why these would fail on a keeper that held an expired token back until
// `minIntervalMs` after the last tokens arrived: the short-token and
// backoff tests set `minIntervalMs` to 60 s, far beyond both the token
// lifetime and `maxWaitMs` (5 s). Such a keeper would answer a caller at
// expiry with AUTH_RETRY_LATER at once, sending nothing: the error counts,
// the request counts from /admin/stats and the events below all see it.
// (With the default 5 s the callers would only wait about 2 s and still get
// a token, which no assertion here could tell apart without timing it.)
// In the re-issue test, a second keeper reads with `minIntervalMs` 20 s,
// longer than the time from a re-issue to that token's expiry.
//
// Nothing here asserts a duration: the tests wait for conditions (the
// keeper's own `state.expiresAt`, the devserver's counters, events), with
// margins of seconds where an outcome depends on time passing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDevserver, loadPackage, profiles, seed, nextEvent } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

/** Far beyond every lifetime and `maxWaitMs` here: see the header. */
const HOLD = { minIntervalMs: 60_000 };

/** A devserver for one test, stopped when the test ends. */
async function devserverFor(t, args) {
  const ds = await startDevserver(args);
  t.after(() => ds.stop());
  return ds;
}

/** A keeper closed when the test ends. */
function keeperFor(t, options) {
  const keeper = new TokenKeeper(options);
  t.after(() => keeper.close());
  return keeper;
}

/** Resolves once the local clock is past `at` (epoch ms). */
async function untilPast(at) {
  assert.equal(typeof at, 'number', 'the keeper holds a token with an expiry');
  while (Date.now() <= at) await sleep(at - Date.now() + 1);
}

/** Resolves once the local clock is past the held token's expiry. */
const untilExpired = (keeper) => untilPast(keeper.state.expiresAt);

/** How many requests the devserver counted at `endpoint`. */
async function requests(ds, endpoint) {
  return (await ds.stats()).requests[endpoint] ?? 0;
}

/** Starts `n` callers of accessToken() at once; returns their tokens and errors. */
async function callers(keeper, n) {
  const settled = await Promise.allSettled(Array.from({ length: n }, () => keeper.accessToken()));
  return {
    tokens: settled.filter((s) => s.status === 'fulfilled').map((s) => s.value),
    errors: settled.filter((s) => s.status === 'rejected').map((s) => s.reason),
  };
}

/** A caller error as text without any token: its code and message. */
const errorText = (e) => `${e?.code ?? e?.name}: ${e?.message}`;

/** Calls `url` with `token`; resolves to the status. */
async function call(url, token) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

// ---- 1. Short tokens, 20 callers at each expiry ---------------------------

/** Lifetimes (s) of the tokens the rounds renew, in order. */
const LIFETIMES = [3, 3, 3, 2, 4];

const shortStyles = {
  'Keycloak password grant, rotating refresh tokens': {
    profile: (p) => p.keycloak,
    credentials: seed.user,
    endpoint: 'kc.token',
    api: (url) => `${url}/realms/tokenkeeper/protocol/openid-connect/userinfo`,
  },
  'Identity Manager client credentials': {
    profile: (p) => p.identityManager,
    endpoint: 'im.token',
    api: (url) => `${url}/im/?api-version=1.0`,
  },
  'TNCO client credentials (re-issued while unexpired)': {
    profile: (p) => p.tnco,
    endpoint: 'tnco.token',
    api: (url) => `${url}/tnco/api/resources`,
  },
};

for (const [name, style] of Object.entries(shortStyles)) {
  test(`${name}: 2–4 s tokens, 20 callers at each expiry → 1 token request, 0 errors`, async (t) => {
    const ds = await devserverFor(t, ['--access-ttl', '3', '--tnco-ttl', '3', '--kc-rotation', 'on']);
    const keeper = keeperFor(t, { profile: style.profile(profiles(ds.url)), refresh: HOLD });
    const ended = [];
    keeper.addEventListener('sessionended', (e) => ended.push(e.detail.reason));
    await keeper.login(style.credentials);
    let last = await keeper.accessToken();
    let expiry = keeper.state.expiresAt;
    let before = await ds.stats();
    for (const [round, ttl] of LIFETIMES.entries()) {
      // The token this round brings gets `ttl`; the expiry waited for is
      // that of the token the last callers got.
      await ds.config({ access_ttl: ttl, tnco_ttl: ttl });
      await untilPast(expiry);
      const { tokens, errors } = await callers(keeper, 20);
      expiry = keeper.state.expiresAt;
      const after = await ds.stats();
      assert.equal(errors.length, 0, `round ${round}: ${errors.length} of 20 callers failed, e.g. ${errorText(errors[0])}`);
      assert.equal(new Set(tokens).size, 1, `round ${round}: every caller gets the same token`);
      // Counted over the whole lifetime: a re-issued token is renewed at
      // its expiry by the keeper's timer too, which may come first.
      const sent = (after.requests[style.endpoint] ?? 0) - (before.requests[style.endpoint] ?? 0);
      assert.equal(sent, 1, `round ${round}: one token request for this expiry and 20 callers`);
      const [token] = tokens;
      // TNCO hands back its unexpired token (Spring Security OAuth): then
      // the same one comes back, else a new one.
      const entry = after.log.findLast((e) => e.endpoint === style.endpoint);
      if (entry.token === 'reissued') {
        assert.ok(token === last, `round ${round}: the re-issued token is the held one`);
      } else {
        assert.ok(token !== last, `round ${round}: a new token`);
        // A re-issued token may have under a second left at the server;
        // a new one is checked at its API.
        assert.equal(await call(style.api(ds.url), token), 200, `round ${round}: the API accepts it`);
      }
      assert.ok(expiry > entry.at_ms, `round ${round}: the held token's expiry moved past the request`);
      last = token;
      before = after;
    }
    const stats = await ds.stats();
    assert.equal(stats.reuse_detections.total, 0, 'no refresh token used twice');
    assert.equal(stats.refresh_rejections.total, 0);
    assert.deepEqual(ended, []);
    assert.equal(keeper.state.status, 'active');
    if (style.endpoint === 'tnco.token') {
      // Each token at most once re-issued: at its first expiry in the
      // keeper (the truncated lifetime's earlier bound).
      assert.ok(stats.tnco_tokens.reissued <= stats.tnco_tokens.new, JSON.stringify(stats.tnco_tokens));
    }
  });
}

// ---- 2. Re-issued 30 s tokens, read every 100 ms for 70 s ------------------

/** The second TNCO client: its own token at the server, apart from LmClient's. */
const tncoClient2 = { id: 'tnco client@demo', secret: 's3cr3t:with/special+chars%&=' };

/**
 * A fetch for a keeper that counts its token requests at `tokenUrl` and
 * tells new tokens from re-issued ones (the access token that came back
 * is the one held before). Tokens are compared, never kept beyond that.
 */
function countingFetch(tokenUrl) {
  const counts = { requests: 0, issued: 0, reissued: 0 };
  let held = null;
  const fetchFn = async (input, init) => {
    const req = new Request(input, init);
    const res = await fetch(req);
    if (req.url !== tokenUrl) return res;
    counts.requests += 1;
    const body = await res.clone().json().catch(() => ({}));
    if (typeof body.access_token === 'string') {
      if (body.access_token === held) counts.reissued += 1;
      else counts.issued += 1;
      held = body.access_token;
    }
    return res;
  };
  return { counts, fetch: fetchFn };
}

test('TNCO re-issued 30 s tokens: accessToken() and keeper.fetch every 100 ms for 70 s → 0 errors, ≤ 1 re-issue per token', async (t) => {
  const ds = await devserverFor(t, ['--tnco-ttl', '30']);
  const tnco = profiles(ds.url).tnco;
  // The default refresh policy: the timer refreshes ahead of expiry, the
  // server hands the same token back, and the keeper keeps that one to the
  // latest instant its truncated `expires_in` allows, then renews it. The
  // API may refuse it for under a second before that; keeper.fetch then
  // renews at once (the re-issue is more than minIntervalMs old) and
  // retries.
  const one = countingFetch(tnco.tokenUrl);
  const keeper = keeperFor(t, { profile: tnco, fetch: one.fetch });
  // A second client, reading only, with minIntervalMs (20 s) longer than
  // the time between the refresh ahead (≥ 20 s into a token's life) and
  // the re-issued token's expiry (~30 s): its expiries come less than
  // minIntervalMs after the last tokens arrived, so a keeper that held
  // expired tokens to minIntervalMs would fail these readers.
  const two = countingFetch(tnco.tokenUrl);
  const reader = keeperFor(t, {
    profile: { ...tnco, clientId: tncoClient2.id, clientSecret: tncoClient2.secret },
    refresh: { minIntervalMs: 20_000 },
    fetch: two.fetch,
  });
  const ended = [];
  for (const k of [keeper, reader]) k.addEventListener('sessionended', (e) => ended.push(e.detail.reason));
  await keeper.login();
  await reader.login();
  const api = `${ds.url}/tnco/api/resources`;
  const tally = { reads: 0, readErrors: [], calls: 0, failedCalls: [] };
  const read = (k) => {
    tally.reads += 1;
    return k.accessToken().catch((e) => tally.readErrors.push(errorText(e)));
  };
  const pending = [];
  const deadline = Date.now() + 70_000;
  while (Date.now() < deadline) {
    pending.push(read(keeper), read(reader));
    tally.calls += 1;
    pending.push(
      keeper
        .fetch(api)
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 200) tally.failedCalls.push(`status ${res.status}`);
        })
        .catch((e) => tally.failedCalls.push(errorText(e))),
    );
    await sleep(100);
  }
  await Promise.all(pending);
  const stats = await ds.stats();
  t.diagnostic(
    `${tally.reads} reads, ${tally.calls} API calls; token requests (new + re-issued): ` +
      `${one.counts.requests} (${one.counts.issued} + ${one.counts.reissued}) and ` +
      `${two.counts.requests} (${two.counts.issued} + ${two.counts.reissued}); ` +
      `${stats.protected_calls.expired} API calls met a just-expired token and were retried`,
  );
  assert.deepEqual(tally.readErrors, [], 'no accessToken() caller fails');
  assert.deepEqual(tally.failedCalls, [], 'every API call succeeds');
  assert.deepEqual(ended, []);
  for (const [name, c] of [['LmClient', one.counts], ['second client', two.counts]]) {
    // 70 s of 30 s tokens: the first, one at ~30 s, one at ~60 s (more
    // only if this machine stretched the 70 s).
    assert.ok(c.issued >= 3, `${name}: ${c.issued} new tokens`);
    assert.ok(c.reissued >= 1, `${name}: the refresh ahead met a re-issue`);
    assert.ok(c.reissued <= c.issued, `${name}: ${c.reissued} re-issues of ${c.issued} tokens`);
    assert.ok(c.requests <= 2 * c.issued, `${name}: ${c.requests} token requests for ${c.issued} tokens`);
    assert.equal(c.requests, c.issued + c.reissued, `${name}: every token request succeeded`);
  }
  // The server's own count agrees.
  const { new: issued, reissued } = stats.tnco_tokens;
  assert.equal(stats.requests['tnco.token'], one.counts.requests + two.counts.requests);
  assert.equal(issued, one.counts.issued + two.counts.issued);
  assert.equal(reissued, one.counts.reissued + two.counts.reissued);
  assert.ok(reissued <= issued && stats.requests['tnco.token'] <= 2 * issued, JSON.stringify(stats.tnco_tokens));
});

// ---- 3. Backoff ---------------------------------------------------------------

/** A Keycloak session with 3 s tokens and rotating refresh tokens, on a fresh devserver. */
async function keycloakSession(t) {
  const ds = await devserverFor(t, ['--access-ttl', '3', '--kc-rotation', 'on']);
  const keeper = keeperFor(t, { profile: profiles(ds.url).keycloak, refresh: HOLD });
  const failed = [];
  keeper.addEventListener('refreshfailed', (e) => failed.push(e.detail));
  await keeper.login(seed.user);
  return { ds, keeper, failed, first: await keeper.accessToken() };
}

const unavailable = (extra) => ({ match: 'kc.token', grant: 'refresh_token', kind: 'error', status: 503, ...extra });

test('backoff: a 503 at expiry → callers wait for the retry and get the new token', async (t) => {
  const { ds, keeper, failed, first } = await keycloakSession(t);
  await untilExpired(keeper);
  // No Retry-After: the keeper's own backoff (about 1 s), within maxWaitMs.
  await ds.fault(unavailable({ retry_after: '' }));
  const before = await requests(ds, 'kc.token');
  const { tokens, errors } = await callers(keeper, 5);
  assert.equal(errors.length, 0, `${errors.length} of 5 callers failed, e.g. ${errorText(errors[0])}`);
  assert.equal(tokens.length, 5);
  assert.equal(new Set(tokens).size, 1);
  assert.ok(tokens[0] !== first, 'the new token');
  const stats = await ds.stats();
  assert.equal(stats.requests['kc.token'] - before, 2, 'the failed attempt and the retry');
  assert.equal(stats.faults_applied.total, 1);
  assert.equal(stats.refreshes.total, 1);
  assert.equal(stats.reuse_detections.total, 0);
  assert.equal(failed.length, 1, 'one refreshfailed event');
  assert.equal(failed[0].transient, true);
  assert.ok(failed[0].retryIn > 0 && failed[0].retryIn <= 5_000, `retryIn ${failed[0].retryIn}`);
  assert.equal(await call(`${ds.url}/realms/tokenkeeper/protocol/openid-connect/userinfo`, tokens[0]), 200);
});

test('backoff: a 503 with Retry-After: 30 at expiry → the caller fails at once, later ones get AUTH_RETRY_LATER, nothing is sent', async (t) => {
  const { ds, keeper, failed } = await keycloakSession(t);
  await untilExpired(keeper);
  await ds.fault(unavailable({ retry_after: 30 }));
  const before = await requests(ds, 'kc.token');
  let first;
  await assert.rejects(keeper.accessToken(), (e) => {
    first = e;
    return true;
  });
  // The error of the attempt this caller took part in.
  assert.equal(first.status, 503, errorText(first));
  assert.notEqual(first.code, 'AUTH_RETRY_LATER');
  assert.equal(first.transient, true);
  assert.ok(first.retryIn > 20_000 && first.retryIn <= 30_000, `retryIn ${first.retryIn}`);
  assert.equal(await requests(ds, 'kc.token'), before + 1, 'one attempt');
  assert.equal(failed.length, 1);
  assert.ok(failed[0].retryIn > 20_000 && failed[0].retryIn <= 30_000, `event retryIn ${failed[0].retryIn}`);
  assert.ok(keeper.state.refreshAt >= Date.now() + 15_000, 'the retry is planned for later');

  // Callers meanwhile: AUTH_RETRY_LATER at once, counting down; for 2 s,
  // while the timer is armed, nothing goes out.
  let previous = first.retryIn;
  for (let i = 0; i < 8; i += 1) {
    await assert.rejects(keeper.accessToken(), (e) => {
      assert.equal(e.code, 'AUTH_RETRY_LATER', errorText(e));
      assert.equal(e.transient, true);
      assert.ok(e.retryIn > 0 && e.retryIn <= previous, `retryIn ${e.retryIn} after ${previous}`);
      previous = e.retryIn;
      return true;
    });
    await sleep(250);
  }
  const stats = await ds.stats();
  assert.equal(stats.requests['kc.token'], before + 1, 'no request during the backoff');
  assert.equal(stats.faults_applied.total, 1);
  assert.equal(stats.reuse_detections.total, 0);
  assert.equal(keeper.state.status, 'active', 'a transient failure keeps the session');
});

test('backoff: a caller whose AbortSignal aborts while it waits rejects with the reason; the retry goes on', async (t) => {
  const { ds, keeper, first } = await keycloakSession(t);
  await untilExpired(keeper);
  // Retry-After: 4 s, within maxWaitMs: callers wait for the retry.
  await ds.fault(unavailable({ retry_after: 4 }));
  const before = await requests(ds, 'kc.token');
  const controller = new AbortController();
  const reason = new Error('the caller gave up');
  const failedEvent = nextEvent(keeper, 'refreshfailed');
  const waiting = keeper.accessToken({ signal: controller.signal });
  const settled = waiting.then(
    () => 'resolved',
    (e) => e,
  );
  const { detail } = await failedEvent;
  assert.equal(detail.transient, true);
  assert.ok(detail.retryIn > 1_000, `retryIn ${detail.retryIn}`);
  controller.abort(reason);
  assert.equal(await settled, reason, 'rejects with signal.reason');
  // Another caller waits for that same retry and gets the new token.
  const token = await keeper.accessToken();
  assert.ok(token !== first, 'the new token');
  const stats = await ds.stats();
  assert.equal(stats.requests['kc.token'] - before, 2, 'the failed attempt and one retry');
  assert.equal(stats.refreshes.total, 1);
  assert.equal(stats.reuse_detections.total, 0);
});
