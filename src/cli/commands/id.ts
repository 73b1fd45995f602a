import path from 'node:path';
import { identityFilePath, loadIdentity, loadOrCreateIdentity } from '../../identity/key-store.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../command.js';
import { DEFAULT_DATA_DIR } from '../defaults.js';

export const idCommand: Command = {
  name: 'id',
  summary: "Print this node's PeerId, creating its identity if there is none",
  help: `Usage: peersock id [--data-dir DIR]

Prints the PeerId (64 hex characters, the ed25519 public key) stored in DIR/identity.json.
If there is no identity yet, one is created (the file is mode 0600) and a line on stderr
says where. An existing file is never overwritten.

Options:
  --data-dir DIR   Directory holding identity.json (default ${DEFAULT_DATA_DIR})
  -h, --help       Show this help

Examples:
  peersock id
  peersock id --data-dir ~/.peersock-alice`,

  async run(argv, io) {
    const { values } = parseCommandArgs('id', argv, {
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.out(this.help);
      return 0;
    }
    const dataDir = path.resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
    const existing = await loadIdentity(dataDir);
    const identity = existing ?? (await loadOrCreateIdentity(dataDir));
    if (existing === undefined) io.err(`created a new identity in ${identityFilePath(dataDir)}`);
    io.out(identity.peerId);
    return 0;
  },
};
