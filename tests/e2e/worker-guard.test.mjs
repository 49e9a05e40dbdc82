// A client secret or the OAuth password grant in a browser worker needs
// allowConfidentialInBrowser, as in a page: a dedicated and a shared module
// Worker in headless Chromium (the page is tests/e2e/worker-guard/) import
// the package's browser entry and build a TokenKeeper against the
// devserver's TNCO (client secret) and Keycloak (password grant) styles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, startDemoServer } from './support/demo.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

let server;
let browser;
let page;

before(async () => {
  server = await startDemoServer([], { www: join(root, 'tests', 'e2e', 'worker-guard') });
  browser = await launch();
  page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  await page.goto(`${server.url}/demo/index.html`);
  await page.waitForFunction(() => window.ready === true);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const SECRET = 'tnco-demo-secret';

/** TNCO client credentials with a client secret. */
const secretOptions = (extra = {}) => ({
  profile: {
    kind: 'oauth2',
    tokenUrl: `${server.url}/tnco/oauth/token`,
    clientId: 'LmClient',
    clientSecret: SECRET,
  },
  autoRefresh: false,
  ...extra,
});

/** The Keycloak password grant of a public client. */
const passwordOptions = (extra = {}) => ({
  profile: {
    kind: 'oauth2',
    tokenUrl: `${server.url}/realms/tokenkeeper/protocol/openid-connect/token`,
    clientId: 'tokenkeeper-demo',
    clientAuth: 'none',
  },
  autoRefresh: false,
  ...extra,
});
const credentials = { username: 'demo', password: 'demo-password' };

const inWorker = (kind, request) => page.evaluate(([k, r]) => window.inWorker(k, r), [kind, request]);

for (const kind of ['dedicated', 'shared']) {
  test(`${kind} worker: a client secret needs allowConfidentialInBrowser`, async () => {
    const refused = await inWorker(kind, { options: secretOptions(), login: true });
    assert.equal(refused.document, 'undefined', 'no document in a worker');
    assert.match(refused.userAgent, /^Mozilla\//);
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.equal(refused.name, 'TokenKeeperError');
    assert.equal(refused.code, 'AUTH_CONFIG');
    assert.match(refused.message, /^"profile\.clientSecret" must not be used in a browser/);
    assert.ok(!refused.message.includes(SECRET));

    const allowed = await inWorker(kind, {
      options: secretOptions({ allowConfidentialInBrowser: true }),
      login: true,
    });
    assert.equal(allowed.ok, true, JSON.stringify(allowed));
    assert.equal(allowed.token, true);
    assert.ok(
      allowed.warnings.some((w) => w.includes('allowConfidentialInBrowser')),
      `the opt-in warns: ${JSON.stringify(allowed.warnings)}`,
    );
  });

  test(`${kind} worker: the OAuth password grant needs allowConfidentialInBrowser`, async () => {
    const refused = await inWorker(kind, { options: passwordOptions(), credentials, login: true });
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.equal(refused.code, 'AUTH_CONFIG');
    assert.match(refused.message, /password grant/);

    const allowed = await inWorker(kind, {
      options: passwordOptions({ allowConfidentialInBrowser: true }),
      credentials,
      login: true,
    });
    assert.equal(allowed.ok, true, JSON.stringify(allowed));
    assert.equal(allowed.token, true);
  });
}

test('the page saw no errors', () => {
  assert.deepEqual(page.errors, []);
});
