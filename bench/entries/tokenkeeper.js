// tokenkeeper: redirect login (code + PKCE), a valid token, refresh.
import { TokenKeeper } from 'tokenkeeper';

export async function main() {
  const keeper = new TokenKeeper({
    profile: {
      kind: 'oauth2',
      tokenUrl: 'https://idp.example.com/oauth/token',
      authorizationUrl: 'https://idp.example.com/authorize',
      clientId: 'spa',
      redirectUri: `${location.origin}/callback`,
      scope: 'openid profile offline_access',
    },
    storage: 'local',
  });
  if (location.search.includes('code=')) await keeper.handleRedirect();
  else if (!(await keeper.restore())) await keeper.loginWithRedirect();
  const token = await keeper.accessToken();
  await keeper.refresh();
  return token;
}
