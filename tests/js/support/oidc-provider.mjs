// panva's `oidc-provider` (from npm) on 127.0.0.1 for one test, the
// development interactions driven by HTTP as a browser would, and a
// hand-made DPoP client (RFC 9449) built on WebCrypto, to talk to the
// provider the way a second client would.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

/**
 * Starts `new Provider(issuer, configuration)` on 127.0.0.1 and closes it
 * when the test `t` ends; `configuration` may be a function of the issuer
 * (for redirect URIs on its origin). `listeners` > 1 serves the same provider on more
 * ports, i.e. more origins (oidc-provider checks a DPoP proof's `htu`
 * against the URL the request came in on, lib/helpers/oidc_context.js
 * `urlFor`). Returns `issuer`, `origins` (the issuer first), `provider` and
 * `events`: each error event the provider emits, as `{ event, error,
 * detail, description, grantType }` (`detail` is oidc-provider's
 * `error_detail`, which it never sends), and each `grant.success` as
 * `{ event, grantType }`.
 */
export async function startProvider(t, configuration, { listeners = 1 } = {}) {
  const servers = [];
  for (let i = 0; i < listeners; i += 1) {
    const http = createServer();
    await new Promise((r) => http.listen(0, '127.0.0.1', r));
    servers.push(http);
  }
  const origins = servers.map((s) => `http://127.0.0.1:${s.address().port}`);
  const provider = new Provider(origins[0], typeof configuration === 'function' ? configuration(origins[0]) : configuration);
  const events = [];
  provider.on('grant.success', (ctx) => events.push({ event: 'grant.success', grantType: ctx.oidc.params.grant_type }));
  for (const event of ['grant.error', 'userinfo.error', 'introspection.error', 'revocation.error',
    'authorization.error', 'server_error']) {
    provider.on(event, (ctx, error) => events.push({
      event,
      grantType: event === 'grant.error' ? ctx.oidc.params?.grant_type : undefined,
      error: error.error ?? error.message,
      description: error.error_description,
      detail: error.error_detail,
    }));
  }
  const callback = provider.callback();
  for (const http of servers) http.on('request', callback);
  t.after(async () => {
    await Promise.all(servers.map((http) => {
      const closed = new Promise((r) => http.close(r));
      http.closeAllConnections();
      return closed;
    }));
  });
  return { issuer: origins[0], origins, provider, events };
}

/** A PKCE pair (RFC 7636, S256). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Follows an authorization request through oidc-provider's development
 * interactions (sign-in with any login, then consent), as a browser would,
 * and returns the callback URL with the code.
 */
export async function authorize(url, redirectUri, login = 'alice') {
  const jar = new Map();
  const send = async (target, init = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(target, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    return { res, text: await res.text() };
  };
  let at = url;
  for (let step = 0; step < 12; step += 1) {
    if (at.startsWith(`${redirectUri}?`)) return at;
    const { res, text } = await send(at);
    const location = res.headers.get('location');
    if (location) {
      at = new URL(location, at).href;
      continue;
    }
    assert.equal(res.status, 200, `an interaction page at ${new URL(at).pathname}`);
    const prompt = text.match(/name="prompt" value="(\w+)"/)?.[1];
    const action = text.match(/<form[^>]* action="([^"]+)"/)?.[1];
    assert.ok(prompt && action, 'the page has the interaction form');
    const posted = await send(new URL(action, at).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt, login, password: 'any' }),
    });
    assert.ok(posted.res.headers.get('location'), `the ${prompt} form redirects`);
    at = new URL(posted.res.headers.get('location'), at).href;
  }
  throw new Error('no callback after 12 steps');
}

// ---- DPoP by hand (RFC 9449) ----------------------------------------------

const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const json64 = (value) => b64u(Buffer.from(JSON.stringify(value)));

/** The header and payload of a JWS in compact form, unverified. */
export function decodeJwt(jwt) {
  const [header, payload, signature] = jwt.split('.');
  assert.ok(header && payload && signature, 'a compact JWS');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url')),
    payload: JSON.parse(Buffer.from(payload, 'base64url')),
  };
}

/** The RFC 7638 thumbprint of a P-256 public JWK (a token's `cnf.jkt`). */
export function jwkThumbprint({ crv, kty, x, y }) {
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

/** A proof's `ath`: base64url of the SHA-256 of the access token. */
export function accessTokenHash(token) {
  return createHash('sha256').update(token).digest('base64url');
}

/** A fresh P-256 key pair (private key non-extractable), its public JWK and thumbprint. */
export async function dpopKey() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const jwk = { kty, crv, x, y };
  return { privateKey: pair.privateKey, jwk, thumbprint: jwkThumbprint(jwk) };
}

/** A DPoP proof signed with `key` for one request. */
export async function dpopProof(key, { htm, htu, accessToken, nonce }) {
  const payload = { jti: b64u(randomBytes(16)), htm, htu, iat: Math.floor(Date.now() / 1000) };
  if (nonce !== undefined) payload.nonce = nonce;
  if (accessToken !== undefined) payload.ath = accessTokenHash(accessToken);
  const input = `${json64({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })}.${json64(payload)}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64u(new Uint8Array(signature))}`;
}
