// @auth0/auth0-spa-js: one Auth0Client (in-memory cache, no refresh-token
// worker; checkSession() is what talks to the server).
import { Auth0Client } from '@auth0/auth0-spa-js';

const client = new Auth0Client({ domain: '127.0.0.1:9', clientId: 'spa', authorizationParams: { redirect_uri: location.origin } });
window.__bench = { ready: performance.now() };
window.__keep = client;
