/** Name of the keyed buffer (key: the page's path) that counts page views. */
export const PAGE_VIEWS_BUFFER = 'page-views';
