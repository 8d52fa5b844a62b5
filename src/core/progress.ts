/** Called as bytes move: registration and download report through it. */
export type ProgressCallback = (doneBytes: number, totalBytes: number) => void;
