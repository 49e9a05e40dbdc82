// tokenkeeper: the browser entry (its top-level await fetches and compiles
// the .wasm), one client for an oauth2 profile on a loopback URL where
// nothing listens; nothing is fetched from it.
import { TokenKeeper } from 'tokenkeeper';

const options = () => ({
  profile: { kind: 'oauth2', tokenUrl: 'http://127.0.0.1:9/oauth/token', clientId: 'spa' },
  autoRefresh: false,
});
const before = performance.now();
const keeper = new TokenKeeper(options());
const ready = performance.now();
const second = new TokenKeeper(options());
const again = performance.now();
const resources = performance.getEntriesByType('resource');
const wasm = resources.find((e) => e.name.endsWith('.wasm'));
const js = resources.find((e) => /\/tokenkeeper[^/]*\.js$/.test(e.name));
window.__bench = {
  ready,
  firstConstructMs: ready - before,
  secondConstructMs: again - ready,
  jsEnd: js?.responseEnd,
  wasmStart: wasm?.startTime,
  wasmEnd: wasm?.responseEnd,
  // 2 would mean a preload the instantiateStreaming fetch did not use.
  wasmRequests: resources.filter((e) => e.name.endsWith('.wasm')).length,
};
window.__keep = [keeper, second];
