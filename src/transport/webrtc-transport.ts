import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import type { Link, LinkOptions, LinkSignal, LinkTransport } from '../ports/transport.js';

/**
 * The production link transport: one node-datachannel PeerConnection and one reliable,
 * ordered DataChannel per remote peer. Identity is not checked here; the peer
 * connection actor authenticates over the channel using the fingerprints reported below.
 */
export interface WebRtcTransportOptions {
  /** Local address for ICE candidates (default: all interfaces). Tests use 127.0.0.1. */
  bindAddress?: string;
  /** STUN/TURN servers, e.g. `stun:stun.example.org:3478`. None by default: nothing leaves the machine unasked. */
  iceServers?: string[];
  /** Largest message either side accepts (SDP a=max-message-size). */
  maxMessageSize?: number;
  portRangeBegin?: number;
  portRangeEnd?: number;
}

/** 1 MiB of application payload plus room for the frame header. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024 + 2048;

const CHANNEL_LABEL = 'peersock';

/**
 * node-datachannel keeps the process alive until its global `cleanup()` runs, and that
 * call tears down every PeerConnection in the process. Several nodes may share one
 * process (tests, the demo), so cleanup waits for the last open transport.
 */
let openTransports = 0;
let linkCounter = 0;

export function createWebRtcTransport(options: WebRtcTransportOptions = {}): LinkTransport {
  openTransports += 1;
  const links = new Set<WebRtcLink>();
  let closed = false;
  const config = {
    iceServers: options.iceServers ?? [],
    maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    ...(options.portRangeBegin ? { portRangeBegin: options.portRangeBegin } : {}),
    ...(options.portRangeEnd ? { portRangeEnd: options.portRangeEnd } : {}),
  };

  return {
    createLink(linkOptions) {
      if (closed) throw new Error('transport is closed');
      const link = new WebRtcLink(linkOptions, config, () => links.delete(link));
      links.add(link);
      return link;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const link of [...links]) link.close();
      openTransports -= 1;
      if (openTransports === 0) {
        // Let the native threads deliver their final close callbacks first.
        await new Promise((resolve) => setImmediate(resolve));
        nodeDataChannel.cleanup();
      }
    },
  };
}

/**
 * A JavaScript exception escaping a node-datachannel callback aborts the whole process
 * (`terminate called after throwing an instance of 'Napi::Error'`), so every callback
 * into PeerSock code runs behind this guard.
 */
function guarded<T = void, U = void>(label: string, fn: (first: T, second: U) => void): (first: T, second: U) => void {
  // Fixed arity, no rest parameters: this wraps the per-message path and must not allocate.
  return (first, second) => {
    try {
      fn(first, second);
    } catch (error) {
      process.emitWarning(`peersock: ${label} callback threw: ${String((error as Error)?.stack ?? error)}`);
    }
  };
}

class WebRtcLink implements Link {
  private readonly pc: PeerConnection;
  // Held for the channel's whole life: an unreferenced incoming channel is garbage-collected
  // and silently stops delivering (DESIGN §4).
  private channel: DataChannel | undefined;
  private remoteDescribed = false;
  private readonly pendingCandidates: { candidate: string; mid: string }[] = [];
  /**
   * The offerer's own candidates, held until the answer arrives. Otherwise the answerer
   * can reach us over ICE and start DTLS before we know its certificate fingerprint,
   * and libdatachannel then fails the handshake ("DTLS alert: unknown CA"). That race
   * is real whenever the signaling path is slower than the direct one (glare, overlay
   * signaling over several hops).
   */
  private heldLocalCandidates: LinkSignal[] | undefined;
  private closed = false;
  /** onOpen is reported once: an adopted channel may already be open and still fire its own open. */
  private opened = false;

