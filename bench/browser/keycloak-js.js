// keycloak-js: one Keycloak instance (init() is what talks to the server).
import Keycloak from 'keycloak-js';

const kc = new Keycloak({ url: 'http://127.0.0.1:9', realm: 'app', clientId: 'spa' });
window.__bench = { ready: performance.now() };
window.__keep = kc;
