// `tokenkeeper/init`: the TokenKeeper API without top-level await; the
// WebAssembly module is instantiated by `initialize()`.
export * from './keeper.js';

/**
 * Where `initialize` loads the WebAssembly module from: a URL or string to
 * fetch, a `Response` (or a promise of one), the module's bytes, or a
 * compiled `WebAssembly.Module`.
 */
export type WasmSource =
  | string
  | URL
  | Request
  | Response
  | PromiseLike<Response>
  | BufferSource
  | WebAssembly.Module;

/**
 * Fetches and instantiates the WebAssembly module, once: later calls return
 * the same promise and ignore their argument; after a failure the next call
 * tries again. By default the module is `tokenkeeper_bg.wasm` next to the
 * entry (`new URL('./tokenkeeper_bg.wasm', import.meta.url)`, which bundlers
 * emit as an asset). Until it has resolved, `new TokenKeeper()` and
 * `version()` throw a `TokenKeeperError` with code `AUTH_NOT_INITIALIZED`;
 * `TokenKeeper.discover()` awaits it by itself. In Node, Deno and workerd
 * the module is ready on import and this resolves at once.
 */
export function initialize(source?: WasmSource): Promise<void>;
