/** Name of the buffer that batches incoming events into bulk INSERTs. */
export const EVENTS_BUFFER = 'events';

/** Most events `POST /events/batch` accepts in one request. */
export const MAX_EVENTS_PER_REQUEST = 1000;
