import test from 'ava';
import fc from 'fast-check';
import { AuthThrottle } from '../../src/core/auth-throttle.ts';
import { Admission, effectiveLimits, openFilesLimit, RefusalLog } from '../../src/core/limits.ts';
import { fibTrieLocalAddresses, GatewayHost, ifInet6Addresses } from '../../src/core/local-destination.ts';

const AUTO = { connections: null, perSource: null, handshakes: null, handshakesPerSource: null };

// ---------------------------------------------------------------------------
// limits

test('openFilesLimit reads the soft limit of /proc/self/limits', (t) => {
  const text = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63704                63704                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;
  t.is(openFilesLimit(text), 1024);
  t.is(openFilesLimit(text.replace('1024 ', 'unlimited ')), null);
  t.is(openFilesLimit(''), null);
});

test('effectiveLimits: auto caps from the open-files limit, explicit ones kept', (t) => {
  t.deepEqual(effectiveLimits(AUTO, 1024), { connections: 320, perSource: 80, handshakes: 240, handshakesPerSource: 30 });
  t.deepEqual(effectiveLimits(AUTO, 65536), { connections: 21824, perSource: 256, handshakes: 16368, handshakesPerSource: 64 });
  t.deepEqual(effectiveLimits(AUTO, 64), { connections: 16, perSource: 4, handshakes: 12, handshakesPerSource: 2 });
  t.is(effectiveLimits(AUTO, null).connections, 16_384);
  t.deepEqual(effectiveLimits({ connections: 10, perSource: 5, handshakes: 3, handshakesPerSource: 1 }, 1024), { connections: 10, perSource: 5, handshakes: 3, handshakesPerSource: 1 });
});

test('Admission: each cap refuses by name, and released slots are free again', (t) => {
  const a = new Admission({ connections: 4, perSource: 2, handshakes: 2, handshakesPerSource: 1 });
  t.is(a.admit('A'), null);
  t.is(a.admit('A'), 'handshakes-per-source');
  a.handshakeDone('A');
  t.is(a.admit('A'), null);
  t.is(a.admit('A'), 'per-source');
  t.is(a.admit('B'), null);
  t.is(a.admit('C'), 'handshakes', 'A and B are both in handshake');
  a.handshakeDone('B');
  t.is(a.admit('C'), null);
  t.is(a.admit('D'), 'connections');
  a.release('A', false);
  a.release('A', true);
  t.is(a.openConnections, 2);
  t.is(a.admit('D'), null);
});

test('property: Admission never exceeds a cap, and counts return to zero', (t) => {
  fc.assert(
    fc.property(
      fc.record({ connections: fc.integer({ min: 1, max: 8 }), perSource: fc.integer({ min: 1, max: 4 }), handshakes: fc.integer({ min: 1, max: 6 }), handshakesPerSource: fc.integer({ min: 1, max: 3 }) }),
      fc.array(fc.tuple(fc.constantFrom('admit', 'done', 'close'), fc.constantFrom('a', 'b', 'c')), { maxLength: 60 }),
      (limits, ops) => {
        const a = new Admission(limits);
        const open: { source: string; handshaking: boolean }[] = [];
        for (const [op, source] of ops) {
          if (op === 'admit') {
            if (a.admit(source) === null) open.push({ source, handshaking: true });
          } else {
            const c = open.find((x) => x.source === source && (op === 'close' || x.handshaking));
            if (!c) continue;
            if (op === 'done') {
              a.handshakeDone(source);
              c.handshaking = false;
            } else {
              a.release(source, c.handshaking);
              open.splice(open.indexOf(c), 1);
            }
          }
          t.true(open.length <= limits.connections);
          t.true(open.filter((x) => x.handshaking).length <= limits.handshakes);
          for (const s of ['a', 'b', 'c']) {
            t.true(open.filter((x) => x.source === s).length <= limits.perSource);
            t.true(open.filter((x) => x.source === s && x.handshaking).length <= limits.handshakesPerSource);
          }
          t.is(a.openConnections, open.length);
        }
        for (const c of open) a.release(c.source, c.handshaking);
        t.is(a.openConnections, 0);
      },
    ),
  );
});

