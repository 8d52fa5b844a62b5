/**
 * Header rules for forwarding: hop-by-hop headers stay on their own connection, the endpoint key
 * never reaches a replica (replicas run with auth off), and every answer names its deployment.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export const deploymentHeader = 'berth-deployment';
export const azureDeploymentHeader = 'azureml-model-deployment';

export function requestHeaders(
  headers: IncomingHttpHeaders,
  host: string,
  client: string | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || name === 'host' || name === 'authorization') continue;
    out[name] = value;
  }
  out.host = host;
  if (client !== undefined) {
    const previous = headers['x-forwarded-for'];
    out['x-forwarded-for'] = previous === undefined ? client : `${String(previous)}, ${client}`;
  }
  return out;
}

export function responseHeaders(headers: IncomingHttpHeaders, deployment: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name)) continue;
    out[name] = value;
  }
  out[deploymentHeader] = deployment;
  out[azureDeploymentHeader] = deployment;
  return out;
}

/** The deployment a request names, from `berth-deployment` or `azureml-model-deployment`. */
export function namedDeployment(headers: IncomingHttpHeaders): string | undefined {
  const value = headers[deploymentHeader] ?? headers[azureDeploymentHeader];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}
