// @auth0/auth0-spa-js: redirect login, a valid token (refresh tokens).
import { createAuth0Client } from '@auth0/auth0-spa-js';

export async function main() {
  const auth0 = await createAuth0Client({
    domain: 'tenant.example.com',
    clientId: 'spa',
    useRefreshTokens: true,
    cacheLocation: 'localstorage',
    authorizationParams: { redirect_uri: `${location.origin}/callback` },
  });
  if (location.search.includes('code=')) await auth0.handleRedirectCallback();
  if (!(await auth0.isAuthenticated())) return auth0.loginWithRedirect();
  return auth0.getTokenSilently();
}
