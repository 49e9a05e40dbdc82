import { useRef, useState } from 'react';
import { KeeperProvider, useAccessToken, useKeeper, useSession } from 'tokenkeeper/react';

const describe = (e) => (e?.code ? `${e.code}: ${e.message}` : String(e));

export function App({ keeper, userinfoUrl }) {
  const [startError, setStartError] = useState(null);
  return (
    <KeeperProvider keeper={keeper} onError={(e) => setStartError(describe(e))}>
      <Session userinfoUrl={userinfoUrl} startError={startError} />
    </KeeperProvider>
  );
}

function Session({ userinfoUrl, startError }) {
  const keeper = useKeeper();
  const session = useSession(); // a new value only when the state really changed
  const token = useAccessToken();
  const [api, setApi] = useState(null);
  const [error, setError] = useState(null);
  // How often this component rendered: a refresh re-renders it, time passing does not.
  const renders = useRef(0);
  renders.current += 1;

  const run = (action) => {
    setError(null);
    action().catch((e) => setError(describe(e)));
  };
  const callApi = () =>
    run(async () => {
      const res = await keeper.fetch(userinfoUrl);
      setApi({ status: res.status, body: await res.text() });
    });
  const logout = () => {
    setApi(null);
    run(() => keeper.logout());
  };
  const expiresAt = session.expiresAt && new Date(session.expiresAt).toISOString();

  return (
    <main data-status={session.status} data-renders={renders.current}>
      <h1>tokenkeeper + React</h1>
      <p>
        Session: <strong id="status">{session.status}</strong>
        {session.busy && ' (working…)'}
      </p>
      {session.status === 'active' ? (
        <>
          <p>
            Access token <code id="token">…{token?.slice(-8)}</code>, expires at{' '}
            <time id="expires-at" dateTime={expiresAt}>{expiresAt}</time>
          </p>
          <h2>Claims</h2>
          <pre id="claims">{JSON.stringify(session.claims, null, 2)}</pre>
          <button id="call-api" onClick={callApi}>Call API</button>{' '}
          <button id="refresh" onClick={() => run(() => keeper.refresh())}>Refresh</button>{' '}
          <button id="logout" onClick={logout}>Logout</button>
        </>
      ) : (
        <button id="login" onClick={() => run(() => keeper.loginWithRedirect())}>Login</button>
      )}
      {api && (
        <pre id="api" data-status={api.status}>
          {api.status} {api.body}
        </pre>
      )}
      {(startError || error) && <p id="error" role="alert">{startError || error}</p>}
    </main>
  );
}
