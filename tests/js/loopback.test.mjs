// Plain http without allowInsecureHttp on loopback only: loopback IP
// literals and `localhost`, never a name that only starts like one
// (RFC 8252 §8.3). The built package in Node, against a token endpoint on
// 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { loadPackage } from './support/devserver.mjs';

const { TokenKeeper, TokenKeeperError } = await loadPackage();

let idp;
let requests = 0;

before(async () => {
  idp = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () =>
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ access_token: 'AT-LOOPBACK', token_type: 'Bearer', expires_in: 300 })),
    );
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
});

after(() => new Promise((r) => idp.close(r)));

const oauth2 = (tokenUrl, extra = {}) => ({
  profile: { kind: 'oauth2', tokenUrl, clientId: 'loopback-client', clientSecret: 'loopback-secret' },
  autoRefresh: false,
  ...extra,
});

// Hosts that are not loopback though they start like it, or that a URL
// parser reads as 127.0.0.1 from a form other than the dotted quad.
const lookAlikes = [
  '127.attacker.example',
  '127.x.example',
  '127.0.0.1.nip.io',
  'localhost.example',
  'localhost.',
  '0x7f000001',
  '2130706433',
  '127.1',
  '0177.0.0.1',
  '127.000.0.1',
  '[::ffff:127.0.0.1]',
];

test('an http token endpoint on a host that only looks like loopback is AUTH_CONFIG', () => {
  for (const host of lookAlikes) {
    const tokenUrl = `http://${host}/token`;
    assert.throws(
      () => new TokenKeeper(oauth2(tokenUrl)),
      (e) =>
        e instanceof TokenKeeperError &&
        e.code === 'AUTH_CONFIG' &&
        e.message === '"tokenUrl" must use https (http only on loopback or with allowInsecureHttp)',
      tokenUrl,
    );
    // The explicit opt-in still allows it.
    new TokenKeeper(oauth2(tokenUrl, { allowInsecureHttp: true })).close();
  }
  assert.equal(requests, 0);
});

test('an http allowedOrigins entry on a look-alike host is AUTH_CONFIG', () => {
  const tokenUrl = `http://127.0.0.1:${idp.address().port}/token`;
  for (const host of lookAlikes) {
    assert.throws(
      () => new TokenKeeper(oauth2(tokenUrl, { allowedOrigins: [`http://${host}`] })),
      (e) => e instanceof TokenKeeperError && e.code === 'AUTH_CONFIG' && /^"allowedOrigins" /.test(e.message),
      host,
    );
  }
});

test('loopback literals and localhost are accepted without allowInsecureHttp', () => {
  for (const host of ['127.0.0.1:8080', '127.1.2.3', '[::1]:8080', '[0:0:0:0:0:0:0:1]', 'localhost', 'LOCALHOST:3000']) {
    const url = `http://${host}`;
    new TokenKeeper(oauth2(`${url}/token`, { allowedOrigins: [url] })).close();
  }
});

test('an http token endpoint on 127.0.0.1 works without allowInsecureHttp', async () => {
  const origin = `http://127.0.0.1:${idp.address().port}`;
  const keeper = new TokenKeeper(oauth2(`${origin}/token`));
  try {
    await keeper.login();
    assert.equal(await keeper.accessToken(), 'AT-LOOPBACK');
    assert.equal(requests, 1);
  } finally {
    keeper.close();
  }
});
