// window.inWorker(kind, request): runs `request` (see worker.js) in a new
// "dedicated" or "shared" module Worker, resolves to its answer.
let n = 0;

window.inWorker = (kind, request) =>
  new Promise((resolve, reject) => {
    const url = new URL('./worker.js', location.href);
    n += 1;
    // A fresh name per run: a SharedWorker of the same URL and name is one instance.
    const worker =
      kind === 'shared'
        ? new SharedWorker(url, { type: 'module', name: `guard-${n}` })
        : new Worker(url, { type: 'module' });
    const port = kind === 'shared' ? worker.port : worker;
    const timer = setTimeout(() => reject(new Error(`no answer from the ${kind} worker`)), 15_000);
    worker.onerror = (e) => {
      clearTimeout(timer);
      reject(new Error(`${kind} worker failed: ${e.message ?? 'error'}`));
    };
    port.onmessage = (e) => {
      clearTimeout(timer);
      if (kind === 'shared') port.close();
      else worker.terminate();
      resolve(e.data);
    };
    port.postMessage(request);
  });

window.ready = true;
