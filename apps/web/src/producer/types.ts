/**
 * The engine's JSON shapes the page shows (type-only imports: the engine itself never reaches the browser).
 */
export type {
  Report,
  RequestRecord,
  RunEvent,
  SeriesPoint as LivePoint
} from "../../../../packages/loadgen/src/index.js"
