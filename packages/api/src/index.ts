/**
 * The HTTP contracts of the balancer's admin API: declared once, implemented by the balancer and
 * called by the web app through `HttpApiClient.make(AdminApi, { baseUrl })`. No I/O and nothing
 * Node-only: it is bundled into the browser too.
 */
export * from "./AdminApi.js"
export * from "./AdminAuth.js"
export * from "./Errors.js"
/** The load producer's API (apps/producer), under /api. */
export * as Producer from "./producer/index.js"
