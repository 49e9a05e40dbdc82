// A page built by Rollup: the package's `import` entry,
// its .wasm emitted by import-meta-assets.
import { TokenKeeper, version } from 'tokenkeeper';
import { exercise } from '../shared/exercise.js';
import { devserver, publish } from '../shared/page.js';

publish(exercise(TokenKeeper, devserver(), version).then((page) => ({ page })));
