// The baseline: a module script and nothing else.
window.__bench = { ready: performance.now() };
