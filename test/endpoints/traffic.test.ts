import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import {
  bearerToken,
  generateKey,
  keyMatches,
  matchRoute,
  mirrorTarget,
  pickByWeight,
  validateTraffic,
} from '../../src/endpoints/index.js';
import { Balancer } from '../../src/endpoints/balancer.js';

function refusal(settings: Parameters<typeof validateTraffic>[0]): string {
  try {
    validateTraffic(settings, 'endpoint "e"');
  } catch (error) {
    assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
    return (error as Error).message;
  }
  assert.fail('expected a refusal');
}

describe('traffic validation', () => {
  const deployments = ['blue', 'green', 'shadow'];
  it('accepts totals of 100 and 0 and a mirror to an idle deployment', () => {
    validateTraffic({ traffic: { blue: 90, green: 10 }, mirror: { shadow: 50 }, deployments });
    validateTraffic({ traffic: { blue: 0 }, mirror: {}, deployments });
    validateTraffic({ traffic: {}, mirror: { shadow: 0, blue: 0 }, deployments });
  });
  it('refuses with messages that say what to change', () => {
    assert.match(
      refusal({ traffic: { blue: 60, green: 30 }, mirror: {}, deployments }),
      /adds up to 90%: it must total 100%/,
    );
    assert.match(
      refusal({ traffic: { blue: 100, red: 0 }, mirror: {}, deployments }),
      /deployment "red", which endpoint "e" does not have \(deployments: blue, green, shadow\)/,
    );
    assert.match(
      refusal({ traffic: { blue: 99.5, green: 0.5 }, mirror: {}, deployments }),
      /whole percentage/,
    );
    assert.match(
      refusal({ traffic: { blue: 100 }, mirror: { shadow: 60 }, deployments }),
      /mirror for "shadow" is 60%: .* 0 to 50/,
    );
    assert.match(
      refusal({ traffic: { blue: 100 }, mirror: { blue: 10 }, deployments }),
      /takes 100% of live traffic and cannot also be the mirror/,
    );
    assert.match(
      refusal({ traffic: { blue: 50, green: 50 }, mirror: { green: 10, shadow: 10 }, deployments }),
      /mirror to one deployment at most/,
    );
    assert.match(
      refusal({ traffic: { blue: 100 }, mirror: { red: 10 }, deployments }),
      /mirror names deployment "red"/,
    );
  });
  it('picks by weight and finds the mirror', () => {
    assert.equal(
      pickByWeight({ blue: 90, green: 10 }, () => 0.89),
      'blue',
    );
    assert.equal(
      pickByWeight({ blue: 90, green: 10 }, () => 0.9),
      'green',
    );
    assert.equal(
      pickByWeight({ blue: 0, green: 100 }, () => 0),
      'green',
    );
    assert.equal(
      pickByWeight({ blue: 0 }, () => 0.5),
      undefined,
    );
    assert.deepEqual(mirrorTarget({ blue: 0, shadow: 20 }), { deployment: 'shadow', percent: 20 });
    assert.equal(mirrorTarget({}), undefined);
  });
});

describe('keys, routes and balancing', () => {
  it('reads bearer tokens and compares keys', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer  abc '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    const keys = { primary: 'k1-aaaaaaaa', secondary: 'k2-bbbbbbbb' };
    assert.equal(keyMatches('k1-aaaaaaaa', keys), true);
    assert.equal(keyMatches('k2-bbbbbbbb', keys), true);
    assert.equal(keyMatches('k1-aaaaaaa', keys), false);
    assert.equal(keyMatches(undefined, keys), false);
    assert.equal(keyMatches('', { primary: '', secondary: undefined }), false);
    assert.notEqual(generateKey(), generateKey());
    assert.equal(generateKey().length, 43);
  });
  it('routes the three families and refuses the rest', () => {
    assert.deepEqual(matchRoute('/endpoints/e1/score'), {
      endpoint: 'e1',
      upstreamPath: '/score',
      family: 'azure',
    });
    assert.deepEqual(matchRoute('/endpoints/e1/v2/health/ready'), {
      endpoint: 'e1',
      upstreamPath: '/v2/health/ready',
      family: 'v2',
    });
    assert.equal(matchRoute('/endpoints/e1/score?verbose=1').upstreamPath, '/score?verbose=1');
    for (const path of ['/score', '/endpoints/e1', '/endpoints/e1/other', '/endpoints//score']) {
      assert.throws(
        () => matchRoute(path),
        (error) => hasErrorCode(error, 'NOT_FOUND'),
      );
    }
  });
  it('balances by least outstanding requests over ready replicas', () => {
    const balancer = new Balancer();
    const replicas = ['a', 'b', 'c'].map((id) => ({
      id,
      url: `http://${id}`,
      state: 'ready' as const,
      restarts: 0,
      reason: undefined,
    }));
    replicas.push({ id: 'd', url: 'http://d', state: 'starting' as never, restarts: 0, reason: undefined });
    balancer.begin('http://a');
    balancer.begin('http://a');
    balancer.begin('http://b');
    assert.equal(balancer.pick(replicas)?.id, 'c');
    balancer.begin('http://c');
    assert.equal(balancer.pick(replicas)?.id, 'b');
    assert.equal(balancer.pick(replicas, new Set(['http://b', 'http://c']))?.id, 'a');
    balancer.end('http://a');
    balancer.end('http://a');
    assert.equal(balancer.pick(replicas)?.id, 'a');
    assert.equal(balancer.pick([replicas[3]!]), undefined);
  });
});
