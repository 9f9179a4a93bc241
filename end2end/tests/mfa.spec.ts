import { Page } from "@playwright/test";
import { createHmac } from "node:crypto";
import { axeViolations, expect, hydrated, logIn, phoneWidth, test } from "./fixtures";

/** RFC 4648 base32, as the set-up page shows the key (groups of four, spaces between). */
function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text.replace(/\s+/g, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The authenticator app's code for a time step (RFC 6238: HMAC-SHA1, 6 digits), written here
 * independently of affdesk's own implementation. */
function totp(secret: Buffer, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return number.toString().padStart(6, "0");
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

async function setUpTwoStep(page: Page): Promise<{ secret: Buffer; step: number }> {
  await page.goto("/account/mfa");
  await logIn(page);
  await expect(page).toHaveURL(/\/account\/mfa$/);
  await hydrated(page);
  await page.getByRole("button", { name: "Set up two-step login" }).click();
  await expect(page.getByTestId("two-step-qr").locator("svg")).toBeVisible();
  expect(await axeViolations(page), "the set-up step").toEqual([]);
  expect(await phoneWidth(page), "the set-up step at 390 px").toBe(390);
  const secret = base32Decode(await page.getByTestId("two-step-secret").innerText());
  expect(secret.length).toBe(20);
  const step = stepNow();
  await page.getByLabel("Code from the app").fill(totp(secret, step));
  await page.getByRole("button", { name: "Turn on two-step login" }).click();
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  expect(await axeViolations(page), "the recovery codes").toEqual([]);
  return { secret, step };
}

test("enrol two-step login with a code computed from the page's key, log out, log in with it", async ({ page }) => {
  const { secret, step } = await setUpTwoStep(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?info=logged_out$/);
  await page.goto("/signups");
  await logIn(page);
  await expect(page).toHaveURL(/\/login\/mfa\?next=%2Fsignups$/);
  await hydrated(page);
  expect(await axeViolations(page), "/login/mfa").toEqual([]);
  expect(await phoneWidth(page), "/login/mfa at 390 px").toBe(390);
  // A wrong code keeps the admin out.
  await page.getByLabel("Code").fill("000000");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("login-message")).toContainText("That code is not right");
  // The code that confirmed the set-up cannot be used again: the next step's is (one step of
  // drift is allowed).
  const code = totp(secret, Math.max(stepNow(), step + 1));
  await page.getByLabel("Code").fill(code);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/signups$/);
  await expect(page.getByTestId("current-admin")).toBeVisible();
  await page.goto("/account/mfa");
  await expect(page.getByTestId("two-step-on")).toBeVisible();
});

test("a recovery code logs in without the phone", async ({ page }) => {
  await setUpTwoStep(page);
  const codes = await page.getByTestId("recovery-codes").locator("li").allInnerTexts();
  await page.getByRole("button", { name: "Log out" }).click();
  await logIn(page);
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await page.getByLabel("Code").fill(codes[0]);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("current-admin")).toBeVisible();
});
