/**
 * Names of things on the canvas. Endpoints and incoming blocks are both nodes; their keys say which,
 * since the two id spaces are separate tables on the server.
 */
export const DEFAULT_BLOCK = "default"

export type NodeKind = "endpoint" | "block"

export const endpointKey = (id: string) => `endpoint:${id}`
export const blockKey = (id: string) => `block:${id}`

export const parseNodeKey = (key: string): { readonly kind: NodeKind; readonly id: string } => {
  const colon = key.indexOf(":")
  return { kind: key.slice(0, colon) === "endpoint" ? "endpoint" : "block", id: key.slice(colon + 1) }
}

/** A wire runs from a block's output port to an endpoint's input port. */
export const wireKey = (blockId: string, endpointId: string) => `${blockId}>${endpointId}`
