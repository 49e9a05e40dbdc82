// A Service Worker (`target: 'webworker'`), registered by host.js. Service
// workers must add their listeners while the script first runs, which an
// asynchronous module start (top-level await) would delay: it imports
// `tokenkeeper/init` and instantiates the module in `install`, and again
// (at once when done) per message, since the browser may have restarted it.
import { TokenKeeper, initialize, version } from 'tokenkeeper/init';
import { exercise } from '../shared/exercise.js';
import { answer } from '../shared/worker.js';

self.addEventListener('install', (event) => event.waitUntil(initialize()));

answer(async (devserver) => {
  await initialize();
  return exercise(TokenKeeper, devserver, version);
});
