// A dedicated Worker (`target: 'webworker'`), started by host.js:
// `tokenkeeper` itself, whose top-level await webpack turns into an
// asynchronous module start.
import { TokenKeeper, version } from 'tokenkeeper';
import { exercise } from '../shared/exercise.js';
import { answer } from '../shared/worker.js';

answer((devserver) => exercise(TokenKeeper, devserver, version));
