// oauth4webapi: discovery, authorization code + PKCE, refresh, with the
// storage and expiry glue a user writes around it.
import * as oauth from 'oauth4webapi';

const issuer = new URL('https://idp.example.com');
const client = { client_id: 'spa' };
const auth = oauth.None();
const redirect_uri = `${location.origin}/callback`;
const KEY = 'tokens';

async function server() {
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer));
}
function save(r) {
  localStorage.setItem(KEY, JSON.stringify({ ...r, expires_at: Date.now() + (r.expires_in ?? 300) * 1000 }));
}

export async function login() {
  const as = await server();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: client.client_id, redirect_uri, response_type: 'code', scope: 'openid offline_access', state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  location.assign(url);
}

export async function callback() {
  const as = await server();
  const { verifier, state } = JSON.parse(sessionStorage.getItem('pkce'));
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), state);
  const res = await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirect_uri, verifier);
  save(await oauth.processAuthorizationCodeResponse(as, client, res));
}

let inflight = null;
export async function accessToken() {
  const t = JSON.parse(localStorage.getItem(KEY));
  if (t.expires_at - 30_000 > Date.now()) return t.access_token;
  inflight ??= (async () => {
    const as = await server();
    const res = await oauth.refreshTokenGrantRequest(as, client, auth, t.refresh_token);
    save(await oauth.processRefreshTokenResponse(as, client, res));
  })().finally(() => (inflight = null));
  await inflight;
  return JSON.parse(localStorage.getItem(KEY)).access_token;
}
