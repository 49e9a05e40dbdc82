// window.violations: what the page's Content Security Policy refused
// (securitypolicyviolation events). window.importEntry(file) and
// window.loginAt(idp) run in the page under that policy and resolve to a
// plain outcome: `ok`, or the error's name, code, message and cause.
window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI });
});

/** A thrown value as plain data. */
function failure(e) {
  return {
    ok: false,
    name: e?.name,
    code: e?.code,
    message: String(e?.message ?? e),
    cause: e?.cause === undefined ? undefined : `${e.cause.name}: ${e.cause.message}`,
    isTokenKeeperError: e?.name === 'TokenKeeperError' && e instanceof Error,
  };
}

/**
 * Imports a browser entry of the package by its file name, `index.js`
 * (which instantiates the module on import) or `init.js` (which does on
 * `initialize()`), and reads its version.
 */
window.importEntry = async (entry) => {
  try {
    const mod = await import(`/pkg/${entry}`);
    if (typeof mod.initialize === 'function') await mod.initialize();
    return { ok: true, version: mod.version() };
  } catch (e) {
    return failure(e);
  }
};

/** The LGDX JSON login at the identity provider `idp`, then its API through keeper.fetch. */
window.loginAt = async (idp) => {
  try {
    const { TokenKeeper } = await import('/pkg/index.js');
    const apiKey = { 'X-API-Key': 'lgdx-demo-api-key' };
    const keeper = new TokenKeeper({
      profile: {
        kind: 'json',
        loginUrl: `${idp}/Identity/Auth/Login`,
        refreshUrl: `${idp}/Identity/Auth/Refresh`,
        headers: apiKey,
        apiHeaders: apiKey,
      },
      autoRefresh: false,
    });
    await keeper.login({ username: 'demo', password: 'demo-password' });
    const api = await keeper.fetch(`${idp}/Navigation/Realms`);
    const status = keeper.state.status;
    keeper.close();
    return { ok: true, status, api: api.status };
  } catch (e) {
    return failure(e);
  }
};

window.ready = true;
