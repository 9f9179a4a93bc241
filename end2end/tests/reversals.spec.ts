import { expect, hydrated, openAffiliatePage, reportSignup, startReceiver, test } from "./fixtures";

test("a reversal link written with Insert is called on a refund, and the signup's page shows the reversal", async ({
  page,
  request,
  affdesk,
}) => {
  const receiver = await startReceiver();
  try {
    await openAffiliatePage(page);
    await page.getByLabel("Use affiliate program").check();
    await page.locator("#link-1").fill(`${receiver.base}/sale?o=\${order_id}`);
    await page.locator("#slot-1").getByText("Reversal link, reply rules and conditions").click();
    const reversal = page.locator("#reversal-1");
    // Typing leaves the caret at the end; Insert puts the parameter there.
    await reversal.fill(`${receiver.base}/reversal?transaction_id=`);
    await page.locator("#token").selectOption("${reversal_id}");
    await page.getByRole("button", { name: "Insert" }).click();
    await expect(reversal).toHaveValue(`${receiver.base}/reversal?transaction_id=\${reversal_id}`);
    await expect(page.getByTestId("reversal-preview-1")).toHaveText(
      `${receiver.base}/reversal?transaction_id=TEST-ORDER-0001-refund`,
    );
    // A reversal's parameter does not go into a signup link.
    await page.locator("#link-2").focus();
    await page.getByRole("button", { name: "Insert" }).click();
    await expect(page.getByTestId("affiliate-notice")).toContainText("choose Link 2 reversal");
    await expect(page.locator("#link-2")).toHaveValue("");
    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page.getByTestId("affiliate-notice")).toHaveText("Settings saved.");

    const token = await reportSignup(affdesk, request, "REV-1", "e2e");
    await expect.poll(() => receiver.hits.length).toBe(1);
    const answer = await request.post("/api/v1/signups/REV-1/reversals", {
      headers: { Authorization: `Bearer ${token}` },
      data: { reason: "refund" },
    });
    expect(answer.status()).toBe(201);
    await expect.poll(() => receiver.hits).toContain("/reversal?transaction_id=REV-1-refund");

    await page.goto("/signups?delivery=reversed");
    await hydrated(page);
    await page.getByRole("link", { name: "REV-1" }).click();
    await expect(page).toHaveURL(/\/signups\/\d+$/);
    await hydrated(page);
    const card = page.getByTestId("reversal");
    await expect(card).toContainText("Refund of 19.95");
    await expect(card).toContainText("Link 1: reversal call queued");
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByTestId("reversal-delivery-1").getByTestId("delivery-state").innerText();
      })
      .toBe("delivered");
  } finally {
    receiver.server.close();
  }
});
