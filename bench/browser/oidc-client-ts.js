// oidc-client-ts: one UserManager (metadata is only fetched on first use).
import { UserManager } from 'oidc-client-ts';

const manager = new UserManager({ authority: 'http://127.0.0.1:9/realms/app', client_id: 'spa', redirect_uri: `${location.origin}/cb` });
window.__bench = { ready: performance.now() };
window.__keep = manager;
