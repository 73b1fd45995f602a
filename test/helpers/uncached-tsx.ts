/**
 * The environment for a child process run under `--import tsx` whose still-active resources a
 * test inspects: tsx without its disk cache. With a cold cache (a fresh clone) tsx writes its
 * transforms to disk asynchronously, and a write still in flight shows up in
 * process.getActiveResourcesInfo() as an FSReqCallback that is not the code under test's (seen
 * on Node 26: 1 run in 3 with the cache emptied before each).
 */
export function uncachedTsxEnv(): NodeJS.ProcessEnv {
  return { ...process.env, TSX_DISABLE_CACHE: '1' };
}
