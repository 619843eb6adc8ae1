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
import { createServer } from 'node:http';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const WHOLE_TEST_MS = 90000;
const SERVER_START_MS = 15000;
const SERVER_STOP_MS = 5000;     // the server promises to exit within 5 s
const MAX_TURNS = 30;
const XSS_TEXT = '<img src=x onerror=alert(1)>';
const RETRY_WAIT_MS = 1000;      // the widget's first retry comes within 0.75 s

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
const PREFERRED_CHOICES = ['no', 'age_20_49', 'days', 'mild', 'gradual', 'lower', 'lifting'];

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

function startServer(binary, database, rulesDir) {
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', database, '--rules', rulesDir],
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

// Says how `after` differs from `before` followed by at most `mayAdd` bot
// lines; empty when it does not. Long lines are cut to keep messages short.
function transcriptDifference(before, after, mayAdd) {
  const cut = (line) => JSON.stringify(line && line.length > 120 ? line.slice(0, 120) + '...' : line);
  const index = before.findIndex((line, i) => after[i] !== line);
  if (index !== -1) return `entry ${index} was ${cut(before[index])}, now ${cut(after[index])}`;
  const added = after.slice(before.length);
  if (added.length > mayAdd || added.some((line) => !line.startsWith('Advisor: '))) {
    return `${added.length} entries added: ${added.map(cut).join(', ')}`;
  }
  return '';
}

async function logLength(page) {
  return (await transcriptOf(page)).length;
}

// The server allows 5 messages a second per connection; the test answers no
// faster than 4 a second so that it never meets the rate limit.
const MIN_MS_BETWEEN_MESSAGES = 250;
let lastMessageAt = 0;

async function paced(action) {
  const wait = lastMessageAt + MIN_MS_BETWEEN_MESSAGES - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  lastMessageAt = Date.now();
  await action();
}

async function typeAndSend(page, text) {
  const before = await logLength(page);
  const input = page.getByRole('textbox', { name: 'Your message' });
  await input.fill(text);
  await paced(() => input.press('Enter'));
  await waitForTurnEnd(page, before, 2);
}

async function clickChoice(page, button) {
  const before = await logLength(page);
  await paced(() => button.click());
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

// Opens a page that records everything that should never happen: console
// errors (CSP violations among them), uncaught exceptions and dialogs.
async function watchedPage(browser, viewport, problems) {
  const context = await browser.newContext({ viewport });
  return watch(await context.newPage(), problems);
}

function watch(page, problems) {
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('dialog', async (dialog) => {
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
  return page;
}

function noProblems(problems) {
  if (problems.length) fail(problems.join('; '));
}

// Two tabs of one site share the saved conversation: the tab that connects
// last holds it, the other stands by until asked to continue, and then shows
// what was said in the other tab.
async function checkTwoTabs(browser, base) {
  const problems = [];
  const first = await watchedPage(browser, { width: 1280, height: 860 }, problems);
  const ready = async (page) => {
    await waitOnline(page);
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
  };
  // Every line of `shorter` is in `longer`, in the same order (a resume may
  // add a welcome back before repeating the open question).
  const inOrder = (longer, shorter) => {
    let at = 0;
    return shorter.every((line) => {
      while (at < longer.length && longer[at] !== line) at += 1;
      return at++ < longer.length;
    });
  };

  await step('two tabs: the first tab chats', async () => {
    await first.goto(`${base}/`);
    await ready(first);
    await typeAndSend(first, 'My lower back hurts since yesterday');
  });
  const second = watch(await first.context().newPage(), problems);
  await step('two tabs: a second tab takes the conversation over and the first stands by', async () => {
    await second.goto(`${base}/`);
    await ready(second);
    await first.locator('.bt-elsewhere').waitFor();
    if (!(await first.locator('.bt-send').isDisabled())) fail('the first tab can still send');
    if ((await first.locator('.bt-status').textContent()) !== 'Continued in another tab') {
      fail('the first tab does not say the conversation went on elsewhere');
    }
    const shown = await transcriptOf(first);
    if (!inOrder(await transcriptOf(second), shown)) fail('the second tab does not show the conversation so far');
  });
  await step('two tabs: the first continues here and shows what the second said', async () => {
    await typeAndSend(second, 'no');
    const said = await transcriptOf(second);
    await first.getByRole('button', { name: 'Continue here' }).click();
    await ready(first);
    await second.locator('.bt-elsewhere').waitFor();
    if (!inOrder(await transcriptOf(first), said)) fail('the first tab misses what was said in the second');
    await typeAndSend(first, 'no');
  });
  await step('two tabs: no console errors, CSP violations or dialogs', () => noProblems(problems));
  await first.context().close();
}

// A whole conversation with the real server and engine.
async function checkRealConversation(browser, base) {
  const problems = [];
  const page = await watchedPage(browser, { width: 1280, height: 860 }, problems);

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
    if (!(await banner.isVisible())) fail('banner is not in view');
    await page.screenshot({ path: join(artifacts, 'outcome.png') });
    return { level, title };
  });
  console.log(`     outcome: ${outcome.level} ("${outcome.title}")`);

  await step('reload resumes the conversation as it was', async () => {
    const before = await transcriptOf(page);
    await page.reload();
    await waitOnline(page);
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    // Everything shown before is still there, in order; the server may add
    // one line on resuming (a welcome back), but nothing else.
    const after = await transcriptOf(page);
    const problem = transcriptDifference(before, after, 1);
    if (problem) fail(`transcript changed: ${problem}`);
    if (!(await page.locator('.bt-outcome').count())) fail('outcome banner gone after reload');
  });

  await step('markup typed by the person is shown as text', async () => {
    await typeAndSend(page, XSS_TEXT);
    const shown = await page.locator('.bt-bubble-user').last().textContent();
    if (shown !== XSS_TEXT) fail(`bubble shows ${JSON.stringify(shown)}`);
    const images = await page.locator('backtalk-chat img').count();
    if (images) fail(`${images} <img> element(s) appeared in the widget`);
  });

  await step('Escape closes the panel and focus returns to the launcher', async () => {
    await page.getByRole('textbox', { name: 'Your message' }).focus();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Back pain advisor' }).waitFor({ state: 'hidden' });
    const launcher = page.getByRole('button', { name: 'Back pain advice' });
    if (await launcher.getAttribute('aria-expanded') !== 'false') fail('launcher still says expanded');
    const focused = await page.evaluate(() => document.activeElement.shadowRoot?.activeElement?.className || '');
    if (!focused.includes('bt-launcher')) fail(`focus is on "${focused}"`);
    await launcher.click();
    await page.getByRole('dialog', { name: 'Back pain advisor' }).waitFor();
  });

  await step('on a phone the panel fills the screen', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    const box = await page.getByRole('dialog', { name: 'Back pain advisor' }).boundingBox();
    if (Math.round(box.width) !== 375 || Math.round(box.height) !== 740 || box.x !== 0 || box.y !== 0) {
      fail(`panel is ${JSON.stringify(box)}`);
    }
    await page.screenshot({ path: join(artifacts, 'phone.png') });
  });

  await step('start over opens a new conversation with the greeting', async () => {
    const oldSession = await sessionInStorage(page);
    await page.getByRole('button', { name: 'Start over' }).first().click();
    await page.getByRole('button', { name: 'Clear and start over' }).click();
    await page.waitForFunction(() => {
      const root = document.querySelector('backtalk-chat').shadowRoot;
      return root.querySelector('.bt-log').children.length === 1 && root.querySelector('.bt-typing').hidden;
    });
    const greeting = await page.locator('.bt-msg-bot').first().textContent();
    if (!greeting.includes('backtalk')) fail(`first message is ${JSON.stringify(greeting)}`);
    const newSession = await sessionInStorage(page);
    if (!newSession || newSession === oldSession) fail('no new session id stored');
  });

  await step('red flags give the emergency banner with a number to call', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await typeAndSend(page, 'My back hurts, I cannot feel my bottom when I wipe and I am leaking urine');
    const banner = page.locator('.bt-outcome').last();
    if (await banner.getAttribute('data-level') !== 'emergency') {
      fail(`banner level is ${await banner.getAttribute('data-level')}`);
    }
    const call = await banner.locator('a.bt-outcome-call').getAttribute('href');
    if (!/^tel:\+?\d{2,}$/.test(call || '')) fail(`call link is ${call}`);
    if (!(await banner.isVisible())) fail('banner is not in view');
    await page.screenshot({ path: join(artifacts, 'emergency.png') });
  });

  await step('no console errors, CSP violations or dialogs', () => noProblems(problems));
  await page.context().close();
}

