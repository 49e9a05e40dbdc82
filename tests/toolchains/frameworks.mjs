// The framework examples (examples/react, examples/vue, examples/svelte) as
// an app gets the package: each example copied into a run directory that
// holds the `npm pack` tarball of pkg/ installed by npm, built by the
// toolchain's Vite with the framework's plugin (both pinned by
// package-lock.json here, found above the run directory), served from
// 127.0.0.1 and driven in Debian's headless Chromium against its own
// devserver: the PKCE redirect login through the devserver's login form,
// the claims shown, "Call API" through keeper.fetch, a refresh from the
// button and one from the keeper's timer seen by the component, the DOM
// still while nothing happens, a reload that restores the session, logout.
// React runs twice: a production build, and a development build under
// <StrictMode>, whose effects run twice: the redirect must still be
// completed exactly once. The examples run side by side, their builds one at
// a time.
//
// TOOLCHAINS_DIR, TOKENKEEPER_PKG and MATRIX_KEEP=1 as for matrix.mjs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../e2e/support/demo.mjs';
import { startDevserver } from '../js/support/devserver.mjs';
import { checkTools, files, packAndInstall, run, secs, serve, sizes, sleep, tail } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const tools = resolve(process.env.TOOLCHAINS_DIR ?? join(target, 'xtask', 'toolchains'));
const modules = join(tools, 'node_modules');
const vite = join(modules, 'vite', 'bin', 'vite.js');

