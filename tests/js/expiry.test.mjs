// Where the built package reads a token's expiry: `expiry` and
// `refreshExpiry` of a JSON profile, over loopback. An LGDX-style login at
// the devserver gives `expiresMins`; a small node:http server on 127.0.0.1
// answers with absolute times (RFC 3339, epoch seconds, epoch milliseconds)
// from a clock 10 minutes ahead.
//
// Bounds are exact rather than tolerances: `t0`/`t1` are read just before
// and just after the call, so a slow machine only widens them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startDevserver, loadPackage, profiles, seed } from './support/devserver.mjs';

const MINUTE = 60_000;
let TokenKeeper;
let TokenKeeperError;
let devserver;

before(async () => {
  ({ TokenKeeper, TokenKeeperError } = await loadPackage());
  // 150 s: `expiresMins` says 2 (whole minutes), the JWT exp says 150 s.
  devserver = await startDevserver(['--access-ttl', '150', '--refresh-ttl', '600']);
});
after(() => devserver.stop());

/** Runs `fn` and returns the local clock just before and just after it. */
async function timed(fn) {
  const t0 = Date.now();
  await fn();
  return { t0, t1: Date.now() };
}

const noTimers = { autoRefresh: false, refresh: { minIntervalMs: 0 } };

test('LGDX style: expiresMins counts whole minutes from the send time', async () => {
  const k = new TokenKeeper({
    profile: { ...profiles(devserver.url).lgdx, expiry: [{ field: 'expiresMins', unit: 'minutes' }, 'jwt'] },
    ...noTimers,
  });
  const login = await timed(() => k.login(seed.user));
  assert.equal(k.state.status, 'active');
  // sent_at + 2 min, sent_at within [t0, t1].
  const exp = k.state.expiresAt;
  assert.ok(exp >= login.t0 + 2 * MINUTE && exp <= login.t1 + 2 * MINUTE, `${exp - login.t0}`);
  // Not the JWT's 150 s.
  assert.ok(k.state.claims.exp * 1000 - exp > 25_000);
  const refresh = await timed(() => k.refresh());
  const again = k.state.expiresAt;
  assert.ok(again >= refresh.t0 + 2 * MINUTE && again <= refresh.t1 + 2 * MINUTE, `${again - refresh.t0}`);
  k.close();
});

test('LGDX style: without the option the JWT exp decides, as before', async () => {
  const k = new TokenKeeper({ profile: profiles(devserver.url).lgdx, ...noTimers });
  const { t0, t1 } = await timed(() => k.login(seed.user));
  const exp = k.state.expiresAt;
  // exp is whole seconds on the server's clock (its Date header gives the
  // offset, ±0.5 s): within [t0 + 149 s − 0.5 s, t1 + 150 s + 0.5 s].
  assert.ok(exp >= t0 + 148_500 && exp <= t1 + 150_500, `${exp - t0}`);
  k.close();
});

/**
 * A JSON login/refresh API on 127.0.0.1 whose clock runs `skewMs` ahead of
 * ours. Each answer takes its expiry form from `forms` in turn; every
 * answer carries a `Date` header from the skewed clock.
 */
async function absoluteServer(skewMs, forms) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now() + skewMs;
      const form = forms[Math.min(n, forms.length - 1)];
      n += 1;
      const at = now + 5 * MINUTE;
      const body = { accessToken: `opaque-access-${n}`, refreshToken: `opaque-refresh-${n}`, refreshExpiresAt: now + 60 * MINUTE };
      if (form === 'iso8601') body.expiresAt = new Date(at).toISOString();
      if (form === 'iso8601+offset') body.expiresAt = isoWithOffset(at, 5 * 60 + 30);
      if (form === 'epochSeconds') body.expiresAtSec = String(Math.floor(at / 1000));
      if (form === 'epochMillis') body.expiresAtMs = at;
      res.writeHead(200, { 'content-type': 'application/json', date: new Date(now).toUTCString() });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** `ms` as RFC 3339 in the zone `offsetMin` minutes east of UTC, e.g. `+05:30`. */
