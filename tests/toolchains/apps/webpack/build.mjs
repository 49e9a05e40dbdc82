// Runs webpack's Node API over webpack.config.mjs (what the webpack CLI
// does, without its extra dependencies). Prints one JSON line per build:
// its name, target, emitted assets with sizes, and which files of the
// tokenkeeper package it bundled.
import webpack from 'webpack';
import configs from './webpack.config.mjs';

const stats = await new Promise((resolve, reject) =>
  webpack(configs, (err, result) => (err ? reject(err) : resolve(result))),
);
for (const child of stats.stats) {
  const { name, options } = child.compilation;
  const info = child.toJson({ all: false, modules: true, nestedModules: true, errors: true, warnings: true });
  for (const e of info.errors) console.error(`${name}: error: ${e.message}`);
  for (const w of info.warnings) console.error(`${name}: warning: ${w.message}`);
  const modules = (info.modules ?? []).flatMap((m) => [m, ...(m.modules ?? [])]).map((m) => m.name ?? '');
  const tokenkeeper = [
    ...new Set(modules.map((n) => n.match(/node_modules\/tokenkeeper\/(.+)$/)?.[1]).filter(Boolean)),
  ].sort();
  const assets = child.compilation
    .getAssets()
    .map((a) => ({ name: a.name, size: a.source.size() }))
    .sort((a, b) => a.name.localeCompare(b.name));
  console.log(JSON.stringify({ name, target: options.target, assets, tokenkeeper }));
}
if (stats.hasErrors()) process.exit(1);
