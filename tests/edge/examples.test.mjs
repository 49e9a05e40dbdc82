// The Node and Deno examples (examples/node/, examples/deno/) against the
// devserver on 127.0.0.1: each logs in with client credentials and calls the
// TNCO-style API three times at once. Node imports `tokenkeeper` as an
// installed dependency (the `node` export condition); Deno through the
// import map in examples/deno/deno.json. Deno comes from DENO_BIN (set by
// `cargo xtask test`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDevserver } from '../js/support/devserver.mjs';
import { root, stage } from './support/stage.mjs';

const run = promisify(execFile);
const denoBin = process.env.DENO_BIN ?? join(root, 'node_modules/.bin/deno');

let devserver;
const staged = [];

before(async () => {
  devserver = await startDevserver();
});

after(async () => {
  await devserver?.stop();
  for (const s of staged) s.remove();
});

/** Runs `command args` in the staged example `name`; resolves to its stdout. */
async function runExample(name, command, args) {
  const s = stage(name);
  staged.push(s);
  await devserver.reset();
  const { stdout, stderr } = await run(command, args, {
    cwd: s.example,
    env: { ...process.env, DEVSERVER_URL: devserver.url, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    timeout: 60_000,
  });
  if (stderr.trim()) console.log(`# stderr: ${stderr.trim()}`);
  console.log(`# ${stdout.trim()}`);
  return stdout;
}

test('the Node example logs in with client credentials and calls the API (one token request)', async () => {
  const out = await runExample('node', process.execPath, ['main.mjs']);
  assert.match(out, /^node v\d+\.\d+\.\d+: tnco api 200 200 200 \(2 resources\)$/m);
  const stats = await devserver.stats();
  assert.equal(stats.client_credentials.tnco, 1);
  assert.equal(stats.protected_calls.ok, 3);
});

test('the Deno example logs in with client credentials and calls the API (one token request)', async () => {
  const out = await runExample('deno', denoBin, [
    'run',
    '--no-prompt',
    '--allow-net=127.0.0.1',
    '--allow-read',
    '--allow-env',
    'main.ts',
  ]);
  assert.match(out, /^deno \d+\.\d+\.\d+: tnco api 200 200 200 \(2 resources\)$/m);
  const stats = await devserver.stats();
  assert.equal(stats.client_credentials.tnco, 1);
  assert.equal(stats.protected_calls.ok, 3);
});
