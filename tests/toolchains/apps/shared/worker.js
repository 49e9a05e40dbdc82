// The worker side of the browser apps: answers the page's message (see
// page.js) with the result of `run(devserver)`, over the message's port (a
// Service Worker), the port the page connected through (a SharedWorker) or
// back to the page (a dedicated Worker). A dedicated Worker and a
// SharedWorker first tell the page that they listen: a bundler may run the
// module's body after an asynchronous start (webpack's top-level await), and
// a message that arrives before the listener is lost. A Service Worker
// keeps running until the answer is sent (`waitUntil`).

/** Posts `await run(data.devserver)`, or `{ error }`, to `reply`; resolves when posted. */
function respond(run, data, reply) {
  return Promise.resolve()
    .then(() => run(data.devserver))
    .catch((e) => ({ error: String(e?.stack ?? e) }))
    .then((result) => reply.postMessage(result));
}

/** Answers every message with `await run(devserver)`, or `{ error }`. */
export function answer(run) {
  if ('onconnect' in self) {
    // A SharedWorker: each page talks to it through the port it connected with.
    self.addEventListener('connect', (event) => {
      const [port] = event.ports;
      port.onmessage = (message) => respond(run, message.data, port);
      port.postMessage({ listening: true });
    });
    return;
  }
  self.addEventListener('message', (event) => {
    const done = respond(run, event.data, event.ports?.[0] ?? self);
    event.waitUntil?.(done);
  });
  if (!('registration' in self)) self.postMessage({ listening: true });
}
