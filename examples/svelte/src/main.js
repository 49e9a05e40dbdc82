import { mount } from 'svelte';
import { TokenKeeper } from 'tokenkeeper';
import App from './App.svelte';

// The devserver of `cargo xtask demo`, unless VITE_ISSUER says otherwise.
const issuer = import.meta.env.VITE_ISSUER ?? 'http://127.0.0.1:8787/realms/tokenkeeper';
const target = document.getElementById('app');

try {
  // Made in the browser, once; App starts it and reads its stores.
  const keeper = await TokenKeeper.discover({
    profile: {
      kind: 'oauth2',
      issuer,
      clientId: 'tokenkeeper-demo',
      scope: 'openid profile',
      redirectUri: `${location.origin}/`,
    },
    storage: 'session',
  });
  mount(App, { target, props: { keeper, userinfoUrl: `${issuer}/protocol/openid-connect/userinfo` } });
} catch (e) {
  target.textContent = `Discovery of ${issuer} failed: ${e.message}`;
}
