// Browser test of the review page /admin against a real `backtalk serve`.
//
//   node tests/admin/admin_page.test.mjs path/to/backtalk
//
// Run from the repository root. Uses the playwright-core that tests/browser
// installs (`npm ci` there) and Debian's Chromium. Starts the server on
// 127.0.0.1 port 0 with BACKTALK_ADMIN_TOKEN and a temporary database, holds
// two conversations over REST (one with a message the bot does not
// understand; one whose message is markup, which must show as text, ending
// in an emergency), then drives the page: token, list with causes,
// transcript in the widget's markdown with the rule basis, charts, short-id
// lookup, review marks and their filters, full-text search, the unmatched message's link,
// deletion with its confirmation, CSV download, rules reload, and the whole
// page on a 390 px phone. Stops everything it started; exits non-zero naming the step.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import('../browser/node_modules/playwright-core/index.mjs').catch((error) => {
  console.error(`FAIL: cannot load playwright-core (${error.message}); run \`npm ci\` in tests/browser`);
  process.exit(1);
});

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TOKEN = 'browser-test-admin-token-0123456789';
const MARKUP_TEXT = '<img src=x onerror=alert(1)> my back hurts';
const UNCLEAR_TEXT = 'plorb zindle quax';
const STEP_TIMEOUT_MS = 15000;
const SERVER_START_MS = 20000;

async function step(name, action) {
  try {
    await action();
    console.log(`ok   ${name}`);
  } catch (error) {
    throw new Error(`${name}: ${String(error.message || error).split('\n')[0]}`);
  }
}

function startServer(binary, database) {
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', database],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BACKTALK_ADMIN_TOKEN: TOKEN } });
  let stdout = '';
  let stderr = '';
  server.stderr.on('data', (chunk) => { stderr += chunk; });
  const address = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr: ${stderr}`)), SERVER_START_MS);
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^backtalk listening on (http:\/\/\S+)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}); stderr: ${stderr}`));
    });
  });
  return { process: server, address };
}

