import { strict as assert } from 'node:assert';
import type { OutgoingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { Balancer } from '../../src/endpoints/balancer.js';
import { replicaTarget, withReplicaToken } from '../../src/endpoints/replica-token.js';
import type { ReplicaStatus } from '../../src/targets/target.js';

const replica = (id: string, port: number, token?: string): ReplicaStatus => ({
  id,
  url: `http://127.0.0.1:${port}`,
  state: 'ready',
  restarts: 0,
  reason: undefined,
  token,
});

describe('replica token on the way to a replica', () => {
  it('goes from the balancer to the x-berth-replica-token header, never in the URL sent', () => {
    const picked = new Balancer().pick([replica('a', 4000, 'secret-token_1')]);
    assert.equal(picked?.url, 'http://replica:secret-token_1@127.0.0.1:4000');
    const headers: OutgoingHttpHeaders = { 'x-berth-replica-token': 'a client guess' };
    const target = replicaTarget(picked.url, '/v2/models/m/infer?x=1', headers);
    assert.equal(target.href, 'http://127.0.0.1:4000/v2/models/m/infer?x=1');
    assert.equal(headers['x-berth-replica-token'], 'secret-token_1');
  });

  it('leaves a replica without a token alone, and drops a client copy of the header', () => {
    assert.equal(withReplicaToken('http://127.0.0.1:4000', undefined), 'http://127.0.0.1:4000');
    const headers: OutgoingHttpHeaders = { 'x-berth-replica-token': 'a client guess' };
    const target = replicaTarget('http://127.0.0.1:4000', '/score', headers);
    assert.equal(target.href, 'http://127.0.0.1:4000/score');
    assert.equal(headers['x-berth-replica-token'], undefined);
  });

  it('keeps balancing and retry exclusion on the URL it hands out', () => {
    const balancer = new Balancer();
    const replicas = [replica('a', 4000, 't1'), replica('b', 4001, 't2')];
    const first = balancer.pick(replicas)!;
    balancer.begin(first.url);
    const second = balancer.pick(replicas)!;
    assert.notEqual(second.id, first.id, 'the idle replica is picked');
    assert.equal(balancer.pick(replicas, new Set([first.url, second.url])), undefined);
    assert.equal(balancer.outstandingTo(first.url), 1);
  });
});
