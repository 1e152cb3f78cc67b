/**
 * Clients for bench/api's `readers`, `replay` and `upload` parts, each run in a process of its own (never in the
 * server's, nor in the `set_state` load's): SSE readers of `GET /api/events` that count frames as cheaply as they
 * can (bytes scanned, no JSON parsed), a sequential `GET /api/health` prober, and `POST /api/data/persist` uploads.
 * All of them use plain `node:http` to 127.0.0.1.
 */
import * as fs from "node:fs"
import * as http from "node:http"

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
const sortedCopy = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)

/** min / p50 / max of some figures (0s when there are none). */
export interface Spread {
  readonly min: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}
export const spread = (xs: ReadonlyArray<number>): Spread => {
  const s = sortedCopy(xs)
  return { min: s[0] ?? 0, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) ?? 0 }
}

// ---------------------------------------------------------------------------------------------------------------
// SSE frames, counted from the bytes: `id: n\nevent: <kind>\ndata: …\n\n`, `event: resync\n…`, `: ping`.

const LF = 0x0a
const SEPARATOR = Buffer.from("\n\n")
const ID = Buffer.from("id: ")
const EVENT_HELLO = Buffer.from("event: hello")
const EVENT_RESYNC = Buffer.from("event: resync")

const startsWith = (buf: Buffer, at: number, end: number, prefix: Buffer) =>
  end - at >= prefix.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0

/** Counts the frames of one event stream (across reconnections). */
export class FrameCounter {
  private carry: Buffer | undefined = undefined
  /** Event frames (with an id, other than `hello`). */
  events = 0
  /** The highest id seen (a `hello` frame's included). */
  lastId = 0
  /** The id of the first `hello` frame, if the stream began with one. */
  helloId: number | undefined = undefined
  resyncs = 0
  pings = 0
  /** Event frames whose id was not above the previous one (repeated or out of order). */
  disordered = 0
  /** Called with each new `lastId`. */
  onId: ((id: number) => void) | undefined = undefined

  push(chunk: Buffer) {
    const buf = this.carry === undefined ? chunk : Buffer.concat([this.carry, chunk])
    let start = 0
    for (;;) {
      const end = buf.indexOf(SEPARATOR, start)
      if (end < 0) break
      this.frame(buf, start, end)
      start = end + 2
    }
    this.carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined
  }

  /** Drops a partial frame (the connection ended). */
  reset() {
    this.carry = undefined
  }

  private frame(buf: Buffer, start: number, end: number) {
    if (buf[start] === 0x3a) { // ":" — a comment (keep-alive ping)
      this.pings++
      return
    }
    if (startsWith(buf, start, end, ID)) {
      let id = 0
      let i = start + ID.length
      for (; i < end && buf[i] !== LF; i++) id = id * 10 + (buf[i]! - 0x30)
      if (startsWith(buf, i + 1, end, EVENT_HELLO)) {
        this.helloId ??= id
        if (id > this.lastId) this.lastId = id
      } else {
        this.events++
        if (id <= this.lastId) this.disordered++
        else this.lastId = id
      }
      this.onId?.(this.lastId)
      return
    }
    if (startsWith(buf, start, end, EVENT_RESYNC)) this.resyncs++
  }
}

/** One client of `GET /api/events`: reconnects (with `Last-Event-ID` = the last id seen) when the server ends it. */
export interface Reader {
  readonly counter: FrameCounter
  /** HTTP statuses of its connection attempts. */
  readonly statuses: Record<number, number>
  readonly retryAfter: Array<string>
  /** Connections the server ended (a resync, or anything else) that the reader opened again. */
  reconnects: number
  errors: number
  /** ms from `open` to the response's headers and to the first frame. */
  headersMs: number | undefined
  firstFrameMs: number | undefined
  /** Whether it got a 2xx answer (and so is, or was, reading). */
  connected: boolean
  /** Resolves once the first connection has an answer (2xx, 503, other) or failed. */
  readonly answered: Promise<void>
  /** Closes it for good. */
  readonly close: () => void
}

export const openReader = (origin: string, options: { readonly lastEventId?: number | undefined; readonly t0: number }): Reader => {
  const url = new URL(origin)
  const counter = new FrameCounter()
  let closed = false
  let request: http.ClientRequest | undefined
  let resolveAnswered: () => void = () => {}
  const answered = new Promise<void>((r) => (resolveAnswered = r))
  const reader: Reader = {
    counter, statuses: {}, retryAfter: [], reconnects: 0, errors: 0, headersMs: undefined, firstFrameMs: undefined, connected: false, answered,
    close: () => {
      closed = true
      request?.destroy()
    }
  }
  const connect = (lastEventId: number | undefined) => {
    const headers: Record<string, string> = { accept: "text/event-stream" }
    if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId)
    counter.reset()
    /** Whether this connection has already handed over to the next one. */
    let over = false
    const again = (delay: number) => {
      if (closed || over) return
      over = true
      const from = reader.connected ? counter.lastId : options.lastEventId
      if (delay === 0) connect(from)
      else setTimeout(() => closed || connect(from), delay)
    }
    request = http.get({ host: url.hostname, port: url.port, path: "/api/events", headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0
      reader.statuses[status] = (reader.statuses[status] ?? 0) + 1
      reader.headersMs ??= performance.now() - options.t0
      if (status < 200 || status >= 300) {
        over = true
        const retry = res.headers["retry-after"]
        if (retry !== undefined) reader.retryAfter.push(String(retry))
        res.resume()
        resolveAnswered()
        return
      }
      reader.connected = true
      resolveAnswered()
      res.on("data", (chunk: Buffer) => {
        reader.firstFrameMs ??= performance.now() - options.t0
        counter.push(chunk)
      })
      res.once("error", () => undefined)
      // the server ended the stream (a lagging reader is told to resync, then ended): read on from the last id seen
      res.once("close", () => {
        if (closed || over) return
        reader.reconnects++
        again(0)
      })
    })
    request.once("error", () => {
      if (closed || over) return
      // refused or reset: try again a little later (at most 20 times before a first answer)
      reader.errors++
      if (!reader.connected && reader.errors >= 20) {
        over = true
        return resolveAnswered()
      }
      again(200)
    })
  }
  connect(options.lastEventId)
  return reader
}

