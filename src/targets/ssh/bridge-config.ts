/** What the bridge (bridge.ts, a process of its own) is given: its config file, and its hello variable. */
export interface BridgeConfig {
  /** The ssh arguments that attach to the replica's remote supervisor (starting it if none runs). */
  session: string[];
  /** The ssh client options (no destination) of the bridge's own port-forward connection. */
  forward: string[];
  host: string;
  /** The bounded back-off between reconnections, in ms. */
  reconnect: { initialMs: number; maxMs: number };
  /** How long a stop may take on the machine before the session is ended (the drain grace and some). */
  stopMs: number;
}

/** The variable the supervisor's hello line (with the replica token) reaches the bridge in. */
export const helloVariable = 'BERTH_SSH_HELLO';
