// One cold-start sample, in a fresh Node process: prints the ms spent in
// `await import(target)` plus the first construction (Node-resolved
// packages) or the import alone (browser bundles). Shims and Node's lazily
// loaded fetch/Response (undici) are set up before timing starts, as a
// browser has them built in.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { installBrowserShims } from './lib.mjs';

const [kind, name, target] = process.argv.slice(2);
installBrowserShims();
const nodeFetch = globalThis.fetch;
void globalThis.Response;
void globalThis.Request;
// A browser bundle's `fetch(new URL('./x.wasm', import.meta.url))` reads the file.
globalThis.fetch = async (input, init) => {
  const url = new URL(String(input?.url ?? input));
  if (url.protocol !== 'file:') return nodeFetch(input, init);
  return new Response(await readFile(url), { headers: { 'content-type': 'application/wasm' } });
};

const construct = {
  tokenkeeper: (m) =>
    new m.TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: 'https://idp.example.com/oauth/token', clientId: 'spa' }, autoRefresh: false }),
  'keycloak-js': (m) => new m.default({ url: 'https://idp.example.com', realm: 'app', clientId: 'spa' }),
  'oidc-client-ts': (m) =>
    new m.UserManager({ authority: 'https://idp.example.com', client_id: 'spa', redirect_uri: 'https://app.example.com/cb' }),
  '@auth0/auth0-spa-js': (m) => new (m.Auth0Client ?? m.default.Auth0Client)({ domain: 'tenant.example.com', clientId: 'spa' }),
};

const spec = kind === 'package' ? target : pathToFileURL(target).href;
const t0 = process.hrtime.bigint();
const m = await import(spec);
const made = kind === 'package' && construct[name] ? construct[name](m) : null;
const t1 = process.hrtime.bigint();
made?.close?.();
process.stdout.write(`${Number(t1 - t0) / 1e6}\n`);
process.exit(0);
