// The tokenkeeper demo page: no framework, no build step. It imports the
// built package from /pkg/ and talks to the devserver on the same origin
// (token endpoints, protected APIs, and the admin API for faults).
import { TokenKeeper, version } from '/pkg/index.js';

const $ = (id) => document.getElementById(id);
const ORIGIN = location.origin;
/** The redirect URI of the code flow: this page, without its query. */
const REDIRECT_URI = new URL('./', location.href).href;

/** Refresh ahead by a quarter of the lifetime (at least 3 s), so the
 * refreshes are easy to watch with the demo's short lifetimes. */
const POLICY = {
  leadFraction: 0.25,
  minLeadMs: 3_000,
  maxLeadMs: 60_000,
  maxJitterMs: 0,
  minIntervalMs: 2_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 15_000,
  retryAfterMaxMs: 30_000,
};

const CONFIDENTIAL_NOTE = `This path is for demos and tests only. A client secret in a
  page is readable by anyone who opens it, and the password grant hands the
  user's password to the page itself; that is why the keeper refuses both in
  a browser unless <code>allowConfidentialInBrowser: true</code>. In
  production keep confidential clients on a server or an edge worker, and
  log users in with the redirect flow.`;

/** The devserver's four API styles (Keycloak twice: redirect and password grant). */
const STYLES = {
  lgdx: {
    title: 'LGDX',
    sub: 'custom JSON login with X-API-Key',
    fields: [
      { name: 'apiKey', label: 'X-API-Key', value: 'lgdx-demo-api-key' },
      { name: 'username', label: 'Username', value: 'demo', autocomplete: 'username' },
      { name: 'password', label: 'Password', value: 'demo-password', type: 'password', autocomplete: 'current-password' },
    ],
    note: `<p><code>POST /Identity/Auth/Login</code> with a JSON body. Each refresh
      token works once: every refresh rotates it, and a reused one ends the session.</p>`,
    options: (v) => ({
      profile: {
        kind: 'json',
        loginUrl: `${ORIGIN}/Identity/Auth/Login`,
        refreshUrl: `${ORIGIN}/Identity/Auth/Refresh`,
        headers: { 'X-API-Key': v.apiKey },
      },
    }),
    credentials: (v) => ({ username: v.username, password: v.password }),
    api: (v) => ({ url: `${ORIGIN}/Navigation/Realms`, init: { headers: { 'X-API-Key': v.apiKey } } }),
    apiEndpoint: 'lgdx.realms',
    refreshFault: { match: 'lgdx.refresh' },
    refreshToken: 'lifetime not stated by this API',
  },
  'kc-pkce': {
    title: 'Keycloak',
    sub: 'authorization code + PKCE',
    tag: 'recommended',
    fields: [
      { name: 'realm', label: 'Realm', value: 'tokenkeeper' },
      { name: 'clientId', label: 'Client ID (public)', value: 'tokenkeeper-demo' },
    ],
    note: `<p>The browser goes to the identity provider's login page (user
      <code>demo</code>, password <code>demo-password</code>) and comes back with a
      code. No password or secret touches this page: discovery, PKCE S256,
      <code>state</code>, <code>nonce</code>, and the ID token's signature checked with WebCrypto.</p>`,
    discover: true,
    redirect: true,
    options: (v) => ({
      profile: {
        kind: 'oauth2',
        issuer: `${ORIGIN}/realms/${encodeURIComponent(v.realm)}`,
        clientId: v.clientId,
        scope: 'openid profile',
        redirectUri: REDIRECT_URI,
      },
    }),
    api: (v) => ({ url: `${ORIGIN}/realms/${encodeURIComponent(v.realm)}/protocol/openid-connect/userinfo` }),
    apiEndpoint: 'kc.userinfo',
    refreshFault: { match: 'kc.token', grant: 'refresh_token' },
  },
  'kc-password': {
    title: 'Keycloak',
    sub: 'password grant',
    tag: 'opt-in · confidential',
    confidential: true,
    fields: [
      { name: 'realm', label: 'Realm', value: 'tokenkeeper' },
      { name: 'clientId', label: 'Client ID (confidential)', value: 'tokenkeeper-confidential' },
      { name: 'clientSecret', label: 'Client secret', value: 'confidential-secret', type: 'password', autocomplete: 'off' },
      { name: 'username', label: 'Username', value: 'demo', autocomplete: 'username' },
      { name: 'password', label: 'Password', value: 'demo-password', type: 'password', autocomplete: 'current-password' },
    ],
    note: `<p>The resource owner password grant with a confidential client
      (<code>client_secret_basic</code>); logout revokes the refresh token (RFC 7009).</p>`,
    options: (v) => {
      const realm = `${ORIGIN}/realms/${encodeURIComponent(v.realm)}/protocol/openid-connect`;
      return {
        profile: {
          kind: 'oauth2',
          tokenUrl: `${realm}/token`,
          revocationUrl: `${realm}/revoke`,
          clientId: v.clientId,
          clientSecret: v.clientSecret,
        },
      };
    },
    credentials: (v) => ({ username: v.username, password: v.password }),
    api: (v) => ({ url: `${ORIGIN}/realms/${encodeURIComponent(v.realm)}/protocol/openid-connect/userinfo` }),
    apiEndpoint: 'kc.userinfo',
    refreshFault: { match: 'kc.token', grant: 'refresh_token' },
  },
  im: {
    title: 'Identity Manager',
    sub: 'client_credentials, secret in the body',
    tag: 'confidential',
    confidential: true,
    fields: [
      { name: 'clientId', label: 'Client ID', value: 'Job@identitymanager.demo' },
      { name: 'clientSecret', label: 'Client secret', value: 'im-demo-secret', type: 'password', autocomplete: 'off' },
      { name: 'scope', label: 'Scope', value: 'usercube_api' },
    ],
    note: `<p><code>POST /im/connect/token</code> with <code>client_secret_post</code>.
      There is no refresh token: the keeper renews with a new grant ahead of expiry.</p>`,
    options: (v) => ({
      profile: {
        kind: 'oauth2',
        tokenUrl: `${ORIGIN}/im/connect/token`,
        clientId: v.clientId,
        clientSecret: v.clientSecret,
        clientAuth: 'post',
        scope: v.scope,
      },
    }),
    credentials: () => undefined,
    api: () => ({ url: `${ORIGIN}/im/?api-version=1.0` }),
    apiEndpoint: 'im.api',
    refreshFault: { match: 'im.token' },
    refreshToken: 'none (client credentials: renewed by a new grant)',
  },
  tnco: {
    title: 'TNCO',
    sub: 'client_credentials with HTTP Basic',
    tag: 'confidential',
    confidential: true,
    fields: [
      { name: 'clientId', label: 'Client ID', value: 'LmClient' },
      { name: 'clientSecret', label: 'Client secret', value: 'tnco-demo-secret', type: 'password', autocomplete: 'off' },
    ],
    note: `<p><code>POST /tnco/oauth/token</code> with <code>Authorization: Basic</code>
      (RFC 6749 §2.3.1 encoding). The access token is an opaque UUID, so there are no claims to show.</p>`,
    options: (v) => ({
      profile: {
        kind: 'oauth2',
        tokenUrl: `${ORIGIN}/tnco/oauth/token`,
        clientId: v.clientId,
        clientSecret: v.clientSecret,
        clientAuth: 'basic',
      },
    }),
    credentials: () => undefined,
    api: () => ({ url: `${ORIGIN}/tnco/api/resources` }),
    apiEndpoint: 'tnco.api',
    refreshFault: { match: 'tnco.token' },
    refreshToken: 'none (client credentials: renewed by a new grant)',
  },
};

