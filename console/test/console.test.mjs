// The console in a real browser (Debian's chromium, headless) against a running node
// that serves it: every page loads, live data appears, a project is created from the
// page, nothing is logged as an error, every page is usable at phone width and by
// keyboard, every form field has a label. Saves a screenshot of each page.
//
// Environment: CONSOLE_URL (the node's console, `http://127.0.0.1:PORT/`), PROJECT (a
// project whose proofs are being finalized while the test runs) and PROJECT_ID,
// NEW_PROJECT (the name of the project to create), SCREENSHOTS (a directory),
// CHROMIUM (default /usr/bin/chromium). Run by tests/tests/cli.rs.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const consoleUrl = env("CONSOLE_URL");
const project = env("PROJECT");
const projectId = env("PROJECT_ID");
const newProject = env("NEW_PROJECT");
const screenshots = env("SCREENSHOTS");
const TIMEOUT = 90_000;

mkdirSync(screenshots, { recursive: true });
const problems = [];
const browser = await puppeteer.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  // Root in a container has no user namespace for chromium's sandbox.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});

function step(what) {
  console.log(`[console test] ${what}`);
}

async function shot(page, name) {
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  step(`screenshot ${path}`);
}

/** Checks what every page must offer: labelled fields, named charts, no sideways scrolling at phone width. */
async function checkAccessible(page, name) {
  const unlabelled = await page.$$eval("input, select, textarea", (fields) =>
    fields
      .filter((field) => !(field.labels?.length || field.getAttribute("aria-label")))
      .map((field) => field.name || field.id || field.outerHTML.slice(0, 60)),
  );
  if (unlabelled.length) problems.push(`${name}: fields without a label: ${unlabelled.join(", ")}`);
  const unnamed = await page.$$eval("svg[role=img]", (charts) =>
    charts.filter((chart) => !chart.querySelector("title")?.textContent).length,
  );
  if (unnamed) problems.push(`${name}: ${unnamed} charts without a text alternative`);
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) problems.push(`${name}: ${overflow}px of sideways scrolling at phone width`);
  await shot(page, `${name}-phone`);
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
}

try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });

  step("projects page: the project is listed, finalized proofs appear live");
  await page.goto(consoleUrl, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(`tr[data-project="${project}"]`);
  await page.waitForSelector("#proof-feed li");
  // Keyboard: the skip link is the first stop, then the navigation.
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.textContent);
  if (first !== "Skip to content") problems.push(`the first Tab stop is ${JSON.stringify(first)}, not the skip link`);
  await shot(page, "projects");
  await checkAccessible(page, "projects");

  step(`project page of ${project}: applets, subnet, batches, live votes`);
  await page.goto(`${consoleUrl}#/project/${projectId}`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(`main[data-loaded="/project/${projectId}"]`);
  const heading = await page.$eval("h1", (h1) => h1.textContent);
  if (heading !== `Project ${project}`) problems.push(`project page heading ${JSON.stringify(heading)}`);
  const batches = await page.$$eval("#batches tr", (rows) => rows.length);
  if (batches < 1) problems.push("no batches on the project page");
  // A proof finalized while the page is open updates its charts.
  await page.waitForFunction(
    () => [...document.querySelectorAll("#project-live svg title")].some((t) => t.textContent.includes("+") && !t.textContent.includes("no data")),
  );
  await shot(page, "project");
  await checkAccessible(page, "project");

  step("operators page");
  await page.goto(`${consoleUrl}#/operators`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector('main[data-loaded="/operators"] table tbody tr');
  await shot(page, "operators");
  await checkAccessible(page, "operators");

  step(`new project page: create ${newProject}, signed in the browser`);
  await page.goto(`${consoleUrl}#/new`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector('main[data-loaded="/new"] form');
  await checkAccessible(page, "new-project");
  await page.type("#field-projectName", newProject);
  await page.type("#field-description", "Created from the console");
  await page.type("#field-suri", "//Alice");
  await page.click("form button[type=submit]");
  await page.waitForSelector("#created-link");
  await shot(page, "new-project");
  await page.click("#created-link");
  await page.waitForFunction((name) => document.querySelector("h1")?.textContent === `Project ${name}`, {}, newProject);
  await shot(page, "created-project");

  step("a refused action says why");
  await page.goto(`${consoleUrl}#/new`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector('main[data-loaded="/new"] form');
  await page.type("#field-projectName", newProject);
  await page.type("#field-suri", "//Alice");
  await page.click("form button[type=submit]");
  await page.waitForSelector(".outcome.error");
  const refusal = await page.$eval(".outcome.error", (p) => p.textContent);
  if (!refusal.includes("Projects.NameTaken")) problems.push(`a taken name was reported as ${JSON.stringify(refusal)}`);
  await shot(page, "refused");
} catch (error) {
  problems.push(`${error.message}`);
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`[console test] ${problems.length} problems:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
step("passed");
