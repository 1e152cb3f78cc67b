/**
 * The dependency graph of a flow run's task runs, from `/flow_runs/{id}/task_run_graph` (the task inputs each run
 * tracked, column by column): a column per depth (longest chain of upstream runs), a box per task run coloured by
 * state, an edge per dependency. Up to a few hundred task runs it is SVG whose boxes are links (Tab, Enter); beyond,
 * one canvas that draws only what is in view, so ten thousand task runs scroll without freezing the page.
 */
import { useNavigate } from "@solidjs/router"
import { createEffect, createMemo, createResource, For, onCleanup, onMount, Show } from "solid-js"
import type { TaskRunGraph } from "../../../src/domain/task-run-graph.js"
import { call, uuid } from "../api.js"
import { stateColor, stateVar } from "../format.js"
import { ErrorBox, ok } from "./common.js"

/** Beyond this many task runs the graph is drawn on a canvas (boxes as SVG links would be tens of thousands of nodes). */
const MAX_SVG_NODES = 400
const W = 150
const H = 26
const GAP_X = 60
const GAP_Y = 10

interface Layout {
  readonly graph: TaskRunGraph
  /** Top-left corner of each task run's box, by index. */
  readonly x: Float64Array
  readonly y: Float64Array
  readonly width: number
  readonly height: number
  readonly edges: number
}

/** Depth = the longest chain of upstream runs (a run in a cycle, which tracked inputs cannot make, stays in column 0). */
const layout = (graph: TaskRunGraph): Layout => {
  const n = graph.id.length
  const downstream: Array<Array<number>> = Array.from({ length: n }, () => [])
  const waiting = new Int32Array(n)
  let edges = 0
  graph.upstream.forEach((ups, i) => {
    waiting[i] = ups.length
    edges += ups.length
    for (const u of ups) downstream[u]!.push(i)
  })
  const depth = new Int32Array(n)
  const queue: Array<number> = []
  for (let i = 0; i < n; i++) if (waiting[i] === 0) queue.push(i)
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!
    for (const d of downstream[i]!) {
      depth[d] = Math.max(depth[d]!, depth[i]! + 1)
      if (--waiting[d]! === 0) queue.push(d)
    }
  }
  const rows: Array<number> = []
  const x = new Float64Array(n)
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const column = depth[i]!
    const row = rows[column] ?? 0
    rows[column] = row + 1
    x[i] = column * (W + GAP_X) + 4
    y[i] = row * (H + GAP_Y) + 4
  }
  return { graph, x, y, width: rows.length * (W + GAP_X), height: Math.max(1, ...rows) * (H + GAP_Y) + 8, edges }
}

export const Graph = (props: { flowRunId: string; version: () => unknown }) => {
  const navigate = useNavigate()
  // Read once the page has all its task runs, and again when their number changes (a string key: the same key never
  // fetches twice) — not once per page of task runs while they load.
  const [graph] = createResource(() => (props.version() === undefined ? false : `${props.flowRunId} ${String(props.version())}`), (key) =>
    call((c) => c.flow_runs.taskRunGraph({ path: { id: uuid(key.split(" ")[0]!) } })))
  const drawn = createMemo(() => {
    const g = ok(graph)
    return g === undefined || g.id.length === 0 ? undefined : layout(g)
  })
  const open = (i: number) => navigate(`/task-run/${drawn()!.graph.id[i]}`)
  return (
    <div>
      <ErrorBox error={graph.error} />
      <Show when={ok(graph) !== undefined && ok(graph)!.id.length === 0}><p class="muted">No task runs.</p></Show>
      <Show when={drawn()}>
        {(l) => (
          <Show when={l().graph.id.length <= MAX_SVG_NODES} fallback={
            <>
              <p class="muted" data-testid="graph-note">
                {l().graph.id.length} task runs and {l().edges} dependencies, drawn on a canvas: scroll to move, click a box to open its
                task run. The “Task runs” tab lists them all, with keyboard access.
              </p>
              <CanvasGraph layout={l()} onOpen={open} />
            </>
          }>
            <SvgGraph layout={l()} onOpen={open} />
          </Show>
        )}
      </Show>
    </div>
  )
}

/** A few hundred task runs: SVG, each box a link. */
const SvgGraph = (props: { layout: Layout; onOpen: (i: number) => void }) => {
  const l = () => props.layout
  const indices = () => l().graph.id.map((_, i) => i)
  const edges = () => l().graph.upstream.flatMap((ups, i) => ups.map((u) => ({ from: u, to: i })))
  return (
    <div style={{ overflow: "auto", "max-height": "420px" }}>
      <svg width={l().width} height={l().height} role="img" aria-label="Task run dependency graph" data-testid="graph">
        <For each={edges()}>
          {(e) => <line x1={l().x[e.from]! + W} y1={l().y[e.from]! + H / 2} x2={l().x[e.to]!} y2={l().y[e.to]! + H / 2} stroke="var(--muted)" />}
        </For>
        <For each={indices()}>
          {(i) => (
            <g style={{ cursor: "pointer" }} onClick={() => props.onOpen(i)} tabindex="0" role="link"
              onKeyDown={(e) => e.key === "Enter" && props.onOpen(i)} aria-label={`Task run ${l().graph.name[i]}`}>
              <rect x={l().x[i]} y={l().y[i]} width={W} height={H} rx="5" fill="var(--panel)" stroke={stateVar(l().graph.state_type[i])} stroke-width="2" />
              <text x={l().x[i]! + 8} y={l().y[i]! + H / 2 + 4} font-size="12" fill="var(--text)">{l().graph.name[i]!.slice(0, 20)}</text>
            </g>
          )}
        </For>
      </svg>
    </div>
  )
}

