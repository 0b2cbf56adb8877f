/**
 * What the editor's store needs from the balancer: the admin API calls as Promises and the live state
 * stream. The page binds it to the HttpApiClient session (AdminSession.ts); tests bind it to an
 * in-memory balancer.
 */
import type { EndpointState, GlobalStats, State } from "@llmlb/api"
import type { Endpoint, IncomingBlock } from "@llmlb/core"

export type RoutingMode = Endpoint.RoutingMode
export type EndpointPublic = Endpoint.EndpointPublic
export type Block = IncomingBlock.IncomingBlock

/** `GET /admin/api/state` (the same shape the event stream pushes). */
export type LiveState = State
export type EndpointLive = typeof EndpointState.Type
export type GlobalLive = typeof GlobalStats.Type

/** Fields an endpoint is created with (the server fills in defaults for the rest). */
export interface EndpointInput {
  readonly name: string
  readonly base_url: string
  readonly api_key?: string | null
  readonly enabled?: boolean
  readonly connected?: boolean
  readonly token_quota_percent?: number
  readonly priority_order?: number
  readonly max_concurrent?: number
  readonly timeout?: number | null
  readonly verify_tls?: boolean
  readonly metrics_url?: string | null
  readonly pos_x?: number
  readonly pos_y?: number
}
export type EndpointChanges = Partial<EndpointInput>

export interface BlockInput {
  readonly name: string
  readonly routing_mode?: RoutingMode | null
  readonly enabled?: boolean
  readonly pos_x?: number
  readonly pos_y?: number
  readonly endpoint_ids?: ReadonlyArray<string>
}
export type BlockChanges = Partial<BlockInput>

/** Calls reject with the API layer's ApiError (status, message, the field a 400 names). */
export interface EditorApi {
  readonly state: () => Promise<LiveState>
  readonly createEndpoint: (input: EndpointInput) => Promise<EndpointPublic>
  readonly updateEndpoint: (id: string, changes: EndpointChanges) => Promise<EndpointPublic>
  readonly deleteEndpoint: (id: string) => Promise<void>
  readonly createBlock: (input: BlockInput) => Promise<Block>
  readonly updateBlock: (id: string, changes: BlockChanges) => Promise<Block>
  readonly deleteBlock: (id: string) => Promise<void>
  readonly setRoutingMode: (mode: RoutingMode) => Promise<void>
}

export type ConnectionStatus = "connecting" | "open" | "lost"

/** The live state stream: every snapshot, and the connection's status as it changes. */
export interface LiveEvents {
  readonly subscribe: (onState: (state: LiveState) => void, onStatus: (status: ConnectionStatus) => void) => () => void
}
