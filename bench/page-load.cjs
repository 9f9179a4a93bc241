// Page load as an admin feels it (issue 21): Debian's Chromium, driven by Playwright, loads each
// page cold (a new browser profile: empty cache) and warm (the same profile again), with the
// network emulated through the DevTools protocol, and reports the medians of: requests that went
// to the network, bytes received, time to the HTML, and time to hydrated (the `data-hydrated`
// mark, when clicks reach Rust). The same loads with JavaScript disabled are the floor: the
// plain-HTML page, usable at its load event.
//
// Run through bench/page-load, which starts affdesk and passes:
//   AFFDESK_URL, AFFDESK_ADMIN, AFFDESK_PASSWORD   the server and an admin to log in as
//   PAGE_LOAD_RUNS     loads per page, network and cache state (default 5)
//   PAGE_LOAD_PAGES    space-separated paths (default: every page)
//   PAGE_LOAD_NETWORKS space-separated names from NETWORKS (default: all)
//   PAGE_LOAD_JSON     where to write every load's figures
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const { chromium } = require(path.join(__dirname, "..", "end2end", "node_modules", "@playwright/test"));

const BASE = process.env.AFFDESK_URL;
const RUNS = Number(process.env.PAGE_LOAD_RUNS ?? 5);
// Debian's Chromium and the flags the browser tests use.
const BROWSER = require(path.join(__dirname, "..", "end2end", "chromium.json"));
const CHROMIUM = process.env.AFFDESK_CHROMIUM ?? BROWSER.executablePath;

// The login page, then every admin page the browser tests visit (one list, end2end/pages.json).
const ALL_PAGES = ["/login", ...require(path.join(__dirname, "..", "end2end", "pages.json")).adminPages];

// Bytes per second from megabits per second.
const mbit = (n) => (n * 1_000_000) / 8;
const NETWORKS = {
  loopback: null,
  "100ms-10mbit": { latency: 100, downloadThroughput: mbit(10), uploadThroughput: mbit(10) },
  "fast-3g": { latency: 150, downloadThroughput: mbit(1.6), uploadThroughput: mbit(0.75) },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Records, for one page, what went over the network (not what the cache answered). */
async function watchNetwork(page, conditions, javaScript) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  // The floor is the plain-HTML page: Chromium would still follow its preload links to the wasm
  // and JavaScript with scripts disabled, so those are blocked (and not counted). Blocked here
  // rather than by Playwright's routing, which would turn the HTTP cache off.
  if (!javaScript) await cdp.send("Network.setBlockedURLs", { urls: ["*.wasm", "*.js"] });
  if (conditions) {
    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...conditions });
  }
  let requests = new Map();
  const entry = (id) => requests.get(id) ?? requests.set(id, { cached: false, bytes: 0 }).get(id);
  cdp.on("Network.requestWillBeSent", (e) => {
    if (!e.request.url.startsWith("data:")) entry(e.requestId);
  });
  cdp.on("Network.requestServedFromCache", (e) => (entry(e.requestId).cached = true));
  cdp.on("Network.responseReceived", (e) => {
    const r = e.response;
    if (r.fromDiskCache || r.fromMemoryCache || r.fromPrefetchCache || r.fromServiceWorker) {
      entry(e.requestId).cached = true;
    }
  });
  cdp.on("Network.loadingFinished", (e) => (entry(e.requestId).bytes = e.encodedDataLength));
  // The floor's blocked scripts never reach the network.
  cdp.on("Network.loadingFailed", (e) => (entry(e.requestId).cached = true));
  return {
    reset: () => (requests = new Map()),
    totals: () => {
      const sent = [...requests.values()].filter((r) => !r.cached);
      return { requests: sent.length, bytes: sent.reduce((n, r) => n + r.bytes, 0) };
    },
  };
}

// Notes when the app marks itself hydrated, on the page's own clock.
const HYDRATION_WATCH = () => {
  const seen = () => {
    const app = document.getElementById("app");
    if (app && app.dataset.hydrated === "true" && window.__hydratedAt === undefined) {
      window.__hydratedAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["data-hydrated"],
  });
};

