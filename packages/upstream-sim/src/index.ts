export { defaultOptions, type Fault, mergeOptions, parseFault, type SimOptions, SimOptionsError } from "./Options.js"
export { contentOf, countWords, embeddingOf, tokenText } from "./Protocol.js"
export {
  type ReceivedRequest,
  type SimCounters,
  simScoped,
  startSim,
  type StartOptions,
  type UpstreamSim
} from "./Sim.js"
