/**
 * Preloaded into a proxy process by `bench:proxy` (`NODE_OPTIONS=--import <this file>`, BENCH_ALLOC_FILE set): counts
 * the bytes the process allocates on the V8 heap between two SIGUSR2 signals, without changing what it runs.
 * The first signal starts a `v8.GCProfiler` and notes the heap in use; the second stops it and writes
 * `{"allocatedBytes":..,"gcs":..,"gcMs":..}` to BENCH_ALLOC_FILE. Allocated bytes = what each GC found in use
 * minus what the previous one left (the growth between collections), plus the growth since the last one.
 * Plain JS so that it loads into the built balancer as it is.
 */
import { writeFileSync } from "node:fs"
import v8 from "node:v8"

const file = process.env.BENCH_ALLOC_FILE
if (file !== undefined && file !== "") {
  let profiler = null
  let usedAtStart = 0
  process.on("SIGUSR2", () => {
    if (profiler === null) {
      profiler = new v8.GCProfiler()
      usedAtStart = v8.getHeapStatistics().used_heap_size
      profiler.start()
      return
    }
    const { statistics } = profiler.stop()
    profiler = null
    let allocated = 0
    let left = usedAtStart
    let gcMs = 0
    for (const gc of statistics) {
      allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - left)
      left = gc.afterGC.heapStatistics.usedHeapSize
      gcMs += gc.cost / 1_000 // microseconds
    }
    allocated += Math.max(0, v8.getHeapStatistics().used_heap_size - left)
    writeFileSync(file, JSON.stringify({ allocatedBytes: allocated, gcs: statistics.length, gcMs }))
  })
}
