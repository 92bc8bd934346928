// The client library of the audit log: `new AuditLogClient({ url, key })`. See sdk/README.md.
export { AuditLogClient, verifyReceipt } from './client'
export {
  AuditLogError,
  type AuditLogErrorKind,
  AuditLogHttpError,
  AuditLogSendError,
  type EventError,
} from './errors'
export { ExportDownload } from './export'
export { SERVER_LIMITS } from './limits'
export type {
  AuditEvent,
  AuditEventInput,
  AuditEventRead,
  AuditLogClientOptions,
  BatchOptions,
  BufferOptions,
  EventPage,
  ExportFormat,
  ExportOptions,
  FetchLike,
  FlushResult,
  Problem,
  ProofDocument,
  ReceiptResult,
  RetryOptions,
  SearchFilters,
  SearchOptions,
  SendResult,
  SigningKeys,
} from './types'
