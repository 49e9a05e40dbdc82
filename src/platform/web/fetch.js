// The JS half of the fetch adapter (fetch.rs): one call per token request,
// so a request crosses the wasm boundary twice instead of once per header,
// property and body chunk. It decides nothing: it sends what the core built
// and hands back the status, the headers asked for and at most `limit` bytes.

/**
 * Sends one request and never rejects.
 *
 * @param {typeof fetch | undefined} fetchFn the injected fetch, else the global one at call time
 * @param {string} url
 * @param {string} method
 * @param {string[]} headers name, value, name, value, …
 * @param {Uint8Array} body empty for none
 * @param {number} timeoutMs aborts the request and the body read after this
 * @param {number} limit the most body bytes to read
 * @param {string} names the response headers to return, separated by spaces
 * @returns {Promise<Array<number | Uint8Array | string | null> | string>}
 *   `[status, body, ...header values in the order of names]`, where a
 *   manual redirect is status 302 with an empty body; or, when the request
 *   failed, one of "timeout", "aborted", "network"
 */
export async function send(fetchFn, url, method, headers, body, timeoutMs, limit, names) {
  const signal = typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(timeoutMs) : undefined;
  const init = { method, headers: pairs(headers), redirect: 'manual', credentials: 'omit', cache: 'no-store', signal };
  if (body.length > 0) init.body = body;
  try {
    const res = await (fetchFn ?? globalThis.fetch)(url, init);
    // A manual redirect in a browser is an opaque response with status 0;
    // Node and Deno show the real 3xx. Either way it is a redirect.
    const opaque = res.type === 'opaqueredirect';
    const out = [opaque ? 302 : res.status, opaque ? new Uint8Array(0) : await readCapped(res, limit)];
    for (const name of names.split(' ')) out.push(res.headers.get(name));
    return out;
  } catch (e) {
    if (signal?.aborted || e?.name === 'TimeoutError') return 'timeout';
    return e?.name === 'AbortError' ? 'aborted' : 'network';
  }
}

function pairs(flat) {
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

/** Reads at most `limit` bytes, then cancels the rest of the stream. */
async function readCapped(res, limit) {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, limit - length);
    parts.push(take < value.length ? value.subarray(0, take) : value);
    length += take;
    if (length >= limit) {
      await reader.cancel().catch(() => {});
      break;
    }
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