/** The installed version of a tool's npm package, or `?` before setup. */
function version(name) {
  try {
    return JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/**
 * Access-token lifetimes (s). The keeper refreshes ahead of expiry, never
 * sooner than 5 s (minIntervalMs) after the last tokens, and its refresh()
 * refuses that early too: the login's 20 s tokens are due 10 to 15 s later,
 * which leaves time to click Refresh after 5 s; the button's 6 s tokens
 * are due exactly 5 s after they came, which the timer then does.
 */
const LOGIN_TTL = 20;
const REFRESH_TTL = 6;
/** The keeper's minimum interval between its tokens and a refresh ahead of expiry (its default). */
const MIN_INTERVAL_MS = 5000;
/** How long the page must stay still with nothing due. */
const IDLE_MS = 2500;

const FRAMEWORKS = [
  {
    name: 'react-strict',
    example: 'react',
    title: `React ${version('react')} under <StrictMode> (development build), @vitejs/plugin-react ${version('@vitejs/plugin-react')}`,
    env: { NODE_ENV: 'development' },
    strict: true,
  },
  {
    name: 'react',
    example: 'react',
    title: `React ${version('react')} (production build), @vitejs/plugin-react ${version('@vitejs/plugin-react')}`,
    env: { NODE_ENV: 'production' },
    strict: false,
  },
  {
    name: 'vue',
    example: 'vue',
    title: `Vue ${version('vue')}, @vitejs/plugin-vue ${version('@vitejs/plugin-vue')}`,
    env: { NODE_ENV: 'production' },
  },
  {
    name: 'svelte',
    example: 'svelte',
    title: `Svelte ${version('svelte')}, @sveltejs/vite-plugin-svelte ${version('@sveltejs/vite-plugin-svelte')}`,
    env: { NODE_ENV: 'production' },
  },
];

const ctx = { dir: null, tarball: null, chromium: null, running: new Set() };

before(async () => {
  await checkTools(here, tools);
  await mkdir(join(tools, 'runs'), { recursive: true });
  ctx.dir = await mkdtemp(join(tools, 'runs', 'frameworks-'));
  ctx.tarball = await packAndInstall(process.env.TOKENKEEPER_PKG ?? join(root, 'pkg'), ctx.dir);
  // The examples without what a local `npm install` or build left there.
  const skip = new Set(['node_modules', 'dist', 'package-lock.json']);
  for (const example of new Set(FRAMEWORKS.map((f) => f.example))) {
    await cp(join(root, 'examples', example), join(ctx.dir, 'examples', example), {
      recursive: true,
      filter: (src) => !skip.has(src.split('/').pop()),
    });
  }
  ctx.chromium = await launch();
});

after(async () => {
  await ctx.chromium?.close();
  await Promise.all([...ctx.running].map((s) => s.stop()));
  if (ctx.dir && process.env.MATRIX_KEEP !== '1') await rm(ctx.dir, { recursive: true, force: true });
  else if (ctx.dir) console.log(`# kept ${ctx.dir}`);
});

/** `fn()` with `resource` stopped afterwards, also when the run is cut short. */
async function using(resource, fn) {
  ctx.running.add(resource);
  try {
    return await fn(resource);
  } finally {
    ctx.running.delete(resource);
    await resource.stop();
  }
}

/**
 * Counts, before any script of the page runs, the `sessionended` listeners
 * added to and removed from objects other than DOM nodes and the window: the
 * keeper's store listens for that event while anything is subscribed.
 */
function countKeeperListeners() {
  const counts = { added: 0, removed: 0 };
  Object.defineProperty(window, '__keeperListeners', { value: counts });
  const { addEventListener, removeEventListener } = EventTarget.prototype;
  const keeperLike = (target) => !(target instanceof Node) && target !== window;
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (type === 'sessionended' && keeperLike(this)) counts.added += 1;
    return addEventListener.call(this, type, ...rest);
  };
  EventTarget.prototype.removeEventListener = function (type, ...rest) {
    if (type === 'sessionended' && keeperLike(this)) counts.removed += 1;
    return removeEventListener.call(this, type, ...rest);
  };
}

/** The text of `selector`, or null when it is not on the page. */
async function text(page, selector) {
  const el = await page.$(selector);
  return el ? el.textContent() : null;
}

/** Waits until `selector`'s text differs from `old`; resolves to the new text. */
async function changed(page, selector, old, timeout) {
  await page.waitForFunction(
    ([s, o]) => {
      const t = document.querySelector(s)?.textContent;
      return t && t !== o;
    },
    [selector, old],
    { timeout },
  );
  return text(page, selector);
}

/** The app's render count (React: `data-renders` of <main>), or null where the example has none. */
async function renders(page) {
  const value = await page.getAttribute('main', 'data-renders');
  return value === null ? null : Number(value);
}

/** How many token requests with `grant` the devserver logged. */
const grants = (stats, grant) => stats.log.filter((e) => e.endpoint === 'kc.token' && e.grant === grant).length;

/** Runs the builds one after another (`fn` once the builds before it ended). */
let builds = Promise.resolve();
function oneBuildAtATime(fn) {
  const result = builds.then(fn);
  builds = result.catch(() => undefined);
  return result;
}

// The examples run side by side (the build alone one at a time): most of
// each run is waiting for the keeper's clock.
describe('framework examples: the npm pack tarball built by Vite, logged in through the devserver in Chromium', { concurrency: true }, () => {
  for (const framework of FRAMEWORKS) {
    it(framework.title, { timeout: 120_000 }, async (t) => {
      const app = join(ctx.dir, 'examples', framework.example);
      const resolved = createRequire(join(app, 'vite.config.js')).resolve('tokenkeeper/package.json');
      assert.equal(resolved, join(ctx.dir, 'node_modules', 'tokenkeeper', 'package.json'), 'the example resolves the packed package');
      const out = join(ctx.dir, `dist-${framework.name}`);
      // The server first (its origin goes into the devserver's CORS list),
      // the build after the devserver (its URL is the app's issuer).
      const server = await serve(out);
      await using({ ...server, stop: server.close }, async () => {
        const args = ['--cors-origin', server.origin, '--access-ttl', String(LOGIN_TTL)];
        await using(await startDevserver(args), async (devserver) => {
          const env = { VITE_ISSUER: `${devserver.url}/realms/tokenkeeper`, ...framework.env };
          const build = await oneBuildAtATime(() =>
            run(process.execPath, [vite, 'build', '--outDir', out, '--emptyOutDir'], { cwd: app, env }),
          );
          t.diagnostic(
            `built: vite ${version('vite')} (NODE_ENV=${framework.env.NODE_ENV}), examples/${framework.example} → ` +
              `${sizes(await files(out))} (${secs(build.ms)})`,
          );
          await drive(t, framework, server, devserver);
        });
      });
    });
  }
});

/** The scenario in Chromium; `t.diagnostic` lines say what was seen. */
async function drive(t, framework, server, devserver) {
  const page = await ctx.chromium.context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`page error: ${e.message}`));
  // Failed responses are listed by URL (Chromium's console says only
  // "Failed to load resource"); the favicon does not count.
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) log.push(`response error: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  await page.addInitScript(countKeeperListeners);
  const started = performance.now();
  const noError = async () => {
    const shown = await text(page, '#error');
    assert.equal(shown, null, `the app shows an error: ${shown}`);
  };
  try {
    // Logged out; the login button goes to the devserver's login form.
    await page.goto(`${server.origin}/`);
    await page.waitForSelector('main[data-status="loggedOut"] #login');
    await page.click('#login');
    await page.waitForURL(/\/realms\/tokenkeeper\/protocol\/openid-connect\/auth\?/);
    const authorize = new URL(page.url()).searchParams;
    assert.equal(authorize.get('redirect_uri'), `${server.origin}/`);
    assert.equal(authorize.get('code_challenge_method'), 'S256');
    await page.fill('input[name="username"]', 'demo');
    await page.fill('input[name="password"]', 'demo-password');
    await page.click('button[type="submit"]');

    // Back on the app: the callback completed once, the claims shown.
    await page.waitForSelector('main[data-status="active"] #claims', { timeout: 20_000 });
    const claims = JSON.parse(await text(page, '#claims'));
    assert.equal(claims.preferred_username, 'demo');
    assert.equal(claims.azp, 'tokenkeeper-demo');
    assert.equal(new URL(page.url()).search, '', 'code and state left the address bar');
    let stats = await devserver.stats();
    assert.equal(grants(stats, 'authorization_code'), 1, 'one code exchange at the token endpoint');
    assert.equal(stats.code_exchanges, 1);
    await noError();
    const listeners = await page.evaluate(() => window.__keeperListeners);
    // StrictMode mounts, unmounts and mounts again: the store's listeners
    // come, go and come back, and the redirect is still handled once.
    assert.deepEqual(listeners, framework.strict ? { added: 2, removed: 1 } : { added: 1, removed: 0 }, 'the keeper listeners');
    const expiry0 = await text(page, '#expires-at');
    // When the token request was sent, on the page's clock (this one): the
    // keeper dates the expiry from it.
    const sent = Date.parse(expiry0) - LOGIN_TTL * 1000;
    t.diagnostic(
      `login: form → ${server.origin}/?code=… → active, claims of ${claims.preferred_username}; ` +
        `1 authorization_code request; keeper listeners added ${listeners.added}, removed ${listeners.removed}` +
        `${framework.strict ? ' (StrictMode ran the effects twice)' : ''}`,
    );

    // keeper.fetch of userinfo.
    await page.click('#call-api');
    await page.waitForSelector('#api[data-status]');
    assert.equal(await page.getAttribute('#api', 'data-status'), '200');
    assert.match(await text(page, '#api'), /"preferred_username":"demo"/);

    // Nothing is due: the DOM stays as it is and the component does not
    // render again.
    await sleep(200);
    const renders0 = await renders(page);
    await page.evaluate(() => {
      window.__mutations = 0;
      new MutationObserver((list) => (window.__mutations += list.length)).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    });
    await sleep(IDLE_MS);
    const mutations = await page.evaluate(() => window.__mutations);
    const renders1 = await renders(page);
    assert.equal(grants(await devserver.stats(), 'refresh_token'), 0, 'no refresh yet');
    assert.equal(renders1, renders0, `the component rendered ${renders1 - renders0} times while idle`);
    assert.equal(mutations, 0, `the DOM changed ${mutations} times while idle`);
    t.diagnostic(`API: GET userinfo 200; idle ${IDLE_MS} ms: 0 DOM mutations${renders0 === null ? '' : `, 0 renders (${renders0} so far)`}`);

    // The Refresh button, once the keeper allows it: the component shows the
    // new expiry and token. The new tokens are short, for the timer below.
    await devserver.config({ access_ttl: REFRESH_TTL });
    await sleep(Math.max(0, sent + MIN_INTERVAL_MS + 300 - Date.now()));
    const token0 = await text(page, '#token');
    // The keeper counts from the tokens' arrival, a round trip after `sent`:
    // a click before that shows AUTH_RETRY_LATER, and is made again.
    let early = 0;
    for (;;) {
      await page.click('#refresh');
      const outcome = await page
        .waitForFunction(
          (old) => {
            const error = document.querySelector('#error')?.textContent;
            const shown = document.querySelector('#expires-at')?.textContent;
            return error || (shown && shown !== old ? 'changed' : false);
          },
          expiry0,
          { timeout: 4_000 },
        )
        .then((h) => h.jsonValue(), () => 'the component showed no new expiry within 4 s');
      if (outcome === 'changed') break;
      if (!outcome.startsWith('AUTH_RETRY_LATER') || ++early > 8) assert.fail(`Refresh button: ${outcome}`);
      await sleep(250);
    }
    const expiry1 = await text(page, '#expires-at');
    await changed(page, '#token', token0, 10_000);
    assert.equal(grants(await devserver.stats(), 'refresh_token'), 1, 'one refresh');
    await noError();
    t.diagnostic(
      `Refresh button: expiresAt ${expiry0} → ${expiry1} (${REFRESH_TTL} s tokens now), a new token shown` +
        `${early ? ` (${early} early clicks refused)` : ''}`,
    );

    // The keeper's timer refreshes 5 s later; the component shows it.
    await sleep(300);
    const renders2 = await renders(page);
    const expiry2 = await changed(page, '#expires-at', expiry1, 15_000);
    await sleep(300);
    assert.equal(grants(await devserver.stats(), 'refresh_token'), 2, 'the timer refreshed once');
    const renders3 = await renders(page);
    if (renders0 !== null) {
      // refreshing (busy), refreshed (new expiry), the new token: a render
      // each; StrictMode's development build calls the component twice each.
      const most = framework.strict ? 8 : 4;
      assert.ok(renders3 > renders2 && renders3 - renders2 <= most, `${renders3 - renders2} renders for one refresh`);
    }
    t.diagnostic(`timer refresh: expiresAt ${expiry1} → ${expiry2}${renders0 === null ? '' : `, ${renders3 - renders2} renders`}`);

    // A reload restores the stored session; no second code exchange.
    await page.reload();
    await page.waitForSelector('main[data-status="active"] #claims');
    assert.equal(grants(await devserver.stats(), 'authorization_code'), 1);

    // Logout: the claims are gone, the token revoked.
    await page.click('#logout');
    await page.waitForSelector('main[data-status="loggedOut"] #login', { timeout: 10_000 });
    assert.equal(await text(page, '#claims'), null, 'no claims after logout');
    assert.equal(await text(page, '#expires-at'), null, 'no expiry after logout');
    stats = await devserver.stats();
    assert.equal(stats.revocations, 1);

    await noError();
    const problems = log.filter(
      (l) => (/^page error|^response error|^console\.error/.test(l) && !l.includes('Failed to load resource')) || l.includes('AUTH_'),
    );
    assert.deepEqual(problems, [], 'errors on the page');
    t.diagnostic(`reload: session restored; logout: claims gone, 1 revocation; no error on the page (${secs(performance.now() - started)} in Chromium)`);
  } catch (e) {
    e.message += `\n    requests: ${server.requests.join(', ')}\n${tail(log.join('\n'))}`;
    throw e;
  } finally {
    await page.close();
  }
}