const EVENTS = [
  'login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
  'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror',
];

let styleId = 'lgdx';
/** The keeper of the current style, once created. */
let keeper = null;
/** The current access token (shown masked only). */
let token = null;
/** When the current tokens arrived (epoch ms), for the planned refresh. */
let issuedAt = Number(sessionStorage.getItem('demo.issuedAt')) || null;
/** The scheduled retry after a transient failure (epoch ms). */
let retryAt = null;

const style = () => STYLES[styleId];

// ---- formatting ---------------------------------------------------------

function mask(t) {
  if (t.length <= 20) return '•'.repeat(8);
  return `${t.slice(0, 8)}…${t.slice(-6)}`;
}

function duration(ms) {
  if (ms <= 0) return 'now';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function clock(at) {
  const d = new Date(at);
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function describeError(e) {
  if (!e) return 'unknown error';
  const code = e.code ?? e.name ?? 'Error';
  if (e.error) {
    const why = e.error_description ? `: ${e.error_description}` : '';
    return `${code} (${e.status ? `HTTP ${e.status}, ` : ''}${e.error}${why})`;
  }
  return `${code}${e.status ? ` (HTTP ${e.status})` : ''}: ${e.message}`;
}

// ---- the timeline -------------------------------------------------------

const KIND = {
  login: 'ok', refreshed: 'ok', restored: 'ok', redirect: 'ok', revoked: 'ok',
  refreshing: 'info', logout: 'info', note: 'info', fault: 'fault', api: 'info',
  loginfailed: 'bad', refreshfailed: 'warn', sessionended: 'bad', revocationfailed: 'warn', storageerror: 'warn',
};

function log(type, text, kind = KIND[type] ?? 'info', now = Date.now()) {
  const li = document.createElement('li');
  li.className = `ev ev-${kind}`;
  li.dataset.event = type;
  const time = document.createElement('time');
  time.dateTime = new Date(now).toISOString();
  time.textContent = clock(now);
  const tag = document.createElement('span');
  tag.className = 'tag';
  tag.textContent = type;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  li.append(time, tag, body);
  const list = $('timeline');
  list.prepend(li);
  while (list.children.length > 150) list.lastElementChild.remove();
}

function describeEvent(type, d) {
  switch (type) {
    case 'login': return 'Logged in';
    case 'loginfailed': return `Login failed: ${describeError(d.error)}`;
    case 'refreshing': return 'Refreshing the tokens…';
    case 'refreshed':
      if (style().refreshToken?.startsWith('none')) return 'New access token from a new client_credentials grant';
      return d.rotated ? 'New access token; the refresh token rotated' : 'New access token; the refresh token was kept';
    case 'refreshfailed': {
      const what = d.transient
        ? `transient, ${d.retryIn != null ? `retry in ${duration(d.retryIn)}` : 'will retry'}; the session is kept`
        : 'terminal';
      return `Refresh failed (${what}): ${describeError(d.error)}`;
    }
    case 'sessionended': return `Session ended (${d.reason}): log in again`;
    case 'restored': return 'Session restored from sessionStorage';
    case 'logout': return 'Logged out: tokens cleared from storage';
    case 'revoked': return 'Token revoked at the identity provider (RFC 7009)';
    case 'revocationfailed': return `Revocation failed: ${describeError(d.error)}`;
    case 'storageerror': return `Storage error (${d.code ?? d.error?.code ?? 'unknown'}): the session is kept in memory`;
    default: return type;
  }
}

/** What the timeline says when a renewal brought back the token already held. */
const REISSUED = 'The server handed back the same access token (re-issued while unexpired, as Spring Security OAuth does); kept until its expiry';

/** The events shown so far, in order: each one after the page shows what it brought. */
let shown = Promise.resolve();

function onEvent(type, detail) {
  const now = Date.now();
  if (type === 'login' || type === 'refreshed') retryAt = null;
  if (type === 'refreshfailed') retryAt = detail.transient && detail.retryIn != null ? now + detail.retryIn : null;
  if (type === 'sessionended' || type === 'logout') {
    token = null;
    retryAt = null;
  }
  // Out of the event dispatch (the keeper may still be inside its own
  // call), and in order: a timeline entry appears once the page shows the
  // token it brought, so whoever sees the entry sees the new state too.
  shown = shown
    .then(() => new Promise((r) => setTimeout(r, 0)))
    .then(async () => {
      const before = token;
      if (type === 'login' || type === 'refreshed' || type === 'restored') await loadToken();
      // A renewal may bring back the very token held (TNCO's /oauth/token
      // re-issues it while unexpired): it was not issued now.
      const reissued = type === 'refreshed' && before !== null && token === before;
      if (type === 'login' || (type === 'refreshed' && !reissued)) {
        issuedAt = now;
        sessionStorage.setItem('demo.issuedAt', String(now));
      }
      log(type, reissued ? REISSUED : describeEvent(type, detail), undefined, now);
      render();
      if (type === 'refreshed' || type === 'refreshfailed') updateQueue();
    })
    .catch((e) => log('note', `Could not show the ${type} event: ${describeError(e)}`, 'bad'));
}

// ---- the keeper ---------------------------------------------------------

async function createKeeper(id, values) {
  keeper?.close();
  keeper = null;
  token = null;
  const s = STYLES[id];
  const options = {
    ...s.options(values),
    storage: 'session',
    storageKey: `tokenkeeper.demo.${id}`,
    refresh: POLICY,
    ...(s.confidential ? { allowConfidentialInBrowser: true } : {}),
  };
  const k = s.discover ? await TokenKeeper.discover(options) : new TokenKeeper(options);
  for (const type of EVENTS) k.addEventListener(type, (e) => onEvent(type, e.detail ?? {}));
  keeper = k;
  return k;
}

async function loadToken() {
  if (keeper?.state.status !== 'active') {
    token = null;
    return;
  }
  try {
    token = await keeper.accessToken();
  } catch {
    token = null;
  }
}

/** The keeper's planned refresh (or retry after a failure), from its state. */
function plannedRefresh(s) {
  return s.status === 'active' ? s.refreshAt : null;
}

// ---- rendering ----------------------------------------------------------

const EMPTY = { status: 'loggedOut', endedReason: null, busy: false, expiresAt: null, refreshExpiresAt: null, refreshAt: null, scope: null, claims: null };

function state() {
  return keeper?.state ?? EMPTY;
}

function render() {
  const s = state();
  const active = s.status === 'active';
  const badge = $('status');
  badge.dataset.status = s.status;
  badge.textContent = { active: 'active', loggedOut: 'logged out', ended: `ended: ${s.endedReason}` }[s.status] ?? s.status;
  if (s.busy) badge.textContent += ' · busy';
  for (const b of document.querySelectorAll('[data-needs-session]')) b.disabled = !active;
  $('styles').disabled = active;
  for (const input of $('fields').querySelectorAll('input')) input.disabled = active;
  $('login').disabled = active;
  $('login').textContent = style().redirect ? 'Log in with redirect' : 'Log in';
  const tokenEl = $('token');
  tokenEl.textContent = active && token ? mask(token) : '—';
  tokenEl.title = active && token ? `${token.length} characters; only the first 8 and last 6 are shown` : '';
  $('scope').textContent = s.scope ?? '—';
  $('claims').textContent = s.claims
    ? JSON.stringify(s.claims, null, 2)
    : active ? 'An opaque token (not a JWT): no claims to show.' : '—';
  const { url } = style().api(values());
  $('api-url').textContent = url.replace(ORIGIN, '');
  tick();
}

function tick() {
  const s = state();
  const now = Date.now();
  const active = s.status === 'active';
  $('expires-in').textContent = active && s.expiresAt ? duration(s.expiresAt - now) : '—';
  const planned = plannedRefresh(s);
  const refreshIn = $('refresh-in');
  if (!active) refreshIn.textContent = '—';
  else if (s.busy) refreshIn.textContent = 'refreshing now…';
  else if (planned) refreshIn.textContent = `${duration(planned - now)}${retryAt ? ' (retry after a failure)' : ''}`;
  else refreshIn.textContent = 'on demand';
  $('refresh-expires').textContent = !active
    ? '—'
    : s.refreshExpiresAt ? duration(s.refreshExpiresAt - now) : style().refreshToken ?? 'no expiry';
  // The access token's remaining lifetime as a bar, with the refresh marked.
  const bar = $('life-bar');
  const mark = $('refresh-mark');
  if (active && s.expiresAt && issuedAt && s.expiresAt > issuedAt) {
    const life = s.expiresAt - issuedAt;
    const left = Math.max(0, Math.min(1, (s.expiresAt - now) / life));
    bar.style.width = `${(left * 100).toFixed(1)}%`;
    bar.dataset.low = String(left < 0.25);
    if (planned && planned > issuedAt && planned < s.expiresAt) {
      mark.hidden = false;
      mark.style.left = `${(((s.expiresAt - planned) / life) * 100).toFixed(1)}%`;
    } else mark.hidden = true;
  } else {
    bar.style.width = '0';
    mark.hidden = true;
  }
}

// ---- the form -----------------------------------------------------------

function renderChoices() {
  const box = $('style-choices');
  box.replaceChildren();
  for (const [id, s] of Object.entries(STYLES)) {
    const label = document.createElement('label');
    label.className = 'choice';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'style';
    input.value = id;
    input.id = `style-${id}`;
    input.addEventListener('change', () => selectStyle(id));
    const title = document.createElement('span');
    title.className = 'choice-title';
    title.textContent = s.title;
    const sub = document.createElement('span');
    sub.className = 'choice-sub';
    sub.textContent = s.sub;
    label.append(input, title, sub);
    if (s.tag) {
      const tag = document.createElement('span');
      tag.className = `pill ${s.confidential ? 'pill-warn' : 'pill-ok'}`;
      tag.textContent = s.tag;
      label.append(tag);
    }
    box.append(label);
  }
}

function selectStyle(id) {
  styleId = id;
  $(`style-${id}`).checked = true;
  const s = style();
  const fields = $('fields');
  fields.replaceChildren();
  for (const f of s.fields) {
    const label = document.createElement('label');
    label.htmlFor = `f-${f.name}`;
    label.textContent = f.label;
    const input = document.createElement('input');
    input.id = `f-${f.name}`;
    input.name = f.name;
    input.type = f.type ?? 'text';
    input.value = f.value;
    input.autocomplete = f.autocomplete ?? 'off';
    input.spellcheck = false;
    fields.append(label, input);
  }
  $('style-note').innerHTML = s.note + (s.confidential ? `<p class="warn-note"><strong>Demo only.</strong> ${CONFIDENTIAL_NOTE}</p>` : '');
  $('login-error').textContent = '';
  render();
}

function values() {
  const v = {};
  for (const f of style().fields) v[f.name] = $(`f-${f.name}`)?.value ?? f.value;
  return v;
}

async function onLogin(ev) {
  ev.preventDefault();
  $('login-error').textContent = '';
  const s = style();
  const v = values();
  sessionStorage.setItem('demo.style', styleId);
  $('login').disabled = true;
  try {
    const k = await createKeeper(styleId, v);
    if (s.redirect) {
      log('redirect', 'Going to the identity provider\'s login page…', 'info');
      await k.loginWithRedirect();
      return;
    }
    await k.login(s.credentials(v));
    $('session').focus({ preventScroll: true });
  } catch (e) {
    $('login-error').textContent = describeError(e);
  } finally {
    render();
  }
}

// ---- session actions ----------------------------------------------------

function message(id, text, kind = '') {
  const el = $(id);
  el.textContent = text;
  el.dataset.kind = kind;
}

async function onRefresh() {
  message('session-message', 'Refreshing…');
  try {
    await keeper.refresh();
    message('session-message', 'Refreshed.', 'ok');
  } catch (e) {
    message('session-message', describeError(e), 'bad');
    if (e.code === 'AUTH_RETRY_LATER') log('note', `Refresh now: ${e.code} (too soon after the last attempt)`);
  }
  render();
}

async function onLogout() {
  try {
    await keeper.logout();
    message('session-message', 'Logged out.', 'ok');
  } catch (e) {
    message('session-message', describeError(e), 'bad');
  }
  token = null;
  issuedAt = null;
  sessionStorage.removeItem('demo.issuedAt');
  render();
}

async function onCallApi() {
  const { url, init } = style().api(values());
  const status = $('api-status');
  const body = $('api-body');
  status.textContent = '…';
  status.dataset.status = '';
  const path = url.replace(ORIGIN, '');
  try {
    const res = await keeper.fetch(url, init);
    const text = await res.text();
    status.textContent = `${res.status} ${res.statusText}`.trim();
    status.dataset.status = String(res.status);
    let shown = text;
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: shown as it is.
    }
    body.textContent = shown.length > 800 ? `${shown.slice(0, 800)}…` : shown;
    body.hidden = !shown;
    log('api', `GET ${path} → ${res.status}`, res.ok ? 'ok' : 'bad');
  } catch (e) {
    status.textContent = e.code ?? 'error';
    status.dataset.status = 'error';
    body.textContent = describeError(e);
    body.hidden = false;
    log('api', `GET ${path} → ${describeError(e)}`, 'bad');
  }
  updateQueue();
}

// ---- faults (the devserver's admin API) -----------------------------------

async function admin(method, path, payload) {
  const res = await fetch(`/admin/${path}`, {
    method,
    headers: payload ? { 'content-type': 'application/json' } : {},
    body: payload ? JSON.stringify(payload) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`admin ${method} /admin/${path}: HTTP ${res.status} ${json?.error_description ?? ''}`);
  return json;
}

function matchText(f) {
  return `${f.match}${f.grant ? ` (${f.grant})` : ''}`;
}

async function fault(spec, text) {
  try {
    await admin('POST', 'faults', spec);
    message('fault-result', `Queued: ${text}.`, 'ok');
    log('fault', `${text} (match ${matchText(spec)})`);
  } catch (e) {
    message('fault-result', e.message, 'bad');
  }
  updateQueue();
}

async function revoke() {
  try {
    const t = await keeper.accessToken();
    const r = await admin('POST', 'revoke', { token: t });
    const cc = style().refreshToken?.startsWith('none');
    const text = cc
      ? 'Access token revoked at the server: the next API call gets a 401 and the keeper renews with a new grant'
      : `Session revoked at the server (${r.revoked_families} session): the next refresh is refused and the session ends`;
    message('fault-result', `${text}.`, 'ok');
    log('fault', text);
  } catch (e) {
    message('fault-result', describeError(e), 'bad');
  }
}

async function updateQueue() {
  const list = $('fault-queue');
  try {
    const { faults } = await admin('GET', 'faults');
    list.replaceChildren(
      ...faults.map((f) => {
        const li = document.createElement('li');
        li.textContent = `#${f.id} ${f.kind}${f.status ? ` ${f.status}` : ''} → ${matchText(f)}, ${f.remaining} left`;
        return li;
      }),
    );
    list.dataset.count = String(faults.length);
  } catch {
    list.replaceChildren();
  }
}

// ---- start --------------------------------------------------------------

function wire() {
  $('login-form').addEventListener('submit', onLogin);
  $('refresh').addEventListener('click', onRefresh);
  $('logout').addEventListener('click', onLogout);
  $('call-api').addEventListener('click', onCallApi);
  $('fault-500').addEventListener('click', () =>
    fault({ ...style().refreshFault, kind: 'error', status: 500 }, '500 on the next refresh'));
  $('fault-429').addEventListener('click', () =>
    fault({ ...style().refreshFault, kind: 'error', status: 429, retry_after: 3 }, '429 with Retry-After: 3 on the next refresh'));
  $('fault-drop').addEventListener('click', () =>
    // Twice: a browser silently resends a request once when a reused
    // keep-alive connection closes without an answer.
    fault({ ...style().refreshFault, kind: 'drop', times: 2 }, 'connection dropped without an answer (twice) on the next refresh'));
  $('fault-401').addEventListener('click', () =>
    fault({ match: style().apiEndpoint, kind: 'error', status: 401 }, '401 on the next API call'));
  $('fault-revoke').addEventListener('click', revoke);
  $('fault-clear').addEventListener('click', async () => {
    try {
      const { cleared } = await admin('DELETE', 'faults');
      message('fault-result', `Cleared ${cleared} queued fault(s).`, 'ok');
    } catch (e) {
      message('fault-result', e.message, 'bad');
    }
    updateQueue();
  });
  $('clear-timeline').addEventListener('click', () => $('timeline').replaceChildren());
  setInterval(tick, 200);
}

async function boot() {
  $('version').textContent = `package ${version()}`;
  renderChoices();
  wire();
  const params = new URLSearchParams(location.search);
  const callback = params.has('state') && (params.has('code') || params.has('error'));
  const saved = sessionStorage.getItem('demo.style');
  selectStyle(callback ? 'kc-pkce' : STYLES[saved] ? saved : 'lgdx');
  try {
    if (callback) {
      const k = await createKeeper('kc-pkce', values());
      const { idTokenClaims } = await k.handleRedirect();
      log('redirect', `Back from the login page: code exchanged, ID token verified${idTokenClaims ? ` (sub ${idTokenClaims.sub})` : ''}`);
    } else if (STYLES[saved]) {
      const k = await createKeeper(saved, values());
      if (!(await k.restore())) log('note', 'No stored session to restore');
    }
  } catch (e) {
    $('login-error').textContent = describeError(e);
    log('note', `Could not resume: ${describeError(e)}`, 'bad');
  }
  await loadToken();
  render();
  updateQueue();
  document.body.dataset.ready = 'true';
}

boot();
