// The Worker of the TokenHolder checks in tests/edge/workerd.test.mjs: routes
// that call `durableTokens().fetch` with the allow-list and URL the test
// names, call the holders' RPC methods directly, and read a holder's errors.
// `forward.js` is the other kind of Worker: one that forwards every request
// to the holder as it is.
import { TokenHolder, TokenKeeper, TokenKeeperError, durableTokens } from 'tokenkeeper';

const API_KEY = 'lgdx-demo-api-key';

function lgdxProfile(env) {
  return {
    kind: 'json',
    loginUrl: `${env.DEVSERVER_URL}/Identity/Auth/Login`,
    refreshUrl: `${env.DEVSERVER_URL}/Identity/Auth/Refresh`,
    headers: { 'X-API-Key': API_KEY },
  };
}

/** An LGDX session with the devserver's demo user. */
export class ProbeTokens extends TokenHolder {
  keeperOptions(env) {
    return { profile: lgdxProfile(env) };
  }

  credentials() {
    return { username: 'demo', password: 'demo-password' };
  }
}

/** A holder whose login always fails. */
export class WrongPasswordTokens extends TokenHolder {
  keeperOptions(env) {
    return { profile: lgdxProfile(env) };
  }

  credentials() {
    return { username: 'demo', password: 'not-the-password' };
  }
}

/** What a caught error says, for the test to compare. */
function described(e) {
  return {
    typed: e instanceof TokenKeeperError,
    name: e?.name,
    code: e?.code,
    status: e?.status,
    transient: e?.transient,
    message: String(e?.message ?? e),
  };
}

const holders = (env, kind) => (kind === 'wrong-password' ? env.WRONG_PASSWORD_TOKENS : env.PROBE_TOKENS);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = url.searchParams;
    const name = q.get('name') ?? 'probe';
    const namespace = holders(env, q.get('holder'));
    try {
      switch (url.pathname) {
        case '/health':
          return new Response('ok\n');
        case '/api-fetch': {
          // ?allow=<origin> (repeatable; none: no allowedOrigins), ?url=<where to send the token>.
          const allowedOrigins = q.has('allow') ? q.getAll('allow') : undefined;
          let api;
          try {
            api = durableTokens(namespace, { name, allowedOrigins });
          } catch (e) {
            return Response.json({ constructed: false, thrown: described(e) });
          }
          let res;
          try {
            res = await api.fetch(q.get('url'), { headers: { 'X-API-Key': API_KEY } });
          } catch (e) {
            return Response.json({ constructed: true, thrown: described(e) });
          }
          const location = res.headers.get('location');
          return Response.json({ constructed: true, status: res.status, location, body: await res.text() });
        }
        case '/access-token': {
          try {
            const token = await durableTokens(namespace, { name }).accessToken();
            return Response.json({ token });
          } catch (e) {
            return Response.json({ thrown: described(e) });
          }
        }
        case '/dpop': {
          // A keeper with DPoP in this isolate: its key made by workerd's
          // WebCrypto, held in memory; a password login, a refresh and a
          // protected call, each with a proof (devserver Keycloak style).
          const realm = `${env.DEVSERVER_URL}/realms/tokenkeeper/protocol/openid-connect`;
          const keeper = new TokenKeeper({
            profile: { kind: 'oauth2', tokenUrl: `${realm}/token`, clientId: 'tokenkeeper-demo', clientAuth: 'none' },
            dpop: true,
            autoRefresh: false,
            refresh: { minIntervalMs: 0 },
          });
          try {
            await keeper.login({ username: 'demo', password: 'demo-password' });
            await keeper.refresh();
            const res = await keeper.fetch(`${realm}/userinfo`);
            const body = await res.json();
            return Response.json({ status: res.status, user: body.preferred_username, session: keeper.state.status });
          } catch (e) {
            return Response.json({ thrown: described(e) });
          } finally {
            keeper.close();
          }
        }
        case '/rpc': {
          // The holder's RPC methods, called as they are.
          const stub = namespace.get(namespace.idFromName(name));
          const answer = q.has('stale') ? await stub.refresh(q.get('stale')) : await stub.token();
          return Response.json(answer);
        }
        default:
          return new Response('not found\n', { status: 404 });
      }
    } catch (e) {
      return Response.json({ uncaught: described(e) }, { status: 500 });
    }
  },
};
