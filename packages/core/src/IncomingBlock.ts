/**
 * An incoming block is where requests enter the balancer: a name (matched by `/v1/{name}/...`), an
 * optional routing-mode override, a canvas position and wires to endpoints. The built-in block
 * `default` is the seeds' "Incoming" node. These schemas are the single definition of its fields.
 */
import { Schema } from "effect"
import { PosX, PosY, rejectUnknownFields, RoutingMode } from "./Endpoint.js"

export const DEFAULT_ID = "default"

/** Path segments of the OpenAI routes: a block with one of these names would shadow them. */
export const RESERVED_NAMES: ReadonlyArray<string> = ["v1", "models", "chat", "completions", "embeddings"]

export const BlockId = Schema.String.annotations({ description: `"default" or a UUID` })

export const BlockName = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: () => "name must match [a-z0-9][a-z0-9_-]{0,63} (lower case letters, digits, _ and -, at most 64)"
  }),
  Schema.filter((s) => !RESERVED_NAMES.includes(s) || `name "${s}" is reserved (${RESERVED_NAMES.join(", ")})`)
).annotations({ description: "Matched by /v1/{name}/...; unique" })

export const BlockRoutingMode = Schema.NullOr(RoutingMode).annotations({
  description: "null = the global routing mode (never null for default)"
})

export const EndpointIds = Schema.Array(Schema.String).annotations({
  description: "Ids of the endpoints wired to the block, in endpoint creation order"
})

export const BlockCreate = Schema.Struct({
  name: BlockName,
  routing_mode: Schema.optionalWith(BlockRoutingMode, { default: () => null }),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  pos_x: Schema.optionalWith(PosX, { default: () => 0 }),
  pos_y: Schema.optionalWith(PosY, { default: () => 0 }),
  endpoint_ids: Schema.optionalWith(EndpointIds, { default: () => [] })
}).annotations({ identifier: "IncomingBlockCreate", ...rejectUnknownFields })
export type BlockCreate = typeof BlockCreate.Type

/** Exact optionals: a field is either given or absent, so a patch spreads over a block as it is. */
const exact = { exact: true } as const

export const BlockPatch = Schema.Struct({
  name: Schema.optionalWith(BlockName, exact),
  routing_mode: Schema.optionalWith(BlockRoutingMode, exact),
  enabled: Schema.optionalWith(Schema.Boolean, exact),
  pos_x: Schema.optionalWith(PosX, exact),
  pos_y: Schema.optionalWith(PosY, exact),
  endpoint_ids: Schema.optionalWith(EndpointIds, exact)
}).annotations({ identifier: "IncomingBlockPatch", ...rejectUnknownFields })
export type BlockPatch = typeof BlockPatch.Type

export const IncomingBlock = Schema.Struct({
  id: BlockId,
  name: BlockName,
  routing_mode: BlockRoutingMode,
  enabled: Schema.Boolean,
  pos_x: PosX,
  pos_y: PosY,
  endpoint_ids: EndpointIds
}).annotations({ identifier: "IncomingBlock" })
export type IncomingBlock = typeof IncomingBlock.Type