/** Thousands of task runs: one canvas the size of the view, redrawn on scroll with only the boxes and edges in view. */
const CanvasGraph = (props: { layout: Layout; onOpen: (i: number) => void }) => {
  let wrap!: HTMLDivElement
  let canvas!: HTMLCanvasElement
  let area!: HTMLDivElement
  let frame = 0

  const draw = () => {
    frame = 0
    const { graph, x, y, width, height } = props.layout
    const viewW = wrap.clientWidth
    const viewH = wrap.clientHeight
    const dpr = window.devicePixelRatio || 1
    if (canvas.width !== viewW * dpr || canvas.height !== viewH * dpr) {
      canvas.width = viewW * dpr
      canvas.height = viewH * dpr
      canvas.style.width = `${viewW}px`
      canvas.style.height = `${viewH}px`
    }
    // The canvas sticks to the view inside a box the graph's size, which is what scrolls.
    area.style.width = `${Math.max(width, viewW)}px`
    area.style.height = `${Math.max(height, viewH)}px`
    const left = wrap.scrollLeft
    const top = wrap.scrollTop
    const inView = (i: number) => x[i]! + W >= left && x[i]! <= left + viewW && y[i]! + H >= top && y[i]! <= top + viewH
    const ctx = canvas.getContext("2d")!
    ctx.setTransform(dpr, 0, 0, dpr, -left * dpr, -top * dpr)
    ctx.clearRect(left, top, viewW, viewH)
    const css = getComputedStyle(document.documentElement)
    // Edges with an end in view (an edge passing through the view with both ends outside is left out).
    ctx.strokeStyle = css.getPropertyValue("--muted").trim()
    ctx.lineWidth = 1
    ctx.beginPath()
    graph.upstream.forEach((ups, i) => {
      for (const u of ups) {
        if (!inView(i) && !inView(u)) continue
        ctx.moveTo(x[u]! + W, y[u]! + H / 2)
        ctx.lineTo(x[i]!, y[i]! + H / 2)
      }
    })
    ctx.stroke()
    const colors = new Map<string | null, string>()
    const panel = css.getPropertyValue("--panel").trim()
    const text = css.getPropertyValue("--text").trim()
    ctx.font = "12px system-ui, sans-serif"
    ctx.textBaseline = "middle"
    ctx.lineWidth = 2
    let shown = 0
    for (let i = 0; i < graph.id.length; i++) {
      if (!inView(i)) continue
      shown++
      const type = graph.state_type[i] ?? null
      let color = colors.get(type)
      if (color === undefined) colors.set(type, color = stateColor(type))
      ctx.fillStyle = panel
      ctx.fillRect(x[i]!, y[i]!, W, H)
      ctx.strokeStyle = color
      ctx.strokeRect(x[i]! + 1, y[i]! + 1, W - 2, H - 2)
      ctx.fillStyle = text
      const name = graph.name[i]!
      ctx.fillText(name.length > 20 ? `${name.slice(0, 19)}…` : name, x[i]! + 8, y[i]! + H / 2)
    }
    // What a test or a benchmark waits for (a canvas has no DOM to look into): the task runs laid out, and those drawn.
    wrap.dataset.nodes = String(graph.id.length)
    wrap.dataset.shown = String(shown)
  }
  const schedule = () => {
    if (frame === 0) frame = requestAnimationFrame(draw)
  }
  const at = (e: MouseEvent): number | undefined => {
    const rect = canvas.getBoundingClientRect()
    const px = e.clientX - rect.left + wrap.scrollLeft
    const py = e.clientY - rect.top + wrap.scrollTop
    const { x, y } = props.layout
    for (let i = 0; i < x.length; i++) if (px >= x[i]! && px <= x[i]! + W && py >= y[i]! && py <= y[i]! + H) return i
    return undefined
  }

  onMount(() => {
    const resize = new ResizeObserver(schedule)
    resize.observe(wrap)
    onCleanup(() => resize.disconnect())
  })
  createEffect(() => {
    void props.layout
    schedule()
  })
  onCleanup(() => frame !== 0 && cancelAnimationFrame(frame))

  return (
    <div class="graph-wrap" ref={wrap} onScroll={schedule} data-testid="graph-canvas">
      <div ref={area}>
      <canvas ref={canvas} role="img" aria-label={`Dependency graph of ${props.layout.graph.id.length} task runs`}
        onClick={(e) => {
          const i = at(e)
          if (i !== undefined) props.onOpen(i)
        }}
        onMouseMove={(e) => {
          const i = at(e)
          canvas.title = i === undefined ? "" : `${props.layout.graph.name[i]}: ${props.layout.graph.state_type[i]?.toLowerCase() ?? "no state"}`
          canvas.style.cursor = i === undefined ? "default" : "pointer"
        }} />
      </div>
    </div>
  )
}
