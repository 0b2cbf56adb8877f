/** The web app's admin API layer: the session (typed client, token, sign-in, live events) and its error type. */
export { ApiError, toApiError } from "./ApiError.js"
export {
  backoffDelay,
  type BackoffOptions,
  createEventStream,
  DEFAULT_BACKOFF,
  type EventSourceConstructor,
  type EventSourceLike,
  type EventStatus,
  type EventStream,
  type EventStreamOptions,
  type Timers
} from "./Events.js"
export { type AdminClient, type AdminSession, type AdminSessionOptions, createAdminSession, TOKEN_STORAGE_KEY } from "./Session.js"
