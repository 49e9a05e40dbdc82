// Type-checks a consumer of the built package (pkg/) under each `exports`
// condition, and of the `tokenkeeper/workers` and `tokenkeeper/init`
// subpaths with bundler and nodenext resolution and no custom conditions,
// with TypeScript, the way an app would see it: strict mode, the package's
// own .d.ts files checked too (no skipLibCheck).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(root, 'node_modules/.bin/tsc');

const consumer = `
import { TokenKeeper, TokenKeeperError, version, type ExpirySource, type TokenKeeperState } from 'tokenkeeper';
export const v: string = version();
const keeper = new TokenKeeper({
  profile: { kind: 'json', loginUrl: 'https://a.example/login', refreshUrl: 'https://a.example/refresh',
             headers: { 'X-API-Key': 'k' } },
  storage: { get: async () => null, set: async () => {}, delete: async () => {} },
});
keeper.addEventListener('refreshed', (e) => { const rotated: boolean = e.detail.rotated; void rotated; });
keeper.addEventListener('refreshfailed', (e) => { const c: string = e.detail.error.code; void c; });
export const token: Promise<string> = keeper.accessToken();
export const bound = new TokenKeeper({
  profile: { kind: 'oauth2', tokenUrl: 'https://a.example/token', clientId: 'spa' },
  dpop: true,
});
// @ts-expect-error: dpop takes true or { keyPair }
new TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: 'https://a.example/token', clientId: 'spa' }, dpop: 'yes' });
export const state: TokenKeeperState = keeper.state;
export const isErr = (e: unknown): boolean => e instanceof TokenKeeperError && e.transient;
// @ts-expect-error: clientAuth takes only the documented methods
new TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: 'x', clientId: 'c', clientAuth: 'jwt' } });
// @ts-expect-error: a profile needs its kind
new TokenKeeper({ profile: { tokenUrl: 'x', clientId: 'c' } });
export const sources: ExpirySource[] = [{ field: 'expiresMins', unit: 'minutes' }, 'jwt'];
new TokenKeeper({ profile: { kind: 'json', loginUrl: 'x', refreshUrl: 'y', expiry: sources,
                             refreshExpiry: [{ field: 'refreshExpiresAt', unit: 'iso8601' }] } });
// @ts-expect-error: an expiry unit is one of the documented ones
new TokenKeeper({ profile: { kind: 'json', loginUrl: 'x', refreshUrl: 'y', expiry: [{ field: 'e', unit: 'hours' }] } });
`;

// `tokenkeeper/workers`: the Workers helpers beside TokenKeeper, found
// without `customConditions`; the same TokenKeeperError as the root's.
const workersConsumer = `
import { TokenKeeper, TokenHolder, durableTokens, kvStorage, type DurableObjectNamespaceLike,
         type DurableTokens, type KVNamespaceLike } from 'tokenkeeper/workers';
import { TokenKeeperError } from 'tokenkeeper';
declare const kv: KVNamespaceLike;
declare const ns: DurableObjectNamespaceLike;
export const keeper = new TokenKeeper({
  profile: { kind: 'oauth2', tokenUrl: 'https://id.example/token', clientId: 'c', clientSecret: 's' },
  storage: kvStorage(kv),
  autoRefresh: false,
});
export class Holder extends TokenHolder<{ LOGIN_URL: string }> {
  keeperOptions(env: { LOGIN_URL: string }) {
    return { profile: { kind: 'json' as const, loginUrl: env.LOGIN_URL, refreshUrl: env.LOGIN_URL } };
  }
}
export const client: DurableTokens = durableTokens(ns, { allowedOrigins: ['https://api.example'] });
export const isErr = (e: unknown): boolean => e instanceof TokenKeeperError && e.code === 'AUTH_ORIGIN_NOT_ALLOWED';
`;

