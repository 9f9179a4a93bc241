import { expect, hydrated, openAffiliatePage, startReceiver, test } from "./fixtures";

test("Insert puts the token at the caret of Link 3 and replaces a selection", async ({ page }) => {
  await openAffiliatePage(page);
  const link3 = page.locator("#link-3");
  await link3.fill("https://t.example/sale?aid=&x=1");
  await expect(page.getByTestId("preview-3")).toHaveText("https://t.example/sale?aid=&x=1");

  // Caret right after "aid=".
  await link3.evaluate((el: HTMLInputElement) => {
    el.focus();
    el.setSelectionRange(27, 27);
  });
  await page.locator("#token").selectOption("${account_id}");
  await expect(page.getByTestId("token-description")).toHaveText("The new hosting account's number.");
  await page.getByRole("button", { name: "Insert" }).click();
  await expect(link3).toHaveValue("https://t.example/sale?aid=${account_id}&x=1");
  await expect(link3).toBeFocused();
  expect(await link3.evaluate((el: HTMLInputElement) => [el.selectionStart, el.selectionEnd])).toEqual([40, 40]);
  await expect(page.getByTestId("preview-3")).toHaveText("https://t.example/sale?aid=100042&x=1");

  // A selection ("1" after "x=") is replaced by the token.
  await link3.evaluate((el: HTMLInputElement) => {
    el.focus();
    el.setSelectionRange(43, 44);
  });
  await page.locator("#token").selectOption("${plan_name}");
  await page.getByRole("button", { name: "Insert" }).click();
  await expect(link3).toHaveValue("https://t.example/sale?aid=${account_id}&x=${plan_name}");
  await expect(page.getByTestId("preview-3")).toHaveText(
    "https://t.example/sale?aid=100042&x=Business%20%26%20Pro",
  );
});

test("save, reload, and the values and the change are there", async ({ page }) => {
  await openAffiliatePage(page);
  await page.getByLabel("Use affiliate program").check();
  await page.locator("#link-1").fill("https://tracker.example/sale?aid=${account_id}&amount=${amount}");
  await page.locator("#slot-2 select[name=mode_2]").selectOption("pixel");
  await page.locator("#link-2").fill("https://pixel.example/p.gif?o=${order_id}");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByTestId("affiliate-notice")).toHaveText("Settings saved.");
  await expect(page.getByTestId("history")).toContainText("set Link 1");

  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Use affiliate program")).toBeChecked();
  await expect(page.locator("#link-1")).toHaveValue("https://tracker.example/sale?aid=${account_id}&amount=${amount}");
  await expect(page.locator("#link-2")).toHaveValue("https://pixel.example/p.gif?o=${order_id}");
  await expect(page.locator("#slot-2 select[name=mode_2]")).toHaveValue("pixel");
  await expect(page.getByTestId("history")).toContainText("switched the affiliate program on");
});

test("an unknown token shows its error and nothing is saved", async ({ page }) => {
  await openAffiliatePage(page);
  await page.locator("#link-1").fill("https://ok.example/");
  await page.locator("#link-2").fill("https://t.example/?a=${amont}");
  await expect(page.locator("#link-2-error")).toContainText("${amont} at character 22 is not a known parameter");
  await expect(page.locator("#link-2")).toHaveAttribute("aria-invalid", "true");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByTestId("affiliate-notice")).toHaveText("Nothing was saved: correct the fields marked below.");
  await expect(page.locator("#link-2")).toHaveValue("https://t.example/?a=${amont}");

  await page.reload();
  await hydrated(page);
  await expect(page.locator("#link-1")).toHaveValue("");
  await expect(page.getByText("No changes saved yet.")).toBeVisible();
});

test("Send test calls a local tracker and shows status 200", async ({ page }) => {
  const receiver = await startReceiver();
  try {
    await openAffiliatePage(page);
    await page.locator("#link-4").fill(`${receiver.base}/sale?aid=\${account_id}&email=\${email}`);
    await page.locator("#slot-4").getByRole("button", { name: "Send test", exact: true }).click();
    const result = page.locator("#slot-4").getByTestId("test-result");
    await expect(result).toContainText("Status 200");
    await expect(result).toContainText("tracked");
    expect(receiver.hits).toEqual(["/sale?aid=100042&email=jane%2Bhosting%40example.com"]);
  } finally {
    receiver.server.close();
  }
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("Insert appends to the target link, keeps every edit, and Submit saves", async ({ page }) => {
    await page.goto("/settings/affiliate");
    await page.getByLabel("Username").fill("e2e-admin");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/settings\/affiliate$/);

    await page.locator("#link-1").fill("https://one.example/?n=1");
    await page.locator("#link-2").fill("https://two.example/?aid=");
    await page.locator("#token").selectOption("${account_id}");
    await page.locator("#target").selectOption("2");
    await page.getByRole("button", { name: "Insert" }).click();
    await expect(page.locator("#link-2")).toHaveValue("https://two.example/?aid=${account_id}");
    await expect(page.locator("#link-1")).toHaveValue("https://one.example/?n=1");
    await expect(page.getByTestId("affiliate-notice")).toContainText("Not saved yet");

    await page.getByRole("button", { name: "Submit" }).click();
    await expect(page).toHaveURL(/\/settings\/affiliate\?saved=1$/);
    await expect(page.getByTestId("affiliate-notice")).toHaveText("Settings saved.");
    await expect(page.locator("#link-2")).toHaveValue("https://two.example/?aid=${account_id}");
    await expect(page.locator("#link-1")).toHaveValue("https://one.example/?n=1");
  });
});
