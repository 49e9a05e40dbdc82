// Stages an example and the built package side by side in a temporary
// directory (`<tmp>/examples/<name>/…`, `<tmp>/pkg/…`), as they sit in the
// repository, so a test runs what it read at its start. The package comes
// from TOKENKEEPER_PKG, else pkg/. `<tmp>/node_modules/tokenkeeper` links to
// the staged package, so a bare `import 'tokenkeeper'` resolves through its
// `exports` as an installed dependency would.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Resolves to `{ dir, example, pkg, remove() }`. */
export function stage(example) {
  const source = process.env.TOKENKEEPER_PKG ?? join(root, 'pkg');
  if (!existsSync(join(source, 'package.json'))) {
    throw new Error(`${source} has no package: run \`cargo xtask build\``);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tokenkeeper-edge-'));
  const pkg = join(dir, 'pkg');
  cpSync(source, pkg, { recursive: true });
  const target = join(dir, 'examples', example);
  cpSync(join(root, 'examples', example), target, {
    recursive: true,
    filter: (p) => !p.includes('node_modules'),
  });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(pkg, join(dir, 'node_modules', 'tokenkeeper'), 'dir');
  return { dir, example: target, pkg, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
