// A Worker that proxies two protected APIs of the devserver through
// tokenkeeper:
//
//   GET /tnco/api/resources   client credentials (TNCO profile); the token is
//                             shared by every isolate through Workers KV
//                             (binding TOKENS_KV, optional: memory without it)
//   GET /Navigation/Realms    a password login with rotating, single-use
//                             refresh tokens (LGDX profile); the session lives
//                             in the LgdxTokens Durable Object (binding
//                             LGDX_TOKENS), which performs every refresh
//
// Bindings: DEVSERVER_URL (the identity provider, e.g. http://127.0.0.1:8787),
// TOKENS_KV, LGDX_TOKENS. Nothing runs at global scope: the keepers are built
// on the first request, and a refresh that is due but not yet needed runs
// after the response, under ctx.waitUntil. The token goes to the devserver's
// origin only: keeper.fetch allows its token endpoint's origin by default,
// durableTokens only the origins it is given (allowedOrigins). LgdxTokens
// hands the token to this Worker through RPC; its HTTP fetch answers 404.
import { TokenKeeper, TokenHolder, durableTokens, kvStorage } from 'tokenkeeper/workers';

/** Per isolate: the TNCO keeper and its login (restored from KV when another isolate stored one). */
let tnco = null;
/** Per isolate: the client of the LGDX token holder. */
let lgdx = null;
/** Per isolate: an id, so a test can tell isolates apart. */
let isolate = null;

/** The identity provider and API: the devserver. */
const devserver = (env) => env.DEVSERVER_URL ?? 'http://127.0.0.1:8787';

function tncoKeeper(env) {
  if (tnco === null) {
    const keeper = new TokenKeeper({
      profile: {
        kind: 'oauth2',
        tokenUrl: `${devserver(env)}/tnco/oauth/token`,
        clientId: 'LmClient',
        clientSecret: env.TNCO_CLIENT_SECRET ?? 'tnco-demo-secret',
        clientAuth: 'basic',
      },
      storage: env.TOKENS_KV ? kvStorage(env.TOKENS_KV) : 'memory',
      storageKey: 'tnco',
      autoRefresh: false,
    });
    const ready = keeper.restore().then((active) => active || keeper.login());
    tnco = { keeper, ready };
    // A failed login is retried by the next request.
    ready.catch(() => (tnco = null));
  }
  return tnco;
}

/** The LGDX session's holder: one Durable Object for every isolate. */
export class LgdxTokens extends TokenHolder {
  keeperOptions(env) {
    return {
      profile: {
        kind: 'json',
        loginUrl: `${devserver(env)}/Identity/Auth/Login`,
        refreshUrl: `${devserver(env)}/Identity/Auth/Refresh`,
        headers: { 'X-API-Key': env.LGDX_API_KEY ?? 'lgdx-demo-api-key' },
      },
      // Refreshes may follow each other after 1 s (default 5 s): the
      // devserver's tokens in the tests live 2 s.
      refresh: { minIntervalMs: 1000 },
    };
  }

  credentials(env) {
    return { username: env.LGDX_USER ?? 'demo', password: env.LGDX_PASSWORD ?? 'demo-password' };
  }
}

export default {
  async fetch(request, env, ctx) {
    isolate ??= crypto.randomUUID();
    const { pathname } = new URL(request.url);
    const waitUntil = ctx.waitUntil.bind(ctx);
    let upstream;
    try {
      if (pathname === '/tnco/api/resources') {
        const { keeper, ready } = tncoKeeper(env);
        await ready;
        upstream = await keeper.fetch(`${devserver(env)}${pathname}`, undefined, { waitUntil });
      } else if (pathname === '/Navigation/Realms') {
        lgdx ??= durableTokens(env.LGDX_TOKENS, { name: 'lgdx-demo', allowedOrigins: [devserver(env)] });
        upstream = await lgdx.fetch(
          `${devserver(env)}${pathname}`,
          { headers: { 'X-API-Key': env.LGDX_API_KEY ?? 'lgdx-demo-api-key' } },
          { waitUntil },
        );
      } else {
        return new Response('not found\n', { status: 404 });
      }
    } catch (e) {
      // A TokenKeeperError: a stable code, never a secret.
      return Response.json({ code: e.code ?? 'internal', message: String(e.message) }, { status: 502 });
    }
    const headers = new Headers({ 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
    headers.set('x-isolate', isolate);
    return new Response(upstream.body, { status: upstream.status, headers });
  },
};
