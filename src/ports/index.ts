export * from './clock.js';
export * from './random.js';
export * from './logger.js';
export * from './crypto.js';
export * from './transport.js';
