// The part of better-sqlite3's API the benchmarks use (the package ships no types).
declare module 'better-sqlite3' {
  export type RunResult = { changes: number; lastInsertRowid: number | bigint }
  export interface Statement {
    run(...params: unknown[]): RunResult
    all(...params: unknown[]): unknown[]
    get(...params: unknown[]): unknown
  }
  export type Options = { readonly?: boolean; fileMustExist?: boolean }
  export default class Database {
    constructor(filename: string, options?: Options)
    prepare(sql: string): Statement
    pragma(source: string, options?: { simple?: boolean }): unknown
    /** Wraps `fn` so that each call runs inside one transaction. */
    transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R
    close(): this
  }
}
