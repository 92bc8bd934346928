import { DomainError } from '../../core/errors'
import { assertExactJson } from '../../core/ingest/exact-json'

/** Reads a request body as text, refusing (413) more than `max` bytes without buffering them. */
export async function readBodyText(req: Request, max: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN)
  const tooLarge = () =>
    new DomainError(
      'payload_too_large',
      `The body exceeds ${max} bytes; split the batch into smaller requests.`,
    )
  if (Number.isFinite(declared) && declared > max) throw tooLarge()
  if (!req.body) return ''
  if (Number.isFinite(declared)) return decodeUtf8(new Uint8Array(await req.arrayBuffer()))
  const reader = req.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > max) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const buf = new Uint8Array(total)
  let o = 0
  for (const c of chunks) {
    buf.set(c, o)
    o += c.byteLength
  }
  return decodeUtf8(buf)
}

function decodeUtf8(buf: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf)
  } catch {
    throw new DomainError('validation_failed', 'The body is not valid UTF-8.')
  }
}

/**
 * Parses a JSON body and holds it to what can be kept exactly (core/ingest/exact-json.ts: depth,
 * reserved keys, numbers, surrogates), so no later step can drop or round a value unseen.
 * `expected` names what to send when the body is empty.
 */
export function parseJson(text: string, expected = 'a JSON event or {"events": [...]}'): unknown {
  if (text.trim() === '') throw new DomainError('malformed_json', `The body is empty; send ${expected}.`)
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new DomainError('malformed_json', `The body is not valid JSON: ${(err as Error).message}`)
  }
  assertExactJson(body)
  return body
}
