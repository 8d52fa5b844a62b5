export { startGrpcServer, type GrpcServerHandle, type GrpcServerOptions } from './server.js';
export { grpcStatusOf, ERROR_CODE_TRAILER } from './status.js';
export { loadInferenceService, protoLoaderOptions, protoPath, SERVICE_NAME } from './proto.js';
export { encodeStrings } from './encode.js';
