// A page built by Vite with its defaults: `tokenkeeper` (the `browser`
// entry, top-level await; its .wasm emitted as an asset) on the page, then
// the same in a dedicated Worker and a Service Worker (workers.js).
import { TokenKeeper, version } from 'tokenkeeper';
import { exercise } from '../shared/exercise.js';
import { devserver, publish } from '../shared/page.js';
import { inWorkers } from './workers.js';

publish(
  exercise(TokenKeeper, devserver(), version).then(async (page) => ({ page, ...(await inWorkers()) })),
);