/**
 * The newest event id, from the `hello` frame of a stream opened without `Last-Event-ID` (retried on a 503, once a
 * second); undefined when every attempt was refused.
 */
export const newestEventId = async (origin: string, attempts = 60): Promise<number | undefined> => {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const reader = openReader(origin, { t0: performance.now() })
    await reader.answered
    if (reader.connected) {
      const id = await new Promise<number>((resolve) => {
        if (reader.counter.helloId !== undefined) return resolve(reader.counter.helloId)
        reader.counter.onId = () => reader.counter.helloId !== undefined && resolve(reader.counter.helloId)
      })
      reader.close()
      return id
    }
    reader.close()
    await new Promise((r) => setTimeout(r, 1000))
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// GET /api/health, one request at a time on one keep-alive connection, one due every `intervalMs`.

/** The samples of one stretch of time: latency in ms, and the statuses (or error codes, e.g. ECONNRESET, when there was no answer). */
export interface HealthSegment {
  readonly name: string
  readonly n: number
  readonly latency: Spread
  readonly statuses: Record<string, number>
}

export const healthProber = (origin: string, intervalMs: number) => {
  const url = new URL(origin)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const segments: Array<{ readonly name: string; readonly latencies: Array<number>; readonly statuses: Record<string, number> }> = []
  let current = { name: "idle", latencies: [] as Array<number>, statuses: {} as Record<string, number> }
  segments.push(current)
  let stopped = false
  /** The status, or the error's code when there was no answer. */
  const get = () =>
    new Promise<number | string>((resolve) => {
      http.get({ host: url.hostname, port: url.port, path: "/api/health", agent }, (res) => {
        res.resume()
        res.once("end", () => resolve(res.statusCode ?? 0))
      }).once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
    })
  const loop = (async () => {
    let due = performance.now()
    while (!stopped) {
      const segment = current
      const t0 = performance.now()
      const status = await get()
      segment.latencies.push(performance.now() - t0)
      segment.statuses[status] = (segment.statuses[status] ?? 0) + 1
      due = Math.max(due + intervalMs, performance.now())
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())))
    }
  })()
  const figures = (s: typeof current): HealthSegment => ({ name: s.name, n: s.latencies.length, latency: spread(s.latencies), statuses: s.statuses })
  return {
    /** Starts a new segment of samples; answers the figures of the one it ends. */
    mark: (name: string) => {
      const ended = current
      current = { name, latencies: [], statuses: {} }
      segments.push(current)
      return figures(ended)
    },
    stop: async () => {
      stopped = true
      await loop
      agent.destroy()
      return segments.map(figures)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// POST /api/data/persist: a Buffer body with Content-Length, or a stream of chunks without (chunked encoding).

export interface UploadFigures {
  readonly mb: number
  readonly how: "content-length" | "chunked"
  readonly seconds: number
  readonly status: number
  /** Whether the file the server answered with has the size sent. */
  readonly stored: boolean
  readonly detail?: string | undefined
}

const CHUNK = 64 * 1024

export const upload = (origin: string, bytes: number, how: "content-length" | "chunked", timeoutMs: number): Promise<UploadFigures> => {
  const url = new URL(origin)
  const mb = bytes / (1024 * 1024)
  const headers: Record<string, string> = { "content-type": "application/octet-stream" }
  if (how === "content-length") headers["content-length"] = String(bytes)
  const body = how === "content-length" ? Buffer.alloc(bytes, 0x61) : Buffer.alloc(CHUNK, 0x61)
  return new Promise<UploadFigures>((resolve) => {
    const t0 = performance.now()
    const finish = (status: number, text: string) => {
      const seconds = (performance.now() - t0) / 1000
      let stored = false
      let detail: string | undefined
      try {
        const blob = JSON.parse(JSON.parse(text).blob as string).blob as string
        stored = fs.statSync(blob).size === bytes
        fs.rmSync(blob, { force: true })
      } catch {
        detail = text.slice(0, 200)
      }
      resolve({ mb, how, seconds, status, stored, detail })
    }
    const request = http.request({ host: url.hostname, port: url.port, method: "POST", path: "/api/data/persist", headers, agent: false }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => (text += d))
      res.once("end", () => finish(res.statusCode ?? 0, text))
    })
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer after ${timeoutMs / 1000} s`)))
    request.once("error", (e) => resolve({ mb, how, seconds: (performance.now() - t0) / 1000, status: 0, stored: false, detail: e.message }))
    if (how === "content-length") request.end(body)
    else {
      let sent = 0
      const pump = () => {
        while (sent < bytes) {
          const n = Math.min(CHUNK, bytes - sent)
          sent += n
          if (!request.write(n === CHUNK ? body : body.subarray(0, n))) return void request.once("drain", pump)
        }
        request.end()
      }
      pump()
    }
  })
}
