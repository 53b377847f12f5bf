/** An event as it waits in the buffer and lands in the `events` table. */
export interface EventRecord {
  /** UUID, given when the event was accepted; unique in the table, so a replay stores nothing twice. */
  id: string;
  type: string;
  userId: string;
  payload: Record<string, unknown> | null;
  /** ISO 8601; when the client did not say, the time it was received. */
  occurredAt: string;
  /** ISO 8601. */
  receivedAt: string;
}
