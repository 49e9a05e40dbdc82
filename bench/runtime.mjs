// Browser-side runtime costs, in one Node process with minimal browser
// shims: (3) cached valid-token lookup, (5) 1000 concurrent callers at
// expiry, (6) JWT claims decode. tokenkeeper runs from the package's Node
// entry with a custom JSON login profile (the shims make it a "browser
// page", where a client secret would be refused) and an injected fetch.
// Prints one JSON object on stdout.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { fakeFetch, installBrowserShims, makeJwt, median, timeInterleaved } from './lib.mjs';

const PKG = process.env.BENCH_PKG;
const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = QUICK ? 3 : 7;

installBrowserShims();
// The browser libraries call the global fetch; route it to in-memory answers per test.
let globalAnswer = null;
globalThis.fetch = async (input, init) => {
  if (!globalAnswer) throw new Error(`unexpected fetch ${input}`);
  return globalAnswer(input, init);
};

const { TokenKeeper } = await import(pathToFileURL(join(PKG, 'node.js')).href);
// The wasm half of the class, to time the decode path itself (keeper.state
// caches its result per token): the package bundles it into its entries, so
// it is loaded from wasm-bindgen's output (BENCH_GLUE) over the shipped .wasm.
const glue = await import(pathToFileURL(process.env.BENCH_GLUE).href);
glue.initSync({ module: readFileSync(join(PKG, 'tokenkeeper_bg.wasm')) });
const { KeeperCore } = glue;
const { default: Keycloak } = await import('keycloak-js');
const oidc = await import('oidc-client-ts');
const auth0 = await import('@auth0/auth0-spa-js');
const { jwtDecode } = await import('jwt-decode');
const { decodeJwt } = await import('jose');

const nowS = () => Math.floor(Date.now() / 1000);

// ---- tokenkeeper -------------------------------------------------------
function ourProfile() {
  return { kind: 'json', loginUrl: 'https://idp.example.com/login', refreshUrl: 'https://idp.example.com/refresh' };
}

async function ourKeeper({ now, fetch } = {}) {
  const f = fetch ?? fakeFetch(() => JSON.stringify({ accessToken: makeJwt(), refreshToken: 'r-1' }));
  const k = new TokenKeeper({ profile: ourProfile(), autoRefresh: false, fetch: f, ...(now ? { now } : {}) });
  await k.login({ username: 'bench', password: 'bench-password' });
  return k;
}

// ---- keycloak-js -------------------------------------------------------
const KC = { url: 'https://idp.example.com', realm: 'bench', clientId: 'bench-client' };
const kcTokenUrl = `${KC.url}/realms/${KC.realm}/protocol/openid-connect/token`;
function kcAnswer(counter) {
  return async (input) => {
    if (String(input) !== kcTokenUrl) throw new Error(`keycloak fetch ${input}`);
    counter.calls++;
    const iat = nowS();
    return new Response(
      JSON.stringify({
        access_token: makeJwt({ iat }),
        refresh_token: makeJwt({ iat, exp: iat + 1800, extra: { typ: 'Refresh' } }),
        expires_in: 3600,
        refresh_expires_in: 1800,
        token_type: 'Bearer',
      }),
      { headers: { 'content-type': 'application/json' } },
    );
  };
}
async function keycloakReady(counter = { calls: 0 }) {
  globalAnswer = kcAnswer(counter);
  const kc = new Keycloak(KC);
  const iat = nowS();
  // init with stored tokens: keycloak-js forces one refresh, answered in memory.
  await kc.init({
    token: makeJwt({ iat }),
    refreshToken: makeJwt({ iat, exp: iat + 1800, extra: { typ: 'Refresh' } }),
    checkLoginIframe: false,
    pkceMethod: 'S256',
  });
  return kc;
}

