export const ADMIN_TOKEN: string
export type WorkerServer = { url: string; state: string; logs: string[]; stop(): Promise<void> }
export function startWorker(
  name: string,
  opts?: {
    fresh?: boolean
    consumers?: boolean
    beforeStart?: (d1File: string) => unknown
    vars?: Record<string, string>
  },
): Promise<WorkerServer>
export function mintKey(url: string, tenant: string, scopes?: string[]): Promise<string>
export function d1File(state: string): string
export function freePort(): Promise<number>
export function sampleEvent(i: number, extra?: Record<string, unknown>): Record<string, unknown>
export function table(rows: Record<string, unknown>[]): void
