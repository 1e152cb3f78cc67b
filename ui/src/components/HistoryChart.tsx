/** The run-history chart: one stacked bar per time bucket of `/flow_runs/history`, coloured by state type, failures below the axis. */
import { For, Show } from "solid-js"
import type { HistoryInterval } from "../../../src/domain/history.js"
import type { Wire } from "../api.js"
import { formatTime, stateVar } from "../format.js"

const ORDER = ["COMPLETED", "RUNNING", "PENDING", "SCHEDULED", "PAUSED", "CANCELLING", "CANCELLED", "CRASHED"]

export const HistoryChart = (props: { intervals: ReadonlyArray<Wire<HistoryInterval>> }) => {
  const W = 1000
  const H = 160
  const axis = 120
  const max = () => Math.max(1, ...props.intervals.map((i) => i.states.reduce((s, x) => s + (x.state_type === "FAILED" ? 0 : x.count_runs), 0)))
  const maxFailed = () => Math.max(1, ...props.intervals.map((i) => i.states.reduce((s, x) => s + (x.state_type === "FAILED" ? x.count_runs : 0), 0)))
  const bw = () => W / Math.max(1, props.intervals.length)
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label="Flow runs per time bucket, by state">
      <line x1="0" x2={W} y1={axis} y2={axis} stroke="var(--border)" />
      <For each={props.intervals}>
        {(interval, i) => {
          let y = axis
          const stacked = [...interval.states].filter((s) => s.state_type !== "FAILED")
            .sort((a, b) => ORDER.indexOf(a.state_type) - ORDER.indexOf(b.state_type))
          const failed = interval.states.filter((s) => s.state_type === "FAILED").reduce((n, s) => n + s.count_runs, 0)
          const title = `${formatTime(interval.interval_start)} – ${formatTime(interval.interval_end)}\n` +
            (interval.states.length === 0 ? "no runs" : interval.states.map((s) => `${s.state_name}: ${s.count_runs}`).join("\n"))
          return (
            <g>
              <title>{title}</title>
              <rect x={i() * bw()} y="0" width={bw()} height={H} fill="transparent" />
              <For each={stacked}>
                {(s) => {
                  const h = (s.count_runs / max()) * (axis - 4)
                  y -= h
                  return <rect x={i() * bw() + 1} y={y} width={Math.max(1, bw() - 2)} height={h} fill={stateVar(s.state_type)} />
                }}
              </For>
              <Show when={failed > 0}>
                <rect x={i() * bw() + 1} y={axis + 1} width={Math.max(1, bw() - 2)} height={(failed / maxFailed()) * (H - axis - 2)} fill={stateVar("FAILED")} />
              </Show>
            </g>
          )
        }}
      </For>
    </svg>
  )
}
