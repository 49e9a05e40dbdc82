// A Worker: the keeper and the Workers helpers from `tokenkeeper/workers`,
// with the runtime's own types (@cloudflare/workers-types).
import { TokenHolder, TokenKeeper, durableTokens, kvStorage } from 'tokenkeeper/workers';

interface Env {
  TOKENS_KV: KVNamespace;
  API_TOKENS: DurableObjectNamespace<ApiTokens>;
  TOKEN_URL: string;
}

export class ApiTokens extends TokenHolder {
  keeperOptions(env: Env) {
    return { profile: { kind: 'oauth2' as const, tokenUrl: env.TOKEN_URL, clientId: 'c', clientSecret: 's' } };
  }
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const keeper = new TokenKeeper({
      profile: { kind: 'oauth2', tokenUrl: env.TOKEN_URL, clientId: 'c', clientSecret: 's' },
      storage: kvStorage(env.TOKENS_KV),
      autoRefresh: false,
    });
    const token = await keeper.accessToken({ waitUntil: ctx.waitUntil.bind(ctx) });
    const api = durableTokens(env.API_TOKENS, { allowedOrigins: [new URL(request.url).origin] });
    const res = await api.fetch(request.url);
    return new Response(`${token.length} ${res.status}`);
  },
} satisfies ExportedHandler<Env>;
