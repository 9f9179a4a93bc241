import { test, expect, logIn, axeViolations as violations, phoneWidth } from "./fixtures";

// Issue 22: every page passes axe-core with no violation of any impact, logged out (the login
// pages) and logged in, after hydration (what an admin's browser shows). The two-step login
// pages and a contract's page are checked where their flows reach them (mfa.spec.ts,
// contracts.spec.ts).
const PAGES = [
  "/",
  "/settings/affiliate",
  "/settings/api-tokens",
  "/settings/explodely",
  "/settings/admins",
  "/settings/audit",
  "/affiliate/contracts",
  "/affiliate/contracts/new",
  "/signups",
  "/account/password",
  "/account/mfa",
];

test("every page passes axe-core, logged out and logged in", async ({ page, affdesk, request }) => {
  // A signup, so its detail page has something to show.
  const token = affdesk.cli(["token", "create", "--name", "a11y"]).trim();
  const answer = await request.post("/api/v1/signups", {
    headers: { Authorization: `Bearer ${token}` },
    data: { order_id: "A11Y-1", account_id: "100042", payment_method: "credit_card", amount: "19.95" },
  });
  expect(answer.status()).toBe(201);

  await page.goto("/login");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  expect(await violations(page), "/login").toEqual([]);
  await logIn(page);
  await expect(page).not.toHaveURL(/\/login/);
  for (const path of PAGES) {
    await page.goto(path);
    await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
    expect(await violations(page), path).toEqual([]);
  }
  await page.goto("/signups");
  await page.getByRole("link", { name: "A11Y-1" }).click();
  await expect(page).toHaveURL(/\/signups\/\d+$/);
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  expect(await violations(page), "a signup's page").toEqual([]);
  expect(await phoneWidth(page), "a signup's page at 390 px").toBe(390);
  await page.goto("/no-such-page");
  expect(await violations(page), "the 404 page").toEqual([]);
});
