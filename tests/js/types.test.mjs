// Type-checks a consumer of the built package (pkg/) under each `exports`
// condition, and of the `tokenkeeper/workers` and `tokenkeeper/init`
// subpaths with bundler and nodenext resolution and no custom conditions,
// with TypeScript, the way an app would see it: strict mode, the package's
// own .d.ts files checked too (no skipLibCheck). The framework subpaths
// (`tokenkeeper/react`, `/vue`, `/svelte`) are checked against the types of
// React (@types/react), Vue and Svelte that the toolchain matrix pins
// (tests/toolchains, installed by `cargo xtask setup`; TOOLCHAINS_DIR
// overrides where).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(root, 'node_modules/.bin/tsc');
const pkg = join(root, 'pkg');
const tools = resolve(process.env.TOOLCHAINS_DIR ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'xtask', 'toolchains'));

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

// `tokenkeeper/react`: the provider and hooks in a TSX component.
const reactConsumer = `
import { useState, type ReactElement } from 'react';
import { KeeperProvider, useAccessToken, useKeeper, useSession, type AnyKeeper, type KeeperProviderProps } from 'tokenkeeper/react';
import { TokenKeeper, type RedirectResult, type TokenKeeperState } from 'tokenkeeper';
import { WorkerKeeper } from 'tokenkeeper/worker';

function Status(): ReactElement {
  const session: TokenKeeperState = useSession();
  const token: string | null = useAccessToken();
  const keeper: AnyKeeper | null = useKeeper();
  const expires: number | null = session.expiresAt;
  return <p data-keeper={keeper ? 'yes' : 'no'}>{session.status} {expires} {token?.length}</p>;
}
export function App({ keeper }: { keeper: TokenKeeper | WorkerKeeper | null }): ReactElement {
  const [claims, setClaims] = useState<RedirectResult['idTokenClaims']>(null);
  return (
    <KeeperProvider keeper={keeper} onRedirect={(r) => setClaims(r.idTokenClaims)} onError={(e: unknown) => console.error(e)}>
      <Status />
      {claims ? <pre>{JSON.stringify(claims)}</pre> : null}
    </KeeperProvider>
  );
}
export const props: KeeperProviderProps = { keeper: null, children: 'text' };
// @ts-expect-error: the keeper is a TokenKeeper or a WorkerKeeper
export const wrong = <KeeperProvider keeper="not a keeper" />;
`;

// `tokenkeeper/vue`: provideKeeper and the refs in a component's setup.
const vueConsumer = `
import { defineComponent, h, type ShallowRef } from 'vue';
import { provideKeeper, useAccessToken, useKeeper, useSession, type StartResult } from 'tokenkeeper/vue';
import { TokenKeeper, type TokenKeeperState } from 'tokenkeeper';
import { WorkerKeeper } from 'tokenkeeper/worker';
declare const keeper: TokenKeeper | WorkerKeeper;
export const App = defineComponent({
  setup() {
    const started: Promise<StartResult> = provideKeeper(keeper);
    started.then((s) => {
      const seen: Record<string, unknown> | null | boolean = s.callback ? s.result.idTokenClaims : s.result;
      return seen;
    });
    const session: ShallowRef<TokenKeeperState> = useSession(keeper);
    const token: ShallowRef<string | null> = useAccessToken();
    const provided = useKeeper();
    return () => h('p', [session.value.status, String(token.value?.length), provided ? 'provided' : 'none']);
  },
});
// @ts-expect-error: the keeper is a TokenKeeper or a WorkerKeeper
provideKeeper('not a keeper');
`;

// `tokenkeeper/svelte`: the readable stores and startOnce.
const svelteConsumer = `
import { derived, get, type Readable } from 'svelte/store';
import { accessTokenStore, sessionStore, startOnce, type StartResult } from 'tokenkeeper/svelte';
import { TokenKeeper, type TokenKeeperState } from 'tokenkeeper';
import { WorkerKeeper } from 'tokenkeeper/worker';
declare const keeper: TokenKeeper;
declare const inWorker: WorkerKeeper;
export const session: Readable<TokenKeeperState> = sessionStore(keeper);
export const token: Readable<string | null> = accessTokenStore(inWorker);
export const claims = derived(session, (s) => s.claims);
export const status: 'loggedOut' | 'active' | 'ended' = get(session).status;
export const started: Promise<StartResult> = startOnce(keeper);
// @ts-expect-error: the keeper is a TokenKeeper or a WorkerKeeper
sessionStore(null);
`;

/** The toolchain's packages a framework consumer resolves (`@types/react` for React). */
const frameworkTypes = {
  'tokenkeeper/react': ['@types/react'],
  'tokenkeeper/vue': ['vue'],
  'tokenkeeper/svelte': ['svelte'],
};

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
  ...[
    ['tokenkeeper/react', 'react.d.ts', reactConsumer, 'tsx'],
    ['tokenkeeper/vue', 'vue.d.ts', vueConsumer, 'ts'],
    ['tokenkeeper/svelte', 'svelte.d.ts', svelteConsumer, 'ts'],
  ].flatMap(([specifier, entry, source, ext]) => {
    const jsx = ext === 'tsx' ? { jsx: 'react-jsx' } : {};
    return [
      { specifier, entry, source, ext, options: jsx, setup: 'bundler resolution' },
      { specifier, entry, source, ext, options: { ...nodenext, ...jsx }, setup: 'nodenext resolution' },
    ];
  }),
];

for (const { condition, specifier, setup, entry, source = consumer, ext = 'ts', options } of cases) {
  const how = specifier ? `${specifier} resolves with ${setup}` : `types resolve through the "${condition}" condition`;
  test(`${how}${specifier || !setup ? '' : ` with ${setup}`} to ${entry}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenkeeper-types-'));
    const frameworks = frameworkTypes[specifier];
    try {
      mkdirSync(join(dir, 'node_modules'));
      if (frameworks) {
        // A copy, not a link: TypeScript resolves the package's own imports
        // (react, vue, svelte/store) from where its files really are, here
        // beside the framework packages linked from the toolchain.
        mkdirSync(join(dir, 'node_modules', 'tokenkeeper'));
        for (const f of readdirSync(pkg).filter((f) => f.endsWith('.d.ts') || f === 'package.json')) {
          cpSync(join(pkg, f), join(dir, 'node_modules', 'tokenkeeper', f));
        }
        for (const name of frameworks) {
          const installed = join(tools, 'node_modules', name);
          assert.ok(existsSync(installed), `${installed} is missing: run \`cargo xtask setup\``);
          mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
          symlinkSync(installed, join(dir, 'node_modules', name), 'dir');
        }
      } else {
        symlinkSync(pkg, join(dir, 'node_modules', 'tokenkeeper'), 'dir');
      }
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
      writeFileSync(join(dir, `consumer.${ext}`), source);
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
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [`consumer.${ext}`] }));
      let out;
      try {
        out = execFileSync(tsc, ['-p', dir, '--listFiles'], { encoding: 'utf8' });
      } catch (e) {
        assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
      }
      const files = out.split('\n').map((f) => f.trim());
      const at = frameworks ? '/node_modules/tokenkeeper/' : '/pkg/';
      assert.ok(
        files.some((f) => f.endsWith(`${at}${entry}`)),
        `expected ${at}${entry} among:\n${files.filter((f) => f.includes(at)).join('\n')}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
