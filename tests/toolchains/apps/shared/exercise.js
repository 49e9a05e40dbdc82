// What every app of the toolchain matrix does with the package it was built
// with: a TokenKeeper logs in against the devserver (LGDX-style JSON login
// with an API key), hands out the token and calls a protected API through
// `keeper.fetch`. Each step crosses into the WebAssembly core (the options
// check, the token response parsing, the origin policy), so a module that
// did not load cannot pass. The class comes in as an argument: apps import
// it from `tokenkeeper` or from `tokenkeeper/init`.

/** The devserver's seeded LGDX API key and user. */
const API_KEY = 'lgdx-demo-api-key';
const USER = { username: 'demo', password: 'demo-password' };

/**
 * Resolves to `{ before, status, version, token, api }`: the state before
 * and after the login, the package version, the access token's length and
 * the API's HTTP status. Errors are returned as `{ error }`, with the code
 * of a TokenKeeperError.
 */
export async function exercise(TokenKeeper, devserver, version) {
  try {
    if (!devserver) throw new Error('no devserver URL given');
    const keeper = new TokenKeeper({
      profile: {
        kind: 'json',
        loginUrl: `${devserver}/Identity/Auth/Login`,
        refreshUrl: `${devserver}/Identity/Auth/Refresh`,
        headers: { 'X-API-Key': API_KEY },
        apiHeaders: { 'X-API-Key': API_KEY },
      },
      autoRefresh: false,
    });
    const before = keeper.state.status;
    await keeper.login(USER);
    const token = await keeper.accessToken();
    const api = await keeper.fetch(`${devserver}/Navigation/Realms`);
    const status = keeper.state.status;
    keeper.close();
    return { before, status, version: version?.(), token: token.length, api: api.status };
  } catch (e) {
    const code = e?.code ? `${e.code}: ` : '';
    return { error: `${code}${e?.stack ?? e}` };
  }
}