// What the scripted WebSocket answers (see checkScriptedReplies).
const MARKDOWN_TEXT = '**Welcome.** Gentle *movement* helps.\n- first point\n- second point\n' +
  '1. step one\n2. step two\n' +
  'Read [the guide](https://example.org/guide), not [this](javascript:alert(1)) or <script>alert(2)</script>.';
const YES_NO = [{ id: 'yes', title: 'Yes' }, { id: 'no', title: 'No' }];

function reply(text, extra) {
  return { type: 'reply', text, quick_replies: [], asking: null, state: 'screening', triage: null, ...extra };
}

const SCRIPTED_ANSWERS = {
  emergency: [reply('This needs help now. Call 112 or go to the emergency department.',
    { state: 'outcome', triage: { level: 'emergency', reasons: ['cauda_equina'] }, steps: [] })],
  stretch: [reply('Some **gentle** stretches:', {
    state: 'outcome', triage: { level: 'self_care', reasons: ['muscle_strain'] },
    steps: [{ id: 'knee_hug', title: 'Knee hug', text: 'Hug *both* knees.', hold_seconds: 20, repeat: 2 }],
  })],
};

// Stands in for the server's /ws with fixed answers, so that the rendering of
// every kind of reply is checked whatever the engine's rules say. Sessions
// named in `expired` are answered as unknown, like the real server does;
// those in `unreadable` get one `unavailable` (the database could not be
// read), then resume.
async function scriptedSocket(page) {
  const state = {
    sent: [], route: null, sessions: 0, last: null, held: null, expired: new Set(), unreadable: new Set(),
    welcomeBack: false,  // resumes say "welcome back" before repeating the open question, as the server does
  };
  await page.routeWebSocket(/\/ws$/, (route) => {
    state.route = route;
    const answer = (objects) => objects.forEach((object, i) =>
      route.send(JSON.stringify({ ...object, end_of_turn: i === objects.length - 1 })));
    route.onMessage((data) => {
      const object = JSON.parse(String(data));
      state.sent.push(object);
      if (object.type === 'start') {
        if (state.unreadable.delete(object.session)) {
          answer([{ type: 'error', code: 'unavailable', message: 'Try again in a moment.' }]);
          return;
        }
        if (object.session && !state.expired.has(object.session)) {
          const welcome = state.welcomeBack ? [reply("Welcome back. Let's carry on where we left off.")] : [];
          answer([{ type: 'session', session: object.session, resumed: true }, ...welcome, state.last]);
          return;
        }
        state.sessions += 1;
        state.last = reply(MARKDOWN_TEXT, { quick_replies: YES_NO, asking: 'numbness', state: 'greeting' });
        answer([{ type: 'session', session: `s-${state.sessions}`, resumed: false }, state.last]);
      } else if (object.type === 'choice') {
        answer([{ type: 'error', code: 'rate_limited', message: 'Slow down.' }]);
      } else if (object.text === 'slow') {
        route.send(JSON.stringify({ ...reply('Thinking about it.'), end_of_turn: false }));
        state.held = () => answer([reply('Done thinking.')]);
      } else {
        const objects = SCRIPTED_ANSWERS[object.text] || [reply('Noted.')];
        state.last = objects[objects.length - 1];
        answer(objects);
      }
    });
  });
  return state;
}

