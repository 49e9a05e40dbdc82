# The workerd configuration of the TokenHolder checks in
# tests/edge/workerd.test.mjs: the probe Worker ("probe"), a Worker that
# forwards requests to the holder ("forward"), and the holders themselves
# ("tokens", in-memory storage). Staged beside the package: `../pkg/`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "probe", worker = .probe),
    (name = "forward", worker = .forward),
    (name = "tokens", worker = .tokenHolders),
    (name = "internet", network = (allow = ["local"])),
  ],
  sockets = [
    (name = "probe", address = "127.0.0.1:8811", http = (), service = "probe"),
    (name = "forward", address = "127.0.0.1:8812", http = (), service = "forward"),
  ],
);

const modules :List(Workerd.Worker.Module) = [
  (name = "probe.js", esModule = embed "probe.js"),
  (name = "tokenkeeper", esModule = embed "../pkg/workerd.js"),
  (name = "tokenkeeper_bg.wasm", wasm = embed "../pkg/tokenkeeper_bg.wasm"),
];

const holderBindings :List(Workerd.Worker.Binding) = [
  (name = "PROBE_TOKENS", durableObjectNamespace = (className = "ProbeTokens", serviceName = "tokens")),
  (name = "WRONG_PASSWORD_TOKENS", durableObjectNamespace = (className = "WrongPasswordTokens", serviceName = "tokens")),
];

const probe :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-01-01",
  bindings = .holderBindings,
);

const forward :Workerd.Worker = (
  modules = [(name = "forward.js", esModule = embed "forward.js")],
  compatibilityDate = "2026-01-01",
  bindings = .holderBindings,
);

const tokenHolders :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-01-01",
  bindings = [(name = "DEVSERVER_URL", fromEnvironment = "DEVSERVER_URL")],
  durableObjectNamespaces = [
    (className = "ProbeTokens", uniqueKey = "tokenkeeper-probe-tokens"),
    (className = "WrongPasswordTokens", uniqueKey = "tokenkeeper-wrong-password-tokens"),
  ],
  durableObjectStorage = (inMemory = void),
);
