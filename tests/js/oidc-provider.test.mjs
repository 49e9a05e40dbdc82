// tokenkeeper against a real third-party identity provider: `oidc-provider`
// (panva's certified OpenID Provider) from npm, on 127.0.0.1: discovery,
// client_credentials with client_secret_basic and with client_secret_post,
// and revocation (RFC 7009), checked through the provider's own
// introspection (RFC 7662).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { loadPackage } from './support/devserver.mjs';

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