// `tokenkeeper/init`: no top-level await, an explicit initialiser.
const initConsumer = `
import { initialize, TokenKeeper, TokenKeeperError, version, type WasmSource } from 'tokenkeeper/init';
const source: WasmSource = new URL('https://cdn.example/tokenkeeper_bg.wasm');
export const ready: Promise<void> = initialize().then(() => initialize(source));
export const v = (): string => version();
export const make = () =>
  new TokenKeeper({ profile: { kind: 'json', loginUrl: 'https://a.example/l', refreshUrl: 'https://a.example/r' } });
export const found: Promise<TokenKeeper> = TokenKeeper.discover({
  profile: { kind: 'oauth2', issuer: 'https://id.example', clientId: 'spa' },
});
export const early = (e: unknown): boolean => e instanceof TokenKeeperError && e.code === 'AUTH_NOT_INITIALIZED';
`;

// `tokenkeeper/worker`: the keeper in a worker, TokenKeeper's API in the page.
const workerConsumer = `
import { WorkerKeeper, TokenKeeperError, type WorkerKeeperOptions } from 'tokenkeeper/worker';
const options: WorkerKeeperOptions = {
  profile: { kind: 'oauth2', tokenUrl: 'https://id.example/token', clientId: 'spa' },
  storage: 'indexeddb',
  dpop: true,
};
const keeper = new WorkerKeeper(options, { mode: 'shared' });
keeper.addEventListener('refreshed', (e) => { const rotated: boolean = e.detail.rotated; void rotated; });
export const mode: 'shared' | 'dedicated' | 'service' = keeper.mode;
export const token: Promise<string> = keeper.accessToken();
export const either = WorkerKeeper.create(options, { fallback: 'page' });
export const gone = (e: unknown): boolean => e instanceof TokenKeeperError && e.code === 'AUTH_WORKER_UNAVAILABLE';
// @ts-expect-error: a worker keeps its session in memory or IndexedDB only
export const bad: WorkerKeeperOptions = { ...options, storage: 'local' };
`;

/** A Workers project without @cloudflare/workers-types: the webworker library only. */
const workersLib = { lib: ['es2022', 'webworker'] };
const nodenext = { module: 'nodenext', moduleResolution: 'nodenext' };

const cases = [
  { condition: 'node', entry: 'node.d.ts', options: nodenext },
  { condition: 'deno', entry: 'node.d.ts', options: { customConditions: ['deno'] } },
  { condition: 'workerd', entry: 'workerd.d.ts', options: { customConditions: ['workerd'] } },
  { condition: 'worker', entry: 'index.d.ts', options: { customConditions: ['worker'], ...workersLib } },
  { condition: 'browser', entry: 'index.d.ts', options: { customConditions: ['browser'] } },
  { condition: 'import', entry: 'index.d.ts', options: {} },
  { condition: 'import', entry: 'index.d.ts', options: workersLib, setup: 'the webworker library' },
  ...[
    ['tokenkeeper/workers', 'workerd.d.ts', workersConsumer],
    ['tokenkeeper/init', 'init.d.ts', initConsumer],
    ['tokenkeeper/worker', 'worker.d.ts', workerConsumer],
  ].flatMap(([specifier, entry, source]) => [
    { specifier, entry, source, options: {}, setup: 'bundler resolution' },
    { specifier, entry, source, options: nodenext, setup: 'nodenext resolution' },
    { specifier, entry, source, options: workersLib, setup: 'bundler resolution and the webworker library' },
  ]),
];

for (const { condition, specifier, setup, entry, source = consumer, options } of cases) {
  const how = specifier ? `${specifier} resolves with ${setup}` : `types resolve through the "${condition}" condition`;
  test(`${how}${specifier || !setup ? '' : ` with ${setup}`} to ${entry}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenkeeper-types-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(join(root, 'pkg'), join(dir, 'node_modules', 'tokenkeeper'), 'dir');
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
      writeFileSync(join(dir, 'consumer.ts'), source);
      const compilerOptions = {
        target: 'es2022',
        module: 'esnext',
        moduleResolution: 'bundler',
        lib: ['es2022', 'dom'],
        types: [],
        strict: true,
        noEmit: true,
        ...options,
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      let out;
      try {
        out = execFileSync(tsc, ['-p', dir, '--listFiles'], { encoding: 'utf8' });
      } catch (e) {
        assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
      }
      const files = out.split('\n').map((f) => f.trim());
      assert.ok(
        files.some((f) => f.endsWith(`/pkg/${entry}`)),
        `expected pkg/${entry} among:\n${files.filter((f) => f.includes('/pkg/')).join('\n')}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
