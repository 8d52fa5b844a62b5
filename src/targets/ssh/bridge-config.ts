/** What the bridge (bridge.ts, a process of its own) is given: its config file, and its hello variable. */
export interface BridgeConfig {
  /** The ssh arguments that run the remote supervisor. */
  session: string[];
  /** The ssh options of the master connection (for `-O forward`), and the host. */
  control: string[];
  host: string;
}

/** The variable the supervisor's hello line (with the replica token) reaches the bridge in. */
export const helloVariable = 'BERTH_SSH_HELLO';
