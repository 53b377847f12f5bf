/**
 * The item every contender receives: a small object with three own fields, one hidden class
 * for all contenders. The OpenTelemetry processors read `resource` and call `spanContext()` on
 * each record; both live on the prototype, so the objects stay 3-field for everyone and only
 * OTel pays for reading them (as it would with real records).
 */
export class Item {
  id: number;
  n: number;
  tag: string;
  constructor(id: number, n: number, tag: string) {
    this.id = id;
    this.n = n;
    this.tag = tag;
  }
}

const RESOURCE = Object.freeze({ asyncAttributesPending: false, attributes: {} });
const SPAN_CONTEXT = Object.freeze({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: 1, // SAMPLED: the span processor keeps it
});
Object.defineProperties(Item.prototype, {
  resource: { value: RESOURCE },
  spanContext: {
    value: function spanContext() {
      return SPAN_CONTEXT;
    },
  },
});

const TAGS = ['click', 'view', 'scroll', 'submit', 'hover', 'load', 'error', 'close'];

/** `count` fresh items (a packed array), ids from `first`. */
export function makeItems(count: number, first = 0): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < count; i++) {
    const id = first + i;
    items.push(new Item(id, id & 1023, TAGS[id & 7]));
  }
  return items;
}

/** One fresh item. */
export function makeItem(id: number): Item {
  return new Item(id, id & 1023, TAGS[id & 7]);
}
