/**
 * Resolves on the first SIGINT or SIGTERM so the caller can stop gracefully. A second
 * signal means the user is done waiting: exit at once (130, as shells do for Ctrl-C).
 */
export function shutdownSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let received = false;
  let resolve: (signal: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((r) => {
    resolve = r;
  });
  const handler = (name: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`${name} again: exiting without a graceful stop\n`);
      process.exit(130);
    }
    received = true;
    resolve(name);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
