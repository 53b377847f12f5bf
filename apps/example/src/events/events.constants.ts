/** Name of the buffer that batches incoming events into bulk INSERTs. */
export const EVENTS_BUFFER = 'events';

/** Most events `POST /events/batch` accepts in one request. */
export const MAX_EVENTS_PER_REQUEST = 1000;

/** Most levels of objects and arrays in an event's `payload`, the payload object included. */
export const PAYLOAD_MAX_DEPTH = 8;

/** Most bytes of an event's `payload` written as JSON. */
export const PAYLOAD_MAX_BYTES = 16 * 1024;

/** Pattern of the broker messages that carry one event (`{"pattern":"event.tracked","data":{...}}`). */
export const EVENT_TRACKED_PATTERN = 'event.tracked';
