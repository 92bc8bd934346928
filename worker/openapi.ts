import { OpenAPIHono, z } from '@hono/zod-openapi'
import { fieldErrors, validationError } from '../core/errors'
import type { AppEnv } from './context'

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    request_id: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem')

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
})

export const bearerSecurity = [{ bearerAuth: [] }]

/** A router whose zod validation failures become problem+json through the one error mapping. */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationError(
          'The request does not match the schema; see errors.',
          fieldErrors(result.error.issues),
        )
      }
    },
  })
}