async function sessionInStorage(page) {
  return page.evaluate(() => {
    // The demo page comes from the server itself: the widget's key names this origin.
    const saved = localStorage.getItem(`backtalk:v1:${location.origin}`);
    return saved ? JSON.parse(saved).session : null;
  });
}

// Markdown, links, errors, banners, timers, reconnect, start over and expiry,
// with the page's clock under the test's control.
async function checkScriptedReplies(browser, base) {
  const problems = [];
  const page = await watchedPage(browser, { width: 1280, height: 860 }, problems);
  const socket = await scriptedSocket(page);
  const t0 = Date.now();
  await page.clock.install({ time: t0 });
  await page.goto(`${base}/`);
  await waitOnline(page);
  await page.clock.pauseAt(t0 + 60000);
  const input = page.getByRole('textbox', { name: 'Your message' });

  await step('bot markdown becomes bold, italics, lists and safe links only', async () => {
    const bubble = page.locator('.bt-bubble-bot').first();
    await bubble.waitFor();
    if (await bubble.locator('strong').first().textContent() !== 'Welcome.') fail('no bold');
    if (await bubble.locator('em').first().textContent() !== 'movement') fail('no italics');
    if (await bubble.locator('ul > li').count() !== 2) fail('bullet list not built');
    if (await bubble.locator('ol > li').count() !== 2) fail('numbered list not built');
    const links = await bubble.locator('a').evaluateAll((anchors) =>
      anchors.map((a) => ({ href: a.href, rel: a.rel, target: a.target })));
    if (links.length !== 1 || links[0].href !== 'https://example.org/guide' ||
        links[0].rel !== 'noopener noreferrer' || links[0].target !== '_blank') {
      fail(`links are ${JSON.stringify(links)}`);
    }
    const text = await bubble.textContent();
    if (!text.includes('javascript:alert(1)') || !text.includes('<script>alert(2)</script>')) {
      fail(`unsafe parts not shown as text: ${JSON.stringify(text)}`);
    }
    if (await page.locator('backtalk-chat script').count()) fail('a <script> element was created');
  });

  await step('after a reload the open question comes after the welcome back, with its buttons', async () => {
    socket.welcomeBack = true;
    await page.reload();
    await waitOnline(page);
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    const bubbles = await page.locator('.bt-bubble-bot').allTextContents();
    if (!bubbles[bubbles.length - 1].includes('Welcome.')) fail(`last bubble is ${JSON.stringify(bubbles[bubbles.length - 1])}`);
    if (!bubbles[bubbles.length - 2].includes('Welcome back.')) fail('the welcome back is not before the question');
    if (await page.locator('.bt-quick-replies button').count() !== 2) fail('the open question lost its buttons');
    socket.welcomeBack = false;
  });

  await step('an error is shown politely and the choices stay', async () => {
    await page.locator('.bt-quick-replies button[data-choice="yes"]').click();
    await page.locator('.bt-notice-error').filter({ hasText: 'very quickly' }).waitFor();
    await page.locator('.bt-msg-failed').filter({ hasText: 'Not sent' }).waitFor();
    if (await page.locator('.bt-quick-replies button').count() !== 2) fail('quick replies gone after the error');
    const last = socket.sent[socket.sent.length - 1];
    if (last.type !== 'choice' || last.id !== 'yes') fail(`sent ${JSON.stringify(last)}`);
  });

  await step('typing indicator stays until end_of_turn', async () => {
    await input.fill('slow');
    await input.press('Enter');
    await page.locator('.bt-bubble-bot').filter({ hasText: 'Thinking about it.' }).waitFor();
    if (!(await page.locator('.bt-typing').isVisible())) fail('indicator hidden before end_of_turn');
    // One turn at a time: a second message waits in the input, unsent.
    await input.fill('too soon');
    await input.press('Enter');
    if (socket.sent.some((object) => object.text === 'too soon')) fail('sent while the last turn was still open');
    if (await input.inputValue() !== 'too soon') fail('the unsent text left the input');
    socket.held();
    await page.locator('.bt-bubble-bot').filter({ hasText: 'Done thinking.' }).waitFor();
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    await input.press('Enter');
    await page.locator('.bt-bubble-bot').filter({ hasText: 'Noted.' }).last().waitFor();
  });

  await step('emergency banner is red with the number to call', async () => {
    await input.fill('emergency');
    await input.press('Enter');
    const banner = page.locator('.bt-outcome[data-level="emergency"]');
    await banner.waitFor();
    if (await banner.getAttribute('role') !== 'alert') fail('emergency banner is not an alert');
    const call = banner.locator('a.bt-outcome-call');
    if (await call.getAttribute('href') !== 'tel:112') fail(`call link is ${await call.getAttribute('href')}`);
    const colour = await banner.evaluate((node) => getComputedStyle(node).backgroundColor);
    if (colour !== 'rgb(179, 20, 15)') fail(`banner background is ${colour}`);
  });

  await step('stretching plan counts each hold down, with pause', async () => {
    await input.fill('stretch');
    await input.press('Enter');
    const timer = page.locator('.bt-timer').last();
    await timer.waitFor();
    const clock = timer.locator('.bt-timer-clock');
    const round = timer.locator('.bt-timer-round');
    const toggle = timer.locator('.bt-timer-toggle');
    const expect = async (what, locator, wanted) => {
      const shown = await locator.textContent();
      if (shown !== wanted) fail(`${what} shows "${shown}", expected "${wanted}"`);
    };
    await expect('clock', clock, '0:20');
    await expect('round', round, 'Round 1 of 2');
    await toggle.click();
    await page.clock.runFor(10000);
    await expect('clock after 10 s', clock, '0:10');
    await toggle.click();  // pause
    await page.clock.runFor(30000);
    await expect('clock while paused', clock, '0:10');
    await expect('paused button', toggle, 'Resume');
    await toggle.click();
    await page.clock.runFor(10500);
    await expect('round after the first hold', round, 'Round 2 of 2');
    await expect('button after the first hold', toggle, 'Start next hold');
    await toggle.click();
    await page.clock.runFor(20500);
    await expect('button at the end', toggle, 'Done');
    if (!(await toggle.isDisabled())) fail('Done button still enabled');
    await page.locator('.bt-step-title').last().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'stretches.png') });
  });

  await step('input stops at 2,000 characters and counts them', async () => {
    await input.fill('x'.repeat(1999));
    await input.press('y');
    await input.press('z');
    const length = await input.evaluate((node) => node.value.length);
    if (length !== 2000) fail(`input holds ${length} characters`);
    const counter = page.locator('.bt-counter');
    if (await counter.textContent() !== '2000 / 2000 characters') fail(`counter shows "${await counter.textContent()}"`);
    await input.fill('');
  });

  await step('a dropped connection is retried with backoff and resumed', async () => {
    const before = await transcriptOf(page);
    const starts = socket.sent.filter((o) => o.type === 'start').length;
    await socket.route.close({ code: 1001, reason: 'going away' });
    await page.locator('.bt-status[data-tone="offline"]').waitFor();
    await page.clock.runFor(RETRY_WAIT_MS);
    await waitOnline(page);
    const resume = socket.sent.filter((o) => o.type === 'start');
    if (resume.length !== starts + 1 || resume[resume.length - 1].session !== 's-1') {
      fail(`after the drop the widget sent ${JSON.stringify(resume.slice(starts))}`);
    }
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    const problem = transcriptDifference(before, await transcriptOf(page), 0);
    if (problem) fail(`transcript changed on resume: ${problem}`);
  });

  await step('a conversation that cannot be read right now is asked for again, then resumed', async () => {
    const before = await transcriptOf(page);
    const starts = socket.sent.filter((o) => o.type === 'start').length;
    socket.unreadable.add('s-1');
    await socket.route.close({ code: 1001, reason: 'going away' });
    await page.locator('.bt-status[data-tone="offline"]').waitFor();
    await page.clock.runFor(RETRY_WAIT_MS);
    await page.locator('.bt-notice').filter({ hasText: 'unavailable for a moment' }).waitFor();
    await page.locator('.bt-status[data-tone="offline"]').waitFor();
    // The second retry waits twice as long as the first.
    await page.clock.runFor(2 * RETRY_WAIT_MS);
    await waitOnline(page);
    const resume = socket.sent.filter((o) => o.type === 'start').slice(starts);
    if (resume.length !== 2 || resume.some((o) => o.session !== 's-1')) {
      fail(`the widget sent ${JSON.stringify(resume)}`);
    }
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    const after = await transcriptOf(page);
    const notices = after.filter((line) => line.includes('unavailable for a moment'));
    if (notices.length !== 1) fail(`${notices.length} notices of the refusal`);
    const problem = transcriptDifference(before, after.filter((line) => !notices.includes(line)), 0);
    if (problem) fail(`transcript changed beyond the notice: ${problem}`);
  });

  await step('start over clears the conversation and opens a new one', async () => {
    await page.getByRole('button', { name: 'Start over' }).click();
    await page.getByRole('button', { name: 'Clear and start over' }).click();
    await page.locator('.bt-typing').waitFor({ state: 'hidden' });
    await page.waitForFunction(() => document.querySelector('backtalk-chat').shadowRoot
      .querySelector('.bt-log').children.length === 1);
    const last = socket.sent[socket.sent.length - 1];
    if (last.type !== 'start' || 'session' in last) fail(`sent ${JSON.stringify(last)}`);
    if (await sessionInStorage(page) !== 's-2') fail('the new session id is not stored');
  });

  await step('an expired session says so and starts afresh', async () => {
    socket.expired.add('s-2');
    await page.reload();
    await waitOnline(page);
    await page.locator('.bt-notice').filter({ hasText: 'expired' }).waitFor();
    if (await sessionInStorage(page) !== 's-3') fail('the replacement session id is not stored');
  });

  await step('no console errors, CSP violations or dialogs', () => noProblems(problems));
  await page.context().close();
}

