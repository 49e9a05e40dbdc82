// Shared by the browser entries: what a failed instantiation of the
// WebAssembly module is reported as. A page whose Content Security Policy
// does not allow WebAssembly gets a compile error from the browser that
// names nothing of this package (Chromium: "Compiling or instantiating
// WebAssembly module violates the following Content Security policy
// directive because 'unsafe-eval' is not an allowed source…"); it becomes a
// TokenKeeperError with code `AUTH_WASM_BLOCKED` that says what to allow.
// Every other failure is passed on as it is.
import { TokenKeeperError } from './keeper.js';

/** The advice of `AUTH_WASM_BLOCKED`. */
const BLOCKED =
  "tokenkeeper's WebAssembly module was blocked by the page's Content Security Policy: allow it with " +
  "script-src 'self' 'wasm-unsafe-eval' ('unsafe-eval' is not needed), and list the identity provider and " +
  'the APIs in connect-src';

/** Browser wording of a compile refused by CSP: Chromium, Firefox ("blocked by CSP"), Safari. */
const CSP_WORDING = /content[ -]security[ -]policy|unsafe-eval|\bCSP\b/i;

/** Whether `e` is the error of a compile that the page's CSP refused. */
function blockedByCsp(e) {
  if (e === null || typeof e !== 'object') return false;
  const compile =
    (typeof WebAssembly === 'object' && e instanceof WebAssembly.CompileError) ||
    e instanceof EvalError ||
    e.name === 'CompileError' ||
    e.name === 'EvalError';
  return compile && CSP_WORDING.test(String(e.message));
}

/**
 * The error to throw for a failed instantiation `e`: `AUTH_WASM_BLOCKED`
 * (with `e` as its `cause`) when the page's CSP blocked the compile, else
 * `e` itself.
 */
export function wasmInitError(e) {
  return blockedByCsp(e) ? new TokenKeeperError(BLOCKED, { code: 'AUTH_WASM_BLOCKED', cause: e }) : e;
}
