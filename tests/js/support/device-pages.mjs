// oidc-provider's device flow pages (RFC 8628 §3.3) walked by HTTP as a
// person in a browser would: the user-code form at `verification_uri`, the
// "Confirm Device" page, then the development interactions (sign-in with
// any login, consent), ending on "Sign-in Success".
//
// The pages, from node_modules/oidc-provider/lib: actions/code_verification.js
// and helpers/user_code_form.js (the forms, an `xsrf` field tied to the
// session cookie), helpers/defaults.js (`userCodeInputSource`,
// `userCodeConfirmSource`, `successSource`), actions/interaction.js (the
// sign-in and consent forms, and their `[ Cancel ]` link to `…/abort`).
import assert from 'node:assert/strict';

/** A cookie jar and `fetch` that never follows redirects. */
export function browser() {
  const jar = new Map();
  return async (target, init = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(target, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    return { res, text: await res.text(), url: target };
  };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const field = (text, name) => text.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];

/**
 * Enters `userCode` at `verificationUri` and signs in as `login`.
 * `deny`: `'confirm'` presses "[ Abort ]" on the Confirm Device page,
 * `'login'` follows the sign-in page's "[ Cancel ]" link; without it the
 * user approves. Resolves to the last page's text.
 */
export async function deviceUser(verificationUri, userCode, { login = 'alice', deny } = {}) {
  const send = browser();
  const input = await send(verificationUri);
  assert.equal(input.res.status, 200, 'the user-code page');
  assert.match(input.text, /id="op\.deviceInputForm"/, 'the user-code form');
  const action = input.text.match(/<form id="op\.deviceInputForm"[^>]* action="([^"]+)"/)?.[1];
  const xsrf = field(input.text, 'xsrf');
  assert.ok(action && xsrf, 'the user-code form has its action and xsrf');

  const confirm = await send(new URL(action, verificationUri).href, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ xsrf, user_code: userCode }),
  });
  assert.equal(confirm.res.status, 200, 'the confirm page');
  assert.match(confirm.text, /Confirm Device/, `the code ${userCode} was accepted`);
  assert.ok(confirm.text.includes(`<code>${userCode}</code>`), 'the confirm page shows the code');
  const decision = deny === 'confirm' ? { abort: 'yes' } : { confirm: 'yes' };
  const answered = await send(new URL(action, verificationUri).href, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ xsrf: field(confirm.text, 'xsrf'), user_code: field(confirm.text, 'user_code'), ...decision }),
  });
  if (deny === 'confirm') {
    assert.equal(answered.res.status, 200);
    assert.match(answered.text, /The Sign-in request was interrupted/, 'the aborted page');
    return answered.text;
  }

  let at = answered.res.headers.get('location');
  assert.ok(at, 'confirming leads to the sign-in');
  at = new URL(at, verificationUri).href;
  for (let step = 0; step < 10; step += 1) {
    const page = await send(at);
    const location = page.res.headers.get('location');
    if (location) {
      at = new URL(location, at).href;
      continue;
    }
    assert.equal(page.res.status, 200, `a page at ${new URL(at).pathname}`);
    if (/Sign-in Success/.test(page.text) || /<h1>Sign-in<\/h1>\s*<p class="red">/.test(page.text)) return page.text;
    const prompt = field(page.text, 'prompt');
    const formAction = page.text.match(/<form[^>]* action="([^"]+)"/)?.[1];
    assert.ok(prompt && formAction, `an interaction form at ${new URL(at).pathname}`);
    if (deny === 'login' && prompt === 'login') {
      const cancel = page.text.match(/href="([^"]+\/abort)"/)?.[1];
      assert.ok(cancel, 'the sign-in page has its Cancel link');
      at = new URL(cancel, at).href;
      continue;
    }
    const posted = await send(new URL(formAction, at).href, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ prompt, login, password: 'any' }),
    });
    assert.ok(posted.res.headers.get('location'), `the ${prompt} form redirects`);
    at = new URL(posted.res.headers.get('location'), at).href;
  }
  throw new Error('no end page after 10 steps');
}
