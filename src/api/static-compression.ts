/**
 * Compressed copies of the built UI's files for browsers that accept them: gzip (or brotli) is made once per file and
 * kept in memory (the UI is a few hundred kB and does not change while the server runs), so a request costs no CPU.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as zlib from "node:zlib"

/** Files smaller than this are sent as they are (compression would save less than a packet). */
const MIN_BYTES = 1024

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"
}

/** The content type of a compressible UI file (by its extension). */
export const contentTypeOf = (file: string): string => TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream"

/** Only text compresses; images and fonts are sent as they are. */
const compressible = (file: string) => path.extname(file).toLowerCase() in TYPES

export type Encoding = "br" | "gzip"

/** The encoding to answer with for an `Accept-Encoding` header: brotli when accepted, else gzip, else none. */
export const chooseEncoding = (acceptEncoding: string | undefined): Encoding | null => {
  const accepted = new Map<string, number>()
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";")
    if (!name) continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
    accepted.set(name, q === undefined ? 1 : Number(q.slice(2)) || 0)
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get("*") ?? 0) > 0
  return ok("br") ? "br" : ok("gzip") ? "gzip" : null
}

const compress = (bytes: Buffer, encoding: Encoding): Buffer =>
  encoding === "br"
    ? zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })
    : zlib.gzipSync(bytes, { level: 6 })

/** A cache of compressed files, keyed by path, encoding, size and modification time (a rebuilt file is compressed again). */
export const compressedFiles = () => {
  const cache = new Map<string, Promise<Buffer | null>>()
  /** The file compressed with `encoding`, or null when it is too small or compression does not make it smaller. */
  return (file: string, encoding: Encoding): Promise<Buffer | null> =>
    fs.stat(file).then((info) => {
      const key = `${encoding} ${info.size} ${info.mtimeMs} ${file}`
      let entry = cache.get(key)
      if (entry === undefined) {
        entry = info.size < MIN_BYTES || !compressible(file) ? Promise.resolve(null) : fs.readFile(file).then((bytes) => {
          const packed = compress(bytes, encoding)
          return packed.length < bytes.length ? packed : null
        })
        cache.set(key, entry)
      }
      return entry
    })
}
