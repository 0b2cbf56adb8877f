/** Saves text as a file through a temporary object URL. */
export const download = (name: string, type: string, text: string): void => {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = document.createElement("a")
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1_000)
}

/** RFC 4180 CSV from rows of fields. */
export const toCsv = (rows: ReadonlyArray<ReadonlyArray<unknown>>): string =>
  rows.map((row) =>
    row.map((value) => {
      const text = value === null || value === undefined ? "" : String(value)
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, "\"\"")}"` : text
    }).join(",")
  ).join("\n") + "\n"
