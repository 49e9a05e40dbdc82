// Shows why the demo could not start. A classic script, run before the
// module: when main.js or the package fails to load (a Content Security
// Policy that refuses WebAssembly gives AUTH_WASM_BLOCKED), the failure
// reaches `window` as an error event, and the page says so instead of
// staying silent.
window.addEventListener('error', (event) => {
  const error = event.error;
  const box = document.getElementById('startup-error');
  if (!box || !error || box.hidden === false) return;
  box.querySelector('code').textContent = error.code ?? error.name ?? 'Error';
  box.querySelector('span').textContent = error.message ?? String(error);
  box.hidden = false;
});
