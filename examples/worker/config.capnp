# Runs the example Worker in local workerd: two instances of the same Worker
# ("a" on 127.0.0.1:8801, "b" on 127.0.0.1:8802; each its own isolate with
# its own keepers), the LgdxTokens Durable Object both of them use (service
# "tokens", in-memory storage), and a KV namespace both of them share
# (service "kv", see kv-service.js). Module paths are relative to this file;
# build the package first (`cargo xtask build`, into pkg/).
#
#   DEVSERVER_URL=http://127.0.0.1:8787 workerd serve examples/worker/config.capnp
#
# Ports can be changed with `--socket-addr a=127.0.0.1:PORT`. The Worker calls
# the Durable Object through RPC, which needs a compatibility date of
# 2024-04-03 or later.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "a", worker = .instance),
    (name = "b", worker = .instance),
    (name = "tokens", worker = .tokenHolders),
    (name = "kv", worker = .kvService),
    # Outbound fetch: loopback only (add "public" for a real identity provider).
    (name = "internet", network = (allow = ["local"])),
  ],
  sockets = [
    (name = "a", address = "127.0.0.1:8801", http = (), service = "a"),
    (name = "b", address = "127.0.0.1:8802", http = (), service = "b"),
  ],
);

# The Worker and the package. The module named "tokenkeeper" is the file the
# package's `workerd` export condition selects (wrangler resolves it itself).
const modules :List(Workerd.Worker.Module) = [
  (name = "worker.js", esModule = embed "worker.js"),
  (name = "tokenkeeper", esModule = embed "../../pkg/workerd.js"),
  (name = "tokenkeeper_bg.wasm", wasm = embed "../../pkg/tokenkeeper_bg.wasm"),
];

const instance :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-01-01",
  bindings = [
    (name = "DEVSERVER_URL", fromEnvironment = "DEVSERVER_URL"),
    (name = "TOKENS_KV", kvNamespace = "kv"),
    (name = "LGDX_TOKENS", durableObjectNamespace = (className = "LgdxTokens", serviceName = "tokens")),
  ],
);

const tokenHolders :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2026-01-01",
  bindings = [
    (name = "DEVSERVER_URL", fromEnvironment = "DEVSERVER_URL"),
  ],
  durableObjectNamespaces = [
    (className = "LgdxTokens", uniqueKey = "tokenkeeper-example-lgdx-tokens"),
  ],
  durableObjectStorage = (inMemory = void),
);

const kvService :Workerd.Worker = (
  modules = [(name = "kv-service.js", esModule = embed "kv-service.js")],
  compatibilityDate = "2026-01-01",
);
