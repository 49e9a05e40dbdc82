// keycloak-js: init (check-sso, PKCE), login, a valid token via updateToken.
import Keycloak from 'keycloak-js';

export async function main() {
  const kc = new Keycloak({ url: 'https://idp.example.com', realm: 'app', clientId: 'spa' });
  const ok = await kc.init({ onLoad: 'check-sso', pkceMethod: 'S256', checkLoginIframe: false });
  if (!ok) return kc.login();
  await kc.updateToken(30);
  return kc.token;
}