/** One load of `url` in `page`; returns its figures in milliseconds and bytes. */
async function load(page, net, url, javaScript) {
  net.reset();
  await page.goto(url, { waitUntil: "load", timeout: 120_000 });
  if (javaScript) {
    await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 120_000 });
  }
  const times = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return { html: nav.responseEnd, loaded: nav.loadEventEnd, hydrated: window.__hydratedAt };
  });
  // Let late requests (a preload the page never used) be counted too.
  await page.waitForTimeout(javaScript ? 300 : 100);
  const { requests, bytes } = net.totals();
  return {
    requests,
    bytes,
    html: times.html,
    ready: javaScript ? times.hydrated : times.loaded,
    finalUrl: page.url(),
  };
}

async function newContext(browser, javaScript, storageState) {
  const context = await browser.newContext({ javaScriptEnabled: javaScript, storageState });
  if (javaScript) await context.addInitScript(HYDRATION_WATCH);
  return context;
}

/** Cold: each load in a new profile. Warm: one profile, loaded once first, then measured. */
async function measure(browser, { pagePath, network, javaScript, storageState }) {
  const url = BASE + pagePath;
  const cold = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await newContext(browser, javaScript, storageState);
    const page = await context.newPage();
    const net = await watchNetwork(page, NETWORKS[network], javaScript);
    cold.push(await load(page, net, url, javaScript));
    await context.close();
  }
  const warm = [];
  const context = await newContext(browser, javaScript, storageState);
  const page = await context.newPage();
  const net = await watchNetwork(page, NETWORKS[network], javaScript);
  await load(page, net, url, javaScript);
  for (let i = 0; i < RUNS; i++) warm.push(await load(page, net, url, javaScript));
  await context.close();
  const landed = cold[0].finalUrl.replace(BASE, "");
  if (landed !== pagePath) throw new Error(`${pagePath} landed on ${landed}: not logged in?`);
  return { cold, warm };
}

const summary = (loads) => ({
  requests: median(loads.map((l) => l.requests)),
  bytes: median(loads.map((l) => l.bytes)),
  html: median(loads.map((l) => l.html)),
  ready: median(loads.map((l) => l.ready)),
});

async function logIn(browser) {
  const context = await browser.newContext();
  const response = await context.request.post(BASE + "/login", {
    form: { username: process.env.AFFDESK_ADMIN, password: process.env.AFFDESK_PASSWORD },
    headers: { origin: BASE },
    maxRedirects: 0,
  });
  if (response.status() !== 303) throw new Error(`login answered ${response.status()}`);
  const state = await context.storageState();
  await context.close();
  return state;
}

const kb = (bytes) => `${(bytes / 1000).toFixed(0)} KB`;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const pages = (process.env.PAGE_LOAD_PAGES ?? ALL_PAGES.join(" ")).split(/\s+/).filter(Boolean);
  const networks = (process.env.PAGE_LOAD_NETWORKS ?? Object.keys(NETWORKS).join(" "))
    .split(/\s+/)
    .filter(Boolean);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: BROWSER.args,
  });
  const loggedIn = await logIn(browser);
  const rows = [];
  const all = [];
  for (const network of networks) {
    for (const pagePath of pages) {
      const storageState = pagePath === "/login" ? undefined : loggedIn;
      const app = await measure(browser, { pagePath, network, javaScript: true, storageState });
      const floor = await measure(browser, { pagePath, network, javaScript: false, storageState });
      all.push({ pagePath, network, app, floor });
      for (const cache of ["cold", "warm"]) {
        const a = summary(app[cache]);
        const f = summary(floor[cache]);
        rows.push(
          `| ${pagePath} | ${network} | ${cache} | ${a.requests} | ${kb(a.bytes)} | ${secs(a.html)} | ` +
            `${secs(a.ready)} | ${f.requests} | ${kb(f.bytes)} | ${secs(f.ready)} |`,
        );
        process.stderr.write(`[page-load] ${rows[rows.length - 1]}\n`);
      }
    }
  }
  await browser.close();
  if (process.env.PAGE_LOAD_JSON) {
    fs.writeFileSync(process.env.PAGE_LOAD_JSON, JSON.stringify(all, null, 2) + "\n");
  }
  console.log(
    [
      `Medians of ${RUNS} loads each. Requests and bytes: what went over the network (cache hits ` +
        `excluded); HTML: the page's response end; hydrated: the \`data-hydrated\` mark. ` +
        `Floor: the same page as plain HTML (JavaScript disabled, its wasm and scripts not ` +
        `fetched), usable at its load event.`,
      "",
      "| page | network | cache | requests | bytes | HTML | hydrated | floor requests | floor bytes | floor usable |",
      "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
    ].join("\n"),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
