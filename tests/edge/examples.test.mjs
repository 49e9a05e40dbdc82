// The Node and Deno examples (examples/node/, examples/deno/) against the
// devserver on 127.0.0.1: each logs in with client credentials and calls the
// TNCO-style API three times at once. Node imports `tokenkeeper` as an
// installed dependency (the `node` export condition); Deno through the
// import map in examples/deno/deno.json. Deno comes from DENO_BIN (set by
// `cargo xtask test`). The device-cli example (examples/device-cli/) signs
// in with the device flow against the devserver's Keycloak realm, the user
// approving or denying through the devserver's `POST /admin/device`, or is
// cancelled with Ctrl-C (SIGINT).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
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

// ---- examples/device-cli: the device flow from a terminal -----------------

/**
 * Starts the staged device-cli example against the devserver's Keycloak
 * realm. `output(re)` resolves with the first match of `re` in what it
 * printed so far or prints later; `exit` with `{ code, signal, stdout,
 * stderr, at }` once it ended.
 */
async function startDeviceCli() {
  const s = stage('device-cli');
  staged.push(s);
  await devserver.reset();
  const child = spawn(process.execPath, [
    'login.mjs', '--issuer', `${devserver.url}/realms/tokenkeeper`, '--client-id', 'tokenkeeper-demo',
  ], { cwd: s.example, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiting = [];
  const check = () => {
    for (const w of waiting.splice(0)) {
      const m = stdout.match(w.re);
      if (m) w.resolve(m);
      else waiting.push(w);
    }
  };
  child.stdout.on('data', (d) => {
    stdout += d;
    check();
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`exited (${code}) before printing ${w.re}: ${stdout}${stderr}`));
      resolve({ code, signal, stdout, stderr, at: Date.now() });
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  exit.then(() => clearTimeout(timer));
  const output = (re) => new Promise((resolve, reject) => {
    waiting.push({ re, resolve, reject });
    check();
  });
  return { child, output, exit };
}

/** Decides on the device login with `user_code`, as its user would. */
async function decide(userCode, action, username) {
  const res = await fetch(`${devserver.url}/admin/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_code: userCode, action, ...(username ? { username } : {}) }),
  });
  assert.equal(res.status, 200, `admin/device ${action}`);
}

/** The device polls the devserver has seen. */
const polls = async () => (await devserver.stats()).device.polls;

test('the device-cli example prints the code, signs in once the user approves, then prints the token\'s claims and userinfo', async (t) => {
  await devserver.config({ device_poll_interval: 1 });
  t.after(() => devserver.config({ device_poll_interval: 5 }));
  const cli = await startDeviceCli();
  const [, uri] = await cli.output(/^To sign in, open (\S+)$/m);
  const [, userCode] = await cli.output(/^and enter the code: ([A-Z]{4}-[A-Z]{4})$/m);
  const [, complete] = await cli.output(/^\(or open (\S+)\)$/m);
  assert.equal(uri, `${devserver.url}/realms/tokenkeeper/device`);
  assert.equal(complete, `${uri}?user_code=${userCode}`);
  await cli.output(/Waiting… \(Ctrl-C to cancel\)$/m);
  // The CLI polls while the user has not answered yet.
  for (let i = 0; (await polls()).pending < 1; i += 1) {
    assert.ok(i < 100, 'a pending poll');
    await new Promise((r) => setTimeout(r, 50));
  }
  await decide(userCode, 'approve', 'alice');
  const { code, stdout, stderr } = await cli.exit;
  console.log(stdout.trim());
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.match(stdout, /^Signed in \(scope: [^)]*openid[^)]*\); the access token expires at /m);
  assert.match(stdout, /^Access token claims \(unverified\):$/m);
  assert.match(stdout, /^ {2}preferred_username: "alice"$/m);
  assert.match(stdout, /^ {2}azp: "tokenkeeper-demo"$/m);
  const userinfo = stdout.match(/^userinfo 200: (.+)$/m)?.[1];
  assert.ok(userinfo, 'userinfo answered 200');
  assert.equal(JSON.parse(userinfo).preferred_username, 'alice');
  const stats = await devserver.stats();
  assert.equal(stats.device.authorizations, 1);
  assert.equal(stats.device.polls.issued, 1);
  assert.equal(stats.device.polls.slow_down, 0);
  assert.equal(stats.protected_calls.ok, 1, 'one userinfo call with the token');
});

test('the device-cli example: the user denies → "Sign-in failed: … access_denied", exit 1', async (t) => {
  await devserver.config({ device_poll_interval: 1 });
  t.after(() => devserver.config({ device_poll_interval: 5 }));
  const cli = await startDeviceCli();
  const [, userCode] = await cli.output(/^and enter the code: ([A-Z]{4}-[A-Z]{4})$/m);
  await decide(userCode, 'deny');
  const { code, stdout, stderr } = await cli.exit;
  assert.equal(code, 1);
  assert.match(stderr, /^Sign-in failed: \S+ access_denied The end user denied the authorization request$/m);
  assert.doesNotMatch(stdout, /Signed in/);
  assert.equal((await polls()).denied, 1);
});

test('the device-cli example: Ctrl-C cancels the wait: "Cancelled.", exit 130 within an interval, no poll after it', async (t) => {
  await devserver.config({ device_poll_interval: 1 });
  t.after(() => devserver.config({ device_poll_interval: 5 }));
  const cli = await startDeviceCli();
  const [, userCode] = await cli.output(/^and enter the code: ([A-Z]{4}-[A-Z]{4})$/m);
  for (let i = 0; (await polls()).total < 1; i += 1) {
    assert.ok(i < 100, 'a first poll');
    await new Promise((r) => setTimeout(r, 50));
  }
  const sent = Date.now();
  cli.child.kill('SIGINT');
  const { code, signal, stdout, stderr, at } = await cli.exit;
  assert.equal(signal, null, 'the CLI handled SIGINT itself');
  assert.equal(code, 130);
  assert.equal(stderr, 'Cancelled.\n');
  assert.doesNotMatch(stdout, /Signed in/);
  assert.ok(at - sent < 3000, `exited ${at - sent} ms after Ctrl-C`);
  const after = (await polls()).total;
  // Approved anyway: nobody polls any more.
  await decide(userCode, 'approve');
  await new Promise((r) => setTimeout(r, 2000));
  const now = await polls();
  assert.equal(now.total, after, 'no poll after the CLI exited');
  assert.equal(now.issued, 0);
});
