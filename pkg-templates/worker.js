// `tokenkeeper/worker`: the keeper runs in a worker (`keeper-worker.js`),
// out of the page's reach; `WorkerKeeper` gives the page TokenKeeper's
// methods and events over a MessagePort. This module loads no WebAssembly:
// the worker does, unless the in-page fallback is chosen.

import { LOGGED_OUT } from './session.js';

/** An Error with a stable `code`, as TokenKeeper's; never carries a token or secret. */
export class TokenKeeperError extends Error {
  constructor(message, { code, status, error, error_description, transient = false, retryIn, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenKeeperError';
    this.code = code;
    if (status !== undefined) this.status = status;
    if (error !== undefined) this.error = error;
    if (error_description !== undefined) this.error_description = error_description;
    this.transient = transient;
    if (retryIn !== undefined) this.retryIn = retryIn;
  }
}

/** An error from the worker, as a TokenKeeperError when it has a code. */
function revive(e) {
  if (!e || typeof e.code !== 'string') return Object.assign(new Error(e?.message ?? 'worker error'), { name: e?.name });
  return new TokenKeeperError(e.message, e);
}

/** Freezes a JSON value and everything in it. */
function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Where options hold something a worker cannot receive (a function, an adapter). */
function uncloneable(value, path = 'options') {
  if (typeof value === 'function') return path;
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = uncloneable(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return null;
}

/** Which worker `mode` can run here: "shared", "dedicated", "service", or null. */
function resolveMode(mode) {
  const shared = typeof globalThis.SharedWorker === 'function';
  const dedicated = typeof globalThis.Worker === 'function';
  if (mode === 'shared') return shared ? 'shared' : null;
  if (mode === 'dedicated') return dedicated ? 'dedicated' : null;
  if (mode === 'service') return globalThis.navigator?.serviceWorker ? 'service' : null;
  if (mode === 'auto') return shared ? 'shared' : dedicated ? 'dedicated' : null;
  throw new TokenKeeperError('"mode" must be "auto", "shared", "dedicated" or "service"', { code: 'AUTH_CONFIG' });
}

/** The authorization response parameters removed from the address bar once handled. */
const CALLBACK_PARAMS = ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri'];

/**
 * A TokenKeeper that runs in a worker: a SharedWorker where the browser has
 * one (one keeper, one refresh, for every tab), else a dedicated Worker.
 * The refresh token and the DPoP key never reach the page.
 */
export class WorkerKeeper extends EventTarget {
  #options;
  #discover;
  #mode;
  #url;
  #worker = null;
  #port = null;
  #next = 1;
  #calls = new Map();
  #state = LOGGED_OUT;
  #opened = null;
  #closed = false;
  /** Service Worker mode: what it is told with every message. */
  #settings = null;
  #onServiceMessage = null;

  /**
   * `options` as TokenKeeper's, without functions (they cannot cross to a
   * worker) and with `storage` `"memory"` (default) or `"indexeddb"` (the
   * session kept sealed in IndexedDB, so a restarted worker restores it
   * and a redirect login survives the navigation). `mode`: `"auto"`
   * (default), `"shared"` or `"dedicated"`; `discover: true` fills the
   * profile from the issuer's discovery document, as
   * `TokenKeeper.discover`; `workerUrl` overrides where `keeper-worker.js`
   * is. Throws `AUTH_WORKER_UNAVAILABLE` where the mode has no worker.
   *
   * `mode: "service"` runs the keeper in a Service Worker, registered from
   * `workerUrl` (a script in the scope of the pages it serves, which may
   * just `import "tokenkeeper/keeper-worker.js"`): with `intercept` (a list
   * of origins among `allowedOrigins`) the page's own `fetch` calls to
   * those origins get the token there; `accessToken()` is refused unless
   * `exposeAccessToken` is true.
   */
  constructor(options, { mode = 'auto', discover = false, workerUrl, intercept = [], exposeAccessToken = false } = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TokenKeeperError('"options" must be an object', { code: 'AUTH_CONFIG' });
    }
    const bad = uncloneable(options);
    if (bad) {
      throw new TokenKeeperError(`"${bad}" cannot be used in a worker: it is a function`, { code: 'AUTH_CONFIG' });
    }
    this.#mode = resolveMode(mode);
    if (!this.#mode) {
      throw new TokenKeeperError(`no ${mode === 'auto' ? '' : `${mode} `}worker in this browser`, { code: 'AUTH_WORKER_UNAVAILABLE' });
    }
    this.#options = structuredClone(options);
    this.#discover = Boolean(discover);
    this.#url = workerUrl ?? null;
    if (this.#mode === 'service') {
      if (!workerUrl) {
        throw new TokenKeeperError('"workerUrl" is required with mode "service": a script in the scope of the pages', { code: 'AUTH_CONFIG' });
      }
      if (!Array.isArray(intercept) || intercept.some((o) => typeof o !== 'string')) {
        throw new TokenKeeperError('"intercept" must be a list of origins', { code: 'AUTH_CONFIG' });
      }
      this.#settings = { intercept: intercept.map((o) => new URL(o).origin), exposeAccessToken: Boolean(exposeAccessToken) };
      this.#startService();
      return;
    }
    this.#start();
  }

  /** Service Worker mode: registers the worker, waits until it controls this page, attaches. */
  #startService() {
    this.#onServiceMessage = ({ data }) => {
      if (data?.t === 'event' && data.key === JSON.stringify([this.#options, this.#discover])) this.#receive(data);
    };
    navigator.serviceWorker.addEventListener('message', this.#onServiceMessage);
    this.#opened = (async () => {
      await navigator.serviceWorker.register(this.#url, { type: 'module' });
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
      }
      const answer = await this.#service('open');
      this.#state = deepFreeze(answer.state ?? LOGGED_OUT);
    })();
    this.#opened.catch(() => undefined);
  }

  /** One request to the Service Worker, its answer on a port of its own. */
  #service(method, args = [], transfer = []) {
    if (this.#closed) {
      return Promise.reject(new TokenKeeperError('the keeper is closed', { code: 'AUTH_CONFIG' }));
    }
    const controller = navigator.serviceWorker.controller;
    if (!controller) {
      return Promise.reject(new TokenKeeperError('no service worker controls this page', { code: 'AUTH_WORKER_FAILED', transient: true }));
    }
    const { port1, port2 } = new MessageChannel();
    return new Promise((resolve, reject) => {
      port1.onmessage = ({ data }) => {
        port1.close();
        if (data.state) this.#state = deepFreeze(data.state);
        if (data.t === 'done') resolve(data);
        else reject(revive(data.error));
      };
      controller.postMessage(
        { t: 'call', options: this.#options, discover: this.#discover, settings: this.#settings, method, args },
        [port2, ...transfer],
      );
    });
  }

  /**
   * A WorkerKeeper where workers run, else, with `fallback: "page"`, an
   * in-page TokenKeeper (loaded only then; `storage: "indexeddb"` becomes
   * `"session"` there); otherwise throws as the constructor does.
   */
  static async create(options, { fallback = 'error', ...workerOptions } = {}) {
    try {
      return new WorkerKeeper(options, workerOptions);
    } catch (e) {
      if (fallback !== 'page' || e?.code !== 'AUTH_WORKER_UNAVAILABLE') throw e;
      const { TokenKeeper } = await import('./index.js');
      // In the page, the session that outlives the worker's memory lasts
      // as long as the tab, as the worker's sealed store would let it
      // survive a redirect login: sessionStorage.
      const inPage = { ...options, storage: options.storage === 'indexeddb' ? 'session' : options.storage };
      return workerOptions.discover ? TokenKeeper.discover(inPage) : new TokenKeeper(inPage);
    }
  }

  /** "shared", "dedicated" or "service": where the keeper runs. */
  get mode() {
    return this.#mode;
  }

  /** Starts (or restarts) the worker and attaches to its keeper. */
  #start() {
    // Literal `new URL(…, import.meta.url)` in each constructor call, the
    // form bundlers recognise and emit the worker for.
    const options = { type: 'module', name: 'tokenkeeper' };
    let worker;
    if (this.#mode === 'shared') {
      worker = this.#url
        ? new SharedWorker(this.#url, options)
        : new SharedWorker(new URL('./keeper-worker.js', import.meta.url), options);
      this.#port = worker.port;
    } else {
      worker = this.#url
        ? new Worker(this.#url, options)
        : new Worker(new URL('./keeper-worker.js', import.meta.url), options);
      this.#port = worker;
    }
    this.#worker = worker;
    this.#port.onmessage = ({ data }) => this.#receive(data);
    worker.onerror = (e) => this.#died(e);
    this.#port.start?.();
    this.#opened = this.#send({ t: 'open', options: this.#options, discover: this.#discover });
    this.#opened.catch(() => undefined);
  }

  /**
   * The worker failed (it could not load, or it crashed): calls waiting
   * for it fail with `AUTH_WORKER_FAILED`, and a new worker restores the
   * session from what the old one kept (`storage: "indexeddb"`).
   */
  #died(event) {
    event?.preventDefault?.();
    const error = new TokenKeeperError('the keeper\'s worker failed', { code: 'AUTH_WORKER_FAILED', transient: true });
    for (const { reject } of this.#calls.values()) reject(error);
    this.#calls.clear();
    if (this.#closed) return;
    this.#port.onmessage = null;
    this.#worker.onerror = null;
    if (this.#mode === 'dedicated') this.#worker.terminate();
    this.#start();
    this.#opened.then(() => this.#call('restore')).catch(() => undefined);
  }

  #receive(message) {
    if (message?.t === 'event') {
      this.#state = deepFreeze(message.state ?? LOGGED_OUT);
      const detail = message.detail && typeof message.detail === 'object' ? { ...message.detail } : message.detail;
      if (detail?.error) detail.error = revive(detail.error);
      this.dispatchEvent(new CustomEvent(message.type, { detail }));
      return;
    }
    const call = this.#calls.get(message?.id);
    if (!call) return;
    this.#calls.delete(message.id);
    if (message.state) this.#state = deepFreeze(message.state);
    if (message.t === 'done') call.resolve(message);
    else call.reject(revive(message.error));
  }

  #send(message, transfer = []) {
    if (this.#closed) {
      return Promise.reject(new TokenKeeperError('the keeper is closed', { code: 'AUTH_CONFIG' }));
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#port.postMessage({ ...message, id }, transfer);
    });
  }

  /** Calls `method` of the keeper in the worker once it is attached. */
  async #call(method, args = [], transfer = []) {
    await this.#opened;
    const { value } =
      this.#mode === 'service'
        ? await this.#service(method, args, transfer)
        : await this.#send({ t: 'call', method, args }, transfer);
    return value;
  }

