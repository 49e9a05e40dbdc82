// The Miniflare options of the TokenHolder checks in
// tests/edge/workerd.test.mjs: the probe Worker (probe.js, host
// `probe.tokenkeeper.test`, and any request that matches no route), a Worker
// that forwards requests to the holder (forward.js, host
// `forward.tokenkeeper.test`), and the holders themselves (ProbeTokens and
// WrongPasswordTokens, exported by probe.js and hosted by a third Worker,
// "tokens", with in-memory storage). Everything on 127.0.0.1, nothing on disk.

export const HOSTS = { probe: 'probe.tokenkeeper.test', forward: 'forward.tokenkeeper.test' };

/** `modules`: `{ probe, forward }`, each a Miniflare modules list (bundled probe.js, forward.js). */
export function probeOptions({ modules, devserverUrl, compatibilityDate }) {
  const holders = {
    PROBE_TOKENS: { className: 'ProbeTokens', scriptName: 'tokens' },
    WRONG_PASSWORD_TOKENS: { className: 'WrongPasswordTokens', scriptName: 'tokens' },
  };
  const worker = (name, list) => ({
    name,
    modules: list,
    modulesRoot: modulesRoot(list),
    compatibilityDate,
    // Outbound fetch: loopback only.
    outboundService: { network: { allow: ['local'] } },
  });
  return {
    host: '127.0.0.1',
    port: 0,
    kvPersist: false,
    durableObjectsPersist: false,
    cachePersist: false,
    cf: false,
    workers: [
      {
        ...worker('probe', modules.probe),
        routes: [`${HOSTS.probe}/*`],
        durableObjects: holders,
        // For its own keeper (the DPoP route).
        bindings: { DEVSERVER_URL: devserverUrl },
      },
      { ...worker('forward', modules.forward), routes: [`${HOSTS.forward}/*`], durableObjects: holders },
      {
        ...worker('tokens', modules.probe),
        bindings: { DEVSERVER_URL: devserverUrl },
        unsafeEphemeralDurableObjects: true,
      },
    ],
  };
}

function modulesRoot(list) {
  return list[0].path.slice(0, list[0].path.lastIndexOf('/'));
}
