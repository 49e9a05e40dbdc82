// Helpers of the toolchain matrix (matrix.mjs) and the framework examples
// (frameworks.mjs): child processes with timeouts, static file servers on
// 127.0.0.1, output listings, the check of what an app reported, and the
// packed package installed into a run directory.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, relative, sep } from 'node:path';

/** The last `n` non-empty lines of `text`, indented for a row's detail. */
export function tail(text, n = 15) {
  const lines = String(text)
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines
    .slice(-n)
    .map((l) => `      ${l}`)
    .join('\n');
}

/**
 * Runs `command args` in its own process group and resolves to `{ stdout,
 * stderr, ms }` when it exits 0; rejects with the tail of its output when it
 * fails or outlives `timeoutMs` (then the whole group is killed), the whole
 * output in the error's `output`.
 */
export function run(command, args, { cwd, env, timeoutMs = 120_000 } = {}) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${describe(command, args)} took over ${timeoutMs / 1000} s:\n${tail(stdout + stderr)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${describe(command, args)}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, stderr, ms });
      else {
        const e = new Error(`${describe(command, args)} exited with ${signal ?? code}:\n${tail(stdout + stderr)}`);
        e.output = stdout + stderr;
        reject(e);
      }
    });
  });
}

/**
 * Starts a long-running `command args` in its own process group; returns
 * `{ output(), exited, stop() }`. `stop()` ends the whole group (a child
 * such as workerd included) and resolves once the leader has exited.
 */
export function start(command, args, { cwd, env } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? code));
    child.on('error', (e) => {
      text += `cannot start ${describe(command, args)}: ${e.message}\n`;
      resolve('error');
    });
  });
  return {
    output: () => text,
    exited,
    stop: async () => {
      killGroup(child);
      const done = await Promise.race([exited, sleep(5000).then(() => null)]);
      if (done === null) killGroup(child, 'SIGKILL');
      await exited;
    },
  };
}

function killGroup(child, signal = 'SIGTERM') {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function describe(command, args) {
  return `\`${[command, ...args].join(' ')}\``;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every file under `dir` (recursively), as `{ path, size }` with paths relative to `dir`. */
export async function files(dir) {
  const out = [];
  const walk = async (d) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.push({ path: relative(dir, p), size: (await stat(p)).size });
    }
  };
  await walk(dir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** `12.3 kB` (decimal kilobytes, as the bundlers print them). */
export function kb(bytes) {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** `index-abc.js 18.7 kB, tokenkeeper_bg-def.wasm 325.7 kB` for the .js and .wasm files among `list`. */
export function sizes(list) {
  return list
    .filter((f) => /\.(m?js|wasm)$/.test(f.path))
    .map((f) => `${f.path} ${kb(f.size)}`)
    .join(', ');
}

/** `1.2 s` */
export function secs(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.map': 'application/json',
};

/**
 * A static file server for `dir` on 127.0.0.1 (any free port): `{ origin,
 * requests, close() }`. `requests` lists `"<status> <path>"` of every
 * request, for failure messages. The directory may be filled after the
 * server started.
 */
export async function serve(dir) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = normalize(join(dir, path));
    const answer = (status) => requests.push(`${status} ${path}`);
    if (file !== dir && !file.startsWith(dir + sep)) {
      answer(403);
      res.writeHead(403).end();
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      await stat(file);
    } catch {
      answer(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    answer(200);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A free TCP port on 127.0.0.1 (for tools that want a port number up front). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Checks what `exercise()` (apps/shared/exercise.js) reported and returns
 * its one-line summary; throws when the app failed.
 */
export function checkExercise(result) {
  if (result === null || typeof result !== 'object') throw new Error(`the app reported ${JSON.stringify(result)}`);
  if (result.error) throw new Error(`the app failed: ${result.error}`);
  const { before, status, token, api, version } = result;
  const summary = `login ${before} → ${status}, token ${token} chars, GET /Navigation/Realms ${api}, version ${version}`;
  if (before !== 'loggedOut' || status !== 'active' || !(token > 0) || api !== 200) {
    throw new Error(`unexpected result: ${summary}`);
  }
  return summary;
}

/**
 * Throws unless `tools` holds what tests/toolchains/package-lock.json pins
 * (what `cargo xtask setup` installs there).
 */
export async function checkTools(here, tools) {
  const wanted = await readFile(join(here, 'package-lock.json'), 'utf8');
  const installed = await readFile(join(tools, 'package-lock.json'), 'utf8').catch(() => null);
  if (installed !== wanted || !existsSync(join(tools, 'node_modules', '.package-lock.json'))) {
    throw new Error(`${tools} does not hold the tools of tests/toolchains/package-lock.json: run \`cargo xtask setup\``);
  }
}

/**
 * Packs the package in `source` with `npm pack` into `dir` and installs the
 * tarball there with npm, as an app installs a dependency (offline: it has
 * none of its own); resolves to `{ name, size, version, files }`.
 */
export async function packAndInstall(source, dir) {
  if (!existsSync(join(source, 'package.json'))) throw new Error(`${source} holds no package: run \`cargo xtask build\``);
  const packed = await run('npm', ['pack', source, '--json', '--ignore-scripts', '--pack-destination', dir], {
    timeoutMs: 60_000,
  });
  const [info] = JSON.parse(packed.stdout);
  const manifest = { name: 'tokenkeeper-run', private: true, type: 'module', dependencies: { tokenkeeper: `file:./${info.filename}` } };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeoutMs: 60_000 });
  const installed = JSON.parse(await readFile(join(dir, 'node_modules', 'tokenkeeper', 'package.json'), 'utf8'));
  if (installed.version !== info.version) throw new Error(`installed tokenkeeper ${installed.version}, packed ${info.version}`);
  return { name: info.filename, size: info.size, version: info.version, files: info.files.map((f) => f.path) };
}
