// The worker side of the browser apps: answers the page's message (see
// page.js) with the result of `run(devserver)`, over the message's port (a
// Service Worker) or back to the page (a dedicated Worker). A dedicated
// Worker first tells the page that it listens: a bundler may run the
// module's body after an asynchronous start (webpack's top-level await), and
// a message that arrives before the listener is lost. A Service Worker
// keeps running until the answer is sent (`waitUntil`).

/** Answers every message with `await run(devserver)`, or `{ error }`. */
export function answer(run) {
  self.addEventListener('message', (event) => {
    const reply = event.ports?.[0] ?? self;
    const done = Promise.resolve()
      .then(() => run(event.data.devserver))
      .catch((e) => ({ error: String(e?.stack ?? e) }))
      .then((result) => reply.postMessage(result));
    event.waitUntil?.(done);
  });
  if (!('registration' in self)) self.postMessage({ listening: true });
}
