import { test, expect, chromium } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN, BIN, PASSWORD, SITE_ROOT, Server, hydrated, logIn, startServer, stopServer } from "./fixtures";

// The caching contract (issue 21), checked by what reaches the server: a returning admin's browser
// asks for the page and nothing else, and a rebuilt file is fetched under its new name. Each test
// starts its own affdesk on a copy of the site, so it can rebuild a file, and its own browser profile
// on disk: the tests' debug wasm (about 10 MB) is larger than an incognito profile's memory cache
// keeps, and a release's is not.

/** The paths of the requests `server` answered, from its JSON log. */
function requested(server: Server): string[] {
  return server.log.flatMap((line) => {
    try {
      const event = JSON.parse(line);
      return event.message === "request finished" && event.span?.path ? [event.span.path] : [];
    } catch {
      return [];
    }
  });
}

const assetPaths = (server: Server) => requested(server).filter((p) => p.startsWith("/assets/"));

test("a second view fetches no asset, and a rebuilt asset is fetched under its new name", async ({}, testInfo) => {
  const dir = mkdtempSync(join(tmpdir(), "affdesk-e2e-cache-"));
  const site = join(dir, "site");
  cpSync(SITE_ROOT, site, { recursive: true });
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${dir}/affdesk.db`,
    LEPTOS_SITE_ROOT: site,
    LEPTOS_SITE_ADDR: "127.0.0.1:0",
    AFFDESK_LOG: "info",
    AFFDESK_LOG_FORMAT: "json",
  };
  execFileSync(BIN, ["admin", "create", "--username", ADMIN, "--password-stdin"], {
    env,
    input: `${PASSWORD}\n`,
  });
  let server = await startServer(env);
  const launch = testInfo.project.use.launchOptions ?? {};
  const context = await chromium.launchPersistentContext(join(dir, "profile"), {
    ...launch,
    args: [...(launch.args ?? []), "--disk-cache-size=1000000000"],
    baseURL: server.baseURL,
  });
  const page = await context.newPage();
  try {
    await page.goto("/settings/affiliate");
    await logIn(page);
    await expect(page).toHaveURL(/\/settings\/affiliate$/);
    await hydrated(page);
    const firstView = assetPaths(server);
    expect(firstView.length, "the first view downloads the page's files").toBeGreaterThan(0);
    const stylesheet = await page.locator("link[rel=stylesheet]").getAttribute("href");
    expect(stylesheet).toMatch(/^\/assets\/[0-9a-f]{16}\/pkg\/affdesk\.css$/);

    // The second view: the page itself, and no file (not even a revalidation).
    const pagesBefore = requested(server).filter((p) => p === "/settings/affiliate").length;
    await page.goto("/settings/affiliate");
    await hydrated(page);
    await page.waitForTimeout(300);
    expect(requested(server).filter((p) => p === "/settings/affiliate").length).toBe(pagesBefore + 1);
    expect(assetPaths(server), "files fetched by the second view").toEqual(firstView);

    // A new build with a changed stylesheet, served on the same address: the browser fetches the
    // files under the new build's name, and the page uses the new stylesheet.
    const address = new URL(server.baseURL).host;
    await stopServer(server);
    const css = join(site, "pkg", "affdesk.css");
    appendFileSync(css, "\n/* rebuilt */\n");
    for (const copy of [`${css}.br`, `${css}.gz`]) rmSync(copy, { force: true });
    server = await startServer({ ...env, LEPTOS_SITE_ADDR: address });
    await page.goto("/settings/affiliate");
    await hydrated(page);
    const rebuilt = await page.locator("link[rel=stylesheet]").getAttribute("href");
    expect(rebuilt).toMatch(/^\/assets\/[0-9a-f]{16}\/pkg\/affdesk\.css$/);
    expect(rebuilt).not.toEqual(stylesheet);
    expect(assetPaths(server)).toContain(rebuilt);
    const served = await page.request.get(rebuilt!);
    expect(await served.text()).toContain("/* rebuilt */");
    // The previous build's names are gone: no page can mix two builds.
    expect((await page.request.get(stylesheet!)).status()).toBe(404);
  } finally {
    await context.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
