export * as Endpoint from "./Endpoint.js"
export * as OpenAi from "./OpenAi.js"
export * from "./SlidingWindow.js"
export * as Sse from "./Sse.js"
