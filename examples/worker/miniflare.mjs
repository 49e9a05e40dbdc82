// Runs the example Worker in Miniflare 4 (npm `miniflare`), the Workers
// platform's local simulator, which runs workerd with real KV namespaces and
// Durable Objects. Everything listens on 127.0.0.1 and keeps its data in
// memory:
//
// - two instances of worker.js, "a" and "b", each its own isolate with its
//   own keepers, reached by host name (routes `a.tokenkeeper.test/*` and
//   `b.tokenkeeper.test/*`; a request that matches no route goes to "a");
// - the KV namespace both bind as TOKENS_KV (one namespace id);
// - the LgdxTokens Durable Object both bind as LGDX_TOKENS, exported by a
//   third Worker, "tokens" (its own isolate, as a Durable Object is).
//
// From the repository root, after `cargo xtask build` and `cargo xtask setup`,
// with the devserver on 8787 (`cargo run -p devserver -- --port 8787`):
//
//   node examples/worker/miniflare.mjs        # DEVSERVER_URL, PORT (8801)
//   curl http://127.0.0.1:8801/tnco/api/resources
//   curl -H 'Host: b.tokenkeeper.test' http://127.0.0.1:8801/Navigation/Realms
//
// worker.js imports the package by name; like wrangler, this bundles it with
// esbuild (export conditions workerd, worker, browser; `cloudflare:*` left to
// the runtime) and hands the package's .wasm over as a module of its own.
// tests/edge/workerd.test.mjs runs these options.
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A date that has Durable Object RPC (2024-04-03 or later). */
export const COMPATIBILITY_DATE = '2026-01-01';

/** The host name of each instance: Miniflare routes a request by its URL's host. */
export const HOSTS = { a: 'a.tokenkeeper.test', b: 'b.tokenkeeper.test' };

/**
 * Bundles the Worker at `entry` with `esbuild` (the module), as wrangler
 * does; resolves to Miniflare `modules`: the bundle first, then each `.wasm`
 * it imports as a `CompiledWasm` module beside it.
 */
export async function bundle(esbuild, entry) {
  const root = dirname(resolve(entry));
  const wasm = new Map();
  const result = await esbuild.build({
    entryPoints: [resolve(entry)],
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'wasm-modules',
        setup(build) {
          build.onResolve({ filter: /\.wasm$/ }, (args) => {
            const path = resolve(args.resolveDir, args.path);
            const name = basename(path);
            if (wasm.has(name) && wasm.get(name) !== path) throw new Error(`two ${name} modules`);
            wasm.set(name, path);
            return { path: `./${name}`, external: true };
          });
        },
      },
    ],
  });
  const name = basename(entry).replace(/\.m?js$/, '.bundle.js');
  return [
    { type: 'ESModule', path: join(root, name), contents: result.outputFiles[0].text },
    ...[...wasm].map(([n, path]) => ({ type: 'CompiledWasm', path: join(root, n), contents: readFileSync(path) })),
  ];
}

/**
 * The Miniflare options of the example: `modules` from `bundle()`, the
 * identity provider at `devserverUrl`. Add `log` and the like as needed.
 */
export function exampleOptions({ modules, devserverUrl, port = 0 }) {
  const modulesRoot = dirname(modules[0].path);
  const worker = {
    modules,
    modulesRoot,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { DEVSERVER_URL: devserverUrl },
    // Outbound fetch: loopback only (add "public" for a real identity provider).
    outboundService: { network: { allow: ['local'] } },
  };
  const instance = (name) => ({
    ...worker,
    name,
    routes: [`${HOSTS[name]}/*`],
    kvNamespaces: { TOKENS_KV: 'tokenkeeper-example-tokens' },
    durableObjects: { LGDX_TOKENS: { className: 'LgdxTokens', scriptName: 'tokens' } },
  });
  return {
    host: '127.0.0.1',
    port,
    // Nothing on disk, and no request for a real `request.cf` (placeholder values).
    kvPersist: false,
    durableObjectsPersist: false,
    cachePersist: false,
    cf: false,
    workers: [
      instance('a'),
      instance('b'),
      // The holder's storage in memory, as a fresh object's would be.
      { ...worker, name: 'tokens', unsafeEphemeralDurableObjects: true },
    ],
  };
}

/** `node examples/worker/miniflare.mjs`: Miniflare from $MINIFLARE, else setup's edge tools, else node_modules. */
async function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  const target = process.env.CARGO_TARGET_DIR ?? join(here, '../../target');
  const dir = process.env.MINIFLARE ?? join(target, 'xtask/edge-tools/node_modules/miniflare');
  const { Miniflare } = await import(pathToFileURL(join(dir, 'dist/src/index.js'))).catch(() => import('miniflare'));
  const esbuild = await import('esbuild');
  const modules = await bundle(esbuild, join(here, 'worker.js'));
  const devserverUrl = process.env.DEVSERVER_URL ?? 'http://127.0.0.1:8787';
  const mf = new Miniflare(exampleOptions({ modules, devserverUrl, port: Number(process.env.PORT ?? 8801) }));
  const url = await mf.ready;
  console.log(`instance a: ${url.origin} (or Host: ${HOSTS.a}), instance b: Host: ${HOSTS.b}; Ctrl-C stops`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => mf.dispose().then(() => process.exit(0)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
