// The Service Worker of tests/e2e/service-worker.test.mjs, in the page
// directory so that its scope (/demo/) covers the page: the package's
// keeper worker and nothing else, as an application would register it.
import '/pkg/keeper-worker.js';
