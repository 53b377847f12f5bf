/** Something with a deadline that a lane's min-heap can order. */
export interface HasDeadline {
  deadline: number;
}

/** Adds `entry` to the binary min-heap `heap` (ordered by deadline). */
export function heapPush<E extends HasDeadline>(heap: E[], entry: E): void {
  let i = heap.length;
  heap.push(entry);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent].deadline <= entry.deadline) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = entry;
}

/** Removes and returns the entry with the earliest deadline. */
export function heapPop<E extends HasDeadline>(heap: E[]): E | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  const n = heap.length;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && heap[right].deadline < heap[left].deadline ? right : left;
    if (heap[child].deadline >= last.deadline) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
  return top;
}

/** Turns `entries` into a heap (a sorted array is one). */
export function heapify<E extends HasDeadline>(entries: E[]): E[] {
  entries.sort((a, b) => a.deadline - b.deadline);
  return entries;
}
