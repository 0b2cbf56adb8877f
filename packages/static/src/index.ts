export { type Encoding, acceptedEncodings } from "./AcceptEncoding.js"
export { contentTypeOf } from "./ContentTypes.js"
export { DEFAULT_CSP, IMMUTABLE, REVALIDATE, serveStatic, type StaticHandler, type StaticOptions } from "./serveStatic.js"
