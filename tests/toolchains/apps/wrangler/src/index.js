// A Worker that builds a keeper inside the request (nothing at global
// scope), logs in against the devserver (`env.DEVSERVER`, given with
// `wrangler dev --var`) and answers with the result as JSON. It imports the
// Workers helpers too, from `tokenkeeper/workers`, so the bundle holds them.
import { TokenKeeper, version } from 'tokenkeeper';
import { kvStorage, durableTokens } from 'tokenkeeper/workers';
import { exercise } from '../../shared/exercise.js';

export default {
  async fetch(request, env) {
    const result = await exercise(TokenKeeper, env.DEVSERVER, version);
    result.helpers = [kvStorage, durableTokens].map((f) => typeof f).join(',');
    return Response.json(result, { status: result.error ? 500 : 200 });
  },
};
