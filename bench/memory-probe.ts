// Preloaded (`node --import`) into the server the soak benchmark starts: answers "memory" on the IPC channel
// with the process's memory figures, so the benchmark reads the heap without a debug route in the product.
// It never collects garbage itself (that would change the RSS it reports): what the heap holds on to is read
// from V8's own full collections, as they happen.

import { GCProfiler, getHeapSpaceStatistics } from "node:v8";

export interface MemoryFigures {
  rss: number;
  /** Garbage included: as the heap is now. */
  heapUsed: number;
  heapTotal: number;
  /** V8's young generation as it is sized now: it grows under load and shrinks when the process idles. */
  young: number;
  /** The heap in use right after V8's latest full (mark-compact) collection: what it holds on to. */
  liveHeap: number | undefined;
  /** Full collections so far. */
  fullGCs: number;
}

interface GCStatistics {
  gcType: string;
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

let profiler = new GCProfiler();
profiler.start();
let liveHeap: number | undefined;
let fullGCs = 0;

process.on("message", (message) => {
  if (message !== "memory") return;
  // Restarted at each reading, so the records it keeps stay few.
  const { statistics } = profiler.stop() as { statistics: GCStatistics[] };
  profiler = new GCProfiler();
  profiler.start();
  for (const gc of statistics) {
    if (gc.gcType !== "MarkSweepCompact") continue;
    fullGCs += 1;
    liveHeap = gc.afterGC.heapStatistics.usedHeapSize;
  }
  const m = process.memoryUsage();
  const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
  const figures: MemoryFigures = {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    young,
    liveHeap,
    fullGCs,
  };
  process.send?.(figures);
});
// The channel must not keep the server alive on its own: it stops when it is told to, as without the probe.
process.channel?.unref();
