import type { CoalesceOptions } from 'nestjs-data-buffer';
import type { PageView } from './page-view.interface';

/** Name of the coalescing buffer (coalesce key: the page's path) that counts page views. */
export const PAGE_VIEWS_BUFFER = 'page-views';

/**
 * Page views are counters: a view of a path that already waits in the open batch adds to its
 * count instead of taking a place, so the buffer holds one value per path, not one per view.
 */
export const PAGE_VIEWS_COALESCE: CoalesceOptions<PageView> = {
  key: (view) => view.path,
  merge: (pending, next) => ({ path: pending.path, views: pending.views + next.views }),
};
