// The page side of the browser apps: hands an app's result to the matrix
// (`window.__matrix`, read by the Chromium driver once it is set) and asks
// the app's dedicated Worker, SharedWorker and Service Worker for theirs.

/** Publishes the result of `promise` (or its error) to the page. */
export function publish(promise) {
  Promise.resolve(promise).then(
    (result) => {
      window.__matrix = result;
    },
    (e) => {
      window.__matrix = { error: String(e?.stack ?? e) };
    },
  );
}

/** The devserver URL the matrix put in the page's query. */
export function devserver() {
  return new URLSearchParams(self.location.search).get('devserver');
}

/**
 * Runs the exercise in a dedicated Worker (see worker.js): once the worker
 * says it listens, sends it the devserver URL; resolves to what it answers,
 * or to `{ error }` when its script fails.
 */
export function inWorker(worker) {
  return new Promise((resolve) => {
    worker.onmessage = (e) => {
      if (e.data?.listening) worker.postMessage({ devserver: devserver() });
      else resolve(e.data);
    };
    worker.onerror = (e) => resolve({ error: `dedicated worker: ${e.message ?? 'the script failed to load'}` });
  }).finally(() => worker.terminate());
}

/**
 * Runs the exercise in a SharedWorker (see worker.js), over its port like
 * `inWorker`; resolves to what it answers, or to `{ error }` when its
 * script fails.
 */
export function inSharedWorker(worker) {
  return new Promise((resolve) => {
    worker.port.onmessage = (e) => {
      if (e.data?.listening) worker.port.postMessage({ devserver: devserver() });
      else resolve(e.data);
    };
    worker.onerror = (e) => resolve({ error: `shared worker: ${e.message ?? 'the script failed to load'}` });
  }).finally(() => worker.port.close());
}

/**
 * Registers the Service Worker at `url` (a classic script, scope: its
 * directory), waits until it is activated, and resolves to what it answers
 * (see worker.js); `{ error }` when it fails to install.
 */
export async function inServiceWorker(url) {
  try {
    const registration = await navigator.serviceWorker.register(url);
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    while (worker.state !== 'activated') {
      if (worker.state === 'redundant') return { error: 'service worker: installation failed' };
      await new Promise((resolve) => worker.addEventListener('statechange', resolve, { once: true }));
    }
    const channel = new MessageChannel();
    const answer = new Promise((resolve) => {
      channel.port1.onmessage = (e) => resolve(e.data);
    });
    worker.postMessage({ devserver: devserver() }, [channel.port2]);
    return await answer;
  } catch (e) {
    return { error: `service worker: ${e?.stack ?? e}` };
  }
}