async function stopServer(server) {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  const timer = setTimeout(() => server.process.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function chat(base, body) {
  const response = await fetch(`${base}/api/v1/chat`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST /api/v1/chat: ${response.status} ${await response.text()}`);
  return response.json();
}

async function run(binary) {
  const dir = mkdtempSync(join(tmpdir(), 'backtalk-admin-page-'));
  const server = startServer(binary, join(dir, 'admin.db'));
  let browser = null;
  try {
    const base = await server.address;
    // Started first, so the emergency below is the newest (first) row.
    const puzzled = await chat(base, { text: 'my lower back hurts' });
    await chat(base, { session: puzzled.session, text: UNCLEAR_TEXT });
    const first = await chat(base, { text: MARKUP_TEXT });
    await chat(base, { session: first.session, text: 'since yesterday' });
    const advice = await chat(base, { session: first.session,
      text: 'since last night I am numb around my bottom and I cannot pee properly' });
    const outcome = advice.replies[advice.replies.length - 1].triage;
    if (!outcome || outcome.level !== 'emergency') throw new Error(`the advice is ${JSON.stringify(outcome)}`);
    const texts = await (await fetch(`${base}/api/v1/texts`)).json();
    const adminGet = async (path) => (await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    const stored = await adminGet(`/api/v1/conversations/${first.session}`);
    const ruleIds = stored.messages.flatMap((message) => message.basis.map((rule) => rule.rule));
    if (!ruleIds.includes('EM-1')) throw new Error(`the advice's basis is ${JSON.stringify(ruleIds)}`);
    const unmatchedGroups = (await adminGet('/api/v1/unmatched')).unmatched;
    if (unmatchedGroups.length !== 1 || unmatchedGroups[0].seen[0].conversation !== puzzled.session) {
      throw new Error(`unmatched ${JSON.stringify(unmatchedGroups)}`);
    }

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems = [];
    page.on('dialog', async (dialog) => {
      problems.push(`a ${dialog.type()} dialog opened`);
      await dialog.dismiss();
    });
    let refusalsLogged = 0;
    // The 400 answers to the bad input a step types on purpose.
    let badRequestsExpected = 0;
    page.on('console', (message) => {
      if (message.type() === 'error' && message.text().includes('status of 400') && badRequestsExpected > 0) {
        badRequestsExpected -= 1;
        return;
      }
      if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) {
        problems.push(`console error: ${message.text()}`);
        if (message.text().includes('status of 401')) refusalsLogged += 1;
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

    await page.goto(`${base}/admin`);
    await step('a wrong token is refused', async () => {
      await page.fill('#token', 'not-the-token-at-all-0000');
      await page.click('#token-form button[type=submit]');
      await page.locator('#status.error', { hasText: 'refused' }).waitFor();
      // The page asks for the list, the stats and the unmatched messages at
      // once and says "refused" at the first 401: wait until the browser
      // has logged all three before the console check starts afresh.
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      while (refusalsLogged < 3) {
        if (Date.now() > deadline) throw new Error(`${refusalsLogged} refusals logged`);
        await page.waitForTimeout(20);
      }
      await page.click('#forget-token');
      const kept = await page.evaluate(() => sessionStorage.getItem('backtalk-admin-token'));
      if (kept !== null) throw new Error('the refused token was kept');
    });
    // The 401 answers show as console errors of the failed fetches.
    problems.length = 0;
    await step('the token lists the conversations', async () => {
      await page.fill('#token', TOKEN);
      await page.click('#token-form button[type=submit]');
      await page.locator('#conversations tbody tr').first().waitFor();
      const rows = await page.locator('#conversations tbody tr').count();
      if (rows !== 2) throw new Error(`${rows} rows`);
      const stored = await page.evaluate(() => Object.keys(sessionStorage));
      if (!stored.includes('backtalk-admin-token')) throw new Error('token not in sessionStorage');
    });
    await step('the level has the names of its causes beside it', async () => {
      const cell = page.locator('#conversations tbody tr td[data-label="Outcome"]').first();
      if (await cell.locator('.level').textContent() !== 'emergency') throw new Error(`level "${await cell.textContent()}"`);
      const causes = await cell.locator('ul.causes li').allTextContents();
      const wanted = outcome.reasons.map((id) => texts.causes[id]);
      if (JSON.stringify(causes) !== JSON.stringify(wanted)) throw new Error(`causes ${JSON.stringify(causes)}`);
    });
    await step('outcomes per day are drawn as SVG bars', async () => {
      const bars = await page.locator('#chart svg rect[class^="bar-"]').count();
      if (bars < 6) throw new Error(`${bars} rects (one bar and five legend keys expected)`);
      // One day of data still shows the whole legend.
      const width = Number(await page.locator('#chart svg').getAttribute('width'));
      const legendEnd = await page.locator('#chart svg text').last().evaluate((node) => node.getBBox().x + node.getBBox().width);
      if (legendEnd > width) throw new Error(`legend ends at ${legendEnd}, the chart is ${width} wide`);
    });
    await step('the not-understood share per day is drawn as SVG bars', async () => {
      const bars = await page.locator('#rate-chart svg rect.bar-rate').count();
      if (bars !== 1) throw new Error(`${bars} bars`);
      const label = await page.locator('#rate-chart svg').getAttribute('aria-label');
      if (!/\d+%/.test(label)) throw new Error(`aria-label "${label}"`);
    });
    await step('the transcript opens from the keyboard and comes into view', async () => {
      await page.locator('#conversations tbody tr button').first().focus();
      await page.keyboard.press('Enter');
      await page.locator('#transcript li').first().waitFor();
      const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
      if (focused !== 'transcript-heading') throw new Error(`focus is on ${focused}`);
    });
    await step('the transcript shows intents and states, and markup as text', async () => {
      await page.locator('#conversations tbody tr').first().click();
      await page.locator('#transcript li').nth(3).waitFor();
      const first = await page.locator('#transcript li').first().textContent();
      if (!first.includes(MARKUP_TEXT)) throw new Error(`first message is "${first}"`);
      if (!first.includes('intents:') || !first.includes('state')) throw new Error(`no meta in "${first}"`);
      if (await page.locator('#transcript img').count() !== 0) throw new Error('markup became an element');
    });
    await step("the bot's replies read as in the widget: bold, lists and paragraphs, no raw **", async () => {
      const replies = page.locator('#transcript li.out .said');
      const all = (await replies.allTextContents()).join('\n');
      if (all.includes('**')) throw new Error('raw ** in the transcript');
      const advice = replies.filter({ hasText: 'ambulance' }).last();
      if (await advice.locator('strong').count() < 1) throw new Error('no bold in the advice');
      if (await advice.locator('p').count() < 2) throw new Error('paragraphs run together');
      if (await advice.locator('ul > li').count() < 1) throw new Error('the causes are not a list');
    });
    await step('the advice shows the rules behind it, the facts each used and their turns', async () => {
      const items = await page.locator('#transcript li.out ul.basis li').allTextContents();
      const shown = items.map((text) => text.split(' ')[0]);
      if (JSON.stringify(shown) !== JSON.stringify(ruleIds)) throw new Error(`basis ${JSON.stringify(items)}`);
      const em1 = items.find((text) => text.startsWith('EM-1'));
      if (!/gave emergency because .+ = .+ \(turn \d+\)/.test(em1)) throw new Error(`EM-1 reads "${em1}"`);
    });
    await step('a short id opens its conversation', async () => {
      await page.fill('#open-form input[name=conversation]', puzzled.session.slice(-8));
      await page.click('#open-form button[type=submit]');
      await page.locator('#transcript-id', { hasText: puzzled.session }).waitFor();
      badRequestsExpected += 1;
      await page.fill('#open-form input[name=conversation]', 'abc');
      await page.click('#open-form button[type=submit]');
      await page.locator('#status.error', { hasText: 'at least 8 characters' }).waitFor();
    });
    await step('the unmatched message links to its conversation, with the question that was open', async () => {
      const cell = page.locator('#unmatched tbody tr td.latest').first();
      const question = await cell.locator('.question').textContent();
      if (!question.startsWith('after: ') || question.length < 10) throw new Error(`question "${question}"`);
      await page.click('#transcript-heading');
      await cell.locator('button').click();
      await page.locator('#transcript-id', { hasText: puzzled.session }).waitFor();
      const typed = await page.locator('#transcript li.in').allTextContents();
      if (!typed.some((text) => text.includes(UNCLEAR_TEXT))) throw new Error('the message is not in the transcript');
    });
    await step('a conversation is marked reviewed with a note and tags, and the filters find it', async () => {
      await page.locator('#conversations tbody tr').first().locator('button').click();
      await page.locator('#transcript-id', { hasText: first.session }).waitFor();
      await page.fill('#review-form textarea[name=note]', 'emergency caught at once');
      await page.fill('#review-form input[name=tags]', 'Follow-up, good');
      await page.click('#review-form button[type=submit]');
      await page.locator('#review-current', { hasText: 'follow-up, good' }).waitFor();
      const note = await page.locator('#review-current').textContent();
      if (!note.includes('Note: emergency caught at once') || !note.includes('admin-api')) throw new Error(`mark "${note}"`);
      const cell = page.locator('#conversations tbody tr').first().locator('td[data-label="Reviewed"]');
      await cell.filter({ hasText: 'follow-up' }).waitFor();
      const rowsFor = async (name, value) => {
        await page.locator(`#filters [name=${name}]`).evaluate((node, v) => { node.value = v; }, value);
        // The page says "loading" until all its answers are in.
        await page.click('#filters button[type=submit]');
        await page.locator('#status', { hasText: 'conversations shown' }).waitFor();
        const ids = await page.locator('#conversations tbody tr td.id button').evaluateAll((nodes) => nodes.map((n) => n.title));
        await page.locator(`#filters [name=${name}]`).evaluate((node) => { node.value = ''; });
        return ids;
      };
      let ids = await rowsFor('reviewed', 'yes');
      if (JSON.stringify(ids) !== JSON.stringify([first.session])) throw new Error(`reviewed: ${ids}`);
      ids = await rowsFor('reviewed', 'no');
      if (JSON.stringify(ids) !== JSON.stringify([puzzled.session])) throw new Error(`not yet: ${ids}`);
      ids = await rowsFor('tag', 'good');
      if (JSON.stringify(ids) !== JSON.stringify([first.session])) throw new Error(`tag good: ${ids}`);
      ids = await rowsFor('q', 'Zindle');
      if (JSON.stringify(ids) !== JSON.stringify([puzzled.session])) throw new Error(`words: ${ids}`);
      badRequestsExpected += 3;  // the list, the stats and the unmatched messages
      await page.fill('#filters [name=tag]', 'Not a tag');
      await page.click('#filters button[type=submit]');
      await page.locator('#status.error', { hasText: "bad tag 'Not a tag'" }).waitFor();
      await page.fill('#filters [name=tag]', '');
      await page.click('#filters button[type=submit]');
      await page.locator('#status', { hasText: '2 conversations shown' }).waitFor();
    });
    await step('the page renders markdown exactly as the widget does', async () => {
      const sample = '**Welcome.** Gentle *movement* helps.\n- first\n- second\n\n1. one\n2. two\n' +
        'Read [the guide](https://example.org/guide), not [this](javascript:alert(1)) or <b>this</b>.';
      const strip = (html) => html.replace(/ class="[^"]*"/g, '');
      const admin = await page.evaluate((text) => {
        const box = document.createElement('div');
        box.append(window.backtalkMarkdown.render(text));
        return box.innerHTML;
      }, sample);
      const widgetPage = await context.newPage();
      await widgetPage.routeWebSocket(/\/ws$/, (route) => route.onMessage(() => {
        route.send(JSON.stringify({ type: 'session', session: 's-1', resumed: false, end_of_turn: false }));
        route.send(JSON.stringify({ type: 'reply', text: sample, quick_replies: [], asking: null, state: 'greeting',
          triage: null, end_of_turn: true }));
      }));
      await widgetPage.goto(`${base}/`);
      const bubble = widgetPage.locator('.bt-bubble-bot').first();
      await bubble.waitFor();
      const widget = await bubble.evaluate((node) => node.innerHTML);
      await widgetPage.close();
      if (strip(admin) !== strip(widget)) throw new Error(`admin ${strip(admin)} but widget ${strip(widget)}`);
    });
    await step('on a 390 px phone nothing scrolls sideways', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.click('#filters button[type=submit]');
      await page.locator('#conversations tbody tr').first().waitFor();
      await page.locator('#conversations tbody tr button').first().click();
      await page.locator('#transcript li').nth(3).waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 390) throw new Error(`the page is ${width} px wide`);
      const table = await page.locator('#conversations').evaluate((node) => node.getBoundingClientRect().right);
      if (table > 390) throw new Error(`the table ends at ${table} px`);
      // Beside the widget's screenshots (tests/browser/artifacts/, ignored by git).
      mkdirSync(join('tests', 'browser', 'artifacts'), { recursive: true });
      await page.screenshot({ path: join('tests', 'browser', 'artifacts', 'admin-phone.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });
    });
    await step('deleting asks on the page first, then removes the conversation', async () => {
      await page.locator('#conversations tbody tr', { hasText: puzzled.session.slice(-8) }).locator('button').click();
      await page.locator('#transcript-id', { hasText: puzzled.session }).waitFor();
      await page.click('#delete-conversation');
      await page.locator('#delete-confirm').waitFor();
      await page.click('#delete-no');
      if (await page.locator('#delete-confirm').isVisible()) throw new Error('the confirmation stays open');
      if (await page.locator('#conversations tbody tr').count() !== 2) throw new Error('deleted without asking');
      await page.click('#delete-conversation');
      await page.click('#delete-yes');
      await page.locator('#status', { hasText: `deleted conversation ${puzzled.session}` }).waitFor();
      const rows = await page.locator('#conversations tbody tr').count();
      if (rows !== 1) throw new Error(`${rows} rows after deleting`);
      const gone = await fetch(`${base}/api/v1/conversations/${puzzled.session}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      if (gone.status !== 404) throw new Error(`the API still answers ${gone.status}`);
    });
    await step('the CSV export downloads', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
      if (download.suggestedFilename() !== 'backtalk-export.csv') {
        throw new Error(`file name ${download.suggestedFilename()}`);
      }
    });
    await step('the rules reload from the page', async () => {
      await page.click('#reload-rules');
      await page.locator('#status', { hasText: 'rules reloaded' }).waitFor();
    });
    await step('no console errors, CSP violations or dialogs', () => {
      if (problems.length) throw new Error(problems.join('; '));
    });
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

const timer = setTimeout(() => {
  console.error('FAIL: the test took longer than 90 s');
  process.exit(1);
}, 90000);
try {
  await run(process.argv[2] || 'build/adapters/backtalk');
  console.log('PASS');
  clearTimeout(timer);
} catch (error) {
  console.error(`FAIL: ${error.message}`);
  process.exit(1);
}
