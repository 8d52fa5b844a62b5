/**
 * The replica token's names, shared by the scoring server that requires it, the targets that set
 * it and the endpoint gateway that sends it: a secret only a replica and its gateway know.
 */

/** The variable a target sets to a replica's token. */
export const REPLICA_TOKEN_ENV = 'BERTH_REPLICA_TOKEN';
/** The header the gateway sends the replica token in. */
export const REPLICA_TOKEN_HEADER = 'x-berth-replica-token';
