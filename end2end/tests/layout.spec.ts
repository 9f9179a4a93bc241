import { test, expect, logIn, ADMIN_PAGES } from "./fixtures";

// Issue 22: on a phone (390 x 844) every page fits the window: nothing runs off the right edge,
// so no page needs scrolling sideways (a wide table scrolls inside its own box).
test.use({ viewport: { width: 390, height: 844 } });

test("every page fits a phone's width", async ({ page }) => {
  await page.goto("/login");
  const widthOf = () =>
    page.evaluate(() => ({
      document: document.documentElement.scrollWidth,
      window: window.innerWidth,
    }));
  expect(await widthOf(), "/login").toEqual({ document: 390, window: 390 });
  await logIn(page);
  await expect(page).not.toHaveURL(/\/login/);
  for (const path of ADMIN_PAGES) {
    await page.goto(path);
    await expect(page.locator("main h1")).toBeVisible();
    expect(await widthOf(), path).toEqual({ document: 390, window: 390 });
    // The navigation is above the page, not beside it.
    const nav = await page.locator("nav.sidebar").boundingBox();
    const main = await page.locator("main").boundingBox();
    expect(nav!.y + nav!.height, `${path}: navigation above the page`).toBeLessThanOrEqual(main!.y + 1);
  }
});
