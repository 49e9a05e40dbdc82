// oidc-client-ts: redirect login, a valid token, silent renew with a refresh token.
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';

export async function main() {
  const um = new UserManager({
    authority: 'https://idp.example.com',
    client_id: 'spa',
    redirect_uri: `${location.origin}/callback`,
    scope: 'openid profile offline_access',
    automaticSilentRenew: true,
    userStore: new WebStorageStateStore({ store: localStorage }),
  });
  if (location.search.includes('code=')) await um.signinRedirectCallback();
  let user = await um.getUser();
  if (!user) return um.signinRedirect();
  if (user.expired) user = await um.signinSilent();
  return user.access_token;
}
