// The page (`target: 'web'`): `tokenkeeper` on the main thread.
import { TokenKeeper, version } from 'tokenkeeper';
import { exercise } from '../shared/exercise.js';
import { devserver, publish } from '../shared/page.js';

publish(exercise(TokenKeeper, devserver(), version).then((page) => ({ page })));
