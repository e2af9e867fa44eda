// Entry point of the one bundle that runs on both runtimes: picks the runtime at start.
// Runtime modules import their platform APIs dynamically, so neither is loaded on the other.

import { main } from './cli.ts';
import type { Runtime } from './runtime/types.ts';

async function loadRuntime(): Promise<Runtime> {
  if ('tjs' in globalThis) return (await import('./runtime/tjs.ts')).createTjsRuntime();
  return (await import('./runtime/node.ts')).createNodeRuntime();
}

await main(await loadRuntime());
