export { migration } from "./Migration.js"
export { sqliteLayer, type SqliteOptions } from "./Sqlite.js"
