// Origin policy over real loopback HTTP: token requests never follow a
// redirect, and keeper.fetch never carries credentials to another origin,
// neither directly nor across a redirect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { loadPackage } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

/** A loopback server that records requests and answers with `handler`. */
async function server(handler) {
  const seen = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${s.address().port}`, seen, close: () => new Promise((r) => s.close(r)) };
}

let evil;
let idp;
let api;

before(async () => {
  evil = await server((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  idp = await server((req, res) => {
    if (req.url === '/redirecting-token') {
      res.writeHead(307, { location: `${evil.url}/token` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ accessToken: 'AT-1', refreshToken: 'RT-1', expiresIn: 300 }));
  });
  api = await server((req, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: `${evil.url}/landing` }).end();
      return;
    }
    res.writeHead(200).end('ok');
  });
});

after(async () => {
  await Promise.all([evil.close(), idp.close(), api.close()]);
});

const json = (loginUrl) => ({
  kind: 'json',
  loginUrl,
  refreshUrl: `${idp.url}/refresh`,
  headers: { 'X-API-Key': 'KEY-1' },
});

test('a redirecting login endpoint is an error and the redirect target gets nothing', async () => {
  const k = new TokenKeeper({ profile: json(`${idp.url}/redirecting-token`) });
  await assert.rejects(k.login({ username: 'u', password: 'PW-1' }), (e) => {
    assert.equal(e.code, 'OAUTH_RESPONSE_IS_NOT_CONFORM');
    assert.equal(e.status, 307);
    return true;
  });
  assert.equal(evil.seen.length, 0, 'zero requests reach the redirect target');
  assert.equal(k.state.status, 'loggedOut');
  k.close();
});

test('keeper.fetch sends the token to allowed origins only', async () => {
  const k = new TokenKeeper({ profile: json(`${idp.url}/login`), allowedOrigins: [api.url] });
  await k.login({ username: 'u', password: 'PW-1' });
  const res = await k.fetch(`${api.url}/data`);
  assert.equal(res.status, 200);
  assert.equal(api.seen.at(-1).headers.authorization, 'Bearer AT-1');
  await assert.rejects(k.fetch(`${evil.url}/data`), (e) => e.code === 'AUTH_ORIGIN_NOT_ALLOWED');
  await assert.rejects(k.fetch(`${idp.url}/data`), (e) => e.code === 'AUTH_ORIGIN_NOT_ALLOWED');
  assert.equal(evil.seen.length, 0);
  k.close();
});

test('look-alike origins get nothing: suffix, scheme downgrade, other port, other host', async () => {
  const sent = [];
  const k = new TokenKeeper({
    profile: json(`${idp.url}/login`),
    allowedOrigins: ['https://api.example.com'],
    fetch: (input, init) => {
      sent.push(String(input));
      return fetch(input, init);
    },
  });
  await k.login({ username: 'u', password: 'PW-1' });
  const before = sent.length;
  for (const url of [
    'https://api.example.com.evil.net/data',
    'http://api.example.com/data',
    'https://api.example.com:8443/data',
    'https://other.com/data',
  ]) {
    await assert.rejects(k.fetch(url), (e) => e.code === 'AUTH_ORIGIN_NOT_ALLOWED', url);
  }
  assert.equal(sent.length, before, 'nothing was sent');
  k.close();
});

test('a cross-origin redirect from the API is not followed with Authorization or X-API-Key', async () => {
  const k = new TokenKeeper({ profile: json(`${idp.url}/login`), allowedOrigins: [api.url] });
  await k.login({ username: 'u', password: 'PW-1' });
  const res = await k.fetch(`${api.url}/moved`, { headers: { 'X-API-Key': 'KEY-1' } });
  assert.equal(res.status, 302, 'the redirect comes back to the caller');
  assert.equal(evil.seen.length, 0, 'nothing was sent to the other origin');
  assert.equal(api.seen.at(-1).headers['x-api-key'], 'KEY-1');
  k.close();
});

test('the login request carries the X-API-Key to the configured endpoint and nowhere else', async () => {
  const before = idp.seen.length;
  const k = new TokenKeeper({ profile: json(`${idp.url}/login`) });
  await k.login({ username: 'u', password: 'PW-1' });
  const login = idp.seen.slice(before).find((r) => r.url === '/login');
  assert.equal(login.headers['x-api-key'], 'KEY-1');
  assert.equal(login.method, 'POST');
  assert.deepEqual(JSON.parse(login.body), { username: 'u', password: 'PW-1' });
  assert.ok(!login.url.includes('PW-1'));
  assert.equal(evil.seen.length, 0);
  k.close();
});
