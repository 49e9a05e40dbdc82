import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TokenKeeper } from 'tokenkeeper';
import { App } from './App.jsx';

// The devserver of `cargo xtask demo`, unless VITE_ISSUER says otherwise.
const issuer = import.meta.env.VITE_ISSUER ?? 'http://127.0.0.1:8787/realms/tokenkeeper';
const root = createRoot(document.getElementById('root'));

try {
  // Made in the browser, once: the provider completes the redirect login
  // when this page is the callback, else restores the stored session.
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
  root.render(
    <StrictMode>
      <App keeper={keeper} userinfoUrl={`${issuer}/protocol/openid-connect/userinfo`} />
    </StrictMode>,
  );
} catch (e) {
  root.render(<p role="alert">Discovery of {issuer} failed: {e.message}</p>);
}
