// Follows a search's cursor to the end: `fetchPage(cursor)` returns one response of
// GET /v1/events (or the target history); the result is every id in order and the page count.
export type Page = { data: { id: string }[]; next_cursor: string | null }

export async function allPages(fetchPage: (cursor: string | null) => Promise<Response>) {
  const ids: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await fetchPage(cursor)
    const body = (await res.json()) as Page
    ids.push(...body.data.map((e) => e.id))
    cursor = body.next_cursor
    pages++
  } while (cursor)
  return { ids, pages }
}

/** `&cursor=<c>` when there is one. */
export const cursorParam = (cursor: string | null) => (cursor ? `&cursor=${cursor}` : '')
