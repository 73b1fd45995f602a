import { afterEach, describe, expect, it } from 'vitest';
import { createActor, type Actor } from 'xstate';
import { ConversationCounter } from '../../src/actors/links/conversation-counter.js';
import { upgradeConfig, type UpgradeConfig } from '../../src/actors/links/upgrade-config.js';
import { upgradeMachine, upgradeView, type UpgradeNotice } from '../../src/actors/links/upgrade.machine.js';
import type { PeerId } from '../../src/identity/peer-id.js';
import { silentLogger } from '../../src/ports/logger.js';
import { advance } from '../../sim/drive.js';
import { createSimulatedClock } from '../../sim/simulated-clock.js';

const peer = (n: number) => n.toString(16).padStart(64, '0') as PeerId;
const A = peer(1);
const B = peer(2);
const C = peer(3);

let running: Actor<typeof upgradeMachine> | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

function start(partial: Partial<UpgradeConfig> = {}) {
  const clock = createSimulatedClock();
  const config = upgradeConfig({ threshold: 4, windowMs: 1_000, maxLinks: 2, idleMs: 10_000, ...partial });
  const linked = new Set<PeerId>();
  const kept = new Set<PeerId>();
  const lastUsed = new Map<PeerId, number>();
  const connects: PeerId[] = [];
  const disconnects: PeerId[] = [];
  const notices: UpgradeNotice[] = [];
  const actor = createActor(upgradeMachine, {
    clock,
    input: {
      config,
      ports: {
        clock,
        logger: silentLogger,
        isLinked: (p) => linked.has(p),
        connect: (p) => void connects.push(p),
        disconnect: (p) => void disconnects.push(p),
        lastUsed: (p) => lastUsed.get(p),
        keep: (p) => kept.has(p),
        notify: (notice) => void notices.push(notice),
      },
    },
  }).start();
  running = actor;
  const routed = (p: PeerId, times = 1) => {
    for (let i = 0; i < times; i += 1) actor.send({ type: 'routed', peer: p });
  };
  const linkUp = (p: PeerId) => {
    linked.add(p);
    actor.send({ type: 'link.up', peer: p });
  };
  const view = () => upgradeView(actor.getSnapshot().context);
  return { clock, actor, linked, kept, lastUsed, connects, disconnects, notices, routed, linkUp, view };
}

describe('upgrading busy routed conversations', () => {
  it('asks for a link at the threshold within one window, not before, and only once', async () => {
    const t = start();
    t.routed(A, 3);
    expect(t.connects).toEqual([]);
    t.routed(A);
    expect(t.connects).toEqual([A]);
    t.routed(A, 10);
    expect(t.connects).toEqual([A]);
    expect(t.view()).toEqual({ upgraded: [], dialing: [A] });
    t.linkUp(A);
    expect(t.view()).toEqual({ upgraded: [A], dialing: [] });
    expect(t.notices).toEqual([{ type: 'upgrade.opened', peer: A }]);
  });

  it('counts per window: messages spread thinner than the threshold never upgrade', async () => {
    const t = start();
    for (let i = 0; i < 12; i += 1) {
      t.routed(B, 3);
      await advance(t.clock, 1_000);
    }
    expect(t.connects).toEqual([]);
  });

  it('a link another part already holds is not counted; a failed dial frees the slot', async () => {
    const t = start();
    t.linked.add(C);
    t.routed(C, 10);
    expect(t.connects).toEqual([]);
    t.routed(A, 4);
    t.actor.send({ type: 'dial.failed', peer: A });
    expect(t.view().dialing).toEqual([]);
    t.routed(A, 4);
    expect(t.connects).toEqual([A, A]);
  });

  it('holds at most maxLinks upgraded or opening', async () => {
    const t = start({ maxLinks: 1 });
    t.routed(A, 4);
    t.routed(B, 4);
    expect(t.connects).toEqual([A]);
    t.linkUp(A);
    t.routed(B, 4);
    expect(t.connects).toEqual([A]);
    // The upgraded link goes down: the slot is free again.
    t.actor.send({ type: 'link.down', peer: A });
    expect(t.notices.at(-1)).toEqual({ type: 'upgrade.closed', peer: A, reason: 'link-down' });
    t.routed(B, 4);
    expect(t.connects).toEqual([A, B]);
  });

  it('closes an upgraded link idle for idleMs, keeps one in use or one the ring needs', async () => {
    const t = start({ maxLinks: 3 });
    t.routed(A, 4);
    t.linkUp(A);
    t.routed(B, 4);
    t.linkUp(B);
    t.routed(C, 4);
    t.linkUp(C);
    t.kept.add(C);
    // A carries application messages now and then; B never does; C is a ring neighbour.
    for (let i = 0; i < 4; i += 1) {
      await advance(t.clock, 4_000);
      t.lastUsed.set(A, t.clock.now());
    }
    expect(t.disconnects).toEqual([B]);
    expect(t.notices.filter((n) => n.type === 'upgrade.closed')).toEqual([{ type: 'upgrade.closed', peer: B, reason: 'idle' }]);
    expect(t.view().upgraded.sort()).toEqual([A, C].sort());
    await advance(t.clock, 30_000);
    expect(t.disconnects).toEqual([B, A]);
  });
});

describe('upgrade sweeps', () => {
  it('keep no timer while no upgraded link is open, and sweep while one is', async () => {
    const t = start();
    expect(t.actor.getSnapshot().value).toBe('quiet');
    expect(t.clock.nextDeadline()).toBeUndefined();
    t.routed(A, 4);
    expect(t.clock.nextDeadline()).toBeUndefined();
    t.linkUp(A);
    expect(t.actor.getSnapshot().value).toBe('sweeping');
    expect(t.clock.nextDeadline()).toBe(5_000);
    // Idle for idleMs: closed at the sweep after that, and the actor is quiet again.
    await advance(t.clock, 15_000);
    expect(t.disconnects).toEqual([A]);
    expect(t.actor.getSnapshot().value).toBe('quiet');
    expect(t.clock.nextDeadline()).toBeUndefined();
  });
});

describe('ConversationCounter', () => {
  it('keeps at most maxTracked peers, forgetting the least recently counted', () => {
    const counter = new ConversationCounter(1_000, 2);
    counter.count(A, 0);
    counter.count(B, 1);
    counter.count(A, 2);
    counter.count(C, 3); // B goes
    expect(counter.size).toBe(2);
    expect(counter.count(B, 4)).toBe(1);
    expect(counter.count(A, 5)).toBe(1); // A went when B came back
  });
});

describe('upgradeConfig', () => {
  it('refuses bad values with INVALID_ARGUMENT naming the field', () => {
    expect(() => upgradeConfig({ threshold: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('upgrade.threshold') }));
    expect(() => upgradeConfig({ idleMs: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(upgradeConfig({ maxLinks: 0 }).maxLinks).toBe(0);
  });
});
