export { startSignalingServer, type SignalingServer, type SignalingServerOptions, type SignalingServerStats, type RelayFilter } from './server.js';
export { createSignalingClient, type SignalingClient, type SignalingClientOptions, type SignalingState, type IncomingSignal, type SampleOptions } from './client.js';
export * from './protocol.js';
