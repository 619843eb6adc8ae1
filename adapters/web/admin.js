// The review page: every call carries the admin token (kept in this tab's
// sessionStorage only); everything shown is built with DOM APIs and
// textContent, never parsed as HTML.
(function () {
  "use strict";

  const tokenKey = "backtalk-admin-token";
  const levels = ["emergency", "urgent", "gp_soon", "self_care", "none"];
  const svgNs = "http://www.w3.org/2000/svg";

  const byId = (id) => document.getElementById(id);
  // Cause names and level titles of the rules in use (GET /api/v1/texts,
  // public); ids stand in until they arrive or if they cannot be read.
  let texts = { causes: {}, levels: {} };
  const textsLoaded = fetch("/api/v1/texts")
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => {
      if (body && typeof body === "object") texts = body;
    })
    .catch(() => {});
  const statusLine = byId("status");

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function token() {
    return sessionStorage.getItem(tokenKey) || "";
  }

  function filterQuery(extra) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(byId("filters"))) {
      if (String(value).trim() !== "") params.set(name, String(value).trim());
    }
    for (const [name, value] of Object.entries(extra || {})) params.set(name, value);
    // Percent-encoded (URLSearchParams would write a space as '+', which the
    // server takes as itself).
    const text = Array.from(params, ([name, value]) => `${name}=${encodeURIComponent(value)}`).join("&");
    return text ? "?" + text : "";
  }

  // Throws with the server's explanation when the answer is not 2xx.
  async function call(path, options) {
    if (!token()) throw new Error("enter the admin token first");
    const init = Object.assign({}, options || {});
    init.headers = Object.assign({ Authorization: "Bearer " + token() }, (options && options.headers) || {});
    const response = await fetch(path, init);
    if (response.status === 401) {
      // A refused token is not kept to be refused again on every page load.
      sessionStorage.removeItem(tokenKey);
      clearResults();
      throw new Error("the token was refused");
    }
    if (!response.ok && response.status !== 422) {
      let message = response.status + " " + response.statusText;
      try {
        message = (await response.json()).error.message;
      } catch (ignored) {
        // A body that is not our JSON error: the status says enough.
      }
      throw new Error(message);
    }
    return response;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(svgNs, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    return node;
  }

  function causeName(id) {
    const name = texts.causes && texts.causes[id];
    return typeof name === "string" && name ? name : id;
  }

  // The level, and beside it the causes the advice named, most important
  // first.
  function outcomeCell(outcome) {
    const cell = element("td");
    if (!outcome) {
      cell.textContent = "none yet";
      return cell;
    }
    cell.appendChild(element("span", outcome.level, "level level-" + outcome.level));
    const reasons = outcome.reasons || [];
    if (reasons.length) {
      const causes = element("ul", null, "causes");
      for (const id of reasons) {
        const item = element("li", causeName(id));
        item.title = id;
        causes.appendChild(item);
      }
      cell.appendChild(causes);
    }
    return cell;
  }

  const columns = ["Started", "Channel", "Turns", "Outcome", "State", "Reviewed", "Id"];
  // People name conversations by their last 8 characters, which are random
  // (the first are the start time, alike for conversations started together);
  // the API takes either end.
  const shortId = (id) => String(id).slice(-8);
  let openId = null;  // the conversation whose transcript is shown

  function reviewText(review) {
    if (!review) return "not yet";
    const tags = review.tags.length ? " · " + review.tags.join(", ") : "";
    return `${review.time.slice(0, 16).replace("T", " ")} by ${review.reviewer}${tags}`;
  }

  // A button that opens a conversation's transcript, labelled with its short id.
  function openButton(id) {
    const open = element("button", shortId(id), "link");
    open.type = "button";
    open.title = id;
    open.setAttribute("aria-label", "Open transcript " + id);
    open.addEventListener("click", (event) => {
      event.stopPropagation();
      showTranscript(id).catch((error) => say(error.message, true));
    });
    return open;
  }

  function showConversations(conversations) {
    const body = byId("conversations").tBodies[0];
    body.replaceChildren();
    for (const conversation of conversations) {
      const row = element("tr", null, "conversation");
      for (const value of [conversation.started, conversation.channel, conversation.turns]) {
        row.appendChild(element("td", value));
      }
      row.appendChild(outcomeCell(conversation.outcome));
      row.appendChild(element("td", conversation.state));
      row.appendChild(element("td", reviewText(conversation.review), conversation.review ? "reviewed" : "unreviewed"));
      // The id is a button, so a keyboard reaches every transcript too.
      const cell = element("td", null, "id");
      cell.appendChild(openButton(conversation.id));
      row.appendChild(cell);
      // On a phone each row is a card; the cells say what they are.
      Array.from(row.cells).forEach((td, index) => td.setAttribute("data-label", columns[index]));
      row.addEventListener("click", () => showTranscript(conversation.id).catch((error) => say(error.message, true)));
      body.appendChild(row);
    }
  }

  function messageMeta(message) {
    const parts = [message.time, message.kind];
    if (message.direction === "in") {
      parts.push("intents: " + ((message.intents || []).join(", ") || "none"));
      parts.push("confidence " + Number(message.confidence || 0).toFixed(2));
      if (!message.understood) parts.push("not understood");
    }
    if (message.state) parts.push("state " + message.state);
    if (message.asking) parts.push("asking " + message.asking);
    if (message.triage) {
      const reasons = (message.triage.reasons || []).map(causeName);
      parts.push("triage " + message.triage.level + (reasons.length ? ": " + reasons.join("; ") : ""));
    }
    if (message.code) parts.push("error " + message.code);
    return parts.join(" · ");
  }

  // Why the advice is what it is: each rule at its level, the facts it used
  // and the turn that set each fact.
  function basisList(basis) {
    const list = element("ul", null, "basis");
    for (const rule of basis) {
      const item = element("li");
      item.appendChild(element("strong", rule.rule));
      const facts = (rule.facts || []).map((fact) => `${fact.slot} = ${fact.value} (turn ${fact.turn})`);
      item.append(` gave ${rule.level}` + (facts.length ? " because " + facts.join(", ") : ""));
      list.appendChild(item);
    }
    return list;
  }

  function showReview(review) {
    byId("review-current").textContent = review
      ? "Reviewed " + reviewText(review).replace(" · ", ", tags ") + (review.note ? ". Note: " + review.note : "")
      : "Not reviewed yet.";
    const form = byId("review-form");
    form.elements.note.value = review ? review.note : "";
    form.elements.tags.value = review ? review.tags.join(", ") : "";
  }

  async function showTranscript(idOrPrefix) {
    const response = await call("/api/v1/conversations/" + encodeURIComponent(idOrPrefix));
    const transcript = await response.json();
    openId = transcript.id;
    byId("delete-confirm").hidden = true;
    showReview(transcript.conversation ? transcript.conversation.review : null);
    const list = byId("transcript");
    list.replaceChildren();
    for (const message of transcript.messages) {
      const item = element("li", null, message.direction === "in" ? "in" : "out");
      if (message.direction === "out" && message.text) {
        // The bot's words as the widget showed them: bold, lists, paragraphs.
        const said = element("div", null, "said");
        said.appendChild(window.backtalkMarkdown.render(message.text));
        item.appendChild(said);
      } else {
        // The person's words exactly as typed.
        item.appendChild(element("span", message.text || "(" + message.kind + ")", "said"));
      }
      item.appendChild(element("span", messageMeta(message), "meta"));
      if (message.basis && message.basis.length) item.appendChild(basisList(message.basis));
      list.appendChild(item);
    }
    byId("transcript-id").textContent = openId;
    byId("transcript-section").hidden = false;
    // Below a long list it would open out of sight: bring it into view.
    const heading = byId("transcript-heading");
    heading.scrollIntoView({ block: "start" });
    heading.focus();
  }

  // One stacked bar per day, one colour per outcome level.
  function drawChart(perDay) {
    const chart = byId("chart");
    chart.replaceChildren();
    if (perDay.length === 0) {
      chart.appendChild(element("p", "No conversations in this range."));
      return;
    }
    const barWidth = 24;
    const gap = 8;
    const plotHeight = 160;
    const labelHeight = 40;
    const most = Math.max(1, ...perDay.map((day) => levels.reduce((sum, level) => sum + (day[level] || 0), 0)));
    const legendStep = 90;
    // At least as wide as the legend, however few the days.
    const width = Math.max(perDay.length * (barWidth + gap) + gap, gap + levels.length * legendStep);
    // The chart's numbers for people who cannot see it.
    const totals = levels.map((level) => `${perDay.reduce((sum, day) => sum + (day[level] || 0), 0)} ${level}`);
    const root = svg("svg", { width, height: plotHeight + labelHeight, viewBox: `0 0 ${width} ${plotHeight + labelHeight}`,
      role: "img", "aria-label": `Outcomes per day, ${perDay[0].day} to ${perDay[perDay.length - 1].day}: ${totals.join(", ")}` });
    perDay.forEach((day, index) => {
      const x = gap + index * (barWidth + gap);
      let top = plotHeight;
      for (const level of levels) {
        const count = day[level] || 0;
        if (count === 0) continue;
        const height = (count / most) * (plotHeight - 10);
        top -= height;
        const bar = svg("rect", { x, y: top, width: barWidth, height, class: "bar-" + level });
        const title = svg("title", {});
        title.textContent = `${day.day}: ${count} ${level}`;
        bar.appendChild(title);
        root.appendChild(bar);
      }
      const label = svg("text", { x: x + barWidth / 2, y: plotHeight + 12, "text-anchor": "middle" });
      label.textContent = String(day.day).slice(5);
      root.appendChild(label);
    });
    levels.forEach((level, index) => {
      const x = gap + index * legendStep;
      root.appendChild(svg("rect", { x, y: plotHeight + 24, width: 10, height: 10, class: "bar-" + level }));
      const label = svg("text", { x: x + 14, y: plotHeight + 33 });
      label.textContent = level;
      root.appendChild(label);
    });
    chart.appendChild(root);
  }

  // One bar per day: the share of typed messages the bot did not understand.
  function drawRateChart(perDay) {
    const chart = byId("rate-chart");
    chart.replaceChildren();
    const days = perDay.filter((day) => day.not_understood_rate !== null && day.not_understood_rate !== undefined);
    if (days.length === 0) {
      chart.appendChild(element("p", "Nothing typed in this range."));
      return;
    }
    const barWidth = 24;
    const gap = 8;
    const plotHeight = 120;
    const labelHeight = 20;
    const width = Math.max(days.length * (barWidth + gap) + gap, 200);
    const rates = days.map((day) => `${day.day} ${(day.not_understood_rate * 100).toFixed(0)}%`);
    const root = svg("svg", { width, height: plotHeight + labelHeight, viewBox: `0 0 ${width} ${plotHeight + labelHeight}`,
      role: "img", "aria-label": `Share of typed messages not understood per day: ${rates.join(", ")}` });
    days.forEach((day, index) => {
      const x = gap + index * (barWidth + gap);
      const height = day.not_understood_rate * (plotHeight - 14);
      const bar = svg("rect", { x, y: plotHeight - height, width: barWidth, height, class: "bar-rate" });
      const title = svg("title", {});
      title.textContent = `${day.day}: ${day.not_understood} of ${day.typed} typed messages not understood`;
      bar.appendChild(title);
      root.appendChild(bar);
      const value = svg("text", { x: x + barWidth / 2, y: plotHeight - height - 3, "text-anchor": "middle" });
      value.textContent = (day.not_understood_rate * 100).toFixed(0) + "%";
      root.appendChild(value);
      const label = svg("text", { x: x + barWidth / 2, y: plotHeight + 12, "text-anchor": "middle" });
      label.textContent = String(day.day).slice(5);
      root.appendChild(label);
    });
    chart.appendChild(root);
  }

  function showStats(stats) {
    drawChart(stats.per_day || []);
    drawRateChart(stats.per_day || []);
    const fallback = stats.fallback_rate === null ? "n/a" : (stats.fallback_rate * 100).toFixed(1) + "%";
    byId("summary").textContent = `${stats.conversations} conversations, ${stats.turns} turns, ` +
      `not understood ${fallback}, median turns to an outcome ${stats.median_turns_to_outcome ?? "n/a"}`;
  }

  function showUnmatched(groups) {
    const body = byId("unmatched").tBodies[0];
    body.replaceChildren();
    for (const group of groups) {
      const row = element("tr");
      ["Count", "Message", "Last seen"].forEach((label, index) => {
        const cell = element("td", [group.count, group.example, group.last_seen][index]);
        cell.setAttribute("data-label", label);
        row.appendChild(cell);
      });
      // The newest time it was typed: its conversation, and the question
      // the bot had asked just before.
      const latest = (group.seen || [])[0];
      const cell = element("td", null, "latest");
      cell.setAttribute("data-label", "Latest in");
      if (latest) {
        cell.appendChild(openButton(latest.conversation));
        if (latest.question) cell.appendChild(element("span", "after: " + latest.question, "question"));
      }
      row.appendChild(cell);
      body.appendChild(row);
    }
  }

  // Nothing stays on screen that the current filters or token did not fetch.
  function clearResults() {
    byId("conversations").tBodies[0].replaceChildren();
    byId("unmatched").tBodies[0].replaceChildren();
    byId("chart").replaceChildren();
    byId("rate-chart").replaceChildren();
    byId("summary").textContent = "";
    byId("transcript").replaceChildren();
    byId("transcript-section").hidden = true;
    openId = null;
  }

  async function refresh() {
    clearResults();
    say("loading…");
    await textsLoaded;
    const query = filterQuery();
    const [list, stats, unmatched] = await Promise.all([
      call("/api/v1/conversations" + query).then((r) => r.json()),
      call("/api/v1/stats" + query).then((r) => r.json()),
      call("/api/v1/unmatched" + query).then((r) => r.json()),
    ]);
    showConversations(list.conversations);
    showStats(stats);
    showUnmatched(unmatched.unmatched);
    say(`${list.conversations.length} conversations shown`);
  }

  async function download(format) {
    const response = await call("/api/v1/export" + filterQuery({ format }));
    const url = URL.createObjectURL(await response.blob());
    const link = element("a");
    link.href = url;
    link.download = "backtalk-export." + format;
    document.body.appendChild(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(url);
    say("export downloaded");
  }

  async function reloadRules() {
    const result = await (await call("/api/v1/rules/reload", { method: "POST" })).json();
    if (result.ok) say("rules reloaded: " + result.version);
    else say("reload refused, keeping " + result.version + ": " + result.errors.join("; "), true);
  }

  async function markReviewed() {
    const form = byId("review-form");
    const body = JSON.stringify({ note: form.elements.note.value, tags: form.elements.tags.value });
    const result = await (await call("/api/v1/conversations/" + encodeURIComponent(openId) + "/review",
      { method: "POST", headers: { "Content-Type": "application/json" }, body })).json();
    showReview(result.review);
    const list = await (await call("/api/v1/conversations" + filterQuery())).json();
    showConversations(list.conversations);
    say("marked " + shortId(openId) + " reviewed");
  }

  async function deleteOpen() {
    const id = openId;
    await call("/api/v1/conversations/" + encodeURIComponent(id), { method: "DELETE" });
    await refresh();
    say("deleted conversation " + id);
  }

  function guarded(action) {
    return (event) => {
      if (event) event.preventDefault();
      action().catch((error) => say(error.message, true));
    };
  }

  byId("token-form").addEventListener("submit", guarded(async () => {
    sessionStorage.setItem(tokenKey, byId("token").value);
    byId("token").value = "";
    await refresh();
  }));
  byId("forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(tokenKey);
    clearResults();
    say("token forgotten");
  });
  byId("filters").addEventListener("submit", guarded(refresh));
  byId("open-form").addEventListener("submit", guarded(async () => {
    await textsLoaded;
    await showTranscript(byId("open-form").elements.conversation.value.trim());
  }));
  byId("review-form").addEventListener("submit", guarded(markReviewed));
  // Deleting asks first, on the page (no browser dialog).
  byId("delete-conversation").addEventListener("click", () => {
    byId("delete-confirm").hidden = false;
    byId("delete-no").focus();
  });
  byId("delete-no").addEventListener("click", () => {
    byId("delete-confirm").hidden = true;
    byId("delete-conversation").focus();
  });
  byId("delete-yes").addEventListener("click", guarded(deleteOpen));
  byId("download-jsonl").addEventListener("click", guarded(() => download("jsonl")));
  byId("download-csv").addEventListener("click", guarded(() => download("csv")));
  byId("reload-rules").addEventListener("click", guarded(reloadRules));

  if (token()) guarded(refresh)();
  else say("Enter the admin token to start.");
})();