  constructor(
    private readonly options: LinkOptions,
    config: ConstructorParameters<typeof nodeDataChannel.PeerConnection>[1],
    private readonly forget: () => void,
  ) {
    const { handlers } = options;
    this.pc = new nodeDataChannel.PeerConnection(`${options.label.slice(0, 8)}-${++linkCounter}`, config);
    this.pc.onLocalDescription(guarded('onLocalDescription', (sdp, type) => {
      if (this.closed) return;
      const kind = String(type).toLowerCase();
      if (kind === 'offer' || kind === 'answer') handlers.onSignal({ type: kind, sdp });
    }));
    this.pc.onLocalCandidate(guarded('onLocalCandidate', (candidate, mid) => {
      if (this.closed) return;
      const signal: LinkSignal = { type: 'candidate', candidate, mid };
      if (this.heldLocalCandidates) this.heldLocalCandidates.push(signal);
      else handlers.onSignal(signal);
    }));
    this.pc.onStateChange(guarded('onStateChange', (state) => {
      if (state === 'failed' || state === 'closed') this.finish(`peer connection ${state}`);
    }));
    if (options.initiator) {
      this.heldLocalCandidates = [];
      this.adopt(this.pc.createDataChannel(CHANNEL_LABEL));
    } else {
      this.pc.onDataChannel(guarded('onDataChannel', (dc) => {
        // One channel per pair carries every protocol; anything else is refused.
        if (this.channel || dc.getLabel() !== CHANNEL_LABEL) {
          dc.close();
          return;
        }
        this.adopt(dc);
        if (dc.isOpen()) this.reportOpen();
      }));
    }
  }

  private adopt(dc: DataChannel): void {
    const { handlers } = this.options;
    this.channel = dc;
    dc.setBufferedAmountLowThreshold(this.options.bufferedAmountLowThreshold);
    dc.onOpen(guarded('onOpen', () => this.reportOpen()));
    dc.onMessage(guarded('onMessage', (message) => {
      if (this.closed) return;
      if (typeof message === 'string') {
        // PeerSock only sends binary frames; a text message is a protocol error upstream.
        handlers.onMessage(new Uint8Array(0));
        return;
      }
      handlers.onMessage(message instanceof ArrayBuffer ? new Uint8Array(message) : message);
    }));
    dc.onBufferedAmountLow(guarded('onBufferedAmountLow', () => {
      if (!this.closed) handlers.onBufferedAmountLow();
    }));
    dc.onClosed(guarded('onClosed', () => this.finish('data channel closed')));
    dc.onError(guarded('onError', (error) => this.finish(`data channel error: ${error}`)));
  }

  private reportOpen(): void {
    if (this.closed || this.opened) return;
    this.opened = true;
    this.options.handlers.onOpen();
  }

  applySignal(signal: LinkSignal): void {
    if (this.closed) return;
    if (signal.type === 'candidate') {
      if (!this.remoteDescribed) {
        // Candidates can overtake the description on some relays; hold a bounded few.
        if (this.pendingCandidates.length < 64) this.pendingCandidates.push(signal);
        return;
      }
      this.pc.addRemoteCandidate(signal.candidate, signal.mid);
      return;
    }
    this.pc.setRemoteDescription(signal.sdp, signal.type);
    this.remoteDescribed = true;
    for (const pending of this.pendingCandidates.splice(0)) {
      this.pc.addRemoteCandidate(pending.candidate, pending.mid);
    }
    const held = this.heldLocalCandidates;
    this.heldLocalCandidates = undefined;
    for (const candidate of held ?? []) this.options.handlers.onSignal(candidate);
  }

  send(data: Uint8Array): void {
    if (this.closed || !this.channel) throw new Error('link is not open');
    this.channel.sendMessageBinary(data);
  }

  bufferedAmount(): number {
    return this.channel && !this.closed ? this.channel.bufferedAmount() : 0;
  }

  maxMessageSize(): number {
    return this.channel && !this.closed ? this.channel.maxMessageSize() : this.pc.maxMessageSize();
  }

  localFingerprint(): string | undefined {
    const sdp = this.pc.localDescription()?.sdp;
    const match = sdp ? /^a=fingerprint:(\S+) (\S+)/m.exec(sdp) : null;
    return match ? normaliseFingerprint(match[1]!, match[2]!) : undefined;
  }

  remoteFingerprint(): string | undefined {
    try {
      const fingerprint = this.pc.remoteFingerprint();
      return fingerprint?.value ? normaliseFingerprint(fingerprint.algorithm, fingerprint.value) : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.finish('closed locally');
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    try {
      this.channel?.close();
      this.pc.close();
    } finally {
      this.options.handlers.onClose(reason);
    }
  }
}

function normaliseFingerprint(algorithm: string, value: string): string {
  return `${algorithm.toLowerCase()} ${value.toUpperCase()}`;
}
