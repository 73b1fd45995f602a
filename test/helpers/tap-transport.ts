import type { Link, LinkOptions, LinkTransport } from '../../src/ports/transport.js';

/**
 * Wraps a real transport so a test can act as a misbehaving peer at the wire: send raw
 * bytes that bypass the codec, or fall silent (a peer that vanished without closing,
 * its link still up). Everything else is the real node over real WebRTC.
 */
export interface TappedTransport extends LinkTransport {
  /** Sends bytes as-is on the link to `remote`. */
  sendRaw(remote: string, bytes: Uint8Array): void;
  /** Stops sending, receiving and closing on every link: the peer vanished, its links stay up. */
  freeze(): void;
}

export interface TapOptions {
  /** Sees every message the node's links send or receive, as the wire carries it (inside DTLS). */
  record?(direction: 'out' | 'in', bytes: Uint8Array): void;
}

export function tapTransport(inner: LinkTransport, options: TapOptions = {}): TappedTransport {
  const { record } = options;
  const links = new Map<string, Link>();
  let frozen = false;
  return {
    createLink(linkOptions: LinkOptions): Link {
      const link = inner.createLink({
        ...linkOptions,
        handlers: {
          ...linkOptions.handlers,
          onMessage: (data) => {
            if (frozen) return;
            record?.('in', Uint8Array.from(data));
            linkOptions.handlers.onMessage(data);
          },
        },
      });
      links.set(linkOptions.label, link);
      return {
        applySignal: (signal) => link.applySignal(signal),
        send: (data) => {
          if (frozen) return;
          record?.('out', Uint8Array.from(data));
          link.send(data);
        },
        bufferedAmount: () => link.bufferedAmount(),
        maxMessageSize: () => link.maxMessageSize(),
        localFingerprint: () => link.localFingerprint(),
        remoteFingerprint: () => link.remoteFingerprint(),
        // A vanished peer closes nothing; transport.close() still releases the link.
        close: () => {
          if (!frozen) link.close();
        },
      };
    },
    close: () => inner.close(),
    sendRaw(remote, bytes) {
      const link = links.get(remote);
      if (!link) throw new Error(`no link to ${remote}`);
      link.send(bytes);
    },
    freeze() {
      frozen = true;
    },
  };
}
