// The one walk every parsed body passes before any input format decodes it.
import { describe, expect, it } from 'vitest'
import { exactJsonErrors, tooDeepPath } from '../../../core/ingest/exact-json'
import { LIMITS } from '../../../core/limits'

const paths = (text: string, prefix = '') => exactJsonErrors(JSON.parse(text), prefix).map((e) => e.path)

describe('exactJsonErrors', () => {
  it('passes ordinary JSON, safe integers, fractions and surrogate pairs', () => {
    expect(
      paths(
        '{"a":[1,-9007199254740991,9007199254740991,1.5,2.5e-300,null,true,"x","\\ud83d\\ude00"],"b":{}}',
      ),
    ).toEqual([])
    expect(paths('"plain"')).toEqual([])
  })

  it('names reserved keys anywhere, in document order', () => {
    expect(
      paths(
        '{"events":[{"metadata":{"__proto__":"x"}},{"changes":[{"after":{"constructor":1,"prototype":2}}]}]}',
      ),
    ).toEqual([
      'events[0].metadata.__proto__',
      'events[1].changes[0].after.constructor',
      'events[1].changes[0].after.prototype',
    ])
    expect(paths('[{"__proto__":{}}]')).toEqual(['[0].__proto__'])
    expect(paths('{"__proto__":1}', 'data_base64')).toEqual(['data_base64.__proto__'])
  })

  it('names numbers JSON.parse could not keep', () => {
    const errs = exactJsonErrors(JSON.parse('{"a":-1e309,"b":[9007199254740992],"c":1e300,"d":1e308}'))
    expect(errs.map((e) => e.path)).toEqual(['a', 'b[0]', 'c', 'd'])
    expect(errs[0]!.message).toMatch(/Infinity/)
    expect(errs[1]!.message).toMatch(/2\^53-1/)
  })

  it('names unpaired surrogates in values and keys', () => {
    const errs = exactJsonErrors(JSON.parse('{"a":"x\\ud800","\\udc00":1,"b":["\\ud83d"]}'))
    expect(errs.map((e) => e.path)).toEqual(['a', '\udc00', 'b[0]'])
    expect(errs[1]!.message).toMatch(/key/)
    expect(paths('"\\udfff"')).toEqual(['(root)'])
  })

  it('stops at the depth limit, however deep the body', () => {
    const levels = 100_000
    const body = JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown
    const started = performance.now()
    const errs = exactJsonErrors(body)
    expect(performance.now() - started).toBeLessThan(50)
    expect(errs).toHaveLength(1)
    expect(errs[0]!.path).toBe('[0]'.repeat(LIMITS.maxBodyDepth))
    expect(errs[0]!.message).toBe(`nests deeper than ${LIMITS.maxBodyDepth} levels`)
    const atLimit = JSON.parse('['.repeat(LIMITS.maxBodyDepth) + ']'.repeat(LIMITS.maxBodyDepth)) as unknown
    expect(exactJsonErrors(atLimit)).toEqual([])
  })

  it('reports at most 100 problems', () => {
    const many = `[${Array.from({ length: 500 }, () => '{"__proto__":1}').join(',')}]`
    expect(exactJsonErrors(JSON.parse(many))).toHaveLength(100)
  })
})

describe('tooDeepPath', () => {
  const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) })
  it('is the path to the first container past the limit', () => {
    expect(tooDeepPath(1, 0)).toBeUndefined()
    expect(tooDeepPath(nest(8), 8)).toBeUndefined()
    expect(tooDeepPath(nest(9), 8)).toEqual(Array(8).fill('a'))
    expect(tooDeepPath({ x: [1, { y: nest(2) }] }, 3)).toEqual(['x', 1, 'y'])
    expect(tooDeepPath({ a: 1, b: { c: {} }, d: { e: {} } }, 2)).toEqual(['b', 'c'])
  })
})
