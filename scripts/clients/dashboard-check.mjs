// Drives the engine's dashboard (GET /) in headless Chromium: waits until signals of at least
// `--symbols N` symbols appear in the table, the model version and latency rows are filled,
// and at least one signal arrived over the live stream; then saves a screenshot.
// Usage: node dashboard-check.mjs URL SCREENSHOT.png [--symbols N]
// CHROMIUM overrides /usr/bin/chromium (Debian's package). Exit 0 when everything appeared.
import { chromium } from "playwright-core";

const [url, shot] = process.argv.slice(2);
const at = process.argv.indexOf("--symbols");
const symbols = at >= 0 ? Number(process.argv[at + 1]) : 1;
if (!url || !shot) {
  console.error("usage: node dashboard-check.mjs URL SCREENSHOT.png [--symbols N]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  const timeout = 60_000;
  await page.waitForFunction(
    (n) => document.querySelectorAll("[data-testid=signal-row]").length >= n, symbols, { timeout });
  await page.waitForFunction(() => Number(document.getElementById("count").textContent) > 0, null, { timeout });
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=latency-row]").length === 6, null, { timeout });
  await page.waitForFunction(() => !document.getElementById("model").textContent.includes("…"), null, { timeout });
  const report = await page.evaluate(() => ({
    rows: [...document.querySelectorAll("[data-testid=signal-row]")].map((r) =>
      [...r.children].map((c) => c.textContent)),
    model: document.getElementById("model").textContent,
    ready: document.getElementById("ready").textContent,
    streamed: Number(document.getElementById("count").textContent),
    latency: [...document.querySelectorAll("[data-testid=latency-row]")].map((r) =>
      [...r.children].map((c) => c.textContent)),
  }));
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) {
    console.error("page errors:", errors);
    process.exit(1);
  }
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
}
