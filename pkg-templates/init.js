// Entry without top-level await (`tokenkeeper/init`): for service workers,
// which may not use it, and for bundlers whose build target lacks it (Vite
// 6 and older by default). Importing it fetches nothing; `initialize()`
// fetches and instantiates the WebAssembly module, once however often it is
// called. Until it has resolved, `new TokenKeeper()` and `version()` throw
// a TokenKeeperError with code `AUTH_NOT_INITIALIZED`, and
// `TokenKeeper.discover()` awaits it by itself. In Node, Deno and workerd
// the `tokenkeeper/init` conditions pick the usual entries, which are ready
// on import and whose `initialize()` resolves at once.
import init, { version as coreVersion } from './tokenkeeper.js';
import { TokenKeeper as Keeper, TokenKeeperError } from './keeper.js';
import { wasmInitError } from './csp.js';

export * from './keeper.js';

/** Whether the WebAssembly module is instantiated. */
let ready = false;
/** The instantiation in flight (or done); cleared when it fails, so a later call tries again. */
let loading = null;

/**
 * Fetches and instantiates the WebAssembly module, once: later calls return
 * the same promise (and ignore their argument), and a failed attempt is
 * tried again by the next call (a compile blocked by a Content Security
 * Policy rejects with `AUTH_WASM_BLOCKED`). `source` replaces the default,
 * `new URL('./tokenkeeper_bg.wasm', import.meta.url)` (the pattern
 * bundlers emit as an asset): a URL or string to fetch, a `Response` or a
 * promise of one, the bytes, or a compiled `WebAssembly.Module`.
 */
export function initialize(source) {
  if (ready) return Promise.resolve();
  loading ??= init({ module_or_path: source ?? new URL('./tokenkeeper_bg.wasm', import.meta.url) }).then(
    () => {
      ready = true;
    },
    (e) => {
      loading = null;
      // A compile that a Content Security Policy blocks: `AUTH_WASM_BLOCKED` (csp.js).
      throw wasmInitError(e);
    },
  );
  return loading;
}

/** Throws `AUTH_NOT_INITIALIZED` while the module is not instantiated. */
function requireReady(what) {
  if (!ready) {
    throw new TokenKeeperError(
      `${what} needs the WebAssembly module: await initialize() from 'tokenkeeper/init' first`,
      { code: 'AUTH_NOT_INITIALIZED' },
    );
  }
}

/** The package version; throws `AUTH_NOT_INITIALIZED` before `initialize()` resolved. */
export function version() {
  requireReady('version()');
  return coreVersion();
}

/**
 * The TokenKeeper class of the other entries, which throws
 * `AUTH_NOT_INITIALIZED` when built before `initialize()` resolved;
 * `TokenKeeper.discover()` awaits `initialize()` itself.
 */
export class TokenKeeper extends Keeper {
  constructor(options) {
    requireReady('new TokenKeeper()');
    super(options);
  }

  /** `initialize()`, then the discovery of the other entries. */
  static async discover(options) {
    await initialize();
    return super.discover(options);
  }
}
