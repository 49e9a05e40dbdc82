// The plain import with esbuild's defaults (`--bundle --format=esm`): the
// `browser` entry's `new URL('./tokenkeeper_bg.wasm', import.meta.url)` is
// left as it is, so the app copies the .wasm next to the bundle
// (`cp node_modules/tokenkeeper/tokenkeeper_bg.wasm dist/`).
import { TokenKeeper, version } from 'tokenkeeper';
import { exercise } from '../shared/exercise.js';
import { devserver, publish } from '../shared/page.js';

publish(exercise(TokenKeeper, devserver(), version).then((page) => ({ page })));
