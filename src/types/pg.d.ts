// The part of node-postgres (npm "pg") maintctl uses, typed here rather than through a second
// dependency: a pool of connections, a dedicated client for LISTEN, and their notifications.
declare module 'pg' {
  export interface QueryResult<R = Record<string, unknown>> {
    rows: R[];
    rowCount: number | null;
  }
  export interface Notification {
    processId: number;
    channel: string;
    payload?: string;
  }
  export interface ClientConfig {
    connectionString?: string;
    max?: number;
    idleTimeoutMillis?: number;
    connectionTimeoutMillis?: number;
    application_name?: string;
    /** Server settings at connection start, e.g. "-c idle_in_transaction_session_timeout=5000". */
    options?: string;
  }
  interface Queryable {
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  }
  export class Client implements Queryable {
    constructor(config?: ClientConfig);
    connect(): Promise<void>;
    end(): Promise<void>;
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    on(event: 'notification', listener: (n: Notification) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'end', listener: () => void): this;
  }
  export interface PoolClient extends Queryable {
    release(err?: Error | boolean): void;
    on(event: 'error', listener: (err: Error) => void): this;
    off(event: 'error', listener: (err: Error) => void): this;
  }
  export class Pool implements Queryable {
    constructor(config?: ClientConfig);
    connect(): Promise<PoolClient>;
    end(): Promise<void>;
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    on(event: 'error', listener: (err: Error) => void): this;
  }
  const pg: { Pool: typeof Pool; Client: typeof Client };
  export default pg;
}
