/**
 * Auto-pagination over the API's cursor lists (`{"object":"list","has_more","data"}`, newest first).
 *
 * `list()` returns a `PagePromise`: `await` it for the first `Page`, or `for await` over it for every item
 * on every page. Walking follows `starting_after` (older objects) or, when the first request used
 * `ending_before`, `ending_before` (newer objects): the direction the caller started in.
 */
import type { APIClient, Query } from "./core.js";
import type { CyberVaultObject } from "./types.js";

interface ListBody<T> {
  object?: string;
  url?: string;
  has_more?: boolean;
  data?: T[];
}

export class Page<T extends CyberVaultObject> implements AsyncIterable<T> {
  readonly object: string;
  readonly url: string;
  readonly hasMore: boolean;
  readonly data: T[];

  constructor(private readonly client: APIClient, private readonly path: string, private readonly query: Query, body: ListBody<T>) {
    this.object = body.object ?? "list";
    this.url = body.url ?? path;
    this.hasMore = Boolean(body.has_more);
    this.data = Array.isArray(body.data) ? body.data : [];
  }

  /** The API's spelling. */
  get has_more(): boolean { return this.hasMore; }

  nextPageQuery(): Query | null {
    if (!this.hasMore || this.data.length === 0) return null;
    const query: Query = { ...this.query };
    if (query["ending_before"] !== undefined && query["ending_before"] !== null) {
      query["ending_before"] = this.data[0]!.id;
    } else {
      delete query["ending_before"];
      query["starting_after"] = this.data[this.data.length - 1]!.id;
    }
    return query;
  }

  async nextPage(): Promise<Page<T> | null> {
    const query = this.nextPageQuery();
    return query === null ? null : fetchPage<T>(this.client, this.path, query);
  }

  /** This page and every later one, one request per page. */
  async *iterPages(): AsyncGenerator<Page<T>> {
    let page: Page<T> | null = this;
    while (page !== null) {
      yield page;
      page = await page.nextPage();
    }
  }

  async *autoPagingIter(): AsyncGenerator<T> {
    for await (const page of this.iterPages()) {
      for (const item of page.data) yield item;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.autoPagingIter();
  }

  async toArray(options: { maxItems?: number } = {}): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this.autoPagingIter()) {
      if (options.maxItems !== undefined && items.length >= options.maxItems) break;
      items.push(item);
    }
    return items;
  }

  /** The same as `toArray({ maxItems: limit })`, spelled as other SDKs spell it. */
  autoPagingToArray(options: { limit: number }): Promise<T[]> {
    return this.toArray({ maxItems: options.limit });
  }
}

export async function fetchPage<T extends CyberVaultObject>(client: APIClient, path: string, query: Query): Promise<Page<T>> {
  const body = await client.request<ListBody<T>>({ method: "GET", path, query });
  return new Page<T>(client, path, query, body);
}

/** What `list()` returns: a promise of the first page that is also an async iterable of every item. */
export class PagePromise<T extends CyberVaultObject> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private first: Promise<Page<T>> | null = null;

  constructor(private readonly client: APIClient, private readonly path: string, private readonly query: Query) {}

  private firstPage(): Promise<Page<T>> {
    // Fetched lazily and once: `for await` alone costs no extra request.
    this.first ??= fetchPage<T>(this.client, this.path, Object.fromEntries(
      Object.entries(this.query).filter(([, v]) => v !== undefined && v !== null)));
    return this.first;
  }

  then<R1 = Page<T>, R2 = never>(onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.firstPage().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.firstPage().catch(onRejected);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    yield* (await this.firstPage()).autoPagingIter();
  }

  async toArray(options: { maxItems?: number } = {}): Promise<T[]> {
    return (await this.firstPage()).toArray(options);
  }

  /** The same as `toArray({ maxItems: limit })`, spelled as other SDKs spell it. */
  autoPagingToArray(options: { limit: number }): Promise<T[]> {
    return this.toArray({ maxItems: options.limit });
  }
}
