// Node CommonJS: `require('tokenkeeper')` of the ES module package, where
// Node can require ES modules (on by default from 20.19 and 22.12; the
// `node` entry has no top-level await). Elsewhere it throws
// ERR_REQUIRE_ESM, which this script reports as its result.
let tokenkeeper;
try {
  tokenkeeper = require('tokenkeeper');
} catch (e) {
  console.log(JSON.stringify({ error: `${e.code}: ${e.message.split('\n')[0]}`, code: e.code }));
  process.exit(0);
}
const { exercise } = require('../shared/exercise.js');

exercise(tokenkeeper.TokenKeeper, process.env.DEVSERVER, tokenkeeper.version).then((result) => {
  result.requireModule = process.features.require_module;
  console.log(JSON.stringify(result));
});
