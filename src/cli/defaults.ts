export const DEFAULT_DATA_DIR = './.peersock';
export const DEFAULT_SIGNAL_PORT = 7700;
export const DEFAULT_SIGNAL_HOST = '127.0.0.1';
/** The protocol tag `peersock node` and the demo send text on. */
export const CHAT_PROTOCOL = 'chat';
