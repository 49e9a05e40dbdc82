// The workers of the Vite apps, bundled by Vite with its defaults: a
// dedicated Worker (`new Worker(new URL(…, import.meta.url))`), a
// SharedWorker (`new SharedWorker(new URL(…, import.meta.url))`) and a
// Service Worker (the `?worker&url` import gives the URL of the bundled
// script). Vite bundles workers as classic scripts (`worker.format: 'iife'`),
// which cannot hold top-level await: all three import `tokenkeeper/init`
// (worker.js).
import serviceWorkerUrl from './worker.js?worker&url';
import { inServiceWorker, inSharedWorker, inWorker } from '../shared/page.js';

/** `{ worker, sharedWorker, serviceWorker }`: what each answered. */
export async function inWorkers() {
  const worker = await inWorker(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
  const sharedWorker = await inSharedWorker(
    new SharedWorker(new URL('./worker.js', import.meta.url), { type: 'module' }),
  );
  const serviceWorker = await inServiceWorker(serviceWorkerUrl);
  return { worker, sharedWorker, serviceWorker };
}
