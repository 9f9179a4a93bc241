import { createServer } from "node:http";
import { Page } from "@playwright/test";
import { expect, hydrated, openAffiliatePage, test } from "./fixtures";

// Script payloads stored in every field affdesk shows again. Each alerts a different word, so a
// failure names the field that let it through.
const IMG = `"><img src=x onerror=alert('img')>`;
const SCRIPT = `</script><script>alert('script')</script>`;
const SVG = `<svg/onload=alert('svg')>`;
// Links cannot hold spaces; the same attack without them.
const LINK = `"><img/src=x/onerror=alert('link')>`;

/** Opens `path`, waits for hydration and a moment for any injected handler to run. */
async function visit(page: Page, path: string) {
  await page.goto(path);
  await hydrated(page);
  await page.waitForTimeout(300);
}

test("script payloads in links, signups, contracts, Explodely replies and tracker replies stay text", async ({
  page,
  request,
  affdesk,
}) => {
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(`${dialog.message()} on ${page.url()}`);
    await dialog.dismiss();
  });

  // A tracker whose error reply carries payloads: its first 2 KB are shown as the attempt's reply.
  const tracker = createServer((_req, res) => {
    res.writeHead(500, { "content-type": "text/html" });
    res.end(`${IMG}${SCRIPT}${SVG}`);
  });
  await new Promise<void>((r) => tracker.listen(0, "127.0.0.1", r));
  const port = (tracker.address() as { port: number }).port;
  try {
    // A link holding a payload (saved, previewed, listed in the audit).
    await openAffiliatePage(page);
    await page.getByLabel("Use affiliate program").check();
    const link = `http://127.0.0.1:${port}/t?o=\${order_id}&x=${LINK}`;
    await page.locator("#link-1").fill(link);
    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page.getByTestId("affiliate-notice")).toHaveText("Settings saved.");
    await visit(page, "/settings/affiliate");
    await expect(page.locator("#link-1")).toHaveValue(link);

    // A signup whose text fields are payloads.
    const token = affdesk.cli(["token", "create", "--name", "xss"]).trim();
    const answer = await request.post("/api/v1/signups", {
      headers: { Authorization: `Bearer ${token}` },
      data: {
        order_id: "XSS-1",
        account_id: "1",
        payment_method: "credit_card",
        amount: "9.95",
        user_name: IMG,
        domain: SCRIPT,
        plan_name: SVG,
        click_id: SCRIPT,
      },
    });
    expect(answer.status()).toBe(201);
    const created = await answer.json();

    await visit(page, "/signups");
    const row = page.getByTestId("signups").getByRole("row", { name: /XSS-1/ });
    await expect(row).toContainText(IMG);
    // The search box echoes what was searched for.
    await visit(page, `/signups?q=${encodeURIComponent(IMG)}`);
    await expect(row).toBeVisible();
    const detail = `/signups/${created.signup_id}`;
    await visit(page, detail);
    await expect(page.locator("body")).toContainText(SCRIPT);
    // The tracker's reply with payloads, as the failed attempt's excerpt.
    await expect
      .poll(async () => {
        await visit(page, detail);
        return page.locator("body").innerText();
      })
      .toContain(SVG);

    // The public page a customer lands on shows the pixels built from these values.
    // (A plain page without the app's script: nothing to hydrate.)
    await page.goto(new URL(created.complete_url).pathname);
    await page.waitForTimeout(300);
    await expect(page.locator("img")).toHaveCount(0); // server-to-server links only: no pixels

    // Contracts: an Explodely refusal whose text is a payload, then a contract named with one.
    affdesk.explodely.replies = [
      { status: 200, body: JSON.stringify({ error: `${IMG}${SCRIPT}` }) },
      { status: 200, body: '{"contract_created":"ok","contractid":"4242"}' },
    ];
    await visit(page, "/settings/explodely");
    await page.getByLabel("Explodely username").fill("seller1");
    await page.getByLabel("API key").fill("EXPL-secret-key-9876");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("explodely-saved")).toBeVisible();

    await visit(page, "/affiliate/contracts/new");
    await page.getByLabel("Contract name").fill(SCRIPT);
    await page.getByLabel("Partner username").fill("partner42");
    await page.getByLabel("Commission (%)").fill("25");
    await page.getByLabel("Comments").fill(`${IMG} ${SVG}`);
    await page.getByRole("button", { name: "Create contract" }).click();
    await expect(page.locator("body")).toContainText("onerror=alert('img')");
    await page.waitForTimeout(300);
    await page.getByRole("button", { name: "Create contract" }).click();
    await expect(page).toHaveURL(/\/affiliate\/contracts\/\d+\?created=1$/);
    await visit(page, new URL(page.url()).pathname);
    await expect(page.locator("body")).toContainText(SCRIPT);
    await expect(page.locator("body")).toContainText(SVG);
    // The list shows the contract and the refused attempt with Explodely's text.
    await visit(page, "/affiliate/contracts");
    await expect(page.locator("body")).toContainText(SCRIPT);

    // Nothing became markup: no injected element, no dialog anywhere.
    for (const path of ["/settings/affiliate", "/signups", "/affiliate/contracts", "/settings/api-tokens", "/"]) {
      await visit(page, path);
      await expect(page.locator("img[src='x'], svg[onload]")).toHaveCount(0);
    }
    expect(dialogs).toEqual([]);
  } finally {
    tracker.close();
  }
});
