// `tokenkeeper/init`: the entry without top-level await and its initialiser.
import { TokenKeeper, initialize } from 'tokenkeeper/init';

export async function start(wasm?: URL): Promise<TokenKeeper> {
  await initialize(wasm);
  return new TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: 'https://auth.example.com/token', clientId: 'c' } });
}
