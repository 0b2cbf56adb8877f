/**
 * What a benchmark reads of a process from /proc (Linux): its CPU time and its resident memory.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

export const clockTicksPerSecond = (): number => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return Number.isInteger(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/<pid>/stat; the name in field 2 may hold spaces). */
export const cpuTicks = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ") // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12])
}

export const rssMiB = (pid: number): number => {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  return Number(kb) / 1024
}
