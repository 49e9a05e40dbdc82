// A stand-in for Workers KV under bare workerd, which has no KV storage of
// its own: workerd turns each call on a `kvNamespace` binding into an HTTP
// request to this service (GET/PUT/DELETE /<url-encoded key>, `expiration_ttl`
// in the query on PUT). Values live in this isolate's memory with their
// expiry; wrangler and miniflare bring their own KV instead.
const store = new Map();

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const key = decodeURIComponent(url.pathname.slice(1));
    const now = Date.now();
    const entry = store.get(key);
    if (entry && entry.expires <= now) store.delete(key);
    switch (request.method) {
      case 'GET': {
        const hit = store.get(key);
        return hit ? new Response(hit.value) : new Response(null, { status: 404 });
      }
      case 'PUT': {
        const ttl = Number(url.searchParams.get('expiration_ttl'));
        store.set(key, { value: await request.text(), expires: ttl > 0 ? now + ttl * 1000 : Infinity });
        return new Response(null);
      }
      case 'DELETE':
        store.delete(key);
        return new Response(null);
      default:
        return new Response(null, { status: 405 });
    }
  },
};