// ---- oidc-client-ts ----------------------------------------------------
const OIDC_AUTHORITY = 'https://idp.example.com/oidc';
function oidcManager() {
  return new oidc.UserManager({
    authority: OIDC_AUTHORITY,
    client_id: 'bench-client',
    redirect_uri: 'https://app.example.com/callback',
    automaticSilentRenew: false,
    monitorSession: false,
    loadUserInfo: false,
    userStore: new oidc.WebStorageStateStore({ store: new oidc.InMemoryWebStorage() }),
    metadata: {
      issuer: OIDC_AUTHORITY,
      authorization_endpoint: `${OIDC_AUTHORITY}/authorize`,
      token_endpoint: `${OIDC_AUTHORITY}/token`,
    },
  });
}
async function oidcReady({ expired = false } = {}) {
  const um = oidcManager();
  const iat = nowS();
  await um.storeUser(
    new oidc.User({
      access_token: makeJwt({ iat }),
      refresh_token: 'r-1',
      token_type: 'Bearer',
      scope: 'openid profile',
      profile: { sub: 'bench-user', iss: OIDC_AUTHORITY, aud: 'bench-client', exp: iat + 3600, iat },
      expires_at: expired ? iat - 1 : iat + 3600,
    }),
  );
  return um;
}
async function oidcToken(um) {
  let user = await um.getUser();
  if (!user || user.expired) user = await um.signinSilent();
  return user.access_token;
}

// ---- auth0-spa-js ------------------------------------------------------
const A0 = { domain: 'tenant.example.com', clientId: 'bench-client' };
function auth0IdToken(iat) {
  return makeJwt({
    iat,
    extra: { iss: `https://${A0.domain}/`, aud: A0.clientId, sub: 'auth0|bench', nonce: undefined },
  });
}
async function auth0Ready({ now = () => Date.now() } = {}) {
  const client = new auth0.Auth0Client({
    ...A0,
    cache: new auth0.InMemoryCache().enclosedCache,
    useRefreshTokens: true,
    nowProvider: now,
    authorizationParams: { redirect_uri: 'https://app.example.com/callback' },
  });
  const iat = nowS();
  const idToken = auth0IdToken(iat);
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url'));
  // Pre-fill the SDK's cache the way its redirect callback does.
  await client._saveEntryInCache({
    client_id: A0.clientId,
    audience: 'default',
    scope: 'openid profile email offline_access',
    access_token: makeJwt({ iat }),
    refresh_token: 'r-1',
    expires_in: 3600,
    token_type: 'Bearer',
    id_token: idToken,
    decodedToken: { claims: { __raw: idToken, ...claims }, user: { sub: claims.sub } },
  });
  return client;
}
function auth0Answer(counter, clock) {
  return async (input) => {
    if (String(input) !== `https://${A0.domain}/oauth/token`) throw new Error(`auth0 fetch ${input}`);
    counter.calls++;
    const iat = Math.floor(clock() / 1000);
    return new Response(
      JSON.stringify({
        access_token: makeJwt({ iat }),
        refresh_token: 'r-2',
        id_token: auth0IdToken(iat),
        expires_in: 3600,
        scope: 'openid profile email offline_access',
        token_type: 'Bearer',
      }),
      { headers: { 'content-type': 'application/json' } },
    );
  };
}

// ---- (3) cached lookup -------------------------------------------------
async function cachedLookup() {
  const k = await ourKeeper();
  const kc = await keycloakReady();
  const um = await oidcReady();
  const a0 = await auth0Ready();
  globalAnswer = null; // a cached lookup must not fetch
  const record = { token: makeJwt(), freshUntil: Date.now() + 3_600_000 };
  const syncFloor = () => (Date.now() < record.freshUntil ? record.token : null);
  const asyncFloor = async () => (Date.now() < record.freshUntil ? record.token : null);
  const check = [await k.accessToken(), (await kc.updateToken(30), kc.token), await oidcToken(um), await a0.getTokenSilently()];
  if (check.some((t) => typeof t !== 'string' || t.split('.').length !== 3)) throw new Error('cached lookup setup failed');
  const fast = await timeInterleaved(
    {
      tokenkeeper: () => k.accessToken(),
      'keycloak-js': async () => {
        await kc.updateToken(30);
        return kc.token;
      },
      'floor: async in-memory check': asyncFloor,
    },
    { calls: QUICK ? 50_000 : 200_000, runs: RUNS, async: true },
  );
  const slow = await timeInterleaved(
    {
      '@auth0/auth0-spa-js': () => a0.getTokenSilently(),
      'oidc-client-ts': () => oidcToken(um),
    },
    { calls: QUICK ? 5_000 : 20_000, runs: RUNS, async: true },
  );
  const syncF = await timeInterleaved({ 'floor: sync in-memory check': syncFloor }, { calls: 1_000_000, runs: RUNS });
  k.close();
  return { ...fast, ...slow, ...syncF };
}

