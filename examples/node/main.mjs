// Client credentials against the devserver's TNCO-style API, in Node ≥ 20:
// three concurrent calls share one token request.
//
//   cargo xtask build && cd examples/node && npm install   # links ../../pkg as `tokenkeeper`
//   DEVSERVER_URL=http://127.0.0.1:8787 node main.mjs
import { TokenKeeper } from 'tokenkeeper';

const base = process.env.DEVSERVER_URL ?? 'http://127.0.0.1:8787';
const keeper = new TokenKeeper({
  profile: {
    kind: 'oauth2',
    tokenUrl: `${base}/tnco/oauth/token`,
    clientId: 'LmClient',
    clientSecret: process.env.TNCO_CLIENT_SECRET ?? 'tnco-demo-secret',
    clientAuth: 'basic',
  },
});
await keeper.login();
const responses = await Promise.all([1, 2, 3].map(() => keeper.fetch(`${base}/tnco/api/resources`)));
const { items } = await responses[0].json();
console.log(`node ${process.version}: tnco api ${responses.map((r) => r.status).join(' ')} (${items.length} resources)`);
keeper.close();