test('RefusalLog: the first refusal at once, then one summary per 10 s', async (t) => {
  let now = 0;
  const lines: string[] = [];
  const log = new RefusalLog(effectiveLimits(AUTO, 1024), () => now, (l) => lines.push(l));
  log.note('per-source', '10.0.0.9');
  t.is(lines.length, 1);
  t.regex(lines[0]!, /the per-source connection limit \(80\) reached \(source 10\.0\.0\.9\)/);
  for (let i = 0; i < 100; i++) log.note('per-source', '10.0.0.9');
  log.note('connections', '10.0.0.7');
  t.is(lines.length, 1, 'summarised, not one line each');
  now = 10_000;
  log.close();
  t.is(lines.length, 2);
  t.is(lines[1], 'ugate: refused 101 connection(s) in the last 10 s (per-source=100 connections=1); most from 10.0.0.9 (100)');
  t.is(log.count, 102);
});

// ---------------------------------------------------------------------------
// password guessing

test('AuthThrottle: five failures free, then one answer per second per source; sources apart; forgotten after a quiet minute', (t) => {
  let now = 0;
  const th = new AuthThrottle(() => now);
  t.deepEqual([1, 2, 3, 4, 5].map(() => th.failed('A')), [0, 0, 0, 0, 0]);
  // three more at once: each one second after the one before
  t.deepEqual([th.failed('A'), th.failed('A'), th.failed('A')], [1000, 2000, 3000]);
  t.is(th.failed('B'), 0, 'another source is not slowed');
  now = 3500;
  t.is(th.failed('A'), 500, 'the turn after the last queued one');
  now = 100_000;
  t.is(th.failed('A'), 0, 'forgotten after a quiet spell');
});

test('AuthThrottle: memory stays bounded by maxSources', (t) => {
  const th = new AuthThrottle(() => 0, { maxSources: 3, free: 0 });
  for (const s of ['a', 'b', 'c', 'd']) th.failed(s);
  // 'a' was the oldest and was dropped: it starts afresh (no wait), while 'd' waits its turn
  t.is(th.failed('a'), 0);
  t.is(th.failed('d'), 1000);
});

// ---------------------------------------------------------------------------
// the gateway host's own addresses

const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.201.1.0/24 2 0 2
        |-- 10.201.1.0
           /24 link UNICAST
        |-- 10.201.1.1
           /32 host LOCAL
        |-- 10.201.1.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     |-- 192.168.1.1
        /32 host LOCAL
`;

test('fibTrieLocalAddresses: the /32 host LOCAL entries', (t) => {
  t.deepEqual(fibTrieLocalAddresses(FIB_TRIE).sort(), ['10.201.1.1', '127.0.0.1', '192.168.1.1']);
  t.deepEqual(fibTrieLocalAddresses(''), []);
});

test('ifInet6Addresses: every address, formatted', (t) => {
  const text = 'fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80       lo\nfd000201000100000000000000000001 03 40 00 80 r0\n';
  t.deepEqual(ifInet6Addresses(text), ['fe80::fc:ff:fe00:1', '::1', 'fd00:201:1::1']);
});

test('GatewayHost: classes of destinations on this host; a client on it may reach anything', async (t) => {
  const files: Record<string, string> = { '/proc/net/fib_trie': FIB_TRIE, '/proc/net/if_inet6': 'fd000201000100000000000000000001 03 40 00 80 r0\n' };
  const gh = new GatewayHost({ listAddresses: () => ['127.0.0.1', '::1'], readFile: async (p) => new TextEncoder().encode(files[p] ?? ''), now: () => 0 });
  const rows: [string, string | null][] = [
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'the unspecified address (this host)'],
    ['::', 'the unspecified address (this host)'],
    ['::ffff:0.0.0.0', 'the unspecified address (this host)'],
    ['0.1.2.3', 'in 0.0.0.0/8 ("this network")'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.201.1.1', 'an address of this host'],
    ['192.168.1.1', 'an address of this host'],
    ['::ffff:192.168.1.1', 'an address of this host'],
    ['fd00:201:1::1', 'an address of this host'],
    ['10.201.1.2', null],
    ['8.8.8.8', null],
    ['fd00:201:1::2', null],
  ];
  for (const [ip, why] of rows) t.is(await gh.classify(ip), why, ip);
  t.is(await gh.forbiddenFor('127.0.0.1'), undefined);
  t.is(await gh.forbiddenFor('192.168.1.1'), undefined);
  const guard = await gh.forbiddenFor('10.201.1.2');
  t.is(await guard!('127.0.0.1'), 'loopback');
});