// ---- (5) 1000 concurrent callers at expiry ----------------------------
const CALLERS = 1000;
async function concurrency() {
  const out = {};
  // tokenkeeper: the injected clock jumps past expiry.
  {
    let now = Date.now();
    const f = fakeFetch(() => JSON.stringify({ accessToken: makeJwt({ iat: Math.floor(now / 1000) }), refreshToken: `r-${f.calls}` }));
    const k = await ourKeeper({ now: () => now, fetch: f });
    const before = f.calls;
    now = k.state.expiresAt + 1;
    const tokens = await Promise.all(Array.from({ length: CALLERS }, () => k.accessToken()));
    out.tokenkeeper = { requests: f.calls - before, distinct: new Set(tokens).size };
    k.close();
  }
  // keycloak-js: a clock skew makes the held token expired; each caller runs updateToken(30).
  {
    const counter = { calls: 0 };
    const kc = await keycloakReady(counter);
    const before = counter.calls;
    kc.timeSkew = -7200;
    const tokens = await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        await kc.updateToken(30);
        return kc.token;
      }),
    );
    out['keycloak-js'] = { requests: counter.calls - before, distinct: new Set(tokens).size };
  }
  // auth0-spa-js: nowProvider jumps past expiry; each caller runs getTokenSilently() (refresh token grant).
  {
    const counter = { calls: 0 };
    let now = Date.now();
    const a0 = await auth0Ready({ now: () => now });
    globalAnswer = auth0Answer(counter, () => now);
    now += 7_200_000;
    try {
      const tokens = await Promise.all(Array.from({ length: CALLERS }, () => a0.getTokenSilently()));
      out['@auth0/auth0-spa-js'] = { requests: counter.calls, distinct: new Set(tokens).size };
    } catch (e) {
      out['@auth0/auth0-spa-js'] = { error: String(e?.message ?? e).slice(0, 120), requests: counter.calls };
    }
  }
  // oidc-client-ts: getUser() finds the user expired; each caller runs signinSilent() (refresh token grant).
  {
    const counter = { calls: 0 };
    const um = await oidcReady({ expired: true });
    globalAnswer = async (input) => {
      if (String(input) !== `${OIDC_AUTHORITY}/token`) throw new Error(`oidc fetch ${input}`);
      counter.calls++;
      return new Response(
        JSON.stringify({ access_token: makeJwt(), refresh_token: `r-${counter.calls + 1}`, expires_in: 3600, token_type: 'Bearer', scope: 'openid profile' }),
        { headers: { 'content-type': 'application/json' } },
      );
    };
    try {
      const tokens = await Promise.all(Array.from({ length: CALLERS }, () => oidcToken(um)));
      out['oidc-client-ts'] = { requests: counter.calls, distinct: new Set(tokens).size };
    } catch (e) {
      out['oidc-client-ts'] = { error: String(e?.message ?? e).slice(0, 120), requests: counter.calls };
    }
  }
  out.oauth4webapi = { requests: null, note: 'no equivalent: stateless request/response functions, no token cache' };
  globalAnswer = null;
  return out;
}

// ---- (6) JWT claims decode --------------------------------------------
async function decode() {
  const token = makeJwt();
  const k = await ourKeeper({ fetch: fakeFetch(() => JSON.stringify({ accessToken: token, refreshToken: 'r-1' })) });
  if (k.state.claims?.email !== 'benchmark.user@example.com') throw new Error('keeper.state.claims missing');
  const core = new KeeperCore(
    { profile: ourProfile(), autoRefresh: false, fetch: fakeFetch(() => JSON.stringify({ accessToken: token, refreshToken: 'r-1' })) },
    () => {},
  );
  await core.login({ username: 'bench', password: 'bench-password' });
  const dec = new TextDecoder();
  const payload = token.split('.')[1];
  const res = await timeInterleaved(
    {
      'tokenkeeper, first read per token (KeeperCore state)': () => core.state().claims,
      'tokenkeeper (keeper.state.claims)': () => k.state.claims,
      'jose decodeJwt': () => decodeJwt(token),
      'jwt-decode jwtDecode': () => jwtDecode(token),
      'floor: Buffer + JSON.parse': () => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()),
      'floor: atob + TextDecoder + JSON.parse': () => {
        const b = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
        const u = new Uint8Array(b.length);
        for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i);
        return JSON.parse(dec.decode(u));
      },
    },
    { calls: QUICK ? 5_000 : 30_000, runs: RUNS },
  );
  k.close();
  core.close();
  return { tokenBytes: token.length, ns: res };
}

const result = {};
result.cached = await cachedLookup();
result.concurrency = await concurrency();
result.decode = await decode();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
