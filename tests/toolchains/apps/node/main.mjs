// Node ESM: `import 'tokenkeeper'` resolves the `node` entry, which is
// ready on import; `tokenkeeper/init` resolves to the same module.
import { TokenKeeper, version } from 'tokenkeeper';
import * as init from 'tokenkeeper/init';
import { exercise } from '../shared/exercise.js';

const result = await exercise(TokenKeeper, process.env.DEVSERVER, version);
await init.initialize();
result.init = init.TokenKeeper === TokenKeeper ? 'same module' : 'another module';
console.log(JSON.stringify(result));
