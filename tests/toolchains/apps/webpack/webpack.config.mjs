// webpack 5 with its defaults apart from `target`, five builds into dist/:
// the page and the host page of the workers (`target: 'web'`), a dedicated
// Worker, a SharedWorker and a Service Worker (`target: 'webworker'`). The package's
// `new URL('./tokenkeeper_bg.wasm', import.meta.url)` becomes an emitted
// asset; top-level await is on by default since 5.83.
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));

const build = (name, target) => ({
  name,
  target,
  mode: 'production',
  entry: `./${name}.js`,
  output: { path: dist, filename: `${name}.js`, chunkFilename: `${name}-[contenthash].js` },
});

export default [build('page', 'web'), build('host', 'web'), build('worker', 'webworker'), build('shared', 'webworker'), build('sw', 'webworker')];
