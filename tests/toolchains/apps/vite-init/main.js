// A page built by Vite with its defaults, for build targets without
// top-level await (Vite 6 and older: `build.target: 'modules'`, es2020):
// `tokenkeeper/init` on the page, instantiated by `initialize()`; the
// workers are those of the other Vite app (../vite/workers.js).
import { TokenKeeper, initialize, version } from 'tokenkeeper/init';
import { exercise } from '../shared/exercise.js';
import { devserver, publish } from '../shared/page.js';
import { inWorkers } from '../vite/workers.js';

publish(
  initialize()
    .then(() => exercise(TokenKeeper, devserver(), version))
    .then(async (page) => ({ page, ...(await inWorkers()) })),
);
