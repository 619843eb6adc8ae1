// backtalk web chat widget.
//
// A site embeds it with one tag:
//   <script src="https://backtalk.example/widget.js" defer></script>
// Optional attributes on that tag: data-open="true" (start with the panel
// open), data-locale="en" (sent with "start"), data-emergency-number="112"
// (used in the emergency banner when the bot's reply names no number).
//
// The server serves this file after markdown.js (the bot's markdown subset,
// shared with the review page) as one /widget.js.
// The widget finds the server from its own src, loads /widget.css from there,
// and talks to /ws with the protocol in PROTOCOL.md (version 1). It lives in a
// shadow root so the host page's styles cannot break it. Text from the person
// and from the bot is only ever inserted as text nodes: the bot's small
// markdown subset is built with createElement, never innerHTML.
(function () {
  'use strict';

  const ownScript = document.currentScript || findOwnScript();
  if (!ownScript || window.backtalkWidgetLoaded) return;
  window.backtalkWidgetLoaded = true;

  const MAX_CHARS = 2000;
  const COUNTER_WARN_AT = 1800;
  const MAX_STORED_ENTRIES = 300;
  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 30000;

  const serverOrigin = new URL(ownScript.src, document.baseURI).origin;
  const socketUrl = serverOrigin.replace(/^http/, 'ws') + '/ws';
  const storageKey = 'backtalk:v1:' + serverOrigin;
  const openKey = storageKey + ':open';
  // Which tab holds the conversation. Tabs of one site share the saved
  // session; two talking at once would each answer questions only the other
  // one shows, so the tab that connects last takes it over and the others
  // stand by until asked to continue.
  const activeKey = storageKey + ':active';
  const tabId = Date.now().toString(36) + Math.random().toString(36).slice(2);
  const config = {
    openAtStart: ownScript.dataset.open === 'true',
    locale: ownScript.dataset.locale || '',
    emergencyNumber: ownScript.dataset.emergencyNumber || '',
  };

  const LEVEL_NAMES = new Set(['emergency', 'urgent', 'gp_soon', 'self_care']);
  // Level titles and actions, cause names and error texts come from the
  // server's rules (GET /api/v1/texts; see loadTexts), so rewording one in
  // rules/ changes it here on the next load. Until they arrive, a banner
  // shows the level's colour and the number to call, and errors show the
  // server's own message, which the same rules word.
  let texts = null;
  const textsUrl = serverOrigin + '/api/v1/texts' +
    (config.locale ? '?locale=' + encodeURIComponent(config.locale) : '');

  // Codes that mean the person's last message was not taken in.
  const NOT_TAKEN = new Set(['bad_json', 'unknown_type', 'empty', 'too_long', 'bad_choice',
    'rate_limited', 'unavailable', 'internal']);

  const store = loadStore();  // { session, entries }, persisted in localStorage
  const connection = {
    socket: null,
    online: false,
    retries: 0,
    retryTimer: 0,
    retryAt: 0,
    statusTimer: 0,
    wanted: false,        // the panel has been opened, so keep a connection
    resumeAsked: false,   // the last "start" carried a session id
    resumeTail: null,     // bot texts already on screen that a resume re-sends
    waiting: false,       // a client object awaits its end_of_turn
    awaitingSession: false,  // "start over" sent: frames before its session object are the old turn's
    resumeAdded: false,   // this resume showed a new line (a welcome back) before repeating what is on screen
    elsewhere: false,     // another tab has taken the conversation over
    refused: false,       // the server does not let this site open the chat
    startRefused: false,  // the last start got an error instead of a session
  };
  let pendingUserEntry = null;  // the person's last message, until its turn ends
  let answerStart = null;       // the first node of the bot's latest answer
  const entryNodes = new WeakMap();
  const ui = {};

  function findOwnScript() {
    return Array.from(document.scripts).find((s) => /\/widget\.js([?#]|$)/.test(s.src)) || null;
  }

  // ---------------------------------------------------------------- storage

  function readStorage(area, key) {
    try {
      return window[area].getItem(key);
    } catch (e) {
      return null;  // storage blocked (privacy settings, sandboxed frame)
    }
  }

  function writeStorage(area, key, value) {
    try {
      if (value === null) window[area].removeItem(key);
      else window[area].setItem(key, value);
    } catch (e) {
      // Storage blocked or full: the conversation still works, it just will
      // not survive a reload.
    }
  }

  function loadStore() {
    const empty = { session: '', entries: [] };
    const text = readStorage('localStorage', storageKey);
    if (!text) return empty;
    try {
      const saved = JSON.parse(text);
      return {
        session: typeof saved.session === 'string' ? saved.session : '',
        entries: Array.isArray(saved.entries) ? saved.entries.filter(isEntry) : [],
      };
    } catch (e) {
      return empty;
    }
  }

  function isEntry(entry) {
    return entry && typeof entry === 'object' && typeof entry.text === 'string' &&
      ['user', 'bot', 'notice'].includes(entry.kind);
  }

  function saveStore() {
    if (store.entries.length > MAX_STORED_ENTRIES) {
      store.entries.splice(0, store.entries.length - MAX_STORED_ENTRIES);
    }
    writeStorage('localStorage', storageKey, JSON.stringify(store));
  }

  // ------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A button that never submits the form it sits in.
  function plainButton(className, text) {
    const button = el('button', className, text);
    button.type = 'button';
    return button;
  }

  function svgIcon(pathData) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.classList.add('bt-icon');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', pathData);
    svg.append(path);
    return svg;
  }

  // ---------------------------------------------------------------- markdown

  // The renderer markdown.js defines; the server serves it in front of this
  // file as /widget.js, so the widget and the review page render alike.
  function renderMarkdown(text) {
    return window.backtalkMarkdown.render(text, { linkClass: 'bt-link' });
  }

  // ---------------------------------------------------------- wire sanitising

  function textField(value) {
    return typeof value === 'string' ? value : '';
  }

  function quickRepliesOf(frame) {
    if (!Array.isArray(frame.quick_replies)) return [];
    return frame.quick_replies
      .filter((q) => q && typeof q.id === 'string' && q.id !== '')
      .map((q) => ({ id: q.id, title: textField(q.title) || q.id }));
  }

  function triageOf(frame) {
    const triage = frame.triage;
    if (!triage || typeof triage !== 'object' || typeof triage.level !== 'string') return null;
    const reasons = Array.isArray(triage.reasons) ? triage.reasons.filter((r) => typeof r === 'string') : [];
    return { level: triage.level, reasons: reasons };
  }

  function stepsOf(frame) {
    if (!Array.isArray(frame.steps) || frame.steps.length === 0) return null;
    return frame.steps
      .filter((s) => s && typeof s === 'object')
      .map((s) => ({
        title: textField(s.title),
        text: textField(s.text),
        hold_seconds: clampInt(s.hold_seconds, 0, 3600, 0),
        repeat: clampInt(s.repeat, 1, 50, 1),
      }));
  }

  function clampInt(value, low, high, fallback) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
    return Math.min(high, Math.max(low, Math.round(value)));
  }

  // The emergency number: a field the server may add, then the site's
  // data-emergency-number, then the number the bot's text tells to call.
  function emergencyNumberFor(entry) {
    if (entry.emergency_number) return entry.emergency_number;
    if (config.emergencyNumber) return config.emergencyNumber;
    const afterVerb = /\b(?:call|dial|phone|ring)\b\D{0,40}?(\+?\d[\d -]{0,13}\d)/i.exec(entry.text);
    if (afterVerb) return afterVerb[1].trim();
    const known = /(?:^|\D)(112|911|999|000|110|119|120|100|101|102|108)(?!\d)/.exec(entry.text);
    return known ? known[1] : '';
  }

  // --------------------------------------------------------------- rendering

  function renderEntry(entry) {
    let node;
    if (entry.kind === 'user') {
      node = el('div', 'bt-msg bt-msg-user');
      node.append(el('span', 'bt-sr', 'You said: '));
      const said = el('div', 'bt-bubble bt-bubble-user', entry.text);
      said.dir = 'auto';  // right-to-left text keeps its punctuation where it belongs
      node.append(said);
      if (entry.failed) node.append(el('div', 'bt-msg-failed', 'Not sent'));
    } else if (entry.kind === 'bot') {
      node = el('div', 'bt-msg bt-msg-bot');
      if (entry.asking) node.dataset.asking = entry.asking;  // the topic the bot waits on
      node.append(el('span', 'bt-sr', 'Advisor: '));
      if (entry.triage) node.append(renderOutcome(entry));
      const bubble = el('div', 'bt-bubble bt-bubble-bot');
      bubble.append(renderMarkdown(entry.text));
      node.append(bubble);
      if (entry.steps) node.append(renderSteps(entry.steps, entry.guide === true));
    } else {
      node = el('div', 'bt-notice' + (entry.tone === 'error' ? ' bt-notice-error' : ''), entry.text);
    }
    entryNodes.set(entry, node);
    return node;
  }

  function renderOutcome(entry) {
    const level = entry.triage.level;
    const wording = texts && texts.levels && texts.levels[level];
    const banner = el('div', 'bt-outcome bt-outcome-' + (LEVEL_NAMES.has(level) ? level : 'other'));
    banner.dataset.level = level;
    if (level === 'emergency') banner.setAttribute('role', 'alert');
    if (wording && textField(wording.title)) banner.append(el('p', 'bt-outcome-title', wording.title));

    const action = el('p', 'bt-outcome-action');
    const number = level === 'emergency' ? emergencyNumberFor(entry) : '';
    const callText = texts ? textField(texts.call) : '';
    if (number) {
      const call = el('a', 'bt-outcome-call', number);
      call.href = 'tel:' + number.replace(/[^\d+]/g, '');
      const at = callText.indexOf('{emergency_number}');
      if (at >= 0) {
        action.append(callText.slice(0, at), call, callText.slice(at + '{emergency_number}'.length));
      } else {
        action.append(call);
      }
    } else if (wording) {
      action.textContent = textField(wording.action);
    }
    if (action.childNodes.length) banner.append(action);

    const names = texts && texts.causes ? entry.triage.reasons.map((id) => textField(texts.causes[id])).filter(Boolean) : [];
    if (names.length) {
      const labels = texts.causes_label || {};
      banner.append(el('p', 'bt-outcome-causes', textField(names.length > 1 ? labels.many : labels.one) + ':'));
      const list = el('ul', 'bt-outcome-causes-list');
      for (const name of names) list.append(el('li', '', name));
      banner.append(list);
    }
    return banner;
  }

  function errorText(code) {
    return texts && texts.errors ? textField(texts.errors[code]) : '';
  }

  // Fetches the words of the rules; shows them in the banners already on
  // screen. Resolves to the answer, or null when the server could not be
  // asked. The answer also says whether this page may open the chat.
  function loadTexts() {
    return fetch(textsUrl, { credentials: 'omit', cache: 'no-cache' })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => {
        if (!body || typeof body !== 'object') return null;
        texts = body;
        if (ui.log) store.entries.filter((entry) => entry.triage).forEach(rerenderEntry);
        return body;
      })
      .catch(() => null);
  }

  // In the stretching guide the bubble already says "Step 5 of 11: Calves"
  // and how to do it: the card only carries the timer, unnumbered, so
  // nothing is read twice and no "1." sits beside step 5.
  function renderSteps(steps, guide) {
    const list = el('ol', 'bt-steps' + (guide ? ' bt-steps-guide' : ''));
    list.setAttribute('aria-label', guide && steps.length === 1 ? 'Timer: ' + steps[0].title : 'Stretching plan');
    for (const step of steps) {
      const item = el('li', 'bt-step');
      if (guide) {
        if (step.hold_seconds > 0) item.append(createHoldTimer(step));
        list.append(item);
        continue;
      }
      if (step.title) item.append(el('p', 'bt-step-title', step.title));
      if (step.text) {
        const body = el('div', 'bt-step-text');
        body.append(renderMarkdown(step.text));
        item.append(body);
      }
      if (step.hold_seconds > 0) item.append(createHoldTimer(step));
      else if (step.repeat > 1) item.append(el('p', 'bt-step-meta', 'Repeat ' + step.repeat + ' times.'));
      list.append(item);
    }
    return list;
  }

  // "30 seconds", "10 minutes", "2 minutes 30 seconds".
  function formatDuration(seconds) {
    const plural = (n, unit) => n + ' ' + unit + (n === 1 ? '' : 's');
    if (seconds < 120) return plural(seconds, 'second');
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return plural(minutes, 'minute') + (rest ? ' ' + plural(rest, 'second') : '');
  }

  function formatClock(ms) {
    const seconds = Math.ceil(Math.max(0, ms) / 1000);
    return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
  }

  // A start/pause countdown for each hold of a step, round after round.
  function createHoldTimer(step) {
    const holdMs = step.hold_seconds * 1000;
    const rounds = step.repeat;
    const name = step.title || 'this stretch';
    let round = 1;
    let remaining = holdMs;
    let deadline = 0;
    let ticker = 0;

    const box = el('div', 'bt-timer');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Timer for ' + name);
    const hold = formatDuration(step.hold_seconds);
    // A minute or more done once (the cool-down walk) is kept up, not held.
    const activity = rounds === 1 && step.hold_seconds >= 60;
    const meta = el('p', 'bt-step-meta', activity ? 'Keep it up for ' + hold + '.'
      : 'Hold ' + hold + (rounds > 1 ? ', ' + rounds + ' times' : '') + '.');
    const clock = el('span', 'bt-timer-clock', formatClock(remaining));
    clock.setAttribute('role', 'timer');
    const roundLabel = el('span', 'bt-timer-round');
    const toggle = plainButton('bt-button bt-timer-toggle');
    const reset = plainButton('bt-button bt-button-quiet bt-timer-reset', 'Reset');
    box.append(meta, clock, roundLabel, toggle, reset);
    show('Start');

    function running() {
      return ticker !== 0;
    }

    function show(label) {
      clock.textContent = formatClock(remaining);
      roundLabel.textContent = rounds > 1 ? 'Round ' + round + ' of ' + rounds : '';
      toggle.textContent = label;
      toggle.setAttribute('aria-label', label + ': ' + (activity ? 'keep it up for ' : 'hold ') + hold + ', ' + name);
      box.classList.toggle('bt-timer-running', running());
    }

    function stopTicking() {
      window.clearInterval(ticker);
      ticker = 0;
    }

    function tick() {
      if (!box.isConnected) {  // the conversation was cleared
        stopTicking();
        return;
      }
      remaining = deadline - performance.now();
      if (remaining > 0) {
        clock.textContent = formatClock(remaining);
        return;
      }
      stopTicking();
      if (round < rounds) {
        announce(name + ': hold ' + round + ' of ' + rounds + ' done. Relax, then start the next one.');
        round += 1;
        remaining = holdMs;
        show('Start next hold');
      } else {
        announce(name + ': all holds done.');
        remaining = 0;
        show('Done');
        toggle.disabled = true;
      }
    }

    toggle.addEventListener('click', () => {
      if (running()) {
        remaining = deadline - performance.now();
        stopTicking();
        show('Resume');
        return;
      }
      deadline = performance.now() + remaining;
      ticker = window.setInterval(tick, 200);
      show('Pause');
    });

    reset.addEventListener('click', () => {
      stopTicking();
      round = 1;
      remaining = holdMs;
      toggle.disabled = false;
      show('Start');
    });
    return box;
  }

  // The quick replies of the bot's latest reply, unless the person has
  // answered it since. Notices and messages that were not taken in do not
  // count as answers, so an error leaves the choices on screen.
  function currentChoices() {
    for (let i = store.entries.length - 1; i >= 0; i -= 1) {
      const entry = store.entries[i];
      if (entry.kind === 'bot') return Array.isArray(entry.quick_replies) ? entry.quick_replies : [];
      if (entry.kind === 'user' && !entry.failed) return [];
    }
    return [];
  }

  function renderQuickReplies() {
    ui.quickReplies.replaceChildren();
    const choices = currentChoices();
    for (const choice of choices) {
      const button = plainButton('bt-button bt-chip', choice.title);
      button.dataset.choice = choice.id;
      button.disabled = !connection.online;
      button.addEventListener('click', () => sendChoice(choice));
      ui.quickReplies.append(button);
    }
    ui.quickReplies.hidden = choices.length === 0;
  }

  function renderTranscript() {
    ui.log.replaceChildren(...store.entries.map(renderEntry));
    const lastUser = store.entries.map((e) => e.kind).lastIndexOf('user');
    const firstAnswer = store.entries.slice(lastUser + 1).find((e) => e.kind === 'bot');
    answerStart = firstAnswer ? entryNodes.get(firstAnswer) : null;
    renderQuickReplies();
    scrollToLatest();
  }

  function appendEntry(entry) {
    store.entries.push(entry);
    saveStore();
    const node = renderEntry(entry);
    ui.log.append(node);
    if (entry.kind === 'user') answerStart = null;
    else if (entry.kind === 'bot' && !answerStart) answerStart = node;
    renderQuickReplies();
    scrollToLatest();
  }

  function rerenderEntry(entry) {
    const old = entryNodes.get(entry);
    if (old && old.isConnected) old.replaceWith(renderEntry(entry));
  }

  // Shows the newest part of the conversation; when the bot's answer is
  // taller than the panel, its beginning (where an outcome banner sits)
  // rather than its end.
  function scrollToLatest() {
    const end = ui.scroller.scrollHeight - ui.scroller.clientHeight;
    const start = answerStart && answerStart.isConnected ? answerStart.offsetTop - 8 : end;
    ui.scroller.scrollTop = Math.min(end, start);
  }

  function announce(text) {
    ui.announcer.textContent = text;
  }

  function setTyping(on) {
    connection.waiting = on;
    ui.typing.hidden = !on;
    if (on) scrollToLatest();
  }

  // -------------------------------------------------------------- connection

  // `detail` (a countdown) is shown but not announced: the status is a live
  // region, and a screen reader should hear "offline" once, not every second.
  function setStatus(text, tone, detail) {
    if (ui.status.dataset.text !== text) {
      ui.status.dataset.text = text;
      ui.status.replaceChildren(text, el('span', 'bt-status-detail'));
    }
    const shown = ui.status.querySelector('.bt-status-detail');
    shown.setAttribute('aria-hidden', 'true');
    shown.textContent = detail || '';
    ui.status.dataset.tone = tone;
  }

  function setOnline(online) {
    connection.online = online;
    ui.send.disabled = !online;
    for (const button of ui.quickReplies.querySelectorAll('button')) button.disabled = !online;
    if (online) setStatus('Online', 'online');
  }

  function connect() {
    connection.wanted = true;
    if (connection.socket || connection.elsewhere || connection.refused) return;
    if (texts && texts.origin_allowed === false) {
      showRefused();
      return;
    }
    adoptSavedConversation();
    writeStorage('localStorage', activeKey, tabId);
    window.clearTimeout(connection.retryTimer);
    window.clearInterval(connection.statusTimer);
    setStatus('Connecting\u2026', 'busy');
    let socket;
    try {
      socket = new WebSocket(socketUrl);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    connection.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      sendStart(store.session);
    });
    socket.addEventListener('message', (event) => {
      if (socket === connection.socket) onFrame(event.data);
    });
    socket.addEventListener('close', () => {
      if (socket !== connection.socket) return;
      if (opened) {
        onDisconnected();
        return;
      }
      // Refused before it opened: the browser does not say why, so ask the
      // server whether this site may open the chat at all.
      connection.socket = null;
      setOnline(false);
      loadTexts().then((answer) => {
        if (answer && answer.origin_allowed === false) showRefused();
        else if (!connection.socket && !connection.elsewhere) onDisconnected();
      });
    });
  }

  // The server does not let this site open the chat (--allowed-origin):
  // trying again cannot help, so say so and stop.
  function showRefused() {
    connection.refused = true;
    window.clearTimeout(connection.retryTimer);
    window.clearInterval(connection.statusTimer);
    setTyping(false);
    setOnline(false);
    setStatus('Not available', 'offline');
    ui.refused.textContent = textField(texts && texts.origin_refused);
    ui.refused.hidden = !ui.refused.textContent;
    ui.restart.disabled = true;
    ui.input.disabled = true;
  }

  function onDisconnected() {
    connection.socket = null;
    connection.resumeTail = null;
    setOnline(false);
    if (connection.waiting) {
      setTyping(false);
      if (pendingUserEntry) {
        appendEntry({ kind: 'notice', text: 'The connection dropped before the advisor answered. ' +
          'Once it is back, send your last message again if it gets no answer.' });
        pendingUserEntry = null;
      }
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    connection.socket = null;
    window.clearInterval(connection.statusTimer);
    const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * Math.pow(2, connection.retries));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));  // jitter spreads a crowd out
    connection.retries += 1;
    connection.retryAt = Date.now() + delay;
    connection.retryTimer = window.setTimeout(connect, delay);
    showRetryCountdown();
    connection.statusTimer = window.setInterval(showRetryCountdown, 1000);
  }

  function showRetryCountdown() {
    const seconds = Math.max(1, Math.ceil((connection.retryAt - Date.now()) / 1000));
    setStatus('Offline, reconnecting', 'offline', ' in ' + seconds + ' s\u2026');
  }

  // Retry at once when the network or the tab comes back.
  function reconnectNow() {
    if (connection.wanted && !connection.socket && !connection.elsewhere && !connection.refused) {
      connection.retries = 0;
      connect();
    }
  }

  // What another tab saved since this one last did (it went on with the
  // conversation, or started over); nothing when storage is blocked.
  function adoptSavedConversation() {
    const text = readStorage('localStorage', storageKey);
    if (!text || text === JSON.stringify(store)) return;
    const saved = loadStore();
    store.session = saved.session;
    store.entries = saved.entries;
    pendingUserEntry = null;
    renderTranscript();
  }

  // Another tab connected to the same conversation: this one lets go of it.
  function standBy() {
    connection.elsewhere = true;
    window.clearTimeout(connection.retryTimer);
    window.clearInterval(connection.statusTimer);
    const socket = connection.socket;
    connection.socket = null;  // its close event is no longer ours to handle
    if (socket) socket.close(1000, 'continued in another tab');
    connection.resumeTail = null;
    pendingUserEntry = null;
    setTyping(false);
    setOnline(false);
    setStatus('Continued in another tab', 'offline');
    hideConfirm();
    ui.restart.disabled = true;
    ui.elsewhere.hidden = false;
  }

  // Takes the conversation back, as the other tab left it.
  function continueHere() {
    connection.elsewhere = false;
    ui.elsewhere.hidden = true;
    ui.restart.disabled = false;
    connection.retries = 0;
    connect();
    ui.input.focus();
  }

  function send(object) {
    if (!connection.online || !connection.socket) return false;
    if (connection.waiting) {
      // One turn at a time: a second answer sent now would land on a
      // question the person has not seen yet. What they typed stays put.
      announce('Please wait for the advisor to answer first.');
      return false;
    }
    connection.socket.send(JSON.stringify(object));
    setTyping(true);
    return true;
  }

  function sendStart(session) {
    const object = { type: 'start' };
    if (session) object.session = session;
    if (config.locale) object.locale = config.locale;
    connection.resumeAsked = Boolean(session);
    connection.socket.send(JSON.stringify(object));
    setTyping(true);
  }

  function onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (e) {
      return;  // not ours to show; the server only sends JSON
    }
    if (!frame || typeof frame !== 'object') return;
    // After "start over", what is left of the old conversation's turn is not
    // shown in the new one.
    if (connection.awaitingSession && frame.type !== 'session') return;
    if (frame.type === 'session') {
      connection.awaitingSession = false;
      onSession(frame);
    }
    else if (frame.type === 'reply') onReply(frame);
    else if (frame.type === 'error') onError(frame);
    if (frame.end_of_turn === true) {
      setTyping(false);
      connection.resumeTail = null;
      connection.resumeAdded = false;
      pendingUserEntry = null;
    }
  }

  function onSession(frame) {
    const id = textField(frame.session);
    connection.retries = 0;
    connection.startRefused = false;
    if (connection.resumeAsked && frame.resumed !== true && store.entries.length) {
      store.entries = [{ kind: 'notice', text: 'Your earlier conversation has ended or expired, so a new one has started.' }];
      renderTranscript();
    }
    if (frame.resumed === true) {
      // The server repeats where the conversation stands; those replies are
      // already on screen from the saved transcript.
      const lastUser = store.entries.map((e) => e.kind).lastIndexOf('user');
      connection.resumeTail = store.entries.slice(lastUser + 1).filter((e) => e.kind === 'bot');
    }
    if (typeof frame.emergency_number === 'string') config.emergencyNumber = frame.emergency_number;
    store.session = id;
    saveStore();
    setOnline(true);
  }

  function onReply(frame) {
    const entry = {
      kind: 'bot',
      text: textField(frame.text),
      quick_replies: quickRepliesOf(frame),
      triage: triageOf(frame),
      steps: stepsOf(frame),
      asking: textField(frame.asking),
      guide: frame.state === 'stretch_guide',  // one step at a time, its text already in the bubble
    };
    if (typeof frame.emergency_number === 'string') entry.emergency_number = frame.emergency_number;
    const shown = connection.resumeTail && connection.resumeTail.find((e) => e.text === entry.text);
    if (shown) {
      // Already on screen. After a "welcome back" this resume added, it
      // moves below it, so its buttons are the current ones again.
      shown.quick_replies = entry.quick_replies;
      const at = store.entries.indexOf(shown);
      if (connection.resumeAdded && at >= 0 && at !== store.entries.length - 1) {
        store.entries.splice(at, 1);
        store.entries.push(shown);
        renderTranscript();
      }
      saveStore();
      renderQuickReplies();
      return;
    }
    if (connection.resumeTail) connection.resumeAdded = true;
    appendEntry(entry);
  }

  function onError(frame) {
    const code = textField(frame.code);
    const text = errorText(code) || textField(frame.message) || textField(code);
    if (!connection.online && connection.socket) {
      // The start was answered with an error (the conversation cannot be
      // read right now): no session is open, so try again with the usual
      // backoff rather than sit offline. One notice per run of refusals.
      const socket = connection.socket;
      connection.socket = null;  // its close event is no longer ours to handle
      socket.close(1000, 'start refused, retrying');
      if (!connection.startRefused) appendEntry({ kind: 'notice', tone: 'error', text: text });
      connection.startRefused = true;
      scheduleReconnect();
      return;
    }
    if (pendingUserEntry && NOT_TAKEN.has(code)) {
      pendingUserEntry.failed = true;
      if (!pendingUserEntry.choice && !ui.input.value) {
        ui.input.value = pendingUserEntry.text;  // give the words back, nothing lost
        updateCounter();
      }
      rerenderEntry(pendingUserEntry);
      saveStore();
    }
    appendEntry({ kind: 'notice', tone: 'error', text: text });
  }

  // ---------------------------------------------------------------- actions

  function sendText() {
    const text = ui.input.value.trim();
    if (!text) {
      announce('Please type a message first.');
      ui.input.focus();
      return;
    }
    if (!send({ type: 'message', text: text })) return;
    pendingUserEntry = { kind: 'user', text: text };
    appendEntry(pendingUserEntry);
    ui.input.value = '';
    updateCounter();
  }

  function sendChoice(choice) {
    if (!send({ type: 'choice', id: choice.id })) return;
    pendingUserEntry = { kind: 'user', text: choice.title, choice: choice.id };
    appendEntry(pendingUserEntry);
    ui.input.focus();  // the buttons just disappeared; keep focus in the panel
  }

  function startOver() {
    hideConfirm();
    store.session = '';
    store.entries = [];
    saveStore();
    pendingUserEntry = null;
    renderTranscript();
    if (connection.online) {
      connection.awaitingSession = true;
      sendStart('');
    } else {
      reconnectNow();
    }
    ui.input.focus();
  }

  function updateCounter() {
    const used = ui.input.value.length;
    ui.counter.replaceChildren(used + ' / ' + MAX_CHARS, el('span', 'bt-sr', ' characters'));
    ui.counter.classList.toggle('bt-counter-warn', used >= COUNTER_WARN_AT);
  }

  // moveFocus is false when the page opens the panel by itself, so loading a
  // page never steals the keyboard focus.
  function openPanel(moveFocus) {
    ui.panel.hidden = false;
    ui.root.classList.add('bt-open');
    ui.launcher.setAttribute('aria-expanded', 'true');
    writeStorage('sessionStorage', openKey, '1');
    connect();
    scrollToLatest();
    if (moveFocus) ui.input.focus();
  }

  function closePanel() {
    hideConfirm();
    ui.panel.hidden = true;
    ui.root.classList.remove('bt-open');
    ui.launcher.setAttribute('aria-expanded', 'false');
    writeStorage('sessionStorage', openKey, '0');
    ui.launcher.focus();
  }

  function showConfirm() {
    ui.confirm.hidden = false;
    ui.confirmYes.focus();
  }

  function hideConfirm() {
    ui.confirm.hidden = true;
  }

  // ------------------------------------------------------------------ build

  // A bar under the header that asks the person something (hidden until
  // needed): its text, then its buttons.
  function hiddenBar(className, label, text, ...buttons) {
    const bar = el('div', className);
    bar.hidden = true;
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', label);
    bar.append(el('p', className + '-text', text), ...buttons);
    return bar;
  }

  function buildPanel() {
    const root = el('div', 'bt-root');
    root.hidden = true;  // shown once the stylesheet has loaded
    root.lang = 'en';    // the widget's own words, whatever the host page's language

    const launcher = plainButton('bt-launcher');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'bt-panel');
    launcher.append(svgIcon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z'),
      el('span', 'bt-launcher-label', 'Back pain advice'));

    const panel = el('section', 'bt-panel');
    panel.id = 'bt-panel';
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-labelledby', 'bt-title');

    const header = el('header', 'bt-header');
    const heading = el('div', 'bt-heading');
    const title = el('h2', 'bt-title', 'Back pain advisor');
    title.id = 'bt-title';
    const status = el('p', 'bt-status');
    status.setAttribute('role', 'status');
    heading.append(title, status);
    const restart = plainButton('bt-button bt-button-quiet bt-restart', 'Start over');
    const close = plainButton('bt-close');
    close.setAttribute('aria-label', 'Close chat');
    close.append(svgIcon('M6 6l12 12M18 6L6 18'));
    header.append(heading, restart, close);

    const confirmYes = plainButton('bt-button bt-confirm-yes', 'Clear and start over');
    const confirmNo = plainButton('bt-button bt-button-quiet', 'Keep chatting');
    const confirm = hiddenBar('bt-confirm', 'Start over',
      'Start a new conversation? This clears the one on screen.', confirmYes, confirmNo);

    const continueButton = plainButton('bt-button bt-continue-here', 'Continue here');
    const elsewhere = hiddenBar('bt-elsewhere', 'Conversation open in another tab',
      'This conversation went on in another tab. Continue it here to see the latest messages.', continueButton);

    const scroller = el('div', 'bt-scroller');
    const log = el('div', 'bt-log');
    log.setAttribute('role', 'log');
    log.setAttribute('aria-live', 'polite');
    log.setAttribute('aria-label', 'Conversation');
    const typing = el('div', 'bt-typing');
    typing.hidden = true;
    typing.append(el('span', 'bt-sr', 'The advisor is typing'));
    for (let i = 0; i < 3; i += 1) {
      const dot = el('span', 'bt-typing-dot');
      dot.setAttribute('aria-hidden', 'true');
      typing.append(dot);
    }
    scroller.append(log, typing);

    const quickReplies = el('div', 'bt-quick-replies');
    quickReplies.setAttribute('role', 'group');
    quickReplies.setAttribute('aria-label', 'Suggested answers');
    quickReplies.hidden = true;

    const form = el('form', 'bt-form');
    form.noValidate = true;
    const label = el('label', 'bt-sr', 'Your message');
    label.htmlFor = 'bt-input';
    const input = el('textarea', 'bt-input');
    input.id = 'bt-input';
    input.dir = 'auto';
    input.rows = 2;
    input.maxLength = MAX_CHARS;
    input.placeholder = 'Describe your back pain\u2026';
    input.setAttribute('aria-describedby', 'bt-counter');
    const counter = el('span', 'bt-counter');
    counter.id = 'bt-counter';
    const sendButton = el('button', 'bt-button bt-send', 'Send');
    sendButton.type = 'submit';
    sendButton.disabled = true;
    form.append(label, input, counter, sendButton);

    const disclaimer = el('p', 'bt-disclaimer',
      'General information, not a diagnosis. If you are worried, or the pain is severe, contact a doctor.');
    const announcer = el('div', 'bt-sr');
    announcer.setAttribute('role', 'status');

    // Shown instead of reconnecting when the server refuses this site.
    const refused = el('p', 'bt-refused');
    refused.setAttribute('role', 'alert');
    refused.hidden = true;

    panel.append(header, confirm, elsewhere, refused, scroller, quickReplies, form, disclaimer, announcer);
    root.append(panel, launcher);

    Object.assign(ui, {
      root, launcher, panel, status, restart, close, confirm, confirmYes, confirmNo, elsewhere, continueButton, refused,
      scroller, log, typing, quickReplies, form, input, counter, send: sendButton, announcer,
    });
  }

  function wireEvents() {
    ui.launcher.addEventListener('click', () => (ui.panel.hidden ? openPanel(true) : closePanel()));
    ui.close.addEventListener('click', closePanel);
    ui.restart.addEventListener('click', showConfirm);
    ui.confirmYes.addEventListener('click', startOver);
    ui.confirmNo.addEventListener('click', () => {
      hideConfirm();
      ui.restart.focus();
    });
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      if (!ui.confirm.hidden) {
        hideConfirm();
        ui.restart.focus();
      } else {
        closePanel();
      }
    });
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      sendText();
    });
    ui.input.addEventListener('input', updateCounter);
    ui.input.addEventListener('paste', (event) => {
      // The browser cuts a paste at the limit without a word: say so.
      const pasted = event.clipboardData ? event.clipboardData.getData('text') : '';
      const selected = ui.input.selectionEnd - ui.input.selectionStart;
      if (ui.input.value.length - selected + pasted.length > MAX_CHARS) {
        appendEntry({ kind: 'notice', text: 'Messages can be at most ' + MAX_CHARS.toLocaleString('en') +
          ' characters, so the end of what you pasted was cut off.' });
      }
    });
    ui.input.addEventListener('keydown', (event) => {
      // Enter sends, Shift+Enter adds a line; not while an IME is composing.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (!ui.send.disabled) sendText();
      }
    });
    ui.continueButton.addEventListener('click', continueHere);
    window.addEventListener('storage', (event) => {
      // The value now, not the event's: of two tabs claiming at once, the
      // last write wins and that tab keeps going.
      const holder = event.key === activeKey ? readStorage('localStorage', activeKey) : null;
      if (holder && holder !== tabId && connection.wanted && !connection.elsewhere) {
        standBy();
      }
    });
    window.addEventListener('online', reconnectNow);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') reconnectNow();
    });
  }

  function start() {
    const host = document.createElement('backtalk-chat');
    const shadow = host.attachShadow({ mode: 'open' });
    const stylesheet = document.createElement('link');
    stylesheet.rel = 'stylesheet';
    stylesheet.href = serverOrigin + '/widget.css';

    buildPanel();
    wireEvents();
    loadTexts();
    // Fill the transcript before it is attached, so a screen reader does not
    // read the whole restored conversation out as new.
    renderTranscript();
    updateCounter();
    setStatus('Not connected', 'offline');

    const reveal = () => {
      ui.root.hidden = false;
      scrollToLatest();
    };
    stylesheet.addEventListener('load', reveal, { once: true });
    stylesheet.addEventListener('error', reveal, { once: true });
    shadow.append(stylesheet, ui.root);
    document.body.append(host);

    const wasOpen = readStorage('sessionStorage', openKey);
    if (wasOpen === '1' || (wasOpen === null && config.openAtStart)) openPanel(false);
  }

  // Last, so that every constant above is initialised before start() runs.
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
