import { createApp } from 'vue';
import { TokenKeeper } from 'tokenkeeper';
import App from './App.vue';

// The devserver of `cargo xtask demo`, unless VITE_ISSUER says otherwise.
const issuer = import.meta.env.VITE_ISSUER ?? 'http://127.0.0.1:8787/realms/tokenkeeper';

try {
  // Made in the browser, once; App hands it to provideKeeper.
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
  createApp(App, { keeper, userinfoUrl: `${issuer}/protocol/openid-connect/userinfo` }).mount('#app');
} catch (e) {
  document.getElementById('app').textContent = `Discovery of ${issuer} failed: ${e.message}`;
}
