export * from './restart-policy.js';
export * from './supervisor.machine.js';
export * from './inspection.js';
