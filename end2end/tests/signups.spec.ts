import { createServer } from "node:http";
import { expect, hydrated, openAffiliatePage, reportSignup, test } from "./fixtures";

test("a signup posted to the API shows on /signups with its deliveries, and Retry now works", async ({
  page,
  request,
  affdesk,
}) => {
  // A tracker that fails the first call with 404 (failed, no automatic retry) and then answers 200.
  let calls = 0;
  const tracker = createServer((_req, res) => {
    calls += 1;
    res.writeHead(calls === 1 ? 404 : 200, { "content-type": "text/plain" });
    res.end(calls === 1 ? "no such campaign" : "tracked");
  });
  await new Promise<void>((r) => tracker.listen(0, "127.0.0.1", r));
  const port = (tracker.address() as { port: number }).port;
  try {
    await openAffiliatePage(page);
    await page.getByLabel("Use affiliate program").check();
    await page.locator("#link-1").fill(`http://127.0.0.1:${port}/sale?o=\${order_id}&a=\${amount}`);
    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page.getByTestId("affiliate-notice")).toHaveText("Settings saved.");

    await reportSignup(affdesk, request, "E2E-1", "e2e");

    await page.goto("/signups");
    await hydrated(page);
    const row = page.getByTestId("signups").getByRole("row", { name: /E2E-1/ });
    await expect(row).toContainText("yes");
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByTestId("signups").getByRole("row", { name: /E2E-1/ }).innerText();
      })
      .toContain("1 failing");
    await page.getByRole("link", { name: "E2E-1" }).click();
    await expect(page).toHaveURL(/\/signups\/\d+$/);
    await hydrated(page);
    const delivery = page.getByTestId("delivery-1");
    await expect(delivery.getByTestId("delivery-state")).toHaveText("failed");
    await expect(delivery).toContainText("no such campaign");
    await expect(delivery).toContainText("/sale?o=E2E-1&a=19.95");

    await delivery.getByRole("button", { name: "Retry now" }).click();
    await expect(page.getByTestId("retry-notice")).toBeVisible();
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByTestId("delivery-1").getByTestId("delivery-state").innerText();
      })
      .toBe("delivered");
    await expect(page.getByTestId("delivery-1")).toContainText("tracked");
    expect(calls).toBe(2);
  } finally {
    tracker.close();
  }
});

test("API tokens are created once and listed without their secret", async ({ page }) => {
  await page.goto("/settings/api-tokens");
  await page.getByLabel("Username").fill("e2e-admin");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/settings\/api-tokens$/);
  await hydrated(page);
  await page.getByLabel("Name").fill("signup flow");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.getByTestId("new-token").innerText();
  expect(token).toMatch(/^affd_[0-9a-f]{64}$/);
  await expect(page.getByTestId("tokens")).toContainText("signup flow");
  await expect(page.getByTestId("tokens")).not.toContainText(token);
  await page.getByTestId("tokens").getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByText("No tokens yet.")).toBeVisible();
});
