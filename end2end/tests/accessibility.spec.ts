import { test, expect, logIn, axeViolations as violations, phoneWidth, ADMIN_PAGES, reportSignup } from "./fixtures";

// Issue 22: every page passes axe-core with no violation of any impact, logged out (the login
// pages) and logged in, after hydration (what an admin's browser shows). The two-step login
// pages and a contract's page are checked where their flows reach them (mfa.spec.ts,
// contracts.spec.ts).
test("every page passes axe-core, logged out and logged in", async ({ page, affdesk, request }) => {
  // A signup, so its detail page has something to show.
  await reportSignup(affdesk, request, "A11Y-1", "a11y");

  await page.goto("/login");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  expect(await violations(page), "/login").toEqual([]);
  await logIn(page);
  await expect(page).not.toHaveURL(/\/login/);
  for (const path of ADMIN_PAGES) {
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
