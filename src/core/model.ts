import type { ModelSignature } from './tensor.js';

/**
 * `onnx` is served from its signature; the others need a scoring script: `sklearn` and `pytorch`
 * (TorchScript, or a state dict with the code that builds the module) are read at registration to
 * check they load and to show what they hold; `python` and `custom` are any file or folder.
 */
export const frameworks = ['onnx', 'custom', 'sklearn', 'pytorch', 'python'] as const;
export type Framework = (typeof frameworks)[number];

/**
 * A stored artifact. A single file is addressed by the sha256 of its bytes; a folder by the sha256
 * of its manifest (a canonical JSON listing of relative path, sha256 and size for every file).
 */
export interface ArtifactRef {
  kind: 'file' | 'folder';
  sha256: string;
  /** Total bytes: the file's size, or the sum of a folder's files. */
  size: number;
  /** The registered file's base name, or the folder's base name. */
  fileName: string;
}

/** One file inside a folder artifact. */
export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface ModelVersion {
  name: string;
  version: number;
  framework: Framework;
  description: string;
  tags: Record<string, string>;
  artifact: ArtifactRef;
  /** For a folder: the path of the ONNX file inside it that is served (undefined for a single file). */
  modelFile: string | undefined;
  /** Read from the model at registration; null for framework `custom`. */
  signature: ModelSignature | null;
  /** ISO-8601 UTC. */
  createdAt: string;
}
