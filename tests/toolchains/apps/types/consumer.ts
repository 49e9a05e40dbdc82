// What an app writes against `tokenkeeper`: checked by tsc under each
// tsconfig of this directory, strict, the package's .d.ts included.
import { TokenKeeper, TokenKeeperError, version, type TokenKeeperState } from 'tokenkeeper';

export const v: string = version();
const keeper = new TokenKeeper({
  profile: {
    kind: 'json',
    loginUrl: 'https://api.example.com/Identity/Auth/Login',
    refreshUrl: 'https://api.example.com/Identity/Auth/Refresh',
    headers: { 'X-API-Key': 'key' },
    expiry: [{ field: 'expiresMins', unit: 'minutes' }, 'jwt'],
  },
  storage: { get: async () => null, set: async () => {}, delete: async () => {} },
  autoRefresh: false,
});
keeper.addEventListener('refreshed', (e) => {
  const rotated: boolean = e.detail.rotated;
  void rotated;
});
export const token: Promise<string> = keeper.accessToken();
export const state: TokenKeeperState = keeper.state;
export const response: Promise<Response> = keeper.fetch('https://api.example.com/Navigation/Realms');
export const transient = (e: unknown): boolean => e instanceof TokenKeeperError && e.transient;
// @ts-expect-error: clientAuth takes only the documented methods
new TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: 'x', clientId: 'c', clientAuth: 'jwt' } });
