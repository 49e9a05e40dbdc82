// A page bundled by esbuild (`--bundle --format=esm --loader:.wasm=file`).
// esbuild leaves `new URL('./x.wasm', import.meta.url)` as it is and emits
// no asset for it, so the app imports the .wasm itself (the file loader
// copies it to the output and gives its URL) and hands it to `initialize`
// of `tokenkeeper/init`.
import { TokenKeeper, initialize, version } from 'tokenkeeper/init';
import wasm from 'tokenkeeper/tokenkeeper_bg.wasm';
import { exercise } from '../shared/exercise.js';
import { devserver, publish } from '../shared/page.js';

publish(
  initialize(new URL(wasm, import.meta.url))
    .then(() => exercise(TokenKeeper, devserver(), version))
    .then((page) => ({ page })),
);
