// DPoP (RFC 9449) against the devserver's strict verifier (Keycloak style,
// devserver/README.md §5), with proofs and nonces required at the token
// endpoint and at userinfo: a password login and a refresh bound to the
// keeper's key, keeper.fetch with one nonce retry, a replayed proof and a
// refresh token used from another key refused, nothing secret in errors
// or events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadPackage, memoryAdapter, profiles, seed, startDevserver } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

let srv;
before(async () => {
  srv = await startDevserver(['--dpop', 'required', '--dpop-nonce', 'both']);
});
after(() => srv.stop());

const userinfo = () => `${srv.url}/realms/tokenkeeper/protocol/openid-connect/userinfo`;

/** Every request the keeper sends, with its DPoP proof decoded. */
function wire() {
  const log = [];
  const fetchFn = async (input, init) => {
    const req = new Request(input, init);
    const proof = req.headers.get('dpop');
    const entry = {
      url: req.url,
      method: req.method,
      authorization: req.headers.get('authorization'),
      proof,
      claims: proof ? JSON.parse(Buffer.from(proof.split('.')[1], 'base64url')) : null,
      body: req.method === 'POST' ? await req.clone().text() : null,
    };
    const res = await fetch(req);
    entry.status = res.status;
    entry.nonce = res.headers.get('dpop-nonce');
    log.push(entry);
    return res;
  };
  return { log, fetch: fetchFn };
}

function keeper(w, extra = {}) {
  const k = new TokenKeeper({
    profile: profiles(srv.url).keycloak,
    dpop: true,
    autoRefresh: false,
    refresh: { minIntervalMs: 0 },
    allowInsecureHttp: true,
    fetch: w.fetch,
    ...extra,
  });
  const seen = [];
  for (const type of ['login', 'loginfailed', 'refresh', 'refreshfailed', 'sessionended', 'logout']) {
    k.addEventListener(type, (e) => seen.push(JSON.stringify(e.detail ?? null)));
  }
  return { k, seen };
}

/** Fails if any token, proof or nonce that crossed the wire shows up in `texts`. */
function assertNoSecrets(log, texts) {
  const secrets = new Set();
  for (const e of log) {
    if (e.proof) secrets.add(e.proof);
    if (e.nonce) secrets.add(e.nonce);
    if (e.claims?.nonce) secrets.add(e.claims.nonce);
    const m = e.authorization?.match(/^DPoP (.+)$/);
    if (m) secrets.add(m[1]);
  }
  for (const t of texts) for (const s of secrets) assert.ok(!String(t).includes(s), 'a secret leaked');
}

test('DPoP at the devserver: login and refresh bound to one key, one nonce retry each way, userinfo with ath', async () => {
  await srv.reset();
  const before = (await srv.stats()).dpop;
  const w = wire();
  const { k, seen } = keeper(w);
  await k.login(seed.user);
  // The first token request had no nonce: 400 use_dpop_nonce, then one retry.
  assert.deepEqual(
    w.log.map((e) => [e.status, Boolean(e.claims?.nonce)]),
    [
      [400, false],
      [200, true],
    ],
  );
  const jwk = JSON.parse(Buffer.from(w.log[0].proof.split('.')[0], 'base64url')).jwk;
  assert.equal(w.log[1].claims.htu, profiles(srv.url).keycloak.tokenUrl);
  assert.equal(w.log[1].claims.htm, 'POST');

  // The server's nonce is one per origin, so the token endpoint's serves
  // at userinfo too; rotated twice (the previous one stays good for a
  // while), the kept one is stale: userinfo asks for the new one, once.
  for (let i = 0; i < 2; i++) {
    assert.equal((await fetch(`${srv.url}/admin/dpop/nonce`, { method: 'POST' })).ok, true);
  }
  const res = await k.fetch(userinfo());
  assert.equal(res.status, 200);
  assert.equal((await res.json()).preferred_username, seed.user.username);
  const api = w.log.slice(2);
  assert.deepEqual(
    api.map((e) => e.status),
    [401, 200],
  );
  for (const e of api) {
    assert.match(e.authorization, /^DPoP /);
    assert.ok(e.claims.ath, 'ath');
    assert.equal(e.claims.htm, 'GET');
  }
  assert.ok(api[0].nonce && api[1].claims.nonce === api[0].nonce, 'the retry carries the nonce asked for');
  // A second call uses the kept nonce: no challenge.
  assert.equal((await k.fetch(userinfo())).status, 200);
  assert.equal(w.log.at(-1).status, 200);
  assert.equal(w.log.length, 5);

  // The refresh token is bound to the key: the same key refreshes.
  await k.refresh();
  const refresh = w.log.at(-1);
  assert.equal(refresh.status, 200);
  assert.match(refresh.body, /grant_type=refresh_token/);
  const again = JSON.parse(Buffer.from(refresh.proof.split('.')[0], 'base64url')).jwk;
  assert.deepEqual(again, jwk, 'one key for every proof');
  assert.equal((await k.fetch(userinfo())).status, 200);

  const after = (await srv.stats()).dpop;
  assert.equal(after.bound_tokens - (before?.bound_tokens ?? 0), 2);
  assert.equal(after.rejected.nonce - (before?.rejected?.nonce ?? 0), 2);
  assert.equal(after.rejected.total - (before?.rejected?.total ?? 0), 2, 'nothing refused but the two nonce challenges');
  assertNoSecrets(w.log, seen);
  k.close();
});

