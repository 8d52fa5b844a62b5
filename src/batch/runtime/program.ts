/**
 * What a worker runs for each mini-batch: the user's scoring script, or berth's built-in ONNX
 * scoring when there is none. Both take the readable items of one mini-batch and answer with the
 * script-contract value (an array aligned with the items, or an object / Map keyed by item key),
 * plus reasons for items the program itself refused.
 */
export type ItemsForRun =
  | { kind: 'files'; keys: string[]; paths: string[] }
  | { kind: 'rows'; keys: string[]; rows: Record<string, unknown>[] };

export interface ProgramAnswer {
  /** What `run` returned. */
  value: unknown;
  /** Items the program failed on its own, by key, with the reason (built-in scoring only). */
  itemErrors: Map<string, string>;
}

export interface BatchProgram {
  /**
   * The program opens each input file itself and reports one it cannot read as an item error
   * (built-in scoring), so the runner leaves out its own readability check, which would open every
   * file a second time. A script gets paths and opens them as it likes: the runner checks for it.
   */
  readonly readsFiles: boolean;
  run(items: ItemsForRun, miniBatch: { index: number; attempt: number }): Promise<ProgramAnswer>;
  close(): Promise<void>;
}
