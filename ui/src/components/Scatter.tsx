/** The scatter view of flow runs (as in the original): start time × duration, one dot per run coloured by its state; a click opens the run. */
import { createEffect, onCleanup, onMount } from "solid-js"
import type { FlowRunSummary as Summary } from "../../../src/domain/flow-run-summary.js"
import type { Wire } from "../api.js"

type FlowRunSummary = Wire<Summary>
import { formatDuration, formatTime, stateColor } from "../format.js"

export const Scatter = (props: { runs: ReadonlyArray<FlowRunSummary>; onOpen: (id: string) => void }) => {
  let canvas!: HTMLCanvasElement
  let points: Array<{ x: number; y: number; run: FlowRunSummary }> = []
  const H = 220
  const draw = () => {
    const width = canvas.parentElement!.clientWidth
    const dpr = window.devicePixelRatio || 1
    canvas.width = width * dpr
    canvas.height = H * dpr
    canvas.style.width = `${width}px`
    canvas.style.height = `${H}px`
    const ctx = canvas.getContext("2d")!
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, width, H)
    const started = props.runs.filter((r) => r.start_time !== null)
    const muted = getComputedStyle(document.documentElement).getPropertyValue("--muted").trim()
    ctx.fillStyle = muted
    ctx.font = "11px system-ui, sans-serif"
    if (started.length === 0) {
      ctx.fillText("No started runs on this page.", 8, 20)
      points = []
      return
    }
    const times = started.map((r) => Date.parse(r.start_time!))
    const t0 = Math.min(...times)
    const t1 = Math.max(t0 + 1000, ...times)
    const maxDuration = Math.max(0.001, ...started.map((r) => r.estimated_run_time))
    const left = 50
    const bottom = H - 20
    ctx.fillText(formatDuration(maxDuration), 2, 12)
    ctx.fillText("0 s", 2, bottom)
    ctx.fillText(formatTime(new Date(t0)), left, H - 4)
    ctx.textAlign = "right"
    ctx.fillText(formatTime(new Date(t1)), width - 4, H - 4)
    ctx.textAlign = "left"
    points = started.map((run) => ({
      x: left + ((Date.parse(run.start_time!) - t0) / (t1 - t0)) * (width - left - 10),
      y: bottom - (run.estimated_run_time / maxDuration) * (bottom - 10),
      run
    }))
    for (const p of points) {
      ctx.beginPath()
      ctx.fillStyle = stateColor(p.run.state_type)
      ctx.arc(p.x, p.y, 4, 0, Math.PI * 2)
      ctx.fill()
    }
  }
  onMount(() => {
    const resize = new ResizeObserver(draw)
    resize.observe(canvas.parentElement!)
    onCleanup(() => resize.disconnect())
  })
  createEffect(() => {
    void props.runs
    draw()
  })
  const nearest = (e: MouseEvent) => {
    const rect = canvas.getBoundingClientRect()
    const x = e.clientX - rect.left
    const y = e.clientY - rect.top
    return points.find((p) => Math.abs(p.x - x) < 6 && Math.abs(p.y - y) < 6)
  }
  return (
    <div>
      <canvas ref={canvas} role="img" aria-label={`Scatter of ${props.runs.length} flow runs: start time against duration`}
        onClick={(e) => { const p = nearest(e); if (p) props.onOpen(p.run.id) }}
        onMouseMove={(e) => { const p = nearest(e); canvas.title = p ? `${p.run.name}: ${p.run.state_name}, ${formatDuration(p.run.estimated_run_time)}` : "" }} />
    </div>
  )
}
