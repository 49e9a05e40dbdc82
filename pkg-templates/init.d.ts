/**
 * The TokenKeeper API without top-level await: the WebAssembly module is
 * instantiated by {@link initialize}, which `new TokenKeeper()` and
 * `version()` need to have resolved. Everything else is as in
 * `tokenkeeper`. In Node, Deno and workerd this is `tokenkeeper`, ready on
 * import.
 *
 * @module tokenkeeper/init
 */
export * from './keeper.js';

/**
 * `WebAssembly.Module` where the project's types declare it (the DOM and
 * webworker libraries, `@cloudflare/workers-types`); named without
 * referring to it, so that a Node project without the DOM library (where
 * `@types/node` 20 has no `WebAssembly`) type-checks too.
 */
export type CompiledWasmModule = typeof globalThis extends {
  /** The global `WebAssembly` namespace. */
  WebAssembly: {
    /** Its `Module` class, whose instances this type names. */
    Module: abstract new (...args: any[]) => infer M;
  };
}
  ? M
  : never;

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
  | ArrayBuffer
  | ArrayBufferView
  | CompiledWasmModule;

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
