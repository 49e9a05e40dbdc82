// Miniflare for the edge suite: the package from MINIFLARE (set by `cargo
// xtask test`; else beside WORKERD_BIN, else setup's edge tools), running
// the workerd binary of WORKERD_BIN (setup pins the one Miniflare depends
// on). `start()` records what workerd and Miniflare report, with workerd's
// --verbose on: only then does workerd under Miniflare log an uncaught
// exception (a thrown error, a rejected waitUntil promise).
import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync, realpathSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './stage.mjs';

const require = createRequire(import.meta.url);

/** The Miniflare package directory. */
function miniflareDir() {
  if (process.env.MINIFLARE) return process.env.MINIFLARE;
  if (process.env.WORKERD_BIN) return join(dirname(process.env.WORKERD_BIN), '../miniflare');
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  return join(target, 'xtask/edge-tools/node_modules/miniflare');
}

/** WORKERD_BIN as the native binary: npm's `workerd` launcher script is swapped for the binary it runs. */
function workerdBinary(bin) {
  const path = realpathSync(bin);
  const head = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  readSync(fd, head, 0, 2, 0);
  closeSync(fd);
  if (head.toString() !== '#!') return path;
  return require(dirname(dirname(path))).default;
}

/**
 * Loads Miniflare; resolves to `{ Miniflare, Log, LogLevel, version,
 * workerd }`, `workerd` naming the binary and its version.
 */
export async function loadMiniflare() {
  const dir = miniflareDir();
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const mod = await import(pathToFileURL(join(dir, pkg.main ?? 'dist/src/index.js')).href);
  const wanted = pkg.dependencies.workerd;
  let workerd = { path: 'the one Miniflare depends on', version: wanted, same: true };
  if (process.env.WORKERD_BIN) {
    const path = workerdBinary(process.env.WORKERD_BIN);
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    process.env.MINIFLARE_WORKERD_PATH = path;
    // `workerd 2026-04-26` is the binary of npm's workerd 1.20260426.x.
    workerd = { path, version, same: version.replace(/\D/g, '') === wanted.split('.')[1] };
  }
  return { Miniflare: mod.Miniflare, Log: mod.Log, LogLevel: mod.LogLevel, version: pkg.version, wanted, workerd };
}

/**
 * Starts `new Miniflare(options)` with workerd's output and Miniflare's
 * warnings and errors recorded (and echoed to stderr); resolves to `{ mf,
 * url, log(), stop() }`.
 */
export async function start({ Miniflare, Log, LogLevel }, options) {
  let text = '';
  const record = (chunk) => {
    text += chunk;
    process.stderr.write(chunk);
  };
  class RecordingLog extends Log {
    log(message) {
      record(`${message}\n`);
    }
  }
  const mf = new Miniflare({
    ...options,
    verbose: true,
    log: new RecordingLog(LogLevel.WARN),
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', record);
      stderr.setEncoding('utf8').on('data', record);
    },
  });
  const url = await mf.ready;
  return { mf, url, log: () => text, stop: () => mf.dispose() };
}
