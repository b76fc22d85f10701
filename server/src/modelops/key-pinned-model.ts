import { parseAliasRef } from './alias-models';

/** An alias reference (`chat-default`, `chat-default@3`); catalog ids hold a `/`. */
const aliasRef = (id: string) => (id.includes('/') ? undefined : parseAliasRef(id));

/**
 * The model a request of an API key asks for. A key may pin one: any pin stands in for a request that
 * names no model, and a pinned alias version (`chat-default@3`) also for a request that names that
 * alias without a version, so that a key's traffic stays on a version while the alias moves on.
 * Whatever else the request names stands.
 */
export function modelForKey(requested: string | undefined, pin: string | null | undefined): string | undefined {
  if (!pin) return requested;
  if (requested === undefined) return pin;
  const pinned = aliasRef(pin);
  if (pinned?.version === undefined) return requested;
  const asked = aliasRef(requested);
  return asked && asked.version === undefined && asked.alias === pinned.alias ? pin : requested;
}
