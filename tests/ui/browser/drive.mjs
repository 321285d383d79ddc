// node drive.mjs UI_URL OUT_DIR MODE  (MODE: "views" signs in and screenshots each view; "fcp" measures paint)
import { chromium } from "playwright-core";

const [url, outDir, mode = "views"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const out = { errors };
try {
  await page.goto(url, { waitUntil: "load" });
  if (mode === "fcp") {
    out.fcp_ms = await page.evaluate(() => {
      const e = performance.getEntriesByName("first-contentful-paint")[0];
      return e ? e.startTime : null;
    });
  } else {
    await page.fill("input[name=user]", "browser-e2e");
    await page.click("#signin-form button[type=submit]");
    await page.waitForSelector("#view-map:not([hidden])");
    await page.waitForFunction(() => Number(document.querySelector("#map-count").textContent) > 0, null, { timeout: 60000 });
    out.map_points = Number(await page.textContent("#map-count"));
    out.token_in_storage = await page.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length);
    await page.screenshot({ path: `${outDir}/map.png` });
    await page.click("nav button[data-view=workflows]");
    await page.waitForSelector("#workflow-select option[value=lake-inventory]");
    await page.selectOption("#workflow-select", "lake-inventory");
    await page.click("#launch-form button[type=submit]");
    await page.waitForSelector("#run pre", { timeout: 60000 });
    out.run_heading = await page.textContent("#run h3");
    await page.screenshot({ path: `${outDir}/workflows.png` });
    await page.click("nav button[data-view=lake]");
    await page.waitForSelector("#tiers tbody tr");
    out.tiers = await page.$$eval("#tiers tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
    await page.screenshot({ path: `${outDir}/lake.png` });
    await page.click("nav button[data-view=health]");
    await page.waitForSelector("#health tbody tr");
    await page.screenshot({ path: `${outDir}/health.png` });
    await page.click("#signout");
    out.signed_out = await page.isVisible("#signin");
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
