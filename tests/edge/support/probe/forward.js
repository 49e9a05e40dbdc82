// A Worker that forwards every request to the token holder as it is (the
// common `stub.fetch(request)` pattern): the holder must answer it without
// a token.
export default {
  fetch(request, env) {
    return env.PROBE_TOKENS.get(env.PROBE_TOKENS.idFromName('probe')).fetch(request);
  },
};
