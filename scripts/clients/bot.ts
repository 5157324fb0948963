// An example bot beside signal-engine: reads the newest signals, then acts on each new one.
// Build and run:  (cd scripts/clients && npm ci && npx tsc -p .) && node scripts/clients/dist/bot.js [--max N]
// SIGNAL_ENGINE_URL overrides http://127.0.0.1:8787. Prints one JSON line per signal.
import { latest, ready, signals } from "./signal-engine.js";

const maxArg = process.argv.indexOf("--max");
const max = maxArg >= 0 ? Number(process.argv[maxArg + 1]) : Infinity;

console.error("ready:", JSON.stringify(await ready()));
console.error("latest:", (await latest()).map((s) => `${s.symbol} p=${s.p_profitable.toFixed(3)}`).join(", "));

// The bot itself: five lines.
let n = 0;
for await (const { id, signal } of signals()) {
  if (signal.decision === "long" && signal.features_valid) console.error(`would buy ${signal.symbol}`);
  console.log(JSON.stringify({ id, ...signal }));
  if (++n >= max) break;
}
