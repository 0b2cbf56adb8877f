/**
 * The store's API bound to the session's typed HttpApiClient. Create calls send every field: the
 * client takes the schemas' decoded types, where defaulted fields are required, so the defaults the
 * server would apply are spelled out here once.
 */
import type { AdminSession } from "../../api/index.js"
import type { EditorApi } from "./EditorApi.js"

export const editorApi = (session: AdminSession): EditorApi => {
  const { client, call } = session
  return {
    state: () => call(client.state.get()),
    createEndpoint: (input) =>
      call(
        client.endpoints.create({
          payload: {
            api_key: null,
            enabled: true,
            connected: false,
            token_quota_percent: 0,
            priority_order: 0,
            max_concurrent: 0,
            timeout: null,
            verify_tls: true,
            metrics_url: null,
            pos_x: 0,
            pos_y: 0,
            ...input
          }
        })
      ),
    updateEndpoint: (id, changes) => call(client.endpoints.update({ path: { eid: id }, payload: changes })),
    deleteEndpoint: (id) => call(client.endpoints.delete({ path: { eid: id } })).then(() => undefined),
    createBlock: (input) =>
      call(
        client.incomingBlocks.create({
          payload: { routing_mode: null, enabled: true, pos_x: 0, pos_y: 0, endpoint_ids: [], ...input }
        })
      ),
    updateBlock: (id, changes) => call(client.incomingBlocks.update({ path: { bid: id }, payload: changes })),
    deleteBlock: (id) => call(client.incomingBlocks.delete({ path: { bid: id } })).then(() => undefined),
    setRoutingMode: (mode) => call(client.routing.setMode({ payload: { mode } })).then(() => undefined)
  }
}
