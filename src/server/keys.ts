/** Endpoint key pairs; the key itself comes from the gateway's generator (32 random bytes, base64url). */
import { generateKey } from '../endpoints/keys.js';
import type { EndpointKeyPair } from '../workspace/index.js';

export const keyTypes = ['primary', 'secondary'] as const;
export type KeyType = (typeof keyTypes)[number];

export function generateKeyPair(): EndpointKeyPair {
  return { primaryKey: generateKey(), secondaryKey: generateKey() };
}

/** A new pair with one key replaced; the other keeps serving while clients move over. */
export function regenerate(keys: EndpointKeyPair, type: KeyType): EndpointKeyPair {
  return type === 'primary'
    ? { ...keys, primaryKey: generateKey() }
    : { ...keys, secondaryKey: generateKey() };
}
