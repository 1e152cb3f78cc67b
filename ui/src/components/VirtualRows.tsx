/** A virtualised list (@tanstack/solid-virtual): only the rows in view are in the DOM, so long lists of task runs and logs stay fast. */
import { createVirtualizer } from "@tanstack/solid-virtual"
import { For, type JSX } from "solid-js"

export function VirtualRows<T>(props: {
  items: ReadonlyArray<T>
  rowHeight: number
  height: number
  label: string
  testId?: string
  row: (item: T, index: number) => JSX.Element
}) {
  let scroller!: HTMLDivElement
  const virtualizer = createVirtualizer({
    get count() {
      return props.items.length
    },
    getScrollElement: () => scroller,
    estimateSize: () => props.rowHeight,
    overscan: 10
  })
  return (
    <div ref={scroller} class="row-list" style={{ height: `${props.height}px` }} role="list" aria-label={props.label} data-testid={props.testId}>
      <div style={{ height: `${virtualizer.getTotalSize()}px`, position: "relative" }}>
        <For each={virtualizer.getVirtualItems()}>
          {(v) => (
            <div role="listitem" style={{ position: "absolute", top: 0, left: 0, right: 0, height: `${props.rowHeight}px`, transform: `translateY(${v.start}px)` }}>
              {props.row(props.items[v.index]!, v.index)}
            </div>
          )}
        </For>
      </div>
    </div>
  )
}
