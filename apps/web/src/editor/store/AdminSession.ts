/**
 * The store's API bound to the session's typed HttpApiClient. Create calls send every field: the
 * client takes the schemas' decoded types, where defaulted fields are required, so the fields not given
 * are filled in with the create schemas' own defaults (what the server would apply).
 */
import { Endpoint, IncomingBlock } from "@llmlb/core"
import { Schema } from "effect"
import type { AdminSession } from "../../api/index.js"
import type { EditorApi } from "./EditorApi.js"

/** Every optional field of a create at its default: decoding an empty object fills them all in. */
const endpointDefaults = Schema.decodeSync(Endpoint.EndpointCreate.omit("name", "base_url"))({})
const blockDefaults = Schema.decodeSync(IncomingBlock.BlockCreate.omit("name"))({})

export const editorApi = (session: AdminSession): EditorApi => {
  const { client, call } = session
  return {
    state: () => call(client.state.get()),
    createEndpoint: (input) => call(client.endpoints.create({ payload: { ...endpointDefaults, ...input } })),
    updateEndpoint: (id, changes) => call(client.endpoints.update({ path: { eid: id }, payload: changes })),
    deleteEndpoint: (id) => call(client.endpoints.delete({ path: { eid: id } })).then(() => undefined),
    createBlock: (input) => call(client.incomingBlocks.create({ payload: { ...blockDefaults, ...input } })),
    updateBlock: (id, changes) => call(client.incomingBlocks.update({ path: { bid: id }, payload: changes })),
    deleteBlock: (id) => call(client.incomingBlocks.delete({ path: { bid: id } })).then(() => undefined),
    setRoutingMode: (mode) => call(client.routing.setMode({ payload: { mode } })).then(() => undefined)
  }
}