test('DPoP at the devserver: a replayed proof and a bound refresh token from another key are refused', async () => {
  await srv.reset();
  const store = memoryAdapter();
  const w = wire();
  const { k } = keeper(w, { storage: store, storageKey: 'dpop-replay' });
  await k.login(seed.user);
  await k.fetch(userinfo());

  // The keeper's last userinfo request, sent again with the same proof.
  const last = w.log.at(-1);
  assert.equal(last.status, 200);
  const replay = await fetch(last.url, { headers: { authorization: last.authorization, dpop: last.proof } });
  assert.equal(replay.status, 401);
  assert.match(replay.headers.get('www-authenticate'), /^DPoP .*error="invalid_dpop_proof"/);
  assert.equal((await srv.stats()).dpop.rejected.replay, 1);
  // The keeper's own next request has a new proof.
  assert.equal((await k.fetch(userinfo())).status, 200);

  // The bound token as a Bearer token is refused.
  const bearer = await fetch(userinfo(), { headers: { authorization: last.authorization.replace(/^DPoP/, 'Bearer') } });
  assert.equal(bearer.status, 401);

  // A second keeper on the same stored session has a key of its own (in
  // memory: `storage` is an adapter, the key store is IndexedDB, which
  // Node lacks): its refresh is refused and ends that session.
  const w2 = wire();
  const { k: other, seen } = keeper(w2, { storage: store, storageKey: 'dpop-replay' });
  assert.equal(await other.restore(), true);
  await assert.rejects(other.refresh(), (e) => {
    assert.equal(e.code, 'AUTH_SESSION_ENDED', `${e.code}: ${e.message}`);
    seen.push(e.message, JSON.stringify(e));
    return true;
  });
  assert.equal((await srv.stats()).dpop.rejected.binding, 1);
  assertNoSecrets([...w.log, ...w2.log], seen);
  other.close();
  k.close();
});

test('DPoP at the devserver: client credentials (confidential client, HTTP Basic) get a bound token, one nonce retry', async () => {
  await srv.reset();
  const w = wire();
  const { k, seen } = keeper(w, {
    profile: {
      ...profiles(srv.url).keycloak,
      clientId: 'tokenkeeper-confidential',
      clientSecret: 'confidential-secret',
      clientAuth: 'basic',
    },
  });
  await k.login();
  assert.deepEqual(
    w.log.map((e) => [e.status, Boolean(e.claims.nonce)]),
    [
      [400, false],
      [200, true],
    ],
  );
  assert.match(w.log[1].body, /grant_type=client_credentials/);
  assert.match(w.log[1].authorization, /^Basic /, 'the client authenticates as configured; the proof is beside it');
  const token = await k.accessToken();
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  assert.ok(claims.cnf?.jkt, 'the token is bound (cnf.jkt)');
  const stats = (await srv.stats()).dpop;
  assert.equal(stats.bound_tokens, 1);
  assertNoSecrets(w.log, seen);
  k.close();
});

test('DPoP needs an oauth2 profile; a Bearer answer to a proof is refused with AUTH_DPOP_TOKEN_TYPE', async () => {
  assert.throws(
    () => new TokenKeeper({ profile: profiles(srv.url).lgdx, dpop: true, allowInsecureHttp: true }),
    (e) => e.code === 'AUTH_CONFIG' && /dpop/.test(e.message),
  );
  assert.throws(
    () => new TokenKeeper({ profile: profiles(srv.url).keycloak, dpop: 'yes', allowInsecureHttp: true }),
    (e) => e.code === 'AUTH_CONFIG',
  );
  // A server that ignores the proof and answers a Bearer token.
  const k = new TokenKeeper({
    profile: profiles(srv.url).keycloak,
    dpop: true,
    autoRefresh: false,
    allowInsecureHttp: true,
    fetch: async () =>
      new Response(JSON.stringify({ access_token: 'SENTINEL_AT_BEARER', token_type: 'Bearer', expires_in: 300 }), {
        headers: { 'content-type': 'application/json' },
      }),
  });
  await assert.rejects(k.login(seed.user), (e) => {
    assert.equal(e.code, 'AUTH_DPOP_TOKEN_TYPE');
    assert.ok(!e.message.includes('SENTINEL'));
    return true;
  });
  assert.equal(k.state.status, 'loggedOut');
  k.close();
});

test("DPoP at the devserver: with the server's clock 5 minutes ahead (its iat window is ±60 s), the refusal's Date dates the retry", async () => {
  await srv.reset();
  await srv.config({ clock_offset: 300 });
  try {
    const w = wire();
    const { k } = keeper(w);
    await k.login(seed.user);
    // Refused for its iat, then for want of a nonce, then accepted: one
    // retry for each cause.
    assert.deepEqual(
      w.log.map((e) => e.status),
      [400, 400, 200],
    );
    const skew = w.log[1].claims.iat - w.log[0].claims.iat;
    assert.ok(skew >= 299 && skew <= 301, `the retry is dated in the server's clock (+${skew} s)`);
    assert.equal((await k.fetch(userinfo())).status, 200);
    const rejected = (await srv.stats()).dpop.rejected;
    assert.deepEqual([rejected.iat, rejected.nonce, rejected.total], [1, 1, 2]);
    k.close();
  } finally {
    await srv.config({ clock_offset: 0 });
  }
});