  /** Loads the session the worker holds or kept; resolves to whether one is active. */
  restore() {
    return this.#call('restore');
  }

  /** Logs in, as TokenKeeper's `login`: the credentials go to the worker. */
  login(credentials) {
    return this.#call('login', [credentials]);
  }

  /** A valid access token (the worker refreshes first when due). */
  accessToken() {
    return this.#call('accessToken');
  }

  /** Refreshes now (unless another tab just did). */
  refresh() {
    return this.#call('refresh');
  }

  /** Logs out: the worker clears its storage and revokes where configured. */
  logout() {
    return this.#call('logout');
  }

  /** The last state the worker reported: status, expiries, scope, claims. */
  get state() {
    return this.#state;
  }

  /**
   * `fetch` through the worker's keeper: it attaches the token (and a DPoP
   * proof) for `allowedOrigins`, renews once on a rejection, and the page
   * gets the response. The body is read whole on both sides (no streaming).
   */
  async fetch(input, init) {
    const request = new Request(input, init);
    const body = request.body === null ? null : await request.arrayBuffer();
    const answer = await this.#call(
      'fetch',
      [{ url: request.url, method: request.method, headers: [...request.headers], body }],
      body ? [body] : [],
    );
    return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
  }

  /** The authorization URL; the pending login is kept by the worker. */
  authorizeUrl(params) {
    const here = globalThis.location;
    const page = here && here.origin && here.origin !== 'null' ? here.origin + here.pathname : undefined;
    const merged = page && !params?.redirectUri && !this.#options.profile?.redirectUri ? { ...params, redirectUri: page } : params;
    return this.#call('authorizeUrl', [merged]);
  }

  /** `authorizeUrl(params)`, then navigates there; resolves to the URL. */
  async loginWithRedirect(params) {
    const url = await this.authorizeUrl(params);
    globalThis.location?.assign(url);
    return url;
  }

  /**
   * Hands the callback URL (default: this page's) to the worker, which
   * checks it and exchanges the code; the response parameters are then
   * removed from the address bar. Resolves to `{ idTokenClaims }`.
   */
  async handleRedirect(url = globalThis.location?.href) {
    if (typeof url !== 'string' && !(url instanceof URL)) {
      throw new TokenKeeperError('"url" must be the callback URL', { code: 'AUTH_CONFIG' });
    }
    const href = String(url);
    try {
      return await this.#call('handleRedirect', [href]);
    } finally {
      const { location, history } = globalThis;
      if (location?.href === href && typeof history?.replaceState === 'function') {
        const clean = new URL(href);
        for (const p of CALLBACK_PARAMS) clean.searchParams.delete(p);
        history.replaceState(history.state, '', clean.href);
      }
    }
  }

  /** Detaches from the worker; the keeper there goes on for other tabs. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#mode === 'service') {
      navigator.serviceWorker.removeEventListener('message', this.#onServiceMessage);
      return;
    }
    this.#port.postMessage({ t: 'close' });
    if (this.#mode === 'dedicated') this.#worker.terminate();
    else this.#port.close();
  }
}
