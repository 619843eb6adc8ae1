// Browser test of the web chat widget against a real `backtalk serve`.
//
//   node tests/browser/widget.test.mjs path/to/backtalk
//
// Run from the repository root (the server finds rules/ and adapters/web/
// there). Starts the server on 127.0.0.1 port 0 with a temporary database,
// drives Debian's Chromium through the demo page with playwright-core, saves
// screenshots to tests/browser/artifacts/, stops everything it started, and
// exits non-zero with a message naming the failed step.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { chromium } = await import('playwright-core').catch((error) => {
  console.error(`FAIL: cannot load playwright-core (${error.message}); run \`npm ci\` in tests/browser`);
  process.exit(1);
});

const CHROMIUM = '/usr/bin/chromium';
// Without the networking flags Chromium keeps calling hosts this network
// refuses; the browser must never be downloaded.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STEP_TIMEOUT_MS = 15000;   // generous: the machine is shared
const WHOLE_TEST_MS = 55000;
const SERVER_START_MS = 15000;
const SERVER_STOP_MS = 5000;     // the server promises to exit within 5 s
const MAX_TURNS = 30;
const XSS_TEXT = '<img src=x onerror=alert(1)>';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

// Free-text answers by topic (PROTOCOL.md "asking"), for questions that come
// without quick replies. Anything else is answered "no": no red flags, so the
// conversation ends in an outcome rather than an emergency.
const TYPED_ANSWERS = {
  pain_location: 'lower back',
  duration: '3 days',
  onset: 'gradual',
  trigger: 'lifting boxes',
  pain_score: '4',
  age: '35',
};
const PREFERRED_CHOICES = ['no', 'gradual', 'lower_back', 'lifting', 'days'];

class StepFailure extends Error {}

function fail(message) {
  throw new StepFailure(message);
}

async function step(name, action) {
  const began = Date.now();
  try {
    const result = await action();
    console.log(`ok   ${name} (${Date.now() - began} ms)`);
    return result;
  } catch (error) {
    const reason = error instanceof StepFailure ? error.message : String(error.message || error).split('\n')[0];
    throw new StepFailure(`${name}: ${reason}`);
  }
}

function startServer(binary, database) {
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', database],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  const stderr = [];
  server.stderr.on('data', (chunk) => stderr.push(chunk));
  const output = () => Buffer.concat(stderr).toString().trim();
  const address = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `no "backtalk listening on" line within ${SERVER_START_MS} ms; stderr: ${output()}`)), SERVER_START_MS);
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^backtalk listening on (http:\/\/\S+)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${binary}: ${error.message}`));
    });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}); stderr: ${output()}`));
    });
  });
  return { process: server, address, output };
}

// SIGTERM, then wait; a server that does not stop in time is killed and the
// test fails, as graceful shutdown is part of what the server promises.
async function stopServer(server) {
  if (server.process.exitCode !== null || server.process.signalCode !== null) {
    return { code: server.process.exitCode, signal: server.process.signalCode };
  }
  const exited = new Promise((resolve) => server.process.once('exit', (code, signal) => resolve({ code, signal })));
  server.process.kill('SIGTERM');
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), SERVER_STOP_MS); });
  const result = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (result) return result;
  server.process.kill('SIGKILL');
  await exited;
  return { code: null, signal: 'SIGTERM ignored for 5 s' };
}

// What the widget shows, read from its shadow root.
function transcriptOf(page) {
  return page.evaluate(() => {
    const root = document.querySelector('backtalk-chat').shadowRoot;
    return Array.from(root.querySelector('.bt-log').children, (node) => node.textContent);
  });
}

// Waits until the bot has finished answering: the log grew by at least
// `atLeast` entries and the typing indicator is gone.
async function waitForTurnEnd(page, before, atLeast) {
  await page.waitForFunction(([count]) => {
    const root = document.querySelector('backtalk-chat').shadowRoot;
    return root.querySelector('.bt-log').children.length >= count &&
      root.querySelector('.bt-typing').hidden;
  }, [before + atLeast], { timeout: STEP_TIMEOUT_MS });
}

