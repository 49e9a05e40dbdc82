// A dedicated or shared module Worker that builds a TokenKeeper from
// `{ options, credentials?, login }` and answers `{ ok, token?, code?,
// message?, warnings, userAgent }`. The package is imported dynamically so
// that the message (or connect) handler is in place before its top-level
// await runs.
const pkg = import('/pkg/index.js');

async function attempt({ options, credentials, login }) {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  const out = { warnings, userAgent: navigator.userAgent, document: typeof document };
  try {
    const { TokenKeeper } = await pkg;
    const keeper = new TokenKeeper(options);
    try {
      if (login) await keeper.login(credentials);
      return { ...out, ok: true, token: login ? (await keeper.accessToken()).length > 0 : undefined };
    } finally {
      keeper.close();
    }
  } catch (e) {
    return { ...out, ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) };
  } finally {
    console.warn = warn;
  }
}

if (typeof SharedWorkerGlobalScope === 'function' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => {
    const port = e.ports[0];
    port.onmessage = async (m) => port.postMessage(await attempt(m.data));
  };
} else {
  self.onmessage = async (m) => self.postMessage(await attempt(m.data));
}
