import type { Observable } from 'rxjs';
import type { PeerId } from '../identity/peer-id.js';
import type { SampleOptions } from '../signaling/client.js';

/**
 * What a node needs from a signaling service: relay opaque data to a registered peer,
 * receive what others relay, and sample registered peers for bootstrap. The WebSocket
 * SignalingClient provides it in production, an in-memory hub in the simulator.
 */
export interface SignalingPort {
  signal(to: PeerId, data: object): Promise<void>;
  /**
   * Registered peers for bootstrap: the ring members nearest before this node's position (up
   * to `options.near`, nearest first), then random ones: ring members (see setRingMember) when
   * there are any. A service that cannot order by position answers with random ones only.
   */
  sample(n: number, options?: SampleOptions): Promise<PeerId[]>;
  /**
   * Tells the service whether this node is on a ring, so samples name members first: a joiner
   * whose way in is another joiner has its lookup declined. Fire and forget; kept across
   * reconnects. Optional: a service without it samples every registered peer alike.
   */
  setRingMember?(member: boolean): void;
  readonly signals$: Observable<{ from: PeerId; data: unknown }>;
  close(): Promise<void>;
}
