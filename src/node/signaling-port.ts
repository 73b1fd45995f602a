import type { Observable } from 'rxjs';
import type { PeerId } from '../identity/peer-id.js';

/**
 * What a node needs from a signaling service: relay opaque data to a registered peer,
 * receive what others relay, and sample registered peers for bootstrap. The WebSocket
 * SignalingClient provides it in production, an in-memory hub in the simulator.
 */
export interface SignalingPort {
  signal(to: PeerId, data: object): Promise<void>;
  sample(n: number): Promise<PeerId[]>;
  readonly signals$: Observable<{ from: PeerId; data: unknown }>;
  close(): Promise<void>;
}
