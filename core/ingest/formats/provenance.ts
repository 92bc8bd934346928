// A mapped event remembers which source field each v1 field came from, so an input that is a
// valid foreign shape but still not valid event v1 (an id too long, an e-mail that is not one)
// is reported under the field the client sent, not under a v1 name it never used.
import { DomainError, type FieldError, fieldErrors } from '../../errors'
import { checkEvent } from '../validate-events'

/**
 * v1 path (`target.id`, `changes`, `actor`) -> the source field(s) it came from. The longest
 * matching v1 path wins; `{under}` means the source has the same structure below that path
 * (an embedded event v1), so the rest of the v1 path is appended.
 */
export type Provenance = Record<string, string | string[] | { under: string }>
export type Mapped = { event: Record<string, unknown>; from: Provenance }

function sourcesOf(v1Path: string, from: Provenance): string[] | undefined {
  let best: string | undefined
  for (const key of Object.keys(from)) {
    const boundary = key === '' || v1Path.length === key.length || '.['.includes(v1Path[key.length] ?? '')
    if (v1Path.startsWith(key) && boundary && (best === undefined || key.length > best.length)) best = key
  }
  if (best === undefined) return undefined
  const src = from[best]!
  if (typeof src === 'string') return [src]
  if (Array.isArray(src)) return src
  const rest = v1Path.slice(best.length).replace(/^\./, '')
  if (!rest) return [src.under || '(root)']
  return [src.under && !rest.startsWith('[') ? `${src.under}.${rest}` : `${src.under}${rest}`]
}

/** Validates mapped events as event v1; failures name the source fields. Returns the events. */
export function checkMapped(items: Mapped[], format: string): Record<string, unknown>[] {
  const errors: FieldError[] = []
  for (const { event, from } of items) {
    const r = checkEvent(event)
    if (!r.issues) continue
    // An unknown field is named itself, not its parent object.
    const issues = r.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => ({ path: [...i.path, k], message: 'is not an event v1 field' }))
        : [i],
    )
    for (const e of fieldErrors(issues)) {
      const message = `${e.message} (as event v1 ${e.path})`
      for (const path of sourcesOf(e.path === '(root)' ? '' : e.path, from) ?? ['(root)'])
        errors.push({ path, message })
    }
  }
  if (errors.length) {
    throw new DomainError(
      'validation_failed',
      `The body is a ${format} event, but some fields cannot become event v1 fields; see errors.`,
      errors.slice(0, 100),
    )
  }
  return items.map((m) => m.event)
}
