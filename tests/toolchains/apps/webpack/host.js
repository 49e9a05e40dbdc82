// The page of workers.html (`target: 'web'`, no tokenkeeper of its own):
// starts the dedicated Worker and registers the Service Worker, both built
// with `target: 'webworker'`, and publishes what they answer.
import { inServiceWorker, inWorker, publish } from '../shared/page.js';

publish(
  (async () => ({
    worker: await inWorker(new Worker('./worker.js')),
    serviceWorker: await inServiceWorker('./sw.js'),
  }))(),
);
