import { expect, hydrated, openAffiliatePage, reportSignup, startReceiver, test } from "./fixtures";

test("the overview draws its charts from posted signups", async ({ page, request, affdesk }) => {
  const receiver = await startReceiver();
  try {
    await openAffiliatePage(page);
    await page.getByLabel("Use affiliate program").check();
    await page.locator("#link-1").fill(`${receiver.base}/sale?o=\${order_id}`);
    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page.getByTestId("affiliate-notice")).toHaveText("Settings saved.");
    await reportSignup(affdesk, request, "OV-1", "ov1");
    await reportSignup(affdesk, request, "OV-2", "ov2");
    await expect.poll(() => receiver.hits.length).toBe(2);

    await page.goto("/");
    await hydrated(page);
    const signups = page.getByTestId("overview-signups");
    await expect(signups.getByRole("row", { name: /Today/ })).toContainText("2");
    await expect(signups.locator("svg.chart rect.series-a")).toHaveCount(1);
    await expect(page.getByTestId("overview-link-1")).toContainText("100.0% delivered");
    await expect(page.getByTestId("overview-links").locator("svg.chart")).toHaveCount(1);
    // The numbers behind the chart, in a table.
    await signups.getByText("Signups per day, last 30 days: the numbers").click();
    await expect(signups.locator("details table tbody tr")).toHaveCount(30);
  } finally {
    receiver.server.close();
  }
});
