/** Views of one page, as they wait in the coalescing `page-views` buffer: one value per path. */
export interface PageView {
  path: string;
  /** Views counted since the last flush of this path's batch. */
  views: number;
}
