// The page of workers.html (`target: 'web'`, no tokenkeeper of its own):
// starts the dedicated Worker and the SharedWorker and registers the
// Service Worker, all built with `target: 'webworker'`, and publishes what
// they answer.
import { inServiceWorker, inSharedWorker, inWorker, publish } from '../shared/page.js';

publish(
  (async () => ({
    worker: await inWorker(new Worker('./worker.js')),
    sharedWorker: await inSharedWorker(new SharedWorker('./shared.js')),
    serviceWorker: await inServiceWorker('./sw.js'),
  }))(),
);
