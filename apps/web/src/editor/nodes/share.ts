/**
 * What an endpoint node shows of its block's routing: the block whose mode applies (the first block
 * it is wired to, `default` first), its target token share and the share it achieves.
 */
import type { BlockNode, EndpointNode } from "../store/EditorStore.js"
import type { RoutingMode } from "../store/EditorApi.js"

export interface Routing {
  readonly mode: RoutingMode
  /** 0..1, of the enabled endpoints wired to the same block */
  readonly target: number
  /** 0..1, of the same endpoints' tokens: live tok/s when there is traffic, else all counted tokens */
  readonly achieved: number
}

const tokens = (e: EndpointNode) => e.stats.prompt_tokens + e.stats.completion_tokens

export const routingOf = (
  endpoint: EndpointNode,
  endpoints: ReadonlyArray<EndpointNode>,
  blocks: ReadonlyArray<BlockNode>,
  globalMode: RoutingMode
): Routing => {
  const block = blocks.find((b) => b.endpoint_ids.includes(endpoint.id))
  const mode = block?.routing_mode ?? globalMode
  // an unwired endpoint gets no share at all
  const peers = block === undefined ? [] : endpoints.filter((e) => e.enabled && block.endpoint_ids.includes(e.id))
  const quotas = peers.reduce((sum, e) => sum + e.token_quota_percent, 0)
  const target = !endpoint.enabled || peers.length === 0 ? 0 : quotas === 0 ? 1 / peers.length : endpoint.token_quota_percent / quotas
  const liveTotal = peers.reduce((sum, e) => sum + e.stats.tokens_per_second, 0)
  const countedTotal = peers.reduce((sum, e) => sum + tokens(e), 0)
  const achieved =
    liveTotal > 0 ? endpoint.stats.tokens_per_second / liveTotal : countedTotal > 0 ? tokens(endpoint) / countedTotal : 0
  return { mode, target, achieved: peers.includes(endpoint) ? achieved : 0 }
}

/** Figures as people read them: 0, 0.4, 12.5, 1234. */
export const rate = (value: number) => (value === 0 ? "0" : value < 10 ? value.toFixed(1) : Math.round(value).toString())

export const hostOf = (baseUrl: string) => {
  try {
    return new URL(baseUrl).host
  } catch {
    return baseUrl
  }
}
