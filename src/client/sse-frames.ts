/** Reads Server-Sent Events as they arrive over `/api/events`: complete frames out of a growing text buffer. */

export interface SseFrame {
  /** The frame's `event:` field. */
  readonly event: string
  /** Its `data:` field (one line: the server writes JSON on one line). */
  readonly data: string
}

/** Takes the complete frames off the front of `buffer`; answers them and what is left (a frame not complete yet). */
export const takeFrames = (buffer: string): { readonly frames: Array<SseFrame>; readonly rest: string } => {
  const frames: Array<SseFrame> = []
  let rest = buffer
  let end: number
  while ((end = rest.indexOf("\n\n")) >= 0) {
    const frame = rest.slice(0, end)
    rest = rest.slice(end + 2)
    const event = /^event: (.*)$/m.exec(frame)?.[1]
    const data = /^data: (.*)$/m.exec(frame)?.[1]
    if (event !== undefined && data !== undefined) frames.push({ event, data })
  }
  return { frames, rest }
}
