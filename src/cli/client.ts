// A small HTTP client for the CLI's client commands: JITFLOW_URL and JITFLOW_TOKEN, errors with their codes.

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export function createClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const base = (env.JITFLOW_URL ?? "http://localhost:8080").replace(/\/+$/, "");
  const token = env.JITFLOW_TOKEN;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!token)
      throw new ApiError("UNAUTHENTICATED", "set JITFLOW_TOKEN to an API token (jitflow tokens create)", 0);
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError("UNREACHABLE", `cannot reach ${base}: ${(err as Error).message}`, 0);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(
        "BAD_RESPONSE",
        `${base} answered ${response.status} with something that is not JSON`,
        response.status,
      );
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? response.statusText,
        response.status,
      );
    }
    return json as T;
  }
  return { get: (path) => call("GET", path), post: (path, body) => call("POST", path, body ?? {}) };
}
