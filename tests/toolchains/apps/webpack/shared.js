// A SharedWorker (`target: 'webworker'`), started by host.js. Its `connect`
// listener must be in place when the script first runs, which an
// asynchronous module start (top-level await) would delay: like the Service
// Worker, it imports `tokenkeeper/init` and instantiates the module on the
// first message (at once on later ones).
import { TokenKeeper, initialize, version } from 'tokenkeeper/init';
import { exercise } from '../shared/exercise.js';
import { answer } from '../shared/worker.js';

answer(async (devserver) => {
  await initialize();
  return exercise(TokenKeeper, devserver, version);
});
