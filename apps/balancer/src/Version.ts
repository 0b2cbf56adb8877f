import pkg from "../package.json" with { type: "json" }

/** The balancer's version: /health, X-LB-Version and the state all report apps/balancer/package.json's. */
export const VERSION: string = pkg.version
