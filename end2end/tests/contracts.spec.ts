import { Page } from "@playwright/test";
import { axeViolations, expect, hydrated, logIn, phoneWidth, test } from "./fixtures";

async function saveExplodelyAccount(page: Page) {
  await page.goto("/settings/explodely");
  await logIn(page);
  await expect(page).toHaveURL(/\/settings\/explodely$/);
  await page.getByLabel("Explodely username").fill("seller1");
  await page.getByLabel("API key").fill("EXPL-secret-key-9876");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("explodely-saved")).toBeVisible();
  await expect(page.getByTestId("key-hint")).toContainText("ending in 9876");
}

async function fillContract(page: Page, commission: string) {
  await page.getByLabel("Contract name").fill("Reseller 2026");
  await page.getByLabel("Partner username").fill("partner42");
  await page.getByLabel("Commission (%)").fill(commission);
  await page.getByLabel("Start date").fill("2024-01-01");
  await page.getByLabel("End date").fill("2024-01-31");
}

test("create a contract against the stand-in and see it with its Explodely id", async ({ page, affdesk }) => {
  await saveExplodelyAccount(page);
  await page.goto("/affiliate/contracts/new");
  await hydrated(page);
  await fillContract(page, "25");
  await page.getByRole("button", { name: "Create contract" }).click();
  await expect(page).toHaveURL(/\/affiliate\/contracts\/\d+\?created=1$/);
  await expect(page.getByTestId("explodely-id")).toHaveText("12345");
  await hydrated(page);
  expect(await axeViolations(page), "a contract's page").toEqual([]);
  expect(await phoneWidth(page), "a contract's page at 390 px").toBe(390);
  expect(affdesk.explodely.calls).toHaveLength(1);
  expect(affdesk.explodely.calls[0]).toMatchObject({
    apiaction: "createaffcontract",
    username: "seller1",
    contract_name: "Reseller 2026",
    product: "allproducts",
    commission: "25",
    start_date: "01-jan-2024",
    end_date: "31-jan-2024",
    activate: "no",
    mutual_termination: "yes",
  });
  await page.goto("/affiliate/contracts");
  await expect(page.getByTestId("contracts")).toContainText("Reseller 2026");
});

test("the commission error shows beside its field, from the browser's check and from Explodely", async ({
  page,
  affdesk,
}) => {
  affdesk.explodely.replies = [{ status: 200, body: '{"error":"commission_limit_exceeded"}' }];
  await saveExplodelyAccount(page);
  await page.goto("/affiliate/contracts/new");
  await hydrated(page);
  await fillContract(page, "80.01");
  await expect(page.locator("#commission-error")).toHaveText("commission must be at most 80");
  await page.getByLabel("Commission (%)").fill("60");
  await expect(page.locator("#commission-error")).toBeEmpty();
  await page.getByRole("button", { name: "Create contract" }).click();
  await expect(page.locator("#commission-error")).toContainText("your share across all contracts would exceed 80%");
  await expect(page.getByLabel("Contract name")).toHaveValue("Reseller 2026");
  expect(affdesk.explodely.calls).toHaveLength(1);
});

test("an unknown outcome keeps the form's key until the admin confirms nothing was created", async ({
  page,
  affdesk,
}) => {
  affdesk.explodely.replies = [
    { status: 503, body: "" },
    { status: 200, body: '{"contract_created":"ok","contractid":"777"}' },
  ];
  await saveExplodelyAccount(page);
  await page.goto("/affiliate/contracts/new");
  await hydrated(page);
  await fillContract(page, "25");
  const submit = page.getByRole("button", { name: "Create contract" });
  await submit.click();
  await expect(page.getByTestId("contract-error")).toContainText("Outcome unknown");
  await expect(page.getByTestId("contract-error")).toContainText("check Explodely before trying again");
  // Submitting again without confirming repeats the answer and calls nobody.
  const answered = page.waitForResponse((r) => r.url().includes("create_contract"));
  await submit.click();
  expect((await answered).status()).toBe(502);
  await expect(page.getByTestId("contract-error")).toContainText("Outcome unknown");
  expect(affdesk.explodely.calls).toHaveLength(1);
  await page.getByTestId("confirmed-not-created").check();
  await submit.click();
  await expect(page).toHaveURL(/\/affiliate\/contracts\/\d+\?created=1$/);
  await expect(page.getByTestId("explodely-id")).toHaveText("777");
  expect(affdesk.explodely.calls).toHaveLength(2);
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("a refusal keeps the form filled in, with the error beside its field", async ({ page, affdesk }) => {
    affdesk.explodely.replies = [
      { status: 200, body: '{"error":"commission_limit_exceeded"}' },
      { status: 200, body: '{"contract_created":"ok","contractid":"555"}' },
    ];
    await saveExplodelyAccount(page);
    await page.goto("/affiliate/contracts/new");
    await fillContract(page, "60");
    await page.getByRole("button", { name: "Create contract" }).click();
    await expect(page.locator("#commission-error")).toContainText("would exceed 80%");
    await expect(page.getByLabel("Contract name")).toHaveValue("Reseller 2026");
    await expect(page.getByLabel("Commission (%)")).toHaveValue("60");
    await expect(page.getByLabel("End date")).toHaveValue("2024-01-31");
    // A deliberate second submit is a new attempt (the form carries a fresh key).
    await page.getByLabel("Commission (%)").fill("40");
    await page.getByRole("button", { name: "Create contract" }).click();
    await expect(page.getByTestId("explodely-id")).toHaveText("555");
    expect(affdesk.explodely.calls).toHaveLength(2);
  });

  test("the contract form still submits", async ({ page, affdesk }) => {
    await saveExplodelyAccount(page);
    await page.goto("/affiliate/contracts/new");
    await fillContract(page, "30");
    await page.getByRole("button", { name: "Create contract" }).click();
    await expect(page).toHaveURL(/\/affiliate\/contracts\/\d+\?created=1$/);
    await expect(page.getByTestId("explodely-id")).toHaveText("12345");
    expect(affdesk.explodely.calls).toHaveLength(1);
  });
});

