// Client credentials against the devserver's TNCO-style API, in Deno: three
// concurrent calls share one token request. `tokenkeeper` is mapped in
// deno.json to the package built into ../../pkg (`cargo xtask build`).
//
//   DEVSERVER_URL=http://127.0.0.1:8787 deno run --allow-net=127.0.0.1 --allow-read --allow-env main.ts
import { TokenKeeper } from 'tokenkeeper';

const base = Deno.env.get('DEVSERVER_URL') ?? 'http://127.0.0.1:8787';
const keeper = new TokenKeeper({
  profile: {
    kind: 'oauth2',
    tokenUrl: `${base}/tnco/oauth/token`,
    clientId: 'LmClient',
    clientSecret: Deno.env.get('TNCO_CLIENT_SECRET') ?? 'tnco-demo-secret',
    clientAuth: 'basic',
  },
});
await keeper.login();
const responses = await Promise.all([1, 2, 3].map(() => keeper.fetch(`${base}/tnco/api/resources`)));
const { items } = await responses[0].json();
console.log(`deno ${Deno.version.deno}: tnco api ${responses.map((r) => r.status).join(' ')} (${items.length} resources)`);
keeper.close();
