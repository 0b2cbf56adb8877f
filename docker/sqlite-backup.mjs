// An online backup of an app's SQLite database, for the images (docker/deploy.mjs puts it beside main.js):
//   docker compose exec load-producer node sqlite-backup.mjs
// `VACUUM INTO` writes a consistent, compacted copy while the app keeps running (copying a live WAL database
// file would miss what is still in its -wal file). The copy goes to `backups/` beside the database, as the
// balancer's POST /admin/api/db/backup does, and its path is printed. The database is the argument, else
// LP_DB_PATH or LB_DB_PATH (the image sets the one of its app).
import Database from "better-sqlite3"
import { mkdirSync } from "node:fs"
import { basename, dirname, extname, join, resolve } from "node:path"

const source = process.argv[2] ?? process.env.LP_DB_PATH ?? process.env.LB_DB_PATH
if (source === undefined) {
  process.stderr.write("usage: node sqlite-backup.mjs [database file] (default: LP_DB_PATH or LB_DB_PATH)\n")
  process.exit(2)
}
const folder = join(dirname(resolve(source)), "backups")
mkdirSync(folder, { recursive: true })
// Named as the balancer's own backups: colons are not allowed in file names everywhere.
const stamp = new Date().toISOString().replace(/:/g, "-")
const target = join(folder, `${basename(source, extname(source))}-${stamp}.db`)
const db = new Database(source, { readonly: true, fileMustExist: true })
try {
  db.prepare("VACUUM INTO ?").run(target)
} finally {
  db.close()
}
process.stdout.write(`${target}\n`)
