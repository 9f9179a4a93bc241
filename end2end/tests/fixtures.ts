import { test as base, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { createServer, Server } from "node:http";

const ROOT = resolve(__dirname, "../..");
const BIN =
  process.env.AFFDESK_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "debug", "affdesk");
// scripts/test builds the tests' site here, apart from the release's target/site.
export const SITE_ROOT = process.env.LEPTOS_SITE_ROOT ?? join(ROOT, "target", "test-site");

export { BIN };
/** Every admin page without an id in its path (end2end/pages.json, shared with bench/page-load). */
export const ADMIN_PAGES: string[] = JSON.parse(
  readFileSync(join(__dirname, "..", "pages.json"), "utf8"),
).adminPages;

export const ADMIN = "e2e-admin";
export const PASSWORD = "correct horse battery";

/** The stand-in for the Explodely API each test's affdesk talks to. */
export type ExplodelyStub = {
  /** The next replies, in order; the last one repeats. */
  replies: { status: number; body: string }[];
  /** Each request's form fields. */
  calls: Record<string, string>[];
};

export type Affdesk = {
  baseURL: string;
  explodely: ExplodelyStub;
  databaseUrl: string;
  /** Runs the affdesk command line against this test's database. */
  cli: (args: string[], input?: string) => string;
};

/** A running affdesk; `log` collects its standard error, line by line. */
export type Server = { child: ChildProcess; baseURL: string; log: string[] };

export function startServer(env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(BIN, ["serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error("affdesk did not start within 20 s")), 20_000);
    const lines = createInterface({ input: child.stderr! });
    lines.on("line", (line) => {
      log.push(line);
      const found = /listening on (http:\/\/[^\s"]+)/.exec(line);
      if (found) {
        clearTimeout(timer);
        resolvePromise({ child, baseURL: found[1], log });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`affdesk exited early with ${code}: ${log.join("\n")}`));
    });
  });
}

export async function stopServer(server: Server) {
  if (server.child.exitCode !== null) return;
  server.child.kill("SIGTERM");
  await new Promise((r) => server.child.once("exit", r));
}

/** A fresh affdesk (own SQLite database, own port) with one admin, for each test. */
export const test = base.extend<{ affdesk: Affdesk; pageErrors: void }>({
  // Fails any test whose pages log an error: a CSP violation, a failed hydration, a panic in
  // the wasm. Automatic, so no test can forget it.
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("console", (msg) => {
        // A 4xx answer to a server function is how a refused form reports, and 502 how a
        // refusal from Explodely does; Chromium logs both.
        const expectedRefusal = /Failed to load resource: .*status of (4\d\d|502)/.test(msg.text());
        if (msg.type() === "error" && !expectedRefusal) errors.push(msg.text());
      });
      page.on("pageerror", (err) => errors.push(err.message));
      await use();
      expect(errors, "errors logged by the page").toEqual([]);
    },
    { auto: true },
  ],
  affdesk: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), "affdesk-e2e-"));
    const explodely: ExplodelyStub = {
      replies: [{ status: 200, body: '{"contract_created":"ok", "contractid ":"12345"}' }],
      calls: [],
    };
    const stub = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        explodely.calls.push(Object.fromEntries(new URLSearchParams(body)));
        const reply = explodely.replies[Math.min(explodely.calls.length - 1, explodely.replies.length - 1)];
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(reply.body);
      });
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    const stubPort = (stub.address() as { port: number }).port;
    const databaseUrl = `sqlite://${dir}/affdesk.db`;
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      LEPTOS_SITE_ADDR: "127.0.0.1:0",
      LEPTOS_SITE_ROOT: SITE_ROOT,
      AFFDESK_LOG: "info",
      // The tests' stand-in tracker listens on loopback.
      AFFDESK_OUTBOUND_ALLOW: "127.0.0.1",
      AFFDESK_EXPLODELY_URL: `http://127.0.0.1:${stubPort}/api/v1/aff`,
    };
    const cli = (args: string[], input = "") =>
      execFileSync(BIN, args, { env, input, encoding: "utf8" });
    cli(["admin", "create", "--username", ADMIN, "--password-stdin"], `${PASSWORD}\n`);
    const server = await startServer(env);
    await use({ baseURL: server.baseURL, databaseUrl, cli, explodely });
    await stopServer(server);
    stub.close();
    rmSync(dir, { recursive: true, force: true });
  },
  baseURL: async ({ affdesk }, use) => {
    await use(affdesk.baseURL);
  },
});

export { expect };

/** Waits until the wasm has hydrated the page, so clicks reach Rust event handlers. */
export async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

export async function logIn(page: Page, username = ADMIN, password = PASSWORD) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** A stand-in affiliate tracker on 127.0.0.1 that answers 200 and records what it was asked. */
export async function startReceiver(): Promise<{ base: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("tracked");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { base: `http://127.0.0.1:${address.port}`, hits, server };
}

export async function openAffiliatePage(page: Page) {
  await page.goto("/settings/affiliate");
  await logIn(page);
  await expect(page).toHaveURL(/\/settings\/affiliate$/);
  await hydrated(page);
}

/** What axe-core finds wrong on the page as it is now, one line per rule (empty: nothing). */
export async function axeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}

/** The document's width with the window at a phone's size (390 x 844): 390 when nothing runs off the edge. The
 * window's size is put back afterwards. */
export async function phoneWidth(page: Page): Promise<number> {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (before) await page.setViewportSize(before);
  return width;
}

/** Reports an eligible signup through `POST /api/v1/signups` with a new API token named `tokenName`;
 * returns the token. */
export async function reportSignup(
  affdesk: Affdesk,
  request: import("@playwright/test").APIRequestContext,
  orderId: string,
  tokenName: string,
): Promise<string> {
  const token = affdesk.cli(["token", "create", "--name", tokenName]).trim();
  const answer = await request.post("/api/v1/signups", {
    headers: { Authorization: `Bearer ${token}` },
    data: { order_id: orderId, account_id: "100042", payment_method: "credit_card", amount: "19.95" },
  });
  expect(answer.status()).toBe(201);
  return token;
}
