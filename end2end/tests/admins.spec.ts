import { expect, hydrated, logIn, test } from "./fixtures";

test("create an admin on Settings → Admins, see their one-time password, disable them, and find it all in the audit log", async ({
  page,
}) => {
  await page.goto("/settings/admins");
  await logIn(page);
  await expect(page).toHaveURL(/\/settings\/admins$/);
  await hydrated(page);
  await page.getByLabel("New admin's username").fill("carol");
  await page.getByRole("button", { name: "Create admin" }).click();
  await expect(page.getByTestId("one-time-password")).toHaveText(/^\S{12,}$/);
  const carol = page.locator('tr[data-admin="carol"]');
  await expect(carol).toContainText("never");
  await expect(carol).toContainText("active");
  await carol.getByRole("button", { name: "Disable" }).click();
  await expect(carol).toContainText("disabled");
  // Nobody can disable themselves: the page offers no button for it.
  await expect(page.locator('tr[data-admin="e2e-admin"]').getByRole("button", { name: "Disable" })).toHaveCount(0);

  await page.goto("/settings/audit?kind=admin_disabled");
  await expect(page.getByTestId("audit-events")).toContainText("admin 'carol' disabled");
  await page.goto("/settings/audit");
  await expect(page.getByTestId("audit-events")).toContainText("admin 'carol' created with a one-time password");
});
