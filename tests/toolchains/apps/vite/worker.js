// The dedicated Worker, the SharedWorker and the Service Worker of the Vite apps: the entry
// without top-level await, instantiated by `initialize()`. A Service Worker
// adds its listeners while the script first runs and instantiates the
// module in `install`, and again (at once when done) per message, since the
// browser may have restarted it since.
import { TokenKeeper, initialize, version } from 'tokenkeeper/init';
import { exercise } from '../shared/exercise.js';
import { answer } from '../shared/worker.js';

self.addEventListener('install', (event) => event.waitUntil(initialize()));

answer(async (devserver) => {
  await initialize();
  return exercise(TokenKeeper, devserver, version);
});
