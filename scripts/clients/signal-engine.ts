// A small client of signal-engine's sidecar API (schemas/openapi.json), for TypeScript bots.
// Node 20+ (built-in fetch); no dependencies. See bot.ts for a bot in five lines.

/** One profitability signal (schemas/signal.schema.json). */
export interface Signal {
  schema_version: 1;
  signal_id: string;
  exchange: string;
  symbol: string;
  bar_close_time_ms: number;
  emitted_at_ms: number;
  model_version: string;
  p_profitable: number;
  expected_return_bps: number;
  threshold: number;
  decision: "long" | "flat";
  features_valid: boolean;
  feature_age_ms: number;
  latency_us: number;
}

export const DEFAULT_URL = process.env.SIGNAL_ENGINE_URL ?? "http://127.0.0.1:8787";

async function getJson<T>(base: string, path: string): Promise<T> {
  const r = await fetch(base + path);
  if (!r.ok) {
    throw new Error(`${path}: ${r.status} ${await r.text()}`);
  }
  return (await r.json()) as T;
}

/** Every symbol's newest signal. */
export function latest(base = DEFAULT_URL): Promise<Signal[]> {
  return getJson<Signal[]>(base, "/v1/signals/latest");
}

/** One symbol's newest signal, or undefined when it has none yet. */
export async function latestFor(symbol: string, base = DEFAULT_URL): Promise<Signal | undefined> {
  const r = await fetch(`${base}/v1/signals/latest?symbol=${encodeURIComponent(symbol)}`);
  if (r.status === 404) return undefined;
  if (!r.ok) throw new Error(`latest ${symbol}: ${r.status} ${await r.text()}`);
  return (await r.json()) as Signal;
}

/** Whether the engine's signals can be trusted now, and why not. */
export async function ready(base = DEFAULT_URL): Promise<{ ready: boolean; reasons: string[] }> {
  const r = await fetch(base + "/readyz");
  return (await r.json()) as { ready: boolean; reasons: string[] };
}

/**
 * Every new signal, forever: follows /v1/signals/stream (server-sent events) and reconnects
 * after a drop with Last-Event-ID, so no signal kept in the engine's resume buffer is missed.
 * A "gap" event (the buffer no longer reached back) is reported through `onGap`.
 */
export async function* signals(
  base = DEFAULT_URL,
  opts: { lastEventId?: string; onGap?: (msg: string) => void; retryMs?: number } = {},
): AsyncGenerator<{ id: string; signal: Signal }> {
  let lastId = opts.lastEventId;
  for (;;) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (lastId !== undefined) headers["Last-Event-ID"] = lastId;
      const r = await fetch(base + "/v1/signals/stream", { headers });
      if (!r.ok || !r.body) throw new Error(`stream: ${r.status} ${await r.text()}`);
      const decoder = new TextDecoder();
      let buf = "";
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = "message", id: string | undefined, data = "";
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon === 0) continue; // a keep-alive comment
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event = value;
            else if (field === "id") id = value;
            else if (field === "data") data += (data ? "\n" : "") + value;
          }
          if (event === "gap") opts.onGap?.(data);
          if (event === "signal" && id !== undefined) {
            lastId = id;
            yield { id, signal: JSON.parse(data) as Signal };
          }
        }
      }
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      console.error(`signal-engine stream: ${(e as Error).message}; reconnecting`);
    }
    await new Promise((res) => setTimeout(res, opts.retryMs ?? 1000));
  }
}
