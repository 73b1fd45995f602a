import { not, setup } from 'xstate';
import type { PeerId } from '../../identity/peer-id.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import { ConversationCounter } from './conversation-counter.js';
import type { UpgradeConfig } from './upgrade-config.js';

/**
 * Upgrades busy routed conversations to direct links (issue 4, item 4). Routed messages cost
 * every hop a frame and the ends a seal, a signature and an ack each; a peer we exchange many
 * with is worth a connection of our own. Counting is per peer in fixed windows; at `threshold`
 * messages in a window the actor asks for a link (signaled like any other: through the overlay
 * once every server is gone) and the node's send() uses it as soon as it is open. An upgraded
 * link that carries no application message for `idleMs` is closed again, unless the ring needs
 * it meanwhile; at most `maxLinks` are held. Only routing speed is at stake: a link that fails
 * to open, or closes, leaves the conversation routed as before.
 *
 *   quiet ⇄ sweeping ⟲ (every idleMs / 2: close idle upgraded links)
 *
 * Quiet, with no timer, while no upgraded link is open: a node that never upgrades (most nodes,
 * most of the time) swept nothing every idleMs / 2 (10,000 simulated nodes at rest: 7% of the
 * actor events, 2.4% of the actors' time).
 */
export interface UpgradePorts {
  clock: Clock;
  logger: Logger;
  /** Whether an authenticated link to `peer` is open now. */
  isLinked(peer: PeerId): boolean;
  /** Asks for a link; a failure to open comes back as `dial.failed`. */
  connect(peer: PeerId): void;
  /** Closes a link gracefully. */
  disconnect(peer: PeerId): void;
  /** When the link to `peer` last carried an application message, either way (undefined: never). */
  lastUsed(peer: PeerId): number | undefined;
  /** The overlay needs this link anyway (a ring neighbour): it is never closed for idleness. */
  keep(peer: PeerId): boolean;
  /** What happened, for the node's events$. */
  notify(event: UpgradeNotice): void;
}

export type UpgradeNotice = { type: 'upgrade.opened'; peer: PeerId } | { type: 'upgrade.closed'; peer: PeerId; reason: 'idle' | 'link-down' };

export interface UpgradeInput {
  config: UpgradeConfig;
  ports: UpgradePorts;
}

export type UpgradeEvent =
  /** An application message routed to or from `peer` (not over a direct link). */
  | { type: 'routed'; peer: PeerId }
  | { type: 'link.up'; peer: PeerId }
  | { type: 'link.down'; peer: PeerId }
  | { type: 'dial.failed'; peer: PeerId };

interface UpgradeState {
  readonly counter: ConversationCounter;
  /** Links asked for and not open yet. */
  readonly dialing: Set<PeerId>;
  /** Open upgraded links, with when they opened. */
  readonly upgraded: Map<PeerId, number>;
}

interface Context {
  config: UpgradeConfig;
  ports: UpgradePorts;
  /** Mutable on purpose (one small update per routed message); only this actor touches it. */
  state: UpgradeState;
}

export const upgradeMachine = setup({
  types: { context: {} as Context, events: {} as UpgradeEvent, input: {} as UpgradeInput },
  delays: { sweepDelay: ({ context }) => Math.max(1, Math.floor(context.config.idleMs / 2)) },
  guards: {
    hasUpgraded: ({ context }) => context.state.upgraded.size > 0,
  },
  actions: {
    countRouted: ({ context, event }) => {
      if (event.type !== 'routed') return;
      const { state, config, ports } = context;
      const { peer } = event;
      if (state.dialing.has(peer) || state.upgraded.has(peer) || ports.isLinked(peer)) return;
      if (state.counter.count(peer, ports.clock.now()) < config.threshold) return;
      if (state.dialing.size + state.upgraded.size >= config.maxLinks) return;
      state.counter.forget(peer);
      state.dialing.add(peer);
      ports.logger.debug('busy routed conversation: opening a direct link', { peer });
      ports.connect(peer);
    },
    linkUp: ({ context, event }) => {
      if (event.type !== 'link.up') return;
      const { state, ports } = context;
      if (!state.dialing.delete(event.peer)) return;
      state.upgraded.set(event.peer, ports.clock.now());
      ports.notify({ type: 'upgrade.opened', peer: event.peer });
    },
    linkDown: ({ context, event }) => {
      if (event.type !== 'link.down' && event.type !== 'dial.failed') return;
      const { state, ports } = context;
      state.dialing.delete(event.peer);
      if (state.upgraded.delete(event.peer)) ports.notify({ type: 'upgrade.closed', peer: event.peer, reason: 'link-down' });
    },
    closeIdle: ({ context }) => {
      const { state, ports, config } = context;
      const now = ports.clock.now();
      for (const [peer, openedAt] of [...state.upgraded]) {
        const last = Math.max(openedAt, ports.lastUsed(peer) ?? openedAt);
        if (now - last < config.idleMs || ports.keep(peer)) continue;
        state.upgraded.delete(peer);
        ports.notify({ type: 'upgrade.closed', peer, reason: 'idle' });
        ports.disconnect(peer);
      }
    },
  },
}).createMachine({
  id: 'upgrade',
  context: ({ input }) => ({
    config: input.config,
    ports: input.ports,
    state: { counter: new ConversationCounter(input.config.windowMs, input.config.maxTracked), dialing: new Set(), upgraded: new Map() },
  }),
  initial: 'quiet',
  on: {
    routed: { actions: 'countRouted' },
    'link.up': { actions: 'linkUp' },
    'link.down': { actions: 'linkDown' },
    'dial.failed': { actions: 'linkDown' },
  },
  states: {
    quiet: {
      always: { guard: 'hasUpgraded', target: 'sweeping' },
    },
    sweeping: {
      always: { guard: not('hasUpgraded'), target: 'quiet' },
      after: { sweepDelay: { target: 'sweeping', reenter: true, actions: 'closeIdle' } },
    },
  },
});

/** Whether a link change of `peer` concerns the actor (a link it opened or is opening). */
export function upgradeTracks(context: Pick<Context, 'state'>, peer: PeerId): boolean {
  return context.state.dialing.has(peer) || context.state.upgraded.has(peer);
}

/** For tests and the visualizer: the upgraded links and those being opened. */
export function upgradeView(context: Pick<Context, 'state'>): { upgraded: PeerId[]; dialing: PeerId[] } {
  return { upgraded: [...context.state.upgraded.keys()], dialing: [...context.state.dialing] };
}