// The words beside the replies (level titles, cause names, error texts)
// are the rules': reworded in rules/ and reloaded (SIGHUP), they change on
// the next page load.
async function checkWordingFromRules(browser, base, server, rulesDir) {
  const problems = [];
  const page = await watchedPage(browser, { width: 1280, height: 860 }, problems);
  await scriptedSocket(page);
  const input = page.getByRole('textbox', { name: 'Your message' });
  const texts = async () => (await fetch(`${base}/api/v1/texts?locale=en`)).json();
  const banner = page.locator('.bt-outcome[data-level="emergency"]').last();

  await step('banner title, call text and cause names are those of /api/v1/texts', async () => {
    const words = await texts();
    await page.goto(`${base}/`);
    await waitOnline(page);
    await input.fill('emergency');
    await input.press('Enter');
    await banner.waitFor();
    const title = await banner.locator('.bt-outcome-title').textContent();
    if (title !== words.levels.emergency.title) fail(`title is ${JSON.stringify(title)}`);
    const action = await banner.locator('.bt-outcome-action').textContent();
    if (action !== words.call.replace('{emergency_number}', '112')) fail(`action is ${JSON.stringify(action)}`);
    const causes = await banner.locator('.bt-outcome-causes-list li').allTextContents();
    if (causes.length !== 1 || causes[0] !== words.causes.cauda_equina) fail(`causes are ${JSON.stringify(causes)}`);
  });

  await step('a cause and a level title reworded in the rules show after a reload', async () => {
    const edit = (file, from, to) => {
      const path = join(rulesDir, 'en', file);
      const text = readFileSync(path, 'utf8');
      if (!text.includes(from)) fail(`${file} does not hold ${JSON.stringify(from)}`);
      writeFileSync(path, text.replace(from, to));
    };
    const before = await texts();
    edit('causes.json', JSON.stringify(before.causes.cauda_equina), '"Squeezed nerves at the base of the spine"');
    edit('texts.json', JSON.stringify(before.levels.emergency.title), '"Get help now"');
    server.process.kill('SIGHUP');
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while ((await texts()).levels.emergency.title !== 'Get help now') {
      if (Date.now() > deadline) fail(`the rules were not reloaded; stderr: ${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.reload();
    await waitOnline(page);
    await banner.waitFor();
    const title = await banner.locator('.bt-outcome-title').textContent();
    if (title !== 'Get help now') fail(`title is ${JSON.stringify(title)}`);
    const causes = await banner.locator('.bt-outcome-causes-list li').allTextContents();
    if (causes[0] !== 'Squeezed nerves at the base of the spine') fail(`causes are ${JSON.stringify(causes)}`);
  });

  await step('no console errors, CSP violations or dialogs', () => noProblems(problems));
  await page.context().close();
}

// A site the server does not allow (--allowed-origin) gets a 403 on /ws;
// the widget says the chat is not available there and stops trying.
async function checkRefusedSite(browser, base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  // The clinic's page, from another origin on this machine (Chromium keeps
  // pages that are not on loopback from loopback addresses).
  const html = `<!doctype html><title>Clinic</title><script src="${base}/widget.js" data-open="true" defer></script>`;
  const host = createServer((request, response) => {
    response.writeHead(request.url === '/' ? 200 : 404, { 'Content-Type': 'text/html' });
    response.end(request.url === '/' ? html : '');
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
  const site = `http://127.0.0.1:${host.address().port}`;
  let attempts = 0;
  page.on('websocket', () => { attempts += 1; });

  await step('a site the server refuses is told the chat is not available there, without retries', async () => {
    const words = await (await fetch(`${base}/api/v1/texts`, { headers: { Origin: site } })).json();
    if (words.origin_allowed !== false) fail(`/api/v1/texts says origin_allowed ${words.origin_allowed}`);
    const own = await (await fetch(`${base}/api/v1/texts`, { headers: { Origin: base } })).json();
    if (own.origin_allowed !== true) fail(`the server's own origin gets origin_allowed ${own.origin_allowed}`);
    await page.goto(`${site}/`);
    const notice = page.locator('.bt-refused');
    await notice.waitFor();
    if (await notice.textContent() !== words.origin_refused) fail(`notice is ${await notice.textContent()}`);
    await page.locator('.bt-status[data-tone="offline"]').filter({ hasText: 'Not available' }).waitFor();
    if (!(await page.getByRole('textbox', { name: 'Your message' }).isDisabled())) fail('the input is enabled');
    // The first retry would come within 0.75 s, and a second one soon after.
    await new Promise((resolve) => setTimeout(resolve, 3 * RETRY_WAIT_MS));
    if (attempts !== 1) fail(`${attempts} WebSocket attempts`);
    await page.screenshot({ path: join(artifacts, 'refused.png') });
  });
  await context.close();
  await new Promise((resolve) => host.close(resolve));
}

async function run(binary, started) {
  mkdirSync(artifacts, { recursive: true });
  const tempDir = mkdtempSync(join(tmpdir(), 'backtalk-browser-'));
  // A copy of the rules, so that a test can reword them and reload.
  const rulesDir = join(tempDir, 'rules');
  cpSync('rules', rulesDir, { recursive: true });
  const server = startServer(binary, join(tempDir, 'backtalk.db'), rulesDir);
  started.server = server;
  started.tempDir = tempDir;
  let browser = null;
  let failure = null;
  try {
    const base = await step('server starts', () => server.address);
    browser = await step('chromium starts', () => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }));
    await checkRealConversation(browser, base);
    await checkScriptedReplies(browser, base);
    await checkTwoTabs(browser, base);
    await checkWordingFromRules(browser, base, server, rulesDir);
    await checkRefusedSite(browser, base);
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
