// The embed page's frame-ancestors come from CONSOLE_FRAME_ORIGINS: origins only, never a
// value that would widen or break the policy; empty means no framing at all.
import { describe, expect, it } from 'vitest'
import { DomainError } from '../../core/errors'
import { CONSOLE_POLICY, frameAncestors } from '../../worker/routes/console'

describe('CONSOLE_FRAME_ORIGINS', () => {
  it('is none when empty or unset', () => {
    expect(frameAncestors(undefined)).toBe("'none'")
    expect(frameAncestors('  ')).toBe("'none'")
    expect(CONSOLE_POLICY).toContain("frame-ancestors 'none'")
  })

  it('lists the configured origins', () => {
    expect(frameAncestors('https://app.example.com  http://localhost:3000')).toBe(
      'https://app.example.com http://localhost:3000',
    )
    expect(frameAncestors('https://*.example.com')).toBe('https://*.example.com')
  })

  for (const bad of [
    '*',
    "'self'; script-src *",
    'https://app.example.com/path',
    'javascript:alert(1)',
    'app.example.com',
    'https://a.example.com;',
  ])
    it(`refuses ${JSON.stringify(bad)}, naming it`, () => {
      let err: unknown
      try {
        frameAncestors(bad)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(DomainError)
      expect((err as DomainError).code).toBe('unavailable')
      expect((err as Error).message).toContain('CONSOLE_FRAME_ORIGINS')
    })
})
