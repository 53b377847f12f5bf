/** One view of a page, as it waits in the `page-views` buffer. */
export interface PageView {
  path: string;
  /** Epoch ms. */
  at: number;
}
