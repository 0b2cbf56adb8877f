// The little of `pg` that the balancer uses directly (the package ships no types and @types/pg is not installed).
declare module "pg" {
  export interface Notification {
    readonly channel: string
    readonly payload?: string | undefined
  }
  export class Client {
    constructor(config: { readonly connectionString: string; readonly connectionTimeoutMillis?: number; readonly application_name?: string })
    connect(): Promise<void>
    query(text: string): Promise<unknown>
    end(): Promise<void>
    on(event: "notification", listener: (message: Notification) => void): this
    on(event: "error" | "end", listener: (error?: Error) => void): this
  }
  const pg: {
    readonly Client: typeof Client
    readonly types: {
      readonly builtins: { readonly INT8: number }
      readonly getTypeParser: (oid: number, format?: "text" | "binary") => (value: string) => unknown
    }
  }
  export default pg
}
