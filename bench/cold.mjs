// (2) Cold start: import (+ first construction) in fresh Node processes,
// median of `samples` per target, targets interleaved, minus the median of
// an empty module.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { median } from './lib.mjs';

const here = new URL('.', import.meta.url).pathname;

export function cold({ pkg, bundleDir, samples }) {
  const targets = {
    empty: ['bundle', 'empty', join(here, 'cold-empty.mjs')],
    'package:tokenkeeper': ['package', 'tokenkeeper', join(pkg, 'node.js')],
    'bundle:tokenkeeper': ['bundle', 'tokenkeeper', join(bundleDir, 'tokenkeeper.mjs')],
  };
  for (const peer of ['oidc-client-ts', '@auth0/auth0-spa-js', 'keycloak-js', 'oauth4webapi']) {
    targets[`package:${peer}`] = ['package', peer, peer];
    targets[`bundle:${peer}`] = ['bundle', peer, join(bundleDir, `${peer.replace('@auth0/', '')}.mjs`)];
  }
  const ms = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const [key, [kind, name, target]] of Object.entries(targets)) {
      const out = execFileSync(process.execPath, [join(here, 'cold-child.mjs'), kind, name, target], {
        cwd: here,
        encoding: 'utf8',
      });
      ms[key].push(Number(out.trim()));
    }
  }
  const baseline = median(ms.empty);
  const result = { baselineMs: baseline, ms: {} };
  for (const key of Object.keys(targets)) {
    if (key !== 'empty') result.ms[key] = median(ms[key]) - baseline;
  }
  return result;
}
