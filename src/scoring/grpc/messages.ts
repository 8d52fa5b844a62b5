/**
 * The decoded shapes of the protocol's messages, as proto-loader produces them with
 * `protoLoaderOptions` (snake_case names, 64-bit integers as decimal strings, bytes as Buffers,
 * absent fields filled with defaults).
 */

export type Int64 = string;

export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  parameter_choice?: string;
}

export interface InferTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: Int64[];
  uint_contents: number[];
  uint64_contents: Int64[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters: Record<string, InferParameter>;
  contents: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  inputs: InferInputTensor[];
  outputs: { name: string; parameters: Record<string, InferParameter> }[];
  raw_input_contents: Buffer[];
}

/** What the server sends; numbers and Buffers both serialise into int64 and bytes fields. */
export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: InferOutputTensor[];
  raw_output_contents: Buffer[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface ModelRequest {
  name: string;
  version: string;
}

/** A stream's answer to one request: the response, or an error message and the request's ids. */
export interface ModelStreamInferResponse {
  error_message: string;
  infer_response: ModelInferResponse | FailedInferResponse;
}

/** What a failed stream request's answer carries: enough to match it, and the catalogue code. */
export interface FailedInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, { string_param: string }>;
}

export interface RepositoryParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  bytes_param?: Buffer;
  parameter_choice?: string;
}

export interface RepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

export interface RepositoryIndexResponse {
  models: { name: string; version: string; state: string; reason: string }[];
}

/** RepositoryModelLoadRequest and RepositoryModelUnloadRequest have the same fields. */
export interface RepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, RepositoryParameter>;
}
