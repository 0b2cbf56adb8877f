import { Schema } from "effect"

/**
 * `?limit=&before=` of a list served newest first (audit entries, runs): the next page passes the last
 * id it got as `before`. `items` names them in the description.
 */
export const PageQuery = (defaultLimit: number, items: string) =>
  Schema.Struct({
    limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)), { default: () => defaultLimit }),
    before: Schema.optional(
      Schema.NumberFromString.pipe(Schema.int()).annotations({ description: `only ${items} with a smaller id (the last id of the previous page)` })
    )
  })
