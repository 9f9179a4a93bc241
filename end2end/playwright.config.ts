import { defineConfig } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// Debian's Chromium and its flags, shared with bench/page-load.
const chromium = JSON.parse(readFileSync(join(__dirname, "chromium.json"), "utf8"));
const CHROMIUM = process.env.AFFDESK_CHROMIUM ?? chromium.executablePath;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // Each test starts its own affdesk on its own database, so tests can run side by side.
  workers: 2,
  fullyParallel: true,
  retries: 0,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: CHROMIUM,
      args: chromium.args,
    },
  },
});