async function logLength(page) {
  return (await transcriptOf(page)).length;
}

async function typeAndSend(page, text) {
  const before = await logLength(page);
  const input = page.getByRole('textbox', { name: 'Your message' });
  await input.fill(text);
  await input.press('Enter');
  await waitForTurnEnd(page, before, 2);
}

async function clickChoice(page, button) {
  const before = await logLength(page);
  await button.click();
  await waitForTurnEnd(page, before, 2);
}

async function waitOnline(page) {
  await page.locator('.bt-status[data-tone="online"]').waitFor({ timeout: STEP_TIMEOUT_MS });
}

// Answers the bot's questions until it gives an outcome. The first yes/no
// question is answered by typing its title, the others by clicking.
async function converse(page) {
  let clicked = 0;
  let typed = 0;
  for (let turn = 0; turn < MAX_TURNS; turn += 1) {
    if (await page.locator('.bt-outcome').count()) return { clicked, typed, turns: turn };
    const asking = await page.locator('.bt-msg-bot').last().getAttribute('data-asking');
    const chips = page.locator('.bt-quick-replies button');
    const ids = await chips.evaluateAll((buttons) => buttons.map((b) => b.dataset.choice));
    if (ids.length === 0) {
      await typeAndSend(page, TYPED_ANSWERS[asking] || 'no');
      typed += 1;
      continue;
    }
    const id = PREFERRED_CHOICES.find((choice) => ids.includes(choice)) || ids[ids.length - 1];
    const chip = page.locator(`.bt-quick-replies button[data-choice=${JSON.stringify(id)}]`);
    if (typed < 2 && id === 'no') {
      await typeAndSend(page, await chip.textContent());
      typed += 1;
    } else {
      await clickChoice(page, chip);
      clicked += 1;
    }
  }
  fail(`no outcome after ${MAX_TURNS} turns; transcript: ${JSON.stringify(await transcriptOf(page))}`);
  return null;
}

