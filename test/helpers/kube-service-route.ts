/**
 * What kube-proxy does for the `kubernetes` Service, done for the pods of the test node only: a
 * pod reaches the API server at the Service's cluster IP (KUBERNETES_SERVICE_HOST, which the kubelet
 * gives every pod and KubeConfig.loadFromCluster() reads). The test cluster runs no kube-proxy and
 * its API server listens on loopback, so packets from the node's bridge to that IP and port are
 * sent to the API server's loopback address (DNAT, with `route_localnet` on the bridge so the
 * kernel lets a bridge packet reach 127.0.0.1), and pod-to-pod packets on the bridge are accepted
 * in FORWARD. Only the bridge the test made is touched; the returned function takes the rules away.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Cluster } from '../../src/targets/kubernetes/client.js';

const run = promisify(execFile);

export async function routeApiServerService(
  admin: Cluster,
  bridge: string,
  server: string,
): Promise<() => Promise<void>> {
  const service = await admin.read({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default' },
  });
  const spec = service?.spec as { clusterIP?: string; ports?: { port: number }[] } | undefined;
  const clusterIp = spec?.clusterIP;
  const port = spec?.ports?.[0]?.port;
  if (clusterIp === undefined || port === undefined) throw new Error('no default/kubernetes Service');
  const { hostname, port: apiPort } = new URL(server);
  const rule = [
    'PREROUTING',
    '-i',
    bridge,
    '-d',
    `${clusterIp}/32`,
    '-p',
    'tcp',
    '--dport',
    String(port),
    '-j',
    'DNAT',
    '--to-destination',
    `${hostname}:${apiPort}`,
  ];
  // Pod to pod on the bridge: with br_netfilter loaded, bridged packets pass the FORWARD chain,
  // whose policy Docker sets to DROP; kube-proxy accepts the cluster's traffic there too.
  const forward = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
  writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
  await run('iptables', ['-t', 'nat', '-A', ...rule]);
  await run('iptables', ['-I', ...forward]);
  return async () => {
    await run('iptables', ['-t', 'nat', '-D', ...rule]).catch(() => undefined);
    await run('iptables', ['-D', ...forward]).catch(() => undefined);
  };
}
