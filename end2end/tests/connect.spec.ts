import { expect, hydrated, logIn, test } from "./fixtures";

test("the Connect page links to token creation and logs a refused call with its field errors", async ({
  page,
  request,
  affdesk,
}) => {
  await page.goto("/settings/connect");
  await logIn(page);
  await expect(page).toHaveURL(/\/settings\/connect$/);
  await hydrated(page);
  await expect(page.getByTestId("token-needed")).toContainText("No API token exists yet");
  await expect(page.getByRole("link", { name: "create an API token" })).toHaveAttribute(
    "href",
    "/settings/api-tokens",
  );
  await expect(page.getByTestId("intake-url")).toContainText("/api/v1/signups");

  const token = affdesk.cli(["token", "create", "--name", "billing"]).trim();
  const refused = await request.post("/api/v1/signups", {
    headers: { Authorization: `Bearer ${token}` },
    data: { order_id: "BAD-1", payment_method: "cheque", amount: "ten" },
  });
  expect(refused.status()).toBe(422);

  await expect
    .poll(async () => {
      await page.reload();
      return (await page.getByTestId("intake-log").count()) > 0;
    })
    .toBe(true);
  const row = page.getByTestId("intake-log").getByRole("row", { name: /BAD-1/ });
  await expect(row).toContainText("422");
  await expect(row).toContainText("billing");
  await expect(row).toContainText('payment_method: "cheque" is not a payment method');
  await expect(row).toContainText("amount:");

  await page.locator("#status").selectOption("2xx");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=2xx/);
  await expect(page.getByTestId("intake-log-empty")).toBeVisible();
});