async function run(binary, started) {
  mkdirSync(artifacts, { recursive: true });
  const tempDir = mkdtempSync(join(tmpdir(), 'backtalk-browser-'));
  const server = startServer(binary, join(tempDir, 'backtalk.db'));
  started.server = server;
  started.tempDir = tempDir;
  let browser = null;
  let failure = null;
  const problems = [];  // console errors, CSP reports, page errors, dialogs
  let dialogs = 0;
  try {
    const base = await step('server starts', () => server.address);
    browser = await step('chromium starts', () => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }));
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('dialog', async (dialog) => {
      dialogs += 1;
      problems.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`);
      await dialog.dismiss();
    });
    page.on('console', (message) => {
      // Chromium asks for /favicon.ico by itself; the server has none.
      if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) {
        problems.push(`console error: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

    await step('demo page shows the widget open and greets', async () => {
      const response = await page.goto(`${base}/`);
      if (!response.ok()) fail(`GET / answered ${response.status()}`);
      await page.getByRole('dialog', { name: 'Back pain advisor' }).waitFor();
      await waitOnline(page);
      await page.locator('.bt-msg-bot').first().waitFor();
      await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    });

    await step('typed description gets an answer', () =>
      typeAndSend(page, 'My lower back hurts since I moved house and carried heavy boxes'));

    const conversation = await step('questions answered by typing and by quick replies', async () => {
      const result = await converse(page);
      if (result.clicked < 1) fail('no quick reply was clicked; the bot offered none');
      if (result.typed < 1) fail('no answer was typed');
      return result;
    });
    console.log(`     ${conversation.turns} answers: ${conversation.clicked} clicked, ${conversation.typed} typed`);

    const outcome = await step('outcome banner is shown', async () => {
      const banner = page.locator('.bt-outcome').last();
      await banner.waitFor();
      const level = await banner.getAttribute('data-level');
      if (!['emergency', 'urgent', 'gp_soon', 'self_care'].includes(level)) fail(`unexpected level "${level}"`);
      const title = (await banner.locator('.bt-outcome-title').textContent()).trim();
      if (!title) fail('banner has no title');
      await page.screenshot({ path: join(artifacts, 'outcome.png') });
      return { level, title };
    });
    console.log(`     outcome: ${outcome.level} ("${outcome.title}")`);

    await step('reload resumes the conversation as it was', async () => {
      const before = await transcriptOf(page);
      await page.reload();
      await waitOnline(page);
      await page.locator('.bt-typing').waitFor({ state: 'hidden' });
      const after = await transcriptOf(page);
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        fail(`transcript changed:\nbefore ${JSON.stringify(before)}\nafter  ${JSON.stringify(after)}`);
      }
      if (!(await page.locator('.bt-outcome').count())) fail('outcome banner gone after reload');
    });

    await step('markup typed by the person is shown as text', async () => {
      await typeAndSend(page, XSS_TEXT);
      const bubble = page.locator('.bt-bubble-user').last();
      const shown = await bubble.textContent();
      if (shown !== XSS_TEXT) fail(`bubble shows ${JSON.stringify(shown)}`);
      const images = await page.locator('backtalk-chat img').count();
      if (images) fail(`${images} <img> element(s) appeared in the widget`);
      if (dialogs) fail('a dialog opened');
    });

    await step('Escape closes the panel and focus returns to the launcher', async () => {
      await page.getByRole('textbox', { name: 'Your message' }).focus();
      await page.keyboard.press('Escape');
      await page.getByRole('dialog', { name: 'Back pain advisor' }).waitFor({ state: 'hidden' });
      const launcher = page.getByRole('button', { name: 'Back pain advice' });
      if (await launcher.getAttribute('aria-expanded') !== 'false') fail('launcher still says expanded');
      const focused = await page.evaluate(() =>
        document.activeElement.shadowRoot?.activeElement?.className || '');
      if (!focused.includes('bt-launcher')) fail(`focus is on "${focused}"`);
      await launcher.click();
      await page.getByRole('dialog', { name: 'Back pain advisor' }).waitFor();
      await page.screenshot({ path: join(artifacts, 'desktop.png') });
    });

    await step('on a phone the panel fills the screen', async () => {
      await page.setViewportSize({ width: 375, height: 740 });
      const box = await page.getByRole('dialog', { name: 'Back pain advisor' }).boundingBox();
      if (Math.round(box.width) !== 375 || Math.round(box.height) !== 740 || box.x !== 0 || box.y !== 0) {
        fail(`panel is ${JSON.stringify(box)}`);
      }
      await page.screenshot({ path: join(artifacts, 'phone.png') });
    });

    await step('no console errors, CSP violations or dialogs', () => {
      if (problems.length) fail(problems.join('; '));
    });
  } catch (error) {
    failure = error;
  }
  if (browser) await browser.close();
  const stopped = await stopServer(server);
  rmSync(tempDir, { recursive: true, force: true });
  if (failure) throw failure;  // the first failure is the one worth reading
  await step('server stops cleanly on SIGTERM', () => {
    if (stopped.code !== 0) fail(`exit code ${stopped.code}, signal ${stopped.signal}; stderr: ${server.output()}`);
  });
}

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node tests/browser/widget.test.mjs path/to/backtalk');
  process.exit(2);
}
const started = { server: null, tempDir: null };
// Playwright closes its browser when the process exits; the server and the
// temporary folder are ours to clean up.
const watchdog = setTimeout(() => {
  console.error(`FAIL: the browser test took over ${WHOLE_TEST_MS / 1000} s`);
  if (started.server) started.server.process.kill('SIGKILL');
  if (started.tempDir) rmSync(started.tempDir, { recursive: true, force: true });
  process.exit(1);
}, WHOLE_TEST_MS);
const began = Date.now();
run(binary, started).then(() => {
  clearTimeout(watchdog);
  console.log(`PASS: browser test in ${((Date.now() - began) / 1000).toFixed(1)} s; screenshots in ${artifacts}`);
}, (error) => {
  clearTimeout(watchdog);
  console.error(`FAIL: ${error instanceof StepFailure ? error.message : error.stack}`);
  process.exitCode = 1;
});
