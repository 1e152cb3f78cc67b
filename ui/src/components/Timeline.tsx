/**
 * The task-run timeline (Gantt) of a flow run on one canvas: a row per task run from its start to its end (or to now
 * while it runs), coloured by state. Only the rows in view are drawn, so ten thousand task runs scroll smoothly; while
 * any runs, the canvas is redrawn each animation frame so running bars grow.
 */
import { createEffect, onCleanup, onMount } from "solid-js"
import { isTerminal, stateColor } from "../format.js"

export interface Bar {
  readonly id: string
  readonly name: string
  readonly type: string | null
  readonly start: number | null
  readonly end: number | null
}

const ROW = 18

export const Timeline = (props: { bars: ReadonlyArray<Bar>; origin: number | null; onOpen?: (id: string) => void }) => {
  let wrap!: HTMLDivElement
  let canvas!: HTMLCanvasElement
  let spacer!: HTMLDivElement
  let frame = 0

  const draw = () => {
    frame = 0
    const bars = props.bars
    const width = wrap.clientWidth
    const height = wrap.clientHeight
    const dpr = window.devicePixelRatio || 1
    if (canvas.width !== width * dpr || canvas.height !== height * dpr) {
      canvas.width = width * dpr
      canvas.height = height * dpr
      canvas.style.width = `${width}px`
      canvas.style.height = `${height}px`
    }
    spacer.style.height = `${Math.max(0, bars.length * ROW + 24 - height)}px`
    const ctx = canvas.getContext("2d")!
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, width, height)
    const now = Date.now()
    let earliest = Infinity
    for (const b of bars) if (b.start !== null && b.start < earliest) earliest = b.start
    const t0 = props.origin ?? (earliest !== Infinity ? earliest : now)
    let t1 = t0 + 1000
    let running = false
    for (const b of bars) {
      const end = b.end ?? (b.start !== null && !isTerminal(b.type) ? now : b.start)
      if (end !== null && end > t1) t1 = end
      if (b.start !== null && b.end === null && !isTerminal(b.type)) running = true
    }
    const label = 160
    const scale = (width - label - 10) / (t1 - t0)
    const text = getComputedStyle(document.documentElement).getPropertyValue("--text").trim()
    const muted = getComputedStyle(document.documentElement).getPropertyValue("--muted").trim()
    ctx.font = "12px system-ui, sans-serif"
    ctx.textBaseline = "middle"
    ctx.fillStyle = muted
    ctx.fillText(`${((t1 - t0) / 1000).toFixed(2)} s`, width - 70, 10)
    const first = Math.floor(wrap.scrollTop / ROW)
    const visible = Math.ceil(height / ROW) + 1
    for (let i = first; i < Math.min(bars.length, first + visible); i++) {
      const b = bars[i]!
      const y = 20 + i * ROW - wrap.scrollTop
      ctx.fillStyle = text
      ctx.fillText(b.name.length > 22 ? `${b.name.slice(0, 21)}…` : b.name, 4, y + ROW / 2 - 2)
      if (b.start === null) continue
      const end = b.end ?? (isTerminal(b.type) ? b.start : now)
      ctx.fillStyle = stateColor(b.type)
      ctx.fillRect(label + (b.start - t0) * scale, y + 2, Math.max(2, (end - b.start) * scale), ROW - 6)
    }
    // How many bars the last drawing had: what a test or a benchmark waits for (a canvas has no DOM to look into).
    wrap.dataset.drawn = String(bars.length)
    if (running) frame = requestAnimationFrame(draw)
  }
  const schedule = () => {
    if (frame === 0) frame = requestAnimationFrame(draw)
  }

  onMount(() => {
    const resize = new ResizeObserver(schedule)
    resize.observe(wrap)
    onCleanup(() => resize.disconnect())
  })
  createEffect(() => {
    void props.bars
    schedule()
  })
  onCleanup(() => frame !== 0 && cancelAnimationFrame(frame))

  const click = (e: MouseEvent) => {
    const rect = wrap.getBoundingClientRect()
    const i = Math.floor((e.clientY - rect.top + wrap.scrollTop - 20) / ROW)
    const bar = props.bars[i]
    if (bar !== undefined) props.onOpen?.(bar.id)
  }

  return (
    <div class="timeline-wrap" ref={wrap} onScroll={schedule} data-testid="timeline">
      <canvas ref={canvas} onClick={click} role="img" aria-label={`Timeline of ${props.bars.length} task runs`} />
      <div ref={spacer} />
    </div>
  )
}
