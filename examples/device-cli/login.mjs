#!/usr/bin/env node
// Signs in from a terminal with the device authorization grant (RFC 8628):
// shows a code and a URL, the user approves in any browser, then prints the
// access token's claims and the provider's userinfo. Ctrl-C cancels.
//
//   node login.mjs --issuer https://id.example.com/realms/main --client-id my-cli [--scope "openid profile"]
import { parseArgs } from 'node:util';
import { TokenKeeper } from 'tokenkeeper';

const usage = 'usage: node login.mjs --issuer <url> --client-id <id> [--scope <scopes>]';
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      scope: { type: 'string', default: 'openid profile' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
if (args.help || !args.issuer || !args['client-id']) {
  console.error(usage);
  process.exit(args.help ? 0 : 2);
}

// Ctrl-C stops the wait: `complete` rejects with this reason and no more
// polls are sent.
const controller = new AbortController();
const cancelled = new Error('cancelled');
process.once('SIGINT', () => controller.abort(cancelled));

const issuer = args.issuer.replace(/\/+$/, '');
let keeper;
try {
  // The metadata names the userinfo endpoint; discover() reads the rest
  // (token and device authorization endpoints) from it again.
  const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: controller.signal });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const metadata = await res.json();
  const userinfo = metadata.userinfo_endpoint;
  keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer, clientId: args['client-id'], scope: args.scope },
    // keeper.fetch sends the token to the userinfo endpoint only.
    allowedOrigins: userinfo ? [new URL(userinfo).origin] : undefined,
  });

  const device = await keeper.startDeviceLogin({ signal: controller.signal });
  console.log(`To sign in, open ${device.verificationUri}`);
  console.log(`and enter the code: ${device.userCode}`);
  if (device.verificationUriComplete) console.log(`(or open ${device.verificationUriComplete})`);
  console.log(`The code expires at ${new Date(device.expiresAt).toLocaleTimeString()}. Waiting… (Ctrl-C to cancel)`);
  await device.complete;

  const { claims, expiresAt, scope } = keeper.state;
  console.log(`Signed in${scope ? ` (scope: ${scope})` : ''}; the access token expires at ${new Date(expiresAt).toLocaleTimeString()}.`);
  if (claims) {
    console.log('Access token claims (unverified):');
    for (const [name, value] of Object.entries(claims)) console.log(`  ${name}: ${JSON.stringify(value)}`);
  } else {
    console.log('The access token is not a JWT: no claims to show.');
  }
  if (userinfo) {
    const answer = await keeper.fetch(userinfo, { signal: controller.signal });
    console.log(`userinfo ${answer.status}: ${await answer.text()}`);
  }
} catch (e) {
  if (e === cancelled) {
    console.error('Cancelled.');
    process.exitCode = 130;
  } else {
    const what = [e.code, e.error, e.error_description].filter(Boolean).join(' ');
    console.error(`Sign-in failed: ${what || e.message}`);
    process.exitCode = 1;
  }
} finally {
  keeper?.close();
}
