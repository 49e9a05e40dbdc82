// Starts the devserver binary on 127.0.0.1:0 for one test file and talks to
// its admin API. The binary comes from DEVSERVER_BIN (set by `cargo xtask
// test`), else from the cargo target dir.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function binary() {
  if (process.env.DEVSERVER_BIN) return process.env.DEVSERVER_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const bin = join(target, 'debug', 'devserver');
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`cargo build -p devserver\``);
  return bin;
}

/** A running devserver: `url`, admin helpers, `stop()`. */
export async function startDevserver(args = []) {
  const child = spawn(binary(), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`devserver exited with ${code}`)));
    lines.on('line', (line) => {
      const m = line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
  });
  const admin = async (method, path, body) => {
    const res = await fetch(`${url}/admin/${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  return {
    url,
    stats: () => admin('GET', 'stats'),
    fault: (fault) => admin('POST', 'faults', fault),
    revoke: (what) => admin('POST', 'revoke', what),
    config: (patch) => admin('PATCH', 'config', patch),
    reset: () => admin('POST', 'reset', {}),
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', resolve);
        child.kill();
      }),
  };
}

/** The package entry Node resolves (pkg/, `node` condition). */
export async function loadPackage() {
  return import(new URL('../../../pkg/node.js', import.meta.url));
}

/** Resolves with the next `type` event of `target`, or rejects after `ms`. */
/** A storage adapter over a `Map`, which the test can inspect (`.map`). */
export function memoryAdapter() {
  const map = new Map();
  return {
    map,
    get: async (k) => map.get(k) ?? null,
    set: async (k, v) => void map.set(k, v),
    delete: async (k) => void map.delete(k),
  };
}

export function nextEvent(target, type, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${type}" event within ${ms} ms`)), ms);
    target.addEventListener(
      type,
      (e) => {
        clearTimeout(timer);
        resolve(e);
      },
      { once: true },
    );
  });
}

/** The seeded demo credentials of the devserver. */
export const seed = {
  user: { username: 'demo', password: 'demo-password' },
  apiKey: 'lgdx-demo-api-key',
  kcClient: 'tokenkeeper-demo',
  imClient: { id: 'Job@identitymanager.demo', secret: 'im-demo-secret', scope: 'usercube_api' },
  tncoClient: { id: 'LmClient', secret: 'tnco-demo-secret' },
};

/** The four seed profiles against a devserver at `url`. */
export function profiles(url) {
  return {
    lgdx: {
      kind: 'json',
      loginUrl: `${url}/Identity/Auth/Login`,
      refreshUrl: `${url}/Identity/Auth/Refresh`,
      headers: { 'X-API-Key': seed.apiKey },
    },
    keycloak: {
      kind: 'oauth2',
      tokenUrl: `${url}/realms/tokenkeeper/protocol/openid-connect/token`,
      revocationUrl: `${url}/realms/tokenkeeper/protocol/openid-connect/revoke`,
      clientId: seed.kcClient,
      clientAuth: 'none',
    },
    identityManager: {
      kind: 'oauth2',
      tokenUrl: `${url}/im/connect/token`,
      clientId: seed.imClient.id,
      clientSecret: seed.imClient.secret,
      clientAuth: 'post',
      scope: seed.imClient.scope,
    },
    tnco: {
      kind: 'oauth2',
      tokenUrl: `${url}/tnco/oauth/token`,
      clientId: seed.tncoClient.id,
      clientSecret: seed.tncoClient.secret,
      clientAuth: 'basic',
    },
  };
}
