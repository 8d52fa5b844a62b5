/**
 * The container target runs the shared conformance suite on a real Docker Engine, from the test
 * base image. Outside CI a missing engine skips it with a message; in CI it fails.
 */
import {
  createTestContainerTarget,
  dockerOrSkip,
  labelledContainers,
} from '../fixtures/docker-base-image.js';
import { describeTargetConformance } from './conformance.js';

const name = `conformance-${process.pid}`;
describeTargetConformance('container', () => createTestContainerTarget(name), {
  skip: await dockerOrSkip(),
  targetName: name,
  leftovers: (handles) => labelledContainers(name, handles),
});