function isoWithOffset(ms, offsetMin) {
  const local = new Date(ms + offsetMin * MINUTE).toISOString().slice(0, -1);
  const h = String(Math.floor(offsetMin / 60)).padStart(2, '0');
  const m = String(offsetMin % 60).padStart(2, '0');
  return `${local}+${h}:${m}`;
}

test('absolute expiry times (RFC 3339, epoch seconds, epoch ms) from a server clock 10 min ahead', async () => {
  const skew = 10 * MINUTE;
  const forms = ['iso8601', 'epochSeconds', 'epochMillis', 'iso8601+offset'];
  const server = await absoluteServer(skew, forms);
  try {
    const k = new TokenKeeper({
      profile: {
        kind: 'json',
        loginUrl: `${server.url}/login`,
        refreshUrl: `${server.url}/refresh`,
        expiry: [
          { field: 'expiresAt', unit: 'iso8601' },
          { field: 'expiresAtSec', unit: 'epochSeconds' },
          { field: 'expiresAtMs', unit: 'epochMillis' },
        ],
        refreshExpiry: [{ field: 'refreshExpiresAt', unit: 'epochMillis' }],
      },
      ...noTimers,
    });
    for (const [i, form] of forms.entries()) {
      const { t0, t1 } = await timed(() => (i === 0 ? k.login(seed.user) : k.refresh()));
      // The server's stated instant minus the offset estimated from its
      // Date header (whole seconds, read as the middle of the second)
      // against the request's midpoint: within ±0.5 s of our clock's
      // `now + 5 min`, for a `now` within [t0, t1]; epoch seconds lose up
      // to one more second to the floor.
      const slack = form === 'epochSeconds' ? 1_500 : 500;
      const exp = k.state.expiresAt;
      assert.ok(exp >= t0 + 5 * MINUTE - slack && exp <= t1 + 5 * MINUTE + 500, `${form}: ${exp - t0}`);
      const rexp = k.state.refreshExpiresAt;
      assert.ok(rexp >= t0 + 60 * MINUTE - 500 && rexp <= t1 + 60 * MINUTE + 500, `${form}: ${rexp - t0}`);
    }
    k.close();
  } finally {
    await server.close();
  }
});

test('an absolute expiry that cannot be read fails the login with the member named', async () => {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ accessToken: 'opaque-access', expiresAt: '2025-06-30T18:30:00' }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  try {
    const k = new TokenKeeper({
      profile: { kind: 'json', loginUrl: `${url}/login`, refreshUrl: `${url}/refresh`,
                 expiry: [{ field: 'expiresAt', unit: 'iso8601' }, 'jwt'] },
      ...noTimers,
    });
    await assert.rejects(k.login(seed.user), (e) => {
      assert.ok(e instanceof TokenKeeperError);
      assert.equal(e.code, 'OAUTH_INVALID_RESPONSE');
      assert.match(e.message, /"expiresAt" property must be an RFC 3339 date-time/);
      return true;
    });
    assert.equal(k.state.status, 'loggedOut');
    k.close();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('invalid expiry options throw AUTH_CONFIG naming the member', () => {
  const base = { kind: 'json', loginUrl: 'https://a.example/login', refreshUrl: 'https://a.example/refresh' };
  const cases = [
    [{ expiry: [] }, '"expiry" must not be empty'],
    [{ expiry: ['jwt', { field: 'expiresMins', unit: 'hours' }] }, '"expiry[1].unit" must be'],
    [{ refreshExpiry: ['jwt', 'jwt'] }, '"refreshExpiry[1]" must not repeat an earlier source'],
  ];
  for (const [extra, message] of cases) {
    assert.throws(() => new TokenKeeper({ profile: { ...base, ...extra } }), (e) => {
      assert.equal(e.code, 'AUTH_CONFIG');
      assert.ok(e.message.includes(message), e.message);
      return true;
    });
  }
});
