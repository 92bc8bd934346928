// The verifier's findings: each break names where the archive stops being evidence
// (file, line, seq) and what was expected there versus what was found.
export type BreakKind =
  | 'unexpected_file'
  | 'manifest_invalid'
  | 'unreadable_file'
  | 'malformed_line'
  | 'wrong_tenant'
  | 'wrong_partition'
  | 'outside_file_range'
  | 'seq_mismatch'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'checkpoint_invalid'
  | 'checkpoint_mismatch'
  | 'truncated'

export type Break = {
  kind: BreakKind
  tenant: string
  file?: string
  line?: number
  seq?: number
  expected?: string | number
  found?: string | number
  message: string
}

/** Thrown inside the verifier to stop a tenant at its first break; verifyArchive reports its detail. */
export class ChainBreak extends Error {
  constructor(readonly detail: Break) {
    super(detail.message)
    this.name = 'ChainBreak'
  }
}
