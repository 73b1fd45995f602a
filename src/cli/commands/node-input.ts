import type { PeerId } from '../../identity/peer-id.js';

/** One line typed at a running `peersock node`. */
export type NodeInput =
  | { kind: 'send'; target: string; text: string }
  | { kind: 'connect'; peer: string }
  | { kind: 'disconnect'; target: string }
  | { kind: 'peers' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string };

export const NODE_INPUT_HELP = [
  'commands:',
  '  send <peer|all> <text>   send text on protocol "chat" (peer: a PeerId or a unique prefix)',
  '  connect <peerId>         open an authenticated connection to a peer',
  '  disconnect <peer>        close the connection to a peer',
  '  peers                    list open connections',
  '  help                     show this list',
  '  quit                     stop the node and exit',
];

export function parseNodeInput(line: string): NodeInput {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  const [word = '', ...rest] = trimmed.split(/\s+/);
  const command = word.toLowerCase();
  switch (command) {
    case 'send': {
      // The text keeps its inner spacing: everything after the target word.
      const match = /^\S+\s+(\S+)\s+(.*)$/s.exec(trimmed);
      if (!match) return { kind: 'invalid', message: 'usage: send <peer|all> <text>' };
      return { kind: 'send', target: match[1]!, text: match[2]! };
    }
    case 'connect':
      return rest.length === 1 ? { kind: 'connect', peer: rest[0]! } : { kind: 'invalid', message: 'usage: connect <peerId>' };
    case 'disconnect':
      return rest.length === 1 ? { kind: 'disconnect', target: rest[0]! } : { kind: 'invalid', message: 'usage: disconnect <peer>' };
    case 'peers':
    case 'help':
    case 'quit':
      return rest.length === 0 ? { kind: command } : { kind: 'invalid', message: `"${command}" takes no arguments` };
    case 'exit':
      return rest.length === 0 ? { kind: 'quit' } : { kind: 'invalid', message: '"exit" takes no arguments' };
    default:
      return { kind: 'invalid', message: `unknown command "${word}"; type "help" for the list` };
  }
}

/** Open peers a target names: `all`, or every peer whose id starts with the (case-insensitive) prefix. */
export function resolveTarget(target: string, open: readonly PeerId[]): { ok: true; peers: PeerId[] } | { ok: false; message: string } {
  if (target.toLowerCase() === 'all') {
    return open.length > 0 ? { ok: true, peers: [...open] } : { ok: false, message: 'no open peers' };
  }
  const prefix = target.toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(prefix)) return { ok: false, message: `"${target}" is neither "all" nor a PeerId prefix (hex)` };
  const matches = open.filter((peer) => peer.startsWith(prefix));
  if (matches.length === 1) return { ok: true, peers: matches };
  if (matches.length === 0) return { ok: false, message: `no open peer starts with ${prefix}` };
  return { ok: false, message: `${prefix} is ambiguous: it matches ${matches.length} peers; type more of the id` };
}
