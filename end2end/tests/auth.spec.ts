import { ADMIN, PASSWORD, expect, hydrated, logIn, test } from "./fixtures";

test("log in from a protected page, see the shell, and log out", async ({ page }) => {
  await page.goto("/settings/affiliate");
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Faffiliate$/);
  await hydrated(page);
  await logIn(page);

  await expect(page).toHaveURL(/\/settings\/affiliate$/);
  await expect(page.getByTestId("current-admin")).toHaveText(ADMIN);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Settings → Affiliate Program");
  await expect(page.getByLabel("Use affiliate program")).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Affiliate Program" })).toHaveAttribute("aria-current", "page");

  // Client-side navigation inside the shell keeps the session.
  await hydrated(page);
  await nav.getByRole("link", { name: "Signups", exact: true }).click();
  await expect(page).toHaveURL(/\/signups$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Signups");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?info=logged_out$/);
  await expect(page.getByTestId("login-message")).toHaveText("You have been logged out.");
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("a wrong password gets one message and keeps the username", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await logIn(page, ADMIN, "not the password at all");
  await expect(page.getByTestId("login-message")).toHaveText("Wrong username or password.");
  await expect(page.getByLabel("Username")).toHaveValue(ADMIN);
  await expect(page.getByLabel("Password")).toHaveValue("");
});

test("change the password: live checks, then the new password works", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await logIn(page);
  await expect(page.getByTestId("current-admin")).toHaveText(ADMIN);
  await hydrated(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Change password" }).click();
  await expect(page).toHaveURL(/\/account\/password$/);

  const newPassword = "a brand new passphrase";
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password", { exact: true }).fill("short");
  // The same Rust rule as the server, running in the browser as the admin types.
  await expect(page.locator("#new_password-error")).toHaveText(/at least 12 characters/);
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await expect(page.locator("#new_password-error")).toBeEmpty();
  await page.getByLabel("New password again").fill(newPassword + "x");
  await expect(page.locator("#confirm_password-error")).toHaveText(/the two new passwords differ/);
  await page.getByLabel("New password again").fill(newPassword);
  await expect(page.locator("#confirm_password-error")).toBeEmpty();
  await page.getByRole("button", { name: "Change password" }).click();

  await expect(page.getByTestId("password-changed")).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await logIn(page, ADMIN, PASSWORD);
  await expect(page.getByTestId("login-message")).toHaveText("Wrong username or password.");
  await logIn(page, ADMIN, newPassword);
  await expect(page.getByTestId("current-admin")).toHaveText(ADMIN);
});

test("a wrong current password is reported beside its field", async ({ page }) => {
  await page.goto("/account/password");
  await hydrated(page);
  await logIn(page);
  await expect(page).toHaveURL(/\/account\/password$/);
  await hydrated(page);
  await page.getByLabel("Current password").fill("not my password at all");
  await page.getByLabel("New password", { exact: true }).fill("a brand new passphrase");
  await page.getByLabel("New password again").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#current_password-error")).toHaveText("this is not your current password");
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("the login page works, and so does logging out", async ({ page }) => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/login$/);
    await logIn(page, ADMIN, "wrong password here");
    await expect(page.getByTestId("login-message")).toHaveText("Wrong username or password.");
    await logIn(page);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByTestId("current-admin")).toHaveText(ADMIN);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Overview");
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByTestId("login-message")).toHaveText("You have been logged out.");
  });

  test("the password can be changed", async ({ page }) => {
    await page.goto("/account/password");
    await logIn(page);
    await expect(page).toHaveURL(/\/account\/password$/);
    const newPassword = "a brand new passphrase";
    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("New password again").fill(newPassword);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("password-changed")).toBeVisible();
  });
});
