/** How the dashboard writes states, times and durations, and the colour of each state type (shared by lists, charts and the timeline). */

import { stateNames, stateTypes } from "virtual:orion-api"

/** Every state type, as the domain defines them. */
export const STATE_TYPES = stateTypes

/** Every named state (Late, AwaitingRetry, Retrying, Cancelling …), as the domain defines them. */
export const STATE_NAMES = stateNames

/** CSS custom properties per state type (defined for both themes in styles.css). */
export const stateVar = (type: string | null | undefined) => `var(--state-${(type ?? "none").toLowerCase()})`

/** The same colour as a value a canvas can use. */
export const stateColor = (type: string | null | undefined): string =>
  getComputedStyle(document.documentElement).getPropertyValue(`--state-${(type ?? "none").toLowerCase()}`).trim() || "#888"

export const isTerminal = (type: string | null | undefined) => type === "COMPLETED" || type === "FAILED" || type === "CANCELLED" || type === "CRASHED"

const pad = (n: number) => String(n).padStart(2, "0")

/** `2026-12-07 10:41:03` in the browser's time zone. */
export const formatTime = (d: Date | string | null | undefined): string => {
  if (d === null || d === undefined) return "—"
  const t = typeof d === "string" ? new Date(d) : d
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`
}

/** `1.23 s`, `4m 05s`, `2h 03m`. */
export const formatDuration = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—"
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`
  const m = Math.floor(seconds / 60)
  if (m < 60) return `${m}m ${pad(Math.floor(seconds % 60))}s`
  return `${Math.floor(m / 60)}h ${pad(m % 60)}m`
}

/** Python-style log level names. */
export const levelName = (level: number) =>
  level >= 50 ? "CRITICAL" : level >= 40 ? "ERROR" : level >= 30 ? "WARNING" : level >= 20 ? "INFO" : "DEBUG"
