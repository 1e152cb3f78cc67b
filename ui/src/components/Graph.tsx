/**
 * The dependency graph of a flow run's task runs, from `/flow_runs/{id}/graph` (the task inputs each run tracked): a
 * column per depth (longest chain of upstream runs), a box per task run coloured by state, an edge per dependency.
 */
import { useNavigate } from "@solidjs/router"
import { createMemo, createResource, For, Show } from "solid-js"
import { call, uuid } from "../api.js"
import { stateVar } from "../format.js"
import { ErrorBox, ok } from "./common.js"

/** Beyond this many task runs the drawing would be unreadable; the timeline and the list still show them all. */
const MAX_NODES = 400
const W = 150
const H = 26
const GAP_X = 60
const GAP_Y = 10

export const Graph = (props: { flowRunId: string; names: (id: string) => string; version: () => unknown }) => {
  const navigate = useNavigate()
  // Read again when the number of task runs changes (a string key: the same key never fetches twice).
  const [graph] = createResource(() => `${props.flowRunId} ${String(props.version())}`, (key) =>
    call((c) => c.flow_runs.graph({ path: { id: uuid(key.split(" ")[0]!) } })))
  const layout = createMemo(() => {
    const nodes = ok(graph) ?? []
    if (nodes.length > MAX_NODES) return undefined
    const byId = new Map(nodes.map((n) => [n.id as string, n]))
    const depth = new Map<string, number>()
    const depthOf = (id: string, seen: Set<string>): number => {
      const known = depth.get(id)
      if (known !== undefined) return known
      if (seen.has(id)) return 0
      seen.add(id)
      const node = byId.get(id)
      const d = node === undefined ? 0 : Math.max(-1, ...node.upstream_dependencies.filter((u) => byId.has(u.id)).map((u) => depthOf(u.id, seen))) + 1
      depth.set(id, d)
      return d
    }
    const columns: Array<Array<string>> = []
    for (const n of nodes) (columns[depthOf(n.id, new Set())] ??= []).push(n.id)
    const position = new Map<string, { x: number; y: number }>()
    columns.forEach((ids, c) => ids.forEach((id, r) => position.set(id, { x: c * (W + GAP_X) + 4, y: r * (H + GAP_Y) + 4 })))
    const edges = nodes.flatMap((n) => n.upstream_dependencies.filter((u) => position.has(u.id)).map((u) => ({ from: position.get(u.id)!, to: position.get(n.id)! })))
    return {
      nodes: nodes.map((n) => ({ id: n.id as string, type: n.state?.type ?? null, ...position.get(n.id)! })),
      edges,
      width: columns.length * (W + GAP_X),
      height: Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) + 8
    }
  })
  return (
    <div>
      <ErrorBox error={graph.error} />
      <Show when={ok(graph) !== undefined && ok(graph)!.length === 0}><p class="muted">No task runs.</p></Show>
      <Show when={ok(graph) !== undefined && layout() === undefined}>
        <p class="muted">{ok(graph)!.length} task runs: too many to draw as a graph; the timeline and the task-run list show them all.</p>
      </Show>
      <Show when={layout() !== undefined && layout()!.nodes.length > 0}>
        <div style={{ overflow: "auto", "max-height": "420px" }}>
          <svg width={layout()!.width} height={layout()!.height} role="img" aria-label="Task run dependency graph" data-testid="graph">
            <For each={layout()!.edges}>
              {(e) => <line x1={e.from.x + W} y1={e.from.y + H / 2} x2={e.to.x} y2={e.to.y + H / 2} stroke="var(--muted)" />}
            </For>
            <For each={layout()!.nodes}>
              {(n) => (
                <g style={{ cursor: "pointer" }} onClick={() => navigate(`/task-run/${n.id}`)} tabindex="0" role="link"
                  onKeyDown={(e) => e.key === "Enter" && navigate(`/task-run/${n.id}`)} aria-label={`Task run ${props.names(n.id)}`}>
                  <rect x={n.x} y={n.y} width={W} height={H} rx="5" fill="var(--panel)" stroke={stateVar(n.type)} stroke-width="2" />
                  <text x={n.x + 8} y={n.y + H / 2 + 4} font-size="12" fill="var(--text)">{props.names(n.id).slice(0, 20)}</text>
                </g>
              )}
            </For>
          </svg>
        </div>
      </Show>
    </div>
  )
}
